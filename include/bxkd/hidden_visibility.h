/*
 * bxkd/hidden_visibility.h -- forced into every file of the x86-64 test
 * kernel (FREESTANDING64_CFLAGS, -include). The kernel is one static image
 * of position-independent code linked high (0xFFFFF80000100000): every
 * symbol it declares is its own, so the compiler may reach it RIP-relative.
 * Without this a declared function's address is loaded from the GOT,
 * which a static link at that address cannot turn into an immediate.
 */
#pragma GCC visibility push(hidden)
