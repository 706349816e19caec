/*
 * check_kdstatus.c -- the KD link's live status (pipe-bridge/kdstatus.h):
 * the file's line read back, every refusal of the reader, the pace at
 * which it is passed on, and what `bxkd run` writes on a terminal and into
 * a pipe, all with a clock the test moves.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kdstatus.h"
#include "suites.h"
#include "testcases.h"

static const struct kd_status busy = {
	.source = KD_STATUS_DEVICE,
	.attached = true,
	.to_debugger = 18446744073709551615ull,
	.from_debugger = 10,
	.retransmitted = 2,
	.resets = 1,
	.breakins = 3,
	.tick = 25324853,
};

START_TEST(a_status_line_reads_back_the_same)
{
	const struct kd_status relay = { .source = KD_STATUS_RELAY, .to_debugger = 4 };
	const struct kd_status *each[] = { &busy, &relay };
	char line[KD_STATUS_LINE_MAX];

	for (size_t i = 0; i < 2; i++) {
		struct kd_status back;
		kd_status_format(each[i], line, sizeof(line));
		ck_assert_uint_eq(line[strlen(line) - 1], '\n');
		ck_assert_msg(kd_status_parse(line, strlen(line), &back), "%s", line);
		ck_assert(kd_status_same(each[i], &back, true));
		ck_assert_uint_eq(back.tick, each[i]->tick);
		/* Without its newline too. */
		ck_assert(kd_status_parse(line, strlen(line) - 1, &back));
	}
	kd_status_format(&busy, line, sizeof(line));
	ck_assert_str_eq(line, "bxkd-status 1 source=device attached=1 "
			       "to_debugger=18446744073709551615 from_debugger=10 retransmitted=2 "
			       "resets=1 breakins=3 tick=25324853\n");
}
END_TEST

START_TEST(anything_else_is_refused)
{
	static const char *const refused[] = {
		"",
		"bxkd-status 1 ",
		"bxkd-status 2 source=device attached=1 to_debugger=1 from_debugger=1 "
		"retransmitted=0 resets=0 breakins=0 tick=0",
		/* a key missing, repeated, unknown */
		"bxkd-status 1 source=device attached=1 to_debugger=1 from_debugger=1 "
		"retransmitted=0 resets=0 breakins=0",
		"bxkd-status 1 source=device attached=1 to_debugger=1 from_debugger=1 "
		"retransmitted=0 resets=0 breakins=0 tick=0 tick=0",
		"bxkd-status 1 source=device attached=1 to_debugger=1 from_debugger=1 "
		"retransmitted=0 resets=0 breakins=0 tick=0 colour=blue",
		/* numbers that do not fit, or are not numbers */
		"bxkd-status 1 source=device attached=1 to_debugger=18446744073709551616 "
		"from_debugger=1 retransmitted=0 resets=0 breakins=0 tick=0",
		"bxkd-status 1 source=device attached=2 to_debugger=1 from_debugger=1 "
		"retransmitted=0 resets=0 breakins=0 tick=0",
		"bxkd-status 1 source=device attached=1 to_debugger=-1 from_debugger=1 "
		"retransmitted=0 resets=0 breakins=0 tick=0",
		"bxkd-status 1 source=device attached=1 to_debugger= from_debugger=1 "
		"retransmitted=0 resets=0 breakins=0 tick=0",
		"bxkd-status 1 source=guest attached=1 to_debugger=1 from_debugger=1 "
		"retransmitted=0 resets=0 breakins=0 tick=0",
		/* blanks where they do not belong, a second line */
		"bxkd-status 1 source=device attached=1 to_debugger=1 from_debugger=1 "
		"retransmitted=0 resets=0 breakins=0 tick=0 ",
		"bxkd-status 1 source=device  attached=1 to_debugger=1 from_debugger=1 "
		"retransmitted=0 resets=0 breakins=0 tick=0",
		"bxkd-status 1 source=device attached=1 to_debugger=1 from_debugger=1 "
		"retransmitted=0 resets=0 breakins=0 tick=0\nmore",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
		struct kd_status s = busy;
		ck_assert_msg(!kd_status_parse(refused[i], strlen(refused[i]), &s), "accepted: %s",
			      refused[i]);
		/* A refusal leaves the caller's status as it was. */
		ck_assert(kd_status_same(&s, &busy, true));
	}
}
END_TEST

/* A change is passed on at once, then no more than once an interval, and
 * one held back by the interval goes out when the interval is over, even
 * with nothing new. */
START_TEST(the_pace_passes_changes_at_most_once_an_interval)
{
	struct kd_status_pace pace;
	struct kd_status s = { .source = KD_STATUS_DEVICE };

	kd_status_pace_init(&pace, 1000, false);
	ck_assert(kd_status_pace_due(&pace, &s, 5000, false));
	ck_assert(!kd_status_pace_due(&pace, &s, 9000, false)); /* nothing new */
	s.tick = 99;
	ck_assert(!kd_status_pace_due(&pace, &s, 9000, false)); /* the tick alone */
	s.to_debugger = 1;
	ck_assert(kd_status_pace_due(&pace, &s, 9001, false));
	unsigned passed = 0;
	for (uint64_t now = 9002; now < 12001; now += 10) {
		s.to_debugger++; /* a packet every 10 ms: a flood */
		passed += kd_status_pace_due(&pace, &s, now, false);
	}
	ck_assert_uint_eq(passed, 2); /* at 10002 and 11002 */
	ck_assert(!kd_status_pace_due(&pace, &s, 12001, false));
	ck_assert(kd_status_pace_due(&pace, &s, 12002, false)); /* the last one, held back */
	ck_assert(!kd_status_pace_due(&pace, &s, 20000, false));
	/* The last word goes at once. */
	s.resets = 1;
	ck_assert(kd_status_pace_due(&pace, &s, 20001, true));

	kd_status_pace_init(&pace, 250, true);
	ck_assert(kd_status_pace_due(&pace, &s, 0, false));
	s.tick++;
	ck_assert(kd_status_pace_due(&pace, &s, 250, false)); /* the tick counts here */
}
END_TEST

START_TEST(the_line_for_people_says_everything_and_cuts_only_whole_parts)
{
	char out[400];
	const struct kd_status s = { .source = KD_STATUS_DEVICE, .attached = true,
				     .to_debugger = 1234567, .from_debugger = 1, .resets = 1,
				     .tick = 8000000 };

	kd_status_describe(&s, "/tmp/vm/kd.sock", 4000000, out, sizeof(out));
	ck_assert_str_eq(out, "/tmp/vm/kd.sock: debugger attached; 1234567 packets to the "
			      "debugger, 1 from it; 1 reset; 0 retransmitted; 0 break-ins; "
			      "guest at 2.00 s");
	/* Narrower: the emulated time and the break-ins go before the
	 * address, and no number is ever cut. */
	for (size_t size = sizeof(out); size > 0; size--) {
		kd_status_describe(&s, "/tmp/vm/kd.sock", 4000000, out, size);
		ck_assert_uint_lt(strlen(out), size);
		ck_assert_msg(!strstr(out, "123456") || strstr(out, "1234567 packets"), "%s", out);
		if (strstr(out, "break-ins"))
			ck_assert_msg(strstr(out, "/tmp/vm/kd.sock: "), "%s", out);
	}
	kd_status_describe(&s, "/tmp/vm/kd.sock", 4000000, out, 110);
	ck_assert_str_eq(out, "/tmp/vm/kd.sock: debugger attached; 1234567 packets to the "
			      "debugger, 1 from it; 1 reset; 0 retransmitted");
	kd_status_describe(&s, "/tmp/vm/kd.sock", 4000000, out, 90);
	ck_assert_str_eq(out, "debugger attached; 1234567 packets to the debugger, 1 from it; "
			      "1 reset; 0 retransmitted");
	/* The relay counts what it decodes, and knows no tick. */
	const struct kd_status relay = { .source = KD_STATUS_RELAY, .retransmitted = 2 };
	kd_status_describe(&relay, NULL, 4000000, out, sizeof(out));
	ck_assert_str_eq(out, "no debugger; 0 packets to the debugger, 0 from it; 0 resets; "
			      "2 resends asked; 0 break-ins");
}
END_TEST

/* Into a pipe: plain lines, only on a change, at most once a second; the
 * end is one line of its own. */
START_TEST(into_a_pipe_only_changes_are_written)
{
	struct kd_status_display d;
	struct kd_status s = { .source = KD_STATUS_DEVICE };
	char out[KD_STATUS_TEXT_MAX];
	unsigned lines = 0;

	kd_status_display_init(&d, false, 0, "bxkd: link ", "/tmp/kd.sock", 4000000);
	kd_status_display_update(&d, &s, 0, out, sizeof(out));
	ck_assert_str_eq(out, "bxkd: link /tmp/kd.sock: no debugger; 0 packets to the debugger, "
			      "0 from it; 0 resets; 0 retransmitted; 0 break-ins; guest at 0.00 s\n");
	for (uint64_t now = 1; now <= 10000; now++) {
		s.tick += 4000; /* the guest runs: no line for that */
		if (now >= 3000 && now < 6000)
			s.to_debugger++;
		kd_status_display_update(&d, &s, now, out, sizeof(out));
		lines += out[0] != '\0';
		ck_assert(!out[0] || !strchr(out, '\r'));
	}
	/* 3000, 4000, 5000, and the last count at 6000. */
	ck_assert_uint_eq(lines, 4);
	kd_status_display_clear(&d, out, sizeof(out));
	ck_assert_str_eq(out, "");
	kd_status_display_end(&d, &s, out, sizeof(out));
	ck_assert_str_eq(out, "bxkd: link at the end, /tmp/kd.sock: no debugger; 3000 packets to "
			      "the debugger, 0 from it; 0 resets; 0 retransmitted; 0 break-ins; "
			      "guest at 10.00 s\n");
}
END_TEST

/* On a terminal: one line rewritten in place, no wider than the terminal,
 * erased before other output and drawn again after it. */
START_TEST(on_a_terminal_one_line_is_rewritten_in_place)
{
	struct kd_status_display d;
	struct kd_status s = { .source = KD_STATUS_DEVICE, .attached = true };
	char out[KD_STATUS_TEXT_MAX];

	kd_status_display_init(&d, true, 80, "bxkd: link ", "/tmp/kd.sock", 4000000);
	kd_status_display_update(&d, &s, 0, out, sizeof(out));
	/* 80 columns: the address is printed above; the counts matter more. */
	ck_assert_str_eq(out, "\r\033[Kbxkd: link debugger attached; 0 packets to the debugger, 0 "
			      "from it; 0 resets");
	kd_status_display_init(&d, true, 160, "bxkd: link ", "/tmp/kd.sock", 4000000);
	kd_status_display_update(&d, &s, 0, out, sizeof(out));
	ck_assert_msg(!strncmp(out, "\r\033[Kbxkd: link /tmp/kd.sock: debugger attached; 0 packets",
			       strlen("\r\033[Kbxkd: link /tmp/kd.sock: debugger attached; 0 packets")),
		      "%s", out);
	ck_assert(!strchr(out, '\n'));
	ck_assert_uint_lt(strlen(out) - strlen("\r\033[K"), 160);
	s.tick = 400000;
	kd_status_display_update(&d, &s, 100, out, sizeof(out));
	ck_assert_str_eq(out, ""); /* within 250 ms */
	kd_status_display_update(&d, &s, 250, out, sizeof(out));
	ck_assert(out[0] == '\r'); /* the guest's time moves the line */
	kd_status_display_clear(&d, out, sizeof(out));
	ck_assert_str_eq(out, "\r\033[K");
	kd_status_display_clear(&d, out, sizeof(out));
	ck_assert_str_eq(out, ""); /* nothing left to erase */
	kd_status_display_update(&d, &s, 260, out, sizeof(out));
	ck_assert(out[0] == '\r'); /* drawn again at once */
	kd_status_display_end(&d, &s, out, sizeof(out));
	ck_assert_msg(!strncmp(out, "\r\033[Kbxkd: link at the end, /tmp/kd.sock: debugger attached",
			       strlen("\r\033[Kbxkd: link at the end, /tmp/kd.sock: debugger "
				      "attached")) &&
			      out[strlen(out) - 1] == '\n',
		      "%s", out);
}
END_TEST

START_TEST(the_file_is_replaced_whole)
{
	char dir[] = "/tmp/bxkd-status-XXXXXX", path[100], fresh[110], why[300];
	struct kd_status back;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kd-status", dir);
	snprintf(fresh, sizeof(fresh), "%s.new", path);
	ck_assert(!kd_status_read_file(path, &back));
	ck_assert_msg(kd_status_write_file(path, &busy, why, sizeof(why)), "%s", why);
	ck_assert(kd_status_read_file(path, &back));
	ck_assert(kd_status_same(&back, &busy, true));
	ck_assert_int_ne(access(fresh, F_OK), 0);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("bxkd-status 1 source=dev", f);
	fclose(f);
	ck_assert(!kd_status_read_file(path, &back));
	remove(path);
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert(!kd_status_write_file("/nonexistent/dir/kd-status", &busy, why, sizeof(why)));
	ck_assert_msg(strstr(why, "/nonexistent/dir/kd-status.new"), "%s", why);
}
END_TEST

BXKD_SUITE(kdstatus,
	testcases_add(s, "line", 0, TESTS(
		a_status_line_reads_back_the_same, anything_else_is_refused,
		the_pace_passes_changes_at_most_once_an_interval,
		the_line_for_people_says_everything_and_cuts_only_whole_parts,
		into_a_pipe_only_changes_are_written, on_a_terminal_one_line_is_rewritten_in_place,
		the_file_is_replaced_whole));
)
