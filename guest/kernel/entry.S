/*
 * entry.S -- kernel entry and the interrupt entry stubs.
 *
 * The boot sector jumps to the first byte of the kernel image, at physical
 * KERNEL_LOAD, in 32-bit protected mode with flat segments, paging off and
 * interrupts off. The kernel is linked KERNEL_OFFSET higher (layout.h), so
 * until paging maps it there this code touches memory only through
 * physical addresses, PHYS(symbol).
 */
#include "layout.h"

#define PHYS(symbol) ((symbol) - KERNEL_OFFSET)
#define PDE_LARGE_PAGE 0x87 /* present, writable, user, 4 MiB */
#define CR4_PSE 0x10
#define CR0_PG 0x80000000

	.section .text.entry, "ax"
	.globl _start
_start:
	cli
	cld
	/* .bss is not in the image; it holds whatever was in RAM. */
	mov	$PHYS(__bss_start), %edi
	mov	$__bss_end, %ecx
	sub	$__bss_start, %ecx
	xor	%eax, %eax
	rep stosb

	/* The first BOOT_MAP_MIB of RAM, twice: where it is, so the next
	 * instruction still runs once paging is on, and at KERNEL_OFFSET,
	 * where the kernel is linked. paging_init() replaces this. */
	mov	$PHYS(boot_page_directory), %edi
	mov	$PDE_LARGE_PAGE, %eax
	xor	%ecx, %ecx
1:	mov	%eax, (%edi,%ecx,4)
	mov	%eax, (KERNEL_OFFSET >> 20)(%edi,%ecx,4)
	add	$0x400000, %eax
	inc	%ecx
	cmp	$BOOT_MAP_MIB / 4, %ecx
	jb	1b
	mov	%cr4, %eax
	or	$CR4_PSE, %eax
	mov	%eax, %cr4
	mov	%edi, %cr3
	mov	%cr0, %eax
	or	$CR0_PG, %eax
	mov	%eax, %cr0
	mov	$upper_half, %eax
	jmp	*%eax

upper_half:
	mov	$boot_stack_top, %esp
	xor	%ebp, %ebp	/* the end of every stack walk */
	call	kernel_main
1:	cli
	hlt
	jmp	1b

/* The 256 stubs and trap_stub_table; the frame they leave is struct
 * trap_frame in trap.h. */
#define STUB_PUSH pushl
#define STUB_ADDRESS .long
#include "trap_stubs.inc"

trap_common:
	pusha
	mov	%esp, %eax
	push	%eax
	call	trap_dispatch
	add	$4, %esp
	popa
	add	$8, %esp	/* vector and error code */
	iret

	.bss
	.align	4096
boot_page_directory:
	.skip	4096
#include "boot_stack.inc"
