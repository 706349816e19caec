/*
 * player.h -- a recorded session in the debugger's place: the device gets
 * its KD port answers from the recording, and every crossing the guest
 * makes is checked against the one recorded there.
 *
 * Like the recorder it stands in for the vcpu and the kd host port the
 * device core uses. The first crossing that differs in any way (order,
 * tick, registers in or out, a byte of guest memory read or written, a KD
 * port call's arguments) ends the checking with a report; after that the
 * player still answers, harmlessly, so the emulator can stop in its own
 * time. A recording cut short (session_file_read_cut, or an END that
 * says interrupted) is checked up to its last record; where the guest
 * goes past it checking ends, as at a divergence, but with a match. Sans-I/O:
 * the records come in memory (session_file_read), the report goes out as
 * text.
 */
#ifndef BXKD_PLAYER_H
#define BXKD_PLAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"
#include "bxkd/guestcpu.h"
#include "bxkd/kdport.h"

struct player;

/* `records` (the whole file, MANIFEST first, END last) must outlive the
 * player. `kd_command` is the device's, for decoding KD calls in reports.
 * NULL when out of memory. */
struct player *player_create(const struct session_record *records, size_t count,
			     uint16_t kd_command);
void player_destroy(struct player *p);

const struct guest_vcpu *player_begin_call(struct player *p, const struct guest_vcpu *real,
					    uint16_t port, enum guest_port_dir direction);
void player_end_call(struct player *p, const struct guest_port_access *access);

/* The kd host port the device gets in replay: answers from the file. */
const struct kd_host_port *player_kd_port(struct player *p);

/* The guest stopped (Bochs is shutting down): anything recorded but not
 * replayed is a divergence too. */
void player_finish(struct player *p, uint64_t tick);

bool player_diverged(const struct player *p);
/* The recording stops short (cut off, or interrupted) and the guest got
 * past its last record with every one before it matched; the report then
 * starts "replay matched N records up to the cut". */
bool player_reached_cut(const struct player *p);
/* Every record up to END was replayed and matched. */
bool player_complete(const struct player *p);
uint32_t player_records_matched(const struct player *p);

/* The divergence report (empty if none): what, where, expected and came,
 * decoded and as a hex diff, and the crossings before it. */
const char *player_report(const struct player *p);

#endif /* BXKD_PLAYER_H */
