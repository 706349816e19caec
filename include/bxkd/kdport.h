/*
 * bxkd/kdport.h -- the one vocabulary of a KD packet's fate, and the kd
 * host port: where the host side of a KD transport hands the packets a
 * guest's KdSendPacket / KdReceivePacket gave it.
 *
 * A packet crosses several layers on its way from the guest's transport
 * module to a debugger's socket: the shared page (bxkd/kdvm.h), the
 * backdoor device, the kd host port below, the blocking KDCOM link
 * (pipe-bridge/kdlink.h) and, in the guest, the KD transport interface
 * (bxkd/kdtransport.h). Every one of them reports with enum kd_outcome.
 * Its numbers are fixed: the first three are Windows' KDSTATUS values, the
 * first four are the shared page's result field, and 0..4 are what a
 * session file stores (replay/session.h), so none may ever change.
 */
#ifndef BXKD_KDPORT_H
#define BXKD_KDPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kd_outcome {
	KD_OK = 0,           /* sent and acknowledged; received (KdPacketReceived);
				a break-in was seen */
	KD_TIMED_OUT = 1,    /* receive: nothing in time (KdPacketTimedOut);
				poll: no break-in */
	KD_NEEDS_RESEND = 2, /* receive: the debugger reset the link
				(KdPacketNeedsResend) */
	KD_DROPPED = 3,      /* send: nobody answered; dropped, as Windows drops
				prints and replies */
	KD_INVALID = 4,      /* bad arguments: a length, a control packet type */
	/* Send, inside the KDCOM link only: the debugger reset the link before
	 * acknowledging our manipulate reply. It is there and wants a state
	 * change; for the kernel the send is over (the host port says KD_OK),
	 * and its next receive says KD_NEEDS_RESEND. */
	KD_ABANDONED = 5,
};

/*
 * The kd host port. The Bochs plugin implements it with pipe-bridge's
 * blocking bridge (pipe-bridge/kdbridge.h), tests with an in-memory
 * debugger, the session recorder by wrapping another port, the replay
 * player from a recording. Calls may block: the guest is stopped while
 * they do, as it expects of KdSendPacket and KdReceivePacket.
 */
struct kd_host_port {
	void *ctx;
	/* KD_OK, KD_DROPPED or KD_INVALID. */
	enum kd_outcome (*send)(void *ctx, uint32_t packet_type, const uint8_t *header,
				size_t header_length, const uint8_t *data, size_t data_length);
	/* header_length is exact; at most data_capacity bytes of data. KD_OK,
	 * KD_TIMED_OUT, KD_NEEDS_RESEND or KD_INVALID. */
	enum kd_outcome (*receive)(void *ctx, uint32_t packet_type, uint8_t *header,
				   size_t header_length, uint8_t *data, size_t data_capacity,
				   size_t *data_length, uint32_t timeout_ms);
	bool (*poll_breakin)(void *ctx);
	/* A debugger answers (the link has not marked it absent). */
	bool (*debugger_present)(void *ctx);
	/* A debugger is connected to the endpoint right now. */
	bool (*debugger_attached)(void *ctx);
};

/* ---- what crosses the debugger's endpoint ------------------------------------ */

/* Numbered as a session file stores them (replay/session.h). */
enum kd_endpoint_event {
	KD_ENDPOINT_TO_DEBUGGER = 1, /* bytes the target sent */
	KD_ENDPOINT_TO_TARGET = 2,   /* bytes the debugger sent, as the target took them */
	KD_ENDPOINT_ATTACHED = 3,    /* a debugger came */
	KD_ENDPOINT_DETACHED = 4,    /* it went */
};

/* Sees every byte that crosses the endpoint and each debugger coming and
 * going, in order: a session recorder. */
struct kd_endpoint_observer {
	void (*observe)(void *ctx, enum kd_endpoint_event event, const void *bytes,
			size_t length);
	void *ctx;
};

#endif /* BXKD_KDPORT_H */
