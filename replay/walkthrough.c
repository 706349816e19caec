/*
 * walkthrough.c -- bxkd-replay walkthrough: a recorded session as a
 * learner's document (Markdown), following the debugger's attach and the
 * first exchange of each kind packet by packet, every byte labelled.
 *
 * docs/kd-walkthrough.md is this tool's output on the golden e2e session
 * (`make walkthrough` writes it, the replay_tools suite compares it), so
 * the document shows what bxkd really does and cannot drift from it.
 *
 * Frames are found by pipe-bridge's decoder (kdtrace.h): its line callback
 * reports each frame while the frame's header, payload and trailer are
 * still in the decoder, and this file only labels those bytes. The DbgKd
 * fields are placed by the structures of bxkd/dbgkd.h; the prose is in
 * walkthrough_text.c.
 */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "bxkd/backdoor.h"
#include "bxkd/byteorder.h"
#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "bxkd/kdvm.h"
#include "bxkd/names.h"
#include "kdcom_engine.h"
#include "kdtrace.h"
#include "log.h"
#include "replay.h"
#include "replay_describe.h"
#include "session.h"
#include "session_file.h"
#include "walkthrough.h"

#define DESCRIPTION_MAX KDTRACE_LINE_MAX
/* A payload longer than this shows its first bytes only. */
#define PAYLOAD_SHOWN 256u

/* ---- labelled fields ------------------------------------------------------------------- */

#define FIELD(type, member, label) \
	{ label, offsetof(type, member), sizeof(((type *)0)->member), false }
#define TEXT_FIELD(type, member, label) \
	{ label, offsetof(type, member), sizeof(((type *)0)->member), true }
#define MANIPULATE(member, label) FIELD(struct dbgkd_manipulate_state64, member, label)
#define STATE_CHANGE(member, label) FIELD(struct dbgkd_any_wait_state_change, member, label)

struct field {
	const char *label;
	size_t offset, size;
	bool text; /* shown as characters, not as a number */
};

static const struct field manipulate_common[] = {
	MANIPULATE(api_number, "ApiNumber"),
	MANIPULATE(processor_level, "ProcessorLevel"),
	MANIPULATE(processor, "Processor"),
	MANIPULATE(return_status, "ReturnStatus"),
};

static const struct field manipulate_memory[] = {
	MANIPULATE(u.read_memory.target_base_address, "ReadMemory.TargetBaseAddress"),
	MANIPULATE(u.read_memory.transfer_count, "ReadMemory.TransferCount"),
	MANIPULATE(u.read_memory.actual_bytes, "ReadMemory.ActualBytesRead"),
};

static const struct field manipulate_breakpoint[] = {
	MANIPULATE(u.write_breakpoint.breakpoint_address, "WriteBreakPoint.BreakPointAddress"),
	MANIPULATE(u.write_breakpoint.breakpoint_handle, "WriteBreakPoint.BreakPointHandle"),
};

static const struct field manipulate_restore[] = {
	MANIPULATE(u.restore_breakpoint_handle, "RestoreBreakPoint.BreakPointHandle"),
};

static const struct field manipulate_continue2[] = {
	MANIPULATE(u.continue2.continue_status, "Continue2.ContinueStatus"),
	MANIPULATE(u.continue2.control_set.trace_flag, "Continue2.ControlSet.TraceFlag"),
	MANIPULATE(u.continue2.control_set.dr7, "Continue2.ControlSet.Dr7"),
};

static const struct field manipulate_version[] = {
	MANIPULATE(u.get_version.major_version, "GetVersion.MajorVersion"),
	MANIPULATE(u.get_version.minor_version, "GetVersion.MinorVersion (build)"),
	MANIPULATE(u.get_version.protocol_version, "GetVersion.ProtocolVersion"),
	MANIPULATE(u.get_version.flags, "GetVersion.Flags"),
	MANIPULATE(u.get_version.machine_type, "GetVersion.MachineType"),
	MANIPULATE(u.get_version.max_packet_type, "GetVersion.MaxPacketType"),
	MANIPULATE(u.get_version.max_state_change, "GetVersion.MaxStateChange"),
	MANIPULATE(u.get_version.max_manipulate, "GetVersion.MaxManipulate"),
	MANIPULATE(u.get_version.kern_base, "GetVersion.KernBase"),
	MANIPULATE(u.get_version.ps_loaded_module_list, "GetVersion.PsLoadedModuleList"),
	MANIPULATE(u.get_version.debugger_data_list, "GetVersion.DebuggerDataList"),
};

static const struct field state_change[] = {
	STATE_CHANGE(new_state, "NewState"),
	STATE_CHANGE(processor_level, "ProcessorLevel"),
	STATE_CHANGE(processor, "Processor"),
	STATE_CHANGE(number_processors, "NumberProcessors"),
	STATE_CHANGE(thread, "Thread"),
	STATE_CHANGE(program_counter, "ProgramCounter"),
	STATE_CHANGE(u.exception.record.exception_code, "Exception.ExceptionCode"),
	STATE_CHANGE(u.exception.record.exception_flags, "Exception.ExceptionFlags"),
	STATE_CHANGE(u.exception.record.exception_address, "Exception.ExceptionAddress"),
	STATE_CHANGE(u.exception.record.number_parameters, "Exception.NumberParameters"),
	STATE_CHANGE(u.exception.first_chance, "Exception.FirstChance"),
	STATE_CHANGE(control_report.x86.dr6, "ControlReport.Dr6"),
	STATE_CHANGE(control_report.x86.dr7, "ControlReport.Dr7"),
	STATE_CHANGE(control_report.x86.instruction_count, "ControlReport.InstructionCount"),
	STATE_CHANGE(control_report.x86.report_flags, "ControlReport.ReportFlags"),
	STATE_CHANGE(control_report.x86.instruction_stream, "ControlReport.InstructionStream"),
	STATE_CHANGE(control_report.x86.seg_cs, "ControlReport.SegCs"),
	STATE_CHANGE(control_report.x86.eflags, "ControlReport.EFlags"),
};

static const struct field debug_io[] = {
	FIELD(struct dbgkd_debug_io, api_number, "ApiNumber"),
	FIELD(struct dbgkd_debug_io, processor_level, "ProcessorLevel"),
	FIELD(struct dbgkd_debug_io, processor, "Processor"),
	FIELD(struct dbgkd_debug_io, u.length_of_string, "PrintString.LengthOfString"),
};

#define PAGE(member, label) FIELD(struct kdvm_page_header, member, label)

static const struct field page_header[] = {
	TEXT_FIELD(struct kdvm_page_header, signature, "signature"),	    PAGE(nonce, "nonce"),
	PAGE(version, "version"),	    PAGE(header_size, "header_size"),
	PAGE(request, "request"),	    PAGE(packet_type, "packet_type"),
	PAGE(header_length, "header_length"), PAGE(header_capacity, "header_capacity"),
	PAGE(data_length, "data_length"),   PAGE(data_capacity, "data_capacity"),
	PAGE(timeout_ms, "timeout_ms"),
};

static const struct field page_write_back[] = {
	PAGE(header_length, "header_length"), PAGE(header_capacity, "header_capacity"),
	PAGE(data_length, "data_length"),   PAGE(data_capacity, "data_capacity"),
	PAGE(timeout_ms, "timeout_ms"),	    PAGE(result, "result"),
	PAGE(flags, "flags"),		    PAGE(calls, "calls"),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct walk {
	FILE *out;
	uint16_t kd_command;
	struct kdtrace to_target, to_debugger;
	/* Frames are shown only inside a step; between steps the decoders
	 * still take every byte, so that a frame split across the edge of a
	 * step is whole when it is reported. */
	bool showing;
};

/* What a kdtrace line callback needs: which decoder called. */
struct tracer_context {
	struct walk *walk;
	struct kdtrace *trace;
};

static void hex_bytes(FILE *out, const uint8_t *bytes, size_t length)
{
	char text[3 * KDTRACE_HEX_ROW];

	for (size_t at = 0; at < length; at += KDTRACE_HEX_ROW) {
		size_t n = length - at < KDTRACE_HEX_ROW ? length - at : KDTRACE_HEX_ROW;
		kdtrace_hex(text, sizeof(text), bytes + at, n);
		fprintf(out, "%s%s", at ? " " : "", text);
	}
}

static void hex_dump(FILE *out, const uint8_t *bytes, size_t length)
{
	size_t shown = length < PAYLOAD_SHOWN ? length : PAYLOAD_SHOWN;

	fprintf(out, "```\n");
	for (size_t at = 0; at < shown; at += KDTRACE_HEX_ROW) {
		size_t n = shown - at < KDTRACE_HEX_ROW ? shown - at : KDTRACE_HEX_ROW;
		fprintf(out, "%04zx  ", at);
		hex_bytes(out, bytes + at, n);
		fputc('\n', out);
	}
	if (shown < length)
		fprintf(out, "... %zu more bytes\n", length - shown);
	fprintf(out, "```\n\n");
}

/* A little-endian field's value: numbers in hex, longer fields as bytes. */
static void field_value(FILE *out, const uint8_t *at, size_t size)
{
	switch (size) {
	case 1: fprintf(out, "0x%02x", at[0]); break;
	case 2: fprintf(out, "0x%04x", le_get16(at)); break;
	case 4: fprintf(out, "0x%08" PRIx32, le_get32(at)); break;
	case 8: fprintf(out, "0x%016" PRIx64, le_get64(at)); break;
	default: hex_bytes(out, at, size); break;
	}

}

/* Printable characters as they are, anything else as a dot. */
static void text_value(FILE *out, const uint8_t *at, size_t size)
{
	for (size_t i = 0; i < size; i++)
		fputc(at[i] >= 0x20 && at[i] < 0x7f && at[i] != '`' && at[i] != '|' ? at[i] : '.',
		      out);
}

/* The fields that lie wholly inside `length` bytes, as table rows. */
static void field_rows(FILE *out, const struct field *fields, size_t count, const uint8_t *bytes,
		       size_t length, size_t base)
{
	for (size_t i = 0; i < count; i++) {
		const struct field *f = &fields[i];
		if (f->offset + f->size > length)
			continue;
		fprintf(out, "| %zu | %zu | %s | `", base + f->offset, f->size, f->label);
		if (f->text)
			text_value(out, bytes + f->offset, f->size);
		else
			field_value(out, bytes + f->offset, f->size);
		fprintf(out, "` |\n");
	}
}

static void table_head(FILE *out, const char *first)
{
	fprintf(out, "| %s | size | field | value |\n|---:|---:|---|---|\n", first);
}

/* Each API's fields in the manipulate union; the memory APIs share one
 * layout. */
static const struct {
	uint32_t api;
	const struct field *fields;
	size_t count;
} manipulate_layouts[] = {
#define LAYOUT(api, fields) { api, fields, COUNT(fields) }
	LAYOUT(DBGKD_READ_VIRTUAL_MEMORY_API, manipulate_memory),
	LAYOUT(DBGKD_WRITE_VIRTUAL_MEMORY_API, manipulate_memory),
	LAYOUT(DBGKD_READ_PHYSICAL_MEMORY_API, manipulate_memory),
	LAYOUT(DBGKD_WRITE_PHYSICAL_MEMORY_API, manipulate_memory),
	LAYOUT(DBGKD_WRITE_BREAKPOINT_API, manipulate_breakpoint),
	LAYOUT(DBGKD_RESTORE_BREAKPOINT_API, manipulate_restore),
	LAYOUT(DBGKD_CONTINUE_API2, manipulate_continue2),
	LAYOUT(DBGKD_GET_VERSION_API, manipulate_version),
#undef LAYOUT
};

/* The fields of a manipulate request or reply's API. */
static void manipulate_api_rows(FILE *out, const uint8_t *p, size_t length)
{
	for (size_t i = 0; i < COUNT(manipulate_layouts); i++)
		if (manipulate_layouts[i].api == le_get32(p))
			field_rows(out, manipulate_layouts[i].fields, manipulate_layouts[i].count, p,
				   length, 0);
}

/* The DbgKd structure at the start of a KD packet, field by field, and
 * how many bytes it has (the rest is the packet's data). */
static size_t message_rows(FILE *out, uint16_t type, const uint8_t *p, size_t length)
{
	switch (type) {
	case KDCOM_TYPE_STATE_MANIPULATE:
		field_rows(out, manipulate_common, COUNT(manipulate_common), p, length, 0);
		if (length >= sizeof(struct dbgkd_manipulate_state64))
			manipulate_api_rows(out, p, length);
		return sizeof(struct dbgkd_manipulate_state64);
	case KDCOM_TYPE_STATE_CHANGE64:
		field_rows(out, state_change, COUNT(state_change), p, length, 0);
		return sizeof(struct dbgkd_any_wait_state_change);
	case KDCOM_TYPE_DEBUG_IO:
		field_rows(out, debug_io, COUNT(debug_io), p, length, 0);
		return sizeof(struct dbgkd_debug_io);
	default:
		return 0;
	}
}

static void show_message(FILE *out, uint16_t type, const uint8_t *p, size_t length,
			 enum kdtrace_direction direction)
{
	char description[DESCRIPTION_MAX];
	size_t header;

	kdtrace_describe_packet(type, p, length, direction, KDTRACE_TEXT, description,
				sizeof(description));
	fprintf(out, "The %s structure inside (%s):\n\n", kdcom_type_name(type), description);
	table_head(out, "offset");
	header = message_rows(out, type, p, length);
	if (header && length > header)
		fprintf(out, "| %zu | %zu | (data after the structure) | |\n", header,
			length - header);
	fputc('\n', out);
}

/* ---- frames, as the decoder reports them ----------------------------------------------- */

static void header_row(FILE *out, const uint8_t *h, size_t offset, size_t size, const char *label,
		       const char *meaning)
{
	fprintf(out, "| `");
	hex_bytes(out, h + offset, size);
	fprintf(out, "` | %s | %s |\n", label, meaning);
}

static void show_frame_header(FILE *out, const uint8_t *h, bool data)
{
	char meaning[160];
	uint16_t type = le_get16(h + offsetof(struct kdcom_header, type));
	uint32_t id = le_get32(h + offsetof(struct kdcom_header, id));

	fprintf(out, "| bytes | field | meaning |\n|---|---|---|\n");
	header_row(out, h, offsetof(struct kdcom_header, leader), 4, "leader",
		   data ? "`0000`: a data packet" : "`iiii`: a control packet");
	snprintf(meaning, sizeof(meaning), "%u, %s", type, kdcom_type_name(type));
	header_row(out, h, offsetof(struct kdcom_header, type), 2, "type", meaning);
	snprintf(meaning, sizeof(meaning), "%u payload bytes",
		 le_get16(h + offsetof(struct kdcom_header, byte_count)));
	header_row(out, h, offsetof(struct kdcom_header, byte_count), 2, "byte count", meaning);
	snprintf(meaning, sizeof(meaning), "0x%08" PRIx32 "%s", id,
		 (id & KDCOM_SYNC_ID) ? " (SYNC bit 0x800 set)" : "");
	header_row(out, h, offsetof(struct kdcom_header, id), 4, "id", meaning);
	snprintf(meaning, sizeof(meaning), "0x%08" PRIx32 "%s",
		 le_get32(h + offsetof(struct kdcom_header, checksum)),
		 data ? ", the byte sum of the payload" : ", always 0");
	header_row(out, h, offsetof(struct kdcom_header, checksum), 4, "checksum", meaning);
}

static void show_data_frame(FILE *out, const uint8_t *frame, size_t length,
			    enum kdtrace_direction direction)
{
	uint16_t type = le_get16(frame + offsetof(struct kdcom_header, type));
	size_t payload = length - KDCOM_HEADER_SIZE - 1;
	uint8_t trailer = frame[length - 1];

	show_frame_header(out, frame, true);
	fprintf(out, "| (%zu bytes, below) | payload | the KD packet |\n", payload);
	fprintf(out, "| `%02x` | trailer | %s |\n\n", trailer,
		trailer == KDCOM_TRAILER ? "0xAA, ends a data packet" : "wrong");
	fprintf(out, "Payload:\n\n");
	hex_dump(out, frame + KDCOM_HEADER_SIZE, payload);
	show_message(out, type, frame + KDCOM_HEADER_SIZE, payload, direction);
}

static void frame_line(void *ctx, const char *text)
{
	struct tracer_context *c = ctx;
	struct walk *w = c->walk;
	uint8_t frame[KDCOM_MAX_FRAME];
	enum kdtrace_event_kind kind;
	size_t length = kdtrace_event_bytes(c->trace, frame, sizeof(frame), &kind);

	if (!w->showing)
		return;
	fprintf(w->out, "`%s`\n\n", text);
	switch (kind) {
	case KDTRACE_EVENT_BREAKIN:
		fprintf(w->out, "| bytes | field | meaning |\n|---|---|---|\n"
				"| `%02x` | break-in | `b`, alone between packets |\n\n",
			frame[0]);
		break;
	case KDTRACE_EVENT_CONTROL:
		show_frame_header(w->out, frame, false);
		fputc('\n', w->out);
		break;
	case KDTRACE_EVENT_DATA:
		show_data_frame(w->out, frame, length, c->trace->config.direction);
		break;
	case KDTRACE_EVENT_OTHER:
		break;
	}
}

/* ---- records ----------------------------------------------------------------------------- */

static const char *const reg_names[SESSION_REGS] = { "EAX", "ECX", "EDX", "EBX",
						     "EBP", "ESI", "EDI" };

static void show_registers(FILE *out, const struct session_backdoor *b)
{
	fprintf(out, "| register | in | out |\n|---|---|---|\n");
	for (unsigned i = 0; i < SESSION_REGS; i++)
		fprintf(out, "| %s | `0x%08" PRIx32 "` | `0x%08" PRIx32 "`%s |\n", reg_names[i],
			b->regs_in[i], b->regs_out[i],
			b->regs_in[i] == b->regs_out[i] ? "" : " (changed)");
	fputc('\n', out);
}

/* One guest memory access of a KD CALL, and the page fields it holds. */
static void show_access(FILE *out, const struct session_access *a, const uint8_t *bytes,
			enum kdtrace_direction direction, uint16_t packet_type)
{
	uint64_t in_page = a->address % KDVM_PAGE_SIZE;
	size_t back = offsetof(struct kdvm_page_header, header_length);

	fprintf(out, "- the device %s %" PRIu32 " bytes at guest physical 0x%" PRIx64,
		a->write ? "wrote" : "read", a->length, a->address);
	if (!a->ok) {
		fprintf(out, " (failed: not RAM)\n\n");
		return;
	}
	if (in_page == 0 && a->length == sizeof(struct kdvm_page_header) && !a->write) {
		fprintf(out, ": the page header\n\n");
		table_head(out, "page offset");
		field_rows(out, page_header, COUNT(page_header), bytes, a->length, 0);
	} else if (in_page == back && a->write) {
		fprintf(out, ": the write-back\n\n");
		table_head(out, "page offset");
		/* The fields are placed by their offset in the page; the bytes
		 * start at header_length. */
		for (size_t i = 0; i < COUNT(page_write_back); i++) {
			const struct field *f = &page_write_back[i];
			if (f->offset < back || f->offset - back + f->size > a->length)
				continue;
			fprintf(out, "| %zu | %zu | %s | `", f->offset, f->size, f->label);
			field_value(out, bytes + f->offset - back, f->size);
			fprintf(out, "` |\n");
		}
	} else if (in_page == sizeof(struct kdvm_page_header)) {
		char description[DESCRIPTION_MAX];
		kdtrace_describe_packet(packet_type, bytes, a->length, direction, KDTRACE_TEXT,
					description, sizeof(description));
		fprintf(out, ": the payload, the KD packet without KDCOM framing (%s)\n\n",
			description);
		hex_dump(out, bytes, a->length);
		return;
	} else {
		fprintf(out, "\n");
		return;
	}
	fputc('\n', out);
}

static void show_backdoor(struct walk *w, const struct session_record *r, const char *summary)
{
	const struct session_backdoor *b = &r->u.backdoor.fixed;
	uint32_t ecx = b->regs_in[SESSION_ECX];
	struct session_access a;
	const uint8_t *bytes;
	uint32_t packet_type = 0, request = 0;

	fprintf(w->out, "**Record %" PRIu32 ", backdoor call** (`%s`): the guest's `%s` on port "
			"0x%04x; ECX's low half is the command (%u), its high half the KD "
			"subcommand (%s); EBX holds `bxKD`.\n\n",
		r->h.sequence, summary, b->direction ? "out" : "in", b->port, BDOOR_CMD(ecx),
		kdvm_subcommand_name(BDOOR_SUBCMD(ecx)) ? kdvm_subcommand_name(BDOOR_SUBCMD(ecx))
							: "none");
	show_registers(w->out, b);
	for (uint32_t i = 0; session_backdoor_access(r, i, &a, &bytes); i++) {
		if (a.ok && !a.write && a.length == sizeof(struct kdvm_page_header)) {
			request = le_get32(bytes + offsetof(struct kdvm_page_header, request));
			packet_type = le_get32(bytes + offsetof(struct kdvm_page_header, packet_type));
		}
		show_access(w->out, &a, bytes,
			    request == KDVM_REQUEST_SEND ? KDTRACE_TO_DEBUGGER : KDTRACE_TO_TARGET,
			    (uint16_t)packet_type);
	}
}

static void show_record(struct walk *w, const struct session_record *r)
{
	char summary[DESCRIPTION_MAX];

	replay_describe_record(r, w->kd_command, summary, sizeof(summary));
	switch (r->h.kind) {
	case SESSION_BACKDOOR:
		if (session_backdoor_is_kd_call(&r->u.backdoor.fixed, w->kd_command)) {
			show_backdoor(w, r, summary);
			return;
		}
		break;
	case SESSION_ENDPOINT:
		fprintf(w->out, "**Record %" PRIu32 ", the debugger's side** (`%s`)%s\n\n",
			r->h.sequence, summary, r->u.endpoint.length ? ":" : ".");
		return;
	default:
		break;
	}
	fprintf(w->out, "**Record %" PRIu32 "** (`%s`).\n\n", r->h.sequence, summary);
}

static void feed_endpoint(struct walk *w, const struct session_record *r)
{
	if (r->h.kind != SESSION_ENDPOINT)
		return;
	if (r->u.endpoint.fixed.event == KD_ENDPOINT_TO_DEBUGGER)
		kdtrace_feed(&w->to_debugger, r->u.endpoint.bytes, r->u.endpoint.length);
	else if (r->u.endpoint.fixed.event == KD_ENDPOINT_TO_TARGET)
		kdtrace_feed(&w->to_target, r->u.endpoint.bytes, r->u.endpoint.length);
}

/* ---- steps ---------------------------------------------------------------------------------- */

/* The KD packet of a kd host port send or receive that went through: a
 * step is found by them. */
static bool record_packet(const struct session_record *r, uint8_t op, uint16_t type,
			  uint32_t api)
{
	const struct session_kd_port *k = &r->u.kd_port.fixed;

	if (r->h.kind != SESSION_KD_PORT || k->op != op || k->result != KD_OK ||
	    k->packet_type != type)
		return false;
	if (!api)
		return true;
	return session_kd_port_bytes(k) >= 4 && le_get32(r->u.kd_port.bytes) == api;
}

static size_t find_packet(const struct session_file *f, size_t from, const struct step_packet *p)
{
	for (size_t i = from; i + 1 < f->count; i++)
		if (record_packet(&f->records[i], p->op, p->type, p->api))
			return i;
	return 0;
}

/* The backdoor call a record belongs to: the last one at or before it. */
static size_t call_start(const struct session_file *f, size_t i)
{
	while (i > 1 && f->records[i].h.kind != SESSION_BACKDOOR)
		i--;
	return i;
}

/* The last record of the call `i` belongs to. */
static size_t call_end(const struct session_file *f, size_t i)
{
	while (i + 2 < f->count && f->records[i + 1].h.kind != SESSION_BACKDOOR)
		i++;
	return i;
}

/* The records of each step, in order; false with the step's name in the
 * error when the session has no such exchange. */
static bool find_steps(const struct session_file *f, size_t first[], size_t last[])
{
	size_t after = 1;

	for (size_t s = 0; s < walkthrough_step_count; s++) {
		const struct walkthrough_step *step = &walkthrough_steps[s];
		size_t start = step->from.op ? find_packet(f, after, &step->from) : after;
		size_t end = start ? find_packet(f, start, &step->to) : 0;
		if (!start || !end) {
			bxkd_warn("the session has no exchange for step %zu, \"%s\"", s + 1,
				  step->title);
			return false;
		}
		first[s] = step->from.op ? call_start(f, start) : start;
		last[s] = call_end(f, end);
		after = last[s] + 1;
	}
	return true;
}

static bool walk_session(struct walk *w, const struct session_file *f, const char *name)
{
	size_t first[WALKTHROUGH_STEPS_MAX], last[WALKTHROUGH_STEPS_MAX];
	size_t step = 0;

	if (!find_steps(f, first, last))
		return false;
	walkthrough_intro(w->out, name, f->count);
	for (size_t i = 1; i + 1 < f->count; i++) {
		const struct session_record *r = &f->records[i];
		if (step < walkthrough_step_count && i == first[step]) {
			size_t gap_start = step ? last[step - 1] + 1 : 1;
			if (i > gap_start)
				fprintf(w->out, "*Records %zu to %zu are not shown here.*\n\n",
					gap_start, i - 1);
			walkthrough_step_heading(w->out, step);
			w->showing = true;
		}
		if (w->showing)
			show_record(w, r);
		feed_endpoint(w, r);
		if (w->showing && i == last[step]) {
			w->showing = false;
			step++;
		}
	}
	walkthrough_outro(w->out, last[walkthrough_step_count - 1] + 1, f->count - 1);
	return true;
}

int replay_walkthrough(int argc, char **argv)
{
	struct session_file file;
	struct walk w = { .out = stdout };
	struct tracer_context to_target = { .walk = &w, .trace = &w.to_target };
	struct tracer_context to_debugger = { .walk = &w, .trace = &w.to_debugger };
	struct kdtrace_config config;
	const char *name;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: bxkd-replay walkthrough SESSION\n");
		return REPLAY_EXIT_DONE;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: bxkd-replay walkthrough SESSION\n");
		return REPLAY_EXIT_USAGE;
	}
	if (!replay_read_whole(argv[1], &file))
		return REPLAY_EXIT_FAILED;
	w.kd_command = replay_manifest_kd_command(&file);
	kdtrace_config_init(&config, KDTRACE_TO_TARGET, frame_line, &to_target);
	kdtrace_init(&w.to_target, &config);
	kdtrace_config_init(&config, KDTRACE_TO_DEBUGGER, frame_line, &to_debugger);
	kdtrace_init(&w.to_debugger, &config);
	/* The document names the session by its file name, not the path it
	 * was given, so it is the same from any directory. */
	name = strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1];
	bool walked = walk_session(&w, &file, name);
	session_file_free(&file);
	return walked && fflush(stdout) == 0 ? REPLAY_EXIT_DONE : REPLAY_EXIT_FAILED;
}
