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

#include "boot_options.h"
#include "cmos.h"
#include "console.h"
#include "io.h"
#include "kd.h"
#include "kstring.h"
#include "machine.h"
#include "paging.h"
#include "pit.h"
#include "testrun.h"
#include "trap.h"
#include "usermode.h"
#include "vga_text.h"
#include "workload.h"

void kernel_main(void);

#ifndef __x86_64__
static uint32_t invalid_opcode(void *arg)
{
	(void)arg;
	__asm__ volatile("ud2");
	return 0;
}
#endif

static void run_selftest(void)
{
	if (bootopt_is("selftest", "trap")) {
		__asm__ volatile("ud2");
	} else if (bootopt_is("selftest", "usertrap")) {
#ifdef __x86_64__
		machine_fatal("selftest=usertrap: the x86-64 kernel runs nothing at CPL 3");
#else
		run_at_cpl3(invalid_opcode, NULL);
#endif
	} else if (bootopt_is("selftest", "triplefault")) {
		static const struct __attribute__((packed)) {
			uint16_t limit;
			uintptr_t base;
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

/*
 * kernel=workload: the debuggable kernel. A debugger on the transport that
 * kd= names sees the kernel image load, an initial stop when kd_break=1,
 * DbgPrint output, and can break in while the workload runs, for rounds=N
 * clock ticks (default 100, one emulated second); then the kernel reports
 * and shuts down.
 */
static void run_workload_kernel(void)
{
	uint32_t rounds;

	if (!bootopt_u32("rounds", 100, &rounds))
		machine_fatal("rounds=%s is not a number", "?");
	bool debugger = kd_init(kd_transport_from_boot_options());
	/* Before the clock runs: a debugger that attached with a break-in
	 * finds the kernel at this stop, whichever transport was faster. */
	if (bootopt_is("kd_break", "1"))
		kd_break();
	pit_start(100, kd_poll_breakin);
	__asm__ volatile("sti");
	kd_print("bxkd kernel up: %u rounds of work\n", rounds);
	workload_run(rounds);
	__asm__ volatile("cli");
	kd_print("workload done after %u rounds, checksum %08x\n", workload_round_count,
		 workload_checksum);
	if (debugger)
		kd_report_traffic();
	const struct kd_counts *c = kd_counts();
	workload_scratch[sizeof(workload_scratch) - 1] = '\0';
	kprintf("BXKD RESULT workload pass rounds=%u checksum=0x%08x debugger=%s stops=%u "
		"breakpoints=%u single_steps=%u breakins=%u scratch=\"%s\"\n",
		workload_round_count, workload_checksum, debugger ? "yes" : "no", c->stops,
		c->breakpoints, c->single_steps, c->breakins, workload_scratch);
	kprintf("BXKD SUMMARY passed=1 failed=0\n");
}

#ifdef __x86_64__
#define KERNEL_ARCH "x64"
#else
#define KERNEL_ARCH "x86"
#endif

/* arch= chose this kernel in the boot sector (boot/floppy.asm); any other
 * value reached the wrong one, or an image without the kernel it names. */
static void check_arch(void)
{
	const char *value;
	size_t len;

	if (bootopt_get("arch", &value, &len) && !bootopt_is("arch", KERNEL_ARCH))
		machine_fatal("boot option arch= is x86 or x64 and names the kernel that boots; "
			      "this is the " KERNEL_ARCH " kernel");
}

/* The boot option tests=<group>, or the default group. */
static const char *test_group(void)
{
	static char group[32];
	const char *value;
	size_t len;

	if (!bootopt_get("tests", &value, &len) || len == 0 || len >= sizeof(group))
		return GUEST_BOOT_DEFAULT_GROUP;
	memcpy(group, value, len);
	group[len] = '\0';
	return group;
}

void kernel_main(void)
{
	gdt_init();
	idt_init();
	paging_init(cmos_ram_mib() * 1024u * 1024u);
	pic_init();
#ifndef __x86_64__
	usermode_init(); /* the x86-64 kernel has no ring 3 (guest/README.md) */
#endif

	kprintf("bxkd test guest %s\n", BXKD_VERSION);
	kprintf("boot options: %s\n", bootopt_text()[0] ? bootopt_text() : "(none)");
	/* The kernel debugger's own replaces it (kd.c). */
	vga_text_status(" bxkd test guest " BXKD_VERSION "  kd=none");

	check_arch();
	run_selftest();
	if (bootopt_is("kernel", "workload"))
		run_workload_kernel();
	else
		run_guest_tests(test_group());
	machine_shutdown();
}
