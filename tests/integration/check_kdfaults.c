/*
 * check_kdfaults.c -- the fault matrix: bxkd-dbg against kd-win-target (a
 * target that behaves like Windows' kdcom/kd64) with seeded faults on the
 * line. 8 fault mixes x 2 rates x 10 seeds = 160 whole sessions, x86 and
 * x64 identities alternating by seed; every session must complete with
 * every byte right and no operation slower than the client's recovery
 * bound. Each mix's rows go to tests/work/kdfaults/matrix.md.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "kdwin_faults.h"
#include "proc.h"
#include "suites.h"
#include "testcases.h"

#define SEEDS 10
#define RESEND_MS "20"	   /* both ends' resend time-out */
#define SESSION_MS 120000u /* a hung session fails long before Check's timeout */
#define MEMORY_SIZE (1u << 20)
#define WRITE_OFFSET 0x10000u
#define WRITE_LENGTH 1000u
#define READ_OFFSET 0x2000u
#define READ_LENGTH 64u
#define MAX_SAMPLES 4096

struct session {
	const char *mix;
	const char *rate;
	unsigned seed;
	bool x64;
	char *dir;
	struct child target, dbg;
	/* results */
	bool passed;
	size_t wrong_bytes;
	uint32_t max_ms, bound_ms;
	uint64_t watchdog_resets; /* bxkd-dbg's engine's, from `link` */
	char why[600];
};

static uint8_t written_byte(uint32_t i)
{
	return (uint8_t)(i * 31u + 7u);
}

/* What the target's memory holds after the session's write. */
static uint8_t expected_byte(uint32_t offset)
{
	if (offset >= WRITE_OFFSET && offset < WRITE_OFFSET + WRITE_LENGTH)
		return written_byte(offset - WRITE_OFFSET);
	return kdwin_pattern(offset);
}

static void path_in(const struct session *s, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", s->dir, name);
}

static void write_script(const struct session *s)
{
	const char *base = s->x64 ? "0xffffffff801" : "0x801";
	char path[300], dump[300];

	path_in(s, "session.txt", path, sizeof(path));
	path_in(s, "memory.bin", dump, sizeof(dump));
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "connect\nread %s02000 %u\nwrite %s10000 ", base, READ_LENGTH, base);
	for (uint32_t i = 0; i < WRITE_LENGTH; i++)
		fprintf(f, "%02x", written_byte(i));
	fprintf(f, "\n! read %sffff0 32\nregs\nsetreg %s 0x1234\nbp %s01040\ngo\nwait\nstep\n"
		   "dump %s %s00000 0x100000\ngo\nlink\ndetach\n",
		base, s->x64 ? "rbx" : "ebx", base, dump, base);
	ck_assert_int_eq(fclose(f), 0);
}

static void start_session(struct session *s)
{
	char endpoint[300], ready[300], report[300], log[300], script[300], out[300], err[300];
	char trace[300];
	char seed[16];

	s->dir = socket_dir();
	ck_assert_ptr_nonnull(s->dir);
	write_script(s);
	snprintf(endpoint, sizeof(endpoint), "unix:%s/kd.sock", s->dir);
	path_in(s, "ready", ready, sizeof(ready));
	path_in(s, "report.json", report, sizeof(report));
	path_in(s, "target.log", log, sizeof(log));
	path_in(s, "trace.txt", trace, sizeof(trace));
	snprintf(seed, sizeof(seed), "%u", s->seed);
	char *const target[] = { BXKD_WIN_TARGET, "--endpoint", endpoint, "--machine",
				 s->x64 ? "x64" : "x86", "--initial-break", "--faults",
				 (char *)s->mix, "--rate", (char *)s->rate, "--seed", seed,
				 "--resend-timeout", RESEND_MS, "--exit-when-detached",
				 "--ready-file", ready, "--report", report, "--trace", trace,
				 NULL };
	ck_assert(child_start(&s->target, target, NULL, log));
	ck_assert_msg(wait_for_file(ready, 5000), "kd-win-target did not start");

	char connect[320];
	snprintf(connect, sizeof(connect), "connect:%s/kd.sock", s->dir);
	path_in(s, "session.txt", script, sizeof(script));
	path_in(s, "out.json", out, sizeof(out));
	path_in(s, "err.txt", err, sizeof(err));
	char *const dbg[] = { BXKD_DBG, "--json", "--quiet", "--resend-timeout", RESEND_MS,
			      "--timeout", "30", "--target", connect, "--script", script, NULL };
	ck_assert(child_start(&s->dbg, dbg, out, err));
}

/* Keeps the first reason a session failed; returns false. */
static bool session_failed(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool session_failed(struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->why[0]) {
		va_start(ap, fmt);
		vsnprintf(s->why, sizeof(s->why), fmt, ap);
		va_end(ap);
	}
	return false;
}

static size_t compare_hex(const char *hex, uint32_t offset, uint32_t length)
{
	size_t wrong = strlen(hex) == 2 * length ? 0 : length;

	for (uint32_t i = 0; !wrong && i < length; i++) {
		unsigned byte;
		sscanf(hex + 2 * i, "%2x", &byte);
		wrong += byte != expected_byte(offset + i);
	}
	return wrong;
}

static const char *member_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static uint64_t member_number(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? (uint64_t)json_object_get_int64(v) : 0;
}

/* One answer line of bxkd-dbg; the recovery times go to samples. */
static bool check_answer(struct session *s, struct json_object *o, int *reads, uint32_t *samples,
			 size_t *sample_count)
{
	const char *command = member_string(o, "command");

	if (!strcmp(command, "read") && (*reads)++ == 0) {
		size_t wrong = compare_hex(member_string(o, "data"), READ_OFFSET, READ_LENGTH);
		s->wrong_bytes += wrong;
		return wrong == 0 || session_failed(s, "read: wrong bytes: %s", member_string(o, "data"));
	}
	if (!strcmp(command, "read"))
		return strstr(member_string(o, "error"), "after 16 of 32 bytes") ||
		       session_failed(s, "the hole's read: %s", member_string(o, "error"));
	if (!strcmp(command, "link")) {
		struct json_object *times;
		s->max_ms = (uint32_t)member_number(o, "max_recovery_ms");
		s->bound_ms = (uint32_t)member_number(o, "recovery_bound_ms");
		s->watchdog_resets = member_number(o, "watchdog_resets");
		if (json_object_object_get_ex(o, "recovery_ms", &times)) {
			for (size_t i = 0; i < json_object_array_length(times) &&
					   *sample_count < MAX_SAMPLES; i++)
				samples[(*sample_count)++] = (uint32_t)json_object_get_int64(
					json_object_array_get_idx(times, i));
		}
		return s->max_ms <= s->bound_ms || session_failed(s, "a recovery took longer than %s",
							 "the bound");
	}
	struct json_object *ok;
	if (json_object_object_get_ex(o, "ok", &ok) && !json_object_get_boolean(ok))
		return session_failed(s, "%s failed", json_object_to_json_string(o));
	return true;
}

static bool check_output(struct session *s, uint32_t *samples, size_t *sample_count)
{
	char path[300];
	int reads = 0;
	bool ok = true;

	path_in(s, "out.json", path, sizeof(path));
	char *out = read_text_file(path);
	if (!out)
		return session_failed(s, "no output in %s", path);
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		struct json_object *o = json_tokener_parse(line);
		if (!o) {
			ok = session_failed(s, "not JSON: %s", line);
			continue;
		}
		ok = check_answer(s, o, &reads, samples, sample_count) && ok;
		json_object_put(o);
	}
	free(out);
	return ok && (reads == 2 || session_failed(s, "not both reads answered"));
}

static bool check_dump(struct session *s)
{
	char path[300];
	uint8_t *memory = malloc(MEMORY_SIZE);
	size_t got = 0;

	path_in(s, "memory.bin", path, sizeof(path));
	FILE *f = fopen(path, "rb");
	if (f) {
		got = fread(memory, 1, MEMORY_SIZE, f);
		fclose(f);
	}
	size_t wrong = MEMORY_SIZE - got;
	for (uint32_t i = 0; i < got; i++)
		wrong += memory[i] != expected_byte(i);
	free(memory);
	s->wrong_bytes += wrong;
	return wrong == 0 || session_failed(s, "the dump %s has wrong bytes", path);
}

static bool check_report(struct session *s)
{
	char path[300];

	path_in(s, "report.json", path, sizeof(path));
	struct json_object *r = json_object_from_file(path);
	if (!r)
		return session_failed(s, "kd-win-target wrote no report %s", path);
	bool ok = member_number(r, "bx") == 0x1234 && member_number(r, "breakpoints") == 0;
	struct json_object *running;
	ok = ok && json_object_object_get_ex(r, "running", &running) &&
	     json_object_get_boolean(running);
	if (!ok)
		session_failed(s, "the target after detach: %s", json_object_to_json_string(r));
	json_object_put(r);
	return ok;
}

static void finish_session(struct session *s, uint32_t *samples, size_t *sample_count)
{
	char path[300];
	int status = child_wait(&s->dbg, SESSION_MS);
	int target_status = child_wait(&s->target, 5000);

	if (status != 0) {
		path_in(s, "err.txt", path, sizeof(path));
		char *err = read_text_file(path);
		session_failed(s, "bxkd-dbg (seed %u, in %s) ended with %d, kd-win-target with %d: %s",
			       s->seed, s->dir, status, target_status, err ? err : "");
		free(err);
	}
	if (target_status != 0)
		session_failed(s, "kd-win-target (seed %u, in %s) ended with %d after the detach",
			       s->seed, s->dir, target_status);
	child_stop(&s->target);
	bool ok = status == 0 && !s->why[0];
	ok = check_output(s, samples, sample_count) && ok;
	ok = check_dump(s) && ok;
	ok = check_report(s) && ok;
	s->passed = ok;
	if (ok || !getenv("BXKD_KEEP_TEST_DIRS"))
		remove_socket_dir(s->dir);
}

static int by_value(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* One row of the matrix: SEEDS sessions of `mix` at `rate` percent,
 * already started; x86 and x64 alternate. */
static void finish_row(struct session *sessions, FILE *table)
{
	static uint32_t samples[MAX_SAMPLES];
	size_t sample_count = 0, passed = 0, wrong = 0;
	uint64_t watchdog_resets = 0;
	uint32_t max_ms = 0, bound_ms = 0;
	const char *first_failure = NULL;

	for (unsigned i = 0; i < SEEDS; i++)
		finish_session(&sessions[i], samples, &sample_count);
	for (unsigned i = 0; i < SEEDS; i++) {
		passed += sessions[i].passed;
		wrong += sessions[i].wrong_bytes;
		watchdog_resets += sessions[i].watchdog_resets;
		max_ms = sessions[i].max_ms > max_ms ? sessions[i].max_ms : max_ms;
		bound_ms = sessions[i].bound_ms;
		if (!sessions[i].passed && !first_failure)
			first_failure = sessions[i].why;
	}
	qsort(samples, sample_count, sizeof(*samples), by_value);
	fprintf(table, "| %s | %s %% | %zu/%d | %zu | %u | %u | %u | %zu | %u | %" PRIu64 " |\n",
		sessions[0].mix, sessions[0].rate, passed, SEEDS, wrong, max_ms,
		sample_count ? samples[sample_count / 2] : 0,
		sample_count ? samples[sample_count * 9 / 10] : 0, sample_count, bound_ms,
		watchdog_resets);
	fflush(table);
	ck_assert_msg(passed == SEEDS, "%s at %s %%: %zu of %d sessions passed; first failure: %s",
		      sessions[0].mix, sessions[0].rate, passed, SEEDS, first_failure);
}

/* The first seed of each row: 1, or BXKD_KDFAULTS_FIRST_SEED to run the
 * matrix over other seeds (a soak of the suite, tests/README.md). */
static unsigned first_seed(void)
{
	const char *text = getenv("BXKD_KDFAULTS_FIRST_SEED");
	char *end;

	if (!text)
		return 1;
	unsigned long seed = strtoul(text, &end, 10);
	ck_assert_msg(*text && !*end && seed > 0 && seed <= 1000000000ul,
		      "BXKD_KDFAULTS_FIRST_SEED wants a seed from 1 to 1000000000, not '%s'", text);
	return (unsigned)seed;
}

/* Both rates' sessions run at once: they mostly wait on timers. */
static void run_mix(const char *mix)
{
	static struct session sessions[2][SEEDS];
	static const char *const rates[2] = { "1", "5" };
	char dir[400], path[450];

	snprintf(dir, sizeof(dir), "%s/kdfaults", BXKD_TEST_WORK_DIR);
	mkdir(BXKD_TEST_WORK_DIR, 0755);
	ck_assert(mkdir(dir, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/%s.md", dir, mix);
	FILE *table = fopen(path, "w");
	ck_assert_ptr_nonnull(table);
	unsigned seed = first_seed();

	for (unsigned r = 0; r < 2; r++) {
		for (unsigned i = 0; i < SEEDS; i++) {
			sessions[r][i] = (struct session){ .mix = mix, .rate = rates[r],
							   .seed = seed + i, .x64 = i % 2 == 1 };
			start_session(&sessions[r][i]);
		}
	}
	finish_row(sessions[0], table);
	finish_row(sessions[1], table);
	fclose(table);
}

/* Lost ACKs from the target; from the debugger (the target's implicit ACK
 * by a resend); lost data frames; duplicates; garbage between frames;
 * checksum errors; RESETs the target starts; everything at once. */
static const char *const mixes[] = { "ack-out", "ack-in", "lose",  "duplicate",
				     "garbage", "corrupt", "reset", "all" };

START_TEST(every_session_of_a_fault_mix_completes_with_every_byte_right)
{
	run_mix(mixes[_i]);
}
END_TEST

BXKD_SUITE(kdfaults,
	TCase *tc = tcase_create("matrix");
	tcase_set_timeout(tc, 240);
	tcase_add_loop_test(tc, every_session_of_a_fault_mix_completes_with_every_byte_right, 0,
			    (int)(sizeof(mixes) / sizeof(*mixes)));
	suite_add_tcase(s, tc);
)
