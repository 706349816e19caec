/*
 * fuzz_guestrpc.c -- GuestRPC (bochs-plugin/vmport_guestrpc.c, rpci.c): raw
 * MESSAGE steps and high-bandwidth transfers with any registers at any
 * CPL, whole RPCI and TCLO exchanges, TCLO commands queued by the host.
 *
 * Two devices run the same script on two fake vCPUs
 * (tests/unit/fake_vcpu.c). Device A moves each message's bytes in the
 * pieces the input chooses, low-bandwidth words and high-bandwidth
 * transfers mixed; device B moves them a word at a time. Invariants:
 *  - the same replies, byte for byte, and the same registers after every
 *    raw call: the answer does not depend on how the input was split;
 *  - a call writes guest memory only inside the buffer of its REP INSB
 *    (ES:EDI, ECX bytes), and no register but those the command answers in;
 *    ESP and the upper halves of the 64-bit registers never;
 *  - a command refused at CPL 3 leaves no trace: no register but EAX, no
 *    byte of memory, no statistic but the refusal.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bxkd/backdoor.h"
#include "fake_vcpu.h"
#include "fuzz_input.h"
#include "vmport.h"

#define RAM_SIZE (192u * 1024u)
#define DS_BASE 0x10000u
#define ES_BASE 0x20000u
#define UPPER_HALF 0xC3C3C3C3ull
#define MESSAGE_MAX 300u
#define OK_STATUS ((uint32_t)BDOOR_MESSAGE_STATUS_SUCCESS << 16)

/* A write the device made to guest memory (through the vCPU's write_phys). */
struct write {
	uint64_t paddr;
	size_t len;
};
#define WRITES_MAX 64

struct side {
	struct fake_vcpu cpu; /* first: write_phys gets its address as ctx */
	struct vmport *vp;
	bool words_only; /* B: every message a word at a time */
	struct write writes[WRITES_MAX];
	unsigned write_count;
};

struct regs {
	uint32_t r[GUEST_REG_COUNT];
};

static struct side sides[2];
static bool (*fake_write_phys)(void *ctx, uint64_t paddr, const void *buf, size_t len);

/* Every write the device makes is noted for the call's checks. */
static bool noted_write_phys(void *ctx, uint64_t paddr, const void *buf, size_t len)
{
	struct side *s = ctx;

	FUZZ_ASSERT(s->write_count < WRITES_MAX, "more than %d guest memory writes in one call",
		    WRITES_MAX);
	s->writes[s->write_count++] = (struct write){ paddr, len };
	return fake_write_phys(ctx, paddr, buf, len);
}

static void side_open(struct side *s, bool words_only, uint32_t unmapped)
{
	struct vmport_config config;

	vmport_config_init(&config);
	config.ram_bytes = RAM_SIZE;
	fake_vcpu_init(&s->cpu, RAM_SIZE);
	s->cpu.segment_base[GUEST_SEG_DS] = DS_BASE;
	s->cpu.segment_base[GUEST_SEG_ES] = ES_BASE;
	s->cpu.page_xor = 0x1000;
	s->cpu.unmapped_linear = unmapped;
	fake_write_phys = s->cpu.vcpu.write_phys;
	s->cpu.vcpu.write_phys = noted_write_phys;
	s->vp = vmport_create(&config, NULL);
	FUZZ_ASSERT(s->vp, "out of memory");
	s->words_only = words_only;
}

static void side_close(struct side *s)
{
	vmport_destroy(s->vp);
	fake_vcpu_free(&s->cpu);
}

/* Whether physical byte `paddr` lies in the REP INSB buffer of the call. */
static bool in_insb_buffer(const struct side *s, uint64_t paddr, const struct regs *in)
{
	uint32_t linear = (uint32_t)paddr ^ s->cpu.page_xor;
	uint32_t start = ES_BASE + in->r[GUEST_REG_EDI];
	return linear - start < in->r[GUEST_REG_ECX];
}

/* One call and the invariants every call keeps; returns the registers. */
static struct regs call(struct side *s, uint16_t port, enum guest_port_dir dir, unsigned cpl,
			const struct regs *in)
{
	struct fake_vcpu *cpu = &s->cpu;
	struct vmport_stats stats = *vmport_get_stats(s->vp);
	struct regs out;

	cpu->cpl = cpl;
	for (int r = 0; r < GUEST_REG_COUNT; r++)
		cpu->reg[r] = UPPER_HALF << 32 | in->r[r];
	fake_vcpu_clear_writes(cpu);
	s->write_count = 0;
	struct guest_port_access access = fake_vcpu_io(cpu, s->vp, port, dir);
	/* A 32-bit IN itself clears RAX's upper half (the fake does). */
	bool eax_loaded = dir == GUEST_PORT_IN && !access.string_op_done;
	for (int r = 0; r < GUEST_REG_COUNT; r++) {
		FUZZ_ASSERT(cpu->reg[r] >> 32 == UPPER_HALF || (r == GUEST_REG_EAX && eax_loaded),
			    "register %d lost its upper half", r);
		out.r[r] = (uint32_t)cpu->reg[r];
	}
	FUZZ_ASSERT(!cpu->reg_writes[GUEST_REG_ESP], "ESP written");
	bool insb = port == BDOOR_PORT_HB && dir == GUEST_PORT_IN;
	bool refused = vmport_get_stats(s->vp)->refused_commands != stats.refused_commands;
	bool transferred = insb && out.r[GUEST_REG_EBX] & OK_STATUS;
	for (unsigned w = 0; w < s->write_count; w++) {
		uint64_t p = s->writes[w].paddr;
		FUZZ_ASSERT(insb, "guest memory at 0x%llx written by a call that moves none",
			    (unsigned long long)p);
		FUZZ_ASSERT(transferred, "a refused REP INSB wrote guest memory at 0x%llx",
			    (unsigned long long)p);
		for (size_t i = 0; i < s->writes[w].len; i++)
			FUZZ_ASSERT(in_insb_buffer(s, p + i, in),
				    "guest memory at 0x%llx written outside the REP INSB buffer",
				    (unsigned long long)(p + i));
	}
	if (refused) {
		FUZZ_ASSERT(cpl != 0, "a command refused at CPL 0");
		FUZZ_ASSERT(!s->write_count, "a refused command wrote guest memory");
		for (int r = GUEST_REG_ECX; r < GUEST_REG_COUNT; r++)
			FUZZ_ASSERT(out.r[r] == in->r[r], "a refused command changed register %d", r);
		stats.refused_commands++;
		stats.calls++;
		FUZZ_ASSERT(!memcmp(&stats, vmport_get_stats(s->vp), sizeof(stats)),
			    "a refused command changed the device's statistics");
	}
	return out;
}

/* A raw call on both devices: the same registers must come back. */
static void call_both(uint16_t port, enum guest_port_dir dir, unsigned cpl, const struct regs *in)
{
	struct regs a = call(&sides[0], port, dir, cpl, in);
	struct regs b = call(&sides[1], port, dir, cpl, in);
	for (int r = 0; r < GUEST_REG_COUNT; r++)
		FUZZ_ASSERT(a.r[r] == b.r[r],
			    "the devices answered a raw call (port 0x%x, ECX 0x%08x) differently: "
			    "register %d is 0x%08x on one, 0x%08x on the other",
			    port, in->r[GUEST_REG_ECX], r, a.r[r], b.r[r]);
}

static struct regs message_regs(uint16_t step, uint32_t ebx, uint32_t channel, uint32_t esi,
				uint32_t edi)
{
	struct regs in = { { 0 } };
	in.r[GUEST_REG_EAX] = BDOOR_MAGIC;
	in.r[GUEST_REG_ECX] = (uint32_t)step << 16 | BDOOR_CMD_MESSAGE;
	in.r[GUEST_REG_EBX] = ebx;
	in.r[GUEST_REG_EDX] = channel << 16 | BDOOR_PORT;
	in.r[GUEST_REG_ESI] = esi;
	in.r[GUEST_REG_EDI] = edi;
	return in;
}

static void raw_call(struct fuzz_input *in, bool high_bandwidth)
{
	uint8_t how = fuzz_u8(in);
	struct regs r;

	for (int i = 0; i < GUEST_REG_COUNT; i++)
		r.r[i] = fuzz_u32(in);
	r.r[GUEST_REG_EAX] = BDOOR_MAGIC;
	r.r[GUEST_REG_ESP] = 0x8000;
	if (!high_bandwidth && how & 4) /* mostly MESSAGE steps, on a real channel */
		r.r[GUEST_REG_ECX] = (r.r[GUEST_REG_ECX] % 8) << 16 | BDOOR_CMD_MESSAGE;
	if (how & 8)
		r.r[GUEST_REG_EDX] = (r.r[GUEST_REG_EDX] % BDOOR_MESSAGE_MAX_CHANNELS) << 16 |
				     (high_bandwidth ? BDOOR_PORT_HB : BDOOR_PORT);
	if (high_bandwidth && how & 16) {
		r.r[GUEST_REG_EBX] &= 0xffff0000u; /* BDOORHB_CMD_MESSAGE */
		r.r[GUEST_REG_ECX] %= 256;
	}
	call_both(high_bandwidth ? BDOOR_PORT_HB : BDOOR_PORT,
		  how & 1 ? GUEST_PORT_OUT : GUEST_PORT_IN, (how >> 1) & 1 ? 3 : 0, &r);
}

struct channel {
	uint32_t id, cookie_high, cookie_low;
};

/* Sends `message` on side s in pieces chosen by `in` (or words). */
static void send_message(struct side *s, const struct channel *ch, const uint8_t *message,
			 uint32_t length, struct fuzz_input *in, unsigned cpl)
{
	struct regs r = message_regs(BDOOR_MESSAGE_SENDSIZE, length, ch->id, ch->cookie_high,
				     ch->cookie_low);
	if (!(call(s, BDOOR_PORT, GUEST_PORT_IN, cpl, &r).r[GUEST_REG_ECX] & OK_STATUS))
		return;
	for (uint32_t sent = 0; sent < length;) {
		uint8_t piece = s->words_only ? 0 : fuzz_u8(in);
		if (piece & 1) {
			uint32_t n = 1 + piece / 2 % (length - sent);
			if (n > length - sent)
				n = length - sent;
			struct regs hb = { { 0 } };
			hb.r[GUEST_REG_EAX] = BDOOR_MAGIC;
			hb.r[GUEST_REG_EBX] = BDOORHB_CMD_MESSAGE | OK_STATUS;
			hb.r[GUEST_REG_ECX] = n;
			hb.r[GUEST_REG_EDX] = ch->id << 16 | BDOOR_PORT_HB;
			hb.r[GUEST_REG_ESI] = sent; /* exchange() put the message at DS:0 */
			hb.r[GUEST_REG_EBP] = ch->cookie_high;
			hb.r[GUEST_REG_EDI] = ch->cookie_low;
			call(s, BDOOR_PORT_HB, GUEST_PORT_OUT, cpl, &hb);
			sent += n;
		} else {
			uint32_t word = 0;
			for (uint32_t k = 0; k < 4 && sent + k < length; k++)
				word |= (uint32_t)message[sent + k] << (8 * k);
			r = message_regs(BDOOR_MESSAGE_SENDPAYLOAD, word, ch->id, ch->cookie_high,
					 ch->cookie_low);
			call(s, BDOOR_PORT, GUEST_PORT_IN, cpl, &r);
			sent += 4;
		}
	}
}

/* Reads the reply on side s in pieces chosen by `in`; returns its length
 * (reply[] holds it) and the RECVSIZE status. */
static uint32_t receive_reply(struct side *s, const struct channel *ch, uint8_t *reply,
			      uint32_t room, struct fuzz_input *in, unsigned cpl, uint32_t *status)
{
	struct regs r = message_regs(BDOOR_MESSAGE_RECVSIZE, 0, ch->id, ch->cookie_high,
				     ch->cookie_low);
	struct regs out = call(s, BDOOR_PORT, GUEST_PORT_IN, cpl, &r);
	uint32_t length = out.r[GUEST_REG_EBX], got = 0;

	*status = out.r[GUEST_REG_ECX];
	if (!(*status & (uint32_t)BDOOR_MESSAGE_STATUS_DORECV << 16))
		return 0;
	if (length > room)
		length = room;
	while (got < length) {
		uint8_t piece = s->words_only ? 0 : fuzz_u8(in);
		if (piece & 1) {
			uint32_t n = piece / 2 % (length - got + 1);
			struct regs hb = { { 0 } };
			hb.r[GUEST_REG_EAX] = BDOOR_MAGIC;
			hb.r[GUEST_REG_EBX] = BDOORHB_CMD_MESSAGE | OK_STATUS;
			hb.r[GUEST_REG_ECX] = n;
			hb.r[GUEST_REG_EDX] = ch->id << 16 | BDOOR_PORT_HB;
			hb.r[GUEST_REG_ESI] = ch->cookie_high;
			hb.r[GUEST_REG_EBP] = ch->cookie_low;
			hb.r[GUEST_REG_EDI] = 0x100;
			out = call(s, BDOOR_PORT_HB, GUEST_PORT_IN, cpl, &hb);
			if (out.r[GUEST_REG_EBX] & OK_STATUS) {
				fake_vcpu_peek(&s->cpu, ES_BASE + 0x100, reply + got, n);
				got += n;
				continue;
			}
		}
		r = message_regs(BDOOR_MESSAGE_RECVPAYLOAD, 1, ch->id, ch->cookie_high,
				 ch->cookie_low);
		out = call(s, BDOOR_PORT, GUEST_PORT_IN, cpl, &r);
		FUZZ_ASSERT(out.r[GUEST_REG_ECX] & OK_STATUS, "RECVPAYLOAD refused mid-reply");
		for (uint32_t k = 0; k < 4 && got < length; k++)
			reply[got++] = (uint8_t)(out.r[GUEST_REG_EBX] >> (8 * k));
	}
	return length;
}

/* A whole exchange on a fresh channel, on both devices; same replies. */
static void exchange(struct fuzz_input *in)
{
	uint8_t how = fuzz_u8(in);
	uint32_t protocol = how & 1 ? BDOOR_TCLO_PROTOCOL : BDOOR_RPCI_PROTOCOL;
	unsigned cpl = how & 2 ? 3 : 0;
	const uint8_t *message;
	uint32_t length = (uint32_t)fuzz_bytes(in, fuzz_length(in, MESSAGE_MAX), &message);
	static uint8_t replies[2][BDOOR_MESSAGE_MAX_SIZE];
	uint32_t reply_length[2], status[2];
	struct channel ch[2];
	struct fuzz_input pieces = *in;

	/* The message sits at DS:0 on both sides, so memory stays the same. */
	for (int i = 0; i < 2; i++)
		fake_vcpu_poke(&sides[i].cpu, DS_BASE, message, length);
	for (int i = 0; i < 2; i++) {
		struct regs r = message_regs(BDOOR_MESSAGE_OPEN, protocol | BDOOR_MESSAGE_FLAG_COOKIE,
					     0, 0, 0);
		struct regs out = call(&sides[i], BDOOR_PORT, GUEST_PORT_IN, cpl, &r);
		if (!(out.r[GUEST_REG_ECX] & OK_STATUS))
			return; /* all channels taken by raw calls, on both sides */
		ch[i].id = out.r[GUEST_REG_EDX] >> 16;
		ch[i].cookie_high = out.r[GUEST_REG_ESI];
		ch[i].cookie_low = out.r[GUEST_REG_EDI];
		struct fuzz_input mine = pieces;
		send_message(&sides[i], &ch[i], message, length, &mine, cpl);
		reply_length[i] = receive_reply(&sides[i], &ch[i], replies[i], sizeof(replies[i]),
						&mine, cpl, &status[i]);
		if (i == 0)
			*in = mine;
		r = message_regs(BDOOR_MESSAGE_RECVSTATUS, 1, ch[i].id, ch[i].cookie_high,
				 ch[i].cookie_low);
		call(&sides[i], BDOOR_PORT, GUEST_PORT_IN, cpl, &r);
		r = message_regs(BDOOR_MESSAGE_CLOSE, 0, ch[i].id, ch[i].cookie_high,
				 ch[i].cookie_low);
		call(&sides[i], BDOOR_PORT, GUEST_PORT_IN, cpl, &r);
	}
	FUZZ_ASSERT(ch[0].id == ch[1].id && status[0] == status[1] &&
			    reply_length[0] == reply_length[1] &&
			    !memcmp(replies[0], replies[1], reply_length[0]),
		    "the reply depends on how the message was split");
	/* B's guest buffer catches up with A's, so raw transfers read the same:
	 * A's receives wrote ES:0x100.., within the first two pages of ES
	 * (which the fake's page_xor swaps). */
	memcpy(sides[1].cpu.memory + ES_BASE, sides[0].cpu.memory + ES_BASE, 0x2000);
}

static void queue_tclo(struct fuzz_input *in)
{
	const uint8_t *text;
	char command[64];
	size_t n = fuzz_bytes(in, fuzz_length(in, sizeof(command) - 1), &text);

	memcpy(command, text, n);
	command[n] = '\0';
	for (int i = 0; i < 2; i++)
		vmport_tclo_queue(sides[i].vp, command);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;

	fuzz_input_init(&in, data, size);
	uint32_t unmapped = ES_BASE + 0x1000u * (fuzz_u8(&in) % 8);
	side_open(&sides[0], false, unmapped);
	side_open(&sides[1], true, unmapped);
	for (unsigned ops = 0; !fuzz_input_done(&in) && ops < 24; ops++) {
		/* The clock moves per operation, not per call: the sides make
		 * different numbers of calls for the same message. */
		sides[0].cpu.ticks = sides[1].cpu.ticks = 1000u * ops;
		switch (fuzz_u8(&in) % 5) {
		case 0:
			raw_call(&in, false);
			break;
		case 1:
			raw_call(&in, true);
			break;
		case 2:
			queue_tclo(&in);
			break;
		default:
			exchange(&in);
			break;
		}
	}
	side_close(&sides[0]);
	side_close(&sides[1]);
	return 0;
}
