/*
 * vmport_kd_fast.c -- the KD fast path (`vmport: kd_fastpath=1`): while
 * the guest waits in KdReceivePacket for a manipulate request, the device
 * answers ReadVirtualMemory and ReadPhysicalMemory itself, from guest
 * memory, and hands the guest only the requests it must serve. A debugger
 * cannot tell: the reply carries the same bytes the KD stub
 * (guest/kdstub/kdstub.c read_memory, guest/kernel/kd.c copy_pages) sends
 * for the same request -- the request's 56 bytes with ActualBytes and the
 * status set, then the bytes read up to the first page that is not mapped
 * or not RAM. Only memory the stub itself changes while it serves (its
 * stack and buffers, accessed bits in the page tables) may read
 * differently.
 *
 * The virtual addresses are the target's, which the CPU's mode at the
 * call tells: in 64-bit code the x64 kernel's stub (guest/x64/paging.c)
 * takes the 64 bits whole and refuses a non-canonical one; otherwise the
 * x86 stub takes the low 32 bits of one sign-extended (or zero-extended).
 * The page walk itself is Bochs' (linear_to_phys), in whatever paging
 * mode the CPU is: 32-bit, PAE or 4-level.
 */
#include "config.h"

#include <string.h>

#include "bxkd/dbgkd.h"
#include "vmport_internal.h"

#define FAST_PAGE_SIZE 4096u

/* The stub's limit: what fits in one packet after the 56-byte header. */
#define FAST_REPLY_DATA_MAX (KDCOM_MAX_PAYLOAD - sizeof(struct dbgkd_manipulate_state64))

/* Bits 63:47 all equal: an address a 4-level walk can take. */
static bool canonical(uint64_t linear)
{
	return (linear >> 47) == 0 || (linear >> 47) == 0x1FFFFu;
}

/* Page by page, stopping at the first byte that is not RAM or not
 * mapped: the count is what the debugger sees. A run of x86 virtual
 * addresses that would pass 4 GiB stops there; an x64 one stops where
 * the addresses stop being canonical. */
static uint32_t read_pages(const struct vmport *vp, const struct guest_vcpu *v, bool physical,
			   bool wide, uint64_t address, uint8_t *buf, uint32_t count)
{
	uint32_t done = 0;

	while (done < count) {
		uint64_t at = address + done, where = at;
		bool addressable = wide ? canonical(at) : at <= UINT32_MAX;
		if (!physical && (!addressable || !v->linear_to_phys(v->ctx, at, &where)))
			break;
		if (where >= vp->config.ram_bytes)
			break;
		uint32_t chunk = FAST_PAGE_SIZE - (uint32_t)(where & (FAST_PAGE_SIZE - 1));
		if (chunk > count - done)
			chunk = count - done;
		if (!v->peek_phys(v->ctx, where, buf + done, chunk))
			break;
		done += chunk;
	}
	return done;
}

bool vmport_kd_fast_answer(struct vmport *vp, const struct guest_vcpu *v, const uint8_t *header,
			   size_t header_length)
{
	static uint8_t data[FAST_REPLY_DATA_MAX];
	struct dbgkd_manipulate_state64 m;

	/* The stub serves a request of exactly 56 header bytes, nothing else. */
	if (header_length != sizeof(m))
		return false;
	memcpy(&m, header, sizeof(m));
	bool physical = m.api_number == DBGKD_READ_PHYSICAL_MEMORY_API;
	if (!physical && m.api_number != DBGKD_READ_VIRTUAL_MEMORY_API)
		return false;

	uint64_t address = m.u.read_memory.target_base_address;
	uint32_t count = m.u.read_memory.transfer_count < FAST_REPLY_DATA_MAX
				 ? m.u.read_memory.transfer_count
				 : (uint32_t)FAST_REPLY_DATA_MAX;
	uint32_t got = 0;
	bool wide = !physical && v->in_64_bit_mode(v->ctx);
	/* An x86 virtual address is 32 bits, or 32 bits sign-extended. */
	bool x86 = address >> 32 == 0 || address >> 32 == 0xFFFFFFFFu;
	if (physical || wide)
		got = read_pages(vp, v, physical, wide, address, data, count);
	else if (x86)
		got = read_pages(vp, v, false, false, (uint32_t)address, data, count);
	m.u.read_memory.actual_bytes = got;
	m.return_status = got == count ? DBGKD_STATUS_SUCCESS : DBGKD_STATUS_UNSUCCESSFUL;
	vp->stats.kd_fast_answers++;
	vp->kd_port.send(vp->kd_port.ctx, KDCOM_TYPE_STATE_MANIPULATE, (const uint8_t *)&m,
			 sizeof(m), data, got);
	return true;
}
