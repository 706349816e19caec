/*
 * bxkd-replay -- tools for recorded debug sessions (replay/README.md):
 * one command whose first argument picks the tool.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "replay.h"

#define EXIT_USAGE 2

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage; /* arguments after the name */
	const char *what;
};

static const struct subcommand subcommands[] = {
	{ "dump", replay_dump, "SESSION [--json]",
	  "the session as a transcript, one line per event" },
	{ "verify", replay_verify,
	  "SESSION [--image IMAGE] [--report FILE] [--workdir DIR] [--timeout SECONDS] [--quiet]",
	  "boots the recorded guest with the answers from the session and checks every crossing" },
	{ "serve", replay_serve, "SESSION --listen SPEC [--timeout SECONDS] [--quiet]",
	  "plays the target's side of the recorded conversation to a live debugger and checks "
	  "its bytes" },
};

#define SUBCOMMAND_COUNT (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *to)
{
	fprintf(to, "usage: bxkd-replay COMMAND ARGUMENTS\n");
	for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
		fprintf(to, "  bxkd-replay %s %s\n      %s\n", subcommands[i].name,
			subcommands[i].usage, subcommands[i].what);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "bxkd-replay: no command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
