/*
 * session_file.h -- session files on disk, through libpcap (session.h has
 * the format). The only place in replay/ that touches files.
 */
#ifndef BXKD_SESSION_FILE_H
#define BXKD_SESSION_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* ---- writing ----------------------------------------------------------------- */

struct session_writer;

/* Creates `path` (replacing it) as a pcap file of LINKTYPE_USER0 records;
 * `ips` turns ticks into the records' timestamps. NULL with a reason. */
struct session_writer *session_writer_open(const char *path, uint64_t ips, char *error,
					   size_t error_size);

/* Appends one record built with session_begin/append/finish. False (and
 * every later call false) once writing failed; the reason is kept. */
bool session_writer_write(struct session_writer *w, const uint8_t *record, size_t length,
			  uint64_t tick);

/* Hands what was written so far to the system; false (and the writer
 * failed) when that fails. */
bool session_writer_flush(struct session_writer *w);
/* Flushes and closes; false with the first error if anything failed. */
bool session_writer_close(struct session_writer *w, char *error, size_t error_size);

/* ---- reading ----------------------------------------------------------------- */

/* A whole session, read and checked before anything is used: the link
 * type, every record (session_decode), all of one format version, sequence
 * numbers without gaps, the MANIFEST first and the END last. */
struct session_file {
	struct session_record *records; /* point into `bytes` */
	size_t count;
	uint8_t *bytes;
	size_t length;
	/* session_file_read_cut only: the file ends before its END (a
	 * recording cut off; a last record only partly there is left out). */
	bool cut;
};

bool session_file_read(const char *path, struct session_file *file, char *error,
		       size_t error_size);
/* The same, but a file cut off (no END, or a last record only partly
 * written) is read up to the cut: every whole record in it is checked as
 * above, and file->cut says so. */
bool session_file_read_cut(const char *path, struct session_file *file, char *error,
			   size_t error_size);

/* The END says the session was stopped from outside (interrupted=SIGNAL);
 * the signal's name in `signal`. */
bool session_file_interrupted(const struct session_file *file, char *signal,
			      size_t signal_size);
void session_file_free(struct session_file *file);

/* The manifest's value for `key` (session_text_value on record 0). */
bool session_file_manifest(const struct session_file *file, const char *key, char *value,
			   size_t value_size);

#endif /* BXKD_SESSION_FILE_H */
