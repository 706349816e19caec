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
#include <sys/socket.h>
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

/* The harness's private directory under /tmp and the names handed out in
 * it, removed when the process exits. */
static struct {
	char dir[64];
	char paths[4][128];
	unsigned count;
} temp;

static void remove_temp(void)
{
	for (unsigned i = 0; i < temp.count; i++)
		unlink(temp.paths[i]);
	rmdir(temp.dir);
}

const char *fuzz_temp_path(const char *name)
{
	if (!temp.dir[0]) {
		snprintf(temp.dir, sizeof(temp.dir), "/tmp/bxkd-fuzz.XXXXXX");
		FUZZ_ASSERT(mkdtemp(temp.dir), "cannot make a directory under /tmp");
		atexit(remove_temp);
	}
	for (unsigned i = 0; i < temp.count; i++)
		if (!strcmp(strrchr(temp.paths[i], '/') + 1, name))
			return temp.paths[i];
	FUZZ_ASSERT(temp.count < sizeof(temp.paths) / sizeof(*temp.paths), "too many names");
	char *path = temp.paths[temp.count++];
	snprintf(path, sizeof(temp.paths[0]), "%s/%s", temp.dir, name);
	return path;
}

const char *fuzz_write_file(const uint8_t *data, size_t size)
{
	const char *path = fuzz_temp_path("input");
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

void fuzz_send_all(int fd, const uint8_t *data, size_t size)
{
	for (size_t done = 0; done < size;) {
		ssize_t n = send(fd, data + done, size - done, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		done += (size_t)n;
	}
}

static void fail(const char *what, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0), noreturn));

static void fail(const char *what, const char *fmt, va_list ap)
{
	fprintf(stderr, "bxkd fuzz: %s: ", what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	abort();
}

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail("invariant broken", fmt, ap);
}

/* The test fakes' contract checks (tests/unit/fake_contract.h) are
 * invariants here too. */
void fake_contract_broken(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail("invariant broken: a test fake's contract", fmt, ap);
}
