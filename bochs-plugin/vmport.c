/*
 * vmport.c -- backdoor call entry and the low-bandwidth command table.
 *
 * Register conventions and the behaviour on bad input follow VMware as
 * documented in docs/vmware-backdoor.md (sections 1.2 to 1.8); where
 * QEMU's vmport differs, bochs-plugin/README.md records the difference.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/names.h"
#include "vmport_internal.h"

typedef void (*vmport_handler_fn)(struct vmport *vp, struct vmport_call *call);


void vmport_log(struct vmport *vp, enum bxkd_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bxkd_vlogf(&vp->log, level, fmt, ap);
	va_end(ap);
}

/* ---- the emulated clock ------------------------------------------------ */

struct guest_time {
	uint64_t seconds; /* since 1970 */
	uint32_t usec;
};

/* Wall-clock time of the guest: the clock's start plus instructions
 * executed at the configured rate, so two runs read the same times. */
static struct guest_time guest_time(const struct vmport *vp, const struct vmport_call *call)
{
	uint64_t ticks = call->vcpu->ticks(call->vcpu->ctx);
	uint64_t ips = vp->config.ips ? vp->config.ips : 1;
	struct guest_time t = {
		.seconds = vp->config.epoch_seconds + ticks / ips,
		.usec = (uint32_t)(ticks % ips * 1000000u / ips),
	};
	return t;
}

/* ---- commands ---------------------------------------------------------- */

static void cmd_getmhz(struct vmport *vp, struct vmport_call *call)
{
	call->reg[GUEST_REG_EAX] = (uint32_t)((vp->config.ips + 500000u) / 1000000u);
}

static void cmd_getversion(struct vmport *vp, struct vmport_call *call)
{
	call->reg[GUEST_REG_EAX] = BDOOR_VERSION_MAGIC;
	call->reg[GUEST_REG_EBX] = BDOOR_MAGIC;
	call->reg[GUEST_REG_ECX] = vp->config.vmx_type;
}

static void cmd_getscreensize(struct vmport *vp, struct vmport_call *call)
{
	call->reg[GUEST_REG_EAX] =
		(uint32_t)vp->config.screen_width << 16 | vp->config.screen_height;
}

static void cmd_gethwversion(struct vmport *vp, struct vmport_call *call)
{
	call->reg[GUEST_REG_EAX] = vp->config.hw_version;
}

/* A firmware tells the VMX it found nothing to boot. Nothing to answer; the
 * report is worth a line in the log, a few times at most. */
static void cmd_os_not_found(struct vmport *vp, struct vmport_call *call)
{
	enum { REPORT_LIMIT = 10 };

	if (vp->os_not_found_reported < REPORT_LIMIT) {
		vp->os_not_found_reported++;
		vmport_log(vp, BXKD_LOG_INFO,
			   "guest reports that it found no operating system (OS_NOT_FOUND) at tick "
			   "%" PRIu64 "%s",
			   call->vcpu->ticks(call->vcpu->ctx),
			   vp->os_not_found_reported == REPORT_LIMIT ? "; not reported again" : "");
	}
}

/* The UUID as four little-endian dwords of its bytes in text order. */
static void cmd_getuuid(struct vmport *vp, struct vmport_call *call)
{
	static const enum guest_reg out[4] = { GUEST_REG_EAX, GUEST_REG_EBX, GUEST_REG_ECX,
						GUEST_REG_EDX };
	const uint8_t *u = vp->config.uuid;

	for (int i = 0; i < 4; i++)
		call->reg[out[i]] = (uint32_t)u[4 * i] | (uint32_t)u[4 * i + 1] << 8 |
				    (uint32_t)u[4 * i + 2] << 16 | (uint32_t)u[4 * i + 3] << 24;
}

static void cmd_getmemsize(struct vmport *vp, struct vmport_call *call)
{
	call->reg[GUEST_REG_EAX] = (uint32_t)(vp->config.ram_bytes >> 20);
}

static void cmd_gettime(struct vmport *vp, struct vmport_call *call)
{
	struct guest_time t = guest_time(vp, call);

	call->reg[GUEST_REG_EAX] = (uint32_t)t.seconds;
	call->reg[GUEST_REG_EBX] = t.usec;
	call->reg[GUEST_REG_ECX] = BDOOR_MAX_TIME_LAG_USEC;
	call->reg[GUEST_REG_EDX] = 0; /* offset to GMT in minutes: guests run in UTC */
}

/* Guests send this after stepping their clock; time here never lags. */
static void cmd_stopcatchup(struct vmport *vp, struct vmport_call *call)
{
	(void)vp, (void)call;
}

/* The TSC and the local APIC timer both count Bochs ticks. */
static void cmd_gethz(struct vmport *vp, struct vmport_call *call)
{
	if (!vp->config.ips) {
		call->reg[GUEST_REG_EBX] = BDOOR_GETHZ_UNKNOWN;
		return;
	}
	call->reg[GUEST_REG_EAX] = (uint32_t)vp->config.ips;
	call->reg[GUEST_REG_EBX] = (uint32_t)(vp->config.ips >> 32);
	call->reg[GUEST_REG_ECX] =
		vp->config.ips > UINT32_MAX ? UINT32_MAX : (uint32_t)vp->config.ips;
}

/* Success leaves EAX alone, so guests test for EAX == magic. */
static void cmd_gettimefull(struct vmport *vp, struct vmport_call *call)
{
	struct guest_time t = guest_time(vp, call);

	call->reg[GUEST_REG_EAX] = BDOOR_MAGIC;
	call->reg[GUEST_REG_EBX] = t.usec;
	call->reg[GUEST_REG_ECX] = BDOOR_MAX_TIME_LAG_USEC;
	call->reg[GUEST_REG_EDX] = (uint32_t)t.seconds;
	call->reg[GUEST_REG_ESI] = (uint32_t)(t.seconds >> 32);
}

static void cmd_gettimefull_with_lag(struct vmport *vp, struct vmport_call *call)
{
	cmd_gettimefull(vp, call);
	call->reg[GUEST_REG_EDI] = 0; /* interrupt lag, microseconds */
}

static void cmd_get_vcpu_info(struct vmport *vp, struct vmport_call *call)
{
	call->reg[GUEST_REG_EAX] = vp->config.vcpu_info;
}

/*
 * The commands this device implements, indexed by number. Every other
 * command VMware has (common/protocol_names.c names them and says which are
 * CPL 0 only) answers like an unknown one.
 */
static const vmport_handler_fn handlers[BDOOR_CMD_MAX] = {
	[BDOOR_CMD_GETMHZ] = cmd_getmhz,
	[BDOOR_CMD_GETVERSION] = cmd_getversion,
	[BDOOR_CMD_GETSCREENSIZE] = cmd_getscreensize,
	[BDOOR_CMD_GETHWVERSION] = cmd_gethwversion,
	[BDOOR_CMD_OS_NOT_FOUND] = cmd_os_not_found,
	[BDOOR_CMD_GETUUID] = cmd_getuuid,
	[BDOOR_CMD_GETMEMSIZE] = cmd_getmemsize,
	[BDOOR_CMD_GETTIME] = cmd_gettime,
	[BDOOR_CMD_STOPCATCHUP] = cmd_stopcatchup,
	[BDOOR_CMD_MESSAGE] = vmport_message,
	[BDOOR_CMD_GETHZ] = cmd_gethz,
	[BDOOR_CMD_GETTIMEFULL] = cmd_gettimefull,
	[BDOOR_CMD_GETTIMEFULL_WITH_LAG] = cmd_gettimefull_with_lag,
	[BDOOR_CMD_GET_VCPU_INFO] = cmd_get_vcpu_info,
};

static vmport_handler_fn find_handler(uint16_t number)
{
	return number < BDOOR_CMD_MAX ? handlers[number] : NULL;
}

bool vmport_command_is_implemented(uint16_t number)
{
	return find_handler(number) != NULL;
}

/*
 * A command the device does not implement, or refuses at this CPL, faults
 * nothing and leaves every register but EAX alone (kvm-unit-tests checks
 * EBX). EAX reads back as "no answer" like an empty port.
 */
static void answer_nothing(struct vmport_call *call)
{
	call->reg[GUEST_REG_EAX] = BDOOR_NO_ANSWER;
}

static void report_unknown(struct vmport *vp, const struct vmport_call *call, uint16_t number,
			   const char *name)
{
	uint8_t bit = (uint8_t)(1u << (number % 8));

	if (vp->unknown_reported[number / 8] & bit)
		return;
	vp->unknown_reported[number / 8] |= bit;
	vmport_log(vp, BXKD_LOG_INFO,
		   "guest used %s backdoor command %u%s%s (ECX=0x%08x) at tick %" PRIu64
		   "; answered as VMware answers unknown commands, reported once",
		   name ? "unimplemented" : "unknown", number, name ? " " : "", name ? name : "",
		   call->reg[GUEST_REG_ECX], call->vcpu->ticks(call->vcpu->ctx));
}

static void dispatch(struct vmport *vp, struct vmport_call *call)
{
	uint16_t number = BDOOR_CMD(call->reg[GUEST_REG_ECX]);
	const struct bdoor_command_info *command = bdoor_command_info(number);
	vmport_handler_fn run = find_handler(number);

	/* The KD transport rides on kd_command; whatever that command is, its
	 * KD subcommands are for the kernel alone. */
	if (vmport_kd_is_kd_call(vp, call)) {
		if (call->cpl != 0) {
			vp->stats.refused_commands++;
			answer_nothing(call);
			return;
		}
		vmport_kd(vp, call);
		return;
	}

	if (command && command->cpl0_only && call->cpl != 0) {
		vp->stats.refused_commands++;
		answer_nothing(call);
		return;
	}
	if (!run) {
		vp->stats.unknown_commands++;
		report_unknown(vp, call, number, command ? command->name : NULL);
		answer_nothing(call);
		return;
	}
	run(vp, call);
}

void vmport_io(struct vmport *vp, const struct guest_vcpu *vcpu, struct guest_port_access *access)
{
	struct vmport_call call = { .dir = access->dir, .vcpu = vcpu };
	uint32_t before[GUEST_REG_COUNT];

	access->string_op_done = false;
	call.reg[GUEST_REG_EAX] = vcpu->get_reg(vcpu->ctx, GUEST_REG_EAX);
	if ((access->port != BDOOR_PORT && access->port != BDOOR_PORT_HB) ||
	    call.reg[GUEST_REG_EAX] != BDOOR_MAGIC) {
		vp->stats.bad_magic++;
		access->in_value = BDOOR_NO_ANSWER;
		return;
	}
	vp->stats.calls++;
	for (int r = GUEST_REG_ECX; r < GUEST_REG_COUNT; r++) {
		if (r != GUEST_REG_ESP)
			call.reg[r] = vcpu->get_reg(vcpu->ctx, (enum guest_reg)r);
	}
	call.cpl = vcpu->cpl(vcpu->ctx);
	memcpy(before, call.reg, sizeof(before));

	if (access->port == BDOOR_PORT) {
		dispatch(vp, &call);
		/* EAX travels as the IN result; an OUT never changes it. */
		access->in_value = call.reg[GUEST_REG_EAX];
	} else {
		vmport_hb(vp, &call, access);
	}

	for (int r = GUEST_REG_ECX; r < GUEST_REG_COUNT; r++) {
		if (r != GUEST_REG_ESP && call.reg[r] != before[r])
			vcpu->set_reg(vcpu->ctx, (enum guest_reg)r, call.reg[r]);
	}
}

void vmport_restored_from_checkpoint(struct vmport *vp)
{
	for (int i = 0; i < BDOOR_MESSAGE_MAX_CHANNELS; i++) {
		if (vp->channels[i].state != CHANNEL_CLOSED)
			vp->channels[i].stale = true;
	}
}

struct vmport *vmport_create(const struct vmport_config *config, const struct bxkd_log *log)
{
	struct vmport *vp = calloc(1, sizeof(*vp));

	if (!vp)
		return NULL;
	vp->config = *config;
	if (log)
		vp->log = *log;
	if (!vmport_rpci_init(vp)) {
		vmport_destroy(vp);
		return NULL;
	}
	return vp;
}

void vmport_destroy(struct vmport *vp)
{
	if (!vp)
		return;
	vmport_channels_free(vp);
	vmport_rpci_free(vp);
	free(vp);
}

const struct vmport_config *vmport_get_config(const struct vmport *vp)
{
	return &vp->config;
}

const struct vmport_stats *vmport_get_stats(const struct vmport *vp)
{
	return &vp->stats;
}
