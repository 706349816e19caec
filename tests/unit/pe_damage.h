/*
 * pe_damage.h -- deliberately damaged copies of the Windows KD DLL, one
 * defect each, for the PE loader's tests: on the host against
 * guest/kernel/pe_image.c (unit/check_pe_image.c) and under Bochs against
 * the test kernel's loader (integration/check_kdvm_dll.c).
 */
#ifndef BXKD_TESTS_PE_DAMAGE_H
#define BXKD_TESTS_PE_DAMAGE_H

#include <stdint.h>

#include "pe_image.h"

enum pe_damage {
	DAMAGE_MZ,		      /* "MZ" overwritten */
	DAMAGE_PE_SIGNATURE,	      /* "PE\0\0" overwritten */
	DAMAGE_MACHINE,		      /* x64's machine type in an x86 image */
	DAMAGE_SECTION_PAST_FILE,     /* the last section's raw data runs past the end */
	DAMAGE_SECTION_OUTSIDE_IMAGE, /* a section placed past SizeOfImage */
	DAMAGE_WRITABLE_CODE,	      /* .text made writable */
	DAMAGE_RELOCATION_OUTSIDE,    /* the first relocation block's page past the image */
	DAMAGE_UNKNOWN_IMPORT,	      /* MmGetPhysicalAddress renamed MmMapIoSpace */
	DAMAGE_MISSING_EXPORT,	      /* KdSendPacket renamed KdSendPackeT */
	PE_DAMAGES
};

struct pe_damage_case {
	const char *what;
	enum pe_verdict verdict; /* what the loader must say */
	const char *named;	 /* the name it must give, or NULL */
};

extern const struct pe_damage_case pe_damage_cases[PE_DAMAGES];

/* Damages the `size` bytes of an intact x86 DLL at `file` in place; false
 * (and the file untouched) if the DLL lacks what the damage needs. */
bool pe_damage_apply(uint8_t *file, uint32_t size, enum pe_damage damage);

/* The whole loader, as the kernel runs it, on a copy of the file: headers,
 * mapping, relocation to `load_base`, imports against `provided`, the
 * nine KD exports. Returns the first verdict that is not PE_OK. */
enum pe_verdict pe_load_like_the_kernel(const uint8_t *file, uint32_t size, uint16_t machine,
					uint64_t load_base, const struct pe_provided *provided,
					uint32_t count, struct pe_problem *problem);

#endif /* BXKD_TESTS_PE_DAMAGE_H */
