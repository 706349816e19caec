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

/* The variable arguments, passable by pointer whatever va_list is. */
struct args {
	va_list ap;
};

enum length_modifier { LENGTH_INT, LENGTH_LONG, LENGTH_LONG_LONG, LENGTH_SIZE };

/* One conversion: %[-0][width][.precision][l|ll|z]conversion */
struct spec {
	bool left;
	char pad;
	unsigned width;
	size_t precision; /* SIZE_MAX: none */
	enum length_modifier length;
	char conversion;
};

static size_t decimal(const char **fmt)
{
	size_t value = 0;

	while (**fmt >= '0' && **fmt <= '9')
		value = value * 10 + (size_t)(*(*fmt)++ - '0');
	return value;
}

/* Reads the spec after a '%'; returns what follows it. */
static const char *parse_spec(const char *fmt, struct args *args, struct spec *spec)
{
	*spec = (struct spec){ .pad = ' ', .precision = SIZE_MAX, .length = LENGTH_INT };
	for (;; fmt++) {
		if (*fmt == '-')
			spec->left = true;
		else if (*fmt == '0')
			spec->pad = '0';
		else
			break;
	}
	if (*fmt == '*') {
		int w = va_arg(args->ap, int);
		if (w < 0) {
			spec->left = true;
			w = -w;
		}
		spec->width = (unsigned)w;
		fmt++;
	} else {
		spec->width = (unsigned)decimal(&fmt);
	}
	if (*fmt == '.') {
		fmt++;
		if (*fmt == '*') {
			int p = va_arg(args->ap, int);
			spec->precision = p < 0 ? SIZE_MAX : (size_t)p;
			fmt++;
		} else {
			spec->precision = decimal(&fmt);
		}
	}
	if (*fmt == 'l') {
		fmt++;
		spec->length = LENGTH_LONG;
		if (*fmt == 'l') {
			fmt++;
			spec->length = LENGTH_LONG_LONG;
		}
	} else if (*fmt == 'z') {
		fmt++;
		spec->length = LENGTH_SIZE;
	}
	spec->conversion = *fmt ? *fmt++ : '\0';
	return fmt;
}

static void convert_integer(struct sink *out, const struct spec *spec, struct args *args)
{
	char tmp[24];
	size_t pos;

	if (spec->conversion == 'd' || spec->conversion == 'i') {
		int64_t v = spec->length == LENGTH_LONG_LONG ? va_arg(args->ap, long long)
			    : spec->length == LENGTH_LONG    ? va_arg(args->ap, long)
			    : spec->length == LENGTH_SIZE    ? (int64_t)va_arg(args->ap, size_t)
							     : va_arg(args->ap, int);
		uint64_t magnitude = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
		pos = number(tmp, sizeof(tmp), magnitude, 10, false, v < 0);
	} else {
		uint64_t v = spec->length == LENGTH_LONG_LONG ? va_arg(args->ap, unsigned long long)
			     : spec->length == LENGTH_LONG    ? va_arg(args->ap, unsigned long)
			     : spec->length == LENGTH_SIZE    ? va_arg(args->ap, size_t)
							      : va_arg(args->ap, unsigned);
		pos = number(tmp, sizeof(tmp), v, spec->conversion == 'u' ? 10 : 16,
			     spec->conversion == 'X', false);
	}
	emit_padded(out, tmp + pos, sizeof(tmp) - pos, spec->width, spec->left, spec->pad);
}

static void convert(struct sink *out, const struct spec *spec, struct args *args)
{
	char tmp[24];

	switch (spec->conversion) {
	case 'd':
	case 'i':
	case 'u':
	case 'x':
	case 'X':
		convert_integer(out, spec, args);
		break;
	case 'p': {
		uintptr_t v = (uintptr_t)va_arg(args->ap, void *);
		size_t pos = number(tmp, sizeof(tmp), v, 16, false, false);
		tmp[--pos] = 'x';
		tmp[--pos] = '0';
		emit_padded(out, tmp + pos, sizeof(tmp) - pos, spec->width, spec->left, ' ');
		break;
	}
	case 'c':
		tmp[0] = (char)va_arg(args->ap, int);
		emit_padded(out, tmp, 1, spec->width, spec->left, ' ');
		break;
	case 's': {
		const char *s = va_arg(args->ap, const char *);
		size_t len = 0;
		if (!s)
			s = "(null)";
		while (len < spec->precision && s[len])
			len++;
		emit_padded(out, s, len, spec->width, spec->left, ' ');
		break;
	}
	case '%':
		emit(out, '%');
		break;
	default:
		/* Unknown conversion: show it rather than guess its argument. */
		emit(out, '%');
		if (spec->conversion)
			emit(out, spec->conversion);
		break;
	}
}

int format_v(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink out = { buf, size, 0 };
	struct args args;

	va_copy(args.ap, ap);
	while (*fmt) {
		if (*fmt != '%') {
			emit(&out, *fmt++);
			continue;
		}
		struct spec spec;
		fmt = parse_spec(fmt + 1, &args, &spec);
		convert(&out, &spec, &args);
	}
	va_end(args.ap);
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
