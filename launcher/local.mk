# launcher/ -- the bxkd command, and the Bochs machine it shares with the
# test harness.

# The machine and the reading of a run (bxvm.h): used by bxkd and by the
# harness (tests/harness/bxh.c).
noinst_LTLIBRARIES += %reldir%/libbxvm.la
%canon_reldir%_libbxvm_la_SOURCES = \
	%reldir%/bxvm.c \
	%reldir%/bxvm.h \
	include/bxkd/bootopt.h
%canon_reldir%_libbxvm_la_CFLAGS = $(AM_CFLAGS) $(NETTLE_CFLAGS)
%canon_reldir%_libbxvm_la_LIBADD = $(NETTLE_LIBS)

# bxkd run / bxkd demo. It finds the plugin, the guest image, the tools and
# the session script in the build tree when it runs from there, and where
# `make install` puts them otherwise.
# Finding our files, child processes and one Bochs run: shared with
# bxkd-replay (replay/verify.c).
noinst_LTLIBRARIES += %reldir%/libbxkdrun.la
%canon_reldir%_libbxkdrun_la_SOURCES = \
	%reldir%/bxkd.h \
	%reldir%/vm.c \
	%reldir%/proc.c \
	%reldir%/util.c
%canon_reldir%_libbxkdrun_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pipe-bridge \
	-DBXKD_BUILD_DIR='"$(abs_top_builddir)"' \
	-DBXKD_SOURCE_DIR='"$(abs_top_srcdir)"' \
	-DBXKD_PKGDATADIR='"$(pkgdatadir)"' \
	-DBXKD_PKGLIBDIR='"$(pkglibdir)"' \
	-DBXKD_BINDIR='"$(bindir)"'
%canon_reldir%_libbxkdrun_la_LIBADD = %reldir%/libbxvm.la

bin_PROGRAMS += %reldir%/bxkd
%canon_reldir%_bxkd_SOURCES = \
	%reldir%/bxkd.c \
	%reldir%/run.c \
	%reldir%/demo.c
%canon_reldir%_bxkd_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pipe-bridge
%canon_reldir%_bxkd_LDADD = %reldir%/libbxkdrun.la pipe-bridge/libkdbridge.la \
	common/libbxkdcommon.la

# What an installed bxkd needs besides the image guest/local.mk installs:
# the kernel's symbols and the demo's session script.
pkgdata_DATA += guest/kernel.symbols tests/sessions/debug-session.bxkd

EXTRA_DIST += %reldir%/README.md
