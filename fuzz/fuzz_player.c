/*
 * fuzz_player.c -- the replay player (replay/player.c) on any session file:
 * a guest on a fake vCPU (tests/unit/fake_vcpu.c) makes the calls the
 * file's BACKDOOR records say it made, with the guest memory they say the
 * device read, through the player and the real device core, as
 * `vmport: replay=` does under Bochs. A file taken from a real run replays
 * to its end; a damaged one diverges somewhere, with a report.
 *
 * Invariants: nothing the file says makes the player or the device read
 * or write outside what they own; the player's report is a string; a
 * player that did not diverge replayed every record (player_complete).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fake_vcpu.h"
#include "fuzz_input.h"
#include "player.h"
#include "session.h"
#include "session_file.h"
#include "vmport.h"
#include "vmport_line.h"

#define RAM_SIZE (32u << 20)

static struct fake_vcpu cpu;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fake_vcpu_init(&cpu, RAM_SIZE);
	return 0;
}

static const enum guest_reg session_to_guest[SESSION_REGS] = {
	GUEST_REG_EAX, GUEST_REG_ECX, GUEST_REG_EDX, GUEST_REG_EBX,
	GUEST_REG_EBP, GUEST_REG_ESI, GUEST_REG_EDI,
};

/* The guest memory the recorded call read, put where the device reads it. */
static void place_reads(const struct session_record *r)
{
	for (uint32_t i = 0; i < r->u.backdoor.fixed.accesses; i++) {
		struct session_access a;
		const uint8_t *bytes;
		if (session_backdoor_access(r, i, &a, &bytes) && a.ok && !a.write &&
		    a.address < RAM_SIZE && a.length <= RAM_SIZE - a.address)
			memcpy(cpu.memory + a.address, bytes, a.length);
	}
}

static void replay_call(struct player *p, struct vmport *vp, const struct session_record *r)
{
	const struct session_backdoor *b = &r->u.backdoor.fixed;
	struct guest_port_access access = { .port = b->port,
					    .dir = b->direction ? GUEST_PORT_OUT : GUEST_PORT_IN };

	for (int i = 0; i < SESSION_REGS; i++)
		cpu.reg[session_to_guest[i]] = b->regs_in[i];
	cpu.cpl = b->cpl & 3;
	cpu.ticks = r->h.tick;
	place_reads(r);
	const struct guest_vcpu *vcpu = player_begin_call(p, &cpu.vcpu, access.port, access.dir);
	vmport_io(vp, vcpu, &access);
	player_end_call(p, &access);
}

static void configure(const struct session_file *f, struct vmport_config *config)
{
	char line[1024], error[256];

	vmport_config_init(config);
	config->ram_bytes = RAM_SIZE;
	config->ips = 4000000;
	config->epoch_seconds = 946684800;
	if (session_file_manifest(f, "vmport", line, sizeof(line)))
		vmport_line_apply(config, line, strlen(line), error, sizeof(error));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session_file f;
	struct vmport_config config;
	char error[512];

	if (!session_file_read(fuzz_write_file(data, size), &f, error, sizeof(error)))
		return 0;
	configure(&f, &config);
	struct player *p = player_create(f.records, f.count, config.kd_command);
	struct vmport *vp = vmport_create(&config, NULL);
	FUZZ_ASSERT(p && vp, "out of memory");
	vmport_set_kd_port(vp, player_kd_port(p));
	for (size_t i = 0; i < f.count && !player_diverged(p); i++) {
		if (f.records[i].h.kind == SESSION_BACKDOOR)
			replay_call(p, vp, &f.records[i]);
	}
	player_finish(p, f.records[f.count - 1].h.tick);
	const char *report = player_report(p);
	FUZZ_ASSERT(report && strlen(report) < (1u << 20), "no report");
	FUZZ_ASSERT(player_diverged(p) || player_complete(p),
		    "the player neither diverged nor completed");
	vmport_destroy(vp);
	player_destroy(p);
	session_file_free(&f);
	return 0;
}
