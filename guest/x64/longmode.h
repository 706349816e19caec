/*
 * longmode.h (x64) -- backdoor calls with whole 64-bit registers, for the
 * x86-64 kernel's long-mode guest tests (x64/longmode_tests.c): what a
 * 64-bit client (open-vm-tools' backdoorGcc64) puts in the upper halves
 * and in RSI/RDI, and what comes back there.
 */
#ifndef GUEST_X64_LONGMODE_H
#define GUEST_X64_LONGMODE_H

#include <stddef.h>
#include <stdint.h>

struct bd_regs64 {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
};

_Static_assert(offsetof(struct bd_regs64, rdi) == 40, "bd_regs64 layout (x64/backdoor.S)");
_Static_assert(offsetof(struct bd_regs64, rbp) == 48, "bd_regs64 layout (x64/backdoor.S)");

void bd_in64(struct bd_regs64 *regs);     /* IN EAX, DX */
void bd_hb_out64(struct bd_regs64 *regs); /* CLD; REP OUTSB: RCX bytes from RSI */
void bd_hb_in64(struct bd_regs64 *regs);  /* CLD; REP INSB: RCX bytes to RDI */

#endif /* GUEST_X64_LONGMODE_H */
