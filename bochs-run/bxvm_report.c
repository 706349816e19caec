/*
 * bxvm_report.c -- reading a run: Bochs' standard output, the guest's
 * console, Bochs' log and exit message, the verdict and the account of a
 * run that failed (bxvm.h).
 */
#include "config.h"

#include "bxvm.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static bool starts_with(const char *s, size_t length, const char *prefix)
{
	size_t n = strlen(prefix);

	return length >= n && strncmp(s, prefix, n) == 0;
}

static char *copy_of(const char *text, size_t length)
{
	char *copy = bxkd_xmalloc(length + 1);

	memcpy(copy, text, length);
	copy[length] = '\0';
	return copy;
}

/* Calls `each` for every line of `text` (without its newline). */
static void for_each_line(const char *text, bxkd_line_fn each, void *ctx)
{
	while (text && *text) {
		size_t length = strcspn(text, "\n");

		each(ctx, text, length);
		text += length + (text[length] == '\n');
	}
}

/* ---- Bochs' standard output ------------------------------------------------------- */

void bxvm_console_filter_init(struct bxvm_console_filter *f)
{
	memset(f, 0, sizeof(*f));
}

/* A debugger line such as "(0) [0x...] f000:fff0 ..." or "(0).[123] ...". */
static bool is_debugger_line(const char *line, size_t len)
{
	size_t i = 0;

	if (len < 4 || line[i++] != '(')
		return false;
	while (i < len && line[i] >= '0' && line[i] <= '9')
		i++;
	if (i == 1 || i + 2 > len || line[i] != ')')
		return false;
	i++;
	return (line[i] == ' ' || line[i] == '.') && line[i + 1] == '[';
}

bool bxvm_console_keep(struct bxvm_console_filter *f, const char *line, size_t len)
{
	/* Bochs prints its banner between two rules of '=' before anything else. */
	if (!f->started) {
		f->started = true;
		if (starts_with(line, len, "========"))
			f->banner_rules_left = 2;
	}
	if (f->banner_rules_left > 0) {
		if (starts_with(line, len, "========"))
			f->banner_rules_left--;
		return false;
	}
	return !starts_with(line, len, "Next at t=") && !starts_with(line, len, "<bochs:") &&
	       !is_debugger_line(line, len);
}

/* ---- the guest's console ------------------------------------------------------------ */

/* "<name> <pass|fail> <detail>"; anything else is malformed. */
static enum bxvm_console_kind parse_result(const char *line, size_t len,
					   struct bxvm_console_line *p)
{
	const char *end = line + len;
	const char *name_end = memchr(line, ' ', len);

	p->detail = line;
	p->detail_length = len;
	if (!name_end || name_end == line)
		return p->kind = BXVM_LINE_MALFORMED;
	const char *status = name_end + 1;
	const char *status_end = memchr(status, ' ', (size_t)(end - status));
	if (!status_end)
		status_end = end;
	size_t status_len = (size_t)(status_end - status);
	bool pass = status_len == 4 && !strncmp(status, "pass", 4);
	bool fail = status_len == 4 && !strncmp(status, "fail", 4);
	if (!pass && !fail)
		return p->kind = BXVM_LINE_MALFORMED;
	p->name = line;
	p->name_length = (size_t)(name_end - line);
	p->passed = pass;
	p->detail = status_end < end ? status_end + 1 : end;
	p->detail_length = (size_t)(end - p->detail);
	return p->kind = BXVM_LINE_RESULT;
}

/* "passed=<n> failed=<n>" and nothing after it. */
static bool parse_summary(const char *text, size_t len, struct bxvm_console_line *p)
{
	char copy[128];
	unsigned passed, failed;
	int consumed = 0;

	if (len >= sizeof(copy))
		return false;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (sscanf(copy, "passed=%u failed=%u%n", &passed, &failed, &consumed) != 2 ||
	    copy[consumed] != '\0')
		return false;
	p->summary_passed = passed;
	p->summary_failed = failed;
	return true;
}

enum bxvm_console_kind bxvm_parse_console_line(const char *line, size_t len,
					       struct bxvm_console_line *p)
{
	static const char result[] = "BXKD RESULT ", summary[] = "BXKD SUMMARY ",
			  fatal[] = "BXKD FATAL ";

	memset(p, 0, sizeof(*p));
	p->kind = BXVM_LINE_TEXT;
	if (starts_with(line, len, result))
		return parse_result(line + sizeof(result) - 1, len - (sizeof(result) - 1), p);
	if (starts_with(line, len, summary)) {
		if (parse_summary(line + sizeof(summary) - 1, len - (sizeof(summary) - 1), p))
			p->kind = BXVM_LINE_SUMMARY;
		return p->kind;
	}
	if (starts_with(line, len, fatal)) {
		p->reason = line + sizeof(fatal) - 1;
		p->reason_length = len - (sizeof(fatal) - 1);
		p->kind = BXVM_LINE_FATAL;
	}
	return p->kind;
}

/* ---- Bochs' log and exit message ---------------------------------------------------- */

static bool contains(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++) {
		if (s[i] == needle[0] && !memcmp(s + i, needle, n))
			return true;
	}
	return false;
}

void bxvm_parse_log_line(const char *line, size_t len, struct bxvm_log_line *p)
{
	uint64_t value = 0;
	size_t i = 0;

	memset(p, 0, sizeof(*p));
	while (i < len && line[i] >= '0' && line[i] <= '9' && i < 20)
		value = value * 10 + (uint64_t)(line[i++] - '0');
	if (i > 0) {
		p->has_tick = true;
		p->tick = value;
		while (i < len && line[i] >= '0' && line[i] <= '9')
			i++;
		if (i < len)
			p->level = line[i];
	}
	if (contains(line, len, ">>PANIC<<")) {
		p->panic = true;
		p->shutdown = contains(line, len, BXVM_SHUTDOWN_MESSAGE);
	}
}

char *bxvm_exit_message(const char *stderr_text, bool *shutdown)
{
	static const char exiting[] = "Bochs is exiting with the following message:\n";
	const char *message = strstr(stderr_text, exiting);

	*shutdown = false;
	if (!message)
		return NULL;
	message += sizeof(exiting) - 1;
	size_t len = strcspn(message, "\n");
	char *text = copy_of(message, len);
	*shutdown = strstr(text, BXVM_SHUTDOWN_MESSAGE) != NULL;
	return text;
}

/* ---- the report ---------------------------------------------------------------------- */

static void remember(char **where, const char *text, size_t length)
{
	free(*where);
	*where = copy_of(text, length);
}

static void add_test(struct bxvm_report *r, const char *name, size_t name_length, bool passed,
		     const char *detail, size_t detail_length)
{
	r->tests = bxkd_xrealloc(r->tests, (r->test_count + 1) * sizeof(*r->tests));
	r->tests[r->test_count].name = copy_of(name, name_length);
	r->tests[r->test_count].passed = passed;
	r->tests[r->test_count].detail = copy_of(detail, detail_length);
	r->test_count++;
}

/* A malformed result line is a failed test, so that it cannot go unnoticed. */
void bxvm_report_console_line(struct bxvm_report *r, const char *line, size_t length)
{
	static const char malformed[] = "(malformed result line)";
	struct bxvm_console_line parsed;

	switch (bxvm_parse_console_line(line, length, &parsed)) {
	case BXVM_LINE_RESULT:
		add_test(r, parsed.name, parsed.name_length, parsed.passed, parsed.detail,
			 parsed.detail_length);
		remember(&r->result_line, line, length);
		break;
	case BXVM_LINE_MALFORMED:
		add_test(r, malformed, sizeof(malformed) - 1, false, parsed.detail,
			 parsed.detail_length);
		remember(&r->result_line, line, length);
		break;
	case BXVM_LINE_SUMMARY:
		r->have_summary = true;
		r->summary_passed = parsed.summary_passed;
		r->summary_failed = parsed.summary_failed;
		remember(&r->summary_line, line, length);
		break;
	case BXVM_LINE_FATAL:
		if (!r->fatal)
			r->fatal = copy_of(parsed.reason, parsed.reason_length);
		break;
	case BXVM_LINE_TEXT:
		break;
	}
}

static void console_line(void *ctx, const char *line, size_t length)
{
	bxvm_report_console_line(ctx, line, length);
}

void bxvm_report_console(struct bxvm_report *r, const char *console)
{
	for_each_line(console, console_line, r);
}

static void log_line(void *ctx, const char *line, size_t length)
{
	struct bxvm_report *r = ctx;
	struct bxvm_log_line parsed;

	bxvm_parse_log_line(line, length, &parsed);
	if (parsed.has_tick && !r->shutdown_requested) {
		r->final_tick = parsed.tick;
		r->have_final_tick = true;
	}
	if (parsed.panic && parsed.shutdown)
		r->shutdown_requested = true;
	else if (parsed.panic && !r->panic)
		r->panic = copy_of(line, length);
}

void bxvm_report_log(struct bxvm_report *r, const char *log)
{
	for_each_line(log, log_line, r);
}

void bxvm_report_stderr(struct bxvm_report *r, const char *stderr_text)
{
	bool shutdown;
	char *message = bxvm_exit_message(stderr_text, &shutdown);

	if (!message)
		return;
	if (shutdown)
		r->shutdown_requested = true;
	else if (!r->panic)
		r->panic = bxkd_asprintf("Bochs exited: %s", message);
	free(message);
}

const struct bxvm_test_line *bxvm_report_find_test(const struct bxvm_report *r, const char *name)
{
	for (size_t i = 0; i < r->test_count; i++) {
		if (!strcmp(r->tests[i].name, name))
			return &r->tests[i];
	}
	return NULL;
}

void bxvm_report_free(struct bxvm_report *r)
{
	for (size_t i = 0; i < r->test_count; i++) {
		free(r->tests[i].name);
		free(r->tests[i].detail);
	}
	free(r->tests);
	free(r->fatal);
	free(r->result_line);
	free(r->summary_line);
	free(r->panic);
	memset(r, 0, sizeof(*r));
}

/* ---- classifying a run ------------------------------------------------------------------ */

const char *bxvm_outcome_name(enum bxvm_outcome outcome)
{
	switch (outcome) {
	case BXVM_PASSED:
		return "passed";
	case BXVM_TESTS_FAILED:
		return "guest tests failed";
	case BXVM_GUEST_FATAL:
		return "guest stopped on a fatal error";
	case BXVM_NO_SUMMARY:
		return "Bochs ended without the guest's summary and shutdown";
	case BXVM_BOCHS_PANIC:
		return "Bochs panicked";
	case BXVM_TIMEOUT:
		return "timed out";
	case BXVM_LAUNCH_FAILED:
		return "could not launch Bochs";
	}
	return "unknown outcome";
}

enum bxvm_outcome bxvm_classify(const struct bxvm_facts *f)
{
	if (f->fatal)
		return BXVM_GUEST_FATAL;
	if (f->panic)
		return BXVM_BOCHS_PANIC;
	if (!f->have_summary || !f->shutdown_requested)
		return BXVM_NO_SUMMARY;
	if (f->result_lines == 0 || f->failed_lines || f->summary_failed ||
	    f->summary_passed + f->summary_failed != f->result_lines)
		return BXVM_TESTS_FAILED;
	return BXVM_PASSED;
}

enum bxvm_outcome bxvm_report_classify(const struct bxvm_report *r)
{
	struct bxvm_facts facts = {
		.fatal = r->fatal != NULL,
		.panic = r->panic != NULL,
		.have_summary = r->have_summary,
		.summary_passed = r->summary_passed,
		.summary_failed = r->summary_failed,
		.shutdown_requested = r->shutdown_requested,
		.result_lines = r->test_count,
	};

	for (size_t i = 0; i < r->test_count; i++)
		facts.failed_lines += !r->tests[i].passed;
	return bxvm_classify(&facts);
}

/* ---- explaining a run --------------------------------------------------------------------- */

unsigned bxvm_print_log_problems(FILE *out, const char *log, unsigned limit, const char *indent)
{
	unsigned shown = 0;

	while (log && *log && shown < limit) {
		size_t len = strcspn(log, "\n");
		struct bxvm_log_line parsed;
		bxvm_parse_log_line(log, len, &parsed);
		/* Panics and errors: the character after the tick is the level. */
		if (parsed.has_tick && (parsed.level == 'p' || parsed.level == 'e')) {
			fprintf(out, "%s%.*s\n", indent, (int)len, log);
			shown++;
		}
		log += len + (log[len] == '\n');
	}
	return shown;
}

void bxvm_print_tail(FILE *out, const char *text, unsigned lines)
{
	const char *start = text + strlen(text);
	unsigned seen = 0;

	while (start > text && seen <= lines) {
		start--;
		if (*start == '\n' && start[1] != '\0')
			seen++;
	}
	if (seen > lines)
		start++;
	fprintf(out, "%s", start);
	if (*start && start[strlen(start) - 1] != '\n')
		fputc('\n', out);
}

void bxvm_explain_report(FILE *out, const struct bxvm_report *r, const char *log,
			 const char *stderr_text, const char *workdir, bool stopped)
{
	if (r->fatal)
		fprintf(out, "  guest: BXKD FATAL %s\n", r->fatal);
	if (r->panic && !stopped)
		fprintf(out, "  bochs: %s\n", r->panic);
	for (size_t i = 0; i < r->test_count; i++) {
		if (!r->tests[i].passed)
			fprintf(out, "  failed guest test %s: %s\n", r->tests[i].name,
				r->tests[i].detail);
	}
	if (r->have_summary && r->summary_passed + r->summary_failed != r->test_count)
		fprintf(out, "  summary counts %u tests but %zu result lines were seen\n",
			r->summary_passed + r->summary_failed, r->test_count);
	if (!r->have_summary && !r->fatal && !r->panic && !stopped)
		fprintf(out, "  the guest printed no BXKD SUMMARY line%s\n",
			r->shutdown_requested ? "" : " and did not shut the machine down");
	if (stopped) {
		fprintf(out, "  Bochs log: %s/bochs.log\n", workdir);
	} else if (log && *log) {
		fprintf(out, "  Bochs log (%s/bochs.log), panics and errors:\n", workdir);
		if (!bxvm_print_log_problems(out, log, 12, "    "))
			fprintf(out, "    (none)\n");
	} else if (stderr_text && *stderr_text) {
		fprintf(out, "  Bochs standard error, last lines:\n");
		bxvm_print_tail(out, stderr_text, 8);
	}
}
