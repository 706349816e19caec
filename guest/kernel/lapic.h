/*
 * lapic.h -- the local APIC timer, as a second clock to measure against.
 */
#ifndef GUEST_LAPIC_H
#define GUEST_LAPIC_H

#include <stdint.h>

/* Starts the timer counting down from its maximum at the full bus rate
 * (divide by 1), masked: it never interrupts. */
void lapic_timer_start(void);

/* The current count; it falls by one per APIC bus clock. */
uint32_t lapic_timer_count(void);

void lapic_timer_stop(void);

#endif /* GUEST_LAPIC_H */
