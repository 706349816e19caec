/*
 * kdwin_faults.c -- kd-win-target's faulty line (kdwin_faults.h).
 */
#include "config.h"

#include "kdwin_faults.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bxkd/byteorder.h"
#include "bxkd/dbgkd.h"

const char kdwin_fault_names[] = "ack-out,ack-in,lose,duplicate,garbage,corrupt,reset,all";

static const struct {
	const char *name;
	unsigned kinds;
} kinds[] = {
	{ "ack-out", KDWIN_ACK_OUT },	  { "ack-in", KDWIN_ACK_IN },	{ "lose", KDWIN_LOSE },
	{ "duplicate", KDWIN_DUPLICATE }, { "garbage", KDWIN_GARBAGE }, { "corrupt", KDWIN_CORRUPT },
	{ "reset", KDWIN_RESET },	  { "all", 0x7f },
};

void kdwin_faults_init(struct kdwin_faults *f)
{
	memset(f, 0, sizeof(*f));
}

bool kdwin_faults_parse_kinds(struct kdwin_faults *f, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t length = strcspn(p, ",");
		bool known = false;
		for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++) {
			if (strlen(kinds[i].name) == length && !strncmp(kinds[i].name, p, length)) {
				f->kinds |= kinds[i].kinds;
				known = true;
			}
		}
		if (!known)
			return false;
		p += length + (p[length] == ',');
	}
	return true;
}

bool kdwin_faults_parse_rate(struct kdwin_faults *f, const char *text)
{
	char *end;
	double percent = strtod(text, &end);

	if (*end || percent < 0 || percent > 100)
		return false;
	f->rate_ppm = (uint32_t)(percent * 10000.0 + 0.5);
	return true;
}

bool kdwin_faults_lose(struct kdwin_faults *f, const char *api, bool reply_too)
{
	for (uint32_t number = DBGKD_READ_VIRTUAL_MEMORY_API; number < DBGKD_MAXIMUM_MANIPULATE;
	     number++) {
		if (!strcmp(dbgkd_manipulate_name(number), api)) {
			f->lose_api = number;
			f->lose_reply = reply_too;
			f->lose_armed = true;
			return true;
		}
	}
	return false;
}

/* splitmix64 of the seed, then xorshift64*: the same seed, the same draws. */
void kdwin_faults_start(struct kdwin_faults *f)
{
	uint64_t z = f->seed + 0x9E3779B97F4A7C15ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	f->state = (z ^ (z >> 31)) | 1;
}

static uint64_t next_random(struct kdwin_faults *f)
{
	f->state ^= f->state >> 12;
	f->state ^= f->state << 25;
	f->state ^= f->state >> 27;
	return f->state * 0x2545F4914F6CDD1Dull;
}

/* A fault of this kind on this unit? */
static bool draw(struct kdwin_faults *f, unsigned kind)
{
	if (!(f->kinds & kind))
		return false;
	return next_random(f) % 1000000u < f->rate_ppm;
}

void kdwin_faults_packet(struct kdwin_faults *f, uint32_t api)
{
	if (f->lose_armed && api == f->lose_api) {
		f->lose_armed = false;
		f->muting_acks = true;
		f->muting_replies = f->lose_reply;
	}
}

void kdwin_faults_reply_dropped(struct kdwin_faults *f)
{
	if (f->muting_replies)
		f->muting_acks = f->muting_replies = false;
}

void kdwin_faults_link_reset(struct kdwin_faults *f)
{
	f->muting_acks = f->muting_replies = false;
}

void kdwin_faults_stopped(struct kdwin_faults *f)
{
	if (!f->muting_replies)
		f->muting_acks = false;
}

bool kdwin_faults_draw_reset(struct kdwin_faults *f)
{
	if (!draw(f, KDWIN_RESET))
		return false;
	f->counts.resets++;
	return true;
}

/* ---- units --------------------------------------------------------------------- */

/* The length of the unit at the start of `b`, 0 while it is incomplete: a
 * frame, or one byte that starts none (a break-in, a stray byte). */
static size_t unit_length(const uint8_t *b, size_t n)
{
	if (n == 0)
		return 0;
	if (b[0] != KDCOM_DATA_LEADER_BYTE && b[0] != KDCOM_CONTROL_LEADER_BYTE)
		return 1;
	for (size_t i = 1; i < 4; i++) {
		if (i == n)
			return 0;
		if (b[i] != b[0])
			return 1;
	}
	if (n < KDCOM_HEADER_SIZE)
		return 0;
	if (b[0] == KDCOM_CONTROL_LEADER_BYTE)
		return KDCOM_HEADER_SIZE;
	size_t count = le_get16(b + 6);
	if (count > KDCOM_MAX_PAYLOAD)
		return 1;
	size_t total = KDCOM_HEADER_SIZE + count + 1;
	return n >= total ? total : 0;
}

static bool is_data(const uint8_t *b, size_t n)
{
	return n > KDCOM_HEADER_SIZE && b[0] == KDCOM_DATA_LEADER_BYTE;
}

static bool is_ack(const uint8_t *b, size_t n)
{
	return n == KDCOM_HEADER_SIZE && b[0] == KDCOM_CONTROL_LEADER_BYTE &&
	       le_get16(b + 4) == KDCOM_TYPE_ACKNOWLEDGE;
}

static void append(struct kdwin_stream *s, const uint8_t *bytes, size_t length)
{
	if (length > sizeof(s->bytes) - s->length) {
		/* Never with kdep's reads; a flood only loses its oldest bytes. */
		size_t drop = length - (sizeof(s->bytes) - s->length);
		drop = drop < s->length ? drop : s->length;
		memmove(s->bytes, s->bytes + drop, s->length - drop);
		s->length -= drop;
		if (length > sizeof(s->bytes))
			bytes += length - sizeof(s->bytes), length = sizeof(s->bytes);
	}
	memcpy(s->bytes + s->length, bytes, length);
	s->length += length;
}

static void consume(struct kdwin_stream *s, size_t length)
{
	memmove(s->bytes, s->bytes + length, s->length - length);
	s->length -= length;
}

typedef bool (*unit_sink)(void *ctx, const uint8_t *bytes, size_t length);

/* Stray bytes that can start no frame and are no break-in. */
static size_t garbage(struct kdwin_faults *f, uint8_t *out)
{
	size_t n = 1 + next_random(f) % 8;

	for (size_t i = 0; i < n; i++) {
		uint8_t b = (uint8_t)next_random(f);
		if (b == KDCOM_DATA_LEADER_BYTE || b == KDCOM_CONTROL_LEADER_BYTE ||
		    b == KDCOM_BREAKIN_BYTE)
			b = 0x55;
		out[i] = b;
	}
	return n;
}

static void trace(struct kdwin_faults *f, bool outgoing, const uint8_t *unit, size_t n,
		  const char *fault)
{
	if (f->trace)
		f->trace(f->trace_ctx, outgoing, unit, n, fault);
}

/* One unit through the faults one way; false if sink() said stop. */
static bool faulty_unit(struct kdwin_faults *f, bool outgoing, const uint8_t *unit, size_t n,
			unit_sink sink, void *ctx)
{
	static uint8_t copy[KDCOM_MAX_FRAME];
	bool data = is_data(unit, n), ack = is_ack(unit, n);
	uint8_t stray[8];

	if (outgoing && ((ack && f->muting_acks) || (data && f->muting_replies))) {
		f->counts.scripted++;
		trace(f, outgoing, unit, n, "lost (scripted)");
		return true;
	}
	if (ack && draw(f, outgoing ? KDWIN_ACK_OUT : KDWIN_ACK_IN)) {
		outgoing ? f->counts.ack_out++ : f->counts.ack_in++;
		trace(f, outgoing, unit, n, "lost");
		return true;
	}
	if (draw(f, KDWIN_GARBAGE)) {
		f->counts.garbage++;
		size_t length = garbage(f, stray);
		trace(f, outgoing, stray, length, "garbage");
		sink(ctx, stray, length);
	}
	if (!data) {
		trace(f, outgoing, unit, n, "");
		return sink(ctx, unit, n);
	}
	if (draw(f, KDWIN_LOSE)) {
		f->counts.lost++;
		trace(f, outgoing, unit, n, "lost");
		return true;
	}
	bool corrupt = draw(f, KDWIN_CORRUPT);
	if (corrupt) {
		f->counts.corrupted++;
		memcpy(copy, unit, n);
		copy[KDCOM_HEADER_SIZE + next_random(f) % (n - KDCOM_HEADER_SIZE - 1)] ^= 0x5a;
		unit = copy;
	}
	trace(f, outgoing, unit, n, corrupt ? "corrupted" : "");
	bool go_on = sink(ctx, unit, n);
	if (go_on && draw(f, KDWIN_DUPLICATE)) {
		f->counts.duplicated++;
		trace(f, outgoing, unit, n, "duplicated");
		go_on = sink(ctx, unit, n);
	}
	return go_on;
}

struct writer {
	void (*write)(void *ctx, const uint8_t *bytes, size_t length);
	void *ctx;
};

static bool write_unit(void *ctx, const uint8_t *bytes, size_t length)
{
	struct writer *w = ctx;

	w->write(w->ctx, bytes, length);
	return true;
}

void kdwin_faults_output(struct kdwin_faults *f, const uint8_t *bytes, size_t length,
			 void (*write)(void *ctx, const uint8_t *bytes, size_t length), void *ctx)
{
	struct writer w = { write, ctx };
	size_t n;

	append(&f->out, bytes, length);
	while ((n = unit_length(f->out.bytes, f->out.length)) > 0) {
		faulty_unit(f, true, f->out.bytes, n, write_unit, &w);
		consume(&f->out, n);
	}
}

void kdwin_faults_input(struct kdwin_faults *f, const uint8_t *bytes, size_t length)
{
	append(&f->in, bytes, length);
}

bool kdwin_faults_input_pending(const struct kdwin_faults *f)
{
	return unit_length(f->in.bytes, f->in.length) > 0;
}

void kdwin_faults_deliver(struct kdwin_faults *f,
			  bool (*take)(void *ctx, const uint8_t *bytes, size_t length), void *ctx)
{
	static uint8_t unit[KDCOM_MAX_FRAME];
	size_t n;

	while ((n = unit_length(f->in.bytes, f->in.length)) > 0) {
		/* Taken out first: take() may feed the engine, which answers. */
		memcpy(unit, f->in.bytes, n);
		consume(&f->in, n);
		if (!faulty_unit(f, false, unit, n, take, ctx))
			return;
	}
}

void kdwin_faults_line_restarted(struct kdwin_faults *f)
{
	f->in.length = 0;
	f->out.length = 0;
}

void kdwin_faults_report(const struct kdwin_fault_counts *c, struct json_object *report)
{
	/* In the order of struct kdwin_fault_counts. */
	static const char *const names[] = { "ack_out",	  "ack_in",  "lost",	 "duplicated",
					     "garbage",	  "corrupted", "resets", "scripted",
					     "swallowed" };
	uint64_t count[sizeof(names) / sizeof(*names)];
	struct json_object *faults = json_object_new_object();

	_Static_assert(sizeof(*c) == sizeof(count), "a name for each count");
	memcpy(count, c, sizeof(count));
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		json_object_object_add(faults, names[i], json_object_new_uint64(count[i]));
	json_object_object_add(report, "faults", faults);
}
