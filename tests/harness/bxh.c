/*
 * bxh.c -- the Bochs test harness.
 */
#include "config.h"

#include "bxh.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bxkd/bootopt.h"

extern char **environ;

/* Bochs is killed if a guest prints more than this; a runaway loop. */
#define STDOUT_LIMIT (16u << 20)
#define SHUTDOWN_MESSAGE "Shutdown port: shutdown requested"

void bxh_options_init(struct bxh_options *options)
{
	memset(options, 0, sizeof(*options));
	options->timeout_seconds = BXH_DEFAULT_TIMEOUT_SECONDS;
	options->megs = BXH_DEFAULT_MEGS;
	options->time0 = BXH_DEFAULT_TIME0;
	options->load_plugin = true;
}

const char *bxh_outcome_name(enum bxh_outcome outcome)
{
	switch (outcome) {
	case BXH_PASSED:
		return "passed";
	case BXH_TESTS_FAILED:
		return "guest tests failed";
	case BXH_GUEST_FATAL:
		return "guest stopped on a fatal error";
	case BXH_NO_SUMMARY:
		return "Bochs ended without the guest's summary and shutdown";
	case BXH_BOCHS_PANIC:
		return "Bochs panicked";
	case BXH_TIMEOUT:
		return "timed out";
	case BXH_LAUNCH_FAILED:
		return "could not launch Bochs";
	}
	return "unknown outcome";
}

/* ---- small string helpers --------------------------------------------- */

static char *xstrndup(const char *s, size_t n)
{
	char *copy = malloc(n + 1);

	if (!copy) {
		fputs("bxh: out of memory\n", stderr);
		abort();
	}
	memcpy(copy, s, n);
	copy[n] = '\0';
	return copy;
}

static char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *out;

	va_start(ap, fmt);
	if (vasprintf(&out, fmt, ap) < 0) {
		fputs("bxh: out of memory\n", stderr);
		abort();
	}
	va_end(ap);
	return out;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Calls `each` for every line of `text` (without its newline). */
static void for_each_line(const char *text, void (*each)(void *ctx, const char *line, size_t len),
			  void *ctx)
{
	while (text && *text) {
		const char *end = strchr(text, '\n');
		size_t len = end ? (size_t)(end - text) : strlen(text);

		each(ctx, text, len);
		text += len + (end ? 1 : 0);
	}
}

static char *read_whole_file(const char *path, size_t *size_out)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t size = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - size < 65536) {
			cap = cap ? cap * 2 : 131072;
			char *bigger = realloc(data, cap + 1);
			if (!bigger) {
				free(data);
				fclose(f);
				return NULL;
			}
			data = bigger;
		}
		size_t n = fread(data + size, 1, cap - size, f);
		size += n;
		if (n == 0)
			break;
	}
	bool failed = ferror(f);
	fclose(f);
	if (failed) {
		free(data);
		return NULL;
	}
	data[size] = '\0';
	if (size_out)
		*size_out = size;
	return data;
}

static bool write_whole_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return false;
	bool ok = fwrite(data, 1, size, f) == size;
	return fclose(f) == 0 && ok;
}

static bool make_directories(const char *path)
{
	char *copy = xstrdup(path);
	bool ok = true;

	for (char *p = copy + 1; ok; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;
			*p = '\0';
			if (mkdir(copy, 0777) != 0 && errno != EEXIST)
				ok = false;
			*p = saved;
			if (!saved)
				break;
		}
	}
	free(copy);
	return ok;
}

/* ---- console ----------------------------------------------------------- */

struct console_filter {
	char *out;
	size_t len;
	int banner_rules_left; /* '=' lines still to pass before the banner ends */
};

/* A debugger line such as "(0) [0x...] f000:fff0 ..." or "(0).[123] ...". */
static bool is_debugger_line(const char *line, size_t len)
{
	size_t i = 0;

	if (len < 4 || line[i++] != '(')
		return false;
	while (i < len && line[i] >= '0' && line[i] <= '9')
		i++;
	if (i == 1 || i + 2 > len || line[i] != ')')
		return false;
	i++;
	return (line[i] == ' ' || line[i] == '.') && line[i + 1] == '[';
}

static void filter_line(void *ctx, const char *line, size_t len)
{
	struct console_filter *f = ctx;

	if (f->banner_rules_left > 0) {
		if (len >= 8 && starts_with(line, "========"))
			f->banner_rules_left--;
		return;
	}
	if ((len >= 10 && starts_with(line, "Next at t=")) ||
	    (len >= 7 && starts_with(line, "<bochs:")) || is_debugger_line(line, len))
		return;
	memcpy(f->out + f->len, line, len);
	f->len += len;
	f->out[f->len++] = '\n';
}

char *bxh_console_from_stdout(const char *stdout_text)
{
	struct console_filter f = { malloc(strlen(stdout_text) + 2), 0, 0 };

	if (!f.out)
		abort();
	/* Bochs prints its banner between two rules of '=' before anything else. */
	if (starts_with(stdout_text, "========"))
		f.banner_rules_left = 2;
	for_each_line(stdout_text, filter_line, &f);
	f.out[f.len] = '\0';
	return f.out;
}

static void add_test_line(struct bxh_run *run, const char *name, size_t name_len, bool passed,
			  const char *detail, size_t detail_len)
{
	struct bxh_test_line *tests =
		realloc(run->tests, (run->test_count + 1) * sizeof(*run->tests));

	if (!tests)
		abort();
	run->tests = tests;
	tests[run->test_count].name = xstrndup(name, name_len);
	tests[run->test_count].passed = passed;
	tests[run->test_count].detail = xstrndup(detail, detail_len);
	run->test_count++;
}

/* "BXKD RESULT <name> <pass|fail> <detail>"; anything else after
 * "BXKD RESULT" is recorded as a failed test so it cannot go unnoticed. */
static void parse_result(struct bxh_run *run, const char *line, size_t len)
{
	const char *end = line + len;
	const char *name = line, *name_end, *status, *status_end, *detail;

	name_end = memchr(name, ' ', len);
	if (!name_end || name_end == name)
		goto malformed;
	status = name_end + 1;
	status_end = memchr(status, ' ', (size_t)(end - status));
	if (!status_end)
		status_end = end;
	detail = status_end < end ? status_end + 1 : end;
	size_t status_len = (size_t)(status_end - status);
	if (status_len == 4 && !strncmp(status, "pass", 4)) {
		add_test_line(run, name, (size_t)(name_end - name), true, detail,
			      (size_t)(end - detail));
		return;
	}
	if (status_len == 4 && !strncmp(status, "fail", 4)) {
		add_test_line(run, name, (size_t)(name_end - name), false, detail,
			      (size_t)(end - detail));
		return;
	}
malformed:
	add_test_line(run, "(malformed result line)", 23, false, line, len);
}

static void console_line(void *ctx, const char *line, size_t len)
{
	struct bxh_run *run = ctx;
	static const char result[] = "BXKD RESULT ", summary[] = "BXKD SUMMARY ",
			  fatal[] = "BXKD FATAL ";

	if (len >= sizeof(result) - 1 && starts_with(line, result)) {
		parse_result(run, line + sizeof(result) - 1, len - (sizeof(result) - 1));
	} else if (len >= sizeof(summary) - 1 && starts_with(line, summary)) {
		char *copy = xstrndup(line, len);
		unsigned passed, failed;
		int consumed = 0;
		if (sscanf(copy + sizeof(summary) - 1, "passed=%u failed=%u%n", &passed, &failed,
			   &consumed) == 2 &&
		    copy[sizeof(summary) - 1 + (size_t)consumed] == '\0') {
			run->have_summary = true;
			run->summary_passed = passed;
			run->summary_failed = failed;
		}
		free(copy);
	} else if (len >= sizeof(fatal) - 1 && starts_with(line, fatal) && !run->fatal) {
		run->fatal = xstrndup(line + sizeof(fatal) - 1, len - (sizeof(fatal) - 1));
	}
}

void bxh_parse_console(struct bxh_run *run, const char *console)
{
	for_each_line(console, console_line, run);
}

/* ---- Bochs log ------------------------------------------------------------- */

/* Log lines start with the tick (logprefix %t): "00014184025p[UNMAP ] ...". */
static bool line_tick(const char *line, size_t len, uint64_t *tick)
{
	uint64_t value = 0;
	size_t i = 0;

	while (i < len && line[i] >= '0' && line[i] <= '9' && i < 20)
		value = value * 10 + (uint64_t)(line[i++] - '0');
	if (i == 0)
		return false;
	*tick = value;
	return true;
}

static void log_line(void *ctx, const char *line, size_t len)
{
	struct bxh_run *run = ctx;
	char *copy = xstrndup(line, len);
	uint64_t tick;

	if (line_tick(line, len, &tick) && !run->shutdown_requested) {
		run->final_tick = tick;
		run->have_final_tick = true;
	}
	if (strstr(copy, ">>PANIC<<")) {
		if (strstr(copy, SHUTDOWN_MESSAGE))
			run->shutdown_requested = true;
		else if (!run->panic)
			run->panic = xstrdup(copy);
	}
	free(copy);
}

void bxh_parse_log(struct bxh_run *run, const char *log)
{
	for_each_line(log, log_line, run);
}

void bxh_parse_stderr(struct bxh_run *run, const char *stderr_text)
{
	static const char exiting[] = "Bochs is exiting with the following message:\n";
	const char *message = strstr(stderr_text, exiting);

	if (!message)
		return;
	message += sizeof(exiting) - 1;
	size_t len = strcspn(message, "\n");
	char *text = xstrndup(message, len);
	if (strstr(text, SHUTDOWN_MESSAGE))
		run->shutdown_requested = true;
	else if (!run->panic)
		run->panic = xasprintf("Bochs exited: %s", text);
	free(text);
}

void bxh_classify(struct bxh_run *run)
{
	size_t failed_lines = 0;

	for (size_t i = 0; i < run->test_count; i++)
		failed_lines += !run->tests[i].passed;

	if (run->fatal)
		run->outcome = BXH_GUEST_FATAL;
	else if (run->panic)
		run->outcome = BXH_BOCHS_PANIC;
	else if (!run->have_summary || !run->shutdown_requested)
		run->outcome = BXH_NO_SUMMARY;
	else if (run->test_count == 0 || failed_lines || run->summary_failed ||
		 run->summary_passed + run->summary_failed != run->test_count)
		run->outcome = BXH_TESTS_FAILED;
	else
		run->outcome = BXH_PASSED;
}

/* ---- boot option patching ---------------------------------------------- */

bool bxh_patch_boot_options(uint8_t *image, size_t size, const char *options, char *why,
			    size_t why_size)
{
	static const char marker[] = BXKD_BOOTOPT_MARKER;
	size_t text_len = strlen(options);
	uint8_t *found = NULL;

	if (text_len >= BXKD_BOOTOPT_TEXT_SIZE) {
		snprintf(why, why_size, "boot options are %zu bytes; the block holds %d", text_len,
			 BXKD_BOOTOPT_TEXT_SIZE - 1);
		return false;
	}
	for (size_t at = 0; at + sizeof(struct bxkd_bootopt_block) <= size; at++) {
		if (image[at] != 'B' || memcmp(image + at, marker, sizeof(marker)))
			continue;
		if (found) {
			snprintf(why, why_size, "boot option marker occurs more than once");
			return false;
		}
		found = image + at;
	}
	if (!found) {
		snprintf(why, why_size, "no boot option block (marker %s) in the image", marker);
		return false;
	}
	struct bxkd_bootopt_block *block = (struct bxkd_bootopt_block *)found;
	memset(block->text, 0, sizeof(block->text));
	memcpy(block->text, options, text_len);
	return true;
}

/* ---- running Bochs ------------------------------------------------------ */

static double monotonic_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static char *write_bochsrc(const struct bxh_options *o, const char *workdir)
{
	char *path = xasprintf("%s/bochsrc", workdir);
	FILE *f = fopen(path, "w");

	if (!f) {
		free(path);
		return NULL;
	}
	fprintf(f,
		"# Written by the bxkd test harness (tests/harness/bxh.c) for one run.\n"
		"megs: %u\n"
		"romimage: file=%s\n"
		"vgaromimage: file=%s\n"
		"floppya: 1_44=%s/guest.img, status=inserted\n"
		"boot: floppy\n"
		"# Determinism: guest time is a function of instructions executed only.\n"
		"clock: sync=none, time0=%" PRIu32 "\n"
		"cpu: count=1, ips=%u, reset_on_triple_fault=0\n"
		"display_library: sdl2\n"
		"mouse: enabled=0\n"
		"speaker: enabled=0\n"
		"port_e9_hack: enabled=1\n"
		"%s"
		"log: %s/bochs.log\n"
		"logprefix: %%t%%e%%d\n"
		"panic: action=fatal\n"
		"error: action=report\n"
		"info: action=report\n"
		"debug: action=ignore\n",
		o->megs, BOCHS_BIOS, BOCHS_VGA_BIOS, workdir, o->time0, BXH_DEFAULT_IPS,
		o->load_plugin ? "plugin_ctrl: vmport=1\n" : "", workdir);
	if (o->extra_config)
		fprintf(f, "%s\n", o->extra_config);
	if (fclose(f) != 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* A copy of the parent's environment with the variables Bochs needs set our
 * way. Free with free_environment. */
static char **bochs_environment(const char *plugin_dir)
{
	size_t n = 0;

	while (environ[n])
		n++;
	char **env = calloc(n + 5, sizeof(*env));
	if (!env)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!starts_with(environ[i], "LTDL_LIBRARY_PATH=") &&
		    !starts_with(environ[i], "SDL_VIDEODRIVER=") &&
		    !starts_with(environ[i], "SDL_AUDIODRIVER=") && !starts_with(environ[i], "TZ="))
			env[k++] = xstrdup(environ[i]);
	}
	/* Our plugin first; Bochs' own plugins must stay reachable too. */
	env[k++] = xasprintf("LTDL_LIBRARY_PATH=%s:%s", plugin_dir, BOCHS_PLUGIN_DIR);
	env[k++] = xstrdup("SDL_VIDEODRIVER=dummy");
	env[k++] = xstrdup("SDL_AUDIODRIVER=dummy");
	/* Bochs sets the CMOS clock from time0 in local time: the same guest
	 * must see the same clock on every host. */
	env[k++] = xstrdup("TZ=UTC");
	env[k] = NULL;
	return env;
}

static void free_environment(char **env)
{
	for (char **e = env; *e; e++)
		free(*e);
	free(env);
}

static void launch_failed(struct bxh_run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void launch_failed(struct bxh_run *run, const char *fmt, ...)
{
	va_list ap;

	run->outcome = BXH_LAUNCH_FAILED;
	va_start(ap, fmt);
	if (vasprintf(&run->launch_error, fmt, ap) < 0)
		abort();
	va_end(ap);
}

/* Copies the image into the work directory, patching the boot options. */
static bool prepare_image(const struct bxh_options *o, struct bxh_run *run)
{
	size_t size;
	uint8_t *image = (uint8_t *)read_whole_file(o->image, &size);
	char why[160];

	if (!image) {
		launch_failed(run, "cannot read guest image %s: %s", o->image, strerror(errno));
		return false;
	}
	if (o->boot_options && !bxh_patch_boot_options(image, size, o->boot_options, why,
						       sizeof(why))) {
		launch_failed(run, "%s: %s", o->image, why);
		free(image);
		return false;
	}
	char *copy = xasprintf("%s/guest.img", run->workdir);
	bool ok = write_whole_file(copy, image, size);
	if (!ok)
		launch_failed(run, "cannot write %s: %s", copy, strerror(errno));
	free(copy);
	free(image);
	return ok;
}

/* Reads Bochs' standard output until it closes or the deadline passes. */
static bool collect_stdout(int fd, double deadline, char **out)
{
	size_t len = 0, cap = 65536;
	char *text = malloc(cap + 1);

	if (!text)
		abort();
	for (;;) {
		double left = deadline - monotonic_seconds();
		if (left <= 0 || len >= STDOUT_LIMIT)
			break;
		struct pollfd p = { fd, POLLIN, 0 };
		int ready = poll(&p, 1, (int)(left * 1000) + 1);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			continue; /* the loop re-checks the deadline */
		if (cap - len < 4096) {
			cap *= 2;
			char *bigger = realloc(text, cap + 1);
			if (!bigger)
				abort();
			text = bigger;
		}
		ssize_t n = read(fd, text + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			text[len] = '\0';
			*out = text;
			return true;
		}
		len += (size_t)n;
	}
	text[len] = '\0';
	*out = text;
	return false;
}

bool bxh_boot(const struct bxh_options *o, struct bxh_run *run)
{
	memset(run, 0, sizeof(*run));
	run->exit_status = -1;
	double started = monotonic_seconds();

	if (!o->image || !o->workdir) {
		launch_failed(run, "bxh_boot needs an image and a work directory");
		return false;
	}
	char *abs_workdir = NULL;
	if (!make_directories(o->workdir) || !(abs_workdir = realpath(o->workdir, NULL))) {
		launch_failed(run, "cannot create work directory %s: %s", o->workdir,
			      strerror(errno));
		return false;
	}
	run->workdir = abs_workdir;
	if (!prepare_image(o, run))
		return false;
	char *bochsrc = write_bochsrc(o, run->workdir);
	char *rc = xasprintf("%s/continue.rc", run->workdir);
	char *log_path = xasprintf("%s/bochs.log", run->workdir);
	char *stderr_path = xasprintf("%s/bochs.stderr", run->workdir);
	/* Debian's Bochs has its debugger built in and stops at a prompt before
	 * the first instruction unless told to continue. */
	if (!bochsrc || !write_whole_file(rc, "c\n", 2)) {
		launch_failed(run, "cannot write Bochs configuration in %s", run->workdir);
		goto out;
	}
	unlink(log_path);

	int pipe_fds[2];
	if (pipe(pipe_fds) != 0) {
		launch_failed(run, "pipe: %s", strerror(errno));
		goto out;
	}
	char **env = bochs_environment(o->plugin_dir ? o->plugin_dir : BXKD_PLUGIN_BUILD_DIR);
	char *const argv[] = { BOCHS_BIN, "-q", "-f", bochsrc, "-rc", rc, NULL };
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int err = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		if (in < 0 || err < 0 || dup2(in, 0) < 0 || dup2(pipe_fds[1], 1) < 0 ||
		    dup2(err, 2) < 0 || chdir(run->workdir) != 0)
			_exit(126);
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		setpgid(0, 0); /* so a timeout can kill Bochs and anything it started */
		execve(BOCHS_BIN, argv, env);
		_exit(127);
	}
	close(pipe_fds[1]);
	free_environment(env);
	if (pid < 0) {
		close(pipe_fds[0]);
		launch_failed(run, "fork: %s", strerror(errno));
		goto out;
	}

	bool finished = collect_stdout(pipe_fds[0], started + o->timeout_seconds,
				       &run->stdout_text);
	close(pipe_fds[0]);
	if (!finished) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	run->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	run->wall_seconds = monotonic_seconds() - started;

	run->console = bxh_console_from_stdout(run->stdout_text);
	run->log = read_whole_file(log_path, NULL);
	if (!run->log)
		run->log = xstrdup("");
	run->stderr_text = read_whole_file(stderr_path, NULL);
	if (!run->stderr_text)
		run->stderr_text = xstrdup("");
	bxh_parse_console(run, run->console);
	bxh_parse_log(run, run->log);
	bxh_parse_stderr(run, run->stderr_text);
	if (!finished)
		run->outcome = BXH_TIMEOUT;
	else if (run->exit_status == 126 || run->exit_status == 127)
		launch_failed(run, "cannot execute %s (exit status %d)", BOCHS_BIN,
			      run->exit_status);
	else
		bxh_classify(run);
out:
	free(bochsrc);
	free(rc);
	free(log_path);
	free(stderr_path);
	return run->outcome == BXH_PASSED;
}

void bxh_run_free(struct bxh_run *run)
{
	for (size_t i = 0; i < run->test_count; i++) {
		free(run->tests[i].name);
		free(run->tests[i].detail);
	}
	free(run->tests);
	free(run->console);
	free(run->log);
	free(run->stdout_text);
	free(run->stderr_text);
	free(run->fatal);
	free(run->panic);
	free(run->launch_error);
	free(run->workdir);
	memset(run, 0, sizeof(*run));
}

const struct bxh_test_line *bxh_find_test(const struct bxh_run *run, const char *name)
{
	for (size_t i = 0; i < run->test_count; i++) {
		if (!strcmp(run->tests[i].name, name))
			return &run->tests[i];
	}
	return NULL;
}

/* ---- explaining a failure ------------------------------------------------ */

struct log_excerpt {
	FILE *out;
	unsigned shown;
};

static void excerpt_line(void *ctx, const char *line, size_t len)
{
	struct log_excerpt *x = ctx;
	uint64_t tick;
	size_t digits = 0;

	/* Panics and errors: the character after the tick is the level. */
	if (!line_tick(line, len, &tick))
		return;
	while (digits < len && line[digits] >= '0' && line[digits] <= '9')
		digits++;
	if (digits < len && (line[digits] == 'p' || line[digits] == 'e') && x->shown < 12) {
		fprintf(x->out, "    %.*s\n", (int)len, line);
		x->shown++;
	}
}

static void tail(FILE *out, const char *text, unsigned lines)
{
	const char *start = text + strlen(text);
	unsigned seen = 0;

	while (start > text && seen <= lines) {
		start--;
		if (*start == '\n' && start[1] != '\0')
			seen++;
	}
	if (seen > lines)
		start++;
	fprintf(out, "%s", start);
	if (*start && start[strlen(start) - 1] != '\n')
		fputc('\n', out);
}

char *bxh_explain(const struct bxh_run *run)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	if (!out)
		abort();
	fprintf(out, "Bochs run in %s: %s", run->workdir ? run->workdir : "(no work directory)",
		bxh_outcome_name(run->outcome));
	if (run->have_final_tick)
		fprintf(out, " at tick %" PRIu64, run->final_tick);
	fprintf(out, " (exit status %d, %.2f s)\n", run->exit_status, run->wall_seconds);
	if (run->launch_error)
		fprintf(out, "  %s\n", run->launch_error);
	if (run->fatal)
		fprintf(out, "  guest: BXKD FATAL %s\n", run->fatal);
	if (run->panic)
		fprintf(out, "  bochs: %s\n", run->panic);
	for (size_t i = 0; i < run->test_count; i++) {
		if (!run->tests[i].passed)
			fprintf(out, "  failed guest test %s: %s\n", run->tests[i].name,
				run->tests[i].detail);
	}
	if (run->have_summary &&
	    run->summary_passed + run->summary_failed != run->test_count)
		fprintf(out, "  summary counts %u tests but %zu result lines were seen\n",
			run->summary_passed + run->summary_failed, run->test_count);
	if (run->log && *run->log) {
		struct log_excerpt x = { out, 0 };
		fprintf(out, "  Bochs log, panics and errors:\n");
		for_each_line(run->log, excerpt_line, &x);
		if (!x.shown)
			fprintf(out, "    (none)\n");
	}
	if ((!run->log || !*run->log) && run->stderr_text && *run->stderr_text) {
		fprintf(out, "  Bochs standard error, last lines:\n");
		tail(out, run->stderr_text, 8);
	}
	if (run->console && *run->console) {
		fprintf(out, "  guest console, last lines:\n");
		tail(out, run->console, 15);
	}
	fclose(out);
	return text;
}
