/*
 * dbg_commands.c -- bxkd-dbg's commands and their table (dbg_session.h).
 *
 * Each command reads its words, talks to the target through kdclient and
 * answers with one line: text for a person, or one JSON object (json-c).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "alloc.h"
#include "bxkd/dbgkd.h"
#include "dbg_session.h"
#include "kdcom_engine.h"
#include "kdtrace.h"
#include "log.h"
#include "process.h"

/* The most a reply carries: a manipulate packet's room for data. */
#define CHUNK ((size_t)(KDCOM_MAX_PAYLOAD - sizeof(struct dbgkd_manipulate_state64)))

/* Bytes as a string of hex digits. */
static struct json_object *hex_string(const uint8_t *data, size_t length)
{
	char *digits = bxkd_xmalloc(2 * length + 1);

	for (size_t i = 0; i < length; i++)
		snprintf(digits + 2 * i, 3, "%02x", data[i]);
	digits[2 * length] = '\0';
	struct json_object *string = json_object_new_string_len(digits, (int)(2 * length));
	free(digits);
	return string;
}

/* The progress line is for a person at a terminal: redrawn in place at
 * most ten times a second, and never written into a log. */
static bool dump_progress_shown;
static double dump_progress_last;


/* x86 kernel addresses travel sign-extended, as Windows sends them. */
static uint64_t kd_address(struct session *s, uint64_t address)
{
	if (kdclient_machine(s->client) != DBGKD_MACHINE_AMD64 && address <= UINT32_MAX)
		return (uint64_t)(int64_t)(int32_t)address;
	return address;
}

/* Hex digits into out, which has room for strlen(text) / 2 bytes. */
static bool parse_hex(const char *text, uint8_t *out, size_t *length)
{
	size_t n = strlen(text);

	if (n % 2 || n == 0)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		unsigned byte;
		char pair[3] = { text[i], text[i + 1], 0 };
		if (sscanf(pair, "%2x", &byte) != 1 || !strchr("0123456789abcdefABCDEF", pair[1]))
			return false;
		out[i / 2] = (uint8_t)byte;
	}
	*length = n / 2;
	return true;
}

/* ---- operations ------------------------------------------------------------------- */

bool dbg_request_failed(struct session *s, const char *command, enum kdclient_status st,
			uint32_t status, const char *what)
{
	if (st != KDCLIENT_OK)
		return dbg_failed(s, command, "%s: %s", what, kdclient_status_name(st));
	return dbg_failed(s, command, "%s: the target answered status 0x%08x", what, status);
}

enum kdclient_status dbg_request(struct session *s, uint32_t api, struct dbgkd_manipulate_state64 *m,
				    const void *data, size_t length, void *reply,
				    size_t capacity, size_t *reply_length)
{
	m->api_number = api;
	return kdclient_request(s->client, m, data, length, m, reply, capacity, reply_length,
				s->timeout_ms);
}

static bool cmd_connect(struct session *s, char **w, int n)
{
	(void)w;
	(void)n;
	if (s->checking)
		return true;
	enum kdclient_status st = kdclient_connect(s->client, s->timeout_ms);
	const struct kdclient_module *modules;

	if (st != KDCLIENT_OK)
		return dbg_failed(s, "connect", "%s (endpoint %s)", kdclient_status_name(st),
			      kdep_address(kdclient_endpoint(s->client)));
	size_t count = kdclient_modules(s->client, &modules);
	if (!s->json) {
		for (size_t i = 0; i < count; i++)
			printf("module: %s at 0x%0*" PRIx64 " (%u bytes)\n", modules[i].path,
			       dbg_address_digits(s), dbg_shown_address(s, modules[i].base),
			       modules[i].size);
	}
	dbg_print_stop(s, "connect");
	return true;
}

static bool cmd_version(struct session *s, char **w, int n)
{
	(void)w;
	(void)n;
	if (s->checking)
		return true;
	const struct dbgkd_get_version64 *v = kdclient_version(s->client);
	if (!v)
		return dbg_failed(s, "version", "not connected");
	if (s->json) {
		struct json_object *answer = dbg_answer("version");
		const struct {
			const char *key;
			uint64_t value;
			int digits; /* as hex; 0: a decimal number */
		} fields[] = {
			{ "major", v->major_version, 4 },
			{ "build", v->minor_version, 0 },
			{ "protocol", v->protocol_version, 0 },
			{ "flags", v->flags, 4 },
			{ "machine", v->machine_type, 4 },
			{ "kern_base", v->kern_base, 16 },
			{ "ps_loaded_module_list", v->ps_loaded_module_list, 16 },
			{ "debugger_data_list", v->debugger_data_list, 16 },
		};
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			json_object_object_add(answer, fields[i].key,
					       fields[i].digits ? kdtrace_json_hex(fields[i].value, fields[i].digits)
								: json_object_new_uint64(fields[i].value));
		dbg_print_answer(answer);
	}
	else
		printf("version: build %u, protocol %u, machine 0x%04x, flags 0x%04x, kernel at "
		       "0x%016" PRIx64 ", module list 0x%016" PRIx64 ", debugger data 0x%016" PRIx64
		       "\n",
		       v->minor_version, v->protocol_version, v->machine_type, v->flags, v->kern_base,
		       v->ps_loaded_module_list, v->debugger_data_list);
	return true;
}

/* Reads [address, address + length) in reply-sized pieces into buf. */
static bool read_range(struct session *s, const char *command, bool physical, uint64_t address,
		       uint8_t *buf, size_t length, size_t *got, void (*progress)(size_t, size_t))
{
	*got = 0;
	while (*got < length) {
		struct dbgkd_manipulate_state64 m;
		size_t want = length - *got < CHUNK ? length - *got : CHUNK, n;
		memset(&m, 0, sizeof(m));
		m.u.read_memory.target_base_address =
			physical ? address + *got : kd_address(s, address + *got);
		m.u.read_memory.transfer_count = (uint32_t)want;
		enum kdclient_status st =
			dbg_request(s, physical ? DBGKD_READ_PHYSICAL_MEMORY_API : DBGKD_READ_VIRTUAL_MEMORY_API,
				&m, NULL, 0, buf + *got, want, &n);
		if (st != KDCLIENT_OK)
			return dbg_failed(s, command, "%s", kdclient_status_name(st));
		*got += n < want ? n : want;
		if (progress)
			progress(*got, length);
		if (m.return_status != DBGKD_STATUS_SUCCESS || n < want)
			return dbg_failed(s, command,
				      "cannot read 0x%" PRIx64 ": status 0x%08x after %zu of %zu bytes",
				      address + *got, m.return_status, *got, length);
	}
	return true;
}

static bool read_memory(struct session *s, char **w, int n, bool physical)
{
	const char *command = physical ? "readphys" : "read";
	uint64_t address, length;
	size_t got;

	if (n != 3)
		return dbg_usage(s, command, NULL);
	if (!dbg_address_of(s, w[1], &address))
		return dbg_bad_address(s, command, w[1]);
	if (!dbg_number(w[2], &length) || length > 1u << 24)
		return dbg_usage(s, command, "at most 16 MiB");
	if (s->checking)
		return true;
	uint8_t *buf = bxkd_xmalloc(length ? length : 1);
	bool ok = read_range(s, command, physical, address, buf, length, &got, NULL);
	if (ok && s->json) {
		struct json_object *answer = dbg_answer(command);
		json_object_object_add(answer, "address", kdtrace_json_hex(address, 0));
		json_object_object_add(answer, "length", json_object_new_uint64(got));
		json_object_object_add(answer, "data", hex_string(buf, got));
		dbg_print_answer(answer);
	} else if (ok) {
		for (size_t i = 0; i < got; i += 16) {
			printf("%08" PRIx64 ": ", address + i);
			for (size_t k = i; k < i + 16; k++)
				k < got ? printf("%02x ", buf[k]) : printf("   ");
			for (size_t k = i; k < i + 16 && k < got; k++)
				putchar(buf[k] >= 0x20 && buf[k] < 0x7f ? buf[k] : '.');
			putchar('\n');
		}
	}
	free(buf);
	return ok;
}

/* Writes in packet-sized pieces, each verified by the count its reply says
 * was written. */
static bool write_range(struct session *s, const char *command, bool physical, uint64_t address,
			const uint8_t *data, size_t length)
{
	char why[120];

	for (size_t done = 0; done < length;) {
		struct dbgkd_manipulate_state64 m;
		size_t piece = length - done < CHUNK ? length - done : CHUNK, unused;
		memset(&m, 0, sizeof(m));
		m.u.write_memory.target_base_address =
			physical ? address + done : kd_address(s, address + done);
		m.u.write_memory.transfer_count = (uint32_t)piece;
		enum kdclient_status st = dbg_request(s, physical ? DBGKD_WRITE_PHYSICAL_MEMORY_API
							      : DBGKD_WRITE_VIRTUAL_MEMORY_API,
						  &m, data + done, piece, NULL, 0, &unused);
		if (st != KDCLIENT_OK || m.return_status != DBGKD_STATUS_SUCCESS ||
		    m.u.write_memory.actual_bytes != piece) {
			size_t wrote = st == KDCLIENT_OK && m.u.write_memory.actual_bytes < piece
					       ? m.u.write_memory.actual_bytes
					       : 0;
			snprintf(why, sizeof(why), "cannot write 0x%" PRIx64 " after %zu of %zu bytes",
				 address + done + wrote, done + wrote, length);
			return dbg_request_failed(s, command, st, m.return_status, why);
		}
		done += piece;
	}
	return true;
}

static bool write_memory(struct session *s, char **w, int n, bool physical)
{
	const char *command = physical ? "writephys" : "write";
	uint64_t address;
	size_t length;

	if (n != 3)
		return dbg_usage(s, command, NULL);
	if (!dbg_address_of(s, w[1], &address))
		return dbg_bad_address(s, command, w[1]);
	uint8_t *data = bxkd_xmalloc(strlen(w[2]) / 2 + 1);
	if (!parse_hex(w[2], data, &length)) {
		free(data);
		return dbg_usage(s, command, "HEXBYTES: an even number of hex digits");
	}
	bool ok = s->checking || write_range(s, command, physical, address, data, length);
	free(data);
	if (!ok || s->checking)
		return ok;
	return dbg_ok_line(s, command, "wrote %zu bytes at 0x%" PRIx64 "\n", length, address);
}

static bool write_breakpoint(struct session *s, const char *command, uint64_t address,
			     uint32_t *handle)
{
	struct dbgkd_manipulate_state64 m;
	size_t length;

	memset(&m, 0, sizeof(m));
	m.u.write_breakpoint.breakpoint_address = kd_address(s, address);
	enum kdclient_status st = dbg_request(s, DBGKD_WRITE_BREAKPOINT_API, &m, NULL, 0, NULL, 0, &length);
	if (st != KDCLIENT_OK || m.return_status != DBGKD_STATUS_SUCCESS) {
		char what[160];
		/* kd64 refuses a second breakpoint at one address: asked again
		 * after the link lost the first copy's reply, the refusal may
		 * mean the first copy set it, under a handle we never saw. */
		bool maybe_set = st == KDCLIENT_OK && kdclient_request_reissued(s->client);
		snprintf(what, sizeof(what), "WriteBreakPoint at 0x%" PRIx64 "%s",
			 dbg_shown_address(s, address),
			 maybe_set ? " (asked again after the link lost the first copy, which "
				     "may have set it under a handle never seen)"
				   : "");
		return dbg_request_failed(s, command, st, m.return_status, what);
	}
	*handle = m.u.write_breakpoint.breakpoint_handle;
	return true;
}

static bool restore_breakpoint(struct session *s, const char *command, uint32_t handle)
{
	struct dbgkd_manipulate_state64 m;
	size_t length;

	memset(&m, 0, sizeof(m));
	m.u.restore_breakpoint_handle = handle;
	enum kdclient_status st = dbg_request(s, DBGKD_RESTORE_BREAKPOINT_API, &m, NULL, 0, NULL, 0, &length);
	/* Asked again after the link lost it, the first may have cleared it. */
	if (st == KDCLIENT_OK && m.return_status != DBGKD_STATUS_SUCCESS &&
	    kdclient_request_reissued(s->client))
		return true;
	if (st == KDCLIENT_OK && m.return_status == DBGKD_STATUS_SUCCESS)
		return true;
	char what[40];
	snprintf(what, sizeof(what), "RestoreBreakPoint %u", handle);
	return dbg_request_failed(s, command, st, m.return_status, what);
}

static bool cmd_bp(struct session *s, char **w, int n)
{
	uint64_t address;
	int slot = -1;

	if (n != 2)
		return dbg_usage(s, "bp", NULL);
	if (!dbg_address_of(s, w[1], &address))
		return dbg_bad_address(s, "bp", w[1]);
	if (s->checking)
		return true;
	for (int i = 0; i < DBG_MAX_BREAKPOINTS && slot < 0; i++)
		if (!s->breakpoints[i].used)
			slot = i;
	if (slot < 0)
		return dbg_failed(s, "bp", "all %d breakpoints in use", DBG_MAX_BREAKPOINTS);
	struct breakpoint *bp = &s->breakpoints[slot];
	if (!write_breakpoint(s, "bp", address, &bp->handle))
		return false;
	bp->used = true;
	bp->address = kd_address(s, address); /* as the stop's PC will say it */
	uint64_t shown = dbg_shown_address(s, bp->address);
	if (s->json) {
		struct json_object *answer = dbg_answer("bp");
		json_object_object_add(answer, "number", json_object_new_int(slot));
		json_object_object_add(answer, "address", kdtrace_json_hex(shown, dbg_address_digits(s)));
		dbg_print_answer(answer);
	}
	else
		printf("breakpoint %d at 0x%0*" PRIx64 "\n", slot, dbg_address_digits(s), shown);
	return true;
}

static bool cmd_bc(struct session *s, char **w, int n)
{
	uint64_t which = 0;
	bool all = n == 2 && !strcmp(w[1], "all");

	if (n != 2 || (!all && (!dbg_number(w[1], &which) || which >= DBG_MAX_BREAKPOINTS ||
				(!s->checking && !s->breakpoints[which].used))))
		return dbg_usage(s, "bc", "a breakpoint bp gave");
	if (s->checking)
		return true;
	for (int i = 0; i < DBG_MAX_BREAKPOINTS; i++) {
		if (!s->breakpoints[i].used || (!all && (uint64_t)i != which))
			continue;
		if (!restore_breakpoint(s, "bc", s->breakpoints[i].handle))
			return false;
		s->breakpoints[i].used = false;
	}
	return dbg_ok_line(s, "bc", "cleared\n");
}

static struct breakpoint *breakpoint_at_pc(struct session *s)
{
	uint64_t pc = kd_address(s, kdclient_last_stop(s->client)->program_counter);

	for (int i = 0; i < DBG_MAX_BREAKPOINTS; i++) {
		if (s->breakpoints[i].used && s->breakpoints[i].address == pc)
			return &s->breakpoints[i];
	}
	return NULL;
}

/*
 * One instruction. A breakpoint under the PC would trap again at once, so
 * it is lifted for the step and put back after, as WinDbg does.
 */
static bool single_step(struct session *s, const char *command)
{
	struct breakpoint *bp = breakpoint_at_pc(s);

	if (bp && !restore_breakpoint(s, command, bp->handle))
		return false;
	enum kdclient_status st = kdclient_continue(s->client, DBGKD_DBG_CONTINUE, true);
	if (st == KDCLIENT_OK)
		st = kdclient_wait(s->client, s->timeout_ms);
	if (st != KDCLIENT_OK)
		return dbg_failed(s, command, "%s", kdclient_status_name(st));
	if (bp && !write_breakpoint(s, command, bp->address, &bp->handle))
		return false;
	return true;
}

static bool cmd_step(struct session *s, char **w, int n)
{
	uint64_t count = 1;

	if (n > 2 || (n == 2 && (!dbg_number(w[1], &count) || count == 0)))
		return dbg_usage(s, "step", NULL);
	if (s->checking)
		return true;
	if (!kdclient_stopped(s->client))
		return dbg_failed(s, "step", "the target is running");
	for (uint64_t i = 0; i < count; i++) {
		if (!single_step(s, "step"))
			return false;
		dbg_print_stop(s, "step");
	}
	return true;
}

static bool cmd_go(struct session *s, char **w, int n)
{
	(void)w;
	(void)n;
	if (s->checking)
		return true;
	if (!kdclient_stopped(s->client))
		return dbg_failed(s, "go", "the target is running");
	if (breakpoint_at_pc(s) && !single_step(s, "go"))
		return false;
	enum kdclient_status st = kdclient_continue(s->client, DBGKD_DBG_CONTINUE, false);
	if (st != KDCLIENT_OK)
		return dbg_failed(s, "go", "%s", kdclient_status_name(st));
	return dbg_ok_line(s, "go", "running\n");
}

static bool cmd_wait(struct session *s, char **w, int n)
{
	uint64_t seconds = s->timeout_ms / 1000;

	if (n > 2 || (n == 2 && !dbg_number(w[1], &seconds)))
		return dbg_usage(s, "wait", NULL);
	if (s->checking)
		return true;
	enum kdclient_status st = kdclient_wait(s->client, (uint32_t)(seconds * 1000));
	if (st != KDCLIENT_OK)
		return dbg_failed(s, "wait", "%s", kdclient_status_name(st));
	dbg_print_stop(s, "wait");
	return true;
}

static bool cmd_breakin(struct session *s, char **w, int n)
{
	(void)w;
	(void)n;
	if (s->checking)
		return true;
	if (kdclient_stopped(s->client))
		return dbg_failed(s, "breakin", "the target is already stopped");
	kdclient_breakin(s->client);
	enum kdclient_status st = kdclient_wait(s->client, s->timeout_ms);
	if (st != KDCLIENT_OK)
		return dbg_failed(s, "breakin", "%s", kdclient_status_name(st));
	dbg_print_stop(s, "breakin");
	return true;
}

/* Breaks in as the target prints TEXT: the break-in leaves with that
 * print's acknowledgement, so the target stops at the same place each
 * time (a recording of it is the same each time). */
static bool cmd_breakin_at_print(struct session *s, char **w, int n)
{
	char text[256];
	size_t length = 0;

	if (n < 2)
		return dbg_usage(s, "breakin-at-print", NULL);
	if (s->checking)
		return true;
	if (kdclient_stopped(s->client))
		return dbg_failed(s, "breakin-at-print", "the target is already stopped");
	/* The words as one text, single spaces between them. */
	for (int i = 1; i < n; i++) {
		int wrote = snprintf(text + length, sizeof(text) - length, "%s%s", i > 1 ? " " : "",
				     w[i]);
		if (wrote < 0 || (size_t)wrote >= sizeof(text) - length)
			return dbg_failed(s, "breakin-at-print", "TEXT is longer than %zu bytes",
				      sizeof(text) - 1);
		length += (size_t)wrote;
	}
	s->breakin_trigger = text;
	enum kdclient_status st = kdclient_wait(s->client, s->timeout_ms);
	bool triggered = !s->breakin_trigger;
	s->breakin_trigger = NULL;
	if (st != KDCLIENT_OK)
		return dbg_failed(s, "breakin-at-print", "%s%s", kdclient_status_name(st),
			      triggered ? "" : " (the text was not printed)");
	dbg_print_stop(s, "breakin-at-print");
	return true;
}

/* Lets a running target run; the link keeps going (prints are taken). */
static bool cmd_sleep(struct session *s, char **w, int n)
{
	uint64_t ms;

	if (n != 2 || !dbg_number(w[1], &ms) || ms > 3600000)
		return dbg_usage(s, "sleep", NULL);
	if (s->checking)
		return true;
	if (kdclient_stopped(s->client))
		return dbg_failed(s, "sleep", "the target is stopped; 'go' first");
	enum kdclient_status st = kdclient_wait(s->client, (uint32_t)ms);
	if (st == KDCLIENT_OK)
		dbg_print_stop(s, "sleep"); /* it stopped by itself meanwhile */
	else if (st == KDCLIENT_TIMEOUT)
		dbg_ok_line(s, "sleep", NULL);
	else
		return dbg_failed(s, "sleep", "%s", kdclient_status_name(st));
	return true;
}

/* Stays attached while the target runs to its end, so that the debugger
 * leaving is no event of the session (recordings end the same each time). */
static bool cmd_wait_exit(struct session *s, char **w, int n)
{
	uint64_t seconds = s->timeout_ms / 1000;

	if (n > 2 || (n == 2 && !dbg_number(w[1], &seconds)))
		return dbg_usage(s, "wait-exit", NULL);
	if (s->checking)
		return true;
	if (kdclient_stopped(s->client))
		return dbg_failed(s, "wait-exit", "the target is stopped; 'go' first");
	enum kdclient_status st = kdclient_wait_gone(s->client, (uint32_t)(seconds * 1000));
	if (st != KDCLIENT_OK)
		return dbg_failed(s, "wait-exit", "%s", kdclient_status_name(st));
	if (kdclient_stopped(s->client)) {
		dbg_print_stop(s, "wait-exit");
		return dbg_failed(s, "wait-exit", "the target stopped instead of ending");
	}
	return dbg_ok_line(s, "wait-exit", "the target went away\n");
}

static bool cmd_prints(struct session *s, char **w, int n)
{
	(void)w;
	(void)n;
	if (s->checking)
		return true;
	if (s->json) {
		struct json_object *answer = dbg_answer("prints");
		json_object_object_add(answer, "text",
				       kdtrace_json_bytes(s->prints ? s->prints : "", s->prints_length));
		dbg_print_answer(answer);
	} else {
		printf("%.*s", (int)s->prints_length, s->prints ? s->prints : "");
	}
	s->prints_length = 0;
	return true;
}

static void dump_progress(size_t done, size_t total)
{
	double now = bxkd_now();

	if (!dump_progress_shown || (now - dump_progress_last < 0.1 && done < total))
		return;
	dump_progress_last = now;
	fprintf(stderr, "\r%s: dump %zu / %zu bytes (%.0f%%)", bxkd_program(), done, total,
		total ? 100.0 * (double)done / (double)total : 100.0);
}

static bool cmd_dump(struct session *s, char **w, int n)
{
	bool physical = n == 5 && !strcmp(w[4], "--physical");
	uint64_t address, length;
	size_t got;

	if (n != 4 && !physical)
		return dbg_usage(s, "dump", NULL);
	if (!dbg_address_of(s, w[2], &address))
		return dbg_bad_address(s, "dump", w[2]);
	if (!dbg_number(w[3], &length) || length > (uint64_t)1 << 32)
		return dbg_usage(s, "dump", NULL);
	if (s->checking)
		return true;
	FILE *f = fopen(w[1], "wb");
	if (!f)
		return dbg_failed(s, "dump", "cannot write %s: %s", w[1], strerror(errno));
	uint8_t *buf = malloc(length ? length : 1);
	if (!buf) {
		fclose(f);
		return dbg_failed(s, "dump", "cannot hold %llu bytes in memory",
			      (unsigned long long)length);
	}
	dump_progress_shown = !s->quiet && !s->json && isatty(STDERR_FILENO);
	dump_progress_last = 0;
	double start = bxkd_now();
	bool ok = read_range(s, "dump", physical, address, buf, length, &got, dump_progress);
	double elapsed = bxkd_now() - start;
	if (dump_progress_shown)
		fputc('\n', stderr);
	if (fwrite(buf, 1, got, f) != got || fclose(f) != 0)
		ok = dbg_failed(s, "dump", "writing %s: %s", w[1], strerror(errno));
	free(buf);
	if (!ok)
		return false;
	double rate = elapsed > 0 ? (double)got / elapsed : 0;
	if (s->json) {
		struct json_object *answer = dbg_answer("dump");
		json_object_object_add(answer, "file", kdtrace_json_bytes(w[1], strlen(w[1])));
		json_object_object_add(answer, "bytes", json_object_new_uint64(got));
		json_object_object_add(answer, "seconds", kdtrace_json_decimal(elapsed, 3));
		json_object_object_add(answer, "bytes_per_second", kdtrace_json_decimal(rate, 0));
		dbg_print_answer(answer);
	} else {
		printf("dumped %zu bytes to %s in %.3f s (%.1f KiB/s)\n", got, w[1], elapsed,
		       rate / 1024);
	}
	return true;
}

static bool cmd_read(struct session *s, char **w, int n)
{
	return read_memory(s, w, n, false);
}

static bool cmd_readphys(struct session *s, char **w, int n)
{
	return read_memory(s, w, n, true);
}

static bool cmd_write(struct session *s, char **w, int n)
{
	return write_memory(s, w, n, false);
}

static bool cmd_writephys(struct session *s, char **w, int n)
{
	return write_memory(s, w, n, true);
}

/* "! COMMAND" expects COMMAND to fail (a read of an unmapped page, say):
 * it succeeds when COMMAND does not, and a script can go on to check
 * what comes after. */
static bool cmd_expect_failure(struct session *s, char **w, int n)
{
	if (n == 1)
		return dbg_usage(s, "!", "a command that is expected to fail");
	if (s->checking)
		return dbg_run_words(s, w + 1, n - 1);
	if (!dbg_run_words(s, w + 1, n - 1))
		return dbg_ok_line(s, "!", "%s failed, as expected\n", w[1]);
	return dbg_failed(s, "!", "%s succeeded, but was expected to fail", w[1]);
}

static bool cmd_quit(struct session *s, char **w, int n)
{
	(void)w;
	(void)n;
	if (!s->checking)
		s->quit = true;
	return true;
}

/* As WinDbg's qd: every breakpoint taken out, the target resumed, the
 * session over. A running target is stopped first to take them out. */
static bool cmd_detach(struct session *s, char **w, int n)
{
	(void)w;
	(void)n;
	if (s->checking)
		return true;
	if (!kdclient_stopped(s->client)) {
		kdclient_breakin(s->client);
		enum kdclient_status st = kdclient_wait(s->client, s->timeout_ms);
		if (st != KDCLIENT_OK)
			return dbg_failed(s, "detach", "breaking in: %s", kdclient_status_name(st));
	}
	for (int i = 0; i < DBG_MAX_BREAKPOINTS; i++) {
		if (!s->breakpoints[i].used)
			continue;
		if (!restore_breakpoint(s, "detach", s->breakpoints[i].handle))
			return false;
		s->breakpoints[i].used = false;
	}
	enum kdclient_status st = kdclient_continue(s->client, DBGKD_DBG_CONTINUE, false);
	if (st != KDCLIENT_OK)
		return dbg_failed(s, "detach", "%s", kdclient_status_name(st));
	s->quit = true;
	return dbg_ok_line(s, "detach", "detached; the target runs\n");
}

static bool cmd_help(struct session *s, char **w, int n);

static const struct dbg_command commands[] = {
	{ "connect", "", "break in, reset the link, wait for the target to stop", cmd_connect },
	{ "version", "", "the kernel's version block", cmd_version },
	{ "regs", "", "registers of the stopped processor", dbg_cmd_regs },
	{ "setreg", "NAME VALUE", "x86: eax..edi, esp, ebp, eip; x64: rax..r15, rip, mxcsr, fpcw, fpsw; eflags, segments, dr7",
	  dbg_cmd_setreg },
	{ "rdmsr", "MSR", "a model-specific register, as far as the target allows",
	  dbg_cmd_rdmsr },
	{ "wrmsr", "MSR VALUE", "write a model-specific register the target allows",
	  dbg_cmd_wrmsr },
	{ "read", "ADDRESS LENGTH", "virtual memory", cmd_read },
	{ "readphys", "ADDRESS LENGTH", "physical memory", cmd_readphys },
	{ "write", "ADDRESS HEXBYTES", "write virtual memory", cmd_write },
	{ "writephys", "ADDRESS HEXBYTES", "write physical memory", cmd_writephys },
	{ "bp", "ADDRESS", "set a breakpoint", cmd_bp },
	{ "bc", "NUMBER|all", "clear breakpoints", cmd_bc },
	{ "go", "", "resume", cmd_go },
	{ "step", "[COUNT]", "single-step", cmd_step },
	{ "wait", "[SECONDS]", "wait for a stop", cmd_wait },
	{ "breakin", "", "stop a running target", cmd_breakin },
	{ "prints", "", "debug prints since the last 'prints'", cmd_prints },
	{ "sleep", "MILLISECONDS", "let a running target run that long", cmd_sleep },
	{ "wait-exit", "[SECONDS]", "stay attached until the running target goes away",
	  cmd_wait_exit },
	{ "breakin-at-print", "TEXT", "break in as the running target prints TEXT",
	  cmd_breakin_at_print },
	{ "dump", "FILE ADDRESS LENGTH [--physical]", "bulk read with progress and throughput",
	  cmd_dump },
	{ "!", "COMMAND", "COMMAND must fail (an unmapped read, say)", cmd_expect_failure },
	{ "detach", "", "clear every breakpoint, resume the target and end the session",
	  cmd_detach },
	{ "link", "", "the link's faults and recovery times so far", dbg_cmd_link },
	{ "help", "", "this list of commands", cmd_help },
	{ "quit", "", "end the run", cmd_quit },
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

const struct dbg_command *dbg_find_command(const char *name)
{
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* "NAME SYNTAX", or the name alone. */
static void command_line(const struct dbg_command *c, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s", c->name, *c->syntax ? " " : "", c->syntax);
}

void dbg_print_command_help(FILE *out)
{
	char line[128];

	for (size_t i = 0; i < COMMAND_COUNT; i++) {
		command_line(&commands[i], line, sizeof(line));
		fprintf(out, "  %-34s %s\n", line, commands[i].help);
	}
}

static bool cmd_help(struct session *s, char **w, int n)
{
	(void)w;
	(void)n;
	if (s->checking)
		return true;
	if (!s->json) {
		dbg_print_command_help(stdout);
		return true;
	}
	struct json_object *answer = dbg_answer("help");
	struct json_object *list = json_object_new_array();
	for (size_t i = 0; i < COMMAND_COUNT; i++) {
		struct json_object *command = json_object_new_object();
		json_object_object_add(command, "name", json_object_new_string(commands[i].name));
		json_object_object_add(command, "syntax", json_object_new_string(commands[i].syntax));
		json_object_object_add(command, "help", json_object_new_string(commands[i].help));
		json_object_array_add(list, command);
	}
	json_object_object_add(answer, "commands", list);
	dbg_print_answer(answer);
	return true;
}

bool dbg_usage(struct session *s, const char *command, const char *detail)
{
	const struct dbg_command *c = dbg_find_command(command);
	char line[128];

	command_line(c, line, sizeof(line));
	s->usage_error = true;
	if (detail)
		return dbg_failed(s, command, "usage: %s (%s)", line, detail);
	return dbg_failed(s, command, "usage: %s", line);
}

bool dbg_run_words(struct session *s, char **w, int n)
{
	const struct dbg_command *c = dbg_find_command(w[0]);

	if (!c) {
		s->usage_error = true;
		return dbg_failed(s, w[0], "unknown command (try --help)");
	}
	return c->run(s, w, n);
}
