/*
 * bxh.h -- boot a guest image under Debian's Bochs and report what happened.
 *
 * Every Bochs integration test goes through this one harness, so every test
 * gets the same deterministic machine (fixed time0, clock sync=none), the
 * same headless display, the same plugin search path and the same failure
 * analysis. A run is classified into one outcome; bxh_explain() turns a
 * failed run into a message with the lines that matter.
 *
 * The parsing and patching functions work on memory only, so they are unit
 * tested without Bochs (tests/unit/check_bxh.c). The machine and the rules
 * behind them are launcher/bxvm.h, which the bxkd command shares.
 */
#ifndef BXKD_BXH_H
#define BXKD_BXH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Guest time starts here in every run: 2000-01-01 00:00:00 UTC. */
#define BXH_DEFAULT_TIME0 946684800u
#define BXH_DEFAULT_TIMEOUT_SECONDS 60u
#define BXH_DEFAULT_MEGS 32u
/* The emulated instruction rate that converts ticks to guest time. */
#define BXH_DEFAULT_IPS 4000000u

struct bxh_options {
	const char *image;        /* disk image to boot; a copy is booted */
	const char *boot_options; /* written into the copy's option block; may be NULL */
	const char *workdir;      /* created if missing; holds bochsrc, log, image copy */
	unsigned timeout_seconds; /* wall-clock limit for the whole run */
	unsigned megs;            /* guest RAM */
	uint32_t time0;           /* guest wall clock at power-on, seconds since 1970 */
	bool load_plugin;         /* plugin_ctrl: vmport=1 */
	const char *extra_config; /* bochsrc lines appended verbatim; may be NULL */
	const char *plugin_dir;   /* searched before Bochs' own plugins; NULL = build tree */
};

/* Fills in the defaults above, the plugin enabled, no image. */
void bxh_options_init(struct bxh_options *options);

enum bxh_outcome {
	BXH_PASSED,        /* shutdown after a summary; every test line passed */
	BXH_TESTS_FAILED,  /* summary or result lines report a failure */
	BXH_GUEST_FATAL,   /* the guest printed "BXKD FATAL" (trap, boot failure) */
	BXH_NO_SUMMARY,    /* Bochs ended without the guest's summary line */
	BXH_BOCHS_PANIC,   /* Bochs panicked for a reason other than shutdown */
	BXH_TIMEOUT,       /* still running at the deadline; killed */
	BXH_LAUNCH_FAILED, /* files could not be prepared or Bochs not started */
};

const char *bxh_outcome_name(enum bxh_outcome outcome);

struct bxh_test_line {
	char *name;
	bool passed;
	char *detail;
};

struct bxh_run {
	enum bxh_outcome outcome;
	char *console;      /* the guest's port 0xE9 output, Bochs' own lines removed */
	char *log;          /* Bochs' log file */
	char *stdout_text;  /* Bochs' standard output as it came */
	char *stderr_text;  /* Bochs' standard error: startup log, exit message */
	struct bxh_test_line *tests;
	size_t test_count;
	bool have_summary;
	unsigned summary_passed, summary_failed;
	char *fatal;        /* text after "BXKD FATAL ", if any */
	char *panic;        /* first panic other than the shutdown request */
	bool shutdown_requested;
	bool have_final_tick;
	uint64_t final_tick; /* instruction tick at which Bochs stopped */
	int exit_status;     /* of bochs-bin, or -1 */
	double wall_seconds;
	char *launch_error; /* for BXH_LAUNCH_FAILED */
	char *workdir;
};

/* Boots and waits. Always fills `run` (free it with bxh_run_free). Returns
 * true if the outcome is BXH_PASSED. */
bool bxh_boot(const struct bxh_options *options, struct bxh_run *run);

void bxh_run_free(struct bxh_run *run);

/* A readable account of the run for a failing test: outcome, the guest's
 * failing lines, panics and errors from the log, the tail of the console.
 * Caller frees. */
char *bxh_explain(const struct bxh_run *run);

/* The result line for test `name`, or NULL. */
const struct bxh_test_line *bxh_find_test(const struct bxh_run *run, const char *name);

/* ---- pure helpers, exposed for unit tests ------------------------------ */

/* Bochs' standard output minus its banner, debugger lines and prompts. */
char *bxh_console_from_stdout(const char *stdout_text);

/* Fills tests, summary and fatal from the console text. */
void bxh_parse_console(struct bxh_run *run, const char *console);

/* Fills panic, shutdown_requested and final_tick from the log text. */
void bxh_parse_log(struct bxh_run *run, const char *log);

/* Bochs states why it exits on standard error, also when it stops before
 * its log file exists (a bad configuration, a plugin it cannot find). Sets
 * panic from that message unless it is the guest's shutdown request. */
void bxh_parse_stderr(struct bxh_run *run, const char *stderr_text);

/* Decides run->outcome from what was parsed (not for launch failures or
 * timeouts, which the caller knows first). */
void bxh_classify(struct bxh_run *run);

/* Writes `options` into the boot option block of a disk image in memory.
 * Fails (with a reason in `why`) unless the marker occurs exactly once and
 * the text fits. */
bool bxh_patch_boot_options(uint8_t *image, size_t size, const char *options, char *why,
			    size_t why_size);

#endif /* BXKD_BXH_H */
