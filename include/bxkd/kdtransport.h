/*
 * bxkd/kdtransport.h -- the KD transport module interface: what Windows'
 * kernel debugger calls in kdcom.dll (or kdvm.dll), and what bxkd's KD stub
 * calls in whichever transport it runs on.
 *
 * Prototypes and semantics: docs/kd-protocol.md section 2. The
 * Windows build of the guest module exports these with the stdcall names;
 * inside the test guest they are plain function pointers.
 */
#ifndef BXKD_KDTRANSPORT_H
#define BXKD_KDTRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "bxkd/kdport.h"

/* Windows' STRING: a counted buffer. For KdReceivePacket, MessageHeader's
 * MaximumLength is the exact header size wanted, MessageData's the room. */
struct kd_string {
	uint16_t length;
	uint16_t maximum_length;
	uint8_t *buffer;
};

/* KD_CONTEXT */
struct kd_context {
	uint32_t retries;	      /* KdpDefaultRetries */
	uint8_t break_in_requested; /* KdpControlCPending */
};

/* KdReceivePacket returns Windows' KDSTATUS, which is enum kd_outcome's
 * KD_OK (KdPacketReceived), KD_TIMED_OUT or KD_NEEDS_RESEND by number. */

struct kd_transport {
	void *ctx;
	/* KdSendPacket: returns when the debugger has the packet, or when it
	 * was dropped because no debugger answers (debugger_present says). */
	void (*send_packet)(void *ctx, uint32_t packet_type, const struct kd_string *header,
			    const struct kd_string *data, struct kd_context *kd_context);
	/* KdReceivePacket; packet_type 8 (POLL_BREAKIN) never waits and
	 * takes no buffers. */
	enum kd_outcome (*receive_packet)(void *ctx, uint32_t packet_type, struct kd_string *header,
					 struct kd_string *data, uint32_t *data_length,
					 struct kd_context *kd_context);
	/* KdDebuggerNotPresent, inverted: false once sends went unanswered. */
	bool (*debugger_present)(void *ctx);
};

#endif /* BXKD_KDTRANSPORT_H */
