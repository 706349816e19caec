/*
 * check_fastpath.c -- the device's KD fast path (vmport: kd_fastpath=1,
 * bochs-plugin/vmport_kd_fast.c) against the kernel's own answers, and
 * `bxkd bench` as a smoke run.
 *
 * Two VMs boot the same kernel to its initial breakpoint, one without and
 * one with the fast path, and get the same seeded stream of memory reads:
 * the kernel image, both edges of the unmapped hole, the top of RAM,
 * page 0, the end of the low view, the local APIC, the 4 GiB wrap,
 * addresses no x86 has, pages beyond RAM, counts from 0 past the packet's
 * limit. Every reply must be the same bytes, status and ActualBytes
 * included, except where the kernel's KD stub changes memory while it
 * serves, and only there: the stub (its reply and message buffers), the
 * transport module and its shared page, the kernel's stacks, and the
 * accessed and dirty bits of the page tables' entries. The fast VM's
 * session is recorded and must replay. The same again for the x86-64
 * kernel (--arch x64), whose stub takes 64-bit addresses whole: its
 * higher half, the hole, the 64-bit alias of RAM, the non-canonical gap,
 * a sign-extended x86 address that is no address of its.
 */
#include "config.h"

#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "bxvm.h"
#include "kdclient.h"
#include "proc.h"
#include "suites.h"
#include "testcases.h"

#define WAIT_MS 120000u
#define REQUESTS 400
#define RAM_BYTES (32u << 20) /* bochs-run's default machine */
#define REPLY_DATA (KDCOM_MAX_PAYLOAD - sizeof(struct dbgkd_manipulate_state64))
#define PTE_ACCESSED_DIRTY 0x60u
#define NAMED_MAX 16

/* Where the stub changes memory as it serves; `bits`: only those may
 * differ (0: any). */
struct changed {
	const char *symbol;
	uint8_t bits;
};

/* One of our kernels: where it lives, what its stub changes, and the
 * virtual addresses worth reading around. */
struct target {
	const char *name;
	const char *symbols;
	bool x64;
	uint64_t kernel_offset;
	uint64_t long_alias_offset; /* x64: RAM once more there (0: none) */
	const struct changed *changed;
	size_t changed_count;
	const uint64_t *virtual_bases;
	size_t virtual_count;
};

static const struct changed x86_changed[] = {
	{ "stub", 0 },		 { "vm", 0 },
	{ "vm_page", 0 },	 { "boot_stack", 0 },
	{ "ring0_stack", 0 },	 { "directory", PTE_ACCESSED_DIRTY },
	{ "tables", PTE_ACCESSED_DIRTY }, { "hole_table", PTE_ACCESSED_DIRTY },
	{ "low_table", PTE_ACCESSED_DIRTY }, { "apic_table", PTE_ACCESSED_DIRTY },
};
static const uint64_t x86_virtual_bases[] = {
	0x80100000u, 0x80F00000u, 0x81000000u, 0x80000000u + RAM_BYTES, 0x0, 0x00400000u,
	0xFEE00000u, 0x100000000ull, 0xFFFFFFFF80100000ull, 0xFFFFF000u,
};
static const struct target x86_kernel = {
	"x86", BXKD_GUEST_SYMBOLS, false, 0x80000000u, 0,
	x86_changed, sizeof(x86_changed) / sizeof(*x86_changed),
	x86_virtual_bases, sizeof(x86_virtual_bases) / sizeof(*x86_virtual_bases),
};

/* guest/x64/paging.c's tables lie from pml4 to window_table. */
static const struct changed x64_changed[] = {
	{ "stub", 0 },
	{ "vm", 0 },
	{ "vm_page", 0 },
	{ "boot_stack", 0 },
	{ "ring0_stack", 0 },
	{ "pml4", PTE_ACCESSED_DIRTY },
	{ "low_pdpt", PTE_ACCESSED_DIRTY },
	{ "high_pdpt", PTE_ACCESSED_DIRTY },
	{ "low_pd", PTE_ACCESSED_DIRTY },
	{ "high_pd", PTE_ACCESSED_DIRTY },
	{ "apic_pd", PTE_ACCESSED_DIRTY },
	{ "alias_pd", PTE_ACCESSED_DIRTY },
	{ "window_pd", PTE_ACCESSED_DIRTY },
	{ "tables", PTE_ACCESSED_DIRTY },
	{ "hole_table", PTE_ACCESSED_DIRTY },
	{ "low_table", PTE_ACCESSED_DIRTY },
};
static const uint64_t x64_virtual_bases[] = {
	0xFFFFF80000100000ull, 0xFFFFF80000F00000ull, 0xFFFFF80001000000ull,
	0xFFFFF80000000000ull + RAM_BYTES, 0x0, 0x00400000u, 0xFEE00000u, 0x100000000ull,
	0xFFFFFFFF80100000ull, 0xFFFFF80100800000ull, 0x0000800000000000ull,
	0xFFFF800000000000ull, 0xFFFFFFFFFFFFF000ull,
};
static const struct target x64_kernel = {
	"x64", BXKD_GUEST64_SYMBOLS, true, 0xFFFFF80000000000ull, 0xFFFFF80100800000ull,
	x64_changed, sizeof(x64_changed) / sizeof(*x64_changed),
	x64_virtual_bases, sizeof(x64_virtual_bases) / sizeof(*x64_virtual_bases),
};

struct extent {
	uint64_t start, end;
};

/* A symbol reaches to the next address in the nm -n list. */
static struct extent symbol_extent(const char *symbols, const char *symbol)
{
	FILE *f = fopen(symbols, "r");
	char line[256], name[200], type;
	unsigned long address;
	struct extent e = { 0, 0 };
	bool found = false;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx %c %199s", &address, &type, name) != 3)
			continue;
		if (found && address > e.start) {
			e.end = address;
			break;
		}
		if (!found && !strcmp(name, symbol)) {
			e.start = address;
			found = true;
		}
	}
	fclose(f);
	ck_assert_msg(found && e.end > e.start, "no extent for %s in %s", symbol, symbols);
	return e;
}

static struct extent named[NAMED_MAX];

/* The kernel's view of a byte a reply carried. */
static bool difference_allowed(const struct target *t, uint64_t kernel_address, uint8_t a,
			       uint8_t b)
{
	for (size_t i = 0; i < t->changed_count; i++)
		if (kernel_address >= named[i].start && kernel_address < named[i].end)
			return !t->changed[i].bits || !((a ^ b) & ~t->changed[i].bits);
	return false;
}

/* ---- the requests ------------------------------------------------------------------- */

static uint64_t seed = 0x13f457a7e5ull;

static uint32_t next_random(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (uint32_t)seed;
}

static const uint64_t physical_bases[] = {
	0x0, 0x00100000u, 0x00F00000u, RAM_BYTES, 0x100000000ull, 0xFEE00000u,
};

static void random_request(const struct target *t, struct dbgkd_manipulate_state64 *m)
{
	bool physical = next_random() % 3 == 0;
	const uint64_t *bases = physical ? physical_bases : t->virtual_bases;
	size_t count = physical ? sizeof(physical_bases) / sizeof(*physical_bases)
				: t->virtual_count;
	uint64_t base = bases[next_random() % count];
	/* Around the base, either side: reads that start mapped and run off
	 * the edge, and the other way. */
	int64_t offset = (int64_t)(next_random() % 0x3000) - 0x1800;
	static const uint32_t counts[] = { 0, 1, 4, 16, 100, 4095, 3944, 3945, 4096, 65535 };
	uint32_t transfer = next_random() % 2 ? counts[next_random() % 10] : next_random() % 8192;

	memset(m, 0, sizeof(*m));
	m->api_number = physical ? DBGKD_READ_PHYSICAL_MEMORY_API : DBGKD_READ_VIRTUAL_MEMORY_API;
	m->u.read_memory.target_base_address =
		base == 0 && offset < 0 ? (uint64_t)-offset : base + (uint64_t)offset;
	m->u.read_memory.transfer_count = transfer;
}

/* ---- the VMs ------------------------------------------------------------------------ */

struct vm {
	struct child run;
	struct kdclient *client;
	char dir[600];
};

static void boot(struct vm *vm, const char *name, bool fast, bool x64, const char *sockets)
{
	char endpoint[300], target[300], out[700], err[700], record[700];

	snprintf(vm->dir, sizeof(vm->dir), "%s/%s", BXKD_TEST_WORK_DIR, name);
	/* A fresh directory: a session file left by an earlier run was seen to
	 * leave its tail in the new recording (report-h15x64-merge.md). */
	char *remove[] = { "/bin/rm", "-rf", vm->dir, NULL };
	char *removed = NULL;
	ck_assert_int_eq(run_capture(remove, 10000, &removed), 0);
	free(removed);
	ck_assert(bxvm_make_directories(vm->dir));
	snprintf(endpoint, sizeof(endpoint), "unix:%s/%s.sock", sockets, name);
	snprintf(target, sizeof(target), "connect:%s/%s.sock", sockets, name);
	snprintf(record, sizeof(record), "%s/session.pcap", vm->dir);
	char *argv[] = { BXKD_LAUNCHER, "run", "--break", "--endpoint", endpoint, "--workdir",
			 vm->dir, "--timeout", "120", "--record", record, "--arch",
			 x64 ? "x64" : "x86", fast ? "--fastpath" : NULL, NULL };
	snprintf(out, sizeof(out), "%s/run.out", vm->dir);
	snprintf(err, sizeof(err), "%s/run.err", vm->dir);
	ck_assert(child_start(&vm->run, argv, out, err));

	struct kdclient_options options;
	char error[256];
	kdclient_options_init(&options);
	ck_assert(kdep_parse(target, &options.endpoint, error, sizeof(error)));
	vm->client = kdclient_open(&options, error, sizeof(error));
	ck_assert_msg(vm->client != NULL, "%s", error);
	ck_assert_int_eq(kdclient_connect(vm->client, WAIT_MS), KDCLIENT_OK);
}

static char *finish(struct vm *vm)
{
	char path[700];

	ck_assert_int_eq(kdclient_continue(vm->client, DBGKD_DBG_CONTINUE, false), KDCLIENT_OK);
	kdclient_wait_gone(vm->client, WAIT_MS);
	kdclient_close(vm->client);
	ck_assert_int_eq(child_wait(&vm->run, WAIT_MS), 0);
	snprintf(path, sizeof(path), "%s/bochs.log", vm->dir);
	char *log = read_text_file(path);
	ck_assert_ptr_nonnull(log);
	return log;
}

struct answer {
	struct dbgkd_manipulate_state64 reply;
	uint8_t data[KDCOM_MAX_PAYLOAD];
	size_t length;
};

static void ask(struct vm *vm, const struct dbgkd_manipulate_state64 *m, struct answer *a)
{
	ck_assert_int_eq(kdclient_request(vm->client, m, NULL, 0, &a->reply, a->data,
					  sizeof(a->data), &a->length, 30000),
			 KDCLIENT_OK);
}

static uint64_t kernel_view(const struct target *t, const struct dbgkd_manipulate_state64 *m,
			    size_t i)
{
	uint64_t at = m->u.read_memory.target_base_address + i;

	if (m->api_number == DBGKD_READ_PHYSICAL_MEMORY_API)
		return at + t->kernel_offset;
	if (!t->x64)
		at &= 0xFFFFFFFFu;
	if (t->long_alias_offset && at >= t->long_alias_offset)
		return at - t->long_alias_offset + t->kernel_offset;
	return at >= t->kernel_offset ? at : at + t->kernel_offset; /* the low view */
}

static void compare(const struct target *t, const struct dbgkd_manipulate_state64 *m,
		    const struct answer *kernel, const struct answer *fast, unsigned n)
{
	ck_assert_msg(!memcmp(&kernel->reply, &fast->reply, sizeof(kernel->reply)),
		      "request %u (api 0x%x at 0x%llx, %u bytes): the reply headers differ: status "
		      "0x%08x/0x%08x, actual %u/%u",
		      n, m->api_number, (unsigned long long)m->u.read_memory.target_base_address,
		      m->u.read_memory.transfer_count, kernel->reply.return_status,
		      fast->reply.return_status, kernel->reply.u.read_memory.actual_bytes,
		      fast->reply.u.read_memory.actual_bytes);
	ck_assert_uint_eq(kernel->length, fast->length);
	for (size_t i = 0; i < kernel->length; i++)
		ck_assert_msg(kernel->data[i] == fast->data[i] ||
				      difference_allowed(t, kernel_view(t, m, i), kernel->data[i],
							 fast->data[i]),
			      "%s request %u: byte %zu (kernel address 0x%llx) is 0x%02x from the "
			      "kernel, 0x%02x from the fast path, outside what the stub changes",
			      t->name, n, i, (unsigned long long)kernel_view(t, m, i),
			      kernel->data[i], fast->data[i]);
}

/* Two VMs of target `t`'s kernel, the same stream of reads to both. */
static void fast_and_guest_paths_answer_alike(const struct target *t)
{
	static struct answer kernel, fast;
	char *sockets = socket_dir();
	struct vm guest_path, fast_path;
	struct dbgkd_manipulate_state64 m;
	unsigned short_reads = 0, failures = 0;
	char name[40];

	ck_assert(t->changed_count <= NAMED_MAX);
	for (size_t i = 0; i < t->changed_count; i++)
		named[i] = symbol_extent(t->symbols, t->changed[i].symbol);
	ck_assert_ptr_nonnull(sockets);
	snprintf(name, sizeof(name), "fastpath_%s_off", t->name);
	boot(&guest_path, name, false, t->x64, sockets);
	snprintf(name, sizeof(name), "fastpath_%s_on", t->name);
	boot(&fast_path, name, true, t->x64, sockets);
	for (unsigned n = 0; n < REQUESTS; n++) {
		random_request(t, &m);
		ask(&guest_path, &m, &kernel);
		ask(&fast_path, &m, &fast);
		compare(t, &m, &kernel, &fast, n);
		uint32_t asked = m.u.read_memory.transfer_count;
		if (kernel.reply.return_status != DBGKD_STATUS_SUCCESS)
			failures++;
		if (kernel.length && kernel.length < (asked < REPLY_DATA ? asked : REPLY_DATA))
			short_reads++;
	}
	/* The stream reached the edges it is meant to. */
	ck_assert_uint_gt(short_reads, 5);
	ck_assert_uint_gt(failures, 50);
	ck_assert_uint_lt(failures, REQUESTS - 50);

	char *kernel_log = finish(&guest_path), *fast_log = finish(&fast_path);
	char want[120];
	snprintf(want, sizeof(want), "%u memory reads answered by the fast path", REQUESTS);
	ck_assert_msg(strstr(fast_log, want), "the fast VM's log lacks \"%s\"", want);
	ck_assert(strstr(kernel_log, " 0 memory reads answered by the fast path"));
	free(kernel_log);
	free(fast_log);

	/* The fast path's answers are in the session, and a replay checks them. */
	char session[700], out[700], err[700];
	snprintf(session, sizeof(session), "%s/session.pcap", fast_path.dir);
	snprintf(out, sizeof(out), "%s/verify.out", fast_path.dir);
	snprintf(err, sizeof(err), "%s/verify.err", fast_path.dir);
	char *verify[] = { BXKD_REPLAY, "verify", session, NULL };
	struct child replay;
	ck_assert(child_start(&replay, verify, out, err));
	ck_assert_int_eq(child_wait(&replay, WAIT_MS), 0);
	/* The manifest names the options the chosen kernel booted with, not
	 * the boot sector's search key (guest/boot/floppy.asm). */
	snprintf(out, sizeof(out), "%s/dump.out", fast_path.dir);
	char *dump[] = { BXKD_REPLAY, "dump", session, NULL };
	ck_assert(child_start(&replay, dump, out, err));
	ck_assert_int_eq(child_wait(&replay, WAIT_MS), 0);
	char *dumped = read_text_file(out);
	ck_assert_ptr_nonnull(dumped);
	ck_assert_msg(strstr(dumped, t->x64 ? "boot_options=arch=x64 kernel=workload kd=vmport"
					    : "boot_options=kernel=workload kd=vmport"),
		      "%.2000s", dumped);
	free(dumped);
	remove_socket_dir(sockets);
}

START_TEST(the_fast_path_answers_as_the_kernel_does)
{
	fast_and_guest_paths_answer_alike(&x86_kernel);
}
END_TEST

/* In 64-bit code the device takes the debugger's addresses whole, as the
 * x86-64 kernel's stub does. */
START_TEST(the_fast_path_answers_as_the_x64_kernel_does)
{
	fast_and_guest_paths_answer_alike(&x64_kernel);
}
END_TEST

/* ---- bxkd bench, small --------------------------------------------------------------- */

/* It runs all three variants and writes what it says; no time is judged. */
START_TEST(bench_runs_every_variant_at_a_tiny_size)
{
	char dir[600], out[700], err[700], path[700];
	struct child bench;

	snprintf(dir, sizeof(dir), "%s/bench", BXKD_TEST_WORK_DIR);
	ck_assert(bxvm_make_directories(dir));
	char *argv[] = { BXKD_LAUNCHER, "bench", "--sizes", "4", "--reps", "1", "--small", "2",
			 "--workdir", dir, NULL };
	snprintf(out, sizeof(out), "%s/bench.out", dir);
	snprintf(err, sizeof(err), "%s/bench.err", dir);
	ck_assert(child_start(&bench, argv, out, err));
	ck_assert_int_eq(child_wait(&bench, WAIT_MS), 0);
	char *table = read_text_file(out);
	ck_assert_ptr_nonnull(table);
	ck_assert_msg(strstr(table, "serial   virtual") && strstr(table, "vmport   physical") &&
			      strstr(table, "fastpath small") && strstr(table, "ceilings: memcpy"),
		      "%s", table);
	free(table);

	snprintf(path, sizeof(path), "%s/bench.json", dir);
	json_object *root = json_object_from_file(path);
	ck_assert_ptr_nonnull(root);
	json_object *figures;
	ck_assert(json_object_object_get_ex(root, "figures", &figures));
	/* small, virtual and physical on each of three variants */
	ck_assert_uint_eq(json_object_array_length(figures), 9);
	json_object_put(root);
	static const char *const files[] = { "bench.csv", "bench.dat", "bench.gp" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		char *text = read_text_file(path);
		ck_assert_msg(text && *text, "%s is missing or empty", path);
		free(text);
	}
	if (GNUPLOT_BIN[0]) {
		snprintf(path, sizeof(path), "%s/bench.png", dir);
		ck_assert(access(path, R_OK) == 0);
	}
}
END_TEST

Suite *fastpath_suite(void)
{
	Suite *s = suite_create("fastpath");

	testcases_add_with(s, "identity", 600, NULL, NULL,
			   TESTS(the_fast_path_answers_as_the_kernel_does,
				 the_fast_path_answers_as_the_x64_kernel_does));
	testcases_add_with(s, "bench", 600, NULL, NULL, TESTS(bench_runs_every_variant_at_a_tiny_size));
	return s;
}
