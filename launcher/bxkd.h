/*
 * bxkd.h -- the pieces of the bxkd command that `run` and `demo` share:
 * finding our files, child processes, and one Bochs machine run with its
 * console shown as it comes.
 */
#ifndef BXKD_LAUNCHER_H
#define BXKD_LAUNCHER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "bxvm.h"

/* Exit statuses of every subcommand. */
#define BXKD_EXIT_PASSED 0
#define BXKD_EXIT_FAILED 1 /* the guest failed, or Bochs could not run it */
#define BXKD_EXIT_USAGE 2  /* bad arguments: nothing was started */

int bxkd_run_main(int argc, char **argv);
int bxkd_demo_main(int argc, char **argv);

/* ---- our files (locate.c) ---------------------------------------------------- */

enum bxkd_file {
	BXKD_GUEST_IMAGE,   /* bxkd-guest.img: the debuggable test kernel */
	BXKD_GUEST_SYMBOLS, /* kernel.symbols: its nm -n output */
	BXKD_SESSION,       /* debug-session.bxkd: the demo's bxkd-dbg script */
	BXKD_TAP,           /* bxkd-tap */
	BXKD_DBG,           /* bxkd-dbg */
	BXKD_REPLAY,        /* bxkd-replay */
	BXKD_PLUGIN_DIR,    /* the directory holding libbx_vmport.so */
};

/* The file from the build tree when this bxkd runs from it, else the
 * installed one; whichever exists if only one does. NULL (and the places
 * looked at in `looked`, if not NULL) when neither does. Caller frees. */
char *bxkd_locate(enum bxkd_file file, char *looked, size_t looked_size);

/* Bochs: $BXKD_BOCHS, or what configure found. */
const char *bxkd_bochs(void);

/* ---- small helpers (util.c) ------------------------------------------------------ */

char *bxkd_strdup(const char *s);
char *bxkd_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double bxkd_now(void); /* seconds, CLOCK_MONOTONIC */
/* A TCP port on `host` that nobody listens on now (0 if none). */
unsigned bxkd_free_port(const char *host);
/* The address of `symbol` in an nm -n file, or 0. */
uint64_t bxkd_symbol(const char *symbols_path, const char *symbol);

/* Appends to a growing text. */
struct bxkd_text {
	char *data;
	size_t length, capacity;
};
void bxkd_text_add(struct bxkd_text *t, const char *bytes, size_t length);
void bxkd_text_free(struct bxkd_text *t);

/* Splits what arrives on a descriptor into lines. */
struct bxkd_lines {
	struct bxkd_text partial;
};
/* Takes `length` bytes and calls `line` for each complete one (without its
 * newline; a trailing '\r' removed). */
void bxkd_lines_feed(struct bxkd_lines *l, const char *bytes, size_t length,
		     void (*line)(void *ctx, const char *text, size_t length), void *ctx);
/* The unterminated rest, as a last line. */
void bxkd_lines_flush(struct bxkd_lines *l, void (*line)(void *ctx, const char *text, size_t length),
		      void *ctx);

/* ---- child processes (proc.c) --------------------------------------------------- */

#define BXKD_FD_NULL (-1)    /* /dev/null */
#define BXKD_FD_INHERIT (-2) /* ours */

struct bxkd_proc {
	pid_t pid; /* 0 when not running */
	bool own_group;
	int status; /* exit status, or 128 + signal, once reaped */
};

/* bxkd_proc_start flags. */
#define BXKD_PROC_OWN_GROUP 1u      /* a process group of its own: a terminal's Ctrl-C
				       does not reach it, and it is stopped with
				       everything it started */
#define BXKD_PROC_IGNORE_SIGPIPE 2u /* a write to a socket whose peer left fails
				       instead of killing it */

/* Starts argv[0] with the given descriptors (a descriptor, BXKD_FD_NULL or
 * BXKD_FD_INHERIT) and environment (NULL: ours). */
bool bxkd_proc_start(struct bxkd_proc *p, char *const argv[], char *const env[], int in, int out,
		     int err, unsigned flags);
/* True once it has ended (p->status set); never waits. */
bool bxkd_proc_done(struct bxkd_proc *p);
/* Waits up to timeout_ms (-1: for ever); true if it ended. */
bool bxkd_proc_wait(struct bxkd_proc *p, int timeout_ms);
/* SIGTERM (to its group, if it has one), SIGKILL after grace_ms. */
void bxkd_proc_stop(struct bxkd_proc *p, int grace_ms);

/* ---- one Bochs run (vm.c) ----------------------------------------------------------- */

struct bxkd_vm_config {
	const char *bochsrc;
	const char *workdir;   /* Bochs runs here; bochs.log and bochs.stderr are here */
	const char *plugin_dir;
	enum bxvm_display display;
	/* Bochs stops in its debugger and reads the user's commands from our
	 * standard input; its output is passed on unfiltered as it comes.
	 * Otherwise it is told to continue (continue.rc) and reads nothing. */
	bool bochs_debugger;
	/* Bochs' COM1 serves a debugger itself: when that debugger leaves,
	 * Bochs' next write to it must not kill Bochs (SIGPIPE). */
	bool com1_serves_debugger;
};

/* What the guest's console said so far. */
struct bxkd_vm_report {
	struct bxvm_facts facts;
	char *fatal;            /* BXKD FATAL text */
	struct bxkd_text failed; /* "name: detail\n" per failed result line */
	char *result_line;      /* the last BXKD RESULT line, whole */
	char *summary_line;     /* the BXKD SUMMARY line, whole */
};

struct bxkd_vm {
	struct bxkd_vm_config config;
	struct bxkd_proc bochs;
	int out_fd; /* Bochs' standard output; -1 once it closed */
	struct bxvm_console_filter filter;
	struct bxkd_lines lines;
	struct bxkd_text captured; /* all of Bochs' standard output */
	struct bxkd_vm_report report;
	double started, ended;
	/* After bxkd_vm_finish: */
	enum bxvm_outcome outcome;
	char *panic;       /* a panic other than the guest's shutdown request */
	char *exit_message;
	bool shutdown_requested;
	bool have_final_tick;
	uint64_t final_tick;
	char *log;
	char *stderr_text;
	bool timed_out, interrupted;
};

/* Writes continue.rc if needed and starts Bochs. On failure `why` says why. */
bool bxkd_vm_start(struct bxkd_vm *vm, const struct bxkd_vm_config *config, char *why,
		   size_t why_size);

/* Takes what Bochs printed; calls `line` with each of the guest's console
 * lines (already counted in vm->report). Returns false once Bochs' output
 * has ended. */
bool bxkd_vm_pump(struct bxkd_vm *vm, void (*line)(void *ctx, const char *text, size_t length),
		  void *ctx);

/* Stops Bochs (SIGTERM, then SIGKILL). */
void bxkd_vm_stop(struct bxkd_vm *vm);

/* Waits for Bochs to end, reads its log and exit message, classifies. */
void bxkd_vm_finish(struct bxkd_vm *vm);

/* Why a run of our kernel did not pass: the outcome, fatal line, panic,
 * failed tests, the log's panics and errors. */
void bxkd_vm_explain(const struct bxkd_vm *vm, FILE *out);

void bxkd_vm_free(struct bxkd_vm *vm);

/* ---- signals ----------------------------------------------------------------------------- */

/* SIGINT / SIGTERM / SIGHUP seen, for loops to notice (0: none). */
extern volatile sig_atomic_t bxkd_signal;
/* Catches SIGTERM and SIGHUP, and SIGINT unless `pass_interrupt` (Bochs'
 * debugger then gets the terminal's Ctrl-C and we ignore it). */
void bxkd_catch_signals(bool pass_interrupt);

#endif /* BXKD_LAUNCHER_H */
