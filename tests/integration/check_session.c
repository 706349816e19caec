/*
 * check_session.c -- whole debug sessions against the debuggable test
 * kernel (kernel=workload) under Bochs, driven by bxkd-dbg, over each
 * transport: the shared page on the backdoor, and KDCOM on an emulated
 * 16550 (Bochs' COM1 on a TCP socket).
 *
 * The session is tests/sessions/debug-session.bxkd, the same script the
 * demo runs. Its answers are checked one by one, and the two transports
 * must give byte-identical answers: the transport is invisible above
 * KdSendPacket / KdReceivePacket.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bxh.h"
#include "bxkd/dbgkd.h"
#include "bxkd/kdidentity.h"
#include "kdpeer.h"
#include "proc.h"
#include "json_check.h"
#include "suites.h"
#include "testcases.h"

#define SESSION_SCRIPT BXKD_SOURCE_DIR "/tests/sessions/debug-session.bxkd"
#define SESSION_SCRIPT_X64 BXKD_SOURCE_DIR "/tests/sessions/debug-session-x64.bxkd"
#define DBG_TIMEOUT_SECONDS "60"

/* OVER_DLL: the shared page too, but through the Windows KD DLL the
 * kernel loads (kd=dll, guest/kernel/kd_dll.c), not the kernel's own copy
 * of the transport. */
enum transport { OVER_VMPORT, OVER_SERIAL, OVER_DLL };

/* Which test kernel: the 32-bit one, or the x86-64 one (guest/x64/) with
 * its symbols and its version of the session script. */
enum arch { X86, X64 };

static const char *const boot_transport[] = { "vmport", "serial", "dll" };

struct session {
	struct bxh_options o;
	struct bxh_run run;
	char workdir[512];
	char boot_options[128];
	char config[512];
	char socket[400];
	char target[420];
	char *dir;
	const char *symbols; /* the kernel's, for bxkd-dbg */
	char *output; /* bxkd-dbg's JSON lines */
	char *errors;
	int dbg_status;
	struct child relay;
	bool have_relay;
};


/* The machine for a session on `transport`: boot options, the bochsrc's
 * line, and (serial) the relay, started now; s->target is where a
 * debugger connects. */
static void prepare_machine(struct session *s, enum arch arch, enum transport transport,
			    const char *test_name, const char *boot_extra)
{
	memset(s, 0, sizeof(*s));
	bxh_options_init(&s->o);
	s->o.image = arch == X64 ? BXKD_GUEST64_IMAGE : BXKD_GUEST_IMAGE;
	s->symbols = arch == X64 ? BXKD_GUEST64_SYMBOLS : BXKD_GUEST_SYMBOLS;
	s->o.long_mode = arch == X64;
	snprintf(s->workdir, sizeof(s->workdir), "%s/%s", BXKD_TEST_WORK_DIR, test_name);
	s->o.workdir = s->workdir;
	snprintf(s->boot_options, sizeof(s->boot_options), "kernel=workload kd=%s kd_break=1%s%s",
		 boot_transport[transport], boot_extra ? " " : "",
		 boot_extra ? boot_extra : "");
	s->o.boot_options = s->boot_options;
	s->dir = socket_dir();
	ck_assert_ptr_nonnull(s->dir);
	snprintf(s->socket, sizeof(s->socket), "%s/kd.sock", s->dir);
	snprintf(s->target, sizeof(s->target), "connect:%s", s->socket);
	if (transport != OVER_SERIAL) {
		snprintf(s->config, sizeof(s->config), "vmport: kd_endpoint=unix:%s", s->socket);
	} else {
		/* Bochs' COM1 takes one TCP client, waits for it before it
		 * starts the machine, and dies of SIGPIPE when it leaves. So a
		 * relay holds the line for the whole run, as users should, and
		 * debuggers come and go on the relay's socket. */
		char bochs_side[64], debugger_side[420], trace[400];
		unsigned port = free_tcp_port();
		snprintf(s->config, sizeof(s->config),
			 "com1: enabled=1, mode=socket-server, dev=127.0.0.1:%u", port);
		snprintf(bochs_side, sizeof(bochs_side), "tcp-connect:127.0.0.1:%u", port);
		snprintf(debugger_side, sizeof(debugger_side), "unix:%s", s->socket);
		snprintf(trace, sizeof(trace), "%s/bxkd-tap.trace", s->dir);
		char *const relay[] = { BXKD_TAP_PROGRAM, "--quiet", bochs_side, debugger_side, NULL };
		ck_assert(child_start(&s->relay, relay, trace, NULL));
		s->have_relay = true;
	}
	s->o.extra_config = s->config;
}

/* Runs the machine to its end; the relay stands for the machine, so it
 * ends with it and debuggers see the target go. */
static void boot_machine(struct session *s)
{
	bxh_boot(&s->o, &s->run);
	if (s->have_relay)
		child_stop(&s->relay);
}

/* Boots the machine; `debugger` runs meanwhile. Its exit status, and its
 * output in s->output and s->errors. */
static void boot_with(struct session *s, char *const debugger[], const char *out_path,
		      const char *err_path, unsigned debugger_timeout_ms)
{
	struct child dbg;

	ck_assert(child_start(&dbg, debugger, out_path, err_path));
	boot_machine(s);
	s->dbg_status = child_wait(&dbg, debugger_timeout_ms);
	s->output = read_text_file(out_path);
	s->errors = read_text_file(err_path);
	ck_assert_ptr_nonnull(s->output);
}

/* Boots the workload kernel on `transport` and runs bxkd-dbg with the
 * given commands (or the session script when there are none) against it. */
static void run_session(struct session *s, enum arch arch, enum transport transport,
			const char *test_name, const char *boot_extra, char *const commands[])
{
	char out_path[600], err_path[600];
	int n = 9;

	prepare_machine(s, arch, transport, test_name, boot_extra);
	char *argv[64] = { BXKD_DBG,	   "--json",  "--quiet",	   "--symbols",
			   (char *)s->symbols, "--timeout", DBG_TIMEOUT_SECONDS, "--target",
			   s->target };
	if (commands) {
		for (int i = 0; commands[i] && n < 63; i++)
			argv[n++] = commands[i];
	} else {
		argv[n++] = "--script";
		argv[n++] = arch == X64 ? SESSION_SCRIPT_X64 : SESSION_SCRIPT;
	}
	argv[n] = NULL;
	snprintf(out_path, sizeof(out_path), "%s/bxkd-dbg.out", s->dir);
	snprintf(err_path, sizeof(err_path), "%s/bxkd-dbg.err", s->dir);
	boot_with(s, argv, out_path, err_path, 30000);
}

static void session_free(struct session *s)
{
	bxh_run_free(&s->run);
	free(s->output);
	free(s->errors);
	remove_socket_dir(s->dir);
}

static void require_clean_run(const struct session *s)
{
	if (s->run.outcome != BXVM_PASSED) {
		char *why = bxh_explain(&s->run);
		ck_abort_msg("the kernel did not finish its workload:\n%s\nbxkd-dbg said:\n%s%s", why,
			     s->output, s->errors ? s->errors : "");
	}
	ck_assert_msg(s->dbg_status == 0, "bxkd-dbg exited %d:\n%s%s", s->dbg_status, s->output,
		      s->errors ? s->errors : "");
}

/* A copy of the index-th output line (from 0). */
static char *nth_line(const struct session *s, int index)
{
	const char *line = s->output;

	for (int i = 0; i < index && line; i++) {
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	ck_assert_msg(line && *line, "bxkd-dbg gave no line %d:\n%s", index, s->output);
	return strndup(line, strcspn(line, "\n"));
}

/* The index-th output line must have every one of `members` ("\"key\":value"). */
static void expect_line(const struct session *s, int index, const char *const members[])
{
	char *line = nth_line(s, index);

	for (int i = 0; members[i]; i++)
		ck_assert_msg(json_has_members(line, members[i]), "line %d lacks %s:\n%s", index,
			      members[i], line);
	free(line);
}

/* The string `key` of the index-th line starts with `text`, or has it. */
static void expect_string(const struct session *s, int index, const char *key, const char *text,
			  bool at_start)
{
	char *line = nth_line(s, index);
	char value[512];
	bool found = json_string_member(line, key, value, sizeof(value));

	ck_assert_msg(found && (at_start ? !strncmp(value, text, strlen(text)) : !!strstr(value, text)),
		      "line %d: %s lacks %s:\n%s", index, key, text, line);
	free(line);
}

#define EXPECT(s, index, ...) expect_line(s, index, (const char *const[]){ __VA_ARGS__, NULL })

/* Where the two kernels' answers to the session script differ. */
struct expected_answers {
	const char *build, *machine, *kern_base, *hole, *register_3, *register_0x10;
};

static const struct expected_answers x86_answers = {
	"\"build\":2600", "\"machine\":\"0x014c\"", "\"kern_base\":\"0xffffffff80100000\"",
	"cannot read 0x80f00000", "\"eax\":\"0x00000003\"", "\"eax\":\"0x00000010\"",
};

/* The x86-64 kernel's (debug-session-x64.bxkd): machine 0x8664, 64-bit
 * addresses in the higher half, RAX. */
static const struct expected_answers x64_answers = {
	"\"build\":7601", "\"machine\":\"0x8664\"", "\"kern_base\":\"0xfffff80000100000\"",
	"cannot read 0xfffff80000f00000", "\"rax\":\"0x0000000000000003\"",
	"\"rax\":\"0x0000000000000010\"",
};

/* What the session script must get, line by line. */
static void check_session_answers(const struct session *s, enum arch arch)
{
	const struct expected_answers *e = arch == X64 ? &x64_answers : &x86_answers;

	EXPECT(s, 0, "\"command\":\"connect\"", "\"stopped\":true", "\"code\":\"0x80000003\"");
	expect_string(s, 0, "symbol", "kd_break+", true);
	EXPECT(s, 1, "\"command\":\"version\"", e->build, e->machine, e->kern_base);
	/* "bxkd workload data block: " */
	expect_string(s, 2, "data", "62786b6420776f726b6c6f616420646174612062" "6c6f636b3a20", true);
	EXPECT(s, 3, "\"command\":\"write\",\"ok\":true");
	EXPECT(s, 4, "\"data\":\"7772697474656e2062792074686520646562756767657200\"");
	EXPECT(s, 5, "\"command\":\"read\",\"ok\":false");
	expect_string(s, 5, "error", e->hole, false);
	EXPECT(s, 6, "\"command\":\"!\",\"ok\":true");
	EXPECT(s, 7, "\"command\":\"bp\",\"ok\":true");
	EXPECT(s, 8, "\"command\":\"go\",\"ok\":true");
	EXPECT(s, 9, "\"command\":\"wait\"", "\"symbol\":\"workload_step_target\"");
	EXPECT(s, 10, "\"code\":\"0x80000004\"", "\"symbol\":\"workload_step_target+0x1\"");
	EXPECT(s, 11, "\"code\":\"0x80000004\"", "\"symbol\":\"workload_step_target+0x6\"");
	EXPECT(s, 12, "\"code\":\"0x80000004\"", "\"symbol\":\"workload_step_target+0x9\"");
	EXPECT(s, 13, "\"command\":\"regs\"", e->register_3);
	EXPECT(s, 14, "\"command\":\"setreg\",\"ok\":true");
	EXPECT(s, 15, "\"command\":\"regs\"", e->register_0x10);
	EXPECT(s, 16, "\"command\":\"readphys\"", "\"data\":\"62786b6420776f726b6c6f6164206461\"");
	EXPECT(s, 17, "\"command\":\"prints\"", "\"text\":\"bxkd kernel up: 100 rounds of work\\n\"");
	EXPECT(s, 18, "\"command\":\"bc\",\"ok\":true");
	EXPECT(s, 19, "\"command\":\"go\",\"ok\":true");
	if (arch == X64) {
		/* The stops, the breakpoint and RIP in the higher half. */
		expect_string(s, 0, "pc", "0xfffff800", true);
		expect_string(s, 7, "address", "0xfffff800", true);
		expect_string(s, 13, "rip", "0xfffff800", true);
	}
	/* The kernel went on to the end, with what the debugger did to it:
	 * the scratch buffer written, and the changed EAX in the checksum
	 * (the same on both kernels). */
	const struct bxvm_test_line *result = bxh_find_test(&s->run, "workload");
	ck_assert_ptr_nonnull(result);
	ck_assert_msg(strstr(result->detail, "scratch=\"written by the debugger\"") &&
			      strstr(result->detail, "checksum=0xbef55dd5") &&
			      strstr(result->detail, "breakpoints=2 single_steps=3"),
		      "%s", result->detail);
}

/* The output with the values of the scratch registers blanked: the
 * caller-saved ones (x86: ECX and EDX; x86-64: RCX, RDX, RSI, RDI and R8
 * to R11) hold, at the breakpoint, whatever the code before left there,
 * and that code includes the transport's. */
static char *without_scratch_registers(const char *output)
{
	static const char *const scratch[] = {
		"\"ecx\":\"0x", "\"edx\":\"0x", "\"rcx\":\"0x", "\"rdx\":\"0x",
		"\"rsi\":\"0x", "\"rdi\":\"0x", "\"r8\":\"0x",	 "\"r9\":\"0x",
		"\"r10\":\"0x", "\"r11\":\"0x",
	};
	char *copy = strdup(output);

	for (size_t i = 0; i < sizeof(scratch) / sizeof(scratch[0]); i++) {
		for (char *at = copy; (at = strstr(at, scratch[i])); at += strlen(scratch[i])) {
			char *digits = at + strlen(scratch[i]);
			memset(digits, 'x', strspn(digits, "0123456789abcdef"));
		}
	}
	return copy;
}

/* Two sessions gave the same answers, scratch registers apart. */
static void require_same_answers(const struct session *x, const char *x_name,
				 const struct session *y, const char *y_name)
{
	char *a = without_scratch_registers(x->output);
	char *b = without_scratch_registers(y->output);

	ck_assert_msg(!strcmp(a, b), "the transports answered differently:\n%s:\n%s\n%s:\n%s",
		      x_name, a, y_name, b);
	free(a);
	free(b);
}

/* The session script over the shared page and over the serial port: every
 * answer as expected, and the same on both but for the scratch registers. */
static void the_same_session_on_both_transports_of(enum arch arch)
{
	struct session vmport, serial;

	run_session(&vmport, arch, OVER_VMPORT, arch == X64 ? "session_x64_vmport" : "session_vmport",
		    NULL, NULL);
	require_clean_run(&vmport);
	check_session_answers(&vmport, arch);
	run_session(&serial, arch, OVER_SERIAL, arch == X64 ? "session_x64_serial" : "session_serial",
		    NULL, NULL);
	require_clean_run(&serial);
	check_session_answers(&serial, arch);

	require_same_answers(&vmport, "shared page", &serial, "serial");
	session_free(&vmport);
	session_free(&serial);
}

START_TEST(the_same_session_on_both_transports)
{
	the_same_session_on_both_transports_of(X86);
}
END_TEST

/* A debugger breaking into the running workload stops it wherever it is;
 * the session goes on, and ends the workload early by writing its round
 * count (it would run for hours). */
static void break_in_while_the_workload_runs(enum arch arch, enum transport transport,
					     const char *name)
{
	struct session s;
	char *const commands[] = { "connect", "go", "sleep 300", "breakin", "regs",
				   "read workload_round_count 4", "write workload_rounds_wanted 00000000",
				   "go", NULL };

	run_session(&s, arch, transport, name, "rounds=1000000", commands);
	require_clean_run(&s);
	EXPECT(&s, 3, "\"command\":\"breakin\"", "\"stopped\":true", "\"code\":\"0x80000003\"");
	EXPECT(&s, 4, "\"command\":\"regs\"",
	       arch == X64 ? "\"cs\":\"0x0008\"" : "\"cs\":\"0x00000008\"");
	const struct bxvm_test_line *result = bxh_find_test(&s.run, "workload");
	ck_assert_ptr_nonnull(result);
	ck_assert_msg(strstr(result->detail, "breakins=1") && !strstr(result->detail, "rounds=1000000"),
		      "%s", result->detail);
	session_free(&s);
}

START_TEST(a_break_in_stops_the_running_workload_over_the_shared_page)
{
	break_in_while_the_workload_runs(X86, OVER_VMPORT, "session_breakin_vmport");
}
END_TEST

START_TEST(a_break_in_stops_the_running_workload_over_the_serial_port)
{
	break_in_while_the_workload_runs(X86, OVER_SERIAL, "session_breakin_serial");
}
END_TEST

/* A debugger that comes RECONNECTS times in one boot, each time breaking
 * in, reading and continuing; the last one also ends the workload. Every
 * answer must come, each read must see the kernel further on, and the
 * kernel must end its workload having stopped once for each. */
#define RECONNECTS 100

static void reconnect_many_times(enum transport transport, const char *name)
{
	struct session s;
	char out_path[600], err_path[600], *loop;

	prepare_machine(&s, X86, transport, name, "rounds=1000000");
	s.o.timeout_seconds = 300;
	snprintf(out_path, sizeof(out_path), "%s/bxkd-dbg.out", s.dir);
	snprintf(err_path, sizeof(err_path), "%s/bxkd-dbg.err", s.dir);
	/* One bxkd-dbg process per visit: it attaches, and leaves when it
	 * exits. */
	ck_assert(asprintf(&loop,
			   "exe=$0; symbols=$1; target=$2; "
			   "i=1; while [ $i -lt %d ]; do "
			   "\"$exe\" --json --quiet --symbols \"$symbols\" --timeout %s --target "
			   "\"$target\" connect 'read workload_round_count 4' go || exit 1; "
			   "i=$((i + 1)); done; "
			   "exec \"$exe\" --json --quiet --symbols \"$symbols\" --timeout %s --target "
			   "\"$target\" connect 'read workload_round_count 4' "
			   "'write workload_rounds_wanted 00000000' go",
			   RECONNECTS, DBG_TIMEOUT_SECONDS, DBG_TIMEOUT_SECONDS) > 0);
	char *const debugger[] = { "/bin/sh", "-c", loop, BXKD_DBG, BXKD_GUEST_SYMBOLS, s.target,
				   NULL };
	boot_with(&s, debugger, out_path, err_path, 240000);
	free(loop);
	require_clean_run(&s);

	/* connect, read, go per visit; a write more in the last. */
	unsigned visits = 0, reads = 0, last_round = 0;
	for (char *line = strtok(s.output, "\n"); line; line = strtok(NULL, "\n")) {
		char data[64];
		if (json_has_members(line, "\"command\":\"connect\"")) {
			ck_assert_msg(json_has_members(line, "\"ok\":true") &&
					      json_has_members(line, "\"stopped\":true"),
				      "visit %u: %s", visits + 1, line);
			visits++;
		} else if (json_has_members(line, "\"command\":\"read\"")) {
			ck_assert_msg(json_string_member(line, "data", data, sizeof(data)), "%s", line);
			/* The round count, little-endian: never going back. */
			unsigned round = 0;
			for (int i = 3; i >= 0; i--) {
				unsigned byte;
				ck_assert(sscanf(data + 2 * i, "%2x", &byte) == 1);
				round = round << 8 | byte;
			}
			ck_assert_msg(round >= last_round, "round %u after %u", round, last_round);
			last_round = round;
			reads++;
		} else {
			ck_assert_msg(json_has_members(line, "\"ok\":true"), "%s", line);
		}
	}
	ck_assert_msg(visits == RECONNECTS && reads == RECONNECTS, "%u visits, %u reads:\n%s",
		      visits, reads, s.errors ? s.errors : "");
	const struct bxvm_test_line *result = bxh_find_test(&s.run, "workload");
	ck_assert_ptr_nonnull(result);
	/* The initial breakpoint, then one break-in per later visit. */
	ck_assert_msg(strstr(result->detail, "debugger=yes") && strstr(result->detail, "stops=100 ") &&
			      strstr(result->detail, "breakins=99 "),
		      "%s", result->detail);
	printf("%s: %u reconnects, each connect, read, go; the kernel ended after round %u: %s\n",
	       name, visits, last_round, result->detail);
	session_free(&s);
}

START_TEST(a_hundred_reconnects_over_the_shared_page)
{
	reconnect_many_times(OVER_VMPORT, "session_reconnects_vmport");
}
END_TEST

START_TEST(a_hundred_reconnects_over_the_serial_port)
{
	reconnect_many_times(OVER_SERIAL, "session_reconnects_serial");
}
END_TEST

/* ---- radare2's attach, in kd-protocol terms ------------------------------------------ */

/*
 * radare2's winkd (shlr/winkd/winkd.c, winkd_sync and winkd_read_ver)
 * attaches like this, and refuses the target when the last step finds no
 * profile:
 *   1. the break-in byte, RESET, and waiting for the target's RESET;
 *   2. the first state change, whatever it is (a breakpoint, or on serial
 *      the kernel's symbol load);
 *   3. GetVersion: MachineType i386 or AMD64, the DATA flag, MinorVersion;
 *   4. 4 bytes at DebuggerDataList (the KDDEBUGGER_DATA64 address, taken
 *      zero-extended), 2 at its PaeEnabled (0x36), 8 at its CmNtCSDVersion
 *      (0x268), 4 at the address found there: the service pack is bits
 *      15:8 (rizin reads 8);
 *   5. a profile for (32 bits, MinorVersion, service pack).
 * Then it reads the registers (GetContext, flags 0x1003F), memory in reads
 * of up to 2048 bytes, and continues with Continue (status 0x10001, 0x400
 * in the next dword).
 */
#define R2_TIMEOUT_MS 60000u
#define R2_CONTINUE_STATUS 0x00010001u
#define R2_CONTINUE_SECOND_DWORD 0x400u
#define R2_CONTEXT_FLAGS 0x0001003Fu
#define R2_READ_MAX 2048u
#define KDBG_PAE_ENABLED 0x36u
#define KDBG_NT_BUILD_LAB 0x208u
#define KDBG_CM_NT_CSD_VERSION 0x268u

/* The (build, service pack) pairs radare2's shlr/winkd/profiles.h has
 * 32-bit profiles for. */
static const struct {
	uint16_t build;
	uint8_t service_pack;
} radare2_x86_profiles[] = {
	{ 2600, 2 }, { 2600, 3 }, { 3790, 0 }, { 3790, 1 }, { 3790, 2 }, { 6000, 0 },
	{ 6000, 1 }, { 6002, 2 }, { 7601, 0 }, { 7601, 1 }, { 9200, 0 }, { 9200, 1 },
};

static bool radare2_has_profile(uint16_t build, uint8_t service_pack)
{
	for (size_t i = 0; i < sizeof(radare2_x86_profiles) / sizeof(radare2_x86_profiles[0]); i++)
		if (radare2_x86_profiles[i].build == build &&
		    radare2_x86_profiles[i].service_pack == service_pack)
			return true;
	return false;
}

/* What the attach read, for the test to check afterwards. */
struct r2_attach {
	struct kdpeer peer;
	const char *socket;
	bool attached_before_boot; /* break-in and RESET written before Bochs ran */
	char failure[256];
	uint32_t first_stop;	    /* NewState of the stop radare2 syncs on */
	unsigned stops;
	struct dbgkd_get_version64 version;
	uint64_t debugger_data;	    /* 4 bytes, zero-extended, as radare2 keeps it */
	uint16_t pae_enabled;
	uint64_t csd_pointer;
	uint32_t csd_version;	    /* the ULONG it points at */
	uint32_t owner_tag, size;   /* the block's header, at +0x10 */
	char build_lab[40];
	uint16_t context_bytes;	    /* GetContext's data */
	uint32_t big_read_actual;   /* a read of 2048 bytes */
	uint16_t big_read_payload;  /* its reply's KD payload */
};

static bool r2_fail(struct r2_attach *a, const char *what)
{
	if (!a->failure[0])
		snprintf(a->failure, sizeof(a->failure), "%s", what);
	return false;
}

static void on_r2_packet(void *ctx, struct kdpeer *peer, uint16_t type, const uint8_t *payload,
			 size_t length)
{
	struct r2_attach *a = ctx;
	struct dbgkd_any_wait_state_change stop;

	(void)peer;
	if (type != KDCOM_TYPE_STATE_CHANGE64 || length < sizeof(stop))
		return;
	memcpy(&stop, payload, sizeof(stop));
	if (!a->stops++)
		a->first_stop = stop.new_state;
}

/* One manipulate request: sent, acknowledged, answered; the answer in *m. */
static bool r2_request(struct r2_attach *a, struct dbgkd_manipulate_state64 *m)
{
	unsigned before = a->peer.of_type[KDCOM_TYPE_STATE_MANIPULATE];

	if (!kdpeer_send(&a->peer, KDCOM_TYPE_STATE_MANIPULATE, m, sizeof(*m), NULL, 0,
			 R2_TIMEOUT_MS))
		return r2_fail(a, "a request was not acknowledged");
	if (!kdpeer_wait_packet(&a->peer, KDCOM_TYPE_STATE_MANIPULATE, before, R2_TIMEOUT_MS) ||
	    a->peer.last_length < sizeof(*m))
		return r2_fail(a, "a request got no reply");
	memcpy(m, a->peer.last_payload, sizeof(*m));
	return m->return_status == DBGKD_STATUS_SUCCESS || r2_fail(a, "a request failed");
}

/* ReadVirtualMemory as radare2 sends it; the bytes read into out. */
static uint32_t r2_read(struct r2_attach *a, uint64_t address, uint32_t count, void *out)
{
	struct dbgkd_manipulate_state64 m = { .api_number = DBGKD_READ_VIRTUAL_MEMORY_API };

	m.u.read_memory.target_base_address = address;
	m.u.read_memory.transfer_count = count;
	if (!r2_request(a, &m))
		return 0;
	uint32_t actual = m.u.read_memory.actual_bytes;
	if (actual > count || a->peer.last_length != sizeof(m) + actual)
		return r2_fail(a, "a read's reply does not match its count");
	memcpy(out, a->peer.last_payload + sizeof(m), actual);
	a->big_read_payload = a->peer.last_length;
	return actual;
}

/* Steps 3 and 4: GetVersion and the identity fields. */
static bool r2_read_identity(struct r2_attach *a)
{
	struct dbgkd_manipulate_state64 m = { .api_number = DBGKD_GET_VERSION_API };
	uint32_t pointer32 = 0, header[2] = { 0 };

	if (!r2_request(a, &m))
		return false;
	a->version = m.u.get_version;
	if (r2_read(a, a->version.debugger_data_list, 4, &pointer32) != 4)
		return r2_fail(a, "DebuggerDataList unreadable");
	a->debugger_data = pointer32;
	if (r2_read(a, a->debugger_data + KDBG_PAE_ENABLED, 2, &a->pae_enabled) != 2 ||
	    r2_read(a, a->debugger_data + KDBG_CM_NT_CSD_VERSION, 8, &a->csd_pointer) != 8 ||
	    r2_read(a, a->csd_pointer, 4, &a->csd_version) != 4)
		return r2_fail(a, "the service pack unreadable");
	uint64_t lab = 0;
	if (r2_read(a, a->debugger_data + 0x10, 8, header) != 8 ||
	    r2_read(a, a->debugger_data + KDBG_NT_BUILD_LAB, 8, &lab) != 8 ||
	    !r2_read(a, lab, sizeof(a->build_lab) - 1, a->build_lab))
		return r2_fail(a, "the block's tag, size or NtBuildLab unreadable");
	a->owner_tag = header[0];
	a->size = header[1];
	return true;
}

/* What radare2 does next: the registers, a full-size read, Continue. */
static bool r2_registers_read_and_continue(struct r2_attach *a)
{
	struct dbgkd_manipulate_state64 m = { .api_number = DBGKD_GET_CONTEXT_API };
	static uint8_t block[R2_READ_MAX];

	m.u.set_context_flags = R2_CONTEXT_FLAGS;
	if (!r2_request(a, &m))
		return false;
	a->context_bytes = (uint16_t)(a->peer.last_length - sizeof(m));
	a->big_read_actual = r2_read(a, a->version.kern_base, R2_READ_MAX, block);
	memset(&m, 0, sizeof(m));
	m.api_number = DBGKD_CONTINUE_API;
	m.u.continue2.continue_status = R2_CONTINUE_STATUS;
	m.u.continue2.control_set.trace_flag = R2_CONTINUE_SECOND_DWORD;
	return kdpeer_send(&a->peer, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0,
			   R2_TIMEOUT_MS) ||
	       r2_fail(a, "Continue was not acknowledged");
}

/* Step 1's bytes, written now. radare2 sends its RESET once: the engine's
 * resends of it are silenced until the target answers. */
static void r2_send_attach(struct r2_attach *a)
{
	kdcom_send_breakin(&a->peer.k);
	kdcom_send_reset(&a->peer.k, bxkd_now_ms());
	kdpeer_pump(&a->peer, 0);
	a->peer.mute = true;
}

static bool r2_connect(struct r2_attach *a)
{
	if (!kdpeer_open_unix(&a->peer, a->socket, R2_TIMEOUT_MS, on_r2_packet, a))
		return r2_fail(a, "the endpoint never answered");
	r2_send_attach(a);
	return true;
}

static void *r2_attach_thread(void *arg)
{
	struct r2_attach *a = arg;
	uint64_t deadline = bxkd_now_ms() + R2_TIMEOUT_MS;

	if (!a->attached_before_boot && !r2_connect(a))
		return NULL;
	while (!a->peer.reset && !a->peer.failed && bxkd_now_ms() < deadline)
		kdpeer_pump(&a->peer, 20);
	a->peer.mute = false;
	if (!a->peer.reset) {
		r2_fail(a, "the target never answered RESET");
	} else if (!kdpeer_wait_packet(&a->peer, KDCOM_TYPE_STATE_CHANGE64, 0, R2_TIMEOUT_MS)) {
		r2_fail(a, "no state change after the RESET");
	} else if (r2_read_identity(a) && r2_registers_read_and_continue(a)) {
		/* A symbol load first: the breakpoint comes next, and is
		 * continued the same way. */
		if (a->first_stop == DBGKD_LOAD_SYMBOLS_STATE_CHANGE &&
		    kdpeer_wait_packet(&a->peer, KDCOM_TYPE_STATE_CHANGE64, 1, R2_TIMEOUT_MS))
			r2_registers_read_and_continue(a);
		/* The kernel's prints, acknowledged until it ends. */
		while (!a->peer.failed && bxkd_now_ms() < deadline)
			kdpeer_pump(&a->peer, 20);
	}
	close(a->peer.fd);
	return NULL;
}

/* Boots the kernel with kd_os=`os` (NULL: the default) on `transport`,
 * attaching as radare2 does; `early`: before Bochs runs, at the relay. */
static void radare2_attaches(enum transport transport, const char *name, const char *os,
			     bool early, struct r2_attach *a)
{
	struct session s;
	char option[40];
	pthread_t thread;

	snprintf(option, sizeof(option), "kd_os=%s", os ? os : "");
	prepare_machine(&s, X86, transport, name, os ? option : NULL);
	memset(a, 0, sizeof(*a));
	a->socket = s.socket;
	if (early) {
		/* The relay's socket is there; Bochs is not running yet. */
		ck_assert(r2_connect(a));
		a->attached_before_boot = true;
	}
	ck_assert_int_eq(pthread_create(&thread, NULL, r2_attach_thread, a), 0);
	boot_machine(&s);
	pthread_join(thread, NULL);
	ck_assert_msg(!a->failure[0], "radare2's attach: %s", a->failure);
	ck_assert_msg(s.run.outcome == BXVM_PASSED, "the kernel: %s", bxh_explain(&s.run));
	session_free(&s);
}

/* Everything radare2 reads says `identity`, and radare2 has a profile
 * for it; the replies it mishandles are the right size. */
static void expect_identity(const struct r2_attach *a, const struct kd_identity *identity)
{
	uint8_t service_pack = (uint8_t)(a->csd_version >> 8);

	ck_assert_uint_eq(a->version.machine_type, DBGKD_MACHINE_I386);
	ck_assert(a->version.flags & DBGKD_VERS_FLAG_DATA);
	ck_assert_uint_eq(a->version.minor_version, identity->build);
	ck_assert_uint_eq(a->csd_version, kd_identity_csd_version(identity));
	ck_assert_uint_eq(service_pack, identity->service_pack);
	ck_assert_msg(radare2_has_profile(a->version.minor_version, service_pack),
		      "radare2 has no profile for build %u SP%u", a->version.minor_version,
		      service_pack);
	ck_assert_uint_eq(a->pae_enabled & 1, 0);
	ck_assert_uint_eq(a->owner_tag, DBGKD_DEBUGGER_DATA_TAG);
	ck_assert_uint_eq(a->size, identity->debugger_data_size);
	ck_assert_str_eq(a->build_lab, identity->build_lab);
	/* radare2's own bugs (README.md, "Interoperability"): a CONTEXT of
	 * 716 bytes, and a 2048-byte read answered whole (2104 bytes). */
	ck_assert_uint_eq(a->context_bytes, sizeof(struct x86_context));
	ck_assert_uint_eq(a->big_read_actual, R2_READ_MAX);
	ck_assert_uint_eq(a->big_read_payload,
			  sizeof(struct dbgkd_manipulate_state64) + R2_READ_MAX);
}

START_TEST(radare2_attaches_to_the_default_kernel_over_the_shared_page)
{
	struct r2_attach a;

	radare2_attaches(OVER_VMPORT, "radare2_vmport", NULL, false, &a);
	expect_identity(&a, KD_IDENTITY_DEFAULT);
	ck_assert_uint_eq(KD_IDENTITY_DEFAULT->build, 2600);
	ck_assert_uint_eq(KD_IDENTITY_DEFAULT->service_pack, 3);
}
END_TEST

/* Attached at the relay before the machine runs: the RESET waits in the
 * relay, the kernel answers it, and the first stop is the kernel's
 * symbol load (its boot-time LoadSymbols), the breakpoint the next. */
START_TEST(radare2_attaches_to_the_default_kernel_over_serial_before_it_boots)
{
	struct r2_attach a;

	radare2_attaches(OVER_SERIAL, "radare2_serial", NULL, true, &a);
	expect_identity(&a, KD_IDENTITY_DEFAULT);
	ck_assert_uint_eq(a.first_stop, DBGKD_LOAD_SYMBOLS_STATE_CHANGE);
	ck_assert_uint_eq(a.stops, 2);
}
END_TEST

/* Another identity of the list says the same everywhere radare2 looks. */
START_TEST(another_identity_is_consistent_everywhere)
{
	struct r2_attach a;

	radare2_attaches(OVER_VMPORT, "radare2_win7", "7601.1", false, &a);
	expect_identity(&a, kd_identity_parse("7601.1", 6));
	ck_assert_str_eq(a.build_lab, "7601.win7sp1.bxkd");
}
END_TEST

/* The list itself: every identity is a pair radare2 knows, parses back
 * from its own name, and has a block size that holds the fields. */
START_TEST(every_identity_has_a_radare2_profile)
{
	char text[16];

	for (size_t i = 0; i < KD_IDENTITY_COUNT; i++) {
		const struct kd_identity *id = &kd_identities[i];
		ck_assert_msg(radare2_has_profile(id->build, id->service_pack), "%s", id->windows);
		snprintf(text, sizeof(text), "%u.%u", id->build, id->service_pack);
		ck_assert_ptr_eq(kd_identity_parse(text, strlen(text)), id);
		ck_assert_uint_ge(id->debugger_data_size, KDBG_CM_NT_CSD_VERSION + 8);
		ck_assert_uint_le(id->debugger_data_size, KD_DEBUGGER_DATA_SIZE_MAX);
		ck_assert_uint_lt(strlen(id->build_lab), 32);
	}
	ck_assert_ptr_eq(kd_identity_parse("2600", 4), KD_IDENTITY_DEFAULT);
	ck_assert_ptr_eq(kd_identity_parse("3790", 4), kd_identity_parse("3790.2", 6));
	const char *const refused[] = { "", "2600.", "2600.1", ".3", "2600.3x", "x", "26000.3",
					"123456", "2600.3.1", "7600" };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		ck_assert_msg(!kd_identity_parse(refused[i], strlen(refused[i])), "'%s'",
			      refused[i]);
}
END_TEST
/* The x86-64 kernel's version of the script, over the shared page from
 * long mode and over serial. */
START_TEST(the_x64_session_on_both_transports)
{
	the_same_session_on_both_transports_of(X64);
}
END_TEST

/* The x86-64 kernel broken into on each transport in turn. */
START_TEST(a_break_in_stops_the_running_x64_workload_on_each_transport)
{
	static const enum transport transports[] = { OVER_VMPORT, OVER_SERIAL };
	static const char *const names[] = { "session_breakin_x64_vmport",
					     "session_breakin_x64_serial" };

	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		break_in_while_the_workload_runs(X64, transports[i], names[i]);
}
END_TEST

/* The AMD64 CONTEXT carries the x87 and SSE state: the x86-64 kernel's
 * state after FNINIT at the first stop, and what the debugger set there
 * loaded into the CPU (FXRSTOR) and saved from it again (FXSAVE) at the
 * next stop, one instruction later. */
START_TEST(the_x64_floating_point_state_goes_through_the_cpu)
{
	struct session s;
	char *const commands[] = { "connect", "regs", "setreg mxcsr 0x7f80", "setreg fpcw 0x27f",
				   "step", "regs", "go", "wait-exit", NULL };

	run_session(&s, X64, OVER_VMPORT, "session_x64_floating_point", NULL, commands);
	require_clean_run(&s);
	EXPECT(&s, 1, "\"command\":\"regs\"", "\"mxcsr\":\"0x00001f80\"", "\"fpcw\":\"0x037f\"",
	       "\"fpsw\":\"0x0000\"");
	EXPECT(&s, 5, "\"command\":\"regs\"", "\"mxcsr\":\"0x00007f80\"", "\"fpcw\":\"0x027f\"");
	session_free(&s);
}
END_TEST

/* ---- MSRs (guest/kernel/kd.c's policy) ------------------------------------------- */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* An MSR the kernel lets a debugger write, a value each kernel takes, and
 * its value from reset (Bochs': the kernels never set them). */
struct writable_msr {
	uint32_t msr;
	uint64_t x86_pattern, x64_pattern;
	uint64_t reset;
	bool long_mode_only;
};

static const struct writable_msr writable_msrs[] = {
	{ 0x174, 0x5a5a0174, 0x5a5a0174, 0, false },		/* SYSENTER_CS */
	{ 0x175, 0x80abc175, 0xfffff80000abc175ull, 0, false }, /* SYSENTER_ESP */
	{ 0x176, 0x80def176, 0x00007fff0def0176ull, 0, false }, /* SYSENTER_EIP */
	{ 0xc0000081u, 0, 0x0023001000080081ull, 0, true },	/* STAR */
	{ 0xc0000082u, 0, 0xfffff80000102082ull, 0, true },	/* LSTAR */
	{ 0xc0000083u, 0, 0xfffff80000102083ull, 0, true },	/* CSTAR */
	{ 0xc0000084u, 0, 0x00047784, 0x20200, true },		/* SFMASK */
	{ 0xc0000102u, 0, 0xfffff80012340102ull, 0, true },	/* KERNEL_GS_BASE */
};

/* What the kernel refuses, each a failure with kd64's STATUS_NO_SUCH_DEVICE:
 * a TSC write (the clock it runs on), APIC_BASE, EFER, an MSR no CPU has,
 * and a value the register cannot take. */
static const char *const x86_refused_msrs[] = {
	"wrmsr 0x10 0", "rdmsr 0x1b", "wrmsr 0x1b 0xfee00900", "rdmsr 0x40000000",
	"wrmsr 0x175 0x100000000", /* the 32-bit kernel's registers take 32 bits */
	"rdmsr 0xc0000102",	   /* long mode's */
};
static const char *const x64_refused_msrs[] = {
	"wrmsr 0x10 0", "rdmsr 0x1b", "rdmsr 0xc0000080", "rdmsr 0x40000000",
	"wrmsr 0xc0000102 0x0000800000000000", /* not canonical */
	"wrmsr 0xc0000084 0x100000000",	       /* SFMASK holds 32 bits */
};

/*
 * Every MSR the kernel allows, on the real CPU: read (Bochs' reset value,
 * which the kernel never changes: zero, but SFMASK's 0x20200), written
 * with a pattern, read back equal and put back; the TSC read; each refused
 * register or value failing with STATUS_NO_SUCH_DEVICE; then the workload
 * runs to its end undisturbed. A rdmsr or wrmsr the CPU faulted on would
 * have ended the kernel.
 */
static void msrs_as_the_kernel_allows(enum arch arch, const char *name)
{
	const struct writable_msr *writable[ARRAY_SIZE(writable_msrs)];
	size_t writable_count = 0;
	const char *const *refused = arch == X64 ? x64_refused_msrs : x86_refused_msrs;
	size_t refused_count =
		arch == X64 ? ARRAY_SIZE(x64_refused_msrs) : ARRAY_SIZE(x86_refused_msrs);
	char *commands[64], member[64];
	size_t n = 0;
	struct session s;

	for (size_t i = 0; i < ARRAY_SIZE(writable_msrs); i++)
		if (arch == X64 || !writable_msrs[i].long_mode_only)
			writable[writable_count++] = &writable_msrs[i];
	commands[n++] = strdup("connect");
	for (size_t i = 0; i < writable_count; i++) {
		const struct writable_msr *w = writable[i];
		uint64_t pattern = arch == X64 ? w->x64_pattern : w->x86_pattern;
		ck_assert(asprintf(&commands[n++], "rdmsr 0x%x", w->msr) > 0);
		ck_assert(asprintf(&commands[n++], "wrmsr 0x%x 0x%" PRIx64, w->msr, pattern) > 0);
		ck_assert(asprintf(&commands[n++], "rdmsr 0x%x", w->msr) > 0);
		ck_assert(asprintf(&commands[n++], "wrmsr 0x%x 0x%" PRIx64, w->msr, w->reset) > 0);
	}
	commands[n++] = strdup("rdmsr 0x10");
	for (size_t i = 0; i < refused_count; i++)
		ck_assert(asprintf(&commands[n++], "! %s", refused[i]) > 0);
	commands[n++] = strdup("go");
	commands[n++] = strdup("wait-exit");
	commands[n] = NULL;
	ck_assert_uint_lt(n, ARRAY_SIZE(commands));

	run_session(&s, arch, OVER_VMPORT, name, NULL, commands);
	require_clean_run(&s);
	int line = 1;
	for (size_t i = 0; i < writable_count; i++, line += 4) {
		const struct writable_msr *w = writable[i];
		snprintf(member, sizeof(member), "\"value\":\"0x%016" PRIx64 "\"", w->reset);
		EXPECT(&s, line, "\"command\":\"rdmsr\"", "\"ok\":true", member);
		EXPECT(&s, line + 1, "\"command\":\"wrmsr\"", "\"ok\":true");
		snprintf(member, sizeof(member), "\"value\":\"0x%016" PRIx64 "\"",
			 arch == X64 ? w->x64_pattern : w->x86_pattern);
		EXPECT(&s, line + 2, "\"command\":\"rdmsr\"", member);
		EXPECT(&s, line + 3, "\"command\":\"wrmsr\"", "\"ok\":true");
	}
	EXPECT(&s, line, "\"command\":\"rdmsr\"", "\"msr\":\"0x00000010\"", "\"ok\":true");
	char *tsc_line = nth_line(&s, line++), tsc[32];
	ck_assert(json_string_member(tsc_line, "value", tsc, sizeof(tsc)));
	ck_assert_msg(strcmp(tsc, "0x0000000000000000") != 0, "the TSC does not count: %s", tsc_line);
	free(tsc_line);
	for (size_t i = 0; i < refused_count; i++, line += 2) {
		expect_string(&s, line, "error", "the target answered status 0xc000000e", false);
		EXPECT(&s, line + 1, "\"command\":\"!\"", "\"ok\":true");
	}
	EXPECT(&s, line, "\"command\":\"go\"", "\"ok\":true");
	const struct bxvm_test_line *result = bxh_find_test(&s.run, "workload");
	ck_assert_ptr_nonnull(result);
	ck_assert_msg(strstr(result->detail, "checksum=0xbef55dc0"), "%s", result->detail);
	for (size_t i = 0; i < n; i++)
		free(commands[i]);
	session_free(&s);
}

START_TEST(the_x86_kernels_msrs_from_a_debugger)
{
	msrs_as_the_kernel_allows(X86, "session_msr_x86");
}
END_TEST

START_TEST(the_x64_kernels_msrs_from_a_debugger)
{
	msrs_as_the_kernel_allows(X64, "session_msr_x64");
}
END_TEST

#ifdef BXKD_WINDOWS_DLL
/* The session script through the Windows KD DLL: every answer as
 * expected, and the same as the kernel's own transport gives. */
static void the_same_session_through_the_dll_of(enum arch arch)
{
	struct session vmport, dll;

	run_session(&vmport, arch, OVER_VMPORT,
		    arch == X64 ? "session_x64_vmport_for_dll" : "session_vmport_for_dll", NULL,
		    NULL);
	require_clean_run(&vmport);
	run_session(&dll, arch, OVER_DLL, arch == X64 ? "session_x64_dll" : "session_dll", NULL,
		    NULL);
	require_clean_run(&dll);
	check_session_answers(&dll, arch);
	ck_assert_msg(strstr(dll.run.console, "kd: kernel debugger on the KD DLL's") &&
			      strstr(dll.run.console, arch == X64 ? "kdbxkd-x64.dll" : "kdbxkd-x86.dll"),
		      "the kernel did not debug through the DLL:\n%s", dll.run.console);

	require_same_answers(&vmport, "the kernel's transport", &dll, "the DLL");
	session_free(&vmport);
	session_free(&dll);
}

START_TEST(the_same_session_through_the_windows_kd_dll)
{
	the_same_session_through_the_dll_of(X86);
}
END_TEST

/* kdbxkd-x64.dll in the x86-64 kernel, under the x64 session script. */
START_TEST(the_x64_session_through_the_windows_kd_dll)
{
	the_same_session_through_the_dll_of(X64);
}
END_TEST

START_TEST(a_break_in_stops_the_running_workload_through_the_windows_kd_dll)
{
	break_in_while_the_workload_runs(X86, OVER_DLL, "session_breakin_dll");
}
END_TEST
#endif

BXKD_SUITE(session,
	testcases_add(s, "sessions", 180, TESTS(
		the_same_session_on_both_transports,
		a_break_in_stops_the_running_workload_over_the_shared_page,
		a_break_in_stops_the_running_workload_over_the_serial_port));
	testcases_add(s, "reconnects", 400, TESTS(
		a_hundred_reconnects_over_the_shared_page,
		a_hundred_reconnects_over_the_serial_port));
	testcases_add(s, "identity", 10, TESTS(every_identity_has_a_radare2_profile));
	testcases_add(s, "x64", 180, TESTS(
		the_x64_session_on_both_transports,
		a_break_in_stops_the_running_x64_workload_on_each_transport,
		the_x64_floating_point_state_goes_through_the_cpu));
	testcases_add(s, "msr", 180, TESTS(
		the_x86_kernels_msrs_from_a_debugger, the_x64_kernels_msrs_from_a_debugger));
	testcases_add(s, "radare2_attach", 120, TESTS(
		radare2_attaches_to_the_default_kernel_over_the_shared_page,
		radare2_attaches_to_the_default_kernel_over_serial_before_it_boots,
		another_identity_is_consistent_everywhere));
	testcases_add_needing_dll(s, "session", "dll", 180, TESTS(
		the_same_session_through_the_windows_kd_dll,
		a_break_in_stops_the_running_workload_through_the_windows_kd_dll,
		the_x64_session_through_the_windows_kd_dll));
)
