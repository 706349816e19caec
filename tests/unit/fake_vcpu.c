/*
 * fake_vcpu.c -- struct guest_vcpu over plain memory.
 */
#include "config.h"

#include "fake_vcpu.h"

#include <stdlib.h>
#include <string.h>

#define NO_HOLE UINT64_MAX

static uint32_t get_reg(void *ctx, enum guest_reg reg)
{
	struct fake_vcpu *f = ctx;
	return (uint32_t)f->reg[reg];
}

static void set_reg(void *ctx, enum guest_reg reg, uint32_t value)
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

static bool linear_to_phys(const struct fake_vcpu *f, uint64_t linear, uint64_t *paddr)
{
	if (f->unmapped_linear != NO_HOLE && linear >> 12 == f->unmapped_linear >> 12)
		return false;
	*paddr = (f->in_64_bit_mode ? linear & (f->memory_size - 1) : linear) ^ f->page_xor;
	return true;
}

/* A 32-bit CPU: offsets wrap at 4 GiB, pointers are the 32-bit registers. */
static bool translate(void *ctx, enum guest_seg seg, uint64_t offset, uint64_t *paddr)
{
	struct fake_vcpu *f = ctx;

	return linear_to_phys(f, (uint32_t)(f->segment_base[seg] + (uint32_t)offset), paddr);
}

static uint64_t string_pointer(void *ctx, enum guest_reg reg)
{
	return get_reg(ctx, reg);
}

static uint64_t ticks(void *ctx)
{
	struct fake_vcpu *f = ctx;
	return f->ticks;
}

static bool find_page(void *ctx, const void *prefix, size_t length, uint64_t limit,
		      uint64_t *paddr)
{
	struct fake_vcpu *f = ctx;

	return guest_find_page_by_reading(&f->vcpu, prefix, length, limit, paddr);
}

static bool fake_linear_to_phys(void *ctx, uint64_t linear, uint64_t *paddr)
{
	struct fake_vcpu *f = ctx;

	return (f->in_64_bit_mode || linear <= UINT32_MAX) && linear_to_phys(f, linear, paddr);
}

static bool in_64_bit_mode(void *ctx)
{
	struct fake_vcpu *f = ctx;
	return f->in_64_bit_mode;
}

void fake_vcpu_init(struct fake_vcpu *f, uint64_t memory_size)
{
	memset(f, 0, sizeof(*f));
	f->memory = calloc(1, memory_size ? memory_size : 1);
	if (!f->memory)
		abort();
	f->memory_size = memory_size;
	f->unmapped_linear = NO_HOLE;
	f->vcpu = (struct guest_vcpu){ f,	      get_reg,	   set_reg,   cpl,
					read_phys,    write_phys,  translate, string_pointer,
					ticks,	      find_page,   fake_linear_to_phys, read_phys,
					in_64_bit_mode };
}

void fake_vcpu_free(struct fake_vcpu *f)
{
	free(f->memory);
	f->memory = NULL;
}

void fake_vcpu_load(struct fake_vcpu *f, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx,
		    uint32_t esi, uint32_t edi)
{
	f->reg[GUEST_REG_EAX] = eax;
	f->reg[GUEST_REG_EBX] = ebx;
	f->reg[GUEST_REG_ECX] = ecx;
	f->reg[GUEST_REG_EDX] = edx;
	f->reg[GUEST_REG_ESI] = esi;
	f->reg[GUEST_REG_EDI] = edi;
}

void fake_vcpu_poke(struct fake_vcpu *f, uint32_t linear, const void *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		uint64_t paddr;
		if (!linear_to_phys(f, linear + i, &paddr) || paddr >= f->memory_size)
			abort();
		f->memory[paddr] = ((const uint8_t *)data)[i];
	}
}

void fake_vcpu_peek(const struct fake_vcpu *f, uint32_t linear, void *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		uint64_t paddr;
		if (!linear_to_phys(f, linear + i, &paddr) || paddr >= f->memory_size)
			abort();
		((uint8_t *)data)[i] = f->memory[paddr];
	}
}

unsigned fake_vcpu_total_writes(const struct fake_vcpu *f)
{
	unsigned n = 0;

	for (int r = 0; r < GUEST_REG_COUNT; r++)
		n += f->reg_writes[r];
	return n;
}

void fake_vcpu_clear_writes(struct fake_vcpu *f)
{
	memset(f->reg_writes, 0, sizeof(f->reg_writes));
}

struct guest_port_access fake_vcpu_io(struct fake_vcpu *f, struct vmport *vp, uint16_t port,
				  enum guest_port_dir dir)
{
	struct guest_port_access access = { .port = port, .dir = dir };

	vmport_io(vp, &f->vcpu, &access);
	/* What the CPU itself does with the value an IN delivers. */
	if (dir == GUEST_PORT_IN && !access.string_op_done)
		f->reg[GUEST_REG_EAX] = access.in_value;
	return access;
}
