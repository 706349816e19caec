# fuzz/ -- libFuzzer harnesses for every input a guest, a debugger or a file
# controls (fuzz/README.md). Built only when configured --enable-fuzzing;
# `make fuzz FUZZ_SECONDS=N` runs each for N seconds on its seed corpus.

FUZZ_TARGETS = backdoor guestrpc kdvm_host kdcom_target kdcom_debugger kdtrace kdstub \
	kdclient session dump player serve vmport_option

fuzz_common_sources = %reldir%/fuzz_input.c %reldir%/fuzz_input.h
fuzz_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/%reldir% -I$(top_srcdir)/bochs-plugin \
	-I$(top_srcdir)/pipe-bridge -I$(top_srcdir)/replay -I$(top_srcdir)/guest/kdstub \
	-I$(top_srcdir)/tests/unit
fuzz_device_libs = tests/libtestfakes.la bochs-plugin/libvmport.la common/libbxkdcommon.la

if BUILD_FUZZERS
noinst_PROGRAMS += %reldir%/fuzz_backdoor %reldir%/fuzz_guestrpc %reldir%/fuzz_kdvm_host \
	%reldir%/fuzz_kdcom_target %reldir%/fuzz_kdcom_debugger %reldir%/fuzz_kdtrace \
	%reldir%/fuzz_kdstub %reldir%/fuzz_kdclient %reldir%/fuzz_session %reldir%/fuzz_dump \
	%reldir%/fuzz_player %reldir%/fuzz_serve %reldir%/fuzz_vmport_option
endif

%canon_reldir%_fuzz_backdoor_SOURCES = %reldir%/fuzz_backdoor.c $(fuzz_common_sources)
%canon_reldir%_fuzz_backdoor_CPPFLAGS = $(fuzz_cppflags)
%canon_reldir%_fuzz_backdoor_LDFLAGS = $(FUZZ_LDFLAGS)
%canon_reldir%_fuzz_backdoor_LDADD = $(fuzz_device_libs)

%canon_reldir%_fuzz_guestrpc_SOURCES = %reldir%/fuzz_guestrpc.c $(fuzz_common_sources)
%canon_reldir%_fuzz_guestrpc_CPPFLAGS = $(fuzz_cppflags)
%canon_reldir%_fuzz_guestrpc_LDFLAGS = $(FUZZ_LDFLAGS)
%canon_reldir%_fuzz_guestrpc_LDADD = $(fuzz_device_libs)

%canon_reldir%_fuzz_kdvm_host_SOURCES = %reldir%/fuzz_kdvm_host.c $(fuzz_common_sources)
%canon_reldir%_fuzz_kdvm_host_CPPFLAGS = $(fuzz_cppflags)
%canon_reldir%_fuzz_kdvm_host_LDFLAGS = $(FUZZ_LDFLAGS)
%canon_reldir%_fuzz_kdvm_host_LDADD = $(fuzz_device_libs)

# One harness, one program per role.
%canon_reldir%_fuzz_kdcom_target_SOURCES = %reldir%/fuzz_kdcom.c $(fuzz_common_sources)
%canon_reldir%_fuzz_kdcom_target_CPPFLAGS = $(fuzz_cppflags) -DFUZZ_KDCOM_ROLE=KDCOM_TARGET
%canon_reldir%_fuzz_kdcom_target_LDFLAGS = $(FUZZ_LDFLAGS)
%canon_reldir%_fuzz_kdcom_target_LDADD = pipe-bridge/libkdtrace.la pipe-bridge/libkdcom.la

%canon_reldir%_fuzz_kdcom_debugger_SOURCES = %reldir%/fuzz_kdcom.c $(fuzz_common_sources)
%canon_reldir%_fuzz_kdcom_debugger_CPPFLAGS = $(fuzz_cppflags) -DFUZZ_KDCOM_ROLE=KDCOM_DEBUGGER
%canon_reldir%_fuzz_kdcom_debugger_LDFLAGS = $(FUZZ_LDFLAGS)
%canon_reldir%_fuzz_kdcom_debugger_LDADD = pipe-bridge/libkdtrace.la pipe-bridge/libkdcom.la

%canon_reldir%_fuzz_kdtrace_SOURCES = %reldir%/fuzz_kdtrace.c $(fuzz_common_sources)
%canon_reldir%_fuzz_kdtrace_CPPFLAGS = $(fuzz_cppflags)
%canon_reldir%_fuzz_kdtrace_LDFLAGS = $(FUZZ_LDFLAGS)
%canon_reldir%_fuzz_kdtrace_LDADD = pipe-bridge/libkdtrace.la pipe-bridge/libkdcom.la

%canon_reldir%_fuzz_kdstub_SOURCES = %reldir%/fuzz_kdstub.c $(fuzz_common_sources)
%canon_reldir%_fuzz_kdstub_CPPFLAGS = $(fuzz_cppflags)
%canon_reldir%_fuzz_kdstub_LDFLAGS = $(FUZZ_LDFLAGS)
%canon_reldir%_fuzz_kdstub_LDADD = tests/libtestfakes.la guest/libkdguest.la

%canon_reldir%_fuzz_kdclient_SOURCES = %reldir%/fuzz_kdclient.c $(fuzz_common_sources)
%canon_reldir%_fuzz_kdclient_CPPFLAGS = $(fuzz_cppflags)
%canon_reldir%_fuzz_kdclient_LDFLAGS = $(FUZZ_LDFLAGS) -pthread
%canon_reldir%_fuzz_kdclient_LDADD = pipe-bridge/libkdbridge.la pipe-bridge/libkdcom.la \
	common/libbxkdcommon.la

fuzz_replay_libs = replay/libreplaytools.la replay/libsession.la pipe-bridge/libkdbridge.la \
	pipe-bridge/libkdtrace.la pipe-bridge/libkdcom.la bochs-run/libbochsrun.la \
	common/libbxkdcommon.la $(PCAP_LIBS) $(JSON_C_LIBS)

%canon_reldir%_fuzz_session_SOURCES = %reldir%/fuzz_session.c $(fuzz_common_sources)
%canon_reldir%_fuzz_session_CPPFLAGS = $(fuzz_cppflags)
%canon_reldir%_fuzz_session_LDFLAGS = $(FUZZ_LDFLAGS)
%canon_reldir%_fuzz_session_LDADD = replay/libsession.la common/libbxkdcommon.la $(PCAP_LIBS)

%canon_reldir%_fuzz_dump_SOURCES = %reldir%/fuzz_dump.c $(fuzz_common_sources)
%canon_reldir%_fuzz_dump_CPPFLAGS = $(fuzz_cppflags)
%canon_reldir%_fuzz_dump_LDFLAGS = $(FUZZ_LDFLAGS)
%canon_reldir%_fuzz_dump_LDADD = $(fuzz_replay_libs)

%canon_reldir%_fuzz_player_SOURCES = %reldir%/fuzz_player.c %reldir%/vmport_line.c \
	%reldir%/vmport_line.h $(fuzz_common_sources)
%canon_reldir%_fuzz_player_CPPFLAGS = $(fuzz_cppflags)
%canon_reldir%_fuzz_player_LDFLAGS = $(FUZZ_LDFLAGS)
%canon_reldir%_fuzz_player_LDADD = replay/libreplay.la $(fuzz_device_libs) $(fuzz_replay_libs)

%canon_reldir%_fuzz_serve_SOURCES = %reldir%/fuzz_serve.c $(fuzz_common_sources)
%canon_reldir%_fuzz_serve_CPPFLAGS = $(fuzz_cppflags) \
	-DBXKD_FUZZ_SESSION='"$(abs_top_srcdir)/tests/sessions/golden/e2e.pcap"'
%canon_reldir%_fuzz_serve_LDFLAGS = $(FUZZ_LDFLAGS) -pthread
%canon_reldir%_fuzz_serve_LDADD = $(fuzz_replay_libs)

%canon_reldir%_fuzz_vmport_option_SOURCES = %reldir%/fuzz_vmport_option.c %reldir%/vmport_line.c \
	%reldir%/vmport_line.h $(fuzz_common_sources)
%canon_reldir%_fuzz_vmport_option_CPPFLAGS = $(fuzz_cppflags)
%canon_reldir%_fuzz_vmport_option_LDFLAGS = $(FUZZ_LDFLAGS)
%canon_reldir%_fuzz_vmport_option_LDADD = bochs-plugin/libvmport.la pipe-bridge/libkdbridge.la \
	pipe-bridge/libkdcom.la common/libbxkdcommon.la

# Each target for FUZZ_SECONDS on a copy of its committed seeds (the copy
# grows; the seeds stay as committed), one after the other, each log in
# fuzz/logs/. Fails at the first target that finds something.
FUZZ_SECONDS = 10
FUZZ_FLAGS =
if BUILD_FUZZERS
fuzz: $(FUZZ_TARGETS:%=%reldir%/fuzz_%$(EXEEXT))
	@$(top_srcdir)/%reldir%/run-fuzzers --seconds '$(FUZZ_SECONDS)' --build %reldir% \
	  --seeds $(top_srcdir)/%reldir%/seeds --flags '$(FUZZ_FLAGS)' $(FUZZ_TARGETS)
else
fuzz:
	@echo "make fuzz: the harnesses are built only when configured --enable-fuzzing (clang)" >&2
	@exit 1
endif
.PHONY: fuzz

EXTRA_DIST += %reldir%/README.md %reldir%/run-fuzzers %reldir%/make-seeds %reldir%/seeds
clean-local: clean-fuzz
clean-fuzz:
	-rm -rf %reldir%/corpus %reldir%/logs
.PHONY: clean-fuzz
