/*
 * vmport.h -- the VMware backdoor device, independent of any emulator.
 *
 * The core answers guest accesses to the backdoor ports the way VMware does.
 * It knows nothing of Bochs: guest registers and memory come in through a
 * struct vmport_vcpu (vmport_vcpu.h) and results go out the same way. There
 * are no clocks, files or sockets in here, so every behaviour is a function
 * of the calls made, which is what unit tests and replay rely on.
 */
#ifndef BXKD_VMPORT_H
#define BXKD_VMPORT_H

#include <stdint.h>

#include "vmport_vcpu.h"

struct vmport_config {
	/* Product type GETVERSION reports in ECX (enum bdoor_vmx_type). */
	uint32_t vmx_type;
};

/* Fills in what real VMware Workstation answers. */
void vmport_config_init(struct vmport_config *config);

enum vmport_log_level { VMPORT_LOG_DEBUG, VMPORT_LOG_INFO, VMPORT_LOG_ERROR };

/* Where the core's messages go; one line per call, no newline. */
typedef void (*vmport_log_fn)(void *ctx, enum vmport_log_level level, const char *message);

struct vmport_stats {
	uint64_t calls; /* accesses with the right magic */
	uint64_t bad_magic;
	uint64_t unknown_commands;
	uint64_t refused_commands; /* CPL 0 only, issued at CPL > 0 */
};

struct vmport;

/* Returns NULL when out of memory. `log` may be NULL. */
struct vmport *vmport_create(const struct vmport_config *config, vmport_log_fn log, void *log_ctx);
void vmport_destroy(struct vmport *vp);

enum vmport_dir { VMPORT_IN, VMPORT_OUT };

/*
 * One guest IN or OUT on a backdoor port, any access size. Reads the call's
 * registers through `vcpu`, runs the command and writes back the registers
 * it changed. Returns the value an IN delivers to AL/AX/EAX; for an OUT the
 * return value is meaningless and EAX is left alone, as VMware does.
 */
uint32_t vmport_io(struct vmport *vp, const struct vmport_vcpu *vcpu, uint16_t port,
		   enum vmport_dir dir);

const struct vmport_stats *vmport_get_stats(const struct vmport *vp);

#endif /* BXKD_VMPORT_H */
