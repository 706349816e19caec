/*
 * pe_image.c -- reading and mapping a PE image (pe_image.h).
 *
 * Layouts: the PE/COFF specification (IMAGE_DOS_HEADER, IMAGE_FILE_HEADER,
 * IMAGE_OPTIONAL_HEADER32/64, IMAGE_SECTION_HEADER, the base relocation,
 * import and export directories); the offsets below are theirs. Fields are
 * read byte by byte, little-endian, so nothing depends on the buffer's
 * alignment or on the host's byte order.
 */
#include "pe_image.h"

#include <stddef.h>

/* Freestanding: the kernel links its own memcpy/memset (kstring.c), the host
 * its C library's. */
#define copy_bytes(dst, src, n) __builtin_memcpy((dst), (src), (n))
#define zero_bytes(dst, n) __builtin_memset((dst), 0, (n))

#define DOS_HEADER_SIZE 64u
#define DOS_LFANEW 0x3cu
#define FILE_HEADER_SIZE 20u
#define SECTION_HEADER_SIZE 40u
#define OPTIONAL_MAGIC_PE32 0x10bu
#define OPTIONAL_MAGIC_PE32_PLUS 0x20bu
#define FILE_RELOCS_STRIPPED 0x0001u
#define FILE_DLL 0x2000u
#define DIRECTORY_EXPORT 0u
#define DIRECTORY_IMPORT 1u
#define DIRECTORY_BASERELOC 5u
#define RELOC_ABSOLUTE 0u
#define RELOC_HIGHLOW 3u
#define RELOC_DIR64 10u
#define IMPORT_DESCRIPTOR_SIZE 20u
#define EXPORT_DIRECTORY_SIZE 40u

const char *pe_verdict_text(enum pe_verdict verdict)
{
	static const char *const text[] = {
#define PE_VERDICT_TEXT(name, line) [name] = line,
		PE_VERDICTS(PE_VERDICT_TEXT)
#undef PE_VERDICT_TEXT
	};

	if ((unsigned)verdict >= sizeof(text) / sizeof(text[0]) || !text[verdict])
		return "unknown verdict";
	return text[verdict];
}

/* ---- bytes -------------------------------------------------------------------- */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

/* [offset, offset + length) lies inside `size` bytes, without overflow. */
static bool inside(uint32_t offset, uint32_t length, uint32_t size)
{
	return offset <= size && length <= size - offset;
}

static uint32_t page_up(uint32_t n)
{
	return (n + (PE_PAGE_SIZE - 1)) & ~(PE_PAGE_SIZE - 1);
}

static void problem_set(struct pe_problem *problem, enum pe_verdict verdict, uint32_t rva,
			const char *name)
{
	if (!problem)
		return;
	problem->verdict = verdict;
	problem->rva = rva;
	problem->name[0] = '\0';
	for (uint32_t i = 0; name && name[i] && i + 1 < PE_NAME_MAX; i++) {
		problem->name[i] = name[i];
		problem->name[i + 1] = '\0';
	}
}

/* The NUL-terminated string at `rva` of the image, or NULL if it does not
 * end inside it. */
static const char *image_string(const uint8_t *image, uint32_t size, uint32_t rva)
{
	for (uint32_t at = rva; at < size; at++) {
		if (image[at] == 0)
			return (const char *)image + rva;
	}
	return NULL;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool same_name(const char *a, const char *b, bool ignoring_case)
{
	while (*a && (ignoring_case ? lower(*a) == lower(*b) : *a == *b)) {
		a++;
		b++;
	}
	return ignoring_case ? lower(*a) == lower(*b) : *a == *b;
}

/* ---- headers ------------------------------------------------------------------- */

static enum pe_verdict read_sections(const uint8_t *file, uint32_t size, uint32_t table,
				     struct pe_headers *h)
{
	uint32_t next_free = page_up(h->size_of_headers);

	if (!inside(table, h->section_count * SECTION_HEADER_SIZE, size))
		return PE_TRUNCATED;
	/* The section table is part of the headers the image maps. */
	if (!inside(table, h->section_count * SECTION_HEADER_SIZE, h->size_of_headers))
		return PE_BAD_OPTIONAL_HEADER;
	for (uint32_t i = 0; i < h->section_count; i++) {
		const uint8_t *p = file + table + i * SECTION_HEADER_SIZE;
		struct pe_section *s = &h->sections[i];

		copy_bytes(s->name, p, 8);
		s->name[8] = '\0';
		uint32_t virtual_size = rd32(p + 8);
		s->virtual_address = rd32(p + 12);
		s->raw_size = rd32(p + 16);
		s->raw_offset = rd32(p + 20);
		s->characteristics = rd32(p + 36);
		/* A virtual size of 0 means the raw data's size; raw data
		 * beyond the virtual size is file padding, not image. */
		s->virtual_size = virtual_size ? virtual_size : s->raw_size;
		if (s->raw_size > s->virtual_size)
			s->raw_size = s->virtual_size;
		if (s->raw_size && !inside(s->raw_offset, s->raw_size, size))
			return PE_SECTION_OUTSIDE_FILE;
		if (s->virtual_address % PE_PAGE_SIZE)
			return PE_BAD_ALIGNMENT;
		if (s->virtual_address < next_free || s->virtual_size == 0 ||
		    !inside(s->virtual_address, page_up(s->virtual_size), h->size_of_image) ||
		    page_up(s->virtual_size) < s->virtual_size)
			return PE_SECTION_OUTSIDE_IMAGE;
		if ((s->characteristics & (PE_SCN_WRITE | PE_SCN_EXECUTE)) ==
		    (PE_SCN_WRITE | PE_SCN_EXECUTE))
			return PE_WRITABLE_AND_EXECUTABLE;
		next_free = s->virtual_address + page_up(s->virtual_size);
	}
	return PE_OK;
}

static enum pe_verdict read_directory(const uint8_t *dirs, uint32_t count, uint32_t index,
				      uint32_t size_of_image, struct pe_directory *d)
{
	d->rva = d->size = 0;
	if (index >= count)
		return PE_OK;
	d->rva = rd32(dirs + index * 8);
	d->size = rd32(dirs + index * 8 + 4);
	if (d->size && !inside(d->rva, d->size, size_of_image))
		return PE_DIRECTORY_OUTSIDE_IMAGE;
	return PE_OK;
}

enum pe_verdict pe_read_headers(const uint8_t *file, uint32_t size, uint16_t machine,
				struct pe_headers *h)
{
	zero_bytes(h, sizeof(*h));
	if (size < DOS_HEADER_SIZE)
		return PE_TRUNCATED;
	if (file[0] != 'M' || file[1] != 'Z')
		return PE_BAD_MZ;
	uint32_t pe = rd32(file + DOS_LFANEW);
	if (pe < DOS_HEADER_SIZE || pe % 4)
		return PE_BAD_PE_SIGNATURE;
	if (!inside(pe, 4 + FILE_HEADER_SIZE + 2, size))
		return PE_TRUNCATED;
	if (rd32(file + pe) != 0x00004550u) /* "PE\0\0" */
		return PE_BAD_PE_SIGNATURE;
	const uint8_t *fh = file + pe + 4;
	h->machine = rd16(fh);
	h->section_count = rd16(fh + 2);
	uint32_t optional_size = rd16(fh + 16);
	h->characteristics = rd16(fh + 18);
	if (h->machine != machine)
		return PE_WRONG_MACHINE;
	if (!(h->characteristics & FILE_DLL))
		return PE_NOT_A_DLL;

	uint32_t optional = pe + 4 + FILE_HEADER_SIZE;
	if (!inside(optional, optional_size, size))
		return PE_TRUNCATED;
	const uint8_t *oh = file + optional;
	uint16_t magic = rd16(oh);
	h->pe32_plus = magic == OPTIONAL_MAGIC_PE32_PLUS;
	uint32_t dirs_at = h->pe32_plus ? 112 : 96;
	if ((magic != OPTIONAL_MAGIC_PE32 && magic != OPTIONAL_MAGIC_PE32_PLUS) ||
	    h->pe32_plus != (machine == PE_MACHINE_AMD64) || optional_size < dirs_at)
		return PE_BAD_OPTIONAL_HEADER;
	uint32_t dir_count = rd32(oh + dirs_at - 4);
	if (dir_count > (optional_size - dirs_at) / 8)
		return PE_BAD_OPTIONAL_HEADER;
	h->entry_point = rd32(oh + 16);
	h->image_base = h->pe32_plus ? rd64(oh + 24) : rd32(oh + 28);
	uint32_t section_alignment = rd32(oh + 32);
	h->size_of_image = rd32(oh + 56);
	h->size_of_headers = rd32(oh + 60);
	if (section_alignment != PE_PAGE_SIZE || h->size_of_image % PE_PAGE_SIZE ||
	    h->image_base % 0x10000u)
		return PE_BAD_ALIGNMENT;
	if (h->size_of_headers > size)
		return PE_TRUNCATED;
	if (h->size_of_headers < optional + optional_size ||
	    h->size_of_headers > h->size_of_image)
		return PE_BAD_OPTIONAL_HEADER;
	if (h->section_count == 0 || h->section_count > PE_MAX_SECTIONS)
		return PE_TOO_MANY_SECTIONS;

	const uint8_t *dirs = oh + dirs_at;
	enum pe_verdict v = read_directory(dirs, dir_count, DIRECTORY_EXPORT, h->size_of_image,
					   &h->exports);
	if (v == PE_OK)
		v = read_directory(dirs, dir_count, DIRECTORY_IMPORT, h->size_of_image, &h->imports);
	if (v == PE_OK)
		v = read_directory(dirs, dir_count, DIRECTORY_BASERELOC, h->size_of_image,
				   &h->relocations);
	if (v != PE_OK)
		return v;
	return read_sections(file, size, optional + optional_size, h);
}

const struct pe_section *pe_section_at(const struct pe_headers *h, uint32_t rva)
{
	for (uint32_t i = 0; i < h->section_count; i++) {
		const struct pe_section *s = &h->sections[i];
		if (rva >= s->virtual_address && rva - s->virtual_address < s->virtual_size)
			return s;
	}
	return NULL;
}

/* ---- mapping -------------------------------------------------------------------- */

enum pe_verdict pe_map_image(const uint8_t *file, uint32_t size, const struct pe_headers *h,
			     uint8_t *image, uint32_t room)
{
	if (h->size_of_image > room)
		return PE_IMAGE_TOO_LARGE;
	if (h->size_of_headers > size)
		return PE_TRUNCATED;
	zero_bytes(image, h->size_of_image);
	copy_bytes(image, file, h->size_of_headers);
	for (uint32_t i = 0; i < h->section_count; i++) {
		const struct pe_section *s = &h->sections[i];
		if (!inside(s->raw_offset, s->raw_size, size))
			return PE_SECTION_OUTSIDE_FILE;
		if (!inside(s->virtual_address, s->virtual_size, h->size_of_image))
			return PE_SECTION_OUTSIDE_IMAGE;
		copy_bytes(image + s->virtual_address, file + s->raw_offset, s->raw_size);
	}
	return PE_OK;
}

/* One block of the .reloc directory: 8 bytes of page and size, then 16-bit
 * entries (type in the top 4 bits, offset in the page below). */
static enum pe_verdict relocate_block(uint8_t *image, const struct pe_headers *h, uint32_t block,
				      uint32_t block_size, uint64_t delta, uint32_t *relocated,
				      struct pe_problem *problem)
{
	uint32_t page = rd32(image + block);

	for (uint32_t at = block + 8; at + 2 <= block + block_size; at += 2) {
		uint16_t entry = rd16(image + at);
		uint32_t type = entry >> 12;
		uint32_t target = page + (entry & 0x0fffu);
		uint32_t width = type == RELOC_DIR64 ? 8 : 4;

		if (type == RELOC_ABSOLUTE)
			continue;
		if (type != (h->pe32_plus ? RELOC_DIR64 : RELOC_HIGHLOW)) {
			problem_set(problem, PE_BAD_RELOCATION_TYPE, at, NULL);
			return PE_BAD_RELOCATION_TYPE;
		}
		if (target < page || !inside(target, width, h->size_of_image)) {
			problem_set(problem, PE_RELOCATION_OUTSIDE_IMAGE, target, NULL);
			return PE_RELOCATION_OUTSIDE_IMAGE;
		}
		if (width == 8)
			wr64(image + target, rd64(image + target) + delta);
		else
			wr32(image + target, rd32(image + target) + (uint32_t)delta);
		(*relocated)++;
	}
	return PE_OK;
}

enum pe_verdict pe_relocate(uint8_t *image, const struct pe_headers *h, uint64_t load_base,
			    uint32_t *relocated, struct pe_problem *problem)
{
	const struct pe_directory *d = &h->relocations;
	uint64_t delta = load_base - h->image_base;

	*relocated = 0;
	problem_set(problem, PE_OK, 0, NULL);
	if (delta == 0)
		return PE_OK;
	if (d->size == 0) {
		if (!(h->characteristics & FILE_RELOCS_STRIPPED))
			return PE_OK; /* nothing to fix up: all addressing is relative */
		problem_set(problem, PE_RELOCATIONS_STRIPPED, 0, NULL);
		return PE_RELOCATIONS_STRIPPED;
	}
	if (!inside(d->rva, d->size, h->size_of_image)) {
		problem_set(problem, PE_RELOCATION_OUTSIDE_IMAGE, d->rva, NULL);
		return PE_RELOCATION_OUTSIDE_IMAGE;
	}
	for (uint32_t block = d->rva; block < d->rva + d->size;) {
		uint32_t left = d->rva + d->size - block;
		uint32_t block_size = left >= 8 ? rd32(image + block + 4) : 0;
		if (block_size < 8 || block_size > left || block_size % 2) {
			problem_set(problem, PE_RELOCATION_OUTSIDE_IMAGE, block, NULL);
			return PE_RELOCATION_OUTSIDE_IMAGE;
		}
		enum pe_verdict v = relocate_block(image, h, block, block_size, delta, relocated,
						   problem);
		if (v != PE_OK)
			return v;
		block += block_size;
	}
	return PE_OK;
}

/* ---- imports -------------------------------------------------------------------- */

static const struct pe_provided *provided_named(const struct pe_provided *provided,
						uint32_t count, const char *name)
{
	for (uint32_t i = 0; i < count; i++) {
		if (same_name(provided[i].name, name, false))
			return &provided[i];
	}
	return NULL;
}

/* The thunks of one descriptor: the names from the lookup table (or, if the
 * linker left none, the address table itself), addresses into the address
 * table. */
static enum pe_verdict resolve_thunks(uint8_t *image, const struct pe_headers *h, uint32_t lookup,
				      uint32_t slots, const struct pe_provided *provided,
				      uint32_t count, struct pe_problem *problem)
{
	uint32_t width = h->pe32_plus ? 8 : 4;
	uint32_t size = h->size_of_image;

	if (lookup >= size || slots >= size) {
		problem_set(problem, PE_BAD_IMPORT_TABLE, lookup >= size ? lookup : slots, NULL);
		return PE_BAD_IMPORT_TABLE;
	}
	for (uint32_t i = 0;; i++) {
		uint32_t at = lookup + i * width, slot = slots + i * width;
		if (i > size / width || !inside(at, width, size) || !inside(slot, width, size)) {
			problem_set(problem, PE_BAD_IMPORT_TABLE, at, NULL);
			return PE_BAD_IMPORT_TABLE;
		}
		uint64_t thunk = width == 8 ? rd64(image + at) : rd32(image + at);
		if (thunk == 0)
			return PE_OK;
		if (thunk >> (width * 8 - 1)) {
			problem_set(problem, PE_IMPORT_BY_ORDINAL, at, NULL);
			return PE_IMPORT_BY_ORDINAL;
		}
		/* IMAGE_IMPORT_BY_NAME: a 16-bit hint, then the name. */
		const char *name = thunk <= UINT32_MAX - 2
					   ? image_string(image, size, (uint32_t)thunk + 2)
					   : NULL;
		if (!name) {
			problem_set(problem, PE_BAD_IMPORT_TABLE, at, NULL);
			return PE_BAD_IMPORT_TABLE;
		}
		const struct pe_provided *p = provided_named(provided, count, name);
		if (!p) {
			problem_set(problem, PE_IMPORT_NOT_PROVIDED, slot, name);
			return PE_IMPORT_NOT_PROVIDED;
		}
		if (width == 8)
			wr64(image + slot, (uintptr_t)p->address);
		else
			wr32(image + slot, (uint32_t)(uintptr_t)p->address);
	}
}

enum pe_verdict pe_resolve_imports(uint8_t *image, const struct pe_headers *h, const char *dll,
				   const struct pe_provided *provided, uint32_t count,
				   struct pe_problem *problem)
{
	const struct pe_directory *d = &h->imports;
	uint32_t size = h->size_of_image;

	problem_set(problem, PE_OK, 0, NULL);
	if (d->size == 0)
		return PE_OK;
	for (uint32_t at = d->rva;; at += IMPORT_DESCRIPTOR_SIZE) {
		if (!inside(at, IMPORT_DESCRIPTOR_SIZE, size)) {
			problem_set(problem, PE_BAD_IMPORT_TABLE, at, NULL);
			return PE_BAD_IMPORT_TABLE;
		}
		uint32_t lookup = rd32(image + at), name_rva = rd32(image + at + 12);
		uint32_t slots = rd32(image + at + 16);
		if (name_rva == 0 && slots == 0)
			return PE_OK;
		const char *name = image_string(image, size, name_rva);
		if (!name || slots == 0) {
			problem_set(problem, PE_BAD_IMPORT_TABLE, at, NULL);
			return PE_BAD_IMPORT_TABLE;
		}
		if (!same_name(name, dll, true)) {
			problem_set(problem, PE_IMPORT_FROM_UNKNOWN_DLL, name_rva, name);
			return PE_IMPORT_FROM_UNKNOWN_DLL;
		}
		enum pe_verdict v = resolve_thunks(image, h, lookup ? lookup : slots, slots,
						   provided, count, problem);
		if (v != PE_OK)
			return v;
	}
}

/* ---- exports -------------------------------------------------------------------- */

enum pe_verdict pe_export_at(const uint8_t *image, const struct pe_headers *h, uint32_t index,
			     const char **name, uint32_t *rva, struct pe_problem *problem)
{
	const struct pe_directory *d = &h->exports;
	uint32_t size = h->size_of_image;

	problem_set(problem, PE_OK, 0, NULL);
	if (d->size < EXPORT_DIRECTORY_SIZE || !inside(d->rva, d->size, size)) {
		problem_set(problem, d->size ? PE_BAD_EXPORT_TABLE : PE_EXPORT_MISSING, d->rva,
			    NULL);
		return problem->verdict;
	}
	const uint8_t *e = image + d->rva;
	uint32_t functions = rd32(e + 20), names = rd32(e + 24);
	uint32_t function_rvas = rd32(e + 28), name_rvas = rd32(e + 32), ordinals = rd32(e + 36);
	if (functions > size / 4 || names > size / 4 || !inside(function_rvas, functions * 4, size) ||
	    !inside(name_rvas, names * 4, size) || !inside(ordinals, names * 2, size)) {
		problem_set(problem, PE_BAD_EXPORT_TABLE, d->rva, NULL);
		return PE_BAD_EXPORT_TABLE;
	}
	if (index >= names) {
		problem_set(problem, PE_EXPORT_MISSING, 0, NULL);
		return PE_EXPORT_MISSING;
	}
	const char *exported = image_string(image, size, rd32(image + name_rvas + index * 4));
	if (!exported) {
		problem_set(problem, PE_BAD_EXPORT_TABLE, name_rvas + index * 4, NULL);
		return PE_BAD_EXPORT_TABLE;
	}
	*name = exported;
	uint32_t ordinal = rd16(image + ordinals + index * 2);
	if (ordinal >= functions) {
		problem_set(problem, PE_BAD_EXPORT_TABLE, ordinals + index * 2, exported);
		return PE_BAD_EXPORT_TABLE;
	}
	uint32_t at = rd32(image + function_rvas + ordinal * 4);
	const struct pe_section *s = pe_section_at(h, at);
	/* An RVA inside the export directory is a forwarder string. */
	bool forwarded = at >= d->rva && at - d->rva < d->size;
	if (forwarded || !s || !(s->characteristics & PE_SCN_EXECUTE)) {
		problem_set(problem, PE_EXPORT_NOT_CODE, at, exported);
		return PE_EXPORT_NOT_CODE;
	}
	*rva = at;
	return PE_OK;
}

enum pe_verdict pe_find_export(const uint8_t *image, const struct pe_headers *h, const char *name,
			       uint32_t *rva, struct pe_problem *problem)
{
	struct pe_problem found;

	for (uint32_t index = 0;; index++) {
		const char *exported = NULL;
		uint32_t at = 0;
		enum pe_verdict v = pe_export_at(image, h, index, &exported, &at, &found);
		/* Another export's defect is not this one's. */
		if (exported && !same_name(exported, name, false))
			continue;
		problem_set(problem, v, found.rva, v == PE_OK ? NULL : name);
		if (v == PE_OK)
			*rva = at;
		return v;
	}
}
