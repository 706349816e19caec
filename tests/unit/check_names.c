/*
 * check_names.c -- the one table of protocol names (bxkd/names.h)
 * against the other copy the project ships: the Wireshark dissector's Lua
 * tables (replay/bxkd.lua), which cannot call C. A name added or changed on
 * one side only fails here.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bxkd/backdoor.h"
#include "bxkd/dbgkd.h"
#include "bxkd/kdport.h"
#include "bxkd/kdvm.h"
#include "bxkd/names.h"
#include "suites.h"
#include "testcases.h"

#define MAX_ENTRIES 128

struct name_entry {
	uint32_t value;
	char name[48];
};

struct name_list {
	struct name_entry entries[MAX_ENTRIES];
	size_t count;
};

static char *read_dissector(void)
{
	FILE *f = fopen(BXKD_SOURCE_DIR "/replay/bxkd.lua", "rb");
	ck_assert_msg(f, "cannot open replay/bxkd.lua");
	static char text[256 * 1024];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return text;
}

/* The `[N] = "NAME"` pairs of `local <table> = { ... }` in the dissector. */
static void lua_table(const char *table, struct name_list *out)
{
	char opening[64];
	const char *text = read_dissector();

	snprintf(opening, sizeof(opening), "local %s = {", table);
	const char *p = strstr(text, opening);
	ck_assert_msg(p, "replay/bxkd.lua has no table %s", table);
	const char *end = strchr(p, '}');
	ck_assert_ptr_nonnull(end);
	out->count = 0;
	for (p = strchr(p, '['); p && p < end; p = strchr(p + 1, '[')) {
		char *after;
		unsigned long value = strtoul(p + 1, &after, 0);
		const char *quote = strchr(after, '"');
		const char *close = quote ? strchr(quote + 1, '"') : NULL;
		ck_assert_msg(*after == ']' && close && close < end, "%s: cannot read an entry",
			      table);
		ck_assert_uint_lt(out->count, MAX_ENTRIES);
		struct name_entry *e = &out->entries[out->count++];
		e->value = (uint32_t)value;
		snprintf(e->name, sizeof(e->name), "%.*s", (int)(close - quote - 1), quote + 1);
	}
}

typedef const char *name_fn(uint32_t value);

/* Every value below `limit` the C table names. */
static void c_table(name_fn *name_of, uint32_t limit, struct name_list *list)
{
	list->count = 0;
	for (uint32_t value = 0; value < limit; value++) {
		const char *name = name_of(value);
		if (!name)
			continue;
		ck_assert_uint_lt(list->count, MAX_ENTRIES);
		list->entries[list->count].value = value;
		snprintf(list->entries[list->count].name, sizeof(list->entries[0].name), "%s",
			 name);
		list->count++;
	}
}

static const char *find(const struct name_list *list, uint32_t value)
{
	for (size_t i = 0; i < list->count; i++)
		if (list->entries[i].value == value)
			return list->entries[i].name;
	return NULL;
}

/* The dissector's table names exactly the C table's values, with the same
 * names, below `limit`; at or above it only `extra` (a sentinel the
 * dissector shows by name, such as the "no answer" value) may stand. */
static void assert_same(const char *table, name_fn *name_of, uint32_t limit, uint32_t extra,
			const char *extra_name)
{
	struct name_list lua, c;

	lua_table(table, &lua);
	c_table(name_of, limit, &c);
	for (size_t i = 0; i < c.count; i++) {
		const char *name = find(&lua, c.entries[i].value);
		ck_assert_msg(name && !strcmp(name, c.entries[i].name),
			      "%s[%u]: C says %s, replay/bxkd.lua says %s", table,
			      c.entries[i].value, c.entries[i].name, name ? name : "nothing");
	}
	for (size_t i = 0; i < lua.count; i++) {
		uint32_t value = lua.entries[i].value;
		if (extra_name && value == extra) {
			ck_assert_str_eq(lua.entries[i].name, extra_name);
			continue;
		}
		ck_assert_msg(value < limit && find(&c, value),
			      "%s[%u] = %s in replay/bxkd.lua has no C name", table, value,
			      lua.entries[i].name);
	}
}

START_TEST(backdoor_commands_agree)
{
	assert_same("commands", bdoor_command_name, BDOOR_CMD_MAX, 0, NULL);
}
END_TEST

START_TEST(kd_subcommands_agree)
{
	assert_same("kd_subcommands", kdvm_subcommand_name, 256, 0, NULL);
}
END_TEST

START_TEST(kd_statuses_agree)
{
	assert_same("kd_statuses", kdvm_status_name, 256, BDOOR_NO_ANSWER, "REFUSED");
}
END_TEST

START_TEST(kd_requests_agree)
{
	assert_same("kd_requests", kdvm_request_name, 256, 0, NULL);
}
END_TEST

/* A session file's KD_PORT result: never KD_ABANDONED (session.h). */
START_TEST(kd_port_results_agree)
{
	assert_same("kd_port_results", kd_outcome_name, KD_INVALID + 1, 0, NULL);
}
END_TEST

/* The page's result field: KD_OK .. KD_DROPPED, or untouched. */
START_TEST(kd_page_results_agree)
{
	assert_same("kd_page_results", kd_outcome_name, KD_DROPPED + 1, KDVM_RESULT_UNTOUCHED,
		    "NONE");
}
END_TEST

/* dbgkd.h names what it does not know "unknown ..."; the tables here
 * want NULL for those. */
static const char *known_or_null(const char *name)
{
	return strncmp(name, "unknown", strlen("unknown")) ? name : NULL;
}

static const char *manipulate_api_name(uint32_t api)
{
	return known_or_null(dbgkd_manipulate_name(api));
}

static const char *state_change_name(uint32_t state)
{
	/* The alternate bit names the same states; the dissector masks it. */
	return state & DBGKD_ALTERNATE_STATE_CHANGE ? NULL
						     : known_or_null(dbgkd_state_change_name(state));
}

START_TEST(dbgkd_manipulate_apis_agree)
{
	assert_same("manipulate_apis", manipulate_api_name, DBGKD_MAXIMUM_MANIPULATE, 0, NULL);
}
END_TEST

START_TEST(dbgkd_state_changes_agree)
{
	assert_same("state_changes", state_change_name, DBGKD_READ_VIRTUAL_MEMORY_API, 0, NULL);
}
END_TEST

START_TEST(unknown_numbers_have_no_name)
{
	ck_assert_ptr_null(bdoor_command_name(BDOOR_CMD_MAX));
	ck_assert_ptr_null(bdoor_command_name(3));
	ck_assert_ptr_null(kdvm_status_name(BDOOR_NO_ANSWER));
	ck_assert_ptr_null(kd_outcome_name(KD_ABANDONED + 1));
	ck_assert_str_eq(bdoor_command_name(BDOOR_CMD_OS_NOT_FOUND), "OS_NOT_FOUND");
	ck_assert(bdoor_command_info(BDOOR_CMD_OS_NOT_FOUND)->cpl0_only);
	ck_assert(!bdoor_command_info(BDOOR_CMD_GETVERSION)->cpl0_only);
}
END_TEST

BXKD_SUITE(names,
	testcases_add(s, "dissector", 0, TESTS(
		backdoor_commands_agree, kd_subcommands_agree, kd_statuses_agree,
		kd_requests_agree, kd_port_results_agree, kd_page_results_agree,
		dbgkd_manipulate_apis_agree, dbgkd_state_changes_agree,
		unknown_numbers_have_no_name));
)
