/*
 * testrun.h -- the in-guest test runner.
 *
 * Each test prints exactly one machine-readable line on the console,
 *
 *   BXKD RESULT <name> <pass|fail> <detail>
 *
 * and the run ends with
 *
 *   BXKD SUMMARY passed=<n> failed=<n>
 *
 * which the Bochs harness (tests/harness/bxh.h) parses. Tests register
 * themselves with GUEST_TEST and run in link order.
 */
#ifndef GUEST_TESTRUN_H
#define GUEST_TESTRUN_H

#include <stdbool.h>
#include <stdint.h>

/* Room for a register dump; with name and status a line stays well within
 * CONSOLE_LINE_MAX. */
#define GUEST_TEST_DETAIL_MAX 320

struct guest_test_ctx {
	bool failed;
	char detail[GUEST_TEST_DETAIL_MAX];
};

struct guest_test {
	const char *name;
	void (*run)(struct guest_test_ctx *t);
};

#define GUEST_TEST(fn)                                                                    \
	static void fn(struct guest_test_ctx *t);                                         \
	static const struct guest_test guest_test_##fn                                    \
		__attribute__((used, section(".guest_tests"), aligned(4))) = { #fn, fn }; \
	static void fn(struct guest_test_ctx *t)

/* Marks the test failed; the first failure's text becomes the detail. */
void gt_fail(struct guest_test_ctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends to the detail a passing test reports. */
void gt_note(struct guest_test_ctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fails with "<what>=<got> expected <want>" unless equal; returns equality. */
bool gt_expect_u32(struct guest_test_ctx *t, const char *what, uint32_t got, uint32_t want);

/* Runs every registered test; returns the number that failed. */
unsigned run_guest_tests(void);

#endif /* GUEST_TESTRUN_H */
