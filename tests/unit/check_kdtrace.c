/*
 * check_kdtrace.c -- the KDCOM/KD decoder: the wire vectors of
 * docs/kd-protocol.md section 6 as lines, the same lines however
 * the bytes are split, garbage, break-in and damage, the JSON form, and
 * agreement with the engine's receiver on random streams.
 *
 * Frames come from the engine (kdcom_send in either role), checked
 * against the vectors' bytes, so decoder and framer meet on the wire.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/dbgkd.h"
#include "json_check.h"
#include "kdcom_engine.h"
#include "kdtrace.h"
#include "kd_test_bytes.h"
#include "suites.h"
#include "testcases.h"

#define MAX_LINES 128
#define TIMEOUT 100
/* Random streams: how many, fed in pieces of what size. */
#define RANDOM_SEEDS 8u
#define RANDOM_PIECE 61u

/* ---- collecting lines ---------------------------------------------------------- */

static struct collected {
	char text[MAX_LINES][KDTRACE_LINE_MAX];
	size_t count;
} lines;

static void collect(void *ctx, const char *text)
{
	struct collected *c = ctx;

	ck_assert_uint_lt(c->count, MAX_LINES);
	ck_assert_uint_lt(strlen(text), KDTRACE_LINE_MAX);
	snprintf(c->text[c->count++], KDTRACE_LINE_MAX, "%s", text);
}

static void decoder(struct kdtrace *t, enum kdtrace_direction direction, enum kdtrace_format format,
		    struct collected *into)
{
	struct kdtrace_config config;

	kdtrace_config_init(&config, direction, collect, into);
	config.format = format;
	kdtrace_init(t, &config);
}

/* Decodes `bytes` in pieces of `piece` bytes (0: all at once) into `lines`. */
static void decode_pieces(enum kdtrace_direction direction, enum kdtrace_format format,
			  const uint8_t *bytes, size_t length, size_t piece)
{
	static struct kdtrace t;

	lines.count = 0;
	decoder(&t, direction, format, &lines);
	for (size_t at = 0; at < length;) {
		size_t n = piece && piece < length - at ? piece : length - at;
		kdtrace_feed(&t, bytes + at, n);
		at += n;
	}
}

static void decode(enum kdtrace_direction direction, const uint8_t *bytes, size_t length)
{
	decode_pieces(direction, KDTRACE_TEXT, bytes, length, 0);
}

static void assert_one_line(const char *want)
{
	ck_assert_uint_eq(lines.count, 1);
	ck_assert_str_eq(lines.text[0], want);
}

static void assert_line_has(size_t i, const char *part)
{
	ck_assert_uint_lt(i, lines.count);
	ck_assert_msg(strstr(lines.text[i], part), "line \"%s\" lacks \"%s\"", lines.text[i], part);
}

/* The one line is the JSON object `want`, member for member. */
static void assert_one_json_line(const char *want)
{
	ck_assert_uint_eq(lines.count, 1);
	ck_assert_msg(json_same_object(lines.text[0], want), "line %s is not %s", lines.text[0],
		      want);
}

/* JSON line i has these members ("\"key\":value,..."), with these values. */
static void assert_json_line_has(size_t i, const char *members)
{
	ck_assert_uint_lt(i, lines.count);
	ck_assert_msg(json_has_members(lines.text[i], members), "line %s lacks %s", lines.text[i],
		      members);
}

/* ---- frames, made by the engine ------------------------------------------------------ */

/* A data frame as `role` sends it under packet id `id`. */
static size_t frame(enum kdcom_role role, uint32_t id, uint16_t type, const void *header,
		    size_t header_length, const void *data, size_t data_length, uint8_t *out,
		    size_t cap)
{
	static struct kdcom k;
	struct kdcom_config config;

	kdcom_config_init(&config, role, TIMEOUT);
	kdcom_init(&k, &config);
	k.send_id = id;
	ck_assert_int_eq(kdcom_send(&k, type, header, header_length, data, data_length, 0),
			 KDCOM_SEND_STARTED);
	return kd_test_drain(&k, out, cap);
}

static struct dbgkd_manipulate_state64 request(uint32_t api)
{
	struct dbgkd_manipulate_state64 m;

	memset(&m, 0, sizeof(m));
	m.api_number = api;
	return m;
}

static size_t manipulate(enum kdcom_role role, uint32_t id,
			 const struct dbgkd_manipulate_state64 *m, const void *data,
			 size_t data_length, uint8_t *out, size_t cap)
{
	return frame(role, id, KDCOM_TYPE_STATE_MANIPULATE, m, sizeof(*m), data, data_length, out,
		     cap);
}

/* Parses "30 30 ab ..." as written in kd-protocol.md. */
static size_t hex(uint8_t *out, size_t cap, const char *text)
{
	size_t n = 0;

	while (*text) {
		if (isspace((unsigned char)*text)) {
			text++;
			continue;
		}
		unsigned byte;
		ck_assert_int_eq(sscanf(text, "%2x", &byte), 1);
		ck_assert_uint_lt(n, cap);
		out[n++] = (uint8_t)byte;
		text += 2;
	}
	return n;
}

static void assert_bytes(const uint8_t *got, size_t got_length, const char *want_hex)
{
	uint8_t want[KDCOM_MAX_FRAME];
	size_t n = hex(want, sizeof(want), want_hex);

	ck_assert_uint_ge(got_length, n);
	ck_assert_mem_eq(got, want, n);
}


static size_t tv5(uint8_t *out, size_t cap)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_VERSION_API);
	size_t n = manipulate(KDCOM_DEBUGGER, KDCOM_INITIAL_ID, &m, NULL, 0, out, cap);

	ck_assert_uint_eq(n, 73);
	assert_bytes(out, n, "30 30 30 30 02 00 38 00 00 00 80 80 77 00 00 00 46 31 00 00");
	return n;
}

static size_t tv6(uint8_t *out, size_t cap)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_READ_VIRTUAL_MEMORY_API);

	m.u.read_memory.target_base_address = 0xFFFFFFFF80001000ull;
	m.u.read_memory.transfer_count = 0x10;
	size_t n = manipulate(KDCOM_DEBUGGER, KDCOM_INITIAL_ID | 1, &m, NULL, 0, out, cap);
	assert_bytes(out, n,
		     "30 30 30 30 02 00 38 00 01 00 80 80 fd 04 00 00"
		     "30 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
		     "00 10 00 80 ff ff ff ff 10 00 00 00 00 00 00 00"
		     "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
		     "00 00 00 00 00 00 00 00 aa");
	return n;
}

static size_t tv7(uint8_t *out, size_t cap)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_READ_VIRTUAL_MEMORY_API);
	uint8_t data[16];

	for (int i = 0; i < 16; i++)
		data[i] = (uint8_t)i;
	m.u.read_memory.target_base_address = 0xFFFFFFFF80001000ull;
	m.u.read_memory.transfer_count = 0x10;
	m.u.read_memory.actual_bytes = 0x10;
	size_t n = manipulate(KDCOM_TARGET, KDCOM_INITIAL_ID | 1, &m, data, sizeof(data), out, cap);
	assert_bytes(out, n,
		     "30 30 30 30 02 00 48 00 01 00 80 80 85 05 00 00"
		     "30 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
		     "00 10 00 80 ff ff ff ff 10 00 00 00 10 00 00 00"
		     "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
		     "00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07"
		     "08 09 0a 0b 0c 0d 0e 0f aa");
	return n;
}

static size_t tv8(uint8_t *out, size_t cap)
{
	struct dbgkd_debug_io io = { .api_number = DBGKD_PRINT_STRING_API, .processor_level = 6 };

	io.u.length_of_string = 6;
	size_t n = frame(KDCOM_TARGET, KDCOM_INITIAL_ID | KDCOM_SYNC_ID, KDCOM_TYPE_DEBUG_IO, &io,
			 sizeof(io), "Hello\n", 6, out, cap);
	assert_bytes(out, n,
		     "30 30 30 30 03 00 16 00 00 08 80 80 6c 02 00 00"
		     "30 32 00 00 06 00 00 00 06 00 00 00 00 00 00 00"
		     "48 65 6c 6c 6f 0a aa");
	return n;
}

static size_t tv9(uint8_t *out, size_t cap)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_CONTINUE_API2);

	m.u.continue2.continue_status = DBGKD_DBG_CONTINUE;
	m.u.continue2.control_set.trace_flag = 1;
	m.u.continue2.control_set.current_symbol_start = 1;
	size_t n = manipulate(KDCOM_DEBUGGER, KDCOM_INITIAL_ID, &m, NULL, 0, out, cap);
	assert_bytes(out, n,
		     "30 30 30 30 02 00 38 00 00 00 80 80 72 00 00 00"
		     "3c 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
		     "02 00 01 00 01 00 00 00 00 00 00 00 01 00 00 00");
	return n;
}

static size_t tv10(uint8_t *out, size_t cap)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_CONTINUE_API);

	m.u.continue_status = DBGKD_DBG_EXCEPTION_HANDLED;
	m.u.raw[4 + 1] = 0x04; /* rizin's dword 0x400 after the status */
	size_t n = manipulate(KDCOM_DEBUGGER, KDCOM_INITIAL_ID | 1, &m, NULL, 0, out, cap);
	assert_bytes(out, n,
		     "30 30 30 30 02 00 38 00 01 00 80 80 6d 00 00 00"
		     "36 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
		     "01 00 01 00 00 04 00 00 00 00");
	return n;
}

static size_t tv11(uint8_t *out, size_t cap)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_VERSION_API);

	m.u.get_version = (struct dbgkd_get_version64){
		.major_version = 0x000F, .minor_version = 2600, .protocol_version = 6,
		.flags = DBGKD_VERS_FLAG_DATA, .machine_type = DBGKD_MACHINE_I386,
		.max_packet_type = 12, .max_state_change = 3, .max_manipulate = 0x31,
		.kern_base = 0xFFFFFFFF80400000ull,
		.ps_loaded_module_list = 0xFFFFFFFF80560000ull,
		.debugger_data_list = 0xFFFFFFFF80561000ull,
	};
	size_t n = manipulate(KDCOM_TARGET, KDCOM_INITIAL_ID | 1, &m, NULL, 0, out, cap);
	assert_bytes(out, n,
		     "30 30 30 30 02 00 38 00 01 00 80 80 bd 0f 00 00"
		     "46 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
		     "0f 00 28 0a 06 00 02 00 4c 01 0c 03 31 00 00 00"
		     "00 00 40 80 ff ff ff ff 00 00 56 80 ff ff ff ff"
		     "00 10 56 80 ff ff ff ff aa");
	return n;
}

static size_t tv12(uint8_t *out, size_t cap)
{
	struct dbgkd_any_wait_state_change sc = kd_test_tv12_state();
	size_t n = frame(KDCOM_TARGET, KDCOM_INITIAL_ID, KDCOM_TYPE_STATE_CHANGE64, &sc, sizeof(sc),
			 NULL, 0, out, cap);

	ck_assert_uint_eq(n, 16 + 240 + 1);
	assert_bytes(out, n, "30 30 30 30 07 00 f0 00 00 00 80 80 a9 20 00 00");
	return n;
}

/* ---- the vectors as lines -------------------------------------------------------------- */

START_TEST(control_vectors_tv1_to_tv4)
{
	decode(KDTRACE_TO_DEBUGGER, kd_test_tv1_ack, sizeof(kd_test_tv1_ack));
	assert_one_line("t2d ACK id=0x80800000");
	decode(KDTRACE_TO_TARGET, kd_test_tv2_reset, sizeof(kd_test_tv2_reset));
	assert_one_line("d2t RESET");
	decode(KDTRACE_TO_DEBUGGER, kd_test_tv3_resend, sizeof(kd_test_tv3_resend));
	assert_one_line("t2d RESEND");
	decode(KDTRACE_TO_TARGET, (const uint8_t *)"b", 1);
	assert_one_line("d2t break-in");
	/* A debugger does not listen for break-in: to it the byte is noise,
	 * reported when the run of noise ends. */
	decode(KDTRACE_TO_DEBUGGER, (const uint8_t *)"b", 1);
	ck_assert_uint_eq(lines.count, 0);
	decode(KDTRACE_TO_DEBUGGER, (const uint8_t *)"biiii\x06\0\0\0\0\0\0\0\0\0\0\0", 17);
	ck_assert_uint_eq(lines.count, 2);
	ck_assert_str_eq(lines.text[0], "t2d garbage bytes=1 head=\"b\"");
	ck_assert_str_eq(lines.text[1], "t2d RESET");
}
END_TEST

/* Each message vector of kd-protocol.md section 4, decoded on its own, gives
 * exactly its line. */
static const struct wire_vector {
	size_t (*build)(uint8_t *out, size_t cap);
	enum kdtrace_direction direction;
	const char *line;
} message_vectors[] = {
	{ tv5, KDTRACE_TO_TARGET,
	  "d2t STATE_MANIPULATE id=0x80800000 length=56 checksum ok trailer ok: "
	  "GetVersion request" },
	{ tv6, KDTRACE_TO_TARGET,
	  "d2t STATE_MANIPULATE id=0x80800001 length=56 checksum ok trailer ok: "
	  "ReadVirtualMemory request address=0xffffffff80001000 count=16" },
	{ tv7, KDTRACE_TO_DEBUGGER,
	  "t2d STATE_MANIPULATE id=0x80800001 length=72 checksum ok trailer ok: "
	  "ReadVirtualMemory reply status=0x00000000 success "
	  "address=0xffffffff80001000 count=16 actual=16 data=16" },
	{ tv8, KDTRACE_TO_DEBUGGER,
	  "t2d DEBUG_IO id=0x80800800 SYNC length=22 checksum ok trailer ok: "
	  "PrintString cpu=0 \"Hello\\n\"" },
	{ tv9, KDTRACE_TO_TARGET,
	  "d2t STATE_MANIPULATE id=0x80800000 length=56 checksum ok trailer ok: "
	  "Continue2 request continue=0x00010002 DBG_CONTINUE TraceFlag=1 "
	  "Dr7=0x00000000" },
	{ tv10, KDTRACE_TO_TARGET,
	  "d2t STATE_MANIPULATE id=0x80800001 length=56 checksum ok trailer ok: "
	  "Continue request continue=0x00010001 DBG_EXCEPTION_HANDLED" },
	{ tv11, KDTRACE_TO_DEBUGGER,
	  "t2d STATE_MANIPULATE id=0x80800001 length=56 checksum ok trailer ok: "
	  "GetVersion reply status=0x00000000 success version=0x000f build=2600 "
	  "protocol=6 flags=0x0002 machine=0x014c i386 KernBase=0xffffffff80400000 "
	  "PsLoadedModuleList=0xffffffff80560000 DebuggerDataList=0xffffffff80561000" },
	{ tv12, KDTRACE_TO_DEBUGGER,
	  "t2d STATE_CHANGE64 id=0x80800000 length=240 checksum ok trailer ok: "
	  "Exception cpu=0/1 pc=0xffffffff8051d2f4 code=0x80000003 breakpoint "
	  "address=0xffffffff8051d2f4 first-chance" },
};

START_TEST(message_vectors_tv5_to_tv12)
{
	const struct wire_vector *v = &message_vectors[_i];
	uint8_t f[300];
	size_t n = v->build(f, sizeof(f));

	decode(v->direction, f, n);
	assert_one_line(v->line);
}
END_TEST

/* ---- more messages ------------------------------------------------------------------------- */

START_TEST(load_symbols_with_path)
{
	static const char path[] = "\\SystemRoot\\system32\\ntoskrnl.exe";
	struct dbgkd_any_wait_state_change sc;
	uint8_t f[400];

	memset(&sc, 0, sizeof(sc));
	sc.new_state = DBGKD_LOAD_SYMBOLS_STATE_CHANGE;
	sc.number_processors = 2;
	sc.processor = 1;
	sc.program_counter = 0xFFFFFFFF80401234ull;
	sc.u.load_symbols.path_name_length = sizeof(path);
	sc.u.load_symbols.base_of_dll = 0xFFFFFFFF80400000ull;
	sc.u.load_symbols.size_of_image = 0x1A0000;
	size_t n = frame(KDCOM_TARGET, KDCOM_INITIAL_ID, KDCOM_TYPE_STATE_CHANGE64, &sc, sizeof(sc),
			 path, sizeof(path), f, sizeof(f));
	decode(KDTRACE_TO_DEBUGGER, f, n);
	assert_one_line("t2d STATE_CHANGE64 id=0x80800000 length=274 checksum ok trailer ok: "
			"LoadSymbols cpu=1/2 pc=0xffffffff80401234 load "
			"\"\\\\SystemRoot\\\\system32\\\\ntoskrnl.exe\" base=0xffffffff80400000 "
			"size=0x001a0000");

	/* An unload, whose path length claims more than the packet has. */
	sc.u.load_symbols.unload_symbols = 1;
	sc.u.load_symbols.path_name_length = 1000;
	n = frame(KDCOM_TARGET, KDCOM_INITIAL_ID, KDCOM_TYPE_STATE_CHANGE64, &sc, sizeof(sc), "ab",
		  2, f, sizeof(f));
	decode(KDTRACE_TO_DEBUGGER, f, n);
	assert_line_has(0, "LoadSymbols cpu=1/2 pc=0xffffffff80401234 unload \"ab\" base=");
}
END_TEST

START_TEST(manipulate_replies_name_their_fields)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_WRITE_BREAKPOINT_API);
	uint8_t f[128];
	size_t n;

	m.u.write_breakpoint.breakpoint_address = 0xFFFFFFFF8051D2F4ull;
	m.u.write_breakpoint.breakpoint_handle = 3;
	n = manipulate(KDCOM_TARGET, KDCOM_INITIAL_ID, &m, NULL, 0, f, sizeof(f));
	decode(KDTRACE_TO_DEBUGGER, f, n);
	assert_line_has(0, ": WriteBreakPoint reply status=0x00000000 success "
			   "address=0xffffffff8051d2f4 handle=3");

	m = request(DBGKD_RESTORE_BREAKPOINT_API);
	m.return_status = DBGKD_STATUS_UNSUCCESSFUL;
	m.u.restore_breakpoint_handle = 3;
	n = manipulate(KDCOM_TARGET, KDCOM_INITIAL_ID, &m, NULL, 0, f, sizeof(f));
	decode(KDTRACE_TO_DEBUGGER, f, n);
	assert_line_has(0, ": RestoreBreakPoint reply status=0xc0000001 unsuccessful handle=3");

	m = request(DBGKD_READ_IO_SPACE_API);
	m.u.io.io_address = 0x3F8;
	m.u.io.data_size = 1;
	m.u.io.data_value = 0x41;
	n = manipulate(KDCOM_TARGET, KDCOM_INITIAL_ID, &m, NULL, 0, f, sizeof(f));
	decode(KDTRACE_TO_DEBUGGER, f, n);
	assert_line_has(0, ": ReadIoSpace reply status=0x00000000 success "
			   "address=0x00000000000003f8 size=1 value=0x00000041");

	m = request(DBGKD_WRITE_MSR_API);
	m.u.msr.msr = 0xC0000080;
	m.u.msr.data_value_low = 0xD01;
	m.u.msr.data_value_high = 1;
	n = manipulate(KDCOM_DEBUGGER, KDCOM_INITIAL_ID, &m, NULL, 0, f, sizeof(f));
	decode(KDTRACE_TO_TARGET, f, n);
	assert_line_has(0, ": WriteMachineSpecificRegister request msr=0xc0000080 "
			   "value=0x0000000100000d01");

	/* kd64's answer for an MSR the CPU refuses. */
	m = request(DBGKD_READ_MSR_API);
	m.return_status = DBGKD_STATUS_NO_SUCH_DEVICE;
	m.u.msr.msr = 0x1B;
	n = manipulate(KDCOM_TARGET, KDCOM_INITIAL_ID, &m, NULL, 0, f, sizeof(f));
	decode(KDTRACE_TO_DEBUGGER, f, n);
	assert_line_has(0, ": ReadMachineSpecificRegister reply status=0xc000000e no-such-device "
			   "msr=0x0000001b value=0x0000000000000000");
}
END_TEST

/* The CONTEXT it carries, x86's or AMD64's by its size, with its
 * instruction and stack pointers whole. */
START_TEST(get_context_reply_counts_its_data_and_shows_the_context)
{
	static uint8_t f[KDCOM_MAX_FRAME];
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_CONTEXT_API);
	struct x86_context x86 = { .eip = 0x80101004, .esp = 0x801ffff0, .eflags = 0x202 };
	struct amd64_context amd64 = { .rip = 0xfffff80000108581, .rsp = 0xfffff8000023bf98,
				       .eflags = 0x306, .context_flags = DBGKD_CONTEXT_AMD64_FULL };

	m.processor = 1;
	size_t n = manipulate(KDCOM_TARGET, KDCOM_INITIAL_ID, &m, &x86, sizeof(x86), f, sizeof(f));
	decode(KDTRACE_TO_DEBUGGER, f, n);
	assert_line_has(0, "length=772 checksum ok trailer ok: GetContext reply cpu=1 "
			   "status=0x00000000 success data=716 context=x86 eip=0x80101004 "
			   "esp=0x801ffff0 eflags=0x00000202");

	n = manipulate(KDCOM_TARGET, KDCOM_INITIAL_ID, &m, &amd64, sizeof(amd64), f, sizeof(f));
	decode(KDTRACE_TO_DEBUGGER, f, n);
	assert_line_has(0, "length=1288 checksum ok trailer ok: GetContext reply cpu=1 "
			   "status=0x00000000 success data=1232 context=AMD64 "
			   "rip=0xfffff80000108581 rsp=0xfffff8000023bf98 eflags=0x00000306");

	/* SetContext's request carries it the other way; its reply has none. */
	m = request(DBGKD_SET_CONTEXT_API);
	m.u.set_context_flags = DBGKD_CONTEXT_AMD64_FULL;
	n = manipulate(KDCOM_DEBUGGER, KDCOM_INITIAL_ID, &m, &amd64, sizeof(amd64), f, sizeof(f));
	decode(KDTRACE_TO_TARGET, f, n);
	assert_line_has(0, ": SetContext request cpu=0 flags=0x0010000b data=1232 context=AMD64 "
			   "rip=0xfffff80000108581 rsp=0xfffff8000023bf98 eflags=0x00000306");

	/* Any other size is no CONTEXT bxkd knows: only counted. */
	m = request(DBGKD_GET_CONTEXT_API);
	n = manipulate(KDCOM_TARGET, KDCOM_INITIAL_ID, &m, &amd64, 1000, f, sizeof(f));
	decode(KDTRACE_TO_DEBUGGER, f, n);
	assert_line_has(0, "success data=1000");
	ck_assert_ptr_null(strstr(lines.text[0], "context="));
}
END_TEST

START_TEST(get_string_and_file_io)
{
	struct dbgkd_debug_io io = { .api_number = DBGKD_GET_STRING_API };
	uint8_t f[256], header[64];
	size_t n;

	io.u.get_string.length_of_prompt_string = 4;
	io.u.get_string.length_of_string_read = 80;
	n = frame(KDCOM_TARGET, KDCOM_INITIAL_ID, KDCOM_TYPE_DEBUG_IO, &io, sizeof(io), "kd> ", 4,
		  f, sizeof(f));
	decode(KDTRACE_TO_DEBUGGER, f, n);
	assert_line_has(0, ": GetString prompt cpu=0 \"kd> \" max=80");

	memset(header, 0, sizeof(header));
	header[0] = DBGKD_CREATE_FILE_API & 0xff;
	header[1] = DBGKD_CREATE_FILE_API >> 8;
	n = frame(KDCOM_TARGET, KDCOM_INITIAL_ID, KDCOM_TYPE_FILE_IO, header, sizeof(header), "x\0",
		  2, f, sizeof(f));
	decode(KDTRACE_TO_DEBUGGER, f, n);
	assert_line_has(0, "t2d FILE_IO id=0x80800000 length=66 checksum ok trailer ok: CreateFile "
			   "status=0x00000000 success data=2");
}
END_TEST

/* A print as long as a packet allows is shown in part, with its length. */
START_TEST(long_strings_are_bounded)
{
	static uint8_t f[KDCOM_MAX_FRAME], text[KDCOM_MAX_PAYLOAD];
	struct dbgkd_debug_io io = { .api_number = DBGKD_PRINT_STRING_API };
	size_t length = KDCOM_MAX_PAYLOAD - sizeof(io);

	memset(text, 'A', sizeof(text));
	io.u.length_of_string = (uint32_t)length;
	size_t n = frame(KDCOM_TARGET, KDCOM_INITIAL_ID, KDCOM_TYPE_DEBUG_IO, &io, sizeof(io), text,
			 length, f, sizeof(f));
	decode(KDTRACE_TO_DEBUGGER, f, n);
	assert_line_has(0, "...(3984 bytes)");
	ck_assert_uint_lt(strlen(lines.text[0]), 2 * KDTRACE_TEXT_MAX);

	/* Every byte needing the longest escape still fits, whole. */
	memset(text, 0x01, sizeof(text));
	n = frame(KDCOM_TARGET, KDCOM_INITIAL_ID, KDCOM_TYPE_DEBUG_IO, &io, sizeof(io), text,
		  length, f, sizeof(f));
	decode_pieces(KDTRACE_TO_DEBUGGER, KDTRACE_JSON, f, n, 0);
	assert_json_line_has(0, "\"text_length\":3984");
	ck_assert(!strstr(lines.text[0], "truncated"));
}
END_TEST

/* ---- the stream ------------------------------------------------------------------------------ */

/* A bit of everything, both directions' worth, for the split tests. */
static size_t mixed_stream(uint8_t *out, size_t cap)
{
	size_t n = 0;

	memcpy(out + n, "xyz000i0iiq", 11);
	n += 11;
	n += tv5(out + n, cap - n);
	memcpy(out + n, kd_test_tv1_ack, sizeof(kd_test_tv1_ack));
	n += sizeof(kd_test_tv1_ack);
	out[n++] = KDCOM_BREAKIN_BYTE;
	out[n++] = KDCOM_BREAKIN_BYTE;
	n += tv7(out + n, cap - n);
	n += tv8(out + n, cap - n);
	/* A broken leader: iii then a data leader. */
	memcpy(out + n, "iii", 3);
	n += 3;
	n += tv11(out + n, cap - n);
	n += tv12(out + n, cap - n);
	memcpy(out + n, kd_test_tv2_reset, sizeof(kd_test_tv2_reset));
	n += sizeof(kd_test_tv2_reset);
	return n;
}

START_TEST(split_input_gives_the_same_lines)
{
	static uint8_t stream[2048];
	static struct collected whole;
	size_t n = mixed_stream(stream, sizeof(stream));
	static const size_t pieces[] = { 1, 2, 3, 7, 16, 17, 100 };

	for (int format = KDTRACE_TEXT; format <= KDTRACE_JSON; format++) {
		for (int direction = KDTRACE_TO_TARGET; direction <= KDTRACE_TO_DEBUGGER;
		     direction++) {
			decode_pieces(direction, format, stream, n, 0);
			whole = lines;
			ck_assert_uint_ge(whole.count, 9);
			for (size_t i = 0; i < sizeof(pieces) / sizeof(*pieces); i++) {
				decode_pieces(direction, format, stream, n, pieces[i]);
				ck_assert_uint_eq(lines.count, whole.count);
				for (size_t j = 0; j < whole.count; j++)
					ck_assert_str_eq(lines.text[j], whole.text[j]);
			}
		}
	}
}
END_TEST

START_TEST(garbage_and_break_in)
{
	static uint8_t stream[256];
	size_t n = 0;

	memcpy(stream, "xyz000i0iiq", 11);
	n = 11 + tv5(stream + 11, sizeof(stream) - 11);
	stream[n++] = KDCOM_BREAKIN_BYTE;
	memcpy(stream + n, "\x01\x02", 2);
	n += 2;

	decode(KDTRACE_TO_TARGET, stream, n);
	ck_assert_uint_eq(lines.count, 3);
	/* The broken leaders count as garbage, as in the engine. */
	ck_assert_str_eq(lines.text[0], "d2t garbage bytes=11 head=\"xyz000i0iiq\"");
	assert_line_has(1, "d2t STATE_MANIPULATE id=0x80800000");
	ck_assert_str_eq(lines.text[2], "d2t break-in");

	/* The trailing two bytes are reported when the stream pauses, once. */
	static struct kdtrace t;
	lines.count = 0;
	decoder(&t, KDTRACE_TO_TARGET, KDTRACE_TEXT, &lines);
	kdtrace_feed(&t, stream, n);
	kdtrace_pause(&t);
	kdtrace_pause(&t);
	ck_assert_uint_eq(lines.count, 4);
	ck_assert_str_eq(lines.text[3], "d2t garbage bytes=2 head=\"\\x01\\x02\"");
	ck_assert_uint_eq(t.stats.garbage_bytes, 13);
	ck_assert_uint_eq(t.stats.breakins, 1);

	/* A long run shows its first bytes and its size. */
	static uint8_t noise[1000];
	memset(noise, '.', sizeof(noise));
	lines.count = 0;
	kdtrace_feed(&t, noise, sizeof(noise));
	kdtrace_pause(&t);
	ck_assert_uint_eq(lines.count, 1);
	assert_line_has(0, "d2t garbage bytes=1000 head=\"................................\"...");
}
END_TEST

START_TEST(damaged_checksum_and_trailer)
{
	uint8_t f[128];
	size_t n = tv5(f, sizeof(f));

	f[40] ^= 1;
	decode(KDTRACE_TO_TARGET, f, n);
	assert_one_line(
		"d2t STATE_MANIPULATE id=0x80800000 length=56 checksum BAD header=0x00000077 "
		"sum=0x00000078 trailer ok: GetVersion request");
	f[40] ^= 1;
	f[72] = 0xab;
	decode(KDTRACE_TO_TARGET, f, n);
	assert_one_line("d2t STATE_MANIPULATE id=0x80800000 length=56 checksum ok trailer BAD "
			"got=0xab: GetVersion request");
	/* A type that disagrees with the API number, which only the payload
	 * (checksummed) can tell. */
	f[72] = KDCOM_TRAILER;
	f[4] = KDCOM_TYPE_DEBUG_IO;
	decode(KDTRACE_TO_TARGET, f, n);
	ck_assert_uint_eq(lines.count, 1);
	assert_line_has(0, "d2t DEBUG_IO id=0x80800000 length=56 checksum ok trailer ok "
			   "type/API mismatch: unknown api=0x00003146 head=4631000000");
}
END_TEST

START_TEST(oversized_frames_restart_the_scan)
{
	uint8_t stream[256];
	size_t n = tv5(stream, sizeof(stream));

	stream[7] = 0x10; /* length 0x1038 */
	n += tv5(stream + n, sizeof(stream) - n);
	decode(KDTRACE_TO_TARGET, stream, n);
	ck_assert_uint_eq(lines.count, 3);
	ck_assert_str_eq(lines.text[0], "d2t damaged frame STATE_MANIPULATE id=0x80800000 "
					"length=4152: length over 4000, rescanning");
	/* What followed the damaged header is hunted through as garbage. */
	assert_line_has(1, "d2t garbage bytes=57 head=\"F1\\x00\\x00");
	assert_line_has(1, "\\x00\"...(57 bytes)");
	assert_line_has(2, "GetVersion request");

	/* A control type under a data leader is damage too. */
	stream[7] = 0;
	stream[4] = KDCOM_TYPE_ACKNOWLEDGE;
	decode(KDTRACE_TO_TARGET, stream, 16);
	assert_one_line(
		"d2t damaged frame type=4 id=0x80800000 length=56: not a data type, rescanning");
}
END_TEST

START_TEST(malformed_control_packets_are_flagged)
{
	uint8_t f[16];

	memcpy(f, kd_test_tv2_reset, 16);
	f[8] = 1;
	decode(KDTRACE_TO_TARGET, f, 16);
	assert_one_line("d2t RESET id=0x00000001 malformed, ignored");
	memcpy(f, kd_test_tv1_ack, 16);
	f[6] = 5;
	f[12] = 1;
	decode(KDTRACE_TO_TARGET, f, 16);
	assert_one_line("d2t ACK id=0x80800000 length=5 checksum=0x00000001 malformed, ignored");
	f[4] = 9;
	decode(KDTRACE_TO_TARGET, f, 16);
	assert_one_line("d2t unknown control type=9 id=0x80800000 length=5 checksum=0x00000001 "
			"malformed, ignored");
	/* rizin acknowledges with the SYNC bit, which no target matches. */
	memcpy(f, kd_test_tv1_ack, 16);
	f[9] = 0x08;
	decode(KDTRACE_TO_TARGET, f, 16);
	assert_one_line("d2t ACK id=0x80800800 SYNC");
}
END_TEST

START_TEST(a_broken_stream_cuts_off_its_frame)
{
	static struct kdtrace t;
	uint8_t f[128];
	size_t n = tv5(f, sizeof(f));

	lines.count = 0;
	decoder(&t, KDTRACE_TO_TARGET, KDTRACE_TEXT, &lines);
	kdtrace_feed(&t, f, 40);
	ck_assert(kdtrace_in_frame(&t));
	kdtrace_break(&t, "the debugger disconnected");
	ck_assert(!kdtrace_in_frame(&t));
	kdtrace_feed(&t, "00", 2);
	kdtrace_break(&t, "again");
	kdtrace_feed(&t, "iii", 3);
	kdtrace_feed(&t, f, n);
	ck_assert_uint_eq(lines.count, 4);
	ck_assert_str_eq(lines.text[0], "d2t cut off STATE_MANIPULATE length=56 after 40 bytes: "
					"the debugger disconnected");
	/* A leader's first bytes are only garbage; a header cut short has no type. */
	ck_assert_str_eq(lines.text[1], "d2t garbage bytes=2 head=\"00\"");
	ck_assert_str_eq(lines.text[2], "d2t garbage bytes=3 head=\"iii\"");
	assert_line_has(3, "GetVersion request");
	ck_assert_uint_eq(t.stats.cut_frames, 1);
	ck_assert_uint_eq(t.stats.frames, 1);

	kdtrace_feed(&t, f, 10);
	kdtrace_break(&t, "gone");
	ck_assert_str_eq(lines.text[4], "d2t cut off after 10 bytes: gone");
}
END_TEST

START_TEST(statistics_count_each_kind)
{
	static uint8_t stream[2048];
	static struct kdtrace t;
	size_t n = mixed_stream(stream, sizeof(stream));

	lines.count = 0;
	decoder(&t, KDTRACE_TO_TARGET, KDTRACE_TEXT, &lines);
	kdtrace_feed(&t, stream, n);
	kdtrace_feed(&t, kd_test_tv3_resend, sizeof(kd_test_tv3_resend));
	ck_assert_uint_eq(t.stats.bytes, n + 16);
	ck_assert_uint_eq(t.stats.frames, 8);
	ck_assert_uint_eq(t.stats.data_frames, 5);
	ck_assert_uint_eq(t.stats.control_frames, 3);
	ck_assert_uint_eq(t.stats.acks, 1);
	ck_assert_uint_eq(t.stats.resets, 1);
	ck_assert_uint_eq(t.stats.resends, 1);
	ck_assert_uint_eq(t.stats.breakins, 2);
	ck_assert_uint_eq(t.stats.garbage_bytes, 11 + 3);
	ck_assert_uint_eq(t.stats.bad_checksums, 0);
	ck_assert_uint_eq(t.stats.bad_frames, 0);
}
END_TEST

static void require_json(void *ctx, const char *text)
{
	(void)ctx;
	ck_assert_msg(json_valid_object(text), "not JSON: %s", text);
}

/* ---- agreement with the engine ------------------------------------------------------------ */

static uint64_t rng_state;

static uint32_t next_random(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* Frames, leader fragments, break-ins, noise and damaged bytes. */
static size_t random_stream(uint8_t *out, size_t cap)
{
	static const uint8_t noise[] = { '0', 'i', 'b', 0xaa, 0x00, 'x' };
	size_t n = 0;

	while (n + 2 * KDCOM_MAX_FRAME < cap) {
		size_t start = n;
		switch (next_random() % 6) {
		case 0:
			n += tv5(out + n, cap - n);
			break;
		case 1:
			n += tv8(out + n, cap - n);
			break;
		case 2:
			n += tv12(out + n, cap - n);
			break;
		case 3: {
			const uint8_t *control[] = { kd_test_tv1_ack, kd_test_tv2_reset, kd_test_tv3_resend };
			memcpy(out + n, control[next_random() % 3], KDCOM_HEADER_SIZE);
			n += KDCOM_HEADER_SIZE;
			break;
		}
		default:
			for (unsigned i = next_random() % 8; i > 0; i--)
				out[n++] = noise[next_random() % sizeof(noise)];
			break;
		}
		/* Sometimes damage what was just added. */
		if (n > start && next_random() % 4 == 0)
			out[start + next_random() % (n - start)] ^=
				(uint8_t)(1u << (next_random() % 8));
	}
	return n;
}

/* Everything through the engine, acting on every event as a caller must. */
static void engine_receives(struct kdcom *k, const uint8_t *bytes, size_t length)
{
	struct kdcom_event e;
	uint8_t sink[KDCOM_OUTPUT_CAPACITY];
	size_t used = 0;

	while (used < length) {
		used += kdcom_input(k, bytes + used, length - used, 0);
		while (kdcom_next_event(k, &e))
			;
		kd_test_drain(k, sink, sizeof(sink));
	}
}

START_TEST(frames_are_found_as_the_engine_finds_them)
{
	static uint8_t stream[64 * 1024];
	static struct kdtrace t;
	static struct kdcom k;
	struct kdcom_config config;

	for (unsigned seed = 1; seed <= RANDOM_SEEDS; seed++) {
		rng_state = seed;
		size_t n = random_stream(stream, sizeof(stream));
		for (int role = KDCOM_TARGET; role <= KDCOM_DEBUGGER; role++) {
			kdcom_config_init(&config, (enum kdcom_role)role, TIMEOUT);
			kdcom_init(&k, &config);
			engine_receives(&k, stream, n);
			/* The lines only have to be JSON here; the counts are the point. */
			struct kdtrace_config c;
			kdtrace_config_init(
				&c, role == KDCOM_TARGET ? KDTRACE_TO_TARGET : KDTRACE_TO_DEBUGGER,
				require_json, NULL);
			c.format = KDTRACE_JSON;
			kdtrace_init(&t, &c);
			for (size_t at = 0; at < n; at += RANDOM_PIECE)
				kdtrace_feed(&t, stream + at,
					     n - at < RANDOM_PIECE ? n - at : RANDOM_PIECE);
			ck_assert_msg(t.stats.garbage_bytes == k.stats.garbage_bytes,
				      "seed %u role %d: garbage %llu, engine %llu", seed, role,
				      (unsigned long long)t.stats.garbage_bytes,
				      (unsigned long long)k.stats.garbage_bytes);
			ck_assert_uint_eq(t.stats.bad_checksums, k.stats.bad_checksums);
			ck_assert_uint_eq(t.stats.bad_frames, k.stats.bad_frames);
			ck_assert_uint_eq(t.stats.breakins, k.stats.breakins);
			ck_assert_uint_eq(t.stats.resets, k.stats.resets);
		}
	}
}
END_TEST

/* ---- JSON ------------------------------------------------------------------------------ */

START_TEST(json_checker_refuses_what_it_should)
{
	ck_assert(json_valid_object("{\"a\":[1,true,null,\"x\\u00ff\"],\"b\":{}}"));
	ck_assert(!json_valid_object("{\"a\":1,}"));
	ck_assert(!json_valid_object("{\"a\":\"\x01\"}"));
	ck_assert(!json_valid_object("{\"a\":\"\\x01\"}"));
	ck_assert(!json_valid_object("{\"a\":1} x"));
	ck_assert(!json_valid_object("{\"a\" 1}"));
}
END_TEST

START_TEST(json_for_the_vectors)
{
	uint8_t f[128];
	size_t n;

	decode_pieces(KDTRACE_TO_DEBUGGER, KDTRACE_JSON, kd_test_tv1_ack, sizeof(kd_test_tv1_ack), 0);
	assert_one_json_line("{\"dir\":\"t2d\",\"kind\":\"control\",\"offset\":0,\"type\":\"ACK\","
			"\"id\":\"0x80800000\",\"sync\":false,\"length\":0,"
			"\"checksum\":\"0x00000000\",\"ok\":true}");
	n = tv5(f, sizeof(f));
	decode_pieces(KDTRACE_TO_TARGET, KDTRACE_JSON, f, n, 0);
	assert_one_json_line(
		"{\"dir\":\"d2t\",\"kind\":\"data\",\"offset\":0,\"type\":\"STATE_MANIPULATE\","
		"\"id\":\"0x80800000\",\"sync\":false,\"length\":56,\"checksum_ok\":true,"
		"\"checksum\":\"0x00000077\",\"payload_sum\":\"0x00000077\",\"trailer_ok\":true,"
		"\"trailer\":\"0xaa\",\"type_ok\":true,\"api\":\"GetVersion\","
		"\"api_number\":\"0x00003146\",\"message\":\"request\"}");
	n = tv8(f, sizeof(f));
	decode_pieces(KDTRACE_TO_DEBUGGER, KDTRACE_JSON, f, n, 0);
	assert_json_line_has(0, "\"id\":\"0x80800800\",\"sync\":true,\"length\":22");
	assert_json_line_has(0, "\"api\":\"PrintString\",\"api_number\":\"0x00003230\","
				"\"processor\":0,\"text\":\"Hello\\n\"");
	decode_pieces(KDTRACE_TO_TARGET, KDTRACE_JSON, (const uint8_t *)"b", 1, 0);
	assert_one_json_line("{\"dir\":\"d2t\",\"kind\":\"breakin\",\"offset\":0}");
}
END_TEST

START_TEST(json_lines_parse)
{
	static uint8_t stream[4096], f[KDCOM_MAX_FRAME], all[256];
	static struct kdtrace t;
	size_t n = mixed_stream(stream, sizeof(stream));
	struct dbgkd_debug_io io = { .api_number = DBGKD_PRINT_STRING_API };
	static const char *const first_keys[] = { "dir", "kind", NULL };

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	lines.count = 0;
	decoder(&t, KDTRACE_TO_TARGET, KDTRACE_JSON, &lines);
	kdtrace_feed(&t, stream, n);
	/* Every byte value in a print and in garbage; damage; a cut. */
	size_t m = frame(KDCOM_TARGET, KDCOM_INITIAL_ID, KDCOM_TYPE_DEBUG_IO, &io, sizeof(io), all,
			 sizeof(all), f, sizeof(f));
	kdtrace_feed(&t, f, m);
	kdtrace_feed(&t, all, sizeof(all));
	f[20] ^= 1;
	f[m - 1] = 0;
	kdtrace_feed(&t, f, m);
	kdtrace_feed(&t, "iiii\x07\0\1\0\1\0\0\0\0\0\0\0", 16);
	kdtrace_feed(&t, f, 30);
	kdtrace_break(&t, "quote \" backslash \\ tab \t");
	ck_assert_uint_ge(lines.count, 14);
	for (size_t i = 0; i < lines.count; i++) {
		ck_assert_msg(json_valid_object(lines.text[i]), "not JSON: %s", lines.text[i]);
		ck_assert_msg(json_starts_with_keys(lines.text[i], first_keys) &&
				      json_has_members(lines.text[i], "\"dir\":\"d2t\""),
			      "unexpected start: %s", lines.text[i]);
	}
	assert_json_line_has(lines.count - 1, "\"reason\":\"quote \\\" backslash \\\\ tab \\t\"");
}
END_TEST

START_TEST(json_strings_escape_everything)
{
	char out[64], member[80];

	/* Every byte comes back, 0xff as the character U+00FF. */
	size_t need = kdtrace_json_string(out, sizeof(out), "a\"b\\c\n\x01\xff");
	ck_assert_uint_eq(need, strlen(out));
	snprintf(member, sizeof(member), "{\"s\":%s}", out);
	ck_assert_msg(json_same_object(member, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\\u00ff\"}"), "%s", out);
	/* Too small: empty, and the size it needed. */
	ck_assert_uint_eq(kdtrace_json_string(out, 5, "abcdef"), 8);
	ck_assert_str_eq(out, "");
}
END_TEST

BXKD_SUITE(kdtrace,
	TCase *vectors = testcases_add(s, "vectors", 0, TESTS(control_vectors_tv1_to_tv4));
	tcase_add_loop_test(vectors, message_vectors_tv5_to_tv12, 0,
			    sizeof(message_vectors) / sizeof(*message_vectors));
	testcases_add(s, "messages", 0, TESTS(
		load_symbols_with_path, manipulate_replies_name_their_fields,
		get_context_reply_counts_its_data_and_shows_the_context, get_string_and_file_io,
		long_strings_are_bounded));
	testcases_add(s, "stream", 0, TESTS(
		split_input_gives_the_same_lines, garbage_and_break_in,
		damaged_checksum_and_trailer, oversized_frames_restart_the_scan,
		malformed_control_packets_are_flagged, a_broken_stream_cuts_off_its_frame,
		statistics_count_each_kind, frames_are_found_as_the_engine_finds_them));
	testcases_add(s, "json", 0, TESTS(
		json_checker_refuses_what_it_should, json_for_the_vectors, json_lines_parse,
		json_strings_escape_everything));
)
