/*
 * util.c -- small helpers of the bxkd command, finding its files, signals.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bxkd.h"

/* ---- memory and text ----------------------------------------------------------- */

static void out_of_memory(void)
{
	fputs("bxkd: out of memory\n", stderr);
	abort();
}

char *bxkd_strdup(const char *s)
{
	char *copy = strdup(s);

	if (!copy)
		out_of_memory();
	return copy;
}

char *bxkd_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *out;

	va_start(ap, fmt);
	if (vasprintf(&out, fmt, ap) < 0)
		out_of_memory();
	va_end(ap);
	return out;
}

double bxkd_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void bxkd_text_add(struct bxkd_text *t, const char *bytes, size_t length)
{
	if (t->capacity - t->length < length + 1) {
		size_t capacity = t->capacity ? t->capacity : 4096;
		while (capacity - t->length < length + 1)
			capacity *= 2;
		char *bigger = realloc(t->data, capacity);
		if (!bigger)
			out_of_memory();
		t->data = bigger;
		t->capacity = capacity;
	}
	memcpy(t->data + t->length, bytes, length);
	t->length += length;
	t->data[t->length] = '\0';
}

void bxkd_text_free(struct bxkd_text *t)
{
	free(t->data);
	memset(t, 0, sizeof(*t));
}

static void emit(const char *text, size_t length,
		 void (*line)(void *ctx, const char *text, size_t length), void *ctx)
{
	if (length && text[length - 1] == '\r')
		length--;
	line(ctx, text, length);
}

void bxkd_lines_feed(struct bxkd_lines *l, const char *bytes, size_t length,
		     void (*line)(void *ctx, const char *text, size_t length), void *ctx)
{
	while (length) {
		const char *newline = memchr(bytes, '\n', length);
		if (!newline) {
			bxkd_text_add(&l->partial, bytes, length);
			return;
		}
		size_t n = (size_t)(newline - bytes);
		if (l->partial.length) {
			bxkd_text_add(&l->partial, bytes, n);
			emit(l->partial.data, l->partial.length, line, ctx);
			l->partial.length = 0;
		} else {
			emit(bytes, n, line, ctx);
		}
		bytes += n + 1;
		length -= n + 1;
	}
}

void bxkd_lines_flush(struct bxkd_lines *l, void (*line)(void *ctx, const char *text, size_t length),
		      void *ctx)
{
	if (l->partial.length)
		emit(l->partial.data, l->partial.length, line, ctx);
	bxkd_text_free(&l->partial);
}

/* ---- ports and symbols -------------------------------------------------------------- */

unsigned bxkd_free_port(const char *host)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unsigned port = 0;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

uint64_t bxkd_symbol(const char *symbols_path, const char *symbol)
{
	FILE *f = symbols_path ? fopen(symbols_path, "r") : NULL;
	char line[512], name[256], type;
	uint64_t address, found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 " %c %255s", &address, &type, name) == 3 &&
		    !strcmp(name, symbol))
			found = address;
	}
	fclose(f);
	return found;
}

/* ---- our files ------------------------------------------------------------------------- */

const char *bxkd_bochs(void)
{
	const char *bochs = getenv("BXKD_BOCHS");

	return bochs && *bochs ? bochs : BOCHS_BIN;
}

/* Whether this bxkd is the one in the build tree: then the build tree's
 * plugin, image and tools go with it, not whatever was installed. */
/* True when the running program (bxkd, bxkd-replay) is one of the build
 * tree's: then the build tree's plugin and image are the ones that match it. */
static bool running_from_build_tree(void)
{
	char self[PATH_MAX], *build = realpath(BXKD_BUILD_DIR, NULL);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	bool inside = false;

	if (n > 0 && build) {
		size_t length = strlen(build);
		self[n] = '\0';
		inside = !strncmp(self, build, length) && self[length] == '/';
	}
	free(build);
	return inside;
}

static bool usable(enum bxkd_file file, const char *path)
{
	struct stat st;

	if (file == BXKD_PLUGIN_DIR) {
		char *plugin = bxkd_asprintf("%s/libbx_vmport.so", path);
		bool ok = stat(plugin, &st) == 0 && S_ISREG(st.st_mode);
		free(plugin);
		return ok;
	}
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	return (file != BXKD_TAP && file != BXKD_DBG && file != BXKD_REPLAY) ||
	       access(path, X_OK) == 0;
}

char *bxkd_locate(enum bxkd_file file, char *looked, size_t looked_size)
{
	const char *built = NULL, *installed = NULL;

	switch (file) {
	case BXKD_GUEST_IMAGE:
		built = BXKD_BUILD_DIR "/guest/bxkd-guest.img";
		installed = BXKD_PKGDATADIR "/bxkd-guest.img";
		break;
	case BXKD_GUEST_SYMBOLS:
		built = BXKD_BUILD_DIR "/guest/kernel.symbols";
		installed = BXKD_PKGDATADIR "/kernel.symbols";
		break;
	case BXKD_SESSION:
		built = BXKD_SOURCE_DIR "/tests/sessions/debug-session.bxkd";
		installed = BXKD_PKGDATADIR "/debug-session.bxkd";
		break;
	case BXKD_TAP:
		built = BXKD_BUILD_DIR "/pipe-bridge/bxkd-tap";
		installed = BXKD_BINDIR "/bxkd-tap";
		break;
	case BXKD_DBG:
		built = BXKD_BUILD_DIR "/pipe-bridge/bxkd-dbg";
		installed = BXKD_BINDIR "/bxkd-dbg";
		break;
	case BXKD_REPLAY:
		built = BXKD_BUILD_DIR "/replay/bxkd-replay";
		installed = BXKD_BINDIR "/bxkd-replay";
		break;
	case BXKD_PLUGIN_DIR:
		built = BXKD_BUILD_DIR "/bochs-plugin/.libs";
		installed = BXKD_PKGLIBDIR;
		break;
	}
	const char *first = built, *second = installed;
	if (!running_from_build_tree()) {
		first = installed;
		second = built;
	}
	if (looked)
		snprintf(looked, looked_size, "%s, %s", first, second);
	const char *found = usable(file, first) ? first : usable(file, second) ? second : NULL;
	if (!found)
		return NULL;
	/* "build/../tests/..." reads better as the path it is. */
	char *resolved = realpath(found, NULL);
	return resolved ? resolved : bxkd_strdup(found);
}

/* ---- signals ------------------------------------------------------------------------------ */

volatile sig_atomic_t bxkd_signal;

static void on_signal(int sig)
{
	bxkd_signal = sig;
}

void bxkd_catch_signals(bool pass_interrupt)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll() must return so that the loops see it. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (pass_interrupt)
		sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
