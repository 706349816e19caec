/*
 * proc.c -- see proc.h.
 */
#include "config.h"

#include "proc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(unsigned ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

bool child_start(struct child *c, char *const argv[], const char *stdout_path,
		 const char *stderr_path)
{
	fflush(NULL);
	c->pid = fork();
	if (c->pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(stdout_path ? stdout_path : "/dev/null",
			       O_WRONLY | O_CREAT | O_TRUNC, 0666);
		int err = open(stderr_path ? stderr_path : "/dev/null",
			       O_WRONLY | O_CREAT | O_TRUNC, 0666);
		if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(err, 2) < 0)
			_exit(126);
		/* Nothing of the test's own leaks in: a pty master held open
		 * by the child would keep its terminal from ever hanging up. */
		close_range(3, ~0u, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	return c->pid > 0;
}

int child_wait(struct child *c, unsigned timeout_ms)
{
	int status;

	for (unsigned waited = 0;; waited += 10) {
		pid_t done = waitpid(c->pid, &status, WNOHANG);
		if (done == c->pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (waited >= timeout_ms) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &status, 0);
			return -1;
		}
		sleep_ms(10);
	}
}

void child_stop(struct child *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGTERM);
	child_wait(c, 1000);
	c->pid = 0;
}

char *read_text_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t size = 0;

	if (!f)
		return NULL;
	FILE *mem = open_memstream(&text, &size);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	fclose(f);
	fclose(mem);
	return text;
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
		*out = strdup("");
	unlink(path);
	return status;
}

bool wait_for_file(const char *path, unsigned timeout_ms)
{
	struct stat st;

	for (unsigned waited = 0; waited <= timeout_ms; waited += 10) {
		if (stat(path, &st) == 0 && st.st_size > 0)
			return true;
		sleep_ms(10);
	}
	return false;
}

char *socket_dir(void)
{
	char *dir = strdup("/tmp/bxkd-XXXXXX");

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
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unsigned port = 0;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}
