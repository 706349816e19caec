/*
 * bxh.h -- boot a guest image under Debian's Bochs and report what happened.
 *
 * Every Bochs integration test goes through this one harness, so every test
 * gets the same deterministic machine (fixed time0, clock sync=none), the
 * same headless display, the same plugin search path and the same failure
 * analysis. The harness only adds what a test needs to bochs-run/ (bxvm.h),
 * which runs and reads Bochs for everyone: a copy of the image with boot
 * options, a deadline, everything captured, and a record a test can check.
 */
#ifndef BXKD_BXH_H
#define BXKD_BXH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxvm.h"

#define BXH_DEFAULT_TIMEOUT_SECONDS 60u

struct bxh_options {
	const char *image;        /* disk image to boot; a copy is booted */
	const char *boot_options; /* written into the copy's option block; may be NULL */
	const char *workdir;      /* created if missing; holds bochsrc, log, image copy */
	unsigned timeout_seconds; /* wall-clock limit for the whole run */
	unsigned megs;            /* guest RAM */
	uint32_t time0;           /* guest wall clock at power-on, seconds since 1970 */
	bool load_plugin;         /* plugin_ctrl: vmport=1 */
	bool long_mode;           /* cpuid: x86_64=1 (the x86-64 kernel) */
	const char *extra_config; /* bochsrc lines appended verbatim; may be NULL */
	const char *plugin_dir;   /* searched before Bochs' own plugins; NULL = build tree */
};

/* Fills in bochs-run's machine defaults and our timeout, the plugin
 * enabled, no image. */
void bxh_options_init(struct bxh_options *options);

struct bxh_run {
	enum bxvm_outcome outcome;
	char *console;     /* the guest's port 0xE9 output, Bochs' own lines removed */
	char *log;         /* Bochs' log file */
	char *stdout_text; /* Bochs' standard output as it came */
	char *stderr_text; /* Bochs' standard error: startup log, exit message */
	/* The guest's result lines, summary and fatal line; Bochs' panic,
	 * shutdown and final tick. */
	struct bxvm_report report;
	int exit_status;   /* of bochs-bin, or -1 */
	double wall_seconds;
	char *launch_error; /* for BXVM_LAUNCH_FAILED */
	char *workdir;
};

/* Boots and waits. Always fills `run` (free it with bxh_run_free). Returns
 * true if the outcome is BXVM_PASSED. */
bool bxh_boot(const struct bxh_options *options, struct bxh_run *run);

void bxh_run_free(struct bxh_run *run);

/* A readable account of the run for a failing test: outcome, the guest's
 * failing lines, panics and errors from the log, the tail of the console.
 * Caller frees. */
char *bxh_explain(const struct bxh_run *run);

/* The result line for test `name`, or NULL. */
const struct bxvm_test_line *bxh_find_test(const struct bxh_run *run, const char *name);

/* ---- pure helpers, exposed for unit tests ------------------------------ */

/* Bochs' standard output minus its banner, debugger lines and prompts. */
char *bxh_console_from_stdout(const char *stdout_text);

/* Decides run->outcome from run->report (not for launch failures or
 * timeouts, which the caller knows first). */
void bxh_classify(struct bxh_run *run);

#endif /* BXKD_BXH_H */
