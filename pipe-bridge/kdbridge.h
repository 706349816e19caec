/*
 * kdbridge.h -- the live kd host port: the target's side of a KD link,
 * with the blocking semantics of KdSendPacket and KdReceivePacket, towards
 * whatever debugger attaches to an endpoint (kdep.h).
 *
 * The bridge plays kdcom.dll towards the debugger with the KDCOM engine in
 * its target role; the blocking semantics are kdlink.h's, shared with the
 * guest's serial transport, and this is their host side: the endpoint as
 * kdlink's channel, the host's monotonic clock, the log. The Bochs plugin
 * hands kdbridge_port() to the backdoor device (bxkd/kdport.h); test tools
 * call through the same port. Calls block the calling
 * thread, which in Bochs is the CPU: while a call waits for the debugger
 * the guest's clock stands still, so the guest sees the same thing whether
 * the debugger answers in a microsecond or a minute.
 */
#ifndef BXKD_KDBRIDGE_H
#define BXKD_KDBRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxkd/kdport.h"
#include "kdep.h"
#include "kdstatus.h"
#include "log.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kdbridge_options {
	struct kdep_options endpoint;
	/* Wait for an acknowledgement before sending again (default 250 ms). */
	uint32_t resend_timeout_ms;
	/* Sends of a packet before the no-debugger exemptions apply (20). */
	uint32_t retries;
	/* A debugger attaching, leaving, resetting the link (may be empty). */
	struct bxkd_log log;
	/* Sees every byte that crosses the endpoint, and each debugger coming
	 * and going, in order (a session recorder; observe may be NULL). */
	struct kd_endpoint_observer observer;
	/* Optional: asked before every wait for the debugger, each wait then
	 * at most every_ms long, so that a caller can end a wait that may
	 * last forever (a state change nobody answers). The Bochs plugin
	 * stops the machine from check() when Bochs was told to stop; check
	 * need not return. */
	struct kdbridge_waiting {
		void (*check)(void *ctx);
		void *ctx;
		uint32_t every_ms;
	} waiting;
	/* kdlink_set_ack_with_reply: for a device that answers at once. */
	bool ack_with_reply;
};

void kdbridge_options_init(struct kdbridge_options *options);

struct kdbridge;

struct kdbridge *kdbridge_open(const struct kdbridge_options *options, char *error,
			       size_t error_size);
void kdbridge_close(struct kdbridge *b);

/* The bridge's calls, as a kd host port, valid until kdbridge_close.
 * send and receive have kdlink_send's and kdlink_receive's semantics
 * (kdlink.h) with one difference: a reply the debugger abandoned by
 * resetting the link is over for the kernel, so the send says KD_OK (the
 * next receive says KD_NEEDS_RESEND). A packet type above 0xffff is
 * KD_INVALID. debugger_present: no droppable packet has run out of retries
 * since the debugger last spoke, and one is attached (Windows'
 * KdDebuggerNotPresent, inverted). */
const struct kd_host_port *kdbridge_port(const struct kdbridge *b);

/* Where a debugger attaches, and ready-to-paste lines for radare2, WinDbg
 * and socat (kdep.h). */
const char *kdbridge_address(const struct kdbridge *b);
const char *kdbridge_attach_hint(const struct kdbridge *b);

/* One line of totals for the end of a run: packets, retransmissions heard
 * by a debugger, resets, break-ins, damage. */
void kdbridge_summary(const struct kdbridge *b, char *line, size_t size);

/* The same counts, and whether a debugger is attached, for the live
 * status (kdstatus.h); the tick is the caller's. */
void kdbridge_status(const struct kdbridge *b, struct kd_status *status);

#ifdef __cplusplus
}
#endif

#endif /* BXKD_KDBRIDGE_H */
