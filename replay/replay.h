/*
 * replay.h -- the subcommands of bxkd-replay (bxkd-replay.c dispatches).
 *
 * Each takes its own argv, argv[0] being the subcommand's name, and
 * returns the process's exit status: 0 done, 1 failed (the reason already
 * printed), 2 a usage error. Each tool lives in its own file and is added
 * here and to the table in bxkd-replay.c.
 */
#ifndef BXKD_REPLAY_H
#define BXKD_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

/* Exit statuses of every subcommand. */
#define REPLAY_EXIT_DONE 0
#define REPLAY_EXIT_FAILED 1
#define REPLAY_EXIT_USAGE 2
/* verify: every record up to the cut of a recording cut short (cut off,
 * or interrupted) matched; dump: a recording cut off was shown up to the
 * cut. */
#define REPLAY_EXIT_MATCHED_TO_CUT 3

/* bxkd-replay dump SESSION [--json]: the session as a transcript (dump.c). */
int replay_dump(int argc, char **argv);

/* bxkd-replay verify SESSION [options]: boots the recorded image with the
 * device in replay mode and checks every crossing (verify.c). */
int replay_verify(int argc, char **argv);

/* bxkd-replay serve SESSION --listen SPEC [options]: plays the target's side
 * of the recorded debugger conversation to a live debugger and checks its
 * bytes against the recording (serve.c). */
int replay_serve(int argc, char **argv);

/* bxkd-replay upgrade IN OUT: a session file of an older format version
 * written again in the current one, record for record (upgrade.c). */
int replay_upgrade(int argc, char **argv);

/* bxkd-replay walkthrough SESSION: a Markdown walk through the session's
 * attach and first exchanges, every byte labelled (walkthrough.c). */
int replay_walkthrough(int argc, char **argv);

struct session_file;
/* session_file_read, for a subcommand that needs a whole session: false
 * with the reason printed, and for a file cut off, that it is cut off and
 * what can read it. */
bool replay_read_whole(const char *path, struct session_file *file);

/* The backdoor command the KD transport rides on, from the manifest's
 * device settings ("..., kd_command=18, ..."); the default if absent. */
uint16_t replay_manifest_kd_command(const struct session_file *file);

#endif /* BXKD_REPLAY_H */
