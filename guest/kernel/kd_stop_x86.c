/*
 * kd_stop_x86.c -- the 32-bit kernel's stopped CPU as the KD stub sees it
 * (kd_stop.h): the trap frame as an x86 CONTEXT, the special registers
 * read from the CPU.
 */
#include "kd_stop.h"

#include "kstring.h"
#include "segments.h"

#define EFLAGS_TF 0x100u

/* The registers of the stop, as the debugger sees and changes them. */
static struct x86_context stop_context;
static struct x86_special_registers stop_special;

#define READ_REGISTER(name, into) __asm__ volatile("mov %%" name ", %0" : "=r"(into))

static uint32_t segment(int which)
{
	uint16_t value = 0;

	switch (which) {
	case 0: __asm__ volatile("mov %%ds, %0" : "=r"(value)); break;
	case 1: __asm__ volatile("mov %%es, %0" : "=r"(value)); break;
	case 2: __asm__ volatile("mov %%fs, %0" : "=r"(value)); break;
	case 3: __asm__ volatile("mov %%gs, %0" : "=r"(value)); break;
	default: __asm__ volatile("mov %%ss, %0" : "=r"(value)); break;
	}
	return value;
}

static void capture_special(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint32_t base;
	} gdtr, idtr;
	uint16_t tr, ldtr;

	memset(&stop_special, 0, sizeof(stop_special));
	READ_REGISTER("cr0", stop_special.cr0);
	READ_REGISTER("cr2", stop_special.cr2);
	READ_REGISTER("cr3", stop_special.cr3);
	READ_REGISTER("cr4", stop_special.cr4);
	READ_REGISTER("dr0", stop_special.kernel_dr0);
	READ_REGISTER("dr1", stop_special.kernel_dr1);
	READ_REGISTER("dr2", stop_special.kernel_dr2);
	READ_REGISTER("dr3", stop_special.kernel_dr3);
	READ_REGISTER("dr6", stop_special.kernel_dr6);
	READ_REGISTER("dr7", stop_special.kernel_dr7);
	__asm__ volatile("sgdt %0\n\tsidt %1\n\tstr %2\n\tsldt %3"
			 : "=m"(gdtr), "=m"(idtr), "=r"(tr), "=r"(ldtr));
	stop_special.gdtr.limit = gdtr.limit;
	stop_special.gdtr.base = gdtr.base;
	stop_special.idtr.limit = idtr.limit;
	stop_special.idtr.base = idtr.base;
	stop_special.tr = tr;
	stop_special.ldtr = ldtr;
}

/* The trap frame as a CONTEXT. A trap at CPL 0 switches no stack: the
 * interrupted ESP is where the CPU's own pushes end. */
void kd_stop_capture(const struct trap_frame *f, uintptr_t eip)
{
	bool from_ring3 = (f->cs & SELECTOR_RPL3) != 0;

	memset(&stop_context, 0, sizeof(stop_context));
	stop_context.context_flags = DBGKD_CONTEXT_FULL | DBGKD_CONTEXT_DEBUG_REGISTERS;
	stop_context.eax = f->eax;
	stop_context.ebx = f->ebx;
	stop_context.ecx = f->ecx;
	stop_context.edx = f->edx;
	stop_context.esi = f->esi;
	stop_context.edi = f->edi;
	stop_context.ebp = f->ebp;
	stop_context.eip = eip;
	stop_context.eflags = f->eflags;
	stop_context.seg_cs = f->cs;
	stop_context.esp = from_ring3 ? f->user_esp : (uint32_t)&f->user_esp;
	stop_context.seg_ss = from_ring3 ? f->user_ss : segment(4);
	stop_context.seg_ds = segment(0);
	stop_context.seg_es = segment(1);
	stop_context.seg_fs = segment(2);
	stop_context.seg_gs = segment(3);
	capture_special();
	stop_context.dr0 = stop_special.kernel_dr0;
	stop_context.dr1 = stop_special.kernel_dr1;
	stop_context.dr2 = stop_special.kernel_dr2;
	stop_context.dr3 = stop_special.kernel_dr3;
	stop_context.dr6 = stop_special.kernel_dr6;
	stop_context.dr7 = stop_special.kernel_dr7;
}

/* What the debugger changed goes back into the frame the trap returns
 * to. ESP and the segment registers stay: at CPL 0 they are not in the
 * frame, and a debugger has no business moving the kernel's stack. */
void kd_stop_apply(struct trap_frame *f, const struct kdstub_resume *resume)
{
	f->eax = stop_context.eax;
	f->ebx = stop_context.ebx;
	f->ecx = stop_context.ecx;
	f->edx = stop_context.edx;
	f->esi = stop_context.esi;
	f->edi = stop_context.edi;
	f->ebp = stop_context.ebp;
	f->eip = stop_context.eip;
	f->eflags = (stop_context.eflags & ~EFLAGS_TF) | (resume->single_step ? EFLAGS_TF : 0);
	if (resume->dr7_set)
		__asm__ volatile("mov %0, %%dr7" : : "r"(resume->dr7));
	/* The status bits of this stop are spent. */
	__asm__ volatile("mov %0, %%dr6" : : "r"(0u));
}

void kd_stop_get_context(void *ctx, union kdstub_context *context)
{
	(void)ctx;
	context->x86 = stop_context;
}

void kd_stop_set_context(void *ctx, const union kdstub_context *context)
{
	(void)ctx;
	stop_context = context->x86;
}

void kd_stop_get_special(void *ctx, union kdstub_special_registers *special)
{
	(void)ctx;
	special->x86 = stop_special;
}

/* Debug registers only: control registers stay the kernel's. */
void kd_stop_set_special(void *ctx, const union kdstub_special_registers *registers)
{
	const struct x86_special_registers *special = &registers->x86;

	(void)ctx;
	stop_special.kernel_dr0 = special->kernel_dr0;
	stop_special.kernel_dr1 = special->kernel_dr1;
	stop_special.kernel_dr2 = special->kernel_dr2;
	stop_special.kernel_dr3 = special->kernel_dr3;
	stop_special.kernel_dr7 = special->kernel_dr7;
	__asm__ volatile("mov %0, %%dr0\n\tmov %1, %%dr1\n\tmov %2, %%dr2\n\tmov %3, %%dr3\n\t"
			 "mov %4, %%dr7"
			 :
			 : "r"(special->kernel_dr0), "r"(special->kernel_dr1),
			   "r"(special->kernel_dr2), "r"(special->kernel_dr3),
			   "r"(special->kernel_dr7));
}

