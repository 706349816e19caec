/*
 * log.h -- how host-side components report: one log-callback signature
 * and one way to put an error sentence in a caller's buffer.
 *
 * Libraries never print. They hand one line (no newline) at a time to a
 * struct bxkd_log the caller chose: the Bochs glue sends it to Bochs' log,
 * a tool to stderr with its name in front, a test to a buffer it checks.
 */
#ifndef BXKD_COMMON_LOG_H
#define BXKD_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum bxkd_log_level { BXKD_LOG_DEBUG, BXKD_LOG_INFO, BXKD_LOG_ERROR };

typedef void (*bxkd_log_fn)(void *ctx, enum bxkd_log_level level, const char *message);

/* A destination for messages; fn NULL: they are dropped. */
struct bxkd_log {
	bxkd_log_fn fn;
	void *ctx;
};

/* Formats one message (cut at 1 KiB) and hands it to `log`. */
void bxkd_logf(const struct bxkd_log *log, enum bxkd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void bxkd_vlogf(const struct bxkd_log *log, enum bxkd_log_level level, const char *fmt,
		va_list ap) __attribute__((format(printf, 3, 0)));

/* Writes a sentence into error[size] (when error is not NULL) and returns
 * false, so a parser can say `return bxkd_error(error, size, "...", ...);`. */
bool bxkd_error(char *error, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- command-line tools --------------------------------------------------------------- */

/* The name tools put in front of their messages ("bxkd-dbg"). */
void bxkd_set_program(const char *name);
const char *bxkd_program(void);
/* "<program>: <message>\n" on stderr. */
void bxkd_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A struct bxkd_log that prints as bxkd_warn does (debug messages too). */
extern const struct bxkd_log bxkd_stderr_log;

#ifdef __cplusplus
}
#endif

#endif /* BXKD_COMMON_LOG_H */
