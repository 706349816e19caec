/*
 * kd_dll.h -- the KD transport DLL the kernel image carries
 * (guest/kdvm/kdbxkd-x86.dll, kd_dll_file.S), loaded as Windows' loader
 * loads kdcom.dll and used as the KD stub's transport (boot option kd=dll).
 */
#ifndef GUEST_KD_DLL_H
#define GUEST_KD_DLL_H

#include <stdbool.h>

#include "bxkd/kdtransport.h"
#include "pe_image.h"

/*
 * Checks and maps the DLL at KD_DLL_WINDOW (not its preferred base),
 * applies its base relocations, resolves its imports against ntoskrnl.h,
 * sets each page's protection from its section, finds the nine KD exports
 * and calls KdDebuggerInitialize0. A defective DLL never runs: the machine
 * stops with one "BXKD FATAL kd dll: ..." line naming the defect. False
 * (with the reason printed) when KdDebuggerInitialize0 fails, i.e. there is
 * no device or no debugger endpoint: the kernel runs without a debugger.
 * On true, `transport` calls the DLL's KdSendPacket and KdReceivePacket.
 */
bool kd_dll_start(struct kd_transport *transport);

/* The loaded DLL's headers and where it runs, for tests; NULL before
 * kd_dll_start has loaded it. */
const struct pe_headers *kd_dll_loaded(uintptr_t *base);

#endif /* GUEST_KD_DLL_H */
