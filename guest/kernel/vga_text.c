/*
 * vga_text.c -- the console on the VGA text screen (vga_text.h).
 *
 * The screen is the VGA's text buffer at physical 0xB8000: one 16-bit cell
 * per character, the character in the low byte and its colours in the
 * high byte. Both of the kernel's mappings hold it (paging.h: the first
 * megabyte at KERNEL_OFFSET + its address, before and after paging_init).
 * Writing cells costs one store each; only a new line at the bottom moves
 * the console's 24 rows, and a status change rewrites row 0 alone.
 */
#include "vga_text.h"

#include <stdbool.h>
#include <stdint.h>

#include "io.h"
#include "kstring.h"
#include "layout.h"

#define VGA_TEXT_BUFFER (KERNEL_OFFSET + 0xB8000u)
/* Light grey on black for the console; white on blue for the status. */
#define CONSOLE_COLOURS 0x07u
#define STATUS_COLOURS 0x1Fu
#define FIRST_CONSOLE_ROW 1
#define CRTC_INDEX 0x3D4
#define CRTC_DATA 0x3D5
#define CRTC_CURSOR_START 0x0A
#define CRTC_CURSOR_DISABLE 0x20

static volatile uint16_t *const screen = (volatile uint16_t *)VGA_TEXT_BUFFER;
static bool cleared;
static unsigned row = FIRST_CONSOLE_ROW, column;

static uint16_t cell(char c, uint8_t colours)
{
	return (uint16_t)((uint16_t)colours << 8 | (uint8_t)c);
}

static void fill_row(unsigned which, uint8_t colours)
{
	for (unsigned x = 0; x < VGA_TEXT_COLUMNS; x++)
		screen[which * VGA_TEXT_COLUMNS + x] = cell(' ', colours);
}

/* The BIOS's messages go, and its blinking cursor with them: the kernel
 * never moves it, so it would sit where the BIOS left it. */
static void clear_once(void)
{
	if (cleared)
		return;
	cleared = true;
	for (unsigned y = 0; y < VGA_TEXT_ROWS; y++)
		fill_row(y, y < FIRST_CONSOLE_ROW ? STATUS_COLOURS : CONSOLE_COLOURS);
	outb(CRTC_INDEX, CRTC_CURSOR_START);
	outb(CRTC_DATA, CRTC_CURSOR_DISABLE);
}

/* The console moves up a row only when a character needs the row below
 * the last, so that the newest line stays at the bottom. */
static void scroll(void)
{
	/* Forward, to a lower address: memcpy's string move copies in order. */
	memcpy((void *)(screen + FIRST_CONSOLE_ROW * VGA_TEXT_COLUMNS),
	       (const void *)(screen + (FIRST_CONSOLE_ROW + 1) * VGA_TEXT_COLUMNS),
	       (VGA_TEXT_ROWS - FIRST_CONSOLE_ROW - 1) * VGA_TEXT_COLUMNS * sizeof(uint16_t));
	fill_row(VGA_TEXT_ROWS - 1, CONSOLE_COLOURS);
	row = VGA_TEXT_ROWS - 1;
}

static void put(char c)
{
	if (column == VGA_TEXT_COLUMNS) {
		column = 0;
		row++;
	}
	if (row == VGA_TEXT_ROWS)
		scroll();
	screen[row * VGA_TEXT_COLUMNS + column++] = cell(c, CONSOLE_COLOURS);
}

void vga_text_write(const char *text, size_t length)
{
	clear_once();
	for (size_t i = 0; i < length; i++) {
		char c = text[i];
		if (c == '\n') {
			if (row == VGA_TEXT_ROWS)
				scroll();
			column = 0;
			row++;
		} else if (c == '\t') {
			do
				put(' ');
			while (column % 8 && column < VGA_TEXT_COLUMNS);
		} else if ((uint8_t)c >= 0x20 && (uint8_t)c < 0x7F) {
			put(c);
		}
	}
}

void vga_text_status(const char *text)
{
	size_t x = 0;

	clear_once();
	for (; text[x] && x < VGA_TEXT_COLUMNS; x++)
		screen[x] = cell(text[x], STATUS_COLOURS);
	for (; x < VGA_TEXT_COLUMNS; x++)
		screen[x] = cell(' ', STATUS_COLOURS);
}

void vga_text_status_cells(unsigned first, const char *text, size_t length)
{
	clear_once();
	for (size_t i = 0; i < length && first + i < VGA_TEXT_COLUMNS; i++)
		screen[first + i] = cell(text[i], STATUS_COLOURS);
}
