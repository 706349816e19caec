/*
 * demo_session.c -- `bxkd demo` driving its session: each command to
 * bxkd-dbg in turn, and what the tap, the guest and bxkd-dbg say about it
 * shown in the order it happens.
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"

/* Transcript lines are cut here (the trace file has them whole). */
#define WIDTH 118
/* How long an answer waits at most for the tap's line about its reply. */
#define TAP_CATCH_UP_MS 50

/* Prints `text` after `prefix`, cut to the transcript's width between
 * words, so that what is shown of a number, an address or a name is all
 * of it; " ..." says that more followed. A single word wider than the
 * line is shown whole. */
void demo_say(const char *prefix, const char *text, size_t length)
{
	size_t room = WIDTH - strlen(prefix), keep = room - 4;

	if (length <= room) {
		printf("%s%.*s\n", prefix, (int)length, text);
		return;
	}
	while (keep && text[keep] != ' ')
		keep--;
	while (keep && text[keep - 1] == ' ')
		keep--;
	if (keep)
		printf("%s%.*s ...\n", prefix, (int)keep, text);
	else
		printf("%s%.*s\n", prefix, (int)length, text);
}

void demo_send_next(struct demo *d)
{
	if (d->next >= d->script.count || d->failed) {
		if (d->dbg_in >= 0) {
			close(d->dbg_in);
			d->dbg_in = -1;
		}
		return;
	}
	const char *command = d->script.commands[d->next++];
	printf("dbg>   %s\n", command);
	fflush(stdout);
	/* quit answers nothing: the session ends here. */
	if (!strcmp(command, "quit")) {
		d->answered += 1 + (d->script.count - d->next);
		d->next = d->script.count;
		d->last_answer = bxkd_now();
		close(d->dbg_in);
		d->dbg_in = -1;
		return;
	}
	d->awaits_exit = !strncmp(command, "wait-exit", 9);
	/* "! COMMAND": the inner command's line, then the verdict's. */
	d->lines_wanted = command[0] == '!' && (command[1] == ' ' || command[1] == '\t') ? 2 : 1;
	if (!d->first_sent)
		d->first_sent = bxkd_now();
	d->state_changes_at_send = d->state_changes;
	d->expect_stop = !strncmp(command, "connect", 7) ||
			 (!strncmp(command, "wait", 4) && !d->awaits_exit) ||
			 !strncmp(command, "step", 4) || !strncmp(command, "breakin", 7);
	size_t length = strlen(command);
	if (write(d->dbg_in, command, length) != (ssize_t)length || write(d->dbg_in, "\n", 1) != 1) {
		printf("       (bxkd-dbg is gone: %s)\n", strerror(errno));
		d->failed = true;
	}
}

/* --verbose: why a frame of the attach is there. The first stop goes out
 * with the SYNC id as soon as the debugger connects, the debugger resets
 * the link, and the target sends the same stop again after its RESET. */
static void explain_attach(struct demo *d, bool d2t, const char *type)
{
	const char *note = NULL;
	bool data = strncmp(type, "ACK", 3) && strncmp(type, "RESET", 5) &&
		    strncmp(type, "RESEND", 6) && strncmp(type, "break-in", 8);

	if (!strncmp(type, "RESET", 5)) {
		if (!d2t)
			note = "(the kernel's side agrees, and sends its last packet again)";
		else if (!d->resets_unanswered)
			note = "(the debugger starts the link afresh: both sides reset their packet ids)";
		else
			note = "(again: the debugger repeats its RESET until it is answered)";
		d->resets_unanswered = d2t ? d->resets_unanswered + 1 : 0;
		d->reset_answered = !d2t;
	} else if (!d2t && data && d->reset_answered) {
		note = "(the same packet again, resent after the RESET: this copy is acknowledged)";
		d->reset_answered = false;
	} else if (!d2t && data && strstr(type, " SYNC ")) {
		note = "(sent as the debugger connects; SYNC: the first id of the kernel's numbering)";
	} else if (!strncmp(type, "break-in", 8)) {
		note = "(the byte 'b': stop if running)";
	}
	if (note)
		demo_say("        ", note, strlen(note));
}

/* A line from bxkd-tap: all of it to the trace file; requests, replies
 * and state changes, shortened, to the transcript; with --verbose every
 * frame, with --bytes the bytes under them. */
static void tap_line(void *ctx, const char *text, size_t length)
{
	struct demo *d = ctx;
	char line[4200];

	if (d->trace)
		fprintf(d->trace, "%.*s\n", (int)length, text);
	if (length >= sizeof(line))
		length = sizeof(line) - 1;
	memcpy(line, text, length);
	line[length] = '\0';
	/* "    0.505745 d2t STATE_MANIPULATE id=... length=56 checksum ok trailer ok: GetVersion request" */
	char *p = line + strspn(line, " ");
	/* bxkd-tap --bytes: "             d2t   0000  30 30 30 30 ..." */
	if (!strncmp(p, "d2t   ", 6) || !strncmp(p, "t2d   ", 6)) {
		if (d->bytes)
			demo_say("        ", p, strlen(p));
		return;
	}
	p += strcspn(p, " ");
	p += strspn(p, " ");
	bool d2t = !strncmp(p, "d2t ", 4), t2d = !strncmp(p, "t2d ", 4);
	if (!d2t && !t2d)
		return;
	char *type = p + 4;
	bool manipulate = !strncmp(type, "STATE_MANIPULATE ", 17);
	bool state_change = !strncmp(type, "STATE_CHANGE", 12);
	if (!manipulate && !state_change) {
		if (d->verbose) {
			demo_say(d2t ? "kd  -> " : "kd  <- ", type, strlen(type));
			explain_attach(d, d2t, type);
		}
		return;
	}
	char *message = strstr(type, ": ");
	bool damaged = strstr(type, " BAD") != NULL;
	char shown[4300];
	if (!message || damaged || d->verbose) /* a damaged frame is shown whole */
		snprintf(shown, sizeof(shown), "%s", type);
	else
		snprintf(shown, sizeof(shown), "%s%s", state_change ? "state change: " : "",
			 message + 2);
	demo_say(d2t ? "kd  -> " : "kd  <- ", shown, strlen(shown));
	if (d->verbose)
		explain_attach(d, d2t, type);
	fflush(stdout);
	/* A continue has no reply: a state change follows, or nothing. */
	if (state_change)
		d->state_changes++;
	else if (d2t && message && strncmp(message + 2, "Continue", 8))
		d->requests++;
	else if (t2d)
		d->replies++;
}

/* Before an answer is shown: the tap's lines about it, if they are still
 * on their way (a reply owed, a stop the answer reports). */
static void tap_catch_up(struct demo *d)
{
	double give_up = bxkd_now() + TAP_CATCH_UP_MS / 1000.0;

	for (;;) {
		bool owed = d->requests > d->replies ||
			    (d->expect_stop && d->state_changes == d->state_changes_at_send);
		struct pollfd t = { d->tap_out, POLLIN, 0 };
		double left = give_up - bxkd_now();
		if (d->tap_out < 0 || poll(&t, 1, owed && left > 0 ? (int)(left * 1000) + 1 : 0) <= 0)
			break;
		if (!bxkd_lines_read(&d->tap_out, &d->tap_lines, tap_line, d))
			break;
	}
	/* A request sent twice (a RESEND) has one reply: start even. */
	d->replies = d->requests;
	d->expect_stop = false;
}

static void guest_line(void *ctx, const char *text, size_t length)
{
	(void)ctx;
	struct bxvm_console_line parsed;
	enum bxvm_console_kind kind = bxvm_parse_console_line(text, length, &parsed);

	/* The verdict comes at the end. */
	if (kind == BXVM_LINE_RESULT || kind == BXVM_LINE_SUMMARY)
		return;
	demo_say("guest  ", text, length);
	fflush(stdout);
}


/* One answer on its own line; false if it was not the one wanted. */
static bool show_answer(struct demo *d, const char *line, size_t length)
{
	struct json_object *answer = json_tokener_parse(line);
	bool ok;

	if (!answer || !json_object_is_type(answer, json_type_object)) {
		demo_say("       ", line, length);
		json_object_put(answer);
		return false;
	}
	fputs("       ", stdout);
	if (d->first_line) {
		/* "!": the inner command had to fail. */
		struct json_object *inner = json_tokener_parse(d->first_line);
		ok = inner && demo_answer_ok(answer);
		demo_render_answer(stdout, ok ? inner : answer);
		if (ok)
			fputs(" (as expected)", stdout);
		json_object_put(inner);
	} else {
		ok = demo_answer_ok(answer);
		demo_render_answer(stdout, answer);
	}
	fputc('\n', stdout);
	json_object_put(answer);
	return ok;
}

static void dbg_line(void *ctx, const char *text, size_t length)
{
	struct demo *d = ctx;
	char *line = bxkd_xmalloc(length + 1);

	memcpy(line, text, length);
	line[length] = '\0';
	if (d->lines_wanted == 0) { /* nothing was asked: say it anyway */
		demo_say("       ", line, length);
		free(line);
		return;
	}
	if (--d->lines_wanted) { /* the inner command of "!" */
		free(d->first_line);
		d->first_line = line;
		return;
	}
	d->answered++;
	d->last_answer = bxkd_now();
	if (d->answered == 1)
		d->first_answer = d->last_answer;
	if (!show_answer(d, line, length))
		d->failed = true;
	fflush(stdout);
	free(d->first_line);
	d->first_line = NULL;
	free(line);
	demo_send_next(d);
}

/* ---- the loop ------------------------------------------------------------------------------ */

static void drain(int *fd, struct bxkd_lines *lines, bxkd_line_fn line, void *ctx)
{
	while (*fd >= 0 && bxkd_lines_read(fd, lines, line, ctx))
		;
}

static void stop_tap(struct demo *d)
{
	bxkd_process_stop(&d->tap, 1000);
	drain(&d->tap_out, &d->tap_lines, tap_line, d);
}

/* What ends or cuts short the session, looked at before each wait. */
static void keep_the_chain_in_step(struct demo *d)
{
	struct bxvm *vm = &d->vm;

	/* Once bxkd-dbg is done, nobody answers the kernel any more: the tap
	 * goes too, so that the device drops the kernel's last prints at once
	 * instead of retrying them to nobody. */
	if (d->dbg_out < 0 && d->tap.pid)
		stop_tap(d);
	/* The tap stands for the machine: when the machine ends, so does the
	 * tap, and a wait-exit in flight is answered. */
	if (vm->out_fd < 0 && d->awaits_exit && d->tap.pid)
		stop_tap(d);
	/* A machine that ended takes the session with it. */
	if (vm->out_fd < 0 && d->dbg_out >= 0 && d->dbg_in >= 0 && !d->failed && !d->awaits_exit) {
		printf("bxkd demo: Bochs ended in the middle of the session\n");
		d->failed = true;
		demo_send_next(d);
		bxkd_process_stop(&d->dbg, 500);
		drain(&d->dbg_out, &d->dbg_lines, dbg_line, d);
	}
	/* A failed command leaves the kernel stopped for good. */
	if (d->failed && d->dbg_in < 0 && d->dbg_out < 0 && vm->bochs.pid) {
		bxvm_stop(vm);
		d->stopped_bochs = true;
	}
}

/* Waits for any of the three outputs and takes what came. */
static void take_output(struct demo *d)
{
	struct pollfd fds[3];
	int *which[3];
	nfds_t n = 0;

	/* The tap first: a request is decoded before its answer arrives. */
	int *outputs[3] = { &d->tap_out, &d->vm.out_fd, &d->dbg_out };
	for (int i = 0; i < 3; i++) {
		if (*outputs[i] >= 0) {
			which[n] = outputs[i];
			fds[n++] = (struct pollfd){ *outputs[i], POLLIN, 0 };
		}
	}
	if (poll(fds, n, 100) <= 0)
		return;
	for (nfds_t i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		if (which[i] == &d->tap_out) {
			bxkd_lines_read(&d->tap_out, &d->tap_lines, tap_line, d);
		} else if (which[i] == &d->vm.out_fd) {
			bxvm_pump(&d->vm, guest_line, NULL);
		} else {
			/* The tap passes bytes on before it decodes them, so an
			 * answer can overtake the tap's line about its reply. */
			tap_catch_up(d);
			if (!bxkd_lines_read(&d->dbg_out, &d->dbg_lines, dbg_line, d) &&
			    d->answered < d->script.count)
				d->failed = true; /* it ended before answering everything */
		}
	}
}

void demo_drive(struct demo *d)
{
	double deadline = d->vm.started + (double)d->timeout_seconds;

	while (d->vm.out_fd >= 0 || d->dbg_out >= 0) {
		if (bxkd_signal) {
			d->vm.interrupted = true;
			break;
		}
		if (bxkd_now() >= deadline) {
			d->timed_out = d->vm.timed_out = true;
			break;
		}
		keep_the_chain_in_step(d);
		take_output(d);
	}
}

void demo_wind_down(struct demo *d)
{
	struct bxvm *vm = &d->vm;

	if (d->dbg_in >= 0)
		close(d->dbg_in);
	d->dbg_in = -1;
	bxkd_process_stop(&d->dbg, 1000);
	stop_tap(d);
	if (vm->bochs.pid && (d->failed || vm->timed_out || vm->interrupted)) {
		bxvm_stop(vm);
		d->stopped_bochs = d->failed && !vm->timed_out && !vm->interrupted;
	}
	if (vm->started)
		bxvm_finish(vm);
}
