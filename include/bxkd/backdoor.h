/*
 * bxkd/backdoor.h -- numbers of the VMware "backdoor" I/O port protocol.
 *
 * One definition shared by the Bochs plugin core (host, 64-bit), the test
 * guest (freestanding 32-bit) and tools. Values and their sources are listed
 * in shared/docs/vmware-backdoor.md; this header names them, nothing more.
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
	BDOOR_CMD_GETVERSION = 10,
	BDOOR_CMD_GETSCREENSIZE = 15,
	BDOOR_CMD_GETHWVERSION = 17,
	BDOOR_CMD_OS_NOT_FOUND = 18,
	BDOOR_CMD_GETUUID = 19,
	BDOOR_CMD_GETMEMSIZE = 20,
	BDOOR_CMD_GETTIME = 23,
	BDOOR_CMD_STOPCATCHUP = 24,
	BDOOR_CMD_MESSAGE = 30,
	BDOOR_CMD_GETHZ = 45,
	BDOOR_CMD_GETTIMEFULL = 46,
	BDOOR_CMD_GETTIMEFULL_WITH_LAG = 55,
	BDOOR_CMD_GET_VCPU_INFO = 68,
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

#endif /* BXKD_BACKDOOR_H */
