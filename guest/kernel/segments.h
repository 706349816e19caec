/*
 * segments.h -- the kernel's GDT selectors, for C and assembly alike.
 *
 * Every code and data segment is flat (base 0, limit 4 GiB), so ring 3
 * sees the same addresses as ring 0: a test hands its ring 3 code pointers
 * into kernel memory and reads the results back where they were written.
 */
#ifndef GUEST_SEGMENTS_H
#define GUEST_SEGMENTS_H

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_USER_CODE 0x18
#define GDT_USER_DATA 0x20
#define GDT_TSS 0x28

/* Requested privilege level 3, for selectors loaded by ring 3 code. */
#define SELECTOR_RPL3 3

#define USER_CODE_SELECTOR (GDT_USER_CODE | SELECTOR_RPL3)
#define USER_DATA_SELECTOR (GDT_USER_DATA | SELECTOR_RPL3)

#endif /* GUEST_SEGMENTS_H */
