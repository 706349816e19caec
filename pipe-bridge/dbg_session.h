/*
 * dbg_session.h -- inside bxkd-dbg: the session its commands act on, how
 * they answer, and the command table (dbg_commands.c).
 *
 * bxkd-dbg.c drives the session (options, symbols, the link's callbacks,
 * reading command lines); dbg_commands.c is the commands themselves.
 */
#ifndef BXKD_DBG_SESSION_H
#define BXKD_DBG_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kdclient.h"

#define DBG_MAX_BREAKPOINTS 32

struct json_object;

struct breakpoint {
	bool used;
	uint64_t address;
	uint32_t handle; /* the target's */
};

/* A name from --symbols: nm's "ADDRESS TYPE NAME" lines. */
struct symbol {
	uint64_t address;
	char *name;
};

struct session {
	struct kdclient *client;
	bool json, quiet;
	bool quit; /* "quit" was run */
	struct symbol *symbols; /* sorted by address */
	size_t symbol_count;
	uint32_t timeout_ms;
	struct breakpoint breakpoints[DBG_MAX_BREAKPOINTS];
	char *prints;
	size_t prints_length;
	/* breakin-at-print: the text that triggers the break-in, until it has. */
	const char *breakin_trigger;
	/* Checking the commands before running any: each command parses its
	 * words, answers a usage failure, and goes no further. */
	bool checking;
	const char *where; /* FILE:LINE of the command being checked */
	bool usage_error;  /* a command was misused: exit status 2 */
};

/* ---- answering (bxkd-dbg.c) -------------------------------------------------------- */

/* Says why `command` failed (a JSON line, or a message on stderr) and
 * returns false. */
bool dbg_failed(struct session *s, const char *command, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The usage failure of `command`, from its syntax in the table, with
 * `detail` in parentheses after it when not NULL. */
bool dbg_usage(struct session *s, const char *command, const char *detail);
/* A command with nothing else to say: {"command":...,"ok":true}, or the
 * text `human` when not NULL. Returns true. */
bool dbg_ok_line(struct session *s, const char *command, const char *human, ...)
	__attribute__((format(printf, 3, 4)));
/* The JSON answer of a command that succeeded, to add members to. */
struct json_object *dbg_answer(const char *command);
/* Prints it as one line and frees it. */
void dbg_print_answer(struct json_object *answer);
/* Where the target stopped, as the answer of `command`. */
void dbg_print_stop(struct session *s, const char *command);

/* ---- reading arguments (bxkd-dbg.c) ---------------------------------------------- */

/* A number in C syntax, not negative. */
bool dbg_number(const char *text, uint64_t *value);
/* An address: a number, or a symbol from --symbols with an offset. */
bool dbg_address_of(const struct session *s, const char *text, uint64_t *value);
/* The failure for an ADDRESS argument dbg_address_of() refused: usage, or
 * an unknown symbol. */
bool dbg_bad_address(struct session *s, const char *command, const char *text);
/* An address as the target's machine shows it (x86: 32 bits), and the hex
 * digits it takes. */
uint64_t dbg_shown_address(const struct session *s, uint64_t address);
int dbg_address_digits(const struct session *s);

/* ---- talking to the target (dbg_commands.c) --------------------------------------- */

/* A manipulate request `api` with *m's fields, *m replaced by the reply. */
enum kdclient_status dbg_request(struct session *s, uint32_t api, struct dbgkd_manipulate_state64 *m,
				 const void *data, size_t length, void *reply, size_t capacity,
				 size_t *reply_length);
/* The failure of request `what`: the link's trouble, or the status the
 * target answered (never "ok"). Returns false. */
bool dbg_request_failed(struct session *s, const char *command, enum kdclient_status st,
			uint32_t status, const char *what);

/* ---- the commands (dbg_commands.c; registers, MSRs and link: dbg_registers.c) ------ */

bool dbg_cmd_regs(struct session *s, char **w, int n);
bool dbg_cmd_setreg(struct session *s, char **w, int n);
bool dbg_cmd_rdmsr(struct session *s, char **w, int n);
bool dbg_cmd_wrmsr(struct session *s, char **w, int n);
bool dbg_cmd_link(struct session *s, char **w, int n);

/* Runs the command in w[0] with its arguments; false when it failed. */
typedef bool (*dbg_command_fn)(struct session *s, char **w, int n);

struct dbg_command {
	const char *name;
	const char *syntax; /* its arguments, "" for none */
	const char *help;
	dbg_command_fn run;
};

/* The command called `name`, or NULL. */
const struct dbg_command *dbg_find_command(const char *name);
/* One line per command, for --help. */
void dbg_print_command_help(FILE *out);
/* Runs one command line's words: the table's command in w[0]. */
bool dbg_run_words(struct session *s, char **w, int n);

#endif /* BXKD_DBG_SESSION_H */
