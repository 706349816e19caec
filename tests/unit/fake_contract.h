/*
 * fake_contract.h -- how the test fakes report a caller that breaks their
 * contract (a control packet handed to the kd host port, a sign-extended
 * address handed to the machine, ...) or a test that misuses them.
 *
 * Provided by the program the fakes are linked into: the Check runner
 * fails the test (kd_test_bytes.c), a fuzzer aborts with the message
 * (fuzz/fuzz_input.c). Does not return.
 */
#ifndef BXKD_FAKE_CONTRACT_H
#define BXKD_FAKE_CONTRACT_H

void fake_contract_broken(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define FAKE_REQUIRE(cond, ...) ((cond) ? (void)0 : fake_contract_broken(__VA_ARGS__))

#endif /* BXKD_FAKE_CONTRACT_H */
