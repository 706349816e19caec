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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bxh.h"
#include "proc.h"
#include "json_check.h"
#include "suites.h"
#include "testcases.h"

#define SESSION_SCRIPT BXKD_SOURCE_DIR "/tests/sessions/debug-session.bxkd"
#define DBG_TIMEOUT_SECONDS "60"

/* OVER_DLL: the shared page too, but through the Windows KD DLL the
 * kernel loads (kd=dll, guest/kernel/kd_dll.c), not the kernel's own copy
 * of the transport. */
enum transport { OVER_VMPORT, OVER_SERIAL, OVER_DLL };

static const char *const boot_transport[] = { "vmport", "serial", "dll" };

struct session {
	struct bxh_options o;
	struct bxh_run run;
	char workdir[512];
	char boot_options[128];
	char config[512];
	char target[400];
	char *dir;
	char *output; /* bxkd-dbg's JSON lines */
	char *errors;
	int dbg_status;
	struct child relay;
	bool have_relay;
};


/* Boots the workload kernel on `transport` and runs bxkd-dbg with the
 * given commands (or the session script when there are none) against it. */
static void run_session(struct session *s, enum transport transport, const char *test_name,
			const char *boot_extra, char *const commands[])
{
	char out_path[600], err_path[600];
	char *argv[64] = { BXKD_DBG,	   "--json",  "--quiet", "--symbols", BXKD_GUEST_SYMBOLS,
			   "--timeout", DBG_TIMEOUT_SECONDS, "--target", s->target };
	int n = 9;
	struct child dbg;

	memset(s, 0, sizeof(*s));
	bxh_options_init(&s->o);
	s->o.image = BXKD_GUEST_IMAGE;
	snprintf(s->workdir, sizeof(s->workdir), "%s/%s", BXKD_TEST_WORK_DIR, test_name);
	s->o.workdir = s->workdir;
	snprintf(s->boot_options, sizeof(s->boot_options), "kernel=workload kd=%s kd_break=1%s%s",
		 boot_transport[transport], boot_extra ? " " : "",
		 boot_extra ? boot_extra : "");
	s->o.boot_options = s->boot_options;
	s->dir = socket_dir();
	ck_assert_ptr_nonnull(s->dir);
	if (transport != OVER_SERIAL) {
		snprintf(s->config, sizeof(s->config), "vmport: kd_endpoint=unix:%s/kd.sock", s->dir);
		snprintf(s->target, sizeof(s->target), "connect:%s/kd.sock", s->dir);
	} else {
		/* Bochs' COM1 takes one TCP client, waits for it before it
		 * starts the machine, and dies of SIGPIPE when it leaves. So a
		 * relay holds the line for the whole run, as users should, and
		 * bxkd-dbg comes and goes on the relay's socket. */
		char bochs_side[64], debugger_side[320], trace[400];
		unsigned port = free_tcp_port();
		snprintf(s->config, sizeof(s->config),
			 "com1: enabled=1, mode=socket-server, dev=127.0.0.1:%u", port);
		snprintf(bochs_side, sizeof(bochs_side), "tcp-connect:127.0.0.1:%u", port);
		snprintf(debugger_side, sizeof(debugger_side), "unix:%s/kd.sock", s->dir);
		snprintf(s->target, sizeof(s->target), "connect:%s/kd.sock", s->dir);
		snprintf(trace, sizeof(trace), "%s/bxkd-tap.trace", s->dir);
		char *const relay[] = { BXKD_TAP_PROGRAM, "--quiet", bochs_side, debugger_side, NULL };
		ck_assert(child_start(&s->relay, relay, trace, NULL));
		s->have_relay = true;
	}
	s->o.extra_config = s->config;

	if (commands) {
		for (int i = 0; commands[i] && n < 63; i++)
			argv[n++] = commands[i];
	} else {
		argv[n++] = "--script";
		argv[n++] = SESSION_SCRIPT;
	}
	argv[n] = NULL;
	snprintf(out_path, sizeof(out_path), "%s/bxkd-dbg.out", s->dir);
	snprintf(err_path, sizeof(err_path), "%s/bxkd-dbg.err", s->dir);
	ck_assert(child_start(&dbg, argv, out_path, err_path));
	bxh_boot(&s->o, &s->run);
	/* The relay stands for the machine: when the machine has ended, so
	 * does the relay, and the script's wait-exit sees the target go. */
	if (s->have_relay)
		child_stop(&s->relay);
	s->dbg_status = child_wait(&dbg, 30000);
	s->output = read_text_file(out_path);
	s->errors = read_text_file(err_path);
	ck_assert_ptr_nonnull(s->output);
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

/* What the session script must get, line by line. */
static void check_session_answers(const struct session *s)
{
	EXPECT(s, 0, "\"command\":\"connect\"", "\"stopped\":true", "\"code\":\"0x80000003\"");
	expect_string(s, 0, "symbol", "kd_break+", true);
	EXPECT(s, 1, "\"command\":\"version\"", "\"build\":2600", "\"machine\":\"0x014c\"",
	       "\"kern_base\":\"0xffffffff80100000\"");
	/* "bxkd workload data block: " */
	expect_string(s, 2, "data", "62786b6420776f726b6c6f616420646174612062" "6c6f636b3a20", true);
	EXPECT(s, 3, "\"command\":\"write\",\"ok\":true");
	EXPECT(s, 4, "\"data\":\"7772697474656e2062792074686520646562756767657200\"");
	EXPECT(s, 5, "\"command\":\"read\",\"ok\":false");
	expect_string(s, 5, "error", "cannot read 0x80f00000", false);
	EXPECT(s, 6, "\"command\":\"!\",\"ok\":true");
	EXPECT(s, 7, "\"command\":\"bp\",\"ok\":true");
	EXPECT(s, 8, "\"command\":\"go\",\"ok\":true");
	EXPECT(s, 9, "\"command\":\"wait\"", "\"symbol\":\"workload_step_target\"");
	EXPECT(s, 10, "\"code\":\"0x80000004\"", "\"symbol\":\"workload_step_target+0x1\"");
	EXPECT(s, 11, "\"code\":\"0x80000004\"", "\"symbol\":\"workload_step_target+0x6\"");
	EXPECT(s, 12, "\"code\":\"0x80000004\"", "\"symbol\":\"workload_step_target+0x9\"");
	EXPECT(s, 13, "\"command\":\"regs\"", "\"eax\":\"0x00000003\"");
	EXPECT(s, 14, "\"command\":\"setreg\",\"ok\":true");
	EXPECT(s, 15, "\"command\":\"regs\"", "\"eax\":\"0x00000010\"");
	EXPECT(s, 16, "\"command\":\"readphys\"", "\"data\":\"62786b6420776f726b6c6f6164206461\"");
	EXPECT(s, 17, "\"command\":\"prints\"", "\"text\":\"bxkd kernel up: 100 rounds of work\\n\"");
	EXPECT(s, 18, "\"command\":\"bc\",\"ok\":true");
	EXPECT(s, 19, "\"command\":\"go\",\"ok\":true");
	/* The kernel went on to the end, with what the debugger did to it:
	 * the scratch buffer written, and the changed EAX in the checksum. */
	const struct bxvm_test_line *result = bxh_find_test(&s->run, "workload");
	ck_assert_ptr_nonnull(result);
	ck_assert_msg(strstr(result->detail, "scratch=\"written by the debugger\"") &&
			      strstr(result->detail, "checksum=0xbef55dd5") &&
			      strstr(result->detail, "breakpoints=2 single_steps=3"),
		      "%s", result->detail);
}

/* The output with the values of ECX and EDX blanked: caller-saved scratch
 * registers that hold, at the breakpoint, whatever the code before left
 * there, and that code includes the transport's. */
static char *without_scratch_registers(const char *output)
{
	char *copy = strdup(output);

	for (const char *name = "\"ecx\":\"0x"; name; name = name[1] == 'e' && name[2] == 'c'
								   ? "\"edx\":\"0x"
								   : NULL) {
		for (char *at = copy; (at = strstr(at, name)); at += strlen(name))
			memset(at + strlen(name), 'x', 8);
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
 * answer as expected, and the same on both. */
START_TEST(the_same_session_on_both_transports)
{
	struct session vmport, serial;

	run_session(&vmport, OVER_VMPORT, "session_vmport", NULL, NULL);
	require_clean_run(&vmport);
	check_session_answers(&vmport);
	run_session(&serial, OVER_SERIAL, "session_serial", NULL, NULL);
	require_clean_run(&serial);
	check_session_answers(&serial);

	require_same_answers(&vmport, "shared page", &serial, "serial");
	session_free(&vmport);
	session_free(&serial);
}
END_TEST

/* A debugger breaking into the running workload stops it wherever it is;
 * the session goes on, and ends the workload early by writing its round
 * count (it would run for hours). */
static void break_in_while_the_workload_runs(enum transport transport, const char *name)
{
	struct session s;
	char *const commands[] = { "connect", "go", "sleep 300", "breakin", "regs",
				   "read workload_round_count 4", "write workload_rounds_wanted 00000000",
				   "go", NULL };

	run_session(&s, transport, name, "rounds=1000000", commands);
	require_clean_run(&s);
	EXPECT(&s, 3, "\"command\":\"breakin\"", "\"stopped\":true", "\"code\":\"0x80000003\"");
	EXPECT(&s, 4, "\"command\":\"regs\"", "\"cs\":\"0x00000008\"");
	const struct bxvm_test_line *result = bxh_find_test(&s.run, "workload");
	ck_assert_ptr_nonnull(result);
	ck_assert_msg(strstr(result->detail, "breakins=1") && !strstr(result->detail, "rounds=1000000"),
		      "%s", result->detail);
	session_free(&s);
}

START_TEST(a_break_in_stops_the_running_workload_over_the_shared_page)
{
	break_in_while_the_workload_runs(OVER_VMPORT, "session_breakin_vmport");
}
END_TEST

START_TEST(a_break_in_stops_the_running_workload_over_the_serial_port)
{
	break_in_while_the_workload_runs(OVER_SERIAL, "session_breakin_serial");
}
END_TEST

#ifdef BXKD_WINDOWS_DLL
/* The session script through the Windows KD DLL: every answer as
 * expected, and the same as the kernel's own transport gives. */
START_TEST(the_same_session_through_the_windows_kd_dll)
{
	struct session vmport, dll;

	run_session(&vmport, OVER_VMPORT, "session_vmport_for_dll", NULL, NULL);
	require_clean_run(&vmport);
	run_session(&dll, OVER_DLL, "session_dll", NULL, NULL);
	require_clean_run(&dll);
	check_session_answers(&dll);
	ck_assert_msg(strstr(dll.run.console, "kd: kernel debugger on the KD DLL's"),
		      "the kernel did not debug through the DLL:\n%s", dll.run.console);

	require_same_answers(&vmport, "the kernel's transport", &dll, "the DLL");
	session_free(&vmport);
	session_free(&dll);
}
END_TEST

START_TEST(a_break_in_stops_the_running_workload_through_the_windows_kd_dll)
{
	break_in_while_the_workload_runs(OVER_DLL, "session_breakin_dll");
}
END_TEST
#endif

BXKD_SUITE(session,
	testcases_add(s, "sessions", 180, TESTS(
		the_same_session_on_both_transports,
		a_break_in_stops_the_running_workload_over_the_shared_page,
		a_break_in_stops_the_running_workload_over_the_serial_port));
#ifdef BXKD_WINDOWS_DLL
	testcases_add(s, "dll", 180, TESTS(
		the_same_session_through_the_windows_kd_dll,
		a_break_in_stops_the_running_workload_through_the_windows_kd_dll));
#else
	fprintf(stderr, "NOT RUN: %s: %s\n", "the session suite's dll case",
		TESTCASES_NO_WINDOWS_DLL);
#endif
)
