/*
 * pit.c -- the 8254 timer (pit.h).
 */
#include "pit.h"

#include "io.h"

#define PIT_HZ 1193182u
#define PIT_CHANNEL0 0x40
#define PIT_COMMAND 0x43
#define PIT_RATE_GENERATOR 0x34 /* channel 0, low then high byte, mode 2 */
#define PIC1_COMMAND 0x20
#define PIC1_DATA 0x21
#define PIC_EOI 0x20

static volatile uint32_t ticks;
static void (*tick_hook)(struct trap_frame *frame);

static void on_irq0(struct trap_frame *frame)
{
	ticks++;
	/* Acknowledge first: the hook may stop here for a debugger for as
	 * long as it likes. */
	outb(PIC1_COMMAND, PIC_EOI);
	if (tick_hook)
		tick_hook(frame);
}

void pit_start(unsigned hz, void (*on_tick)(struct trap_frame *frame))
{
	uint32_t divisor = PIT_HZ / hz;

	tick_hook = on_tick;
	trap_set_handler(PIT_VECTOR, on_irq0);
	outb(PIT_COMMAND, PIT_RATE_GENERATOR);
	outb(PIT_CHANNEL0, (uint8_t)divisor);
	outb(PIT_CHANNEL0, (uint8_t)(divisor >> 8));
	outb(PIC1_DATA, inb(PIC1_DATA) & (uint8_t)~0x01u);
}

uint32_t pit_ticks(void)
{
	return ticks;
}
