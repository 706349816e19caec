/*
 * fuzz_backdoor.c -- the backdoor's dispatch (bochs-plugin/vmport.c)
 * through the guest_vcpu seam: any sequence of IN and OUT, on either port
 * or a wrong one, at any CPL, with any registers, on a fake vCPU
 * (tests/unit/fake_vcpu.c) with scrambled pages and an unmapped one.
 *
 * Invariants: the upper halves of the 64-bit registers survive every call
 * (VMware sets only the low 32 bits); ESP is never written; an OUT never
 * changes EAX; a call without the magic or on another port changes no
 * register and no byte of guest memory.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/backdoor.h"
#include "fake_vcpu.h"
#include "fuzz_input.h"
#include "vmport.h"

#define RAM_SIZE (128u * 1024u)
#define UPPER_HALF 0xA5A5A5A5ull

static bool (*fake_write_phys)(void *ctx, uint64_t paddr, const void *buf, size_t len);
static unsigned memory_writes;

/* Counts the device's writes to guest memory on their way to the fake. */
static bool counted_write_phys(void *ctx, uint64_t paddr, const void *buf, size_t len)
{
	memory_writes++;
	return fake_write_phys(ctx, paddr, buf, len);
}

static uint16_t pick_port(struct fuzz_input *in, uint8_t op)
{
	switch (op >> 6) {
	case 0:
	case 1:
		return BDOOR_PORT;
	case 2:
		return BDOOR_PORT_HB;
	default:
		return fuzz_u16(in);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	struct fake_vcpu cpu;
	struct vmport_config config;

	fuzz_input_init(&in, data, size);
	vmport_config_init(&config);
	config.ram_bytes = RAM_SIZE;
	config.kd_command = fuzz_u16(&in);
	struct vmport *vp = vmport_create(&config, NULL);
	FUZZ_ASSERT(vp, "out of memory");
	fake_vcpu_init(&cpu, RAM_SIZE);
	fake_write_phys = cpu.vcpu.write_phys;
	cpu.vcpu.write_phys = counted_write_phys;
	cpu.segment_base[GUEST_SEG_DS] = fuzz_u16(&in);
	cpu.segment_base[GUEST_SEG_ES] = fuzz_u16(&in);
	cpu.page_xor = 0x1000;
	cpu.unmapped_linear = fuzz_u32(&in) % RAM_SIZE;

	for (unsigned calls = 0; !fuzz_input_done(&in) && calls < 256; calls++) {
		uint8_t op = fuzz_u8(&in);
		uint16_t port = pick_port(&in, op);
		enum guest_port_dir dir = op & 1 ? GUEST_PORT_OUT : GUEST_PORT_IN;
		uint32_t eax = op & 2 ? fuzz_u32(&in) : BDOOR_MAGIC;
		uint32_t ebx = fuzz_u32(&in), ecx = fuzz_u32(&in), edx = fuzz_u32(&in);
		uint32_t esi = fuzz_u32(&in), edi = fuzz_u32(&in);

		cpu.cpl = (op >> 2) & 3;
		fake_vcpu_load(&cpu, eax, ebx, ecx, edx, esi, edi);
		cpu.reg[GUEST_REG_EBP] = fuzz_u32(&in);
		cpu.reg[GUEST_REG_ESP] = 0x7000;
		for (int r = 0; r < GUEST_REG_COUNT; r++)
			cpu.reg[r] |= UPPER_HALF << 32;
		uint64_t regs_before[GUEST_REG_COUNT];
		memcpy(regs_before, cpu.reg, sizeof(regs_before));
		memory_writes = 0;
		fake_vcpu_clear_writes(&cpu);

		struct guest_port_access access = fake_vcpu_io(&cpu, vp, port, dir);

		/* A 32-bit IN itself clears RAX's upper half (the fake does). */
		bool eax_loaded = dir == GUEST_PORT_IN && !access.string_op_done;
		for (int r = eax_loaded; r < GUEST_REG_COUNT; r++)
			FUZZ_ASSERT(cpu.reg[r] >> 32 == UPPER_HALF,
				    "register %d lost its upper half", r);
		FUZZ_ASSERT(!cpu.reg_writes[GUEST_REG_ESP], "ESP written");
		if (dir == GUEST_PORT_OUT)
			FUZZ_ASSERT(cpu.reg[GUEST_REG_EAX] == regs_before[GUEST_REG_EAX],
				    "an OUT changed EAX");
		if (eax != BDOOR_MAGIC || (port != BDOOR_PORT && port != BDOOR_PORT_HB)) {
			/* An IN reads what an empty port answers. */
			if (eax_loaded)
				FUZZ_ASSERT(cpu.reg[GUEST_REG_EAX] == BDOOR_NO_ANSWER,
					    "a call that is not for the backdoor read 0x%08x",
					    (uint32_t)cpu.reg[GUEST_REG_EAX]);
			for (int r = eax_loaded; r < GUEST_REG_COUNT; r++)
				FUZZ_ASSERT(cpu.reg[r] == regs_before[r],
					    "a call that is not for the backdoor changed register %d",
					    r);
			FUZZ_ASSERT(!memory_writes,
				    "a call that is not for the backdoor wrote guest memory");
		}
		cpu.ticks += 1000;
	}
	vmport_destroy(vp);
	fake_vcpu_free(&cpu);
	return 0;
}
