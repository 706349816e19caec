/*
 * testcases.c -- building the Check suites (testcases.h).
 */
#include "config.h"

#include "testcases.h"

#include <stdio.h>
#include <unistd.h>

TCase *testcases_add(Suite *suite, const char *name, unsigned timeout_seconds,
		     const TTest *const tests[])
{
	return testcases_add_with(suite, name, timeout_seconds, NULL, NULL, tests);
}

TCase *testcases_add_with(Suite *suite, const char *name, unsigned timeout_seconds, SFun setup,
			  SFun teardown, const TTest *const tests[])
{
	TCase *tc = tcase_create(name);

	if (setup || teardown)
		tcase_add_checked_fixture(tc, setup, teardown);
	if (timeout_seconds)
		tcase_set_timeout(tc, timeout_seconds);
	for (size_t i = 0; tests[i]; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(suite, tc);
	return tc;
}

void testcases_add_needing(TCase *tc, const TTest *test, const char *program, const char *why)
{
	if (program && *program && access(program, X_OK) == 0) {
		tcase_add_test(tc, test);
		return;
	}
	fprintf(stderr, "NOT RUN: %s: %s\n", test->name, why);
}

Suite *testcases_not_run(const char *name, const char *why)
{
	fprintf(stderr, "NOT RUN: the %s suite: %s\n", name, why);
	return suite_create(name);
}
