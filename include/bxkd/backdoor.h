/*
 * bxkd/backdoor.h -- numbers of the VMware "backdoor" I/O port protocol.
 *
 * One definition shared by the Bochs plugin core (host, 64-bit), the test
 * guest (freestanding 32-bit) and tools. Values and their sources are listed
 * in docs/vmware-backdoor.md; this header names them, nothing more.
 */
#ifndef BXKD_BACKDOOR_H
#define BXKD_BACKDOOR_H

#include <stdint.h>

/* "VMXh" read as a big-endian ASCII dword; a call must carry it in EAX. */
#define BDOOR_MAGIC 0x564D5868u

/* Low-bandwidth port: one register-sized call per IN/OUT. */
#define BDOOR_PORT 0x5658u
/* High-bandwidth port: REP INSB/OUTSB moves GuestRPC payloads. */
#define BDOOR_PORT_HB 0x5659u

/* What a read of an unclaimed port (or a refused call) delivers. */
#define BDOOR_NO_ANSWER 0xFFFFFFFFu

/* ECX[15:0] carries the command, ECX[31:16] its subcommand. */
#define BDOOR_CMD(ecx) ((uint16_t)((ecx) & 0xFFFFu))
#define BDOOR_SUBCMD(ecx) ((uint16_t)((uint32_t)(ecx) >> 16))

/* Low-bandwidth command numbers (backdoor_def.h of open-vm-tools). */
enum bdoor_cmd {
	BDOOR_CMD_GETMHZ = 1,
	BDOOR_CMD_APMFUNCTION = 2,
	BDOOR_CMD_GETVERSION = 10,
	BDOOR_CMD_GETSCREENSIZE = 15,
	BDOOR_CMD_GETHWVERSION = 17,
	BDOOR_CMD_OS_NOT_FOUND = 18,
	BDOOR_CMD_GETUUID = 19,
	BDOOR_CMD_GETMEMSIZE = 20,
	BDOOR_CMD_GETTIME = 23,
	BDOOR_CMD_STOPCATCHUP = 24,
	BDOOR_CMD_INITPCIOPROM = 28,
	BDOOR_CMD_MESSAGE = 30,
	BDOOR_CMD_PATCH_SMBIOS_STRUCTS = 37,
	BDOOR_CMD_GETHZ = 45,
	BDOOR_CMD_GETTIMEFULL = 46,
	BDOOR_CMD_CHECKFORCEBIOSSETUP = 48,
	BDOOR_CMD_LAZYTIMEREMULATION = 49,
	BDOOR_CMD_BIOSBBS = 50,
	BDOOR_CMD_OSNOTMACOSXSERVER = 54,
	BDOOR_CMD_GETTIMEFULL_WITH_LAG = 55,
	BDOOR_CMD_XPMODE = 62,
	BDOOR_CMD_FIRMWARE_INIT = 64,
	BDOOR_CMD_FIRMWARE_ACPI_SERVICES = 65,
	BDOOR_CMD_GET_VCPU_INFO = 68,
	BDOOR_CMD_EFI_SERIALCON_CONFIG = 69,
	BDOOR_CMD_BUG328986 = 70,
	BDOOR_CMD_FIRMWARE_ERROR = 71,
	BDOOR_CMD_EFI_BOOT_CONFIG = 73,
	BDOOR_CMD_GET_HW_MODEL = 74,
	BDOOR_CMD_GET_SVGA_CAPABILITIES = 75,
	BDOOR_CMD_GET_FORCE_X2APIC = 76,
	BDOOR_CMD_SET_PCI_HOLE = 77,
	BDOOR_CMD_GET_PCI_HOLE = 78,
	BDOOR_CMD_GET_PCI_BAR = 79,
	BDOOR_CMD_SHOULD_GENERATE_SYSTEMID = 80,
	BDOOR_CMD_MKS_GUEST_STATS = 85,
	BDOOR_CMD_STEALCLOCK = 91,
	BDOOR_CMD_GUEST_PAGE_HINTS = 92,
	BDOOR_CMD_FIRMWARE_UPDATE = 93,
	BDOOR_CMD_MAX = 101,
};

/* GETVERSION answers EAX = this constant when a backdoor is present. */
#define BDOOR_VERSION_MAGIC 6u

/* VMX product types reported in ECX by GETVERSION (vm_vmx_type.h). */
enum bdoor_vmx_type {
	BDOOR_VMX_TYPE_UNSET = 0,
	BDOOR_VMX_TYPE_EXPRESS = 1,
	BDOOR_VMX_TYPE_SCALABLE_SERVER = 2, /* ESX; QEMU and Xen claim this */
	BDOOR_VMX_TYPE_WGS = 3,
	BDOOR_VMX_TYPE_WORKSTATION = 4, /* what Workstation 17 answers */
	BDOOR_VMX_TYPE_WORKSTATION_ENTERPRISE = 5,
};

/* GETTIME's "maximum time lag" in microseconds, as Xen's model reports. */
#define BDOOR_MAX_TIME_LAG_USEC 1000000u

/* GET_VCPU_INFO bits in EAX. */
#define BDOOR_VCPU_INFO_SYNC_VTSCS (1u << 1)
#define BDOOR_VCPU_INFO_LEGACY_X2APIC_OK (1u << 3)
#define BDOOR_VCPU_INFO_MMIO_HONORS_PAT (1u << 4)
#define BDOOR_VCPU_INFO_RESERVED (1u << 31)

/* GETHZ's EBX when the frequencies are unknown. */
#define BDOOR_GETHZ_UNKNOWN 0xFFFFFFFFu

/* ---- GuestRPC over MESSAGE (guest_msg_def.h) ------------------------- */

enum bdoor_message_type {
	BDOOR_MESSAGE_OPEN = 0,
	BDOOR_MESSAGE_SENDSIZE = 1,
	BDOOR_MESSAGE_SENDPAYLOAD = 2,
	BDOOR_MESSAGE_RECVSIZE = 3,
	BDOOR_MESSAGE_RECVPAYLOAD = 4,
	BDOOR_MESSAGE_RECVSTATUS = 5,
	BDOOR_MESSAGE_CLOSE = 6,
};

/* Status bits, returned in ECX[31:16] (low bandwidth) or EBX[31:16] (high
 * bandwidth). Clients compare whole words, e.g. SENDSIZE == 0x00810000. */
enum bdoor_message_status {
	BDOOR_MESSAGE_STATUS_SUCCESS = 0x0001,
	BDOOR_MESSAGE_STATUS_DORECV = 0x0002,
	BDOOR_MESSAGE_STATUS_CLOSED = 0x0004,
	BDOOR_MESSAGE_STATUS_UNSENT = 0x0008,
	BDOOR_MESSAGE_STATUS_CPT = 0x0010,
	BDOOR_MESSAGE_STATUS_POWEROFF = 0x0020,
	BDOOR_MESSAGE_STATUS_TIMEOUT = 0x0040,
	BDOOR_MESSAGE_STATUS_HB = 0x0080,
};

/* The only status bit a guest may set in a status it passes in. */
#define BDOOR_MESSAGE_STATUS_GUEST_MASK BDOOR_MESSAGE_STATUS_SUCCESS

/* OPEN's EBX: protocol number, optionally with the cookie flag. */
#define BDOOR_RPCI_PROTOCOL 0x49435052u /* "RPCI": guest asks, host answers */
#define BDOOR_TCLO_PROTOCOL 0x4F4C4354u /* "TCLO": host asks, guest answers */
#define BDOOR_MESSAGE_FLAG_COOKIE 0x80000000u

#define BDOOR_MESSAGE_MAX_CHANNELS 8
/* Longest message a guest may send ("prevent denial of host service"). */
#define BDOOR_MESSAGE_MAX_SIZE (64u * 1024u)

/* High-bandwidth commands, in EBX[15:0] on port 0x5659. */
enum bdoor_hb_cmd {
	BDOORHB_CMD_MESSAGE = 0,
	BDOORHB_CMD_VASSERT = 1,
};

#endif /* BXKD_BACKDOOR_H */
