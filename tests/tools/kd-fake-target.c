/*
 * kd-fake-target -- a KD target without Bochs: the real bridge (kdbridge)
 * and the real KD stub (guest/kdstub) serving a small simulated machine.
 * Tests drive bxkd-dbg against it; it is also a way to try a debugger
 * against bxkd's bridge in a second.
 *
 * The machine: 1 MiB of "kernel" memory at 0x80100000 (physical 0x100000)
 * and nothing else mapped. Its CPU executes one byte per step: 0xCC traps
 * as a breakpoint, anything else just advances EIP, around a 64-byte loop
 * at CODE_START; EAX counts the instructions executed. Every LOOPS_PER_PRINT
 * trips round the loop it prints "loop N". Its one MSR is
 * IA32_SYSENTER_ESP (0x175), zero at start, read and written; every other
 * MSR is refused.
 *
 *   kd-fake-target --endpoint SPEC [--initial-break] [--ready-file FILE]
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kdbridge.h"
#include "kdstub.h"

#define MEMORY_BASE 0x80100000u
#define PHYSICAL_BASE 0x00100000u
#define MEMORY_SIZE (1u << 20)
#define CODE_START (MEMORY_BASE + 0x1000u)
#define CODE_SIZE 64u
#define DATA_START (MEMORY_BASE + 0x2000u)
#define LOOPS_PER_PRINT 20000u
#define KERNEL_CS 0x08u
#define KERNEL_DS 0x10u
#define EFLAGS_IF 0x200u
#define MSR_SYSENTER_ESP 0x175u

struct machine {
	uint8_t memory[MEMORY_SIZE];
	struct x86_context context;
	struct x86_special_registers special;
	uint64_t loops;
	uint64_t sysenter_esp;
	bool present;
	struct kdbridge *bridge;
};

static volatile sig_atomic_t stop_requested;
/* Inside the stub's debugger loop, which returns only when a debugger
 * continues: a signal then ends the program at once. */
static volatile sig_atomic_t in_debugger;

static void on_signal(int sig)
{
	(void)sig;
	if (in_debugger)
		_exit(0);
	stop_requested = 1;
}

/* kdstub_report_exception(), which a signal may end. */
static void report_exception(struct kdstub *stub, uint32_t code, uint32_t eip,
			     struct kdstub_resume *resume)
{
	in_debugger = 1;
	kdstub_report_exception(stub, code, eip, true, resume);
	in_debugger = 0;
}

/* ---- the simulated machine ----------------------------------------------------- */

/* How many of `length` bytes at `address` lie in memory that starts at
 * `base`; 0 if `address` is outside it. */
static uint32_t mapped_bytes(uint64_t address, uint32_t length, uint64_t base)
{
	if (address < base || address >= base + MEMORY_SIZE)
		return 0;
	uint64_t room = base + MEMORY_SIZE - address;
	return length < room ? length : (uint32_t)room;
}

static uint32_t copy_out(struct machine *m, uint64_t offset, void *buf, uint32_t n)
{
	if (n)
		memcpy(buf, m->memory + offset, n);
	return n;
}

static uint32_t copy_in(struct machine *m, uint64_t offset, const void *buf, uint32_t n)
{
	if (n)
		memcpy(m->memory + offset, buf, n);
	return n;
}

static uint32_t read_virtual(void *ctx, uint64_t address, void *buf, uint32_t length)
{
	return copy_out(ctx, address - MEMORY_BASE, buf, mapped_bytes(address, length, MEMORY_BASE));
}

static uint32_t write_virtual(void *ctx, uint64_t address, const void *buf, uint32_t length)
{
	return copy_in(ctx, address - MEMORY_BASE, buf, mapped_bytes(address, length, MEMORY_BASE));
}

static uint32_t read_physical(void *ctx, uint64_t address, void *buf, uint32_t length)
{
	return copy_out(ctx, address - PHYSICAL_BASE, buf,
			mapped_bytes(address, length, PHYSICAL_BASE));
}

static uint32_t write_physical(void *ctx, uint64_t address, const void *buf, uint32_t length)
{
	return copy_in(ctx, address - PHYSICAL_BASE, buf,
		       mapped_bytes(address, length, PHYSICAL_BASE));
}

static void get_context(void *ctx, union kdstub_context *c)
{
	c->x86 = ((struct machine *)ctx)->context;
}

static void set_context(void *ctx, const union kdstub_context *c)
{
	((struct machine *)ctx)->context = c->x86;
}

static void get_special(void *ctx, union kdstub_special_registers *s)
{
	s->x86 = ((struct machine *)ctx)->special;
}

static void set_special(void *ctx, const union kdstub_special_registers *s)
{
	((struct machine *)ctx)->special = s->x86;
}

static uint32_t read_io(void *ctx, uint16_t port, unsigned size)
{
	(void)ctx, (void)size;
	return port == 0x64 ? 0x1c : 0xffffffffu; /* a keyboard controller, idle */
}

static void write_io(void *ctx, uint16_t port, unsigned size, uint32_t value)
{
	(void)ctx, (void)port, (void)size, (void)value;
}

static void reboot(void *ctx)
{
	(void)ctx;
	fprintf(stderr, "kd-fake-target: reboot requested; exiting\n");
	exit(0);
}

static bool read_msr(void *ctx, uint32_t msr, uint64_t *value)
{
	if (msr != MSR_SYSENTER_ESP)
		return false;
	*value = ((struct machine *)ctx)->sysenter_esp;
	return true;
}

static bool write_msr(void *ctx, uint32_t msr, uint64_t value)
{
	if (msr != MSR_SYSENTER_ESP)
		return false;
	((struct machine *)ctx)->sysenter_esp = value;
	return true;
}

/* ---- the transport: kdbridge as KdSendPacket / KdReceivePacket --------------------- */

static void send_packet(void *ctx, uint32_t type, const struct kd_string *header,
			const struct kd_string *data, struct kd_context *kd_context)
{
	struct machine *m = ctx;

	(void)kd_context;
	const struct kd_host_port *port = kdbridge_port(m->bridge);
	enum kd_outcome status = port->send(port->ctx, type, header->buffer, header->length,
					    data ? data->buffer : NULL, data ? data->length : 0);
	m->present = status == KD_OK;
}

static enum kd_outcome receive_packet(void *ctx, uint32_t type, struct kd_string *header,
				     struct kd_string *data, uint32_t *data_length,
				     struct kd_context *kd_context)
{
	struct machine *m = ctx;
	size_t length = 0;

	(void)kd_context;
	const struct kd_host_port *port = kdbridge_port(m->bridge);
	if (type == KDCOM_TYPE_POLL_BREAKIN)
		return port->poll_breakin(port->ctx) ? KD_OK : KD_TIMED_OUT;
	enum kd_outcome status = port->receive(port->ctx, type, header->buffer,
					       header->maximum_length, data->buffer,
					       data->maximum_length, &length, 1000);
	if (status == KD_OK) {
		header->length = header->maximum_length;
		data->length = (uint16_t)length;
		*data_length = (uint32_t)length;
		m->present = true;
		return KD_OK;
	}
	return status == KD_NEEDS_RESEND ? KD_NEEDS_RESEND : KD_TIMED_OUT;
}

static bool debugger_present(void *ctx)
{
	return ((struct machine *)ctx)->present;
}

/* ---- running ------------------------------------------------------------------------ */

static void power_on(struct machine *m)
{
	memset(m->memory, 0x90, MEMORY_SIZE);
	memcpy(m->memory + (DATA_START - MEMORY_BASE), "bxkd fake target data block", 28);
	memset(&m->context, 0, sizeof(m->context));
	m->context.context_flags = DBGKD_CONTEXT_FULL;
	m->context.eip = CODE_START;
	m->context.esp = MEMORY_BASE + MEMORY_SIZE - 16;
	m->context.seg_cs = KERNEL_CS;
	m->context.seg_ds = m->context.seg_es = m->context.seg_ss = KERNEL_DS;
	m->context.eflags = EFLAGS_IF | 0x2;
	memset(&m->special, 0, sizeof(m->special));
	m->special.cr0 = 0x80000011u;
	m->special.cr3 = 0x00101000u;
	m->present = true;
}

/* One instruction. Returns true if it trapped (a breakpoint). */
static bool step(struct machine *m)
{
	uint8_t opcode = m->memory[m->context.eip - MEMORY_BASE];

	if (opcode == 0xCC)
		return true; /* EIP stays on the int3, as Windows reports it */
	m->context.eax++;
	m->context.eip++;
	if (m->context.eip == CODE_START + CODE_SIZE)
		m->context.eip = CODE_START, m->loops++;
	return false;
}

/* x86 kernel addresses travel sign-extended to 64 bits. */
static uint64_t sign_extend(uint32_t address)
{
	return (uint64_t)(int64_t)(int32_t)address;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "initial-break", no_argument, NULL, 'b' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct kdbridge_options bo;
	const char *ready_file = NULL;
	bool initial_break = false;
	char error[256];
	int opt;

	kdbridge_options_init(&bo);
	bxkd_set_program("kd-fake-target");
	bo.log = bxkd_stderr_log;
	kdep_parse("unix:/tmp/bxkd-fake-target.sock", &bo.endpoint, error, sizeof(error));
	while ((opt = getopt_long(argc, argv, "e:br:", options, NULL)) != -1) {
		switch (opt) {
		case 'e':
			if (!kdep_parse(optarg, &bo.endpoint, error, sizeof(error))) {
				fprintf(stderr, "kd-fake-target: %s\n", error);
				return 2;
			}
			break;
		case 'b':
			initial_break = true;
			break;
		case 'r':
			ready_file = optarg;
			break;
		default:
			fprintf(stderr, "usage: kd-fake-target --endpoint SPEC [--initial-break] "
					"[--ready-file FILE]\n");
			return 2;
		}
	}

	struct machine *m = calloc(1, sizeof(*m));
	m->bridge = kdbridge_open(&bo, error, sizeof(error));
	if (!m->bridge) {
		fprintf(stderr, "kd-fake-target: %s\n", error);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fprintf(stderr, "kd-fake-target: listening at %s\n",
		kdbridge_address(m->bridge));
	if (ready_file) {
		FILE *f = fopen(ready_file, "w");
		if (f) {
			fprintf(f, "%s\n", kdbridge_address(m->bridge));
			fclose(f);
		}
	}

	power_on(m);
	struct kdstub stub;
	struct kdstub_config config = {
		.build_number = 2600, .major_version = 0x000F, .kern_base = sign_extend(MEMORY_BASE),
		.ps_loaded_module_list = sign_extend(MEMORY_BASE + 0x3000),
		.debugger_data_list = sign_extend(MEMORY_BASE + 0x3100),
		.thread = 0xFFFFFFFF80104000ull, .processor_level = 6, .kernel_cs = KERNEL_CS,
	};
	struct kdstub_machine machine = { m,	      read_virtual, write_virtual, read_physical,
					  write_physical, get_context,  set_context,   get_special,
					  set_special,    read_io,      write_io,      reboot,
					  read_msr,	  write_msr };
	struct kd_transport transport = { m, send_packet, receive_packet, debugger_present };
	struct kdstub_resume resume = { 0 };
	kdstub_init(&stub, &config, &machine, &transport);
	kdstub_load_symbols(&stub, "\\SystemRoot\\system32\\ntoskrnl.exe", sign_extend(MEMORY_BASE),
			    MEMORY_SIZE, 0, false);
	if (initial_break)
		report_exception(&stub, DBGKD_STATUS_BREAKPOINT, m->context.eip, &resume);

	uint64_t executed = 0;
	while (!stop_requested) {
		if (resume.single_step) {
			bool trapped = step(m);
			report_exception(&stub,
					 trapped ? DBGKD_STATUS_BREAKPOINT : DBGKD_STATUS_SINGLE_STEP,
					 m->context.eip, &resume);
			continue;
		}
		if (step(m)) {
			report_exception(&stub, DBGKD_STATUS_BREAKPOINT, m->context.eip, &resume);
			continue;
		}
		executed++;
		if (m->context.eip == CODE_START && m->loops % LOOPS_PER_PRINT == 0) {
			char text[64];
			int n = snprintf(text, sizeof(text), "loop %llu\n",
					 (unsigned long long)m->loops);
			if (kdstub_print(&stub, text, (uint32_t)n))
				report_exception(&stub, DBGKD_STATUS_BREAKPOINT, m->context.eip, &resume);
		}
		/* The clock interrupt's break-in poll, and a rest for the host. */
		if (executed % 4096 == 0) {
			if (kdstub_poll_breakin(&stub))
				report_exception(&stub, DBGKD_STATUS_BREAKPOINT, m->context.eip, &resume);
			sleep_ms(1);
		}
	}
	kdbridge_close(m->bridge);
	free(m);
	return 0;
}
