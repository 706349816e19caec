/*
 * json_check.c -- reading our tools' JSON in the tests (json_check.h).
 *
 * json-c parses; what its strict mode lets through that JSON forbids, raw
 * control characters, is refused before it sees them.
 */
#include "config.h"

#include "json_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* JSON allows no byte below 0x20 but white space between tokens. */
static bool control_free(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	return true;
}

struct json_object *json_check_parse(const char *text)
{
	size_t length = strlen(text);

	if (text[0] != '{' || !control_free(text))
		return NULL;
	while (length && strchr(" \t\r\n", text[length - 1]))
		length--;
	struct json_tokener *tokener = json_tokener_new();
	if (!tokener)
		return NULL;
	json_tokener_set_flags(tokener, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *object = json_tokener_parse_ex(tokener, text, (int)length);
	/* The whole text, one object, complete. */
	if (object && (json_tokener_get_error(tokener) != json_tokener_success ||
		       json_tokener_get_parse_end(tokener) != length ||
		       !json_object_is_type(object, json_type_object))) {
		json_object_put(object);
		object = NULL;
	}
	json_tokener_free(tokener);
	return object;
}

bool json_valid_object(const char *text)
{
	struct json_object *object = json_check_parse(text);

	json_object_put(object);
	return object != NULL;
}

/* Whether the members of a and b come in the same order (json_object_equal
 * compares objects as sets). */
static bool same_order(struct json_object *a, struct json_object *b)
{
	struct json_object_iterator ai = json_object_iter_begin(a), ae = json_object_iter_end(a);
	struct json_object_iterator bi = json_object_iter_begin(b), be = json_object_iter_end(b);

	for (; !json_object_iter_equal(&ai, &ae) && !json_object_iter_equal(&bi, &be);
	     json_object_iter_next(&ai), json_object_iter_next(&bi)) {
		if (strcmp(json_object_iter_peek_name(&ai), json_object_iter_peek_name(&bi)))
			return false;
	}
	return json_object_iter_equal(&ai, &ae) && json_object_iter_equal(&bi, &be);
}

bool json_same_object(const char *text, const char *expected)
{
	struct json_object *a = json_check_parse(text), *b = json_check_parse(expected);
	bool same = a && b && json_object_equal(a, b) && same_order(a, b);

	json_object_put(a);
	json_object_put(b);
	return same;
}

bool json_has_members(const char *text, const char *members)
{
	size_t size = strlen(members) + 3;
	char *wrapped = malloc(size);
	struct json_object *object = json_check_parse(text), *part = NULL;
	bool has = false;

	if (wrapped) {
		snprintf(wrapped, size, "{%s}", members);
		part = json_check_parse(wrapped);
	}
	if (object && part) {
		has = true;
		json_object_object_foreach(part, key, value) {
			struct json_object *actual;
			if (!json_object_object_get_ex(object, key, &actual) ||
			    !json_object_equal(actual, value))
				has = false;
		}
	}
	json_object_put(object);
	json_object_put(part);
	free(wrapped);
	return has;
}

bool json_starts_with_keys(const char *text, const char *const *keys)
{
	struct json_object *object = json_check_parse(text);
	bool starts = object != NULL;

	if (object) {
		struct json_object_iterator i = json_object_iter_begin(object);
		struct json_object_iterator end = json_object_iter_end(object);
		for (; *keys && starts; keys++, json_object_iter_next(&i))
			starts = !json_object_iter_equal(&i, &end) &&
				 !strcmp(json_object_iter_peek_name(&i), *keys);
	}
	json_object_put(object);
	return starts;
}

bool json_string_member(const char *text, const char *key, char *out, size_t size)
{
	struct json_object *object = json_check_parse(text), *value;
	bool found = object && json_object_object_get_ex(object, key, &value) &&
		     json_object_is_type(value, json_type_string);

	if (found)
		snprintf(out, size, "%s", json_object_get_string(value));
	json_object_put(object);
	return found;
}

bool json_lines_have(const char *output, const char *members)
{
	bool found = false;

	for (const char *line = output; *line && !found;) {
		size_t length = strcspn(line, "\n");
		char *copy = strndup(line, length);
		found = copy && json_has_members(copy, members);
		free(copy);
		line += length + (line[length] == '\n');
	}
	return found;
}
