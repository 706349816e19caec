/*
 * vmport_vcpu.h -- how the backdoor core sees the guest CPU.
 *
 * The core never includes a Bochs declaration. It reads and writes guest
 * state only through this table, which the Bochs adapter fills with calls
 * into bochs-bin, unit tests and fuzzers with a struct in memory, and the
 * replay player with the recorded values. Keep it small: every operation
 * here is one more thing each of those has to implement.
 */
#ifndef BXKD_VMPORT_VCPU_H
#define BXKD_VMPORT_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* General registers in x86 encoding order (ModRM reg field). */
enum vmport_reg {
	VMPORT_REG_EAX,
	VMPORT_REG_ECX,
	VMPORT_REG_EDX,
	VMPORT_REG_EBX,
	VMPORT_REG_ESP,
	VMPORT_REG_EBP,
	VMPORT_REG_ESI,
	VMPORT_REG_EDI,
	VMPORT_REG_COUNT
};

/* The segments string I/O uses: OUTSB reads DS:ESI, INSB writes ES:EDI. */
enum vmport_seg { VMPORT_SEG_ES, VMPORT_SEG_DS };

struct vmport_vcpu {
	void *ctx;
	/* Low 32 bits of a general register. */
	uint32_t (*get_reg)(void *ctx, enum vmport_reg reg);
	/* Sets the low 32 bits; bits 63:32 of a 64-bit register stay as they
	 * were, which is what VMware does for backdoor results. */
	void (*set_reg)(void *ctx, enum vmport_reg reg, uint32_t value);
	/* Current privilege level, 0..3. */
	unsigned (*cpl)(void *ctx);
	/* Guest physical memory. Return false, leaving the rest of the buffer
	 * unspecified, when any byte of the range is not readable/writable. */
	bool (*read_phys)(void *ctx, uint64_t paddr, void *buf, size_t len);
	bool (*write_phys)(void *ctx, uint64_t paddr, const void *buf, size_t len);
	/* Physical address of the byte at seg:offset for a data access, as the
	 * CPU computes it (segment base, then paging); false if not mapped. */
	bool (*translate)(void *ctx, enum vmport_seg seg, uint32_t offset, uint64_t *paddr);
	/* Instructions executed since power-on: the emulated clock. */
	uint64_t (*ticks)(void *ctx);
};

#endif /* BXKD_VMPORT_VCPU_H */
