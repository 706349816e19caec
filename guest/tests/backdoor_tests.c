/*
 * backdoor_tests.c -- the backdoor port entry as a guest sees it.
 *
 * Each test loads all seven registers, seeding the ones a command should not
 * touch with values no command returns, and checks every register after the
 * call: the device must change exactly what VMware changes.
 */
#include "backdoor_call.h"
#include "expect.h"
#include "testrun.h"

/* GETVERSION through one of the port instructions: EBX and ECX always
 * change; EAX only where the instruction can receive it (eax_after). */
static void expect_getversion(struct guest_test_ctx *t, void (*port_call)(struct bd_regs *),
			      uint32_t eax_after)
{
	struct bd_regs r = seeded(BDOOR_MAGIC, ~BDOOR_MAGIC, BDOOR_CMD_GETVERSION);
	struct bd_regs want = r;

	want.eax = eax_after;
	want.ebx = BDOOR_MAGIC;
	want.ecx = expected_vmx_type(t);
	port_call(&r);
	expect_regs(t, &r, &want);
}

GUEST_TEST(getversion_in)
{
	expect_getversion(t, bd_in, BDOOR_VERSION_MAGIC);
}

/* OUT triggers the same call; VMware writes every result register except
 * EAX, which an OUT instruction has no way to receive. */
GUEST_TEST(getversion_out)
{
	expect_getversion(t, bd_out, BDOOR_MAGIC);
}

/* Any access size is a call; a byte IN delivers the low byte of EAX. */
GUEST_TEST(getversion_in_al)
{
	expect_getversion(t, bd_in_al, (BDOOR_MAGIC & 0xffffff00u) | BDOOR_VERSION_MAGIC);
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
