/*
 * kd_test_bytes.h -- bytes the KD tests share: an engine's output drained,
 * the KDCOM document's state change of test vector 12, and caller's buffers
 * fenced with guard bytes.
 */
#ifndef BXKD_KD_TEST_BYTES_H
#define BXKD_KD_TEST_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "bxkd/dbgkd.h"
#include "kdcom_engine.h"

/* What a buffer a module must not write past is filled with. */
#define KD_TEST_GUARD 0xa5u

/* Everything `k` wants to send, drained into `out` (at most `cap` bytes,
 * asserted); returns how many bytes. */
size_t kd_test_drain(struct kdcom *k, uint8_t *out, size_t cap);

/* The control packets of the KDCOM document's vectors TV1 (ACK, id 0x80800000),
 * TV2 (RESET) and TV3 (RESEND). */
extern const uint8_t kd_test_tv1_ack[16];
extern const uint8_t kd_test_tv2_reset[16];
extern const uint8_t kd_test_tv3_resend[16];

/* The exception state change of the KDCOM document's vector TV12. */
struct dbgkd_any_wait_state_change kd_test_tv12_state(void);

/* Fills `buffer` with KD_TEST_GUARD. */
void kd_test_guard(uint8_t *buffer, size_t size);

/* Asserts that bytes `from` to `size` of `buffer` still hold the guard; one
 * assertion for the lot, as each ck_assert costs Check a message to its log,
 * too much for every byte of thousands of buffers. */
void kd_test_assert_guarded_from(const uint8_t *buffer, size_t from, size_t size);

#endif /* BXKD_KD_TEST_BYTES_H */
