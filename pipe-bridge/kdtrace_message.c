/*
 * kdtrace_message.c -- the KD messages inside frames (kdtrace.h): one
 * packet's message header and data as fields of a line.
 *
 * Every field read from a payload is inside a length the payload was
 * checked to have: kdt_decode_message checks the type's whole message
 * header before any decoder reads it.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "bxkd/byteorder.h"
#include "bxkd/dbgkd.h"
#include "kdcom_engine.h"
#include "kdtrace_line.h"

/* NTSTATUS: the top two bits are the severity. */
#define NTSTATUS_SEVERITY_SHIFT 30
#define NTSTATUS_SEVERITY_WARNING 2u
#define NTSTATUS_SEVERITY_ERROR 3u
#define STATUS_ACCESS_VIOLATION 0xC0000005u

#define MANIPULATE_AT(member) offsetof(struct dbgkd_manipulate_state64, member)
#define STATE_CHANGE_AT(member) offsetof(struct dbgkd_any_wait_state_change, member)
#define DEBUG_IO_AT(member) offsetof(struct dbgkd_debug_io, member)
#define FILE_IO_AT(member) offsetof(struct dbgkd_file_io, member)
#define X86_CONTEXT_AT(member) offsetof(struct x86_context, member)
#define AMD64_CONTEXT_AT(member) offsetof(struct amd64_context, member)

/* ---- names ------------------------------------------------------------------------- */

/* dbgkd.h names what it does not know "unknown ...". */
static bool known_name(const char *name)
{
	return strncmp(name, "unknown", strlen("unknown")) != 0;
}

struct code_name {
	uint32_t code;
	const char *name;
};

#define NAME_OF(table, code) name_of(table, sizeof(table) / sizeof(table[0]), code)

/* The name of `code` in `table`, or NULL. */
static const char *name_of(const struct code_name *table, size_t count, uint32_t code)
{
	for (size_t i = 0; i < count; i++)
		if (table[i].code == code)
			return table[i].name;
	return NULL;
}

static const struct code_name status_names[] = {
	{ DBGKD_STATUS_SUCCESS, "success" },
	{ DBGKD_STATUS_UNSUCCESSFUL, "unsuccessful" },
	{ DBGKD_STATUS_INVALID_PARAMETER, "invalid-parameter" },
	{ DBGKD_STATUS_NO_SUCH_DEVICE, "no-such-device" },
	{ DBGKD_STATUS_DATATYPE_MISALIGNMENT, "datatype-misalignment" },
};
static const struct code_name exception_names[] = {
	{ DBGKD_STATUS_BREAKPOINT, "breakpoint" },
	{ DBGKD_STATUS_SINGLE_STEP, "single-step" },
	{ STATUS_ACCESS_VIOLATION, "access-violation" },
};
static const struct code_name continue_names[] = {
	{ DBGKD_DBG_CONTINUE, "DBG_CONTINUE" },
	{ DBGKD_DBG_EXCEPTION_HANDLED, "DBG_EXCEPTION_HANDLED" },
	{ DBGKD_DBG_EXCEPTION_NOT_HANDLED, "DBG_EXCEPTION_NOT_HANDLED" },
};
static const struct code_name machine_names[] = {
	{ DBGKD_MACHINE_I386, "i386" },
	{ DBGKD_MACHINE_AMD64, "AMD64" },
};
static const struct code_name file_io_names[] = {
	{ DBGKD_CREATE_FILE_API, "CreateFile" },
	{ DBGKD_READ_FILE_API, "ReadFile" },
	{ DBGKD_WRITE_FILE_API, "WriteFile" },
	{ DBGKD_CLOSE_FILE_API, "CloseFile" },
};
static const struct code_name control_request_names[] = {
	{ DBGKD_REQUEST_HARDWARE_BP, "RequestHardwareBp" },
	{ DBGKD_RELEASE_HARDWARE_BP, "ReleaseHardwareBp" },
};

/* The statuses without a name of their own go by their severity. */
static const char *status_name(uint32_t status)
{
	const char *name = NAME_OF(status_names, status);

	if (name)
		return name;
	switch (status >> NTSTATUS_SEVERITY_SHIFT) {
	case NTSTATUS_SEVERITY_ERROR:
		return "error";
	case NTSTATUS_SEVERITY_WARNING:
		return "warning";
	default:
		return "success";
	}
}

/* ---- message fields shared by several decoders -------------------------------------- */

/* The API (or state) name, or the number when it has none. */
static void field_api(struct kdtrace *t, const char *name, uint32_t api)
{
	bool known = name && known_name(name);

	kdt_field_word(t, "api", "", known ? name : "unknown");
	kdt_field_hex32(t, "api_number", known ? NULL : "api", api);
}

static void field_status(struct kdtrace *t, uint32_t status)
{
	kdt_field_hex32(t, "status", "status", status);
	kdt_field_word(t, "status_name", "", status_name(status));
}

static void field_named_hex32(struct kdtrace *t, const char *key, const char *label, uint32_t v,
			      const char *name)
{
	kdt_field_hex32(t, key, label, v);
	if (name) {
		char name_key[64];
		snprintf(name_key, sizeof(name_key), "%s_name", key);
		kdt_field_word(t, name_key, "", name);
	}
}

static void field_continue_status(struct kdtrace *t, uint32_t status)
{
	field_named_hex32(t, "continue_status", "continue", status,
			  NAME_OF(continue_names, status));
}

/* A payload shorter than its message header: say so, show its start. */
static bool long_enough(struct kdtrace *t, const uint8_t *p, size_t length, size_t need)
{
	if (length >= need)
		return true;
	kdt_field_uint(t, "needs", "needs", need);
	if (length)
		kdt_field_head(t, p, length);
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

	kdt_field_hex64(t, "address", "address",
		    le_get64(p + MANIPULATE_AT(u.read_memory.target_base_address)));
	kdt_field_uint(t, "count", "count", le_get32(p + MANIPULATE_AT(u.read_memory.transfer_count)));
	if (reply)
		kdt_field_uint(t, "actual", "actual", actual);
	else if ((api == DBGKD_READ_PHYSICAL_MEMORY_API ||
		  api == DBGKD_WRITE_PHYSICAL_MEMORY_API) &&
		 actual)
		kdt_field_uint(t, "caching", "caching", actual); /* physical requests carry it there */
}

static void manipulate_get_version(struct kdtrace *t, const uint8_t *p)
{
	uint16_t machine = le_get16(p + MANIPULATE_AT(u.get_version.machine_type));

	kdt_field_hex(t, "version", "version", le_get16(p + MANIPULATE_AT(u.get_version.major_version)),
		  4);
	kdt_field_uint(t, "build", "build", le_get16(p + MANIPULATE_AT(u.get_version.minor_version)));
	kdt_field_uint(t, "protocol", "protocol", p[MANIPULATE_AT(u.get_version.protocol_version)]);
	kdt_field_hex(t, "flags", "flags", le_get16(p + MANIPULATE_AT(u.get_version.flags)), 4);
	kdt_field_hex(t, "machine", "machine", machine, 4);
	const char *machine_name = NAME_OF(machine_names, machine);
	if (machine_name)
		kdt_field_word(t, "machine_name", "", machine_name);
	kdt_field_hex64(t, "kern_base", "KernBase", le_get64(p + MANIPULATE_AT(u.get_version.kern_base)));
	kdt_field_hex64(t, "ps_loaded_module_list", "PsLoadedModuleList",
		    le_get64(p + MANIPULATE_AT(u.get_version.ps_loaded_module_list)));
	kdt_field_hex64(t, "debugger_data_list", "DebuggerDataList",
		    le_get64(p + MANIPULATE_AT(u.get_version.debugger_data_list)));
}

static void manipulate_continue2(struct kdtrace *t, const uint8_t *p)
{
	field_continue_status(t, le_get32(p + MANIPULATE_AT(u.continue2.continue_status)));
	kdt_field_uint(t, "trace_flag", "TraceFlag",
		   le_get32(p + MANIPULATE_AT(u.continue2.control_set.trace_flag)));
	kdt_field_hex32(t, "dr7", "Dr7", le_get32(p + MANIPULATE_AT(u.continue2.control_set.dr7)));
	kdt_field_hex32(t, "current_symbol_start", NULL,
		    le_get32(p + MANIPULATE_AT(u.continue2.control_set.current_symbol_start)));
	kdt_field_hex32(t, "current_symbol_end", NULL,
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
		kdt_field_hex32(t, "context_flags", "flags",
			    le_get32(p + MANIPULATE_AT(u.set_context_flags)));
		return;
	case DBGKD_WRITE_BREAKPOINT_API:
		kdt_field_hex64(t, "address", "address",
			    le_get64(p + MANIPULATE_AT(u.write_breakpoint.breakpoint_address)));
		if (reply)
			kdt_field_uint(t, "handle", "handle",
				   le_get32(p + MANIPULATE_AT(u.write_breakpoint.breakpoint_handle)));
		return;
	case DBGKD_RESTORE_BREAKPOINT_API:
		kdt_field_uint(t, "handle", "handle",
			   le_get32(p + MANIPULATE_AT(u.restore_breakpoint_handle)));
		return;
	case DBGKD_CONTINUE_API:
		field_continue_status(t, le_get32(p + MANIPULATE_AT(u.continue_status)));
		return;
	case DBGKD_CONTINUE_API2:
		manipulate_continue2(t, p);
		return;
	case DBGKD_READ_IO_SPACE_API:
	case DBGKD_WRITE_IO_SPACE_API:
		kdt_field_hex64(t, "address", "address", le_get64(p + MANIPULATE_AT(u.io.io_address)));
		kdt_field_uint(t, "size", "size", le_get32(p + MANIPULATE_AT(u.io.data_size)));
		if (reply == (api == DBGKD_READ_IO_SPACE_API))
			kdt_field_hex32(t, "value", "value", le_get32(p + MANIPULATE_AT(u.io.data_value)));
		return;
	case DBGKD_READ_MSR_API:
	case DBGKD_WRITE_MSR_API:
		kdt_field_hex32(t, "msr", "msr", le_get32(p + MANIPULATE_AT(u.msr.msr)));
		if (reply == (api == DBGKD_READ_MSR_API)) {
			uint64_t high = le_get32(p + MANIPULATE_AT(u.msr.data_value_high));
			uint64_t low = le_get32(p + MANIPULATE_AT(u.msr.data_value_low));
			kdt_field_hex64(t, "value", "value", high << 32 | low);
		}
		return;
	case DBGKD_GET_VERSION_API:
		if (reply)
			manipulate_get_version(t, p);
		return;
	case DBGKD_QUERY_MEMORY_API:
		kdt_field_hex64(t, "address", "address",
			    le_get64(p + MANIPULATE_AT(u.query_memory.address)));
		kdt_field_uint(t, "address_space", "space",
			   le_get32(p + MANIPULATE_AT(u.query_memory.address_space)));
		if (reply)
			kdt_field_hex32(t, "flags", "flags",
				    le_get32(p + MANIPULATE_AT(u.query_memory.flags)));
		return;
	case DBGKD_GET_CONTEXT_EX_API:
	case DBGKD_SET_CONTEXT_EX_API:
		kdt_field_uint(t, "context_offset", "offset",
			   le_get32(p + MANIPULATE_AT(u.context_ex.offset)));
		kdt_field_uint(t, "count", "count", le_get32(p + MANIPULATE_AT(u.context_ex.byte_count)));
		if (reply)
			kdt_field_uint(t, "copied", "copied",
				   le_get32(p + MANIPULATE_AT(u.context_ex.bytes_copied)));
		return;
	default:
		return;
	}
}

/* A CONTEXT's instruction and stack pointers and flags. Which CONTEXT it
 * is goes by its size (716 bytes x86, 1232 AMD64): the machine type is in
 * the GetVersion reply, which a decoder that joined later never saw. */
static void context_registers(struct kdtrace *t, const uint8_t *context, size_t length)
{
	if (length == sizeof(struct amd64_context)) {
		kdt_field_word(t, "context", "context", "AMD64");
		kdt_field_hex64(t, "rip", "rip", le_get64(context + AMD64_CONTEXT_AT(rip)));
		kdt_field_hex64(t, "rsp", "rsp", le_get64(context + AMD64_CONTEXT_AT(rsp)));
		kdt_field_hex32(t, "eflags", "eflags", le_get32(context + AMD64_CONTEXT_AT(eflags)));
	} else if (length == sizeof(struct x86_context)) {
		kdt_field_word(t, "context", "context", "x86");
		kdt_field_hex32(t, "eip", "eip", le_get32(context + X86_CONTEXT_AT(eip)));
		kdt_field_hex32(t, "esp", "esp", le_get32(context + X86_CONTEXT_AT(esp)));
		kdt_field_hex32(t, "eflags", "eflags", le_get32(context + X86_CONTEXT_AT(eflags)));
	}
}

static void decode_manipulate(struct kdtrace *t, const uint8_t *p, size_t length)
{
	const size_t header = sizeof(struct dbgkd_manipulate_state64);
	bool reply = t->config.direction == KDTRACE_TO_DEBUGGER;
	uint32_t api = le_get32(p + MANIPULATE_AT(api_number));
	field_api(t, dbgkd_manipulate_name(api), api);
	kdt_field_word(t, "message", "", reply ? "reply" : "request");
	if (is_processor_api(api))
		kdt_field_uint(t, "processor", "cpu", le_get16(p + MANIPULATE_AT(processor)));
	if (reply)
		field_status(t, le_get32(p + MANIPULATE_AT(return_status)));
	manipulate_fields(t, p, api, reply);
	if (length > header)
		kdt_field_uint(t, "data_length", "data", length - header);
	/* GetContext's reply and SetContext's request carry the CONTEXT. */
	if ((api == DBGKD_GET_CONTEXT_API && reply) || (api == DBGKD_SET_CONTEXT_API && !reply))
		context_registers(t, p + header, length - header);
}

/* ---- STATE_CHANGE64 ------------------------------------------------------------------ */

static void state_change_exception(struct kdtrace *t, const uint8_t *p)
{
	uint32_t code = le_get32(p + STATE_CHANGE_AT(u.exception.record.exception_code));

	field_named_hex32(t, "code", "code", code, NAME_OF(exception_names, code));
	kdt_field_hex64(t, "address", "address",
		    le_get64(p + STATE_CHANGE_AT(u.exception.record.exception_address)));
	kdt_field_hex32(t, "exception_flags", NULL,
		    le_get32(p + STATE_CHANGE_AT(u.exception.record.exception_flags)));
	kdt_field_flag(t, "first_chance", le_get32(p + STATE_CHANGE_AT(u.exception.first_chance)) != 0,
		   "first-chance", "second-chance");
}

/* The path follows the 240-byte header; its length counts the NUL. */
static void state_change_load_symbols(struct kdtrace *t, const uint8_t *p, size_t length)
{
	const size_t header = sizeof(struct dbgkd_any_wait_state_change);
	size_t declared = le_get32(p + STATE_CHANGE_AT(u.load_symbols.path_name_length));
	size_t path = length - header;

	kdt_field_flag(t, "unload", p[STATE_CHANGE_AT(u.load_symbols.unload_symbols)] != 0, "unload",
		   "load");
	if (declared < path)
		path = declared;
	const uint8_t *nul = memchr(p + header, '\0', path);
	if (nul)
		path = (size_t)(nul - (p + header));
	kdt_field_text(t, "path", "", p + header, path, path);
	kdt_field_hex64(t, "base", "base", le_get64(p + STATE_CHANGE_AT(u.load_symbols.base_of_dll)));
	kdt_field_hex32(t, "size", "size", le_get32(p + STATE_CHANGE_AT(u.load_symbols.size_of_image)));
	kdt_field_hex32(t, "image_checksum", NULL,
		    le_get32(p + STATE_CHANGE_AT(u.load_symbols.check_sum)));
	kdt_field_hex64(t, "process_id", NULL, le_get64(p + STATE_CHANGE_AT(u.load_symbols.process_id)));
}

static void decode_state_change(struct kdtrace *t, const uint8_t *p, size_t length)
{
	const size_t header = sizeof(struct dbgkd_any_wait_state_change);
	uint32_t state = le_get32(p + STATE_CHANGE_AT(new_state));
	uint16_t processor = le_get16(p + STATE_CHANGE_AT(processor));
	uint32_t processors = le_get32(p + STATE_CHANGE_AT(number_processors));
	field_api(t, dbgkd_state_change_name(state), state);
	kdt_field_flag(t, "alternate", (state & DBGKD_ALTERNATE_STATE_CHANGE) != 0, "alternate", NULL);
	kdt_field_uint(t, "processor", NULL, processor);
	kdt_field_uint(t, "processors", NULL, processors);
	kdt_text_printf(t, " cpu=%u/%" PRIu32, (unsigned)processor, processors);
	kdt_field_hex64(t, "pc", "pc", le_get64(p + STATE_CHANGE_AT(program_counter)));
	kdt_field_hex64(t, "thread", NULL, le_get64(p + STATE_CHANGE_AT(thread)));
	switch (state & ~DBGKD_ALTERNATE_STATE_CHANGE) {
	case DBGKD_EXCEPTION_STATE_CHANGE:
		state_change_exception(t, p);
		break;
	case DBGKD_LOAD_SYMBOLS_STATE_CHANGE:
		state_change_load_symbols(t, p, length);
		return;
	case DBGKD_COMMAND_STRING_STATE_CHANGE:
		/* Name and command, each NUL-terminated, after the header. */
		kdt_field_text(t, "text", "", p + header, length - header, length - header);
		return;
	default:
		break;
	}
	if (length > header)
		kdt_field_uint(t, "data_length", "data", length - header);
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
		kdt_field_uint(t, "processor", "cpu", le_get16(p + DEBUG_IO_AT(processor)));
		kdt_field_text(t, "text", "", data, data_length, data_length);
		if (declared != data_length)
			kdt_field_uint(t, "length_of_string", "declared", declared);
		return;
	}
	case DBGKD_GET_STRING_API: {
		bool prompt = t->config.direction == KDTRACE_TO_DEBUGGER;
		field_api(t, "GetString", api);
		kdt_field_word(t, "message", "", prompt ? "prompt" : "reply");
		kdt_field_uint(t, "processor", "cpu", le_get16(p + DEBUG_IO_AT(processor)));
		kdt_field_text(t, "text", "", data, data_length, data_length);
		kdt_field_uint(t, "length_of_string_read", prompt ? "max" : "read",
			   le_get32(p + DEBUG_IO_AT(u.get_string.length_of_string_read)));
		return;
	}
	default:
		field_api(t, NULL, api);
		kdt_field_head(t, p, length);
		return;
	}
}

static void decode_file_io(struct kdtrace *t, const uint8_t *p, size_t length)
{
	uint32_t api = le_get32(p);

	field_api(t, NAME_OF(file_io_names, api), api);
	if (length >= FILE_IO_AT(status) + 4)
		field_status(t, le_get32(p + FILE_IO_AT(status)));
	if (length > sizeof(struct dbgkd_file_io))
		kdt_field_uint(t, "data_length", "data", length - sizeof(struct dbgkd_file_io));
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
		name = NAME_OF(control_request_names, api);
	field_api(t, name, api);
	kdt_field_head(t, p, length);
}

/* The decoders above read their type's whole message header: checked here. */
void kdt_decode_message(struct kdtrace *t, uint16_t type, const uint8_t *p, size_t length)
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

/* ---- packets without framing ------------------------------------------------------------ */

/* A decoder of its own, so that a description shares nothing with a
 * stream being decoded; only its line builder is used. */
static void describe(struct kdtrace *t, uint16_t type, const uint8_t *p, size_t length,
		     enum kdtrace_direction direction, enum kdtrace_format format)
{
	struct kdtrace_config config;
	bool too_short = length < kdcom_message_header_size(type);

	kdtrace_config_init(&config, direction, NULL, NULL);
	config.format = format;
	kdtrace_init(t, &config);
	kdt_begin_packet(t, kdcom_type_name(type), length);
	kdt_decode_message(t, type, p, length);
	kdt_field_flag(t, "type_ok", kdcom_type_matches_payload(type, p, length), NULL,
		       too_short ? "(too short)" : "(type/API mismatch)");
}

struct json_object *kdtrace_describe_packet_object(uint16_t type, const void *payload,
						   size_t length,
						   enum kdtrace_direction direction)
{
	struct kdtrace t;

	describe(&t, type, payload, length, direction, KDTRACE_JSON);
	return kdt_finish_object(&t);
}

size_t kdtrace_describe_packet(uint16_t type, const void *payload, size_t length,
			       enum kdtrace_direction direction, enum kdtrace_format format,
			       char *out, size_t size)
{
	struct kdtrace t;

	if (format == KDTRACE_JSON) {
		struct json_object *object =
			kdtrace_describe_packet_object(type, payload, length, direction);
		size_t need = (size_t)snprintf(out, size, "%s",
					       object ? kdtrace_json_text(object) : "{}");
		json_object_put(object);
		return need;
	}
	describe(&t, type, payload, length, direction, KDTRACE_TEXT);
	kdt_finish(&t);
	/* Text fields each start with a space; the description does not. */
	const char *text = t.line[0] == ' ' ? t.line + 1 : t.line;
	return (size_t)snprintf(out, size, "%s", text);
}
