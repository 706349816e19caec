/*
 * upgrade.c -- bxkd-replay upgrade: a session file of an older format
 * version written again in the current one (replay/README.md, "Format
 * versions"). Each record keeps its kind, sequence number, tick and
 * payload; only the header changes (version 2 adds the checksum), so the
 * result is the file a current recorder would have written for the same
 * session, byte for byte.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "log.h"
#include "replay.h"
#include "session_file.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bxkd-replay upgrade IN OUT\n"
		"Writes the session IN again as OUT in session format version %u, record for\n"
		"record: kinds, sequence numbers, ticks and payloads as they are, each header\n"
		"the current one (with its checksum). IN must pass every check of the reader;\n"
		"a file already of version %u comes out the same.\n"
		"Exit status: 0 when OUT was written, 1 when IN cannot be read or OUT cannot\n"
		"be written, 2 on usage errors.\n",
		SESSION_VERSION, SESSION_VERSION);
}

static bool no_options(void *ctx, int key, char *value)
{
	(void)ctx, (void)key, (void)value;
	return true;
}

static bool write_upgraded(const struct session_file *in, const char *out_path, char *why,
			   size_t why_size)
{
	char ips_text[32];
	struct session_buffer record = { 0 };

	if (!session_file_manifest(in, "bochs_ips", ips_text, sizeof(ips_text)))
		return bxkd_error(why, why_size, "the manifest has no bochs_ips");
	/* The reader checked that bochs_ips is a positive count. */
	struct session_writer *w = session_writer_open(out_path, strtoull(ips_text, NULL, 10), why,
						       why_size);
	if (!w)
		return false;
	bool ok = true;
	for (size_t i = 0; ok && i < in->count; i++) {
		session_rebuild(&record, &in->records[i]);
		ok = !record.failed && session_writer_write(w, record.data, record.length,
							    in->records[i].h.tick);
	}
	if (record.failed)
		bxkd_error(why, why_size, "out of memory");
	session_buffer_free(&record);
	/* close says why the writer failed, if it did. */
	return session_writer_close(w, why, why_size) && ok;
}

int replay_upgrade(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char why[1024] = "";
	struct session_file in;
	int status = bxkd_cli_parse(argc, argv, options, 2, 2, no_options, NULL, usage);

	if (status != BXKD_CLI_GO_ON)
		return status;
	const char *in_path = argv[optind], *out_path = argv[optind + 1];
	if (!replay_read_whole(in_path, &in))
		return REPLAY_EXIT_FAILED;
	unsigned from = in.records[0].h.version;
	if (!write_upgraded(&in, out_path, why, sizeof(why))) {
		bxkd_warn("%s", why);
		session_file_free(&in);
		return REPLAY_EXIT_FAILED;
	}
	printf("bxkd-replay upgrade: %s (format version %u, %zu records) written as %s (version %u)\n",
	       in_path, from, in.count, out_path, SESSION_VERSION);
	session_file_free(&in);
	return REPLAY_EXIT_DONE;
}
