/*
 * serve.c -- bxkd-replay serve: plays the target's side of a recorded
 * session to a live debugger, without Bochs, and checks every byte the
 * debugger sends against the recording.
 *
 * The session's ENDPOINT records, in file order, are the conversation as
 * the target's bridge saw it: a debugger attached, bytes to it (t2d), bytes
 * from it (d2t), it left. The bridge records t2d bytes before it writes
 * them and d2t bytes after it read them, so whatever the debugger sent in
 * answer to the target's bytes comes after those in the file: walking the
 * records in order, writing the t2d ones and waiting for the d2t ones,
 * never asks the debugger for an answer before it got the question. It may
 * send earlier than the recording shows (a debugger does not wait for the
 * target's ACK to queue its next frame), so what arrives is buffered and
 * compared as the recording gets to it.
 *
 * The other record kinds are the guest's side and are not needed here.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "kdep.h"
#include "kdtrace.h"
#include "cli.h"
#include "log.h"
#include "process.h"
#include "replay.h"
#include "session.h"
#include "session_file.h"

#define DEFAULT_TIMEOUT_SECONDS 30
#define MAX_TIMEOUT_SECONDS 86400
/* ENDPOINT records a report shows before the one that went wrong. */
#define CONTEXT_RECORDS 5
#define HEX_PER_LINE 16u
/* Lines of the hex diff either side of the first difference. */
#define HEX_CONTEXT_LINES 2u
/* After the first difference whatever else the debugger sends goes into
 * the report, so that its frame can be decoded whole: until it has been
 * quiet this long, and no longer than REPORT_MAX_MS in all. */
#define REPORT_QUIET_MS 200
#define REPORT_MAX_MS 1000
/* A debugger's bytes are buffered until the recording gets to them; one
 * that sends this much more than the target has taken is not following it. */
#define AHEAD_MAX (4u << 20)
#define READ_CHUNK 65536u
/* The received stream a report decodes: any frame fits many times. */
#define REPORT_DECODE_MAX (16u * KDCOM_MAX_FRAME)

struct serve {
	const char *path;
	const char *listen_spec; /* --listen */
	unsigned timeout_seconds;
	bool quiet;
	struct session_file file;
	struct kdep *ep;
	/* A pty cannot tell when a debugger opens or closes it. */
	bool terminal;
	/* The endpoint's last message: says why a connection went. */
	char endpoint_said[512];

	/* The recording's debugger is attached: between its ATTACHED record
	 * and its DETACHED one. */
	bool attached;
	size_t attached_record;
	/* The record at which the live debugger turned out to have left
	 * before the recording lets it (0: it has not). */
	size_t gone_record;
	/* The recording has attach and detach events: a terminal endpoint's
	 * has none, its bytes just flow. */
	bool seen_attach;

	/* What the debugger sent on this connection that the recording has
	 * not got to yet; received[0] is byte `received_base` of what it sent
	 * since it attached. */
	uint8_t *received;
	size_t received_length, received_capacity;
	uint64_t received_base;
	/* The limit was hit: the debugger runs away from the recording. */
	bool flooded;

	size_t endpoint_records;
	uint64_t t2d_bytes, d2t_bytes;
	double started; /* the first attach */
};

static double ms_left(double deadline)
{
	double left = (deadline - bxkd_now()) * 1000.0;

	return left > 0 ? left : 0;
}

static void say(const struct serve *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const struct serve *s, const char *fmt, ...)
{
	va_list ap;

	if (s->quiet)
		return;
	printf("bxkd-replay serve: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	/* Someone may be watching for the next step (a test, a script). */
	fflush(stdout);
}

static void endpoint_log(void *ctx, enum bxkd_log_level level, const char *message)
{
	struct serve *s = ctx;

	(void)level;

	snprintf(s->endpoint_said, sizeof(s->endpoint_said), "%s", message);
	say(s, "%s", message);
}

static const struct session_endpoint *endpoint_of(const struct session_record *r)
{
	return r->h.kind == SESSION_ENDPOINT ? &r->u.endpoint.fixed : NULL;
}

static const char *event_tag(uint8_t event)
{
	switch (event) {
	case KD_ENDPOINT_TO_DEBUGGER:
		return "t2d";
	case KD_ENDPOINT_TO_TARGET:
		return "d2t";
	case KD_ENDPOINT_ATTACHED:
		return "debugger attached";
	default:
		return "debugger detached";
	}
}

/* "record 22 d2t 73 bytes", "record 5 debugger attached" */
static void describe_record(const struct session_record *r, char *out, size_t size)
{
	uint8_t event = r->u.endpoint.fixed.event;

	if (event == KD_ENDPOINT_TO_DEBUGGER || event == KD_ENDPOINT_TO_TARGET)
		snprintf(out, size, "record %" PRIu32 " %s %zu bytes", r->h.sequence,
			 event_tag(event), r->u.endpoint.length);
	else
		snprintf(out, size, "record %" PRIu32 " %s", r->h.sequence, event_tag(event));
}

/* ---- the debugger's bytes ---------------------------------------------------------------- */

static bool keep(struct serve *s, const uint8_t *bytes, size_t length)
{
	if (length > AHEAD_MAX - s->received_length) {
		s->flooded = true;
		return false;
	}
	s->received = bxkd_grow(s->received, &s->received_capacity, s->received_length + length,
				READ_CHUNK);
	memcpy(s->received + s->received_length, bytes, length);
	s->received_length += length;
	return true;
}

/* The recording got past the first `length` bytes. */
static void consume(struct serve *s, size_t length)
{
	memmove(s->received, s->received + length, s->received_length - length);
	s->received_length -= length;
	s->received_base += length;
}

/* A new connection starts a new stream. */
static void forget_connection(struct serve *s)
{
	s->received_length = 0;
	s->received_base = 0;
	s->flooded = false;
	s->gone_record = 0;
}

static bool debugger_here(const struct serve *s)
{
	return s->terminal || kdep_connected(s->ep);
}

/* One look at the endpoint, up to wait_ms: the debugger's bytes are kept,
 * and its leaving noted at `record`. */
static enum kdep_status take(struct serve *s, int wait_ms, size_t record)
{
	static uint8_t chunk[READ_CHUNK];
	size_t length;
	enum kdep_status status = kdep_wait(s->ep, wait_ms, chunk, sizeof(chunk), &length);

	if (status == KDEP_DATA)
		keep(s, chunk, length);
	else if (status == KDEP_DISCONNECTED && s->attached && !s->gone_record)
		s->gone_record = record;
	return status;
}

/* Whatever the debugger has sent by now, without waiting: taken before the
 * target writes, so that one that sent and left is not cut off by the
 * write's failure before its last bytes are read. */
static void take_pending(struct serve *s, size_t record)
{
	while (s->attached && debugger_here(s) && !s->flooded &&
	       take(s, 0, record) == KDEP_DATA)
		;
}

/* ---- the report ---------------------------------------------------------------------------- */

static void hex_row(char mark, uint64_t offset, const uint8_t *bytes, size_t count)
{
	printf("  %c %08" PRIx64 "  ", mark, offset);
	for (size_t i = 0; i < HEX_PER_LINE; i++)
		if (i < count)
			printf("%02x ", bytes[i]);
		else
			printf("   ");
	putchar(' ');
	for (size_t i = 0; i < count; i++)
		putchar(bytes[i] >= 0x20 && bytes[i] < 0x7f ? bytes[i] : '.');
	putchar('\n');
}

/* The recorded bytes against the received ones, a few lines either side of
 * the first difference: equal lines once, differing ones as "-" recorded
 * and "+" received with the differing bytes marked. Offsets count what the
 * debugger sent since it attached. */
static void show_hex_diff(uint64_t base, const uint8_t *want, size_t want_length,
			  const uint8_t *got, size_t got_length, size_t differ_at)
{
	size_t total = want_length > got_length ? want_length : got_length;
	size_t line = differ_at / HEX_PER_LINE;
	size_t first = line > HEX_CONTEXT_LINES ? line - HEX_CONTEXT_LINES : 0;
	size_t last = line + HEX_CONTEXT_LINES;

	if (!total)
		return;
	if (last > (total - 1) / HEX_PER_LINE)
		last = (total - 1) / HEX_PER_LINE;
	printf("bytes (- recorded, + received; offsets in the debugger's stream since it attached):\n");
	for (size_t l = first; l <= last; l++) {
		size_t at = l * HEX_PER_LINE;
		size_t wn = at < want_length ? want_length - at : 0;
		size_t gn = at < got_length ? got_length - at : 0;
		wn = wn < HEX_PER_LINE ? wn : HEX_PER_LINE;
		gn = gn < HEX_PER_LINE ? gn : HEX_PER_LINE;
		/* Nothing received is no buffer at all: no row of it to point at. */
		const uint8_t *got_row = gn ? got + at : NULL;
		if (wn == gn && (!wn || !memcmp(want + at, got_row, wn))) {
			hex_row(' ', base + at, want + at, wn);
			continue;
		}
		hex_row('-', base + at, want + at, wn);
		hex_row('+', base + at, got_row, gn);
		printf("              ");
		for (size_t i = 0; i < HEX_PER_LINE && (i < wn || i < gn); i++)
			printf(i < wn && i < gn && want[at + i] == got[at + i] ? "   " : "^^ ");
		putchar('\n');
	}
}

static void decoded_line(void *ctx, const char *text)
{
	bool *any = ctx;

	*any = true;
	printf("  %s\n", text);
}

/*
 * Both streams through kdtrace, as bxkd-tap would show them: the
 * connection's bytes before the record (the same in both, the recording
 * got past them) bring two decoders to where the record starts, then one
 * gets the recorded bytes, the other what came.
 */
static void show_decoded(const struct serve *s, size_t index, const uint8_t *want,
			 size_t want_length)
{
	static struct kdtrace recorded, came;
	struct kdtrace_config config;
	bool any = false;
	size_t got_length = s->received_length < REPORT_DECODE_MAX ? s->received_length
								    : REPORT_DECODE_MAX;

	kdtrace_config_init(&config, KDTRACE_TO_TARGET, NULL, NULL);
	kdtrace_init(&recorded, &config);
	for (size_t i = s->attached_record + 1; i < index; i++) {
		const struct session_record *r = &s->file.records[i];
		const struct session_endpoint *e = endpoint_of(r);
		if (!e || e->event != KD_ENDPOINT_TO_TARGET)
			continue;
		kdtrace_feed(&recorded, r->u.endpoint.bytes, r->u.endpoint.length);
		kdtrace_pause(&recorded);
	}
	came = recorded;
	recorded.config.line = came.config.line = decoded_line;
	recorded.config.ctx = came.config.ctx = &any;

	printf("recorded, decoded:\n");
	kdtrace_feed(&recorded, want, want_length);
	kdtrace_break(&recorded, "the record ends here");
	printf("received, decoded:\n");
	any = false;
	kdtrace_feed(&came, s->received, got_length);
	kdtrace_break(&came, "nothing more came");
	if (!any)
		printf("  (nothing)\n");
}

/* The ENDPOINT records before `index`, one line each, and that one. */
static void show_context(const struct serve *s, size_t index)
{
	size_t from = index, shown = 0;
	char line[160];

	while (from > 1 && shown < CONTEXT_RECORDS) {
		from--;
		if (endpoint_of(&s->file.records[from]))
			shown++;
	}
	printf("the conversation up to it:\n");
	for (size_t i = from; i <= index && i < s->file.count; i++) {
		if (!endpoint_of(&s->file.records[i]))
			continue;
		describe_record(&s->file.records[i], line, sizeof(line));
		printf("%s %s\n", i == index ? ">" : " ", line);
	}
}

/*
 * Everything a reader needs to find what went wrong, then exit status 1:
 * the reason, the records before it, and for a record of the debugger's
 * bytes the two streams side by side and decoded. With `bytes`, the
 * buffer starts at that record's first byte.
 */
static int diverge(struct serve *s, size_t index, bool bytes, size_t differ_at,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int diverge(struct serve *s, size_t index, bool bytes, size_t differ_at,
		   const char *fmt, ...)
{
	const struct session_record *r = &s->file.records[index];
	char line[160];
	va_list ap;

	describe_record(r, line, sizeof(line));
	printf("bxkd-replay serve: divergence at %s (tick %" PRIu64 "): ", line, r->h.tick);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (s->gone_record && s->endpoint_said[0])
		printf("  (the endpoint said: %s)\n", s->endpoint_said);
	show_context(s, index);
	if (bytes) {
		show_hex_diff(s->received_base, r->u.endpoint.bytes, r->u.endpoint.length,
			      s->received, s->received_length, differ_at);
		show_decoded(s, index, r->u.endpoint.bytes, r->u.endpoint.length);
	}
	fflush(stdout);
	return REPLAY_EXIT_FAILED;
}

/* ---- the conversation ------------------------------------------------------------------------ */

/* SIGINT or SIGTERM while serving: said as such, not as a divergence, and
 * the shell's status for a signal (128 + its number). */
static int interrupted(struct serve *s, size_t index)
{
	printf("bxkd-replay serve: interrupted by %s at record %zu, after %zu of the recording's "
	       "endpoint records\n",
	       bxkd_signal_name(bxkd_signal), index, s->endpoint_records);
	fflush(stdout);
	return 128 + bxkd_signal;
}

/* `index` is the ATTACHED record, or for a recording without any the first
 * byte record, with its debugger attached before it. */
static int serve_attached(struct serve *s, size_t index, bool implicit)
{
	double deadline = bxkd_now() + s->timeout_seconds;

	if (s->attached) {
		say(s, "record %zu: the recording has a debugger attach again without leaving; "
		       "carrying on with the one attached",
		    index);
		return 0;
	}
	forget_connection(s);
	while (!s->terminal && !kdep_connected(s->ep)) {
		/* DATA cannot come without a connection; DISCONNECTED is the
		 * last one's, already dealt with. */
		if (take(s, (int)ms_left(deadline), index) == KDEP_CONNECTED)
			break;
		if (bxkd_signal)
			return interrupted(s, index);
		if (bxkd_now() >= deadline)
			return diverge(s, index, false, 0,
				       "no debugger attached within %u s", s->timeout_seconds);
	}
	s->attached = true;
	s->attached_record = implicit ? index - 1 : index;
	if (s->started == 0)
		s->started = bxkd_now();
	return 0;
}

static int serve_to_debugger(struct serve *s, size_t index)
{
	const struct session_record *r = &s->file.records[index];

	/* The bridge records nothing it writes to nobody: such a record is
	 * the recorder's, and nobody gets its bytes now either. */
	if (!s->attached)
		return 0;
	take_pending(s, index);
	if (debugger_here(s)) {
		kdep_write(s->ep, r->u.endpoint.bytes, r->u.endpoint.length);
		if (!debugger_here(s) && !s->gone_record)
			s->gone_record = index;
	}
	/* A debugger that left may still be at the point where the recording
	 * lets it go: the records up to its DETACHED decide. */
	s->t2d_bytes += r->u.endpoint.length;
	return 0;
}

static int serve_to_target(struct serve *s, size_t index)
{
	const struct session_record *r = &s->file.records[index];
	const uint8_t *want = r->u.endpoint.bytes;
	size_t length = r->u.endpoint.length, matched = 0;
	double deadline = bxkd_now() + s->timeout_seconds;

	if (!s->attached)
		return diverge(s, index, false, 0,
			       "the recording has the debugger's bytes here with no debugger "
			       "attached (a recorder fault)");
	for (;;) {
		size_t have = s->received_length < length ? s->received_length : length;
		for (; matched < have; matched++)
			if (s->received[matched] != want[matched])
				break;
		if (matched < have) {
			/* The rest of what it sends completes the picture. */
			double until = bxkd_now() + REPORT_MAX_MS / 1000.0;
			while (debugger_here(s) && !s->flooded && bxkd_now() < until &&
			       take(s, REPORT_QUIET_MS, index) == KDEP_DATA)
				;
			return diverge(s, index, true, matched,
				       "the debugger's bytes differ from the recorded ones at byte %zu "
				       "of the record, byte %" PRIu64
				       " of what it sent since it attached (record %zu)",
				       matched, s->received_base + matched, s->attached_record);
		}
		if (matched == length)
			break;
		if (s->flooded)
			return diverge(s, index, true, matched,
				       "the debugger sent more than %u bytes ahead of the recording",
				       AHEAD_MAX);
		if (!debugger_here(s))
			return diverge(s, index, true, matched,
				       "the debugger left at record %zu; %zu of the %zu bytes "
				       "recorded here came",
				       s->gone_record ? s->gone_record : index, matched, length);
		if (bxkd_signal)
			return interrupted(s, index);
		if (bxkd_now() >= deadline)
			return diverge(s, index, true, matched,
				       "waited %u s for the debugger: %zu of the %zu bytes recorded "
				       "here came, all as recorded",
				       s->timeout_seconds, matched, length);
		take(s, (int)ms_left(deadline), index);
	}
	consume(s, length);
	s->d2t_bytes += length;
	return 0;
}

/* Bytes the debugger sent that no record holds: the target never took
 * them in the recording either (its bridge records what it takes). */
static void note_unread(const struct serve *s, size_t index)
{
	if (s->received_length)
		say(s, "record %zu: %zu bytes the debugger sent beyond the recording were not "
		       "compared",
		    index, s->received_length);
}

static int serve_detached(struct serve *s, size_t index)
{
	double deadline = bxkd_now() + s->timeout_seconds;

	if (!s->attached) {
		say(s, "record %zu: the recording has a debugger leave that never came", index);
		return 0;
	}
	if (s->terminal) {
		say(s, "record %zu: the recorded debugger left; a terminal cannot tell whether "
		       "this one did",
		    index);
	} else if (s->gone_record) {
		say(s, "record %zu: the debugger left (at record %zu), as recorded", index,
		    s->gone_record);
	} else {
		while (kdep_connected(s->ep)) {
			take(s, (int)ms_left(deadline), index);
			if (bxkd_signal)
				return interrupted(s, index);
			if (kdep_connected(s->ep) && bxkd_now() >= deadline)
				return diverge(s, index, false, 0,
					       "the recorded debugger left here; this one is still "
					       "attached after %u s",
					       s->timeout_seconds);
		}
	}
	note_unread(s, index);
	s->attached = false;
	forget_connection(s);
	return 0;
}

static int serve_conversation(struct serve *s)
{
	size_t last = 0;

	for (size_t i = 1; i < s->file.count; i++) {
		const struct session_endpoint *e = endpoint_of(&s->file.records[i]);
		int status;

		if (!e)
			continue;
		s->endpoint_records++;
		last = i;
		if (e->event == KD_ENDPOINT_ATTACHED || e->event == KD_ENDPOINT_DETACHED) {
			s->seen_attach = true;
		} else if (!s->attached && !s->seen_attach) {
			say(s, "record %zu: the recording has no debugger attach (a terminal's); "
			       "its bytes go to the first debugger to attach",
			    i);
			status = serve_attached(s, i, true);
			if (status)
				return status;
		}
		/* Only a DETACHED lets a debugger go; bytes owed to it can
		 * be lost on the way, bytes owed by it cannot. */
		switch (e->event) {
		case KD_ENDPOINT_ATTACHED:
			status = serve_attached(s, i, false);
			break;
		case KD_ENDPOINT_TO_DEBUGGER:
			status = serve_to_debugger(s, i);
			break;
		case KD_ENDPOINT_TO_TARGET:
			status = serve_to_target(s, i);
			break;
		default:
			status = serve_detached(s, i);
			break;
		}
		if (status)
			return status;
	}
	if (s->attached && !s->terminal && !kdep_connected(s->ep))
		return diverge(s, s->gone_record ? s->gone_record : last, false, 0,
			       "the debugger left here; the recording keeps it attached until the "
			       "session ended");
	if (s->attached)
		note_unread(s, last);
	/* The machine ended: kdep_close() hangs up on a debugger still there. */
	return 0;
}

/* ---- setting up ------------------------------------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bxkd-replay serve SESSION --listen SPEC [--timeout SECONDS] [--quiet]\n"
		"Plays the target's side of SESSION's debugger conversation to a live debugger,\n"
		"without Bochs, and checks every byte the debugger sends against the recording.\n"
		"\n"
		"SPEC: PATH or unix:PATH (a Unix socket), tcp:[HOST:]PORT, pty[:LINK].\n"
		"--timeout: how long to wait for the debugger to attach, to send what the\n"
		"recording has it send, or to leave where it left (default %d s).\n"
		"Exit status: 0 when the debugger matched the whole conversation, 1 at the\n"
		"first divergence (a report says where and how) or a timeout, 2 on usage errors,\n"
		"128 + the signal's number when SIGINT or SIGTERM interrupted it.\n",
		DEFAULT_TIMEOUT_SECONDS);
}

static bool has_prefix(const char *text, const char *prefix)
{
	return !strncmp(text, prefix, strlen(prefix));
}

/* A place to listen: kdep's listening specs, and any other text as the
 * path of a Unix socket (kdep itself takes bare paths only from '/' or '.'). */
static bool parse_listen(const char *spec, struct kdep_options *o)
{
	char error[512];
	char *unix_spec = NULL;
	bool ok;

	if (has_prefix(spec, "connect:") || has_prefix(spec, "tcp-connect:") ||
	    has_prefix(spec, "tty:")) {
		bxkd_warn("--listen %s: serve listens for a debugger; use PATH, unix:PATH, "
			  "tcp:[HOST:]PORT or pty[:LINK]",
			  spec);
		return false;
	}
	bool known = has_prefix(spec, "unix:") || has_prefix(spec, "tcp:") || !strcmp(spec, "pty") ||
		     has_prefix(spec, "pty:");
	/* A word and a colon is a kind of endpoint mistyped, not a file name:
	 * a path with a colon in it is written unix:PATH or ./PATH. */
	size_t word = strspn(spec, "abcdefghijklmnopqrstuvwxyz-");
	if (!known && word > 0 && spec[word] == ':') {
		bxkd_warn("--listen %s: no endpoint kind '%.*s'; use PATH, unix:PATH, "
			  "tcp:[HOST:]PORT or pty[:LINK]",
			  spec, (int)word, spec);
		return false;
	}
	if (!known)
		spec = unix_spec = bxkd_asprintf("unix:%s", spec);
	ok = kdep_parse(spec, o, error, sizeof(error));
	if (!ok)
		bxkd_warn("--listen: %s", error);
	free(unix_spec);
	return ok;
}

/* What the recording holds for a debugger, and where to attach one. */
static void introduce(struct serve *s)
{
	char image[256] = "", sha[80] = "", recorded[64] = "";
	size_t endpoint_records = 0, connections = 0;
	const char *hint = kdep_attach_hint(s->ep);

	for (size_t i = 1; i < s->file.count; i++) {
		const struct session_endpoint *e = endpoint_of(&s->file.records[i]);
		endpoint_records += e != NULL;
		connections += e && e->event == KD_ENDPOINT_ATTACHED;
	}
	session_file_manifest(&s->file, "image", image, sizeof(image));
	session_file_manifest(&s->file, "image_sha256", sha, sizeof(sha));
	session_file_manifest(&s->file, "recorded_utc", recorded, sizeof(recorded));
	say(s, "serving %s (image %s, recorded %s): %zu endpoint records, %zu debugger "
	       "connection%s",
	    s->path, image, recorded, endpoint_records, connections, connections == 1 ? "" : "s");
	if (s->quiet) {
		printf("bxkd-replay serve: attach a debugger at %s\n", kdep_address(s->ep));
		fflush(stdout);
		return;
	}

	printf("bxkd-replay serve: attach a debugger at %s:\n", kdep_address(s->ep));
	for (const char *line = hint; *line;) {
		size_t length = strcspn(line, "\n");
		printf("  %.*s\n", (int)length, line);
		line += length + (line[length] == '\n');
	}
	/* The recorded image's symbols, where tests/sessions keeps them. */
	char *copy = bxkd_strdup(s->path), *slash = strrchr(copy, '/');
	char *symbols = bxkd_asprintf("%s/images/%s.symbols", slash ? (*slash = '\0', copy) : ".",
				      sha);
	struct stat st;
	if (sha[0] && stat(symbols, &st) == 0)
		printf("  symbols:  %s  (bxkd-dbg --symbols FILE)\n", symbols);
	free(symbols);
	free(copy);
	fflush(stdout);
}

static bool take_option(void *ctx, int key, char *value)
{
	struct serve *s = ctx;
	unsigned long n;

	switch (key) {
	case 'l':
		s->listen_spec = value;
		break;
	case 't':
		if (!bxkd_parse_count(value, MAX_TIMEOUT_SECONDS, &n)) {
			bxkd_warn("--timeout wants 1..%d seconds", MAX_TIMEOUT_SECONDS);
			return false;
		}
		s->timeout_seconds = (unsigned)n;
		break;
	case 'q':
		s->quiet = true;
		break;
	}
	return true;
}

int replay_serve(int argc, char **argv)
{
	static const struct option options[] = {
		{ "listen", required_argument, NULL, 'l' }, { "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },	    { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct serve s = { .timeout_seconds = DEFAULT_TIMEOUT_SECONDS };
	struct kdep_options endpoint;
	char error[1024];
	int status = bxkd_cli_parse(argc, argv, options, 0, -1, take_option, &s, usage);

	if (status != BXKD_CLI_GO_ON)
		return status;
	if (optind != argc - 1 || !s.listen_spec) {
		if (!s.listen_spec)
			bxkd_warn("--listen is required");
		usage(stderr);
		return REPLAY_EXIT_USAGE;
	}
	if (!parse_listen(s.listen_spec, &endpoint))
		return REPLAY_EXIT_USAGE;
	s.path = argv[optind];

	if (!replay_read_whole(s.path, &s.file))
		return REPLAY_EXIT_FAILED;
	bool any = false;
	for (size_t i = 1; i < s.file.count && !any; i++)
		any = endpoint_of(&s.file.records[i]) != NULL;
	if (!any) {
		bxkd_warn("%s has no debugger in it (no ENDPOINT records)", s.path);
		session_file_free(&s.file);
		return REPLAY_EXIT_FAILED;
	}

	/* A debugger that leaves makes a write fail, not this process die;
	 * Ctrl-C ends the serving with a word about it. */
	bxkd_catch_signals(false);
	/* One that takes nothing for the timeout has stopped following. */
	endpoint.write_stall_ms = s.timeout_seconds * 1000u;
	s.ep = kdep_open(&endpoint, &(struct bxkd_log){ endpoint_log, &s }, error, sizeof(error));
	if (!s.ep) {
		bxkd_warn("%s", error);
		session_file_free(&s.file);
		return REPLAY_EXIT_FAILED;
	}
	s.terminal = endpoint.mode == KDEP_PTY;
	introduce(&s);

	status = serve_conversation(&s);
	kdep_close(s.ep);
	if (status == 0)
		printf("bxkd-replay serve: the debugger matched the recording: %zu records, %" PRIu64
		       " bytes t2d and %" PRIu64 " bytes d2t, in %.3f s\n",
		       s.endpoint_records, s.t2d_bytes, s.d2t_bytes,
		       s.started ? bxkd_now() - s.started : 0.0);
	free(s.received);
	session_file_free(&s.file);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		bxkd_warn("cannot write the report");
		return REPLAY_EXIT_FAILED;
	}
	return status;
}
