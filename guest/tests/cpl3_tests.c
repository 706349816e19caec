/*
 * cpl3_tests.c -- the backdoor from ring 3.
 *
 * Each test runs a function at CPL 3 (usermode.h) with IOPL 0, where only
 * the backdoor's ports are open in the TSS's I/O permission bitmap. The
 * function stores what it saw in kernel memory; the test checks and prints
 * it back at CPL 0, since the console port is closed to ring 3.
 */
#include "backdoor_call.h"
#include "console.h"
#include "expect.h"
#include "guestrpc.h"
#include "io.h"
#include "kstring.h"
#include "machine.h"
#include "segments.h"
#include "testrun.h"
#include "trap.h"
#include "usermode.h"

#define REPLY_MAX 64
#define CPL3_KEY "guestinfo.bxkd.cpl3"
#define CPL3_VALUE "set from ring 3"

#define EFLAGS_IOPL(eflags) (((eflags) >> 12) & 3u)

/* Up to two calls in one visit to ring 3, and what ring 3 looked like. */
struct cpl3_calls {
	struct bd_regs regs[2];
	unsigned count;
	unsigned cpl, iopl;
};

static uint32_t read_eflags(void)
{
	uint32_t eflags;

	__asm__ volatile("pushf\n\tpop %0" : "=r"(eflags));
	return eflags;
}

static uint32_t backdoor_calls_at_cpl3(void *arg)
{
	struct cpl3_calls *calls = arg;

	calls->cpl = current_cpl();
	calls->iopl = EFLAGS_IOPL(read_eflags());
	for (unsigned i = 0; i < calls->count; i++)
		bd_in(&calls->regs[i]);
	return 0;
}

static bool calls_at_cpl3(struct guest_test_ctx *t, struct cpl3_calls *calls)
{
	run_at_cpl3(backdoor_calls_at_cpl3, calls);
	if (calls->cpl == 3 && calls->iopl == 0)
		return true;
	gt_fail(t, "ran at cpl=%u iopl=%u, expected cpl=3 iopl=0", calls->cpl, calls->iopl);
	return false;
}

static struct bd_regs getversion_regs(struct guest_test_ctx *t, struct bd_regs *want)
{
	struct bd_regs r = seeded(BDOOR_MAGIC, ~BDOOR_MAGIC, BDOOR_CMD_GETVERSION);

	*want = r;
	want->eax = BDOOR_VERSION_MAGIC;
	want->ebx = BDOOR_MAGIC;
	want->ecx = expected_vmx_type(t);
	return r;
}

GUEST_TEST(cpl3_getversion)
{
	struct bd_regs want;
	struct cpl3_calls calls = { .regs = { getversion_regs(t, &want) }, .count = 1 };

	if (!calls_at_cpl3(t, &calls))
		return;
	expect_regs(t, &calls.regs[0], &want);
	gt_note(t, "cpl=3 iopl=0");
}

/*
 * open-vm-tools marks these "CPL0 only": at CPL 3 they are refused like an
 * unknown command, EAX = 0xFFFFFFFF and nothing else changed. An empty port
 * answers the same, so GETVERSION first shows the device is listening to
 * this very ring 3 code.
 */
static void expect_refused_at_cpl3(struct guest_test_ctx *t, uint32_t command)
{
	struct bd_regs want_version, want;
	struct cpl3_calls calls = {
		.regs = { getversion_regs(t, &want_version), seeded_call(command) },
		.count = 2,
	};

	want = calls.regs[1];
	want.eax = BDOOR_NO_ANSWER;
	if (!calls_at_cpl3(t, &calls))
		return;
	if (calls.regs[0].ebx != BDOOR_MAGIC) {
		gt_fail(t, "no backdoor: GETVERSION at CPL 3 gave eax=0x%08x ebx=0x%08x",
			calls.regs[0].eax, calls.regs[0].ebx);
		return;
	}
	expect_regs(t, &calls.regs[1], &want);
	gt_note(t, "cpl=3");
}

GUEST_TEST(cpl3_os_not_found_refused)
{
	expect_refused_at_cpl3(t, BDOOR_CMD_OS_NOT_FOUND);
}

GUEST_TEST(cpl3_apmfunction_refused)
{
	expect_refused_at_cpl3(t, BDOOR_CMD_APMFUNCTION);
}

/* ---- GuestRPC from ring 3 ------------------------------------------------- */

struct cpl3_rpc {
	bool use_hb;
	unsigned cpl;
	bool set_ok, get_ok;
	char set_text[REPLY_MAX], get_text[REPLY_MAX];
	struct rpc_reply set, get;
};

static uint32_t rpc_at_cpl3(void *arg)
{
	struct cpl3_rpc *c = arg;

	c->cpl = current_cpl();
	c->set = (struct rpc_reply){ .buf = c->set_text, .size = sizeof(c->set_text) };
	c->get = (struct rpc_reply){ .buf = c->get_text, .size = sizeof(c->get_text) };
	c->set_ok = rpci("info-set " CPL3_KEY " " CPL3_VALUE, &c->set, c->use_hb);
	c->get_ok = rpci("info-get " CPL3_KEY, &c->get, c->use_hb);
	return 0;
}

static void expect_reply_text(struct guest_test_ctx *t, const char *what, bool ok,
			      const struct rpc_reply *reply, const char *want)
{
	if (!ok)
		fail_rpc(t, what, &reply->failure);
	else if (reply->len != strlen(want) || memcmp(reply->buf, want, reply->len))
		gt_fail(t, "%s: reply \"%s\", expected \"%s\"", what, reply->buf, want);
}

/* info-set, then info-get of the same variable, both from ring 3. */
static void rpc_round_trip_at_cpl3(struct guest_test_ctx *t, bool use_hb)
{
	struct cpl3_rpc c = { .use_hb = use_hb };
	run_at_cpl3(rpc_at_cpl3, &c);
	if (c.cpl != 3) {
		gt_fail(t, "ran at cpl=%u, expected 3", c.cpl);
		return;
	}
	expect_reply_text(t, "info-set", c.set_ok, &c.set, "1 ");
	expect_reply_text(t, "info-get", c.get_ok, &c.get, "1 " CPL3_VALUE);
	gt_note(t, "cpl=3 info-set=\"%s\" info-get=\"%s\"", c.set.buf, c.get.buf);
}

GUEST_TEST(cpl3_rpc_lb)
{
	rpc_round_trip_at_cpl3(t, false);
}

GUEST_TEST(cpl3_rpc_hb)
{
	rpc_round_trip_at_cpl3(t, true);
}

/* ---- the I/O permission bitmap ------------------------------------------- */

/*
 * Ring 3 probes ports with IN; a denied one raises #GP(0), which the
 * handler below counts and steps over. Only a one-byte IN (AL or EAX, port
 * in DX) at CPL 3 during a probe is stepped over; any other #GP stays fatal.
 */
enum { OPCODE_IN_AL_DX = 0xec, OPCODE_IN_EAX_DX = 0xed, VECTOR_GP = 13 };
enum { FIRST_PORT = 0x0000, LAST_PORT = 0xffff }; /* the bitmap's two ends */

static volatile struct {
	bool armed;
	unsigned faults;
	uint32_t error_code;
} gp;

static void step_over_denied_in(struct trap_frame *f)
{
	const uint8_t *insn = (const uint8_t *)f->eip;

	if (!gp.armed || !(f->cs & SELECTOR_RPL3) ||
	    (*insn != OPCODE_IN_AL_DX && *insn != OPCODE_IN_EAX_DX))
		trap_fatal(f);
	gp.faults++;
	gp.error_code = f->error_code;
	f->eip++;
}

struct port_probe {
	uint16_t port;
	uint8_t width; /* bytes: 1 or 4 */
	bool open;     /* expected */
	bool faulted;  /* seen */
};

static uint32_t probe_ports_at_cpl3(void *arg)
{
	struct port_probe *p = arg;

	for (; p->width; p++) {
		unsigned before = gp.faults;
		uint32_t value = 0;

		if (p->width == 4)
			__asm__ volatile("inl %%dx, %%eax" : "+a"(value) : "d"(p->port));
		else
			__asm__ volatile("inb %%dx, %%al" : "+a"(value) : "d"(p->port));
		p->faulted = gp.faults != before;
	}
	return 0;
}

static void run_probes(struct port_probe *probes)
{
	trap_set_handler(VECTOR_GP, step_over_denied_in);
	gp.armed = true;
	run_at_cpl3(probe_ports_at_cpl3, probes);
	gp.armed = false;
	trap_set_handler(VECTOR_GP, NULL);
}

/* Checks every probe and notes what it saw, e.g. "0x5657/1=#GP". */
static bool expect_probes(struct guest_test_ctx *t, const struct port_probe *p)
{
	for (; p->width; p++) {
		if (p->faulted == p->open) {
			gt_fail(t, "%u-byte IN on port 0x%04x %s at CPL 3", p->width, p->port,
				p->open ? "faulted" : "was allowed");
			return false;
		}
		gt_note(t, "0x%04x/%u=%s", p->port, p->width, p->faulted ? "#GP" : "open");
	}
	return true;
}

/*
 * Exactly the backdoor is open: the doubleword on 0x5658 (its four bitmap
 * bits) and a byte on 0x5659, nothing next to it, nothing at either end of
 * the bitmap, not the console. And the reason 0x565A and 0x565B are open:
 * without them the CPU refuses the doubleword IN every client issues.
 */
GUEST_TEST(cpl3_io_bitmap)
{
	struct port_probe probes[] = {
		{ BDOOR_PORT, 4, true, false },	     { BDOOR_PORT_HB, 1, true, false },
		{ BDOOR_PORT - 1, 1, false, false }, { BDOOR_PORT + 4, 1, false, false },
		{ CONSOLE_PORT, 1, false, false },   { FIRST_PORT, 1, false, false },
		{ LAST_PORT, 1, false, false },	     { 0 },
	};
	struct port_probe narrow[] = { { BDOOR_PORT, 4, false, false }, { 0 } };
	enum { BEYOND_HB = BDOOR_PORT_HB + 1, BEYOND_HB_COUNT = 2 };

	run_probes(probes);
	if (!expect_probes(t, probes) || !gt_expect_u32(t, "#GP error code", gp.error_code, 0))
		return;

	gt_note(t, "with only 0x5658-0x5659 open:");
	io_bitmap_deny(BEYOND_HB, BEYOND_HB_COUNT);
	run_probes(narrow);
	io_bitmap_allow(BEYOND_HB, BEYOND_HB_COUNT);
	expect_probes(t, narrow);
}
