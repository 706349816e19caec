/*
 * fuzz_kdvm_host.c -- the host side of the KD page (bochs-plugin/vmport_kd.c)
 * as a hostile guest drives it: any page contents, any subcommand at any
 * CPL, register and scan discovery, and a debugger (tests/unit/
 * kd_test_peer.c) whose answers the input chooses.
 *
 * With the fast path on (the input's choice), the debugger's memory reads
 * are answered by the device from the fake vCPU's memory, with the x86
 * target's 32-bit addresses or, the CPU in 64-bit code (also the input's
 * choice), the x64 target's whole 64-bit ones.
 *
 * Invariants: the device writes guest memory only in a page that carries
 * the signature, and there only the fields the protocol gives it (lengths,
 * result, flags, calls) and the payload; a KD call at CPL 3 writes nothing;
 * the peer's own checks (packet types, lengths within a packet, time-outs
 * within the limit) hold.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/backdoor.h"
#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "bxkd/kdvm.h"
#include "fake_vcpu.h"
#include "fuzz_input.h"
#include "kd_test_peer.h"
#include "vmport.h"

#define RAM_PAGES 16u
#define RAM_SIZE (RAM_PAGES * KDVM_PAGE_SIZE)

static bool owned_by_device(size_t offset)
{
	const struct {
		size_t at, size;
	} fields[] = {
		{ offsetof(struct kdvm_page_header, header_length), 2 },
		{ offsetof(struct kdvm_page_header, data_length), 2 },
		{ offsetof(struct kdvm_page_header, result), 12 }, /* result, flags, calls */
		{ sizeof(struct kdvm_page_header), KDVM_PAYLOAD_CAPACITY },
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
		if (offset - fields[i].at < fields[i].size)
			return true;
	}
	return false;
}

static void check_writes(const uint8_t *before, const uint8_t *after, bool refused)
{
	for (size_t i = 0; i < RAM_SIZE; i++) {
		if (before[i] == after[i])
			continue;
		FUZZ_ASSERT(!refused, "a KD call refused at CPL 3 wrote guest memory at 0x%zx", i);
		const uint8_t *page = before + i / KDVM_PAGE_SIZE * KDVM_PAGE_SIZE;
		FUZZ_ASSERT(!memcmp(page, KDVM_SIGNATURE, 8),
			    "the device wrote 0x%zx, in a page without the signature", i);
		FUZZ_ASSERT(owned_by_device(i % KDVM_PAGE_SIZE),
			    "the device wrote byte %zu of a KD page header, not its to write",
			    i % KDVM_PAGE_SIZE);
	}
}

/* The guest writes a page: a plausible header with fields from the input. */
static void write_page(struct fake_vcpu *cpu, struct fuzz_input *in)
{
	uint32_t page = fuzz_u8(in) % RAM_PAGES;
	struct kdvm_page_header h;
	const uint8_t *bytes;

	memset(&h, 0, sizeof(h));
	memcpy(h.signature, KDVM_SIGNATURE, sizeof(h.signature));
	h.nonce = fuzz_u8(in) & 1 ? 0x1234 : fuzz_u32(in);
	h.version = KDVM_PROTOCOL_VERSION;
	h.header_size = sizeof(h);
	h.request = fuzz_u8(in) % 5;
	h.packet_type = fuzz_u8(in) % 13;
	h.header_length = fuzz_u16(in);
	h.header_capacity = fuzz_u16(in);
	h.data_length = fuzz_u16(in);
	h.data_capacity = fuzz_u16(in);
	h.timeout_ms = fuzz_u8(in) & 1 ? fuzz_u32(in) : 10;
	uint8_t damage = fuzz_u8(in);
	if (damage < sizeof(h))
		((uint8_t *)&h)[damage] = fuzz_u8(in);
	memcpy(cpu->memory + page * KDVM_PAGE_SIZE, &h, sizeof(h));
	size_t n = fuzz_bytes(in, fuzz_length(in, KDVM_PAYLOAD_CAPACITY), &bytes);
	memcpy(cpu->memory + page * KDVM_PAGE_SIZE + sizeof(h), bytes, n);
}

/* A memory read the fast path may answer: any address and count, the
 * rest of the request as the input says. */
static void queue_read(struct kd_test_peer *peer, struct fuzz_input *in)
{
	struct dbgkd_manipulate_state64 m;
	const uint8_t *bytes;
	size_t n = fuzz_bytes(in, sizeof(m), &bytes);

	memset(&m, 0, sizeof(m));
	memcpy(&m, bytes, n);
	m.api_number = fuzz_u8(in) & 1 ? DBGKD_READ_PHYSICAL_MEMORY_API
				       : DBGKD_READ_VIRTUAL_MEMORY_API;
	m.u.read_memory.target_base_address =
		fuzz_u8(in) & 1 ? fuzz_u32(in) % RAM_SIZE : (uint64_t)fuzz_u32(in) << 32 | fuzz_u32(in);
	m.u.read_memory.transfer_count = fuzz_u8(in) & 1 ? fuzz_u16(in) : fuzz_u32(in);
	kd_test_peer_queue(peer, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0);
}

/* What the debugger does next. */
static void steer_peer(struct kd_test_peer *peer, struct fuzz_input *in)
{
	uint8_t what = fuzz_u8(in);
	const uint8_t *bytes;

	switch (what % 5) {
	case 0: {
		uint32_t type = fuzz_u8(in) % 12;
		size_t header = fuzz_length(in, 100);
		size_t n = fuzz_bytes(in, fuzz_length(in, 4096), &bytes);
		if (header > n)
			header = n;
		kd_test_peer_queue(peer, type, bytes, header, bytes + header, n - header);
		break;
	}
	case 1:
		if (peer->scripted < KD_TEST_PEER_SCRIPT_MAX)
			kd_test_peer_script_receive(peer, (enum kd_outcome)(fuzz_u8(in) % 5));
		break;
	case 2:
		peer->send_result = (enum kd_outcome)(fuzz_u8(in) % 5);
		peer->breakin_pending = what & 4;
		peer->debugger_present = what & 8;
		peer->debugger_attached = what & 16;
		break;
	case 3:
		queue_read(peer, in);
		break;
	default:
		kd_test_peer_forget_sent(peer);
		break;
	}
}

static void kd_call(struct vmport *vp, struct fake_vcpu *cpu, uint8_t *before,
		    struct fuzz_input *in)
{
	uint8_t how = fuzz_u8(in);
	uint32_t sub = how & 8 ? fuzz_u16(in) : (uint32_t)(how >> 4) % 6;
	uint32_t esi = how & 1 ? fuzz_u32(in) : (how & 2 ? 0x1234 : fuzz_u8(in) % (RAM_PAGES + 1));

	fake_vcpu_load(cpu, BDOOR_MAGIC, KDVM_MAGIC, sub << 16 | BDOOR_CMD_OS_NOT_FOUND, BDOOR_PORT,
		       esi, how & 4 ? fuzz_u32(in) : 0);
	cpu->cpl = fuzz_u8(in) & 1 ? 3 : 0;
	memcpy(before, cpu->memory, RAM_SIZE);
	uint64_t refusals = vmport_get_stats(vp)->refused_commands;
	fake_vcpu_io(cpu, vp, BDOOR_PORT, GUEST_PORT_IN);
	cpu->ticks += 1000;
	check_writes(before, cpu->memory, vmport_get_stats(vp)->refused_commands != refusals);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	struct fake_vcpu cpu;
	struct kd_test_peer peer;
	struct vmport_config config;
	uint8_t *before = malloc(RAM_SIZE);

	fuzz_input_init(&in, data, size);
	vmport_config_init(&config);
	config.ram_bytes = RAM_SIZE;
	uint8_t setup = fuzz_u8(&in);
	config.kd_discovery = setup & 1 ? KDVM_DISCOVERY_SCAN : KDVM_DISCOVERY_REGISTER;
	config.kd_fastpath = setup & 2;
	snprintf(config.kd_endpoint, sizeof(config.kd_endpoint), "unix:/nowhere");
	struct vmport *vp = vmport_create(&config, NULL);
	FUZZ_ASSERT(vp && before, "out of memory");
	fake_vcpu_init(&cpu, RAM_SIZE);
	cpu.in_64_bit_mode = setup & 4;
	kd_test_peer_init(&peer);
	peer.debugger_present = peer.debugger_attached = true;
	vmport_set_kd_port(vp, &peer.port);

	for (unsigned ops = 0; !fuzz_input_done(&in) && ops < 64; ops++) {
		switch (fuzz_u8(&in) % 3) {
		case 0:
			write_page(&cpu, &in);
			break;
		case 1:
			steer_peer(&peer, &in);
			break;
		default:
			kd_call(vp, &cpu, before, &in);
			break;
		}
	}
	vmport_destroy(vp);
	kd_test_peer_free(&peer);
	fake_vcpu_free(&cpu);
	free(before);
	return 0;
}
