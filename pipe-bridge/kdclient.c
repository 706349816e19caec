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
	uint32_t awaited_api;
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

static void queue_continue(struct kdclient *c, uint32_t status, bool single_step)
{
	struct dbgkd_manipulate_state64 m;

	memset(&m, 0, sizeof(m));
	m.api_number = DBGKD_CONTINUE_API2;
	m.processor = c->last_stop.processor;
	m.u.continue2.continue_status = status;
	m.u.continue2.control_set.trace_flag = single_step;
	/* 1: leave the kernel's current-symbol range alone (ReactOS kdx86.c). */
	m.u.continue2.control_set.current_symbol_start = 1;
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
		if (c->awaited_api == api && !c->got_reply) {
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
		switch (e.kind) {
		case KDCOM_EVENT_PACKET:
			on_packet(c, &e);
			break;
		case KDCOM_EVENT_SENT:
			if (c->answering)
				c->answering = false;
			else
				c->sent = true;
			break;
		case KDCOM_EVENT_SEND_FAILED:
			if (c->answering)
				c->answering = false;
			else
				c->send_failed = true;
			break;
		case KDCOM_EVENT_RESET:
			c->reset_done = true;
			c->resetting = false;
			break;
		default:
			break;
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

enum kdclient_status kdclient_connect(struct kdclient *c, uint32_t timeout_ms)
{
	uint64_t deadline = bxkd_now_ms() + timeout_ms;
	enum kdclient_status status;

	/* A listening or reconnecting endpoint may not have its target yet. */
	while (!kdep_connected(c->ep) && bxkd_now_ms() < deadline)
		pump(c, 100);
	if (!kdep_connected(c->ep))
		return KDCLIENT_TIMEOUT;

	/* The stop may come in the same read as the RESET answer. */
	c->stopped = false;
	c->send_failed = c->reset_done = false;
	c->resetting = true;
	c->answer_count = 0;
	kdcom_send_breakin(&c->k);
	kdcom_send_reset(&c->k, bxkd_now_ms());
	status = pump_until(c, &c->reset_done, deadline);
	c->resetting = false;
	if (status != KDCLIENT_OK)
		return status;
	status = pump_until(c, &c->stopped, deadline);
	if (status != KDCLIENT_OK)
		return status;

	struct dbgkd_manipulate_state64 request, reply;
	size_t length;
	memset(&request, 0, sizeof(request));
	request.api_number = DBGKD_GET_VERSION_API;
	status = kdclient_request(c, &request, NULL, 0, &reply, NULL, 0, &length,
				  (uint32_t)(deadline > bxkd_now_ms() ? deadline - bxkd_now_ms() : 1));
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
	/* Answers owed go first; the target is waiting for nothing else. */
	while (kdcom_sending(&c->k) || c->answer_count) {
		if (bxkd_now_ms() >= deadline)
			return KDCLIENT_TIMEOUT;
		pump(c, 10);
	}
	if (!c->stopped)
		return KDCLIENT_NOT_STOPPED;
	m.processor = c->last_stop.processor;
	c->sent = c->send_failed = c->got_reply = false;
	c->awaited_api = answered(m.api_number) ? m.api_number : 0;
	if (kdcom_send(&c->k, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), data, data_length,
		       bxkd_now_ms()) != KDCOM_SEND_STARTED)
		return KDCLIENT_BAD_REPLY;
	if (!c->awaited_api) {
		/* Running from here on: its next stop (a single step's, say) can
		 * come with the acknowledgement and must not be lost. */
		c->stopped = false;
		return pump_until(c, &c->sent, deadline);
	}
	status = pump_until(c, &c->got_reply, deadline);
	c->awaited_api = 0;
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

enum kdclient_status kdclient_continue(struct kdclient *c, uint32_t status, bool single_step)
{
	struct dbgkd_manipulate_state64 m, unused;
	size_t length;

	memset(&m, 0, sizeof(m));
	m.api_number = DBGKD_CONTINUE_API2;
	m.u.continue2.continue_status = status;
	m.u.continue2.control_set.trace_flag = single_step;
	m.u.continue2.control_set.current_symbol_start = 1;
	return kdclient_request(c, &m, NULL, 0, &unused, NULL, 0, &length, 10000);
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

const struct kdep *kdclient_endpoint(const struct kdclient *c)
{
	return c->ep;
}
