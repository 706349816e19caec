/*
 * trap.c -- trap handlers and their dispatch, the same for both kernels
 * (the IDT and the report of an unexpected trap are idt.c's, and
 * x64/idt.c's for the x86-64 kernel).
 */
#include "trap.h"

#include <stddef.h>

void trap_dispatch(struct trap_frame *frame);

static trap_handler_fn handlers[256];

static const char *const exception_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM no math coprocessor",
	"#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization",
	"#CP control protection", "reserved 22", "reserved 23", "reserved 24",
	"reserved 25", "reserved 26", "reserved 27", "reserved 28", "reserved 29",
	"#SX security", "reserved 31",
};

const char *trap_name(unsigned vector)
{
	return vector < 32 ? exception_names[vector] : "unexpected interrupt";
}

void trap_set_handler(uint8_t vector, trap_handler_fn handler)
{
	handlers[vector] = handler;
}

void trap_dispatch(struct trap_frame *frame)
{
	trap_handler_fn handler = handlers[frame->vector & 0xff];

	if (!handler)
		trap_fatal(frame);
	handler(frame);
}
