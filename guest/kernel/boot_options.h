/*
 * boot_options.h -- options a test passes to one boot of the guest.
 *
 * The kernel image carries a fixed block that starts with a marker; the
 * harness finds the marker in a copy of the disk image and writes the
 * options after it (tests/harness/bxh.c, bxh_patch_boot_options). Options
 * are space-separated key=value words.
 */
#ifndef GUEST_BOOTOPT_H
#define GUEST_BOOTOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxkd/bootopt.h"

/* The whole option text ("" when the image was not patched). */
const char *bootopt_text(void);

/* True if `key` is present; *value and *len then describe its value. */
bool bootopt_get(const char *key, const char **value, size_t *len);

/* True if `key` is present with exactly `value`. */
bool bootopt_is(const char *key, const char *value);

/* Parses all of text[0..len) as a decimal or 0x-prefixed hexadecimal
 * number that fits 32 bits. */
bool parse_u32(const char *text, size_t len, uint32_t *value);

/* A numeric option: *value is `fallback` when `key` is absent. False when
 * present but not a number (parse_u32); *value is then `fallback`. */
bool bootopt_u32(const char *key, uint32_t fallback, uint32_t *value);

#endif /* GUEST_BOOTOPT_H */
