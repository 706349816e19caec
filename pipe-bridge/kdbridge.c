/*
 * kdbridge.c -- KdSendPacket / KdReceivePacket semantics over an endpoint
 * (see kdbridge.h): kdlink's blocking calls, with the endpoint as their
 * channel, the host's monotonic clock, and the bridge's log.
 */
#include "config.h"

#include "kdbridge.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kdlink.h"

struct kdbridge {
	struct kdbridge_options o;
	struct kdep *ep;
	/* The blocking calls themselves; this file is their host channel. */
	struct kdlink link;
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

/* ---- the endpoint as kdlink's channel ------------------------------------------ */

static void observe(struct kdbridge *b, enum kdbridge_event event, const void *bytes,
		    size_t length)
{
	if (b->o.observer)
		b->o.observer->observe(b->o.observer->ctx, event, bytes, length);
}

static enum kdlink_read_status channel_read(void *ctx, void *buffer, size_t capacity,
					    size_t *length, int32_t wait_ms)
{
	struct kdbridge *b = ctx;

	switch (kdep_wait(b->ep, wait_ms, buffer, capacity, length)) {
	case KDEP_DATA:
		/* Observed as the link takes them (channel_taken). */
		return KDLINK_READ_DATA;
	case KDEP_CONNECTED:
		observe(b, KDBRIDGE_ATTACHED, NULL, 0);
		return KDLINK_READ_PEER_CHANGED;
	case KDEP_DISCONNECTED:
		observe(b, KDBRIDGE_DETACHED, NULL, 0);
		return KDLINK_READ_PEER_CHANGED;
	case KDEP_TIMEOUT:
		break;
	}
	return KDLINK_READ_NOTHING;
}

/* Bytes that reach nobody (no debugger attached) are not observed: they
 * never crossed. */
static void channel_write(void *ctx, const void *bytes, size_t length)
{
	struct kdbridge *b = ctx;

	if (kdep_connected(b->ep))
		observe(b, KDBRIDGE_TO_DEBUGGER, bytes, length);
	kdep_write(b->ep, bytes, length);
}

static void channel_taken(void *ctx, const void *bytes, size_t length)
{
	observe(ctx, KDBRIDGE_TO_TARGET, bytes, length);
}

static uint64_t channel_now_ms(void *ctx)
{
	struct timespec t;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Our own pty has no way to tell whether anyone is at the other end; any
 * other endpoint knows when nobody is. */
static bool channel_peer_absent(void *ctx)
{
	struct kdbridge *b = ctx;

	return b->o.endpoint.mode != KDEP_PTY && !kdep_connected(b->ep);
}

static void channel_link_reset(void *ctx)
{
	struct kdbridge *b = ctx;

	if (b->o.observer) {
		/* Read rather than discard, so that an observer sees what the
		 * debugger sent even when it is thrown away. */
		uint8_t stale[4096];
		size_t n;
		for (int i = 0; i < 64; i++) {
			enum kdep_status status = kdep_wait(b->ep, 0, stale, sizeof(stale), &n);
			if (status == KDEP_DATA)
				observe(b, KDBRIDGE_TO_TARGET, stale, n);
			else if (status != KDEP_TIMEOUT)
				observe(b, status == KDEP_CONNECTED ? KDBRIDGE_ATTACHED
								    : KDBRIDGE_DETACHED,
					NULL, 0);
			if (status != KDEP_DATA)
				break;
		}
	} else {
		kdep_discard_input(b->ep);
	}
	say(b, "debugger reset the link; packet numbering restarted");
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
	const struct kdlink_channel channel = {
		.ctx = b,
		.read = channel_read,
		.write = channel_write,
		.now_ms = channel_now_ms,
		.peer_absent = channel_peer_absent,
		.link_reset = channel_link_reset,
		.taken = options->observer ? channel_taken : NULL,
	};
	kdlink_init(&b->link, &channel, options->resend_timeout_ms, options->retries);
	return b;
}

void kdbridge_close(struct kdbridge *b)
{
	if (!b)
		return;
	if (kdlink_drops(&b->link))
		say(b, "%llu packets were dropped for want of a debugger",
		    (unsigned long long)kdlink_drops(&b->link));
	kdep_close(b->ep);
	free(b);
}

/* The two enums say the same things; kdbridge.h keeps its own names. */
static enum kdbridge_status from_link(enum kdlink_status status)
{
	switch (status) {
	case KDLINK_OK:
		return KDBRIDGE_OK;
	case KDLINK_DROPPED:
		return KDBRIDGE_DROPPED;
	case KDLINK_ABANDONED:
		return KDBRIDGE_ABANDONED;
	case KDLINK_TIMED_OUT:
		return KDBRIDGE_TIMED_OUT;
	case KDLINK_NEEDS_RESEND:
		return KDBRIDGE_NEEDS_RESEND;
	case KDLINK_INVALID:
		break;
	}
	return KDBRIDGE_INVALID;
}

enum kdbridge_status kdbridge_send(struct kdbridge *b, uint16_t type, const void *header,
				   size_t header_length, const void *data, size_t data_length)
{
	enum kdlink_status status =
		kdlink_send(&b->link, type, header, header_length, data, data_length);

	if (status == KDLINK_ABANDONED)
		say(b, "reply abandoned: the debugger reset the link before acknowledging it; "
		       "the state change is sent again");
	if (status == KDLINK_DROPPED && kdlink_drops(&b->link) == 1)
		say(b, "no debugger answered; dropping debug prints and symbol loads until one "
		       "attaches");
	return from_link(status);
}

enum kdbridge_status kdbridge_receive(struct kdbridge *b, uint16_t type, void *header,
				      size_t header_length, void *data, size_t data_capacity,
				      size_t *data_length, uint32_t timeout_ms)
{
	return from_link(kdlink_receive(&b->link, type, header, header_length, data,
					data_capacity, data_length, timeout_ms));
}

bool kdbridge_poll_breakin(struct kdbridge *b)
{
	return kdlink_poll_breakin(&b->link);
}

bool kdbridge_debugger_attached(const struct kdbridge *b)
{
	return kdep_connected(b->ep);
}

bool kdbridge_debugger_answers(const struct kdbridge *b)
{
	return kdlink_debugger_present(&b->link) && kdbridge_debugger_attached(b);
}

uint64_t kdbridge_unheard_retransmissions(const struct kdbridge *b)
{
	return kdlink_unheard_retransmissions(&b->link);
}

const struct kdcom_stats *kdbridge_stats(const struct kdbridge *b)
{
	return kdlink_stats(&b->link);
}

const struct kdep *kdbridge_endpoint(const struct kdbridge *b)
{
	return b->ep;
}
