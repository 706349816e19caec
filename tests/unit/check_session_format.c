/*
 * check_session_format.c -- the session file (replay/session.h,
 * session_file.h): every kind of record built, decoded and read back the
 * same; every rule of the decoder; the builder's limits; every kind of
 * damage to a file refused with its record named and nothing handed out;
 * the writer refusing what the reader would refuse; the same session
 * written twice is the same file.
 *
 * Damaged files are written with libpcap directly (the writer would not
 * write them); good ones with the writer.
 */
#include "config.h"

#include <check.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bxkd/backdoor.h"
#include "fake_vcpu.h"
#include "recorder.h"
#include "session.h"
#include "session_builder.h"
#include "session_file.h"
#include "suites.h"
#include "testcases.h"

#define HEADER_SIZE SESSION_HEADER_SIZE
#define BACKDOOR_AT(member) (HEADER_SIZE + offsetof(struct session_backdoor, member))
/* The first access of the test backdoor record, and its bytes. */
#define ACCESS0_AT (HEADER_SIZE + sizeof(struct session_backdoor))
#define ACCESS0_DATA_AT (ACCESS0_AT + sizeof(struct session_access))
#define KD_PORT_AT(member) (HEADER_SIZE + offsetof(struct session_kd_port, member))
#define MAX_RECORDS 16
#define DLT_ETHERNET 1
#define FUZZ_ROUNDS 20000u

static char dir[64];
static char path[128];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/bxkd-session-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/session.pcap", dir);
}

static void remove_dir(void)
{
	char other[160];

	unlink(path);
	snprintf(other, sizeof(other), "%s/again.pcap", dir);
	unlink(other);
	rmdir(dir);
}

/* ---- records in memory ------------------------------------------------------------- */

/* A record built into its own buffer (the caller frees .data). */
static struct session_buffer text_record(enum session_kind kind, uint32_t sequence, uint64_t tick,
					 const char *text)
{
	struct session_buffer b = { 0 };

	session_begin(&b, kind, sequence, tick);
	session_append(&b, text, strlen(text));
	session_finish(&b);
	ck_assert(!b.failed);
	return b;
}

static const uint8_t access_bytes[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* A backdoor call with a read of 8 bytes and a failed write. */
static struct session_buffer backdoor_record(uint32_t sequence, uint64_t tick)
{
	struct session_buffer b = { 0 };
	struct session_backdoor call = { .port = BDOOR_PORT, .direction = 0, .cpl = 3,
					 .in_value = 6, .accesses = 2 };
	struct session_access read = { .address = 0x1000, .length = 8, .write = 0, .ok = 1 };
	struct session_access failed = { .address = 0xfffff000u, .length = 4, .write = 1, .ok = 0 };

	for (unsigned i = 0; i < SESSION_REGS; i++) {
		call.regs_in[i] = 0x100 + i;
		call.regs_out[i] = 0x200 + i;
	}
	session_begin(&b, SESSION_BACKDOOR, sequence, tick);
	session_append(&b, &call, sizeof(call));
	session_append(&b, &read, sizeof(read));
	session_append(&b, access_bytes, sizeof(access_bytes));
	session_append(&b, &failed, sizeof(failed));
	session_finish(&b);
	ck_assert(!b.failed);
	return b;
}

static const uint8_t kd_bytes[6] = { 0x46, 0x31, 0, 0, 0xaa, 0xbb };

static struct session_buffer kd_port_record(uint32_t sequence, uint64_t tick)
{
	struct session_buffer b = { 0 };
	struct session_kd_port call = { .op = SESSION_KD_RECEIVE, .result = 0, .packet_type = 2,
					.timeout_ms = 1000, .header_length = 4,
					.data_capacity = 16, .data_length = 2 };

	session_begin(&b, SESSION_KD_PORT, sequence, tick);
	session_append(&b, &call, sizeof(call));
	session_append(&b, kd_bytes, sizeof(kd_bytes));
	session_finish(&b);
	ck_assert(!b.failed);
	return b;
}

static struct session_buffer endpoint_record(uint32_t sequence, uint64_t tick, uint8_t event,
					     const char *bytes)
{
	struct session_buffer b = { 0 };
	struct session_endpoint e = { .event = event };

	session_begin(&b, SESSION_ENDPOINT, sequence, tick);
	session_append(&b, &e, sizeof(e));
	session_append(&b, bytes, strlen(bytes));
	session_finish(&b);
	ck_assert(!b.failed);
	return b;
}

static const char manifest_text[] =
	"format=bxkd-session\nbxkd_version=0.1.0\nimage=bxkd-guest.img\n"
	"image_sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	"boot_options=\nvmport=kd_command=18\nbochs_ips=4000000\nbochs_megs=32\n"
	"bochs_time0=946684800\nrecorded_utc=2026-01-02T03:04:05Z\nnote=caf\xc3\xa9\n";

/* Decodes, expecting a refusal whose message holds `want`. */
static void expect_refused(const uint8_t *bytes, size_t length, const char *want)
{
	struct session_record r;
	char error[256] = "";

	ck_assert_msg(!session_decode(bytes, length, &r, error, sizeof(error)),
		      "decoded a record that should be refused for '%s'", want);
	ck_assert_msg(strstr(error, want), "refused with '%s', expected '%s'", error, want);
}

static void expect_decodes(const uint8_t *bytes, size_t length, struct session_record *r)
{
	char error[256] = "";

	ck_assert_msg(session_decode(bytes, length, r, error, sizeof(error)), "refused: %s", error);
}

/* A test changed a field of a built record: its checksum made again, so
 * that the change itself is what the decoder sees. */
static void reseal(uint8_t *bytes, size_t length)
{
	session_renumber(bytes, length,
			 (uint32_t)bytes[8] | (uint32_t)bytes[9] << 8 | (uint32_t)bytes[10] << 16 |
				 (uint32_t)bytes[11] << 24);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

/* ---- decoding ------------------------------------------------------------------------ */

START_TEST(every_kind_decodes)
{
	struct session_record r;
	struct session_access a;
	const uint8_t *bytes;
	char value[128];

	struct session_buffer m = text_record(SESSION_MANIFEST, 0, 7, manifest_text);
	expect_decodes(m.data, m.length, &r);
	ck_assert_uint_eq(r.h.magic, SESSION_MAGIC);
	ck_assert_uint_eq(r.h.version, SESSION_VERSION);
	ck_assert_uint_eq(r.h.kind, SESSION_MANIFEST);
	ck_assert_uint_eq(r.h.tick, 7);
	ck_assert_uint_eq(r.h.length, strlen(manifest_text));
	ck_assert_uint_eq(r.u.text.text_length, strlen(manifest_text));
	ck_assert(session_text_value(&r, "image", value, sizeof(value)));
	ck_assert_str_eq(value, "bxkd-guest.img");
	ck_assert(session_text_value(&r, "boot_options", value, sizeof(value)));
	ck_assert_str_eq(value, "");
	ck_assert(session_text_value(&r, "note", value, sizeof(value))); /* UTF-8 passes */
	ck_assert_str_eq(value, "caf\xc3\xa9");
	session_buffer_free(&m);

	struct session_buffer b = backdoor_record(1, 0x123456789ull);
	expect_decodes(b.data, b.length, &r);
	ck_assert_uint_eq(r.h.sequence, 1);
	ck_assert_uint_eq(r.h.tick, 0x123456789ull);
	ck_assert_uint_eq(r.u.backdoor.fixed.port, BDOOR_PORT);
	ck_assert_uint_eq(r.u.backdoor.fixed.cpl, 3);
	ck_assert_uint_eq(r.u.backdoor.fixed.in_value, 6);
	ck_assert_uint_eq(r.u.backdoor.fixed.regs_in[SESSION_EDI], 0x106);
	ck_assert_uint_eq(r.u.backdoor.fixed.regs_out[SESSION_EBX], 0x203);
	ck_assert_uint_eq(r.u.backdoor.fixed.accesses, 2);
	ck_assert(session_backdoor_access(&r, 0, &a, &bytes));
	ck_assert_uint_eq(a.address, 0x1000);
	ck_assert_uint_eq(a.length, 8);
	ck_assert(a.ok && !a.write);
	ck_assert_mem_eq(bytes, access_bytes, sizeof(access_bytes));
	ck_assert(session_backdoor_access(&r, 1, &a, &bytes));
	ck_assert_uint_eq(a.address, 0xfffff000u);
	ck_assert(!a.ok && a.write);
	ck_assert_ptr_null(bytes);
	ck_assert(!session_backdoor_access(&r, 2, &a, &bytes));
	ck_assert(!session_text_value(&r, "image", value, sizeof(value)));
	session_buffer_free(&b);

	struct session_buffer k = kd_port_record(2, 9);
	expect_decodes(k.data, k.length, &r);
	ck_assert_uint_eq(r.u.kd_port.fixed.op, SESSION_KD_RECEIVE);
	ck_assert_uint_eq(r.u.kd_port.fixed.timeout_ms, 1000);
	ck_assert_uint_eq(r.u.kd_port.fixed.data_capacity, 16);
	ck_assert_mem_eq(r.u.kd_port.bytes, kd_bytes, sizeof(kd_bytes));
	ck_assert(!session_backdoor_access(&r, 0, &a, &bytes));
	session_buffer_free(&k);

	struct session_buffer e = endpoint_record(3, 10, KD_ENDPOINT_TO_TARGET, "0000");
	expect_decodes(e.data, e.length, &r);
	ck_assert_uint_eq(r.u.endpoint.fixed.event, KD_ENDPOINT_TO_TARGET);
	ck_assert_uint_eq(r.u.endpoint.length, 4);
	ck_assert_mem_eq(r.u.endpoint.bytes, "0000", 4);
	session_buffer_free(&e);

	struct session_buffer a2 = endpoint_record(4, 11, KD_ENDPOINT_ATTACHED, "");
	expect_decodes(a2.data, a2.length, &r);
	ck_assert_uint_eq(r.u.endpoint.length, 0);
	session_buffer_free(&a2);

	struct session_buffer end = text_record(SESSION_END, 5, 12, "records=6\n");
	expect_decodes(end.data, end.length, &r);
	ck_assert(session_text_value(&r, "records", value, sizeof(value)));
	ck_assert_str_eq(value, "6");
	session_buffer_free(&end);
}
END_TEST

START_TEST(the_header_is_checked)
{
	struct session_buffer b = text_record(SESSION_END, 0, 0, "a=b\n");

	expect_refused(b.data, 5, "shorter than its 28-byte header");
	expect_refused(b.data, 7, "shorter than its 28-byte header");
	expect_refused(b.data, HEADER_SIZE - 1, "shorter than its 28-byte header");

	b.data[0] ^= 0x20;
	expect_refused(b.data, b.length, "magic is 0x534b5862, not 0x534b5842");
	b.data[0] ^= 0x20;

	/* A newer version is refused for that, however short the record. */
	put16(b.data + 4, SESSION_VERSION + 1);
	expect_refused(b.data, b.length, "version 3, newer than version 2");
	expect_refused(b.data, 8, "version 3, newer than version 2");
	put16(b.data + 4, 0);
	expect_refused(b.data, b.length, "version is 0");
	put16(b.data + 4, SESSION_VERSION);

	put16(b.data + 6, 9);
	expect_refused(b.data, b.length, "kind 9 is unknown");
	put16(b.data + 6, SESSION_END);

	put32(b.data + 12, 5);
	expect_refused(b.data, b.length, "the header says 5 payload bytes, but 4 follow it (its "
					 "length runs past the end)");
	put32(b.data + 12, 3);
	expect_refused(b.data, b.length, "the header says 3 payload bytes, but 4 follow it");
	put32(b.data + 12, 4);

	struct session_record r;
	expect_decodes(b.data, b.length, &r);
	session_buffer_free(&b);

	/* One byte over the limit, whatever it is. */
	size_t over = SESSION_RECORD_MAX + 1;
	uint8_t *big = calloc(1, over);
	ck_assert_ptr_nonnull(big);
	struct session_buffer h = text_record(SESSION_ENDPOINT, 0, 0, "");
	memcpy(big, h.data, HEADER_SIZE);
	put32(big + 12, (uint32_t)(over - HEADER_SIZE));
	expect_refused(big, over, "over the 262144-byte limit");
	free(big);
	session_buffer_free(&h);
}
END_TEST

START_TEST(a_backdoor_call_is_checked)
{
	struct session_buffer b = backdoor_record(1, 1);
	struct session_record r;

	/* Fields with few values. */
	put16(b.data + BACKDOOR_AT(port), 0x80);
	expect_refused(b.data, b.length, "port 0x0080 is not a backdoor port");
	put16(b.data + BACKDOOR_AT(port), BDOOR_PORT_HB);
	reseal(b.data, b.length);
	expect_decodes(b.data, b.length, &r);
	b.data[BACKDOOR_AT(direction)] = 2;
	expect_refused(b.data, b.length, "direction 2");
	b.data[BACKDOOR_AT(direction)] = 1;
	b.data[BACKDOOR_AT(cpl)] = 4;
	expect_refused(b.data, b.length, "CPL 4 is over 3");
	b.data[BACKDOOR_AT(cpl)] = 0;
	b.data[BACKDOOR_AT(string_op_done)] = 2;
	expect_refused(b.data, b.length, "string_op_done 2");
	b.data[BACKDOOR_AT(string_op_done)] = 1;
	b.data[BACKDOOR_AT(pad)] = 1;
	expect_refused(b.data, b.length, "padding after string_op_done");
	b.data[BACKDOOR_AT(pad)] = 0;
	reseal(b.data, b.length);
	expect_decodes(b.data, b.length, &r);

	/* The access list must walk exactly to the end. */
	put32(b.data + BACKDOOR_AT(accesses), 3);
	expect_refused(b.data, b.length, "access 2 of 3 is cut off: 0 bytes are left");
	put32(b.data + BACKDOOR_AT(accesses), 1);
	expect_refused(b.data, b.length, "16 bytes follow the last of its 1 accesses");
	put32(b.data + BACKDOOR_AT(accesses), 2);
	put32(b.data + ACCESS0_AT + 8, 9); /* one byte more than there is before the next */
	expect_refused(b.data, b.length, "access 1 of 2 is cut off: 15 bytes are left");
	put32(b.data + ACCESS0_AT + 8, 40);
	expect_refused(b.data, b.length, "access 0's 40 bytes run past the end of the record "
					 "(24 left)");
	put32(b.data + ACCESS0_AT + 8, SESSION_RECORD_MAX + 1);
	expect_refused(b.data, b.length, "access 0 claims 262145 bytes, over the 262144-byte");
	put32(b.data + ACCESS0_AT + 8, 8);
	b.data[ACCESS0_AT + 12] = 2;
	expect_refused(b.data, b.length, "access 0 has write=2 ok=1");
	b.data[ACCESS0_AT + 12] = 0;
	b.data[ACCESS0_AT + 13] = 3;
	expect_refused(b.data, b.length, "access 0 has write=0 ok=3");
	b.data[ACCESS0_AT + 13] = 1;
	b.data[ACCESS0_AT + 15] = 1;
	expect_refused(b.data, b.length, "access 0's padding is not zero");
	b.data[ACCESS0_AT + 15] = 0;
	/* A failed access has no bytes: marked failed, the read's 8 bytes are
	 * taken for the next access's header, which then claims nonsense. */
	b.data[ACCESS0_AT + 13] = 0;
	expect_refused(b.data, b.length, "access 1 claims 4294963200 bytes");
	b.data[ACCESS0_AT + 13] = 1;
	reseal(b.data, b.length);
	expect_decodes(b.data, b.length, &r);

	/* Shorter than the fixed part. */
	put32(b.data + 12, sizeof(struct session_backdoor) - 1);
	expect_refused(b.data, HEADER_SIZE + sizeof(struct session_backdoor) - 1,
		       "BACKDOOR payload of 71 bytes is shorter than the 72-byte fixed part");
	session_buffer_free(&b);
}
END_TEST

START_TEST(a_kd_port_call_is_checked)
{
	struct session_buffer k = kd_port_record(2, 2);
	struct session_record r;

	put32(k.data + KD_PORT_AT(data_length), 3);
	expect_refused(k.data, k.length, "its receive of header_length 4 + data_length 3 carries "
					 "6 bytes after the fixed part, not 7");
	put32(k.data + KD_PORT_AT(data_length), 2);
	put32(k.data + KD_PORT_AT(data_capacity), 1);
	expect_refused(k.data, k.length, "brought 2 data bytes into room for 1");
	put32(k.data + KD_PORT_AT(data_capacity), 16);
	k.data[KD_PORT_AT(op)] = 9;
	expect_refused(k.data, k.length, "operation 9 is unknown");
	k.data[KD_PORT_AT(op)] = SESSION_KD_SEND;
	reseal(k.data, k.length);
	expect_decodes(k.data, k.length, &r); /* a send's capacity means nothing */
	k.data[KD_PORT_AT(result)] = 9;
	expect_refused(k.data, k.length, "its send result 9 is unknown");
	k.data[KD_PORT_AT(result)] = 0;
	k.data[KD_PORT_AT(op)] = SESSION_KD_POLL_BREAKIN;
	expect_refused(k.data, k.length, "its poll_breakin call claims packet bytes");
	session_buffer_free(&k);

	/* A receive that got nothing keeps the sizes it asked, no bytes. */
	struct session_kd_port timed_out = { .op = SESSION_KD_RECEIVE, .result = 1,
					     .packet_type = 2, .timeout_ms = 1000,
					     .header_length = 56, .data_capacity = 4096 };
	struct session_buffer t = { 0 };
	session_begin(&t, SESSION_KD_PORT, 1, 1);
	session_append(&t, &timed_out, sizeof(timed_out));
	session_finish(&t);
	expect_decodes(t.data, t.length, &r);
	ck_assert_uint_eq(session_kd_port_bytes(&r.u.kd_port.fixed), 0);
	put32(t.data + KD_PORT_AT(data_length), 8);
	expect_refused(t.data, t.length, "its receive that got nothing (result 1) claims 8 data "
					 "bytes");
	session_buffer_free(&t);

	struct session_kd_port poll = { .op = SESSION_KD_DEBUGGER_ATTACHED, .result = 1 };
	struct session_buffer p = { 0 };
	session_begin(&p, SESSION_KD_PORT, 1, 1);
	session_append(&p, &poll, sizeof(poll));
	session_finish(&p);
	expect_decodes(p.data, p.length, &r);
	ck_assert_uint_eq(r.u.kd_port.fixed.result, 1);
	p.data[KD_PORT_AT(result)] = 2;
	expect_refused(p.data, p.length, "its debugger_attached result 2 is neither 0 nor 1");
	put32(p.data + 12, sizeof(poll) - 1);
	expect_refused(p.data, p.length - 1, "KD_PORT payload of 19 bytes is shorter");
	session_buffer_free(&p);
}
END_TEST

START_TEST(an_endpoint_event_is_checked)
{
	struct session_buffer e = endpoint_record(1, 1, KD_ENDPOINT_DETACHED, "x");
	struct session_record r;

	expect_refused(e.data, e.length, "its detached event carries 1 bytes");
	e.data[HEADER_SIZE] = KD_ENDPOINT_TO_DEBUGGER;
	reseal(e.data, e.length);
	expect_decodes(e.data, e.length, &r);
	e.data[HEADER_SIZE] = 7;
	expect_refused(e.data, e.length, "endpoint event 7 is unknown");
	e.data[HEADER_SIZE] = KD_ENDPOINT_TO_DEBUGGER;
	e.data[HEADER_SIZE + 2] = 1;
	expect_refused(e.data, e.length, "padding after the event");
	e.data[HEADER_SIZE + 2] = 0;
	put32(e.data + 12, 3);
	expect_refused(e.data, HEADER_SIZE + 3, "ENDPOINT payload of 3 bytes is shorter");
	session_buffer_free(&e);
}
END_TEST

START_TEST(text_is_key_value_lines)
{
	static const struct {
		const char *text;
		const char *error; /* NULL: accepted */
	} cases[] = {
		{ "", NULL },
		{ "a=\n", NULL },
		{ "a=b=c\nd=e\n", NULL },
		{ "a=caf\xc3\xa9 \xff\n", NULL },
		{ "a=b", "text line 1 does not end in a newline" },
		{ "a=b\nc=d", "text line 2 does not end in a newline" },
		{ "a=b\n\n", "text line 2 is not of the form key=value" },
		{ "a=b\nnokey\n", "text line 2 is not of the form key=value" },
		{ "=b\n", "text line 1 has an empty key" },
		{ "a=b\tc\n", "text line 1 holds the control byte 0x09" },
		{ "a=b\r\n", "text line 1 holds the control byte 0x0d" },
		{ "a=\x7f\n", "text line 1 holds the control byte 0x7f" },
	};
	struct session_record r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int kind = SESSION_MANIFEST; kind <= SESSION_END; kind += SESSION_END - 1) {
			struct session_buffer b = text_record(kind, 0, 0, cases[i].text);
			if (cases[i].error)
				expect_refused(b.data, b.length, cases[i].error);
			else
				expect_decodes(b.data, b.length, &r);
			session_buffer_free(&b);
		}
	}

	/* A NUL inside (strlen would stop at it). */
	struct session_buffer b = { 0 };
	session_begin(&b, SESSION_MANIFEST, 0, 0);
	session_append(&b, "a=b\0c\n", 6);
	session_finish(&b);
	expect_refused(b.data, b.length, "text line 1 holds a NUL byte");
	session_buffer_free(&b);
}
END_TEST

START_TEST(text_values_by_key)
{
	struct session_buffer b = text_record(SESSION_MANIFEST, 0, 0,
					      "image_sha256=abc\nimage=disk.img\nempty=\nx=1\nx=2\n");
	struct session_record r;
	char value[16];

	expect_decodes(b.data, b.length, &r);
	ck_assert(session_text_value(&r, "image", value, sizeof(value)));
	ck_assert_str_eq(value, "disk.img");
	ck_assert(session_text_value(&r, "image_sha256", value, sizeof(value)));
	ck_assert_str_eq(value, "abc");
	ck_assert(session_text_value(&r, "empty", value, sizeof(value)));
	ck_assert_str_eq(value, "");
	ck_assert(session_text_value(&r, "x", value, sizeof(value)));
	ck_assert_str_eq(value, "1"); /* the first */
	ck_assert(!session_text_value(&r, "imag", value, sizeof(value)));
	ck_assert(!session_text_value(&r, "missing", value, sizeof(value)));
	ck_assert(!session_text_value(&r, "image", value, 8)); /* "disk.img" needs 9 */
	ck_assert(session_text_value(&r, "image", value, 9));
	session_buffer_free(&b);
}
END_TEST

START_TEST(the_builder_keeps_to_the_limit)
{
	struct session_buffer b = { 0 };
	static uint8_t filler[SESSION_RECORD_MAX];
	struct session_record r;

	/* Exactly the limit: an endpoint record with all the bytes it can take. */
	struct session_endpoint e = { .event = KD_ENDPOINT_TO_DEBUGGER };
	session_begin(&b, SESSION_ENDPOINT, 3, 4);
	session_append(&b, &e, sizeof(e));
	session_append(&b, filler, SESSION_RECORD_MAX - HEADER_SIZE - sizeof(e));
	session_finish(&b);
	ck_assert(!b.failed);
	ck_assert_uint_eq(b.length, SESSION_RECORD_MAX);
	expect_decodes(b.data, b.length, &r);
	ck_assert_uint_eq(r.h.length, SESSION_RECORD_MAX - HEADER_SIZE);

	/* One byte more fails, and stays failed until the next record. */
	session_append(&b, filler, 1);
	ck_assert(b.failed);
	session_append(&b, NULL, 0);
	session_finish(&b);
	ck_assert(b.failed);
	session_begin(&b, SESSION_END, 5, 6);
	ck_assert(!b.failed);
	ck_assert_uint_eq(b.length, HEADER_SIZE);
	session_finish(&b);
	expect_decodes(b.data, b.length, &r);
	ck_assert_uint_eq(r.h.sequence, 5);
	ck_assert_uint_eq(r.h.tick, 6);
	ck_assert_uint_eq(r.h.length, 0);
	session_buffer_free(&b);
	ck_assert_ptr_null(b.data);

	/* A finish without a begin is a failure, not a record. */
	session_finish(&b);
	ck_assert(b.failed);
	session_buffer_free(&b);
}
END_TEST

/* Damage anywhere: whatever the decoder accepts must walk cleanly (under
 * valgrind or a sanitizer an overrun shows here). */
START_TEST(random_damage_never_overruns)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	struct session_buffer good[4];
	size_t accepted = 0;

	good[0] = text_record(SESSION_MANIFEST, 0, 1, manifest_text);
	good[1] = backdoor_record(1, 2);
	good[2] = kd_port_record(2, 3);
	good[3] = endpoint_record(3, 4, KD_ENDPOINT_TO_TARGET, "0000abcd");
	for (unsigned round = 0; round < FUZZ_ROUNDS; round++) {
		const struct session_buffer *g = &good[round % 4];
		uint8_t *copy = malloc(g->length);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, g->data, g->length);
		size_t length = g->length;
		for (int flips = 1 + (int)(round % 3); flips > 0; flips--) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			copy[rng % length] ^= (uint8_t)(1u << (rng >> 32) % 8);
		}
		if (round % 5 == 0)
			length -= rng % length;
		/* An exact-size copy, so that a read past it is caught. */
		uint8_t *exact = malloc(length ? length : 1);
		memcpy(exact, copy, length);
		struct session_record r;
		char error[256], value[64];
		if (session_decode(exact, length, &r, error, sizeof(error))) {
			struct session_access a;
			const uint8_t *bytes;
			uint32_t sum = 0;
			/* The checksum lets only flips that undid each other through. */
			ck_assert_uint_eq(length, g->length);
			ck_assert_mem_eq(exact, g->data, length);
			accepted++;
			for (uint32_t i = 0; session_backdoor_access(&r, i, &a, &bytes); i++)
				for (uint32_t j = 0; bytes && j < a.length; j++)
					sum += bytes[j];
			session_text_value(&r, "image", value, sizeof(value));
			(void)sum;
		} else {
			ck_assert_uint_gt(strlen(error), 10);
		}
		free(exact);
		free(copy);
	}
	ck_assert_uint_lt(accepted, 20000 / 50);
	for (int i = 0; i < 4; i++)
		session_buffer_free(&good[i]);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(session_kind_name(SESSION_MANIFEST), "manifest");
	ck_assert_str_eq(session_kind_name(SESSION_BACKDOOR), "backdoor");
	ck_assert_str_eq(session_kind_name(SESSION_KD_PORT), "kd_port");
	ck_assert_str_eq(session_kind_name(SESSION_ENDPOINT), "endpoint");
	ck_assert_str_eq(session_kind_name(SESSION_END), "end");
	ck_assert_str_eq(session_kind_name(0), "unknown");
	ck_assert_str_eq(session_kd_op_name(SESSION_KD_SEND), "send");
	ck_assert_str_eq(session_kd_op_name(SESSION_KD_RECEIVE), "receive");
	ck_assert_str_eq(session_kd_op_name(SESSION_KD_POLL_BREAKIN), "poll_breakin");
	ck_assert_str_eq(session_kd_op_name(SESSION_KD_DEBUGGER_PRESENT), "debugger_present");
	ck_assert_str_eq(session_kd_op_name(SESSION_KD_DEBUGGER_ATTACHED), "debugger_attached");
	ck_assert_str_eq(session_kd_op_name(0), "unknown");
	ck_assert_str_eq(session_endpoint_event_name(KD_ENDPOINT_TO_DEBUGGER), "to_debugger");
	ck_assert_str_eq(session_endpoint_event_name(KD_ENDPOINT_TO_TARGET), "to_target");
	ck_assert_str_eq(session_endpoint_event_name(KD_ENDPOINT_ATTACHED), "attached");
	ck_assert_str_eq(session_endpoint_event_name(KD_ENDPOINT_DETACHED), "detached");
	ck_assert_str_eq(session_endpoint_event_name(9), "unknown");
}
END_TEST

/* ---- files ----------------------------------------------------------------------------- */

/* A session of one record of each kind, kept in memory to write in any way. */
struct raw_session {
	struct session_buffer records[MAX_RECORDS];
	size_t count;
};

static void raw_valid(struct raw_session *s)
{
	memset(s, 0, sizeof(*s));
	s->records[s->count++] = text_record(SESSION_MANIFEST, 0, 0, manifest_text);
	s->records[s->count++] = backdoor_record(1, 4000000); /* one emulated second */
	s->records[s->count++] = kd_port_record(2, 4000001);
	s->records[s->count++] = endpoint_record(3, 6000000, KD_ENDPOINT_TO_DEBUGGER, "iiii");
	s->records[s->count++] =
		text_record(SESSION_END, 4, 6000001,
			    "records=5\nbackdoor_calls=1\nkd_port_calls=1\nendpoint_records=1\n");
}

static void raw_free(struct raw_session *s)
{
	for (size_t i = 0; i < s->count; i++)
		session_buffer_free(&s->records[i]);
	s->count = 0;
}

/* Record i's tick, from its own header. */
static uint64_t record_tick(const struct session_buffer *b)
{
	uint64_t tick = 0;

	for (int i = 7; i >= 0; i--)
		tick = tick << 8 | b->data[16 + i];
	return tick;
}

static void raw_remove(struct raw_session *s, size_t index)
{
	session_buffer_free(&s->records[index]);
	memmove(&s->records[index], &s->records[index + 1],
		(s->count - index - 1) * sizeof(s->records[0]));
	s->count--;
}

/* Writes with libpcap directly, checking nothing; record `short_index`
 * (if below count) is stored with caplen one byte short of its length. */
static void raw_write_cut(const struct raw_session *s, int linktype, size_t short_index)
{
	pcap_t *dead = pcap_open_dead(linktype, SESSION_RECORD_MAX);
	pcap_dumper_t *d = pcap_dump_open(dead, path);

	ck_assert_ptr_nonnull(d);
	for (size_t i = 0; i < s->count; i++) {
		struct pcap_pkthdr h = { 0 };
		h.ts.tv_sec = (time_t)(record_tick(&s->records[i]) / SB_IPS);
		h.caplen = h.len = (bpf_u_int32)s->records[i].length;
		if (i == short_index)
			h.caplen--;
		pcap_dump((u_char *)d, &h, s->records[i].data);
	}
	pcap_dump_close(d);
	pcap_close(dead);
}

static void raw_write(const struct raw_session *s)
{
	raw_write_cut(s, SESSION_LINKTYPE, SIZE_MAX);
}

/* Reading `path` must fail with `want` in the reason and hand out nothing. */
static void expect_unreadable(const char *want)
{
	struct session_file file;
	char error[512] = "";

	memset(&file, 0x5a, sizeof(file));
	ck_assert_msg(!session_file_read(path, &file, error, sizeof(error)),
		      "read a file that should be refused for '%s'", want);
	ck_assert_msg(strstr(error, want), "refused with '%s', expected '%s'", error, want);
	ck_assert_ptr_null(file.records);
	ck_assert_ptr_null(file.bytes);
	ck_assert_uint_eq(file.count, 0);
}

static void read_ok(struct session_file *file)
{
	char error[512] = "";

	ck_assert_msg(session_file_read(path, file, error, sizeof(error)), "refused: %s", error);
}

START_TEST(a_session_reads_back_as_written)
{
	struct raw_session s;
	struct session_file file;
	char error[256], value[64];

	raw_valid(&s);
	struct session_writer *w = session_writer_open(path, SB_IPS, error, sizeof(error));
	ck_assert_msg(w, "%s", error);
	for (size_t i = 0; i < s.count; i++)
		ck_assert(session_writer_write(w, s.records[i].data, s.records[i].length,
					       record_tick(&s.records[i])));
	ck_assert_msg(session_writer_close(w, error, sizeof(error)), "%s", error);

	read_ok(&file);
	ck_assert_uint_eq(file.count, s.count);
	for (size_t i = 0; i < s.count; i++) {
		const struct session_record *r = &file.records[i];
		ck_assert_uint_eq(r->h.sequence, i);
		ck_assert_uint_eq(HEADER_SIZE + r->h.length, s.records[i].length);
		ck_assert_mem_eq(r->payload, s.records[i].data + HEADER_SIZE, r->h.length);
		ck_assert_mem_eq(r->payload - HEADER_SIZE, s.records[i].data, s.records[i].length);
	}
	ck_assert_uint_eq(file.records[1].u.backdoor.fixed.regs_out[SESSION_EAX], 0x200);
	ck_assert(session_file_manifest(&file, "bochs_ips", value, sizeof(value)));
	ck_assert_str_eq(value, "4000000");
	ck_assert(!session_file_manifest(&file, "records", value, sizeof(value)));
	session_file_free(&file);
	ck_assert_ptr_null(file.records);

	/* The timestamps are emulated time: tick / ips. */
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, errbuf);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(pcap_datalink(p), SESSION_LINKTYPE);
	ck_assert_int_eq(pcap_snapshot(p), SESSION_RECORD_MAX);
	static const long seconds[] = { 0, 1, 1, 1, 1 };
	static const long microseconds[] = { 0, 0, 0, 500000, 500000 };
	struct pcap_pkthdr *h;
	const u_char *data;
	for (size_t i = 0; pcap_next_ex(p, &h, &data) == 1; i++) {
		ck_assert_int_eq(h->ts.tv_sec, seconds[i]);
		ck_assert_int_eq(h->ts.tv_usec, microseconds[i]);
	}
	pcap_close(p);
	raw_free(&s);
}
END_TEST

static void write_exchange(const char *to)
{
	struct session_builder b;

	ck_assert_msg(sb_open(&b, to), "%s", b.error);
	sb_manifest(&b, 0, NULL);
	sb_kd_exchange(&b, 1000);
	ck_assert_msg(sb_finish(&b, 9000), "%s", b.error);
}

static char *slurp(const char *file, size_t *length)
{
	FILE *f = fopen(file, "rb");
	char *data = NULL;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	*length = (size_t)ftell(f);
	rewind(f);
	data = malloc(*length + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, *length, f), *length);
	fclose(f);
	return data;
}

START_TEST(the_same_session_makes_the_same_file)
{
	char again[160];
	size_t n1, n2;
	struct session_file file;

	snprintf(again, sizeof(again), "%s/again.pcap", dir);
	write_exchange(path);
	write_exchange(again);
	char *one = slurp(path, &n1), *two = slurp(again, &n2);
	ck_assert_uint_eq(n1, n2);
	ck_assert_mem_eq(one, two, n1);
	free(one);
	free(two);

	/* And what the test builder makes is a good session. */
	read_ok(&file);
	ck_assert_uint_gt(file.count, 20);
	ck_assert_uint_eq(file.records[file.count - 1].h.kind, SESSION_END);
	session_file_free(&file);
}
END_TEST

START_TEST(an_end_needs_only_the_record_count)
{
	struct raw_session s;
	struct session_file file;

	raw_valid(&s);
	session_buffer_free(&s.records[4]);
	s.records[4] = text_record(SESSION_END, 4, 6000001, "records=5\nreason=shutdown\n");
	raw_write(&s);
	read_ok(&file);
	ck_assert_uint_eq(file.count, 5);
	session_file_free(&file);
	raw_free(&s);
}
END_TEST

START_TEST(a_record_of_the_largest_size_reads_back)
{
	struct raw_session s;
	struct session_file file;
	struct session_endpoint e = { .event = KD_ENDPOINT_TO_DEBUGGER };
	static uint8_t filler[SESSION_RECORD_MAX];

	raw_valid(&s);
	struct session_buffer *big = &s.records[3];
	session_begin(big, SESSION_ENDPOINT, 3, 6000000);
	session_append(big, &e, sizeof(e));
	memset(filler, '0', sizeof(filler));
	session_append(big, filler, SESSION_RECORD_MAX - HEADER_SIZE - sizeof(e));
	session_finish(big);
	ck_assert(!big->failed);
	raw_write(&s);
	read_ok(&file);
	ck_assert_uint_eq(file.records[3].u.endpoint.length,
			  SESSION_RECORD_MAX - HEADER_SIZE - sizeof(e));
	session_file_free(&file);
	raw_free(&s);
}
END_TEST

/* A good session with one record replaced by a text record the reader
 * refuses, and why. */
static const struct {
	size_t index;
	enum session_kind kind;
	uint64_t tick;
	const char *text;
	const char *message;
} replaced[] = {
	{ 2, SESSION_END, 4000001, "records=3\n", "record 2 is an END, but 2 records follow it" },
	{ 2, SESSION_MANIFEST, 4000001, manifest_text, "record 2 is a second MANIFEST" },
	{ 4, SESSION_END, 6000001,
	  "records=5\nbackdoor_calls=2\nkd_port_calls=1\nendpoint_records=1\n",
	  "record 4 (end) counts backdoor_calls=2 but the file holds 1" },
	{ 4, SESSION_END, 6000001, "backdoor_calls=1\n",
	  "record 4 (end) lacks the key records, which every session has" },
	{ 4, SESSION_END, 6000001, "records=4\n",
	  "record 4 (end) counts records=4 but the file holds 5" },
	{ 0, SESSION_MANIFEST, 0, "format=bxkd-session\n",
	  "record 0 (manifest) lacks the key bxkd_version" },
	{ 0, SESSION_MANIFEST, 0,
	  "format=bxkd-session\nbxkd_version=0.1.0\nimage=a\n"
	  "image_sha256=b\nboot_options=\nvmport=\nbochs_ips=4000000\n"
	  "bochs_megs=32\nbochs_time0=0\nrecorded_utc=x\nimage=c\n",
	  "record 0 (manifest) repeats the key image" },
	{ 0, SESSION_MANIFEST, 0,
	  "format=bxkd-session\nbxkd_version=0.1.0\nimage=a\n"
	  "image_sha256=b\nboot_options=\nvmport=\nbochs_ips=fast\n"
	  "bochs_megs=32\nbochs_time0=0\nrecorded_utc=x\n",
	  "record 0 (manifest) has bochs_ips=fast, not a count" },
};

START_TEST(damage_is_refused)
{
	struct raw_session s;

	/* Each case starts from the good session and breaks one thing. */
	raw_valid(&s);
	s.records[2].data[1] ^= 0xff;
	raw_write(&s);
	expect_unreadable("record 2 is damaged: the record's magic is 0x534ba742");
	raw_free(&s);

	raw_valid(&s);
	put16(s.records[1].data + 4, SESSION_VERSION + 1);
	raw_write(&s);
	expect_unreadable("record 1 is damaged: the record is of session format version 3, "
			  "newer than version 2");
	raw_free(&s);

	raw_valid(&s);
	put32(s.records[2].data + 12, (uint32_t)(s.records[2].length - HEADER_SIZE + 1));
	raw_write(&s);
	expect_unreadable("record 2 is damaged: the header says 27 payload bytes, but 26 follow "
			  "it (its length runs past the end)");
	raw_free(&s);

	raw_valid(&s);
	put32(s.records[1].data + BACKDOOR_AT(accesses), 3);
	raw_write(&s);
	expect_unreadable("record 1 is damaged: access 2 of 3 is cut off");
	raw_free(&s);

	raw_valid(&s);
	session_renumber(s.records[2].data, s.records[2].length, 3);
	session_renumber(s.records[3].data, s.records[3].length, 4);
	session_renumber(s.records[4].data, s.records[4].length, 5);
	raw_write(&s);
	expect_unreadable("record 2 has sequence number 3: 1 records before it are missing");
	raw_free(&s);

	raw_valid(&s);
	session_renumber(s.records[2].data, s.records[2].length, 1);
	raw_write(&s);
	expect_unreadable("record 2 has sequence number 1 where 2 was due");
	raw_free(&s);

	raw_valid(&s);
	raw_remove(&s, 0);
	for (size_t i = 0; i < s.count; i++)
		session_renumber(s.records[i].data, s.records[i].length, (uint32_t)i);
	raw_write(&s);
	expect_unreadable("record 0 (backdoor) is not the MANIFEST a session starts with");
	raw_free(&s);

	raw_valid(&s);
	raw_remove(&s, 4);
	raw_write(&s);
	expect_unreadable("ends after record 3 (endpoint) without the END record: the recording "
			  "was cut off");
	raw_free(&s);

	raw_valid(&s);
	s.records[2].data[6] = SESSION_END;
	s.records[2].data[7] = 0;
	raw_write(&s);
	expect_unreadable("record 2 is damaged: text line 1 holds the control byte");
	raw_free(&s);

	for (size_t i = 0; i < sizeof(replaced) / sizeof(*replaced); i++) {
		raw_valid(&s);
		session_buffer_free(&s.records[replaced[i].index]);
		s.records[replaced[i].index] =
			text_record(replaced[i].kind, (uint32_t)replaced[i].index, replaced[i].tick,
				    replaced[i].text);
		raw_write(&s);
		expect_unreadable(replaced[i].message);
		raw_free(&s);
	}

	/* The file and its packets. */
	raw_valid(&s);
	raw_write_cut(&s, SESSION_LINKTYPE, 3);
	expect_unreadable("record 3 is cut short: the file holds 35 of its 36 bytes");
	raw_write_cut(&s, DLT_ETHERNET, SIZE_MAX);
	expect_unreadable("is a pcap file of link type 1 (EN10MB), not a bxkd session (link type "
			  "147, USER0)");
	s.count = 0;
	raw_write(&s);
	expect_unreadable("holds no records; a session starts with its MANIFEST");
	s.count = 5;
	raw_free(&s);
}
END_TEST

/* Cuts the good file to `length` bytes. */
/* A file whose one packet is empty: refused as damage to record 0, found
 * by fuzz_player (the reader pointed into a buffer it never allocated, UB
 * that the sanitizer run of ./quickstart check reports). */
START_TEST(an_empty_packet_alone_is_refused)
{
	static const u_char nothing[1];
	pcap_t *dead = pcap_open_dead(SESSION_LINKTYPE, SESSION_RECORD_MAX);
	pcap_dumper_t *d = pcap_dump_open(dead, path);
	struct pcap_pkthdr h = { 0 };

	ck_assert_ptr_nonnull(d);
	pcap_dump((u_char *)d, &h, nothing);
	pcap_dump_close(d);
	pcap_close(dead);
	expect_unreadable("record 0 is damaged");
}
END_TEST

static void cut_file(size_t length)
{
	size_t n;
	char *data = slurp(path, &n);
	FILE *f = fopen(path, "wb");

	ck_assert_uint_le(length, n);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, length, f), length);
	fclose(f);
	free(data);
}

/* pcap's file header, before the first packet. */
#define PCAP_FILE_HEADER 24u

/* The good session in memory; where its record 3's packet starts in the
 * file. */
static size_t valid_up_to_record_3(struct raw_session *s)
{
	const size_t packet_header = 16;
	size_t at = PCAP_FILE_HEADER;

	raw_valid(s);
	for (size_t i = 0; i < 3; i++)
		at += packet_header + s->records[i].length;
	return at;
}

START_TEST(a_truncated_file_is_refused)
{
	struct raw_session s;
	size_t at_record3 = valid_up_to_record_3(&s);

	raw_write(&s);
	cut_file(at_record3 + 20); /* inside record 3's bytes */
	expect_unreadable("record 3 cannot be read: truncated dump file");
	raw_write(&s);
	cut_file(at_record3 + 5); /* inside record 3's packet header */
	expect_unreadable("record 3 cannot be read: truncated dump file");
	raw_write(&s);
	cut_file(at_record3); /* between records: the END is missing */
	expect_unreadable("ends after record 2 (kd_port) without the END record");
	raw_write(&s);
	cut_file(10);
	expect_unreadable("cannot read session file");
	cut_file(0);
	expect_unreadable("cannot read session file");
	raw_free(&s);

	FILE *f = fopen(path, "w");
	fputs("this is not a pcap file at all, but it is long enough\n", f);
	fclose(f);
	expect_unreadable("cannot read session file");
	unlink(path);
	expect_unreadable("No such file");
}
END_TEST

START_TEST(the_writer_refuses_what_the_reader_would)
{
	struct raw_session s;
	char error[512];
	struct session_writer *w;

	raw_valid(&s);

	/* A bad record stops the file; the first reason is kept. */
	w = session_writer_open(path, SB_IPS, error, sizeof(error));
	ck_assert_ptr_nonnull(w);
	ck_assert(session_writer_write(w, s.records[0].data, s.records[0].length, 0));
	s.records[1].data[0] ^= 1;
	ck_assert(!session_writer_write(w, s.records[1].data, s.records[1].length, 4000000));
	s.records[1].data[0] ^= 1;
	ck_assert(!session_writer_write(w, s.records[1].data, s.records[1].length, 4000000));
	ck_assert(!session_writer_close(w, error, sizeof(error)));
	ck_assert_msg(strstr(error, "record 1 is not a valid record: the record's magic"), "%s",
		      error);

	w = session_writer_open(path, SB_IPS, error, sizeof(error));
	ck_assert(!session_writer_write(w, s.records[1].data, s.records[1].length, 4000000));
	ck_assert(!session_writer_close(w, error, sizeof(error)));
	ck_assert_msg(strstr(error, "record 0 (backdoor): a session has exactly one MANIFEST"),
		      "%s", error);

	w = session_writer_open(path, SB_IPS, error, sizeof(error));
	ck_assert(session_writer_write(w, s.records[0].data, s.records[0].length, 0));
	ck_assert(!session_writer_write(w, s.records[2].data, s.records[2].length, 4000001));
	ck_assert(!session_writer_close(w, error, sizeof(error)));
	ck_assert_msg(strstr(error, "record 1 carries sequence number 2"), "%s", error);

	w = session_writer_open(path, SB_IPS, error, sizeof(error));
	ck_assert(session_writer_write(w, s.records[0].data, s.records[0].length, 0));
	ck_assert(!session_writer_write(w, s.records[1].data, s.records[1].length, 5));
	ck_assert(!session_writer_close(w, error, sizeof(error)));
	ck_assert_msg(strstr(error, "record 1 is at tick 4000000 but was written for tick 5"),
		      "%s", error);

	w = session_writer_open(path, SB_IPS, error, sizeof(error));
	for (size_t i = 0; i < s.count; i++)
		ck_assert(session_writer_write(w, s.records[i].data, s.records[i].length,
					       record_tick(&s.records[i])));
	struct session_buffer more = endpoint_record(5, 7000000, KD_ENDPOINT_ATTACHED, "");
	ck_assert(!session_writer_write(w, more.data, more.length, 7000000));
	ck_assert(!session_writer_close(w, error, sizeof(error)));
	ck_assert_msg(strstr(error, "record 5 follows the END"), "%s", error);
	session_buffer_free(&more);

	ck_assert_ptr_null(session_writer_open(path, 0, error, sizeof(error)));
	ck_assert_msg(strstr(error, "instructions per second must be more than 0"), "%s", error);
	ck_assert_ptr_null(session_writer_open("/nonexistent-bxkd-dir/s.pcap", SB_IPS, error,
					       sizeof(error)));
	ck_assert_msg(strstr(error, "cannot create session file") &&
			      strstr(error, "/nonexistent-bxkd-dir/s.pcap"),
		      "%s", error);

	/* A disk that is full: a record larger than the C library's buffer
	 * goes to the file at once, and fails there. */
	static char big_bytes[64 * 1024];
	memset(big_bytes, '0', sizeof(big_bytes) - 1);
	struct session_buffer big = endpoint_record(1, 1, KD_ENDPOINT_TO_DEBUGGER, big_bytes);
	w = session_writer_open("/dev/full", SB_IPS, error, sizeof(error));
	ck_assert_ptr_nonnull(w);
	session_writer_write(w, s.records[0].data, s.records[0].length, 0);
	ck_assert(!session_writer_write(w, big.data, big.length, 1));
	ck_assert(!session_writer_close(w, error, sizeof(error)));
	ck_assert_msg(strstr(error, "/dev/full") && strstr(error, "No space left on device"), "%s",
		      error);
	session_buffer_free(&big);
	raw_free(&s);
}
END_TEST

/* ---- checksums, version 1, cuts, interruptions --------------------------------------- */

START_TEST(the_checksum_catches_what_the_rules_cannot)
{
	static const uint8_t check[] = "123456789";
	struct session_buffer b = backdoor_record(1, 1);
	struct session_record r;

	ck_assert_uint_eq(session_crc32(0, check, 9), 0xcbf43926u);
	ck_assert_uint_eq(session_crc32(session_crc32(0, check, 4), check + 4, 5), 0xcbf43926u);
	expect_decodes(b.data, b.length, &r);
	ck_assert_uint_eq(r.h.checksum, (uint32_t)b.data[24] | (uint32_t)b.data[25] << 8 |
						(uint32_t)b.data[26] << 16 | (uint32_t)b.data[27] << 24);
	/* A byte of guest memory, a register, the tick: no rule says what
	 * they must be. */
	b.data[ACCESS0_AT + 16] ^= 0x20;
	expect_refused(b.data, b.length, "its checksum is 0x");
	b.data[ACCESS0_AT + 16] ^= 0x20;
	b.data[BACKDOOR_AT(regs_in)] ^= 1;
	expect_refused(b.data, b.length, "but its bytes give 0x");
	b.data[BACKDOOR_AT(regs_in)] ^= 1;
	b.data[16] ^= 1;
	expect_refused(b.data, b.length, "its checksum is 0x");
	b.data[16] ^= 1;
	b.data[24] ^= 0x80;
	expect_refused(b.data, b.length, "its checksum is 0x");
	b.data[24] ^= 0x80;
	expect_decodes(b.data, b.length, &r);
	session_buffer_free(&b);
}
END_TEST

/* The version 1 form of a record built now: the 24-byte header without
 * the checksum, the same payload. */
static size_t as_version_1(const struct session_buffer *b, uint8_t *out)
{
	memcpy(out, b->data, SESSION_HEADER_SIZE_V1);
	put16(out + 4, 1);
	memcpy(out + SESSION_HEADER_SIZE_V1, b->data + HEADER_SIZE, b->length - HEADER_SIZE);
	return b->length - (HEADER_SIZE - SESSION_HEADER_SIZE_V1);
}

START_TEST(a_version_1_record_decodes_and_rebuilds)
{
	struct session_buffer b = kd_port_record(2, 4000001), rebuilt = { 0 };
	uint8_t old[512];
	struct session_record r;

	ck_assert_uint_le(b.length, sizeof(old));
	size_t n = as_version_1(&b, old);
	expect_decodes(old, n, &r);
	ck_assert_uint_eq(r.h.version, 1);
	ck_assert_uint_eq(r.h.checksum, 0);
	ck_assert_uint_eq(r.h.sequence, 2);
	ck_assert_uint_eq(r.h.tick, 4000001);
	ck_assert_ptr_eq(r.payload, old + SESSION_HEADER_SIZE_V1);
	/* Version 1 has no checksum to catch a changed byte. */
	old[n - 1] ^= 1;
	expect_decodes(old, n, &r);
	old[n - 1] ^= 1;
	expect_refused(old, SESSION_HEADER_SIZE_V1 - 1, "shorter than its 24-byte header");
	/* Built again in the current version, it is the record built now. */
	expect_decodes(old, n, &r);
	session_rebuild(&rebuilt, &r);
	ck_assert(!rebuilt.failed);
	ck_assert_uint_eq(rebuilt.length, b.length);
	ck_assert_mem_eq(rebuilt.data, b.data, b.length);
	session_buffer_free(&rebuilt);
	session_buffer_free(&b);
}
END_TEST

/* The golden sessions as they were recorded in version 1 read, and each
 * record built again is the converted golden file's record. */
START_TEST(version_1_golden_sessions_read_and_rebuild_to_the_converted_ones)
{
	static const char *const sessions[] = { "e2e", "breakin", "reconnect" };
	struct session_buffer rebuilt = { 0 };

	for (size_t n = 0; n < sizeof(sessions) / sizeof(*sessions); n++) {
		struct session_file old, now;
		char *old_path, *now_path, error[512];
		ck_assert(asprintf(&old_path, "%s/tests/sessions/v1/%s.pcap", BXKD_SOURCE_DIR,
				   sessions[n]) > 0);
		ck_assert(asprintf(&now_path, "%s/tests/sessions/golden/%s.pcap", BXKD_SOURCE_DIR,
				   sessions[n]) > 0);
		ck_assert_msg(session_file_read(old_path, &old, error, sizeof(error)), "%s", error);
		ck_assert_msg(session_file_read(now_path, &now, error, sizeof(error)), "%s", error);
		ck_assert_uint_eq(old.count, now.count);
		for (size_t i = 0; i < old.count; i++) {
			ck_assert_uint_eq(old.records[i].h.version, 1);
			ck_assert_uint_eq(now.records[i].h.version, SESSION_VERSION);
			session_rebuild(&rebuilt, &old.records[i]);
			const struct session_record *r = &now.records[i];
			ck_assert_uint_eq(rebuilt.length, HEADER_SIZE + r->h.length);
			ck_assert_mem_eq(rebuilt.data, r->payload - HEADER_SIZE, rebuilt.length);
		}
		session_file_free(&old);
		session_file_free(&now);
		free(old_path);
		free(now_path);
	}
	session_buffer_free(&rebuilt);
}
END_TEST

static void read_cut_ok(struct session_file *file, size_t count, bool cut)
{
	char error[512] = "";

	ck_assert_msg(session_file_read_cut(path, file, error, sizeof(error)), "refused: %s",
		      error);
	ck_assert_uint_eq(file->count, count);
	ck_assert_int_eq(file->cut, cut);
}

START_TEST(a_cut_file_reads_up_to_the_cut)
{
	struct raw_session s;
	struct session_file file;
	char error[512], value[32];
	size_t at_record3 = valid_up_to_record_3(&s);

	raw_write(&s);
	read_cut_ok(&file, 5, false); /* a whole file is not cut */
	ck_assert(!session_file_interrupted(&file, value, sizeof(value)));
	session_file_free(&file);

	cut_file(at_record3 + 20); /* inside record 3's bytes */
	read_cut_ok(&file, 3, true);
	ck_assert_uint_eq(file.records[2].h.kind, SESSION_KD_PORT);
	session_file_free(&file);
	raw_write(&s);
	cut_file(at_record3 + 5); /* inside record 3's packet header */
	read_cut_ok(&file, 3, true);
	session_file_free(&file);
	raw_write(&s);
	cut_file(at_record3); /* between records */
	read_cut_ok(&file, 3, true);
	session_file_free(&file);
	/* The reader that wants a whole file still refuses it. */
	expect_unreadable("ends after record 2 (kd_port) without the END record");

	/* Every record before the cut is still checked. */
	s.records[1].data[ACCESS0_AT + 16] ^= 1;
	raw_write(&s);
	cut_file(at_record3 + 20);
	ck_assert(!session_file_read_cut(path, &file, error, sizeof(error)));
	ck_assert_msg(strstr(error, "record 1 is damaged: its checksum is"), "%s", error);
	s.records[1].data[ACCESS0_AT + 16] ^= 1;
	/* Nothing but a cut file header is nothing to read. */
	raw_write(&s);
	cut_file(PCAP_FILE_HEADER + 5);
	ck_assert(!session_file_read_cut(path, &file, error, sizeof(error)));
	ck_assert_msg(strstr(error, "holds no records"), "%s", error);

	/* An END that says the session was interrupted: whole, not cut. */
	session_buffer_free(&s.records[4]);
	s.records[4] = text_record(SESSION_END, 4, 6000001,
				   "records=5\ninterrupted=SIGTERM\ninterrupted_call_tick=6000001\n");
	raw_write(&s);
	read_cut_ok(&file, 5, false);
	ck_assert(session_file_interrupted(&file, value, sizeof(value)));
	ck_assert_str_eq(value, "SIGTERM");
	session_file_free(&file);
	raw_free(&s);
}
END_TEST

/* The recorder's sink: each record kept, decoded later. */
struct sink {
	struct session_buffer records[8];
	size_t count;
};

static void keep_record(void *ctx, const uint8_t *record, size_t length, uint64_t tick)
{
	struct sink *k = ctx;

	(void)tick;
	ck_assert_uint_lt(k->count, 8);
	struct session_buffer *b = &k->records[k->count++];
	memset(b, 0, sizeof(*b));
	session_append(b, record, length);
}

/* The END the recorder wrote last has `key` with the value `want`, or
 * lacks it when `want` is NULL. */
static void expect_end_value(const struct sink *k, const char *key, const char *want)
{
	struct session_record r;
	char value[32];

	expect_decodes(k->records[k->count - 1].data, k->records[k->count - 1].length, &r);
	ck_assert_uint_eq(r.h.kind, SESSION_END);
	ck_assert_uint_eq(r.h.sequence, k->count - 1);
	bool found = session_text_value(&r, key, value, sizeof(value));
	ck_assert_msg(want ? found && !strcmp(value, want) : !found, "%s=%s, expected %s", key,
		      found ? value : "(none)", want ? want : "(none)");
}

START_TEST(an_interrupted_recording_says_so_in_its_end)
{
	struct fake_vcpu cpu;
	struct guest_port_access access = { BDOOR_PORT, GUEST_PORT_IN, 0, false };
	struct sink between = { 0 }, inside = { 0 }, clean = { 0 };

	/* Between calls: the END says interrupted, nothing is lost. */
	struct recorder *rec = recorder_create(keep_record, &between);
	fake_vcpu_init(&cpu, 4096);
	recorder_manifest(rec, manifest_text, 0);
	cpu.ticks = 100;
	recorder_begin_call(rec, &cpu.vcpu, BDOOR_PORT, GUEST_PORT_IN);
	recorder_end_call(rec, &access);
	recorder_end(rec, 200, "SIGTERM");
	ck_assert_uint_eq(between.count, 3);
	expect_end_value(&between, "interrupted", "SIGTERM");
	expect_end_value(&between, "backdoor_calls", "1");
	expect_end_value(&between, "interrupted_call_tick", NULL);
	recorder_destroy(rec);

	/* Inside a call (the guest waiting for the debugger): the call has no
	 * registers out, so it and what happened during it are left out. */
	rec = recorder_create(keep_record, &inside);
	recorder_manifest(rec, manifest_text, 0);
	cpu.ticks = 300;
	recorder_begin_call(rec, &cpu.vcpu, BDOOR_PORT, GUEST_PORT_IN);
	recorder_endpoint(rec, KD_ENDPOINT_ATTACHED, NULL, 0, 300);
	recorder_end(rec, 400, "SIGTERM");
	ck_assert_uint_eq(inside.count, 2);
	expect_end_value(&inside, "records", "2");
	expect_end_value(&inside, "interrupted_call_tick", "300");
	expect_end_value(&inside, "endpoint_records", "0");
	recorder_destroy(rec);

	/* A clean end says nothing of the kind. */
	rec = recorder_create(keep_record, &clean);
	recorder_manifest(rec, manifest_text, 0);
	recorder_end(rec, 500, NULL);
	expect_end_value(&clean, "interrupted", NULL);
	recorder_destroy(rec);

	struct sink *sinks[] = { &between, &inside, &clean };
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < sinks[i]->count; j++)
			session_buffer_free(&sinks[i]->records[j]);
	fake_vcpu_free(&cpu);
}
END_TEST

BXKD_SUITE(session_format,
	testcases_add(s, "records", 0, TESTS(
		every_kind_decodes, the_header_is_checked, a_backdoor_call_is_checked,
		a_kd_port_call_is_checked, an_endpoint_event_is_checked, text_is_key_value_lines,
		text_values_by_key, the_builder_keeps_to_the_limit, random_damage_never_overruns,
		names, the_checksum_catches_what_the_rules_cannot,
		a_version_1_record_decodes_and_rebuilds, an_interrupted_recording_says_so_in_its_end));
	testcases_add_with(s, "files", 0, make_dir, remove_dir, TESTS(
		a_session_reads_back_as_written, the_same_session_makes_the_same_file,
		an_end_needs_only_the_record_count, a_record_of_the_largest_size_reads_back,
		damage_is_refused, an_empty_packet_alone_is_refused, a_truncated_file_is_refused,
		the_writer_refuses_what_the_reader_would, a_cut_file_reads_up_to_the_cut,
		version_1_golden_sessions_read_and_rebuild_to_the_converted_ones));
)
