/*
 * pit.h -- the 8254 timer on IRQ 0: the kernel's clock interrupt.
 *
 * Under Bochs the PIT counts emulated time, so ticks arrive at the same
 * instruction counts in every run.
 */
#ifndef GUEST_PIT_H
#define GUEST_PIT_H

#include <stdint.h>

#include "trap.h"

#define PIT_VECTOR 0x20 /* IRQ 0 after pic_init's remap */

/* Starts channel 0 at `hz` and unmasks IRQ 0; `on_tick` runs in the
 * interrupt with the interrupted frame (the kernel debugger polls for
 * break-in there, as the Windows clock interrupt does). */
void pit_start(unsigned hz, void (*on_tick)(struct trap_frame *frame));

uint32_t pit_ticks(void);

#endif /* GUEST_PIT_H */
