/*
 * bench.c -- `bxkd bench`: one VM per variant (serial, the shared page,
 * the shared page with the device's fast path), each booted by `bxkd run
 * --break` and stopped at its first breakpoint, debugged by a kdclient in
 * this process; then the same reads on each in turn, repetition by
 * repetition, so that whatever else the host does falls on all of them
 * alike. The guest's time-stamp counter (ReadMsr 0x10: Bochs counts it in
 * instructions) is read before and after each repetition for the emulated
 * time.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bxkd.h"
#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "kdclient.h"

#define VIRTUAL_BASE 0xFFFFFFFF80100000ull /* the kernel image, linked at 2 GiB + 1 MiB */
#define PHYSICAL_BASE 0x100000ull	    /* where it is loaded */
#define REPLY_DATA (KDCOM_MAX_PAYLOAD - sizeof(struct dbgkd_manipulate_state64))
#define SMALL_READ 4u
#define REQUEST_TIMEOUT_MS 30000u
#define CONNECT_TIMEOUT_MS 120000u
#define MSR_TIME_STAMP_COUNTER 0x10u

struct bench_options {
	bool full, plot;
	unsigned long reps, small_reads;
	uint64_t sizes[BENCH_MAX_SIZES];
	size_t size_count;
	bool want[BENCH_VARIANTS];
	const char *workdir, *out;
};

struct bench_vm {
	enum bench_variant variant;
	char *workdir;
	struct bxkd_process run;
	struct kdclient *client;
};

static const char *const variant_names[BENCH_VARIANTS] = { "serial", "vmport", "fastpath" };
static const char *const kind_names[BENCH_KINDS] = { "virtual", "physical", "small" };

const char *bench_variant_name(enum bench_variant v)
{
	return variant_names[v];
}

const char *bench_kind_name(enum bench_kind k)
{
	return kind_names[k];
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bxkd bench [options]\n"
		"Times ReadVirtualMemory and ReadPhysicalMemory of 64 KiB .. 4 MiB (serial stops\n"
		"at 1 MiB unless --full) and small reads over KDCOM on COM1\n"
		"(serial), the shared page (vmport) and the shared page with the device's fast\n"
		"path (fastpath), the variants alternating, beside the host's own ceilings.\n"
		"\n"
		"  --full              4 MiB reads over serial too\n"
		"  --reps N            repetitions of each figure (default 3)\n"
		"  --sizes K,K,...     read sizes in KiB instead (up to %d)\n"
		"  --small N           small reads per repetition (default 200)\n"
		"  --variants V,V,...  serial, vmport, fastpath (default all three)\n"
		"  --workdir DIR       the VMs' work directories (default a new /tmp/bxkd-bench.*,\n"
		"                      removed at the end when --out is given and the run passed)\n"
		"  --out DIR           bench.csv, bench.json and the plot (default: the work directory)\n"
		"  --no-plot           no gnuplot run (bench.gp is still written)\n",
		BENCH_MAX_SIZES);
}

static bool parse_sizes(const char *text, struct bench_options *o)
{
	char copy[256];

	snprintf(copy, sizeof(copy), "%s", text);
	o->size_count = 0;
	for (char *save = NULL, *word = strtok_r(copy, ",", &save); word;
	     word = strtok_r(NULL, ",", &save)) {
		unsigned long kib;
		if (o->size_count == BENCH_MAX_SIZES || !bxkd_parse_count(word, 65536, &kib))
			return false;
		o->sizes[o->size_count++] = (uint64_t)kib * 1024;
	}
	return o->size_count > 0;
}

static bool parse_variants(const char *text, struct bench_options *o)
{
	char copy[128];

	snprintf(copy, sizeof(copy), "%s", text);
	memset(o->want, 0, sizeof(o->want));
	for (char *save = NULL, *word = strtok_r(copy, ",", &save); word;
	     word = strtok_r(NULL, ",", &save)) {
		size_t v = 0;
		while (v < BENCH_VARIANTS && strcmp(word, variant_names[v]))
			v++;
		if (v == BENCH_VARIANTS)
			return false;
		o->want[v] = true;
	}
	return true;
}

enum { OPT_FULL = 256, OPT_REPS, OPT_SIZES, OPT_SMALL, OPT_VARIANTS, OPT_OUT, OPT_NO_PLOT };

static bool take_option(void *ctx, int key, char *value)
{
	struct bench_options *o = ctx;

	switch (key) {
	case OPT_FULL:
	case OPT_NO_PLOT:
		*(key == OPT_FULL ? &o->full : &o->plot) = key == OPT_FULL;
		break;
	case 'w':
	case OPT_OUT:
		*(key == 'w' ? &o->workdir : &o->out) = value;
		break;
	case OPT_REPS:
		if (!bxkd_parse_count(value, BENCH_MAX_REPS, &o->reps))
			return bxkd_option_refused("--reps wants 1..%d, not '%s'", BENCH_MAX_REPS,
						 value);
		break;
	case OPT_SIZES:
		if (!parse_sizes(value, o))
			return bxkd_option_refused("--sizes wants up to %d sizes of 1..65536 KiB, "
						 "not '%s'",
						 BENCH_MAX_SIZES, value);
		break;
	case OPT_SMALL:
		if (!bxkd_parse_count(value, 100000, &o->small_reads))
			return bxkd_option_refused("--small wants 1..100000, not '%s'", value);
		break;
	case OPT_VARIANTS:
		if (!parse_variants(value, o))
			return bxkd_option_refused("--variants wants serial, vmport and/or fastpath, "
						 "not '%s'",
						 value);
		break;
	}
	return true;
}

static int parse(int argc, char **argv, struct bench_options *o)
{
	static const struct option options[] = {
		{ "full", no_argument, NULL, OPT_FULL },
		{ "reps", required_argument, NULL, OPT_REPS },
		{ "sizes", required_argument, NULL, OPT_SIZES },
		{ "small", required_argument, NULL, OPT_SMALL },
		{ "variants", required_argument, NULL, OPT_VARIANTS },
		{ "workdir", required_argument, NULL, 'w' },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "no-plot", no_argument, NULL, OPT_NO_PLOT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	*o = (struct bench_options){ .plot = true, .reps = 3, .small_reads = 200 };
	for (size_t v = 0; v < BENCH_VARIANTS; v++)
		o->want[v] = true;
	int status = bxkd_cli_parse(argc, argv, options, 0, 0, take_option, o, usage);
	if (status != BXKD_CLI_GO_ON)
		return status;
	if (!o->size_count) {
		static const uint64_t standard[] = { 64 << 10, 256 << 10, 1 << 20, 4 << 20 };
		o->size_count = 4;
		memcpy(o->sizes, standard, sizeof(standard));
	}
	return BXKD_CLI_GO_ON;
}

/* ---- the VMs ------------------------------------------------------------------------- */

static bool start_vm(struct bench_vm *vm, const char *workdir, char *client_spec, size_t size)
{
	char self[PATH_MAX], endpoint[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return false;
	self[n] = '\0';
	char *asked = bxkd_asprintf("%s/%s", workdir, variant_names[vm->variant]);
	vm->workdir = bxkd_make_workdir(asked, NULL);
	free(asked);
	if (!vm->workdir)
		return false;
	if (vm->variant == BENCH_SERIAL) {
		/* Bochs' COM1 listens itself: no relay between it and us. */
		unsigned port = bxkd_free_port("127.0.0.1");
		if (!port)
			return false;
		snprintf(endpoint, sizeof(endpoint), "tcp:127.0.0.1:%u", port);
		snprintf(client_spec, size, "tcp-connect:127.0.0.1:%u", port);
	} else {
		snprintf(endpoint, sizeof(endpoint), "unix:%s/kd.sock", vm->workdir);
		snprintf(client_spec, size, "connect:%s/kd.sock", vm->workdir);
	}
	char *argv[] = { self,
			 "run",
			 "--break",
			 "--transport",
			 vm->variant == BENCH_SERIAL ? "serial" : "vmport",
			 "--endpoint",
			 endpoint,
			 "--workdir",
			 vm->workdir,
			 vm->variant == BENCH_FASTPATH ? "--fastpath" : NULL,
			 NULL };
	char *out = bxkd_asprintf("%s/run.out", vm->workdir);
	char *err = bxkd_asprintf("%s/run.err", vm->workdir);
	bool ok = bxkd_process_start_to_files(&vm->run, argv, out, err);
	free(out);
	free(err);
	return ok;
}

static bool attach(struct bench_vm *vm, const char *spec)
{
	struct kdclient_options options;
	char error[256];

	kdclient_options_init(&options);
	options.ack_with_next_request = true;
	if (!kdep_parse(spec, &options.endpoint, error, sizeof(error))) {
		bxkd_warn("%s: %s", spec, error);
		return false;
	}
	vm->client = kdclient_open(&options, error, sizeof(error));
	if (!vm->client) {
		bxkd_warn("%s: %s", spec, error);
		return false;
	}
	enum kdclient_status st = kdclient_connect(vm->client, CONNECT_TIMEOUT_MS);
	if (st != KDCLIENT_OK) {
		bxkd_warn("%s: the %s VM did not stop for us: %s (see %s/run.out)", spec,
			  variant_names[vm->variant], kdclient_status_name(st), vm->workdir);
		return false;
	}
	return true;
}

/* Lets the kernel run its workload to its end, for the device's counts in
 * bochs.log; stops it if it does not end. */
static void finish_vm(struct bench_vm *vm)
{
	if (vm->client) {
		if (kdclient_stopped(vm->client) &&
		    kdclient_continue(vm->client, DBGKD_DBG_CONTINUE, false) == KDCLIENT_OK)
			kdclient_wait_gone(vm->client, 120000);
		kdclient_close(vm->client);
		vm->client = NULL;
	}
	if (vm->run.pid && !bxkd_process_wait(&vm->run, 60000))
		bxkd_process_stop(&vm->run, 2000);
}

static void read_device_counts(const struct bench_vm *vm, struct bench_device_counts *d)
{
	char *path = bxkd_asprintf("%s/bochs.log", vm->workdir);
	FILE *f = fopen(path, "r");
	char line[1024];
	unsigned long long calls, sends, receives, polls, sent, received;

	free(path);
	memset(d, 0, sizeof(*d));
	if (!f)
		return;
	bool have_calls = false, have_packets = false;
	while (fgets(line, sizeof(line), f)) {
		const char *at = strstr(line, "KD transport: ");
		if (at && sscanf(at, "KD transport: %llu calls (%llu sends, %llu receives, %llu",
				 &calls, &sends, &receives, &polls) == 4)
			have_calls = true;
		at = strstr(line, "KD link: ");
		if (at && sscanf(at, "KD link: %llu packets sent, %llu received", &sent,
				 &received) == 2)
			have_packets = true;
	}
	fclose(f);
	if (have_calls && have_packets)
		*d = (struct bench_device_counts){ true, calls, polls, sent, received };
}

/* ---- the requests ------------------------------------------------------------------- */

static bool read_tsc(struct kdclient *c, uint64_t *tsc)
{
	struct dbgkd_manipulate_state64 request = { .api_number = DBGKD_READ_MSR_API }, reply;
	size_t got;

	request.u.msr.msr = MSR_TIME_STAMP_COUNTER;
	enum kdclient_status st =
		kdclient_request(c, &request, NULL, 0, &reply, NULL, 0, &got, REQUEST_TIMEOUT_MS);
	if (st != KDCLIENT_OK || reply.return_status != DBGKD_STATUS_SUCCESS) {
		bxkd_warn("ReadMsr: %s, status 0x%08x", kdclient_status_name(st),
			  st == KDCLIENT_OK ? reply.return_status : 0);
		return false;
	}
	*tsc = (uint64_t)reply.u.msr.data_value_high << 32 | reply.u.msr.data_value_low;
	return true;
}

static bool read_memory(struct kdclient *c, bool physical, uint64_t address, uint32_t count,
			char *why, size_t why_size)
{
	static uint8_t data[KDCOM_MAX_PAYLOAD];
	struct dbgkd_manipulate_state64 request = { 0 }, reply;
	size_t got;

	request.api_number =
		physical ? DBGKD_READ_PHYSICAL_MEMORY_API : DBGKD_READ_VIRTUAL_MEMORY_API;
	request.u.read_memory.target_base_address = address;
	request.u.read_memory.transfer_count = count;
	enum kdclient_status st = kdclient_request(c, &request, NULL, 0, &reply, data,
						   sizeof(data), &got, REQUEST_TIMEOUT_MS);
	if (st != KDCLIENT_OK) {
		snprintf(why, why_size, "read of %u bytes at 0x%llx: %s", count,
			 (unsigned long long)address, kdclient_status_name(st));
		return false;
	}
	if (reply.return_status != DBGKD_STATUS_SUCCESS || got != count) {
		snprintf(why, why_size, "read of %u bytes at 0x%llx: status 0x%08x, %zu bytes",
			 count, (unsigned long long)address, reply.return_status, got);
		return false;
	}
	return true;
}

/* One repetition of a figure: its reads between two readings of the
 * guest's clock. */
static void measure(struct bench_vm *vm, struct bench_figure *f, unsigned rep)
{
	uint64_t before, after;
	bool physical = f->kind == BENCH_PHYSICAL;

	if (!read_tsc(vm->client, &before)) {
		f->failed = true;
		snprintf(f->why, sizeof(f->why), "ReadMsr of the time-stamp counter failed");
		return;
	}
	double start = bxkd_now();
	if (f->kind == BENCH_SMALL) {
		for (uint32_t i = 0; i < f->requests && !f->failed; i++)
			f->failed = !read_memory(vm->client, false, VIRTUAL_BASE + 64 * i, SMALL_READ,
						 f->why, sizeof(f->why));
	} else {
		uint64_t base = physical ? PHYSICAL_BASE : VIRTUAL_BASE;
		for (uint64_t done = 0; done < f->size && !f->failed;) {
			uint32_t count = f->size - done < REPLY_DATA ? (uint32_t)(f->size - done)
								     : (uint32_t)REPLY_DATA;
			f->failed = !read_memory(vm->client, physical, base + done, count, f->why,
						 sizeof(f->why));
			done += count;
		}
	}
	f->wall[rep] = bxkd_now() - start;
	if (!f->failed && !read_tsc(vm->client, &after)) {
		f->failed = true;
		snprintf(f->why, sizeof(f->why), "ReadMsr of the time-stamp counter failed");
	}
	if (!f->failed)
		f->ticks[rep] = after - before;
	f->reps = rep + 1;
	/* The last reply's ACK, held for a next request that now goes to
	 * another VM: this one must not wait for it. */
	kdclient_flush(vm->client);
}

/* ---- the run -------------------------------------------------------------------------- */

/* Serial stops at 1 MiB unless --full: 4 MiB over it takes minutes. */
static bool figure_wanted(const struct bench_options *o, enum bench_variant v, uint64_t size)
{
	return o->want[v] && (v != BENCH_SERIAL || o->full || size <= (1u << 20));
}

static size_t plan(const struct bench_options *o, struct bench_results *r)
{
	size_t n = 0;

	r->figures = bxkd_xcalloc((o->size_count + 1) * BENCH_KINDS * BENCH_VARIANTS,
				 sizeof(*r->figures));
	for (size_t v = 0; v < BENCH_VARIANTS; v++)
		if (o->want[v])
			r->figures[n++] = (struct bench_figure){ .variant = (enum bench_variant)v,
								 .kind = BENCH_SMALL,
								 .size = SMALL_READ,
								 .requests = (uint32_t)o->small_reads };
	for (size_t s = 0; s < o->size_count; s++)
		for (size_t k = 0; k < BENCH_SMALL; k++)
			for (size_t v = 0; v < BENCH_VARIANTS; v++) {
				if (!figure_wanted(o, (enum bench_variant)v, o->sizes[s]))
					continue;
				r->figures[n++] = (struct bench_figure){
					.variant = (enum bench_variant)v,
					.kind = (enum bench_kind)k,
					.size = o->sizes[s],
					.requests = (uint32_t)((o->sizes[s] + REPLY_DATA - 1) /
							       REPLY_DATA),
				};
			}
	return n;
}

static void progress(size_t done, size_t total, const struct bench_figure *f, unsigned rep,
		     unsigned reps)
{
	if (!isatty(STDERR_FILENO))
		return;
	if (!f) {
		fprintf(stderr, "\r%-78s\r", "");
		return;
	}
	fprintf(stderr, "\rbench: %3zu%% %-8s %-8s %8llu bytes, repetition %u of %u   ",
		total ? done * 100 / total : 100, variant_names[f->variant], kind_names[f->kind],
		(unsigned long long)f->size, rep + 1, reps);
	fflush(stderr);
}

/* Repetition by repetition, and within one, figure by figure: each size
 * and kind on every variant before the next. */
static void run_figures(const struct bench_options *o, struct bench_results *r,
			struct bench_vm *vms)
{
	size_t total = r->figure_count * o->reps, done = 0;

	for (unsigned rep = 0; rep < o->reps && !bxkd_signal; rep++)
		for (size_t i = 0; i < r->figure_count && !bxkd_signal; i++) {
			struct bench_figure *f = &r->figures[i];
			progress(done++, total, f, rep, (unsigned)o->reps);
			if (!f->failed)
				measure(&vms[f->variant], f, rep);
		}
	progress(0, 0, NULL, 0, 0);
}

static bool start_vms(const struct bench_options *o, const char *workdir, struct bench_vm *vms,
		      struct bench_results *r)
{
	char specs[BENCH_VARIANTS][PATH_MAX + 32];

	for (size_t v = 0; v < BENCH_VARIANTS; v++) {
		vms[v].variant = (enum bench_variant)v;
		if (o->want[v] && !start_vm(&vms[v], workdir, specs[v], sizeof(specs[v]))) {
			bxkd_warn("could not start the %s VM in %s", variant_names[v], workdir);
			return false;
		}
	}
	for (size_t v = 0; v < BENCH_VARIANTS; v++) {
		if (o->want[v] && !attach(&vms[v], specs[v]))
			return false;
		r->variant_ran[v] = o->want[v];
	}
	return true;
}

static void note_load(struct bench_results *r)
{
	double load[1];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	r->cpus = cpus > 0 ? (unsigned)cpus : 1;
	if (getloadavg(load, 1) == 1) {
		r->load_average = load[0];
		/* Our own VMs wait while stopped: anything past a CPU's worth
		 * of running work is someone else's. */
		r->loaded = load[0] > r->cpus;
	}
}

int bxkd_bench_main(int argc, char **argv)
{
	struct bench_options o;
	int status = parse(argc, argv, &o);
	if (status != BXKD_CLI_GO_ON)
		return status;
	if (!bxkd_bochs_usable())
		return BXKD_EXIT_FAILED;
	char *workdir = bxkd_make_workdir(o.workdir, "/tmp/bxkd-bench.XXXXXX");
	if (!workdir)
		return BXKD_EXIT_FAILED;
	bxkd_catch_signals(false);

	struct bench_results r = { .ips = BXVM_DEFAULT_IPS, .full = o.full, .reps = (unsigned)o.reps };
	char error[256];
	fprintf(stderr, "bxkd bench: the host's ceilings\n");
	if (!bench_measure_ceilings(&r.ceilings, error, sizeof(error))) {
		bxkd_warn("the ceilings: %s", error);
		free(workdir);
		return BXKD_EXIT_FAILED;
	}
	r.figure_count = plan(&o, &r);
	struct bench_vm vms[BENCH_VARIANTS] = { 0 };
	fprintf(stderr, "bxkd bench: booting the VMs in %s\n", workdir);
	bool ok = start_vms(&o, workdir, vms, &r);
	if (ok) {
		note_load(&r);
		run_figures(&o, &r, vms);
	}
	for (size_t v = 0; v < BENCH_VARIANTS; v++) {
		finish_vm(&vms[v]);
		if (vms[v].workdir)
			read_device_counts(&vms[v], &r.device[v]);
		free(vms[v].workdir);
	}
	for (size_t i = 0; ok && i < r.figure_count; i++)
		if (r.figures[i].failed) {
			bxkd_warn("%s %s %llu bytes: %s", variant_names[r.figures[i].variant],
				  kind_names[r.figures[i].kind],
				  (unsigned long long)r.figures[i].size, r.figures[i].why);
			ok = false;
		}
	if (ok && bxkd_signal)
		ok = false;
	if (ok)
		ok = bench_report(&r, o.out ? o.out : workdir, o.plot);
	/* Without --out the results are in it, and it stays. */
	if (bxkd_end_workdir(workdir, !o.workdir && o.out, !ok))
		fprintf(stderr, "bxkd bench: removed the VMs' work directory %s\n", workdir);
	free(r.figures);
	free(workdir);
	return ok ? BXKD_EXIT_PASSED : BXKD_EXIT_FAILED;
}
