/*
 * bxkd.h -- the pieces of the bxkd command that `run` and `demo` share.
 * Bochs itself is run through bochs-run/ (bxvm.h); bxkd-tap, bxkd-dbg and
 * bxkd-replay are run as programs (common/process.h).
 */
#ifndef BXKD_LAUNCHER_H
#define BXKD_LAUNCHER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "bxvm.h"
#include "cli.h"
#include "log.h"
#include "process.h"

/* Exit statuses of every subcommand. */
#define BXKD_EXIT_PASSED 0
#define BXKD_EXIT_FAILED 1 /* the guest failed, or Bochs could not run it */
#define BXKD_EXIT_USAGE 2  /* bad arguments: nothing was started */

int bxkd_run_main(int argc, char **argv);
int bxkd_demo_main(int argc, char **argv);
int bxkd_bench_main(int argc, char **argv);

/* bxkd_warn's message followed by where the options are explained;
 * returns BXKD_EXIT_USAGE. */
int bxkd_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, for an option handler (bxkd_cli_parse): false. */
#define bxkd_option_refused(...) (bxkd_usage_error(__VA_ARGS__), false)

/* One of our two kernels by the name --arch and the boot option arch=
 * give it, "x86" or "x64": false for any other name. */
bool bxkd_parse_arch(const char *name, bool *x64);

/* A work directory: `asked` made (mkdir -p) and absolute, or a new one
 * from `template` ("/tmp/bxkd-run.XXXXXX"). NULL, said, on failure. */
char *bxkd_make_workdir(const char *asked, const char *template);

/* The end of a work directory: one this command made (no --workdir) is
 * removed with everything in it unless `keep` (--keep, or a failure whose
 * log explains it); true if it was removed. */
bool bxkd_end_workdir(const char *workdir, bool made_here, bool keep);

/* Bochs can be executed; else says what to install and returns false. */
bool bxkd_bochs_usable(void);

/* The address of `symbol` in an nm -n file, or 0. */
uint64_t bxkd_symbol(const char *symbols_path, const char *symbol);

/* Each "ADDRESS TYPE NAME" line of an nm -n file, in order, until `each`
 * returns false (undefined symbols, which have no address, are not
 * lines of that form); false if the file cannot be read. */
typedef bool (*bxkd_symbol_fn)(void *ctx, uint64_t address, char type, const char *name);
bool bxkd_symbols_each(const char *symbols_path, bxkd_symbol_fn each, void *ctx);

/* ---- signals ----------------------------------------------------------------------------- */


#endif /* BXKD_LAUNCHER_H */
