/*
 * cmos.c -- the MC146818 RTC and the BIOS's memory size, through ports
 * 0x70 (index) and 0x71 (data).
 */
#include "cmos.h"

#include "io.h"

enum { CMOS_INDEX = 0x70, CMOS_DATA = 0x71 };

enum cmos_reg {
	RTC_SECONDS = 0x00,
	RTC_MINUTES = 0x02,
	RTC_HOURS = 0x04,
	RTC_DAY = 0x07,
	RTC_MONTH = 0x08,
	RTC_YEAR = 0x09,
	RTC_STATUS_A = 0x0a,
	RTC_STATUS_B = 0x0b,
	CMOS_EXT_MEM_KIB_LOW = 0x30,  /* KiB above 1 MiB, capped by the BIOS */
	CMOS_EXT_MEM_KIB_HIGH = 0x31,
	RTC_CENTURY = 0x32,	      /* the IBM PC AT's century byte */
	CMOS_EXT16_MEM_LOW = 0x34,    /* 64 KiB blocks above 16 MiB */
	CMOS_EXT16_MEM_HIGH = 0x35,
};

enum {
	STATUS_A_UPDATE_IN_PROGRESS = 0x80,
	STATUS_B_24_HOUR = 0x02,
	STATUS_B_BINARY = 0x04,
	HOURS_PM = 0x80, /* in 12-hour mode */
};

/* An update cycle lasts under 2 ms; this many polls take far longer. */
#define RTC_UPDATE_POLLS 1000000u
#define RTC_READ_ATTEMPTS 10u

static uint8_t cmos_read(enum cmos_reg reg)
{
	outb(CMOS_INDEX, (uint8_t)reg);
	return inb(CMOS_DATA);
}

static bool wait_update_done(void)
{
	for (uint32_t i = 0; i < RTC_UPDATE_POLLS; i++) {
		if (!(cmos_read(RTC_STATUS_A) & STATUS_A_UPDATE_IN_PROGRESS))
			return true;
	}
	return false;
}

/* The registers as stored, BCD or binary. */
struct rtc_raw {
	uint8_t second, minute, hour, day, month, year, century;
};

static void read_raw(struct rtc_raw *raw)
{
	raw->second = cmos_read(RTC_SECONDS);
	raw->minute = cmos_read(RTC_MINUTES);
	raw->hour = cmos_read(RTC_HOURS);
	raw->day = cmos_read(RTC_DAY);
	raw->month = cmos_read(RTC_MONTH);
	raw->year = cmos_read(RTC_YEAR);
	raw->century = cmos_read(RTC_CENTURY);
}

static bool raw_equal(const struct rtc_raw *a, const struct rtc_raw *b)
{
	return a->second == b->second && a->minute == b->minute && a->hour == b->hour &&
	       a->day == b->day && a->month == b->month && a->year == b->year &&
	       a->century == b->century;
}

/* Status register B says whether the clock counts in BCD or binary. */
static uint8_t field(uint8_t value, bool binary)
{
	return binary ? value : (uint8_t)((value >> 4) * 10 + (value & 0x0f));
}

static bool decode(const struct rtc_raw *raw, uint8_t status_b, struct rtc_time *t)
{
	bool binary = status_b & STATUS_B_BINARY;

	t->second = field(raw->second, binary);
	t->minute = field(raw->minute, binary);
	t->hour = field(raw->hour & (uint8_t)~HOURS_PM, binary);
	t->day = field(raw->day, binary);
	t->month = field(raw->month, binary);
	t->year = (uint16_t)(field(raw->century, binary) * 100u + field(raw->year, binary));
	if (!(status_b & STATUS_B_24_HOUR)) /* 12 AM is hour 0, 12 PM hour 12 */
		t->hour = (uint8_t)(t->hour % 12 + (raw->hour & HOURS_PM ? 12 : 0));
	return t->second < 60 && t->minute < 60 && t->hour < 24 && t->day >= 1 &&
	       t->day <= 31 && t->month >= 1 && t->month <= 12 && t->year >= 1970;
}

bool rtc_read(struct rtc_time *time)
{
	struct rtc_raw first, second;

	/* Two identical snapshots, each taken outside an update, cannot
	 * straddle one. */
	for (uint32_t attempt = 0; attempt < RTC_READ_ATTEMPTS; attempt++) {
		if (!wait_update_done())
			return false;
		read_raw(&first);
		if (!wait_update_done())
			return false;
		read_raw(&second);
		if (raw_equal(&first, &second))
			return decode(&first, cmos_read(RTC_STATUS_B), time);
	}
	return false;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
 * days_from_civil, for years from 1970 on). */
static uint32_t days_since_epoch(uint32_t year, uint32_t month, uint32_t day)
{
	enum { DAYS_PER_ERA = 146097, EPOCH_DAYS_FROM_0000_03_01 = 719468 };
	uint32_t y = year - (month <= 2);
	uint32_t era = y / 400, year_of_era = y % 400;
	uint32_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
	uint32_t day_of_era =
		year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;

	return era * DAYS_PER_ERA + day_of_era - EPOCH_DAYS_FROM_0000_03_01;
}

uint64_t rtc_unix_seconds(const struct rtc_time *t)
{
	enum { SECONDS_PER_DAY = 86400 };

	return (uint64_t)days_since_epoch(t->year, t->month, t->day) * SECONDS_PER_DAY +
	       t->hour * 3600u + t->minute * 60u + t->second;
}

uint32_t cmos_ram_mib(void)
{
	enum { KIB_PER_MIB = 1024, BLOCKS_PER_MIB = 16, MIB_BELOW_EXT = 1, MIB_BELOW_EXT16 = 16 };
	uint32_t ext16_blocks = cmos_read(CMOS_EXT16_MEM_LOW) |
				(uint32_t)cmos_read(CMOS_EXT16_MEM_HIGH) << 8;
	uint32_t ext_kib = cmos_read(CMOS_EXT_MEM_KIB_LOW) |
			   (uint32_t)cmos_read(CMOS_EXT_MEM_KIB_HIGH) << 8;

	/* The KiB count stops short of 64 MiB; past 16 MiB the block count
	 * is the one that tells. */
	if (ext16_blocks)
		return MIB_BELOW_EXT16 + ext16_blocks / BLOCKS_PER_MIB;
	return MIB_BELOW_EXT + ext_kib / KIB_PER_MIB;
}
