/*
 * vmport_config.c -- the device's settings: defaults, `key=value` parsing
 * and the text form Bochs writes back when it saves a configuration.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/names.h"
#include "bxkd/uuid.h"
#include "vmport_internal.h"
#include "log.h"

/* "bxkd" in ASCII, then a version-4 UUID's fixed bits: every bxkd machine
 * has the same identity unless configured, so runs repeat. */
static const uint8_t default_uuid[16] = { 0x62, 0x78, 0x6b, 0x64, 0x00, 0x00, 0x40, 0x00,
					  0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };

void vmport_config_init(struct vmport_config *config)
{
	memset(config, 0, sizeof(*config));
	config->vmx_type = BDOOR_VMX_TYPE_WORKSTATION;
	config->hw_version = 20; /* Workstation 17.0's virtual hardware */
	memcpy(config->uuid, default_uuid, sizeof(default_uuid));
	config->screen_width = 1024;
	config->screen_height = 768;
	/* One vCPU: its TSC is trivially in sync with itself. */
	config->vcpu_info = BDOOR_VCPU_INFO_SYNC_VTSCS;
	config->kd_command = BDOOR_CMD_OS_NOT_FOUND;
	config->cookie_seed = 0x62786b64;
	config->kd_discovery = KDVM_DISCOVERY_REGISTER;
	config->kd_resend_ms = 250; /* pipe-bridge's defaults: 20 x 250 ms */
	config->kd_retries = 20;
}

/* A whole decimal or 0x-hex number no larger than `max`. */
static bool parse_number(const char *text, uint64_t max, uint64_t *out)
{
	char *end;

	if (!*text || *text == '-' || *text == '+' || *text == ' ')
		return false;
	errno = 0;
	unsigned long long value = strtoull(text, &end, 0);
	if (errno || *end || value > max)
		return false;
	*out = value;
	return true;
}

static const char *const vmx_type_names[] = {
	[BDOOR_VMX_TYPE_UNSET] = "unset",
	[BDOOR_VMX_TYPE_EXPRESS] = "express",
	[BDOOR_VMX_TYPE_SCALABLE_SERVER] = "esx",
	[BDOOR_VMX_TYPE_WGS] = "server",
	[BDOOR_VMX_TYPE_WORKSTATION] = "workstation",
	[BDOOR_VMX_TYPE_WORKSTATION_ENTERPRISE] = "workstation-enterprise",
};

bool vmport_config_set(struct vmport_config *config, const char *key, const char *value,
		       char *error, size_t error_size)
{
	uint64_t n;

	if (!strcmp(key, "vmx_type")) {
		for (size_t i = 0; i < sizeof(vmx_type_names) / sizeof(*vmx_type_names); i++) {
			if (!strcmp(value, vmx_type_names[i])) {
				config->vmx_type = (uint32_t)i;
				return true;
			}
		}
		if (!parse_number(value, UINT32_MAX, &n))
			return bxkd_error(error, error_size,
				    "vmx_type wants a number or one of unset, express, esx, server, "
				    "workstation, workstation-enterprise, not '%s'",
				    value);
		config->vmx_type = (uint32_t)n;
	} else if (!strcmp(key, "hw_version")) {
		if (!parse_number(value, UINT32_MAX, &n))
			return bxkd_error(error, error_size, "hw_version wants a number, not '%s'", value);
		config->hw_version = (uint32_t)n;
	} else if (!strcmp(key, "uuid")) {
		if (!bxkd_uuid_parse(value, strlen(value), config->uuid))
			return bxkd_error(error, error_size,
				    "uuid wants the form 00112233-4455-6677-8899-aabbccddeeff, not '%s'",
				    value);
	} else if (!strcmp(key, "screen")) {
		unsigned long w, h;
		char x, extra;
		if (sscanf(value, "%lu%c%lu%c", &w, &x, &h, &extra) != 3 || x != 'x' || !w || !h ||
		    w > UINT16_MAX || h > UINT16_MAX || value[0] == '-')
			return bxkd_error(error, error_size,
				    "screen wants WIDTHxHEIGHT, each 1..65535, not '%s'", value);
		config->screen_width = (uint16_t)w;
		config->screen_height = (uint16_t)h;
	} else if (!strcmp(key, "vcpu_info")) {
		if (!parse_number(value, UINT32_MAX, &n))
			return bxkd_error(error, error_size, "vcpu_info wants a number, not '%s'", value);
		config->vcpu_info = (uint32_t)n;
	} else if (!strcmp(key, "kd_command")) {
		if (!parse_number(value, UINT16_MAX, &n) || n == 0)
			return bxkd_error(error, error_size, "kd_command wants a command number 1..65535, not '%s'",
				    value);
		if (n != BDOOR_CMD_OS_NOT_FOUND && vmport_command_is_implemented((uint16_t)n))
			return bxkd_error(error, error_size,
				    "kd_command %s would hide backdoor command %s that guests use",
				    value, bdoor_command_name((uint32_t)n));
		config->kd_command = (uint16_t)n;
	} else if (!strcmp(key, "kd_endpoint")) {
		/* The syntax is pipe-bridge's (kdep_parse), checked by the glue. */
		if (strlen(value) >= sizeof(config->kd_endpoint))
			return bxkd_error(error, error_size, "kd_endpoint is longer than %zu bytes",
				    sizeof(config->kd_endpoint) - 1);
		if (strchr(value, '"'))
			return bxkd_error(error, error_size,
				    "kd_endpoint cannot contain a double quote (a bochsrc cannot carry "
				    "one): '%s'",
				    value);
		strcpy(config->kd_endpoint, strcmp(value, "none") ? value : "");
	} else if (!strcmp(key, "kd_discovery")) {
		if (!strcmp(value, "register"))
			config->kd_discovery = KDVM_DISCOVERY_REGISTER;
		else if (!strcmp(value, "scan"))
			config->kd_discovery = KDVM_DISCOVERY_SCAN;
		else
			return bxkd_error(error, error_size, "kd_discovery wants register or scan, not '%s'",
				    value);
	} else if (!strcmp(key, "kd_resend_ms")) {
		if (!parse_number(value, 60000, &n) || n == 0)
			return bxkd_error(error, error_size, "kd_resend_ms wants 1..60000, not '%s'", value);
		config->kd_resend_ms = (uint32_t)n;
	} else if (!strcmp(key, "kd_retries")) {
		if (!parse_number(value, 1000, &n) || n == 0)
			return bxkd_error(error, error_size, "kd_retries wants 1..1000, not '%s'", value);
		config->kd_retries = (uint32_t)n;
	} else if (!strcmp(key, "kd_fastpath")) {
		if (strcmp(value, "0") && strcmp(value, "1"))
			return bxkd_error(error, error_size, "kd_fastpath wants 0 or 1, not '%s'", value);
		config->kd_fastpath = value[0] == '1';
	} else if (!strcmp(key, "record") || !strcmp(key, "replay") ||
		   !strcmp(key, "replay_report") || !strcmp(key, "session_image") ||
		   !strcmp(key, "kd_status")) {
		char *field = !strcmp(key, "record")	    ? config->record
			      : !strcmp(key, "replay")	    ? config->replay
			      : !strcmp(key, "replay_report") ? config->replay_report
			      : !strcmp(key, "kd_status")     ? config->kd_status
							      : config->session_image;
		if (!*value || strlen(value) >= sizeof(config->record))
			return bxkd_error(error, error_size, "%s wants a file name of 1 to %zu bytes", key,
				    sizeof(config->record) - 1);
		strcpy(field, value);
	} else if (!strcmp(key, "cookie_seed")) {
		if (!parse_number(value, UINT64_MAX, &n))
			return bxkd_error(error, error_size, "cookie_seed wants a number, not '%s'", value);
		config->cookie_seed = n;
	} else {
		return bxkd_error(error, error_size,
			    "unknown vmport setting '%s' (known: vmx_type, hw_version, uuid, screen, "
			    "vcpu_info, kd_command, cookie_seed, kd_endpoint, kd_discovery, "
			    "kd_resend_ms, kd_retries, kd_fastpath, record, replay, replay_report, "
			    "session_image, kd_status)",
			    key);
	}
	return true;
}

/* Bochs ends an option item at a comma or a blank unless it is inside
 * double quotes, which it drops: a value with either is written quoted.
 * Values never hold a double quote (vmport_config_set refuses one). */
static const char *quote_if_needed(const char *value, char *buf, size_t size)
{
	if (!value[strcspn(value, ", \t")])
		return value;
	snprintf(buf, size, "\"%s\"", value);
	return buf;
}

int vmport_config_format(const struct vmport_config *c, char *buf, size_t size)
{
	const uint8_t *u = c->uuid;
	char endpoint[sizeof(c->kd_endpoint) + 2];

	/* kd_fastpath only when on: the settings of sessions recorded
	 * without it stay as they were. */
	return snprintf(buf, size,
			"vmx_type=%" PRIu32 ", hw_version=%" PRIu32 ", uuid=%02x%02x%02x%02x-%02x%02x-"
			"%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x, screen=%ux%u, "
			"vcpu_info=0x%" PRIx32 ", kd_command=%u, cookie_seed=0x%" PRIx64
			", kd_endpoint=%s, kd_discovery=%s, kd_resend_ms=%" PRIu32
			", kd_retries=%" PRIu32 "%s",
			c->vmx_type, c->hw_version, u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
			u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15], c->screen_width,
			c->screen_height, c->vcpu_info, c->kd_command, c->cookie_seed,
			c->kd_endpoint[0] ? quote_if_needed(c->kd_endpoint, endpoint, sizeof(endpoint))
					  : "none",
			c->kd_discovery == KDVM_DISCOVERY_SCAN ? "scan" : "register", c->kd_resend_ms,
			c->kd_retries, c->kd_fastpath ? ", kd_fastpath=1" : "");
}
