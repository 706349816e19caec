/*
 * console.h -- guest text output on Bochs' port 0xE9 ("port_e9_hack"), which
 * Bochs copies to its standard output.
 */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stddef.h>

#define CONSOLE_PORT 0xE9

void console_write(const char *text, size_t len);
/* Output longer than CONSOLE_LINE_MAX bytes is cut and marked "[...]". */
#define CONSOLE_LINE_MAX 512
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* GUEST_CONSOLE_H */
