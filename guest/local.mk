# guest/ -- the bootable test guest, built with the freestanding 32-bit
# toolchain configure found (GUEST_CC), not with the host compiler.

GUEST_IMAGE = %reldir%/bxkd-guest.img

guest_c_sources = \
	%reldir%/kernel/main.c \
	%reldir%/kernel/machine.c \
	%reldir%/kernel/trap.c \
	%reldir%/kernel/console.c \
	%reldir%/kernel/format.c \
	%reldir%/kernel/kstring.c \
	%reldir%/kernel/boot_options.c \
	%reldir%/kernel/testrun.c \
	%reldir%/kernel/usermode.c \
	%reldir%/kernel/cmos.c \
	%reldir%/kernel/lapic.c \
	%reldir%/kernel/paging.c \
	%reldir%/kernel/pit.c \
	%reldir%/kernel/kd.c \
	%reldir%/kernel/workload.c \
	%reldir%/backdoor/commands.c \
	%reldir%/backdoor/guestrpc.c \
	%reldir%/tests/expect.c \
	%reldir%/tests/backdoor_tests.c \
	%reldir%/tests/command_tests.c \
	%reldir%/tests/guestrpc_tests.c \
	%reldir%/tests/guestrpc_error_tests.c \
	%reldir%/tests/cpl3_tests.c \
	%reldir%/kdvm/kdvm_transport.c \
	%reldir%/tests/kdvm_env.c \
	%reldir%/tests/kdvm_tests.c \
	%reldir%/tests/kdvm_peer_tests.c \
	%reldir%/tests/kdvm_stub_tests.c \
	%reldir%/kdstub/kdstub.c \
	%reldir%/kdser/kdser.c
guest_asm_sources = \
	%reldir%/kernel/entry.S \
	%reldir%/kernel/usermode_switch.S \
	%reldir%/kernel/workload_step.S \
	%reldir%/backdoor/backdoor.S
guest_headers = \
	%reldir%/kernel/io.h \
	%reldir%/kernel/machine.h \
	%reldir%/kernel/trap.h \
	%reldir%/kernel/console.h \
	%reldir%/kernel/format.h \
	%reldir%/kernel/kstring.h \
	%reldir%/kernel/boot_options.h \
	%reldir%/kernel/testrun.h \
	%reldir%/kernel/segments.h \
	%reldir%/kernel/usermode.h \
	%reldir%/kernel/cmos.h \
	%reldir%/kernel/lapic.h \
	%reldir%/kernel/paging.h \
	%reldir%/kernel/pit.h \
	%reldir%/kernel/kd.h \
	%reldir%/kernel/workload.h \
	%reldir%/kernel/layout.h \
	%reldir%/backdoor/backdoor_call.h \
	%reldir%/backdoor/guestrpc.h \
	%reldir%/tests/expect.h \
	%reldir%/tests/kdvm_env.h \
	%reldir%/tests/kdvm_peer_protocol.h \
	%reldir%/kdvm/kdvm_transport.h \
	%reldir%/kdstub/kdstub.h \
	%reldir%/kdser/kdser.h \
	include/bxkd/backdoor.h \
	include/bxkd/kdvm.h \
	include/bxkd/kdcom.h \
	include/bxkd/kdtransport.h \
	include/bxkd/dbgkd.h \
	include/bxkd/bootopt.h
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

%reldir%/%.guest.o: %reldir%/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(GUEST_CC) $(GUEST_CPPFLAGS) $(FREESTANDING_CFLAGS) -MMD -MP -MF $(@:.o=.d) -c -o $@ $<

%reldir%/%.guest.o: %reldir%/%.S
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(GUEST_CC) $(GUEST_CPPFLAGS) $(GUEST_ARCH_FLAGS) -MMD -MP -MF $(@:.o=.d) -c -o $@ $<

-include $(guest_objects:.o=.d)

%reldir%/kernel.elf: $(guest_linked_objects) %reldir%/kernel/kernel.ld
	$(AM_V_CCLD)$(GUEST_CC) $(GUEST_LINK_FLAGS) -Wl,-Map,%reldir%/kernel.map \
		-o $@ $(guest_linked_objects) -lgcc

# Every function and variable of the kernel with its address, sorted: what
# a debugger session breaks on and reads (the workload_* names, say).
%reldir%/kernel.symbols: %reldir%/kernel.elf
	$(AM_V_GEN)$(NM_TOOL) -n --defined-only $< | grep -E ' [TtDdBbRr] ' > $@

%reldir%/kernel.bin: %reldir%/kernel.elf
	$(AM_V_GEN)$(OBJCOPY) -O binary $< $@

$(GUEST_IMAGE): %reldir%/boot/floppy.asm %reldir%/kernel.bin
	$(AM_V_GEN)$(NASM) -f bin -DKERNEL_BIN='"%reldir%/kernel.bin"' -o $@ $(top_srcdir)/%reldir%/boot/floppy.asm

noinst_DATA = $(GUEST_IMAGE) %reldir%/kernel.symbols
pkgdata_DATA += $(GUEST_IMAGE)

CLEANFILES += $(guest_objects) $(guest_objects:.o=.d) $(GUEST_IMAGE) \
	%reldir%/kernel.elf %reldir%/kernel.bin %reldir%/kernel.map %reldir%/kernel.symbols

# The portable KD code built for the host as well: the unit tests drive the
# KD stub and both guest transports against in-memory peers, and check the
# guest's formatter.
noinst_LTLIBRARIES += %reldir%/libkdguest.la
%canon_reldir%_libkdguest_la_SOURCES = \
	%reldir%/kdstub/kdstub.c \
	%reldir%/kdser/kdser.c \
	%reldir%/kdvm/kdvm_transport.c \
	%reldir%/kernel/format.c
%canon_reldir%_libkdguest_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/%reldir%/kernel \
	-I$(top_srcdir)/%reldir%/kdvm -I$(top_srcdir)/%reldir%/kdstub \
	-I$(top_srcdir)/%reldir%/kdser -I$(top_srcdir)/pipe-bridge

EXTRA_DIST += $(guest_c_sources) $(guest_asm_sources) $(guest_headers) \
	%reldir%/kernel/kernel.ld %reldir%/boot/floppy.asm %reldir%/README.md
