/*
 * vmport_session.h -- recording a debug session, or replaying one, in the
 * device (replay/README.md).
 *
 * Recording: every backdoor call (registers in and out, the guest memory
 * the device read and wrote), every call of the kd host port and its
 * result, every byte that crossed the debugger endpoint, into a session
 * file. Replay: no debugger; the kd host port answers from the file, and
 * every crossing the guest makes is checked against the recording; the
 * first difference stops the run with a report.
 *
 * Plain C around replay/'s recorder and player, which do the work; this
 * file adds the files, the manifest and the checks that the machine is the
 * one recorded. The C++ glue calls it around each vmport_io().
 */
#ifndef BXKD_VMPORT_SESSION_H
#define BXKD_VMPORT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmport.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vmport_session;

/* What the manifest says about the machine, from Bochs. */
struct vmport_session_machine {
	uint64_t ips, megs, time0;
};

/* Opens config->record or config->replay (NULL and no error when neither
 * is set). A replay is refused, with the reason in `error`, when its file
 * is damaged or newer, or the machine differs from the recorded one. */
struct vmport_session *vmport_session_open(const struct vmport_config *config,
					   const struct vmport_session_machine *machine,
					   const struct bxkd_log *log, char *error,
					   size_t error_size);

bool vmport_session_replaying(const struct vmport_session *s);

/* Around one access of a backdoor port: the vcpu to give vmport_io(). */
const struct guest_vcpu *vmport_session_begin_call(struct vmport_session *s,
						    const struct guest_vcpu *real, uint16_t port,
						    enum guest_port_dir direction);
void vmport_session_end_call(struct vmport_session *s, const struct guest_port_access *access);

/* The kd host port the device should use: the live one wrapped for
 * recording (`live` may not be NULL then), or the recording's in replay. */
const struct kd_host_port *vmport_session_kd_port(struct vmport_session *s,
						    const struct kd_host_port *live);

/* What the bridge observed at the endpoint (struct kd_endpoint_observer),
 * at the guest's tick. */
void vmport_session_endpoint(struct vmport_session *s, enum kd_endpoint_event event,
			     const void *bytes, size_t length, uint64_t tick);

/* Why a replay must stop the machine now: its first divergence, or the
 * guest going past the cut of a recording cut short ("replay matched N
 * records up to the cut: ..."). A one-line summary, the full report is in
 * the report file. NULL while the replay goes on. */
const char *vmport_session_replay_stop(const struct vmport_session *s);

/* The run ended at `tick`: a recording gets its END record and is closed;
 * a replay checks nothing is left over and writes its report. The summary
 * goes to the log. `interrupted`: the signal that stopped Bochs, or NULL
 * (the END says it, and leaves out a backdoor call in progress). */
void vmport_session_close(struct vmport_session *s, uint64_t tick, const char *interrupted);

#ifdef __cplusplus
}
#endif

#endif /* BXKD_VMPORT_SESSION_H */
