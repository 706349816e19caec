/*
 * vcpu_tap.c -- the pass-through vcpu of the recorder and the player
 * (vcpu_tap.h).
 */
#include "config.h"

#include "vcpu_tap.h"

static const struct guest_vcpu *real_of(void *ctx)
{
	return ((const struct vcpu_tap *)ctx)->real;
}

static uint32_t tap_get_reg(void *ctx, enum guest_reg reg)
{
	return real_of(ctx)->get_reg(real_of(ctx)->ctx, reg);
}

static void tap_set_reg(void *ctx, enum guest_reg reg, uint32_t value)
{
	real_of(ctx)->set_reg(real_of(ctx)->ctx, reg, value);
}

static unsigned tap_cpl(void *ctx)
{
	return real_of(ctx)->cpl(real_of(ctx)->ctx);
}

static bool tap_read_phys(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	struct vcpu_tap *tap = ctx;
	bool ok = tap->real->read_phys(tap->real->ctx, paddr, buf, len);

	tap->memory(tap->owner, paddr, buf, len, false, ok);
	return ok;
}

static bool tap_write_phys(void *ctx, uint64_t paddr, const void *buf, size_t len)
{
	struct vcpu_tap *tap = ctx;
	bool ok = tap->real->write_phys(tap->real->ctx, paddr, buf, len);

	tap->memory(tap->owner, paddr, buf, len, true, ok);
	return ok;
}

static bool tap_translate(void *ctx, enum guest_seg seg, uint64_t offset, uint64_t *paddr)
{
	return real_of(ctx)->translate(real_of(ctx)->ctx, seg, offset, paddr);
}

static uint64_t tap_string_pointer(void *ctx, enum guest_reg reg)
{
	return real_of(ctx)->string_pointer(real_of(ctx)->ctx, reg);
}

/* One access, the match: a scan of all RAM is one operation, not a read
 * per page (which would outgrow a record on a large machine). */
static bool tap_find_page(void *ctx, const void *prefix, size_t length, uint64_t limit,
			  uint64_t *paddr)
{
	struct vcpu_tap *tap = ctx;
	bool found = guest_find_page(tap->real, prefix, length, limit, paddr);

	if (found)
		tap->memory(tap->owner, *paddr, prefix, length, false, true);
	return found;
}

static uint64_t tap_ticks(void *ctx)
{
	return real_of(ctx)->ticks(real_of(ctx)->ctx);
}

static bool tap_linear_to_phys(void *ctx, uint64_t linear, uint64_t *paddr)
{
	return real_of(ctx)->linear_to_phys(real_of(ctx)->ctx, linear, paddr);
}

/* Not an access of the call (guestcpu.h): passed through unrecorded. */
static bool tap_peek_phys(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	return real_of(ctx)->peek_phys(real_of(ctx)->ctx, paddr, buf, len);
}

static bool tap_in_64_bit_mode(void *ctx)
{
	return real_of(ctx)->in_64_bit_mode(real_of(ctx)->ctx);
}

void vcpu_tap_init(struct vcpu_tap *tap, vcpu_tap_memory_fn memory, void *owner)
{
	*tap = (struct vcpu_tap){
		.vcpu = { tap, tap_get_reg, tap_set_reg, tap_cpl, tap_read_phys, tap_write_phys,
			  tap_translate, tap_string_pointer, tap_ticks, tap_find_page,
			  tap_linear_to_phys, tap_peek_phys, tap_in_64_bit_mode },
		.memory = memory,
		.owner = owner,
	};
}

const struct guest_vcpu *vcpu_tap_attach(struct vcpu_tap *tap, const struct guest_vcpu *real)
{
	tap->real = real;
	return &tap->vcpu;
}

void vcpu_tap_registers(const struct guest_vcpu *vcpu, uint32_t regs[SESSION_REGS])
{
	static const enum guest_reg order[SESSION_REGS] = {
		GUEST_REG_EAX, GUEST_REG_ECX, GUEST_REG_EDX, GUEST_REG_EBX,
		GUEST_REG_EBP, GUEST_REG_ESI, GUEST_REG_EDI,
	};

	for (int i = 0; i < SESSION_REGS; i++)
		regs[i] = vcpu->get_reg(vcpu->ctx, order[i]);
}
