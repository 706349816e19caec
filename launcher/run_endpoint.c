/*
 * run_endpoint.c -- `bxkd run`'s endpoint (run.h): --endpoint resolved into
 * what Bochs and the relay need, and where and how to attach, in kdep's
 * own words.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "bxkd.h"
#include "run.h"

static bool listens(const struct kdep_options *o)
{
	return o->mode == KDEP_UNIX_LISTEN || o->mode == KDEP_TCP_LISTEN;
}

/* Resolves --endpoint into what Bochs and the relay need; false with a
 * message for a bad one. */
bool run_resolve_endpoint(const char *asked, enum transport transport, const char *workdir,
			  struct endpoint *ep)
{
	char error[600];

	memset(ep, 0, sizeof(*ep));
	if (asked && !strcmp(asked, "none")) {
		ep->none = true;
		return true;
	}
	if (asked) {
		snprintf(ep->spec, sizeof(ep->spec), "%s", asked);
	} else {
		snprintf(ep->spec, sizeof(ep->spec), "unix:%s/kd.sock", workdir);
		/* A socket path holds 107 bytes: a deep work directory gets its
		 * socket in a short directory of its own. */
		if (strlen(ep->spec) - 5 >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			char dir[] = "/tmp/bxkd-kd.XXXXXX";
			if (!mkdtemp(dir)) {
				bxkd_warn("mkdtemp: %s", strerror(errno));
				return false;
			}
			snprintf(ep->spec, sizeof(ep->spec), "unix:%s/kd.sock", dir);
			snprintf(ep->socket_dir, sizeof(ep->socket_dir), "%s", dir);
		}
	}
	if (!kdep_parse(ep->spec, &ep->options, error, sizeof(error))) {
		bxkd_usage_error("bad --endpoint: %s", error);
		return false;
	}
	/* A pty is named by the kernel when it is made: give it a link whose
	 * name is known now, to print before the machine starts. */
	if (ep->options.mode == KDEP_PTY && !ep->options.path[0]) {
		snprintf(ep->spec, sizeof(ep->spec), "pty:%s/kd.pty", workdir);
		if (!kdep_parse(ep->spec, &ep->options, error, sizeof(error))) {
			bxkd_usage_error("bad --endpoint: %s", error);
			return false;
		}
	}
	/* Port 0 would be chosen where nobody can print it: choose now. */
	if (ep->options.mode == KDEP_TCP_LISTEN && ep->options.port == 0) {
		unsigned port = bxkd_free_port(ep->options.host);
		if (!port) {
			bxkd_usage_error("bad --endpoint %s: no free TCP port on %s", asked,
				    ep->options.host);
			return false;
		}
		ep->options.port = (uint16_t)port;
		snprintf(ep->spec, sizeof(ep->spec), "tcp:%s:%u", ep->options.host, port);
	}
	if (transport != OVER_SERIAL && strpbrk(ep->spec, ", \t")) {
		bxkd_usage_error("bad --endpoint '%s': the bochsrc's vmport: line cannot carry a comma "
			    "or a space",
			    ep->spec);
		return false;
	}
	if (transport == OVER_SERIAL) {
		ep->relay = ep->options.mode != KDEP_TCP_LISTEN;
		if (ep->relay) {
			unsigned port = bxkd_free_port("127.0.0.1");
			if (!port) {
				bxkd_warn("no free TCP port on 127.0.0.1 for COM1");
				return false;
			}
			snprintf(ep->com1, sizeof(ep->com1), "127.0.0.1:%u", port);
		} else {
			snprintf(ep->com1, sizeof(ep->com1), "%s:%u", ep->options.host,
				 ep->options.port);
		}
	}
	/* A listener that cannot be opened (a live socket in the way, a
	 * port in use) is refused now, not by Bochs halfway through. The
	 * relay opens its endpoint itself and says so the same way. */
	if (listens(&ep->options) && !ep->relay) {
		struct kdep *probe = kdep_open(&ep->options, NULL, error, sizeof(error));
		if (!probe) {
			bxkd_usage_error("cannot use --endpoint %s: %s", ep->spec, error);
			return false;
		}
		kdep_close(probe);
	}
	return true;
}

static void print_indented(const char *text)
{
	while (*text) {
		size_t length = strcspn(text, "\n");
		printf("  %.*s\n", (int)length, text);
		text += length + (text[length] == '\n');
	}
}

/* Where and how to attach: kdep's own description of the endpoint. */
void run_print_attach(enum transport transport, bool fastpath, const struct endpoint *ep,
		      const char *workdir, const char *symbols)
{
	char address[KDEP_ADDRESS_MAX], hint[KDEP_HINT_MAX];
	bool client = ep->options.mode == KDEP_UNIX_CONNECT || ep->options.mode == KDEP_TCP_CONNECT;

	if (ep->none) {
		printf("bxkd: no kernel debugger endpoint (--endpoint none)\n");
		return;
	}
	kdep_describe(&ep->options, address, sizeof(address), hint, sizeof(hint));
	printf("bxkd: kernel debugger over %s, endpoint %s\n",
	       transport == OVER_VMPORT ? "the shared page (vmport)"
	       : transport == OVER_DLL  ? "the shared page through the Windows KD DLL (dll)"
					   : "KDCOM on COM1 (serial)",
	       ep->spec);
	if (fastpath)
		printf("bxkd: fast path on: the device answers memory reads from guest memory "
		       "while the kernel waits for a request; everything else goes to the kernel\n");
	if (client)
		printf("bxkd: the VM connects to a debugger listening at %s:\n", address);
	else
		printf("bxkd: attach a debugger at %s:\n", address);
	print_indented(hint);
	if (symbols)
		printf("  symbols:  %s  (nm -n; bxkd-dbg --symbols FILE)\n", symbols);
	if (transport == OVER_SERIAL && ep->relay)
		printf("bxkd: COM1 listens on %s; bxkd-tap relays it to %s and decodes the traffic "
		       "into %s/kd-trace.txt\n",
		       ep->com1, ep->spec, workdir);
	else if (transport == OVER_SERIAL)
		printf("bxkd: Bochs' COM1 listens on %s itself: the machine starts only once a "
		       "debugger connects, and Bochs takes that one connection only (for a "
		       "debugger that comes and goes, use another endpoint: bxkd-tap relays it)\n",
		       ep->com1);
}


/* The value of `key` in a bochsrc option line's items ("vmport: a=1,
 * b=\"x y\""), as Bochs splits them: at commas and blanks outside double
 * quotes, which it drops. */
static bool option_value(const char *items, const char *key, char *value, size_t size)
{
	size_t key_length = strlen(key);
	bool found = false;

	while (*items) {
		items += strspn(items, ", \t");
		char item[512];
		size_t length = 0;
		bool quoted = false;
		for (; *items && (quoted || !strchr(", \t", *items)); items++) {
			if (*items == '"')
				quoted = !quoted;
			else if (length + 1 < sizeof(item))
				item[length++] = *items;
		}
		item[length] = '\0';
		if (!strncmp(item, key, key_length) && item[key_length] == '=') {
			snprintf(value, size, "%s", item + key_length + 1);
			found = true;
		}
	}
	return found;
}

bool run_config_endpoint(const char *config, char *spec, size_t size)
{
	bool found = false;

	while (config && *config) {
		size_t length = strcspn(config, "\n");
		char line[1024];
		snprintf(line, sizeof(line), "%.*s", (int)length, config);
		const char *text = line + strspn(line, " \t");
		/* The last vmport: line that sets it wins, as in Bochs. */
		if (!strncmp(text, "vmport:", 7) && option_value(text + 7, "kd_endpoint", spec, size))
			found = true;
		config += length + (config[length] == '\n');
	}
	return found;
}
