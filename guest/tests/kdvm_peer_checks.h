/*
 * kdvm_peer_checks.h -- what the kdvm-peer and kdvm-dll-peer groups share:
 * the same scripted debugger, the same pattern packets, the same checks,
 * over the kernel's own transport module or over the Windows KD DLL.
 */
#ifndef GUEST_TESTS_KDVM_PEER_CHECKS_H
#define GUEST_TESTS_KDVM_PEER_CHECKS_H

#include <stdarg.h>
#include <stdint.h>

#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "bxkd/kdtransport.h"
#include "testrun.h"

#define PEER_MAX_PRINT_DATA (KDCOM_MAX_PAYLOAD - sizeof(struct dbgkd_debug_io))
#define PEER_MAX_REQUEST_DATA (KDCOM_MAX_PAYLOAD - sizeof(struct dbgkd_manipulate_state64))

/* "bxkd-peer: <fmt...>" into `text` (kdvm_peer_protocol.h); its length. */
uint32_t peer_command_text(char *text, uint32_t size, const char *fmt, va_list ap);

/* The stop a debugger is attached by: a breakpoint state change. */
void peer_breakpoint_stop(struct dbgkd_any_wait_state_change *stop);

/* A DbgPrint of `length` pattern bytes in `buffer`: the header and data
 * strings that carry it. */
void peer_pattern_print(uint8_t *buffer, uint32_t length, struct dbgkd_debug_io *io,
			struct kd_string *header, struct kd_string *data);

/* One pattern packet of `length` bytes received from the debugger into
 * `data` (filled with 0xee before): the right status, length and bytes,
 * nothing past them. Fails the test and returns false otherwise. */
bool peer_check_pattern_request(struct guest_test_ctx *t, uint32_t length, enum kd_outcome status,
				uint32_t got, const struct dbgkd_manipulate_state64 *m,
				const uint8_t *data);

/* The verdict packet after the pattern prints: `packets` seen, none
 * wrong. */
void peer_check_verdict(struct guest_test_ctx *t, enum kd_outcome status,
			const struct dbgkd_manipulate_state64 *verdict, uint32_t packets);

#endif /* GUEST_TESTS_KDVM_PEER_CHECKS_H */
