/*
 * cli.h -- what every command-line tool of the project does the same way:
 * reading a count from an option, and stopping cleanly on a signal.
 */
#ifndef BXKD_COMMON_CLI_H
#define BXKD_COMMON_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

/* A whole decimal number 1..max (a --timeout, --rounds): false for
 * anything else, a sign, trailing text or an overflow included. */
bool bxkd_parse_count(const char *text, unsigned long max, unsigned long *value);

/* Every tool's exit status after --help, and on bad usage. */
#define BXKD_CLI_EXIT_HELP 0
#define BXKD_CLI_EXIT_USAGE 2
/* bxkd_cli_parse: the options are read, go on. */
#define BXKD_CLI_GO_ON (-1)

/* Takes one option (getopt_long's key and its argument, or NULL); false
 * after saying what is wrong with it (bxkd_warn). */
typedef bool (*bxkd_cli_option_fn)(void *ctx, int key, char *value);

/*
 * Reads a tool's options, the same way in every tool: `options` is
 * getopt_long's table (the short options are the entries whose key is a
 * character), --help or -h prints `usage` on standard output, --version
 * prints "PROGRAM (bxkd) VERSION" (PROGRAM as bxkd_set_program set it), any other
 * option goes to `handle`, and an unknown option, or an operand count
 * outside min_operands..max_operands (max -1: any), prints usage on
 * standard error. Starts at argv[1], so a subcommand passes its own argv.
 * Returns BXKD_CLI_GO_ON with optind at the first operand, else the status
 * to exit with (BXKD_CLI_EXIT_HELP, BXKD_CLI_EXIT_USAGE).
 */
int bxkd_cli_parse(int argc, char **argv, const struct option *options, int min_operands,
		   int max_operands, bxkd_cli_option_fn handle, void *ctx, void (*usage)(FILE *out));

/* SIGINT, SIGTERM or SIGHUP seen, for loops to notice (0: none). */
extern volatile sig_atomic_t bxkd_signal;
/* Catches SIGTERM and SIGHUP, and SIGINT unless `pass_interrupt` (Bochs'
 * debugger then gets the terminal's Ctrl-C and we ignore it); a write to a
 * peer that left fails instead of killing the tool (SIGPIPE ignored).
 * Without SA_RESTART, so a blocking poll() returns and the loop sees it. */
void bxkd_catch_signals(bool pass_interrupt);
/* "SIGINT", "SIGTERM", "SIGHUP" or "a signal". */
const char *bxkd_signal_name(int sig);

#endif /* BXKD_COMMON_CLI_H */
