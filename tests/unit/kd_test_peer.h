/*
 * kd_test_peer.h -- an in-memory debugger behind the kd host port (struct
 * vmport_kd_port), for driving the KD transport without a bridge.
 *
 * It plays the part of pipe-bridge's blocking bridge (kdbridge.h): sends
 * are recorded and answered with a scripted result, receives are served
 * from a queue of packets the "debugger" has sent, break-ins are a flag.
 * It also checks every argument the device gives it with Check's
 * assertions, so a device that calls the port with a length the protocol
 * forbids fails the test that made it do so, wherever that happens.
 *
 * Receives follow the wire, as the bridge does (kd-protocol.md 2.3): a
 * queued packet is one payload, its header and data back to back, and is
 * split at the receive's header_length. A packet of the wanted type that
 * is shorter than header_length, or whose rest does not fit data_capacity,
 * is a misfit: the bridge asks the debugger to send it again and keeps
 * waiting, so for the device the receive times out. The peer counts the
 * misfit, keeps the packet at its place in the queue (the debugger would
 * send it again) and answers KD_TIMED_OUT without touching the
 * buffers.
 */
#ifndef BXKD_KD_TEST_PEER_H
#define BXKD_KD_TEST_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmport.h"

/* What the peer fills the unused part of a receive's data room with: a
 * device that copies more than data_length bytes into the guest shows it. */
#define KD_TEST_PEER_POISON 0xeeu

struct kd_test_packet {
	uint32_t type;
	uint8_t *header;
	size_t header_length;
	uint8_t *data;
	size_t data_length;
};

#define KD_TEST_PEER_SCRIPT_MAX 16

struct kd_test_peer {
	/* ---- behaviour, set by the test ---- */
	/* What every send answers: KD_OK (a debugger acknowledged),
	 * KD_DROPPED (no debugger), or KD_INVALID. */
	enum kd_outcome send_result;
	/* Results the next receives answer before any queued packet is
	 * looked at, in order (NEEDS_RESEND, TIMED_OUT, INVALID). */
	enum kd_outcome receive_script[KD_TEST_PEER_SCRIPT_MAX];
	size_t scripted, script_next;
	/* A broken port: a served receive reports this many bytes of data
	 * more than it wrote (and than data_capacity may allow). */
	size_t overstate_data_by;
	bool breakin_pending; /* consumed by the next poll_breakin */
	bool debugger_present;
	bool debugger_attached;

	/* ---- what happened ---- */
	struct kd_test_packet *sent;
	size_t sent_count, sent_room;
	struct kd_test_packet *queued;
	size_t queued_count, queued_room;
	unsigned misfits; /* queued packets a receive had no room for */
	struct {
		unsigned send, receive, poll_breakin, debugger_present, debugger_attached;
	} calls;
	/* The arguments of the last receive. */
	uint32_t last_receive_type;
	size_t last_header_length, last_data_capacity;
	uint32_t last_timeout_ms;

	/* For vmport_set_kd_port(); ctx is this peer. */
	struct kd_host_port port;
};

/* A debugger that is attached and answers, with nothing queued. */
void kd_test_peer_init(struct kd_test_peer *peer);
void kd_test_peer_free(struct kd_test_peer *peer);

/* The debugger sends a packet: the next receive of `type` gets it. */
void kd_test_peer_queue(struct kd_test_peer *peer, uint32_t type, const void *header,
			size_t header_length, const void *data, size_t data_length);

/* The next receive that the script reaches answers `result`. */
void kd_test_peer_script_receive(struct kd_test_peer *peer, enum kd_outcome result);

/* The i-th packet sent since the last kd_test_peer_forget_sent (asserts
 * there is one). */
const struct kd_test_packet *kd_test_peer_sent(const struct kd_test_peer *peer, size_t i);
void kd_test_peer_forget_sent(struct kd_test_peer *peer);

/* Calls of any of the port's functions so far. */
unsigned kd_test_peer_total_calls(const struct kd_test_peer *peer);

#endif /* BXKD_KD_TEST_PEER_H */
