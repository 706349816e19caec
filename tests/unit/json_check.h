/*
 * json_check.h -- reading our tools' JSON in the tests, through json-c:
 * what they print with --json must be JSON a program can read, and the
 * tests check the values it carries, not how it is spelled.
 */
#ifndef BXKD_TEST_JSON_CHECK_H
#define BXKD_TEST_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

/* One JSON object and nothing after it (but white space), strictly: no
 * trailing commas, no control characters in strings, valid UTF-8. */
bool json_valid_object(const char *text);

/* The object `text` holds (json_object_put it), or NULL when it is not
 * one as json_valid_object says. */
struct json_object *json_check_parse(const char *text);

/* Whether `text` is the same JSON object as `expected`: the same members
 * with the same values, and the members in the same order. */
bool json_same_object(const char *text, const char *expected);

/* Whether object `text` has every member of object `members` with the
 * same value (members given as "\"key\":value,..." without the braces). */
bool json_has_members(const char *text, const char *members);

/* Whether the object's first members are named as `keys` says, in that
 * order (a NULL-terminated list). */
bool json_starts_with_keys(const char *text, const char *const *keys);

/* Copies the string member `key` of object `text` into out (cut to fit);
 * false when there is no such string member. */
bool json_string_member(const char *text, const char *key, char *out, size_t size);

/* Whether one of the lines of `output` is an object with `members`. */
bool json_lines_have(const char *output, const char *members);

#endif /* BXKD_TEST_JSON_CHECK_H */
