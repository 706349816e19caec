/*
 * backdoor_call.c (x64) -- the x86-64 kernel's backdoor calls
 * (backdoor_call.h): bd_in64, bd_hb_out64 and bd_hb_in64 with whole 64-bit
 * registers, as open-vm-tools' 64-bit client makes them (RAX..RDI and RBP
 * loaded, one port instruction, all seven read back; DF cleared first, for
 * the string instructions), and bd_in's 32-bit register set through
 * bd_in64, each upper half zero as a 32-bit load leaves it. (The 32-bit
 * kernel's are assembly, backdoor/backdoor.S.)
 */
#include "backdoor_call.h"

/* RBP is the frame pointer GCC may use: saved around the call, and loaded
 * and stored through a register of its own (R8..R15 are free here). */
#define BACKDOOR_CALL64(name, instruction)                                                     \
	void name(struct bd_regs64 *r)                                                        \
	{                                                                                      \
		__asm__ volatile("push %%rbp\n\tmov (%6), %%rbp\n\tcld\n\t" instruction          \
				 "\n\tmov %%rbp, (%6)\n\tpop %%rbp"                              \
				 : "+a"(r->rax), "+b"(r->rbx), "+c"(r->rcx), "+d"(r->rdx),       \
				   "+S"(r->rsi), "+D"(r->rdi)                                    \
				 : "r"(&r->rbp)                                                  \
				 : "memory", "cc");                                              \
	}

BACKDOOR_CALL64(bd_in64, "inl %%dx, %%eax")
BACKDOOR_CALL64(bd_hb_out64, "rep outsb")
BACKDOOR_CALL64(bd_hb_in64, "rep insb")

void bd_in(struct bd_regs *r)
{
	struct bd_regs64 w = { r->eax, r->ebx, r->ecx, r->edx, r->esi, r->edi, r->ebp };

	bd_in64(&w);
	*r = (struct bd_regs){ (uint32_t)w.rax, (uint32_t)w.rbx, (uint32_t)w.rcx, (uint32_t)w.rdx,
			       (uint32_t)w.rsi, (uint32_t)w.rdi, (uint32_t)w.rbp };
}
