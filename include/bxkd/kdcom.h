/*
 * bxkd/kdcom.h -- KDCOM, the serial framing of KD packets.
 *
 * Layout and numbers only; the framing engine is pipe-bridge/kdcom.c. Facts
 * and sources: docs/kd-protocol.md section 1. All fields little-endian.
 */
#ifndef BXKD_KDCOM_H
#define BXKD_KDCOM_H

#include <stdbool.h>
#include <stdint.h>

#define KDCOM_DATA_LEADER 0x30303030u    /* "0000" */
#define KDCOM_CONTROL_LEADER 0x69696969u /* "iiii" */
#define KDCOM_DATA_LEADER_BYTE 0x30u
#define KDCOM_CONTROL_LEADER_BYTE 0x69u
#define KDCOM_BREAKIN_BYTE 0x62u /* 'b', sent alone by a debugger */
#define KDCOM_TRAILER 0xAAu      /* after the payload of data packets only */

/* Longest payload (message header + data) of one packet, any transport. */
#define KDCOM_MAX_PAYLOAD 4000u

/* Packet ids alternate between INITIAL and INITIAL ^ 1; SYNC marks the
 * first packet after a target (re)initialised its numbering. */
#define KDCOM_INITIAL_ID 0x80800000u
#define KDCOM_SYNC_ID 0x00000800u

enum kdcom_packet_type {
	KDCOM_TYPE_UNUSED = 0,
	KDCOM_TYPE_STATE_CHANGE32 = 1,
	KDCOM_TYPE_STATE_MANIPULATE = 2,
	KDCOM_TYPE_DEBUG_IO = 3,
	KDCOM_TYPE_ACKNOWLEDGE = 4, /* control */
	KDCOM_TYPE_RESEND = 5,      /* control */
	KDCOM_TYPE_RESET = 6,       /* control */
	KDCOM_TYPE_STATE_CHANGE64 = 7,
	KDCOM_TYPE_POLL_BREAKIN = 8, /* a KdReceivePacket mode, never on the wire */
	KDCOM_TYPE_TRACE_IO = 9,
	KDCOM_TYPE_CONTROL_REQUEST = 10,
	KDCOM_TYPE_FILE_IO = 11,
	KDCOM_TYPE_MAX = 12,
};

/* Types a KD packet can have: everything but the control packets (ACK,
 * RESEND, RESET), the POLL_BREAKIN pseudo-type and numbers past the table. */
static inline bool kdcom_type_is_data(uint32_t type)
{
	switch (type) {
	case KDCOM_TYPE_STATE_CHANGE32:
	case KDCOM_TYPE_STATE_MANIPULATE:
	case KDCOM_TYPE_DEBUG_IO:
	case KDCOM_TYPE_STATE_CHANGE64:
	case KDCOM_TYPE_TRACE_IO:
	case KDCOM_TYPE_CONTROL_REQUEST:
	case KDCOM_TYPE_FILE_IO:
		return true;
	default:
		return false;
	}
}

/* The 16 bytes before every packet's payload. */
struct kdcom_header {
	uint32_t leader;
	uint16_t type;
	uint16_t byte_count; /* payload length; 0 for control packets */
	uint32_t id;
	uint32_t checksum; /* byte sum of the payload; 0 for control packets */
};

_Static_assert(sizeof(struct kdcom_header) == 16, "KDCOM packet header is 16 bytes");

#define KDCOM_HEADER_SIZE 16u
/* A whole data frame: header, payload, trailer. */
#define KDCOM_MAX_FRAME (KDCOM_HEADER_SIZE + KDCOM_MAX_PAYLOAD + 1u)

#endif /* BXKD_KDCOM_H */
