/*
 * check_install.c -- an installed tree on its own: `make install
 * DESTDIR=<a new directory>` of this build, then the installed `bxkd run`
 * and `bxkd demo`, started from that directory with no LTDL_LIBRARY_PATH
 * and no make variables in the environment.
 *
 * The proof that the build tree is not used: nothing either command
 * prints names the build directory (every file it takes is printed: the
 * image, the symbols, the session script, and, when missing, the places
 * looked at); and with the installed image, plugin or bxkd-tap moved
 * aside inside the staged tree, the installed commands fail saying they
 * looked in the staged tree only, while the build tree's copies are there
 * all along.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "suites.h"
#include "testcases.h"

/* make install, a boot and the demo: well under a minute. */
#define WAIT_MS 120000u

/* `name` on $PATH, which child_start does not search. */
static char *on_path(const char *name)
{
	const char *path = getenv("PATH");
	char candidate[1024];

	for (const char *dir = path ? path : "/usr/bin:/bin"; *dir;) {
		size_t length = strcspn(dir, ":");
		snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)length, dir, name);
		if (length && access(candidate, X_OK) == 0)
			return strdup(candidate);
		dir += length + (dir[length] == ':');
	}
	return NULL;
}

struct said {
	int status;
	char *out, *err;
};

static void run_in(const char *dir, char *const argv[], struct said *s)
{
	char out[600], err[600];
	struct child c;

	snprintf(out, sizeof(out), "%s/said.out", dir);
	snprintf(err, sizeof(err), "%s/said.err", dir);
	ck_assert(child_start(&c, argv, out, err));
	s->status = child_wait(&c, WAIT_MS);
	s->out = read_text_file(out);
	s->err = read_text_file(err);
	ck_assert(s->out && s->err);
}

static void said_free(struct said *s)
{
	free(s->out);
	free(s->err);
}

/* Exit status `status`, `text` in its output (or its errors), and never
 * the build directory. */
static void expect(const struct said *s, int status, const char *text)
{
	ck_assert_msg(s->status == status && (strstr(s->out, text) || strstr(s->err, text)),
		      "status %d (not %d), no \"%s\" in:\n%s\n%s", s->status, status, text,
		      s->out, s->err);
	ck_assert_msg(!strstr(s->out, BXKD_BUILD_DIR) && !strstr(s->err, BXKD_BUILD_DIR),
		      "the build tree (%s) is named:\n%s\n%s", BXKD_BUILD_DIR, s->out, s->err);
}

/* Moves `installed` aside, runs argv expecting it to say it looked for it
 * (and only) there, and puts it back. */
static void without(const char *stage, const char *installed, char *const argv[],
		    const char *what)
{
	char aside[700], looked[900];
	struct said s;

	snprintf(aside, sizeof(aside), "%s/aside", stage);
	ck_assert_int_eq(rename(installed, aside), 0);
	run_in(stage, argv, &s);
	snprintf(looked, sizeof(looked), "%s is not in %s", what, installed);
	expect(&s, 1, looked);
	said_free(&s);
	ck_assert_int_eq(rename(aside, installed), 0);
}

START_TEST(an_installed_tree_runs_on_its_own)
{
	char stage[] = "/tmp/bxkd-install.XXXXXX", destdir[100];
	char bxkd[600], image[600], plugin[600], tap[600], symbols[600], script[600], booting[700];
	char *make = on_path("make");
	struct said s;

	ck_assert_msg(make, "no make on PATH");
	ck_assert_ptr_nonnull(mkdtemp(stage));
	/* A make inside make check must not join its parent's jobs. */
	unsetenv("MAKEFLAGS");
	unsetenv("MFLAGS");
	unsetenv("MAKELEVEL");
	unsetenv("LTDL_LIBRARY_PATH");
	snprintf(destdir, sizeof(destdir), "DESTDIR=%s", stage);
	char *install[] = { make, "-s", "-C", BXKD_BUILD_DIR, "install", destdir, NULL };
	run_in(stage, install, &s);
	ck_assert_msg(s.status == 0, "make install: %d\n%s\n%s", s.status, s.out, s.err);
	said_free(&s);

	snprintf(bxkd, sizeof(bxkd), "%s%s/bxkd", stage, BXKD_INSTALL_BINDIR);
	snprintf(tap, sizeof(tap), "%s%s/bxkd-tap", stage, BXKD_INSTALL_BINDIR);
	snprintf(image, sizeof(image), "%s%s/bxkd-guest.img", stage, BXKD_INSTALL_PKGDATADIR);
	snprintf(symbols, sizeof(symbols), "symbols:  %s%s/kernel.symbols", stage,
		 BXKD_INSTALL_PKGDATADIR);
	snprintf(script, sizeof(script), "script %s%s/debug-session.bxkd", stage,
		 BXKD_INSTALL_PKGDATADIR);
	snprintf(plugin, sizeof(plugin), "%s%s", stage, BXKD_INSTALL_PKGLIBDIR);
	snprintf(booting, sizeof(booting), "bxkd: booting the bxkd test kernel %s with", image);
	/* Started from the staged tree, not from the build directory. */
	ck_assert_int_eq(chdir(stage), 0);

	char *run[] = { bxkd, "run", "--rounds", "3", "--no-status", "--timeout", "60", NULL };
	run_in(stage, run, &s);
	expect(&s, 0, booting);
	expect(&s, 0, symbols);
	expect(&s, 0, "bxkd: passed: BXKD SUMMARY passed=1 failed=0");
	said_free(&s);

	char *demo[] = { bxkd, "demo", "--timeout", "60", NULL };
	run_in(stage, demo, &s);
	expect(&s, 0, script);
	expect(&s, 0, "bxkd demo: passed");
	said_free(&s);

	/* The build tree has them all; the installed commands do not look. */
	ck_assert_int_eq(access(BXKD_GUEST_IMAGE, R_OK), 0);
	without(stage, image, run, "the bxkd test kernel (bxkd-guest.img)");
	without(stage, plugin, run, "the vmport plugin (libbx_vmport.so)");
	without(stage, tap, demo, "bxkd-tap");

	char *remove[] = { "/bin/rm", "-rf", stage, NULL };
	ck_assert_int_eq(chdir("/"), 0);
	struct child c;
	ck_assert(child_start(&c, remove, NULL, NULL));
	ck_assert_int_eq(child_wait(&c, WAIT_MS), 0);
	free(make);
}
END_TEST

BXKD_SUITE(install,
	testcases_add(s, "staged", 300, TESTS(an_installed_tree_runs_on_its_own));
)
