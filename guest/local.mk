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
	%reldir%/kernel/bootopt.c \
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
	%reldir%/kdvm/kdvm.c \
	%reldir%/tests/kdvm_env.c \
	%reldir%/tests/kdvm_tests.c \
	%reldir%/tests/kdvm_peer_tests.c \
	%reldir%/tests/kdvm_stub_tests.c \
	%reldir%/kdstub/kdstub.c \
	%reldir%/kdser/kdser.c \
	pipe-bridge/kdcom.c \
	pipe-bridge/kdlink.c
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
	%reldir%/kernel/bootopt.h \
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
	%reldir%/backdoor/backdoor.h \
	%reldir%/backdoor/guestrpc.h \
	%reldir%/tests/expect.h \
	%reldir%/tests/kdvm_env.h \
	%reldir%/tests/kdvm_peer_protocol.h \
	%reldir%/kdvm/kdvm.h \
	%reldir%/kdstub/kdstub.h \
	%reldir%/kdser/kdser.h \
	pipe-bridge/kdcom.h \
	pipe-bridge/kdlink.h \
	include/bxkd/backdoor.h \
	include/bxkd/kdvm.h \
	include/bxkd/kdcom.h \
	include/bxkd/kdtransport.h \
	include/bxkd/dbgkd.h \
	include/bxkd/bootopt.h
guest_objects = $(guest_c_sources:.c=.guest.o) $(guest_asm_sources:.S=.guest.o)

GUEST_CPPFLAGS = -I$(top_srcdir)/include -I$(top_srcdir)/%reldir%/kernel \
	-I$(top_srcdir)/%reldir%/backdoor -I$(top_srcdir)/%reldir%/tests \
	-I$(top_srcdir)/%reldir%/kdvm -I$(top_srcdir)/%reldir%/kdstub \
	-I$(top_srcdir)/%reldir%/kdser -I$(top_srcdir)/pipe-bridge \
	-DBXKD_VERSION='"$(PACKAGE_VERSION)"'
# -fno-toplevel-reorder keeps GUEST_TEST entries in source order;
# -fno-tree-loop-distribute-patterns stops GCC turning memcpy's own loop
# into a call to memcpy.
GUEST_ALL_CFLAGS = $(GUEST_ARCH_FLAGS) -std=c11 -ffreestanding -fno-pic -fno-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-toplevel-reorder \
	-fno-tree-loop-distribute-patterns $(WARN_CFLAGS) $(GUEST_CFLAGS)
GUEST_LINK_FLAGS = -m32 -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,--no-warn-rwx-segments -Wl,-T,$(top_srcdir)/%reldir%/kernel/kernel.ld

%reldir%/%.guest.o: %reldir%/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(GUEST_CC) $(GUEST_CPPFLAGS) $(GUEST_ALL_CFLAGS) -MMD -MP -MF $(@:.o=.d) -c -o $@ $<

# The serial transport's KDCOM engine and blocking link are pipe-bridge's
# own freestanding files, compiled here a second time for the guest.
pipe-bridge/%.guest.o: pipe-bridge/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(GUEST_CC) $(GUEST_CPPFLAGS) $(GUEST_ALL_CFLAGS) -MMD -MP -MF $(@:.o=.d) -c -o $@ $<

%reldir%/%.guest.o: %reldir%/%.S
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(GUEST_CC) $(GUEST_CPPFLAGS) $(GUEST_ARCH_FLAGS) -MMD -MP -MF $(@:.o=.d) -c -o $@ $<

-include $(guest_objects:.o=.d)

%reldir%/kernel.elf: $(guest_objects) %reldir%/kernel/kernel.ld
	$(AM_V_CCLD)$(GUEST_CC) $(GUEST_LINK_FLAGS) -Wl,-Map,%reldir%/kernel.map \
		-o $@ $(guest_objects) -lgcc

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

EXTRA_DIST += $(guest_c_sources) $(guest_asm_sources) $(guest_headers) \
	%reldir%/kernel/kernel.ld %reldir%/boot/floppy.asm %reldir%/README.md
