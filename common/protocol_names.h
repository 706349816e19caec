/*
 * protocol_names.h -- the names of the numbers the protocols use, in one
 * place: the device's log, bxkd-replay dump and the replay divergence report
 * all print these, and replay/bxkd.lua's tables must agree with them (the
 * names suite checks that).
 *
 * Every function returns NULL for a number it does not know, so a caller
 * decides how an unknown value reads.
 */
#ifndef BXKD_COMMON_PROTOCOL_NAMES_H
#define BXKD_COMMON_PROTOCOL_NAMES_H

#include <stdbool.h>
#include <stdint.h>

/* A low-bandwidth backdoor command VMware has (bxkd/backdoor.h). */
struct bdoor_command_info {
	const char *name;
	/* VMware refuses it at CPL > 0. */
	bool cpl0_only;
};
/* NULL for a command number VMware does not have. */
const struct bdoor_command_info *bdoor_command_info(uint32_t command);
const char *bdoor_command_name(uint32_t command);
/* MESSAGE's subcommand: the GuestRPC step ("OPEN", "SENDSIZE", ...). */
const char *bdoor_message_step_name(uint32_t step);
/* The high-bandwidth port's command, in EBX. */
const char *bdoor_hb_command_name(uint32_t command);

/* The KD transport on the backdoor (bxkd/kdvm.h). */
const char *kdvm_subcommand_name(uint32_t subcommand);
const char *kdvm_status_name(uint32_t status);
const char *kdvm_request_name(uint32_t request);
const char *kdvm_discovery_name(uint32_t discovery);

/* enum kd_outcome (bxkd/kdport.h): "OK", "TIMED_OUT", ... */
const char *kd_outcome_name(uint32_t outcome);

/* Calls fn for every named value of one table, in order; for tests that
 * hold other copies of these names (the Wireshark dissector) against them. */
enum protocol_name_table {
	PROTOCOL_NAMES_BDOOR_COMMAND,
	PROTOCOL_NAMES_KDVM_SUBCOMMAND,
	PROTOCOL_NAMES_KDVM_STATUS,
	PROTOCOL_NAMES_KDVM_REQUEST,
	PROTOCOL_NAMES_KD_OUTCOME,
};
void protocol_names_foreach(enum protocol_name_table table,
			    void (*fn)(void *ctx, uint32_t value, const char *name), void *ctx);

#endif /* BXKD_COMMON_PROTOCOL_NAMES_H */
