/*
 * check_format.c -- the guest's formatter against the C library's snprintf.
 */
#include "config.h"

#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "suites.h"
#include "testcases.h"

/* Formats with both and compares text and return value. */
#define SAME_AS_LIBC(...)                                                        \
	do {                                                                     \
		char ours[128], libc[128];                                       \
		int n_ours = format(ours, sizeof(ours), __VA_ARGS__);            \
		int n_libc = snprintf(libc, sizeof(libc), __VA_ARGS__);          \
		ck_assert_msg(!strcmp(ours, libc), "format(%s): \"%s\" but libc \"%s\"", \
			      #__VA_ARGS__, ours, libc);                         \
		ck_assert_int_eq(n_ours, n_libc);                                \
	} while (0)

START_TEST(integers_match_libc)
{
	SAME_AS_LIBC("%d %d %d %d", 0, -1, INT_MIN, INT_MAX);
	SAME_AS_LIBC("%i|%u|%u", 42, 0u, UINT_MAX);
	SAME_AS_LIBC("%x %X %08x %8x|", 0xdeadbeefu, 0xabcu, 0x1fu, 0x1fu);
	SAME_AS_LIBC("%-6d|%6d|%05d|%-5d|", 42, -42, -42, 7);
	SAME_AS_LIBC("%*d|%-*d|", 6, 1, 4, 2);
	SAME_AS_LIBC("%ld %lu %lx", LONG_MIN, ULONG_MAX, 0x123456789abcdefUL);
	SAME_AS_LIBC("%lld %llu %llx", LLONG_MIN, ULLONG_MAX, 0x8000000000000000ULL);
	SAME_AS_LIBC("%zu %zx", SIZE_MAX, (size_t)4096);
}
END_TEST

START_TEST(strings_and_characters_match_libc)
{
	SAME_AS_LIBC("[%s] [%5s] [%-5s] [%.3s] [%.*s]", "abc", "ab", "ab", "abcdef", 2, "xyz");
	SAME_AS_LIBC("%c%c%c", 'o', 'k', '!');
	SAME_AS_LIBC("100%% sure");
	SAME_AS_LIBC("%s", "");
	SAME_AS_LIBC("%p", (void *)0x1234);
}
END_TEST

START_TEST(output_is_cut_and_terminated_like_snprintf)
{
	char buf[5];

	ck_assert_int_eq(format(buf, sizeof(buf), "hello %s", "world"), 11);
	ck_assert_str_eq(buf, "hell");
	ck_assert_int_eq(format(buf, 1, "abc"), 3);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(format(NULL, 0, "%d", 12345), 5);
}
END_TEST

START_TEST(unknown_conversions_are_shown_not_guessed)
{
	/* Through a pointer, so the compiler's format checking lets the bad
	 * formats through to the code under test. */
	int (*unchecked)(char *, size_t, const char *, ...) = format;
	char buf[32];

	unchecked(buf, sizeof(buf), "a%qb");
	ck_assert_str_eq(buf, "a%qb");
	unchecked(buf, sizeof(buf), "end%");
	ck_assert_str_eq(buf, "end%");
}
END_TEST

BXKD_SUITE(format,
	testcases_add(s, "format", 0, TESTS(
		integers_match_libc, strings_and_characters_match_libc,
		output_is_cut_and_terminated_like_snprintf,
		unknown_conversions_are_shown_not_guessed));
)
