/*
 * vmport_line.c -- see vmport_line.h.
 */
#include "config.h"

#include "vmport_line.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "kdep.h"

static bool apply_one(struct vmport_config *config, char *param, char *error, size_t error_size)
{
	char *eq = strchr(param, '=');
	struct kdep_options endpoint;

	if (!eq) {
		snprintf(error, error_size, "'%s' is not key=value", param);
		return false;
	}
	*eq = '\0';
	struct vmport_config before = *config;
	if (!vmport_config_set(config, param, eq + 1, error, error_size)) {
		FUZZ_ASSERT(!memcmp(&before, config, sizeof(before)),
			    "the refused setting %s changed the configuration", param);
		return false;
	}
	return strcmp(param, "kd_endpoint") || !config->kd_endpoint[0] ||
	       kdep_parse(config->kd_endpoint, &endpoint, error, error_size);
}

bool vmport_line_apply(struct vmport_config *config, const char *line, size_t length,
		       char *error, size_t error_size)
{
	char *item = malloc(length + 1);
	size_t n = 0;
	bool quoted = false, ok = true;

	if (!item) {
		snprintf(error, error_size, "out of memory");
		return false;
	}
	for (size_t i = 0; ok && i <= length; i++) {
		char c = i < length ? line[i] : '\0';
		if (c && (quoted || (c != ',' && c != ' ' && c != '\t'))) {
			if (c == '"')
				quoted = !quoted;
			else
				item[n++] = c;
			continue;
		}
		item[n] = '\0';
		if (n)
			ok = apply_one(config, item, error, error_size);
		n = 0;
	}
	free(item);
	return ok;
}
