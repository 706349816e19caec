# pipe-bridge/ -- the KDCOM framing engine and the debugger endpoints.

# The engine: sans-I/O, also compiled into the guest (guest/local.mk).
noinst_LTLIBRARIES += %reldir%/libkdcom.la
%canon_reldir%_libkdcom_la_SOURCES = \
	%reldir%/kdcom.c \
	%reldir%/kdcom.h \
	include/bxkd/kdcom.h \
	include/bxkd/dbgkd.h

EXTRA_DIST += %reldir%/README.md
