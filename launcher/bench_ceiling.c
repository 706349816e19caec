/*
 * bench_ceiling.c -- what this host does with no emulator in the way, as
 * the bound bxkd's transports are judged against: copying memory, a
 * 4000-byte message through a Unix socket and back, and one KDCOM-shaped
 * exchange per read (the debugger's ACK of the last reply with its next
 * request, the target's ACK with its reply), each between two processes,
 * since the debugger and the VM are two.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "process.h"

#define COPY_BYTES (4u << 20)
#define COPY_ROUNDS 20
#define ROUND_TRIPS 2000

/* Bytes on the wire of one KDCOM exchange: a 16-byte header and a trailer
 * byte around each data packet, a bare 16-byte header for each ACK. */
#define FRAME_OVERHEAD (KDCOM_HEADER_SIZE + 1u)
#define ACK_BYTES KDCOM_HEADER_SIZE
#define REQUEST_BYTES (ACK_BYTES + FRAME_OVERHEAD + sizeof(struct dbgkd_manipulate_state64))
#define REPLY_BYTES (ACK_BYTES + FRAME_OVERHEAD + KDCOM_MAX_PAYLOAD)
#define READ_DATA_BYTES (KDCOM_MAX_PAYLOAD - sizeof(struct dbgkd_manipulate_state64))

/* All `length` bytes, read or written, whatever pieces the socket takes. */
static bool move_all(int fd, uint8_t *buf, size_t length, bool writing)
{
	for (size_t done = 0; done < length;) {
		ssize_t n = writing ? write(fd, buf + done, length - done)
				    : read(fd, buf + done, length - done);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return false;
		}
		done += (size_t)n;
	}
	return true;
}

static double measure_memcpy(void)
{
	uint8_t *from = malloc(COPY_BYTES), *to = malloc(COPY_BYTES);
	double best = 0;

	if (!from || !to) {
		free(from);
		free(to);
		return 0;
	}
	memset(from, 0x5a, COPY_BYTES);
	memset(to, 0, COPY_BYTES);
	for (unsigned i = 0; i < COPY_ROUNDS; i++) {
		double start = bxkd_now();
		memcpy(to, from, COPY_BYTES);
		/* Keeps the copy from being optimised away. */
		__asm__ volatile("" : : "r"(to) : "memory");
		double took = bxkd_now() - start;
		double rate = took > 0 ? COPY_BYTES / took / 1e6 : 0;
		if (rate > best)
			best = rate;
	}
	free(from);
	free(to);
	return best;
}

/* The peer: reads `in` bytes, answers `out`, until the socket closes. */
static void echo_peer(int fd, size_t in, size_t out)
{
	static uint8_t buf[REPLY_BYTES + REQUEST_BYTES];

	memset(buf, 0x30, sizeof(buf));
	while (move_all(fd, buf, in, false) && move_all(fd, buf, out, true))
		;
	_exit(0);
}

/* Median seconds of one exchange: `out` bytes sent, `in` bytes back, from
 * a child process at the other end of a Unix socket. */
static double round_trip(size_t out, size_t in, char *error, size_t error_size)
{
	static uint8_t buf[REPLY_BYTES + REQUEST_BYTES];
	static double samples[ROUND_TRIPS];
	int pair[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
		snprintf(error, error_size, "socketpair: %s", strerror(errno));
		return 0;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(error, error_size, "fork: %s", strerror(errno));
		close(pair[0]);
		close(pair[1]);
		return 0;
	}
	if (pid == 0) {
		close(pair[0]);
		echo_peer(pair[1], out, in);
	}
	close(pair[1]);
	memset(buf, 0x69, sizeof(buf));
	size_t done = 0;
	for (; done < ROUND_TRIPS; done++) {
		double start = bxkd_now();
		if (!move_all(pair[0], buf, out, true) || !move_all(pair[0], buf, in, false))
			break;
		samples[done] = bxkd_now() - start;
	}
	close(pair[0]);
	waitpid(pid, NULL, 0);
	if (done < ROUND_TRIPS) {
		snprintf(error, error_size, "the ping-pong peer stopped after %zu exchanges", done);
		return 0;
	}
	return bench_median(samples, done);
}

bool bench_measure_ceilings(struct bench_ceilings *c, char *error, size_t error_size)
{
	c->memcpy_mb_s = measure_memcpy();
	c->socket_round_trip_s = round_trip(KDCOM_MAX_PAYLOAD, KDCOM_MAX_PAYLOAD, error, error_size);
	if (c->socket_round_trip_s <= 0)
		return false;
	c->kdcom_round_trip_s = round_trip(REQUEST_BYTES, REPLY_BYTES, error, error_size);
	if (c->kdcom_round_trip_s <= 0)
		return false;
	c->kdcom_mb_s = READ_DATA_BYTES / c->kdcom_round_trip_s / 1e6;
	return true;
}
