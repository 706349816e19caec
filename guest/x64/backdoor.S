/*
 * backdoor.S (x64) -- the low-bandwidth backdoor calls of backdoor_call.h
 * for the x86-64 kernel: bd_in, bd_in_al and bd_out load EAX..EDI and EBP
 * from a struct bd_regs (in RDI, the SysV ABI's first argument), execute
 * one port instruction and store the seven registers back, as the 32-bit
 * backdoor.S does. Loading a 32-bit register clears its upper half, so
 * the device sees what a 64-bit client that fills 32-bit registers gives
 * it. The high-bandwidth transfers take 64-bit addresses in RSI/RDI, which
 * a struct of 32-bit fields cannot carry: bd_hb_out64 and bd_hb_in64.
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

/* The same with whole 64-bit registers (struct bd_regs64, x64/longmode.h),
 * as open-vm-tools' 64-bit client loads them: what a 64-bit guest has in
 * the upper halves, and 64-bit buffer addresses in RSI and RDI for the
 * high-bandwidth transfers. */
	.macro backdoor_call64 name, instruction:vararg
	.globl	\name
	.type	\name, @function
\name:
	push	%rbp
	push	%rbx
	push	%rdi			/* regs */
	mov	8(%rdi), %rbx
	mov	16(%rdi), %rcx
	mov	24(%rdi), %rdx
	mov	32(%rdi), %rsi
	mov	48(%rdi), %rbp
	mov	0(%rdi), %rax
	mov	40(%rdi), %rdi
	\instruction
	xchg	%rdi, (%rsp)		/* keep RDI's result, get regs back */
	mov	%rax, 0(%rdi)
	mov	%rbx, 8(%rdi)
	mov	%rcx, 16(%rdi)
	mov	%rdx, 24(%rdi)
	mov	%rsi, 32(%rdi)
	mov	%rbp, 48(%rdi)
	pop	%rax
	mov	%rax, 40(%rdi)
	pop	%rbx
	pop	%rbp
	ret
	.size	\name, . - \name
	.endm

	.macro hb_outsb
	cld
	rep outsb
	.endm

	.macro hb_insb
	cld
	rep insb
	.endm

	.text
	backdoor_call64 bd_in64, inl %dx, %eax
	backdoor_call64 bd_hb_out64, hb_outsb
	backdoor_call64 bd_hb_in64, hb_insb
	backdoor_call bd_in, inl %dx, %eax
	backdoor_call bd_in_al, inb %dx, %al
	backdoor_call bd_out, outl %eax, %dx

	.section .note.GNU-stack, "", @progbits
