/*
 * demo_answers.c -- bxkd-dbg's answers (one JSON object per command, read
 * with json-c), each shown on one short line of the demo's transcript.
 */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "demo.h"

/* Bytes shown of a memory read; the rest is " ...". */
#define SHOWN_BYTES 64

/* A member as text: strings as they are, anything else as JSON writes it;
 * NULL when there is no such member. */
static const char *member(struct json_object *answer, const char *key)
{
	struct json_object *value;

	if (!json_object_object_get_ex(answer, key, &value))
		return NULL;
	return json_object_get_string(value);
}

static const char *member_or(struct json_object *answer, const char *key, const char *otherwise)
{
	const char *value = member(answer, key);

	return value ? value : otherwise;
}

bool demo_answer_ok(struct json_object *answer)
{
	struct json_object *ok;

	return json_object_object_get_ex(answer, "ok", &ok) && json_object_is_type(ok, json_type_boolean) &&
	       json_object_get_boolean(ok);
}

/* Bytes from hex, shown as a quoted string with escapes. */
static void print_hex_as_text(FILE *out, const char *hex)
{
	fputc('"', out);
	for (size_t i = 0; hex[i] && hex[i + 1] && i < 2 * SHOWN_BYTES; i += 2) {
		unsigned byte;
		if (sscanf(hex + i, "%2x", &byte) != 1)
			break;
		if (byte == '"' || byte == '\\')
			fprintf(out, "\\%c", byte);
		else if (byte == '\n')
			fputs(" ...", out);
		else if (byte >= 0x20 && byte < 0x7f)
			fputc((int)byte, out);
		else
			fprintf(out, "\\x%02x", byte);
	}
	fputc('"', out);
	if (strlen(hex) > 2 * SHOWN_BYTES)
		fputs(" ...", out);
}

static void print_quoted(FILE *out, const char *text)
{
	fputc('"', out);
	for (; *text; text++) {
		if (*text == '\n')
			fputs(" ...", out);
		else if (*text == '"')
			fputs("\\\"", out);
		else
			fputc(*text, out);
	}
	fputc('"', out);
}

static const char *stop_reason(const char *code)
{
	if (!code)
		return "stop";
	if (!strcmp(code, "0x80000003"))
		return "breakpoint";
	if (!strcmp(code, "0x80000004"))
		return "single step";
	return "exception";
}

/* 0x00000003 -> 00000003, as bxkd-dbg's own text shows registers. */
static const char *bare(const char *value)
{
	return value && !strncmp(value, "0x", 2) ? value + 2 : value ? value : "?";
}

/* An AMD64 target's answer has rip where an x86 one has eip. */
static void render_registers(FILE *out, struct json_object *answer)
{
	static const char *const x86[] = { "eax", "ebx", "ecx", "edx", "esi", "edi",
					   "eip", "esp", "ebp", "eflags", NULL };
	static const char *const amd64[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi",
					     "rip", "rsp", "rbp", "eflags", NULL };
	const char *const *names = member(answer, "rip") ? amd64 : x86;

	for (size_t i = 0; names[i]; i++)
		fprintf(out, "%s%s=%s", i ? " " : "", names[i], bare(member(answer, names[i])));
}

/* Any other answer: its members but the command and "ok". */
static void render_members(FILE *out, struct json_object *answer)
{
	bool any = false;

	json_object_object_foreach(answer, key, value) {
		if (!strcmp(key, "command") || !strcmp(key, "ok"))
			continue;
		fprintf(out, "%s%s=%s", any ? " " : "", key, json_object_get_string(value));
		any = true;
	}
	if (!any)
		fputs("ok", out);
}

/* What a command that changes something says: one word. */
static const char *acknowledgement(const char *command)
{
	static const struct {
		const char *command, *word;
	} words[] = {
		{ "go", "running" }, { "bc", "cleared" },	 { "write", "written" },
		{ "writephys", "written" }, { "setreg", "set" },
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!strcmp(command, words[i].command))
			return words[i].word;
	}
	return NULL;
}

void demo_render_answer(FILE *out, struct json_object *answer)
{
	const char *command = member_or(answer, "command", "?");
	const char *word = acknowledgement(command);

	if (!demo_answer_ok(answer)) {
		fprintf(out, "failed: %s", member_or(answer, "error", "(no reason given)"));
	} else if (member(answer, "stopped")) {
		const char *code = member(answer, "code"), *symbol = member(answer, "symbol");
		fprintf(out, "stopped: %s (%s) at %s%s%s", stop_reason(code), code ? code : "?",
			member_or(answer, "pc", "?"), symbol ? " " : "", symbol ? symbol : "");
	} else if (!strcmp(command, "version")) {
		fprintf(out, "build %s, protocol %s, machine %s, kernel at %s",
			member_or(answer, "build", "?"), member_or(answer, "protocol", "?"),
			member_or(answer, "machine", "?"), member_or(answer, "kern_base", "?"));
	} else if (member(answer, "data") && member(answer, "address")) {
		fprintf(out, "%s: ", member(answer, "address"));
		print_hex_as_text(out, member(answer, "data"));
	} else if (!strcmp(command, "regs")) {
		render_registers(out, answer);
	} else if (!strcmp(command, "prints")) {
		print_quoted(out, member_or(answer, "text", ""));
	} else if (!strcmp(command, "bp")) {
		fprintf(out, "breakpoint %s at %s", member_or(answer, "number", "?"),
			member_or(answer, "address", "?"));
	} else if (word) {
		fputs(word, out);
	} else {
		render_members(out, answer);
	}
}
