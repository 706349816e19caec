/*
 * workload.h -- what the debuggable kernel does while a debugger watches:
 * a few named functions and data a session can break on, step through,
 * read and change. Their addresses are in build/guest/kernel.symbols.
 */
#ifndef GUEST_WORKLOAD_H
#define GUEST_WORKLOAD_H

#include <stdint.h>

/* "bxkd workload data block ..." (64 bytes), read by debuggers. */
extern char workload_data_block[64];
/* Zeros until a debugger writes there; the kernel reports what it finds. */
extern char workload_scratch[64];
extern volatile uint32_t workload_round_count;
/* How many rounds workload_run does; a debugger may change it meanwhile,
 * to end a long run early. */
extern volatile uint32_t workload_rounds_wanted;
extern volatile uint32_t workload_checksum;

/* Five instructions of known lengths (1, 5, 3, 1, 1 bytes): a debugger
 * stepping from its first byte sees EIP at +1, +6, +9, +10. Returns 4. */
uint32_t workload_step_target(void);

/* One round of work: deterministic, a little arithmetic over the block. */
void workload_round(uint32_t round);

/* workload_rounds_wanted = `rounds` rounds, one per timer tick (idle in
 * HLT in between), a DbgPrint every ten; then returns. */
void workload_run(uint32_t rounds);

#endif /* GUEST_WORKLOAD_H */
