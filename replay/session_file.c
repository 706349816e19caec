/*
 * session_file.c -- session files through libpcap (session_file.h).
 *
 * The writer refuses a record the reader would refuse (it decodes each
 * one, and checks the sequence and the MANIFEST first), so a recorder's
 * mistake shows at the call that made it, not when the file is read back.
 * The reader takes the whole file in before it hands out anything: every
 * record decoded, the order of kinds and the numbering checked, the
 * manifest's required keys and the END's counts compared with the file.
 */
#include "config.h"

#include "session_file.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MICROSECONDS 1000000u
#define ERROR_MAX 512u
/* A text value we read back (a count, the format's name). */
#define VALUE_MAX 64u

/* ---- writing ------------------------------------------------------------------------ */

struct session_writer {
	pcap_t *dead; /* libpcap needs a handle of the link type to dump with */
	pcap_dumper_t *dumper;
	char *path;
	uint64_t ips;
	uint32_t written; /* records so far: the next one's sequence number */
	bool ended;       /* the END is in: nothing may follow it */
	bool failed;
	char error[ERROR_MAX];
};

struct session_writer *session_writer_open(const char *path, uint64_t ips, char *error,
					   size_t error_size)
{
	struct session_writer *w;

	if (ips == 0) {
		bxkd_error(error, error_size, "cannot create session file %s: instructions per second "
					"must be more than 0", path);
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path))) {
		free(w);
		bxkd_error(error, error_size, "cannot create session file %s: out of memory", path);
		return NULL;
	}
	w->ips = ips;
	w->dead = pcap_open_dead(SESSION_LINKTYPE, (int)SESSION_RECORD_MAX);
	if (!w->dead) {
		bxkd_error(error, error_size, "cannot create session file %s: libpcap is out of memory",
		     path);
		free(w->path);
		free(w);
		return NULL;
	}
	w->dumper = pcap_dump_open(w->dead, path);
	if (!w->dumper) {
		/* libpcap's message names the file and the reason. */
		bxkd_error(error, error_size, "cannot create session file: %s", pcap_geterr(w->dead));
		pcap_close(w->dead);
		free(w->path);
		free(w);
		return NULL;
	}
	return w;
}

static bool writer_fail(struct session_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Keeps the first reason; every later call fails with it. */
static bool writer_fail(struct session_writer *w, const char *fmt, ...)
{
	va_list ap;

	if (!w->failed) {
		va_start(ap, fmt);
		vsnprintf(w->error, sizeof(w->error), fmt, ap);
		va_end(ap);
		w->failed = true;
	}
	return false;
}

bool session_writer_write(struct session_writer *w, const uint8_t *record, size_t length,
			  uint64_t tick)
{
	struct session_record r;
	char why[ERROR_MAX];

	if (w->failed)
		return false;
	if (!session_decode(record, length, &r, why, sizeof(why)))
		return writer_fail(w, "%s: record %" PRIu32 " is not a valid record: %s", w->path,
				   w->written, why);
	if (w->ended)
		return writer_fail(w, "%s: record %" PRIu32 " follows the END", w->path,
				   w->written);
	if ((w->written == 0) != (r.h.kind == SESSION_MANIFEST))
		return writer_fail(w, "%s: record %" PRIu32 " (%s): a session has exactly one "
				      "MANIFEST, its first record", w->path, w->written,
				   session_kind_name(r.h.kind));
	if (r.h.sequence != w->written)
		return writer_fail(w, "%s: record %" PRIu32 " carries sequence number %" PRIu32,
				   w->path, w->written, r.h.sequence);
	if (r.h.tick != tick)
		return writer_fail(w, "%s: record %" PRIu32 " is at tick %" PRIu64 " but was "
				      "written for tick %" PRIu64, w->path, w->written, r.h.tick, tick);
	if (tick / w->ips > UINT32_MAX)
		return writer_fail(w, "%s: record %" PRIu32 "'s tick %" PRIu64 " is beyond what a "
				      "pcap timestamp holds at %" PRIu64 " instructions per second",
				   w->path, w->written, tick, w->ips);

	/* Emulated time, so that the same session makes the same file. */
	struct pcap_pkthdr h;
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = (time_t)(tick / w->ips);
	h.ts.tv_usec = (suseconds_t)(tick % w->ips * MICROSECONDS / w->ips);
	h.caplen = h.len = (bpf_u_int32)length;
	errno = 0;
	pcap_dump((u_char *)w->dumper, &h, record);
	if (ferror(pcap_dump_file(w->dumper)))
		return writer_fail(w, "%s: writing record %" PRIu32 " failed: %s", w->path,
				   w->written, errno ? strerror(errno) : "write error");
	w->written++;
	w->ended = r.h.kind == SESSION_END;
	return true;
}

bool session_writer_flush(struct session_writer *w)
{
	errno = 0;
	if (!w->failed && pcap_dump_flush(w->dumper) != 0)
		writer_fail(w, "%s: writing failed: %s", w->path,
			    errno ? strerror(errno) : "write error");
	return !w->failed;
}

bool session_writer_close(struct session_writer *w, char *error, size_t error_size)
{
	if (!w)
		return bxkd_error(error, error_size, "no session file to close");
	errno = 0;
	if (pcap_dump_flush(w->dumper) != 0)
		writer_fail(w, "%s: writing failed: %s", w->path,
			    errno ? strerror(errno) : "write error");
	pcap_dump_close(w->dumper);
	pcap_close(w->dead);
	bool ok = !w->failed;
	if (!ok)
		bxkd_error(error, error_size, "%s", w->error);
	free(w->path);
	free(w);
	return ok;
}

/* ---- reading ------------------------------------------------------------------------ */

/* Where each packet's bytes lie in the file's buffer while it still grows;
 * records get pointers only once it stops moving. */
struct extent {
	size_t offset, length;
};

struct reading {
	const char *path;
	pcap_t *pcap;
	uint8_t *bytes;
	size_t length, capacity;
	struct extent *extents;
	size_t count, extents_capacity;
	bool cut_allowed;
	bool cut_inside; /* a last record only partly in the file was left out */
	char *error;
	size_t error_size;
};

static bool out_of_memory(struct reading *r)
{
	return bxkd_error(r->error, r->error_size, "%s: out of memory after %zu records", r->path,
		    r->count);
}

static bool keep_packet(struct reading *r, const uint8_t *data, size_t length)
{
	if (r->count == r->extents_capacity) {
		size_t capacity = r->extents_capacity ? 2 * r->extents_capacity : 64;
		struct extent *e = realloc(r->extents, capacity * sizeof(*e));
		if (!e)
			return out_of_memory(r);
		r->extents = e;
		r->extents_capacity = capacity;
	}
	/* The buffer exists from the first packet on, empty or not: every
	 * record points into it. */
	if (!r->bytes || length > r->capacity - r->length) {
		size_t capacity = r->capacity ? r->capacity : 4096;
		while (capacity - r->length < length)
			capacity *= 2;
		uint8_t *b = realloc(r->bytes, capacity);
		if (!b)
			return out_of_memory(r);
		r->bytes = b;
		r->capacity = capacity;
	}
	if (length) /* an empty packet (damage, refused later) has nothing to copy */
		memcpy(r->bytes + r->length, data, length);
	r->extents[r->count].offset = r->length;
	r->extents[r->count].length = length;
	r->length += length;
	r->count++;
	return true;
}

static bool read_packets(struct reading *r)
{
	char errbuf[PCAP_ERRBUF_SIZE];

	r->pcap = pcap_open_offline(r->path, errbuf);
	if (!r->pcap)
		return bxkd_error(r->error, r->error_size, "cannot read session file %s: %s", r->path,
			    errbuf);
	int linktype = pcap_datalink(r->pcap);
	if (linktype != SESSION_LINKTYPE) {
		const char *name = pcap_datalink_val_to_name(linktype);
		return bxkd_error(r->error, r->error_size,
			    "%s is a pcap file of link type %d (%s), not a bxkd session "
			    "(link type %d, USER0)",
			    r->path, linktype, name ? name : "unknown", SESSION_LINKTYPE);
	}
	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *data;
		int got = pcap_next_ex(r->pcap, &h, &data);
		if (got == PCAP_ERROR_BREAK)
			return true; /* the end of the file */
		if (got != 1 && r->cut_allowed && strstr(pcap_geterr(r->pcap), "truncated")) {
			r->cut_inside = true;
			return true;
		}
		if (got != 1)
			return bxkd_error(r->error, r->error_size, "%s: record %zu cannot be read: %s",
				    r->path, r->count, pcap_geterr(r->pcap));
		if (h->caplen < h->len)
			return bxkd_error(r->error, r->error_size,
				    "%s: record %zu is cut short: the file holds %" PRIu32 " of its "
				    "%" PRIu32 " bytes",
				    r->path, r->count, (uint32_t)h->caplen, (uint32_t)h->len);
		if (!keep_packet(r, data, h->caplen))
			return false;
	}
}

/* How many lines of a MANIFEST or END record set `key`. */
static unsigned count_key(const struct session_record *record, const char *key)
{
	const char *text = record->u.text.text;
	size_t n = record->u.text.text_length, key_length = strlen(key);
	unsigned count = 0;

	for (size_t at = 0; at < n;) {
		const char *end = memchr(text + at, '\n', n - at);
		size_t line_length = (size_t)(end - (text + at));
		if (line_length > key_length && !memcmp(text + at, key, key_length) &&
		    text[at + key_length] == '=')
			count++;
		at += line_length + 1;
	}
	return count;
}

/* A key that must be there once, with a value of at most VALUE_MAX - 1
 * bytes when `value` is wanted. */
static bool required_key(struct reading *r, const struct session_record *record, size_t index,
			 const char *key, char *value)
{
	unsigned count = count_key(record, key);

	if (count != 1)
		return bxkd_error(r->error, r->error_size, "%s: record %zu (%s) %s the key %s%s", r->path,
			    index, session_kind_name(record->h.kind), count ? "repeats" : "lacks",
			    key, count ? "" : ", which every session has");
	if (value && !session_text_value(record, key, value, VALUE_MAX))
		return bxkd_error(r->error, r->error_size, "%s: record %zu (%s) has a %s too long to be "
						     "right", r->path, index,
			    session_kind_name(record->h.kind), key);
	return true;
}

static bool parse_count(const char *text, uint64_t *value)
{
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end)
		return false;
	*value = v;
	return true;
}

static const char *const manifest_keys[] = {
	"format",     "bxkd_version", "image",	     "image_sha256", "boot_options",
	"vmport",     "bochs_ips",    "bochs_megs", "bochs_time0",  "recorded_utc",
};

static bool check_manifest(struct reading *r, const struct session_record *m)
{
	char value[VALUE_MAX];
	uint64_t ips;

	for (size_t i = 0; i < sizeof(manifest_keys) / sizeof(manifest_keys[0]); i++)
		if (!required_key(r, m, 0, manifest_keys[i], NULL))
			return false;
	if (!required_key(r, m, 0, "format", value))
		return false;
	if (strcmp(value, "bxkd-session") != 0)
		return bxkd_error(r->error, r->error_size,
			    "%s: record 0 (manifest) says format=%s, not bxkd-session", r->path,
			    value);
	if (!required_key(r, m, 0, "bochs_ips", value))
		return false;
	if (!parse_count(value, &ips) || ips == 0)
		return bxkd_error(r->error, r->error_size,
			    "%s: record 0 (manifest) has bochs_ips=%s, not a count of "
			    "instructions per second",
			    r->path, value);
	return true;
}

/* The END's counts must be this file's: a file spliced together from two
 * recordings, or with records dropped and renumbered, does not pass.
 * records= is required; the counts by kind are checked when present. */
static bool check_end(struct reading *r, const struct session_file *file)
{
	static const struct {
		const char *key;
		uint16_t kind; /* 0: all records */
	} counts[] = {
		{ "records", 0 },
		{ "backdoor_calls", SESSION_BACKDOOR },
		{ "kd_port_calls", SESSION_KD_PORT },
		{ "endpoint_records", SESSION_ENDPOINT },
	};
	size_t last = file->count - 1;
	const struct session_record *end = &file->records[last];

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		char value[VALUE_MAX];
		uint64_t said, found = 0;
		if (counts[i].kind && !count_key(end, counts[i].key))
			continue;
		if (!required_key(r, end, last, counts[i].key, value))
			return false;
		for (size_t j = 0; j < file->count; j++)
			if (!counts[i].kind || file->records[j].h.kind == counts[i].kind)
				found++;
		if (!parse_count(value, &said))
			return bxkd_error(r->error, r->error_size, "%s: record %zu (end) has %s=%s, not a "
							     "count", r->path, last, counts[i].key,
				    value);
		if (said != found)
			return bxkd_error(r->error, r->error_size,
				    "%s: record %zu (end) counts %s=%" PRIu64 " but the file holds "
				    "%" PRIu64,
				    r->path, last, counts[i].key, said, found);
	}
	return true;
}

static bool check_records(struct reading *r, struct session_file *file)
{
	char why[ERROR_MAX];

	if (file->count == 0)
		return bxkd_error(r->error, r->error_size,
			    "%s holds no records; a session starts with its MANIFEST", r->path);
	for (size_t i = 0; i < file->count; i++) {
		struct session_record *rec = &file->records[i];
		const struct extent *e = &r->extents[i];
		if (!session_decode(file->bytes + e->offset, e->length, rec, why, sizeof(why)))
			return bxkd_error(r->error, r->error_size, "%s: record %zu is damaged: %s",
				    r->path, i, why);
		if (rec->h.sequence != i) {
			if (rec->h.sequence > i)
				return bxkd_error(r->error, r->error_size,
					    "%s: record %zu has sequence number %" PRIu32 ": "
					    "%" PRIu32 " records before it are missing",
					    r->path, i, rec->h.sequence, rec->h.sequence - (uint32_t)i);
			return bxkd_error(r->error, r->error_size,
				    "%s: record %zu has sequence number %" PRIu32 " where %zu was "
				    "due",
				    r->path, i, rec->h.sequence, i);
		}
		bool last = i + 1 == file->count;
		if (rec->h.version != file->records[0].h.version)
			return bxkd_error(r->error, r->error_size,
				    "%s: record %zu is of format version %u, the MANIFEST of "
				    "version %u: a file is written by one recorder",
				    r->path, i, rec->h.version, file->records[0].h.version);
		if (i == 0 && rec->h.kind != SESSION_MANIFEST)
			return bxkd_error(r->error, r->error_size,
				    "%s: record 0 (%s) is not the MANIFEST a session starts with",
				    r->path, session_kind_name(rec->h.kind));
		if (i > 0 && rec->h.kind == SESSION_MANIFEST)
			return bxkd_error(r->error, r->error_size,
				    "%s: record %zu is a second MANIFEST", r->path, i);
		if (!last && rec->h.kind == SESSION_END)
			return bxkd_error(r->error, r->error_size,
				    "%s: record %zu is an END, but %zu records follow it", r->path, i,
				    file->count - 1 - i);
		if (last && rec->h.kind != SESSION_END && !r->cut_allowed)
			return bxkd_error(r->error, r->error_size,
				    "%s ends after record %zu (%s) without the END record: the "
				    "recording was cut off",
				    r->path, i, session_kind_name(rec->h.kind));
	}
	file->cut = file->records[file->count - 1].h.kind != SESSION_END || r->cut_inside;
	if (!check_manifest(r, &file->records[0]))
		return false;
	return file->cut || check_end(r, file);
}

static bool read_file(const char *path, bool cut_allowed, struct session_file *file,
		      char *error, size_t error_size)
{
	struct reading r = { .path = path, .cut_allowed = cut_allowed, .error = error,
			     .error_size = error_size };
	bool ok = read_packets(&r);

	memset(file, 0, sizeof(*file));
	if (r.pcap)
		pcap_close(r.pcap);
	if (ok) {
		file->bytes = r.bytes;
		file->length = r.length;
		file->count = r.count;
		file->records = calloc(r.count ? r.count : 1, sizeof(*file->records));
		ok = file->records ? check_records(&r, file) : out_of_memory(&r);
	} else {
		free(r.bytes);
	}
	free(r.extents);
	if (!ok)
		session_file_free(file);
	return ok;
}

bool session_file_read(const char *path, struct session_file *file, char *error,
		       size_t error_size)
{
	return read_file(path, false, file, error, error_size);
}

bool session_file_read_cut(const char *path, struct session_file *file, char *error,
			   size_t error_size)
{
	return read_file(path, true, file, error, error_size);
}

bool session_file_interrupted(const struct session_file *file, char *signal, size_t signal_size)
{
	return file->count && !file->cut &&
	       session_text_value(&file->records[file->count - 1], "interrupted", signal,
				  signal_size);
}

void session_file_free(struct session_file *file)
{
	free(file->records);
	free(file->bytes);
	memset(file, 0, sizeof(*file));
}

bool session_file_manifest(const struct session_file *file, const char *key, char *value,
			   size_t value_size)
{
	return file->count && session_text_value(&file->records[0], key, value, value_size);
}
