/*
 * replay_describe.h -- one-line descriptions of session records and of the
 * KD traffic in them, for divergence reports and transcripts. KD messages
 * are decoded by pipe-bridge's decoder (kdtrace), the one KD decoder.
 */
#ifndef BXKD_REPLAY_DESCRIBE_H
#define BXKD_REPLAY_DESCRIBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* "backdoor tick=… IN 0x5658 CPL0 KD CALL status=OK", "kd_port send
 * DEBUG_IO result=ok 16+24 bytes", "endpoint t2d 73 bytes". */
void replay_describe_record(const struct session_record *record, uint16_t kd_command, char *out,
			    size_t size);

/* Access `index` of a BACKDOOR record with these bytes (recorded ones or
 * others): for a KD call, the shared page's header fields or the KD
 * packet in its payload; otherwise its address and length. */
void replay_describe_access(const struct session_record *call, uint32_t index,
			    const uint8_t *bytes, size_t length, uint16_t kd_command, char *out,
			    size_t size);

/* A KD packet (message header, then data) of `type`. */
void replay_describe_packet(uint16_t type, const uint8_t *payload, size_t length,
			    bool to_debugger, char *out, size_t size);

#endif /* BXKD_REPLAY_DESCRIBE_H */
