/*
 * kdtrace.c -- the KDCOM/KD decoder (see kdtrace.h): the KDCOM framing
 * layer. The messages inside frames are kdtrace_message.c's, the lines
 * kdtrace_line.c's.
 *
 * The frame scanner is the engine's receiver (kdcom_engine.c scan_leader,
 * handle_header, the trailer step) without its replies: the same bytes
 * make the same frames, garbage and break-ins, and the counters agree.
 */
#include "config.h"

#include "kdtrace.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bxkd/byteorder.h"
#include "kdcom_engine.h"
#include "kdtrace_line.h"

#define LEADER_LENGTH 4u

const char *kdtrace_direction_tag(enum kdtrace_direction direction)
{
	return direction == KDTRACE_TO_TARGET ? "d2t" : "t2d";
}

static const char *control_name(uint16_t type)
{
	switch (type) {
	case KDCOM_TYPE_ACKNOWLEDGE:
		return "ACK";
	case KDCOM_TYPE_RESEND:
		return "RESEND";
	case KDCOM_TYPE_RESET:
		return "RESET";
	default:
		return NULL;
	}
}

/* ---- frames --------------------------------------------------------------------------- */

static void restart_scan(struct kdtrace *t)
{
	t->state = KDTRACE_SCAN_LEADER;
	t->leader_count = 0;
	t->header_fill = 0;
	t->payload_fill = 0;
}

static void add_garbage(struct kdtrace *t, uint8_t b, uint64_t offset)
{
	if (!t->garbage_run)
		t->garbage_start = offset;
	if (t->garbage_run < KDTRACE_GARBAGE_SAMPLE)
		t->garbage_sample[t->garbage_run] = b;
	t->garbage_run++;
	t->stats.garbage_bytes++;
}

/* A leader broken off before its fourth byte was garbage after all. */
static void leader_to_garbage(struct kdtrace *t)
{
	for (unsigned i = 0; i < t->leader_count; i++)
		add_garbage(t, t->leader_byte, t->leader_start + i);
	t->leader_count = 0;
}

static void report_garbage(struct kdtrace *t)
{
	size_t shown = t->garbage_run < KDTRACE_GARBAGE_SAMPLE ? (size_t)t->garbage_run
							       : KDTRACE_GARBAGE_SAMPLE;

	if (!t->garbage_run)
		return;
	kdt_begin(t, "garbage", t->garbage_start);
	kdt_text_only(t, " garbage");
	kdt_field_uint(t, "bytes", "bytes", t->garbage_run);
	kdt_field_text(t, "head", "head", t->garbage_sample, shown, t->garbage_run);
	kdt_finish(t);
	t->garbage_run = 0;
}

static void control_frame(struct kdtrace *t)
{
	uint16_t type = le_get16(t->header + 4);
	uint16_t count = le_get16(t->header + 6);
	uint32_t id = le_get32(t->header + 8);
	uint32_t checksum = le_get32(t->header + 12);
	const char *name = control_name(type);
	/* What the engine takes (kdcom_engine.c handle_control): no length, no
	 * checksum, and id 0 except on an ACK. */
	bool ok =
		name && count == 0 && checksum == 0 && (type == KDCOM_TYPE_ACKNOWLEDGE || id == 0);

	t->stats.frames++;
	t->stats.control_frames++;
	if (!ok)
		t->stats.bad_frames++;
	else if (type == KDCOM_TYPE_ACKNOWLEDGE)
		t->stats.acks++;
	else if (type == KDCOM_TYPE_RESEND)
		t->stats.resends++;
	else
		t->stats.resets++;

	t->reporting = KDTRACE_EVENT_CONTROL;
	kdt_begin(t, "control", t->leader_start);
	if (name) {
		kdt_field_word(t, "type", "", name);
	} else {
		kdt_field_word(t, "type", "", "unknown");
		kdt_field_uint(t, "type_number", "control type", type);
	}
	kdt_field_hex32(t, "id", type == KDCOM_TYPE_ACKNOWLEDGE || id ? "id" : NULL, id);
	if (type == KDCOM_TYPE_ACKNOWLEDGE)
		kdt_field_flag(t, "sync", (id & KDCOM_SYNC_ID) != 0, "SYNC", NULL);
	kdt_field_uint(t, "length", count ? "length" : NULL, count);
	kdt_field_hex32(t, "checksum", checksum ? "checksum" : NULL, checksum);
	kdt_field_flag(t, "ok", ok, NULL, "malformed, ignored");
	kdt_finish(t);
	t->reporting = KDTRACE_EVENT_OTHER;
}

static void data_frame(struct kdtrace *t, uint8_t trailer)
{
	uint16_t type = le_get16(t->header + 4);
	uint16_t length = le_get16(t->header + 6);
	uint32_t id = le_get32(t->header + 8);
	uint32_t checksum = le_get32(t->header + 12);
	uint32_t sum = kdcom_checksum(t->payload, length);
	bool trailer_ok = trailer == KDCOM_TRAILER;
	bool checksum_ok = sum == checksum;
	bool type_ok = kdcom_type_matches_payload(type, t->payload, length);
	bool too_short = length < kdcom_message_header_size(type);

	/* Counted as the engine does: it looks at the trailer first, then the
	 * checksum, then whether type and API number agree. */
	t->stats.frames++;
	t->stats.data_frames++;
	if (!trailer_ok || (checksum_ok && !type_ok))
		t->stats.bad_frames++;
	else if (!checksum_ok)
		t->stats.bad_checksums++;

	t->reporting = KDTRACE_EVENT_DATA;
	kdt_begin(t, "data", t->leader_start);
	kdt_field_word(t, "type", "", kdcom_type_name(type));
	kdt_field_hex32(t, "id", "id", id);
	kdt_field_flag(t, "sync", (id & KDCOM_SYNC_ID) != 0, "SYNC", NULL);
	kdt_field_uint(t, "length", "length", length);
	kdt_field_flag(t, "checksum_ok", checksum_ok, "checksum ok", "checksum BAD");
	kdt_field_hex32(t, "checksum", checksum_ok ? NULL : "header", checksum);
	kdt_field_hex32(t, "payload_sum", checksum_ok ? NULL : "sum", sum);
	kdt_field_flag(t, "trailer_ok", trailer_ok, "trailer ok", "trailer BAD");
	kdt_field_hex(t, "trailer", trailer_ok ? NULL : "got", trailer, 2);
	kdt_field_flag(t, "type_ok", type_ok, NULL, too_short ? "too short" : "type/API mismatch");
	kdt_text_only(t, ":");
	kdt_decode_message(t, type, t->payload, length);
	kdt_finish(t);
	t->reporting = KDTRACE_EVENT_OTHER;
}

/* A data header the engine refuses: it asks for a RESEND and rescans. */
static void damaged_header(struct kdtrace *t, uint16_t type, uint16_t count)
{
	t->stats.bad_frames++;
	kdt_begin(t, "damaged", t->leader_start);
	kdt_text_only(t, " damaged frame");
	kdt_field_word(t, "type", kdcom_is_data_type(type) ? "" : NULL, kdcom_type_name(type));
	kdt_field_uint(t, "type_number", kdcom_is_data_type(type) ? NULL : "type", type);
	kdt_field_hex32(t, "id", "id", le_get32(t->header + 8));
	kdt_field_uint(t, "length", "length", count);
	kdt_text_only(t, ":");
	kdt_field_word(t, "reason", "",
		   count > KDCOM_MAX_PAYLOAD ? "length over 4000" : "not a data type");
	kdt_text_only(t, ", rescanning");
	kdt_finish(t);
}

static void header_complete(struct kdtrace *t)
{
	uint16_t type = le_get16(t->header + 4);
	uint16_t count = le_get16(t->header + 6);

	if (le_get32(t->header) == KDCOM_CONTROL_LEADER) {
		restart_scan(t);
		control_frame(t);
		return;
	}
	if (count > KDCOM_MAX_PAYLOAD || !kdcom_is_data_type(type)) {
		restart_scan(t);
		damaged_header(t, type, count);
		return;
	}
	t->payload_fill = 0;
	t->state = count ? KDTRACE_READ_PAYLOAD : KDTRACE_READ_TRAILER;
}

static void breakin(struct kdtrace *t)
{
	t->stats.breakins++;
	t->reporting = KDTRACE_EVENT_BREAKIN;
	kdt_begin(t, "breakin", t->offset);
	kdt_text_only(t, " break-in");
	kdt_finish(t);
	t->reporting = KDTRACE_EVENT_OTHER;
}

/* One byte while hunting for a leader, as kdcom_engine.c scan_leader. */
static void scan_leader(struct kdtrace *t, uint8_t b)
{
	if (b == KDCOM_DATA_LEADER_BYTE || b == KDCOM_CONTROL_LEADER_BYTE) {
		if (t->leader_count && b != t->leader_byte)
			leader_to_garbage(t);
		if (!t->leader_count)
			t->leader_start = t->offset;
		t->leader_byte = b;
		if (++t->leader_count == LEADER_LENGTH) {
			report_garbage(t);
			memset(t->header, b, LEADER_LENGTH);
			t->header_fill = LEADER_LENGTH;
			t->state = KDTRACE_READ_HEADER;
		}
		return;
	}
	leader_to_garbage(t);
	/* Only a target listens for break-in; to a debugger it is noise. */
	if (b == KDCOM_BREAKIN_BYTE && t->config.direction == KDTRACE_TO_TARGET) {
		report_garbage(t);
		breakin(t);
		return;
	}
	add_garbage(t, b, t->offset);
}

/* Takes bytes from p for the state we are in; returns how many. */
static size_t step(struct kdtrace *t, const uint8_t *p, size_t length)
{
	switch (t->state) {
	case KDTRACE_SCAN_LEADER:
		scan_leader(t, p[0]);
		return 1;
	case KDTRACE_READ_HEADER:
		t->header[t->header_fill++] = p[0];
		if (t->header_fill == KDCOM_HEADER_SIZE)
			header_complete(t);
		return 1;
	case KDTRACE_READ_PAYLOAD: {
		size_t want = le_get16(t->header + 6) - t->payload_fill;
		size_t take = length < want ? length : want;
		memcpy(t->payload + t->payload_fill, p, take);
		t->payload_fill = (uint16_t)(t->payload_fill + take);
		if (t->payload_fill == le_get16(t->header + 6))
			t->state = KDTRACE_READ_TRAILER;
		return take;
	}
	default: /* KDTRACE_READ_TRAILER */
		restart_scan(t);
		t->trailer = p[0];
		data_frame(t, p[0]);
		return 1;
	}
}

/* ---- the interface --------------------------------------------------------------------- */

void kdtrace_config_init(struct kdtrace_config *config, enum kdtrace_direction direction,
			 kdtrace_line_fn line, void *ctx)
{
	memset(config, 0, sizeof(*config));
	config->direction = direction;
	config->format = KDTRACE_TEXT;
	config->line = line;
	config->ctx = ctx;
}

void kdtrace_init(struct kdtrace *t, const struct kdtrace_config *config)
{
	memset(t, 0, sizeof(*t));
	t->config = *config;
	t->state = KDTRACE_SCAN_LEADER;
}

void kdtrace_feed(struct kdtrace *t, const void *bytes, size_t length)
{
	const uint8_t *p = bytes;

	t->stats.bytes += length;
	while (length) {
		size_t used = step(t, p, length);
		p += used;
		length -= used;
		t->offset += used;
	}
}

void kdtrace_pause(struct kdtrace *t)
{
	report_garbage(t);
}

static void report_cut(struct kdtrace *t, const char *why)
{
	size_t received = t->header_fill + t->payload_fill;

	t->stats.cut_frames++;
	kdt_begin(t, "cut", t->leader_start);
	kdt_text_only(t, " cut off");
	if (t->header_fill == KDCOM_HEADER_SIZE) {
		uint16_t length = le_get16(t->header + 6);
		kdt_field_word(t, "type", "", kdcom_type_name(le_get16(t->header + 4)));
		kdt_field_uint(t, "length", "length", length);
	}
	kdt_field_uint(t, "received", NULL, received);
	kdt_text_printf(t, " after %zu bytes:", received);
	kdt_field_caller_text(t, "reason", why);
	kdt_finish(t);
}

void kdtrace_break(struct kdtrace *t, const char *why)
{
	if (t->state == KDTRACE_SCAN_LEADER) {
		leader_to_garbage(t);
		report_garbage(t);
	} else {
		report_cut(t, why);
	}
	restart_scan(t);
}

size_t kdtrace_event_bytes(const struct kdtrace *t, uint8_t *out, size_t size,
			   enum kdtrace_event_kind *kind)
{
	uint8_t frame[KDCOM_MAX_FRAME];
	size_t length = 0;

	*kind = t->reporting;
	switch (t->reporting) {
	case KDTRACE_EVENT_BREAKIN:
		frame[length++] = KDCOM_BREAKIN_BYTE;
		break;
	case KDTRACE_EVENT_CONTROL:
		memcpy(frame, t->header, KDCOM_HEADER_SIZE);
		length = KDCOM_HEADER_SIZE;
		break;
	case KDTRACE_EVENT_DATA:
		/* The byte count was checked against KDCOM_MAX_PAYLOAD when the
		 * header came (header_complete). */
		memcpy(frame, t->header, KDCOM_HEADER_SIZE);
		length = KDCOM_HEADER_SIZE;
		memcpy(frame + length, t->payload, le_get16(t->header + 6));
		length += le_get16(t->header + 6);
		frame[length++] = t->trailer;
		break;
	case KDTRACE_EVENT_OTHER:
		break;
	}
	memcpy(out, frame, length < size ? length : size);
	return length;
}

void kdtrace_hex(char *out, size_t size, const uint8_t *bytes, size_t length)
{
	size_t at = 0;

	if (!size)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < length && at + 3 + (i > 0) <= size; i++)
		at += (size_t)snprintf(out + at, size - at, "%s%02x", i ? " " : "", bytes[i]);
}

bool kdtrace_in_frame(const struct kdtrace *t)
{
	return t->state != KDTRACE_SCAN_LEADER;
}

bool kdtrace_between_frames(const struct kdtrace *t)
{
	return t->state == KDTRACE_SCAN_LEADER && t->leader_count == 0;
}
