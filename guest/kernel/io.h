/*
 * io.h -- x86 port I/O and the few privileged instructions the guest uses.
 */
#ifndef GUEST_IO_H
#define GUEST_IO_H

#include <stdint.h>

/* outb/inb, outw/inw, outl/inl: one port access of each width. */
#define GUEST_PORT_IO(suffix, type)                                                            \
	static inline void out##suffix(uint16_t port, type value)                              \
	{                                                                                      \
		__asm__ volatile("out" #suffix " %0, %1" : : "a"(value), "Nd"(port));          \
	}                                                                                      \
	static inline type in##suffix(uint16_t port)                                           \
	{                                                                                      \
		type value;                                                                    \
		__asm__ volatile("in" #suffix " %1, %0" : "=a"(value) : "Nd"(port));           \
		return value;                                                                  \
	}
GUEST_PORT_IO(b, uint8_t)
GUEST_PORT_IO(w, uint16_t)
GUEST_PORT_IO(l, uint32_t)

/* The time stamp counter; under Bochs it counts instructions. */
static inline uint64_t rdtsc(void)
{
	uint32_t low, high;
	__asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
	return (uint64_t)high << 32 | low;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t low, high;
	__asm__ volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
	return (uint64_t)high << 32 | low;
}

static inline void wrmsr(uint32_t msr, uint64_t value)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}

/* The privilege level the caller runs at: CS's low two bits. */
static inline unsigned current_cpl(void)
{
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3u;
}

/* read_cr0, read_cr2, read_cr3. */
#define GUEST_READ_CR(n)                                                                       \
	static inline uint32_t read_cr##n(void)                                                \
	{                                                                                      \
		uint32_t value;                                                                \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(value));                          \
		return value;                                                                  \
	}
GUEST_READ_CR(0)
GUEST_READ_CR(2)
GUEST_READ_CR(3)

static inline void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif /* GUEST_IO_H */
