/*
 * check_guestrpc.c -- GuestRPC through the core: the MESSAGE steps, the
 * high-bandwidth port, the RPCI commands and TCLO, as guests drive them.
 *
 * Register vectors T11-T22 are from docs/vmware-backdoor.md 6.2.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/backdoor.h"
#include "fake_vcpu.h"
#include "suites.h"
#include "testcases.h"
#include "vmport.h"

#define RPCI_COOKIE (BDOOR_RPCI_PROTOCOL | BDOOR_MESSAGE_FLAG_COOKIE)
#define TCLO_COOKIE (BDOOR_TCLO_PROTOCOL | BDOOR_MESSAGE_FLAG_COOKIE)
#define STATUS(bits) ((uint32_t)(bits) << 16)
#define OK STATUS(BDOOR_MESSAGE_STATUS_SUCCESS)
#define SENDSIZE_OK 0x00810000u
#define RECVSIZE_REPLY 0x00830000u

/* Where tests put guest buffers: linear addresses with distinct segment
 * bases and scrambled pages, so a copy that ignores either gets it wrong. */
#define DS_BASE 0x10000u
#define ES_BASE 0x20000u
#define BUFFER 0x0ff0u /* DS/ES offset; crosses a page boundary at 0x1000 */

static struct fake_vcpu cpu;
static struct vmport *vp;
static char logged[512];

struct channel {
	uint32_t edx; /* id in [31:16], port in [15:0] */
	uint32_t cookie_high, cookie_low;
};

static void capture_log(void *ctx, enum bxkd_log_level level, const char *message)
{
	(void)ctx, (void)level;
	snprintf(logged, sizeof(logged), "%s", message);
}

static void setup(void)
{
	struct vmport_config config;

	vmport_config_init(&config);
	logged[0] = '\0';
	fake_vcpu_init(&cpu, 1 << 20);
	cpu.segment_base[GUEST_SEG_DS] = DS_BASE;
	cpu.segment_base[GUEST_SEG_ES] = ES_BASE;
	cpu.page_xor = 0x1000;
	vp = vmport_create(&config, &(struct bxkd_log){ capture_log, NULL });
	ck_assert_ptr_nonnull(vp);
}

static void teardown(void)
{
	vmport_destroy(vp);
	fake_vcpu_free(&cpu);
}

/* One MESSAGE step through IN; returns ECX (the status word). */
static uint32_t step(uint16_t sub, uint32_t ebx, uint32_t edx, uint32_t esi, uint32_t edi)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC, ebx, (uint32_t)sub << 16 | BDOOR_CMD_MESSAGE, edx, esi,
		       edi);
	fake_vcpu_io(&cpu, vp, BDOOR_PORT, GUEST_PORT_IN);
	return (uint32_t)cpu.reg[GUEST_REG_ECX];
}

static uint32_t chan_step(const struct channel *ch, uint16_t sub, uint32_t ebx)
{
	return step(sub, ebx, (ch->edx & 0xffff0000u) | BDOOR_PORT, ch->cookie_high,
		    ch->cookie_low);
}

static struct channel open_channel(uint32_t protocol)
{
	struct channel ch;

	ck_assert_uint_eq(step(BDOOR_MESSAGE_OPEN, protocol, BDOOR_PORT, 0, 0), OK);
	ch.edx = (uint32_t)cpu.reg[GUEST_REG_EDX];
	ch.cookie_high = (uint32_t)cpu.reg[GUEST_REG_ESI];
	ch.cookie_low = (uint32_t)cpu.reg[GUEST_REG_EDI];
	return ch;
}

static void send_lb(const struct channel *ch, const void *data, uint32_t len)
{
	const uint8_t *bytes = data;

	ck_assert_uint_eq(chan_step(ch, BDOOR_MESSAGE_SENDSIZE, len), SENDSIZE_OK);
	for (uint32_t i = 0; i < len; i += 4) {
		uint32_t word = 0;
		for (uint32_t k = 0; k < 4 && i + k < len; k++)
			word |= (uint32_t)bytes[i + k] << (8 * k);
		ck_assert_uint_eq(chan_step(ch, BDOOR_MESSAGE_SENDPAYLOAD, word), OK);
	}
}

/* Receives a reply over the low-bandwidth port; returns a malloc'd,
 * NUL-terminated copy, or NULL if nothing was waiting. */
static char *recv_lb(const struct channel *ch, uint32_t *len_out)
{
	uint32_t status = chan_step(ch, BDOOR_MESSAGE_RECVSIZE, 0);

	if (status == OK)
		return NULL;
	ck_assert_uint_eq(status, RECVSIZE_REPLY);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX] >> 16, 1);
	uint32_t len = (uint32_t)cpu.reg[GUEST_REG_EBX];
	char *reply = calloc(1, len + 4);
	for (uint32_t i = 0; i < len; i += 4) {
		ck_assert_uint_eq(chan_step(ch, BDOOR_MESSAGE_RECVPAYLOAD, 1), OK);
		ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX] >> 16, 2);
		uint32_t word = (uint32_t)cpu.reg[GUEST_REG_EBX];
		memcpy(reply + i, &word, 4);
	}
	reply[len] = '\0';
	ck_assert_uint_eq(chan_step(ch, BDOOR_MESSAGE_RECVSTATUS, 1), OK);
	if (len_out)
		*len_out = len;
	return reply;
}

/* A whole RPCI request over a fresh channel, as open-vm-tools does it. */
static char *rpci(const char *request)
{
	struct channel ch = open_channel(RPCI_COOKIE);

	send_lb(&ch, request, (uint32_t)strlen(request));
	char *reply = recv_lb(&ch, NULL);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_CLOSE, 0), OK);
	ck_assert_ptr_nonnull(reply);
	return reply;
}

#define ASSERT_RPCI(request, expected)                \
	do {                                          \
		char *reply_ = rpci(request);          \
		ck_assert_str_eq(reply_, expected);    \
		free(reply_);                          \
	} while (0)

/* A high-bandwidth transfer; returns EBX and the access. */
static uint32_t hb(const struct channel *ch, enum guest_port_dir dir, uint32_t buffer, uint32_t count,
		   struct guest_port_access *access_out)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC, STATUS(BDOOR_MESSAGE_STATUS_SUCCESS) | BDOORHB_CMD_MESSAGE,
		       count, (ch->edx & 0xffff0000u) | BDOOR_PORT_HB, 0, 0);
	if (dir == GUEST_PORT_OUT) {
		cpu.reg[GUEST_REG_ESI] = buffer;
		cpu.reg[GUEST_REG_EDI] = ch->cookie_low;
		cpu.reg[GUEST_REG_EBP] = ch->cookie_high;
	} else {
		cpu.reg[GUEST_REG_ESI] = ch->cookie_high;
		cpu.reg[GUEST_REG_EDI] = buffer;
		cpu.reg[GUEST_REG_EBP] = ch->cookie_low;
	}
	struct guest_port_access access = fake_vcpu_io(&cpu, vp, BDOOR_PORT_HB, dir);
	if (access_out)
		*access_out = access;
	return (uint32_t)cpu.reg[GUEST_REG_EBX];
}

/* ---- OPEN ---------------------------------------------------------------- */

/* T11 */
START_TEST(open_with_cookies_returns_channel_and_cookies)
{
	ck_assert_uint_eq(step(BDOOR_MESSAGE_OPEN, RPCI_COOKIE, BDOOR_PORT, 0, 0), 0x00010000u);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX], 0x00005658u); /* channel 0 */
	ck_assert_uint_ne(cpu.reg[GUEST_REG_ESI] | cpu.reg[GUEST_REG_EDI], 0);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EAX], 0);

	ck_assert_uint_eq(step(BDOOR_MESSAGE_OPEN, TCLO_COOKIE, BDOOR_PORT, 0, 0), 0x00010000u);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX], 0x00015658u); /* channel 1 */
}
END_TEST

/* T12: iPXE compares the whole word. */
START_TEST(open_without_cookies_leaves_esi_edi)
{
	ck_assert_uint_eq(step(BDOOR_MESSAGE_OPEN, BDOOR_RPCI_PROTOCOL, BDOOR_PORT, 0x1111, 0x2222),
			  0x00010000u);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ESI], 0x1111);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDI], 0x2222);
}
END_TEST

START_TEST(cookies_repeat_for_the_same_seed_and_differ_between_channels)
{
	struct channel a = open_channel(RPCI_COOKIE), b = open_channel(RPCI_COOKIE);
	struct vmport_config config;

	ck_assert(a.cookie_high != b.cookie_high || a.cookie_low != b.cookie_low);
	vmport_config_init(&config);
	struct vmport *again = vmport_create(&config, NULL);
	struct vmport *first = vp;
	vp = again;
	struct channel a2 = open_channel(RPCI_COOKIE);
	vp = first;
	vmport_destroy(again);
	ck_assert_uint_eq(a2.cookie_high, a.cookie_high);
	ck_assert_uint_eq(a2.cookie_low, a.cookie_low);
}
END_TEST

START_TEST(open_refuses_unknown_protocols)
{
	ck_assert_uint_eq(step(BDOOR_MESSAGE_OPEN, 0x12345678, BDOOR_PORT, 0, 0), 0);
	ck_assert_uint_eq(vmport_get_stats(vp)->message_errors, 1);
}
END_TEST

START_TEST(at_most_eight_channels)
{
	struct channel ch[BDOOR_MESSAGE_MAX_CHANNELS];

	for (int i = 0; i < BDOOR_MESSAGE_MAX_CHANNELS; i++)
		ch[i] = open_channel(RPCI_COOKIE);
	ck_assert_uint_eq(step(BDOOR_MESSAGE_OPEN, RPCI_COOKIE, BDOOR_PORT, 0, 0), 0);

	ck_assert_uint_eq(chan_step(&ch[5], BDOOR_MESSAGE_CLOSE, 0), OK);
	struct channel again = open_channel(RPCI_COOKIE);
	ck_assert_uint_eq(again.edx >> 16, 5);
}
END_TEST

/* ---- refused steps ------------------------------------------------------- */

/* T14 */
START_TEST(wrong_cookies_are_refused)
{
	struct channel ch = open_channel(RPCI_COOKIE), wrong = ch;

	wrong.cookie_low ^= 1;
	ck_assert_uint_eq(chan_step(&wrong, BDOOR_MESSAGE_SENDSIZE, 4), 0);
	wrong = ch;
	wrong.cookie_high ^= 0x80000000u;
	ck_assert_uint_eq(chan_step(&wrong, BDOOR_MESSAGE_CLOSE, 0), 0);
	/* The channel itself is unharmed. */
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, 4), SENDSIZE_OK);
}
END_TEST

START_TEST(channels_without_cookies_ignore_esi_edi)
{
	struct channel ch = open_channel(BDOOR_RPCI_PROTOCOL);

	ch.cookie_high = 0xabcdef;
	ch.cookie_low = 0x123456;
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, 0), SENDSIZE_OK);
}
END_TEST

START_TEST(wrong_channels_are_refused)
{
	open_channel(RPCI_COOKIE);
	static const uint32_t ids[] = { 1, 7, 8, 0xffff };

	for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++)
		ck_assert_uint_eq(step(BDOOR_MESSAGE_SENDSIZE, 4, ids[i] << 16 | BDOOR_PORT, 0, 0), 0);
}
END_TEST

START_TEST(closing_a_closed_channel_is_refused)
{
	struct channel ch = open_channel(RPCI_COOKIE);

	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_CLOSE, 0), OK); /* T22 */
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_CLOSE, 0), 0);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, 1), 0);
}
END_TEST

START_TEST(messages_over_64_kib_are_refused)
{
	struct channel ch = open_channel(RPCI_COOKIE);

	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, BDOOR_MESSAGE_MAX_SIZE + 1), 0);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, 0xffffffffu), 0);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDPAYLOAD, 0), 0);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, BDOOR_MESSAGE_MAX_SIZE),
			  SENDSIZE_OK);
}
END_TEST

START_TEST(steps_out_of_order_are_refused)
{
	struct channel ch = open_channel(RPCI_COOKIE);

	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDPAYLOAD, 0x41414141), 0);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVPAYLOAD, 1), 0);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSTATUS, 1), 0);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, 8), SENDSIZE_OK);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSIZE, 0), 0); /* mid-send */
	ck_assert_uint_eq(chan_step(&ch, 7, 0), 0);			  /* no such step */
}
END_TEST

/* T18 */
START_TEST(recvsize_with_nothing_waiting)
{
	struct channel ch = open_channel(RPCI_COOKIE);

	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSIZE, 0x55), 0x00010000u);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 0);
}
END_TEST

/* ---- RPCI over the low-bandwidth port ------------------------------------- */

/* T13, T16, T17, T20, T21 in sequence. */
START_TEST(a_request_and_its_reply_with_exact_status_words)
{
	struct channel ch = open_channel(RPCI_COOKIE);
	const char request[] = "info-set guestinfo.a 12";

	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, sizeof(request) - 1), 0x00810000u);
	for (size_t i = 0; i < sizeof(request) - 1; i += 4) {
		uint32_t word;
		memcpy(&word, request + i, 4);
		ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDPAYLOAD, word), 0x00010000u);
	}
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSIZE, 0), 0x00830000u);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 2);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX], 0x00015658u);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVPAYLOAD, 1), 0x00010000u);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 0x2031); /* "1 " */
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX], 0x00025658u);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVPAYLOAD, 1), 0); /* past the end */
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSTATUS, 1), 0x00010000u);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSIZE, 0), 0x00010000u); /* consumed */
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_CLOSE, 0), 0x00010000u);
	ck_assert_uint_eq(vmport_get_stats(vp)->rpc_messages, 1);
}
END_TEST

/* VirtualKD's sequence: OUT for every step (EAX never written), RECVSTATUS
 * with EBX = the EDX that RECVSIZE returned. */
START_TEST(virtualkd_style_steps_work)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC, RPCI_COOKIE, BDOOR_CMD_MESSAGE, BDOOR_PORT, 0, 0);
	fake_vcpu_io(&cpu, vp, BDOOR_PORT, GUEST_PORT_OUT);
	ck_assert(cpu.reg[GUEST_REG_ECX] & 0x10000);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EAX], BDOOR_MAGIC);
	struct channel ch = { (uint32_t)cpu.reg[GUEST_REG_EDX], (uint32_t)cpu.reg[GUEST_REG_ESI],
			      (uint32_t)cpu.reg[GUEST_REG_EDI] };

	send_lb(&ch, "log vkd", 7);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSIZE, 0), 0x00830000u);
	uint32_t reply_id = (uint32_t)cpu.reg[GUEST_REG_EDX];
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVPAYLOAD, 1), 0x00010000u);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSTATUS, reply_id), 0x00010000u);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_CLOSE, 0), 0x00010000u);
	ck_assert_str_eq(logged, "guest: vkd");
}
END_TEST

START_TEST(info_set_and_info_get)
{
	ASSERT_RPCI("info-set guestinfo.bxkd.x hello world", "1 ");
	ASSERT_RPCI("info-get guestinfo.bxkd.x", "1 hello world");
	/* Trailing space or NUL, as old clients send, is not part of the key. */
	ASSERT_RPCI("info-get guestinfo.bxkd.x ", "1 hello world");
	ASSERT_RPCI("info-set guestinfo.bxkd.x ", "1 ");
	ASSERT_RPCI("info-get guestinfo.bxkd.x", "1 ");
	ASSERT_RPCI("info-get guestinfo.nothing", "0 No value found");

	size_t len;
	const uint8_t *value = vmport_guestinfo_get(vp, "guestinfo.bxkd.x", &len);
	ck_assert_ptr_nonnull(value);
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(only_guestinfo_variables_are_the_guests)
{
	ASSERT_RPCI("info-set machine.id x", "0 Invalid key");
	ASSERT_RPCI("info-set guestinfo.", "0 Invalid key");
	ASSERT_RPCI("info-get machine.id", "0 No value found");
	ASSERT_RPCI("info-set", "0 Invalid key");
}
END_TEST

struct seen_keys {
	unsigned count;
	char keys[128];
};

static void note_key(void *ctx, const char *key, const uint8_t *value, size_t len)
{
	struct seen_keys *seen = ctx;

	(void)value, (void)len;
	seen->count++;
	strcat(seen->keys, key);
	strcat(seen->keys, ";");
}

START_TEST(the_host_sees_and_sets_guestinfo)
{
	struct seen_keys seen = { 0, "" };

	ck_assert(vmport_guestinfo_set(vp, "guestinfo.from.host", (const uint8_t *)"abc", 3));
	ASSERT_RPCI("info-get guestinfo.from.host", "1 abc");
	ASSERT_RPCI("info-set guestinfo.from.guest xyz", "1 ");
	vmport_guestinfo_foreach(vp, note_key, &seen);
	ck_assert_uint_eq(seen.count, 2);
	ck_assert_str_eq(seen.keys, "guestinfo.from.host;guestinfo.from.guest;");
}
END_TEST

START_TEST(guestinfo_is_bounded)
{
	char request[64];

	for (int i = 0; i < 1024; i++) {
		snprintf(request, sizeof(request), "guestinfo.v%d", i);
		ck_assert(vmport_guestinfo_set(vp, request, (const uint8_t *)"x", 1));
	}
	ASSERT_RPCI("info-set guestinfo.one.more y", "0 Too many variables");
	ASSERT_RPCI("info-set guestinfo.v7 replaced", "1 ");
	ASSERT_RPCI("info-get guestinfo.v7", "1 replaced");
}
END_TEST

START_TEST(log_goes_to_the_device_log_printably)
{
	ASSERT_RPCI("log hello\x01there\n", "1 ");
	ck_assert_str_eq(logged, "guest: hello.there");
}
END_TEST

START_TEST(tools_set_version_is_remembered)
{
	uint32_t version;

	ck_assert(!vmport_tools_version(vp, &version));
	ASSERT_RPCI("tools.set.version 12345", "1 ");
	ck_assert(vmport_tools_version(vp, &version));
	ck_assert_uint_eq(version, 12345);
	ASSERT_RPCI("tools.set.version 2147483647 ", "1 ");
	ASSERT_RPCI("tools.set.version 12a", "0 Invalid version");
	ASSERT_RPCI("tools.set.version 99999999999", "0 Invalid version");
	ASSERT_RPCI("tools.set.version", "0 Invalid version");
	ck_assert(vmport_tools_version(vp, &version));
	ck_assert_uint_eq(version, 2147483647u);
}
END_TEST

/* F2: a message of no bytes has no buffer behind it; it is an unknown
 * command like any other, over either way of sending. */
START_TEST(an_empty_request_is_an_unknown_command)
{
	ASSERT_RPCI("", "0 Unknown command");
	struct channel ch = open_channel(RPCI_COOKIE);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, 0), SENDSIZE_OK);
	ck_assert_uint_eq(hb(&ch, GUEST_PORT_OUT, BUFFER, 0, NULL), 0);
	char *reply = recv_lb(&ch, NULL);
	ck_assert_str_eq(reply, "0 Unknown command");
	free(reply);
}
END_TEST

START_TEST(unknown_requests_get_unknown_command)
{
	ASSERT_RPCI("machine.id.get", "0 Unknown command");
	ASSERT_RPCI("info-getguestinfo.x", "0 Unknown command");
	ASSERT_RPCI("", "0 Unknown command");
}
END_TEST

static bool echo(void *ctx, const uint8_t *args, size_t len, struct vmport_buffer *reply)
{
	const char *prefix = ctx;

	return vmport_buffer_append(reply, prefix, strlen(prefix)) &&
	       vmport_buffer_append(reply, args, len);
}

static bool flood(void *ctx, const uint8_t *args, size_t len, struct vmport_buffer *reply)
{
	static const uint8_t block[4096];

	(void)ctx, (void)args, (void)len;
	for (int i = 0; i < 20; i++)
		vmport_buffer_append(reply, block, sizeof(block));
	return true;
}

START_TEST(handlers_can_be_added_and_replaced)
{
	ck_assert(vmport_rpci_register(vp, "bxkd.echo", echo, "echo:"));
	ASSERT_RPCI("bxkd.echo abc def", "1 echo:abc def");
	ck_assert(vmport_rpci_register(vp, "bxkd.echo", echo, "again:"));
	ASSERT_RPCI("bxkd.echo x", "1 again:x");
	/* A binary request with a name and no space, as VirtualKD's. */
	ck_assert(vmport_rpci_register(vp, "~kdVMvA", echo, ""));
	ASSERT_RPCI("~kdVMvA v", "1 v");
}
END_TEST

START_TEST(replies_over_64_kib_become_an_error)
{
	ck_assert(vmport_rpci_register(vp, "bxkd.flood", flood, NULL));
	ASSERT_RPCI("bxkd.flood", "0 Reply too large");
}
END_TEST

/* ---- high-bandwidth port ------------------------------------------------------ */

/* T15, T19: a request out and its reply in, one instruction each, through
 * segment bases and non-contiguous pages. */
START_TEST(high_bandwidth_round_trip)
{
	struct channel ch = open_channel(RPCI_COOKIE);
	char request[3000];
	struct guest_port_access access;

	memcpy(request, "info-set guestinfo.big ", 23);
	for (size_t i = 23; i < sizeof(request); i++)
		request[i] = (char)('a' + i % 26);
	fake_vcpu_poke(&cpu, DS_BASE + BUFFER, request, sizeof(request));

	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, sizeof(request)), SENDSIZE_OK);
	ck_assert_uint_eq(hb(&ch, GUEST_PORT_OUT, BUFFER, sizeof(request), &access), 0x00010000u);
	ck_assert(access.string_op_done);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSIZE, 0), RECVSIZE_REPLY);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 2);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSTATUS, 1), OK);

	const char get[] = "info-get guestinfo.big";
	fake_vcpu_poke(&cpu, DS_BASE + BUFFER, get, sizeof(get) - 1);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, sizeof(get) - 1), SENDSIZE_OK);
	ck_assert_uint_eq(hb(&ch, GUEST_PORT_OUT, BUFFER, sizeof(get) - 1, NULL), 0x00010000u);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSIZE, 0), RECVSIZE_REPLY);
	uint32_t len = (uint32_t)cpu.reg[GUEST_REG_EBX];
	ck_assert_uint_eq(len, 2 + sizeof(request) - 23);
	ck_assert_uint_eq(hb(&ch, GUEST_PORT_IN, BUFFER, len, &access), 0x00010000u);
	ck_assert(access.string_op_done);
	ck_assert_uint_eq(access.in_value, '1'); /* what the CPU stores at ES:EDI */

	char *reply = malloc(len);
	fake_vcpu_peek(&cpu, ES_BASE + BUFFER, reply, len);
	ck_assert_mem_eq(reply, "1 ", 2);
	ck_assert_mem_eq(reply + 2, request + 23, len - 2);
	free(reply);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSTATUS, 1), OK);
	ck_assert_uint_eq(vmport_get_stats(vp)->hb_transfers, 3);
}
END_TEST

/* The core follows VMware: only EBX changes. (Ending Bochs' REP loop is the
 * emulator glue's business.) */
START_TEST(high_bandwidth_changes_only_ebx)
{
	struct channel ch = open_channel(RPCI_COOKIE);

	fake_vcpu_poke(&cpu, DS_BASE + BUFFER, "log x", 5);
	chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, 5);
	fake_vcpu_clear_writes(&cpu);
	hb(&ch, GUEST_PORT_OUT, BUFFER, 5, NULL);
	ck_assert_uint_eq(cpu.reg_writes[GUEST_REG_EBX], 0); /* 0x00010000 in, same out */
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ECX], 5);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ESI], BUFFER);
}
END_TEST

START_TEST(high_bandwidth_refusals)
{
	struct channel ch = open_channel(RPCI_COOKIE), wrong = ch;
	struct guest_port_access access;

	/* Nothing to send into. */
	ck_assert_uint_eq(hb(&ch, GUEST_PORT_OUT, BUFFER, 4, &access), 0);
	ck_assert(access.string_op_done);
	/* More than SENDSIZE announced. */
	chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, 4);
	ck_assert_uint_eq(hb(&ch, GUEST_PORT_OUT, BUFFER, 5, NULL), 0);
	/* Wrong cookie (OUT takes the high one from EBP). */
	wrong.cookie_high ^= 1;
	ck_assert_uint_eq(hb(&wrong, GUEST_PORT_OUT, BUFFER, 4, NULL), 0);
	/* A page that is not mapped. */
	cpu.unmapped_linear = DS_BASE + 0x3000;
	ck_assert_uint_eq(hb(&ch, GUEST_PORT_OUT, 0x2ffe, 4, NULL), 0);
	/* Not the MESSAGE high-bandwidth command. */
	fake_vcpu_load(&cpu, BDOOR_MAGIC, 0x00010000u | BDOORHB_CMD_VASSERT, 4,
		       (ch.edx & 0xffff0000u) | BDOOR_PORT_HB, BUFFER, ch.cookie_low);
	cpu.reg[GUEST_REG_EBP] = ch.cookie_high;
	fake_vcpu_io(&cpu, vp, BDOOR_PORT_HB, GUEST_PORT_OUT);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], BDOORHB_CMD_VASSERT);
	/* After all that, the send still works. */
	fake_vcpu_poke(&cpu, DS_BASE + BUFFER, "log", 3);
	fake_vcpu_poke(&cpu, DS_BASE + BUFFER + 3, "!", 1);
	ck_assert_uint_eq(hb(&ch, GUEST_PORT_OUT, BUFFER, 4, NULL), 0x00010000u);
}
END_TEST

/* A refused REP INSB leaves the guest's buffer alone: the byte handed back
 * for the CPU to store is the one already there. */
START_TEST(a_refused_receive_leaves_the_buffer_alone)
{
	struct channel ch = open_channel(RPCI_COOKIE);
	struct guest_port_access access;

	fake_vcpu_poke(&cpu, ES_BASE + BUFFER, "\x5a", 1);
	ck_assert_uint_eq(hb(&ch, GUEST_PORT_IN, BUFFER, 4, &access), 0);
	ck_assert(access.string_op_done);
	ck_assert_uint_eq(access.in_value, 0x5a);
}
END_TEST

/* The reply of `len` bytes ("1 " and a guestinfo value) waiting on a fresh
 * channel, its size read. */
static struct channel reply_waiting(uint32_t len)
{
	char set[128 + 32], value[128];

	ck_assert_uint_ge(len, 3);
	ck_assert_uint_le(len - 2, sizeof(value) - 1);
	memset(value, 'v', len - 2);
	value[len - 2] = '\0';
	snprintf(set, sizeof(set), "info-set guestinfo.v %s", value);
	free(rpci(set));
	struct channel ch = open_channel(RPCI_COOKIE);
	send_lb(&ch, "info-get guestinfo.v", 20);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSIZE, 0), RECVSIZE_REPLY);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], len);
	return ch;
}

/* F1: once the whole reply is read, a 0-byte REP INSB (or a plain IN) on
 * 0x5659 has nothing to deliver; the byte it hands the CPU is the guest's
 * own, never the one past the reply (past the heap block when the reply
 * fills it exactly, as 64 and 128 bytes do). */
START_TEST(a_zero_byte_receive_after_the_reply_hands_back_the_guests_byte)
{
	static const uint32_t lengths[] = { 3, 63, 64, 65, 128 };

	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		struct channel ch = reply_waiting(lengths[i]);
		struct guest_port_access access;
		uint8_t before[16], after[16];

		ck_assert_uint_eq(hb(&ch, GUEST_PORT_IN, BUFFER, lengths[i], NULL), OK);
		fake_vcpu_poke(&cpu, ES_BASE + BUFFER + lengths[i], "\xa5\xa5\xa5\xa5", 4);
		fake_vcpu_peek(&cpu, ES_BASE + BUFFER + lengths[i], before, sizeof(before));
		ck_assert_uint_eq(hb(&ch, GUEST_PORT_IN, BUFFER + lengths[i], 0, &access), OK);
		ck_assert(access.string_op_done);
		ck_assert_uint_eq(access.in_value, 0xa5);
		fake_vcpu_peek(&cpu, ES_BASE + BUFFER + lengths[i], after, sizeof(after));
		ck_assert_mem_eq(before, after, sizeof(before));
		/* And past the end it stays refused, the guest's byte again. */
		ck_assert_uint_eq(hb(&ch, GUEST_PORT_IN, BUFFER + lengths[i], 1, &access), 0);
		ck_assert_uint_eq(access.in_value, 0xa5);
		ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSTATUS, 1), OK);
		ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_CLOSE, 0), OK);
	}
}
END_TEST

/* F3: a receive whose buffer runs into an unmapped page is refused before
 * a byte is written, including the pages before the hole. */
START_TEST(a_receive_refused_at_a_later_page_writes_no_page)
{
	struct channel ch = reply_waiting(100);
	struct guest_port_access access;
	uint8_t pattern[0x80], seen[0x80];

	memset(pattern, 0x3c, sizeof(pattern));
	fake_vcpu_poke(&cpu, ES_BASE + 0x0f80, pattern, sizeof(pattern));
	cpu.unmapped_linear = ES_BASE + 0x1000;
	ck_assert_uint_eq(hb(&ch, GUEST_PORT_IN, 0x0fc0, 100, &access), 0);
	ck_assert_uint_eq(access.in_value, 0x3c);
	fake_vcpu_peek(&cpu, ES_BASE + 0x0f80, seen, sizeof(seen));
	ck_assert_mem_eq(seen, pattern, sizeof(pattern));
	/* The reply is still whole: once the page is back it arrives. */
	cpu.unmapped_linear = ES_BASE + 0x5000;
	ck_assert_uint_eq(hb(&ch, GUEST_PORT_IN, 0x0fc0, 100, &access), OK);
	ck_assert_uint_eq(access.in_value, '1');
}
END_TEST

START_TEST(high_bandwidth_without_magic_is_an_empty_port)
{
	fake_vcpu_load(&cpu, 0, 0x00010000u, 4, BDOOR_PORT_HB, BUFFER, 0);
	struct guest_port_access access = fake_vcpu_io(&cpu, vp, BDOOR_PORT_HB, GUEST_PORT_IN);

	ck_assert(!access.string_op_done);
	ck_assert_uint_eq(access.in_value, 0xffffffffu);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
}
END_TEST

/* ---- checkpoints ---------------------------------------------------------- */

/* open-vm-tools retries its whole send after CPT. */
START_TEST(a_restored_machine_gets_cpt_once_and_retries)
{
	struct channel ch = open_channel(RPCI_COOKIE);

	chan_step(&ch, BDOOR_MESSAGE_SENDSIZE, 8);
	chan_step(&ch, BDOOR_MESSAGE_SENDPAYLOAD, 0x20676f6c); /* "log " */
	vmport_restored_from_checkpoint(vp);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_SENDPAYLOAD, 0x21212121),
			  STATUS(BDOOR_MESSAGE_STATUS_CPT));
	send_lb(&ch, "log again", 9);
	char *reply = recv_lb(&ch, NULL);
	ck_assert_str_eq(reply, "1 ");
	free(reply);
	ck_assert_str_eq(logged, "guest: again");
}
END_TEST

/* ---- TCLO ------------------------------------------------------------------ */

struct answers {
	unsigned count;
	char command[64], answer[64];
};

static void record_answer(void *ctx, const char *command, const uint8_t *answer, size_t len)
{
	struct answers *a = ctx;

	a->count++;
	snprintf(a->command, sizeof(a->command), "%s", command);
	snprintf(a->answer, sizeof(a->answer), "%.*s", (int)len, (const char *)answer);
}

/* The host asks, the guest answers: each guest message answers the last
 * command and polls for the next. */
START_TEST(tclo_delivers_host_commands_in_order)
{
	struct answers answers = { 0 };
	vmport_tclo_on_answer(vp, record_answer, &answers);
	struct channel ch = open_channel(TCLO_COOKIE);

	send_lb(&ch, "", 0); /* first poll: nothing queued */
	ck_assert_uint_eq(answers.count, 1);
	ck_assert_str_eq(answers.command, "");
	ck_assert_ptr_null(recv_lb(&ch, NULL));

	ck_assert(vmport_tclo_queue(vp, "reset"));
	ck_assert(vmport_tclo_queue(vp, "ping"));
	send_lb(&ch, "", 0);
	char *command = recv_lb(&ch, NULL);
	ck_assert_str_eq(command, "reset");
	free(command);
	send_lb(&ch, "OK ATR toolbox", 14);
	ck_assert_str_eq(answers.command, "reset");
	ck_assert_str_eq(answers.answer, "OK ATR toolbox");
	command = recv_lb(&ch, NULL);
	ck_assert_str_eq(command, "ping");
	free(command);
	send_lb(&ch, "OK ", 3);
	ck_assert_str_eq(answers.command, "ping");
	ck_assert_ptr_null(recv_lb(&ch, NULL));
	ck_assert_uint_eq(answers.count, 4);
}
END_TEST

/* The host may queue an empty command: the guest receives a reply of no
 * bytes, over either port, and its answer comes back with it. */
START_TEST(an_empty_tclo_command_is_an_empty_reply)
{
	struct answers answers = { 0 };
	struct guest_port_access access;
	vmport_tclo_on_answer(vp, record_answer, &answers);
	struct channel ch = open_channel(TCLO_COOKIE);

	ck_assert(vmport_tclo_queue(vp, ""));
	ck_assert(vmport_tclo_queue(vp, "ping"));
	send_lb(&ch, "", 0);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSIZE, 0), RECVSIZE_REPLY);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 0);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVPAYLOAD, 1), 0);
	fake_vcpu_poke(&cpu, ES_BASE + BUFFER, "\x77", 1);
	ck_assert_uint_eq(hb(&ch, GUEST_PORT_IN, BUFFER, 0, &access), OK);
	ck_assert_uint_eq(access.in_value, 0x77);
	ck_assert_uint_eq(chan_step(&ch, BDOOR_MESSAGE_RECVSTATUS, 1), OK);
	send_lb(&ch, "OK ", 3);
	ck_assert_str_eq(answers.command, "");
	ck_assert_str_eq(answers.answer, "OK ");
	char *command = recv_lb(&ch, NULL);
	ck_assert_str_eq(command, "ping");
	free(command);
}
END_TEST

/* ---- robustness ------------------------------------------------------------- */

static uint32_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return (uint32_t)(*state >> 16);
}

/* Whatever a guest puts in its registers, the device answers without
 * reading or writing outside the guest's memory (the fake aborts if it
 * does) and without crashing. */
START_TEST(random_calls_are_answered_safely)
{
	uint64_t state = 0x2545f4914f6cdd1dull;
	static const uint16_t steps[] = { 0, 1, 2, 3, 4, 5, 6, 7 };

	cpu.unmapped_linear = DS_BASE + 0x5000;
	for (int i = 0; i < 200000; i++) {
		uint32_t r = next_random(&state);
		bool hb_port = r & 1, message = r & 2;
		cpu.cpl = (r >> 2) & 3;
		fake_vcpu_load(&cpu, (r & 0x30) ? BDOOR_MAGIC : next_random(&state),
			       next_random(&state),
			       message ? (uint32_t)steps[(r >> 6) & 7] << 16 | BDOOR_CMD_MESSAGE
				       : next_random(&state) % 128,
			       (next_random(&state) % 10) << 16 | BDOOR_PORT, next_random(&state),
			       next_random(&state));
		cpu.reg[GUEST_REG_EBP] = next_random(&state);
		if (hb_port) {
			cpu.reg[GUEST_REG_EBX] &= 0xffff0000u;
			cpu.reg[GUEST_REG_ECX] = next_random(&state) % 70000;
			cpu.reg[GUEST_REG_ESI] = next_random(&state) % 0x9000;
			cpu.reg[GUEST_REG_EDI] = next_random(&state) % 0x9000;
		}
		if (message && ((r >> 6) & 7) == BDOOR_MESSAGE_OPEN)
			cpu.reg[GUEST_REG_EBX] = r & 0x100 ? RPCI_COOKIE : TCLO_COOKIE;
		fake_vcpu_io(&cpu, vp, hb_port ? BDOOR_PORT_HB : BDOOR_PORT,
			     r & 0x200 ? GUEST_PORT_OUT : GUEST_PORT_IN);
	}
	ck_assert_uint_gt(vmport_get_stats(vp)->calls, 100000);
}
END_TEST

BXKD_SUITE(guestrpc,
	testcases_add_with(s, "open", 0, setup, teardown, TESTS(
		open_with_cookies_returns_channel_and_cookies, open_without_cookies_leaves_esi_edi,
		cookies_repeat_for_the_same_seed_and_differ_between_channels,
		open_refuses_unknown_protocols, at_most_eight_channels));
	testcases_add_with(s, "refused", 0, setup, teardown, TESTS(
		wrong_cookies_are_refused, channels_without_cookies_ignore_esi_edi,
		wrong_channels_are_refused, closing_a_closed_channel_is_refused,
		messages_over_64_kib_are_refused, steps_out_of_order_are_refused,
		recvsize_with_nothing_waiting));
	testcases_add_with(s, "rpci", 0, setup, teardown, TESTS(
		a_request_and_its_reply_with_exact_status_words, virtualkd_style_steps_work,
		info_set_and_info_get, only_guestinfo_variables_are_the_guests,
		the_host_sees_and_sets_guestinfo, guestinfo_is_bounded,
		log_goes_to_the_device_log_printably, tools_set_version_is_remembered,
		an_empty_request_is_an_unknown_command, unknown_requests_get_unknown_command,
		handlers_can_be_added_and_replaced,
		replies_over_64_kib_become_an_error));
	testcases_add_with(s, "high_bandwidth", 0, setup, teardown, TESTS(
		high_bandwidth_round_trip, high_bandwidth_changes_only_ebx,
		high_bandwidth_refusals, a_refused_receive_leaves_the_buffer_alone,
		a_zero_byte_receive_after_the_reply_hands_back_the_guests_byte,
		a_receive_refused_at_a_later_page_writes_no_page,
		high_bandwidth_without_magic_is_an_empty_port));
	testcases_add_with(s, "other", 0, setup, teardown, TESTS(
		a_restored_machine_gets_cpt_once_and_retries, tclo_delivers_host_commands_in_order,
		an_empty_tclo_command_is_an_empty_reply, random_calls_are_answered_safely));
)
