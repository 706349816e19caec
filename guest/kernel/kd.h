/*
 * kd.h -- the kernel debugger in the test kernel: the KD stub
 * (guest/kdstub/) on one of two transports, wired to this kernel's traps.
 *
 * Breakpoints (INT 3), single steps (EFLAGS.TF, #DB) and break-ins (polled
 * from the clock interrupt, as Windows' clock interrupt does) stop the
 * kernel in the stub, which serves the debugger until it continues. The
 * machine the stub sees is the trap frame, the page tables and physical
 * RAM.
 */
#ifndef GUEST_KD_H
#define GUEST_KD_H

#include <stdbool.h>
#include <stdint.h>

#include "trap.h"

enum kd_transport_kind {
	KD_TRANSPORT_NONE,
	KD_TRANSPORT_VMPORT, /* the shared page over the backdoor (guest/kdvm/) */
	KD_TRANSPORT_SERIAL, /* KDCOM over COM1 (guest/kdser/) */
	KD_TRANSPORT_DLL,    /* the Windows KD DLL the image carries (kd_dll.h) */
};

/* The boot option kd=vmport|serial|dll|none (default none). */
enum kd_transport_kind kd_transport_from_boot_options(void);

/* Brings the transport up and installs the breakpoint and single-step
 * handlers; announces the kernel image (a symbol load) to a debugger that
 * is there. False, with the reason printed, when the transport is not
 * (no device, no endpoint): the kernel then runs without a debugger. */
bool kd_init(enum kd_transport_kind kind);

bool kd_active(void);

/* DbgPrint: a debug-I/O packet to the debugger, and the console. */
void kd_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* DbgBreakPoint: an INT 3 the debugger sees as a breakpoint stop. */
void kd_break(void);

/* For the clock interrupt: a pending break-in stops the kernel here. */
void kd_poll_breakin(struct trap_frame *frame);

/* How the session went, for the console's result line: stops of any kind;
 * break-ins honoured (in the clock interrupt or after a DbgPrint);
 * single-step traps; INT 3 traps (the debugger's and kd_break's). */
struct kd_counts {
	uint32_t stops, breakins, single_steps, breakpoints;
};
const struct kd_counts *kd_counts(void);

/* A console line with the packet counts row 0 of the screen shows. The
 * row follows each packet digit by digit; this line is formatted whole,
 * so a reader of the screen can hold one against the other. */
void kd_report_traffic(void);

#endif /* GUEST_KD_H */
