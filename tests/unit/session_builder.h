/*
 * session_builder.h -- session files for tests (replay/session.h): records
 * built with the format's own builder and written with its own writer,
 * the sequence numbers and the END's counts kept here, and a whole KD
 * exchange recorded on every layer a recorder sees it.
 */
#ifndef BXKD_TEST_SESSION_BUILDER_H
#define BXKD_TEST_SESSION_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"
#include "session_file.h"

/* The emulated machine's speed the test files claim (bochs_ips). */
#define SB_IPS 4000000u
/* Where the KD exchange's shared page lies, and its nonce. */
#define SB_PAGE_ADDRESS 0x71000u
#define SB_PAGE_NONCE 0x5eed1234u
/* The DbgPrint of the KD exchange. */
#define SB_PRINT_TEXT "hello from the guest\n"

struct session_builder {
	struct session_writer *writer;
	struct session_buffer record;
	bool pending;      /* a BACKDOOR record still taking accesses */
	uint32_t sequence; /* the next record's */
	uint64_t kinds[SESSION_END + 1];
	bool failed;
	char error[512];
};

/* Creates `path`; false with the reason in b->error. */
bool sb_open(struct session_builder *b, const char *path);
/* The manifest every test file has, with `extra` lines ("key=value\n"...)
 * appended, or NULL. */
void sb_manifest(struct session_builder *b, uint64_t tick, const char *extra);
/* A backdoor call; its accesses follow with sb_access. */
void sb_backdoor(struct session_builder *b, uint64_t tick, const struct session_backdoor *call);
void sb_access(struct session_builder *b, uint64_t address, bool write, bool ok,
	       const void *bytes, uint32_t length);
void sb_kd_port(struct session_builder *b, uint64_t tick, const struct session_kd_port *call,
		const void *bytes);
void sb_endpoint(struct session_builder *b, uint64_t tick, uint8_t event, const void *bytes,
		 size_t length);
/* The END with this file's counts, then the file closed; false with the
 * reason in b->error if anything failed on the way. */
bool sb_finish(struct session_builder *b, uint64_t tick);

/*
 * A debugger attaching, a DbgPrint, a GetVersion request and its reply,
 * a poll for break-in, a GETVERSION backdoor call at CPL 3, the debugger
 * leaving: as the guest's backdoor calls on the shared page, the calls of
 * the kd host port, and KDCOM frames on the debugger's endpoint (the
 * request's frame split over two records). Ticks from `tick` on.
 */
void sb_kd_exchange(struct session_builder *b, uint64_t tick);

/* A KDCOM frame: data (a payload) or control (payload NULL); its length. */
size_t sb_kdcom_frame(uint8_t *out, uint16_t type, uint32_t id, const void *payload,
		      uint16_t length);

#endif /* BXKD_TEST_SESSION_BUILDER_H */
