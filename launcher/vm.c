/*
 * vm.c -- one Bochs run for the bxkd command: started, its console taken
 * line by line as it comes, and read back afterwards the way the test
 * harness reads it (bxvm.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bxkd.h"

extern char **environ;

bool bxkd_vm_start(struct bxkd_vm *vm, const struct bxkd_vm_config *config, char *why,
		   size_t why_size)
{
	const char *bochs = bxkd_bochs();
	char *rc = bxkd_asprintf("%s/continue.rc", config->workdir);
	char *err_path = bxkd_asprintf("%s/bochs.stderr", config->workdir);
	char *log_path = bxkd_asprintf("%s/bochs.log", config->workdir);
	int pipe_fds[2] = { -1, -1 }, err = -1;
	bool ok = false;

	memset(vm, 0, sizeof(*vm));
	vm->config = *config;
	vm->out_fd = -1;
	bxvm_console_filter_init(&vm->filter);
	/* Debian's Bochs has its debugger built in and stops at a prompt before
	 * the first instruction unless told to continue. */
	if (!config->bochs_debugger && !bxvm_write_file(rc, "c\n", 2)) {
		snprintf(why, why_size, "cannot write %s: %s", rc, strerror(errno));
		goto out;
	}
	unlink(log_path);
	err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (err < 0 || pipe2(pipe_fds, O_CLOEXEC) != 0) {
		snprintf(why, why_size, "cannot set up Bochs' output in %s: %s", config->workdir,
			 strerror(errno));
		goto out;
	}
	char *argv_run[] = { (char *)bochs, "-q", "-f", (char *)config->bochsrc, "-rc", rc, NULL };
	char *argv_debugger[] = { (char *)bochs, "-q", "-f", (char *)config->bochsrc, NULL };
	char **env = bxvm_environment(environ, config->plugin_dir, config->display);
	vm->started = bxkd_now();
	/* In its own debugger Bochs reads the terminal, so it stays in our
	 * process group (the terminal's foreground); otherwise it gets a
	 * group of its own, which a Ctrl-C meant for us does not reach. */
	ok = bxkd_proc_start(&vm->bochs, config->bochs_debugger ? argv_debugger : argv_run, env,
			     config->bochs_debugger ? BXKD_FD_INHERIT : BXKD_FD_NULL, pipe_fds[1], err,
			     (config->bochs_debugger ? 0 : BXKD_PROC_OWN_GROUP) |
				     (config->com1_serves_debugger ? BXKD_PROC_IGNORE_SIGPIPE : 0));
	bxvm_environment_free(env);
	if (!ok) {
		snprintf(why, why_size, "cannot start %s: %s", bochs, strerror(errno));
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
	struct bxkd_vm *vm;
	void (*line)(void *ctx, const char *text, size_t length);
	void *ctx;
};

static void remember(char **where, const char *text, size_t length)
{
	free(*where);
	*where = strndup(text, length);
}

static void count_line(struct bxkd_vm_report *r, const char *text, size_t length)
{
	struct bxvm_console_line parsed;

	switch (bxvm_parse_console_line(text, length, &parsed)) {
	case BXVM_LINE_RESULT:
		r->facts.result_lines++;
		remember(&r->result_line, text, length);
		if (!parsed.passed) {
			r->facts.failed_lines++;
			bxkd_text_add(&r->failed, parsed.name, parsed.name_length);
			bxkd_text_add(&r->failed, ": ", 2);
			bxkd_text_add(&r->failed, parsed.detail, parsed.detail_length);
			bxkd_text_add(&r->failed, "\n", 1);
		}
		break;
	case BXVM_LINE_MALFORMED:
		r->facts.result_lines++;
		r->facts.failed_lines++;
		bxkd_text_add(&r->failed, "(malformed result line): ", 25);
		bxkd_text_add(&r->failed, parsed.detail, parsed.detail_length);
		bxkd_text_add(&r->failed, "\n", 1);
		break;
	case BXVM_LINE_SUMMARY:
		r->facts.have_summary = true;
		r->facts.summary_passed = parsed.summary_passed;
		r->facts.summary_failed = parsed.summary_failed;
		remember(&r->summary_line, text, length);
		break;
	case BXVM_LINE_FATAL:
		if (!r->fatal) {
			r->facts.fatal = true;
			r->fatal = strndup(parsed.reason, parsed.reason_length);
		}
		break;
	case BXVM_LINE_TEXT:
		break;
	}
}

static void bochs_line(void *ctx, const char *text, size_t length)
{
	struct pump_ctx *p = ctx;

	if (!bxvm_console_keep(&p->vm->filter, text, length))
		return;
	count_line(&p->vm->report, text, length);
	if (p->line)
		p->line(p->ctx, text, length);
}

bool bxkd_vm_pump(struct bxkd_vm *vm, void (*line)(void *ctx, const char *text, size_t length),
		  void *ctx)
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

void bxkd_vm_stop(struct bxkd_vm *vm)
{
	bxkd_proc_stop(&vm->bochs, 2000);
}

/* ---- afterwards ------------------------------------------------------------------------ */

void bxkd_vm_finish(struct bxkd_vm *vm)
{
	/* Whatever is still in the pipe is the end of the console. */
	while (vm->out_fd >= 0 && bxkd_vm_pump(vm, NULL, NULL))
		;
	bxkd_proc_wait(&vm->bochs, -1);
	vm->ended = bxkd_now();

	char *log_path = bxkd_asprintf("%s/bochs.log", vm->config.workdir);
	char *err_path = bxkd_asprintf("%s/bochs.stderr", vm->config.workdir);
	vm->log = bxvm_read_file(log_path, NULL);
	if (!vm->log)
		vm->log = bxkd_strdup("");
	vm->stderr_text = bxvm_read_file(err_path, NULL);
	if (!vm->stderr_text)
		vm->stderr_text = bxkd_strdup("");
	free(log_path);
	free(err_path);

	for (const char *line = vm->log; *line;) {
		size_t length = strcspn(line, "\n");
		struct bxvm_log_line parsed;
		bxvm_parse_log_line(line, length, &parsed);
		if (parsed.has_tick && !vm->shutdown_requested) {
			vm->final_tick = parsed.tick;
			vm->have_final_tick = true;
		}
		if (parsed.panic && parsed.shutdown)
			vm->shutdown_requested = true;
		else if (parsed.panic && !vm->panic)
			vm->panic = strndup(line, length);
		line += length + (line[length] == '\n');
	}
	bool shutdown;
	vm->exit_message = bxvm_exit_message(vm->stderr_text, &shutdown);
	if (shutdown)
		vm->shutdown_requested = true;
	else if (vm->exit_message && !vm->panic)
		vm->panic = bxkd_asprintf("Bochs exited: %s", vm->exit_message);

	struct bxvm_facts facts = vm->report.facts;
	facts.panic = vm->panic != NULL;
	facts.shutdown_requested = vm->shutdown_requested;
	if (vm->timed_out || vm->interrupted)
		vm->outcome = BXVM_TIMEOUT;
	else if (vm->bochs.status == 126 || vm->bochs.status == 127)
		vm->outcome = BXVM_LAUNCH_FAILED;
	else
		vm->outcome = bxvm_classify(&facts);
}

void bxkd_vm_explain(const struct bxkd_vm *vm, FILE *out)
{
	const struct bxkd_vm_report *r = &vm->report;

	if (vm->interrupted)
		fprintf(out, "  stopped by a signal before the guest finished\n");
	else if (vm->timed_out)
		fprintf(out, "  the guest had not finished at the deadline (--timeout); Bochs was stopped\n");
	if (vm->outcome == BXVM_LAUNCH_FAILED)
		fprintf(out, "  cannot execute %s (exit status %d)\n", bxkd_bochs(), vm->bochs.status);
	if (r->fatal)
		fprintf(out, "  guest: BXKD FATAL %s\n", r->fatal);
	/* What Bochs says when we stop it is no news. */
	bool stopped = vm->timed_out || vm->interrupted;
	if (vm->panic && !stopped)
		fprintf(out, "  bochs: %s\n", vm->panic);
	for (const char *line = r->failed.data; line && *line;) {
		size_t length = strcspn(line, "\n");
		fprintf(out, "  failed guest test %.*s\n", (int)length, line);
		line += length + (line[length] == '\n');
	}
	if (r->facts.have_summary &&
	    r->facts.summary_passed + r->facts.summary_failed != r->facts.result_lines)
		fprintf(out, "  summary counts %u tests but %zu result lines were seen\n",
			r->facts.summary_passed + r->facts.summary_failed, r->facts.result_lines);
	if (!r->facts.have_summary && !r->fatal && !vm->panic && !vm->timed_out &&
	    !vm->interrupted)
		fprintf(out, "  the guest printed no BXKD SUMMARY line%s\n",
			vm->shutdown_requested ? "" : " and did not shut the machine down");
	if (stopped) {
		fprintf(out, "  Bochs log: %s/bochs.log\n", vm->config.workdir);
	} else if (vm->log && *vm->log) {
		fprintf(out, "  Bochs log (%s/bochs.log), panics and errors:\n", vm->config.workdir);
		if (!bxvm_print_log_problems(out, vm->log, 12, "    "))
			fprintf(out, "    (none)\n");
	} else if (vm->stderr_text && *vm->stderr_text) {
		fprintf(out, "  Bochs standard error, last lines:\n");
		bxvm_print_tail(out, vm->stderr_text, 8);
	}
}

void bxkd_vm_free(struct bxkd_vm *vm)
{
	if (vm->out_fd >= 0)
		close(vm->out_fd);
	bxkd_text_free(&vm->lines.partial);
	bxkd_text_free(&vm->captured);
	bxkd_text_free(&vm->report.failed);
	free(vm->report.fatal);
	free(vm->report.result_line);
	free(vm->report.summary_line);
	free(vm->panic);
	free(vm->exit_message);
	free(vm->log);
	free(vm->stderr_text);
	memset(vm, 0, sizeof(*vm));
}
