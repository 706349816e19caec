/*
 * run.h -- the parts of `bxkd run` (run.c) that live in files of their
 * own: the options (run_options.c), the endpoint (run_endpoint.c) and the
 * live status line (status.c).
 */
#ifndef BXKD_LAUNCHER_RUN_H
#define BXKD_LAUNCHER_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bxkd.h"
#include "kdep.h"
#include "kdstatus.h"

/* OVER_DLL: the shared page too, through the Windows KD DLL our kernel
 * carries and loads (kd=dll) instead of its own copy of the transport. */
enum transport { OVER_VMPORT, OVER_SERIAL, OVER_DLL };

struct run_options {
	const char *image; /* NULL: our kernel */
	enum transport transport;
	const char *endpoint; /* NULL: unix:<workdir>/kd.sock */
	bool kd_break;
	unsigned long rounds; /* 0: the kernel's default */
	const char *os;       /* --os BUILD[.SP], checked; NULL: the kernel's default */
	bool gui;
	bool bochs_debugger;
	const char *debugger_commands; /* appended to the Bochs debugger's -rc file */
	const char *workdir;
	const char *boot_options;
	struct bxkd_text config; /* --config lines */
	unsigned long timeout;   /* seconds; 0: none */
	const char *record;      /* the session file to record, or NULL */
	bool fastpath;           /* the device answers memory reads itself */
	bool no_status;          /* --no-status: no live status line */
	bool keep;               /* --keep: the default work directory stays */
	bool x64;                /* our x86-64 kernel, in long mode */
	const char *arch;        /* --arch as given, or NULL */
	bool arch_in_boot_options; /* -o carries arch=, so nothing is added */
};

/* 0 to go on, -1 after --help, else the exit status. */
int run_parse_options(int argc, char **argv, struct run_options *o);

struct endpoint {
	bool none;                /* --endpoint none: no debugger at all */
	char spec[400];           /* as resolved (port 0 and a bare pty made definite) */
	struct kdep_options options;
	/* serial: where Bochs' COM1 listens, and whether bxkd-tap relays it */
	char com1[80];
	bool relay;
	/* The short directory made for the default socket when the work
	 * directory's path is too long for one; removed at the end. */
	char socket_dir[32];
};

/* Resolves `asked` (--endpoint, NULL for the default in workdir) into
 * what Bochs and the relay need; false with a message for a bad one. */
bool run_resolve_endpoint(const char *asked, enum transport transport, const char *workdir,
			  struct endpoint *ep);

/* The kd_endpoint a `vmport:` line among the --config lines sets (the
 * last one, as Bochs takes it) into spec; false if none does. */
bool run_config_endpoint(const char *config, char *spec, size_t size);

/* Where and how to attach: kdep's own description of the endpoint. */
void run_print_attach(enum transport transport, bool fastpath, const struct endpoint *ep,
		      const char *workdir, const char *symbols);

/* ---- the live status line (status.c) ---------------------------------------------------- */

/* The name of the status file in the work directory: the device's
 * kd_status= and bxkd-tap's --status-file. */
#define RUN_STATUS_FILE "kd-status"

struct run_status {
	FILE *out;
	char *path;    /* the status file; NULL: no status */
	char *address; /* where the debugger attaches */
	struct kd_status_display display;
	bool read_any, have;
	uint64_t read_ms;
	struct kd_status latest;
};

/* Shows the status kept in `path` (NULL: none) on `out`, in place when it
 * is a terminal. */
void run_status_start(struct run_status *st, FILE *out, const char *path, const char *address);
/* Reads the file when due and shows what changed. */
void run_status_poll(struct run_status *st);
/* Before a line of other output: our line erased on a terminal. */
void run_status_clear(struct run_status *st);
/* The final counts as a line of their own; then nothing more. */
void run_status_end(struct run_status *st);

#endif /* BXKD_LAUNCHER_RUN_H */
