/*
 * log.c -- the host side's one message formatter (log.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void bxkd_vlogf(const struct bxkd_log *log, enum bxkd_log_level level, const char *fmt, va_list ap)
{
	char message[1024];

	if (!log || !log->fn)
		return;
	vsnprintf(message, sizeof(message), fmt, ap);
	log->fn(log->ctx, level, message);
}

void bxkd_logf(const struct bxkd_log *log, enum bxkd_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bxkd_vlogf(log, level, fmt, ap);
	va_end(ap);
}

bool bxkd_error(char *error, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (error && size) {
		va_start(ap, fmt);
		vsnprintf(error, size, fmt, ap);
		va_end(ap);
	}
	return false;
}

static const char *program_name = "bxkd";

void bxkd_set_program(const char *name)
{
	program_name = name;
}

const char *bxkd_program(void)
{
	return program_name;
}

void bxkd_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void to_stderr(void *ctx, enum bxkd_log_level level, const char *message)
{
	(void)ctx;
	(void)level;
	fprintf(stderr, "%s: %s\n", program_name, message);
}

const struct bxkd_log bxkd_stderr_log = { to_stderr, NULL };
