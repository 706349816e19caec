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

/* The running program's directory, resolved; "" if unknown. */
static void program_directory(char *dir, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	dir[0] = '\0';
	if (n <= 0)
		return;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash && (size_t)(slash - self) < size)
		snprintf(dir, size, "%.*s", (int)(slash - self), self);
}

/* True when the running program (bxkd, bxkd-replay) is one of the build
 * tree's: then the build tree's plugin and image are the ones that match it. */
static bool running_from_build_tree(const char *program_dir)
{
	char *build = realpath(BXKD_BUILD_DIR, NULL);
	bool inside = false;

	if (build && program_dir[0]) {
		size_t length = strlen(build);
		inside = !strncmp(program_dir, build, length) &&
			 (program_dir[length] == '/' || !program_dir[length]);
	}
	free(build);
	return inside;
}

bool bxvm_install_root(const char *program_dir, const char *bindir, char *root, size_t size)
{
	size_t length = strlen(program_dir), bin = strlen(bindir);

	while (bin > 1 && bindir[bin - 1] == '/')
		bin--;
	if (!bin || bindir[0] != '/' || length < bin ||
	    strncmp(program_dir + length - bin, bindir, bin) || length - bin >= size)
		return false;
	snprintf(root, size, "%.*s", (int)(length - bin), program_dir);
	return true;
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
		[BXKD_FILE_SESSION64] = { BXKD_SOURCE_DIR "/tests/sessions/debug-session-x64.bxkd",
					  BXKD_PKGDATADIR "/debug-session-x64.bxkd" },
		[BXKD_FILE_TAP] = { BXKD_BUILD_DIR "/pipe-bridge/bxkd-tap", BXKD_BINDIR "/bxkd-tap" },
		[BXKD_FILE_DBG] = { BXKD_BUILD_DIR "/pipe-bridge/bxkd-dbg", BXKD_BINDIR "/bxkd-dbg" },
		[BXKD_FILE_REPLAY] = { BXKD_BUILD_DIR "/replay/bxkd-replay",
				       BXKD_BINDIR "/bxkd-replay" },
		[BXKD_FILE_PLUGIN_DIR] = { BXKD_BUILD_DIR "/bochs-plugin/.libs", BXKD_PKGLIBDIR },
	};
	/* An installed program takes the files installed with it: where
	 * its own directory says they are (DESTDIR, or the tree copied
	 * whole), and never the build tree's. A program of the build tree
	 * takes the build tree's, else the installed ones. */
	char program_dir[PATH_MAX], root[PATH_MAX], installed[PATH_MAX];
	program_directory(program_dir, sizeof(program_dir));
	char *bindir = realpath(BXKD_BINDIR, NULL);
	if ((bindir && !strcmp(bindir, program_dir)) ||
	    !bxvm_install_root(program_dir, BXKD_BINDIR, root, sizeof(root)))
		root[0] = '\0';
	free(bindir);
	snprintf(installed, sizeof(installed), "%s%s", root, places[file].installed);
	bool from_build = running_from_build_tree(program_dir);
	const char *first = from_build ? places[file].built : installed;
	const char *second = from_build ? installed : NULL;
	if (looked)
		snprintf(looked, looked_size, "%s%s%s", first, second ? ", " : "",
			 second ? second : "");
	const char *found = usable(file, first)		   ? first
			    : second && usable(file, second) ? second
							     : NULL;
	if (!found)
		return NULL;
	/* "build/../tests/..." reads better as the path it is. */
	char *resolved = realpath(found, NULL);
	return resolved ? resolved : bxkd_strdup(found);
}
