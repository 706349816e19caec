# guest/kdvm/ -- the kdvm transport (kdvm_transport.c) built as a Windows KD transport
# DLL, one for 32-bit and one for 64-bit Windows, with the mingw-w64 cross
# compilers configure found (MINGW32_CC, MINGW64_CC). The test guest and the
# host tests compile kdvm_transport.c themselves (guest/local.mk, tests/local.mk).
# configure --without-windows-dll leaves all of this out.

kdvm_dll_sources = %reldir%/kdvm_transport.c %reldir%/kdvm_windows.c
kdvm_dll_headers = %reldir%/kdvm_transport.h include/bxkd/kdvm.h include/bxkd/kdtransport.h \
	include/bxkd/kdcom.h include/bxkd/backdoor.h

EXTRA_DIST += $(kdvm_dll_sources) $(kdvm_dll_headers) \
	%reldir%/kdbxkd-x86.def %reldir%/kdbxkd-x64.def

if BUILD_WINDOWS_DLL

KDVM_DLLS = %reldir%/kdbxkd-x86.dll %reldir%/kdbxkd-x64.dll

kdvm_dll_x86_objects = $(kdvm_dll_sources:.c=.win32.o)
kdvm_dll_x64_objects = $(kdvm_dll_sources:.c=.win64.o)

KDVM_DLL_CPPFLAGS = -I$(top_srcdir)/include -I$(top_srcdir)/%reldir%
# Kernel-mode code: no C library and no calls GCC invents (memcpy for a
# copy loop, stack probes), no stack protector (nothing would set up its
# cookie), and no FPU/MMX/SSE registers, whose state the kernel does not
# save for the debugger.
KDVM_DLL_ALL_CFLAGS = -std=c11 -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns \
	-fno-stack-protector -fno-stack-check -mno-stack-arg-probe -mgeneral-regs-only \
	$(WARN_CFLAGS) $(WINDOWS_DLL_CFLAGS)
# x86 Windows unwinds through frames on the stack, so the DWARF .eh_frame
# would only be dead weight; x64 keeps its .pdata/.xdata unwind tables,
# which the kernel and the debugger need to walk through our frames.
KDVM_DLL_X86_CFLAGS = -march=i686 -fno-asynchronous-unwind-tables
KDVM_DLL_X64_CFLAGS =
# A native DLL with no entry point (kdvm_windows.c says why), exports only
# from the .def file, no time stamp (reproducible), and no auto-imported
# data, which would need the C runtime's pseudo-relocation code.
KDVM_DLL_LINK_FLAGS = -nostdlib -shared -Wl,--subsystem,native -Wl,--entry,0 \
	-Wl,--no-insert-timestamp -Wl,--disable-auto-import

%reldir%/%.win32.o: %reldir%/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(MINGW32_CC) $(KDVM_DLL_CPPFLAGS) $(KDVM_DLL_ALL_CFLAGS) $(KDVM_DLL_X86_CFLAGS) \
		-MMD -MP -MF $(@:.o=.d) -c -o $@ $<

%reldir%/%.win64.o: %reldir%/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(MINGW64_CC) $(KDVM_DLL_CPPFLAGS) $(KDVM_DLL_ALL_CFLAGS) $(KDVM_DLL_X64_CFLAGS) \
		-MMD -MP -MF $(@:.o=.d) -c -o $@ $<

-include $(kdvm_dll_x86_objects:.o=.d) $(kdvm_dll_x64_objects:.o=.d)

%reldir%/kdbxkd-x86.dll: $(kdvm_dll_x86_objects) %reldir%/kdbxkd-x86.def
	$(AM_V_CCLD)$(MINGW32_CC) $(KDVM_DLL_LINK_FLAGS) -o $@ $(kdvm_dll_x86_objects) \
		$(top_srcdir)/%reldir%/kdbxkd-x86.def -lntoskrnl

%reldir%/kdbxkd-x64.dll: $(kdvm_dll_x64_objects) %reldir%/kdbxkd-x64.def
	$(AM_V_CCLD)$(MINGW64_CC) $(KDVM_DLL_LINK_FLAGS) -o $@ $(kdvm_dll_x64_objects) \
		$(top_srcdir)/%reldir%/kdbxkd-x64.def -lntoskrnl

pkgdata_DATA += $(KDVM_DLLS)

CLEANFILES += $(KDVM_DLLS) $(kdvm_dll_x86_objects) $(kdvm_dll_x64_objects) \
	$(kdvm_dll_x86_objects:.o=.d) $(kdvm_dll_x64_objects:.o=.d)

else !BUILD_WINDOWS_DLL

KDVM_DLLS =

endif !BUILD_WINDOWS_DLL
