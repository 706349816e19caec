/*
 * fuzz_vmport_option.c -- the bochsrc `vmport:` option (bochs-plugin/
 * vmport_config.c, and pipe-bridge/kdep.c for kd_endpoint) on any text.
 *
 * Invariants: a refused setting leaves the configuration as it was; an
 * accepted line prints (vmport_config_format) as a line that reads back
 * to the same settings and prints the same again.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "vmport.h"
#include "vmport_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmport_config config, again;
	char error[512], text[2048], text_again[2048];

	if (memchr(data, '\0', size) || memchr(data, '\n', size))
		return 0; /* a bochsrc line is one line of text */
	vmport_config_init(&config);
	if (!vmport_line_apply(&config, (const char *)data, size, error, sizeof(error)))
		return 0;
	int n = vmport_config_format(&config, text, sizeof(text));
	FUZZ_ASSERT(n >= 0 && (size_t)n < sizeof(text), "the settings print as %d bytes", n);
	vmport_config_init(&again);
	FUZZ_ASSERT(vmport_line_apply(&again, text, (size_t)n, error, sizeof(error)),
		    "the printed settings '%s' do not read back: %s", text, error);
	FUZZ_ASSERT(vmport_config_format(&again, text_again, sizeof(text_again)) == n &&
			    !strcmp(text, text_again),
		    "the printed settings '%s' read back as '%s'", text, text_again);
	return 0;
}
