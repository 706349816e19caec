/*
 * fuzz_session.c -- the session reader (replay/session_file.c, session.c):
 * any file as a session, and every accessor on what it accepted.
 *
 * Invariants: every record, access, packet and text the reader hands out
 * lies inside the bytes it read; a record decoded again from its own bytes
 * decodes the same.
 */
#include "config.h"

#include <string.h>

#include "fuzz_input.h"
#include "session.h"
#include "session_file.h"

static bool inside(const struct session_file *f, const void *p, size_t length)
{
	const uint8_t *b = p;
	return b >= f->bytes && length <= f->length && (size_t)(b - f->bytes) <= f->length - length;
}

static void check_record(const struct session_file *f, const struct session_record *r)
{
	/* The header on disk: version 2 adds the checksum to version 1's. */
	size_t header = r->h.version == 1 ? SESSION_HEADER_SIZE_V1 : SESSION_HEADER_SIZE;
	size_t length = header + r->h.length;
	const uint8_t *start = r->payload - header;
	struct session_record again;
	char error[256], value[128];

	FUZZ_ASSERT(inside(f, start, length), "a record outside the file's bytes");
	FUZZ_ASSERT(session_decode(start, length, &again, error, sizeof(error)),
		    "a record read from the file does not decode again: %s", error);
	FUZZ_ASSERT(!memcmp(&again.h, &r->h, sizeof(r->h)), "a record decodes differently");
	switch (r->h.kind) {
	case SESSION_MANIFEST:
	case SESSION_END:
		FUZZ_ASSERT(inside(f, r->u.text.text, r->u.text.text_length), "text outside");
		session_text_value(r, "image", value, sizeof(value));
		session_text_value(r, "kd_command", value, sizeof(value));
		break;
	case SESSION_BACKDOOR:
		for (uint32_t i = 0; i < r->u.backdoor.fixed.accesses; i++) {
			struct session_access access;
			const uint8_t *bytes;
			FUZZ_ASSERT(session_backdoor_access(r, i, &access, &bytes),
				    "access %u of %u not there", i, r->u.backdoor.fixed.accesses);
			if (access.ok)
				FUZZ_ASSERT(inside(f, bytes, access.length), "access bytes outside");
		}
		session_backdoor_eax(&r->u.backdoor.fixed);
		break;
	case SESSION_KD_PORT:
		FUZZ_ASSERT(inside(f, r->u.kd_port.bytes, session_kd_port_bytes(&r->u.kd_port.fixed)),
			    "packet bytes outside");
		break;
	case SESSION_ENDPOINT:
		FUZZ_ASSERT(inside(f, r->u.endpoint.bytes, r->u.endpoint.length),
			    "endpoint bytes outside");
		break;
	default:
		fuzz_fail("a record of kind %u accepted", r->h.kind);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session_file f;
	char error[512], value[64];

	if (!session_file_read(fuzz_write_file(data, size), &f, error, sizeof(error)))
		return 0;
	for (size_t i = 0; i < f.count; i++)
		check_record(&f, &f.records[i]);
	session_file_manifest(&f, "image_sha256", value, sizeof(value));
	session_file_free(&f);
	return 0;
}
