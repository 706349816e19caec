/*
 * bxvm.h -- the Bochs machine bxkd runs, as one small library: what the
 * test harness (tests/harness/bxh.c) and the bxkd command (launcher/bxkd)
 * both need, written once.
 *
 *  - the machine: a bochsrc from a description (image, RAM, deterministic
 *    clock, the vmport plugin, the log), and the environment Bochs runs in
 *    (plugin search path, headless SDL2, TZ=UTC);
 *  - the guest image: the boot option block, copying and patching it;
 *  - reading a run: Bochs' standard output minus its own lines, the guest's
 *    console grammar (BXKD RESULT / SUMMARY / FATAL), the log's ticks and
 *    panics, Bochs' exit message, and the one rule that classifies a run.
 *
 * Everything here is pure or works on files; nothing starts a process, so
 * each caller runs Bochs its own way (the harness captures with a deadline,
 * bxkd shows the console live) and both read the result the same way.
 */
#ifndef BXKD_BXVM_H
#define BXKD_BXVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
	const char *log_path;     /* log: */
	const char *extra_config; /* lines appended verbatim; may be NULL */
};

/* Defaults above, the plugin loaded, a floppy; no image, no log. */
void bxvm_machine_init(struct bxvm_machine *machine);

/* The bochsrc text (caller frees). */
char *bxvm_bochsrc(const struct bxvm_machine *machine);

/* Writes bxvm_bochsrc() to `path`. */
bool bxvm_write_bochsrc(const struct bxvm_machine *machine, const char *path);

enum bxvm_display {
	BXVM_HEADLESS, /* SDL2 draws into nothing: SDL_VIDEODRIVER=dummy */
	BXVM_WINDOW,   /* SDL2 opens its window as the user's session allows */
};

/* A copy of `parent` (an environ) with what Bochs needs set our way:
 * LTDL_LIBRARY_PATH=<plugin_dir>:<Bochs' plugins>, SDL_AUDIODRIVER=dummy,
 * TZ=UTC (Bochs sets the CMOS clock from time0 in local time), and for
 * BXVM_HEADLESS SDL_VIDEODRIVER=dummy. Free with bxvm_environment_free. */
char **bxvm_environment(char *const parent[], const char *plugin_dir, enum bxvm_display display);
void bxvm_environment_free(char **environment);

/* ---- the guest image --------------------------------------------------------- */

/* Whether `image` carries exactly one bxkd boot option block: it is a bxkd
 * guest that reads boot options. */
bool bxvm_has_boot_options(const uint8_t *image, size_t size);

/* Writes `options` into the boot option block of an image in memory. Fails
 * (with a reason in `why`) unless the marker occurs exactly once and the
 * text fits. */
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

/* ---- Bochs' log and exit message ---------------------------------------------------- */

/* One line of Bochs' log (logprefix %t%e%d: "00014184025p[UNMAP ] ..."). */
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

/* ---- explaining a run --------------------------------------------------------------------- */

/* Prints the log's panic and error lines (at most `limit`), each after
 * `indent`; returns how many. */
unsigned bxvm_print_log_problems(FILE *out, const char *log, unsigned limit, const char *indent);

/* Prints the last `lines` lines of `text`, with a final newline. */
void bxvm_print_tail(FILE *out, const char *text, unsigned lines);

#endif /* BXKD_BXVM_H */
