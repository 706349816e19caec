/*
 * bxkd-run -- boot a bxkd guest image under Bochs with the vmport plugin and
 * show what the guest printed. The demo uses it; so can anyone who wants to
 * see a guest run without writing a test.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "bxh.h"
#include "cli.h"
#include "log.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bxkd-run [options] IMAGE\n"
		"Boots IMAGE (a bxkd guest floppy) under %s with the vmport plugin,\n"
		"prints the guest's console and how the run ended.\n"
		"\n"
		"  -w, --workdir DIR        keep bochsrc, log and image copy in DIR\n"
		"                           (default: a new directory under /tmp)\n"
		"  -o, --boot-options TEXT  options for the guest, e.g. selftest=trap\n"
		"  -c, --config LINE        append LINE to the bochsrc (repeatable), e.g.\n"
		"                           'vmport: vmx_type=esx'\n"
		"  -t, --timeout SECONDS    wall-clock limit (default %u)\n"
		"  -n, --no-plugin          boot without the vmport plugin\n"
		"  -h, --help               this text\n"
		"\n"
		"Exit status: 0 if every guest test passed, 1 otherwise, 2 on usage errors.\n",
		BOCHS_BIN, BXH_DEFAULT_TIMEOUT_SECONDS);
}

/* What the vmport device said in Bochs' log, so a run shows the plugin at work. */
static void print_device_log(const char *log)
{
	bool header = false;

	for (const char *line = log; line && *line;) {
		size_t len = strcspn(line, "\n");
		const char *tag = strstr(line, "[VMPORT]");
		if (tag && tag < line + len) {
			if (!header)
				printf("-- vmport device, from Bochs' log:\n");
			header = true;
			printf("%.*s\n", (int)len, line);
		}
		line += len + (line[len] == '\n');
	}
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "workdir", required_argument, NULL, 'w' },
		{ "boot-options", required_argument, NULL, 'o' },
		{ "config", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-plugin", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bxh_options options;
	char tmp_workdir[] = "/tmp/bxkd-run.XXXXXX";
	struct bxkd_text config = { 0 };
	int c;

	bxkd_set_program("bxkd-run");
	bxh_options_init(&options);
	while ((c = getopt_long(argc, argv, "w:o:c:t:nh", long_options, NULL)) != -1) {
		switch (c) {
		case 'w':
			options.workdir = optarg;
			break;
		case 'o':
			options.boot_options = optarg;
			break;
		case 'c':
			bxkd_text_printf(&config, "%s\n", optarg);
			options.extra_config = config.data;
			break;
		case 't': {
			unsigned long seconds;
			if (!bxkd_parse_count(optarg, 86400, &seconds)) {
				bxkd_warn("--timeout wants 1..86400 seconds, not '%s'", optarg);
				return 2;
			}
			options.timeout_seconds = (unsigned)seconds;
			break;
		}
		case 'n':
			options.load_plugin = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	options.image = argv[optind];
	if (!options.workdir) {
		if (!mkdtemp(tmp_workdir)) {
			bxkd_warn("mkdtemp: %s", strerror(errno));
			return 1;
		}
		options.workdir = tmp_workdir;
	}

	struct bxh_run run;
	bool passed = bxh_boot(&options, &run);
	fputs(run.console ? run.console : "", stdout);
	print_device_log(run.log);
	if (passed) {
		printf("bxkd-run: %zu guest tests passed; Bochs stopped at tick %" PRIu64
		       " after %.2f s; log in %s/bochs.log\n",
		       run.report.test_count, run.report.final_tick, run.wall_seconds, run.workdir);
	} else {
		char *why = bxh_explain(&run);
		fprintf(stderr, "%s: %s", bxkd_program(), why);
		free(why);
	}
	bxh_run_free(&run);
	bxkd_text_free(&config);
	return passed ? 0 : 1;
}
