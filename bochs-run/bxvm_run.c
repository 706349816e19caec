/*
 * bxvm_run.c -- one Bochs run: started in its work directory, its console
 * taken line by line as it comes, and read back afterwards (bxvm.h).
 */
#include "config.h"

#include "bxvm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

extern char **environ;

/* Waits at most this long for Bochs' output between two looks at the
 * deadline and at whoever may want to give up. */
#define WATCH_POLL_MS 200

void bxvm_init(struct bxvm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->out_fd = -1;
}

static char *workdir_file(const struct bxvm_config *config, const char *name)
{
	return bxkd_asprintf("%s/%s", config->workdir, name);
}

static bool spawn_bochs(struct bxvm *vm, int out, int err)
{
	const struct bxvm_config *config = &vm->config;
	char *rc = workdir_file(config, "continue.rc");
	char *argv[] = { (char *)bxkd_bochs(), "-q", "-f", (char *)config->bochsrc, "-rc", rc, NULL };
	char **env = bxvm_environment(environ, config->plugin_dir, config->display);
	/* In its own debugger Bochs reads the terminal, so it stays in our
	 * process group (the terminal's foreground); otherwise it gets a
	 * group of its own, which a Ctrl-C meant for us does not reach and a
	 * stop takes with everything Bochs started. */
	struct bxkd_spawn how = {
		.in = config->bochs_debugger ? BXKD_FD_INHERIT : BXKD_FD_NULL,
		.out = out,
		.err = err,
		.environment = env,
		.directory = config->workdir,
		.flags = BXKD_PROCESS_DEFAULT_SIGNALS |
			 (config->bochs_debugger ? 0 : BXKD_PROCESS_OWN_GROUP) |
			 (config->com1_serves_debugger ? BXKD_PROCESS_IGNORE_SIGPIPE : 0),
	};

	/* Without "-rc continue.rc" Bochs stops in its debugger. */
	if (config->bochs_debugger && config->debugger_rc)
		argv[5] = (char *)config->debugger_rc;
	else if (config->bochs_debugger)
		argv[4] = NULL;
	bool ok = bxkd_process_start(&vm->bochs, argv, &how);
	bxvm_environment_free(env);
	free(rc);
	return ok;
}

bool bxvm_start(struct bxvm *vm, const struct bxvm_config *config, char *why, size_t why_size)
{
	char *rc = workdir_file(config, "continue.rc");
	char *err_path = workdir_file(config, "bochs.stderr");
	char *log_path = workdir_file(config, "bochs.log");
	int pipe_fds[2] = { -1, -1 }, err = -1;
	bool ok = false;

	bxvm_init(vm);
	vm->config = *config;
	bxvm_console_filter_init(&vm->filter);
	/* Debian's Bochs has its debugger built in and stops at a prompt before
	 * the first instruction unless told to continue. */
	if (!config->bochs_debugger && !bxvm_write_file(rc, "c\n", 2)) {
		bxkd_error(why, why_size, "cannot write %s: %s", rc, strerror(errno));
		goto out;
	}
	unlink(log_path);
	err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (err < 0 || pipe2(pipe_fds, O_CLOEXEC) != 0) {
		bxkd_error(why, why_size, "cannot set up Bochs' output in %s: %s", config->workdir,
			   strerror(errno));
		goto out;
	}
	vm->started = bxkd_now();
	ok = spawn_bochs(vm, pipe_fds[1], err);
	if (!ok) {
		bxkd_error(why, why_size, "cannot start %s: %s", bxkd_bochs(), strerror(errno));
		goto out;
	}
	vm->out_fd = pipe_fds[0];
	pipe_fds[0] = -1;
out:
	if (pipe_fds[0] >= 0)
		close(pipe_fds[0]);
	if (pipe_fds[1] >= 0)
		close(pipe_fds[1]);
	if (err >= 0)
		close(err);
	free(rc);
	free(err_path);
	free(log_path);
	return ok;
}

/* ---- the console ------------------------------------------------------------------ */

struct pump_ctx {
	struct bxvm *vm;
	bxkd_line_fn line;
	void *ctx;
};

static void bochs_line(void *ctx, const char *text, size_t length)
{
	struct pump_ctx *p = ctx;

	if (!bxvm_console_keep(&p->vm->filter, text, length))
		return;
	bxvm_report_console_line(&p->vm->report, text, length);
	if (p->line)
		p->line(p->ctx, text, length);
}

bool bxvm_pump(struct bxvm *vm, bxkd_line_fn line, void *ctx)
{
	struct pump_ctx p = { vm, line, ctx };
	char buf[65536];

	if (vm->out_fd < 0)
		return false;
	ssize_t n = read(vm->out_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		bxkd_lines_flush(&vm->lines, bochs_line, &p);
		close(vm->out_fd);
		vm->out_fd = -1;
		return false;
	}
	/* In its debugger, everything Bochs says is for the user, prompts
	 * without a newline included. */
	if (vm->config.bochs_debugger) {
		ssize_t ignored = write(STDOUT_FILENO, buf, (size_t)n);
		(void)ignored;
	}
	bxkd_text_add(&vm->captured, buf, (size_t)n);
	bxkd_lines_feed(&vm->lines, buf, (size_t)n, bochs_line, &p);
	return true;
}

void bxvm_watch(struct bxvm *vm, double deadline, bool (*give_up)(void *ctx, struct bxvm *vm),
		bxkd_line_fn line, void *ctx)
{
	while (vm->out_fd >= 0) {
		double now = bxkd_now();
		if (deadline && now >= deadline)
			vm->timed_out = true;
		if (vm->timed_out || (give_up && give_up(ctx, vm))) {
			bxvm_stop(vm);
			return;
		}
		int wait_ms = WATCH_POLL_MS;
		if (deadline && (deadline - now) * 1000 < wait_ms)
			wait_ms = (int)((deadline - now) * 1000) + 1;
		struct pollfd p = { vm->out_fd, POLLIN, 0 };
		if (poll(&p, 1, wait_ms) > 0)
			bxvm_pump(vm, line, ctx);
	}
}

void bxvm_stop(struct bxvm *vm)
{
	bxkd_process_stop(&vm->bochs, vm->config.stop_grace_ms);
}

/* ---- afterwards ------------------------------------------------------------------------ */

static char *read_or_empty(const struct bxvm_config *config, const char *name)
{
	char *path = workdir_file(config, name);
	char *text = bxvm_read_file(path, NULL);

	free(path);
	return text ? text : bxkd_strdup("");
}

void bxvm_finish(struct bxvm *vm)
{
	/* Whatever is still in the pipe is the end of the console. */
	while (vm->out_fd >= 0 && bxvm_pump(vm, NULL, NULL))
		;
	bxkd_process_wait(&vm->bochs, -1);
	vm->ended = bxkd_now();
	vm->log = read_or_empty(&vm->config, "bochs.log");
	vm->stderr_text = read_or_empty(&vm->config, "bochs.stderr");
	bxvm_report_log(&vm->report, vm->log);
	bxvm_report_stderr(&vm->report, vm->stderr_text);
	if (vm->timed_out || vm->interrupted)
		vm->outcome = BXVM_TIMEOUT;
	else if (vm->bochs.status == 126 || vm->bochs.status == 127)
		vm->outcome = BXVM_LAUNCH_FAILED;
	else
		vm->outcome = bxvm_report_classify(&vm->report);
}

void bxvm_explain(const struct bxvm *vm, FILE *out)
{
	if (vm->interrupted)
		fprintf(out, "  stopped by a signal before the guest finished\n");
	else if (vm->timed_out)
		fprintf(out, "  the guest had not finished at the deadline (--timeout); Bochs was stopped\n");
	if (vm->outcome == BXVM_LAUNCH_FAILED)
		fprintf(out, "  cannot execute %s (exit status %d)\n", bxkd_bochs(), vm->bochs.status);
	bxvm_explain_report(out, &vm->report, vm->log, vm->stderr_text, vm->config.workdir,
			    vm->timed_out || vm->interrupted);
}

void bxvm_free(struct bxvm *vm)
{
	if (vm->out_fd >= 0)
		close(vm->out_fd);
	bxkd_text_free(&vm->lines.partial);
	bxkd_text_free(&vm->captured);
	bxvm_report_free(&vm->report);
	free(vm->log);
	free(vm->stderr_text);
	bxvm_init(vm);
}
