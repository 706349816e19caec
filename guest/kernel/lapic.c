/*
 * lapic.c -- the local APIC timer through the APIC's MMIO page (no paging:
 * the physical address is the linear one).
 */
#include "lapic.h"

#include "io.h"

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ADDRESS_MASK 0xfffff000u

enum {
	APIC_LVT_TIMER = 0x320,
	APIC_TIMER_INITIAL = 0x380,
	APIC_TIMER_CURRENT = 0x390,
	APIC_TIMER_DIVIDE = 0x3e0,
};

#define LVT_MASKED (1u << 16)
#define TIMER_DIVIDE_BY_1 0xbu
#define TIMER_VECTOR_UNUSED 0xffu /* masked: never delivered */

static volatile uint32_t *apic_reg(uint32_t offset)
{
	uint32_t base = (uint32_t)rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDRESS_MASK;

	return (volatile uint32_t *)(base + offset);
}

void lapic_timer_start(void)
{
	*apic_reg(APIC_LVT_TIMER) = LVT_MASKED | TIMER_VECTOR_UNUSED; /* one-shot */
	*apic_reg(APIC_TIMER_DIVIDE) = TIMER_DIVIDE_BY_1;
	*apic_reg(APIC_TIMER_INITIAL) = UINT32_MAX;
}

uint32_t lapic_timer_count(void)
{
	return *apic_reg(APIC_TIMER_CURRENT);
}

void lapic_timer_stop(void)
{
	*apic_reg(APIC_TIMER_INITIAL) = 0;
}
