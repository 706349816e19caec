/*
 * bxvm.h -- running Bochs, once for everyone: the bxkd command (launcher/),
 * bxkd-replay verify (replay/) and the test harness (tests/harness/).
 *
 *  - the machine: a bochsrc from a description (image, RAM, deterministic
 *    clock, the vmport plugin, the log), and the environment Bochs runs in
 *    (plugin search path, headless SDL2, TZ=UTC)  -- bxvm_machine.c;
 *  - the guest image: the boot option block, copying and patching it,
 *    keeping it beside a recorded session  -- bxvm_machine.c;
 *  - reading a run: Bochs' standard output minus its own lines, the guest's
 *    console grammar (BXKD RESULT / SUMMARY / FATAL), the log's ticks and
 *    panics, Bochs' exit message, the one rule that classifies a run and
 *    the one account of a run that failed  -- bxvm_report.c;
 *  - one run: Bochs started as a child in a work directory, its console
 *    taken line by line as it comes, then read back  -- bxvm_run.c;
 *  - finding our files in the build tree or where they are installed
 *    -- bxvm_locate.c.
 */
#ifndef BXKD_BXVM_H
#define BXKD_BXVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "alloc.h"
#include "process.h"

/* Guest time starts here in every run: 2000-01-01 00:00:00 UTC. */
#define BXVM_DEFAULT_TIME0 946684800u
#define BXVM_DEFAULT_MEGS 32u
/* The emulated instruction rate that converts ticks to guest time. */
#define BXVM_DEFAULT_IPS 4000000u
/* A 1.44 MB floppy; any other image size is booted as a hard disk. */
#define BXVM_FLOPPY_BYTES 1474560u
/* Bochs stops with this "panic" when the guest writes the shutdown port. */
#define BXVM_SHUTDOWN_MESSAGE "Shutdown port: shutdown requested"

/* ---- the machine ---------------------------------------------------------- */

enum bxvm_media {
	BXVM_MEDIA_FLOPPY, /* floppya: 1_44=..., boot: floppy */
	BXVM_MEDIA_DISK,   /* ata0-master: type=disk, path=..., boot: disk */
};

/* The medium an image of `size` bytes is booted as. */
enum bxvm_media bxvm_media_for_size(uint64_t size);

struct bxvm_machine {
	const char *written_by;   /* the bochsrc's first comment: "Written by <this>" */
	const char *image;        /* the image Bochs boots (absolute path) */
	enum bxvm_media media;
	unsigned megs;            /* guest RAM */
	uint32_t time0;           /* guest wall clock at power-on */
	unsigned ips;             /* cpu: ips=, and so the guest's clock rate */
	bool load_plugin;         /* plugin_ctrl: vmport=1 */
	bool long_mode;           /* cpuid: x86_64=1, for the x86-64 kernel (Bochs'
				   * default, written so that the bochsrc says so) */
	const char *log_path;     /* log: */
	const char *extra_config; /* lines appended verbatim; may be NULL */
	bool window;              /* Bochs' window is shown: redrawn on emulated time */
};

/* Defaults above, the plugin loaded, a floppy; no image, no log. */
void bxvm_machine_init(struct bxvm_machine *machine);

/* The bochsrc text (caller frees). */
char *bxvm_bochsrc(const struct bxvm_machine *machine);

/* Writes bxvm_bochsrc() to `path`. */
bool bxvm_write_bochsrc(const struct bxvm_machine *machine, const char *path);

/* Writes the machine as <workdir>/bochsrc, logging to <workdir>/bochs.log
 * unless it names another log: the bochsrc's path (caller frees), or NULL
 * with the reason in `why`. Bochs runs in the work directory (bxvm_start),
 * and the image and the log are named as it sees them there
 * (bxvm_workdir_name). */
char *bxvm_write_machine(const struct bxvm_machine *machine, const char *workdir, char *why,
			 size_t why_size);

/*
 * `path` as a bochsrc line should name it. Bochs reads its bochsrc in
 * lines of at most 512 bytes and cuts longer ones, so a line must not
 * carry a long path, however deep the checkout or the work directory: a
 * file in the work directory (where Bochs runs) is named relative to it,
 * any other through a symbolic link <workdir>/<link_name> to its absolute
 * path (made now; the file itself may not exist yet, as a recording's).
 * The name (caller frees), or NULL with the reason in `why`.
 */
char *bxvm_workdir_name(const char *workdir, const char *path, const char *link_name, char *why,
			size_t why_size);

/* The bochsrc line that has the device record into `session` what it runs
 * on `image` ("vmport: record=..., session_image=...\n", each a
 * bxvm_workdir_name), or NULL with the reason in `why`. Caller frees. */
char *bxvm_recording_config(const char *workdir, const char *session, const char *image,
			    char *why, size_t why_size);

enum bxvm_display {
	BXVM_HEADLESS, /* SDL2 draws into nothing: SDL_VIDEODRIVER=dummy */
	BXVM_WINDOW,   /* SDL2 opens its window as the user's session allows */
};

/* Set to a shared library (the sanitizer runtime a plugin built with
 * --enable-sanitizers needs), it becomes Bochs' LD_PRELOAD. */
#define BXVM_PRELOAD_VARIABLE "BXKD_BOCHS_PRELOAD"

/* A copy of `parent` (an environ) with what Bochs needs set our way:
 * LTDL_LIBRARY_PATH=<plugin_dir>:<Bochs' plugins>, SDL_AUDIODRIVER=dummy,
 * TZ=UTC (Bochs sets the CMOS clock from time0 in local time), for
 * BXVM_HEADLESS SDL_VIDEODRIVER=dummy, and LD_PRELOAD from
 * BXVM_PRELOAD_VARIABLE when that is set. Free with bxvm_environment_free. */
char **bxvm_environment(char *const parent[], const char *plugin_dir, enum bxvm_display display);
void bxvm_environment_free(char **environment);

/* ---- the guest image --------------------------------------------------------- */

/* Whether `image` carries a bxkd boot option block: it is a bxkd guest that
 * reads boot options. */
bool bxvm_has_boot_options(const uint8_t *image, size_t size);

/* Writes `options` into every boot option block of an image in memory (one
 * per kernel on it). Fails (with a reason in `why`) when there is none or
 * the text does not fit. */
bool bxvm_patch_boot_options(uint8_t *image, size_t size, const char *options, char *why,
			     size_t why_size);

/* Copies `source` to `copy`, with `options` (if not NULL) patched in. On
 * failure `why` says what went wrong. */
bool bxvm_copy_image(const char *source, const char *options, const char *copy, char *why,
		     size_t why_size);

/* ---- files ------------------------------------------------------------------------ */

/* The whole file, NUL-terminated (size without the NUL); NULL with errno set. */
char *bxvm_read_file(const char *path, size_t *size);
bool bxvm_write_file(const char *path, const void *data, size_t size);
/* mkdir -p */
bool bxvm_make_directories(const char *path);

/* The file's SHA-256 as 64 hex digits; false if it cannot be read. */
bool bxvm_sha256_file(const char *path, char hex[65]);

/* Where a recorded session keeps the image it was recorded on, so that
 * `bxkd-replay verify` finds it: images/<sha256>.img in the session's
 * directory. Copies `image` there (once per content); the path kept, or
 * NULL with the reason in `why`. Caller frees. */
char *bxvm_keep_session_image(const char *image, const char *session, char *why,
			      size_t why_size);

/* ---- Bochs' standard output ------------------------------------------------------- */

/* What is left of Bochs' standard output once its banner, the debugger's
 * lines ("Next at t=", "(0) [0x...]", "(0).[tick]") and its prompts are
 * taken out: the guest's console (port 0xE9). Fed one line at a time, so
 * a live display and a captured run filter the same way. */
struct bxvm_console_filter {
	bool started;
	int banner_rules_left; /* '=' lines still to pass before the banner ends */
};

void bxvm_console_filter_init(struct bxvm_console_filter *filter);

/* Whether this line (without its newline) is the guest's. */
bool bxvm_console_keep(struct bxvm_console_filter *filter, const char *line, size_t length);

/* ---- the guest's console ------------------------------------------------------------ */

enum bxvm_console_kind {
	BXVM_LINE_TEXT,      /* anything else */
	BXVM_LINE_RESULT,    /* BXKD RESULT <name> <pass|fail> <detail> */
	BXVM_LINE_MALFORMED, /* BXKD RESULT and something else: counts as a failed test */
	BXVM_LINE_SUMMARY,   /* BXKD SUMMARY passed=<n> failed=<n> */
	BXVM_LINE_FATAL,     /* BXKD FATAL <reason> */
};

/* One console line taken apart; the pointers point into the line. */
struct bxvm_console_line {
	enum bxvm_console_kind kind;
	const char *name; /* RESULT */
	size_t name_length;
	bool passed;
	const char *detail; /* RESULT: the detail; MALFORMED: the text after "BXKD RESULT " */
	size_t detail_length;
	unsigned summary_passed, summary_failed; /* SUMMARY */
	const char *reason;                      /* FATAL */
	size_t reason_length;
};

enum bxvm_console_kind bxvm_parse_console_line(const char *line, size_t length,
					       struct bxvm_console_line *parsed);

/* ---- what a run said ---------------------------------------------------------------- */

/* Bochs' log lines (logprefix %t%e%d: "00014184025p[UNMAP ] ..."). */
struct bxvm_log_line {
	bool has_tick;
	uint64_t tick;
	char level;    /* 'i', 'e', 'p', ... or 0 */
	bool panic;    /* a >>PANIC<< line */
	bool shutdown; /* the panic is the guest's shutdown request */
};

void bxvm_parse_log_line(const char *line, size_t length, struct bxvm_log_line *parsed);

/* Bochs states why it exits on standard error, also when it stops before
 * its log exists (a bad configuration, a plugin it cannot find). The
 * message (caller frees), or NULL if there is none; *shutdown says whether
 * it is the guest's own shutdown request. */
char *bxvm_exit_message(const char *stderr_text, bool *shutdown);

/* One BXKD RESULT line. */
struct bxvm_test_line {
	char *name; /* "(malformed result line)" for one that does not parse */
	bool passed;
	char *detail;
};

/* What the guest's console, Bochs' log and its exit message said. */
struct bxvm_report {
	struct bxvm_test_line *tests; /* malformed result lines included, as failed */
	size_t test_count;
	bool have_summary;
	unsigned summary_passed, summary_failed;
	char *fatal;        /* text after the first "BXKD FATAL " */
	char *result_line;  /* the last BXKD RESULT line, whole */
	char *summary_line; /* the BXKD SUMMARY line, whole */
	char *panic;        /* the first panic other than the shutdown request */
	bool shutdown_requested;
	bool have_final_tick;
	uint64_t final_tick; /* the instruction tick at which Bochs stopped */
};

/* Takes one line of the guest's console. */
void bxvm_report_console_line(struct bxvm_report *report, const char *line, size_t length);
/* Takes each line of `console`. */
void bxvm_report_console(struct bxvm_report *report, const char *console);
/* Takes Bochs' log: the final tick, the shutdown request, a panic. */
void bxvm_report_log(struct bxvm_report *report, const char *log);
/* Takes Bochs' standard error: its exit message is the shutdown request
 * or else a panic ("Bochs exited: ..."), unless there was one already. */
void bxvm_report_stderr(struct bxvm_report *report, const char *stderr_text);
/* The result line for test `name`, or NULL. */
const struct bxvm_test_line *bxvm_report_find_test(const struct bxvm_report *report,
						   const char *name);
void bxvm_report_free(struct bxvm_report *report);

/* ---- classifying a run ------------------------------------------------------------------ */

enum bxvm_outcome {
	BXVM_PASSED,        /* shutdown after a summary; every test line passed */
	BXVM_TESTS_FAILED,  /* summary or result lines report a failure */
	BXVM_GUEST_FATAL,   /* the guest printed "BXKD FATAL" (trap, boot failure) */
	BXVM_NO_SUMMARY,    /* Bochs ended without the guest's summary line */
	BXVM_BOCHS_PANIC,   /* Bochs panicked for a reason other than shutdown */
	BXVM_TIMEOUT,       /* still running at the deadline; killed */
	BXVM_LAUNCH_FAILED, /* files could not be prepared or Bochs not started */
};

const char *bxvm_outcome_name(enum bxvm_outcome outcome);

/* What a run showed, as far as the verdict goes. */
struct bxvm_facts {
	bool fatal;              /* a BXKD FATAL line */
	bool panic;              /* a panic other than the shutdown request */
	bool have_summary;
	unsigned summary_passed, summary_failed;
	bool shutdown_requested; /* the guest shut the machine down */
	size_t result_lines;     /* BXKD RESULT lines, malformed ones included */
	size_t failed_lines;     /* of which failed or malformed */
};

/* The rule (not for timeouts or launch failures, which the caller knows
 * first): a fatal line, then a panic, then no summary or no shutdown, then
 * any failure or a summary that does not count the result lines; else
 * passed. */
enum bxvm_outcome bxvm_classify(const struct bxvm_facts *facts);
enum bxvm_outcome bxvm_report_classify(const struct bxvm_report *report);

/* ---- explaining a run --------------------------------------------------------------------- */

/* Prints the log's panic and error lines (at most `limit`), each after
 * `indent`; returns how many. */
unsigned bxvm_print_log_problems(FILE *out, const char *log, unsigned limit, const char *indent);

/* Prints the last `lines` lines of `text`, with a final newline. */
void bxvm_print_tail(FILE *out, const char *text, unsigned lines);

/* Why a run did not pass, one indented line a reason: the fatal line, a
 * panic (not when `stopped`: what Bochs says when we stop it is no news),
 * failed tests, a summary that miscounts, a missing summary, then the
 * log's panics and errors (or, without a log, the end of Bochs' standard
 * error). `workdir` holds bochs.log. */
void bxvm_explain_report(FILE *out, const struct bxvm_report *report, const char *log,
			 const char *stderr_text, const char *workdir, bool stopped);

/* ---- one Bochs run (bxvm_run.c) ---------------------------------------------------------- */

struct bxvm_config {
	const char *bochsrc;
	/* bochs.log, bochs.stderr and continue.rc are here. Bochs runs in it:
	 * relative paths in the bochsrc are the work directory's. */
	const char *workdir;
	const char *plugin_dir;
	enum bxvm_display display;
	/* Bochs stops in its debugger and reads the user's commands from our
	 * standard input; its output is passed on unfiltered as it comes.
	 * Otherwise it is told to continue (continue.rc) and reads nothing. */
	bool bochs_debugger;
	/* With bochs_debugger: a command file (Bochs' -rc) the debugger runs
	 * before it reads standard input; NULL: none. */
	const char *debugger_rc;
	/* Bochs' COM1 serves a debugger itself: when that debugger leaves,
	 * Bochs' next write to it must not kill Bochs (SIGPIPE). */
	bool com1_serves_debugger;
	/* How long Bochs may take to go when it is stopped (SIGTERM), before
	 * SIGKILL. */
	int stop_grace_ms;
};

struct bxvm {
	struct bxvm_config config;
	struct bxkd_process bochs;
	int out_fd; /* Bochs' standard output; -1 once it closed */
	struct bxvm_console_filter filter;
	struct bxkd_lines lines;
	struct bxkd_text captured; /* all of Bochs' standard output */
	struct bxvm_report report;
	double started, ended;
	bool timed_out, interrupted; /* set by whoever stopped it */
	/* After bxvm_finish: */
	enum bxvm_outcome outcome;
	char *log;
	char *stderr_text;
};

/* An empty run, safe to free. */
void bxvm_init(struct bxvm *vm);

/* Writes continue.rc if needed and starts Bochs. On failure `why` says why. */
bool bxvm_start(struct bxvm *vm, const struct bxvm_config *config, char *why, size_t why_size);

/* Takes what Bochs printed; calls `line` (if not NULL) with each of the
 * guest's console lines (already in vm->report). Returns false once
 * Bochs' output has ended. */
bool bxvm_pump(struct bxvm *vm, bxkd_line_fn line, void *ctx);

/* Pumps until Bochs' output ends, the deadline (0: none) passes, which
 * sets vm->timed_out, or `give_up` (may be NULL) says so; stops Bochs in
 * the last two cases. */
void bxvm_watch(struct bxvm *vm, double deadline, bool (*give_up)(void *ctx, struct bxvm *vm),
		bxkd_line_fn line, void *ctx);

/* Stops Bochs (SIGTERM, then SIGKILL after config.stop_grace_ms). */
void bxvm_stop(struct bxvm *vm);

/* Waits for Bochs to end, reads its log and exit message, classifies. */
void bxvm_finish(struct bxvm *vm);

/* Why a run did not pass: how it was stopped, a Bochs that could not be
 * executed, then bxvm_explain_report. */
void bxvm_explain(const struct bxvm *vm, FILE *out);

void bxvm_free(struct bxvm *vm);

/* ---- our files (bxvm_locate.c) ----------------------------------------------------------- */

enum bxkd_file {
	BXKD_FILE_GUEST_IMAGE,   /* bxkd-guest.img: the debuggable test kernel */
	BXKD_FILE_GUEST_SYMBOLS, /* kernel.symbols: its nm -n output */
	BXKD_FILE_GUEST64_IMAGE,   /* bxkd-guest-x64.img: the x86-64 test kernel */
	BXKD_FILE_GUEST64_SYMBOLS, /* kernel-x64.symbols */
	BXKD_FILE_SESSION,       /* debug-session.bxkd: the demo's bxkd-dbg script */
	BXKD_FILE_SESSION64,     /* debug-session-x64.bxkd: the same for the x86-64 kernel */
	BXKD_FILE_TAP,           /* bxkd-tap */
	BXKD_FILE_DBG,           /* bxkd-dbg */
	BXKD_FILE_REPLAY,        /* bxkd-replay */
	BXKD_FILE_PLUGIN_DIR,    /* the directory holding libbx_vmport.so */
};

/* The file from the build tree when the running program is the build
 * tree's (else the installed one, if the build tree lacks it); for an
 * installed program the installed one only, found from the program's own
 * directory (bxvm_install_root), never the build tree's. NULL (and the
 * places looked at in `looked`, if not NULL) when there is none.
 * Caller frees. */
char *bxkd_locate(enum bxkd_file file, char *looked, size_t looked_size);

/* Where an installed tree was put, from the directory the running program
 * is in: "/stage" for /stage/usr/local/bin with bindir /usr/local/bin
 * (make install DESTDIR=/stage, or the tree copied whole), "" for bindir
 * itself. False when program_dir does not end in bindir. */
bool bxvm_install_root(const char *program_dir, const char *bindir, char *root, size_t size);

/* Bochs: $BXKD_BOCHS, or what configure found. */
const char *bxkd_bochs(void);

#endif /* BXKD_BXVM_H */
