/*
 * verify.c -- bxkd-replay verify: re-runs a recorded session under Bochs
 * with no debugger, the device answering from the recording, and reports
 * whether the guest did exactly what it did when it was recorded.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bxkd.h"
#include "replay.h"
#include "session_file.h"

#define DEFAULT_TIMEOUT_SECONDS 300

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
		"Exit status: 0 when the replay matched to the end, 1 at a divergence (the\n"
		"report, also in --report FILE, says where and how) or when it could not run,\n"
		"2 on usage errors.\n");
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

	if (!session_file_read(v->session, &v->file, why, why_size))
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

static int verify_run(struct verify *v)
{
	char why[1024], sha[65] = "", templ[] = "/tmp/bxkd-verify.XXXXXX";
	char *image = NULL;

	if (!read_manifest(v, why, sizeof(why))) {
		fprintf(stderr, "bxkd-replay verify: %s\n", why);
		return BXKD_EXIT_FAILED;
	}
	image = v->image_option ? bxkd_strdup(v->image_option)
				: find_image(v->session, v->manifest_sha, v->manifest_image);
	if (!image || !bxvm_sha256_file(image, sha)) {
		fprintf(stderr,
			"bxkd-replay verify: %s: the recorded image (%s, SHA-256 %s) is not next to "
			"the session; give it with --image\n",
			image ? image : v->session, v->manifest_image, v->manifest_sha);
		free(image);
		return BXKD_EXIT_FAILED;
	}
	if (strcmp(sha, v->manifest_sha)) {
		if (!v->image_option) {
			fprintf(stderr,
				"bxkd-replay verify: %s has SHA-256 %s, the session was recorded on %s\n",
				image, sha, v->manifest_sha);
			free(image);
			return BXKD_EXIT_FAILED;
		}
		fprintf(stderr,
			"bxkd-replay verify: %s is not the recorded image (SHA-256 %s, recorded %s); "
			"replaying on it anyway\n",
			image, sha, v->manifest_sha);
	}

	const char *workdir = v->workdir_option;
	if (!workdir && !(workdir = mkdtemp(templ))) {
		fprintf(stderr, "bxkd-replay verify: cannot make a work directory: %s\n",
			strerror(errno));
		free(image);
		return BXKD_EXIT_FAILED;
	}
	bxvm_make_directories(workdir);
	char *guest = bxkd_asprintf("%s/guest.img", workdir);
	char *bochsrc = bxkd_asprintf("%s/bochsrc", workdir);
	char *log = bxkd_asprintf("%s/bochs.log", workdir);
	char *report = v->report_option ? bxkd_strdup(v->report_option)
					 : bxkd_asprintf("%s/replay-report.txt", workdir);
	char session_abs[PATH_MAX];
	char *plugin_dir = bxkd_locate(BXKD_PLUGIN_DIR, NULL, 0);
	int status = BXKD_EXIT_FAILED;

	remove(report);
	if (!realpath(v->session, session_abs))
		snprintf(session_abs, sizeof(session_abs), "%s", v->session);
	char *config = bxkd_asprintf("vmport: %s, replay=%s, replay_report=%s, session_image=%s\n",
				     v->vmport, session_abs, report, guest);
	struct bxvm_machine m;
	bxvm_machine_init(&m);
	m.written_by = "bxkd-replay verify";
	m.image = guest;
	m.megs = (unsigned)strtoul(v->megs, NULL, 10);
	m.ips = (unsigned)strtoul(v->ips, NULL, 10);
	m.time0 = (uint32_t)strtoul(v->time0, NULL, 10);
	m.log_path = log;
	m.extra_config = config;

	/* Bochs writes to its floppy: never to the recorded image. */
	if (!plugin_dir)
		snprintf(why, sizeof(why), "the vmport plugin is not built or installed");
	else if (copy_file(image, guest, why, sizeof(why)) && bxvm_write_bochsrc(&m, bochsrc)) {
		struct bxkd_vm vm;
		struct bxkd_vm_config c = { .bochsrc = bochsrc, .workdir = workdir,
					    .plugin_dir = plugin_dir,
					    .display = BXVM_HEADLESS };
		double started = bxkd_now();
		if (!v->quiet)
			printf("bxkd-replay: replaying %s (%zu records) on %s\n", v->session,
			       v->file.count, image);
		if (bxkd_vm_start(&vm, &c, why, sizeof(why))) {
			while (bxkd_vm_pump(&vm, NULL, NULL)) {
				if (bxkd_now() - started > v->timeout_seconds) {
					bxkd_vm_stop(&vm);
					snprintf(why, sizeof(why), "the replay took over %u s; stopped",
						 v->timeout_seconds);
					break;
				}
			}
			bxkd_vm_finish(&vm);
			double seconds = bxkd_now() - started;
			size_t size;
			char *verdict = bxvm_read_file(report, &size);
			if (verdict && !strncmp(verdict, "replay matched", 14)) {
				status = BXKD_EXIT_PASSED;
				if (!v->quiet)
					printf("bxkd-replay: %.*s in %.2f s wall\n",
					       (int)strcspn(verdict, "\n"), verdict, seconds);
			} else if (verdict) {
				fputs(verdict, stdout);
				printf("bxkd-replay: diverged (report: %s; Bochs ran %.2f s; work "
				       "directory %s)\n",
				       report, seconds, workdir);
			} else {
				printf("bxkd-replay: the replay did not finish (%s; work directory %s)\n",
				       bxvm_outcome_name(vm.outcome), workdir);
				bxkd_vm_explain(&vm, stdout);
			}
			free(verdict);
			bxkd_vm_free(&vm);
			why[0] = '\0';
		}
	}
	if (why[0])
		fprintf(stderr, "bxkd-replay verify: %s\n", why);
	if (status == BXKD_EXIT_PASSED && !v->workdir_option) {
		remove(guest);
		remove(bochsrc);
		remove(log);
		if (!v->report_option)
			remove(report);
		char *rest[] = { "bochs.stderr", "continue.rc", NULL };
		for (int i = 0; rest[i]; i++) {
			char *path = bxkd_asprintf("%s/%s", workdir, rest[i]);
			remove(path);
			free(path);
		}
		rmdir(workdir);
	}
	free(config);
	free(plugin_dir);
	free(report);
	free(log);
	free(bochsrc);
	free(guest);
	free(image);
	return status;
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
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "i:r:w:t:qh", options, NULL)) != -1) {
		switch (opt) {
		case 'i':
			v.image_option = optarg;
			break;
		case 'r':
			v.report_option = optarg;
			break;
		case 'w':
			v.workdir_option = optarg;
			break;
		case 't': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (!*optarg || *end || n == 0 || n > 86400) {
				fprintf(stderr, "bxkd-replay verify: --timeout wants 1..86400\n");
				return BXKD_EXIT_USAGE;
			}
			v.timeout_seconds = (unsigned)n;
			break;
		}
		case 'q':
			v.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return BXKD_EXIT_PASSED;
		default:
			usage(stderr);
			return BXKD_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return BXKD_EXIT_USAGE;
	}
	v.session = argv[optind];
	int status = verify_run(&v);
	session_file_free(&v.file);
	return status;
}
