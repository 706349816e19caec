/*
 * bxkd/guestcpu.h -- how host code sees the guest CPU during one port
 * access: its registers, privilege level, memory and clock.
 *
 * This is the seam between an emulator and everything that handles a
 * guest's I/O: the backdoor device reads and writes guest state only
 * through struct guest_vcpu, which the Bochs glue fills with calls into
 * bochs-bin, unit tests and fuzzers with a struct in memory, the session
 * recorder with wrappers that write down every value, and the replay
 * player with the recorded values. Keep it small: every operation here is
 * one more thing each of those implements.
 */
#ifndef BXKD_GUESTCPU_H
#define BXKD_GUESTCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* General registers in x86 encoding order (ModRM reg field). */
enum guest_reg {
	GUEST_REG_EAX,
	GUEST_REG_ECX,
	GUEST_REG_EDX,
	GUEST_REG_EBX,
	GUEST_REG_ESP,
	GUEST_REG_EBP,
	GUEST_REG_ESI,
	GUEST_REG_EDI,
	GUEST_REG_COUNT
};

/* The segments string I/O uses: OUTSB reads DS:ESI, INSB writes ES:EDI. */
enum guest_seg { GUEST_SEG_ES, GUEST_SEG_DS };

struct guest_vcpu {
	void *ctx;
	/* Low 32 bits of a general register. */
	uint32_t (*get_reg)(void *ctx, enum guest_reg reg);
	/* Sets the low 32 bits; bits 63:32 of a 64-bit register stay as they
	 * were, which is what VMware does for backdoor results. */
	void (*set_reg)(void *ctx, enum guest_reg reg, uint32_t value);
	/* Current privilege level, 0..3. */
	unsigned (*cpl)(void *ctx);
	/* Guest physical memory. Return false, leaving the rest of the buffer
	 * unspecified, when any byte of the range is not readable/writable. */
	bool (*read_phys)(void *ctx, uint64_t paddr, void *buf, size_t len);
	bool (*write_phys)(void *ctx, uint64_t paddr, const void *buf, size_t len);
	/* Physical address of the byte at seg:offset for a data access, as the
	 * CPU computes it (segment base and a 32-bit offset, then paging; in
	 * 64-bit mode the whole 64-bit offset, DS and ES having no base there);
	 * false if not mapped. */
	bool (*translate)(void *ctx, enum guest_seg seg, uint64_t offset, uint64_t *paddr);
	/* The buffer pointer of a string instruction, ESI or EDI: the whole
	 * 64-bit RSI or RDI in 64-bit mode (a 64-bit client's buffer address,
	 * as open-vm-tools' 64-bit backdoor passes it), the 32-bit register
	 * otherwise. */
	uint64_t (*string_pointer)(void *ctx, enum guest_reg reg);
	/* Instructions executed since power-on: the emulated clock. */
	uint64_t (*ticks)(void *ctx);
	/* The lowest 4 KiB-aligned physical address below `limit` whose first
	 * `length` bytes (at most GUEST_PAGE_PREFIX_MAX) are `prefix`; false if
	 * there is none. A signature scan of all RAM is one operation here
	 * rather than a read per page, so that what watches the device's
	 * memory accesses (the session recorder) sees one access, the match,
	 * whatever the RAM size. guest_find_page_by_reading() implements it
	 * over read_phys; NULL means that. */
	bool (*find_page)(void *ctx, const void *prefix, size_t length, uint64_t limit,
			  uint64_t *paddr);
	/* For the KD fast path, which answers a debugger's memory reads while
	 * the guest waits: the physical address of a linear one through the
	 * page tables in CR3, in the CPU's current paging mode (no segment,
	 * no privilege check, no accessed bits set); and guest physical
	 * memory read as read_phys does, but not an access of the call: the
	 * bytes reach the session in the reply that carries them. */
	bool (*linear_to_phys)(void *ctx, uint64_t linear, uint64_t *paddr);
	bool (*peek_phys)(void *ctx, uint64_t paddr, void *buf, size_t len);
	/* The CPU runs 64-bit code (long mode, a 64-bit CS): its linear
	 * addresses are 64 bits wide, and a debugger's addresses are the x64
	 * target's, taken whole, rather than the x86 target's 32 bits. */
	bool (*in_64_bit_mode)(void *ctx);
};

#define GUEST_PAGE_PREFIX_MAX 64u

/* find_page by reading the start of every page through read_phys. */
static inline bool guest_find_page_by_reading(const struct guest_vcpu *v, const void *prefix,
					      size_t length, uint64_t limit, uint64_t *paddr)
{
	const uint8_t *want = (const uint8_t *)prefix;
	uint8_t head[GUEST_PAGE_PREFIX_MAX];

	if (length == 0 || length > sizeof(head))
		return false;
	for (uint64_t at = 0; at < limit && length <= limit - at; at += 4096) {
		if (!v->read_phys(v->ctx, at, head, length))
			continue;
		size_t same = 0;
		while (same < length && head[same] == want[same])
			same++;
		if (same == length) {
			*paddr = at;
			return true;
		}
	}
	return false;
}

/* The vCPU's own find_page, or the reading one. */
static inline bool guest_find_page(const struct guest_vcpu *v, const void *prefix, size_t length,
				   uint64_t limit, uint64_t *paddr)
{
	return v->find_page ? v->find_page(v->ctx, prefix, length, limit, paddr)
			    : guest_find_page_by_reading(v, prefix, length, limit, paddr);
}

/* ---- one port access ------------------------------------------------------ */

enum guest_port_dir { GUEST_PORT_IN, GUEST_PORT_OUT };

struct guest_port_access {
	uint16_t port;
	enum guest_port_dir dir;
	/* Out: the value an IN delivers to AL/AX/EAX. */
	uint32_t in_value;
	/* Out: a high-bandwidth REP INSB/OUTSB moved its whole buffer on this,
	 * its first byte. The emulator must end the instruction now and leave
	 * ESI/EDI as they were (bochs-plugin/vmport_bochs.cc says how Bochs
	 * does it). */
	bool string_op_done;
};

#endif /* BXKD_GUESTCPU_H */
