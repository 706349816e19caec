/*
 * status.c -- `bxkd run`'s live status line (run.h): the status file the
 * device (or the COM1 relay) keeps in the work directory, read at most
 * every STATUS_READ_MS and shown as pipe-bridge's kd_status_display says.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bxkd.h"
#include "run.h"

/* A file of one line read five times a second costs nothing; the display
 * decides what is worth writing. */
#define STATUS_READ_MS 200u

static size_t terminal_columns(FILE *out)
{
	struct winsize size;

	if (ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col)
		return size.ws_col;
	return 80;
}

void run_status_start(struct run_status *st, FILE *out, const char *path, const char *address)
{
	bool terminal = isatty(fileno(out));

	memset(st, 0, sizeof(*st));
	st->out = out;
	st->path = path ? bxkd_strdup(path) : NULL;
	st->address = address ? bxkd_strdup(address) : NULL;
	kd_status_display_init(&st->display, terminal, terminal ? terminal_columns(out) : 0,
			       "bxkd: link ", st->address, BXVM_DEFAULT_IPS);
}

static void put(struct run_status *st, const char *text)
{
	if (!*text)
		return;
	fputs(text, st->out);
	fflush(st->out);
}

void run_status_poll(struct run_status *st)
{
	char text[KD_STATUS_TEXT_MAX];
	uint64_t now = bxkd_now_ms();

	if (!st->path || (st->read_any && now - st->read_ms < STATUS_READ_MS))
		return;
	st->read_ms = now;
	st->read_any = true;
	if (!kd_status_read_file(st->path, &st->latest))
		return;
	st->have = true;
	kd_status_display_update(&st->display, &st->latest, now, text, sizeof(text));
	put(st, text);
}

void run_status_clear(struct run_status *st)
{
	char text[16];

	kd_status_display_clear(&st->display, text, sizeof(text));
	put(st, text);
}

void run_status_end(struct run_status *st)
{
	char text[KD_STATUS_TEXT_MAX];

	if (st->path && kd_status_read_file(st->path, &st->latest))
		st->have = true;
	if (st->have) {
		kd_status_display_end(&st->display, &st->latest, text, sizeof(text));
		put(st, text);
	}
	st->have = false;
	free(st->path);
	free(st->address);
	st->path = st->address = NULL;
}
