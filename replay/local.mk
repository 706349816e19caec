# replay/ -- session files: the format, bxkd-replay, the Wireshark dissector.

# The session format (sans-I/O) and its files through libpcap. A libtool
# convenience library, so it is built with PIC: the Bochs plugin, a shared
# module, links it as well as the tools and the tests.
noinst_LTLIBRARIES += %reldir%/libsession.la
%canon_reldir%_libsession_la_SOURCES = %reldir%/session.c %reldir%/session.h \
	%reldir%/session_file.c %reldir%/session_file.h
%canon_reldir%_libsession_la_CFLAGS = $(AM_CFLAGS) $(PCAP_CFLAGS)
%canon_reldir%_libsession_la_LIBADD = $(PCAP_LIBS)

# Recording and replaying the crossings of a running device (sans-I/O: the
# plugin feeds it calls and gets records, or gets answers from records).
noinst_LTLIBRARIES += %reldir%/libreplay.la
%canon_reldir%_libreplay_la_SOURCES = %reldir%/recorder.c %reldir%/recorder.h \
	%reldir%/player.c %reldir%/player.h %reldir%/replay_describe.c %reldir%/replay_describe.h \
	%reldir%/vcpu_tap.c %reldir%/vcpu_tap.h
%canon_reldir%_libreplay_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pipe-bridge

# bxkd-replay: one command, a subcommand per tool (replay.h). The tools are
# a library so that fuzz/ runs dump and serve in-process.
noinst_LTLIBRARIES += %reldir%/libreplaytools.la
%canon_reldir%_libreplaytools_la_SOURCES = %reldir%/replay.h \
	%reldir%/dump.c %reldir%/verify.c %reldir%/serve.c %reldir%/upgrade.c \
	%reldir%/walkthrough.c %reldir%/walkthrough.h %reldir%/walkthrough_text.c
%canon_reldir%_libreplaytools_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pipe-bridge \
	-I$(top_srcdir)/bochs-run
bin_PROGRAMS += %reldir%/bxkd-replay
%canon_reldir%_bxkd_replay_SOURCES = %reldir%/bxkd-replay.c %reldir%/replay.h
# verify runs Bochs through bochs-run/; nothing here comes from launcher/.
%canon_reldir%_bxkd_replay_LDADD = %reldir%/libreplaytools.la %reldir%/libreplay.la %reldir%/libsession.la \
	pipe-bridge/libkdbridge.la \
	pipe-bridge/libkdtrace.la pipe-bridge/libkdcom.la bochs-run/libbochsrun.la \
	common/libbxkdcommon.la $(JSON_C_LIBS)

# The Wireshark dissector: tshark -X lua_script:$(pkgdatadir)/bxkd.lua
pkgdata_DATA += %reldir%/bxkd.lua

EXTRA_DIST += %reldir%/README.md %reldir%/bxkd.lua

# docs/kd-walkthrough.md is generated from the golden e2e session; the
# replay_tools suite fails when it differs from what this writes.
walkthrough: %reldir%/bxkd-replay$(EXEEXT)
	%reldir%/bxkd-replay$(EXEEXT) walkthrough $(top_srcdir)/tests/sessions/golden/e2e.pcap \
		>$(top_srcdir)/docs/kd-walkthrough.md.tmp
	mv $(top_srcdir)/docs/kd-walkthrough.md.tmp $(top_srcdir)/docs/kd-walkthrough.md
.PHONY: walkthrough
