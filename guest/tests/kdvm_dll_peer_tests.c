/*
 * kdvm_dll_peer_tests.c -- the Windows KD DLL the kernel image carries,
 * loaded by the kernel's loader (kernel/kd_dll.c) and driven only through
 * its exports, with a debugger on the other end (group kdvm-dll-peer).
 * tests/integration/check_kdvm.c attaches the same scripted debugger as for
 * kdvm-peer (kdvm_peer_protocol.h) and compares the device's count of
 * sends, receives and polls with the calls counted here.
 */
#include <stdarg.h>

#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "format.h"
#include "kd_dll.h"
#include "kdvm_peer_checks.h"
#include "kdvm_peer_protocol.h"
#include "kstring.h"
#include "layout.h"
#include "ntoskrnl.h"
#include "paging.h"
#include "testrun.h"

#define MAX_PRINT_DATA PEER_MAX_PRINT_DATA
#define MAX_REQUEST_DATA PEER_MAX_REQUEST_DATA
/* kd64 asks again when a receive times out; so do we, this often. */
#define RECEIVE_ATTEMPTS 20u

static struct kd_transport dll;
static bool loaded;
/* Every call into the DLL's KdSendPacket and KdReceivePacket. */
static uint32_t sends, receives, polls;
static uint8_t buffer[KDCOM_MAX_PAYLOAD + 96];

static void dll_send(uint32_t type, struct kd_string *header, struct kd_string *data)
{
	sends++;
	dll.send_packet(dll.ctx, type, header, data, NULL);
}

static enum kd_outcome dll_poll(struct kd_context *context)
{
	polls++;
	return dll.receive_packet(dll.ctx, KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, NULL, context);
}

static enum kd_outcome dll_receive_request(struct dbgkd_manipulate_state64 *m, uint8_t *data,
					   uint32_t room, uint32_t *length)
{
	enum kd_outcome status = KD_TIMED_OUT;

	for (uint32_t attempt = 0; attempt < RECEIVE_ATTEMPTS && status == KD_TIMED_OUT; attempt++) {
		struct kd_string header = { 0, sizeof(*m), (uint8_t *)m };
		struct kd_string data_string = { 0, (uint16_t)room, data };
		receives++;
		status = dll.receive_packet(dll.ctx, KDCOM_TYPE_STATE_MANIPULATE, &header,
					    &data_string, length, NULL);
	}
	return status;
}

static void tell_peer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void tell_peer(const char *fmt, ...)
{
	struct dbgkd_debug_io io = { .api_number = DBGKD_PRINT_STRING_API };
	struct kd_string header = { sizeof(io), sizeof(io), (uint8_t *)&io };
	char text[96];
	va_list ap;

	va_start(ap, fmt);
	uint32_t length = peer_command_text(text, sizeof(text), fmt, ap);
	va_end(ap);
	struct kd_string data = { (uint16_t)length, (uint16_t)length, (uint8_t *)text };
	io.u.length_of_string = length;
	dll_send(KDCOM_TYPE_DEBUG_IO, &header, &data);
}

static bool ready(struct guest_test_ctx *t)
{
	if (!loaded)
		gt_fail(t, "the DLL is not loaded");
	return loaded;
}

/* Loaded as kd64's loader loads it; the first stop waits for the debugger,
 * whose attach leaves a break-in for the next poll. */
GUEST_TEST_IN("kdvm-dll-peer", kdvm_dll_loads_and_reports_a_stop)
{
	struct dbgkd_any_wait_state_change stop;
	struct kd_string header = { sizeof(stop), sizeof(stop), (uint8_t *)&stop };

	loaded = kd_dll_start(&dll);
	if (!ready(t))
		return;
	peer_breakpoint_stop(&stop);
	dll_send(KDCOM_TYPE_STATE_CHANGE64, &header, NULL);
	if (!dll.debugger_present(dll.ctx))
		gt_fail(t, "KdDebuggerNotPresent is set after an acknowledged state change");
	gt_expect_u32(t, "the attach's break-in", dll_poll(NULL), KD_OK);
}

/* Each page of the mapped image as its section says: headers and
 * read-only sections read-only for ring 0 too, writable sections writable,
 * code never writable, the gaps between sections unmapped. */
GUEST_TEST_IN("kdvm-dll-peer", kdvm_dll_pages_carry_their_sections_protection)
{
	uintptr_t base;
	uint32_t read_only = 0, writable_pages = 0, unmapped = 0;
	const struct pe_headers *h = kd_dll_loaded(&base);

	if (!ready(t) || !h) {
		gt_fail(t, "no loaded DLL");
		return;
	}
	for (uint32_t rva = 0; rva < h->size_of_image; rva += PE_PAGE_SIZE) {
		const struct pe_section *s = pe_section_at(h, rva);
		bool writable, mapped = paging_page_access(base + rva, &writable);
		bool want_mapped = s || rva < h->size_of_headers;
		bool want_writable = s && (s->characteristics & PE_SCN_WRITE);
		if (mapped != want_mapped || (mapped && writable != want_writable)) {
			gt_fail(t, "rva 0x%x (%s): mapped %d writable %d", rva, s ? s->name : "-",
				mapped, mapped && writable);
			return;
		}
		if (s && (s->characteristics & PE_SCN_EXECUTE) && writable) {
			gt_fail(t, "code at rva 0x%x is writable", rva);
			return;
		}
		read_only += mapped && !writable;
		writable_pages += mapped && writable;
		unmapped += !mapped;
	}
	gt_note(t, "%u pages read-only, %u writable, %u unmapped", read_only, writable_pages,
		unmapped);
}

/* The two imports behave as Windows': MmGetPhysicalAddress translates
 * through the page tables and gives 0 for an unmapped address. */
GUEST_TEST_IN("kdvm-dll-peer", kdvm_dll_imports_behave_as_windows)
{
	uintptr_t base;

	if (!ready(t) || !kd_dll_loaded(&base))
		return;
	gt_expect_u32(t, "MmGetPhysicalAddress(buffer)", (uint32_t)MmGetPhysicalAddress(buffer),
		      virt_to_phys(buffer));
	gt_expect_u32(t, "MmGetPhysicalAddress(DLL header)",
		      (uint32_t)MmGetPhysicalAddress((void *)base), virt_to_phys((void *)base));
	gt_expect_u32(t, "MmGetPhysicalAddress(hole)",
		      (uint32_t)MmGetPhysicalAddress((void *)KD_HOLE_START), 0);
	gt_expect_u32(t, "MmGetPhysicalAddress(hole) high half",
		      (uint32_t)(MmGetPhysicalAddress((void *)KD_HOLE_START) >> 32), 0);
	gt_expect_u32(t, "KdDebuggerNotPresent with a debugger", KdDebuggerNotPresent, 0);
}

/* Every packet size from the kernel through KdSendPacket, 16 to 4000
 * bytes: the debugger checks each byte and reports how many differed. */
GUEST_TEST_IN("kdvm-dll-peer", kdvm_dll_packets_of_every_size_to_the_debugger)
{
	struct dbgkd_debug_io io;
	struct kd_string header, data;

	if (!ready(t))
		return;
	tell_peer("%s %u %u", KDVM_PEER_EXPECT_PRINTS, 0u, (unsigned)MAX_PRINT_DATA);
	for (uint32_t length = 0; length <= MAX_PRINT_DATA; length++) {
		peer_pattern_print(buffer, length, &io, &header, &data);
		dll_send(KDCOM_TYPE_DEBUG_IO, &header, &data);
		if (!dll.debugger_present(dll.ctx)) {
			gt_fail(t, "length %u: the debugger stopped answering", length);
			return;
		}
	}
	uint32_t packets = MAX_PRINT_DATA + 1;
	struct dbgkd_manipulate_state64 verdict;
	uint32_t length;
	peer_check_verdict(t, dll_receive_request(&verdict, buffer, sizeof(buffer), &length),
			   &verdict, packets);
	gt_note(t, "%u packets of 16..4000 bytes through KdSendPacket", packets);
}

/* Every packet size from the debugger through KdReceivePacket, 56 to 4000
 * bytes, with nothing written past the data. */
GUEST_TEST_IN("kdvm-dll-peer", kdvm_dll_packets_of_every_size_from_the_debugger)
{
	struct dbgkd_manipulate_state64 m;
	static uint8_t data[0x1000 + 16];

	if (!ready(t))
		return;
	tell_peer("%s %u %u", KDVM_PEER_SEND_PACKETS, 0u, (unsigned)MAX_REQUEST_DATA);
	for (uint32_t length = 0; length <= MAX_REQUEST_DATA; length++) {
		uint32_t got = 0xffffffffu;
		memset(data, 0xee, sizeof(data));
		enum kd_outcome status = dll_receive_request(&m, data, 0x1000, &got);
		if (!peer_check_pattern_request(t, length, status, got, &m, data))
			return;
	}
	gt_note(t, "%u packets of 56..4000 bytes through KdReceivePacket",
		(unsigned)MAX_REQUEST_DATA + 1);
}

GUEST_TEST_IN("kdvm-dll-peer", kdvm_dll_poll_for_break_in)
{
	struct kd_context context = { 20, 0 };

	if (!ready(t))
		return;
	gt_expect_u32(t, "poll before", dll_poll(&context), KD_TIMED_OUT);
	tell_peer("%s", KDVM_PEER_BREAKIN);
	gt_expect_u32(t, "poll after break-in", dll_poll(&context), KD_OK);
	gt_expect_u32(t, "poll once more", dll_poll(NULL), KD_TIMED_OUT);
}

/* The host compares these with the device's own counts. */
GUEST_TEST_IN("kdvm-dll-peer", kdvm_dll_session_ends)
{
	if (!ready(t))
		return;
	tell_peer("%s", KDVM_PEER_DONE);
	gt_note(t, "calls into the DLL: sends=%u receives=%u polls=%u", sends, receives, polls);
}
