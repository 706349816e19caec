/*
 * session.h -- the session file: every crossing of a debug session, in the
 * order it happened, enough to replay the session without a debugger.
 *
 * A session file is a pcap file (libpcap, LINKTYPE_USER0) whose packets
 * are records. Each record starts with struct session_record_header; its
 * payload depends on the kind. All fields are little-endian. The pcap
 * timestamp of a record is its instruction tick turned into emulated time
 * (tick / ips), so a re-recorded session is the same file byte for byte
 * (the manifest's recorded_utc apart).
 *
 * Record 0 is the MANIFEST, the last one END; sequence numbers count from 0
 * without gaps. A reader checks all of that, and every length, before it
 * hands out a single record: a damaged file, or one from a newer recorder,
 * is refused with a reason, never half read.
 *
 * This file and session.c are sans-I/O (bytes in, records out, and back);
 * session_file.c reads and writes them with libpcap. replay/README.md
 * documents the format for people, replay/bxkd.lua for Wireshark.
 */
#ifndef BXKD_SESSION_H
#define BXKD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxkd/kdport.h"

#define SESSION_MAGIC 0x534b5842u /* "BXKS" in the file */
#define SESSION_VERSION 2u	  /* of the record format: the one written */
#define SESSION_VERSION_OLDEST 1u /* the oldest one read */
#define SESSION_LINKTYPE 147	  /* LINKTYPE_USER0 */
/* The header's size on disk: version 2 adds the checksum to version 1's. */
#define SESSION_HEADER_SIZE 28u
#define SESSION_HEADER_SIZE_V1 24u
/* Longest record, header included; larger is damage. A backdoor call can
 * move a whole 64 KiB GuestRPC message through the high-bandwidth port (a
 * page per access: 65 904 bytes with the headers), and a scan for the KD
 * page reads 12 bytes of every page below it; 256 KiB is also the largest
 * packet libpcap reads back (MAXIMUM_SNAPLEN). */
#define SESSION_RECORD_MAX (256u * 1024u)

enum session_kind {
	SESSION_MANIFEST = 1, /* what was recorded, with what (text, below) */
	SESSION_BACKDOOR = 2, /* one backdoor call: registers and guest memory */
	SESSION_KD_PORT = 3,  /* one call of the kd host port and its result */
	SESSION_ENDPOINT = 4, /* bytes to or from the debugger, or it came or went */
	SESSION_END = 5,      /* the session ended cleanly (text, below) */
};

/* The header as decoded; on disk each field is little-endian at its
 * offset: magic 0, version 4, kind 6, sequence 8, length 12, tick 16 and,
 * from version 2 on, checksum 24. */
struct session_record_header {
	uint32_t magic;	   /* SESSION_MAGIC */
	uint16_t version;  /* 1 or 2; a reader refuses a newer one */
	uint16_t kind;	   /* enum session_kind */
	uint32_t sequence; /* 0, 1, 2, ... */
	uint32_t length;   /* payload bytes after this header */
	uint64_t tick;	   /* the guest's instruction tick when it happened */
	/* Version 2: the CRC-32 (session_crc32) of the whole record with
	 * these four bytes taken as zero. Version 1 has none (0 here). */
	uint32_t checksum;
};

/*
 * MANIFEST and END payloads are UTF-8 text, one "key=value" per line, each
 * ending in "\n". MANIFEST keys, all required:
 *   format=bxkd-session
 *   bxkd_version=0.1.0
 *   image=<file name of the booted image>
 *   image_sha256=<64 hex digits of the image as booted, boot options in>
 *   boot_options=<the guest's boot options, may be empty>
 *   vmport=<the device's settings, vmport_config_format's text>
 *   bochs_ips=<instructions per emulated second>
 *   bochs_megs=<guest RAM, MiB>
 *   bochs_time0=<guest clock at power-on, seconds since 1970>
 *   recorded_utc=<YYYY-MM-DDTHH:MM:SSZ, wall clock; the one field that
 *                 differs between two recordings of the same session>
 * END keys: records=<count including END>, backdoor_calls=, kd_port_calls=,
 * endpoint_records=; an END written because Bochs was told to stop
 * adds interrupted=<the signal, SIGTERM> and, when the guest was inside a
 * backdoor call then (waiting for the debugger), interrupted_call_tick=<its
 * tick>: that call's records are left out. Unknown keys are allowed (and
 * kept by tools).
 */

/* ---- BACKDOOR ------------------------------------------------------------ */

/* The guest registers a backdoor call sees, in this order. */
enum session_reg {
	SESSION_EAX,
	SESSION_ECX,
	SESSION_EDX,
	SESSION_EBX,
	SESSION_EBP,
	SESSION_ESI,
	SESSION_EDI,
	SESSION_REGS
};

/* Fixed part of a BACKDOOR payload; `accesses` guest memory accesses
 * follow, each a struct session_access and then its `length` bytes (what
 * was read, or what was written), in the order the device made them. */
struct session_backdoor {
	uint16_t port;
	uint8_t direction;	   /* 0 IN, 1 OUT */
	uint8_t cpl;
	uint32_t in_value;	   /* what an IN delivered to AL/AX/EAX */
	uint32_t regs_in[SESSION_REGS];
	uint32_t regs_out[SESSION_REGS];
	uint8_t string_op_done;	   /* a REP INSB/OUTSB ended on this byte */
	uint8_t pad[3];
	uint32_t accesses;
};

struct session_access {
	uint64_t address; /* guest physical */
	uint32_t length;
	uint8_t write;	  /* 0 the device read guest memory, 1 it wrote */
	uint8_t ok;	  /* 0 the access failed (not RAM); no bytes follow then */
	uint8_t pad[2];
};

/* ---- KD_PORT ------------------------------------------------------------- */

enum session_kd_op {
	SESSION_KD_SEND = 1,
	SESSION_KD_RECEIVE = 2,
	SESSION_KD_POLL_BREAKIN = 3,
	SESSION_KD_DEBUGGER_PRESENT = 4,
	SESSION_KD_DEBUGGER_ATTACHED = 5,
};

/* The result byte of a send or receive is enum kd_outcome (bxkd/kdport.h),
 * whose numbers are fixed: 0 ok, 1 timed out, 2 needs resend, 3 dropped,
 * 4 invalid. A kd host port never answers KD_ABANDONED, so a reader refuses
 * anything above KD_INVALID. */
#define SESSION_KD_RESULT_LAST KD_INVALID
_Static_assert(KD_OK == 0 && KD_TIMED_OUT == 1 && KD_NEEDS_RESEND == 2 && KD_DROPPED == 3 &&
		       KD_INVALID == 4,
	       "session files store these numbers");
_Static_assert(KD_ENDPOINT_TO_DEBUGGER == 1 && KD_ENDPOINT_TO_TARGET == 2 &&
		       KD_ENDPOINT_ATTACHED == 3 && KD_ENDPOINT_DETACHED == 4,
	       "session files store these numbers");

/* Fixed part of a KD_PORT payload. For a SEND, and for a RECEIVE whose
 * result is KD_OK (0), header_length + data_length bytes follow:
 * what was sent, or what came. Any other record has no bytes after it (a
 * RECEIVE that got nothing still says the sizes it asked for). */
struct session_kd_port {
	uint8_t op;	       /* enum session_kd_op */
	uint8_t result;	       /* enum kd_outcome (bxkd/kdport.h) for
				  send/receive, 0/1 for the others */
	uint16_t packet_type;
	uint32_t timeout_ms;   /* receive */
	uint32_t header_length; /* send: bytes sent; receive: the exact size asked */
	uint32_t data_capacity; /* receive: room offered */
	uint32_t data_length;   /* send: bytes sent; receive: bytes that came */
};

/* ---- ENDPOINT ------------------------------------------------------------ */

/* Fixed part of an ENDPOINT payload; the bytes follow (none for the
 * attach and detach events). */
struct session_endpoint {
	uint8_t event; /* enum kd_endpoint_event (bxkd/kdport.h) */
	uint8_t pad[3];
};

/* ---- records in memory ------------------------------------------------------- */

/* One decoded record; pointers point into the bytes it was decoded from. */
struct session_record {
	struct session_record_header h;
	const uint8_t *payload;
	union {
		struct {
			const char *text; /* not NUL-terminated: text_length bytes */
			size_t text_length;
		} text; /* MANIFEST, END */
		struct {
			struct session_backdoor fixed;
			const uint8_t *accesses; /* fixed.accesses entries, checked */
			size_t accesses_length;
		} backdoor;
		struct {
			struct session_kd_port fixed;
			const uint8_t *bytes; /* header_length + data_length */
		} kd_port;
		struct {
			struct session_endpoint fixed;
			const uint8_t *bytes;
			size_t length;
		} endpoint;
	} u;
};

/* Checks one record completely (magic, version, kind, lengths, every
 * access of a backdoor call, the text's form, then a version 2 record's
 * checksum) and decodes it, of either version. False with a sentence in
 * `error` if anything is wrong. */
bool session_decode(const uint8_t *bytes, size_t length, struct session_record *record,
		    char *error, size_t error_size);

/* The i-th memory access of a decoded BACKDOOR record, and its bytes. */
bool session_backdoor_access(const struct session_record *record, uint32_t index,
			     struct session_access *access, const uint8_t **bytes);

/* EAX as the guest reads the call's answer: what an IN delivered (the
 * device leaves regs_out's EAX to the emulator then), else EAX after it. */
uint32_t session_backdoor_eax(const struct session_backdoor *b);

/* The call went to the KD transport riding on kd_command (bxkd/kdvm.h). */
bool session_backdoor_is_kd_call(const struct session_backdoor *b, uint16_t kd_command);

/* The packet bytes a KD_PORT record carries: header_length + data_length
 * for a send and a receive that went through, else none. */
size_t session_kd_port_bytes(const struct session_kd_port *k);

/* A key of a MANIFEST or END record; false if absent. The value is copied
 * NUL-terminated into `value` (false too if it does not fit). */
bool session_text_value(const struct session_record *record, const char *key, char *value,
			size_t value_size);

/* ---- building records ------------------------------------------------------------- */

/* A growable buffer records are built in. Failing appends (out of memory,
 * over SESSION_RECORD_MAX) set `failed`; check it before using the bytes. */
struct session_buffer {
	uint8_t *data;
	size_t length, capacity;
	bool failed;
};

void session_buffer_free(struct session_buffer *b);

/* Starts a record in `b` (emptying it): the header, its length filled in
 * by session_finish(). */
void session_begin(struct session_buffer *b, enum session_kind kind, uint32_t sequence,
		   uint64_t tick);
void session_append(struct session_buffer *b, const void *bytes, size_t length);
/* Sets the header's length and checksum. The record is then b->data,
 * b->length. */
void session_finish(struct session_buffer *b);

/* A finished record's sequence number changed, its checksum made again
 * (the recorder numbers records when it knows their place). */
void session_renumber(uint8_t *record, size_t length, uint32_t sequence);

/* A decoded record of any version built again in the current one, with
 * the same kind, sequence, tick and payload (bxkd-replay upgrade). */
void session_rebuild(struct session_buffer *b, const struct session_record *record);

/* CRC-32 as zlib, Ethernet and PNG compute it (reflected polynomial
 * 0xEDB88320, initial value and final XOR 0xFFFFFFFF): "123456789" gives
 * 0xCBF43926. `crc` is 0 to start, or the result for the bytes before. */
uint32_t session_crc32(uint32_t crc, const uint8_t *bytes, size_t length);

/* The record kinds' names ("backdoor", ...), the op and event names. */
const char *session_kind_name(uint16_t kind);
const char *session_kd_op_name(uint8_t op);
const char *session_endpoint_event_name(uint8_t event);

#endif /* BXKD_SESSION_H */
