/*
 * paging.h -- the test kernel's address space (layout.h): RAM mapped at its
 * own address and again in the upper half, 4 KiB pages, every page user-
 * accessible and writable (ring 3 tests run kernel code and read kernel
 * data), page 0 of the low view unmapped to catch null pointers, KD_HOLE
 * unmapped; and the local APIC's page, for the kernel only.
 */
#ifndef GUEST_PAGING_H
#define GUEST_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"

/* Builds the page tables for `ram_bytes` of RAM (at most PAGING_MAX_RAM)
 * and switches to them from entry.S's boot mapping. */
#define PAGING_MAX_RAM (512u * 1024u * 1024u)
void paging_init(uint32_t ram_bytes);

/* What the CPU would translate `linear` to through the page tables in
 * CR3; false if the page is not present (or, on x86-64, not in RAM below
 * 4 GiB: the kernels map no RAM above PAGING_MAX_RAM). */
bool paging_translate(uintptr_t linear, uint32_t *physical);

/* Bits 63..47 all equal: an address an x86-64 CPU takes (a non-canonical
 * one faults, #GP, before any page walk). */
static inline bool paging_canonical(uint64_t address)
{
	uint64_t top = address >> 47;
	return top == 0 || top == 0x1FFFF;
}

/* Physical address of kernel data (anything the kernel's pointers reach);
 * for memory that may be unmapped, paging_translate. */
uint32_t virt_to_phys(const void *address);

/* How much RAM the tables cover. */
uint32_t paging_ram_bytes(void);

/* Where the kernel reaches physical RAM address `physical` (below
 * paging_ram_bytes()): KERNEL_OFFSET above it, or at itself for the
 * stretch KD_HOLE hides in the upper half. */
static inline void *phys_to_virt(uint32_t physical)
{
	bool in_hole = physical >= KD_HOLE_START - KERNEL_OFFSET &&
		       physical < KD_HOLE_END - KERNEL_OFFSET;

	return (void *)(uintptr_t)(in_hole ? physical : physical + KERNEL_OFFSET);
}

/*
 * The kernel's window for loaded images (layout.h KD_DLL_WINDOW, 4 MiB):
 * maps the page of RAM at `physical` at `linear` in it, for ring 0 only,
 * read-only unless `writable`; false if `linear` is outside the window or
 * `physical` outside RAM. Read-only holds for ring 0 too once
 * paging_enforce_read_only has set CR0.WP. (Without PAE a page cannot be
 * made non-executable: every present page can run.)
 */
bool paging_map_window_page(uintptr_t linear, uint32_t physical, bool writable);
/* Whether `linear` is mapped, and writable for ring 0 (CR0.WP on, or the
 * page and its table writable). */
bool paging_page_access(uintptr_t linear, bool *writable);
static inline void paging_enforce_read_only(void)
{
	uintptr_t cr0;

	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | 0x00010000u /* CR0.WP */) : "memory");
}

#endif /* GUEST_PAGING_H */
