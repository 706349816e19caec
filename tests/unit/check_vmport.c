/*
 * check_vmport.c -- the backdoor entry and the low-bandwidth command table,
 * driven through a fake vCPU.
 *
 * Register vectors T1-T10 are from docs/vmware-backdoor.md section 6.2.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "bxkd/backdoor.h"
#include "fake_vcpu.h"
#include "suites.h"
#include "testcases.h"
#include "vmport.h"

#define TEST_IPS 4000000u
#define TEST_EPOCH 946684800u /* 2000-01-01 00:00:00 UTC */

struct captured_log {
	unsigned lines;
	char last[512];
};

static void capture_log(void *ctx, enum bxkd_log_level level, const char *message)
{
	struct captured_log *log = ctx;

	(void)level;
	log->lines++;
	snprintf(log->last, sizeof(log->last), "%s", message);
}

static struct fake_vcpu cpu;
static struct vmport *vp;
static struct vmport_config config;
static struct captured_log log_lines;

static void make_device(void)
{
	vmport_destroy(vp);
	vp = vmport_create(&config, &(struct bxkd_log){ capture_log, &log_lines });
	ck_assert_ptr_nonnull(vp);
}

static void setup(void)
{
	vmport_config_init(&config);
	config.ips = TEST_IPS;
	config.epoch_seconds = TEST_EPOCH;
	config.ram_bytes = 32u << 20;
	memset(&log_lines, 0, sizeof(log_lines));
	fake_vcpu_init(&cpu, 1 << 20);
	vp = NULL;
	make_device();
}

static void teardown(void)
{
	vmport_destroy(vp);
	fake_vcpu_free(&cpu);
}

/* A low-bandwidth IN with these registers; returns the new EAX. */
static uint32_t call_in(uint32_t ecx, uint32_t ebx)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC, ebx, ecx, BDOOR_PORT, 0x51515151, 0xd1d1d1d1);
	cpu.reg[GUEST_REG_EBP] = 0xb0b0b0b0;
	fake_vcpu_clear_writes(&cpu);
	return fake_vcpu_io(&cpu, vp, BDOOR_PORT, GUEST_PORT_IN).in_value;
}

/* ---- the entry --------------------------------------------------------- */

/* T1: GETVERSION through IN. */
START_TEST(getversion_in_answers_version_magic_and_type)
{
	ck_assert_uint_eq(call_in(BDOOR_CMD_GETVERSION, ~BDOOR_MAGIC), 6);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], BDOOR_MAGIC);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ECX], BDOOR_VMX_TYPE_WORKSTATION);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX], BDOOR_PORT);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ESI], 0x51515151);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDI], 0xd1d1d1d1);
	/* EAX travels as the IN result, never through set_reg. */
	ck_assert_uint_eq(cpu.reg_writes[GUEST_REG_EAX], 0);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 2);
}
END_TEST

START_TEST(out_changes_everything_but_eax)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC, ~BDOOR_MAGIC, BDOOR_CMD_GETVERSION, BDOOR_PORT, 0, 0);

	fake_vcpu_io(&cpu, vp, BDOOR_PORT, GUEST_PORT_OUT);

	ck_assert_uint_eq(cpu.reg[GUEST_REG_EAX], BDOOR_MAGIC);
	ck_assert_uint_eq(cpu.reg_writes[GUEST_REG_EAX], 0);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], BDOOR_MAGIC);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ECX], BDOOR_VMX_TYPE_WORKSTATION);
}
END_TEST

START_TEST(results_keep_the_upper_halves_of_64_bit_registers)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC, 0, BDOOR_CMD_GETVERSION, BDOOR_PORT, 0, 0);
	cpu.reg[GUEST_REG_EBX] |= 0xaaaaaaaa00000000ull;
	cpu.reg[GUEST_REG_ECX] |= 0x5555555500000000ull;

	fake_vcpu_io(&cpu, vp, BDOOR_PORT, GUEST_PORT_IN);

	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 0xaaaaaaaa00000000ull | BDOOR_MAGIC);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ECX], 0x5555555500000000ull | 4);
}
END_TEST

/* The command is ECX[15:0]; a subcommand in ECX[31:16] does not change it. */
START_TEST(command_is_the_low_word_of_ecx)
{
	ck_assert_uint_eq(call_in(0x1234u << 16 | BDOOR_CMD_GETVERSION, 0), 6);
}
END_TEST

/* T2: a bad magic is an empty port. */
START_TEST(bad_magic_reads_all_ones_and_changes_nothing)
{
	fake_vcpu_load(&cpu, 0x12345678, ~BDOOR_MAGIC, BDOOR_CMD_GETVERSION, BDOOR_PORT, 1, 2);

	ck_assert_uint_eq(fake_vcpu_io(&cpu, vp, BDOOR_PORT, GUEST_PORT_IN).in_value, 0xffffffffu);
	fake_vcpu_load(&cpu, 0x12345678, ~BDOOR_MAGIC, BDOOR_CMD_GETVERSION, BDOOR_PORT, 1, 2);
	fake_vcpu_io(&cpu, vp, BDOOR_PORT, GUEST_PORT_OUT);

	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
	ck_assert_uint_eq(vmport_get_stats(vp)->bad_magic, 2);
	ck_assert_uint_eq(vmport_get_stats(vp)->calls, 0);
}
END_TEST

START_TEST(magic_must_match_in_all_32_bits)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC ^ 0x80000000u, 0, BDOOR_CMD_GETVERSION, BDOOR_PORT, 0, 0);

	ck_assert_uint_eq(fake_vcpu_io(&cpu, vp, BDOOR_PORT, GUEST_PORT_IN).in_value, 0xffffffffu);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
}
END_TEST

START_TEST(other_ports_are_not_the_backdoor)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC, 0, BDOOR_CMD_GETVERSION, BDOOR_PORT, 0, 0);

	ck_assert_uint_eq(fake_vcpu_io(&cpu, vp, 0x565a, GUEST_PORT_IN).in_value, 0xffffffffu);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
}
END_TEST

/* T3 (register part): unknown command, EBX seeded 0xDEADBEEF comes back. */
START_TEST(unknown_command_leaves_registers_alone)
{
	ck_assert_uint_eq(call_in(0x0fff, 0xdeadbeef), 0xffffffffu);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 0xdeadbeef);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
	ck_assert_uint_eq(vmport_get_stats(vp)->unknown_commands, 1);
}
END_TEST

START_TEST(unknown_commands_are_logged_once_each_with_the_tick)
{
	cpu.ticks = 777;
	for (int i = 0; i < 100; i++)
		call_in(0x0fff, 0);
	ck_assert_uint_eq(log_lines.lines, 1);
	ck_assert_ptr_nonnull(strstr(log_lines.last, "unknown backdoor command 4095"));
	ck_assert_ptr_nonnull(strstr(log_lines.last, "tick 777"));

	call_in(0xffff, 0);
	ck_assert_uint_eq(log_lines.lines, 2);
	ck_assert_uint_eq(vmport_get_stats(vp)->unknown_commands, 101);
}
END_TEST

/* VMware has it, we do not: answered as unknown, but named in the log. */
START_TEST(unimplemented_commands_answer_like_unknown_ones)
{
	ck_assert_uint_eq(call_in(BDOOR_CMD_APMFUNCTION, 0x1234), 0xffffffffu);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
	ck_assert_ptr_nonnull(strstr(log_lines.last, "unimplemented backdoor command 2 APMFUNCTION"));
}
END_TEST

START_TEST(calls_are_counted)
{
	for (int i = 0; i < 3; i++)
		call_in(BDOOR_CMD_GETVERSION, 0);
	ck_assert_uint_eq(vmport_get_stats(vp)->calls, 3);
}
END_TEST

/* ---- CPL 0 only ---------------------------------------------------------- */

START_TEST(cpl0_commands_are_refused_at_cpl3)
{
	static const uint16_t restricted[] = { BDOOR_CMD_OS_NOT_FOUND, BDOOR_CMD_APMFUNCTION,
					       BDOOR_CMD_STEALCLOCK, BDOOR_CMD_FIRMWARE_UPDATE };

	cpu.cpl = 3;
	for (size_t i = 0; i < sizeof(restricted) / sizeof(*restricted); i++) {
		ck_assert_uint_eq(call_in(restricted[i], 0xdeadbeef), 0xffffffffu);
		ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 0xdeadbeef);
		ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
	}
	ck_assert_uint_eq(vmport_get_stats(vp)->refused_commands, 4);
	ck_assert_uint_eq(log_lines.lines, 0);
}
END_TEST

START_TEST(cpl1_and_cpl2_are_not_cpl0_either)
{
	for (unsigned level = 1; level <= 2; level++) {
		cpu.cpl = level;
		ck_assert_uint_eq(call_in(BDOOR_CMD_OS_NOT_FOUND, 0), 0xffffffffu);
	}
	ck_assert_uint_eq(vmport_get_stats(vp)->refused_commands, 2);
}
END_TEST

START_TEST(unrestricted_commands_work_at_cpl3)
{
	cpu.cpl = 3;
	ck_assert_uint_eq(call_in(BDOOR_CMD_GETVERSION, 0), 6);
	ck_assert_uint_eq(call_in(BDOOR_CMD_GETHZ, 0), TEST_IPS);
	ck_assert_uint_eq(vmport_get_stats(vp)->refused_commands, 0);
}
END_TEST

/* ---- each command ------------------------------------------------------ */

START_TEST(getmhz_is_the_instruction_rate_rounded)
{
	ck_assert_uint_eq(call_in(BDOOR_CMD_GETMHZ, 0), 4);
	config.ips = 2499600000u;
	make_device();
	ck_assert_uint_eq(call_in(BDOOR_CMD_GETMHZ, 0), 2500);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
}
END_TEST

START_TEST(getversion_reports_the_configured_vmx_type)
{
	config.vmx_type = BDOOR_VMX_TYPE_SCALABLE_SERVER;
	make_device();
	call_in(BDOOR_CMD_GETVERSION, 0);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ECX], BDOOR_VMX_TYPE_SCALABLE_SERVER);
}
END_TEST

START_TEST(getscreensize_packs_width_and_height)
{
	ck_assert_uint_eq(call_in(BDOOR_CMD_GETSCREENSIZE, 0), 1024u << 16 | 768u);
	config.screen_width = 800;
	config.screen_height = 600;
	make_device();
	ck_assert_uint_eq(call_in(BDOOR_CMD_GETSCREENSIZE, 0), 0x03200258u);
}
END_TEST

START_TEST(gethwversion_reports_the_setting)
{
	ck_assert_uint_eq(call_in(BDOOR_CMD_GETHWVERSION, 0), 20);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
}
END_TEST

START_TEST(os_not_found_changes_nothing_and_is_logged_ten_times)
{
	cpu.ticks = 4242;
	for (int i = 0; i < 15; i++) {
		ck_assert_uint_eq(call_in(BDOOR_CMD_OS_NOT_FOUND, 0x1234), BDOOR_MAGIC);
		ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
	}
	ck_assert_uint_eq(log_lines.lines, 10);
	ck_assert_ptr_nonnull(strstr(log_lines.last, "found no operating system"));
	ck_assert_ptr_nonnull(strstr(log_lines.last, "not reported again"));
}
END_TEST

/* T8: QEMU's byte order, the only one a source shows. */
START_TEST(getuuid_returns_the_uuid_as_little_endian_dwords)
{
	char error[128];

	ck_assert(vmport_config_set(&config, "uuid", "00112233-4455-6677-8899-aabbccddeeff", error,
				    sizeof(error)));
	make_device();
	ck_assert_uint_eq(call_in(BDOOR_CMD_GETUUID, 0), 0x33221100u);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 0x77665544u);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ECX], 0xbbaa9988u);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX], 0xffeeddccu);
}
END_TEST

/* T9, VMware's unit: MiB. */
START_TEST(getmemsize_reports_mebibytes)
{
	ck_assert_uint_eq(call_in(BDOOR_CMD_GETMEMSIZE, 0), 32);
	config.ram_bytes = 256u << 20;
	make_device();
	ck_assert_uint_eq(call_in(BDOOR_CMD_GETMEMSIZE, 0), 0x100);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
}
END_TEST

START_TEST(gettime_is_the_emulated_clock)
{
	cpu.ticks = 3ull * TEST_IPS + TEST_IPS / 4; /* 3.25 s after power-on */

	ck_assert_uint_eq(call_in(BDOOR_CMD_GETTIME, 0), TEST_EPOCH + 3);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 250000);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ECX], BDOOR_MAX_TIME_LAG_USEC);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX], 0);
}
END_TEST

START_TEST(gettime_is_the_same_for_the_same_tick)
{
	struct vmport *first = vp;
	cpu.ticks = 123456789;

	uint32_t s1 = call_in(BDOOR_CMD_GETTIME, 0), us1 = (uint32_t)cpu.reg[GUEST_REG_EBX];
	vp = vmport_create(&config, NULL);
	uint32_t s2 = call_in(BDOOR_CMD_GETTIME, 0), us2 = (uint32_t)cpu.reg[GUEST_REG_EBX];
	vmport_destroy(first);

	ck_assert_uint_eq(s1, s2);
	ck_assert_uint_eq(us1, us2);
	ck_assert_uint_eq(s1, TEST_EPOCH + 30);
	ck_assert_uint_eq(us1, 864197);
}
END_TEST

START_TEST(stopcatchup_changes_nothing)
{
	ck_assert_uint_eq(call_in(BDOOR_CMD_STOPCATCHUP, 0x77), BDOOR_MAGIC);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
}
END_TEST

/* T5 shape: the TSC and the APIC timer both run at the instruction rate. */
START_TEST(gethz_reports_the_tsc_and_apic_rates)
{
	config.ips = 2000000000u;
	make_device();
	ck_assert_uint_eq(call_in(BDOOR_CMD_GETHZ, 0), 0x77359400u);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 0);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ECX], 0x77359400u);

	config.ips = 5000000000ull;
	make_device();
	ck_assert_uint_eq(call_in(BDOOR_CMD_GETHZ, 0), (uint32_t)5000000000ull);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 1);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ECX], 0xffffffffu);
}
END_TEST

/* T6 */
START_TEST(gethz_says_unknown_without_a_rate)
{
	config.ips = 0;
	make_device();
	call_in(BDOOR_CMD_GETHZ, 0);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], BDOOR_GETHZ_UNKNOWN);
}
END_TEST

/* T10: success leaves EAX = magic; seconds split over EDX (low), ESI (high). */
START_TEST(gettimefull_splits_64_bit_seconds)
{
	config.epoch_seconds = 0x100000005ull;
	make_device();
	cpu.ticks = 2ull * TEST_IPS + 1;

	ck_assert_uint_eq(call_in(BDOOR_CMD_GETTIMEFULL, 0), BDOOR_MAGIC);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 0);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ECX], BDOOR_MAX_TIME_LAG_USEC);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX], 7);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_ESI], 1);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDI], 0xd1d1d1d1);
}
END_TEST

START_TEST(gettimefull_with_lag_adds_a_zero_lag)
{
	cpu.ticks = TEST_IPS / 2;

	ck_assert_uint_eq(call_in(BDOOR_CMD_GETTIMEFULL_WITH_LAG, 0), BDOOR_MAGIC);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EBX], 500000);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDX], TEST_EPOCH);
	ck_assert_uint_eq(cpu.reg[GUEST_REG_EDI], 0);
}
END_TEST

/* T7 shape: bit 31 clear, so the other bits mean something. */
START_TEST(get_vcpu_info_reports_the_setting)
{
	ck_assert_uint_eq(call_in(BDOOR_CMD_GET_VCPU_INFO, 0), BDOOR_VCPU_INFO_SYNC_VTSCS);
	config.vcpu_info = BDOOR_VCPU_INFO_LEGACY_X2APIC_OK;
	make_device();
	ck_assert_uint_eq(call_in(BDOOR_CMD_GET_VCPU_INFO, 0), 8);
}
END_TEST

BXKD_SUITE(vmport,
	testcases_add_with(s, "entry", 0, setup, teardown, TESTS(
		getversion_in_answers_version_magic_and_type, out_changes_everything_but_eax,
		results_keep_the_upper_halves_of_64_bit_registers, command_is_the_low_word_of_ecx,
		bad_magic_reads_all_ones_and_changes_nothing, magic_must_match_in_all_32_bits,
		other_ports_are_not_the_backdoor, unknown_command_leaves_registers_alone,
		unknown_commands_are_logged_once_each_with_the_tick,
		unimplemented_commands_answer_like_unknown_ones, calls_are_counted));
	testcases_add_with(s, "cpl", 0, setup, teardown, TESTS(
		cpl0_commands_are_refused_at_cpl3, cpl1_and_cpl2_are_not_cpl0_either,
		unrestricted_commands_work_at_cpl3));
	testcases_add_with(s, "commands", 0, setup, teardown, TESTS(
		getmhz_is_the_instruction_rate_rounded, getversion_reports_the_configured_vmx_type,
		getscreensize_packs_width_and_height, gethwversion_reports_the_setting,
		os_not_found_changes_nothing_and_is_logged_ten_times,
		getuuid_returns_the_uuid_as_little_endian_dwords, getmemsize_reports_mebibytes,
		gettime_is_the_emulated_clock, gettime_is_the_same_for_the_same_tick,
		stopcatchup_changes_nothing, gethz_reports_the_tsc_and_apic_rates,
		gethz_says_unknown_without_a_rate, gettimefull_splits_64_bit_seconds,
		gettimefull_with_lag_adds_a_zero_lag, get_vcpu_info_reports_the_setting));
)
