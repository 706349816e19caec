/*
 * testrun.c -- runs the tests collected in the .guest_tests section.
 */
#include "testrun.h"

#include <stdarg.h>
#include <stddef.h>

#include "console.h"
#include "format.h"
#include "kstring.h"

extern const struct guest_test __guest_tests_start[], __guest_tests_end[];

static void append_v(struct guest_test_ctx *t, const char *fmt, va_list ap)
{
	size_t used = strlen(t->detail);

	if (used && used + 1 < sizeof(t->detail))
		t->detail[used++] = ' ';
	format_v(t->detail + used, sizeof(t->detail) - used, fmt, ap);
}

void gt_fail(struct guest_test_ctx *t, const char *fmt, ...)
{
	va_list ap;

	if (t->failed)
		return;
	t->failed = true;
	t->detail[0] = '\0';
	va_start(ap, fmt);
	append_v(t, fmt, ap);
	va_end(ap);
}

void gt_note(struct guest_test_ctx *t, const char *fmt, ...)
{
	va_list ap;

	if (t->failed)
		return;
	va_start(ap, fmt);
	append_v(t, fmt, ap);
	va_end(ap);
}

bool gt_expect_u32(struct guest_test_ctx *t, const char *what, uint32_t got, uint32_t want)
{
	if (got == want)
		return true;
	gt_fail(t, "%s=0x%08x expected 0x%08x", what, got, want);
	return false;
}

/* Result lines are one line each: the detail must not break them. */
static void flatten(char *text)
{
	for (; *text; text++) {
		if (*text == '\n' || *text == '\r')
			*text = ' ';
	}
}

unsigned run_guest_tests(const char *group)
{
	unsigned passed = 0, failed = 0;

	for (const struct guest_test *test = __guest_tests_start; test < __guest_tests_end;
	     test++) {
		struct guest_test_ctx t = { 0 };

		if (strcmp(test->group, group))
			continue;
		test->run(&t);
		flatten(t.detail);
		kprintf("BXKD RESULT %s %s %s\n", test->name, t.failed ? "fail" : "pass",
			t.detail[0] ? t.detail : "-");
		if (t.failed)
			failed++;
		else
			passed++;
	}
	if (passed + failed == 0) {
		kprintf("BXKD FATAL no guest tests in group '%s'\n", group);
		return 1;
	}
	kprintf("BXKD SUMMARY passed=%u failed=%u\n", passed, failed);
	return failed;
}
