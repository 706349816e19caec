/*
 * check_kdvm_dll.c -- the Windows KD transport DLLs (guest/kdvm/local.mk)
 * as a Windows loader would see them, read back with mingw's objdump
 * (-p: PE headers, import and export tables; -h: sections; -t: symbols).
 * What they export and import, what kind of image they are, and the layout
 * facts the code relies on; then (case kernel_loader) the test kernel's
 * own loader under Bochs: the boot image carries the x86 DLL as built, and
 * each damaged copy (unit/pe_damage.h) patched into the image is refused
 * with its FATAL line before any of it runs. The DLL running as the
 * kernel's transport is tested by the session, kdvm and golden suites.
 *
 * A missing DLL fails every test with its path. configure
 * --without-windows-dll builds no DLL, and this suite is then NOT RUN.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "suites.h"
#include "testcases.h"

#ifdef BXKD_WINDOWS_DLL

#include "bxh.h"
#include "pe_damage.h"
#include "proc.h"

#define OBJDUMP_TIMEOUT_MS 30000
#define PAGE_SIZE 4096u

/* PE file header Characteristics. */
#define IMAGE_FILE_RELOCS_STRIPPED 0x0001u
#define IMAGE_FILE_DLL 0x2000u

struct dll {
	const char *arch;
	const char *path;
	const char *objdump;
	const char *format;      /* bfd's name for the PE machine type */
	const char *magic;       /* optional header magic: PE32 or PE32+ */
	const char *page_symbol; /* kdvm_windows.c's page, as COFF names it */
};

static const struct dll dlls[] = {
	{ "x86", BXKD_KDVM_DLL_X86, BXKD_MINGW32_OBJDUMP, "pei-i386", "010b", "_kdbxkd_page" },
	{ "x64", BXKD_KDVM_DLL_X64, BXKD_MINGW64_OBJDUMP, "pei-x86-64", "020b", "kdbxkd_page" },
};

/* What Windows' kernel calls in a KD transport (kd-protocol.md 2.1). */
static const char *const kd_exports[] = {
	"KdD0Transition",  "KdD3Transition", "KdDebuggerInitialize0",
	"KdDebuggerInitialize1", "KdReceivePacket", "KdRestore",
	"KdSave",          "KdSendPacket",   "KdSetHiberRange",
};
#define KD_EXPORTS (sizeof(kd_exports) / sizeof(kd_exports[0]))

/*
 * Every import, and why (kdvm_windows.c's header has the detail):
 *   MmGetPhysicalAddress  the shared page's physical address, for the
 *                         device's REGISTER call
 *   KdDebuggerNotPresent  the kernel's flag the transport must keep, or a
 *                         boot with no debugger waits for one for good
 */
static const char *const ntoskrnl_imports[] = { "KdDebuggerNotPresent", "MmGetPhysicalAddress" };
#define NTOSKRNL_IMPORTS (sizeof(ntoskrnl_imports) / sizeof(ntoskrnl_imports[0]))

/* ---- running objdump ----------------------------------------------------------- */

/* objdump -p -h -t on the DLL; fails the test if the DLL is not there. */
static char *objdump(const struct dll *d)
{
	struct stat st;

	ck_assert_msg(stat(d->path, &st) == 0 && S_ISREG(st.st_mode),
		      "%s DLL %s is missing: it is built by `make` (guest/kdvm/local.mk)", d->arch,
		      d->path);
	ck_assert_msg(d->objdump[0] != '\0', "configure found no objdump for %s images", d->arch);
	char *const argv[] = { (char *)d->objdump, "-p", "-h", "-t", (char *)d->path, NULL };
	char *out;
	int status = run_capture(argv, OBJDUMP_TIMEOUT_MS, &out);
	ck_assert_msg(status == 0, "%s -p -h -t %s exited with %d", d->objdump, d->path, status);
	return out;
}

/* ---- reading its output -------------------------------------------------------- */

struct names {
	unsigned n;
	char name[64][96];
};

static void names_add(struct names *l, const char *name)
{
	ck_assert_msg(l->n < sizeof(l->name) / sizeof(l->name[0]), "too many names");
	snprintf(l->name[l->n++], sizeof(l->name[0]), "%s", name);
}

static bool names_have(const struct names *l, const char *name)
{
	for (unsigned i = 0; i < l->n; i++)
		if (!strcmp(l->name[i], name))
			return true;
	return false;
}

static void names_join(const struct names *l, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < l->n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? " " : "", l->name[i]);
}

/* The line after the one that contains `heading`, or NULL. */
static const char *after_line(const char *text, const char *heading)
{
	const char *p = text ? strstr(text, heading) : NULL;

	if (!p)
		return NULL;
	p = strchr(p, '\n');
	return p ? p + 1 : NULL;
}

/* Copies the line at `p` (without its newline); returns the next line. */
static const char *take_line(const char *p, char *line, size_t size)
{
	size_t n = strcspn(p, "\n");

	snprintf(line, size, "%.*s", (int)n, p);
	return p[n] ? p + n + 1 : p + n;
}

static bool blank(const char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	return *line == '\0';
}

/* The value of a "Key<spaces>value" line of the PE header dump. */
static const char *header_field(const char *out, const char *key)
{
	size_t len = strlen(key);

	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, key, len) && (p[len] == ' ' || p[len] == '\t')) {
			p += len;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
	}
	return NULL;
}

static unsigned long header_hex(const char *out, const char *key)
{
	const char *v = header_field(out, key);

	ck_assert_msg(v, "objdump -p shows no %s", key);
	return strtoul(v, NULL, 16);
}

/* Data directory entry `entry` (0-f): its RVA and size. */
static void data_directory(const char *out, char entry, unsigned long *rva, unsigned long *size)
{
	char key[16];

	snprintf(key, sizeof(key), "Entry %c", entry);
	const char *v = header_field(out, key);
	ck_assert_msg(v && sscanf(v, "%lx %lx", rva, size) == 2, "objdump -p shows no data directory %s",
		      key);
}

struct section {
	char name[32];
	unsigned long vma;
	char flags[160];
};

/* The section table of objdump -h. */
static unsigned sections(const char *out, struct section *s, unsigned max)
{
	const char *p = after_line(after_line(out, "\nSections:"), "Idx Name");
	char line[256], flags[256];
	unsigned n = 0;

	ck_assert_msg(p, "objdump -h printed no section table");
	while (*p && n < max) {
		int idx;
		unsigned long size, vma;

		p = take_line(p, line, sizeof(line));
		if (sscanf(line, "%d %31s %lx %lx", &idx, s[n].name, &size, &vma) != 4)
			break;
		p = take_line(p, flags, sizeof(flags));
		s[n].vma = vma;
		snprintf(s[n].flags, sizeof(s[n].flags), "%s", flags + strspn(flags, " \t"));
		n++;
	}
	return n;
}

static bool has_flag(const char *flags, const char *flag)
{
	size_t len = strlen(flag);

	for (const char *p = flags; (p = strstr(p, flag)) != NULL; p += len) {
		bool starts = p == flags || p[-1] == ' ' || p[-1] == ',';
		bool ends = p[len] == '\0' || p[len] == ',';
		if (starts && ends)
			return true;
	}
	return false;
}

/* ---- the tests -------------------------------------------------------------------- */

/* (a) The nine names of kd-protocol.md 2.1, undecorated, nothing else, and
 * none of them forwarded. */
START_TEST(exports_exactly_the_kd_transport)
{
	const struct dll *d = &dlls[_i];
	char *out = objdump(d);
	struct names names = { 0 };
	char line[256], list[2048];

	const char *p = after_line(out, "[Ordinal/Name Pointer] Table");
	ck_assert_msg(p, "%s: objdump -p shows no export name table", d->arch);
	while (*p) {
		char name[96];
		p = take_line(p, line, sizeof(line));
		if (sscanf(line, " [ %*d] %95s", name) != 1)
			break;
		names_add(&names, name);
	}
	names_join(&names, list, sizeof(list));
	for (unsigned i = 0; i < names.n; i++)
		ck_assert_msg(!strchr(names.name[i], '@') && names.name[i][0] != '_',
			      "%s exports the decorated name %s (exports: %s)", d->arch, names.name[i],
			      list);
	for (unsigned i = 0; i < KD_EXPORTS; i++)
		ck_assert_msg(names_have(&names, kd_exports[i]), "%s does not export %s (exports: %s)",
			      d->arch, kd_exports[i], list);
	ck_assert_msg(names.n == KD_EXPORTS, "%s exports %u names, not the %u of a KD transport: %s",
		      d->arch, names.n, (unsigned)KD_EXPORTS, list);

	/* No ordinal-only exports, no forwarders. */
	unsigned addresses = 0;
	p = after_line(out, "Export Address Table -- Ordinal Base");
	ck_assert_msg(p, "%s: objdump -p shows no export address table", d->arch);
	while (*p) {
		p = take_line(p, line, sizeof(line));
		if (!strstr(line, "+base["))
			break;
		ck_assert_msg(strstr(line, "Export RVA") != NULL, "%s export is not code in the DLL: %s",
			      d->arch, line);
		addresses++;
	}
	ck_assert_msg(addresses == KD_EXPORTS, "%s has %u export addresses for %u names", d->arch,
		      addresses, (unsigned)KD_EXPORTS);
	free(out);
}
END_TEST

/* (b) ntoskrnl.exe only, and from it only what the module needs. */
START_TEST(imports_only_what_it_needs_from_ntoskrnl)
{
	const struct dll *d = &dlls[_i];
	char *out = objdump(d);
	struct names dll_names = { 0 }, members = { 0 };
	char line[256], list[2048];

	const char *p = after_line(out, "The Import Tables");
	ck_assert_msg(p, "%s: objdump -p shows no import table", d->arch);
	/* The import dump ends at the first line that is not indented. */
	bool in_members = false;
	while (*p && (*p == ' ' || *p == '\t' || *p == '\n')) {
		p = take_line(p, line, sizeof(line));
		const char *l = line + strspn(line, " \t");
		if (!strncmp(l, "DLL Name: ", 10)) {
			names_add(&dll_names, l + 10);
			in_members = false;
		} else if (!strncmp(l, "vma:  Hint/Ord Member-Name", 26)) {
			in_members = true;
		} else if (in_members && blank(line)) {
			in_members = false;
		} else if (in_members) {
			unsigned long vma;
			unsigned hint;
			char name[96];
			ck_assert_msg(sscanf(l, "%lx %u %95s", &vma, &hint, name) == 3,
				      "%s: an import objdump shows without a name: %s", d->arch, line);
			names_add(&members, name);
		}
	}
	names_join(&dll_names, list, sizeof(list));
	ck_assert_msg(dll_names.n == 1 && !strcasecmp(dll_names.name[0], "ntoskrnl.exe"),
		      "%s imports from %s; only ntoskrnl.exe is allowed", d->arch, list);
	names_join(&members, list, sizeof(list));
	for (unsigned i = 0; i < members.n; i++) {
		bool allowed = false;
		for (unsigned j = 0; j < NTOSKRNL_IMPORTS; j++)
			allowed |= !strcmp(members.name[i], ntoskrnl_imports[j]);
		ck_assert_msg(allowed, "%s imports %s from ntoskrnl.exe, which it has no use for (imports: %s)",
			      d->arch, members.name[i], list);
	}
	ck_assert_msg(members.n == NTOSKRNL_IMPORTS, "%s imports %u names from ntoskrnl.exe: %s",
		      d->arch, members.n, list);

	/* Nothing imported behind the import table's back. */
	unsigned long rva, size;
	data_directory(out, 'b', &rva, &size);
	ck_assert_msg(rva == 0 && size == 0, "%s has bound imports", d->arch);
	data_directory(out, 'd', &rva, &size);
	ck_assert_msg(rva == 0 && size == 0, "%s has delay-load imports", d->arch);
	free(out);
}
END_TEST

/* (c) A native-subsystem DLL of its machine type, with no entry point, that
 * the kernel can load anywhere. */
START_TEST(native_dll_of_its_machine)
{
	const struct dll *d = &dlls[_i];
	char *out = objdump(d);
	char format[64];

	snprintf(format, sizeof(format), "file format %s\n", d->format);
	ck_assert_msg(strstr(out, format) != NULL, "%s is not %s: %.*s", d->arch, d->format,
		      (int)strcspn(out, "\n"), out);
	const char *magic = header_field(out, "Magic");
	ck_assert_msg(magic && !strncmp(magic, d->magic, 4), "%s optional header magic is %.4s, not %s",
		      d->arch, magic ? magic : "(none)", d->magic);
	unsigned long subsystem = header_hex(out, "Subsystem");
	ck_assert_msg(subsystem == 1, "%s subsystem is %lu, not 1 (native)", d->arch, subsystem);
	unsigned long characteristics = header_hex(out, "Characteristics");
	ck_assert_msg(characteristics & IMAGE_FILE_DLL, "%s is not marked DLL (0x%lx)", d->arch,
		      characteristics);
	ck_assert_msg(!(characteristics & IMAGE_FILE_RELOCS_STRIPPED),
		      "%s has its relocations stripped: the kernel could not load it elsewhere", d->arch);
	unsigned long entry = header_hex(out, "AddressOfEntryPoint");
	ck_assert_msg(entry == 0, "%s has an entry point (0x%lx); kdcom.dll-style DLLs have none",
		      d->arch, entry);
	if (!strcmp(d->arch, "x64")) {
		/* x64 unwinds through our frames only with these tables. */
		unsigned long rva, size;
		data_directory(out, '3', &rva, &size);
		ck_assert_msg(size > 0, "x64 DLL has no exception directory (.pdata)");
	}
	free(out);
}
END_TEST

/* (d) W^X: no section both writable and executable. */
START_TEST(no_writable_executable_section)
{
	const struct dll *d = &dlls[_i];
	char *out = objdump(d);
	struct section s[32];
	unsigned n = sections(out, s, 32);
	bool code = false;

	ck_assert_msg(n > 0, "%s: no sections in objdump -h", d->arch);
	for (unsigned i = 0; i < n; i++) {
		/* bfd shows IMAGE_SCN_MEM_EXECUTE/CNT_CODE as CODE and a section
		 * without IMAGE_SCN_MEM_WRITE as READONLY. */
		bool executable = has_flag(s[i].flags, "CODE");
		bool writable = has_flag(s[i].flags, "ALLOC") && !has_flag(s[i].flags, "READONLY");
		ck_assert_msg(!(executable && writable), "%s section %s is writable and executable (%s)",
			      d->arch, s[i].name, s[i].flags);
		code |= executable;
	}
	ck_assert_msg(code, "%s: no code section at all", d->arch);
	free(out);
}
END_TEST

/* The shared page starts a page of the image, so it is one physical page. */
START_TEST(shared_page_is_page_aligned)
{
	const struct dll *d = &dlls[_i];
	char *out = objdump(d);
	struct section s[32];
	unsigned n = sections(out, s, 32);
	char line[512];
	bool found = false;

	for (const char *p = out; *p && !found;) {
		int sec;
		unsigned long value;
		char name[96];

		p = take_line(p, line, sizeof(line));
		if (sscanf(line, "[%*d](sec %d)(fl %*x)(ty %*x)(scl %*d) (nx %*d) 0x%lx %95s", &sec, &value,
			   name) != 3 ||
		    strcmp(name, d->page_symbol))
			continue;
		found = true;
		ck_assert_msg(sec >= 1 && (unsigned)sec <= n, "%s: %s in unknown section %d", d->arch,
			      name, sec);
		const struct section *in = &s[sec - 1];
		ck_assert_msg(has_flag(in->flags, "ALLOC") && !has_flag(in->flags, "CODE") &&
				      !has_flag(in->flags, "READONLY"),
			      "%s: %s is in %s (%s), not in writable data", d->arch, name, in->name,
			      in->flags);
		unsigned long address = in->vma + value;
		ck_assert_msg(address % PAGE_SIZE == 0, "%s: %s at 0x%lx is not page-aligned", d->arch,
			      name, address);
	}
	ck_assert_msg(found, "%s: no symbol %s in objdump -t (stripped DLL?)", d->arch, d->page_symbol);
	free(out);
}
END_TEST

/* ---- the test kernel loading the DLL (kd=dll) --------------------------------------- */

static uint8_t *read_binary(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	ck_assert_msg(n > 0, "%s is empty", path);
	rewind(f);
	uint8_t *data = malloc((size_t)n);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return data;
}

/* Where the boot image holds the DLL file this build made, byte for byte:
 * exactly once. */
static uint8_t *dll_in_image(uint8_t *image, size_t image_size, const uint8_t *dll,
			     size_t dll_size)
{
	uint8_t *at = memmem(image, image_size, dll, dll_size);

	ck_assert_msg(at, "the boot image does not carry %s as built", BXKD_KDVM_DLL_X86);
	ck_assert_msg(!memmem(at + 1, image_size - (size_t)(at + 1 - image), dll, dll_size),
		      "the boot image carries the DLL twice");
	return at;
}

/* Boots `image` (NULL: the build's) with kernel=workload kd=dll. */
static void boot_kd_dll(const char *image, const char *name, const char *extra_config,
			struct bxh_run *run)
{
	struct bxh_options o;
	char workdir[512];

	bxh_options_init(&o);
	o.image = image ? image : BXKD_GUEST_IMAGE;
	snprintf(workdir, sizeof(workdir), "%s/%s", BXKD_TEST_WORK_DIR, name);
	o.workdir = workdir;
	o.boot_options = "kernel=workload kd=dll rounds=3";
	o.extra_config = extra_config;
	bxh_boot(&o, run);
}

START_TEST(the_boot_image_carries_the_dll_as_built)
{
	size_t image_size, dll_size;
	uint8_t *image = read_binary(BXKD_GUEST_IMAGE, &image_size);
	uint8_t *dll = read_binary(BXKD_KDVM_DLL_X86, &dll_size);

	dll_in_image(image, image_size, dll, dll_size);
	free(image);
	free(dll);
}
END_TEST

/* No kd_endpoint: KdDebuggerInitialize0 fails, and the kernel runs without
 * a debugger, as Windows boots when its transport fails. */
START_TEST(without_an_endpoint_the_kernel_runs_without_a_debugger)
{
	struct bxh_run run;

	boot_kd_dll(NULL, "kdvm_dll_no_endpoint", NULL, &run);
	ck_assert_msg(run.outcome == BXVM_PASSED, "%s", bxh_explain(&run));
	ck_assert_msg(strstr(run.console, "relocations applied, imports resolved from ntoskrnl.exe, "
					  "the nine KD exports found") &&
			      strstr(run.console, "KdDebuggerInitialize0 failed (status 0xc0000001)") &&
			      strstr(run.console, "debugger=no"),
		      "%s", run.console);
	bxh_run_free(&run);
}
END_TEST

/* The boot image with its copy of the DLL damaged one way: the kernel
 * stops before running any of it, with one FATAL line naming the defect. */
START_TEST(the_kernel_refuses_a_damaged_dll)
{
	const struct pe_damage_case *c = &pe_damage_cases[_i];
	size_t image_size, dll_size;
	uint8_t *image = read_binary(BXKD_GUEST_IMAGE, &image_size);
	uint8_t *dll = read_binary(BXKD_KDVM_DLL_X86, &dll_size);
	uint8_t *copy = dll_in_image(image, image_size, dll, dll_size);
	char *dir = socket_dir(), path[600], name[64], want[256];
	struct bxh_run run;

	ck_assert_msg(pe_damage_apply(copy, (uint32_t)dll_size, (enum pe_damage)_i),
		      "cannot make: %s", c->what);
	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/damaged.img", dir);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(image, 1, image_size, f), image_size);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(name, sizeof(name), "kdvm_dll_damaged_%d", _i);
	boot_kd_dll(path, name, NULL, &run);

	snprintf(want, sizeof(want), "kd dll: kdbxkd-x86.dll refused: %s%s%s",
		 pe_verdict_text(c->verdict), c->named ? ": " : "",
		 !c->named ? "" : c->verdict == PE_IMPORT_NOT_PROVIDED ? "ntoskrnl.exe!" : "");
	ck_assert_msg(run.outcome == BXVM_GUEST_FATAL && run.report.fatal &&
			      !strncmp(run.report.fatal, want, strlen(want)) &&
			      (!c->named || strstr(run.report.fatal, c->named)),
		      "%s: want a FATAL line \"%s%s\":\n%s", c->what, want, c->named ? c->named : "",
		      bxh_explain(&run));
	/* Nothing of the DLL ran: no backdoor call at all. */
	ck_assert_msg(!strstr(run.console, "KdDebuggerInitialize0"), "%s", run.console);
	bxh_run_free(&run);
	remove_socket_dir(dir);
	free(image);
	free(dll);
}
END_TEST

BXKD_SUITE(kdvm_dll,
	TCase *tc = testcases_add(s, "image", 60, (const TTest *const[]){ NULL });
	int n = (int)(sizeof(dlls) / sizeof(dlls[0]));

	tcase_add_loop_test(tc, exports_exactly_the_kd_transport, 0, n);
	tcase_add_loop_test(tc, imports_only_what_it_needs_from_ntoskrnl, 0, n);
	tcase_add_loop_test(tc, native_dll_of_its_machine, 0, n);
	tcase_add_loop_test(tc, no_writable_executable_section, 0, n);
	tcase_add_loop_test(tc, shared_page_is_page_aligned, 0, n);
	TCase *loader = testcases_add(s, "kernel_loader", 60, TESTS(
		the_boot_image_carries_the_dll_as_built,
		without_an_endpoint_the_kernel_runs_without_a_debugger));
	tcase_add_loop_test(loader, the_kernel_refuses_a_damaged_dll, 0, PE_DAMAGES);
)

#else /* !BXKD_WINDOWS_DLL */

BXKD_SUITE_NOT_RUN(kdvm_dll, TESTCASES_NO_WINDOWS_DLL)

#endif /* BXKD_WINDOWS_DLL */
