/*
 * bxkd-dbg -- a scriptable kernel debugger client for any bxkd endpoint.
 *
 * It attaches like WinDbg (break-in, RESET, wait for the stop) and offers
 * the operations tests, the demo and benchmarks need, one command at a
 * time from the command line, a script or standard input, with readable or
 * JSON output. The first failing command ends the run.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "bxkd/dbgkd.h"
#include "kdclient.h"
#include "kdcom_engine.h"

#define MAX_WORDS 8
#define MAX_BREAKPOINTS 32
#define CHUNK ((size_t)(KDCOM_MAX_PAYLOAD - sizeof(struct dbgkd_manipulate_state64)))

struct breakpoint {
	bool used;
	uint64_t address;
	uint32_t handle; /* the target's */
};

/* A name from --symbols: nm's "ADDRESS TYPE NAME" lines. */
struct symbol {
	uint64_t address;
	char *name;
};

struct session {
	struct kdclient *client;
	bool json, quiet;
	struct symbol *symbols; /* sorted by address */
	size_t symbol_count;
	uint32_t timeout_ms;
	struct breakpoint breakpoints[MAX_BREAKPOINTS];
	char *prints;
	size_t prints_length;
	/* breakin-at-print: the text that triggers the break-in, until it has. */
	const char *breakin_trigger;
};

/* ---- output ------------------------------------------------------------------ */

static void json_string(FILE *out, const char *text, size_t length)
{
	fputc('"', out);
	for (size_t i = 0; i < length; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", out);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void hex(FILE *out, const uint8_t *data, size_t length)
{
	for (size_t i = 0; i < length; i++)
		fprintf(out, "%02x", data[i]);
}

static bool failed(struct session *s, const char *command, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool failed(struct session *s, const char *command, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (s->json) {
		printf("{\"command\":");
		json_string(stdout, command, strlen(command));
		printf(",\"ok\":false,\"error\":");
		json_string(stdout, why, strlen(why));
		printf("}\n");
	} else {
		fprintf(stderr, "bxkd-dbg: %s: %s\n", command, why);
	}
	fflush(stdout);
	return false;
}

static void on_log(void *ctx, enum bxkd_log_level level, const char *message)
{
	struct session *s = ctx;

	(void)level;
	if (!s->quiet)
		fprintf(stderr, "bxkd-dbg: %s\n", message);
}

static void on_print(void *ctx, const char *text, size_t length)
{
	struct session *s = ctx;
	char *more = realloc(s->prints, s->prints_length + length + 1);

	if (!more)
		return;
	s->prints = more;
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

static bool number(const char *text, uint64_t *value)
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
		fprintf(stderr, "bxkd-dbg: cannot read %s: %s\n", path, strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %399s", &address, &type, name) != 3)
			continue;
		if (s->symbol_count == cap) {
			cap = cap ? 2 * cap : 256;
			struct symbol *grown = realloc(s->symbols, cap * sizeof(*grown));
			if (!grown)
				break;
			s->symbols = grown;
		}
		s->symbols[s->symbol_count].address = address;
		s->symbols[s->symbol_count].name = strdup(name);
		if (s->symbols[s->symbol_count].name)
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

	if (length == 0 || length >= sizeof(name) || (sign && !number(sign + 1, &offset)))
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

/* An address: a number, or a symbol from --symbols with an offset. */
static bool address_of(const struct session *s, const char *text, uint64_t *value)
{
	return number(text, value) || symbol_value(s, text, value);
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

/* x86 kernel addresses travel sign-extended, as Windows sends them. */
static uint64_t kd_address(struct session *s, uint64_t address)
{
	const struct dbgkd_get_version64 *v = kdclient_version(s->client);

	if ((!v || !(v->flags & DBGKD_VERS_FLAG_PTR64)) && address <= UINT32_MAX)
		return (uint64_t)(int64_t)(int32_t)address;
	return address;
}

static bool parse_hex(const char *text, uint8_t *out, size_t cap, size_t *length)
{
	size_t n = strlen(text);

	if (n % 2 || n / 2 > cap)
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

static enum kdclient_status request(struct session *s, uint32_t api, struct dbgkd_manipulate_state64 *m,
				    const void *data, size_t length, void *reply,
				    size_t capacity, size_t *reply_length)
{
	m->api_number = api;
	return kdclient_request(s->client, m, data, length, m, reply, capacity, reply_length,
				s->timeout_ms);
}

static bool get_context(struct session *s, const char *command, struct x86_context *context)
{
	struct dbgkd_manipulate_state64 m;
	size_t length;

	memset(&m, 0, sizeof(m));
	enum kdclient_status st = request(s, DBGKD_GET_CONTEXT_API, &m, NULL, 0, context,
					  sizeof(*context), &length);
	if (st != KDCLIENT_OK)
		return failed(s, command, "GetContext: %s", kdclient_status_name(st));
	if (m.return_status != DBGKD_STATUS_SUCCESS || length != sizeof(*context))
		return failed(s, command, "GetContext: status 0x%08x, %zu bytes", m.return_status,
			      length);
	return true;
}

static const struct {
	const char *name;
	size_t offset;
} registers[] = {
	{ "eax", offsetof(struct x86_context, eax) },	 { "ebx", offsetof(struct x86_context, ebx) },
	{ "ecx", offsetof(struct x86_context, ecx) },	 { "edx", offsetof(struct x86_context, edx) },
	{ "esi", offsetof(struct x86_context, esi) },	 { "edi", offsetof(struct x86_context, edi) },
	{ "ebp", offsetof(struct x86_context, ebp) },	 { "esp", offsetof(struct x86_context, esp) },
	{ "eip", offsetof(struct x86_context, eip) },	 { "eflags", offsetof(struct x86_context, eflags) },
	{ "cs", offsetof(struct x86_context, seg_cs) },	 { "ss", offsetof(struct x86_context, seg_ss) },
	{ "ds", offsetof(struct x86_context, seg_ds) },	 { "es", offsetof(struct x86_context, seg_es) },
	{ "fs", offsetof(struct x86_context, seg_fs) },	 { "gs", offsetof(struct x86_context, seg_gs) },
	{ "dr7", offsetof(struct x86_context, dr7) },
};

static uint32_t *register_slot(struct x86_context *c, const char *name)
{
	for (size_t i = 0; i < sizeof(registers) / sizeof(*registers); i++) {
		if (!strcmp(registers[i].name, name))
			return (uint32_t *)((uint8_t *)c + registers[i].offset);
	}
	return NULL;
}

static void print_stop(struct session *s, const char *command)
{
	const struct dbgkd_any_wait_state_change *sc = kdclient_last_stop(s->client);
	uint32_t code = sc->u.exception.record.exception_code;
	char where[440];

	symbolize(s, (uint32_t)sc->program_counter, where, sizeof(where));
	if (s->json) {
		printf("{\"command\":\"%s\",\"ok\":true,\"stopped\":true,\"code\":\"0x%08x\","
		       "\"pc\":\"0x%08" PRIx32 "\",",
		       command, code, (uint32_t)sc->program_counter);
		if (where[0]) {
			printf("\"symbol\":");
			json_string(stdout, where, strlen(where));
			printf(",");
		}
		printf("\"processor\":%u}\n", sc->processor);
	} else {
		printf("stopped: %s (0x%08x) at 0x%08" PRIx32 "%s%s\n",
		       code == DBGKD_STATUS_BREAKPOINT	 ? "breakpoint"
		       : code == DBGKD_STATUS_SINGLE_STEP ? "single step"
							   : "exception",
		       code, (uint32_t)sc->program_counter, where[0] ? " " : "", where);
	}
}

static bool ok_line(struct session *s, const char *command, const char *human, ...)
	__attribute__((format(printf, 3, 4)));

/* A command with nothing else to say. */
static bool ok_line(struct session *s, const char *command, const char *human, ...)
{
	va_list ap;

	if (s->json) {
		printf("{\"command\":\"%s\",\"ok\":true}\n", command);
	} else if (human) {
		va_start(ap, human);
		vprintf(human, ap);
		va_end(ap);
	}
	return true;
}

static bool cmd_connect(struct session *s)
{
	enum kdclient_status st = kdclient_connect(s->client, s->timeout_ms);
	const struct kdclient_module *modules;

	if (st != KDCLIENT_OK)
		return failed(s, "connect", "%s (endpoint %s)", kdclient_status_name(st),
			      kdep_address(kdclient_endpoint(s->client)));
	size_t count = kdclient_modules(s->client, &modules);
	if (!s->json) {
		for (size_t i = 0; i < count; i++)
			printf("module: %s at 0x%08" PRIx64 " (%u bytes)\n", modules[i].path,
			       modules[i].base & 0xffffffffu, modules[i].size);
	}
	print_stop(s, "connect");
	return true;
}

static bool cmd_version(struct session *s)
{
	const struct dbgkd_get_version64 *v = kdclient_version(s->client);

	if (!v)
		return failed(s, "version", "not connected");
	if (s->json)
		printf("{\"command\":\"version\",\"ok\":true,\"major\":\"0x%04x\",\"build\":%u,"
		       "\"protocol\":%u,\"flags\":\"0x%04x\",\"machine\":\"0x%04x\","
		       "\"kern_base\":\"0x%016" PRIx64 "\",\"ps_loaded_module_list\":\"0x%016" PRIx64
		       "\",\"debugger_data_list\":\"0x%016" PRIx64 "\"}\n",
		       v->major_version, v->minor_version, v->protocol_version, v->flags,
		       v->machine_type, v->kern_base, v->ps_loaded_module_list,
		       v->debugger_data_list);
	else
		printf("version: build %u, protocol %u, machine 0x%04x, flags 0x%04x, kernel at "
		       "0x%016" PRIx64 ", module list 0x%016" PRIx64 ", debugger data 0x%016" PRIx64
		       "\n",
		       v->minor_version, v->protocol_version, v->machine_type, v->flags, v->kern_base,
		       v->ps_loaded_module_list, v->debugger_data_list);
	return true;
}

static bool cmd_regs(struct session *s)
{
	struct x86_context c;

	if (!get_context(s, "regs", &c))
		return false;
	if (s->json) {
		printf("{\"command\":\"regs\",\"ok\":true");
		for (size_t i = 0; i < sizeof(registers) / sizeof(*registers); i++)
			printf(",\"%s\":\"0x%08x\"", registers[i].name,
			       *register_slot(&c, registers[i].name));
		printf("}\n");
	} else {
		printf("eax=%08x ebx=%08x ecx=%08x edx=%08x esi=%08x edi=%08x\n"
		       "eip=%08x esp=%08x ebp=%08x eflags=%08x\n"
		       "cs=%04x ss=%04x ds=%04x es=%04x fs=%04x gs=%04x\n",
		       c.eax, c.ebx, c.ecx, c.edx, c.esi, c.edi, c.eip, c.esp, c.ebp, c.eflags,
		       c.seg_cs, c.seg_ss, c.seg_ds, c.seg_es, c.seg_fs, c.seg_gs);
	}
	return true;
}

static bool cmd_setreg(struct session *s, char **w, int n)
{
	struct x86_context c;
	struct dbgkd_manipulate_state64 m;
	uint64_t value;
	size_t length;
	uint32_t *slot;

	if (n != 3 || !number(w[2], &value) || value > UINT32_MAX)
		return failed(s, "setreg", "usage: setreg NAME VALUE");
	if (!get_context(s, "setreg", &c))
		return false;
	if (!(slot = register_slot(&c, w[1])))
		return failed(s, "setreg", "no register '%s'", w[1]);
	*slot = (uint32_t)value;
	memset(&m, 0, sizeof(m));
	m.u.set_context_flags = c.context_flags;
	enum kdclient_status st = request(s, DBGKD_SET_CONTEXT_API, &m, &c, sizeof(c), NULL, 0, &length);
	if (st != KDCLIENT_OK || m.return_status != DBGKD_STATUS_SUCCESS)
		return failed(s, "setreg", "SetContext: %s, status 0x%08x",
			      kdclient_status_name(st), m.return_status);
	return ok_line(s, "setreg", "%s = 0x%08x\n", w[1], (uint32_t)value);
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
			request(s, physical ? DBGKD_READ_PHYSICAL_MEMORY_API : DBGKD_READ_VIRTUAL_MEMORY_API,
				&m, NULL, 0, buf + *got, want, &n);
		if (st != KDCLIENT_OK)
			return failed(s, command, "%s", kdclient_status_name(st));
		*got += n < want ? n : want;
		if (progress)
			progress(*got, length);
		if (m.return_status != DBGKD_STATUS_SUCCESS || n < want)
			return failed(s, command,
				      "cannot read 0x%" PRIx64 ": status 0x%08x after %zu of %zu bytes",
				      address + *got, m.return_status, *got, length);
	}
	return true;
}

static bool cmd_read(struct session *s, char **w, int n, bool physical)
{
	const char *command = physical ? "readphys" : "read";
	uint64_t address, length;
	size_t got;

	if (n != 3 || !address_of(s, w[1], &address) || !number(w[2], &length) || length > 1u << 24)
		return failed(s, command, "usage: %s ADDRESS LENGTH (at most 16 MiB)", command);
	uint8_t *buf = malloc(length ? length : 1);
	bool ok = read_range(s, command, physical, address, buf, length, &got, NULL);
	if (ok && s->json) {
		printf("{\"command\":\"%s\",\"ok\":true,\"address\":\"0x%" PRIx64 "\",\"length\":%zu,"
		       "\"data\":\"",
		       command, address, got);
		hex(stdout, buf, got);
		printf("\"}\n");
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

static bool cmd_write(struct session *s, char **w, int n, bool physical)
{
	const char *command = physical ? "writephys" : "write";
	uint8_t data[CHUNK];
	uint64_t address;
	size_t length, written;

	if (n != 3 || !address_of(s, w[1], &address) ||
	    !parse_hex(w[2], data, sizeof(data), &length))
		return failed(s, command, "usage: %s ADDRESS HEXBYTES (at most %zu bytes)", command,
			      CHUNK);
	struct dbgkd_manipulate_state64 m;
	memset(&m, 0, sizeof(m));
	m.u.write_memory.target_base_address = physical ? address : kd_address(s, address);
	m.u.write_memory.transfer_count = (uint32_t)length;
	enum kdclient_status st = request(s, physical ? DBGKD_WRITE_PHYSICAL_MEMORY_API
						      : DBGKD_WRITE_VIRTUAL_MEMORY_API,
					  &m, data, length, NULL, 0, &written);
	if (st != KDCLIENT_OK)
		return failed(s, command, "%s", kdclient_status_name(st));
	if (m.return_status != DBGKD_STATUS_SUCCESS || m.u.write_memory.actual_bytes != length)
		return failed(s, command, "wrote %u of %zu bytes (status 0x%08x)",
			      m.u.write_memory.actual_bytes, length, m.return_status);
	return ok_line(s, command, "wrote %zu bytes at 0x%" PRIx64 "\n", length, address);
}

static bool write_breakpoint(struct session *s, const char *command, uint64_t address,
			     uint32_t *handle)
{
	struct dbgkd_manipulate_state64 m;
	size_t length;

	memset(&m, 0, sizeof(m));
	m.u.write_breakpoint.breakpoint_address = kd_address(s, address);
	enum kdclient_status st = request(s, DBGKD_WRITE_BREAKPOINT_API, &m, NULL, 0, NULL, 0, &length);
	if (st != KDCLIENT_OK || m.return_status != DBGKD_STATUS_SUCCESS)
		return failed(s, command, "WriteBreakPoint at 0x%" PRIx64 ": %s, status 0x%08x",
			      address, kdclient_status_name(st), m.return_status);
	*handle = m.u.write_breakpoint.breakpoint_handle;
	return true;
}

static bool restore_breakpoint(struct session *s, const char *command, uint32_t handle)
{
	struct dbgkd_manipulate_state64 m;
	size_t length;

	memset(&m, 0, sizeof(m));
	m.u.restore_breakpoint_handle = handle;
	enum kdclient_status st = request(s, DBGKD_RESTORE_BREAKPOINT_API, &m, NULL, 0, NULL, 0, &length);
	if (st != KDCLIENT_OK || m.return_status != DBGKD_STATUS_SUCCESS)
		return failed(s, command, "RestoreBreakPoint %u: %s, status 0x%08x", handle,
			      kdclient_status_name(st), m.return_status);
	return true;
}

static bool cmd_bp(struct session *s, char **w, int n)
{
	uint64_t address;
	int slot = -1;

	if (n != 2 || !address_of(s, w[1], &address))
		return failed(s, "bp", "usage: bp ADDRESS");
	for (int i = 0; i < MAX_BREAKPOINTS && slot < 0; i++)
		if (!s->breakpoints[i].used)
			slot = i;
	if (slot < 0)
		return failed(s, "bp", "all %d breakpoints in use", MAX_BREAKPOINTS);
	struct breakpoint *bp = &s->breakpoints[slot];
	if (!write_breakpoint(s, "bp", address, &bp->handle))
		return false;
	bp->used = true;
	bp->address = address & 0xffffffffu;
	if (s->json)
		printf("{\"command\":\"bp\",\"ok\":true,\"number\":%d,\"address\":\"0x%08" PRIx64
		       "\"}\n",
		       slot, bp->address);
	else
		printf("breakpoint %d at 0x%08" PRIx64 "\n", slot, bp->address);
	return true;
}

static bool cmd_bc(struct session *s, char **w, int n)
{
	uint64_t which = 0;
	bool all = n == 2 && !strcmp(w[1], "all");

	if (n != 2 || (!all && (!number(w[1], &which) || which >= MAX_BREAKPOINTS ||
				!s->breakpoints[which].used)))
		return failed(s, "bc", "usage: bc NUMBER|all (a breakpoint bp gave)");
	for (int i = 0; i < MAX_BREAKPOINTS; i++) {
		if (!s->breakpoints[i].used || (!all && (uint64_t)i != which))
			continue;
		if (!restore_breakpoint(s, "bc", s->breakpoints[i].handle))
			return false;
		s->breakpoints[i].used = false;
	}
	return ok_line(s, "bc", "cleared\n");
}

static struct breakpoint *breakpoint_at_pc(struct session *s)
{
	uint64_t pc = kdclient_last_stop(s->client)->program_counter & 0xffffffffu;

	for (int i = 0; i < MAX_BREAKPOINTS; i++) {
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
		return failed(s, command, "%s", kdclient_status_name(st));
	if (bp && !write_breakpoint(s, command, bp->address, &bp->handle))
		return false;
	return true;
}

static bool cmd_step(struct session *s, char **w, int n)
{
	uint64_t count = 1;

	if (n > 2 || (n == 2 && (!number(w[1], &count) || count == 0)))
		return failed(s, "step", "usage: step [COUNT]");
	if (!kdclient_stopped(s->client))
		return failed(s, "step", "the target is running");
	for (uint64_t i = 0; i < count; i++) {
		if (!single_step(s, "step"))
			return false;
		print_stop(s, "step");
	}
	return true;
}

static bool cmd_go(struct session *s)
{
	if (!kdclient_stopped(s->client))
		return failed(s, "go", "the target is running");
	if (breakpoint_at_pc(s) && !single_step(s, "go"))
		return false;
	enum kdclient_status st = kdclient_continue(s->client, DBGKD_DBG_CONTINUE, false);
	if (st != KDCLIENT_OK)
		return failed(s, "go", "%s", kdclient_status_name(st));
	return ok_line(s, "go", "running\n");
}

static bool cmd_wait(struct session *s, char **w, int n)
{
	uint64_t seconds = s->timeout_ms / 1000;

	if (n > 2 || (n == 2 && !number(w[1], &seconds)))
		return failed(s, "wait", "usage: wait [SECONDS]");
	enum kdclient_status st = kdclient_wait(s->client, (uint32_t)(seconds * 1000));
	if (st != KDCLIENT_OK)
		return failed(s, "wait", "%s", kdclient_status_name(st));
	print_stop(s, "wait");
	return true;
}

static bool cmd_breakin(struct session *s)
{
	if (kdclient_stopped(s->client))
		return failed(s, "breakin", "the target is already stopped");
	kdclient_breakin(s->client);
	enum kdclient_status st = kdclient_wait(s->client, s->timeout_ms);
	if (st != KDCLIENT_OK)
		return failed(s, "breakin", "%s", kdclient_status_name(st));
	print_stop(s, "breakin");
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
		return failed(s, "breakin-at-print", "usage: breakin-at-print TEXT");
	if (kdclient_stopped(s->client))
		return failed(s, "breakin-at-print", "the target is already stopped");
	/* The words as one text, single spaces between them. */
	for (int i = 1; i < n; i++) {
		int wrote = snprintf(text + length, sizeof(text) - length, "%s%s", i > 1 ? " " : "",
				     w[i]);
		if (wrote < 0 || (size_t)wrote >= sizeof(text) - length)
			return failed(s, "breakin-at-print", "TEXT is longer than %zu bytes",
				      sizeof(text) - 1);
		length += (size_t)wrote;
	}
	s->breakin_trigger = text;
	enum kdclient_status st = kdclient_wait(s->client, s->timeout_ms);
	bool triggered = !s->breakin_trigger;
	s->breakin_trigger = NULL;
	if (st != KDCLIENT_OK)
		return failed(s, "breakin-at-print", "%s%s", kdclient_status_name(st),
			      triggered ? "" : " (the text was not printed)");
	print_stop(s, "breakin-at-print");
	return true;
}

/* Lets a running target run; the link keeps going (prints are taken). */
static bool cmd_sleep(struct session *s, char **w, int n)
{
	uint64_t ms;

	if (n != 2 || !number(w[1], &ms) || ms > 3600000)
		return failed(s, "sleep", "usage: sleep MILLISECONDS");
	if (kdclient_stopped(s->client))
		return failed(s, "sleep", "the target is stopped; 'go' first");
	enum kdclient_status st = kdclient_wait(s->client, (uint32_t)ms);
	if (st == KDCLIENT_OK)
		print_stop(s, "sleep"); /* it stopped by itself meanwhile */
	else if (st == KDCLIENT_TIMEOUT)
		ok_line(s, "sleep", NULL);
	else
		return failed(s, "sleep", "%s", kdclient_status_name(st));
	return true;
}

/* Stays attached while the target runs to its end, so that the debugger
 * leaving is no event of the session (recordings end the same each time). */
static bool cmd_wait_exit(struct session *s, char **w, int n)
{
	uint64_t seconds = s->timeout_ms / 1000;

	if (n > 2 || (n == 2 && !number(w[1], &seconds)))
		return failed(s, "wait-exit", "usage: wait-exit [SECONDS]");
	if (kdclient_stopped(s->client))
		return failed(s, "wait-exit", "the target is stopped; 'go' first");
	enum kdclient_status st = kdclient_wait_gone(s->client, (uint32_t)(seconds * 1000));
	if (st != KDCLIENT_OK)
		return failed(s, "wait-exit", "%s", kdclient_status_name(st));
	if (kdclient_stopped(s->client)) {
		print_stop(s, "wait-exit");
		return failed(s, "wait-exit", "the target stopped instead of ending");
	}
	return ok_line(s, "wait-exit", "the target went away\n");
}

static bool cmd_prints(struct session *s)
{
	if (s->json) {
		printf("{\"command\":\"prints\",\"ok\":true,\"text\":");
		json_string(stdout, s->prints ? s->prints : "", s->prints_length);
		printf("}\n");
	} else {
		printf("%.*s", (int)s->prints_length, s->prints ? s->prints : "");
	}
	s->prints_length = 0;
	return true;
}

static double seconds_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The progress line is for a person at a terminal: redrawn in place at
 * most ten times a second, and never written into a log. */
static bool dump_progress_shown;
static double dump_progress_last;

static void dump_progress(size_t done, size_t total)
{
	double now = seconds_now();

	if (!dump_progress_shown || (now - dump_progress_last < 0.1 && done < total))
		return;
	dump_progress_last = now;
	fprintf(stderr, "\rbxkd-dbg: dump %zu / %zu bytes (%.0f%%)", done, total,
		total ? 100.0 * (double)done / (double)total : 100.0);
}

static bool cmd_dump(struct session *s, char **w, int n)
{
	bool physical = n == 5 && !strcmp(w[4], "--physical");
	uint64_t address, length;
	size_t got;

	if ((n != 4 && !physical) || !address_of(s, w[2], &address) || !number(w[3], &length) ||
	    length > (uint64_t)1 << 32)
		return failed(s, "dump", "usage: dump FILE ADDRESS LENGTH [--physical]");
	FILE *f = fopen(w[1], "wb");
	if (!f)
		return failed(s, "dump", "cannot write %s: %s", w[1], strerror(errno));
	uint8_t *buf = malloc(length ? length : 1);
	if (!buf) {
		fclose(f);
		return failed(s, "dump", "cannot hold %llu bytes in memory",
			      (unsigned long long)length);
	}
	dump_progress_shown = !s->quiet && !s->json && isatty(STDERR_FILENO);
	dump_progress_last = 0;
	double start = seconds_now();
	bool ok = read_range(s, "dump", physical, address, buf, length, &got, dump_progress);
	double elapsed = seconds_now() - start;
	if (dump_progress_shown)
		fputc('\n', stderr);
	if (fwrite(buf, 1, got, f) != got || fclose(f) != 0)
		ok = failed(s, "dump", "writing %s: %s", w[1], strerror(errno));
	free(buf);
	if (!ok)
		return false;
	double rate = elapsed > 0 ? (double)got / elapsed : 0;
	if (s->json) {
		printf("{\"command\":\"dump\",\"ok\":true,\"file\":");
		json_string(stdout, w[1], strlen(w[1]));
		printf(",\"bytes\":%zu,\"seconds\":%.3f,\"bytes_per_second\":%.0f}\n", got,
		       elapsed, rate);
	} else {
		printf("dumped %zu bytes to %s in %.3f s (%.1f KiB/s)\n", got, w[1], elapsed,
		       rate / 1024);
	}
	return true;
}

/* ---- the command loop ------------------------------------------------------------------ */

static int split(char *line, char **words)
{
	int n = 0;

	for (char *w = strtok(line, " \t\r\n"); w && n < MAX_WORDS; w = strtok(NULL, " \t\r\n"))
		words[n++] = w;
	return n;
}

/* Runs one command line. Returns false on failure; *quit on "quit". */
static bool run_command(struct session *s, char **w, int n, bool *quit);

/* One line of commands. "! COMMAND" expects COMMAND to fail (a read of an
 * unmapped page, say): the line succeeds when it does, and a script can
 * go on to check what comes after. */
static bool run(struct session *s, const char *line_in, bool *quit)
{
	char line[1024];
	char *w[MAX_WORDS];

	snprintf(line, sizeof(line), "%s", line_in);
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	int n = split(line, w);
	if (n == 0)
		return true;
	if (strcmp(w[0], "!"))
		return run_command(s, w, n, quit);
	if (n == 1)
		return failed(s, "!", "usage: ! COMMAND (a command that is expected to fail)");
	if (!run_command(s, w + 1, n - 1, quit)) {
		ok_line(s, "!", "%s failed, as expected\n", w[1]);
		return true;
	}
	return failed(s, "!", "%s succeeded, but was expected to fail", w[1]);
}

static bool run_command(struct session *s, char **w, int n, bool *quit)
{
	const char *c = w[0];
	if (!strcmp(c, "connect"))
		return cmd_connect(s);
	if (!strcmp(c, "version"))
		return cmd_version(s);
	if (!strcmp(c, "regs"))
		return cmd_regs(s);
	if (!strcmp(c, "setreg"))
		return cmd_setreg(s, w, n);
	if (!strcmp(c, "read") || !strcmp(c, "readphys"))
		return cmd_read(s, w, n, c[4] == 'p');
	if (!strcmp(c, "write") || !strcmp(c, "writephys"))
		return cmd_write(s, w, n, c[5] == 'p');
	if (!strcmp(c, "bp"))
		return cmd_bp(s, w, n);
	if (!strcmp(c, "bc"))
		return cmd_bc(s, w, n);
	if (!strcmp(c, "go"))
		return cmd_go(s);
	if (!strcmp(c, "step"))
		return cmd_step(s, w, n);
	if (!strcmp(c, "wait"))
		return cmd_wait(s, w, n);
	if (!strcmp(c, "breakin"))
		return cmd_breakin(s);
	if (!strcmp(c, "prints"))
		return cmd_prints(s);
	if (!strcmp(c, "sleep"))
		return cmd_sleep(s, w, n);
	if (!strcmp(c, "breakin-at-print"))
		return cmd_breakin_at_print(s, w, n);
	if (!strcmp(c, "wait-exit"))
		return cmd_wait_exit(s, w, n);
	if (!strcmp(c, "dump"))
		return cmd_dump(s, w, n);
	if (!strcmp(c, "quit")) {
		*quit = true;
		return true;
	}
	return failed(s, c, "unknown command (try --help)");
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
		"  -q, --quiet             no link messages, no live prints\n"
		"  -S, --symbols FILE      names for addresses: nm output, e.g. build/guest/\n"
		"                          kernel.symbols; commands then take NAME[+OFFSET]\n"
		"\n"
		"commands:\n"
		"  connect                 break in, reset the link, wait for the target to stop\n"
		"  version                 the kernel's version block\n"
		"  regs                    registers of the stopped processor\n"
		"  setreg NAME VALUE       eax..edi, esp, ebp, eip, eflags, segments, dr7\n"
		"  read ADDR LEN           virtual memory      write ADDR HEXBYTES\n"
		"  readphys ADDR LEN       physical memory     writephys ADDR HEXBYTES\n"
		"  bp ADDR                 set a breakpoint    bc NUMBER|all\n"
		"  go                      resume              step [COUNT]   single-step\n"
		"  wait [SECONDS]          wait for a stop     breakin        stop a running target\n"
		"  prints                  debug prints since the last 'prints'\n"
		"  sleep MS                let a running target run for MS milliseconds\n"
		"  wait-exit [SECONDS]     stay attached until the running target goes away\n"
		"  breakin-at-print TEXT   break in as the running target prints TEXT\n"
		"  dump FILE ADDR LEN [--physical]   bulk read with progress and throughput\n"
		"  ! COMMAND               COMMAND must fail (an unmapped read, say)\n"
		"  quit\n"
		"\n"
		"Exit status: 0 if every command succeeded, 1 at the first failure, 2 on usage.\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "target", required_argument, NULL, 't' }, { "script", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },	    { "timeout", required_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },	    { "help", no_argument, NULL, 'h' },
		{ "symbols", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct session s = { .timeout_ms = 10000 };
	struct kdclient_options co;
	const char *target = NULL, *script = NULL;
	char error[256];
	uint64_t seconds;
	int opt;

	while ((opt = getopt_long(argc, argv, "t:s:jT:qhS:", options, NULL)) != -1) {
		switch (opt) {
		case 'S':
			if (!load_symbols(&s, optarg))
				return 2;
			break;
		case 't':
			target = optarg;
			break;
		case 's':
			script = optarg;
			break;
		case 'j':
			s.json = true;
			break;
		case 'T':
			if (!number(optarg, &seconds) || seconds == 0 || seconds > 86400) {
				fprintf(stderr, "bxkd-dbg: --timeout wants 1..86400 seconds\n");
				return 2;
			}
			s.timeout_ms = (uint32_t)(seconds * 1000);
			break;
		case 'q':
			s.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!target) {
		usage(stderr);
		return 2;
	}
	kdclient_options_init(&co);
	if (!kdep_parse(target, &co.endpoint, error, sizeof(error))) {
		fprintf(stderr, "bxkd-dbg: %s\n", error);
		return 2;
	}
	co.log = (struct bxkd_log){ on_log, &s };
	co.print = on_print;
	co.print_ctx = &s;
	s.client = kdclient_open(&co, error, sizeof(error));
	if (!s.client) {
		fprintf(stderr, "bxkd-dbg: %s\n", error);
		return 1;
	}

	bool ok = true, quit = false;
	char line[1024];
	if (script) {
		FILE *f = fopen(script, "r");
		if (!f) {
			fprintf(stderr, "bxkd-dbg: cannot read %s: %s\n", script, strerror(errno));
			kdclient_close(s.client);
			return 1;
		}
		while (ok && !quit && fgets(line, sizeof(line), f))
			ok = run(&s, line, &quit);
		fclose(f);
	}
	for (int i = optind; ok && !quit && i < argc; i++)
		ok = run(&s, argv[i], &quit);
	if (!script && optind == argc) {
		while (ok && !quit && fgets(line, sizeof(line), stdin)) {
			ok = run(&s, line, &quit);
			fflush(stdout);
		}
	}
	fflush(stdout);
	kdclient_close(s.client);
	free(s.prints);
	for (size_t i = 0; i < s.symbol_count; i++)
		free(s.symbols[i].name);
	free(s.symbols);
	return ok ? 0 : 1;
}
