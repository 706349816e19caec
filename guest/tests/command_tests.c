/*
 * command_tests.c -- every low-bandwidth command at CPL 0.
 *
 * Each call seeds every register the command must not change and checks
 * all seven afterwards. Answers the guest can derive are cross-checked
 * against the machine itself: the RAM size and wall clock the BIOS keeps in
 * CMOS, the TSC and the local APIC timer. Settings the guest cannot derive
 * are expected at bochs-plugin/README.md's defaults unless an expect_* boot
 * option says otherwise.
 */
#include "backdoor_call.h"
#include "cmos.h"
#include "expect.h"
#include "io.h"
#include "lapic.h"
#include "testrun.h"

#define USEC_PER_SEC 1000000u
#define HZ_PER_MHZ 1000000u

/* GETTIME and the CMOS clock tick at different instants of a second. */
#define RTC_AGREEMENT_SECONDS 2

/* How closely a rate measured against GETTIMEFULL must match the rate the
 * device states, in percent. */
#define RATE_TOLERANCE_PERCENT 1u

/* Guest time to measure rates over: with the clock read to the
 * microsecond, 50 ms resolves a rate to 0.002 %. */
#define MEASURE_USEC 50000u
#define MEASURE_MAX_POLLS 1000000u /* never reached while time advances */

GUEST_TEST(getmhz)
{
	struct bd_regs r = seeded_call(BDOOR_CMD_GETMHZ), want = r;
	uint64_t tsc_hz;
	uint32_t apic_hz;

	if (!bd_gethz(&tsc_hz, &apic_hz)) {
		gt_fail(t, "GETHZ gave no TSC rate to compare with");
		return;
	}
	want.eax = (uint32_t)((tsc_hz + HZ_PER_MHZ / 2) / HZ_PER_MHZ);
	bd_in(&r);
	expect_regs(t, &r, &want);
	gt_note(t, "mhz=%u", r.eax);
}

GUEST_TEST(getscreensize)
{
	struct bd_regs r = seeded_call(BDOOR_CMD_GETSCREENSIZE), want = r;
	uint32_t width, height;

	if (!expected_screen(t, &width, &height))
		return;
	want.eax = width << 16 | height;
	bd_in(&r);
	expect_regs(t, &r, &want);
	gt_note(t, "screen=%ux%u", r.eax >> 16, r.eax & 0xffffu);
}

GUEST_TEST(gethwversion)
{
	struct bd_regs r = seeded_call(BDOOR_CMD_GETHWVERSION), want = r;

	want.eax = expected_u32(t, "expect_hw_version", DEFAULT_HW_VERSION);
	bd_in(&r);
	expect_regs(t, &r, &want);
}

/* A firmware's report to the VMX: nothing comes back. */
GUEST_TEST(os_not_found)
{
	struct bd_regs r = seeded_call(BDOOR_CMD_OS_NOT_FOUND), want = r;

	bd_in(&r);
	expect_regs(t, &r, &want);
}

GUEST_TEST(getuuid)
{
	struct bd_regs r = seeded_call(BDOOR_CMD_GETUUID), want = r;
	uint8_t uuid[BXKD_UUID_BYTES];
	uint32_t *const words[] = { &want.eax, &want.ebx, &want.ecx, &want.edx };

	if (!expected_uuid(t, uuid))
		return;
	for (unsigned i = 0; i < BXKD_UUID_BYTES; i++) {
		if (i % 4 == 0)
			*words[i / 4] = 0;
		*words[i / 4] |= (uint32_t)uuid[i] << (8 * (i % 4));
	}
	bd_in(&r);
	expect_regs(t, &r, &want);
}

GUEST_TEST(getmemsize)
{
	struct bd_regs r = seeded_call(BDOOR_CMD_GETMEMSIZE), want = r;

	want.eax = cmos_ram_mib();
	bd_in(&r);
	expect_regs(t, &r, &want);
	gt_note(t, "mib=%u cmos_mib=%u", r.eax, want.eax);
}

static bool read_rtc(struct guest_test_ctx *t, uint64_t *seconds)
{
	struct rtc_time rtc;

	if (!rtc_read(&rtc)) {
		gt_fail(t, "the CMOS clock could not be read");
		return false;
	}
	*seconds = rtc_unix_seconds(&rtc);
	gt_note(t, "rtc=%04u-%02u-%02u %02u:%02u:%02u", rtc.year, rtc.month, rtc.day, rtc.hour,
		rtc.minute, rtc.second);
	return true;
}

/* Bochs' RTC counts from the same clock start at the same instruction
 * rate, but ticks its seconds at its own instants. */
GUEST_TEST(gettime)
{
	struct bd_regs r = seeded_call(BDOOR_CMD_GETTIME), want = r;
	uint64_t rtc_seconds;

	if (!read_rtc(t, &rtc_seconds))
		return;
	bd_in(&r);
	want.eax = r.eax; /* checked against the RTC below */
	want.ebx = r.ebx;
	want.ecx = BDOOR_MAX_TIME_LAG_USEC;
	want.edx = 0; /* minutes west of GMT: the guest runs in UTC */
	check_regs(t, &r, &want);
	if (r.ebx >= USEC_PER_SEC)
		gt_fail(t, "usec=%u is not below one second", r.ebx);
	int64_t apart = (int64_t)r.eax - (int64_t)(uint32_t)rtc_seconds;
	if (apart < -RTC_AGREEMENT_SECONDS || apart > RTC_AGREEMENT_SECONDS)
		gt_fail(t, "GETTIME seconds=%u but the RTC reads %u (UTC)", r.eax,
			(uint32_t)rtc_seconds);
	gt_note(t, "seconds=%u usec=%u max_lag=%u gmt_offset=%u", r.eax, r.ebx, r.ecx, r.edx);
}

GUEST_TEST(stopcatchup)
{
	struct bd_regs r = seeded_call(BDOOR_CMD_STOPCATCHUP), want = r;

	bd_in(&r);
	expect_regs(t, &r, &want);
}

/* ---- rates against the backdoor's own clock ---------------------------- */

struct clock_sample {
	uint64_t usec; /* GETTIMEFULL */
	uint64_t tsc;
	uint32_t apic_count;
};

/* The same instructions run between the three readings every time, so
 * their offsets cancel between two samples. */
static bool sample_clocks(struct clock_sample *s)
{
	struct bd_time now;

	s->tsc = rdtsc();
	s->apic_count = lapic_timer_count();
	if (!bd_gettimefull(&now))
		return false;
	s->usec = now.seconds * USEC_PER_SEC + now.usec;
	return true;
}

struct rates {
	uint64_t usec, tsc_hz, apic_hz;
};

static bool measure_rates(struct guest_test_ctx *t, struct rates *rates)
{
	struct clock_sample start, end;
	bool ok;

	lapic_timer_start();
	ok = sample_clocks(&start);
	end = start;
	for (uint32_t polls = 0;
	     ok && end.usec - start.usec < MEASURE_USEC && polls < MEASURE_MAX_POLLS; polls++)
		ok = sample_clocks(&end);
	lapic_timer_stop();
	if (!ok || end.usec - start.usec < MEASURE_USEC) {
		gt_fail(t, "GETTIMEFULL %s", ok ? "did not advance" : "failed");
		return false;
	}
	rates->usec = end.usec - start.usec;
	rates->tsc_hz = (end.tsc - start.tsc) * USEC_PER_SEC / rates->usec;
	rates->apic_hz = (uint64_t)(start.apic_count - end.apic_count) * USEC_PER_SEC / rates->usec;
	return true;
}

static bool within_tolerance(uint64_t measured, uint64_t stated)
{
	uint64_t diff = measured > stated ? measured - stated : stated - measured;

	return diff * 100 <= stated * RATE_TOLERANCE_PERCENT;
}

/* EAX:EBX = TSC Hz, ECX = APIC bus Hz: each must be the rate its counter
 * actually runs at against the backdoor's clock. */
GUEST_TEST(gethz)
{
	struct bd_regs r = seeded_call(BDOOR_CMD_GETHZ), want = r;
	struct rates measured;

	bd_in(&r);
	want.eax = r.eax;
	want.ebx = r.ebx;
	want.ecx = r.ecx;
	check_regs(t, &r, &want);
	if (r.ebx == BDOOR_GETHZ_UNKNOWN) {
		gt_fail(t, "ebx=0x%08x: rates unknown", r.ebx);
		return;
	}
	if (!measure_rates(t, &measured))
		return;

	uint64_t tsc_hz = (uint64_t)r.ebx << 32 | r.eax;
	if (!within_tolerance(measured.tsc_hz, tsc_hz))
		gt_fail(t, "TSC runs at %llu Hz over %llu us, GETHZ says %llu",
			(unsigned long long)measured.tsc_hz, (unsigned long long)measured.usec,
			(unsigned long long)tsc_hz);
	if (!within_tolerance(measured.apic_hz, r.ecx))
		gt_fail(t, "APIC timer runs at %llu Hz over %llu us, GETHZ says %u",
			(unsigned long long)measured.apic_hz, (unsigned long long)measured.usec,
			r.ecx);
	gt_note(t, "tsc_hz=%llu apic_hz=%u measured over %llu us: tsc_hz=%llu apic_hz=%llu",
		(unsigned long long)tsc_hz, r.ecx, (unsigned long long)measured.usec,
		(unsigned long long)measured.tsc_hz, (unsigned long long)measured.apic_hz);
}

/* ---- GETTIMEFULL ------------------------------------------------------- */

/*
 * GETTIMEFULL leaves EAX = magic on success, reports seconds in EDX:ESI and
 * must agree with a GETTIME issued just before: not earlier, and less than
 * a second later. EDI is the interrupt lag (0) for the _WITH_LAG variant
 * and untouched otherwise.
 */
static void check_timefull(struct guest_test_ctx *t, uint32_t command, uint32_t want_edi)
{
	struct bd_regs r = seeded_call(command), want = r;
	struct bd_time before;

	if (!bd_gettime(&before)) {
		gt_fail(t, "GETTIME gave nothing to compare with");
		return;
	}
	bd_in(&r);
	want.eax = BDOOR_MAGIC;
	want.ebx = r.ebx;
	want.ecx = BDOOR_MAX_TIME_LAG_USEC;
	want.edx = r.edx;
	want.esi = r.esi;
	want.edi = want_edi;
	check_regs(t, &r, &want);

	uint64_t seconds = (uint64_t)r.esi << 32 | r.edx;
	uint64_t now = seconds * USEC_PER_SEC + r.ebx;
	uint64_t then = before.seconds * USEC_PER_SEC + before.usec;
	if (r.ebx >= USEC_PER_SEC)
		gt_fail(t, "usec=%u is not below one second", r.ebx);
	if (now < then || now - then >= USEC_PER_SEC)
		gt_fail(t, "seconds=%llu usec=%u but GETTIME just before said %llu.%06u",
			(unsigned long long)seconds, r.ebx, (unsigned long long)before.seconds,
			before.usec);
	gt_note(t, "seconds=%llu usec=%u max_lag=%u edi=0x%08x gettime_before=%llu.%06u",
		(unsigned long long)seconds, r.ebx, r.ecx, r.edi,
		(unsigned long long)before.seconds, before.usec);
}

GUEST_TEST(gettimefull)
{
	check_timefull(t, BDOOR_CMD_GETTIMEFULL, SEED_EDI);
}

GUEST_TEST(gettimefull_with_lag)
{
	check_timefull(t, BDOOR_CMD_GETTIMEFULL_WITH_LAG, 0);
}

GUEST_TEST(get_vcpu_info)
{
	struct bd_regs r = seeded_call(BDOOR_CMD_GET_VCPU_INFO), want = r;

	want.eax = expected_u32(t, "expect_vcpu_info", DEFAULT_VCPU_INFO);
	bd_in(&r);
	expect_regs(t, &r, &want);
}
