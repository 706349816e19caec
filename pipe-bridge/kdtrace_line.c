/*
 * kdtrace_line.c -- the line builder of the KDCOM/KD decoder
 * (kdtrace_line.h), and JSON as every bxkd tool writes it (kdtrace.h).
 *
 * A text line is built in the decoder's buffer, a JSON line as a json-c
 * object; either way a line that would not fit KDTRACE_LINE_MAX loses
 * whole fields from its end, never half of one, and says so.
 */
#include "config.h"

#include "kdtrace_line.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* A builder keeps this much room to end a text line that dropped fields. */
#define LINE_TAIL_RESERVE 32u
/* The longest escape of one byte in text: \xNN. */
#define ESCAPED_BYTE_MAX 4u
/* Leading payload bytes shown for a message we do not decode. */
#define HEAD_BYTES 16u
/* Room a caller's text may take as a JSON string, quotes included. */
#define CALLER_TEXT_MAX (KDTRACE_TEXT_MAX * 6u + 3u)
#define JSON_KEY_MAX 64u

/* ---- JSON as every bxkd tool writes it ---------------------------------------------- */

struct json_object *kdtrace_json_bytes(const void *bytes, size_t length)
{
	const uint8_t *in = bytes;
	/* ISO 8859-1 to UTF-8: at most two bytes each. */
	char *utf8 = malloc(2 * length + 1);
	size_t n = 0;

	if (!utf8)
		return NULL;
	for (size_t i = 0; i < length; i++) {
		if (in[i] < 0x80) {
			utf8[n++] = (char)in[i];
		} else {
			utf8[n++] = (char)(0xC0 | in[i] >> 6);
			utf8[n++] = (char)(0x80 | (in[i] & 0x3F));
		}
	}
	struct json_object *string = json_object_new_string_len(utf8, (int)n);
	free(utf8);
	return string;
}

struct json_object *kdtrace_json_hex(uint64_t value, int digits)
{
	char text[24];

	snprintf(text, sizeof(text), "0x%0*" PRIx64, digits, value);
	return json_object_new_string(text);
}

struct json_object *kdtrace_json_decimal(double value, int decimals)
{
	char written[64];

	snprintf(written, sizeof(written), "%.*f", decimals, value);
	return json_object_new_double_s(value, written);
}

const char *kdtrace_json_text(struct json_object *object)
{
	return json_object_to_json_string_ext(object, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
}

size_t kdtrace_json_string(char *out, size_t size, const char *text)
{
	struct json_object *string = kdtrace_json_bytes(text, strlen(text));
	const char *quoted = string ? kdtrace_json_text(string) : "";
	size_t need = strlen(quoted);

	if (size) {
		if (need < size)
			memcpy(out, quoted, need + 1);
		else
			out[0] = '\0';
	}
	json_object_put(string);
	return need;
}

/* ---- text ------------------------------------------------------------------------- */

/* Writes as many of the n bytes as fit in `size` (with a NUL), escaped
 * C-like; returns the length written. */
static size_t escape(char *out, size_t size, const uint8_t *s, size_t n)
{
	size_t length = 0;

	for (size_t i = 0; i < n; i++) {
		char one[ESCAPED_BYTE_MAX + 1];
		uint8_t c = s[i];
		const char *named = c == '"'	? "\\\""
				    : c == '\\' ? "\\\\"
				    : c == '\n' ? "\\n"
				    : c == '\r' ? "\\r"
				    : c == '\t' ? "\\t"
						: NULL;
		if (named)
			snprintf(one, sizeof(one), "%s", named);
		else if (c >= 0x20 && c < 0x7f)
			snprintf(one, sizeof(one), "%c", c);
		else
			snprintf(one, sizeof(one), "\\x%02x", c);
		size_t w = strlen(one);
		if (length + w >= size)
			break;
		memcpy(out + length, one, w);
		length += w;
	}
	if (size)
		out[length] = '\0';
	return length;
}

/* Appends a whole piece or, when it does not fit, nothing: a line that
 * runs out of room loses fields, never half of one. */
static void appendv(struct kdtrace *t, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void appendv(struct kdtrace *t, const char *fmt, va_list ap)
{
	size_t room = sizeof(t->line) - LINE_TAIL_RESERVE - t->line_length;

	if (t->line_overflow)
		return;
	int n = vsnprintf(t->line + t->line_length, room, fmt, ap);
	if (n < 0 || (size_t)n >= room) {
		t->line[t->line_length] = '\0';
		t->line_overflow = true;
		return;
	}
	t->line_length += (size_t)n;
}

void kdt_text_printf(struct kdtrace *t, const char *fmt, ...)
{
	va_list ap;

	if (kdt_json(t))
		return;
	va_start(ap, fmt);
	appendv(t, fmt, ap);
	va_end(ap);
}

void kdt_text_only(struct kdtrace *t, const char *text)
{
	kdt_text_printf(t, "%s", text);
}

/* ---- lines -------------------------------------------------------------------------- */

bool kdt_json(const struct kdtrace *t)
{
	return t->config.format == KDTRACE_JSON;
}

static void add(struct kdtrace *t, const char *key, struct json_object *value)
{
	json_object_object_add(t->object, key, value);
}

static void begin_line(struct kdtrace *t)
{
	t->line_length = 0;
	t->line[0] = '\0';
	t->line_overflow = false;
	json_object_put(t->object);
	t->object = NULL;
	if (!kdt_json(t))
		return;
	t->object = json_object_new_object();
	if (t->config.json_members)
		t->config.json_members(t->config.ctx, t->object);
}

void kdt_begin(struct kdtrace *t, const char *kind, uint64_t offset)
{
	const char *dir = kdtrace_direction_tag(t->config.direction);

	begin_line(t);
	if (kdt_json(t)) {
		add(t, "dir", json_object_new_string(dir));
		add(t, "kind", json_object_new_string(kind));
		add(t, "offset", json_object_new_uint64(offset));
	} else {
		kdt_text_only(t, dir);
	}
}

void kdt_begin_packet(struct kdtrace *t, const char *type, size_t length)
{
	begin_line(t);
	if (kdt_json(t)) {
		add(t, "type", json_object_new_string(type));
		add(t, "length", json_object_new_uint64(length));
	}
}

static void drop_last_member(struct json_object *object)
{
	char last[JSON_KEY_MAX] = "";

	json_object_object_foreach(object, key, value) {
		(void)value;
		snprintf(last, sizeof(last), "%s", key);
	}
	json_object_object_del(object, last);
}

/* The object as a line that fits: members from the end go until it does. */
static const char *json_line(struct kdtrace *t)
{
	const char *text = kdtrace_json_text(t->object);

	while (strlen(text) >= sizeof(t->line)) {
		json_object_object_del(t->object, "truncated");
		drop_last_member(t->object);
		add(t, "truncated", json_object_new_boolean(true));
		text = kdtrace_json_text(t->object);
	}
	return text;
}

struct json_object *kdt_finish_object(struct kdtrace *t)
{
	struct json_object *object = t->object;

	t->object = NULL;
	return object;
}

void kdt_finish(struct kdtrace *t)
{
	if (kdt_json(t)) {
		if (t->object && t->config.line)
			t->config.line(t->config.ctx, json_line(t));
		json_object_put(kdt_finish_object(t));
		return;
	}
	/* The reserve guarantees room for the ending. */
	const char *end = t->line_overflow ? " ..." : "";
	size_t n = strlen(end);

	memcpy(t->line + t->line_length, end, n + 1);
	t->line_length += n;
	if (t->config.line)
		t->config.line(t->config.ctx, t->line);
}

/* ---- fields ---------------------------------------------------------------------------- */

/* Text: " label=value", " value" or nothing, as `label` says. */
static void text_field(struct kdtrace *t, const char *label, const char *value)
{
	if (label && *label)
		kdt_text_printf(t, " %s=%s", label, value);
	else if (label)
		kdt_text_printf(t, " %s", value);
}

void kdt_field_uint(struct kdtrace *t, const char *key, const char *label, uint64_t v)
{
	char value[24];

	if (kdt_json(t)) {
		add(t, key, json_object_new_uint64(v));
		return;
	}
	snprintf(value, sizeof(value), "%" PRIu64, v);
	text_field(t, label, value);
}

void kdt_field_hex(struct kdtrace *t, const char *key, const char *label, uint64_t v, int digits)
{
	char value[24];

	snprintf(value, sizeof(value), "0x%0*" PRIx64, digits, v);
	kdt_field_word(t, key, label, value);
}

void kdt_field_hex32(struct kdtrace *t, const char *key, const char *label, uint32_t v)
{
	kdt_field_hex(t, key, label, v, 8);
}

void kdt_field_hex64(struct kdtrace *t, const char *key, const char *label, uint64_t v)
{
	kdt_field_hex(t, key, label, v, 16);
}

void kdt_field_word(struct kdtrace *t, const char *key, const char *label, const char *word)
{
	if (kdt_json(t))
		add(t, key, json_object_new_string(word));
	else
		text_field(t, label, word);
}

void kdt_field_flag(struct kdtrace *t, const char *key, bool v, const char *if_true,
		    const char *if_false)
{
	const char *word = v ? if_true : if_false;

	if (kdt_json(t))
		add(t, key, json_object_new_boolean(v));
	else if (word)
		kdt_text_printf(t, " %s", word);
}

void kdt_field_text(struct kdtrace *t, const char *key, const char *label, const uint8_t *s,
		    size_t n, size_t total)
{
	char escaped[KDTRACE_TEXT_MAX * ESCAPED_BYTE_MAX + 1];

	if (n > KDTRACE_TEXT_MAX)
		n = KDTRACE_TEXT_MAX;
	if (kdt_json(t)) {
		add(t, key, kdtrace_json_bytes(s, n));
		if (total > n) {
			char length_key[JSON_KEY_MAX];
			snprintf(length_key, sizeof(length_key), "%s_length", key);
			add(t, length_key, json_object_new_uint64(total));
		}
	} else if (label) {
		escape(escaped, sizeof(escaped), s, n);
		kdt_text_printf(t, " %s%s\"%s\"", label, *label ? "=" : "", escaped);
		if (total > n)
			kdt_text_printf(t, "...(%zu bytes)", total);
	}
}

void kdt_field_caller_text(struct kdtrace *t, const char *key, const char *text)
{
	if (!kdt_json(t)) {
		kdt_text_printf(t, " %s", text);
		return;
	}
	struct json_object *string = kdtrace_json_bytes(text, strlen(text));
	if (string && strlen(kdtrace_json_text(string)) >= CALLER_TEXT_MAX) {
		json_object_put(string);
		string = json_object_new_string("(too long)");
	}
	add(t, key, string);
}

void kdt_field_head(struct kdtrace *t, const uint8_t *s, size_t n)
{
	char hex[2 * HEAD_BYTES + 1];

	if (n > HEAD_BYTES)
		n = HEAD_BYTES;
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", s[i]);
	hex[2 * n] = '\0';
	kdt_field_word(t, "head", "head", hex);
}
