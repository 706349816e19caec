/*
 * cli.c -- option values and signals, the same in every tool (cli.h).
 */
#include "config.h"

#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

bool bxkd_parse_count(const char *text, unsigned long max, unsigned long *value)
{
	char *end;

	if (!*text || text[0] == '-' || text[0] == '+')
		return false;
	errno = 0;
	*value = strtoul(text, &end, 10);
	return !*end && errno == 0 && *value >= 1 && *value <= max;
}

/* Outside the character range, so no tool's short option can take it. */
#define VERSION_KEY 0x10000

/* getopt's short option string from the table: "w:qh" and so on. */
static void short_options(const struct option *options, char *out, size_t size)
{
	size_t n = 0;

	for (const struct option *o = options; o->name && n + 3 < size; o++) {
		if (o->flag || o->val <= 0 || o->val > 127)
			continue;
		out[n++] = (char)o->val;
		if (o->has_arg != no_argument)
			out[n++] = ':';
		if (o->has_arg == optional_argument)
			out[n++] = ':';
	}
	out[n] = '\0';
}

int bxkd_cli_parse(int argc, char **argv, const struct option *options, int min_operands,
		   int max_operands, bxkd_cli_option_fn handle, void *ctx, void (*usage)(FILE *out))
{
	char shorts[128];
	int key;
	size_t count = 0;

	while (options[count].name)
		count++;
	/* Every tool answers --version the same way: its table gains it. */
	struct option *with_version = bxkd_xcalloc(count + 2, sizeof(*with_version));
	memcpy(with_version, options, count * sizeof(*options));
	with_version[count] = (struct option){ "version", no_argument, NULL, VERSION_KEY };

	short_options(options, shorts, sizeof(shorts));
	optind = 1;
	while ((key = getopt_long(argc, argv, shorts, with_version, NULL)) != -1) {
		if (key == VERSION_KEY) {
			free(with_version);
			printf("%s (bxkd) %s\n", bxkd_program(), PACKAGE_VERSION);
			return BXKD_CLI_EXIT_HELP;
		}
		if (key == 'h') {
			free(with_version);
			usage(stdout);
			return BXKD_CLI_EXIT_HELP;
		}
		if (key == '?' || !handle(ctx, key, optarg)) {
			free(with_version);
			if (key == '?')
				usage(stderr);
			return BXKD_CLI_EXIT_USAGE;
		}
	}
	free(with_version);
	int operands = argc - optind;
	if (operands < min_operands || (max_operands >= 0 && operands > max_operands)) {
		usage(stderr);
		return BXKD_CLI_EXIT_USAGE;
	}
	return BXKD_CLI_GO_ON;
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
