/*
 * check_kdvm.c -- the KD transport under Bochs: the guest module in the test
 * kernel, the device's host side, pipe-bridge and a debugger on the
 * socket, end to end.
 *
 * Each test boots one group of guest tests (guest/tests/kdvm_tests.c,
 * kdvm_peer_tests.c) on a machine set up for it. In the kdvm-peer boot a
 * thread of this test is the debugger: it follows the guest's
 * "bxkd-peer: ..." prints (kdvm_peer_protocol.h), checks every byte the
 * kernel sends and sends packets of every size back.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bxh.h"
#include "bxkd/dbgkd.h"
#include "kdpeer.h"
#include "guest/tests/kdvm_peer_protocol.h"
#include "proc.h"
#include "alloc.h"
#include "session_file.h"
#include "json_check.h"
#include "suites.h"
#include "testcases.h"

#define ATTACH_TIMEOUT_MS 30000u
#define SESSION_TIMEOUT_MS 120000u

struct machine {
	struct bxh_options o;
	char workdir[512];
	char boot_options[64];
	char config[600];
	char *socket_dir;
	char socket[300];
};

/* One boot of guest test group `group`, with the device's kd_* settings
 * `settings` (NULL: the transport off). */
static void machine_for(struct machine *m, const char *test_name, const char *group,
			const char *settings)
{
	bxh_options_init(&m->o);
	m->o.image = BXKD_GUEST_IMAGE;
	snprintf(m->workdir, sizeof(m->workdir), "%s/%s", BXKD_TEST_WORK_DIR, test_name);
	m->o.workdir = m->workdir;
	snprintf(m->boot_options, sizeof(m->boot_options), "tests=%s", group);
	m->o.boot_options = m->boot_options;
	m->socket_dir = NULL;
	if (!settings)
		return;
	/* sun_path is short: the socket lives in a short directory. */
	m->socket_dir = socket_dir();
	ck_assert_ptr_nonnull(m->socket_dir);
	snprintf(m->socket, sizeof(m->socket), "%s/kd.sock", m->socket_dir);
	snprintf(m->config, sizeof(m->config), "vmport: kd_endpoint=unix:%s%s%s", m->socket,
		 settings[0] ? ", " : "", settings);
	m->o.extra_config = m->config;
}

static void machine_done(struct machine *m, struct bxh_run *run)
{
	bxh_run_free(run);
	if (m->socket_dir)
		remove_socket_dir(m->socket_dir);
}

static void require_passed(struct bxh_run *run, unsigned tests)
{
	if (run->outcome != BXVM_PASSED) {
		char *why = bxh_explain(run);
		ck_abort_msg("the guest's KD tests did not pass:\n%s", why);
	}
	ck_assert_uint_eq(run->report.test_count, tests);
}

static void require_log(const struct bxh_run *run, const char *text)
{
	ck_assert_msg(strstr(run->log, text), "Bochs' log lacks \"%s\"", text);
}

/* The device's totals line: "KD transport: N calls (S sends, R receives,
 * P break-in polls), E refused, K scans of guest memory". */
struct device_totals {
	unsigned long calls, sends, receives, polls, refused, scans;
};

static struct device_totals device_totals(const struct bxh_run *run)
{
	struct device_totals d = { 0 };
	const char *line = strstr(run->log, "KD transport: ");

	ck_assert_msg(line && strstr(line, " calls ("), "no KD totals in Bochs' log");
	ck_assert_int_eq(sscanf(line,
				"KD transport: %lu calls (%lu sends, %lu receives, %lu break-in "
				"polls), %lu refused, %lu scans",
				&d.calls, &d.sends, &d.receives, &d.polls, &d.refused, &d.scans),
			 6);
	return d;
}

/* ---- without a debugger ----------------------------------------------------------------- */

START_TEST(the_transport_says_when_it_is_off)
{
	struct machine m;
	struct bxh_run run;

	machine_for(&m, "kdvm_off", "kdvm-off", NULL);
	bxh_boot(&m.o, &run);
	require_passed(&run, 2);
	require_log(&run, "KD transport off; 'vmport: kd_endpoint=");
	machine_done(&m, &run);
}
END_TEST

/* Registration, refusals, hostile pages, CPL 3, prints with nobody there,
 * one backdoor call per packet. The device's log tells a user where to
 * attach, with lines to paste. */
START_TEST(the_transport_without_a_debugger)
{
	struct machine m;
	struct bxh_run run;
	char line[400];

	machine_for(&m, "kdvm_no_debugger", "kdvm", "");
	bxh_boot(&m.o, &run);
	require_passed(&run, 11);
	snprintf(line, sizeof(line), "KD transport on backdoor command 18: attach a debugger at %s",
		 m.socket);
	require_log(&run, line);
	snprintf(line, sizeof(line),
		 "radare2 -a x86 -b 32 -e dbg.bpinmaps=false -e dbg.swstep=false -D winkd winkd://%s",
		 m.socket);
	require_log(&run, line);
	require_log(&run, "windbg -k com:ipport=");
	require_log(&run, "KD page registered at guest physical 0x1fff000");
	require_log(&run, "KD: no debugger answered; dropping debug prints");
	struct device_totals d = device_totals(&run);
	ck_assert_uint_eq(d.scans, 0);
	ck_assert_uint_gt(d.sends, 150);
	machine_done(&m, &run);
}
END_TEST

/* VMKD's discovery by signature, and the page ring 3 plants below the
 * kernel's: the device serves the planted one (the guest asserts which). */
START_TEST(scan_discovery_serves_a_page_planted_by_ring3)
{
	struct machine m;
	struct bxh_run run;

	machine_for(&m, "kdvm_scan", "kdvm-scan", "kd_discovery=scan");
	bxh_boot(&m.o, &run);
	require_passed(&run, 4);
	require_log(&run, "KD page found by scanning at guest physical 0x70000");
	/* Then, once the plant is gone, the kernel's own page in its image. */
	const char *first = strstr(run.log, "KD page found by scanning at guest physical ");
	const char *second = strstr(first + 1, "KD page found by scanning at guest physical ");
	unsigned long kernel_page = 0;
	ck_assert_msg(second && sscanf(second, "KD page found by scanning at guest physical %lx",
				       &kernel_page) == 1,
		      "the kernel's page was not found by a second scan");
	ck_assert_msg(kernel_page >= 0x100000 && kernel_page < 0x800000,
		      "the second scan found 0x%lx, not a page of the kernel image", kernel_page);
	ck_assert_uint_eq(device_totals(&run).scans, 3);
	machine_done(&m, &run);
}
END_TEST

/* F5: a recording of the KD transport stays within the record limit
 * whatever the RAM: a scan that finds no page (the kdvm-scan group's call
 * with another nonce) once wrote a 28-byte access per page into one
 * BACKDOOR record, past 256 KiB above 36.5 MiB of RAM, and the recording
 * ended incomplete. Each boot records; the file must read back whole. */
static const struct {
	unsigned megs;
	const char *group, *discovery;
	unsigned tests, records;
} recorded_boots[] = {
	{ 64, "kdvm", "register", 11, 300 },
	{ 512, "kdvm", "register", 11, 300 },
	{ 64, "kdvm-scan", "scan", 4, 17 },
	{ 512, "kdvm-scan", "scan", 4, 17 },
};

START_TEST(recordings_stay_bounded_whatever_the_ram)
{
	struct machine m;
	struct bxh_run run;
	struct session_file file;
	char name[64], settings[700], error[300], megs[16];

	snprintf(name, sizeof(name), "kdvm_record_%s_%u", recorded_boots[_i].discovery,
		 recorded_boots[_i].megs);
	snprintf(settings, sizeof(settings), "kd_discovery=%s, record=%s/%s/session.bxkd",
		 recorded_boots[_i].discovery, BXKD_TEST_WORK_DIR, name);
	machine_for(&m, name, recorded_boots[_i].group, settings);
	m.o.megs = recorded_boots[_i].megs;
	bxh_boot(&m.o, &run);
	require_passed(&run, recorded_boots[_i].tests);
	ck_assert_msg(!strstr(run.log, "is incomplete"), "the recording is incomplete:\n%s",
		      strstr(run.log, "is incomplete"));
	char *path = bxkd_asprintf("%s/%s/session.bxkd", BXKD_TEST_WORK_DIR, name);
	ck_assert_msg(session_file_read(path, &file, error, sizeof(error)), "%s: %s", path, error);
	ck_assert_msg(session_file_manifest(&file, "bochs_megs", megs, sizeof(megs)), "no megs");
	ck_assert_uint_eq(strtoul(megs, NULL, 10), recorded_boots[_i].megs);
	ck_assert_uint_ge(file.count, recorded_boots[_i].records);
	session_file_free(&file);
	free(path);
	machine_done(&m, &run);
}
END_TEST

/* ---- with a debugger: a scripted one on the socket ----------------------------------------- */

struct script {
	char socket[300];
	pthread_t thread;
	struct kdpeer peer;
	/* Where the guest is in the protocol. */
	bool expecting_prints;
	uint32_t next_length, last_length;
	unsigned prints_seen, prints_wrong;
	char first_wrong[160];
	bool verdict_due, reset_due, done;
	uint32_t send_from, send_to;
	bool send_due;
	/* What happened, for the test to check. */
	bool attached;
	unsigned packets_sent, breakins, resets, stops;
	char failure[200];
};

static void script_fail(struct script *s, const char *why)
{
	if (!s->failure[0])
		snprintf(s->failure, sizeof(s->failure), "%s", why);
}

static void check_pattern_print(struct script *s, const uint8_t *payload, size_t length)
{
	const struct dbgkd_debug_io *io = (const void *)payload;
	size_t data_length = length - sizeof(*io);
	uint32_t want = s->next_length++;
	bool right = data_length == want && io->api_number == DBGKD_PRINT_STRING_API &&
		     io->u.length_of_string == want;

	for (size_t i = 0; right && i < data_length; i++)
		right = payload[sizeof(*io) + i] == kdvm_peer_pattern(want, (uint32_t)i);
	s->prints_seen++;
	if (!right && s->prints_wrong++ == 0)
		snprintf(s->first_wrong, sizeof(s->first_wrong),
			 "print of %u bytes arrived with %zu bytes, or other bytes", want,
			 data_length);
	if (s->next_length > s->last_length) {
		s->expecting_prints = false;
		s->verdict_due = true;
	}
}

/* Runs for each packet before its ACK is written. */
static void on_packet(void *ctx, struct kdpeer *peer, uint16_t type, const uint8_t *payload,
		      size_t length)
{
	struct script *s = ctx;
	char text[128];
	unsigned from, to;

	if (type == KDCOM_TYPE_STATE_CHANGE64) {
		s->stops++;
		return;
	}
	if (type != KDCOM_TYPE_DEBUG_IO || length < sizeof(struct dbgkd_debug_io))
		return;
	if (s->expecting_prints) {
		check_pattern_print(s, payload, length);
		return;
	}
	size_t n = length - sizeof(struct dbgkd_debug_io);
	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	memcpy(text, payload + sizeof(struct dbgkd_debug_io), n);
	text[n] = '\0';
	if (strncmp(text, KDVM_PEER_PREFIX, strlen(KDVM_PEER_PREFIX)))
		return;
	const char *command = text + strlen(KDVM_PEER_PREFIX);
	if (sscanf(command, KDVM_PEER_EXPECT_PRINTS " %u %u", &from, &to) == 2) {
		s->expecting_prints = true;
		s->next_length = from;
		s->last_length = to;
	} else if (sscanf(command, KDVM_PEER_SEND_PACKETS " %u %u", &from, &to) == 2) {
		s->send_from = from;
		s->send_to = to;
		s->send_due = true;
	} else if (!strcmp(command, KDVM_PEER_BREAKIN)) {
		/* Ahead of the ACK: there before the kernel's print returns. */
		kdpeer_write(peer, "b", 1);
		s->breakins++;
	} else if (!strcmp(command, KDVM_PEER_RESET)) {
		s->reset_due = true;
	} else if (!strcmp(command, KDVM_PEER_DONE)) {
		s->done = true;
	} else {
		script_fail(s, "unknown command from the guest");
	}
}

static bool send_request(struct script *s, uint32_t api, uint32_t status, uint32_t count,
			 const uint8_t *data, uint32_t length)
{
	struct dbgkd_manipulate_state64 m;

	memset(&m, 0, sizeof(m));
	m.api_number = api;
	m.return_status = status;
	m.u.read_memory.transfer_count = length;
	m.u.read_memory.actual_bytes = count;
	return kdpeer_send(&s->peer, KDCOM_TYPE_STATE_MANIPULATE, &m, sizeof(m), data, length,
			   SESSION_TIMEOUT_MS);
}

static void send_packets(struct script *s)
{
	static uint8_t data[KDCOM_MAX_PAYLOAD];

	for (uint32_t length = s->send_from; length <= s->send_to && !s->failure[0]; length++) {
		for (uint32_t i = 0; i < length; i++)
			data[i] = kdvm_peer_pattern(length, i);
		if (!send_request(s, KDVM_PEER_VERDICT_API, 0, 0, data, length))
			script_fail(s, "a packet to the guest was not acknowledged");
		else
			s->packets_sent++;
	}
}

static void *run_script(void *arg)
{
	struct script *s = arg;

	if (!kdpeer_open_unix(&s->peer, s->socket, ATTACH_TIMEOUT_MS, on_packet, s)) {
		script_fail(s, "the device's socket never answered");
		return NULL;
	}
	int fd = s->peer.fd;
	s->attached = kdpeer_attach(&s->peer, ATTACH_TIMEOUT_MS);
	if (!s->attached) {
		script_fail(s, "the target never answered RESET");
		close(fd);
		return NULL;
	}
	uint64_t deadline = bxkd_now_ms() + SESSION_TIMEOUT_MS;
	while (!s->done && !s->failure[0] && !s->peer.failed && bxkd_now_ms() < deadline) {
		kdpeer_pump(&s->peer, 20);
		if (s->verdict_due) {
			s->verdict_due = false;
			if (!send_request(s, KDVM_PEER_VERDICT_API, s->prints_wrong, s->prints_seen,
					  NULL, 0))
				script_fail(s, "the verdict was not acknowledged");
		}
		if (s->send_due) {
			s->send_due = false;
			send_packets(s);
		}
		if (s->reset_due) {
			s->reset_due = false;
			kdcom_send_reset(&s->peer.k, bxkd_now_ms());
			s->resets++;
		}
	}
	/* Let our ACK of the last print out before hanging up. */
	for (int i = 0; i < 10; i++)
		kdpeer_pump(&s->peer, 10);
	if (!s->done && !s->failure[0])
		script_fail(s, s->peer.failed ? "the connection broke" : "the session timed out");
	close(fd);
	return NULL;
}

/* Boots guest group `group` with the scripted debugger attached; the
 * script's findings are in the returned `struct script` (free it). */
static struct script *boot_with_scripted_debugger(struct machine *m, struct bxh_run *run,
						  const char *test_name, const char *group,
						  bool x64)
{
	struct script *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	machine_for(m, test_name, group, "");
	if (x64) {
		m->o.image = BXKD_GUEST64_IMAGE;
		m->o.long_mode = true;
	}
	m->o.timeout_seconds = SESSION_TIMEOUT_MS / 1000;
	snprintf(s->socket, sizeof(s->socket), "%s", m->socket);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, run_script, s), 0);
	bxh_boot(&m->o, run);
	pthread_join(s->thread, NULL);
	ck_assert_msg(!s->failure[0], "the debugger: %s", s->failure);
	return s;
}

/* What every size both ways leaves the script with. */
static void require_every_size_both_ways(const struct script *s)
{
	ck_assert(s->attached);
	ck_assert_uint_eq(s->stops, 1);
	ck_assert_uint_eq(s->prints_seen, KDCOM_MAX_PAYLOAD - sizeof(struct dbgkd_debug_io) + 1);
	ck_assert_msg(s->prints_wrong == 0, "%u prints wrong; first: %s", s->prints_wrong,
		      s->first_wrong);
	ck_assert_uint_eq(s->packets_sent,
			  KDCOM_MAX_PAYLOAD - sizeof(struct dbgkd_manipulate_state64) + 1);
	ck_assert_uint_eq(s->breakins, 1);
}

/* Group kdvm-peer with the scripted debugger: every size both ways, the
 * RESET, and one backdoor call per packet by the device's count (every
 * call was a send, receive or poll, apart from HELLO and REGISTER). */
static void every_size_with_a_debugger(const char *test_name, bool x64, bool dll)
{
	struct machine m;
	struct bxh_run run;
	struct script *s = boot_with_scripted_debugger(
		&m, &run, test_name, dll ? "kdvm-dll-peer" : "kdvm-peer", x64);
	unsigned long sends, receives, polls;

	require_passed(&run, 7);
	require_every_size_both_ways(s);
	struct device_totals d = device_totals(&run);
	ck_assert_uint_eq(d.refused, 0);
	if (!dll) {
		ck_assert_uint_eq(s->resets, 1);
		require_log(&run, "KD: debugger attached on ");
		ck_assert_uint_eq(d.calls, d.sends + d.receives + d.polls + 3);
	} else {
		/* The guest counted its calls into the DLL: one backdoor call
		 * each, plus KdDebuggerInitialize0's HELLO and REGISTER. */
		const struct bxvm_test_line *end = bxh_find_test(&run, "kdvm_dll_session_ends");
		ck_assert_ptr_nonnull(end);
		ck_assert_msg(sscanf(end->detail,
				     "calls into the DLL: sends=%lu receives=%lu polls=%lu", &sends,
				     &receives, &polls) == 3,
			      "%s", end->detail);
		ck_assert_uint_eq(d.sends, sends);
		ck_assert_uint_eq(d.receives, receives);
		ck_assert_uint_eq(d.polls, polls);
		ck_assert_uint_eq(d.calls, sends + receives + polls + 2);
	}
	free(s);
	machine_done(&m, &run);
}

/* Each of the two loops below runs on both kernels: _i 0 the 32-bit one,
 * _i 1 the x86-64 one, where the module's (or the DLL's) calls come from
 * long mode; every size both ways byte-identical, one backdoor call per
 * packet. */
#define ON_BOTH_KERNELS 2

START_TEST(the_transport_with_a_debugger)
{
	every_size_with_a_debugger(_i ? "kdvm_debugger_x64" : "kdvm_debugger", _i, false);
}
END_TEST

#ifdef BXKD_WINDOWS_DLL
/* The same through the Windows KD DLL the kernel loads (group
 * kdvm-dll-peer; kdbxkd-x64.dll in the x86-64 kernel, called with the
 * Windows x64 convention): the device counted exactly one backdoor call
 * for each call the guest made into KdSendPacket and KdReceivePacket,
 * plus KdDebuggerInitialize0's HELLO and REGISTER. */
START_TEST(the_windows_kd_dll_with_a_debugger)
{
	every_size_with_a_debugger(_i ? "kdvm_dll_debugger_x64" : "kdvm_dll_debugger", _i, true);
}
END_TEST
#endif

/* ---- a DbgKd session with bxkd-dbg ------------------------------------------------- */

/* The KD stub in the guest (group kdvm-stub) stops and serves bxkd-dbg
 * over the transport until it continues. The scratch address and the
 * values are the ones guest/tests/kdvm_stub_tests.c checks afterwards. */
START_TEST(bxkd_dbg_drives_the_kd_stub_over_the_transport)
{
	struct machine m;
	struct bxh_run run;
	struct child dbg;
	char target[320], out_path[600], err_path[600];

	machine_for(&m, "kdvm_bxkd_dbg", "kdvm-stub", "");
	snprintf(target, sizeof(target), "connect:%s", m.socket);
	snprintf(out_path, sizeof(out_path), "%s/bxkd-dbg.out", m.socket_dir);
	snprintf(err_path, sizeof(err_path), "%s/bxkd-dbg.err", m.socket_dir);
	char *const argv[] = { BXKD_DBG, "--json", "--timeout", "60", "--target", target,
			       "connect", "version", "write 0x71000 7772697474656e2062792074686520646562756767657200",
			       "read 0x71000 23", "readphys 0x71000 7", "setreg eax 0x1234abcd", "regs",
			       "go", NULL };
	ck_assert(child_start(&dbg, argv, out_path, err_path));
	bxh_boot(&m.o, &run);
	int status = child_wait(&dbg, 10000);
	char *out = read_text_file(out_path);
	char *err = read_text_file(err_path);

	ck_assert_msg(status == 0, "bxkd-dbg exited %d:\n%s\n%s", status, out ? out : "",
		      err ? err : "");
	ck_assert_msg(out && json_lines_have(out, "\"command\":\"connect\",\"ok\":true,\"stopped\":true"),
		      "%s", out ? out : "");
	ck_assert_msg(strstr(out, "2600"), "no build number in:\n%s", out);
	ck_assert_msg(json_lines_have(out, "\"data\":\"7772697474656e20627920746865206465627567676572\""),
		      "%s", out);
	ck_assert_msg(json_lines_have(out, "\"data\":\"7772697474656e\""), "%s", out);
	ck_assert_msg(json_lines_have(out, "\"eax\":\"0x1234abcd\""), "%s", out);
	free(out);
	free(err);
	machine_done(&m, &run);
}
END_TEST

BXKD_SUITE(kdvm,
	testcases_add(s, "without_debugger", 120, TESTS(
		the_transport_says_when_it_is_off, the_transport_without_a_debugger,
		scan_discovery_serves_a_page_planted_by_ring3));
	TCase *recorded = testcases_add(s, "recorded", 240, TESTS(NULL));
	tcase_add_loop_test(recorded, recordings_stay_bounded_whatever_the_ram, 0,
			    (int)(sizeof(recorded_boots) / sizeof(recorded_boots[0])));
	TCase *with_debugger = testcases_add(s, "with_debugger", 180,
					     TESTS(bxkd_dbg_drives_the_kd_stub_over_the_transport));
	tcase_add_loop_test(with_debugger, the_transport_with_a_debugger, 0, ON_BOTH_KERNELS);
#ifdef BXKD_WINDOWS_DLL
	tcase_add_loop_test(testcases_add(s, "through_the_dll", 180, TESTS(NULL)),
			    the_windows_kd_dll_with_a_debugger, 0, ON_BOTH_KERNELS);
#else
	testcases_add_needing_dll(s, "kdvm", "through_the_dll", 180, TESTS(NULL));
#endif
)
