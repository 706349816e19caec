/*
 * bxvm_machine.c -- the machine Bochs runs: its bochsrc and environment,
 * the guest image, the files of a run (bxvm.h).
 */
#include "config.h"

#include "bxvm.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "alloc.h"
#include "bxkd/bootopt.h"
#include "log.h"

static bool starts_with(const char *s, size_t length, const char *prefix)
{
	size_t n = strlen(prefix);

	return length >= n && strncmp(s, prefix, n) == 0;
}

/* ---- the machine ---------------------------------------------------------- */

enum bxvm_media bxvm_media_for_size(uint64_t size)
{
	return size == BXVM_FLOPPY_BYTES ? BXVM_MEDIA_FLOPPY : BXVM_MEDIA_DISK;
}

void bxvm_machine_init(struct bxvm_machine *m)
{
	memset(m, 0, sizeof(*m));
	m->written_by = "bxkd";
	m->media = BXVM_MEDIA_FLOPPY;
	m->megs = BXVM_DEFAULT_MEGS;
	m->time0 = BXVM_DEFAULT_TIME0;
	m->ips = BXVM_DEFAULT_IPS;
	m->load_plugin = true;
}

char *bxvm_bochsrc(const struct bxvm_machine *m)
{
	struct bxkd_memstream text;
	FILE *f = bxkd_memstream_open(&text);

	fprintf(f,
		"# Written by %s for one run.\n"
		"megs: %u\n"
		"romimage: file=%s\n"
		"vgaromimage: file=%s\n",
		m->written_by, m->megs, BOCHS_BIOS, BOCHS_VGA_BIOS);
	if (m->media == BXVM_MEDIA_FLOPPY)
		fprintf(f,
			"floppya: 1_44=%s, status=inserted\n"
			"boot: floppy\n",
			m->image);
	else
		fprintf(f,
			"ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14\n"
			"ata0-master: type=disk, path=%s, mode=flat\n"
			"boot: disk\n",
			m->image);
	fprintf(f,
		"# Determinism: guest time is a function of instructions executed only.\n"
		"clock: sync=none, time0=%" PRIu32 "\n"
		"cpu: count=1, ips=%u, reset_on_triple_fault=0\n"
		"%s"
		"display_library: sdl2\n"
		"mouse: enabled=0\n"
		"speaker: enabled=0\n"
		"port_e9_hack: enabled=1\n"
		"# No sound card: the mixer's drivers touch nothing of the host.\n"
		"sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy\n"
		"%s"
		"log: %s\n"
		"logprefix: %%t%%e%%d\n"
		"panic: action=fatal\n"
		"error: action=report\n"
		"info: action=report\n"
		"debug: action=ignore\n",
		m->time0, m->ips, m->long_mode ? "cpuid: x86_64=1\n" : "",
		m->load_plugin ? "plugin_ctrl: vmport=1\n" : "",
		m->log_path ? m->log_path : "/dev/null");
	/* Bochs redraws its window on a host-time timer by default, which
	 * under sync=none barely runs: the window kept the BIOS's screen while
	 * the kernel ran. On emulated time it follows the guest (and stays
	 * still while the guest waits at a stop, as emulated time does). */
	if (m->window)
		fprintf(f, "vga: extension=vbe, update_freq=5, realtime=0\n");
	if (m->extra_config && *m->extra_config) {
		size_t n = strlen(m->extra_config);
		fprintf(f, "%s%s", m->extra_config, m->extra_config[n - 1] == '\n' ? "" : "\n");
	}
	return bxkd_memstream_close(&text);
}

bool bxvm_write_bochsrc(const struct bxvm_machine *m, const char *path)
{
	char *text = bxvm_bochsrc(m);
	bool ok = bxvm_write_file(path, text, strlen(text));

	free(text);
	return ok;
}

char *bxvm_workdir_name(const char *workdir, const char *path, const char *link_name, char *why,
			size_t why_size)
{
	size_t n = strlen(workdir);
	char cwd[PATH_MAX];

	while (n > 1 && workdir[n - 1] == '/')
		n--;
	if (!strncmp(path, workdir, n) && path[n] == '/' && path[n + 1] && !strchr(path + n + 1, '/'))
		return bxkd_strdup(path + n + 1);
	char *target = realpath(path, NULL);
	if (!target)
		target = path[0] == '/' || !getcwd(cwd, sizeof(cwd)) ? bxkd_strdup(path)
								     : bxkd_asprintf("%s/%s", cwd, path);
	char *link = bxkd_asprintf("%.*s/%s", (int)n, workdir, link_name);
	unlink(link);
	bool ok = symlink(target, link) == 0;
	if (!ok)
		bxkd_error(why, why_size, "cannot link %s to %s: %s", link, target, strerror(errno));
	free(link);
	free(target);
	return ok ? bxkd_strdup(link_name) : NULL;
}

/* The name a link to a file outside the work directory gets there. */
static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

char *bxvm_recording_config(const char *workdir, const char *session, const char *image,
			    char *why, size_t why_size)
{
	char *session_name = bxvm_workdir_name(workdir, session, base_name(session), why, why_size);
	char *image_name = session_name ? bxvm_workdir_name(workdir, image, base_name(image), why,
							    why_size)
					: NULL;
	char *line = image_name ? bxkd_asprintf("vmport: record=%s, session_image=%s\n",
						session_name, image_name)
				: NULL;

	free(session_name);
	free(image_name);
	return line;
}

char *bxvm_write_machine(const struct bxvm_machine *machine, const char *workdir, char *why,
			 size_t why_size)
{
	struct bxvm_machine m = *machine;
	char *log = bxkd_asprintf("%s/bochs.log", workdir);
	char *bochsrc = bxkd_asprintf("%s/bochsrc", workdir);
	char *image = NULL, *log_name = NULL;

	if (m.image && !(image = bxvm_workdir_name(workdir, m.image, base_name(m.image), why,
						    why_size)))
		goto failed;
	m.image = image;
	if (!m.log_path)
		m.log_path = log;
	if (strcmp(m.log_path, "/dev/null") &&
	    !(log_name = bxvm_workdir_name(workdir, m.log_path, "bochs.log", why, why_size)))
		goto failed;
	if (log_name)
		m.log_path = log_name;
	if (!bxvm_write_bochsrc(&m, bochsrc)) {
		bxkd_error(why, why_size, "cannot write %s: %s", bochsrc, strerror(errno));
		goto failed;
	}
	free(image);
	free(log_name);
	free(log);
	return bochsrc;
failed:
	free(image);
	free(log_name);
	free(log);
	free(bochsrc);
	return NULL;
}

char **bxvm_environment(char *const parent[], const char *plugin_dir, enum bxvm_display display)
{
	size_t n = 0;

	while (parent[n])
		n++;
	char **env = bxkd_xcalloc(n + 6, sizeof(*env));
	const char *preload = NULL;
	for (size_t i = 0; i < n; i++) {
		if (starts_with(parent[i], strlen(parent[i]), BXVM_PRELOAD_VARIABLE "=") &&
		    parent[i][strlen(BXVM_PRELOAD_VARIABLE "=")])
			preload = parent[i] + strlen(BXVM_PRELOAD_VARIABLE "=");
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *e = parent[i];
		size_t len = strlen(e);
		if (starts_with(e, len, "LTDL_LIBRARY_PATH=") || starts_with(e, len, "SDL_AUDIODRIVER=") ||
		    starts_with(e, len, "TZ=") ||
		    (preload && starts_with(e, len, "LD_PRELOAD=")) ||
		    (display == BXVM_HEADLESS && starts_with(e, len, "SDL_VIDEODRIVER=")))
			continue;
		env[k++] = bxkd_strdup(e);
	}
	/* A plugin built with the sanitizers needs their runtime in Bochs,
	 * and only there: the tools that start Bochs carry their own. */
	if (preload)
		env[k++] = bxkd_asprintf("LD_PRELOAD=%s", preload);
	/* Our plugin first; Bochs' own plugins must stay reachable too. */
	env[k++] = bxkd_asprintf("LTDL_LIBRARY_PATH=%s:%s", plugin_dir, BOCHS_PLUGIN_DIR);
	if (display == BXVM_HEADLESS)
		env[k++] = bxkd_strdup("SDL_VIDEODRIVER=dummy");
	env[k++] = bxkd_strdup("SDL_AUDIODRIVER=dummy");
	/* Bochs sets the CMOS clock from time0 in local time: the same guest
	 * must see the same clock on every host. */
	env[k++] = bxkd_strdup("TZ=UTC");
	env[k] = NULL;
	return env;
}

void bxvm_environment_free(char **env)
{
	if (!env)
		return;
	for (char **e = env; *e; e++)
		free(*e);
	free(env);
}

/* ---- the guest image --------------------------------------------------------- */

/* The next block at or after `from`, or `size` when there is none. */
static size_t next_block(const uint8_t *image, size_t size, size_t from)
{
	static const char marker[] = BXKD_BOOTOPT_MARKER;

	for (size_t at = from; at + sizeof(struct bxkd_bootopt_block) <= size; at++) {
		if (image[at] == 'B' && !memcmp(image + at, marker, sizeof(marker)))
			return at;
	}
	return size;
}

bool bxvm_has_boot_options(const uint8_t *image, size_t size)
{
	return next_block(image, size, 0) < size;
}

/* Every kernel on the image carries a block (our floppy has two: the x86
 * kernel's and the x86-64 kernel's), and each gets the same text: the boot
 * sector reads the first kernel's to choose, the chosen kernel its own. */
bool bxvm_patch_boot_options(uint8_t *image, size_t size, const char *options, char *why,
			     size_t why_size)
{
	size_t text_len = strlen(options);

	if (text_len >= BXKD_BOOTOPT_TEXT_SIZE) {
		snprintf(why, why_size, "boot options are %zu bytes; the block holds %d", text_len,
			 BXKD_BOOTOPT_TEXT_SIZE - 1);
		return false;
	}
	size_t at = next_block(image, size, 0);
	if (at == size) {
		snprintf(why, why_size, "no boot option block (marker %s) in the image",
			 BXKD_BOOTOPT_MARKER);
		return false;
	}
	for (; at < size; at = next_block(image, size, at + sizeof(struct bxkd_bootopt_block))) {
		struct bxkd_bootopt_block *block = (struct bxkd_bootopt_block *)(image + at);
		memset(block->text, 0, sizeof(block->text));
		memcpy(block->text, options, text_len);
	}
	return true;
}

bool bxvm_copy_image(const char *source, const char *options, const char *copy, char *why,
		     size_t why_size)
{
	size_t size;
	uint8_t *image = (uint8_t *)bxvm_read_file(source, &size);
	char reason[160];

	if (!image) {
		snprintf(why, why_size, "cannot read guest image %s: %s", source, strerror(errno));
		return false;
	}
	if (options && !bxvm_patch_boot_options(image, size, options, reason, sizeof(reason))) {
		snprintf(why, why_size, "%s: %s", source, reason);
		free(image);
		return false;
	}
	bool ok = bxvm_write_file(copy, image, size);
	if (!ok)
		snprintf(why, why_size, "cannot write %s: %s", copy, strerror(errno));
	free(image);
	return ok;
}

/* ---- files ------------------------------------------------------------------------ */

char *bxvm_read_file(const char *path, size_t *size_out)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t size = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - size < 65536) {
			cap = cap ? cap * 2 : 131072;
			char *bigger = realloc(data, cap + 1);
			if (!bigger) {
				free(data);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			data = bigger;
		}
		size_t n = fread(data + size, 1, cap - size, f);
		size += n;
		if (n == 0)
			break;
	}
	bool failed = ferror(f);
	fclose(f);
	if (failed) {
		free(data);
		errno = EIO;
		return NULL;
	}
	data[size] = '\0';
	if (size_out)
		*size_out = size;
	return data;
}

bool bxvm_write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return false;
	bool ok = fwrite(data, 1, size, f) == size;
	return fclose(f) == 0 && ok;
}

bool bxvm_make_directories(const char *path)
{
	char *copy = bxkd_strdup(path);
	bool ok = true;

	for (char *p = copy + 1; ok; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;
			*p = '\0';
			if (mkdir(copy, 0777) != 0 && errno != EEXIST)
				ok = false;
			*p = saved;
			if (!saved)
				break;
		}
	}
	free(copy);
	return ok;
}

bool bxvm_sha256_file(const char *path, char hex[65])
{
	FILE *f = fopen(path, "rb");
	struct sha256_ctx ctx;
	uint8_t buffer[65536], digest[SHA256_DIGEST_SIZE];
	size_t n;

	if (!f)
		return false;
	sha256_init(&ctx);
	while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0)
		sha256_update(&ctx, n, buffer);
	bool ok = !ferror(f);
	fclose(f);
	sha256_digest(&ctx, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return ok;
}

char *bxvm_keep_session_image(const char *image, const char *session, char *why,
			      size_t why_size)
{
	char sha[65];
	const char *slash = strrchr(session, '/');
	int dir_length = slash ? (int)(slash - session) : 1;
	const char *dir = slash ? session : ".";

	if (!bxvm_sha256_file(image, sha)) {
		snprintf(why, why_size, "cannot read %s: %s", image, strerror(errno));
		return NULL;
	}
	char *kept = bxkd_asprintf("%.*s/images/%s.img", dir_length, dir, sha);
	char kept_sha[65];
	if (bxvm_sha256_file(kept, kept_sha) && !strcmp(kept_sha, sha))
		return kept;

	size_t length;
	char *data = bxvm_read_file(image, &length);
	*strrchr(kept, '/') = '\0';
	bool ok = data && bxvm_make_directories(kept);
	kept[strlen(kept)] = '/';
	ok = ok && bxvm_write_file(kept, data, length);
	if (!ok) {
		snprintf(why, why_size, "cannot keep the image as %s: %s", kept, strerror(errno));
		free(kept);
		kept = NULL;
	}
	free(data);
	return kept;
}

