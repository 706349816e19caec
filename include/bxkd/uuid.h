/*
 * uuid.h -- the text form of the 16-byte UUID the backdoor's GETUUID command
 * returns, as the device's `uuid=` setting and the guest's `uuid=` boot
 * option write it: 8-4-4-4-12 hex digits, bytes in text order.
 *
 * Header-only and freestanding, so the device and the test guest read the
 * same text the same way.
 */
#ifndef BXKD_UUID_H
#define BXKD_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { BXKD_UUID_BYTES = 16, BXKD_UUID_TEXT_LENGTH = 36 };

static inline int bxkd_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses the `length` characters at `text`; `uuid` is written only when the
 * whole text is a UUID. */
static inline bool bxkd_uuid_parse(const char *text, size_t length, uint8_t uuid[BXKD_UUID_BYTES])
{
	/* The dashes come after these many hex digits. */
	static const unsigned dash_after[] = { 8, 12, 16, 20 };
	uint8_t bytes[BXKD_UUID_BYTES] = { 0 };
	unsigned digits = 0, dashes = 0;

	if (length != BXKD_UUID_TEXT_LENGTH)
		return false;
	for (size_t i = 0; i < length; i++) {
		if (dashes < 4 && digits == dash_after[dashes] && text[i] == '-') {
			dashes++;
			continue;
		}
		int d = bxkd_hex_digit(text[i]);
		if (d < 0 || digits >= 2 * BXKD_UUID_BYTES)
			return false;
		bytes[digits / 2] = (uint8_t)(bytes[digits / 2] << 4 | d);
		digits++;
	}
	if (digits != 2 * BXKD_UUID_BYTES || dashes != 4)
		return false;
	for (unsigned i = 0; i < BXKD_UUID_BYTES; i++)
		uuid[i] = bytes[i];
	return true;
}

#endif /* BXKD_UUID_H */
