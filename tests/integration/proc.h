/*
 * proc.h -- child processes for integration tests, always with a bound on
 * how long anything may take. Built on common/process.h, which the tools
 * use to start theirs.
 */
#ifndef BXKD_TEST_PROC_H
#define BXKD_TEST_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct child {
	pid_t pid; /* 0 once it has ended */
};

/* Starts argv[0] with stdin from /dev/null and stdout/stderr into files
 * (NULL: /dev/null). */
bool child_start(struct child *c, char *const argv[], const char *stdout_path,
		 const char *stderr_path);
/* Exit status, or -1 if it had to be killed after timeout_ms. */
int child_wait(struct child *c, unsigned timeout_ms);
/* SIGTERM, then SIGKILL if it does not go within a second. */
void child_stop(struct child *c);

/* Runs a program to completion; *out gets its standard output (caller
 * frees). Returns the exit status, -1 on timeout. */
int run_capture(char *const argv[], unsigned timeout_ms, char **out);

bool wait_for_file(const char *path, unsigned timeout_ms);

/* A loopback TCP port nobody listens on now (for a server a test starts:
 * Bochs' COM1, say). */
unsigned free_tcp_port(void);
char *read_text_file(const char *path); /* NULL if unreadable; caller frees */

/* A fresh short directory for sockets (sun_path is 108 bytes), removed
 * afterwards unless BXKD_KEEP_TEST_DIRS is set. */
char *socket_dir(void);
void remove_socket_dir(char *dir);

#endif /* BXKD_TEST_PROC_H */
