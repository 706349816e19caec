/*
 * run.c -- `bxkd run`: start a debuggable VM and say where to attach.
 *
 * The image (our test kernel unless another is named) boots under Bochs
 * with the vmport plugin; its kernel debugger is reachable on one endpoint
 * over one of two transports:
 *
 *   vmport  the shared page (guest/kdvm/): the plugin's `kd_endpoint`
 *           listens (or connects) there itself;
 *   serial  KDCOM on the emulated COM1. Bochs' COM1 speaks only TCP, so a
 *           `tcp:` endpoint is Bochs' own socket server; any other endpoint
 *           gets bxkd-tap relaying COM1 to it (and decoding the traffic into
 *           kd-trace.txt).
 *
 * Everything a run uses and leaves is in the work directory: bochsrc,
 * bochs.log, bochs.stderr, the patched image copy, the trace.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bochs_debugger.h"
#include "bxkd.h"
#include "run.h"
#include "bxkd/kdidentity.h"
#include "kdep.h"


/* ---- running ---------------------------------------------------------------------------- */

/* bxkd-tap makes it in the work directory once it is connected to COM1. */
#define RELAY_READY_FILE "kd-relay.ready"

/* Starts bxkd-tap between COM1 and the endpoint; true once it is up. */
static bool start_relay(struct bxkd_process *tap, const struct endpoint *ep, const char *workdir)
{
	char looked[600];
	char *program = bxkd_locate(BXKD_FILE_TAP, looked, sizeof(looked));
	char *target = bxkd_asprintf("tcp-connect:%s", ep->com1);
	char *trace_path = bxkd_asprintf("%s/kd-trace.txt", workdir);
	char *log_path = bxkd_asprintf("%s/kd-tap.log", workdir);
	int trace = -1, log = -1;
	bool ok = false;

	if (!program) {
		bxkd_warn("bxkd-tap, which relays COM1 to %s, is not in %s", ep->spec, looked);
		goto out;
	}
	trace = open(trace_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (trace < 0 || log < 0) {
		bxkd_warn("cannot write in %s: %s", workdir, strerror(errno));
		goto out;
	}
	char *ready = bxkd_asprintf("--ready-file=%s/" RELAY_READY_FILE, workdir);
	char *status = bxkd_asprintf("--status-file=%s/" RUN_STATUS_FILE, workdir);
	char *argv[] = { program, "--quiet", ready, status, target, (char *)ep->spec, NULL };
	struct bxkd_spawn how = { .in = BXKD_FD_NULL, .out = trace, .err = log,
				  .flags = BXKD_PROCESS_OWN_GROUP | BXKD_PROCESS_DEFAULT_SIGNALS };
	bool started = bxkd_process_start(tap, argv, &how);
	free(ready);
	free(status);
	if (!started) {
		bxkd_warn("cannot start %s: %s", program, strerror(errno));
		goto out;
	}
	/* Up when its listener is there (or, for the other kinds, when it has
	 * not died at once of an endpoint it could not open). */
	for (int waited = 0; waited < 3000; waited += 20) {
		struct stat st;
		if (bxkd_process_done(tap))
			break;
		if (ep->options.mode == KDEP_UNIX_LISTEN ? stat(ep->options.path, &st) == 0
							  : waited >= 200) {
			ok = true;
			break;
		}
		usleep(20000);
	}
	if (!ok) {
		char *said = bxvm_read_file(log_path, NULL);
		fprintf(stderr, "%s: the COM1 relay (bxkd-tap) did not start:\n%s", bxkd_program(),
			said && *said ? said : "(it said nothing)\n");
		free(said);
		bxkd_process_stop(tap, 1000);
	}
out:
	if (trace >= 0)
		close(trace);
	if (log >= 0)
		close(log);
	free(program);
	free(target);
	free(trace_path);
	free(log_path);
	return ok;
}

/* How a run of another image ended: Bochs' status, except that the
 * guest's own shutdown (which Bochs reports as a fatal "panic") is 0. */
static int foreign_status(const struct bxvm *vm)
{
	if (vm->timed_out || vm->interrupted) {
		printf("bxkd: %s; Bochs was stopped\n",
		       vm->timed_out ? "timed out (--timeout)" : "interrupted");
		return BXKD_EXIT_FAILED;
	}
	if (vm->outcome == BXVM_LAUNCH_FAILED) {
		printf("bxkd: cannot execute %s (exit status %d)\n", bxkd_bochs(), vm->bochs.status);
		return BXKD_EXIT_FAILED;
	}
	const struct bxvm_report *r = &vm->report;
	if (r->shutdown_requested && !r->panic) {
		printf("bxkd: the guest shut the machine down");
		if (r->have_final_tick)
			printf(" at tick %" PRIu64, r->final_tick);
		printf(" after %.2f s\n", vm->ended - vm->started);
		return BXKD_EXIT_PASSED;
	}
	printf("bxkd: Bochs exited with status %d after %.2f s\n", vm->bochs.status,
	       vm->ended - vm->started);
	if (r->panic)
		printf("  bochs: %s\n", r->panic);
	return vm->bochs.status;
}

/* The device says in its log how the recording ended; a session that is
 * not whole is a failed run, whatever the guest did. */
static bool recording_complete(const char *workdir)
{
	static const char *const verdicts[] = { "] session recorded: ", "] the session in " };
	char *log_path = bxkd_asprintf("%s/bochs.log", workdir);
	char *log = bxvm_read_file(log_path, NULL);
	const char *found = NULL;
	bool complete = false;

	for (size_t i = 0; log && !found && i < sizeof(verdicts) / sizeof(*verdicts); i++) {
		found = strstr(log, verdicts[i]);
		complete = found && i == 0;
	}
	if (found)
		printf("bxkd: %s%.*s\n", complete ? "" : "FAILED: ",
		       (int)strcspn(found + 2, "\n"), found + 2);
	else
		printf("bxkd: FAILED: the device did not say how the recording ended (%s)\n",
		       log_path);
	free(log);
	free(log_path);
	return complete;
}

/* ---- one run, step by step --------------------------------------------------------------- */

/* What a run makes and keeps until it ends. */
struct run {
	struct run_options o;
	struct endpoint ep;
	char *image;      /* what to boot: ours, or the user's in place */
	bool ours;        /* it has our boot option block */
	enum bxvm_media media;
	char *plugin_dir, *symbols, *workdir;
	char *boot;       /* our kernel's boot options */
	char *copy;       /* our kernel's patched copy */
	char *config;     /* the bochsrc lines after the machine's */
	char *bochsrc;
	struct bochs_debugger_setup debugger;
	char *debugger_rc; /* --bochs-debugger: the command file Bochs starts with */
	struct bxkd_process tap;
	bool relay_lost;
	bool attach_said; /* "attach now" printed, or nothing to wait for */
	struct run_status status;
	struct bxvm vm;
};

/* The image to boot, and whether it is ours; a usage error or a failure. */
static int choose_image(struct run *r)
{
	char looked[700];
	struct stat st;
	size_t size;

	if (r->o.image) {
		if (stat(r->o.image, &st) != 0)
			return bxkd_usage_error("no image %s: %s", r->o.image, strerror(errno));
		if (!S_ISREG(st.st_mode) || st.st_size == 0)
			return bxkd_usage_error("%s is not a disk image (a regular, non-empty file)",
						r->o.image);
		r->image = realpath(r->o.image, NULL);
	} else if (!(r->image = bxkd_locate(BXKD_FILE_GUEST_IMAGE, looked, sizeof(looked)))) {
		bxkd_warn("the bxkd test kernel (bxkd-guest.img) is not in %s: build it (make) or "
			  "install it (make install), or name an image",
			  looked);
		return BXKD_EXIT_FAILED;
	}
	uint8_t *bytes = (uint8_t *)bxvm_read_file(r->image, &size);
	if (!bytes)
		return bxkd_usage_error("cannot read %s: %s", r->image, strerror(errno));
	r->ours = bxvm_has_boot_options(bytes, size);
	r->media = bxvm_media_for_size(size);
	free(bytes);
	if (!r->ours && r->o.boot_options)
		return bxkd_usage_error("%s has no bxkd boot option block, so --boot-options cannot "
					"be given to it",
					r->image);
	if (!r->ours && r->o.arch)
		return bxkd_usage_error("--arch picks one of our kernels by a boot option; %s has no "
					"bxkd boot option block and boots as it is",
					r->image);
	if (!r->ours && (r->o.kd_break || r->o.rounds || r->o.os))
		bxkd_warn("%s is not the bxkd kernel: --break, --rounds and --os are boot options of "
			  "ours, ignored",
			  r->image);
	return 0;
}

/* Bochs, our plugin, the kernel's symbols. */
static bool find_bochs_and_plugin(struct run *r)
{
	char looked[700];

	if (!bxkd_bochs_usable())
		return false;
	r->plugin_dir = bxkd_locate(BXKD_FILE_PLUGIN_DIR, looked, sizeof(looked));
	if (!r->plugin_dir) {
		bxkd_warn("the vmport plugin (libbx_vmport.so) is not in %s: build it (make) or "
			  "install it (make install)",
			  looked);
		return false;
	}
	r->symbols = !r->ours ? NULL
		     : bxkd_locate(r->o.x64 ? BXKD_FILE_GUEST64_SYMBOLS : BXKD_FILE_GUEST_SYMBOLS,
				   NULL, 0);
	return true;
}

/* The recording: on a vmport: line of its own (Bochs merges them), with
 * the image it boots for the manifest; Bochs' working directory is not
 * the user's, so the path must not be relative. */
static bool add_recording(struct run *r, const char *booted)
{
	char why[800], cwd[PATH_MAX];
	char *kept = bxvm_keep_session_image(booted, r->o.record, why, sizeof(why));

	if (!kept) {
		bxkd_warn("%s", why);
		return false;
	}
	printf("bxkd: recording the session to %s; the image it boots is kept as %s\n", r->o.record,
	       kept);
	free(kept);
	char *target = r->o.record[0] == '/' || !getcwd(cwd, sizeof(cwd))
			       ? bxkd_strdup(r->o.record)
			       : bxkd_asprintf("%s/%s", cwd, r->o.record);
	char *recording = bxvm_recording_config(r->workdir, target, booted, why, sizeof(why));
	free(target);
	if (!recording) {
		bxkd_warn("%s", why);
		return false;
	}
	char *line = bxkd_asprintf("%s%s", r->config, recording);
	free(recording);
	free(r->config);
	r->config = line;
	return true;
}

static const char *const transport_boot_option[] = { "vmport", "serial", "dll" };

/* Our kernel's patched copy, and the bochsrc. */
static bool write_machine(struct run *r)
{
	char why[800];

	if (r->ours) {
		r->boot = bxkd_asprintf("%s%s%s%s",
					r->o.x64 && !r->o.arch_in_boot_options ? "arch=x64 " : "",
					r->o.boot_options ? r->o.boot_options : "kernel=workload kd=",
					r->o.boot_options ? "" : transport_boot_option[r->o.transport],
					r->o.kd_break ? " kd_break=1" : "");
		if (r->o.rounds) {
			char *more = bxkd_asprintf("%s rounds=%lu", r->boot, r->o.rounds);
			free(r->boot);
			r->boot = more;
		}
		if (r->o.os) {
			char *more = bxkd_asprintf("%s kd_os=%s", r->boot, r->o.os);
			free(r->boot);
			r->boot = more;
		}
		r->copy = bxkd_asprintf("%s/guest.img", r->workdir);
		if (!bxvm_copy_image(r->image, r->boot, r->copy, why, sizeof(why))) {
			bxkd_warn("%s", why);
			return false;
		}
	}
	const char *booted = r->ours ? r->copy : r->image;
	if (r->ep.none)
		r->config = bxkd_strdup(r->o.transport != OVER_SERIAL ? "vmport: kd_endpoint=none\n" : "");
	else if (r->o.transport != OVER_SERIAL)
		r->config = bxkd_asprintf("vmport: kd_endpoint=%s%s, kd_status=" RUN_STATUS_FILE "\n",
					  r->ep.spec, r->o.fastpath ? ", kd_fastpath=1" : "");
	else
		r->config = bxkd_asprintf("com1: enabled=1, mode=socket-server, dev=%s\n", r->ep.com1);
	if (r->o.record && !add_recording(r, booted))
		return false;
	if (r->o.config.length) {
		char *more = bxkd_asprintf("%s%s", r->config, r->o.config.data);
		free(r->config);
		r->config = more;
	}
	struct bxvm_machine machine;
	bxvm_machine_init(&machine);
	machine.written_by = "bxkd run (launcher/run.c)";
	machine.image = booted;
	machine.media = r->media;
	machine.long_mode = r->o.x64;
	machine.extra_config = r->config;
	machine.window = r->o.gui;
	r->bochsrc = bxvm_write_machine(&machine, r->workdir, why, sizeof(why));
	if (!r->bochsrc)
		bxkd_warn("%s", why);
	return r->bochsrc != NULL;
}

static void announce(const struct run *r)
{
	if (r->ours)
		printf("bxkd: booting the bxkd test kernel %s with boot options: %s\n", r->image, r->boot);
	else
		printf("bxkd: booting %s as %s, as it is (Bochs writes to it)\n", r->image,
		       r->media == BXVM_MEDIA_FLOPPY ? "a 1.44 MB floppy" : "an IDE hard disk");
	printf("bxkd: bochsrc %s, log %s/bochs.log\n", r->bochsrc, r->workdir);
	run_print_attach(r->o.transport, r->o.fastpath, &r->ep, r->workdir, r->symbols);
	if (r->ours && r->o.kd_break && !r->ep.none)
		printf("bxkd: the kernel stops at its initial breakpoint and waits for a debugger\n");
	if (r->o.bochs_debugger)
		bochs_debugger_howto(&r->debugger);
	printf("bxkd: %s\n",
	       r->o.gui ? "Bochs opens its SDL2 window" : "headless; the guest's console follows");
	fflush(stdout);
}

/* Whether a debugger's bytes reach the kernel yet: the relay is connected
 * to COM1 (it says so with its ready file), or the plugin's socket is
 * there. Bochs' own COM1 socket waits for its debugger before the machine
 * starts, and other endpoints announce themselves in Bochs' log. */
static bool endpoint_forwards(const struct run *r)
{
	struct stat st;

	if (r->o.transport == OVER_SERIAL && r->ep.relay) {
		char *ready = bxkd_asprintf("%s/" RELAY_READY_FILE, r->workdir);
		bool there = stat(ready, &st) == 0;
		free(ready);
		return there;
	}
	return stat(r->ep.options.path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void say_attach_now(struct run *r)
{
	char address[KDEP_ADDRESS_MAX], hint[KDEP_HINT_MAX];

	if (r->attach_said || !endpoint_forwards(r))
		return;
	kdep_describe(&r->ep.options, address, sizeof(address), hint, sizeof(hint));
	run_status_clear(&r->status);
	printf("bxkd: attach now: %s reaches the kernel%s\n", address,
	       r->o.transport == OVER_SERIAL ? " (on serial its first stop may be the kernel's "
					       "symbol load, LoadSymbols, not a breakpoint)"
					     : "");
	fflush(stdout);
	r->attach_said = true;
}

/* A signal, or the relay gone, ends the run; "attach now" is said here,
 * between the console's lines. */
static bool run_interrupted(void *ctx, struct bxvm *vm)
{
	struct run *r = ctx;

	say_attach_now(r);
	run_status_poll(&r->status);

	if (bxkd_signal)
		vm->interrupted = true;
	else if (r->tap.pid && bxkd_process_done(&r->tap))
		r->relay_lost = true;
	return vm->interrupted || r->relay_lost;
}

static void show_line(void *ctx, const char *text, size_t length)
{
	struct run *r = ctx;

	/* The debugger already showed everything. */
	if (r->o.bochs_debugger)
		return;
	run_status_clear(&r->status);
	fwrite(text, 1, length, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

/* The live status line, from the file the device (or the relay) keeps
 * in the work directory; none where nobody counts the packets. */
static void start_status(struct run *r)
{
	char address[KDEP_ADDRESS_MAX], hint[KDEP_HINT_MAX];
	char *path = bxkd_asprintf("%s/" RUN_STATUS_FILE, r->workdir);
	bool counted = !r->o.no_status && !r->o.bochs_debugger && !r->ep.none &&
		       (r->o.transport != OVER_SERIAL || r->ep.relay);

	/* A work directory used before may hold an old run's counts. */
	unlink(path);
	if (!counted && !r->o.no_status && r->o.transport == OVER_SERIAL && !r->ep.none)
		printf("bxkd: no live status on Bochs' own COM1 socket: nothing between it and the "
		       "debugger counts the packets (another endpoint puts bxkd-tap there)\n");
	kdep_describe(&r->ep.options, address, sizeof(address), hint, sizeof(hint));
	run_status_start(&r->status, stdout, counted ? path : NULL, address);
	free(path);
}

/* Starts the relay (if any) and Bochs, and shows the console until Bochs
 * ends; false if either could not start. */
static bool boot(struct run *r)
{
	char why[800];

	bxkd_catch_signals(r->o.bochs_debugger);
	start_status(r);
	if (r->o.transport == OVER_SERIAL && r->ep.relay && !r->ep.none &&
	    !start_relay(&r->tap, &r->ep, r->workdir))
		return false;
	r->attach_said = r->ep.none ||
			 !(r->ep.options.mode == KDEP_UNIX_LISTEN ||
			   (r->o.transport == OVER_SERIAL && r->ep.relay));
	struct bxvm_config vc = {
		.bochsrc = r->bochsrc,
		.workdir = r->workdir,
		.plugin_dir = r->plugin_dir,
		.display = r->o.gui ? BXVM_WINDOW : BXVM_HEADLESS,
		.bochs_debugger = r->o.bochs_debugger,
		.debugger_rc = r->debugger_rc,
		.com1_serves_debugger = r->o.transport == OVER_SERIAL && !r->ep.relay && !r->ep.none,
		.stop_grace_ms = 2000,
	};
	if (!bxvm_start(&r->vm, &vc, why, sizeof(why))) {
		bxkd_warn("%s", why);
		bxkd_process_stop(&r->tap, 1000);
		return false;
	}
	double deadline = r->o.timeout ? r->vm.started + (double)r->o.timeout : 0;
	bxvm_watch(&r->vm, deadline, run_interrupted, show_line, r);
	bxvm_finish(&r->vm);
	bxkd_process_stop(&r->tap, 1000);
	run_status_end(&r->status);
	fflush(stdout);
	return true;
}

/* How it went: the line that says so, and the exit status. */
static int verdict(const struct run *r)
{
	const struct bxvm *vm = &r->vm;

	if (r->relay_lost) {
		char *tap_log_path = bxkd_asprintf("%s/kd-tap.log", r->workdir);
		char *said = bxvm_read_file(tap_log_path, NULL);
		printf("bxkd: the COM1 relay (bxkd-tap) ended (status %d); Bochs was stopped\n%s",
		       r->tap.status, said ? said : "");
		free(said);
		free(tap_log_path);
		return BXKD_EXIT_FAILED;
	}
	if (!r->ours)
		return foreign_status(vm);
	if (vm->outcome == BXVM_PASSED) {
		printf("bxkd: passed: %s; the kernel shut down at tick %" PRIu64
		       " (%.2f s emulated) after %.2f s\n",
		       vm->report.summary_line, vm->report.final_tick,
		       (double)vm->report.final_tick / BXVM_DEFAULT_IPS, vm->ended - vm->started);
		return BXKD_EXIT_PASSED;
	}
	printf("bxkd: FAILED: %s", vm->interrupted ? "interrupted" : bxvm_outcome_name(vm->outcome));
	if (vm->report.have_final_tick)
		printf(" at tick %" PRIu64, vm->report.final_tick);
	printf(" (Bochs exit status %d, %.2f s)\n", vm->bochs.status, vm->ended - vm->started);
	bxvm_explain(vm, stdout);
	return BXKD_EXIT_FAILED;
}

static void run_free(struct run *r)
{
	run_status_end(&r->status);
	if (r->ep.socket_dir[0]) {
		unlink(r->ep.options.path);
		rmdir(r->ep.socket_dir);
	}
	bxkd_process_stop(&r->tap, 1000);
	bxvm_free(&r->vm);
	bxkd_text_free(&r->o.config);
	free(r->image);
	free(r->plugin_dir);
	free(r->symbols);
	free(r->workdir);
	free(r->boot);
	free(r->copy);
	free(r->config);
	free(r->bochsrc);
	free(r->debugger_rc);
}

/* Prepares the machine: a usage error (before anything is made) or a
 * failure as an exit status, 0 when it is ready to boot. */
static int prepare(struct run *r)
{
	char why[800];
	struct kdep_options check;

	/* A malformed endpoint is a usage error before anything is made. */
	if (r->o.endpoint && strcmp(r->o.endpoint, "none") &&
	    !kdep_parse(r->o.endpoint, &check, why, sizeof(why)))
		return bxkd_usage_error("bad --endpoint: %s", why);
	int status = choose_image(r);
	if (status)
		return status;
	if (!find_bochs_and_plugin(r))
		return BXKD_EXIT_FAILED;
	r->workdir = bxkd_make_workdir(r->o.workdir, "/tmp/bxkd-run.XXXXXX");
	if (!r->workdir)
		return BXKD_EXIT_FAILED;
	if (!run_resolve_endpoint(r->o.endpoint, r->o.transport, r->workdir, &r->ep))
		return BXKD_EXIT_USAGE;
	if (!write_machine(r) || !r->o.bochs_debugger)
		return r->bochsrc ? 0 : BXKD_EXIT_FAILED;
	r->debugger = (struct bochs_debugger_setup){ r->workdir, r->symbols, r->ours ? r->copy : r->image,
						     r->ours ? transport_boot_option[r->o.transport] : NULL,
						     r->o.debugger_commands, r->o.x64 };
	r->debugger_rc = bochs_debugger_prepare(&r->debugger);
	return r->debugger_rc ? 0 : BXKD_EXIT_FAILED;
}

int bxkd_run_main(int argc, char **argv)
{
	struct run r = { .o.transport = OVER_VMPORT };
	int status;

	bxvm_init(&r.vm);
	int parsed = run_parse_options(argc, argv, &r.o);
	if (parsed) {
		bxkd_text_free(&r.o.config);
		return parsed < 0 ? BXKD_EXIT_PASSED : parsed;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	status = prepare(&r);
	if (!status) {
		announce(&r);
		status = BXKD_EXIT_FAILED;
		if (boot(&r)) {
			status = verdict(&r);
			if (r.o.record && !recording_complete(r.workdir))
				status = BXKD_EXIT_FAILED;
			if (bxkd_end_workdir(r.workdir, !r.o.workdir, r.o.keep || status))
				printf("bxkd: removed the work directory %s (--keep keeps it)\n",
				       r.workdir);
			else
				printf("bxkd: bochsrc and log in %s\n", r.workdir);
		}
	} else {
		/* Nothing ran: nothing in it to keep. */
		bxkd_end_workdir(r.workdir, !r.o.workdir, false);
	}
	run_free(&r);
	fflush(stdout);
	return status;
}
