/*
 * backdoor.h -- guest side of the VMware backdoor, for the test guest.
 *
 * A call loads seven registers, executes one port instruction and stores all
 * seven back, so a test sees exactly what the device changed. The
 * instruction is the only difference between the entry points.
 */
#ifndef GUEST_BACKDOOR_H
#define GUEST_BACKDOOR_H

#include <stddef.h>
#include <stdint.h>

#include "bxkd/backdoor.h"

struct bd_regs {
	uint32_t eax, ebx, ecx, edx, esi, edi, ebp;
};

/* backdoor.S addresses the fields by these offsets. */
_Static_assert(offsetof(struct bd_regs, eax) == 0, "bd_regs layout");
_Static_assert(offsetof(struct bd_regs, ebp) == 24, "bd_regs layout");

void bd_in(struct bd_regs *regs);    /* IN EAX, DX */
void bd_in_al(struct bd_regs *regs); /* IN AL, DX */
void bd_out(struct bd_regs *regs);   /* OUT DX, EAX */

/* A low-bandwidth call with the usual inputs: magic, command, port. */
static inline void bd_call(struct bd_regs *regs, uint32_t command)
{
	regs->eax = BDOOR_MAGIC;
	regs->ecx = command;
	regs->edx = (regs->edx & 0xffff0000u) | BDOOR_PORT;
	bd_in(regs);
}

#endif /* GUEST_BACKDOOR_H */
