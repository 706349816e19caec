/*
 * machine.h -- bringing the test machine up and down.
 */
#ifndef GUEST_MACHINE_H
#define GUEST_MACHINE_H

#include <stdint.h>

/* Ends the Bochs run through its shutdown port (0x8900). */
__attribute__((noreturn)) void machine_shutdown(void);

/* Prints "BXKD FATAL <reason>" for the harness, then shuts down. */
__attribute__((noreturn, format(printf, 1, 2))) void machine_fatal(const char *fmt, ...);

/* Loads the kernel's GDT (flat ring 0 and ring 3 segments, segments.h) and
 * its TSS, whose I/O permission bitmap starts out denying every port. */
void gdt_init(void);

/* Opens or closes ports [first, first + count) to code running at CPL 3.
 * A multi-byte IN or OUT needs a bit for every byte it touches. */
void io_bitmap_allow(uint16_t first, unsigned count);
void io_bitmap_deny(uint16_t first, unsigned count);

void pic_init(void);

#endif /* GUEST_MACHINE_H */
