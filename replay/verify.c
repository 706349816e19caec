/*
 * verify.c -- bxkd-replay verify: re-runs a recorded session under Bochs
 * with no debugger, the device answering from the recording, and reports
 * whether the guest did exactly what it did when it was recorded.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "bxvm.h"
#include "cli.h"
#include "log.h"
#include "replay.h"
#include "session_file.h"

#define DEFAULT_TIMEOUT_SECONDS 300
/* In the work directory. */
#define GUEST_NAME "guest.img"
#define REPORT_NAME "replay-report.txt"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bxkd-replay verify SESSION [--image IMAGE] [--report FILE]\n"
		"                          [--workdir DIR] [--timeout SECONDS] [--quiet]\n"
		"Boots the session's guest image under Bochs with the vmport plugin replaying\n"
		"SESSION in the debugger's place, and checks every backdoor call the guest makes\n"
		"(tick, registers, guest memory) and every KD port call against the recording.\n"
		"\n"
		"The image is IMAGE, or images/<sha256>.img or the recorded file name next to\n"
		"SESSION; without --image it must be the one recorded (its SHA-256 is checked).\n"
		"A session cut off (no END record, or a last record only partly written) or\n"
		"interrupted (its END says interrupted=) is checked up to the cut.\n"
		"Exit status: 0 when the replay matched to the end, 1 at a divergence (the\n"
		"report, also in --report FILE, says where and how) or when it could not run,\n"
		"2 on usage errors, 3 when a session cut off or interrupted matched every\n"
		"record up to the cut (\"matched N records up to the cut\").\n");
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The image the session was recorded on, next to it: images/<sha>.img
 * (how tests/sessions keeps them) or the recorded file name. */
static char *find_image(const char *session, const char *sha, const char *name)
{
	char *copy = bxkd_strdup(session), *slash = strrchr(copy, '/');
	const char *dir = slash ? (*slash = '\0', copy) : ".";
	char *candidates[2] = { bxkd_asprintf("%s/images/%s.img", dir, sha),
				name[0] ? bxkd_asprintf("%s/%s", dir, name) : NULL };
	char *found = NULL;

	for (int i = 0; i < 2; i++) {
		if (!found && candidates[i] && exists(candidates[i]))
			found = candidates[i];
		else
			free(candidates[i]);
	}
	free(copy);
	return found;
}

static bool copy_file(const char *from, const char *to, char *why, size_t why_size)
{
	size_t size;
	char *data = bxvm_read_file(from, &size);
	bool ok = data && bxvm_write_file(to, data, size);

	if (!ok)
		snprintf(why, why_size, "cannot copy %s to %s: %s", from, to, strerror(errno));
	free(data);
	return ok;
}

struct verify {
	const char *session, *image_option, *report_option, *workdir_option;
	unsigned timeout_seconds;
	bool quiet;
	struct session_file file;
	char manifest_sha[80], manifest_image[256], vmport[1024];
	char ips[32], megs[32], time0[32];
};

static bool read_manifest(struct verify *v, char *why, size_t why_size)
{
	static const struct {
		const char *key;
		size_t offset, size;
	} keys[] = {
		{ "image_sha256", offsetof(struct verify, manifest_sha), 80 },
		{ "image", offsetof(struct verify, manifest_image), 256 },
		{ "vmport", offsetof(struct verify, vmport), 1024 },
		{ "bochs_ips", offsetof(struct verify, ips), 32 },
		{ "bochs_megs", offsetof(struct verify, megs), 32 },
		{ "bochs_time0", offsetof(struct verify, time0), 32 },
	};

	if (!session_file_read_cut(v->session, &v->file, why, why_size))
		return false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		if (!session_file_manifest(&v->file, keys[i].key, (char *)v + keys[i].offset,
					   keys[i].size)) {
			snprintf(why, why_size, "%s: the manifest lacks %s", v->session, keys[i].key);
			return false;
		}
	}
	return true;
}

/* The image to replay on: --image, or the recorded one next to the
 * session, which must be the one recorded. NULL, said, if there is none. */
static char *choose_image(const struct verify *v)
{
	char sha[65] = "";
	char *image = v->image_option ? bxkd_strdup(v->image_option)
				      : find_image(v->session, v->manifest_sha, v->manifest_image);

	if (!image || !bxvm_sha256_file(image, sha)) {
		bxkd_warn("%s: the recorded image (%s, SHA-256 %s) is not next to the session; give "
			  "it with --image",
			  image ? image : v->session, v->manifest_image, v->manifest_sha);
		free(image);
		return NULL;
	}
	if (!strcmp(sha, v->manifest_sha))
		return image;
	if (!v->image_option) {
		bxkd_warn("%s has SHA-256 %s, the session was recorded on %s", image, sha,
			  v->manifest_sha);
		free(image);
		return NULL;
	}
	bxkd_warn("%s is not the recorded image (SHA-256 %s, recorded %s); replaying on it anyway",
		  image, sha, v->manifest_sha);
	return image;
}

/* What one replay uses, all in its work directory; the report is copied
 * to --report FILE afterwards. */
struct replay_files {
	const char *workdir;
	char *guest, *bochsrc, *report, *session_link;
};

/* The recorded machine, with the device replaying the session and
 * writing its report: f->bochsrc, or false. The files are named as Bochs
 * sees them in the work directory, on a line of their own: a bochsrc line
 * must stay short however deep the session lies (bxvm_workdir_name). */
static bool write_machine(const struct verify *v, struct replay_files *f, char *why,
			  size_t why_size)
{
	const char *slash = strrchr(v->session, '/');
	struct bxvm_machine m;

	char *session = bxvm_workdir_name(f->workdir, v->session, slash ? slash + 1 : v->session,
					  why, why_size);
	if (!session)
		return false;
	if (strcmp(session, v->session))
		f->session_link = bxkd_asprintf("%s/%s", f->workdir, session);
	char *config = bxkd_asprintf("vmport: %s\nvmport: replay=%s, replay_report=%s, "
				     "session_image=%s\n",
				     v->vmport, session, REPORT_NAME, GUEST_NAME);
	free(session);
	bxvm_machine_init(&m);
	m.written_by = "bxkd-replay verify";
	m.image = f->guest;
	m.megs = (unsigned)strtoul(v->megs, NULL, 10);
	m.ips = (unsigned)strtoul(v->ips, NULL, 10);
	m.time0 = (uint32_t)strtoul(v->time0, NULL, 10);
	m.extra_config = config;
	f->bochsrc = bxvm_write_machine(&m, f->workdir, why, why_size);
	free(config);
	return f->bochsrc != NULL;
}

/* The device's report says whether the replay matched. */
static int verdict(const struct verify *v, const struct replay_files *f, const struct bxvm *vm,
		   double seconds)
{
	char *report = bxvm_read_file(f->report, NULL);
	int status = REPLAY_EXIT_FAILED;

	if (report && !strncmp(report, "replay matched", 14)) {
		status = strstr(report, " up to the cut") ? REPLAY_EXIT_MATCHED_TO_CUT
							  : REPLAY_EXIT_DONE;
		if (!v->quiet)
			printf("bxkd-replay: %.*s in %.2f s wall\n", (int)strcspn(report, "\n"), report,
			       seconds);
	} else if (report) {
		fputs(report, stdout);
		printf("bxkd-replay: diverged (report: %s; Bochs ran %.2f s; work directory %s)\n",
		       v->report_option ? v->report_option : f->report, seconds, f->workdir);
	} else {
		printf("bxkd-replay: the replay did not finish (%s; work directory %s)\n",
		       bxvm_outcome_name(vm->outcome), f->workdir);
		bxvm_explain(vm, stdout);
	}
	free(report);
	return status;
}

/* Boots the copy of the image under Bochs until it ends or the timeout. */
static int replay(const struct verify *v, struct replay_files *f, const char *image,
		  char *why, size_t why_size)
{
	char *plugin_dir = bxkd_locate(BXKD_FILE_PLUGIN_DIR, NULL, 0);
	int status = REPLAY_EXIT_FAILED;
	struct bxvm vm;

	bxvm_init(&vm);
	/* Bochs writes to its floppy: never to the recorded image. */
	if (!plugin_dir) {
		bxkd_error(why, why_size, "the vmport plugin is not built or installed");
	} else if (copy_file(image, f->guest, why, why_size) && write_machine(v, f, why, why_size)) {
		struct bxvm_config c = { .bochsrc = f->bochsrc, .workdir = f->workdir,
					 .plugin_dir = plugin_dir, .display = BXVM_HEADLESS,
					 .stop_grace_ms = 2000 };
		double started = bxkd_now();
		if (!v->quiet)
			printf("bxkd-replay: replaying %s (%zu records) on %s\n", v->session,
			       v->file.count, image);
		if (bxvm_start(&vm, &c, why, why_size)) {
			bxvm_watch(&vm, started + v->timeout_seconds, NULL, NULL, NULL);
			bxvm_finish(&vm);
			status = verdict(v, f, &vm, bxkd_now() - started);
			if (vm.timed_out)
				bxkd_error(why, why_size, "the replay took over %u s; stopped",
					   v->timeout_seconds);
			else
				why[0] = '\0';
		}
	}
	bxvm_free(&vm);
	free(plugin_dir);
	return status;
}

/* A work directory made for a replay that matched goes again. */
static void remove_work(const struct replay_files *f)
{
	static const char *const made[] = { "bochsrc", "bochs.log", "bochs.stderr", "continue.rc" };

	remove(f->guest);
	remove(f->report);
	if (f->session_link)
		remove(f->session_link);
	for (size_t i = 0; i < sizeof(made) / sizeof(*made); i++) {
		char *path = bxkd_asprintf("%s/%s", f->workdir, made[i]);
		remove(path);
		free(path);
	}
	rmdir(f->workdir);
}

static int verify_run(struct verify *v)
{
	char why[1024] = "", templ[] = "/tmp/bxkd-verify.XXXXXX";
	struct replay_files f = { .workdir = v->workdir_option };

	if (!read_manifest(v, why, sizeof(why))) {
		bxkd_warn("%s", why);
		return REPLAY_EXIT_FAILED;
	}
	char *image = choose_image(v);
	if (!image)
		return REPLAY_EXIT_FAILED;
	if (!f.workdir && !(f.workdir = mkdtemp(templ))) {
		bxkd_warn("cannot make a work directory: %s", strerror(errno));
		free(image);
		return REPLAY_EXIT_FAILED;
	}
	bxvm_make_directories(f.workdir);
	f.guest = bxkd_asprintf("%s/%s", f.workdir, GUEST_NAME);
	f.report = bxkd_asprintf("%s/%s", f.workdir, REPORT_NAME);
	remove(f.report);
	if (v->report_option)
		remove(v->report_option);
	int status = replay(v, &f, image, why, sizeof(why));
	if (why[0])
		bxkd_warn("%s", why);
	if (v->report_option && !copy_file(f.report, v->report_option, why, sizeof(why)) &&
	    exists(f.report))
		bxkd_warn("%s", why);
	if ((status == REPLAY_EXIT_DONE || status == REPLAY_EXIT_MATCHED_TO_CUT) &&
	    !v->workdir_option)
		remove_work(&f);
	free(f.session_link);
	free(f.report);
	free(f.bochsrc);
	free(f.guest);
	free(image);
	return status;
}

static bool take_option(void *ctx, int key, char *value)
{
	struct verify *v = ctx;
	unsigned long n;

	switch (key) {
	case 'i':
		v->image_option = value;
		break;
	case 'r':
		v->report_option = value;
		break;
	case 'w':
		v->workdir_option = value;
		break;
	case 't':
		if (!bxkd_parse_count(value, 86400, &n)) {
			bxkd_warn("--timeout wants 1..86400");
			return false;
		}
		v->timeout_seconds = (unsigned)n;
		break;
	case 'q':
		v->quiet = true;
		break;
	}
	return true;
}

int replay_verify(int argc, char **argv)
{
	static const struct option options[] = {
		{ "image", required_argument, NULL, 'i' },  { "report", required_argument, NULL, 'r' },
		{ "workdir", required_argument, NULL, 'w' }, { "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },	     { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verify v = { .timeout_seconds = DEFAULT_TIMEOUT_SECONDS };
	int status = bxkd_cli_parse(argc, argv, options, 1, 1, take_option, &v, usage);

	if (status != BXKD_CLI_GO_ON)
		return status;
	v.session = argv[optind];
	status = verify_run(&v);
	session_file_free(&v.file);
	return status;
}
