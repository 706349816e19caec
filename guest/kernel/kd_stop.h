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

/* The machine this kernel is, for kdstub_config.amd64. */
#ifdef __x86_64__
#define KD_STOP_AMD64 true
#else
#define KD_STOP_AMD64 false
#endif

/* The frame as the stop's CONTEXT, the program counter being `pc`. */
void kd_stop_capture(const struct trap_frame *frame, uintptr_t pc);
/* The CONTEXT, as the debugger left it, back into `frame`; the trace flag
 * and DR7 as `resume` says. */
void kd_stop_apply(struct trap_frame *frame, const struct kdstub_resume *resume);

/* struct kdstub_machine's register functions. */
void kd_stop_get_context(void *ctx, union kdstub_context *context);
void kd_stop_set_context(void *ctx, const union kdstub_context *context);
void kd_stop_get_special(void *ctx, union kdstub_special_registers *special);
void kd_stop_set_special(void *ctx, const union kdstub_special_registers *special);

#endif /* GUEST_KD_STOP_H */
