/*
 * vmport_stop.c -- noticing SIGTERM in the device (vmport_stop.h).
 */
#include "config.h"

#include "vmport_stop.h"

#include <signal.h>
#include <stdbool.h>
#include <string.h>

static volatile sig_atomic_t stop_signal;
static struct sigaction before;
static bool watching;

static void on_stop_signal(int sig, siginfo_t *info, void *context)
{
	stop_signal = sig;
	/* SDL2's handler (Bochs' display) turns it into a shutdown request,
	 * which is how a running machine stops. */
	if ((before.sa_flags & SA_SIGINFO) && before.sa_sigaction)
		before.sa_sigaction(sig, info, context);
	else if (!(before.sa_flags & SA_SIGINFO) && before.sa_handler != SIG_DFL &&
		 before.sa_handler != SIG_IGN)
		before.sa_handler(sig);
}

void vmport_stop_watch(void)
{
	struct sigaction sa;

	if (watching)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_stop_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	watching = sigaction(SIGTERM, &sa, &before) == 0;
}

void vmport_stop_unwatch(void)
{
	if (!watching)
		return;
	sigaction(SIGTERM, &before, NULL);
	watching = false;
}

const char *vmport_stop_requested(void)
{
	return stop_signal == SIGTERM ? "SIGTERM" : NULL;
}
