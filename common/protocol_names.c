/*
 * protocol_names.c -- the one table of protocol names (protocol_names.h).
 */
#include "config.h"

#include "protocol_names.h"

#include <stddef.h>

#include "bxkd/backdoor.h"
#include "bxkd/kdport.h"
#include "bxkd/kdvm.h"

#define COUNT(table) (sizeof(table) / sizeof((table)[0]))
/* The name at `index` of a table indexed by value, or NULL. */
#define NAME_IN(table, index) ((uint64_t)(index) < COUNT(table) ? (table)[index] : NULL)

/* VMware's commands; those with cpl0_only are refused in user mode. */
static const struct bdoor_command_info commands[BDOOR_CMD_MAX] = {
	[BDOOR_CMD_GETMHZ] = { "GETMHZ", false },
	[BDOOR_CMD_APMFUNCTION] = { "APMFUNCTION", true },
	[BDOOR_CMD_GETVERSION] = { "GETVERSION", false },
	[BDOOR_CMD_GETSCREENSIZE] = { "GETSCREENSIZE", false },
	[BDOOR_CMD_GETHWVERSION] = { "GETHWVERSION", false },
	[BDOOR_CMD_OS_NOT_FOUND] = { "OS_NOT_FOUND", true },
	[BDOOR_CMD_GETUUID] = { "GETUUID", false },
	[BDOOR_CMD_GETMEMSIZE] = { "GETMEMSIZE", false },
	[BDOOR_CMD_GETTIME] = { "GETTIME", false },
	[BDOOR_CMD_STOPCATCHUP] = { "STOPCATCHUP", false },
	[BDOOR_CMD_INITPCIOPROM] = { "INITPCIOPROM", true },
	[BDOOR_CMD_MESSAGE] = { "MESSAGE", false },
	[BDOOR_CMD_PATCH_SMBIOS_STRUCTS] = { "PATCH_SMBIOS_STRUCTS", true },
	[BDOOR_CMD_GETHZ] = { "GETHZ", false },
	[BDOOR_CMD_GETTIMEFULL] = { "GETTIMEFULL", false },
	[BDOOR_CMD_CHECKFORCEBIOSSETUP] = { "CHECKFORCEBIOSSETUP", true },
	[BDOOR_CMD_LAZYTIMEREMULATION] = { "LAZYTIMEREMULATION", true },
	[BDOOR_CMD_BIOSBBS] = { "BIOSBBS", true },
	[BDOOR_CMD_OSNOTMACOSXSERVER] = { "OSNOTMACOSXSERVER", true },
	[BDOOR_CMD_GETTIMEFULL_WITH_LAG] = { "GETTIMEFULL_WITH_LAG", false },
	[BDOOR_CMD_XPMODE] = { "XPMODE", true },
	[BDOOR_CMD_FIRMWARE_INIT] = { "FIRMWARE_INIT", true },
	[BDOOR_CMD_FIRMWARE_ACPI_SERVICES] = { "FIRMWARE_ACPI_SERVICES", true },
	[BDOOR_CMD_GET_VCPU_INFO] = { "GET_VCPU_INFO", false },
	[BDOOR_CMD_EFI_SERIALCON_CONFIG] = { "EFI_SERIALCON_CONFIG", true },
	[BDOOR_CMD_BUG328986] = { "BUG328986", true },
	[BDOOR_CMD_FIRMWARE_ERROR] = { "FIRMWARE_ERROR", true },
	[BDOOR_CMD_EFI_BOOT_CONFIG] = { "EFI_BOOT_CONFIG", true },
	[BDOOR_CMD_GET_HW_MODEL] = { "GET_HW_MODEL", true },
	[BDOOR_CMD_GET_SVGA_CAPABILITIES] = { "GET_SVGA_CAPABILITIES", true },
	[BDOOR_CMD_GET_FORCE_X2APIC] = { "GET_FORCE_X2APIC", true },
	[BDOOR_CMD_SET_PCI_HOLE] = { "SET_PCI_HOLE", true },
	[BDOOR_CMD_GET_PCI_HOLE] = { "GET_PCI_HOLE", true },
	[BDOOR_CMD_GET_PCI_BAR] = { "GET_PCI_BAR", true },
	[BDOOR_CMD_SHOULD_GENERATE_SYSTEMID] = { "SHOULD_GENERATE_SYSTEMID", true },
	[BDOOR_CMD_MKS_GUEST_STATS] = { "MKS_GUEST_STATS", true },
	[BDOOR_CMD_STEALCLOCK] = { "STEALCLOCK", true },
	[BDOOR_CMD_GUEST_PAGE_HINTS] = { "GUEST_PAGE_HINTS", true },
	[BDOOR_CMD_FIRMWARE_UPDATE] = { "FIRMWARE_UPDATE", true },
};

static const char *const message_steps[] = {
	[BDOOR_MESSAGE_OPEN] = "OPEN",
	[BDOOR_MESSAGE_SENDSIZE] = "SENDSIZE",
	[BDOOR_MESSAGE_SENDPAYLOAD] = "SENDPAYLOAD",
	[BDOOR_MESSAGE_RECVSIZE] = "RECVSIZE",
	[BDOOR_MESSAGE_RECVPAYLOAD] = "RECVPAYLOAD",
	[BDOOR_MESSAGE_RECVSTATUS] = "RECVSTATUS",
	[BDOOR_MESSAGE_CLOSE] = "CLOSE",
};

static const char *const hb_commands[] = {
	[BDOORHB_CMD_MESSAGE] = "MESSAGE",
	[BDOORHB_CMD_VASSERT] = "VASSERT",
};

static const char *const kdvm_subcommands[] = {
	[KDVM_SUB_HELLO] = "HELLO",
	[KDVM_SUB_REGISTER] = "REGISTER",
	[KDVM_SUB_CALL] = "CALL",
	[KDVM_SUB_UNREGISTER] = "UNREGISTER",
};

static const char *const kdvm_statuses[] = {
	[KDVM_STATUS_OK] = "OK",
	[KDVM_STATUS_NO_TRANSPORT] = "NO_TRANSPORT",
	[KDVM_STATUS_NOT_REGISTERED] = "NOT_REGISTERED",
	[KDVM_STATUS_NOT_FOUND] = "NOT_FOUND",
	[KDVM_STATUS_BAD_FRAME] = "BAD_FRAME",
	[KDVM_STATUS_BAD_PAGE] = "BAD_PAGE",
	[KDVM_STATUS_BAD_REQUEST] = "BAD_REQUEST",
	[KDVM_STATUS_WRONG_DISCOVERY] = "WRONG_DISCOVERY",
	[KDVM_STATUS_BAD_SUBCOMMAND] = "BAD_SUBCOMMAND",
};

static const char *const kdvm_requests[] = {
	[KDVM_REQUEST_SEND] = "SEND",
	[KDVM_REQUEST_RECEIVE] = "RECEIVE",
	[KDVM_REQUEST_POLL_BREAKIN] = "POLL_BREAKIN",
};

static const char *const kdvm_discoveries[] = {
	[KDVM_DISCOVERY_REGISTER] = "register",
	[KDVM_DISCOVERY_SCAN] = "scan",
};

static const char *const kd_outcomes[] = {
	[KD_OK] = "OK",
	[KD_TIMED_OUT] = "TIMED_OUT",
	[KD_NEEDS_RESEND] = "NEEDS_RESEND",
	[KD_DROPPED] = "DROPPED",
	[KD_INVALID] = "INVALID",
	[KD_ABANDONED] = "ABANDONED",
};

const struct bdoor_command_info *bdoor_command_info(uint32_t command)
{
	return command < COUNT(commands) && commands[command].name ? &commands[command] : NULL;
}

const char *bdoor_command_name(uint32_t command)
{
	const struct bdoor_command_info *info = bdoor_command_info(command);

	return info ? info->name : NULL;
}

const char *bdoor_message_step_name(uint32_t step)
{
	return NAME_IN(message_steps, step);
}

const char *bdoor_hb_command_name(uint32_t command)
{
	return NAME_IN(hb_commands, command);
}

const char *kdvm_subcommand_name(uint32_t subcommand)
{
	return NAME_IN(kdvm_subcommands, subcommand);
}

const char *kdvm_status_name(uint32_t status)
{
	return NAME_IN(kdvm_statuses, status);
}

const char *kdvm_request_name(uint32_t request)
{
	return NAME_IN(kdvm_requests, request);
}

const char *kdvm_discovery_name(uint32_t discovery)
{
	return NAME_IN(kdvm_discoveries, discovery);
}

const char *kd_outcome_name(uint32_t outcome)
{
	return NAME_IN(kd_outcomes, outcome);
}

static void each(const char *const *names, size_t count,
		 void (*fn)(void *ctx, uint32_t value, const char *name), void *ctx)
{
	for (size_t i = 0; i < count; i++)
		if (names[i])
			fn(ctx, (uint32_t)i, names[i]);
}

void protocol_names_foreach(enum protocol_name_table table,
			    void (*fn)(void *ctx, uint32_t value, const char *name), void *ctx)
{
	switch (table) {
	case PROTOCOL_NAMES_BDOOR_COMMAND:
		for (uint32_t i = 0; i < COUNT(commands); i++)
			if (commands[i].name)
				fn(ctx, i, commands[i].name);
		break;
	case PROTOCOL_NAMES_KDVM_SUBCOMMAND:
		each(kdvm_subcommands, COUNT(kdvm_subcommands), fn, ctx);
		break;
	case PROTOCOL_NAMES_KDVM_STATUS:
		each(kdvm_statuses, COUNT(kdvm_statuses), fn, ctx);
		break;
	case PROTOCOL_NAMES_KDVM_REQUEST:
		each(kdvm_requests, COUNT(kdvm_requests), fn, ctx);
		break;
	case PROTOCOL_NAMES_KD_OUTCOME:
		each(kd_outcomes, COUNT(kd_outcomes), fn, ctx);
		break;
	}
}
