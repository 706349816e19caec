/*
 * kdep.h -- the byte pipe between a KD target and a debugger: the only
 * place in pipe-bridge with sockets.
 *
 * An endpoint carries one debugger at a time. Listening endpoints accept a
 * debugger whenever none is attached and turn a second one away with a
 * message; client endpoints keep reconnecting. A debugger may leave and come
 * back at any time: the endpoint reports it and carries on.
 */
#ifndef BXKD_KDEP_H
#define BXKD_KDEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Client endpoints retry every RECONNECT interval; a terminal that hung
 * up (tty:) is reopened as often. A connection attempt that neither
 * succeeds nor fails takes at most CONNECT_TIMEOUT. */
#define KDEP_RECONNECT_INTERVAL_MS 500
#define KDEP_CONNECT_TIMEOUT_MS 3000

enum kdep_mode {
	KDEP_UNIX_LISTEN,  /* unix:PATH        debuggers connect here (default) */
	KDEP_TCP_LISTEN,   /* tcp:[HOST:]PORT  loopback unless HOST says otherwise */
	KDEP_UNIX_CONNECT, /* connect:PATH     an existing listener, e.g. socat */
	KDEP_TCP_CONNECT,  /* tcp-connect:HOST:PORT */
	KDEP_PTY,          /* pty[:LINK]       a /dev/pts terminal, LINK a symlink to it */
	KDEP_TTY,          /* tty:DEVICE       an existing terminal: a pty's other end, a serial
			      port; reopened when it hangs up */
};

struct kdep_options {
	enum kdep_mode mode;
	char path[256]; /* socket path, or the pty's symlink ("" for none) */
	char host[64];
	uint16_t port; /* TCP_LISTEN: 0 picks a free one */
	/* A socket debugger that takes nothing for this long is dropped
	 * (0: 5000 ms); a terminal just loses the bytes after 200 ms. */
	uint32_t write_stall_ms;
	/* What the other end is called in messages (NULL: "debugger"); a
	 * relay's target side says "target". */
	const char *peer_name;
};

/* Parses "unix:PATH", "tcp:PORT", "tcp:HOST:PORT", "connect:PATH",
 * "tcp-connect:HOST:PORT", "pty", "pty:LINK", "tty:DEVICE"; a bare path
 * means unix:PATH. */
bool kdep_parse(const char *spec, struct kdep_options *options, char *error, size_t error_size);

struct kdep;

/* Creates the endpoint (listens, or starts connecting). NULL with a reason
 * in `error` when it cannot. */
/* Messages (a debugger attaching, leaving, refused) go to `log` (copied;
 * may be NULL). */
struct kdep *kdep_open(const struct kdep_options *options, const struct bxkd_log *log,
		       char *error, size_t error_size);
void kdep_close(struct kdep *ep);

enum kdep_status {
	KDEP_DATA,         /* *length bytes from the debugger */
	KDEP_TIMEOUT,      /* nothing happened */
	KDEP_CONNECTED,    /* a debugger attached */
	KDEP_DISCONNECTED, /* it left; its unread bytes are gone */
};

/* Waits up to timeout_ms (0: just look, -1: forever) for the debugger's
 * bytes or for one attaching or leaving. A signal caught without
 * SA_RESTART (bxkd_catch_signals) ends the wait early with KDEP_TIMEOUT,
 * so a tool's loop sees Ctrl-C at once. */
enum kdep_status kdep_wait(struct kdep *ep, int timeout_ms, void *buf, size_t cap,
			   size_t *length);

/* Sends all of `data` to the attached debugger, blocking the caller while
 * the debugger is slow to take it. A debugger that takes nothing for
 * write_stall_ms is dropped; with none attached the bytes are discarded,
 * as on a serial line with nothing at the other end. */
void kdep_write(struct kdep *ep, const void *data, size_t length);

/* Bytes kdep_write() could not deliver: nobody attached, a terminal
 * nobody reads, a debugger dropped for stalling. */
uint64_t kdep_bytes_lost(const struct kdep *ep);

/* Throws away whatever the debugger sent that has not been read yet. */
void kdep_discard_input(struct kdep *ep);

bool kdep_connected(const struct kdep *ep);

/* For a caller that waits on several endpoints with one poll(): the
 * descriptors kdep_wait() watches now (listener, connection), at most
 * KDEP_MAX_FDS; none for a client endpoint between attempts to connect.
 * When one is readable, kdep_wait(ep, 0, ...) takes what it has. A client
 * endpoint reconnects only inside kdep_wait(), so call that every few
 * hundred milliseconds whether or not anything is readable. */
#define KDEP_MAX_FDS 2
size_t kdep_fds(const struct kdep *ep, int fds[KDEP_MAX_FDS]);

/* The address a debugger uses: a socket path, "127.0.0.1:PORT", a /dev/pts
 * name. For TCP_LISTEN on port 0 it has the port actually chosen. */
const char *kdep_address(const struct kdep *ep);

/* radare2's settings without which its breakpoints and single steps do
 * not work on a kernel target (README.md, "Interoperability"): it refuses
 * breakpoints outside the maps it knows of (dbg.bpinmaps), and steps with
 * breakpoints of its own instead of the target's TraceFlag (dbg.swstep). */
#define KDEP_RADARE2_SETTINGS "-e dbg.bpinmaps=false -e dbg.swstep=false"

/* Ready-to-paste lines telling a user how to attach radare2, WinDbg and
 * socat to this endpoint, newline separated. */
const char *kdep_attach_hint(const struct kdep *ep);

/* The address and the attach hint of an endpoint from its options alone,
 * without opening it: what kdep_address() and kdep_attach_hint() say once
 * it is open (kdep_open() describes it with this), for a program that
 * tells a user where to attach before another process opens the endpoint.
 * What only opening decides is shown as it stands: a TCP listener's port
 * 0 as 0, a pty by its LINK (or "/dev/pts/N" without one). Each buffer
 * gets a NUL-terminated string, cut to fit; KDEP_HINT_MAX holds any hint. */
#define KDEP_ADDRESS_MAX 300
#define KDEP_HINT_MAX 1536
void kdep_describe(const struct kdep_options *options, char *address, size_t address_size,
		   char *hint, size_t hint_size);

#ifdef __cplusplus
}
#endif

#endif /* BXKD_KDEP_H */
