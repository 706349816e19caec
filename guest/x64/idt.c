/*
 * idt.c (x64) -- the x86-64 kernel's interrupt descriptor table (trap.h):
 * 16-byte interrupt gates to x64/entry.S's stubs, and the report of a trap
 * nobody handles.
 */
#include <stddef.h>

#include "console.h"
#include "io.h"
#include "machine.h"
#include "segments.h"
#include "trap.h"

extern const uint64_t trap_stub_table[256];

struct gate64 {
	uint64_t low, high;
};

static struct gate64 idt[256] __attribute__((aligned(16)));

/* A present 64-bit interrupt gate, no interrupt stack table. */
enum { GATE_INTERRUPT_64 = 0x8e };

static struct gate64 gate(uint64_t offset)
{
	struct gate64 g;

	g.low = (offset & 0xffffu) | ((uint64_t)GDT_KERNEL_CODE << 16) |
		((uint64_t)GATE_INTERRUPT_64 << 40) | ((offset >> 16) & 0xffffu) << 48;
	g.high = offset >> 32;
	return g;
}

void idt_init(void)
{
	for (size_t v = 0; v < 256; v++)
		idt[v] = gate(trap_stub_table[v]);

	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} descriptor = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(descriptor));
}

void trap_fatal(const struct trap_frame *f)
{
	const char *name = trap_name((unsigned)f->vector);
	uint64_t cr0, cr2, cr3;

	__asm__ volatile("mov %%cr0, %0\n\tmov %%cr2, %1\n\tmov %%cr3, %2"
			 : "=r"(cr0), "=r"(cr2), "=r"(cr3));
	kprintf("BXKD trap: %s (vector %u), error code 0x%08llx\n", name, (unsigned)f->vector,
		(unsigned long long)f->error_code);
	kprintf("  rax=%016llx rbx=%016llx rcx=%016llx\n", (unsigned long long)f->rax,
		(unsigned long long)f->rbx, (unsigned long long)f->rcx);
	kprintf("  rdx=%016llx rsi=%016llx rdi=%016llx\n", (unsigned long long)f->rdx,
		(unsigned long long)f->rsi, (unsigned long long)f->rdi);
	kprintf("  rbp=%016llx rsp=%016llx ss=%04llx\n", (unsigned long long)f->rbp,
		(unsigned long long)f->rsp, (unsigned long long)f->ss);
	kprintf("  rip=%016llx cs=%04llx rflags=%08llx\n", (unsigned long long)f->rip,
		(unsigned long long)f->cs, (unsigned long long)f->rflags);
	kprintf("  cr0=%08llx cr2=%016llx cr3=%016llx\n", (unsigned long long)cr0,
		(unsigned long long)cr2, (unsigned long long)cr3);
	machine_fatal("trap vector=%u name=\"%s\" error=0x%08llx rip=0x%016llx",
		      (unsigned)f->vector, name, (unsigned long long)f->error_code,
		      (unsigned long long)f->rip);
}
