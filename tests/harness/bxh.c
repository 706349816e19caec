/*
 * bxh.c -- the Bochs test harness: a copy of the image with the test's
 * boot options, one headless run through bochs-run/ with a deadline, and
 * everything it said kept for the test (bxh.h).
 */
#include "config.h"

#include "bxh.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

/* Bochs is killed if a guest prints more than this; a runaway loop. */
#define STDOUT_LIMIT (16u << 20)

void bxh_options_init(struct bxh_options *options)
{
	memset(options, 0, sizeof(*options));
	options->timeout_seconds = BXH_DEFAULT_TIMEOUT_SECONDS;
	options->megs = BXVM_DEFAULT_MEGS;
	options->time0 = BXVM_DEFAULT_TIME0;
	options->load_plugin = true;
}

/* ---- reading --------------------------------------------------------------- */

static void keep_console_line(void *ctx, const char *line, size_t length)
{
	bxkd_text_add(ctx, line, length);
	bxkd_text_add(ctx, "\n", 1);
}

char *bxh_console_from_stdout(const char *stdout_text)
{
	struct bxvm_console_filter filter;
	struct bxkd_text console = { 0 };

	bxkd_text_add(&console, "", 0);
	bxvm_console_filter_init(&filter);
	while (*stdout_text) {
		size_t length = strcspn(stdout_text, "\n");
		if (bxvm_console_keep(&filter, stdout_text, length))
			keep_console_line(&console, stdout_text, length);
		stdout_text += length + (stdout_text[length] == '\n');
	}
	return console.data;
}

void bxh_classify(struct bxh_run *run)
{
	run->outcome = bxvm_report_classify(&run->report);
}

const struct bxvm_test_line *bxh_find_test(const struct bxh_run *run, const char *name)
{
	return bxvm_report_find_test(&run->report, name);
}

/* ---- running Bochs ------------------------------------------------------ */

static bool launch_failed(struct bxh_run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool launch_failed(struct bxh_run *run, const char *fmt, ...)
{
	va_list ap;

	run->outcome = BXVM_LAUNCH_FAILED;
	va_start(ap, fmt);
	run->launch_error = bxkd_vasprintf(fmt, ap);
	va_end(ap);
	return false;
}

/* The work directory, the image copy with the boot options, the bochsrc
 * (its path, or NULL). */
static char *prepare(const struct bxh_options *o, struct bxh_run *run)
{
	char why[700];

	if (!o->image || !o->workdir) {
		launch_failed(run, "bxh_boot needs an image and a work directory");
		return NULL;
	}
	if (!bxvm_make_directories(o->workdir) || !(run->workdir = realpath(o->workdir, NULL))) {
		launch_failed(run, "cannot create work directory %s: %s", o->workdir,
			      strerror(errno));
		return NULL;
	}
	char *copy = bxkd_asprintf("%s/guest.img", run->workdir);
	char *bochsrc = NULL;
	if (!bxvm_copy_image(o->image, o->boot_options, copy, why, sizeof(why))) {
		launch_failed(run, "%s", why);
	} else {
		struct bxvm_machine machine;
		bxvm_machine_init(&machine);
		machine.written_by = "the bxkd test harness (tests/harness/bxh.c)";
		machine.image = copy;
		machine.megs = o->megs;
		machine.time0 = o->time0;
		machine.load_plugin = o->load_plugin;
		machine.long_mode = o->long_mode;
		machine.extra_config = o->extra_config;
		bochsrc = bxvm_write_machine(&machine, run->workdir, why, sizeof(why));
		if (!bochsrc)
			launch_failed(run, "cannot write Bochs configuration in %s", run->workdir);
	}
	free(copy);
	return bochsrc;
}

/* A guest that prints without end is a runaway loop: stopped as a timeout. */
static bool printed_too_much(void *ctx, struct bxvm *vm)
{
	(void)ctx;
	if (vm->captured.length >= STDOUT_LIMIT)
		vm->timed_out = true;
	return vm->timed_out;
}

/* What the run said becomes the test's. */
static void take_run(struct bxh_run *run, struct bxvm *vm)
{
	run->stdout_text = vm->captured.data ? vm->captured.data : bxkd_strdup("");
	vm->captured.data = NULL;
	run->console = bxh_console_from_stdout(run->stdout_text);
	run->log = vm->log;
	run->stderr_text = vm->stderr_text;
	vm->log = vm->stderr_text = NULL;
	run->report = vm->report;
	memset(&vm->report, 0, sizeof(vm->report));
	run->exit_status = vm->bochs.signalled ? -1 : vm->bochs.status;
	run->outcome = vm->outcome;
	if (vm->outcome == BXVM_LAUNCH_FAILED)
		launch_failed(run, "cannot execute %s (exit status %d)", bxkd_bochs(),
			      run->exit_status);
}

bool bxh_boot(const struct bxh_options *o, struct bxh_run *run)
{
	double started = bxkd_now();
	char why[800];
	struct bxvm vm;

	memset(run, 0, sizeof(*run));
	run->exit_status = -1;
	bxvm_init(&vm);
	char *bochsrc = prepare(o, run);
	if (bochsrc) {
		struct bxvm_config config = {
			.bochsrc = bochsrc,
			.workdir = run->workdir,
			.plugin_dir = o->plugin_dir ? o->plugin_dir : BXKD_PLUGIN_BUILD_DIR,
			.display = BXVM_HEADLESS,
			/* Bochs' COM1 socket modes die of SIGPIPE when the client
			 * leaves; a test wants the guest to see the line go quiet. */
			.com1_serves_debugger = true,
			.stop_grace_ms = 0,
		};
		if (!bxvm_start(&vm, &config, why, sizeof(why))) {
			launch_failed(run, "%s", why);
		} else {
			bxvm_watch(&vm, started + o->timeout_seconds, printed_too_much, NULL, NULL);
			bxvm_finish(&vm);
			take_run(run, &vm);
		}
	}
	run->wall_seconds = bxkd_now() - started;
	bxvm_free(&vm);
	free(bochsrc);
	return run->outcome == BXVM_PASSED;
}

void bxh_run_free(struct bxh_run *run)
{
	bxvm_report_free(&run->report);
	free(run->console);
	free(run->log);
	free(run->stdout_text);
	free(run->stderr_text);
	free(run->launch_error);
	free(run->workdir);
	memset(run, 0, sizeof(*run));
}

/* ---- explaining a failure ------------------------------------------------ */

char *bxh_explain(const struct bxh_run *run)
{
	struct bxkd_memstream text;
	FILE *out = bxkd_memstream_open(&text);

	fprintf(out, "Bochs run in %s: %s", run->workdir ? run->workdir : "(no work directory)",
		bxvm_outcome_name(run->outcome));
	if (run->report.have_final_tick)
		fprintf(out, " at tick %" PRIu64, run->report.final_tick);
	fprintf(out, " (exit status %d, %.2f s)\n", run->exit_status, run->wall_seconds);
	if (run->launch_error)
		fprintf(out, "  %s\n", run->launch_error);
	bxvm_explain_report(out, &run->report, run->log, run->stderr_text, run->workdir,
			    run->outcome == BXVM_TIMEOUT);
	if (run->console && *run->console) {
		fprintf(out, "  guest console, last lines:\n");
		bxvm_print_tail(out, run->console, 15);
	}
	return bxkd_memstream_close(&text);
}
