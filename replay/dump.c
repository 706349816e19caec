/*
 * dump.c -- bxkd-replay dump: a recorded session as a transcript, one line
 * per event, in text or JSON (replay/README.md shows both).
 *
 * KD packets are described by pipe-bridge's decoder (kdtrace.h), the one
 * bxkd-tap uses: packets in the shared page and at the kd host port through
 * kdtrace_describe_packet, the debugger's byte streams through one kdtrace
 * decoder per direction, so frames show their checksum and id checks
 * exactly as the tap shows them live.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bxkd/byteorder.h"
#include "bxkd/backdoor.h"
#include "bxkd/kdvm.h"
#include "kdcom_engine.h"
#include "kdtrace.h"
#include "replay.h"
#include "session.h"
#include "session_file.h"
#include "bxkd/kdport.h"
#include "bxkd/names.h"
#include "cli.h"
#include "log.h"

/* Accesses a text line lists before it summarises the rest. */
#define ACCESSES_SHOWN 6u
/* A KD description: a data line's worth. */
#define DESCRIPTION_MAX KDTRACE_LINE_MAX
#define VALUE_MAX 512u
/* The device's default kd_command, for a manifest that does not say. */
#define DEFAULT_KD_COMMAND BDOOR_CMD_OS_NOT_FOUND

/* The device writes back the page header from header_length to reserved. */
#define PAGE_AT(member) offsetof(struct kdvm_page_header, member)
#define WRITE_BACK_OFFSET PAGE_AT(header_length)
#define WRITE_BACK_LENGTH (PAGE_AT(reserved) - PAGE_AT(header_length))

static const char *const reg_names[SESSION_REGS] = { "eax", "ecx", "edx", "ebx",
						     "ebp", "esi", "edi" };

struct dump {
	bool json;
	uint16_t kd_command;
	/* The debugger's bytes towards the target, and the target's back. */
	struct kdtrace to_target, to_debugger;
	/* The record being shown, for the decoders' lines. */
	size_t record;
	uint64_t tick;
	/* The JSON line being built. */
	struct json_object *line;
};

static void put(struct dump *d, const char *key, struct json_object *value)
{
	json_object_object_add(d->line, key, value);
}

/* A 16-bit field of the KD page, as a number. */
static void add_page_u16(struct json_object *page, const char *key, const uint8_t *at,
			 size_t offset)
{
	json_object_object_add(page, key, json_object_new_uint64(le_get16(at + offset)));
}

/* ---- names (common/protocol_names.h) ------------------------------------------------- */

static const char *or_unknown(const char *name)
{
	return name ? name : "unknown";
}

static const char *kd_status_name(uint32_t status)
{
	/* The answer at CPL > 0, as for any CPL 0 command. */
	if (status == BDOOR_NO_ANSWER)
		return "REFUSED";
	return or_unknown(kdvm_status_name(status));
}

static const char *kd_page_result_name(uint32_t result)
{
	/* What the guest leaves there before a call. */
	if (result == KDVM_RESULT_UNTOUCHED)
		return "NONE";
	return or_unknown(result <= KD_DROPPED ? kd_outcome_name(result) : NULL);
}

/* KD_PORT results: an enum kd_outcome for send and receive, a yes or no
 * for the others (session.h). */
static const char *kd_port_result_name(const struct session_kd_port *k)
{
	if (k->op != SESSION_KD_SEND && k->op != SESSION_KD_RECEIVE)
		return k->result ? "yes" : "no";
	return or_unknown(k->result <= SESSION_KD_RESULT_LAST ? kd_outcome_name(k->result) : NULL);
}

/* ---- output helpers --------------------------------------------------------------------- */

/* Starts an event's line: record and tick, as columns or JSON members. */
static void begin_line(struct dump *d, size_t record, uint64_t tick, const char *kind)
{
	if (d->json) {
		d->line = json_object_new_object();
		put(d, "record", json_object_new_uint64(record));
		put(d, "tick", json_object_new_uint64(tick));
		put(d, "kind", json_object_new_string(kind));
	} else {
		printf("%6zu %12" PRIu64 "  %s", record, tick, kind);
	}
}

static void end_line(struct dump *d)
{
	if (d->json) {
		printf("%s\n", kdtrace_json_text(d->line));
		json_object_put(d->line);
		d->line = NULL;
	} else {
		putchar('\n');
	}
}

/* Each key=value line of a MANIFEST or END record, as the members of a
 * JSON object. */
static struct json_object *text_values_object(const struct session_record *r)
{
	const char *text = r->u.text.text;
	size_t n = r->u.text.text_length;
	struct json_object *values = json_object_new_object();

	for (size_t at = 0; at < n;) {
		const char *line = text + at;
		size_t length = (size_t)((const char *)memchr(line, '\n', n - at) - line);
		size_t key_length = (size_t)((const char *)memchr(line, '=', length) - line);
		/* The key read as the value is: ISO 8859-1. */
		struct json_object *key = kdtrace_json_bytes(line, key_length);
		json_object_object_add(values, json_object_get_string(key),
				       kdtrace_json_bytes(line + key_length + 1,
							  length - key_length - 1));
		json_object_put(key);
		at += length + 1;
	}
	return values;
}

/* The same as "  key=value" text: lines after `indent`, `separator` between. */
static void show_text_values(const struct session_record *r, const char *indent,
			     const char *separator)
{
	const char *text = r->u.text.text;
	size_t n = r->u.text.text_length;

	for (size_t at = 0; at < n;) {
		const char *line = text + at;
		size_t length = (size_t)((const char *)memchr(line, '\n', n - at) - line);
		printf("%s%s%.*s", at ? separator : "", indent, (int)length, line);
		at += length + 1;
	}
}

/* A KD packet through pipe-bridge's decoder: after a colon in text, as the
 * "packet" member in JSON. `from_target`: the guest sent it. */
static void show_packet(struct dump *d, uint16_t type, const uint8_t *bytes, size_t length,
			bool from_target)
{
	enum kdtrace_direction direction = from_target ? KDTRACE_TO_DEBUGGER : KDTRACE_TO_TARGET;
	char description[DESCRIPTION_MAX];

	if (d->json) {
		put(d, "packet", kdtrace_describe_packet_object(type, bytes, length, direction));
		return;
	}
	kdtrace_describe_packet(type, bytes, length, direction, KDTRACE_TEXT, description,
				sizeof(description));
	printf(": %s", description);
}

/* ---- the manifest and the end ------------------------------------------------------------ */

bool replay_read_whole(const char *path, struct session_file *file)
{
	char error[1024];
	struct session_file cut;

	if (session_file_read(path, file, error, sizeof(error)))
		return true;
	if (session_file_read_cut(path, &cut, NULL, 0)) {
		bool cut_off = cut.cut;
		if (cut_off)
			bxkd_warn("%s is cut off after record %" PRIu32
				  " (it has no END): this needs a whole session; "
				  "`bxkd-replay dump` shows it and `bxkd-replay verify` checks it, "
				  "each up to the cut",
				  path, cut.records[cut.count - 1].h.sequence);
		session_file_free(&cut);
		if (cut_off)
			return false;
	}
	bxkd_warn("%s", error);
	return false;
}

/* The backdoor command the KD transport rides on, from the device's
 * settings in the manifest ("..., kd_command=18, ..."). */
uint16_t replay_manifest_kd_command(const struct session_file *file)
{
	char vmport[VALUE_MAX];
	const char *at;

	if (!session_file_manifest(file, "vmport", vmport, sizeof(vmport)))
		return DEFAULT_KD_COMMAND;
	for (at = vmport; (at = strstr(at, "kd_command=")); at++) {
		if (at == vmport || at[-1] == ' ' || at[-1] == ',') {
			unsigned long command = strtoul(at + strlen("kd_command="), NULL, 0);
			return command <= UINT16_MAX ? (uint16_t)command : DEFAULT_KD_COMMAND;
		}
	}
	return DEFAULT_KD_COMMAND;
}

static void show_manifest(struct dump *d, const char *path, const struct session_file *file)
{
	const struct session_record *m = &file->records[0];
	uint64_t last_tick = file->records[file->count - 1].h.tick;

	if (d->json) {
		begin_line(d, 0, m->h.tick, session_kind_name(m->h.kind));
		put(d, "file", kdtrace_json_bytes(path, strlen(path)));
		put(d, "records", json_object_new_uint64(file->count));
		put(d, "kd_command", json_object_new_uint64(d->kd_command));
		put(d, "values", text_values_object(m));
		end_line(d);
		return;
	}
	printf("session %s: %zu records, ticks %" PRIu64 " to %" PRIu64 "\n", path, file->count,
	       m->h.tick, last_tick);
	printf("manifest (record 0, tick %" PRIu64 "):\n", m->h.tick);
	show_text_values(m, "  ", "\n");
	printf("\n\n%6s %12s  %s\n", "record", "tick", "event");
}

static void show_end(struct dump *d, const struct session_record *r)
{
	const struct kdtrace_stats *to = &d->to_target.stats, *from = &d->to_debugger.stats;
	const struct {
		const char *key;
		uint64_t value;
	} counts[] = {
		{ "d2t_bytes", to->bytes },
		{ "d2t_frames", to->frames },
		{ "t2d_bytes", from->bytes },
		{ "t2d_frames", from->frames },
		{ "bad_checksums", to->bad_checksums + from->bad_checksums },
		{ "bad_frames", to->bad_frames + from->bad_frames },
		{ "resends", to->resends + from->resends },
		{ "resets", to->resets + from->resets },
	};

	begin_line(d, r->h.sequence, r->h.tick, session_kind_name(r->h.kind));
	if (d->json) {
		put(d, "values", text_values_object(r));
		for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
			put(d, counts[i].key, json_object_new_uint64(counts[i].value));
	} else {
		putchar(' ');
		show_text_values(r, "", " ");
		printf("; debugger bytes: d2t %" PRIu64 " bytes %" PRIu64 " frames, t2d %" PRIu64
		       " bytes %" PRIu64 " frames; %" PRIu64 " bad checksums, %" PRIu64
		       " bad frames, %" PRIu64 " resends, %" PRIu64 " resets",
		       counts[0].value, counts[1].value, counts[2].value, counts[3].value,
		       counts[4].value, counts[5].value, counts[6].value, counts[7].value);
	}
	end_line(d);
}

/* ---- backdoor calls --------------------------------------------------------------------- */

static struct json_object *accesses_array(const struct session_record *r)
{
	struct json_object *accesses = json_object_new_array();
	struct session_access a;

	for (uint32_t i = 0; session_backdoor_access(r, i, &a, NULL); i++) {
		struct json_object *access = json_object_new_object();
		json_object_object_add(access, "address", kdtrace_json_hex(a.address, 16));
		json_object_object_add(access, "length", json_object_new_uint64(a.length));
		json_object_object_add(access, "write", json_object_new_boolean(a.write));
		json_object_object_add(access, "ok", json_object_new_boolean(a.ok));
		json_object_array_add(accesses, access);
	}
	return accesses;
}

static void show_accesses(const struct session_record *r)
{
	uint32_t count = r->u.backdoor.fixed.accesses;
	struct session_access a;

	if (!count)
		return;
	printf(" mem");
	for (uint32_t i = 0; i < count && i < ACCESSES_SHOWN; i++) {
		session_backdoor_access(r, i, &a, NULL);
		printf(" %s 0x%" PRIx64 "+%" PRIu32 "%s", a.write ? "w" : "r", a.address, a.length,
		       a.ok ? "" : "(failed)");
	}
	if (count > ACCESSES_SHOWN)
		printf(" ...(%" PRIu32 " accesses)", count);
}

static struct json_object *regs_object(const uint32_t *regs)
{
	struct json_object *object = json_object_new_object();

	for (unsigned i = 0; i < SESSION_REGS; i++)
		json_object_object_add(object, reg_names[i], kdtrace_json_hex(regs[i], 8));
	return object;
}

/* Text: the registers the call changed, after "->". */
static void show_changed_regs(const struct session_backdoor *b)
{
	bool any = false;

	for (unsigned i = 0; i < SESSION_REGS; i++) {
		if (b->regs_out[i] == b->regs_in[i])
			continue;
		printf("%s %s=0x%08" PRIx32, any ? "" : " ->", reg_names[i], b->regs_out[i]);
		any = true;
	}
	if (!any)
		printf(" -> no register changed");
}

/* The last successful access of `length` bytes, in the direction asked,
 * at `address` (any address when `anywhere`). */
static bool find_access(const struct session_record *r, bool write, uint64_t address,
			bool anywhere, uint32_t length, struct session_access *found,
			const uint8_t **bytes)
{
	struct session_access a;
	const uint8_t *b;
	bool any = false;

	for (uint32_t i = 0; session_backdoor_access(r, i, &a, &b); i++) {
		if (a.ok && a.write == write && (anywhere || a.address == address) &&
		    (length == UINT32_MAX || a.length == length)) {
			*found = a;
			*bytes = b;
			any = true;
		}
	}
	return any;
}

/* A KD CALL's page, as its header read and its write-back say. */
struct kd_page {
	uint64_t address;
	const uint8_t *header;
	/* What the device wrote back, where it did; NULL for a failed call. */
	const uint8_t *back;
};

/*
 * A KD CALL as the device carried it out (bochs-plugin/vmport_kd.c): it
 * reads the page header, reads the payload of a send, writes the payload
 * of a receive, and writes back the fields from header_length to calls.
 * The write-back names the page; without one (a failed call) the last
 * header read does.
 */
static bool find_kd_page(const struct session_record *r, struct kd_page *page)
{
	struct session_access header_access, back_access;
	const uint8_t *back;

	page->back = NULL;
	if (find_access(r, true, 0, true, WRITE_BACK_LENGTH, &back_access, &back)) {
		page->address = back_access.address - WRITE_BACK_OFFSET;
		page->back = back - WRITE_BACK_OFFSET;
		return find_access(r, false, page->address, false, sizeof(struct kdvm_page_header),
				   &header_access, &page->header);
	}
	if (!find_access(r, false, 0, true, sizeof(struct kdvm_page_header), &header_access,
			 &page->header))
		return false;
	page->address = header_access.address;
	return true;
}

static struct json_object *kd_page_object(const struct kd_page *page)
{
	const uint8_t *h = page->header, *wb = page->back;
	uint32_t request = le_get32(h + PAGE_AT(request));
	uint32_t type = le_get32(h + PAGE_AT(packet_type));
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "address", kdtrace_json_hex(page->address, 16));
	json_object_object_add(o, "nonce", kdtrace_json_hex(le_get32(h + PAGE_AT(nonce)), 8));
	json_object_object_add(o, "request", json_object_new_string(or_unknown(
						       kdvm_request_name(request))));
	json_object_object_add(o, "request_number", json_object_new_uint64(request));
	json_object_object_add(o, "packet_type", json_object_new_uint64(type));
	json_object_object_add(o, "type", json_object_new_string(kdcom_type_name((uint16_t)type)));
	add_page_u16(o, "header_length", h, PAGE_AT(header_length));
	add_page_u16(o, "header_capacity", h, PAGE_AT(header_capacity));
	add_page_u16(o, "data_length", h, PAGE_AT(data_length));
	add_page_u16(o, "data_capacity", h, PAGE_AT(data_capacity));
	json_object_object_add(o, "timeout_ms", json_object_new_uint64(le_get32(h + PAGE_AT(timeout_ms))));
	if (wb) {
		uint32_t result = le_get32(wb + PAGE_AT(result));
		json_object_object_add(o, "result", json_object_new_uint64(result));
		json_object_object_add(o, "result_name",
				       json_object_new_string(kd_page_result_name(result)));
		json_object_object_add(o, "flags", kdtrace_json_hex(le_get32(wb + PAGE_AT(flags)), 8));
		json_object_object_add(o, "calls", json_object_new_uint64(le_get32(wb + PAGE_AT(calls))));
		add_page_u16(o, "header_length_out", wb, PAGE_AT(header_length));
		add_page_u16(o, "data_length_out", wb, PAGE_AT(data_length));
	}
	return o;
}

static void show_kd_page_text(const struct kd_page *page)
{
	const uint8_t *h = page->header, *wb = page->back;
	uint32_t request = le_get32(h + PAGE_AT(request));
	const char *type = kdcom_type_name((uint16_t)le_get32(h + PAGE_AT(packet_type)));

	printf(" page=0x%" PRIx64 " %s", page->address,
	       or_unknown(kdvm_request_name(request)));
	if (request == KDVM_REQUEST_SEND)
		printf(" %s header=%u data=%u", type, le_get16(h + PAGE_AT(header_length)),
		       le_get16(h + PAGE_AT(data_length)));
	else if (request == KDVM_REQUEST_RECEIVE)
		printf(" %s room=%u+%u timeout=%" PRIu32, type, le_get16(h + PAGE_AT(header_capacity)),
		       le_get16(h + PAGE_AT(data_capacity)), le_get32(h + PAGE_AT(timeout_ms)));
	if (!wb)
		return;
	printf(" -> result=%s", kd_page_result_name(le_get32(wb + PAGE_AT(result))));
	if (request == KDVM_REQUEST_RECEIVE)
		printf(" header=%u data=%u", le_get16(wb + PAGE_AT(header_length)),
		       le_get16(wb + PAGE_AT(data_length)));
	printf(" flags=0x%" PRIx32 " calls=%" PRIu32, le_get32(wb + PAGE_AT(flags)),
	       le_get32(wb + PAGE_AT(calls)));
}

static void show_kd_call(struct dump *d, const struct session_record *r)
{
	struct kd_page page;
	struct session_access payload_access;
	const uint8_t *payload;

	if (!find_kd_page(r, &page))
		return;
	if (d->json)
		put(d, "page", kd_page_object(&page));
	else
		show_kd_page_text(&page);

	uint32_t request = le_get32(page.header + PAGE_AT(request));
	uint16_t type = (uint16_t)le_get32(page.header + PAGE_AT(packet_type));
	uint64_t payload_address = page.address + sizeof(struct kdvm_page_header);
	/* A send's payload is read from the page, a receive's written to it. */
	bool send = request == KDVM_REQUEST_SEND;
	if ((send || request == KDVM_REQUEST_RECEIVE) &&
	    find_access(r, !send, payload_address, false, UINT32_MAX, &payload_access, &payload))
		show_packet(d, type, payload, payload_access.length, send);
}

static void show_kd_hello(struct dump *d, const struct session_backdoor *b)
{
	uint32_t flags = b->regs_out[SESSION_EDI];
	const char *discovery = or_unknown(kdvm_discovery_name(b->regs_out[SESSION_ESI]));

	if (d->json) {
		put(d, "protocol", json_object_new_uint64(b->regs_out[SESSION_ECX]));
		put(d, "discovery", json_object_new_string(discovery));
		put(d, "hello_flags", kdtrace_json_hex(flags, 8));
	} else {
		printf(" protocol=%" PRIu32 " discovery=%s%s%s", b->regs_out[SESSION_ECX], discovery,
		       flags & KDVM_HELLO_TRANSPORT ? " transport" : " no-transport",
		       flags & KDVM_HELLO_DEBUGGER ? " debugger-attached" : "");
	}
}

/* HELLO's answer, REGISTER's frame, CALL's page. */
static void show_kd_subcommand(struct dump *d, const struct session_record *r, uint16_t sub)
{
	const struct session_backdoor *b = &r->u.backdoor.fixed;
	uint32_t status = session_backdoor_eax(b);
	const char *name = kdvm_subcommand_name(sub);

	if (d->json) {
		put(d, "kd", json_object_new_string(or_unknown(name)));
		put(d, "status", kdtrace_json_hex(status, 8));
		put(d, "status_name", json_object_new_string(kd_status_name(status)));
	} else {
		if (name)
			printf(" KD %s", name);
		else
			printf(" KD subcommand=%u", sub);
		printf(" status=%s", kd_status_name(status));
	}
	if (status != KDVM_STATUS_OK)
		return;
	switch (sub) {
	case KDVM_SUB_HELLO:
		show_kd_hello(d, b);
		return;
	case KDVM_SUB_REGISTER: {
		uint64_t frame = (uint64_t)b->regs_in[SESSION_EDI] << 32 | b->regs_in[SESSION_ESI];
		if (d->json)
			put(d, "frame", kdtrace_json_hex(frame, 0));
		else
			printf(" frame=0x%" PRIx64, frame);
		return;
	}
	case KDVM_SUB_CALL:
		show_kd_call(d, r);
		return;
	default:
		return;
	}
}

/* What a backdoor call was, as its registers say. */
struct call {
	bool hb, magic, kd;
	uint16_t command, sub;
	const char *name;
};

static struct call call_of(const struct dump *d, const struct session_backdoor *b)
{
	struct call c;
	/* The low-bandwidth port takes its command in ECX, the other in EBX. */
	uint32_t selector;

	c.hb = b->port == BDOOR_PORT_HB;
	selector = b->regs_in[c.hb ? SESSION_EBX : SESSION_ECX];
	c.command = BDOOR_CMD(selector);
	c.sub = BDOOR_SUBCMD(selector);
	c.magic = b->regs_in[SESSION_EAX] == BDOOR_MAGIC;
	c.kd = session_backdoor_is_kd_call(b, d->kd_command);
	c.name = c.hb ? bdoor_hb_command_name(c.command) : bdoor_command_name(c.command);
	return c;
}

static void put_backdoor(struct dump *d, const struct session_record *r, const struct call *c)
{
	const struct session_backdoor *b = &r->u.backdoor.fixed;

	put(d, "port", kdtrace_json_hex(b->port, 4));
	put(d, "direction", json_object_new_string(b->direction ? "OUT" : "IN"));
	put(d, "cpl", json_object_new_uint64(b->cpl));
	put(d, "in_value", kdtrace_json_hex(b->in_value, 8));
	put(d, "string_op_done", json_object_new_boolean(b->string_op_done));
	put(d, "magic_ok", json_object_new_boolean(c->magic));
	put(d, "command", json_object_new_string(or_unknown(c->name)));
	put(d, "command_number", json_object_new_uint64(c->command));
	put(d, "subcommand", json_object_new_uint64(c->sub));
	put(d, "regs_in", regs_object(b->regs_in));
	put(d, "regs_out", regs_object(b->regs_out));
	put(d, "accesses", accesses_array(r));
}

static void show_backdoor_text(const struct session_backdoor *b, const struct call *c)
{
	printf(" 0x%04x %s cpl=%u", b->port, b->direction ? "OUT" : "IN", b->cpl);
	if (!c->magic)
		printf(" bad-magic eax=0x%08" PRIx32, b->regs_in[SESSION_EAX]);
	else if (c->name)
		printf(" %s%s", c->hb ? "HB " : "", c->name);
	else
		printf(" %scommand=%u", c->hb ? "HB " : "", c->command);
	if (c->magic && !c->kd && c->command == BDOOR_CMD_MESSAGE && bdoor_message_step_name(c->sub))
		printf(" %s", bdoor_message_step_name(c->sub));
	if (b->string_op_done)
		printf(" string-op-done");
}

static void show_backdoor(struct dump *d, const struct session_record *r)
{
	const struct session_backdoor *b = &r->u.backdoor.fixed;
	struct call c = call_of(d, b);

	begin_line(d, r->h.sequence, r->h.tick, session_kind_name(r->h.kind));
	if (d->json)
		put_backdoor(d, r, &c);
	else
		show_backdoor_text(b, &c);
	if (c.kd) {
		show_kd_subcommand(d, r, c.sub);
	} else if (!d->json) {
		show_changed_regs(b);
		if (b->direction == 0)
			printf(" in=0x%08" PRIx32, b->in_value);
		show_accesses(r);
	}
	end_line(d);
}

/* ---- the kd host port ------------------------------------------------------------------ */

static void put_kd_port(struct dump *d, const struct session_kd_port *k, bool packet_op)
{
	put(d, "op", json_object_new_string(session_kd_op_name(k->op)));
	put(d, "result", json_object_new_uint64(k->result));
	put(d, "result_name", json_object_new_string(kd_port_result_name(k)));
	if (!packet_op)
		return;
	put(d, "packet_type", json_object_new_uint64(k->packet_type));
	put(d, "type", json_object_new_string(kdcom_type_name(k->packet_type)));
	put(d, "timeout_ms", json_object_new_uint64(k->timeout_ms));
	put(d, "header_length", json_object_new_uint64(k->header_length));
	put(d, "data_capacity", json_object_new_uint64(k->data_capacity));
	put(d, "data_length", json_object_new_uint64(k->data_length));
}

static void show_kd_port_text(const struct session_kd_port *k, size_t bytes)
{
	printf(" %s", session_kd_op_name(k->op));
	if (k->op == SESSION_KD_SEND)
		printf(" %s header=%" PRIu32 " data=%" PRIu32, kdcom_type_name(k->packet_type),
		       k->header_length, k->data_length);
	else if (k->op == SESSION_KD_RECEIVE)
		printf(" %s header=%" PRIu32 " room=%" PRIu32 " timeout=%" PRIu32,
		       kdcom_type_name(k->packet_type), k->header_length, k->data_capacity,
		       k->timeout_ms);
	printf(" -> %s", kd_port_result_name(k));
	if (k->op == SESSION_KD_RECEIVE && bytes)
		printf(" data=%" PRIu32, k->data_length);
}

static void show_kd_port(struct dump *d, const struct session_record *r)
{
	const struct session_kd_port *k = &r->u.kd_port.fixed;
	bool packet_op = k->op == SESSION_KD_SEND || k->op == SESSION_KD_RECEIVE;
	size_t bytes = session_kd_port_bytes(k);

	begin_line(d, r->h.sequence, r->h.tick, session_kind_name(r->h.kind));
	if (d->json)
		put_kd_port(d, k, packet_op);
	else
		show_kd_port_text(k, bytes);
	if (packet_op && bytes)
		show_packet(d, k->packet_type, r->u.kd_port.bytes, bytes, k->op == SESSION_KD_SEND);
	end_line(d);
}

/* ---- the debugger's endpoint --------------------------------------------------------------- */

/* A line from one of the decoders, for the record being fed. */
static void decoder_line(void *ctx, const char *text)
{
	const struct dump *d = ctx;

	if (d->json)
		printf("%s\n", text); /* with decoder_members */
	else
		printf("%6zu %12" PRIu64 "  %s\n", d->record, d->tick, text);
}

/* A decoder's JSON line starts with the record and tick being fed. */
static void decoder_members(void *ctx, struct json_object *line)
{
	const struct dump *d = ctx;

	json_object_object_add(line, "record", json_object_new_uint64(d->record));
	json_object_object_add(line, "tick", json_object_new_uint64(d->tick));
}

/* Half a frame either way is lost with the connection or the session. */
static void break_streams(struct dump *d, const struct session_record *r, const char *why)
{
	d->record = r->h.sequence;
	d->tick = r->h.tick;
	kdtrace_break(&d->to_target, why);
	kdtrace_break(&d->to_debugger, why);
}

static void show_endpoint(struct dump *d, const struct session_record *r)
{
	const struct session_endpoint *e = &r->u.endpoint.fixed;
	const char *event = session_endpoint_event_name(e->event);

	d->record = r->h.sequence;
	d->tick = r->h.tick;
	if (e->event == KD_ENDPOINT_TO_TARGET || e->event == KD_ENDPOINT_TO_DEBUGGER) {
		struct kdtrace *t = e->event == KD_ENDPOINT_TO_TARGET ? &d->to_target : &d->to_debugger;
		kdtrace_feed(t, r->u.endpoint.bytes, r->u.endpoint.length);
		/* A record is one read or write: garbage shows by then, while a
		 * frame may go on in the next one. */
		kdtrace_pause(t);
		return;
	}
	/* attached, detached */
	if (e->event == KD_ENDPOINT_DETACHED)
		break_streams(d, r, "the debugger left");
	begin_line(d, r->h.sequence, r->h.tick, session_kind_name(r->h.kind));
	if (d->json) {
		put(d, "side", json_object_new_string("debugger"));
		put(d, "event", json_object_new_string(event));
	} else {
		printf(" debugger %s", event);
	}
	end_line(d);
}

/* ---- the command ------------------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out, "usage: bxkd-replay dump SESSION [--json]\n"
		     "The session as a transcript, one line per event; --json: one JSON object\n"
		     "per line instead. A recording cut off (no END) is shown up to the cut, and\n"
		     "the exit status is then 3.\n");
}

static bool take_option(void *ctx, int key, char *value)
{
	struct dump *d = ctx;

	(void)value;
	if (key == 'j')
		d->json = true;
	return true;
}

int replay_dump(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dump d;
	struct session_file file;
	char error[1024];

	memset(&d, 0, sizeof(d));
	int status = bxkd_cli_parse(argc, argv, options, 1, 1, take_option, &d, usage);
	if (status != BXKD_CLI_GO_ON)
		return status;
	const char *path = argv[optind];
	if (!session_file_read_cut(path, &file, error, sizeof(error))) {
		fprintf(stderr, "bxkd-replay dump: %s\n", error);
		return REPLAY_EXIT_FAILED;
	}

	struct kdtrace_config config;
	kdtrace_config_init(&config, KDTRACE_TO_TARGET, decoder_line, &d);
	config.format = d.json ? KDTRACE_JSON : KDTRACE_TEXT;
	config.json_members = decoder_members;
	kdtrace_init(&d.to_target, &config);
	config.direction = KDTRACE_TO_DEBUGGER;
	kdtrace_init(&d.to_debugger, &config);
	d.kd_command = replay_manifest_kd_command(&file);

	show_manifest(&d, path, &file);
	for (size_t i = 1; i < file.count; i++) {
		const struct session_record *r = &file.records[i];
		switch (r->h.kind) {
		case SESSION_BACKDOOR:
			show_backdoor(&d, r);
			break;
		case SESSION_KD_PORT:
			show_kd_port(&d, r);
			break;
		case SESSION_ENDPOINT:
			show_endpoint(&d, r);
			break;
		default: /* SESSION_END, last: the reader saw to that */
			break_streams(&d, r, "the session ended");
			show_end(&d, r);
			break;
		}
	}
	bool cut = file.cut;
	if (cut)
		break_streams(&d, &file.records[file.count - 1], "the recording was cut off");
	uint32_t last = file.records[file.count - 1].h.sequence;
	session_file_free(&file);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "bxkd-replay dump: cannot write the transcript\n");
		return REPLAY_EXIT_FAILED;
	}
	if (cut) {
		fprintf(stderr,
			"bxkd-replay dump: %s is cut off after record %" PRIu32
			" (it has no END): every whole record before the cut is shown\n",
			path, last);
		return REPLAY_EXIT_MATCHED_TO_CUT;
	}
	return REPLAY_EXIT_DONE;
}
