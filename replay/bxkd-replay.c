/*
 * bxkd-replay -- tools for recorded debug sessions (replay/README.md):
 * one command whose first argument picks the tool.
 */
#include "config.h"

#include <stdbool.h>
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
	{ "upgrade", "bxkd-replay upgrade", replay_upgrade, "IN OUT",
	  "writes a session of an older format version again in the current one" },
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
	fprintf(to, "  bxkd-replay help [COMMAND]\n      this text, or a command's options\n"
		    "  bxkd-replay --version\n"
		    "bxkd-replay COMMAND --help shows a command's options.\n");
}

static const struct subcommand *find_subcommand(const char *name)
{
	for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
		if (!strcmp(name, subcommands[i].name))
			return &subcommands[i];
	return NULL;
}

/* Runs a subcommand, its messages carrying its name: "bxkd-replay verify: ...". */
static int run_subcommand(const struct subcommand *c, int argc, char **argv)
{
	bxkd_set_program(c->program);
	return c->run(argc, argv);
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "help") || !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

int main(int argc, char **argv)
{
	bxkd_set_program("bxkd-replay");
	if (argc < 2) {
		usage(stderr);
		return REPLAY_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("bxkd-replay (bxkd) %s\n", PACKAGE_VERSION);
		return 0;
	}
	const struct subcommand *c = find_subcommand(is_help(argv[1]) && argc > 2 ? argv[2] : argv[1]);
	if (is_help(argv[1]) && c)
		return run_subcommand(c, 2, (char *[]){ argv[2], "--help", NULL });
	if (is_help(argv[1]) && argc == 2) {
		usage(stdout);
		return 0;
	}
	if (c)
		return run_subcommand(c, argc - 1, argv + 1);
	bxkd_warn("no command '%s'", is_help(argv[1]) ? argv[2] : argv[1]);
	usage(stderr);
	return REPLAY_EXIT_USAGE;
}
