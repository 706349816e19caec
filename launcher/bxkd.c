/*
 * bxkd -- one command for a debuggable VM:
 *
 *   bxkd run [IMAGE] [options]   boot a kernel under Bochs with a KD transport
 *   bxkd demo [--serial]         a scripted debug session, shown as it happens
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bxkd.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bxkd COMMAND [options]\n"
		"\n"
		"  run [IMAGE]       boot IMAGE (default: the bxkd test kernel) under Bochs with\n"
		"                    the vmport plugin and a kernel-debug transport, and say\n"
		"                    where to attach a debugger\n"
		"  demo [--serial]   boot the test kernel, debug it with bxkd-dbg through bxkd-tap\n"
		"                    and show the session: commands, KD packets, prints, timing\n"
		"  help [COMMAND]    this text, or a command's options\n"
		"  version           bxkd's version\n"
		"\n"
		"bxkd COMMAND --help shows a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return BXKD_EXIT_USAGE;
	}
	const char *command = argv[1];
	if (!strcmp(command, "run"))
		return bxkd_run_main(argc - 1, argv + 1);
	if (!strcmp(command, "demo"))
		return bxkd_demo_main(argc - 1, argv + 1);
	if (!strcmp(command, "help") || !strcmp(command, "--help") || !strcmp(command, "-h")) {
		if (argc > 2 && !strcmp(argv[2], "run"))
			return bxkd_run_main(2, (char *[]){ "run", "--help", NULL });
		if (argc > 2 && !strcmp(argv[2], "demo"))
			return bxkd_demo_main(2, (char *[]){ "demo", "--help", NULL });
		usage(stdout);
		return BXKD_EXIT_PASSED;
	}
	if (!strcmp(command, "version") || !strcmp(command, "--version")) {
		printf("bxkd %s\n", PACKAGE_VERSION);
		return BXKD_EXIT_PASSED;
	}
	fprintf(stderr, "bxkd: unknown command '%s'\n", command);
	usage(stderr);
	return BXKD_EXIT_USAGE;
}
