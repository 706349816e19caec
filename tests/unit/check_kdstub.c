/*
 * check_kdstub.c -- the KD stub (guest/kdstub) as a debugger sees it: each
 * packet it sends, byte for byte, against a scripted fake transport and a
 * fake machine. Facts: docs/kd-protocol.md 2.3-2.4 (the transport
 * contract, how kd64 drives it) and 3 (structures; the DbgKd*Api table with
 * ReactOS' behaviour). Offsets below are the document's, not offsetof(), so
 * a layout mistake in bxkd/dbgkd.h shows here too.
 *
 * A test queues the debugger's side of a stop -- requests, timeouts, resend
 * requests -- then lets the stub report the stop and serve the queue. A
 * script normally ends with a Continue; a stub that keeps waiting after the
 * script ran out fails the test after a few empty receives instead of
 * hanging.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/dbgkd.h"
#include "fake_machine.h"
#include "kdstub.h"
#include "suites.h"
#include "testcases.h"

#define MANIPULATE_SIZE 56u
#define STATE_CHANGE_SIZE 240u
#define DEBUG_IO_SIZE 16u
#define CONTEXT_SIZE 716u
#define PROCESSOR_STATE_SIZE 800u /* x86 KPROCESSOR_STATE: CONTEXT + KSPECIAL_REGISTERS */
#define REPLY_DATA_MAX 3944u	  /* PACKET_MAX_SIZE 4000 - 56 */

/* ---- the fake machine (fake_machine.h) ------------------------------------------ */

static struct fake_machine machine;

static uint8_t *at(uint32_t address)
{
	return fake_machine_at(&machine, address);
}

/* ---- the fake transport ------------------------------------------------------- */

#define QUEUE_MAX 64
#define SENT_MAX 64
/* Empty receives (KdPacketTimedOut) allowed after the script ran out. */
#define IDLE_RECEIVES_ALLOWED 3

struct incoming {
	enum kd_outcome status; /* what KdReceivePacket returns for this entry */
	uint32_t type;
	uint8_t payload[KDCOM_MAX_PAYLOAD + 64];
	uint32_t length;
	/* A transport breaking the contract: delivers this short a header. */
	bool deliver_short_header;
};

struct sent {
	uint32_t type;
	uint8_t header[KDCOM_MAX_PAYLOAD];
	uint32_t header_length;
	uint8_t data[KDCOM_MAX_PAYLOAD];
	uint32_t data_length;
};

static struct {
	struct incoming queue[QUEUE_MAX];
	unsigned queued, taken;
	unsigned idle_receives;
	unsigned refused; /* packets KdReceivePacket would not deliver */
	struct sent out[SENT_MAX];
	unsigned sent;
	bool present;	   /* KdDebuggerNotPresent, inverted */
	unsigned breakins; /* 0x62 bytes waiting for a poll */
	unsigned polls;
} wire;

static struct kdstub stub;

/* KdSendPacket: records everything, delivers when a debugger is there. */
static void fake_send(void *ctx, uint32_t type, const struct kd_string *header,
		      const struct kd_string *data, struct kd_context *kd_context)
{
	(void)ctx;
	ck_assert_ptr_eq(kd_context, &stub.kd_context);
	ck_assert_uint_lt(wire.sent, SENT_MAX);
	ck_assert_ptr_nonnull(header);
	uint32_t data_length = data ? data->length : 0;
	/* No packet's payload exceeds PACKET_MAX_SIZE (kd-protocol.md 1.1). */
	ck_assert_uint_le(header->length + data_length, KDCOM_MAX_PAYLOAD);

	struct sent *p = &wire.out[wire.sent++];
	p->type = type;
	p->header_length = header->length;
	memcpy(p->header, header->buffer, header->length);
	p->data_length = data_length;
	if (data_length)
		memcpy(p->data, data->buffer, data_length);
}

/* KdReceivePacket, honouring its contract (kd-protocol.md 2.3). */
static enum kd_outcome fake_receive(void *ctx, uint32_t type, struct kd_string *header,
				   struct kd_string *data, uint32_t *data_length,
				   struct kd_context *kd_context)
{
	(void)ctx;
	ck_assert_ptr_eq(kd_context, &stub.kd_context);
	if (type == KDCOM_TYPE_POLL_BREAKIN) {
		/* Never waits, takes no buffers. */
		ck_assert_ptr_null(header);
		ck_assert_ptr_null(data);
		ck_assert_ptr_null(data_length);
		wire.polls++;
		if (!wire.breakins)
			return KD_TIMED_OUT;
		wire.breakins--;
		return KD_OK;
	}
	/* A stopped stub waits for requests only, with kd64's buffers. */
	ck_assert_uint_eq(type, KDCOM_TYPE_STATE_MANIPULATE);
	ck_assert_uint_eq(header->maximum_length, MANIPULATE_SIZE);
	ck_assert_uint_ge(data->maximum_length, REPLY_DATA_MAX);
	for (;;) {
		if (wire.taken == wire.queued) {
			ck_assert_msg(++wire.idle_receives <= IDLE_RECEIVES_ALLOWED,
				      "the stub still waits after the script ran out");
			return KD_TIMED_OUT;
		}
		struct incoming *p = &wire.queue[wire.taken++];
		if (p->status != KD_OK)
			return p->status;
		uint32_t header_length = header->maximum_length;
		if (p->deliver_short_header) {
			header_length = p->length < header_length ? p->length : header_length;
		} else if (p->type != type || p->length < header_length ||
			   p->length - header_length > data->maximum_length) {
			/* Not delivered: a real transport ACKs or RESENDs it on the
			 * wire and keeps waiting (kd-protocol.md 1.4, 1.6). */
			wire.refused++;
			continue;
		}
		memcpy(header->buffer, p->payload, header_length);
		header->length = (uint16_t)header_length;
		uint32_t n = p->length - header_length;
		if (n)
			memcpy(data->buffer, p->payload + header_length, n);
		data->length = (uint16_t)n;
		*data_length = n;
		return KD_OK;
	}
}

static bool fake_present(void *ctx)
{
	(void)ctx;
	return wire.present;
}

/* ---- the stub ----------------------------------------------------------------- */

/* TV11's and TV12's values (kd-protocol.md 6). */
static const struct kdstub_config test_config = {
	.build_number = 2600,
	.major_version = 0x000F,
	.kern_base = 0xFFFFFFFF80400000ull,
	.ps_loaded_module_list = 0xFFFFFFFF80560000ull,
	.debugger_data_list = 0xFFFFFFFF80561000ull,
	.thread = 0xFFFFFFFF80553D40ull,
	.processor_level = 6,
	.kernel_cs = FAKE_KERNEL_CS,
};

static struct kdstub_resume resume;

static void start_stub(const struct kdstub_config *config)
{
	const struct kdstub_machine m = fake_machine_interface(&machine);
	const struct kd_transport t = { NULL, fake_send, fake_receive, fake_present };

	kdstub_init(&stub, config, &m, &t);
}

/* A machine of either kind, a debugger there, and the stub started on it. */
static void setup_stub(void (*power_on)(struct fake_machine *), const struct kdstub_config *config)
{
	power_on(&machine);
	memset(&wire, 0, sizeof(wire));
	wire.present = true;
	memset(&resume, 0xEE, sizeof(resume)); /* the stub must fill it */
	start_stub(config);
}

static void setup(void)
{
	setup_stub(fake_machine_power_on, &test_config);
}

/* ---- bytes ---------------------------------------------------------------------- */

static void put16(uint8_t *b, size_t offset, uint16_t v)
{
	b[offset] = (uint8_t)v;
	b[offset + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, size_t offset, uint32_t v)
{
	put16(b, offset, (uint16_t)v);
	put16(b, offset + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *b, size_t offset, uint64_t v)
{
	put32(b, offset, (uint32_t)v);
	put32(b, offset + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *b, size_t offset)
{
	return b[offset] | (uint32_t)b[offset + 1] << 8 | (uint32_t)b[offset + 2] << 16 |
	       (uint32_t)b[offset + 3] << 24;
}

static uint64_t sign_extended(uint32_t address)
{
	return (uint64_t)(int64_t)(int32_t)address;
}

/* ---- scripts -------------------------------------------------------------------- */

static struct dbgkd_manipulate_state64 request(uint32_t api)
{
	struct dbgkd_manipulate_state64 m;

	memset(&m, 0, sizeof(m));
	m.api_number = api;
	m.processor_level = 6; /* debuggers say what the state change said */
	return m;
}

static struct incoming *queue_entry(enum kd_outcome status)
{
	ck_assert_uint_lt(wire.queued, QUEUE_MAX);
	struct incoming *p = &wire.queue[wire.queued++];
	memset(p, 0, sizeof(*p));
	p->status = status;
	return p;
}

static void queue_packet(uint32_t type, const void *header, uint32_t header_length,
			 const void *data, uint32_t data_length)
{
	struct incoming *p = queue_entry(KD_OK);

	ck_assert_uint_le(header_length + data_length, sizeof(p->payload));
	p->type = type;
	memcpy(p->payload, header, header_length);
	if (data_length)
		memcpy(p->payload + header_length, data, data_length);
	p->length = header_length + data_length;
}

static void queue_request(const struct dbgkd_manipulate_state64 *m, const void *data,
			  uint32_t data_length)
{
	queue_packet(KDCOM_TYPE_STATE_MANIPULATE, m, sizeof(*m), data, data_length);
}

static void queue_api(uint32_t api)
{
	struct dbgkd_manipulate_state64 m = request(api);

	queue_request(&m, NULL, 0);
}

/* What WinDbg and bxkd-dbg end a stop with. */
static void queue_continue(void)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_CONTINUE_API2);

	m.u.continue2.continue_status = DBGKD_DBG_CONTINUE;
	m.u.continue2.control_set.current_symbol_start = 1;
	queue_request(&m, NULL, 0);
}

/* A breakpoint stop at the machine's PC, as kd-fake-target reports one. */
static void stop(void)
{
	uint64_t pc = machine.amd64 ? machine.amd64_context.rip : sign_extended(machine.context.eip);

	kdstub_report_exception(&stub, DBGKD_STATUS_BREAKPOINT, pc, true, &resume);
}

static const struct sent *sent_packet(unsigned i)
{
	ck_assert_uint_lt(i, wire.sent);
	return &wire.out[i];
}

/* The debugger's whole script was used, and nothing more asked for. */
static void assert_script_done(void)
{
	ck_assert_uint_eq(wire.taken, wire.queued);
	ck_assert_uint_eq(wire.idle_receives, 0);
}

/* One stop that serves `m` (with its data) and a Continue: the reply. */
static const struct sent *serve(const struct dbgkd_manipulate_state64 *m, const void *data,
				uint32_t data_length)
{
	queue_request(m, data, data_length);
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 2);
	return sent_packet(1);
}

/* A reply as kd64 sends it: the request's 56 bytes as they came, with the
 * ReturnStatus and output fields set in `want`, then `data`. */
static void assert_reply(const struct sent *p, const struct dbgkd_manipulate_state64 *want,
			 const void *data, uint32_t data_length)
{
	ck_assert_uint_eq(p->type, KDCOM_TYPE_STATE_MANIPULATE);
	ck_assert_uint_eq(p->header_length, MANIPULATE_SIZE);
	ck_assert_mem_eq(p->header, want, MANIPULATE_SIZE);
	ck_assert_uint_eq(p->data_length, data_length);
	if (data_length)
		ck_assert_mem_eq(p->data, data, data_length);
}

/* A failure in which the request comes back as it was, but for its status. */
static void assert_refused(const struct sent *p, const struct dbgkd_manipulate_state64 *m,
			   uint32_t status)
{
	struct dbgkd_manipulate_state64 want = *m;

	want.return_status = status;
	assert_reply(p, &want, NULL, 0);
}

/* The 240 bytes every state change starts with (kd-protocol.md 3.2): the
 * machine's state now, breakpoints' bytes already replaced by the caller in
 * `stream` when it passes one. */
static void expected_state_change(uint8_t want[STATE_CHANGE_SIZE], uint32_t new_state,
				  const uint8_t *stream, uint16_t stream_length)
{
	const struct x86_context *c = &machine.context;

	memset(want, 0, STATE_CHANGE_SIZE);
	put32(want, 0, new_state);
	put16(want, 4, 6); /* ProcessorLevel */
	put16(want, 6, 0); /* Processor */
	put32(want, 8, 1); /* NumberProcessors */
	put64(want, 16, 0xFFFFFFFF80553D40ull);
	put64(want, 24, sign_extended(c->eip));
	put32(want, 192, machine.special.kernel_dr6);
	put32(want, 196, machine.special.kernel_dr7);
	put16(want, 200, stream_length);
	put16(want, 202,
	      DBGKD_REPORT_INCLUDES_SEGS | (c->seg_cs == FAKE_KERNEL_CS ? DBGKD_REPORT_STANDARD_CS : 0));
	if (stream_length)
		memcpy(want + 204, stream, stream_length);
	put16(want, 220, (uint16_t)c->seg_cs);
	put16(want, 222, (uint16_t)c->seg_ds);
	put16(want, 224, (uint16_t)c->seg_es);
	put16(want, 226, (uint16_t)c->seg_fs);
	put32(want, 228, c->eflags);
}

static void expected_exception(uint8_t want[STATE_CHANGE_SIZE], uint32_t code, uint64_t address,
			       bool first_chance, const uint8_t *stream, uint16_t stream_length)
{
	expected_state_change(want, DBGKD_EXCEPTION_STATE_CHANGE, stream, stream_length);
	put32(want, 32, code);
	put64(want, 48, address);
	put32(want, 184, first_chance);
}

static void assert_state_change(const struct sent *p, const uint8_t want[STATE_CHANGE_SIZE])
{
	ck_assert_uint_eq(p->type, KDCOM_TYPE_STATE_CHANGE64);
	ck_assert_uint_eq(p->header_length, STATE_CHANGE_SIZE);
	ck_assert_mem_eq(p->header, want, STATE_CHANGE_SIZE);
}

/* kd64's trace buffer after an exception: position 1, nothing in it. */
static void assert_trace_data(const struct sent *p)
{
	static const uint8_t trace[] = { 1, 0, 0, 0 };

	ck_assert_uint_eq(p->data_length, sizeof(trace));
	ck_assert_mem_eq(p->data, trace, sizeof(trace));
}

/* =============================================================================== */
/* The stop report                                                                 */
/* =============================================================================== */

START_TEST(a_stop_is_reported_as_section_3_2_lays_it_out)
{
	uint8_t want[STATE_CHANGE_SIZE];

	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 1);
	expected_exception(want, DBGKD_STATUS_BREAKPOINT, 0xFFFFFFFF80101000ull, true, fake_machine_code,
			   DBGKD_MAXSTREAM);
	assert_state_change(sent_packet(0), want);
	assert_trace_data(sent_packet(0));
	/* Spot checks by the document's words, besides the whole. */
	ck_assert_uint_eq(get32(sent_packet(0)->header, 24), 0x80101000u); /* PC, low half */
	ck_assert_uint_eq(get32(sent_packet(0)->header, 28), 0xFFFFFFFFu); /* ...sign-extended */
	ck_assert_uint_eq(get32(sent_packet(0)->header, 202) & 0xFFFF, 3); /* SEGS | STANDARD_CS */
}
END_TEST

START_TEST(init_starts_with_kd64s_twenty_retries_and_no_breakpoints)
{
	uint8_t original;

	ck_assert_uint_eq(stub.kd_context.retries, 20);
	ck_assert_uint_eq(stub.kd_context.break_in_requested, 0);
	ck_assert(!kdstub_breakpoint_at(&stub, FAKE_CODE, &original));
}
END_TEST

/* The stream is what the CPU would execute: the int3s the debugger planted
 * show as the bytes they replaced (kd-protocol.md 3.11). A 0xCC that is
 * really in the code stays 0xCC. */
START_TEST(the_instruction_stream_shows_the_original_bytes_under_breakpoints)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_WRITE_BREAKPOINT_API);
	uint8_t want[STATE_CHANGE_SIZE];

	m.u.write_breakpoint.breakpoint_address = sign_extended(FAKE_CODE + 2);
	queue_request(&m, NULL, 0);
	m.u.write_breakpoint.breakpoint_address = sign_extended(FAKE_CODE + 15);
	queue_request(&m, NULL, 0);
	queue_continue();
	stop();
	ck_assert_uint_eq(*at(FAKE_CODE + 2), 0xCC);
	ck_assert_uint_eq(*at(FAKE_CODE + 15), 0xCC);

	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 4);
	expected_exception(want, DBGKD_STATUS_BREAKPOINT, 0xFFFFFFFF80101000ull, true, fake_machine_code,
			   DBGKD_MAXSTREAM);
	assert_state_change(sent_packet(3), want);
}
END_TEST

/* kd64 deletes the breakpoints under the reported instructions at a stop
 * (KdpDeleteBreakpointRange). The stub keeps them planted and only shows
 * the original bytes: bxkd-dbg steps off a breakpoint by restoring it by
 * handle, which must still be valid, and WinDbg removes every breakpoint
 * at each stop anyway. */
START_TEST(breakpoints_under_the_pc_stay_planted_across_a_stop)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_WRITE_BREAKPOINT_API);
	struct dbgkd_manipulate_state64 restore = request(DBGKD_RESTORE_BREAKPOINT_API);

	m.u.write_breakpoint.breakpoint_address = sign_extended(FAKE_CODE);
	queue_request(&m, NULL, 0);
	queue_continue();
	stop();
	ck_assert_uint_eq(*at(FAKE_CODE), 0xCC);

	restore.u.restore_breakpoint_handle = 1;
	queue_request(&restore, NULL, 0);
	queue_continue();
	stop();
	ck_assert_uint_eq(sent_packet(2)->header[204], fake_machine_code[0]);
	assert_refused(sent_packet(3), &restore, DBGKD_STATUS_SUCCESS);
	ck_assert_uint_eq(*at(FAKE_CODE), fake_machine_code[0]);
}
END_TEST

/* InstructionCount is what could be read at PC (kd64 copies up to the
 * first byte it cannot); the rest of the stream stays zero. */
START_TEST(the_instruction_stream_ends_where_readable_memory_does)
{
	uint8_t want[STATE_CHANGE_SIZE];

	machine.context.eip = FAKE_HOLE - 5;
	queue_continue();
	stop();
	expected_exception(want, DBGKD_STATUS_BREAKPOINT, sign_extended(FAKE_HOLE - 5), true,
			   at(FAKE_HOLE - 5), 5);
	assert_state_change(sent_packet(0), want);
	ck_assert_uint_eq(get32(sent_packet(0)->header, 200) & 0xFFFF, 5);
}
END_TEST

START_TEST(a_stop_at_an_unreadable_pc_has_no_instruction_stream)
{
	uint8_t want[STATE_CHANGE_SIZE];

	machine.context.eip = FAKE_HOLE + 0x10;
	queue_continue();
	stop();
	expected_exception(want, DBGKD_STATUS_BREAKPOINT, sign_extended(FAKE_HOLE + 0x10), true, NULL,
			   0);
	assert_state_change(sent_packet(0), want);
}
END_TEST

/* REPORT_STANDARD_CS only for the kernel's code segment (R-X86). */
START_TEST(a_user_code_segment_is_not_reported_as_standard_cs)
{
	uint8_t want[STATE_CHANGE_SIZE];

	machine.context.seg_cs = FAKE_USER_CS;
	queue_continue();
	stop();
	expected_exception(want, DBGKD_STATUS_BREAKPOINT, 0xFFFFFFFF80101000ull, true, fake_machine_code,
			   DBGKD_MAXSTREAM);
	assert_state_change(sent_packet(0), want);
	ck_assert_uint_eq(sent_packet(0)->header[202], DBGKD_REPORT_INCLUDES_SEGS);
}
END_TEST

/* FirstChance = !SecondChance; an x86 address travels sign-extended
 * whichever form the caller gave (kd-protocol.md 3.9). */
START_TEST(a_second_chance_exception_says_so_and_its_address_is_sign_extended)
{
	uint8_t want[STATE_CHANGE_SIZE];

	queue_continue();
	kdstub_report_exception(&stub, 0xC0000005u, FAKE_CODE + 0x234, false, &resume);
	expected_exception(want, 0xC0000005u, 0xFFFFFFFF80101234ull, false, fake_machine_code,
			   DBGKD_MAXSTREAM);
	assert_state_change(sent_packet(0), want);
	assert_trace_data(sent_packet(0));
}
END_TEST

/* KdReceivePacket's NeedsResend (a RESET or RESEND on the wire): the same
 * state change goes out again (kd-protocol.md 2.4). */
START_TEST(needs_resend_sends_the_same_state_change_again)
{
	queue_entry(KD_NEEDS_RESEND);
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 2);
	ck_assert_uint_eq(sent_packet(1)->type, KDCOM_TYPE_STATE_CHANGE64);
	ck_assert_uint_eq(sent_packet(1)->header_length, STATE_CHANGE_SIZE);
	ck_assert_mem_eq(sent_packet(1)->header, sent_packet(0)->header, STATE_CHANGE_SIZE);
	assert_trace_data(sent_packet(1));
}
END_TEST

/* Requests served in between change nothing in what is resent, though they
 * used the stub's buffers. */
START_TEST(needs_resend_after_requests_resends_the_original_state_change)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_READ_VIRTUAL_MEMORY_API);

	m.u.read_memory.target_base_address = sign_extended(FAKE_DATA);
	m.u.read_memory.transfer_count = 64;
	queue_request(&m, NULL, 0);
	queue_entry(KD_NEEDS_RESEND);
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 3);
	ck_assert_uint_eq(sent_packet(1)->type, KDCOM_TYPE_STATE_MANIPULATE);
	ck_assert_uint_eq(sent_packet(2)->type, KDCOM_TYPE_STATE_CHANGE64);
	ck_assert_mem_eq(sent_packet(2)->header, sent_packet(0)->header, STATE_CHANGE_SIZE);
	assert_trace_data(sent_packet(2));
}
END_TEST

START_TEST(timeouts_keep_the_stub_waiting_for_the_next_request)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_VERSION_API);

	queue_entry(KD_TIMED_OUT);
	queue_entry(KD_TIMED_OUT);
	queue_entry(KD_TIMED_OUT);
	queue_request(&m, NULL, 0);
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 2);
	ck_assert_uint_eq(sent_packet(0)->type, KDCOM_TYPE_STATE_CHANGE64);
	ck_assert_uint_eq(get32(sent_packet(1)->header, 0), DBGKD_GET_VERSION_API);
}
END_TEST

/* The transport dropped the state change and says nobody is there: kd64
 * returns ContinueSuccess at once (kd-protocol.md 1.8). */
START_TEST(without_a_debugger_a_stop_sends_once_and_resumes)
{
	wire.present = false;
	stop();
	ck_assert_uint_eq(wire.sent, 1);
	ck_assert_uint_eq(wire.taken, 0);
	ck_assert_uint_eq(wire.idle_receives, 0);
	ck_assert_uint_eq(resume.continue_status, DBGKD_DBG_CONTINUE);
	ck_assert(!resume.single_step);
	ck_assert(!resume.dr7_set);
}
END_TEST

/* What the stub can see of a short request: nothing. KdReceivePacket
 * delivers exactly the 56-byte header; a shorter packet is answered on the
 * wire and never returned (kd-protocol.md 1.6, 2.3). */
START_TEST(a_request_shorter_than_its_header_never_reaches_the_stub)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_VERSION_API);

	queue_packet(KDCOM_TYPE_STATE_MANIPULATE, &m, 40, NULL, 0);
	queue_api(DBGKD_QUERY_MEMORY_API);
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.refused, 1);
	ck_assert_uint_eq(wire.sent, 2);
	ck_assert_uint_eq(get32(sent_packet(1)->header, 0), DBGKD_QUERY_MEMORY_API);
}
END_TEST

/* A transport that breaks that contract and hands over 8 bytes: believed,
 * they would combine with the rest of the last request still in the
 * stub's buffer -- here into a write at the address just read. */
START_TEST(a_short_header_from_a_transport_is_not_believed)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_READ_VIRTUAL_MEMORY_API);
	uint8_t before[16];

	m.u.read_memory.target_base_address = sign_extended(FAKE_DATA);
	m.u.read_memory.transfer_count = sizeof(before);
	memcpy(before, at(FAKE_DATA), sizeof(before));
	queue_request(&m, NULL, 0);
	struct dbgkd_manipulate_state64 write = request(DBGKD_WRITE_VIRTUAL_MEMORY_API);
	queue_packet(KDCOM_TYPE_STATE_MANIPULATE, &write, 8, "XXXX", 4);
	wire.queue[wire.queued - 1].deliver_short_header = true;
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 2);
	ck_assert_mem_eq(at(FAKE_DATA), before, sizeof(before));
}
END_TEST

/* =============================================================================== */
/* GetVersion and the reply header                                                 */
/* =============================================================================== */

/* TV11's payload: every GetVersion64 field as section 3.6 gives it. The
 * request is TV5's, all zero but the ApiNumber. */
static const uint8_t tv11_payload[MANIPULATE_SIZE] = {
	0x46, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x0f, 0x00, 0x28, 0x0a, 0x06, 0x00, 0x02, 0x00, 0x4c, 0x01, 0x0c, 0x03,
	0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x80, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00,
	0x56, 0x80, 0xff, 0xff, 0xff, 0xff, 0x00, 0x10, 0x56, 0x80, 0xff, 0xff, 0xff, 0xff,
};

static const struct sent *get_version(void)
{
	struct dbgkd_manipulate_state64 m;

	memset(&m, 0, sizeof(m));
	m.api_number = DBGKD_GET_VERSION_API;
	return serve(&m, NULL, 0);
}

START_TEST(get_version_answers_tv11)
{
	const struct sent *p = get_version();

	ck_assert_uint_eq(p->type, KDCOM_TYPE_STATE_MANIPULATE);
	ck_assert_uint_eq(p->header_length, MANIPULATE_SIZE);
	ck_assert_mem_eq(p->header, tv11_payload, MANIPULATE_SIZE);
	ck_assert_uint_eq(p->data_length, 0);
}
END_TEST

/* The stub is an x86 target: its pointers travel sign-extended even when
 * the configuration holds them zero-extended (kd-protocol.md 3.6, 3.9). */
START_TEST(get_version_sign_extends_pointers_configured_zero_extended)
{
	struct kdstub_config config = test_config;

	config.kern_base = 0x80400000u;
	config.ps_loaded_module_list = 0x80560000u;
	config.debugger_data_list = 0x80561000u;
	start_stub(&config);
	ck_assert_mem_eq(get_version()->header, tv11_payload, MANIPULATE_SIZE);
}
END_TEST

/* kd64 answers in the request's own structure: ApiNumber, ProcessorLevel,
 * Processor and the padding come back as sent. */
START_TEST(a_reply_echoes_api_number_processor_level_processor_and_padding)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_READ_VIRTUAL_MEMORY_API);

	m.processor_level = 0x1234;
	m.pad = 0xA5A5A5A5u;
	m.u.read_memory.target_base_address = sign_extended(FAKE_DATA);
	m.u.read_memory.transfer_count = 4;
	const struct sent *p = serve(&m, NULL, 0);
	ck_assert_uint_eq(get32(p->header, 0), DBGKD_READ_VIRTUAL_MEMORY_API);
	ck_assert_uint_eq(get32(p->header, 4), 0x1234);
	ck_assert_uint_eq(get32(p->header, 8), DBGKD_STATUS_SUCCESS);
	ck_assert_uint_eq(get32(p->header, 12), 0xA5A5A5A5u);
}
END_TEST

/* =============================================================================== */
/* Memory                                                                          */
/* =============================================================================== */

static struct dbgkd_manipulate_state64 read_request(uint32_t api, uint64_t address, uint32_t count)
{
	struct dbgkd_manipulate_state64 m = request(api);

	m.u.read_memory.target_base_address = address;
	m.u.read_memory.transfer_count = count;
	return m;
}

/* TV6/TV7's exchange, on this machine. */
START_TEST(read_virtual_memory_returns_the_bytes_and_actual_bytes_read)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_READ_VIRTUAL_MEMORY_API, sign_extended(FAKE_DATA), 0x10);
	struct dbgkd_manipulate_state64 want = m;

	want.u.read_memory.actual_bytes = 0x10;
	assert_reply(serve(&m, NULL, 0), &want, at(FAKE_DATA), 0x10);
}
END_TEST

START_TEST(read_virtual_memory_takes_a_zero_extended_address_too)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_READ_VIRTUAL_MEMORY_API, FAKE_DATA + 0x20, 8);
	struct dbgkd_manipulate_state64 want = m;

	want.u.read_memory.actual_bytes = 8;
	assert_reply(serve(&m, NULL, 0), &want, at(FAKE_DATA + 0x20), 8);
}
END_TEST

/* Neither form of an x86 address: nothing is read. */
START_TEST(read_virtual_memory_refuses_an_address_no_x86_has)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_READ_VIRTUAL_MEMORY_API, 0x0000000180103000ull, 8);

	assert_refused(serve(&m, NULL, 0), &m, DBGKD_STATUS_UNSUCCESSFUL);
}
END_TEST

/* KdpCopyMemoryChunks: the bytes up to the first unreadable one, their
 * count in ActualBytesRead, and failure. */
START_TEST(read_virtual_memory_stops_at_the_hole_and_says_how_far_it_got)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_READ_VIRTUAL_MEMORY_API, sign_extended(FAKE_HOLE - 5), 16);
	struct dbgkd_manipulate_state64 want = m;

	want.return_status = DBGKD_STATUS_UNSUCCESSFUL;
	want.u.read_memory.actual_bytes = 5;
	assert_reply(serve(&m, NULL, 0), &want, at(FAKE_HOLE - 5), 5);
}
END_TEST

START_TEST(read_virtual_memory_inside_the_hole_reads_nothing)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_READ_VIRTUAL_MEMORY_API, sign_extended(FAKE_HOLE + 0x100), 16);

	assert_refused(serve(&m, NULL, 0), &m, DBGKD_STATUS_UNSUCCESSFUL);
}
END_TEST

START_TEST(read_virtual_memory_of_no_bytes_succeeds_with_no_data)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_READ_VIRTUAL_MEMORY_API, sign_extended(FAKE_DATA), 0);

	assert_refused(serve(&m, NULL, 0), &m, DBGKD_STATUS_SUCCESS);
}
END_TEST

/* PACKET_MAX_SIZE - 56 = 3944 bytes at most; TransferCount stays as asked. */
START_TEST(read_virtual_memory_is_clipped_to_3944_bytes)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_READ_VIRTUAL_MEMORY_API, sign_extended(FAKE_VIRTUAL_BASE), 0x2000);
	struct dbgkd_manipulate_state64 want = m;

	want.u.read_memory.actual_bytes = REPLY_DATA_MAX;
	const struct sent *p = serve(&m, NULL, 0);
	assert_reply(p, &want, at(FAKE_VIRTUAL_BASE), REPLY_DATA_MAX);
	ck_assert_uint_eq(p->header_length + p->data_length, KDCOM_MAX_PAYLOAD);
}
END_TEST

/* The length is the data's, not TransferCount's (R-API). */
START_TEST(write_virtual_memory_writes_the_data_and_takes_its_length_from_it)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_WRITE_VIRTUAL_MEMORY_API, sign_extended(FAKE_DATA), 100);
	struct dbgkd_manipulate_state64 want = m;
	uint8_t after = *at(FAKE_DATA + 6);

	want.u.write_memory.actual_bytes = 6;
	assert_reply(serve(&m, "bxkd!!", 6), &want, NULL, 0);
	ck_assert_mem_eq(at(FAKE_DATA), "bxkd!!", 6);
	ck_assert_uint_eq(*at(FAKE_DATA + 6), after);
}
END_TEST

START_TEST(write_virtual_memory_stops_at_the_hole_and_says_how_far_it_got)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_WRITE_VIRTUAL_MEMORY_API, sign_extended(FAKE_HOLE - 3), 8);
	struct dbgkd_manipulate_state64 want = m;

	want.return_status = DBGKD_STATUS_UNSUCCESSFUL;
	want.u.write_memory.actual_bytes = 3;
	assert_reply(serve(&m, "12345678", 8), &want, NULL, 0);
	ck_assert_mem_eq(at(FAKE_HOLE - 3), "123", 3);
}
END_TEST

START_TEST(write_virtual_memory_to_a_read_only_page_writes_nothing)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_WRITE_VIRTUAL_MEMORY_API, sign_extended(FAKE_READ_ONLY + 8), 4);
	uint8_t before[4];

	memcpy(before, at(FAKE_READ_ONLY + 8), 4);
	assert_refused(serve(&m, "abcd", 4), &m, DBGKD_STATUS_UNSUCCESSFUL);
	ck_assert_mem_eq(at(FAKE_READ_ONLY + 8), before, 4);
}
END_TEST

/* Physical requests carry a caching type in ActualBytesRead/Written; the
 * reply puts the count there. */
START_TEST(read_physical_memory_reads_physical_addresses)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_READ_PHYSICAL_MEMORY_API, FAKE_PHYSICAL_BASE + 0x100, 32);
	struct dbgkd_manipulate_state64 want;

	m.u.read_memory.actual_bytes = 1; /* cached */
	want = m;
	want.u.read_memory.actual_bytes = 32;
	assert_reply(serve(&m, NULL, 0), &want, machine.physical + 0x100, 32);
}
END_TEST

START_TEST(read_physical_memory_stops_at_the_end_of_physical_memory)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_READ_PHYSICAL_MEMORY_API, FAKE_PHYSICAL_BASE + FAKE_PHYSICAL_SIZE - 4, 16);
	struct dbgkd_manipulate_state64 want = m;

	want.return_status = DBGKD_STATUS_UNSUCCESSFUL;
	want.u.read_memory.actual_bytes = 4;
	assert_reply(serve(&m, NULL, 0), &want, machine.physical + FAKE_PHYSICAL_SIZE - 4, 4);
}
END_TEST

START_TEST(write_physical_memory_writes_physical_addresses)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_WRITE_PHYSICAL_MEMORY_API, FAKE_PHYSICAL_BASE + 0x10, 4);
	struct dbgkd_manipulate_state64 want = m;

	want.u.write_memory.actual_bytes = 4;
	assert_reply(serve(&m, "wxyz", 4), &want, NULL, 0);
	ck_assert_mem_eq(machine.physical + 0x10, "wxyz", 4);
}
END_TEST

START_TEST(write_physical_memory_stops_at_the_end_of_physical_memory)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_WRITE_PHYSICAL_MEMORY_API, FAKE_PHYSICAL_BASE + FAKE_PHYSICAL_SIZE - 2, 4);
	struct dbgkd_manipulate_state64 want = m;

	want.return_status = DBGKD_STATUS_UNSUCCESSFUL;
	want.u.write_memory.actual_bytes = 2;
	assert_reply(serve(&m, "wxyz", 4), &want, NULL, 0);
	ck_assert_mem_eq(machine.physical + FAKE_PHYSICAL_SIZE - 2, "wx", 2);
}
END_TEST

/* =============================================================================== */
/* Context                                                                         */
/* =============================================================================== */

START_TEST(get_context_returns_the_716_byte_context_with_its_flags)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_CONTEXT_API);

	m.u.get_context_unused = DBGKD_CONTEXT_ALL; /* what rizin asks; kd64 ignores it */
	const struct sent *p = serve(&m, NULL, 0);
	assert_reply(p, &m, &machine.context, CONTEXT_SIZE);
	ck_assert_uint_eq(get32(p->data, 0x00), DBGKD_CONTEXT_FULL | DBGKD_CONTEXT_DEBUG_REGISTERS);
	ck_assert_uint_eq(get32(p->data, 0xB8), FAKE_CODE);	      /* Eip */
	ck_assert_uint_eq(get32(p->data, 0xB0), 0x11111111u); /* Eax */
	ck_assert_uint_eq(get32(p->data, 0xC0), 0x246u);      /* EFlags */
}
END_TEST

static struct dbgkd_manipulate_state64 set_context_request(struct x86_context *context)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_SET_CONTEXT_API);

	*context = machine.context;
	context->eax = 0x1234ABCDu;
	m.u.set_context_flags = context->context_flags;
	return m;
}

/* kd64 takes a CONTEXT only after it sent one since the state change
 * (KdpContextSent). */
START_TEST(set_context_is_refused_before_a_get_context_since_the_stop)
{
	struct x86_context context;
	struct dbgkd_manipulate_state64 m = set_context_request(&context);

	assert_refused(serve(&m, &context, sizeof(context)), &m, DBGKD_STATUS_UNSUCCESSFUL);
	ck_assert_uint_eq(machine.set_context_calls, 0);
	ck_assert_uint_eq(machine.context.eax, 0x11111111u);
}
END_TEST

START_TEST(set_context_after_a_get_context_replaces_the_registers)
{
	struct x86_context context;
	struct dbgkd_manipulate_state64 m = set_context_request(&context);

	queue_api(DBGKD_GET_CONTEXT_API);
	queue_request(&m, &context, sizeof(context));
	queue_continue();
	stop();
	assert_script_done();
	assert_refused(sent_packet(2), &m, DBGKD_STATUS_SUCCESS);
	ck_assert_uint_eq(machine.set_context_calls, 1);
	ck_assert_mem_eq(&machine.context, &context, sizeof(context));
}
END_TEST

START_TEST(each_stop_needs_its_own_get_context_before_a_set_context)
{
	struct x86_context context;
	struct dbgkd_manipulate_state64 m = set_context_request(&context);

	queue_api(DBGKD_GET_CONTEXT_API);
	queue_continue();
	stop();
	queue_request(&m, &context, sizeof(context));
	queue_continue();
	stop();
	assert_script_done();
	assert_refused(sent_packet(3), &m, DBGKD_STATUS_UNSUCCESSFUL);
	ck_assert_uint_eq(machine.set_context_calls, 0);
}
END_TEST

/* kd64 asserts the length; the stub refuses anything but a whole CONTEXT. */
START_TEST(set_context_of_another_length_is_refused)
{
	struct x86_context context;
	struct dbgkd_manipulate_state64 m = set_context_request(&context);

	queue_api(DBGKD_GET_CONTEXT_API);
	queue_request(&m, &context, sizeof(context) - 16);
	queue_continue();
	stop();
	assert_refused(sent_packet(2), &m, DBGKD_STATUS_UNSUCCESSFUL);
	ck_assert_uint_eq(machine.set_context_calls, 0);
}
END_TEST

/* One processor: requests for processor 1 fail as kd64's do for a
 * Processor >= KeNumberProcessors, and a refused GetContext does not open
 * the way for a SetContext. */
START_TEST(context_of_another_processor_is_refused)
{
	struct x86_context context;
	struct dbgkd_manipulate_state64 get = request(DBGKD_GET_CONTEXT_API);
	struct dbgkd_manipulate_state64 get_ex = request(DBGKD_GET_CONTEXT_EX_API);
	struct dbgkd_manipulate_state64 set = set_context_request(&context);
	struct dbgkd_manipulate_state64 set_other = set;

	get.processor = 1;
	get_ex.processor = 1;
	get_ex.u.context_ex.byte_count = 4;
	set_other.processor = 1;
	queue_request(&get, NULL, 0);
	queue_request(&get_ex, NULL, 0);
	queue_request(&set, &context, sizeof(context));
	queue_api(DBGKD_GET_CONTEXT_API);
	queue_request(&set_other, &context, sizeof(context));
	queue_continue();
	stop();
	assert_script_done();
	assert_refused(sent_packet(1), &get, DBGKD_STATUS_UNSUCCESSFUL);
	assert_refused(sent_packet(2), &get_ex, DBGKD_STATUS_UNSUCCESSFUL);
	assert_refused(sent_packet(3), &set, DBGKD_STATUS_UNSUCCESSFUL);
	assert_refused(sent_packet(5), &set_other, DBGKD_STATUS_UNSUCCESSFUL);
	ck_assert_uint_eq(machine.set_context_calls, 0);
}
END_TEST

static struct dbgkd_manipulate_state64 context_ex_request(uint32_t api, uint32_t offset,
							  uint32_t count)
{
	struct dbgkd_manipulate_state64 m = request(api);

	m.u.context_ex.offset = offset;
	m.u.context_ex.byte_count = count;
	return m;
}

START_TEST(get_context_ex_returns_the_range_asked_for)
{
	struct dbgkd_manipulate_state64 m = context_ex_request(DBGKD_GET_CONTEXT_EX_API, 0xB0, 12);
	struct dbgkd_manipulate_state64 want = m;

	want.u.context_ex.bytes_copied = 12;
	/* Eax, Ebp, Eip */
	assert_reply(serve(&m, NULL, 0), &want, (const uint8_t *)&machine.context + 0xB0, 12);
}
END_TEST

/* Offset + ByteCount must stay within the 716 bytes; a range that ends
 * exactly there is fine, even an empty one, and no sum may wrap. */
START_TEST(get_context_ex_keeps_within_the_context)
{
	struct dbgkd_manipulate_state64 past =
		context_ex_request(DBGKD_GET_CONTEXT_EX_API, 700, 17);
	struct dbgkd_manipulate_state64 last =
		context_ex_request(DBGKD_GET_CONTEXT_EX_API, 700, 16);
	struct dbgkd_manipulate_state64 empty =
		context_ex_request(DBGKD_GET_CONTEXT_EX_API, CONTEXT_SIZE, 0);
	struct dbgkd_manipulate_state64 wrap =
		context_ex_request(DBGKD_GET_CONTEXT_EX_API, 0xFFFFFFF0u, 0x20);
	struct dbgkd_manipulate_state64 want;

	queue_request(&past, NULL, 0);
	queue_request(&last, NULL, 0);
	queue_request(&empty, NULL, 0);
	queue_request(&wrap, NULL, 0);
	queue_continue();
	stop();
	assert_script_done();
	assert_refused(sent_packet(1), &past, DBGKD_STATUS_UNSUCCESSFUL);
	want = last;
	want.u.context_ex.bytes_copied = 16;
	assert_reply(sent_packet(2), &want, (const uint8_t *)&machine.context + 700, 16);
	assert_refused(sent_packet(3), &empty, DBGKD_STATUS_SUCCESS);
	assert_refused(sent_packet(4), &wrap, DBGKD_STATUS_UNSUCCESSFUL);
}
END_TEST

/* SetContextEx writes the data it carries, after a GetContext(Ex). */
START_TEST(set_context_ex_writes_a_range_once_a_context_was_sent)
{
	static const uint8_t new_eip[4] = { 0x78, 0x56, 0x10, 0x80 };
	struct dbgkd_manipulate_state64 set = context_ex_request(DBGKD_SET_CONTEXT_EX_API, 0xB8, 4);
	struct dbgkd_manipulate_state64 get = context_ex_request(DBGKD_GET_CONTEXT_EX_API, 0, 4);
	struct dbgkd_manipulate_state64 want;

	queue_request(&set, new_eip, 4);
	queue_request(&get, NULL, 0);
	queue_request(&set, new_eip, 4);
	queue_continue();
	stop();
	assert_script_done();
	assert_refused(sent_packet(1), &set, DBGKD_STATUS_UNSUCCESSFUL);
	want = set;
	want.u.context_ex.bytes_copied = 4;
	assert_reply(sent_packet(3), &want, NULL, 0);
	ck_assert_uint_eq(machine.context.eip, 0x80105678u);
	ck_assert_uint_eq(machine.set_context_calls, 1);
}
END_TEST

START_TEST(set_context_ex_past_the_end_of_the_context_is_refused)
{
	struct dbgkd_manipulate_state64 set = context_ex_request(DBGKD_SET_CONTEXT_EX_API, 714, 4);

	queue_api(DBGKD_GET_CONTEXT_API);
	queue_request(&set, "abcd", 4);
	queue_continue();
	stop();
	assert_refused(sent_packet(2), &set, DBGKD_STATUS_UNSUCCESSFUL);
	ck_assert_uint_eq(machine.set_context_calls, 0);
}
END_TEST

/* =============================================================================== */
/* Control space: the x86 KPROCESSOR_STATE (CONTEXT, then KSPECIAL_REGISTERS)       */
/* =============================================================================== */

static void processor_state(uint8_t out[PROCESSOR_STATE_SIZE])
{
	memcpy(out, &machine.context, CONTEXT_SIZE);
	memcpy(out + CONTEXT_SIZE, &machine.special, PROCESSOR_STATE_SIZE - CONTEXT_SIZE);
}

START_TEST(read_control_space_reads_the_whole_processor_state)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_READ_CONTROL_SPACE_API, 0, PROCESSOR_STATE_SIZE);
	struct dbgkd_manipulate_state64 want = m;
	uint8_t state[PROCESSOR_STATE_SIZE];

	processor_state(state);
	want.u.read_memory.actual_bytes = PROCESSOR_STATE_SIZE;
	assert_reply(serve(&m, NULL, 0), &want, state, PROCESSOR_STATE_SIZE);
}
END_TEST

/* KSPECIAL_REGISTERS begin right after the 716-byte CONTEXT: Cr0, Cr2, Cr3,
 * Cr4 (kd-protocol.md 3.10). */
START_TEST(read_control_space_at_716_reads_the_control_registers)
{
	struct dbgkd_manipulate_state64 m = read_request(DBGKD_READ_CONTROL_SPACE_API, 716, 16);
	struct dbgkd_manipulate_state64 want = m;
	uint8_t cr[16];

	put32(cr, 0, 0x80010031u);
	put32(cr, 4, 0x00000BADu);
	put32(cr, 8, 0x00101000u);
	put32(cr, 12, 0x00000010u);
	want.u.read_memory.actual_bytes = 16;
	assert_reply(serve(&m, NULL, 0), &want, cr, 16);
}
END_TEST

/* kdx86.c clips a read to what is left of the state. */
START_TEST(read_control_space_is_clipped_at_the_end_of_the_state)
{
	struct dbgkd_manipulate_state64 m = read_request(DBGKD_READ_CONTROL_SPACE_API, 790, 20);
	struct dbgkd_manipulate_state64 want = m;
	uint8_t state[PROCESSOR_STATE_SIZE];

	processor_state(state);
	want.u.read_memory.actual_bytes = 10;
	assert_reply(serve(&m, NULL, 0), &want, state + 790, 10);
}
END_TEST

START_TEST(read_control_space_from_800_on_is_refused)
{
	struct dbgkd_manipulate_state64 end = read_request(DBGKD_READ_CONTROL_SPACE_API, 800, 1);
	struct dbgkd_manipulate_state64 beyond =
		read_request(DBGKD_READ_CONTROL_SPACE_API, 0xFFFFFFFF00000000ull, 4);

	queue_request(&end, NULL, 0);
	queue_request(&beyond, NULL, 0);
	queue_continue();
	stop();
	assert_refused(sent_packet(1), &end, DBGKD_STATUS_UNSUCCESSFUL);
	assert_refused(sent_packet(2), &beyond, DBGKD_STATUS_UNSUCCESSFUL);
}
END_TEST

/* The reply echoes the data written (R-API KdpWriteControlSpace). */
START_TEST(write_control_space_writes_special_registers_and_echoes_the_data)
{
	static const uint8_t cr2[4] = { 0xEF, 0xBE, 0xAD, 0xDE };
	struct dbgkd_manipulate_state64 m = read_request(DBGKD_WRITE_CONTROL_SPACE_API, 720, 0);
	struct dbgkd_manipulate_state64 want = m;

	want.u.write_memory.actual_bytes = 4;
	assert_reply(serve(&m, cr2, 4), &want, cr2, 4);
	ck_assert_uint_eq(machine.special.cr2, 0xDEADBEEFu);
	ck_assert_uint_eq(machine.special.cr3, 0x00101000u);
	ck_assert_uint_eq(machine.set_special_calls, 1);
}
END_TEST

START_TEST(write_control_space_into_the_context_changes_the_registers)
{
	static const uint8_t eax[4] = { 0x44, 0x33, 0x22, 0x11 };
	struct dbgkd_manipulate_state64 m = read_request(DBGKD_WRITE_CONTROL_SPACE_API, 0xB0, 4);
	struct dbgkd_manipulate_state64 want = m;

	want.u.write_memory.actual_bytes = 4;
	assert_reply(serve(&m, eax, 4), &want, eax, 4);
	ck_assert_uint_eq(machine.context.eax, 0x11223344u);
}
END_TEST

/* A write must fit whole; kd64 echoes the data even then. */
START_TEST(write_control_space_past_the_end_is_refused_and_still_echoed)
{
	struct dbgkd_manipulate_state64 m = read_request(DBGKD_WRITE_CONTROL_SPACE_API, 798, 4);

	m.u.write_memory.actual_bytes = 0x77; /* overwritten with 0 */
	struct dbgkd_manipulate_state64 want = m;
	want.return_status = DBGKD_STATUS_UNSUCCESSFUL;
	want.u.write_memory.actual_bytes = 0;
	assert_reply(serve(&m, "abcd", 4), &want, "abcd", 4);
	ck_assert_uint_eq(machine.set_special_calls, 0);
	ck_assert_uint_eq(machine.set_context_calls, 0);
}
END_TEST

START_TEST(control_space_of_another_processor_is_refused)
{
	struct dbgkd_manipulate_state64 read_req =
		read_request(DBGKD_READ_CONTROL_SPACE_API, 0, 16);
	struct dbgkd_manipulate_state64 write_req =
		read_request(DBGKD_WRITE_CONTROL_SPACE_API, 720, 4);
	struct dbgkd_manipulate_state64 want;

	read_req.processor = 1;
	write_req.processor = 1;
	queue_request(&read_req, NULL, 0);
	queue_request(&write_req, "abcd", 4);
	queue_continue();
	stop();
	assert_refused(sent_packet(1), &read_req, DBGKD_STATUS_UNSUCCESSFUL);
	want = write_req;
	want.return_status = DBGKD_STATUS_UNSUCCESSFUL;
	assert_reply(sent_packet(2), &want, "abcd", 4);
	ck_assert_uint_eq(machine.set_special_calls, 0);
}
END_TEST

/* =============================================================================== */
/* Breakpoints                                                                     */
/* =============================================================================== */

static struct dbgkd_manipulate_state64 breakpoint_request(uint64_t address)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_WRITE_BREAKPOINT_API);

	m.u.write_breakpoint.breakpoint_address = address;
	return m;
}

static struct dbgkd_manipulate_state64 restore_request(uint32_t handle)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_RESTORE_BREAKPOINT_API);

	m.u.restore_breakpoint_handle = handle;
	return m;
}

static void assert_handle(const struct sent *p, const struct dbgkd_manipulate_state64 *m,
			  uint32_t handle)
{
	struct dbgkd_manipulate_state64 want = *m;

	want.u.write_breakpoint.breakpoint_handle = handle;
	want.return_status = handle ? DBGKD_STATUS_SUCCESS : DBGKD_STATUS_UNSUCCESSFUL;
	assert_reply(p, &want, NULL, 0);
}

/* x86: one byte 0xCC; handle = table index + 1 (kd-protocol.md 3.11). */
START_TEST(write_breakpoint_plants_int3_and_answers_index_plus_one)
{
	struct dbgkd_manipulate_state64 a = breakpoint_request(sign_extended(FAKE_CODE + 0x100));
	struct dbgkd_manipulate_state64 b = breakpoint_request(FAKE_CODE + 0x101);
	uint8_t original_a = *at(FAKE_CODE + 0x100), original_b = *at(FAKE_CODE + 0x101), original;

	queue_request(&a, NULL, 0);
	queue_request(&b, NULL, 0);
	queue_continue();
	stop();
	assert_script_done();
	assert_handle(sent_packet(1), &a, 1);
	assert_handle(sent_packet(2), &b, 2);
	ck_assert_uint_eq(*at(FAKE_CODE + 0x100), 0xCC);
	ck_assert_uint_eq(*at(FAKE_CODE + 0x101), 0xCC);
	/* The bytes they replaced, asked for in either form of the address. */
	ck_assert(kdstub_breakpoint_at(&stub, FAKE_CODE + 0x100, &original));
	ck_assert_uint_eq(original, original_a);
	ck_assert(kdstub_breakpoint_at(&stub, sign_extended(FAKE_CODE + 0x101), &original));
	ck_assert_uint_eq(original, original_b);
	ck_assert(!kdstub_breakpoint_at(&stub, FAKE_CODE + 0x102, &original));
}
END_TEST

/* KdpAddBreakpoint refuses an address already in the table -- which keeps
 * the 0xCC from being remembered as the original byte. */
START_TEST(a_second_breakpoint_at_one_address_is_refused)
{
	struct dbgkd_manipulate_state64 m = breakpoint_request(sign_extended(FAKE_CODE + 0x100));
	struct dbgkd_manipulate_state64 restore = restore_request(1);
	uint8_t original = *at(FAKE_CODE + 0x100);

	queue_request(&m, NULL, 0);
	queue_request(&m, NULL, 0);
	queue_request(&restore, NULL, 0);
	queue_continue();
	stop();
	assert_handle(sent_packet(1), &m, 1);
	assert_handle(sent_packet(2), &m, 0);
	assert_refused(sent_packet(3), &restore, DBGKD_STATUS_SUCCESS);
	ck_assert_uint_eq(*at(FAKE_CODE + 0x100), original);
}
END_TEST

/* KD_BREAKPOINT_MAX = 32. */
START_TEST(the_33rd_breakpoint_is_refused)
{
	struct dbgkd_manipulate_state64 m;
	uint8_t original = *at(FAKE_CODE + 0x200 + 32);

	for (uint32_t i = 0; i <= 32; i++) {
		m = breakpoint_request(sign_extended(FAKE_CODE + 0x200 + i));
		queue_request(&m, NULL, 0);
	}
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 34);
	for (uint32_t i = 0; i < 32; i++) {
		m = breakpoint_request(sign_extended(FAKE_CODE + 0x200 + i));
		assert_handle(sent_packet(1 + i), &m, i + 1);
	}
	m = breakpoint_request(sign_extended(FAKE_CODE + 0x200 + 32));
	assert_handle(sent_packet(33), &m, 0);
	ck_assert_uint_eq(*at(FAKE_CODE + 0x200 + 32), original);
}
END_TEST

/* kd64 answers an address it cannot read with a handle to a deferred
 * breakpoint, planted when the page appears (KdSetOwedBreakpoints, called
 * from the page-fault handler). The stub hears of no page coming in, so a
 * deferred breakpoint would never fire: it refuses, and the debugger
 * knows. Nothing is planted and no slot is used. */
START_TEST(a_breakpoint_on_unmapped_memory_is_refused_and_uses_no_slot)
{
	struct dbgkd_manipulate_state64 hole = breakpoint_request(sign_extended(FAKE_HOLE + 0x10));
	struct dbgkd_manipulate_state64 other = breakpoint_request(0x0000000180101000ull);
	struct dbgkd_manipulate_state64 good = breakpoint_request(sign_extended(FAKE_CODE + 0x10));

	queue_request(&hole, NULL, 0);
	queue_request(&other, NULL, 0);
	queue_request(&good, NULL, 0);
	queue_continue();
	stop();
	assert_handle(sent_packet(1), &hole, 0);
	assert_handle(sent_packet(2), &other, 0);
	assert_handle(sent_packet(3), &good, 1);
}
END_TEST

/* Likewise where the byte can be read but the int3 not written (kd64 logs
 * it and returns a handle to a breakpoint that is not there). */
START_TEST(a_breakpoint_where_int3_cannot_be_written_is_refused)
{
	struct dbgkd_manipulate_state64 m = breakpoint_request(sign_extended(FAKE_READ_ONLY + 1));
	uint8_t before = *at(FAKE_READ_ONLY + 1), original;

	assert_handle(serve(&m, NULL, 0), &m, 0);
	ck_assert_uint_eq(*at(FAKE_READ_ONLY + 1), before);
	ck_assert(!kdstub_breakpoint_at(&stub, FAKE_READ_ONLY + 1, &original));
}
END_TEST

START_TEST(restore_breakpoint_puts_the_byte_back_and_frees_the_handle)
{
	struct dbgkd_manipulate_state64 a = breakpoint_request(sign_extended(FAKE_CODE + 0x100));
	struct dbgkd_manipulate_state64 b = breakpoint_request(sign_extended(FAKE_CODE + 0x180));
	struct dbgkd_manipulate_state64 restore = restore_request(1);
	uint8_t original = *at(FAKE_CODE + 0x100), ignored;

	queue_request(&a, NULL, 0);
	queue_request(&restore, NULL, 0);
	queue_request(&b, NULL, 0);
	queue_continue();
	stop();
	assert_script_done();
	assert_handle(sent_packet(1), &a, 1);
	assert_refused(sent_packet(2), &restore, DBGKD_STATUS_SUCCESS);
	assert_handle(sent_packet(3), &b, 1);
	ck_assert_uint_eq(*at(FAKE_CODE + 0x100), original);
	ck_assert_uint_eq(*at(FAKE_CODE + 0x180), 0xCC);
	ck_assert(!kdstub_breakpoint_at(&stub, FAKE_CODE + 0x100, &ignored));
}
END_TEST

/* KdpDeleteBreakpoint: 0, past 32, or a free entry -> failure. */
START_TEST(restore_breakpoint_of_a_handle_not_in_use_is_refused)
{
	static const uint32_t handles[] = { 0, 2, 33, 0xFFFFFFFFu, 1 };
	struct dbgkd_manipulate_state64 set = breakpoint_request(sign_extended(FAKE_CODE + 0x100));
	struct dbgkd_manipulate_state64 m;

	queue_request(&set, NULL, 0);
	for (size_t i = 0; i < sizeof(handles) / sizeof(*handles); i++) {
		m = restore_request(handles[i]);
		queue_request(&m, NULL, 0);
	}
	m = restore_request(1); /* again: freed by the last one */
	queue_request(&m, NULL, 0);
	queue_continue();
	stop();
	assert_script_done();
	for (size_t i = 0; i < 4; i++) {
		m = restore_request(handles[i]);
		assert_refused(sent_packet(2 + (unsigned)i), &m, DBGKD_STATUS_UNSUCCESSFUL);
	}
	m = restore_request(1);
	assert_refused(sent_packet(6), &m, DBGKD_STATUS_SUCCESS);
	assert_refused(sent_packet(7), &m, DBGKD_STATUS_UNSUCCESSFUL);
}
END_TEST

/* =============================================================================== */
/* Continue                                                                        */
/* =============================================================================== */

/* TV10's Continue: no reply; the status is the caller's to act on. */
START_TEST(continue_ends_the_stop_without_a_reply_and_hands_over_its_status)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_CONTINUE_API);

	m.u.continue_status = DBGKD_DBG_EXCEPTION_HANDLED;
	m.u.raw[4] = 0x00, m.u.raw[5] = 0x04; /* rizin's 0x400, meaning unknown */
	queue_request(&m, NULL, 0);
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 1);
	ck_assert_uint_eq(resume.continue_status, DBGKD_DBG_EXCEPTION_HANDLED);
	ck_assert(!resume.single_step);
	ck_assert(!resume.dr7_set);
}
END_TEST

/* kd64 returns NT_SUCCESS(ContinueStatus) from the loop: a failure status
 * ends the stop too, saying the exception was not handled. */
START_TEST(continue_with_a_failure_status_also_ends_the_stop)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_CONTINUE_API);

	m.u.continue_status = DBGKD_DBG_EXCEPTION_NOT_HANDLED;
	queue_request(&m, NULL, 0);
	queue_api(DBGKD_GET_VERSION_API); /* never read */
	stop();
	ck_assert_uint_eq(wire.taken, 1);
	ck_assert_uint_eq(wire.sent, 1);
	ck_assert_uint_eq(resume.continue_status, DBGKD_DBG_EXCEPTION_NOT_HANDLED);
	ck_assert(!resume.single_step);
}
END_TEST

/* TV9: TraceFlag -> single step, Dr7 for the caller to load. */
START_TEST(continue2_hands_over_trace_flag_and_dr7)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_CONTINUE_API2);

	m.u.continue2.continue_status = DBGKD_DBG_CONTINUE;
	m.u.continue2.control_set.trace_flag = 1;
	m.u.continue2.control_set.dr7 = 0x401;
	m.u.continue2.control_set.current_symbol_start = 1;
	queue_request(&m, NULL, 0);
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 1);
	ck_assert_uint_eq(resume.continue_status, DBGKD_DBG_CONTINUE);
	ck_assert(resume.single_step);
	ck_assert(resume.dr7_set);
	ck_assert_uint_eq(resume.dr7, 0x401);
}
END_TEST

START_TEST(continue2_without_trace_flag_runs_free)
{
	queue_continue();
	stop();
	ck_assert(!resume.single_step);
	ck_assert(resume.dr7_set);
	ck_assert_uint_eq(resume.dr7, 0);
}
END_TEST

/* KdpGetStateChange applies the control set only on success; the loop
 * ends either way (ContinueError). */
START_TEST(continue2_with_a_failure_status_ends_the_stop_and_applies_nothing)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_CONTINUE_API2);

	m.u.continue2.continue_status = DBGKD_STATUS_UNSUCCESSFUL;
	m.u.continue2.control_set.trace_flag = 1;
	m.u.continue2.control_set.dr7 = 0x55;
	queue_request(&m, NULL, 0);
	queue_api(DBGKD_GET_VERSION_API); /* never read */
	stop();
	ck_assert_uint_eq(wire.taken, 1);
	ck_assert_uint_eq(wire.sent, 1);
	ck_assert_uint_eq(resume.continue_status, DBGKD_STATUS_UNSUCCESSFUL);
	ck_assert(!resume.single_step);
	ck_assert(!resume.dr7_set);
}
END_TEST

/* =============================================================================== */
/* I/O space                                                                       */
/* =============================================================================== */

static struct dbgkd_manipulate_state64 io_request(uint32_t api, uint64_t port, uint32_t size,
						  uint32_t value)
{
	struct dbgkd_manipulate_state64 m = request(api);

	m.u.io.io_address = port;
	m.u.io.data_size = size;
	m.u.io.data_value = value;
	return m;
}

/* DataValue is cleared first: a 1- or 2-byte read leaves nothing above
 * the bytes read (R-API KdpReadIoSpace). */
START_TEST(read_io_space_reads_1_2_and_4_bytes)
{
	static const struct {
		uint16_t port;
		uint32_t size, value;
	} reads[] = { { 0x64, 1, 0x64 }, { 0x1F0, 2, 0x01F0 }, { 0xCFC, 4, FAKE_IO_JUNK | 0x0CFC } };
	struct dbgkd_manipulate_state64 m, want;

	for (size_t i = 0; i < 3; i++) {
		m = io_request(DBGKD_READ_IO_SPACE_API, reads[i].port, reads[i].size, 0xFFFFFFFFu);
		queue_request(&m, NULL, 0);
	}
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(machine.io_count, 3);
	for (size_t i = 0; i < 3; i++) {
		m = io_request(DBGKD_READ_IO_SPACE_API, reads[i].port, reads[i].size, 0xFFFFFFFFu);
		want = m;
		want.u.io.data_value = reads[i].value;
		assert_reply(sent_packet(1 + (unsigned)i), &want, NULL, 0);
		ck_assert(!machine.io[i].write);
		ck_assert_uint_eq(machine.io[i].port, reads[i].port);
		ck_assert_uint_eq(machine.io[i].size, reads[i].size);
	}
}
END_TEST

static struct dbgkd_manipulate_state64 msr_request(uint32_t api, uint32_t msr, uint64_t value)
{
	struct dbgkd_manipulate_state64 m = request(api);

	m.u.msr.msr = msr;
	m.u.msr.data_value_low = (uint32_t)value;
	m.u.msr.data_value_high = (uint32_t)(value >> 32);
	return m;
}

/* ReadMsr answers from the machine, and fails (value zero) for a register
 * the machine does not let it read, with kd64's status for an MSR the CPU
 * refuses: STATUS_NO_SUCH_DEVICE. */
START_TEST(read_msr_reads_what_the_machine_allows)
{
	struct dbgkd_manipulate_state64 tsc = msr_request(DBGKD_READ_MSR_API, 0x10, 0xFFFFFFFFu);
	struct dbgkd_manipulate_state64 other =
		msr_request(DBGKD_READ_MSR_API, 0x1B, 0xFFFFFFFF00000000ull);

	queue_request(&tsc, NULL, 0);
	queue_request(&other, NULL, 0);
	queue_continue();
	stop();
	assert_script_done();
	struct dbgkd_manipulate_state64 want = msr_request(DBGKD_READ_MSR_API, 0x10, FAKE_TSC);
	assert_reply(sent_packet(1), &want, NULL, 0);
	/* Msr @16, DataValueLow @20, DataValueHigh @24 (kd-protocol.md 3.3). */
	ck_assert_uint_eq(get32(sent_packet(1)->header, 16), 0x10);
	ck_assert_uint_eq(get32(sent_packet(1)->header, 20), (uint32_t)FAKE_TSC);
	ck_assert_uint_eq(get32(sent_packet(1)->header, 24), (uint32_t)(FAKE_TSC >> 32));
	want = msr_request(DBGKD_READ_MSR_API, 0x1B, 0);
	want.return_status = DBGKD_STATUS_NO_SUCH_DEVICE;
	assert_reply(sent_packet(2), &want, NULL, 0);
	ck_assert_uint_eq(get32(sent_packet(2)->header, 8), 0xC000000Eu); /* ReturnStatus */
}
END_TEST

/* WriteMsr hands the machine all 64 bits and echoes the request as it
 * came (kd64's KdpWriteMachineSpecificRegister): a ReadMsr after it reads
 * the value back. */
START_TEST(write_msr_writes_what_the_machine_allows_and_echoes_the_request)
{
	const uint64_t value = 0x00007FFF89ABCDEFull;
	struct dbgkd_manipulate_state64 write = msr_request(DBGKD_WRITE_MSR_API, 0x175, value);
	struct dbgkd_manipulate_state64 read = msr_request(DBGKD_READ_MSR_API, 0x175, 0);

	queue_request(&write, NULL, 0);
	queue_request(&read, NULL, 0);
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(machine.msr_writes, 1);
	ck_assert_uint_eq(machine.writable_msr, value);
	assert_reply(sent_packet(1), &write, NULL, 0);
	ck_assert_uint_eq(get32(sent_packet(1)->header, 20), 0x89ABCDEFu);
	ck_assert_uint_eq(get32(sent_packet(1)->header, 24), 0x00007FFFu);
	struct dbgkd_manipulate_state64 want = msr_request(DBGKD_READ_MSR_API, 0x175, value);
	assert_reply(sent_packet(2), &want, NULL, 0);
}
END_TEST

/* A register the machine refuses to have written (the TSC: read only here,
 * an MSR no CPU has): STATUS_NO_SUCH_DEVICE, the request otherwise
 * echoed, nothing written, and the stub goes on serving. */
START_TEST(write_msr_of_a_register_the_machine_refuses_is_no_such_device)
{
	static const uint32_t refused[] = { 0x10, 0x1B, 0xC0000102u, 0xFFFFFFFFu };
	const size_t n = sizeof(refused) / sizeof(*refused);
	struct dbgkd_manipulate_state64 m;

	for (size_t i = 0; i < n; i++) {
		m = msr_request(DBGKD_WRITE_MSR_API, refused[i], 0x1122334455667788ull + i);
		queue_request(&m, NULL, 0);
	}
	queue_api(DBGKD_GET_VERSION_API);
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 2 + n);
	for (size_t i = 0; i < n; i++) {
		m = msr_request(DBGKD_WRITE_MSR_API, refused[i], 0x1122334455667788ull + i);
		m.return_status = DBGKD_STATUS_NO_SUCH_DEVICE;
		assert_reply(sent_packet(1 + (unsigned)i), &m, NULL, 0);
	}
	ck_assert_uint_eq(get32(sent_packet(1 + (unsigned)n)->header, 0), DBGKD_GET_VERSION_API);
	ck_assert_uint_eq(machine.msr_writes, 0);
	ck_assert_uint_eq(machine.writable_msr, FAKE_MSR_WRITABLE_AT_POWER_ON);
}
END_TEST

/* A machine without MSR hooks is kd64 on an architecture without MSRs:
 * both requests fail STATUS_UNSUCCESSFUL, ReadMsr with a zero value. */
START_TEST(msr_requests_to_a_machine_without_msrs_are_unsuccessful)
{
	struct kdstub_machine none = fake_machine_interface(&machine);
	const struct kd_transport t = { NULL, fake_send, fake_receive, fake_present };
	struct dbgkd_manipulate_state64 read = msr_request(DBGKD_READ_MSR_API, 0x10, 0xFFFFFFFFu);
	struct dbgkd_manipulate_state64 write = msr_request(DBGKD_WRITE_MSR_API, 0x175, 5);

	none.read_msr = NULL;
	none.write_msr = NULL;
	kdstub_init(&stub, &test_config, &none, &t);
	queue_request(&read, NULL, 0);
	queue_request(&write, NULL, 0);
	queue_continue();
	stop();
	assert_script_done();
	read.u.msr.data_value_low = 0;
	read.return_status = DBGKD_STATUS_UNSUCCESSFUL;
	assert_reply(sent_packet(1), &read, NULL, 0);
	write.return_status = DBGKD_STATUS_UNSUCCESSFUL;
	assert_reply(sent_packet(2), &write, NULL, 0);
	ck_assert_uint_eq(machine.msr_writes, 0);
}
END_TEST

START_TEST(write_io_space_writes_1_2_and_4_bytes)
{
	static const struct {
		uint16_t port;
		uint32_t size, written;
	} writes[] = { { 0x80, 1, 0x78 }, { 0x1F0, 2, 0x5678 }, { 0xCF8, 4, 0x12345678 } };
	struct dbgkd_manipulate_state64 m;

	for (size_t i = 0; i < 3; i++) {
		m = io_request(DBGKD_WRITE_IO_SPACE_API, writes[i].port, writes[i].size,
			       0x12345678);
		queue_request(&m, NULL, 0);
	}
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(machine.io_count, 3);
	for (size_t i = 0; i < 3; i++) {
		m = io_request(DBGKD_WRITE_IO_SPACE_API, writes[i].port, writes[i].size,
			       0x12345678);
		assert_refused(sent_packet(1 + (unsigned)i), &m, DBGKD_STATUS_SUCCESS);
		ck_assert(machine.io[i].write);
		ck_assert_uint_eq(machine.io[i].port, writes[i].port);
		ck_assert_uint_eq(machine.io[i].size, writes[i].size);
		ck_assert_uint_eq(machine.io[i].value, writes[i].written);
	}
}
END_TEST

/* kdx86.c: 2 and 4 bytes must be aligned; DataSize comes back 0. */
START_TEST(misaligned_io_is_a_datatype_misalignment_and_touches_no_port)
{
	struct dbgkd_manipulate_state64 read2 = io_request(DBGKD_READ_IO_SPACE_API, 0x1F1, 2, 0x99);
	struct dbgkd_manipulate_state64 read4 = io_request(DBGKD_READ_IO_SPACE_API, 0xCFE, 4, 0x99);
	struct dbgkd_manipulate_state64 write2 =
		io_request(DBGKD_WRITE_IO_SPACE_API, 0x1F1, 2, 0x99);
	struct dbgkd_manipulate_state64 want;

	queue_request(&read2, NULL, 0);
	queue_request(&read4, NULL, 0);
	queue_request(&write2, NULL, 0);
	queue_continue();
	stop();
	ck_assert_uint_eq(machine.io_count, 0);
	want = read2;
	want.return_status = DBGKD_STATUS_DATATYPE_MISALIGNMENT;
	want.u.io.data_size = 0;
	want.u.io.data_value = 0;
	assert_reply(sent_packet(1), &want, NULL, 0);
	want = read4;
	want.return_status = DBGKD_STATUS_DATATYPE_MISALIGNMENT;
	want.u.io.data_size = 0;
	want.u.io.data_value = 0;
	assert_reply(sent_packet(2), &want, NULL, 0);
	want = write2;
	want.return_status = DBGKD_STATUS_DATATYPE_MISALIGNMENT;
	want.u.io.data_size = 0;
	assert_reply(sent_packet(3), &want, NULL, 0);
}
END_TEST

/* kdx86.c: any other size is STATUS_INVALID_PARAMETER. */
START_TEST(io_of_another_size_is_an_invalid_parameter)
{
	static const uint32_t sizes[] = { 0, 3, 8 };
	struct dbgkd_manipulate_state64 m, want;

	for (size_t i = 0; i < 3; i++) {
		m = io_request(DBGKD_WRITE_IO_SPACE_API, 0x80, sizes[i], 1);
		queue_request(&m, NULL, 0);
	}
	queue_continue();
	stop();
	ck_assert_uint_eq(machine.io_count, 0);
	for (size_t i = 0; i < 3; i++) {
		m = io_request(DBGKD_WRITE_IO_SPACE_API, 0x80, sizes[i], 1);
		want = m;
		want.return_status = DBGKD_STATUS_INVALID_PARAMETER;
		want.u.io.data_size = 0;
		assert_reply(sent_packet(1 + (unsigned)i), &want, NULL, 0);
	}
}
END_TEST

/* x86 ports are 16 bits; kd64 would truncate, the stub refuses. */
START_TEST(io_beyond_port_ffff_is_refused)
{
	struct dbgkd_manipulate_state64 m = io_request(DBGKD_READ_IO_SPACE_API, 0x10064, 1, 0);
	struct dbgkd_manipulate_state64 want = m;

	want.return_status = DBGKD_STATUS_UNSUCCESSFUL;
	want.u.io.data_size = 0;
	assert_reply(serve(&m, NULL, 0), &want, NULL, 0);
	ck_assert_uint_eq(machine.io_count, 0);
}
END_TEST

/* =============================================================================== */
/* QueryMemory                                                                     */
/* =============================================================================== */

static struct dbgkd_manipulate_state64 query_request(uint64_t address, uint32_t space)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_QUERY_MEMORY_API);

	m.u.query_memory.address = address;
	m.u.query_memory.reserved = 0x1234; /* cleared in the reply */
	m.u.query_memory.address_space = space;
	return m;
}

/* KdpQueryMemory classifies without touching memory: kernel (2) above the
 * user space, process (0) in it, always R|W|X -- an unmapped page too. */
START_TEST(query_memory_answers_kernel_or_process_space_and_rwx)
{
	_Static_assert(FAKE_HOLE == 0x80108000u, "the address below is in the hole");
	static const struct {
		uint64_t address;
		uint32_t space;
	} queries[] = {
		{ 0xFFFFFFFF80102000ull, 2 },
		{ 0xFFFFFFFF80108000ull, 2 }, /* unmapped */
		{ 0x00401000u, 0 },
	};
	struct dbgkd_manipulate_state64 m, want;

	for (size_t i = 0; i < 3; i++) {
		m = query_request(queries[i].address, 0);
		queue_request(&m, NULL, 0);
	}
	queue_continue();
	stop();
	assert_script_done();
	for (size_t i = 0; i < 3; i++) {
		m = query_request(queries[i].address, 0);
		want = m;
		want.u.query_memory.reserved = 0;
		want.u.query_memory.address_space = queries[i].space;
		want.u.query_memory.flags = 7;
		assert_reply(sent_packet(1 + (unsigned)i), &want, NULL, 0);
	}
}
END_TEST

START_TEST(query_memory_of_another_address_space_is_an_invalid_parameter)
{
	struct dbgkd_manipulate_state64 m = query_request(0xFFFFFFFF80102000ull, 1);
	struct dbgkd_manipulate_state64 want = m;

	want.return_status = DBGKD_STATUS_INVALID_PARAMETER;
	want.u.query_memory.reserved = 0;
	assert_reply(serve(&m, NULL, 0), &want, NULL, 0);
}
END_TEST

/* =============================================================================== */
/* The rest of the table                                                           */
/* =============================================================================== */

/* No reply (kd64 calls HalReturnToFirmware). A machine that comes back is
 * still stopped: kd64 keeps serving. */
START_TEST(reboot_asks_the_machine_and_answers_nothing)
{
	queue_api(DBGKD_REBOOT_API);
	queue_api(DBGKD_GET_VERSION_API);
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(machine.reboots, 1);
	ck_assert_uint_eq(wire.sent, 2);
	ck_assert_uint_eq(get32(sent_packet(1)->header, 0), DBGKD_GET_VERSION_API);
}
END_TEST

/* One processor to switch to: kd64's ContinueProcessorReselected -- the
 * stop is reported again, built anew, and needs a GetContext of its own
 * before a SetContext. */
START_TEST(switch_processor_reports_the_stop_again_as_a_new_one)
{
	struct dbgkd_manipulate_state64 poke =
		read_request(DBGKD_WRITE_VIRTUAL_MEMORY_API, sign_extended(FAKE_CODE + 1), 1);
	struct x86_context context;
	struct dbgkd_manipulate_state64 set = set_context_request(&context);
	uint8_t stream[DBGKD_MAXSTREAM], want[STATE_CHANGE_SIZE];

	queue_api(DBGKD_GET_CONTEXT_API);
	queue_request(&poke, "\x90", 1);
	queue_api(DBGKD_SWITCH_PROCESSOR);
	queue_request(&set, &context, sizeof(context));
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 5);
	memcpy(stream, fake_machine_code, sizeof(stream));
	stream[1] = 0x90;
	expected_exception(want, DBGKD_STATUS_BREAKPOINT, 0xFFFFFFFF80101000ull, true, stream,
			   DBGKD_MAXSTREAM);
	assert_state_change(sent_packet(3), want);
	assert_trace_data(sent_packet(3));
	assert_refused(sent_packet(4), &set, DBGKD_STATUS_UNSUCCESSFUL);
	ck_assert_uint_eq(machine.set_context_calls, 0);
}
END_TEST

/* kd64's default branch, and the APIs it leaves unimplemented or the stub
 * has no machine hook for (extended I/O, bus data, bug check): a
 * failure with the request otherwise untouched and no data. */
START_TEST(unknown_and_unserved_apis_get_unsuccessful_and_no_data)
{
	static const uint32_t apis[] = {
		DBGKD_QUERY_SPECIAL_CALLS_API,
		DBGKD_SET_INTERNAL_BREAKPOINT_API,
		DBGKD_READ_IO_SPACE_EXTENDED_API,
		DBGKD_CAUSE_BUGCHECK_API,
		0x314A, /* unassigned */
		DBGKD_PAGE_IN_API,
		DBGKD_OLD_VLM1,
		DBGKD_SEARCH_MEMORY_API,
		DBGKD_GET_BUS_DATA_API,
		DBGKD_CHECK_LOW_MEMORY_API,
		DBGKD_FILL_MEMORY_API,
		DBGKD_SWITCH_PARTITION,
		DBGKD_WRITE_CUSTOM_BREAKPOINT_API,
		DBGKD_MAXIMUM_MANIPULATE, /* past the table */
		0x312F,			  /* before it */
		DBGKD_PRINT_STRING_API,	  /* another message's number */
		0,
		0xFFFFFFFFu,
	};
	const size_t n = sizeof(apis) / sizeof(*apis);
	struct dbgkd_manipulate_state64 m;

	for (size_t i = 0; i < n; i++) {
		m = request(apis[i]);
		memset(m.u.raw, (int)(0x40 + i), sizeof(m.u.raw));
		queue_request(&m, "data", 4);
	}
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 1 + n);
	for (size_t i = 0; i < n; i++) {
		m = request(apis[i]);
		memset(m.u.raw, (int)(0x40 + i), sizeof(m.u.raw));
		assert_refused(sent_packet(1 + (unsigned)i), &m, DBGKD_STATUS_UNSUCCESSFUL);
	}
	ck_assert_uint_eq(machine.io_count, 0);
	ck_assert_uint_eq(machine.set_context_calls + machine.set_special_calls, 0);
}
END_TEST

/* kd64 clears its counter and sends nothing back. */
START_TEST(clear_all_internal_breakpoints_is_not_answered)
{
	queue_api(DBGKD_CLEAR_ALL_INTERNAL_BREAKPOINTS_API);
	queue_api(DBGKD_GET_VERSION_API);
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 2);
	ck_assert_uint_eq(get32(sent_packet(1)->header, 0), DBGKD_GET_VERSION_API);
}
END_TEST

/* Unimplemented in kd64, whose failure reply (with the request's data)
 * also ends the stop with ContinueError: a debugger that sent it waits for
 * the next state change. */
START_TEST(write_breakpoint_ex_fails_and_ends_the_stop)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_WRITE_BREAKPOINT_EX_API);

	m.u.raw[0] = 1; /* BreakPointCount */
	queue_request(&m, "\x00\x10\x10\x80\xff\xff\xff\xff", 8);
	queue_api(DBGKD_GET_VERSION_API); /* never read */
	stop();
	ck_assert_uint_eq(wire.taken, 1);
	ck_assert_uint_eq(wire.sent, 2);
	struct dbgkd_manipulate_state64 want = m;
	want.return_status = DBGKD_STATUS_UNSUCCESSFUL;
	assert_reply(sent_packet(1), &want, "\x00\x10\x10\x80\xff\xff\xff\xff", 8);
	ck_assert_uint_eq(resume.continue_status, DBGKD_STATUS_UNSUCCESSFUL);
}
END_TEST

START_TEST(restore_breakpoint_ex_fails_and_keeps_serving)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_RESTORE_BREAKPOINT_EX_API);

	queue_request(&m, "\x01\x00\x00\x00", 4);
	queue_continue();
	stop();
	assert_script_done();
	struct dbgkd_manipulate_state64 want = m;
	want.return_status = DBGKD_STATUS_UNSUCCESSFUL;
	assert_reply(sent_packet(1), &want, "\x01\x00\x00\x00", 4);
}
END_TEST

/* =============================================================================== */
/* DbgPrint, module loads, break-in                                                */
/* =============================================================================== */

/* TV8's packet: DEBUG_IO{0x3230, ProcessorLevel 6, CPU 0, LengthOfString}. */
START_TEST(print_sends_debug_io_as_tv8)
{
	static const uint8_t header[DEBUG_IO_SIZE] = { 0x30, 0x32, 0, 0, 0x06, 0, 0, 0,
						       0x06, 0,	   0, 0, 0,    0, 0, 0 };

	ck_assert(!kdstub_print(&stub, "Hello\n", 6));
	ck_assert_uint_eq(wire.sent, 1);
	ck_assert_uint_eq(sent_packet(0)->type, KDCOM_TYPE_DEBUG_IO);
	ck_assert_uint_eq(sent_packet(0)->header_length, DEBUG_IO_SIZE);
	ck_assert_mem_eq(sent_packet(0)->header, header, DEBUG_IO_SIZE);
	ck_assert_uint_eq(sent_packet(0)->data_length, 6);
	ck_assert_mem_eq(sent_packet(0)->data, "Hello\n", 6);
	/* Then kd64 polls for a break-in (kd-protocol.md 2.4). */
	ck_assert_uint_eq(wire.polls, 1);
}
END_TEST

/* PACKET_MAX_SIZE - 16 = 3984 bytes of text at most. */
START_TEST(print_is_clipped_to_what_one_packet_holds)
{
	static char text[5000];

	memset(text, 'x', sizeof(text));
	kdstub_print(&stub, text, sizeof(text));
	ck_assert_uint_eq(wire.sent, 1);
	ck_assert_uint_eq(get32(sent_packet(0)->header, 8), KDCOM_MAX_PAYLOAD - DEBUG_IO_SIZE);
	ck_assert_uint_eq(sent_packet(0)->data_length, KDCOM_MAX_PAYLOAD - DEBUG_IO_SIZE);
	ck_assert_mem_eq(sent_packet(0)->data, text, KDCOM_MAX_PAYLOAD - DEBUG_IO_SIZE);
}
END_TEST

START_TEST(print_says_when_a_break_in_came_meanwhile)
{
	wire.breakins = 1;
	ck_assert(kdstub_print(&stub, "x", 1));
	ck_assert(!kdstub_print(&stub, "y", 1));
	ck_assert_uint_eq(wire.sent, 2);
}
END_TEST

/* KdpPrint does not even try without a debugger (kd-protocol.md 1.8). */
START_TEST(print_without_a_debugger_sends_nothing)
{
	wire.present = false;
	ck_assert(!kdstub_print(&stub, "Hello\n", 6));
	ck_assert_uint_eq(wire.sent, 0);
	ck_assert_uint_eq(wire.polls, 0);
}
END_TEST

static const char ntoskrnl[] = "\\SystemRoot\\system32\\ntoskrnl.exe";

static void expected_load_symbols(uint8_t want[STATE_CHANGE_SIZE], uint32_t path_length,
				  bool unload)
{
	expected_state_change(want, DBGKD_LOAD_SYMBOLS_STATE_CHANGE, fake_machine_code, DBGKD_MAXSTREAM);
	put32(want, 32, path_length);		/* PathNameLength, with the NUL */
	put64(want, 40, 0xFFFFFFFF80400000ull); /* BaseOfDll */
	put32(want, 56, 0x0003A1B2u);		/* CheckSum */
	put32(want, 60, 0x00200000u);		/* SizeOfImage */
	want[64] = unload;
}

/* KdpReportLoadSymbolsStateChange: the whole common state (control report
 * included), the load fields, then the path and its NUL as data. The stop
 * serves requests like any other. */
START_TEST(load_symbols_reports_0x3031_with_the_path_and_its_nul)
{
	uint8_t want[STATE_CHANGE_SIZE];

	queue_api(DBGKD_GET_VERSION_API);
	queue_continue();
	kdstub_load_symbols(&stub, ntoskrnl, 0x80400000u, 0x00200000u, 0x0003A1B2u, false);
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 2);
	expected_load_symbols(want, sizeof(ntoskrnl), false);
	assert_state_change(sent_packet(0), want);
	ck_assert_uint_eq(sent_packet(0)->data_length, sizeof(ntoskrnl));
	ck_assert_mem_eq(sent_packet(0)->data, ntoskrnl, sizeof(ntoskrnl));
	ck_assert_uint_eq(get32(sent_packet(1)->header, 0), DBGKD_GET_VERSION_API);
}
END_TEST

START_TEST(unload_symbols_says_unload)
{
	uint8_t want[STATE_CHANGE_SIZE];

	queue_continue();
	kdstub_load_symbols(&stub, ntoskrnl, sign_extended(0x80400000u), 0x00200000u, 0x0003A1B2u,
			    true);
	expected_load_symbols(want, sizeof(ntoskrnl), true);
	assert_state_change(sent_packet(0), want);
}
END_TEST

/* 4000 - 240 = 3760 bytes of path, NUL included, whatever the caller has. */
START_TEST(a_path_longer_than_a_packet_is_clipped_and_still_ends_in_nul)
{
	static char path[5000];
	uint8_t want[STATE_CHANGE_SIZE];
	const uint32_t room = KDCOM_MAX_PAYLOAD - STATE_CHANGE_SIZE;

	memset(path, 'p', sizeof(path) - 1);
	queue_continue();
	kdstub_load_symbols(&stub, path, 0x80400000u, 0x00200000u, 0x0003A1B2u, false);
	expected_load_symbols(want, room, false);
	assert_state_change(sent_packet(0), want);
	ck_assert_uint_eq(sent_packet(0)->data_length, room);
	ck_assert_mem_eq(sent_packet(0)->data, path, room - 1);
	ck_assert_uint_eq(sent_packet(0)->data[room - 1], 0);
}
END_TEST

/* The path buffer is the stub's own: a short path after a long one ends at
 * its own NUL. */
START_TEST(a_short_path_after_a_long_one_ends_at_its_own_nul)
{
	static const char longer[] = "\\SystemRoot\\system32\\drivers\\a-long-driver-name.sys";

	queue_continue();
	kdstub_load_symbols(&stub, longer, 0x80400000u, 0x00200000u, 0x0003A1B2u, false);
	queue_continue();
	kdstub_load_symbols(&stub, "hal.dll", 0x80400000u, 0x00200000u, 0x0003A1B2u, false);
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 2);
	ck_assert_uint_eq(get32(sent_packet(1)->header, 32), 8);
	ck_assert_uint_eq(sent_packet(1)->data_length, 8);
	ck_assert_mem_eq(sent_packet(1)->data, "hal.dll", 8);
}
END_TEST

/* Resent after NeedsResend with the path intact, though requests used the
 * stub's buffers in between. */
START_TEST(a_resent_load_symbols_carries_the_same_path)
{
	struct dbgkd_manipulate_state64 m =
		read_request(DBGKD_WRITE_VIRTUAL_MEMORY_API, sign_extended(FAKE_DATA), 8);

	queue_request(&m, "overwrite", 8);
	queue_entry(KD_NEEDS_RESEND);
	queue_continue();
	kdstub_load_symbols(&stub, ntoskrnl, 0x80400000u, 0x00200000u, 0x0003A1B2u, false);
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 3);
	ck_assert_mem_eq(sent_packet(2)->header, sent_packet(0)->header, STATE_CHANGE_SIZE);
	ck_assert_uint_eq(sent_packet(2)->data_length, sizeof(ntoskrnl));
	ck_assert_mem_eq(sent_packet(2)->data, ntoskrnl, sizeof(ntoskrnl));
}
END_TEST

/* KdpSymbol does nothing without a debugger (kd-protocol.md 1.8). */
START_TEST(load_symbols_without_a_debugger_sends_nothing)
{
	wire.present = false;
	kdstub_load_symbols(&stub, ntoskrnl, 0x80400000u, 0x00200000u, 0, false);
	ck_assert_uint_eq(wire.sent, 0);
}
END_TEST

/* KdReceivePacket(POLL_BREAKIN): never waits, no buffers. */
START_TEST(poll_breakin_asks_the_transport)
{
	ck_assert(!kdstub_poll_breakin(&stub));
	wire.breakins = 1;
	ck_assert(kdstub_poll_breakin(&stub));
	ck_assert(!kdstub_poll_breakin(&stub));
	ck_assert_uint_eq(wire.polls, 3);
	ck_assert_uint_eq(wire.sent, 0);
}
END_TEST

/* KdpControlCPending: a 0x62 the transport met while reading packets
 * counts once, without asking the transport again (kd-protocol.md 1.9). */
START_TEST(a_break_in_seen_earlier_counts_once_without_asking)
{
	stub.kd_context.break_in_requested = 1;
	ck_assert(kdstub_poll_breakin(&stub));
	ck_assert_uint_eq(wire.polls, 0);
	ck_assert_uint_eq(stub.kd_context.break_in_requested, 0);
	ck_assert(!kdstub_poll_breakin(&stub));
	ck_assert_uint_eq(wire.polls, 1);
}
END_TEST

/* =============================================================================== */
/* An AMD64 target (config.amd64): the x86-64 test kernel's stub                   */
/* =============================================================================== */

#define AMD64_CONTEXT_SIZE 1232u
#define AMD64_SPECIAL_SIZE 0xE0u

static const struct kdstub_config amd64_config = {
	.amd64 = true, .build_number = 7601, .major_version = 0x000F, .processor_level = 6,
	.kern_base = 0xFFFFF80000100000ull, .ps_loaded_module_list = 0xFFFFF8000010F230ull,
	.debugger_data_list = 0xFFFFF8000010F220ull, .thread = 0xFFFFF80000118000ull,
	.kernel_cs = FAKE_KERNEL_CS,
};

static void setup_amd64(void)
{
	setup_stub(fake_machine_power_on_amd64, &amd64_config);
}

/* One stop that serves `n` requests without data, then a Continue. */
static void serve_requests(const struct dbgkd_manipulate_state64 *requests, size_t n)
{
	for (size_t i = 0; i < n; i++)
		queue_request(&requests[i], NULL, 0);
	queue_continue();
	stop();
	assert_script_done();
}

static uint64_t get64(const uint8_t *b, size_t offset)
{
	return get32(b, offset) | (uint64_t)get32(b, offset + 4) << 32;
}

/* GetVersion as kd64 answers on x86-64 (KdVersionBlock): MachineType
 * 0x8664, KdSecondaryVersion 2 (the AMD64 CONTEXT), the PTR64 flag, and
 * the pointers as they are, not cut to 32 bits. */
START_TEST(amd64_get_version_says_machine_8664_and_64_bit_pointers)
{
	const struct sent *p = get_version();

	ck_assert_uint_eq(get32(p->header, 8), DBGKD_STATUS_SUCCESS);
	ck_assert_uint_eq(p->header[16] | p->header[17] << 8, 0x000F); /* MajorVersion */
	ck_assert_uint_eq(p->header[18] | p->header[19] << 8, 7601);   /* MinorVersion */
	ck_assert_uint_eq(p->header[20], 6);			     /* ProtocolVersion */
	ck_assert_uint_eq(p->header[21], 2);			     /* KdSecondaryVersion */
	ck_assert_uint_eq(p->header[22] | p->header[23] << 8, 0x0006); /* DATA | PTR64 */
	ck_assert_uint_eq(p->header[24] | p->header[25] << 8, 0x8664); /* MachineType */
	ck_assert_uint_eq(get64(p->header, 32), 0xFFFFF80000100000ull);
	ck_assert_uint_eq(get64(p->header, 40), 0xFFFFF8000010F230ull);
	ck_assert_uint_eq(get64(p->header, 48), 0xFFFFF8000010F220ull);
}
END_TEST

/* The state change of an AMD64 stop: 64-bit PC, thread and exception
 * address, and the AMD64 control report (Dr6, Dr7, EFlags, the stream,
 * the segments) at its own offsets. */
START_TEST(amd64_a_stop_reports_64_bit_addresses_and_the_amd64_control_report)
{
	queue_continue();
	stop();
	const struct sent *p = sent_packet(0);

	ck_assert_uint_eq(p->type, KDCOM_TYPE_STATE_CHANGE64);
	ck_assert_uint_eq(p->header_length, STATE_CHANGE_SIZE);
	ck_assert_uint_eq(get64(p->header, 16), 0xFFFFF80000118000ull); /* Thread */
	ck_assert_uint_eq(get64(p->header, 24), FAKE_CODE64);	       /* ProgramCounter */
	ck_assert_uint_eq(get32(p->header, 32), DBGKD_STATUS_BREAKPOINT);
	ck_assert_uint_eq(get64(p->header, 48), FAKE_CODE64); /* ExceptionAddress */
	ck_assert_uint_eq(get64(p->header, 192), 0xFFFF0FF0u);	/* Dr6 */
	ck_assert_uint_eq(get64(p->header, 200), 0x400u);	/* Dr7 */
	ck_assert_uint_eq(get32(p->header, 208), 0x246u);	/* EFlags */
	ck_assert_uint_eq(p->header[212] | p->header[213] << 8, DBGKD_MAXSTREAM);
	ck_assert_uint_eq(p->header[214] | p->header[215] << 8,
			  DBGKD_REPORT_INCLUDES_SEGS | DBGKD_REPORT_STANDARD_CS);
	ck_assert_mem_eq(p->header + 216, fake_machine_code, DBGKD_MAXSTREAM);
	ck_assert_uint_eq(p->header[232] | p->header[233] << 8, FAKE_KERNEL_CS); /* SegCs */
	ck_assert_uint_eq(p->header[234] | p->header[235] << 8, 0x10u);	  /* SegDs */
}
END_TEST

/* GetContext answers the 1232-byte AMD64 CONTEXT; SetContext takes one of
 * that size only, and a 716-byte x86 one is refused. */
START_TEST(amd64_get_and_set_context_carry_the_1232_byte_context)
{
	struct dbgkd_manipulate_state64 get = request(DBGKD_GET_CONTEXT_API);
	struct dbgkd_manipulate_state64 set = request(DBGKD_SET_CONTEXT_API);
	struct amd64_context changed = machine.amd64_context;
	uint8_t x86_sized[CONTEXT_SIZE] = { 0 };

	changed.rax = 0x10;
	queue_request(&get, NULL, 0);
	queue_request(&set, x86_sized, sizeof(x86_sized));
	queue_request(&set, &changed, sizeof(changed));
	queue_continue();
	stop();
	assert_script_done();
	ck_assert_uint_eq(wire.sent, 4);
	const struct sent *p = sent_packet(1);
	ck_assert_uint_eq(get32(p->header, 8), DBGKD_STATUS_SUCCESS);
	ck_assert_uint_eq(p->data_length, AMD64_CONTEXT_SIZE);
	ck_assert_uint_eq(get64(p->data, 0xF8), FAKE_CODE64);		/* Rip */
	ck_assert_uint_eq(get64(p->data, 0x78), 0x1111111111111111ull); /* Rax */
	ck_assert_uint_eq(get32(p->data, 0x30), DBGKD_CONTEXT_AMD64_ALL);
	ck_assert_uint_eq(get32(sent_packet(2)->header, 8), DBGKD_STATUS_UNSUCCESSFUL);
	ck_assert_uint_eq(get32(sent_packet(3)->header, 8), DBGKD_STATUS_SUCCESS);
	ck_assert_uint_eq(machine.amd64_context.rax, 0x10);
	ck_assert_uint_eq(machine.set_context_calls, 1);
}
END_TEST

/* Control space on AMD64: 2 is KSPECIAL_REGISTERS (0xE0 bytes, clipped
 * there), 3 the current KTHREAD's address; 0 and 1 (KPCR, KPRCB) this
 * stub has not, and they fail with no data. */
START_TEST(amd64_control_space_reads_the_special_registers_and_the_thread)
{
	const struct dbgkd_manipulate_state64 requests[] = {
		read_request(DBGKD_READ_CONTROL_SPACE_API, 2, 0x400), /* KSPECIAL_REGISTERS */
		read_request(DBGKD_READ_CONTROL_SPACE_API, 3, 8),     /* the KTHREAD */
		read_request(DBGKD_READ_CONTROL_SPACE_API, 0, 8),     /* the KPCR */
	};

	serve_requests(requests, 3);
	const struct sent *p = sent_packet(1);
	ck_assert_uint_eq(get32(p->header, 8), DBGKD_STATUS_SUCCESS);
	ck_assert_uint_eq(p->data_length, AMD64_SPECIAL_SIZE);
	ck_assert_uint_eq(get32(p->header, 16 + 12), AMD64_SPECIAL_SIZE); /* ActualBytes */
	ck_assert_uint_eq(get64(p->data, 0x10), 0x1AD000u);		   /* Cr3 */
	ck_assert_uint_eq(get64(p->data, 0x58), FAKE_VIRTUAL_BASE64 + 0x4000u); /* Gdtr.Base */
	ck_assert_uint_eq(p->data[0x70] | p->data[0x71] << 8, 0x28);	  /* Tr */
	ck_assert_uint_eq(get64(p->data, 0xC0), 0xFFFFF80000102000ull);	  /* MsrLStar */
	p = sent_packet(2);
	ck_assert_uint_eq(get32(p->header, 8), DBGKD_STATUS_SUCCESS);
	ck_assert_uint_eq(p->data_length, 8);
	ck_assert_uint_eq(get64(p->data, 0), 0xFFFFF80000118000ull);
	p = sent_packet(3);
	ck_assert_uint_eq(get32(p->header, 8), DBGKD_STATUS_UNSUCCESSFUL);
	ck_assert_uint_eq(p->data_length, 0);
}
END_TEST

/* WriteControlSpace at 2 writes the special registers from their start:
 * the debug registers reach the machine. */
START_TEST(amd64_write_control_space_sets_the_debug_registers)
{
	struct amd64_special_registers special = machine.amd64_special;
	struct dbgkd_manipulate_state64 m = request(DBGKD_WRITE_CONTROL_SPACE_API);

	special.kernel_dr0 = 0xFFFFF80000101234ull;
	special.kernel_dr7 = 0x1;
	m.u.write_memory.target_base_address = 2;
	m.u.write_memory.transfer_count = sizeof(special);
	const struct sent *p = serve(&m, &special, sizeof(special));
	ck_assert_uint_eq(get32(p->header, 8), DBGKD_STATUS_SUCCESS);
	ck_assert_uint_eq(machine.set_special_calls, 1);
	ck_assert_uint_eq(machine.amd64_special.kernel_dr0, 0xFFFFF80000101234ull);
	ck_assert_uint_eq(machine.amd64_special.kernel_dr7, 0x1);
}
END_TEST

/* Addresses are 64-bit: a read in the higher half reaches the machine as
 * it is, and the sign-extended form of the x86 machine's address is not
 * taken back to 32 bits. */
START_TEST(amd64_memory_is_addressed_with_64_bit_addresses)
{
	const struct dbgkd_manipulate_state64 requests[] = {
		read_request(DBGKD_READ_VIRTUAL_MEMORY_API, FAKE_CODE64, DBGKD_MAXSTREAM),
		read_request(DBGKD_READ_VIRTUAL_MEMORY_API, sign_extended(FAKE_CODE), 4),
	};

	serve_requests(requests, 2);
	ck_assert_uint_eq(get32(sent_packet(1)->header, 8), DBGKD_STATUS_SUCCESS);
	ck_assert_mem_eq(sent_packet(1)->data, fake_machine_code, DBGKD_MAXSTREAM);
	ck_assert_uint_eq(get32(sent_packet(2)->header, 8), DBGKD_STATUS_UNSUCCESSFUL);
	ck_assert_uint_eq(sent_packet(2)->data_length, 0);
}
END_TEST

/* A breakpoint at a 64-bit address: INT 3 planted there, the stream of the
 * next stop shows the original byte. */
START_TEST(amd64_a_breakpoint_at_a_64_bit_address_is_planted_and_hidden)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_WRITE_BREAKPOINT_API);

	m.u.write_breakpoint.breakpoint_address = FAKE_CODE64 + 2;
	const struct sent *p = serve(&m, NULL, 0);
	ck_assert_uint_eq(get32(p->header, 8), DBGKD_STATUS_SUCCESS);
	ck_assert_uint_eq(get32(p->header, 16 + 8), 1); /* BreakPointHandle */
	ck_assert_uint_eq(*at(FAKE_CODE + 2), 0xCC);
	wire.sent = 0;
	queue_continue();
	stop();
	ck_assert_mem_eq(sent_packet(0)->header + 216, fake_machine_code, DBGKD_MAXSTREAM);
}
END_TEST

/* Continue2's AMD64 control set is packed to 4: TraceFlag at 20, Dr7 at
 * 24 (the x86 layout would read Dr7 at 24 too, but 64 bits wide). */
START_TEST(amd64_continue2_takes_trace_flag_and_dr7_from_the_amd64_control_set)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_CONTINUE_API2);
	uint8_t *raw = (uint8_t *)&m;

	put32(raw, 16, DBGKD_DBG_CONTINUE);
	put32(raw, 20, 1);
	put64(raw, 24, 0x0000000000000401ull);
	queue_request(&m, NULL, 0);
	stop();
	assert_script_done();
	ck_assert(resume.single_step);
	ck_assert(resume.dr7_set);
	ck_assert_uint_eq(resume.dr7, 0x401);
}
END_TEST

/* QueryMemory: the upper half of the 64-bit space is the kernel's. */
START_TEST(amd64_query_memory_splits_the_64_bit_space_in_halves)
{
	struct dbgkd_manipulate_state64 requests[] = { request(DBGKD_QUERY_MEMORY_API),
						       request(DBGKD_QUERY_MEMORY_API) };

	requests[0].u.query_memory.address = 0xFFFFF80000100000ull;
	requests[1].u.query_memory.address = 0x00000000FFFF0000ull; /* kernel space on x86 */
	serve_requests(requests, 2);
	struct dbgkd_manipulate_state64 a, b; /* copied: the sent bytes need not be aligned */
	memcpy(&a, sent_packet(1)->header, sizeof(a));
	memcpy(&b, sent_packet(2)->header, sizeof(b));
	ck_assert_uint_eq(a.u.query_memory.address_space, 2);
	ck_assert_uint_eq(b.u.query_memory.address_space, 0);
}
END_TEST

/* The MSR requests carry no address, so an x86-64 target serves them as
 * an x86 one does: a 64-bit value in, the same 64 bits read back, and the
 * refusal kd64's. */
START_TEST(amd64_write_msr_then_read_msr_carries_64_bits)
{
	const uint64_t value = 0xFFFFF80000ABC000ull;
	struct dbgkd_manipulate_state64 requests[] = {
		msr_request(DBGKD_WRITE_MSR_API, 0x175, value),
		msr_request(DBGKD_READ_MSR_API, 0x175, 0),
		msr_request(DBGKD_WRITE_MSR_API, 0x10, 1),
	};

	serve_requests(requests, 3);
	assert_reply(sent_packet(1), &requests[0], NULL, 0);
	struct dbgkd_manipulate_state64 want = msr_request(DBGKD_READ_MSR_API, 0x175, value);
	assert_reply(sent_packet(2), &want, NULL, 0);
	want = requests[2];
	want.return_status = DBGKD_STATUS_NO_SUCH_DEVICE;
	assert_reply(sent_packet(3), &want, NULL, 0);
	ck_assert_uint_eq(machine.writable_msr, value);
}
END_TEST

BXKD_SUITE(kdstub,
	testcases_add_with(s, "stop", 0, setup, NULL, TESTS(
		a_stop_is_reported_as_section_3_2_lays_it_out,
		init_starts_with_kd64s_twenty_retries_and_no_breakpoints,
		the_instruction_stream_shows_the_original_bytes_under_breakpoints,
		breakpoints_under_the_pc_stay_planted_across_a_stop,
		the_instruction_stream_ends_where_readable_memory_does,
		a_stop_at_an_unreadable_pc_has_no_instruction_stream,
		a_user_code_segment_is_not_reported_as_standard_cs,
		a_second_chance_exception_says_so_and_its_address_is_sign_extended,
		needs_resend_sends_the_same_state_change_again,
		needs_resend_after_requests_resends_the_original_state_change,
		timeouts_keep_the_stub_waiting_for_the_next_request,
		without_a_debugger_a_stop_sends_once_and_resumes,
		a_request_shorter_than_its_header_never_reaches_the_stub,
		a_short_header_from_a_transport_is_not_believed));
	testcases_add_with(s, "version", 0, setup, NULL, TESTS(
		get_version_answers_tv11,
		get_version_sign_extends_pointers_configured_zero_extended,
		a_reply_echoes_api_number_processor_level_processor_and_padding));
	testcases_add_with(s, "memory", 0, setup, NULL, TESTS(
		read_virtual_memory_returns_the_bytes_and_actual_bytes_read,
		read_virtual_memory_takes_a_zero_extended_address_too,
		read_virtual_memory_refuses_an_address_no_x86_has,
		read_virtual_memory_stops_at_the_hole_and_says_how_far_it_got,
		read_virtual_memory_inside_the_hole_reads_nothing,
		read_virtual_memory_of_no_bytes_succeeds_with_no_data,
		read_virtual_memory_is_clipped_to_3944_bytes,
		write_virtual_memory_writes_the_data_and_takes_its_length_from_it,
		write_virtual_memory_stops_at_the_hole_and_says_how_far_it_got,
		write_virtual_memory_to_a_read_only_page_writes_nothing,
		read_physical_memory_reads_physical_addresses,
		read_physical_memory_stops_at_the_end_of_physical_memory,
		write_physical_memory_writes_physical_addresses,
		write_physical_memory_stops_at_the_end_of_physical_memory));
	testcases_add_with(s, "context", 0, setup, NULL, TESTS(
		get_context_returns_the_716_byte_context_with_its_flags,
		set_context_is_refused_before_a_get_context_since_the_stop,
		set_context_after_a_get_context_replaces_the_registers,
		each_stop_needs_its_own_get_context_before_a_set_context,
		set_context_of_another_length_is_refused, context_of_another_processor_is_refused,
		get_context_ex_returns_the_range_asked_for,
		get_context_ex_keeps_within_the_context,
		set_context_ex_writes_a_range_once_a_context_was_sent,
		set_context_ex_past_the_end_of_the_context_is_refused));
	testcases_add_with(s, "control", 0, setup, NULL, TESTS(
		read_control_space_reads_the_whole_processor_state,
		read_control_space_at_716_reads_the_control_registers,
		read_control_space_is_clipped_at_the_end_of_the_state,
		read_control_space_from_800_on_is_refused,
		write_control_space_writes_special_registers_and_echoes_the_data,
		write_control_space_into_the_context_changes_the_registers,
		write_control_space_past_the_end_is_refused_and_still_echoed,
		control_space_of_another_processor_is_refused));
	testcases_add_with(s, "breakpoints", 0, setup, NULL, TESTS(
		write_breakpoint_plants_int3_and_answers_index_plus_one,
		a_second_breakpoint_at_one_address_is_refused, the_33rd_breakpoint_is_refused,
		a_breakpoint_on_unmapped_memory_is_refused_and_uses_no_slot,
		a_breakpoint_where_int3_cannot_be_written_is_refused,
		restore_breakpoint_puts_the_byte_back_and_frees_the_handle,
		restore_breakpoint_of_a_handle_not_in_use_is_refused));
	testcases_add_with(s, "continue", 0, setup, NULL, TESTS(
		continue_ends_the_stop_without_a_reply_and_hands_over_its_status,
		continue_with_a_failure_status_also_ends_the_stop,
		continue2_hands_over_trace_flag_and_dr7, continue2_without_trace_flag_runs_free,
		continue2_with_a_failure_status_ends_the_stop_and_applies_nothing));
	testcases_add_with(s, "io", 0, setup, NULL, TESTS(
		read_io_space_reads_1_2_and_4_bytes, write_io_space_writes_1_2_and_4_bytes,
		read_msr_reads_what_the_machine_allows,
		write_msr_writes_what_the_machine_allows_and_echoes_the_request,
		write_msr_of_a_register_the_machine_refuses_is_no_such_device,
		msr_requests_to_a_machine_without_msrs_are_unsuccessful,
		misaligned_io_is_a_datatype_misalignment_and_touches_no_port,
		io_of_another_size_is_an_invalid_parameter, io_beyond_port_ffff_is_refused));
	testcases_add_with(s, "query", 0, setup, NULL, TESTS(
		query_memory_answers_kernel_or_process_space_and_rwx,
		query_memory_of_another_address_space_is_an_invalid_parameter));
	testcases_add_with(s, "other", 0, setup, NULL, TESTS(
		reboot_asks_the_machine_and_answers_nothing,
		switch_processor_reports_the_stop_again_as_a_new_one,
		unknown_and_unserved_apis_get_unsuccessful_and_no_data,
		clear_all_internal_breakpoints_is_not_answered,
		write_breakpoint_ex_fails_and_ends_the_stop,
		restore_breakpoint_ex_fails_and_keeps_serving));
	testcases_add_with(s, "print_load_poll", 0, setup, NULL, TESTS(
		print_sends_debug_io_as_tv8, print_is_clipped_to_what_one_packet_holds,
		print_says_when_a_break_in_came_meanwhile, print_without_a_debugger_sends_nothing,
		load_symbols_reports_0x3031_with_the_path_and_its_nul, unload_symbols_says_unload,
		a_path_longer_than_a_packet_is_clipped_and_still_ends_in_nul,
		a_short_path_after_a_long_one_ends_at_its_own_nul,
		a_resent_load_symbols_carries_the_same_path,
		load_symbols_without_a_debugger_sends_nothing, poll_breakin_asks_the_transport,
		a_break_in_seen_earlier_counts_once_without_asking));
	testcases_add_with(s, "amd64", 0, setup_amd64, NULL, TESTS(
		amd64_get_version_says_machine_8664_and_64_bit_pointers,
		amd64_a_stop_reports_64_bit_addresses_and_the_amd64_control_report,
		amd64_get_and_set_context_carry_the_1232_byte_context,
		amd64_control_space_reads_the_special_registers_and_the_thread,
		amd64_write_control_space_sets_the_debug_registers,
		amd64_memory_is_addressed_with_64_bit_addresses,
		amd64_a_breakpoint_at_a_64_bit_address_is_planted_and_hidden,
		amd64_continue2_takes_trace_flag_and_dr7_from_the_amd64_control_set,
		amd64_query_memory_splits_the_64_bit_space_in_halves,
		amd64_write_msr_then_read_msr_carries_64_bits));
)
