/*
 * bochs_debugger.c -- the symbol and command files that give Bochs'
 * debugger the test kernel's names (bochs_debugger.h).
 *
 * Bochs' `ldsym` reads a line as a hexadecimal address, one blank and the
 * rest of the line as the name, and keeps one name per address for what
 * it prints (its stop lines, `u`): so functions come before the other
 * names at the same address, and the link script's absolute values
 * (KERNEL_OFFSET and the like, nm's type A) are left out, being no place.
 *
 * The KD DLL's place is fixed: the kernel maps it at its KD_DLL_WINDOW
 * (guest/kernel/layout.h: one for each kernel) whatever its preferred base, and the bytes are
 * in the image the kernel boots from, between the kernel's symbols
 * kd_dll_file_start and kd_dll_file_end. So its exports are read here from
 * the very image Bochs boots, with the kernel's own PE reader.
 */
#include "config.h"

#include "bochs_debugger.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd.h"
#include "layout.h"
#include "pe_image.h"

/* The floppy's boot sector comes before the first kernel's first byte
 * (guest/boot/floppy.asm), which is linked at KERNEL_OFFSET + KERNEL_LOAD. */
#define IMAGE_KERNEL_OFFSET 512u
#define IMAGE_SECTOR 512u

/* Where the booted kernel (x86 or x86-64) puts things. */
struct kernel_places {
	uint64_t link_address, dll_window;
	uint16_t dll_machine;
};

static struct kernel_places places_of(bool x64)
{
	if (x64)
		return (struct kernel_places){ (uint64_t)KERNEL_OFFSET_X64 + KERNEL_LOAD,
					       KD_DLL_WINDOW_X64, PE_MACHINE_AMD64 };
	return (struct kernel_places){ (uint64_t)KERNEL_OFFSET_X86 + KERNEL_LOAD, KD_DLL_WINDOW_X86,
				       PE_MACHINE_I386 };
}

struct named {
	uint64_t address; /* 32 bits for the x86 kernel, the higher half's for x64 */
	bool code;
	size_t order; /* as read: the sort is stable with it */
	char *name;
};

struct name_table {
	struct named *entries;
	size_t count, capacity; /* capacity in bytes */
};

static void add_name(struct name_table *t, uint64_t address, bool code, const char *name)
{
	t->entries = bxkd_grow(t->entries, &t->capacity, (t->count + 1) * sizeof(*t->entries),
			       256 * sizeof(*t->entries));
	t->entries[t->count] = (struct named){ address, code, t->count,
					       bxkd_strdup(name) };
	t->count++;
}

static bool add_kernel_symbol(void *ctx, uint64_t address, char type, const char *name)
{
	if (type != 'A' && type != 'a')
		add_name(ctx, address, type == 'T' || type == 't', name);
	return true;
}

static uint64_t address_of(const struct name_table *t, const char *name)
{
	for (size_t i = 0; i < t->count; i++)
		if (!strcmp(t->entries[i].name, name))
			return t->entries[i].address;
	return 0;
}

/* Our floppy holds the 32-bit kernel and then the x86-64 one, each from a
 * sector boundary (guest/boot/floppy.asm): the KD DLL's file, `offset` into
 * the first kernel whose DLL there has the machine wanted. NULL if none
 * has, with the reader's verdict on the first kernel's. */
static const uint8_t *find_dll_file(const uint8_t *image, size_t image_size, size_t offset,
				    uint32_t size, uint16_t machine, struct pe_headers *h,
				    enum pe_verdict *v)
{
	*v = PE_TRUNCATED;
	for (size_t at = IMAGE_KERNEL_OFFSET + offset; at <= image_size && size <= image_size - at;
	     at += IMAGE_SECTOR) {
		enum pe_verdict here = pe_read_headers(image + at, size, machine, h);
		if (here == PE_OK || at == IMAGE_KERNEL_OFFSET + offset)
			*v = here;
		if (here == PE_OK)
			return image + at;
	}
	return NULL;
}

/* The DLL's exports at the kernel's DLL window + RVA; false, said, if the
 * image does not carry a DLL the kernel's reader accepts. */
static bool add_dll_exports(struct name_table *t, const char *image_path, bool x64)
{
	const struct kernel_places k = places_of(x64);
	uint64_t start = address_of(t, "kd_dll_file_start"), end = address_of(t, "kd_dll_file_end");
	size_t image_size = 0;
	uint8_t *image = (uint8_t *)bxvm_read_file(image_path, &image_size);
	const uint8_t *file = NULL;
	uint8_t *mapped = NULL;
	struct pe_headers h;
	enum pe_verdict v = PE_TRUNCATED;

	if (image && start >= k.link_address && end > start &&
	    start - k.link_address <= image_size && end - start <= image_size)
		file = find_dll_file(image, image_size, (size_t)(start - k.link_address),
				     (uint32_t)(end - start), k.dll_machine, &h, &v);
	if (file) {
		mapped = bxkd_xmalloc(h.size_of_image);
		v = pe_map_image(file, (uint32_t)(end - start), &h, mapped, h.size_of_image);
	}
	for (uint32_t i = 0; v == PE_OK; i++) {
		const char *name = NULL;
		uint32_t rva = 0;
		enum pe_verdict export = pe_export_at(mapped, &h, i, &name, &rva, NULL);
		if (export == PE_OK)
			add_name(t, k.dll_window + rva, true, name);
		else if (!name)
			break; /* past the last one, or a table the kernel would refuse too */
	}
	if (v != PE_OK)
		bxkd_warn("%s carries no KD DLL the kernel can load (%s): no names for it in "
			  "Bochs' debugger",
			  image_path, pe_verdict_text(v));
	free(mapped);
	free(image);
	return v == PE_OK;
}

static int by_address(const void *a, const void *b)
{
	const struct named *x = a, *y = b;

	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	if (x->code != y->code)
		return x->code ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool write_symbols(const struct bochs_debugger_setup *s, const char *path, char *why,
			  size_t why_size)
{
	struct name_table t = { 0 };
	bool ok = false;

	if (!bxkd_symbols_each(s->symbols, add_kernel_symbol, &t)) {
		bxkd_error(why, why_size, "cannot read %s: %s", s->symbols, strerror(errno));
		return false;
	}
	if (s->kd && !strcmp(s->kd, "dll"))
		add_dll_exports(&t, s->image, s->x64);
	qsort(t.entries, t.count, sizeof(*t.entries), by_address);
	FILE *f = fopen(path, "w");
	if (f) {
		for (size_t i = 0; i < t.count; i++)
			fprintf(f, "%08" PRIx64 " %s\n", t.entries[i].address, t.entries[i].name);
		ok = fclose(f) == 0;
	}
	if (!ok)
		bxkd_error(why, why_size, "cannot write %s: %s", path, strerror(errno));
	for (size_t i = 0; i < t.count; i++)
		free(t.entries[i].name);
	free(t.entries);
	return ok;
}

char *bochs_debugger_prepare(const struct bochs_debugger_setup *s)
{
	char why[800];
	char *symbols = bxkd_asprintf("%s/" BOCHS_DEBUGGER_SYMBOLS, s->workdir);
	char *rc = bxkd_asprintf("%s/" BOCHS_DEBUGGER_COMMANDS, s->workdir);
	char *user = NULL;
	struct bxkd_text text = { 0 };
	bool ok = true;

	/* Bochs runs in the work directory: the name needs no quoting. */
	if (s->symbols) {
		ok = write_symbols(s, symbols, why, sizeof(why));
		bxkd_text_printf(&text, "ldsym global \"%s\"\n", BOCHS_DEBUGGER_SYMBOLS);
	}
	if (ok && s->user_commands) {
		size_t length = 0;
		user = bxvm_read_file(s->user_commands, &length);
		if (!user) {
			bxkd_error(why, sizeof(why), "cannot read the debugger commands %s: %s",
				   s->user_commands, strerror(errno));
			ok = false;
		} else {
			bxkd_text_add(&text, user, length);
			if (length && user[length - 1] != '\n')
				bxkd_text_add(&text, "\n", 1);
		}
	}
	if (ok && !bxvm_write_file(rc, text.length ? text.data : "", text.length)) {
		bxkd_error(why, sizeof(why), "cannot write %s: %s", rc, strerror(errno));
		ok = false;
	}
	free(user);
	free(symbols);
	bxkd_text_free(&text);
	if (!ok) {
		bxkd_warn("%s", why);
		free(rc);
		return NULL;
	}
	return rc;
}

/* What the stub calls to send a packet on each of our kernel's transports. */
static const char *send_function(const char *kd)
{
	static const char *const sends[][2] = { { "vmport", "kdvm_send_packet" },
						{ "serial", "kdser_send_packet" },
						{ "dll", "KdSendPacket" } };

	for (size_t i = 0; kd && i < sizeof(sends) / sizeof(*sends); i++)
		if (!strcmp(kd, sends[i][0]))
			return sends[i][1];
	return NULL;
}

void bochs_debugger_howto(const struct bochs_debugger_setup *s)
{
	uint64_t target = s->symbols ? bxkd_symbol(s->symbols, "workload_step_target") : 0;
	bool dll = s->kd && !strcmp(s->kd, "dll");
	const char *send = send_function(s->kd);

	printf("bxkd: Bochs starts in its own debugger");
	if (s->symbols)
		printf(" with the kernel's names%s (%s/" BOCHS_DEBUGGER_SYMBOLS ")",
		       dll ? " and the KD DLL's exports" : "", s->workdir);
	if (s->user_commands)
		printf(", runs %s", s->user_commands);
	printf(" and then waits at its prompt (<bochs:N>):\n"
	       "  c              continue; Ctrl-C stops the machine and returns to the prompt\n"
	       "  s [N]          step N instructions (default 1); n steps over a call\n");
	if (send && s->symbols)
		printf("  lb \"NAME\"      break at a name, e.g. lb \"%s\" (the transport's send: "
		       "reached with a debugger attached or --break)\n",
		       send);
	if (target)
		printf("  lb ADDR        break at a linear address, e.g. lb 0x%08" PRIx64
		       " (workload_step_target)\n",
		       target);
	else
		printf("  lb ADDR        break at a linear address\n");
	printf("  info break     list breakpoints; d N deletes breakpoint N\n"
	       "  r, sreg, creg  registers; u /10 disassembles at EIP; x /8wx ADDR shows memory\n"
	       "  xp /80hx 0xb8000  the screen's status row (the VGA text buffer)\n"
	       "  q              quit Bochs\n");
	if (s->symbols)
		printf("  The kernel's addresses are in %s; info symbols \"PREFIX\" lists names.\n",
		       s->symbols);
}
