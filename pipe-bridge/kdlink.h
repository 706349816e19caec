/*
 * kdlink.h -- a KD target's blocking KdSendPacket, KdReceivePacket and
 * poll-for-break-in, over any byte channel.
 *
 * The KDCOM engine (kdcom_engine.h) only turns bytes into events and back; what a
 * kernel calls blocks until the debugger has answered, retries, applies the
 * no-debugger exemptions and keeps the input that arrived behind the event
 * it waited for. That is this file, written once for every transport that
 * carries KDCOM bytes: the host's bridge (kdbridge.c: sockets, terminals)
 * and the test guest's serial port (guest/kdser: a polled 16550). Like the
 * engine it is freestanding: no C library, no clock and no I/O of its own.
 * The channel below it is a handful of callbacks.
 */
#ifndef BXKD_KDLINK_H
#define BXKD_KDLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxkd/kdport.h"
#include "kdcom_engine.h"

/* A read's wait_ms meaning: until something arrives. */
#define KDLINK_WAIT_FOREVER (-1)

enum kdlink_read_status {
	KDLINK_READ_DATA,         /* *length (> 0) bytes from the debugger */
	KDLINK_READ_NOTHING,      /* nothing within the wait */
	/* A debugger attached or left: half a frame from the last one, or
	 * bytes still queued for it, mean nothing to the next. */
	KDLINK_READ_PEER_CHANGED,
};

/* The byte channel to the debugger. */
struct kdlink_channel {
	void *ctx;
	/* Up to `capacity` received bytes, waiting at most wait_ms for the
	 * first (0: just look; KDLINK_WAIT_FOREVER). */
	enum kdlink_read_status (*read)(void *ctx, void *buffer, size_t capacity, size_t *length,
					int32_t wait_ms);
	/* Sends all of `length` bytes, or loses them (nobody there). */
	void (*write)(void *ctx, const void *bytes, size_t length);
	/* A monotonic clock in milliseconds. */
	uint64_t (*now_ms)(void *ctx);
	/* Optional. True while the channel knows that nobody can answer (a
	 * socket with no debugger attached): then a packet Windows may drop
	 * is dropped at once instead of after all its retries. NULL when the
	 * channel can never know, as a serial line cannot. */
	bool (*peer_absent)(void *ctx);
	/* Optional. The debugger reset the link: whatever the channel has
	 * received but not handed over yet was sent before the RESET and is
	 * stale (usually more RESETs, which would bounce the link forever if
	 * answered); throw it away. kdlink drops its own buffered bytes. */
	void (*link_reset)(void *ctx);
	/* Optional. The received bytes as the engine takes them, in order,
	 * those a RESET made stale included. Unlike read()'s pieces, which
	 * depend on how the bytes happened to arrive, these end where the
	 * target acted on them: a recorder sees the same pieces whenever the
	 * same conversation takes place. */
	void (*taken)(void *ctx, const void *bytes, size_t length);
};

/* The whole link; allocate it anywhere (about 25 KiB), kdlink_init() it. */
struct kdlink {
	struct kdlink_channel channel;
	struct kdcom k;
	/* Added to the clock while no debugger can answer, so the engine's
	 * retries run out at once instead of after 20 timeouts of silence. */
	uint64_t skew_ms;
	/* Bytes read but not yet given to the engine: input stops at each
	 * event, and what follows must wait for the kernel's next call (a
	 * request right behind the ACK for our reply, say). */
	uint8_t input[4096];
	size_t input_start, input_length;
	/* What the call in progress is waiting for. */
	bool sent, dropped, abandoned, reset, received;
	/* A RESET cut off the reply being sent: the kernel's next receive
	 * returns NeedsResend, so the new session gets its state change. */
	bool resend_owed;
	uint8_t packet[KDCOM_MAX_PAYLOAD];
	size_t packet_length;
	uint64_t drops;
	/* Retransmissions made while nobody could hear them: not the link's
	 * fault, so not reported as its losses. */
	uint64_t unheard;
	/* kdlink_set_ack_with_reply */
	bool ack_with_reply;
};

/* A target-role engine with this resend timeout and retry count (kdcom_engine.h's
 * config), over `channel`. */
void kdlink_init(struct kdlink *link, const struct kdlink_channel *channel,
		 uint32_t resend_timeout_ms, uint32_t retries);

/* Sends of a packet before the no-debugger exemptions apply, from the next
 * send on (Windows takes KD_CONTEXT's KdpDefaultRetries at each send). */
void kdlink_set_retries(struct kdlink *link, uint32_t retries);

/* For a caller that answers a packet at once (the device's fast path):
 * the ACK of a packet received waits to go out in one write with the
 * reply. Any later call of the link writes it first, so a packet that
 * gets no reply is acknowledged at the kernel's next transport call.
 * Off by default. */
void kdlink_set_ack_with_reply(struct kdlink *link, bool on);

/*
 * KdSendPacket: sends one data packet (payload = header then data) and
 * returns when the debugger acknowledged it. With nobody answering, a
 * packet Windows gives up on (debug print, symbol load, file create, any
 * manipulate reply) is dropped after its retries, at once if the channel
 * knows nobody is there; any other (a state change) is sent until a
 * debugger answers. A debugger that resets the link while a manipulate
 * reply is in flight has abandoned the request: the reply is abandoned and
 * the next kdlink_receive returns KD_NEEDS_RESEND, so the stub resends
 * its state change (kdcom.dll would resend the reply).
 */
enum kd_outcome kdlink_send(struct kdlink *link, uint16_t type, const void *header,
			       size_t header_length, const void *data, size_t data_length);

/*
 * KdReceivePacket: waits up to timeout_ms for a packet of `type` whose
 * payload starts with exactly header_length bytes of header (as
 * MessageHeader->MaximumLength says) followed by at most data_capacity
 * bytes of data. On KD_OK both are filled in and *data_length says how
 * much data came; nothing is written otherwise.
 */
enum kd_outcome kdlink_receive(struct kdlink *link, uint16_t type, void *header,
				  size_t header_length, void *data, size_t data_capacity,
				  size_t *data_length, uint32_t timeout_ms);

/* KdReceivePacket(PACKET_TYPE_KD_POLL_BREAKIN): did the debugger ask to
 * break in? Only looks at what the channel has now; never waits. */
bool kdlink_poll_breakin(struct kdlink *link);

/* The engine's view (Windows' KdDebuggerNotPresent, inverted): no droppable
 * packet has run out of retries since the debugger last spoke. */
bool kdlink_debugger_present(const struct kdlink *link);
const struct kdcom_stats *kdlink_stats(const struct kdlink *link);
/* Packets dropped for want of a debugger. */
uint64_t kdlink_drops(const struct kdlink *link);
/* Of the engine's retransmissions, those made while the channel knew that
 * nobody could hear them. */
uint64_t kdlink_unheard_retransmissions(const struct kdlink *link);

#endif /* BXKD_KDLINK_H */
