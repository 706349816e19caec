# bochs-run/ -- running Bochs, once for everyone above it: the machine, one
# run as a child process, reading and classifying what it said, finding
# our files (bxvm.h, README.md).

noinst_LTLIBRARIES += %reldir%/libbochsrun.la
%canon_reldir%_libbochsrun_la_SOURCES = %reldir%/bxvm.h %reldir%/bxvm_machine.c \
	%reldir%/bxvm_report.c %reldir%/bxvm_run.c %reldir%/bxvm_locate.c include/bxkd/bootopt.h
# Where bxkd_locate looks: the build tree, and where `make install` puts things.
%canon_reldir%_libbochsrun_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DBXKD_BUILD_DIR='"$(abs_top_builddir)"' \
	-DBXKD_SOURCE_DIR='"$(abs_top_srcdir)"' \
	-DBXKD_PKGDATADIR='"$(pkgdatadir)"' \
	-DBXKD_PKGLIBDIR='"$(pkglibdir)"' \
	-DBXKD_BINDIR='"$(bindir)"'
%canon_reldir%_libbochsrun_la_CFLAGS = $(AM_CFLAGS) $(NETTLE_CFLAGS)
%canon_reldir%_libbochsrun_la_LIBADD = common/libbxkdcommon.la $(NETTLE_LIBS)

EXTRA_DIST += %reldir%/README.md
