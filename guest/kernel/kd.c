/*
 * kd.c -- the kernel debugger in the test kernel (see kd.h).
 */
#include "kd.h"

#include <stdarg.h>

#include "boot_options.h"
#include "bxkd/dbgkd.h"
#include "bxkd/kdidentity.h"
#include "console.h"
#include "format.h"
#include "io.h"
#include "backdoor_call.h"
#include "kd_dll.h"
#include "kdser.h"
#include "kdstub.h"
#include "kd_stop.h"
#include "kdvm_transport.h"
#include "kstring.h"
#include "layout.h"
#include "machine.h"
#include "paging.h"
#include "segments.h"
#include "vga_text.h"

#define EFLAGS_IF 0x200u
#define PAGE_SIZE 4096u
#define KD_PROCESSOR_LEVEL 6 /* a P6-class x86, as Bochs models */
#define KERNEL_IMAGE_NAME "bxkd-kernel.elf"

extern char __kernel_start[], __kernel_end[];

static struct kdstub stub;
static struct kd_transport transport;
static bool active;
static struct kd_counts counts;

/* ---- what a debugger reads at attach -------------------------------------------- */

/* LIST_ENTRY64s: DebuggerDataList leads to the KDDEBUGGER_DATA64 block;
 * PsLoadedModuleList is an empty list (no module entries yet). */
static uint64_t debugger_data_list[2];
static uint64_t loaded_module_list[2];
static uint64_t active_process_list[2];
/* As large as the largest release's block: a debugger reads as far as
 * the Size the identity reports, and finds zeros past our fields. */
static union {
	struct dbgkd_debugger_data64 fields;
	uint8_t bytes[KD_DEBUGGER_DATA_SIZE_MAX];
} debugger_block;
/* A ULONG that debuggers read as 8 bytes (rizin does): the rest is zero. */
static uint32_t csd_version[2];
/* What the stop reports as the current thread: a KTHREAD it is not, but a
 * readable address. */
static uint8_t idle_thread[64];

/* x86 addresses travel sign-extended to 64 bits; x86-64 ones are 64 bits. */
static uint64_t address64(const void *p)
{
	return (uint64_t)(int64_t)(intptr_t)p;
}

/* The identity the boot option kd_os=BUILD[.SP] names (default: Windows
 * XP SP3, or 7 SP1 on x86-64); a name outside the list, or on x86-64 one
 * with no x64 edition, stops the boot, as a bad rounds= does. */
static const struct kd_identity *identity_from_boot_options(void)
{
	const char *text;
	size_t length;

	if (!bootopt_get("kd_os", &text, &length))
		return KD_STOP_AMD64 ? KD_IDENTITY_DEFAULT_X64 : KD_IDENTITY_DEFAULT;
	const struct kd_identity *identity = kd_identity_parse(text, length);
	if (!identity)
		machine_fatal("kd_os=%.*s is not an identity of the list (guest/README.md)",
			      (int)length, text);
	if (KD_STOP_AMD64 && !identity->x64)
		machine_fatal("kd_os=%.*s: %s had no x64 edition a debugger has a profile for",
			      (int)length, text, identity->windows);
	return identity;
}

static void fill_debugger_data(const struct kd_identity *identity)
{
	struct dbgkd_debugger_data64 *d = &debugger_block.fields;

	debugger_data_list[0] = debugger_data_list[1] = address64(d);
	d->list_flink = d->list_blink = address64(debugger_data_list);
	loaded_module_list[0] = loaded_module_list[1] = address64(loaded_module_list);
	active_process_list[0] = active_process_list[1] = address64(active_process_list);
	d->owner_tag = DBGKD_DEBUGGER_DATA_TAG;
	d->size = identity->debugger_data_size;
	d->kern_base = address64(__kernel_start);
	d->pae_enabled = 0;
	d->ps_loaded_module_list = address64(loaded_module_list);
	d->ps_active_process_head = address64(active_process_list);
	d->nt_build_lab = address64(identity->build_lab);
	csd_version[0] = kd_identity_csd_version(identity);
	d->cm_nt_csd_version = address64(csd_version);
}

/* ---- the stopped machine ---------------------------------------------------------- */

/* Where byte `at` of an address space lives in RAM, if it does. */
typedef bool (*locate_fn)(uint64_t at, uint32_t *physical);

/* Through the page tables in CR3: unmapped pages and device pages are not
 * RAM the debugger may read. */
static bool locate_virtual(uint64_t at, uint32_t *physical)
{
	return at <= UINTPTR_MAX && paging_translate((uintptr_t)at, physical) &&
	       *physical < paging_ram_bytes();
}

static bool locate_physical(uint64_t at, uint32_t *physical)
{
	*physical = (uint32_t)at;
	return at < paging_ram_bytes();
}

/* Page by page, up to the first byte `locate` finds nowhere: the count is
 * what a debugger sees. */
static uint32_t copy_pages(uint64_t address, void *buf, uint32_t length, bool write,
			   locate_fn locate)
{
	uint8_t *p = buf;
	uint32_t done = 0, physical;

	while (done < length && locate(address + done, &physical)) {
		uint32_t chunk = PAGE_SIZE - (physical & (PAGE_SIZE - 1));
		if (chunk > length - done)
			chunk = length - done;
		if (write)
			memcpy(phys_to_virt(physical), p + done, chunk);
		else
			memcpy(p + done, phys_to_virt(physical), chunk);
		done += chunk;
	}
	return done;
}

/* The stub's memory functions, a read and a write for each address
 * space, page by page through its locate function. */
#define MEMORY_FUNCTIONS(space, locate)                                                        \
	static uint32_t read_##space(void *ctx, uint64_t address, void *buf, uint32_t length)   \
	{                                                                                      \
		(void)ctx;                                                                     \
		return copy_pages(address, buf, length, false, locate);                        \
	}                                                                                      \
	static uint32_t write_##space(void *ctx, uint64_t address, const void *buf,            \
				      uint32_t length)                                         \
	{                                                                                      \
		(void)ctx;                                                                     \
		return copy_pages(address, (void *)buf, length, true, locate);                 \
	}

MEMORY_FUNCTIONS(virtual, locate_virtual)
MEMORY_FUNCTIONS(physical, locate_physical)

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

/* HalReturnToFirmware: the keyboard controller's reset line. */
static void reboot(void *ctx)
{
	(void)ctx;
	kprintf("kd: the debugger asked for a reboot\n");
	outb(0x64, 0xfe);
	halt_forever();
}

/*
 * The MSRs a debugger may read (ReadMsr) and write (WriteMsr). Only
 * registers the CPU has (Bochs 2.7's default model; with long mode for the
 * x86-64 kernel), so that rdmsr and wrmsr here never fault (a #GP inside
 * the debugger would end the kernel), and none this kernel depends on, so
 * that a write cannot take the ground from under it:
 *
 * - the time-stamp counter (0x10), read only: the serial transport times
 *   its waits by it, the shared-page transport seeds its nonce from it, and
 *   a debugger times the guest by it (Bochs counts it in instructions;
 *   `bxkd bench` reads it). Written, it would jump under time-outs that are
 *   running, and a recorded session would hold a clock the kernel never
 *   counted itself.
 * - IA32_SYSENTER_CS/ESP/EIP (0x174-0x176): the kernel enters ring 0 by
 *   interrupt gates only, never by SYSENTER.
 * - x86-64: STAR, LSTAR, CSTAR and SFMASK (0xC0000081-84; EFER.SCE stays
 *   clear, no SYSCALL), and KERNEL_GS_BASE (0xC0000102; no SWAPGS).
 *
 * Left out on purpose: APIC_BASE (the 32-bit kernel finds its local APIC
 * timer through it; moved or disabled, the APIC is gone from where the
 * kernel maps it), EFER (long mode, NX), FS/GS base, PAT and the MTRRs
 * (how all memory is cached), and anything else.
 *
 * A value the CPU would fault on, or keep only part of, is refused too:
 * on x86-64 the address registers take canonical addresses only (wrmsr of
 * any other is a #GP: a debugger's typo would end the kernel); on the
 * 32-bit kernel they take 32 bits, the addresses it has; SYSENTER_CS and
 * SFMASK take 32 bits (Bochs keeps no more, and would cut the rest off
 * without a word).
 */
enum msr_values {
	MSR_READ_ONLY,
	MSR_32_BITS,
	MSR_ADDRESS, /* canonical on x86-64, 32 bits on x86 */
	MSR_ANY,
};

struct debugger_msr {
	uint32_t msr;
	enum msr_values values;
	bool long_mode_only;
};

static const struct debugger_msr debugger_msrs[] = {
	{ 0x10, MSR_READ_ONLY, false },	       /* IA32_TIME_STAMP_COUNTER */
	{ 0x174, MSR_32_BITS, false },	       /* IA32_SYSENTER_CS */
	{ 0x175, MSR_ADDRESS, false },	       /* IA32_SYSENTER_ESP */
	{ 0x176, MSR_ADDRESS, false },	       /* IA32_SYSENTER_EIP */
	{ 0xC0000081u, MSR_ANY, true },	       /* STAR */
	{ 0xC0000082u, MSR_ADDRESS, true },    /* LSTAR */
	{ 0xC0000083u, MSR_ADDRESS, true },    /* CSTAR */
	{ 0xC0000084u, MSR_32_BITS, true },    /* SFMASK */
	{ 0xC0000102u, MSR_ADDRESS, true },    /* KERNEL_GS_BASE */
};

static const struct debugger_msr *debugger_msr(uint32_t msr)
{
	for (size_t i = 0; i < sizeof(debugger_msrs) / sizeof(debugger_msrs[0]); i++) {
		const struct debugger_msr *d = &debugger_msrs[i];
		if (d->msr == msr && (KD_STOP_AMD64 || !d->long_mode_only))
			return d;
	}
	return 0;
}

static bool msr_takes(const struct debugger_msr *d, uint64_t value)
{
	switch (d->values) {
	case MSR_32_BITS:
		return value <= UINT32_MAX;
	case MSR_ADDRESS:
		return KD_STOP_AMD64 ? paging_canonical(value) : value <= UINT32_MAX;
	case MSR_ANY:
		return true;
	default:
		return false;
	}
}

static bool read_msr(void *ctx, uint32_t msr, uint64_t *value)
{
	(void)ctx;
	if (!debugger_msr(msr))
		return false;
	*value = rdmsr(msr);
	return true;
}

static bool write_msr(void *ctx, uint32_t msr, uint64_t value)
{
	const struct debugger_msr *d = debugger_msr(msr);

	(void)ctx;
	if (!d || !msr_takes(d, value))
		return false;
	wrmsr(msr, value);
	return true;
}

static const struct kdstub_machine machine = {
	0,
	read_virtual,
	write_virtual,
	read_physical,
	write_physical,
	kd_stop_get_context,
	kd_stop_set_context,
	kd_stop_get_special,
	kd_stop_set_special,
	read_io,
	write_io,
	reboot,
	read_msr,
	write_msr,
};

/* ---- stops -------------------------------------------------------------------------- */

static void stop_in_stub(uint32_t code, struct trap_frame *frame, uintptr_t pc)
{
	struct kdstub_resume resume = { 0 };

	counts.stops++;
	kd_stop_capture(frame, pc);
	kdstub_report_exception(&stub, code, address64((void *)pc), true, &resume);
	/* A break-in that came while the kernel was stopped (a debugger
	 * attaching sends one) asked for what the debugger already had. */
	(void)kdstub_poll_breakin(&stub);
	kd_stop_apply(frame, &resume);
}

/* INT 3 leaves EIP past itself; the stop is reported at the INT 3, as
 * Windows does. Going on from a breakpoint of the debugger's means running
 * the instruction it covered, so EIP stays there (the debugger lifts the
 * breakpoint first); a breakpoint compiled into the kernel (kd_break) is
 * stepped over unless the debugger moved EIP itself. */
static void on_breakpoint(struct trap_frame *frame)
{
	uintptr_t at = trap_pc(frame) - 1;
	uint8_t covered;
	bool debuggers = kdstub_breakpoint_at(&stub, at, &covered);

	counts.breakpoints++;
	stop_in_stub(DBGKD_STATUS_BREAKPOINT, frame, at);
	if (!debuggers && trap_pc(frame) == at)
		trap_set_pc(frame, at + 1);
}

static void on_single_step(struct trap_frame *frame)
{
	counts.single_steps++;
	stop_in_stub(DBGKD_STATUS_SINGLE_STEP, frame, trap_pc(frame));
}

void kd_poll_breakin(struct trap_frame *frame)
{
	if (!active || !kdstub_poll_breakin(&stub))
		return;
	counts.breakins++;
	stop_in_stub(DBGKD_STATUS_BREAKPOINT, frame, trap_pc(frame));
}

void kd_break(void)
{
	if (active)
		__asm__ volatile("int3");
}

/* ---- transports ------------------------------------------------------------------------ */

static struct kdvm vm;
static struct kdvm_page vm_page __attribute__((aligned(KDVM_PAGE_SIZE)));

static void vm_backdoor(void *ctx, struct kdvm_regs *r)
{
	(void)ctx;
	__asm__ volatile("inl %%dx, %%eax"
			 : "+a"(r->eax), "+b"(r->ebx), "+c"(r->ecx), "+d"(r->edx), "+S"(r->esi),
			   "+D"(r->edi)
			 :
			 : "memory");
}

static uint64_t vm_physical(void *ctx, const void *address)
{
	(void)ctx;
	return virt_to_phys(address);
}

static bool start_vmport(void)
{
	static const struct kdvm_platform platform = { 0, vm_backdoor, vm_physical };
	uint32_t status = kdvm_initialize(&vm, &platform, &vm_page, (uint32_t)rdtsc() ^ 0x6b64u, 0);

	if (status != KDVM_STATUS_OK) {
		kprintf("kd: the shared-page transport is not there (status 0x%x); no debugger\n",
			status);
		return false;
	}
	kdvm_as_transport(&vm, &transport);
	return true;
}

static struct kdser ser;

static uint8_t ser_inb(void *ctx, uint16_t port)
{
	(void)ctx;
	return inb(port);
}

static void ser_outb(void *ctx, uint16_t port, uint8_t value)
{
	(void)ctx;
	outb(port, value);
}

static uint64_t ser_clock(void *ctx)
{
	(void)ctx;
	return rdtsc();
}

/* The TSC's rate: the backdoor says it when there is one (under Bochs the
 * TSC counts instructions, at the configured ips); else 10 ms of the PIT's
 * channel 2, gated through port 0x61, measure it. */
static uint64_t tsc_hz(void)
{
	enum { PIT_HZ = 1193182, GATE_PORT = 0x61, GATE = 0x01, SPEAKER = 0x02, OUT2 = 0x20 };
	uint64_t hz;
	uint32_t apic_hz;

	if (bd_gethz(&hz, &apic_hz) && hz)
		return hz;
	uint16_t count = PIT_HZ / 100;
	outb(GATE_PORT, (uint8_t)((inb(GATE_PORT) & ~SPEAKER) & ~GATE));
	outb(0x43, 0xb0); /* channel 2, low then high byte, mode 0 */
	outb(0x42, (uint8_t)count);
	outb(0x42, (uint8_t)(count >> 8));
	uint64_t start = rdtsc();
	outb(GATE_PORT, (uint8_t)(inb(GATE_PORT) | GATE));
	while (!(inb(GATE_PORT) & OUT2))
		;
	return (rdtsc() - start) * 100;
}

static bool start_serial(void)
{
	static const struct kdser_platform platform = { 0, ser_inb, ser_outb, ser_clock };
	struct kdser_config config;

	kdser_config_init(&config, tsc_hz());
	enum kdser_init_status status = kdser_initialize(&ser, &platform, &config);
	if (status != KDSER_INIT_OK) {
		kprintf("kd: no 16550 at COM1 (status %u); no debugger\n", status);
		return false;
	}
	kdser_as_transport(&ser, &transport);
	return true;
}

/* ---- the screen's status line ------------------------------------------------------- */

/* The transport itself; `transport`, which the stub calls, counts in
 * between and keeps row 0 of the screen up to date. */
static struct kd_transport counted;
static const char *transport_label = "none";
static struct {
	uint32_t sent, received, resets;
	bool attached;
} traffic;

/* Row 0 as drawn, and the columns of its two packet counts' digits
 * [first, end). A packet moves its count's digits like an odometer, a
 * store or two on the screen, where drawing the whole row costs the guest
 * some 3 000 instructions: twice per request, that tripled the shared
 * page's instructions per request that `bxkd bench` measures. */
static char status_row[VGA_TEXT_COLUMNS + 1];
static struct status_digits {
	unsigned first, end;
} sent_digits, received_digits;

/* Appends to status_row at *length, which counts what would have been
 * written (as format does) so columns past the row stay recognisable. */
static void __attribute__((format(printf, 2, 3))) append_status(unsigned *length, const char *fmt, ...)
{
	va_list ap;
	unsigned at = *length < VGA_TEXT_COLUMNS ? *length : VGA_TEXT_COLUMNS;

	va_start(ap, fmt);
	*length += (unsigned)format_v(status_row + at, sizeof(status_row) - at, fmt, ap);
	va_end(ap);
}

/* Row 0: what the kernel knows. The endpoint is the host's business. */
static void show_status(void)
{
	unsigned length = 0;

	append_status(&length, " bxkd  kd=%s  debugger %s  packets sent ", transport_label,
		      traffic.attached ? "attached" : "not attached");
	sent_digits.first = length;
	append_status(&length, "%u", traffic.sent);
	sent_digits.end = length;
	append_status(&length, " received ");
	received_digits.first = length;
	append_status(&length, "%u", traffic.received);
	received_digits.end = length;
	append_status(&length, "  resets %u", traffic.resets);
	vga_text_status(status_row);
}

/* One more packet in a count the row shows; a count that gains a digit
 * moves what follows it, so the row is drawn again. */
static void count_up(const struct status_digits *digits)
{
	unsigned column = digits->end;

	if (digits->end > VGA_TEXT_COLUMNS) {
		show_status();
		return;
	}
	while (column > digits->first) {
		column--;
		if (status_row[column] != '9') {
			status_row[column]++;
			vga_text_status_cells(column, status_row + column, digits->end - column);
			return;
		}
		status_row[column] = '0';
	}
	show_status();
}

static bool attachment_changed(void)
{
	bool attached = counted.debugger_present(counted.ctx);
	bool changed = attached != traffic.attached;

	traffic.attached = attached;
	return changed;
}

static void send_counted(void *ctx, uint32_t packet_type, const struct kd_string *header,
			 const struct kd_string *data, struct kd_context *kd_context)
{
	(void)ctx;
	counted.send_packet(counted.ctx, packet_type, header, data, kd_context);
	traffic.sent++;
	if (attachment_changed())
		show_status();
	else
		count_up(&sent_digits);
}

/* The clock's break-in polls (100 a second) redraw nothing unless the
 * debugger came or went; a RESET from the debugger is NeedsResend. */
static enum kd_outcome receive_counted(void *ctx, uint32_t packet_type, struct kd_string *header,
				       struct kd_string *data, uint32_t *data_length,
				       struct kd_context *kd_context)
{
	(void)ctx;
	enum kd_outcome outcome = counted.receive_packet(counted.ctx, packet_type, header, data,
							 data_length, kd_context);
	bool redraw = attachment_changed();

	if (packet_type != KDCOM_TYPE_POLL_BREAKIN && outcome == KD_OK) {
		traffic.received++;
		if (!redraw)
			count_up(&received_digits);
	} else if (outcome == KD_NEEDS_RESEND) {
		traffic.resets++;
		redraw = true;
	}
	if (redraw)
		show_status();
	return outcome;
}

static bool debugger_present_counted(void *ctx)
{
	(void)ctx;
	return counted.debugger_present(counted.ctx);
}

static void count_transport(void)
{
	counted = transport;
	transport.ctx = NULL;
	transport.send_packet = send_counted;
	transport.receive_packet = receive_counted;
	transport.debugger_present = debugger_present_counted;
	attachment_changed();
	show_status();
}

void kd_report_traffic(void)
{
	kprintf("kd: packets sent %u received %u resets %u\n", traffic.sent, traffic.received,
		traffic.resets);
}

enum kd_transport_kind kd_transport_from_boot_options(void)
{
	if (bootopt_is("kd", "vmport"))
		return KD_TRANSPORT_VMPORT;
	if (bootopt_is("kd", "serial"))
		return KD_TRANSPORT_SERIAL;
	if (bootopt_is("kd", "dll"))
		return KD_TRANSPORT_DLL;
	return KD_TRANSPORT_NONE;
}

bool kd_init(enum kd_transport_kind kind)
{
	const struct kd_identity *identity = identity_from_boot_options();
	const struct kdstub_config config = {
		.amd64 = KD_STOP_AMD64,
		.build_number = identity->build,
		.major_version = 0x000F,
		.kern_base = address64(__kernel_start),
		.ps_loaded_module_list = address64(loaded_module_list),
		.debugger_data_list = address64(debugger_data_list),
		.thread = address64(idle_thread),
		.processor_level = KD_PROCESSOR_LEVEL,
		.kernel_cs = GDT_KERNEL_CODE,
	};
	static const char *const labels[] = { "none", "vmport", "serial", "dll" };
	bool up = false;

	transport_label = labels[kind];
	switch (kind) {
	case KD_TRANSPORT_VMPORT:
		up = start_vmport();
		break;
	case KD_TRANSPORT_SERIAL:
		up = start_serial();
		break;
	case KD_TRANSPORT_DLL:
		up = kd_dll_start(&transport);
		break;
	case KD_TRANSPORT_NONE:
		break;
	}
	if (!up) {
		char line[VGA_TEXT_COLUMNS + 1];
		format(line, sizeof(line), " bxkd  kd=%s: no transport, no kernel debugger",
		       transport_label);
		vga_text_status(line);
		return false;
	}
	count_transport();
	fill_debugger_data(identity);
	kdstub_init(&stub, &config, &machine, &transport);
	trap_set_handler(1, on_single_step);
	trap_set_handler(3, on_breakpoint);
	active = true;
	/* The symbol load reports a context; the boot's own will do. */
	struct trap_frame here = { .cs = GDT_KERNEL_CODE };
	trap_set_pc(&here, (uintptr_t)kd_init);
	kd_stop_capture(&here, trap_pc(&here));
	kdstub_load_symbols(&stub, KERNEL_IMAGE_NAME, address64(__kernel_start),
			    (uint32_t)(__kernel_end - __kernel_start), 0, false);
	kprintf("kd: kernel debugger on the %s transport, as %s (build %u, CSD 0x%04x)\n",
		kind == KD_TRANSPORT_VMPORT ? "shared-page"
		: kind == KD_TRANSPORT_DLL  ? "KD DLL's shared-page"
					    : "serial",
		identity->windows, identity->build, kd_identity_csd_version(identity));
	return true;
}

bool kd_active(void)
{
	return active;
}

void kd_print(const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	int n = format_v(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	uint32_t length = (uint32_t)n < sizeof(text) ? (uint32_t)n : sizeof(text) - 1;
	kprintf("DbgPrint: %s", text);
	if (!active)
		return;
	/* The clock interrupt polls the same transport: not while a print is
	 * half-way through it (kd64 disables interrupts to print, too). */
	unsigned long eflags; /* the flags register's width */
	__asm__ volatile("pushf\n\tpop %0\n\tcli" : "=r"(eflags) : : "memory");
	bool break_in = kdstub_print(&stub, text, length);
	if (eflags & EFLAGS_IF)
		__asm__ volatile("sti" ::: "memory");
	/* A break-in noticed while printing stops the kernel here, through
	 * DbgBreakPoint, as KdpPrint does. */
	if (break_in) {
		counts.breakins++;
		kd_break();
	}
}

const struct kd_counts *kd_counts(void)
{
	return &counts;
}
