/*
 * fuzz_kdstub.c -- the guest's KD stub (guest/kdstub/kdstub.c) answering
 * whatever a debugger sends: any DbgKd packets (mostly manipulate requests
 * of a valid API number with fields from the input), between transport
 * failures and break-ins, while it reports an exception, a debug print and
 * a module load. The machine is the unit tests' (tests/unit/fake_machine.c):
 * kernel memory with an unmapped and a read-only page, a little physical
 * memory, registers and I/O ports that answer.
 *
 * Invariants: every packet the stub sends fits KDCOM_MAX_PAYLOAD; the
 * machine's contract holds (x86 addresses, never sign-extended ones; I/O
 * of 1, 2 or 4 bytes); the stub comes back once the debugger says
 * continue.
 */
#include "config.h"

#include <string.h>

#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "fuzz_input.h"
#include "fake_machine.h"
#include "kdstub.h"

/* Receives the stub may make after the input ran out before continuing. */
#define CONTINUES_OFFERED 8

static struct fake_machine machine;
static struct fuzz_input in;
static unsigned continues_offered;

static void fake_send(void *ctx, uint32_t type, const struct kd_string *header,
		      const struct kd_string *data, struct kd_context *kd_context)
{
	(void)ctx, (void)type, (void)kd_context;
	FUZZ_ASSERT(header, "a packet without a header");
	uint32_t total = header->length + (data ? data->length : 0u);
	FUZZ_ASSERT(total <= KDCOM_MAX_PAYLOAD, "a packet of %u bytes", total);
}

/* A request as the input makes it: a valid API number mostly, a valid
 * address mostly, any other field. */
static size_t make_request(uint8_t *payload, size_t room)
{
	struct dbgkd_manipulate_state64 m;
	uint8_t how = fuzz_u8(&in);

	FUZZ_ASSERT(room >= sizeof(m), "no room for a request");
	memset(&m, 0, sizeof(m));
	const uint8_t *bytes;
	size_t n = fuzz_bytes(&in, fuzz_length(&in, sizeof(m)), &bytes);
	memcpy(&m, bytes, n);
	if (how & 1)
		m.api_number = DBGKD_READ_VIRTUAL_MEMORY_API + fuzz_u8(&in) % 0x40;
	if (how & 2) /* an address in the fake's memory, sign-extended */
		m.u.read_memory.target_base_address =
			(uint64_t)(int32_t)(FAKE_VIRTUAL_BASE +
					    fuzz_u16(&in) % (FAKE_VIRTUAL_SIZE + FAKE_PAGE));
	if (how & 4)
		m.u.read_memory.transfer_count = fuzz_u16(&in) % 0x1100;
	memcpy(payload, &m, sizeof(m));
	size_t data = fuzz_bytes(&in, fuzz_length(&in, room - sizeof(m)), &bytes);
	memcpy(payload + sizeof(m), bytes, data);
	return sizeof(m) + data;
}

static size_t make_continue(uint8_t *payload)
{
	struct dbgkd_manipulate_state64 m;

	memset(&m, 0, sizeof(m));
	m.api_number = DBGKD_CONTINUE_API2;
	m.u.continue2.continue_status = DBGKD_DBG_CONTINUE;
	memcpy(payload, &m, sizeof(m));
	return sizeof(m);
}

/* KdReceivePacket, keeping its contract (the stub trusts that much). */
static enum kd_outcome fake_receive(void *ctx, uint32_t type, struct kd_string *header,
				   struct kd_string *data, uint32_t *data_length,
				   struct kd_context *kd_context)
{
	(void)ctx, (void)kd_context;
	if (type == KDCOM_TYPE_POLL_BREAKIN)
		return fuzz_u8(&in) & 1 ? KD_OK : KD_TIMED_OUT;
	FUZZ_ASSERT(header && data && data_length, "a receive without buffers");
	uint8_t payload[KDCOM_MAX_PAYLOAD];
	size_t length;
	if (fuzz_input_done(&in)) {
		FUZZ_ASSERT(++continues_offered <= CONTINUES_OFFERED,
			    "the stub does not resume when told to continue");
		length = make_continue(payload);
	} else {
		uint8_t what = fuzz_u8(&in);
		if (what % 8 == 0)
			return (enum kd_outcome)(1 + what / 8 % 4);
		length = make_request(payload, sizeof(payload));
	}
	if (length < header->maximum_length || length - header->maximum_length > data->maximum_length)
		return KD_NEEDS_RESEND; /* a real transport asks again */
	header->length = header->maximum_length;
	memcpy(header->buffer, payload, header->length);
	data->length = (uint16_t)(length - header->length);
	memcpy(data->buffer, payload + header->length, data->length);
	*data_length = data->length;
	return KD_OK;
}

static bool fake_present(void *ctx)
{
	(void)ctx;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kdstub stub;
	const struct kdstub_config config = {
		.build_number = 2600,
		.major_version = 0x000F,
		.kern_base = 0xFFFFFFFF80100000ull,
		.processor_level = 6,
		.kernel_cs = 0x08,
	};
	const struct kdstub_machine m = fake_machine_interface(&machine);
	const struct kd_transport t = { NULL, fake_send, fake_receive, fake_present };
	struct kdstub_resume resume;

	fuzz_input_init(&in, data, size);
	continues_offered = 0;
	fake_machine_power_on(&machine);
	kdstub_init(&stub, &config, &m, &t);
	kdstub_report_exception(&stub, 0x80000003u, FAKE_CODE, true, &resume);
	continues_offered = 0;
	kdstub_print(&stub, "fuzz\n", 5);
	kdstub_load_symbols(&stub, "\\SystemRoot\\fuzz.sys", FAKE_VIRTUAL_BASE, FAKE_VIRTUAL_SIZE,
			    0, false);
	kdstub_poll_breakin(&stub);
	uint8_t original;
	kdstub_breakpoint_at(&stub, FAKE_VIRTUAL_BASE + fuzz_u16(&in) % FAKE_VIRTUAL_SIZE, &original);
	return 0;
}
