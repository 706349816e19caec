/*
 * kdcom_engine.h -- the KDCOM framing engine: KD packets in, serial bytes out, and
 * back.
 *
 * One implementation, two roles: the target (what Windows' kdcom.dll does,
 * modelled on ReactOS' kddll.c) and the debugger (what WinDbg does). It runs
 * on the host inside pipe-bridge and, unchanged, in the freestanding 32-bit
 * test guest as its serial transport, so it uses no library beyond the
 * compiler's memcpy/memset, allocates nothing, and has no clock: the caller
 * passes the time (any monotonic unit, consistently) into every call that
 * may start or check a timer. The same inputs always give the same outputs.
 *
 * Use: feed received bytes with kdcom_input() and collect what happened with
 * kdcom_next_event(); start sends with kdcom_send(); write out whatever
 * kdcom_output() holds; call kdcom_tick() when kdcom_deadline() passes.
 * The state machine is drawn in pipe-bridge/README.md.
 */
#ifndef BXKD_KDCOM_ENGINE_H
#define BXKD_KDCOM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxkd/kdcom.h"

enum kdcom_role { KDCOM_TARGET, KDCOM_DEBUGGER };

struct kdcom_config {
	enum kdcom_role role;
	/* Time without an acknowledgement before a packet is sent again, and
	 * without the next byte before a half-received frame is given up. */
	uint64_t resend_timeout;
	/* Target: sends before the no-debugger exemptions apply (ReactOS'
	 * KdpDefaultRetries = 20). Debugger: sends before it gives up. */
	uint32_t retries;
	/* Debugger: how long after its last RESET the target's answers may
	 * still come (a round trip). A RESET from the target beyond the
	 * answers owed, or after this, is one the debugger cannot explain (a
	 * RESEND damaged into a RESET, or the target's own), and it resets
	 * the link itself at once: the watchdog RESET (kdcom_engine.c). */
	uint64_t reset_answer_window;
};

/* Fills in 20 retries, the given role and a RESET answer window of two
 * resend timeouts; the timeout is the caller's. */
void kdcom_config_init(struct kdcom_config *config, enum kdcom_role role, uint64_t resend_timeout);

enum kdcom_event_kind {
	/* A new data packet of a type this side accepts now; payload valid
	 * until the next kdcom_input(). */
	KDCOM_EVENT_PACKET,
	/* The packet being sent was acknowledged, explicitly or by the peer
	 * going on to its next packet. */
	KDCOM_EVENT_SENT,
	/* Target: retries ran out on a packet Windows may drop (debug print,
	 * symbol load, file create); the debugger is now marked absent. */
	KDCOM_EVENT_DROPPED,
	/* Target: a RESET cut off the manipulate reply being sent (the RESET
	 * event follows). Debugger: the watchdog RESET cut off the packet
	 * being sent; it is not sent again (the RESET event follows the
	 * target's answer, and a stopped target then reports its state
	 * again, as after any RESET). */
	KDCOM_EVENT_ABANDONED,
	/* Debugger: the target never acknowledged; the send is abandoned. */
	KDCOM_EVENT_SEND_FAILED,
	/* The peer asked for the last packet again. While sending, the engine
	 * resent it itself; otherwise this is KdReceivePacket's NeedsResend. */
	KDCOM_EVENT_RESEND,
	/* The link was reset and both packet ids restarted. Target: the
	 * debugger sent RESET; the engine answered and resent what was in
	 * flight. Debugger: the target answered our RESET, one the caller
	 * asked for or the engine's own watchdog RESET (ABANDONED above);
	 * the ids of both sides are in step again. kdcom_input() stops after
	 * it: bytes already buffered behind a RESET may be stale. */
	KDCOM_EVENT_RESET,
	/* Target: a break-in byte (0x62) arrived outside a packet. */
	KDCOM_EVENT_BREAKIN,
};

struct kdcom_event {
	enum kdcom_event_kind kind;
	uint16_t type;          /* PACKET: packet type */
	uint16_t length;        /* PACKET: payload length */
	const uint8_t *payload; /* PACKET */
};

struct kdcom_stats {
	uint64_t packets_sent;      /* distinct data packets delivered */
	uint64_t packets_received;  /* distinct data packets accepted */
	uint64_t retransmissions;   /* data frames sent again */
	uint64_t resends_requested; /* RESENDs we sent for damaged frames */
	uint64_t duplicates;        /* packets seen again and dropped */
	uint64_t stale_packets;     /* debugger: arrived while awaiting the RESET answer */
	uint64_t resets;
	uint64_t replies_abandoned; /* manipulate replies cut off by a RESET */
	uint64_t watchdog_resets;   /* debugger: RESETs it started for one it could not explain */
	uint64_t breakins;
	uint64_t garbage_bytes;     /* skipped while hunting for a leader */
	uint64_t bad_checksums;
	uint64_t bad_frames;        /* length, trailer, type or control fields */
	uint64_t output_overflows;  /* control packets lost to a full output */
};

/* Room for one data frame being sent plus the frames that may queue up
 * behind it before the caller drains the output. */
#define KDCOM_OUTPUT_CAPACITY (2u * KDCOM_MAX_FRAME + 64u * KDCOM_HEADER_SIZE)
#define KDCOM_EVENT_CAPACITY 8u

enum kdcom_parse_state { KDCOM_SCAN_LEADER, KDCOM_READ_HEADER, KDCOM_READ_PAYLOAD, KDCOM_READ_TRAILER };
enum kdcom_send_state { KDCOM_SEND_IDLE, KDCOM_SEND_AWAIT_ACK, KDCOM_SEND_AWAIT_RESET };

/* The whole engine; allocate it anywhere (about 17 KiB), kdcom_init() it. */
struct kdcom {
	struct kdcom_config config;
	uint32_t send_id; /* id of the packets we send (ReactOS CurrentPacketId) */
	uint32_t recv_id; /* id we expect next (RemotePacketId) */
	bool debugger_present;

	/* Sending: the frame in flight, kept for retransmission. */
	enum kdcom_send_state send_state;
	uint8_t frame[KDCOM_MAX_FRAME];
	uint16_t frame_length;
	uint16_t frame_type;
	uint32_t frame_api; /* first dword of its payload */
	uint32_t retries_left;
	uint64_t send_deadline;
	/* Debugger: RESETs sent whose answers may still come, until when, and
	 * whether the RESET awaited is the watchdog's (resent until answered:
	 * a running target reads it only once it stops). */
	uint32_t resets_owed;
	uint64_t resets_owed_until;
	bool watchdog_resetting;

	/* Receiving. */
	uint16_t wanted_type; /* target: what KdReceivePacket waits for; 0 none */
	uint16_t wanted_min, wanted_max;
	enum kdcom_parse_state parse_state;
	uint8_t leader_byte;
	uint8_t leader_count;
	bool breakin_pending; /* ReactOS KdpControlCPending */
	uint8_t header[KDCOM_HEADER_SIZE];
	uint16_t header_fill;
	uint8_t payload[KDCOM_MAX_PAYLOAD];
	uint16_t payload_fill;
	uint64_t frame_deadline; /* half-received frame gives up at */
	/* Debugger: the last packet accepted, to recognise a SYNC-flagged copy. */
	bool have_last;
	uint16_t last_type, last_length;
	uint32_t last_checksum;

	uint8_t output[KDCOM_OUTPUT_CAPACITY];
	size_t output_start, output_length;

	struct kdcom_event events[KDCOM_EVENT_CAPACITY];
	unsigned event_start, event_count;

	struct kdcom_stats stats;
};

void kdcom_init(struct kdcom *k, const struct kdcom_config *config);

/* ---- sending ---------------------------------------------------------------- */

enum kdcom_send_status { KDCOM_SEND_STARTED, KDCOM_SEND_BUSY, KDCOM_SEND_INVALID };

/* Frames and queues a data packet (payload = header then data, at most
 * 4000 bytes) and waits for its acknowledgement: one send at a time. */
enum kdcom_send_status kdcom_send(struct kdcom *k, uint16_t type, const void *header,
				  size_t header_length, const void *data, size_t data_length,
				  uint64_t now);
bool kdcom_sending(const struct kdcom *k);
/* Target: the send in flight used all its retries and goes on only because
 * its packet may not be dropped (a state change, say): no point hurrying. */
bool kdcom_retries_exhausted(const struct kdcom *k);

/* Debugger: the break-in byte. */
void kdcom_send_breakin(struct kdcom *k);
/* A debugger has just come: the data packet awaiting its acknowledgement
 * goes out again now, and its resend timer starts over. What it sees
 * first is then the same however long the packet had been waiting. */
void kdcom_retransmit_now(struct kdcom *k, uint64_t now);
/* Debugger: RESET the link; KDCOM_EVENT_RESET follows the target's answer.
 * Abandons a send in flight (no event: the caller asked for it). While a
 * RESET already awaits its answer, none is added: that one is the
 * caller's now. */
void kdcom_send_reset(struct kdcom *k, uint64_t now);

/* ---- receiving --------------------------------------------------------------- */

/* Target: the data packet type the kernel waits for (KdReceivePacket's
 * PacketType) and the payload lengths it can take (its MessageHeader's
 * exact size; header plus MessageData's room), or type 0 while it waits for
 * none; then data packets are left unacknowledged so the debugger sends
 * them again later. A packet of the wanted type outside the lengths is
 * asked for again, never acknowledged. */
void kdcom_expect(struct kdcom *k, uint16_t type, size_t min_length, size_t max_length);

/* Consumes received bytes and returns how many. It stops as soon as an
 * event is ready, so the caller can act on it (take the packet, expect the
 * next type, discard stale input after a RESET) before feeding the rest. */
size_t kdcom_input(struct kdcom *k, const void *data, size_t length, uint64_t now);

bool kdcom_next_event(struct kdcom *k, struct kdcom_event *event);

/* Forgets a half-received frame, e.g. when the peer that sent it left. */
void kdcom_restart_input(struct kdcom *k);

/* Target: whether a break-in byte arrived since the last call (consumes it). */
bool kdcom_take_breakin(struct kdcom *k);

/* ---- time ----------------------------------------------------------------------- */

/* Resends, gives up or applies the exemptions for whatever is due at `now`. */
void kdcom_tick(struct kdcom *k, uint64_t now);
/* When kdcom_tick() next has work; UINT64_MAX if never. */
uint64_t kdcom_deadline(const struct kdcom *k);

/* ---- output --------------------------------------------------------------------- */

/* The next contiguous run of bytes to transmit; 0 if none. */
size_t kdcom_output(const struct kdcom *k, const uint8_t **bytes);
void kdcom_output_consumed(struct kdcom *k, size_t count);
/* Forget queued output, e.g. when the peer disconnected. */
void kdcom_discard_output(struct kdcom *k);

/* ---- pure helpers, also for decoders ------------------------------------------------ */

uint32_t kdcom_checksum(const void *data, size_t length);

/* Whether the payload's first dword is an API number of this packet type;
 * KDCOM does not checksum the type field, this catches it being damaged. */
bool kdcom_type_matches_payload(uint16_t type, const uint8_t *payload, size_t length);
/* Types that travel under the data leader (everything but ACK, RESEND,
 * RESET and the never-sent POLL_BREAKIN). */
bool kdcom_is_data_type(uint16_t type);
/* The message header a packet of this data type starts with, the least
 * payload it can have (for types with none fixed, the API number). */
size_t kdcom_message_header_size(uint16_t type);

const char *kdcom_type_name(uint16_t type);

#endif /* BXKD_KDCOM_ENGINE_H */
