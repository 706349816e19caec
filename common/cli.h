/*
 * cli.h -- what every command-line tool of the project does the same way:
 * reading a count from an option, and stopping cleanly on a signal.
 */
#ifndef BXKD_COMMON_CLI_H
#define BXKD_COMMON_CLI_H

#include <signal.h>
#include <stdbool.h>

/* A whole decimal number 1..max (a --timeout, --rounds): false for
 * anything else, a sign, trailing text or an overflow included. */
bool bxkd_parse_count(const char *text, unsigned long max, unsigned long *value);

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
