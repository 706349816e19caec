/*
 * check_bxh.c -- the harness's parsing, classification and image patching,
 * on text and buffers shaped like what Bochs and the guest produce.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bxh.h"
#include "bxkd/bootopt.h"
#include "suites.h"
#include "testcases.h"

/* What Debian's Bochs 2.7 writes to standard output around the guest's
 * port 0xE9 bytes when run with -rc and a panic ends the run. */
static const char bochs_stdout[] =
	"========================================================================\n"
	"                        Bochs x86 Emulator 2.7\n"
	"              Built from SVN snapshot on August  1, 2021\n"
	"                Timestamp: Sun Aug  1 10:07:00 CEST 2021\n"
	"========================================================================\n"
	"Next at t=0\n"
	"(0) [0x0000fffffff0] f000:fff0 (unk. ctxt): jmpf 0xf000:e05b          ; ea5be000f0\n"
	"bxkd test guest 0.1\n"
	"BXKD RESULT first pass eax=0x00000006\n"
	"BXKD RESULT second fail ebx=0x1 expected 0x2\n"
	"BXKD SUMMARY passed=1 failed=1\n"
	"(0).[14184025] [0x000000101e70] 0008:0000000000101e70 (unk. ctxt): out dx, al ; ee\n";

START_TEST(console_drops_banner_and_debugger_lines)
{
	char *console = bxh_console_from_stdout(bochs_stdout);

	ck_assert_str_eq(console, "bxkd test guest 0.1\n"
				  "BXKD RESULT first pass eax=0x00000006\n"
				  "BXKD RESULT second fail ebx=0x1 expected 0x2\n"
				  "BXKD SUMMARY passed=1 failed=1\n");
	free(console);
}
END_TEST

START_TEST(console_keeps_guest_lines_that_look_almost_like_bochs)
{
	char *console = bxh_console_from_stdout("(0) is zero\n(x).[1] no\n(12) [ yes\n");

	ck_assert_str_eq(console, "(0) is zero\n(x).[1] no\n");
	free(console);
}
END_TEST

START_TEST(result_lines_and_summary_are_parsed)
{
	struct bxh_run run = { 0 };
	char *console = bxh_console_from_stdout(bochs_stdout);

	bxvm_report_console(&run.report, console);
	ck_assert_uint_eq(run.report.test_count, 2);
	ck_assert_str_eq(run.report.tests[0].name, "first");
	ck_assert(run.report.tests[0].passed);
	ck_assert_str_eq(run.report.tests[0].detail, "eax=0x00000006");
	ck_assert_str_eq(run.report.tests[1].name, "second");
	ck_assert(!run.report.tests[1].passed);
	ck_assert_str_eq(run.report.tests[1].detail, "ebx=0x1 expected 0x2");
	ck_assert(run.report.have_summary);
	ck_assert_uint_eq(run.report.summary_passed, 1);
	ck_assert_uint_eq(run.report.summary_failed, 1);
	ck_assert_ptr_nonnull(bxh_find_test(&run, "second"));
	ck_assert_ptr_null(bxh_find_test(&run, "third"));
	free(console);
	bxh_run_free(&run);
}
END_TEST

START_TEST(malformed_result_lines_count_as_failures)
{
	struct bxh_run run = { 0 };

	bxvm_report_console(&run.report, "BXKD RESULT lonely\nBXKD RESULT name maybe detail\n"
				"BXKD RESULT ok pass\n");
	ck_assert_uint_eq(run.report.test_count, 3);
	ck_assert(!run.report.tests[0].passed);
	ck_assert(!run.report.tests[1].passed);
	ck_assert(run.report.tests[2].passed);
	ck_assert_str_eq(run.report.tests[2].detail, "");
	bxh_run_free(&run);
}
END_TEST

START_TEST(summary_with_trailing_junk_is_not_a_summary)
{
	struct bxh_run run = { 0 };

	bxvm_report_console(&run.report, "BXKD SUMMARY passed=1 failed=0 and more\n");
	ck_assert(!run.report.have_summary);
	bxh_run_free(&run);
}
END_TEST

START_TEST(first_fatal_line_is_kept)
{
	struct bxh_run run = { 0 };

	bxvm_report_console(&run.report, "x\nBXKD FATAL trap vector=6\nBXKD FATAL later\n");
	ck_assert_str_eq(run.report.fatal, "trap vector=6");
	bxh_run_free(&run);
}
END_TEST

static const char shutdown_log[] =
	"00000000000i[VMPORT] VMware backdoor on port 0x5658\n"
	"00014176888i[VMPORT] guest used unknown backdoor command 4095\n"
	"00014184025p[UNMAP ] >>PANIC<< Shutdown port: shutdown requested\n"
	"00014184025i[CPU0  ] CPU is in protected mode (active)\n"
	"00014184025i[SIM   ] quit_sim called with exit code 1\n";

/* How Bochs' log ends decides the verdict: the guest's shutdown request is
 * the normal end; any other panic is reported with its text. */
static const struct log_ending {
	const char *log;
	const char *panic_part; /* NULL: no panic */
	bool shutdown_requested;
	uint64_t final_tick;
} log_endings[] = {
	{ shutdown_log, NULL, true, 14184025 },
	{ "00000000010i[CPU0 ] x\n"
	  "00000001234p[CPU0  ] >>PANIC<< exception(): 3rd (13) exception\n"
	  "00000001234p[XX    ] >>PANIC<< second\n",
	  "3rd (13)", false, 1234 },
};

START_TEST(log_endings_give_panic_shutdown_and_final_tick)
{
	const struct log_ending *e = &log_endings[_i];
	struct bxvm_report report = { 0 };

	bxvm_report_log(&report, e->log);
	ck_assert_int_eq(report.shutdown_requested, e->shutdown_requested);
	if (e->panic_part) {
		ck_assert_ptr_nonnull(report.panic);
		ck_assert_ptr_nonnull(strstr(report.panic, e->panic_part));
	} else {
		ck_assert_ptr_null(report.panic);
	}
	ck_assert(report.have_final_tick);
	ck_assert_uint_eq(report.final_tick, e->final_tick);
	bxvm_report_free(&report);
}
END_TEST

START_TEST(exit_message_on_stderr_is_a_panic_unless_it_is_the_shutdown)
{
	struct bxh_run run = { 0 };

	bxvm_report_stderr(&run.report, "00000000000i[      ] reading configuration\n"
			       "====\nBochs is exiting with the following message:\n"
			       "[SIM   ] Plugin 'vmport' not found\n====\n");
	ck_assert_str_eq(run.report.panic, "Bochs exited: [SIM   ] Plugin 'vmport' not found");
	bxh_run_free(&run);

	bxvm_report_stderr(&run.report, "Bochs is exiting with the following message:\n"
			       "[UNMAP ] Shutdown port: shutdown requested\n");
	ck_assert_ptr_null(run.report.panic);
	ck_assert(run.report.shutdown_requested);
	bxh_run_free(&run);
}
END_TEST

static enum bxvm_outcome classify(const char *console, const char *log)
{
	struct bxh_run run = { 0 };

	bxvm_report_console(&run.report, console);
	bxvm_report_log(&run.report, log);
	bxh_classify(&run);
	enum bxvm_outcome outcome = run.outcome;
	bxh_run_free(&run);
	return outcome;
}

START_TEST(outcomes_are_classified)
{
	const char *pass = "BXKD RESULT a pass -\nBXKD SUMMARY passed=1 failed=0\n";

	ck_assert_int_eq(classify(pass, shutdown_log), BXVM_PASSED);
	ck_assert_int_eq(classify("BXKD RESULT a fail x\nBXKD SUMMARY passed=0 failed=1\n",
				  shutdown_log),
			 BXVM_TESTS_FAILED);
	/* A summary that disagrees with the lines seen is a failure. */
	ck_assert_int_eq(classify("BXKD RESULT a pass -\nBXKD SUMMARY passed=2 failed=0\n",
				  shutdown_log),
			 BXVM_TESTS_FAILED);
	/* A run that executes no test is a failure. */
	ck_assert_int_eq(classify("BXKD SUMMARY passed=0 failed=0\n", shutdown_log),
			 BXVM_TESTS_FAILED);
	ck_assert_int_eq(classify("BXKD RESULT a pass -\n", shutdown_log), BXVM_NO_SUMMARY);
	ck_assert_int_eq(classify(pass, "00000000001i[X] no shutdown\n"), BXVM_NO_SUMMARY);
	ck_assert_int_eq(classify("BXKD FATAL boot\n", shutdown_log), BXVM_GUEST_FATAL);
	ck_assert_int_eq(classify(pass, "00000000005p[CPU0 ] >>PANIC<< bad\n"), BXVM_BOCHS_PANIC);
}
END_TEST

static void fill_image(uint8_t *image, size_t size, size_t block_at)
{
	struct bxkd_bootopt_block block = { .marker = BXKD_BOOTOPT_MARKER };

	memset(image, 0xee, size);
	memcpy(image + block_at, &block, sizeof(block));
}

START_TEST(boot_options_are_written_after_the_marker)
{
	uint8_t image[4096];
	char why[128];

	fill_image(image, sizeof(image), 1000);
	ck_assert(bxvm_patch_boot_options(image, sizeof(image), "selftest=trap x=1", why,
					 sizeof(why)));
	struct bxkd_bootopt_block *block = (struct bxkd_bootopt_block *)(image + 1000);
	ck_assert_str_eq(block->text, "selftest=trap x=1");
	ck_assert_uint_eq(image[1000 + sizeof(*block)], 0xee);
}
END_TEST

/* One block per kernel on the image: each gets the same text. */
START_TEST(boot_options_are_written_into_every_kernels_block)
{
	uint8_t image[4096];
	char why[128];

	fill_image(image, sizeof(image), 16);
	memcpy(image + 2048, image + 16, sizeof(struct bxkd_bootopt_block));
	ck_assert(bxvm_has_boot_options(image, sizeof(image)));
	ck_assert(bxvm_patch_boot_options(image, sizeof(image), "arch=x64 kernel=workload", why,
					 sizeof(why)));
	for (size_t at = 16; at <= 2048; at += 2048 - 16) {
		struct bxkd_bootopt_block *block = (struct bxkd_bootopt_block *)(image + at);
		ck_assert_str_eq(block->text, "arch=x64 kernel=workload");
		ck_assert_uint_eq(image[at + sizeof(*block)], 0xee);
	}
	ck_assert_uint_eq(image[15], 0xee);
}
END_TEST

START_TEST(boot_option_patching_refuses_what_it_cannot_do_exactly)
{
	uint8_t image[4096];
	char why[128];
	char too_long[BXKD_BOOTOPT_TEXT_SIZE + 1];

	memset(image, 0, sizeof(image));
	ck_assert(!bxvm_patch_boot_options(image, sizeof(image), "a=b", why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "no boot option block"));

	fill_image(image, sizeof(image), 0);
	memset(too_long, 'x', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	ck_assert(!bxvm_patch_boot_options(image, sizeof(image), too_long, why, sizeof(why)));

	/* A block cut off by the end of the image is not a block. */
	memset(image, 0xee, sizeof(image));
	memcpy(image + sizeof(image) - 100, BXKD_BOOTOPT_MARKER, sizeof(BXKD_BOOTOPT_MARKER));
	ck_assert(!bxvm_patch_boot_options(image, sizeof(image), "a=b", why, sizeof(why)));
}
END_TEST

START_TEST(explanation_names_the_failure)
{
	struct bxh_run run = { 0 };

	bxvm_report_console(&run.report, "BXKD RESULT getversion_in fail eax=0xffffffff expected 0x6\n"
				"BXKD SUMMARY passed=0 failed=1\n");
	bxvm_report_log(&run.report, shutdown_log);
	bxh_classify(&run);
	char *text = bxh_explain(&run);
	ck_assert_ptr_nonnull(strstr(text, "guest tests failed"));
	ck_assert_ptr_nonnull(strstr(text, "getversion_in: eax=0xffffffff expected 0x6"));
	ck_assert_ptr_nonnull(strstr(text, "tick 14184025"));
	free(text);
	bxh_run_free(&run);
}
END_TEST

/* Where an installed tree was put, from the directory its programs are
 * in: DESTDIR's prefix, nothing for the configured place, and no answer
 * for a directory that is not a bindir. */
START_TEST(the_install_root_comes_from_the_programs_directory)
{
	char root[64];

	ck_assert(bxvm_install_root("/stage/usr/local/bin", "/usr/local/bin", root, sizeof(root)));
	ck_assert_str_eq(root, "/stage");
	ck_assert(bxvm_install_root("/usr/local/bin", "/usr/local/bin", root, sizeof(root)));
	ck_assert_str_eq(root, "");
	ck_assert(bxvm_install_root("/stage/usr/bin", "/usr/bin/", root, sizeof(root)));
	ck_assert_str_eq(root, "/stage");
	ck_assert(!bxvm_install_root("/work/build/launcher", "/usr/local/bin", root, sizeof(root)));
	ck_assert(!bxvm_install_root("/stage/usr/local/sbin", "/usr/local/bin", root, sizeof(root)));
	ck_assert(!bxvm_install_root("/usr/local/bin", "usr/local/bin", root, sizeof(root)));
	ck_assert(!bxvm_install_root("", "/usr/local/bin", root, sizeof(root)));
	ck_assert(!bxvm_install_root("/a-very-long-staging-directory-name-indeed-longer-than-the-room/usr/bin",
				     "/usr/bin", root, 16));
}
END_TEST

BXKD_SUITE(bxh,
	TCase *parse = testcases_add(s, "parse", 0, TESTS(
		console_drops_banner_and_debugger_lines,
		console_keeps_guest_lines_that_look_almost_like_bochs,
		result_lines_and_summary_are_parsed, malformed_result_lines_count_as_failures,
		summary_with_trailing_junk_is_not_a_summary, first_fatal_line_is_kept,
		exit_message_on_stderr_is_a_panic_unless_it_is_the_shutdown,
		outcomes_are_classified, explanation_names_the_failure));
	tcase_add_loop_test(parse, log_endings_give_panic_shutdown_and_final_tick, 0,
			    sizeof(log_endings) / sizeof(*log_endings));
	testcases_add(s, "patch", 0, TESTS(
		boot_options_are_written_after_the_marker,
		boot_options_are_written_into_every_kernels_block,
		boot_option_patching_refuses_what_it_cannot_do_exactly));
	testcases_add(s, "locate", 0, TESTS(the_install_root_comes_from_the_programs_directory));
)
