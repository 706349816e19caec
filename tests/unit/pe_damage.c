/*
 * pe_damage.c -- damaged copies of the KD DLL (pe_damage.h).
 */
#include "config.h"

#include "pe_damage.h"

#include <stdlib.h>
#include <string.h>

#define DOS_LFANEW 0x3cu
#define SECTION_HEADER_SIZE 40u
#define KERNEL_DLL_ROOM (64u * 1024u)

const struct pe_damage_case pe_damage_cases[PE_DAMAGES] = {
	[DAMAGE_MZ] = { "bad MZ signature", PE_BAD_MZ, NULL },
	[DAMAGE_PE_SIGNATURE] = { "bad PE signature", PE_BAD_PE_SIGNATURE, NULL },
	[DAMAGE_MACHINE] = { "x64 machine type", PE_WRONG_MACHINE, NULL },
	[DAMAGE_SECTION_PAST_FILE] = { "section data past the file's end", PE_SECTION_OUTSIDE_FILE,
				       NULL },
	[DAMAGE_SECTION_OUTSIDE_IMAGE] = { "section past SizeOfImage", PE_SECTION_OUTSIDE_IMAGE,
					   NULL },
	[DAMAGE_WRITABLE_CODE] = { "writable .text", PE_WRITABLE_AND_EXECUTABLE, NULL },
	[DAMAGE_RELOCATION_OUTSIDE] = { "relocation past the image", PE_RELOCATION_OUTSIDE_IMAGE,
					NULL },
	[DAMAGE_UNKNOWN_IMPORT] = { "import of MmMapIoSpace", PE_IMPORT_NOT_PROVIDED,
				    "MmMapIoSpace" },
	[DAMAGE_MISSING_EXPORT] = { "no KdSendPacket export", PE_EXPORT_MISSING, "KdSendPacket" },
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Where the file holds `text` with its NUL, once; NULL otherwise. */
static uint8_t *find_name(uint8_t *file, uint32_t size, const char *text)
{
	size_t n = strlen(text) + 1;
	uint8_t *at = memmem(file, size, text, n);

	return at && !memmem(at + 1, size - (uint32_t)(at + 1 - file), text, n) ? at : NULL;
}

static uint8_t *section_header(uint8_t *file, uint32_t index)
{
	uint32_t pe = rd32(file + DOS_LFANEW);
	uint32_t optional_size = (uint32_t)(file[pe + 20] | file[pe + 21] << 8);

	return file + pe + 24 + optional_size + index * SECTION_HEADER_SIZE;
}

/* The file offset of an RVA inside a section's raw data, or 0. */
static uint32_t file_offset(const struct pe_headers *h, uint32_t rva)
{
	const struct pe_section *s = pe_section_at(h, rva);

	if (!s || rva - s->virtual_address >= s->raw_size)
		return 0;
	return s->raw_offset + (rva - s->virtual_address);
}

bool pe_damage_apply(uint8_t *file, uint32_t size, enum pe_damage damage)
{
	struct pe_headers h;
	uint8_t *at;

	if (pe_read_headers(file, size, PE_MACHINE_I386, &h) != PE_OK)
		return false;
	uint32_t pe = rd32(file + DOS_LFANEW);
	switch (damage) {
	case DAMAGE_MZ:
		file[0] = 'X';
		return true;
	case DAMAGE_PE_SIGNATURE:
		file[pe + 1] = 'X';
		return true;
	case DAMAGE_MACHINE:
		file[pe + 4] = (uint8_t)PE_MACHINE_AMD64;
		file[pe + 5] = (uint8_t)(PE_MACHINE_AMD64 >> 8);
		return true;
	case DAMAGE_SECTION_PAST_FILE:
		for (uint32_t i = h.section_count; i-- > 0;) {
			if (h.sections[i].raw_size) {
				at = section_header(file, i);
				wr32(at + 16, size - h.sections[i].raw_offset + 0x200);
				wr32(at + 8, size - h.sections[i].raw_offset + 0x200);
				return true;
			}
		}
		return false;
	case DAMAGE_SECTION_OUTSIDE_IMAGE:
		wr32(section_header(file, h.section_count - 1) + 12, h.size_of_image);
		return true;
	case DAMAGE_WRITABLE_CODE:
		for (uint32_t i = 0; i < h.section_count; i++) {
			if (h.sections[i].characteristics & PE_SCN_EXECUTE) {
				at = section_header(file, i) + 36;
				wr32(at, rd32(at) | PE_SCN_WRITE);
				return true;
			}
		}
		return false;
	case DAMAGE_RELOCATION_OUTSIDE: {
		uint32_t block = h.relocations.size ? file_offset(&h, h.relocations.rva) : 0;
		if (!block)
			return false;
		wr32(file + block, h.size_of_image);
		return true;
	}
	case DAMAGE_UNKNOWN_IMPORT:
		at = find_name(file, size, "MmGetPhysicalAddress");
		if (at)
			memcpy(at, "MmMapIoSpace", sizeof("MmMapIoSpace"));
		return at != NULL;
	case DAMAGE_MISSING_EXPORT:
		at = find_name(file, size, "KdSendPacket");
		if (at)
			at[strlen("KdSendPacket") - 1] = 'T';
		return at != NULL;
	case PE_DAMAGES:
		break;
	}
	return false;
}

enum pe_verdict pe_load_like_the_kernel(const uint8_t *file, uint32_t size, uint16_t machine,
					uint64_t load_base, const struct pe_provided *provided,
					uint32_t count, struct pe_problem *problem)
{
	static const char *const kd_exports[] = {
		"KdDebuggerInitialize0", "KdDebuggerInitialize1", "KdSendPacket",
		"KdReceivePacket",	 "KdD0Transition",	  "KdD3Transition",
		"KdSave",		 "KdRestore",		  "KdSetHiberRange",
	};
	struct pe_headers h;
	uint32_t relocated, rva;

	memset(problem, 0, sizeof(*problem));
	enum pe_verdict v = pe_read_headers(file, size, machine, &h);
	if (v != PE_OK)
		return problem->verdict = v;
	/* The kernel's room (kd_dll.c), allocated to the byte so that a
	 * memory checker sees any access past it. */
	uint8_t *image = malloc(KERNEL_DLL_ROOM);
	if (!image)
		abort();
	v = pe_map_image(file, size, &h, image, KERNEL_DLL_ROOM);
	if (v == PE_OK)
		v = pe_relocate(image, &h, load_base, &relocated, problem);
	if (v == PE_OK)
		v = pe_resolve_imports(image, &h, "ntoskrnl.exe", provided, count, problem);
	for (size_t i = 0; v == PE_OK && i < sizeof(kd_exports) / sizeof(kd_exports[0]); i++) {
		v = pe_find_export(image, &h, kd_exports[i], &rva, problem);
		if (v == PE_OK && (rva >= h.size_of_image || !pe_section_at(&h, rva)))
			abort(); /* the parser promised an RVA inside the image's code */
	}
	free(image);
	problem->verdict = v;
	return v;
}
