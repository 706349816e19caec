/*
 * check_kdcom.c -- the KDCOM engine in both roles: the wire vectors of
 * docs/kd-protocol.md section 6, the id and sync rules, damage,
 * resets, retries and the no-debugger exemptions.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "bxkd/dbgkd.h"
#include "kdcom_engine.h"
#include "kd_test_bytes.h"
#include "suites.h"
#include "testcases.h"

#define TIMEOUT 100

static struct kdcom target, debugger;

static void setup(void)
{
	struct kdcom_config config;

	kdcom_config_init(&config, KDCOM_TARGET, TIMEOUT);
	kdcom_init(&target, &config);
	kdcom_config_init(&config, KDCOM_DEBUGGER, TIMEOUT);
	kdcom_init(&debugger, &config);
}

/* Feeds all of `data`, collecting events as they come. */
static unsigned feed(struct kdcom *k, const uint8_t *data, size_t len, uint64_t now,
		     struct kdcom_event *events, unsigned max_events)
{
	unsigned n = 0;
	size_t used = 0;
	struct kdcom_event e;

	for (;;) {
		while (kdcom_next_event(k, &e)) {
			ck_assert_uint_lt(n, max_events);
			events[n++] = e;
		}
		if (used == len)
			break;
		used += kdcom_input(k, data + used, len - used, now);
	}
	return n;
}

static void assert_output(struct kdcom *k, const uint8_t *want, size_t want_len)
{
	uint8_t got[2 * KDCOM_MAX_FRAME];
	size_t n = kd_test_drain(k, got, sizeof(got));

	ck_assert_uint_eq(n, want_len);
	if (want_len) /* want may be NULL then, which memcmp may not get */
		ck_assert_mem_eq(got, want, want_len);
}

/* ---- vectors -------------------------------------------------------------- */


static void tv5_get_version(uint8_t frame[73])
{
	static const uint8_t head[] = { 0x30, 0x30, 0x30, 0x30, 0x02, 0x00, 0x38, 0x00,
					0x00, 0x00, 0x80, 0x80, 0x77, 0x00, 0x00, 0x00,
					0x46, 0x31 };
	memset(frame, 0, 73);
	memcpy(frame, head, sizeof(head));
	frame[72] = 0xaa;
}

static struct dbgkd_manipulate_state64 request(uint32_t api)
{
	struct dbgkd_manipulate_state64 m;

	memset(&m, 0, sizeof(m));
	m.api_number = api;
	return m;
}

START_TEST(checksum_is_the_byte_sum)
{
	ck_assert_uint_eq(kdcom_checksum("", 0), 0);
	ck_assert_uint_eq(kdcom_checksum("\xff\xff\x01", 3), 0x1ff);
}
END_TEST

/* TV5: the debugger's first request, id 0x80800000. */
START_TEST(debugger_frames_get_version_as_tv5)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_VERSION_API);
	uint8_t want[73];

	tv5_get_version(want);
	ck_assert_int_eq(kdcom_send(&debugger, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 0),
			 KDCOM_SEND_STARTED);
	assert_output(&debugger, want, sizeof(want));
}
END_TEST

/* TV6: the second request goes out as id 0x80800001. */
START_TEST(debugger_frames_read_memory_as_tv6)
{
	static const uint8_t want[] = {
		0x30, 0x30, 0x30, 0x30, 0x02, 0x00, 0x38, 0x00, 0x01, 0x00, 0x80, 0x80, 0xfd, 0x04,
		0x00, 0x00, 0x30, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0xff, 0xff, 0xff, 0xff, 0x10, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0xaa,
	};
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_VERSION_API);
	struct kdcom_event ev[4];

	kdcom_send(&debugger, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 0);
	kd_test_drain(&debugger, (uint8_t[128]){ 0 }, 128);
	/* The target's ACK for 0x80800000 (TV1) completes the first send. */
	ck_assert_uint_eq(feed(&debugger, kd_test_tv1_ack, sizeof(kd_test_tv1_ack), 1, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_SENT);

	m = request(DBGKD_READ_VIRTUAL_MEMORY_API);
	m.u.read_memory.target_base_address = 0xFFFFFFFF80001000ull;
	m.u.read_memory.transfer_count = 0x10;
	kdcom_send(&debugger, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 2);
	assert_output(&debugger, want, sizeof(want));
}
END_TEST

/* TV8: a target's first packet carries SYNC; the right ACK is TV1. */
START_TEST(first_target_packet_is_sync_flagged_as_tv8)
{
	static const uint8_t want[] = { 0x30, 0x30, 0x30, 0x30, 0x03, 0x00, 0x16, 0x00, 0x00, 0x08,
					0x80, 0x80, 0x6c, 0x02, 0x00, 0x00, 0x30, 0x32, 0x00, 0x00,
					0x06, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
					0x00, 0x00, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x0a, 0xaa };
	struct dbgkd_debug_io io = { .api_number = DBGKD_PRINT_STRING_API, .processor_level = 6 };
	struct kdcom_event ev[4];

	io.u.length_of_string = 6;
	kdcom_send(&target, KDCOM_TYPE_DEBUG_IO, &io, sizeof(io), "Hello\n", 6, 0);
	assert_output(&target, want, sizeof(want));

	/* The debugger takes it and acknowledges without the SYNC bit... */
	ck_assert_uint_eq(feed(&debugger, want, sizeof(want), 0, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_PACKET);
	ck_assert_uint_eq(ev[0].type, KDCOM_TYPE_DEBUG_IO);
	ck_assert_uint_eq(ev[0].length, 22);
	ck_assert_mem_eq(ev[0].payload + 16, "Hello\n", 6);
	assert_output(&debugger, kd_test_tv1_ack, sizeof(kd_test_tv1_ack));
	/* ...which is what completes the target's send. */
	ck_assert_uint_eq(feed(&target, kd_test_tv1_ack, sizeof(kd_test_tv1_ack), 1, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_SENT);
	ck_assert_uint_eq(target.send_id, KDCOM_INITIAL_ID | 1);
}
END_TEST

/* TV5 at the target: delivered, acknowledged with TV1. */
START_TEST(target_takes_tv5_and_acknowledges_with_tv1)
{
	uint8_t frame[73];
	struct kdcom_event ev[4];

	tv5_get_version(frame);
	kdcom_expect(&target, KDCOM_TYPE_STATE_MANIPULATE, 0, KDCOM_MAX_PAYLOAD);
	ck_assert_uint_eq(feed(&target, frame, sizeof(frame), 0, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_PACKET);
	ck_assert_uint_eq(ev[0].length, 56);
	assert_output(&target, kd_test_tv1_ack, sizeof(kd_test_tv1_ack));
	ck_assert_uint_eq(target.recv_id, KDCOM_INITIAL_ID | 1);
}
END_TEST

/* TV7 and TV11, sent by a target whose id has reached 0x80800001. */
START_TEST(target_replies_match_tv7_and_tv11)
{
	static const uint8_t tv7[] = {
		0x30, 0x30, 0x30, 0x30, 0x02, 0x00, 0x48, 0x00, 0x01, 0x00, 0x80, 0x80, 0x85, 0x05,
		0x00, 0x00, 0x30, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0xff, 0xff, 0xff, 0xff, 0x10, 0x00,
		0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
		0x0c, 0x0d, 0x0e, 0x0f, 0xaa,
	};
	static const uint8_t tv11[] = {
		0x30, 0x30, 0x30, 0x30, 0x02, 0x00, 0x38, 0x00, 0x01, 0x00, 0x80, 0x80, 0xbd, 0x0f,
		0x00, 0x00, 0x46, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x0f, 0x00, 0x28, 0x0a, 0x06, 0x00, 0x02, 0x00, 0x4c, 0x01,
		0x0c, 0x03, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x80, 0xff, 0xff, 0xff, 0xff,
		0x00, 0x00, 0x56, 0x80, 0xff, 0xff, 0xff, 0xff, 0x00, 0x10, 0x56, 0x80, 0xff, 0xff,
		0xff, 0xff, 0xaa,
	};
	uint8_t data[16];
	struct dbgkd_manipulate_state64 m = request(DBGKD_READ_VIRTUAL_MEMORY_API);

	target.send_id = KDCOM_INITIAL_ID | 1;
	m.u.read_memory.target_base_address = 0xFFFFFFFF80001000ull;
	m.u.read_memory.transfer_count = 0x10;
	m.u.read_memory.actual_bytes = 0x10;
	for (int i = 0; i < 16; i++)
		data[i] = (uint8_t)i;
	kdcom_send(&target, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), data, sizeof(data), 0);
	assert_output(&target, tv7, sizeof(tv7));

	setup();
	target.send_id = KDCOM_INITIAL_ID | 1;
	m = request(DBGKD_GET_VERSION_API);
	m.u.get_version = (struct dbgkd_get_version64){
		.major_version = 0x000f, .minor_version = 2600, .protocol_version = 6,
		.flags = DBGKD_VERS_FLAG_DATA, .machine_type = DBGKD_MACHINE_I386,
		.max_packet_type = 12, .max_state_change = 3, .max_manipulate = 0x31,
		.kern_base = 0xFFFFFFFF80400000ull, .ps_loaded_module_list = 0xFFFFFFFF80560000ull,
		.debugger_data_list = 0xFFFFFFFF80561000ull,
	};
	kdcom_send(&target, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 0);
	assert_output(&target, tv11, sizeof(tv11));
}
END_TEST

/* TV12: a 240-byte exception state change, checksum 0x20A9. */
START_TEST(target_frames_an_exception_state_change_as_tv12)
{
	struct dbgkd_any_wait_state_change sc;
	uint8_t out[300];

	sc = kd_test_tv12_state();
	target.send_id = KDCOM_INITIAL_ID;

	kdcom_send(&target, KDCOM_TYPE_STATE_CHANGE64, &sc, sizeof(sc), NULL, 0, 0);
	size_t n = kd_test_drain(&target, out, sizeof(out));
	ck_assert_uint_eq(n, 16 + 240 + 1);
	ck_assert_mem_eq(out, "\x30\x30\x30\x30\x07\x00\xf0\x00\x00\x00\x80\x80\xa9\x20\x00\x00", 16);
	ck_assert_mem_eq(out + 0xd0, "\xf0\x0f\xff\xff\x00\x04\x00\x00\x10\x00\x03\x00\xcc\xc3", 14);
	ck_assert_uint_eq(out[256], 0xaa);
}
END_TEST

START_TEST(control_vectors)
{
	struct kdcom_event ev[4];

	/* TV2: the debugger's RESET and, TV2 again, the target's answer. */
	kdcom_send_reset(&debugger, 0);
	assert_output(&debugger, kd_test_tv2_reset, sizeof(kd_test_tv2_reset));
	feed(&target, kd_test_tv2_reset, sizeof(kd_test_tv2_reset), 0, ev, 4);
	assert_output(&target, kd_test_tv2_reset, sizeof(kd_test_tv2_reset));
	/* TV4: break-in is the single byte 0x62. */
	kdcom_send_breakin(&debugger);
	assert_output(&debugger, (const uint8_t *)"b", 1);
	/* TV3: what a damaged frame gets. */
	uint8_t frame[73];
	tv5_get_version(frame);
	frame[40] ^= 1;
	kdcom_expect(&target, KDCOM_TYPE_STATE_MANIPULATE, 0, KDCOM_MAX_PAYLOAD);
	ck_assert_uint_eq(feed(&target, frame, sizeof(frame), 0, ev, 4), 0);
	assert_output(&target, kd_test_tv3_resend, sizeof(kd_test_tv3_resend));
}
END_TEST

/* ---- receive rules ---------------------------------------------------------- */

START_TEST(a_repeated_packet_is_acknowledged_again_but_not_delivered)
{
	uint8_t frame[73];
	struct kdcom_event ev[4];

	tv5_get_version(frame);
	kdcom_expect(&target, KDCOM_TYPE_STATE_MANIPULATE, 0, KDCOM_MAX_PAYLOAD);
	ck_assert_uint_eq(feed(&target, frame, sizeof(frame), 0, ev, 4), 1);
	kd_test_drain(&target, (uint8_t[64]){ 0 }, 64);
	ck_assert_uint_eq(feed(&target, frame, sizeof(frame), 0, ev, 4), 0);
	assert_output(&target, kd_test_tv1_ack, sizeof(kd_test_tv1_ack));
	ck_assert_uint_eq(target.stats.duplicates, 1);
}
END_TEST

/* The caller's buffer bounds what it takes: a packet of the wanted type
 * that is shorter than its header or longer than the buffer is asked for
 * again rather than delivered or acknowledged. */
START_TEST(a_wanted_packet_outside_the_expected_lengths_is_asked_for_again)
{
	uint8_t frame[73];
	struct kdcom_event ev[4];

	tv5_get_version(frame); /* a 56-byte payload */
	kdcom_expect(&target, KDCOM_TYPE_STATE_MANIPULATE, 56, 55);
	ck_assert_uint_eq(feed(&target, frame, sizeof(frame), 0, ev, 4), 0);
	assert_output(&target, kd_test_tv3_resend, sizeof(kd_test_tv3_resend));
	kdcom_expect(&target, KDCOM_TYPE_STATE_MANIPULATE, 57, 100);
	ck_assert_uint_eq(feed(&target, frame, sizeof(frame), 0, ev, 4), 0);
	assert_output(&target, kd_test_tv3_resend, sizeof(kd_test_tv3_resend));
	ck_assert_uint_eq(target.stats.packets_received, 0);

	kdcom_expect(&target, KDCOM_TYPE_STATE_MANIPULATE, 56, 56);
	ck_assert_uint_eq(feed(&target, frame, sizeof(frame), 0, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_PACKET);
	ck_assert_uint_eq(ev[0].length, 56);
	assert_output(&target, kd_test_tv1_ack, sizeof(kd_test_tv1_ack));
}
END_TEST

START_TEST(damaged_frames_are_asked_for_again)
{
	struct kdcom_event ev[4];
	uint8_t frame[73];
	static const struct {
		size_t at;
		uint8_t value;
		const char *what;
	} damage[] = {
		{ 20, 0x01, "payload byte (checksum)" },
		{ 72, 0xab, "trailer" },
		{ 12, 0x78, "checksum field" },
		{ 4, 0x03, "type, inconsistent with the API number" },
		{ 4, 0x09, "type, another data type" },
		{ 4, 0x04, "type, a control type under a data leader" },
		{ 7, 0x10, "length over 4000" },
	};

	kdcom_expect(&target, KDCOM_TYPE_STATE_MANIPULATE, 0, KDCOM_MAX_PAYLOAD);
	for (size_t i = 0; i < sizeof(damage) / sizeof(*damage); i++) {
		tv5_get_version(frame);
		frame[damage[i].at] = damage[i].value;
		ck_assert_msg(feed(&target, frame, sizeof(frame), 0, ev, 4) == 0, "%s delivered",
			      damage[i].what);
		uint8_t out[64];
		size_t n = kd_test_drain(&target, out, sizeof(out));
		ck_assert_msg(n >= 16 && !memcmp(out, kd_test_tv3_resend, 16), "%s: no RESEND",
			      damage[i].what);
	}
	/* And the intact frame still gets through afterwards. */
	tv5_get_version(frame);
	ck_assert_uint_eq(feed(&target, frame, sizeof(frame), 0, ev, 4), 1);
}
END_TEST

START_TEST(garbage_and_broken_leaders_are_skipped)
{
	uint8_t stream[200], frame[73];
	struct kdcom_event ev[4];
	size_t n = 0;

	memcpy(stream + n, "xyz000i0iiq", 11);
	n += 11;
	tv5_get_version(frame);
	memcpy(stream + n, frame, sizeof(frame));
	n += sizeof(frame);
	kdcom_expect(&target, KDCOM_TYPE_STATE_MANIPULATE, 0, KDCOM_MAX_PAYLOAD);
	ck_assert_uint_eq(feed(&target, stream, n, 0, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_PACKET);
	ck_assert_uint_eq(target.stats.garbage_bytes, 11);
}
END_TEST

START_TEST(bytes_may_arrive_one_at_a_time)
{
	uint8_t frame[73];
	struct kdcom_event ev[4];
	unsigned packets = 0;

	tv5_get_version(frame);
	kdcom_expect(&target, KDCOM_TYPE_STATE_MANIPULATE, 0, KDCOM_MAX_PAYLOAD);
	for (size_t i = 0; i < sizeof(frame); i++)
		packets += feed(&target, frame + i, 1, i, ev, 4);
	ck_assert_uint_eq(packets, 1);
}
END_TEST

START_TEST(break_in_is_seen_between_packets)
{
	struct kdcom_event ev[4];

	ck_assert_uint_eq(feed(&target, (const uint8_t *)"bb", 2, 0, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_BREAKIN);
	ck_assert(kdcom_take_breakin(&target));
	ck_assert(!kdcom_take_breakin(&target));
	/* The debugger side treats it as noise. */
	ck_assert_uint_eq(feed(&debugger, (const uint8_t *)"b", 1, 0, ev, 4), 0);
}
END_TEST

/* kdcom.dll acknowledges a packet of a type it is not waiting for and
 * drops it; the id does not move. */
START_TEST(an_unwanted_type_is_acknowledged_and_dropped)
{
	uint8_t frame[73];
	struct kdcom_event ev[4];

	tv5_get_version(frame);
	kdcom_expect(&target, KDCOM_TYPE_DEBUG_IO, 0, KDCOM_MAX_PAYLOAD);
	ck_assert_uint_eq(feed(&target, frame, sizeof(frame), 0, ev, 4), 0);
	assert_output(&target, kd_test_tv1_ack, sizeof(kd_test_tv1_ack));
	ck_assert_uint_eq(target.recv_id, KDCOM_INITIAL_ID);
}
END_TEST

START_TEST(a_target_waiting_for_nothing_leaves_packets_unacknowledged)
{
	uint8_t frame[73];
	struct kdcom_event ev[4];

	tv5_get_version(frame);
	ck_assert_uint_eq(feed(&target, frame, sizeof(frame), 0, ev, 4), 0);
	assert_output(&target, NULL, 0);
}
END_TEST

/* Stricter than kdcom.dll: control packets with fields no peer sends. */
START_TEST(malformed_control_packets_are_ignored)
{
	struct kdcom_event ev[4];
	uint8_t reset[16], ack[16];

	memcpy(reset, kd_test_tv2_reset, 16);
	reset[8] = 1; /* a RESET with an id: a damaged ACK? */
	ck_assert_uint_eq(feed(&target, reset, 16, 0, ev, 4), 0);
	ck_assert_uint_eq(target.stats.resets, 0);

	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_VERSION_API);
	kdcom_send(&debugger, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 0);
	memcpy(ack, kd_test_tv1_ack, 16);
	ack[12] = 1; /* checksum set */
	ck_assert_uint_eq(feed(&debugger, ack, 16, 0, ev, 4), 0);
	ck_assert(kdcom_sending(&debugger));
	ack[12] = 0;
	ack[6] = 1; /* length set */
	ck_assert_uint_eq(feed(&debugger, ack, 16, 0, ev, 4), 0);
	ck_assert(kdcom_sending(&debugger));
}
END_TEST

/* ---- sending rules ------------------------------------------------------------ */

START_TEST(only_one_send_at_a_time_and_only_valid_packets)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_VERSION_API);
	uint8_t big[KDCOM_MAX_PAYLOAD];

	ck_assert_int_eq(kdcom_send(&target, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 0),
			 KDCOM_SEND_STARTED);
	ck_assert_int_eq(kdcom_send(&target, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 0),
			 KDCOM_SEND_BUSY);
	setup();
	ck_assert_int_eq(kdcom_send(&target, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), big,
				    sizeof(big) - sizeof(m) + 1, 0),
			 KDCOM_SEND_INVALID);
	ck_assert_int_eq(kdcom_send(&target, KDCOM_TYPE_RESET, &m, sizeof(m), NULL, 0, 0),
			 KDCOM_SEND_INVALID);
	ck_assert_int_eq(kdcom_send(&target, KDCOM_TYPE_DEBUG_IO, &m, sizeof(m), NULL, 0, 0),
			 KDCOM_SEND_INVALID);
	memset(big, 0, sizeof(big));
	memcpy(big, &m, sizeof(m));
	ck_assert_int_eq(kdcom_send(&target, KDCOM_TYPE_STATE_MANIPULATE, big, sizeof(m), big + 56,
				    sizeof(big) - 56, 0),
			 KDCOM_SEND_STARTED);
}
END_TEST

START_TEST(unacknowledged_packets_are_sent_again_on_time)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_VERSION_API);
	uint8_t first[128], again[128];

	kdcom_send(&debugger, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 1000);
	size_t n = kd_test_drain(&debugger, first, sizeof(first));
	ck_assert_uint_eq(kdcom_deadline(&debugger), 1000 + TIMEOUT);
	kdcom_tick(&debugger, 1000 + TIMEOUT - 1);
	ck_assert_uint_eq(kd_test_drain(&debugger, again, sizeof(again)), 0);
	kdcom_tick(&debugger, 1000 + TIMEOUT);
	ck_assert_uint_eq(kd_test_drain(&debugger, again, sizeof(again)), n);
	ck_assert_mem_eq(again, first, n);
	ck_assert_uint_eq(debugger.stats.retransmissions, 1);
}
END_TEST

START_TEST(a_resend_request_is_answered_at_once)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_VERSION_API);
	struct kdcom_event ev[4];
	uint8_t first[128], again[128];

	kdcom_send(&target, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 0);
	size_t n = kd_test_drain(&target, first, sizeof(first));
	ck_assert_uint_eq(feed(&target, kd_test_tv3_resend, 16, 5, ev, 4), 0);
	ck_assert_uint_eq(kd_test_drain(&target, again, sizeof(again)), n);
	ck_assert_mem_eq(again, first, n);
	/* Not sending: it is KdReceivePacket's NeedsResend. */
	setup();
	ck_assert_uint_eq(feed(&target, kd_test_tv3_resend, 16, 5, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_RESEND);
}
END_TEST

static unsigned time_out_until_event(struct kdcom *k, uint64_t *now, struct kdcom_event *ev,
				     unsigned max_ticks)
{
	for (unsigned i = 0; i < max_ticks; i++) {
		*now += TIMEOUT;
		kdcom_tick(k, *now);
		kdcom_discard_output(k);
		if (kdcom_next_event(k, ev))
			return i + 1;
	}
	return 0;
}

/* ReactOS gives up after 20 unanswered sends only on a debug print, a
 * symbol load and a file create (and on packets of other types). */
START_TEST(no_debugger_exemptions)
{
	static const struct {
		uint16_t type;
		uint32_t api;
		size_t header;
		bool dropped;
	} cases[] = {
		{ KDCOM_TYPE_DEBUG_IO, DBGKD_PRINT_STRING_API, 16, true },
		{ KDCOM_TYPE_DEBUG_IO, DBGKD_GET_STRING_API, 16, false },
		{ KDCOM_TYPE_STATE_CHANGE64, DBGKD_LOAD_SYMBOLS_STATE_CHANGE, 240, true },
		{ KDCOM_TYPE_STATE_CHANGE64, DBGKD_EXCEPTION_STATE_CHANGE, 240, false },
		{ KDCOM_TYPE_FILE_IO, DBGKD_CREATE_FILE_API, 64, true },
		{ KDCOM_TYPE_FILE_IO, DBGKD_READ_FILE_API, 64, false },
		{ KDCOM_TYPE_STATE_MANIPULATE, DBGKD_GET_VERSION_API, 56, true },
	};
	uint8_t payload[240];
	struct kdcom_event ev;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		uint64_t now = 0;
		setup();
		memset(payload, 0, sizeof(payload));
		memcpy(payload, &cases[i].api, 4);
		kdcom_send(&target, cases[i].type, payload, cases[i].header, NULL, 0, now);
		unsigned ticks = time_out_until_event(&target, &now, &ev, 100);
		if (cases[i].dropped) {
			ck_assert_uint_eq(ticks, 20);
			ck_assert_int_eq(ev.kind, KDCOM_EVENT_DROPPED);
			ck_assert(!target.debugger_present);
			/* Numbering restarts with SYNC for whoever comes next. */
			ck_assert_uint_eq(target.send_id, KDCOM_INITIAL_ID | KDCOM_SYNC_ID);
		} else {
			ck_assert_msg(ticks == 0, "case %zu gave up", i);
			ck_assert(kdcom_sending(&target));
		}
	}
}
END_TEST

START_TEST(the_debugger_gives_up_after_its_retries)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_VERSION_API);
	struct kdcom_event ev;
	uint64_t now = 0;

	kdcom_send(&debugger, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, now);
	ck_assert_uint_eq(time_out_until_event(&debugger, &now, &ev, 100), 20);
	ck_assert_int_eq(ev.kind, KDCOM_EVENT_SEND_FAILED);
	ck_assert(!kdcom_sending(&debugger));
}
END_TEST

/* The target answers RESET, restarts both ids and resends what was in
 * flight under the new id, without SYNC. */
START_TEST(reset_restarts_numbering_and_resends)
{
	struct dbgkd_any_wait_state_change sc;
	struct kdcom_event ev[4];
	uint8_t out[600];

	memset(&sc, 0, sizeof(sc));
	sc.new_state = DBGKD_EXCEPTION_STATE_CHANGE;
	target.send_id = KDCOM_INITIAL_ID | 1;
	target.recv_id = KDCOM_INITIAL_ID | 1;
	kdcom_send(&target, KDCOM_TYPE_STATE_CHANGE64, &sc, sizeof(sc), NULL, 0, 0);
	kd_test_drain(&target, out, sizeof(out));

	ck_assert_uint_eq(feed(&target, kd_test_tv2_reset, 16, 1, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_RESET);
	size_t n = kd_test_drain(&target, out, sizeof(out));
	ck_assert_uint_eq(n, 16 + 257);
	ck_assert_mem_eq(out, kd_test_tv2_reset, 16);
	ck_assert_mem_eq(out + 16 + 8, "\x00\x00\x80\x80", 4);
	ck_assert_uint_eq(target.recv_id, KDCOM_INITIAL_ID);
}
END_TEST

/* A RESET cuts off a manipulate reply: it answers a request from the
 * session the debugger abandoned, and the debugger now wants a state
 * change, which the caller resends on the RESET event. */
START_TEST(reset_abandons_a_manipulate_reply)
{
	struct dbgkd_manipulate_state64 m;
	struct kdcom_event ev[4];
	uint8_t out[600];

	memset(&m, 0, sizeof(m));
	m.api_number = DBGKD_GET_VERSION_API;
	kdcom_send(&target, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 0);
	kd_test_drain(&target, out, sizeof(out));

	ck_assert_uint_eq(feed(&target, kd_test_tv2_reset, 16, 1, ev, 4), 2);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_ABANDONED);
	ck_assert_int_eq(ev[1].kind, KDCOM_EVENT_RESET);
	ck_assert(!kdcom_sending(&target));
	ck_assert_uint_eq(target.stats.replies_abandoned, 1);
	ck_assert_uint_eq(kd_test_drain(&target, out, sizeof(out)), 16);
	ck_assert_mem_eq(out, kd_test_tv2_reset, 16);
}
END_TEST

/* A RESET stops input: what was buffered behind it is stale. */
START_TEST(reset_stops_input_so_stale_bytes_can_be_discarded)
{
	uint8_t two[32];

	memcpy(two, kd_test_tv2_reset, 16);
	memcpy(two + 16, kd_test_tv2_reset, 16);
	ck_assert_uint_eq(kdcom_input(&target, two, sizeof(two), 0), 16);
}
END_TEST

/* ReactOS: a new packet from the debugger while we wait for our ACK means
 * it has ours; we ask for the new one again. Stricter: an old one does not. */
START_TEST(implicit_acknowledgement_only_by_a_new_packet)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_VERSION_API);
	struct kdcom_event ev[4];
	uint8_t frame[73], out[256];

	target.recv_id = KDCOM_INITIAL_ID | 1; /* TV5 (id ...0) is now old */
	kdcom_send(&target, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 0);
	kd_test_drain(&target, out, sizeof(out));
	tv5_get_version(frame);
	ck_assert_uint_eq(feed(&target, frame, sizeof(frame), 1, ev, 4), 0);
	assert_output(&target, kd_test_tv1_ack, sizeof(kd_test_tv1_ack));
	ck_assert(kdcom_sending(&target));

	target.recv_id = KDCOM_INITIAL_ID; /* now TV5 is the next packet */
	ck_assert_uint_eq(feed(&target, frame, sizeof(frame), 2, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_SENT);
	assert_output(&target, kd_test_tv3_resend, sizeof(kd_test_tv3_resend));
	ck_assert_uint_eq(target.recv_id, KDCOM_INITIAL_ID); /* not taken */
}
END_TEST

/* The debugger side takes the reply as the ACK it missed (rizin does). */
START_TEST(debugger_takes_a_reply_as_acknowledgement)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_GET_VERSION_API);
	struct kdcom_event ev[4];
	uint8_t reply[128];

	kdcom_send(&debugger, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 0);
	kdcom_discard_output(&debugger);
	target.send_id = KDCOM_INITIAL_ID;
	kdcom_send(&target, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 0);
	size_t n = kd_test_drain(&target, reply, sizeof(reply));
	ck_assert_uint_eq(feed(&debugger, reply, n, 1, ev, 4), 2);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_SENT);
	ck_assert_int_eq(ev[1].kind, KDCOM_EVENT_PACKET);
}
END_TEST

/* After a target restarted its numbering (SYNC), the debugger follows,
 * but a copy of the packet it just took is still a copy. */
START_TEST(debugger_follows_sync_but_not_a_copy)
{
	struct dbgkd_debug_io io = { .api_number = DBGKD_PRINT_STRING_API };
	struct kdcom_event ev[4];
	uint8_t frame[64];

	debugger.recv_id = KDCOM_INITIAL_ID | 1; /* expecting ...1 */
	target.send_id = KDCOM_INITIAL_ID | KDCOM_SYNC_ID;
	kdcom_send(&target, KDCOM_TYPE_DEBUG_IO, &io, sizeof(io), "x", 1, 0);
	size_t n = kd_test_drain(&target, frame, sizeof(frame));
	ck_assert_uint_eq(feed(&debugger, frame, n, 0, ev, 4), 1);
	ck_assert_uint_eq(debugger.recv_id, KDCOM_INITIAL_ID | 1);
	kdcom_discard_output(&debugger);
	/* The same frame again (its ACK was lost): a duplicate. */
	ck_assert_uint_eq(feed(&debugger, frame, n, 1, ev, 4), 0);
	ck_assert_uint_eq(debugger.stats.duplicates, 1);
	assert_output(&debugger, kd_test_tv1_ack, sizeof(kd_test_tv1_ack));
}
END_TEST

/* What KDCOM cannot see: two payload bytes damaged by +d and -d keep the
 * byte sum, so the packet is delivered damaged. The lossy-channel test's
 * fault model leaves a frame's length between faults for this reason. */
START_TEST(compensating_damage_is_beyond_the_checksum)
{
	uint8_t frame[73];
	struct kdcom_event ev[4];

	tv5_get_version(frame);
	frame[16] -= 1; /* ApiNumber 0x3146 becomes 0x3145, still a manipulate API */
	frame[30] += 1;
	kdcom_expect(&target, KDCOM_TYPE_STATE_MANIPULATE, 0, KDCOM_MAX_PAYLOAD);
	ck_assert_uint_eq(feed(&target, frame, sizeof(frame), 0, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_PACKET);
}
END_TEST

START_TEST(types_agree_with_api_numbers)
{
	uint8_t p[240];

	memset(p, 0, sizeof(p));
	memcpy(p, "\x30\x30\x01\x00", 4); /* exception, alternate state change */
	ck_assert(kdcom_type_matches_payload(KDCOM_TYPE_STATE_CHANGE64, p, 240));
	ck_assert(!kdcom_type_matches_payload(KDCOM_TYPE_STATE_CHANGE64, p, 239));
	ck_assert(!kdcom_type_matches_payload(KDCOM_TYPE_STATE_MANIPULATE, p, 56));
	memcpy(p, "\x30\x32\x00\x00", 4);
	ck_assert(kdcom_type_matches_payload(KDCOM_TYPE_DEBUG_IO, p, 16));
	ck_assert(!kdcom_type_matches_payload(KDCOM_TYPE_DEBUG_IO, p, 15));
	memcpy(p, "\x30\x34\x00\x00", 4);
	ck_assert(kdcom_type_matches_payload(KDCOM_TYPE_FILE_IO, p, 64));
	ck_assert(!kdcom_type_matches_payload(KDCOM_TYPE_FILE_IO, p, 63));
	ck_assert(!kdcom_type_matches_payload(KDCOM_TYPE_ACKNOWLEDGE, p, 64));
	memcpy(p, "\x30\x33\x00\x00", 4);
	ck_assert(kdcom_type_matches_payload(KDCOM_TYPE_TRACE_IO, p, 64));
	ck_assert(!kdcom_type_matches_payload(KDCOM_TYPE_TRACE_IO, p, 63));
	ck_assert_str_eq(kdcom_type_name(KDCOM_TYPE_STATE_CHANGE64), "STATE_CHANGE64");
}
END_TEST

/* ---- liveness ------------------------------------------------------------ */

struct session {
	unsigned requests_delivered, state_changes_seen;
	uint64_t delivered_at;
};

/* Both engines over an intact wire from `from` to `until`, as a stopped
 * kernel and a debugger session: the target's stub reports its state again
 * after a RESET (KdPacketNeedsResend), the debugger asks its request again
 * after each state change. */
static void pump_session(struct session *s, uint64_t from, uint64_t until)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_READ_VIRTUAL_MEMORY_API);
	struct dbgkd_any_wait_state_change sc = kd_test_tv12_state();
	static uint8_t bytes[2 * KDCOM_MAX_FRAME];
	struct kdcom_event ev[8];

	for (uint64_t now = from; now <= until; now++) {
		size_t n = kd_test_drain(&debugger, bytes, sizeof(bytes));
		unsigned count = feed(&target, bytes, n, now, ev, 8);
		for (unsigned i = 0; i < count; i++) {
			if (ev[i].kind == KDCOM_EVENT_PACKET) {
				s->requests_delivered++;
				s->delivered_at = now;
				kdcom_expect(&target, 0, 0, 0);
			} else if (ev[i].kind == KDCOM_EVENT_RESET && !kdcom_sending(&target)) {
				kdcom_send(&target, KDCOM_TYPE_STATE_CHANGE64, &sc, sizeof(sc), NULL, 0,
					   now);
			} else if (ev[i].kind == KDCOM_EVENT_SENT) {
				kdcom_expect(&target, KDCOM_TYPE_STATE_MANIPULATE, 0, KDCOM_MAX_PAYLOAD);
			}
		}
		n = kd_test_drain(&target, bytes, sizeof(bytes));
		count = feed(&debugger, bytes, n, now, ev, 8);
		for (unsigned i = 0; i < count; i++) {
			if (ev[i].kind != KDCOM_EVENT_PACKET || ev[i].type != KDCOM_TYPE_STATE_CHANGE64)
				continue;
			s->state_changes_seen++;
			if (!kdcom_sending(&debugger))
				kdcom_send(&debugger, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0,
					   now);
		}
		kdcom_tick(&target, now);
		kdcom_tick(&debugger, now);
	}
}

/* After one damaged control packet the session goes on: the debugger's
 * request arrives exactly once within 3 timeouts, and the ids agree. */
static void session_goes_on(struct session *s)
{
	pump_session(s, 1, 20 * TIMEOUT);
	ck_assert_uint_eq(s->requests_delivered, 1);
	ck_assert_uint_le(s->delivered_at, 3 * TIMEOUT);
	ck_assert_uint_eq(target.send_id & ~KDCOM_SYNC_ID, debugger.recv_id);
	ck_assert_uint_eq(target.recv_id, debugger.send_id);
}

/* Both sides past their first packet: ids ...1, so a side that restarts
 * its ids alone is out of step. */
static void ids_after_one_exchange(void)
{
	debugger.send_id = debugger.recv_id = KDCOM_INITIAL_ID | 1;
	target.send_id = target.recv_id = KDCOM_INITIAL_ID | 1;
}

/* The packet `from` has queued reaches `to` damaged; `to` asks for it again
 * with RESEND, and one byte of that RESEND's type is hit on the way back,
 * so `from` reads a RESET. Returns the events `from` reported. */
static unsigned resend_read_as_reset(struct kdcom *from, struct kdcom *to,
				     struct kdcom_event ev[4])
{
	static uint8_t frame[KDCOM_MAX_FRAME];
	struct kdcom_event ignored[4];
	uint8_t answer[16];
	size_t n = kd_test_drain(from, frame, sizeof(frame));

	frame[KDCOM_HEADER_SIZE + 24] ^= 0x10;
	ck_assert_uint_eq(feed(to, frame, n, 0, ignored, 4), 0);
	ck_assert_uint_eq(kd_test_drain(to, answer, sizeof(answer)), 16);
	ck_assert_mem_eq(answer, kd_test_tv3_resend, 16);
	answer[4] ^= KDCOM_TYPE_RESEND ^ KDCOM_TYPE_RESET;
	ck_assert_mem_eq(answer, kd_test_tv2_reset, 16);
	return feed(from, answer, sizeof(answer), 1, ev, 4);
}


/* The once-in-millions deadlock of the soak, step by step: the debugger's
 * request (id ...1) arrives damaged, the target's RESEND is hit so that it
 * reads as a RESET (control packets carry no checksum). Followed blindly,
 * the debugger restarts its ids alone, the target takes the request sent
 * again as a copy it has, acknowledges it without delivering it, and both
 * wait for ever. The debugger's watchdog RESET brings both ids back
 * together; the request arrives exactly once, within a few timeouts. */
START_TEST(a_resend_damaged_into_a_reset_does_not_stall_the_link)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_READ_VIRTUAL_MEMORY_API);
	struct session s = { 0 };
	struct kdcom_event ev[4];

	ids_after_one_exchange();
	kdcom_expect(&target, KDCOM_TYPE_STATE_MANIPULATE, 0, KDCOM_MAX_PAYLOAD);
	kdcom_send(&debugger, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 0);
	ck_assert_uint_eq(resend_read_as_reset(&debugger, &target, ev), 1);
	/* The request in flight is abandoned at once, not sent again. */
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_ABANDONED);

	session_goes_on(&s);
	ck_assert_uint_eq(debugger.stats.watchdog_resets, 1);
	ck_assert_uint_eq(s.state_changes_seen, 1);
}
END_TEST

/* Each RESET the debugger sent may be answered (a RESET sent again while
 * the first answer was on its way): those answers are followed, not taken
 * for the target's own; one beyond them, or after the answer window, is. */
START_TEST(answers_to_the_debuggers_own_resets_start_no_watchdog)
{
	struct kdcom_event ev[4];
	uint64_t window = debugger.config.reset_answer_window;

	ck_assert_uint_eq(window, 2 * TIMEOUT);
	kdcom_send_reset(&debugger, 0);
	kdcom_tick(&debugger, TIMEOUT); /* unanswered: sent again */
	kdcom_discard_output(&debugger);
	ck_assert_uint_eq(feed(&debugger, kd_test_tv2_reset, 16, TIMEOUT + 1, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_RESET);
	ck_assert(!kdcom_sending(&debugger));
	ck_assert_uint_eq(feed(&debugger, kd_test_tv2_reset, 16, TIMEOUT + 2, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_RESET);
	ck_assert(!kdcom_sending(&debugger));
	ck_assert_uint_eq(debugger.stats.watchdog_resets, 0);
	ck_assert_uint_eq(kd_test_drain(&debugger, NULL, 0), 0);

	/* A third answer to two RESETs is the target's own. */
	ck_assert_uint_eq(feed(&debugger, kd_test_tv2_reset, 16, TIMEOUT + 3, ev, 4), 0);
	ck_assert_uint_eq(debugger.stats.watchdog_resets, 1);
	ck_assert(kdcom_sending(&debugger));
	assert_output(&debugger, kd_test_tv2_reset, 16);

	/* An answer owed but late is no answer either. */
	setup();
	kdcom_send_reset(&debugger, 0);
	kdcom_tick(&debugger, TIMEOUT);
	ck_assert_uint_eq(feed(&debugger, kd_test_tv2_reset, 16, TIMEOUT + 1, ev, 4), 1);
	kdcom_discard_output(&debugger);
	ck_assert_uint_eq(feed(&debugger, kd_test_tv2_reset, 16, TIMEOUT + window + 1, ev, 4), 0);
	ck_assert_uint_eq(debugger.stats.watchdog_resets, 1);
}
END_TEST

/* The watchdog's RESET waits for its answer however long it takes (a
 * running target reads it only once it stops); a RESET the caller asked
 * for gives up after its retries, as any send. */
START_TEST(the_watchdog_reset_is_sent_until_it_is_answered)
{
	struct kdcom_event ev[4];
	uint64_t now = 1;

	ck_assert_uint_eq(feed(&debugger, kd_test_tv2_reset, 16, now, ev, 4), 0);
	assert_output(&debugger, kd_test_tv2_reset, 16);
	for (unsigned i = 0; i < 3 * debugger.config.retries; i++) {
		now += TIMEOUT;
		kdcom_tick(&debugger, now);
		ck_assert(!kdcom_next_event(&debugger, &ev[0]));
		assert_output(&debugger, kd_test_tv2_reset, 16);
	}
	ck_assert_uint_eq(feed(&debugger, kd_test_tv2_reset, 16, now + 1, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_RESET);
	ck_assert(!kdcom_sending(&debugger));

	kdcom_send_reset(&debugger, now);
	now += 1;
	ck_assert_uint_eq(time_out_until_event(&debugger, &now, ev, 100), 20);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_SEND_FAILED);
}
END_TEST


/* The other way round: the debugger's RESEND read as a RESET by the target,
 * which restarts its ids and answers. The debugger cannot tell that answer
 * from damage; its watchdog RESET puts both sides at the start together. */
START_TEST(a_resend_damaged_into_a_reset_at_the_target_resyncs_both)
{
	struct dbgkd_any_wait_state_change sc = kd_test_tv12_state();
	struct session s = { 0 };
	struct kdcom_event ev[4];

	ids_after_one_exchange();
	kdcom_send(&target, KDCOM_TYPE_STATE_CHANGE64, &sc, sizeof(sc), NULL, 0, 0);
	ck_assert_uint_eq(resend_read_as_reset(&target, &debugger, ev), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_RESET);

	session_goes_on(&s);
}
END_TEST

/* A wire-format limit, not an engine bug: a payload that ends in 0xAA with
 * one of its 0xAA bytes arriving twice shifts the rest by one; the last
 * payload byte is then read as the trailer (0xAA, as it should be) and the
 * byte sum is unchanged (0xAA in, the last 0xAA out). The packet is
 * delivered damaged; docs/kd-protocol.md 1.11. */
START_TEST(a_duplicated_0xaa_in_a_payload_ending_in_0xaa_passes_the_checksum)
{
	struct dbgkd_manipulate_state64 m = request(DBGKD_READ_VIRTUAL_MEMORY_API);
	uint8_t data[8] = { 1, 2, 0xaa, 3, 4, 5, 6, 0xaa };
	uint8_t frame[128], damaged[129];
	struct kdcom_event ev[4];

	kdcom_send(&debugger, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), data, sizeof(data), 0);
	size_t n = kd_test_drain(&debugger, frame, sizeof(frame));
	size_t at = KDCOM_HEADER_SIZE + sizeof(m) + 2; /* data[2], 0xaa */
	memcpy(damaged, frame, at + 1);
	memcpy(damaged + at + 1, frame + at, n - at);
	kdcom_expect(&target, KDCOM_TYPE_STATE_MANIPULATE, 0, KDCOM_MAX_PAYLOAD);
	ck_assert_uint_eq(feed(&target, damaged, n + 1, 0, ev, 4), 1);
	ck_assert_int_eq(ev[0].kind, KDCOM_EVENT_PACKET);
	ck_assert_uint_eq(ev[0].length, sizeof(m) + sizeof(data));
	ck_assert_mem_eq(ev[0].payload + sizeof(m), "\x01\x02\xaa\xaa\x03\x04\x05\x06", 8);
	ck_assert_uint_eq(target.stats.bad_checksums, 0);
}
END_TEST

BXKD_SUITE(kdcom,
	testcases_add_with(s, "vectors", 0, setup, NULL, TESTS(
		checksum_is_the_byte_sum, debugger_frames_get_version_as_tv5,
		debugger_frames_read_memory_as_tv6, first_target_packet_is_sync_flagged_as_tv8,
		target_takes_tv5_and_acknowledges_with_tv1, target_replies_match_tv7_and_tv11,
		target_frames_an_exception_state_change_as_tv12, control_vectors));
	testcases_add_with(s, "receive", 0, setup, NULL, TESTS(
		a_repeated_packet_is_acknowledged_again_but_not_delivered,
		a_wanted_packet_outside_the_expected_lengths_is_asked_for_again,
		damaged_frames_are_asked_for_again, garbage_and_broken_leaders_are_skipped,
		bytes_may_arrive_one_at_a_time, break_in_is_seen_between_packets,
		an_unwanted_type_is_acknowledged_and_dropped,
		a_target_waiting_for_nothing_leaves_packets_unacknowledged,
		malformed_control_packets_are_ignored, compensating_damage_is_beyond_the_checksum,
		types_agree_with_api_numbers));
	testcases_add_with(s, "send", 0, setup, NULL, TESTS(
		only_one_send_at_a_time_and_only_valid_packets,
		unacknowledged_packets_are_sent_again_on_time,
		a_resend_request_is_answered_at_once, no_debugger_exemptions,
		the_debugger_gives_up_after_its_retries, reset_restarts_numbering_and_resends,
		reset_abandons_a_manipulate_reply,
		reset_stops_input_so_stale_bytes_can_be_discarded,
		implicit_acknowledgement_only_by_a_new_packet,
		debugger_takes_a_reply_as_acknowledgement, debugger_follows_sync_but_not_a_copy));
	testcases_add_with(s, "liveness", 0, setup, NULL, TESTS(
		a_resend_damaged_into_a_reset_does_not_stall_the_link,
		answers_to_the_debuggers_own_resets_start_no_watchdog,
		the_watchdog_reset_is_sent_until_it_is_answered,
		a_resend_damaged_into_a_reset_at_the_target_resyncs_both,
		a_duplicated_0xaa_in_a_payload_ending_in_0xaa_passes_the_checksum));
)
