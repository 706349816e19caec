/*
 * commands.c -- the backdoor commands the guest's own code calls by name
 * (the clock readings); the guest tests make every other call through
 * bd_call() with the registers they check.
 */
#include "backdoor_call.h"

static struct bd_regs call(uint32_t command)
{
	struct bd_regs r = { 0 };

	bd_call(&r, command);
	return r;
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
