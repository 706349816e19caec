/*
 * kd_stop.c (x64) -- the x86-64 kernel's stopped CPU as the KD stub sees
 * it (kd_stop.h): the trap frame as an AMD64 CONTEXT, and the AMD64
 * KSPECIAL_REGISTERS read from the CPU (control, debug and descriptor
 * registers, the SYSCALL and GS MSRs).
 */
#include "kd_stop.h"

#include <stddef.h>

#include "io.h"
#include "kstring.h"

#define EFLAGS_TF 0x100u
/* Control, integer, segments, floating point and debug registers. */
#define STOP_CONTEXT_FLAGS DBGKD_CONTEXT_AMD64_ALL
/* In FXSAVE's area: MXCSR, and the bits of it the CPU takes (0: the
 * default mask). */
#define FXSAVE_MXCSR 24
#define FXSAVE_MXCSR_MASK 28
#define DEFAULT_MXCSR_MASK 0xFFBFu

/* The interrupted code's x87 and SSE state. The kernel's own C code is
 * built without them (-mgeneral-regs-only), so between the capture and
 * the return the CPU's copy stays the stop's: the stop saves it for the
 * debugger and loads back what the debugger left. */
static uint8_t fx_area[512] __attribute__((aligned(16)));

static uint32_t fx_field(size_t offset)
{
	uint32_t value;

	memcpy(&value, fx_area + offset, sizeof(value));
	return value;
}

static void capture_floating_point(struct amd64_context *c)
{
	__asm__ volatile("fxsave64 %0" : "=m"(fx_area));
	memcpy(c->flt_save, fx_area, sizeof(c->flt_save));
	c->mx_csr = fx_field(FXSAVE_MXCSR);
}

/* Only a CONTEXT that says it carries the floating point state sets it.
 * CONTEXT.MxCsr is the one a debugger sets (`r mxcsr`); its copy in
 * FltSave follows it. A bit the CPU does not have would make FXRSTOR
 * fault, so those are dropped, as Windows sanitizes MXCSR. */
static void apply_floating_point(const struct amd64_context *c)
{
	if ((c->context_flags & DBGKD_CONTEXT_AMD64_FLOATING_POINT) !=
	    DBGKD_CONTEXT_AMD64_FLOATING_POINT)
		return;
	uint32_t mask = fx_field(FXSAVE_MXCSR_MASK);
	uint32_t mx_csr = c->mx_csr & (mask ? mask : DEFAULT_MXCSR_MASK);
	memcpy(fx_area, c->flt_save, sizeof(fx_area));
	memcpy(fx_area + FXSAVE_MXCSR, &mx_csr, sizeof(mx_csr));
	__asm__ volatile("fxrstor64 %0" : : "m"(fx_area));
}

/* KSPECIAL_REGISTERS' MSR fields, in their order (MsrGsBase, MsrGsSwap,
 * MsrStar, MsrLStar, MsrCStar, MsrSyscallMask). */
static const uint32_t special_msrs[] = { 0xC0000101, 0xC0000102, 0xC0000081,
					 0xC0000082, 0xC0000083, 0xC0000084 };

_Static_assert(offsetof(struct amd64_special_registers, msr_syscall_mask) -
			       offsetof(struct amd64_special_registers, msr_gs_base) ==
		       8 * (sizeof(special_msrs) / sizeof(special_msrs[0]) - 1),
	       "the MSR fields in a row");

/* What only AMD64's KSPECIAL_REGISTERS have: CR8 and the MSRs. */
static void capture_amd64_special(struct amd64_special_registers *s)
{
	uint64_t *msr = &s->msr_gs_base;

	__asm__ volatile("mov %%cr8, %0" : "=r"(s->cr8));
	for (size_t i = 0; i < sizeof(special_msrs) / sizeof(special_msrs[0]); i++)
		msr[i] = rdmsr(special_msrs[i]);
}

/* In long mode every trap pushes SS:RSP, so the interrupted RSP is in the
 * frame whatever the privilege level. */
void kd_stop_capture(const struct trap_frame *f, uintptr_t pc)
{
	struct amd64_context *c = &kd_stop_context.amd64;

	memset(&kd_stop_context, 0, sizeof(kd_stop_context));
	memset(&kd_stop_special, 0, sizeof(kd_stop_special));
	c->context_flags = STOP_CONTEXT_FLAGS;
	c->rax = f->rax, c->rcx = f->rcx, c->rdx = f->rdx, c->rbx = f->rbx;
	c->rsp = f->rsp, c->rbp = f->rbp, c->rsi = f->rsi, c->rdi = f->rdi;
	c->r8 = f->r8, c->r9 = f->r9, c->r10 = f->r10, c->r11 = f->r11;
	c->r12 = f->r12, c->r13 = f->r13, c->r14 = f->r14, c->r15 = f->r15;
	c->rip = pc;
	c->eflags = (uint32_t)f->rflags;
	c->seg_cs = (uint16_t)f->cs, c->seg_ss = (uint16_t)f->ss;
	c->seg_ds = kd_segment(KD_SEGMENT_DS), c->seg_es = kd_segment(KD_SEGMENT_ES);
	c->seg_fs = kd_segment(KD_SEGMENT_FS), c->seg_gs = kd_segment(KD_SEGMENT_GS);
	capture_floating_point(c);
	kd_stop_capture_system_registers();
	capture_amd64_special(&kd_stop_special.amd64);
	kd_stop_capture_debug_registers();
}

/* What the debugger changed goes back into the frame the trap returns to.
 * RSP and the segment registers stay: a debugger has no business moving
 * the kernel's stack. */
void kd_stop_apply(struct trap_frame *f, const struct kdstub_resume *resume)
{
	const struct amd64_context *c = &kd_stop_context.amd64;

	f->rax = c->rax, f->rcx = c->rcx, f->rdx = c->rdx, f->rbx = c->rbx;
	f->rbp = c->rbp, f->rsi = c->rsi, f->rdi = c->rdi;
	f->r8 = c->r8, f->r9 = c->r9, f->r10 = c->r10, f->r11 = c->r11;
	f->r12 = c->r12, f->r13 = c->r13, f->r14 = c->r14, f->r15 = c->r15;
	f->rip = c->rip;
	f->rflags = (c->eflags & ~EFLAGS_TF) | (resume->single_step ? EFLAGS_TF : 0);
	apply_floating_point(c);
	kd_stop_resume_debug_registers(resume);
}
