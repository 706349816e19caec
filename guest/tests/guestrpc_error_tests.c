/*
 * guestrpc_error_tests.c -- GuestRPC steps the device must refuse: the
 * status word comes back as 0 (no SUCCESS bit) and the channel, if any,
 * stays usable. Every test closes what it opened, so later tests find all
 * channels free.
 */
#include "backdoor_call.h"
#include "expect.h"
#include "guestrpc.h"
#include "testrun.h"

/* One byte over the 64 KiB a message may have. */
#define OVERSIZED_MESSAGE (BDOOR_MESSAGE_MAX_SIZE + 1u)

static bool open_rpci(struct guest_test_ctx *t, struct rpc_channel *ch)
{
	if (rpc_open(ch, BDOOR_RPCI_PROTOCOL))
		return true;
	fail_rpc(t, "open", &ch->failure);
	return false;
}

static void close_rpci(struct guest_test_ctx *t, struct rpc_channel *ch)
{
	if (!rpc_close(ch))
		fail_rpc(t, "close", &ch->failure);
}

/* A step that presents the right channel with one cookie wrong is
 * refused; the right cookies still work afterwards. */
GUEST_TEST(rpc_wrong_cookie_refused)
{
	struct rpc_channel ch, wrong_low, wrong_high;
	struct bd_regs r;

	if (!open_rpci(t, &ch))
		return;
	if (!ch.has_cookies) {
		gt_fail(t, "the channel was opened without cookies");
		close_rpci(t, &ch);
		return;
	}
	wrong_low = wrong_high = ch;
	wrong_low.cookie_low ^= 1;
	wrong_high.cookie_high ^= 1;
	uint32_t low = rpc_step(&wrong_low, BDOOR_MESSAGE_SENDSIZE, 1, &r);
	uint32_t high = rpc_step(&wrong_high, BDOOR_MESSAGE_SENDSIZE, 1, &r);
	uint32_t right = rpc_step(&ch, BDOOR_MESSAGE_SENDSIZE, 1, &r);
	gt_expect_u32(t, "SENDSIZE with cookie_low^1: ecx", low, RPC_REFUSED);
	gt_expect_u32(t, "SENDSIZE with cookie_high^1: ecx", high, RPC_REFUSED);
	gt_expect_u32(t, "SENDSIZE with the cookies: ecx", right, RPC_SENDSIZE_OK);
	close_rpci(t, &ch);
	gt_note(t, "channel=%u cookies=0x%08x:0x%08x wrong_low=0x%08x wrong_high=0x%08x right=0x%08x",
		ch.id, ch.cookie_high, ch.cookie_low, low, high, right);
}

GUEST_TEST(rpc_close_closed_refused)
{
	struct rpc_channel ch;
	struct bd_regs r;

	if (!open_rpci(t, &ch))
		return;
	uint32_t first = rpc_step(&ch, BDOOR_MESSAGE_CLOSE, 0, &r);
	uint32_t second = rpc_step(&ch, BDOOR_MESSAGE_CLOSE, 0, &r);
	gt_expect_u32(t, "first CLOSE: ecx", first, RPC_OK);
	gt_expect_u32(t, "second CLOSE: ecx", second, RPC_REFUSED);
	gt_note(t, "channel=%u first=0x%08x second=0x%08x", ch.id, first, second);
}

/* Eight channels may be open at once; the ninth OPEN is refused. */
GUEST_TEST(rpc_ninth_channel_refused)
{
	struct rpc_channel ch[BDOOR_MESSAGE_MAX_CHANNELS], ninth;
	struct bd_regs r;
	unsigned opened = 0;
	uint32_t ids = 0; /* one bit per channel id seen */

	for (; opened < BDOOR_MESSAGE_MAX_CHANNELS; opened++) {
		if (!open_rpci(t, &ch[opened]))
			break;
		ids |= 1u << (ch[opened].id & 31);
	}
	if (opened == BDOOR_MESSAGE_MAX_CHANNELS) {
		bool opened_ninth = rpc_open_ebx(
			&ninth, BDOOR_RPCI_PROTOCOL | BDOOR_MESSAGE_FLAG_COOKIE, &r);

		gt_expect_u32(t, "ninth OPEN: ecx", r.ecx, RPC_REFUSED);
		if (opened_ninth)
			close_rpci(t, &ninth);
		gt_expect_u32(t, "channel ids seen, one bit each", ids,
			      (1u << BDOOR_MESSAGE_MAX_CHANNELS) - 1);
		gt_note(t, "ids=0x%02x ninth=0x%08x", ids, r.ecx);
	}
	while (opened)
		close_rpci(t, &ch[--opened]);
}

/* 64 KiB is the most a message may have: one byte more is refused, the
 * limit itself accepted. */
GUEST_TEST(rpc_sendsize_over_limit_refused)
{
	struct rpc_channel ch;
	struct bd_regs r;

	if (!open_rpci(t, &ch))
		return;
	uint32_t over = rpc_step(&ch, BDOOR_MESSAGE_SENDSIZE, OVERSIZED_MESSAGE, &r);
	uint32_t limit = rpc_step(&ch, BDOOR_MESSAGE_SENDSIZE, BDOOR_MESSAGE_MAX_SIZE, &r);
	gt_expect_u32(t, "SENDSIZE 65537: ecx", over, RPC_REFUSED);
	gt_expect_u32(t, "SENDSIZE 65536: ecx", limit, RPC_SENDSIZE_OK);
	close_rpci(t, &ch); /* drops the message never sent */
	gt_note(t, "sendsize_%u=0x%08x sendsize_%u=0x%08x", OVERSIZED_MESSAGE, over,
		BDOOR_MESSAGE_MAX_SIZE, limit);
}
