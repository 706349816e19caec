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

/* One parameter as Bochs 2.7's bochsrc reader leaves it: blanks outside
 * double quotes dropped, the quotes themselves removed. */
static void unquote(char *param)
{
	bool quoted = false;
	char *out = param;

	for (const char *in = param; *in; in++) {
		if (*in == '"')
			quoted = !quoted;
		else if (quoted || (*in != ' ' && *in != '\t'))
			*out++ = *in;
	}
	*out = '\0';
}

bool vmport_line_apply(struct vmport_config *config, const char *line, size_t length,
		       char *error, size_t error_size)
{
	char *copy = malloc(length + 1);
	bool ok = true;

	if (!copy) {
		snprintf(error, error_size, "out of memory");
		return false;
	}
	memcpy(copy, line, length);
	copy[length] = '\0';
	for (char *param = copy, *next; ok && param; param = next) {
		next = strchr(param, ',');
		if (next)
			*next++ = '\0';
		unquote(param);
		if (*param)
			ok = apply_one(config, param, error, error_size);
	}
	free(copy);
	return ok;
}
