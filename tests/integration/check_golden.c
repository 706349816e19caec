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
 * (kd=dll); its image carries the DLL, so it replays without mingw-w64. */
static const char *const golden_names[] = { "e2e", "breakin", "reconnect", "bulk", "e2e-dll" };
/* Those whose every crossing follows from the script alone (README). */
static const char *const deterministic_names[] = { "e2e", "breakin", "bulk", "e2e-dll" };

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

/* The manifest's recorded_utc, the one value that may differ, blanked. */
static void blank_timestamp(char *bytes, size_t length)
{
	static const char key[] = "recorded_utc=";
	char *at = memmem(bytes, length, key, sizeof(key) - 1);

	ck_assert_ptr_nonnull(at);
	for (at += sizeof(key) - 1; at < bytes + length && *at != '\n'; at++)
		*at = 'X';
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
	/* The workload's data block, which the e2e session's debugger reads:
	 * one byte of it changed in a copy of the recorded image. */
	static const char block[] = "bxkd workload data block";
	char *session = text_printf("%s/e2e.pcap", GOLDEN_DIR);
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
	ck_assert_msg(strstr(said, "recorded: ReadVirtualMemory reply status=0x00000000 success"),
		      "%s", said);
	ck_assert_msg(strstr(said, "now:      ReadVirtualMemory reply"), "%s", said);
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
	tcase_add_test(t, a_changed_data_byte_diverges_where_it_is_read);
	tcase_add_test_needing_tshark(t, tshark_decodes_a_recorded_session);
)
