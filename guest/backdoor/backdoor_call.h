/*
 * backdoor_call.h -- guest side of the VMware backdoor, for the test guest.
 *
 * A call loads seven registers, executes one port instruction and stores all
 * seven back, so a test sees exactly what the device changed. The
 * instruction is the only difference between the entry points.
 *
 * Above that, one function per low-bandwidth command for code that wants
 * the answer rather than the registers. GuestRPC is in guestrpc.h.
 */
#ifndef GUEST_BACKDOOR_H
#define GUEST_BACKDOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxkd/backdoor.h"

struct bd_regs {
	uint32_t eax, ebx, ecx, edx, esi, edi, ebp;
};

/* backdoor.S addresses the fields by these offsets. */
_Static_assert(offsetof(struct bd_regs, eax) == 0, "bd_regs layout");
_Static_assert(offsetof(struct bd_regs, ebp) == 24, "bd_regs layout");

void bd_in(struct bd_regs *regs);     /* IN EAX, DX */
void bd_in_al(struct bd_regs *regs);  /* IN AL, DX */
void bd_out(struct bd_regs *regs);    /* OUT DX, EAX */
void bd_hb_out(struct bd_regs *regs); /* CLD; REP OUTSB: ECX bytes from DS:ESI */
void bd_hb_in(struct bd_regs *regs);  /* CLD; REP INSB: ECX bytes to ES:EDI */

#ifdef __x86_64__
/* The x86-64 kernel's calls with whole 64-bit registers (x64/backdoor_call.c),
 * what a 64-bit client puts in the upper halves and in RSI/RDI; there
 * bd_in is these with the upper halves zero (x64/backdoor_call.c). */
struct bd_regs64 {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
};
void bd_in64(struct bd_regs64 *regs); /* IN EAX, DX (x64/backdoor_call.c) */
/* CLD; REP OUTSB: RCX bytes from RSI, and CLD; REP INSB: RCX bytes to RDI. */
void bd_hb_out64(struct bd_regs64 *regs), bd_hb_in64(struct bd_regs64 *regs);
#endif

/* A low-bandwidth call with the usual inputs: magic, command, port. */
static inline void bd_call(struct bd_regs *regs, uint32_t command)
{
	regs->eax = BDOOR_MAGIC;
	regs->ecx = command;
	regs->edx = (regs->edx & 0xffff0000u) | BDOOR_PORT;
	bd_in(regs);
}

/* ---- the clock readings the kernel uses ------------------------------------ */

/* A clock reading: GETTIME, GETTIMEFULL, GETTIMEFULL_WITH_LAG. */
struct bd_time {
	uint64_t seconds; /* since 1970 */
	uint32_t usec;
	uint32_t max_lag_usec;
	uint32_t gmt_offset_min;     /* GETTIME only */
	uint32_t interrupt_lag_usec; /* GETTIMEFULL_WITH_LAG only */
};

bool bd_gettime(struct bd_time *time);
/* GETHZ: false when the device does not know the rates. */
bool bd_gethz(uint64_t *tsc_hz, uint32_t *apic_hz);
/* False unless EAX came back as the magic, as open-vm-tools tests. */
bool bd_gettimefull(struct bd_time *time);

#endif /* GUEST_BACKDOOR_H */
