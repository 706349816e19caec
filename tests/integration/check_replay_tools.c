/*
 * check_replay_tools.c -- the tools that read session files, as processes,
 * on a session holding a real KD exchange on every layer (a DbgPrint, a
 * GetVersion request and reply, a poll, tests/unit/session_builder.c):
 * `bxkd-replay dump` in text and JSON, and Debian's tshark with the
 * Wireshark dissector replay/bxkd.lua. Each decoded value is checked.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bxkd/dbgkd.h"
#include "json_check.h"
#include "kdtrace.h"
#include "proc.h"
#include "session_builder.h"
#include "suites.h"
#include "testcases.h"

#define COMMAND_TIMEOUT_MS 60000

static char *dir;
static char session[300];

/* The session: manifest at tick 0, the exchange from 1000, END at 9000. */
static void write_session(void)
{
	struct session_builder b;

	dir = socket_dir();
	ck_assert_ptr_nonnull(dir);
	snprintf(session, sizeof(session), "%s/exchange.pcap", dir);
	ck_assert_msg(sb_open(&b, session), "%s", b.error);
	sb_manifest(&b, 0, NULL);
	sb_kd_exchange(&b, 1000);
	ck_assert_msg(sb_finish(&b, 9000), "%s", b.error);
}

static void remove_session(void)
{
	char other[400];

	if (!getenv("BXKD_KEEP_TEST_DIRS")) {
		unlink(session);
		snprintf(other, sizeof(other), "%s/stderr", dir);
		unlink(other);
		snprintf(other, sizeof(other), "%s/damaged.pcap", dir);
		unlink(other);
	}
	remove_socket_dir(dir);
}

/* Runs argv; its standard output (and error, when asked) returned. */
static char *run(char *const argv[], int *status, char **err)
{
	char err_path[400], out_path[400];
	struct child c;

	snprintf(err_path, sizeof(err_path), "%s/stderr", dir);
	snprintf(out_path, sizeof(out_path), "%s/stdout", dir);
	ck_assert(child_start(&c, argv, out_path, err_path));
	*status = child_wait(&c, COMMAND_TIMEOUT_MS);
	char *out = read_text_file(out_path);
	unlink(out_path);
	ck_assert_ptr_nonnull(out);
	if (err)
		*err = read_text_file(err_path);
	return out;
}

/* The line of `out` that holds every one of the NULL-terminated needles. */
static char *line_with(const char *out, ...)
{
	for (const char *line = out; *line;) {
		size_t length = strcspn(line, "\n");
		char *copy = strndup(line, length);
		bool all = true;
		va_list ap;
		va_start(ap, out);
		for (const char *needle; all && (needle = va_arg(ap, const char *));)
			all = strstr(copy, needle) != NULL;
		va_end(ap);
		if (all)
			return copy;
		free(copy);
		line += length + (line[length] == '\n');
	}
	return NULL;
}

#define EXPECT_LINE(out, ...)                                                                  \
	do {                                                                                   \
		char *found_ = line_with(out, __VA_ARGS__, (const char *)NULL);                \
		ck_assert_msg(found_, "no line with %s in:\n%.3000s", #__VA_ARGS__, out);      \
		free(found_);                                                                  \
	} while (0)

/* A whole line, "\n"s around it in the needle. */
#define EXPECT_WHOLE_LINE(out, text) \
	ck_assert_msg(strstr(out, text), "no line %s in:\n%.3000s", text, out)

static void expect_json_lines(const char *out)
{
	size_t lines = 0;

	for (const char *line = out; *line; lines++) {
		size_t length = strcspn(line, "\n");
		char *copy = strndup(line, length);
		ck_assert_msg(json_valid_object(copy), "not one JSON object: %s", copy);
		free(copy);
		line += length + (line[length] == '\n');
	}
	ck_assert_uint_gt(lines, 20);
}

/* ---- the KD decoder's entry point for packets without framing ------------------------------ */

START_TEST(kd_packets_are_described_as_the_tap_shows_them)
{
	struct dbgkd_manipulate_state64 m = { .api_number = DBGKD_READ_VIRTUAL_MEMORY_API };
	char out[KDTRACE_LINE_MAX];

	m.u.read_memory.target_base_address = 0xffffffff80102000u;
	m.u.read_memory.transfer_count = 16;
	kdtrace_describe_packet(KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), KDTRACE_TO_TARGET,
				KDTRACE_TEXT, out, sizeof(out));
	ck_assert_str_eq(out, "ReadVirtualMemory request address=0xffffffff80102000 count=16");
	kdtrace_describe_packet(KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), KDTRACE_TO_TARGET,
				KDTRACE_JSON, out, sizeof(out));
	ck_assert_msg(json_same_object(out, "{\"type\":\"STATE_MANIPULATE\",\"length\":56,"
					    "\"api\":\"ReadVirtualMemory\",\"api_number\":\"0x00003130\","
					    "\"message\":\"request\",\"address\":\"0xffffffff80102000\","
					    "\"count\":16,\"type_ok\":true}"),
		      "%s", out);

	/* The same bytes from the target are a reply. */
	m.u.read_memory.actual_bytes = 16;
	kdtrace_describe_packet(KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), KDTRACE_TO_DEBUGGER,
				KDTRACE_TEXT, out, sizeof(out));
	ck_assert_str_eq(out, "ReadVirtualMemory reply status=0x00000000 success "
			      "address=0xffffffff80102000 count=16 actual=16");

	/* Too short for its header, or of a type its API number is not. */
	kdtrace_describe_packet(KDCOM_TYPE_STATE_MANIPULATE, &m, 8, KDTRACE_TO_TARGET,
				KDTRACE_TEXT, out, sizeof(out));
	ck_assert_str_eq(out, "needs=56 head=3031000000000000 (too short)");
	kdtrace_describe_packet(KDCOM_TYPE_DEBUG_IO, &m, sizeof(m), KDTRACE_TO_TARGET, KDTRACE_JSON,
				out, sizeof(out));
	ck_assert_msg(json_has_members(out, "\"type\":\"DEBUG_IO\",\"type_ok\":false"), "%s", out);
	kdtrace_describe_packet(KDCOM_TYPE_STATE_MANIPULATE, NULL, 0, KDTRACE_TO_TARGET,
				KDTRACE_TEXT, out, sizeof(out));
	ck_assert_str_eq(out, "needs=56 (too short)");

	/* Like snprintf: the length it needs, whatever fits. */
	size_t need = kdtrace_describe_packet(KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m),
					      KDTRACE_TO_TARGET, KDTRACE_TEXT, out, 10);
	ck_assert_uint_eq(need, strlen("ReadVirtualMemory request address=0xffffffff80102000 "
				       "count=16"));
	ck_assert_str_eq(out, "ReadVirtu");
}
END_TEST

/* ---- bxkd-replay dump ------------------------------------------------------------------------ */

START_TEST(dump_shows_the_exchange_as_text)
{
	char *argv[] = { BXKD_REPLAY, "dump", session, NULL };
	int status;
	char *out = run(argv, &status, NULL);

	ck_assert_msg(status == 0, "bxkd-replay dump exited %d:\n%s", status, out);
	/* The manifest as a header block. */
	EXPECT_LINE(out, "session ", "exchange.pcap: ");
	EXPECT_LINE(out, "manifest (record 0, tick 0):");
	EXPECT_LINE(out, "  image=bxkd-guest.img");
	EXPECT_LINE(out, "  bochs_ips=4000000");
	/* The guest's backdoor calls, the KD ones decoded down to the packet. */
	EXPECT_LINE(out, "     1         1000  backdoor 0x5658 IN cpl=0 OS_NOT_FOUND KD HELLO "
			 "status=OK protocol=1 discovery=register transport");
	EXPECT_LINE(out, "KD REGISTER status=OK frame=0x71");
	EXPECT_LINE(out, "KD CALL status=OK page=0x71000 SEND DEBUG_IO header=16 data=21 -> "
			 "result=OK flags=0x1 calls=1: PrintString cpu=0 "
			 "\"hello from the guest\\n\"");
	EXPECT_LINE(out, "KD CALL status=OK page=0x71000 RECEIVE STATE_MANIPULATE room=56+4096 "
			 "timeout=1000 -> result=OK header=56 data=0 flags=0x1 calls=2: "
			 "GetVersion request");
	EXPECT_LINE(out, "KD CALL status=OK page=0x71000 SEND STATE_MANIPULATE header=56 data=0 -> "
			 "result=OK flags=0x1 calls=3: GetVersion reply status=0x00000000 success "
			 "version=0x000f build=2600 protocol=6 flags=0x0002 machine=0x014c i386 "
			 "KernBase=0xffffffff80100000 PsLoadedModuleList=0xffffffff80120000 "
			 "DebuggerDataList=0xffffffff80121000");
	EXPECT_LINE(out, "KD CALL status=OK page=0x71000 POLL_BREAKIN -> result=TIMED_OUT");
	EXPECT_LINE(out, "backdoor 0x5658 IN cpl=3 GETVERSION -> eax=0x00000006 ecx=0x00000004 "
			 "ebx=0x564d5868 in=0x00000006");
	/* The kd host port. */
	EXPECT_LINE(out, "kd_port send DEBUG_IO header=16 data=21 -> OK: PrintString cpu=0 "
			 "\"hello from the guest\\n\"");
	EXPECT_LINE(out, "kd_port receive STATE_MANIPULATE header=56 room=3944 timeout=1000 -> OK "
			 "data=0: GetVersion request");
	EXPECT_LINE(out, "kd_port send STATE_MANIPULATE header=56 data=0 -> OK: GetVersion reply "
			 "status=0x00000000 success version=0x000f build=2600");
	EXPECT_LINE(out, "kd_port poll_breakin -> no");
	/* The debugger's bytes as bxkd-tap shows them; the request's frame is
	 * in two records and shows with the second. */
	EXPECT_LINE(out, "endpoint debugger attached");
	EXPECT_LINE(out, "  t2d DEBUG_IO id=0x80800800 SYNC length=37 checksum ok trailer ok: "
			 "PrintString cpu=0 \"hello from the guest\\n\"");
	EXPECT_LINE(out, "  d2t ACK id=0x80800800 SYNC");
	EXPECT_LINE(out, "     9         3000  d2t STATE_MANIPULATE id=0x80800000 length=56 "
			 "checksum ok trailer ok: GetVersion request");
	EXPECT_LINE(out, "  t2d STATE_MANIPULATE id=0x80800001 length=56 checksum ok trailer ok: "
			 "GetVersion reply status=0x00000000 success version=0x000f build=2600");
	EXPECT_LINE(out, "  t2d ACK id=0x80800000");
	EXPECT_LINE(out, "  d2t ACK id=0x80800001");
	EXPECT_LINE(out, "endpoint debugger detached");
	/* The END and the decoders' totals. */
	EXPECT_LINE(out, "    21         9000  end records=22 backdoor_calls=7 kd_port_calls=4 "
			 "endpoint_records=9; debugger bytes: d2t 105 bytes 3 frames, t2d 143 "
			 "bytes 3 frames; 0 bad checksums, 0 bad frames, 0 resends, 0 resets");
	free(out);
}
END_TEST

START_TEST(dump_shows_the_exchange_as_json)
{
	char *argv[] = { BXKD_REPLAY, "dump", "--json", session, NULL };
	int status;
	char *out = run(argv, &status, NULL);

	ck_assert_msg(status == 0, "bxkd-replay dump --json exited %d:\n%s", status, out);
	expect_json_lines(out);
	EXPECT_LINE(out, "{\"record\":0,\"tick\":0,\"kind\":\"manifest\"", "\"records\":22",
		    "\"kd_command\":18", "\"values\":{\"format\":\"bxkd-session\"",
		    "\"image\":\"bxkd-guest.img\"");
	EXPECT_LINE(out, "{\"record\":1,\"tick\":1000,\"kind\":\"backdoor\"", "\"port\":\"0x5658\"",
		    "\"direction\":\"IN\"", "\"cpl\":0", "\"command\":\"OS_NOT_FOUND\"",
		    "\"command_number\":18", "\"kd\":\"HELLO\"", "\"status\":\"0x00000000\"",
		    "\"status_name\":\"OK\"", "\"protocol\":1", "\"discovery\":\"register\"");
	EXPECT_LINE(out, "\"kind\":\"backdoor\"", "\"kd\":\"CALL\"", "\"request\":\"RECEIVE\"",
		    "\"type\":\"STATE_MANIPULATE\"", "\"header_capacity\":56",
		    "\"data_capacity\":4096", "\"result_name\":\"OK\"", "\"calls\":2",
		    "\"accesses\":[{\"address\":\"0x0000000000071000\",\"length\":64,"
		    "\"write\":false,\"ok\":true}",
		    "\"regs_in\":{\"eax\":\"0x564d5868\",\"ecx\":\"0x00030012\"",
		    "\"packet\":{\"type\":\"STATE_MANIPULATE\",\"length\":56,\"api\":\"GetVersion\","
		    "\"api_number\":\"0x00003146\",\"message\":\"request\"");
	EXPECT_LINE(out, "\"kind\":\"backdoor\"", "\"request\":\"SEND\"",
		    "\"message\":\"reply\"", "\"status_name\":\"success\"", "\"build\":2600",
		    "\"kern_base\":\"0xffffffff80100000\"", "\"machine_name\":\"i386\"");
	EXPECT_LINE(out, "\"kind\":\"kd_port\"", "\"op\":\"send\"", "\"result_name\":\"OK\"",
		    "\"packet_type\":3", "\"type\":\"DEBUG_IO\"", "\"header_length\":16",
		    "\"data_length\":21", "\"api\":\"PrintString\"",
		    "\"text\":\"hello from the guest\\n\"");
	EXPECT_LINE(out, "\"kind\":\"kd_port\"", "\"op\":\"poll_breakin\"", "\"result\":0",
		    "\"result_name\":\"no\"");
	/* kdtrace's own lines, with the record and tick in front. */
	EXPECT_LINE(out, "{\"record\":9,\"tick\":3000,\"dir\":\"d2t\",\"kind\":\"data\"",
		    "\"type\":\"STATE_MANIPULATE\"", "\"id\":\"0x80800000\"", "\"checksum_ok\":true",
		    "\"trailer_ok\":true", "\"api\":\"GetVersion\"", "\"message\":\"request\"");
	EXPECT_LINE(out, "\"dir\":\"t2d\",\"kind\":\"data\"", "\"type\":\"DEBUG_IO\"",
		    "\"sync\":true", "\"api\":\"PrintString\"");
	EXPECT_LINE(out, "\"dir\":\"d2t\",\"kind\":\"control\"", "\"type\":\"ACK\"",
		    "\"id\":\"0x80800001\"");
	EXPECT_LINE(out, "\"kind\":\"endpoint\",\"side\":\"debugger\",\"event\":\"attached\"");
	EXPECT_LINE(out, "{\"record\":21,\"tick\":9000,\"kind\":\"end\",\"values\":{\"records\":"
			 "\"22\",\"backdoor_calls\":\"7\"",
		    "\"d2t_frames\":3", "\"t2d_frames\":3", "\"bad_checksums\":0");
	free(out);
}
END_TEST

START_TEST(dump_shows_a_cut_file_to_the_cut_and_refuses_damage_and_bad_usage)
{
	char damaged[400];
	int status;
	char *err;

	/* The session cut short in its last record. */
	size_t length;
	char *bytes = read_text_file(session);
	FILE *f = fopen(session, "rb");
	fseek(f, 0, SEEK_END);
	length = (size_t)ftell(f);
	fclose(f);
	snprintf(damaged, sizeof(damaged), "%s/damaged.pcap", dir);
	f = fopen(damaged, "wb");
	ck_assert_ptr_nonnull(f);
	fwrite(bytes, 1, length - 10, f);
	fclose(f);
	free(bytes);

	/* Shown up to the cut, with exit status 3. */
	char *argv[] = { BXKD_REPLAY, "dump", damaged, NULL };
	char *out = run(argv, &status, &err);
	ck_assert_msg(status == 3, "bxkd-replay dump exited %d:\n%s", status, err);
	EXPECT_LINE(out, "manifest (record 0, tick 0):");
	EXPECT_LINE(out, "    20 ");
	ck_assert_msg(!strstr(out, "  end records="), "%s", out);
	ck_assert_msg(strstr(err, "bxkd-replay dump: ") &&
			      strstr(err, "damaged.pcap is cut off after record 20 (it has no END): "
					  "every whole record before the cut is shown"),
		      "%s", err);
	free(out);
	free(err);

	/* What needs a whole session says so, and what can read it. */
	char listen[450];
	snprintf(listen, sizeof(listen), "unix:%s/serve.sock", dir);
	char *serve[] = { BXKD_REPLAY, "serve", damaged, "--listen", listen, NULL };
	free(run(serve, &status, &err));
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, "damaged.pcap is cut off after record 20 (it has no END): this "
				  "needs a whole session; `bxkd-replay dump` shows it and "
				  "`bxkd-replay verify` checks it, each up to the cut") &&
			      !strstr(err, "cannot be read"),
		      "%s", err);
	free(err);

	/* A file damaged before its end is refused. */
	f = fopen(damaged, "r+b");
	ck_assert_ptr_nonnull(f);
	fputc(0, f);
	fclose(f);
	out = run(argv, &status, &err);
	ck_assert_int_eq(status, 1);
	ck_assert_str_eq(out, "");
	ck_assert_msg(strstr(err, "bxkd-replay dump: ") && strstr(err, "damaged.pcap"), "%s", err);
	free(out);
	free(err);

	char *no_file[] = { BXKD_REPLAY, "dump", NULL };
	free(run(no_file, &status, &err));
	ck_assert_int_eq(status, 2);
	ck_assert_msg(strstr(err, "usage: bxkd-replay dump SESSION [--json]"), "%s", err);
	free(err);

	char *bad_option[] = { BXKD_REPLAY, "dump", "--yaml", session, NULL };
	free(run(bad_option, &status, &err));
	ck_assert_int_eq(status, 2);
	ck_assert_msg(strstr(err, "unrecognized option '--yaml'"), "%s", err);
	free(err);

	char *no_command[] = { BXKD_REPLAY, "rewind", NULL };
	free(run(no_command, &status, &err));
	ck_assert_int_eq(status, 2);
	ck_assert_msg(strstr(err, "no command 'rewind'") && strstr(err, "bxkd-replay dump"), "%s",
		      err);
	free(err);

	char *help[] = { BXKD_REPLAY, "--help", NULL };
	out = run(help, &status, NULL);
	ck_assert_int_eq(status, 0);
	ck_assert_msg(strstr(out, "bxkd-replay dump SESSION [--json]"), "%s", out);
	free(out);
}
END_TEST

/* ---- tshark and the dissector ---------------------------------------------------------------- */

/* tshark with the dissector, away from the user's own Wireshark settings
 * and plugins (a personal copy of bxkd.lua would be registered twice). */
#define TSHARK_ARGS_MAX 64

static char *tshark_argv(int *status, char **err, char *argv[TSHARK_ARGS_MAX])
{
	char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	setenv("HOME", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	char *out = run(argv, status, err);
	if (saved_home)
		setenv("HOME", saved_home, 1);
	free(saved_home);
	unsetenv("XDG_CONFIG_HOME");
	return out;
}

/* tshark's own options first, then the caller's. */
static int tshark_command(char *argv[TSHARK_ARGS_MAX], const char *file)
{
	char *const head[] = { BXKD_TSHARK, "-n", "-X", "lua_script:" BXKD_DISSECTOR, "-r",
			       (char *)file };
	int n = (int)(sizeof(head) / sizeof(head[0]));

	memcpy(argv, head, sizeof(head));
	return n;
}

static char *tshark_args(const char *file, int *status, char **err, va_list ap)
{
	char *argv[TSHARK_ARGS_MAX];
	int n = tshark_command(argv, file);

	for (const char *a; (a = va_arg(ap, const char *)) && n < TSHARK_ARGS_MAX - 1;)
		argv[n++] = (char *)a;
	argv[n] = NULL;
	return tshark_argv(status, err, argv);
}

/* tshark -T fields with "|" between them, one -e for each of `fields`. */
static char *tshark_fields_on(const char *file, int *status, char **err,
			      const char *const fields[], size_t count)
{
	char *argv[TSHARK_ARGS_MAX];
	int n = tshark_command(argv, file);

	argv[n++] = "-T";
	argv[n++] = "fields";
	argv[n++] = "-E";
	argv[n++] = "separator=|";
	ck_assert_int_lt(n + 2 * (int)count, TSHARK_ARGS_MAX);
	for (size_t i = 0; i < count; i++) {
		argv[n++] = "-e";
		argv[n++] = (char *)fields[i];
	}
	argv[n] = NULL;
	return tshark_argv(status, err, argv);
}

/* tshark on the test's session, then on another file. */
static char *tshark(int *status, char **err, ...)
{
	va_list ap;
	va_start(ap, err);
	char *out = tshark_args(session, status, err, ap);
	va_end(ap);
	return out;
}

static char *tshark_on(const char *file, int *status, char **err, ...)
{
	va_list ap;
	va_start(ap, err);
	char *out = tshark_args(file, status, err, ap);
	va_end(ap);
	return out;
}

/* tshark warns when it runs as root; anything else on its standard error
 * (a Lua error above all) is a failure. */
static void expect_quiet(const char *err)
{
	for (const char *line = err; *line;) {
		size_t length = strcspn(line, "\n");
		bool root_warning = !strncmp(line, "Running as user \"root\"", 22);
		ck_assert_msg(root_warning || length == 0, "tshark complained: %.*s", (int)length,
			      line);
		line += length + (line[length] == '\n');
	}
}

START_TEST(tshark_decodes_every_record)
{
	int status;
	char *err;
	char *out = tshark(&status, &err, "-T", "fields", "-E", "separator=|", "-E", "aggregator=;",
			   "-e", "bxkd.sequence", "-e", "bxkd.kind", "-e", "bxkd.tick", "-e",
			   "bxkd.backdoor.port", "-e", "bxkd.backdoor.direction", "-e",
			   "bxkd.backdoor.cpl", "-e", "bxkd.backdoor.command", "-e",
			   "bxkd.kd.subcommand", "-e", "bxkd.kd.status", "-e",
			   "bxkd.kdvm.request", "-e", "bxkd.kdvm.packet_type", "-e",
			   "bxkd.kdvm.result", "-e", "bxkd.kd.op", "-e", "bxkd.kd.packet_type",
			   "-e", "bxkd.kd.header_length", "-e", "bxkd.endpoint.event", "-e",
			   "bxkd.kdcom.type", "-e", "bxkd.kdcom.id", "-e", "bxkd.kdcom.checksum_ok",
			   "-e", "bxkd.manifest.image", "-e", "bxkd.end.records", "-e",
			   "bxkd.backdoor.out.eax", "-e", "bxkd.access.address", NULL);

	ck_assert_msg(status == 0, "tshark exited %d:\n%s\n%s", status, out, err);
	expect_quiet(err);
	/* sequence|kind|tick|port|dir|cpl|command|kd sub|kd status|request|page type|
	 * result|op|kd type|header|event|kdcom type|id|checksum ok|image|records|eax|address */
	EXPECT_LINE(out, "0|1|0|||||||||||||||||bxkd-guest.img|||");
	EXPECT_LINE(out, "1|2|1000|0x5658|0|0|18|1|0|||||||||||||0x00000000|");
	EXPECT_LINE(out, "2|2|1100|0x5658|0|0|18|2|0|||||||||||||0x00000000|0x0000000000071000");
	EXPECT_LINE(out, "3|4|1200|||||||||||||3|||||||");
	EXPECT_LINE(out, "4|3|2000||||||||||1|3|16||||||||");
	EXPECT_LINE(out, "5|4|2000|||||||||||||1|3|0x80800800|1||||");
	EXPECT_LINE(out, "6|4|2000|||||||||||||2|4|0x80800800|||||");
	/* A SEND on the page: header read, payload read, write-back with the result. */
	EXPECT_LINE(out, "7|2|2000|0x5658|0|0|18|3|0|1|3|0||||||||||0x00000000|"
			 "0x0000000000071000;0x0000000000071040;0x0000000000071018");
	/* The GetVersion request's frame lies across records 8 and 9: it shows
	 * with record 9, which completes it. */
	EXPECT_LINE(out, "8|4|3000|||||||||||||2|||||||");
	EXPECT_LINE(out, "9|4|3000|||||||||||||2|2|0x80800000|1||||");
	EXPECT_LINE(out, "11|3|3000||||||||||2|2|56||||||||");
	EXPECT_LINE(out, "12|2|3000|0x5658|0|0|18|3|0|2|2|0||||||||||0x00000000|");
	EXPECT_LINE(out, "14|4|4000|||||||||||||1|2|0x80800001|1||||");
	EXPECT_LINE(out, "18|2|5000|0x5658|0|0|18|3|0|3|0|1||||||||||0x00000000|");
	EXPECT_LINE(out, "19|2|5100|0x5658|0|3|10|||||||||||||||0x00000006|");
	EXPECT_LINE(out, "20|4|6000|||||||||||||4|||||||");
	EXPECT_LINE(out, "21|5|9000||||||||||||||||||22||");
	free(out);
	free(err);
}
END_TEST

START_TEST(tshark_filters_and_shows_the_tree)
{
	int status;
	char *err;

	/* Display filters on the dissector's fields. */
	char *out = tshark(&status, &err, "-Y", "bxkd.kdcom.type == 2", "-T", "fields", "-e",
			   "bxkd.sequence", NULL);
	ck_assert_msg(status == 0, "tshark exited %d:\n%s", status, err);
	expect_quiet(err);
	/* The request's frame (split, completed by record 9), the reply's. */
	ck_assert_str_eq(out, "9\n14\n");
	free(out);
	free(err);

	out = tshark(&status, &err, "-Y", "bxkd.kd.op == 1 && bxkd.kd.packet_type == 2", "-T",
		     "fields", "-e", "bxkd.sequence", "-e", "bxkd.kd.header_length", NULL);
	ck_assert_int_eq(status, 0);
	ck_assert_str_eq(out, "13\t56\n");
	free(out);
	free(err);

	/* The whole tree: names and values as a person sees them. */
	out = tshark(&status, &err, "-V", "-Y", "bxkd.sequence == 12", NULL);
	ck_assert_msg(status == 0, "tshark exited %d:\n%s", status, err);
	expect_quiet(err);
	EXPECT_LINE(out, "Kind: BACKDOOR (2)");
	EXPECT_LINE(out, "Tick: 3000");
	EXPECT_LINE(out, "Port: 0x5658");
	EXPECT_LINE(out, "Direction: IN (0)");
	EXPECT_LINE(out, "EAX in: 0x564d5868");
	EXPECT_LINE(out, "EBX in: 0x444b7862");
	EXPECT_LINE(out, "Command: OS_NOT_FOUND (18)");
	EXPECT_LINE(out, "KD subcommand: CALL (3)");
	EXPECT_LINE(out, "KD status: OK (0)");
	EXPECT_LINE(out, "Access 0: read 0x0000000000071000, 64 bytes");
	EXPECT_LINE(out, "Signature: bxKDpage");
	EXPECT_LINE(out, "Nonce: 0x5eed1234");
	EXPECT_LINE(out, "Request: RECEIVE (2)");
	EXPECT_LINE(out, "Packet type: STATE_MANIPULATE (2)");
	EXPECT_LINE(out, "Header capacity: 56");
	EXPECT_LINE(out, "Timeout (ms): 1000");
	EXPECT_LINE(out, "Access 1: write 0x0000000000071040, 56 bytes");
	EXPECT_LINE(out, "Result: OK (0)");
	EXPECT_LINE(out, "Calls: 2");
	ck_assert_msg(!strstr(out, "Lua Error") && !strstr(out, "Malformed"), "%s", out);
	free(out);
	free(err);

	/* A KDCOM frame inside the endpoint's bytes. */
	out = tshark(&status, &err, "-V", "-Y", "bxkd.sequence == 14", NULL);
	ck_assert_int_eq(status, 0);
	EXPECT_LINE(out, "Event: to_debugger (1)");
	EXPECT_LINE(out, "Leader: data (0000) (0x30303030)");
	EXPECT_LINE(out, "Type: STATE_MANIPULATE (2)");
	EXPECT_LINE(out, "Byte count: 56");
	EXPECT_LINE(out, "Id: 0x80800001");
	EXPECT_LINE(out, "Checksum right: True");
	EXPECT_LINE(out, "Trailer: 0xaa");
	ck_assert_msg(!strstr(out, "Lua Error") && !strstr(out, "Malformed"), "%s", out);
	free(out);
	free(err);

	/* The summary lines: protocol and info columns. */
	out = tshark(&status, &err, NULL);
	ck_assert_int_eq(status, 0);
	expect_quiet(err);
	EXPECT_LINE(out, "BXKD", "backdoor IN 0x5658 OS_NOT_FOUND KD CALL OK SEND DEBUG_IO -> OK");
	EXPECT_LINE(out, "BXKD", "kd_port receive STATE_MANIPULATE -> OK");
	EXPECT_LINE(out, "BXKD", "endpoint to_debugger 73 bytes: STATE_MANIPULATE");
	EXPECT_LINE(out, "BXKD", "manifest");
	free(out);
	free(err);
}
END_TEST


/* ---- bxkd-replay walkthrough ---------------------------------------------------------------- */

#define GOLDEN_E2E BXKD_SOURCE_DIR "/tests/sessions/golden/e2e.pcap"
#define WALKTHROUGH_DOC BXKD_SOURCE_DIR "/docs/kd-walkthrough.md"

/* The line number where two texts first differ, 0 if they are the same. */
static size_t first_different_line(const char *a, const char *b)
{
	size_t line = 1;

	for (; *a && *a == *b; a++, b++)
		line += *a == '\n';
	return *a == *b ? 0 : line;
}

START_TEST(walkthrough_document_is_the_tools_output_on_the_golden_session)
{
	char *argv[] = { BXKD_REPLAY, "walkthrough", GOLDEN_E2E, NULL };
	int status;
	char *err;
	char *out = run(argv, &status, &err);
	char *doc = read_text_file(WALKTHROUGH_DOC);
	size_t line;

	ck_assert_msg(status == 0, "bxkd-replay walkthrough exited %d: %s", status, err);
	ck_assert_msg(doc, "%s cannot be read", WALKTHROUGH_DOC);
	line = first_different_line(out, doc);
	ck_assert_msg(line == 0,
		      "docs/kd-walkthrough.md differs from what bxkd-replay walkthrough writes "
		      "from line %zu on; run `make walkthrough` and look at the difference",
		      line);
	free(doc);
	free(out);
	free(err);
}
END_TEST

START_TEST(walkthrough_labels_the_attach_and_each_step)
{
	char *argv[] = { BXKD_REPLAY, "walkthrough", GOLDEN_E2E, NULL };
	int status;
	char *out = run(argv, &status, NULL);

	ck_assert_int_eq(status, 0);
	/* The attach: the stop with SYNC, the break-in and RESET, the RESET
	 * answered, the stop again without SYNC, its ACK. */
	EXPECT_LINE(out, "`t2d STATE_CHANGE64 id=0x80800800 SYNC length=244");
	EXPECT_LINE(out, "| `00 08 80 80` | id | 0x80800800 (SYNC bit 0x800 set) |");
	EXPECT_LINE(out, "| `62` | break-in |");
	EXPECT_LINE(out, "`d2t RESET`");
	EXPECT_LINE(out, "`t2d RESET`");
	EXPECT_LINE(out, "`t2d STATE_CHANGE64 id=0x80800000 length=244");
	EXPECT_LINE(out, "`d2t ACK id=0x80800000`");
	/* Every field of a frame. */
	EXPECT_LINE(out, "| `30 30 30 30` | leader | `0000`: a data packet |");
	EXPECT_LINE(out, "| `69 69 69 69` | leader | `iiii`: a control packet |");
	EXPECT_LINE(out, "| `f4 00` | byte count | 244 payload bytes |");
	EXPECT_LINE(out, "| `61 1b 00 00` | checksum | 0x00001b61, the byte sum of the payload |");
	EXPECT_LINE(out, "| `aa` | trailer | 0xAA, ends a data packet |");
	/* The DbgKd structures, at dbgkd.h's offsets. */
	EXPECT_LINE(out, "| 32 | 4 | Exception.ExceptionCode | `0x80000003` |");
	EXPECT_LINE(out, "| 32 | 8 | GetVersion.KernBase | `0xffffffff80100000` |");
	EXPECT_LINE(out, "| 16 | 8 | ReadMemory.TargetBaseAddress | `0xffffffff80114f40` |");
	EXPECT_LINE(out, "| 16 | 8 | WriteBreakPoint.BreakPointAddress | `0xffffffff80111965` |");
	EXPECT_LINE(out, "| 20 | 4 | Continue2.ControlSet.TraceFlag | `0x00000001` |");
	EXPECT_LINE(out, "| 32 | 4 | Exception.ExceptionCode | `0x80000004` |");
	EXPECT_LINE(out, "| 8 | 4 | PrintString.LengthOfString | `0x00000023` |");
	/* The backdoor: registers and the shared page. */
	EXPECT_LINE(out, "| EBX | `0x444b7862` | `0x444b7862` |");
	EXPECT_LINE(out, "| 0 | 8 | signature | `bxKDpage` |");
	EXPECT_LINE(out, "| 36 | 4 | result | `0x00000000` |");
	/* The steps, in order. */
	const char *steps[] = { "## 1. The debugger attaches", "## 2. GetVersion",
				"## 3. Reading virtual memory", "## 4. Setting a breakpoint",
				"## 5. Continuing, and a DbgPrint", "## 6. The breakpoint is hit",
				"## 7. A single step", "## The rest of the session" };
	const char *at = out;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		at = strstr(at, steps[i]);
		ck_assert_msg(at, "no \"%s\" after the step before it", steps[i]);
	}
	free(out);
}
END_TEST

START_TEST(walkthrough_refuses_a_session_without_the_steps_and_bad_usage)
{
	char *argv[] = { BXKD_REPLAY, "walkthrough", session, NULL };
	char *no_session[] = { BXKD_REPLAY, "walkthrough", NULL };
	int status;
	char *err;
	char *out = run(argv, &status, &err);

	/* The exchange holds a GetVersion but no stop to attach to. */
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, "bxkd-replay walkthrough: the session has no exchange for step "
				  "1, \"The debugger attaches to a stopped kernel\""),
		      "%s", err);
	free(out);
	free(err);
	out = run(no_session, &status, &err);
	ck_assert_int_eq(status, 2);
	ck_assert_msg(strstr(err, "usage: bxkd-replay walkthrough SESSION"), "%s", err);
	free(out);
	free(err);
}
END_TEST

/* The KD messages inside: by field values, on the layers that carry them. */
#define KD_MESSAGE_FIELDS                                                                          \
	"-T", "fields", "-E", "separator=|", "-e", "bxkd.sequence", "-e", "bxkd.src", "-e",        \
		"bxkd.dst", "-e", "bxkd.dbgkd.name", "-e", "bxkd.dbgkd.message", "-e",             \
		"bxkd.dbgkd.status_name", "-e", "bxkd.dbgkd.address", "-e", "bxkd.dbgkd.count",   \
		"-e", "bxkd.dbgkd.actual", "-e", "bxkd.dbgkd.exception.code", "-e",                \
		"bxkd.dbgkd.exception.code_name", "-e", "bxkd.dbgkd.pc", "-e",                     \
		"bxkd.dbgkd.trace_flag", "-e", "bxkd.dbgkd.handle", "-e",                          \
		"bxkd.dbgkd.version.kern_base", "-e", "bxkd.context.eip", "-e",                    \
		"bxkd.context.esp", "-e", "bxkd.context.eflags", "-e", "bxkd.kdcom.reassembled",   \
		"-e", "bxkd.dbgkd.string"

START_TEST(tshark_reassembles_a_split_frame_and_decodes_its_message)
{
	int status;
	char *err;
	char *out = tshark(&status, &err, KD_MESSAGE_FIELDS, NULL);

	ck_assert_msg(status == 0, "tshark exited %d:\n%s", status, err);
	expect_quiet(err);
	/* seq|src|dst|name|message|status|address|count|actual|code|code name|pc|trace|
	 * handle|KernBase|eip|esp|eflags|reassembled|string */
	/* Record 8 holds the request's first 20 bytes, record 9 the rest. */
	EXPECT_WHOLE_LINE(out, "\n8|debugger|device|||||||||||||||||\n");
	EXPECT_WHOLE_LINE(out, "\n9|debugger|device|GetVersion|request||||||||||||||20|\n");
	EXPECT_WHOLE_LINE(out, "\n11|debugger|device|GetVersion|request|||||||||||||||\n");
	EXPECT_WHOLE_LINE(out, "\n14|device|debugger|GetVersion|reply|success|||||||||"
			 "0xffffffff80100000|||||\n");
	EXPECT_WHOLE_LINE(out, "\n4|device|debugger|PrintString||||||||||||||||hello from the guest\\n\n");
	EXPECT_WHOLE_LINE(out, "\n1|guest|device|||||||||||||||||\n");
	free(out);
	free(err);
}
END_TEST

START_TEST(tshark_decodes_the_messages_of_a_recorded_session)
{
	int status;
	char *err;
	char *out = tshark_on(GOLDEN_E2E, &status, &err, KD_MESSAGE_FIELDS, NULL);

	ck_assert_msg(status == 0, "tshark exited %d:\n%s", status, err);
	expect_quiet(err);
	/* The first stop: in the page, twice on the wire (SYNC, then after the
	 * RESET). */
	EXPECT_WHOLE_LINE(out, "\n4|guest|device|Exception||||||0x80000003|breakpoint|"
			 "0xffffffff801033e9||||||||\n");
	EXPECT_WHOLE_LINE(out, "\n6|device|debugger|Exception||||||0x80000003|breakpoint|"
			 "0xffffffff801033e9||||||||\n");
	EXPECT_WHOLE_LINE(out, "\n8|device|debugger|Exception||||||0x80000003|breakpoint|"
			 "0xffffffff801033e9||||||||\n");
	EXPECT_WHOLE_LINE(out, "\n18|device|debugger|GetVersion|reply|success|||||||||"
			 "0xffffffff80100000|||||\n");
	EXPECT_WHOLE_LINE(out, "\n23|debugger|device|ReadVirtualMemory|request||0xffffffff80114f40|56|||"
			 "|||||||||\n");
	EXPECT_WHOLE_LINE(out, "\n28|device|debugger|ReadVirtualMemory|reply|success|0xffffffff80114f40|"
			 "56|56|||||||||||\n");
	/* The unmapped hole: a status by name. */
	EXPECT_WHOLE_LINE(out, "\n58|device|debugger|ReadVirtualMemory|reply|unsuccessful|"
			 "0xffffffff80f00000|16|0|||||||||||\n");
	EXPECT_WHOLE_LINE(out, "\n68|device|debugger|WriteBreakPoint|reply|success|0xffffffff80111965|||"
			 "||||1||||||\n");
	EXPECT_WHOLE_LINE(out, "\n81|device|debugger|PrintString||||||||||||||||"
			 "bxkd kernel up: 100 rounds of work\\n\n");
	EXPECT_WHOLE_LINE(out, "\n104|debugger|device|Continue2|request||||||||1|||||||\n");
	EXPECT_WHOLE_LINE(out, "\n112|device|debugger|Exception||||||0x80000004|single-step|"
			 "0xffffffff80111966||||||||\n");
	/* GetContext's reply carries the CONTEXT: its registers. */
	EXPECT_WHOLE_LINE(out, "\n158|device|debugger|GetContext|reply|success||||||||||0x8011196e|"
			 "0x8017ff4c|0x00000306||\n");
	free(out);
	free(err);
}
END_TEST

/* An x86-64 kernel's session: the AMD64 machine, 64-bit addresses whole
 * in the stop, the read and its reply, and the 1232-byte CONTEXT with its
 * 64-bit RIP and RSP, in text and in JSON. */
#define GOLDEN_E2E_X64 BXKD_SOURCE_DIR "/tests/sessions/golden/e2e-x64.pcap"

START_TEST(dump_decodes_an_x64_session_with_its_64_bit_addresses)
{
	int status;
	char *err;
	char *argv[] = { BXKD_REPLAY, "dump", GOLDEN_E2E_X64, NULL };
	char *out = run(argv, &status, &err);

	ck_assert_msg(status == 0, "bxkd-replay dump exited %d:\n%s", status, err);
	EXPECT_LINE(out, "t2d STATE_CHANGE64 id=0x80800800 SYNC ",
		    "pc=0xfffff80000102809 code=0x80000003 breakpoint address=0xfffff80000102809");
	EXPECT_LINE(out, "t2d STATE_MANIPULATE ", "GetVersion reply ",
		    "machine=0x8664 AMD64 KernBase=0xfffff80000100000 "
		    "PsLoadedModuleList=0xfffff80000112230 DebuggerDataList=0xfffff80000112220");
	EXPECT_LINE(out, "d2t STATE_MANIPULATE ",
		    "ReadVirtualMemory request address=0xfffff8000010d000 count=56");
	EXPECT_LINE(out, "t2d STATE_MANIPULATE ",
		    "ReadVirtualMemory reply status=0x00000000 success address=0xfffff8000010d000 "
		    "count=56 actual=56");
	EXPECT_LINE(out, "t2d STATE_MANIPULATE id=", "length=1288 ", "GetContext reply cpu=0 ",
		    "data=1232 context=AMD64 rip=0xfffff80000108581 rsp=0xfffff8000023bf98 "
		    "eflags=0x00000306");
	EXPECT_LINE(out, "d2t STATE_MANIPULATE id=", "length=1288 ",
		    "SetContext request cpu=0 flags=0x00100017 data=1232 context=AMD64 "
		    "rip=0xfffff80000108581 rsp=0xfffff8000023bf98");
	free(out);
	free(err);

	/* The same values in JSON: whole, as "0x..." strings. */
	char *json_argv[] = { BXKD_REPLAY, "dump", "--json", GOLDEN_E2E_X64, NULL };
	out = run(json_argv, &status, &err);
	ck_assert_msg(status == 0, "bxkd-replay dump --json exited %d:\n%s", status, err);
	expect_json_lines(out);
	EXPECT_LINE(out, "{\"record\":6,", "\"dir\":\"t2d\",\"kind\":\"data\"",
		    "\"api\":\"Exception\"", "\"pc\":\"0xfffff80000102809\"",
		    "\"thread\":\"0xfffff800001125e0\"", "\"address\":\"0xfffff80000102809\"");
	EXPECT_LINE(out, "{\"record\":18,", "\"api\":\"GetVersion\"", "\"build\":7601",
		    "\"machine\":\"0x8664\",\"machine_name\":\"AMD64\"",
		    "\"kern_base\":\"0xfffff80000100000\"",
		    "\"ps_loaded_module_list\":\"0xfffff80000112230\"",
		    "\"debugger_data_list\":\"0xfffff80000112220\"");
	EXPECT_LINE(out, "{\"record\":23,", "\"api\":\"ReadVirtualMemory\"",
		    "\"message\":\"request\"", "\"address\":\"0xfffff8000010d000\"",
		    "\"count\":56");
	EXPECT_LINE(out, "\"kind\":\"kd_port\"", "\"api\":\"WriteBreakPoint\"",
		    "\"message\":\"reply\"", "\"address\":\"0xfffff80000108578\"");
	EXPECT_LINE(out, "{\"record\":158,", "\"api\":\"GetContext\"", "\"data_length\":1232",
		    "\"context\":\"AMD64\",\"rip\":\"0xfffff80000108581\","
		    "\"rsp\":\"0xfffff8000023bf98\",\"eflags\":\"0x00000306\"");
	free(out);
	free(err);
}
END_TEST

/* The x86-64 kernel's session in tshark: the AMD64 machine, 64-bit
 * addresses whole, and the AMD64 CONTEXT (picked by its 1232 bytes)
 * decoded with 64-bit registers, never as an x86 one. */
static const char *const x64_message_fields[] = {
	"bxkd.sequence", "bxkd.dbgkd.name", "bxkd.dbgkd.message", "bxkd.dbgkd.address",
	"bxkd.dbgkd.pc", "bxkd.dbgkd.version.machine", "bxkd.dbgkd.version.kern_base",
	"bxkd.context.amd64.flags", "bxkd.context.amd64.cs", "bxkd.context.amd64.eflags",
	"bxkd.context.amd64.rax", "bxkd.context.amd64.rsp", "bxkd.context.amd64.r9",
	"bxkd.context.amd64.rip", "bxkd.context.eip",
};

START_TEST(tshark_decodes_an_x64_session_with_its_amd64_context)
{
	int status;
	char *err;
	char *out = tshark_fields_on(GOLDEN_E2E_X64, &status, &err, x64_message_fields,
				     sizeof(x64_message_fields) / sizeof(x64_message_fields[0]));

	ck_assert_msg(status == 0, "tshark exited %d:\n%s", status, err);
	expect_quiet(err);
	/* seq|name|message|address|pc|machine|KernBase|flags|cs|eflags|rax|rsp|r9|rip|eip */
	EXPECT_WHOLE_LINE(out, "\n6|Exception|||0xfffff80000102809||||||||||\n");
	EXPECT_WHOLE_LINE(out, "\n18|GetVersion|reply|||0x8664|0xfffff80000100000||||||||\n");
	EXPECT_WHOLE_LINE(out, "\n23|ReadVirtualMemory|request|0xfffff8000010d000|||||||||||\n");
	EXPECT_WHOLE_LINE(out, "\n28|ReadVirtualMemory|reply|0xfffff8000010d000|||||||||||\n");
	EXPECT_WHOLE_LINE(out, "\n63|WriteBreakPoint|request|0xfffff80000108578|||||||||||\n");
	EXPECT_WHOLE_LINE(out, "\n193|ReadPhysicalMemory|request|0x000000000010d000|||||||||||\n");
	/* After three steps into workload_step_target: RAX 3, then set to 0x10. */
	EXPECT_WHOLE_LINE(out, "\n158|GetContext|reply|||||0x00100017|0x0008|0x00000306|"
			       "0x0000000000000003|0xfffff8000023bf98|0xfffff8000010f0b8|"
			       "0xfffff80000108581|\n");
	EXPECT_WHOLE_LINE(out, "\n173|SetContext|request|||||0x00100017|0x0008|0x00000306|"
			       "0x0000000000000010|0xfffff8000023bf98|0xfffff8000010f0b8|"
			       "0xfffff80000108581|\n");
	free(out);
	free(err);

	/* The tree as a person reads it. */
	out = tshark_on(GOLDEN_E2E_X64, &status, &err, "-V", "-Y",
			"bxkd.sequence == 18 || bxkd.sequence == 158", NULL);
	ck_assert_msg(status == 0, "tshark exited %d:\n%s", status, err);
	expect_quiet(err);
	EXPECT_LINE(out, "MachineType: AMD64 (0x8664)");
	EXPECT_LINE(out, "AMD64 CONTEXT, RIP 0xfffff80000108581");
	EXPECT_LINE(out, "RIP: 0xfffff80000108581");
	EXPECT_LINE(out, "R15: 0x0000000000000000");
	EXPECT_LINE(out, "DR7: 0x0000000000000400");
	EXPECT_LINE(out, "SS: 0x0010");
	ck_assert_msg(!strstr(out, "x86 CONTEXT") && !strstr(out, "Lua Error") &&
			      !strstr(out, "Malformed"),
		      "%s", out);
	free(out);
	free(err);

	out = tshark_on(GOLDEN_E2E_X64, &status, &err, "-Y", "bxkd.sequence == 18", NULL);
	ck_assert_int_eq(status, 0);
	EXPECT_LINE(out, "GetVersion reply status=0x00000000 success build=7601 machine=AMD64 "
			 "KernBase=0xfffff80000100000");
	free(out);
	free(err);
}
END_TEST

BXKD_SUITE(replay_tools,
	TCase *wireshark;

	testcases_add(s, "kd_packets", 0, TESTS(kd_packets_are_described_as_the_tap_shows_them));
	testcases_add_with(s, "dump", 0, write_session, remove_session, TESTS(
		dump_shows_the_exchange_as_text, dump_shows_the_exchange_as_json,
		dump_shows_a_cut_file_to_the_cut_and_refuses_damage_and_bad_usage,
		dump_decodes_an_x64_session_with_its_64_bit_addresses));
	testcases_add_with(s, "walkthrough", 0, write_session, remove_session, TESTS(
		walkthrough_document_is_the_tools_output_on_the_golden_session,
		walkthrough_labels_the_attach_and_each_step,
		walkthrough_refuses_a_session_without_the_steps_and_bad_usage));
	/* tshark starts in about a second; a loaded machine may take longer. */
	wireshark = testcases_add_with(s, "tshark", 120, write_session, remove_session,
				       (const TTest *const[]){ NULL });
	tcase_add_test_needing_tshark(wireshark, tshark_decodes_every_record);
	tcase_add_test_needing_tshark(wireshark, tshark_filters_and_shows_the_tree);
	tcase_add_test_needing_tshark(wireshark,
				      tshark_reassembles_a_split_frame_and_decodes_its_message);
	tcase_add_test_needing_tshark(wireshark, tshark_decodes_the_messages_of_a_recorded_session);
	tcase_add_test_needing_tshark(wireshark, tshark_decodes_an_x64_session_with_its_amd64_context);
)
