/*
 * backdoor_tests.c -- the backdoor port entry as a guest sees it.
 *
 * Each test loads all seven registers, seeding the ones a command should not
 * touch with values no command returns, and checks every register after the
 * call: the device must change exactly what VMware changes.
 */
#include "backdoor.h"
#include "testrun.h"

#define SEED_ESI 0x51515151u
#define SEED_EDI 0xd1d1d1d1u
#define SEED_EBP 0xb0b0b0b0u

/* What this device reports unless configured otherwise. */
#define EXPECTED_VMX_TYPE BDOOR_VMX_TYPE_WORKSTATION

static struct bd_regs seeded(uint32_t eax, uint32_t ebx, uint32_t ecx)
{
	struct bd_regs r = {
		.eax = eax, .ebx = ebx, .ecx = ecx, .edx = BDOOR_PORT,
		.esi = SEED_ESI, .edi = SEED_EDI, .ebp = SEED_EBP,
	};
	return r;
}

static void expect_regs(struct guest_test_ctx *t, const struct bd_regs *got,
			const struct bd_regs *want)
{
	gt_expect_u32(t, "eax", got->eax, want->eax);
	gt_expect_u32(t, "ebx", got->ebx, want->ebx);
	gt_expect_u32(t, "ecx", got->ecx, want->ecx);
	gt_expect_u32(t, "edx", got->edx, want->edx);
	gt_expect_u32(t, "esi", got->esi, want->esi);
	gt_expect_u32(t, "edi", got->edi, want->edi);
	gt_expect_u32(t, "ebp", got->ebp, want->ebp);
	gt_note(t, "eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x", got->eax, got->ebx, got->ecx,
		got->edx);
}

GUEST_TEST(getversion_in)
{
	struct bd_regs r = seeded(BDOOR_MAGIC, ~BDOOR_MAGIC, BDOOR_CMD_GETVERSION);
	struct bd_regs want = r;

	want.eax = BDOOR_VERSION_MAGIC;
	want.ebx = BDOOR_MAGIC;
	want.ecx = EXPECTED_VMX_TYPE;
	bd_in(&r);
	expect_regs(t, &r, &want);
}

/* OUT triggers the same call; VMware writes every result register except
 * EAX, which an OUT instruction has no way to receive. */
GUEST_TEST(getversion_out)
{
	struct bd_regs r = seeded(BDOOR_MAGIC, ~BDOOR_MAGIC, BDOOR_CMD_GETVERSION);
	struct bd_regs want = r;

	want.ebx = BDOOR_MAGIC;
	want.ecx = EXPECTED_VMX_TYPE;
	bd_out(&r);
	expect_regs(t, &r, &want);
}

/* Any access size is a call; a byte IN delivers the low byte of EAX. */
GUEST_TEST(getversion_in_al)
{
	struct bd_regs r = seeded(BDOOR_MAGIC, ~BDOOR_MAGIC, BDOOR_CMD_GETVERSION);
	struct bd_regs want = r;

	want.eax = (BDOOR_MAGIC & 0xffffff00u) | BDOOR_VERSION_MAGIC;
	want.ebx = BDOOR_MAGIC;
	want.ecx = EXPECTED_VMX_TYPE;
	bd_in_al(&r);
	expect_regs(t, &r, &want);
}

/* Without the magic the port is an empty one: IN reads all ones and no
 * other register changes. */
GUEST_TEST(bad_magic_in)
{
	struct bd_regs r = seeded(0x12345678u, ~BDOOR_MAGIC, BDOOR_CMD_GETVERSION);
	struct bd_regs want = r;

	want.eax = BDOOR_NO_ANSWER;
	bd_in(&r);
	expect_regs(t, &r, &want);
}

GUEST_TEST(bad_magic_out)
{
	struct bd_regs r = seeded(0x12345678u, ~BDOOR_MAGIC, BDOOR_CMD_GETVERSION);
	struct bd_regs want = r;

	bd_out(&r);
	expect_regs(t, &r, &want);
}

/* An unknown command faults nothing and leaves EBX alone (the
 * kvm-unit-tests vector); EAX reads as "no answer". */
GUEST_TEST(unknown_command)
{
	struct bd_regs r = seeded(BDOOR_MAGIC, 0xdeadbeefu, 0x0fffu);
	struct bd_regs want = r;

	want.eax = BDOOR_NO_ANSWER;
	bd_in(&r);
	expect_regs(t, &r, &want);
}
