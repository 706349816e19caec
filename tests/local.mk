# tests/ -- the Bochs harness and the one Check runner with every suite.

# The harness: what a Bochs test adds to bochs-run/ (bxh.h).
noinst_LTLIBRARIES += %reldir%/libbxh.la
%canon_reldir%_libbxh_la_SOURCES = \
	%reldir%/harness/bxh.c \
	%reldir%/harness/bxh.h
# Libtool leaves the built plugin in its objdir, .libs on every platform we
# support; Bochs looks there first.
%canon_reldir%_libbxh_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/bochs-run \
	-DBXKD_PLUGIN_BUILD_DIR='"$(abs_top_builddir)/bochs-plugin/.libs"'
%canon_reldir%_libbxh_la_LIBADD = bochs-run/libbochsrun.la common/libbxkdcommon.la

noinst_PROGRAMS += %reldir%/harness/bxkd-run
%canon_reldir%_harness_bxkd_run_SOURCES = %reldir%/harness/bxkd-run.c
%canon_reldir%_harness_bxkd_run_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/bochs-run
%canon_reldir%_harness_bxkd_run_LDADD = %reldir%/libbxh.la

# The fakes the suites drive the device and the KD stub with (a vCPU in
# memory, an in-memory debugger behind the kd host port, a stopped
# machine), also linked by fuzz/; the program says how a broken contract is
# reported (fake_contract.h).
noinst_LTLIBRARIES += %reldir%/libtestfakes.la
%canon_reldir%_libtestfakes_la_SOURCES = %reldir%/unit/fake_contract.h \
	%reldir%/unit/fake_vcpu.c %reldir%/unit/fake_vcpu.h %reldir%/unit/kd_test_peer.c \
	%reldir%/unit/kd_test_peer.h %reldir%/unit/fake_machine.c %reldir%/unit/fake_machine.h
%canon_reldir%_libtestfakes_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/bochs-plugin \
	-I$(top_srcdir)/guest/kdstub
%canon_reldir%_libtestfakes_la_LIBADD = bochs-plugin/libvmport.la

check_PROGRAMS += %reldir%/bxkd-tests
%canon_reldir%_bxkd_tests_SOURCES = \
	%reldir%/bxkd-tests.c \
	%reldir%/suites.h \
	%reldir%/harness/testcases.c \
	%reldir%/harness/testcases.h \
	%reldir%/unit/kd_test_bytes.c \
	%reldir%/unit/kd_test_bytes.h \
	%reldir%/unit/check_vmport.c \
	%reldir%/unit/check_config.c \
	%reldir%/unit/check_guestrpc.c \
	%reldir%/unit/check_kdcom.c \
	%reldir%/unit/check_kdcom_lossy.c \
	%reldir%/unit/check_kdtrace.c \
	%reldir%/unit/kdcom_conversation.c \
	%reldir%/unit/kdcom_conversation.h \
	%reldir%/unit/check_format.c \
	%reldir%/unit/check_bxh.c \
	%reldir%/unit/check_kdvm_host.c \
	%reldir%/unit/check_kdvm_guest.c \
	%reldir%/unit/check_kdser.c \
	%reldir%/unit/check_kdstub.c \
	%reldir%/integration/check_kdvm_dll.c \
	%reldir%/unit/check_pe_image.c \
	%reldir%/unit/pe_damage.c \
	%reldir%/unit/pe_damage.h \
	%reldir%/unit/check_session_format.c \
	%reldir%/unit/check_names.c \
	%reldir%/unit/check_kdstatus.c \
	%reldir%/unit/session_builder.c \
	%reldir%/unit/session_builder.h \
	%reldir%/integration/check_replay_tools.c \
	%reldir%/integration/check_replay_serve.c \
	%reldir%/integration/check_kdvm.c \
	%reldir%/integration/check_session.c \
	%reldir%/integration/check_launcher.c \
	%reldir%/integration/check_bochs_debugger.c \
	%reldir%/integration/check_install.c \
	%reldir%/integration/check_manpages.c \
	%reldir%/integration/check_golden.c \
	%reldir%/integration/check_fastpath.c \
	%reldir%/unit/json_check.c \
	%reldir%/unit/json_check.h \
	%reldir%/integration/check_boot.c \
	%reldir%/integration/check_tap.c \
	%reldir%/integration/check_kdtools.c \
	%reldir%/integration/check_kdfaults.c \
	%reldir%/integration/check_bridge.c \
	%reldir%/integration/proc.c \
	%reldir%/integration/proc.h \
	%reldir%/integration/kdpeer.c \
	%reldir%/integration/kdpeer.h
%canon_reldir%_bxkd_tests_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/bochs-plugin -I$(top_srcdir)/pipe-bridge -I$(top_srcdir)/%reldir%/harness \
	-I$(top_srcdir)/%reldir%/unit -I$(top_srcdir)/%reldir% -I$(top_srcdir)/guest/kernel \
	-I$(top_srcdir)/guest/kdvm -I$(top_srcdir)/guest/kdstub -I$(top_srcdir)/guest/kdser \
	-I$(top_srcdir) \
	-DBXKD_GUEST_IMAGE='"$(abs_top_builddir)/$(GUEST_IMAGE)"' \
	-DBXKD_GUEST_SYMBOLS='"$(abs_top_builddir)/guest/kernel.symbols"' \
	-DBXKD_GUEST64_IMAGE='"$(abs_top_builddir)/$(GUEST64_IMAGE)"' \
	-DBXKD_GUEST64_SYMBOLS='"$(abs_top_builddir)/guest/kernel-x64.symbols"' \
	-DBXKD_SOURCE_DIR='"$(abs_top_srcdir)"' \
	-DBXKD_TEST_WORK_DIR='"$(abs_top_builddir)/%reldir%/work"' \
	-DBXKD_TAP_PROGRAM='"$(abs_top_builddir)/pipe-bridge/bxkd-tap$(EXEEXT)"' \
	-DBXKD_DBG='"$(abs_top_builddir)/pipe-bridge/bxkd-dbg$(EXEEXT)"' \
	-DBXKD_FAKE_TARGET='"$(abs_top_builddir)/%reldir%/tools/kd-fake-target$(EXEEXT)"' \
	-DBXKD_WIN_TARGET='"$(abs_top_builddir)/%reldir%/tools/kd-win-target$(EXEEXT)"' \
	-I$(top_srcdir)/%reldir%/tools \
	-DBXKD_LAUNCHER='"$(abs_top_builddir)/launcher/bxkd$(EXEEXT)"' -I$(top_srcdir)/bochs-run \
	-DBXKD_INSTALL_BINDIR='"$(bindir)"' -DBXKD_INSTALL_PKGDATADIR='"$(pkgdatadir)"' \
	-DBXKD_INSTALL_PKGLIBDIR='"$(pkglibdir)"' \
	-DBXKD_GROFF='"$(GROFF)"'
%canon_reldir%_bxkd_tests_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
%canon_reldir%_bxkd_tests_LDADD = %reldir%/libbxh.la %reldir%/libtestfakes.la bochs-plugin/libvmport.la guest/libkdguest.la \
	pipe-bridge/libkdtrace.la pipe-bridge/libkdbridge.la pipe-bridge/libkdcom.la \
	common/libbxkdcommon.la $(CHECK_LIBS) \
	$(JSON_C_LIBS)
# Session files: the format's library, bxkd-replay and tshark with the
# dissector (replay_tools).
%canon_reldir%_bxkd_tests_CPPFLAGS += -I$(top_srcdir)/replay $(PCAP_CFLAGS) \
	-DBXKD_REPLAY='"$(abs_top_builddir)/replay/bxkd-replay$(EXEEXT)"' \
	-DBXKD_TSHARK='"$(TSHARK)"' \
	-DBXKD_DISSECTOR='"$(abs_top_srcdir)/replay/bxkd.lua"' \
	-DBXKD_BUILD_DIR='"$(abs_top_builddir)"'
%canon_reldir%_bxkd_tests_LDADD += replay/libreplay.la replay/libsession.la $(PCAP_LIBS)
# Suites that run these as processes.
EXTRA_%canon_reldir%_bxkd_tests_DEPENDENCIES = pipe-bridge/bxkd-tap$(EXEEXT) \
	pipe-bridge/bxkd-dbg$(EXEEXT) %reldir%/tools/kd-fake-target$(EXEEXT) \
	%reldir%/tools/kd-win-target$(EXEEXT)
# The launcher suite runs bxkd itself.
EXTRA_%canon_reldir%_bxkd_tests_DEPENDENCIES += launcher/bxkd$(EXEEXT)
# The replay_tools and replay_serve suites run bxkd-replay.
EXTRA_%canon_reldir%_bxkd_tests_DEPENDENCIES += replay/bxkd-replay$(EXEEXT)
# The kdvm_dll suite reads the Windows KD DLLs back with mingw's objdump
# (KDVM_DLLS is empty when configured --without-windows-dll).
EXTRA_%canon_reldir%_bxkd_tests_DEPENDENCIES += $(KDVM_DLLS)
%canon_reldir%_bxkd_tests_CPPFLAGS += \
	-DBXKD_MINGW32_OBJDUMP='"$(MINGW32_OBJDUMP)"' -DBXKD_MINGW64_OBJDUMP='"$(MINGW64_OBJDUMP)"' \
	-DBXKD_KDVM_DLL_X86='"$(abs_top_builddir)/guest/kdvm/kdbxkd-x86.dll"' \
	-DBXKD_KDVM_DLL_X64='"$(abs_top_builddir)/guest/kdvm/kdbxkd-x64.dll"'

# `make check` runs the one runner in the foreground so that its last line
# is Check's summary. The Bochs tests need the plugin and the guest image.
check-local: $(pkglib_LTLIBRARIES) $(GUEST_IMAGE) guest/kernel.symbols
	%reldir%/bxkd-tests

clean-local: clean-test-work
clean-test-work:
	-rm -rf %reldir%/work demo.work

.PHONY: clean-test-work

EXTRA_DIST += %reldir%/README.md

# Not part of `make check`: measures the KDCOM engine over a faulty channel.
noinst_PROGRAMS += %reldir%/tools/kdcom-soak
%canon_reldir%_tools_kdcom_soak_SOURCES = %reldir%/tools/kdcom-soak.c \
	%reldir%/unit/kdcom_conversation.c %reldir%/unit/kdcom_conversation.h
%canon_reldir%_tools_kdcom_soak_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pipe-bridge \
	-I$(top_srcdir)/%reldir%/unit
%canon_reldir%_tools_kdcom_soak_LDADD = pipe-bridge/libkdcom.la

# The liveness soak (tests/README.md): with the defaults 2000 conversations
# at 3000 ppm per byte, one fault per frame: 1.12 million packets, among
# them the RESENDs damaged into RESETs that once deadlocked the link.
SOAK_SEEDS = 2000
SOAK_PPM = 3000
soak: %reldir%/tools/kdcom-soak$(EXEEXT)
	%reldir%/tools/kdcom-soak$(EXEEXT) --seeds $(SOAK_SEEDS) --ppm $(SOAK_PPM)

.PHONY: soak

# A KD target without Bochs: the bridge and the KD stub over a simulated
# machine, for bxkd-dbg and socket tests.
noinst_PROGRAMS += %reldir%/tools/kd-fake-target
%canon_reldir%_tools_kd_fake_target_SOURCES = %reldir%/tools/kd-fake-target.c
%canon_reldir%_tools_kd_fake_target_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pipe-bridge \
	-I$(top_srcdir)/guest/kdstub
%canon_reldir%_tools_kd_fake_target_LDADD = guest/libkdguest.la pipe-bridge/libkdbridge.la \
	common/libbxkdcommon.la
EXTRA_DIST += %reldir%/sessions/debug-session.bxkd %reldir%/sessions/debug-session-x64.bxkd

# A KD target that behaves like Windows' kdcom/kd64, x86 or x64, with
# seeded faults on its line: bxkd-dbg's recovery and the kdfaults matrix.
noinst_PROGRAMS += %reldir%/tools/kd-win-target
%canon_reldir%_tools_kd_win_target_SOURCES = %reldir%/tools/kd-win-target.c \
	%reldir%/tools/kdwin_faults.c %reldir%/tools/kdwin_faults.h
%canon_reldir%_tools_kd_win_target_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pipe-bridge \
	$(JSON_C_CFLAGS)
%canon_reldir%_tools_kd_win_target_LDADD = pipe-bridge/libkdbridge.la pipe-bridge/libkdtrace.la \
	common/libbxkdcommon.la \
	$(JSON_C_LIBS)

# The golden sessions (tests/sessions/golden/README.md): verified by the
# golden suite; `make record-golden` records them again from the build's
# test kernel, replacing the kept images. Commit what changes.
GOLDEN_SESSIONS = e2e breakin reconnect bulk e2e-dll e2e-x64 e2e-dll-x64
EXTRA_DIST += %reldir%/sessions/record-golden %reldir%/sessions/golden
# Their version 1 originals, which bxkd-replay upgrade turned into them.
EXTRA_DIST += %reldir%/sessions/v1
record-golden: all
	rm -f $(srcdir)/%reldir%/sessions/golden/images/*
	for name in $(GOLDEN_SESSIONS); do \
	  $(srcdir)/%reldir%/sessions/record-golden $(abs_top_builddir) $$name \
	    $(srcdir)/%reldir%/sessions/golden/$$name.pcap || exit 1; \
	done
.PHONY: record-golden
