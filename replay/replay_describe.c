/*
 * replay_describe.c -- session records described for people (see
 * replay_describe.h).
 */
#include "config.h"

#include "replay_describe.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bxkd/byteorder.h"
#include "bxkd/backdoor.h"
#include "bxkd/kdvm.h"
#include "kdcom_engine.h"
#include "kdtrace.h"
#include "bxkd/names.h"

static const char *subcommand_name(uint16_t sub)
{
	const char *name = kdvm_subcommand_name(sub);

	return name ? name : "?";
}

static const char *status_name(uint32_t status)
{
	const char *name = kdvm_status_name(status);

	if (status == BDOOR_NO_ANSWER)
		return "refused";
	return name ? name : "?";
}

void replay_describe_record(const struct session_record *r, uint16_t kd_command, char *out,
			    size_t size)
{
	switch (r->h.kind) {
	case SESSION_BACKDOOR: {
		const struct session_backdoor *b = &r->u.backdoor.fixed;
		if (session_backdoor_is_kd_call(b, kd_command))
			snprintf(out, size,
				 "backdoor tick=%" PRIu64 " %s 0x%04x CPL%u KD %s status=%s "
				 "(%u memory accesses)",
				 r->h.tick, b->direction ? "OUT" : "IN", b->port, b->cpl,
				 subcommand_name(BDOOR_SUBCMD(b->regs_in[SESSION_ECX])),
				 status_name(session_backdoor_eax(b)), b->accesses);
		else
			snprintf(out, size,
				 "backdoor tick=%" PRIu64 " %s 0x%04x CPL%u eax=0x%08x ecx=0x%08x -> "
				 "eax=0x%08x",
				 r->h.tick, b->direction ? "OUT" : "IN", b->port, b->cpl,
				 b->regs_in[SESSION_EAX], b->regs_in[SESSION_ECX],
				 session_backdoor_eax(b));
		return;
	}
	case SESSION_KD_PORT: {
		const struct session_kd_port *k = &r->u.kd_port.fixed;
		if (k->op == SESSION_KD_SEND)
			snprintf(out, size, "kd_port send %s header=%u data=%u -> result %u",
				 kdcom_type_name(k->packet_type), k->header_length, k->data_length,
				 k->result);
		else if (k->op == SESSION_KD_RECEIVE)
			snprintf(out, size,
				 "kd_port receive %s header=%u room=%u timeout=%u -> result %u, "
				 "data=%u",
				 kdcom_type_name(k->packet_type), k->header_length, k->data_capacity,
				 k->timeout_ms, k->result, k->data_length);
		else
			snprintf(out, size, "kd_port %s -> %s", session_kd_op_name(k->op),
				 k->result ? "yes" : "no");
		return;
	}
	case SESSION_ENDPOINT:
		snprintf(out, size, "endpoint %s %zu bytes",
			 session_endpoint_event_name(r->u.endpoint.fixed.event), r->u.endpoint.length);
		return;
	default:
		snprintf(out, size, "%s", session_kind_name(r->h.kind));
		return;
	}
}

static const char *request_name(uint32_t request)
{
	const char *name = kdvm_request_name(request);

	return name ? name : "?";
}

/* The page header as the device read it (the first access of a CALL). */
static void describe_page_header(const uint8_t *h, size_t length, char *out, size_t size)
{
	if (length < sizeof(struct kdvm_page_header)) {
		snprintf(out, size, "a %zu-byte piece of the KD page", length);
		return;
	}
	snprintf(out, size,
		 "KD page header: request=%s packet_type=%s header_length=%u header_capacity=%u "
		 "data_length=%u data_capacity=%u timeout_ms=%u nonce=0x%08x",
		 request_name(le_get32(h + offsetof(struct kdvm_page_header, request))),
		 kdcom_type_name((uint16_t)le_get32(h + offsetof(struct kdvm_page_header, packet_type))),
		 le_get16(h + offsetof(struct kdvm_page_header, header_length)),
		 le_get16(h + offsetof(struct kdvm_page_header, header_capacity)),
		 le_get16(h + offsetof(struct kdvm_page_header, data_length)),
		 le_get16(h + offsetof(struct kdvm_page_header, data_capacity)),
		 le_get32(h + offsetof(struct kdvm_page_header, timeout_ms)),
		 le_get32(h + offsetof(struct kdvm_page_header, nonce)));
}

void replay_describe_access(const struct session_record *call, uint32_t index,
			    const uint8_t *bytes, size_t length, uint16_t kd_command, char *out,
			    size_t size)
{
	struct session_access a, first;
	const uint8_t *first_bytes;

	if (!session_backdoor_access(call, index, &a, &first_bytes)) {
		snprintf(out, size, "%zu bytes", length);
		return;
	}
	const struct session_backdoor *b = &call->u.backdoor.fixed;
	bool kd = session_backdoor_is_kd_call(b, kd_command);
	uint64_t page = a.address & ~(uint64_t)(KDVM_PAGE_SIZE - 1);
	uint64_t offset = a.address - page;

	if (!kd) {
		snprintf(out, size, "%zu bytes %s guest physical 0x%" PRIx64, length,
			 a.write ? "written to" : "read from", a.address);
		return;
	}
	if (offset == 0 && !a.write) {
		describe_page_header(bytes, length, out, size);
		return;
	}
	/* Payload: its packet type is in the header the call read first. */
	if (offset == sizeof(struct kdvm_page_header) &&
	    session_backdoor_access(call, 0, &first, &first_bytes) && first.ok &&
	    first.length >= sizeof(struct kdvm_page_header)) {
		uint16_t type = (uint16_t)le_get32(first_bytes +
						offsetof(struct kdvm_page_header, packet_type));
		replay_describe_packet(type, bytes, length, !a.write, out, size);
		return;
	}
	snprintf(out, size, "%zu bytes %s the KD page at offset %" PRIu64, length,
		 a.write ? "written to" : "read from", offset);
}

void replay_describe_packet(uint16_t type, const uint8_t *payload, size_t length,
			    bool to_debugger, char *out, size_t size)
{
	kdtrace_describe_packet(type, payload, length,
				to_debugger ? KDTRACE_TO_DEBUGGER : KDTRACE_TO_TARGET, KDTRACE_TEXT,
				out, size);
}
