/*
 * fuzz_kdcom.c -- the KDCOM engine (pipe-bridge/kdcom_engine.c) in one role
 * (FUZZ_KDCOM_ROLE: KDCOM_TARGET or KDCOM_DEBUGGER, one program each):
 * whatever bytes the far end sends, in any pieces, between the near end's
 * sends, expectations, resets, break-ins and the passing of time.
 *
 * Invariants: input is never consumed beyond what was given; events carry
 * payloads within KDCOM_MAX_PAYLOAD of a data type; and whatever the engine
 * writes is well-formed KDCOM: the decoder (pipe-bridge/kdtrace.c) reading
 * its output finds no garbage, bad checksum or bad frame.
 */
#include "config.h"

#include <string.h>

#include "bxkd/kdcom.h"
#include "fuzz_input.h"
#include "kdcom_engine.h"
#include "kdtrace.h"

#define RESEND_TIMEOUT 100u

static struct kdcom engine;
static struct kdtrace checker;

static void ignore_line(void *ctx, const char *text)
{
	(void)ctx, (void)text;
}

static void start_checker(void)
{
	struct kdtrace_config config;

	kdtrace_config_init(&config,
			    FUZZ_KDCOM_ROLE == KDCOM_TARGET ? KDTRACE_TO_DEBUGGER : KDTRACE_TO_TARGET,
			    ignore_line, NULL);
	kdtrace_init(&checker, &config);
}

static void drain(void)
{
	const uint8_t *bytes;
	size_t n;

	while ((n = kdcom_output(&engine, &bytes)) > 0) {
		FUZZ_ASSERT(n <= KDCOM_OUTPUT_CAPACITY, "output run of %zu bytes", n);
		kdtrace_feed(&checker, bytes, n);
		kdcom_output_consumed(&engine, n);
	}
	const struct kdtrace_stats *s = &checker.stats;
	FUZZ_ASSERT(!s->garbage_bytes && !s->bad_checksums && !s->bad_frames,
		    "the engine wrote malformed KDCOM: %llu garbage bytes, %llu bad checksums, "
		    "%llu bad frames",
		    (unsigned long long)s->garbage_bytes, (unsigned long long)s->bad_checksums,
		    (unsigned long long)s->bad_frames);
}

static void take_events(void)
{
	struct kdcom_event e;

	while (kdcom_next_event(&engine, &e)) {
		if (e.kind != KDCOM_EVENT_PACKET)
			continue;
		FUZZ_ASSERT(e.length <= KDCOM_MAX_PAYLOAD, "a packet of %u bytes", e.length);
		FUZZ_ASSERT(kdcom_type_is_data(e.type), "a packet of type %u delivered", e.type);
		FUZZ_ASSERT(!e.length || e.payload, "payload bytes without a buffer");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	struct kdcom_config config;
	uint64_t now = 1000;

	fuzz_input_init(&in, data, size);
	kdcom_config_init(&config, FUZZ_KDCOM_ROLE, RESEND_TIMEOUT);
	config.retries = 1 + fuzz_u8(&in) % 4;
	kdcom_init(&engine, &config);
	start_checker();
	while (!fuzz_input_done(&in)) {
		uint8_t op = fuzz_u8(&in);
		const uint8_t *bytes;
		size_t n;

		switch (op % 8) {
		case 0:
		case 1:
		case 2: /* bytes from the far end, in a piece of the input's choosing */
			n = fuzz_bytes(&in, 1 + fuzz_u16(&in) % 4096, &bytes);
			for (size_t used = 0; used < n;) {
				size_t took = kdcom_input(&engine, bytes + used, n - used, now);
				FUZZ_ASSERT(took <= n - used, "consumed %zu of %zu bytes", took, n - used);
				take_events();
				if (!took)
					break;
				used += took;
			}
			break;
		case 3: {
			uint16_t type = fuzz_u8(&in) % KDCOM_TYPE_MAX;
			size_t header = fuzz_length(&in, 64);
			n = fuzz_bytes(&in, fuzz_length(&in, KDCOM_MAX_PAYLOAD + 8), &bytes);
			if (header > n)
				header = n;
			kdcom_send(&engine, type, bytes, header, bytes + header, n - header, now);
			break;
		}
		case 4:
			now += fuzz_u8(&in) % 2 ? RESEND_TIMEOUT : fuzz_u16(&in);
			kdcom_tick(&engine, now);
			break;
		case 5:
			if (FUZZ_KDCOM_ROLE == KDCOM_TARGET) {
				size_t low = fuzz_u16(&in) % (KDCOM_MAX_PAYLOAD + 2);
				kdcom_expect(&engine, fuzz_u8(&in) % KDCOM_TYPE_MAX, low,
					     low + fuzz_u16(&in) % (KDCOM_MAX_PAYLOAD + 2));
				kdcom_take_breakin(&engine);
			} else if (op & 8) {
				kdcom_send_reset(&engine, now);
			} else {
				kdcom_send_breakin(&engine);
			}
			break;
		case 6:
			if (op & 8) {
				kdcom_restart_input(&engine);
			} else {
				kdcom_discard_output(&engine);
				start_checker(); /* a frame may have been cut */
			}
			break;
		default:
			kdcom_retransmit_now(&engine, now);
			break;
		}
		take_events();
		drain();
	}
	return 0;
}
