/*
 * kdvm_windows.c -- the kdvm transport as a Windows KD transport DLL
 * (kdbxkd-x86.dll, kdbxkd-x64.dll): the nine exports Windows' kernel
 * debugger calls in kdcom.dll, over kdvm_transport.c.
 *
 * Prototypes and what the kernel expects of each export:
 * docs/kd-protocol.md section 2. Built with mingw-w64 for i686 and
 * x86-64 (guest/kdvm/local.mk); freestanding, no Windows headers: the few
 * Windows types are declared here and checked against the layouts
 * kdvm_transport.c uses. Imports, all from ntoskrnl.exe:
 *   MmGetPhysicalAddress  the page's physical address for KDVM_SUB_REGISTER
 *                         (VirtualKD-Redux's VirtualBox channel calls it
 *                         from KdDebuggerInitialize0 and on every packet:
 *                         Lib/kdvmguestlib/vboxrpc.h)
 *   KdDebuggerNotPresent  the kernel's flag, kept equal to the module's view
 *                         after every call: kd64 skips symbol loads and
 *                         stops waiting for replies only when it is set
 *                         (kd-protocol.md 1.8), so without it a boot with no
 *                         debugger attached would wait in the first
 *                         symbol-load state change for good. kdcom sets it
 *                         (ReactOS drivers/base/kdcom/kddll.c), and so does
 *                         VirtualKD (Lib/kdvmguestlib/kdvm.cpp).
 *
 * kd64 calls the transport one call at a time (under its debugger lock,
 * with the other processors frozen while it debugs), so the state below
 * needs no lock of its own.
 *
 * Not tested on Windows: this tree has none. tests/integration/
 * check_kdvm_dll.c checks the built images' exports, imports and headers,
 * and the test kernel loads and runs the x86 image as its KD transport
 * (guest/kernel/kd_dll.c, boot option kd=dll; guest/README.md).
 */
#include <stddef.h>
#include <stdint.h>

#include "kdvm_transport.h"

/* ---- the Windows types this file needs ------------------------------------ */

#if defined(__i386__)
#define NTAPI __attribute__((__stdcall__))
#elif defined(__x86_64__)
#define NTAPI /* one calling convention on x64 */
#else
#error "the Windows KD DLL is built for i386 and x86-64 only"
#endif

typedef void VOID;
typedef void *PVOID;
typedef uint8_t BOOLEAN;
typedef uint16_t USHORT;
typedef uint32_t ULONG;
typedef ULONG *PULONG;
typedef int32_t NTSTATUS;
typedef char *PCHAR;

typedef union _LARGE_INTEGER {
	struct {
		ULONG LowPart;
		int32_t HighPart;
	} u;
	int64_t QuadPart;
} LARGE_INTEGER, PHYSICAL_ADDRESS;

typedef struct _STRING {
	USHORT Length;
	USHORT MaximumLength;
	PCHAR Buffer;
} STRING, *PSTRING;

typedef struct _KD_CONTEXT {
	ULONG KdpDefaultRetries;
	BOOLEAN KdpControlCPending;
} KD_CONTEXT, *PKD_CONTEXT;

typedef ULONG KDSTATUS; /* enum kd_outcome: Received 0, TimedOut 1, NeedsResend 2 */

/* Only passed through: KdDebuggerInitialize0/1 do not look inside. */
typedef struct _LOADER_PARAMETER_BLOCK *PLOADER_PARAMETER_BLOCK;

#define STATUS_SUCCESS ((NTSTATUS)0x00000000L)
#define STATUS_UNSUCCESSFUL ((NTSTATUS)0xC0000001L)
#define STATUS_NOT_SUPPORTED ((NTSTATUS)0xC00000BBL)

/* STRING and KD_CONTEXT are what kdvm_transport.c takes as struct kd_string and
 * struct kd_context (kd-protocol.md 2.2: STRING has 4 bytes of padding
 * before Buffer on AMD64). */
#if defined(__i386__)
_Static_assert(sizeof(STRING) == 8 && offsetof(STRING, Buffer) == 4, "x86 STRING");
#else
_Static_assert(sizeof(STRING) == 16 && offsetof(STRING, Buffer) == 8, "x64 STRING");
#endif
_Static_assert(sizeof(STRING) == sizeof(struct kd_string), "STRING is struct kd_string");
_Static_assert(offsetof(STRING, Length) == offsetof(struct kd_string, length), "Length");
_Static_assert(offsetof(STRING, MaximumLength) == offsetof(struct kd_string, maximum_length),
	       "MaximumLength");
_Static_assert(offsetof(STRING, Buffer) == offsetof(struct kd_string, buffer), "Buffer");
_Static_assert(sizeof(KD_CONTEXT) == 8 && sizeof(struct kd_context) == 8, "KD_CONTEXT");
_Static_assert(offsetof(KD_CONTEXT, KdpDefaultRetries) == offsetof(struct kd_context, retries),
	       "KdpDefaultRetries");
_Static_assert(offsetof(KD_CONTEXT, KdpControlCPending) ==
		       offsetof(struct kd_context, break_in_requested),
	       "KdpControlCPending");
_Static_assert(sizeof(LARGE_INTEGER) == 8, "LARGE_INTEGER");
_Static_assert(KD_OK == 0 && KD_TIMED_OUT == 1 && KD_NEEDS_RESEND == 2,
	       "KDSTATUS values");

/* ---- ntoskrnl.exe ---------------------------------------------------------- */

/* Any IRQL. Returns the 8-byte union in EDX:EAX on x86 and RAX on x64, as
 * MSVC does (checked in the disassembly of both builds). */
PHYSICAL_ADDRESS NTAPI MmGetPhysicalAddress(PVOID BaseAddress);
/* A data export: reached through its import slot. */
extern __declspec(dllimport) BOOLEAN KdDebuggerNotPresent;

/* ---- the exports (kd-protocol.md 2.1) -------------------------------------- */

NTSTATUS NTAPI KdDebuggerInitialize0(PLOADER_PARAMETER_BLOCK LoaderBlock);
NTSTATUS NTAPI KdDebuggerInitialize1(PLOADER_PARAMETER_BLOCK LoaderBlock);
VOID NTAPI KdSendPacket(ULONG PacketType, PSTRING MessageHeader, PSTRING MessageData,
			PKD_CONTEXT KdContext);
KDSTATUS NTAPI KdReceivePacket(ULONG PacketType, PSTRING MessageHeader, PSTRING MessageData,
			       PULONG DataLength, PKD_CONTEXT KdContext);
NTSTATUS NTAPI KdD0Transition(VOID);
NTSTATUS NTAPI KdD3Transition(VOID);
NTSTATUS NTAPI KdSave(BOOLEAN SleepTransition);
NTSTATUS NTAPI KdRestore(BOOLEAN SleepTransition);
NTSTATUS NTAPI KdSetHiberRange(PVOID HiberContext);

/*
 * No image entry point (linked with --entry 0): ReactOS builds kdcom.dll as
 * a "module" (drivers/base/kdcom/CMakeLists.txt: set_module_type(kdcom
 * module ...)), which sdk/cmake/CMakeMacros.cmake maps to entry point 0,
 * i.e. /NOENTRY. VirtualKD-Redux's kdvm.dll has an entry, DllEntryPoint, but
 * it only jumps to HalInitSystem (Lib/kdvmguestlib/kdvm.cpp for x86,
 * Kernel/kdvm/vmwrpc64.asm for x64), which is no routine anyone could call
 * as an entry point and expect an answer from; the kernel finds the
 * transport through its exports. With no entry there is no code a loader
 * could call with a calling convention we guessed wrong (on x86 the stdcall
 * argument size is part of the contract).
 */

/* ---- state ----------------------------------------------------------------- */

/* One page, page-aligned, so physically contiguous; in .bss, which is not a
 * pageable (PAGE*) section. tests/integration/check_kdvm_dll.c finds it by
 * its name in the DLL's symbol table and checks the alignment. */
static struct kdvm_page kdbxkd_page __attribute__((aligned(KDVM_PAGE_SIZE)));
static struct kdvm kdbxkd;

_Static_assert(sizeof(kdbxkd_page) == KDVM_PAGE_SIZE, "one page");

/* ---- the platform kdvm_transport.c runs on ------------------------------------------- */

static void win_backdoor(void *ctx, struct kdvm_regs *regs)
{
	(void)ctx;
	/* One IN EAX,DX; on x64 the 32-bit register writes zero-extend, which
	 * is all the device sees or sets. "memory": the device reads and
	 * writes the page during the instruction. */
	__asm__ volatile("inl %%dx, %%eax"
			 : "+a"(regs->eax), "+b"(regs->ebx), "+c"(regs->ecx), "+d"(regs->edx),
			   "+S"(regs->esi), "+D"(regs->edi)
			 :
			 : "memory");
}

static uint64_t win_physical_address(void *ctx, const void *address)
{
	(void)ctx;
	return (uint64_t)MmGetPhysicalAddress((PVOID)(uintptr_t)address).QuadPart;
}

static uint32_t tsc_nonce(void)
{
	uint32_t low, high;

	__asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
	return low ^ high;
}

/* The kernel's KdDebuggerNotPresent follows the module after every call. */
static void publish_debugger_presence(void)
{
	KdDebuggerNotPresent = !kdbxkd.debugger_present;
}

/* Hello, and the page registered under a fresh nonce. */
static uint32_t bind(void)
{
	const struct kdvm_platform platform = {
		.ctx = NULL,
		.backdoor = win_backdoor,
		.physical_address = win_physical_address,
	};

	/* The device reads the page at frame * 4096; a page that straddles
	 * two frames would be half someone else's memory. */
	if ((uintptr_t)&kdbxkd_page % KDVM_PAGE_SIZE != 0)
		return KDVM_STATUS_BAD_PAGE;
	uint32_t status = kdvm_initialize(&kdbxkd, &platform, &kdbxkd_page, tsc_nonce(), 0);
	publish_debugger_presence();
	return status;
}

/*
 * Before every call into kdvm_transport.c: false if KdDebuggerInitialize0 never ran.
 * kdbxkd holds pointers stored at run time (the page, the two platform
 * functions), which a relocation of the image would leave pointing at the
 * old copy; VirtualKD marks its image IMAGE_FILE_RELOCS_STRIPPED in
 * KdDebuggerInitialize0 for the same reason ("prevent the current module
 * from being relocated ... breaking the physical/virtual address mapping",
 * Lib/kdvmguestlib/kdvm.cpp). Here a moved image is noticed instead, and
 * the page registered again from where it is now, under a new nonce so
 * that scan discovery cannot find the old copy.
 */
static bool usable(void)
{
	if (kdbxkd.page == NULL)
		return false;
	if (kdbxkd.page != &kdbxkd_page)
		bind();
	return true;
}

/* ---- the exports ----------------------------------------------------------- */

/*
 * Failure when there is no usable device: ReactOS' kd64 (ntoskrnl/kd64/
 * kdinit.c, KdInitSystem), the stand-in for Windows' in kd-protocol.md,
 * enables the debugger only when KdDebuggerInitialize0 succeeds, and
 * otherwise keeps its stub and sets KdDebuggerNotPresent: the machine boots
 * as without a debugger. VirtualKD returns success even when its host is
 * not there, because its host half can be injected into a running VM
 * later; our device is part of the emulator from power-on, and a machine
 * whose device said no now will not get a transport in this boot (kdvm_transport.c
 * never asks again), so pretending would only leave the kernel debugging
 * into a dead transport. Whether Windows' own kd64 treats a failing
 * transport the same way is not verified here.
 */
NTSTATUS NTAPI KdDebuggerInitialize0(PLOADER_PARAMETER_BLOCK LoaderBlock)
{
	(void)LoaderBlock;
	return bind() == KDVM_STATUS_OK ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

NTSTATUS NTAPI KdDebuggerInitialize1(PLOADER_PARAMETER_BLOCK LoaderBlock)
{
	(void)LoaderBlock;
	return STATUS_SUCCESS;
}

VOID NTAPI KdSendPacket(ULONG PacketType, PSTRING MessageHeader, PSTRING MessageData,
			PKD_CONTEXT KdContext)
{
	if (!usable())
		return;
	kdvm_send_packet(&kdbxkd, PacketType, (const struct kd_string *)MessageHeader,
			 (const struct kd_string *)MessageData, (struct kd_context *)KdContext);
	publish_debugger_presence();
}

KDSTATUS NTAPI KdReceivePacket(ULONG PacketType, PSTRING MessageHeader, PSTRING MessageData,
			       PULONG DataLength, PKD_CONTEXT KdContext)
{
	if (!usable())
		return KD_TIMED_OUT;
	enum kd_outcome status = kdvm_receive_packet(
		&kdbxkd, PacketType, (struct kd_string *)MessageHeader,
		(struct kd_string *)MessageData, DataLength, (struct kd_context *)KdContext);
	publish_debugger_presence();
	return status;
}

/* The debug device is powered again: the emulator may have been reset or
 * restored meanwhile (kdvm_transport.h). kdcom answers success whatever happens. */
NTSTATUS NTAPI KdD0Transition(VOID)
{
	if (usable())
		kdvm_reconnect(&kdbxkd);
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI KdD3Transition(VOID)
{
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI KdSave(BOOLEAN SleepTransition)
{
	(void)SleepTransition;
	return STATUS_SUCCESS;
}

/*
 * Registers the page again only after a sleep transition: kd64 also calls
 * KdSave(FALSE)/KdRestore(FALSE) around every entry into the debugger
 * (KdEnterDebugger/KdExitDebugger, kd-protocol.md 2.1), i.e. around every
 * DbgPrint, and a device that lost the page meanwhile is handled by
 * kdvm_transport.c itself, which registers again when a call is refused with
 * KDVM_STATUS_NOT_REGISTERED.
 */
NTSTATUS NTAPI KdRestore(BOOLEAN SleepTransition)
{
	if (SleepTransition && usable())
		kdvm_reconnect(&kdbxkd);
	return STATUS_SUCCESS;
}

/* "As in KDCOM.DLL" (VirtualKD-Redux, Kernel/kdvm/emptyfunc.cpp). */
NTSTATUS NTAPI KdSetHiberRange(PVOID HiberContext)
{
	(void)HiberContext;
	return STATUS_NOT_SUPPORTED;
}
