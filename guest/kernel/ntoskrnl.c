/*
 * ntoskrnl.c -- the kernel's exports to a KD transport DLL (ntoskrnl.h).
 */
#include "ntoskrnl.h"

#include "paging.h"

uint8_t KdDebuggerNotPresent;

uint64_t NTAPI MmGetPhysicalAddress(void *address)
{
	uint32_t physical;

	return paging_translate((uintptr_t)address, &physical) ? physical : 0;
}

const struct pe_provided ntoskrnl_exports[] = {
	{ "KdDebuggerNotPresent", &KdDebuggerNotPresent },
	{ "MmGetPhysicalAddress", (const void *)MmGetPhysicalAddress },
};
const uint32_t ntoskrnl_export_count = sizeof(ntoskrnl_exports) / sizeof(ntoskrnl_exports[0]);
