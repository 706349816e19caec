/*
 * kstring.h -- the C library string functions the freestanding guest needs.
 * GCC may emit calls to memcpy/memset/memmove/memcmp itself, so these keep
 * their standard names.
 */
#ifndef GUEST_KSTRING_H
#define GUEST_KSTRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
int strcmp(const char *a, const char *b);

#endif /* GUEST_KSTRING_H */
