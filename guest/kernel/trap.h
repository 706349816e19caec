/*
 * trap.h -- the interrupt descriptor table and trap handlers.
 */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdint.h>

/* What entry.S leaves on the stack, lowest address first. */
#ifdef __x86_64__
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
	uint64_t vector, error_code;
	/* In long mode the CPU pushes SS:RSP on every trap. */
	uint64_t rip, cs, rflags, rsp, ss;
};

static inline uintptr_t trap_pc(const struct trap_frame *frame)
{
	return frame->rip;
}

static inline void trap_set_pc(struct trap_frame *frame, uintptr_t pc)
{
	frame->rip = pc;
}
#else
struct trap_frame {
	uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
	uint32_t vector, error_code;
	uint32_t eip, cs, eflags;
	/* Only present when the trap came from a lower privilege level. */
	uint32_t user_esp, user_ss;
};

static inline uintptr_t trap_pc(const struct trap_frame *frame)
{
	return frame->eip;
}

static inline void trap_set_pc(struct trap_frame *frame, uintptr_t pc)
{
	frame->eip = pc;
}
#endif

typedef void (*trap_handler_fn)(struct trap_frame *frame);

/* "#BP breakpoint" and the like; "unexpected interrupt" past 31. */
const char *trap_name(unsigned vector);

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
