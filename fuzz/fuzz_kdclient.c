/*
 * fuzz_kdclient.c -- bxkd-dbg's side of the link (pipe-bridge/kdclient.c):
 * whatever bytes a target sends while the client attaches (break-in,
 * RESET, the stop, GetVersion), reads memory and continues. The client
 * has no seam below its endpoint, so the target is a thread on a Unix
 * socket that writes the input and then reads until the client hangs up;
 * each step has a time limit of a few milliseconds, which is what makes
 * this harness slower than the others.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bxkd/dbgkd.h"
#include "bxkd/kdcom.h"
#include "fuzz_input.h"
#include "kdclient.h"

#define STEP_MS 15

/* The input the target thread sends to the next client that connects; it
 * takes a copy, so a connection left over from an earlier input never
 * reads a buffer libFuzzer has reused. */
static struct {
	pthread_mutex_t lock;
	uint8_t *data;
	size_t size;
} target = { PTHREAD_MUTEX_INITIALIZER, NULL, 0 };

static int listener = -1;
static char socket_path[108];

static void serve_one(int fd)
{
	uint8_t sink[4096];

	pthread_mutex_lock(&target.lock);
	size_t size = target.size;
	uint8_t *data = malloc(size ? size : 1);
	FUZZ_ASSERT(data, "out of memory");
	memcpy(data, target.data, size);
	pthread_mutex_unlock(&target.lock);
	fuzz_send_all(fd, data, size);
	free(data);
	while (read(fd, sink, sizeof(sink)) > 0)
		continue;
	close(fd);
}

static void *target_thread(void *unused)
{
	(void)unused;
	for (;;) {
		int fd = accept(listener, NULL, NULL);
		if (fd < 0)
			continue;
		serve_one(fd);
	}
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	pthread_t thread;

	signal(SIGPIPE, SIG_IGN);
	snprintf(socket_path, sizeof(socket_path), "%s", fuzz_temp_path("target.sock"));
	snprintf(address.sun_path, sizeof(address.sun_path), "%s", socket_path);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_ASSERT(listener >= 0 && !bind(listener, (struct sockaddr *)&address, sizeof(address)) &&
			    !listen(listener, 4),
		    "cannot listen on %s", socket_path);
	FUZZ_ASSERT(!pthread_create(&thread, NULL, target_thread, NULL), "no target thread");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kdclient_options options;
	char error[512];

	pthread_mutex_lock(&target.lock);
	free(target.data);
	target.data = malloc(size ? size : 1);
	FUZZ_ASSERT(target.data, "out of memory");
	memcpy(target.data, data, size);
	target.size = size;
	pthread_mutex_unlock(&target.lock);

	kdclient_options_init(&options);
	options.endpoint.mode = KDEP_UNIX_CONNECT;
	snprintf(options.endpoint.path, sizeof(options.endpoint.path), "%s", socket_path);
	options.resend_timeout_ms = 5;
	options.retries = 2;
	struct kdclient *c = kdclient_open(&options, error, sizeof(error));
	FUZZ_ASSERT(c, "%s", error);
	if (kdclient_connect(c, 2 * STEP_MS) == KDCLIENT_OK) {
		struct dbgkd_manipulate_state64 request, reply;
		uint8_t bytes[KDCOM_MAX_PAYLOAD];
		size_t length;

		memset(&request, 0, sizeof(request));
		request.api_number = DBGKD_READ_VIRTUAL_MEMORY_API;
		request.u.read_memory.target_base_address = 0xFFFFFFFF80100000ull;
		request.u.read_memory.transfer_count = 64;
		kdclient_request(c, &request, NULL, 0, &reply, bytes, sizeof(bytes), &length,
				 STEP_MS);
		FUZZ_ASSERT(length <= sizeof(bytes), "a reply of %zu bytes", length);
		const struct kdclient_module *modules;
		size_t count = kdclient_modules(c, &modules);
		for (size_t i = 0; i < count; i++)
			FUZZ_ASSERT(memchr(modules[i].path, 0, sizeof(modules[i].path)),
				    "a module path without its NUL");
		kdclient_continue(c, DBGKD_DBG_CONTINUE, false);
	}
	kdclient_close(c);
	return 0;
}
