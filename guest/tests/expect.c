/*
 * expect.c -- helpers the guest tests share (expect.h).
 */
#include "expect.h"

#include <stddef.h>

#include "boot_options.h"
#include "format.h"
#include "kstring.h"

struct bd_regs seeded(uint32_t eax, uint32_t ebx, uint32_t ecx)
{
	struct bd_regs r = {
		.eax = eax, .ebx = ebx, .ecx = ecx, .edx = BDOOR_PORT,
		.esi = SEED_ESI, .edi = SEED_EDI, .ebp = SEED_EBP,
	};
	return r;
}

struct bd_regs seeded_call(uint32_t command)
{
	struct bd_regs r = seeded(BDOOR_MAGIC, SEED_EBX, command);

	r.edx |= SEED_EDX_HIGH;
	return r;
}

static const struct {
	const char *name;
	size_t offset;
} registers[] = {
	{ "eax", offsetof(struct bd_regs, eax) }, { "ebx", offsetof(struct bd_regs, ebx) },
	{ "ecx", offsetof(struct bd_regs, ecx) }, { "edx", offsetof(struct bd_regs, edx) },
	{ "esi", offsetof(struct bd_regs, esi) }, { "edi", offsetof(struct bd_regs, edi) },
	{ "ebp", offsetof(struct bd_regs, ebp) },
};

static uint32_t reg_at(const struct bd_regs *r, size_t offset)
{
	uint32_t value;

	memcpy(&value, (const char *)r + offset, sizeof(value));
	return value;
}

bool regs_differ(const struct bd_regs *got, const struct bd_regs *want, char *why, size_t size)
{
	for (size_t i = 0; i < sizeof(registers) / sizeof(*registers); i++) {
		uint32_t g = reg_at(got, registers[i].offset), w = reg_at(want, registers[i].offset);

		if (g != w) {
			format(why, size, "%s=0x%08x expected 0x%08x", registers[i].name, g, w);
			return true;
		}
	}
	return false;
}

bool check_regs(struct guest_test_ctx *t, const struct bd_regs *got, const struct bd_regs *want)
{
	char why[48];

	if (!regs_differ(got, want, why, sizeof(why)))
		return true;
	gt_fail(t, "%s", why);
	return false;
}

void expect_regs(struct guest_test_ctx *t, const struct bd_regs *got, const struct bd_regs *want)
{
	check_regs(t, got, want);
	gt_note(t, "eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x", got->eax, got->ebx, got->ecx,
		got->edx);
}

uint32_t expected_u32(struct guest_test_ctx *t, const char *key, uint32_t fallback)
{
	uint32_t value;

	if (!bootopt_u32(key, fallback, &value))
		gt_fail(t, "boot option %s is not a decimal or 0x-hex number", key);
	return value;
}

uint32_t expected_vmx_type(struct guest_test_ctx *t)
{
	return expected_u32(t, "expect_vmx_type", DEFAULT_VMX_TYPE);
}

/* The text of a string-valued option, or its default. */
static void option_text(const char *key, const char *fallback, const char **text, size_t *len)
{
	if (!bootopt_get(key, text, len)) {
		*text = fallback;
		*len = strlen(fallback);
	}
}

bool expected_uuid(struct guest_test_ctx *t, uint8_t uuid[BXKD_UUID_BYTES])
{
	const char *text;
	size_t len;

	option_text("expect_uuid", DEFAULT_UUID, &text, &len);
	if (bxkd_uuid_parse(text, len, uuid))
		return true;
	gt_fail(t, "boot option expect_uuid is not a UUID (8-4-4-4-12 hex digits)");
	return false;
}

bool expected_screen(struct guest_test_ctx *t, uint32_t *width, uint32_t *height)
{
	const char *text;
	size_t len, x = 0;

	option_text("expect_screen", DEFAULT_SCREEN, &text, &len);
	while (x < len && text[x] != 'x')
		x++;
	if (x < len && parse_u32(text, x, width) && parse_u32(text + x + 1, len - x - 1, height))
		return true;
	gt_fail(t, "boot option expect_screen is not WIDTHxHEIGHT");
	return false;
}

void fail_rpc(struct guest_test_ctx *t, const char *call, const struct rpc_failure *f)
{
	if (f->what)
		gt_fail(t, "%s: %s gave 0x%08x, expected 0x%08x", call, f->what, f->got, f->want);
	else
		gt_fail(t, "%s failed", call);
}

bool expect_rpci(struct guest_test_ctx *t, const char *request, const char *want, bool use_hb)
{
	enum { REPLY_MAX = 128 };
	char text[REPLY_MAX];
	struct rpc_reply reply = { .buf = text, .size = sizeof(text) };

	if (!rpci(request, &reply, use_hb)) {
		fail_rpc(t, "rpci", &reply.failure);
		return false;
	}
	if (reply.len != strlen(want) || memcmp(reply.buf, want, reply.len)) {
		gt_fail(t, "reply \"%s\" (%u bytes), expected \"%s\"", reply.buf, reply.len, want);
		return false;
	}
	gt_note(t, "reply=\"%s\"", reply.buf);
	return true;
}
