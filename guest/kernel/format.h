/*
 * format.h -- printf-style formatting for the freestanding guest.
 *
 * Supports what guest code uses: flags '-' and '0', a width (digits or '*'),
 * a precision for strings, the length modifiers l, ll and z, and the
 * conversions d i u x X c s p %. Output is always NUL-terminated when size
 * is non-zero; the return value is the length the full output would have,
 * as with C's vsnprintf.
 */
#ifndef GUEST_FORMAT_H
#define GUEST_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

int format_v(char *buf, size_t size, const char *fmt, va_list ap);
int format(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* GUEST_FORMAT_H */
