/*
 * kdvm_tests.c -- the KD transport without a debugger attached: the
 * subcommands, discovery, refusals and hostile pages, in three groups that
 * each need their own device settings (tests/integration/check_kdvm.c
 * boots them):
 *
 *   kdvm-off   no kd_endpoint: the transport says so
 *   kdvm       kd_endpoint set, nobody attached, register discovery
 *   kdvm-scan  the same with kd_discovery=scan (VMKD's way)
 */
#include "bxkd/dbgkd.h"
#include "cmos.h"
#include "expect.h"
#include "kdvm_env.h"
#include "kstring.h"
#include "paging.h"
#include "usermode.h"

/* Where ring 3 plants its page: conventional memory below the kernel,
 * unused once the boot sector has copied the kernel to 1 MiB. */
#define PLANTED_PAGE_ADDRESS 0x70000u
#define PLANTED_TEXT "planted by ring 3"

static struct kdvm_page *const planted = (struct kdvm_page *)PLANTED_PAGE_ADDRESS;

static uint32_t ram_frames(void)
{
	return cmos_ram_mib() * (1024u * 1024u / KDVM_PAGE_SIZE);
}

static uint32_t frame_of(const void *page)
{
	return virt_to_phys(page) / KDVM_PAGE_SIZE;
}

/* The module is up, on a registered page (or, under scan, just HELLO). */
static bool started(struct guest_test_ctx *t)
{
	return expect_kdvm_status(t, "kdvm_initialize", kdvm_env_start(), KDVM_STATUS_OK);
}

/* Writes a send request for a short DbgPrint into `page` by hand. */
static void write_print_request(struct kdvm_page *page, const char *text)
{
	struct dbgkd_debug_io io = { .api_number = DBGKD_PRINT_STRING_API };
	uint32_t length = (uint32_t)strlen(text);

	io.u.length_of_string = length;
	memcpy(page->payload, &io, sizeof(io));
	memcpy(page->payload + sizeof(io), text, length);
	page->h.request = KDVM_REQUEST_SEND;
	page->h.packet_type = KDCOM_TYPE_DEBUG_IO;
	page->h.header_length = sizeof(io);
	page->h.data_length = (uint16_t)length;
	page->h.result = KDVM_RESULT_UNTOUCHED;
}

/* ---- no transport configured --------------------------------------------------- */

GUEST_TEST_IN("kdvm-off", kdvm_off_hello_says_there_is_no_transport)
{
	struct bd_regs r = kdvm_raw_call(KDVM_SUB_HELLO, SEED_ESI, SEED_EDI);

	if (!expect_kdvm_status(t, "HELLO", r.eax, KDVM_STATUS_OK) ||
	    !gt_expect_u32(t, "ebx", r.ebx, KDVM_MAGIC) ||
	    !gt_expect_u32(t, "version", r.ecx, KDVM_PROTOCOL_VERSION) ||
	    !gt_expect_u32(t, "flags", r.edi, 0))
		return;
	expect_kdvm_status(t, "kdvm_initialize", kdvm_env_start(), KDVM_STATUS_NO_TRANSPORT);
	gt_note(t, "discovery=%u", r.esi);
}

GUEST_TEST_IN("kdvm-off", kdvm_off_calls_answer_no_transport)
{
	struct bd_regs r = kdvm_raw_call(KDVM_SUB_CALL, 0, 0);

	expect_kdvm_status(t, "CALL", r.eax, KDVM_STATUS_NO_TRANSPORT);
	/* The module does not call a device that is not there. */
	uint32_t calls = kdvm_kernel.stats.backdoor_calls;
	kdvm_env_print("nobody", 6);
	gt_expect_u32(t, "backdoor calls", kdvm_kernel.stats.backdoor_calls - calls, 0);
}

/* ---- transport on, nobody attached, register discovery --------------------------- */

GUEST_TEST_IN("kdvm", kdvm_hello)
{
	struct bd_regs r = kdvm_raw_call(KDVM_SUB_HELLO, SEED_ESI, SEED_EDI);

	if (!expect_kdvm_status(t, "HELLO", r.eax, KDVM_STATUS_OK))
		return;
	gt_expect_u32(t, "ebx", r.ebx, KDVM_MAGIC);
	gt_expect_u32(t, "version", r.ecx, KDVM_PROTOCOL_VERSION);
	gt_expect_u32(t, "edx", r.edx, BDOOR_PORT);
	gt_expect_u32(t, "discovery", r.esi, KDVM_DISCOVERY_REGISTER);
	gt_expect_u32(t, "flags", r.edi, KDVM_HELLO_TRANSPORT);
}

GUEST_TEST_IN("kdvm", kdvm_initialize_registers_the_page)
{
	if (!started(t))
		return;
	if (!kdvm_kernel.ready || kdvm_kernel.discovery != KDVM_DISCOVERY_REGISTER) {
		gt_fail(t, "ready=%d discovery=%u", kdvm_kernel.ready, kdvm_kernel.discovery);
		return;
	}
	gt_note(t, "page at 0x%x, %u backdoor calls", (uint32_t)&kdvm_kernel_page,
		kdvm_kernel.stats.backdoor_calls);
}

GUEST_TEST_IN("kdvm", kdvm_register_refuses_what_is_not_a_page_of_ram)
{
	static struct kdvm_page blank __attribute__((aligned(KDVM_PAGE_SIZE)));
	static struct kdvm_page old_version __attribute__((aligned(KDVM_PAGE_SIZE)));

	expect_kdvm_status(t, "REGISTER past RAM",
			   kdvm_raw_call(KDVM_SUB_REGISTER, ram_frames(), 0).eax,
			   KDVM_STATUS_BAD_FRAME);
	expect_kdvm_status(t, "REGISTER above 4 GiB frames",
			   kdvm_raw_call(KDVM_SUB_REGISTER, frame_of(&kdvm_kernel_page), 1).eax,
			   KDVM_STATUS_BAD_FRAME);
	expect_kdvm_status(t, "REGISTER of a blank page",
			   kdvm_raw_call(KDVM_SUB_REGISTER, frame_of(&blank), 0).eax,
			   KDVM_STATUS_BAD_PAGE);
	old_version.h = kdvm_kernel_page.h;
	old_version.h.version = KDVM_PROTOCOL_VERSION + 1;
	expect_kdvm_status(t, "REGISTER of another version",
			   kdvm_raw_call(KDVM_SUB_REGISTER, frame_of(&old_version), 0).eax,
			   KDVM_STATUS_BAD_PAGE);
	expect_kdvm_status(t, "kdvm_reconnect", kdvm_reconnect(&kdvm_kernel), KDVM_STATUS_OK);
}

/* The last page of RAM is as good as any; one past it is not RAM. */
GUEST_TEST_IN("kdvm", kdvm_page_at_the_top_of_ram)
{
	uint32_t top = ram_frames() - 1;
	struct kdvm_page *page = (struct kdvm_page *)(top * KDVM_PAGE_SIZE);

	page->h = kdvm_kernel_page.h;
	write_print_request(page, "from the top of RAM");
	if (!expect_kdvm_status(t, "REGISTER top", kdvm_raw_call(KDVM_SUB_REGISTER, top, 0).eax,
				KDVM_STATUS_OK) ||
	    !expect_kdvm_status(t, "CALL", kdvm_raw_call(KDVM_SUB_CALL, 0, 0).eax, KDVM_STATUS_OK))
		return;
	gt_expect_u32(t, "result", page->h.result, KD_DROPPED);
	expect_kdvm_status(t, "REGISTER top + 1", kdvm_raw_call(KDVM_SUB_REGISTER, top + 1, 0).eax,
			   KDVM_STATUS_BAD_FRAME);
	expect_kdvm_status(t, "kdvm_reconnect", kdvm_reconnect(&kdvm_kernel), KDVM_STATUS_OK);
	gt_note(t, "frame 0x%x", top);
}

/* Each field the device reads, out of range: a status, and the page's
 * result left as the guest wrote it. */
GUEST_TEST_IN("kdvm", kdvm_hostile_pages_get_an_error_status)
{
	static const struct {
		const char *what;
		uint32_t want;
		unsigned field;
		uint32_t value;
	} cases[] = {
		{ "request 0", KDVM_STATUS_BAD_REQUEST, 0, 0 },
		{ "request 99", KDVM_STATUS_BAD_REQUEST, 0, 99 },
		{ "packet type 0", KDVM_STATUS_BAD_REQUEST, 1, 0 },
		{ "packet type ACK", KDVM_STATUS_BAD_REQUEST, 1, KDCOM_TYPE_ACKNOWLEDGE },
		{ "packet type RESET", KDVM_STATUS_BAD_REQUEST, 1, KDCOM_TYPE_RESET },
		{ "packet type POLL", KDVM_STATUS_BAD_REQUEST, 1, KDCOM_TYPE_POLL_BREAKIN },
		{ "packet type 12", KDVM_STATUS_BAD_REQUEST, 1, KDCOM_TYPE_MAX },
		{ "packet type 0xffffffff", KDVM_STATUS_BAD_REQUEST, 1, 0xffffffffu },
		{ "header + data 4001", KDVM_STATUS_BAD_REQUEST, 2, 4001 - 16 },
		{ "header + data 65535", KDVM_STATUS_BAD_REQUEST, 2, 0xffff },
		{ "header_length 65535", KDVM_STATUS_BAD_REQUEST, 3, 0xffff },
		{ "receive header_capacity 4001", KDVM_STATUS_BAD_REQUEST, 4, 4001 },
		{ "receive timeout 60001 ms", KDVM_STATUS_BAD_REQUEST, 5, KDVM_TIMEOUT_MAX_MS + 1 },
		{ "signature", KDVM_STATUS_BAD_PAGE, 6, 0 },
		{ "version 2", KDVM_STATUS_BAD_PAGE, 7, 2 },
		{ "header_size 63", KDVM_STATUS_BAD_PAGE, 8, 63 },
	};
	struct kdvm_page_header *h = &kdvm_kernel_page.h;
	unsigned refused = 0;

	if (!started(t))
		return;
	struct kdvm_page_header good = *h;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		*h = good;
		write_print_request(&kdvm_kernel_page, "hostile");
		switch (cases[i].field) {
		case 0: h->request = cases[i].value; break;
		case 1: h->packet_type = cases[i].value; break;
		case 2: h->data_length = (uint16_t)cases[i].value; break;
		case 3: h->header_length = (uint16_t)cases[i].value; break;
		case 4:
			h->request = KDVM_REQUEST_RECEIVE;
			h->packet_type = KDCOM_TYPE_STATE_MANIPULATE;
			h->header_capacity = (uint16_t)cases[i].value;
			break;
		case 5:
			h->request = KDVM_REQUEST_RECEIVE;
			h->packet_type = KDCOM_TYPE_STATE_MANIPULATE;
			h->header_capacity = sizeof(struct dbgkd_manipulate_state64);
			h->timeout_ms = cases[i].value;
			break;
		case 6: h->signature[0] ^= 0x20; break;
		case 7: h->version = (uint16_t)cases[i].value; break;
		case 8: h->header_size = (uint16_t)cases[i].value; break;
		}
		uint32_t status = kdvm_raw_call(KDVM_SUB_CALL, kdvm_kernel.nonce, 0).eax;
		if (!expect_kdvm_status(t, cases[i].what, status, cases[i].want))
			break;
		if (h->result != KDVM_RESULT_UNTOUCHED) {
			gt_fail(t, "%s: the device wrote result %u", cases[i].what, h->result);
			break;
		}
		refused++;
	}
	*h = good;
	expect_kdvm_status(t, "kdvm_reconnect", kdvm_reconnect(&kdvm_kernel), KDVM_STATUS_OK);
	gt_note(t, "%u hostile pages refused", refused);
}

struct cpl3_kd_calls {
	struct bd_regs in[4], out[4];
};

static uint32_t kd_calls_at_cpl3(void *arg)
{
	struct cpl3_kd_calls *c = arg;

	for (unsigned i = 0; i < 4; i++) {
		c->out[i] = c->in[i];
		bd_in(&c->out[i]);
	}
	return 0;
}

/* Ring 3 can reach the backdoor port, but none of the KD subcommands:
 * each is refused like any CPL 0 command, registers untouched. */
GUEST_TEST_IN("kdvm", kdvm_subcommands_are_refused_at_cpl3)
{
	static const uint16_t subcommands[4] = { KDVM_SUB_HELLO, KDVM_SUB_REGISTER, KDVM_SUB_CALL,
						 KDVM_SUB_UNREGISTER };
	struct cpl3_kd_calls c;

	if (!started(t))
		return;
	write_print_request(&kdvm_kernel_page, "from ring 3");
	uint32_t calls = kdvm_kernel_page.h.calls;
	for (unsigned i = 0; i < 4; i++) {
		c.in[i] = (struct bd_regs){
			.eax = BDOOR_MAGIC,
			.ebx = KDVM_MAGIC,
			.ecx = (uint32_t)subcommands[i] << 16 | BDOOR_CMD_OS_NOT_FOUND,
			.edx = SEED_EDX_HIGH | BDOOR_PORT,
			.esi = frame_of(&kdvm_kernel_page),
			.edi = 0,
			.ebp = SEED_EBP,
		};
	}
	run_at_cpl3(kd_calls_at_cpl3, &c);
	for (unsigned i = 0; i < 4; i++) {
		struct bd_regs want = c.in[i];
		want.eax = BDOOR_NO_ANSWER;
		if (!check_regs(t, &c.out[i], &want))
			return;
	}
	gt_expect_u32(t, "page result", kdvm_kernel_page.h.result, KDVM_RESULT_UNTOUCHED);
	gt_expect_u32(t, "page calls", kdvm_kernel_page.h.calls, calls);
	/* Still registered: UNREGISTER from ring 3 did nothing. */
	kdvm_env_print("after ring 3", 12);
	gt_expect_u32(t, "result after", kdvm_kernel_page.h.result, KD_DROPPED);
}

/* Without the KD magic, or with subcommand 0, command 18 is what firmware
 * means by it: nothing changes. */
GUEST_TEST_IN("kdvm", kdvm_os_not_found_keeps_its_meaning)
{
	struct bd_regs plain = seeded(BDOOR_MAGIC, SEED_EBX, BDOOR_CMD_OS_NOT_FOUND);
	struct bd_regs no_magic = seeded(BDOOR_MAGIC, SEED_EBX, 3u << 16 | BDOOR_CMD_OS_NOT_FOUND);
	struct bd_regs zero_sub = seeded(BDOOR_MAGIC, KDVM_MAGIC, BDOOR_CMD_OS_NOT_FOUND);
	struct bd_regs want[3] = { plain, no_magic, zero_sub };
	struct bd_regs *got[3] = { &plain, &no_magic, &zero_sub };

	for (unsigned i = 0; i < 3; i++) {
		bd_in(got[i]);
		if (!check_regs(t, got[i], &want[i]))
			return;
	}
}

/* A DbgPrint with nobody to read it is dropped at once, as Windows drops
 * it; it must not hold the kernel up. One backdoor call each. */
GUEST_TEST_IN("kdvm", kdvm_prints_are_dropped_without_a_debugger)
{
	enum { PRINTS = 100 };

	if (!started(t))
		return;
	uint32_t calls = kdvm_kernel.stats.backdoor_calls;
	for (unsigned i = 0; i < PRINTS; i++) {
		kdvm_env_print("nobody listens\n", 15);
		if (kdvm_kernel_page.h.result != KD_DROPPED) {
			gt_fail(t, "print %u: result %u", i, kdvm_kernel_page.h.result);
			return;
		}
	}
	gt_expect_u32(t, "backdoor calls", kdvm_kernel.stats.backdoor_calls - calls, PRINTS);
	if (kdvm_kernel.debugger_present)
		gt_fail(t, "debugger_present after dropped prints");
	gt_note(t, "%u prints dropped", PRINTS);
}

GUEST_TEST_IN("kdvm", kdvm_poll_and_receive_without_a_debugger)
{
	uint8_t header_buffer[sizeof(struct dbgkd_manipulate_state64)];
	uint8_t data_buffer[64];
	struct kd_string header = { 0, sizeof(header_buffer), header_buffer };
	struct kd_string data = { 0, sizeof(data_buffer), data_buffer };
	uint32_t length = 0xdeadbeef;

	if (!started(t))
		return;
	uint32_t calls = kdvm_kernel.stats.backdoor_calls;
	enum kd_outcome poll = kdvm_receive_packet(&kdvm_kernel, KDCOM_TYPE_POLL_BREAKIN, NULL,
						  NULL, NULL, NULL);
	kdvm_kernel.receive_timeout_ms = 20;
	enum kd_outcome received = kdvm_receive_packet(&kdvm_kernel, KDCOM_TYPE_STATE_MANIPULATE,
						      &header, &data, &length, NULL);
	kdvm_kernel.receive_timeout_ms = KDVM_DEFAULT_RECEIVE_TIMEOUT_MS;
	gt_expect_u32(t, "poll", poll, KD_TIMED_OUT);
	gt_expect_u32(t, "receive", received, KD_TIMED_OUT);
	gt_expect_u32(t, "data length untouched", length, 0xdeadbeef);
	gt_expect_u32(t, "backdoor calls", kdvm_kernel.stats.backdoor_calls - calls, 2);
}

/* The device counts calls on the page too: one per send, receive, poll. */
GUEST_TEST_IN("kdvm", kdvm_one_backdoor_call_per_packet)
{
	enum { ROUNDS = 50 };
	uint8_t header_buffer[sizeof(struct dbgkd_manipulate_state64)];
	struct kd_string header = { 0, sizeof(header_buffer), header_buffer };

	if (!started(t))
		return;
	kdvm_kernel.receive_timeout_ms = 0;
	/* The device counts from the registration on; its count reaches the
	 * page with the first call. */
	kdvm_env_print("x", 1);
	uint32_t calls = kdvm_kernel.stats.backdoor_calls;
	uint32_t device_calls = kdvm_kernel_page.h.calls;
	for (unsigned i = 0; i < ROUNDS; i++) {
		kdvm_env_print("x", 1);
		kdvm_receive_packet(&kdvm_kernel, KDCOM_TYPE_STATE_MANIPULATE, &header, NULL, NULL,
				    NULL);
		kdvm_receive_packet(&kdvm_kernel, KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, NULL, NULL);
	}
	kdvm_kernel.receive_timeout_ms = KDVM_DEFAULT_RECEIVE_TIMEOUT_MS;
	gt_expect_u32(t, "guest backdoor calls", kdvm_kernel.stats.backdoor_calls - calls,
		      3 * ROUNDS);
	gt_expect_u32(t, "device's count", kdvm_kernel_page.h.calls - device_calls, 3 * ROUNDS);
	gt_note(t, "%u sends, %u receives, %u polls: %u backdoor calls", ROUNDS, ROUNDS, ROUNDS,
		kdvm_kernel.stats.backdoor_calls - calls);
}

/* ---- planting a page from ring 3 ----------------------------------------------------- */

struct plant {
	const struct kdvm_page_header *model;
	struct kdvm_page *at;
};

/* Ring 3 reads the kernel's page (this kernel maps every page for ring 3
 * too), copies signature and nonce to a page of its own and writes a
 * request there. */
static uint32_t plant_page_at_cpl3(void *arg)
{
	const struct plant *p = arg;

	p->at->h = *p->model;
	write_print_request(p->at, PLANTED_TEXT);
	return 0;
}

static void plant_page(void)
{
	struct plant p = { &kdvm_kernel_page.h, planted };

	run_at_cpl3(plant_page_at_cpl3, &p);
}

/* Registered discovery never looks at memory it was not given. */
GUEST_TEST_IN("kdvm", kdvm_registered_page_cannot_be_spoofed)
{
	if (!started(t))
		return;
	plant_page();
	uint32_t planted_calls = planted->h.calls;
	kdvm_env_print("the kernel's own\n", 17);
	gt_expect_u32(t, "kernel page result", kdvm_kernel_page.h.result, KD_DROPPED);
	gt_expect_u32(t, "planted page result", planted->h.result, KDVM_RESULT_UNTOUCHED);
	gt_expect_u32(t, "planted page calls", planted->h.calls, planted_calls);
	memset(planted, 0, sizeof(*planted));
	gt_note(t, "planted at 0x%x, ignored", PLANTED_PAGE_ADDRESS);
}

/* ---- scan discovery ------------------------------------------------------------------- */

GUEST_TEST_IN("kdvm-scan", kdvm_scan_hello_and_no_registration)
{
	struct bd_regs r = kdvm_raw_call(KDVM_SUB_HELLO, 0, 0);

	if (!expect_kdvm_status(t, "HELLO", r.eax, KDVM_STATUS_OK) ||
	    !gt_expect_u32(t, "discovery", r.esi, KDVM_DISCOVERY_SCAN))
		return;
	expect_kdvm_status(t, "REGISTER", kdvm_raw_call(KDVM_SUB_REGISTER, 0x100, 0).eax,
			   KDVM_STATUS_WRONG_DISCOVERY);
}

/* VMKD's weakness, reproduced: a page planted below the kernel's, with the
 * signature and the nonce, is the one the device finds and serves. The
 * kernel's print never leaves; the planted one does. */
GUEST_TEST_IN("kdvm-scan", kdvm_scan_is_spoofed_by_a_page_planted_from_ring3)
{
	if (!started(t))
		return;
	plant_page();
	kdvm_env_print("the kernel's own\n", 17);
	gt_expect_u32(t, "kernel page result", kdvm_kernel_page.h.result, KDVM_RESULT_UNTOUCHED);
	gt_expect_u32(t, "planted page result", planted->h.result, KD_DROPPED);
	gt_expect_u32(t, "planted page calls", planted->h.calls, 1);
	gt_note(t, "device served the page planted at 0x%x", PLANTED_PAGE_ADDRESS);
}

GUEST_TEST_IN("kdvm-scan", kdvm_scan_finds_the_kernel_page_once_the_plant_is_gone)
{
	memset(planted, 0, sizeof(*planted));
	kdvm_env_print("the kernel's own, again\n", 24);
	gt_expect_u32(t, "kernel page result", kdvm_kernel_page.h.result, KD_DROPPED);
	gt_expect_u32(t, "kernel page calls", kdvm_kernel_page.h.calls, 1);
	/* Cached now: the next call does not scan (the device log counts). */
	kdvm_env_print("cached\n", 7);
	gt_expect_u32(t, "kernel page calls", kdvm_kernel_page.h.calls, 2);
}

GUEST_TEST_IN("kdvm-scan", kdvm_scan_needs_the_nonce)
{
	expect_kdvm_status(t, "CALL with another nonce",
			   kdvm_raw_call(KDVM_SUB_CALL, kdvm_kernel.nonce + 1, 0).eax,
			   KDVM_STATUS_NOT_FOUND);
}
