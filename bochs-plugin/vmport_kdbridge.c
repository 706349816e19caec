/*
 * vmport_kdbridge.c -- the kd host port over pipe-bridge (see
 * vmport_kdbridge.h).
 */
#include "config.h"

#include "vmport_kdbridge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kdbridge.h"

struct vmport_kdbridge {
	struct kdbridge *bridge;
	struct vmport_kd_port port;
	vmport_log_fn log;
	void *log_ctx;
	vmport_kdbridge_observe_fn observe;
	void *observe_ctx;
	struct kdbridge_observer observer;
};

/* kdbridge's events in the order session.h numbers them, from 1. */
static void bridge_observe(void *ctx, enum kdbridge_event event, const void *bytes,
			   size_t length)
{
	struct vmport_kdbridge *kb = ctx;

	kb->observe(kb->observe_ctx, (int)event + 1, bytes, length);
}

bool vmport_kdbridge_check_endpoint(const char *spec, char *error, size_t error_size)
{
	struct kdep_options options;

	return kdep_parse(spec, &options, error, error_size);
}

static enum vmport_kd_result from_bridge(enum kdbridge_status status)
{
	switch (status) {
	case KDBRIDGE_OK:
		return VMPORT_KD_OK;
	case KDBRIDGE_ABANDONED:
		/* The debugger reset the link before taking our reply; the
		 * stub's next receive says NeedsResend. For the guest the send
		 * is over, with a debugger present. */
		return VMPORT_KD_OK;
	case KDBRIDGE_DROPPED:
		return VMPORT_KD_DROPPED;
	case KDBRIDGE_TIMED_OUT:
		return VMPORT_KD_TIMED_OUT;
	case KDBRIDGE_NEEDS_RESEND:
		return VMPORT_KD_NEEDS_RESEND;
	case KDBRIDGE_INVALID:
		break;
	}
	return VMPORT_KD_INVALID;
}

static enum vmport_kd_result port_send(void *ctx, uint32_t packet_type, const uint8_t *header,
				       size_t header_length, const uint8_t *data,
				       size_t data_length)
{
	struct vmport_kdbridge *kb = ctx;

	if (packet_type > UINT16_MAX)
		return VMPORT_KD_INVALID;
	return from_bridge(kdbridge_send(kb->bridge, (uint16_t)packet_type, header, header_length,
					 data, data_length));
}

static enum vmport_kd_result port_receive(void *ctx, uint32_t packet_type, uint8_t *header,
					  size_t header_length, uint8_t *data,
					  size_t data_capacity, size_t *data_length,
					  uint32_t timeout_ms)
{
	struct vmport_kdbridge *kb = ctx;

	if (packet_type > UINT16_MAX)
		return VMPORT_KD_INVALID;
	return from_bridge(kdbridge_receive(kb->bridge, (uint16_t)packet_type, header,
					    header_length, data, data_capacity, data_length,
					    timeout_ms));
}

static bool port_poll_breakin(void *ctx)
{
	return kdbridge_poll_breakin(((struct vmport_kdbridge *)ctx)->bridge);
}

static bool port_debugger_present(void *ctx)
{
	return kdbridge_debugger_answers(((struct vmport_kdbridge *)ctx)->bridge);
}

static bool port_debugger_attached(void *ctx)
{
	return kdbridge_debugger_attached(((struct vmport_kdbridge *)ctx)->bridge);
}

static void bridge_log(void *ctx, const char *message)
{
	struct vmport_kdbridge *kb = ctx;
	char line[600];

	if (!kb->log)
		return;
	snprintf(line, sizeof(line), "KD: %s", message);
	kb->log(kb->log_ctx, VMPORT_LOG_INFO, line);
}

struct vmport_kdbridge *vmport_kdbridge_open(const struct vmport_config *config, vmport_log_fn log,
					     void *log_ctx, vmport_kdbridge_observe_fn observe,
					     void *observe_ctx, char *error, size_t error_size)
{
	struct vmport_kdbridge *kb = calloc(1, sizeof(*kb));
	struct kdbridge_options o;

	if (!kb) {
		snprintf(error, error_size, "out of memory");
		return NULL;
	}
	kb->log = log;
	kb->log_ctx = log_ctx;
	kdbridge_options_init(&o);
	if (!kdep_parse(config->kd_endpoint, &o.endpoint, error, error_size)) {
		free(kb);
		return NULL;
	}
	o.resend_timeout_ms = config->kd_resend_ms;
	o.retries = config->kd_retries;
	o.log = bridge_log;
	o.log_ctx = kb;
	if (observe) {
		kb->observe = observe;
		kb->observe_ctx = observe_ctx;
		kb->observer = (struct kdbridge_observer){ bridge_observe, kb };
		o.observer = &kb->observer;
	}
	kb->bridge = kdbridge_open(&o, error, error_size);
	if (!kb->bridge) {
		free(kb);
		return NULL;
	}
	kb->port = (struct vmport_kd_port){
		.ctx = kb,
		.send = port_send,
		.receive = port_receive,
		.poll_breakin = port_poll_breakin,
		.debugger_present = port_debugger_present,
		.debugger_attached = port_debugger_attached,
	};
	return kb;
}

void vmport_kdbridge_close(struct vmport_kdbridge *kb)
{
	if (!kb)
		return;
	kdbridge_close(kb->bridge);
	free(kb);
}

const struct vmport_kd_port *vmport_kdbridge_port(const struct vmport_kdbridge *kb)
{
	return &kb->port;
}

const char *vmport_kdbridge_address(const struct vmport_kdbridge *kb)
{
	return kdep_address(kdbridge_endpoint(kb->bridge));
}

const char *vmport_kdbridge_attach_hint(const struct vmport_kdbridge *kb)
{
	return kdep_attach_hint(kdbridge_endpoint(kb->bridge));
}

void vmport_kdbridge_summary(const struct vmport_kdbridge *kb, char *line, size_t size)
{
	const struct kdcom_stats *s = kdbridge_stats(kb->bridge);

	snprintf(line, size,
		 "KD link: %" PRIu64 " packets sent, %" PRIu64 " received, %" PRIu64
		 " retransmitted, %" PRIu64 " resets, %" PRIu64 " break-ins, %" PRIu64
		 " damaged frames, %" PRIu64 " garbage bytes",
		 s->packets_sent, s->packets_received,
		 s->retransmissions - kdbridge_unheard_retransmissions(kb->bridge), s->resets, s->breakins,
		 s->bad_checksums + s->bad_frames, s->garbage_bytes);
}
