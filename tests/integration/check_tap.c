/*
 * check_tap.c -- bxkd-tap as a process between a fake target and a fake
 * debugger on real Unix sockets: bytes pass unchanged both ways, the trace
 * says what they were, either side may leave and come back, and SIGTERM
 * ends it with a summary.
 *
 * The fake target listens as Bochs' COM1 socket does and the tap connects
 * to it; the fake debugger connects to the tap's listener. KDCOM frames are
 * made by the engine. Every wait is bounded; the tap is killed whatever
 * happens.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bxkd/dbgkd.h"
#include "kdcom_engine.h"
#include "process.h"
#include "json_check.h"
#include "kd_test_bytes.h"
#include "proc.h"
#include "suites.h"
#include "testcases.h"

/* Generous for a loaded machine; a working tap takes milliseconds. */
#define WAIT_MS 5000
/* The tap retries a lost target every 500 ms. */
#define RECONNECT_WAIT_MS 5000
#define OUTPUT_MAX (256 * 1024)
#define PINGS 20
/* Median one-way delay through the tap that still counts as live. */
#define LATENCY_LIMIT_MS 10.0

static struct tap_process {
	pid_t pid;
	int out_fd;
	char out[OUTPUT_MAX];
	size_t out_length;
	int status;
} tap = { .pid = -1, .out_fd = -1 };

/* A short directory under /tmp (socket_dir): a socket's path holds 107
 * bytes, whatever the depth of the build tree. */
static char *workdir;
static char target_path[300], debugger_path[300];

static int remaining(uint64_t deadline)
{
	uint64_t now = bxkd_now_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

/* ---- the tap's process ---------------------------------------------------------- */

static void make_workdir(void)
{
	workdir = socket_dir();
	ck_assert_ptr_nonnull(workdir);
	snprintf(target_path, sizeof(target_path), "%s/com1.sock", workdir);
	snprintf(debugger_path, sizeof(debugger_path), "%s/kd.sock", workdir);
	unlink(target_path);
	unlink(debugger_path);
}

static void start_tap(const char *option)
{
	char target_spec[320], debugger_spec[320], stderr_path[300];
	int out[2];

	snprintf(target_spec, sizeof(target_spec), "connect:%s", target_path);
	snprintf(debugger_spec, sizeof(debugger_spec), "unix:%s", debugger_path);
	snprintf(stderr_path, sizeof(stderr_path), "%s/tap.stderr", workdir);
	ck_assert_int_eq(pipe(out), 0);
	tap.out_length = 0;
	tap.out[0] = '\0';
	tap.pid = fork();
	ck_assert_int_ge(tap.pid, 0);
	if (tap.pid == 0) {
		int err = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(out[1], STDOUT_FILENO);
		if (err >= 0)
			dup2(err, STDERR_FILENO);
		close(out[0]);
		if (option)
			execl(BXKD_TAP_PROGRAM, "bxkd-tap", option, target_spec, debugger_spec,
			      (char *)NULL);
		else
			execl(BXKD_TAP_PROGRAM, "bxkd-tap", target_spec, debugger_spec,
			      (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	tap.out_fd = out[0];
	fcntl(tap.out_fd, F_SETFL, O_NONBLOCK);
}

/* Reads what the tap printed, waiting up to timeout_ms for more. */
static bool read_output(int timeout_ms)
{
	struct pollfd p = { tap.out_fd, POLLIN, 0 };

	if (tap.out_fd < 0 || poll(&p, 1, timeout_ms) <= 0)
		return false;
	ssize_t n = read(tap.out_fd, tap.out + tap.out_length, OUTPUT_MAX - 1 - tap.out_length);
	if (n <= 0) {
		close(tap.out_fd);
		tap.out_fd = -1;
		return false;
	}
	tap.out_length += (size_t)n;
	tap.out[tap.out_length] = '\0';
	return true;
}

/* Waits until the tap's output has `text` after `from`; returns where. */
static size_t expect_output(const char *text, size_t from)
{
	uint64_t deadline = bxkd_now_ms() + WAIT_MS;

	for (;;) {
		const char *at = strstr(tap.out + from, text);
		if (at)
			return (size_t)(at - tap.out) + strlen(text);
		if (!remaining(deadline) || (!read_output(remaining(deadline)) && tap.out_fd < 0))
			ck_abort_msg("bxkd-tap did not print \"%s\"; it printed:\n%s", text,
				     tap.out);
	}
}

/* The end of the first whole line after `from` that is a JSON object with
 * `members`, or 0. */
static size_t json_line_with(const char *members, size_t from)
{
	for (const char *line = tap.out + from; *line;) {
		size_t length = strcspn(line, "\n");
		if (line[length] != '\n')
			return 0; /* still being written */
		char *copy = strndup(line, length);
		bool found = json_has_members(copy, members);
		free(copy);
		line += length + 1;
		if (found)
			return (size_t)(line - tap.out);
	}
	return 0;
}

/* Waits until the tap prints a JSON line with `members` after `from`;
 * returns where that line ends. */
static size_t expect_json_output(const char *members, size_t from)
{
	uint64_t deadline = bxkd_now_ms() + WAIT_MS;

	for (;;) {
		size_t end = json_line_with(members, from);
		if (end)
			return end;
		if (!remaining(deadline) || (!read_output(remaining(deadline)) && tap.out_fd < 0))
			ck_abort_msg("bxkd-tap printed no line with %s; it printed:\n%s", members,
				     tap.out);
	}
}

static bool reap(int timeout_ms)
{
	uint64_t deadline = bxkd_now_ms() + (uint64_t)timeout_ms;

	do {
		if (waitpid(tap.pid, &tap.status, WNOHANG) == tap.pid) {
			tap.pid = -1;
			return true;
		}
		read_output(10);
	} while (remaining(deadline));
	return false;
}

/* Runs after every test, passed or not: no tap outlives its test. */
static void kill_tap(void)
{
	if (tap.pid > 0) {
		kill(tap.pid, SIGKILL);
		waitpid(tap.pid, NULL, 0);
		tap.pid = -1;
	}
	if (tap.out_fd >= 0)
		close(tap.out_fd);
	tap.out_fd = -1;
	unlink(target_path);
	if (workdir)
		remove_socket_dir(workdir);
	workdir = NULL;
}

static void stop_tap(void)
{
	ck_assert_int_eq(kill(tap.pid, SIGTERM), 0);
	ck_assert_msg(reap(WAIT_MS), "bxkd-tap did not end on SIGTERM; it printed:\n%s", tap.out);
	while (read_output(100))
		;
	ck_assert_msg(WIFEXITED(tap.status) && WEXITSTATUS(tap.status) == 0,
		      "bxkd-tap ended with status 0x%x", tap.status);
}

/* ---- plain sockets ---------------------------------------------------------------------- */

static socklen_t address(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(a->sun_path));
	strcpy(a->sun_path, path);
	return (socklen_t)sizeof(*a);
}

static int listen_at(const char *path)
{
	struct sockaddr_un a;
	socklen_t length = address(path, &a);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, length), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

static int accept_within(int listener, int timeout_ms)
{
	struct pollfd p = { listener, POLLIN, 0 };

	ck_assert_msg(poll(&p, 1, timeout_ms) == 1, "the tap did not connect to the target");
	int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* The tap's listener appears when it has started: keep trying. */
static int connect_within(const char *path, int timeout_ms)
{
	uint64_t deadline = bxkd_now_ms() + (uint64_t)timeout_ms;
	struct sockaddr_un a;
	socklen_t length = address(path, &a);

	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fd, 0);
		if (connect(fd, (struct sockaddr *)&a, length) == 0)
			return fd;
		close(fd);
		ck_assert_msg(remaining(deadline), "cannot connect to %s: %s", path,
			      strerror(errno));
		usleep(10000);
	}
}

static void send_all(int fd, const uint8_t *bytes, size_t length)
{
	while (length) {
		ssize_t n = send(fd, bytes, length, MSG_NOSIGNAL);
		ck_assert_msg(n > 0, "send: %s", strerror(errno));
		bytes += n;
		length -= (size_t)n;
	}
}

static void receive_exactly(int fd, uint8_t *out, size_t length)
{
	uint64_t deadline = bxkd_now_ms() + WAIT_MS;
	size_t got = 0;

	while (got < length) {
		struct pollfd p = { fd, POLLIN, 0 };
		ck_assert_msg(poll(&p, 1, remaining(deadline)) == 1,
			      "only %zu of %zu bytes came through the tap", got, length);
		ssize_t n = recv(fd, out + got, length - got, 0);
		ck_assert_msg(n > 0, "the tap closed the connection after %zu of %zu bytes", got,
			      length);
		got += (size_t)n;
	}
}

/* Sends from one socket and requires the same bytes at the other. */
static void pass(int from, int to, const uint8_t *bytes, size_t length)
{
	uint8_t got[2 * KDCOM_MAX_FRAME];

	ck_assert_uint_le(length, sizeof(got));
	send_all(from, bytes, length);
	receive_exactly(to, got, length);
	ck_assert_mem_eq(got, bytes, length);
}

/* ---- a conversation, through the tap ------------------------------------------------ */

static struct kdcom target_engine, debugger_engine;
static int target_fd = -1, debugger_fd = -1;
static size_t sent_d2t, sent_t2d;

static void engines(void)
{
	struct kdcom_config config;

	kdcom_config_init(&config, KDCOM_TARGET, 1000);
	kdcom_init(&target_engine, &config);
	kdcom_config_init(&config, KDCOM_DEBUGGER, 1000);
	kdcom_init(&debugger_engine, &config);
	sent_d2t = sent_t2d = 0;
}

static void input(struct kdcom *k, const uint8_t *bytes, size_t length)
{
	struct kdcom_event e;
	size_t used = 0;

	while (used < length) {
		used += kdcom_input(k, bytes + used, length - used, 0);
		while (kdcom_next_event(k, &e))
			;
	}
}

/* What one engine has to send goes through the tap into the other. */
static void target_speaks(void)
{
	uint8_t f[2 * KDCOM_MAX_FRAME];
	size_t n = kd_test_drain(&target_engine, f, sizeof(f));

	pass(target_fd, debugger_fd, f, n);
	sent_t2d += n;
	input(&debugger_engine, f, n);
}

static void debugger_speaks(void)
{
	uint8_t f[2 * KDCOM_MAX_FRAME];
	size_t n = kd_test_drain(&debugger_engine, f, sizeof(f));

	pass(debugger_fd, target_fd, f, n);
	sent_d2t += n;
	input(&target_engine, f, n);
}

static void send_manipulate(struct kdcom *k, uint32_t api)
{
	struct dbgkd_manipulate_state64 m;

	memset(&m, 0, sizeof(m));
	m.api_number = api;
	if (k == &target_engine && api == DBGKD_GET_VERSION_API) {
		m.u.get_version.minor_version = 2600;
		m.u.get_version.machine_type = DBGKD_MACHINE_I386;
	}
	ck_assert_int_eq(kdcom_send(k, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), NULL, 0, 0),
			 KDCOM_SEND_STARTED);
}

/* A request, its acknowledgement, the reply and its acknowledgement. */
static void request_and_reply(uint32_t api)
{
	kdcom_expect(&target_engine, KDCOM_TYPE_STATE_MANIPULATE,
		     sizeof(struct dbgkd_manipulate_state64), KDCOM_MAX_PAYLOAD);
	send_manipulate(&debugger_engine, api);
	debugger_speaks();
	target_speaks();
	ck_assert(!kdcom_sending(&debugger_engine));
	kdcom_expect(&target_engine, 0, 0, 0);
	send_manipulate(&target_engine, api);
	target_speaks();
	debugger_speaks();
	ck_assert(!kdcom_sending(&target_engine));
}

/* The opening of a session: a break-in and RESET, the target's RESET,
 * then GetVersion. */
static void attach_and_get_version(void)
{
	kdcom_send_reset(&debugger_engine, 0);
	kdcom_send_breakin(&debugger_engine);
	debugger_speaks();
	target_speaks();
	ck_assert(!kdcom_sending(&debugger_engine));
	request_and_reply(DBGKD_GET_VERSION_API);
}

static size_t expect_session_lines(size_t from)
{
	size_t at = expect_output("d2t RESET\n", from);

	at = expect_output("d2t break-in\n", at);
	at = expect_output("t2d RESET\n", at);
	at = expect_output("d2t STATE_MANIPULATE id=0x80800000 length=56 checksum ok trailer ok: "
			   "GetVersion request\n",
			   at);
	at = expect_output("t2d ACK id=0x80800000\n", at);
	at = expect_output("t2d STATE_MANIPULATE id=0x80800000 length=56 checksum ok trailer ok: "
			   "GetVersion reply status=0x00000000 success version=0x0000 build=2600 "
			   "protocol=0 flags=0x0000 machine=0x014c i386",
			   at);
	return expect_output("d2t ACK id=0x80800000\n", at);
}

/* A single packet's bytes, for the tests that do not hold a conversation. */
static size_t manipulate_frame(struct kdcom *k, uint32_t api, uint8_t *out, size_t cap)
{
	send_manipulate(k, api);
	return kd_test_drain(k, out, cap);
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* A tap between a target listening at target_path and a debugger
 * connected to it, both connections made. */
struct tapped_link {
	int listener, target, debugger;
};

static void tap_between(const char *tap_option, struct tapped_link *link)
{
	make_workdir();
	engines();
	link->listener = listen_at(target_path);
	start_tap(tap_option);
	link->target = accept_within(link->listener, WAIT_MS);
	link->debugger = connect_within(debugger_path, WAIT_MS);
}

START_TEST(relays_both_ways_and_survives_a_debugger_leaving)
{
	char summary[256];

	struct tapped_link link;
	tap_between(NULL, &link);
	int listener = link.listener;
	target_fd = link.target;
	debugger_fd = link.debugger;
	size_t at = expect_output("target connected (", 0);
	expect_output("debugger connected (", 0);

	attach_and_get_version();
	at = expect_session_lines(at);

	/* The debugger leaves; the target goes on, unheard. */
	close(debugger_fd);
	at = expect_output("debugger disconnected\n", at);
	send_all(target_fd, (const uint8_t *)"b", 1);
	sent_t2d++;
	at = expect_output("debugger: not connected: bytes for it are dropped until it is\n", at);
	at = expect_output("t2d garbage bytes=1 head=\"b\"\n", at);

	/* It comes back, and relaying resumes in both directions. */
	debugger_fd = connect_within(debugger_path, WAIT_MS);
	at = expect_output("debugger connected (", at);
	request_and_reply(DBGKD_READ_VIRTUAL_MEMORY_API);
	at = expect_output("d2t STATE_MANIPULATE id=0x80800001 length=56 checksum ok trailer ok: "
			   "ReadVirtualMemory request",
			   at);
	at = expect_output("t2d ACK id=0x80800001\n", at);
	at = expect_output("t2d STATE_MANIPULATE id=0x80800001 length=56 checksum ok trailer ok: "
			   "ReadVirtualMemory reply",
			   at);
	at = expect_output("d2t ACK id=0x80800001\n", at);

	stop_tap();
	/* Frames: d2t RESET, two requests, two ACKs; t2d RESET, two ACKs, two replies. */
	snprintf(summary, sizeof(summary),
		 "; d2t %zu bytes 5 frames, t2d %zu bytes 5 frames; 0 bad checksums, 0 resends, "
		 "2 resets, 1 bytes undelivered\n",
		 sent_d2t, sent_t2d);
	at = expect_output("bxkd-tap: SIGTERM after ", at);
	expect_output(summary, at);
	close(debugger_fd);
	close(target_fd);
	close(listener);
}
END_TEST

START_TEST(reconnects_to_a_target_that_went_away)
{
	struct tapped_link link;
	tap_between("--quiet", &link);
	int listener = link.listener, target = link.target, debugger = link.debugger;
	expect_output("debugger connected (", 0);

	/* Half a frame, then the target goes: the trace says it was cut off. */
	uint8_t f[2 * KDCOM_MAX_FRAME];
	size_t n = manipulate_frame(&target_engine, DBGKD_GET_VERSION_API, f, sizeof(f));
	pass(target, debugger, f, 30);
	close(target);
	size_t at = expect_output("t2d cut off STATE_MANIPULATE length=56 after 30 bytes: "
				  "the target disconnected\n",
				  0);
	at = expect_output("target disconnected\n", at);

	/* The tap connects again by itself. */
	target = accept_within(listener, RECONNECT_WAIT_MS);
	at = expect_output("target connected (", at);
	pass(target, debugger, f, n);
	n = manipulate_frame(&debugger_engine, DBGKD_GET_VERSION_API, f, sizeof(f));
	pass(debugger, target, f, n);
	at = expect_output("t2d STATE_MANIPULATE id=0x80800800 SYNC length=56", at);
	expect_output("d2t STATE_MANIPULATE id=0x80800000 length=56", at);
	/* --quiet leaves out the endpoints' notes. */
	ck_assert(!strstr(tap.out, "waiting for a listener"));

	stop_tap();
	close(debugger);
	close(target);
	close(listener);
}
END_TEST

START_TEST(json_lines_and_garbage)
{
	struct tapped_link link;
	tap_between("--json", &link);
	int listener = link.listener, target = link.target, debugger = link.debugger;
	expect_json_output("\"kind\":\"endpoint\",\"side\":\"debugger\",\"event\":\"connected\"", 0);

	/* Noise first: reported once the target goes quiet. */
	pass(target, debugger, (const uint8_t *)"boot log\r\n", 10);
	expect_json_output("\"dir\":\"t2d\",\"kind\":\"garbage\",\"offset\":0,\"bytes\":10,"
			   "\"head\":\"boot log\\r\\n\"",
			   0);
	target_fd = target;
	debugger_fd = debugger;
	sent_t2d += 10;
	attach_and_get_version();
	expect_json_output(
		"\"dir\":\"d2t\",\"kind\":\"data\",\"offset\":17,\"type\":\"STATE_MANIPULATE\","
		"\"id\":\"0x80800000\",\"sync\":false,\"length\":56,\"checksum_ok\":true",
		0);
	stop_tap();
	char summary[256];
	snprintf(summary, sizeof(summary),
		 "\"kind\":\"summary\",\"signal\":\"SIGTERM\",\"d2t_bytes\":%zu,\"d2t_frames\":3,"
		 "\"t2d_bytes\":%zu,\"t2d_frames\":3,\"bad_checksums\":0,\"resends\":0,"
		 "\"resets\":2,\"undelivered\":0",
		 sent_d2t, sent_t2d);
	expect_json_output(summary, 0);

	/* Every line is one object with a time first. */
	static const char *const time_first[] = { "time", NULL };
	for (const char *line = tap.out; *line;) {
		size_t length = strcspn(line, "\n");
		char *copy = strndup(line, length);
		ck_assert_msg(json_starts_with_keys(copy, time_first), "not a JSON line: %s", copy);
		free(copy);
		line += length + (line[length] == '\n');
	}
	close(debugger);
	close(target);
	close(listener);
}
END_TEST

START_TEST(bytes_show_each_frame_as_it_passed)
{
	struct tapped_link link;
	tap_between("--bytes", &link);
	target_fd = link.target;
	debugger_fd = link.debugger;
	expect_output("debugger connected (", 0);

	attach_and_get_version();
	/* Each frame's line, then its bytes: a control frame's 16, the
	 * break-in's one, a data frame's header, payload and trailer. */
	size_t at = expect_output("d2t RESET\n", 0);
	at = expect_output("d2t   0000  69 69 69 69 06 00 00 00 00 00 00 00 00 00 00 00\n", at);
	at = expect_output("d2t break-in\n", at);
	at = expect_output("d2t   0000  62\n", at);
	at = expect_output("t2d RESET\n", at);
	at = expect_output("t2d   0000  69 69 69 69 06 00 00 00 00 00 00 00 00 00 00 00\n", at);
	at = expect_output("d2t STATE_MANIPULATE id=0x80800000 length=56", at);
	at = expect_output("d2t   0000  30 30 30 30 02 00 38 00 00 00 80 80 ", at);
	at = expect_output("d2t   0010  46 31 00 00 ", at);
	at = expect_output("d2t   0040  ", at);
	at = expect_output(" aa\n", at);
	at = expect_output("t2d ACK id=0x80800000\n", at);
	expect_output("t2d   0000  69 69 69 69 04 00 00 00 00 00 80 80 00 00 00 00\n", at);
	stop_tap();
	close(link.debugger);
	close(link.target);
	close(link.listener);
}
END_TEST

/* A byte's trip through the tap takes well under the 10 ms it may. */
START_TEST(relaying_is_prompt)
{
	double delays[PINGS];

	make_workdir();
	int listener = listen_at(target_path);
	start_tap("--quiet");
	int target = accept_within(listener, WAIT_MS);
	int debugger = connect_within(debugger_path, WAIT_MS);
	expect_output("debugger connected (", 0);
	for (int i = 0; i < PINGS; i++) {
		uint8_t b = (uint8_t)('A' + i), got;
		int from = i % 2 ? target : debugger, to = i % 2 ? debugger : target;
		double start = bxkd_now();
		send_all(from, &b, 1);
		receive_exactly(to, &got, 1);
		delays[i] = (bxkd_now() - start) * 1000.0;
		ck_assert_uint_eq(got, b);
		usleep(20000);
	}
	/* The median, so one scheduling hiccup does not fail it. */
	for (int i = 0; i < PINGS; i++)
		for (int j = i + 1; j < PINGS; j++)
			if (delays[j] < delays[i]) {
				double d = delays[i];
				delays[i] = delays[j];
				delays[j] = d;
			}
	ck_assert_msg(delays[PINGS / 2] <= LATENCY_LIMIT_MS, "median delay %.2f ms",
		      delays[PINGS / 2]);
	stop_tap();
	close(debugger);
	close(target);
	close(listener);
}
END_TEST

/* ---- attaching without races ------------------------------------------------------ */

/* A debugger's attach (break-in and RESET) as the engine writes it. */
static size_t attach_bytes(uint8_t *out, size_t cap)
{
	kdcom_send_breakin(&debugger_engine);
	kdcom_send_reset(&debugger_engine, 0);
	return kd_test_drain(&debugger_engine, out, cap);
}

/* The debugger attaches before the target is there (the relay has not
 * reached Bochs' COM1 yet): the target gets the break-in and the RESET
 * when it comes, for the debugger sends its RESET once. */
START_TEST(a_debugger_before_the_target_has_its_reset_delivered)
{
	uint8_t f[2 * KDCOM_MAX_FRAME], got[2 * KDCOM_MAX_FRAME];

	make_workdir();
	engines();
	start_tap(NULL);
	int debugger = connect_within(debugger_path, WAIT_MS);
	size_t at = expect_output("debugger connected (", 0);
	size_t n = attach_bytes(f, sizeof(f));
	send_all(debugger, f, n);
	/* Decoded: the tap has them, and no target exists yet. */
	at = expect_output("d2t RESET\n", at);
	int listener = listen_at(target_path);
	int target = accept_within(listener, RECONNECT_WAIT_MS);
	receive_exactly(target, got, n);
	ck_assert_mem_eq(got, f, n);
	at = expect_output("target: not connected: bytes for it are kept until it is\n", 0);
	expect_output("target: 17 bytes sent before it was there delivered now\n", at);
	stop_tap();
	close(debugger);
	close(target);
	close(listener);
}
END_TEST

/* What a debugger that has left sent is nobody's request: the next
 * debugger's bytes are the first the target gets. */
START_TEST(a_debugger_that_left_before_the_target_leaves_nothing_behind)
{
	uint8_t f[2 * KDCOM_MAX_FRAME];

	make_workdir();
	engines();
	start_tap("--quiet");
	int debugger = connect_within(debugger_path, WAIT_MS);
	size_t at = expect_output("debugger connected (", 0);
	send_all(debugger, f, attach_bytes(f, sizeof(f)));
	at = expect_output("d2t RESET\n", at);
	close(debugger);
	at = expect_output("debugger disconnected\n", at);
	int listener = listen_at(target_path);
	int target = accept_within(listener, RECONNECT_WAIT_MS);
	at = expect_output("target connected (", at);
	debugger = connect_within(debugger_path, WAIT_MS);
	expect_output("debugger connected (", at);
	engines();
	pass(debugger, target, f, attach_bytes(f, sizeof(f)));
	stop_tap();
	close(debugger);
	close(target);
	close(listener);
}
END_TEST

/* A debugger that connects while the target is half-way through a packet
 * (the kernel resending its symbol load to nobody) gets the next whole
 * packet first, never the tail of this one. */
START_TEST(a_debugger_joining_mid_packet_starts_at_the_next_packet)
{
	uint8_t f[2 * KDCOM_MAX_FRAME], burst[4 * KDCOM_MAX_FRAME], got[2 * KDCOM_MAX_FRAME];
	const size_t head = 30;

	make_workdir();
	engines();
	int listener = listen_at(target_path);
	start_tap("--quiet");
	int target = accept_within(listener, WAIT_MS);
	size_t at = expect_output("target connected (", 0);
	size_t n = manipulate_frame(&target_engine, DBGKD_GET_VERSION_API, f, sizeof(f));
	/* One packet and the head of its resend, in one write: once the
	 * first is decoded, the tap holds the head too. */
	memcpy(burst, f, n);
	memcpy(burst + n, f, head);
	send_all(target, burst, n + head);
	at = expect_output("t2d STATE_MANIPULATE id=0x80800800 SYNC length=56", at);
	int debugger = connect_within(debugger_path, WAIT_MS);
	at = expect_output("debugger connected (", at);
	/* The resend's tail, then the packet once more. */
	memcpy(burst, f + head, n - head);
	memcpy(burst + n - head, f, n);
	send_all(target, burst, 2 * n - head);
	receive_exactly(debugger, got, n);
	ck_assert_mem_eq(got, f, n);
	char said[128];
	snprintf(said, sizeof(said),
		 "debugger: joined in the middle of a packet: %zu bytes of it held back\n",
		 n - head);
	expect_output(said, at);
	stop_tap();
	close(debugger);
	close(target);
	close(listener);
}
END_TEST

/* --ready-file appears when the target is connected, not before: what
 * the launcher waits for before it says "attach now". */
START_TEST(the_ready_file_appears_when_the_target_connects)
{
	char ready[340], option[360];
	struct stat st;

	make_workdir();
	snprintf(ready, sizeof(ready), "%s/ready", workdir);
	unlink(ready);
	snprintf(option, sizeof(option), "--ready-file=%s", ready);
	start_tap(option);
	int debugger = connect_within(debugger_path, WAIT_MS);
	size_t at = expect_output("debugger connected (", 0);
	ck_assert_int_ne(stat(ready, &st), 0);
	int listener = listen_at(target_path);
	int target = accept_within(listener, RECONNECT_WAIT_MS);
	expect_output("target connected (", at);
	char *said = read_text_file(ready);
	char want[340];
	snprintf(want, sizeof(want), "%s\n", target_path);
	ck_assert_ptr_nonnull(said);
	ck_assert_str_eq(said, want);
	free(said);
	stop_tap();
	close(debugger);
	close(target);
	close(listener);
}
END_TEST

static int run_tap(const char *a, const char *b, const char *c)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		execl(BXKD_TAP_PROGRAM, "bxkd-tap", a, b, c, (char *)NULL);
		_exit(127);
	}
	uint64_t deadline = bxkd_now_ms() + WAIT_MS;
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (!remaining(deadline)) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			ck_abort_msg("bxkd-tap %s %s did not exit", a ? a : "", b ? b : "");
		}
		usleep(10000);
	}
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(usage_errors)
{
	char occupied[320];

	make_workdir();
	ck_assert_int_eq(run_tap(NULL, NULL, NULL), 2);
	ck_assert_int_eq(run_tap("connect:/x", NULL, NULL), 2);
	ck_assert_int_eq(run_tap("--frobnicate", "connect:/x", "unix:/y"), 2);
	ck_assert_int_eq(run_tap("nonsense:1", "unix:/tmp/x", NULL), 2);
	ck_assert_int_eq(run_tap("--help", NULL, NULL), 0);
	/* A listener path taken by a file that is no socket cannot be opened. */
	snprintf(occupied, sizeof(occupied), "unix:%s/plain-file", workdir);
	fclose(fopen(occupied + strlen("unix:"), "w"));
	ck_assert_int_eq(run_tap("connect:/nonexistent", occupied, NULL), 1);
	remove_socket_dir(workdir);
	workdir = NULL;
}
END_TEST

BXKD_SUITE(tap,
	testcases_add_with(s, "relay", 60, NULL, kill_tap, TESTS(
		relays_both_ways_and_survives_a_debugger_leaving,
		reconnects_to_a_target_that_went_away, json_lines_and_garbage,
		bytes_show_each_frame_as_it_passed, relaying_is_prompt));
	testcases_add_with(s, "attach", 60, NULL, kill_tap, TESTS(
		a_debugger_before_the_target_has_its_reset_delivered,
		a_debugger_that_left_before_the_target_leaves_nothing_behind,
		a_debugger_joining_mid_packet_starts_at_the_next_packet,
		the_ready_file_appears_when_the_target_connects));
	testcases_add(s, "usage", 30, TESTS(usage_errors));
)
