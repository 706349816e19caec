/*
 * fake_vcpu.h -- a guest CPU in memory for driving the vmport core.
 */
#ifndef BXKD_FAKE_VCPU_H
#define BXKD_FAKE_VCPU_H

#include <stdint.h>

#include "vmport_vcpu.h"

struct fake_vcpu {
	uint64_t reg[VMPORT_REG_COUNT]; /* 64-bit, to see upper halves survive */
	unsigned reg_writes[VMPORT_REG_COUNT];
	unsigned cpl;
	uint8_t *memory;
	uint64_t memory_size;
	uint64_t ticks;
	struct vmport_vcpu vcpu;
};

/* Zeroed registers, CPL 0, `memory_size` bytes of zeroed RAM. */
void fake_vcpu_init(struct fake_vcpu *f, uint64_t memory_size);
void fake_vcpu_free(struct fake_vcpu *f);

/* Sets EAX..EDI as a guest would before a backdoor call. */
void fake_vcpu_load(struct fake_vcpu *f, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx,
		    uint32_t esi, uint32_t edi);

unsigned fake_vcpu_total_writes(const struct fake_vcpu *f);

#endif /* BXKD_FAKE_VCPU_H */
