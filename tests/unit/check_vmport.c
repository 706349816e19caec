/*
 * check_vmport.c -- the backdoor core driven through a fake vCPU.
 *
 * Register vectors T1-T3 are from shared/docs/vmware-backdoor.md section 6.2.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "bxkd/backdoor.h"
#include "fake_vcpu.h"
#include "suites.h"
#include "vmport.h"

struct captured_log {
	unsigned lines;
	char last[256];
};

static void capture_log(void *ctx, enum vmport_log_level level, const char *message)
{
	struct captured_log *log = ctx;

	(void)level;
	log->lines++;
	strncpy(log->last, message, sizeof(log->last) - 1);
}

static struct fake_vcpu cpu;
static struct vmport *vp;
static struct captured_log log_lines;

static void setup(void)
{
	struct vmport_config config;

	vmport_config_init(&config);
	memset(&log_lines, 0, sizeof(log_lines));
	fake_vcpu_init(&cpu, 1 << 20);
	vp = vmport_create(&config, capture_log, &log_lines);
	ck_assert_ptr_nonnull(vp);
}

static void teardown(void)
{
	vmport_destroy(vp);
	fake_vcpu_free(&cpu);
}

/* T1: GETVERSION through IN. */
START_TEST(getversion_in_answers_version_magic_and_type)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC, ~BDOOR_MAGIC, BDOOR_CMD_GETVERSION, BDOOR_PORT, 0x51515151,
		       0xd1d1d1d1);

	uint32_t eax = vmport_io(vp, &cpu.vcpu, BDOOR_PORT, VMPORT_IN);

	ck_assert_uint_eq(eax, 6);
	ck_assert_uint_eq(cpu.reg[VMPORT_REG_EBX], BDOOR_MAGIC);
	ck_assert_uint_eq(cpu.reg[VMPORT_REG_ECX], BDOOR_VMX_TYPE_WORKSTATION);
	ck_assert_uint_eq(cpu.reg[VMPORT_REG_EDX], BDOOR_PORT);
	ck_assert_uint_eq(cpu.reg[VMPORT_REG_ESI], 0x51515151);
	ck_assert_uint_eq(cpu.reg[VMPORT_REG_EDI], 0xd1d1d1d1);
}
END_TEST

START_TEST(getversion_writes_only_the_registers_it_changes)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC, 0, BDOOR_CMD_GETVERSION, BDOOR_PORT, 0, 0);

	vmport_io(vp, &cpu.vcpu, BDOOR_PORT, VMPORT_IN);

	/* EAX travels as the IN result, never through set_reg. */
	ck_assert_uint_eq(cpu.reg_writes[VMPORT_REG_EAX], 0);
	ck_assert_uint_eq(cpu.reg_writes[VMPORT_REG_EBX], 1);
	ck_assert_uint_eq(cpu.reg_writes[VMPORT_REG_ECX], 1);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 2);
}
END_TEST

START_TEST(getversion_out_changes_everything_but_eax)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC, ~BDOOR_MAGIC, BDOOR_CMD_GETVERSION, BDOOR_PORT, 0, 0);

	vmport_io(vp, &cpu.vcpu, BDOOR_PORT, VMPORT_OUT);

	ck_assert_uint_eq(cpu.reg[VMPORT_REG_EAX], BDOOR_MAGIC);
	ck_assert_uint_eq(cpu.reg_writes[VMPORT_REG_EAX], 0);
	ck_assert_uint_eq(cpu.reg[VMPORT_REG_EBX], BDOOR_MAGIC);
	ck_assert_uint_eq(cpu.reg[VMPORT_REG_ECX], BDOOR_VMX_TYPE_WORKSTATION);
}
END_TEST

START_TEST(getversion_reports_the_configured_vmx_type)
{
	struct vmport_config config;

	vmport_config_init(&config);
	config.vmx_type = BDOOR_VMX_TYPE_SCALABLE_SERVER;
	struct vmport *esx = vmport_create(&config, NULL, NULL);
	fake_vcpu_load(&cpu, BDOOR_MAGIC, 0, BDOOR_CMD_GETVERSION, BDOOR_PORT, 0, 0);

	vmport_io(esx, &cpu.vcpu, BDOOR_PORT, VMPORT_IN);

	ck_assert_uint_eq(cpu.reg[VMPORT_REG_ECX], BDOOR_VMX_TYPE_SCALABLE_SERVER);
	vmport_destroy(esx);
}
END_TEST

/* The command is ECX[15:0]; a subcommand in ECX[31:16] does not change it. */
START_TEST(command_is_the_low_word_of_ecx)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC, 0, 0x1234u << 16 | BDOOR_CMD_GETVERSION, BDOOR_PORT, 0,
		       0);

	ck_assert_uint_eq(vmport_io(vp, &cpu.vcpu, BDOOR_PORT, VMPORT_IN), 6);
}
END_TEST

START_TEST(getversion_works_at_cpl3)
{
	cpu.cpl = 3;
	fake_vcpu_load(&cpu, BDOOR_MAGIC, 0, BDOOR_CMD_GETVERSION, BDOOR_PORT, 0, 0);

	ck_assert_uint_eq(vmport_io(vp, &cpu.vcpu, BDOOR_PORT, VMPORT_IN), 6);
	ck_assert_uint_eq(vmport_get_stats(vp)->refused_commands, 0);
}
END_TEST

/* T2: a bad magic is an empty port. */
START_TEST(bad_magic_reads_all_ones_and_changes_nothing)
{
	fake_vcpu_load(&cpu, 0x12345678, ~BDOOR_MAGIC, BDOOR_CMD_GETVERSION, BDOOR_PORT, 1, 2);

	ck_assert_uint_eq(vmport_io(vp, &cpu.vcpu, BDOOR_PORT, VMPORT_IN), 0xffffffffu);
	vmport_io(vp, &cpu.vcpu, BDOOR_PORT, VMPORT_OUT);

	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
	ck_assert_uint_eq(vmport_get_stats(vp)->bad_magic, 2);
	ck_assert_uint_eq(vmport_get_stats(vp)->calls, 0);
}
END_TEST

/* The magic is compared as a whole dword, not just its low bytes. */
START_TEST(magic_must_match_in_all_32_bits)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC ^ 0x80000000u, 0, BDOOR_CMD_GETVERSION, BDOOR_PORT, 0, 0);

	ck_assert_uint_eq(vmport_io(vp, &cpu.vcpu, BDOOR_PORT, VMPORT_IN), 0xffffffffu);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
}
END_TEST

START_TEST(other_ports_are_not_the_low_bandwidth_backdoor)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC, 0, BDOOR_CMD_GETVERSION, BDOOR_PORT, 0, 0);

	ck_assert_uint_eq(vmport_io(vp, &cpu.vcpu, 0x565a, VMPORT_IN), 0xffffffffu);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
}
END_TEST

/* T3 (register part): unknown command, EBX seeded 0xDEADBEEF comes back. */
START_TEST(unknown_command_leaves_registers_alone)
{
	fake_vcpu_load(&cpu, BDOOR_MAGIC, 0xdeadbeef, 0x0fff, BDOOR_PORT, 0x11, 0x22);

	ck_assert_uint_eq(vmport_io(vp, &cpu.vcpu, BDOOR_PORT, VMPORT_IN), 0xffffffffu);
	ck_assert_uint_eq(cpu.reg[VMPORT_REG_EBX], 0xdeadbeef);
	ck_assert_uint_eq(fake_vcpu_total_writes(&cpu), 0);
	ck_assert_uint_eq(vmport_get_stats(vp)->unknown_commands, 1);
}
END_TEST

START_TEST(unknown_commands_are_logged_once_each)
{
	cpu.ticks = 777;
	for (int i = 0; i < 100; i++) {
		fake_vcpu_load(&cpu, BDOOR_MAGIC, 0, 0x0fff, BDOOR_PORT, 0, 0);
		vmport_io(vp, &cpu.vcpu, BDOOR_PORT, VMPORT_IN);
	}
	ck_assert_uint_eq(log_lines.lines, 1);
	ck_assert_ptr_nonnull(strstr(log_lines.last, "4095"));
	ck_assert_ptr_nonnull(strstr(log_lines.last, "tick 777"));

	fake_vcpu_load(&cpu, BDOOR_MAGIC, 0, 0xffff, BDOOR_PORT, 0, 0);
	vmport_io(vp, &cpu.vcpu, BDOOR_PORT, VMPORT_IN);
	ck_assert_uint_eq(log_lines.lines, 2);
	ck_assert_uint_eq(vmport_get_stats(vp)->unknown_commands, 101);
}
END_TEST

START_TEST(calls_are_counted)
{
	for (int i = 0; i < 3; i++) {
		fake_vcpu_load(&cpu, BDOOR_MAGIC, 0, BDOOR_CMD_GETVERSION, BDOOR_PORT, 0, 0);
		vmport_io(vp, &cpu.vcpu, BDOOR_PORT, i % 2 ? VMPORT_OUT : VMPORT_IN);
	}
	ck_assert_uint_eq(vmport_get_stats(vp)->calls, 3);
}
END_TEST

Suite *vmport_suite(void)
{
	Suite *s = suite_create("vmport");
	TCase *entry = tcase_create("entry");

	tcase_add_checked_fixture(entry, setup, teardown);
	tcase_add_test(entry, getversion_in_answers_version_magic_and_type);
	tcase_add_test(entry, getversion_writes_only_the_registers_it_changes);
	tcase_add_test(entry, getversion_out_changes_everything_but_eax);
	tcase_add_test(entry, getversion_reports_the_configured_vmx_type);
	tcase_add_test(entry, command_is_the_low_word_of_ecx);
	tcase_add_test(entry, getversion_works_at_cpl3);
	tcase_add_test(entry, bad_magic_reads_all_ones_and_changes_nothing);
	tcase_add_test(entry, magic_must_match_in_all_32_bits);
	tcase_add_test(entry, other_ports_are_not_the_low_bandwidth_backdoor);
	tcase_add_test(entry, unknown_command_leaves_registers_alone);
	tcase_add_test(entry, unknown_commands_are_logged_once_each);
	tcase_add_test(entry, calls_are_counted);
	suite_add_tcase(s, entry);
	return s;
}
