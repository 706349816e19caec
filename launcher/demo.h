/*
 * demo.h -- what the steps of `bxkd demo` share: demo.c prepares the
 * machine, launches the chain and verifies the outcome; demo_session.c
 * drives the session; demo_answers.c shows bxkd-dbg's answers.
 */
#ifndef BXKD_LAUNCHER_DEMO_H
#define BXKD_LAUNCHER_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bxkd.h"

struct json_object;

/* The session script: bxkd-dbg commands, one each. */
struct script {
	char **commands;
	size_t count;
};

struct demo {
	/* ---- prepared (demo.c) ---- */
	bool serial;
	bool x64;     /* --arch x64: the x86-64 kernel, its session script */
	bool verbose; /* --verbose: every frame, control packets too, explained */
	bool bytes;   /* --bytes: each frame's bytes (bxkd-tap --bytes) */
	bool keep;    /* --keep: the default work directory stays */
	bool made_workdir; /* no --workdir: ours, removed at the end */
	unsigned long timeout_seconds;
	struct script script;
	char *session;    /* the script's path */
	char *image, *symbols, *tap_program, *dbg_program, *plugin_dir, *replay_program;
	char *workdir, *sockdir;
	char *dbg_socket; /* where bxkd-tap waits for bxkd-dbg */
	char *tap_target; /* the VM's endpoint, as bxkd-tap reaches it */
	char *boot, *copy, *config, *bochsrc;
	char *recording;  /* the recorded session (shared page only) */
	char *tap_log, *dbg_log;

	/* ---- launched ---- */
	struct bxkd_process tap, dbg;
	int tap_out, dbg_out; /* their standard output; -1 once closed */
	int dbg_in;           /* bxkd-dbg's standard input; -1 once closed */
	struct bxvm vm;
	FILE *trace;          /* kd-trace.txt */
	struct bxkd_lines tap_lines, dbg_lines;

	/* ---- the session (demo_session.c) ---- */
	size_t next;           /* the next command to send */
	size_t answered;       /* commands answered */
	unsigned lines_wanted; /* JSON lines the command in flight still owes */
	char *first_line;      /* "!": the inner command's line */
	bool failed;           /* a command failed */
	bool timed_out, stopped_bochs;
	double first_sent, first_answer, last_answer;
	/* What the tap has shown: manipulate requests and replies, state
	 * changes; and the state changes when the command in flight was sent. */
	unsigned requests, replies, state_changes, state_changes_at_send;
	bool expect_stop; /* the command in flight answers with a stop */
	bool reset_answered; /* --verbose: the target answered a RESET, its resend is due */
	unsigned resets_unanswered; /* --verbose: the debugger's RESETs since the last answer */
	bool awaits_exit; /* the command in flight waits for the machine to end */
};

/* Prints `text` after `prefix`, cut between words to the transcript's
 * width (" ..." where it is cut). */
void demo_say(const char *prefix, const char *text, size_t length);

/* Sends the script's next command to bxkd-dbg, or closes its input after
 * the last. */
void demo_send_next(struct demo *d);

/* Runs the session until bxkd-dbg and Bochs are done, or the deadline. */
void demo_drive(struct demo *d);

/* Stops what is left of the chain and reads its last words. */
void demo_wind_down(struct demo *d);

/* One answer, short; the command and the JSON line are bxkd-dbg's. */
void demo_render_answer(FILE *out, struct json_object *answer);

/* Whether an answer says "ok": true. */
bool demo_answer_ok(struct json_object *answer);

#endif /* BXKD_LAUNCHER_DEMO_H */
