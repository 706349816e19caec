/*
 * usermode_switch.S -- the way into ring 3 and back out (usermode.h).
 *
 * run_at_cpl3 keeps the caller's callee-saved registers and EFLAGS on its
 * own stack and remembers that stack in kernel_esp; ring 3 never sees it.
 * The return gate throws away the frame INT pushed on the TSS's ring 0
 * stack and resumes on kernel_esp, so run_at_cpl3 returns like any call.
 */
#include "segments.h"
#include "usermode.h"

	.text
	.globl	run_at_cpl3
	.type	run_at_cpl3, @function
run_at_cpl3:				/* uint32_t run_at_cpl3(user_fn fn, void *arg) */
	push	%ebp
	push	%ebx
	push	%esi
	push	%edi
	pushf
	mov	24(%esp), %eax		/* fn: user_entry calls it */
	mov	28(%esp), %edx		/* arg */
	mov	%esp, kernel_esp
	/* IRET to an outer level clears data segment registers that ring 3
	 * may not use, so load ring 3's own first. */
	mov	$USER_DATA_SELECTOR, %ecx
	mov	%cx, %ds
	mov	%cx, %es
	mov	%cx, %fs
	mov	%cx, %gs
	pushl	$USER_DATA_SELECTOR	/* SS */
	pushl	$user_stack_top		/* ESP */
	pushl	$USER_EFLAGS
	pushl	$USER_CODE_SELECTOR	/* CS */
	pushl	$user_entry		/* EIP */
	iret
	.size	run_at_cpl3, . - run_at_cpl3

/* Runs at CPL 3: EAX = fn, EDX = arg. ESP starts 16-byte aligned and
 * is again at the call, as the i386 ABI wants. */
user_entry:
	sub	$12, %esp
	push	%edx
	call	*%eax
	int	$USER_RETURN_VECTOR	/* EAX: fn's result, to run_at_cpl3's caller */
	ud2				/* the gate never comes back here */

	.globl	user_return
	.type	user_return, @function
user_return:				/* the gate: CPL 0, on the ring 0 stack */
	mov	$GDT_KERNEL_DATA, %ecx
	mov	%cx, %ds
	mov	%cx, %es
	mov	%cx, %fs
	mov	%cx, %gs
	mov	kernel_esp, %esp
	popf
	pop	%edi
	pop	%esi
	pop	%ebx
	pop	%ebp
	ret
	.size	user_return, . - user_return

	.bss
	.align	4
kernel_esp:
	.skip	4
	.align	16
user_stack:
	.skip	16384
user_stack_top:

	.section .note.GNU-stack, "", @progbits
