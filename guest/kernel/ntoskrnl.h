/*
 * ntoskrnl.h -- what this kernel exports to a KD transport DLL under
 * ntoskrnl.exe's names, with Windows' semantics: exactly what
 * kdbxkd-x86.dll imports (kd_dll.c resolves the DLL's imports against
 * ntoskrnl_exports, and refuses any other).
 */
#ifndef GUEST_NTOSKRNL_H
#define GUEST_NTOSKRNL_H

#include <stdint.h>

#include "pe_image.h"

#ifdef __x86_64__
#define NTAPI __attribute__((ms_abi)) /* x64 Windows' one calling convention */
#else
#define NTAPI __attribute__((__stdcall__))
#endif

/* BOOLEAN KdDebuggerNotPresent: TRUE when the transport saw no debugger
 * answer; the transport DLL keeps it, the kernel reads it. FALSE at boot,
 * as in Windows. */
extern uint8_t KdDebuggerNotPresent;

/* PHYSICAL_ADDRESS MmGetPhysicalAddress(PVOID): the physical address
 * `address` is mapped to through the current page tables, 0 when it is not
 * mapped (Windows: "If the virtual address is not valid, the return value
 * is zero"). The 8-byte result comes back in EDX:EAX, as MSVC returns it. */
uint64_t NTAPI MmGetPhysicalAddress(void *address);

extern const struct pe_provided ntoskrnl_exports[];
extern const uint32_t ntoskrnl_export_count;

#endif /* GUEST_NTOSKRNL_H */
