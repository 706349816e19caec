# pipe-bridge/ -- the KDCOM framing engine and the debugger endpoints.

# The engine (sans-I/O) and the blocking KdSendPacket / KdReceivePacket
# over a byte channel (kdlink): freestanding C, built twice, for the host
# (libkdcom.la) and for the test guest's serial transport
# (pipe_bridge_guest_objects, which guest/local.mk links).
kdcom_sources = %reldir%/kdcom_engine.c %reldir%/kdlink.c
kdcom_headers = %reldir%/kdcom_engine.h %reldir%/kdlink.h include/bxkd/kdcom.h \
	include/bxkd/byteorder.h include/bxkd/dbgkd.h include/bxkd/kdport.h

noinst_LTLIBRARIES += %reldir%/libkdcom.la
%canon_reldir%_libkdcom_la_SOURCES = $(kdcom_sources) $(kdcom_headers)

pipe_bridge_guest_objects = $(kdcom_sources:.c=.guest.o)

%reldir%/%.guest.o: %reldir%/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(GUEST_CC) -I$(top_srcdir)/include -I$(top_srcdir)/%reldir% $(FREESTANDING_CFLAGS) \
		-MMD -MP -MF $(@:.o=.d) -c -o $@ $<

# ... and for the x86-64 test kernel.
pipe_bridge_guest64_objects = $(kdcom_sources:.c=.guest64.o)

%reldir%/%.guest64.o: %reldir%/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(GUEST_CC) -I$(top_srcdir)/include -I$(top_srcdir)/%reldir% $(FREESTANDING64_CFLAGS) \
		-MMD -MP -MF $(@:.o=.d) -c -o $@ $<

-include $(pipe_bridge_guest_objects:.o=.d) $(pipe_bridge_guest64_objects:.o=.d)
CLEANFILES += $(pipe_bridge_guest_objects) $(pipe_bridge_guest_objects:.o=.d) \
	$(pipe_bridge_guest64_objects) $(pipe_bridge_guest64_objects:.o=.d)

EXTRA_DIST += %reldir%/README.md

# The host side: endpoints and the blocking target bridge the plugin calls.
noinst_LTLIBRARIES += %reldir%/libkdbridge.la
%canon_reldir%_libkdbridge_la_SOURCES = %reldir%/kdep.c %reldir%/kdep.h \
	%reldir%/kdbridge.c %reldir%/kdbridge.h %reldir%/kdclient.c %reldir%/kdclient.h \
	%reldir%/kdstatus.c %reldir%/kdstatus.h \
	include/bxkd/kdtransport.h
%canon_reldir%_libkdbridge_la_LIBADD = %reldir%/libkdcom.la

# The debugger side for people, scripts and tests.
bin_PROGRAMS += %reldir%/bxkd-dbg
%canon_reldir%_bxkd_dbg_SOURCES = %reldir%/bxkd-dbg.c %reldir%/dbg_session.h \
	%reldir%/dbg_commands.c %reldir%/dbg_registers.c
%canon_reldir%_bxkd_dbg_LDADD = %reldir%/libkdbridge.la %reldir%/libkdtrace.la \
	%reldir%/libkdcom.la common/libbxkdcommon.la $(JSON_C_LIBS)

# The KDCOM/KD decoder: sans-I/O like the engine, but it formats text with
# the C library, so it stays out of the freestanding libkdcom.la.
noinst_LTLIBRARIES += %reldir%/libkdtrace.la
%canon_reldir%_libkdtrace_la_SOURCES = %reldir%/kdtrace.c %reldir%/kdtrace.h \
	%reldir%/kdtrace_line.c %reldir%/kdtrace_line.h %reldir%/kdtrace_message.c
%canon_reldir%_libkdtrace_la_LIBADD = $(JSON_C_LIBS)
# It uses libkdcom.la but does not carry it: the Bochs plugin links both
# through libkdbridge.la, and one copy of the engine is enough.

# bxkd-tap: relays a KD link unchanged and prints what passes.
bin_PROGRAMS += %reldir%/bxkd-tap
%canon_reldir%_bxkd_tap_SOURCES = %reldir%/bxkd-tap.c
%canon_reldir%_bxkd_tap_LDADD = %reldir%/libkdbridge.la %reldir%/libkdtrace.la %reldir%/libkdcom.la \
	common/libbxkdcommon.la $(JSON_C_LIBS)
