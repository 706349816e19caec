/*
 * kdvm_stub_tests.c -- a real DbgKd session over the KD transport (group
 * kdvm-stub): the KD stub (guest/kdstub/) reports a stop through kdvm and
 * serves whatever debugger attaches until it continues.
 * tests/integration/check_kdvm.c drives it with bxkd-dbg.
 *
 * The machine the stub debugs is this kernel as it stands: flat memory up
 * to the end of RAM, the registers of the stop in a context the debugger
 * may change. Paging, traps and single steps come with the debuggable
 * kernel; this is the transport's test, not the stub's.
 */
#include "bxkd/dbgkd.h"
#include "cmos.h"
#include "io.h"
#include "kdstub.h"
#include "kdvm_env.h"
#include "kstring.h"
#include "machine.h"

/* bxkd-dbg writes here; free low memory, as for the planted page. */
#define SCRATCH_ADDRESS 0x71000u
#define SCRATCH_TEXT "written by the debugger"
#define KERNEL_CS 0x08u

static struct x86_context stop_context;
static struct x86_special_registers stop_special;

static uint32_t ram_bytes(void)
{
	return cmos_ram_mib() * 1024u * 1024u;
}

/* Flat and unpaged: virtual = physical = linear, up to the end of RAM. */
static uint32_t in_ram(uint64_t address, uint32_t length)
{
	uint64_t end = ram_bytes();

	if (address >= end)
		return 0;
	return length < end - address ? length : (uint32_t)(end - address);
}

static uint32_t read_memory(void *ctx, uint64_t address, void *buf, uint32_t length)
{
	uint32_t n = in_ram(address, length);

	(void)ctx;
	memcpy(buf, (const void *)(uint32_t)address, n);
	return n;
}

static uint32_t write_memory(void *ctx, uint64_t address, const void *buf, uint32_t length)
{
	uint32_t n = in_ram(address, length);

	(void)ctx;
	memcpy((void *)(uint32_t)address, buf, n);
	return n;
}

static void get_context(void *ctx, struct x86_context *c)
{
	(void)ctx;
	*c = stop_context;
}

static void set_context(void *ctx, const struct x86_context *c)
{
	(void)ctx;
	stop_context = *c;
}

static void get_special(void *ctx, struct x86_special_registers *s)
{
	(void)ctx;
	*s = stop_special;
}

static void set_special(void *ctx, const struct x86_special_registers *s)
{
	(void)ctx;
	stop_special = *s;
}

static uint32_t read_io(void *ctx, uint16_t port, unsigned size)
{
	(void)ctx;
	return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

static void write_io(void *ctx, uint16_t port, unsigned size, uint32_t value)
{
	(void)ctx;
	if (size == 1)
		outb(port, (uint8_t)value);
	else if (size == 2)
		outw(port, (uint16_t)value);
	else
		outl(port, value);
}

static void reboot(void *ctx)
{
	(void)ctx;
	machine_shutdown();
}

static uint64_t sign_extended(uint32_t address)
{
	return (uint64_t)(int64_t)(int32_t)address;
}

/* The stop: this function's own registers, more or less. */
static void capture_stop(uint32_t eip)
{
	uint32_t esp, ebp, cr0, cr3;

	__asm__ volatile("mov %%esp, %0\n\tmov %%ebp, %1" : "=r"(esp), "=r"(ebp));
	__asm__ volatile("mov %%cr0, %0\n\tmov %%cr3, %1" : "=r"(cr0), "=r"(cr3));
	memset(&stop_context, 0, sizeof(stop_context));
	stop_context.context_flags = DBGKD_CONTEXT_FULL;
	stop_context.eip = eip;
	stop_context.esp = esp;
	stop_context.ebp = ebp;
	stop_context.eflags = 0x2;
	stop_context.seg_cs = KERNEL_CS;
	stop_context.seg_ds = stop_context.seg_es = stop_context.seg_ss = 0x10;
	memset(&stop_special, 0, sizeof(stop_special));
	stop_special.cr0 = cr0;
	stop_special.cr3 = cr3;
}

GUEST_TEST_IN("kdvm-stub", kdvm_stub_serves_a_debugger_over_the_transport)
{
	static struct kdstub stub;
	struct kd_transport transport;
	struct kdstub_resume resume = { 0 };
	extern char _start[];
	const struct kdstub_config config = {
		.build_number = 2600,
		.major_version = 0x000F,
		.kern_base = sign_extended((uint32_t)_start),
		.ps_loaded_module_list = sign_extended((uint32_t)&kdvm_kernel_page),
		.debugger_data_list = sign_extended((uint32_t)&kdvm_kernel_page),
		.thread = sign_extended((uint32_t)&stub),
		.processor_level = 6,
		.kernel_cs = KERNEL_CS,
	};
	const struct kdstub_machine machine = {
		0,	      read_memory, write_memory, read_memory, write_memory, get_context,
		set_context, get_special, set_special,  read_io,     write_io,	    reboot,
	};

	if (!expect_kdvm_status(t, "kdvm_initialize", kdvm_env_start(), KDVM_STATUS_OK))
		return;
	memset((void *)SCRATCH_ADDRESS, 0, 64);
	kdvm_as_transport(&kdvm_kernel, &transport);
	kdstub_init(&stub, &config, &machine, &transport);
	capture_stop((uint32_t)_start);
	uint32_t calls = kdvm_kernel.stats.backdoor_calls;
	/* The stop waits for a debugger; bxkd-dbg breaks in and continues. */
	kdstub_report_exception(&stub, DBGKD_STATUS_BREAKPOINT, sign_extended(stop_context.eip),
				true, &resume);
	uint32_t session_calls = kdvm_kernel.stats.backdoor_calls - calls;

	if (memcmp((const void *)SCRATCH_ADDRESS, SCRATCH_TEXT, sizeof(SCRATCH_TEXT) - 1)) {
		gt_fail(t, "the debugger's write did not arrive");
		return;
	}
	gt_expect_u32(t, "eax the debugger set", stop_context.eax, 0x1234abcdu);
	kdstub_print(&stub, "bxkd: the debugger continued\n", 29);
	gt_note(t, "%u backdoor calls in the session", session_calls);
}
