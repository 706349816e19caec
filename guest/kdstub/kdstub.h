/*
 * kdstub.h -- the target half of the Windows kernel debugger protocol: it
 * reports stops, prints and module loads, and answers a debugger's DbgKd
 * requests, as the Windows kernel's kd64 does (ReactOS ntoskrnl/kd64 is the
 * model; docs/kd-protocol.md sections 2.4 and 3).
 *
 * Portable freestanding C. It reaches the machine it debugs only through
 * struct kdstub_machine and the debugger only through a KD transport
 * (bxkd/kdtransport.h), so the same stub runs in the test guest on either
 * transport and in host tests against a simulated machine.
 */
#ifndef BXKD_KDSTUB_H
#define BXKD_KDSTUB_H

#include <stdbool.h>
#include <stdint.h>

#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "bxkd/kdtransport.h"

#define KDSTUB_BREAKPOINTS 32 /* KD_BREAKPOINT_MAX */
/* Data that fits in one reply after its 56-byte header. */
#define KDSTUB_REPLY_DATA_MAX (KDCOM_MAX_PAYLOAD - sizeof(struct dbgkd_manipulate_state64))

/* The registers of a stopped CPU, of the target's machine (config.amd64). */
union kdstub_context {
	struct x86_context x86;
	struct amd64_context amd64;
};

union kdstub_special_registers {
	struct x86_special_registers x86;
	struct amd64_special_registers amd64;
};

/* What the stub needs from the (stopped) machine. */
struct kdstub_machine {
	void *ctx;
	/* Copy through the current page tables; return how many bytes were
	 * copied before the first unmapped (or unwritable) byte. */
	uint32_t (*read_virtual)(void *ctx, uint64_t address, void *buf, uint32_t length);
	uint32_t (*write_virtual)(void *ctx, uint64_t address, const void *buf, uint32_t length);
	uint32_t (*read_physical)(void *ctx, uint64_t address, void *buf, uint32_t length);
	uint32_t (*write_physical)(void *ctx, uint64_t address, const void *buf, uint32_t length);
	/* The registers of the stopped CPU, and writing them back. */
	void (*get_context)(void *ctx, union kdstub_context *context);
	void (*set_context)(void *ctx, const union kdstub_context *context);
	void (*get_special)(void *ctx, union kdstub_special_registers *special);
	void (*set_special)(void *ctx, const union kdstub_special_registers *special);
	/* I/O ports; size is 1, 2 or 4. */
	uint32_t (*read_io)(void *ctx, uint16_t port, unsigned size);
	void (*write_io)(void *ctx, uint16_t port, unsigned size, uint32_t value);
	/* Does not return on a real machine. */
	void (*reboot)(void *ctx);
	/* Model-specific registers, as far as the machine lets a debugger at
	 * them: false for one it refuses, which kd64 answers with the status
	 * of the CPU's #GP there (STATUS_NO_SUCH_DEVICE). NULL: the machine
	 * has no MSRs for a debugger (STATUS_UNSUCCESSFUL, as kd64 answers on
	 * a processor architecture without them). */
	bool (*read_msr)(void *ctx, uint32_t msr, uint64_t *value);
	bool (*write_msr)(void *ctx, uint32_t msr, uint64_t value);
};

struct kdstub_config {
	/* An x86-64 target: machine AMD64, its CONTEXT and KSPECIAL_REGISTERS,
	 * 64-bit pointers as they are; else x86, whose pointers travel
	 * sign-extended. */
	bool amd64;
	uint16_t build_number;     /* GetVersion MinorVersion: debuggers pick profiles by it */
	uint16_t major_version;    /* 0x000F: a free build of NT */
	uint64_t kern_base;
	uint64_t ps_loaded_module_list;
	uint64_t debugger_data_list; /* KdDebuggerDataBlock's list head */
	uint64_t thread;	     /* reported as the current KTHREAD */
	uint16_t processor_level;
	uint16_t kernel_cs;	     /* a report says STANDARD_CS when CS is this */
};

/* How to resume after a stop. */
struct kdstub_resume {
	uint32_t continue_status; /* DBG_CONTINUE and friends */
	bool single_step;	  /* set EFLAGS.TF: Continue2's TraceFlag */
	bool dr7_set;
	uint32_t dr7;
};

struct kdstub_breakpoint {
	bool used;
	uint64_t address;
	uint8_t original;
};

struct kdstub {
	struct kdstub_config config;
	struct kdstub_machine machine;
	struct kd_transport transport;
	struct kd_context kd_context;
	struct kdstub_breakpoint breakpoints[KDSTUB_BREAKPOINTS];
	bool context_sent; /* SetContext only after a GetContext, as kd64 */
	uint8_t message[4096];	     /* KdpMessageBuffer */
	uint8_t reply[KDSTUB_REPLY_DATA_MAX];	     /* manipulate reply data */
	/* KdpPathBuffer: a LoadSymbols path and its NUL, as much as one packet
	 * holds after the 240-byte state change. */
	uint8_t path[KDCOM_MAX_PAYLOAD - sizeof(struct dbgkd_any_wait_state_change)];
};

void kdstub_init(struct kdstub *s, const struct kdstub_config *config,
		 const struct kdstub_machine *machine, const struct kd_transport *transport);

/* An exception the debugger should see (breakpoint, single step, break-in):
 * reports the stop and serves requests until the debugger continues. */
void kdstub_report_exception(struct kdstub *s, uint32_t code, uint64_t address,
			     bool first_chance, struct kdstub_resume *resume);

/* DbgPrint. Returns true if the debugger asked to break in meanwhile. */
bool kdstub_print(struct kdstub *s, const char *text, uint32_t length);

/* A module load (unload = false) or unload, as KdpSymbol reports it. */
void kdstub_load_symbols(struct kdstub *s, const char *path, uint64_t base, uint32_t size,
			 uint32_t checksum, bool unload);

/* KdPollBreakIn: never waits. */
bool kdstub_poll_breakin(struct kdstub *s);

/* The original byte under a breakpoint at `address`, if there is one. */
bool kdstub_breakpoint_at(const struct kdstub *s, uint64_t address, uint8_t *original);

#endif /* BXKD_KDSTUB_H */
