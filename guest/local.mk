# guest/ -- the bootable test guest, built with the freestanding 32-bit
# toolchain configure found (GUEST_CC), not with the host compiler.

GUEST_IMAGE = %reldir%/bxkd-guest.img

# By folder: kernel/ boots and runs everything, backdoor/ calls the device,
# tests/ are the in-guest test groups, kdvm/ kdstub/ kdser/ the KD code.
guest_c_sources = \
	$(addprefix %reldir%/kernel/, main.c machine.c trap.c console.c format.c kstring.c \
		boot_options.c testrun.c usermode.c cmos.c lapic.c paging.c pit.c kd.c workload.c \
		pe_image.c ntoskrnl.c kd_dll.c gdt.c idt.c kd_stop_x86.c kd_cpu.c vga_text.c) \
	$(addprefix %reldir%/backdoor/, commands.c guestrpc.c) \
	$(addprefix %reldir%/tests/, expect.c backdoor_tests.c command_tests.c guestrpc_tests.c \
		guestrpc_error_tests.c cpl3_tests.c) \
	%reldir%/kdvm/kdvm_transport.c \
	$(addprefix %reldir%/tests/, kdvm_env.c kdvm_tests.c kdvm_peer_tests.c kdvm_stub_tests.c \
		kdvm_peer_checks.c kdvm_dll_peer_tests.c) \
	%reldir%/kdstub/kdstub.c %reldir%/kdser/kdser.c
guest_asm_sources = \
	$(addprefix %reldir%/kernel/, entry.S usermode_switch.S workload_step.S kd_dll_file.S) \
	%reldir%/backdoor/backdoor.S
guest_headers = \
	$(addprefix %reldir%/kernel/, io.h machine.h trap.h console.h format.h kstring.h \
		boot_options.h testrun.h segments.h usermode.h cmos.h lapic.h paging.h pit.h kd.h \
		workload.h layout.h pe_image.h ntoskrnl.h kd_dll.h kd_stop.h vga_text.h) \
	$(addprefix %reldir%/backdoor/, backdoor_call.h guestrpc.h) \
	$(addprefix %reldir%/tests/, expect.h kdvm_env.h kdvm_peer_protocol.h kdvm_peer_checks.h) \
	%reldir%/kdvm/kdvm_transport.h %reldir%/kdstub/kdstub.h %reldir%/kdser/kdser.h \
	$(addprefix include/bxkd/, backdoor.h kdvm.h kdcom.h kdtransport.h dbgkd.h bootopt.h \
		kdport.h names.h uuid.h kdidentity.h)
guest_objects = $(guest_c_sources:.c=.guest.o) $(guest_asm_sources:.S=.guest.o)
# The serial transport's KDCOM engine and blocking link: pipe-bridge builds
# its freestanding files in this flavour too.
guest_linked_objects = $(guest_objects) $(pipe_bridge_guest_objects)

GUEST_CPPFLAGS = -I$(top_srcdir)/include -I$(top_srcdir)/%reldir%/kernel \
	-I$(top_srcdir)/%reldir%/backdoor -I$(top_srcdir)/%reldir%/tests \
	-I$(top_srcdir)/%reldir%/kdvm -I$(top_srcdir)/%reldir%/kdstub \
	-I$(top_srcdir)/%reldir%/kdser -I$(top_srcdir)/pipe-bridge \
	-DBXKD_VERSION='"$(PACKAGE_VERSION)"'
GUEST_LINK_FLAGS = -m32 -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,--no-warn-rwx-segments -Wl,-T,$(top_srcdir)/%reldir%/kernel/kernel.ld

# One guest object from its source, with a flavour's flags ($(1)): both
# kernels' C and assembly.
guest_compile = $(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(GUEST_CC) $(GUEST_CPPFLAGS) $(1) -MMD -MP -MF $(@:.o=.d) -c -o $@ $<

%reldir%/%.guest.o: %reldir%/%.c
	$(call guest_compile,$(FREESTANDING_CFLAGS))

%reldir%/%.guest.o: %reldir%/%.S
	$(call guest_compile,$(GUEST_ARCH_FLAGS))

-include $(guest_objects:.o=.d)

# The kernel carries the KD DLL this build made, the file itself
# (kernel/kd_dll_file.S): the x86 DLL in the 32-bit kernel, the x64 DLL in the
# x86-64 one; kd=dll loads it.
if BUILD_WINDOWS_DLL
KD_DLL_X86 = guest/kdvm/kdbxkd-x86.dll
%reldir%/kernel/kd_dll_file.guest.o: $(KD_DLL_X86)
%reldir%/kernel/kd_dll_file.guest.o: GUEST_CPPFLAGS += -DKD_DLL_FILE='"$(abs_builddir)/$(KD_DLL_X86)"'
KD_DLL_X64 = guest/kdvm/kdbxkd-x64.dll
%reldir%/kernel/kd_dll_file.guest64.o: $(KD_DLL_X64)
%reldir%/kernel/kd_dll_file.guest64.o: GUEST_CPPFLAGS += -DKD_DLL_FILE='"$(abs_builddir)/$(KD_DLL_X64)"'
endif

%reldir%/kernel.elf: $(guest_linked_objects) %reldir%/kernel/kernel.ld
	$(AM_V_CCLD)$(GUEST_CC) $(GUEST_LINK_FLAGS) -Wl,-Map,%reldir%/kernel.map \
		-o $@ $(guest_linked_objects) -lgcc

# Every function and variable of the kernel with its address, sorted: what
# a debugger session breaks on and reads (the workload_* names, say).
%reldir%/kernel.symbols: %reldir%/kernel.elf
	$(AM_V_GEN)$(NM_TOOL) -n --defined-only $< | grep -E ' [TtDdBbRr] ' > $@

%reldir%/kernel.bin: %reldir%/kernel.elf
	$(AM_V_GEN)$(OBJCOPY) -O binary $< $@

# Both kernels on one floppy: the boot option arch=x64 boots the second
# (boot/floppy.asm).
$(GUEST_IMAGE): %reldir%/boot/floppy.asm %reldir%/kernel.bin %reldir%/kernel-x64.bin
	$(AM_V_GEN)$(NASM) -f bin -DKERNEL_BIN='"%reldir%/kernel.bin"' \
		-DKERNEL64_BIN='"%reldir%/kernel-x64.bin"' -o $@ $(top_srcdir)/%reldir%/boot/floppy.asm

# The x86-64 test kernel (x64/): the portable kernel, KD and backdoor
# sources built a second time, freestanding x86-64, with x64/'s boot,
# segments, IDT, page tables, stopped-CPU state and backdoor calls in place
# of the 32-bit ones, and one test group of its own (x64/longmode_tests.c).
# No ring 3 (guest/README.md "The x86-64 kernel").
GUEST64_IMAGE = %reldir%/bxkd-guest-x64.img
guest64_c_sources = \
	$(addprefix %reldir%/kernel/, main.c machine.c trap.c console.c format.c kstring.c \
		boot_options.c testrun.c cmos.c pit.c kd.c kd_cpu.c workload.c pe_image.c \
		ntoskrnl.c kd_dll.c vga_text.c) \
	%reldir%/backdoor/commands.c %reldir%/kdvm/kdvm_transport.c %reldir%/kdstub/kdstub.c \
	%reldir%/kdser/kdser.c \
	$(addprefix %reldir%/x64/, gdt.c idt.c paging.c kd_stop.c backdoor_call.c longmode_tests.c) \
	$(addprefix %reldir%/tests/, kdvm_env.c kdvm_peer_tests.c kdvm_peer_checks.c kdvm_dll_peer_tests.c)
guest64_asm_sources = %reldir%/kernel/workload_step.S %reldir%/kernel/kd_dll_file.S \
	%reldir%/x64/entry.S
guest64_objects = $(guest64_c_sources:.c=.guest64.o) $(guest64_asm_sources:.S=.guest64.o)
guest64_linked_objects = $(guest64_objects) $(pipe_bridge_guest64_objects)
GUEST64_LINK_FLAGS = -m64 -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,--no-warn-rwx-segments -Wl,-T,$(top_srcdir)/%reldir%/x64/kernel.ld

%reldir%/%.guest64.o: %reldir%/%.c
	$(call guest_compile,$(FREESTANDING64_CFLAGS))

%reldir%/%.guest64.o: %reldir%/%.S
	$(call guest_compile,$(GUEST64_ARCH_FLAGS))

-include $(guest64_objects:.o=.d)

%reldir%/kernel-x64.elf: $(guest64_linked_objects) %reldir%/x64/kernel.ld
	$(AM_V_CCLD)$(GUEST_CC) $(GUEST64_LINK_FLAGS) -Wl,-Map,%reldir%/kernel-x64.map \
		-o $@ $(guest64_linked_objects)

%reldir%/kernel-x64.symbols: %reldir%/kernel-x64.elf
	$(AM_V_GEN)$(NM_TOOL) -n --defined-only $< | grep -E ' [TtDdBbRr] ' > $@

%reldir%/kernel-x64.bin: %reldir%/kernel-x64.elf
	$(AM_V_GEN)$(OBJCOPY) -O binary $< $@

$(GUEST64_IMAGE): %reldir%/boot/floppy.asm %reldir%/kernel-x64.bin
	$(AM_V_GEN)$(NASM) -f bin -DKERNEL_BIN='"%reldir%/kernel-x64.bin"' -o $@ $(top_srcdir)/%reldir%/boot/floppy.asm

noinst_DATA = $(GUEST_IMAGE) %reldir%/kernel.symbols $(GUEST64_IMAGE) %reldir%/kernel-x64.symbols
pkgdata_DATA += $(GUEST_IMAGE) $(GUEST64_IMAGE)

CLEANFILES += $(guest_objects) $(guest_objects:.o=.d) $(GUEST_IMAGE) \
	%reldir%/kernel.elf %reldir%/kernel.bin %reldir%/kernel.map %reldir%/kernel.symbols \
	$(guest64_objects) $(guest64_objects:.o=.d) $(GUEST64_IMAGE) %reldir%/kernel-x64.elf \
	%reldir%/kernel-x64.bin %reldir%/kernel-x64.map %reldir%/kernel-x64.symbols

# The portable KD code built for the host as well: the unit tests drive the
# KD stub and both guest transports against in-memory peers, and check the
# guest's formatter.
noinst_LTLIBRARIES += %reldir%/libkdguest.la
%canon_reldir%_libkdguest_la_SOURCES = %reldir%/kdstub/kdstub.c %reldir%/kdser/kdser.c \
	%reldir%/kdvm/kdvm_transport.c %reldir%/kernel/format.c %reldir%/kernel/pe_image.c
%canon_reldir%_libkdguest_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/%reldir%/kernel \
	-I$(top_srcdir)/%reldir%/kdvm -I$(top_srcdir)/%reldir%/kdstub \
	-I$(top_srcdir)/%reldir%/kdser -I$(top_srcdir)/pipe-bridge

EXTRA_DIST += $(guest_c_sources) $(guest_asm_sources) $(guest_headers) \
	$(guest64_c_sources) $(guest64_asm_sources) %reldir%/x64/kernel.ld \
	%reldir%/kernel/kernel.ld %reldir%/kernel/trap_stubs.inc %reldir%/kernel/boot_stack.inc \
	%reldir%/boot/floppy.asm %reldir%/README.md
