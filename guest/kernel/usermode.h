/*
 * usermode.h -- running a C function at CPL 3 and coming back to CPL 0.
 *
 * run_at_cpl3() enters ring 3 with IRET on a stack of its own; the function
 * returns into a stub that executes INT USER_RETURN_VECTOR, whose gate (DPL
 * 3) brings the CPU back to ring 0, where run_at_cpl3() returns. Ring 3
 * runs with IOPL 0 and interrupts off: the TSS's I/O permission bitmap
 * decides which ports it may use (usermode_init opens the backdoor's), and
 * a fault there is as fatal as anywhere else.
 */
#ifndef GUEST_USERMODE_H
#define GUEST_USERMODE_H

/* After the 8259s' 0x20..0x2F. */
#define USER_RETURN_VECTOR 0x30

/* EFLAGS in ring 3: only the always-one bit 1; IF, IOPL and DF are 0. */
#define USER_EFLAGS 0x00000002

#ifndef __ASSEMBLER__

#include <stdint.h>

/* Code for ring 3. Segments are flat, so `arg` may point at kernel data;
 * that is how results travel back. It must not print: the console port is
 * closed to ring 3. */
typedef uint32_t (*user_fn)(void *arg);

/* Installs the return gate and opens the backdoor ports to ring 3. */
void usermode_init(void);

/* Calls fn(arg) at CPL 3 and returns its result at CPL 0. Not reentrant:
 * ring 3 code cannot call it. */
uint32_t run_at_cpl3(user_fn fn, void *arg);

#endif /* __ASSEMBLER__ */

#endif /* GUEST_USERMODE_H */
