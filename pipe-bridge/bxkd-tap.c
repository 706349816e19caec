/*
 * bxkd-tap -- sits on a KD serial link between a target and its debugger,
 * passes every byte on unchanged and prints what the bytes say: KDCOM
 * frames, KD messages, break-ins, garbage, and either side coming and
 * going. For watching the serial baseline and for learning the protocol.
 *
 * Bytes are relayed before they are decoded, so printing never delays
 * them; decoding is kdtrace.c, one decoder per direction. Attaching has
 * two races a plain byte pipe loses, and the tap does not: a debugger that
 * comes before the target (Bochs' COM1 not listening yet) has its break-in
 * and RESET kept and delivered when the target connects, and a debugger
 * that comes while the target is half-way through a packet (a kernel
 * resending its boot-time symbol load) gets bytes only from the next
 * frame boundary, which the target's decoder knows.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "kdep.h"
#include "kdstatus.h"
#include "cli.h"
#include "log.h"
#include "kdtrace.h"
#include "process.h"

/* One read from an endpoint. */
#define RELAY_CHUNK 65536u
/* Longest sleep with nothing to do. A client endpoint retries its
 * connection (every 500 ms) only when asked, so this bounds how late. */
#define IDLE_POLL_MS 100
/* A side silent this long has ended its burst: report its garbage now. */
#define QUIET_MS 50
/* A side silent this long in the middle of a frame has lost it: real
 * receivers give up far sooner (kdbridge after 250 ms by default). */
#define FRAME_GIVE_UP_MS 1000
/* Pause after a wake-up that brought nothing. */
#define SPIN_PAUSE_NS 1000000L
/* Room for an endpoint's address in a line. */
#define ADDRESS_TEXT_MAX 1024u
/* What a debugger may send before the target is there: its break-in and
 * RESET, and a request or two. */
#define PENDING_MAX 4096u

struct tap;

struct side {
	const char *name; /* "target", "debugger" */
	const char *spec;
	struct tap *tap;
	struct kdep *ep;
	struct kdtrace trace; /* the bytes this side sends */
	uint64_t last_byte_ms;
	bool paused; /* kdtrace_pause() done since the last byte */
	/* Bytes meant for this side while it was away: a serial line with
	 * nobody at the end loses them, and so do we. */
	uint64_t undelivered;
	bool undelivered_said;
	/* The target only: bytes from a debugger that came before the target
	 * did, given to it when it connects. A debugger sends its RESET once
	 * and waits for the answer; dropping it would leave both waiting. */
	bool keeps_pending;
	uint8_t pending[PENDING_MAX];
	size_t pending_length;
	/* This side joined while the other was in the middle of a frame: it
	 * gets nothing until the next frame begins, so that it never sees
	 * the tail of a packet whose head it missed. */
	bool awaiting_boundary;
	uint64_t withheld;
	unsigned connections;
	/* What kdep said during a kdep_wait(), held until we know whether it
	 * announced a connection change, which we report in our own words. */
	bool waiting;
	char held[512];
};

struct tap {
	bool json;
	bool quiet;
	const char *ready_file; /* made when the target first connects */
	const char *status_file; /* --status-file: the live counts (kdstatus.h) */
	struct kd_status_pace status_pace;
	bool bytes; /* --bytes: each frame's bytes after its line */
	double start; /* seconds, CLOCK_MONOTONIC */
	struct side target, debugger;
};

/* Since the tap started: the time every line carries. */
static double seconds(const struct tap *tap)
{
	return bxkd_now() - tap->start;
}

/* ---- output ------------------------------------------------------------------ */

/* A decoded line: text gets the time in front, JSON a "time" member
 * (trace_members). */
static void print_event_bytes(struct side *s);

static void trace_line(void *ctx, const char *text)
{
	struct side *s = ctx;
	struct tap *tap = s->tap;

	if (tap->json)
		printf("%s\n", text);
	else
		printf("%12.6f %s\n", seconds(tap), text);
	if (tap->bytes)
		print_event_bytes(s);
}

static void add_time(const struct tap *tap, struct json_object *line)
{
	json_object_object_add(line, "time", kdtrace_json_decimal(seconds(tap), 6));
}

static void trace_members(void *ctx, struct json_object *line)
{
	const struct side *s = ctx;

	add_time(s->tap, line);
}

/* A JSON line of the tap's own, begun with the time and its kind. */
static struct json_object *json_line(const struct tap *tap, const char *kind)
{
	struct json_object *line = json_object_new_object();

	add_time(tap, line);
	json_object_object_add(line, "kind", json_object_new_string(kind));
	return line;
}

static void print_json_line(struct json_object *line)
{
	printf("%s\n", kdtrace_json_text(line));
	json_object_put(line);
}

/* --bytes: the frame or break-in just reported, as it was on the wire,
 * 16 bytes a line; in JSON one "bytes" line with them all. */
static void print_event_bytes(struct side *s)
{
	static uint8_t frame[KDCOM_MAX_FRAME];
	static char hex[3 * KDCOM_MAX_FRAME];
	enum kdtrace_event_kind kind;
	size_t length = kdtrace_event_bytes(&s->trace, frame, sizeof(frame), &kind);
	const char *dir = kdtrace_direction_tag(s->trace.config.direction);

	if (!length)
		return;
	if (s->tap->json) {
		struct json_object *line = json_line(s->tap, "bytes");
		json_object_object_add(line, "dir", json_object_new_string(dir));
		kdtrace_hex(hex, sizeof(hex), frame, length);
		json_object_object_add(line, "hex", json_object_new_string(hex));
		print_json_line(line);
		return;
	}
	for (size_t at = 0; at < length; at += KDTRACE_HEX_ROW) {
		size_t n = length - at < KDTRACE_HEX_ROW ? length - at : KDTRACE_HEX_ROW;
		kdtrace_hex(hex, sizeof(hex), frame + at, n);
		printf("%12s %s   %04zx  %s\n", "", dir, at, hex);
	}
}

/* An event at one side: "connected", "disconnected" or "note" (text
 * from its endpoint: "target: waiting for a listener at ..."). */
static void side_event(struct side *s, const char *event, const char *text)
{
	struct tap *tap = s->tap;

	if (tap->json) {
		struct json_object *line = json_line(tap, "endpoint");
		json_object_object_add(line, "side", json_object_new_string(s->name));
		json_object_object_add(line, "event", json_object_new_string(event));
		json_object_object_add(line, "text", kdtrace_json_bytes(text, strlen(text)));
		print_json_line(line);
	} else {
		printf("%12.6f %s%s %s\n", seconds(tap), s->name, strcmp(event, "note") ? "" : ":",
		       text);
	}
}

static void endpoint_log(void *ctx, enum bxkd_log_level level, const char *message)
{
	struct side *s = ctx;

	(void)level;
	if (s->waiting) {
		if (s->held[0] && !s->tap->quiet)
			side_event(s, "note", s->held);
		snprintf(s->held, sizeof(s->held), "%s", message);
	} else if (!s->tap->quiet) {
		side_event(s, "note", message);
	}
}

/* ---- relaying ------------------------------------------------------------------- */

static void deliver(struct side *to, const uint8_t *bytes, size_t length)
{
	if (kdep_connected(to->ep)) {
		kdep_write(to->ep, bytes, length);
		return;
	}
	size_t kept = 0;
	if (to->keeps_pending) {
		kept = PENDING_MAX - to->pending_length;
		if (kept > length)
			kept = length;
		memcpy(to->pending + to->pending_length, bytes, kept);
		to->pending_length += kept;
	}
	to->undelivered += length - kept;
	if (!to->undelivered_said) {
		side_event(to, "note",
			   to->keeps_pending ? "not connected: bytes for it are kept until it is"
					     : "not connected: bytes for it are dropped until it is");
		to->undelivered_said = true;
	}
}

/* The launcher's cue that a debugger's bytes now reach the target. */
static void write_ready_file(const struct tap *tap)
{
	FILE *f = fopen(tap->ready_file, "w");

	if (!f || fprintf(f, "%s\n", kdep_address(tap->target.ep)) < 0 || fclose(f) != 0)
		bxkd_warn("cannot write %s: %s", tap->ready_file, strerror(errno));
}

static void connected(struct side *s)
{
	struct tap *tap = s->tap;
	char text[ADDRESS_TEXT_MAX];

	snprintf(text, sizeof(text), "connected (%s)", kdep_address(s->ep));
	if (s == &tap->target && tap->ready_file && s->connections++ == 0)
		write_ready_file(tap);
	side_event(s, "connected", text);
	s->undelivered_said = false;
	if (s->pending_length) {
		snprintf(text, sizeof(text), "%zu bytes sent before it was there delivered now",
			 s->pending_length);
		side_event(s, "note", text);
		kdep_write(s->ep, s->pending, s->pending_length);
		s->pending_length = 0;
	}
	if (s == &tap->debugger && !kdtrace_between_frames(&tap->target.trace))
		s->awaiting_boundary = true;
}

static void disconnected(struct side *s)
{
	struct tap *tap = s->tap;
	char why[64];

	snprintf(why, sizeof(why), "the %s disconnected", s->name);
	kdtrace_break(&s->trace, why);
	side_event(s, "disconnected", "disconnected");
	/* What a debugger that has gone sent is no request of anyone's now. */
	if (s == &tap->debugger) {
		tap->target.undelivered += tap->target.pending_length;
		tap->target.pending_length = 0;
	}
}

/* Bytes from `from` that `to`, having joined mid-frame, must not get:
 * decoded one by one up to where the next frame can begin; returns how
 * many. */
static size_t withhold(struct side *from, struct side *to, const uint8_t *bytes, size_t length)
{
	size_t skipped = 0;

	while (skipped < length && !kdtrace_between_frames(&from->trace))
		kdtrace_feed(&from->trace, bytes + skipped++, 1);
	to->withheld += skipped;
	to->undelivered += skipped;
	if (kdtrace_between_frames(&from->trace)) {
		char text[128];
		to->awaiting_boundary = false;
		snprintf(text, sizeof(text),
			 "joined in the middle of a packet: %" PRIu64 " bytes of it held back",
			 to->withheld);
		side_event(to, "note", text);
		to->withheld = 0;
	}
	return skipped;
}

/* Takes what one side has now and passes it to the other; true if
 * anything happened. The bytes relayed are left in buf (*length of them)
 * for decoding once both sides have been served. */
static bool pump(struct side *from, struct side *to, uint8_t *buf, size_t *length)
{
	from->waiting = true;
	from->held[0] = '\0';
	enum kdep_status status = kdep_wait(from->ep, 0, buf, RELAY_CHUNK, length);
	from->waiting = false;
	bool changed = status == KDEP_CONNECTED || status == KDEP_DISCONNECTED;
	if (from->held[0] && !changed && !from->tap->quiet)
		side_event(from, "note", from->held);

	switch (status) {
	case KDEP_DATA: {
		size_t skipped = to->awaiting_boundary ? withhold(from, to, buf, *length) : 0;
		deliver(to, buf + skipped, *length - skipped);
		from->last_byte_ms = bxkd_now_ms();
		from->paused = false;
		/* withhold() has decoded what it held back; the rest waits. */
		memmove(buf, buf + skipped, *length - skipped);
		*length -= skipped;
		return true;
	}
	case KDEP_CONNECTED:
		connected(from);
		return true;
	case KDEP_DISCONNECTED:
		disconnected(from);
		return true;
	default:
		return false;
	}
}

/* Ends garbage runs and lost frames of a side gone quiet; returns how
 * long until it next needs looking at. */
static int check_quiet(struct side *s, uint64_t now)
{
	uint64_t quiet = now - s->last_byte_ms;

	if (!s->paused && quiet >= QUIET_MS) {
		kdtrace_pause(&s->trace);
		s->paused = true;
	}
	if (kdtrace_in_frame(&s->trace) && quiet >= FRAME_GIVE_UP_MS) {
		char why[64];
		snprintf(why, sizeof(why), "nothing from the %s for %d ms", s->name,
			 FRAME_GIVE_UP_MS);
		kdtrace_break(&s->trace, why);
	}
	if (!s->paused)
		return (int)(QUIET_MS - quiet);
	if (kdtrace_in_frame(&s->trace))
		return (int)(FRAME_GIVE_UP_MS - quiet);
	return IDLE_POLL_MS;
}

/* Sleeps until either side has something, or something is due; true if
 * poll() said something is ready. */
static bool wait_for_either(struct tap *tap, int timeout_ms)
{
	const struct side *sides[] = { &tap->target, &tap->debugger };
	struct pollfd fds[2 * KDEP_MAX_FDS];
	nfds_t n = 0;

	for (size_t i = 0; i < 2; i++) {
		int raw[KDEP_MAX_FDS];
		size_t count = kdep_fds(sides[i]->ep, raw);
		for (size_t j = 0; j < count; j++)
			fds[n++] = (struct pollfd){ raw[j], POLLIN, 0 };
	}
	int ready = poll(fds, n, timeout_ms);
	if (ready < 0 && errno != EINTR)
		bxkd_warn("poll: %s", strerror(errno));
	return ready > 0;
}

/* What the relay has seen, into --status-file when due. */
static void report_status(struct tap *tap, bool last_word)
{
	const struct kdtrace_stats *d2t = &tap->debugger.trace.stats;
	const struct kdtrace_stats *t2d = &tap->target.trace.stats;
	char why[600];

	if (!tap->status_file)
		return;
	const struct kd_status status = {
		.source = KD_STATUS_RELAY,
		.attached = kdep_connected(tap->debugger.ep),
		.to_debugger = t2d->data_frames,
		.from_debugger = d2t->data_frames,
		.retransmitted = d2t->resends + t2d->resends,
		.resets = d2t->resets + t2d->resets,
		.breakins = d2t->breakins,
	};
	if (kd_status_pace_due(&tap->status_pace, &status, bxkd_now_ms(), last_word) &&
	    !kd_status_write_file(tap->status_file, &status, why, sizeof(why))) {
		bxkd_warn("%s; no more status", why);
		tap->status_file = NULL;
	}
}

static void relay(struct tap *tap)
{
	static uint8_t from_target[RELAY_CHUNK], from_debugger[RELAY_CHUNK];
	bool ready = false;

	while (!bxkd_signal) {
		/* Both directions relayed before either is decoded: decoding
		 * stays off the path a request and its reply take. */
		size_t to_debugger = 0, to_target = 0;
		bool busy = pump(&tap->target, &tap->debugger, from_target, &to_debugger);
		busy |= pump(&tap->debugger, &tap->target, from_debugger, &to_target);
		kdtrace_feed(&tap->target.trace, from_target, to_debugger);
		kdtrace_feed(&tap->debugger.trace, from_debugger, to_target);
		report_status(tap, false);
		uint64_t now = bxkd_now_ms();
		int due = check_quiet(&tap->target, now);
		int due_debugger = check_quiet(&tap->debugger, now);
		if (due_debugger < due)
			due = due_debugger;
		if (due > IDLE_POLL_MS)
			due = IDLE_POLL_MS;
		/* A descriptor that stays ready with nothing to read (a hung-up
		 * terminal) must not spin us at full speed. */
		if (!busy && ready)
			nanosleep(&(struct timespec){ .tv_nsec = SPIN_PAUSE_NS }, NULL);
		ready = !busy && wait_for_either(tap, due < 0 ? 0 : due);
	}
}

/* ---- start and end ------------------------------------------------------------------ */

static void summary(struct tap *tap)
{
	const struct kdtrace_stats *d2t = &tap->debugger.trace.stats;
	const struct kdtrace_stats *t2d = &tap->target.trace.stats;
	uint64_t bad_checksums = d2t->bad_checksums + t2d->bad_checksums;
	uint64_t resends = d2t->resends + t2d->resends;
	uint64_t resets = d2t->resets + t2d->resets;
	/* Ours while a side was away, kdep's while it was there but stalled. */
	uint64_t undelivered = tap->target.undelivered + tap->debugger.undelivered +
			       kdep_bytes_lost(tap->target.ep) + kdep_bytes_lost(tap->debugger.ep);
	const char *why = bxkd_signal_name(bxkd_signal);

	if (tap->json) {
		struct json_object *line = json_line(tap, "summary");
		const struct {
			const char *key;
			uint64_t value;
		} counts[] = {
			{ "d2t_bytes", d2t->bytes },	 { "d2t_frames", d2t->frames },
			{ "t2d_bytes", t2d->bytes },	 { "t2d_frames", t2d->frames },
			{ "bad_checksums", bad_checksums }, { "resends", resends },
			{ "resets", resets },		 { "undelivered", undelivered },
		};
		json_object_object_add(line, "signal", json_object_new_string(why));
		for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
			json_object_object_add(line, counts[i].key,
					       json_object_new_uint64(counts[i].value));
		print_json_line(line);
		return;
	}
	printf("bxkd-tap: %s after %.1f s; d2t %" PRIu64 " bytes %" PRIu64 " frames, t2d %" PRIu64
	       " bytes %" PRIu64 " frames; %" PRIu64 " bad checksums, %" PRIu64 " resends, %" PRIu64
	       " resets, %" PRIu64 " bytes undelivered\n",
	       why, seconds(tap), d2t->bytes, d2t->frames, t2d->bytes, t2d->frames, bad_checksums,
	       resends, resets, undelivered);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bxkd-tap [options] TARGET-ENDPOINT DEBUGGER-ENDPOINT\n"
		"Relays a KD serial link unchanged between a target (e.g. Bochs' COM1) and a\n"
		"debugger, and prints every KDCOM frame and KD message that passes, one line\n"
		"each, with the seconds since start and the direction (d2t, t2d). Two\n"
		"things are not passed at once: what a debugger sends before the target is\n"
		"connected is kept for the target (up to 4096 bytes), and a debugger that\n"
		"connects in the middle of a target's packet gets bytes from the next one on.\n"
		"\n"
		"  -j, --json    one JSON object per line instead of text\n"
		"  -q, --quiet   leave out the banner and the endpoints' notes; print only\n"
		"                the trace, connections and the summary\n"
		"  -r, --ready-file FILE  write the target's address into FILE once the\n"
		"                target is connected, from when a debugger's bytes reach it\n"
		"  -b, --bytes   after each frame's line, its bytes in hex as they passed\n"
		"  -s, --status-file FILE  keep the live counts in FILE (one line, rewritten\n"
		"                at most 4 times a second): debugger attached, data frames\n"
		"                each way, resends asked, resets, break-ins\n"
		"  -h, --help    this text\n"
		"\n"
		"Endpoints: unix:PATH and tcp:[HOST:]PORT listen, connect:PATH and\n"
		"tcp-connect:HOST:PORT connect (and reconnect), pty[:LINK] makes a terminal,\n"
		"tty:DEVICE opens one.\n"
		"Bochs with 'com1: enabled=1, mode=socket-server, dev=localhost:8888':\n"
		"  bxkd-tap tcp-connect:127.0.0.1:8888 unix:/tmp/kd.sock\n"
		"\n"
		"SIGINT or SIGTERM ends it with a summary. Exit status: 0 then, 1 if an\n"
		"endpoint cannot be opened, 2 on usage errors.\n");
}

static bool parse_side(struct tap *tap, struct side *s, const char *name, const char *spec,
		       enum kdtrace_direction direction, struct kdep_options *options)
{
	struct kdtrace_config config;
	char error[512];

	s->name = name;
	s->spec = spec;
	s->tap = tap;
	kdtrace_config_init(&config, direction, trace_line, s);
	config.format = tap->json ? KDTRACE_JSON : KDTRACE_TEXT;
	config.json_members = trace_members;
	kdtrace_init(&s->trace, &config);
	s->paused = true;
	if (!kdep_parse(spec, options, error, sizeof(error))) {
		bxkd_warn("%s endpoint %s", name, error);
		return false;
	}
	options->peer_name = name;
	return true;
}

static bool open_side(struct side *s, const struct kdep_options *options)
{
	char error[512];

	s->ep = kdep_open(options, &(struct bxkd_log){ endpoint_log, s }, error, sizeof(error));
	if (!s->ep) {
		bxkd_warn("%s endpoint: %s", s->name, error);
		return false;
	}
	return true;
}

static void banner(const struct tap *tap)
{
	const char *hint = kdep_attach_hint(tap->debugger.ep);

	bxkd_warn("target %s (%s), debugger %s (%s); Ctrl-C ends", tap->target.spec,
		  kdep_address(tap->target.ep), tap->debugger.spec, kdep_address(tap->debugger.ep));
	while (*hint) {
		size_t len = strcspn(hint, "\n");
		fprintf(stderr, "  %.*s\n", (int)len, hint);
		hint += len + (hint[len] == '\n');
	}
}

static bool take_option(void *ctx, int key, char *value)
{
	struct tap *tap = ctx;

	switch (key) {
	case 'j':
		tap->json = true;
		break;
	case 'r':
		tap->ready_file = value;
		break;
	case 'q':
		tap->quiet = true;
		break;
	case 'b':
		tap->bytes = true;
		break;
	case 's':
		tap->status_file = value;
		break;
	}
	return true;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "status-file", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct tap tap;
	struct kdep_options target_options, debugger_options;

	bxkd_set_program("bxkd-tap");
	int status = bxkd_cli_parse(argc, argv, options, 2, 2, take_option, &tap, usage);
	if (status != BXKD_CLI_GO_ON)
		return status;
	/* Bytes from the target travel towards the debugger, and back. */
	tap.target.keeps_pending = true;
	if (!parse_side(&tap, &tap.target, "target", argv[optind], KDTRACE_TO_DEBUGGER,
			&target_options) ||
	    !parse_side(&tap, &tap.debugger, "debugger", argv[optind + 1], KDTRACE_TO_TARGET,
			&debugger_options))
		return 2;
	/* One line at a time, also into a pipe: the trace is watched live. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	bxkd_catch_signals(false);
	tap.start = bxkd_now();
	if (!open_side(&tap.target, &target_options) ||
	    !open_side(&tap.debugger, &debugger_options)) {
		kdep_close(tap.target.ep);
		return 1;
	}
	if (!tap.quiet)
		banner(&tap);

	kd_status_pace_init(&tap.status_pace, KD_STATUS_WRITE_MS, false);
	report_status(&tap, true);
	relay(&tap);

	kdtrace_break(&tap.target.trace, "bxkd-tap stopped");
	kdtrace_break(&tap.debugger.trace, "bxkd-tap stopped");
	report_status(&tap, true);
	summary(&tap);
	kdep_close(tap.target.ep);
	kdep_close(tap.debugger.ep);
	return 0;
}
