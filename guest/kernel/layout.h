/*
 * layout.h -- where the test kernel lives, for C and assembly alike.
 *
 * The image is loaded at physical 1 MiB and linked at KERNEL_OFFSET above
 * that, in the upper half. Once paging is on (paging.h), all of RAM is
 * mapped twice: at its own address (low memory, firmware areas, device
 * buffers) and at KERNEL_OFFSET + its address, except KD_HOLE, a range of
 * the upper half left unmapped so a debugger can watch a read fail.
 */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

#define KERNEL_LOAD 0x00100000

/* Both kernels' places by name, for host code that reads either (the
 * launcher's debugger names); each kernel takes its own as the plain
 * names below. The x86-64 kernel's is where 64-bit Windows keeps its
 * kernel (x64/). */
#define KERNEL_OFFSET_X86 0x80000000
#define KERNEL_OFFSET_X64 0xFFFFF80000000000
#define KD_DLL_WINDOW_X86 0xA0000000
#define KD_DLL_WINDOW_X64 0xFFFFF800A0000000

#ifdef __x86_64__
#define KERNEL_OFFSET KERNEL_OFFSET_X64
/* Unmapped in the higher half, though RAM is there. */
#define KD_HOLE_START 0xFFFFF80000F00000
#define KD_HOLE_END 0xFFFFF80001000000
/* All of RAM once more, at an address whose low 32 bits are other RAM's
 * (8 MiB further on) in the low view: a device that cut a 64-bit buffer
 * address to 32 bits would reach the wrong bytes (x64/longmode_tests.c). */
#define LONG_ALIAS_OFFSET 0xFFFFF80100800000
#else
#define KERNEL_OFFSET KERNEL_OFFSET_X86
/* Unmapped in the upper half, though RAM is there. */
#define KD_HOLE_START 0x80F00000
#define KD_HOLE_END 0x81000000
#endif

/* Where the kernel maps a KD transport DLL (kd_dll.c): 4 MiB of its own,
 * above any RAM's upper-half view (PAGING_MAX_RAM), and not the DLL's
 * preferred base, so its relocations are applied. */
#ifdef __x86_64__
/* The x86-64 kernel's: 2 MiB at 2.5 GiB into the higher half, beyond its
 * RAM's view there too. */
#define KD_DLL_WINDOW KD_DLL_WINDOW_X64
#else
#define KD_DLL_WINDOW KD_DLL_WINDOW_X86
#endif

/* entry.S's first mapping: 4 MiB pages over the first BOOT_MAP_MIB. */
#define BOOT_MAP_MIB 64

#endif /* GUEST_LAYOUT_H */
