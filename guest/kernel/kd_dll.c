/*
 * kd_dll.c -- loading the KD transport DLL and using it (kd_dll.h).
 *
 * The steps are Windows' loader's for a boot driver: headers, machine,
 * sections into memory, base relocations, imports by name from
 * ntoskrnl.exe, page protections from the section flags, the exports by
 * name; then kd64's KdDebuggerInitialize0(LoaderBlock). This kernel has no
 * loader parameter block: it passes NULL, which the DLL does not read.
 * The checking is pe_image.c's, over the bytes; this file only does what
 * needs the machine (memory, page tables, calls).
 */
#include "kd_dll.h"

#include "console.h"
#include "layout.h"
#include "machine.h"
#include "ntoskrnl.h"
#include "paging.h"
#include "pe_image.h"

#ifdef __x86_64__
#define KD_DLL_NAME "kdbxkd-x64.dll"
#define KD_DLL_MACHINE PE_MACHINE_AMD64
#else
#define KD_DLL_NAME "kdbxkd-x86.dll"
#define KD_DLL_MACHINE PE_MACHINE_I386
#endif
#define KD_DLL_ROOM (64u * 1024u)

extern const uint8_t kd_dll_file_start[], kd_dll_file_end[];

/* The image's RAM; the DLL runs at KD_DLL_WINDOW, mapped onto these frames. */
static uint8_t image[KD_DLL_ROOM] __attribute__((aligned(PE_PAGE_SIZE)));

typedef int32_t(NTAPI *kd_initialize_fn)(void *loader_block);
typedef void(NTAPI *kd_send_fn)(uint32_t packet_type, const struct kd_string *header,
				const struct kd_string *data, struct kd_context *kd_context);
typedef uint32_t(NTAPI *kd_receive_fn)(uint32_t packet_type, struct kd_string *header,
				       struct kd_string *data, uint32_t *data_length,
				       struct kd_context *kd_context);

/* What kd64 calls in a KD transport (docs/kd-protocol.md 2.1). */
enum kd_export {
	KD_DEBUGGER_INITIALIZE0,
	KD_DEBUGGER_INITIALIZE1,
	KD_SEND_PACKET,
	KD_RECEIVE_PACKET,
	KD_D0_TRANSITION,
	KD_D3_TRANSITION,
	KD_SAVE,
	KD_RESTORE,
	KD_SET_HIBER_RANGE,
	KD_EXPORTS
};

static const char *const export_names[KD_EXPORTS] = {
	"KdDebuggerInitialize0", "KdDebuggerInitialize1", "KdSendPacket",
	"KdReceivePacket",	 "KdD0Transition",	  "KdD3Transition",
	"KdSave",		 "KdRestore",		  "KdSetHiberRange",
};

static uintptr_t export_address[KD_EXPORTS];
static struct pe_headers loaded;
static bool is_loaded;

__attribute__((noreturn)) static void refuse(enum pe_verdict verdict,
					      const struct pe_problem *problem)
{
	const char *name = problem ? problem->name : "";
	const char *dll = verdict == PE_IMPORT_NOT_PROVIDED ? "ntoskrnl.exe!" : "";

	uint32_t rva = problem ? problem->rva : 0;

	if (rva)
		machine_fatal("kd dll: %s refused: %s%s%s%s (at rva 0x%x)", KD_DLL_NAME,
			      pe_verdict_text(verdict), *name ? ": " : "", dll, name, rva);
	machine_fatal("kd dll: %s refused: %s%s%s%s", KD_DLL_NAME, pe_verdict_text(verdict),
		      *name ? ": " : "", dll, name);
}

/* Each page of the image gets its section's protection; the headers are
 * read-only, as Windows maps them. */
static void protect(const struct pe_headers *h)
{
	uint32_t physical = virt_to_phys(image);

	for (uint32_t rva = 0; rva < h->size_of_image; rva += PE_PAGE_SIZE) {
		const struct pe_section *s = pe_section_at(h, rva);
		bool writable = s && (s->characteristics & PE_SCN_WRITE);
		if (!s && rva >= h->size_of_headers)
			continue; /* between sections: not mapped */
		if (!paging_map_window_page(KD_DLL_WINDOW + rva, physical + rva, writable))
			machine_fatal("kd dll: cannot map 0x%llx",
				      (unsigned long long)(KD_DLL_WINDOW + rva));
	}
	paging_enforce_read_only();
	for (uint32_t i = 0; i < h->section_count; i++) {
		const struct pe_section *s = &h->sections[i];
		kprintf("kd: %s section %s at 0x%llx, %u bytes, %c%c%c\n", KD_DLL_NAME, s->name,
			(unsigned long long)(KD_DLL_WINDOW + s->virtual_address), s->virtual_size,
			s->characteristics & PE_SCN_READ ? 'r' : '-',
			s->characteristics & PE_SCN_WRITE ? 'w' : '-',
			s->characteristics & PE_SCN_EXECUTE ? 'x' : '-');
	}
}

static void load(void)
{
	const uint8_t *file = kd_dll_file_start;
	uint32_t size = (uint32_t)(kd_dll_file_end - kd_dll_file_start);
	struct pe_headers h;
	struct pe_problem problem = { 0 };
	uint32_t relocated;

	if (size == 0)
		machine_fatal("kd dll: this image carries no KD DLL (built without mingw-w64)");
	enum pe_verdict v = pe_read_headers(file, size, KD_DLL_MACHINE, &h);
	if (v == PE_OK)
		v = pe_map_image(file, size, &h, image, sizeof(image));
	if (v != PE_OK)
		refuse(v, NULL);
	v = pe_relocate(image, &h, KD_DLL_WINDOW, &relocated, &problem);
	if (v != PE_OK)
		refuse(v, &problem);
	v = pe_resolve_imports(image, &h, "ntoskrnl.exe", ntoskrnl_exports, ntoskrnl_export_count,
			       &problem);
	if (v != PE_OK)
		refuse(v, &problem);
	for (unsigned i = 0; i < KD_EXPORTS; i++) {
		uint32_t rva;
		v = pe_find_export(image, &h, export_names[i], &rva, &problem);
		if (v != PE_OK)
			refuse(v, &problem);
		export_address[i] = KD_DLL_WINDOW + rva;
	}
	kprintf("kd: %s (%u bytes) mapped at 0x%llx, preferred base 0x%llx: %u relocations "
		"applied, imports resolved from ntoskrnl.exe, the nine KD exports found\n",
		KD_DLL_NAME, size, (unsigned long long)KD_DLL_WINDOW,
		(unsigned long long)h.image_base, relocated);
	protect(&h);
	loaded = h;
	is_loaded = true;
}

const struct pe_headers *kd_dll_loaded(uintptr_t *base)
{
	*base = KD_DLL_WINDOW;
	return is_loaded ? &loaded : NULL;
}

/* ---- the DLL as the KD stub's transport ----------------------------------------- */

static void dll_send_packet(void *ctx, uint32_t packet_type, const struct kd_string *header,
			    const struct kd_string *data, struct kd_context *kd_context)
{
	(void)ctx;
	((kd_send_fn)export_address[KD_SEND_PACKET])(packet_type, header, data, kd_context);
}

static enum kd_outcome dll_receive_packet(void *ctx, uint32_t packet_type,
					 struct kd_string *header, struct kd_string *data,
					 uint32_t *data_length, struct kd_context *kd_context)
{
	(void)ctx;
	uint32_t status = ((kd_receive_fn)export_address[KD_RECEIVE_PACKET])(
		packet_type, header, data, data_length, kd_context);
	/* KDSTATUS: anything but the three values is the DLL's defect. */
	if (status != KD_OK && status != KD_TIMED_OUT && status != KD_NEEDS_RESEND)
		machine_fatal("kd dll: KdReceivePacket returned %u, no KDSTATUS", status);
	return (enum kd_outcome)status;
}

static bool dll_debugger_present(void *ctx)
{
	(void)ctx;
	return !KdDebuggerNotPresent;
}

bool kd_dll_start(struct kd_transport *transport)
{
	load();
	int32_t status = ((kd_initialize_fn)export_address[KD_DEBUGGER_INITIALIZE0])(NULL);
	if (status < 0) {
		kprintf("kd: %s: KdDebuggerInitialize0 failed (status 0x%x); no debugger\n",
			KD_DLL_NAME, (uint32_t)status);
		return false;
	}
	/* Phase 1 follows at once: this kernel has no later boot phase. */
	status = ((kd_initialize_fn)export_address[KD_DEBUGGER_INITIALIZE1])(NULL);
	if (status < 0) {
		kprintf("kd: %s: KdDebuggerInitialize1 failed (status 0x%x); no debugger\n",
			KD_DLL_NAME, (uint32_t)status);
		return false;
	}
	transport->ctx = NULL;
	transport->send_packet = dll_send_packet;
	transport->receive_packet = dll_receive_packet;
	transport->debugger_present = dll_debugger_present;
	return true;
}
