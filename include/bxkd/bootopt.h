/*
 * bxkd/bootopt.h -- the boot option block inside the test guest's image.
 *
 * Shared by the guest, which reads it, and the test harness, which finds the
 * marker in a copy of the disk image and writes the option text after it.
 */
#ifndef BXKD_BOOTOPT_H
#define BXKD_BOOTOPT_H

#define BXKD_BOOTOPT_MARKER "BXKD-BOOT-OPTIONS-V1"
#define BXKD_BOOTOPT_MARKER_SIZE 24
#define BXKD_BOOTOPT_TEXT_SIZE 232 /* including the terminating NUL */

struct bxkd_bootopt_block {
	char marker[BXKD_BOOTOPT_MARKER_SIZE];
	char text[BXKD_BOOTOPT_TEXT_SIZE];
};

_Static_assert(sizeof(struct bxkd_bootopt_block) == 256, "boot option block is 256 bytes");
_Static_assert(sizeof(BXKD_BOOTOPT_MARKER) <= BXKD_BOOTOPT_MARKER_SIZE, "marker fits");

#endif /* BXKD_BOOTOPT_H */
