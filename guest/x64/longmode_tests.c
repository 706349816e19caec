/*
 * longmode_tests.c (x64) -- the backdoor from long mode, group
 * `longmode`: what a 64-bit guest gets in each register's upper half, and
 * high-bandwidth transfers with buffers at 64-bit addresses (RSI, RDI), as
 * VMware serves them (bochs-plugin/README.md "From long mode").
 */
#include "backdoor_call.h"
#include "bxkd/backdoor.h"
#include "guestrpc.h"
#include "kstring.h"
#include "layout.h"
#include "paging.h"
#include "testrun.h"

#define UPPER(pattern) ((uint64_t)(pattern) << 32)

static bool expect_u64(struct guest_test_ctx *t, const char *what, uint64_t got, uint64_t want)
{
	if (got == want)
		return true;
	gt_fail(t, "%s: 0x%016llx, not 0x%016llx", what, (unsigned long long)got,
		(unsigned long long)want);
	return false;
}

/* GETVERSION with a pattern in every upper half: IN EAX writes EAX, and
 * the CPU clears RAX's upper half for it (any write of a 32-bit register
 * does); the device writes EBX and ECX as VMware does, their upper halves
 * left alone; RDX, RSI, RDI, RBP come back untouched. */
GUEST_TEST_IN("longmode", getversion_keeps_the_upper_halves)
{
	struct bd_regs64 r = {
		.rax = UPPER(0xA0A0A0A0u) | BDOOR_MAGIC,
		.rbx = UPPER(0xB0B0B0B0u) | (uint32_t)~BDOOR_MAGIC,
		.rcx = UPPER(0xC0C0C0C0u) | BDOOR_CMD_GETVERSION,
		.rdx = UPPER(0xD0D0D0D0u) | BDOOR_PORT,
		.rsi = UPPER(0x51515151u) | 0x5151u,
		.rdi = UPPER(0xD1D1D1D1u) | 0xD1D1u,
		.rbp = UPPER(0xB1B1B1B1u) | 0xB1B1u,
	};
	struct bd_regs64 sent = r;

	bd_in64(&r);
	if (expect_u64(t, "rax", r.rax, BDOOR_VERSION_MAGIC) &&
	    expect_u64(t, "rbx", r.rbx, UPPER(0xB0B0B0B0u) | BDOOR_MAGIC) &&
	    expect_u64(t, "rcx", r.rcx, UPPER(0xC0C0C0C0u) | BDOOR_VMX_TYPE_WORKSTATION) &&
	    expect_u64(t, "rdx", r.rdx, sent.rdx) && expect_u64(t, "rsi", r.rsi, sent.rsi) &&
	    expect_u64(t, "rdi", r.rdi, sent.rdi))
		expect_u64(t, "rbp", r.rbp, sent.rbp);
	gt_note(t, "rbx=0x%016llx rcx=0x%016llx", (unsigned long long)r.rbx,
		(unsigned long long)r.rcx);
}

/* ---- a GuestRPC round trip with high-bandwidth transfers at 64-bit addresses ---- */

#define LONGMODE_KEY "guestinfo.bxkd.longmode"
#define SET_PREFIX "info-set " LONGMODE_KEY " "
#define GET_REQUEST "info-get " LONGMODE_KEY
#define VALUE_LENGTH 6000u
#define PAGE_SIZE 4096u
/* Both buffers start inside a page and span three. */
#define BUFFER_OFFSET 100u
#define BUFFER_PAGES 3u

struct channel64 {
	uint32_t id, cookie_high, cookie_low;
};

static uint8_t request_pages[BUFFER_PAGES * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t reply_pages[BUFFER_PAGES * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

/* A low-bandwidth MESSAGE step with 64-bit registers: ECX's status. */
static uint32_t message_step(const struct channel64 *ch, enum bdoor_message_type step,
			     uint32_t ebx, struct bd_regs64 *r)
{
	*r = (struct bd_regs64){
		.rax = BDOOR_MAGIC,
		.rbx = ebx,
		.rcx = (uint32_t)step << 16 | BDOOR_CMD_MESSAGE,
		.rdx = ch->id << 16 | BDOOR_PORT,
		.rsi = ch->cookie_high,
		.rdi = ch->cookie_low,
	};
	bd_in64(r);
	return (uint32_t)r->rcx;
}

/* The same RAM seen at LONG_ALIAS_OFFSET. */
static uint64_t long_alias(const void *p)
{
	return LONG_ALIAS_OFFSET + virt_to_phys(p);
}

/* The RAM a device that cut `alias` to 32 bits would reach instead. */
static uint8_t *cut_to_32_bits(uint64_t alias)
{
	return phys_to_virt((uint32_t)alias);
}

static uint8_t value_byte(uint32_t i)
{
	return (uint8_t)('a' + (i * 7 + i / 26) % 26);
}

/* One RPCI request sent by REP OUTSB from RSI = `out`, its reply taken by
 * REP INSB to RDI = `in` (64-bit addresses both); the pointers must come
 * back where they started, as VMware leaves them. The reply's length, or
 * false with the test failed. */
static bool rpci64(struct guest_test_ctx *t, uint64_t out, uint32_t length, uint64_t in,
		   uint32_t size, uint32_t *reply_length)
{
	struct channel64 ch = { 0 };
	struct bd_regs64 r;

	if (!gt_expect_u32(t, "OPEN",
			   message_step(&ch, BDOOR_MESSAGE_OPEN,
					BDOOR_RPCI_PROTOCOL | BDOOR_MESSAGE_FLAG_COOKIE, &r),
			   RPC_OK))
		return false;
	ch = (struct channel64){ (uint32_t)(r.rdx >> 16) & 0xffffu, (uint32_t)r.rsi,
				 (uint32_t)r.rdi };
	bool ok = gt_expect_u32(t, "SENDSIZE", message_step(&ch, BDOOR_MESSAGE_SENDSIZE, length, &r),
				RPC_SENDSIZE_OK);
	struct bd_regs64 hb = { BDOOR_MAGIC, RPC_HB_MESSAGE_OK, length,
				ch.id << 16 | BDOOR_PORT_HB, out, ch.cookie_low, ch.cookie_high };
	if (ok) {
		bd_hb_out64(&hb);
		ok = gt_expect_u32(t, "HB OUT ebx", (uint32_t)hb.rbx, RPC_HB_MESSAGE_OK) &&
		     expect_u64(t, "rsi after REP OUTSB", hb.rsi, out);
	}
	if (ok)
		ok = gt_expect_u32(t, "RECVSIZE", message_step(&ch, BDOOR_MESSAGE_RECVSIZE, 0, &r),
				   RPC_RECVSIZE_REPLY);
	*reply_length = (uint32_t)r.rbx;
	if (ok && *reply_length > size) {
		gt_fail(t, "a reply of %u bytes for %u of room", *reply_length, size);
		ok = false;
	}
	hb = (struct bd_regs64){ BDOOR_MAGIC, RPC_HB_MESSAGE_OK, *reply_length,
				 ch.id << 16 | BDOOR_PORT_HB, ch.cookie_high, in, ch.cookie_low };
	if (ok) {
		bd_hb_in64(&hb);
		ok = gt_expect_u32(t, "HB IN ebx", (uint32_t)hb.rbx, RPC_HB_MESSAGE_OK) &&
		     expect_u64(t, "rdi after REP INSB", hb.rdi, in);
	}
	if (ok)
		ok = gt_expect_u32(t, "RECVSTATUS",
				   message_step(&ch, BDOOR_MESSAGE_RECVSTATUS,
						BDOOR_MESSAGE_STATUS_SUCCESS, &r),
				   RPC_OK);
	bool closed = gt_expect_u32(t, "CLOSE", message_step(&ch, BDOOR_MESSAGE_CLOSE, 0, &r),
				    RPC_OK);
	return ok && closed;
}

/* A 6000-byte value set and read back over the high-bandwidth port, both
 * buffers across page boundaries at an address above 4 GiB whose low 32
 * bits name other RAM: the bytes that arrive are the value's, and the RAM
 * a 32-bit address would reach stays as it was. */
GUEST_TEST_IN("longmode", hb_transfers_use_the_whole_64_bit_rsi_and_rdi)
{
	uint8_t *request = request_pages + BUFFER_OFFSET;
	uint8_t *reply = reply_pages + BUFFER_OFFSET;
	uint32_t room = sizeof(reply_pages) - BUFFER_OFFSET, length, got;
	uint8_t *decoy = cut_to_32_bits(long_alias(reply));

	length = sizeof(SET_PREFIX) - 1;
	memcpy(request, SET_PREFIX, length);
	for (uint32_t i = 0; i < VALUE_LENGTH; i++)
		request[length++] = value_byte(i);
	if (!rpci64(t, long_alias(request), length, long_alias(reply), room, &got))
		return;
	if (got != 2 || memcmp(reply, "1 ", 2)) {
		gt_fail(t, "info-set answered %u bytes \"%.8s\"", got, (const char *)reply);
		return;
	}
	memset(reply_pages, 0, sizeof(reply_pages));
	memset(decoy, 0x5a, VALUE_LENGTH + 2);
	memcpy(request, GET_REQUEST, sizeof(GET_REQUEST) - 1);
	if (!rpci64(t, long_alias(request), sizeof(GET_REQUEST) - 1, long_alias(reply), room, &got))
		return;
	if (got != VALUE_LENGTH + 2 || memcmp(reply, "1 ", 2)) {
		gt_fail(t, "info-get answered %u bytes \"%.8s\"", got, (const char *)reply);
		return;
	}
	for (uint32_t i = 0; i < VALUE_LENGTH; i++) {
		if (reply[2 + i] != value_byte(i)) {
			gt_fail(t, "reply byte %u is 0x%02x, not 0x%02x", 2 + i, reply[2 + i],
				value_byte(i));
			return;
		}
	}
	for (uint32_t i = 0; i < VALUE_LENGTH + 2; i++) {
		if (decoy[i] != 0x5a) {
			gt_fail(t, "the RAM at the address cut to 32 bits changed at +%u", i);
			return;
		}
	}
	gt_note(t, "request at 0x%016llx, reply at 0x%016llx, %u bytes each way",
		(unsigned long long)long_alias(request), (unsigned long long)long_alias(reply),
		VALUE_LENGTH);
}
