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

static void boot_options_for(struct bxh_options *o, const char *test_name)
{
	static char workdir[512];

	bxh_options_init(o);
	o->image = BXKD_GUEST_IMAGE;
	snprintf(workdir, sizeof(workdir), "%s/%s", BXKD_TEST_WORK_DIR, test_name);
	o->workdir = workdir;
}

/* Fails the test with the harness's account of the run. */
static void require_outcome(struct bxh_run *run, enum bxh_outcome want)
{
	if (run->outcome != want) {
		char *why = bxh_explain(run);
		ck_abort_msg("expected outcome \"%s\", got:\n%s", bxh_outcome_name(want), why);
	}
}

static const char *const issue2_guest_tests[] = {
	"getversion_in", "getversion_out", "getversion_in_al",
	"bad_magic_in", "bad_magic_out", "unknown_command",
};

START_TEST(every_guest_test_passes_with_the_plugin)
{
	struct bxh_options o;
	struct bxh_run run;

	boot_options_for(&o, "every_guest_test_passes");
	bxh_boot(&o, &run);
	require_outcome(&run, BXH_PASSED);
	for (size_t i = 0; i < sizeof(issue2_guest_tests) / sizeof(*issue2_guest_tests); i++) {
		const struct bxh_test_line *line = bxh_find_test(&run, issue2_guest_tests[i]);
		ck_assert_msg(line, "guest test %s did not run", issue2_guest_tests[i]);
		ck_assert(line->passed);
	}
	/* The answers came from our device, which Bochs loaded and initialised. */
	ck_assert_ptr_nonnull(strstr(run.log, "[VMPORT] VMware backdoor on port 0x5658"));
	ck_assert(run.have_final_tick);

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

/* Without the device the same guest tests must fail: they observe the
 * plugin, not something Bochs does anyway. */
START_TEST(guest_tests_fail_without_the_plugin)
{
	struct bxh_options o;
	struct bxh_run run;

	boot_options_for(&o, "guest_tests_fail_without_the_plugin");
	o.load_plugin = false;
	bxh_boot(&o, &run);
	require_outcome(&run, BXH_TESTS_FAILED);
	const struct bxh_test_line *line = bxh_find_test(&run, "getversion_in");
	ck_assert_ptr_nonnull(line);
	ck_assert(!line->passed);
	ck_assert_ptr_null(strstr(run.log, "[VMPORT]"));
	bxh_run_free(&run);
}
END_TEST

START_TEST(two_boots_are_identical)
{
	struct bxh_options o;
	struct bxh_run first, second;

	boot_options_for(&o, "two_boots_are_identical/first");
	bxh_boot(&o, &first);
	require_outcome(&first, BXH_PASSED);
	boot_options_for(&o, "two_boots_are_identical/second");
	bxh_boot(&o, &second);
	require_outcome(&second, BXH_PASSED);

	ck_assert_str_eq(first.console, second.console);
	ck_assert_msg(first.final_tick == second.final_tick,
		      "final ticks differ: %" PRIu64 " then %" PRIu64, first.final_tick,
		      second.final_tick);
	bxh_run_free(&first);
	bxh_run_free(&second);
}
END_TEST

START_TEST(a_guest_trap_stops_the_run_with_its_report)
{
	struct bxh_options o;
	struct bxh_run run;

	boot_options_for(&o, "a_guest_trap_stops_the_run");
	o.boot_options = "selftest=trap";
	bxh_boot(&o, &run);
	require_outcome(&run, BXH_GUEST_FATAL);
	ck_assert_ptr_nonnull(strstr(run.fatal, "vector=6"));
	ck_assert_ptr_nonnull(strstr(run.console, "#UD invalid opcode"));
	ck_assert_ptr_nonnull(strstr(run.console, "eip="));
	ck_assert_ptr_nonnull(strstr(run.console, "eax="));
	bxh_run_free(&run);
}
END_TEST

START_TEST(a_failing_guest_test_fails_the_run)
{
	struct bxh_options o;
	struct bxh_run run;

	boot_options_for(&o, "a_failing_guest_test_fails_the_run");
	o.boot_options = "selftest=fail";
	bxh_boot(&o, &run);
	require_outcome(&run, BXH_TESTS_FAILED);
	char *why = bxh_explain(&run);
	ck_assert_ptr_nonnull(strstr(why, "selftest_fail: deliberate failure"));
	free(why);
	bxh_run_free(&run);
}
END_TEST

START_TEST(a_missing_summary_fails_the_run)
{
	struct bxh_options o;
	struct bxh_run run;

	boot_options_for(&o, "a_missing_summary_fails_the_run");
	o.boot_options = "selftest=nosummary";
	bxh_boot(&o, &run);
	require_outcome(&run, BXH_NO_SUMMARY);
	ck_assert(run.shutdown_requested);
	bxh_run_free(&run);
}
END_TEST

START_TEST(a_hung_guest_times_out)
{
	struct bxh_options o;
	struct bxh_run run;

	boot_options_for(&o, "a_hung_guest_times_out");
	o.boot_options = "selftest=hang";
	o.timeout_seconds = 2;
	bxh_boot(&o, &run);
	require_outcome(&run, BXH_TIMEOUT);
	ck_assert(run.wall_seconds >= 2.0);
	ck_assert_ptr_nonnull(strstr(run.console, "selftest=hang"));
	bxh_run_free(&run);
}
END_TEST

/* The test bochsrc turns a triple fault into a panic instead of a silent
 * reboot that would run the guest again until the timeout. */
START_TEST(a_triple_fault_is_a_bochs_panic)
{
	struct bxh_options o;
	struct bxh_run run;

	boot_options_for(&o, "a_triple_fault_is_a_bochs_panic");
	o.boot_options = "selftest=triplefault";
	bxh_boot(&o, &run);
	require_outcome(&run, BXH_BOCHS_PANIC);
	ck_assert_ptr_nonnull(strstr(run.panic, "3rd"));
	bxh_run_free(&run);
}
END_TEST

START_TEST(a_bochs_that_cannot_start_is_a_bochs_panic)
{
	struct bxh_options o;
	struct bxh_run run;

	boot_options_for(&o, "a_bochs_that_cannot_start");
	o.extra_config = "plugin_ctrl: bxkd_no_such_plugin=1";
	bxh_boot(&o, &run);
	require_outcome(&run, BXH_BOCHS_PANIC);
	ck_assert_ptr_nonnull(strstr(run.panic, "bxkd_no_such_plugin"));
	char *why = bxh_explain(&run);
	ck_assert_ptr_nonnull(strstr(why, "Bochs standard error"));
	free(why);
	bxh_run_free(&run);
}
END_TEST

START_TEST(a_missing_image_is_a_launch_failure)
{
	struct bxh_options o;
	struct bxh_run run;

	boot_options_for(&o, "a_missing_image_is_a_launch_failure");
	o.image = BXKD_TEST_WORK_DIR "/no-such-image.img";
	bxh_boot(&o, &run);
	require_outcome(&run, BXH_LAUNCH_FAILED);
	ck_assert_ptr_nonnull(strstr(run.launch_error, "no-such-image.img"));
	bxh_run_free(&run);
}
END_TEST

Suite *boot_suite(void)
{
	Suite *s = suite_create("boot");
	TCase *guest = tcase_create("guest");
	TCase *harness = tcase_create("harness");

	/* Each test boots Bochs (well under a second here); the limits only
	 * catch a wedged run, which the harness's own timeout should beat. */
	tcase_set_timeout(guest, 120);
	tcase_set_timeout(harness, 120);
	tcase_add_test(guest, every_guest_test_passes_with_the_plugin);
	tcase_add_test(guest, guest_tests_fail_without_the_plugin);
	tcase_add_test(guest, two_boots_are_identical);
	tcase_add_test(harness, a_guest_trap_stops_the_run_with_its_report);
	tcase_add_test(harness, a_failing_guest_test_fails_the_run);
	tcase_add_test(harness, a_missing_summary_fails_the_run);
	tcase_add_test(harness, a_hung_guest_times_out);
	tcase_add_test(harness, a_triple_fault_is_a_bochs_panic);
	tcase_add_test(harness, a_bochs_that_cannot_start_is_a_bochs_panic);
	tcase_add_test(harness, a_missing_image_is_a_launch_failure);
	suite_add_tcase(s, guest);
	suite_add_tcase(s, harness);
	return s;
}
