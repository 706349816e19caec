/*
 * kd_test_bytes.c -- bytes the KD tests share (kd_test_bytes.h).
 */
#include "config.h"

#include "kd_test_bytes.h"
#include "fake_contract.h"

#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t kd_test_tv1_ack[16] = { 0x69, 0x69, 0x69, 0x69, 0x04, 0x00, 0x00, 0x00,
				      0x00, 0x00, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00 };
const uint8_t kd_test_tv2_reset[16] = { 0x69, 0x69, 0x69, 0x69, 0x06, 0x00, 0x00, 0x00,
					0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
const uint8_t kd_test_tv3_resend[16] = { 0x69, 0x69, 0x69, 0x69, 0x05, 0x00, 0x00, 0x00,
					 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };

size_t kd_test_drain(struct kdcom *k, uint8_t *out, size_t cap)
{
	size_t total = 0;
	const uint8_t *bytes;
	size_t n;

	while ((n = kdcom_output(k, &bytes)) > 0) {
		ck_assert_uint_le(total + n, cap);
		memcpy(out + total, bytes, n);
		total += n;
		kdcom_output_consumed(k, n);
	}
	return total;
}

struct dbgkd_any_wait_state_change kd_test_tv12_state(void)
{
	struct dbgkd_any_wait_state_change sc;

	memset(&sc, 0, sizeof(sc));
	sc.new_state = DBGKD_EXCEPTION_STATE_CHANGE;
	sc.processor_level = 6;
	sc.number_processors = 1;
	sc.thread = 0xFFFFFFFF80553D40ull;
	sc.program_counter = 0xFFFFFFFF8051D2F4ull;
	sc.u.exception.record.exception_code = DBGKD_STATUS_BREAKPOINT;
	sc.u.exception.record.exception_address = 0xFFFFFFFF8051D2F4ull;
	sc.u.exception.record.number_parameters = 1;
	sc.u.exception.first_chance = 1;
	sc.control_report.x86 = (struct dbgkd_control_report_x86){
		.dr6 = 0xFFFF0FF0, .dr7 = 0x400, .instruction_count = 16, .report_flags = 3,
		.seg_cs = 0x08, .seg_ds = 0x23, .seg_es = 0x23, .seg_fs = 0x30, .eflags = 0x246,
	};
	sc.control_report.x86.instruction_stream[0] = 0xcc;
	sc.control_report.x86.instruction_stream[1] = 0xc3;
	memset(sc.control_report.x86.instruction_stream + 2, 0x90, 14);
	return sc;
}

void kd_test_guard(uint8_t *buffer, size_t size)
{
	memset(buffer, KD_TEST_GUARD, size);
}

void kd_test_assert_guarded_from(const uint8_t *buffer, size_t from, size_t size)
{
	size_t at = from;

	while (at < size && buffer[at] == KD_TEST_GUARD)
		at++;
	ck_assert_msg(at == size, "byte %zu of a caller's buffer was written", at);
}

/* The fakes' contract checks fail the test that broke it. */
void fake_contract_broken(const char *fmt, ...)
{
	va_list ap;
	char *message = NULL;

	va_start(ap, fmt);
	bool formatted = vasprintf(&message, fmt, ap) >= 0;
	va_end(ap);
	ck_abort_msg("%s", formatted ? message : fmt); /* the test ends here */
	abort();
}
