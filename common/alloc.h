/*
 * alloc.h -- allocation for host tools, where running out of memory can
 * only end the program: these never return NULL.
 */
#ifndef BXKD_COMMON_ALLOC_H
#define BXKD_COMMON_ALLOC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

void *bxkd_xmalloc(size_t size);
void *bxkd_xcalloc(size_t count, size_t size);
void *bxkd_xrealloc(void *p, size_t size);
char *bxkd_strdup(const char *s);
/* The buffer `data` of *capacity bytes grown, by doubling from `initial`,
 * to hold at least `needed` bytes; *capacity is updated. */
void *bxkd_grow(void *data, size_t *capacity, size_t needed, size_t initial);
char *bxkd_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *bxkd_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* A growing NUL-terminated text. */
struct bxkd_text {
	char *data;
	size_t length, capacity;
};
void bxkd_text_add(struct bxkd_text *t, const char *bytes, size_t length);
void bxkd_text_printf(struct bxkd_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bxkd_text_free(struct bxkd_text *t);

/* A stream that writes into memory, for code that prints to a FILE (a
 * report, a bochsrc) when the caller wants the text. */
struct bxkd_memstream {
	FILE *file;
	char *text;
	size_t size;
};
FILE *bxkd_memstream_open(struct bxkd_memstream *m);
/* Ends the stream and hands over its NUL-terminated text, to be freed. */
char *bxkd_memstream_close(struct bxkd_memstream *m);

#endif /* BXKD_COMMON_ALLOC_H */
