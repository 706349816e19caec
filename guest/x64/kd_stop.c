/*
 * kd_stop.c (x64) -- the x86-64 kernel's stopped CPU as the KD stub sees
 * it (kd_stop.h): the trap frame as an AMD64 CONTEXT, and the AMD64
 * KSPECIAL_REGISTERS read from the CPU (control, debug and descriptor
 * registers, the SYSCALL and GS MSRs).
 */
#include "kd_stop.h"

#include "io.h"
#include "kstring.h"

#define EFLAGS_TF 0x100u
/* Control, integer, segments and debug registers: the floating point
 * state is not saved by this kernel's traps, so it is not claimed. */
#define STOP_CONTEXT_FLAGS (DBGKD_CONTEXT_AMD64 | 0x17u)

enum {
	MSR_STAR = 0xC0000081,
	MSR_LSTAR = 0xC0000082,
	MSR_CSTAR = 0xC0000083,
	MSR_SYSCALL_MASK = 0xC0000084,
	MSR_GS_BASE = 0xC0000101,
	MSR_KERNEL_GS_BASE = 0xC0000102,
};

static struct amd64_context stop_context;
static struct amd64_special_registers stop_special;

#define READ_REGISTER(name, into) __asm__ volatile("mov %%" name ", %0" : "=r"(into))

static uint16_t segment(int which)
{
	uint16_t value = 0;

	switch (which) {
	case 0: __asm__ volatile("mov %%ds, %0" : "=r"(value)); break;
	case 1: __asm__ volatile("mov %%es, %0" : "=r"(value)); break;
	case 2: __asm__ volatile("mov %%fs, %0" : "=r"(value)); break;
	default: __asm__ volatile("mov %%gs, %0" : "=r"(value)); break;
	}
	return value;
}

static void capture_special(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} gdtr, idtr;
	uint16_t tr, ldtr;
	struct amd64_special_registers *s = &stop_special;

	memset(s, 0, sizeof(*s));
	READ_REGISTER("cr0", s->cr0);
	READ_REGISTER("cr2", s->cr2);
	READ_REGISTER("cr3", s->cr3);
	READ_REGISTER("cr4", s->cr4);
	READ_REGISTER("cr8", s->cr8);
	READ_REGISTER("dr0", s->kernel_dr0);
	READ_REGISTER("dr1", s->kernel_dr1);
	READ_REGISTER("dr2", s->kernel_dr2);
	READ_REGISTER("dr3", s->kernel_dr3);
	READ_REGISTER("dr6", s->kernel_dr6);
	READ_REGISTER("dr7", s->kernel_dr7);
	__asm__ volatile("sgdt %0\n\tsidt %1\n\tstr %2\n\tsldt %3"
			 : "=m"(gdtr), "=m"(idtr), "=r"(tr), "=r"(ldtr));
	s->gdtr.limit = gdtr.limit;
	s->gdtr.base = gdtr.base;
	s->idtr.limit = idtr.limit;
	s->idtr.base = idtr.base;
	s->tr = tr;
	s->ldtr = ldtr;
	s->msr_gs_base = rdmsr(MSR_GS_BASE);
	s->msr_gs_swap = rdmsr(MSR_KERNEL_GS_BASE);
	s->msr_star = rdmsr(MSR_STAR);
	s->msr_lstar = rdmsr(MSR_LSTAR);
	s->msr_cstar = rdmsr(MSR_CSTAR);
	s->msr_syscall_mask = rdmsr(MSR_SYSCALL_MASK);
}

/* In long mode every trap pushes SS:RSP, so the interrupted RSP is in the
 * frame whatever the privilege level. */
void kd_stop_capture(const struct trap_frame *f, uintptr_t pc)
{
	struct amd64_context *c = &stop_context;

	memset(c, 0, sizeof(*c));
	c->context_flags = STOP_CONTEXT_FLAGS;
	c->rax = f->rax, c->rcx = f->rcx, c->rdx = f->rdx, c->rbx = f->rbx;
	c->rsp = f->rsp, c->rbp = f->rbp, c->rsi = f->rsi, c->rdi = f->rdi;
	c->r8 = f->r8, c->r9 = f->r9, c->r10 = f->r10, c->r11 = f->r11;
	c->r12 = f->r12, c->r13 = f->r13, c->r14 = f->r14, c->r15 = f->r15;
	c->rip = pc;
	c->eflags = (uint32_t)f->rflags;
	c->seg_cs = (uint16_t)f->cs;
	c->seg_ss = (uint16_t)f->ss;
	c->seg_ds = segment(0);
	c->seg_es = segment(1);
	c->seg_fs = segment(2);
	c->seg_gs = segment(3);
	capture_special();
	c->dr0 = stop_special.kernel_dr0;
	c->dr1 = stop_special.kernel_dr1;
	c->dr2 = stop_special.kernel_dr2;
	c->dr3 = stop_special.kernel_dr3;
	c->dr6 = stop_special.kernel_dr6;
	c->dr7 = stop_special.kernel_dr7;
}

/* What the debugger changed goes back into the frame the trap returns to.
 * RSP and the segment registers stay: a debugger has no business moving
 * the kernel's stack. */
void kd_stop_apply(struct trap_frame *f, const struct kdstub_resume *resume)
{
	const struct amd64_context *c = &stop_context;

	f->rax = c->rax, f->rcx = c->rcx, f->rdx = c->rdx, f->rbx = c->rbx;
	f->rbp = c->rbp, f->rsi = c->rsi, f->rdi = c->rdi;
	f->r8 = c->r8, f->r9 = c->r9, f->r10 = c->r10, f->r11 = c->r11;
	f->r12 = c->r12, f->r13 = c->r13, f->r14 = c->r14, f->r15 = c->r15;
	f->rip = c->rip;
	f->rflags = (c->eflags & ~EFLAGS_TF) | (resume->single_step ? EFLAGS_TF : 0);
	if (resume->dr7_set)
		__asm__ volatile("mov %0, %%dr7" : : "r"((uint64_t)resume->dr7));
	/* The status bits of this stop are spent. */
	__asm__ volatile("mov %0, %%dr6" : : "r"(0ull));
}

void kd_stop_get_context(void *ctx, union kdstub_context *context)
{
	(void)ctx;
	context->amd64 = stop_context;
}

void kd_stop_set_context(void *ctx, const union kdstub_context *context)
{
	(void)ctx;
	stop_context = context->amd64;
}

void kd_stop_get_special(void *ctx, union kdstub_special_registers *special)
{
	(void)ctx;
	special->amd64 = stop_special;
}

/* Debug registers only: control registers and MSRs stay the kernel's. */
void kd_stop_set_special(void *ctx, const union kdstub_special_registers *registers)
{
	const struct amd64_special_registers *special = &registers->amd64;

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
