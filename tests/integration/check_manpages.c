/*
 * check_manpages.c -- the installed commands against their manual pages
 * (man/): every option a command's --help offers is in its page, the pages
 * format without a warning, and every command and subcommand answers
 * --version the same way.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "suites.h"
#include "testcases.h"

#define RUN_MS 10000

/* A command line (program and its words, NULL-terminated) and the page
 * that documents it. */
struct documented {
	const char *page;
	const char *argv[4];
};

static const struct documented helps[] = {
	{ "bxkd.1", { BXKD_LAUNCHER, "run", "--help", NULL } },
	{ "bxkd.1", { BXKD_LAUNCHER, "demo", "--help", NULL } },
	{ "bxkd.1", { BXKD_LAUNCHER, "bench", "--help", NULL } },
	{ "bxkd-dbg.1", { BXKD_DBG, "--help", NULL } },
	{ "bxkd-tap.1", { BXKD_TAP_PROGRAM, "--help", NULL } },
	{ "bxkd-replay.1", { BXKD_REPLAY, "dump", "--help", NULL } },
	{ "bxkd-replay.1", { BXKD_REPLAY, "verify", "--help", NULL } },
	{ "bxkd-replay.1", { BXKD_REPLAY, "serve", "--help", NULL } },
};

static char *page_source(const char *page)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/man/%s", BXKD_SOURCE_DIR, page);
	char *text = read_text_file(path);
	ck_assert_msg(text, "cannot read %s", path);
	return text;
}

START_TEST(every_option_in_help_is_in_the_manual_page)
{
	const struct documented *d = &helps[_i];
	char *help = NULL;
	int status = run_capture((char *const *)d->argv, RUN_MS, &help);
	char *page = page_source(d->page);
	unsigned options = 0;

	ck_assert_msg(status == 0, "%s %s: exit status %d", d->argv[0], d->argv[1], status);
	for (const char *at = strstr(help, "--"); at; at = strstr(at + 2, "--")) {
		char name[64], roff[80];
		size_t n = 0;

		while (n + 1 < sizeof(name) && (islower((unsigned char)at[2 + n]) || at[2 + n] == '-'))
			name[n] = at[2 + n], n++;
		name[n] = '\0';
		if (n < 2)
			continue;
		/* roff writes a minus sign as \- */
		snprintf(roff, sizeof(roff), "\\-\\-");
		for (size_t i = 0, o = 4; i < n && o + 3 < sizeof(roff); i++)
			o += (size_t)snprintf(roff + o, sizeof(roff) - o, "%s",
					      name[i] == '-' ? "\\-" : (char[]){ name[i], 0 });
		ck_assert_msg(strstr(page, roff), "man/%s lacks --%s, which `%s %s` offers", d->page,
			      name, d->argv[0], d->argv[1]);
		options++;
	}
	ck_assert_uint_ge(options, 2);
	free(page);
	free(help);
}
END_TEST

static const char *const pages[] = { "bxkd.1", "bxkd-dbg.1", "bxkd-tap.1", "bxkd-replay.1" };

START_TEST(manual_pages_format_without_warnings)
{
	char path[512], *out = NULL;

	snprintf(path, sizeof(path), "%s/man/%s", BXKD_SOURCE_DIR, pages[_i]);
	/* -ww: every warning; -z: no output; stderr joins stdout for the message. */
	char *argv[] = { "/bin/sh", "-c", "\"$0\" -man -Tutf8 -ww -z \"$1\" 2>&1", BXKD_GROFF, path,
			 NULL };
	int status = run_capture(argv, RUN_MS, &out);

	ck_assert_msg(status == 0 && !*out, "groff on %s: status %d:\n%s", path, status, out);
	free(out);
}
END_TEST

static const struct {
	const char *argv[4];
	const char *program;
} versions[] = {
	{ { BXKD_LAUNCHER, "--version", NULL }, "bxkd" },
	{ { BXKD_LAUNCHER, "run", "--version", NULL }, "bxkd run" },
	{ { BXKD_LAUNCHER, "demo", "--version", NULL }, "bxkd demo" },
	{ { BXKD_DBG, "--version", NULL }, "bxkd-dbg" },
	{ { BXKD_TAP_PROGRAM, "--version", NULL }, "bxkd-tap" },
	{ { BXKD_REPLAY, "--version", NULL }, "bxkd-replay" },
	{ { BXKD_REPLAY, "dump", "--version", NULL }, "bxkd-replay dump" },
	{ { BXKD_REPLAY, "verify", "--version", NULL }, "bxkd-replay verify" },
	{ { BXKD_REPLAY, "serve", "--version", NULL }, "bxkd-replay serve" },
};

START_TEST(every_command_answers_version)
{
	char *out = NULL, want[128];
	int status = run_capture((char *const *)versions[_i].argv, RUN_MS, &out);

	snprintf(want, sizeof(want), "%s (bxkd) %s\n", versions[_i].program, PACKAGE_VERSION);
	ck_assert_int_eq(status, 0);
	ck_assert_str_eq(out, want);
	free(out);
}
END_TEST

/* `bxkd-replay help COMMAND` is COMMAND --help; an unknown one is a usage
 * error. */
START_TEST(replay_help_shows_a_subcommands_options)
{
	char *help = NULL, *direct = NULL, *unknown = NULL;
	char *help_argv[] = { BXKD_REPLAY, "help", "verify", NULL };
	char *direct_argv[] = { BXKD_REPLAY, "verify", "--help", NULL };
	char *unknown_argv[] = { BXKD_REPLAY, "help", "nosuch", NULL };

	ck_assert_int_eq(run_capture(help_argv, RUN_MS, &help), 0);
	ck_assert_int_eq(run_capture(direct_argv, RUN_MS, &direct), 0);
	ck_assert_str_eq(help, direct);
	ck_assert_ptr_nonnull(strstr(help, "usage: bxkd-replay verify SESSION"));
	ck_assert_int_eq(run_capture(unknown_argv, RUN_MS, &unknown), 2);
	free(help);
	free(direct);
	free(unknown);
}
END_TEST

BXKD_SUITE(manpages,
	TCase *tc = testcases_add(s, "manpages", 0, TESTS(replay_help_shows_a_subcommands_options));
	tcase_add_loop_test(tc, every_option_in_help_is_in_the_manual_page, 0,
			    sizeof(helps) / sizeof(*helps));
	tcase_add_loop_test(tc, every_command_answers_version, 0,
			    sizeof(versions) / sizeof(*versions));
	if (*BXKD_GROFF)
		tcase_add_loop_test(tc, manual_pages_format_without_warnings, 0,
				    sizeof(pages) / sizeof(*pages));
	else
		fprintf(stderr, "NOT RUN: manual_pages_format_without_warnings: groff missing: "
				"install Debian's groff-base and configure again\n");
)
