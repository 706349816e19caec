/*
 * alloc.c -- allocation that ends the program instead of failing (alloc.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

static void out_of_memory(void)
{
	fprintf(stderr, "%s: out of memory\n", bxkd_program());
	abort();
}

void *bxkd_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *bxkd_xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *bxkd_xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *bxkd_strdup(const char *s)
{
	char *copy = strdup(s);

	if (!copy)
		out_of_memory();
	return copy;
}

char *bxkd_vasprintf(const char *fmt, va_list ap)
{
	char *out;

	if (vasprintf(&out, fmt, ap) < 0)
		out_of_memory();
	return out;
}

char *bxkd_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *out;

	va_start(ap, fmt);
	out = bxkd_vasprintf(fmt, ap);
	va_end(ap);
	return out;
}

void *bxkd_grow(void *data, size_t *capacity, size_t needed, size_t initial)
{
	size_t grown = *capacity ? *capacity : initial;

	if (needed <= *capacity)
		return data;
	while (grown < needed) {
		if (grown > SIZE_MAX / 2)
			out_of_memory();
		grown *= 2;
	}
	data = bxkd_xrealloc(data, grown);
	*capacity = grown;
	return data;
}

void bxkd_text_add(struct bxkd_text *t, const char *bytes, size_t length)
{
	if (length >= SIZE_MAX - t->length)
		out_of_memory();
	t->data = bxkd_grow(t->data, &t->capacity, t->length + length + 1, 256);
	memcpy(t->data + t->length, bytes, length);
	t->length += length;
	t->data[t->length] = '\0';
}

void bxkd_text_printf(struct bxkd_text *t, const char *fmt, ...)
{
	va_list ap;
	char *piece;

	va_start(ap, fmt);
	piece = bxkd_vasprintf(fmt, ap);
	va_end(ap);
	bxkd_text_add(t, piece, strlen(piece));
	free(piece);
}

void bxkd_text_free(struct bxkd_text *t)
{
	free(t->data);
	t->data = NULL;
	t->length = t->capacity = 0;
}

FILE *bxkd_memstream_open(struct bxkd_memstream *m)
{
	*m = (struct bxkd_memstream){ 0 };
	m->file = open_memstream(&m->text, &m->size);
	if (!m->file)
		out_of_memory();
	return m->file;
}

char *bxkd_memstream_close(struct bxkd_memstream *m)
{
	if (fclose(m->file) != 0)
		out_of_memory();
	char *text = m->text;

	*m = (struct bxkd_memstream){ 0 };
	return text;
}
