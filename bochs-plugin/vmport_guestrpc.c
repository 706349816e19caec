/*
 * guestrpc.c -- GuestRPC channels: the MESSAGE command's seven steps on the
 * low-bandwidth port and payload transfers on the high-bandwidth port.
 *
 * Status words are exact (clients compare them with ==): success is
 * status << 16 with a zero low word; a refused step answers 0. Every length
 * and channel id comes from the guest and is checked before use.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmport_internal.h"

enum {
	OK = BDOOR_MESSAGE_STATUS_SUCCESS,
	REFUSED = 0,
	/* EDX[31:16] after RECVSIZE / RECVPAYLOAD: what the guest may do next. */
	NEXT_SENDSIZE = 1,
	NEXT_SENDPAYLOAD = 2,
};

/* ---- reply buffers ------------------------------------------------------ */

bool vmport_buffer_append(struct vmport_buffer *b, const void *data, size_t len)
{
	if (len > VMPORT_REPLY_MAX || b->len + len > VMPORT_REPLY_MAX) {
		b->overflowed = true;
		return false;
	}
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + len)
			cap *= 2;
		uint8_t *bigger = realloc(b->data, cap);
		if (!bigger) {
			b->overflowed = true;
			return false;
		}
		b->data = bigger;
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return true;
}

bool vmport_buffer_printf(struct vmport_buffer *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	if ((size_t)n < sizeof(small))
		return vmport_buffer_append(b, small, (size_t)n);

	char *big = malloc((size_t)n + 1);
	if (!big)
		return false;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	bool ok = vmport_buffer_append(b, big, (size_t)n);
	free(big);
	return ok;
}

static void buffer_clear(struct vmport_buffer *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* ---- channel lifetime ---------------------------------------------------- */

/* Drops the message in flight and any reply, keeping the channel open. */
static void drop_exchange(struct vmport_channel *ch)
{
	free(ch->message);
	ch->message = NULL;
	ch->message_size = ch->message_received = 0;
	buffer_clear(&ch->reply);
	ch->has_reply = false;
	ch->reply_sent = 0;
	ch->state = CHANNEL_IDLE;
}

static void close_channel(struct vmport_channel *ch)
{
	drop_exchange(ch);
	free(ch->tclo_command);
	memset(ch, 0, sizeof(*ch));
}

void vmport_channels_free(struct vmport *vp)
{
	for (int i = 0; i < BDOOR_MESSAGE_MAX_CHANNELS; i++)
		close_channel(&vp->channels[i]);
}

/* splitmix64: cookies only have to be unguessable by accident, and the
 * same in every run of the same machine. */
static uint64_t next_cookie(struct vmport *vp)
{
	uint64_t z = vp->config.cookie_seed + ++vp->cookies_issued * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * The channel a step names in EDX[31:16], if it is open and the cookies
 * match. A channel left over from before a checkpoint restore answers CPT
 * once, which tells the guest to retry its whole operation.
 */
static uint16_t find_channel(struct vmport *vp, uint32_t edx, uint32_t cookie_high,
			     uint32_t cookie_low, struct vmport_channel **out)
{
	uint32_t id = edx >> 16;
	struct vmport_channel *ch;

	*out = NULL;
	if (id >= BDOOR_MESSAGE_MAX_CHANNELS)
		return REFUSED;
	ch = &vp->channels[id];
	if (ch->state == CHANNEL_CLOSED)
		return REFUSED;
	if (ch->has_cookies && (cookie_high != ch->cookie_high || cookie_low != ch->cookie_low))
		return REFUSED;
	if (ch->stale) {
		drop_exchange(ch);
		ch->stale = false;
		return BDOOR_MESSAGE_STATUS_CPT;
	}
	*out = ch;
	return OK;
}

/* ---- a complete message ---------------------------------------------------- */

/* An empty message has no buffer; whoever reads it gets an empty one. */
static const uint8_t *message_bytes(const struct vmport_channel *ch)
{
	static const uint8_t none[1];

	return ch->message ? ch->message : none;
}

static void answer_tclo(struct vmport *vp, struct vmport_channel *ch)
{
	if (vp->tclo_answer_fn)
		vp->tclo_answer_fn(vp->tclo_answer_ctx, ch->tclo_command ? ch->tclo_command : "",
				   message_bytes(ch), ch->message_size);
	free(ch->tclo_command);
	ch->tclo_command = NULL;

	if (vp->tclo_next == vp->tclo_queued)
		return; /* nothing for the guest: RECVSIZE will say so */
	char *command = vp->tclo_queue[vp->tclo_next];
	vp->tclo_queue[vp->tclo_next++] = NULL;
	if (vmport_buffer_append(&ch->reply, command, strlen(command))) {
		ch->has_reply = true;
		ch->tclo_command = command;
	} else {
		vmport_log(vp, BXKD_LOG_ERROR, "TCLO command dropped: out of memory");
		free(command);
	}
}

static void message_complete(struct vmport *vp, struct vmport_channel *ch)
{
	vp->stats.rpc_messages++;
	buffer_clear(&ch->reply);
	ch->has_reply = false;
	ch->state = CHANNEL_IDLE;
	if (ch->protocol == BDOOR_RPCI_PROTOCOL)
		ch->has_reply =
			vmport_rpci_dispatch(vp, message_bytes(ch), ch->message_size, &ch->reply);
	else
		answer_tclo(vp, ch);
	free(ch->message);
	ch->message = NULL;
}

/* ---- low-bandwidth steps ------------------------------------------------- */

static uint16_t step_open(struct vmport *vp, struct vmport_call *call)
{
	uint32_t ebx = call->reg[GUEST_REG_EBX];
	uint32_t protocol = ebx & ~BDOOR_MESSAGE_FLAG_COOKIE;

	if (protocol != BDOOR_RPCI_PROTOCOL && protocol != BDOOR_TCLO_PROTOCOL)
		return REFUSED;
	for (uint32_t id = 0; id < BDOOR_MESSAGE_MAX_CHANNELS; id++) {
		struct vmport_channel *ch = &vp->channels[id];
		if (ch->state != CHANNEL_CLOSED)
			continue;
		memset(ch, 0, sizeof(*ch));
		ch->state = CHANNEL_IDLE;
		ch->protocol = protocol;
		if (ebx & BDOOR_MESSAGE_FLAG_COOKIE) {
			uint64_t cookie = next_cookie(vp);
			ch->has_cookies = true;
			ch->cookie_high = (uint32_t)(cookie >> 32);
			ch->cookie_low = (uint32_t)cookie;
			call->reg[GUEST_REG_ESI] = ch->cookie_high;
			call->reg[GUEST_REG_EDI] = ch->cookie_low;
		}
		call->reg[GUEST_REG_EDX] = id << 16 | (call->reg[GUEST_REG_EDX] & 0xffffu);
		return OK;
	}
	vmport_log(vp, BXKD_LOG_DEBUG, "GuestRPC open refused: all %d channels in use",
		   BDOOR_MESSAGE_MAX_CHANNELS);
	return REFUSED;
}

static uint16_t step_sendsize(struct vmport *vp, struct vmport_channel *ch,
			      struct vmport_call *call)
{
	uint32_t size = call->reg[GUEST_REG_EBX];

	drop_exchange(ch);
	if (size > BDOOR_MESSAGE_MAX_SIZE) {
		vmport_log(vp, BXKD_LOG_DEBUG, "GuestRPC message of %u bytes refused (limit %u)",
			   size, BDOOR_MESSAGE_MAX_SIZE);
		return REFUSED;
	}
	if (size && !(ch->message = malloc(size)))
		return REFUSED;
	ch->message_size = size;
	ch->state = CHANNEL_SENDING;
	if (size == 0)
		message_complete(vp, ch);
	return OK | BDOOR_MESSAGE_STATUS_HB;
}

static uint16_t step_sendpayload(struct vmport *vp, struct vmport_channel *ch,
				 struct vmport_call *call)
{
	uint32_t word = call->reg[GUEST_REG_EBX];

	if (ch->state != CHANNEL_SENDING)
		return REFUSED;
	uint32_t n = ch->message_size - ch->message_received;
	if (n > 4)
		n = 4;
	for (uint32_t i = 0; i < n; i++)
		ch->message[ch->message_received++] = (uint8_t)(word >> (8 * i));
	if (ch->message_received == ch->message_size)
		message_complete(vp, ch);
	return OK;
}

static uint16_t step_recvsize(struct vmport_channel *ch, struct vmport_call *call)
{
	if (ch->state == CHANNEL_SENDING)
		return REFUSED;
	if (!ch->has_reply) {
		call->reg[GUEST_REG_EBX] = 0;
		return OK;
	}
	ch->state = CHANNEL_RECEIVING;
	ch->reply_sent = 0;
	call->reg[GUEST_REG_EBX] = (uint32_t)ch->reply.len;
	call->reg[GUEST_REG_EDX] = NEXT_SENDSIZE << 16 | (call->reg[GUEST_REG_EDX] & 0xffffu);
	return OK | BDOOR_MESSAGE_STATUS_DORECV | BDOOR_MESSAGE_STATUS_HB;
}

static uint16_t step_recvpayload(struct vmport_channel *ch, struct vmport_call *call)
{
	uint32_t word = 0;

	if (ch->state != CHANNEL_RECEIVING || ch->reply_sent >= ch->reply.len)
		return REFUSED;
	uint32_t n = (uint32_t)ch->reply.len - ch->reply_sent;
	if (n > 4)
		n = 4;
	for (uint32_t i = 0; i < n; i++)
		word |= (uint32_t)ch->reply.data[ch->reply_sent++] << (8 * i);
	call->reg[GUEST_REG_EBX] = word;
	call->reg[GUEST_REG_EDX] = NEXT_SENDPAYLOAD << 16 | (call->reg[GUEST_REG_EDX] & 0xffffu);
	return OK;
}

/* EBX carries the guest's verdict on the reception; clients disagree on
 * what they put there (open-vm-tools 1, VirtualKD the RECVSIZE EDX), and
 * VMware accepts both, so the reply is done with either way. */
static uint16_t step_recvstatus(struct vmport_channel *ch)
{
	if (ch->state != CHANNEL_RECEIVING)
		return REFUSED;
	drop_exchange(ch);
	return OK;
}

void vmport_message(struct vmport *vp, struct vmport_call *call)
{
	uint16_t step = BDOOR_SUBCMD(call->reg[GUEST_REG_ECX]);
	struct vmport_channel *ch = NULL;
	uint16_t status;

	if (step == BDOOR_MESSAGE_OPEN) {
		status = step_open(vp, call);
	} else {
		status = find_channel(vp, call->reg[GUEST_REG_EDX], call->reg[GUEST_REG_ESI],
				      call->reg[GUEST_REG_EDI], &ch);
	}
	if (ch) {
		switch (step) {
		case BDOOR_MESSAGE_SENDSIZE:
			status = step_sendsize(vp, ch, call);
			break;
		case BDOOR_MESSAGE_SENDPAYLOAD:
			status = step_sendpayload(vp, ch, call);
			break;
		case BDOOR_MESSAGE_RECVSIZE:
			status = step_recvsize(ch, call);
			break;
		case BDOOR_MESSAGE_RECVPAYLOAD:
			status = step_recvpayload(ch, call);
			break;
		case BDOOR_MESSAGE_RECVSTATUS:
			status = step_recvstatus(ch);
			break;
		case BDOOR_MESSAGE_CLOSE:
			close_channel(ch);
			status = OK;
			break;
		default:
			status = REFUSED;
			break;
		}
	}
	if (!(status & OK))
		vp->stats.message_errors++;
	call->reg[GUEST_REG_ECX] = (uint32_t)status << 16;
	/* Workstation 17 answers EAX = 0 (seen for OPEN; clients never look). */
	call->reg[GUEST_REG_EAX] = 0;
}

/* ---- high-bandwidth transfers ----------------------------------------------- */

/* A guest buffer may span this many pages: a whole message, unaligned. */
#define HB_MAX_PAGES (BDOOR_MESSAGE_MAX_SIZE / 4096 + 2)

/* Copies between guest seg:offset and host memory a page at a time; paging
 * maps pages, not bytes, so a page offset is the same before and after.
 * Every page is translated before any is touched, so a buffer that runs
 * into an unmapped page is refused without a byte of it written. */
static bool guest_copy(const struct vmport_call *call, enum guest_seg seg, uint64_t offset,
		       uint8_t *host, uint32_t len, bool to_guest)
{
	const struct guest_vcpu *v = call->vcpu;
	uint64_t page_start[HB_MAX_PAGES];
	uint32_t page_len[HB_MAX_PAGES];
	size_t pages = 0;

	for (uint32_t done = 0; done < len; pages++) {
		uint64_t paddr;
		if (pages == HB_MAX_PAGES || !v->translate(v->ctx, seg, offset + done, &paddr))
			return false;
		uint32_t chunk = 4096 - (uint32_t)(paddr & 4095);
		if (chunk > len - done)
			chunk = len - done;
		page_start[pages] = paddr;
		page_len[pages] = chunk;
		done += chunk;
	}
	for (size_t i = 0, done = 0; i < pages; done += page_len[i++]) {
		bool ok = to_guest ? v->write_phys(v->ctx, page_start[i], host + done, page_len[i])
				   : v->read_phys(v->ctx, page_start[i], host + done, page_len[i]);
		if (!ok)
			return false;
	}
	return true;
}

/* The buffer address in ESI or EDI (RSI or RDI in 64-bit mode). */
static uint64_t string_pointer(const struct vmport_call *call, enum guest_reg reg)
{
	return call->vcpu->string_pointer(call->vcpu->ctx, reg);
}

/* REP OUTSB: ESI = buffer, EBP:EDI = cookies (high:low). */
static uint16_t hb_send(struct vmport *vp, struct vmport_call *call)
{
	struct vmport_channel *ch;
	uint32_t count = call->reg[GUEST_REG_ECX];
	uint16_t status = find_channel(vp, call->reg[GUEST_REG_EDX], call->reg[GUEST_REG_EBP],
				       call->reg[GUEST_REG_EDI], &ch);

	if (!ch)
		return status;
	if (ch->state != CHANNEL_SENDING || count > ch->message_size - ch->message_received)
		return REFUSED;
	if (!guest_copy(call, GUEST_SEG_DS, string_pointer(call, GUEST_REG_ESI),
			ch->message + ch->message_received, count, false))
		return REFUSED;
	ch->message_received += count;
	vp->stats.hb_transfers++;
	if (ch->message_received == ch->message_size)
		message_complete(vp, ch);
	return OK;
}

/* REP INSB: EDI = buffer, ESI:EBP = cookies (high:low). *delivered says
 * whether any byte went to the guest; if so, *first_byte is what now sits
 * at ES:EDI. */
static uint16_t hb_receive(struct vmport *vp, struct vmport_call *call, uint8_t *first_byte,
			   bool *delivered)
{
	struct vmport_channel *ch;
	uint32_t count = call->reg[GUEST_REG_ECX];
	uint16_t status = find_channel(vp, call->reg[GUEST_REG_EDX], call->reg[GUEST_REG_ESI],
				       call->reg[GUEST_REG_EBP], &ch);

	*delivered = false;
	if (!ch)
		return status;
	if (ch->state != CHANNEL_RECEIVING || count > ch->reply.len - ch->reply_sent)
		return REFUSED;
	/* Nothing to move (the whole reply read, or an empty one): the reply
	 * buffer is not touched, it may not even exist. */
	if (count == 0)
		return OK;
	uint8_t *data = ch->reply.data + ch->reply_sent;
	if (!guest_copy(call, GUEST_SEG_ES, string_pointer(call, GUEST_REG_EDI), data, count, true))
		return REFUSED;
	*first_byte = data[0];
	*delivered = true;
	ch->reply_sent += count;
	vp->stats.hb_transfers++;
	return OK;
}

/*
 * A REP INSB/OUTSB on port 0x5659 with the magic in EAX. EBX[15:0] is the
 * high-bandwidth command, EBX[31:16] the status in and out; ECX the byte
 * count; EDX[31:16] the channel. Whatever the outcome, the whole instruction
 * is answered now: the emulator must not deliver the remaining bytes.
 */
void vmport_hb(struct vmport *vp, struct vmport_call *call, struct guest_port_access *access)
{
	uint32_t ebx = call->reg[GUEST_REG_EBX];
	uint16_t status;
	uint8_t first_byte;
	bool delivered = false;

	access->string_op_done = true;
	if ((ebx & 0xffffu) != BDOORHB_CMD_MESSAGE)
		status = REFUSED;
	else if (call->dir == GUEST_PORT_OUT)
		status = hb_send(vp, call);
	else
		status = hb_receive(vp, call, &first_byte, &delivered);
	if (!(status & OK))
		vp->stats.message_errors++;
	call->reg[GUEST_REG_EBX] = (uint32_t)status << 16 | (ebx & 0xffffu);

	if (call->dir == GUEST_PORT_IN) {
		/* The emulator stores the IN value at ES:EDI after we return: it
		 * must be the byte already there, so a refused or empty transfer
		 * leaves the guest's buffer as it was. */
		if (!delivered && !guest_copy(call, GUEST_SEG_ES, string_pointer(call, GUEST_REG_EDI),
					      &first_byte, 1, false))
			first_byte = 0xff;
		access->in_value = first_byte;
	}
}
