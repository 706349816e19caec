/*
 * kdpeer.h -- a minimal debugger for tests: the KDCOM engine's debugger
 * role on a socket or pty, pumped by hand, so a test controls every byte
 * and every moment (an ACK held back, a break-in slipped in before one).
 */
#ifndef BXKD_TEST_KDPEER_H
#define BXKD_TEST_KDPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kdcom_engine.h"
#include "process.h"

struct kdpeer {
	int fd;
	struct kdcom k;
	bool reset; /* the target answered our RESET */
	bool sent;  /* our last packet was acknowledged */
	bool mute;  /* drop what our engine says (its ACKs) instead of sending it */
	bool failed; /* the connection broke */
	unsigned of_type[KDCOM_TYPE_MAX]; /* packets received, by type */
	uint8_t last_payload[KDCOM_MAX_PAYLOAD];
	uint16_t last_length;
	/* Called for each packet as it arrives, before our ACK for it is
	 * written: bytes the hook writes with kdpeer_write reach the target
	 * ahead of the ACK. */
	void (*on_packet)(void *ctx, struct kdpeer *peer, uint16_t type, const uint8_t *payload,
			  size_t length);
	void *ctx;
};


/* Connects to a Unix socket, retrying for up to timeout_ms while it does
 * not exist yet; -1 if it never answers. */
int kdpeer_connect_unix(const char *path, unsigned timeout_ms);

void kdpeer_init(struct kdpeer *peer, int fd, uint64_t resend_timeout_ms);

/* kdpeer_connect_unix, then kdpeer_init with a 200 ms resend time-out and
 * `on_packet` (may be NULL) called with `ctx`; false if the socket never
 * answered. */
bool kdpeer_open_unix(struct kdpeer *peer, const char *path, unsigned timeout_ms,
		      void (*on_packet)(void *ctx, struct kdpeer *peer, uint16_t type,
					const uint8_t *payload, size_t length),
		      void *ctx);

/* Raw bytes to the target, now (send() on a socket, write() on a pty). */
bool kdpeer_write(struct kdpeer *peer, const void *data, size_t length);

/* Writes what the engine has, reads what came within wait_ms, runs the
 * engine's timers, writes again. */
void kdpeer_pump(struct kdpeer *peer, int wait_ms);

/* Pumps until more than `before` packets of `type` have arrived. */
bool kdpeer_wait_packet(struct kdpeer *peer, uint16_t type, unsigned before, unsigned timeout_ms);

/* Sends one data packet and pumps until it is acknowledged. */
bool kdpeer_send(struct kdpeer *peer, uint16_t type, const void *header, size_t header_length,
		 const void *data, size_t data_length, unsigned timeout_ms);

/* Break-in and RESET, as a debugger attaches; true once the target
 * answered the RESET. */
bool kdpeer_attach(struct kdpeer *peer, unsigned timeout_ms);

#endif /* BXKD_TEST_KDPEER_H */
