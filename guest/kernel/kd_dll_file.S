/*
 * kd_dll_file.S -- the KD transport DLL this build made
 * (guest/kdvm/kdbxkd-x86.dll), carried in the kernel image byte for byte:
 * kd_dll.c loads it with kd=dll. Without mingw-w64 the build has no DLL
 * and the span is empty (KD_DLL_FILE undefined).
 */
	.section .rodata.kd_dll, "a"
	.balign 16
	.globl kd_dll_file_start, kd_dll_file_end
kd_dll_file_start:
#ifdef KD_DLL_FILE
	.incbin KD_DLL_FILE
#endif
kd_dll_file_end:

	.section .note.GNU-stack, "", @progbits
