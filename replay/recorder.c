/*
 * recorder.c -- a live session's crossings as session records (see
 * recorder.h).
 *
 * Order in the file: a backdoor call's BACKDOOR record first, then the
 * KD_PORT calls the device made while handling it and the ENDPOINT bytes
 * the bridge moved meanwhile, in the order they happened. The call's
 * record can only be written at its end (registers out), so what happens
 * during the call waits in `pending` until then.
 *
 * Bytes that cross the endpoint one way in a row make one ENDPOINT record
 * (up to a size), however many pieces the bridge saw them in: the same
 * conversation then makes the same records.
 */
#include "config.h"

#include "recorder.h"
#include "vcpu_tap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/byteorder.h"

struct pending {
	uint8_t *bytes;
	size_t length;
};

struct recorder {
	recorder_sink_fn sink;
	void *sink_ctx;
	uint32_t sequence;
	bool started, ended, failed;
	/* Records written, by kind: the END says them, and readers check. */
	uint32_t written[SESSION_END + 1];

	/* The call in progress. */
	bool in_call;
	struct vcpu_tap tap;
	struct session_backdoor call;
	uint64_t call_tick;
	struct session_buffer accesses;
	struct pending *pending;
	size_t pending_count, pending_capacity;

	struct kd_host_port real_port, port;
	struct session_buffer scratch;

	/* The ENDPOINT record still growing: bytes one way, in a row. */
	bool run_open;
	uint8_t run_event;
	uint64_t run_tick;
	struct session_buffer run;
};

/* Where a run of endpoint bytes is cut, well under the record limit. */
#define ENDPOINT_RUN_MAX (SESSION_RECORD_MAX / 2)

/* ---- writing records ---------------------------------------------------------- */

/* The sequence number goes in last, when the record's place is known. */
static void emit(struct recorder *r, uint8_t *record, size_t length, uint64_t tick)
{
	uint16_t kind = le_get16(record + offsetof(struct session_record_header, kind));

	if (kind <= SESSION_END)
		r->written[kind]++;
	session_renumber(record, length, r->sequence++);
	r->sink(r->sink_ctx, record, length, tick);
}

static bool built(struct recorder *r, struct session_buffer *b)
{
	session_finish(b);
	if (b->failed)
		r->failed = true;
	return !b->failed;
}

/* A record made during a call waits for the call's own; outside a call it
 * goes straight out. */
static void emit_or_hold(struct recorder *r, struct session_buffer *b, uint64_t tick)
{
	if (!built(r, b))
		return;
	if (!r->in_call) {
		emit(r, b->data, b->length, tick);
		return;
	}
	if (r->pending_count == r->pending_capacity) {
		size_t capacity = r->pending_capacity ? 2 * r->pending_capacity : 16;
		struct pending *grown = realloc(r->pending, capacity * sizeof(*grown));
		if (!grown) {
			r->failed = true;
			return;
		}
		r->pending = grown;
		r->pending_capacity = capacity;
	}
	uint8_t *copy = malloc(b->length);
	if (!copy) {
		r->failed = true;
		return;
	}
	memcpy(copy, b->data, b->length);
	r->pending[r->pending_count++] = (struct pending){ copy, b->length };
}

static void close_run(struct recorder *r)
{
	if (!r->run_open)
		return;
	r->run_open = false;
	emit_or_hold(r, &r->run, r->run_tick);
}

static void record_access(void *owner, uint64_t address, const void *bytes, size_t length,
			  bool write, bool ok);

struct recorder *recorder_create(recorder_sink_fn sink, void *sink_ctx)
{
	struct recorder *r = calloc(1, sizeof(*r));

	if (r) {
		r->sink = sink;
		r->sink_ctx = sink_ctx;
		vcpu_tap_init(&r->tap, record_access, r);
	}
	return r;
}

void recorder_destroy(struct recorder *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->pending_count; i++)
		free(r->pending[i].bytes);
	free(r->pending);
	session_buffer_free(&r->accesses);
	session_buffer_free(&r->scratch);
	session_buffer_free(&r->run);
	free(r);
}

static void text_record(struct recorder *r, enum session_kind kind, const char *text,
			uint64_t tick)
{
	session_begin(&r->scratch, kind, 0, tick);
	session_append(&r->scratch, text, strlen(text));
	if (built(r, &r->scratch))
		emit(r, r->scratch.data, r->scratch.length, tick);
}

void recorder_manifest(struct recorder *r, const char *text, uint64_t tick)
{
	if (r->started)
		return;
	r->started = true;
	text_record(r, SESSION_MANIFEST, text, tick);
}

/* ---- the guest, as the device sees it ------------------------------------------- */

static void record_access(void *owner, uint64_t address, const void *bytes, size_t length,
			  bool write, bool ok)
{
	struct recorder *r = owner;
	struct session_access a = { .address = address, .length = (uint32_t)length,
				    .write = write, .ok = ok };

	if (length > UINT32_MAX) {
		r->failed = true;
		return;
	}
	session_append(&r->accesses, &a, sizeof(a));
	if (ok)
		session_append(&r->accesses, bytes, length);
	r->call.accesses++;
}

const struct guest_vcpu *recorder_begin_call(struct recorder *r, const struct guest_vcpu *real,
					      uint16_t port, enum guest_port_dir direction)
{
	if (!r->started || r->ended)
		return real;
	r->in_call = true;
	const struct guest_vcpu *tapped = vcpu_tap_attach(&r->tap, real);
	memset(&r->call, 0, sizeof(r->call));
	r->call.port = port;
	r->call.direction = direction == GUEST_PORT_OUT;
	r->call.cpl = (uint8_t)real->cpl(real->ctx);
	/* The registers a call sees, all of them, whatever the command reads. */
	vcpu_tap_registers(real, r->call.regs_in);
	r->call_tick = real->ticks(real->ctx);
	r->accesses.length = 0;
	r->accesses.failed = false;
	return tapped;
}

void recorder_end_call(struct recorder *r, const struct guest_port_access *access)
{
	if (!r->in_call)
		return;
	close_run(r);
	r->in_call = false;
	r->call.in_value = access->in_value;
	r->call.string_op_done = access->string_op_done;
	vcpu_tap_registers(r->tap.real, r->call.regs_out);
	if (r->accesses.failed)
		r->failed = true;

	session_begin(&r->scratch, SESSION_BACKDOOR, 0, r->call_tick);
	session_append(&r->scratch, &r->call, sizeof(r->call));
	session_append(&r->scratch, r->accesses.data, r->accesses.length);
	if (built(r, &r->scratch))
		emit(r, r->scratch.data, r->scratch.length, r->call_tick);
	for (size_t i = 0; i < r->pending_count; i++) {
		emit(r, r->pending[i].bytes, r->pending[i].length, r->call_tick);
		free(r->pending[i].bytes);
	}
	r->pending_count = 0;
}

/* ---- the debugger, as the device sees it ----------------------------------------- */

/* `header` and `data` are the bytes that follow the fixed part: NULL for
 * a call that carries none (session.h). */
static void kd_record(struct recorder *r, const struct session_kd_port *fixed,
		      const uint8_t *header, const uint8_t *data)
{
	if (!r->started || r->ended)
		return;
	close_run(r);
	session_begin(&r->scratch, SESSION_KD_PORT, 0, r->call_tick);
	session_append(&r->scratch, fixed, sizeof(*fixed));
	if (header && fixed->header_length)
		session_append(&r->scratch, header, fixed->header_length);
	if (data && fixed->data_length)
		session_append(&r->scratch, data, fixed->data_length);
	emit_or_hold(r, &r->scratch, r->call_tick);
}

static enum kd_outcome kd_send(void *ctx, uint32_t type, const uint8_t *header,
				     size_t header_length, const uint8_t *data, size_t data_length)
{
	struct recorder *r = ctx;
	enum kd_outcome result =
		r->real_port.send(r->real_port.ctx, type, header, header_length, data, data_length);
	struct session_kd_port fixed = {
		.op = SESSION_KD_SEND, .result = (uint8_t)result, .packet_type = (uint16_t)type,
		.header_length = (uint32_t)header_length, .data_length = (uint32_t)data_length,
	};

	kd_record(r, &fixed, header, data);
	return result;
}

static enum kd_outcome kd_receive(void *ctx, uint32_t type, uint8_t *header,
					size_t header_length, uint8_t *data, size_t data_capacity,
					size_t *data_length, uint32_t timeout_ms)
{
	struct recorder *r = ctx;
	enum kd_outcome result =
		r->real_port.receive(r->real_port.ctx, type, header, header_length, data,
				     data_capacity, data_length, timeout_ms);
	bool received = result == KD_OK;
	struct session_kd_port fixed = {
		.op = SESSION_KD_RECEIVE, .result = (uint8_t)result, .packet_type = (uint16_t)type,
		.timeout_ms = timeout_ms, .header_length = (uint32_t)header_length,
		.data_capacity = (uint32_t)data_capacity,
		.data_length = received ? (uint32_t)*data_length : 0,
	};

	/* Only a packet that came carries bytes; the sizes asked are kept
	 * either way, so a replay can check the guest asked the same. */
	kd_record(r, &fixed, received ? header : NULL, received ? data : NULL);
	return result;
}

static bool kd_flag(struct recorder *r, uint8_t op, bool value)
{
	struct session_kd_port fixed = { .op = op, .result = value };

	kd_record(r, &fixed, NULL, NULL);
	return value;
}

static bool kd_poll(void *ctx)
{
	struct recorder *r = ctx;
	return kd_flag(r, SESSION_KD_POLL_BREAKIN, r->real_port.poll_breakin(r->real_port.ctx));
}

static bool kd_present(void *ctx)
{
	struct recorder *r = ctx;
	return kd_flag(r, SESSION_KD_DEBUGGER_PRESENT,
		       r->real_port.debugger_present(r->real_port.ctx));
}

static bool kd_attached(void *ctx)
{
	struct recorder *r = ctx;
	return kd_flag(r, SESSION_KD_DEBUGGER_ATTACHED,
		       r->real_port.debugger_attached(r->real_port.ctx));
}

const struct kd_host_port *recorder_kd_port(struct recorder *r,
					      const struct kd_host_port *real)
{
	r->real_port = *real;
	r->port = (struct kd_host_port){ r,	      kd_send,	  kd_receive, kd_poll,
					   kd_present, kd_attached };
	return &r->port;
}

/* ---- the endpoint, and the end --------------------------------------------------- */

void recorder_endpoint(struct recorder *r, enum kd_endpoint_event event, const void *bytes,
		       size_t length, uint64_t tick)
{
	struct session_endpoint fixed = { .event = (uint8_t)event };
	const uint8_t *p = bytes;
	uint64_t at = r->in_call ? r->call_tick : tick;
	bool carries_bytes = event == KD_ENDPOINT_TO_DEBUGGER ||
			     event == KD_ENDPOINT_TO_TARGET;

	if (!r->started || r->ended)
		return;
	if (r->run_open && (!carries_bytes || r->run_event != event || r->run_tick != at))
		close_run(r);
	if (!carries_bytes) {
		session_begin(&r->scratch, SESSION_ENDPOINT, 0, at);
		session_append(&r->scratch, &fixed, sizeof(fixed));
		emit_or_hold(r, &r->scratch, at);
		return;
	}
	while (length) {
		if (!r->run_open) {
			session_begin(&r->run, SESSION_ENDPOINT, 0, at);
			session_append(&r->run, &fixed, sizeof(fixed));
			r->run_open = true;
			r->run_event = (uint8_t)event;
			r->run_tick = at;
		}
		size_t room = ENDPOINT_RUN_MAX - r->run.length;
		size_t n = length < room ? length : room;
		session_append(&r->run, p, n);
		p += n;
		length -= n;
		if (r->run.length >= ENDPOINT_RUN_MAX)
			close_run(r);
	}
}

/* A call that never ended has no registers out: its record cannot be
 * written, and what happened during it goes with it. */
static void drop_call(struct recorder *r)
{
	r->run_open = false;
	for (size_t i = 0; i < r->pending_count; i++)
		free(r->pending[i].bytes);
	r->pending_count = 0;
	r->in_call = false;
}

void recorder_end(struct recorder *r, uint64_t tick, const char *interrupted)
{
	char text[320];
	int n;

	if (!r->started || r->ended)
		return;
	bool cut_call = interrupted && r->in_call;
	if (cut_call)
		drop_call(r);
	else
		close_run(r);
	n = snprintf(text, sizeof(text),
		     "records=%u\nbackdoor_calls=%u\nkd_port_calls=%u\nendpoint_records=%u\n",
		     r->sequence + 1, r->written[SESSION_BACKDOOR], r->written[SESSION_KD_PORT],
		     r->written[SESSION_ENDPOINT]);
	if (interrupted && n > 0 && (size_t)n < sizeof(text))
		n += snprintf(text + n, sizeof(text) - (size_t)n, "interrupted=%s\n", interrupted);
	if (cut_call && n > 0 && (size_t)n < sizeof(text))
		snprintf(text + n, sizeof(text) - (size_t)n, "interrupted_call_tick=%" PRIu64 "\n",
			 r->call_tick);
	text_record(r, SESSION_END, text, tick);
	r->ended = true;
}

uint32_t recorder_records(const struct recorder *r)
{
	return r->sequence;
}

bool recorder_failed(const struct recorder *r)
{
	return r->failed;
}
