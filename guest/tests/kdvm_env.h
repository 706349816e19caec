/*
 * kdvm_env.h -- the KD transport module as the test kernel runs it: one
 * page in the kernel image, the backdoor through backdoor.S, physical
 * addresses from the page tables.
 */
#ifndef GUEST_TESTS_KDVM_ENV_H
#define GUEST_TESTS_KDVM_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "backdoor_call.h"
#include "kdvm_transport.h"
#include "testrun.h"

extern struct kdvm kdvm_kernel;
extern struct kdvm_page kdvm_kernel_page;

/* Initialises the module on the kernel's page (again, if it was); returns
 * what kdvm_initialize returned. The nonce is new on every call. */
uint32_t kdvm_env_start(void);

/* One KD subcommand with the given ESI/EDI; returns all registers. */
struct bd_regs kdvm_raw_call(uint16_t subcommand, uint32_t esi, uint32_t edi);

/* A DbgPrint-style DEBUG_IO packet of `length` bytes of `text`. */
void kdvm_env_print(const char *text, uint32_t length);

/* The names of kdvm_status values, for details. */
const char *kdvm_status_text(uint32_t status);

/* Fails the test unless `status` is `want`; true if it is. */
bool expect_kdvm_status(struct guest_test_ctx *t, const char *what, uint32_t status,
			uint32_t want);

#endif /* GUEST_TESTS_KDVM_ENV_H */
