/*
 * paging.c -- the test kernel's page tables (paging.h).
 *
 * Both views of RAM use the same page tables: the directory entry for
 * linear L and for KERNEL_OFFSET + L point at one table. Two 4 MiB stretches
 * get a table of their own: the first of the low view, without page 0, and
 * the one of the upper half that holds KD_HOLE, without the hole. So every
 * physical byte of RAM has a mapping: KERNEL_OFFSET + p, or p in the hole.
 */
#include "paging.h"

#include "kstring.h"
#include "layout.h"

#define PAGE_SIZE 4096u
#define ENTRIES 1024u
#define PTE_PRESENT 0x1u
#define PTE_WRITABLE 0x2u
#define PTE_USER 0x4u
#define PTE_FLAGS (PTE_PRESENT | PTE_WRITABLE | PTE_USER)
#define PDE_LARGE 0x80u
#define TABLES (PAGING_MAX_RAM / (ENTRIES * PAGE_SIZE))

static uint32_t directory[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint32_t tables[TABLES][ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint32_t hole_table[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint32_t low_table[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
/* The local APIC's registers, at their own address, uncached. */
static uint32_t apic_table[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
#define LOCAL_APIC_BASE 0xFEE00000u
#define PTE_UNCACHED 0x18u /* PCD | PWT */
static uint32_t mapped_bytes;
/* KD_DLL_WINDOW's table: empty until an image is mapped there. */
static uint32_t window_table[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
#define CR0_WP 0x00010000u

/* Kernel data lives in the image, which is loaded KERNEL_OFFSET lower;
 * this holds until paging_init, and for the image ever after. */
static uint32_t image_phys(const void *address)
{
	return (uint32_t)address - KERNEL_OFFSET;
}

void paging_init(uint32_t ram_bytes)
{
	uint32_t ram = ram_bytes < PAGING_MAX_RAM ? ram_bytes : PAGING_MAX_RAM;
	uint32_t pages = ram / PAGE_SIZE;
	uint32_t hole_pde = KD_HOLE_START >> 22;

	for (uint32_t page = 0; page < pages; page++)
		tables[page / ENTRIES][page % ENTRIES] = page * PAGE_SIZE | PTE_FLAGS;
	for (uint32_t t = 0; t * ENTRIES < pages; t++) {
		uint32_t pde = image_phys(tables[t]) | PTE_FLAGS;
		directory[t] = pde;
		directory[(KERNEL_OFFSET >> 22) + t] = pde;
	}
	/* The hole: a copy of its table with the hole's entries empty. */
	if (directory[hole_pde]) {
		uint32_t t = hole_pde - (KERNEL_OFFSET >> 22);
		memcpy(hole_table, tables[t], sizeof(hole_table));
		for (uint32_t linear = KD_HOLE_START; linear < KD_HOLE_END; linear += PAGE_SIZE) {
			if (linear >> 22 == hole_pde)
				hole_table[(linear >> 12) % ENTRIES] = 0;
		}
		directory[hole_pde] = image_phys(hole_table) | PTE_FLAGS;
	}
	/* Page 0 stays out of the low view: a null pointer faults. */
	memcpy(low_table, tables[0], sizeof(low_table));
	low_table[0] = 0;
	directory[0] = image_phys(low_table) | PTE_FLAGS;
	apic_table[(LOCAL_APIC_BASE >> 12) % ENTRIES] = LOCAL_APIC_BASE | PTE_PRESENT |
							 PTE_WRITABLE | PTE_UNCACHED;
	directory[LOCAL_APIC_BASE >> 22] = image_phys(apic_table) | PTE_PRESENT | PTE_WRITABLE;
	directory[KD_DLL_WINDOW >> 22] = image_phys(window_table) | PTE_PRESENT | PTE_WRITABLE;
	mapped_bytes = pages * PAGE_SIZE;
	__asm__ volatile("mov %0, %%cr3" : : "r"(image_phys(directory)) : "memory");
}

uint32_t paging_ram_bytes(void)
{
	return mapped_bytes;
}

/* The page table entry for `linear` (a 4 MiB page's directory entry), or
 * 0 when it is not present. */
static uint32_t page_entry(uint32_t linear, uint32_t *directory_entry)
{
	uint32_t cr3;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	const uint32_t *pd = phys_to_virt(cr3 & ~(PAGE_SIZE - 1));
	uint32_t pde = pd[linear >> 22];
	*directory_entry = pde;
	if (!(pde & PTE_PRESENT) || (pde & PDE_LARGE))
		return pde & PTE_PRESENT ? pde : 0;
	const uint32_t *pt = phys_to_virt(pde & ~(PAGE_SIZE - 1));
	uint32_t pte = pt[(linear >> 12) % ENTRIES];
	return pte & PTE_PRESENT ? pte : 0;
}

bool paging_page_access(uintptr_t linear, bool *writable)
{
	uint32_t pde, cr0;
	uint32_t entry = page_entry(linear, &pde);

	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	*writable = !(cr0 & CR0_WP) || ((pde & PTE_WRITABLE) && (entry & PTE_WRITABLE));
	return entry != 0;
}

bool paging_translate(uintptr_t linear, uint32_t *physical)
{
	uint32_t pde;
	uint32_t entry = page_entry(linear, &pde);

	if (!entry)
		return false;
	if (pde & PDE_LARGE)
		*physical = (pde & 0xffc00000u) | (linear & 0x003fffffu);
	else
		*physical = (entry & ~(PAGE_SIZE - 1)) | (linear & (PAGE_SIZE - 1));
	return true;
}

uint32_t virt_to_phys(const void *address)
{
	uint32_t physical;

	return paging_translate((uint32_t)address, &physical) ? physical : 0;
}

bool paging_map_window_page(uintptr_t linear, uint32_t physical, bool writable)
{
	if (linear >> 22 != KD_DLL_WINDOW >> 22 || linear % PAGE_SIZE || physical % PAGE_SIZE ||
	    physical >= mapped_bytes)
		return false;
	window_table[(linear >> 12) % ENTRIES] = physical | PTE_PRESENT | (writable ? PTE_WRITABLE : 0);
	__asm__ volatile("invlpg (%0)" : : "r"(linear) : "memory");
	return true;
}
