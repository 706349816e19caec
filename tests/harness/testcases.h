/*
 * testcases.h -- building the Check suites: a test case from a list, and
 * tests that need a program the machine may lack.
 *
 * A test whose program is missing is not added, and says so on a loud
 * "NOT RUN:" line: it neither fails for the machine's sake nor passes
 * without having run.
 */
#ifndef BXKD_TESTCASES_H
#define BXKD_TESTCASES_H

#include <check.h>
#include <stdbool.h>

/* Adds a test case `name` with the NULL-terminated `tests` to `suite`;
 * timeout_seconds 0 keeps Check's default. */
TCase *testcases_add(Suite *suite, const char *name, unsigned timeout_seconds,
		     const TTest *const tests[]);

/* The same, each test run between `setup` and `teardown` (Check's checked
 * fixture; either may be NULL). */
TCase *testcases_add_with(Suite *suite, const char *name, unsigned timeout_seconds, SFun setup,
			  SFun teardown, const TTest *const tests[]);

/* A test case's list in place: TESTS(a, b) is { a, b, NULL }, an array with
 * the automatic storage Check's test variables need. */
/* Defines `Suite *NAME_suite(void)` (tests/suites.h): a suite called NAME
 * whose test cases the statements add to `s`. */
#define BXKD_SUITE(name, ...)                                                                  \
	Suite *name##_suite(void)                                                              \
	{                                                                                      \
		Suite *s = suite_create(#name);                                                \
		__VA_ARGS__                                                                    \
		return s;                                                                      \
	}

#define TESTS(...) ((const TTest *const[]){ __VA_ARGS__, NULL })

/* Adds `test` to `tc` if `program` can be executed; otherwise prints
 * "NOT RUN: <test>: <why>" on standard error. */
void testcases_add_needing(TCase *tc, const TTest *test, const char *program, const char *why);

/* A suite none of whose tests can run here: empty, with a NOT RUN line. */
Suite *testcases_not_run(const char *name, const char *why);

/* Why the suites and cases that need the Windows KD DLLs do not run. */
#define TESTCASES_NO_WINDOWS_DLL \
	"the Windows KD DLLs were not built (configured --without-windows-dll, or no mingw-w64)"

/* Adds the test case `name` of the suite called `suite` (for the message)
 * when the Windows KD DLLs were built; otherwise says it is NOT RUN. Its
 * tests exist only under BXKD_WINDOWS_DLL, and are not named without it. */
#ifdef BXKD_WINDOWS_DLL
#define testcases_add_needing_dll(s, suite, name, timeout, tests) \
	testcases_add((s), (name), (timeout), tests)
#else
#define testcases_add_needing_dll(s, suite, name, timeout, tests)                        \
	fprintf(stderr, "NOT RUN: the %s suite's %s case: %s\n", (suite), (name), \
		TESTCASES_NO_WINDOWS_DLL)
#endif

/* Defines NAME_suite as a suite that cannot run here, for `why`. */
#define BXKD_SUITE_NOT_RUN(name, why) \
	Suite *name##_suite(void)     \
	{                             \
		return testcases_not_run(#name, why); \
	}

/* The dissector's tests need Wireshark's tshark (configure finds it). */
#define tcase_add_test_needing_tshark(tc, test) \
	testcases_add_needing((tc), (test), BXKD_TSHARK, \
			      "tshark missing: install Debian's tshark and configure again")

#endif /* BXKD_TESTCASES_H */
