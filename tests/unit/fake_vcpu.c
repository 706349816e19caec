/*
 * fake_vcpu.c -- struct vmport_vcpu over plain memory.
 */
#include "config.h"

#include "fake_vcpu.h"

#include <stdlib.h>
#include <string.h>

static uint32_t get_reg(void *ctx, enum vmport_reg reg)
{
	struct fake_vcpu *f = ctx;
	return (uint32_t)f->reg[reg];
}

static void set_reg(void *ctx, enum vmport_reg reg, uint32_t value)
{
	struct fake_vcpu *f = ctx;
	f->reg[reg] = (f->reg[reg] & ~(uint64_t)UINT32_MAX) | value;
	f->reg_writes[reg]++;
}

static unsigned cpl(void *ctx)
{
	struct fake_vcpu *f = ctx;
	return f->cpl;
}

static bool in_memory(const struct fake_vcpu *f, uint64_t paddr, size_t len)
{
	return paddr <= f->memory_size && len <= f->memory_size - paddr;
}

static bool read_phys(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	struct fake_vcpu *f = ctx;

	if (!in_memory(f, paddr, len))
		return false;
	memcpy(buf, f->memory + paddr, len);
	return true;
}

static bool write_phys(void *ctx, uint64_t paddr, const void *buf, size_t len)
{
	struct fake_vcpu *f = ctx;

	if (!in_memory(f, paddr, len))
		return false;
	memcpy(f->memory + paddr, buf, len);
	return true;
}

static uint64_t ticks(void *ctx)
{
	struct fake_vcpu *f = ctx;
	return f->ticks;
}

void fake_vcpu_init(struct fake_vcpu *f, uint64_t memory_size)
{
	memset(f, 0, sizeof(*f));
	f->memory = calloc(1, memory_size ? memory_size : 1);
	if (!f->memory)
		abort();
	f->memory_size = memory_size;
	f->vcpu = (struct vmport_vcpu){ f, get_reg, set_reg, cpl, read_phys, write_phys, ticks };
}

void fake_vcpu_free(struct fake_vcpu *f)
{
	free(f->memory);
	f->memory = NULL;
}

void fake_vcpu_load(struct fake_vcpu *f, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx,
		    uint32_t esi, uint32_t edi)
{
	f->reg[VMPORT_REG_EAX] = eax;
	f->reg[VMPORT_REG_EBX] = ebx;
	f->reg[VMPORT_REG_ECX] = ecx;
	f->reg[VMPORT_REG_EDX] = edx;
	f->reg[VMPORT_REG_ESI] = esi;
	f->reg[VMPORT_REG_EDI] = edi;
}

unsigned fake_vcpu_total_writes(const struct fake_vcpu *f)
{
	unsigned n = 0;

	for (int r = 0; r < VMPORT_REG_COUNT; r++)
		n += f->reg_writes[r];
	return n;
}
