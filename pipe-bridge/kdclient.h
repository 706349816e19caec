/*
 * kdclient.h -- the debugger's side of a KD link, as a blocking library:
 * break in, reset, wait for the target to stop, send manipulate requests
 * and get their replies, continue or single-step.
 *
 * It speaks KDCOM through the engine's debugger role over any endpoint
 * (kdep.h): connect:PATH to the bridge's socket, tcp-connect:, tty: for a
 * pseudo-terminal, or a listener for a target that connects out (Bochs'
 * COM1 in socket-client mode). While it waits for anything it also takes
 * what the target sends unasked: debug prints are collected, symbol loads
 * recorded and continued, file I/O refused, prompts answered empty, the way
 * WinDbg does by default.
 */
#ifndef BXKD_KDCLIENT_H
#define BXKD_KDCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxkd/dbgkd.h"
#include "kdep.h"

struct kdclient_options {
	struct kdep_options endpoint;
	uint32_t resend_timeout_ms; /* default 250 */
	uint32_t retries;	    /* default 20 */
	/* A request whose reply has not come this long after its
	 * acknowledgement is taken as lost: RESET and asked again. Default
	 * (0): 8 resend timeouts. */
	uint32_t reply_timeout_ms;
	/* How often a lost request is asked again, and a continue whose
	 * acknowledgement never came is probed, before the link counts as
	 * failed. Default 5: a loaded host can lose a few to its own slowness. */
	uint32_t attempts;
	/* The link's and the endpoint's messages (may be empty). */
	struct bxkd_log log;
	/* The ACK of a reply waits for the caller's next call, to go out in
	 * one write with the next request (for callers that send requests
	 * back to back; one that pauses makes the target resend). */
	bool ack_with_next_request;
	/* Called with each debug print as it arrives (may be NULL). */
	void (*print)(void *ctx, const char *text, size_t length);
	void *print_ctx;
};

void kdclient_options_init(struct kdclient_options *options);

enum kdclient_status {
	KDCLIENT_OK,
	KDCLIENT_TIMEOUT,       /* nothing (more) in time */
	KDCLIENT_NOT_STOPPED,   /* the target is running; requests need it stopped */
	KDCLIENT_LINK_FAILED,   /* the target stopped acknowledging */
	KDCLIENT_BAD_REPLY,     /* a reply of the wrong kind or length */
};

const char *kdclient_status_name(enum kdclient_status status);

struct kdclient;

struct kdclient *kdclient_open(const struct kdclient_options *options, char *error,
			       size_t error_size);
void kdclient_close(struct kdclient *c);

/* Attach as debuggers do: break-in byte, RESET, then wait for the target
 * to report a stop (symbol loads on the way are continued). */
enum kdclient_status kdclient_connect(struct kdclient *c, uint32_t timeout_ms);

/* Writes what waits to go out now: with ack_with_next_request, the ACK
 * of the last reply, before a pause. */
void kdclient_flush(struct kdclient *c);

/* Ask a running target to stop: the break-in byte. */
void kdclient_breakin(struct kdclient *c);
/* The break-in byte goes out with the next bytes the client sends. Called
 * from the print callback, it travels right behind that print's
 * acknowledgement: the target has it before it runs on, so where it
 * stops depends on what it printed, not on when the bytes arrived. */
void kdclient_queue_breakin(struct kdclient *c);

/* Waits for the target to stop (an exception state change). */
enum kdclient_status kdclient_wait(struct kdclient *c, uint32_t timeout_ms);

bool kdclient_stopped(const struct kdclient *c);
/* Keeps the link going (prints are taken) until the target goes away:
 * KDCLIENT_OK once it has, or once it stopped (kdclient_stopped() then);
 * KDCLIENT_TIMEOUT if neither happened in time. */
enum kdclient_status kdclient_wait_gone(struct kdclient *c, uint32_t timeout_ms);
/* The stop the target reported last. */
const struct dbgkd_any_wait_state_change *kdclient_last_stop(const struct kdclient *c);

/*
 * One manipulate request and its reply. `request` goes out as it is (the
 * caller fills ApiNumber and the union); its Processor is set to the
 * stopped one. On KDCLIENT_OK `reply` holds the 56-byte reply and
 * `reply_data` what followed it (*reply_length bytes, at most capacity).
 */
enum kdclient_status kdclient_request(struct kdclient *c,
				      const struct dbgkd_manipulate_state64 *request,
				      const void *data, size_t data_length,
				      struct dbgkd_manipulate_state64 *reply, void *reply_data,
				      size_t reply_capacity, size_t *reply_length,
				      uint32_t timeout_ms);

/* Resumes the target: ContinueApi2 with the given status, and with
 * TraceFlag set for a single step. Returns once the target has it. */
enum kdclient_status kdclient_continue(struct kdclient *c, uint32_t status, bool single_step);

/* The target's machine (DBGKD_MACHINE_I386 or DBGKD_MACHINE_AMD64), from
 * GetVersion; I386 before it is known. */
uint16_t kdclient_machine(const struct kdclient *c);
/* Whether the last request was asked again after the link lost it: the
 * target may have carried out both (a RestoreBreakPoint then fails the
 * second time). */
bool kdclient_request_reissued(const struct kdclient *c);

/* What the link went through: operations that met a fault and how long
 * they took to complete regardless. */
#define KDCLIENT_RECOVERY_SAMPLES 512
struct kdclient_stats {
	uint64_t reissued;     /* requests asked again after RESET or a new stop */
	uint64_t probes;       /* break-ins and RESETs sent to learn the target's state */
	uint64_t recoveries;   /* operations that met a fault */
	uint32_t max_recovery_ms;
	uint32_t recovery_ms[KDCLIENT_RECOVERY_SAMPLES]; /* the first ones */
	size_t samples;
	uint32_t recovery_bound_ms; /* no operation takes longer while the target answers */
	uint64_t retransmissions, resends_requested, duplicates, resets, bad_checksums, garbage_bytes;
	uint64_t watchdog_resets; /* RESETs the engine started for one it could not explain */
};
void kdclient_stats(const struct kdclient *c, struct kdclient_stats *stats);

/* Modules the target announced with load-symbol state changes. */
struct kdclient_module {
	char path[256];
	uint64_t base;
	uint32_t size;
};
size_t kdclient_modules(const struct kdclient *c, const struct kdclient_module **modules);

/* The kernel version block, fetched on connect. */
const struct dbgkd_get_version64 *kdclient_version(const struct kdclient *c);

const struct kdep *kdclient_endpoint(const struct kdclient *c);

#endif /* BXKD_KDCLIENT_H */
