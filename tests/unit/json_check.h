/*
 * json_check.h -- a small strict JSON checker for the tests: what our tools
 * print with --json must be JSON a program can read.
 */
#ifndef BXKD_TEST_JSON_CHECK_H
#define BXKD_TEST_JSON_CHECK_H

#include <stdbool.h>

/* One JSON object and nothing after it (but white space). */
bool json_valid_object(const char *text);

#endif /* BXKD_TEST_JSON_CHECK_H */
