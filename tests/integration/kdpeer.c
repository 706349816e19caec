/*
 * kdpeer.c -- a minimal debugger for tests (see kdpeer.h).
 */
#include "config.h"

#include "kdpeer.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int kdpeer_connect_unix(const char *path, unsigned timeout_ms)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	uint64_t deadline = bxkd_now_ms() + timeout_ms;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	do {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(10000);
	} while (bxkd_now_ms() < deadline);
	return -1;
}

void kdpeer_init(struct kdpeer *peer, int fd, uint64_t resend_timeout_ms)
{
	struct kdcom_config config;

	memset(peer, 0, sizeof(*peer));
	peer->fd = fd;
	kdcom_config_init(&config, KDCOM_DEBUGGER, resend_timeout_ms);
	kdcom_init(&peer->k, &config);
}

bool kdpeer_open_unix(struct kdpeer *peer, const char *path, unsigned timeout_ms,
		      void (*on_packet)(void *ctx, struct kdpeer *peer, uint16_t type,
					const uint8_t *payload, size_t length),
		      void *ctx)
{
	int fd = kdpeer_connect_unix(path, timeout_ms);

	if (fd < 0)
		return false;
	kdpeer_init(peer, fd, 200);
	peer->on_packet = on_packet;
	peer->ctx = ctx;
	return true;
}

bool kdpeer_write(struct kdpeer *peer, const void *data, size_t length)
{
	const uint8_t *p = data;

	while (length && !peer->failed) {
		ssize_t n = send(peer->fd, p, length, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(peer->fd, p, length);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			peer->failed = true;
			break;
		}
		p += n;
		length -= (size_t)n;
	}
	return !peer->failed;
}

static void flush(struct kdpeer *peer)
{
	const uint8_t *bytes;
	size_t n;

	if (peer->mute)
		kdcom_discard_output(&peer->k);
	while ((n = kdcom_output(&peer->k, &bytes)) > 0) {
		kdpeer_write(peer, bytes, n);
		kdcom_output_consumed(&peer->k, n);
	}
}

static void take_events(struct kdpeer *peer)
{
	struct kdcom_event e;

	while (kdcom_next_event(&peer->k, &e)) {
		if (e.kind == KDCOM_EVENT_RESET)
			peer->reset = true;
		if (e.kind == KDCOM_EVENT_SENT)
			peer->sent = true;
		if (e.kind != KDCOM_EVENT_PACKET || e.type >= KDCOM_TYPE_MAX)
			continue;
		peer->of_type[e.type]++;
		memcpy(peer->last_payload, e.payload, e.length);
		peer->last_length = e.length;
		if (peer->on_packet)
			peer->on_packet(peer->ctx, peer, e.type, e.payload, e.length);
	}
}

void kdpeer_pump(struct kdpeer *peer, int wait_ms)
{
	uint8_t buf[8192];

	flush(peer);
	struct pollfd p = { peer->fd, POLLIN, 0 };
	if (!peer->failed && poll(&p, 1, wait_ms) > 0) {
		ssize_t got = read(peer->fd, buf, sizeof(buf));
		if (got <= 0 && !(got < 0 && (errno == EAGAIN || errno == EINTR)))
			peer->failed = true;
		for (size_t used = 0; got > 0 && used < (size_t)got;) {
			used += kdcom_input(&peer->k, buf + used, (size_t)got - used, bxkd_now_ms());
			take_events(peer);
		}
	}
	kdcom_tick(&peer->k, bxkd_now_ms());
	take_events(peer);
	flush(peer);
}

bool kdpeer_wait_packet(struct kdpeer *peer, uint16_t type, unsigned before, unsigned timeout_ms)
{
	uint64_t deadline = bxkd_now_ms() + timeout_ms;

	while (peer->of_type[type] <= before && !peer->failed && bxkd_now_ms() < deadline)
		kdpeer_pump(peer, 20);
	return peer->of_type[type] > before;
}

bool kdpeer_send(struct kdpeer *peer, uint16_t type, const void *header, size_t header_length,
		 const void *data, size_t data_length, unsigned timeout_ms)
{
	uint64_t deadline = bxkd_now_ms() + timeout_ms;

	peer->sent = false;
	if (kdcom_send(&peer->k, type, header, header_length, data, data_length,
		       bxkd_now_ms()) != KDCOM_SEND_STARTED)
		return false;
	while (!peer->sent && kdcom_sending(&peer->k) && !peer->failed &&
	       bxkd_now_ms() < deadline)
		kdpeer_pump(peer, 20);
	return peer->sent;
}

bool kdpeer_attach(struct kdpeer *peer, unsigned timeout_ms)
{
	uint64_t deadline = bxkd_now_ms() + timeout_ms;

	peer->reset = false;
	kdcom_send_breakin(&peer->k);
	kdcom_send_reset(&peer->k, bxkd_now_ms());
	while (!peer->reset && !peer->failed && bxkd_now_ms() < deadline)
		kdpeer_pump(peer, 20);
	return peer->reset;
}
