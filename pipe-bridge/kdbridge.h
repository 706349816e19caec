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
 * call kdbridge_send / kdbridge_receive directly. Calls block the calling
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
};

void kdbridge_options_init(struct kdbridge_options *options);

/* Is `spec` an endpoint the bridge can open? A sentence in `error` if not. */
bool kdbridge_check_endpoint(const char *spec, char *error, size_t error_size);

struct kdbridge;

struct kdbridge *kdbridge_open(const struct kdbridge_options *options, char *error,
			       size_t error_size);
void kdbridge_close(struct kdbridge *b);

/* The bridge as a kd host port, valid until kdbridge_close. */
const struct kd_host_port *kdbridge_port(const struct kdbridge *b);

/* KdSendPacket and KdReceivePacket with kdlink_send's and kdlink_receive's
 * semantics (kdlink.h), but for one difference: a reply the debugger
 * abandoned by resetting the link is over for the kernel, so the send says
 * KD_OK (the next receive says KD_NEEDS_RESEND). A type above 0xffff is
 * KD_INVALID. */
enum kd_outcome kdbridge_send(struct kdbridge *b, uint32_t type, const void *header,
			      size_t header_length, const void *data, size_t data_length);
enum kd_outcome kdbridge_receive(struct kdbridge *b, uint32_t type, void *header,
				 size_t header_length, void *data, size_t data_capacity,
				 size_t *data_length, uint32_t timeout_ms);

/* KdReceivePacket(PACKET_TYPE_KD_POLL_BREAKIN): did the debugger ask to
 * break in? Never waits. */
bool kdbridge_poll_breakin(struct kdbridge *b);

bool kdbridge_debugger_attached(const struct kdbridge *b);
/* A debugger answers: no droppable packet has run out of retries since it
 * last spoke (Windows' KdDebuggerNotPresent, inverted). */
bool kdbridge_debugger_answers(const struct kdbridge *b);

/* Where a debugger attaches, and ready-to-paste lines for radare2, WinDbg
 * and socat (kdep.h). */
const char *kdbridge_address(const struct kdbridge *b);
const char *kdbridge_attach_hint(const struct kdbridge *b);

/* One line of totals for the end of a run: packets, retransmissions heard
 * by a debugger, resets, break-ins, damage. */
void kdbridge_summary(const struct kdbridge *b, char *line, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* BXKD_KDBRIDGE_H */
