/*
 * fake_machine.h -- a stopped x86 machine in memory for driving the KD stub
 * (guest/kdstub): 64 KiB of kernel memory with an unmapped page (reads and
 * writes stop at it) and a read-only page, a little physical memory
 * elsewhere, registers, I/O ports that answer and are logged, a reboot
 * that comes back, MSRs (a read-only TSC, a writable SYSENTER_ESP).
 */
#ifndef BXKD_FAKE_MACHINE_H
#define BXKD_FAKE_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "bxkd/dbgkd.h"
#include "kdstub.h"

#define FAKE_VIRTUAL_BASE 0x80100000u
#define FAKE_VIRTUAL_SIZE 0x10000u
#define FAKE_PAGE 0x1000u
#define FAKE_HOLE (FAKE_VIRTUAL_BASE + 0x8000u)
#define FAKE_READ_ONLY (FAKE_VIRTUAL_BASE + 0xA000u)
#define FAKE_PHYSICAL_BASE 0x00200000u
#define FAKE_PHYSICAL_SIZE 0x4000u
#define FAKE_CODE (FAKE_VIRTUAL_BASE + 0x1000u) /* where the stopped CPU's EIP points */
#define FAKE_DATA (FAKE_VIRTUAL_BASE + 0x3000u)
#define FAKE_KERNEL_CS 0x08u
/* The x86-64 machine's view of the same memory, in the higher half. */
#define FAKE_VIRTUAL_BASE64 0xFFFFF80000100000ull
#define FAKE_CODE64 (FAKE_VIRTUAL_BASE64 + 0x1000u)
#define FAKE_USER_CS 0x1Bu
/* Every port answers its own number, with junk above it: a stub must not
 * pass on more than the bytes asked for. */
#define FAKE_IO_JUNK 0xC3B20000u
#define FAKE_IO_LOG 8
/* The MSRs the machine lets a debugger at: the time-stamp counter (0x10),
 * read only, and IA32_SYSENTER_ESP (0x175), read and written (its value in
 * `writable_msr`). */
#define FAKE_TSC 0x0000000512345678ull
#define FAKE_MSR_TSC 0x10u
#define FAKE_MSR_WRITABLE 0x175u
#define FAKE_MSR_WRITABLE_AT_POWER_ON 0xFFFFF80000107000ull

struct fake_io {
	bool write;
	uint16_t port;
	unsigned size;
	uint32_t value;
};

struct fake_machine {
	uint8_t memory[FAKE_VIRTUAL_SIZE];
	uint8_t physical[FAKE_PHYSICAL_SIZE];
	struct x86_context context;
	struct x86_special_registers special;
	/* An x86-64 machine instead (fake_machine_power_on_amd64): these
	 * registers are the ones the stub sees. */
	bool amd64;
	struct amd64_context amd64_context;
	struct amd64_special_registers amd64_special;
	unsigned set_context_calls, set_special_calls, reboots;
	uint64_t writable_msr;
	unsigned msr_writes; /* the ones the machine took */
	/* The first FAKE_IO_LOG port accesses; io_count counts them all. */
	struct fake_io io[FAKE_IO_LOG];
	unsigned io_count;
};

/* Memory filled with a pattern (a real int3 among the 16 bytes at
 * FAKE_CODE), registers of a kernel stopped at FAKE_CODE. */
void fake_machine_power_on(struct fake_machine *m);
/* The same memory at FAKE_VIRTUAL_BASE64, and the registers of an x86-64
 * kernel stopped at FAKE_CODE64 (amd64_context, amd64_special). */
void fake_machine_power_on_amd64(struct fake_machine *m);
/* The stub's view of `m` (its ctx). */
struct kdstub_machine fake_machine_interface(struct fake_machine *m);
/* The byte of kernel memory at `address` (FAKE_VIRTUAL_BASE..+SIZE). */
uint8_t *fake_machine_at(struct fake_machine *m, uint32_t address);
/* The 16 bytes at FAKE_CODE after power-on. */
extern const uint8_t fake_machine_code[DBGKD_MAXSTREAM];

#endif /* BXKD_FAKE_MACHINE_H */
