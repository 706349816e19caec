/*
 * guestrpc.c -- the GuestRPC client (guestrpc.h).
 *
 * Register use per step follows open-vm-tools' message.c: channel id in
 * EDX[31:16], cookies in ESI (high) and EDI (low) on port 0x5658; on port
 * 0x5659 the buffer takes ESI (out) or EDI (in) and the cookies move over.
 */
#include "guestrpc.h"

#include "kstring.h"

#define PAYLOAD_WORD 4u /* bytes per SENDPAYLOAD or RECVPAYLOAD */

/* What RECVPAYLOAD and RECVSTATUS pass in EBX: the previous step went
 * well (open-vm-tools' convention). */
#define RECV_STATUS_OK BDOOR_MESSAGE_STATUS_SUCCESS

static bool fail(struct rpc_channel *ch, const char *what, uint32_t got, uint32_t want)
{
	if (!ch->failure.what)
		ch->failure = (struct rpc_failure){ what, got, want };
	return false;
}

static bool expect(struct rpc_channel *ch, const char *what, uint32_t got, uint32_t want)
{
	return got == want || fail(ch, what, got, want);
}

static uint32_t channel_edx(const struct rpc_channel *ch, uint32_t port)
{
	return (uint32_t)ch->id << 16 | port;
}

uint32_t rpc_step(const struct rpc_channel *ch, enum bdoor_message_type step, uint32_t ebx,
		  struct bd_regs *r)
{
	*r = (struct bd_regs){
		.eax = BDOOR_MAGIC,
		.ebx = ebx,
		.ecx = (uint32_t)step << 16 | BDOOR_CMD_MESSAGE,
		.edx = channel_edx(ch, BDOOR_PORT),
		.esi = ch->cookie_high,
		.edi = ch->cookie_low,
	};
	bd_in(r);
	return r->ecx;
}

struct bd_regs rpc_hb_out_regs(const struct rpc_channel *ch, const void *data, uint32_t len)
{
	struct bd_regs r = {
		.eax = BDOOR_MAGIC,
		.ebx = RPC_HB_MESSAGE_OK,
		.ecx = len,
		.edx = channel_edx(ch, BDOOR_PORT_HB),
		.esi = (uint32_t)data,
		.edi = ch->cookie_low,
		.ebp = ch->cookie_high,
	};
	return r;
}

struct bd_regs rpc_hb_in_regs(const struct rpc_channel *ch, void *buf, uint32_t len)
{
	struct bd_regs r = {
		.eax = BDOOR_MAGIC,
		.ebx = RPC_HB_MESSAGE_OK,
		.ecx = len,
		.edx = channel_edx(ch, BDOOR_PORT_HB),
		.esi = ch->cookie_high,
		.edi = (uint32_t)buf,
		.ebp = ch->cookie_low,
	};
	return r;
}

uint32_t rpc_hb_send(const struct rpc_channel *ch, const void *data, uint32_t len,
		     struct bd_regs *r)
{
	*r = rpc_hb_out_regs(ch, data, len);
	bd_hb_out(r);
	return r->ebx;
}

uint32_t rpc_hb_recv(const struct rpc_channel *ch, void *buf, uint32_t len, struct bd_regs *r)
{
	*r = rpc_hb_in_regs(ch, buf, len);
	bd_hb_in(r);
	return r->ebx;
}

bool rpc_open_ebx(struct rpc_channel *ch, uint32_t ebx, struct bd_regs *r)
{
	*ch = (struct rpc_channel){ 0 };
	if (!expect(ch, "OPEN", rpc_step(ch, BDOOR_MESSAGE_OPEN, ebx, r), RPC_OK))
		return false;
	ch->id = (uint16_t)(r->edx >> 16);
	if (ebx & BDOOR_MESSAGE_FLAG_COOKIE) {
		ch->has_cookies = true;
		ch->cookie_high = r->esi;
		ch->cookie_low = r->edi;
	}
	return true;
}

bool rpc_open(struct rpc_channel *ch, uint32_t protocol)
{
	struct bd_regs r;

	return rpc_open_ebx(ch, protocol | BDOOR_MESSAGE_FLAG_COOKIE, &r) ||
	       rpc_open_ebx(ch, protocol, &r);
}

static bool send_words(struct rpc_channel *ch, const uint8_t *data, uint32_t len)
{
	struct bd_regs r;

	for (uint32_t done = 0; done < len; done += PAYLOAD_WORD) {
		uint32_t word = 0, n = len - done < PAYLOAD_WORD ? len - done : PAYLOAD_WORD;

		for (uint32_t i = 0; i < n; i++)
			word |= (uint32_t)data[done + i] << (8 * i);
		if (!expect(ch, "SENDPAYLOAD", rpc_step(ch, BDOOR_MESSAGE_SENDPAYLOAD, word, &r),
			    RPC_OK))
			return false;
	}
	return true;
}

bool rpc_send(struct rpc_channel *ch, const void *data, uint32_t len, bool use_hb)
{
	struct bd_regs r;

	if (len > BDOOR_MESSAGE_MAX_SIZE)
		return fail(ch, "message size", len, BDOOR_MESSAGE_MAX_SIZE);
	if (!expect(ch, "SENDSIZE", rpc_step(ch, BDOOR_MESSAGE_SENDSIZE, len, &r),
		    RPC_SENDSIZE_OK))
		return false;
	if (len == 0) /* the host ran it already; REP with ECX = 0 moves nothing */
		return true;
	if (use_hb)
		return expect(ch, "HB OUT", rpc_hb_send(ch, data, len, &r), RPC_HB_MESSAGE_OK);
	return send_words(ch, data, len);
}

static bool recv_words(struct rpc_channel *ch, uint8_t *buf, uint32_t len)
{
	struct bd_regs r;

	for (uint32_t done = 0; done < len; done += PAYLOAD_WORD) {
		uint32_t n = len - done < PAYLOAD_WORD ? len - done : PAYLOAD_WORD;

		if (!expect(ch, "RECVPAYLOAD",
			    rpc_step(ch, BDOOR_MESSAGE_RECVPAYLOAD, RECV_STATUS_OK, &r), RPC_OK) ||
		    !expect(ch, "RECVPAYLOAD EDX[31:16]", r.edx >> 16, BDOOR_MESSAGE_SENDPAYLOAD))
			return false;
		for (uint32_t i = 0; i < n; i++)
			buf[done + i] = (uint8_t)(r.ebx >> (8 * i));
	}
	return true;
}

bool rpc_recv(struct rpc_channel *ch, void *buf, uint32_t size, uint32_t *len, bool use_hb)
{
	struct bd_regs r;
	uint32_t status = rpc_step(ch, BDOOR_MESSAGE_RECVSIZE, 0, &r);
	uint32_t reply_len = r.ebx;

	*len = 0;
	if (status == RPC_OK) /* no DORECV: nothing to receive */
		return true;
	if (!expect(ch, "RECVSIZE", status, RPC_RECVSIZE_REPLY) ||
	    !expect(ch, "RECVSIZE EDX[31:16]", r.edx >> 16, BDOOR_MESSAGE_SENDSIZE))
		return false;
	if (reply_len > size)
		return fail(ch, "reply size", reply_len, size);
	if (use_hb && reply_len) {
		if (!expect(ch, "HB IN", rpc_hb_recv(ch, buf, reply_len, &r), RPC_HB_MESSAGE_OK))
			return false;
	} else if (!recv_words(ch, buf, reply_len)) {
		return false;
	}
	if (!expect(ch, "RECVSTATUS", rpc_step(ch, BDOOR_MESSAGE_RECVSTATUS, RECV_STATUS_OK, &r),
		    RPC_OK))
		return false;
	*len = reply_len;
	return true;
}

bool rpc_close(struct rpc_channel *ch)
{
	struct bd_regs r;

	return expect(ch, "CLOSE", rpc_step(ch, BDOOR_MESSAGE_CLOSE, 0, &r), RPC_OK);
}

bool rpci(const char *request, struct rpc_reply *reply, bool use_hb)
{
	struct rpc_channel ch;
	size_t request_len = strlen(request);
	bool ok;

	reply->len = 0;
	reply->failure = (struct rpc_failure){ 0 };
	if (reply->size == 0) {
		reply->failure = (struct rpc_failure){ "reply buffer size", 0, 1 };
		return false;
	}
	reply->buf[0] = '\0';
	if (request_len > BDOOR_MESSAGE_MAX_SIZE) {
		reply->failure = (struct rpc_failure){ "request size", (uint32_t)request_len,
						       BDOOR_MESSAGE_MAX_SIZE };
		return false;
	}
	if (!rpc_open(&ch, BDOOR_RPCI_PROTOCOL)) {
		reply->failure = ch.failure;
		return false;
	}
	ok = rpc_send(&ch, request, (uint32_t)request_len, use_hb) &&
	     rpc_recv(&ch, reply->buf, reply->size - 1, &reply->len, use_hb);
	/* Close whatever happened: channels are few. */
	ok = rpc_close(&ch) && ok;
	reply->buf[reply->len] = '\0';
	reply->failure = ch.failure;
	return ok;
}
