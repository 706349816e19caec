/*
 * expect.h -- what guest tests share: seeded registers, whole-register-set
 * checks, the device's documented defaults and the boot options that
 * override them.
 */
#ifndef GUEST_TESTS_EXPECT_H
#define GUEST_TESTS_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backdoor_call.h"
#include "bxkd/uuid.h"
#include "guestrpc.h"
#include "testrun.h"

/* Values no command returns, for registers a call must leave alone. */
#define SEED_EBX 0xb7b7b7b7u
#define SEED_EDX_HIGH 0x3d3d0000u /* EDX[15:0] is the port */
#define SEED_ESI 0x51515151u
#define SEED_EDI 0xd1d1d1d1u
#define SEED_EBP 0xb0b0b0b0u

/* Device settings as bochs-plugin/README.md documents their defaults; the
 * expect_* boot options name others when the bochsrc sets them. */
#define DEFAULT_VMX_TYPE BDOOR_VMX_TYPE_WORKSTATION
#define DEFAULT_HW_VERSION 20u
#define DEFAULT_UUID "62786b64-0000-4000-8000-000000000001"
#define DEFAULT_SCREEN "1024x768"
#define DEFAULT_VCPU_INFO BDOOR_VCPU_INFO_SYNC_VTSCS

/* The issue-2 register set: EDX = port, the rest as given or seeded. */
struct bd_regs seeded(uint32_t eax, uint32_t ebx, uint32_t ecx);

/* A call of `command` with every other register seeded, EDX's high half
 * included. */
struct bd_regs seeded_call(uint32_t command);

/* Checks all seven registers and notes EAX..EDX in the detail. */
void expect_regs(struct guest_test_ctx *t, const struct bd_regs *got, const struct bd_regs *want);

/* Checks all seven registers without a note; true if all matched. */
bool check_regs(struct guest_test_ctx *t, const struct bd_regs *got, const struct bd_regs *want);

/* True if any register differs; why[] then names the first, as
 * "ecx=0x... expected 0x...". */
bool regs_differ(const struct bd_regs *got, const struct bd_regs *want, char *why, size_t size);

/* Numeric device setting: boot option `key` or `fallback`. A malformed
 * option fails the test. */
uint32_t expected_u32(struct guest_test_ctx *t, const char *key, uint32_t fallback);

/* GETVERSION's ECX: expect_vmx_type, default workstation (4). */
uint32_t expected_vmx_type(struct guest_test_ctx *t);

/* expect_uuid (8-4-4-4-12 hex digits) or the default, as 16 bytes. */
bool expected_uuid(struct guest_test_ctx *t, uint8_t uuid[BXKD_UUID_BYTES]);

/* expect_screen (WxH, decimal) or the default. */
bool expected_screen(struct guest_test_ctx *t, uint32_t *width, uint32_t *height);

/* Fails the test with where a GuestRPC call went wrong. */
void fail_rpc(struct guest_test_ctx *t, const char *call, const struct rpc_failure *failure);

/* One rpci() round trip whose reply must be exactly `want`; notes the
 * reply in the detail. */
bool expect_rpci(struct guest_test_ctx *t, const char *request, const char *want, bool use_hb);

#endif /* GUEST_TESTS_EXPECT_H */
