/*
 * session.c -- session records: checking and decoding them, building them
 * (see session.h for the format, replay/README.md for people).
 *
 * Sans-I/O: no files, no clock, no global state. Fields are read and
 * written byte by byte as little-endian at fixed offsets, so a file means
 * the same on any host; the structs in session.h only name the fields and
 * hold them decoded. Every length is checked against the bytes actually
 * there before anything past it is looked at: a record that passes
 * session_decode can be walked without further checks.
 */
#include "config.h"

#include "session.h"

#include "bxkd/kdvm.h"
#include "bxkd/names.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/byteorder.h"
#include "bxkd/backdoor.h"
#include "log.h"

/* The sizes on disk; the payload structs must have them too (no hidden
 * padding), since the recorder appends them as they are. The header is
 * always built and read field by field. */
#define HEADER_SIZE SESSION_HEADER_SIZE
#define BACKDOOR_FIXED_SIZE 72u
#define ACCESS_SIZE 16u
#define KD_PORT_FIXED_SIZE 20u
#define ENDPOINT_FIXED_SIZE 4u

_Static_assert(sizeof(struct session_backdoor) == BACKDOOR_FIXED_SIZE, "backdoor size");
_Static_assert(sizeof(struct session_access) == ACCESS_SIZE, "access size");
_Static_assert(sizeof(struct session_kd_port) == KD_PORT_FIXED_SIZE, "kd_port size");
_Static_assert(sizeof(struct session_endpoint) == ENDPOINT_FIXED_SIZE, "endpoint size");

/* Header offsets on disk (version 1 ends before the checksum). */
#define HEADER_MAGIC_AT 0u
#define HEADER_VERSION_AT 4u
#define HEADER_KIND_AT 6u
#define HEADER_SEQUENCE_AT 8u
#define HEADER_LENGTH_AT 12u
#define HEADER_TICK_AT 16u
#define HEADER_CHECKSUM_AT 24u
#define BACKDOOR_AT(member) offsetof(struct session_backdoor, member)
#define ACCESS_AT(member) offsetof(struct session_access, member)
#define KD_PORT_AT(member) offsetof(struct session_kd_port, member)

/* Magic and version: what every version of the header starts with. */
#define VERSIONED_PREFIX (HEADER_VERSION_AT + 2u)

/* A growing buffer starts with room for a typical record. */
#define BUFFER_INITIAL_CAPACITY 256u

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- names ---------------------------------------------------------------------- */

BXKD_NAME_TABLE(kind_name, [SESSION_MANIFEST] = "manifest", [SESSION_BACKDOOR] = "backdoor",
		[SESSION_KD_PORT] = "kd_port", [SESSION_ENDPOINT] = "endpoint", [SESSION_END] = "end")
BXKD_NAME_TABLE(kd_op_name, [SESSION_KD_SEND] = "send", [SESSION_KD_RECEIVE] = "receive",
		[SESSION_KD_POLL_BREAKIN] = "poll_breakin",
		[SESSION_KD_DEBUGGER_PRESENT] = "debugger_present",
		[SESSION_KD_DEBUGGER_ATTACHED] = "debugger_attached")
BXKD_NAME_TABLE(endpoint_event_name, [KD_ENDPOINT_TO_DEBUGGER] = "to_debugger",
		[KD_ENDPOINT_TO_TARGET] = "to_target", [KD_ENDPOINT_ATTACHED] = "attached",
		[KD_ENDPOINT_DETACHED] = "detached")

static const char *or_unknown(const char *name)
{
	return name ? name : "unknown";
}

const char *session_kind_name(uint16_t kind)
{
	return or_unknown(kind_name(kind));
}

const char *session_kd_op_name(uint8_t op)
{
	return or_unknown(kd_op_name(op));
}

const char *session_endpoint_event_name(uint8_t event)
{
	return or_unknown(endpoint_event_name(event));
}

/* ---- decoding ----------------------------------------------------------------------- */

static void read_access(const uint8_t *p, struct session_access *a)
{
	memset(a, 0, sizeof(*a));
	a->address = le_get64(p + ACCESS_AT(address));
	a->length = le_get32(p + ACCESS_AT(length));
	a->write = p[ACCESS_AT(write)];
	a->ok = p[ACCESS_AT(ok)];
	memcpy(a->pad, p + ACCESS_AT(pad), sizeof(a->pad));
}

/* MANIFEST and END: "key=value\n" lines, nothing else. Bytes over 0x7F
 * pass (the text is meant to be UTF-8, but a file name need not be); a
 * control byte or NUL would garble every tool that prints the text. */
static bool check_text(const uint8_t *p, size_t n, char *error, size_t error_size)
{
	size_t line = 1, line_start = 0;
	bool have_equals = false;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '\n') {
			if (!have_equals)
				return bxkd_error(error, error_size,
					    "text line %zu is not of the form key=value", line);
			line++;
			line_start = i + 1;
			have_equals = false;
			continue;
		}
		if (c == '\0')
			return bxkd_error(error, error_size, "text line %zu holds a NUL byte", line);
		if (c < 0x20 || c == 0x7f)
			return bxkd_error(error, error_size,
				    "text line %zu holds the control byte 0x%02x", line, c);
		if (c == '=' && !have_equals) {
			if (i == line_start)
				return bxkd_error(error, error_size,
					    "text line %zu has an empty key", line);
			have_equals = true;
		}
	}
	if (n && p[n - 1] != '\n')
		return bxkd_error(error, error_size, "text line %zu does not end in a newline", line);
	return true;
}

/* Every record kind's payload starts with a fixed part. */
static bool has_fixed_part(size_t n, size_t fixed, const char *kind, char *error,
			   size_t error_size)
{
	if (n >= fixed)
		return true;
	return bxkd_error(error, error_size,
			  "its %s payload of %zu bytes is shorter than the %zu-byte fixed part", kind, n,
			  fixed);
}

static bool decode_backdoor(const uint8_t *p, size_t n, struct session_record *r, char *error,
			    size_t error_size)
{
	struct session_backdoor *b = &r->u.backdoor.fixed;

	if (!has_fixed_part(n, BACKDOOR_FIXED_SIZE, "BACKDOOR", error, error_size))
		return false;
	memset(b, 0, sizeof(*b));
	b->port = le_get16(p + BACKDOOR_AT(port));
	b->direction = p[BACKDOOR_AT(direction)];
	b->cpl = p[BACKDOOR_AT(cpl)];
	b->in_value = le_get32(p + BACKDOOR_AT(in_value));
	for (unsigned i = 0; i < SESSION_REGS; i++) {
		b->regs_in[i] = le_get32(p + BACKDOOR_AT(regs_in) + 4 * i);
		b->regs_out[i] = le_get32(p + BACKDOOR_AT(regs_out) + 4 * i);
	}
	b->string_op_done = p[BACKDOOR_AT(string_op_done)];
	memcpy(b->pad, p + BACKDOOR_AT(pad), sizeof(b->pad));
	b->accesses = le_get32(p + BACKDOOR_AT(accesses));

	if (b->port != BDOOR_PORT && b->port != BDOOR_PORT_HB)
		return bxkd_error(error, error_size, "its port 0x%04x is not a backdoor port", b->port);
	if (b->direction > 1)
		return bxkd_error(error, error_size, "its direction %u is neither 0 (IN) nor 1 (OUT)",
			    b->direction);
	if (b->cpl > 3)
		return bxkd_error(error, error_size, "its CPL %u is over 3", b->cpl);
	if (b->string_op_done > 1)
		return bxkd_error(error, error_size, "its string_op_done %u is neither 0 nor 1",
			    b->string_op_done);
	if (!all_zero(b->pad, sizeof(b->pad)))
		return bxkd_error(error, error_size, "its padding after string_op_done is not zero");

	/* The accesses must fill the rest exactly: each header, and its bytes
	 * when it succeeded, inside what is left. */
	const uint8_t *at = p + BACKDOOR_FIXED_SIZE;
	size_t left = n - BACKDOOR_FIXED_SIZE;
	for (uint32_t i = 0; i < b->accesses; i++) {
		struct session_access a;
		if (left < ACCESS_SIZE)
			return bxkd_error(error, error_size,
				    "access %" PRIu32 " of %" PRIu32 " is cut off: %zu bytes are "
				    "left for its %u-byte header",
				    i, b->accesses, left, ACCESS_SIZE);
		read_access(at, &a);
		if (a.write > 1 || a.ok > 1)
			return bxkd_error(error, error_size,
				    "access %" PRIu32 " has write=%u ok=%u; each must be 0 or 1", i,
				    a.write, a.ok);
		if (!all_zero(a.pad, sizeof(a.pad)))
			return bxkd_error(error, error_size, "access %" PRIu32 "'s padding is not zero",
				    i);
		if (a.length > SESSION_RECORD_MAX)
			return bxkd_error(error, error_size,
				    "access %" PRIu32 " claims %" PRIu32 " bytes, over the %u-byte "
				    "record limit",
				    i, a.length, SESSION_RECORD_MAX);
		at += ACCESS_SIZE;
		left -= ACCESS_SIZE;
		if (a.ok) {
			if (a.length > left)
				return bxkd_error(error, error_size,
					    "access %" PRIu32 "'s %" PRIu32 " bytes run past the end "
					    "of the record (%zu left)",
					    i, a.length, left);
			at += a.length;
			left -= a.length;
		}
	}
	if (left)
		return bxkd_error(error, error_size,
			    "%zu bytes follow the last of its %" PRIu32 " accesses", left,
			    b->accesses);
	r->u.backdoor.accesses = p + BACKDOOR_FIXED_SIZE;
	r->u.backdoor.accesses_length = n - BACKDOOR_FIXED_SIZE;
	return true;
}

/* A receive that got nothing says the sizes it asked, without bytes. */
static bool kd_port_carries_bytes(const struct session_kd_port *k)
{
	return k->op == SESSION_KD_SEND ||
	       (k->op == SESSION_KD_RECEIVE && k->result == KD_OK);
}

static bool decode_kd_port(const uint8_t *p, size_t n, struct session_record *r, char *error,
			   size_t error_size)
{
	struct session_kd_port *k = &r->u.kd_port.fixed;

	if (!has_fixed_part(n, KD_PORT_FIXED_SIZE, "KD_PORT", error, error_size))
		return false;
	memset(k, 0, sizeof(*k));
	k->op = p[KD_PORT_AT(op)];
	k->result = p[KD_PORT_AT(result)];
	k->packet_type = le_get16(p + KD_PORT_AT(packet_type));
	k->timeout_ms = le_get32(p + KD_PORT_AT(timeout_ms));
	k->header_length = le_get32(p + KD_PORT_AT(header_length));
	k->data_capacity = le_get32(p + KD_PORT_AT(data_capacity));
	k->data_length = le_get32(p + KD_PORT_AT(data_length));

	bool carries_bytes = kd_port_carries_bytes(k);
	uint64_t counted = carries_bytes ? (uint64_t)k->header_length + k->data_length : 0;
	size_t bytes = n - KD_PORT_FIXED_SIZE;
	if ((k->op == SESSION_KD_SEND || k->op == SESSION_KD_RECEIVE) &&
	    k->result > SESSION_KD_RESULT_LAST)
		return bxkd_error(error, error_size, "its %s result %u is unknown",
			    session_kd_op_name(k->op), k->result);
	switch (k->op) {
	case SESSION_KD_SEND:
		break;
	case SESSION_KD_RECEIVE:
		if (!carries_bytes && k->data_length)
			return bxkd_error(error, error_size,
				    "its receive that got nothing (result %u) claims %" PRIu32
				    " data bytes", k->result, k->data_length);
		break;
	case SESSION_KD_POLL_BREAKIN:
	case SESSION_KD_DEBUGGER_PRESENT:
	case SESSION_KD_DEBUGGER_ATTACHED:
		if (k->result > 1)
			return bxkd_error(error, error_size,
				    "its %s result %u is neither 0 nor 1", session_kd_op_name(k->op),
				    k->result);
		if (k->header_length || k->data_length)
			return bxkd_error(error, error_size, "its %s call claims packet bytes",
				    session_kd_op_name(k->op));
		break;
	default:
		return bxkd_error(error, error_size, "its KD port operation %u is unknown", k->op);
	}
	if (counted != bytes)
		return bxkd_error(error, error_size,
			    "its %s of header_length %" PRIu32 " + data_length %" PRIu32
			    " carries %zu bytes after the fixed part, not %" PRIu64,
			    session_kd_op_name(k->op), k->header_length, k->data_length, bytes,
			    counted);
	if (k->op == SESSION_KD_RECEIVE && k->data_length > k->data_capacity)
		return bxkd_error(error, error_size,
			    "its receive brought %" PRIu32 " data bytes into room for %" PRIu32,
			    k->data_length, k->data_capacity);
	r->u.kd_port.bytes = p + KD_PORT_FIXED_SIZE;
	return true;
}

static bool decode_endpoint(const uint8_t *p, size_t n, struct session_record *r, char *error,
			    size_t error_size)
{
	struct session_endpoint *e = &r->u.endpoint.fixed;

	if (!has_fixed_part(n, ENDPOINT_FIXED_SIZE, "ENDPOINT", error, error_size))
		return false;
	memset(e, 0, sizeof(*e));
	e->event = p[0];
	memcpy(e->pad, p + 1, sizeof(e->pad));
	if (!all_zero(e->pad, sizeof(e->pad)))
		return bxkd_error(error, error_size, "its padding after the event is not zero");
	switch (e->event) {
	case KD_ENDPOINT_TO_DEBUGGER:
	case KD_ENDPOINT_TO_TARGET:
		break;
	case KD_ENDPOINT_ATTACHED:
	case KD_ENDPOINT_DETACHED:
		if (n != ENDPOINT_FIXED_SIZE)
			return bxkd_error(error, error_size, "its %s event carries %zu bytes",
				    session_endpoint_event_name(e->event), n - ENDPOINT_FIXED_SIZE);
		break;
	default:
		return bxkd_error(error, error_size, "its endpoint event %u is unknown", e->event);
	}
	r->u.endpoint.bytes = p + ENDPOINT_FIXED_SIZE;
	r->u.endpoint.length = n - ENDPOINT_FIXED_SIZE;
	return true;
}

static bool decode_payload(const uint8_t *p, size_t n, struct session_record *record,
			   char *error, size_t error_size)
{
	record->payload = p;
	switch (record->h.kind) {
	case SESSION_MANIFEST:
	case SESSION_END:
		if (!check_text(p, n, error, error_size))
			return false;
		record->u.text.text = (const char *)p;
		record->u.text.text_length = n;
		return true;
	case SESSION_BACKDOOR:
		return decode_backdoor(p, n, record, error, error_size);
	case SESSION_KD_PORT:
		return decode_kd_port(p, n, record, error, error_size);
	case SESSION_ENDPOINT:
		return decode_endpoint(p, n, record, error, error_size);
	default:
		return bxkd_error(error, error_size, "the record's kind %u is unknown",
				  record->h.kind);
	}
}

/* ---- the checksum ------------------------------------------------------------------ */

uint32_t session_crc32(uint32_t crc, const uint8_t *bytes, size_t length)
{
	/* Bit by bit: records are small next to what Bochs does per call, and
	 * there is then no table to get wrong. */
	crc = ~crc;
	for (size_t i = 0; i < length; i++) {
		crc ^= bytes[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* A version 2 record's checksum: its bytes with the checksum field zero. */
static uint32_t record_checksum(const uint8_t *record, size_t length)
{
	static const uint8_t zero[4];
	uint32_t crc = session_crc32(0, record, HEADER_CHECKSUM_AT);

	crc = session_crc32(crc, zero, sizeof(zero));
	return session_crc32(crc, record + HEADER_SIZE, length - HEADER_SIZE);
}

bool session_decode(const uint8_t *bytes, size_t length, struct session_record *record,
		    char *error, size_t error_size)
{
	struct session_record_header *h = &record->h;

	memset(record, 0, sizeof(*record));
	/* Magic and version first, from the bytes every version starts with:
	 * a newer recorder's record is refused for its version, whatever the
	 * rest of its header looks like. */
	if (length < VERSIONED_PREFIX)
		return bxkd_error(error, error_size,
			    "the record is %zu bytes, shorter than its %u-byte header", length,
			    HEADER_SIZE);
	h->magic = le_get32(bytes + HEADER_MAGIC_AT);
	h->version = le_get16(bytes + HEADER_VERSION_AT);
	if (h->magic != SESSION_MAGIC)
		return bxkd_error(error, error_size,
			    "the record's magic is 0x%08" PRIx32 ", not 0x%08x (\"BXKS\")", h->magic,
			    SESSION_MAGIC);
	if (h->version > SESSION_VERSION)
		return bxkd_error(error, error_size,
			    "the record is of session format version %u, newer than version %u, "
			    "the newest this bxkd reads; use a newer bxkd",
			    h->version, SESSION_VERSION);
	if (h->version == 0)
		return bxkd_error(error, error_size, "the record's format version is 0, which never "
					       "existed");
	size_t header_size = h->version == 1 ? SESSION_HEADER_SIZE_V1 : HEADER_SIZE;
	if (length < header_size)
		return bxkd_error(error, error_size,
			    "the record is %zu bytes, shorter than its %zu-byte header", length,
			    header_size);
	h->kind = le_get16(bytes + HEADER_KIND_AT);
	h->sequence = le_get32(bytes + HEADER_SEQUENCE_AT);
	h->length = le_get32(bytes + HEADER_LENGTH_AT);
	h->tick = le_get64(bytes + HEADER_TICK_AT);
	if (h->version >= 2)
		h->checksum = le_get32(bytes + HEADER_CHECKSUM_AT);
	if (length > SESSION_RECORD_MAX)
		return bxkd_error(error, error_size, "the record is %zu bytes, over the %u-byte limit",
			    length, SESSION_RECORD_MAX);
	if ((uint64_t)h->length != length - header_size)
		return bxkd_error(error, error_size,
			    "the header says %" PRIu32 " payload bytes, but %zu follow it%s",
			    h->length, length - header_size,
			    h->length > length - header_size ? " (its length runs past the end)"
							     : "");
	/* The structure first, so that a damaged field is named; then the
	 * checksum, which catches what the rules cannot (a changed byte of
	 * guest memory, of a register, of text). */
	if (!decode_payload(bytes + header_size, length - header_size, record, error, error_size))
		return false;
	if (h->version >= 2) {
		uint32_t computed = record_checksum(bytes, length);
		if (computed != h->checksum)
			return bxkd_error(error, error_size,
				    "its checksum is 0x%08" PRIx32 " but its bytes give 0x%08" PRIx32,
				    h->checksum, computed);
	}
	return true;
}

bool session_backdoor_access(const struct session_record *record, uint32_t index,
			     struct session_access *access, const uint8_t **bytes)
{
	if (record->h.kind != SESSION_BACKDOOR || index >= record->u.backdoor.fixed.accesses)
		return false;
	/* session_decode walked the list: every step below stays inside it. */
	const uint8_t *at = record->u.backdoor.accesses;
	for (uint32_t i = 0;; i++) {
		read_access(at, access);
		if (i == index)
			break;
		at += ACCESS_SIZE + (access->ok ? access->length : 0);
	}
	if (bytes)
		*bytes = access->ok ? at + ACCESS_SIZE : NULL;
	return true;
}

bool session_backdoor_is_kd_call(const struct session_backdoor *b, uint16_t kd_command)
{
	return b->port == BDOOR_PORT && b->regs_in[SESSION_EAX] == BDOOR_MAGIC &&
	       kdvm_is_transport_call(b->regs_in[SESSION_ECX], b->regs_in[SESSION_EBX], kd_command);
}

size_t session_kd_port_bytes(const struct session_kd_port *k)
{
	return kd_port_carries_bytes(k) ? (size_t)k->header_length + k->data_length : 0;
}

uint32_t session_backdoor_eax(const struct session_backdoor *b)
{
	return b->direction == 0 ? b->in_value : b->regs_out[SESSION_EAX];
}

bool session_text_value(const struct session_record *record, const char *key, char *value,
			size_t value_size)
{
	if (record->h.kind != SESSION_MANIFEST && record->h.kind != SESSION_END)
		return false;
	const char *text = record->u.text.text;
	size_t n = record->u.text.text_length, key_length = strlen(key);

	/* session_decode saw to it that every line ends in '\n'. */
	for (size_t at = 0; at < n;) {
		const char *line = text + at;
		const char *end = memchr(line, '\n', n - at);
		size_t line_length = (size_t)(end - line);
		if (line_length > key_length && !memcmp(line, key, key_length) &&
		    line[key_length] == '=') {
			size_t value_length = line_length - key_length - 1;
			if (value_length >= value_size)
				return false;
			memcpy(value, line + key_length + 1, value_length);
			value[value_length] = '\0';
			return true;
		}
		at += line_length + 1;
	}
	return false;
}

/* ---- building ------------------------------------------------------------------------ */

void session_buffer_free(struct session_buffer *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void session_begin(struct session_buffer *b, enum session_kind kind, uint32_t sequence,
		   uint64_t tick)
{
	uint8_t header[HEADER_SIZE];

	le_put32(header + HEADER_MAGIC_AT, SESSION_MAGIC);
	le_put16(header + HEADER_VERSION_AT, SESSION_VERSION);
	le_put16(header + HEADER_KIND_AT, (uint16_t)kind);
	le_put32(header + HEADER_SEQUENCE_AT, sequence);
	le_put32(header + HEADER_LENGTH_AT, 0);
	le_put64(header + HEADER_TICK_AT, tick);
	le_put32(header + HEADER_CHECKSUM_AT, 0);
	b->length = 0;
	b->failed = false;
	session_append(b, header, sizeof(header));
}

void session_append(struct session_buffer *b, const void *bytes, size_t length)
{
	if (b->failed || !length)
		return;
	if (length > SESSION_RECORD_MAX - b->length) {
		b->failed = true;
		return;
	}
	if (b->length + length > b->capacity) {
		size_t capacity = b->capacity ? b->capacity : BUFFER_INITIAL_CAPACITY;
		while (capacity < b->length + length)
			capacity *= 2;
		uint8_t *data = realloc(b->data, capacity);
		if (!data) {
			b->failed = true;
			return;
		}
		b->data = data;
		b->capacity = capacity;
	}
	memcpy(b->data + b->length, bytes, length);
	b->length += length;
}

void session_finish(struct session_buffer *b)
{
	if (b->length < HEADER_SIZE)
		b->failed = true; /* no session_begin() */
	if (b->failed)
		return;
	le_put32(b->data + HEADER_LENGTH_AT, (uint32_t)(b->length - HEADER_SIZE));
	le_put32(b->data + HEADER_CHECKSUM_AT, record_checksum(b->data, b->length));
}

void session_renumber(uint8_t *record, size_t length, uint32_t sequence)
{
	if (length < HEADER_SIZE)
		return;
	le_put32(record + HEADER_SEQUENCE_AT, sequence);
	le_put32(record + HEADER_CHECKSUM_AT, record_checksum(record, length));
}

void session_rebuild(struct session_buffer *b, const struct session_record *record)
{
	session_begin(b, (enum session_kind)record->h.kind, record->h.sequence, record->h.tick);
	session_append(b, record->payload, record->h.length);
	session_finish(b);
}
