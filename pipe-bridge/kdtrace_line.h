/*
 * kdtrace_line.h -- inside libkdtrace: the line builder that the frame
 * scanner (kdtrace.c) and the message decoder (kdtrace_message.c) share.
 *
 * Every event becomes one line, field by field, either as "label=value"
 * text or as a member of a json-c object, so both forms carry the same
 * facts. Not for callers of kdtrace.h.
 */
#ifndef BXKD_KDTRACE_LINE_H
#define BXKD_KDTRACE_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kdtrace.h"

bool kdt_json(const struct kdtrace *t);

/* A stream event's line: "d2t" in text; dir, kind and offset in JSON. */
void kdt_begin(struct kdtrace *t, const char *kind, uint64_t offset);
/* A packet's description: nothing in text; type and length in JSON. */
void kdt_begin_packet(struct kdtrace *t, const char *type, size_t length);
/* Ends the line and hands it to the callback. */
void kdt_finish(struct kdtrace *t);
/* Ends a JSON line and gives its object to the caller instead. */
struct json_object *kdt_finish_object(struct kdtrace *t);

/*
 * Fields. `key` names the JSON member; `label` the text: NULL leaves the
 * field out of text lines, "" shows the bare value, anything else shows
 * label=value.
 */
void kdt_field_uint(struct kdtrace *t, const char *key, const char *label, uint64_t v);
void kdt_field_hex(struct kdtrace *t, const char *key, const char *label, uint64_t v, int digits);
void kdt_field_hex32(struct kdtrace *t, const char *key, const char *label, uint32_t v);
void kdt_field_hex64(struct kdtrace *t, const char *key, const char *label, uint64_t v);
/* `word` is one of ours, never from the wire. */
void kdt_field_word(struct kdtrace *t, const char *key, const char *label, const char *word);
/* JSON true/false; text shows the word for the case, if any. */
void kdt_field_flag(struct kdtrace *t, const char *key, bool v, const char *if_true,
		    const char *if_false);
/* Bytes from the wire, showing at most KDTRACE_TEXT_MAX of the `total`
 * the wire had. */
void kdt_field_text(struct kdtrace *t, const char *key, const char *label, const uint8_t *s,
		    size_t n, size_t total);
/* Text from our caller, trusted to be a line's worth of printable text. */
void kdt_field_caller_text(struct kdtrace *t, const char *key, const char *text);
/* Up to 16 bytes as hex digits, for what we do not decode. */
void kdt_field_head(struct kdtrace *t, const uint8_t *s, size_t n);
/* Only in text lines, e.g. the ':' between a frame and its message. */
void kdt_text_only(struct kdtrace *t, const char *text);
void kdt_text_printf(struct kdtrace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message decoder (kdtrace_message.c): the fields of one KD packet. */
void kdt_decode_message(struct kdtrace *t, uint16_t type, const uint8_t *p, size_t length);

#endif /* BXKD_KDTRACE_LINE_H */
