/*
 * fuzz_input.h -- what every harness in fuzz/ shares: the libFuzzer entry
 * points, a reader that turns the fuzzer's bytes into a script of
 * operations, and how a harness reports a broken invariant.
 *
 * The reader never fails: past the end it yields zeros and empty byte
 * runs, so every input is a valid script and the fuzzer's mutations all
 * reach the code under test.
 */
#ifndef BXKD_FUZZ_INPUT_H
#define BXKD_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct fuzz_input {
	const uint8_t *data;
	size_t size, at;
};

void fuzz_input_init(struct fuzz_input *in, const uint8_t *data, size_t size);
bool fuzz_input_done(const struct fuzz_input *in);
uint8_t fuzz_u8(struct fuzz_input *in);
uint16_t fuzz_u16(struct fuzz_input *in);
uint32_t fuzz_u32(struct fuzz_input *in);
/* Up to `max` of the next bytes (fewer at the end); *bytes points into the
 * input. */
size_t fuzz_bytes(struct fuzz_input *in, size_t max, const uint8_t **bytes);
/* A length in 0..max taken from the next two bytes. */
size_t fuzz_length(struct fuzz_input *in, size_t max);

/* `name` in the harness's private directory under /tmp (the same path for
 * the same name), removed when the process exits. */
const char *fuzz_temp_path(const char *name);

/* The input as the file fuzz_temp_path("input"), for tools that read paths. */
const char *fuzz_write_file(const uint8_t *data, size_t size);

/* Writes `size` bytes to a socket, up to the first failure (a peer that
 * left); never raises SIGPIPE. */
void fuzz_send_all(int fd, const uint8_t *data, size_t size);

/* Tools print their results: keep stdout (not libFuzzer's stderr) quiet. */
void fuzz_silence_stdout(void);

/* A broken invariant: says which on stderr and aborts, which libFuzzer
 * reports as a crash with the input that caused it. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define FUZZ_ASSERT(cond, ...) ((cond) ? (void)0 : fuzz_fail(__VA_ARGS__))

#endif /* BXKD_FUZZ_INPUT_H */
