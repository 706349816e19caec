/*
 * kdbridge.c -- KdSendPacket / KdReceivePacket semantics over an endpoint
 * (see kdbridge.h).
 */
#include "config.h"

#include "kdbridge.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kdbridge {
	struct kdbridge_options o;
	struct kdep *ep;
	struct kdcom k;
	/* Added to the clock while no debugger can answer, so the engine's
	 * retries run out at once instead of after 20 timeouts of silence. */
	uint64_t skew_ms;
	/* Bytes read but not yet given to the engine: input stops at each
	 * event, and what follows must wait for the stub's next call (a
	 * request right behind the ACK for our reply, say). */
	uint8_t input[4096];
	size_t input_start, input_length;
	/* What the call in progress is waiting for. */
	bool sent, dropped, abandoned, reset, received;
	/* A RESET cut off the reply being sent: the stub's next receive
	 * returns NeedsResend, so the new session gets its state change. */
	bool resend_owed;
	uint8_t packet[KDCOM_MAX_PAYLOAD];
	size_t packet_length;
	uint64_t drops;
	/* Retransmissions made while nobody could hear them: not the link's
	 * fault, so not reported as its losses. */
	uint64_t unheard;
};

static void say(struct kdbridge *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct kdbridge *b, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	if (!b->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	b->o.log(b->o.log_ctx, message);
}

static void endpoint_log(void *ctx, const char *message)
{
	say(ctx, "%s", message);
}

static uint64_t clock_ms(const struct kdbridge *b)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000 + b->skew_ms;
}

const char *kdbridge_status_name(enum kdbridge_status status)
{
	switch (status) {
	case KDBRIDGE_OK:
		return "ok";
	case KDBRIDGE_DROPPED:
		return "dropped, no debugger";
	case KDBRIDGE_ABANDONED:
		return "abandoned by a RESET";
	case KDBRIDGE_TIMED_OUT:
		return "timed out";
	case KDBRIDGE_NEEDS_RESEND:
		return "needs resend";
	case KDBRIDGE_INVALID:
		return "invalid";
	}
	return "?";
}

void kdbridge_options_init(struct kdbridge_options *o)
{
	memset(o, 0, sizeof(*o));
	o->resend_timeout_ms = 250;
	o->retries = 20;
}

struct kdbridge *kdbridge_open(const struct kdbridge_options *options, char *error,
			       size_t error_size)
{
	struct kdbridge *b = calloc(1, sizeof(*b));
	struct kdcom_config config;

	if (!b) {
		snprintf(error, error_size, "out of memory");
		return NULL;
	}
	b->o = *options;
	b->ep = kdep_open(&options->endpoint, endpoint_log, b, error, error_size);
	if (!b->ep) {
		free(b);
		return NULL;
	}
	kdcom_config_init(&config, KDCOM_TARGET, options->resend_timeout_ms);
	config.retries = options->retries;
	kdcom_init(&b->k, &config);
	return b;
}

void kdbridge_close(struct kdbridge *b)
{
	if (!b)
		return;
	if (b->drops)
		say(b, "%llu packets were dropped for want of a debugger",
		    (unsigned long long)b->drops);
	kdep_close(b->ep);
	free(b);
}

static void flush(struct kdbridge *b)
{
	const uint8_t *bytes;
	size_t n;

	while ((n = kdcom_output(&b->k, &bytes)) > 0) {
		kdep_write(b->ep, bytes, n);
		kdcom_output_consumed(&b->k, n);
	}
}

/* Returns true when the rest of the input is stale. */
static bool take_event(struct kdbridge *b, const struct kdcom_event *e)
{
	switch (e->kind) {
	case KDCOM_EVENT_SENT:
		b->sent = true;
		break;
	case KDCOM_EVENT_DROPPED:
		b->dropped = true;
		break;
	case KDCOM_EVENT_ABANDONED:
		b->abandoned = true;
		break;
	case KDCOM_EVENT_PACKET:
		memcpy(b->packet, e->payload, e->length);
		b->packet_length = e->length;
		b->received = true;
		/* One packet per call: any more wait, unacknowledged, for the next. */
		kdcom_expect(&b->k, 0, 0, 0);
		break;
	case KDCOM_EVENT_RESET:
		b->reset = true;
		/* What the debugger sent before its RESET reached us is stale:
		 * more RESETs, usually, which would bounce the link forever. */
		kdep_discard_input(b->ep);
		say(b, "debugger reset the link; packet numbering restarted");
		return true;
	default:
		/* RESEND after our packet was acknowledged asks for a copy
		 * that arrived damaged; the debugger has the packet already.
		 * BREAKIN stays pending in the engine for the next poll. */
		break;
	}
	return false;
}

/* Gives the engine buffered bytes until it reports something; the rest
 * stays buffered for the next look. */
static void feed_buffered(struct kdbridge *b)
{
	struct kdcom_event e;
	bool any = false;

	while (b->input_length && !any) {
		size_t used = kdcom_input(&b->k, b->input + b->input_start, b->input_length,
					  clock_ms(b));
		b->input_start += used;
		b->input_length -= used;
		while (kdcom_next_event(&b->k, &e)) {
			any = true;
			if (take_event(b, &e))
				b->input_length = 0;
		}
	}
	if (!b->input_length)
		b->input_start = 0;
}

/* Moves bytes both ways for up to wait_ms (-1: until something happens). */
static void pump(struct kdbridge *b, int wait_ms)
{
	size_t n;
	struct kdcom_event e;

	flush(b);
	if (b->input_length) {
		feed_buffered(b);
	} else {
		switch (kdep_wait(b->ep, wait_ms, b->input, sizeof(b->input), &n)) {
		case KDEP_DATA:
			b->input_start = 0;
			b->input_length = n;
			feed_buffered(b);
			break;
		case KDEP_CONNECTED:
		case KDEP_DISCONNECTED:
			/* Half a frame from the last debugger, or bytes meant for
			 * it, mean nothing to the next one. */
			kdcom_discard_output(&b->k);
			kdcom_restart_input(&b->k);
			break;
		case KDEP_TIMEOUT:
			break;
		}
	}
	kdcom_tick(&b->k, clock_ms(b));
	while (kdcom_next_event(&b->k, &e))
		take_event(b, &e);
	flush(b);
}

/* Milliseconds until the engine or the caller's deadline needs us. */
static int wait_for(const struct kdbridge *b, uint64_t deadline)
{
	uint64_t engine = kdcom_deadline(&b->k);
	uint64_t next = engine < deadline ? engine : deadline;
	uint64_t now = clock_ms(b);

	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : next - now > 60000 ? 60000 : (int)(next - now);
}

/* Our own pty has no way to tell whether anyone is at the other end; any
 * other endpoint knows when nobody is. */
static bool nobody_can_answer(const struct kdbridge *b)
{
	return b->o.endpoint.mode != KDEP_PTY && !kdep_connected(b->ep);
}

enum kdbridge_status kdbridge_send(struct kdbridge *b, uint16_t type, const void *header,
				   size_t header_length, const void *data, size_t data_length)
{
	if (kdcom_send(&b->k, type, header, header_length, data, data_length, clock_ms(b)) !=
	    KDCOM_SEND_STARTED)
		return KDBRIDGE_INVALID;
	b->sent = b->dropped = b->abandoned = false;
	while (!b->sent && !b->dropped && !b->abandoned) {
		if (!nobody_can_answer(b)) {
			pump(b, wait_for(b, UINT64_MAX));
			continue;
		}
		uint64_t before = b->k.stats.retransmissions;
		if (kdcom_retries_exhausted(&b->k)) {
			/* A packet that must be delivered waits for a debugger. */
			pump(b, -1);
		} else {
			uint64_t deadline = kdcom_deadline(&b->k), now = clock_ms(b);
			if (deadline != UINT64_MAX && deadline > now)
				b->skew_ms += deadline - now;
			pump(b, 0);
		}
		b->unheard += b->k.stats.retransmissions - before;
	}
	if (b->abandoned) {
		say(b, "reply abandoned: the debugger reset the link before acknowledging it; "
		       "the state change is sent again");
		b->resend_owed = true;
		return KDBRIDGE_ABANDONED;
	}
	if (b->dropped && b->drops++ == 0)
		say(b, "no debugger answered; dropping debug prints and symbol loads until one "
		       "attaches");
	return b->sent ? KDBRIDGE_OK : KDBRIDGE_DROPPED;
}

enum kdbridge_status kdbridge_receive(struct kdbridge *b, uint16_t type, void *header,
				      size_t header_length, void *data, size_t data_capacity,
				      size_t *data_length, uint32_t timeout_ms)
{
	if (header_length > KDCOM_MAX_PAYLOAD || type == KDCOM_TYPE_UNUSED ||
	    type >= KDCOM_TYPE_MAX)
		return KDBRIDGE_INVALID;
	*data_length = 0;
	if (b->resend_owed) {
		b->resend_owed = false;
		return KDBRIDGE_NEEDS_RESEND;
	}
	b->received = b->reset = false;
	kdcom_expect(&b->k, type, header_length, header_length + data_capacity);
	uint64_t deadline = clock_ms(b) + timeout_ms;
	while (!b->received && !b->reset && clock_ms(b) < deadline)
		pump(b, wait_for(b, deadline));
	kdcom_expect(&b->k, 0, 0, 0);

	if (b->received) {
		/* The engine took only lengths within [header_length,
		 * header_length + data_capacity]. */
		memcpy(header, b->packet, header_length);
		*data_length = b->packet_length - header_length;
		if (*data_length)
			memcpy(data, b->packet + header_length, *data_length);
		return KDBRIDGE_OK;
	}
	return b->reset ? KDBRIDGE_NEEDS_RESEND : KDBRIDGE_TIMED_OUT;
}

bool kdbridge_poll_breakin(struct kdbridge *b)
{
	pump(b, 0);
	return kdcom_take_breakin(&b->k);
}

bool kdbridge_debugger_attached(const struct kdbridge *b)
{
	return kdep_connected(b->ep);
}

bool kdbridge_debugger_answers(const struct kdbridge *b)
{
	return b->k.debugger_present && kdbridge_debugger_attached(b);
}

uint64_t kdbridge_unheard_retransmissions(const struct kdbridge *b)
{
	return b->unheard;
}

const struct kdcom_stats *kdbridge_stats(const struct kdbridge *b)
{
	return &b->k.stats;
}

const struct kdep *kdbridge_endpoint(const struct kdbridge *b)
{
	return b->ep;
}
