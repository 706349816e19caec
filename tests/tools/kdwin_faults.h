/*
 * kdwin_faults.h -- kd-win-target's line: the byte streams cut into KDCOM
 * units (a frame, a break-in byte, a stray byte) and faults injected on
 * each unit, drawn from a seeded generator, so that a seed and a rate give
 * the same faults on the same traffic every time.
 */
#ifndef BXKD_KDWIN_FAULTS_H
#define BXKD_KDWIN_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxkd/kdcom.h"

struct json_object;

enum kdwin_fault_kind {
	KDWIN_ACK_OUT = 1 << 0,	  /* the target's ACKs lost */
	KDWIN_ACK_IN = 1 << 1,	  /* the debugger's ACKs lost: implicit ACK by a resend */
	KDWIN_LOSE = 1 << 2,	  /* data frames lost, either way */
	KDWIN_DUPLICATE = 1 << 3, /* data frames arriving twice, either way */
	KDWIN_GARBAGE = 1 << 4,	  /* stray bytes between frames, either way */
	KDWIN_CORRUPT = 1 << 5,	  /* a data frame's byte damaged: checksum error */
	KDWIN_RESET = 1 << 6,	  /* the target resets the link itself */
};

/* "ack-out,ack-in,lose,duplicate,garbage,corrupt,reset,all" */
extern const char kdwin_fault_names[];

struct kdwin_fault_counts {
	uint64_t ack_out, ack_in, lost, duplicated, garbage, corrupted, resets;
	uint64_t scripted;  /* frames dropped by --lose-ack-of / --lose-reply-of */
	uint64_t swallowed; /* bytes a running target read and threw away */
};

/* Bytes waiting to become whole units. */
struct kdwin_stream {
	uint8_t bytes[4 * KDCOM_MAX_FRAME];
	size_t length;
};

struct kdwin_faults {
	unsigned kinds;
	uint32_t rate_ppm; /* per frame, parts per million */
	uint64_t seed, state;
	/* Scripted: the first request of this API loses its ACKs (and with
	 * lose_reply its reply, until the target drops it). */
	uint32_t lose_api;
	bool lose_reply, lose_armed, muting_acks, muting_replies;
	struct kdwin_stream in, out;
	struct kdwin_fault_counts counts;
	/* Sees every unit and what was done to it ("lost", "corrupted", ...;
	 * "" when it passed); may be NULL. */
	void (*trace)(void *ctx, bool outgoing, const uint8_t *unit, size_t length,
		      const char *fault);
	void *trace_ctx;
};

void kdwin_faults_init(struct kdwin_faults *f);
bool kdwin_faults_parse_kinds(struct kdwin_faults *f, const char *list);
/* A percentage, "1" or "0.5". */
bool kdwin_faults_parse_rate(struct kdwin_faults *f, const char *text);
/* API by name (GetContext, Continue2, ...). */
bool kdwin_faults_lose(struct kdwin_faults *f, const char *api, bool reply_too);
/* Seeds the generator from f->seed. */
void kdwin_faults_start(struct kdwin_faults *f);

/* The target took a request / dropped a reply / saw the link reset /
 * stopped again. The scripted losses last until the reply is dropped or
 * the link is reset (a RESET ends the bad spell). */
void kdwin_faults_packet(struct kdwin_faults *f, uint32_t api);
void kdwin_faults_reply_dropped(struct kdwin_faults *f);
void kdwin_faults_link_reset(struct kdwin_faults *f);
void kdwin_faults_stopped(struct kdwin_faults *f);
/* Whether the target starts a RESET now. */
bool kdwin_faults_draw_reset(struct kdwin_faults *f);

/* The engine's output: whole units, with faults, through write(). */
void kdwin_faults_output(struct kdwin_faults *f, const uint8_t *bytes, size_t length,
			 void (*write)(void *ctx, const uint8_t *bytes, size_t length), void *ctx);
/* Bytes from the debugger; delivered by kdwin_faults_deliver(). */
void kdwin_faults_input(struct kdwin_faults *f, const uint8_t *bytes, size_t length);
bool kdwin_faults_input_pending(const struct kdwin_faults *f);
/* Hands each whole input unit, with faults, to take(); stops early when
 * take() returns false (the rest stays for later). */
void kdwin_faults_deliver(struct kdwin_faults *f,
			  bool (*take)(void *ctx, const uint8_t *bytes, size_t length), void *ctx);
/* The line dropped: half units are gone. */
void kdwin_faults_line_restarted(struct kdwin_faults *f);

void kdwin_faults_report(const struct kdwin_fault_counts *counts, struct json_object *report);

/* The simulated memory's byte at offset i; tests compute it too. */
static inline uint8_t kdwin_pattern(uint32_t i)
{
	return (uint8_t)(i * 7u + (i >> 8) * 13u + 0x5au);
}

#endif /* BXKD_KDWIN_FAULTS_H */
