/*
 * trap.h -- the interrupt descriptor table and trap handlers.
 */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdint.h>

/* What entry.S leaves on the stack, lowest address first. */
struct trap_frame {
	uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
	uint32_t vector, error_code;
	uint32_t eip, cs, eflags;
	/* Only present when the trap came from a lower privilege level. */
	uint32_t user_esp, user_ss;
};

typedef void (*trap_handler_fn)(struct trap_frame *frame);

/* Fills all 256 gates; until a handler is set, any trap is fatal. */
void idt_init(void);

/* A handler may change the frame (EIP, registers) it returns to. */
void trap_set_handler(uint8_t vector, trap_handler_fn handler);

/* Points `vector` at `entry` with a gate ring 3 may use with INT n. The
 * entry runs at CPL 0 on the TSS's ring 0 stack, outside trap_dispatch. */
void trap_set_user_gate(uint8_t vector, void (*entry)(void));

/* The report of an unhandled trap: registers, then BXKD FATAL. */
__attribute__((noreturn)) void trap_fatal(const struct trap_frame *frame);

#endif /* GUEST_TRAP_H */
