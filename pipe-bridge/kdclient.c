/*
 * kdclient.c -- a blocking KD debugger client (see kdclient.h).
 */
#include "config.h"

#include "kdclient.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kdcom_engine.h"
#include "process.h"

#define MAX_MODULES 64
#define MAX_ANSWERS 4
/* STATUS_NO_SUCH_FILE: what rizin answers to every file I/O request. */
#define FILE_IO_REFUSED 0xC000000Fu

/* A packet the target asked for unprompted, sent when the link is free. */
struct answer {
	uint16_t type;
	uint16_t length;
	uint8_t payload[sizeof(struct dbgkd_manipulate_state64)];
};

struct kdclient {
	struct kdclient_options o;
	struct kdep *ep;
	struct kdcom k;

	bool stopped;
	struct dbgkd_any_wait_state_change last_stop;
	bool have_version;
	struct dbgkd_get_version64 version;
	struct kdclient_module modules[MAX_MODULES];
	size_t module_count;

	struct answer answers[MAX_ANSWERS];
	size_t answer_count;
	/* Between our RESET and its answer, what arrives is stale: frames a
	 * target sent into a terminal before anyone was listening, say. */
	bool resetting;
	bool answering; /* the send in flight is an answer, not the caller's */

	/* What the call in progress waits for. */
	bool sent, send_failed, reset_done, got_reply;
	/* The engine's watchdog RESET cut off the caller's packet in flight
	 * (the target may or may not have taken it). */
	bool send_abandoned;
	/* A sign that a request in flight was lost: the target reported its
	 * stop again (it went back to waiting for requests). */
	bool stop_again;
	/* The packet ids of the two sides may have parted: the target asked
	 * for a packet again that we had seen acknowledged. (A RESET cannot
	 * part them: the engine answers one it did not ask for with its own,
	 * the watchdog RESET, and both sides restart together.) */
	bool ids_parted;
	bool reconnected; /* the endpoint's connection was (re-)established */
	bool reissued;
	struct kdclient_stats stats;
	uint32_t awaited_api;
	struct dbgkd_manipulate_state64 awaited; /* the request */
	uint8_t reply[KDCOM_MAX_PAYLOAD];
	size_t reply_length;
};

#define say(c, ...) bxkd_logf(&(c)->o.log, BXKD_LOG_INFO, __VA_ARGS__)

const char *kdclient_status_name(enum kdclient_status status)
{
	switch (status) {
	case KDCLIENT_OK:
		return "ok";
	case KDCLIENT_TIMEOUT:
		return "timed out";
	case KDCLIENT_NOT_STOPPED:
		return "the target is running";
	case KDCLIENT_LINK_FAILED:
		return "the target stopped answering";
	case KDCLIENT_BAD_REPLY:
		return "malformed reply";
	}
	return "?";
}

void kdclient_options_init(struct kdclient_options *o)
{
	memset(o, 0, sizeof(*o));
	o->resend_timeout_ms = 250;
	o->retries = 20;
	o->attempts = 5;
}

struct kdclient *kdclient_open(const struct kdclient_options *options, char *error,
			       size_t error_size)
{
	struct kdclient *c = calloc(1, sizeof(*c));
	struct kdcom_config config;

	if (!c) {
		bxkd_error(error, error_size, "out of memory");
		return NULL;
	}
	c->o = *options;
	if (!c->o.resend_timeout_ms)
		c->o.resend_timeout_ms = 250;
	if (!c->o.reply_timeout_ms)
		c->o.reply_timeout_ms = 8 * c->o.resend_timeout_ms;
	c->ep = kdep_open(&options->endpoint, &c->o.log, error, error_size);
	if (!c->ep) {
		free(c);
		return NULL;
	}
	kdcom_config_init(&config, KDCOM_DEBUGGER, options->resend_timeout_ms);
	config.retries = options->retries;
	kdcom_init(&c->k, &config);
	return c;
}

void kdclient_close(struct kdclient *c)
{
	if (!c)
		return;
	kdep_close(c->ep);
	free(c);
}

/* ---- what the target sends unasked ------------------------------------------ */

static void queue_answer(struct kdclient *c, uint16_t type, const void *payload, size_t length)
{
	if (c->answer_count == MAX_ANSWERS || length > sizeof(c->answers[0].payload)) {
		say(c, "too many unanswered requests from the target; one dropped");
		return;
	}
	struct answer *a = &c->answers[c->answer_count++];
	a->type = type;
	a->length = (uint16_t)length;
	memcpy(a->payload, payload, length);
}

static void continue_request(const struct kdclient *c, struct dbgkd_manipulate_state64 *m,
			     uint32_t status, bool single_step)
{
	memset(m, 0, sizeof(*m));
	m->api_number = DBGKD_CONTINUE_API2;
	m->processor = c->last_stop.processor;
	m->u.continue2.continue_status = status;
	m->u.continue2.control_set.trace_flag = single_step;
	/* x86: 1 leaves the kernel's current-symbol range alone (ReactOS
	 * kdx86.c); AMD64's range is 64-bit and further on, and stays 0. */
	if (kdclient_machine(c) != DBGKD_MACHINE_AMD64)
		m->u.continue2.control_set.current_symbol_start = 1;
}

static void queue_continue(struct kdclient *c, uint32_t status, bool single_step)
{
	struct dbgkd_manipulate_state64 m;

	continue_request(c, &m, status, single_step);
	queue_answer(c, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m));
}

static void on_state_change(struct kdclient *c, const uint8_t *payload, size_t length)
{
	struct dbgkd_any_wait_state_change sc;

	memcpy(&sc, payload, sizeof(sc));
	switch (sc.new_state & ~DBGKD_ALTERNATE_STATE_CHANGE) {
	case DBGKD_LOAD_SYMBOLS_STATE_CHANGE: {
		/* The path follows the header, NUL-terminated; trust neither. */
		size_t path_room = length - sizeof(sc);
		size_t path_length = sc.u.load_symbols.path_name_length;
		if (path_length > path_room)
			path_length = path_room;
		if (!sc.u.load_symbols.unload_symbols && c->module_count < MAX_MODULES) {
			struct kdclient_module *m = &c->modules[c->module_count++];
			size_t n = path_length < sizeof(m->path) - 1 ? path_length : sizeof(m->path) - 1;
			memcpy(m->path, payload + sizeof(sc), n);
			m->path[n] = '\0';
			m->base = sc.u.load_symbols.base_of_dll;
			m->size = sc.u.load_symbols.size_of_image;
			say(c, "module %s at 0x%llx, %u bytes", m->path, (unsigned long long)m->base,
			    m->size);
		}
		c->last_stop.processor = sc.processor;
		queue_continue(c, DBGKD_DBG_CONTINUE, false);
		break;
	}
	case DBGKD_EXCEPTION_STATE_CHANGE:
		c->last_stop = sc;
		c->stopped = true;
		c->stop_again = true;
		break;
	default:
		/* A command string, or something newer than we know: go on. */
		say(c, "target reported %s (0x%x); continuing",
		    dbgkd_state_change_name(sc.new_state), sc.new_state);
		c->last_stop.processor = sc.processor;
		queue_continue(c, DBGKD_DBG_CONTINUE, false);
		break;
	}
}

static void on_debug_io(struct kdclient *c, const uint8_t *payload, size_t length)
{
	struct dbgkd_debug_io io;

	memcpy(&io, payload, sizeof(io));
	if (io.api_number == DBGKD_PRINT_STRING_API) {
		size_t text = length - sizeof(io);
		if (io.u.length_of_string < text)
			text = io.u.length_of_string;
		if (c->o.print)
			c->o.print(c->o.print_ctx, (const char *)payload + sizeof(io), text);
	} else {
		/* A prompt (DbgPrompt): answer with an empty line. */
		io.u.get_string.length_of_string_read = 0;
		queue_answer(c, KDCOM_TYPE_DEBUG_IO, &io, sizeof(io));
	}
}

/* Whether a reply answers this request and not an earlier one asked again
 * (a late reply to a read of the previous chunk must not pass for this
 * one's): the target echoes the address it was asked about. */
static bool reply_matches(const struct dbgkd_manipulate_state64 *request, const uint8_t *payload,
			  size_t length)
{
	struct dbgkd_manipulate_state64 reply;

	if (length < sizeof(reply))
		return true; /* the caller refuses it as malformed */
	memcpy(&reply, payload, sizeof(reply));
	switch (request->api_number) {
	case DBGKD_READ_VIRTUAL_MEMORY_API:
	case DBGKD_WRITE_VIRTUAL_MEMORY_API:
	case DBGKD_READ_PHYSICAL_MEMORY_API:
	case DBGKD_WRITE_PHYSICAL_MEMORY_API:
		return reply.u.read_memory.target_base_address ==
		       request->u.read_memory.target_base_address;
	case DBGKD_WRITE_BREAKPOINT_API:
		return reply.u.write_breakpoint.breakpoint_address ==
		       request->u.write_breakpoint.breakpoint_address;
	default:
		return true;
	}
}

static void on_packet(struct kdclient *c, const struct kdcom_event *e)
{
	if (c->resetting)
		return; /* acknowledged by the engine, otherwise ignored */
	switch (e->type) {
	case KDCOM_TYPE_STATE_CHANGE64:
		on_state_change(c, e->payload, e->length);
		break;
	case KDCOM_TYPE_STATE_MANIPULATE: {
		uint32_t api;
		memcpy(&api, e->payload, 4);
		if (c->awaited_api == api && !c->got_reply &&
		    reply_matches(&c->awaited, e->payload, e->length)) {
			memcpy(c->reply, e->payload, e->length);
			c->reply_length = e->length;
			c->got_reply = true;
		} else {
			say(c, "unexpected %s reply ignored", dbgkd_manipulate_name(api));
		}
		break;
	}
	case KDCOM_TYPE_DEBUG_IO:
		on_debug_io(c, e->payload, e->length);
		break;
	case KDCOM_TYPE_FILE_IO: {
		struct dbgkd_file_io io;
		memset(&io, 0, sizeof(io));
		memcpy(&io.api_number, e->payload, 4);
		io.status = FILE_IO_REFUSED;
		queue_answer(c, KDCOM_TYPE_FILE_IO, &io, sizeof(io));
		break;
	}
	default:
		say(c, "ignored a %s packet from the target", kdcom_type_name(e->type));
		break;
	}
}

/* ---- moving bytes -------------------------------------------------------------- */

static void take_events(struct kdclient *c)
{
	struct kdcom_event e;

	while (kdcom_next_event(&c->k, &e)) {
		bool ended = e.kind == KDCOM_EVENT_SENT || e.kind == KDCOM_EVENT_SEND_FAILED ||
			     e.kind == KDCOM_EVENT_ABANDONED;
		if (e.kind == KDCOM_EVENT_PACKET)
			on_packet(c, &e);
		/* An answer's send ending is no news for the caller's call (an
		 * abandoned one is asked for again: the target repeats what it
		 * asked for after the RESET). */
		if (ended && c->answering) {
			c->answering = false;
			continue;
		}
		c->sent |= e.kind == KDCOM_EVENT_SENT;
		c->send_failed |= e.kind == KDCOM_EVENT_SEND_FAILED;
		c->send_abandoned |= e.kind == KDCOM_EVENT_ABANDONED;
		/* A RESEND for a packet already acknowledged. */
		c->ids_parted |= e.kind == KDCOM_EVENT_RESEND;
		if (e.kind == KDCOM_EVENT_RESET) {
			c->reset_done |= c->resetting;
			c->resetting = false;
		}
	}
}

static void flush(struct kdclient *c)
{
	const uint8_t *bytes;
	size_t n;

	/* Answers owed to the target go out whenever the link is free. */
	if (!kdcom_sending(&c->k) && c->answer_count) {
		struct answer a = c->answers[0];
		memmove(c->answers, c->answers + 1, --c->answer_count * sizeof(*c->answers));
		if (kdcom_send(&c->k, a.type, a.payload, a.length, NULL, 0, bxkd_now_ms()) ==
		    KDCOM_SEND_STARTED) {
			c->answering = true;
			if (a.type == KDCOM_TYPE_STATE_MANIPULATE)
				c->stopped = false; /* it was a continue */
		}
	}
	while ((n = kdcom_output(&c->k, &bytes)) > 0) {
		kdep_write(c->ep, bytes, n);
		kdcom_output_consumed(&c->k, n);
	}
}

static void pump(struct kdclient *c, int wait_ms)
{
	uint8_t buffer[4096];
	size_t n;

	flush(c);
	switch (kdep_wait(c->ep, wait_ms, buffer, sizeof(buffer), &n)) {
	case KDEP_DATA:
		for (size_t used = 0;;) {
			take_events(c);
			if (used == n)
				break;
			used += kdcom_input(&c->k, buffer + used, n - used, bxkd_now_ms());
		}
		break;
	case KDEP_CONNECTED:
		c->reconnected = true;
		/* fall through */
	case KDEP_DISCONNECTED:
		kdcom_discard_output(&c->k);
		kdcom_restart_input(&c->k);
		break;
	case KDEP_TIMEOUT:
		break;
	}
	kdcom_tick(&c->k, bxkd_now_ms());
	take_events(c);
	if (!c->o.ack_with_next_request)
		flush(c);
}

/* Pumps until *flag, a failed send, or the deadline. */
static enum kdclient_status pump_until(struct kdclient *c, const bool *flag, uint64_t deadline)
{
	while (!*flag) {
		if (c->send_failed)
			return KDCLIENT_LINK_FAILED;
		uint64_t now = bxkd_now_ms(), engine = kdcom_deadline(&c->k);
		if (now >= deadline)
			return KDCLIENT_TIMEOUT;
		uint64_t next = engine < deadline ? engine : deadline;
		pump(c, next <= now ? 0 : (int)(next - now > 1000 ? 1000 : next - now));
	}
	return KDCLIENT_OK;
}

/* ---- recovery ------------------------------------------------------------------ */

/* A link that stays silent this long after a RESET or a break-in is probed
 * again: room for the RESET's answer and one resend of the stop behind it. */
static uint64_t probe_interval(const struct kdclient *c)
{
	return 8ull * c->o.resend_timeout_ms;
}

static uint64_t faults_seen(const struct kdclient *c)
{
	const struct kdcom_stats *k = &c->k.stats;

	/* Not stale packets: every attach meets those. */
	return k->retransmissions + k->resends_requested + k->duplicates + k->bad_checksums +
	       k->bad_frames + k->watchdog_resets + c->stats.reissued + c->stats.probes;
}

/* Starts timing an operation; end_operation() records it if it met a fault. */
struct operation {
	uint64_t start, faults;
};

static struct operation begin_operation(const struct kdclient *c)
{
	return (struct operation){ bxkd_now_ms(), faults_seen(c) };
}

static void end_operation(struct kdclient *c, const struct operation *op)
{
	if (faults_seen(c) == op->faults)
		return;
	uint64_t took = bxkd_now_ms() - op->start;
	uint32_t ms = took > UINT32_MAX ? UINT32_MAX : (uint32_t)took;
	c->stats.recoveries++;
	if (ms > c->stats.max_recovery_ms)
		c->stats.max_recovery_ms = ms;
	if (c->stats.samples < KDCLIENT_RECOVERY_SAMPLES)
		c->stats.recovery_ms[c->stats.samples++] = ms;
}

static void send_reset(struct kdclient *c)
{
	c->resetting = true;
	c->reset_done = false;
	c->send_failed = false;
	kdcom_send_reset(&c->k, bxkd_now_ms());
}

/*
 * Waits for the target to report a stop, as after an attach: RESET (and
 * with `breakin` the break-in byte first), and again whenever the line
 * was re-established (what was queued for the old connection is gone) or
 * nothing came for a probe interval. A stopped target answers a RESET by
 * sending its stop again, a running one stops at the break-in; one that
 * sent a stale reply after the RESET is probed until its stop comes.
 */
static enum kdclient_status resync(struct kdclient *c, bool breakin, uint64_t deadline)
{
	uint64_t probe_at = 0;

	c->stopped = false;
	c->answer_count = 0;
	c->reconnected = true;
	c->ids_parted = false;
	while (!c->stopped) {
		uint64_t now = bxkd_now_ms();
		if (now >= deadline)
			return KDCLIENT_TIMEOUT;
		if (kdep_connected(c->ep) && (c->reconnected || now >= probe_at)) {
			if (probe_at)
				c->stats.probes++;
			c->reconnected = false;
			if (breakin)
				kdcom_send_breakin(&c->k);
			send_reset(c);
			probe_at = now + probe_interval(c);
		}
		uint64_t next = probe_at < deadline ? probe_at : deadline;
		uint64_t engine = kdcom_deadline(&c->k);
		if (engine < next)
			next = engine;
		pump(c, next <= now ? 0 : (int)(next - now > 100 ? 100 : next - now));
	}
	c->resetting = false;
	return KDCLIENT_OK;
}

/*
 * The watchdog RESET cut off the caller's Continue (or another request
 * the target carries out without replying). A stopped target reports its
 * stop again once it has answered that RESET; another RESET now would
 * cross its answer. If no stop comes within a probe interval, the target
 * may have taken the packet and be running: break in and RESET (resync).
 */
static enum kdclient_status await_stop_after_abandon(struct kdclient *c, uint64_t deadline)
{
	uint64_t probe_at = bxkd_now_ms() + probe_interval(c);

	while (!c->stopped) {
		uint64_t now = bxkd_now_ms();
		if (now >= deadline)
			return KDCLIENT_TIMEOUT;
		if (now >= probe_at)
			return resync(c, true, deadline);
		pump(c, 10);
	}
	return KDCLIENT_OK;
}

/* ---- the interface --------------------------------------------------------------- */

void kdclient_queue_breakin(struct kdclient *c)
{
	kdcom_send_breakin(&c->k);
}

void kdclient_flush(struct kdclient *c)
{
	flush(c);
}

void kdclient_breakin(struct kdclient *c)
{
	kdcom_send_breakin(&c->k);
	flush(c);
}

enum kdclient_status kdclient_wait(struct kdclient *c, uint32_t timeout_ms)
{
	return pump_until(c, &c->stopped, bxkd_now_ms() + timeout_ms);
}

enum kdclient_status kdclient_wait_gone(struct kdclient *c, uint32_t timeout_ms)
{
	uint64_t deadline = bxkd_now_ms() + timeout_ms;

	while (kdep_connected(c->ep) && !c->stopped) {
		uint64_t now = bxkd_now_ms();
		if (now >= deadline)
			return KDCLIENT_TIMEOUT;
		pump(c, deadline - now > 1000 ? 1000 : (int)(deadline - now));
	}
	return KDCLIENT_OK;
}

static uint32_t time_left(uint64_t deadline)
{
	uint64_t now = bxkd_now_ms();

	return deadline > now ? (uint32_t)(deadline - now) : 1;
}

enum kdclient_status kdclient_connect(struct kdclient *c, uint32_t timeout_ms)
{
	uint64_t deadline = bxkd_now_ms() + timeout_ms;
	struct operation op;
	enum kdclient_status status;

	/* A listening or reconnecting endpoint may not have its target yet. */
	while (!kdep_connected(c->ep) && bxkd_now_ms() < deadline)
		pump(c, 100);
	if (!kdep_connected(c->ep))
		return KDCLIENT_TIMEOUT;

	op = begin_operation(c);
	c->send_failed = false;
	status = resync(c, true, deadline);
	end_operation(c, &op);
	if (status != KDCLIENT_OK)
		return status;

	struct dbgkd_manipulate_state64 request, reply;
	size_t length;
	memset(&request, 0, sizeof(request));
	request.api_number = DBGKD_GET_VERSION_API;
	status = kdclient_request(c, &request, NULL, 0, &reply, NULL, 0, &length,
				  time_left(deadline));
	if (status == KDCLIENT_OK) {
		c->version = reply.u.get_version;
		c->have_version = true;
	}
	return status;
}

/* APIs the target carries out without replying. */
static bool answered(uint32_t api)
{
	return api != DBGKD_CONTINUE_API && api != DBGKD_CONTINUE_API2 &&
	       api != DBGKD_REBOOT_API && api != DBGKD_SWITCH_PROCESSOR;
}

/* Answers owed go first; the target is waiting for nothing else. A target
 * that asked for a packet we had already seen acknowledged waits for an id
 * we have moved past: RESET both sides before the next request (the
 * target then reports its stop again). */
static enum kdclient_status drain_answers(struct kdclient *c, uint64_t deadline)
{
	while (kdcom_sending(&c->k) || c->answer_count) {
		if (bxkd_now_ms() >= deadline)
			return KDCLIENT_TIMEOUT;
		pump(c, 10);
	}
	if (!c->stopped)
		return KDCLIENT_NOT_STOPPED;
	if (c->ids_parted) {
		c->stats.probes++;
		say(c, "the target reset the link or asked for an acknowledged packet again; "
		       "resetting it");
		enum kdclient_status status = resync(c, false, deadline);
		if (status != KDCLIENT_OK)
			return status;
	}
	return KDCLIENT_OK;
}

enum exchange_result { EXCHANGE_REPLIED, EXCHANGE_LOST, EXCHANGE_STOPPED_AGAIN,
		       EXCHANGE_TIMEOUT };

/*
 * Sends one request and waits for its reply, or for a sign it was lost.
 * Cut off by the engine's watchdog RESET, the request may or may not have
 * reached the target: a target that took it sends its reply again after
 * the RESET (kdcom.dll does), one that did not (or whose reply the RESET
 * abandoned, as bxkd's engine does) reports its stop again. Either is
 * awaited for a probe interval; then the link is reset again.
 */
static enum exchange_result exchange(struct kdclient *c, struct dbgkd_manipulate_state64 *m,
				     const void *data, size_t data_length, uint64_t deadline)
{
	uint64_t replied_by = UINT64_MAX, reported_by = UINT64_MAX;

	m->processor = c->last_stop.processor;
	c->sent = c->send_failed = c->send_abandoned = c->got_reply = c->stop_again = false;
	c->awaited_api = m->api_number;
	c->awaited = *m;
	if (kdcom_send(&c->k, KDCOM_TYPE_STATE_MANIPULATE, m, sizeof(*m), data, data_length,
		       bxkd_now_ms()) != KDCOM_SEND_STARTED)
		return EXCHANGE_LOST;
	for (;;) {
		uint64_t now = bxkd_now_ms();
		if (c->got_reply)
			return EXCHANGE_REPLIED;
		if (c->stop_again)
			return EXCHANGE_STOPPED_AGAIN;
		/* Acknowledged, but the ids parted since: no telling whether
		 * the target took it. */
		if (c->send_failed || now >= replied_by || now >= reported_by ||
		    (c->sent && c->ids_parted))
			return EXCHANGE_LOST;
		if (now >= deadline)
			return EXCHANGE_TIMEOUT;
		if (c->sent && replied_by == UINT64_MAX)
			replied_by = now + c->o.reply_timeout_ms;
		if (c->send_abandoned && reported_by == UINT64_MAX)
			reported_by = now + probe_interval(c);
		uint64_t next = replied_by < reported_by ? replied_by : reported_by;
		next = next < deadline ? next : deadline;
		uint64_t engine = kdcom_deadline(&c->k);
		if (engine < next)
			next = engine;
		pump(c, next <= now ? 0 : (int)(next - now > 100 ? 100 : next - now));
	}
}

/*
 * A request, asked again while the link loses it: when its reply does not
 * come in time or its send is never acknowledged, RESET (the target sends
 * its stop again) and ask again; when the target reports its stop again
 * unasked, it has gone back to waiting for requests: ask again at once.
 */
static enum kdclient_status request_with_recovery(struct kdclient *c,
						  struct dbgkd_manipulate_state64 *m,
						  const void *data, size_t data_length,
						  uint64_t deadline)
{
	c->reissued = false;
	for (uint32_t attempt = 0;; attempt++) {
		enum exchange_result r = exchange(c, m, data, data_length, deadline);
		c->awaited_api = 0;
		if (r == EXCHANGE_REPLIED)
			return KDCLIENT_OK;
		if (r == EXCHANGE_TIMEOUT)
			return KDCLIENT_TIMEOUT;
		if (attempt == c->o.attempts)
			return KDCLIENT_LINK_FAILED;
		say(c, "%s lost on the link; asking again", dbgkd_manipulate_name(m->api_number));
		if (r == EXCHANGE_LOST) {
			enum kdclient_status status = resync(c, false, deadline);
			if (status != KDCLIENT_OK)
				return status;
		}
		enum kdclient_status status = drain_answers(c, deadline);
		if (status != KDCLIENT_OK)
			return status;
		c->reissued = true;
		c->stats.reissued++;
	}
}

/*
 * A request the target carries out without replying (a Continue, a
 * reboot). Running from the acknowledgement on: its next stop (a single
 * step's, say) can come with it and must not be lost. Cut off by the
 * watchdog RESET, it may or may not have been taken: once the target has
 * stopped (it reports its stop, or a break-in stops it), it is sent again.
 */
static enum kdclient_status send_unanswered(struct kdclient *c, struct dbgkd_manipulate_state64 *m,
					    const void *data, size_t data_length, uint64_t deadline)
{
	for (uint32_t attempt = 0;; attempt++) {
		m->processor = c->last_stop.processor;
		c->sent = c->send_failed = c->send_abandoned = false;
		if (kdcom_send(&c->k, KDCOM_TYPE_STATE_MANIPULATE, m, sizeof(*m), data, data_length,
			       bxkd_now_ms()) != KDCOM_SEND_STARTED)
			return KDCLIENT_BAD_REPLY;
		c->stopped = false;
		while (!c->sent && !c->send_abandoned) {
			if (c->send_failed)
				return KDCLIENT_LINK_FAILED;
			if (bxkd_now_ms() >= deadline)
				return KDCLIENT_TIMEOUT;
			pump(c, 10);
		}
		if (c->sent)
			return KDCLIENT_OK;
		if (attempt == c->o.attempts)
			return KDCLIENT_LINK_FAILED;
		say(c, "%s cut off by a RESET; waiting for the target's stop",
		    dbgkd_manipulate_name(m->api_number));
		enum kdclient_status status = await_stop_after_abandon(c, deadline);
		if (status == KDCLIENT_OK)
			status = drain_answers(c, deadline);
		if (status != KDCLIENT_OK)
			return status;
		c->stats.reissued++;
	}
}

enum kdclient_status kdclient_request(struct kdclient *c,
				      const struct dbgkd_manipulate_state64 *request,
				      const void *data, size_t data_length,
				      struct dbgkd_manipulate_state64 *reply, void *reply_data,
				      size_t reply_capacity, size_t *reply_length,
				      uint32_t timeout_ms)
{
	uint64_t deadline = bxkd_now_ms() + timeout_ms;
	struct dbgkd_manipulate_state64 m = *request;
	enum kdclient_status status;

	*reply_length = 0;
	if (!c->stopped)
		return KDCLIENT_NOT_STOPPED;
	status = drain_answers(c, deadline);
	if (status != KDCLIENT_OK)
		return status;
	if (!answered(m.api_number))
		return send_unanswered(c, &m, data, data_length, deadline);
	struct operation op = begin_operation(c);
	status = request_with_recovery(c, &m, data, data_length, deadline);
	end_operation(c, &op);
	if (status != KDCLIENT_OK)
		return status;
	if (c->reply_length < sizeof(*reply))
		return KDCLIENT_BAD_REPLY;
	memcpy(reply, c->reply, sizeof(*reply));
	size_t extra = c->reply_length - sizeof(*reply);
	if (extra > reply_capacity)
		extra = reply_capacity;
	if (extra)
		memcpy(reply_data, c->reply + sizeof(*reply), extra);
	*reply_length = extra;
	return KDCLIENT_OK;
}

/* Whether the stop differs from `before`: the target ran. */
static bool moved_since(const struct kdclient *c, const struct dbgkd_any_wait_state_change *before)
{
	return c->last_stop.program_counter != before->program_counter ||
	       c->last_stop.u.exception.record.exception_code !=
		       before->u.exception.record.exception_code;
}

/*
 * Continue2 needs only its acknowledgement, and a running target reads no
 * packets: a Continue whose ACK was lost is sent again into the void. After
 * two unanswered sends the target is probed with a break-in (and a RESET):
 * a running one stops, a stopped one reports its stop again. Either way it
 * then waits for requests, and is continued again; a single step whose stop
 * shows the target moved has already happened.
 */
enum kdclient_status kdclient_continue(struct kdclient *c, uint32_t status, bool single_step)
{
	uint64_t deadline = bxkd_now_ms() + 10000;
	struct dbgkd_manipulate_state64 m;
	struct operation op = begin_operation(c);
	enum kdclient_status result = KDCLIENT_LINK_FAILED;

	if (!c->stopped)
		return KDCLIENT_NOT_STOPPED;
	for (uint32_t attempt = 0; attempt <= c->o.attempts; attempt++) {
		struct dbgkd_any_wait_state_change before = c->last_stop;
		result = drain_answers(c, deadline);
		if (result != KDCLIENT_OK)
			break;
		continue_request(c, &m, status, single_step);
		c->sent = c->send_failed = c->send_abandoned = false;
		uint64_t retransmissions = c->k.stats.retransmissions;
		if (kdcom_send(&c->k, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0,
			       bxkd_now_ms()) != KDCOM_SEND_STARTED) {
			result = KDCLIENT_BAD_REPLY;
			break;
		}
		c->stopped = false;
		/* Cut off by the watchdog RESET, it may be running already. */
		while (!c->sent && !c->send_failed && !c->send_abandoned && bxkd_now_ms() < deadline &&
		       c->k.stats.retransmissions - retransmissions < 2)
			pump(c, 10);
		if (c->sent) {
			result = KDCLIENT_OK;
			break;
		}
		if (c->send_abandoned) {
			say(c, "Continue cut off by a RESET; waiting for the target's stop");
			result = await_stop_after_abandon(c, deadline);
		} else {
			say(c, "Continue unacknowledged; probing the target with a break-in");
			result = resync(c, true, deadline);
		}
		if (result != KDCLIENT_OK) {
			result = result == KDCLIENT_TIMEOUT ? KDCLIENT_LINK_FAILED : result;
			break;
		}
		if (single_step && moved_since(c, &before))
			break; /* stopped where the step ended */
		result = KDCLIENT_LINK_FAILED;
	}
	end_operation(c, &op);
	return result;
}

bool kdclient_stopped(const struct kdclient *c)
{
	return c->stopped;
}

const struct dbgkd_any_wait_state_change *kdclient_last_stop(const struct kdclient *c)
{
	return &c->last_stop;
}

size_t kdclient_modules(const struct kdclient *c, const struct kdclient_module **modules)
{
	*modules = c->modules;
	return c->module_count;
}

const struct dbgkd_get_version64 *kdclient_version(const struct kdclient *c)
{
	return c->have_version ? &c->version : NULL;
}

uint16_t kdclient_machine(const struct kdclient *c)
{
	return c->have_version && c->version.machine_type == DBGKD_MACHINE_AMD64
		       ? DBGKD_MACHINE_AMD64
		       : DBGKD_MACHINE_I386;
}

bool kdclient_request_reissued(const struct kdclient *c)
{
	return c->reissued;
}

void kdclient_stats(const struct kdclient *c, struct kdclient_stats *stats)
{
	const struct kdcom_stats *k = &c->k.stats;
	uint64_t send_bound = (uint64_t)c->o.retries * c->o.resend_timeout_ms;
	uint64_t attempt = send_bound + c->o.reply_timeout_ms + 2 * probe_interval(c);
	uint64_t bound = (c->o.attempts + 1) * attempt;

	*stats = c->stats;
	stats->recovery_bound_ms = bound > UINT32_MAX ? UINT32_MAX : (uint32_t)bound;
	stats->retransmissions = k->retransmissions;
	stats->resends_requested = k->resends_requested;
	stats->duplicates = k->duplicates;
	stats->resets = k->resets;
	stats->bad_checksums = k->bad_checksums;
	stats->garbage_bytes = k->garbage_bytes;
	stats->watchdog_resets = k->watchdog_resets;
}

const struct kdep *kdclient_endpoint(const struct kdclient *c)
{
	return c->ep;
}
