/*
 * vmport_stop.h -- SIGTERM to Bochs while the device records or serves a
 * debugger: noticed, so that the device can end the recording with an END
 * that says so before the machine stops (replay/README.md, "Recording").
 *
 * Bochs dies of SIGTERM only through its display library (SDL2 turns it
 * into a shutdown request, which the CPU loop acts on), and not at all
 * while the device waits inside a backdoor call for the debugger: the
 * CPU loop does not run then. The device asks vmport_stop_requested()
 * before each backdoor call and, through the bridge's waiting hook, every
 * VMPORT_STOP_CHECK_MS while it waits; the handler passes the signal on
 * to whoever had it before, so a running machine stops as it always did.
 */
#ifndef BXKD_VMPORT_STOP_H
#define BXKD_VMPORT_STOP_H

#ifdef __cplusplus
extern "C" {
#endif

/* How often a wait for the debugger looks whether Bochs was told to stop. */
#define VMPORT_STOP_CHECK_MS 50

/* Catches SIGTERM from now on (once; later calls do nothing). */
void vmport_stop_watch(void);
/* Gives SIGTERM back to the handler it had before: the plugin's code goes
 * away when Bochs unloads it. */
void vmport_stop_unwatch(void);
/* The signal's name ("SIGTERM") once it came, else NULL. */
const char *vmport_stop_requested(void);

#ifdef __cplusplus
}
#endif

#endif /* BXKD_VMPORT_STOP_H */
