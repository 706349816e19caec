/*
 * recorder.h -- turns a live session's crossings into session records
 * (session.h).
 *
 * The device core sees the guest only through struct guest_vcpu and its
 * debugger only through struct kd_host_port. The recorder stands in for
 * both: it hands the core wrappers that pass every call through to the
 * real ones and write down what went in and came out. Sans-I/O: finished
 * records go to a sink, which the plugin points at a session_writer.
 */
#ifndef BXKD_RECORDER_H
#define BXKD_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"
#include "bxkd/guestcpu.h"
#include "bxkd/kdport.h"

typedef void (*recorder_sink_fn)(void *ctx, const uint8_t *record, size_t length, uint64_t tick);

struct recorder;

/* NULL when out of memory. Nothing is recorded until recorder_manifest. */
struct recorder *recorder_create(recorder_sink_fn sink, void *sink_ctx);
void recorder_destroy(struct recorder *r);

/* Record 0: the manifest text ("key=value\n" lines, session.h). */
void recorder_manifest(struct recorder *r, const char *text, uint64_t tick);

/* Around one port access on a backdoor port: the vcpu to give vmport_io()
 * instead of `real`, then the end, which writes the BACKDOOR record. */
const struct guest_vcpu *recorder_begin_call(struct recorder *r, const struct guest_vcpu *real,
					      uint16_t port, enum guest_port_dir direction);
void recorder_end_call(struct recorder *r, const struct guest_port_access *access);

/* The kd host port to give the core instead of `real` (copied). */
const struct kd_host_port *recorder_kd_port(struct recorder *r,
					      const struct kd_host_port *real);

/* Bytes to or from the debugger, or it attaching or leaving. */
void recorder_endpoint(struct recorder *r, enum kd_endpoint_event event, const void *bytes,
		       size_t length, uint64_t tick);

/* The END record; nothing is recorded after it. `interrupted` (a signal's
 * name) or NULL: the session was stopped from outside, which the END says;
 * a backdoor call still in progress then is left out, and the END gives
 * its tick (session.h). */
void recorder_end(struct recorder *r, uint64_t tick, const char *interrupted);

/* Records written so far, and whether building one failed (out of
 * memory, or a record over SESSION_RECORD_MAX: the file is then useless
 * for replay, and the plugin says so). */
uint32_t recorder_records(const struct recorder *r);
bool recorder_failed(const struct recorder *r);

#endif /* BXKD_RECORDER_H */
