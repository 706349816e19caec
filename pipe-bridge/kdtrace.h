/*
 * kdtrace.h -- a KDCOM/KD decoder for people: bytes of one direction of a
 * KD link in, one readable line (or one JSON object) per event out.
 *
 * Sans-I/O: no sockets, no clock, no printing; the caller feeds bytes in
 * pieces of any size and gets each line through its callback. All state is
 * in the caller's struct kdtrace, one per direction, so a live relay
 * (bxkd-tap) and a tool decoding a recorded stream use it the same way.
 *
 * Frames are found exactly as the KDCOM engine's receiver (kdcom_engine.c) finds
 * them: four identical '0' or 'i' leader bytes, a 16-byte header, a payload
 * of at most 4000 bytes and the 0xAA trailer; a break-in byte between
 * frames; everything else is garbage. The counters in struct kdtrace_stats
 * that share a name with struct kdcom_stats count the same things.
 *
 * Lines depend only on the bytes, never on how they were split, except
 * where the caller says the stream paused or broke (kdtrace_pause,
 * kdtrace_break).
 */
#ifndef BXKD_KDTRACE_H
#define BXKD_KDTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxkd/kdcom.h"

enum kdtrace_direction {
	KDTRACE_TO_TARGET,   /* "d2t": the debugger's bytes, as the target receives them */
	KDTRACE_TO_DEBUGGER, /* "t2d": the target's bytes, as the debugger receives them */
};

enum kdtrace_format {
	/* "d2t STATE_MANIPULATE id=0x80800000 length=56 checksum ok trailer ok:
	 * GetVersion request" */
	KDTRACE_TEXT,
	/* One JSON object per line (json-c, no white space), its members
	 * "dir", "kind", "offset" first; a caller may put members of its own
	 * before them (kdtrace_config.json_members). */
	KDTRACE_JSON,
};

/* Called once per event with one line of text, no newline; the text is
 * valid only during the call. A NULL callback only counts (stats). */
typedef void (*kdtrace_line_fn)(void *ctx, const char *text);

struct json_object;

/* JSON lines only: called as each line's object is begun, empty, so that
 * the caller's own members ("time", "record") come first. */
typedef void (*kdtrace_members_fn)(void *ctx, struct json_object *line);

struct kdtrace_config {
	enum kdtrace_direction direction;
	enum kdtrace_format format;
	kdtrace_line_fn line;
	kdtrace_members_fn json_members; /* may be NULL */
	void *ctx;
};

/* Text lines for `direction`, to `line`. */
void kdtrace_config_init(struct kdtrace_config *config, enum kdtrace_direction direction,
			 kdtrace_line_fn line, void *ctx);

struct kdtrace_stats {
	uint64_t bytes;          /* everything fed */
	uint64_t frames;         /* complete frames, data and control, good or bad */
	uint64_t data_frames;
	uint64_t control_frames;
	uint64_t acks;           /* well-formed control packets, by type */
	uint64_t resends;
	uint64_t resets;
	uint64_t breakins;       /* 0x62 between frames, towards the target only */
	uint64_t garbage_bytes;  /* skipped while hunting for a leader */
	uint64_t bad_checksums;  /* as the engine counts them: trailer was fine */
	uint64_t bad_frames;     /* length, trailer, type or control fields */
	uint64_t cut_frames;     /* given up by kdtrace_break() */
};

/* Longest line a callback gets, with its NUL. Strings from the wire are
 * shown up to KDTRACE_TEXT_MAX bytes, escaped. */
#define KDTRACE_LINE_MAX 4096u
#define KDTRACE_TEXT_MAX 256u
/* Garbage runs show their first bytes. */
#define KDTRACE_GARBAGE_SAMPLE 32u

enum kdtrace_parse_state { KDTRACE_SCAN_LEADER, KDTRACE_READ_HEADER, KDTRACE_READ_PAYLOAD,
			   KDTRACE_READ_TRAILER };

/* The whole decoder; allocate it anywhere (about 9 KiB), kdtrace_init() it. */
struct kdtrace {
	struct kdtrace_config config;

	enum kdtrace_parse_state state;
	uint64_t offset;       /* stream bytes consumed so far */
	uint8_t leader_byte;
	uint8_t leader_count;
	uint64_t leader_start; /* offset of the first leader byte */
	uint8_t header[KDCOM_HEADER_SIZE];
	uint16_t header_fill;
	uint8_t payload[KDCOM_MAX_PAYLOAD];
	uint16_t payload_fill;
	/* What the line being reported is, for kdtrace_event_bytes. */
	enum kdtrace_event_kind { KDTRACE_EVENT_OTHER, KDTRACE_EVENT_DATA, KDTRACE_EVENT_CONTROL,
				  KDTRACE_EVENT_BREAKIN } reporting;
	uint8_t trailer;

	/* The garbage run not reported yet. */
	uint64_t garbage_run;
	uint64_t garbage_start;
	uint8_t garbage_sample[KDTRACE_GARBAGE_SAMPLE];

	struct kdtrace_stats stats;

	/* The line being built: text, or the JSON object (json-c). */
	char line[KDTRACE_LINE_MAX];
	size_t line_length;
	bool line_overflow;
	struct json_object *object;
};

void kdtrace_init(struct kdtrace *t, const struct kdtrace_config *config);

/* Decodes `length` more bytes of the stream, calling back once per event. */
void kdtrace_feed(struct kdtrace *t, const void *bytes, size_t length);

/* The stream went quiet: report the garbage run so far now, rather than
 * when the next frame starts. A frame in progress carries on. */
void kdtrace_pause(struct kdtrace *t);

/* The stream broke (its sender left, or a receiver would have given up
 * waiting for the rest of a frame): report pending garbage and the frame
 * in progress as cut off, `why`, and hunt for a leader again. */
void kdtrace_break(struct kdtrace *t, const char *why);

/* Whether a frame is half received (its leader is complete). */
bool kdtrace_in_frame(const struct kdtrace *t);

/* Whether the stream is between frames with no leader begun: the next
 * byte is where a receiver that joins now can start without seeing the
 * tail of a frame it missed the head of. */
bool kdtrace_between_frames(const struct kdtrace *t);
/* During a line callback, the bytes of the event it reports as they came
 * on the wire: a data frame's header (leader included), payload and
 * trailer, a control frame's header, a break-in's byte; nothing for any
 * other line. For tools that show raw bytes (bxkd-tap --bytes, bxkd-replay
 * walkthrough). Copies at most `size` bytes; returns the event's length
 * and its kind. */
size_t kdtrace_event_bytes(const struct kdtrace *t, uint8_t *out, size_t size,
			   enum kdtrace_event_kind *kind);

/* Bytes as hex pairs with a space between ("30 30 30 30"), as many as
 * fit in `size` with the NUL. */
void kdtrace_hex(char *out, size_t size, const uint8_t *bytes, size_t length);

/* Bytes shown per line of a hex dump. */
#define KDTRACE_HEX_ROW 16u

/* "d2t" or "t2d". */
const char *kdtrace_direction_tag(enum kdtrace_direction direction);

/* One KD packet (its message header and data, as KdSendPacket takes them
 * and KdReceivePacket returns them) described the way a data line shows
 * its message: in text what follows the colon ("GetVersion request"); in
 * JSON an object with the packet's type and length, the same message
 * members as a data line (api, api_number, message, status, ...) and
 * type_ok. `direction` is who sent it: a STATE_MANIPULATE packet towards
 * the target is a request, from it a reply. For tools that get packets
 * without KDCOM framing (the shared page, a recorded session). Writes at
 * most `size` bytes with the NUL; returns the length of the whole
 * description, as snprintf does. */
size_t kdtrace_describe_packet(uint16_t type, const void *payload, size_t length,
			       enum kdtrace_direction direction, enum kdtrace_format format,
			       char *out, size_t size);

/* The same JSON description as a json-c object of the caller's (or NULL
 * when memory ran out): for a tool that makes it a member of its own line. */
struct json_object *kdtrace_describe_packet_object(uint16_t type, const void *payload,
						   size_t length,
						   enum kdtrace_direction direction);

/* ---- JSON as every bxkd tool writes it ---------------------------------------------- */

/* Bytes from the wire or a file as a JSON string: each byte is the
 * character of that number (ISO 8859-1), so every byte survives and the
 * document stays UTF-8. NULL when memory ran out. */
struct json_object *kdtrace_json_bytes(const void *bytes, size_t length);

/* "0x" and `value`'s hex digits, at least `digits` of them (0: as many
 * as it takes): how bxkd tools write addresses, ids and registers. */
struct json_object *kdtrace_json_hex(uint64_t value, int digits);

/* A number written with `decimals` digits after the point, as printf's
 * "%.*f" writes it (json-c would write all 17 significant digits). */
struct json_object *kdtrace_json_decimal(double value, int decimals);

/* `object` as one line of JSON without white space (json-c's plain form,
 * '/' not escaped); the text belongs to `object`. */
const char *kdtrace_json_text(struct json_object *object);

/* Writes `text` as a JSON string with its quotes into out, NUL-terminated,
 * its bytes read as kdtrace_json_bytes reads them. Returns the length it
 * needed; when that is not below `size`, out is empty. */
size_t kdtrace_json_string(char *out, size_t size, const char *text);

#endif /* BXKD_KDTRACE_H */
