/*
 * workload.c -- the debuggable kernel's work (workload.h).
 */
#include "workload.h"

#include "kd.h"
#include "pit.h"

char workload_data_block[64] = "bxkd workload data block: the same bytes in every run.";
char workload_scratch[64];
volatile uint32_t workload_round_count;
volatile uint32_t workload_rounds_wanted;
volatile uint32_t workload_checksum;

void workload_round(uint32_t round)
{
	uint32_t sum = round * 2654435761u;

	sum += workload_step_target();
	for (unsigned i = 0; i < sizeof(workload_data_block); i++)
		sum = (sum << 5 | sum >> 27) ^ (uint8_t)workload_data_block[i];
	workload_checksum ^= sum;
	workload_round_count++;
}

void workload_run(uint32_t rounds)
{
	workload_rounds_wanted = rounds;
	for (uint32_t round = 0; round < workload_rounds_wanted; round++) {
		workload_round(round);
		if (round % 10 == 0)
			kd_print("workload round %u checksum %08x\n", round, workload_checksum);
		/* Until the next clock tick: the debugger can break in any time. */
		uint32_t now = pit_ticks();
		while (pit_ticks() == now)
			__asm__ volatile("sti\n\thlt" ::: "memory");
	}
}
