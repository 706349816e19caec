/*
 * gdt.c -- the 32-bit kernel's segments and task state segment
 * (machine.h): flat ring 0 and ring 3 segments and a TSS with an I/O
 * permission bitmap. The x86-64 kernel has its own (x64/gdt.c).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kstring.h"
#include "machine.h"
#include "segments.h"

/* Flags nibble: 4 KiB granularity and 32-bit operands for the flat
 * segments; byte granularity for the TSS. */
enum { DESC_FLAGS_FLAT32 = 0xc, DESC_FLAGS_BYTES = 0x0 };

#define IO_PORT_COUNT 65536u

/*
 * A 32-bit TSS. The CPU reads it for two things only: the ring 0 stack it
 * switches to when ring 3 traps, and the I/O permission bitmap, one bit
 * per port, set = denied, consulted at CPL > IOPL.
 */
struct tss32 {
	uint32_t link;
	uint32_t esp0, ss0, esp1, ss1, esp2, ss2;
	uint32_t cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, io_map_base;
	uint8_t io_map[IO_PORT_COUNT / 8];
	/* All ones: the CPU reads the map two bytes at a time, and the byte
	 * after the last port's must deny. */
	uint8_t io_map_end;
} __attribute__((packed));

_Static_assert(offsetof(struct tss32, io_map_base) == 102, "TSS layout");
_Static_assert(offsetof(struct tss32, io_map) == 104, "TSS layout");

static struct tss32 tss __attribute__((aligned(16)));

/* Traps from ring 3 run on this stack, not on the one ring 3 was using. */
static uint8_t ring0_stack[8192] __attribute__((aligned(16)));

/* Built at run time: the TSS descriptor holds the TSS's address. */
static uint64_t gdt[GDT_TSS / 8 + 1] __attribute__((aligned(8)));

static void tss_init(void)
{
	memset(&tss, 0, sizeof(tss));
	tss.ss0 = GDT_KERNEL_DATA;
	tss.esp0 = (uint32_t)(ring0_stack + sizeof(ring0_stack));
	tss.io_map_base = offsetof(struct tss32, io_map);
	memset(tss.io_map, 0xff, sizeof(tss.io_map));
	tss.io_map_end = 0xff;
}

/* The boot sector's GDT lives in memory the kernel does not own, so the
 * kernel installs its own: flat ring 0 and ring 3 segments and the TSS. */
void gdt_init(void)
{
	tss_init();
	gdt_set_flat_segments(gdt, DESC_FLAGS_FLAT32, DESC_FLAGS_FLAT32);
	gdt[GDT_TSS / 8] = gdt_descriptor((uint32_t)&tss, sizeof(tss) - 1,
					  DESC_PRESENT | DESC_TSS_AVAILABLE, DESC_FLAGS_BYTES);

	struct __attribute__((packed)) {
		uint16_t limit;
		uint32_t base;
	} gdtr = { sizeof(gdt) - 1, (uint32_t)gdt };

	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "mov %2, %%ax\n\t"
			 "mov %%ax, %%ds\n\t"
			 "mov %%ax, %%es\n\t"
			 "mov %%ax, %%fs\n\t"
			 "mov %%ax, %%gs\n\t"
			 "mov %%ax, %%ss\n\t"
			 "ltr %w3"
			 :
			 : "m"(gdtr), "i"(GDT_KERNEL_CODE), "i"(GDT_KERNEL_DATA), "r"(GDT_TSS)
			 : "eax", "memory");
}

static void io_bitmap_set(uint16_t first, unsigned count, bool deny)
{
	for (uint32_t port = first; port < (uint32_t)first + count && port < IO_PORT_COUNT;
	     port++) {
		uint8_t bit = (uint8_t)(1u << (port % 8));

		if (deny)
			tss.io_map[port / 8] |= bit;
		else
			tss.io_map[port / 8] &= (uint8_t)~bit;
	}
}

void io_bitmap_allow(uint16_t first, unsigned count)
{
	io_bitmap_set(first, count, false);
}

void io_bitmap_deny(uint16_t first, unsigned count)
{
	io_bitmap_set(first, count, true);
}

