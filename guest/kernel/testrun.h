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
 * themselves with GUEST_TEST and run in link order. Each belongs to a
 * group; one boot runs one group, the one named by the boot option
 * tests=<group> ("backdoor" when absent), because groups need different
 * machines (a debugger attached, the device set to scan for its page).
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
	const char *group;
	const char *name;
	void (*run)(struct guest_test_ctx *t);
};

#define GUEST_TEST_DEFAULT_GROUP "backdoor"

/* The group a boot runs without tests=: the x86-64 kernel has no
 * "backdoor" group, and its long-mode one is the group that needs no
 * debugger, so a plain boot of either kernel runs its backdoor tests. */
#ifdef __x86_64__
#define GUEST_BOOT_DEFAULT_GROUP "longmode"
#else
#define GUEST_BOOT_DEFAULT_GROUP GUEST_TEST_DEFAULT_GROUP
#endif

#define GUEST_TEST_IN(group, fn)                                                  \
	static void fn(struct guest_test_ctx *t);                                 \
	static const struct guest_test guest_test_##fn                            \
		__attribute__((used, section(".guest_tests"), aligned(4))) = { group, \
									       #fn, fn }; \
	static void fn(struct guest_test_ctx *t)

#define GUEST_TEST(fn) GUEST_TEST_IN(GUEST_TEST_DEFAULT_GROUP, fn)

/* Marks the test failed; the first failure's text becomes the detail. */
void gt_fail(struct guest_test_ctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends to the detail a passing test reports. */
void gt_note(struct guest_test_ctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fails with "<what>=<got> expected <want>" unless equal; returns equality. */
bool gt_expect_u32(struct guest_test_ctx *t, const char *what, uint32_t got, uint32_t want);

/* Runs every registered test of `group`; returns the number that failed.
 * A group without tests is a fatal error: a run that tests nothing must
 * not pass. */
unsigned run_guest_tests(const char *group);

#endif /* GUEST_TESTRUN_H */
