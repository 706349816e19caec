/*
 * cmos.h -- what the BIOS and the real-time clock keep in CMOS RAM: the
 * wall clock and the memory size.
 */
#ifndef GUEST_CMOS_H
#define GUEST_CMOS_H

#include <stdbool.h>
#include <stdint.h>

/* A calendar date and time as the RTC holds it, already in binary. */
struct rtc_time {
	uint16_t year; /* e.g. 2000 */
	uint8_t month, day, hour, minute, second;
};

/* Reads the clock between two of its once-a-second updates, so all fields
 * belong to the same second. False if the clock never left its update
 * cycle or gave nonsense. */
bool rtc_read(struct rtc_time *time);

/* Seconds since 1970-01-01 00:00:00, taking the RTC's time as UTC. */
uint64_t rtc_unix_seconds(const struct rtc_time *time);

/* RAM size in MiB from the extended-memory fields the BIOS stored. */
uint32_t cmos_ram_mib(void);

#endif /* GUEST_CMOS_H */
