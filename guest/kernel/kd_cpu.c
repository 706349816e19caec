/*
 * kd_cpu.c -- what both kernels' stopped-CPU code (kd_stop_x86.c,
 * x64/kd_stop.c) shares (kd_stop.h): the stop's registers in this kernel's
 * member of the register unions, the stub's functions on them, the debug
 * registers and the data segment selectors, at the width of the mode.
 */
#include "kd_stop.h"

union kdstub_context kd_stop_context;
union kdstub_special_registers kd_stop_special;

void kd_stop_capture_debug_registers(void)
{
	uintptr_t dr0, dr1, dr2, dr3, dr6, dr7;

	__asm__ volatile("mov %%dr0, %0\n\tmov %%dr1, %1\n\tmov %%dr2, %2\n\tmov %%dr3, %3"
			 : "=r"(dr0), "=r"(dr1), "=r"(dr2), "=r"(dr3));
	__asm__ volatile("mov %%dr6, %0\n\tmov %%dr7, %1" : "=r"(dr6), "=r"(dr7));
	kd_stop_context.KD_STOP_MACHINE.dr0 = kd_stop_special.KD_STOP_MACHINE.kernel_dr0 = dr0;
	kd_stop_context.KD_STOP_MACHINE.dr1 = kd_stop_special.KD_STOP_MACHINE.kernel_dr1 = dr1;
	kd_stop_context.KD_STOP_MACHINE.dr2 = kd_stop_special.KD_STOP_MACHINE.kernel_dr2 = dr2;
	kd_stop_context.KD_STOP_MACHINE.dr3 = kd_stop_special.KD_STOP_MACHINE.kernel_dr3 = dr3;
	kd_stop_context.KD_STOP_MACHINE.dr6 = kd_stop_special.KD_STOP_MACHINE.kernel_dr6 = dr6;
	kd_stop_context.KD_STOP_MACHINE.dr7 = kd_stop_special.KD_STOP_MACHINE.kernel_dr7 = dr7;
}

/* The special registers both machines have, into this kernel's member:
 * CR0, CR2-CR4, the descriptor tables (SGDT and SIDT store a base of the
 * mode's width), TR and LDTR. */
void kd_stop_capture_system_registers(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uintptr_t base;
	} gdtr, idtr;
	uint16_t tr, ldtr;
	uintptr_t cr0, cr2, cr3, cr4;

	__asm__ volatile("mov %%cr0, %0\n\tmov %%cr2, %1\n\tmov %%cr3, %2\n\tmov %%cr4, %3"
			 : "=r"(cr0), "=r"(cr2), "=r"(cr3), "=r"(cr4));
	__asm__ volatile("sgdt %0\n\tsidt %1\n\tstr %2\n\tsldt %3"
			 : "=m"(gdtr), "=m"(idtr), "=r"(tr), "=r"(ldtr));
	kd_stop_special.KD_STOP_MACHINE.cr0 = cr0, kd_stop_special.KD_STOP_MACHINE.cr2 = cr2;
	kd_stop_special.KD_STOP_MACHINE.cr3 = cr3, kd_stop_special.KD_STOP_MACHINE.cr4 = cr4;
	kd_stop_special.KD_STOP_MACHINE.gdtr.limit = gdtr.limit;
	kd_stop_special.KD_STOP_MACHINE.gdtr.base = gdtr.base;
	kd_stop_special.KD_STOP_MACHINE.idtr.limit = idtr.limit;
	kd_stop_special.KD_STOP_MACHINE.idtr.base = idtr.base;
	kd_stop_special.KD_STOP_MACHINE.tr = tr, kd_stop_special.KD_STOP_MACHINE.ldtr = ldtr;
}

void kd_stop_resume_debug_registers(const struct kdstub_resume *resume)
{
	if (resume->dr7_set)
		__asm__ volatile("mov %0, %%dr7" : : "r"((uintptr_t)resume->dr7));
	/* The status bits of this stop are spent. */
	__asm__ volatile("mov %0, %%dr6" : : "r"((uintptr_t)0));
}

uint16_t kd_segment(enum kd_segment which)
{
	uint16_t value = 0;

	switch (which) {
	case KD_SEGMENT_DS: __asm__ volatile("mov %%ds, %0" : "=r"(value)); break;
	case KD_SEGMENT_ES: __asm__ volatile("mov %%es, %0" : "=r"(value)); break;
	case KD_SEGMENT_FS: __asm__ volatile("mov %%fs, %0" : "=r"(value)); break;
	case KD_SEGMENT_GS: __asm__ volatile("mov %%gs, %0" : "=r"(value)); break;
	case KD_SEGMENT_SS: __asm__ volatile("mov %%ss, %0" : "=r"(value)); break;
	}
	return value;
}

void kd_stop_get_context(void *ctx, union kdstub_context *context)
{
	(void)ctx;
	context->KD_STOP_MACHINE = kd_stop_context.KD_STOP_MACHINE;
}

void kd_stop_set_context(void *ctx, const union kdstub_context *context)
{
	(void)ctx;
	kd_stop_context.KD_STOP_MACHINE = context->KD_STOP_MACHINE;
}

void kd_stop_get_special(void *ctx, union kdstub_special_registers *special)
{
	(void)ctx;
	special->KD_STOP_MACHINE = kd_stop_special.KD_STOP_MACHINE;
}

void kd_stop_set_special(void *ctx, const union kdstub_special_registers *special)
{
	uintptr_t dr0 = special->KD_STOP_MACHINE.kernel_dr0, dr1 = special->KD_STOP_MACHINE.kernel_dr1;
	uintptr_t dr2 = special->KD_STOP_MACHINE.kernel_dr2, dr3 = special->KD_STOP_MACHINE.kernel_dr3;
	uintptr_t dr7 = special->KD_STOP_MACHINE.kernel_dr7;

	(void)ctx;
	kd_stop_special.KD_STOP_MACHINE.kernel_dr0 = dr0;
	kd_stop_special.KD_STOP_MACHINE.kernel_dr1 = dr1;
	kd_stop_special.KD_STOP_MACHINE.kernel_dr2 = dr2;
	kd_stop_special.KD_STOP_MACHINE.kernel_dr3 = dr3;
	kd_stop_special.KD_STOP_MACHINE.kernel_dr7 = dr7;
	__asm__ volatile("mov %0, %%dr0\n\tmov %1, %%dr1\n\tmov %2, %%dr2\n\tmov %3, %%dr3\n\t"
			 "mov %4, %%dr7"
			 :
			 : "r"(dr0), "r"(dr1), "r"(dr2), "r"(dr3), "r"(dr7));
}
