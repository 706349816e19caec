/*
 * vga_text.h -- the console on the VGA text screen (80x25 at 0xB8000), so
 * that Bochs' window shows what port 0xE9 carries.
 *
 * Row 0 is a status line the kernel rewrites in place (vga_text_status);
 * rows 1-24 take the console's text and scroll. Port 0xE9 stays the
 * console of record (the harness reads it); the screen is for people.
 */
#ifndef GUEST_VGA_TEXT_H
#define GUEST_VGA_TEXT_H

#include <stddef.h>

#define VGA_TEXT_COLUMNS 80
#define VGA_TEXT_ROWS 25

/* Console text: printable bytes, '\n' and '\t'; other control bytes are
 * dropped. The first call clears what the BIOS left on the screen. */
void vga_text_write(const char *text, size_t length);

/* Row 0, padded with blanks or cut at 80 columns. */
void vga_text_status(const char *text);

/* `length` cells of row 0 from column `first` on, for a change inside the
 * row; cells past column 80 are not written. */
void vga_text_status_cells(unsigned first, const char *text, size_t length);

#endif /* GUEST_VGA_TEXT_H */
