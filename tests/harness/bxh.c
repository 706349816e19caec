/*
 * bxh.c -- the Bochs test harness: runs Bochs with a deadline and captures
 * everything. The machine (bochsrc, environment, image copy) and the
 * reading of a run (console grammar, log, exit message, the verdict) are
 * launcher/bxvm.c, shared with the bxkd command.
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

#include "bxvm.h"

extern char **environ;

/* Bochs is killed if a guest prints more than this; a runaway loop. */
#define STDOUT_LIMIT (16u << 20)

_Static_assert(BXH_DEFAULT_TIME0 == BXVM_DEFAULT_TIME0 && BXH_DEFAULT_MEGS == BXVM_DEFAULT_MEGS &&
		       BXH_DEFAULT_IPS == BXVM_DEFAULT_IPS,
	       "the harness's machine is bxvm's");

void bxh_options_init(struct bxh_options *options)
{
	memset(options, 0, sizeof(*options));
	options->timeout_seconds = BXH_DEFAULT_TIMEOUT_SECONDS;
	options->megs = BXH_DEFAULT_MEGS;
	options->time0 = BXH_DEFAULT_TIME0;
	options->load_plugin = true;
}

/* bxh's outcomes are bxvm's, under the names the tests know. */
_Static_assert((int)BXH_PASSED == (int)BXVM_PASSED && (int)BXH_TESTS_FAILED == (int)BXVM_TESTS_FAILED &&
		       (int)BXH_GUEST_FATAL == (int)BXVM_GUEST_FATAL &&
		       (int)BXH_NO_SUMMARY == (int)BXVM_NO_SUMMARY &&
		       (int)BXH_BOCHS_PANIC == (int)BXVM_BOCHS_PANIC &&
		       (int)BXH_TIMEOUT == (int)BXVM_TIMEOUT &&
		       (int)BXH_LAUNCH_FAILED == (int)BXVM_LAUNCH_FAILED,
	       "bxh_outcome and bxvm_outcome agree");

const char *bxh_outcome_name(enum bxh_outcome outcome)
{
	return bxvm_outcome_name((enum bxvm_outcome)outcome);
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

/* ---- console ----------------------------------------------------------- */

struct console_filter {
	struct bxvm_console_filter filter;
	char *out;
	size_t len;
};

static void filter_line(void *ctx, const char *line, size_t len)
{
	struct console_filter *f = ctx;

	if (!bxvm_console_keep(&f->filter, line, len))
		return;
	memcpy(f->out + f->len, line, len);
	f->len += len;
	f->out[f->len++] = '\n';
}

char *bxh_console_from_stdout(const char *stdout_text)
{
	struct console_filter f = { .out = malloc(strlen(stdout_text) + 2) };

	if (!f.out)
		abort();
	bxvm_console_filter_init(&f.filter);
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

/* The grammar is bxvm's; a malformed result line is recorded as a failed
 * test so it cannot go unnoticed. */
static void console_line(void *ctx, const char *line, size_t len)
{
	struct bxh_run *run = ctx;
	struct bxvm_console_line parsed;

	switch (bxvm_parse_console_line(line, len, &parsed)) {
	case BXVM_LINE_RESULT:
		add_test_line(run, parsed.name, parsed.name_length, parsed.passed, parsed.detail,
			      parsed.detail_length);
		break;
	case BXVM_LINE_MALFORMED:
		add_test_line(run, "(malformed result line)", 23, false, parsed.detail,
			      parsed.detail_length);
		break;
	case BXVM_LINE_SUMMARY:
		run->have_summary = true;
		run->summary_passed = parsed.summary_passed;
		run->summary_failed = parsed.summary_failed;
		break;
	case BXVM_LINE_FATAL:
		if (!run->fatal)
			run->fatal = xstrndup(parsed.reason, parsed.reason_length);
		break;
	case BXVM_LINE_TEXT:
		break;
	}
}

void bxh_parse_console(struct bxh_run *run, const char *console)
{
	for_each_line(console, console_line, run);
}

/* ---- Bochs log ------------------------------------------------------------- */

static void log_line(void *ctx, const char *line, size_t len)
{
	struct bxh_run *run = ctx;
	struct bxvm_log_line parsed;

	bxvm_parse_log_line(line, len, &parsed);
	if (parsed.has_tick && !run->shutdown_requested) {
		run->final_tick = parsed.tick;
		run->have_final_tick = true;
	}
	if (parsed.panic) {
		if (parsed.shutdown)
			run->shutdown_requested = true;
		else if (!run->panic)
			run->panic = xstrndup(line, len);
	}
}

void bxh_parse_log(struct bxh_run *run, const char *log)
{
	for_each_line(log, log_line, run);
}

void bxh_parse_stderr(struct bxh_run *run, const char *stderr_text)
{
	bool shutdown;
	char *text = bxvm_exit_message(stderr_text, &shutdown);

	if (!text)
		return;
	if (shutdown)
		run->shutdown_requested = true;
	else if (!run->panic)
		run->panic = xasprintf("Bochs exited: %s", text);
	free(text);
}

void bxh_classify(struct bxh_run *run)
{
	struct bxvm_facts facts = {
		.fatal = run->fatal != NULL,
		.panic = run->panic != NULL,
		.have_summary = run->have_summary,
		.summary_passed = run->summary_passed,
		.summary_failed = run->summary_failed,
		.shutdown_requested = run->shutdown_requested,
		.result_lines = run->test_count,
	};

	for (size_t i = 0; i < run->test_count; i++)
		facts.failed_lines += !run->tests[i].passed;
	run->outcome = (enum bxh_outcome)bxvm_classify(&facts);
}

/* ---- boot option patching ---------------------------------------------- */

bool bxh_patch_boot_options(uint8_t *image, size_t size, const char *options, char *why,
			    size_t why_size)
{
	return bxvm_patch_boot_options(image, size, options, why, why_size);
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
	struct bxvm_machine machine;
	char *path = xasprintf("%s/bochsrc", workdir);
	char *image = xasprintf("%s/guest.img", workdir);
	char *log = xasprintf("%s/bochs.log", workdir);

	bxvm_machine_init(&machine);
	machine.written_by = "the bxkd test harness (tests/harness/bxh.c)";
	machine.image = image;
	machine.media = BXVM_MEDIA_FLOPPY;
	machine.megs = o->megs;
	machine.time0 = o->time0;
	machine.ips = BXH_DEFAULT_IPS;
	machine.load_plugin = o->load_plugin;
	machine.log_path = log;
	machine.extra_config = o->extra_config;
	bool ok = bxvm_write_bochsrc(&machine, path);
	free(image);
	free(log);
	if (!ok) {
		free(path);
		return NULL;
	}
	return path;
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
	char *copy = xasprintf("%s/guest.img", run->workdir);
	char why[700];
	bool ok = bxvm_copy_image(o->image, o->boot_options, copy, why, sizeof(why));

	if (!ok)
		launch_failed(run, "%s", why);
	free(copy);
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
	if (!bxvm_make_directories(o->workdir) || !(abs_workdir = realpath(o->workdir, NULL))) {
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
	if (!bochsrc || !bxvm_write_file(rc, "c\n", 2)) {
		launch_failed(run, "cannot write Bochs configuration in %s", run->workdir);
		goto out;
	}
	unlink(log_path);

	int pipe_fds[2];
	if (pipe(pipe_fds) != 0) {
		launch_failed(run, "pipe: %s", strerror(errno));
		goto out;
	}
	char **env = bxvm_environment(environ, o->plugin_dir ? o->plugin_dir : BXKD_PLUGIN_BUILD_DIR,
				      BXVM_HEADLESS);
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
		/* Bochs' COM1 socket modes die of SIGPIPE when the client leaves;
		 * a test wants the guest to see the line go quiet instead. */
		signal(SIGPIPE, SIG_IGN);
		execve(BOCHS_BIN, argv, env);
		_exit(127);
	}
	close(pipe_fds[1]);
	bxvm_environment_free(env);
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
	run->log = bxvm_read_file(log_path, NULL);
	if (!run->log)
		run->log = xstrdup("");
	run->stderr_text = bxvm_read_file(stderr_path, NULL);
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
		fprintf(out, "  Bochs log, panics and errors:\n");
		if (!bxvm_print_log_problems(out, run->log, 12, "    "))
			fprintf(out, "    (none)\n");
	}
	if ((!run->log || !*run->log) && run->stderr_text && *run->stderr_text) {
		fprintf(out, "  Bochs standard error, last lines:\n");
		bxvm_print_tail(out, run->stderr_text, 8);
	}
	if (run->console && *run->console) {
		fprintf(out, "  guest console, last lines:\n");
		bxvm_print_tail(out, run->console, 15);
	}
	fclose(out);
	return text;
}
