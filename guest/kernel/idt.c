/*
 * idt.c -- the 32-bit kernel's interrupt descriptor table (trap.h) and the
 * report of a trap nobody handles.
 */
#include <stddef.h>

#include "console.h"
#include "io.h"
#include "machine.h"
#include "segments.h"
#include "trap.h"

extern const uint32_t trap_stub_table[256];

static uint64_t idt[256] __attribute__((aligned(8)));

/* A present 32-bit interrupt gate; INT n from ring 3 needs DPL 3 too. */
enum { GATE_INTERRUPT_32 = 0x8e, GATE_DPL3 = 0x60 };

static uint64_t gate(uint32_t offset, uint8_t type)
{
	return (offset & 0xffffu) | ((uint64_t)GDT_KERNEL_CODE << 16) | ((uint64_t)type << 40) |
	       ((uint64_t)(offset >> 16) << 48);
}

void idt_init(void)
{
	for (size_t v = 0; v < 256; v++)
		idt[v] = gate(trap_stub_table[v], GATE_INTERRUPT_32);

	struct __attribute__((packed)) {
		uint16_t limit;
		uint32_t base;
	} descriptor = { sizeof(idt) - 1, (uint32_t)idt };
	__asm__ volatile("lidt %0" : : "m"(descriptor));
}

void trap_set_user_gate(uint8_t vector, void (*entry)(void))
{
	idt[vector] = gate((uint32_t)entry, GATE_INTERRUPT_32 | GATE_DPL3);
}

void trap_fatal(const struct trap_frame *f)
{
	const char *name = trap_name(f->vector);

	kprintf("BXKD trap: %s (vector %u), error code 0x%08x\n", name, f->vector, f->error_code);
	kprintf("  eax=%08x ebx=%08x ecx=%08x edx=%08x\n", f->eax, f->ebx, f->ecx, f->edx);
	kprintf("  esi=%08x edi=%08x ebp=%08x esp=%08x\n", f->esi, f->edi, f->ebp,
		f->esp_at_pusha + 20);
	kprintf("  eip=%08x cs=%04x eflags=%08x\n", f->eip, f->cs, f->eflags);
	if (f->cs & SELECTOR_RPL3)
		kprintf("  at CPL 3: user ss=%04x esp=%08x\n", f->user_ss, f->user_esp);
	kprintf("  cr0=%08x cr2=%08x cr3=%08x\n", read_cr0(), read_cr2(), read_cr3());
	machine_fatal("trap vector=%u name=\"%s\" error=0x%08x eip=0x%08x", f->vector, name,
		      f->error_code, f->eip);
}
