/*
 * kdvm_peer_tests.c -- the KD transport with a debugger on the other end
 * (group kdvm-peer). tests/integration/check_kdvm.c attaches a scripted
 * debugger to the device's socket; each test tells it what comes next with
 * a "bxkd-peer: ..." DbgPrint (kdvm_peer_protocol.h).
 */
#include <stdarg.h>

#include "bxkd/dbgkd.h"
#include "format.h"
#include "kdvm_env.h"
#include "kdvm_peer_checks.h"
#include "kdvm_peer_protocol.h"
#include "kstring.h"

#define MAX_PRINT_DATA PEER_MAX_PRINT_DATA
#define MAX_REQUEST_DATA PEER_MAX_REQUEST_DATA
/* A debugger answers within this; the host never waits longer anyway. */
#define PEER_TIMEOUT_MS 20000u

static uint8_t buffer[KDCOM_MAX_PAYLOAD + 96];

static void tell_peer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void tell_peer(const char *fmt, ...)
{
	char text[96];
	va_list ap;

	va_start(ap, fmt);
	uint32_t length = peer_command_text(text, sizeof(text), fmt, ap);
	va_end(ap);
	kdvm_env_print(text, length);
}

static bool sent(struct guest_test_ctx *t, const char *what)
{
	if (kdvm_kernel_page.h.result == KD_OK)
		return true;
	gt_fail(t, "%s: send result %u (status %s)", what, kdvm_kernel_page.h.result,
		kdvm_status_text(kdvm_kernel.last_status));
	return false;
}

static enum kd_outcome receive_request(struct dbgkd_manipulate_state64 *m, uint8_t *data,
				      uint32_t room, uint32_t *length, uint32_t timeout_ms)
{
	struct kd_string header = { 0, sizeof(*m), (uint8_t *)m };
	struct kd_string data_string = { 0, (uint16_t)room, data };

	kdvm_kernel.receive_timeout_ms = timeout_ms;
	enum kd_outcome status = kdvm_receive_packet(&kdvm_kernel, KDCOM_TYPE_STATE_MANIPULATE,
						    &header, &data_string, length, NULL);
	kdvm_kernel.receive_timeout_ms = KDVM_DEFAULT_RECEIVE_TIMEOUT_MS;
	return status;
}

/* The first thing a debugger sees of a kernel: a stop. It waits for the
 * debugger to attach, however long that takes, and tells us it is there. */
GUEST_TEST_IN("kdvm-peer", kdvm_peer_a_state_change_waits_for_the_debugger)
{
	struct dbgkd_any_wait_state_change stop;
	struct kd_string header = { sizeof(stop), sizeof(stop), (uint8_t *)&stop };

	if (!expect_kdvm_status(t, "kdvm_initialize", kdvm_env_start(), KDVM_STATUS_OK))
		return;
	peer_breakpoint_stop(&stop);
	kdvm_send_packet(&kdvm_kernel, KDCOM_TYPE_STATE_CHANGE64, &header, NULL, NULL);
	if (!sent(t, "state change"))
		return;
	if (!kdvm_kernel.debugger_present)
		gt_fail(t, "debugger_present is false after an acknowledged state change");
	struct bd_regs hello = kdvm_raw_call(KDVM_SUB_HELLO, 0, 0);
	gt_expect_u32(t, "hello flags", hello.edi, KDVM_HELLO_TRANSPORT | KDVM_HELLO_DEBUGGER);
	/* A debugger attaches with a break-in byte before its RESET; like
	 * kdcom.dll the device keeps it for the next poll. */
	gt_expect_u32(t, "the attach's break-in",
		      kdvm_receive_packet(&kdvm_kernel, KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, NULL,
					  NULL),
		      KD_OK);
}

/* Every packet size from the kernel, 16 to 4000 bytes: the debugger checks
 * each byte and reports how many did not match. */
GUEST_TEST_IN("kdvm-peer", kdvm_peer_packets_of_every_size_to_the_debugger)
{
	struct dbgkd_debug_io io;
	struct kd_string header, data;

	tell_peer("%s %u %u", KDVM_PEER_EXPECT_PRINTS, 0u, (unsigned)MAX_PRINT_DATA);
	uint32_t calls = kdvm_kernel.stats.backdoor_calls;
	for (uint32_t length = 0; length <= MAX_PRINT_DATA; length++) {
		peer_pattern_print(buffer, length, &io, &header, &data);
		kdvm_send_packet(&kdvm_kernel, KDCOM_TYPE_DEBUG_IO, &header, &data, NULL);
		if (!sent(t, "pattern print"))
			return;
	}
	uint32_t packets = MAX_PRINT_DATA + 1;
	gt_expect_u32(t, "backdoor calls per packet",
		      (kdvm_kernel.stats.backdoor_calls - calls) / packets, 1);
	gt_expect_u32(t, "backdoor calls", kdvm_kernel.stats.backdoor_calls - calls, packets);

	struct dbgkd_manipulate_state64 verdict;
	uint32_t length;
	peer_check_verdict(t, receive_request(&verdict, buffer, sizeof(buffer), &length,
					      PEER_TIMEOUT_MS),
			   &verdict, packets);
	gt_note(t, "%u packets of 16..4000 bytes, one backdoor call each", packets);
}

/* Every packet size from the debugger, 56 to 4000 bytes. */
GUEST_TEST_IN("kdvm-peer", kdvm_peer_packets_of_every_size_from_the_debugger)
{
	struct dbgkd_manipulate_state64 m;
	/* kd64 offers 4096 bytes of room, more than any packet carries. */
	static uint8_t data[0x1000 + 16];

	tell_peer("%s %u %u", KDVM_PEER_SEND_PACKETS, 0u, (unsigned)MAX_REQUEST_DATA);
	uint32_t calls = kdvm_kernel.stats.backdoor_calls;
	for (uint32_t length = 0; length <= MAX_REQUEST_DATA; length++) {
		uint32_t got = 0xffffffffu;
		memset(data, 0xee, sizeof(data));
		enum kd_outcome status = receive_request(&m, data, 0x1000, &got, PEER_TIMEOUT_MS);
		if (!peer_check_pattern_request(t, length, status, got, &m, data))
			return;
	}
	uint32_t packets = MAX_REQUEST_DATA + 1;
	gt_expect_u32(t, "backdoor calls", kdvm_kernel.stats.backdoor_calls - calls, packets);
	gt_note(t, "%u packets of 56..4000 bytes, one backdoor call each", packets);
}

GUEST_TEST_IN("kdvm-peer", kdvm_peer_poll_for_break_in)
{
	struct kd_context context = { 20, 0 };

	gt_expect_u32(t, "poll before",
		      kdvm_receive_packet(&kdvm_kernel, KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, NULL,
					  &context),
		      KD_TIMED_OUT);
	/* The debugger puts 0x62 ahead of this print's ACK: it is there by
	 * the time the print returns. */
	tell_peer("%s", KDVM_PEER_BREAKIN);
	gt_expect_u32(t, "poll after break-in",
		      kdvm_receive_packet(&kdvm_kernel, KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, NULL,
					  &context),
		      KD_OK);
	/* Reported once, by the result; not again through KdpControlCPending. */
	gt_expect_u32(t, "KdpControlCPending", context.break_in_requested, 0);
	gt_expect_u32(t, "poll once more",
		      kdvm_receive_packet(&kdvm_kernel, KDCOM_TYPE_POLL_BREAKIN, NULL, NULL, NULL,
					  NULL),
		      KD_TIMED_OUT);
}

GUEST_TEST_IN("kdvm-peer", kdvm_peer_receive_times_out)
{
	struct dbgkd_manipulate_state64 m;
	uint32_t length = 0xdeadbeef;

	gt_expect_u32(t, "receive", receive_request(&m, buffer, sizeof(buffer), &length, 100),
		      KD_TIMED_OUT);
	gt_expect_u32(t, "length untouched", length, 0xdeadbeef);
}

/* A debugger that resets the link while the kernel waits for a request:
 * KdReceivePacket says NeedsResend, and kd64 would send its stop again. */
GUEST_TEST_IN("kdvm-peer", kdvm_peer_reset_means_needs_resend)
{
	struct dbgkd_manipulate_state64 m;
	uint32_t length;

	tell_peer("%s", KDVM_PEER_RESET);
	gt_expect_u32(t, "receive", receive_request(&m, buffer, sizeof(buffer), &length,
						    PEER_TIMEOUT_MS),
		      KD_NEEDS_RESEND);
}

GUEST_TEST_IN("kdvm-peer", kdvm_peer_session_ends)
{
	tell_peer("%s", KDVM_PEER_DONE);
	sent(t, "done");
	gt_note(t, "%u backdoor calls: %u sends, %u receives, %u polls",
		kdvm_kernel.stats.backdoor_calls, kdvm_kernel.stats.sends,
		kdvm_kernel.stats.receives, kdvm_kernel.stats.polls);
}
