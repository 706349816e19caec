/*
 * boot_options.c -- the patchable option block and its lookup.
 */
#include "boot_options.h"

#include "kstring.h"

/* volatile: the contents change after the compiler has seen them.
 * .bootopt, aligned: the boot sector looks for the marker at 16-byte
 * boundaries of the kernel's first sectors only (boot/floppy.asm,
 * kernel.ld). */
static volatile struct bxkd_bootopt_block block
	__attribute__((used, section(".bootopt"), aligned(16))) = {
	.marker = BXKD_BOOTOPT_MARKER,
};

const char *bootopt_text(void)
{
	static char text[BXKD_BOOTOPT_TEXT_SIZE];
	static bool loaded;

	if (!loaded) {
		/* Copy up to the last byte, which stays NUL whatever was patched. */
		for (size_t i = 0; i + 1 < sizeof(text); i++)
			text[i] = block.text[i];
		loaded = true;
	}
	return text;
}

bool bootopt_get(const char *key, const char **value, size_t *len)
{
	size_t key_len = strlen(key);

	for (const char *word = bootopt_text(); *word;) {
		while (*word == ' ')
			word++;
		const char *end = word;
		while (*end && *end != ' ')
			end++;
		if ((size_t)(end - word) > key_len && !strncmp(word, key, key_len) &&
		    word[key_len] == '=') {
			*value = word + key_len + 1;
			*len = (size_t)(end - *value);
			return true;
		}
		word = end;
	}
	return false;
}

bool bootopt_is(const char *key, const char *value)
{
	const char *found;
	size_t len;

	return bootopt_get(key, &found, &len) && len == strlen(value) &&
	       !strncmp(found, value, len);
}

static int digit_value(char c, uint32_t base)
{
	int v = -1;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	return v >= 0 && (uint32_t)v < base ? v : -1;
}

bool parse_u32(const char *text, size_t len, uint32_t *value)
{
	uint32_t base = 10, n = 0;
	size_t i = 0;

	if (len > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return false;
	for (; i < len; i++) {
		int d = digit_value(text[i], base);
		if (d < 0 || n > (UINT32_MAX - (uint32_t)d) / base)
			return false;
		n = n * base + (uint32_t)d;
	}
	*value = n;
	return true;
}

bool bootopt_u32(const char *key, uint32_t fallback, uint32_t *value)
{
	const char *text;
	size_t len;

	*value = fallback;
	if (!bootopt_get(key, &text, &len))
		return true;
	if (parse_u32(text, len, value))
		return true;
	*value = fallback;
	return false;
}
