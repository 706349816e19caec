/*
 * check_config.c -- the device's settings: defaults, parsing, refusals and
 * the text Bochs saves.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "bxkd/backdoor.h"
#include "suites.h"
#include "testcases.h"
#include "vmport.h"

static struct vmport_config config;
static char error[256];

static void setup(void)
{
	vmport_config_init(&config);
	error[0] = '\0';
}

/* Field by field: the struct has padding. */
static bool same_config(const struct vmport_config *a, const struct vmport_config *b)
{
	return a->vmx_type == b->vmx_type && a->hw_version == b->hw_version &&
	       !memcmp(a->uuid, b->uuid, sizeof(a->uuid)) && a->screen_width == b->screen_width &&
	       a->screen_height == b->screen_height && a->vcpu_info == b->vcpu_info &&
	       a->kd_command == b->kd_command && a->cookie_seed == b->cookie_seed &&
	       a->ips == b->ips && a->epoch_seconds == b->epoch_seconds &&
	       a->ram_bytes == b->ram_bytes;
}

static bool set(const char *key, const char *value)
{
	return vmport_config_set(&config, key, value, error, sizeof(error));
}

START_TEST(defaults_are_a_workstation_17)
{
	static const uint8_t bxkd_uuid[16] = { 0x62, 0x78, 0x6b, 0x64, 0, 0, 0x40, 0,
					       0x80, 0,	   0,	 0,    0, 0, 0,	   1 };

	ck_assert_uint_eq(config.vmx_type, BDOOR_VMX_TYPE_WORKSTATION);
	ck_assert_uint_eq(config.hw_version, 20);
	ck_assert_mem_eq(config.uuid, bxkd_uuid, 16);
	ck_assert_uint_eq(config.screen_width, 1024);
	ck_assert_uint_eq(config.screen_height, 768);
	ck_assert_uint_eq(config.vcpu_info, BDOOR_VCPU_INFO_SYNC_VTSCS);
	ck_assert_uint_eq(config.kd_command, BDOOR_CMD_OS_NOT_FOUND);
}
END_TEST

/* Each key with a value and the field it sets, read back as a number. */
#define FIELD(member) offsetof(struct vmport_config, member), sizeof(config.member)
static const struct {
	const char *key, *value;
	size_t offset, size;
	uint64_t want;
} parsed_settings[] = {
	{ "vmx_type", "esx", FIELD(vmx_type), 2 },
	{ "vmx_type", "5", FIELD(vmx_type), 5 },
	{ "hw_version", "0x13", FIELD(hw_version), 19 },
	{ "uuid", "00112233-4455-6677-8899-AABBCCDDEEFF", FIELD(uuid[0]), 0x00 },
	{ "uuid", "00112233-4455-6677-8899-AABBCCDDEEFF", FIELD(uuid[15]), 0xff },
	{ "screen", "800x600", FIELD(screen_width), 800 },
	{ "screen", "800x600", FIELD(screen_height), 600 },
	{ "vcpu_info", "0x8", FIELD(vcpu_info), 8 },
	{ "kd_command", "200", FIELD(kd_command), 200 },
	{ "cookie_seed", "12345", FIELD(cookie_seed), 12345 },
};

START_TEST(each_setting_is_parsed)
{
	for (size_t i = 0; i < sizeof(parsed_settings) / sizeof(parsed_settings[0]); i++) {
		uint64_t got = 0;
		ck_assert_msg(set(parsed_settings[i].key, parsed_settings[i].value), "%s=%s",
			      parsed_settings[i].key, parsed_settings[i].value);
		/* Little-endian host: the low bytes of `got` are the field. */
		memcpy(&got, (const uint8_t *)&config + parsed_settings[i].offset,
		       parsed_settings[i].size);
		ck_assert_msg(got == parsed_settings[i].want, "%s=%s gave %" PRIu64,
			      parsed_settings[i].key, parsed_settings[i].value, got);
	}
}
END_TEST

START_TEST(bad_values_are_refused_with_a_reason_and_change_nothing)
{
	static const char *const bad[][2] = {
		{ "vmx_type", "bogus" },
		{ "vmx_type", "-1" },
		{ "hw_version", "" },
		{ "hw_version", "20x" },
		{ "hw_version", "99999999999" },
		{ "uuid", "00112233-4455-6677-8899-aabbccddeef" },
		{ "uuid", "00112233x4455-6677-8899-aabbccddeeff" },
		{ "uuid", "0011223g-4455-6677-8899-aabbccddeeff" },
		{ "screen", "800" },
		{ "screen", "0x600" },
		{ "screen", "800x70000" },
		{ "screen", "800x600x" },
		{ "kd_command", "0" },
		{ "kd_command", "65536" },
		{ "no_such_key", "1" },
	};
	struct vmport_config before = config;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		error[0] = '\0';
		ck_assert_msg(!set(bad[i][0], bad[i][1]), "%s=%s accepted", bad[i][0], bad[i][1]);
		ck_assert_msg(strlen(error) > 10, "no reason for %s=%s", bad[i][0], bad[i][1]);
		ck_assert(same_config(&config, &before));
	}
}
END_TEST

/* The KD transport must not take over a command guests rely on. */
START_TEST(kd_command_cannot_hide_a_real_command)
{
	ck_assert(!set("kd_command", "30"));
	ck_assert_ptr_nonnull(strstr(error, "MESSAGE"));
	ck_assert(!set("kd_command", "10"));
	ck_assert(set("kd_command", "18"));
}
END_TEST

/* Bochs' reading of a bochsrc option line: items end at a comma or a blank
 * outside double quotes, and the quotes themselves are dropped. Each
 * `key=value` item is handed to vmport_config_set, as the glue does. */
static void read_back(const char *text, struct vmport_config *parsed)
{
	char item[512];
	size_t n = 0;
	bool quoted = false;

	vmport_config_init(parsed);
	for (const char *c = text;; c++) {
		if (*c && (quoted || (*c != ',' && *c != ' '))) {
			if (*c == '"')
				quoted = !quoted;
			else if (n + 1 < sizeof(item))
				item[n++] = *c;
			continue;
		}
		item[n] = '\0';
		if (n) {
			char *eq = strchr(item, '=');
			ck_assert_ptr_nonnull(eq);
			*eq = '\0';
			ck_assert_msg(vmport_config_set(parsed, item, eq + 1, error, sizeof(error)),
				      "%s", error);
		}
		n = 0;
		if (!*c)
			break;
	}
}

START_TEST(the_saved_form_reads_back_the_same)
{
	char text[512];
	struct vmport_config parsed;

	ck_assert(set("vmx_type", "2"));
	ck_assert(set("uuid", "00112233-4455-6677-8899-aabbccddeeff"));
	ck_assert(set("screen", "640x480"));
	ck_assert(set("cookie_seed", "0xfeedface"));
	ck_assert(set("kd_endpoint", "unix:/tmp/kd.sock"));
	ck_assert(set("kd_discovery", "scan"));
	int n = vmport_config_format(&config, text, sizeof(text));
	ck_assert_int_eq(n, (int)strlen(text));
	ck_assert_ptr_nonnull(strstr(text, ", kd_endpoint=unix:/tmp/kd.sock, "));

	read_back(text, &parsed);
	ck_assert(same_config(&parsed, &config));
	ck_assert_str_eq(parsed.kd_endpoint, config.kd_endpoint);
	ck_assert_uint_eq(parsed.kd_discovery, config.kd_discovery);
}
END_TEST

/* F6: an endpoint with a blank or a comma in it is quoted in the saved
 * form, so Bochs reads the same endpoint back. */
START_TEST(an_endpoint_with_blanks_and_commas_reads_back_the_same)
{
	static const char *const endpoints[] = { "unix:/tmp/my dir/kd.sock", "pty:/tmp/a,b",
						 "connect:/tmp/x  y" };
	char text[512];
	struct vmport_config parsed;

	for (size_t i = 0; i < sizeof(endpoints) / sizeof(*endpoints); i++) {
		ck_assert(set("kd_endpoint", endpoints[i]));
		vmport_config_format(&config, text, sizeof(text));
		read_back(text, &parsed);
		ck_assert_str_eq(parsed.kd_endpoint, endpoints[i]);
		ck_assert(same_config(&parsed, &config));
	}
}
END_TEST

/* A double quote cannot reach the device through a bochsrc (Bochs drops
 * every one), so no setting may hold one: the saved form could not carry it. */
START_TEST(an_endpoint_with_a_double_quote_is_refused)
{
	ck_assert(!set("kd_endpoint", "unix:/tmp/a\"b"));
	ck_assert_ptr_nonnull(strstr(error, "double quote"));
	ck_assert_str_eq(config.kd_endpoint, "");
}
END_TEST

BXKD_SUITE(config,
	testcases_add_with(s, "config", 0, setup, NULL, TESTS(
		defaults_are_a_workstation_17, each_setting_is_parsed,
		bad_values_are_refused_with_a_reason_and_change_nothing,
		kd_command_cannot_hide_a_real_command, the_saved_form_reads_back_the_same,
		an_endpoint_with_blanks_and_commas_reads_back_the_same,
		an_endpoint_with_a_double_quote_is_refused));
)
