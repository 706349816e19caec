/*
 * check_replay_serve.c -- `bxkd-replay serve` as a process, playing the
 * target's side of the golden end-to-end session (tests/sessions/golden/
 * e2e.pcap) to bxkd-dbg running the script it was recorded with, to one
 * that strays from it, and to debuggers that leave or say nothing; and its
 * refusals of a damaged file and of bad arguments. No Bochs; each case
 * takes a second or two at most.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "proc.h"
#include "session_file.h"
#include "suites.h"
#include "testcases.h"

#define GOLDEN_DIR BXKD_SOURCE_DIR "/tests/sessions/golden"
#define GOLDEN_SESSION GOLDEN_DIR "/e2e.pcap"
#define GOLDEN_SCRIPT BXKD_SOURCE_DIR "/tests/sessions/debug-session.bxkd"
#define GOLDEN_X64_SESSION GOLDEN_DIR "/e2e-x64.pcap"
#define GOLDEN_X64_SCRIPT BXKD_SOURCE_DIR "/tests/sessions/debug-session-x64.bxkd"
/* A bound on every process; serve answers in milliseconds. */
#define WAIT_MS 30000u
/* What serve prints once it listens, whatever --quiet says. */
#define ATTACH_LINE "bxkd-replay serve: attach a debugger at "

struct run {
	char *dir;
	char sock[300], out[300], err[300];
	struct child serve;
	int status;
	char *text, *err_text;
};

static void sleep_ms(unsigned ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

static void run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->dir = socket_dir();
	ck_assert_ptr_nonnull(r->dir);
	snprintf(r->sock, sizeof(r->sock), "%s/kd.sock", r->dir);
	snprintf(r->out, sizeof(r->out), "%s/serve.out", r->dir);
	snprintf(r->err, sizeof(r->err), "%s/serve.err", r->dir);
}

static void run_free(struct run *r)
{
	free(r->text);
	free(r->err_text);
	remove_socket_dir(r->dir);
}

/* Polls serve's output for `text`: it says where to attach once it
 * listens, so a debugger started after that finds the socket. */
static bool wait_for_output(const char *path, const char *text, unsigned timeout_ms)
{
	for (unsigned waited = 0; waited <= timeout_ms; waited += 10) {
		char *out = read_text_file(path);
		bool found = out && strstr(out, text);
		free(out);
		if (found)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* serve SESSION --listen SOCK [extra], started and listening. */
static void start_serve(struct run *r, const char *session, const char *timeout)
{
	char *argv[] = { BXKD_REPLAY, "serve", (char *)session, "--listen", r->sock, "--timeout",
			 (char *)timeout, NULL };

	ck_assert(child_start(&r->serve, argv, r->out, r->err));
	ck_assert_msg(wait_for_output(r->out, ATTACH_LINE, WAIT_MS), "serve never listened");
}

static void finish_serve(struct run *r)
{
	r->status = child_wait(&r->serve, WAIT_MS);
	r->text = read_text_file(r->out);
	r->err_text = read_text_file(r->err);
	ck_assert_ptr_nonnull(r->text);
	ck_assert_ptr_nonnull(r->err_text);
}

/* serve ended at a divergence or a timeout (exit status 1). */
static void finish_serve_diverged(struct run *r)
{
	finish_serve(r);
	ck_assert_msg(r->status == 1, "serve exited %d:\n%s%s", r->status, r->text, r->err_text);
}

#define EXPECT_IN(haystack, needle, r)                                                        \
	ck_assert_msg(strstr((haystack), (needle)), "no \"%s\" in:\n%s\n%s", (needle),        \
		      (r)->text, (r)->err_text)

/* ---- what the recording holds ------------------------------------------------------ */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void read_session(const char *path, struct session_file *file)
{
	char error[1024];

	ck_assert_msg(session_file_read(path, file, error, sizeof(error)), "%s", error);
}

static void read_golden(struct session_file *file)
{
	read_session(GOLDEN_SESSION, file);
}

/* The STATE_MANIPULATE packet at `at`, if a whole one starts there. */
static const uint8_t *manipulate_at(const uint8_t *bytes, size_t length, size_t at)
{
	if (length - at < KDCOM_HEADER_SIZE + sizeof(struct dbgkd_manipulate_state64) ||
	    get32(bytes + at) != KDCOM_DATA_LEADER ||
	    get16(bytes + at + 4) != KDCOM_TYPE_STATE_MANIPULATE ||
	    get16(bytes + at + 6) < sizeof(struct dbgkd_manipulate_state64))
		return NULL;
	return bytes + at + KDCOM_HEADER_SIZE;
}

/* The first ENDPOINT record of `event` holding a whole STATE_MANIPULATE
 * packet of `api`: its sequence number and the packet. */
static uint32_t find_manipulate(const struct session_file *file, uint8_t event, uint32_t api,
				struct dbgkd_manipulate_state64 *m)
{
	for (size_t i = 1; i < file->count; i++) {
		const struct session_record *r = &file->records[i];
		if (r->h.kind != SESSION_ENDPOINT || r->u.endpoint.fixed.event != event)
			continue;
		for (size_t at = 0; at < r->u.endpoint.length; at++) {
			const uint8_t *p = manipulate_at(r->u.endpoint.bytes, r->u.endpoint.length, at);
			if (p && get32(p) == api) {
				memcpy(m, p, sizeof(*m));
				return r->h.sequence;
			}
		}
	}
	ck_abort_msg("the golden session has no packet 0x%x", api);
	return 0;
}

/* bxkd-dbg's `version` line for the GetVersion reply that was recorded. */
static void recorded_version_line(const struct session_file *file, char *line, size_t size)
{
	struct dbgkd_manipulate_state64 m;

	find_manipulate(file, KD_ENDPOINT_TO_DEBUGGER, DBGKD_GET_VERSION_API, &m);
	const struct dbgkd_get_version64 *v = &m.u.get_version;
	snprintf(line, size,
		 "version: build %u, protocol %u, machine 0x%04x, flags 0x%04x, kernel at 0x%016" PRIx64
		 ", module list 0x%016" PRIx64 ", debugger data 0x%016" PRIx64 "\n",
		 v->minor_version, v->protocol_version, v->machine_type, v->flags, v->kern_base,
		 v->ps_loaded_module_list, v->debugger_data_list);
}

/* The golden image's symbols: the script's names must resolve to the
 * addresses that were recorded, whatever today's build says. */
static char *golden_symbols(const struct session_file *file)
{
	char sha[80], *path;
	struct stat st;

	ck_assert(session_file_manifest(file, "image_sha256", sha, sizeof(sha)));
	ck_assert(asprintf(&path, "%s/images/%s.symbols", GOLDEN_DIR, sha) > 0);
	if (stat(path, &st) != 0) {
		free(path);
		path = strdup(BXKD_GUEST_SYMBOLS);
	}
	return path;
}

/* ---- the cases ---------------------------------------------------------------------- */

START_TEST(the_debugger_that_was_recorded_matches)
{
	struct session_file file;
	struct run r;
	char target[320], dbg_out[320], dbg_err[320], version[512];

	read_golden(&file);
	char *symbols = golden_symbols(&file);
	recorded_version_line(&file, version, sizeof(version));
	run_init(&r);
	start_serve(&r, GOLDEN_SESSION, "20");

	snprintf(target, sizeof(target), "connect:%s", r.sock);
	snprintf(dbg_out, sizeof(dbg_out), "%s/dbg.out", r.dir);
	snprintf(dbg_err, sizeof(dbg_err), "%s/dbg.err", r.dir);
	char *dbg_argv[] = { BXKD_DBG, "--symbols", symbols, "--script", GOLDEN_SCRIPT,
			     "--target", target, NULL };
	struct child dbg;
	ck_assert(child_start(&dbg, dbg_argv, dbg_out, dbg_err));
	int dbg_status = child_wait(&dbg, WAIT_MS);
	finish_serve(&r);
	char *out = read_text_file(dbg_out), *err = read_text_file(dbg_err);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);

	ck_assert_msg(r.status == 0, "serve exited %d:\n%s%s\nbxkd-dbg:\n%s%s", r.status, r.text,
		      r.err_text, out, err);
	ck_assert_msg(dbg_status == 0, "bxkd-dbg exited %d:\n%s%s", dbg_status, out, err);
	EXPECT_IN(r.text, "bxkd-replay serve: the debugger matched the recording: ", &r);
	EXPECT_IN(r.text, "bxkd-dbg --target connect:", &r);
	EXPECT_IN(r.text,
		  "radare2 -a x86 -b 32 -e dbg.bpinmaps=false -e dbg.swstep=false -D winkd winkd://",
		  &r);
	ck_assert_msg(strstr(out, version), "bxkd-dbg's version is not the recorded\n%s:\n%s", version,
		      out);
	/* It got to the end of the script: the machine ended under it. */
	ck_assert_msg(strstr(out, "the target went away"), "%s%s", out, err);
	/* serve removes its socket when it is done. */
	ck_assert_int_ne(access(r.sock, F_OK), 0);

	free(out);
	free(err);
	free(symbols);
	run_free(&r);
	session_file_free(&file);
}
END_TEST

/* The stray read of each kernel: its base, never the data block the
 * recorded script reads; the x86-64 kernel's needs all 64 bits. */
static const struct stray {
	const char *session;
	const char *read;	/* the script's stray line */
	uint64_t address;	/* what its request asks for */
	const char *received;	/* and how the report decodes that */
} strays[] = {
	{ GOLDEN_SESSION, "read 0x80100000 56", 0xffffffff80100000ull,
	  "ReadVirtualMemory request address=0xffffffff80100000 count=56" },
	{ GOLDEN_X64_SESSION, "read 0xfffff80000100000 56", 0xfffff80000100000ull,
	  "ReadVirtualMemory request address=0xfffff80000100000 count=56" },
};

/* A debugger reading another address than the recorded one after
 * `version`: the report names the record, shows the bytes and both frames,
 * their addresses whole (loop 1: the x86-64 kernel's session). */
START_TEST(a_debugger_that_strays_is_reported_where_it_strays)
{
	const struct stray *stray = &strays[_i];
	struct session_file file;
	struct dbgkd_manipulate_state64 m;
	struct run r;
	char target[320], script[320], expect[200];

	read_session(stray->session, &file);
	uint32_t record = find_manipulate(&file, KD_ENDPOINT_TO_TARGET, DBGKD_READ_VIRTUAL_MEMORY_API, &m);
	uint64_t recorded_address = m.u.read_memory.target_base_address;
	run_init(&r);
	snprintf(script, sizeof(script), "%s/stray.bxkd", r.dir);
	FILE *f = fopen(script, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "connect\nversion\n%s\n", stray->read);
	fclose(f);
	ck_assert(recorded_address != stray->address);
	start_serve(&r, stray->session, "10");

	snprintf(target, sizeof(target), "connect:%s", r.sock);
	char *dbg_argv[] = { BXKD_DBG, "--script", script, "--target", target, NULL };
	struct child dbg;
	ck_assert(child_start(&dbg, dbg_argv, NULL, NULL));
	finish_serve(&r);
	/* Hung up on, it would retry until its own timeout: its verdict is
	 * not what this tests. */
	child_stop(&dbg);

	ck_assert_msg(r.status == 1, "serve exited %d:\n%s%s", r.status, r.text, r.err_text);
	snprintf(expect, sizeof(expect), "divergence at record %" PRIu32 " d2t ", record);
	EXPECT_IN(r.text, expect, &r);
	EXPECT_IN(r.text, "the debugger's bytes differ from the recorded ones at byte ", &r);
	snprintf(expect, sizeof(expect), "> record %" PRIu32 " d2t", record);
	EXPECT_IN(r.text, expect, &r);
	/* The hex diff: both versions of the line and the marks under them. */
	EXPECT_IN(r.text, "bytes (- recorded, + received", &r);
	EXPECT_IN(r.text, "\n  - 0000", &r);
	EXPECT_IN(r.text, "\n  + 0000", &r);
	EXPECT_IN(r.text, "^^", &r);
	/* Both frames decoded: the recorded read and the one that came. */
	char *recorded = strstr(r.text, "recorded, decoded:\n");
	char *received = strstr(r.text, "received, decoded:\n");
	ck_assert_msg(recorded && received && recorded < received, "%s", r.text);
	snprintf(expect, sizeof(expect), "ReadVirtualMemory request address=0x%016" PRIx64,
		 recorded_address);
	char *recorded_read = strstr(recorded, expect);
	ck_assert_msg(recorded_read && recorded_read < received, "no \"%s\" in:\n%s", expect,
		      r.text);
	EXPECT_IN(received, stray->received, &r);

	run_free(&r);
	session_file_free(&file);
}
END_TEST

/* The x86-64 kernel's session played to bxkd-dbg through bxkd-tap: the
 * debugger matches the recording, and the tap decodes an AMD64 target
 * (machine 0x8664, 64-bit PCs and addresses, the 1232-byte CONTEXT with
 * 64-bit RIP and RSP). */
START_TEST(bxkd_tap_decodes_the_x64_session_between_serve_and_bxkd_dbg)
{
	struct session_file file;
	struct run r;
	char target[320], tap_sock[320], tap_target[340], tap_out[320], tap_err[320];

	read_session(GOLDEN_X64_SESSION, &file);
	char *symbols = golden_symbols(&file);
	run_init(&r);
	start_serve(&r, GOLDEN_X64_SESSION, "20");

	snprintf(target, sizeof(target), "connect:%s", r.sock);
	snprintf(tap_sock, sizeof(tap_sock), "%s/tap.sock", r.dir);
	snprintf(tap_target, sizeof(tap_target), "connect:%s", tap_sock);
	snprintf(tap_out, sizeof(tap_out), "%s/tap.out", r.dir);
	snprintf(tap_err, sizeof(tap_err), "%s/tap.err", r.dir);
	char *tap_argv[] = { BXKD_TAP_PROGRAM, "--quiet", target, tap_sock, NULL };
	struct child tap;
	ck_assert(child_start(&tap, tap_argv, tap_out, tap_err));
	char *dbg_argv[] = { BXKD_DBG, "--symbols", symbols, "--script", GOLDEN_X64_SCRIPT,
			     "--target", tap_target, NULL };
	struct child dbg;
	ck_assert(child_start(&dbg, dbg_argv, NULL, NULL));
	finish_serve(&r);
	/* The tap keeps a debugger when its target leaves, so the script's
	 * wait-exit would wait for its own timeout: serve's verdict is the one. */
	child_stop(&dbg);
	child_stop(&tap);
	char *out = read_text_file(tap_out);
	ck_assert_ptr_nonnull(out);

	ck_assert_msg(r.status == 0, "serve exited %d:\n%s%s\nbxkd-tap:\n%s", r.status, r.text,
		      r.err_text, out);
	EXPECT_IN(r.text, "bxkd-replay serve: the debugger matched the recording: ", &r);
	const char *lines[] = {
		" t2d STATE_CHANGE64 id=0x80800800 SYNC length=244 checksum ok trailer ok: "
		"Exception cpu=0/1 pc=0xfffff80000102809 code=0x80000003 breakpoint "
		"address=0xfffff80000102809 first-chance data=4\n",
		" t2d STATE_MANIPULATE id=0x80800001 length=56 checksum ok trailer ok: GetVersion "
		"reply status=0x00000000 success version=0x000f build=7601 protocol=6 flags=0x0006 "
		"machine=0x8664 AMD64 KernBase=0xfffff80000100000 "
		"PsLoadedModuleList=0xfffff80000112230 DebuggerDataList=0xfffff80000112220\n",
		": ReadVirtualMemory request address=0xfffff8000010d000 count=56\n",
		": ReadVirtualMemory reply status=0x00000000 success address=0xfffff8000010d000 "
		"count=56 actual=56 data=56\n",
		": WriteBreakPoint request address=0xfffff80000108578\n",
		": Exception cpu=0/1 pc=0xfffff80000108581 code=0x80000004 single-step "
		"address=0xfffff80000108581 first-chance data=4\n",
		" t2d STATE_MANIPULATE id=0x80800000 length=1288 checksum ok trailer ok: GetContext "
		"reply cpu=0 status=0x00000000 success data=1232 context=AMD64 "
		"rip=0xfffff80000108581 rsp=0xfffff8000023bf98 eflags=0x00000306\n",
		" d2t STATE_MANIPULATE id=0x80800000 length=1288 checksum ok trailer ok: SetContext "
		"request cpu=0 flags=0x00100017 data=1232 context=AMD64 rip=0xfffff80000108581 "
		"rsp=0xfffff8000023bf98 eflags=0x00000306\n",
		": ReadPhysicalMemory request address=0x000000000010d000 count=16\n",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		ck_assert_msg(strstr(out, lines[i]), "bxkd-tap printed no \"%s\":\n%.3000s",
			      lines[i], out);

	free(out);
	free(symbols);
	run_free(&r);
	session_file_free(&file);
}
END_TEST

/* A session file cut short is refused before anything listens, with the
 * place of the cut and the tools that do read a cut file. */
START_TEST(a_damaged_session_is_refused)
{
	struct run r;
	char cut[320];
	size_t size;

	run_init(&r);
	snprintf(cut, sizeof(cut), "%s/cut.pcap", r.dir);
	char *whole = read_text_file(GOLDEN_SESSION);
	struct stat st;
	ck_assert_ptr_nonnull(whole);
	ck_assert_int_eq(stat(GOLDEN_SESSION, &st), 0);
	size = (size_t)st.st_size / 2;
	FILE *f = fopen(cut, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(whole, 1, size, f), size);
	fclose(f);
	free(whole);

	char *argv[] = { BXKD_REPLAY, "serve", cut, "--listen", r.sock, NULL };
	ck_assert(child_start(&r.serve, argv, r.out, r.err));
	finish_serve_diverged(&r);
	EXPECT_IN(r.err_text, "cut.pcap is cut off after record ", &r);
	EXPECT_IN(r.err_text, "this needs a whole session", &r);
	EXPECT_IN(r.err_text, "bxkd-replay verify", &r);
	ck_assert_int_ne(access(r.sock, F_OK), 0);
	run_free(&r);
}
END_TEST

START_TEST(bad_arguments_are_usage_errors)
{
	char *none[] = { BXKD_REPLAY, "serve", NULL };
	char *no_listen[] = { BXKD_REPLAY, "serve", GOLDEN_SESSION, NULL };
	char *no_session[] = { BXKD_REPLAY, "serve", "--listen", "/tmp/x.sock", NULL };
	char *two[] = { BXKD_REPLAY, "serve", GOLDEN_SESSION, GOLDEN_SESSION, "--listen",
			"/tmp/x.sock", NULL };
	char *zero_timeout[] = { BXKD_REPLAY, "serve", GOLDEN_SESSION, "--listen", "/tmp/x.sock",
				 "--timeout", "0", NULL };
	char *word_timeout[] = { BXKD_REPLAY, "serve", GOLDEN_SESSION, "--listen", "/tmp/x.sock",
				 "--timeout", "soon", NULL };
	char *unknown[] = { BXKD_REPLAY, "serve", GOLDEN_SESSION, "--listen", "/tmp/x.sock",
			    "--bogus", NULL };
	/* serve listens; connecting to someone else's endpoint is not that. */
	char *connects[] = { BXKD_REPLAY, "serve", GOLDEN_SESSION, "--listen", "connect:/tmp/x.sock",
			     NULL };
	char *bad_port[] = { BXKD_REPLAY, "serve", GOLDEN_SESSION, "--listen", "tcp:99999", NULL };
	/* A mistyped kind is not taken for a file name with a colon. */
	char *bad_kind[] = { BXKD_REPLAY, "serve", GOLDEN_SESSION, "--listen", "tpc:5555", NULL };
	char **cases[] = { none, no_listen, no_session, two, zero_timeout, word_timeout, unknown,
			   connects, bad_port, bad_kind };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out;
		int status = run_capture(cases[i], WAIT_MS, &out);
		ck_assert_msg(status == 2, "case %zu: exit %d, not 2:\n%s", i, status, out);
		free(out);
	}
	ck_assert_int_ne(access("/tmp/x.sock", F_OK), 0);
	ck_assert_int_ne(access("tpc:5555", F_OK), 0);
}
END_TEST

/* Ctrl-C while waiting for the debugger: said as an interruption, at once,
 * with the shell's status for SIGINT; not a divergence after the timeout. */
START_TEST(an_interrupted_serve_says_so)
{
	struct run r;

	run_init(&r);
	start_serve(&r, GOLDEN_SESSION, "60");
	kill(r.serve.pid, SIGINT);
	r.status = child_wait(&r.serve, 5000);
	r.text = read_text_file(r.out);
	r.err_text = read_text_file(r.err);
	ck_assert_msg(r.status == 128 + SIGINT, "serve exited %d:\n%s%s", r.status, r.text,
		      r.err_text);
	EXPECT_IN(r.text, "interrupted by SIGINT at record ", &r);
	ck_assert_ptr_null(strstr(r.text, "divergence"));
	run_free(&r);
}
END_TEST

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* One that hangs up at once, where the recording has it break in. */
START_TEST(a_debugger_that_leaves_early_is_a_divergence)
{
	struct run r;

	run_init(&r);
	start_serve(&r, GOLDEN_SESSION, "10");
	close(connect_to(r.sock));
	finish_serve_diverged(&r);
	EXPECT_IN(r.text, "the debugger left at record ", &r);
	EXPECT_IN(r.text, "; 0 of the ", &r);
	run_free(&r);
}
END_TEST

/* One that attaches and says nothing, and none at all: the timeout. */
START_TEST(a_silent_or_absent_debugger_times_out)
{
	struct run r;

	run_init(&r);
	start_serve(&r, GOLDEN_SESSION, "1");
	int fd = connect_to(r.sock);
	finish_serve_diverged(&r);
	close(fd);
	EXPECT_IN(r.text, "waited 1 s for the debugger: 0 of the ", &r);
	run_free(&r);

	run_init(&r);
	start_serve(&r, GOLDEN_SESSION, "1");
	finish_serve_diverged(&r);
	EXPECT_IN(r.text, "debugger attached (tick ", &r);
	EXPECT_IN(r.text, "no debugger attached within 1 s", &r);
	run_free(&r);
}
END_TEST

BXKD_SUITE(replay_serve,
	TCase *serve = testcases_add(s, "serve", 60, TESTS(
		the_debugger_that_was_recorded_matches, a_damaged_session_is_refused,
		bad_arguments_are_usage_errors, a_debugger_that_leaves_early_is_a_divergence,
		a_silent_or_absent_debugger_times_out, an_interrupted_serve_says_so));
	tcase_add_loop_test(serve, a_debugger_that_strays_is_reported_where_it_strays, 0,
			    sizeof(strays) / sizeof(strays[0]));
	testcases_add(s, "x64", 60, TESTS(bxkd_tap_decodes_the_x64_session_between_serve_and_bxkd_dbg));
)
