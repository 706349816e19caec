/*
 * walkthrough.h -- what bxkd-replay walkthrough shows and says: the steps
 * it follows through a session (each found by the KD packets that begin
 * and end it) and the prose around them (walkthrough_text.c). The
 * records, frames and fields themselves come from walkthrough.c.
 */
#ifndef BXKD_WALKTHROUGH_H
#define BXKD_WALKTHROUGH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A KD packet the kd host port sent (SESSION_KD_SEND) or received
 * (SESSION_KD_RECEIVE): its type and, when not 0, the ApiNumber its
 * message starts with. */
struct step_packet {
	uint8_t op;
	uint16_t type;
	uint32_t api;
};

/* A step runs from the backdoor call that carried `from` (the session's
 * start when from.op is 0) to the end of the call that carried `to`, the
 * first of each after the step before it. */
struct walkthrough_step {
	const char *title;
	struct step_packet from, to;
	const char *prose;
};

#define WALKTHROUGH_STEPS_MAX 16u

extern const struct walkthrough_step walkthrough_steps[];
extern const size_t walkthrough_step_count;

/* The document's beginning: what it shows and how to read it. */
void walkthrough_intro(FILE *out, const char *session, size_t records);
/* "## 3. A read" and the step's prose. */
void walkthrough_step_heading(FILE *out, size_t step);
/* The end: what the rest of the session holds. */
void walkthrough_outro(FILE *out, size_t first_unshown, size_t last_record);

#endif /* BXKD_WALKTHROUGH_H */
