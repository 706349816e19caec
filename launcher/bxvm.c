/*
 * bxvm.c -- the Bochs machine bxkd runs (see bxvm.h).
 */
#include "config.h"

#include "bxvm.h"

#include <errno.h>
#include <inttypes.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "bxkd/bootopt.h"

static void out_of_memory(void)
{
	fputs("bxkd: out of memory\n", stderr);
	abort();
}

static char *xstrdup(const char *s)
{
	char *copy = strdup(s);

	if (!copy)
		out_of_memory();
	return copy;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *out;

	va_start(ap, fmt);
	if (vasprintf(&out, fmt, ap) < 0)
		out_of_memory();
	va_end(ap);
	return out;
}

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
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		out_of_memory();
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
		"display_library: sdl2\n"
		"mouse: enabled=0\n"
		"speaker: enabled=0\n"
		"port_e9_hack: enabled=1\n"
		"%s"
		"log: %s\n"
		"logprefix: %%t%%e%%d\n"
		"panic: action=fatal\n"
		"error: action=report\n"
		"info: action=report\n"
		"debug: action=ignore\n",
		m->time0, m->ips, m->load_plugin ? "plugin_ctrl: vmport=1\n" : "",
		m->log_path ? m->log_path : "/dev/null");
	if (m->extra_config && *m->extra_config) {
		size_t n = strlen(m->extra_config);
		fprintf(f, "%s%s", m->extra_config, m->extra_config[n - 1] == '\n' ? "" : "\n");
	}
	if (fclose(f) != 0)
		out_of_memory();
	return text;
}

bool bxvm_write_bochsrc(const struct bxvm_machine *m, const char *path)
{
	char *text = bxvm_bochsrc(m);
	bool ok = bxvm_write_file(path, text, strlen(text));

	free(text);
	return ok;
}

char **bxvm_environment(char *const parent[], const char *plugin_dir, enum bxvm_display display)
{
	size_t n = 0;

	while (parent[n])
		n++;
	char **env = calloc(n + 5, sizeof(*env));
	if (!env)
		out_of_memory();
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *e = parent[i];
		size_t len = strlen(e);
		if (starts_with(e, len, "LTDL_LIBRARY_PATH=") || starts_with(e, len, "SDL_AUDIODRIVER=") ||
		    starts_with(e, len, "TZ=") ||
		    (display == BXVM_HEADLESS && starts_with(e, len, "SDL_VIDEODRIVER=")))
			continue;
		env[k++] = xstrdup(e);
	}
	/* Our plugin first; Bochs' own plugins must stay reachable too. */
	env[k++] = xasprintf("LTDL_LIBRARY_PATH=%s:%s", plugin_dir, BOCHS_PLUGIN_DIR);
	if (display == BXVM_HEADLESS)
		env[k++] = xstrdup("SDL_VIDEODRIVER=dummy");
	env[k++] = xstrdup("SDL_AUDIODRIVER=dummy");
	/* Bochs sets the CMOS clock from time0 in local time: the same guest
	 * must see the same clock on every host. */
	env[k++] = xstrdup("TZ=UTC");
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

/* The block's offset; 0 occurrences or 2 and more say so in *count. */
static size_t find_block(const uint8_t *image, size_t size, unsigned *count)
{
	static const char marker[] = BXKD_BOOTOPT_MARKER;
	size_t found = 0;

	*count = 0;
	for (size_t at = 0; at + sizeof(struct bxkd_bootopt_block) <= size; at++) {
		if (image[at] != 'B' || memcmp(image + at, marker, sizeof(marker)))
			continue;
		if (++*count == 1)
			found = at;
		else
			break;
	}
	return found;
}

bool bxvm_has_boot_options(const uint8_t *image, size_t size)
{
	unsigned count;

	find_block(image, size, &count);
	return count == 1;
}

bool bxvm_patch_boot_options(uint8_t *image, size_t size, const char *options, char *why,
			     size_t why_size)
{
	size_t text_len = strlen(options);
	unsigned count;

	if (text_len >= BXKD_BOOTOPT_TEXT_SIZE) {
		snprintf(why, why_size, "boot options are %zu bytes; the block holds %d", text_len,
			 BXKD_BOOTOPT_TEXT_SIZE - 1);
		return false;
	}
	size_t at = find_block(image, size, &count);
	if (count > 1) {
		snprintf(why, why_size, "boot option marker occurs more than once");
		return false;
	}
	if (count == 0) {
		snprintf(why, why_size, "no boot option block (marker %s) in the image",
			 BXKD_BOOTOPT_MARKER);
		return false;
	}
	struct bxkd_bootopt_block *block = (struct bxkd_bootopt_block *)(image + at);
	memset(block->text, 0, sizeof(block->text));
	memcpy(block->text, options, text_len);
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
	char *copy = xstrdup(path);
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
	size_t size = (size_t)snprintf(NULL, 0, "%.*s/images/%s.img", dir_length, dir, sha) + 1;
	char *kept = malloc(size);
	if (!kept) {
		snprintf(why, why_size, "out of memory");
		return NULL;
	}
	snprintf(kept, size, "%.*s/images/%s.img", dir_length, dir, sha);
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

/* ---- Bochs' standard output ------------------------------------------------------- */

void bxvm_console_filter_init(struct bxvm_console_filter *f)
{
	memset(f, 0, sizeof(*f));
}

/* A debugger line such as "(0) [0x...] f000:fff0 ..." or "(0).[123] ...". */
static bool is_debugger_line(const char *line, size_t len)
{
	size_t i = 0;

	if (len < 4 || line[i++] != '(')
		return false;
	while (i < len && line[i] >= '0' && line[i] <= '9')
		i++;
	if (i == 1 || i + 2 > len || line[i] != ')')
		return false;
	i++;
	return (line[i] == ' ' || line[i] == '.') && line[i + 1] == '[';
}

bool bxvm_console_keep(struct bxvm_console_filter *f, const char *line, size_t len)
{
	/* Bochs prints its banner between two rules of '=' before anything else. */
	if (!f->started) {
		f->started = true;
		if (starts_with(line, len, "========"))
			f->banner_rules_left = 2;
	}
	if (f->banner_rules_left > 0) {
		if (starts_with(line, len, "========"))
			f->banner_rules_left--;
		return false;
	}
	return !starts_with(line, len, "Next at t=") && !starts_with(line, len, "<bochs:") &&
	       !is_debugger_line(line, len);
}

/* ---- the guest's console ------------------------------------------------------------ */

/* "<name> <pass|fail> <detail>"; anything else is malformed. */
static enum bxvm_console_kind parse_result(const char *line, size_t len,
					   struct bxvm_console_line *p)
{
	const char *end = line + len;
	const char *name_end = memchr(line, ' ', len);

	p->detail = line;
	p->detail_length = len;
	if (!name_end || name_end == line)
		return p->kind = BXVM_LINE_MALFORMED;
	const char *status = name_end + 1;
	const char *status_end = memchr(status, ' ', (size_t)(end - status));
	if (!status_end)
		status_end = end;
	size_t status_len = (size_t)(status_end - status);
	bool pass = status_len == 4 && !strncmp(status, "pass", 4);
	bool fail = status_len == 4 && !strncmp(status, "fail", 4);
	if (!pass && !fail)
		return p->kind = BXVM_LINE_MALFORMED;
	p->name = line;
	p->name_length = (size_t)(name_end - line);
	p->passed = pass;
	p->detail = status_end < end ? status_end + 1 : end;
	p->detail_length = (size_t)(end - p->detail);
	return p->kind = BXVM_LINE_RESULT;
}

/* "passed=<n> failed=<n>" and nothing after it. */
static bool parse_summary(const char *text, size_t len, struct bxvm_console_line *p)
{
	char copy[128];
	unsigned passed, failed;
	int consumed = 0;

	if (len >= sizeof(copy))
		return false;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (sscanf(copy, "passed=%u failed=%u%n", &passed, &failed, &consumed) != 2 ||
	    copy[consumed] != '\0')
		return false;
	p->summary_passed = passed;
	p->summary_failed = failed;
	return true;
}

enum bxvm_console_kind bxvm_parse_console_line(const char *line, size_t len,
					       struct bxvm_console_line *p)
{
	static const char result[] = "BXKD RESULT ", summary[] = "BXKD SUMMARY ",
			  fatal[] = "BXKD FATAL ";

	memset(p, 0, sizeof(*p));
	p->kind = BXVM_LINE_TEXT;
	if (starts_with(line, len, result))
		return parse_result(line + sizeof(result) - 1, len - (sizeof(result) - 1), p);
	if (starts_with(line, len, summary)) {
		if (parse_summary(line + sizeof(summary) - 1, len - (sizeof(summary) - 1), p))
			p->kind = BXVM_LINE_SUMMARY;
		return p->kind;
	}
	if (starts_with(line, len, fatal)) {
		p->reason = line + sizeof(fatal) - 1;
		p->reason_length = len - (sizeof(fatal) - 1);
		p->kind = BXVM_LINE_FATAL;
	}
	return p->kind;
}

/* ---- Bochs' log and exit message ---------------------------------------------------- */

static bool contains(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++) {
		if (s[i] == needle[0] && !memcmp(s + i, needle, n))
			return true;
	}
	return false;
}

void bxvm_parse_log_line(const char *line, size_t len, struct bxvm_log_line *p)
{
	uint64_t value = 0;
	size_t i = 0;

	memset(p, 0, sizeof(*p));
	while (i < len && line[i] >= '0' && line[i] <= '9' && i < 20)
		value = value * 10 + (uint64_t)(line[i++] - '0');
	if (i > 0) {
		p->has_tick = true;
		p->tick = value;
		while (i < len && line[i] >= '0' && line[i] <= '9')
			i++;
		if (i < len)
			p->level = line[i];
	}
	if (contains(line, len, ">>PANIC<<")) {
		p->panic = true;
		p->shutdown = contains(line, len, BXVM_SHUTDOWN_MESSAGE);
	}
}

char *bxvm_exit_message(const char *stderr_text, bool *shutdown)
{
	static const char exiting[] = "Bochs is exiting with the following message:\n";
	const char *message = strstr(stderr_text, exiting);

	*shutdown = false;
	if (!message)
		return NULL;
	message += sizeof(exiting) - 1;
	size_t len = strcspn(message, "\n");
	char *text = strndup(message, len);
	if (!text)
		out_of_memory();
	*shutdown = strstr(text, BXVM_SHUTDOWN_MESSAGE) != NULL;
	return text;
}

/* ---- classifying a run ------------------------------------------------------------------ */

const char *bxvm_outcome_name(enum bxvm_outcome outcome)
{
	switch (outcome) {
	case BXVM_PASSED:
		return "passed";
	case BXVM_TESTS_FAILED:
		return "guest tests failed";
	case BXVM_GUEST_FATAL:
		return "guest stopped on a fatal error";
	case BXVM_NO_SUMMARY:
		return "Bochs ended without the guest's summary and shutdown";
	case BXVM_BOCHS_PANIC:
		return "Bochs panicked";
	case BXVM_TIMEOUT:
		return "timed out";
	case BXVM_LAUNCH_FAILED:
		return "could not launch Bochs";
	}
	return "unknown outcome";
}

enum bxvm_outcome bxvm_classify(const struct bxvm_facts *f)
{
	if (f->fatal)
		return BXVM_GUEST_FATAL;
	if (f->panic)
		return BXVM_BOCHS_PANIC;
	if (!f->have_summary || !f->shutdown_requested)
		return BXVM_NO_SUMMARY;
	if (f->result_lines == 0 || f->failed_lines || f->summary_failed ||
	    f->summary_passed + f->summary_failed != f->result_lines)
		return BXVM_TESTS_FAILED;
	return BXVM_PASSED;
}

/* ---- explaining a run --------------------------------------------------------------------- */

unsigned bxvm_print_log_problems(FILE *out, const char *log, unsigned limit, const char *indent)
{
	unsigned shown = 0;

	while (log && *log && shown < limit) {
		size_t len = strcspn(log, "\n");
		struct bxvm_log_line parsed;
		bxvm_parse_log_line(log, len, &parsed);
		/* Panics and errors: the character after the tick is the level. */
		if (parsed.has_tick && (parsed.level == 'p' || parsed.level == 'e')) {
			fprintf(out, "%s%.*s\n", indent, (int)len, log);
			shown++;
		}
		log += len + (log[len] == '\n');
	}
	return shown;
}

void bxvm_print_tail(FILE *out, const char *text, unsigned lines)
{
	const char *start = text + strlen(text);
	unsigned seen = 0;

	while (start > text && seen <= lines) {
		start--;
		if (*start == '\n' && start[1] != '\0')
			seen++;
	}
	if (seen > lines)
		start++;
	fprintf(out, "%s", start);
	if (*start && start[strlen(start) - 1] != '\n')
		fputc('\n', out);
}
