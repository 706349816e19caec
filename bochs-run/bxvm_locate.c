/*
 * bxvm_locate.c -- where our files are: the build tree's or the installed
 * ones (bxvm.h).
 */
#include "config.h"

#include "bxvm.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *bxkd_bochs(void)
{
	const char *bochs = getenv("BXKD_BOCHS");

	return bochs && *bochs ? bochs : BOCHS_BIN;
}

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

	if (file == BXKD_FILE_PLUGIN_DIR) {
		char *plugin = bxkd_asprintf("%s/libbx_vmport.so", path);
		bool ok = stat(plugin, &st) == 0 && S_ISREG(st.st_mode);
		free(plugin);
		return ok;
	}
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	return (file != BXKD_FILE_TAP && file != BXKD_FILE_DBG && file != BXKD_FILE_REPLAY) ||
	       access(path, X_OK) == 0;
}

char *bxkd_locate(enum bxkd_file file, char *looked, size_t looked_size)
{
	/* Where each file is built (the script: in the source tree), and
	 * where `make install` puts it. */
	static const struct {
		const char *built, *installed;
	} places[] = {
		[BXKD_FILE_GUEST_IMAGE] = { BXKD_BUILD_DIR "/guest/bxkd-guest.img",
					    BXKD_PKGDATADIR "/bxkd-guest.img" },
		[BXKD_FILE_GUEST_SYMBOLS] = { BXKD_BUILD_DIR "/guest/kernel.symbols",
					      BXKD_PKGDATADIR "/kernel.symbols" },
		[BXKD_FILE_GUEST64_IMAGE] = { BXKD_BUILD_DIR "/guest/bxkd-guest-x64.img",
					      BXKD_PKGDATADIR "/bxkd-guest-x64.img" },
		[BXKD_FILE_GUEST64_SYMBOLS] = { BXKD_BUILD_DIR "/guest/kernel-x64.symbols",
						BXKD_PKGDATADIR "/kernel-x64.symbols" },
		[BXKD_FILE_SESSION] = { BXKD_SOURCE_DIR "/tests/sessions/debug-session.bxkd",
					BXKD_PKGDATADIR "/debug-session.bxkd" },
		[BXKD_FILE_TAP] = { BXKD_BUILD_DIR "/pipe-bridge/bxkd-tap", BXKD_BINDIR "/bxkd-tap" },
		[BXKD_FILE_DBG] = { BXKD_BUILD_DIR "/pipe-bridge/bxkd-dbg", BXKD_BINDIR "/bxkd-dbg" },
		[BXKD_FILE_REPLAY] = { BXKD_BUILD_DIR "/replay/bxkd-replay",
				       BXKD_BINDIR "/bxkd-replay" },
		[BXKD_FILE_PLUGIN_DIR] = { BXKD_BUILD_DIR "/bochs-plugin/.libs", BXKD_PKGLIBDIR },
	};
	const char *built = places[file].built, *installed = places[file].installed;
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
