/*
 * kdvm_peer_checks.c -- the peer groups' shared pieces (kdvm_peer_checks.h).
 */
#include "kdvm_peer_checks.h"

#include "format.h"
#include "kdvm_peer_protocol.h"
#include "kstring.h"

uint32_t peer_command_text(char *text, uint32_t size, const char *fmt, va_list ap)
{
	int n = format(text, size, "%s", KDVM_PEER_PREFIX);

	if (n < 0 || (uint32_t)n >= size)
		return 0;
	format_v(text + n, size - (uint32_t)n, fmt, ap);
	return (uint32_t)strlen(text);
}

void peer_breakpoint_stop(struct dbgkd_any_wait_state_change *stop)
{
	memset(stop, 0, sizeof(*stop));
	stop->new_state = DBGKD_EXCEPTION_STATE_CHANGE;
	stop->processor_level = 6;
	stop->number_processors = 1;
	stop->u.exception.record.exception_code = 0x80000003u; /* STATUS_BREAKPOINT */
}

void peer_pattern_print(uint8_t *buffer, uint32_t length, struct dbgkd_debug_io *io,
			struct kd_string *header, struct kd_string *data)
{
	for (uint32_t i = 0; i < length; i++)
		buffer[i] = kdvm_peer_pattern(length, i);
	memset(io, 0, sizeof(*io));
	io->api_number = DBGKD_PRINT_STRING_API;
	io->u.length_of_string = length;
	*header = (struct kd_string){ sizeof(*io), sizeof(*io), (uint8_t *)io };
	*data = (struct kd_string){ (uint16_t)length, (uint16_t)length, buffer };
}

bool peer_check_pattern_request(struct guest_test_ctx *t, uint32_t length, enum kd_outcome status,
				uint32_t got, const struct dbgkd_manipulate_state64 *m,
				const uint8_t *data)
{
	if (status != KD_OK || got != length || m->u.read_memory.transfer_count != length) {
		gt_fail(t, "length %u: status %u, got %u bytes, header says %u", length, status, got,
			m->u.read_memory.transfer_count);
		return false;
	}
	for (uint32_t i = 0; i < length; i++) {
		if (data[i] != kdvm_peer_pattern(length, i)) {
			gt_fail(t, "length %u: byte %u is 0x%02x", length, i, data[i]);
			return false;
		}
	}
	if (data[length] != 0xee) {
		gt_fail(t, "length %u: a byte past the data was written", length);
		return false;
	}
	return true;
}

void peer_check_verdict(struct guest_test_ctx *t, enum kd_outcome status,
			const struct dbgkd_manipulate_state64 *verdict, uint32_t packets)
{
	if (!gt_expect_u32(t, "verdict", status, KD_OK) ||
	    !gt_expect_u32(t, "verdict api", verdict->api_number, KDVM_PEER_VERDICT_API))
		return;
	gt_expect_u32(t, "prints the debugger saw", verdict->u.read_memory.actual_bytes, packets);
	gt_expect_u32(t, "prints that did not match", verdict->return_status, 0);
}
