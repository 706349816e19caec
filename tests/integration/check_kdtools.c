/*
 * check_kdtools.c -- bxkd-dbg driving whole debug sessions against a KD
 * target over each kind of endpoint: kd-fake-target, the real bridge and
 * the real KD stub over a simulated machine (tests/tools/kd-fake-target.c).
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>

#include "json_check.h"
#include "proc.h"
#include "suites.h"
#include "testcases.h"

#define COMMAND_TIMEOUT_MS 30000

struct target {
	struct child child;
	char *dir;
	char spec[400]; /* what bxkd-dbg's --target needs */
};

/* Starts kd-win-target (Windows' behaviour, tests/tools/kd-win-target.c)
 * on a Unix socket, with its options (a NULL-terminated list). */
static void start_win_target(struct target *t, const char *const options[])
{
	char endpoint[300], ready[300], log[300];
	char *argv[32] = { BXKD_WIN_TARGET, "--endpoint", endpoint, "--ready-file", ready };
	int n = 5;

	t->dir = socket_dir();
	ck_assert_ptr_nonnull(t->dir);
	snprintf(endpoint, sizeof(endpoint), "unix:%s/kd.sock", t->dir);
	snprintf(ready, sizeof(ready), "%s/ready", t->dir);
	snprintf(log, sizeof(log), "%s/target.log", t->dir);
	for (int i = 0; options[i] && n < 31; i++)
		argv[n++] = (char *)options[i];
	argv[n] = NULL;
	ck_assert(child_start(&t->child, argv, NULL, log));
	ck_assert_msg(wait_for_file(ready, 5000), "kd-win-target did not start");
	snprintf(t->spec, sizeof(t->spec), "connect:%s/kd.sock", t->dir);
}

/* Starts kd-fake-target; mode is "unix", "tcp" or "pty". */
static void start_target(struct target *t, const char *mode)
{
	char endpoint[300], ready[300], log[300];

	t->dir = socket_dir();
	ck_assert_ptr_nonnull(t->dir);
	snprintf(ready, sizeof(ready), "%s/ready", t->dir);
	snprintf(log, sizeof(log), "%s/target.log", t->dir);
	if (!strcmp(mode, "unix"))
		snprintf(endpoint, sizeof(endpoint), "unix:%s/kd.sock", t->dir);
	else if (!strcmp(mode, "tcp"))
		snprintf(endpoint, sizeof(endpoint), "tcp:0");
	else
		snprintf(endpoint, sizeof(endpoint), "pty:%s/kd.pty", t->dir);
	char *const argv[] = { BXKD_FAKE_TARGET, "--endpoint", endpoint, "--ready-file", ready, NULL };
	ck_assert(child_start(&t->child, argv, NULL, log));
	ck_assert_msg(wait_for_file(ready, 5000), "kd-fake-target did not start");
	char *address = read_text_file(ready);
	address[strcspn(address, "\n")] = '\0';
	snprintf(t->spec, sizeof(t->spec), "%s%s",
		 !strcmp(mode, "unix") ? "connect:" : !strcmp(mode, "tcp") ? "tcp-connect:" : "tty:",
		 address);
	free(address);
}

static void stop_target(struct target *t)
{
	child_stop(&t->child);
	remove_socket_dir(t->dir);
}

/* Runs bxkd-dbg --json with the given options and commands (a NULL-
 * terminated list); returns its output. */
static char *dbg_list(struct target *t, int *status, const char *const args[])
{
	char *argv[64] = { BXKD_DBG, "--json", "--quiet", "--target", t->spec };
	int n = 5;

	for (int i = 0; args[i] && n < 63; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	char *out;
	*status = run_capture(argv, COMMAND_TIMEOUT_MS, &out);
	return out;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define dbg(t, status, ...) dbg_list((t), (status), ARGS(__VA_ARGS__))

/* The same, for a run that must succeed. */
static char *dbg_ok_list(struct target *t, const char *const args[])
{
	int status;
	char *out = dbg_list(t, &status, args);

	ck_assert_msg(status == 0, "bxkd-dbg failed (%d):\n%.3000s", status, out);
	return out;
}

#define dbg_ok(t, ...) dbg_ok_list((t), ARGS(__VA_ARGS__))

/* The output line of the index-th command named `command` (a copy). */
static char *result(const char *out, const char *command, int index)
{
	char name[64];

	for (const char *line = out; *line;) {
		size_t length = strcspn(line, "\n");
		char *copy = strndup(line, length);
		if (json_string_member(copy, "command", name, sizeof(name)) &&
		    !strcmp(name, command) && index-- == 0)
			return copy;
		free(copy);
		line += length + (line[length] == '\n');
	}
	return NULL;
}

/* Checks that the index-th `command` line has `members` ("\"key\":value"). */
static void expect(const char *out, const char *command, int index, const char *members)
{
	char *line = result(out, command, index);

	ck_assert_msg(line, "no result %d for '%s' in:\n%s", index, command, out);
	ck_assert_msg(json_has_members(line, members), "'%s' result lacks %s:\n%s", command,
		      members, line);
	free(line);
}

/* Checks that the string `key` of the index-th `command` line has `text`. */
static void expect_text(const char *out, const char *command, int index, const char *key,
			const char *text)
{
	char *line = result(out, command, index);
	char value[4096];

	ck_assert_msg(line, "no result %d for '%s' in:\n%s", index, command, out);
	ck_assert_msg(json_string_member(line, key, value, sizeof(value)) && strstr(value, text),
		      "'%s' result lacks %s:\n%s", command, text, line);
	free(line);
}

START_TEST(a_debug_session_over_a_unix_socket)
{
	struct target t;
	int status;
	char dump[400], dump_cmd[450];

	start_target(&t, "unix");
	snprintf(dump, sizeof(dump), "%s/memory.bin", t.dir);
	snprintf(dump_cmd, sizeof(dump_cmd), "dump %s 0x80100000 0x100000", dump);
	char *out = dbg(&t, &status, "connect", "version", "regs", "setreg eax 0x1234", "regs",
			"read 0x80102000 27", "write 0x80102000 424b5844", "read 0x80102000 4",
			"readphys 0x102000 4", "writephys 0x102004 2121", "read 0x80102004 2",
			"bp 0x80101010", "go", "wait", "regs", "step 3", "bc all", "go", "sleep 200",
			"breakin", dump_cmd);
	ck_assert_msg(status == 0, "bxkd-dbg failed (%d):\n%s", status, out);

	expect(out, "connect", 0, "\"code\":\"0x80000003\"");
	expect(out, "version", 0, "\"build\":2600");
	expect(out, "version", 0, "\"machine\":\"0x014c\"");
	expect(out, "version", 0, "\"kern_base\":\"0xffffffff80100000\"");
	expect(out, "regs", 1, "\"eax\":\"0x00001234\"");
	/* "bxkd fake target data block" */
	expect_text(out, "read", 0, "data", "62786b642066616b652074617267657420646174612062");
	expect(out, "read", 1, "\"data\":\"424b5844\"");
	expect(out, "readphys", 0, "\"data\":\"424b5844\"");
	expect(out, "read", 2, "\"data\":\"2121\"");
	expect(out, "wait", 0, "\"pc\":\"0x80101010\"");
	expect(out, "regs", 2, "\"eip\":\"0x80101010\"");
	expect(out, "step", 0, "\"pc\":\"0x80101011\"");
	expect(out, "step", 1, "\"pc\":\"0x80101012\"");
	expect(out, "step", 2, "\"code\":\"0x80000004\",\"pc\":\"0x80101013\"");
	expect(out, "breakin", 0, "\"stopped\":true");
	expect(out, "dump", 0, "\"bytes\":1048576");

	struct stat st;
	ck_assert_int_eq(stat(dump, &st), 0);
	ck_assert_int_eq(st.st_size, 1 << 20);
	char *memory = read_text_file(dump);
	ck_assert_mem_eq(memory + 0x2000, "BKXD!!", 6);
	free(memory);
	free(out);
	stop_target(&t);
}
END_TEST

START_TEST(unmapped_memory_fails_with_the_count_read)
{
	struct target t;
	int status;

	start_target(&t, "unix");
	char *out = dbg(&t, &status, "connect", "read 0x801ffff0 32");
	ck_assert_int_eq(status, 1);
	expect(out, "read", 0, "\"ok\":false");
	expect_text(out, "read", 0, "error", "status 0xc0000001 after 16 of 32 bytes");
	free(out);
	out = dbg(&t, &status, "connect", "read 0x90000000 4");
	ck_assert_int_eq(status, 1);
	expect_text(out, "read", 0, "error", "after 0 of 4 bytes");
	free(out);
	stop_target(&t);
}
END_TEST

/* rdmsr and wrmsr: kd-fake-target's one MSR (SYSENTER_ESP) written and
 * read back with all 64 bits; a register it refuses fails with the
 * target's status (kd64's STATUS_NO_SUCH_DEVICE), and the session goes
 * on; numbers that are no MSR or no 64-bit value are usage errors. */
START_TEST(msrs_are_read_and_written_as_far_as_the_target_allows)
{
	struct target t;
	int status;

	start_target(&t, "unix");
	char *out = dbg(&t, &status, "connect", "rdmsr 0x175", "wrmsr 0x175 0xfedcba9876543210",
			"rdmsr 373", "! rdmsr 0x1b", "! wrmsr 0x10 1", "rdmsr 0x175");
	ck_assert_msg(status == 0, "bxkd-dbg failed (%d):\n%s", status, out);
	expect(out, "rdmsr", 0, "\"msr\":\"0x00000175\",\"value\":\"0x0000000000000000\"");
	expect(out, "wrmsr", 0, "\"ok\":true");
	expect(out, "rdmsr", 1, "\"msr\":\"0x00000175\",\"value\":\"0xfedcba9876543210\"");
	expect(out, "rdmsr", 2, "\"ok\":false");
	expect_text(out, "rdmsr", 2, "error", "ReadMsr 0x0000001b: the target answered status 0xc000000e");
	expect_text(out, "wrmsr", 1, "error", "WriteMsr 0x00000010: the target answered status 0xc000000e");
	expect(out, "rdmsr", 3, "\"value\":\"0xfedcba9876543210\"");
	free(out);

	const char *const misused[] = { "rdmsr", "rdmsr 0x100000000", "rdmsr msr", "wrmsr 0x175",
					 "wrmsr 0x175 0x10000000000000000", "wrmsr 0x175 -1" };
	for (size_t i = 0; i < sizeof(misused) / sizeof(*misused); i++) {
		out = dbg(&t, &status, "connect", misused[i]);
		ck_assert_msg(status == 2, "'%s' exited %d:\n%s", misused[i], status, out);
		expect_text(out, i < 3 ? "rdmsr" : "wrmsr", 0, "error", "usage");
		ck_assert_ptr_null(result(out, "connect", 0));
		free(out);
	}
	stop_target(&t);
}
END_TEST

START_TEST(bad_commands_are_refused_with_a_reason)
{
	struct target t;
	int status;

	start_target(&t, "unix");
	char *out = dbg(&t, &status, "connect", "setreg nosuch 1");
	ck_assert_int_eq(status, 1);
	expect_text(out, "setreg", 0, "error", "no register 'nosuch'");
	free(out);
	/* Usage errors exit 2, as --help says, before the target is touched. */
	out = dbg(&t, &status, "connect", "write 0x80102000 4g");
	ck_assert_int_eq(status, 2);
	expect_text(out, "write", 0, "error", "usage");
	ck_assert_ptr_null(result(out, "connect", 0));
	free(out);
	out = dbg(&t, &status, "frobnicate");
	ck_assert_int_eq(status, 2);
	expect_text(out, "frobnicate", 0, "error", "unknown command");
	free(out);
	stop_target(&t);
}
END_TEST

START_TEST(a_session_over_tcp)
{
	struct target t;
	int status;

	start_target(&t, "tcp");
	char *out = dbg(&t, &status, "connect", "version", "read 0x80102000 4");
	ck_assert_msg(status == 0, "bxkd-dbg failed (%d):\n%s", status, out);
	expect(out, "read", 0, "\"data\":\"62786b64\"");
	free(out);
	stop_target(&t);
}
END_TEST

START_TEST(a_session_over_a_pseudo_terminal)
{
	struct target t;
	int status;

	start_target(&t, "pty");
	char *out = dbg(&t, &status, "connect", "version", "read 0x80102000 4", "go", "sleep 100",
			"breakin");
	ck_assert_msg(status == 0, "bxkd-dbg failed (%d):\n%s", status, out);
	expect(out, "read", 0, "\"data\":\"62786b64\"");
	expect(out, "breakin", 0, "\"stopped\":true");
	free(out);
	stop_target(&t);
}
END_TEST

/* The debugger leaves and comes back, with the target stopped and with
 * it running: each new session picks the link up where it is. */
START_TEST(reconnecting_in_the_middle_of_a_session)
{
	struct target t;
	int status;

	start_target(&t, "unix");
	char *out = dbg(&t, &status, "connect", "setreg ebx 0x5a5a");
	ck_assert_msg(status == 0, "session 1:\n%s", out);
	free(out);
	/* Still stopped at the same place, with what session 1 changed. */
	out = dbg(&t, &status, "connect", "regs", "go");
	ck_assert_msg(status == 0, "session 2:\n%s", out);
	expect(out, "regs", 0, "\"ebx\":\"0x00005a5a\"");
	free(out);
	/* Running now: connecting breaks in. */
	out = dbg(&t, &status, "connect", "regs", "go");
	ck_assert_msg(status == 0, "session 3:\n%s", out);
	expect(out, "connect", 0, "\"stopped\":true");
	free(out);
	stop_target(&t);
}
END_TEST

START_TEST(debug_prints_reach_the_debugger)
{
	struct target t;
	int status;

	start_target(&t, "unix");
	char *out = dbg(&t, &status, "connect", "go", "sleep 1500", "breakin", "prints");
	ck_assert_msg(status == 0, "bxkd-dbg failed:\n%s", out);
	expect_text(out, "prints", 0, "text", "loop ");
	free(out);
	stop_target(&t);
}
END_TEST


/* Lines of any length: a write is split into packets and verified. */
START_TEST(a_long_write_is_one_command_split_into_packets)
{
	struct target t;
	enum { LONG = 5000, SCRIPTED = 1000 };
	char *write = malloc(32 + 2 * LONG), *expected = malloc(2 * LONG + 1);
	char script[400], read_cmd[64];

	start_target(&t, "unix");
	for (int i = 0; i < LONG; i++)
		snprintf(expected + 2 * i, 3, "%02x", (i * 37 + 11) & 0xff);
	snprintf(write, 32 + 2 * LONG, "write 0x80110000 %s", expected);
	snprintf(read_cmd, sizeof(read_cmd), "read 0x80110000 %d", LONG);
	char *out = dbg_ok(&t, "connect", write, read_cmd);
	ck_assert_msg(strstr(out, expected), "the %d bytes read back differ", LONG);
	free(out);
	/* The same from a script: no line is cut, nothing of it runs as a command. */
	snprintf(script, sizeof(script), "%s/long.txt", t.dir);
	FILE *f = fopen(script, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "connect\nwrite 0x80120000 %.*s\nread 0x80120000 %d\n", 2 * SCRIPTED, expected,
		SCRIPTED);
	fclose(f);
	out = dbg_ok(&t, "--script", script);
	expected[2 * SCRIPTED] = '\0';
	ck_assert_msg(strstr(out, expected), "the %d bytes read back differ", SCRIPTED);
	free(out);
	free(write);
	free(expected);
	stop_target(&t);
}
END_TEST

/* A session against a fresh kd-win-target that must succeed: the target's
 * options, bxkd-dbg's options and commands, and what the answers must
 * hold, as "COMMAND INDEX MEMBERS" strings (each list NULL-terminated). */
static void win_session(const char *const target_options[], const char *const commands[],
			const char *const expected[])
{
	struct target t;
	char command[64], members[200];
	int index;

	start_win_target(&t, target_options);
	char *out = dbg_ok_list(&t, commands);
	for (int i = 0; expected[i]; i++) {
		ck_assert(sscanf(expected[i], "%63s %d %199[^\n]", command, &index, members) == 3);
		expect(out, command, index, members);
	}
	free(out);
	stop_target(&t);
}

/* The line drops as the break-in arrives: connect breaks in again when it
 * comes back, or a running target never stops. */
START_TEST(connect_breaks_in_again_when_the_line_comes_back)
{
	win_session(ARGS("--drop-first-connection"), ARGS("--timeout", "8", "connect", "version"),
		    ARGS("connect 0 \"stopped\":true"));
}
END_TEST

/* The target takes the request but its ACK and its reply are lost (the
 * reply dropped after its retries): the client RESETs and asks again. */
START_TEST(a_request_whose_ack_and_reply_are_lost_is_asked_again)
{
	win_session(ARGS("--initial-break", "--resend-timeout", "50", "--lose-reply-of",
			 "GetContext"),
		    ARGS("--resend-timeout", "50", "--timeout", "8", "connect", "regs", "link"),
		    ARGS("regs 0 \"eip\":\"0x80101000\"", "link 0 \"reissued\":1"));
}
END_TEST

/* Continue2's ACK is lost and the running target swallows the copies:
 * the client probes with a break-in and continues again. */
START_TEST(a_continue_whose_ack_is_lost_is_probed_not_failed)
{
	win_session(ARGS("--initial-break", "--resend-timeout", "50", "--lose-ack-of",
			 "Continue2"),
		    ARGS("--resend-timeout", "50", "connect", "go", "sleep 200", "breakin"),
		    ARGS("go 0 \"ok\":true", "breakin 0 \"stopped\":true"));
}
END_TEST

/* A reply a gone debugger asked for comes after our RESET (kdcom.dll
 * sends it again): connect probes until the target reports its stop. */
START_TEST(a_stale_reply_after_the_reset_does_not_hang_connect)
{
	win_session(ARGS("--stale-reply", "--resend-timeout", "50"),
		    ARGS("--resend-timeout", "50", "--timeout", "8", "connect", "version"),
		    ARGS("connect 0 \"stopped\":true", "version 0 \"build\":2600"));
}
END_TEST

/* An AMD64 target: its 1232-byte CONTEXT, 64-bit PCs, and a breakpoint
 * stepped off and put back at its full address. */
START_TEST(an_x64_target_is_debugged_as_x64)
{
	win_session(ARGS("--machine", "x64", "--initial-break"),
		    ARGS("connect", "version", "regs", "setreg rbx 0x1122334455667788", "setreg r15 7",
			 "regs", "bp 0xffffffff80101040", "go", "wait", "step", "go", "wait"),
		    ARGS("version 0 \"machine\":\"0x8664\"",
			 "connect 0 \"pc\":\"0xffffffff80101000\"",
			 "regs 0 \"rip\":\"0xffffffff80101000\"", "regs 0 \"cs\":\"0x0010\"",
			 "regs 1 \"rbx\":\"0x1122334455667788\"",
			 "regs 1 \"r15\":\"0x0000000000000007\"",
			 "bp 0 \"address\":\"0xffffffff80101040\"",
			 "wait 0 \"pc\":\"0xffffffff80101040\"",
			 "step 0 \"pc\":\"0xffffffff80101041\"",
			 /* round the 128-byte loop to the breakpoint, put back where it was */
			 "wait 1 \"code\":\"0x80000003\",\"pc\":\"0xffffffff80101040\""));
}
END_TEST

/* A failure says what the target answered, never "ok". */
START_TEST(a_failure_never_says_ok)
{
	struct target t;
	int status;

	start_win_target(&t, ARGS("--initial-break"));
	char *out = dbg(&t, &status, "connect", "bp 0x90000000");
	ck_assert_int_eq(status, 1);
	char *line = result(out, "bp", 0);
	char error[512];
	ck_assert_ptr_nonnull(line);
	ck_assert(json_string_member(line, "error", error, sizeof(error)));
	ck_assert_msg(!strstr(error, "ok"), "failure message with \"ok\": %s", error);
	ck_assert_msg(strstr(error, "status 0xc0000001"), "no status in: %s", error);
	free(line);
	free(out);
	stop_target(&t);
}
END_TEST

/* A script is checked whole first: a bad line 3 stops it before line 1
 * touches the target, named FILE:3, exit 2; an unknown symbol says so. */
START_TEST(a_script_is_checked_before_the_target_is_touched)
{
	struct target t;
	int status;
	char script[400], symbols[400], where[420];

	start_target(&t, "unix");
	snprintf(script, sizeof(script), "%s/bad.txt", t.dir);
	FILE *f = fopen(script, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "connect\nsetreg ebx 0x77\nfrobnicate now\n");
	fclose(f);
	char *out = dbg(&t, &status, "--script", script);
	ck_assert_int_eq(status, 2);
	snprintf(where, sizeof(where), "\"where\":\"%s:3\"", script);
	expect(out, "frobnicate", 0, where);
	ck_assert_ptr_null(result(out, "connect", 0));
	free(out);
	out = dbg_ok(&t, "connect", "regs");
	expect(out, "regs", 0, "\"ebx\":\"0x00000000\"");
	free(out);

	snprintf(symbols, sizeof(symbols), "%s/kernel.symbols", t.dir);
	f = fopen(symbols, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "80101000 T loop_start\n");
	fclose(f);
	out = dbg(&t, &status, "--symbols", symbols, "connect", "bp nosuchsym");
	ck_assert_int_eq(status, 2);
	expect_text(out, "bp", 0, "error", "unknown symbol 'nosuchsym'");
	free(out);
	stop_target(&t);
}
END_TEST

/* Stopped, the target waits in its receive loop; SIGTERM still ends it. */
START_TEST(kd_fake_target_ends_on_sigterm_while_stopped)
{
	struct target t;

	start_target(&t, "unix");
	char *out = dbg_ok(&t, "connect");
	free(out);
	ck_assert_int_eq(kill(t.child.pid, SIGTERM), 0);
	ck_assert_int_eq(child_wait(&t.child, 3000), 0);
	remove_socket_dir(t.dir);
}
END_TEST

BXKD_SUITE(kdtools,
	testcases_add(s, "sessions", 120, TESTS(
		a_debug_session_over_a_unix_socket, unmapped_memory_fails_with_the_count_read,
		msrs_are_read_and_written_as_far_as_the_target_allows,
		bad_commands_are_refused_with_a_reason, a_session_over_tcp,
		a_session_over_a_pseudo_terminal, reconnecting_in_the_middle_of_a_session,
		debug_prints_reach_the_debugger, a_long_write_is_one_command_split_into_packets,
		a_script_is_checked_before_the_target_is_touched,
		kd_fake_target_ends_on_sigterm_while_stopped));
	testcases_add(s, "windows_target", 120, TESTS(
		connect_breaks_in_again_when_the_line_comes_back,
		a_request_whose_ack_and_reply_are_lost_is_asked_again,
		a_continue_whose_ack_is_lost_is_probed_not_failed,
		a_stale_reply_after_the_reset_does_not_hang_connect, an_x64_target_is_debugged_as_x64,
		a_failure_never_says_ok));
)
