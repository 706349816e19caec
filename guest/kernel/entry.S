/*
 * entry.S -- kernel entry and the interrupt entry stubs.
 *
 * The boot sector jumps to the first byte of the kernel image in 32-bit
 * protected mode with flat segments and interrupts off.
 */
	.section .text.entry, "ax"
	.globl _start
_start:
	cli
	cld
	mov	$boot_stack_top, %esp
	/* .bss is not in the image; it holds whatever was in RAM. */
	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb
	call	kernel_main
1:	cli
	hlt
	jmp	1b

/*
 * One stub per vector. Each leaves the same frame (struct trap_frame in
 * trap.h): the CPU's error code, or a 0 where the CPU pushes none, then the
 * vector number, then the general registers.
 */
	.altmacro
	.macro trap_stub vector
trap_stub_\vector:
	.if (\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
	.else
	pushl	$0
	.endif
	pushl	$\vector
	jmp	trap_common
	.endm

	.macro trap_stub_address vector
	.long	trap_stub_\vector
	.endm

	.text
	.set	vector, 0
	.rept	256
	trap_stub %vector
	.set	vector, vector + 1
	.endr

trap_common:
	pusha
	mov	%esp, %eax
	push	%eax
	call	trap_dispatch
	add	$4, %esp
	popa
	add	$8, %esp	/* vector and error code */
	iret

	.section .rodata
	.globl	trap_stub_table
	.align	4
trap_stub_table:
	.set	vector, 0
	.rept	256
	trap_stub_address %vector
	.set	vector, vector + 1
	.endr

	.bss
	.align	16
boot_stack:
	.skip	16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
