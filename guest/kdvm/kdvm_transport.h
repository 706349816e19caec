/*
 * kdvm_transport.h -- the guest's fast KD transport: KdSendPacket and KdReceivePacket
 * over one shared page and one backdoor call each (bxkd/kdvm.h has the
 * protocol).
 *
 * Portable freestanding C: no C library, no OS. What it needs from its
 * surroundings is the two functions of struct kdvm_platform, so the same
 * file runs in the bxkd test kernel, in the host unit tests (against the
 * real device core) and in the Windows KD DLL (kdvm_windows.c).
 */
#ifndef GUEST_KDVM_H
#define GUEST_KDVM_H

#include <stdbool.h>
#include <stdint.h>

#include "bxkd/kdtransport.h"
#include "bxkd/kdvm.h"

/* The registers of one backdoor call, in and out. */
struct kdvm_regs {
	uint32_t eax, ebx, ecx, edx, esi, edi;
};

struct kdvm_platform {
	void *ctx;
	/* IN EAX,DX on the backdoor port with these registers at CPL 0; all
	 * six come back as the device left them. */
	void (*backdoor)(void *ctx, struct kdvm_regs *regs);
	/* The guest physical address of `address` (the page's first byte). */
	uint64_t (*physical_address)(void *ctx, const void *address);
};

/* kdvm_initialize: what the device answered, when it is not a kdvm_status. */
#define KDVM_INIT_NO_DEVICE 0x100u /* no backdoor, or no KD transport in it */

/* Receive waits at most this long before KdPacketTimedOut (kd64 asks
 * again), so the emulator can take a signal while a debugger is idle. */
#define KDVM_DEFAULT_RECEIVE_TIMEOUT_MS 1000u

struct kdvm_stats {
	uint32_t backdoor_calls; /* backdoor instructions executed */
	uint32_t sends, receives, polls;
	uint32_t refused;        /* calls answered with a failure status */
	uint32_t rejected;       /* caller's arguments out of range: no call made */
};

struct kdvm {
	struct kdvm_platform platform;
	struct kdvm_page *page;
	uint16_t kd_command;     /* the backdoor command the calls ride on (18) */
	uint32_t nonce;
	uint32_t discovery;      /* enum kdvm_discovery, as the device said */
	uint32_t receive_timeout_ms;
	bool ready;              /* the device has the page */
	bool debugger_present;   /* KdDebuggerNotPresent, inverted */
	uint32_t last_status;    /* enum kdvm_status of the last call */
	struct kdvm_stats stats;
};

/*
 * KdDebuggerInitialize0. `page` is one page-aligned page the module owns
 * for good (it must stay at the same physical address); `nonce` should
 * differ at each boot. Asks the device whether the transport is there and,
 * under register discovery, registers the page. Returns KDVM_STATUS_OK, a
 * failing kdvm_status, or KDVM_INIT_NO_DEVICE. `kd_command` 0 means 18.
 */
uint32_t kdvm_initialize(struct kdvm *kd, const struct kdvm_platform *platform,
			 struct kdvm_page *page, uint32_t nonce, uint16_t kd_command);

/* KdSendPacket. Returns when the debugger has the packet or the device
 * dropped it for want of one (kd->debugger_present then false). */
void kdvm_send_packet(struct kdvm *kd, uint32_t packet_type, const struct kd_string *header,
		      const struct kd_string *data, struct kd_context *kd_context);

/* KdReceivePacket, including PACKET_TYPE_KD_POLL_BREAKIN (8), which takes
 * no buffers and never waits. header->maximum_length is the exact header
 * size wanted; a packet never overruns header or data. */
enum kd_outcome kdvm_receive_packet(struct kdvm *kd, uint32_t packet_type,
				   struct kd_string *header, struct kd_string *data,
				   uint32_t *data_length, struct kd_context *kd_context);

/* KdRestore / KdD0Transition: the device may have been reset meanwhile
 * (a resumed or restored machine): register the page again. */
uint32_t kdvm_reconnect(struct kdvm *kd);

/* The page is about to go away: tell the device to forget it. */
void kdvm_shutdown(struct kdvm *kd);

/* The module as the KD stub's transport (guest/kdstub/). */
void kdvm_as_transport(struct kdvm *kd, struct kd_transport *transport);

#endif /* GUEST_KDVM_H */
