/*
 * bootopt.c -- the patchable option block and its lookup.
 */
#include "bootopt.h"

#include "kstring.h"

/* volatile: the contents change after the compiler has seen them. */
static volatile struct bxkd_bootopt_block block __attribute__((used)) = {
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
