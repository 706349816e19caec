/*
 * check_kdvm_host.c -- the device's side of the KD transport (bxkd/kdvm.h,
 * bochs-plugin/vmport_kd.c) driven through a fake vCPU, with the in-memory
 * debugger (kd_test_peer) behind the kd host port.
 *
 * The page is guest memory and the guest is not trusted: most of these
 * tests hand the device a page with one field out of range and check that
 * it answers with a status, calls nothing and writes nothing. Every call
 * goes through a watching vCPU that sees each guest memory access, so a
 * write the protocol does not allow fails whichever test made it.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/backdoor.h"
#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "bxkd/kdvm.h"
#include "fake_vcpu.h"
#include "kd_test_peer.h"
#include "suites.h"
#include "testcases.h"
#include "vmport.h"

#define RAM_PAGES 64u
#define RAM_BYTES ((uint64_t)RAM_PAGES * KDVM_PAGE_SIZE)
#define PAGE_FRAME 10u
#define NONCE 0x6e6f6e63u
#define EBP_SEED 0xb0b0b0b0u
/* What the tests fill unused payload with, to see it stay. */
#define GUARD 0xa5u

/* Write-back covers header_length .. calls; the guest owns the rest. */
#define WRITE_BACK_FROM offsetof(struct kdvm_page_header, header_length)
#define WRITE_BACK_TO offsetof(struct kdvm_page_header, reserved)

static struct fake_vcpu cpu;
static struct guest_vcpu plain_cpu;   /* the fake's own table */
static struct guest_vcpu watched_cpu; /* the same, every memory access seen */
static struct vmport *vp;
static struct vmport_config config;
static struct kd_test_peer peer;
static uint8_t ram_before[RAM_BYTES];

/* ---- watching guest memory ------------------------------------------------- */

/* What the device did to guest memory during the last backdoor call. */
static struct {
	unsigned reads, writes;
	unsigned refused; /* accesses the fake refused: outside its RAM */
	unsigned watched_reads, watched_writes; /* touching [watch_from, watch_to) */
} trace;
static uint64_t watch_from, watch_to;
/* Writes anywhere but the write-back fields or the payload of a page, over
 * the whole test; teardown insists there are none. */
static unsigned stray_writes;

static bool overlaps_watch(uint64_t paddr, size_t len)
{
	return len && paddr < watch_to && watch_from < paddr + len;
}

static bool watched_read(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	trace.reads++;
	if (overlaps_watch(paddr, len))
		trace.watched_reads++;
	bool ok = plain_cpu.read_phys(ctx, paddr, buf, len);
	if (!ok)
		trace.refused++;
	return ok;
}

static bool watched_write(void *ctx, uint64_t paddr, const void *buf, size_t len)
{
	uint64_t offset = paddr % KDVM_PAGE_SIZE;

	trace.writes++;
	if (overlaps_watch(paddr, len))
		trace.watched_writes++;
	bool write_back = offset == WRITE_BACK_FROM && len == WRITE_BACK_TO - WRITE_BACK_FROM;
	bool payload = offset >= sizeof(struct kdvm_page_header) && len <= KDVM_PAGE_SIZE - offset;
	if (!write_back && !payload)
		stray_writes++;
	bool ok = plain_cpu.write_phys(ctx, paddr, buf, len);
	if (!ok)
		trace.refused++;
	return ok;
}

static void watch(uint64_t frame)
{
	watch_from = frame * KDVM_PAGE_SIZE;
	watch_to = watch_from + KDVM_PAGE_SIZE;
}

/* ---- the device ------------------------------------------------------------ */

static void make_device_with_port(bool with_port)
{
	vmport_destroy(vp);
	vp = vmport_create(&config, NULL);
	ck_assert_ptr_nonnull(vp);
	if (with_port)
		vmport_set_kd_port(vp, &peer.port);
}

static void make_device(void)
{
	make_device_with_port(true);
}

static void set(const char *key, const char *value)
{
	char error[256];

	ck_assert_msg(vmport_config_set(&config, key, value, error, sizeof(error)), "%s", error);
}

static const struct vmport_stats *stats(void)
{
	return vmport_get_stats(vp);
}

/* Guest RAM of `bytes`, which may be less than the device's ram_bytes: the
 * fake's bounds check then refuses what lies past it. */
static void give_memory(uint64_t bytes)
{
	fake_vcpu_free(&cpu);
	fake_vcpu_init(&cpu, bytes);
	plain_cpu = cpu.vcpu;
	watched_cpu = cpu.vcpu;
	watched_cpu.read_phys = watched_read;
	watched_cpu.write_phys = watched_write;
}

static void setup(void)
{
	vmport_config_init(&config);
	config.ram_bytes = RAM_BYTES;
	memset(&cpu, 0, sizeof(cpu));
	give_memory(RAM_BYTES);
	kd_test_peer_init(&peer);
	memset(&trace, 0, sizeof(trace));
	watch_from = watch_to = 0;
	stray_writes = 0;
	vp = NULL;
	make_device();
}

static void teardown(void)
{
	ck_assert_msg(stray_writes == 0, "the device wrote %u times outside what it may write",
		      stray_writes);
	vmport_destroy(vp);
	vp = NULL;
	kd_test_peer_free(&peer);
	fake_vcpu_free(&cpu);
}

/* One backdoor IN at the current CPL; returns EAX as the guest reads it. */
static uint32_t backdoor(uint32_t ebx, uint32_t ecx, uint32_t esi, uint32_t edi)
{
	struct guest_port_access access = { .port = BDOOR_PORT, .dir = GUEST_PORT_IN };

	fake_vcpu_load(&cpu, BDOOR_MAGIC, ebx, ecx, BDOOR_PORT, esi, edi);
	cpu.reg[GUEST_REG_EBP] = EBP_SEED;
	fake_vcpu_clear_writes(&cpu);
	memset(&trace, 0, sizeof(trace));
	vmport_io(vp, &watched_cpu, &access);
	cpu.reg[GUEST_REG_EAX] = access.in_value;
	return access.in_value;
}

static uint32_t kd(uint16_t subcommand, uint32_t esi, uint32_t edi)
{
	return backdoor(KDVM_MAGIC, (uint32_t)subcommand << 16 | config.kd_command, esi, edi);
}

static uint32_t register_frame(uint64_t frame)
{
	return kd(KDVM_SUB_REGISTER, (uint32_t)frame, (uint32_t)(frame >> 32));
}

static uint32_t call(void)
{
	return kd(KDVM_SUB_CALL, NONCE, 0);
}

/* ---- pages ------------------------------------------------------------------- */

static struct kdvm_page *page_at(uint64_t frame)
{
	ck_assert_uint_le((frame + 1) * KDVM_PAGE_SIZE, cpu.memory_size);
	return (struct kdvm_page *)(cpu.memory + frame * KDVM_PAGE_SIZE);
}

/* A header the device accepts, as the guest module writes it; reserved
 * is not zero so that a write-back reaching it shows. */
static void write_identity(struct kdvm_page_header *h, uint32_t nonce)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->signature, KDVM_SIGNATURE, sizeof(h->signature));
	h->nonce = nonce;
	h->version = KDVM_PROTOCOL_VERSION;
	h->header_size = sizeof(*h);
	h->result = KDVM_RESULT_UNTOUCHED;
	memset(h->reserved, 0x5a, sizeof(h->reserved));
}

static struct kdvm_page *make_page(uint64_t frame, uint32_t nonce)
{
	struct kdvm_page *p = page_at(frame);

	write_identity(&p->h, nonce);
	memset(p->payload, GUARD, sizeof(p->payload));
	return p;
}

static struct kdvm_page *registered_page(void)
{
	struct kdvm_page *p = make_page(PAGE_FRAME, NONCE);

	ck_assert_uint_eq(register_frame(PAGE_FRAME), KDVM_STATUS_OK);
	return p;
}

static uint8_t pattern(size_t i, uint8_t salt)
{
	return (uint8_t)(i * 7u + (i >> 8) + salt);
}

static void fill_pattern(uint8_t *bytes, size_t n, uint8_t salt)
{
	for (size_t i = 0; i < n; i++)
		bytes[i] = pattern(i, salt);
}

static void ask_send(struct kdvm_page_header *h, uint32_t type, uint16_t header_length,
		     uint16_t data_length)
{
	h->request = KDVM_REQUEST_SEND;
	h->packet_type = type;
	h->header_length = header_length;
	h->data_length = data_length;
	h->header_capacity = h->data_capacity = 0;
	h->result = KDVM_RESULT_UNTOUCHED;
}

/* A send of `header_length` + `data_length` pattern bytes. */
static void ask_send_pattern(struct kdvm_page *p, uint32_t type, uint16_t header_length,
			     uint16_t data_length)
{
	size_t total = (size_t)header_length + data_length;

	ask_send(&p->h, type, header_length, data_length);
	fill_pattern(p->payload, total < KDVM_PAYLOAD_CAPACITY ? total : KDVM_PAYLOAD_CAPACITY,
		     0x11);
}

/* Lengths the guest module zeroes; 0x7777 shows whether the device set them. */
static void ask_receive(struct kdvm_page_header *h, uint32_t type, uint16_t header_capacity,
			uint16_t data_capacity, uint32_t timeout_ms)
{
	h->request = KDVM_REQUEST_RECEIVE;
	h->packet_type = type;
	h->header_capacity = header_capacity;
	h->data_capacity = data_capacity;
	h->header_length = h->data_length = 0x7777;
	h->timeout_ms = timeout_ms;
	h->result = KDVM_RESULT_UNTOUCHED;
}

static void ask_poll(struct kdvm_page_header *h)
{
	h->request = KDVM_REQUEST_POLL_BREAKIN;
	h->packet_type = KDCOM_TYPE_POLL_BREAKIN;
	h->result = KDVM_RESULT_UNTOUCHED;
}

static void remember_ram(void)
{
	memcpy(ram_before, cpu.memory, cpu.memory_size);
}

static void assert_ram_unchanged(void)
{
	ck_assert_msg(!memcmp(ram_before, cpu.memory, cpu.memory_size),
		      "guest memory changed where nothing may change");
}

/* Unchanged outside [from, to). */
static void assert_ram_unchanged_outside(uint64_t from, uint64_t to)
{
	ck_assert(!memcmp(ram_before, cpu.memory, from));
	ck_assert(!memcmp(ram_before + to, cpu.memory + to, cpu.memory_size - to));
}

/* One assertion for the lot: each ck_assert costs Check a message to its
 * log, too much for every byte. */
static void assert_guarded_from(const uint8_t *bytes, size_t from, size_t size)
{
	size_t at = from;

	while (at < size && bytes[at] == GUARD)
		at++;
	ck_assert_msg(at == size, "payload byte %zu was written", at);
}

/* The guest's part of a page's header is as it was. */
static void assert_guest_fields_unchanged(uint64_t frame)
{
	const uint8_t *now = cpu.memory + frame * KDVM_PAGE_SIZE;
	const uint8_t *was = ram_before + frame * KDVM_PAGE_SIZE;

	ck_assert(!memcmp(now, was, WRITE_BACK_FROM));
	ck_assert(!memcmp(now + WRITE_BACK_TO, was + WRITE_BACK_TO,
			  sizeof(struct kdvm_page_header) - WRITE_BACK_TO));
}

/* ---- HELLO ----------------------------------------------------------------- */

START_TEST(hello_answers_magic_version_discovery_and_flags)
{
	ck_assert_uint_eq(kd(KDVM_SUB_HELLO, 0x51515151, 0xd1d1d1d1), KDVM_STATUS_OK);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], KDVM_MAGIC);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ECX], KDVM_PROTOCOL_VERSION);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ESI], KDVM_DISCOVERY_REGISTER);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDI], KDVM_HELLO_TRANSPORT | KDVM_HELLO_DEBUGGER);
	/* EDX is the port and stays it, unwritten, as for every command. */
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX], BDOOR_PORT);
	ck_assert_uint_eq(cpu.reg_writes[GUEST_REG_EDX], 0);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBP], EBP_SEED);
	ck_assert_uint_eq(cpu.reg_writes[GUEST_REG_EBP], 0);
	ck_assert_uint_eq(trace.reads + trace.writes, 0);
	ck_assert_uint_eq(peer.calls.debugger_attached, 1);
}
END_TEST

START_TEST(hello_without_an_attached_debugger_says_transport_only)
{
	peer.debugger_attached = false;
	ck_assert_uint_eq(kd(KDVM_SUB_HELLO, 0, 0), KDVM_STATUS_OK);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDI], KDVM_HELLO_TRANSPORT);
}
END_TEST

/* The guest must be able to tell "no debugger endpoint" from "no device". */
START_TEST(hello_without_a_port_answers_but_offers_no_transport)
{
	make_device_with_port(false);
	ck_assert_uint_eq(kd(KDVM_SUB_HELLO, 0, 0), KDVM_STATUS_OK);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], KDVM_MAGIC);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ECX], KDVM_PROTOCOL_VERSION);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDI], 0);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX], BDOOR_PORT);
	ck_assert_uint_eq(kd_test_peer_total_calls(&peer), 0);
}
END_TEST

START_TEST(hello_reports_scan_discovery)
{
	set("kd_discovery", "scan");
	make_device();
	ck_assert_uint_eq(kd(KDVM_SUB_HELLO, 0, 0), KDVM_STATUS_OK);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ESI], KDVM_DISCOVERY_SCAN);
}
END_TEST

/* ---- REGISTER ---------------------------------------------------------------- */

START_TEST(register_accepts_a_page_with_signature_version_and_header_size)
{
	struct kdvm_page *p = make_page(PAGE_FRAME, NONCE);

	remember_ram();
	ck_assert_uint_eq(register_frame(PAGE_FRAME), KDVM_STATUS_OK);
	/* Registering reads the page and writes nothing. */
	ck_assert_uint_eq(trace.writes, 0);
	assert_ram_unchanged();

	ask_poll(&p->h);
	peer.breakin_pending = true;
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_OK);
	ck_assert_uint_eq(p->h.calls, 1);
}
END_TEST

START_TEST(register_accepts_the_last_page_of_ram_and_it_works)
{
	struct kdvm_page *p = make_page(RAM_PAGES - 1, NONCE);

	ck_assert_uint_eq(register_frame(RAM_PAGES - 1), KDVM_STATUS_OK);
	ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, KDCOM_MAX_PAYLOAD - 16);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_OK);
	ck_assert_uint_eq(kd_test_peer_sent(&peer, 0)->data_length, KDCOM_MAX_PAYLOAD - 16);
	ck_assert(!memcmp(kd_test_peer_sent(&peer, 0)->data, p->payload + 16,
			  KDCOM_MAX_PAYLOAD - 16));

	uint8_t message[KDCOM_MAX_PAYLOAD];
	fill_pattern(message, sizeof(message), 0x33);
	kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, message, 56, message + 56,
			   sizeof(message) - 56);
	ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 56, 0x1000, 10);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_OK);
	ck_assert_uint_eq(p->h.data_length, KDCOM_MAX_PAYLOAD - 56);
	ck_assert(!memcmp(p->payload, message, sizeof(message)));
}
END_TEST

/* Frame numbers count from 0: RAM_PAGES is the first frame past the end. */
START_TEST(register_refuses_the_frame_just_past_ram)
{
	ck_assert_uint_eq(register_frame(RAM_PAGES), KDVM_STATUS_BAD_FRAME);
	ck_assert_uint_eq(trace.reads + trace.writes, 0);
	ck_assert_uint_eq(call(), KDVM_STATUS_NOT_REGISTERED);
}
END_TEST

/* EDI carries frame bits 63:32. 2^52 + PAGE_FRAME times the page size
 * wraps to a page that is valid: a device that multiplied before checking
 * would take it. */
START_TEST(register_refuses_huge_frames_given_in_edi)
{
	static const uint32_t edi[] = { 1, 0x00100000u, 0x80000000u, 0xffffffffu };

	make_page(PAGE_FRAME, NONCE);
	watch(PAGE_FRAME);
	for (size_t i = 0; i < sizeof(edi) / sizeof(*edi); i++) {
		ck_assert_uint_eq(kd(KDVM_SUB_REGISTER, PAGE_FRAME, edi[i]), KDVM_STATUS_BAD_FRAME);
		ck_assert_uint_eq(trace.watched_reads, 0);
		ck_assert_uint_eq(kd(KDVM_SUB_REGISTER, 0xffffffffu, edi[i]), KDVM_STATUS_BAD_FRAME);
	}
	ck_assert_uint_eq(call(), KDVM_STATUS_NOT_REGISTERED);
}
END_TEST

START_TEST(register_refuses_a_page_without_the_signature)
{
	struct kdvm_page *p = make_page(PAGE_FRAME, NONCE);

	p->h.signature[7] ^= 0x20; /* "bxKDpagE" */
	ck_assert_uint_eq(register_frame(PAGE_FRAME), KDVM_STATUS_BAD_PAGE);
	memset(p->h.signature, 0, sizeof(p->h.signature));
	ck_assert_uint_eq(register_frame(PAGE_FRAME), KDVM_STATUS_BAD_PAGE);
	ck_assert_uint_eq(register_frame(0), KDVM_STATUS_BAD_PAGE); /* zeroed RAM */
	ck_assert_uint_eq(call(), KDVM_STATUS_NOT_REGISTERED);
}
END_TEST

START_TEST(register_refuses_another_protocol_version)
{
	static const uint16_t versions[] = { 0, KDVM_PROTOCOL_VERSION + 1, 0xffff };
	struct kdvm_page *p = make_page(PAGE_FRAME, NONCE);

	for (size_t i = 0; i < sizeof(versions) / sizeof(*versions); i++) {
		p->h.version = versions[i];
		ck_assert_uint_eq(register_frame(PAGE_FRAME), KDVM_STATUS_BAD_PAGE);
	}
	ck_assert_uint_eq(call(), KDVM_STATUS_NOT_REGISTERED);
}
END_TEST

START_TEST(register_refuses_another_header_size)
{
	static const uint16_t sizes[] = { 0, 63, 65, 128, 0xffff };
	struct kdvm_page *p = make_page(PAGE_FRAME, NONCE);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		p->h.header_size = sizes[i];
		ck_assert_uint_eq(register_frame(PAGE_FRAME), KDVM_STATUS_BAD_PAGE);
	}
	ck_assert_uint_eq(call(), KDVM_STATUS_NOT_REGISTERED);
}
END_TEST

START_TEST(register_is_refused_under_scan_discovery)
{
	set("kd_discovery", "scan");
	make_device();
	make_page(PAGE_FRAME, NONCE);
	ck_assert_uint_eq(register_frame(PAGE_FRAME), KDVM_STATUS_WRONG_DISCOVERY);
	ck_assert_uint_eq(trace.reads, 0);
}
END_TEST

START_TEST(unregister_makes_the_device_forget_the_page)
{
	struct kdvm_page *p = registered_page();

	ask_poll(&p->h);
	ck_assert_uint_eq(kd(KDVM_SUB_UNREGISTER, 0, 0), KDVM_STATUS_OK);
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_NOT_REGISTERED);
	assert_ram_unchanged();
	ck_assert_uint_eq(peer.calls.poll_breakin, 0);
}
END_TEST

/* Register discovery checks the page's identity at every call, so a page
 * the guest has since reused for something else is not written. */
START_TEST(a_registered_page_that_lost_its_signature_is_a_bad_page)
{
	struct kdvm_page *p = registered_page();

	ask_poll(&p->h);
	p->h.signature[0] = 0;
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_BAD_PAGE);
	assert_ram_unchanged();
	ck_assert_uint_eq(peer.calls.poll_breakin, 0);
}
END_TEST

/* The header's call count starts again with each registration. */
START_TEST(calls_on_the_page_are_counted_in_its_header)
{
	struct kdvm_page *p = registered_page();

	ask_poll(&p->h);
	for (uint32_t n = 1; n <= 3; n++) {
		ck_assert_uint_eq(call(), KDVM_STATUS_OK);
		ck_assert_uint_eq(p->h.calls, n);
	}
	ck_assert_uint_eq(register_frame(PAGE_FRAME), KDVM_STATUS_OK);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.calls, 1);
}
END_TEST

/* ---- CPL and the command's other meanings ------------------------------------ */

/* The KD subcommands are the kernel's alone, like OS_NOT_FOUND itself:
 * refused exactly as VMware refuses its CPL 0 commands (EAX all ones,
 * nothing else changed), with no effect on the page or the debugger. */
START_TEST(every_kd_subcommand_at_cpl3_is_refused_as_vmware_refuses_cpl0_commands)
{
	static const uint16_t subcommands[] = { KDVM_SUB_HELLO, KDVM_SUB_REGISTER, KDVM_SUB_CALL,
						KDVM_SUB_UNREGISTER, 5, 0x7fff, 0xffff };
	struct kdvm_page *p = registered_page();
	unsigned refusals = 0;

	ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, 100);
	remember_ram();
	uint64_t kd_calls = stats()->kd_calls;
	for (unsigned level = 1; level <= 3; level++) {
		cpu.cpl = level;
		for (size_t i = 0; i < sizeof(subcommands) / sizeof(*subcommands); i++) {
			uint32_t esi = subcommands[i] == KDVM_SUB_CALL ? NONCE : PAGE_FRAME;

			ck_assert_uint_eq(kd(subcommands[i], esi, PAGE_FRAME), BDOOR_NO_ANSWER);
			refusals++;
			/* Every register but EAX as the guest loaded it. */
			ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], KDVM_MAGIC);
			ck_assert_uint_eq(cpu.reg[GUEST_REG_ECX],
					  (uint32_t)subcommands[i] << 16 | config.kd_command);
			ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX], BDOOR_PORT);
			ck_assert_uint_eq(cpu.reg[GUEST_REG_ESI], esi);
			ck_assert_uint_eq(cpu.reg[GUEST_REG_EDI], PAGE_FRAME);
			ck_assert_uint_eq(cpu.reg[GUEST_REG_EBP], EBP_SEED);
			ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
			ck_assert_uint_eq(trace.reads + trace.writes, 0);
			ck_assert_uint_eq(stats()->refused_commands, refusals);
		}
	}
	ck_assert_uint_eq(stats()->kd_calls, kd_calls);
	ck_assert_uint_eq(stats()->kd_errors, 0);
	ck_assert_uint_eq(kd_test_peer_total_calls(&peer), 0);
	assert_ram_unchanged();

	/* Still registered: the refused UNREGISTER did nothing. */
	cpu.cpl = 0;
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(peer.sent_count, 1);
}
END_TEST

/* A firmware's OS_NOT_FOUND has no KD magic in EBX; it keeps its meaning. */
START_TEST(another_ebx_keeps_plain_os_not_found)
{
	struct kdvm_page *p = registered_page();

	ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, 100);
	remember_ram();
	ck_assert_uint_eq(backdoor(KDVM_MAGIC ^ 1, KDVM_SUB_CALL << 16 | BDOOR_CMD_OS_NOT_FOUND,
				   NONCE, 0),
			  BDOOR_MAGIC);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
	ck_assert_uint_eq(backdoor(0, KDVM_SUB_HELLO << 16 | BDOOR_CMD_OS_NOT_FOUND, 0, 0),
			  BDOOR_MAGIC);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 0);
	ck_assert_uint_eq(stats()->kd_calls, 1); /* the REGISTER */
	ck_assert_uint_eq(kd_test_peer_total_calls(&peer), 0);
	assert_ram_unchanged();
}
END_TEST

START_TEST(subcommand_zero_keeps_plain_os_not_found)
{
	struct kdvm_page *p = registered_page();

	ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, 100);
	remember_ram();
	ck_assert_uint_eq(kd(0, NONCE, 0), BDOOR_MAGIC);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
	ck_assert_uint_eq(trace.reads + trace.writes, 0);
	ck_assert_uint_eq(stats()->kd_calls, 1);
	ck_assert_uint_eq(kd_test_peer_total_calls(&peer), 0);
	assert_ram_unchanged();
	/* ... and at CPL 3 it is refused as OS_NOT_FOUND, not as KD. */
	cpu.cpl = 3;
	ck_assert_uint_eq(kd(0, NONCE, 0), BDOOR_NO_ANSWER);
	ck_assert_uint_eq(stats()->refused_commands, 1);
}
END_TEST

START_TEST(unknown_subcommands_answer_bad_subcommand)
{
	static const uint16_t unknown[] = { 5, 6, 0x100, 0xffff };
	struct kdvm_page *p = registered_page();

	ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, 100);
	remember_ram();
	for (size_t i = 0; i < sizeof(unknown) / sizeof(*unknown); i++) {
		ck_assert_uint_eq(kd(unknown[i], NONCE, PAGE_FRAME), KDVM_STATUS_BAD_SUBCOMMAND);
		ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], KDVM_MAGIC);
		ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
	}
	ck_assert_uint_eq(stats()->kd_errors, 4);
	ck_assert_uint_eq(kd_test_peer_total_calls(&peer), 0);
	assert_ram_unchanged();
}
END_TEST

START_TEST(call_without_a_registered_page_answers_not_registered)
{
	struct kdvm_page *p = make_page(PAGE_FRAME, NONCE);

	ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, 100);
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_NOT_REGISTERED);
	ck_assert_uint_eq(trace.reads + trace.writes, 0);
	ck_assert_uint_eq(kd_test_peer_total_calls(&peer), 0);
	assert_ram_unchanged();
}
END_TEST

START_TEST(call_without_a_port_answers_no_transport)
{
	make_device_with_port(false);
	struct kdvm_page *p = registered_page();

	ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, 100);
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_NO_TRANSPORT);
	assert_ram_unchanged();
}
END_TEST

/* ---- requests ----------------------------------------------------------------- */

START_TEST(send_hands_header_and_data_to_the_debugger)
{
	struct kdvm_page *p = registered_page();

	ask_send_pattern(p, KDCOM_TYPE_STATE_CHANGE64, 240, 4);
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_OK);
	ck_assert_uint_eq(p->h.flags, KDVM_FLAG_DEBUGGER_PRESENT);
	const struct kd_test_packet *sent = kd_test_peer_sent(&peer, 0);
	ck_assert_uint_eq(sent->type, KDCOM_TYPE_STATE_CHANGE64);
	ck_assert_uint_eq(sent->header_length, 240);
	ck_assert_uint_eq(sent->data_length, 4);
	ck_assert(!memcmp(sent->header, p->payload, 240));
	ck_assert(!memcmp(sent->data, p->payload + 240, 4));
	/* The device writes only the write-back fields for a send. */
	assert_ram_unchanged_outside(PAGE_FRAME * KDVM_PAGE_SIZE + WRITE_BACK_FROM,
				     PAGE_FRAME * KDVM_PAGE_SIZE + WRITE_BACK_TO);
}
END_TEST

START_TEST(send_of_nothing_at_all_is_a_packet_of_no_bytes)
{
	struct kdvm_page *p = registered_page();

	ask_send(&p->h, KDCOM_TYPE_DEBUG_IO, 0, 0);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(kd_test_peer_sent(&peer, 0)->header_length, 0);
	ck_assert_uint_eq(kd_test_peer_sent(&peer, 0)->data_length, 0);
}
END_TEST

START_TEST(send_without_a_debugger_is_dropped_and_says_so)
{
	struct kdvm_page *p = registered_page();

	peer.send_result = KD_DROPPED;
	peer.debugger_present = false;
	ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, 20);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_DROPPED);
	ck_assert_uint_eq(p->h.flags, 0);
}
END_TEST

START_TEST(a_port_refusing_the_packet_makes_a_bad_request)
{
	struct kdvm_page *p = registered_page();

	peer.send_result = KD_INVALID;
	ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, 20);
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_BAD_REQUEST);
	assert_ram_unchanged();

	kd_test_peer_script_receive(&peer, KD_INVALID);
	ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 56, 0x1000, 100);
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_BAD_REQUEST);
	assert_ram_unchanged();
}
END_TEST

START_TEST(receive_delivers_header_data_and_lengths)
{
	struct kdvm_page *p = registered_page();
	uint8_t header[56], data[300];

	fill_pattern(header, sizeof(header), 0x40);
	fill_pattern(data, sizeof(data), 0x80);
	kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, header, sizeof(header), data,
			   sizeof(data));
	ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 56, 0x1000, 1000);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_OK);
	ck_assert_uint_eq(p->h.header_length, 56);
	ck_assert_uint_eq(p->h.data_length, 300);
	ck_assert_uint_eq(p->h.flags, KDVM_FLAG_DEBUGGER_PRESENT);
	ck_assert(!memcmp(p->payload, header, sizeof(header)));
	ck_assert(!memcmp(p->payload + 56, data, sizeof(data)));
	ck_assert_uint_eq(peer.last_receive_type, KDCOM_TYPE_STATE_MANIPULATE);
	ck_assert_uint_eq(peer.last_header_length, 56);
	ck_assert_uint_eq(peer.last_timeout_ms, 1000);
	ck_assert_uint_eq(peer.queued_count, 0);
}
END_TEST

/* Nothing came: the lengths say so and the payload is not written. */
START_TEST(receive_that_times_out_or_needs_a_resend_writes_no_payload)
{
	static const struct {
		enum kd_outcome port;
		uint32_t result;
	} cases[] = {
		{ KD_TIMED_OUT, KD_TIMED_OUT },
		{ KD_NEEDS_RESEND, KD_NEEDS_RESEND },
	};
	struct kdvm_page *p = registered_page();

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		kd_test_peer_script_receive(&peer, cases[i].port);
		ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 56, 0x1000, 1000);
		remember_ram();
		ck_assert_uint_eq(call(), KDVM_STATUS_OK);
		ck_assert_uint_eq(p->h.result, cases[i].result);
		ck_assert_uint_eq(p->h.header_length, 0);
		ck_assert_uint_eq(p->h.data_length, 0);
		assert_ram_unchanged_outside(PAGE_FRAME * KDVM_PAGE_SIZE + WRITE_BACK_FROM,
					     PAGE_FRAME * KDVM_PAGE_SIZE + WRITE_BACK_TO);
	}
	/* With nothing scripted and nothing queued the peer times out too. */
	ask_receive(&p->h, KDCOM_TYPE_DEBUG_IO, 16, 100, 0);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_TIMED_OUT);
}
END_TEST

START_TEST(receive_waits_at_most_the_protocol_maximum)
{
	struct kdvm_page *p = registered_page();

	ask_receive(&p->h, KDCOM_TYPE_DEBUG_IO, 16, 100, KDVM_TIMEOUT_MAX_MS);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(peer.last_timeout_ms, KDVM_TIMEOUT_MAX_MS);
}
END_TEST

START_TEST(poll_reports_a_pending_break_in_once)
{
	struct kdvm_page *p = registered_page();

	ask_poll(&p->h);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_TIMED_OUT);
	peer.breakin_pending = true;
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_OK);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_TIMED_OUT);
	ck_assert_uint_eq(peer.calls.poll_breakin, 3);
	ck_assert_uint_eq(peer.calls.send + peer.calls.receive, 0);
}
END_TEST

/* ---- hostile pages ------------------------------------------------------------- */

static unsigned port_requests(void)
{
	return peer.calls.send + peer.calls.receive + peer.calls.poll_breakin;
}

/* A call that fails with `status` and writes not a byte of guest memory;
 * returns how many requests the port saw. */
static unsigned assert_call_fails_untouched(uint32_t status)
{
	unsigned requests = port_requests();
	uint64_t errors = stats()->kd_errors;

	remember_ram();
	ck_assert_uint_eq(call(), status);
	ck_assert_uint_eq(trace.writes, 0);
	assert_ram_unchanged();
	ck_assert_uint_eq(stats()->kd_errors, errors + 1);
	return port_requests() - requests;
}

/* The page asks for something out of range: a failure status, the port
 * never called, and not a byte of guest memory written. */
static void assert_refused_untouched(uint32_t status)
{
	ck_assert_uint_eq(assert_call_fails_untouched(status), 0);
}

START_TEST(send_over_4000_bytes_is_a_bad_request)
{
	static const uint16_t lengths[][2] = {
		{ 0, 4001 }, { 4001, 0 }, { 2000, 2001 }, { 16, 4000 - 15 }, { 0xffff, 0xffff },
		{ 0xffff, 1 },
	};
	struct kdvm_page *p = registered_page();

	for (size_t i = 0; i < sizeof(lengths) / sizeof(*lengths); i++) {
		ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, lengths[i][0], lengths[i][1]);
		assert_refused_untouched(KDVM_STATUS_BAD_REQUEST);
	}
	/* 4000 exactly is a whole KD packet. */
	ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, 4000 - 16);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
}
END_TEST

START_TEST(receive_header_capacity_over_4000_is_a_bad_request)
{
	static const uint16_t capacities[] = { 4001, 4032, 0x8000, 0xffff };
	struct kdvm_page *p = registered_page();

	for (size_t i = 0; i < sizeof(capacities) / sizeof(*capacities); i++) {
		ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, capacities[i], 0, 100);
		assert_refused_untouched(KDVM_STATUS_BAD_REQUEST);
	}
	ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 4000, 0, 100);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(peer.last_header_length, 4000);
}
END_TEST

START_TEST(receive_timeout_over_the_maximum_is_a_bad_request)
{
	static const uint32_t timeouts[] = { KDVM_TIMEOUT_MAX_MS + 1, 0x80000000u, 0xffffffffu };
	struct kdvm_page *p = registered_page();

	for (size_t i = 0; i < sizeof(timeouts) / sizeof(*timeouts); i++) {
		ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 56, 0x1000, timeouts[i]);
		assert_refused_untouched(KDVM_STATUS_BAD_REQUEST);
	}
}
END_TEST

START_TEST(unknown_requests_are_bad_requests)
{
	static const uint32_t requests[] = { 0, KDVM_REQUEST_POLL_BREAKIN + 1, 0x100,
					     0xffffffffu };
	struct kdvm_page *p = registered_page();

	for (size_t i = 0; i < sizeof(requests) / sizeof(*requests); i++) {
		ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, 10);
		p->h.request = requests[i];
		assert_refused_untouched(KDVM_STATUS_BAD_REQUEST);
	}
}
END_TEST

/* Only data packets travel through KdSendPacket / KdReceivePacket; the
 * 0x10002 case has a valid type in its low 16 bits. */
START_TEST(control_and_unknown_packet_types_are_bad_requests)
{
	static const uint32_t types[] = { KDCOM_TYPE_UNUSED,	   KDCOM_TYPE_ACKNOWLEDGE,
					  KDCOM_TYPE_RESEND,	   KDCOM_TYPE_RESET,
					  KDCOM_TYPE_POLL_BREAKIN, KDCOM_TYPE_MAX,
					  13,			   0xffff,
					  0x10002,		   0xffffffffu };
	struct kdvm_page *p = registered_page();

	for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++) {
		ask_send_pattern(p, types[i], 16, 10);
		assert_refused_untouched(KDVM_STATUS_BAD_REQUEST);
		ask_receive(&p->h, types[i], 16, 100, 10);
		assert_refused_untouched(KDVM_STATUS_BAD_REQUEST);
	}
	ck_assert_uint_eq(kd_test_peer_total_calls(&peer), 0);
}
END_TEST

START_TEST(every_data_packet_type_is_accepted)
{
	static const uint32_t types[] = { 1, 2, 3, 7, 9, 10, 11 };
	struct kdvm_page *p = registered_page();

	for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++) {
		ask_send_pattern(p, types[i], 4, 4);
		ck_assert_uint_eq(call(), KDVM_STATUS_OK);
		ck_assert_uint_eq(kd_test_peer_sent(&peer, i)->type, types[i]);
		ask_receive(&p->h, types[i], 4, 4, 0);
		ck_assert_uint_eq(call(), KDVM_STATUS_OK);
		ck_assert_uint_eq(peer.last_receive_type, types[i]);
	}
}
END_TEST

/* kd64 offers 0x1000 bytes of data room; the port never sees more than
 * what 4000 leaves after the header. */
START_TEST(data_capacity_beyond_what_4000_leaves_is_clamped)
{
	static const struct {
		uint16_t header, data, seen;
	} cases[] = {
		{ 56, 0x1000, 4000 - 56 }, { 56, 0xffff, 4000 - 56 }, { 56, 4000 - 56, 4000 - 56 },
		{ 56, 100, 100 },	   { 4000, 10, 0 },	      { 0, 5000, 4000 },
	};
	struct kdvm_page *p = registered_page();

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, cases[i].header, cases[i].data, 0);
		ck_assert_uint_eq(call(), KDVM_STATUS_OK);
		ck_assert_uint_eq(peer.last_header_length, cases[i].header);
		ck_assert_uint_eq(peer.last_data_capacity, cases[i].seen);
	}
}
END_TEST

/* A port that breaks its promise must not make the device copy more than
 * the guest made room for; it answers BAD_REQUEST and writes nothing. */
START_TEST(a_port_returning_more_data_than_asked_is_a_bad_request)
{
	struct kdvm_page *p = registered_page();
	uint8_t bytes[400];

	fill_pattern(bytes, sizeof(bytes), 0x21);
	peer.overstate_data_by = 1;
	kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, bytes, 56, bytes + 56, 100);
	ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 56, 100, 0);
	ck_assert_uint_eq(assert_call_fails_untouched(KDVM_STATUS_BAD_REQUEST), 1);

	peer.overstate_data_by = 4000;
	kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, bytes, 56, bytes + 56, 10);
	ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 56, 0x1000, 0);
	ck_assert_uint_eq(assert_call_fails_untouched(KDVM_STATUS_BAD_REQUEST), 1);
}
END_TEST

/* The peer fills the unused rest of the device's data room with
 * KD_TEST_PEER_POISON; the guard bytes after header + data must stay. */
START_TEST(receive_writes_exactly_header_capacity_plus_data_length_bytes)
{
	static const uint16_t data_lengths[] = { 0, 1, 100, 4000 - 56 };
	struct kdvm_page *p = registered_page();
	uint8_t bytes[KDCOM_MAX_PAYLOAD];

	fill_pattern(bytes, sizeof(bytes), 0x5c);
	for (size_t i = 0; i < sizeof(data_lengths) / sizeof(*data_lengths); i++) {
		size_t total = 56u + data_lengths[i];

		memset(p->payload, GUARD, sizeof(p->payload));
		kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, bytes, 56, bytes + 56,
				   data_lengths[i]);
		ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 56, 0x1000, 0);
		remember_ram();
		ck_assert_uint_eq(call(), KDVM_STATUS_OK);
		ck_assert_uint_eq(p->h.data_length, data_lengths[i]);
		ck_assert(!memcmp(p->payload, bytes, total));
		assert_guarded_from(p->payload, total, sizeof(p->payload));
		assert_ram_unchanged_outside(PAGE_FRAME * KDVM_PAGE_SIZE,
					     PAGE_FRAME * KDVM_PAGE_SIZE + sizeof(struct kdvm_page_header) +
						     total);
		assert_guest_fields_unchanged(PAGE_FRAME);
	}
}
END_TEST

/* Signature, nonce, version, header size, request, packet type and the
 * reserved bytes are the guest's: no request writes them. */
START_TEST(write_back_touches_only_header_length_up_to_reserved)
{
	struct kdvm_page *p = registered_page();
	uint8_t bytes[100];

	fill_pattern(bytes, sizeof(bytes), 0x66);
	ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, 50);
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	assert_ram_unchanged_outside(PAGE_FRAME * KDVM_PAGE_SIZE + WRITE_BACK_FROM,
				     PAGE_FRAME * KDVM_PAGE_SIZE + WRITE_BACK_TO);

	ask_poll(&p->h);
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	assert_ram_unchanged_outside(PAGE_FRAME * KDVM_PAGE_SIZE + WRITE_BACK_FROM,
				     PAGE_FRAME * KDVM_PAGE_SIZE + WRITE_BACK_TO);

	kd_test_peer_queue(&peer, KDCOM_TYPE_DEBUG_IO, bytes, 16, bytes + 16, 84);
	ask_receive(&p->h, KDCOM_TYPE_DEBUG_IO, 16, 200, 0);
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	assert_guest_fields_unchanged(PAGE_FRAME);
	ck_assert_uint_eq(p->h.header_capacity, 16);
	ck_assert_uint_eq(p->h.data_capacity, 200);
	ck_assert_uint_eq(p->h.timeout_ms, 0);
}
END_TEST

/* ---- the end of RAM ------------------------------------------------------------ */

START_TEST(the_page_at_the_very_top_of_ram_works)
{
	struct kdvm_page *p = make_page(RAM_PAGES - 1, NONCE);
	uint8_t bytes[KDCOM_MAX_PAYLOAD];

	ck_assert_uint_eq(register_frame(RAM_PAGES - 1), KDVM_STATUS_OK);
	fill_pattern(bytes, sizeof(bytes), 0x3c);
	kd_test_peer_queue(&peer, KDCOM_TYPE_FILE_IO, bytes, 56, bytes + 56, 4000 - 56);
	ask_receive(&p->h, KDCOM_TYPE_FILE_IO, 56, 0xffff, 0);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(trace.refused, 0);
	ck_assert(!memcmp(p->payload, bytes, sizeof(bytes)));
	assert_guarded_from(p->payload, sizeof(bytes), sizeof(p->payload));
}
END_TEST

/* The device thinks RAM_PAGES pages are RAM, but only half of the last is
 * backed: the vCPU refuses what lies past it, and the device answers with
 * a status instead of reaching past the end. */
START_TEST(a_payload_crossing_the_end_of_ram_cannot_be_read_or_written)
{
	give_memory(RAM_BYTES - KDVM_PAGE_SIZE / 2);
	struct kdvm_page_header *h = (struct kdvm_page_header *)(cpu.memory +
								  (RAM_PAGES - 1) * KDVM_PAGE_SIZE);
	size_t backed = KDVM_PAGE_SIZE / 2 - sizeof(*h);
	uint8_t bytes[KDCOM_MAX_PAYLOAD];

	write_identity(h, NONCE);
	ck_assert_uint_eq(register_frame(RAM_PAGES - 1), KDVM_STATUS_OK);

	/* What fits in the backed half works. */
	ask_send(h, KDCOM_TYPE_DEBUG_IO, 16, (uint16_t)(backed - 16));
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(peer.sent_count, 1);

	ask_send(h, KDCOM_TYPE_DEBUG_IO, 16, (uint16_t)(backed - 15));
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_BAD_FRAME);
	ck_assert_uint_eq(trace.refused, 1);
	ck_assert_uint_eq(peer.sent_count, 1);
	assert_ram_unchanged();

	fill_pattern(bytes, sizeof(bytes), 0x77);
	kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, bytes, 56, bytes + 56, 4000 - 56);
	ask_receive(h, KDCOM_TYPE_STATE_MANIPULATE, 56, 0x1000, 0);
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_BAD_FRAME);
	ck_assert_uint_eq(trace.refused, 1);
	assert_ram_unchanged();

	/* The header alone is enough for a poll. */
	ask_poll(h);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
}
END_TEST

START_TEST(a_page_whose_header_is_not_backed_cannot_be_registered)
{
	give_memory(RAM_BYTES - KDVM_PAGE_SIZE + 32);
	write_identity((struct kdvm_page_header *)(cpu.memory + (RAM_PAGES - 2) * KDVM_PAGE_SIZE),
		       NONCE);
	ck_assert_uint_eq(register_frame(RAM_PAGES - 1), KDVM_STATUS_BAD_FRAME);
	ck_assert_uint_eq(trace.refused, 1);
	ck_assert_uint_eq(register_frame(RAM_PAGES - 2), KDVM_STATUS_OK);
}
END_TEST

/* ---- scan discovery -------------------------------------------------------------- */

static void use_scan_discovery(void)
{
	set("kd_discovery", "scan");
	make_device();
}

START_TEST(scan_uses_the_lowest_page_with_the_signature_and_the_calls_nonce)
{
	use_scan_discovery();
	struct kdvm_page *low = make_page(7, NONCE), *high = make_page(12, NONCE);

	ask_poll(&low->h);
	ask_poll(&high->h);
	peer.breakin_pending = true;
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(low->h.result, KD_OK);
	ck_assert_uint_eq(low->h.calls, 1);
	assert_ram_unchanged_outside(7 * KDVM_PAGE_SIZE, 8 * KDVM_PAGE_SIZE);
	ck_assert_uint_eq(stats()->kd_scans, 1);
}
END_TEST

START_TEST(scan_skips_pages_with_the_signature_but_another_nonce)
{
	use_scan_discovery();
	struct kdvm_page *other = make_page(3, NONCE ^ 1), *mine = make_page(9, NONCE);

	ask_send_pattern(other, KDCOM_TYPE_DEBUG_IO, 16, 1);
	ask_send_pattern(mine, KDCOM_TYPE_DEBUG_IO, 16, 2);
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(kd_test_peer_sent(&peer, 0)->data_length, 2);
	assert_ram_unchanged_outside(9 * KDVM_PAGE_SIZE, 10 * KDVM_PAGE_SIZE);
}
END_TEST

START_TEST(scan_keeps_the_page_it_found_without_scanning_again)
{
	use_scan_discovery();
	struct kdvm_page *p = make_page(20, NONCE);

	ask_poll(&p->h);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(stats()->kd_scans, 1);
	ck_assert_uint_eq(p->h.calls, 5);
	/* A page planted lower later is not looked at: the cache holds. */
	struct kdvm_page *later = make_page(2, NONCE);
	ask_poll(&later->h);
	watch(2);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(trace.watched_reads + trace.watched_writes, 0);
	ck_assert_uint_eq(stats()->kd_scans, 1);
}
END_TEST

START_TEST(scan_runs_again_when_the_page_loses_its_signature)
{
	use_scan_discovery();
	struct kdvm_page *first = make_page(7, NONCE), *second = make_page(12, NONCE);

	ask_poll(&first->h);
	ask_poll(&second->h);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(first->h.calls, 1);
	first->h.signature[2] = 'k';
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(second->h.calls, 1);
	ck_assert_uint_eq(first->h.calls, 1);
	ck_assert_uint_eq(stats()->kd_scans, 2);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(stats()->kd_scans, 2);
}
END_TEST

START_TEST(scan_runs_again_when_the_page_changes_its_nonce)
{
	use_scan_discovery();
	struct kdvm_page *first = make_page(7, NONCE), *second = make_page(12, NONCE);

	ask_poll(&first->h);
	ask_poll(&second->h);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	first->h.nonce = NONCE + 1; /* the guest rebooted, say */
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(second->h.calls, 1);
	ck_assert_uint_eq(stats()->kd_scans, 2);

	/* The call's nonce chooses: now only the first page has it. */
	first->h.result = KDVM_RESULT_UNTOUCHED;
	ck_assert_uint_eq(kd(KDVM_SUB_CALL, NONCE + 1, 0), KDVM_STATUS_OK);
	ck_assert_uint_eq(first->h.result, KD_TIMED_OUT);
	ck_assert_uint_eq(stats()->kd_scans, 3);
}
END_TEST

/* There is nothing registered to forget: the page found stays found. */
START_TEST(unregister_under_scan_discovery_keeps_the_page_found)
{
	use_scan_discovery();
	struct kdvm_page *p = make_page(20, NONCE);

	ask_poll(&p->h);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(kd(KDVM_SUB_UNREGISTER, 0, 0), KDVM_STATUS_OK);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.calls, 2);
	ck_assert_uint_eq(stats()->kd_scans, 1);
}
END_TEST

START_TEST(scan_answers_not_found_without_a_page_for_the_nonce)
{
	use_scan_discovery();
	struct kdvm_page *p = make_page(5, NONCE ^ 0xff);

	ask_poll(&p->h);
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_NOT_FOUND);
	ck_assert_uint_eq(call(), KDVM_STATUS_NOT_FOUND);
	ck_assert_uint_eq(stats()->kd_scans, 2); /* nothing to keep */
	ck_assert_uint_eq(stats()->kd_errors, 2);
	ck_assert_uint_eq(peer.calls.poll_breakin, 0);
	assert_ram_unchanged();
}
END_TEST

/* Signature and nonce find a page; version and header size are still
 * checked before it is used. */
START_TEST(scan_refuses_a_found_page_of_another_version)
{
	use_scan_discovery();
	struct kdvm_page *p = make_page(5, NONCE);

	ask_poll(&p->h);
	p->h.version = 2;
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_BAD_PAGE);
	assert_ram_unchanged();
	p->h.version = KDVM_PROTOCOL_VERSION;
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
}
END_TEST

/* VMKD's weakness, kept on purpose under scan discovery: whoever can write
 * RAM and read the nonce plants a lower page, and the device uses it. */
START_TEST(under_scan_a_planted_lower_page_is_the_one_used)
{
	use_scan_discovery();
	struct kdvm_page *real = make_page(30, NONCE), *planted = make_page(2, NONCE);

	ask_send_pattern(real, KDCOM_TYPE_DEBUG_IO, 16, 10);
	ask_send_pattern(planted, KDCOM_TYPE_DEBUG_IO, 16, 666);
	watch(30);
	remember_ram();
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(kd_test_peer_sent(&peer, 0)->data_length, 666);
	ck_assert_uint_eq(planted->h.result, KD_OK);
	ck_assert_uint_eq(trace.watched_reads + trace.watched_writes, 0);
	assert_ram_unchanged_outside(2 * KDVM_PAGE_SIZE, 3 * KDVM_PAGE_SIZE);
}
END_TEST

START_TEST(under_register_a_planted_page_is_never_read_or_written)
{
	struct kdvm_page *real = make_page(30, NONCE), *planted = make_page(2, NONCE);
	uint8_t bytes[100];

	ck_assert_uint_eq(register_frame(30), KDVM_STATUS_OK);
	ask_send_pattern(planted, KDCOM_TYPE_DEBUG_IO, 16, 666);
	fill_pattern(bytes, sizeof(bytes), 1);
	kd_test_peer_queue(&peer, KDCOM_TYPE_DEBUG_IO, bytes, 16, bytes + 16, 84);
	peer.breakin_pending = true;
	remember_ram();
	watch(2);

	ask_send_pattern(real, KDCOM_TYPE_DEBUG_IO, 16, 10);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(trace.watched_reads + trace.watched_writes, 0);
	ask_receive(&real->h, KDCOM_TYPE_DEBUG_IO, 16, 1000, 0);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(trace.watched_reads + trace.watched_writes, 0);
	ask_poll(&real->h);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(trace.watched_reads + trace.watched_writes, 0);

	ck_assert_uint_eq(kd_test_peer_sent(&peer, 0)->data_length, 10);
	ck_assert(!memcmp(cpu.memory + 2 * KDVM_PAGE_SIZE, ram_before + 2 * KDVM_PAGE_SIZE,
			  KDVM_PAGE_SIZE));
	ck_assert_uint_eq(stats()->kd_scans, 0);
}
END_TEST

/* ---- the command it rides on ------------------------------------------------- */

START_TEST(kd_command_moves_the_transport_and_18_is_plain_os_not_found_again)
{
	set("kd_command", "200");
	make_device();
	struct kdvm_page *p = make_page(PAGE_FRAME, NONCE);

	ck_assert_uint_eq(backdoor(KDVM_MAGIC, KDVM_SUB_HELLO << 16 | 200, 0, 0), KDVM_STATUS_OK);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], KDVM_MAGIC);
	ck_assert_uint_eq(backdoor(KDVM_MAGIC, KDVM_SUB_REGISTER << 16 | 200, PAGE_FRAME, 0),
			  KDVM_STATUS_OK);
	ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, 10);
	ck_assert_uint_eq(backdoor(KDVM_MAGIC, KDVM_SUB_CALL << 16 | 200, NONCE, 0),
			  KDVM_STATUS_OK);
	ck_assert_uint_eq(peer.sent_count, 1);
	uint64_t kd_calls = stats()->kd_calls;

	remember_ram();
	for (uint16_t sub = KDVM_SUB_HELLO; sub <= KDVM_SUB_UNREGISTER; sub++) {
		ck_assert_uint_eq(backdoor(KDVM_MAGIC,
					   (uint32_t)sub << 16 | BDOOR_CMD_OS_NOT_FOUND, NONCE,
					   0),
				  BDOOR_MAGIC);
		ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
		ck_assert_uint_eq(trace.reads + trace.writes, 0);
	}
	ck_assert_uint_eq(stats()->kd_calls, kd_calls);
	ck_assert_uint_eq(peer.sent_count, 1);
	assert_ram_unchanged();
	/* Still registered: the UNREGISTER on 18 was not one. */
	ck_assert_uint_eq(backdoor(KDVM_MAGIC, KDVM_SUB_CALL << 16 | 200, NONCE, 0),
			  KDVM_STATUS_OK);
}
END_TEST

/* ---- statistics ---------------------------------------------------------------- */

START_TEST(statistics_count_calls_sends_receives_polls_and_errors)
{
	struct kdvm_page *p = make_page(PAGE_FRAME, NONCE);

	ck_assert_uint_eq(kd(KDVM_SUB_HELLO, 0, 0), KDVM_STATUS_OK);
	ck_assert_uint_eq(call(), KDVM_STATUS_NOT_REGISTERED);
	ck_assert_uint_eq(register_frame(PAGE_FRAME), KDVM_STATUS_OK);
	ask_send_pattern(p, KDCOM_TYPE_DEBUG_IO, 16, 10);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ask_receive(&p->h, KDCOM_TYPE_DEBUG_IO, 16, 10, 0);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ask_poll(&p->h);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ask_receive(&p->h, KDCOM_TYPE_RESET, 16, 10, 0);
	ck_assert_uint_eq(call(), KDVM_STATUS_BAD_REQUEST);
	ck_assert_uint_eq(kd(9, 0, 0), KDVM_STATUS_BAD_SUBCOMMAND);
	cpu.cpl = 3;
	ck_assert_uint_eq(call(), BDOOR_NO_ANSWER);

	const struct vmport_stats *s = stats();
	ck_assert_uint_eq(s->kd_calls, 9);
	ck_assert_uint_eq(s->kd_sends, 2);
	ck_assert_uint_eq(s->kd_receives, 1);
	ck_assert_uint_eq(s->kd_polls, 1);
	ck_assert_uint_eq(s->kd_errors, 3);
	ck_assert_uint_eq(s->kd_scans, 0);
	ck_assert_uint_eq(s->refused_commands, 1);
	ck_assert_uint_eq(s->calls, 10);
}
END_TEST

/* ---- fuzz ------------------------------------------------------------------------ */

static uint64_t fuzz_state;

/* xorshift64*: the same sequence on every machine. */
static uint32_t fuzz_next(void)
{
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return (uint32_t)((fuzz_state * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t fuzz_below(uint32_t n)
{
	return fuzz_next() % n;
}

static const uint32_t data_types[] = { 1, 2, 3, 7, 9, 10, 11 };
#define DATA_TYPES (sizeof(data_types) / sizeof(*data_types))

/* A length near the limits, where the bugs are, or any at all. */
static uint16_t fuzz_length(void)
{
	static const uint16_t edges[] = { 0, 1, 16, 56, 240, 3944, 3984, 3999, 4000, 4001, 4032,
					  4096, 0x7fff, 0x8000, 0xffff };

	if (fuzz_below(2))
		return edges[fuzz_below(sizeof(edges) / sizeof(*edges))];
	return (uint16_t)fuzz_next();
}

static uint32_t fuzz_word(void)
{
	static const uint32_t edges[] = { 0, 1, 2, 3, 4, 5, 6, 8, 12, 0xffff, 0x10002,
					  KDVM_TIMEOUT_MAX_MS, KDVM_TIMEOUT_MAX_MS + 1,
					  0x80000000u, 0xffffffffu };

	if (fuzz_below(2))
		return edges[fuzz_below(sizeof(edges) / sizeof(*edges))];
	return fuzz_next();
}

/* A request a guest module could make, so that the port is reached... */
static void fuzz_valid_request(struct kdvm_page_header *h)
{
	/* Receives mostly wait for what kd64 waits for, and what the
	 * peer mostly has queued. */
	uint32_t type = fuzz_below(2) ? KDCOM_TYPE_STATE_MANIPULATE
				      : data_types[fuzz_below(DATA_TYPES)];

	switch (fuzz_below(3)) {
	case 0:
		h->header_length = (uint16_t)fuzz_below(300);
		h->data_length = (uint16_t)fuzz_below(KDCOM_MAX_PAYLOAD - h->header_length + 1);
		ask_send(h, type, h->header_length, h->data_length);
		break;
	case 1:
		ask_receive(h, type, fuzz_below(2) ? 56 : (uint16_t)fuzz_below(KDCOM_MAX_PAYLOAD + 1),
			    fuzz_below(2) ? 0x1000 : (uint16_t)fuzz_next(),
			    fuzz_below(KDVM_TIMEOUT_MAX_MS + 1));
		break;
	default:
		ask_poll(h);
		break;
	}
	h->result = fuzz_next();
	h->flags = fuzz_next();
	h->calls = fuzz_next();
}

/* ... with a few fields then set to anything. */
static void fuzz_header(struct kdvm_page_header *h)
{
	if (fuzz_below(16) == 0) {
		for (size_t i = 0; i < sizeof(*h); i++)
			((uint8_t *)h)[i] = (uint8_t)fuzz_next();
		if (fuzz_below(2))
			memcpy(h->signature, KDVM_SIGNATURE, sizeof(h->signature));
		return;
	}
	write_identity(h, NONCE);
	fuzz_valid_request(h);
	for (uint32_t n = fuzz_below(4); n > 0; n--) {
		switch (fuzz_below(12)) {
		case 0:
			h->signature[fuzz_below(8)] ^= (uint8_t)(1u << fuzz_below(8));
			break;
		case 1:
			h->nonce = fuzz_word();
			break;
		case 2:
			h->version = (uint16_t)fuzz_word();
			break;
		case 3:
			h->header_size = (uint16_t)fuzz_word();
			break;
		case 4:
			h->request = fuzz_word();
			break;
		case 5:
			h->packet_type = fuzz_word();
			break;
		case 6:
			h->header_length = fuzz_length();
			break;
		case 7:
			h->header_capacity = fuzz_length();
			break;
		case 8:
			h->data_length = fuzz_length();
			break;
		case 9:
			h->data_capacity = fuzz_length();
			break;
		case 10:
			h->timeout_ms = fuzz_word();
			break;
		default:
			memset(h->reserved, (int)fuzz_next(), sizeof(h->reserved));
			break;
		}
	}
}

/* The debugger does something different each time. */
static void fuzz_peer(void)
{
	static const enum kd_outcome results[] = { KD_OK, KD_TIMED_OUT,
							 KD_NEEDS_RESEND, KD_DROPPED,
							 KD_INVALID };
	uint8_t bytes[KDCOM_MAX_PAYLOAD];

	peer.send_result = fuzz_below(2) ? KD_OK : results[fuzz_below(5)];
	peer.breakin_pending = fuzz_below(2);
	peer.debugger_present = fuzz_below(2);
	peer.debugger_attached = fuzz_below(2);
	peer.overstate_data_by = fuzz_below(16) == 0 ? 1 + fuzz_below(5000) : 0;
	if (peer.script_next == peer.scripted) {
		peer.script_next = peer.scripted = 0;
		if (fuzz_below(4) == 0)
			kd_test_peer_script_receive(&peer, results[fuzz_below(5)]);
	}
	if (peer.queued_count < 4 && fuzz_below(2)) {
		uint32_t type = fuzz_below(2) ? KDCOM_TYPE_STATE_MANIPULATE
					      : data_types[fuzz_below(DATA_TYPES)];
		size_t header = fuzz_below(2) ? 56 : fuzz_below(300);
		size_t data = fuzz_below(4) ? fuzz_below(200)
					    : fuzz_below(KDCOM_MAX_PAYLOAD - (uint32_t)header + 1);
		for (size_t i = 0; i < header + data; i++)
			bytes[i] = (uint8_t)fuzz_next();
		kd_test_peer_queue(&peer, type, bytes, header, bytes + header, data);
	}
	kd_test_peer_forget_sent(&peer);
}

static uint16_t fuzz_subcommand(void)
{
	uint32_t pick = fuzz_below(40);

	if (pick < 28)
		return KDVM_SUB_CALL;
	if (pick < 33)
		return KDVM_SUB_REGISTER;
	if (pick < 34)
		return KDVM_SUB_HELLO;
	if (pick < 35)
		return KDVM_SUB_UNREGISTER;
	if (pick < 36)
		return 0; /* plain OS_NOT_FOUND */
	if (pick < 39)
		return (uint16_t)(5 + fuzz_below(3));
	return (uint16_t)fuzz_next();
}

/* What EAX may be after any call the fuzz makes. */
static void assert_defined_answer(uint32_t eax, uint32_t ebx, uint32_t ecx)
{
	bool kd_call = BDOOR_SUBCMD(ecx) != 0 && ebx == KDVM_MAGIC;

	if (cpu.cpl != 0)
		ck_assert_uint_eq(eax, BDOOR_NO_ANSWER);
	else if (kd_call)
		ck_assert_uint_le(eax, KDVM_STATUS_BAD_SUBCOMMAND);
	else
		ck_assert_uint_eq(eax, BDOOR_MAGIC); /* OS_NOT_FOUND answers nothing */
}

/* Counts of each status, to see that the fuzz reaches every outcome. */
static unsigned fuzz_statuses[KDVM_STATUS_BAD_SUBCOMMAND + 1];

static void fuzz_device(uint64_t seed, bool scan, unsigned rounds)
{
	static const uint32_t frames[] = { 0, 1, PAGE_FRAME, RAM_PAGES - 2, RAM_PAGES - 1 };
	uint32_t home = PAGE_FRAME; /* where the guest keeps its page */

	fuzz_state = seed;
	memset(fuzz_statuses, 0, sizeof(fuzz_statuses));
	if (scan)
		set("kd_discovery", "scan");
	make_device();
	/* The last page only partly backed, so the bounds check is fuzzed too. */
	give_memory(RAM_BYTES - 1000);
	for (unsigned round = 0; round < rounds; round++) {
		uint32_t frame = fuzz_below(4) ? home : frames[fuzz_below(5)];
		struct kdvm_page_header h;

		if (fuzz_below(64) == 0)
			home = frames[fuzz_below(5)];
		/* The guest frees a page: what scanning finds first changes. */
		if (fuzz_below(8) == 0)
			cpu.memory[(uint64_t)frames[fuzz_below(5)] * KDVM_PAGE_SIZE] = 0;
		fuzz_header(&h);
		memcpy(cpu.memory + (uint64_t)frame * KDVM_PAGE_SIZE, &h, sizeof(h));
		if (fuzz_below(32) == 0) {
			size_t at = fuzz_below((uint32_t)cpu.memory_size);
			size_t n = fuzz_below(5000);
			for (size_t i = 0; i < n && at + i < cpu.memory_size; i++)
				cpu.memory[at + i] = (uint8_t)fuzz_next();
		}
		fuzz_peer();

		uint16_t sub = fuzz_subcommand();
		uint32_t ebx = fuzz_below(32) ? KDVM_MAGIC : fuzz_next();
		uint32_t ecx = (uint32_t)sub << 16 | config.kd_command;
		uint32_t esi = fuzz_below(8) ? (sub == KDVM_SUB_REGISTER ? frame : NONCE)
					     : fuzz_word();
		uint32_t edi = fuzz_below(8) ? 0 : fuzz_word();
		cpu.cpl = fuzz_below(32) ? 0 : 1 + fuzz_below(3);

		uint32_t eax = backdoor(ebx, ecx, esi, edi);
		assert_defined_answer(eax, ebx, ecx);
		if (eax < sizeof(fuzz_statuses) / sizeof(*fuzz_statuses))
			fuzz_statuses[eax]++;
		/* Nothing but EAX changes, HELLO aside. */
		if (sub != KDVM_SUB_HELLO)
			ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
		ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX], BDOOR_PORT);
	}
	/* The fuzz is worth something only if it gets through to the
	 * debugger, and if it reaches the refusals too. */
	ck_assert_uint_gt(peer.calls.send, rounds / 30);
	ck_assert_uint_gt(peer.calls.receive, rounds / 30);
	ck_assert_uint_gt(peer.calls.poll_breakin, rounds / 30);
	ck_assert_uint_gt(fuzz_statuses[KDVM_STATUS_OK], rounds / 5);
	ck_assert_uint_gt(fuzz_statuses[KDVM_STATUS_BAD_REQUEST], 0);
	ck_assert_uint_gt(fuzz_statuses[KDVM_STATUS_BAD_PAGE], 0);
	ck_assert_uint_gt(fuzz_statuses[KDVM_STATUS_BAD_FRAME], 0);
	ck_assert_uint_gt(fuzz_statuses[scan ? KDVM_STATUS_NOT_FOUND : KDVM_STATUS_NOT_REGISTERED],
			  0);
}

START_TEST(random_pages_and_registers_always_end_with_a_defined_status)
{
	fuzz_device(0x6b64766d686f7374ull, false, 6000);
	ck_assert_uint_eq(stray_writes, 0);
}
END_TEST

START_TEST(random_pages_under_scan_discovery_always_end_with_a_defined_status)
{
	fuzz_device(0x7363616e6e696e67ull, true, 3000);
	ck_assert_uint_eq(stray_writes, 0);
}
END_TEST

/* ---- the fast path (kd_fastpath=1, vmport_kd_fast.c) ------------------------------ */

#define FAST_DATA_MAX (KDCOM_MAX_PAYLOAD - sizeof(struct dbgkd_manipulate_state64))

static void queue_read(uint32_t api, uint64_t address, uint32_t count)
{
	struct dbgkd_manipulate_state64 m = { .api_number = api };

	m.u.read_memory.target_base_address = address;
	m.u.read_memory.transfer_count = count;
	memset(m.u.raw + sizeof(m.u.read_memory), 0x3c,
	       sizeof(m.u.raw) - sizeof(m.u.read_memory));
	kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0);
}

/* The i-th reply the device sent: the request back with the status and
 * ActualBytes set, then that many bytes of guest memory from `physical`. */
static void assert_fast_reply(size_t i, uint32_t api, uint64_t address, uint32_t count,
			      uint32_t status, uint32_t actual, uint64_t physical)
{
	const struct kd_test_packet *sent = kd_test_peer_sent(&peer, i);
	struct dbgkd_manipulate_state64 m;

	ck_assert_uint_eq(sent->type, KDCOM_TYPE_STATE_MANIPULATE);
	ck_assert_uint_eq(sent->header_length, sizeof(m));
	memcpy(&m, sent->header, sizeof(m));
	ck_assert_uint_eq(m.api_number, api);
	ck_assert_uint_eq(m.return_status, status);
	ck_assert_uint_eq(m.u.read_memory.target_base_address, address);
	ck_assert_uint_eq(m.u.read_memory.transfer_count, count);
	ck_assert_uint_eq(m.u.read_memory.actual_bytes, actual);
	ck_assert_uint_eq(m.u.raw[sizeof(m.u.read_memory)], 0x3c);
	ck_assert_uint_eq(sent->data_length, actual);
	if (actual)
		ck_assert(!memcmp(sent->data, cpu.memory + physical, actual));
}

static struct kdvm_page *fast_device(void)
{
	set("kd_fastpath", "1");
	make_device();
	fill_pattern(cpu.memory, cpu.memory_size, 0x21);
	return registered_page();
}

/* Reads are answered while the guest waits; the first request it must
 * serve reaches it, with nothing of the reads in its page. */
START_TEST(the_fast_path_answers_reads_and_hands_the_rest_to_the_guest)
{
	struct kdvm_page *p = fast_device();
	struct dbgkd_manipulate_state64 version = { .api_number = DBGKD_GET_VERSION_API };

	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0x2010, 100);
	queue_read(DBGKD_READ_PHYSICAL_MEMORY_API, 0x3000, 5000);
	kd_test_peer_queue(&peer, KDCOM_TYPE_STATE_MANIPULATE, &version, sizeof(version), NULL, 0);
	remember_ram();
	ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 56, 0x1000, 1000);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_OK);
	ck_assert(!memcmp(p->payload, &version, sizeof(version)));
	ck_assert_uint_eq(peer.sent_count, 2);
	assert_fast_reply(0, DBGKD_READ_VIRTUAL_MEMORY_API, 0x2010, 100, DBGKD_STATUS_SUCCESS, 100,
			  0x2010);
	/* Clipped to what one packet holds, as the stub does. */
	assert_fast_reply(1, DBGKD_READ_PHYSICAL_MEMORY_API, 0x3000, 5000, DBGKD_STATUS_SUCCESS,
			  FAST_DATA_MAX, 0x3000);
	ck_assert_uint_eq(stats()->kd_fast_answers, 2);
	assert_ram_unchanged_outside(PAGE_FRAME * KDVM_PAGE_SIZE, (PAGE_FRAME + 1) * KDVM_PAGE_SIZE);
}
END_TEST

/* Page by page through the page tables; a run stops at the first page
 * not mapped, or not RAM, and the status says the read fell short. */
START_TEST(the_fast_path_reads_stop_where_the_kernel_reads_stop)
{
	struct kdvm_page *p = fast_device();
	uint64_t top = RAM_BYTES;

	cpu.page_xor = 0x1000; /* linear 0x4000 is physical 0x5000 and so on */
	cpu.unmapped_linear = 0x7000;
	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0x4ff0, 0x20);	  /* two pages, swapped */
	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0x6f00, 0x200);	  /* into the hole */
	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0x7000, 16);		  /* in it */
	queue_read(DBGKD_READ_PHYSICAL_MEMORY_API, top - 0x80, 0x100); /* past RAM */
	queue_read(DBGKD_READ_PHYSICAL_MEMORY_API, top, 1);
	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0x100000000ull, 1);	  /* no x86 address */
	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0xFFFFFFFF00004000ull, 8); /* sign-extended */
	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0xFFFFFFF0u, 0x20);	  /* the 4 GiB wrap */
	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0x2000, 0);
	ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 56, 0x1000, 1000);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_TIMED_OUT); /* nothing was left for the guest */
	ck_assert_uint_eq(peer.sent_count, 9);
	const struct kd_test_packet *two_pages = kd_test_peer_sent(&peer, 0);
	ck_assert(!memcmp(two_pages->data, cpu.memory + 0x5ff0, 0x10));
	ck_assert(!memcmp(two_pages->data + 0x10, cpu.memory + 0x4000, 0x10));
	assert_fast_reply(1, DBGKD_READ_VIRTUAL_MEMORY_API, 0x6f00, 0x200,
			  DBGKD_STATUS_UNSUCCESSFUL, 0x100, 0x7f00);
	assert_fast_reply(2, DBGKD_READ_VIRTUAL_MEMORY_API, 0x7000, 16, DBGKD_STATUS_UNSUCCESSFUL,
			  0, 0);
	assert_fast_reply(3, DBGKD_READ_PHYSICAL_MEMORY_API, top - 0x80, 0x100,
			  DBGKD_STATUS_UNSUCCESSFUL, 0x80, top - 0x80);
	assert_fast_reply(4, DBGKD_READ_PHYSICAL_MEMORY_API, top, 1, DBGKD_STATUS_UNSUCCESSFUL, 0,
			  0);
	assert_fast_reply(5, DBGKD_READ_VIRTUAL_MEMORY_API, 0x100000000ull, 1,
			  DBGKD_STATUS_UNSUCCESSFUL, 0, 0);
	assert_fast_reply(6, DBGKD_READ_VIRTUAL_MEMORY_API, 0xFFFFFFFF00004000ull, 8,
			  DBGKD_STATUS_SUCCESS, 8, 0x5000);
	assert_fast_reply(7, DBGKD_READ_VIRTUAL_MEMORY_API, 0xFFFFFFF0u, 0x20,
			  DBGKD_STATUS_UNSUCCESSFUL, 0, 0);
	assert_fast_reply(8, DBGKD_READ_VIRTUAL_MEMORY_API, 0x2000, 0, DBGKD_STATUS_SUCCESS, 0, 0);
}
END_TEST

/* In 64-bit code the addresses are the x64 target's, taken whole: one
 * above 4 GiB reaches memory, and a run stops where the addresses stop
 * being canonical. The fake's 64-bit memory repeats RAM every RAM_BYTES,
 * so each short read is the device's own refusal. */
START_TEST(the_fast_path_takes_64_bit_addresses_whole_in_64_bit_code)
{
	struct kdvm_page *p = fast_device();

	cpu.in_64_bit_mode = true;
	cpu.page_xor = 0x1000;
	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0xFFFFF80000004ff0ull, 0x20); /* higher half */
	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0x100002000ull, 8);	     /* no x86 address */
	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0x00007FFFFFFFFF80ull, 0x100); /* off the edge */
	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0x0000800000000000ull, 1);	  /* not canonical */
	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0xFFFF7FFFFFFFF000ull, 16);	  /* nor this */
	queue_read(DBGKD_READ_PHYSICAL_MEMORY_API, 0x3000, 16);
	ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 56, 0x1000, 1000);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_TIMED_OUT);
	ck_assert_uint_eq(peer.sent_count, 6);
	const struct kd_test_packet *two_pages = kd_test_peer_sent(&peer, 0);
	ck_assert_uint_eq(two_pages->data_length, 0x20);
	ck_assert(!memcmp(two_pages->data, cpu.memory + 0x5ff0, 0x10));
	ck_assert(!memcmp(two_pages->data + 0x10, cpu.memory + 0x4000, 0x10));
	assert_fast_reply(1, DBGKD_READ_VIRTUAL_MEMORY_API, 0x100002000ull, 8, DBGKD_STATUS_SUCCESS,
			  8, 0x3000);
	assert_fast_reply(2, DBGKD_READ_VIRTUAL_MEMORY_API, 0x00007FFFFFFFFF80ull, 0x100,
			  DBGKD_STATUS_UNSUCCESSFUL, 0x80, (RAM_BYTES - 0x80) ^ 0x1000);
	assert_fast_reply(3, DBGKD_READ_VIRTUAL_MEMORY_API, 0x0000800000000000ull, 1,
			  DBGKD_STATUS_UNSUCCESSFUL, 0, 0);
	assert_fast_reply(4, DBGKD_READ_VIRTUAL_MEMORY_API, 0xFFFF7FFFFFFFF000ull, 16,
			  DBGKD_STATUS_UNSUCCESSFUL, 0, 0);
	assert_fast_reply(5, DBGKD_READ_PHYSICAL_MEMORY_API, 0x3000, 16, DBGKD_STATUS_SUCCESS, 16,
			  0x3000);
}
END_TEST

/* Off by default; and on, a receive of anything but a manipulate request,
 * or one split other than at 56 bytes, is the guest's. */
START_TEST(the_fast_path_leaves_alone_what_it_must_not_answer)
{
	struct kdvm_page *p = registered_page();

	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0x2000, 16);
	ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 56, 0x1000, 1000);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_OK);
	ck_assert_uint_eq(peer.sent_count, 0);

	p = fast_device();
	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0x2000, 16);
	ask_receive(&p->h, KDCOM_TYPE_STATE_MANIPULATE, 40, 0x1000, 1000);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_OK);
	ck_assert_uint_eq(p->h.header_length, 40);
	ck_assert_uint_eq(peer.sent_count, 0);

	queue_read(DBGKD_READ_VIRTUAL_MEMORY_API, 0x2000, 16);
	kd_test_peer_queue(&peer, KDCOM_TYPE_FILE_IO, p->payload, 56, NULL, 0);
	ask_receive(&p->h, KDCOM_TYPE_FILE_IO, 56, 0x1000, 1000);
	ck_assert_uint_eq(call(), KDVM_STATUS_OK);
	ck_assert_uint_eq(p->h.result, KD_OK);
	ck_assert_uint_eq(peer.sent_count, 0);
	ck_assert_uint_eq(stats()->kd_fast_answers, 0);
}
END_TEST

BXKD_SUITE(kdvm_host,
	testcases_add_with(s, "hello", 0, setup, teardown, TESTS(
		hello_answers_magic_version_discovery_and_flags,
		hello_without_an_attached_debugger_says_transport_only,
		hello_without_a_port_answers_but_offers_no_transport, hello_reports_scan_discovery));
	testcases_add_with(s, "register", 0, setup, teardown, TESTS(
		register_accepts_a_page_with_signature_version_and_header_size,
		register_accepts_the_last_page_of_ram_and_it_works,
		register_refuses_the_frame_just_past_ram,
		register_refuses_huge_frames_given_in_edi,
		register_refuses_a_page_without_the_signature,
		register_refuses_another_protocol_version, register_refuses_another_header_size,
		register_is_refused_under_scan_discovery,
		unregister_makes_the_device_forget_the_page,
		a_registered_page_that_lost_its_signature_is_a_bad_page,
		calls_on_the_page_are_counted_in_its_header));
	testcases_add_with(s, "dispatch", 0, setup, teardown, TESTS(
		every_kd_subcommand_at_cpl3_is_refused_as_vmware_refuses_cpl0_commands,
		another_ebx_keeps_plain_os_not_found, subcommand_zero_keeps_plain_os_not_found,
		unknown_subcommands_answer_bad_subcommand,
		call_without_a_registered_page_answers_not_registered,
		call_without_a_port_answers_no_transport,
		kd_command_moves_the_transport_and_18_is_plain_os_not_found_again));
	testcases_add_with(s, "requests", 0, setup, teardown, TESTS(
		send_hands_header_and_data_to_the_debugger,
		send_of_nothing_at_all_is_a_packet_of_no_bytes,
		send_without_a_debugger_is_dropped_and_says_so,
		a_port_refusing_the_packet_makes_a_bad_request,
		receive_delivers_header_data_and_lengths,
		receive_that_times_out_or_needs_a_resend_writes_no_payload,
		receive_waits_at_most_the_protocol_maximum, poll_reports_a_pending_break_in_once,
		every_data_packet_type_is_accepted));
	testcases_add_with(s, "hostile", 0, setup, teardown, TESTS(
		send_over_4000_bytes_is_a_bad_request,
		receive_header_capacity_over_4000_is_a_bad_request,
		receive_timeout_over_the_maximum_is_a_bad_request,
		unknown_requests_are_bad_requests,
		control_and_unknown_packet_types_are_bad_requests,
		data_capacity_beyond_what_4000_leaves_is_clamped,
		a_port_returning_more_data_than_asked_is_a_bad_request,
		receive_writes_exactly_header_capacity_plus_data_length_bytes,
		write_back_touches_only_header_length_up_to_reserved));
	testcases_add_with(s, "end_of_ram", 0, setup, teardown, TESTS(
		the_page_at_the_very_top_of_ram_works,
		a_payload_crossing_the_end_of_ram_cannot_be_read_or_written,
		a_page_whose_header_is_not_backed_cannot_be_registered));
	testcases_add_with(s, "scan", 0, setup, teardown, TESTS(
		scan_uses_the_lowest_page_with_the_signature_and_the_calls_nonce,
		scan_skips_pages_with_the_signature_but_another_nonce,
		scan_keeps_the_page_it_found_without_scanning_again,
		scan_runs_again_when_the_page_loses_its_signature,
		scan_runs_again_when_the_page_changes_its_nonce,
		unregister_under_scan_discovery_keeps_the_page_found,
		scan_answers_not_found_without_a_page_for_the_nonce,
		scan_refuses_a_found_page_of_another_version,
		under_scan_a_planted_lower_page_is_the_one_used,
		under_register_a_planted_page_is_never_read_or_written));
	testcases_add_with(s, "stats", 0, setup, teardown, TESTS(
		statistics_count_calls_sends_receives_polls_and_errors));
	testcases_add_with(s, "fastpath", 0, setup, teardown, TESTS(
		the_fast_path_answers_reads_and_hands_the_rest_to_the_guest,
		the_fast_path_reads_stop_where_the_kernel_reads_stop,
		the_fast_path_takes_64_bit_addresses_whole_in_64_bit_code,
		the_fast_path_leaves_alone_what_it_must_not_answer));
	/* Valgrind makes the fuzz slow; its cost is work, not waiting. */
	testcases_add_with(s, "fuzz", 300, setup, teardown, TESTS(
		random_pages_and_registers_always_end_with_a_defined_status,
		random_pages_under_scan_discovery_always_end_with_a_defined_status));
)
