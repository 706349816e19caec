/*
 * guestrpc_tests.c -- GuestRPC round trips on both paths: four bytes per
 * step on port 0x5658, and REP OUTSB/INSB on port 0x5659.
 *
 * The *_round_trip tests drive every step by hand and check each status
 * word exactly, as iPXE and VirtualKD compare them; the rest go through the
 * library's rpci(), which checks the same words and names the step that
 * differed.
 */
#include "backdoor_call.h"
#include "bxkd/names.h"
#include "expect.h"
#include "format.h"
#include "guestrpc.h"
#include "kstring.h"
#include "testrun.h"

#define LB_KEY "guestinfo.bxkd.lb"
#define HB_KEY "guestinfo.bxkd.hb"
/* Neither is a multiple of four bytes long: the last payload word is
 * partial in both directions. */
#define LB_VALUE "set 4 bytes at a time"
#define HB_VALUE "set in one REP OUTSB, read in one REP INSB"

#define REPLY_MAX 128
#define PAYLOAD_WORD 4u /* bytes per SENDPAYLOAD or RECVPAYLOAD */

/* ---- a round trip step by step ------------------------------------------ */

/* One low-bandwidth step whose ECX must be exactly `want`. The device also
 * answers EAX = 0 and keeps the port in EDX[15:0]. */
static bool lb_step(struct guest_test_ctx *t, const struct rpc_channel *ch,
		    enum bdoor_message_type step, uint32_t ebx, uint32_t want, struct bd_regs *r)
{
	uint32_t ecx = rpc_step(ch, step, ebx, r);

	if (ecx != want)
		gt_fail(t, "%s: ecx=0x%08x expected 0x%08x", bdoor_message_step_name(step), ecx, want);
	else if (r->eax != 0)
		gt_fail(t, "%s: eax=0x%08x expected 0", bdoor_message_step_name(step), r->eax);
	else if ((r->edx & 0xffffu) != BDOOR_PORT)
		gt_fail(t, "%s: edx=0x%08x lost the port", bdoor_message_step_name(step), r->edx);
	else
		return true;
	return false;
}

static bool hb_transfer_ok(struct guest_test_ctx *t, const char *what, uint32_t ebx)
{
	if (ebx == RPC_HB_MESSAGE_OK)
		return true;
	gt_fail(t, "%s: ebx=0x%08x expected 0x%08x", what, ebx, RPC_HB_MESSAGE_OK);
	return false;
}

static bool send_by_steps(struct guest_test_ctx *t, const struct rpc_channel *ch,
			  const char *msg, uint32_t len, bool use_hb)
{
	struct bd_regs r;
	uint32_t words = 0;

	if (!lb_step(t, ch, BDOOR_MESSAGE_SENDSIZE, len, RPC_SENDSIZE_OK, &r))
		return false;
	gt_note(t, "sendsize=0x%08x", r.ecx);
	if (use_hb) {
		if (!hb_transfer_ok(t, "HB OUT", rpc_hb_send(ch, msg, len, &r)))
			return false;
		gt_note(t, "hb_out=0x%08x", r.ebx);
		return true;
	}
	for (uint32_t done = 0; done < len; done += PAYLOAD_WORD, words++) {
		uint32_t word = 0;

		memcpy(&word, msg + done, len - done < PAYLOAD_WORD ? len - done : PAYLOAD_WORD);
		if (!lb_step(t, ch, BDOOR_MESSAGE_SENDPAYLOAD, word, RPC_OK, &r))
			return false;
	}
	gt_note(t, "sendpayload=0x%08x*%u", RPC_OK, words);
	return true;
}

/* EDX[31:16] after RECVSIZE and RECVPAYLOAD names the step that may come
 * next, as open-vm-tools' message.c checks. */
static bool expect_next(struct guest_test_ctx *t, const char *step, const struct bd_regs *r,
			uint32_t want)
{
	if (r->edx >> 16 == want)
		return true;
	gt_fail(t, "%s: edx=0x%08x, expected %u in [31:16]", step, r->edx, want);
	return false;
}

static bool recv_by_steps(struct guest_test_ctx *t, const struct rpc_channel *ch, char *buf,
			  uint32_t size, uint32_t *len, bool use_hb)
{
	struct bd_regs r;
	uint32_t n, words = 0;

	if (!lb_step(t, ch, BDOOR_MESSAGE_RECVSIZE, 0, RPC_RECVSIZE_REPLY, &r) ||
	    !expect_next(t, "RECVSIZE", &r, BDOOR_MESSAGE_SENDSIZE))
		return false;
	n = r.ebx;
	if (n > size) {
		gt_fail(t, "RECVSIZE: a %u-byte reply does not fit %u bytes", n, size);
		return false;
	}
	gt_note(t, "recvsize=0x%08x len=%u", r.ecx, n);
	if (use_hb) {
		if (!hb_transfer_ok(t, "HB IN", rpc_hb_recv(ch, buf, n, &r)))
			return false;
		gt_note(t, "hb_in=0x%08x", r.ebx);
	} else {
		for (uint32_t done = 0; done < n; done += PAYLOAD_WORD, words++) {
			if (!lb_step(t, ch, BDOOR_MESSAGE_RECVPAYLOAD, BDOOR_MESSAGE_STATUS_SUCCESS,
				     RPC_OK, &r) ||
			    !expect_next(t, "RECVPAYLOAD", &r, BDOOR_MESSAGE_SENDPAYLOAD))
				return false;
			memcpy(buf + done, &r.ebx, n - done < PAYLOAD_WORD ? n - done : PAYLOAD_WORD);
		}
		gt_note(t, "recvpayload=0x%08x*%u", RPC_OK, words);
	}
	if (!lb_step(t, ch, BDOOR_MESSAGE_RECVSTATUS, BDOOR_MESSAGE_STATUS_SUCCESS, RPC_OK, &r))
		return false;
	gt_note(t, "recvstatus=0x%08x", r.ecx);
	*len = n;
	return true;
}

/* Open with cookies, send `request`, receive the reply into reply[] (NUL
 * terminated), close: every step checked and its word noted. */
static bool round_trip_by_steps(struct guest_test_ctx *t, const char *request, char *reply,
				uint32_t size, bool use_hb)
{
	struct rpc_channel ch = { 0 };
	struct bd_regs r;
	uint32_t len = 0;

	if (!lb_step(t, &ch, BDOOR_MESSAGE_OPEN, BDOOR_RPCI_PROTOCOL | BDOOR_MESSAGE_FLAG_COOKIE,
		     RPC_OK, &r))
		return false;
	ch = (struct rpc_channel){ .id = (uint16_t)(r.edx >> 16),
				   .has_cookies = true,
				   .cookie_high = r.esi,
				   .cookie_low = r.edi };
	gt_note(t, "channel=%u open=0x%08x", ch.id, r.ecx);

	bool ok = send_by_steps(t, &ch, request, (uint32_t)strlen(request), use_hb) &&
		  recv_by_steps(t, &ch, reply, size - 1, &len, use_hb);
	ok = lb_step(t, &ch, BDOOR_MESSAGE_CLOSE, 0, RPC_OK, &r) && ok;
	reply[len] = '\0';
	if (ok)
		gt_note(t, "close=0x%08x reply=\"%s\"", r.ecx, reply);
	return ok;
}

static void expect_reply(struct guest_test_ctx *t, const char *reply, const char *want)
{
	if (strlen(reply) != strlen(want) || memcmp(reply, want, strlen(want)))
		gt_fail(t, "reply \"%s\", expected \"%s\"", reply, want);
}

/* ---- RPCI commands over each bandwidth ----------------------------------- */

struct rpci_exchange {
	const char *request;
	const char *reply;
};

/* Answers that do not depend on what the round trip stored. The host-side
 * boot test looks for "guest: bxkd guest says hello" in the device's log:
 * keep the text. */
static const struct rpci_exchange fixed_exchanges[] = {
	{ "tools.set.version 12345", "1 " },
	{ "bxkd.no.such.command", "0 Unknown command" },
	{ "log bxkd guest says hello", "1 " },
};

/* A value stored step by step (every word checked) reads back through
 * info-get; then the fixed exchanges, all over the same bandwidth. */
static void expect_rpci_exchanges(struct guest_test_ctx *t, const char *key, const char *value,
				  bool use_hb)
{
	char request[REPLY_MAX];
	char want[REPLY_MAX];
	char reply[REPLY_MAX];

	format(request, sizeof(request), "info-set %s %s", key, value);
	if (!round_trip_by_steps(t, request, reply, sizeof(reply), use_hb))
		return;
	expect_reply(t, reply, "1 ");
	format(request, sizeof(request), "info-get %s", key);
	format(want, sizeof(want), "1 %s", value);
	expect_rpci(t, request, want, use_hb);
	for (size_t i = 0; i < sizeof(fixed_exchanges) / sizeof(*fixed_exchanges); i++)
		expect_rpci(t, fixed_exchanges[i].request, fixed_exchanges[i].reply, use_hb);
}

GUEST_TEST(rpc_lb_exchanges)
{
	expect_rpci_exchanges(t, LB_KEY, LB_VALUE, false);
}

GUEST_TEST(rpc_hb_exchanges)
{
	expect_rpci_exchanges(t, HB_KEY, HB_VALUE, true);
}

/* iPXE opens without the cookie flag: OPEN answers exactly 0x00010000 and
 * leaves ESI and EDI alone, and the channel works without cookies. */
GUEST_TEST(rpc_open_without_cookie)
{
	struct bd_regs r = seeded(BDOOR_MAGIC, BDOOR_RPCI_PROTOCOL,
				  BDOOR_MESSAGE_OPEN << 16 | BDOOR_CMD_MESSAGE);
	struct rpc_channel ch = { 0 };
	char reply[REPLY_MAX];
	uint32_t len;
	static const char request[] = "info-get " LB_KEY;

	bd_in(&r);
	if (!gt_expect_u32(t, "OPEN ecx", r.ecx, RPC_OK) ||
	    !gt_expect_u32(t, "OPEN esi", r.esi, SEED_ESI) ||
	    !gt_expect_u32(t, "OPEN edi", r.edi, SEED_EDI))
		return;
	ch.id = (uint16_t)(r.edx >> 16);
	bool ok = rpc_send(&ch, request, sizeof(request) - 1, false) &&
		  rpc_recv(&ch, reply, sizeof(reply) - 1, &len, false);
	ok = rpc_close(&ch) && ok;
	if (!ok) {
		fail_rpc(t, "channel without cookies", &ch.failure);
		return;
	}
	reply[len] = '\0';
	expect_reply(t, reply, "1 " LB_VALUE);
	gt_note(t, "channel=%u open=0x%08x reply=\"%s\"", ch.id, RPC_OK, reply);
}

/* ---- high bandwidth ------------------------------------------------------- */

/*
 * What a high-bandwidth OUT and IN leave in the registers. VMware leaves
 * ECX at the count; bochs-plugin/README.md documents ECX = 0 for this
 * device (Bochs ends a REP only at ECX = 0), EBX = the status and every
 * other register unchanged. String I/O never writes EAX.
 */
static struct bd_regs hb_regs_after(const struct bd_regs *sent)
{
	struct bd_regs want = *sent;

	want.ebx = RPC_HB_MESSAGE_OK;
	want.ecx = 0;
	return want;
}

/* Runs SENDSIZE, the HB OUT of `request`, RECVSIZE, the HB IN into
 * reply[] and RECVSTATUS, keeping what each transfer was loaded with and
 * left behind. */
static bool hb_exchange(struct rpc_channel *ch, const char *request, char *reply, uint32_t size,
			struct bd_regs sent[2], struct bd_regs got[2])
{
	uint32_t len = (uint32_t)strlen(request);
	struct bd_regs r;

	if (rpc_step(ch, BDOOR_MESSAGE_SENDSIZE, len, &r) != RPC_SENDSIZE_OK)
		return false;
	sent[0] = got[0] = rpc_hb_out_regs(ch, request, len);
	bd_hb_out(&got[0]);
	if (rpc_step(ch, BDOOR_MESSAGE_RECVSIZE, 0, &r) != RPC_RECVSIZE_REPLY || r.ebx > size)
		return false;
	sent[1] = got[1] = rpc_hb_in_regs(ch, reply, r.ebx);
	bd_hb_in(&got[1]);
	return rpc_step(ch, BDOOR_MESSAGE_RECVSTATUS, BDOOR_MESSAGE_STATUS_SUCCESS, &r) == RPC_OK;
}

GUEST_TEST(rpc_hb_registers)
{
	char reply[REPLY_MAX], seen[200], why[48];
	struct bd_regs sent[2], got[2];
	struct rpc_channel ch;

	if (!rpc_open(&ch, BDOOR_RPCI_PROTOCOL)) {
		fail_rpc(t, "open", &ch.failure);
		return;
	}
	bool ok = hb_exchange(&ch, "tools.set.version 12345", reply, sizeof(reply), sent, got);
	rpc_close(&ch);
	if (!ok) {
		gt_fail(t, "the steps around the transfers failed; rpc_hb_round_trip tells which");
		return;
	}
	format(seen, sizeof(seen),
	       "out: ebx=0x%08x ecx=0x%08x esi=0x%08x edx=0x%08x ebp=0x%08x "
	       "in: ebx=0x%08x ecx=0x%08x edi=0x%08x edx=0x%08x ebp=0x%08x",
	       got[0].ebx, got[0].ecx, got[0].esi, got[0].edx, got[0].ebp, got[1].ebx,
	       got[1].ecx, got[1].edi, got[1].edx, got[1].ebp);
	for (int i = 0; i < 2; i++) {
		struct bd_regs want = hb_regs_after(&sent[i]);

		if (regs_differ(&got[i], &want, why, sizeof(why))) {
			gt_fail(t, "after HB %s %s; %s", i ? "IN" : "OUT", why, seen);
			return;
		}
	}
	gt_note(t, "%s", seen);
}

/* ---- a value of several pages -------------------------------------------- */

#define PAGE_SIZE 4096u
#define BIG_KEY "guestinfo.bxkd.big"
#define BIG_REQUEST_PREFIX "info-set " BIG_KEY " "
#define BIG_VALUE_LEN 6000u
/* Each buffer starts this far below a page boundary, so a transfer of it
 * touches three pages. */
#define BIG_PAGE_OFFSET (PAGE_SIZE - 100u)

_Static_assert(BIG_PAGE_OFFSET + sizeof(BIG_REQUEST_PREFIX) + BIG_VALUE_LEN > 2 * PAGE_SIZE,
	       "the request spans three pages");
_Static_assert(BIG_PAGE_OFFSET + sizeof(BIG_REQUEST_PREFIX) + BIG_VALUE_LEN <= 3 * PAGE_SIZE,
	       "the request fits its buffer");

static char big_request_pages[3 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static char big_reply_pages[3 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

/* Letters with a period of 23, prime to the 4-byte payload word and to
 * the page size, so a misplaced word or page shows. */
static char big_value_byte(uint32_t i)
{
	return (char)('a' + i % 23);
}

static bool expect_big_reply(struct guest_test_ctx *t, const char *how,
			     const struct rpc_reply *reply)
{
	if (reply->len != 2 + BIG_VALUE_LEN || memcmp(reply->buf, "1 ", 2)) {
		gt_fail(t, "%s: %u bytes starting \"%.8s\", expected \"1 \" and %u bytes", how,
			reply->len, reply->buf, BIG_VALUE_LEN);
		return false;
	}
	for (uint32_t i = 0; i < BIG_VALUE_LEN; i++) {
		if (reply->buf[2 + i] != big_value_byte(i)) {
			gt_fail(t, "%s: byte %u of the value is '%c', expected '%c'", how, i,
				reply->buf[2 + i], big_value_byte(i));
			return false;
		}
	}
	return true;
}

/* Set over high bandwidth from a buffer spanning three pages, read back
 * over both paths into another. */
GUEST_TEST(rpc_hb_large_value)
{
	char *request = big_request_pages + BIG_PAGE_OFFSET;
	char *value = request + sizeof(BIG_REQUEST_PREFIX) - 1;
	struct rpc_reply reply = { .buf = big_reply_pages + BIG_PAGE_OFFSET,
				   .size = sizeof(big_reply_pages) - BIG_PAGE_OFFSET };

	memcpy(request, BIG_REQUEST_PREFIX, sizeof(BIG_REQUEST_PREFIX) - 1);
	for (uint32_t i = 0; i < BIG_VALUE_LEN; i++)
		value[i] = big_value_byte(i);
	value[BIG_VALUE_LEN] = '\0';
	if (!rpci(request, &reply, true)) {
		fail_rpc(t, "info-set", &reply.failure);
		return;
	}
	if (reply.len != 2 || memcmp(reply.buf, "1 ", 2)) {
		gt_fail(t, "info-set: reply \"%s\", expected \"1 \"", reply.buf);
		return;
	}
	for (int use_hb = 1; use_hb >= 0; use_hb--) {
		const char *how = use_hb ? "read over HB" : "read over LB";

		memset(big_reply_pages, 0, sizeof(big_reply_pages));
		if (!rpci("info-get " BIG_KEY, &reply, use_hb)) {
			fail_rpc(t, how, &reply.failure);
			return;
		}
		if (!expect_big_reply(t, how, &reply))
			return;
	}
	gt_note(t, "value=%u bytes request=0x%08x+%u reply=0x%08x+%u", BIG_VALUE_LEN,
		(uint32_t)request, (uint32_t)strlen(request), (uint32_t)reply.buf, reply.len);
}
