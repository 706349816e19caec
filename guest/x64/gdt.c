/*
 * gdt.c (x64) -- the x86-64 kernel's segments (machine.h): a 64-bit ring 0
 * code segment and a data segment at the selectors of segments.h, their
 * ring 3 twins, and a 64-bit TSS. In long mode segments are flat by
 * definition; the TSS only says which stack a trap from ring 3 would take
 * (this kernel runs nothing there) and has no I/O permission bitmap.
 */
#include <stddef.h>
#include <stdint.h>

#include "kstring.h"
#include "machine.h"
#include "segments.h"

/* Flags nibble: 4 KiB granularity; L for a 64-bit code segment. */
enum { DESC_FLAGS_CODE64 = 0xa, DESC_FLAGS_DATA = 0xc, DESC_FLAGS_BYTES = 0x0 };

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, io_map_base;
} __attribute__((packed));

_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS layout");

static struct tss64 tss __attribute__((aligned(16)));
static uint8_t ring0_stack[8192] __attribute__((aligned(16)));
/* The TSS descriptor takes two slots in long mode. */
static uint64_t gdt[GDT_TSS / 8 + 2] __attribute__((aligned(8)));

void gdt_init(void)
{
	uint64_t tss_base = (uint64_t)(uintptr_t)&tss;

	memset(&tss, 0, sizeof(tss));
	tss.rsp[0] = (uint64_t)(uintptr_t)(ring0_stack + sizeof(ring0_stack));
	tss.io_map_base = sizeof(tss); /* no bitmap: every port denied at CPL 3 */
	gdt_set_flat_segments(gdt, DESC_FLAGS_CODE64, DESC_FLAGS_DATA);
	gdt[GDT_TSS / 8] = gdt_descriptor((uint32_t)tss_base, sizeof(tss) - 1,
					  DESC_PRESENT | DESC_TSS_AVAILABLE, DESC_FLAGS_BYTES);
	gdt[GDT_TSS / 8 + 1] = tss_base >> 32;

	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} gdtr = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };

	/* A far return reloads CS: long mode has no far jump to an immediate. */
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%eax\n\t"
			 "mov %%eax, %%ds\n\t"
			 "mov %%eax, %%es\n\t"
			 "mov %%eax, %%fs\n\t"
			 "mov %%eax, %%gs\n\t"
			 "mov %%eax, %%ss\n\t"
			 "ltr %w3"
			 :
			 : "m"(gdtr), "i"(GDT_KERNEL_CODE), "i"(GDT_KERNEL_DATA), "r"(GDT_TSS)
			 : "rax", "memory");
}
