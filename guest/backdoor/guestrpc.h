/*
 * guestrpc.h -- a GuestRPC client over the backdoor's MESSAGE command.
 *
 * A channel is opened, carries one message each way at a time, and is
 * closed; rpci() does all of it for one RPCI request, as open-vm-tools'
 * RpcOut does. Payloads go either four bytes per SENDPAYLOAD/RECVPAYLOAD
 * step on port 0x5658 or in one REP OUTSB/INSB on port 0x5659. Every step
 * checks the exact status word, as iPXE does, and every length the device
 * reports is checked against the buffer before a byte is stored.
 *
 * On failure a call returns false and the channel's `failure` says which
 * step or check failed first since the channel was opened, what came back
 * and what was expected.
 */
#ifndef GUEST_GUESTRPC_H
#define GUEST_GUESTRPC_H

#include <stdbool.h>
#include <stdint.h>

#include "backdoor_call.h"

/* Status words as they come back: status bits in [31:16], zero below. */
#define RPC_WORD(status) ((uint32_t)(status) << 16)
#define RPC_REFUSED 0u
/* 0x00010000 */
#define RPC_OK RPC_WORD(BDOOR_MESSAGE_STATUS_SUCCESS)
/* 0x00810000: SENDSIZE accepted, and payloads may take port 0x5659. */
#define RPC_SENDSIZE_OK RPC_WORD(BDOOR_MESSAGE_STATUS_SUCCESS | BDOOR_MESSAGE_STATUS_HB)
/* 0x00830000: RECVSIZE with a reply waiting. */
#define RPC_RECVSIZE_REPLY                                                      \
	RPC_WORD(BDOOR_MESSAGE_STATUS_SUCCESS | BDOOR_MESSAGE_STATUS_DORECV | \
		 BDOOR_MESSAGE_STATUS_HB)
/* EBX in and out of a high-bandwidth transfer: MESSAGE, status SUCCESS. */
#define RPC_HB_MESSAGE_OK (RPC_OK | BDOORHB_CMD_MESSAGE)

struct rpc_failure {
	const char *what; /* a step ("SENDSIZE") or a check ("reply size"); NULL: none */
	uint32_t got, want;
};

struct rpc_channel {
	uint16_t id;
	bool has_cookies;
	uint32_t cookie_high, cookie_low;
	struct rpc_failure failure;
};

/* Opens a channel for `protocol` (BDOOR_RPCI_PROTOCOL or _TCLO) with
 * cookies, or, when the host refuses that, without, as open-vm-tools does. */
bool rpc_open(struct rpc_channel *ch, uint32_t protocol);

/* One OPEN with EBX exactly as given; *regs gets what came back. */
bool rpc_open_ebx(struct rpc_channel *ch, uint32_t ebx, struct bd_regs *regs);

/* Sends a whole message: SENDSIZE, then the payload. */
bool rpc_send(struct rpc_channel *ch, const void *data, uint32_t len, bool use_hb);

/* Receives the reply into buf (at most `size` bytes): RECVSIZE, the payload,
 * RECVSTATUS. *len = 0 when the host has nothing to say. */
bool rpc_recv(struct rpc_channel *ch, void *buf, uint32_t size, uint32_t *len, bool use_hb);

bool rpc_close(struct rpc_channel *ch);

/* The building blocks, for code that checks registers itself. Each fills
 * every register from the channel and returns the status word: ECX for a
 * low-bandwidth step, EBX for a high-bandwidth transfer. */
uint32_t rpc_step(const struct rpc_channel *ch, enum bdoor_message_type step, uint32_t ebx,
		  struct bd_regs *regs);
uint32_t rpc_hb_send(const struct rpc_channel *ch, const void *data, uint32_t len,
		     struct bd_regs *regs);
uint32_t rpc_hb_recv(const struct rpc_channel *ch, void *buf, uint32_t len,
		     struct bd_regs *regs);

/* The registers rpc_hb_send and rpc_hb_recv load, for bd_hb_out / bd_hb_in. */
struct bd_regs rpc_hb_out_regs(const struct rpc_channel *ch, const void *data, uint32_t len);
struct bd_regs rpc_hb_in_regs(const struct rpc_channel *ch, void *buf, uint32_t len);

/* An RPCI reply: the caller's buffer and what arrived in it, NUL
 * terminated, starting "1 " (success) or "0 " (failure). */
struct rpc_reply {
	char *buf;
	uint32_t size; /* of buf, the terminating NUL included */
	uint32_t len;
	struct rpc_failure failure;
};

/* One RPCI round trip on a channel of its own: open, send the request,
 * receive the reply, close. */
bool rpci(const char *request, struct rpc_reply *reply, bool use_hb);

#endif /* GUEST_GUESTRPC_H */
