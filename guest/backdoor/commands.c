/*
 * commands.c -- one function per low-bandwidth backdoor command.
 */
#include "backdoor.h"

static struct bd_regs call(uint32_t command)
{
	struct bd_regs r = { 0 };

	bd_call(&r, command);
	return r;
}

bool bd_getversion(uint32_t *version, uint32_t *vmx_type)
{
	/* EBX must not hold the magic already, or an absent backdoor would
	 * look present. */
	struct bd_regs r = { .ebx = ~BDOOR_MAGIC };

	bd_call(&r, BDOOR_CMD_GETVERSION);
	*version = r.eax;
	*vmx_type = r.ecx;
	return r.ebx == BDOOR_MAGIC && r.eax != BDOOR_NO_ANSWER;
}

uint32_t bd_getmhz(void)
{
	return call(BDOOR_CMD_GETMHZ).eax;
}

void bd_getscreensize(uint16_t *width, uint16_t *height)
{
	uint32_t eax = call(BDOOR_CMD_GETSCREENSIZE).eax;

	*width = (uint16_t)(eax >> 16);
	*height = (uint16_t)eax;
}

uint32_t bd_gethwversion(void)
{
	return call(BDOOR_CMD_GETHWVERSION).eax;
}

void bd_os_not_found(void)
{
	call(BDOOR_CMD_OS_NOT_FOUND);
}

/* Four little-endian dwords of the UUID's bytes in text order. */
void bd_getuuid(uint8_t uuid[BD_UUID_BYTES])
{
	struct bd_regs r = call(BDOOR_CMD_GETUUID);
	const uint32_t words[] = { r.eax, r.ebx, r.ecx, r.edx };

	for (unsigned i = 0; i < BD_UUID_BYTES; i++)
		uuid[i] = (uint8_t)(words[i / sizeof(*words)] >> (8 * (i % sizeof(*words))));
}

uint32_t bd_getmemsize(void)
{
	return call(BDOOR_CMD_GETMEMSIZE).eax;
}

bool bd_gettime(struct bd_time *time)
{
	struct bd_regs r = call(BDOOR_CMD_GETTIME);

	*time = (struct bd_time){
		.seconds = r.eax,
		.usec = r.ebx,
		.max_lag_usec = r.ecx,
		.gmt_offset_min = r.edx,
	};
	return r.eax != BDOOR_NO_ANSWER;
}

void bd_stopcatchup(void)
{
	call(BDOOR_CMD_STOPCATCHUP);
}

bool bd_gethz(uint64_t *tsc_hz, uint32_t *apic_hz)
{
	struct bd_regs r = { .ebx = BDOOR_GETHZ_UNKNOWN };

	bd_call(&r, BDOOR_CMD_GETHZ);
	*tsc_hz = (uint64_t)r.ebx << 32 | r.eax;
	*apic_hz = r.ecx;
	return r.ebx != BDOOR_GETHZ_UNKNOWN;
}

static bool timefull(uint32_t command, struct bd_time *time)
{
	struct bd_regs r = call(command);

	*time = (struct bd_time){
		.seconds = (uint64_t)r.esi << 32 | r.edx,
		.usec = r.ebx,
		.max_lag_usec = r.ecx,
		.interrupt_lag_usec = r.edi,
	};
	return r.eax == BDOOR_MAGIC;
}

bool bd_gettimefull(struct bd_time *time)
{
	return timefull(BDOOR_CMD_GETTIMEFULL, time);
}

bool bd_gettimefull_with_lag(struct bd_time *time)
{
	return timefull(BDOOR_CMD_GETTIMEFULL_WITH_LAG, time);
}

uint32_t bd_get_vcpu_info(void)
{
	return call(BDOOR_CMD_GET_VCPU_INFO).eax;
}
