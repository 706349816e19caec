/*
 * bxkd/names.h -- the names of the numbers the protocols use, in one place:
 * the device's log, bxkd-replay dump, the replay divergence report and the
 * guest's own test reports print these, and replay/bxkd.lua's tables must
 * agree with them (the names suite checks that).
 *
 * Header-only and freestanding, so the guest uses the same table as the
 * host. Every function returns NULL for a number it does not know: the
 * caller decides how an unknown value reads.
 */
#ifndef BXKD_NAMES_H
#define BXKD_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxkd/backdoor.h"
#include "bxkd/kdport.h"
#include "bxkd/kdvm.h"

/* A low-bandwidth backdoor command VMware has. */
struct bdoor_command_info {
	const char *name;
	/* VMware refuses it at CPL > 0. */
	bool cpl0_only;
};

#define BXKD_NAMES_COUNT(table) (sizeof(table) / sizeof((table)[0]))
/* The name at `index` of a table indexed by value, or NULL. */
#define BXKD_NAME_IN(table, index)                                                             \
	((uint64_t)(index) < BXKD_NAMES_COUNT(table) ? (table)[index] : NULL)

/* Defines `const char *function(uint32_t value)`: the name the designated
 * initialisers give `value`, or NULL. */
#define BXKD_NAME_TABLE(function, ...)                                                         \
	static inline const char *function(uint32_t value)                                     \
	{                                                                                      \
		static const char *const names[] = { __VA_ARGS__ };                            \
		return BXKD_NAME_IN(names, value);                                             \
	}

/* NULL for a command number VMware does not have. */
static inline const struct bdoor_command_info *bdoor_command_info(uint32_t command)
{
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

	return command < BDOOR_CMD_MAX && commands[command].name ? &commands[command] : NULL;
}

static inline const char *bdoor_command_name(uint32_t command)
{
	const struct bdoor_command_info *info = bdoor_command_info(command);

	return info ? info->name : NULL;
}

/* MESSAGE's subcommand: the GuestRPC step. */
BXKD_NAME_TABLE(bdoor_message_step_name, [BDOOR_MESSAGE_OPEN] = "OPEN",
	[BDOOR_MESSAGE_SENDSIZE] = "SENDSIZE", [BDOOR_MESSAGE_SENDPAYLOAD] = "SENDPAYLOAD",
	[BDOOR_MESSAGE_RECVSIZE] = "RECVSIZE", [BDOOR_MESSAGE_RECVPAYLOAD] = "RECVPAYLOAD",
	[BDOOR_MESSAGE_RECVSTATUS] = "RECVSTATUS", [BDOOR_MESSAGE_CLOSE] = "CLOSE")

/* The high-bandwidth port's command, in EBX. */
BXKD_NAME_TABLE(bdoor_hb_command_name, [BDOORHB_CMD_MESSAGE] = "MESSAGE",
	[BDOORHB_CMD_VASSERT] = "VASSERT")

BXKD_NAME_TABLE(kdvm_subcommand_name, [KDVM_SUB_HELLO] = "HELLO",
	[KDVM_SUB_REGISTER] = "REGISTER", [KDVM_SUB_CALL] = "CALL",
	[KDVM_SUB_UNREGISTER] = "UNREGISTER")

BXKD_NAME_TABLE(kdvm_status_name, [KDVM_STATUS_OK] = "OK",
	[KDVM_STATUS_NO_TRANSPORT] = "NO_TRANSPORT",
	[KDVM_STATUS_NOT_REGISTERED] = "NOT_REGISTERED", [KDVM_STATUS_NOT_FOUND] = "NOT_FOUND",
	[KDVM_STATUS_BAD_FRAME] = "BAD_FRAME", [KDVM_STATUS_BAD_PAGE] = "BAD_PAGE",
	[KDVM_STATUS_BAD_REQUEST] = "BAD_REQUEST",
	[KDVM_STATUS_WRONG_DISCOVERY] = "WRONG_DISCOVERY",
	[KDVM_STATUS_BAD_SUBCOMMAND] = "BAD_SUBCOMMAND")

BXKD_NAME_TABLE(kdvm_request_name, [KDVM_REQUEST_SEND] = "SEND",
	[KDVM_REQUEST_RECEIVE] = "RECEIVE", [KDVM_REQUEST_POLL_BREAKIN] = "POLL_BREAKIN")

BXKD_NAME_TABLE(kdvm_discovery_name, [KDVM_DISCOVERY_REGISTER] = "register",
	[KDVM_DISCOVERY_SCAN] = "scan")

/* enum kd_outcome: "OK", "TIMED_OUT", ... */
BXKD_NAME_TABLE(kd_outcome_name, [KD_OK] = "OK", [KD_TIMED_OUT] = "TIMED_OUT",
	[KD_NEEDS_RESEND] = "NEEDS_RESEND", [KD_DROPPED] = "DROPPED", [KD_INVALID] = "INVALID",
	[KD_ABANDONED] = "ABANDONED")

#endif /* BXKD_NAMES_H */
