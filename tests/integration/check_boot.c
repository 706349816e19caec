/*
 * check_boot.c -- the test guest under Debian's Bochs with the vmport plugin.
 *
 * Also proves the harness itself: each way a run can go wrong, provoked on
 * purpose through the guest's selftest boot option, must be reported as that
 * failure and never as a pass.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxh.h"
#include "suites.h"
#include "testcases.h"

/* How a test's machine differs from the default one. */
struct boot {
	const char *image; /* NULL: the test kernel */
	const char *boot_options;
	const char *extra_config;
	bool without_plugin;
	bool x86_only; /* cpuid: x86_64=1 left out (a CPU may lack long mode) */
	bool x64;      /* our image booting its x86-64 kernel (arch=x64): long mode */
	unsigned timeout_seconds; /* 0: the harness's */
};

/* Boots the test kernel in a work directory named after the test and
 * fails the test with the harness's account of the run unless it ended
 * as `want`. */
static void boot(struct bxh_run *run, const char *test_name, const struct boot *how,
		 enum bxvm_outcome want)
{
	struct bxh_options o;
	char workdir[512];

	bxh_options_init(&o);
	o.image = how->image ? how->image : BXKD_GUEST_IMAGE;
	snprintf(workdir, sizeof(workdir), "%s/%s", BXKD_TEST_WORK_DIR, test_name);
	o.workdir = workdir;
	o.boot_options = how->boot_options;
	o.extra_config = how->extra_config;
	o.load_plugin = !how->without_plugin;
	/* The x86-64 kernel's machine says that it has long mode. */
	o.long_mode = (how->x64 || (how->image && !strcmp(how->image, BXKD_GUEST64_IMAGE))) &&
		      !how->x86_only;
	if (how->timeout_seconds)
		o.timeout_seconds = how->timeout_seconds;
	bxh_boot(&o, run);
	if (run->outcome != want) {
		char *why = bxh_explain(run);
		ck_abort_msg("expected outcome \"%s\", got:\n%s", bxvm_outcome_name(want), why);
	}
}

/* Every guest test the image holds; one that stops running is a failure. */
static const char *const guest_tests[] = {
	"getversion_in", "getversion_out", "getversion_in_al", "bad_magic_in", "bad_magic_out",
	"unknown_command", "getmhz", "getscreensize", "gethwversion", "os_not_found", "getuuid",
	"getmemsize", "gettime", "stopcatchup", "gethz", "gettimefull", "gettimefull_with_lag",
	"get_vcpu_info", "rpc_lb_exchanges", "rpc_hb_exchanges", "rpc_open_without_cookie",
	"rpc_hb_registers", "rpc_hb_large_value", "rpc_wrong_cookie_refused",
	"rpc_close_closed_refused", "rpc_ninth_channel_refused", "rpc_sendsize_over_limit_refused",
	"cpl3_getversion", "cpl3_os_not_found_refused", "cpl3_apmfunction_refused", "cpl3_rpc_lb",
	"cpl3_rpc_hb", "cpl3_io_bitmap",
};

static void require_every_guest_test(const struct bxh_run *run)
{
	for (size_t i = 0; i < sizeof(guest_tests) / sizeof(*guest_tests); i++) {
		const struct bxvm_test_line *line = bxh_find_test(run, guest_tests[i]);
		ck_assert_msg(line, "guest test %s did not run", guest_tests[i]);
		ck_assert_msg(line->passed, "guest test %s: %s", guest_tests[i], line->detail);
	}
	ck_assert_uint_eq(run->report.test_count, sizeof(guest_tests) / sizeof(*guest_tests));
}

static void require_log(const struct bxh_run *run, const char *text)
{
	ck_assert_msg(strstr(run->log, text), "Bochs' log lacks \"%s\"", text);
}

START_TEST(every_guest_test_passes_with_the_plugin)
{
	struct bxh_run run;

	boot(&run, "every_guest_test_passes", &(struct boot){ 0 }, BXVM_PASSED);
	require_every_guest_test(&run);
	/* The answers came from our device, which Bochs loaded and initialised. */
	require_log(&run, "[VMPORT] VMware backdoor on ports 0x5658 and 0x5659");
	ck_assert(run.report.have_final_tick);

	/* The device reads Bochs' tick counter from private fields
	 * (bochs_abi.h); the tick it reports must be the one Bochs stamps on
	 * the same log line. */
	const char *unknown = strstr(run.log, "guest used unknown backdoor command 4095");
	ck_assert_ptr_nonnull(unknown);
	const char *line = unknown;
	while (line > run.log && line[-1] != '\n')
		line--;
	uint64_t stamped = strtoull(line, NULL, 10), reported = 0;
	const char *at = strstr(unknown, "at tick ");
	ck_assert_ptr_nonnull(at);
	reported = strtoull(at + 8, NULL, 10);
	ck_assert_msg(stamped == reported && stamped > 0,
		      "device tick %" PRIu64 " but Bochs stamped %" PRIu64, reported, stamped);
	bxh_run_free(&run);
}
END_TEST

/* What the guest did shows on the host side: RPCs logged, the refusals
 * at CPL 3 counted, guestinfo dumped when Bochs exits. */
START_TEST(the_device_log_shows_what_the_guest_did)
{
	struct bxh_run run;

	boot(&run, "the_device_log_shows_what_the_guest_did", &(struct boot){ 0 }, BXVM_PASSED);
	require_log(&run, "[VMPORT] guest: bxkd guest says hello");
	require_log(&run, "[VMPORT] guest tools version 12345");
	require_log(&run, "[VMPORT] guest reports that it found no operating system (OS_NOT_FOUND)");
	require_log(&run, "[VMPORT] guestinfo.bxkd.cpl3 = set from ring 3");
	require_log(&run, "[VMPORT] guestinfo.bxkd.lb = ");
	require_log(&run, "[VMPORT] guestinfo.bxkd.hb = ");
	/* cpl3_os_not_found_refused and cpl3_apmfunction_refused */
	require_log(&run, " 2 refused;");
	const char *hb = strstr(run.log, " high-bandwidth transfers");
	ck_assert_ptr_nonnull(hb);
	while (hb[-1] >= '0' && hb[-1] <= '9')
		hb--;
	ck_assert_uint_ge(strtoul(hb, NULL, 10), 8);
	bxh_run_free(&run);
}
END_TEST

/* The bochsrc `vmport:` line reaches the guest. */
START_TEST(a_configured_device_reports_its_settings)
{
	const struct boot configured = {
		.extra_config = "vmport: vmx_type=esx, hw_version=19, "
				"uuid=00112233-4455-6677-8899-aabbccddeeff, screen=800x600",
		.boot_options = "expect_vmx_type=2 expect_hw_version=19 "
				"expect_uuid=00112233-4455-6677-8899-aabbccddeeff expect_screen=800x600",
	};
	struct bxh_run run;

	boot(&run, "a_configured_device_reports_its_settings", &configured, BXVM_PASSED);
	require_every_guest_test(&run);
	ck_assert_ptr_nonnull(strstr(bxh_find_test(&run, "getuuid")->detail,
				     "eax=0x33221100 ebx=0x77665544 ecx=0xbbaa9988 edx=0xffeeddcc"));
	bxh_run_free(&run);
}
END_TEST

START_TEST(a_bad_device_setting_stops_bochs_with_the_reason)
{
	struct bxh_run run;

	boot(&run, "a_bad_device_setting_stops_bochs",
	     &(struct boot){ .extra_config = "vmport: vmx_type=bogus" }, BXVM_BOCHS_PANIC);
	ck_assert_ptr_nonnull(strstr(run.report.panic, "vmport: vmx_type wants a number or one of"));
	bxh_run_free(&run);
}
END_TEST

/* Bochs starts the CMOS clock from time0 in local time; the harness runs
 * it in UTC so the guest sees the same clock on every host. */
START_TEST(the_guest_clock_does_not_depend_on_the_host_time_zone)
{
	struct bxh_run run;

	setenv("TZ", "Asia/Tokyo", 1);
	boot(&run, "the_guest_clock_does_not_depend_on_the_time_zone",
	     &(struct boot){ 0 }, BXVM_PASSED);
	/* The CMOS clock and GETTIME agree, as they do under UTC: Bochs'
	 * RTC is not shifted by the host's nine hours. */
	const char *detail = bxh_find_test(&run, "gettime")->detail;
	unsigned hour, minute, second;
	unsigned long seconds;
	ck_assert_msg(sscanf(strstr(detail, "rtc=") ? strstr(detail, "rtc=") : "",
			     "rtc=2000-01-01 %u:%u:%u seconds=%lu", &hour, &minute, &second,
			     &seconds) == 4,
		      "%s", detail);
	ck_assert_uint_eq(seconds, BXVM_DEFAULT_TIME0 + hour * 3600u + minute * 60u + second);
	ck_assert_uint_lt(hour * 3600u + minute * 60u + second, 60);
	bxh_run_free(&run);
}
END_TEST

/* Without the device the same guest tests must fail: they observe the
 * plugin, not something Bochs does anyway. */
START_TEST(guest_tests_fail_without_the_plugin)
{
	struct bxh_run run;

	boot(&run, "guest_tests_fail_without_the_plugin",
	     &(struct boot){ .without_plugin = true }, BXVM_TESTS_FAILED);
	const struct bxvm_test_line *line = bxh_find_test(&run, "getversion_in");
	ck_assert_ptr_nonnull(line);
	ck_assert(!line->passed);
	ck_assert_ptr_null(strstr(run.log, "[VMPORT]"));
	bxh_run_free(&run);
}
END_TEST

/* Determinism: the same console, ending on the same tick. */
static void require_two_identical_boots(const char *name, const struct boot *how)
{
	struct bxh_run first, second;
	char workdir[128];

	snprintf(workdir, sizeof(workdir), "%s/first", name);
	boot(&first, workdir, how, BXVM_PASSED);
	snprintf(workdir, sizeof(workdir), "%s/second", name);
	boot(&second, workdir, how, BXVM_PASSED);
	ck_assert_str_eq(first.console, second.console);
	ck_assert_msg(first.report.final_tick == second.report.final_tick,
		      "final ticks differ: %" PRIu64 " then %" PRIu64, first.report.final_tick,
		      second.report.final_tick);
	bxh_run_free(&first);
	bxh_run_free(&second);
}

START_TEST(two_boots_are_identical)
{
	require_two_identical_boots("two_boots_are_identical", &(struct boot){ 0 });
}
END_TEST

/* The x86-64 kernel, from the same sources, ends its workload with the
 * 32-bit kernel's checksum, in long mode at its higher-half address. */
START_TEST(the_x64_kernel_runs_the_workload_as_the_x86_kernel_does)
{
	struct bxh_run x86, x64;
	const struct boot workload = { .boot_options = "kernel=workload rounds=20" };
	const struct boot workload64 = { .image = BXKD_GUEST64_IMAGE,
					 .boot_options = "kernel=workload rounds=20" };

	boot(&x86, "x64_workload/x86", &workload, BXVM_PASSED);
	boot(&x64, "x64_workload/x64", &workload64, BXVM_PASSED);
	const struct bxvm_test_line *a = bxh_find_test(&x86, "workload");
	const struct bxvm_test_line *b = bxh_find_test(&x64, "workload");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(a->detail, b->detail);
	ck_assert_msg(strstr(b->detail, "rounds=20 checksum=0x"), "%s", b->detail);
	bxh_run_free(&x86);
	bxh_run_free(&x64);
}
END_TEST

START_TEST(two_x64_boots_are_identical)
{
	require_two_identical_boots("two_x64_boots_are_identical",
				    &(struct boot){ .image = BXKD_GUEST64_IMAGE,
						    .boot_options = "kernel=workload" });
}
END_TEST

/* A trap in long mode is reported with the 64-bit frame, and stops the
 * run as on x86. */
START_TEST(an_x64_guest_trap_stops_the_run_with_its_report)
{
	struct bxh_run run;

	boot(&run, "an_x64_guest_trap_stops_the_run_with_its_report",
	     &(struct boot){ .image = BXKD_GUEST64_IMAGE, .boot_options = "selftest=trap" },
	     BXVM_GUEST_FATAL);
	ck_assert_msg(strstr(run.console, "BXKD trap: #UD invalid opcode (vector 6)") &&
			      strstr(run.console, "rip=fffff800"),
		      "%s", run.console);
	bxh_run_free(&run);
}
END_TEST

/* The x86-64 kernel's own group, the one a boot without tests= runs: the
 * backdoor from long mode, upper register halves and high-bandwidth
 * transfers at 64-bit addresses (guest/x64/longmode_tests.c). */
START_TEST(the_backdoor_from_long_mode)
{
	struct bxh_run run;

	boot(&run, "the_backdoor_from_long_mode", &(struct boot){ .image = BXKD_GUEST64_IMAGE },
	     BXVM_PASSED);
	ck_assert_uint_eq(run.report.test_count, 2);
	ck_assert_ptr_nonnull(bxh_find_test(&run, "getversion_keeps_the_upper_halves"));
	ck_assert_ptr_nonnull(bxh_find_test(&run, "hb_transfers_use_the_whole_64_bit_rsi_and_rdi"));
	bxh_run_free(&run);
}
END_TEST

/* A CPU without long mode: the kernel says so before it would fault. */
START_TEST(the_x64_kernel_on_a_cpu_without_long_mode_says_so)
{
	struct bxh_run run;

	boot(&run, "the_x64_kernel_on_a_cpu_without_long_mode_says_so",
	     &(struct boot){ .image = BXKD_GUEST64_IMAGE, .boot_options = "kernel=workload",
			     .extra_config = "cpuid: x86_64=0", .x86_only = true },
	     BXVM_GUEST_FATAL);
	ck_assert_msg(strstr(run.console, "BXKD FATAL boot: the CPU has no long mode"), "%s",
		      run.console);
	bxh_run_free(&run);
}
END_TEST

/* What the x86-64 kernel does not have is refused, never run half-way. */
START_TEST(the_x64_kernel_refuses_what_it_lacks)
{
	static const char *const refused[][2] = {
		{ "selftest=usertrap", "runs nothing at CPL 3" },
		{ "kernel=workload kd_os=2600.3", "no x64 edition" },
		{ "tests=backdoor", "no guest tests in group 'backdoor'" },
	};

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct bxh_run run;
		char name[96];
		snprintf(name, sizeof(name), "the_x64_kernel_refuses_what_it_lacks/%zu", i);
		boot(&run, name, &(struct boot){ .image = BXKD_GUEST64_IMAGE, .boot_options = refused[i][0] },
		     BXVM_GUEST_FATAL);
		ck_assert_msg(strstr(run.console, refused[i][1]), "%s:\n%s", refused[i][0], run.console);
		bxh_run_free(&run);
	}
}
END_TEST

/* The build's image holds both kernels, and the boot option arch= picks
 * the one its boot sector loads (guest/boot/floppy.asm): a whole word
 * arch=x64 anywhere in the options, else the 32-bit kernel, which refuses
 * any arch= but its own. The group each boot runs exists in one kernel
 * only, and a CPU without long mode shows that the x86-64 kernel was the
 * one loaded. */
static const struct {
	const char *name;
	struct boot how;
	enum bxvm_outcome outcome;
	const char *evidence; /* a test the run passed, or the console's text */
} arch_boots[] = {
	{ "x64_after_another_word", { .boot_options = "tests=longmode arch=x64", .x64 = true },
	  BXVM_PASSED, "hb_transfers_use_the_whole_64_bit_rsi_and_rdi" },
	{ "x86_named", { .boot_options = "arch=x86" }, BXVM_PASSED, "cpl3_io_bitmap" },
	{ "words_that_only_look_like_x64", { .boot_options = "xarch=x64 arch=x64y", .x64 = true },
	  BXVM_GUEST_FATAL, "this is the x86 kernel" },
	{ "x64_on_a_cpu_without_long_mode",
	  { .boot_options = "arch=x64", .extra_config = "cpuid: x86_64=0", .x86_only = true },
	  BXVM_GUEST_FATAL, "BXKD FATAL boot: the CPU has no long mode" },
	{ "x86_asked_of_the_x64_kernel_alone",
	  { .image = BXKD_GUEST64_IMAGE, .boot_options = "arch=x86" }, BXVM_GUEST_FATAL,
	  "this is the x64 kernel" },
};

START_TEST(the_boot_option_arch_picks_the_kernel)
{
	struct bxh_run run;
	char name[96];

	snprintf(name, sizeof(name), "arch/%s", arch_boots[_i].name);
	boot(&run, name, &arch_boots[_i].how, arch_boots[_i].outcome);
	if (arch_boots[_i].outcome == BXVM_PASSED) {
		const struct bxvm_test_line *line = bxh_find_test(&run, arch_boots[_i].evidence);
		ck_assert_msg(line && line->passed, "%s: no passed %s in\n%s", name,
			      arch_boots[_i].evidence, run.console);
	} else {
		ck_assert_msg(strstr(run.console, arch_boots[_i].evidence), "%s:\n%s", name,
			      run.console);
	}
	bxh_run_free(&run);
}
END_TEST

START_TEST(a_guest_trap_stops_the_run_with_its_report)
{
	struct bxh_run run;

	boot(&run, "a_guest_trap_stops_the_run",
	     &(struct boot){ .boot_options = "selftest=trap" }, BXVM_GUEST_FATAL);
	ck_assert_ptr_nonnull(strstr(run.report.fatal, "vector=6"));
	ck_assert_ptr_nonnull(strstr(run.console, "#UD invalid opcode"));
	ck_assert_ptr_nonnull(strstr(run.console, "eip="));
	ck_assert_ptr_nonnull(strstr(run.console, "eax="));
	bxh_run_free(&run);
}
END_TEST

START_TEST(a_failing_guest_test_fails_the_run)
{
	struct bxh_run run;

	boot(&run, "a_failing_guest_test_fails_the_run",
	     &(struct boot){ .boot_options = "selftest=fail" }, BXVM_TESTS_FAILED);
	char *why = bxh_explain(&run);
	ck_assert_ptr_nonnull(strstr(why, "selftest_fail: deliberate failure"));
	free(why);
	bxh_run_free(&run);
}
END_TEST

START_TEST(a_missing_summary_fails_the_run)
{
	struct bxh_run run;

	boot(&run, "a_missing_summary_fails_the_run",
	     &(struct boot){ .boot_options = "selftest=nosummary" }, BXVM_NO_SUMMARY);
	ck_assert(run.report.shutdown_requested);
	bxh_run_free(&run);
}
END_TEST

START_TEST(a_hung_guest_times_out)
{
	struct bxh_run run;

	boot(&run, "a_hung_guest_times_out",
	     &(struct boot){ .boot_options = "selftest=hang", .timeout_seconds = 2 }, BXVM_TIMEOUT);
	ck_assert(run.wall_seconds >= 2.0);
	ck_assert_ptr_nonnull(strstr(run.console, "selftest=hang"));
	bxh_run_free(&run);
}
END_TEST

/* The test bochsrc turns a triple fault into a panic instead of a silent
 * reboot that would run the guest again until the timeout. */
START_TEST(a_triple_fault_is_a_bochs_panic)
{
	struct bxh_run run;

	boot(&run, "a_triple_fault_is_a_bochs_panic",
	     &(struct boot){ .boot_options = "selftest=triplefault" }, BXVM_BOCHS_PANIC);
	ck_assert_ptr_nonnull(strstr(run.report.panic, "3rd"));
	bxh_run_free(&run);
}
END_TEST

START_TEST(a_bochs_that_cannot_start_is_a_bochs_panic)
{
	struct bxh_run run;

	boot(&run, "a_bochs_that_cannot_start",
	     &(struct boot){ .extra_config = "plugin_ctrl: bxkd_no_such_plugin=1" }, BXVM_BOCHS_PANIC);
	ck_assert_ptr_nonnull(strstr(run.report.panic, "bxkd_no_such_plugin"));
	char *why = bxh_explain(&run);
	ck_assert_ptr_nonnull(strstr(why, "Bochs standard error"));
	free(why);
	bxh_run_free(&run);
}
END_TEST

START_TEST(a_missing_image_is_a_launch_failure)
{
	struct bxh_run run;

	boot(&run, "a_missing_image_is_a_launch_failure",
	     &(struct boot){ .image = BXKD_TEST_WORK_DIR "/no-such-image.img" }, BXVM_LAUNCH_FAILED);
	ck_assert_ptr_nonnull(strstr(run.launch_error, "no-such-image.img"));
	bxh_run_free(&run);
}
END_TEST

BXKD_SUITE(boot,
	/* Each test boots Bochs (well under a second here); the limits only
	 * catch a wedged run, which the harness's own timeout should beat. */
	testcases_add(s, "guest", 120, TESTS(
		every_guest_test_passes_with_the_plugin, the_device_log_shows_what_the_guest_did,
		a_configured_device_reports_its_settings,
		a_bad_device_setting_stops_bochs_with_the_reason,
		the_guest_clock_does_not_depend_on_the_host_time_zone,
		guest_tests_fail_without_the_plugin, two_boots_are_identical));
	TCase *x64 = testcases_add(s, "x64", 120, TESTS(
		the_x64_kernel_runs_the_workload_as_the_x86_kernel_does, two_x64_boots_are_identical,
		an_x64_guest_trap_stops_the_run_with_its_report, the_x64_kernel_refuses_what_it_lacks,
		the_x64_kernel_on_a_cpu_without_long_mode_says_so, the_backdoor_from_long_mode));
	tcase_add_loop_test(x64, the_boot_option_arch_picks_the_kernel, 0,
			    sizeof(arch_boots) / sizeof(arch_boots[0]));
	testcases_add(s, "harness", 120, TESTS(
		a_guest_trap_stops_the_run_with_its_report, a_failing_guest_test_fails_the_run,
		a_missing_summary_fails_the_run, a_hung_guest_times_out,
		a_triple_fault_is_a_bochs_panic, a_bochs_that_cannot_start_is_a_bochs_panic,
		a_missing_image_is_a_launch_failure));
)
