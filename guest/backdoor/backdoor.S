/*
 * backdoor.S -- one backdoor port access with every register the protocol
 * uses taken from, and returned to, a struct bd_regs (backdoor.h).
 *
 * cdecl: void fn(struct bd_regs *regs). EBX, ESI, EDI and EBP belong to the
 * caller and are saved around the call. Storing all seven back is what
 * makes callers independent of what a device leaves in ECX, ESI and EDI
 * after a string transfer: VMware leaves them as they were, Bochs' REP
 * ends with ECX = 0.
 */
	.macro backdoor_call name, instruction:vararg
	.globl	\name
	.type	\name, @function
\name:
	push	%ebp
	push	%ebx
	push	%esi
	push	%edi
	mov	20(%esp), %eax		/* regs */
	push	%eax
	mov	4(%eax), %ebx
	mov	8(%eax), %ecx
	mov	12(%eax), %edx
	mov	16(%eax), %esi
	mov	20(%eax), %edi
	mov	24(%eax), %ebp
	mov	0(%eax), %eax
	\instruction
	xchg	%eax, (%esp)		/* keep the result, get regs back */
	mov	%ebx, 4(%eax)
	mov	%ecx, 8(%eax)
	mov	%edx, 12(%eax)
	mov	%esi, 16(%eax)
	mov	%edi, 20(%eax)
	mov	%ebp, 24(%eax)
	popl	0(%eax)
	pop	%edi
	pop	%esi
	pop	%ebx
	pop	%ebp
	ret
	.size	\name, . - \name
	.endm

	/* High-bandwidth transfers: ECX bytes between port DX and DS:ESI or
	 * ES:EDI. DF is cleared first, as open-vm-tools does, so the buffer
	 * runs upwards from the address given. */
	.macro hb_outsb
	cld
	rep outsb
	.endm

	.macro hb_insb
	cld
	rep insb
	.endm

	.text
	backdoor_call bd_in, inl %dx, %eax
	backdoor_call bd_in_al, inb %dx, %al
	backdoor_call bd_out, outl %eax, %dx
	backdoor_call bd_hb_out, hb_outsb
	backdoor_call bd_hb_in, hb_insb

	.section .note.GNU-stack, "", @progbits
