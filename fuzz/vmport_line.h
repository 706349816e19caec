/*
 * vmport_line.h -- a bochsrc `vmport:` line applied to a device
 * configuration as Bochs 2.7 hands it to the plugin (items end at a comma
 * or a blank outside double quotes; the quotes are dropped), each
 * `key=value` given to vmport_config_set() and, for kd_endpoint, kdep_parse() (bochs-plugin/vmport_bochs.cc's
 * parse_option). Shared by the option parser's and the player's harnesses.
 */
#ifndef BXKD_FUZZ_VMPORT_LINE_H
#define BXKD_FUZZ_VMPORT_LINE_H

#include <stdbool.h>
#include <stddef.h>

#include "vmport.h"

/* False at the first setting refused, with the reason in `error`; a
 * refusal by vmport_config_set() that changed the configuration is a
 * broken invariant (fuzz_fail). */
bool vmport_line_apply(struct vmport_config *config, const char *line, size_t length,
		       char *error, size_t error_size);

#endif /* BXKD_FUZZ_VMPORT_LINE_H */
