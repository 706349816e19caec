/*
 * bochs_debugger.h -- `bxkd run --bochs-debugger`: Bochs' own debugger
 * with the test kernel's names.
 *
 * Before Bochs starts, the work directory gets a symbol file in the format
 * of Bochs' `ldsym` command (one "HEXADDRESS NAME" a line): the kernel's
 * symbols from kernel.symbols and, when the kernel loads the Windows KD
 * DLL (kd=dll), the DLL's exports where the kernel's loader maps it. A
 * debugger command file (Bochs' -rc) loads it, then runs the user's own
 * commands, if any; then Bochs reads its prompt from standard input.
 */
#ifndef BXKD_BOCHS_DEBUGGER_H
#define BXKD_BOCHS_DEBUGGER_H

#include <stdbool.h>
#include <stddef.h>

/* In the work directory, where Bochs runs. */
#define BOCHS_DEBUGGER_SYMBOLS "bochs-symbols.txt"
#define BOCHS_DEBUGGER_COMMANDS "debugger.rc"

struct bochs_debugger_setup {
	const char *workdir;
	const char *symbols;       /* kernel.symbols (nm -n); NULL: none */
	const char *image;         /* the image Bochs boots: the KD DLL is inside */
	const char *kd;            /* our kernel's kd= (vmport, serial, dll); NULL: not ours */
	const char *user_commands; /* --debugger-commands FILE, or NULL */
	bool x64;                  /* our x86-64 kernel (--arch x64) */
};

/* Writes the symbol file (ours only) and the command file; returns the
 * command file's path (malloc'd) for Bochs' -rc, or NULL, said. */
char *bochs_debugger_prepare(const struct bochs_debugger_setup *setup);

/* The lines bxkd prints before Bochs' prompt: what was loaded, and the
 * commands to start with. */
void bochs_debugger_howto(const struct bochs_debugger_setup *setup);

#endif /* BXKD_BOCHS_DEBUGGER_H */
