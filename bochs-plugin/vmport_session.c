/*
 * vmport_session.c -- recording and replaying sessions in the device (see
 * vmport_session.h).
 */
#include "config.h"

#include "vmport_session.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bxkd/bootopt.h"
#include "player.h"
#include "recorder.h"
#include "session_file.h"

struct vmport_session {
	struct bxkd_log log;
	struct vmport_config config;

	/* Recording. */
	struct session_writer *writer;
	struct recorder *recorder;
	bool write_failed;

	/* Replay. */
	struct session_file file;
	struct player *player;
	char stop[300]; /* why the replay stops the machine: the first line of its report */
};

#define say(s, level, ...) bxkd_logf(&(s)->log, level, __VA_ARGS__)

/* ---- the manifest ---------------------------------------------------------------- */

/* SHA-256 of the image as booted (its boot options in), and those
 * options; false when the image cannot be read. */
static bool describe_image(const char *path, char sha256[65], char *boot_options,
			   size_t options_size)
{
	static const char marker[] = BXKD_BOOTOPT_MARKER;
	FILE *f = fopen(path, "rb");
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	uint8_t *image = NULL;
	size_t length = 0, capacity = 0;

	boot_options[0] = '\0';
	if (!f)
		return false;
	sha256_init(&ctx);
	for (;;) {
		if (length == capacity) {
			capacity = capacity ? 2 * capacity : 1u << 20;
			uint8_t *grown = realloc(image, capacity);
			if (!grown)
				break;
			image = grown;
		}
		size_t n = fread(image + length, 1, capacity - length, f);
		if (!n)
			break;
		sha256_update(&ctx, n, image + length);
		length += n;
	}
	bool read_ok = !ferror(f);
	fclose(f);
	sha256_digest(&ctx, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(sha256 + 2 * i, 3, "%02x", digest[i]);
	/* bxkd's own images carry their options after a marker and its NUL
	 * (the boot sector's copy of the marker, its search key, has none). */
	for (size_t i = 0; image && i + sizeof(struct bxkd_bootopt_block) <= length; i++) {
		if (!memcmp(image + i, marker, sizeof(marker))) {
			const char *text = (const char *)image + i + BXKD_BOOTOPT_MARKER_SIZE;
			size_t n = strnlen(text, BXKD_BOOTOPT_TEXT_SIZE);
			snprintf(boot_options, options_size, "%.*s", (int)n, text);
			break;
		}
	}
	free(image);
	return read_ok;
}

/* Text of a manifest value: one line, whatever the source held. */
static void one_line(char *text)
{
	for (; *text; text++) {
		if (*text == '\n' || *text == '\r')
			*text = ' ';
	}
}

/* Where the debugger attached is no property of the session (a replay has
 * none), and a path in it would make each recording differ. */
static void without_endpoint(char *settings)
{
	char *at = strstr(settings, "kd_endpoint=");

	if (!at)
		return;
	char *end = strstr(at, ", ");
	if (end)
		memmove(at, end + 2, strlen(end + 2) + 1);
	else
		*(at > settings + 1 ? at - 2 : at) = '\0';
}

static void manifest(struct vmport_session *s, const struct vmport_session_machine *m,
		     char *text, size_t size)
{
	char settings[1024], sha256[65] = "", options[BXKD_BOOTOPT_TEXT_SIZE] = "", when[32];
	const char *image = s->config.session_image[0] ? s->config.session_image : "";
	const char *name = strrchr(image, '/') ? strrchr(image, '/') + 1 : image;
	time_t now = time(NULL);
	struct tm utc;

	if (image[0] && !describe_image(image, sha256, options, sizeof(options)))
		say(s, BXKD_LOG_ERROR, "cannot read %s for the session's manifest: %s", image,
		    strerror(errno));
	vmport_config_format(&s->config, settings, sizeof(settings));
	without_endpoint(settings);
	one_line(settings);
	one_line(options);
	gmtime_r(&now, &utc);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &utc);
	snprintf(text, size,
		 "format=bxkd-session\nbxkd_version=%s\nimage=%s\nimage_sha256=%s\n"
		 "boot_options=%s\nvmport=%s\nbochs_ips=%" PRIu64 "\nbochs_megs=%" PRIu64
		 "\nbochs_time0=%" PRIu64 "\nrecorded_utc=%s\n",
		 PACKAGE_VERSION, name, sha256, options, settings, m->ips, m->megs, m->time0, when);
}

/* ---- opening ---------------------------------------------------------------------- */

static void write_record(void *ctx, const uint8_t *record, size_t length, uint64_t tick)
{
	struct vmport_session *s = ctx;

	if (!s->write_failed && !session_writer_write(s->writer, record, length, tick))
		s->write_failed = true;
}

static bool open_recording(struct vmport_session *s, const struct vmport_session_machine *m,
			   char *error, size_t error_size)
{
	char text[2048];

	s->writer = session_writer_open(s->config.record, m->ips, error, error_size);
	if (!s->writer)
		return false;
	s->recorder = recorder_create(write_record, s);
	if (!s->recorder)
		return bxkd_error(error, error_size, "out of memory");
	manifest(s, m, text, sizeof(text));
	recorder_manifest(s->recorder, text, 0);
	say(s, BXKD_LOG_INFO, "recording the session to %s", s->config.record);
	return true;
}

/* The recording must come from this machine: the same instruction rate,
 * RAM and clock, or nothing would land on the same tick. */
static bool same_machine(const struct session_file *f, const struct vmport_session_machine *m,
			 char *error, size_t error_size)
{
	static const struct {
		const char *key;
		size_t offset;
	} keys[] = {
		{ "bochs_ips", offsetof(struct vmport_session_machine, ips) },
		{ "bochs_megs", offsetof(struct vmport_session_machine, megs) },
		{ "bochs_time0", offsetof(struct vmport_session_machine, time0) },
	};
	char value[64];

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		uint64_t now;
		memcpy(&now, (const char *)m + keys[i].offset, sizeof(now));
		if (!session_file_manifest(f, keys[i].key, value, sizeof(value)))
			return bxkd_error(error, error_size, "the session's manifest has no %s",
				    keys[i].key);
		if (strtoull(value, NULL, 10) != now)
			return bxkd_error(error, error_size,
				    "the session was recorded with %s=%s, this machine has %" PRIu64,
				    keys[i].key, value, now);
	}
	return true;
}

static bool open_replay(struct vmport_session *s, const struct vmport_session_machine *m,
			char *error, size_t error_size)
{
	char recorded[80], now[65], options[BXKD_BOOTOPT_TEXT_SIZE];

	/* A recording cut short is replayed up to its cut. */
	if (!session_file_read_cut(s->config.replay, &s->file, error, error_size))
		return false;
	if (!same_machine(&s->file, m, error, error_size))
		return false;
	if (s->config.session_image[0] && session_file_manifest(&s->file, "image_sha256", recorded,
								   sizeof(recorded)) &&
	    describe_image(s->config.session_image, now, options, sizeof(options)) &&
	    strcmp(recorded, now))
		say(s, BXKD_LOG_INFO,
		    "replaying %s on an image other than the recorded one (SHA-256 %s, recorded %s): "
		    "expect a divergence",
		    s->config.replay, now, recorded);
	s->player = player_create(s->file.records, s->file.count, s->config.kd_command);
	if (!s->player)
		return bxkd_error(error, error_size, "out of memory");
	say(s, BXKD_LOG_INFO, "replaying %s: %zu records%s, no debugger", s->config.replay,
	    s->file.count, s->file.cut ? " up to where it was cut off" : "");
	return true;
}

struct vmport_session *vmport_session_open(const struct vmport_config *config,
					   const struct vmport_session_machine *machine,
					   const struct bxkd_log *log, char *error,
					   size_t error_size)
{
	error[0] = '\0';
	if (!config->record[0] && !config->replay[0])
		return NULL;
	if (config->record[0] && config->replay[0]) {
		bxkd_error(error, error_size, "record= and replay= exclude each other");
		return NULL;
	}
	struct vmport_session *s = calloc(1, sizeof(*s));
	if (!s) {
		bxkd_error(error, error_size, "out of memory");
		return NULL;
	}
	if (log)
		s->log = *log;
	s->config = *config;
	bool ok = config->record[0] ? open_recording(s, machine, error, error_size)
				    : open_replay(s, machine, error, error_size);
	if (!ok) {
		if (s->writer)
			session_writer_close(s->writer, NULL, 0);
		recorder_destroy(s->recorder);
		session_file_free(&s->file);
		free(s);
		return NULL;
	}
	return s;
}

bool vmport_session_replaying(const struct vmport_session *s)
{
	return s && s->player;
}

/* ---- crossings -------------------------------------------------------------------- */

const struct guest_vcpu *vmport_session_begin_call(struct vmport_session *s,
						    const struct guest_vcpu *real, uint16_t port,
						    enum guest_port_dir direction)
{
	if (s->recorder)
		return recorder_begin_call(s->recorder, real, port, direction);
	return player_begin_call(s->player, real, port, direction);
}

void vmport_session_end_call(struct vmport_session *s, const struct guest_port_access *access)
{
	if (s->recorder) {
		recorder_end_call(s->recorder, access);
		/* So that a Bochs that dies leaves every call it finished on disk. */
		if (!s->write_failed && !session_writer_flush(s->writer))
			s->write_failed = true;
		return;
	}
	player_end_call(s->player, access);
	if ((player_diverged(s->player) || player_reached_cut(s->player)) && !s->stop[0]) {
		const char *report = player_report(s->player);
		size_t first_line = strcspn(report, "\n");
		snprintf(s->stop, sizeof(s->stop), "%.*s", (int)first_line, report);
	}
}

const struct kd_host_port *vmport_session_kd_port(struct vmport_session *s,
						    const struct kd_host_port *live)
{
	if (s->recorder)
		return recorder_kd_port(s->recorder, live);
	return player_kd_port(s->player);
}

void vmport_session_endpoint(struct vmport_session *s, enum kd_endpoint_event event,
			     const void *bytes, size_t length, uint64_t tick)
{
	if (s && s->recorder)
		recorder_endpoint(s->recorder, event, bytes, length, tick);
}

const char *vmport_session_replay_stop(const struct vmport_session *s)
{
	return s && s->stop[0] ? s->stop : NULL;
}

/* ---- the end ---------------------------------------------------------------------- */

static void write_report(struct vmport_session *s, const char *text)
{
	if (!s->config.replay_report[0])
		return;
	FILE *f = fopen(s->config.replay_report, "w");
	if (!f || fputs(text, f) == EOF || fclose(f) != 0)
		say(s, BXKD_LOG_ERROR, "cannot write the replay report %s: %s",
		    s->config.replay_report, strerror(errno));
}

void vmport_session_close(struct vmport_session *s, uint64_t tick, const char *interrupted)
{
	char error[300], verdict[PATH_MAX + 100];

	if (!s)
		return;
	if (s->recorder) {
		recorder_end(s->recorder, tick, interrupted);
		uint32_t records = recorder_records(s->recorder);
		bool built = !recorder_failed(s->recorder);
		bool closed = session_writer_close(s->writer, error, sizeof(error));
		if (built && closed && !s->write_failed)
			say(s, BXKD_LOG_INFO, "session recorded: %u records in %s%s%s", records,
			    s->config.record, interrupted ? ", ended early: interrupted by " : "",
			    interrupted ? interrupted : "");
		else
			say(s, BXKD_LOG_ERROR, "the session in %s is incomplete: %s", s->config.record,
			    !built ? "a record could not be built" : closed ? "a write failed" : error);
		recorder_destroy(s->recorder);
	} else {
		player_finish(s->player, tick);
		if (player_reached_cut(s->player)) {
			write_report(s, player_report(s->player));
			say(s, BXKD_LOG_INFO, "%.*s", (int)strcspn(player_report(s->player), "\n"),
			    player_report(s->player));
		} else if (player_complete(s->player)) {
			snprintf(verdict, sizeof(verdict),
				 "replay matched: %u records of %s, ending at tick %" PRIu64 "\n",
				 player_records_matched(s->player), s->config.replay, tick);
			write_report(s, verdict);
			say(s, BXKD_LOG_INFO, "%.*s", (int)strcspn(verdict, "\n"), verdict);
		} else {
			write_report(s, player_report(s->player));
			say(s, BXKD_LOG_ERROR, "%s", s->stop[0] ? s->stop : "replay diverged at the end");
		}
		player_destroy(s->player);
		session_file_free(&s->file);
	}
	free(s);
}
