/*
 * bxkd-replay -- tools for recorded debug sessions (replay/README.md):
 * one command whose first argument picks the tool.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "replay.h"

struct subcommand {
	const char *name;
	const char *program; /* in front of its messages */
	int (*run)(int argc, char **argv);
	const char *usage; /* arguments after the name */
	const char *what;
};

static const struct subcommand subcommands[] = {
	{ "dump", "bxkd-replay dump", replay_dump, "SESSION [--json]",
	  "the session as a transcript, one line per event" },
	{ "verify", "bxkd-replay verify", replay_verify,
	  "SESSION [--image IMAGE] [--report FILE] [--workdir DIR] [--timeout SECONDS] [--quiet]",
	  "boots the recorded guest with the answers from the session and checks every crossing" },
	{ "serve", "bxkd-replay serve", replay_serve, "SESSION --listen SPEC [--timeout SECONDS] [--quiet]",
	  "plays the target's side of the recorded conversation to a live debugger and checks "
	  "its bytes" },
	{ "walkthrough", "bxkd-replay walkthrough", replay_walkthrough, "SESSION",
	  "the debugger's attach and the first exchanges as a Markdown document, every byte "
	  "labelled (docs/kd-walkthrough.md)" },
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
	bxkd_set_program("bxkd-replay");
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return REPLAY_EXIT_USAGE;
	}
	for (size_t i = 0; i < SUBCOMMAND_COUNT; i++) {
		if (!strcmp(argv[1], subcommands[i].name)) {
			/* Each tool's messages carry its name: "bxkd-replay verify: ...". */
			bxkd_set_program(subcommands[i].program);
			return subcommands[i].run(argc - 1, argv + 1);
		}
	}
	bxkd_warn("no command '%s'", argv[1]);
	usage(stderr);
	return REPLAY_EXIT_USAGE;
}
