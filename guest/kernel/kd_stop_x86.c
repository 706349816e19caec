/*
 * kd_stop_x86.c -- the 32-bit kernel's stopped CPU as the KD stub sees it
 * (kd_stop.h): the trap frame as an x86 CONTEXT, the special registers
 * read from the CPU.
 */
#include "kd_stop.h"

#include "kstring.h"
#include "segments.h"

#define EFLAGS_TF 0x100u

/* The trap frame as a CONTEXT. A trap at CPL 0 switches no stack: the
 * interrupted ESP is where the CPU's own pushes end. */
void kd_stop_capture(const struct trap_frame *f, uintptr_t eip)
{
	struct x86_context *c = &kd_stop_context.x86;
	bool from_ring3 = (f->cs & SELECTOR_RPL3) != 0;

	memset(&kd_stop_context, 0, sizeof(kd_stop_context));
	memset(&kd_stop_special, 0, sizeof(kd_stop_special));
	c->context_flags = DBGKD_CONTEXT_FULL | DBGKD_CONTEXT_DEBUG_REGISTERS;
	c->eax = f->eax, c->ebx = f->ebx, c->ecx = f->ecx, c->edx = f->edx;
	c->esi = f->esi, c->edi = f->edi, c->ebp = f->ebp;
	c->eip = eip;
	c->eflags = f->eflags;
	c->seg_cs = f->cs;
	c->esp = from_ring3 ? f->user_esp : (uint32_t)&f->user_esp;
	c->seg_ss = from_ring3 ? f->user_ss : kd_segment(KD_SEGMENT_SS);
	c->seg_ds = kd_segment(KD_SEGMENT_DS), c->seg_es = kd_segment(KD_SEGMENT_ES);
	c->seg_fs = kd_segment(KD_SEGMENT_FS), c->seg_gs = kd_segment(KD_SEGMENT_GS);
	kd_stop_capture_system_registers();
	kd_stop_capture_debug_registers();
}

/* What the debugger changed goes back into the frame the trap returns
 * to. ESP and the segment registers stay: at CPL 0 they are not in the
 * frame, and a debugger has no business moving the kernel's stack. */
void kd_stop_apply(struct trap_frame *f, const struct kdstub_resume *resume)
{
	const struct x86_context *c = &kd_stop_context.x86;

	f->eax = c->eax, f->ebx = c->ebx, f->ecx = c->ecx, f->edx = c->edx;
	f->esi = c->esi, f->edi = c->edi, f->ebp = c->ebp;
	f->eip = c->eip;
	f->eflags = (c->eflags & ~EFLAGS_TF) | (resume->single_step ? EFLAGS_TF : 0);
	kd_stop_resume_debug_registers(resume);
}
