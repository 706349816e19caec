/*
 * check_kdcom_lossy.c -- a target engine and a debugger engine holding a KD
 * conversation over a channel that drops, duplicates and damages bytes and
 * delivers them in random pieces, all driven by a seed. Every packet must
 * arrive exactly once, in order and byte-identical, with no deadlock.
 *
 * The conversation has the shape of a debug session: the target reports a
 * state change, the debugger sends requests and gets replies, then a
 * continue, then the target prints and reports the next state change.
 *
 * Fault model: after each fault the next KDCOM_MAX_FRAME + 16 bytes pass
 * intact, so no frame carries two. KDCOM's checksum is a byte sum and its
 * header is not checksummed at all: two faults in one frame can cancel out
 * (check_kdcom.c shows one), which no peer can detect. `make soak`
 * (tests/tools/kdcom-soak) measures what happens without the gap.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/dbgkd.h"
#include "kdcom_engine.h"
#include "kdcom_conversation.h"
#include "suites.h"
#include "testcases.h"

static void run_seeds(unsigned ppm, unsigned first_seed, unsigned seeds)
{
	for (unsigned seed = first_seed; seed < first_seed + seeds; seed++) {
		struct conversation_options o;
		struct conversation_result r;

		conversation_options_init(&o, seed);
		o.drop_ppm = o.duplicate_ppm = o.corrupt_ppm = ppm;
		o.fault_gap = KDCOM_MAX_FRAME + 16;
		conversation_run(&o, &r);
		ck_assert_msg(r.completed, "seed %u at %u ppm: %s", seed, ppm, r.failure);
		ck_assert_msg(r.mismatches == 0, "seed %u at %u ppm: %s", seed, ppm, r.failure);
		ck_assert_uint_gt(r.packets, 400);
	}
}

/* From a clean channel in random pieces to a fault in almost every frame. */
static const struct {
	unsigned ppm, first_seed, seeds;
} fault_rates[] = {
	{ 0, 1, 4 },
	{ 50, 100, 8 },
	{ 500, 200, 8 },
	{ 3000, 300, 8 },
};

START_TEST(conversations_complete_at_each_fault_rate)
{
	run_seeds(fault_rates[_i].ppm, fault_rates[_i].first_seed, fault_rates[_i].seeds);
}
END_TEST

/* The seeds on which the soak (tests/tools/kdcom-soak, 3000 ppm) once
 * deadlocked: a RESEND damaged into a RESET on its way to the debugger
 * (docs/kd-protocol.md 1.11). The debugger's watchdog RESET recovers each
 * within a resend timeout, and the conversation completes. */
static const unsigned deadlock_seeds[] = { 745, 1345 };

START_TEST(the_soaks_deadlocks_end_in_a_watchdog_reset)
{
	struct conversation_options o;
	struct conversation_result r;

	conversation_options_init(&o, deadlock_seeds[_i]);
	o.drop_ppm = o.duplicate_ppm = o.corrupt_ppm = 3000;
	conversation_run(&o, &r);
	ck_assert_msg(r.completed, "seed %u: %s", deadlock_seeds[_i], r.failure);
	ck_assert_uint_eq(r.mismatches, 0);
	ck_assert_uint_ge(r.debugger.watchdog_resets, 1);
	ck_assert_uint_le(r.longest_watchdog_recovery, o.resend_timeout);
}
END_TEST

BXKD_SUITE(kdcom_lossy,
	TCase *tc = testcases_add(s, "conversation", 120, TESTS(NULL));
	tcase_add_loop_test(tc, conversations_complete_at_each_fault_rate, 0,
			    (int)(sizeof(fault_rates) / sizeof(fault_rates[0])));
	tcase_add_loop_test(tc, the_soaks_deadlocks_end_in_a_watchdog_reset, 0,
			    (int)(sizeof(deadlock_seeds) / sizeof(deadlock_seeds[0])));
)
