/*
 * process.h -- child processes, and what watching them needs: a clock for
 * deadlines, their output split into lines, a free port to give them.
 *
 * One implementation for the tools that start programs (bxkd starts
 * Bochs, bxkd-tap and bxkd-dbg) and for the tests that start the tools.
 */
#ifndef BXKD_COMMON_PROCESS_H
#define BXKD_COMMON_PROCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "alloc.h"

/* Where a child's standard descriptor comes from, besides a descriptor. */
#define BXKD_FD_NULL (-1)    /* /dev/null */
#define BXKD_FD_INHERIT (-2) /* ours */

struct bxkd_process {
	pid_t pid; /* 0 when not running */
	bool own_group;
	int status;     /* exit status, or 128 + signal, once reaped */
	bool signalled; /* it ended by a signal */
};

/* bxkd_spawn flags. */
/* A process group of its own: a terminal's Ctrl-C does not reach it, and
 * it is stopped with everything it started. */
#define BXKD_PROCESS_OWN_GROUP 1u
/* A write to a socket whose peer left fails instead of killing it. */
#define BXKD_PROCESS_IGNORE_SIGPIPE 2u
/* SIGINT, SIGTERM, SIGHUP and SIGPIPE as a fresh program has them, even
 * where the parent ignores them (an ignored signal stays ignored across exec). */
#define BXKD_PROCESS_DEFAULT_SIGNALS 4u

struct bxkd_spawn {
	int in, out, err;          /* a descriptor, BXKD_FD_NULL or BXKD_FD_INHERIT */
	char *const *environment; /* NULL: ours */
	const char *directory;     /* NULL: ours */
	unsigned flags;
};

/* Starts argv[0] as `how` says. Nothing else of ours is open in the child:
 * a pipe end it held would keep another child from seeing end of file. */
bool bxkd_process_start(struct bxkd_process *p, char *const argv[], const struct bxkd_spawn *how);
/* Starts argv[0] with standard input from /dev/null and standard output
 * and error into files (NULL: /dev/null), truncated. */
bool bxkd_process_start_to_files(struct bxkd_process *p, char *const argv[],
				 const char *stdout_path, const char *stderr_path);
/* True once it has ended (p->status set); never waits. */
bool bxkd_process_done(struct bxkd_process *p);
/* Waits up to timeout_ms (-1: for ever); true if it ended. */
bool bxkd_process_wait(struct bxkd_process *p, int timeout_ms);
/* SIGTERM (to its group, if it has one), SIGKILL after grace_ms. */
void bxkd_process_stop(struct bxkd_process *p, int grace_ms);

/* The monotonic clock (CLOCK_MONOTONIC): in seconds, and in whole
 * milliseconds for timers. */
double bxkd_now(void);
uint64_t bxkd_now_ms(void);
void bxkd_sleep_ms(unsigned ms);

/* A TCP port on `host` (an IPv4 address; loopback if it is not one) that
 * nobody listens on now; 0 if there is none. */
unsigned bxkd_free_port(const char *host);

/* ---- output, line by line ------------------------------------------------------ */

typedef void (*bxkd_line_fn)(void *ctx, const char *text, size_t length);

/* Splits what arrives on a descriptor into lines. */
struct bxkd_lines {
	struct bxkd_text partial;
};
/* Takes `length` bytes and calls `line` for each complete one (without its
 * newline; a trailing '\r' removed). */
void bxkd_lines_feed(struct bxkd_lines *l, const char *bytes, size_t length, bxkd_line_fn line,
		     void *ctx);
/* The unterminated rest, as a last line. */
void bxkd_lines_flush(struct bxkd_lines *l, bxkd_line_fn line, void *ctx);
/* Reads what *fd has and feeds it; at its end flushes, closes *fd, sets it
 * to -1 and returns false. */
bool bxkd_lines_read(int *fd, struct bxkd_lines *l, bxkd_line_fn line, void *ctx);

#endif /* BXKD_COMMON_PROCESS_H */
