/*
 * kdvm_peer_protocol.h -- how the guest's kdvm-peer tests and the debugger
 * that tests/integration/check_kdvm.c attaches talk about what comes next.
 *
 * The guest announces each step with a DbgPrint "bxkd-peer: <command>";
 * the debugger acts on it. Shared by the freestanding guest and the host
 * test, so it holds only numbers, strings and one pure function.
 */
#ifndef GUEST_TESTS_KDVM_PEER_PROTOCOL_H
#define GUEST_TESTS_KDVM_PEER_PROTOCOL_H

#include <stdint.h>

#define KDVM_PEER_PREFIX "bxkd-peer: "

/* "expect-prints FROM TO": the next prints carry pattern data of every
 * length FROM..TO in order; after the last the debugger sends a verdict. */
#define KDVM_PEER_EXPECT_PRINTS "expect-prints"
/* "send-packets FROM TO": the debugger sends STATE_MANIPULATE packets with
 * pattern data of every length FROM..TO, each after the last was taken. */
#define KDVM_PEER_SEND_PACKETS "send-packets"
/* The debugger writes the break-in byte ahead of this print's ACK. */
#define KDVM_PEER_BREAKIN "breakin"
/* The debugger resets the link after this print's ACK. */
#define KDVM_PEER_RESET "reset"
#define KDVM_PEER_DONE "done"

/* The verdict: a STATE_MANIPULATE packet, ReadVirtualMemory's number,
 * ReturnStatus = prints that did not match, ActualBytesRead = prints seen. */
#define KDVM_PEER_VERDICT_API 0x3130u

/* Byte `index` of a pattern packet of `length` data bytes. */
static inline uint8_t kdvm_peer_pattern(uint32_t length, uint32_t index)
{
	return (uint8_t)(length * 31u + index * 7u + 1u);
}

#endif /* GUEST_TESTS_KDVM_PEER_PROTOCOL_H */
