/*
 * kdtrace.c -- the KDCOM/KD decoder (see kdtrace.h).
 *
 * The frame scanner is the engine's receiver (kdcom_engine.c scan_leader,
 * handle_header, the trailer step) without its replies: the same bytes
 * make the same frames, garbage and break-ins, and the counters agree.
 * Every event becomes one line through a small field builder that writes
 * either "label=value" text or a JSON member, so both forms carry the
 * same facts. Every field read from a payload is inside a length the
 * payload was checked to have.
 */
#include "config.h"

#include "kdtrace.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bxkd/byteorder.h"
#include "bxkd/dbgkd.h"
#include "kdcom_engine.h"

#define LEADER_LENGTH 4u
/* Leading payload bytes shown for a message we do not decode. */
#define HEAD_BYTES 16u
/* A builder keeps this much room to end a line that had to drop fields. */
#define LINE_TAIL_RESERVE 32u
/* The longest escape of one byte: JSON's \u00XX. */
#define ESCAPED_BYTE_MAX 6u

/* NTSTATUS: the top two bits are the severity. */
#define NTSTATUS_SEVERITY_SHIFT 30
#define NTSTATUS_SEVERITY_WARNING 2u
#define NTSTATUS_SEVERITY_ERROR 3u
#define STATUS_ACCESS_VIOLATION 0xC0000005u

#define MANIPULATE_AT(member) offsetof(struct dbgkd_manipulate_state64, member)
#define STATE_CHANGE_AT(member) offsetof(struct dbgkd_any_wait_state_change, member)
#define DEBUG_IO_AT(member) offsetof(struct dbgkd_debug_io, member)
#define FILE_IO_AT(member) offsetof(struct dbgkd_file_io, member)

/* ---- escaping ----------------------------------------------------------------- */

/* Writes as many of the n bytes as fit in `size` (with a NUL), escaped for
 * a C-like text line or a JSON string body; returns the length written. */
static size_t escape(char *out, size_t size, const uint8_t *s, size_t n, bool for_json)
{
	size_t length = 0;

	for (size_t i = 0; i < n; i++) {
		char one[ESCAPED_BYTE_MAX + 1];
		uint8_t c = s[i];
		switch (c) {
		case '"':
			strcpy(one, "\\\"");
			break;
		case '\\':
			strcpy(one, "\\\\");
			break;
		case '\n':
			strcpy(one, "\\n");
			break;
		case '\r':
			strcpy(one, "\\r");
			break;
		case '\t':
			strcpy(one, "\\t");
			break;
		default:
			if (c >= 0x20 && c < 0x7f)
				snprintf(one, sizeof(one), "%c", c);
			else
				snprintf(one, sizeof(one), for_json ? "\\u%04x" : "\\x%02x", c);
		}
		size_t w = strlen(one);
		if (length + w >= size)
			break;
		memcpy(out + length, one, w);
		length += w;
	}
	if (size)
		out[length] = '\0';
	return length;
}

size_t kdtrace_json_string(char *out, size_t size, const char *text)
{
	size_t n = strlen(text);
	size_t need = 2;
	char scratch[ESCAPED_BYTE_MAX + 1];

	for (size_t i = 0; i < n; i++)
		need += escape(scratch, sizeof(scratch), (const uint8_t *)text + i, 1, true);
	if (size == 0)
		return need;
	if (need >= size) {
		out[0] = '\0';
		return need;
	}
	out[0] = '"';
	size_t body = escape(out + 1, size - 1, (const uint8_t *)text, n, true);
	out[1 + body] = '"';
	out[2 + body] = '\0';
	return need;
}

/* ---- the line builder --------------------------------------------------------------- */

static bool json(const struct kdtrace *t)
{
	return t->config.format == KDTRACE_JSON;
}

static void appendf(struct kdtrace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends a whole piece or, when it does not fit, nothing: a line that
 * runs out of room loses fields, never half of one. */
static void appendf(struct kdtrace *t, const char *fmt, ...)
{
	size_t room = sizeof(t->line) - LINE_TAIL_RESERVE - t->line_length;
	va_list ap;

	if (t->line_overflow)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(t->line + t->line_length, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		t->line[t->line_length] = '\0';
		t->line_overflow = true;
		return;
	}
	t->line_length += (size_t)n;
}

static void begin(struct kdtrace *t, const char *kind, uint64_t offset)
{
	const char *dir = kdtrace_direction_tag(t->config.direction);

	t->line_length = 0;
	t->line[0] = '\0';
	t->line_overflow = false;
	if (json(t))
		appendf(t, "{\"dir\":\"%s\",\"kind\":\"%s\",\"offset\":%" PRIu64, dir, kind,
			offset);
	else
		appendf(t, "%s", dir);
}

static void finish(struct kdtrace *t)
{
	/* The reserve guarantees room for the ending. */
	const char *end = json(t) ? (t->line_overflow ? ",\"truncated\":true}" : "}")
				  : (t->line_overflow ? " ..." : "");
	size_t n = strlen(end);

	memcpy(t->line + t->line_length, end, n + 1);
	t->line_length += n;
	if (t->config.line)
		t->config.line(t->config.ctx, t->line);
}

/*
 * Fields. `key` names the JSON member; `label` the text: NULL leaves the
 * field out of text lines, "" shows the bare value, anything else shows
 * label=value.
 */
static void field_uint(struct kdtrace *t, const char *key, const char *label, uint64_t v)
{
	if (json(t))
		appendf(t, ",\"%s\":%" PRIu64, key, v);
	else if (label && *label)
		appendf(t, " %s=%" PRIu64, label, v);
	else if (label)
		appendf(t, " %" PRIu64, v);
}

static void field_hex(struct kdtrace *t, const char *key, const char *label, uint64_t v, int digits)
{
	if (json(t))
		appendf(t, ",\"%s\":\"0x%0*" PRIx64 "\"", key, digits, v);
	else if (label && *label)
		appendf(t, " %s=0x%0*" PRIx64, label, digits, v);
	else if (label)
		appendf(t, " 0x%0*" PRIx64, digits, v);
}

static void field_hex32(struct kdtrace *t, const char *key, const char *label, uint32_t v)
{
	field_hex(t, key, label, v, 8);
}

static void field_hex64(struct kdtrace *t, const char *key, const char *label, uint64_t v)
{
	field_hex(t, key, label, v, 16);
}

/* `word` is one of ours, never from the wire: it needs no escaping. */
static void field_word(struct kdtrace *t, const char *key, const char *label, const char *word)
{
	if (json(t))
		appendf(t, ",\"%s\":\"%s\"", key, word);
	else if (label && *label)
		appendf(t, " %s=%s", label, word);
	else if (label)
		appendf(t, " %s", word);
}

/* JSON true/false; text shows the word for the case, if any. */
static void field_flag(struct kdtrace *t, const char *key, bool v, const char *if_true,
		       const char *if_false)
{
	const char *word = v ? if_true : if_false;

	if (json(t))
		appendf(t, ",\"%s\":%s", key, v ? "true" : "false");
	else if (word)
		appendf(t, " %s", word);
}

/* Bytes from the wire as a quoted, escaped string, showing at most
 * KDTRACE_TEXT_MAX of the `total` the wire had. */
static void field_text(struct kdtrace *t, const char *key, const char *label, const uint8_t *s,
		       size_t n, size_t total)
{
	char escaped[KDTRACE_TEXT_MAX * ESCAPED_BYTE_MAX + 1];

	if (n > KDTRACE_TEXT_MAX)
		n = KDTRACE_TEXT_MAX;
	escape(escaped, sizeof(escaped), s, n, json(t));
	if (json(t)) {
		appendf(t, ",\"%s\":\"%s\"", key, escaped);
		if (total > n)
			appendf(t, ",\"%s_length\":%zu", key, total);
	} else if (label) {
		appendf(t, " %s%s\"%s\"", label, *label ? "=" : "", escaped);
		if (total > n)
			appendf(t, "...(%zu bytes)", total);
	}
}

/* Text from our caller, trusted to be a line's worth of printable text. */
static void field_caller_text(struct kdtrace *t, const char *key, const char *text)
{
	char quoted[KDTRACE_TEXT_MAX * ESCAPED_BYTE_MAX + 3];

	if (!json(t)) {
		appendf(t, " %s", text);
	} else if (kdtrace_json_string(quoted, sizeof(quoted), text) < sizeof(quoted)) {
		appendf(t, ",\"%s\":%s", key, quoted);
	} else {
		appendf(t, ",\"%s\":\"(too long)\"", key);
	}
}

/* Bytes as hex digits, for what we do not decode. */
static void field_head(struct kdtrace *t, const uint8_t *s, size_t n)
{
	char hex[2 * HEAD_BYTES + 1];

	if (n > HEAD_BYTES)
		n = HEAD_BYTES;
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", s[i]);
	hex[2 * n] = '\0';
	field_word(t, "head", "head", hex);
}

/* Only in text lines, e.g. the ':' between the frame and its message. */
static void text_only(struct kdtrace *t, const char *text)
{
	if (!json(t))
		appendf(t, "%s", text);
}

/* ---- names ------------------------------------------------------------------------- */

const char *kdtrace_direction_tag(enum kdtrace_direction direction)
{
	return direction == KDTRACE_TO_TARGET ? "d2t" : "t2d";
}

/* dbgkd.h names what it does not know "unknown ...". */
static bool known_name(const char *name)
{
	return strncmp(name, "unknown", strlen("unknown")) != 0;
}

static const char *control_name(uint16_t type)
{
	switch (type) {
	case KDCOM_TYPE_ACKNOWLEDGE:
		return "ACK";
	case KDCOM_TYPE_RESEND:
		return "RESEND";
	case KDCOM_TYPE_RESET:
		return "RESET";
	default:
		return NULL;
	}
}

static const char *status_name(uint32_t status)
{
	switch (status) {
	case DBGKD_STATUS_SUCCESS:
		return "success";
	case DBGKD_STATUS_UNSUCCESSFUL:
		return "unsuccessful";
	case DBGKD_STATUS_INVALID_PARAMETER:
		return "invalid-parameter";
	case DBGKD_STATUS_DATATYPE_MISALIGNMENT:
		return "datatype-misalignment";
	}
	switch (status >> NTSTATUS_SEVERITY_SHIFT) {
	case NTSTATUS_SEVERITY_ERROR:
		return "error";
	case NTSTATUS_SEVERITY_WARNING:
		return "warning";
	default:
		return "success";
	}
}

static const char *exception_name(uint32_t code)
{
	switch (code) {
	case DBGKD_STATUS_BREAKPOINT:
		return "breakpoint";
	case DBGKD_STATUS_SINGLE_STEP:
		return "single-step";
	case STATUS_ACCESS_VIOLATION:
		return "access-violation";
	default:
		return NULL;
	}
}

static const char *continue_name(uint32_t status)
{
	switch (status) {
	case DBGKD_DBG_CONTINUE:
		return "DBG_CONTINUE";
	case DBGKD_DBG_EXCEPTION_HANDLED:
		return "DBG_EXCEPTION_HANDLED";
	case DBGKD_DBG_EXCEPTION_NOT_HANDLED:
		return "DBG_EXCEPTION_NOT_HANDLED";
	default:
		return NULL;
	}
}

static const char *machine_name(uint16_t machine)
{
	switch (machine) {
	case DBGKD_MACHINE_I386:
		return "i386";
	case DBGKD_MACHINE_AMD64:
		return "AMD64";
	default:
		return NULL;
	}
}

static const char *file_io_name(uint32_t api)
{
	switch (api) {
	case DBGKD_CREATE_FILE_API:
		return "CreateFile";
	case DBGKD_READ_FILE_API:
		return "ReadFile";
	case DBGKD_WRITE_FILE_API:
		return "WriteFile";
	case DBGKD_CLOSE_FILE_API:
		return "CloseFile";
	default:
		return NULL;
	}
}

static const char *control_request_name(uint32_t api)
{
	switch (api) {
	case DBGKD_REQUEST_HARDWARE_BP:
		return "RequestHardwareBp";
	case DBGKD_RELEASE_HARDWARE_BP:
		return "ReleaseHardwareBp";
	default:
		return NULL;
	}
}

/* ---- message fields shared by several decoders -------------------------------------- */

/* The API (or state) name, or the number when it has none. */
static void field_api(struct kdtrace *t, const char *name, uint32_t api)
{
	bool known = name && known_name(name);

	field_word(t, "api", "", known ? name : "unknown");
	field_hex32(t, "api_number", known ? NULL : "api", api);
}

static void field_status(struct kdtrace *t, uint32_t status)
{
	field_hex32(t, "status", "status", status);
	field_word(t, "status_name", "", status_name(status));
}

static void field_named_hex32(struct kdtrace *t, const char *key, const char *label, uint32_t v,
			      const char *name)
{
	field_hex32(t, key, label, v);
	if (name) {
		char name_key[64];
		snprintf(name_key, sizeof(name_key), "%s_name", key);
		field_word(t, name_key, "", name);
	}
}

/* A payload shorter than its message header: say so, show its start. */
static bool long_enough(struct kdtrace *t, const uint8_t *p, size_t length, size_t need)
{
	if (length >= need)
		return true;
	field_uint(t, "needs", "needs", need);
	if (length)
		field_head(t, p, length);
	return false;
}

/* ---- STATE_MANIPULATE ------------------------------------------------------------- */

static bool is_memory_api(uint32_t api)
{
	switch (api) {
	case DBGKD_READ_VIRTUAL_MEMORY_API:
	case DBGKD_WRITE_VIRTUAL_MEMORY_API:
	case DBGKD_READ_PHYSICAL_MEMORY_API:
	case DBGKD_WRITE_PHYSICAL_MEMORY_API:
	case DBGKD_READ_CONTROL_SPACE_API:
	case DBGKD_WRITE_CONTROL_SPACE_API:
		return true;
	default:
		return false;
	}
}

/* APIs that act on the processor the request names. */
static bool is_processor_api(uint32_t api)
{
	switch (api) {
	case DBGKD_GET_CONTEXT_API:
	case DBGKD_SET_CONTEXT_API:
	case DBGKD_READ_CONTROL_SPACE_API:
	case DBGKD_WRITE_CONTROL_SPACE_API:
	case DBGKD_SWITCH_PROCESSOR:
	case DBGKD_GET_CONTEXT_EX_API:
	case DBGKD_SET_CONTEXT_EX_API:
		return true;
	default:
		return false;
	}
}

static void manipulate_memory(struct kdtrace *t, const uint8_t *p, uint32_t api, bool reply)
{
	uint32_t actual = le_get32(p + MANIPULATE_AT(u.read_memory.actual_bytes));

	field_hex64(t, "address", "address",
		    le_get64(p + MANIPULATE_AT(u.read_memory.target_base_address)));
	field_uint(t, "count", "count", le_get32(p + MANIPULATE_AT(u.read_memory.transfer_count)));
	if (reply)
		field_uint(t, "actual", "actual", actual);
	else if ((api == DBGKD_READ_PHYSICAL_MEMORY_API ||
		  api == DBGKD_WRITE_PHYSICAL_MEMORY_API) &&
		 actual)
		field_uint(t, "caching", "caching", actual); /* physical requests carry it there */
}

static void manipulate_get_version(struct kdtrace *t, const uint8_t *p)
{
	uint16_t machine = le_get16(p + MANIPULATE_AT(u.get_version.machine_type));

	field_hex(t, "version", "version", le_get16(p + MANIPULATE_AT(u.get_version.major_version)),
		  4);
	field_uint(t, "build", "build", le_get16(p + MANIPULATE_AT(u.get_version.minor_version)));
	field_uint(t, "protocol", "protocol", p[MANIPULATE_AT(u.get_version.protocol_version)]);
	field_hex(t, "flags", "flags", le_get16(p + MANIPULATE_AT(u.get_version.flags)), 4);
	field_hex(t, "machine", "machine", machine, 4);
	if (machine_name(machine))
		field_word(t, "machine_name", "", machine_name(machine));
	field_hex64(t, "kern_base", "KernBase", le_get64(p + MANIPULATE_AT(u.get_version.kern_base)));
	field_hex64(t, "ps_loaded_module_list", "PsLoadedModuleList",
		    le_get64(p + MANIPULATE_AT(u.get_version.ps_loaded_module_list)));
	field_hex64(t, "debugger_data_list", "DebuggerDataList",
		    le_get64(p + MANIPULATE_AT(u.get_version.debugger_data_list)));
}

static void manipulate_continue2(struct kdtrace *t, const uint8_t *p)
{
	uint32_t status = le_get32(p + MANIPULATE_AT(u.continue2.continue_status));

	field_named_hex32(t, "continue_status", "continue", status, continue_name(status));
	field_uint(t, "trace_flag", "TraceFlag",
		   le_get32(p + MANIPULATE_AT(u.continue2.control_set.trace_flag)));
	field_hex32(t, "dr7", "Dr7", le_get32(p + MANIPULATE_AT(u.continue2.control_set.dr7)));
	field_hex32(t, "current_symbol_start", NULL,
		    le_get32(p + MANIPULATE_AT(u.continue2.control_set.current_symbol_start)));
	field_hex32(t, "current_symbol_end", NULL,
		    le_get32(p + MANIPULATE_AT(u.continue2.control_set.current_symbol_end)));
}

/* The union member of each API; reply-only fields only in replies. */
static void manipulate_fields(struct kdtrace *t, const uint8_t *p, uint32_t api, bool reply)
{
	if (is_memory_api(api)) {
		manipulate_memory(t, p, api, reply);
		return;
	}
	switch (api) {
	case DBGKD_SET_CONTEXT_API:
		field_hex32(t, "context_flags", "flags",
			    le_get32(p + MANIPULATE_AT(u.set_context_flags)));
		return;
	case DBGKD_WRITE_BREAKPOINT_API:
		field_hex64(t, "address", "address",
			    le_get64(p + MANIPULATE_AT(u.write_breakpoint.breakpoint_address)));
		if (reply)
			field_uint(t, "handle", "handle",
				   le_get32(p + MANIPULATE_AT(u.write_breakpoint.breakpoint_handle)));
		return;
	case DBGKD_RESTORE_BREAKPOINT_API:
		field_uint(t, "handle", "handle",
			   le_get32(p + MANIPULATE_AT(u.restore_breakpoint_handle)));
		return;
	case DBGKD_CONTINUE_API: {
		uint32_t status = le_get32(p + MANIPULATE_AT(u.continue_status));
		field_named_hex32(t, "continue_status", "continue", status, continue_name(status));
		return;
	}
	case DBGKD_CONTINUE_API2:
		manipulate_continue2(t, p);
		return;
	case DBGKD_READ_IO_SPACE_API:
	case DBGKD_WRITE_IO_SPACE_API:
		field_hex64(t, "address", "address", le_get64(p + MANIPULATE_AT(u.io.io_address)));
		field_uint(t, "size", "size", le_get32(p + MANIPULATE_AT(u.io.data_size)));
		if (reply == (api == DBGKD_READ_IO_SPACE_API))
			field_hex32(t, "value", "value", le_get32(p + MANIPULATE_AT(u.io.data_value)));
		return;
	case DBGKD_READ_MSR_API:
	case DBGKD_WRITE_MSR_API:
		field_hex32(t, "msr", "msr", le_get32(p + MANIPULATE_AT(u.msr.msr)));
		if (reply == (api == DBGKD_READ_MSR_API)) {
			uint64_t high = le_get32(p + MANIPULATE_AT(u.msr.data_value_high));
			uint64_t low = le_get32(p + MANIPULATE_AT(u.msr.data_value_low));
			field_hex64(t, "value", "value", high << 32 | low);
		}
		return;
	case DBGKD_GET_VERSION_API:
		if (reply)
			manipulate_get_version(t, p);
		return;
	case DBGKD_QUERY_MEMORY_API:
		field_hex64(t, "address", "address",
			    le_get64(p + MANIPULATE_AT(u.query_memory.address)));
		field_uint(t, "address_space", "space",
			   le_get32(p + MANIPULATE_AT(u.query_memory.address_space)));
		if (reply)
			field_hex32(t, "flags", "flags",
				    le_get32(p + MANIPULATE_AT(u.query_memory.flags)));
		return;
	case DBGKD_GET_CONTEXT_EX_API:
	case DBGKD_SET_CONTEXT_EX_API:
		field_uint(t, "context_offset", "offset",
			   le_get32(p + MANIPULATE_AT(u.context_ex.offset)));
		field_uint(t, "count", "count", le_get32(p + MANIPULATE_AT(u.context_ex.byte_count)));
		if (reply)
			field_uint(t, "copied", "copied",
				   le_get32(p + MANIPULATE_AT(u.context_ex.bytes_copied)));
		return;
	default:
		return;
	}
}

static void decode_manipulate(struct kdtrace *t, const uint8_t *p, size_t length)
{
	const size_t header = sizeof(struct dbgkd_manipulate_state64);
	bool reply = t->config.direction == KDTRACE_TO_DEBUGGER;
	uint32_t api = le_get32(p + MANIPULATE_AT(api_number));
	field_api(t, dbgkd_manipulate_name(api), api);
	field_word(t, "message", "", reply ? "reply" : "request");
	if (is_processor_api(api))
		field_uint(t, "processor", "cpu", le_get16(p + MANIPULATE_AT(processor)));
	if (reply)
		field_status(t, le_get32(p + MANIPULATE_AT(return_status)));
	manipulate_fields(t, p, api, reply);
	if (length > header)
		field_uint(t, "data_length", "data", length - header);
}

/* ---- STATE_CHANGE64 ------------------------------------------------------------------ */

static void state_change_exception(struct kdtrace *t, const uint8_t *p)
{
	uint32_t code = le_get32(p + STATE_CHANGE_AT(u.exception.record.exception_code));

	field_named_hex32(t, "code", "code", code, exception_name(code));
	field_hex64(t, "address", "address",
		    le_get64(p + STATE_CHANGE_AT(u.exception.record.exception_address)));
	field_hex32(t, "exception_flags", NULL,
		    le_get32(p + STATE_CHANGE_AT(u.exception.record.exception_flags)));
	field_flag(t, "first_chance", le_get32(p + STATE_CHANGE_AT(u.exception.first_chance)) != 0,
		   "first-chance", "second-chance");
}

/* The path follows the 240-byte header; its length counts the NUL. */
static void state_change_load_symbols(struct kdtrace *t, const uint8_t *p, size_t length)
{
	const size_t header = sizeof(struct dbgkd_any_wait_state_change);
	size_t declared = le_get32(p + STATE_CHANGE_AT(u.load_symbols.path_name_length));
	size_t path = length - header;

	field_flag(t, "unload", p[STATE_CHANGE_AT(u.load_symbols.unload_symbols)] != 0, "unload",
		   "load");
	if (declared < path)
		path = declared;
	const uint8_t *nul = memchr(p + header, '\0', path);
	if (nul)
		path = (size_t)(nul - (p + header));
	field_text(t, "path", "", p + header, path, path);
	field_hex64(t, "base", "base", le_get64(p + STATE_CHANGE_AT(u.load_symbols.base_of_dll)));
	field_hex32(t, "size", "size", le_get32(p + STATE_CHANGE_AT(u.load_symbols.size_of_image)));
	field_hex32(t, "image_checksum", NULL,
		    le_get32(p + STATE_CHANGE_AT(u.load_symbols.check_sum)));
	field_hex64(t, "process_id", NULL, le_get64(p + STATE_CHANGE_AT(u.load_symbols.process_id)));
}

static void decode_state_change(struct kdtrace *t, const uint8_t *p, size_t length)
{
	const size_t header = sizeof(struct dbgkd_any_wait_state_change);
	uint32_t state = le_get32(p + STATE_CHANGE_AT(new_state));
	uint16_t processor = le_get16(p + STATE_CHANGE_AT(processor));
	uint32_t processors = le_get32(p + STATE_CHANGE_AT(number_processors));
	field_api(t, dbgkd_state_change_name(state), state);
	field_flag(t, "alternate", (state & DBGKD_ALTERNATE_STATE_CHANGE) != 0, "alternate", NULL);
	field_uint(t, "processor", NULL, processor);
	field_uint(t, "processors", NULL, processors);
	if (!json(t))
		appendf(t, " cpu=%u/%" PRIu32, (unsigned)processor, processors);
	field_hex64(t, "pc", "pc", le_get64(p + STATE_CHANGE_AT(program_counter)));
	field_hex64(t, "thread", NULL, le_get64(p + STATE_CHANGE_AT(thread)));
	switch (state & ~DBGKD_ALTERNATE_STATE_CHANGE) {
	case DBGKD_EXCEPTION_STATE_CHANGE:
		state_change_exception(t, p);
		break;
	case DBGKD_LOAD_SYMBOLS_STATE_CHANGE:
		state_change_load_symbols(t, p, length);
		return;
	case DBGKD_COMMAND_STRING_STATE_CHANGE:
		/* Name and command, each NUL-terminated, after the header. */
		field_text(t, "text", "", p + header, length - header, length - header);
		return;
	default:
		break;
	}
	if (length > header)
		field_uint(t, "data_length", "data", length - header);
}

/* ---- DEBUG_IO, FILE_IO and the rest ------------------------------------------------------ */

static void decode_debug_io(struct kdtrace *t, const uint8_t *p, size_t length)
{
	const size_t header = sizeof(struct dbgkd_debug_io);
	uint32_t api = le_get32(p + DEBUG_IO_AT(api_number));
	const uint8_t *data = p + header;
	size_t data_length = length - header;
	switch (api) {
	case DBGKD_PRINT_STRING_API: {
		uint32_t declared = le_get32(p + DEBUG_IO_AT(u.length_of_string));
		field_api(t, "PrintString", api);
		field_uint(t, "processor", "cpu", le_get16(p + DEBUG_IO_AT(processor)));
		field_text(t, "text", "", data, data_length, data_length);
		if (declared != data_length)
			field_uint(t, "length_of_string", "declared", declared);
		return;
	}
	case DBGKD_GET_STRING_API: {
		bool prompt = t->config.direction == KDTRACE_TO_DEBUGGER;
		field_api(t, "GetString", api);
		field_word(t, "message", "", prompt ? "prompt" : "reply");
		field_uint(t, "processor", "cpu", le_get16(p + DEBUG_IO_AT(processor)));
		field_text(t, "text", "", data, data_length, data_length);
		field_uint(t, "length_of_string_read", prompt ? "max" : "read",
			   le_get32(p + DEBUG_IO_AT(u.get_string.length_of_string_read)));
		return;
	}
	default:
		field_api(t, NULL, api);
		field_head(t, p, length);
		return;
	}
}

static void decode_file_io(struct kdtrace *t, const uint8_t *p, size_t length)
{
	uint32_t api = le_get32(p);

	field_api(t, file_io_name(api), api);
	if (length >= FILE_IO_AT(status) + 4)
		field_status(t, le_get32(p + FILE_IO_AT(status)));
	if (length > sizeof(struct dbgkd_file_io))
		field_uint(t, "data_length", "data", length - sizeof(struct dbgkd_file_io));
}

/* Types we name by API only, with the first bytes. */
static void decode_other(struct kdtrace *t, uint16_t type, const uint8_t *p, size_t length)
{
	uint32_t api = le_get32(p);
	const char *name = NULL;

	if (type == KDCOM_TYPE_STATE_CHANGE32)
		name = dbgkd_state_change_name(api);
	else if (type == KDCOM_TYPE_TRACE_IO && api == DBGKD_PRINT_TRACE_API)
		name = "PrintTrace";
	else if (type == KDCOM_TYPE_CONTROL_REQUEST)
		name = control_request_name(api);
	field_api(t, name, api);
	field_head(t, p, length);
}

/* The decoders above read their type's whole message header: checked here. */
static void decode_message(struct kdtrace *t, uint16_t type, const uint8_t *p, size_t length)
{
	if (!long_enough(t, p, length, kdcom_message_header_size(type)))
		return;
	switch (type) {
	case KDCOM_TYPE_STATE_MANIPULATE:
		decode_manipulate(t, p, length);
		return;
	case KDCOM_TYPE_STATE_CHANGE64:
		decode_state_change(t, p, length);
		return;
	case KDCOM_TYPE_DEBUG_IO:
		decode_debug_io(t, p, length);
		return;
	case KDCOM_TYPE_FILE_IO:
		decode_file_io(t, p, length);
		return;
	default:
		decode_other(t, type, p, length);
		return;
	}
}

/* ---- frames --------------------------------------------------------------------------- */

static void restart_scan(struct kdtrace *t)
{
	t->state = KDTRACE_SCAN_LEADER;
	t->leader_count = 0;
	t->header_fill = 0;
	t->payload_fill = 0;
}

static void add_garbage(struct kdtrace *t, uint8_t b, uint64_t offset)
{
	if (!t->garbage_run)
		t->garbage_start = offset;
	if (t->garbage_run < KDTRACE_GARBAGE_SAMPLE)
		t->garbage_sample[t->garbage_run] = b;
	t->garbage_run++;
	t->stats.garbage_bytes++;
}

/* A leader broken off before its fourth byte was garbage after all. */
static void leader_to_garbage(struct kdtrace *t)
{
	for (unsigned i = 0; i < t->leader_count; i++)
		add_garbage(t, t->leader_byte, t->leader_start + i);
	t->leader_count = 0;
}

static void report_garbage(struct kdtrace *t)
{
	size_t shown = t->garbage_run < KDTRACE_GARBAGE_SAMPLE ? (size_t)t->garbage_run
							       : KDTRACE_GARBAGE_SAMPLE;

	if (!t->garbage_run)
		return;
	begin(t, "garbage", t->garbage_start);
	text_only(t, " garbage");
	field_uint(t, "bytes", "bytes", t->garbage_run);
	field_text(t, "head", "head", t->garbage_sample, shown, t->garbage_run);
	finish(t);
	t->garbage_run = 0;
}

static void control_frame(struct kdtrace *t)
{
	uint16_t type = le_get16(t->header + 4);
	uint16_t count = le_get16(t->header + 6);
	uint32_t id = le_get32(t->header + 8);
	uint32_t checksum = le_get32(t->header + 12);
	const char *name = control_name(type);
	/* What the engine takes (kdcom_engine.c handle_control): no length, no
	 * checksum, and id 0 except on an ACK. */
	bool ok =
		name && count == 0 && checksum == 0 && (type == KDCOM_TYPE_ACKNOWLEDGE || id == 0);

	t->stats.frames++;
	t->stats.control_frames++;
	if (!ok)
		t->stats.bad_frames++;
	else if (type == KDCOM_TYPE_ACKNOWLEDGE)
		t->stats.acks++;
	else if (type == KDCOM_TYPE_RESEND)
		t->stats.resends++;
	else
		t->stats.resets++;

	begin(t, "control", t->leader_start);
	if (name) {
		field_word(t, "type", "", name);
	} else {
		field_word(t, "type", "", "unknown");
		field_uint(t, "type_number", "control type", type);
	}
	field_hex32(t, "id", type == KDCOM_TYPE_ACKNOWLEDGE || id ? "id" : NULL, id);
	if (type == KDCOM_TYPE_ACKNOWLEDGE)
		field_flag(t, "sync", (id & KDCOM_SYNC_ID) != 0, "SYNC", NULL);
	field_uint(t, "length", count ? "length" : NULL, count);
	field_hex32(t, "checksum", checksum ? "checksum" : NULL, checksum);
	field_flag(t, "ok", ok, NULL, "malformed, ignored");
	finish(t);
}

static void data_frame(struct kdtrace *t, uint8_t trailer)
{
	uint16_t type = le_get16(t->header + 4);
	uint16_t length = le_get16(t->header + 6);
	uint32_t id = le_get32(t->header + 8);
	uint32_t checksum = le_get32(t->header + 12);
	uint32_t sum = kdcom_checksum(t->payload, length);
	bool trailer_ok = trailer == KDCOM_TRAILER;
	bool checksum_ok = sum == checksum;
	bool type_ok = kdcom_type_matches_payload(type, t->payload, length);
	bool too_short = length < kdcom_message_header_size(type);

	/* Counted as the engine does: it looks at the trailer first, then the
	 * checksum, then whether type and API number agree. */
	t->stats.frames++;
	t->stats.data_frames++;
	if (!trailer_ok || (checksum_ok && !type_ok))
		t->stats.bad_frames++;
	else if (!checksum_ok)
		t->stats.bad_checksums++;

	begin(t, "data", t->leader_start);
	field_word(t, "type", "", kdcom_type_name(type));
	field_hex32(t, "id", "id", id);
	field_flag(t, "sync", (id & KDCOM_SYNC_ID) != 0, "SYNC", NULL);
	field_uint(t, "length", "length", length);
	field_flag(t, "checksum_ok", checksum_ok, "checksum ok", "checksum BAD");
	field_hex32(t, "checksum", checksum_ok ? NULL : "header", checksum);
	field_hex32(t, "payload_sum", checksum_ok ? NULL : "sum", sum);
	field_flag(t, "trailer_ok", trailer_ok, "trailer ok", "trailer BAD");
	field_hex(t, "trailer", trailer_ok ? NULL : "got", trailer, 2);
	field_flag(t, "type_ok", type_ok, NULL, too_short ? "too short" : "type/API mismatch");
	text_only(t, ":");
	decode_message(t, type, t->payload, length);
	finish(t);
}

/* A data header the engine refuses: it asks for a RESEND and rescans. */
static void damaged_header(struct kdtrace *t, uint16_t type, uint16_t count)
{
	t->stats.bad_frames++;
	begin(t, "damaged", t->leader_start);
	text_only(t, " damaged frame");
	field_word(t, "type", kdcom_is_data_type(type) ? "" : NULL, kdcom_type_name(type));
	field_uint(t, "type_number", kdcom_is_data_type(type) ? NULL : "type", type);
	field_hex32(t, "id", "id", le_get32(t->header + 8));
	field_uint(t, "length", "length", count);
	text_only(t, ":");
	field_word(t, "reason", "",
		   count > KDCOM_MAX_PAYLOAD ? "length over 4000" : "not a data type");
	text_only(t, ", rescanning");
	finish(t);
}

static void header_complete(struct kdtrace *t)
{
	uint16_t type = le_get16(t->header + 4);
	uint16_t count = le_get16(t->header + 6);

	if (le_get32(t->header) == KDCOM_CONTROL_LEADER) {
		restart_scan(t);
		control_frame(t);
		return;
	}
	if (count > KDCOM_MAX_PAYLOAD || !kdcom_is_data_type(type)) {
		restart_scan(t);
		damaged_header(t, type, count);
		return;
	}
	t->payload_fill = 0;
	t->state = count ? KDTRACE_READ_PAYLOAD : KDTRACE_READ_TRAILER;
}

static void breakin(struct kdtrace *t)
{
	t->stats.breakins++;
	begin(t, "breakin", t->offset);
	text_only(t, " break-in");
	finish(t);
}

/* One byte while hunting for a leader, as kdcom_engine.c scan_leader. */
static void scan_leader(struct kdtrace *t, uint8_t b)
{
	if (b == KDCOM_DATA_LEADER_BYTE || b == KDCOM_CONTROL_LEADER_BYTE) {
		if (t->leader_count && b != t->leader_byte)
			leader_to_garbage(t);
		if (!t->leader_count)
			t->leader_start = t->offset;
		t->leader_byte = b;
		if (++t->leader_count == LEADER_LENGTH) {
			report_garbage(t);
			memset(t->header, b, LEADER_LENGTH);
			t->header_fill = LEADER_LENGTH;
			t->state = KDTRACE_READ_HEADER;
		}
		return;
	}
	leader_to_garbage(t);
	/* Only a target listens for break-in; to a debugger it is noise. */
	if (b == KDCOM_BREAKIN_BYTE && t->config.direction == KDTRACE_TO_TARGET) {
		report_garbage(t);
		breakin(t);
		return;
	}
	add_garbage(t, b, t->offset);
}

/* Takes bytes from p for the state we are in; returns how many. */
static size_t step(struct kdtrace *t, const uint8_t *p, size_t length)
{
	switch (t->state) {
	case KDTRACE_SCAN_LEADER:
		scan_leader(t, p[0]);
		return 1;
	case KDTRACE_READ_HEADER:
		t->header[t->header_fill++] = p[0];
		if (t->header_fill == KDCOM_HEADER_SIZE)
			header_complete(t);
		return 1;
	case KDTRACE_READ_PAYLOAD: {
		size_t want = le_get16(t->header + 6) - t->payload_fill;
		size_t take = length < want ? length : want;
		memcpy(t->payload + t->payload_fill, p, take);
		t->payload_fill = (uint16_t)(t->payload_fill + take);
		if (t->payload_fill == le_get16(t->header + 6))
			t->state = KDTRACE_READ_TRAILER;
		return take;
	}
	default: /* KDTRACE_READ_TRAILER */
		restart_scan(t);
		data_frame(t, p[0]);
		return 1;
	}
}

/* ---- the interface --------------------------------------------------------------------- */

void kdtrace_config_init(struct kdtrace_config *config, enum kdtrace_direction direction,
			 kdtrace_line_fn line, void *ctx)
{
	memset(config, 0, sizeof(*config));
	config->direction = direction;
	config->format = KDTRACE_TEXT;
	config->line = line;
	config->ctx = ctx;
}

void kdtrace_init(struct kdtrace *t, const struct kdtrace_config *config)
{
	memset(t, 0, sizeof(*t));
	t->config = *config;
	t->state = KDTRACE_SCAN_LEADER;
}

void kdtrace_feed(struct kdtrace *t, const void *bytes, size_t length)
{
	const uint8_t *p = bytes;

	t->stats.bytes += length;
	while (length) {
		size_t used = step(t, p, length);
		p += used;
		length -= used;
		t->offset += used;
	}
}

void kdtrace_pause(struct kdtrace *t)
{
	report_garbage(t);
}

static void report_cut(struct kdtrace *t, const char *why)
{
	size_t received = t->header_fill + t->payload_fill;

	t->stats.cut_frames++;
	begin(t, "cut", t->leader_start);
	text_only(t, " cut off");
	if (t->header_fill == KDCOM_HEADER_SIZE) {
		uint16_t length = le_get16(t->header + 6);
		field_word(t, "type", "", kdcom_type_name(le_get16(t->header + 4)));
		field_uint(t, "length", "length", length);
	}
	field_uint(t, "received", NULL, received);
	if (!json(t))
		appendf(t, " after %zu bytes:", received);
	field_caller_text(t, "reason", why);
	finish(t);
}

void kdtrace_break(struct kdtrace *t, const char *why)
{
	if (t->state == KDTRACE_SCAN_LEADER) {
		leader_to_garbage(t);
		report_garbage(t);
	} else {
		report_cut(t, why);
	}
	restart_scan(t);
}

bool kdtrace_in_frame(const struct kdtrace *t)
{
	return t->state != KDTRACE_SCAN_LEADER;
}

size_t kdtrace_describe_packet(uint16_t type, const void *payload, size_t length,
			       enum kdtrace_direction direction, enum kdtrace_format format,
			       char *out, size_t size)
{
	/* A decoder of its own, so that this shares nothing with a stream
	 * being decoded; only its line builder is used. */
	struct kdtrace t;
	struct kdtrace_config config;
	const uint8_t *p = payload;

	kdtrace_config_init(&config, direction, NULL, NULL);
	config.format = format;
	kdtrace_init(&t, &config);
	if (json(&t)) {
		appendf(&t, "{\"type\":\"%s\"", kdcom_type_name(type));
		field_uint(&t, "length", NULL, length);
	}
	decode_message(&t, type, p, length);
	bool too_short = length < kdcom_message_header_size(type);
	field_flag(&t, "type_ok", kdcom_type_matches_payload(type, p, length), NULL,
		   too_short ? "(too short)" : "(type/API mismatch)");
	finish(&t);

	/* Text fields each start with a space; the description does not. */
	const char *text = t.line[0] == ' ' ? t.line + 1 : t.line;
	return (size_t)snprintf(out, size, "%s", text);
}
