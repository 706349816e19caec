/*
 * fake_vcpu.h -- a guest CPU in memory for driving the vmport core.
 */
#ifndef BXKD_FAKE_VCPU_H
#define BXKD_FAKE_VCPU_H

#include <stdint.h>

#include "vmport.h"
#include "bxkd/guestcpu.h"

struct fake_vcpu {
	uint64_t reg[GUEST_REG_COUNT]; /* 64-bit, to see upper halves survive */
	unsigned reg_writes[GUEST_REG_COUNT];
	unsigned cpl;
	uint8_t *memory;
	uint64_t memory_size;
	uint64_t ticks;
	/* Translation: linear = segment base + offset; physical = linear with
	 * page_xor applied (0x1000 swaps neighbouring pages, so a buffer that
	 * is contiguous to the guest is not in RAM); the page containing
	 * `unmapped_linear` is not mapped. */
	uint32_t segment_base[2]; /* indexed by enum guest_seg */
	uint32_t page_xor;
	uint64_t unmapped_linear;
	/* 64-bit code: linear addresses are 64 bits, and every stretch of
	 * memory_size bytes of them (a power of two) is RAM again, so that
	 * whatever address the device should refuse would reach RAM here. */
	bool in_64_bit_mode;
	struct guest_vcpu vcpu;
};

/* Zeroed registers, CPL 0, `memory_size` bytes of zeroed RAM, flat
 * segments, identity paging. */
void fake_vcpu_init(struct fake_vcpu *f, uint64_t memory_size);
void fake_vcpu_free(struct fake_vcpu *f);

/* Sets EAX..EDI as a guest would before a backdoor call. */
void fake_vcpu_load(struct fake_vcpu *f, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx,
		    uint32_t esi, uint32_t edi);

/* Guest linear memory through the fake's own translation, for tests that
 * place and inspect buffers. */
void fake_vcpu_poke(struct fake_vcpu *f, uint32_t linear, const void *data, uint32_t len);
void fake_vcpu_peek(const struct fake_vcpu *f, uint32_t linear, void *data, uint32_t len);

unsigned fake_vcpu_total_writes(const struct fake_vcpu *f);
void fake_vcpu_clear_writes(struct fake_vcpu *f);

/* One port access by this CPU; returns what the device answered. */
struct guest_port_access fake_vcpu_io(struct fake_vcpu *f, struct vmport *vp, uint16_t port,
				  enum guest_port_dir dir);

#endif /* BXKD_FAKE_VCPU_H */
