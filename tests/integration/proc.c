/*
 * proc.c -- see proc.h.
 */
#include "config.h"

#include "proc.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "bxvm.h"
#include "process.h"

bool child_start(struct child *c, char *const argv[], const char *stdout_path,
		 const char *stderr_path)
{
	struct bxkd_process p;
	bool started = bxkd_process_start_to_files(&p, argv, stdout_path, stderr_path);

	c->pid = started ? p.pid : 0;
	return started;
}

int child_wait(struct child *c, unsigned timeout_ms)
{
	struct bxkd_process p = { .pid = c->pid };

	if (!bxkd_process_wait(&p, (int)timeout_ms)) {
		kill(p.pid, SIGKILL);
		bxkd_process_wait(&p, -1);
		c->pid = 0;
		return -1;
	}
	c->pid = 0;
	return p.status;
}

void child_stop(struct child *c)
{
	struct bxkd_process p = { .pid = c->pid };

	bxkd_process_stop(&p, 1000);
	c->pid = 0;
}

char *read_text_file(const char *path)
{
	return bxvm_read_file(path, NULL);
}

int run_capture(char *const argv[], unsigned timeout_ms, char **out)
{
	char path[] = "/tmp/bxkd-capture-XXXXXX";
	int fd = mkstemp(path);
	struct child c;

	if (fd < 0)
		return -1;
	close(fd);
	if (!child_start(&c, argv, path, NULL))
		return -1;
	int status = child_wait(&c, timeout_ms);
	*out = read_text_file(path);
	if (!*out)
		*out = bxkd_strdup("");
	unlink(path);
	return status;
}

bool wait_for_file(const char *path, unsigned timeout_ms)
{
	struct stat st;

	for (unsigned waited = 0; waited <= timeout_ms; waited += 10) {
		if (stat(path, &st) == 0 && st.st_size > 0)
			return true;
		bxkd_sleep_ms(10);
	}
	return false;
}

char *socket_dir(void)
{
	char *dir = bxkd_strdup("/tmp/bxkd-XXXXXX");

	if (!mkdtemp(dir)) {
		free(dir);
		return NULL;
	}
	return dir;
}

void remove_socket_dir(char *dir)
{
	/* For a look after a failure: BXKD_KEEP_TEST_DIRS=1 make check */
	if (getenv("BXKD_KEEP_TEST_DIRS")) {
		fprintf(stderr, "kept %s\n", dir);
		free(dir);
		return;
	}
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
}

unsigned free_tcp_port(void)
{
	return bxkd_free_port("127.0.0.1");
}
