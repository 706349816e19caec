/*
 * check_bridge.c -- the target bridge and its endpoints when debuggers
 * misbehave: a second one racing for the socket, garbage, one that never
 * answers, one that leaves in the middle of a frame. Every wait is bounded.
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
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bxkd/dbgkd.h"
#include "kdbridge.h"
#include "kdcom_engine.h"
#include "kdpeer.h"
#include "proc.h"
#include "suites.h"
#include "testcases.h"

static int connect_unix(const char *path)
{
	return kdpeer_connect_unix(path, 2000);
}

static void write_all(int fd, const void *data, size_t length)
{
	struct kdpeer raw = { .fd = fd };

	ck_assert_msg(kdpeer_write(&raw, data, length), "write: %s", strerror(errno));
}

/* Attach as a debugger does and ask for the version block. */
static void attach_and_ask_version(struct kdpeer *m)
{
	struct dbgkd_manipulate_state64 request;

	/* The stop may come with the RESET's answer, or before it. */
	unsigned stops = m->of_type[KDCOM_TYPE_STATE_CHANGE64];
	ck_assert_msg(kdpeer_attach(m, 5000), "the target never answered RESET");
	ck_assert_msg(kdpeer_wait_packet(m, KDCOM_TYPE_STATE_CHANGE64, stops, 5000),
		      "no state change after RESET");
	memset(&request, 0, sizeof(request));
	request.api_number = DBGKD_GET_VERSION_API;
	ck_assert_int_eq(kdcom_send(&m->k, KDCOM_TYPE_STATE_MANIPULATE, &request, sizeof(request),
				    NULL, 0, bxkd_now_ms()),
			 KDCOM_SEND_STARTED);
	ck_assert_msg(kdpeer_wait_packet(m, KDCOM_TYPE_STATE_MANIPULATE, 0, 5000), "no GetVersion reply");
	struct dbgkd_manipulate_state64 reply;
	memcpy(&reply, m->last_payload, sizeof(reply));
	ck_assert_uint_eq(reply.api_number, DBGKD_GET_VERSION_API);
	ck_assert_uint_eq(reply.u.get_version.minor_version, 2600);
}

/* ---- a fake target process ----------------------------------------------------- */

struct target {
	struct child child;
	char *dir;
	char socket[300];
	char log[300];
};

/* A debugger on the target's socket, attached and past GetVersion; returns
 * its descriptor. */
static int connect_attached(struct target *t, struct kdpeer *m)
{
	int fd = connect_unix(t->socket);

	ck_assert_int_ge(fd, 0);
	kdpeer_init(m, fd, 200);
	attach_and_ask_version(m);
	return fd;
}

/* A request for `api` framed by the debugger's engine, not yet written:
 * returns its bytes, which the test writes as it pleases. */
static size_t frame_request(struct kdpeer *m, uint32_t api, const uint8_t **bytes)
{
	struct dbgkd_manipulate_state64 request;

	memset(&request, 0, sizeof(request));
	request.api_number = api;
	kdcom_send(&m->k, KDCOM_TYPE_STATE_MANIPULATE, &request, sizeof(request), NULL, 0, bxkd_now_ms());
	return kdcom_output(&m->k, bytes);
}

/* On a Unix socket, or on the terminal `tty` if given. */
static void start_target_on(struct target *t, char *dir, const char *tty)
{
	char endpoint[320], ready[300];

	t->dir = dir;
	snprintf(t->socket, sizeof(t->socket), "%s/kd.sock", t->dir);
	snprintf(ready, sizeof(ready), "%s/ready", t->dir);
	snprintf(t->log, sizeof(t->log), "%s/target.log", t->dir);
	snprintf(endpoint, sizeof(endpoint), "%s%s", tty ? "tty:" : "unix:", tty ? tty : t->socket);
	char *const argv[] = { BXKD_FAKE_TARGET, "--endpoint", endpoint, "--ready-file", ready, NULL };
	ck_assert(child_start(&t->child, argv, NULL, t->log));
	ck_assert_msg(wait_for_file(ready, 5000), "kd-fake-target did not start");
}

static void start_target(struct target *t)
{
	start_target_on(t, socket_dir(), NULL);
}

static void stop_target(struct target *t)
{
	child_stop(&t->child);
	remove_socket_dir(t->dir);
}

/* ---- tests ------------------------------------------------------------------------- */

START_TEST(a_second_debugger_is_turned_away_with_a_reason)
{
	struct target t;
	struct kdpeer m;
	char text[256] = "";
	size_t got = 0;

	start_target(&t);
	int first = connect_unix(t.socket);
	ck_assert_int_ge(first, 0);
	usleep(100000); /* let the target take the first */
	int second = connect_unix(t.socket);
	ck_assert_int_ge(second, 0);
	uint64_t deadline = bxkd_now_ms() + 3000;
	for (;;) {
		struct pollfd p = { second, POLLIN, 0 };
		ck_assert_msg(bxkd_now_ms() < deadline, "the second debugger was neither served nor closed");
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(second, text + got, sizeof(text) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	text[got] = '\0';
	ck_assert_msg(strstr(text, "another debugger is already attached"), "got: %s", text);
	close(second);

	/* The first is still the target's debugger. */
	kdpeer_init(&m, first, 200);
	attach_and_ask_version(&m);
	close(first);
	char *log = read_text_file(t.log);
	ck_assert_ptr_nonnull(strstr(log, "refused a second debugger"));
	free(log);
	stop_target(&t);
}
END_TEST

START_TEST(garbage_before_a_session_on_the_same_connection)
{
	struct target t;
	struct kdpeer m;
	uint8_t garbage[65536];
	uint64_t seed = 0x9E3779B97F4A7C15ull;

	for (size_t i = 0; i < sizeof(garbage); i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		/* Plenty of leader bytes, so the scanner starts many false frames. */
		uint8_t b = (uint8_t)(seed >> 56);
		garbage[i] = b < 64 ? '0' : b < 128 ? 'i' : b;
	}
	/* And a header promising 65535 bytes. */
	memcpy(garbage + 1000, "0000\x02\x00\xff\xff\x00\x00\x80\x80\x00\x00\x00\x00", 16);

	start_target(&t);
	int fd = connect_unix(t.socket);
	ck_assert_int_ge(fd, 0);
	write_all(fd, garbage, sizeof(garbage));
	kdpeer_init(&m, fd, 200);
	attach_and_ask_version(&m);
	close(fd);
	stop_target(&t);
}
END_TEST

START_TEST(a_debugger_leaving_in_the_middle_of_a_frame)
{
	struct target t;
	struct kdpeer m;

	start_target(&t);
	int fd = connect_attached(&t, &m);
	/* Half of a request, then gone. */
	const uint8_t *bytes;
	size_t n = frame_request(&m, DBGKD_READ_VIRTUAL_MEMORY_API, &bytes);
	write_all(fd, bytes, n / 2);
	close(fd);

	fd = connect_attached(&t, &m);
	close(fd);
	stop_target(&t);
}
END_TEST

/* A debugger that resets the link while the target's reply to its last
 * request is unacknowledged has abandoned that request: what it gets next
 * is the state change, not the stale reply. */
START_TEST(a_reset_abandons_a_reply_nobody_acknowledged)
{
	struct target t;
	struct kdpeer m;

	start_target(&t);
	int fd = connect_attached(&t, &m);

	m.sent = false;
	const uint8_t *bytes;
	size_t n = frame_request(&m, DBGKD_GET_VERSION_API, &bytes);
	write_all(fd, bytes, n);
	kdcom_output_consumed(&m.k, n);
	/* The reply may come in one read with the ACK for the request. */
	m.mute = true;
	ck_assert(kdpeer_wait_packet(&m, KDCOM_TYPE_STATE_MANIPULATE, 1, 5000));
	ck_assert_msg(m.sent, "the request was not acknowledged");
	m.mute = false;

	unsigned replies = m.of_type[KDCOM_TYPE_STATE_MANIPULATE];
	unsigned stops = m.of_type[KDCOM_TYPE_STATE_CHANGE64];
	m.reset = false;
	kdcom_send_reset(&m.k, bxkd_now_ms());
	ck_assert_msg(kdpeer_wait_packet(&m, KDCOM_TYPE_STATE_CHANGE64, stops, 5000),
		      "no state change after the RESET");
	for (int i = 0; i < 30; i++)
		kdpeer_pump(&m, 10);
	ck_assert_uint_eq(m.of_type[KDCOM_TYPE_STATE_MANIPULATE], replies);
	close(fd);
	char *log = read_text_file(t.log);
	ck_assert_msg(strstr(log, "reply abandoned") || strstr(log, "abandon"), "log:\n%s", log);
	free(log);
	stop_target(&t);
}
END_TEST

/* CPU seconds a process has used so far. */
static double cpu_seconds(pid_t pid)
{
	char path[64], text[1024];
	unsigned long user = 0, system = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	/* Fields 14 and 15, counted after the parenthesised command name. */
	const char *p = strrchr(text, ')');
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &user,
				&system),
			 2);
	return (double)(user + system) / (double)sysconf(_SC_CLK_TCK);
}

/* A pseudo-terminal the test holds the master of, reachable as `link`. */
static int make_pty(const char *link)
{
	char name[128];
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	ck_assert_int_ge(master, 0);
	ck_assert(grantpt(master) == 0 && unlockpt(master) == 0);
	ck_assert(ptsname_r(master, name, sizeof(name)) == 0);
	unlink(link);
	ck_assert_int_eq(symlink(name, link), 0);
	return master;
}

/* tty: on a terminal whose other end goes away (a socat or a debugger's
 * pty closing): the target waits quietly, reopens it when it is back, and
 * the next session finds the target where the last one left it. */
START_TEST(a_terminal_that_hangs_up_is_reopened)
{
	struct target t;
	struct kdpeer m;
	char link[300];
	char *dir = socket_dir();

	snprintf(link, sizeof(link), "%s/kd.tty", dir);
	int master = make_pty(link);
	start_target_on(&t, dir, link);
	kdpeer_init(&m, master, 200);
	attach_and_ask_version(&m);
	close(master);
	unlink(link);

	/* Hung up and nothing to reopen: no busy loop. */
	usleep(300000);
	double before = cpu_seconds(t.child.pid);
	usleep(1000000);
	double spent = cpu_seconds(t.child.pid) - before;
	ck_assert_msg(spent < 0.3, "the target used %.2f s of CPU in 1 s waiting for its terminal",
		      spent);

	master = make_pty(link);
	kdpeer_init(&m, master, 200);
	attach_and_ask_version(&m);
	close(master);
	char *log = read_text_file(t.log);
	ck_assert_msg(strstr(log, "hung up") && strstr(log, "reopened"), "log:\n%s", log);
	free(log);
	stop_target(&t);
}
END_TEST

/* A Unix listener that never accepts, its backlog full: connect() would
 * block the emulated CPU for good. The endpoint must not. */
START_TEST(a_client_endpoint_never_blocks_on_a_busy_listener)
{
	char *dir = socket_dir();
	char path[100], spec[120], error[256];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct kdep_options o;
	int queued[64];
	unsigned nqueued = 0;
	uint8_t buf[64];
	size_t n;

	snprintf(path, sizeof(path), "%s/busy.sock", dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int listener = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert(bind(listener, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(listener, 0) == 0);
	while (nqueued < 64) {
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(c, (struct sockaddr *)&a, sizeof(a)) != 0) {
			close(c);
			break;
		}
		queued[nqueued++] = c;
	}
	ck_assert_uint_lt(nqueued, 64);

	snprintf(spec, sizeof(spec), "connect:%s", path);
	ck_assert(kdep_parse(spec, &o, error, sizeof(error)));
	struct kdep *ep = kdep_open(&o, NULL, error, sizeof(error));
	ck_assert_msg(ep, "%s", error);
	uint64_t start = bxkd_now_ms();
	ck_assert_int_eq(kdep_wait(ep, 300, buf, sizeof(buf), &n), KDEP_TIMEOUT);
	ck_assert_uint_lt(bxkd_now_ms() - start, 1000);
	ck_assert(!kdep_connected(ep));

	/* Room again: the endpoint gets in on one of its retries. */
	for (unsigned i = 0; i < nqueued; i++) {
		close(accept(listener, NULL, NULL));
		close(queued[i]);
	}
	enum kdep_status status = KDEP_TIMEOUT;
	for (uint64_t deadline = bxkd_now_ms() + 5000; status == KDEP_TIMEOUT && bxkd_now_ms() < deadline;)
		status = kdep_wait(ep, 100, buf, sizeof(buf), &n);
	ck_assert_int_eq(status, KDEP_CONNECTED);
	kdep_close(ep);
	close(listener);
	remove_socket_dir(dir);
}
END_TEST

/* Bochs' COM1 sends a byte per send() with Nagle on: each waits for our
 * ACK of the last, and a delayed ACK stalls it 40 ms. After every read,
 * however the conversation has gone (Linux turns quick ACKs off once it
 * sees replies follow requests), ours go out at once. */
START_TEST(a_tcp_endpoint_acknowledges_every_read_at_once)
{
	char spec[64], error[256];
	struct kdep_options o;
	uint8_t byte = 0x30, buf[16];
	size_t n;
	unsigned port = free_tcp_port();

	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u", port);
	ck_assert(kdep_parse(spec, &o, error, sizeof(error)));
	struct kdep *ep = kdep_open(&o, NULL, error, sizeof(error));
	ck_assert_msg(ep, "%s", error);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int peer = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert(connect(peer, (struct sockaddr *)&a, sizeof(a)) == 0);
	ck_assert_int_eq(kdep_wait(ep, 5000, buf, sizeof(buf), &n), KDEP_CONNECTED);
	int fds[KDEP_MAX_FDS], conn = -1;
	for (size_t i = 0, count = kdep_fds(ep, fds); i < count; i++) {
		int listening = 0;
		socklen_t length = sizeof(listening);
		ck_assert(getsockopt(fds[i], SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0);
		if (!listening)
			conn = fds[i];
	}
	ck_assert_int_ge(conn, 0);
	for (unsigned round = 0; round < 20; round++) {
		ck_assert(write(peer, &byte, 1) == 1);
		ck_assert_int_eq(kdep_wait(ep, 5000, buf, sizeof(buf), &n), KDEP_DATA);
		int quick = 0;
		socklen_t length = sizeof(quick);
		ck_assert(getsockopt(conn, IPPROTO_TCP, TCP_QUICKACK, &quick, &length) == 0);
		ck_assert_msg(quick, "quick ACKs off after read %u", round);
		kdep_write(ep, &byte, 1);
		ck_assert(read(peer, buf, 1) == 1);
	}
	close(peer);
	kdep_close(ep);
}
END_TEST

static struct kdbridge *open_bridge(const char *path, uint32_t resend_ms, uint32_t stall_ms)
{
	struct kdbridge_options o;
	char spec[320], error[256];

	kdbridge_options_init(&o);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	ck_assert(kdep_parse(spec, &o.endpoint, error, sizeof(error)));
	o.endpoint.write_stall_ms = stall_ms;
	o.resend_timeout_ms = resend_ms;
	struct kdbridge *b = kdbridge_open(&o, error, sizeof(error));
	ck_assert_msg(b, "%s", error);
	return b;
}

/* A debugger that connects and then neither reads nor writes: prints are
 * dropped after the retries, in bounded time; once its socket is full it
 * is disconnected; a receive times out on time. */
START_TEST(a_debugger_that_never_answers_costs_bounded_time)
{
	char *dir = socket_dir();
	char path[300];
	uint8_t text[3900];
	struct dbgkd_debug_io io = { .api_number = DBGKD_PRINT_STRING_API };
	struct dbgkd_manipulate_state64 header;
	size_t length;

	snprintf(path, sizeof(path), "%s/kd.sock", dir);
	struct kdbridge *b = open_bridge(path, 20, 300);
	const struct kd_host_port *port = kdbridge_port(b);
	int silent = connect_unix(path);
	ck_assert_int_ge(silent, 0);
	memset(text, 'x', sizeof(text));
	io.u.length_of_string = sizeof(text);

	uint64_t start = bxkd_now_ms();
	for (int i = 0; i < 40; i++) {
		uint64_t one = bxkd_now_ms();
		ck_assert_int_eq(port->send(port->ctx, KDCOM_TYPE_DEBUG_IO, (const uint8_t *)&io,
					    sizeof(io), text, sizeof(text)),
				 KD_DROPPED);
		/* 20 tries of 20 ms, or a write stall of 300 ms, plus slack. */
		ck_assert_uint_lt(bxkd_now_ms() - one, 2000);
	}
	ck_assert_uint_lt(bxkd_now_ms() - start, 20000);
	ck_assert_msg(!port->debugger_attached(port->ctx), "a debugger that reads nothing stays attached");

	uint64_t before = bxkd_now_ms();
	ck_assert_int_eq(port->receive(port->ctx, KDCOM_TYPE_STATE_MANIPULATE,
				       (uint8_t *)&header, sizeof(header), text, sizeof(text),
				       &length, 200),
			 KD_TIMED_OUT);
	ck_assert_uint_ge(bxkd_now_ms() - before, 190);
	ck_assert_uint_lt(bxkd_now_ms() - before, 1500);
	close(silent);
	kdbridge_close(b);
	remove_socket_dir(dir);
}
END_TEST

/* A state change is never dropped: with a silent debugger the target
 * waits, and it goes on as soon as a debugger acknowledges. */
START_TEST(a_state_change_waits_for_a_debugger_that_answers)
{
	char *dir = socket_dir();
	char path[300];
	struct kdpeer m;

	snprintf(path, sizeof(path), "%s/kd.sock", dir);
	pid_t pid = fork();
	if (pid == 0) {
		struct dbgkd_any_wait_state_change sc;
		struct kdbridge *b = open_bridge(path, 20, 300);
		memset(&sc, 0, sizeof(sc));
		sc.new_state = DBGKD_EXCEPTION_STATE_CHANGE;
		const struct kd_host_port *port = kdbridge_port(b);
		enum kd_outcome st = port->send(port->ctx, KDCOM_TYPE_STATE_CHANGE64,
						(const uint8_t *)&sc, sizeof(sc), NULL, 0);
		kdbridge_close(b);
		_exit(st == KD_OK ? 0 : 1);
	}
	int silent = connect_unix(path);
	ck_assert_int_ge(silent, 0);
	usleep(1000000);
	int status;
	ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0, "the state change did not wait");
	close(silent);

	int fd = connect_unix(path);
	ck_assert_int_ge(fd, 0);
	kdpeer_init(&m, fd, 200);
	bool delivered = kdpeer_wait_packet(&m, KDCOM_TYPE_STATE_CHANGE64, 0, 5000);
	for (int i = 0; i < 20; i++)
		kdpeer_pump(&m, 10); /* let our ACK out */
	uint64_t deadline = bxkd_now_ms() + 5000;
	pid_t done;
	while ((done = waitpid(pid, &status, WNOHANG)) == 0 && bxkd_now_ms() < deadline)
		usleep(10000);
	if (done == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	close(fd);
	remove_socket_dir(dir);
	ck_assert_msg(delivered, "no state change reached the debugger");
	ck_assert_msg(done == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the target did not go on after the acknowledgement");
}
END_TEST

BXKD_SUITE(bridge,
	testcases_add(s, "faults", 60, TESTS(
		a_second_debugger_is_turned_away_with_a_reason,
		garbage_before_a_session_on_the_same_connection,
		a_debugger_leaving_in_the_middle_of_a_frame,
		a_reset_abandons_a_reply_nobody_acknowledged, a_terminal_that_hangs_up_is_reopened,
		a_client_endpoint_never_blocks_on_a_busy_listener,
		a_tcp_endpoint_acknowledges_every_read_at_once,
		a_debugger_that_never_answers_costs_bounded_time,
		a_state_change_waits_for_a_debugger_that_answers));
)
