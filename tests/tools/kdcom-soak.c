/*
 * kdcom-soak -- runs the target/debugger KDCOM conversation over a faulty
 * channel for many seeds and prints what happened: packets, faults,
 * retransmissions, and packets delivered damaged or twice. Unlike the
 * kdcom_lossy suite it can run without the gap between faults, to measure
 * what KDCOM's checksum lets through.
 *
 *   kdcom-soak [--seeds N] [--ppm N] [--gap BYTES] [--cycles N]
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "kdcom_conversation.h"

static unsigned long number(const char *text, const char *what)
{
	char *end;
	unsigned long n = strtoul(text, &end, 0);

	if (*end || !*text) {
		fprintf(stderr, "kdcom-soak: %s wants a number, not '%s'\n", what, text);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "seeds", required_argument, NULL, 's' }, { "ppm", required_argument, NULL, 'p' },
		{ "gap", required_argument, NULL, 'g' },   { "cycles", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long seeds = 100, ppm = 500, gap = 4033, cycles = 40;
	uint64_t resend_timeout = 0;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:p:g:c:", options, NULL)) != -1) {
		switch (opt) {
		case 's': seeds = number(optarg, "--seeds"); break;
		case 'p': ppm = number(optarg, "--ppm"); break;
		case 'g': gap = number(optarg, "--gap"); break;
		case 'c': cycles = number(optarg, "--cycles"); break;
		default:
			fprintf(stderr, "usage: kdcom-soak [--seeds N] [--ppm N] [--gap BYTES] [--cycles N]\n");
			return 2;
		}
	}

	uint64_t packets = 0, faults = 0, bytes = 0, steps = 0, resends = 0;
	uint64_t target_retransmissions = 0, debugger_retransmissions = 0;
	uint64_t watchdog_resets = 0, target_resets = 0, longest_stall = 0, longest_recovery = 0;
	unsigned failed = 0, damaged = 0, beyond_checksum = 0, abandoned = 0;
	for (unsigned long seed = 1; seed <= seeds; seed++) {
		struct conversation_options o;
		struct conversation_result r;

		conversation_options_init(&o, seed);
		o.drop_ppm = o.duplicate_ppm = o.corrupt_ppm = (unsigned)ppm;
		o.fault_gap = (unsigned)gap;
		o.cycles = (unsigned)cycles;
		resend_timeout = o.resend_timeout;
		conversation_run(&o, &r);
		packets += r.packets;
		faults += r.faults;
		bytes += r.bytes;
		steps += r.steps;
		target_retransmissions += r.target.retransmissions;
		debugger_retransmissions += r.debugger.retransmissions;
		resends += r.target.resends_requested + r.debugger.resends_requested;
		damaged += r.mismatches;
		beyond_checksum += r.beyond_checksum;
		abandoned += r.abandoned;
		watchdog_resets += r.debugger.watchdog_resets;
		target_resets += r.target.resets;
		if (r.longest_stall > longest_stall)
			longest_stall = r.longest_stall;
		if (r.longest_watchdog_recovery > longest_recovery)
			longest_recovery = r.longest_watchdog_recovery;
		if (!r.completed || r.mismatches) {
			failed++;
			printf("seed %lu: %s\n", seed, r.failure);
		}
	}
	printf("%lu seeds, %lu ppm each of drop/duplicate/corrupt, gap %lu bytes\n", seeds, ppm, gap);
	printf("  %" PRIu64 " packets delivered, %" PRIu64 " bytes on the wire, %" PRIu64
	       " faults (%.0f per million bytes)\n",
	       packets, bytes, faults, bytes ? 1e6 * (double)faults / (double)bytes : 0.0);
	printf("  retransmissions: %" PRIu64 " by the target, %" PRIu64 " by the debugger; %" PRIu64
	       " RESENDs requested; %" PRIu64 " steps\n",
	       target_retransmissions, debugger_retransmissions, resends, steps);
	printf("  RESETs: %" PRIu64 " taken by the target, %" PRIu64
	       " watchdog RESETs by the debugger; %u packets abandoned by them\n",
	       target_resets, watchdog_resets, abandoned);
	printf("  longest time without a delivery: %" PRIu64 " steps; from a watchdog RESET to the "
	       "next delivery: %" PRIu64 " steps (resend timeout %" PRIu64 " steps)\n",
	       longest_stall, longest_recovery, resend_timeout);
	printf("  %u packets delivered with a doubled 0xAA the byte sum cannot see "
	       "(docs/kd-protocol.md 1.11)\n",
	       beyond_checksum);
	printf("  %u packets delivered wrong otherwise, %u runs failed\n", damaged, failed);
	return failed ? 1 : 0;
}
