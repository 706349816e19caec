/*
 * kdcom_conversation.c -- see kdcom_conversation.h.
 */
#include "config.h"

#include "kdcom_conversation.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/dbgkd.h"

#define CHANNEL_CAPACITY (1u << 20)
#define MAX_PACKETS 4096

static uint64_t next_random(uint64_t *state)
{
	/* xorshift64* */
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545F4914F6CDD1Dull;
}

/* ---- the channel ---------------------------------------------------------- */

struct channel {
	uint8_t *bytes;
	size_t start, length;
	uint64_t random;
	const struct conversation_options *o;
	unsigned quiet; /* bytes left that pass intact */
	uint64_t faults, carried;
};

static void channel_push(struct channel *c, uint8_t b)
{
	if (c->length == CHANNEL_CAPACITY)
		abort(); /* the engines never queue this much */
	c->bytes[(c->start + c->length++) % CHANNEL_CAPACITY] = b;
}

static void channel_write(struct channel *c, const uint8_t *data, size_t n)
{
	const struct conversation_options *o = c->o;

	for (size_t i = 0; i < n; i++) {
		c->carried++;
		if (c->quiet) {
			c->quiet--;
			channel_push(c, data[i]);
			continue;
		}
		uint64_t roll = next_random(&c->random) % 1000000u;
		if (roll < o->drop_ppm) {
			/* dropped */
		} else if (roll < o->drop_ppm + o->duplicate_ppm) {
			channel_push(c, data[i]);
			channel_push(c, data[i]);
		} else if (roll < o->drop_ppm + o->duplicate_ppm + o->corrupt_ppm) {
			channel_push(c, data[i] ^ (uint8_t)(1 + next_random(&c->random) % 255));
		} else {
			channel_push(c, data[i]);
			continue;
		}
		c->faults++;
		c->quiet = o->fault_gap;
	}
}

static size_t channel_read(struct channel *c, uint8_t *out)
{
	size_t n = 1 + next_random(&c->random) % c->o->max_chunk;

	if (n > c->length)
		n = c->length;
	for (size_t i = 0; i < n; i++)
		out[i] = c->bytes[(c->start + i) % CHANNEL_CAPACITY];
	c->start = (c->start + n) % CHANNEL_CAPACITY;
	c->length -= n;
	return n;
}

/* ---- what each side sent, to check what the other received --------------- */

struct packet {
	uint16_t type, length;
	uint8_t *payload;
	bool abandoned; /* a RESET cut its send off: delivered at most once */
};

struct packet_log {
	struct packet packets[MAX_PACKETS];
	unsigned sent, received;
};

/* ---- the two sides --------------------------------------------------------- */

enum target_state { T_REPORT, T_REPORTING, T_SERVE, T_REPLYING, T_PRINT, T_PRINTING, T_DONE };
enum debugger_state { D_AWAIT_REPORT, D_REQUEST, D_AWAIT_REPLY, D_CONTINUE, D_CONTINUING };

struct conversation {
	const struct conversation_options *o;
	struct conversation_result *r;
	uint64_t random; /* payload contents */
	uint64_t now, last_progress;
	uint64_t watchdog_at; /* when the debugger last reset the link itself; 0 none */
	uint64_t watchdogs_seen;
	struct kdcom target, debugger;
	struct channel to_debugger, to_target;
	struct packet_log from_target, from_debugger;
	enum target_state t;
	enum debugger_state d;
	unsigned cycle, prints_left, requests_left;
};

static void fail(struct conversation *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct conversation *c, const char *fmt, ...)
{
	va_list ap;

	if (c->r->failure[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->r->failure, sizeof(c->r->failure), fmt, ap);
	va_end(ap);
}

/* A packet of `type` whose payload starts with `api`, then random bytes. */
static void send_packet(struct conversation *c, struct kdcom *k, struct packet_log *log,
			uint16_t type, uint32_t api, size_t header)
{
	uint8_t payload[KDCOM_MAX_PAYLOAD];
	size_t extra = next_random(&c->random) % 4 ? next_random(&c->random) % 200
						   : next_random(&c->random) % (KDCOM_MAX_PAYLOAD - header + 1);
	size_t length = header + extra;

	for (size_t i = 0; i < length; i++)
		payload[i] = (uint8_t)next_random(&c->random);
	memcpy(payload, &api, 4);
	if (log->sent == MAX_PACKETS) {
		fail(c, "more than %d packets", MAX_PACKETS);
		return;
	}
	struct packet *p = &log->packets[log->sent++];
	p->type = type;
	p->length = (uint16_t)length;
	p->payload = malloc(length);
	memcpy(p->payload, payload, length);
	if (kdcom_send(k, type, payload, length, NULL, 0, c->now) != KDCOM_SEND_STARTED)
		fail(c, "send refused");
}

/* Whether `got` is `sent` with one of its 0xAA bytes doubled and its last
 * byte (0xAA) gone: what a duplicated 0xAA does to a payload that ends in
 * 0xAA, unseen by KDCOM's byte sum and trailer. */
static bool doubled_0xaa(const struct packet *sent, const struct kdcom_event *got)
{
	size_t n = sent->length, k = 0;

	if (got->type != sent->type || got->length != n || n < 2 || sent->payload[n - 1] != 0xaa)
		return false;
	while (k < n && got->payload[k] == sent->payload[k])
		k++;
	return k >= 1 && k < n && sent->payload[k - 1] == 0xaa && got->payload[k] == 0xaa &&
	       !memcmp(got->payload + k + 1, sent->payload + k, n - k - 1);
}

static bool same_packet(const struct packet *p, const struct kdcom_event *e)
{
	return p->type == e->type && p->length == e->length && !memcmp(p->payload, e->payload, p->length);
}

/* Checks a delivered packet against the next one the other side sent;
 * packets a RESET abandoned may be missing. */
static void check_delivery(struct conversation *c, struct packet_log *log,
			   const struct kdcom_event *e, const char *where)
{
	c->r->packets++;
	if (c->now - c->last_progress > c->r->longest_stall)
		c->r->longest_stall = c->now - c->last_progress;
	c->last_progress = c->now;
	if (c->watchdog_at && c->now - c->watchdog_at > c->r->longest_watchdog_recovery)
		c->r->longest_watchdog_recovery = c->now - c->watchdog_at;
	c->watchdog_at = 0;
	while (log->received < log->sent && log->packets[log->received].abandoned &&
	       !same_packet(&log->packets[log->received], e))
		log->received++;
	if (log->received >= log->sent) {
		c->r->mismatches++;
		fail(c, "%s received packet %u, only %u were sent", where, log->received + 1, log->sent);
		return;
	}
	const struct packet *p = &log->packets[log->received++];
	if (same_packet(p, e))
		return;
	if (doubled_0xaa(p, e)) {
		c->r->beyond_checksum++;
		return;
	}
	c->r->mismatches++;
	fail(c, "%s: packet %u differs from what was sent (type %u/%u, length %u/%u)", where,
	     log->received, e->type, p->type, e->length, p->length);
}

/* Every packet delivered but those a RESET abandoned. */
static bool all_delivered(const struct packet_log *log)
{
	for (unsigned i = log->received; i < log->sent; i++) {
		if (!log->packets[i].abandoned)
			return false;
	}
	return true;
}

/* The packet in flight when a RESET cut it off. */
static void abandon_last(struct conversation *c, struct packet_log *log)
{
	if (log->sent > log->received && !log->packets[log->sent - 1].abandoned) {
		log->packets[log->sent - 1].abandoned = true;
		c->r->abandoned++;
	}
}

static void report_state(struct conversation *c)
{
	send_packet(c, &c->target, &c->from_target, KDCOM_TYPE_STATE_CHANGE64,
		    DBGKD_EXCEPTION_STATE_CHANGE, sizeof(struct dbgkd_any_wait_state_change));
}

static void target_event(struct conversation *c, const struct kdcom_event *e)
{
	switch (e->kind) {
	case KDCOM_EVENT_PACKET: {
		check_delivery(c, &c->from_debugger, e, "target");
		uint32_t api;
		memcpy(&api, e->payload, 4);
		if (c->t != T_SERVE)
			fail(c, "target got a packet while not serving");
		else if (api == DBGKD_CONTINUE_API)
			c->t = T_PRINT, c->prints_left = c->o->prints;
		else
			c->t = T_REPLYING;
		kdcom_expect(&c->target, 0, 0, 0);
		if (c->t == T_REPLYING)
			send_packet(c, &c->target, &c->from_target, KDCOM_TYPE_STATE_MANIPULATE, api,
				    sizeof(struct dbgkd_manipulate_state64));
		break;
	}
	case KDCOM_EVENT_SENT:
		if (c->t == T_REPORTING || c->t == T_REPLYING)
			c->t = T_SERVE, kdcom_expect(&c->target, KDCOM_TYPE_STATE_MANIPULATE, 0, KDCOM_MAX_PAYLOAD);
		else if (c->t == T_PRINTING)
			c->t = T_PRINT;
		break;
	case KDCOM_EVENT_DROPPED:
		fail(c, "target dropped a packet");
		break;
	case KDCOM_EVENT_ABANDONED:
		/* The reply answered a request the RESET wiped out. */
		abandon_last(c, &c->from_target);
		c->t = T_SERVE;
		break;
	case KDCOM_EVENT_RESET:
		/* kd64: a receive that sees a RESET returns NeedsResend and the
		 * stopped kernel reports its state again. */
		if (c->t == T_SERVE && !kdcom_sending(&c->target)) {
			c->t = T_REPORTING;
			kdcom_expect(&c->target, 0, 0, 0);
			report_state(c);
		}
		break;
	default: /* a RESEND after our packet was acknowledged is stale */
		break;
	}
}

static void debugger_event(struct conversation *c, const struct kdcom_event *e)
{
	switch (e->kind) {
	case KDCOM_EVENT_PACKET:
		check_delivery(c, &c->from_target, e, "debugger");
		if (c->d == D_AWAIT_REPORT && e->type == KDCOM_TYPE_STATE_CHANGE64)
			c->d = D_REQUEST, c->requests_left = c->o->requests;
		else if (c->d == D_AWAIT_REPLY && e->type == KDCOM_TYPE_STATE_MANIPULATE)
			c->d = --c->requests_left ? D_REQUEST : D_CONTINUE;
		break;
	case KDCOM_EVENT_SENT:
		if (c->d == D_CONTINUING)
			c->d = D_AWAIT_REPORT;
		break;
	case KDCOM_EVENT_SEND_FAILED:
		fail(c, "debugger gave up sending");
		break;
	case KDCOM_EVENT_ABANDONED:
		/* The engine's watchdog RESET cut off what was being sent. */
	case KDCOM_EVENT_RESET:
		/* The link was reset (the watchdog's RESET answered): a request
		 * in flight or its reply is gone, and the stopped target reports
		 * its state again. */
		abandon_last(c, &c->from_debugger);
		c->d = D_AWAIT_REPORT;
		break;
	default:
		break;
	}
}

static void drive(struct conversation *c)
{
	if (c->t == T_REPORT) {
		if (c->cycle == c->o->cycles) {
			c->t = T_DONE;
		} else {
			c->cycle++;
			c->t = T_REPORTING;
			report_state(c);
		}
	} else if (c->t == T_PRINT) {
		if (!c->prints_left) {
			c->t = T_REPORT;
		} else {
			c->prints_left--;
			c->t = T_PRINTING;
			send_packet(c, &c->target, &c->from_target, KDCOM_TYPE_DEBUG_IO,
				    DBGKD_PRINT_STRING_API, sizeof(struct dbgkd_debug_io));
		}
	}
	if (c->d == D_REQUEST && !kdcom_sending(&c->debugger)) {
		c->d = D_AWAIT_REPLY;
		send_packet(c, &c->debugger, &c->from_debugger, KDCOM_TYPE_STATE_MANIPULATE,
			    DBGKD_READ_VIRTUAL_MEMORY_API, sizeof(struct dbgkd_manipulate_state64));
	} else if (c->d == D_CONTINUE && !kdcom_sending(&c->debugger)) {
		c->d = D_CONTINUING;
		send_packet(c, &c->debugger, &c->from_debugger, KDCOM_TYPE_STATE_MANIPULATE,
			    DBGKD_CONTINUE_API, sizeof(struct dbgkd_manipulate_state64));
	}
}

static void drain(struct kdcom *k, struct channel *ch)
{
	const uint8_t *bytes;
	size_t n;

	while ((n = kdcom_output(k, &bytes)) > 0) {
		channel_write(ch, bytes, n);
		kdcom_output_consumed(k, n);
	}
}

static void deliver(struct conversation *c, struct channel *ch, struct kdcom *k,
		    void (*on_event)(struct conversation *, const struct kdcom_event *))
{
	uint8_t chunk[65536];
	size_t n = channel_read(ch, chunk), used = 0;
	struct kdcom_event e;

	for (;;) {
		while (kdcom_next_event(k, &e))
			on_event(c, &e);
		if (used == n)
			break;
		used += kdcom_input(k, chunk + used, n - used, c->now);
	}
}

void conversation_options_init(struct conversation_options *o, uint64_t seed)
{
	memset(o, 0, sizeof(*o));
	o->seed = seed;
	o->fault_gap = KDCOM_MAX_FRAME + 16;
	o->max_chunk = 700;
	o->cycles = 40;
	o->requests = 5;
	o->prints = 2;
	o->resend_timeout = 100;
	o->stall_limit = 200000;
}

void conversation_run(const struct conversation_options *o, struct conversation_result *r)
{
	struct conversation *c = calloc(1, sizeof(*c));
	struct kdcom_config config;

	memset(r, 0, sizeof(*r));
	c->o = o;
	c->r = r;
	c->random = o->seed * 0x9E3779B97F4A7C15ull + 1;
	kdcom_config_init(&config, KDCOM_TARGET, o->resend_timeout);
	config.retries = 100000; /* the exemptions are tested elsewhere */
	kdcom_init(&c->target, &config);
	config.role = KDCOM_DEBUGGER;
	kdcom_init(&c->debugger, &config);
	c->to_debugger = (struct channel){ malloc(CHANNEL_CAPACITY), 0, 0, c->random ^ 1, o, 0, 0, 0 };
	c->to_target = (struct channel){ malloc(CHANNEL_CAPACITY), 0, 0, c->random ^ 2, o, 0, 0, 0 };

	while (!r->failure[0]) {
		c->now++;
		drive(c);
		drain(&c->target, &c->to_debugger);
		drain(&c->debugger, &c->to_target);
		deliver(c, &c->to_debugger, &c->debugger, debugger_event);
		deliver(c, &c->to_target, &c->target, target_event);
		if (c->debugger.stats.watchdog_resets != c->watchdogs_seen) {
			c->watchdogs_seen = c->debugger.stats.watchdog_resets;
			c->watchdog_at = c->now;
		}
		kdcom_tick(&c->target, c->now);
		kdcom_tick(&c->debugger, c->now);
		if (c->t == T_DONE && !kdcom_sending(&c->target) &&
		    all_delivered(&c->from_target) && all_delivered(&c->from_debugger)) {
			r->completed = true;
			break;
		}
		if (c->now - c->last_progress > o->stall_limit)
			fail(c, "deadlock: nothing delivered for %" PRIu64 " steps (target state %d, "
				"debugger state %d, %u/%u and %u/%u packets)",
			     o->stall_limit, c->t, c->d, c->from_target.received, c->from_target.sent,
			     c->from_debugger.received, c->from_debugger.sent);
	}
	r->steps = c->now;
	r->faults = c->to_debugger.faults + c->to_target.faults;
	r->bytes = c->to_debugger.carried + c->to_target.carried;
	r->target = c->target.stats;
	r->debugger = c->debugger.stats;
	for (unsigned i = 0; i < c->from_target.sent; i++)
		free(c->from_target.packets[i].payload);
	for (unsigned i = 0; i < c->from_debugger.sent; i++)
		free(c->from_debugger.packets[i].payload);
	free(c->to_debugger.bytes);
	free(c->to_target.bytes);
	free(c);
}
