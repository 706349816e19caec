/*
 * session_builder.c -- session files for tests (session_builder.h).
 */
#include "config.h"

#include "session_builder.h"

#include <stdio.h>
#include <string.h>

#include "bxkd/backdoor.h"
#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "bxkd/kdvm.h"

/* The fixed part's accesses count, patched as accesses are added. */
#define ACCESSES_AT (SESSION_HEADER_SIZE + offsetof(struct session_backdoor, accesses))

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void flush(struct session_builder *b)
{
	if (!b->pending)
		return;
	b->pending = false;
	session_finish(&b->record);
	if (b->failed)
		return;
	if (b->record.failed) {
		b->failed = true;
		snprintf(b->error, sizeof(b->error), "building record %u failed", b->sequence);
		return;
	}
	uint64_t tick = 0;
	memcpy(&tick, b->record.data + offsetof(struct session_record_header, tick), sizeof(tick));
	uint16_t kind = (uint16_t)(b->record.data[6] | b->record.data[7] << 8);
	if (!session_writer_write(b->writer, b->record.data, b->record.length, tick)) {
		b->failed = true;
		snprintf(b->error, sizeof(b->error), "writing record %u failed", b->sequence);
		return;
	}
	b->kinds[kind]++;
	b->sequence++;
}

static void begin(struct session_builder *b, enum session_kind kind, uint64_t tick)
{
	flush(b);
	session_begin(&b->record, kind, b->sequence, tick);
	b->pending = true;
}

bool sb_open(struct session_builder *b, const char *path)
{
	memset(b, 0, sizeof(*b));
	b->writer = session_writer_open(path, SB_IPS, b->error, sizeof(b->error));
	return b->writer != NULL;
}

void sb_manifest(struct session_builder *b, uint64_t tick, const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "format=bxkd-session\n"
		 "bxkd_version=0.1.0\n"
		 "image=bxkd-guest.img\n"
		 "image_sha256=%s\n"
		 "boot_options=kernel=workload kd=vmport kd_break=1\n"
		 "vmport=vmx_type=4, hw_version=4, kd_command=18, kd_endpoint=unix:/tmp/kd.sock, "
		 "kd_discovery=register\n"
		 "bochs_ips=%u\n"
		 "bochs_megs=32\n"
		 "bochs_time0=946684800\n"
		 "recorded_utc=2026-01-02T03:04:05Z\n"
		 "%s",
		 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", SB_IPS,
		 extra ? extra : "");
	begin(b, SESSION_MANIFEST, tick);
	session_append(&b->record, text, strlen(text));
}

void sb_backdoor(struct session_builder *b, uint64_t tick, const struct session_backdoor *call)
{
	struct session_backdoor fixed = *call;

	fixed.accesses = 0;
	begin(b, SESSION_BACKDOOR, tick);
	session_append(&b->record, &fixed, sizeof(fixed));
}

void sb_access(struct session_builder *b, uint64_t address, bool write, bool ok,
	       const void *bytes, uint32_t length)
{
	struct session_access a = { .address = address, .length = length, .write = write, .ok = ok };

	session_append(&b->record, &a, sizeof(a));
	if (ok)
		session_append(&b->record, bytes, length);
	if (!b->record.failed)
		put32(b->record.data + ACCESSES_AT, get32(b->record.data + ACCESSES_AT) + 1);
}

void sb_kd_port(struct session_builder *b, uint64_t tick, const struct session_kd_port *call,
		const void *bytes)
{
	begin(b, SESSION_KD_PORT, tick);
	session_append(&b->record, call, sizeof(*call));
	session_append(&b->record, bytes, (size_t)call->header_length + call->data_length);
}

void sb_endpoint(struct session_builder *b, uint64_t tick, uint8_t event, const void *bytes,
		 size_t length)
{
	struct session_endpoint e = { .event = event };

	begin(b, SESSION_ENDPOINT, tick);
	session_append(&b->record, &e, sizeof(e));
	session_append(&b->record, bytes, length);
}

bool sb_finish(struct session_builder *b, uint64_t tick)
{
	char text[256];
	char error[512];

	flush(b);
	snprintf(text, sizeof(text),
		 "records=%u\nbackdoor_calls=%llu\nkd_port_calls=%llu\nendpoint_records=%llu\n",
		 b->sequence + 1, (unsigned long long)b->kinds[SESSION_BACKDOOR],
		 (unsigned long long)b->kinds[SESSION_KD_PORT],
		 (unsigned long long)b->kinds[SESSION_ENDPOINT]);
	begin(b, SESSION_END, tick);
	session_append(&b->record, text, strlen(text));
	flush(b);
	session_buffer_free(&b->record);
	bool closed = session_writer_close(b->writer, error, sizeof(error));
	b->writer = NULL;
	if (!closed) {
		/* The writer's first reason says more than "writing record N failed". */
		b->failed = true;
		snprintf(b->error, sizeof(b->error), "%s", error);
	}
	return !b->failed;
}

/* ---- the KD exchange --------------------------------------------------------------------- */

size_t sb_kdcom_frame(uint8_t *out, uint16_t type, uint32_t id, const void *payload,
		      uint16_t length)
{
	const uint8_t *p = payload;
	uint32_t sum = 0;

	for (uint16_t i = 0; i < length; i++)
		sum += p[i];
	put32(out, payload ? KDCOM_DATA_LEADER : KDCOM_CONTROL_LEADER);
	out[4] = (uint8_t)type;
	out[5] = (uint8_t)(type >> 8);
	out[6] = (uint8_t)length;
	out[7] = (uint8_t)(length >> 8);
	put32(out + 8, id);
	put32(out + 12, payload ? sum : 0);
	if (!payload)
		return KDCOM_HEADER_SIZE;
	memcpy(out + KDCOM_HEADER_SIZE, payload, length);
	out[KDCOM_HEADER_SIZE + length] = KDCOM_TRAILER;
	return KDCOM_HEADER_SIZE + length + 1u;
}

/* The backdoor call of a KD subcommand, as the guest module makes it. */
static struct session_backdoor kd_call(uint16_t sub, uint32_t esi, uint32_t edi, uint32_t status)
{
	struct session_backdoor c = { .port = BDOOR_PORT, .direction = 0, .cpl = 0 };

	c.regs_in[SESSION_EAX] = BDOOR_MAGIC;
	c.regs_in[SESSION_ECX] = BDOOR_CMD_OS_NOT_FOUND | (uint32_t)sub << 16;
	c.regs_in[SESSION_EDX] = BDOOR_PORT;
	c.regs_in[SESSION_EBX] = KDVM_MAGIC;
	c.regs_in[SESSION_ESI] = esi;
	c.regs_in[SESSION_EDI] = edi;
	memcpy(c.regs_out, c.regs_in, sizeof(c.regs_out));
	c.regs_out[SESSION_EAX] = status;
	c.in_value = status;
	return c;
}

static struct kdvm_page_header page_header(uint32_t request, uint32_t type, uint16_t header_length,
					   uint16_t data_length, uint16_t header_capacity,
					   uint16_t data_capacity, uint32_t timeout)
{
	struct kdvm_page_header h;

	memset(&h, 0, sizeof(h));
	memcpy(h.signature, KDVM_SIGNATURE, sizeof(h.signature));
	h.nonce = SB_PAGE_NONCE;
	h.version = KDVM_PROTOCOL_VERSION;
	h.header_size = sizeof(h);
	h.request = request;
	h.packet_type = type;
	h.header_length = header_length;
	h.data_length = data_length;
	h.header_capacity = header_capacity;
	h.data_capacity = data_capacity;
	h.timeout_ms = timeout;
	h.result = KDVM_RESULT_UNTOUCHED;
	return h;
}

/* One KD CALL on the page: the device reads the header, reads a send's
 * payload or writes a receive's, and writes back the outcome. */
static void page_call(struct session_builder *b, uint64_t tick, struct kdvm_page_header h,
		      const void *payload, uint16_t payload_length, uint32_t result, uint32_t calls)
{
	struct session_backdoor c = kd_call(KDVM_SUB_CALL, SB_PAGE_NONCE, 0, KDVM_STATUS_OK);
	const size_t back_from = offsetof(struct kdvm_page_header, header_length);
	const size_t back_to = offsetof(struct kdvm_page_header, reserved);

	sb_backdoor(b, tick, &c);
	sb_access(b, SB_PAGE_ADDRESS, false, true, &h, sizeof(h));
	if (h.request == KDVM_REQUEST_SEND)
		sb_access(b, SB_PAGE_ADDRESS + sizeof(h), false, true, payload, payload_length);
	if (h.request == KDVM_REQUEST_RECEIVE) {
		sb_access(b, SB_PAGE_ADDRESS + sizeof(h), true, true, payload, payload_length);
		h.header_length = h.header_capacity;
		h.data_length = (uint16_t)(payload_length - h.header_capacity);
	}
	h.result = result;
	h.flags = KDVM_FLAG_DEBUGGER_PRESENT;
	h.calls = calls;
	sb_access(b, SB_PAGE_ADDRESS + back_from, true, true, (const uint8_t *)&h + back_from,
		  (uint32_t)(back_to - back_from));
}

void sb_kd_exchange(struct session_builder *b, uint64_t tick)
{
	uint8_t frame[KDCOM_MAX_FRAME], ack[KDCOM_HEADER_SIZE];
	size_t n;

	/* HELLO and REGISTER. */
	struct session_backdoor hello = kd_call(KDVM_SUB_HELLO, 0, 0, KDVM_STATUS_OK);
	hello.regs_out[SESSION_EBX] = KDVM_MAGIC;
	hello.regs_out[SESSION_ECX] = KDVM_PROTOCOL_VERSION;
	hello.regs_out[SESSION_ESI] = KDVM_DISCOVERY_REGISTER;
	hello.regs_out[SESSION_EDI] = KDVM_HELLO_TRANSPORT;
	sb_backdoor(b, tick, &hello);
	struct session_backdoor reg =
		kd_call(KDVM_SUB_REGISTER, SB_PAGE_ADDRESS / KDVM_PAGE_SIZE, 0, KDVM_STATUS_OK);
	struct kdvm_page_header idle = page_header(0, 0, 0, 0, 0, 0, 0);
	sb_backdoor(b, tick + 100, &reg);
	sb_access(b, SB_PAGE_ADDRESS, false, true, &idle, sizeof(idle));
	sb_endpoint(b, tick + 200, KD_ENDPOINT_ATTACHED, NULL, 0);

	/* DbgPrint: the kernel sends, the debugger acknowledges. */
	uint8_t print[sizeof(struct dbgkd_debug_io) + sizeof(SB_PRINT_TEXT) - 1];
	struct dbgkd_debug_io io = { .api_number = DBGKD_PRINT_STRING_API,
				     .u.length_of_string = sizeof(SB_PRINT_TEXT) - 1 };
	memcpy(print, &io, sizeof(io));
	memcpy(print + sizeof(io), SB_PRINT_TEXT, sizeof(SB_PRINT_TEXT) - 1);
	struct session_kd_port send_print = { .op = SESSION_KD_SEND,
					      .packet_type = KDCOM_TYPE_DEBUG_IO,
					      .header_length = sizeof(io),
					      .data_length = sizeof(SB_PRINT_TEXT) - 1 };
	tick += 1000;
	sb_kd_port(b, tick, &send_print, print);
	n = sb_kdcom_frame(frame, KDCOM_TYPE_DEBUG_IO, KDCOM_INITIAL_ID | KDCOM_SYNC_ID, print,
			   sizeof(print));
	sb_endpoint(b, tick, KD_ENDPOINT_TO_DEBUGGER, frame, n);
	n = sb_kdcom_frame(ack, KDCOM_TYPE_ACKNOWLEDGE, KDCOM_INITIAL_ID | KDCOM_SYNC_ID, NULL, 0);
	sb_endpoint(b, tick, KD_ENDPOINT_TO_TARGET, ack, n);
	page_call(b, tick,
		  page_header(KDVM_REQUEST_SEND, KDCOM_TYPE_DEBUG_IO, sizeof(io),
			      sizeof(SB_PRINT_TEXT) - 1, 0, 0, 0),
		  print, sizeof(print), KD_OK, 1);

	/* GetVersion: the request comes in two pieces, then the reply. */
	struct dbgkd_manipulate_state64 request = { .api_number = DBGKD_GET_VERSION_API };
	tick += 1000;
	n = sb_kdcom_frame(frame, KDCOM_TYPE_STATE_MANIPULATE, KDCOM_INITIAL_ID, &request,
			   sizeof(request));
	sb_endpoint(b, tick, KD_ENDPOINT_TO_TARGET, frame, 20);
	sb_endpoint(b, tick, KD_ENDPOINT_TO_TARGET, frame + 20, n - 20);
	n = sb_kdcom_frame(ack, KDCOM_TYPE_ACKNOWLEDGE, KDCOM_INITIAL_ID, NULL, 0);
	sb_endpoint(b, tick, KD_ENDPOINT_TO_DEBUGGER, ack, n);
	uint16_t room = KDCOM_MAX_PAYLOAD - sizeof(request);
	struct session_kd_port receive = { .op = SESSION_KD_RECEIVE,
					   .packet_type = KDCOM_TYPE_STATE_MANIPULATE,
					   .timeout_ms = 1000,
					   .header_length = sizeof(request),
					   .data_capacity = room,
					   .data_length = 0 };
	sb_kd_port(b, tick, &receive, &request);
	page_call(b, tick,
		  page_header(KDVM_REQUEST_RECEIVE, KDCOM_TYPE_STATE_MANIPULATE, 0, 0,
			      sizeof(request), 4096, 1000),
		  &request, sizeof(request), KD_OK, 2);

	struct dbgkd_manipulate_state64 reply = { .api_number = DBGKD_GET_VERSION_API };
	reply.return_status = DBGKD_STATUS_SUCCESS;
	reply.u.get_version.major_version = 0xf;
	reply.u.get_version.minor_version = 2600;
	reply.u.get_version.protocol_version = DBGKD_64BIT_PROTOCOL_VERSION2;
	reply.u.get_version.flags = DBGKD_VERS_FLAG_DATA;
	reply.u.get_version.machine_type = DBGKD_MACHINE_I386;
	reply.u.get_version.kern_base = 0xffffffff80100000u;
	reply.u.get_version.ps_loaded_module_list = 0xffffffff80120000u;
	reply.u.get_version.debugger_data_list = 0xffffffff80121000u;
	struct session_kd_port send_reply = { .op = SESSION_KD_SEND,
					      .packet_type = KDCOM_TYPE_STATE_MANIPULATE,
					      .header_length = sizeof(reply) };
	tick += 1000;
	sb_kd_port(b, tick, &send_reply, &reply);
	n = sb_kdcom_frame(frame, KDCOM_TYPE_STATE_MANIPULATE, KDCOM_INITIAL_ID | 1, &reply,
			   sizeof(reply));
	sb_endpoint(b, tick, KD_ENDPOINT_TO_DEBUGGER, frame, n);
	n = sb_kdcom_frame(ack, KDCOM_TYPE_ACKNOWLEDGE, KDCOM_INITIAL_ID | 1, NULL, 0);
	sb_endpoint(b, tick, KD_ENDPOINT_TO_TARGET, ack, n);
	page_call(b, tick,
		  page_header(KDVM_REQUEST_SEND, KDCOM_TYPE_STATE_MANIPULATE, sizeof(reply), 0, 0,
			      0, 0),
		  &reply, sizeof(reply), KD_OK, 3);

	/* A poll for break-in that finds none. */
	struct session_kd_port poll = { .op = SESSION_KD_POLL_BREAKIN, .result = 0 };
	tick += 1000;
	sb_kd_port(b, tick, &poll, NULL);
	page_call(b, tick, page_header(KDVM_REQUEST_POLL_BREAKIN, 0, 0, 0, 0, 0, 0), NULL, 0,
		  KD_TIMED_OUT, 4);

	/* GETVERSION from user mode, which any CPL may ask. */
	struct session_backdoor version = { .port = BDOOR_PORT, .direction = 0, .cpl = 3 };
	version.regs_in[SESSION_EAX] = BDOOR_MAGIC;
	version.regs_in[SESSION_ECX] = BDOOR_CMD_GETVERSION;
	version.regs_in[SESSION_EDX] = BDOOR_PORT;
	memcpy(version.regs_out, version.regs_in, sizeof(version.regs_out));
	version.regs_out[SESSION_EAX] = BDOOR_VERSION_MAGIC;
	version.regs_out[SESSION_EBX] = BDOOR_MAGIC;
	version.regs_out[SESSION_ECX] = BDOOR_VMX_TYPE_WORKSTATION;
	version.in_value = BDOOR_VERSION_MAGIC;
	sb_backdoor(b, tick + 100, &version);

	sb_endpoint(b, tick + 1000, KD_ENDPOINT_DETACHED, NULL, 0);
}
