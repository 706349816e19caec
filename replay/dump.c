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

#include "bxkd/byteorder.h"
#include "bxkd/backdoor.h"
#include "bxkd/kdvm.h"
#include "kdcom_engine.h"
#include "kdtrace.h"
#include "replay.h"
#include "session.h"
#include "session_file.h"
#include "bxkd/kdport.h"
#include "bxkd/kdvm.h"

#define EXIT_USAGE 2
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
};

/* ---- names ---------------------------------------------------------------------------- */

/* The name at `index` of a table indexed by value, or NULL. */
#define NAME_IN(table, index)                                                                  \
	((uint64_t)(index) < sizeof(table) / sizeof(table[0]) ? table[index] : NULL)

/* Low-bandwidth commands (bxkd/backdoor.h), as the device's log names them. */
static const char *const command_names[BDOOR_CMD_MAX] = {
	[BDOOR_CMD_GETMHZ] = "GETMHZ",
	[BDOOR_CMD_APMFUNCTION] = "APMFUNCTION",
	[BDOOR_CMD_GETVERSION] = "GETVERSION",
	[BDOOR_CMD_GETSCREENSIZE] = "GETSCREENSIZE",
	[BDOOR_CMD_GETHWVERSION] = "GETHWVERSION",
	[BDOOR_CMD_OS_NOT_FOUND] = "OS_NOT_FOUND",
	[BDOOR_CMD_GETUUID] = "GETUUID",
	[BDOOR_CMD_GETMEMSIZE] = "GETMEMSIZE",
	[BDOOR_CMD_GETTIME] = "GETTIME",
	[BDOOR_CMD_STOPCATCHUP] = "STOPCATCHUP",
	[BDOOR_CMD_INITPCIOPROM] = "INITPCIOPROM",
	[BDOOR_CMD_MESSAGE] = "MESSAGE",
	[BDOOR_CMD_PATCH_SMBIOS_STRUCTS] = "PATCH_SMBIOS_STRUCTS",
	[BDOOR_CMD_GETHZ] = "GETHZ",
	[BDOOR_CMD_GETTIMEFULL] = "GETTIMEFULL",
	[BDOOR_CMD_CHECKFORCEBIOSSETUP] = "CHECKFORCEBIOSSETUP",
	[BDOOR_CMD_LAZYTIMEREMULATION] = "LAZYTIMEREMULATION",
	[BDOOR_CMD_BIOSBBS] = "BIOSBBS",
	[BDOOR_CMD_OSNOTMACOSXSERVER] = "OSNOTMACOSXSERVER",
	[BDOOR_CMD_GETTIMEFULL_WITH_LAG] = "GETTIMEFULL_WITH_LAG",
	[BDOOR_CMD_XPMODE] = "XPMODE",
	[BDOOR_CMD_FIRMWARE_INIT] = "FIRMWARE_INIT",
	[BDOOR_CMD_FIRMWARE_ACPI_SERVICES] = "FIRMWARE_ACPI_SERVICES",
	[BDOOR_CMD_GET_VCPU_INFO] = "GET_VCPU_INFO",
	[BDOOR_CMD_EFI_SERIALCON_CONFIG] = "EFI_SERIALCON_CONFIG",
	[BDOOR_CMD_BUG328986] = "BUG328986",
	[BDOOR_CMD_FIRMWARE_ERROR] = "FIRMWARE_ERROR",
	[BDOOR_CMD_EFI_BOOT_CONFIG] = "EFI_BOOT_CONFIG",
	[BDOOR_CMD_GET_HW_MODEL] = "GET_HW_MODEL",
	[BDOOR_CMD_GET_SVGA_CAPABILITIES] = "GET_SVGA_CAPABILITIES",
	[BDOOR_CMD_GET_FORCE_X2APIC] = "GET_FORCE_X2APIC",
	[BDOOR_CMD_SET_PCI_HOLE] = "SET_PCI_HOLE",
	[BDOOR_CMD_GET_PCI_HOLE] = "GET_PCI_HOLE",
	[BDOOR_CMD_GET_PCI_BAR] = "GET_PCI_BAR",
	[BDOOR_CMD_SHOULD_GENERATE_SYSTEMID] = "SHOULD_GENERATE_SYSTEMID",
	[BDOOR_CMD_MKS_GUEST_STATS] = "MKS_GUEST_STATS",
	[BDOOR_CMD_STEALCLOCK] = "STEALCLOCK",
	[BDOOR_CMD_GUEST_PAGE_HINTS] = "GUEST_PAGE_HINTS",
	[BDOOR_CMD_FIRMWARE_UPDATE] = "FIRMWARE_UPDATE",
};

/* MESSAGE's subcommand: the GuestRPC step. */
static const char *const message_type_names[] = {
	[BDOOR_MESSAGE_OPEN] = "OPEN",
	[BDOOR_MESSAGE_SENDSIZE] = "SENDSIZE",
	[BDOOR_MESSAGE_SENDPAYLOAD] = "SENDPAYLOAD",
	[BDOOR_MESSAGE_RECVSIZE] = "RECVSIZE",
	[BDOOR_MESSAGE_RECVPAYLOAD] = "RECVPAYLOAD",
	[BDOOR_MESSAGE_RECVSTATUS] = "RECVSTATUS",
	[BDOOR_MESSAGE_CLOSE] = "CLOSE",
};

/* The high-bandwidth port's command, in EBX. */
static const char *const hb_command_names[] = {
	[BDOORHB_CMD_MESSAGE] = "MESSAGE",
	[BDOORHB_CMD_VASSERT] = "VASSERT",
};

static const char *const kd_subcommand_names[] = {
	[KDVM_SUB_HELLO] = "HELLO",
	[KDVM_SUB_REGISTER] = "REGISTER",
	[KDVM_SUB_CALL] = "CALL",
	[KDVM_SUB_UNREGISTER] = "UNREGISTER",
};

static const char *const kd_status_names[] = {
	[KDVM_STATUS_OK] = "OK",
	[KDVM_STATUS_NO_TRANSPORT] = "NO_TRANSPORT",
	[KDVM_STATUS_NOT_REGISTERED] = "NOT_REGISTERED",
	[KDVM_STATUS_NOT_FOUND] = "NOT_FOUND",
	[KDVM_STATUS_BAD_FRAME] = "BAD_FRAME",
	[KDVM_STATUS_BAD_PAGE] = "BAD_PAGE",
	[KDVM_STATUS_BAD_REQUEST] = "BAD_REQUEST",
	[KDVM_STATUS_WRONG_DISCOVERY] = "WRONG_DISCOVERY",
	[KDVM_STATUS_BAD_SUBCOMMAND] = "BAD_SUBCOMMAND",
};

static const char *const kd_request_names[] = {
	[KDVM_REQUEST_SEND] = "SEND",
	[KDVM_REQUEST_RECEIVE] = "RECEIVE",
	[KDVM_REQUEST_POLL_BREAKIN] = "POLL_BREAKIN",
};

/* The result the device writes into the page. */
static const char *const kd_page_result_names[] = {
	[KD_OK] = "OK",
	[KD_TIMED_OUT] = "TIMED_OUT",
	[KD_NEEDS_RESEND] = "NEEDS_RESEND",
	[KD_DROPPED] = "DROPPED",
};

/* What the kd host port answered a send or receive (bochs-plugin/vmport.h). */
static const char *const kd_port_result_names[] = {
	[KD_OK] = "OK",
	[KD_TIMED_OUT] = "TIMED_OUT",
	[KD_NEEDS_RESEND] = "NEEDS_RESEND",
	[KD_DROPPED] = "DROPPED",
	[KD_INVALID] = "INVALID",
};

static const char *const discovery_names[] = {
	[KDVM_DISCOVERY_REGISTER] = "register",
	[KDVM_DISCOVERY_SCAN] = "scan",
};

static const char *or_unknown(const char *name)
{
	return name ? name : "unknown";
}

static const char *kd_status_name(uint32_t status)
{
	/* The answer at CPL > 0, as for any CPL 0 command. */
	if (status == BDOOR_NO_ANSWER)
		return "REFUSED";
	return or_unknown(NAME_IN(kd_status_names, status));
}

static const char *kd_page_result_name(uint32_t result)
{
	/* What the guest leaves there before a call. */
	if (result == KDVM_RESULT_UNTOUCHED)
		return "NONE";
	return or_unknown(NAME_IN(kd_page_result_names, result));
}

/* KD_PORT results: a vmport_kd_result for send and receive, a yes or no
 * for the others (session.h). */
static const char *kd_port_result_name(const struct session_kd_port *k)
{
	if (k->op != SESSION_KD_SEND && k->op != SESSION_KD_RECEIVE)
		return k->result ? "yes" : "no";
	return or_unknown(NAME_IN(kd_port_result_names, k->result));
}

/* ---- output helpers --------------------------------------------------------------------- */

/* Starts an event's line: record and tick, as columns or JSON members. */
static void begin_line(const struct dump *d, size_t record, uint64_t tick, const char *kind)
{
	if (d->json)
		printf("{\"record\":%zu,\"tick\":%" PRIu64 ",\"kind\":\"%s\"", record, tick, kind);
	else
		printf("%6zu %12" PRIu64 "  %s", record, tick, kind);
}

static void end_line(const struct dump *d)
{
	fputs(d->json ? "}\n" : "\n", stdout);
}

/* Text from the file as a JSON string (ASCII, escaped). */
static void json_string(const char *text, size_t length)
{
	char *copy = malloc(length + 1);
	size_t size = 6 * length + 3;
	char *quoted = malloc(size);

	if (!copy || !quoted) {
		fputs("\"(out of memory)\"", stdout);
	} else {
		memcpy(copy, text, length);
		copy[length] = '\0';
		kdtrace_json_string(quoted, size, copy);
		fputs(quoted, stdout);
	}
	free(copy);
	free(quoted);
}

/* Each key=value line of a MANIFEST or END record: as "  key=value" lines
 * (text, `indent`), or as the members of a JSON object. */
static void show_text_values(const struct dump *d, const struct session_record *r,
			     const char *indent, const char *separator)
{
	const char *text = r->u.text.text;
	size_t n = r->u.text.text_length;
	bool first = true;

	for (size_t at = 0; at < n;) {
		const char *line = text + at;
		size_t length = (size_t)((const char *)memchr(line, '\n', n - at) - line);
		size_t key_length = (size_t)((const char *)memchr(line, '=', length) - line);
		if (d->json) {
			fputs(first ? "" : ",", stdout);
			json_string(line, key_length);
			putchar(':');
			json_string(line + key_length + 1, length - key_length - 1);
		} else {
			printf("%s%s%.*s", first ? "" : separator, indent, (int)length, line);
		}
		first = false;
		at += length + 1;
	}
}

/* A KD packet through pipe-bridge's decoder: after a colon in text, as the
 * "packet" member in JSON. `from_target`: the guest sent it. */
static void show_packet(const struct dump *d, uint16_t type, const uint8_t *bytes, size_t length,
			bool from_target)
{
	char description[DESCRIPTION_MAX];

	kdtrace_describe_packet(type, bytes, length,
				from_target ? KDTRACE_TO_DEBUGGER : KDTRACE_TO_TARGET,
				d->json ? KDTRACE_JSON : KDTRACE_TEXT, description,
				sizeof(description));
	if (d->json)
		printf(",\"packet\":%s", description);
	else
		printf(": %s", description);
}

/* ---- the manifest and the end ------------------------------------------------------------ */

/* The backdoor command the KD transport rides on, from the device's
 * settings in the manifest ("..., kd_command=18, ..."). */
static uint16_t manifest_kd_command(const struct session_file *file)
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

static void show_manifest(const struct dump *d, const char *path, const struct session_file *file)
{
	const struct session_record *m = &file->records[0];
	uint64_t last_tick = file->records[file->count - 1].h.tick;

	if (d->json) {
		begin_line(d, 0, m->h.tick, session_kind_name(m->h.kind));
		printf(",\"file\":");
		json_string(path, strlen(path));
		printf(",\"records\":%zu,\"kd_command\":%u,\"values\":{", file->count,
		       d->kd_command);
		show_text_values(d, m, "", "");
		printf("}");
		end_line(d);
		return;
	}
	printf("session %s: %zu records, ticks %" PRIu64 " to %" PRIu64 "\n", path, file->count,
	       m->h.tick, last_tick);
	printf("manifest (record 0, tick %" PRIu64 "):\n", m->h.tick);
	show_text_values(d, m, "  ", "\n");
	printf("\n\n%6s %12s  %s\n", "record", "tick", "event");
}

static void show_end(struct dump *d, const struct session_record *r)
{
	const struct kdtrace_stats *to = &d->to_target.stats, *from = &d->to_debugger.stats;

	begin_line(d, r->h.sequence, r->h.tick, session_kind_name(r->h.kind));
	if (d->json) {
		printf(",\"values\":{");
		show_text_values(d, r, "", "");
		printf("},\"d2t_bytes\":%" PRIu64 ",\"d2t_frames\":%" PRIu64 ",\"t2d_bytes\":%" PRIu64
		       ",\"t2d_frames\":%" PRIu64 ",\"bad_checksums\":%" PRIu64
		       ",\"bad_frames\":%" PRIu64 ",\"resends\":%" PRIu64 ",\"resets\":%" PRIu64,
		       to->bytes, to->frames, from->bytes, from->frames,
		       to->bad_checksums + from->bad_checksums, to->bad_frames + from->bad_frames,
		       to->resends + from->resends, to->resets + from->resets);
	} else {
		putchar(' ');
		show_text_values(d, r, "", " ");
		printf("; debugger bytes: d2t %" PRIu64 " bytes %" PRIu64 " frames, t2d %" PRIu64
		       " bytes %" PRIu64 " frames; %" PRIu64 " bad checksums, %" PRIu64
		       " bad frames, %" PRIu64 " resends, %" PRIu64 " resets",
		       to->bytes, to->frames, from->bytes, from->frames,
		       to->bad_checksums + from->bad_checksums, to->bad_frames + from->bad_frames,
		       to->resends + from->resends, to->resets + from->resets);
	}
	end_line(d);
}

/* ---- backdoor calls --------------------------------------------------------------------- */

static void show_accesses(const struct dump *d, const struct session_record *r)
{
	uint32_t count = r->u.backdoor.fixed.accesses;
	struct session_access a;

	if (d->json) {
		printf(",\"accesses\":[");
		for (uint32_t i = 0; session_backdoor_access(r, i, &a, NULL); i++)
			printf("%s{\"address\":\"0x%016" PRIx64 "\",\"length\":%" PRIu32
			       ",\"write\":%s,\"ok\":%s}",
			       i ? "," : "", a.address, a.length, a.write ? "true" : "false",
			       a.ok ? "true" : "false");
		printf("]");
		return;
	}
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

static void show_regs(const char *name, const uint32_t *regs)
{
	printf(",\"%s\":{", name);
	for (unsigned i = 0; i < SESSION_REGS; i++)
		printf("%s\"%s\":\"0x%08" PRIx32 "\"", i ? "," : "", reg_names[i], regs[i]);
	printf("}");
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

/*
 * A KD CALL as the device carried it out (bochs-plugin/vmport_kd.c): it
 * reads the page header, reads the payload of a send, writes the payload
 * of a receive, and writes back the fields from header_length to calls.
 * The write-back names the page; without one (a failed call) the last
 * header read does.
 */
static void show_kd_call(const struct dump *d, const struct session_record *r)
{
	struct session_access header_access, back_access, payload_access;
	const uint8_t *header, *back = NULL, *payload;
	uint64_t page;

	if (find_access(r, true, 0, true, WRITE_BACK_LENGTH, &back_access, &back)) {
		page = back_access.address - WRITE_BACK_OFFSET;
		if (!find_access(r, false, page, false, sizeof(struct kdvm_page_header),
				 &header_access, &header))
			return;
	} else if (find_access(r, false, 0, true, sizeof(struct kdvm_page_header),
			       &header_access, &header)) {
		page = header_access.address;
	} else {
		return;
	}

	uint32_t request = le_get32(header + PAGE_AT(request));
	uint32_t type = le_get32(header + PAGE_AT(packet_type));
	uint16_t header_length = le_get16(header + PAGE_AT(header_length));
	uint16_t header_capacity = le_get16(header + PAGE_AT(header_capacity));
	uint16_t data_length = le_get16(header + PAGE_AT(data_length));
	uint16_t data_capacity = le_get16(header + PAGE_AT(data_capacity));
	uint32_t timeout = le_get32(header + PAGE_AT(timeout_ms));
	uint32_t nonce = le_get32(header + PAGE_AT(nonce));
	/* What the device wrote back, where it did. */
	const uint8_t *wb = back ? back - WRITE_BACK_OFFSET : NULL;

	if (d->json) {
		printf(",\"page\":{\"address\":\"0x%016" PRIx64 "\",\"nonce\":\"0x%08" PRIx32
		       "\",\"request\":\"%s\",\"request_number\":%" PRIu32 ",\"packet_type\":%" PRIu32
		       ",\"type\":\"%s\",\"header_length\":%u,\"header_capacity\":%u"
		       ",\"data_length\":%u,\"data_capacity\":%u,\"timeout_ms\":%" PRIu32,
		       page, nonce, or_unknown(NAME_IN(kd_request_names, request)), request, type,
		       kdcom_type_name((uint16_t)type), header_length, header_capacity, data_length,
		       data_capacity, timeout);
		if (wb)
			printf(",\"result\":%" PRIu32 ",\"result_name\":\"%s\",\"flags\":\"0x%08" PRIx32
			       "\",\"calls\":%" PRIu32 ",\"header_length_out\":%u,\"data_length_out\":%u",
			       le_get32(wb + PAGE_AT(result)),
			       kd_page_result_name(le_get32(wb + PAGE_AT(result))),
			       le_get32(wb + PAGE_AT(flags)), le_get32(wb + PAGE_AT(calls)),
			       le_get16(wb + PAGE_AT(header_length)), le_get16(wb + PAGE_AT(data_length)));
		printf("}");
	} else {
		printf(" page=0x%" PRIx64 " %s", page, or_unknown(NAME_IN(kd_request_names, request)));
		if (request == KDVM_REQUEST_SEND)
			printf(" %s header=%u data=%u", kdcom_type_name((uint16_t)type),
			       header_length, data_length);
		else if (request == KDVM_REQUEST_RECEIVE)
			printf(" %s room=%u+%u timeout=%" PRIu32, kdcom_type_name((uint16_t)type),
			       header_capacity, data_capacity, timeout);
		if (wb) {
			printf(" -> result=%s", kd_page_result_name(le_get32(wb + PAGE_AT(result))));
			if (request == KDVM_REQUEST_RECEIVE)
				printf(" header=%u data=%u", le_get16(wb + PAGE_AT(header_length)),
				       le_get16(wb + PAGE_AT(data_length)));
			printf(" flags=0x%" PRIx32 " calls=%" PRIu32, le_get32(wb + PAGE_AT(flags)),
			       le_get32(wb + PAGE_AT(calls)));
		}
	}

	uint64_t payload_address = page + sizeof(struct kdvm_page_header);
	if (request == KDVM_REQUEST_SEND &&
	    find_access(r, false, payload_address, false, UINT32_MAX, &payload_access, &payload))
		show_packet(d, (uint16_t)type, payload, payload_access.length, true);
	else if (request == KDVM_REQUEST_RECEIVE &&
		 find_access(r, true, payload_address, false, UINT32_MAX, &payload_access,
			     &payload))
		show_packet(d, (uint16_t)type, payload, payload_access.length, false);
}

/* HELLO's answer, REGISTER's frame, CALL's page. */
static void show_kd_subcommand(const struct dump *d, const struct session_record *r, uint16_t sub)
{
	const struct session_backdoor *b = &r->u.backdoor.fixed;
	uint32_t status = session_backdoor_eax(b);
	const char *name = NAME_IN(kd_subcommand_names, sub);

	if (d->json) {
		printf(",\"kd\":\"%s\",\"status\":\"0x%08" PRIx32 "\",\"status_name\":\"%s\"",
		       name ? name : "unknown", status, kd_status_name(status));
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
	case KDVM_SUB_HELLO: {
		uint32_t flags = b->regs_out[SESSION_EDI];
		if (d->json)
			printf(",\"protocol\":%" PRIu32 ",\"discovery\":\"%s\",\"hello_flags\":\"0x%08"
			       PRIx32 "\"",
			       b->regs_out[SESSION_ECX], or_unknown(NAME_IN(discovery_names, b->regs_out[SESSION_ESI])),
			       flags);
		else
			printf(" protocol=%" PRIu32 " discovery=%s%s%s", b->regs_out[SESSION_ECX],
			       or_unknown(NAME_IN(discovery_names, b->regs_out[SESSION_ESI])),
			       flags & KDVM_HELLO_TRANSPORT ? " transport" : " no-transport",
			       flags & KDVM_HELLO_DEBUGGER ? " debugger-attached" : "");
		return;
	}
	case KDVM_SUB_REGISTER: {
		uint64_t frame = (uint64_t)b->regs_in[SESSION_EDI] << 32 | b->regs_in[SESSION_ESI];
		if (d->json)
			printf(",\"frame\":\"0x%" PRIx64 "\"", frame);
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

static void show_backdoor(const struct dump *d, const struct session_record *r)
{
	const struct session_backdoor *b = &r->u.backdoor.fixed;
	bool hb = b->port == BDOOR_PORT_HB;
	/* The low-bandwidth port takes its command in ECX, the other in EBX. */
	uint32_t selector = b->regs_in[hb ? SESSION_EBX : SESSION_ECX];
	uint16_t command = BDOOR_CMD(selector), sub = BDOOR_SUBCMD(selector);
	bool magic = b->regs_in[SESSION_EAX] == BDOOR_MAGIC;
	bool kd = !hb && magic && command == d->kd_command && sub != 0 &&
		  b->regs_in[SESSION_EBX] == KDVM_MAGIC;
	const char *name = hb ? NAME_IN(hb_command_names, command) : NAME_IN(command_names, command);

	begin_line(d, r->h.sequence, r->h.tick, session_kind_name(r->h.kind));
	if (d->json) {
		printf(",\"port\":\"0x%04x\",\"direction\":\"%s\",\"cpl\":%u,\"in_value\":\"0x%08"
		       PRIx32 "\",\"string_op_done\":%s,\"magic_ok\":%s,\"command\":\"%s\","
		       "\"command_number\":%u,\"subcommand\":%u",
		       b->port, b->direction ? "OUT" : "IN", b->cpl, b->in_value,
		       b->string_op_done ? "true" : "false", magic ? "true" : "false",
		       name ? name : "unknown", command, sub);
		show_regs("regs_in", b->regs_in);
		show_regs("regs_out", b->regs_out);
		show_accesses(d, r);
	} else {
		printf(" 0x%04x %s cpl=%u", b->port, b->direction ? "OUT" : "IN", b->cpl);
		if (!magic)
			printf(" bad-magic eax=0x%08" PRIx32, b->regs_in[SESSION_EAX]);
		else if (name)
			printf(" %s%s", hb ? "HB " : "", name);
		else
			printf(" %scommand=%u", hb ? "HB " : "", command);
		if (magic && !kd && command == BDOOR_CMD_MESSAGE && NAME_IN(message_type_names, sub))
			printf(" %s", message_type_names[sub]);
		if (b->string_op_done)
			printf(" string-op-done");
	}
	if (kd) {
		show_kd_subcommand(d, r, sub);
	} else if (!d->json) {
		show_changed_regs(b);
		if (b->direction == 0)
			printf(" in=0x%08" PRIx32, b->in_value);
	}
	if (!d->json && !kd)
		show_accesses(d, r);
	end_line(d);
}

/* ---- the kd host port ------------------------------------------------------------------ */

static void show_kd_port(const struct dump *d, const struct session_record *r)
{
	const struct session_kd_port *k = &r->u.kd_port.fixed;
	bool packet_op = k->op == SESSION_KD_SEND || k->op == SESSION_KD_RECEIVE;
	size_t bytes = session_kd_port_bytes(k);

	begin_line(d, r->h.sequence, r->h.tick, session_kind_name(r->h.kind));
	if (d->json) {
		printf(",\"op\":\"%s\",\"result\":%u,\"result_name\":\"%s\"",
		       session_kd_op_name(k->op), k->result, kd_port_result_name(k));
		if (packet_op)
			printf(",\"packet_type\":%u,\"type\":\"%s\",\"timeout_ms\":%" PRIu32
			       ",\"header_length\":%" PRIu32 ",\"data_capacity\":%" PRIu32
			       ",\"data_length\":%" PRIu32,
			       k->packet_type, kdcom_type_name(k->packet_type), k->timeout_ms,
			       k->header_length, k->data_capacity, k->data_length);
	} else {
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
		/* kdtrace lets a caller add members right after the brace. */
		printf("{\"record\":%zu,\"tick\":%" PRIu64 ",%s\n", d->record, d->tick, text + 1);
	else
		printf("%6zu %12" PRIu64 "  %s\n", d->record, d->tick, text);
}

static void show_endpoint(struct dump *d, const struct session_record *r)
{
	const struct session_endpoint *e = &r->u.endpoint.fixed;

	d->record = r->h.sequence;
	d->tick = r->h.tick;
	switch (e->event) {
	case KD_ENDPOINT_TO_TARGET:
	case KD_ENDPOINT_TO_DEBUGGER: {
		struct kdtrace *t = e->event == KD_ENDPOINT_TO_TARGET ? &d->to_target : &d->to_debugger;
		kdtrace_feed(t, r->u.endpoint.bytes, r->u.endpoint.length);
		/* A record is one read or write: garbage shows by then, while a
		 * frame may go on in the next one. */
		kdtrace_pause(t);
		return;
	}
	default: /* attached, detached */
		if (e->event == KD_ENDPOINT_DETACHED) {
			/* Half a frame either way is lost with the connection. */
			kdtrace_break(&d->to_target, "the debugger left");
			kdtrace_break(&d->to_debugger, "the debugger left");
		}
		begin_line(d, r->h.sequence, r->h.tick, session_kind_name(r->h.kind));
		if (d->json)
			printf(",\"side\":\"debugger\",\"event\":\"%s\"",
			       session_endpoint_event_name(e->event));
		else
			printf(" debugger %s", session_endpoint_event_name(e->event));
		end_line(d);
		return;
	}
}

/* ---- the command ------------------------------------------------------------------------- */

static int usage(void)
{
	fprintf(stderr, "usage: bxkd-replay dump SESSION [--json]\n");
	return EXIT_USAGE;
}

int replay_dump(int argc, char **argv)
{
	struct dump d;
	const char *path = NULL;
	struct session_file file;
	char error[1024];

	memset(&d, 0, sizeof(d));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			d.json = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return fprintf(stderr, "bxkd-replay dump: unknown option %s\n", argv[i]),
			       usage();
		else if (path)
			return usage();
		else
			path = argv[i];
	}
	if (!path)
		return usage();
	if (!session_file_read(path, &file, error, sizeof(error))) {
		fprintf(stderr, "bxkd-replay dump: %s\n", error);
		return 1;
	}

	struct kdtrace_config config;
	kdtrace_config_init(&config, KDTRACE_TO_TARGET, decoder_line, &d);
	config.format = d.json ? KDTRACE_JSON : KDTRACE_TEXT;
	kdtrace_init(&d.to_target, &config);
	config.direction = KDTRACE_TO_DEBUGGER;
	kdtrace_init(&d.to_debugger, &config);
	d.kd_command = manifest_kd_command(&file);

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
			d.record = r->h.sequence;
			d.tick = r->h.tick;
			kdtrace_break(&d.to_target, "the session ended");
			kdtrace_break(&d.to_debugger, "the session ended");
			show_end(&d, r);
			break;
		}
	}
	session_file_free(&file);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "bxkd-replay dump: cannot write the transcript\n");
		return 1;
	}
	return 0;
}
