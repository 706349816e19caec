/*
 * bxkd/kdvm.h -- the VMKD-style KD transport: whole KD packets through one
 * shared page, one backdoor call per KdSendPacket / KdReceivePacket.
 *
 * The guest module (guest/kdvm/) and the host side in the backdoor device
 * (bochs-plugin/vmport_kd.c) both follow this header and nothing else. The
 * calls ride on a backdoor command a booted OS never needs, OS_NOT_FOUND
 * (18) by default (the device's `kd_command` setting); like that command
 * they are refused unless issued at CPL 0. All fields are little-endian;
 * the layout is the same for 32- and 64-bit guests.
 *
 * A call: IN EAX,DX with
 *   EAX = BDOOR_MAGIC, EDX = BDOOR_PORT,
 *   ECX = kd_command | subcommand << 16, EBX = KDVM_MAGIC,
 *   ESI, EDI = the subcommand's arguments.
 * The device answers EAX = a kdvm_status; a device without the KD
 * transport (VMware itself, or kd_command set elsewhere) leaves EAX at
 * BDOOR_MAGIC, and a refusal at CPL > 0 reads 0xFFFFFFFF. Subcommand 0, or
 * EBX other than KDVM_MAGIC, is OS_NOT_FOUND's original meaning.
 */
#ifndef BXKD_KDVM_H
#define BXKD_KDVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxkd/backdoor.h"
#include "bxkd/kdcom.h"

#define KDVM_MAGIC 0x444b7862u /* "bxKD" in memory */
#define KDVM_PROTOCOL_VERSION 1u
#define KDVM_PAGE_SIZE 4096u

enum kdvm_subcommand {
	/* Is the transport there? Out: EAX = status, EBX = KDVM_MAGIC,
	 * ECX = protocol version, ESI = discovery mode (kdvm_discovery),
	 * EDI = KDVM_HELLO_* flags. */
	KDVM_SUB_HELLO = 1,
	/* The page is at page frame ESI (low 32 bits) | EDI << 32. The device
	 * checks that the frame is RAM and that the page carries the
	 * signature and version, and from then on uses only that page. */
	KDVM_SUB_REGISTER = 2,
	/* Carry out the request written in the page. ESI = the page's nonce
	 * (used by scan discovery). Out: EAX = status; the page's result,
	 * flags and (for receives) lengths and payload. */
	KDVM_SUB_CALL = 3,
	/* Forget the registered page (before the guest frees it). */
	KDVM_SUB_UNREGISTER = 4,
};

/* A backdoor call (BDOOR_MAGIC in EAX, on BDOOR_PORT) is for the KD
 * transport when it names the device's kd_command with a subcommand and
 * carries KDVM_MAGIC in EBX; the same command without them is the
 * command's own (OS_NOT_FOUND, by default). */
static inline bool kdvm_is_transport_call(uint32_t ecx, uint32_t ebx, uint16_t kd_command)
{
	return BDOOR_CMD(ecx) == kd_command && BDOOR_SUBCMD(ecx) != 0 && ebx == KDVM_MAGIC;
}

/* How the device finds the page: the device's `kd_discovery` setting. */
enum kdvm_discovery {
	/* Only a page registered by KDVM_SUB_REGISTER at CPL 0 (default). */
	KDVM_DISCOVERY_REGISTER = 1,
	/* VMKD's way: on a call, the first page of RAM, scanning upwards,
	 * whose header has the signature and the nonce the call names; kept
	 * while it keeps them. Code that can write RAM and read the nonce can
	 * plant a page the device finds first (guest/README.md). */
	KDVM_DISCOVERY_SCAN = 2,
};

#define KDVM_HELLO_TRANSPORT 0x1u /* a debugger endpoint is configured */
#define KDVM_HELLO_DEBUGGER 0x2u  /* a debugger is attached now */

/* EAX after a call. */
enum kdvm_status {
	KDVM_STATUS_OK = 0,
	KDVM_STATUS_NO_TRANSPORT = 1,   /* the device has no debugger endpoint */
	KDVM_STATUS_NOT_REGISTERED = 2, /* register discovery, no page registered */
	KDVM_STATUS_NOT_FOUND = 3,      /* scan discovery found no page with that nonce */
	KDVM_STATUS_BAD_FRAME = 4,      /* REGISTER: the frame is not a whole page of RAM */
	KDVM_STATUS_BAD_PAGE = 5,       /* signature, version or header size wrong */
	KDVM_STATUS_BAD_REQUEST = 6,    /* request, packet type or a length out of range */
	KDVM_STATUS_WRONG_DISCOVERY = 7, /* REGISTER under scan discovery */
	KDVM_STATUS_BAD_SUBCOMMAND = 8,
};

/* What the page asks for. */
enum kdvm_request {
	KDVM_REQUEST_SEND = 1,         /* KdSendPacket */
	KDVM_REQUEST_RECEIVE = 2,      /* KdReceivePacket of packet_type */
	KDVM_REQUEST_POLL_BREAKIN = 3, /* KdReceivePacket(PACKET_TYPE_KD_POLL_BREAKIN) */
};

/* The outcome of a request, in the page's result field: enum kd_outcome
 * (bxkd/kdport.h) KD_OK, KD_TIMED_OUT, KD_NEEDS_RESEND or KD_DROPPED, or
 * the value the guest leaves there before a call. */
#define KDVM_RESULT_UNTOUCHED 0xffffffffu

/* A debugger answers: KdDebuggerNotPresent is clear. */
#define KDVM_FLAG_DEBUGGER_PRESENT 0x1u

/* Receive: wait this long at most (ms); the host never waits longer. */
#define KDVM_TIMEOUT_MAX_MS 60000u

struct kdvm_page_header {
	uint8_t signature[8];     /* KDVM_SIGNATURE */
	uint32_t nonce;           /* chosen by the guest at each boot */
	uint16_t version;         /* KDVM_PROTOCOL_VERSION */
	uint16_t header_size;     /* sizeof(struct kdvm_page_header) */
	uint32_t request;         /* enum kdvm_request */
	uint32_t packet_type;     /* enum kdcom_packet_type */
	/* Send: the lengths of MessageHeader and MessageData in the payload.
	 * Receive: header_capacity is the exact header size wanted
	 * (MessageHeader->MaximumLength), data_capacity the room for data;
	 * the device sets header_length and data_length. */
	uint16_t header_length;
	uint16_t header_capacity;
	uint16_t data_length;
	uint16_t data_capacity;
	uint32_t timeout_ms;      /* receive: at most KDVM_TIMEOUT_MAX_MS */
	uint32_t result;          /* enum kd_outcome, written by the device */
	uint32_t flags;           /* KDVM_FLAG_*, written by the device */
	uint32_t calls;           /* the device's count of calls on this page */
	uint8_t reserved[16];
};

#define KDVM_SIGNATURE "bxKDpage"
#define KDVM_PAYLOAD_CAPACITY (KDVM_PAGE_SIZE - sizeof(struct kdvm_page_header))

/* One page: the header, then the payload (message header, then data). */
struct kdvm_page {
	struct kdvm_page_header h;
	uint8_t payload[KDVM_PAYLOAD_CAPACITY];
};

_Static_assert(sizeof(struct kdvm_page_header) == 64, "kdvm page header is 64 bytes");
_Static_assert(offsetof(struct kdvm_page_header, request) == 16, "kdvm request");
_Static_assert(offsetof(struct kdvm_page_header, timeout_ms) == 32, "kdvm timeout");
_Static_assert(offsetof(struct kdvm_page_header, result) == 36, "kdvm result");
_Static_assert(sizeof(struct kdvm_page) == KDVM_PAGE_SIZE, "kdvm page is one page");
_Static_assert(KDVM_PAYLOAD_CAPACITY >= KDCOM_MAX_PAYLOAD, "a whole KD packet fits");

#endif /* BXKD_KDVM_H */
