# bochs-plugin/ -- the vmport device: a C core and the Bochs plugin around it.

# The core, also linked into the unit tests.
noinst_LTLIBRARIES += %reldir%/libvmport.la
%canon_reldir%_libvmport_la_SOURCES = %reldir%/vmport.c %reldir%/vmport.h \
	%reldir%/vmport_internal.h %reldir%/vmport_config.c %reldir%/vmport_guestrpc.c \
	%reldir%/rpci.c %reldir%/vmport_kd.c %reldir%/vmport_kd_fast.c include/bxkd/backdoor.h include/bxkd/guestcpu.h \
	include/bxkd/kdport.h include/bxkd/kdvm.h

# Bochs finds it as libbx_vmport.so through LTDL_LIBRARY_PATH. -z now makes
# a symbol this Bochs does not export stop the plugin from loading instead of
# crashing the first time it is used. Only the entry point is exported, so
# nothing of ours can clash with a symbol of Bochs or another plugin.
pkglib_LTLIBRARIES += %reldir%/libbx_vmport.la
%canon_reldir%_libbx_vmport_la_SOURCES = %reldir%/vmport_bochs.cc %reldir%/bochs_abi.h \
	%reldir%/vmport_session.c %reldir%/vmport_session.h %reldir%/vmport_stop.c \
	%reldir%/vmport_stop.h
%canon_reldir%_libbx_vmport_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pipe-bridge -I$(srcdir)/%reldir% \
	-I$(top_srcdir)/replay
%canon_reldir%_libbx_vmport_la_CFLAGS = $(AM_CFLAGS) $(NETTLE_CFLAGS)
%canon_reldir%_libbx_vmport_la_CXXFLAGS = $(AM_CXXFLAGS) -fno-rtti -fno-exceptions
%canon_reldir%_libbx_vmport_la_LIBADD = %reldir%/libvmport.la pipe-bridge/libkdbridge.la \
	replay/libreplay.la replay/libsession.la pipe-bridge/libkdtrace.la common/libbxkdcommon.la \
	$(NETTLE_LIBS)
%canon_reldir%_libbx_vmport_la_LDFLAGS = -module -avoid-version -shared -Wl,-z,now \
	-Wl,--version-script=$(top_srcdir)/%reldir%/plugin.map
EXTRA_%canon_reldir%_libbx_vmport_la_DEPENDENCIES = %reldir%/plugin.map

EXTRA_DIST += %reldir%/README.md %reldir%/plugin.map
