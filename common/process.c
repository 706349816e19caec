/*
 * process.c -- child processes (process.h).
 */
#include "config.h"

#include "process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* In the child: `fd` becomes `target` (or /dev/null, or stays). */
static bool place(int fd, int target)
{
	if (fd == BXKD_FD_INHERIT)
		return true;
	if (fd == BXKD_FD_NULL) {
		fd = open("/dev/null", target == 0 ? O_RDONLY : O_WRONLY);
		if (fd < 0)
			return false;
	}
	return fd == target || dup2(fd, target) == target;
}

static _Noreturn void become(char *const argv[], const struct bxkd_spawn *how)
{
	if (how->flags & BXKD_PROCESS_DEFAULT_SIGNALS) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
	}
	if (how->flags & BXKD_PROCESS_IGNORE_SIGPIPE)
		signal(SIGPIPE, SIG_IGN);
	if (how->flags & BXKD_PROCESS_OWN_GROUP)
		setpgid(0, 0);
	/* Move the descriptors above 2 first, so placing one cannot
	 * overwrite another still to be placed. */
	int fds[3] = { how->in, how->out, how->err };
	for (int i = 0; i < 3; i++) {
		if (fds[i] >= 0 && fds[i] <= 2) {
			fds[i] = fcntl(fds[i], F_DUPFD, 3);
			if (fds[i] < 0)
				_exit(126);
		}
	}
	for (int i = 0; i < 3; i++) {
		if (!place(fds[i], i))
			_exit(126);
	}
	if (how->directory && chdir(how->directory) != 0)
		_exit(126);
	close_range(3, ~0u, 0);
	execve(argv[0], argv, how->environment ? how->environment : environ);
	_exit(127);
}

bool bxkd_process_start(struct bxkd_process *p, char *const argv[], const struct bxkd_spawn *how)
{
	bool own_group = how->flags & BXKD_PROCESS_OWN_GROUP;

	memset(p, 0, sizeof(*p));
	p->own_group = own_group;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0)
		become(argv, how);
	/* Both sides set the group, so it exists before either goes on. */
	if (own_group)
		setpgid(pid, pid);
	p->pid = pid;
	return true;
}

static int open_output(const char *path)
{
	return path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666) : BXKD_FD_NULL;
}

bool bxkd_process_start_to_files(struct bxkd_process *p, char *const argv[],
				 const char *stdout_path, const char *stderr_path)
{
	struct bxkd_spawn how = { .in = BXKD_FD_NULL };
	bool ok;

	how.out = open_output(stdout_path);
	how.err = open_output(stderr_path);
	ok = (how.out != -1 || !stdout_path) && (how.err != -1 || !stderr_path) &&
	     bxkd_process_start(p, argv, &how);
	if (how.out >= 0)
		close(how.out);
	if (how.err >= 0)
		close(how.err);
	return ok;
}

static void reaped(struct bxkd_process *p, int status)
{
	p->signalled = WIFSIGNALED(status);
	p->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	p->pid = 0;
}

bool bxkd_process_done(struct bxkd_process *p)
{
	int status;

	if (p->pid <= 0)
		return true;
	if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
		reaped(p, status);
		return true;
	}
	return false;
}

bool bxkd_process_wait(struct bxkd_process *p, int timeout_ms)
{
	int status;

	if (p->pid <= 0)
		return true;
	if (timeout_ms < 0) {
		while (waitpid(p->pid, &status, 0) < 0) {
			if (errno != EINTR)
				return false;
		}
		reaped(p, status);
		return true;
	}
	for (int waited = 0;; waited += 10) {
		if (bxkd_process_done(p))
			return true;
		if (waited >= timeout_ms)
			return false;
		bxkd_sleep_ms(10);
	}
}

void bxkd_process_stop(struct bxkd_process *p, int grace_ms)
{
	if (p->pid <= 0)
		return;
	if (p->own_group)
		kill(-p->pid, SIGTERM);
	kill(p->pid, SIGTERM);
	if (bxkd_process_wait(p, grace_ms))
		return;
	if (p->own_group)
		kill(-p->pid, SIGKILL);
	kill(p->pid, SIGKILL);
	bxkd_process_wait(p, -1);
}

double bxkd_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

uint64_t bxkd_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

void bxkd_sleep_ms(unsigned ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

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

/* ---- output, line by line ------------------------------------------------------ */

static void emit(const char *text, size_t length, bxkd_line_fn line, void *ctx)
{
	if (length && text[length - 1] == '\r')
		length--;
	line(ctx, text, length);
}

void bxkd_lines_feed(struct bxkd_lines *l, const char *bytes, size_t length, bxkd_line_fn line,
		     void *ctx)
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

void bxkd_lines_flush(struct bxkd_lines *l, bxkd_line_fn line, void *ctx)
{
	if (l->partial.length)
		emit(l->partial.data, l->partial.length, line, ctx);
	bxkd_text_free(&l->partial);
}

bool bxkd_lines_read(int *fd, struct bxkd_lines *l, bxkd_line_fn line, void *ctx)
{
	char buf[16384];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		bxkd_lines_flush(l, line, ctx);
		close(*fd);
		*fd = -1;
		return false;
	}
	bxkd_lines_feed(l, buf, (size_t)n, line, ctx);
	return true;
}
