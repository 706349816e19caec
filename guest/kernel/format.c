/*
 * format.c -- a small vsnprintf. Portable C with no library calls, so the
 * host unit tests can compare it against the C library's own.
 */
#include "format.h"

#include <stdbool.h>
#include <stdint.h>

struct sink {
	char *buf;
	size_t size;
	size_t len; /* what the output would need, even past size */
};

static void emit(struct sink *out, char c)
{
	if (out->len + 1 < out->size)
		out->buf[out->len] = c;
	out->len++;
}

static void emit_padded(struct sink *out, const char *text, size_t len, unsigned width,
			bool left, char pad)
{
	size_t fill = width > len ? width - len : 0;

	if (!left && pad == '0' && len && (*text == '-')) {
		/* Zero padding goes between the sign and the digits. */
		emit(out, *text++);
		len--;
	}
	if (!left) {
		while (fill--)
			emit(out, pad);
	}
	for (size_t i = 0; i < len; i++)
		emit(out, text[i]);
	if (left) {
		while (fill--)
			emit(out, ' ');
	}
}

/* Digits of `value` in `base`, written backwards into the end of `tmp`. */
static size_t number(char *tmp, size_t tmp_size, uint64_t value, unsigned base, bool upper,
		     bool negative)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t pos = tmp_size;

	do {
		tmp[--pos] = digits[value % base];
		value /= base;
	} while (value);
	if (negative)
		tmp[--pos] = '-';
	return pos;
}

int format_v(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink out = { buf, size, 0 };

	while (*fmt) {
		if (*fmt != '%') {
			emit(&out, *fmt++);
			continue;
		}
		fmt++;

		bool left = false;
		char pad = ' ';
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}

		unsigned width = 0;
		if (*fmt == '*') {
			int w = va_arg(ap, int);
			if (w < 0) {
				left = true;
				w = -w;
			}
			width = (unsigned)w;
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (unsigned)(*fmt++ - '0');
		}

		size_t precision = SIZE_MAX;
		if (*fmt == '.') {
			fmt++;
			precision = 0;
			if (*fmt == '*') {
				int p = va_arg(ap, int);
				precision = p < 0 ? SIZE_MAX : (size_t)p;
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					precision = precision * 10 + (size_t)(*fmt++ - '0');
			}
		}

		enum { INT, LONG, LONG_LONG, SIZE } length = INT;
		if (*fmt == 'l') {
			fmt++;
			length = LONG;
			if (*fmt == 'l') {
				fmt++;
				length = LONG_LONG;
			}
		} else if (*fmt == 'z') {
			fmt++;
			length = SIZE;
		}

		char tmp[24];
		char conversion = *fmt ? *fmt++ : '\0';
		switch (conversion) {
		case 'd':
		case 'i': {
			int64_t v = length == LONG_LONG ? va_arg(ap, long long)
				    : length == LONG    ? va_arg(ap, long)
				    : length == SIZE    ? (int64_t)va_arg(ap, size_t)
							: va_arg(ap, int);
			uint64_t magnitude = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
			size_t pos = number(tmp, sizeof(tmp), magnitude, 10, false, v < 0);
			emit_padded(&out, tmp + pos, sizeof(tmp) - pos, width, left, pad);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = length == LONG_LONG ? va_arg(ap, unsigned long long)
				     : length == LONG    ? va_arg(ap, unsigned long)
				     : length == SIZE    ? va_arg(ap, size_t)
							 : va_arg(ap, unsigned);
			size_t pos = number(tmp, sizeof(tmp), v, conversion == 'u' ? 10 : 16,
					    conversion == 'X', false);
			emit_padded(&out, tmp + pos, sizeof(tmp) - pos, width, left, pad);
			break;
		}
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(ap, void *);
			size_t pos = number(tmp, sizeof(tmp), v, 16, false, false);
			tmp[--pos] = 'x';
			tmp[--pos] = '0';
			emit_padded(&out, tmp + pos, sizeof(tmp) - pos, width, left, ' ');
			break;
		}
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			emit_padded(&out, tmp, 1, width, left, ' ');
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t len = 0;
			if (!s)
				s = "(null)";
			while (len < precision && s[len])
				len++;
			emit_padded(&out, s, len, width, left, ' ');
			break;
		}
		case '%':
			emit(&out, '%');
			break;
		default:
			/* Unknown conversion: show it rather than guess its argument. */
			emit(&out, '%');
			if (conversion)
				emit(&out, conversion);
			break;
		}
	}
	if (size)
		buf[out.len < size ? out.len : size - 1] = '\0';
	return out.len > INT32_MAX ? INT32_MAX : (int)out.len;
}

int format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = format_v(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
