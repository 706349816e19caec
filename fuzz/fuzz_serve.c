/*
 * fuzz_serve.c -- `bxkd-replay serve` (replay/serve.c) playing a golden
 * session's target (tests/sessions/golden/e2e.pcap) to a debugger that
 * sends whatever the input says: up to four connections, each the bytes
 * of one segment of the input (a two-byte length, then the bytes), after
 * which the debugger hangs up. Run in-process on a Unix socket, with its
 * report thrown away; the session file itself is fuzzed by the session,
 * dump and player harnesses.
 *
 * Invariant: serve ends with 0 (matched) or 1 (diverged), never a crash
 * or a usage error, and in bounded time (libFuzzer's -timeout).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "replay.h"

#define CONNECTIONS 4
/* How long the debugger tries to reach serve's socket, in 1 ms steps. */
#define CONNECT_TRIES 2000

static char socket_path[108];
/* serve returned: the debugger stops trying to reach it. */
static atomic_bool serve_done;

struct debugger {
	const uint8_t *data;
	size_t size;
};

static int connect_to_serve(void)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	const struct timespec step = { 0, 1000000 };

	snprintf(address.sun_path, sizeof(address.sun_path), "%s", socket_path);
	for (int tries = 0; tries < CONNECT_TRIES && !atomic_load(&serve_done); tries++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&address, sizeof(address)))
			return fd;
		if (fd >= 0)
			close(fd);
		nanosleep(&step, NULL);
	}
	return -1;
}

static void *debugger_thread(void *arg)
{
	const struct debugger *d = arg;
	struct fuzz_input in;

	fuzz_input_init(&in, d->data, d->size);
	for (int i = 0; i < CONNECTIONS && !fuzz_input_done(&in); i++) {
		const uint8_t *bytes;
		size_t n = fuzz_bytes(&in, fuzz_u16(&in), &bytes);
		int fd = connect_to_serve();
		if (fd < 0)
			break;
		fuzz_send_all(fd, bytes, n);
		close(fd);
	}
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;

	snprintf(socket_path, sizeof(socket_path), "%s", fuzz_temp_path("serve.sock"));
	signal(SIGPIPE, SIG_IGN);
	fuzz_silence_stdout();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[] = "serve", session[] = BXKD_FUZZ_SESSION, listen[] = "--listen",
	     timeout[] = "--timeout", one[] = "1", quiet[] = "--quiet";
	char *argv[] = { name, session, listen, socket_path, timeout, one, quiet, NULL };
	struct debugger d = { data, size };
	pthread_t thread;

	atomic_store(&serve_done, false);
	FUZZ_ASSERT(!pthread_create(&thread, NULL, debugger_thread, &d), "no debugger thread");
	int status = replay_serve(7, argv);
	atomic_store(&serve_done, true);
	pthread_join(thread, NULL);
	FUZZ_ASSERT(status == REPLAY_EXIT_DONE || status == REPLAY_EXIT_FAILED,
		    "serve exited %d", status);
	return 0;
}
