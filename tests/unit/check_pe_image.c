/*
 * check_pe_image.c -- the test kernel's PE loader (guest/kernel/pe_image.c)
 * on the host, over the Windows KD DLLs this build made: the intact x86
 * DLL loads as the kernel loads it (mapped, relocated, imports resolved,
 * the nine KD exports in its code); every deliberately damaged copy
 * (unit/pe_damage.h) is refused with its own verdict and names what it
 * must; so is every truncation of the file; random damage never makes the
 * parser read or write outside its buffers or hand back an RVA outside
 * the image. The x64 DLL reads as PE32+.
 *
 * Needs the DLLs: without mingw-w64 the suite is reported NOT RUN.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "testcases.h"

#ifdef BXKD_WINDOWS_DLL

#include "pe_damage.h"
#include "pe_image.h"

#define LOAD_BASE 0xA0000000u
#define FUZZ_ROUNDS 3000

static uint8_t not_present_flag;
static void physical_address_function(void)
{
}

static const struct pe_provided ntoskrnl[] = {
	{ "KdDebuggerNotPresent", &not_present_flag },
	{ "MmGetPhysicalAddress", (const void *)physical_address_function },
};
#define NTOSKRNL_COUNT 2u

static uint8_t *read_dll(const char *path, uint32_t *size)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f, "%s is missing: `make` builds it (guest/kdvm/local.mk)", path);
	uint8_t *data = malloc(1 << 20);
	ck_assert_ptr_nonnull(data);
	size_t n = fread(data, 1, 1 << 20, f);
	fclose(f);
	ck_assert_msg(n > 0 && n < (1 << 20), "%s: %zu bytes", path, n);
	*size = (uint32_t)n;
	return data;
}

static uint8_t *mapped(const uint8_t *file, uint32_t size, struct pe_headers *h)
{
	ck_assert_int_eq(pe_read_headers(file, size, PE_MACHINE_I386, h), PE_OK);
	uint8_t *image = malloc(h->size_of_image);
	ck_assert_ptr_nonnull(image);
	ck_assert_int_eq(pe_map_image(file, size, h, image, h->size_of_image), PE_OK);
	return image;
}

START_TEST(the_shipped_dll_loads_as_the_kernel_loads_it)
{
	uint32_t size;
	uint8_t *file = read_dll(BXKD_KDVM_DLL_X86, &size);
	struct pe_problem problem;

	ck_assert_int_eq(pe_load_like_the_kernel(file, size, PE_MACHINE_I386, LOAD_BASE, ntoskrnl,
						 NTOSKRNL_COUNT, &problem),
			 PE_OK);

	struct pe_headers h;
	uint8_t *image = mapped(file, size, &h);
	ck_assert(!h.pe32_plus);
	ck_assert_msg(h.image_base != LOAD_BASE, "the test must move the image");
	for (uint32_t i = 0; i < h.section_count; i++) {
		const struct pe_section *s = &h.sections[i];
		ck_assert_msg((s->characteristics & (PE_SCN_WRITE | PE_SCN_EXECUTE)) !=
				      (PE_SCN_WRITE | PE_SCN_EXECUTE),
			      "%s is writable and executable", s->name);
		ck_assert(!memcmp(image + s->virtual_address, file + s->raw_offset, s->raw_size));
	}
	/* The import slots hold the kernel's addresses afterwards. */
	ck_assert_int_eq(pe_resolve_imports(image, &h, "NTOSKRNL.EXE", ntoskrnl, NTOSKRNL_COUNT,
					    &problem),
			 PE_OK);
	uint32_t want[2] = { (uint32_t)(uintptr_t)&not_present_flag,
			     (uint32_t)(uintptr_t)physical_address_function };
	ck_assert_msg(memmem(image, h.size_of_image, want, sizeof(want)),
		      "the import address table does not hold the two addresses");
	free(image);
	free(file);
}
END_TEST

/* Every relocation moves its word by the distance moved: relocating to a
 * base and back gives the same bytes, and there are relocations to do. */
START_TEST(relocating_there_and_back_gives_the_image_back)
{
	uint32_t size, there, back;
	uint8_t *file = read_dll(BXKD_KDVM_DLL_X86, &size);
	struct pe_headers h;
	struct pe_problem problem;
	uint8_t *image = mapped(file, size, &h);
	uint8_t *original = malloc(h.size_of_image);

	memcpy(original, image, h.size_of_image);
	ck_assert_int_eq(pe_relocate(image, &h, LOAD_BASE, &there, &problem), PE_OK);
	ck_assert_uint_gt(there, 0);
	ck_assert(memcmp(image, original, h.size_of_image) != 0);
	uint64_t preferred = h.image_base;
	h.image_base = LOAD_BASE;
	ck_assert_int_eq(pe_relocate(image, &h, preferred, &back, &problem), PE_OK);
	ck_assert_uint_eq(there, back);
	ck_assert(!memcmp(image, original, h.size_of_image));
	free(original);
	free(image);
	free(file);
}
END_TEST

/* pe_export_at lists what pe_find_export finds, at the same RVAs, and
 * ends: the nine KD exports among them (Bochs' debugger gets these names,
 * launcher/bochs_debugger.c). */
START_TEST(the_exports_one_by_one_are_those_found_by_name)
{
	static const char *const kd_exports[] = {
		"KdDebuggerInitialize0", "KdDebuggerInitialize1", "KdSendPacket",
		"KdReceivePacket",	 "KdD0Transition",	  "KdD3Transition",
		"KdSave",		 "KdRestore",		  "KdSetHiberRange",
	};
	uint32_t size, listed = 0, kd_found = 0;
	uint8_t *file = read_dll(BXKD_KDVM_DLL_X86, &size);
	struct pe_headers h;
	struct pe_problem problem;
	uint8_t *image = mapped(file, size, &h);
	enum pe_verdict v;

	for (uint32_t i = 0;; i++) {
		const char *name = NULL;
		uint32_t rva = 0, found = 0;
		v = pe_export_at(image, &h, i, &name, &rva, &problem);
		if (v != PE_OK)
			break;
		ck_assert_ptr_nonnull(name);
		ck_assert_int_eq(pe_find_export(image, &h, name, &found, &problem), PE_OK);
		ck_assert_uint_eq(rva, found);
		for (size_t k = 0; k < sizeof(kd_exports) / sizeof(*kd_exports); k++)
			kd_found += !strcmp(name, kd_exports[k]);
		listed++;
	}
	ck_assert_int_eq(v, PE_EXPORT_MISSING);
	ck_assert_uint_eq(kd_found, 9);
	ck_assert_uint_ge(listed, 9);
	free(image);
	free(file);
}
END_TEST

START_TEST(each_damaged_copy_is_refused_naming_its_defect)
{
	const struct pe_damage_case *c = &pe_damage_cases[_i];
	uint32_t size;
	uint8_t *file = read_dll(BXKD_KDVM_DLL_X86, &size);
	struct pe_problem problem;

	ck_assert_msg(pe_damage_apply(file, size, (enum pe_damage)_i), "cannot make: %s", c->what);
	enum pe_verdict v = pe_load_like_the_kernel(file, size, PE_MACHINE_I386, LOAD_BASE,
						    ntoskrnl, NTOSKRNL_COUNT, &problem);
	ck_assert_msg(v == c->verdict, "%s: got \"%s\", want \"%s\"", c->what, pe_verdict_text(v),
		      pe_verdict_text(c->verdict));
	if (c->named)
		ck_assert_str_eq(problem.name, c->named);
	free(file);
}
END_TEST

START_TEST(an_import_the_kernel_does_not_provide_is_named)
{
	uint32_t size;
	uint8_t *file = read_dll(BXKD_KDVM_DLL_X86, &size);
	struct pe_problem problem;

	ck_assert_int_eq(pe_load_like_the_kernel(file, size, PE_MACHINE_I386, LOAD_BASE, ntoskrnl,
						 1, &problem),
			 PE_IMPORT_NOT_PROVIDED);
	ck_assert_str_eq(problem.name, "MmGetPhysicalAddress");
	free(file);
}
END_TEST

START_TEST(an_x86_dll_is_not_loaded_as_x64)
{
	uint32_t size;
	uint8_t *file = read_dll(BXKD_KDVM_DLL_X86, &size);
	struct pe_headers h;

	ck_assert_int_eq(pe_read_headers(file, size, PE_MACHINE_AMD64, &h), PE_WRONG_MACHINE);
	free(file);
}
END_TEST

/* Every prefix of the file shorter than its last section's data. */
START_TEST(every_truncation_is_refused)
{
	uint32_t size, needed = 0;
	uint8_t *file = read_dll(BXKD_KDVM_DLL_X86, &size);
	struct pe_headers h;
	struct pe_problem problem;

	ck_assert_int_eq(pe_read_headers(file, size, PE_MACHINE_I386, &h), PE_OK);
	for (uint32_t i = 0; i < h.section_count; i++) {
		uint32_t end = h.sections[i].raw_offset + h.sections[i].raw_size;
		needed = end > needed ? end : needed;
	}
	for (uint32_t length = 0; length < needed; length++) {
		uint8_t *copy = malloc(length ? length : 1);
		memcpy(copy, file, length);
		enum pe_verdict v = pe_load_like_the_kernel(copy, length, PE_MACHINE_I386, LOAD_BASE,
							    ntoskrnl, NTOSKRNL_COUNT, &problem);
		ck_assert_msg(v == PE_TRUNCATED || v == PE_SECTION_OUTSIDE_FILE,
			      "%u of %u bytes: \"%s\"", length, size, pe_verdict_text(v));
		free(copy);
	}
	free(file);
}
END_TEST

/* Random damage, a few bytes at a time, in a buffer exactly the file's
 * size: whatever the verdict, nothing out of bounds (pe_load_like_the_kernel
 * aborts on an export outside the image), and valgrind or ASan builds see
 * every access. */
START_TEST(random_damage_never_escapes_the_buffers)
{
	uint32_t size, seed = 0x62786b64;
	uint8_t *file = read_dll(BXKD_KDVM_DLL_X86, &size);
	uint8_t *copy = malloc(size);
	struct pe_problem problem;
	unsigned refused = 0;

	for (int round = 0; round < FUZZ_ROUNDS; round++) {
		memcpy(copy, file, size);
		for (int n = 1 + round % 8; n > 0; n--) {
			seed = seed * 1103515245u + 12345u;
			/* Mostly the headers and tables, where the offsets are. */
			uint32_t span = (seed >> 4) % 4 ? 0x600 : size;
			copy[(seed >> 8) % span] = (uint8_t)(seed >> 24);
		}
		if (pe_load_like_the_kernel(copy, size, PE_MACHINE_I386, LOAD_BASE, ntoskrnl,
					    NTOSKRNL_COUNT, &problem) != PE_OK)
			refused++;
	}
	ck_assert_uint_gt(refused, 0);
	free(copy);
	free(file);
}
END_TEST

/* Ready for issue 15: the x64 DLL reads as PE32+, and loads. */
START_TEST(the_x64_dll_reads_as_pe32_plus)
{
	uint32_t size;
	uint8_t *file = read_dll(BXKD_KDVM_DLL_X64, &size);
	struct pe_headers h;
	struct pe_problem problem;

	ck_assert_int_eq(pe_read_headers(file, size, PE_MACHINE_AMD64, &h), PE_OK);
	ck_assert(h.pe32_plus);
	ck_assert_int_eq(pe_load_like_the_kernel(file, size, PE_MACHINE_AMD64, 0xFFFFF80000000000ull,
						 ntoskrnl, NTOSKRNL_COUNT, &problem),
			 PE_OK);
	free(file);
}
END_TEST

BXKD_SUITE(pe_image,
	TCase *tc = testcases_add(s, "loader", 120, TESTS(
		the_shipped_dll_loads_as_the_kernel_loads_it,
		relocating_there_and_back_gives_the_image_back,
		the_exports_one_by_one_are_those_found_by_name,
		an_import_the_kernel_does_not_provide_is_named,
		an_x86_dll_is_not_loaded_as_x64,
		every_truncation_is_refused,
		random_damage_never_escapes_the_buffers,
		the_x64_dll_reads_as_pe32_plus));
	tcase_add_loop_test(tc, each_damaged_copy_is_refused_naming_its_defect, 0, PE_DAMAGES);
)

#else /* !BXKD_WINDOWS_DLL */

BXKD_SUITE_NOT_RUN(pe_image, TESTCASES_NO_WINDOWS_DLL)

#endif /* BXKD_WINDOWS_DLL */
