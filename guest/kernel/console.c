/*
 * console.c -- formatted output to port 0xE9, and the same on the VGA
 * text screen (vga_text.h) for Bochs' window.
 */
#include "console.h"

#include <stdarg.h>

#include "format.h"
#include "io.h"
#include "vga_text.h"

void console_write(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		outb(CONSOLE_PORT, (uint8_t)text[i]);
	vga_text_write(text, len);
}

int kprintf(const char *fmt, ...)
{
	/* On the stack: an exception handler may print while a kprintf it
	 * interrupted still holds its own buffer. */
	char line[CONSOLE_LINE_MAX];
	static const char cut[] = "[...]\n";
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = format_v(line, sizeof(line), fmt, ap);
	va_end(ap);
	if ((size_t)n < sizeof(line)) {
		console_write(line, (size_t)n);
	} else {
		console_write(line, sizeof(line) - 1);
		console_write(cut, sizeof(cut) - 1);
	}
	return n;
}
