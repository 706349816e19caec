/*
 * kdep.c -- debugger endpoints: Unix and TCP listeners and clients, and a
 * pseudo-terminal.
 */
#include "config.h"

#include "kdep.h"
#include "process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* A debugger that takes nothing for this long is gone (unless set). */
#define DEFAULT_WRITE_STALL_MS 5000
/* A pty has no one to wait for: a stalled reader loses bytes, as on a wire. */
#define PTY_WRITE_STALL_MS 200

struct kdep {
	struct kdep_options o;
	struct bxkd_log log;
	const char *peer; /* "debugger", or what options.peer_name says */
	int listen_fd;
	int conn_fd;
	int connecting_fd; /* client modes: a connect() under way */
	int pty_slave_fd;
	bool lost;		/* the connection died while writing */
	bool waiting_reported; /* client and tty modes: "waiting for" said once */
	uint64_t next_connect_ms;
	uint64_t connect_deadline_ms;
	uint64_t bytes_lost;
	dev_t socket_dev; /* UNIX_LISTEN: the socket file we made, to remove */
	ino_t socket_ino;
	char address[KDEP_ADDRESS_MAX];
	char hint[KDEP_HINT_MAX];
};

#define say(ep, ...) bxkd_logf(&(ep)->log, BXKD_LOG_INFO, __VA_ARGS__)

/* ---- parsing ------------------------------------------------------------- */

static bool parse_port(const char *text, uint16_t *port)
{
	char *end;
	unsigned long n = strtoul(text, &end, 10);

	if (!*text || *end || n > 65535)
		return false;
	*port = (uint16_t)n;
	return true;
}

static bool copy_text(char *dst, size_t size, const char *src)
{
	if (strlen(src) >= size)
		return false;
	strcpy(dst, src);
	return true;
}

bool kdep_parse(const char *spec, struct kdep_options *o, char *error, size_t error_size)
{
	const char *colon;

	memset(o, 0, sizeof(*o));
	if (!strncmp(spec, "unix:", 5) || spec[0] == '/' || spec[0] == '.') {
		o->mode = KDEP_UNIX_LISTEN;
		const char *path = spec[0] == '/' || spec[0] == '.' ? spec : spec + 5;
		/* sun_path holds 108 bytes with the NUL. */
		if (!*path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return bxkd_error(error, error_size, "'%s': a socket path of 1 to 107 bytes, please",
				    spec);
		return copy_text(o->path, sizeof(o->path), path);
	}
	if (!strncmp(spec, "connect:", 8)) {
		o->mode = KDEP_UNIX_CONNECT;
		if (!spec[8] || strlen(spec + 8) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return bxkd_error(error, error_size, "'%s': a socket path of 1 to 107 bytes, please",
				    spec);
		return copy_text(o->path, sizeof(o->path), spec + 8);
	}
	if (!strncmp(spec, "tcp:", 4) || !strncmp(spec, "tcp-connect:", 12)) {
		bool connect = spec[3] == '-';
		const char *rest = spec + (connect ? 12 : 4);
		o->mode = connect ? KDEP_TCP_CONNECT : KDEP_TCP_LISTEN;
		colon = strrchr(rest, ':');
		if (!colon && !connect) {
			strcpy(o->host, "127.0.0.1");
			colon = rest - 1;
		} else if (!colon || colon == rest || (size_t)(colon - rest) >= sizeof(o->host)) {
			return bxkd_error(error, error_size, "'%s': want %sHOST:PORT", spec,
				    connect ? "tcp-connect:" : "tcp:[HOST:]PORT, e.g. tcp:");
		} else {
			memcpy(o->host, rest, (size_t)(colon - rest));
			o->host[colon - rest] = '\0';
		}
		if (!parse_port(colon + 1, &o->port) || (connect && o->port == 0))
			return bxkd_error(error, error_size, "'%s': '%s' is not a TCP port", spec, colon + 1);
		if (!strcmp(o->host, "localhost"))
			strcpy(o->host, "127.0.0.1");
		struct in_addr a;
		if (inet_pton(AF_INET, o->host, &a) != 1)
			return bxkd_error(error, error_size, "'%s': '%s' is not an IPv4 address", spec,
				    o->host);
		return true;
	}
	if (!strncmp(spec, "tty:", 4)) {
		o->mode = KDEP_TTY;
		if (!spec[4])
			return bxkd_error(error, error_size, "'%s': which terminal device?", spec);
		return copy_text(o->path, sizeof(o->path), spec + 4) ||
		       bxkd_error(error, error_size, "'%s': device path too long", spec);
	}
	if (!strcmp(spec, "pty") || !strncmp(spec, "pty:", 4)) {
		o->mode = KDEP_PTY;
		return copy_text(o->path, sizeof(o->path), spec[3] ? spec + 4 : "") ||
		       bxkd_error(error, error_size, "'%s': link path too long", spec);
	}
	return bxkd_error(error, error_size,
		    "'%s' is not an endpoint: use unix:PATH, tcp:[HOST:]PORT, connect:PATH, "
		    "tcp-connect:HOST:PORT, pty[:LINK] or tty:DEVICE",
		    spec);
}

/* ---- setting up ---------------------------------------------------------- */

static bool nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

static socklen_t unix_address(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path, path);
	return (socklen_t)sizeof(*a);
}

static bool open_unix_listener(struct kdep *ep, char *error, size_t error_size)
{
	struct sockaddr_un a;
	struct stat st;
	socklen_t alen = unix_address(ep->o.path, &a);

	if (lstat(ep->o.path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return bxkd_error(error, error_size, "%s exists and is not a socket; not removing it",
				    ep->o.path);
		/* Non-blocking: a listener whose queue is full (one that does
		 * not accept) would hold a blocking connect forever; EAGAIN
		 * says it is there all the same. */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		bool live = probe >= 0 && (connect(probe, (struct sockaddr *)&a, alen) == 0 ||
					   errno == EAGAIN);
		if (probe >= 0)
			close(probe);
		/* Most often a path given bare (which listens) where
		 * connect: was meant. */
		if (live)
			return bxkd_error(error, error_size,
				    "another program is listening on %s (to connect to it, use "
				    "connect:%s)",
				    ep->o.path, ep->o.path);
		unlink(ep->o.path); /* left behind by a run that did not clean up */
	}
	ep->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ep->listen_fd < 0 || bind(ep->listen_fd, (struct sockaddr *)&a, alen) != 0 ||
	    listen(ep->listen_fd, 4) != 0)
		return bxkd_error(error, error_size, "cannot listen on %s: %s", ep->o.path,
			    strerror(errno));
	if (stat(ep->o.path, &st) == 0) {
		ep->socket_dev = st.st_dev;
		ep->socket_ino = st.st_ino;
	}
	return true;
}

static bool open_tcp_listener(struct kdep *ep, char *error, size_t error_size)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(ep->o.port) };
	socklen_t alen = sizeof(a);
	int yes = 1;

	inet_pton(AF_INET, ep->o.host, &a.sin_addr);
	ep->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ep->listen_fd < 0 ||
	    setsockopt(ep->listen_fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes)) != 0 ||
	    bind(ep->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(ep->listen_fd, 4) != 0 ||
	    getsockname(ep->listen_fd, (struct sockaddr *)&a, &alen) != 0)
		return bxkd_error(error, error_size, "cannot listen on %s:%u: %s", ep->o.host, ep->o.port,
			    strerror(errno));
	ep->o.port = ntohs(a.sin_port);
	return true;
}

static bool open_pty(struct kdep *ep, char *name, size_t name_size, char *error,
		     size_t error_size)
{
	struct termios raw;

	ep->conn_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (ep->conn_fd < 0 || grantpt(ep->conn_fd) != 0 || unlockpt(ep->conn_fd) != 0 ||
	    ptsname_r(ep->conn_fd, name, name_size) != 0)
		return bxkd_error(error, error_size, "cannot make a pseudo-terminal: %s", strerror(errno));
	/* Held open by us, so the terminal lives on between debuggers, and
	 * set raw, so every byte passes as it is. */
	ep->pty_slave_fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (ep->pty_slave_fd < 0 || tcgetattr(ep->pty_slave_fd, &raw) != 0)
		return bxkd_error(error, error_size, "cannot open %s: %s", name, strerror(errno));
	cfmakeraw(&raw);
	if (tcsetattr(ep->pty_slave_fd, TCSANOW, &raw) != 0 || !nonblocking(ep->conn_fd))
		return bxkd_error(error, error_size, "cannot set %s raw: %s", name, strerror(errno));
	if (ep->o.path[0]) {
		struct stat st;
		if (lstat(ep->o.path, &st) == 0) {
			if (!S_ISLNK(st.st_mode))
				return bxkd_error(error, error_size,
					    "%s exists and is not a symbolic link; not replacing it",
					    ep->o.path);
			unlink(ep->o.path);
		}
		if (symlink(name, ep->o.path) != 0)
			return bxkd_error(error, error_size, "cannot link %s to %s: %s", ep->o.path, name,
				    strerror(errno));
	}
	return true;
}

/* A terminal someone else made: raw, so every byte passes as it is. */
static bool open_tty_device(struct kdep *ep, char *error, size_t error_size)
{
	struct termios raw;
	int fd = open(ep->o.path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return bxkd_error(error, error_size, "cannot open %s: %s", ep->o.path, strerror(errno));
	if (tcgetattr(fd, &raw) != 0) {
		close(fd);
		return bxkd_error(error, error_size, "%s is not a terminal", ep->o.path);
	}
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSANOW, &raw) != 0) {
		bxkd_error(error, error_size, "cannot set %s raw: %s", ep->o.path, strerror(errno));
		close(fd);
		return false;
	}
	ep->conn_fd = fd;
	return true;
}

/* ---- describing ------------------------------------------------------------ */

/* kdep_describe(), with the pseudo-terminal's name when it is known. */
static void describe(const struct kdep_options *o, const char *pty_name, char *address,
		     size_t address_size, char *hint, size_t hint_size)
{
	const char *p = o->path, *h = o->host;
	unsigned port = o->port;

	switch (o->mode) {
	case KDEP_UNIX_LISTEN:
		snprintf(address, address_size, "%s", p);
		snprintf(hint, hint_size,
			 "radare2:  radare2 -a x86 -b 32 " KDEP_RADARE2_SETTINGS " -D winkd winkd://%s\n"
			 "WinDbg:   socat TCP-LISTEN:5555,bind=127.0.0.1,reuseaddr,fork "
			 "UNIX-CONNECT:%s  then\n"
			 "          windbg -k com:ipport=5555,port=127.0.0.1,reconnect\n"
			 "          (WinDbg elsewhere: bind=0.0.0.0, and anyone reaching port 5555 "
			 "drives the kernel)\n"
			 "socat:    socat - UNIX-CONNECT:%s\n"
			 "bxkd-dbg: bxkd-dbg --target connect:%s",
			 p, p, p, p);
		break;
	case KDEP_TCP_LISTEN: {
		/* WinDbg on another machine cannot reach a loopback listener:
		 * a relay on this host can. */
		bool loopback = !strncmp(h, "127.", 4);
		bool any = !strcmp(h, "0.0.0.0");
		char relay[320] = "";
		if (loopback)
			snprintf(relay, sizeof(relay),
				 "          from another machine: socat TCP-LISTEN:5555,reuseaddr,fork "
				 "TCP:%s:%u  here, then\n"
				 "          windbg -k com:ipport=5555,port=<this host>,reconnect\n",
				 h, port);
		snprintf(address, address_size, "%s:%u", h, port);
		snprintf(hint, hint_size,
			 "WinDbg:   windbg -k com:ipport=%u,port=%s,reconnect\n"
			 "%s"
			 "radare2:  socat UNIX-LISTEN:/tmp/bxkd-kd.sock TCP:%s:%u &\n"
			 "          radare2 -a x86 -b 32 " KDEP_RADARE2_SETTINGS
			 " -D winkd winkd:///tmp/bxkd-kd.sock\n"
			 "socat:    socat - TCP:%s:%u\n"
			 "bxkd-dbg: bxkd-dbg --target tcp-connect:%s:%u",
			 port, any ? "127.0.0.1" : h, relay, h, port, h, port, h, port);
		break;
	}
	case KDEP_PTY: {
		/* Before the terminal exists, its link (if any) names it. */
		const char *name = pty_name ? pty_name : p[0] ? p : "/dev/pts/N";
		bool also = pty_name && p[0];
		snprintf(address, address_size, "%s", name);
		snprintf(hint, hint_size,
			 "serial tools: open %s%s%s (raw; any baud rate)\n"
			 "WinDbg under Wine: ln -sf %s ~/.wine/dosdevices/com1  then\n"
			 "          windbg -k com:port=com1,baud=115200\n"
			 "bxkd-dbg: bxkd-dbg --target tty:%s",
			 name, also ? ", also reachable as " : "", also ? p : "", name, name);
		break;
	}
	case KDEP_TTY:
		snprintf(address, address_size, "%s", p);
		snprintf(hint, hint_size, "the terminal %s", p);
		break;
	case KDEP_UNIX_CONNECT:
		snprintf(address, address_size, "%s", p);
		snprintf(hint, hint_size,
			 "bxkd connects to a listener at %s, e.g.\n"
			 "          socat UNIX-LISTEN:%s,fork TCP:<windbg host>:<port>",
			 p, p);
		break;
	case KDEP_TCP_CONNECT:
		snprintf(address, address_size, "%s:%u", h, port);
		snprintf(hint, hint_size,
			 "bxkd connects to a listener at %s:%u, e.g. a serial-over-TCP server", h,
			 port);
		break;
	}
}

void kdep_describe(const struct kdep_options *options, char *address, size_t address_size,
		   char *hint, size_t hint_size)
{
	describe(options, NULL, address, address_size, hint, hint_size);
}

struct kdep *kdep_open(const struct kdep_options *options, const struct bxkd_log *log,
		       char *error, size_t error_size)
{
	struct kdep *ep = calloc(1, sizeof(*ep));
	bool ok;

	if (!ep) {
		bxkd_error(error, error_size, "out of memory");
		return NULL;
	}
	ep->o = *options;
	if (log)
		ep->log = *log;
	ep->peer = options->peer_name ? options->peer_name : "debugger";
	ep->listen_fd = ep->conn_fd = ep->connecting_fd = ep->pty_slave_fd = -1;
	char pty_name[128] = "";
	switch (ep->o.mode) {
	case KDEP_UNIX_LISTEN:
		ok = open_unix_listener(ep, error, error_size);
		break;
	case KDEP_TCP_LISTEN:
		ok = open_tcp_listener(ep, error, error_size);
		break;
	case KDEP_PTY:
		ok = open_pty(ep, pty_name, sizeof(pty_name), error, error_size);
		break;
	case KDEP_TTY:
		ok = open_tty_device(ep, error, error_size);
		break;
	default:
		ok = true;
		break;
	}
	if (!ok) {
		kdep_close(ep);
		return NULL;
	}
	/* Now that the port and the terminal's name are decided. */
	describe(&ep->o, ep->o.mode == KDEP_PTY ? pty_name : NULL, ep->address,
		 sizeof(ep->address), ep->hint, sizeof(ep->hint));
	return ep;
}

void kdep_close(struct kdep *ep)
{
	struct stat st;

	if (!ep)
		return;
	if (ep->conn_fd >= 0)
		close(ep->conn_fd);
	if (ep->connecting_fd >= 0)
		close(ep->connecting_fd);
	if (ep->pty_slave_fd >= 0)
		close(ep->pty_slave_fd);
	if (ep->listen_fd >= 0) {
		close(ep->listen_fd);
		/* Remove the socket file only if it is still the one we made. */
		if (ep->o.mode == KDEP_UNIX_LISTEN && lstat(ep->o.path, &st) == 0 &&
		    st.st_dev == ep->socket_dev && st.st_ino == ep->socket_ino)
			unlink(ep->o.path);
	}
	if (ep->o.mode == KDEP_PTY && ep->o.path[0] && lstat(ep->o.path, &st) == 0 &&
	    S_ISLNK(st.st_mode))
		unlink(ep->o.path);
	free(ep);
}

/* ---- connections ------------------------------------------------------------ */

static void drop_connection(struct kdep *ep, const char *why)
{
	if (ep->o.mode == KDEP_TTY)
		say(ep, "%s hung up (%s); reopening it every %d ms", ep->address, why,
		    KDEP_RECONNECT_INTERVAL_MS);
	else
		say(ep, "%s detached from %s (%s)", ep->peer, ep->address, why);
	close(ep->conn_fd);
	ep->conn_fd = -1;
	ep->next_connect_ms = bxkd_now_ms() + KDEP_RECONNECT_INTERVAL_MS;
}

static void waiting_for_listener(struct kdep *ep, const char *why)
{
	if (!ep->waiting_reported)
		say(ep, "waiting for a listener at %s (%s); retrying every %d ms", ep->address, why,
		    KDEP_RECONNECT_INTERVAL_MS);
	ep->waiting_reported = true;
}

static void connection_made(struct kdep *ep, int fd)
{
	ep->conn_fd = fd;
	ep->waiting_reported = false;
	say(ep, "connected to %s", ep->address);
}

/* Starts a connect() that must not block the caller (the emulated CPU) for
 * as long as a remote host takes to answer. True once connected. */
static bool start_connect(struct kdep *ep, uint64_t now)
{
	struct sockaddr_storage a;
	socklen_t alen;
	int fd;

	memset(&a, 0, sizeof(a));
	if (ep->o.mode == KDEP_UNIX_CONNECT) {
		alen = unix_address(ep->o.path, (struct sockaddr_un *)&a);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&a;
		in->sin_family = AF_INET;
		in->sin_port = htons(ep->o.port);
		inet_pton(AF_INET, ep->o.host, &in->sin_addr);
		alen = sizeof(*in);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	ep->next_connect_ms = now + KDEP_RECONNECT_INTERVAL_MS;
	if (fd < 0) {
		waiting_for_listener(ep, strerror(errno));
		return false;
	}
	if (connect(fd, (struct sockaddr *)&a, alen) == 0) {
		connection_made(ep, fd);
		return true;
	}
	/* TCP answers later; a Unix listener with a full backlog says EAGAIN
	 * and means "try again", which the next attempt does. */
	if (errno == EINPROGRESS) {
		ep->connecting_fd = fd;
		ep->connect_deadline_ms = now + KDEP_CONNECT_TIMEOUT_MS;
		return false;
	}
	waiting_for_listener(ep, strerror(errno));
	close(fd);
	return false;
}

static bool is_tcp(const struct kdep *ep)
{
	return ep->o.mode == KDEP_TCP_LISTEN || ep->o.mode == KDEP_TCP_CONNECT;
}

/* KDCOM is small writes that each wait for an answer. Nagle would hold our
 * next small write until the peer ACKs the last; delayed ACKs would hold
 * the peer's (Bochs' COM1 sends a byte per send() with Nagle on) for
 * 40 ms. Linux turns TCP_QUICKACK off again by itself, so it is set anew
 * after every read. */
static void tcp_quick_ack(int fd)
{
	int yes = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &yes, sizeof(yes));
}

static void tcp_no_delays(int fd)
{
	int yes = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
	tcp_quick_ack(fd);
}

/* The connect() under way has an answer (or ran out of time). */
static bool finish_connect(struct kdep *ep, bool timed_out)
{
	int fd = ep->connecting_fd, err = 0;
	socklen_t len = sizeof(err);

	ep->connecting_fd = -1;
	if (timed_out)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err) {
		waiting_for_listener(ep, strerror(err));
		close(fd);
		ep->next_connect_ms = bxkd_now_ms() + KDEP_RECONNECT_INTERVAL_MS;
		return false;
	}
	if (ep->o.mode == KDEP_TCP_CONNECT)
		tcp_no_delays(fd);
	connection_made(ep, fd);
	return true;
}

static bool reopen_tty(struct kdep *ep, uint64_t now)
{
	char error[300];

	ep->next_connect_ms = now + KDEP_RECONNECT_INTERVAL_MS;
	if (!open_tty_device(ep, error, sizeof(error))) {
		if (!ep->waiting_reported)
			say(ep, "%s; retrying every %d ms", error, KDEP_RECONNECT_INTERVAL_MS);
		ep->waiting_reported = true;
		return false;
	}
	ep->waiting_reported = false;
	say(ep, "reopened %s", ep->address);
	return true;
}

/* Whether the attached debugger has hung up, even if we have not read its
 * end of file yet: a debugger that reconnects at once must not find its own
 * old connection in the way. */
static bool attached_gone(const struct kdep *ep)
{
	struct pollfd p = { ep->conn_fd, POLLIN | POLLRDHUP, 0 };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* One at a time: a second debugger is told why and shown the door. */
static bool accept_debugger(struct kdep *ep)
{
	int fd = accept4(ep->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return false;
	if (ep->conn_fd >= 0 && attached_gone(ep))
		drop_connection(ep, "it hung up");
	if (ep->conn_fd >= 0) {
		char refusal[160];
		int n = snprintf(refusal, sizeof(refusal),
				 "bxkd: another %s is already attached here; detach it first.\n",
				 ep->peer);
		ssize_t ignored = send(fd, refusal, (size_t)n, MSG_NOSIGNAL);
		(void)ignored;
		close(fd);
		say(ep, "refused a second %s on %s: one is already attached", ep->peer, ep->address);
		return false;
	}
	if (ep->o.mode == KDEP_TCP_LISTEN)
		tcp_no_delays(fd);
	ep->conn_fd = fd;
	say(ep, "%s attached on %s", ep->peer, ep->address);
	return true;
}

bool kdep_connected(const struct kdep *ep)
{
	return ep->conn_fd >= 0;
}

size_t kdep_fds(const struct kdep *ep, int fds[KDEP_MAX_FDS])
{
	size_t n = 0;

	/* The same descriptors, in the same order, as kdep_wait() polls. */
	if (ep->listen_fd >= 0)
		fds[n++] = ep->listen_fd;
	if (ep->conn_fd >= 0)
		fds[n++] = ep->conn_fd;
	return n;
}

uint64_t kdep_bytes_lost(const struct kdep *ep)
{
	return ep->bytes_lost;
}

const char *kdep_address(const struct kdep *ep)
{
	return ep->address;
}

const char *kdep_attach_hint(const struct kdep *ep)
{
	return ep->hint;
}

/* Client and tty modes: whatever (re)connecting there is to do now; true
 * once connected. Shortens *left to when it next needs a look. */
static bool keep_connecting(struct kdep *ep, uint64_t now, int *left)
{
	uint64_t next;

	if (ep->connecting_fd >= 0) {
		if (now >= ep->connect_deadline_ms)
			return finish_connect(ep, true);
		next = ep->connect_deadline_ms;
	} else {
		if (now >= ep->next_connect_ms) {
			if (ep->o.mode == KDEP_TTY ? reopen_tty(ep, now) : start_connect(ep, now))
				return true;
			if (ep->connecting_fd >= 0)
				return false; /* poll() will say when it is done */
		}
		next = ep->next_connect_ms;
	}
	int until = next > now ? (int)(next - now) : 0;
	if (*left < 0 || *left > until)
		*left = until;
	return false;
}

enum kdep_status kdep_wait(struct kdep *ep, int timeout_ms, void *buf, size_t cap,
			   size_t *length)
{
	uint64_t start = bxkd_now_ms();
	bool reconnects = ep->o.mode == KDEP_UNIX_CONNECT || ep->o.mode == KDEP_TCP_CONNECT ||
			  ep->o.mode == KDEP_TTY;

	*length = 0;
	if (ep->lost) {
		ep->lost = false;
		return KDEP_DISCONNECTED;
	}
	for (;;) {
		uint64_t now = bxkd_now_ms();
		int left = timeout_ms < 0 ? -1 : (int)(start + (uint64_t)timeout_ms > now
							       ? start + (uint64_t)timeout_ms - now
							       : 0);
		if (reconnects && ep->conn_fd < 0 && keep_connecting(ep, now, &left))
			return KDEP_CONNECTED;

		struct pollfd fds[2];
		nfds_t n = 0;
		if (ep->listen_fd >= 0)
			fds[n++] = (struct pollfd){ ep->listen_fd, POLLIN, 0 };
		if (ep->conn_fd >= 0)
			fds[n++] = (struct pollfd){ ep->conn_fd, POLLIN, 0 };
		else if (ep->connecting_fd >= 0)
			fds[n++] = (struct pollfd){ ep->connecting_fd, POLLOUT, 0 };
		int ready = poll(fds, n, left);
		if (ready < 0)
			return KDEP_TIMEOUT;
		for (nfds_t i = 0; ready > 0 && i < n; i++) {
			if (!fds[i].revents)
				continue;
			if (fds[i].fd == ep->listen_fd) {
				if (accept_debugger(ep))
					return KDEP_CONNECTED;
				continue;
			}
			if (fds[i].fd == ep->connecting_fd) {
				if (finish_connect(ep, false))
					return KDEP_CONNECTED;
				continue;
			}
			ssize_t got = read(ep->conn_fd, buf, cap);
			if (got > 0) {
				if (is_tcp(ep))
					tcp_quick_ack(ep->conn_fd);
				*length = (size_t)got;
				return KDEP_DATA;
			}
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			/* Our own pty cannot hang up: we hold its other end. */
			if (ep->o.mode == KDEP_PTY)
				continue;
			drop_connection(ep, got == 0 ? "end of file" : strerror(errno));
			return KDEP_DISCONNECTED;
		}
		if (timeout_ms >= 0 && bxkd_now_ms() >= start + (uint64_t)timeout_ms)
			return KDEP_TIMEOUT;
	}
}

void kdep_write(struct kdep *ep, const void *data, size_t length)
{
	const uint8_t *p = data;
	bool terminal = ep->o.mode == KDEP_PTY || ep->o.mode == KDEP_TTY;
	uint32_t stall = ep->o.write_stall_ms ? ep->o.write_stall_ms : DEFAULT_WRITE_STALL_MS;
	uint64_t give_up = bxkd_now_ms() + (terminal ? PTY_WRITE_STALL_MS : stall);

	if (ep->conn_fd < 0)
		ep->bytes_lost += length;
	while (length && ep->conn_fd >= 0) {
		ssize_t n = terminal ? write(ep->conn_fd, p, length)
				     : send(ep->conn_fd, p, length, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			length -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		uint64_t now = bxkd_now_ms();
		if (n < 0 && errno == EAGAIN && now < give_up) {
			struct pollfd w = { ep->conn_fd, POLLOUT, 0 };
			poll(&w, 1, (int)(give_up - now));
			continue;
		}
		ep->bytes_lost += length;
		if (terminal && (n >= 0 || errno == EAGAIN))
			return; /* nobody reading: the bytes are lost, the line stays */
		drop_connection(ep, n < 0 && errno != EAGAIN ? strerror(errno)
							     : "it stopped reading");
		ep->lost = true;
	}
}

void kdep_discard_input(struct kdep *ep)
{
	uint8_t sink[4096];

	for (int i = 0; ep->conn_fd >= 0 && i < 64; i++) {
		ssize_t n = read(ep->conn_fd, sink, sizeof(sink));
		if (n <= 0)
			break;
	}
}
