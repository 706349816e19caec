/*
 * vcpu_tap.h -- a struct guest_vcpu that passes every call through to the
 * real one and shows each guest memory access, after it happened, to an
 * observer: how the recorder writes the accesses down and the player
 * checks them against the recording.
 */
#ifndef BXKD_VCPU_TAP_H
#define BXKD_VCPU_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxkd/guestcpu.h"
#include "session.h"

typedef void (*vcpu_tap_memory_fn)(void *owner, uint64_t address, const void *bytes,
				   size_t length, bool write, bool ok);

struct vcpu_tap {
	struct guest_vcpu vcpu; /* what the device is given */
	const struct guest_vcpu *real;
	vcpu_tap_memory_fn memory;
	void *owner;
};

void vcpu_tap_init(struct vcpu_tap *tap, vcpu_tap_memory_fn memory, void *owner);

/* Starts a call on `real`; returns the vcpu to give the device. */
const struct guest_vcpu *vcpu_tap_attach(struct vcpu_tap *tap, const struct guest_vcpu *real);

/* The registers a session record holds, in its order (session.h). */
void vcpu_tap_registers(const struct guest_vcpu *vcpu, uint32_t regs[SESSION_REGS]);

#endif /* BXKD_VCPU_TAP_H */
