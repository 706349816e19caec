/*
 * check_kdvm_guest.c -- the guest module (guest/kdvm/kdvm_transport.c) against the
 * real device core: its backdoor is a fake_vcpu at CPL 0 running
 * vmport_io(), its page sits in the fake's memory, and the debugger is
 * kd_test_peer behind the device's kd host port.
 *
 * What matters most: one backdoor call per KdSendPacket / KdReceivePacket
 * (the point of the transport), packets arrive byte for byte, and nothing
 * the device writes into the page can make the module write past a
 * caller's buffer.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "bxkd/backdoor.h"
#include "bxkd/kdcom.h"
#include "bxkd/kdvm.h"
#include "fake_vcpu.h"
#include "kd_test_peer.h"
#include "kdvm_transport.h"
#include "kd_test_bytes.h"
#include "suites.h"
#include "testcases.h"
#include "vmport.h"

#define RAM_PAGES 64u
#define RAM_BYTES ((uint64_t)RAM_PAGES * KDVM_PAGE_SIZE)
#define MODULE_FRAME 12u
#define NONCE 0x0b007ed1u
/* Bytes after each caller buffer, and their value. */
#define GUARD_BYTES 64u
/* What kd64 offers for MessageData (kd-protocol.md 2.4). */
#define KD64_DATA_ROOM 0x1000u
#define MANIPULATE_HEADER 56u
#define DEBUG_IO_HEADER 16u

static struct fake_vcpu cpu;
static struct vmport *vp;
static struct vmport_config config;
static struct kd_test_peer peer;
static struct kdvm kd;
static struct kdvm_page *page;

/* What stands behind the module's backdoor instruction. */
enum backdoor_kind {
	REAL_DEVICE,
	/* VMware, or a device without the transport: OS_NOT_FOUND answers
	 * nothing and EAX keeps the magic. */
	LEAVES_EAX_MAGIC,
	/* No backdoor at all: an empty port reads all ones. */
	ALL_ONES,
};

/* The fake backdoor's state. */
static struct {
	enum backdoor_kind kind;
	unsigned calls;
	/* A hostile device: after each real CALL, these go into the page. */
	bool scribble;
	uint16_t scribble_header_length, scribble_data_length;
	/* A device of another protocol version: HELLO's ECX. */
	bool other_version;
} fake;

/* The caller's buffers, each followed by guard bytes. */
static uint8_t header_buffer[KDCOM_MAX_PAYLOAD + GUARD_BYTES];
static uint8_t data_buffer[KD64_DATA_ROOM + GUARD_BYTES];

/* ---- the platform -------------------------------------------------------------- */

static void fake_backdoor(void *ctx, struct kdvm_regs *r)
{
	(void)ctx;
	fake.calls++;
	/* The module's half of the calling convention. */
	ck_assert_uint_eq(r->eax, BDOOR_MAGIC);
	ck_assert_uint_eq(r->edx, BDOOR_PORT);
	ck_assert_uint_eq(r->ebx, KDVM_MAGIC);

	uint16_t subcommand = BDOOR_SUBCMD(r->ecx);
	switch (fake.kind) {
	case LEAVES_EAX_MAGIC:
		return;
	case ALL_ONES:
		*r = (struct kdvm_regs){ 0xffffffffu, 0xffffffffu, 0xffffffffu,
					 0xffffffffu, 0xffffffffu, 0xffffffffu };
		return;
	case REAL_DEVICE:
		break;
	}

	struct guest_port_access access = { .port = BDOOR_PORT, .dir = GUEST_PORT_IN };
	fake_vcpu_load(&cpu, r->eax, r->ebx, r->ecx, r->edx, r->esi, r->edi);
	cpu.cpl = 0;
	vmport_io(vp, &cpu.vcpu, &access);
	r->eax = access.in_value;
	r->ebx = (uint32_t)cpu.reg[GUEST_REG_EBX];
	r->ecx = (uint32_t)cpu.reg[GUEST_REG_ECX];
	r->edx = (uint32_t)cpu.reg[GUEST_REG_EDX];
	r->esi = (uint32_t)cpu.reg[GUEST_REG_ESI];
	r->edi = (uint32_t)cpu.reg[GUEST_REG_EDI];

	if (fake.other_version && subcommand == KDVM_SUB_HELLO)
		r->ecx = KDVM_PROTOCOL_VERSION + 1;
	if (fake.scribble && subcommand == KDVM_SUB_CALL) {
		page->h.result = KD_OK;
		page->h.header_length = fake.scribble_header_length;
		page->h.data_length = fake.scribble_data_length;
	}
}

/* The page is in the fake's RAM; its physical address is its offset. */
static uint64_t fake_physical_address(void *ctx, const void *address)
{
	(void)ctx;
	return (uint64_t)((const uint8_t *)address - cpu.memory);
}

static const struct kdvm_platform platform = {
	.ctx = NULL,
	.backdoor = fake_backdoor,
	.physical_address = fake_physical_address,
};

/* ---- fixture ------------------------------------------------------------------- */

static void make_device_with_port(bool with_port)
{
	vmport_destroy(vp);
	vp = vmport_create(&config, NULL);
	ck_assert_ptr_nonnull(vp);
	if (with_port)
		vmport_set_kd_port(vp, &peer.port);
}

static void set(const char *key, const char *value)
{
	char error[256];

	ck_assert_msg(vmport_config_set(&config, key, value, error, sizeof(error)), "%s", error);
}

static const struct vmport_stats *device_stats(void)
{
	return vmport_get_stats(vp);
}

static void setup(void)
{
	vmport_config_init(&config);
	config.ram_bytes = RAM_BYTES;
	fake_vcpu_init(&cpu, RAM_BYTES);
	kd_test_peer_init(&peer);
	memset(&fake, 0, sizeof(fake));
	memset(&kd, 0, sizeof(kd));
	/* calloc'd RAM is aligned enough for the page's 32-bit fields. */
	page = (struct kdvm_page *)(cpu.memory + MODULE_FRAME * KDVM_PAGE_SIZE);
	vp = NULL;
	make_device_with_port(true);
}

static void teardown(void)
{
	vmport_destroy(vp);
	vp = NULL;
	kd_test_peer_free(&peer);
	fake_vcpu_free(&cpu);
}

static uint32_t initialise(void)
{
	return kdvm_initialize(&kd, &platform, page, NONCE, 0);
}

static void start_module(void)
{
	ck_assert_uint_eq(initialise(), KDVM_STATUS_OK);
	ck_assert(kd.ready);
}

/* ---- packets ------------------------------------------------------------------- */

static uint8_t pattern(size_t i, uint8_t salt)
{
	return (uint8_t)(i * 13u + (i >> 8) + salt);
}

static void fill_pattern(uint8_t *bytes, size_t n, uint8_t salt)
{
	for (size_t i = 0; i < n; i++)
		bytes[i] = pattern(i, salt);
}

static void fill_guards(void)
{
	kd_test_guard(header_buffer, sizeof(header_buffer));
	kd_test_guard(data_buffer, sizeof(data_buffer));
}

static void assert_buffers_untouched(void)
{
	kd_test_assert_guarded_from(header_buffer, 0, sizeof(header_buffer));
	kd_test_assert_guarded_from(data_buffer, 0, sizeof(data_buffer));
}

static struct kd_string header_string(uint16_t maximum_length)
{
	return (struct kd_string){ .length = 0x5555, .maximum_length = maximum_length,
				   .buffer = header_buffer };
}

static struct kd_string data_string(uint16_t maximum_length)
{
	return (struct kd_string){ .length = 0x5555, .maximum_length = maximum_length,
				   .buffer = data_buffer };
}

/* KdReceivePacket as kd64 calls it; *data_length is preset to show
 * whether it was written. */
static enum kd_outcome receive(uint32_t type, struct kd_string *header, struct kd_string *data,
			      uint32_t *data_length)
{
	struct kd_context context = { .retries = 20 };

	*data_length = 0x5555;
	return kdvm_receive_packet(&kd, type, header, data, data_length, &context);
}

/* What kd64 asks for while it waits for a request. */
static enum kd_outcome receive_manipulate(uint32_t *data_length)
{
	struct kd_string header = header_string(MANIPULATE_HEADER);
	struct kd_string data = data_string(KD64_DATA_ROOM);

	return receive(KDCOM_TYPE_STATE_MANIPULATE, &header, &data, data_length);
}

static void send(uint32_t type, const uint8_t *header, uint16_t header_length,
		 const uint8_t *data, uint16_t data_length)
{
	struct kd_string h = { header_length, header_length, (uint8_t *)header };
	struct kd_string d = { data_length, data_length, (uint8_t *)data };
	struct kd_context context = { .retries = 20 };

	kdvm_send_packet(&kd, type, &h, data ? &d : NULL, &context);
}

/* ---- initialise ------------------------------------------------------------------ */

START_TEST(initialise_registers_the_page_with_the_device)
{
	ck_assert_uint_eq(initialise(), KDVM_STATUS_OK);
	ck_assert(kd.ready);
	ck_assert_uint_eq(kd.discovery, KDVM_DISCOVERY_REGISTER);
	ck_assert(kd.debugger_present);
	ck_assert_uint_eq(kd.kd_command, BDOOR_CMD_OS_NOT_FOUND);
	/* HELLO and REGISTER. */
	ck_assert_uint_eq(kd.stats.backdoor_calls, 2);
	ck_assert_uint_eq(device_stats()->kd_calls, 2);
	ck_assert_uint_eq(device_stats()->kd_errors, 0);
	ck_assert(!memcmp(page->h.signature, KDVM_SIGNATURE, sizeof(page->h.signature)));
	ck_assert_uint_eq(page->h.nonce, NONCE);

	/* The device has the page: a CALL made behind the module's back,
	 * with another nonce (register discovery ignores it), works on it. */
	page->h.request = KDVM_REQUEST_POLL_BREAKIN;
	peer.breakin_pending = true;
	fake_vcpu_load(&cpu, BDOOR_MAGIC, KDVM_MAGIC, KDVM_SUB_CALL << 16 | BDOOR_CMD_OS_NOT_FOUND,
		       BDOOR_PORT, 0, 0);
	ck_assert_uint_eq(fake_vcpu_io(&cpu, vp, BDOOR_PORT, GUEST_PORT_IN).in_value, KDVM_STATUS_OK);
	ck_assert_uint_eq(page->h.result, KD_OK);
	ck_assert_uint_eq(page->h.calls, 1);
}
END_TEST

START_TEST(initialise_notes_a_debugger_that_is_not_attached_yet)
{
	peer.debugger_attached = false;
	start_module();
	ck_assert(!kd.debugger_present);
}
END_TEST

START_TEST(initialise_without_a_debugger_endpoint_answers_no_transport)
{
	make_device_with_port(false);
	ck_assert_uint_eq(initialise(), KDVM_STATUS_NO_TRANSPORT);
	ck_assert(!kd.ready);
	ck_assert_uint_eq(kd.stats.backdoor_calls, 1);
}
END_TEST

/* Without a device the module stays quiet: no more backdoor calls. */
START_TEST(initialise_without_a_device_answers_no_device)
{
	static const enum backdoor_kind kinds[] = { LEAVES_EAX_MAGIC, ALL_ONES };
	uint8_t bytes[32] = { 0 };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++) {
		fake.kind = kinds[i];
		fake.calls = 0;
		ck_assert_uint_eq(initialise(), KDVM_INIT_NO_DEVICE);
		ck_assert(!kd.ready);
		ck_assert_uint_eq(fake.calls, 1);

		send(KDCOM_TYPE_DEBUG_IO, bytes, 16, bytes + 16, 16);
		struct kd_string header = header_string(MANIPULATE_HEADER);
		struct kd_string data = data_string(KD64_DATA_ROOM);
		uint32_t data_length;
		ck_assert_int_eq(receive(KDCOM_TYPE_STATE_MANIPULATE, &header, &data, &data_length),
				 KD_TIMED_OUT);
		ck_assert_int_eq(receive(KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, &data_length),
				 KD_TIMED_OUT);
		ck_assert_uint_eq(fake.calls, 1);
	}
	ck_assert_uint_eq(device_stats()->calls, 0);
}
END_TEST

/* The real device with the transport on another command: on 18 it is
 * VMware's OS_NOT_FOUND, which leaves EAX at the magic. */
START_TEST(initialise_on_a_command_without_the_transport_answers_no_device)
{
	set("kd_command", "200");
	make_device_with_port(true);
	ck_assert_uint_eq(initialise(), KDVM_INIT_NO_DEVICE);
	ck_assert_uint_eq(device_stats()->kd_calls, 0);

	/* Told the right command, it works. */
	ck_assert_uint_eq(kdvm_initialize(&kd, &platform, page, NONCE, 200), KDVM_STATUS_OK);
	ck_assert_uint_eq(device_stats()->kd_calls, 2);
}
END_TEST

START_TEST(initialise_refuses_a_device_of_another_protocol_version)
{
	fake.other_version = true;
	ck_assert_uint_eq(initialise(), KDVM_STATUS_BAD_PAGE);
	ck_assert(!kd.ready);
}
END_TEST

START_TEST(initialise_under_scan_discovery_does_not_register)
{
	uint8_t bytes[64];

	set("kd_discovery", "scan");
	make_device_with_port(true);
	start_module();
	ck_assert_uint_eq(kd.discovery, KDVM_DISCOVERY_SCAN);
	ck_assert_uint_eq(kd.stats.backdoor_calls, 1); /* HELLO alone */
	ck_assert_uint_eq(device_stats()->kd_errors, 0);

	fill_pattern(bytes, sizeof(bytes), 9);
	send(KDCOM_TYPE_DEBUG_IO, bytes, 16, bytes + 16, 48);
	ck_assert_uint_eq(peer.sent_count, 1);
	ck_assert(!memcmp(kd_test_peer_sent(&peer, 0)->data, bytes + 16, 48));
	ck_assert_uint_eq(device_stats()->kd_scans, 1);
	ck_assert_uint_eq(kd.stats.backdoor_calls, 2);
}
END_TEST

/* ---- KdSendPacket ------------------------------------------------------------------ */

/* DbgPrint's packets: a 16-byte DBGKD_DEBUG_IO and up to 3984 bytes. */
START_TEST(send_of_every_debug_io_length_arrives_byte_identical)
{
	static uint8_t data[KDCOM_MAX_PAYLOAD];
	uint8_t header[DEBUG_IO_HEADER];

	start_module();
	for (uint16_t n = 0; n <= KDCOM_MAX_PAYLOAD - DEBUG_IO_HEADER; n++) {
		fill_pattern(header, sizeof(header), (uint8_t)n);
		fill_pattern(data, n, (uint8_t)(n >> 3));
		uint32_t calls = kd.stats.backdoor_calls;

		send(KDCOM_TYPE_DEBUG_IO, header, DEBUG_IO_HEADER, data, n);

		ck_assert_uint_eq(kd.stats.backdoor_calls, calls + 1);
		ck_assert_uint_eq(peer.sent_count, 1);
		const struct kd_test_packet *p = kd_test_peer_sent(&peer, 0);
		ck_assert_uint_eq(p->type, KDCOM_TYPE_DEBUG_IO);
		ck_assert_uint_eq(p->header_length, DEBUG_IO_HEADER);
		ck_assert_uint_eq(p->data_length, n);
		ck_assert(!memcmp(p->header, header, DEBUG_IO_HEADER));
		ck_assert_msg(!memcmp(p->data, data, n), "data of length %u differs", n);
		kd_test_peer_forget_sent(&peer);
	}
	ck_assert_uint_eq(kd.stats.refused + kd.stats.rejected, 0);
}
END_TEST

START_TEST(send_without_data_sends_the_header_alone)
{
	uint8_t header[MANIPULATE_HEADER];

	start_module();
	fill_pattern(header, sizeof(header), 1);
	send(KDCOM_TYPE_STATE_MANIPULATE, header, MANIPULATE_HEADER, NULL, 0);
	ck_assert_uint_eq(kd_test_peer_sent(&peer, 0)->header_length, MANIPULATE_HEADER);
	ck_assert_uint_eq(kd_test_peer_sent(&peer, 0)->data_length, 0);
	ck_assert(!memcmp(kd_test_peer_sent(&peer, 0)->header, header, MANIPULATE_HEADER));
}
END_TEST

/* KdDebuggerNotPresent follows what the device says of each send. */
START_TEST(a_dropped_send_means_no_debugger_and_an_acknowledged_one_a_debugger)
{
	uint8_t bytes[32] = { 0 };

	start_module();
	peer.send_result = KD_DROPPED;
	send(KDCOM_TYPE_DEBUG_IO, bytes, 16, bytes + 16, 16);
	ck_assert(!kd.debugger_present);
	send(KDCOM_TYPE_DEBUG_IO, bytes, 16, bytes + 16, 16);
	ck_assert(!kd.debugger_present);
	peer.send_result = KD_OK;
	send(KDCOM_TYPE_DEBUG_IO, bytes, 16, bytes + 16, 16);
	ck_assert(kd.debugger_present);
	ck_assert_uint_eq(peer.sent_count, 3);
}
END_TEST

/* ---- KdReceivePacket ----------------------------------------------------------------- */

/* The manipulate loop's receives: a 56-byte header and every amount of
 * data; odd lengths with a data room of exactly the packet's size. */
START_TEST(receive_of_every_state_manipulate_length_arrives_byte_identical)
{
	static uint8_t sent_data[KDCOM_MAX_PAYLOAD];
	uint8_t sent_header[MANIPULATE_HEADER];

	start_module();
	for (uint16_t n = 0; n <= KDCOM_MAX_PAYLOAD - MANIPULATE_HEADER; n++) {
		uint16_t room = n % 2 ? n : KD64_DATA_ROOM;
		struct kd_string header = header_string(MANIPULATE_HEADER);
		struct kd_string data = data_string(room);
		uint32_t data_length;

		fill_pattern(sent_header, sizeof(sent_header), (uint8_t)(n + 1));
		fill_pattern(sent_data, n, (uint8_t)(n * 3));
		kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, sent_header,
				   MANIPULATE_HEADER, sent_data, n);
		fill_guards();
		uint32_t calls = kd.stats.backdoor_calls;

		ck_assert_int_eq(receive(KDCOM_TYPE_STATE_MANIPULATE, &header, &data, &data_length),
				 KD_OK);

		ck_assert_uint_eq(kd.stats.backdoor_calls, calls + 1);
		ck_assert_uint_eq(header.length, MANIPULATE_HEADER);
		ck_assert_uint_eq(data.length, n);
		ck_assert_uint_eq(data_length, n);
		ck_assert(!memcmp(header_buffer, sent_header, MANIPULATE_HEADER));
		ck_assert_msg(!memcmp(data_buffer, sent_data, n), "data of length %u differs", n);
		kd_test_assert_guarded_from(header_buffer, MANIPULATE_HEADER, sizeof(header_buffer));
		kd_test_assert_guarded_from(data_buffer, n, sizeof(data_buffer));
	}
	ck_assert_uint_eq(peer.queued_count, 0);
	ck_assert_uint_eq(kd.stats.refused + kd.stats.rejected, 0);
}
END_TEST

/* The debugger's packet does not fit: the bridge asks for it again and the
 * receive times out; the caller's buffers are not touched. */
START_TEST(a_packet_bigger_than_the_data_room_is_not_delivered)
{
	uint8_t bytes[MANIPULATE_HEADER + 200];
	struct kd_string header = header_string(MANIPULATE_HEADER);
	struct kd_string data = data_string(100);
	uint32_t data_length;

	start_module();
	fill_pattern(bytes, sizeof(bytes), 0x42);
	kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, bytes, MANIPULATE_HEADER,
			   bytes + MANIPULATE_HEADER, 200);
	fill_guards();
	ck_assert_int_eq(receive(KDCOM_TYPE_STATE_MANIPULATE, &header, &data, &data_length),
			 KD_TIMED_OUT);
	ck_assert_uint_eq(peer.misfits, 1);
	ck_assert_uint_eq(peer.last_data_capacity, 100);
	assert_buffers_untouched();
	ck_assert_uint_eq(header.length, 0x5555);
	ck_assert_uint_eq(data.length, 0x5555);
	ck_assert_uint_eq(data_length, 0x5555);

	/* Sent again, into room enough, it arrives. */
	data = data_string(200);
	ck_assert_int_eq(receive(KDCOM_TYPE_STATE_MANIPULATE, &header, &data, &data_length),
			 KD_OK);
	ck_assert_uint_eq(data_length, 200);
	ck_assert(!memcmp(data_buffer, bytes + MANIPULATE_HEADER, 200));
}
END_TEST

/* MaximumLength is the header size wanted: a shorter packet does not fit;
 * a longer one is split there, as kdcom.dll splits it (kd-protocol 2.3). */
START_TEST(a_header_maximum_length_the_packet_does_not_match)
{
	uint8_t bytes[MANIPULATE_HEADER + 10];
	struct kd_string header = header_string(MANIPULATE_HEADER);
	struct kd_string data = data_string(KD64_DATA_ROOM);
	uint32_t data_length;

	start_module();
	fill_pattern(bytes, sizeof(bytes), 0x17);
	kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, bytes, 40, NULL, 0);
	fill_guards();
	ck_assert_int_eq(receive_manipulate(&data_length), KD_TIMED_OUT);
	ck_assert_uint_eq(peer.misfits, 1);
	assert_buffers_untouched();
	/* The debugger sends it again; a kernel that wants 40 bytes takes it. */
	header = header_string(40);
	ck_assert_int_eq(receive(KDCOM_TYPE_STATE_MANIPULATE, &header, &data, &data_length), KD_OK);
	ck_assert_uint_eq(data_length, 0);

	kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, bytes, MANIPULATE_HEADER,
			   bytes + MANIPULATE_HEADER, 10);
	fill_guards();
	ck_assert_int_eq(receive(KDCOM_TYPE_STATE_MANIPULATE, &header, &data, &data_length), KD_OK);
	ck_assert_uint_eq(header.length, 40);
	ck_assert_uint_eq(data_length, MANIPULATE_HEADER + 10 - 40);
	ck_assert(!memcmp(header_buffer, bytes, 40));
	ck_assert(!memcmp(data_buffer, bytes + 40, data_length));
	kd_test_assert_guarded_from(header_buffer, 40, sizeof(header_buffer));
}
END_TEST

START_TEST(receive_without_a_data_buffer_takes_a_header_only_packet)
{
	uint8_t bytes[DEBUG_IO_HEADER];
	struct kd_string header = header_string(DEBUG_IO_HEADER);
	uint32_t data_length;

	start_module();
	fill_pattern(bytes, sizeof(bytes), 3);
	kd_test_peer_queue(&peer, KDCOM_TYPE_DEBUG_IO, bytes, DEBUG_IO_HEADER, NULL, 0);
	ck_assert_int_eq(receive(KDCOM_TYPE_DEBUG_IO, &header, NULL, &data_length),
			 KD_OK);
	ck_assert_uint_eq(peer.last_data_capacity, 0);
	ck_assert_uint_eq(data_length, 0);
	ck_assert(!memcmp(header_buffer, bytes, DEBUG_IO_HEADER));
}
END_TEST

START_TEST(poll_for_break_in_says_whether_the_debugger_asked)
{
	struct kd_context context = { .retries = 20 };

	start_module();
	ck_assert_int_eq(kdvm_receive_packet(&kd, KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, NULL,
					     &context),
			 KD_TIMED_OUT);
	ck_assert_uint_eq(context.break_in_requested, 0);

	peer.breakin_pending = true;
	ck_assert_int_eq(kdvm_receive_packet(&kd, KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, NULL,
					     &context),
			 KD_OK);
	/* The result says it; a flag set as well would report it twice. */
	ck_assert_uint_eq(context.break_in_requested, 0);
	/* Taken once. */
	ck_assert_int_eq(kdvm_receive_packet(&kd, KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, NULL,
					     &context),
			 KD_TIMED_OUT);
	ck_assert_uint_eq(context.break_in_requested, 0);
	/* Without a context it still answers. */
	peer.breakin_pending = true;
	ck_assert_int_eq(kdvm_receive_packet(&kd, KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, NULL, NULL),
			 KD_OK);
	ck_assert_uint_eq(peer.calls.poll_breakin, 4);
	ck_assert_uint_eq(kd.stats.polls, 4);
}
END_TEST

START_TEST(receive_with_nothing_to_receive_times_out)
{
	uint32_t data_length;

	start_module();
	fill_guards();
	ck_assert_int_eq(receive_manipulate(&data_length), KD_TIMED_OUT);
	/* The module's own bound, so the emulator can take a signal. */
	ck_assert_uint_eq(peer.last_timeout_ms, KDVM_DEFAULT_RECEIVE_TIMEOUT_MS);
	assert_buffers_untouched();
	ck_assert_uint_eq(data_length, 0x5555);
}
END_TEST

START_TEST(a_debugger_resetting_the_link_means_needs_resend)
{
	uint32_t data_length;

	start_module();
	kd_test_peer_script_receive(&peer, KD_NEEDS_RESEND);
	fill_guards();
	ck_assert_int_eq(receive_manipulate(&data_length), KD_NEEDS_RESEND);
	assert_buffers_untouched();
}
END_TEST

/* ---- the one-call promise -------------------------------------------------------- */

/* The transport exists to make each KdSendPacket and KdReceivePacket one
 * backdoor call, one VM exit, instead of a UART byte at a time: count
 * them at both ends. */
START_TEST(each_send_receive_and_poll_is_exactly_one_backdoor_call)
{
	uint8_t bytes[KDCOM_MAX_PAYLOAD];
	struct kd_string header, data;
	uint32_t data_length;

	start_module();
	fill_pattern(bytes, sizeof(bytes), 0x99);
	for (int round = 0; round < 20; round++) {
		uint32_t module_calls = kd.stats.backdoor_calls;
		uint64_t device_calls = device_stats()->kd_calls;
		unsigned fake_calls = fake.calls;

		send(KDCOM_TYPE_STATE_CHANGE64, bytes, 240, bytes + 240, (uint16_t)(round * 100));
		ck_assert_uint_eq(kd.stats.backdoor_calls, module_calls + 1);
		ck_assert_uint_eq(device_stats()->kd_calls, device_calls + 1);
		ck_assert_uint_eq(fake.calls, fake_calls + 1);

		kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, bytes, MANIPULATE_HEADER,
				   bytes + MANIPULATE_HEADER, (size_t)round * 150);
		header = header_string(MANIPULATE_HEADER);
		data = data_string(KD64_DATA_ROOM);
		ck_assert_int_eq(receive(KDCOM_TYPE_STATE_MANIPULATE, &header, &data, &data_length),
				 KD_OK);
		ck_assert_uint_eq(kd.stats.backdoor_calls, module_calls + 2);
		ck_assert_uint_eq(device_stats()->kd_calls, device_calls + 2);
		ck_assert_uint_eq(fake.calls, fake_calls + 2);

		/* A receive that times out is one call too. */
		ck_assert_int_eq(receive(KDCOM_TYPE_STATE_MANIPULATE, &header, &data, &data_length),
				 KD_TIMED_OUT);
		ck_assert_uint_eq(kd.stats.backdoor_calls, module_calls + 3);
		ck_assert_uint_eq(device_stats()->kd_calls, device_calls + 3);

		kdvm_receive_packet(&kd, KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, NULL, NULL);
		ck_assert_uint_eq(kd.stats.backdoor_calls, module_calls + 4);
		ck_assert_uint_eq(device_stats()->kd_calls, device_calls + 4);
		ck_assert_uint_eq(fake.calls, fake_calls + 4);
	}
	ck_assert_uint_eq(device_stats()->kd_errors, 0);
}
END_TEST

/* The device was reset under a running kernel (or someone unregistered
 * the page): the next call registers again, once, and goes through; the
 * one after is a single call again. */
START_TEST(a_device_that_forgot_the_page_gets_it_registered_again_once)
{
	uint8_t bytes[100];

	start_module();
	fill_pattern(bytes, sizeof(bytes), 0x31);
	fake_vcpu_load(&cpu, BDOOR_MAGIC, KDVM_MAGIC,
		       KDVM_SUB_UNREGISTER << 16 | BDOOR_CMD_OS_NOT_FOUND, BDOOR_PORT, 0, 0);
	ck_assert_uint_eq(fake_vcpu_io(&cpu, vp, BDOOR_PORT, GUEST_PORT_IN).in_value, KDVM_STATUS_OK);

	uint32_t calls = kd.stats.backdoor_calls;
	send(KDCOM_TYPE_DEBUG_IO, bytes, 16, bytes + 16, 84);
	/* CALL (NOT_REGISTERED), REGISTER, CALL. */
	ck_assert_uint_eq(kd.stats.backdoor_calls, calls + 3);
	ck_assert_uint_eq(kd.stats.refused, 1);
	ck_assert_uint_eq(peer.sent_count, 1);
	ck_assert(!memcmp(kd_test_peer_sent(&peer, 0)->data, bytes + 16, 84));
	ck_assert(kd.ready);

	send(KDCOM_TYPE_DEBUG_IO, bytes, 16, bytes + 16, 84);
	ck_assert_uint_eq(kd.stats.backdoor_calls, calls + 4);
	ck_assert_uint_eq(peer.sent_count, 2);
}
END_TEST

/* A device that will not take the page back: one attempt, no loop. */
START_TEST(a_device_refusing_the_page_again_is_tried_once_per_call)
{
	uint8_t bytes[32] = { 0 };

	start_module();
	fake_vcpu_load(&cpu, BDOOR_MAGIC, KDVM_MAGIC,
		       KDVM_SUB_UNREGISTER << 16 | BDOOR_CMD_OS_NOT_FOUND, BDOOR_PORT, 0, 0);
	fake_vcpu_io(&cpu, vp, BDOOR_PORT, GUEST_PORT_IN);
	page->h.version = KDVM_PROTOCOL_VERSION + 1; /* REGISTER answers BAD_PAGE */

	uint32_t calls = kd.stats.backdoor_calls;
	send(KDCOM_TYPE_DEBUG_IO, bytes, 16, bytes + 16, 16);
	ck_assert_uint_eq(kd.stats.backdoor_calls, calls + 2); /* CALL, REGISTER */
	ck_assert(!kd.ready);
	ck_assert_uint_eq(peer.sent_count, 0);
	/* Not ready: further calls stay away from the device. */
	send(KDCOM_TYPE_DEBUG_IO, bytes, 16, bytes + 16, 16);
	ck_assert_uint_eq(kd.stats.backdoor_calls, calls + 2);
}
END_TEST

/* ---- arguments -------------------------------------------------------------------- */

/* What the caller asks for cannot be carried: no backdoor call at all. */
START_TEST(arguments_out_of_range_make_no_backdoor_call)
{
	static const uint32_t bad_types[] = { KDCOM_TYPE_UNUSED, KDCOM_TYPE_ACKNOWLEDGE,
					      KDCOM_TYPE_RESEND, KDCOM_TYPE_RESET,
					      KDCOM_TYPE_MAX,	 0xffffffffu };
	static uint8_t bytes[KDCOM_MAX_PAYLOAD + 1];
	struct kd_string header, data;
	uint32_t data_length;

	start_module();
	uint32_t calls = kd.stats.backdoor_calls;
	unsigned peer_calls = kd_test_peer_total_calls(&peer);

	send(KDCOM_TYPE_DEBUG_IO, bytes, 16, bytes + 16, KDCOM_MAX_PAYLOAD - 15);
	send(KDCOM_TYPE_DEBUG_IO, bytes, 0xffff, bytes, 0xffff);
	ck_assert_uint_eq(kd.stats.rejected, 2);

	fill_guards();
	header = header_string(KDCOM_MAX_PAYLOAD + 1);
	data = data_string(KD64_DATA_ROOM);
	ck_assert_int_eq(receive(KDCOM_TYPE_STATE_MANIPULATE, &header, &data, &data_length),
			 KD_TIMED_OUT);
	header = header_string(0xffff);
	ck_assert_int_eq(receive(KDCOM_TYPE_STATE_MANIPULATE, &header, &data, &data_length),
			 KD_TIMED_OUT);
	ck_assert_int_eq(receive(KDCOM_TYPE_STATE_MANIPULATE, NULL, &data, &data_length),
			 KD_TIMED_OUT);
	ck_assert_uint_eq(kd.stats.rejected, 5);

	for (size_t i = 0; i < sizeof(bad_types) / sizeof(*bad_types); i++) {
		header = header_string(MANIPULATE_HEADER);
		ck_assert_int_eq(receive(bad_types[i], &header, &data, &data_length),
				 KD_TIMED_OUT);
		send(bad_types[i], bytes, 16, bytes + 16, 16);
	}
	/* POLL_BREAKIN is a receive mode; there is no such packet to send. */
	send(KDCOM_TYPE_POLL_BREAKIN, bytes, 16, bytes + 16, 16);
	ck_assert_uint_eq(kd.stats.rejected, 6 + 2 * sizeof(bad_types) / sizeof(*bad_types));
	ck_assert_uint_eq(kd.stats.backdoor_calls, calls);
	ck_assert_uint_eq(kd_test_peer_total_calls(&peer), peer_calls);
	assert_buffers_untouched();
	ck_assert_uint_eq(data_length, 0x5555);
}
END_TEST

/* ---- a hostile device ---------------------------------------------------------------- */

/* After each real CALL the device writes lengths of its choosing into the
 * page and says OK. Whatever it writes, the module copies nothing past a
 * caller's MaximumLength and reports a time-out. */
START_TEST(a_hostile_device_cannot_make_the_module_overrun_the_callers_buffers)
{
	static const struct {
		uint16_t header_room, data_room; /* 0 data room: no data buffer */
		uint16_t header_length, data_length;
	} cases[] = {
		{ 56, 100, 57, 0 },	   /* header longer than asked */
		{ 56, 100, 55, 0 },	   /* header shorter than asked */
		{ 56, 100, 56, 101 },	   /* data past the room */
		{ 56, 100, 0xffff, 0xffff },
		{ 56, 0x1000, 56, 3977 },  /* past the page's payload */
		{ 56, 0x1000, 56, 0xffff },
		{ 4000, 0x1000, 4000, 33 },
		{ 16, 0, 16, 5 },	   /* data without a data buffer */
		{ 0, 100, 0, 0xffff },
	};
	uint8_t bytes[KDCOM_MAX_PAYLOAD];

	start_module();
	fill_pattern(bytes, sizeof(bytes), 0xc3);
	fake.scribble = true;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct kd_string header = header_string(cases[i].header_room);
		struct kd_string data = data_string(cases[i].data_room);
		uint32_t data_length;
		uint32_t rejected = kd.stats.rejected;

		/* The page's payload full of bytes a careless copy would take. */
		memset(page->payload, 0xee, sizeof(page->payload));
		kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, bytes, cases[i].header_room,
				   NULL, 0);
		fake.scribble_header_length = cases[i].header_length;
		fake.scribble_data_length = cases[i].data_length;
		fill_guards();
		ck_assert_int_eq(receive(KDCOM_TYPE_STATE_MANIPULATE, &header,
					 cases[i].data_room ? &data : NULL, &data_length),
				 KD_TIMED_OUT);
		ck_assert_uint_eq(kd.stats.rejected, rejected + 1);
		assert_buffers_untouched();
		ck_assert_uint_eq(header.length, 0x5555);
		ck_assert_uint_eq(data_length, 0x5555);
	}

	/* Lengths within every bound are taken: the module cannot tell them
	 * from the truth, and copies only what they say. */
	struct kd_string header = header_string(56);
	struct kd_string data = data_string(100);
	uint32_t data_length;
	kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, bytes, 56, NULL, 0);
	fake.scribble_header_length = 56;
	fake.scribble_data_length = 100;
	fill_guards();
	ck_assert_int_eq(receive(KDCOM_TYPE_STATE_MANIPULATE, &header, &data, &data_length),
			 KD_OK);
	ck_assert_uint_eq(data_length, 100);
	kd_test_assert_guarded_from(header_buffer, 56, sizeof(header_buffer));
	kd_test_assert_guarded_from(data_buffer, 100, sizeof(data_buffer));
}
END_TEST

BXKD_SUITE(kdvm_guest,
	testcases_add_with(s, "initialise", 0, setup, teardown, TESTS(
		initialise_registers_the_page_with_the_device,
		initialise_notes_a_debugger_that_is_not_attached_yet,
		initialise_without_a_debugger_endpoint_answers_no_transport,
		initialise_without_a_device_answers_no_device,
		initialise_on_a_command_without_the_transport_answers_no_device,
		initialise_refuses_a_device_of_another_protocol_version,
		initialise_under_scan_discovery_does_not_register));
	/* Thousands of packets; under valgrind that is work, not waiting. */
	testcases_add_with(s, "send", 300, setup, teardown, TESTS(
		send_of_every_debug_io_length_arrives_byte_identical,
		send_without_data_sends_the_header_alone,
		a_dropped_send_means_no_debugger_and_an_acknowledged_one_a_debugger));
	testcases_add_with(s, "receive", 300, setup, teardown, TESTS(
		receive_of_every_state_manipulate_length_arrives_byte_identical,
		a_packet_bigger_than_the_data_room_is_not_delivered,
		a_header_maximum_length_the_packet_does_not_match,
		receive_without_a_data_buffer_takes_a_header_only_packet,
		poll_for_break_in_says_whether_the_debugger_asked,
		receive_with_nothing_to_receive_times_out,
		a_debugger_resetting_the_link_means_needs_resend));
	testcases_add_with(s, "calls", 0, setup, teardown, TESTS(
		each_send_receive_and_poll_is_exactly_one_backdoor_call,
		a_device_that_forgot_the_page_gets_it_registered_again_once,
		a_device_refusing_the_page_again_is_tried_once_per_call));
	testcases_add_with(s, "arguments", 0, setup, teardown, TESTS(
		arguments_out_of_range_make_no_backdoor_call,
		a_hostile_device_cannot_make_the_module_overrun_the_callers_buffers));
)
