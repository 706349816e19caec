/*
 * machine.c -- interrupt controller and shutdown, the same for both kernels
 * (the segments are gdt.c's, and x64/gdt.c's for the x86-64 kernel).
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
