/*
 * vmport_internal.h -- state shared by the files of the backdoor core
 * (vmport.c, guestrpc.c, rpci.c). Not for use outside bochs-plugin/.
 */
#ifndef BXKD_VMPORT_INTERNAL_H
#define BXKD_VMPORT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "bxkd/backdoor.h"
#include "bxkd/kdvm.h"
#include "vmport.h"

/* One backdoor call: the guest's registers, updated in place by the command. */
struct vmport_call {
	uint32_t reg[GUEST_REG_COUNT];
	unsigned cpl;
	enum guest_port_dir dir;
	const struct guest_vcpu *vcpu;
};

/* Where a channel is in the send/receive exchange of one message. */
enum vmport_channel_state {
	CHANNEL_CLOSED,
	CHANNEL_IDLE,      /* open, nothing in flight */
	CHANNEL_SENDING,   /* SENDSIZE seen, payload arriving */
	CHANNEL_RECEIVING, /* RECVSIZE answered, reply being read */
};

struct vmport_channel {
	enum vmport_channel_state state;
	uint32_t protocol; /* BDOOR_RPCI_PROTOCOL or BDOOR_TCLO_PROTOCOL */
	bool has_cookies;
	bool stale; /* open across a checkpoint restore */
	uint32_t cookie_high, cookie_low;
	uint8_t *message; /* guest to host */
	uint32_t message_size, message_received;
	bool has_reply;
	struct vmport_buffer reply; /* host to guest */
	uint32_t reply_sent;
	char *tclo_command; /* TCLO: the command the next answer belongs to */
};

struct vmport_rpci_handler {
	char *command;
	vmport_rpci_fn fn;
	void *ctx;
};

struct vmport_guestinfo {
	char *key;
	uint8_t *value;
	size_t value_len;
};

struct vmport {
	struct vmport_config config;
	struct bxkd_log log;
	struct vmport_stats stats;
	/* One bit per command number: unknown commands are reported once each,
	 * so a guest probing in a loop cannot flood the log. */
	uint8_t unknown_reported[(UINT16_MAX + 1) / 8];
	unsigned os_not_found_reported;

	struct vmport_channel channels[BDOOR_MESSAGE_MAX_CHANNELS];
	uint64_t cookies_issued;

	struct vmport_rpci_handler *handlers;
	size_t handler_count;
	struct vmport_guestinfo *guestinfo;
	size_t guestinfo_count;
	bool have_tools_version;
	uint32_t tools_version;

	char **tclo_queue;
	size_t tclo_queued, tclo_next;
	void (*tclo_answer_fn)(void *ctx, const char *command, const uint8_t *answer,
			       size_t answer_len);
	void *tclo_answer_ctx;

	/* The KD transport (vmport_kd.c). */
	struct kd_host_port kd_port;
	bool have_kd_port;
	bool kd_page_known;       /* registered, or found by the last scan */
	uint64_t kd_page_address; /* guest physical */
	uint32_t kd_page_calls;   /* calls on the page, reported in its header */
};

void vmport_log(struct vmport *vp, enum bxkd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* vmport.c: the command table. */
bool vmport_command_is_implemented(uint16_t number);

/* guestrpc.c: the MESSAGE command (low bandwidth) and port 0x5659. */
void vmport_message(struct vmport *vp, struct vmport_call *call);
/* Sets access->string_op_done and, for REP INSB, the byte the emulator
 * stores at ES:EDI itself (access->in_value). */
void vmport_hb(struct vmport *vp, struct vmport_call *call, struct guest_port_access *access);
void vmport_channels_free(struct vmport *vp);

/* vmport_kd.c: the KD subcommands of the kd_command command, CPL 0 only. */
bool vmport_kd_is_kd_call(const struct vmport *vp, const struct vmport_call *call);
void vmport_kd(struct vmport *vp, struct vmport_call *call);
/* vmport_kd_fast.c: answers a manipulate request that arrived while the
 * guest waits for one, if it is a memory read (the reply goes out on the
 * kd port); false: the guest must serve it. */
bool vmport_kd_fast_answer(struct vmport *vp, const struct guest_vcpu *v, const uint8_t *header,
			   size_t header_length);

/* rpci.c: what the host answers on RPCI channels. */
bool vmport_rpci_init(struct vmport *vp);
void vmport_rpci_free(struct vmport *vp);
/* Turns a complete request into "1 ..." or "0 ..." in `reply`. */
bool vmport_rpci_dispatch(struct vmport *vp, const uint8_t *request, size_t len,
			  struct vmport_buffer *reply);

/* Most a reply may hold; the guest-to-host cap applies the other way too. */
#define VMPORT_REPLY_MAX BDOOR_MESSAGE_MAX_SIZE

#endif /* BXKD_VMPORT_INTERNAL_H */
