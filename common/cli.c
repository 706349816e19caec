/*
 * cli.c -- option values and signals, the same in every tool (cli.h).
 */
#include "config.h"

#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool bxkd_parse_count(const char *text, unsigned long max, unsigned long *value)
{
	char *end;

	if (!*text || text[0] == '-' || text[0] == '+')
		return false;
	errno = 0;
	*value = strtoul(text, &end, 10);
	return !*end && errno == 0 && *value >= 1 && *value <= max;
}

volatile sig_atomic_t bxkd_signal;

static void on_signal(int sig)
{
	bxkd_signal = sig;
}

void bxkd_catch_signals(bool pass_interrupt)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (pass_interrupt)
		sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

const char *bxkd_signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	}
	return "a signal";
}
