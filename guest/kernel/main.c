/*
 * main.c -- the test kernel: bring the machine up, run the guest tests,
 * shut down.
 *
 * Boot option selftest=<kind> makes the guest misbehave on purpose, so the
 * harness's own failure detection can be tested:
 *   trap       execute an invalid opcode (the trap report must stop the run)
 *   usertrap   the same at CPL 3
 *   triplefault  fault with no usable IDT (Bochs itself must stop the run)
 *   fail       report one failing test
 *   hang       spin forever (the harness must time out)
 *   nosummary  shut down without the summary line
 */
#include <stddef.h>
#include <stdint.h>

#include "bootopt.h"
#include "console.h"
#include "io.h"
#include "kstring.h"
#include "machine.h"
#include "testrun.h"
#include "trap.h"
#include "usermode.h"

void kernel_main(void);

static uint32_t invalid_opcode(void *arg)
{
	(void)arg;
	__asm__ volatile("ud2");
	return 0;
}

static void run_selftest(void)
{
	if (bootopt_is("selftest", "trap")) {
		__asm__ volatile("ud2");
	} else if (bootopt_is("selftest", "usertrap")) {
		run_at_cpl3(invalid_opcode, NULL);
	} else if (bootopt_is("selftest", "triplefault")) {
		static const struct __attribute__((packed)) {
			uint16_t limit;
			uint32_t base;
		} no_idt = { 0, 0 };
		__asm__ volatile("lidt %0\n\tint3" : : "m"(no_idt));
	} else if (bootopt_is("selftest", "fail")) {
		kprintf("BXKD RESULT selftest_fail fail deliberate failure\n");
		kprintf("BXKD SUMMARY passed=0 failed=1\n");
		machine_shutdown();
	} else if (bootopt_is("selftest", "hang")) {
		for (;;)
			__asm__ volatile("pause");
	} else if (bootopt_is("selftest", "nosummary")) {
		machine_shutdown();
	}
}

/* The boot option tests=<group>, or the default group. */
static const char *test_group(void)
{
	static char group[32];
	const char *value;
	size_t len;

	if (!bootopt_get("tests", &value, &len) || len == 0 || len >= sizeof(group))
		return GUEST_TEST_DEFAULT_GROUP;
	memcpy(group, value, len);
	group[len] = '\0';
	return group;
}

void kernel_main(void)
{
	gdt_init();
	idt_init();
	pic_init();
	usermode_init();

	kprintf("bxkd test guest %s\n", BXKD_VERSION);
	kprintf("boot options: %s\n", bootopt_text()[0] ? bootopt_text() : "(none)");

	run_selftest();
	run_guest_tests(test_group());
	machine_shutdown();
}
