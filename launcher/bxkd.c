/*
 * bxkd -- one command for a debuggable VM:
 *
 *   bxkd run [IMAGE] [options]   boot a kernel under Bochs with a KD transport
 *   bxkd demo [--serial]         a scripted debug session, shown as it happens
 *   bxkd bench [options]         serial, the shared page and the fast path timed
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bxkd.h"

/* ---- shared by run and demo ------------------------------------------------------ */

int bxkd_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bxkd_program());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(%s --help for the options)\n", bxkd_program());
	return BXKD_EXIT_USAGE;
}

bool bxkd_parse_arch(const char *name, bool *x64)
{
	if (strcmp(name, "x86") && strcmp(name, "x64"))
		return false;
	*x64 = !strcmp(name, "x64");
	return true;
}

char *bxkd_make_workdir(const char *asked, const char *template)
{
	if (!asked) {
		char *dir = bxkd_strdup(template);
		if (!mkdtemp(dir)) {
			bxkd_warn("mkdtemp: %s", strerror(errno));
			free(dir);
			return NULL;
		}
		return dir;
	}
	char *absolute = NULL;
	if (!bxvm_make_directories(asked) || !(absolute = realpath(asked, NULL)))
		bxkd_warn("cannot create the work directory %s: %s", asked, strerror(errno));
	return absolute;
}

static int remove_entry(const char *path, const struct stat *st, int kind, struct FTW *where)
{
	(void)st;
	(void)kind;
	(void)where;
	if (remove(path) != 0)
		bxkd_warn("cannot remove %s: %s", path, strerror(errno));
	return 0;
}

bool bxkd_end_workdir(const char *workdir, bool made_here, bool keep)
{
	if (!workdir || !made_here || keep)
		return false;
	/* Depth first, and symbolic links (to a foreign image, a recording)
	 * removed, never followed. */
	nftw(workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return access(workdir, F_OK) != 0;
}

bool bxkd_bochs_usable(void)
{
	if (access(bxkd_bochs(), X_OK) == 0)
		return true;
	bxkd_warn("cannot run Bochs (%s): %s; install Debian's bochs, bochs-sdl and bochsbios "
		  "(scripts/setup-debian.sh), or set BXKD_BOCHS",
		  bxkd_bochs(), strerror(errno));
	return false;
}

bool bxkd_symbols_each(const char *symbols_path, bxkd_symbol_fn each, void *ctx)
{
	FILE *f = symbols_path ? fopen(symbols_path, "r") : NULL;
	char line[512], name[256], type;
	uint64_t address;
	bool more = true;

	if (!f)
		return false;
	while (more && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 " %c %255s", &address, &type, name) == 3)
			more = each(ctx, address, type, name);
	}
	fclose(f);
	return true;
}

struct symbol_wanted {
	const char *name;
	uint64_t address;
};

static bool find_symbol(void *ctx, uint64_t address, char type, const char *name)
{
	struct symbol_wanted *w = ctx;

	(void)type;
	if (strcmp(name, w->name))
		return true;
	w->address = address;
	return false;
}

uint64_t bxkd_symbol(const char *symbols_path, const char *symbol)
{
	struct symbol_wanted wanted = { symbol, 0 };

	bxkd_symbols_each(symbols_path, find_symbol, &wanted);
	return wanted.address;
}

/* ---- the command ------------------------------------------------------------------ */

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
		"  bench             time memory reads over serial, the shared page and the\n"
		"                    device's fast path side by side; a table, CSV, JSON, a plot\n"
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
	if (!strcmp(command, "run")) {
		bxkd_set_program("bxkd run");
		return bxkd_run_main(argc - 1, argv + 1);
	}
	if (!strcmp(command, "demo")) {
		bxkd_set_program("bxkd demo");
		return bxkd_demo_main(argc - 1, argv + 1);
	}
	if (!strcmp(command, "bench")) {
		bxkd_set_program("bxkd bench");
		return bxkd_bench_main(argc - 1, argv + 1);
	}
	if (!strcmp(command, "help") || !strcmp(command, "--help") || !strcmp(command, "-h")) {
		if (argc > 2 && !strcmp(argv[2], "run"))
			return bxkd_run_main(2, (char *[]){ "run", "--help", NULL });
		if (argc > 2 && !strcmp(argv[2], "demo"))
			return bxkd_demo_main(2, (char *[]){ "demo", "--help", NULL });
		if (argc > 2 && !strcmp(argv[2], "bench"))
			return bxkd_bench_main(2, (char *[]){ "bench", "--help", NULL });
		usage(stdout);
		return BXKD_EXIT_PASSED;
	}
	if (!strcmp(command, "version") || !strcmp(command, "--version")) {
		printf("bxkd (bxkd) %s\n", PACKAGE_VERSION);
		return BXKD_EXIT_PASSED;
	}
	bxkd_warn("unknown command '%s'", command);
	usage(stderr);
	return BXKD_EXIT_USAGE;
}
