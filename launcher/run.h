/*
 * run.h -- `bxkd run`'s options (run_options.c), for run.c.
 */
#ifndef BXKD_LAUNCHER_RUN_H
#define BXKD_LAUNCHER_RUN_H

#include <stdbool.h>

#include "bxkd.h"

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
	const char *workdir;
	const char *boot_options;
	struct bxkd_text config; /* --config lines */
	unsigned long timeout;   /* seconds; 0: none */
	const char *record;      /* the session file to record, or NULL */
	bool fastpath;           /* the device answers memory reads itself */
	bool x64;                /* --arch x64: our x86-64 kernel, in long mode */
};

/* 0 to go on, -1 after --help, else the exit status. */
int run_parse_options(int argc, char **argv, struct run_options *o);

#endif /* BXKD_LAUNCHER_RUN_H */
