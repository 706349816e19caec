/*
 * kd-win-target -- a KD target that behaves like Windows' kdcom.dll and
 * kd64 rather than like bxkd's own KD stub, with faults injected on its
 * line, for testing debuggers (bxkd-dbg) against what real targets do.
 *
 * It reuses the KDCOM engine (target role) and bxkd/dbgkd.h, and answers
 * the manipulate requests itself, for an x86 or an x64 identity:
 *   - a running target reads only break-in bytes (KdPollBreakIn); every
 *     other byte, a Continue sent again say, is swallowed;
 *   - a stopped one sends its state change again when its receive says
 *     NeedsResend: after a RESEND, a RESET, or a break-in byte (ReactOS
 *     KdReceivePacket);
 *   - a manipulate reply cut off by the debugger's RESET is sent again
 *     (kdcom.dll), so a debugger that reset sees a stale reply;
 *   - a reply nobody acknowledges is dropped after its retries (KdSendPacket);
 *   - a new packet while its own awaits an ACK acknowledges it implicitly
 *     and is asked for again with RESEND (the engine does this).
 * Faults, each drawn per frame with probability RATE from a generator
 * seeded with SEED (the same seed and rate give the same draws), in
 * either direction: lost ACKs, lost data frames, duplicated frames,
 * garbage between frames, damaged bytes (checksum errors), and RESETs the
 * target starts itself.
 *
 * The machine: 1 MiB of memory at 0xffffffff80100000 (x86: 0x80100000,
 * sign-extended on the wire; physical 0x100000), byte i holding
 * kdwin_pattern(i); nothing else is mapped. The CPU executes one byte per
 * step around a 128-byte loop at +0x1000 and counts in eax/rax;
 * breakpoints live in a table (reads show memory without them).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bxkd/byteorder.h"
#include "bxkd/dbgkd.h"
#include "cli.h"
#include "kdcom_engine.h"
#include "kdep.h"
#include "kdtrace.h"
#include "kdwin_faults.h"
#include "log.h"
#include "process.h"

#define MEMORY_BASE 0xffffffff80100000ull
#define PHYSICAL_BASE 0x100000ull
#define MEMORY_SIZE (1u << 20)
#define CODE_OFFSET 0x1000u
#define CODE_SIZE 128u
#define MAX_BREAKPOINTS 32
#define SLICE 64 /* instructions between two looks at the line */

enum mode { RUNNING, STOPPED };

union context {
	struct x86_context x86;
	struct amd64_context amd64;
	uint8_t bytes[sizeof(struct amd64_context)];
};

struct sim {
	bool x64;
	struct kdcom k;
	struct kdep *ep;
	struct kdep_options endpoint;
	struct kdwin_faults faults;
	enum mode mode;
	bool quit, exit_when_detached, drop_first_connection, connected_once;

	/* What the engine reported since the last look. */
	bool receiving; /* in KdReceivePacket, else in KdSendPacket */
	bool got_packet, sent, dropped, abandoned, needs_resend;
	uint8_t packet[KDCOM_MAX_PAYLOAD];
	uint16_t packet_length;
	bool break_requested;

	uint8_t memory[MEMORY_SIZE];
	union context context;
	uint64_t breakpoints[MAX_BREAKPOINTS]; /* 0: free */
	bool single_step;
	uint64_t stops, requests;
};

static FILE *trace_file;

/* ---- the machine ----------------------------------------------------------------- */

static uint64_t pc(const struct sim *s)
{
	return s->x64 ? s->context.amd64.rip : (uint64_t)(int64_t)(int32_t)s->context.x86.eip;
}

static void set_pc(struct sim *s, uint64_t value)
{
	if (s->x64)
		s->context.amd64.rip = value;
	else
		s->context.x86.eip = (uint32_t)value;
}

static void power_on(struct sim *s)
{
	for (uint32_t i = 0; i < MEMORY_SIZE; i++)
		s->memory[i] = kdwin_pattern(i);
	memset(&s->context, 0, sizeof(s->context));
	if (s->x64) {
		struct amd64_context *c = &s->context.amd64;
		c->context_flags = DBGKD_CONTEXT_AMD64_FULL;
		c->seg_cs = 0x10, c->seg_ss = c->seg_ds = c->seg_es = 0x18;
		c->eflags = 0x202;
		c->rsp = MEMORY_BASE + MEMORY_SIZE - 64;
	} else {
		struct x86_context *c = &s->context.x86;
		c->context_flags = DBGKD_CONTEXT_FULL;
		c->seg_cs = 0x08, c->seg_ss = c->seg_ds = c->seg_es = 0x10;
		c->eflags = 0x202;
		c->esp = (uint32_t)(MEMORY_BASE + MEMORY_SIZE - 16);
	}
	set_pc(s, MEMORY_BASE + CODE_OFFSET);
}

/* Bytes of [address, address + length) that are mapped; *offset where. */
static uint32_t mapped(uint64_t address, uint32_t length, uint64_t base, uint32_t *offset)
{
	if (address < base || address >= base + MEMORY_SIZE)
		return 0;
	*offset = (uint32_t)(address - base);
	return length < MEMORY_SIZE - *offset ? length : MEMORY_SIZE - *offset;
}

static int breakpoint_at(const struct sim *s, uint64_t address)
{
	for (int i = 0; i < MAX_BREAKPOINTS; i++)
		if (s->breakpoints[i] == address)
			return i;
	return -1;
}

/* One instruction; true if it trapped on a breakpoint (PC stays on it). */
static bool execute(struct sim *s)
{
	if (breakpoint_at(s, pc(s)) >= 0)
		return true;
	uint64_t next = pc(s) + 1;
	if (next == MEMORY_BASE + CODE_OFFSET + CODE_SIZE)
		next = MEMORY_BASE + CODE_OFFSET;
	set_pc(s, next);
	if (s->x64)
		s->context.amd64.rax++;
	else
		s->context.x86.eax++;
	return false;
}

/* ---- the line: faults on each frame, then the engine ------------------------------ */

/* --trace: every unit each way, what the faults did to it, and the mode. */
static void trace_unit(void *ctx, bool outgoing, const uint8_t *unit, size_t length,
		       const char *fault)
{
	const struct sim *s = ctx;
	char what[200];

	if (length > KDCOM_HEADER_SIZE && unit[0] == KDCOM_DATA_LEADER_BYTE)
		kdtrace_describe_packet(le_get16(unit + 4), unit + KDCOM_HEADER_SIZE,
					length - KDCOM_HEADER_SIZE - 1,
					outgoing ? KDTRACE_TO_DEBUGGER : KDTRACE_TO_TARGET,
					KDTRACE_TEXT, what, sizeof(what));
	else if (length == KDCOM_HEADER_SIZE)
		snprintf(what, sizeof(what), "%s", kdcom_type_name(le_get16(unit + 4)));
	else
		snprintf(what, sizeof(what), "%zu byte(s) 0x%02x", length, unit[0]);
	fprintf(trace_file, "%llu %s %s id=0x%08x %s%s%s\n",
		(unsigned long long)bxkd_now_ms(), outgoing ? "t2d" : "d2t",
		s->mode == RUNNING ? "running" : "stopped",
		length >= KDCOM_HEADER_SIZE ? le_get32(unit + 8) : 0, what, *fault ? " -- " : "",
		fault);
}

static void take_events(struct sim *s)
{
	struct kdcom_event e;

	while (kdcom_next_event(&s->k, &e)) {
		if (e.kind == KDCOM_EVENT_PACKET) {
			memcpy(s->packet, e.payload, e.length);
			s->packet_length = e.length;
			s->got_packet = true;
			kdcom_expect(&s->k, 0, 0, 0); /* one request at a time */
			kdwin_faults_packet(&s->faults, le_get32(s->packet));
		} else if (e.kind == KDCOM_EVENT_DROPPED) {
			s->dropped = true;
			kdwin_faults_reply_dropped(&s->faults);
		}
		if (e.kind == KDCOM_EVENT_RESET)
			kdwin_faults_link_reset(&s->faults);
		s->sent |= e.kind == KDCOM_EVENT_SENT;
		s->abandoned |= e.kind == KDCOM_EVENT_ABANDONED;
		/* KdReceivePacket's NeedsResend (ReactOS): the stop goes out again. */
		s->needs_resend |= e.kind == KDCOM_EVENT_RESEND || e.kind == KDCOM_EVENT_RESET ||
				   e.kind == KDCOM_EVENT_BREAKIN;
	}
}

static void write_out(void *ctx, const uint8_t *bytes, size_t length)
{
	kdep_write(((struct sim *)ctx)->ep, bytes, length);
}

static void flush(struct sim *s)
{
	const uint8_t *bytes;
	size_t n;

	while ((n = kdcom_output(&s->k, &bytes)) > 0) {
		kdwin_faults_output(&s->faults, bytes, n, write_out, s);
		kdcom_output_consumed(&s->k, n);
	}
}

static void feed_engine(void *ctx, const uint8_t *bytes, size_t length)
{
	struct sim *s = ctx;

	for (size_t used = 0; used < length;) {
		used += kdcom_input(&s->k, bytes + used, length - used, bxkd_now_ms());
		take_events(s);
	}
}

/* Whether what the blocking call in progress waits for has come. */
static bool call_done(const struct sim *s)
{
	return s->receiving ? s->got_packet || s->needs_resend : s->sent || s->dropped;
}

/* A running target takes only the break-in byte from the line; the rest
 * of what came with it waits for the stopped target's receive. A stopped
 * one stops reading when what its call waits for has come (an ACK, a
 * request): what follows stays in the line for the next call, as it
 * stays in a UART's FIFO. */
static bool take_unit(void *ctx, const uint8_t *bytes, size_t length)
{
	struct sim *s = ctx;

	if (s->mode == STOPPED) {
		bool waiting = !call_done(s);
		feed_engine(s, bytes, length);
		return !waiting || !call_done(s);
	}
	if (length == 1 && bytes[0] == KDCOM_BREAKIN_BYTE) {
		s->break_requested = true;
		return false;
	}
	s->faults.counts.swallowed += length;
	return true;
}

static void reopen(struct sim *s)
{
	char error[256];

	kdep_close(s->ep);
	s->ep = kdep_open(&s->endpoint, NULL, error, sizeof(error));
	if (!s->ep) {
		fprintf(stderr, "kd-win-target: %s\n", error);
		exit(1);
	}
}

static void on_line_event(struct sim *s, enum kdep_status status)
{
	kdcom_restart_input(&s->k);
	kdwin_faults_line_restarted(&s->faults);
	if (status == KDEP_CONNECTED) {
		s->connected_once = true;
		kdcom_retransmit_now(&s->k, bxkd_now_ms());
	} else {
		kdcom_discard_output(&s->k);
		if (s->mode == RUNNING && s->exit_when_detached)
			s->quit = true;
	}
}

static void pump(struct sim *s, int wait_ms)
{
	uint8_t buffer[8192];
	size_t n;

	flush(s);
	if (bxkd_signal)
		s->quit = true;
	if (!kdwin_faults_input_pending(&s->faults) || s->mode == STOPPED) {
		if (kdwin_faults_input_pending(&s->faults))
			wait_ms = 0;
		enum kdep_status status = kdep_wait(s->ep, wait_ms, buffer, sizeof(buffer), &n);
		if (status == KDEP_DATA) {
			kdwin_faults_input(&s->faults, buffer, n);
			if (s->drop_first_connection) {
				/* The line drops as the first bytes come: they are lost. */
				s->drop_first_connection = false;
				kdwin_faults_line_restarted(&s->faults);
				reopen(s);
				return;
			}
		} else if (status != KDEP_TIMEOUT) {
			on_line_event(s, status);
		}
	}
	kdwin_faults_deliver(&s->faults, take_unit, s);
	kdcom_tick(&s->k, bxkd_now_ms());
	take_events(s);
	flush(s);
}

static int engine_wait(const struct sim *s)
{
	uint64_t now = bxkd_now_ms(), deadline = kdcom_deadline(&s->k);

	if (deadline <= now)
		return 0;
	return deadline - now > 50 ? 50 : (int)(deadline - now);
}

/* A target-initiated RESET: fed to our own engine, which answers it on the
 * line (that is the RESET the debugger sees), restarts both ids and resends
 * what it was sending. Only between frames, where the engine hunts. */
static void maybe_reset(struct sim *s)
{
	static const uint8_t reset[KDCOM_HEADER_SIZE] = { 0x69, 0x69, 0x69, 0x69, KDCOM_TYPE_RESET };

	if (s->k.parse_state == KDCOM_SCAN_LEADER && kdwin_faults_draw_reset(&s->faults)) {
		feed_engine(s, reset, sizeof(reset));
		s->needs_resend = false;
		flush(s);
	}
}

/* KdSendPacket: until acknowledged, or dropped after its retries. A reply
 * the debugger's RESET cut off goes out again, as kdcom.dll sends it. */
static bool kd_send(struct sim *s, uint16_t type, const void *header, size_t header_length,
		    const void *data, size_t data_length)
{
	maybe_reset(s);
	kdcom_expect(&s->k, 0, 0, 0);
	s->receiving = false;
	s->sent = s->dropped = s->abandoned = s->got_packet = s->needs_resend = false;
	if (kdcom_send(&s->k, type, header, header_length, data, data_length, bxkd_now_ms()) !=
	    KDCOM_SEND_STARTED)
		return false;
	while (!s->quit && !s->sent && !s->dropped) {
		if (s->abandoned) {
			s->abandoned = false;
			kdcom_send(&s->k, type, header, header_length, data, data_length,
				   bxkd_now_ms());
		}
		pump(s, engine_wait(s));
	}
	return !s->quit;
}

/* KdReceivePacket(STATE_MANIPULATE): true with a request in s->packet,
 * false when the state change is to be sent again or the target ends. */
static bool kd_receive(struct sim *s)
{
	maybe_reset(s);
	s->receiving = true;
	s->got_packet = s->needs_resend = false;
	kdcom_expect(&s->k, KDCOM_TYPE_STATE_MANIPULATE, sizeof(struct dbgkd_manipulate_state64),
		     KDCOM_MAX_PAYLOAD);
	while (!s->quit && !s->got_packet && !s->needs_resend)
		pump(s, engine_wait(s));
	kdcom_expect(&s->k, 0, 0, 0);
	return s->got_packet && !s->quit;
}

/* ---- kd64: the requests ------------------------------------------------------------ */

static void get_version(const struct sim *s, struct dbgkd_get_version64 *v)
{
	memset(v, 0, sizeof(*v));
	v->major_version = 0x000F;
	v->minor_version = s->x64 ? 7601 : 2600;
	v->protocol_version = DBGKD_64BIT_PROTOCOL_VERSION2;
	v->kd_secondary_version = s->x64 ? 2 : 0;
	v->flags = s->x64 ? DBGKD_VERS_FLAG_DATA | DBGKD_VERS_FLAG_PTR64 : DBGKD_VERS_FLAG_DATA;
	v->machine_type = s->x64 ? DBGKD_MACHINE_AMD64 : DBGKD_MACHINE_I386;
	v->max_packet_type = KDCOM_TYPE_MAX;
	v->max_state_change = DBGKD_MAXIMUM_STATE_CHANGE - DBGKD_EXCEPTION_STATE_CHANGE;
	v->max_manipulate = DBGKD_MAXIMUM_MANIPULATE - DBGKD_READ_VIRTUAL_MEMORY_API;
	v->kern_base = MEMORY_BASE;
	v->ps_loaded_module_list = MEMORY_BASE + 0x3000;
}

/* ReadControlSpace: x86 KPROCESSOR_STATE, AMD64 "address" 2 KSPECIAL_REGISTERS. */
static uint32_t control_space(const struct sim *s, uint64_t address, uint8_t *out, uint32_t count)
{
	union {
		struct x86_processor_state x86;
		struct amd64_special_registers amd64;
		uint8_t bytes[1];
	} state;
	size_t size;

	memset(&state, 0, sizeof(state));
	if (s->x64) {
		if (address != 2)
			return 0;
		state.amd64.cr0 = 0x80050033u, state.amd64.cr3 = 0x1ad000u;
		state.amd64.cr4 = 0x6f8u;
		size = sizeof(state.amd64);
		address = 0;
	} else {
		state.x86.context_frame = s->context.x86;
		state.x86.special_registers.cr0 = 0x80010031u;
		state.x86.special_registers.cr3 = 0x39000u;
		size = sizeof(state.x86);
	}
	if (address >= size)
		return 0;
	uint32_t n = count < size - address ? count : (uint32_t)(size - address);
	memcpy(out, state.bytes + address, n);
	return n;
}

/* Memory requests; the data goes to or comes from `data`. */
static uint32_t memory_request(struct sim *s, struct dbgkd_manipulate_state64 *m, uint8_t *data,
			       size_t data_length)
{
	bool physical = m->api_number == DBGKD_READ_PHYSICAL_MEMORY_API ||
			m->api_number == DBGKD_WRITE_PHYSICAL_MEMORY_API;
	bool write = m->api_number == DBGKD_WRITE_VIRTUAL_MEMORY_API ||
		     m->api_number == DBGKD_WRITE_PHYSICAL_MEMORY_API;
	uint64_t address = m->u.read_memory.target_base_address;
	uint32_t count = m->u.read_memory.transfer_count, offset = 0;
	uint32_t room = KDCOM_MAX_PAYLOAD - sizeof(*m);

	if (!s->x64 && !physical)
		address = (uint64_t)(int64_t)(int32_t)address;
	if (write ? count != data_length : count > room) {
		m->u.read_memory.actual_bytes = 0;
		return 0;
	}
	uint32_t n = mapped(address, count, physical ? PHYSICAL_BASE : MEMORY_BASE, &offset);
	if (write)
		memcpy(s->memory + offset, data, n);
	else
		memcpy(data, s->memory + offset, n);
	m->u.read_memory.actual_bytes = n;
	m->return_status = n == count ? DBGKD_STATUS_SUCCESS : DBGKD_STATUS_UNSUCCESSFUL;
	return write ? 0 : n;
}

static void breakpoint_request(struct sim *s, struct dbgkd_manipulate_state64 *m)
{
	if (m->api_number == DBGKD_WRITE_BREAKPOINT_API) {
		uint64_t address = m->u.write_breakpoint.breakpoint_address;
		if (!s->x64)
			address = (uint64_t)(int64_t)(int32_t)address;
		/* An address already in the table keeps its handle: a request
		 * asked again cannot leave a second breakpoint behind. */
		int slot = breakpoint_at(s, address);
		slot = slot >= 0 ? slot : breakpoint_at(s, 0);
		uint32_t offset;
		if (slot < 0 || !mapped(address, 1, MEMORY_BASE, &offset))
			return;
		s->breakpoints[slot] = address;
		m->u.write_breakpoint.breakpoint_handle = (uint32_t)slot + 1;
		m->return_status = DBGKD_STATUS_SUCCESS;
		return;
	}
	uint32_t handle = m->u.restore_breakpoint_handle;
	if (handle >= 1 && handle <= MAX_BREAKPOINTS && s->breakpoints[handle - 1]) {
		s->breakpoints[handle - 1] = 0;
		m->return_status = DBGKD_STATUS_SUCCESS;
	}
}

/* Carries out one request into *reply / data; false for a Continue. */
static bool answer(struct sim *s, struct dbgkd_manipulate_state64 *m, uint8_t *data,
		   size_t *data_length)
{
	size_t context_size = s->x64 ? sizeof(struct amd64_context) : sizeof(struct x86_context);
	size_t in = *data_length;

	*data_length = 0;
	m->return_status = DBGKD_STATUS_UNSUCCESSFUL;
	switch (m->api_number) {
	case DBGKD_READ_VIRTUAL_MEMORY_API:
	case DBGKD_WRITE_VIRTUAL_MEMORY_API:
	case DBGKD_READ_PHYSICAL_MEMORY_API:
	case DBGKD_WRITE_PHYSICAL_MEMORY_API:
		*data_length = memory_request(s, m, data, in);
		break;
	case DBGKD_GET_CONTEXT_API:
		memcpy(data, s->context.bytes, context_size);
		*data_length = context_size;
		m->return_status = DBGKD_STATUS_SUCCESS;
		break;
	case DBGKD_SET_CONTEXT_API:
		if (in == context_size) {
			memcpy(s->context.bytes, data, context_size);
			m->return_status = DBGKD_STATUS_SUCCESS;
		}
		break;
	case DBGKD_WRITE_BREAKPOINT_API:
	case DBGKD_RESTORE_BREAKPOINT_API:
		breakpoint_request(s, m);
		break;
	case DBGKD_READ_CONTROL_SPACE_API:
		*data_length = control_space(s, m->u.read_memory.target_base_address, data,
					     m->u.read_memory.transfer_count);
		m->u.read_memory.actual_bytes = (uint32_t)*data_length;
		m->return_status = *data_length ? DBGKD_STATUS_SUCCESS : DBGKD_STATUS_UNSUCCESSFUL;
		break;
	case DBGKD_GET_VERSION_API:
		get_version(s, &m->u.get_version);
		m->return_status = DBGKD_STATUS_SUCCESS;
		break;
	case DBGKD_CONTINUE_API:
	case DBGKD_CONTINUE_API2:
		s->single_step = m->api_number == DBGKD_CONTINUE_API2 &&
				 m->u.continue2.control_set.trace_flag;
		return false;
	default:
		break;
	}
	return true;
}

static void state_change(const struct sim *s, uint32_t code, struct dbgkd_any_wait_state_change *sc)
{
	uint32_t offset = 0;

	memset(sc, 0, sizeof(*sc));
	sc->new_state = DBGKD_EXCEPTION_STATE_CHANGE;
	sc->processor_level = 6;
	sc->number_processors = 1;
	sc->thread = MEMORY_BASE + 0x4000;
	sc->program_counter = pc(s);
	sc->u.exception.record.exception_code = code;
	sc->u.exception.record.exception_address = pc(s);
	sc->u.exception.first_chance = 1;
	mapped(pc(s), DBGKD_MAXSTREAM, MEMORY_BASE, &offset);
	if (s->x64) {
		struct dbgkd_control_report_amd64 *r = &sc->control_report.amd64;
		r->instruction_count = DBGKD_MAXSTREAM;
		r->report_flags = DBGKD_REPORT_INCLUDES_SEGS | DBGKD_REPORT_STANDARD_CS;
		memcpy(r->instruction_stream, s->memory + offset, DBGKD_MAXSTREAM);
		r->seg_cs = s->context.amd64.seg_cs;
		r->eflags = s->context.amd64.eflags;
	} else {
		struct dbgkd_control_report_x86 *r = &sc->control_report.x86;
		r->instruction_count = DBGKD_MAXSTREAM;
		r->report_flags = DBGKD_REPORT_INCLUDES_SEGS | DBGKD_REPORT_STANDARD_CS;
		memcpy(r->instruction_stream, s->memory + offset, DBGKD_MAXSTREAM);
		r->seg_cs = (uint16_t)s->context.x86.seg_cs;
		r->eflags = s->context.x86.eflags;
	}
}

/* KdpSendWaitContinue: report the stop, serve requests until a Continue. */
static void stop(struct sim *s, uint32_t code, bool stale_reply)
{
	static uint8_t data[KDCOM_MAX_PAYLOAD];
	struct dbgkd_any_wait_state_change sc;

	s->mode = STOPPED;
	s->break_requested = false;
	s->stops++;
	kdwin_faults_stopped(&s->faults);
	state_change(s, code, &sc);
	if (stale_reply) {
		/* A reply to a debugger that has since gone, still unacknowledged. */
		struct dbgkd_manipulate_state64 m = { .api_number = DBGKD_GET_VERSION_API };
		get_version(s, &m.u.get_version);
		if (!kd_send(s, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0))
			return;
	}
	for (bool report = !stale_reply;; report = true) {
		if (report && !kd_send(s, KDCOM_TYPE_STATE_CHANGE64, &sc, sizeof(sc), NULL, 0))
			return;
		while (kd_receive(s)) {
			struct dbgkd_manipulate_state64 m;
			size_t length = s->packet_length - sizeof(m);
			memcpy(&m, s->packet, sizeof(m));
			memcpy(data, s->packet + sizeof(m), length);
			s->requests++;
			if (!answer(s, &m, data, &length)) {
				s->mode = RUNNING;
				return;
			}
			if (!kd_send(s, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), data, length))
				return;
		}
		if (s->quit)
			return;
	}
}

static void run(struct sim *s, bool initial_break, bool stale_reply)
{
	if (initial_break || stale_reply)
		stop(s, DBGKD_STATUS_BREAKPOINT, stale_reply);
	while (!s->quit) {
		for (int i = 0; i < SLICE && s->mode == RUNNING && !s->quit; i++) {
			bool trapped = execute(s);
			if (trapped || s->single_step)
				stop(s, trapped ? DBGKD_STATUS_BREAKPOINT : DBGKD_STATUS_SINGLE_STEP,
				     false);
		}
		pump(s, 1);
		if (s->break_requested && !s->quit)
			stop(s, DBGKD_STATUS_BREAKPOINT, false);
	}
}

/* ---- the program -------------------------------------------------------------------- */

static void write_report(const struct sim *s, const char *path)
{
	struct json_object *r = json_object_new_object();
	const struct kdwin_fault_counts *c = &s->faults.counts;

	json_object_object_add(r, "machine", json_object_new_string(s->x64 ? "x64" : "x86"));
	json_object_object_add(r, "stops", json_object_new_uint64(s->stops));
	json_object_object_add(r, "requests", json_object_new_uint64(s->requests));
	json_object_object_add(r, "running", json_object_new_boolean(s->mode == RUNNING));
	int armed = 0;
	for (int i = 0; i < MAX_BREAKPOINTS; i++)
		armed += s->breakpoints[i] != 0;
	json_object_object_add(r, "breakpoints", json_object_new_int(armed));
	json_object_object_add(r, "bx", json_object_new_uint64(s->x64 ? s->context.amd64.rbx
								      : s->context.x86.ebx));
	kdwin_faults_report(c, r);
	if (json_object_to_file_ext(path, r, JSON_C_TO_STRING_PLAIN) != 0)
		fprintf(stderr, "kd-win-target: cannot write %s\n", path);
	json_object_put(r);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kd-win-target --endpoint SPEC [--machine x86|x64] [--initial-break]\n"
		"         [--faults LIST] [--rate PERCENT] [--seed N] [--resend-timeout MS]\n"
		"         [--lose-ack-of API] [--lose-reply-of API] [--stale-reply]\n"
		"         [--drop-first-connection] [--exit-when-detached] [--ready-file FILE]\n"
		"         [--report FILE] [--trace FILE]\n"
		"faults: %s\n",
		kdwin_fault_names);
}

struct settings {
	struct sim *s;
	const char *ready_file, *report_file;
	bool initial_break, stale_reply, have_endpoint;
	uint32_t resend_timeout_ms;
};

static bool take_option(void *ctx, int key, char *value)
{
	struct settings *o = ctx;
	struct sim *s = o->s;
	char error[256];

	switch (key) {
	case 'e':
		return o->have_endpoint = kdep_parse(value, &s->endpoint, error, sizeof(error));
	case 'm':
		s->x64 = !strcmp(value, "x64");
		return s->x64 || !strcmp(value, "x86");
	case 'f':
		return kdwin_faults_parse_kinds(&s->faults, value);
	case 'r':
		return kdwin_faults_parse_rate(&s->faults, value);
	case 's':
		s->faults.seed = strtoull(value, NULL, 0);
		return true;
	case 't':
		o->resend_timeout_ms = (uint32_t)strtoul(value, NULL, 0);
		return o->resend_timeout_ms > 0;
	case 'A':
	case 'L':
		return kdwin_faults_lose(&s->faults, value, key == 'L');
	case 'T':
		trace_file = fopen(value, "w");
		if (trace_file)
			setvbuf(trace_file, NULL, _IOLBF, 0); /* all of it, however it ends */
		s->faults.trace = trace_unit;
		s->faults.trace_ctx = s;
		return trace_file != NULL;
	case 'R':
		o->ready_file = value;
		return true;
	case 'o':
		o->report_file = value;
		return true;
	}
	/* the flags */
	o->initial_break |= key == 'b';
	o->stale_reply |= key == 'S';
	s->drop_first_connection |= key == 'D';
	s->exit_when_detached |= key == 'x';
	return true;
}

/* The options into `o`; the exit status to end with, or BXKD_CLI_GO_ON. */
static int parse(int argc, char **argv, struct settings *o)
{
	static const struct option options[] = {
		{ "endpoint", required_argument, NULL, 'e' }, { "machine", required_argument, NULL, 'm' },
		{ "initial-break", no_argument, NULL, 'b' },  { "faults", required_argument, NULL, 'f' },
		{ "rate", required_argument, NULL, 'r' },     { "seed", required_argument, NULL, 's' },
		{ "resend-timeout", required_argument, NULL, 't' },
		{ "lose-ack-of", required_argument, NULL, 'A' },
		{ "lose-reply-of", required_argument, NULL, 'L' },
		{ "stale-reply", no_argument, NULL, 'S' },    { "trace", required_argument, NULL, 'T' },
		{ "drop-first-connection", no_argument, NULL, 'D' },
		{ "exit-when-detached", no_argument, NULL, 'x' },
		{ "ready-file", required_argument, NULL, 'R' }, { "report", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },	      { NULL, 0, NULL, 0 },
	};
	int status = bxkd_cli_parse(argc, argv, options, 0, 0, take_option, o, usage);

	if (status == BXKD_CLI_GO_ON && !o->have_endpoint) {
		usage(stderr);
		return BXKD_CLI_EXIT_USAGE;
	}
	return status;
}

int main(int argc, char **argv)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct settings o = { .s = s, .resend_timeout_ms = 250 };
	struct kdcom_config config;
	char error[256];

	bxkd_set_program("kd-win-target");
	if (!s)
		return 1;
	kdwin_faults_init(&s->faults);
	int status = parse(argc, argv, &o);
	if (status != BXKD_CLI_GO_ON)
		return status;
	kdwin_faults_start(&s->faults);
	bxkd_catch_signals(false);
	s->ep = kdep_open(&s->endpoint, NULL, error, sizeof(error));
	if (!s->ep) {
		fprintf(stderr, "kd-win-target: %s\n", error);
		return 1;
	}
	kdcom_config_init(&config, KDCOM_TARGET, o.resend_timeout_ms);
	kdcom_init(&s->k, &config);
	power_on(s);
	if (o.ready_file) {
		FILE *f = fopen(o.ready_file, "w");
		if (f) {
			fprintf(f, "%s\n", kdep_address(s->ep));
			fclose(f);
		}
	}
	s->mode = RUNNING;
	run(s, o.initial_break, o.stale_reply);
	if (o.report_file)
		write_report(s, o.report_file);
	kdep_close(s->ep);
	if (trace_file)
		fclose(trace_file);
	free(s);
	return 0;
}
