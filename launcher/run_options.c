/*
 * run_options.c -- `bxkd run`'s command line (run.h): its help text, each
 * option checked as it comes, and what they may not be together.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bxkd.h"
#include "bxkd/kdidentity.h"
#include "run.h"

/* The identities --os takes, "2600.2, 2600.3 (default), ...", with a new
 * line and `indent` instead of a space where a line would pass 80
 * columns; `column` is where the text starts. */
static void identity_list(char *out, size_t size, const char *indent, size_t column)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < KD_IDENTITY_COUNT; i++) {
		const struct kd_identity *id = &kd_identities[i];
		char item[40];
		size_t length = (size_t)snprintf(item, sizeof(item), "%u.%u%s%s", id->build,
						 id->service_pack,
						 id == KD_IDENTITY_DEFAULT ? " (default)" : "",
						 i + 1 < KD_IDENTITY_COUNT ? "," : "");
		bool wrap = i && column + 1 + length > 80;
		const char *gap = !i ? "" : wrap ? "\n" : " ";
		int n = snprintf(out + used, size - used, "%s%s%s", gap, wrap ? indent : "", item);
		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
		column = (wrap ? strlen(indent) : column + (i ? 1 : 0)) + length;
	}
}

/* The value of the word `arch=VALUE` in boot options TEXT, into `value`;
 * false when there is none. */
static bool boot_option_arch(const char *text, char *value, size_t size)
{
	for (const char *word = text; *word;) {
		word += strspn(word, " ");
		size_t length = strcspn(word, " ");
		if (length > 5 && !strncmp(word, "arch=", 5)) {
			snprintf(value, size, "%.*s", (int)(length - 5), word + 5);
			return true;
		}
		word += length;
	}
	return false;
}

/* Our image holds both kernels and the boot option arch= chooses (guest/
 * boot/floppy.asm): -o's arch= decides as --arch does, and the two must
 * agree. */
static int take_boot_option_arch(struct run_options *o)
{
	char value[64];

	if (!o->boot_options || !boot_option_arch(o->boot_options, value, sizeof(value)))
		return 0;
	bool x64;
	if (!bxkd_parse_arch(value, &x64))
		return bxkd_usage_error("boot option arch=%s: our image's kernels are arch=x86 (the "
					"default) and arch=x64",
					value);
	if (o->arch && x64 != o->x64)
		return bxkd_usage_error("--arch %s and the boot option arch=%s disagree", o->arch,
					value);
	o->x64 = x64;
	o->arch_in_boot_options = true;
	return 0;
}

static void usage(FILE *out)
{
	char identities[400];

	identity_list(identities, sizeof(identities), "                          ", 26);
	fprintf(out,
		"usage: bxkd run [IMAGE] [options]\n"
		"Boots IMAGE (default: the bxkd test kernel) under Bochs with the vmport plugin\n"
		"and a kernel-debug transport, says where to attach a debugger, shows the\n"
		"guest's console as it comes and exits with the guest's status.\n"
		"\n"
		"  --arch x86|x64          our 32-bit kernel (default) or our x86-64 kernel\n"
		"                          (long mode, linked at 0xfffff80000100000): the\n"
		"                          boot option arch=x86|x64, which also picks it\n"
		"  --transport vmport|dll|serial  the shared page on the VMware backdoor\n"
		"                          (default), the same through the Windows KD DLL\n"
		"                          kdbxkd-x86.dll (x64: -x64.dll) loaded by our kernel,\n"
		"                          or KDCOM on COM1\n"
		"  -e, --endpoint SPEC     where the debugger attaches (pipe-bridge syntax):\n"
		"                          unix:PATH, tcp:[HOST:]PORT, connect:PATH,\n"
		"                          tcp-connect:HOST:PORT, pty[:LINK], tty:DEVICE, none;\n"
		"                          default unix:WORKDIR/kd.sock\n"
		"  -b, --break             stop at the kernel's initial breakpoint (kd_break=1)\n"
		"      --rounds N          clock ticks of work (100 Hz; the kernel's default 100)\n"
		"      --os BUILD[.SP]     the Windows build and service pack the kernel reports\n"
		"                          to debuggers (kd_os=), one of\n"
		"                          %s\n"
		"      --gui               open Bochs' SDL2 window (default: headless)\n"
		"      --bochs-debugger    start in Bochs' own debugger with the kernel's names\n"
		"      --debugger-commands FILE  run FILE's Bochs debugger commands first\n"
		"  -w, --workdir DIR       bochsrc, log, image copy, trace (default: a new\n"
		"                          directory under /tmp, removed at the end unless the\n"
		"                          run failed or --keep is given)\n"
		"  -k, --keep              keep the default work directory\n"
		"  -o, --boot-options TEXT boot options instead of kernel=workload kd=TRANSPORT\n"
		"                          (--break and --rounds are still added)\n"
		"  -c, --config LINE       append LINE to the bochsrc (repeatable)\n"
		"  -t, --timeout SECONDS   stop Bochs after this long (default: no limit)\n"
		"  -r, --record FILE       record the session (vmport, dll) for\n"
		"                          bxkd-replay verify, dump and serve\n"
		"      --fastpath          (vmport, dll) the device answers ReadVirtualMemory and\n"
		"                          ReadPhysicalMemory from guest memory itself while the\n"
		"                          kernel waits for a request (vmport: kd_fastpath=1)\n"
		"      --no-status         no live status line (debugger attached, packets each\n"
		"                          way, resets, retransmissions) while the VM runs\n"
		"  -h, --help              this text\n"
		"\n"
		"Our kernel is given `kernel=workload kd=TRANSPORT` as boot options (after\n"
		"arch=x64 with --arch x64: one image holds both kernels); another\n"
		"image (1474560 bytes: a floppy, anything else: an IDE disk) boots as it is and\n"
		"must bring its own transport (the KD DLL on vmport, KDCOM on COM1).\n"
		"Exit status: 0 when our kernel reports BXKD SUMMARY ... failed=0 and shuts\n"
		"down (another image: 0 when it shuts the machine down, else Bochs' status),\n"
		"1 otherwise, 2 on bad arguments.\n",
		identities);
}

enum { OPT_TRANSPORT = 256, OPT_ROUNDS, OPT_GUI, OPT_BOCHS_DEBUGGER, OPT_OS, OPT_FASTPATH,
       OPT_NO_STATUS, OPT_DEBUGGER_COMMANDS, OPT_ARCH };

static bool take_option(void *ctx, int key, char *value)
{
	struct run_options *o = ctx;

	switch (key) {
	case 'r':
		if (strchr(value, ','))
			return bxkd_option_refused("bad --record '%s': the bochsrc's vmport: line "
						 "cannot carry a comma",
						 value);
		o->record = value;
		break;
	case OPT_TRANSPORT:
		if (!strcmp(value, "vmport"))
			o->transport = OVER_VMPORT;
		else if (!strcmp(value, "serial"))
			o->transport = OVER_SERIAL;
		else if (!strcmp(value, "dll"))
			o->transport = OVER_DLL;
		else
			return bxkd_option_refused("--transport is vmport, dll or serial, not '%s'",
						   value);
		break;
	case 'e':
		o->endpoint = value;
		break;
	case 'b':
		o->kd_break = true;
		break;
	case OPT_ROUNDS:
		if (!bxkd_parse_count(value, 1000000000ul, &o->rounds))
			return bxkd_option_refused("--rounds wants 1..1000000000 clock ticks, not '%s'",
						 value);
		break;
	case OPT_OS:
		if (!kd_identity_parse(value, strlen(value))) {
			char identities[400];
			identity_list(identities, sizeof(identities), "  ", 2);
			return bxkd_option_refused("--os wants BUILD[.SP] of a Windows the kernel "
						 "can claim, not '%s'; one of\n  %s",
						 value, identities);
		}
		o->os = value;
		break;
	case OPT_ARCH:
		if (!bxkd_parse_arch(value, &o->x64))
			return bxkd_option_refused("--arch is x86 or x64, not '%s'", value);
		o->arch = value;
		break;
	case OPT_GUI:
		o->gui = true;
		break;
	case OPT_BOCHS_DEBUGGER:
		o->bochs_debugger = true;
		break;
	case OPT_DEBUGGER_COMMANDS:
		o->debugger_commands = value;
		o->bochs_debugger = true;
		break;
	case OPT_FASTPATH:
		o->fastpath = true;
		break;
	case OPT_NO_STATUS:
		o->no_status = true;
		break;
	case 'w':
		o->workdir = value;
		break;
	case 'k':
		o->keep = true;
		break;
	case 'o':
		o->boot_options = value;
		break;
	case 'c':
		bxkd_text_printf(&o->config, "%s\n", value);
		break;
	case 't':
		if (!bxkd_parse_count(value, 86400, &o->timeout))
			return bxkd_option_refused("--timeout wants 1..86400 seconds, not '%s'", value);
		break;
	}
	return true;
}

int run_parse_options(int argc, char **argv, struct run_options *o)
{
	static const struct option options[] = {
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "transport", required_argument, NULL, OPT_TRANSPORT },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "break", no_argument, NULL, 'b' },
		{ "rounds", required_argument, NULL, OPT_ROUNDS },
		{ "os", required_argument, NULL, OPT_OS },
		{ "gui", no_argument, NULL, OPT_GUI },
		{ "bochs-debugger", no_argument, NULL, OPT_BOCHS_DEBUGGER },
		{ "debugger-commands", required_argument, NULL, OPT_DEBUGGER_COMMANDS },
		{ "workdir", required_argument, NULL, 'w' },
		{ "keep", no_argument, NULL, 'k' },
		{ "boot-options", required_argument, NULL, 'o' },
		{ "config", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "record", required_argument, NULL, 'r' },
		{ "fastpath", no_argument, NULL, OPT_FASTPATH },
		{ "no-status", no_argument, NULL, OPT_NO_STATUS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int status = bxkd_cli_parse(argc, argv, options, 0, -1, take_option, o, usage);

	if (status != BXKD_CLI_GO_ON)
		return status == BXKD_CLI_EXIT_HELP ? -1 : status;
	if (optind < argc)
		o->image = argv[optind++];
	if (optind < argc)
		return bxkd_usage_error("one image at most; '%s' is one too many", argv[optind]);
	int arch_status = take_boot_option_arch(o);
	if (arch_status)
		return arch_status;
	const struct kd_identity *os = o->os ? kd_identity_parse(o->os, strlen(o->os)) : NULL;
	if (o->x64 && os && !os->x64)
		return bxkd_usage_error("--os %s: %s had no x64 edition a debugger has a profile for",
					o->os, os->windows);
	if (o->fastpath && o->transport == OVER_SERIAL)
		return bxkd_usage_error("--fastpath is the device's: it needs --transport vmport or dll");
	if (o->debugger_commands && access(o->debugger_commands, R_OK) != 0)
		return bxkd_usage_error("cannot read --debugger-commands %s: %s",
					o->debugger_commands, strerror(errno));
	/* Rather than Bochs' panic at SDL2's failure to open a window. */
	if (o->gui && !getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY"))
		return bxkd_usage_error("--gui needs a display (DISPLAY is not set): run it in a "
					"desktop session or under xvfb-run, or without --gui");
	if (o->record && o->transport == OVER_SERIAL)
		return bxkd_usage_error("--record records the shared page's backdoor calls: it needs "
					"--transport vmport or dll (on serial, bxkd-tap's trace "
					"WORKDIR/kd-trace.txt shows the KDCOM traffic)");
	/* A --config line's kd_endpoint is the one the device takes (Bochs
	 * keeps the last), so it is the one to print and wait for. */
	static char from_config[400];
	if (o->transport != OVER_SERIAL &&
	    run_config_endpoint(o->config.data, from_config, sizeof(from_config))) {
		if (o->endpoint && strcmp(o->endpoint, from_config))
			bxkd_warn("--config's kd_endpoint=%s overrides --endpoint %s", from_config,
				  o->endpoint);
		o->endpoint = from_config;
	}
	return 0;
}
