/*
 * demo.c -- `bxkd demo`: the test kernel debugged end to end, shown as it
 * happens.
 *
 *   Bochs (our kernel, kd_break=1) -- VM endpoint -- bxkd-tap -- socket -- bxkd-dbg
 *
 * The VM endpoint is the plugin's kd_endpoint (vmport) or Bochs' COM1
 * (--serial). bxkd-dbg runs the session script (tests/sessions/
 * debug-session.bxkd) one command at a time, so that each command, the KD
 * packets the tap decodes for it, the guest's prints and the answer appear
 * in the order they happen. The full decoded trace is kept in kd-trace.txt.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bxkd.h"

/* Transcript lines are cut here (the trace file has them whole). */
#define WIDTH 118
/* bxkd-dbg's limit per command: the first waits for Bochs to boot. */
#define DBG_TIMEOUT "60"
#define DEFAULT_TIMEOUT_SECONDS 120
/* How long an answer waits at most for the tap's line about its reply. */
#define TAP_CATCH_UP_MS 50

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bxkd demo [--serial] [options]\n"
		"Boots the bxkd test kernel with its initial breakpoint, puts bxkd-tap between\n"
		"the VM's kernel-debug endpoint and bxkd-dbg, runs the session script and\n"
		"shows each command with its answer, the KD requests and replies in between,\n"
		"the kernel's prints, the time taken and the kernel's result line.\n"
		"\n"
		"  --serial                KDCOM on COM1 (the baseline) instead of the shared page\n"
		"  -w, --workdir DIR       bochsrc, log, trace (default: a new directory under /tmp)\n"
		"  -s, --script FILE       another bxkd-dbg script (default: debug-session.bxkd)\n"
		"  -t, --timeout SECONDS   give up after this long (default %d)\n"
		"  -h, --help              this text\n"
		"\n"
		"Exit status: 0 if every command and the kernel passed, 1 otherwise, 2 on usage.\n",
		DEFAULT_TIMEOUT_SECONDS);
}

/* ---- the script ------------------------------------------------------------------ */

struct script {
	char **commands;
	size_t count;
};

/* The commands as bxkd-dbg reads them: '#' starts a comment, blank lines
 * are nothing. */
static bool load_script(const char *path, struct script *s)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	memset(s, 0, sizeof(*s));
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *start = line + strspn(line, " \t\r\n");
		size_t length = strlen(start);
		while (length && strchr(" \t\r\n", start[length - 1]))
			start[--length] = '\0';
		if (!length)
			continue;
		char **more = realloc(s->commands, (s->count + 1) * sizeof(*more));
		if (!more)
			abort();
		s->commands = more;
		s->commands[s->count++] = bxkd_strdup(start);
	}
	fclose(f);
	return true;
}

static void free_script(struct script *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->commands[i]);
	free(s->commands);
}

/* ---- bxkd-dbg's answers: one flat JSON object per command ------------------------------- */

#define JSON_MEMBERS 40

struct json {
	size_t count;
	char *keys[JSON_MEMBERS];
	char *values[JSON_MEMBERS]; /* strings unescaped, numbers and literals as written */
};

static const char *json_get(const struct json *j, const char *key)
{
	for (size_t i = 0; i < j->count; i++) {
		if (!strcmp(j->keys[i], key))
			return j->values[i];
	}
	return NULL;
}

static void json_free(struct json *j)
{
	for (size_t i = 0; i < j->count; i++) {
		free(j->keys[i]);
		free(j->values[i]);
	}
	j->count = 0;
}

/* A JSON string at *p (after its quote) up to its closing quote. */
static char *json_string(const char **p)
{
	struct bxkd_text t = { 0 };

	bxkd_text_add(&t, "", 0);
	while (**p && **p != '"') {
		char c = *(*p)++;
		if (c == '\\' && **p) {
			char e = *(*p)++;
			if (e == 'n')
				c = '\n';
			else if (e == 't')
				c = '\t';
			else if (e == 'u') {
				unsigned code = 0;
				for (int i = 0; i < 4 && **p; i++) {
					char h = *(*p)++;
					code = code * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
				}
				c = (char)(code & 0xff);
			} else {
				c = e;
			}
		}
		bxkd_text_add(&t, &c, 1);
	}
	if (**p == '"')
		(*p)++;
	return t.data;
}

static bool json_parse(const char *line, struct json *j)
{
	const char *p = line;

	j->count = 0;
	while (*p == ' ')
		p++;
	if (*p++ != '{')
		return false;
	while (*p && *p != '}' && j->count < JSON_MEMBERS) {
		if (*p == ',' || *p == ' ') {
			p++;
			continue;
		}
		if (*p++ != '"')
			break;
		char *key = json_string(&p);
		if (*p == ':')
			p++;
		char *value;
		if (*p == '"') {
			p++;
			value = json_string(&p);
		} else {
			size_t n = strcspn(p, ",}");
			value = strndup(p, n);
			p += n;
		}
		j->keys[j->count] = key;
		j->values[j->count++] = value;
	}
	return j->count > 0;
}

/* Bytes from hex, shown as a quoted string with escapes. */
static void print_hex_as_text(FILE *out, const char *hex)
{
	fputc('"', out);
	for (size_t i = 0; hex[i] && hex[i + 1] && i < 2 * 64; i += 2) {
		unsigned byte;
		if (sscanf(hex + i, "%2x", &byte) != 1)
			break;
		if (byte == '"' || byte == '\\')
			fprintf(out, "\\%c", byte);
		else if (byte == '\n')
			fputs("\\n", out);
		else if (byte >= 0x20 && byte < 0x7f)
			fputc((int)byte, out);
		else
			fprintf(out, "\\x%02x", byte);
	}
	fputc('"', out);
	if (strlen(hex) > 2 * 64)
		fputs("...", out);
}

static void print_quoted(FILE *out, const char *text)
{
	fputc('"', out);
	for (; *text; text++) {
		if (*text == '\n')
			fputs("\\n", out);
		else if (*text == '"')
			fputs("\\\"", out);
		else
			fputc(*text, out);
	}
	fputc('"', out);
}

static const char *stop_reason(const char *code)
{
	if (!code)
		return "stop";
	if (!strcmp(code, "0x80000003"))
		return "breakpoint";
	if (!strcmp(code, "0x80000004"))
		return "single step";
	return "exception";
}

static const char *or_else(const char *value, const char *otherwise)
{
	return value ? value : otherwise;
}

/* 0x00000003 -> 00000003, as bxkd-dbg's own text shows registers. */
static const char *bare(const char *value)
{
	return value && !strncmp(value, "0x", 2) ? value + 2 : value ? value : "?";
}

/* One answer, short; the command and the JSON line are bxkd-dbg's. */
static void render_answer(FILE *out, const struct json *j)
{
	const char *command = json_get(j, "command");
	const char *ok = json_get(j, "ok");

	command = command ? command : "?";
	if (!ok || strcmp(ok, "true")) {
		const char *error = json_get(j, "error");
		fprintf(out, "failed: %s", error ? error : "(no reason given)");
		return;
	}
	if (json_get(j, "stopped")) {
		const char *code = json_get(j, "code"), *pc = json_get(j, "pc"),
			   *symbol = json_get(j, "symbol");
		fprintf(out, "stopped: %s (%s) at %s%s%s", stop_reason(code), code ? code : "?",
			pc ? pc : "?", symbol ? " " : "", symbol ? symbol : "");
	} else if (!strcmp(command, "version")) {
		fprintf(out, "build %s, protocol %s, machine %s, kernel at %s",
			or_else(json_get(j, "build"), "?"), or_else(json_get(j, "protocol"), "?"),
			or_else(json_get(j, "machine"), "?"), or_else(json_get(j, "kern_base"), "?"));
	} else if (json_get(j, "data") && json_get(j, "address")) {
		fprintf(out, "%s: ", json_get(j, "address"));
		print_hex_as_text(out, json_get(j, "data"));
	} else if (!strcmp(command, "regs")) {
		static const char *const names[] = { "eax", "ebx", "ecx", "edx", "esi", "edi",
						     "eip", "esp", "ebp", "eflags" };
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			fprintf(out, "%s%s=%s", i ? " " : "", names[i], bare(json_get(j, names[i])));
	} else if (!strcmp(command, "prints")) {
		print_quoted(out, or_else(json_get(j, "text"), ""));
	} else if (!strcmp(command, "bp")) {
		fprintf(out, "breakpoint %s at %s", or_else(json_get(j, "number"), "?"),
			or_else(json_get(j, "address"), "?"));
	} else if (!strcmp(command, "go")) {
		fputs("running", out);
	} else if (!strcmp(command, "bc")) {
		fputs("cleared", out);
	} else if (!strcmp(command, "write") || !strcmp(command, "writephys")) {
		fputs("written", out);
	} else if (!strcmp(command, "setreg")) {
		fputs("set", out);
	} else {
		bool any = false;
		for (size_t i = 0; i < j->count; i++) {
			if (!strcmp(j->keys[i], "command") || !strcmp(j->keys[i], "ok"))
				continue;
			fprintf(out, "%s%s=%s", any ? " " : "", j->keys[i], j->values[i]);
			any = true;
		}
		if (!any)
			fputs("ok", out);
	}
}

/* ---- the demo ------------------------------------------------------------------------------- */

struct demo {
	bool serial;
	const char *workdir;
	struct script script;
	size_t next;           /* the next command to send */
	size_t answered;       /* commands answered */
	unsigned lines_wanted; /* JSON lines the command in flight still owes */
	char *first_line;      /* "!": the inner command's line */
	bool failed;           /* a command failed */
	int dbg_in;            /* bxkd-dbg's standard input; -1 once closed */
	double first_sent, first_answer, last_answer;
	/* What the tap has shown: manipulate requests and replies, state
	 * changes; and the state changes when the command in flight was sent. */
	unsigned requests, replies, state_changes, state_changes_at_send;
	bool expect_stop; /* the command in flight answers with a stop */
	bool awaits_exit; /* the command in flight waits for the machine to end */
	FILE *trace;           /* kd-trace.txt */
	struct bxkd_lines tap_lines, dbg_lines;
};

/* Prints `text` after `prefix`, cut to the transcript's width. */
static void say(const char *prefix, const char *text, size_t length)
{
	size_t room = WIDTH - strlen(prefix);

	if (length > room)
		printf("%s%.*s...\n", prefix, (int)(room - 3), text);
	else
		printf("%s%.*s\n", prefix, (int)length, text);
}

static void send_next(struct demo *d)
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

/* Reads what one pipe has; false at its end. */
static bool pump(int *fd, struct bxkd_lines *lines,
		 void (*line)(void *ctx, const char *text, size_t length), void *ctx)
{
	char buf[16384];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		bxkd_lines_flush(lines, line, ctx);
		close(*fd);
		*fd = -1;
		return false;
	}
	bxkd_lines_feed(lines, buf, (size_t)n, line, ctx);
	return true;
}

/* A line from bxkd-tap: all of it to the trace file; requests, replies
 * and state changes, shortened, to the transcript. */
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
	p += strcspn(p, " ");
	p += strspn(p, " ");
	bool d2t = !strncmp(p, "d2t ", 4), t2d = !strncmp(p, "t2d ", 4);
	if (!d2t && !t2d)
		return;
	char *type = p + 4;
	bool manipulate = !strncmp(type, "STATE_MANIPULATE ", 17);
	bool state_change = !strncmp(type, "STATE_CHANGE", 12);
	if (!manipulate && !state_change)
		return;
	char *message = strstr(type, ": ");
	bool damaged = strstr(type, " BAD") != NULL;
	char shown[4300];
	if (!message || damaged) /* a damaged frame is shown whole */
		snprintf(shown, sizeof(shown), "%s", type);
	else
		snprintf(shown, sizeof(shown), "%s%s", state_change ? "state change: " : "",
			 message + 2);
	say(d2t ? "kd  -> " : "kd  <- ", shown, strlen(shown));
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
static void tap_catch_up(struct demo *d, int *tap_out)
{
	double give_up = bxkd_now() + TAP_CATCH_UP_MS / 1000.0;

	for (;;) {
		bool owed = d->requests > d->replies ||
			    (d->expect_stop && d->state_changes == d->state_changes_at_send);
		struct pollfd t = { *tap_out, POLLIN, 0 };
		double left = give_up - bxkd_now();
		if (*tap_out < 0 || poll(&t, 1, owed && left > 0 ? (int)(left * 1000) + 1 : 0) <= 0)
			break;
		if (!pump(tap_out, &d->tap_lines, tap_line, d))
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
	say("guest  ", text, length);
	fflush(stdout);
}

static void dbg_line(void *ctx, const char *text, size_t length)
{
	struct demo *d = ctx;
	char *line = strndup(text, length);
	struct json j = { 0 };

	if (!line)
		abort();
	if (d->lines_wanted == 0) { /* nothing was asked: say it anyway */
		say("       ", line, length);
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
	if (d->answered == 1) {
		d->first_answer = d->last_answer;

	}
	if (!json_parse(line, &j)) {
		say("       ", line, length);
		d->failed = true;
	} else if (d->first_line) {
		/* "!": the inner command had to fail. */
		struct json inner = { 0 };
		const char *ok = json_get(&j, "ok");
		bool as_expected = ok && !strcmp(ok, "true");
		fputs("       ", stdout);
		if (json_parse(d->first_line, &inner) && as_expected) {
			render_answer(stdout, &inner);
			fputs(" (as expected)", stdout);
		} else {
			render_answer(stdout, &j);
			d->failed = true;
		}
		fputc('\n', stdout);
		json_free(&inner);
	} else {
		const char *ok = json_get(&j, "ok");
		fputs("       ", stdout);
		render_answer(stdout, &j);
		fputc('\n', stdout);
		if (!ok || strcmp(ok, "true"))
			d->failed = true;
	}
	fflush(stdout);
	free(d->first_line);
	d->first_line = NULL;
	json_free(&j);
	free(line);
	send_next(d);
}

static int demo_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int demo_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("bxkd demo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return BXKD_EXIT_USAGE;
}

static char *need(enum bxkd_file file, const char *what)
{
	char looked[700];
	char *path = bxkd_locate(file, looked, sizeof(looked));

	if (!path)
		fprintf(stderr, "bxkd demo: %s is in neither %s: build it (make) or install it "
				"(make install)\n",
			what, looked);
	return path;
}

static void print_tail_of(const char *path, const char *what)
{
	char *text = bxvm_read_file(path, NULL);

	if (text && *text) {
		printf("  %s said:\n", what);
		bxvm_print_tail(stdout, text, 8);
	}
	free(text);
}

/* Replays the recorded session with bxkd-replay verify (no debugger, the
 * answers from the file) and shows how it went next to the live run. */
static bool replay_recording(const char *replay_program, const char *recording,
			     const char *workdir, double live_seconds)
{
	char *log = bxkd_asprintf("%s/replay.log", workdir);
	char *replay_dir = bxkd_asprintf("%s/replay", workdir);
	char *argv[] = { (char *)replay_program, "verify", (char *)recording, "--workdir",
			 replay_dir, NULL };
	struct bxkd_proc p = { 0 };
	bool matched = false;

	printf("replay: bxkd-replay verify %s\n", recording);
	int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	double started = bxkd_now();
	if (out >= 0 && bxkd_proc_start(&p, argv, NULL, BXKD_FD_NULL, out, out, 0)) {
		if (!bxkd_proc_wait(&p, 120000))
			bxkd_proc_stop(&p, 1000);
		matched = p.status == 0;
	}
	double replay_seconds = bxkd_now() - started;
	if (out >= 0)
		close(out);
	char *said = bxvm_read_file(log, NULL);
	for (const char *line = said ? said : ""; *line;) {
		size_t length = strcspn(line, "\n");
		say("       ", line, length);
		line += length + (line[length] == '\n');
	}
	if (matched)
		printf("time:  live session %.2f s wall (Bochs with the debugger); its replay "
		       "%.2f s wall (Bochs with the answers from the file)\n",
		       live_seconds, replay_seconds);
	else
		printf("bxkd demo: FAILED: the replay of the recorded session did not match "
		       "(exit status %d; %s)\n", p.status, log);
	free(said);
	free(replay_dir);
	free(log);
	return matched;
}

int bxkd_demo_main(int argc, char **argv)
{
	enum { OPT_SERIAL = 256 };
	static const struct option long_options[] = {
		{ "serial", no_argument, NULL, OPT_SERIAL },
		{ "workdir", required_argument, NULL, 'w' },
		{ "script", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct demo d = { .dbg_in = -1 };
	const char *script_arg = NULL, *workdir_arg = NULL;
	unsigned long timeout = DEFAULT_TIMEOUT_SECONDS;
	char *image = NULL, *symbols = NULL, *session = NULL, *tap_program = NULL, *dbg_program = NULL,
	     *plugin_dir = NULL, *workdir = NULL, *sockdir = NULL;
	char *copy = NULL, *bochsrc = NULL, *log_path = NULL, *config = NULL, *boot = NULL;
	char *tap_target = NULL, *tap_debugger = NULL, *dbg_target = NULL, *tap_log = NULL,
	     *dbg_log = NULL, *trace_path = NULL, *dbg_socket = NULL;
	char *replay_program = NULL, *recording = NULL;
	struct bxkd_proc tap = { 0 }, dbg = { 0 };
	struct bxkd_vm vm;
	int tap_out = -1, dbg_out = -1, status = BXKD_EXIT_FAILED, c;
	bool timed_out = false, stopped_bochs = false;
	char why[800];

	memset(&vm, 0, sizeof(vm));
	vm.out_fd = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "w:s:t:h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_SERIAL:
			d.serial = true;
			break;
		case 'w':
			workdir_arg = optarg;
			break;
		case 's':
			script_arg = optarg;
			break;
		case 't': {
			char *end;
			timeout = strtoul(optarg, &end, 10);
			if (*end || !*optarg || timeout == 0 || timeout > 86400)
				return demo_usage_error("--timeout wants 1..86400 seconds, not '%s'",
							optarg);
			break;
		}
		case 'h':
			usage(stdout);
			return BXKD_EXIT_PASSED;
		default:
			usage(stderr);
			return BXKD_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return demo_usage_error("unexpected argument '%s' (bxkd demo --help)", argv[optind]);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* ---- what it needs ---- */
	if (access(bxkd_bochs(), X_OK) != 0) {
		fprintf(stderr,
			"bxkd demo: cannot run Bochs (%s): %s; install Debian's bochs, bochs-sdl "
			"and bochsbios (scripts/setup-debian.sh), or set BXKD_BOCHS\n",
			bxkd_bochs(), strerror(errno));
		goto out;
	}
	if (!(image = need(BXKD_GUEST_IMAGE, "the test kernel (bxkd-guest.img)")) ||
	    !(symbols = need(BXKD_GUEST_SYMBOLS, "its symbols (kernel.symbols)")) ||
	    !(tap_program = need(BXKD_TAP, "bxkd-tap")) ||
	    !(dbg_program = need(BXKD_DBG, "bxkd-dbg")) ||
	    !(plugin_dir = need(BXKD_PLUGIN_DIR, "the vmport plugin (libbx_vmport.so)")))
		goto out;
	if (!d.serial && !(replay_program = need(BXKD_REPLAY, "bxkd-replay")))
		goto out;
	session = script_arg ? bxkd_strdup(script_arg) : need(BXKD_SESSION, "the session script");
	if (!session)
		goto out;
	if (!load_script(session, &d.script)) {
		status = demo_usage_error("cannot read the script %s: %s", session, strerror(errno));
		goto out;
	}
	if (!d.script.count) {
		status = demo_usage_error("the script %s has no commands", session);
		goto out;
	}

	/* ---- where ---- */
	if (workdir_arg) {
		if (!bxvm_make_directories(workdir_arg) || !(workdir = realpath(workdir_arg, NULL))) {
			fprintf(stderr, "bxkd demo: cannot create %s: %s\n", workdir_arg,
				strerror(errno));
			goto out;
		}
	} else {
		char dir[] = "/tmp/bxkd-demo.XXXXXX";
		if (!mkdtemp(dir)) {
			fprintf(stderr, "bxkd demo: mkdtemp: %s\n", strerror(errno));
			goto out;
		}
		workdir = bxkd_strdup(dir);
	}
	/* Sockets in a short directory of their own (108-byte paths). */
	char sockdir_template[] = "/tmp/bxkd-demo-kd.XXXXXX";
	if (!mkdtemp(sockdir_template)) {
		fprintf(stderr, "bxkd demo: mkdtemp: %s\n", strerror(errno));
		goto out;
	}
	sockdir = bxkd_strdup(sockdir_template);
	dbg_socket = bxkd_asprintf("%s/dbg.sock", sockdir);
	tap_debugger = bxkd_asprintf("unix:%s", dbg_socket);
	dbg_target = bxkd_asprintf("connect:%s", dbg_socket);
	if (d.serial) {
		unsigned port = bxkd_free_port("127.0.0.1");
		config = bxkd_asprintf("com1: enabled=1, mode=socket-server, dev=127.0.0.1:%u\n", port);
		tap_target = bxkd_asprintf("tcp-connect:127.0.0.1:%u", port);
	} else {
		config = bxkd_asprintf("vmport: kd_endpoint=unix:%s/vm.sock\n", sockdir);
		tap_target = bxkd_asprintf("connect:%s/vm.sock", sockdir);
	}

	/* ---- the machine ---- */
	boot = bxkd_asprintf("kernel=workload kd=%s kd_break=1", d.serial ? "serial" : "vmport");
	copy = bxkd_asprintf("%s/guest.img", workdir);
	if (!bxvm_copy_image(image, boot, copy, why, sizeof(why))) {
		fprintf(stderr, "bxkd demo: %s\n", why);
		goto out;
	}
	/* Our transport's session is recorded, to be replayed at the end;
	 * the image it boots is kept beside it for bxkd-replay. */
	if (!d.serial) {
		recording = bxkd_asprintf("%s/session.pcap", workdir);
		char *kept = bxvm_keep_session_image(copy, recording, why, sizeof(why));
		if (!kept) {
			fprintf(stderr, "bxkd demo: %s\n", why);
			goto out;
		}
		free(kept);
		char *more = bxkd_asprintf("%svmport: record=%s, session_image=%s\n", config,
					   recording, copy);
		free(config);
		config = more;
	}
	struct bxvm_machine machine;
	bxvm_machine_init(&machine);
	machine.written_by = "bxkd demo (launcher/demo.c)";
	machine.image = copy;
	log_path = bxkd_asprintf("%s/bochs.log", workdir);
	machine.log_path = log_path;
	machine.extra_config = config;
	bochsrc = bxkd_asprintf("%s/bochsrc", workdir);
	if (!bxvm_write_bochsrc(&machine, bochsrc)) {
		fprintf(stderr, "bxkd demo: cannot write %s: %s\n", bochsrc, strerror(errno));
		goto out;
	}

	printf("bxkd demo: the test kernel (%s) under Bochs, debugged over %s\n", boot,
	       d.serial ? "KDCOM on the emulated COM1 (the serial baseline)"
			: "the shared page on the VMware backdoor (vmport)");
	printf("  Bochs (%s %s) <-> bxkd-tap <-> %s <-> bxkd-dbg\n",
	       d.serial ? "COM1 listening on" : "kd_endpoint listening on",
	       strchr(tap_target, ':') + 1, dbg_socket);
	printf("  script %s\n", session);
	if (recording)
		printf("  the session is recorded in %s and replayed at the end\n", recording);
	printf("  bochsrc, bochs.log and the full KD trace (kd-trace.txt) in %s\n", workdir);
	printf("  (kd -> the debugger's packets to the kernel, kd <- the kernel's; "
	       "ACKs and the like only in the trace)\n");

	/* ---- start: the tap and the debugger first, so that nothing the
	 * kernel says at boot waits on a half-built chain ---- */
	bxkd_catch_signals(false);
	trace_path = bxkd_asprintf("%s/kd-trace.txt", workdir);
	d.trace = fopen(trace_path, "w");
	tap_log = bxkd_asprintf("%s/kd-tap.log", workdir);
	dbg_log = bxkd_asprintf("%s/bxkd-dbg.log", workdir);
	int tap_pipe[2], dbg_pipe[2], dbg_in_pipe[2];
	int tap_err = open(tap_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	int dbg_err = open(dbg_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (tap_err < 0 || dbg_err < 0 || pipe2(tap_pipe, O_CLOEXEC) || pipe2(dbg_pipe, O_CLOEXEC) ||
	    pipe2(dbg_in_pipe, O_CLOEXEC)) {
		fprintf(stderr, "bxkd demo: cannot set up pipes and logs: %s\n", strerror(errno));
		goto out;
	}
	char *tap_argv[] = { tap_program, "--quiet", tap_target, tap_debugger, NULL };
	bool started = bxkd_proc_start(&tap, tap_argv, NULL, BXKD_FD_NULL, tap_pipe[1], tap_err,
				       BXKD_PROC_OWN_GROUP);
	close(tap_pipe[1]);
	close(tap_err);
	tap_out = tap_pipe[0];
	struct stat st;
	for (int waited = 0; started && waited < 3000 && stat(dbg_socket, &st) != 0; waited += 10) {
		if (bxkd_proc_done(&tap))
			break;
		usleep(10000);
	}
	if (!started || stat(dbg_socket, &st) != 0) {
		printf("bxkd demo: bxkd-tap did not start\n");
		print_tail_of(tap_log, "bxkd-tap");
		close(dbg_pipe[0]);
		close(dbg_pipe[1]);
		close(dbg_in_pipe[0]);
		close(dbg_in_pipe[1]);
		close(dbg_err);
		goto stop;
	}
	char *dbg_argv[] = { dbg_program, "--json",    "--quiet",  "--symbols", symbols,
			     "--timeout", DBG_TIMEOUT, "--target", dbg_target,  NULL };
	started = bxkd_proc_start(&dbg, dbg_argv, NULL, dbg_in_pipe[0], dbg_pipe[1], dbg_err,
				  BXKD_PROC_OWN_GROUP);
	close(dbg_in_pipe[0]);
	close(dbg_pipe[1]);
	close(dbg_err);
	dbg_out = dbg_pipe[0];
	d.dbg_in = dbg_in_pipe[1];
	if (!started) {
		printf("bxkd demo: cannot start %s: %s\n", dbg_program, strerror(errno));
		goto stop;
	}
	send_next(&d);

	struct bxkd_vm_config vc = {
		.bochsrc = bochsrc,
		.workdir = workdir,
		.plugin_dir = plugin_dir,
		.display = BXVM_HEADLESS,
		/* COM1's client, the tap, leaves before the kernel ends. */
		.com1_serves_debugger = d.serial,
	};
	if (!bxkd_vm_start(&vm, &vc, why, sizeof(why))) {
		printf("bxkd demo: %s\n", why);
		goto stop;
	}

	/* ---- the session ---- */
	double deadline = vm.started + (double)timeout;
	while (vm.out_fd >= 0 || dbg_out >= 0) {
		if (bxkd_signal) {
			vm.interrupted = true;
			break;
		}
		if (bxkd_now() >= deadline) {
			timed_out = vm.timed_out = true;
			break;
		}
		/* Once bxkd-dbg is done, nobody answers the kernel any more:
		 * the tap goes too, so that the device drops the kernel's last
		 * prints at once instead of retrying them to nobody. */
		if (dbg_out < 0 && tap.pid) {
			bxkd_proc_stop(&tap, 1000);
			while (tap_out >= 0 && pump(&tap_out, &d.tap_lines, tap_line, &d))
				;
		}
		/* The tap stands for the machine: when the machine ends, so
		 * does the tap, and a wait-exit in flight is answered. */
		if (vm.out_fd < 0 && d.awaits_exit && tap.pid) {
			bxkd_proc_stop(&tap, 1000);
			while (tap_out >= 0 && pump(&tap_out, &d.tap_lines, tap_line, &d))
				;
		}
		/* A machine that ended takes the session with it. */
		if (vm.out_fd < 0 && dbg_out >= 0 && d.dbg_in >= 0 && !d.failed && !d.awaits_exit) {
			printf("bxkd demo: Bochs ended in the middle of the session\n");
			d.failed = true;
			send_next(&d);
			bxkd_proc_stop(&dbg, 500);
			while (dbg_out >= 0 && pump(&dbg_out, &d.dbg_lines, dbg_line, &d))
				;
		}
		/* A failed command leaves the kernel stopped for good. */
		if (d.failed && d.dbg_in < 0 && dbg_out < 0 && vm.bochs.pid) {
			bxkd_vm_stop(&vm);
			stopped_bochs = true;
		}
		struct pollfd fds[3];
		nfds_t n = 0;
		int *which[3];
		/* The tap first: a request is decoded before its answer arrives. */
		if (tap_out >= 0) {
			which[n] = &tap_out;
			fds[n++] = (struct pollfd){ tap_out, POLLIN, 0 };
		}
		if (vm.out_fd >= 0) {
			which[n] = &vm.out_fd;
			fds[n++] = (struct pollfd){ vm.out_fd, POLLIN, 0 };
		}
		if (dbg_out >= 0) {
			which[n] = &dbg_out;
			fds[n++] = (struct pollfd){ dbg_out, POLLIN, 0 };
		}
		if (poll(fds, n, 100) <= 0)
			continue;
		for (nfds_t i = 0; i < n; i++) {
			if (!fds[i].revents)
				continue;
			if (which[i] == &tap_out)
				pump(&tap_out, &d.tap_lines, tap_line, &d);
			else if (which[i] == &vm.out_fd)
				bxkd_vm_pump(&vm, guest_line, NULL);
			else {
				/* The tap passes bytes on before it decodes them, so an
				 * answer can overtake the tap's line about its reply. */
				tap_catch_up(&d, &tap_out);
				if (!pump(&dbg_out, &d.dbg_lines, dbg_line, &d) &&
				    d.answered < d.script.count)
					d.failed = true; /* it ended before answering everything */
			}
		}
	}

stop:
	if (d.dbg_in >= 0)
		close(d.dbg_in);
	d.dbg_in = -1;
	bxkd_proc_stop(&dbg, 1000);
	bxkd_proc_stop(&tap, 1000);
	while (tap_out >= 0 && pump(&tap_out, &d.tap_lines, tap_line, &d))
		;
	if (vm.bochs.pid && (d.failed || vm.timed_out || vm.interrupted)) {
		bxkd_vm_stop(&vm);
		stopped_bochs = d.failed && !vm.timed_out && !vm.interrupted;
	}
	if (vm.started)
		bxkd_vm_finish(&vm);

	/* ---- how it went ---- */
	printf("--\n");
	if (d.first_sent && d.last_answer)
		printf("time:  %zu of %zu commands answered in %.3f s wall after the initial stop "
		       "(%.3f s from the first command, start-up and attaching included)\n",
		       d.answered, d.script.count,
		       d.last_answer - d.first_answer,
		       d.last_answer - d.first_sent);
	if (vm.started && vm.ended)
		printf("       Bochs ran %.2f s wall", vm.ended - vm.started);
	if (vm.have_final_tick)
		printf("; the guest %.3f s emulated (%" PRIu64 " instructions at %u per second)",
		       (double)vm.final_tick / BXVM_DEFAULT_IPS, vm.final_tick, BXVM_DEFAULT_IPS);
	if (vm.started && vm.ended)
		printf("\n");
	if (vm.report.result_line)
		printf("%s\n", vm.report.result_line);
	if (timed_out)
		printf("bxkd demo: gave up after %lu s (--timeout)\n", timeout);
	if (d.failed || dbg.status != 0) {
		printf("bxkd demo: FAILED: the debugger session did not complete (%zu of %zu "
		       "commands answered, bxkd-dbg exit status %d)\n",
		       d.answered, d.script.count, dbg.status);
		print_tail_of(dbg_log, "bxkd-dbg");
		print_tail_of(tap_log, "bxkd-tap");
	}
	if (stopped_bochs) {
		printf("bxkd demo: Bochs was stopped: the kernel would wait for a debugger for "
		       "ever\n");
	} else if (vm.started && vm.outcome != BXVM_PASSED) {
		printf("bxkd demo: FAILED: the kernel: %s\n",
		       vm.interrupted ? "interrupted" : bxvm_outcome_name(vm.outcome));
		bxkd_vm_explain(&vm, stdout);
	}
	if (vm.started && vm.outcome == BXVM_PASSED && !d.failed && dbg.status == 0 &&
	    d.answered == d.script.count &&
	    (!recording || replay_recording(replay_program, recording, workdir,
					     vm.ended - vm.started))) {
		printf("bxkd demo: passed\n");
		status = BXKD_EXIT_PASSED;
	}
out:
	if (tap_out >= 0)
		close(tap_out);
	if (dbg_out >= 0)
		close(dbg_out);
	if (d.trace)
		fclose(d.trace);
	if (sockdir) {
		char *path = bxkd_asprintf("%s/vm.sock", sockdir);
		unlink(path);
		free(path);
		if (dbg_socket)
			unlink(dbg_socket);
		rmdir(sockdir);
	}
	bxkd_text_free(&d.tap_lines.partial);
	bxkd_text_free(&d.dbg_lines.partial);
	free(d.first_line);
	free_script(&d.script);
	bxkd_vm_free(&vm);
	free(image);
	free(symbols);
	free(session);
	free(tap_program);
	free(dbg_program);
	free(plugin_dir);
	free(workdir);
	free(sockdir);
	free(copy);
	free(bochsrc);
	free(log_path);
	free(config);
	free(boot);
	free(tap_target);
	free(tap_debugger);
	free(dbg_target);
	free(tap_log);
	free(dbg_log);
	free(trace_path);
	free(dbg_socket);
	free(replay_program);
	free(recording);
	return status;
}
