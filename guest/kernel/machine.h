/*
 * machine.h -- bringing the test machine up and down.
 */
#ifndef GUEST_MACHINE_H
#define GUEST_MACHINE_H

/* Ends the Bochs run through its shutdown port (0x8900). */
__attribute__((noreturn)) void machine_shutdown(void);

/* Prints "BXKD FATAL <reason>" for the harness, then shuts down. */
__attribute__((noreturn, format(printf, 1, 2))) void machine_fatal(const char *fmt, ...);

void gdt_init(void);
void pic_init(void);

#endif /* GUEST_MACHINE_H */
