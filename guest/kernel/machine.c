/*
 * machine.c -- GDT, interrupt controller and shutdown.
 */
#include "machine.h"

#include <stdarg.h>
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "io.h"

#define SHUTDOWN_PORT 0x8900

void machine_shutdown(void)
{
	static const char word[] = "Shutdown";

	for (const char *c = word; *c; c++)
		outb(SHUTDOWN_PORT, (uint8_t)*c);
	halt_forever();
	__builtin_unreachable();
}

void machine_fatal(const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	format_v(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	kprintf("BXKD FATAL %s\n", reason);
	machine_shutdown();
}

/* Flat 4 GiB segments. The boot sector's GDT lives in memory the kernel
 * does not own, so the kernel installs its own. */
enum { GDT_KERNEL_CODE = 0x08, GDT_KERNEL_DATA = 0x10 };

static const uint64_t gdt[] __attribute__((aligned(8))) = {
	0,
	0x00cf9a000000ffffull, /* ring 0 code, 32-bit */
	0x00cf92000000ffffull, /* ring 0 data */
};

void gdt_init(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint32_t base;
	} descriptor = { sizeof(gdt) - 1, (uint32_t)gdt };

	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "mov %2, %%ax\n\t"
			 "mov %%ax, %%ds\n\t"
			 "mov %%ax, %%es\n\t"
			 "mov %%ax, %%fs\n\t"
			 "mov %%ax, %%gs\n\t"
			 "mov %%ax, %%ss"
			 :
			 : "m"(descriptor), "i"(GDT_KERNEL_CODE), "i"(GDT_KERNEL_DATA)
			 : "eax", "memory");
}

/* The BIOS leaves the 8259s delivering IRQs on vectors 8..15, where the CPU
 * reports exceptions. Move them to 0x20..0x2F and mask every line, so a
 * stray IRQ is reported as such instead of looking like a double fault. */
enum { PIC1 = 0x20, PIC2 = 0xA0, IRQ_BASE = 0x20 };

void pic_init(void)
{
	outb(PIC1, 0x11); /* ICW1: edge triggered, cascade, ICW4 follows */
	outb(PIC2, 0x11);
	outb(PIC1 + 1, IRQ_BASE);
	outb(PIC2 + 1, IRQ_BASE + 8);
	outb(PIC1 + 1, 0x04); /* slave on IRQ2 */
	outb(PIC2 + 1, 0x02);
	outb(PIC1 + 1, 0x01); /* 8086 mode */
	outb(PIC2 + 1, 0x01);
	outb(PIC1 + 1, 0xff);
	outb(PIC2 + 1, 0xff);
}
