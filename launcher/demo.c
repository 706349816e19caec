/*
 * demo.c -- `bxkd demo`: the test kernel debugged end to end, shown as it
 * happens.
 *
 *   Bochs (our kernel, kd_break=1) -- VM endpoint -- bxkd-tap -- socket -- bxkd-dbg
 *
 * The VM endpoint is the plugin's kd_endpoint (vmport) or Bochs' COM1
 * (--serial). bxkd-dbg runs the session script (tests/sessions/
 * debug-session.bxkd) one command at a time, so that each command, the KD
 * packets the tap decodes for it, the guest's prints and the answer appear
 * in the order they happen. The full decoded trace is kept in kd-trace.txt.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo.h"

/* bxkd-dbg's limit per command: the first waits for Bochs to boot. */
#define DBG_TIMEOUT "60"
#define DEFAULT_TIMEOUT_SECONDS 120
/* How long the tap may take to open its socket for bxkd-dbg. */
#define TAP_START_MS 3000

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bxkd demo [--serial] [--arch x86|x64] [options]\n"
		"Boots the bxkd test kernel with its initial breakpoint, puts bxkd-tap between\n"
		"the VM's kernel-debug endpoint and bxkd-dbg, runs the session script and\n"
		"shows each command with its answer, the KD requests and replies in between,\n"
		"the kernel's prints, the time taken and the kernel's result line.\n"
		"\n"
		"  --serial                KDCOM on COM1 (the baseline) instead of the shared page\n"
		"  --arch x86|x64          the 32-bit kernel (default) or the x86-64 one, an AMD64\n"
		"                          target, with its script debug-session-x64.bxkd\n"
		"  --verbose               every KDCOM frame: ACKs, RESETs and break-ins too, with\n"
		"                          a note where the attach makes the first stop appear twice\n"
		"  --bytes                 each frame's bytes in hex under its line\n"
		"  -w, --workdir DIR       bochsrc, log, trace (default: a new directory under /tmp,\n"
		"                          removed at the end unless the demo failed or --keep)\n"
		"  -k, --keep              keep the default work directory\n"
		"  -s, --script FILE       another bxkd-dbg script (default: debug-session.bxkd,\n"
		"                          or debug-session-x64.bxkd)\n"
		"  -t, --timeout SECONDS   give up after this long (default %d)\n"
		"  -h, --help              this text\n"
		"\n"
		"Exit status: 0 if every command and the kernel passed, 1 otherwise, 2 on usage.\n",
		DEFAULT_TIMEOUT_SECONDS);
}

/* ---- the script ------------------------------------------------------------------ */

/* The commands as bxkd-dbg reads them: '#' starts a comment, blank lines
 * are nothing. */
static bool load_script(const char *path, struct script *s)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	memset(s, 0, sizeof(*s));
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *start = line + strspn(line, " \t\r\n");
		size_t length = strlen(start);
		while (length && strchr(" \t\r\n", start[length - 1]))
			start[--length] = '\0';
		if (!length)
			continue;
		s->commands = bxkd_xrealloc(s->commands, (s->count + 1) * sizeof(*s->commands));
		s->commands[s->count++] = bxkd_strdup(start);
	}
	fclose(f);
	return true;
}

static void free_script(struct script *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->commands[i]);
	free(s->commands);
}

static char *need(enum bxkd_file file, const char *what)
{
	char looked[700];
	char *path = bxkd_locate(file, looked, sizeof(looked));

	if (!path)
		bxkd_warn("%s is not in %s: build it (make) or install it (make install)", what,
			  looked);
	return path;
}

static void print_tail_of(const char *path, const char *what)
{
	char *text = bxvm_read_file(path, NULL);

	if (text && *text) {
		printf("  %s said:\n", what);
		bxvm_print_tail(stdout, text, 8);
	}
	free(text);
}

/* Replays the recorded session with bxkd-replay verify (no debugger, the
 * answers from the file) and shows how it went next to the live run. */
static bool replay_recording(const char *replay_program, const char *recording,
			     const char *workdir, double live_seconds)
{
	char *log = bxkd_asprintf("%s/replay.log", workdir);
	char *replay_dir = bxkd_asprintf("%s/replay", workdir);
	char *argv[] = { (char *)replay_program, "verify", (char *)recording, "--workdir",
			 replay_dir, NULL };
	struct bxkd_process p = { 0 };
	bool matched = false;

	printf("replay: bxkd-replay verify %s\n", recording);
	int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	double started = bxkd_now();
	struct bxkd_spawn how = { .in = BXKD_FD_NULL, .out = out, .err = out,
				  .flags = BXKD_PROCESS_DEFAULT_SIGNALS };
	if (out >= 0 && bxkd_process_start(&p, argv, &how)) {
		if (!bxkd_process_wait(&p, 120000))
			bxkd_process_stop(&p, 1000);
		matched = p.status == 0;
	}
	double replay_seconds = bxkd_now() - started;
	if (out >= 0)
		close(out);
	char *said = bxvm_read_file(log, NULL);
	for (const char *line = said ? said : ""; *line;) {
		size_t length = strcspn(line, "\n");
		demo_say("       ", line, length);
		line += length + (line[length] == '\n');
	}
	if (matched)
		printf("time:  live session %.2f s wall (Bochs with the debugger); its replay "
		       "%.2f s wall (Bochs with the answers from the file)\n",
		       live_seconds, replay_seconds);
	else
		printf("bxkd demo: FAILED: the replay of the recorded session did not match "
		       "(exit status %d; %s)\n", p.status, log);
	free(said);
	free(replay_dir);
	free(log);
	return matched;
}

/* ---- prepare: the options, our files, the machine ------------------------------------------ */

enum { OPT_SERIAL = 256, OPT_VERBOSE, OPT_BYTES, OPT_ARCH };

struct demo_options {
	struct demo *d;
	const char **script, **workdir;
};

static bool take_option(void *ctx, int key, char *value)
{
	struct demo_options *o = ctx;

	switch (key) {
	case OPT_SERIAL:
		o->d->serial = true;
		break;
	case OPT_VERBOSE:
		o->d->verbose = true;
		break;
	case OPT_ARCH:
		if (!bxkd_parse_arch(value, &o->d->x64)) {
			bxkd_warn("--arch is x86 or x64, not '%s'", value);
			return false;
		}
		break;
	case OPT_BYTES:
		o->d->bytes = true;
		break;
	case 'w':
		*o->workdir = value;
		break;
	case 'k':
		o->d->keep = true;
		break;
	case 's':
		*o->script = value;
		break;
	case 't':
		if (!bxkd_parse_count(value, 86400, &o->d->timeout_seconds)) {
			bxkd_warn("--timeout wants 1..86400 seconds, not '%s'", value);
			return false;
		}
		break;
	}
	return true;
}

/* The options; 0 to go on, else the exit status (-1: --help, done). */
static int parse(int argc, char **argv, struct demo *d, const char **script, const char **workdir)
{
	static const struct option options[] = {
		{ "serial", no_argument, NULL, OPT_SERIAL },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "bytes", no_argument, NULL, OPT_BYTES },
		{ "workdir", required_argument, NULL, 'w' },
		{ "keep", no_argument, NULL, 'k' },
		{ "script", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct demo_options o = { d, script, workdir };
	int status = bxkd_cli_parse(argc, argv, options, 0, -1, take_option, &o, usage);

	if (status != BXKD_CLI_GO_ON)
		return status == BXKD_CLI_EXIT_HELP ? -1 : status;
	if (optind < argc) {
		bxkd_warn("unexpected argument '%s' (bxkd demo --help)", argv[optind]);
		return BXKD_EXIT_USAGE;
	}
	return 0;
}

/* Bochs, the kernel, the tools and the script; 0 or an exit status. */
static int find_what_it_needs(struct demo *d, const char *script)
{
	if (!bxkd_bochs_usable())
		return BXKD_EXIT_FAILED;
	if (!(d->image = need(BXKD_FILE_GUEST_IMAGE, "the test kernel (bxkd-guest.img)")) ||
	    !(d->symbols = d->x64 ? need(BXKD_FILE_GUEST64_SYMBOLS,
					 "the x86-64 kernel's symbols (kernel-x64.symbols)")
				  : need(BXKD_FILE_GUEST_SYMBOLS, "its symbols (kernel.symbols)")) ||
	    !(d->tap_program = need(BXKD_FILE_TAP, "bxkd-tap")) ||
	    !(d->dbg_program = need(BXKD_FILE_DBG, "bxkd-dbg")) ||
	    !(d->plugin_dir = need(BXKD_FILE_PLUGIN_DIR, "the vmport plugin (libbx_vmport.so)")))
		return BXKD_EXIT_FAILED;
	if (!d->serial && !(d->replay_program = need(BXKD_FILE_REPLAY, "bxkd-replay")))
		return BXKD_EXIT_FAILED;
	d->session = script     ? bxkd_strdup(script)
		     : d->x64 ? need(BXKD_FILE_SESSION64, "the x86-64 session script")
			      : need(BXKD_FILE_SESSION, "the session script");
	if (!d->session)
		return BXKD_EXIT_FAILED;
	if (!load_script(d->session, &d->script)) {
		bxkd_warn("cannot read the script %s: %s", d->session, strerror(errno));
		return BXKD_EXIT_USAGE;
	}
	if (!d->script.count) {
		bxkd_warn("the script %s has no commands", d->session);
		return BXKD_EXIT_USAGE;
	}
	return 0;
}

/* The work directory, and the sockets in a short directory of their own
 * (108-byte paths). */
static bool make_places(struct demo *d, const char *workdir)
{
	d->workdir = bxkd_make_workdir(workdir, "/tmp/bxkd-demo.XXXXXX");
	d->made_workdir = !workdir;
	if (!d->workdir)
		return false;
	d->sockdir = bxkd_make_workdir(NULL, "/tmp/bxkd-demo-kd.XXXXXX");
	if (!d->sockdir)
		return false;
	d->dbg_socket = bxkd_asprintf("%s/dbg.sock", d->sockdir);
	if (d->serial) {
		unsigned port = bxkd_free_port("127.0.0.1");
		d->config = bxkd_asprintf("com1: enabled=1, mode=socket-server, dev=127.0.0.1:%u\n", port);
		d->tap_target = bxkd_asprintf("tcp-connect:127.0.0.1:%u", port);
	} else {
		d->config = bxkd_asprintf("vmport: kd_endpoint=unix:%s/vm.sock\n", d->sockdir);
		d->tap_target = bxkd_asprintf("connect:%s/vm.sock", d->sockdir);
	}
	return true;
}

/* Our kernel's patched copy and its bochsrc. On the shared page the
 * session is recorded, to be replayed at the end, and the image it boots
 * kept beside it for bxkd-replay. */
static bool write_machine(struct demo *d)
{
	char why[800];

	d->boot = bxkd_asprintf("%skernel=workload kd=%s kd_break=1", d->x64 ? "arch=x64 " : "",
				d->serial ? "serial" : "vmport");
	d->copy = bxkd_asprintf("%s/guest.img", d->workdir);
	if (!bxvm_copy_image(d->image, d->boot, d->copy, why, sizeof(why))) {
		bxkd_warn("%s", why);
		return false;
	}
	if (!d->serial) {
		d->recording = bxkd_asprintf("%s/session.pcap", d->workdir);
		char *kept = bxvm_keep_session_image(d->copy, d->recording, why, sizeof(why));
		if (!kept) {
			bxkd_warn("%s", why);
			return false;
		}
		free(kept);
		char *recording =
			bxvm_recording_config(d->workdir, d->recording, d->copy, why, sizeof(why));
		if (!recording) {
			bxkd_warn("%s", why);
			return false;
		}
		char *more = bxkd_asprintf("%s%s", d->config, recording);
		free(recording);
		free(d->config);
		d->config = more;
	}
	struct bxvm_machine machine;
	bxvm_machine_init(&machine);
	machine.written_by = "bxkd demo (launcher/demo.c)";
	machine.image = d->copy;
	machine.long_mode = d->x64;
	machine.extra_config = d->config;
	d->bochsrc = bxvm_write_machine(&machine, d->workdir, why, sizeof(why));
	if (!d->bochsrc)
		bxkd_warn("%s", why);
	return d->bochsrc != NULL;
}

static void announce(const struct demo *d)
{
	printf("bxkd demo: the %s test kernel (%s) under Bochs, debugged over %s\n",
	       d->x64 ? "x86-64" : "32-bit", d->boot,
	       d->serial ? "KDCOM on the emulated COM1 (the serial baseline)"
			 : "the shared page on the VMware backdoor (vmport)");
	printf("  Bochs (%s %s) <-> bxkd-tap <-> %s <-> bxkd-dbg\n",
	       d->serial ? "COM1 listening on" : "kd_endpoint listening on",
	       strchr(d->tap_target, ':') + 1, d->dbg_socket);
	printf("  script %s\n", d->session);
	if (d->recording)
		printf("  the session is recorded in %s and replayed at the end\n", d->recording);
	printf("  bochsrc, bochs.log and the full KD trace (kd-trace.txt) in %s%s\n", d->workdir,
	       d->made_workdir && !d->keep ? " (removed at the end unless the demo fails; --keep "
					     "keeps it)"
					   : "");
	printf("  (kd -> the debugger's packets to the kernel, kd <- the kernel's; %s)\n",
	       d->verbose ? "every frame" : "ACKs and the like only in the trace, or with --verbose");
}

/* Everything before anything runs; 0 or an exit status. */
static int prepare(struct demo *d, int argc, char **argv)
{
	const char *script = NULL, *workdir = NULL;
	int status = parse(argc, argv, d, &script, &workdir);

	if (status)
		return status;
	setvbuf(stdout, NULL, _IOLBF, 0);
	status = find_what_it_needs(d, script);
	if (status)
		return status;
	if (!make_places(d, workdir) || !write_machine(d))
		return BXKD_EXIT_FAILED;
	announce(d);
	return 0;
}

/* ---- launch: the tap and the debugger first, so that nothing the kernel
 * says at boot waits on a half-built chain, then Bochs ------------------------------------ */

static int open_log(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
}

/* Starts `program` with its standard output into a new pipe (*out) and
 * its standard error into `log`; its input is `in`. */
static bool start_piped(struct bxkd_process *p, char *const argv[], int in, int *out,
			const char *log)
{
	int pipe_fds[2];
	struct bxkd_spawn how = { .in = in, .err = open_log(log),
				  .flags = BXKD_PROCESS_OWN_GROUP | BXKD_PROCESS_DEFAULT_SIGNALS };
	bool ok = how.err >= 0 && pipe2(pipe_fds, O_CLOEXEC) == 0;

	if (ok) {
		how.out = pipe_fds[1];
		ok = bxkd_process_start(p, argv, &how);
		close(pipe_fds[1]);
		*out = pipe_fds[0];
	}
	if (how.err >= 0)
		close(how.err);
	return ok;
}

/* Up once its socket for bxkd-dbg is there. */
static bool start_tap(struct demo *d)
{
	char *listen = bxkd_asprintf("unix:%s", d->dbg_socket);
	char *argv[] = { d->tap_program, "--quiet", d->tap_target, listen,
			 d->bytes ? "--bytes" : NULL, NULL };
	struct stat st;
	bool started = start_piped(&d->tap, argv, BXKD_FD_NULL, &d->tap_out, d->tap_log);

	free(listen);
	for (int waited = 0; started && waited < TAP_START_MS && stat(d->dbg_socket, &st) != 0;
	     waited += 10) {
		if (bxkd_process_done(&d->tap))
			break;
		bxkd_sleep_ms(10);
	}
	if (started && stat(d->dbg_socket, &st) == 0)
		return true;
	printf("bxkd demo: bxkd-tap did not start\n");
	print_tail_of(d->tap_log, "bxkd-tap");
	return false;
}

static bool start_debugger(struct demo *d)
{
	char *target = bxkd_asprintf("connect:%s", d->dbg_socket);
	char *argv[] = { d->dbg_program, "--json",    "--quiet",  "--symbols", d->symbols,
			 "--timeout",    DBG_TIMEOUT, "--target", target,	 NULL };
	int in[2];
	bool started = pipe2(in, O_CLOEXEC) == 0;

	if (started) {
		started = start_piped(&d->dbg, argv, in[0], &d->dbg_out, d->dbg_log);
		close(in[0]);
		d->dbg_in = in[1];
	}
	free(target);
	if (!started)
		printf("bxkd demo: cannot start %s: %s\n", d->dbg_program, strerror(errno));
	return started;
}

static bool launch(struct demo *d)
{
	char why[800];
	char *trace_path = bxkd_asprintf("%s/kd-trace.txt", d->workdir);

	bxkd_catch_signals(false);
	d->trace = fopen(trace_path, "w");
	free(trace_path);
	d->tap_log = bxkd_asprintf("%s/kd-tap.log", d->workdir);
	d->dbg_log = bxkd_asprintf("%s/bxkd-dbg.log", d->workdir);
	if (!start_tap(d) || !start_debugger(d))
		return false;
	demo_send_next(d);
	struct bxvm_config vc = {
		.bochsrc = d->bochsrc,
		.workdir = d->workdir,
		.plugin_dir = d->plugin_dir,
		.display = BXVM_HEADLESS,
		/* COM1's client, the tap, leaves before the kernel ends. */
		.com1_serves_debugger = d->serial,
		.stop_grace_ms = 2000,
	};
	if (!bxvm_start(&d->vm, &vc, why, sizeof(why))) {
		printf("bxkd demo: %s\n", why);
		return false;
	}
	return true;
}

/* ---- verify: how it went -------------------------------------------------------------------- */

static void print_times(const struct demo *d)
{
	const struct bxvm *vm = &d->vm;

	if (d->first_sent && d->last_answer)
		printf("time:  %zu of %zu commands answered in %.3f s wall after the initial stop "
		       "(%.3f s from the first command, start-up and attaching included)\n",
		       d->answered, d->script.count, d->last_answer - d->first_answer,
		       d->last_answer - d->first_sent);
	if (vm->started && vm->ended)
		printf("       Bochs ran %.2f s wall", vm->ended - vm->started);
	if (vm->report.have_final_tick)
		printf("; the guest %.3f s emulated (%" PRIu64 " instructions at %u per second)",
		       (double)vm->report.final_tick / BXVM_DEFAULT_IPS, vm->report.final_tick,
		       BXVM_DEFAULT_IPS);
	if (vm->started && vm->ended)
		printf("\n");
}

static int verify(struct demo *d)
{
	const struct bxvm *vm = &d->vm;

	printf("--\n");
	print_times(d);
	if (vm->report.result_line)
		printf("%s\n", vm->report.result_line);
	if (d->timed_out)
		printf("bxkd demo: gave up after %lu s (--timeout)\n", d->timeout_seconds);
	if (d->failed || d->dbg.status != 0) {
		printf("bxkd demo: FAILED: the debugger session did not complete (%zu of %zu "
		       "commands answered, bxkd-dbg exit status %d)\n",
		       d->answered, d->script.count, d->dbg.status);
		print_tail_of(d->dbg_log, "bxkd-dbg");
		print_tail_of(d->tap_log, "bxkd-tap");
	}
	if (d->stopped_bochs) {
		printf("bxkd demo: Bochs was stopped: the kernel would wait for a debugger for "
		       "ever\n");
	} else if (vm->started && vm->outcome != BXVM_PASSED) {
		printf("bxkd demo: FAILED: the kernel: %s\n",
		       vm->interrupted ? "interrupted" : bxvm_outcome_name(vm->outcome));
		bxvm_explain(vm, stdout);
	}
	if (vm->started && vm->outcome == BXVM_PASSED && !d->failed && d->dbg.status == 0 &&
	    d->answered == d->script.count &&
	    (!d->recording || replay_recording(d->replay_program, d->recording, d->workdir,
						vm->ended - vm->started))) {
		printf("bxkd demo: passed\n");
		return BXKD_EXIT_PASSED;
	}
	return BXKD_EXIT_FAILED;
}

static void demo_free(struct demo *d)
{
	char *strings[] = { d->session,	   d->image,	  d->symbols,	  d->tap_program,
			    d->dbg_program, d->plugin_dir, d->replay_program, d->workdir,
			    d->dbg_socket,  d->tap_target, d->boot,	  d->copy,
			    d->config,	    d->bochsrc,	  d->recording,
			    d->tap_log,	    d->dbg_log,	  d->first_line };

	if (d->tap_out >= 0)
		close(d->tap_out);
	if (d->dbg_out >= 0)
		close(d->dbg_out);
	if (d->trace)
		fclose(d->trace);
	if (d->sockdir) {
		char *path = bxkd_asprintf("%s/vm.sock", d->sockdir);
		unlink(path);
		free(path);
		if (d->dbg_socket)
			unlink(d->dbg_socket);
		rmdir(d->sockdir);
		free(d->sockdir);
	}
	bxkd_text_free(&d->tap_lines.partial);
	bxkd_text_free(&d->dbg_lines.partial);
	free_script(&d->script);
	bxvm_free(&d->vm);
	for (size_t i = 0; i < sizeof(strings) / sizeof(*strings); i++)
		free(strings[i]);
}

int bxkd_demo_main(int argc, char **argv)
{
	struct demo d = { .timeout_seconds = DEFAULT_TIMEOUT_SECONDS,
			  .tap_out = -1, .dbg_out = -1, .dbg_in = -1 };
	int status;

	bxvm_init(&d.vm);
	status = prepare(&d, argc, argv);
	if (status == 0) {
		if (launch(&d))
			demo_drive(&d);
		demo_wind_down(&d);
		status = verify(&d);
		if (bxkd_end_workdir(d.workdir, d.made_workdir, d.keep || status))
			printf("bxkd demo: removed the work directory %s (--keep keeps it)\n",
			       d.workdir);
	} else {
		bxkd_end_workdir(d.workdir, d.made_workdir, false);
	}
	demo_free(&d);
	return status < 0 ? BXKD_EXIT_PASSED : status;
}
