# common/ -- small host-side pieces every host component shares: one way to
# log and report errors, allocation that cannot fail, child processes,
# option values and signals. Nothing here knows a protocol.

noinst_LTLIBRARIES += %reldir%/libbxkdcommon.la
%canon_reldir%_libbxkdcommon_la_SOURCES = %reldir%/log.c %reldir%/log.h %reldir%/alloc.c \
	%reldir%/alloc.h %reldir%/process.c %reldir%/process.h %reldir%/cli.c %reldir%/cli.h

EXTRA_DIST += %reldir%/README.md
