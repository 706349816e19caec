/*
 * proc.c -- child processes of the bxkd command: Bochs, bxkd-tap, bxkd-dbg.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bxkd.h"

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

bool bxkd_proc_start(struct bxkd_proc *p, char *const argv[], char *const env[], int in, int out,
		     int err, unsigned flags)
{
	bool own_group = flags & BXKD_PROC_OWN_GROUP;

	memset(p, 0, sizeof(*p));
	p->own_group = own_group;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		/* Dispositions we changed are not the child's business. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, flags & BXKD_PROC_IGNORE_SIGPIPE ? SIG_IGN : SIG_DFL);
		if (own_group)
			setpgid(0, 0);
		/* Move the descriptors above 2 first, so placing one cannot
		 * overwrite another still to be placed. */
		int fds[3] = { in, out, err };
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
		/* Nothing of ours leaks in: a pipe end held by a child would
		 * keep another child from seeing end of file. */
		close_range(3, ~0u, 0);
		execve(argv[0], argv, env ? env : environ);
		_exit(127);
	}
	/* Both sides set the group, so it exists before either goes on. */
	if (own_group)
		setpgid(pid, pid);
	p->pid = pid;
	return true;
}

static void reaped(struct bxkd_proc *p, int status)
{
	p->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	p->pid = 0;
}

bool bxkd_proc_done(struct bxkd_proc *p)
{
	int status;

	if (p->pid <= 0)
		return true;
	pid_t done = waitpid(p->pid, &status, WNOHANG);
	if (done == p->pid) {
		reaped(p, status);
		return true;
	}
	return false;
}

bool bxkd_proc_wait(struct bxkd_proc *p, int timeout_ms)
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
		if (bxkd_proc_done(p))
			return true;
		if (waited >= timeout_ms)
			return false;
		nanosleep(&(struct timespec){ .tv_nsec = 10000000L }, NULL);
	}
}

void bxkd_proc_stop(struct bxkd_proc *p, int grace_ms)
{
	if (p->pid <= 0)
		return;
	if (p->own_group)
		kill(-p->pid, SIGTERM);
	kill(p->pid, SIGTERM);
	if (bxkd_proc_wait(p, grace_ms))
		return;
	if (p->own_group)
		kill(-p->pid, SIGKILL);
	kill(p->pid, SIGKILL);
	bxkd_proc_wait(p, -1);
}
