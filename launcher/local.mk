# launcher/ -- the bxkd command: bxkd run and bxkd demo. It runs Bochs
# through bochs-run/ and bxkd-tap, bxkd-dbg and bxkd-replay as programs.

bin_PROGRAMS += %reldir%/bxkd
%canon_reldir%_bxkd_SOURCES = %reldir%/bxkd.c %reldir%/bxkd.h %reldir%/run.c %reldir%/run.h \
	%reldir%/run_options.c %reldir%/run_endpoint.c %reldir%/status.c \
	%reldir%/demo.c %reldir%/demo.h %reldir%/demo_session.c %reldir%/demo_answers.c \
	%reldir%/bench.c %reldir%/bench.h %reldir%/bench_ceiling.c %reldir%/bench_report.c \
	%reldir%/bochs_debugger.c %reldir%/bochs_debugger.h
%canon_reldir%_bxkd_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/bochs-run -I$(top_srcdir)/pipe-bridge \
	-I$(top_srcdir)/guest/kernel
%canon_reldir%_bxkd_LDADD = bochs-run/libbochsrun.la pipe-bridge/libkdbridge.la guest/libkdguest.la \
	common/libbxkdcommon.la $(JSON_C_LIBS)

# What an installed bxkd needs besides the image guest/local.mk installs:
# the kernel's symbols and the demo's session script.
pkgdata_DATA += guest/kernel.symbols guest/kernel-x64.symbols tests/sessions/debug-session.bxkd \
	tests/sessions/debug-session-x64.bxkd

EXTRA_DIST += %reldir%/README.md
