/*
 * fuzz_kdtrace.c -- the KDCOM decoder (pipe-bridge/kdtrace*.c) on any byte
 * stream, either direction, text or JSON lines, and the packet describer on
 * any payload.
 *
 * Invariant: the lines do not depend on how the stream is split; the whole
 * stream at once and the stream in the pieces the input chooses give the
 * same lines, byte for byte.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bxkd/kdcom.h"
#include "fuzz_input.h"
#include "kdtrace.h"

struct transcript {
	char *text;
	size_t length, capacity;
};

static void keep_line(void *ctx, const char *line)
{
	struct transcript *t = ctx;
	size_t n = strlen(line) + 1;

	FUZZ_ASSERT(n <= KDTRACE_LINE_MAX, "a line of %zu bytes", n);
	if (t->length + n > t->capacity) {
		t->capacity = (t->length + n) * 2;
		t->text = realloc(t->text, t->capacity);
		FUZZ_ASSERT(t->text, "out of memory");
	}
	memcpy(t->text + t->length, line, n);
	t->length += n;
}

static struct kdtrace whole, pieces;

static void start(struct kdtrace *t, struct transcript *out, enum kdtrace_direction direction,
		  enum kdtrace_format format)
{
	struct kdtrace_config config;

	kdtrace_config_init(&config, direction, keep_line, out);
	config.format = format;
	kdtrace_init(t, &config);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	struct transcript a = { 0 }, b = { 0 };
	fuzz_input_init(&in, data, size);
	uint8_t how = fuzz_u8(&in);

	enum kdtrace_direction direction = how & 1 ? KDTRACE_TO_TARGET : KDTRACE_TO_DEBUGGER;
	enum kdtrace_format format = how & 2 ? KDTRACE_JSON : KDTRACE_TEXT;
	/* The stream is the rest of the input; the piece sizes come from its
	 * own bytes, so the split varies with the stream. */
	const uint8_t *stream;
	size_t length = fuzz_bytes(&in, size, &stream);

	start(&whole, &a, direction, format);
	start(&pieces, &b, direction, format);
	kdtrace_feed(&whole, stream, length);
	for (size_t at = 0, k = 0; at < length; k++) {
		size_t n = 1 + (stream[k % length] ^ how) % 97;
		if (n > length - at)
			n = length - at;
		kdtrace_feed(&pieces, stream + at, n);
		at += n;
	}
	if (how & 4) {
		kdtrace_pause(&whole);
		kdtrace_pause(&pieces);
	}
	kdtrace_break(&whole, "the fuzz input ended");
	kdtrace_break(&pieces, "the fuzz input ended");
	FUZZ_ASSERT(a.length == b.length && (!a.length || !memcmp(a.text, b.text, a.length)),
		    "the lines depend on how the stream was split");
	FUZZ_ASSERT(!memcmp(&whole.stats, &pieces.stats, sizeof(whole.stats)),
		    "the counts depend on how the stream was split");

	/* The describer, on the stream as one packet's payload. */
	char line[KDTRACE_LINE_MAX];
	if (length >= 2) {
		size_t n = length - 2 < KDCOM_MAX_PAYLOAD ? length - 2 : KDCOM_MAX_PAYLOAD;
		kdtrace_describe_packet(stream[0] % KDCOM_TYPE_MAX, stream + 2, n, direction, format,
					line, sizeof(line));
	}
	free(a.text);
	free(b.text);
	return 0;
}
