/*
 * suites.h -- every Check suite the test runner (bxkd-tests.c) knows.
 */
#ifndef BXKD_TEST_SUITES_H
#define BXKD_TEST_SUITES_H

#include <check.h>

/* Unit suites: no Bochs, milliseconds. */
Suite *vmport_suite(void);
Suite *config_suite(void);
Suite *guestrpc_suite(void);
Suite *kdcom_suite(void);
Suite *kdcom_lossy_suite(void);
Suite *kdtrace_suite(void);
Suite *format_suite(void);
Suite *bxh_suite(void);
/* The KD transport: the device's host side against a fake vCPU, and the
 * guest module against the device core through a fake backdoor. */
Suite *kdvm_host_suite(void);
Suite *kdvm_guest_suite(void);
/* The serial transport (guest/kdser) on a fake 16550 with a KDCOM
 * debugger at the far end of its wire. */
Suite *kdser_suite(void);
/* The KD stub against a fake transport and a fake machine. */
Suite *kdstub_suite(void);
/* The guest module built as a Windows KD DLL: its exports and imports. */
Suite *kdvm_dll_suite(void);
/* The test kernel's PE loader over the KD DLL and damaged copies of it. */
Suite *pe_image_suite(void);
/* Session files (replay/session.h): records, the reader's refusals, the
 * writer. */
Suite *session_format_suite(void);
/* The protocol name table against the Wireshark dissector's copy. */
Suite *names_suite(void);
/* The KD link's live status: its file, its pace, its line on a screen. */
Suite *kdstatus_suite(void);

/* Integration suites: boot Debian's Bochs through the harness. */
Suite *boot_suite(void);
/* bxkd-tap as a process between two sockets; no Bochs, seconds. */
Suite *tap_suite(void);
/* bxkd-dbg against kd-fake-target (bridge + KD stub), and the bridge's
 * endpoints under misbehaving debuggers; no Bochs, seconds. */
Suite *kdtools_suite(void);
/* The fault matrix: bxkd-dbg against kd-win-target with seeded faults,
 * 160 sessions; no Bochs, well under a minute. */
Suite *kdfaults_suite(void);
Suite *bridge_suite(void);
/* The KD transport under Bochs: the guest module, the device and the
 * bridge, with a debugger on the socket. */
Suite *kdvm_suite(void);
/* Whole bxkd-dbg sessions against the debuggable kernel, on both
 * transports. */
Suite *session_suite(void);
/* The bxkd command: `bxkd run` and `bxkd demo` as processes, on both
 * transports, and the pieces they are built from. */
Suite *launcher_suite(void);
Suite *bochs_debugger_suite(void);
/* make install DESTDIR=... of this build, and the installed bxkd run and
 * demo on their own. */
Suite *install_suite(void);
/* Every command's --version and --help against its manual page (man/). */
Suite *manpages_suite(void);
/* bxkd-replay dump and Wireshark's tshark with replay/bxkd.lua on a
 * recorded KD exchange; no Bochs, seconds. */
Suite *replay_tools_suite(void);
/* bxkd-replay serve playing a golden session's target to bxkd-dbg, and
 * to debuggers that stray, leave or say nothing; no Bochs, seconds. */
Suite *replay_serve_suite(void);
Suite *golden_suite(void);
/* The device's KD fast path against the kernel's own answers, its session
 * replayed; `bxkd bench` at a tiny size. */
Suite *fastpath_suite(void);

#endif /* BXKD_TEST_SUITES_H */
