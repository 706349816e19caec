/*
 * kdbridge.c -- the live kd host port (kdbridge.h): kdlink's blocking
 * calls, with an endpoint as their channel, the host's monotonic clock and
 * the caller's log.
 */
#include "config.h"

#include "kdbridge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kdlink.h"
#include "process.h"

struct kdbridge {
	struct kdbridge_options o;
	struct kdep *ep;
	struct kd_host_port port;
	/* The blocking calls themselves; this file is their host channel. */
	struct kdlink link;
};

#define say(b, ...) bxkd_logf(&(b)->o.log, BXKD_LOG_INFO, __VA_ARGS__)

/* ---- the endpoint as kdlink's channel ------------------------------------------ */

static void observe(struct kdbridge *b, enum kd_endpoint_event event, const void *bytes,
		    size_t length)
{
	if (b->o.observer.observe)
		b->o.observer.observe(b->o.observer.ctx, event, bytes, length);
}

/* kdep_wait, with the caller's waiting hook asked at least every
 * every_ms; the wait as a whole is the one kdlink asked for, so the link
 * sees the same whether a hook is there or not. */
static enum kdep_status wait_checking(struct kdbridge *b, int32_t wait_ms, void *buffer,
				      size_t capacity, size_t *length)
{
	const struct kdbridge_waiting *w = &b->o.waiting;

	for (;;) {
		int32_t slice = wait_ms;
		if (w->check) {
			w->check(w->ctx);
			if (wait_ms < 0 || (uint32_t)wait_ms > w->every_ms)
				slice = (int32_t)w->every_ms;
		}
		enum kdep_status status = kdep_wait(b->ep, slice, buffer, capacity, length);
		if (status != KDEP_TIMEOUT || slice == wait_ms)
			return status;
		if (wait_ms > 0)
			wait_ms -= slice;
	}
}

static enum kdlink_read_status channel_read(void *ctx, void *buffer, size_t capacity,
					    size_t *length, int32_t wait_ms)
{
	struct kdbridge *b = ctx;

	switch (wait_checking(b, wait_ms, buffer, capacity, length)) {
	case KDEP_DATA:
		/* Observed as the link takes them (channel_taken). */
		return KDLINK_READ_DATA;
	case KDEP_CONNECTED:
		observe(b, KD_ENDPOINT_ATTACHED, NULL, 0);
		return KDLINK_READ_PEER_CHANGED;
	case KDEP_DISCONNECTED:
		observe(b, KD_ENDPOINT_DETACHED, NULL, 0);
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
		observe(b, KD_ENDPOINT_TO_DEBUGGER, bytes, length);
	kdep_write(b->ep, bytes, length);
}

static void channel_taken(void *ctx, const void *bytes, size_t length)
{
	observe(ctx, KD_ENDPOINT_TO_TARGET, bytes, length);
}

static uint64_t channel_now_ms(void *ctx)
{
	(void)ctx;
	return bxkd_now_ms();
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

	if (b->o.observer.observe) {
		/* Read rather than discard, so that an observer sees what the
		 * debugger sent even when it is thrown away. */
		uint8_t stale[4096];
		size_t n;
		for (int i = 0; i < 64; i++) {
			enum kdep_status status = kdep_wait(b->ep, 0, stale, sizeof(stale), &n);
			if (status == KDEP_DATA)
				observe(b, KD_ENDPOINT_TO_TARGET, stale, n);
			else if (status != KDEP_TIMEOUT)
				observe(b, status == KDEP_CONNECTED ? KD_ENDPOINT_ATTACHED
								    : KD_ENDPOINT_DETACHED,
					NULL, 0);
			if (status != KDEP_DATA)
				break;
		}
	} else {
		kdep_discard_input(b->ep);
	}
	say(b, "debugger reset the link; packet numbering restarted");
}

/* ---- the kd host port: the bridge's calls ---------------------------------------- */

static enum kd_outcome port_send(void *ctx, uint32_t type, const uint8_t *header,
				 size_t header_length, const uint8_t *data, size_t data_length)
{
	struct kdbridge *b = ctx;

	if (type > UINT16_MAX)
		return KD_INVALID;
	enum kd_outcome outcome =
		kdlink_send(&b->link, (uint16_t)type, header, header_length, data, data_length);

	if (outcome == KD_ABANDONED) {
		say(b, "reply abandoned: the debugger reset the link before acknowledging it; "
		       "the state change is sent again");
		return KD_OK;
	}
	if (outcome == KD_DROPPED && kdlink_drops(&b->link) == 1)
		say(b, "no debugger answered; dropping debug prints and symbol loads until one "
		       "attaches");
	return outcome;
}

static enum kd_outcome port_receive(void *ctx, uint32_t type, uint8_t *header,
				    size_t header_length, uint8_t *data, size_t data_capacity,
				    size_t *data_length, uint32_t timeout_ms)
{
	struct kdbridge *b = ctx;

	if (type > UINT16_MAX)
		return KD_INVALID;
	return kdlink_receive(&b->link, (uint16_t)type, header, header_length, data, data_capacity,
			      data_length, timeout_ms);
}

static bool port_poll_breakin(void *ctx)
{
	return kdlink_poll_breakin(&((struct kdbridge *)ctx)->link);
}

static bool port_debugger_attached(void *ctx)
{
	return kdep_connected(((struct kdbridge *)ctx)->ep);
}

static bool port_debugger_present(void *ctx)
{
	return kdlink_debugger_present(&((struct kdbridge *)ctx)->link) &&
	       port_debugger_attached(ctx);
}

/* ---- opening and closing --------------------------------------------------------- */

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
		bxkd_error(error, error_size, "out of memory");
		return NULL;
	}
	b->o = *options;
	b->ep = kdep_open(&options->endpoint, &b->o.log, error, error_size);
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
		.taken = options->observer.observe ? channel_taken : NULL,
	};
	kdlink_init(&b->link, &channel, options->resend_timeout_ms, options->retries);
	kdlink_set_ack_with_reply(&b->link, options->ack_with_reply);
	b->port = (struct kd_host_port){
		.ctx = b,
		.send = port_send,
		.receive = port_receive,
		.poll_breakin = port_poll_breakin,
		.debugger_present = port_debugger_present,
		.debugger_attached = port_debugger_attached,
	};
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

const char *kdbridge_address(const struct kdbridge *b)
{
	return kdep_address(b->ep);
}

const char *kdbridge_attach_hint(const struct kdbridge *b)
{
	return kdep_attach_hint(b->ep);
}

void kdbridge_summary(const struct kdbridge *b, char *line, size_t size)
{
	const struct kdcom_stats *s = kdlink_stats(&b->link);

	snprintf(line, size,
		 "KD link: %" PRIu64 " packets sent, %" PRIu64 " received, %" PRIu64
		 " retransmitted, %" PRIu64 " resets, %" PRIu64 " break-ins, %" PRIu64
		 " damaged frames, %" PRIu64 " garbage bytes",
		 s->packets_sent, s->packets_received,
		 s->retransmissions - kdlink_unheard_retransmissions(&b->link), s->resets,
		 s->breakins, s->bad_checksums + s->bad_frames, s->garbage_bytes);
}

void kdbridge_status(const struct kdbridge *b, struct kd_status *status)
{
	const struct kdcom_stats *s = kdlink_stats(&b->link);

	*status = (struct kd_status){
		.source = KD_STATUS_DEVICE,
		.attached = kdep_connected(b->ep),
		.to_debugger = s->packets_sent,
		.from_debugger = s->packets_received,
		.retransmitted = s->retransmissions - kdlink_unheard_retransmissions(&b->link),
		.resets = s->resets,
		.breakins = s->breakins,
	};
}

const struct kd_host_port *kdbridge_port(const struct kdbridge *b)
{
	return &b->port;
}
