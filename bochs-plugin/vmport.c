/*
 * vmport.c -- backdoor call entry and command dispatch.
 *
 * Register conventions and the behaviour on bad input follow VMware as
 * documented in shared/docs/vmware-backdoor.md (sections 1.2 to 1.5); where
 * QEMU's vmport differs, bochs-plugin/README.md records the difference.
 */
#include "config.h"

#include "vmport.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/backdoor.h"

/* One backdoor call: the guest's registers, updated in place by the command. */
struct vmport_call {
	uint32_t reg[VMPORT_REG_COUNT];
	unsigned cpl;
	enum vmport_dir dir;
	const struct vmport_vcpu *vcpu;
};

typedef void (*vmport_handler_fn)(struct vmport *vp, struct vmport_call *call);

struct vmport_command {
	const char *name;
	bool cpl0_only;
	vmport_handler_fn run;
};

struct vmport {
	struct vmport_config config;
	vmport_log_fn log;
	void *log_ctx;
	struct vmport_stats stats;
	/* One bit per command number: unknown commands are reported once each,
	 * so a guest probing in a loop cannot flood the log. */
	uint8_t unknown_reported[(UINT16_MAX + 1) / 8];
};

static void vmport_log(struct vmport *vp, enum vmport_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void vmport_log(struct vmport *vp, enum vmport_log_level level, const char *fmt, ...)
{
	char message[256];
	va_list ap;

	if (!vp->log)
		return;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	vp->log(vp->log_ctx, level, message);
}

static void cmd_getversion(struct vmport *vp, struct vmport_call *call)
{
	call->reg[VMPORT_REG_EAX] = BDOOR_VERSION_MAGIC;
	call->reg[VMPORT_REG_EBX] = BDOOR_MAGIC;
	call->reg[VMPORT_REG_ECX] = vp->config.vmx_type;
}

/* Indexed by command number; a hole is an unknown command. */
static const struct vmport_command commands[] = {
	[BDOOR_CMD_GETVERSION] = { "GETVERSION", false, cmd_getversion },
};

static const struct vmport_command *find_command(uint16_t number)
{
	if (number >= sizeof(commands) / sizeof(commands[0]) || !commands[number].run)
		return NULL;
	return &commands[number];
}

/*
 * A command the device does not implement, or refuses at this CPL, faults
 * nothing and leaves every register but EAX alone (kvm-unit-tests checks
 * EBX). EAX reads back as "no answer" like an empty port.
 */
static void answer_nothing(struct vmport_call *call)
{
	call->reg[VMPORT_REG_EAX] = BDOOR_NO_ANSWER;
}

static void dispatch(struct vmport *vp, struct vmport_call *call)
{
	uint16_t number = BDOOR_CMD(call->reg[VMPORT_REG_ECX]);
	const struct vmport_command *command = find_command(number);

	if (!command) {
		vp->stats.unknown_commands++;
		uint8_t bit = (uint8_t)(1u << (number % 8));
		if (!(vp->unknown_reported[number / 8] & bit)) {
			vp->unknown_reported[number / 8] |= bit;
			vmport_log(vp, VMPORT_LOG_INFO,
				   "guest used unknown backdoor command %u (ECX=0x%08x) at tick "
				   "%" PRIu64 "; answered as VMware does, reported once",
				   number, call->reg[VMPORT_REG_ECX],
				   call->vcpu->ticks(call->vcpu->ctx));
		}
		answer_nothing(call);
		return;
	}
	if (command->cpl0_only && call->cpl != 0) {
		vp->stats.refused_commands++;
		answer_nothing(call);
		return;
	}
	command->run(vp, call);
}

uint32_t vmport_io(struct vmport *vp, const struct vmport_vcpu *vcpu, uint16_t port,
		   enum vmport_dir dir)
{
	struct vmport_call call = { .dir = dir, .vcpu = vcpu };
	uint32_t before[VMPORT_REG_COUNT];

	call.reg[VMPORT_REG_EAX] = vcpu->get_reg(vcpu->ctx, VMPORT_REG_EAX);
	if (port != BDOOR_PORT || call.reg[VMPORT_REG_EAX] != BDOOR_MAGIC) {
		vp->stats.bad_magic++;
		return BDOOR_NO_ANSWER;
	}
	vp->stats.calls++;
	for (int r = VMPORT_REG_ECX; r < VMPORT_REG_COUNT; r++) {
		if (r != VMPORT_REG_ESP)
			call.reg[r] = vcpu->get_reg(vcpu->ctx, (enum vmport_reg)r);
	}
	call.cpl = vcpu->cpl(vcpu->ctx);
	memcpy(before, call.reg, sizeof(before));

	dispatch(vp, &call);

	/* EAX travels as the IN result; an OUT never changes it. */
	for (int r = VMPORT_REG_ECX; r < VMPORT_REG_COUNT; r++) {
		if (r != VMPORT_REG_ESP && call.reg[r] != before[r])
			vcpu->set_reg(vcpu->ctx, (enum vmport_reg)r, call.reg[r]);
	}
	return call.reg[VMPORT_REG_EAX];
}

void vmport_config_init(struct vmport_config *config)
{
	memset(config, 0, sizeof(*config));
	config->vmx_type = BDOOR_VMX_TYPE_WORKSTATION;
}

struct vmport *vmport_create(const struct vmport_config *config, vmport_log_fn log, void *log_ctx)
{
	struct vmport *vp = calloc(1, sizeof(*vp));

	if (!vp)
		return NULL;
	vp->config = *config;
	vp->log = log;
	vp->log_ctx = log_ctx;
	return vp;
}

void vmport_destroy(struct vmport *vp)
{
	free(vp);
}

const struct vmport_stats *vmport_get_stats(const struct vmport *vp)
{
	return &vp->stats;
}
