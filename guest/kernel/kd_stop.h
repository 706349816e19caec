/*
 * kd_stop.h -- the stopped CPU as the KD stub sees it, for kd.c: one
 * implementation per kernel, kd_stop_x86.c (x86 CONTEXT) and
 * x64/kd_stop.c (AMD64 CONTEXT). A stop captures the trap frame and the
 * special registers; the debugger reads and changes them through the
 * stub's machine functions below; resuming writes them back into the frame
 * the trap returns to.
 */
#ifndef GUEST_KD_STOP_H
#define GUEST_KD_STOP_H

#include <stdbool.h>
#include <stdint.h>

#include "kdstub.h"
#include "trap.h"

/* The machine this kernel is, for kdstub_config.amd64, and its member of
 * the register unions. */
#ifdef __x86_64__
#define KD_STOP_AMD64 true
#define KD_STOP_MACHINE amd64
#else
#define KD_STOP_AMD64 false
#define KD_STOP_MACHINE x86
#endif

/* The registers of the stop, as the debugger sees and changes them
 * (kd_cpu.c); the capture fills them, the apply reads them back. */
extern union kdstub_context kd_stop_context;
extern union kdstub_special_registers kd_stop_special;

/* For a capture: the debug registers into both, and the return to the
 * frame after a stop: DR7 as the debugger asked, DR6's status cleared. */
void kd_stop_capture_debug_registers(void);
/* For a capture: CR0, CR2-CR4, GDTR, IDTR, TR and LDTR into the special
 * registers. */
void kd_stop_capture_system_registers(void);
void kd_stop_resume_debug_registers(const struct kdstub_resume *resume);

/* The frame as the stop's CONTEXT, the program counter being `pc`. */
void kd_stop_capture(const struct trap_frame *frame, uintptr_t pc);
/* The CONTEXT, as the debugger left it, back into `frame`; the trace flag
 * and DR7 as `resume` says. */
void kd_stop_apply(struct trap_frame *frame, const struct kdstub_resume *resume);

enum kd_segment { KD_SEGMENT_DS, KD_SEGMENT_ES, KD_SEGMENT_FS, KD_SEGMENT_GS, KD_SEGMENT_SS };
uint16_t kd_segment(enum kd_segment which);

/* struct kdstub_machine's register functions (kd_cpu.c); SetSpecial
 * takes the debug registers only: control registers stay the kernel's. */
void kd_stop_get_context(void *ctx, union kdstub_context *context);
void kd_stop_set_context(void *ctx, const union kdstub_context *context);
void kd_stop_get_special(void *ctx, union kdstub_special_registers *special);
void kd_stop_set_special(void *ctx, const union kdstub_special_registers *special);

#endif /* GUEST_KD_STOP_H */
