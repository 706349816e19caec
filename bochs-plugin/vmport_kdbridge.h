/*
 * vmport_kdbridge.h -- the live kd host port: the device's KD packets go to
 * a debugger through pipe-bridge's blocking bridge (kdbridge.h).
 *
 * Plain C, so the C++ glue needs none of pipe-bridge's headers. While a
 * call waits for the debugger the emulated CPU waits with it, which is what
 * the guest's KdSendPacket / KdReceivePacket expect.
 */
#ifndef BXKD_VMPORT_KDBRIDGE_H
#define BXKD_VMPORT_KDBRIDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "vmport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Is `spec` an endpoint pipe-bridge can open? A sentence in `error` if not. */
bool vmport_kdbridge_check_endpoint(const char *spec, char *error, size_t error_size);

struct vmport_kdbridge;

/* What crosses the endpoint, for a session recording: bytes to the
 * debugger (event 1), from it (2), a debugger attaching (3) or leaving (4)
 * -- the numbers of replay/session.h's enum session_endpoint_event. */
typedef void (*vmport_kdbridge_observe_fn)(void *ctx, int event, const void *bytes,
					   size_t length);

/* Opens config->kd_endpoint with config's KDCOM timing; messages (a
 * debugger attaching, leaving, resetting) go to `log`, crossings to
 * `observe` (may be NULL). NULL with a reason in `error` when the endpoint
 * cannot be opened. */
struct vmport_kdbridge *vmport_kdbridge_open(const struct vmport_config *config, vmport_log_fn log,
					     void *log_ctx, vmport_kdbridge_observe_fn observe,
					     void *observe_ctx, char *error, size_t error_size);
void vmport_kdbridge_close(struct vmport_kdbridge *bridge);

/* The port to give vmport_set_kd_port(). */
const struct vmport_kd_port *vmport_kdbridge_port(const struct vmport_kdbridge *bridge);

/* Where a debugger attaches, and ready-to-paste lines for radare2, WinDbg
 * and socat. */
const char *vmport_kdbridge_address(const struct vmport_kdbridge *bridge);
const char *vmport_kdbridge_attach_hint(const struct vmport_kdbridge *bridge);

/* One line of totals for the end of a run. */
void vmport_kdbridge_summary(const struct vmport_kdbridge *bridge, char *line, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* BXKD_VMPORT_KDBRIDGE_H */
