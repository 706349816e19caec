/*
 * bxkd-dbg -- a scriptable kernel debugger client for any bxkd endpoint.
 *
 * It attaches like WinDbg (break-in, RESET, wait for the stop) and offers
 * the operations tests, the demo and benchmarks need, one command at a
 * time from the command line, a script or standard input, with readable or
 * JSON output. The first failing command ends the run.
 *
 * This file drives the session: options, symbols, the link's callbacks,
 * answers, and reading command lines; the commands are dbg_commands.c.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "bxkd/dbgkd.h"
#include "cli.h"
#include "dbg_session.h"
#include "kdtrace.h"
#include "log.h"


/* ---- answers ------------------------------------------------------------------ */

struct json_object *dbg_answer(const char *command)
{
	struct json_object *answer = json_object_new_object();

	json_object_object_add(answer, "command", kdtrace_json_bytes(command, strlen(command)));
	json_object_object_add(answer, "ok", json_object_new_boolean(true));
	return answer;
}

void dbg_print_answer(struct json_object *answer)
{
	printf("%s\n", kdtrace_json_text(answer));
	json_object_put(answer);
}

bool dbg_failed(struct session *s, const char *command, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (s->json) {
		struct json_object *answer = dbg_answer(command);
		json_object_object_add(answer, "ok", json_object_new_boolean(false));
		json_object_object_add(answer, "error", kdtrace_json_bytes(why, strlen(why)));
		if (s->where)
			json_object_object_add(answer, "where",
					       kdtrace_json_bytes(s->where, strlen(s->where)));
		dbg_print_answer(answer);
	} else if (s->where) {
		bxkd_warn("%s: %s: %s", s->where, command, why);
	} else {
		bxkd_warn("%s: %s", command, why);
	}
	fflush(stdout);
	return false;
}

bool dbg_ok_line(struct session *s, const char *command, const char *human, ...)
{
	va_list ap;

	if (s->json) {
		dbg_print_answer(dbg_answer(command));
	} else if (human) {
		va_start(ap, human);
		vprintf(human, ap);
		va_end(ap);
	}
	return true;
}

/* ---- the link's callbacks ---------------------------------------------------------- */

static void on_log(void *ctx, enum bxkd_log_level level, const char *message)
{
	struct session *s = ctx;

	(void)level;
	if (!s->quiet)
		bxkd_warn("%s", message);
}

static void on_print(void *ctx, const char *text, size_t length)
{
	struct session *s = ctx;

	s->prints = bxkd_xrealloc(s->prints, s->prints_length + length + 1);
	memcpy(s->prints + s->prints_length, text, length);
	s->prints_length += length;
	s->prints[s->prints_length] = '\0';
	if (s->breakin_trigger && memmem(text, length, s->breakin_trigger,
					 strlen(s->breakin_trigger))) {
		kdclient_queue_breakin(s->client);
		s->breakin_trigger = NULL;
	}
	if (!s->json && !s->quiet)
		printf("[target] %.*s%s", (int)length, text,
		       length && text[length - 1] == '\n' ? "" : "\n");
}

/* ---- parsing ------------------------------------------------------------------- */

bool dbg_number(const char *text, uint64_t *value)
{
	char *end;

	if (!text || !*text || *text == '-')
		return false;
	errno = 0;
	*value = strtoull(text, &end, 0);
	return !errno && !*end;
}

/* ---- symbols ----------------------------------------------------------------- */

static int by_address(const void *a, const void *b)
{
	const struct symbol *x = a, *y = b;

	return x->address < y->address ? -1 : x->address > y->address;
}

/* Reads nm output ("80103600 T workload_round"); other lines are skipped. */
static bool load_symbols(struct session *s, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512], name[400], type;
	unsigned long long address;
	size_t cap = 0;

	if (!f) {
		bxkd_warn("cannot read %s: %s", path, strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %399s", &address, &type, name) != 3)
			continue;
		if (s->symbol_count == cap) {
			cap = cap ? 2 * cap : 256;
			s->symbols = bxkd_xrealloc(s->symbols, cap * sizeof(*s->symbols));
		}
		s->symbols[s->symbol_count].address = address;
		s->symbols[s->symbol_count].name = bxkd_strdup(name);
		s->symbol_count++;
	}
	fclose(f);
	qsort(s->symbols, s->symbol_count, sizeof(*s->symbols), by_address);
	return true;
}

/* "name", "name+offset" or "name-offset" (offset in C syntax): the last
 * for a physical address, name-0x80000000 in the test kernel. */
static bool symbol_value(const struct session *s, const char *text, uint64_t *value)
{
	char name[400];
	const char *sign = strpbrk(text, "+-");
	size_t length = sign ? (size_t)(sign - text) : strlen(text);
	uint64_t offset = 0;

	if (length == 0 || length >= sizeof(name) || (sign && !dbg_number(sign + 1, &offset)))
		return false;
	memcpy(name, text, length);
	name[length] = '\0';
	for (size_t i = 0; i < s->symbol_count; i++) {
		if (!strcmp(s->symbols[i].name, name)) {
			*value = sign && *sign == '-' ? s->symbols[i].address - offset
						      : s->symbols[i].address + offset;
			return true;
		}
	}
	return false;
}

bool dbg_address_of(const struct session *s, const char *text, uint64_t *value)
{
	return dbg_number(text, value) || symbol_value(s, text, value);
}

bool dbg_bad_address(struct session *s, const char *command, const char *text)
{
	if (text[0] >= '0' && text[0] <= '9')
		return dbg_usage(s, command, "ADDRESS is a number or a symbol from --symbols");
	s->usage_error = true;
	if (!s->symbol_count)
		return dbg_failed(s, command, "unknown symbol '%s' (no --symbols file given)", text);
	return dbg_failed(s, command, "unknown symbol '%s'", text);
}

/* "name+0x9" for the symbol at or below `address`, "" without one. */
static void symbolize(const struct session *s, uint64_t address, char *out, size_t size)
{
	const struct symbol *best = NULL;

	out[0] = '\0';
	for (size_t i = 0; i < s->symbol_count && s->symbols[i].address <= address; i++)
		best = &s->symbols[i];
	if (!best)
		return;
	if (best->address == address)
		snprintf(out, size, "%s", best->name);
	else
		snprintf(out, size, "%s+0x%llx", best->name,
			 (unsigned long long)(address - best->address));
}

uint64_t dbg_shown_address(const struct session *s, uint64_t address)
{
	return kdclient_machine(s->client) == DBGKD_MACHINE_AMD64 ? address : address & 0xffffffffu;
}

int dbg_address_digits(const struct session *s)
{
	return kdclient_machine(s->client) == DBGKD_MACHINE_AMD64 ? 16 : 8;
}

void dbg_print_stop(struct session *s, const char *command)
{
	const struct dbgkd_any_wait_state_change *sc = kdclient_last_stop(s->client);
	uint32_t code = sc->u.exception.record.exception_code;
	uint64_t pc = dbg_shown_address(s, sc->program_counter);
	char where[440];

	symbolize(s, pc, where, sizeof(where));
	if (s->json) {
		struct json_object *answer = dbg_answer(command);
		json_object_object_add(answer, "stopped", json_object_new_boolean(true));
		json_object_object_add(answer, "code", kdtrace_json_hex(code, 8));
		json_object_object_add(answer, "pc", kdtrace_json_hex(pc, dbg_address_digits(s)));
		if (where[0])
			json_object_object_add(answer, "symbol", kdtrace_json_bytes(where, strlen(where)));
		json_object_object_add(answer, "processor", json_object_new_uint64(sc->processor));
		dbg_print_answer(answer);
	} else {
		printf("stopped: %s (0x%08x) at 0x%0*" PRIx64 "%s%s\n",
		       code == DBGKD_STATUS_BREAKPOINT	 ? "breakpoint"
		       : code == DBGKD_STATUS_SINGLE_STEP ? "single step"
							   : "exception",
		       code, dbg_address_digits(s), pc, where[0] ? " " : "", where);
	}
}

/* ---- the command loop ------------------------------------------------------------------ */

/* A command line as words; comments (#) dropped. No limit on the line's
 * length or its number of words: a write of any size is one line. */
struct line_words {
	char *text;
	char **w;
	int n;
};

static void split(const char *line, struct line_words *lw)
{
	size_t cap = 8;

	lw->text = bxkd_strdup(line);
	lw->text[strcspn(lw->text, "#")] = '\0';
	lw->w = bxkd_xmalloc(cap * sizeof(*lw->w));
	lw->n = 0;
	for (char *save, *w = strtok_r(lw->text, " \t\r\n", &save); w;
	     w = strtok_r(NULL, " \t\r\n", &save)) {
		if ((size_t)lw->n == cap)
			lw->w = bxkd_xrealloc(lw->w, (cap *= 2) * sizeof(*lw->w));
		lw->w[lw->n++] = w;
	}
}

static void free_words(struct line_words *lw)
{
	free(lw->text);
	free(lw->w);
}

/* One line of commands; false when its command failed. With s->checking
 * the command only checks its words. */
static bool run(struct session *s, const char *line)
{
	struct line_words lw;

	split(line, &lw);
	bool ok = lw.n == 0 || dbg_run_words(s, lw.w, lw.n);
	free_words(&lw);
	return ok;
}

/* The commands to run: the script's lines, then the arguments. */
struct command_list {
	char **lines;
	char **where; /* FILE:LINE or "argument N" */
	size_t count, cap;
};

static void add_command(struct command_list *l, const char *line, const char *where)
{
	if (l->count == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->lines = bxkd_xrealloc(l->lines, l->cap * sizeof(*l->lines));
		l->where = bxkd_xrealloc(l->where, l->cap * sizeof(*l->where));
	}
	l->lines[l->count] = bxkd_strdup(line);
	l->where[l->count++] = bxkd_strdup(where);
}

static void free_commands(struct command_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		free(l->lines[i]);
		free(l->where[i]);
	}
	free(l->lines);
	free(l->where);
}

/* Runs the lines of standard input as they come, until one fails or quits. */
static bool run_stdin(struct session *s)
{
	char *line = NULL;
	size_t cap = 0;
	bool ok = true;

	while (ok && !s->quit && getline(&line, &cap, stdin) >= 0) {
		ok = run(s, line);
		fflush(stdout);
	}
	free(line);
	return ok;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bxkd-dbg --target ENDPOINT [options] [COMMAND ...]\n"
		"Attaches to a KD target and runs commands: each argument is one command\n"
		"line; with none (and no --script) they are read from standard input.\n"
		"\n"
		"  -t, --target ENDPOINT   connect:PATH (a bxkd socket), tcp-connect:HOST:PORT,\n"
		"                          tty:DEVICE, or a listener (unix:PATH, tcp:PORT)\n"
		"  -s, --script FILE       run the commands in FILE, one per line (# comments)\n"
		"  -j, --json              one JSON object per command on standard output\n"
		"  -T, --timeout SECONDS   per command (default 10)\n"
		"  -R, --resend-timeout MS the link's resend time-out (default 250); lost\n"
		"                          requests are asked again after 8 of them\n"
		"  -q, --quiet             no link messages, no live prints\n"
		"  -S, --symbols FILE      names for addresses: nm output, e.g. build/guest/\n"
		"                          kernel.symbols; commands then take NAME[+OFFSET]\n"
		"\n"
		"commands:\n");
	dbg_print_command_help(out);
	fprintf(out,
		"\n"
		"Exit status: 0 if every command succeeded, 1 at the first failure, 2 on usage.\n");
}

struct options {
	const char *target, *script;
	uint32_t resend_timeout_ms;
};

struct parsing {
	struct session *s;
	struct options *o;
};

/* A number 1..most, or the complaint. */
static bool bounded_option(const char *value, uint64_t most, const char *complaint,
			   uint64_t *number)
{
	if (dbg_number(value, number) && *number > 0 && *number <= most)
		return true;
	bxkd_warn("%s", complaint);
	return false;
}

static bool take_option(void *ctx, int key, char *value)
{
	struct parsing *p = ctx;
	uint64_t number;

	switch (key) {
	case 'S':
		return load_symbols(p->s, value);
	case 't':
		p->o->target = value;
		break;
	case 's':
		p->o->script = value;
		break;
	case 'j':
		p->s->json = true;
		break;
	case 'T':
		if (!bounded_option(value, 86400, "--timeout wants 1..86400 seconds", &number))
			return false;
		p->s->timeout_ms = (uint32_t)(number * 1000);
		break;
	case 'q':
		p->s->quiet = true;
		break;
	case 'R':
		if (!bounded_option(value, 60000, "--resend-timeout wants 1..60000 milliseconds",
				    &number))
			return false;
		p->o->resend_timeout_ms = (uint32_t)number;
		break;
	}
	return true;
}

/* Reads the options into `s` and `o`; returns the exit status to end
 * with, or BXKD_CLI_GO_ON. */
static int parse_options(int argc, char **argv, struct session *s, struct options *o)
{
	static const struct option options[] = {
		{ "target", required_argument, NULL, 't' }, { "script", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },	    { "timeout", required_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },	    { "help", no_argument, NULL, 'h' },
		{ "symbols", required_argument, NULL, 'S' },
		{ "resend-timeout", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	struct parsing parsing = { s, o };
	int status = bxkd_cli_parse(argc, argv, options, 0, -1, take_option, &parsing, usage);

	if (status == BXKD_CLI_GO_ON && !o->target) {
		usage(stderr);
		return BXKD_CLI_EXIT_USAGE;
	}
	return status;
}

/* The script's lines, then the arguments; false (usage) if the script
 * cannot be read. */
static bool gather_commands(const struct options *o, int argc, char **argv,
			    struct command_list *l)
{
	char where[600];

	if (o->script) {
		FILE *f = fopen(o->script, "r");
		char *line = NULL;
		size_t cap = 0;
		if (!f) {
			bxkd_warn("cannot read %s: %s", o->script, strerror(errno));
			return false;
		}
		for (unsigned number = 1; getline(&line, &cap, f) >= 0; number++) {
			snprintf(where, sizeof(where), "%s:%u", o->script, number);
			add_command(l, line, where);
		}
		free(line);
		fclose(f);
	}
	for (int i = optind; i < argc; i++) {
		snprintf(where, sizeof(where), "argument %d", i - optind + 1);
		add_command(l, argv[i], where);
	}
	return true;
}

/* Every command is checked before the first one touches the target: a
 * typo on the last line must not leave a half-run session behind. */
static bool check_commands(struct session *s, const struct command_list *l)
{
	bool ok = true;

	s->checking = true;
	for (size_t i = 0; i < l->count; i++) {
		s->where = l->where[i];
		ok = run(s, l->lines[i]) && ok;
	}
	s->checking = false;
	s->where = NULL;
	return ok;
}

/* The commands of the script, then the arguments, else standard input. */
static bool run_commands(struct session *s, const struct options *o, const struct command_list *l,
			 int argc)
{
	bool ok = true;

	for (size_t i = 0; ok && !s->quit && i < l->count; i++)
		ok = run(s, l->lines[i]);
	if (!o->script && optind == argc)
		ok = run_stdin(s);
	return ok;
}

static void end_session(struct session *s)
{
	fflush(stdout);
	kdclient_close(s->client);
	free(s->prints);
}

static void free_symbols(struct session *s)
{
	for (size_t i = 0; i < s->symbol_count; i++)
		free(s->symbols[i].name);
	free(s->symbols);
}

/* The commands checked, then run against the target; the exit status. */
static int run_session(struct session *s, const struct options *o, int argc, char **argv,
		       struct command_list *commands)
{
	struct kdclient_options co;
	char error[256];

	if (!gather_commands(o, argc, argv, commands) || !check_commands(s, commands))
		return BXKD_CLI_EXIT_USAGE;
	kdclient_options_init(&co);
	if (o->resend_timeout_ms)
		co.resend_timeout_ms = o->resend_timeout_ms;
	if (!kdep_parse(o->target, &co.endpoint, error, sizeof(error))) {
		bxkd_warn("%s", error);
		return 2;
	}
	co.log = (struct bxkd_log){ on_log, s };
	co.print = on_print;
	co.print_ctx = s;
	s->client = kdclient_open(&co, error, sizeof(error));
	if (!s->client) {
		bxkd_warn("%s", error);
		return 1;
	}
	bool ok = run_commands(s, o, commands, argc);
	end_session(s);
	return ok ? 0 : s->usage_error ? BXKD_CLI_EXIT_USAGE : 1;
}

int main(int argc, char **argv)
{
	struct session s = { .timeout_ms = 10000 };
	struct options o = { NULL, NULL, 0 };
	struct command_list commands = { 0 };

	bxkd_set_program("bxkd-dbg");
	int status = parse_options(argc, argv, &s, &o);
	if (status < 0)
		status = run_session(&s, &o, argc, argv, &commands);
	free_commands(&commands);
	free_symbols(&s);
	return status;
}
