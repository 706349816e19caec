/*
 * pe_image.h -- reading and mapping a Windows PE image (a KD transport DLL)
 * as Windows' loader does, over byte buffers only.
 *
 * Sans-I/O and freestanding (memcpy/memset): the test kernel runs it on the
 * DLL its image carries (kd_dll.c), and the host's unit tests and fuzzers
 * run it on damaged copies (tests/unit/check_pe_image.c). Every offset,
 * size and RVA read from the file is checked against the file or the image
 * before use; a defect ends the step with a verdict, and `struct pe_problem`
 * names what was wrong (an import's name, a missing export's, an RVA).
 *
 * The steps, in the order a loader takes them:
 *   pe_read_headers     DOS and PE headers, machine, optional header (PE32
 *                       or PE32+), data directories, section table
 *   pe_map_image        headers and sections copied into the image buffer,
 *                       the rest zeroed
 *   pe_relocate         base relocations applied for the load address
 *   pe_resolve_imports  every import found by name in the caller's table
 *                       and its address written into the import slot
 *   pe_find_export      an export's RVA by name
 *   pe_export_at        the exports one by one (a debugger's symbol table)
 */
#ifndef GUEST_PE_IMAGE_H
#define GUEST_PE_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#define PE_MACHINE_I386 0x014cu
#define PE_MACHINE_AMD64 0x8664u
#define PE_PAGE_SIZE 4096u
#define PE_MAX_SECTIONS 16u
#define PE_NAME_MAX 64u

/* Each verdict and its line of text (pe_verdict_text), which names the
 * defect for the loader's FATAL line. */
#define PE_VERDICTS(X)                                                                        \
	X(PE_OK, "a loadable image")                                                          \
	X(PE_TRUNCATED, "the file ends inside its headers (truncated image)")                 \
	X(PE_BAD_MZ, "no MZ signature (not a DOS/PE image)")                                  \
	X(PE_BAD_PE_SIGNATURE, "bad PE signature")                                            \
	X(PE_WRONG_MACHINE, "wrong machine type")                                             \
	X(PE_NOT_A_DLL, "not a DLL")                                                          \
	X(PE_BAD_OPTIONAL_HEADER, "bad optional header")                                      \
	X(PE_BAD_ALIGNMENT, "sections not aligned to 4 KiB pages")                            \
	X(PE_TOO_MANY_SECTIONS, "no sections or too many")                                    \
	X(PE_SECTION_OUTSIDE_FILE, "section data outside the file (truncated image)")         \
	X(PE_SECTION_OUTSIDE_IMAGE, "section outside the image or overlapping another")       \
	X(PE_WRITABLE_AND_EXECUTABLE, "a section both writable and executable")               \
	X(PE_IMAGE_TOO_LARGE, "image larger than the room for it")                            \
	X(PE_DIRECTORY_OUTSIDE_IMAGE, "data directory outside the image")                     \
	X(PE_RELOCATIONS_STRIPPED, "relocations stripped, but the image must move")           \
	X(PE_RELOCATION_OUTSIDE_IMAGE, "relocation outside the image")                        \
	X(PE_BAD_RELOCATION_TYPE, "relocation of an unknown type")                            \
	X(PE_BAD_IMPORT_TABLE, "import table outside the image")                              \
	X(PE_IMPORT_FROM_UNKNOWN_DLL, "import from a DLL the kernel does not provide")        \
	X(PE_IMPORT_BY_ORDINAL, "import by ordinal")                                          \
	X(PE_IMPORT_NOT_PROVIDED, "import the kernel does not provide")                       \
	X(PE_BAD_EXPORT_TABLE, "export table outside the image")                              \
	X(PE_EXPORT_MISSING, "missing export")                                                \
	X(PE_EXPORT_NOT_CODE, "export outside the image's code (or forwarded)")

enum pe_verdict {
#define PE_VERDICT_NAME(name, text) name,
	PE_VERDICTS(PE_VERDICT_NAME)
#undef PE_VERDICT_NAME
};

/* One line of text for a verdict, e.g. "bad PE signature". */
const char *pe_verdict_text(enum pe_verdict verdict);

struct pe_problem {
	enum pe_verdict verdict;
	uint32_t rva;		/* where, when a place is known; else 0 */
	char name[PE_NAME_MAX]; /* the import, DLL or export concerned; else "" */
};

#define PE_SCN_EXECUTE 0x20000000u
#define PE_SCN_READ 0x40000000u
#define PE_SCN_WRITE 0x80000000u

struct pe_section {
	char name[9];
	uint32_t virtual_address, virtual_size; /* virtual_size: what the image holds */
	uint32_t raw_offset, raw_size;		/* raw_size: what the file gives, <= virtual_size */
	uint32_t characteristics;
};

struct pe_directory {
	uint32_t rva, size;
};

struct pe_headers {
	uint16_t machine;
	uint16_t characteristics;
	bool pe32_plus;
	uint64_t image_base;
	uint32_t size_of_image, size_of_headers, entry_point;
	struct pe_directory exports, imports, relocations;
	uint32_t section_count;
	struct pe_section sections[PE_MAX_SECTIONS];
};

/* Reads and checks the headers of the `size` bytes at `file` for
 * `machine`; on PE_OK `h` describes the image. */
enum pe_verdict pe_read_headers(const uint8_t *file, uint32_t size, uint16_t machine,
				struct pe_headers *h);

/* Copies headers and sections into `image` (h->size_of_image bytes of
 * `room`), zeroing what the file does not give. */
enum pe_verdict pe_map_image(const uint8_t *file, uint32_t size, const struct pe_headers *h,
			     uint8_t *image, uint32_t room);

/* Applies the base relocations for an image that will run at `load_base`.
 * `*relocated` counts the words fixed up. */
enum pe_verdict pe_relocate(uint8_t *image, const struct pe_headers *h, uint64_t load_base,
			    uint32_t *relocated, struct pe_problem *problem);

/* What the host provides to import: `name`, at `address` (a function's
 * entry or a variable's). */
struct pe_provided {
	const char *name;
	const void *address;
};

/* Resolves every import from `dll` (compared without case, as Windows does)
 * against the `count` names of `provided`, writing each address into its
 * import address table slot. */
enum pe_verdict pe_resolve_imports(uint8_t *image, const struct pe_headers *h, const char *dll,
				   const struct pe_provided *provided, uint32_t count,
				   struct pe_problem *problem);

/* The RVA of the export `name`, which must lie in an executable section. */
enum pe_verdict pe_find_export(const uint8_t *image, const struct pe_headers *h, const char *name,
			       uint32_t *rva, struct pe_problem *problem);

/* Export number `index` (0, 1, ... in the table's name order): its name
 * (inside `image`) and RVA. PE_EXPORT_MISSING past the last one; the
 * export's own defects (a bad ordinal, data or a forwarder instead of
 * code) come with `*name` set, so that a caller can go on to the next. */
enum pe_verdict pe_export_at(const uint8_t *image, const struct pe_headers *h, uint32_t index,
			     const char **name, uint32_t *rva, struct pe_problem *problem);

/* Which section holds `rva`, or NULL. */
const struct pe_section *pe_section_at(const struct pe_headers *h, uint32_t rva);

#endif /* GUEST_PE_IMAGE_H */
