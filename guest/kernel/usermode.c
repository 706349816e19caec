/*
 * usermode.c -- what ring 3 may do: return through its gate and use the
 * backdoor ports.
 */
#include "usermode.h"

#include "bxkd/backdoor.h"
#include "machine.h"
#include "trap.h"

void user_return(void);

/*
 * The CPU checks one bitmap bit per byte an IN or OUT touches, so the
 * doubleword IN and OUT on 0x5658 that every backdoor client issues need
 * 0x5658..0x565B open, and REP INSB/OUTSB on 0x5659 needs 0x5659. No
 * device answers 0x565A or 0x565B.
 */
#define BACKDOOR_IO_FIRST BDOOR_PORT
#define BACKDOOR_IO_COUNT 4u
_Static_assert(BDOOR_PORT_HB < BACKDOOR_IO_FIRST + BACKDOOR_IO_COUNT, "HB port is covered");

void usermode_init(void)
{
	trap_set_user_gate(USER_RETURN_VECTOR, user_return);
	io_bitmap_allow(BACKDOOR_IO_FIRST, BACKDOOR_IO_COUNT);
}
