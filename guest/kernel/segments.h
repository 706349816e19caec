/*
 * segments.h -- the kernel's GDT selectors, for C and assembly alike.
 *
 * Every code and data segment is flat (base 0, limit 4 GiB), so ring 3
 * sees the same addresses as ring 0: a test hands its ring 3 code pointers
 * into kernel memory and reads the results back where they were written.
 */
#ifndef GUEST_SEGMENTS_H
#define GUEST_SEGMENTS_H

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_USER_CODE 0x18
#define GDT_USER_DATA 0x20
#define GDT_TSS 0x28

/* Requested privilege level 3, for selectors loaded by ring 3 code. */
#define SELECTOR_RPL3 3

#define USER_CODE_SELECTOR (GDT_USER_CODE | SELECTOR_RPL3)
#define USER_DATA_SELECTOR (GDT_USER_DATA | SELECTOR_RPL3)

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Descriptor access bytes: present, privilege level, code/data or system
 * (an available TSS: 32-bit in legacy mode, 64-bit in long mode). */
enum {
	DESC_PRESENT = 0x80,
	DESC_DPL3 = 0x60,
	DESC_CODE_DATA = 0x10,
	DESC_CODE_READ = 0x0a,
	DESC_DATA_WRITE = 0x02,
	DESC_TSS_AVAILABLE = 0x09,
};
#define FLAT_LIMIT 0xfffffu /* in 4 KiB units: all of 4 GiB */

/* A GDT entry; `flags` is the nibble of bits 55:52 (granularity, size,
 * long mode). Both kernels' GDTs (gdt.c, x64/gdt.c) are built with it. */
static inline uint64_t gdt_descriptor(uint32_t base, uint32_t limit, uint8_t access,
				      uint8_t flags)
{
	return (uint64_t)(limit & 0xffffu) | (uint64_t)(base & 0xffffffu) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xfu) << 48 |
	       (uint64_t)flags << 52 | (uint64_t)(base >> 24) << 56;
}

/* The four flat segments at their selectors, ring 0 and ring 3, with the
 * flags nibble of each kernel's code and data segments. */
static inline void gdt_set_flat_segments(uint64_t *gdt, uint8_t code_flags, uint8_t data_flags)
{
	const uint8_t code = DESC_PRESENT | DESC_CODE_DATA | DESC_CODE_READ;
	const uint8_t data = DESC_PRESENT | DESC_CODE_DATA | DESC_DATA_WRITE;

	gdt[GDT_KERNEL_CODE / 8] = gdt_descriptor(0, FLAT_LIMIT, code, code_flags);
	gdt[GDT_KERNEL_DATA / 8] = gdt_descriptor(0, FLAT_LIMIT, data, data_flags);
	gdt[GDT_USER_CODE / 8] = gdt_descriptor(0, FLAT_LIMIT, code | DESC_DPL3, code_flags);
	gdt[GDT_USER_DATA / 8] = gdt_descriptor(0, FLAT_LIMIT, data | DESC_DPL3, data_flags);
}
#endif

#endif /* GUEST_SEGMENTS_H */
