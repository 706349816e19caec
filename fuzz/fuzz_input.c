/*
 * fuzz_input.c -- the byte reader and helpers every harness uses.
 */
#include "config.h"

#include "fuzz_input.h"
#include "fake_contract.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fuzz_input_init(struct fuzz_input *in, const uint8_t *data, size_t size)
{
	in->data = data;
	in->size = size;
	in->at = 0;
}

bool fuzz_input_done(const struct fuzz_input *in)
{
	return in->at >= in->size;
}

uint8_t fuzz_u8(struct fuzz_input *in)
{
	return in->at < in->size ? in->data[in->at++] : 0;
}

uint16_t fuzz_u16(struct fuzz_input *in)
{
	uint16_t low = fuzz_u8(in);
	return (uint16_t)(low | fuzz_u8(in) << 8);
}

uint32_t fuzz_u32(struct fuzz_input *in)
{
	uint32_t low = fuzz_u16(in);
	return low | (uint32_t)fuzz_u16(in) << 16;
}

size_t fuzz_bytes(struct fuzz_input *in, size_t max, const uint8_t **bytes)
{
	size_t left = in->size - in->at, n = max < left ? max : left;

	*bytes = in->data + in->at;
	in->at += n;
	return n;
}

size_t fuzz_length(struct fuzz_input *in, size_t max)
{
	return max ? fuzz_u16(in) % (max + 1) : 0;
}

const char *fuzz_write_file(const uint8_t *data, size_t size)
{
	static char path[256];

	if (!path[0]) {
		char dir[] = "/tmp/bxkd-fuzz.XXXXXX";
		if (!mkdtemp(dir))
			fuzz_fail("cannot make a directory for the input file");
		snprintf(path, sizeof(path), "%s/input", dir);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FUZZ_ASSERT(fd >= 0, "cannot write %s", path);
	for (size_t done = 0; done < size;) {
		ssize_t n = write(fd, data + done, size - done);
		FUZZ_ASSERT(n > 0, "cannot write %s", path);
		done += (size_t)n;
	}
	close(fd);
	return path;
}

void fuzz_silence_stdout(void)
{
	int null = open("/dev/null", O_WRONLY);

	if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
		fuzz_fail("cannot send stdout to /dev/null");
	close(null);
}

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("bxkd fuzz: invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* The test fakes' contract checks (tests/unit/fake_contract.h) are
 * invariants here too. */
void fake_contract_broken(const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	fuzz_fail("a test fake's contract: %s", message);
}
