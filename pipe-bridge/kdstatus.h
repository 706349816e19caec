/*
 * kdstatus.h -- the live status of a KD link, as the one who carries it
 * (the vmport device's bridge, or bxkd-tap relaying COM1) tells it to the
 * one who shows it (`bxkd run`).
 *
 * The channel is a small text file of one line that the carrier rewrites
 * whole (a new file renamed over the old one, so that a reader never sees
 * half a line), at most every KD_STATUS_WRITE_MS:
 *
 *   bxkd-status 1 source=device attached=1 to_debugger=12 from_debugger=10
 *                 retransmitted=0 resets=1 breakins=0 tick=25324853
 *
 * (one line). Everything here but kd_status_write_file and
 * kd_status_read_file is sans-I/O: text and numbers in, text and decisions
 * out; the clock is the caller's.
 */
#ifndef BXKD_KDSTATUS_H
#define BXKD_KDSTATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Who counted: the device's bridge sees KD packets as the target sends
 * and accepts them; the relay decodes the bytes that pass on COM1. */
enum kd_status_source { KD_STATUS_DEVICE, KD_STATUS_RELAY };

struct kd_status {
	enum kd_status_source source;
	bool attached;           /* a debugger is connected to the endpoint */
	uint64_t to_debugger;    /* data packets towards the debugger */
	uint64_t from_debugger;  /* data packets from the debugger */
	uint64_t retransmitted;  /* data frames sent again (device: those a debugger heard;
				    relay: RESENDs asked for) */
	uint64_t resets;         /* KDCOM RESETs */
	uint64_t breakins;       /* the debugger's break-in bytes */
	uint64_t tick;           /* the guest's instruction tick (device only; 0 for the relay) */
};

/* The file's line, its newline and NUL included, always fits. */
#define KD_STATUS_LINE_MAX 256u
/* How often a carrier rewrites the file at most. */
#define KD_STATUS_WRITE_MS 250u

/* The file's line for `s`, with its newline. */
void kd_status_format(const struct kd_status *s, char *line, size_t size);

/* Reads a line kd_status_format wrote (the newline optional); false for
 * anything else: another version, a missing, repeated or unknown key, a
 * number that does not fit, trailing text. */
bool kd_status_parse(const char *text, size_t length, struct kd_status *s);

/* Whether a and b say the same, the tick aside unless with_tick. */
bool kd_status_same(const struct kd_status *a, const struct kd_status *b, bool with_tick);

/* When to pass a status on: not more often than every interval_ms, and
 * only when it differs from the last one passed on. */
struct kd_status_pace {
	uint64_t interval_ms;
	bool with_tick; /* a new tick alone is a difference */
	bool passed_any;
	uint64_t passed_ms;
	struct kd_status passed;
};

void kd_status_pace_init(struct kd_status_pace *pace, uint64_t interval_ms, bool with_tick);

/* True when `s`, at now_ms, is to be passed on (and then remembered as
 * passed); `force` passes a difference at once (the last word). */
bool kd_status_pace_due(struct kd_status_pace *pace, const struct kd_status *s, uint64_t now_ms,
			bool force);

/* One line for people: where (`address`, may be NULL), whether a debugger
 * is there, the packets each way, resets, retransmissions, break-ins, and
 * the guest's emulated time from the tick at `ips`. No newline. When the
 * whole does not fit in `size` (a terminal's width), whole parts are left
 * out from the end (the guest's time, break-ins), then the address, then
 * more from the end; nothing is ever cut in the middle. */
void kd_status_describe(const struct kd_status *s, const char *address, uint64_t ips, char *out,
			size_t size);

/* ---- the line on a screen ------------------------------------------------------------------ */

/* How `bxkd run` shows the status between the guest's console lines: on a
 * terminal one line rewritten in place ("\r", erase to the end of the
 * line) at most every KD_STATUS_TERMINAL_MS; into a pipe or a file a
 * plain line only when the counts changed (the tick alone is no change),
 * at most every KD_STATUS_PLAIN_MS. The calls give the text to write. */
#define KD_STATUS_TERMINAL_MS 250u
#define KD_STATUS_PLAIN_MS 1000u
#define KD_STATUS_TEXT_MAX 1024u

struct kd_status_display {
	bool terminal;
	size_t columns;      /* the terminal's width */
	const char *prefix;  /* in front of every line, e.g. "bxkd: " */
	const char *address; /* where the debugger attaches, or NULL */
	uint64_t ips;
	struct kd_status_pace pace;
	bool on_screen; /* terminal: our line is there, unfinished */
};

void kd_status_display_init(struct kd_status_display *d, bool terminal, size_t columns,
			    const char *prefix, const char *address, uint64_t ips);

/* What to write for `s` at now_ms; "" when nothing is due. */
void kd_status_display_update(struct kd_status_display *d, const struct kd_status *s,
			      uint64_t now_ms, char *out, size_t size);

/* What to write before a line of other output: on a terminal, our line
 * erased (and drawn again by the next update). */
void kd_status_display_clear(struct kd_status_display *d, char *out, size_t size);

/* The last word: the final counts as a finished line of their own, whole. */
void kd_status_display_end(struct kd_status_display *d, const struct kd_status *s, char *out,
			   size_t size);

/* ---- the file (I/O) ----------------------------------------------------------------------- */

/* Writes the line to path + ".new" and renames it over path. */
bool kd_status_write_file(const char *path, const struct kd_status *s, char *error,
			  size_t error_size);

/* Reads and parses path; false if it is not there (yet) or not a status. */
bool kd_status_read_file(const char *path, struct kd_status *s);

#ifdef __cplusplus
}
#endif

#endif /* BXKD_KDSTATUS_H */
