/*
 * player.c -- replaying a session against the guest (see player.h).
 */
#include "config.h"

#include "player.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/backdoor.h"
#include "bxkd/kdvm.h"
#include "replay_describe.h"
#include "vcpu_tap.h"

/* Crossings shown before the divergent one. */
#define CONTEXT_RECORDS 6

/* The file keeps the device's results as they are. */

struct player {
	const struct session_record *records;
	size_t count;
	uint16_t kd_command;
	size_t next;	  /* the next record to match */
	uint32_t matched; /* records replayed without a difference */
	bool diverged, complete;
	/* The recording stops short (cut off, or its END says interrupted):
	 * the guest getting past its last record is where checking ends. */
	bool cut, reached_cut;
	char *report;
	size_t report_length, report_capacity;

	/* The call in progress. */
	bool in_call;
	struct vcpu_tap tap;
	const struct session_record *call;
	size_t call_index;
	uint32_t access_index;
	uint64_t tick;

	struct kd_host_port port;
};

/* ---- the report ------------------------------------------------------------------- */

static void say(struct player *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct player *p, const char *fmt, ...)
{
	va_list ap;

	for (;;) {
		size_t room = p->report_capacity - p->report_length;
		va_start(ap, fmt);
		int n = vsnprintf(p->report ? p->report + p->report_length : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			p->report_length += (size_t)n;
			return;
		}
		size_t capacity = (p->report_capacity + (size_t)n + 1) * 2;
		char *grown = realloc(p->report, capacity);
		if (!grown)
			return;
		p->report = grown;
		p->report_capacity = capacity;
	}
}

/* Rows of 16 bytes around the first difference, recorded over what came. */
static void hex_diff(struct player *p, const uint8_t *expected, size_t expected_length,
		     const uint8_t *came, size_t came_length)
{
	size_t shorter = expected_length < came_length ? expected_length : came_length;
	size_t first = 0;

	while (first < shorter && expected[first] == came[first])
		first++;
	if (first == shorter && expected_length == came_length)
		return;
	say(p, "  first difference at byte %zu (0x%zx) of %zu recorded, %zu now:\n", first, first,
	    expected_length, came_length);
	size_t from = first / 16 * 16, to = from + 48;
	for (size_t row = from; row < to && (row < expected_length || row < came_length);
	     row += 16) {
		for (int which = 0; which < 2; which++) {
			const uint8_t *b = which ? came : expected;
			size_t n = which ? came_length : expected_length;
			say(p, "    %s %04zx:", which ? "now     " : "recorded", row);
			for (size_t i = row; i < row + 16; i++) {
				if (i < n)
					say(p, "%s%02x", i < shorter && expected[i] != came[i] ? "*" : " ",
					    b[i]);
				else
					say(p, "   ");
			}
			say(p, "\n");
		}
	}
}

static void context(struct player *p, size_t at)
{
	char line[512];
	size_t from = at > CONTEXT_RECORDS ? at - CONTEXT_RECORDS : 0;

	say(p, "  the crossings before it:\n");
	for (size_t i = from; i < at && i < p->count; i++) {
		replay_describe_record(&p->records[i], p->kd_command, line, sizeof(line));
		say(p, "    #%u %s\n", p->records[i].h.sequence, line);
	}
}

/* A divergence or the cut: nothing after it is checked. */
static bool stopped(const struct player *p)
{
	return p->diverged || p->reached_cut;
}

/* The first difference: everything after it is moot. */
static bool diverge_start(struct player *p, size_t record_index, const char *what)
{
	if (stopped(p))
		return false;
	p->diverged = true;
	uint64_t recorded_tick = record_index < p->count ? p->records[record_index].h.tick : 0;
	say(p, "replay diverged at record #%zu, tick %" PRIu64 " (recorded at %" PRIu64
	       ", %+" PRId64 "):\n  %s\n",
	    record_index < p->count ? (size_t)p->records[record_index].h.sequence : record_index,
	    p->tick, recorded_tick, (int64_t)(p->tick - recorded_tick), what);
	return true;
}

/* ---- walking the records ---------------------------------------------------------- */

/* Endpoint bytes are the debugger's side of things: the guest never sees
 * them, so they are passed over (and count as replayed). */
static const struct session_record *next_crossing(struct player *p, size_t *index)
{
	while (p->next < p->count && p->records[p->next].h.kind == SESSION_ENDPOINT) {
		p->next++;
		p->matched++;
	}
	*index = p->next;
	return p->next < p->count ? &p->records[p->next] : NULL;
}

static const char *kind_now(const struct session_record *r)
{
	return r ? session_kind_name(r->h.kind) : "the end of the file";
}

/* The guest wants a crossing the recording has no more of because it
 * was cut short: every record before was matched; stop here. */
static bool at_cut(struct player *p, const struct session_record *r)
{
	char value[64];

	if (!p->cut || (r && r->h.kind != SESSION_END) || stopped(p))
		return false;
	p->reached_cut = true;
	say(p, "replay matched %u records up to the cut: ", p->matched);
	if (!r) {
		const struct session_record *last = &p->records[p->count - 1];
		say(p, "the recording was cut off after record #%u (tick %" PRIu64 ")", last->h.sequence,
		    last->h.tick);
	} else {
		session_text_value(r, "interrupted", value, sizeof(value));
		say(p, "the recording was interrupted (%s) at tick %" PRIu64, value, r->h.tick);
		if (session_text_value(r, "interrupted_call_tick", value, sizeof(value)))
			say(p, " in the backdoor call of tick %s", value);
	}
	say(p, "; the guest went on at tick %" PRIu64 "\n", p->tick);
	return true;
}

/* ---- the guest's side -------------------------------------------------------------- */

/* The next memory access the recording has for this call, compared with
 * the one the device makes now. */
static void check_access(void *owner, uint64_t address, const void *bytes, size_t length,
			 bool write, bool ok)
{
	struct player *p = owner;
	struct session_access want;
	const uint8_t *want_bytes;
	char what[300], decoded[1024];

	if (stopped(p) || !p->call)
		return;
	uint32_t index = p->access_index++;
	if (!session_backdoor_access(p->call, index, &want, &want_bytes)) {
		snprintf(what, sizeof(what),
			 "the device %s %zu bytes of guest memory at 0x%" PRIx64
			 " that the recording does not have (it has %u accesses in this call)",
			 write ? "wrote" : "read", length, address, p->call->u.backdoor.fixed.accesses);
		if (diverge_start(p, p->call_index, what))
			context(p, p->call_index);
		return;
	}
	bool same_place = want.address == address && want.length == length && !!want.write == write &&
			  !!want.ok == ok;
	bool same_bytes = same_place && (!ok || !memcmp(want_bytes, bytes, length));
	if (same_bytes)
		return;
	if (!same_place)
		snprintf(what, sizeof(what),
			 "guest memory access %u: recorded %s %u bytes at 0x%" PRIx64 "%s, now %s %zu "
			 "bytes at 0x%" PRIx64 "%s",
			 index, want.write ? "a write of" : "a read of", want.length, want.address,
			 want.ok ? "" : " (failed)", write ? "a write of" : "a read of", length,
			 address, ok ? "" : " (failed)");
	else
		snprintf(what, sizeof(what),
			 "%s at 0x%" PRIx64 " (%zu bytes, access %u of the call): the bytes differ",
			 write ? "what the device wrote to guest memory"
			       : "guest memory the device read",
			 address, length, index);
	if (!diverge_start(p, p->call_index, what))
		return;
	if (want.ok && ok) {
		replay_describe_access(p->call, index, want_bytes, want.length, p->kd_command, decoded,
				       sizeof(decoded));
		say(p, "  recorded: %s\n", decoded);
		replay_describe_access(p->call, index, bytes, length, p->kd_command, decoded,
				       sizeof(decoded));
		say(p, "  now:      %s\n", decoded);
		hex_diff(p, want_bytes, want.length, bytes, length);
	}
	context(p, p->call_index);
}

static void compare_registers(struct player *p, const char *when, const uint32_t want[],
			      const uint32_t now[])
{
	static const char *const names[SESSION_REGS] = { "eax", "ecx", "edx", "ebx",
							 "ebp", "esi", "edi" };
	char what[200];

	for (int i = 0; i < SESSION_REGS; i++) {
		if (want[i] == now[i])
			continue;
		snprintf(what, sizeof(what), "%s: %s is 0x%08x, recorded 0x%08x", when, names[i],
			 now[i], want[i]);
		if (!diverge_start(p, p->call_index, what))
			return;
		say(p, "  registers recorded:");
		for (int j = 0; j < SESSION_REGS; j++)
			say(p, " %s=%08x", names[j], want[j]);
		say(p, "\n  registers now:     ");
		for (int j = 0; j < SESSION_REGS; j++)
			say(p, " %s=%08x", names[j], now[j]);
		say(p, "\n");
		context(p, p->call_index);
		return;
	}
}

const struct guest_vcpu *player_begin_call(struct player *p, const struct guest_vcpu *real,
					    uint16_t port, enum guest_port_dir direction)
{
	size_t index;
	char what[300];
	uint32_t regs[SESSION_REGS];

	p->tick = real->ticks(real->ctx);
	p->in_call = true;
	p->call = NULL;
	p->access_index = 0;
	const struct guest_vcpu *tapped = vcpu_tap_attach(&p->tap, real);
	if (stopped(p))
		return tapped;

	const struct session_record *r = next_crossing(p, &index);
	if (at_cut(p, r))
		return tapped;
	vcpu_tap_registers(real, regs);
	if (!r || r->h.kind != SESSION_BACKDOOR) {
		snprintf(what, sizeof(what),
			 "the guest made a backdoor call (%s port 0x%04x, eax=0x%08x ecx=0x%08x) "
			 "where the recording has %s",
			 direction == GUEST_PORT_IN ? "IN" : "OUT", port, regs[SESSION_EAX],
			 regs[SESSION_ECX], kind_now(r));
		if (diverge_start(p, index, what))
			context(p, index);
		return tapped;
	}
	p->call = r;
	p->call_index = index;
	p->next++;
	const struct session_backdoor *want = &r->u.backdoor.fixed;
	if (r->h.tick != p->tick || want->port != port ||
	    want->direction != (direction == GUEST_PORT_OUT) || want->cpl != real->cpl(real->ctx)) {
		snprintf(what, sizeof(what),
			 "a backdoor call at tick %" PRIu64 " (%s port 0x%04x, CPL %u) where the "
			 "recording has one at tick %" PRIu64 " (%s port 0x%04x, CPL %u)",
			 p->tick, direction == GUEST_PORT_IN ? "IN" : "OUT", port, real->cpl(real->ctx),
			 r->h.tick, want->direction ? "OUT" : "IN", want->port, want->cpl);
		if (diverge_start(p, index, what))
			context(p, index);
		return tapped;
	}
	compare_registers(p, "registers into the call", want->regs_in, regs);
	return tapped;
}

void player_end_call(struct player *p, const struct guest_port_access *access)
{
	uint32_t regs[SESSION_REGS];
	char what[200];
	size_t index;

	p->in_call = false;
	if (stopped(p) || !p->call)
		return;
	const struct session_backdoor *want = &p->call->u.backdoor.fixed;
	if (p->access_index != want->accesses) {
		snprintf(what, sizeof(what),
			 "the device made %u guest memory accesses in this call; the recording has %u",
			 p->access_index, want->accesses);
		if (diverge_start(p, p->call_index, what))
			context(p, p->call_index);
		return;
	}
	vcpu_tap_registers(p->tap.real, regs);
	compare_registers(p, "registers out of the call", want->regs_out, regs);
	if (!p->diverged && (access->in_value != want->in_value ||
			     access->string_op_done != want->string_op_done)) {
		snprintf(what, sizeof(what), "the IN delivered 0x%08x, recorded 0x%08x",
			 access->in_value, want->in_value);
		if (diverge_start(p, p->call_index, what))
			context(p, p->call_index);
	}
	/* KD port calls the recording has for this call and the device did
	 * not make. */
	const struct session_record *r = next_crossing(p, &index);
	if (!p->diverged && r && r->h.kind == SESSION_KD_PORT) {
		snprintf(what, sizeof(what),
			 "the recording has a KD port call (%s) here that the device did not make",
			 session_kd_op_name(r->u.kd_port.fixed.op));
		if (diverge_start(p, index, what))
			context(p, index);
	}
	if (!stopped(p))
		p->matched = (uint32_t)p->next;
}

/* ---- the debugger's side ------------------------------------------------------------ */

/* The next KD port call recorded, if it is the one the device makes. */
static const struct session_record *expect_kd(struct player *p, uint8_t op, uint16_t type,
					      size_t header_length, size_t data_capacity,
					      uint32_t timeout_ms)
{
	size_t index;
	char what[300];

	if (stopped(p))
		return NULL;
	const struct session_record *r = next_crossing(p, &index);
	if (at_cut(p, r))
		return NULL;
	if (!r || r->h.kind != SESSION_KD_PORT || r->u.kd_port.fixed.op != op) {
		snprintf(what, sizeof(what),
			 "the device made a KD port call (%s, packet type %u) where the recording "
			 "has %s%s%s",
			 session_kd_op_name(op), type, kind_now(r),
			 r && r->h.kind == SESSION_KD_PORT ? " " : "",
			 r && r->h.kind == SESSION_KD_PORT
				 ? session_kd_op_name(r->u.kd_port.fixed.op)
				 : "");
		if (diverge_start(p, index, what))
			context(p, index);
		return NULL;
	}
	const struct session_kd_port *f = &r->u.kd_port.fixed;
	if (f->packet_type != type ||
	    (op == SESSION_KD_RECEIVE &&
	     (f->header_length != header_length || f->data_capacity != data_capacity ||
	      f->timeout_ms != timeout_ms))) {
		snprintf(what, sizeof(what),
			 "a KD %s of packet type %u (header %zu, room %zu, %u ms) where the "
			 "recording has type %u (header %u, room %u, %u ms)",
			 session_kd_op_name(op), type, header_length, data_capacity, timeout_ms,
			 f->packet_type, f->header_length, f->data_capacity, f->timeout_ms);
		if (diverge_start(p, index, what))
			context(p, index);
		return NULL;
	}
	p->next++;
	return r;
}

static enum kd_outcome kd_send(void *ctx, uint32_t type, const uint8_t *header,
				     size_t header_length, const uint8_t *data, size_t data_length)
{
	struct player *p = ctx;
	const struct session_record *r =
		expect_kd(p, SESSION_KD_SEND, (uint16_t)type, header_length, 0, 0);
	char decoded[1024];

	if (!r)
		return KD_DROPPED;
	const struct session_kd_port *f = &r->u.kd_port.fixed;
	const uint8_t *want = r->u.kd_port.bytes;
	bool same = f->header_length == header_length && f->data_length == data_length &&
		    !memcmp(want, header, header_length) &&
		    (!data_length || !memcmp(want + header_length, data, data_length));
	if (!same) {
		uint8_t now[8192];
		size_t n = header_length + data_length < sizeof(now) ? header_length + data_length
								      : sizeof(now);
		memcpy(now, header, header_length < n ? header_length : n);
		if (n > header_length)
			memcpy(now + header_length, data, n - header_length);
		if (diverge_start(p, p->next - 1, "the KD packet the guest sent differs")) {
			replay_describe_packet((uint16_t)type, want,
					       f->header_length + f->data_length, true, decoded,
					       sizeof(decoded));
			say(p, "  recorded: %s\n", decoded);
			replay_describe_packet((uint16_t)type, now, n, true, decoded, sizeof(decoded));
			say(p, "  now:      %s\n", decoded);
			hex_diff(p, want, f->header_length + f->data_length, now, n);
			context(p, p->next - 1);
		}
		return KD_DROPPED;
	}
	return (enum kd_outcome)f->result;
}

static enum kd_outcome kd_receive(void *ctx, uint32_t type, uint8_t *header,
					size_t header_length, uint8_t *data, size_t data_capacity,
					size_t *data_length, uint32_t timeout_ms)
{
	struct player *p = ctx;
	const struct session_record *r = expect_kd(p, SESSION_KD_RECEIVE, (uint16_t)type,
						   header_length, data_capacity, timeout_ms);

	*data_length = 0;
	if (!r)
		return KD_TIMED_OUT;
	const struct session_kd_port *f = &r->u.kd_port.fixed;
	if (f->result == KD_OK) {
		/* The reader checked the lengths against the record; the
		 * device's own buffers are the sizes it asked, checked above. */
		memcpy(header, r->u.kd_port.bytes, header_length);
		memcpy(data, r->u.kd_port.bytes + header_length, f->data_length);
		*data_length = f->data_length;
	}
	return (enum kd_outcome)f->result;
}

static bool kd_flag(struct player *p, uint8_t op)
{
	const struct session_record *r = expect_kd(p, op, 0, 0, 0, 0);
	return r && r->u.kd_port.fixed.result;
}

static bool kd_poll(void *ctx)
{
	return kd_flag(ctx, SESSION_KD_POLL_BREAKIN);
}

static bool kd_present(void *ctx)
{
	return kd_flag(ctx, SESSION_KD_DEBUGGER_PRESENT);
}

static bool kd_attached(void *ctx)
{
	return kd_flag(ctx, SESSION_KD_DEBUGGER_ATTACHED);
}

const struct kd_host_port *player_kd_port(struct player *p)
{
	p->port = (struct kd_host_port){ p, kd_send, kd_receive, kd_poll, kd_present, kd_attached };
	return &p->port;
}

/* ---- the whole ---------------------------------------------------------------------- */

struct player *player_create(const struct session_record *records, size_t count,
			     uint16_t kd_command)
{
	struct player *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->records = records;
	p->count = count;
	p->kd_command = kd_command;
	vcpu_tap_init(&p->tap, check_access, p);
	char signal[64];
	const struct session_record *last = count ? &records[count - 1] : NULL;
	p->cut = !last || last->h.kind != SESSION_END ||
		 session_text_value(last, "interrupted", signal, sizeof(signal));
	/* The manifest is not a crossing. */
	p->next = count && records[0].h.kind == SESSION_MANIFEST ? 1 : 0;
	p->matched = (uint32_t)p->next;
	return p;
}

void player_destroy(struct player *p)
{
	if (!p)
		return;
	free(p->report);
	free(p);
}

void player_finish(struct player *p, uint64_t tick)
{
	size_t index;
	char what[200];

	if (stopped(p))
		return;
	p->tick = tick;
	const struct session_record *r = next_crossing(p, &index);
	if (at_cut(p, r))
		return;
	if (r && r->h.kind == SESSION_END) {
		p->next++;
		p->matched = (uint32_t)p->next;
		p->complete = true;
		return;
	}
	snprintf(what, sizeof(what), "the guest stopped where the recording goes on with %s",
		 kind_now(r));
	if (diverge_start(p, index, what))
		context(p, index);
}

bool player_diverged(const struct player *p)
{
	return p->diverged;
}

bool player_complete(const struct player *p)
{
	return p->complete && !p->diverged;
}

bool player_reached_cut(const struct player *p)
{
	return p->reached_cut;
}

uint32_t player_records_matched(const struct player *p)
{
	return p->matched;
}

const char *player_report(const struct player *p)
{
	return p->report ? p->report : "";
}
