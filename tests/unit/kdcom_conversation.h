/*
 * kdcom_conversation.h -- two KDCOM engines, target and debugger, holding a
 * seeded KD-shaped conversation over a faulty byte channel. Used by the
 * kdcom_lossy suite and by the kdcom-soak tool.
 */
#ifndef BXKD_KDCOM_CONVERSATION_H
#define BXKD_KDCOM_CONVERSATION_H

#include <stdbool.h>
#include <stdint.h>

#include "kdcom_engine.h"

struct conversation_options {
	uint64_t seed;
	/* Per byte put on the wire, in parts per million. */
	unsigned drop_ppm, duplicate_ppm, corrupt_ppm;
	/* Bytes that pass intact after each fault. */
	unsigned fault_gap;
	/* A step delivers 1..max_chunk bytes in each direction. */
	unsigned max_chunk;
	unsigned cycles;   /* state changes the target reports */
	unsigned requests; /* debugger requests per stop */
	unsigned prints;   /* target prints after each continue */
	uint64_t resend_timeout; /* in steps */
	uint64_t stall_limit;	 /* steps without a delivery that count as a deadlock */
};

struct conversation_result {
	bool completed;
	unsigned packets;    /* delivered, both directions */
	unsigned mismatches; /* delivered packets that were not the next one sent */
	/* Delivered with one 0xAA byte doubled in a payload ending in 0xAA:
	 * the byte sum and the trailer still agree (docs/kd-protocol.md 1.11),
	 * a limit of the wire format that no engine can see. */
	unsigned beyond_checksum;
	/* Packets a RESET abandoned (the debugger's request in flight, the
	 * target's reply in flight): each delivered at most once. */
	unsigned abandoned;
	uint64_t longest_stall; /* most steps between two deliveries */
	/* Most steps from a watchdog RESET to the next delivery. */
	uint64_t longest_watchdog_recovery;
	uint64_t steps;
	uint64_t faults;
	uint64_t bytes;
	struct kdcom_stats target, debugger;
	char failure[256]; /* the first thing that went wrong */
};

void conversation_options_init(struct conversation_options *o, uint64_t seed);
void conversation_run(const struct conversation_options *o, struct conversation_result *r);

#endif /* BXKD_KDCOM_CONVERSATION_H */
