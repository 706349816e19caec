# bochs-plugin/ -- the vmport device: a C core and the Bochs plugin around it.

# The core, also linked into the unit tests.
noinst_LTLIBRARIES += %reldir%/libvmport.la
%canon_reldir%_libvmport_la_SOURCES = \
	%reldir%/vmport.c \
	%reldir%/vmport.h \
	%reldir%/vmport_vcpu.h \
	%reldir%/vmport_internal.h \
	%reldir%/vmport_config.c \
	%reldir%/guestrpc.c \
	%reldir%/rpci.c \
	include/bxkd/backdoor.h

# Bochs finds it as libbx_vmport.so through LTDL_LIBRARY_PATH. -z now makes
# a symbol this Bochs does not export stop the plugin from loading instead of
# crashing the first time it is used.
pkglib_LTLIBRARIES += %reldir%/libbx_vmport.la
%canon_reldir%_libbx_vmport_la_SOURCES = \
	%reldir%/vmport_bochs.cc \
	%reldir%/bochs_abi.h
%canon_reldir%_libbx_vmport_la_CXXFLAGS = $(AM_CXXFLAGS) -fno-rtti -fno-exceptions
%canon_reldir%_libbx_vmport_la_LIBADD = %reldir%/libvmport.la
%canon_reldir%_libbx_vmport_la_LDFLAGS = -module -avoid-version -shared -Wl,-z,now

EXTRA_DIST += %reldir%/README.md
