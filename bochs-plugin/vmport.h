/*
 * vmport.h -- the VMware backdoor device, independent of any emulator.
 *
 * The core answers guest accesses to the backdoor ports the way VMware does:
 * the low-bandwidth command table on port 0x5658, GuestRPC over the MESSAGE
 * command, and GuestRPC payloads over the high-bandwidth port 0x5659. It
 * knows nothing of Bochs: guest registers and memory come in through a struct
 * guest_vcpu (bxkd/guestcpu.h) and results go out the same way; KD packets
 * go out through a struct kd_host_port (bxkd/kdport.h). There are no
 * clocks, files or sockets in here, so every behaviour is a function of the
 * calls made, which is what unit tests and replay rely on.
 */
#ifndef BXKD_VMPORT_H
#define BXKD_VMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxkd/guestcpu.h"
#include "bxkd/kdport.h"
#include "log.h"

struct vmport_config {
	/* ---- settings: the bochsrc `vmport:` line (vmport_config_set) ---- */
	uint32_t vmx_type;        /* GETVERSION ECX (enum bdoor_vmx_type) */
	uint32_t hw_version;      /* GETHWVERSION */
	uint8_t uuid[16];         /* GETUUID, in the byte order of the text form */
	uint16_t screen_width;    /* GETSCREENSIZE: the host window a VMware */
	uint16_t screen_height;   /* console would show */
	uint32_t vcpu_info;       /* GET_VCPU_INFO EAX */
	uint16_t kd_command;      /* backdoor command the KD transport rides on */
	uint64_t cookie_seed;     /* GuestRPC cookies are derived from it */
	/* The KD transport (bxkd/kdvm.h): where the debugger attaches, a
	 * pipe-bridge endpoint ("" for none: KD calls answer NO_TRANSPORT),
	 * how the page is found, and the KDCOM timing towards the debugger. */
	char kd_endpoint[256];
	uint32_t kd_discovery;    /* enum kdvm_discovery (bxkd/kdvm.h) */
	uint32_t kd_resend_ms;
	uint32_t kd_retries;
	/* The host answers memory reads itself while the guest waits for a
	 * request (vmport_kd_fast.c); off by default. */
	bool kd_fastpath;
	/* Session recording and replay (replay/README.md): where to record,
	 * or the recording to replay instead of a debugger, where a replay
	 * writes its verdict, and the booted image, for the manifest. Not
	 * device settings: vmport_config_format leaves them out. */
	char record[256];
	char replay[256];
	char replay_report[256];
	char session_image[256];
	/* The KD link's live status file (pipe-bridge/kdstatus.h), for
	 * `bxkd run`'s status line; "" for none. */
	char kd_status[256];

	/* ---- facts about the emulated machine, set by the emulator glue ---- */
	uint64_t ips;           /* instructions per emulated second = TSC Hz */
	uint64_t epoch_seconds; /* guest wall clock at tick 0, seconds since 1970 */
	uint64_t ram_bytes;
};

/* What a real Workstation 17 answers (see README.md for each value). */
void vmport_config_init(struct vmport_config *config);

/* Applies one `key=value` setting. On a bad key or value returns false with
 * a sentence in `error`; the configuration is then unchanged. */
bool vmport_config_set(struct vmport_config *config, const char *key, const char *value,
		       char *error, size_t error_size);

/* The settings as `key=value, ...`, the form vmport_config_set reads back.
 * Returns the length the whole text needs, as snprintf does. */
int vmport_config_format(const struct vmport_config *config, char *buf, size_t size);

struct vmport_stats {
	uint64_t calls;            /* accesses with the right magic */
	uint64_t bad_magic;
	uint64_t unknown_commands; /* includes commands we do not implement */
	uint64_t refused_commands; /* CPL 0 only, issued at CPL > 0 */
	uint64_t rpc_messages;     /* complete GuestRPC messages received */
	uint64_t hb_transfers;
	uint64_t message_errors;   /* MESSAGE steps answered without SUCCESS */
	uint64_t kd_calls;         /* KD subcommands of any kind */
	uint64_t kd_sends, kd_receives, kd_polls;
	uint64_t kd_errors;        /* KD subcommands answered with a failure status */
	uint64_t kd_scans;         /* scans of guest RAM for the page */
	uint64_t kd_fast_answers;  /* memory reads the fast path answered */
};

struct vmport;

/* Returns NULL when out of memory. `log` may be NULL. */
struct vmport *vmport_create(const struct vmport_config *config, const struct bxkd_log *log);
void vmport_destroy(struct vmport *vp);

const struct vmport_config *vmport_get_config(const struct vmport *vp);
const struct vmport_stats *vmport_get_stats(const struct vmport *vp);

/* ---- port access -------------------------------------------------------- */

/*
 * One guest IN or OUT (any size, or one element of a string instruction) on
 * a backdoor port. Reads the call's registers through `vcpu`, runs it and
 * writes back the registers it changed. For an OUT, EAX is left alone, as
 * VMware does.
 */
void vmport_io(struct vmport *vp, const struct guest_vcpu *vcpu, struct guest_port_access *access);

/* Bochs restored a saved machine: channels open at the save are stale, so
 * their next step answers CPT and the guest reopens, as VMware does. */
void vmport_restored_from_checkpoint(struct vmport *vp);

/* ---- the KD transport: where its packets go ----------------------------- */

/* Where KD packets go from now on; NULL: nowhere (KD calls answer
 * KDVM_STATUS_NO_TRANSPORT). The port is copied. */
void vmport_set_kd_port(struct vmport *vp, const struct kd_host_port *port);

/* ---- GuestRPC host side ------------------------------------------------- */

/* A growable byte buffer for replies, capped at the 64 KiB message limit;
 * an append past the cap is refused and remembered in `overflowed`. */
struct vmport_buffer {
	uint8_t *data;
	size_t len, cap;
	bool overflowed;
};
bool vmport_buffer_append(struct vmport_buffer *b, const void *data, size_t len);
bool vmport_buffer_printf(struct vmport_buffer *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * An RPCI command handler. `args` are the bytes after "<command> " (empty
 * without arguments). Append the result to `reply`; return true for success
 * ("1 " is put in front) or false for failure ("0 ").
 */
typedef bool (*vmport_rpci_fn)(void *ctx, const uint8_t *args, size_t args_len,
			       struct vmport_buffer *reply);

/* Adds or replaces the handler for `command` (the text before the first
 * space of a request). Returns false when out of memory. */
bool vmport_rpci_register(struct vmport *vp, const char *command, vmport_rpci_fn fn, void *ctx);

/* guestinfo variables, as info-get/info-set see them ("guestinfo.x"). */
bool vmport_guestinfo_set(struct vmport *vp, const char *key, const uint8_t *value,
			  size_t value_len);
/* NULL if unset; the value is not NUL-terminated. */
const uint8_t *vmport_guestinfo_get(const struct vmport *vp, const char *key, size_t *value_len);
void vmport_guestinfo_foreach(const struct vmport *vp,
			      void (*fn)(void *ctx, const char *key, const uint8_t *value,
					 size_t value_len),
			      void *ctx);

/* The tools version the guest last reported with tools.set.version. */
bool vmport_tools_version(const struct vmport *vp, uint32_t *version);

/* TCLO: host-to-guest commands, delivered one per guest poll in order. */
bool vmport_tclo_queue(struct vmport *vp, const char *command);
/* Called with each guest answer on a TCLO channel and the command it
 * answers ("" before the first command). */
void vmport_tclo_on_answer(struct vmport *vp,
			   void (*fn)(void *ctx, const char *command, const uint8_t *answer,
				      size_t answer_len),
			   void *ctx);

#endif /* BXKD_VMPORT_H */
