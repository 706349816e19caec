/*
 * paging.c (x64) -- the x86-64 kernel's address space (paging.h), with
 * 4-level page tables and 4 KiB pages: all of RAM at its own address (the
 * low view) and again at KERNEL_OFFSET + its address (the higher half),
 * page 0 of the low view unmapped (a null pointer faults), KD_HOLE
 * unmapped in the higher half, RAM again at LONG_ALIAS_OFFSET (as far as
 * that directory reaches), and the local APIC's page at its own
 * address, uncached. Pages are for ring 0 only: this kernel runs nothing
 * at CPL 3.
 */
#include "paging.h"

#include "kstring.h"
#include "layout.h"

#define PAGE_SIZE 4096u
#define ENTRIES 512u
#define PTE_PRESENT 0x1u
#define PTE_WRITABLE 0x2u
#define PTE_LARGE 0x80u
#define PTE_UNCACHED 0x18u /* PCD | PWT */
#define PTE_FLAGS (PTE_PRESENT | PTE_WRITABLE)
#define ADDRESS_MASK 0x000FFFFFFFFFF000ull
#define TABLES (PAGING_MAX_RAM / (ENTRIES * PAGE_SIZE))
#define LOCAL_APIC_BASE 0xFEE00000u

#define PML4_INDEX(linear) (((uint64_t)(linear) >> 39) % ENTRIES)
#define PDPT_INDEX(linear) (((uint64_t)(linear) >> 30) % ENTRIES)
#define PD_INDEX(linear) (((uint64_t)(linear) >> 21) % ENTRIES)
#define PT_INDEX(linear) (((uint64_t)(linear) >> 12) % ENTRIES)

typedef uint64_t table_t[ENTRIES] __attribute__((aligned(PAGE_SIZE)));

static table_t pml4, low_pdpt, high_pdpt, low_pd, high_pd, apic_pd, alias_pd, window_pd;
static table_t tables[TABLES];
static table_t hole_table, low_table, apic_table, window_table;
#define CR0_WP 0x00010000u
static uint32_t mapped_bytes;

/* Kernel data lives in the image, which is loaded KERNEL_OFFSET lower;
 * until paging_init switches tables no other mapping may be assumed. */
static uint64_t image_phys(const void *address)
{
	return (uint64_t)(uintptr_t)address - KERNEL_OFFSET;
}

/* _Static_assert: the hole lies inside one page table of the higher half. */
_Static_assert(PD_INDEX(KD_HOLE_START) == PD_INDEX(KD_HOLE_END - 1),
	       "KD_HOLE within one 2 MiB stretch");
_Static_assert(PDPT_INDEX(KERNEL_OFFSET) == 0 && PD_INDEX(KERNEL_OFFSET) == 0,
	       "KERNEL_OFFSET at the start of a page directory");
_Static_assert(PML4_INDEX(KD_DLL_WINDOW) == PML4_INDEX(KERNEL_OFFSET) &&
		       PDPT_INDEX(KD_DLL_WINDOW) != PDPT_INDEX(KERNEL_OFFSET) &&
		       PDPT_INDEX(KD_DLL_WINDOW) != PDPT_INDEX(LONG_ALIAS_OFFSET),
	       "the DLL window in the kernel's PDPT, in a directory of its own");
_Static_assert(PML4_INDEX(LONG_ALIAS_OFFSET) == PML4_INDEX(KERNEL_OFFSET) &&
		       PDPT_INDEX(LONG_ALIAS_OFFSET) != 0 && LONG_ALIAS_OFFSET % (2u << 20) == 0,
	       "the long-mode alias in the kernel's PDPT, on a 2 MiB boundary");

void paging_init(uint32_t ram_bytes)
{
	uint32_t ram = ram_bytes < PAGING_MAX_RAM ? ram_bytes : PAGING_MAX_RAM;
	uint32_t pages = ram / PAGE_SIZE;

	for (uint32_t page = 0; page < pages; page++)
		tables[page / ENTRIES][page % ENTRIES] = (uint64_t)page * PAGE_SIZE | PTE_FLAGS;
	for (uint32_t t = 0; t * ENTRIES < pages; t++) {
		low_pd[t] = high_pd[t] = image_phys(tables[t]) | PTE_FLAGS;
		if (PD_INDEX(LONG_ALIAS_OFFSET) + t < ENTRIES)
			alias_pd[PD_INDEX(LONG_ALIAS_OFFSET) + t] = low_pd[t];
	}
	/* The hole: a copy of its table with the hole's entries empty. */
	uint32_t hole_pde = PD_INDEX(KD_HOLE_START);
	if (high_pd[hole_pde]) {
		memcpy(hole_table, tables[hole_pde], sizeof(hole_table));
		for (uint64_t linear = KD_HOLE_START; linear < KD_HOLE_END; linear += PAGE_SIZE)
			hole_table[PT_INDEX(linear)] = 0;
		high_pd[hole_pde] = image_phys(hole_table) | PTE_FLAGS;
	}
	/* Page 0 stays out of the low view: a null pointer faults. */
	memcpy(low_table, tables[0], sizeof(low_table));
	low_table[0] = 0;
	low_pd[0] = image_phys(low_table) | PTE_FLAGS;
	apic_table[PT_INDEX(LOCAL_APIC_BASE)] = LOCAL_APIC_BASE | PTE_FLAGS | PTE_UNCACHED;
	apic_pd[PD_INDEX(LOCAL_APIC_BASE)] = image_phys(apic_table) | PTE_FLAGS;
	low_pdpt[PDPT_INDEX(0)] = image_phys(low_pd) | PTE_FLAGS;
	low_pdpt[PDPT_INDEX(LOCAL_APIC_BASE)] = image_phys(apic_pd) | PTE_FLAGS;
	high_pdpt[PDPT_INDEX(KERNEL_OFFSET)] = image_phys(high_pd) | PTE_FLAGS;
	high_pdpt[PDPT_INDEX(LONG_ALIAS_OFFSET)] = image_phys(alias_pd) | PTE_FLAGS;
	window_pd[PD_INDEX(KD_DLL_WINDOW)] = image_phys(window_table) | PTE_FLAGS;
	high_pdpt[PDPT_INDEX(KD_DLL_WINDOW)] = image_phys(window_pd) | PTE_FLAGS;
	pml4[PML4_INDEX(0)] = image_phys(low_pdpt) | PTE_FLAGS;
	pml4[PML4_INDEX(KERNEL_OFFSET)] = image_phys(high_pdpt) | PTE_FLAGS;
	mapped_bytes = pages * PAGE_SIZE;
	__asm__ volatile("mov %0, %%cr3" : : "r"(image_phys(pml4)) : "memory");
}

uint32_t paging_ram_bytes(void)
{
	return mapped_bytes;
}

/* One level of the walk: the entry for `index` of the table at `entry`'s
 * frame, 0 if that is not present. The tables themselves are in RAM below
 * 4 GiB, which phys_to_virt reaches. */
static uint64_t next_entry(uint64_t entry, unsigned index)
{
	uint64_t frame = entry & ADDRESS_MASK;

	if (frame >= mapped_bytes)
		return 0;
	const uint64_t *table = phys_to_virt((uint32_t)frame);
	return table[index] & PTE_PRESENT ? table[index] : 0;
}

/* The walk through CR3's tables: the last entry (0 if a level is not
 * present), the offset mask of its page, and whether every level allows
 * writes. */
static uint64_t walk(uintptr_t linear, uint64_t *offset_mask, bool *writable)
{
	uint64_t cr3, entry;
	const unsigned index[] = { PML4_INDEX(linear), PDPT_INDEX(linear), PD_INDEX(linear),
				   PT_INDEX(linear) };

	*offset_mask = PAGE_SIZE - 1;
	*writable = true;
	if (!paging_canonical(linear))
		return 0;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	entry = cr3 | PTE_PRESENT;
	for (unsigned level = 0; level < 4 && entry; level++) {
		entry = next_entry(entry, index[level]);
		*writable = *writable && (entry & PTE_WRITABLE);
		if (entry && (entry & PTE_LARGE) && (level == 1 || level == 2)) {
			*offset_mask = level == 1 ? (1ull << 30) - 1 : (1ull << 21) - 1;
			break;
		}
	}
	return entry;
}

bool paging_translate(uintptr_t linear, uint32_t *physical)
{
	uint64_t offset_mask;
	bool writable;
	uint64_t entry = walk(linear, &offset_mask, &writable);
	uint64_t address = (entry & ADDRESS_MASK & ~offset_mask) | (linear & offset_mask);

	if (!entry || address > UINT32_MAX)
		return false;
	*physical = (uint32_t)address;
	return true;
}

bool paging_page_access(uintptr_t linear, bool *writable)
{
	uint64_t offset_mask, cr0;
	bool tables_writable;
	uint64_t entry = walk(linear, &offset_mask, &tables_writable);

	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	*writable = !(cr0 & CR0_WP) || tables_writable;
	return entry != 0;
}

uint32_t virt_to_phys(const void *address)
{
	uint32_t physical;

	return paging_translate((uintptr_t)address, &physical) ? physical : 0;
}

/* The loaded-image window (paging.h): one page table of ring 0 pages. */
bool paging_map_window_page(uintptr_t linear, uint32_t physical, bool writable)
{
	if (linear - KD_DLL_WINDOW >= ENTRIES * PAGE_SIZE || linear % PAGE_SIZE ||
	    physical % PAGE_SIZE || physical >= mapped_bytes)
		return false;
	window_table[PT_INDEX(linear)] = physical | PTE_PRESENT | (writable ? PTE_WRITABLE : 0);
	__asm__ volatile("invlpg (%0)" : : "r"(linear) : "memory");
	return true;
}
