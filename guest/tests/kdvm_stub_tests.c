/*
 * kdvm_stub_tests.c -- a real DbgKd session over the KD transport (group
 * kdvm-stub): the kernel debugger (kernel/kd.c, the KD stub on the shared
 * page) stops at a compiled-in breakpoint and serves whatever debugger
 * attaches until it continues. tests/integration/check_kdvm.c drives it
 * with bxkd-dbg, which writes SCRATCH_TEXT and sets EAX to 0x1234abcd.
 */
#include "kd.h"
#include "kstring.h"
#include "testrun.h"

/* bxkd-dbg writes here: free low memory, mapped at its own address. */
#define SCRATCH_ADDRESS 0x71000u
#define SCRATCH_TEXT "written by the debugger"
#define EAX_FROM_THE_DEBUGGER 0x1234abcdu

GUEST_TEST_IN("kdvm-stub", kdvm_stub_serves_a_debugger_over_the_transport)
{
	uint32_t eax_after;

	memset((void *)SCRATCH_ADDRESS, 0, 64);
	if (!kd_init(KD_TRANSPORT_VMPORT)) {
		gt_fail(t, "no kernel debugger on the shared-page transport");
		return;
	}
	/* The stop waits for a debugger; what it leaves in EAX is read back
	 * right after the INT 3. */
	__asm__ volatile("int3\n\tmov %%eax, %0" : "=m"(eax_after) : "a"(0) : "memory");

	if (memcmp((const void *)SCRATCH_ADDRESS, SCRATCH_TEXT, sizeof(SCRATCH_TEXT) - 1)) {
		gt_fail(t, "the debugger's write did not arrive");
		return;
	}
	gt_expect_u32(t, "eax the debugger set", eax_after, EAX_FROM_THE_DEBUGGER);
	kd_print("bxkd: the debugger continued\n");
	gt_note(t, "%u stops", kd_counts()->stops);
}
