/*
 * backdoor.S (x64) -- the low-bandwidth backdoor calls of backdoor_call.h
 * for the x86-64 kernel: bd_in, bd_in_al and bd_out load EAX..EDI and EBP
 * from a struct bd_regs (in RDI, the SysV ABI's first argument), execute
 * one port instruction and store the seven registers back, as the 32-bit
 * backdoor.S does. Loading a 32-bit register clears its upper half, so
 * the device sees what a 64-bit client that fills 32-bit registers gives
 * it. The high-bandwidth transfers are not here: their buffers are
 * addressed by RSI/RDI, which a struct of 32-bit fields cannot carry.
 */
	.macro backdoor_call name, instruction:vararg
	.globl	\name
	.type	\name, @function
\name:
	push	%rbp
	push	%rbx
	push	%rdi			/* regs */
	mov	4(%rdi), %ebx
	mov	8(%rdi), %ecx
	mov	12(%rdi), %edx
	mov	16(%rdi), %esi
	mov	24(%rdi), %ebp
	mov	0(%rdi), %eax
	mov	20(%rdi), %edi
	\instruction
	xchg	%rdi, (%rsp)		/* keep EDI's result, get regs back */
	mov	%eax, 0(%rdi)
	mov	%ebx, 4(%rdi)
	mov	%ecx, 8(%rdi)
	mov	%edx, 12(%rdi)
	mov	%esi, 16(%rdi)
	mov	%ebp, 24(%rdi)
	pop	%rax
	mov	%eax, 20(%rdi)
	pop	%rbx
	pop	%rbp
	ret
	.size	\name, . - \name
	.endm

	.text
	backdoor_call bd_in, inl %dx, %eax
	backdoor_call bd_in_al, inb %dx, %al
	backdoor_call bd_out, outl %eax, %dx

	.section .note.GNU-stack, "", @progbits
