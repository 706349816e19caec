/*
 * entry.S (x64) -- the x86-64 kernel's entry and its interrupt entry stubs.
 *
 * The boot sector jumps to the first byte of the image, at physical
 * KERNEL_LOAD, in 32-bit protected mode with flat segments, paging off and
 * interrupts off, as for the 32-bit kernel. This code switches to long mode
 * the way every x86-64 loader does: 4-level page tables, CR4.PAE, EFER.LME,
 * CR0.PG, then a far jump into a 64-bit code segment. Until paging maps
 * the image where it is linked (KERNEL_OFFSET higher, layout.h) it touches
 * memory only through physical addresses, PHYS(symbol).
 */
#include "layout.h"

#define PHYS(symbol) ((symbol) - KERNEL_OFFSET)
#define PAGE_TABLE 0x3     /* present, writable */
#define PDE_LARGE_PAGE 0x83 /* present, writable, 2 MiB */
#define CR4_PAE 0x20
/* FXSAVE/FXRSTOR with the SSE state, and SSE's own exceptions: what a
 * long-mode OS enables, and what the debugger's CONTEXT carries. */
#define CR4_OSFXSR 0x200
#define CR4_OSXMMEXCPT 0x400
#define CR0_PG 0x80000000
#define MSR_EFER 0xC0000080
#define EFER_LME 0x100
#define BOOT_CODE64 0x08
#define BOOT_DATA 0x10
#define CPUID_LONG_MODE_BIT 29 /* of leaf 0x80000001's EDX */
#define CONSOLE_PORT 0xE9
#define SHUTDOWN_PORT 0x8900
/* Where KERNEL_OFFSET falls in the top-level table: its PDPT is shared
 * with the identity view, since both start at PDPT entry 0. */
#define KERNEL_PML4_INDEX ((KERNEL_OFFSET >> 39) & 511)

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	/* .bss is not in the image; it holds whatever was in RAM. */
	mov	$PHYS(__bss_start), %edi
	mov	$PHYS(__bss_end), %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb

	/* A CPU without long mode (Bochs with cpuid: x86_64=0) would fault
	 * at EFER.LME with no IDT to report it: say so and stop instead. */
	mov	$0x80000000, %eax
	cpuid
	cmp	$0x80000001, %eax
	jb	no_long_mode
	mov	$0x80000001, %eax
	cpuid
	bt	$CPUID_LONG_MODE_BIT, %edx
	jnc	no_long_mode

	/* The first BOOT_MAP_MIB of RAM in 2 MiB pages, twice: where it is,
	 * so the next instruction still runs once paging is on, and at
	 * KERNEL_OFFSET. paging_init() replaces this. */
	mov	$PHYS(boot_pd), %edi
	mov	$PDE_LARGE_PAGE, %eax
	xor	%ecx, %ecx
1:	mov	%eax, (%edi,%ecx,8)
	add	$0x200000, %eax
	inc	%ecx
	cmp	$BOOT_MAP_MIB / 2, %ecx
	jb	1b
	mov	$PHYS(boot_pdpt), %edi
	movl	$PHYS(boot_pd) + PAGE_TABLE, (%edi)
	mov	$PHYS(boot_pml4), %edi
	movl	$PHYS(boot_pdpt) + PAGE_TABLE, (%edi)
	movl	$PHYS(boot_pdpt) + PAGE_TABLE, KERNEL_PML4_INDEX * 8(%edi)

	mov	%cr4, %eax
	or	$CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT, %eax
	mov	%eax, %cr4
	mov	%edi, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	or	$CR0_PG, %eax
	mov	%eax, %cr0
	lgdt	PHYS(boot_gdt_descriptor)
	ljmp	$BOOT_CODE64, $PHYS(long_mode)

/* The console line, then the shutdown port's word, as the boot sector
 * reports a failure. */
no_long_mode:
	mov	$PHYS(no_long_mode_text), %esi
	mov	$CONSOLE_PORT, %edx
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, %dx
	jmp	1b
2:	mov	$PHYS(shutdown_word), %esi
	mov	$SHUTDOWN_PORT, %edx
3:	lodsb
	test	%al, %al
	jz	4f
	out	%al, %dx
	jmp	3b
4:	cli
	hlt
	jmp	4b

no_long_mode_text:
	.asciz	"BXKD FATAL boot: the CPU has no long mode (Bochs: cpuid: x86_64=1)\n"
shutdown_word:
	.asciz	"Shutdown"

	.code64
long_mode:
	mov	$BOOT_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	movabs	$higher_half, %rax
	jmp	*%rax

higher_half:
	fninit			/* the x87 state a debugger finds: FCW 0x037F */
	movabs	$boot_stack_top, %rsp
	xor	%ebp, %ebp	/* the end of every stack walk */
	movabs	$kernel_main, %rax
	call	*%rax
1:	cli
	hlt
	jmp	1b

	.align	8
boot_gdt:
	.quad	0
	.quad	0x00209a0000000000	/* 64-bit code, ring 0 */
	.quad	0x0000920000000000	/* data */
boot_gdt_end:
boot_gdt_descriptor:
	.word	boot_gdt_end - boot_gdt - 1
	.long	PHYS(boot_gdt)

/* The 256 stubs and trap_stub_table; the frame they leave is struct
 * trap_frame in trap.h. */
#define STUB_PUSH pushq
#define STUB_ADDRESS .quad
#include "trap_stubs.inc"

trap_common:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rbx
	push	%rbp
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	call	trap_dispatch
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rbp
	pop	%rbx
	pop	%rdx
	pop	%rcx
	pop	%rax
	add	$16, %rsp	/* vector and error code */
	iretq

	.bss
	.align	4096
boot_pml4:
	.skip	4096
boot_pdpt:
	.skip	4096
boot_pd:
	.skip	4096
#include "boot_stack.inc"
