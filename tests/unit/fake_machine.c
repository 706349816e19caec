/*
 * fake_machine.c -- the machine the KD stub is tested and fuzzed on (see
 * fake_machine.h).
 */
#include "config.h"

#include "fake_machine.h"

#include <string.h>

#include "fake_contract.h"

const uint8_t fake_machine_code[DBGKD_MAXSTREAM] = {
	0x55, 0x89, 0xe5, 0x83, 0xec, 0x10, 0x8b, 0x45,
	0x08, 0x01, 0xc0, 0x5d, 0xc3, 0xcc, 0x90, 0x90
};

/* How many of `length` bytes from `address` can be reached before the first
 * that cannot. */
static uint32_t reachable(uint64_t address, uint32_t length, bool write)
{
	uint32_t n = 0;

	for (; n < length; n++) {
		uint64_t a = address + n;
		if (a < FAKE_VIRTUAL_BASE || a >= FAKE_VIRTUAL_BASE + FAKE_VIRTUAL_SIZE)
			break;
		if (a >= FAKE_HOLE && a < FAKE_HOLE + FAKE_PAGE)
			break;
		if (write && a >= FAKE_READ_ONLY && a < FAKE_READ_ONLY + FAKE_PAGE)
			break;
	}
	return n;
}

uint8_t *fake_machine_at(struct fake_machine *m, uint32_t address)
{
	return m->memory + (address - FAKE_VIRTUAL_BASE);
}

/* An x86-64 machine has the same memory at FAKE_VIRTUAL_BASE64: the
 * address the x86 checks above see for `address` there, or 0 (nothing)
 * for one outside it. The stub hands an x86 machine x86 addresses, never
 * sign-extended ones. */
static uint64_t machine_address(const struct fake_machine *m, uint64_t address, const char *what)
{
	if (!m->amd64) {
		FAKE_REQUIRE(address < 1ull << 32, "%s at 0x%llx", what,
			     (unsigned long long)address);
		return address;
	}
	if (address < FAKE_VIRTUAL_BASE64 || address - FAKE_VIRTUAL_BASE64 >= FAKE_VIRTUAL_SIZE)
		return 0;
	return address - FAKE_VIRTUAL_BASE64 + FAKE_VIRTUAL_BASE;
}

static uint32_t read_virtual(void *ctx, uint64_t address, void *buf, uint32_t length)
{
	address = machine_address(ctx, address, "read_virtual");
	uint32_t n = reachable(address, length, false);
	if (n)
		memcpy(buf, fake_machine_at(ctx, (uint32_t)address), n);
	return n;
}

static uint32_t write_virtual(void *ctx, uint64_t address, const void *buf, uint32_t length)
{
	address = machine_address(ctx, address, "write_virtual");
	uint32_t n = reachable(address, length, true);
	if (n)
		memcpy(fake_machine_at(ctx, (uint32_t)address), buf, n);
	return n;
}

static uint32_t physical_reachable(uint64_t address, uint32_t length)
{
	if (address < FAKE_PHYSICAL_BASE || address >= FAKE_PHYSICAL_BASE + FAKE_PHYSICAL_SIZE)
		return 0;
	uint64_t room = FAKE_PHYSICAL_BASE + FAKE_PHYSICAL_SIZE - address;
	return length < room ? length : (uint32_t)room;
}

static uint32_t read_physical(void *ctx, uint64_t address, void *buf, uint32_t length)
{
	struct fake_machine *m = ctx;
	uint32_t n = physical_reachable(address, length);
	if (n)
		memcpy(buf, m->physical + (address - FAKE_PHYSICAL_BASE), n);
	return n;
}

static uint32_t write_physical(void *ctx, uint64_t address, const void *buf, uint32_t length)
{
	struct fake_machine *m = ctx;
	uint32_t n = physical_reachable(address, length);
	if (n)
		memcpy(m->physical + (address - FAKE_PHYSICAL_BASE), buf, n);
	return n;
}

/* The registers of the machine's kind: its x86 or its AMD64 set. */
static void *registers(struct fake_machine *m, bool special)
{
	if (m->amd64)
		return special ? (void *)&m->amd64_special : (void *)&m->amd64_context;
	return special ? (void *)&m->special : (void *)&m->context;
}

static size_t registers_size(const struct fake_machine *m, bool special)
{
	if (m->amd64)
		return special ? sizeof(m->amd64_special) : sizeof(m->amd64_context);
	return special ? sizeof(m->special) : sizeof(m->context);
}

static void get_context(void *ctx, union kdstub_context *c)
{
	memcpy(c, registers(ctx, false), registers_size(ctx, false));
}

static void get_special(void *ctx, union kdstub_special_registers *s)
{
	memcpy(s, registers(ctx, true), registers_size(ctx, true));
}

/* Writes are counted: the tests check which requests change registers. */
static void set_context(void *ctx, const union kdstub_context *c)
{
	((struct fake_machine *)ctx)->set_context_calls++;
	memcpy(registers(ctx, false), c, registers_size(ctx, false));
}

static void set_special(void *ctx, const union kdstub_special_registers *s)
{
	((struct fake_machine *)ctx)->set_special_calls++;
	memcpy(registers(ctx, true), s, registers_size(ctx, true));
}

static void log_io(struct fake_machine *m, bool write, uint16_t port, unsigned size,
		   uint32_t value)
{
	FAKE_REQUIRE(size == 1 || size == 2 || size == 4, "an I/O access of %u bytes", size);
	if (m->io_count < FAKE_IO_LOG)
		m->io[m->io_count] = (struct fake_io){ write, port, size, value };
	m->io_count++;
}

static uint32_t read_io(void *ctx, uint16_t port, unsigned size)
{
	log_io(ctx, false, port, size, 0);
	return FAKE_IO_JUNK | port;
}

static void write_io(void *ctx, uint16_t port, unsigned size, uint32_t value)
{
	log_io(ctx, true, port, size, value);
}

static void machine_reboot(void *ctx)
{
	struct fake_machine *m = ctx;
	m->reboots++; /* and comes back, which a real machine would not */
}

static bool read_msr(void *ctx, uint32_t msr, uint64_t *value)
{
	struct fake_machine *m = ctx;

	if (msr == FAKE_MSR_TSC)
		*value = FAKE_TSC;
	else if (msr == FAKE_MSR_WRITABLE)
		*value = m->writable_msr;
	else
		return false;
	return true;
}

static bool write_msr(void *ctx, uint32_t msr, uint64_t value)
{
	struct fake_machine *m = ctx;

	if (msr != FAKE_MSR_WRITABLE)
		return false;
	m->writable_msr = value;
	m->msr_writes++;
	return true;
}

struct kdstub_machine fake_machine_interface(struct fake_machine *m)
{
	return (struct kdstub_machine){
		m,	     read_virtual, write_virtual, read_physical, write_physical, get_context,
		set_context, get_special,  set_special,	  read_io,	 write_io,	 machine_reboot,
		read_msr,    write_msr,
	};
}

void fake_machine_power_on(struct fake_machine *m)
{
	memset(m, 0, sizeof(*m));
	for (uint32_t i = 0; i < FAKE_VIRTUAL_SIZE; i++)
		m->memory[i] = (uint8_t)(i * 13 + 5);
	for (uint32_t i = 0; i < FAKE_PHYSICAL_SIZE; i++)
		m->physical[i] = (uint8_t)(i * 7 + 1);
	memcpy(fake_machine_at(m, FAKE_CODE), fake_machine_code, sizeof(fake_machine_code));
	m->writable_msr = FAKE_MSR_WRITABLE_AT_POWER_ON;

	struct x86_context *c = &m->context;
	c->context_flags = DBGKD_CONTEXT_FULL | DBGKD_CONTEXT_DEBUG_REGISTERS;
	c->dr6 = 0xFFFF0FF0u;
	c->dr7 = 0x400u;
	c->eax = 0x11111111u, c->ebx = 0x22222222u, c->ecx = 0x33333333u;
	c->edx = 0x44444444u, c->esi = 0x55555555u, c->edi = 0x66666666u;
	c->ebp = FAKE_VIRTUAL_BASE + 0x7F00u;
	c->esp = FAKE_VIRTUAL_BASE + 0x7E00u;
	c->eip = FAKE_CODE;
	c->seg_cs = FAKE_KERNEL_CS;
	c->seg_ds = c->seg_es = c->seg_ss = 0x23u;
	c->seg_fs = 0x30u;
	c->seg_gs = 0u;
	c->eflags = 0x246u;
	for (size_t i = 0; i < sizeof(c->extended_registers); i++)
		c->extended_registers[i] = (uint8_t)(i ^ 0x5A);

	struct x86_special_registers *s = &m->special;
	s->cr0 = 0x80010031u;
	s->cr2 = 0x00000BADu;
	s->cr3 = 0x00101000u;
	s->cr4 = 0x00000010u;
	s->kernel_dr6 = 0xFFFF0FF0u;
	s->kernel_dr7 = 0x400u;
	s->gdtr.limit = 0x3FF, s->gdtr.base = FAKE_VIRTUAL_BASE + 0x4000u;
	s->idtr.limit = 0x7FF, s->idtr.base = FAKE_VIRTUAL_BASE + 0x5000u;
	s->tr = 0x28, s->ldtr = 0;
}

void fake_machine_power_on_amd64(struct fake_machine *m)
{
	fake_machine_power_on(m);
	m->amd64 = true;

	struct amd64_context *c = &m->amd64_context;
	c->context_flags = DBGKD_CONTEXT_AMD64_ALL;
	c->dr6 = 0xFFFF0FF0u, c->dr7 = 0x400u;
	c->rax = 0x1111111111111111ull, c->rbx = 0x2222222222222222ull;
	c->rcx = 0x3333333333333333ull, c->rdx = 0x4444444444444444ull;
	c->r8 = 0x8888888888888888ull, c->r15 = 0xF5F5F5F5F5F5F5F5ull;
	c->rsp = FAKE_VIRTUAL_BASE64 + 0x7E00u, c->rip = FAKE_CODE64, c->eflags = 0x246u;
	c->seg_cs = FAKE_KERNEL_CS, c->seg_ds = c->seg_es = c->seg_ss = 0x10u;

	struct amd64_special_registers *s = &m->amd64_special;
	s->cr0 = 0x80050033u, s->cr3 = 0x1AD000u, s->cr4 = 0x6F8u;
	s->kernel_dr6 = 0xFFFF0FF0u, s->kernel_dr7 = 0x400u;
	s->gdtr.limit = 0x7F, s->gdtr.base = FAKE_VIRTUAL_BASE64 + 0x4000u;
	s->idtr.limit = 0xFFF, s->idtr.base = FAKE_VIRTUAL_BASE64 + 0x5000u;
	s->tr = 0x28, s->msr_lstar = 0xFFFFF80000102000ull;
}
