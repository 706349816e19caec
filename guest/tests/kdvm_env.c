/*
 * kdvm_env.c -- the KD transport module in the test kernel (see kdvm_env.h).
 */
#include "kdvm_env.h"

#include "bxkd/names.h"

#include "bxkd/dbgkd.h"
#include "io.h"
#include "kstring.h"
#include "paging.h"

struct kdvm kdvm_kernel;
struct kdvm_page kdvm_kernel_page __attribute__((aligned(KDVM_PAGE_SIZE)));

static void kernel_backdoor(void *ctx, struct kdvm_regs *regs)
{
	struct bd_regs r = { regs->eax, regs->ebx, regs->ecx, regs->edx, regs->esi, regs->edi, 0 };

	(void)ctx;
	bd_in(&r);
	*regs = (struct kdvm_regs){ r.eax, r.ebx, r.ecx, r.edx, r.esi, r.edi };
}

static uint64_t physical(void *ctx, const void *address)
{
	(void)ctx;
	return virt_to_phys(address);
}

uint32_t kdvm_env_start(void)
{
	static const struct kdvm_platform platform = { 0, kernel_backdoor, physical };
	static uint32_t boots;

	/* The TSC counts instructions under Bochs: a nonce that differs
	 * between calls yet repeats between runs. */
	uint32_t nonce = (uint32_t)rdtsc() ^ 0x9e3779b9u ^ ++boots << 24;
	return kdvm_initialize(&kdvm_kernel, &platform, &kdvm_kernel_page, nonce, 0);
}

struct bd_regs kdvm_raw_call(uint16_t subcommand, uint32_t esi, uint32_t edi)
{
	struct bd_regs r = {
		.eax = BDOOR_MAGIC,
		.ebx = KDVM_MAGIC,
		.ecx = (uint32_t)subcommand << 16 | BDOOR_CMD_OS_NOT_FOUND,
		.edx = BDOOR_PORT,
		.esi = esi,
		.edi = edi,
	};

	bd_in(&r);
	return r;
}

void kdvm_env_print(const char *text, uint32_t length)
{
	struct dbgkd_debug_io io = { .api_number = DBGKD_PRINT_STRING_API };
	struct kd_string header = { sizeof(io), sizeof(io), (uint8_t *)&io };
	struct kd_string data = { (uint16_t)length, (uint16_t)length, (uint8_t *)text };

	io.u.length_of_string = length;
	kdvm_send_packet(&kdvm_kernel, KDCOM_TYPE_DEBUG_IO, &header, &data, NULL);
}

const char *kdvm_status_text(uint32_t status)
{
	const char *name = kdvm_status_name(status);

	if (status == KDVM_INIT_NO_DEVICE)
		return "NO_DEVICE";
	if (status == BDOOR_NO_ANSWER)
		return "refused";
	return name ? name : "?";
}

bool expect_kdvm_status(struct guest_test_ctx *t, const char *what, uint32_t status,
			uint32_t want)
{
	if (status == want)
		return true;
	gt_fail(t, "%s answered %s (0x%x), expected %s", what, kdvm_status_text(status), status,
		kdvm_status_text(want));
	return false;
}
