/*
 * check_golden.c -- the golden sessions of tests/sessions/golden/
 * (golden/README.md): each replays on today's build with no divergence;
 * recording the deterministic ones again from scratch gives the same file
 * but for the manifest's timestamp; a guest changed by one data byte
 * diverges at the first crossing that carries the byte, with a readable
 * report; tshark with the dissector decodes a recorded session.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bxvm.h"
#include "proc.h"
#include "session.h"
#include "session_file.h"
#include "suites.h"
#include "testcases.h"

#define GOLDEN_DIR BXKD_SOURCE_DIR "/tests/sessions/golden"
#define RECORD_GOLDEN BXKD_SOURCE_DIR "/tests/sessions/record-golden"
/* A session runs in about a second; Bochs' start-up on a loaded machine
 * is most of it. */
#define RUN_TIMEOUT_MS 120000

/* e2e-dll: the e2e script through the Windows KD DLL the kernel loads
 * (kd=dll); its image carries the DLL, so it replays without mingw-w64.
 * e2e-x64: the x86-64 kernel's version of the script, over the shared
 * page from long mode; e2e-dll-x64: the same through kdbxkd-x64.dll. */
static const char *const golden_names[] = { "e2e",	   "breakin", "reconnect",	"bulk",
					    "e2e-dll", "e2e-x64", "e2e-dll-x64" };
/* Those whose every crossing follows from the script alone (README). */
static const char *const deterministic_names[] = { "e2e", "breakin", "bulk", "e2e-dll",
						   "e2e-x64", "e2e-dll-x64" };
/* Those whose debugger reads the workload's data block, and the address
 * its first read asks for, as the divergence report must show it: whole,
 * the x86 kernel's sign-extended, the x86-64 kernels' in the higher half. */
static const struct data_block_reader {
	const char *name;
	const char *read_address;
} data_block_readers[] = {
	{ "e2e", "address=0xffffffff80114f40 count=56" },
	{ "e2e-x64", "address=0xfffff8000010d000 count=56" },
	{ "e2e-dll-x64", "address=0xfffff80000113320 count=56" },
};

static char *dir;

static void make_dir(void)
{
	dir = socket_dir();
	ck_assert_ptr_nonnull(dir);
}

static void remove_dir(void)
{
	char *argv[] = { "rm", "-rf", dir, NULL };
	char *out = NULL;

	if (!getenv("BXKD_KEEP_TEST_DIRS"))
		run_capture(argv, 10000, &out);
	free(out);
	free(dir);
}

static char *text_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *text_printf(const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&text, fmt, ap), 0);
	va_end(ap);
	return text;
}

/* The image a golden session was recorded on (its manifest names it). */
static char *golden_image(const char *session, const char *extension)
{
	struct session_file file;
	char error[600], sha[80];

	ck_assert_msg(session_file_read(session, &file, error, sizeof(error)), "%s", error);
	ck_assert(session_file_manifest(&file, "image_sha256", sha, sizeof(sha)));
	session_file_free(&file);
	return text_printf("%s/images/%s.%s", GOLDEN_DIR, sha, extension);
}

/* Runs a program; its standard output and error together, its status. */
static char *run(char *const argv[], int *status)
{
	char *out_path = text_printf("%s/out", dir);
	struct child c;

	ck_assert(child_start(&c, argv, out_path, out_path));
	*status = child_wait(&c, RUN_TIMEOUT_MS);
	char *out = read_text_file(out_path);
	ck_assert_ptr_nonnull(out);
	unlink(out_path);
	free(out_path);
	return out;
}

/* ---- every golden session replays ----------------------------------------------------- */

START_TEST(golden_session_replays_without_divergence)
{
	const char *name = golden_names[_i];
	char *session = text_printf("%s/%s.pcap", GOLDEN_DIR, name);
	char *report = text_printf("%s/report", dir);
	char *workdir = text_printf("%s/vm", dir);
	char *argv[] = { BXKD_REPLAY, "verify", session, "--report", report, "--workdir", workdir,
			 NULL };
	int status;

	char *out = run(argv, &status);
	ck_assert_msg(status == 0, "%s: bxkd-replay verify exited %d:\n%s", name, status, out);
	char *verdict = read_text_file(report);
	ck_assert_ptr_nonnull(verdict);
	ck_assert_msg(!strncmp(verdict, "replay matched: ", 16), "%s", verdict);
	ck_assert_msg(strstr(out, "replay matched: "), "%s", out);
	free(verdict);
	free(out);
	free(workdir);
	free(report);
	free(session);
}
END_TEST

/* ---- recording again gives the same file -------------------------------------------------- */

/* The manifest's recorded_utc, the one value that may differ, blanked,
 * and with it the manifest record's checksum: the manifest is the first
 * packet, after pcap's 24-byte file header and 16-byte packet header. */
static void blank_timestamp(char *bytes, size_t length)
{
	static const char key[] = "recorded_utc=";
	const size_t manifest_checksum = 24 + 16 + 24;
	char *at = memmem(bytes, length, key, sizeof(key) - 1);

	ck_assert_ptr_nonnull(at);
	for (at += sizeof(key) - 1; at < bytes + length && *at != '\n'; at++)
		*at = 'X';
	ck_assert_uint_gt(length, manifest_checksum + 4);
	memset(bytes + manifest_checksum, 'X', 4);
}

START_TEST(recording_again_gives_the_same_file)
{
	const char *name = deterministic_names[_i];
	char *golden = text_printf("%s/%s.pcap", GOLDEN_DIR, name);
	char *image = golden_image(golden, "img"), *symbols = golden_image(golden, "symbols");
	char *again = text_printf("%s/%s.pcap", dir, name);
	char *argv[] = { RECORD_GOLDEN, BXKD_BUILD_DIR, (char *)name, again, image, symbols, NULL };
	int status;

	char *out = run(argv, &status);
	ck_assert_msg(status == 0, "record-golden %s exited %d:\n%s", name, status, out);
	size_t golden_length, again_length;
	char *golden_bytes = bxvm_read_file(golden, &golden_length);
	char *again_bytes = bxvm_read_file(again, &again_length);
	ck_assert_ptr_nonnull(golden_bytes);
	ck_assert_ptr_nonnull(again_bytes);
	blank_timestamp(golden_bytes, golden_length);
	blank_timestamp(again_bytes, again_length);
	ck_assert_msg(golden_length == again_length, "%s: %zu bytes recorded now, %zu in the golden "
		      "file (bxkd-replay dump both to see where)", name, again_length, golden_length);
	size_t first = 0;
	while (first < golden_length && golden_bytes[first] == again_bytes[first])
		first++;
	ck_assert_msg(first == golden_length, "%s: the files differ from byte %zu on (kept in %s "
		      "with BXKD_KEEP_TEST_DIRS=1)", name, first, again);
	free(golden_bytes);
	free(again_bytes);
	free(out);
	free(again);
	free(symbols);
	free(image);
	free(golden);
}
END_TEST

/* ---- a changed guest diverges where the change shows ------------------------------------- */

/* The first record of the session whose bytes hold `needle`: the first
 * crossing a change to those bytes can show at. */
static uint32_t first_record_holding(const char *session, const void *needle, size_t length)
{
	struct session_file file;
	char error[600];

	ck_assert_msg(session_file_read(session, &file, error, sizeof(error)), "%s", error);
	for (size_t i = 0; i < file.count; i++) {
		const struct session_record *r = &file.records[i];
		if (memmem(r->payload, r->h.length, needle, length)) {
			uint32_t sequence = r->h.sequence;
			session_file_free(&file);
			return sequence;
		}
	}
	session_file_free(&file);
	ck_abort_msg("no record of %s holds the bytes", session);
	return 0;
}

START_TEST(a_changed_data_byte_diverges_where_it_is_read)
{
	/* The workload's data block, which the e2e sessions' debugger reads:
	 * one byte of it changed in a copy of the recorded image. */
	static const char block[] = "bxkd workload data block";
	const struct data_block_reader *reader = &data_block_readers[_i];
	char *session = text_printf("%s/%s.pcap", GOLDEN_DIR, reader->name);
	char *image = golden_image(session, "img");
	char *changed = text_printf("%s/changed.img", dir);
	size_t length;
	char *bytes = bxvm_read_file(image, &length);
	ck_assert_ptr_nonnull(bytes);
	char *at = memmem(bytes, length, block, sizeof(block) - 1);
	ck_assert_ptr_nonnull(at);
	at[5] = 'W'; /* "bxkd Workload ..." */
	ck_assert(bxvm_write_file(changed, bytes, length));
	uint32_t expected = first_record_holding(session, block, sizeof(block) - 1);

	char *report = text_printf("%s/report", dir);
	char *workdir = text_printf("%s/vm", dir);
	char *argv[] = { BXKD_REPLAY, "verify", session, "--image", changed, "--report", report,
			 "--workdir", workdir, NULL };
	int status;
	char *out = run(argv, &status);
	ck_assert_msg(status == 1, "bxkd-replay verify exited %d:\n%s", status, out);
	char *said = read_text_file(report);
	ck_assert_ptr_nonnull(said);

	/* Where, what, the bytes both ways, and the crossings before. */
	char *where = text_printf("replay diverged at record #%u, tick ", expected);
	ck_assert_msg(!strncmp(said, where, strlen(where)), "expected record %u:\n%s", expected,
		      said);
	ck_assert_msg(strstr(said, "(recorded at ") && strstr(said, ", +0)"), "%s", said);
	ck_assert_msg(strstr(said, "the bytes differ"), "%s", said);
	char *recorded = text_printf("recorded: ReadVirtualMemory reply status=0x00000000 success "
				     "%s actual=56", reader->read_address);
	char *now = text_printf("now:      ReadVirtualMemory reply status=0x00000000 success "
				"%s actual=56", reader->read_address);
	ck_assert_msg(strstr(said, recorded), "no \"%s\" in:\n%s", recorded, said);
	ck_assert_msg(strstr(said, now), "no \"%s\" in:\n%s", now, said);
	free(recorded);
	free(now);
	ck_assert_msg(strstr(said, "62 78 6b 64 20*77") && strstr(said, "62 78 6b 64 20*57"), "%s",
		      said);
	ck_assert_msg(strstr(said, "the crossings before it:"), "%s", said);
	/* The same report on the terminal. */
	ck_assert_msg(strstr(out, where) && strstr(out, "bxkd-replay: diverged"), "%s", out);
	/* Without --image, the changed image is not taken for the recorded one. */
	free(where);
	free(said);
	free(out);
	free(workdir);
	free(report);
	free(bytes);
	free(changed);
	free(image);
	free(session);
}
END_TEST

/* ---- older versions, cuts and interruptions ------------------------------------------------- */

#define V1_DIR BXKD_SOURCE_DIR "/tests/sessions/v1"

static void expect_same_file(const char *a, const char *b)
{
	size_t a_length, b_length;
	char *a_bytes = bxvm_read_file(a, &a_length), *b_bytes = bxvm_read_file(b, &b_length);

	ck_assert_ptr_nonnull(a_bytes);
	ck_assert_ptr_nonnull(b_bytes);
	ck_assert_msg(a_length == b_length && !memcmp(a_bytes, b_bytes, a_length),
		      "%s (%zu bytes) and %s (%zu bytes) differ", a, a_length, b, b_length);
	free(a_bytes);
	free(b_bytes);
}

/* The golden sessions were recorded in format version 1 (kept as they
 * were in sessions/v1/) and converted with bxkd-replay upgrade: converting
 * them again gives the golden files byte for byte, and converting a
 * current file changes nothing. */
START_TEST(upgrade_converts_version_1_sessions_to_the_golden_files)
{
	static const char *const converted[] = { "e2e", "breakin", "reconnect" };
	char *out = text_printf("%s/upgraded.pcap", dir);
	int status;

	for (size_t i = 0; i < sizeof(converted) / sizeof(*converted); i++) {
		char *old = text_printf("%s/%s.pcap", V1_DIR, converted[i]);
		char *golden = text_printf("%s/%s.pcap", GOLDEN_DIR, converted[i]);
		char *argv[] = { BXKD_REPLAY, "upgrade", old, out, NULL };
		char *said = run(argv, &status);
		ck_assert_msg(status == 0, "upgrade %s exited %d:\n%s", old, status, said);
		ck_assert_msg(strstr(said, "(format version 1, ") && strstr(said, "(version 2)"), "%s",
			      said);
		expect_same_file(out, golden);
		free(said);
		char *again_argv[] = { BXKD_REPLAY, "upgrade", golden, out, NULL };
		said = run(again_argv, &status);
		ck_assert_msg(status == 0, "%s", said);
		expect_same_file(out, golden);
		free(said);
		free(golden);
		free(old);
	}
	/* A file the reader refuses is not converted; usage errors. */
	char *bad = text_printf("%s/bad.pcap", dir);
	ck_assert(bxvm_write_file(bad, "not a session", 13));
	char *bad_argv[] = { BXKD_REPLAY, "upgrade", bad, out, NULL };
	char *said = run(bad_argv, &status);
	ck_assert_msg(status == 1 && strstr(said, "cannot read session file"), "%d: %s", status,
		      said);
	free(said);
	char *usage_argv[] = { BXKD_REPLAY, "upgrade", bad, NULL };
	said = run(usage_argv, &status);
	ck_assert_msg(status == 2 && strstr(said, "usage: bxkd-replay upgrade IN OUT"), "%d: %s",
		      status, said);
	free(said);
	free(bad);
	free(out);
}
END_TEST

/* Runs verify on `session` with the golden image; its status, its report. */
static int verify_with_golden_image(const char *session, char **report_text)
{
	char *golden = text_printf("%s/e2e.pcap", GOLDEN_DIR);
	char *image = golden_image(golden, "img");
	char *report = text_printf("%s/report", dir);
	char *workdir = text_printf("%s/vm", dir);
	char *argv[] = { BXKD_REPLAY, "verify", (char *)session, "--image", image, "--report",
			 report, "--workdir", workdir, NULL };
	int status;

	unlink(report);
	char *out = run(argv, &status);
	*report_text = read_text_file(report);
	ck_assert_msg(*report_text, "no report:\n%s", out);
	free(out);
	free(workdir);
	free(report);
	free(image);
	free(golden);
	return status;
}

START_TEST(a_version_1_session_still_verifies)
{
	char *session = text_printf("%s/breakin.pcap", V1_DIR), *report;

	ck_assert_msg(verify_with_golden_image(session, &report) == 0, "%s", report);
	ck_assert_msg(!strncmp(report, "replay matched: 461 records", 27), "%s", report);
	free(report);
	free(session);
}
END_TEST

/* A recording cut off anywhere is checked up to the cut, record for
 * record, and verify says so with its own exit status. */
START_TEST(a_cut_session_verifies_up_to_the_cut)
{
	char *golden = text_printf("%s/e2e.pcap", GOLDEN_DIR);
	char *cut = text_printf("%s/cut.pcap", dir), *report;
	struct session_file whole, part;
	char error[600];
	size_t length;
	char *bytes = bxvm_read_file(golden, &length);

	ck_assert_ptr_nonnull(bytes);
	ck_assert(bxvm_write_file(cut, bytes, length / 2)); /* inside some record */
	ck_assert_msg(session_file_read(golden, &whole, error, sizeof(error)), "%s", error);
	ck_assert_msg(session_file_read_cut(cut, &part, error, sizeof(error)), "%s", error);
	ck_assert(part.cut && part.count < whole.count);

	ck_assert_int_eq(verify_with_golden_image(cut, &report), 3);
	/* Every whole record but those of the call the cut went through. */
	unsigned matched = 0;
	ck_assert_msg(sscanf(report, "replay matched %u records up to the cut: the recording was "
				     "cut off after record #",
			     &matched) == 1,
		      "%s", report);
	ck_assert_msg(matched > part.count - 8 && matched <= part.count, "%u of %zu: %s", matched,
		      part.count, report);
	free(report);

	/* A damaged record before the cut is a damaged file, not a cut one. */
	bytes[length / 4] ^= 0x01;
	ck_assert(bxvm_write_file(cut, bytes, length / 2));
	char *image = golden_image(golden, "img");
	char *argv[] = { BXKD_REPLAY, "verify", cut, "--image", image, NULL };
	int status;
	char *out = run(argv, &status);
	ck_assert_msg(status == 1 && strstr(out, "is damaged"), "%d: %s", status, out);
	free(out);
	free(image);
	session_file_free(&part);
	session_file_free(&whole);
	free(bytes);
	free(cut);
	free(golden);
}
END_TEST

/* Records the test kernel with `bxkd run --record`, stops bxkd with
 * `signal` once the recording holds `records` records (with --break, and
 * then time for the guest to get into its wait for the debugger), and
 * checks that it ended as an interrupted recording must: Bochs stopped,
 * not killed; the END says interrupted=SIGTERM, with the call the guest
 * was in when `in_call`; verify matches it up to the cut. */
static void interrupt_a_recording(int signal, size_t records, bool in_call)
{
	char *session = text_printf("%s/interrupted.pcap", dir);
	char *workdir = text_printf("%s/run", dir);
	char *out_path = text_printf("%s/run.out", dir);
	/* Running: the kernel's work for longer than the test waits. */
	char *breaking[] = { BXKD_LAUNCHER, "run", "--break", "--workdir", workdir, "--record",
			     session, NULL };
	char *running[] = { BXKD_LAUNCHER, "run", "--rounds", "100000", "--workdir", workdir,
			    "--record", session, NULL };
	struct session_file file = { 0 };
	char error[600], value[64];
	struct child c;

	ck_assert(child_start(&c, in_call ? breaking : running, out_path, out_path));
	for (int waited = 0; file.count < records; waited += 50) {
		ck_assert_msg(waited < RUN_TIMEOUT_MS, "the recording never got %zu records", records);
		usleep(50000);
		session_file_free(&file);
		if (!session_file_read_cut(session, &file, error, sizeof(error)))
			file.count = 0;
	}
	session_file_free(&file);
	if (in_call)
		usleep(500000); /* the guest's state change now waits for a debugger */
	ck_assert_int_eq(kill(c.pid, signal), 0);
	int status = child_wait(&c, RUN_TIMEOUT_MS);
	char *out = read_text_file(out_path);
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(status == 1 && strstr(out, "bxkd: FAILED: interrupted"), "%d: %s", status, out);
	ck_assert_msg(strstr(out, ", ended early: interrupted by SIGTERM") &&
			      !strstr(out, "Bochs exit status 137"),
		      "%s", out);

	ck_assert_msg(session_file_read(session, &file, error, sizeof(error)), "%s", error);
	ck_assert(session_file_interrupted(&file, value, sizeof(value)));
	ck_assert_str_eq(value, "SIGTERM");
	const struct session_record *end = &file.records[file.count - 1];
	ck_assert_int_eq(session_text_value(end, "interrupted_call_tick", value, sizeof(value)),
			 in_call);
	session_file_free(&file);

	char *report = text_printf("%s/report", dir);
	char *verify_argv[] = { BXKD_REPLAY, "verify", session, "--report", report, NULL };
	char *said = run(verify_argv, &status);
	ck_assert_msg(status == 3 && strstr(said, " records up to the cut: the recording was "
						   "interrupted (SIGTERM) at tick "),
		      "%d: %s", status, said);
	free(said);
	free(report);
	free(out);
	free(out_path);
	free(workdir);
	free(session);
}

START_TEST(a_recording_stopped_at_a_breakpoint_ends_interrupted)
{
	/* The kernel's initial breakpoint: its state change waits, inside a
	 * backdoor call, for a debugger that never comes. */
	interrupt_a_recording(SIGINT, 4, true);
}
END_TEST

START_TEST(a_recording_of_a_running_guest_ends_interrupted)
{
	interrupt_a_recording(SIGTERM, 200, false);
}
END_TEST

/* ---- deep directories ---------------------------------------------------------------------- */

/* A directory under the test's own whose path is over 200 characters. */
static char *deep_directory(void)
{
	char *deep = text_printf("%s", dir);

	while (strlen(deep) <= 200) {
		char *deeper = text_printf("%s/a-directory-deep-down", deep);
		free(deep);
		deep = deeper;
	}
	ck_assert(bxvm_make_directories(deep));
	return deep;
}

/* Bochs reads its bochsrc in lines of at most 512 bytes: however deep the
 * session, the image and the work directory lie, verify, a recording and
 * the demo work, and no bochsrc line names a long path. */
START_TEST(verify_record_and_demo_work_in_a_deep_directory)
{
	char *deep = deep_directory();
	char *golden = text_printf("%s/e2e.pcap", GOLDEN_DIR);
	char *image = golden_image(golden, "img");
	char *session = text_printf("%s/e2e.pcap", deep);
	char *kept = text_printf("%s/images/%s", deep, strrchr(image, '/') + 1);
	char *report = text_printf("%s/report", deep), *work = text_printf("%s/work", deep);
	size_t length;
	int status;

	char *bytes = bxvm_read_file(golden, &length);
	ck_assert(bytes && bxvm_write_file(session, bytes, length));
	free(bytes);
	bytes = bxvm_read_file(image, &length);
	ck_assert_ptr_nonnull(bytes);
	*strrchr(kept, '/') = '\0';
	ck_assert(bxvm_make_directories(kept));
	kept[strlen(kept)] = '/';
	ck_assert(bxvm_write_file(kept, bytes, length));
	free(bytes);

	char *verify_argv[] = { BXKD_REPLAY, "verify", session, "--report", report, "--workdir",
				work, NULL };
	char *out = run(verify_argv, &status);
	ck_assert_msg(status == 0 && strstr(out, "replay matched: 612 records"), "%d: %s", status,
		      out);
	free(out);
	char *bochsrc_path = text_printf("%s/bochsrc", work);
	char *bochsrc = read_text_file(bochsrc_path);
	ck_assert_ptr_nonnull(bochsrc);
	for (char *line = strtok(bochsrc, "\n"); line; line = strtok(NULL, "\n"))
		ck_assert_msg(strlen(line) < 300, "a long bochsrc line: %s", line);
	free(bochsrc);
	free(bochsrc_path);

	char *recorded = text_printf("%s/recorded.pcap", deep), *run_dir = text_printf("%s/run", deep);
	char *record_argv[] = { BXKD_LAUNCHER, "run", "--rounds", "5", "--workdir", run_dir,
				"--record", recorded, NULL };
	out = run(record_argv, &status);
	ck_assert_msg(status == 0 && strstr(out, "bxkd: session recorded: "), "%d: %s", status, out);
	free(out);
	char *again_argv[] = { BXKD_REPLAY, "verify", recorded, NULL };
	out = run(again_argv, &status);
	ck_assert_msg(status == 0, "%d: %s", status, out);
	free(out);

	char *demo_dir = text_printf("%s/demo", deep);
	char *demo_argv[] = { BXKD_LAUNCHER, "demo", "--workdir", demo_dir, NULL };
	out = run(demo_argv, &status);
	ck_assert_msg(status == 0 && strstr(out, "bxkd demo: passed"), "%d: %s", status, out);
	free(out);
	free(demo_dir);
	free(run_dir);
	free(recorded);
	free(work);
	free(report);
	free(kept);
	free(session);
	free(image);
	free(golden);
	free(deep);
}
END_TEST

/* ---- tshark reads what Bochs recorded ------------------------------------------------------ */

START_TEST(tshark_decodes_a_recorded_session)
{
	char *session = text_printf("%s/e2e.pcap", GOLDEN_DIR);
	char *argv[] = { BXKD_TSHARK, "-n", "-X", "lua_script:" BXKD_DISSECTOR, "-r", session,
			 "-Y", "bxkd.kdcom.type == 2 && bxkd.endpoint.event == 1", "-T", "fields",
			 "-e", "bxkd.sequence", "-e", "bxkd.kdcom.id", "-e",
			 "bxkd.kdcom.checksum_ok", "-e", "bxkd.kdcom.trailer_ok", NULL };
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	int status;

	/* Away from the user's own Wireshark settings and plugins. */
	setenv("HOME", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	char *out = run(argv, &status);
	if (home)
		setenv("HOME", home, 1);
	free(home);
	unsetenv("XDG_CONFIG_HOME");
	ck_assert_msg(status == 0, "tshark exited %d:\n%s", status, out);
	ck_assert_msg(!strstr(out, "Lua") && !strstr(out, "rror"), "%s", out);
	/* Each line: sequence, id, checksum right, trailer right. */

	/* Every state manipulate packet the target sent, as recorded: each
	 * with a right checksum and trailer; bxkd-replay dump agrees. */
	unsigned frames = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strncmp(line, "Running as user", 15))
			continue;
		ck_assert_msg(strstr(line, "\t0x8080000") && strstr(line, "\t1\t1"), "%s",
			      line);
		frames++;
	}
	char *dump_argv[] = { BXKD_REPLAY, "dump", session, NULL };
	char *dump = run(dump_argv, &status);
	ck_assert_int_eq(status, 0);
	unsigned dumped = 0;
	for (const char *at = dump; (at = strstr(at, "t2d STATE_MANIPULATE id=")); at++)
		dumped++;
	ck_assert_msg(frames > 10 && frames == dumped, "tshark: %u frames, dump: %u", frames,
		      dumped);
	free(dump);
	free(out);
	free(session);
}
END_TEST

BXKD_SUITE(golden,
	TCase *t = testcases_add_with(s, "golden", 300, make_dir, remove_dir,
				      (const TTest *const[]){ NULL });

	tcase_add_loop_test(t, golden_session_replays_without_divergence, 0,
			    (int)(sizeof(golden_names) / sizeof(*golden_names)));
	tcase_add_loop_test(t, recording_again_gives_the_same_file, 0,
			    (int)(sizeof(deterministic_names) / sizeof(*deterministic_names)));
	tcase_add_loop_test(t, a_changed_data_byte_diverges_where_it_is_read, 0,
			    (int)(sizeof(data_block_readers) / sizeof(*data_block_readers)));
	tcase_add_test(t, upgrade_converts_version_1_sessions_to_the_golden_files);
	tcase_add_test(t, a_version_1_session_still_verifies);
	tcase_add_test(t, a_cut_session_verifies_up_to_the_cut);
	tcase_add_test(t, a_recording_stopped_at_a_breakpoint_ends_interrupted);
	tcase_add_test(t, a_recording_of_a_running_guest_ends_interrupted);
	tcase_add_test(t, verify_record_and_demo_work_in_a_deep_directory);
	tcase_add_test_needing_tshark(t, tshark_decodes_a_recorded_session);
)
