/*
 * kdbridge.h -- the target's side of a KD link, with the blocking semantics
 * of KdSendPacket and KdReceivePacket, for the Bochs plugin.
 *
 * The bridge plays kdcom.dll towards whatever debugger attaches to its
 * endpoint (kdep.h), using the KDCOM engine in its target role; the
 * blocking semantics are kdlink.h's, shared with the guest's serial
 * transport, and this is their host side (sockets, clock, log). Its calls
 * block the calling thread, which in Bochs is the CPU: while a call waits
 * for the debugger the guest's clock stands still, so the guest sees the
 * same thing whether the debugger answers in a microsecond or a minute.
 */
#ifndef BXKD_KDBRIDGE_H
#define BXKD_KDBRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kdcom.h"
#include "kdep.h"

struct kdbridge_options {
	struct kdep_options endpoint;
	/* Wait for an acknowledgement before sending again (default 250 ms). */
	uint32_t resend_timeout_ms;
	/* Sends of a packet before the no-debugger exemptions apply (20). */
	uint32_t retries;
	void (*log)(void *ctx, const char *message);
	void *log_ctx;
	/* Sees every byte that crosses the endpoint, and each debugger coming
	 * and going, in order (a session recorder; may be NULL). */
	const struct kdbridge_observer *observer;
};

enum kdbridge_event {
	KDBRIDGE_TO_DEBUGGER, /* bytes written to the debugger */
	KDBRIDGE_TO_TARGET,   /* bytes read from it */
	KDBRIDGE_ATTACHED,
	KDBRIDGE_DETACHED,
};

struct kdbridge_observer {
	void (*observe)(void *ctx, enum kdbridge_event event, const void *bytes, size_t length);
	void *ctx;
};

void kdbridge_options_init(struct kdbridge_options *options);

enum kdbridge_status {
	KDBRIDGE_OK,            /* send: acknowledged; receive: a packet arrived */
	KDBRIDGE_DROPPED,       /* send: nobody answered and the packet may be dropped */
	KDBRIDGE_ABANDONED,     /* send: the debugger reset the link before taking our
				   manipulate reply; it is there, and wants a state change */
	KDBRIDGE_TIMED_OUT,     /* receive: nothing in time (KdPacketTimedOut) */
	KDBRIDGE_NEEDS_RESEND,  /* receive: the debugger reset the link (KdPacketNeedsResend) */
	KDBRIDGE_INVALID,       /* bad arguments: lengths, a control type */
};

const char *kdbridge_status_name(enum kdbridge_status status);

struct kdbridge;

struct kdbridge *kdbridge_open(const struct kdbridge_options *options, char *error,
			       size_t error_size);
void kdbridge_close(struct kdbridge *b);

/*
 * KdSendPacket: sends one data packet (payload = header then data) and
 * returns when the debugger acknowledged it. With no debugger attached, a
 * packet Windows gives up on (debug print, symbol load, file create, any
 * manipulate reply) is dropped at once; any other (a state change) waits
 * for a debugger to attach. A debugger that resets the link while a
 * manipulate reply is in flight has abandoned the request: the reply is
 * abandoned and the next kdbridge_receive returns KDBRIDGE_NEEDS_RESEND, so
 * the stub resends its state change (kdcom.dll would resend the reply).
 */
enum kdbridge_status kdbridge_send(struct kdbridge *b, uint16_t type, const void *header,
				   size_t header_length, const void *data, size_t data_length);

/*
 * KdReceivePacket: waits up to timeout_ms for a packet of `type` whose
 * payload starts with exactly header_length bytes of header (as
 * MessageHeader->MaximumLength says) followed by at most data_capacity
 * bytes of data. On KDBRIDGE_OK both are filled in and *data_length says
 * how much data came.
 */
enum kdbridge_status kdbridge_receive(struct kdbridge *b, uint16_t type, void *header,
				      size_t header_length, void *data, size_t data_capacity,
				      size_t *data_length, uint32_t timeout_ms);

/* KdReceivePacket(PACKET_TYPE_KD_POLL_BREAKIN): did the debugger ask to
 * break in? Never waits. */
bool kdbridge_poll_breakin(struct kdbridge *b);

bool kdbridge_debugger_attached(const struct kdbridge *b);
/* A debugger answers: no droppable packet has run out of retries since it
 * last spoke (Windows' KdDebuggerNotPresent, inverted). */
bool kdbridge_debugger_answers(const struct kdbridge *b);
const struct kdcom_stats *kdbridge_stats(const struct kdbridge *b);
/* Of the engine's retransmissions, those made while no debugger was
 * attached to hear them. */
uint64_t kdbridge_unheard_retransmissions(const struct kdbridge *b);
const struct kdep *kdbridge_endpoint(const struct kdbridge *b);

#endif /* BXKD_KDBRIDGE_H */
