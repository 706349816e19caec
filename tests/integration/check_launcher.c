/*
 * check_launcher.c -- the bxkd command (launcher/): `bxkd run` and `bxkd
 * demo` as processes, on both transports, and the pieces they are made of
 * (bochs-run/bxvm.h, kdep_describe) in memory.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bxvm.h"
#include "kdep.h"
#include "proc.h"
#include "suites.h"
#include "testcases.h"

#define BOOT_TIMEOUT "60"
/* A bound on every process a test starts. */
#define WAIT_MS 90000u

struct result {
	int status;
	char *out, *err;
};

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

static char *work_dir(const char *name)
{
	char *dir;

	ck_assert(asprintf(&dir, "%s/%s", BXKD_TEST_WORK_DIR, name) > 0);
	return dir;
}

/* Starts argv with its output into files in `dir`, named after `tag`. */
static void start(struct child *c, char *const argv[], const char *dir, const char *tag)
{
	char out[600], err[600];

	snprintf(out, sizeof(out), "%s/%s.out", dir, tag);
	snprintf(err, sizeof(err), "%s/%s.err", dir, tag);
	ck_assert(child_start(c, argv, out, err));
}

static void finish(struct child *c, const char *dir, const char *tag, struct result *r)
{
	char out[600], err[600];

	r->status = child_wait(c, WAIT_MS);
	snprintf(out, sizeof(out), "%s/%s.out", dir, tag);
	snprintf(err, sizeof(err), "%s/%s.err", dir, tag);
	r->out = read_text_file(out);
	r->err = read_text_file(err);
	ck_assert_ptr_nonnull(r->out);
	ck_assert_ptr_nonnull(r->err);
}

static void run_to_end(char *const argv[], const char *dir, const char *tag, struct result *r)
{
	struct child c;

	start(&c, argv, dir, tag);
	finish(&c, dir, tag, r);
}

/* The end of a long output: Check refuses a failure message over 4 KiB,
 * and the end is where a run says how it went. */
static const char *tail_of(const char *text)
{
	size_t length = strlen(text);

	return length > 1500 ? text + length - 1500 : text;
}

#define EXPECT_IN(r, text) \
	ck_assert_msg(strstr((r)->out, (text)), "output lacks \"%s\":\n...%s...%s", (text), \
		      tail_of((r)->out), tail_of((r)->err))

/* The exit status, and each of the NULL-terminated texts in the output. */
static void expect_run(const struct result *r, int status, const char *const texts[])
{
	ck_assert_msg(r->status == status, "exit status %d, not %d:\n...%s...%s", r->status, status,
		      tail_of(r->out), tail_of(r->err));
	for (size_t i = 0; texts[i]; i++)
		EXPECT_IN(r, texts[i]);
}

#define LINES(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void expect_status(const struct result *r, int status)
{
	ck_assert_msg(r->status == status, "exit status %d, not %d:\n...%s...%s", r->status, status,
		      tail_of(r->out), tail_of(r->err));
}

static bool file_has(const char *path, const char *text)
{
	char *content = read_text_file(path);
	bool has = content && strstr(content, text);

	free(content);
	return has;
}


/* ---- the pieces, in memory -------------------------------------------------------- */

START_TEST(a_floppy_and_a_disk_get_their_own_bochsrc)
{
	struct bxvm_machine m;

	ck_assert_int_eq(bxvm_media_for_size(BXVM_FLOPPY_BYTES), BXVM_MEDIA_FLOPPY);
	ck_assert_int_eq(bxvm_media_for_size(2u << 20), BXVM_MEDIA_DISK);
	ck_assert_int_eq(bxvm_media_for_size(BXVM_FLOPPY_BYTES - 512), BXVM_MEDIA_DISK);

	bxvm_machine_init(&m);
	m.image = "/images/floppy.img";
	m.log_path = "/work/bochs.log";
	m.extra_config = "vmport: kd_endpoint=unix:/tmp/kd.sock";
	char *text = bxvm_bochsrc(&m);
	ck_assert_ptr_nonnull(strstr(text, "floppya: 1_44=/images/floppy.img, status=inserted\n"
					   "boot: floppy\n"));
	ck_assert_ptr_nonnull(strstr(text, "clock: sync=none, time0=946684800\n"));
	ck_assert_ptr_nonnull(strstr(text, "cpu: count=1, ips=4000000,"));
	ck_assert_ptr_nonnull(strstr(text, "log: /work/bochs.log\n"));
	/* The device's line after the plugin's, or Bochs does not know it. */
	char *plugin = strstr(text, "plugin_ctrl: vmport=1\n");
	char *device = strstr(text, "vmport: kd_endpoint=unix:/tmp/kd.sock\n");
	ck_assert(plugin && device && plugin < device);
	free(text);

	m.image = "/images/disk.img";
	m.media = BXVM_MEDIA_DISK;
	m.load_plugin = false;
	m.extra_config = NULL;
	text = bxvm_bochsrc(&m);
	ck_assert_ptr_nonnull(strstr(text, "ata0-master: type=disk, path=/images/disk.img, mode=flat\n"
					   "boot: disk\n"));
	ck_assert_ptr_null(strstr(text, "floppya"));
	ck_assert_ptr_null(strstr(text, "plugin_ctrl"));
	free(text);
}
END_TEST

START_TEST(the_environment_is_headless_unless_a_window_is_wanted)
{
	char *parent[] = { "HOME=/root", "SDL_VIDEODRIVER=x11", "TZ=Europe/Paris",
			   "LTDL_LIBRARY_PATH=/elsewhere", NULL };
	char **env = bxvm_environment(parent, "/plugins", BXVM_HEADLESS);
	int video = 0, tz = 0, ltdl = 0, home = 0;

	for (char **e = env; *e; e++) {
		video += !strcmp(*e, "SDL_VIDEODRIVER=dummy");
		tz += !strcmp(*e, "TZ=UTC");
		ltdl += !strncmp(*e, "LTDL_LIBRARY_PATH=/plugins:", 27);
		home += !strcmp(*e, "HOME=/root");
		ck_assert_str_ne(*e, "SDL_VIDEODRIVER=x11");
	}
	ck_assert(video == 1 && tz == 1 && ltdl == 1 && home == 1);
	bxvm_environment_free(env);

	env = bxvm_environment(parent, "/plugins", BXVM_WINDOW);
	video = 0;
	for (char **e = env; *e; e++) {
		video += !strcmp(*e, "SDL_VIDEODRIVER=x11");
		ck_assert_ptr_null(strstr(*e, "LD_PRELOAD"));
	}
	ck_assert_int_eq(video, 1);
	bxvm_environment_free(env);
}
END_TEST

/* The sanitizer runtime for a sanitized plugin reaches Bochs as its
 * LD_PRELOAD, replacing the caller's. */
START_TEST(a_runtime_for_bochs_alone_becomes_its_preload)
{
	char *parent[] = { "LD_PRELOAD=/mine.so", BXVM_PRELOAD_VARIABLE "=/runtime.so", NULL };
	char **env = bxvm_environment(parent, "/plugins", BXVM_HEADLESS);
	int preload = 0;

	for (char **e = env; *e; e++) {
		ck_assert_str_ne(*e, "LD_PRELOAD=/mine.so");
		preload += !strcmp(*e, "LD_PRELOAD=/runtime.so");
	}
	ck_assert_int_eq(preload, 1);
	bxvm_environment_free(env);
}
END_TEST

START_TEST(the_console_filter_works_line_by_line)
{
	static const char *const lines[] = {
		"========================================================================",
		"                        Bochs x86 Emulator 2.7",
		"========================================================================",
		"Next at t=0",
		"(0) [0x0000fffffff0] f000:fff0 (unk. ctxt): jmpf 0xf000:e05b          ; ea5be000f0",
		"<bochs:1> c",
		"bxkd test guest 0.1.0",
		"BXKD SUMMARY passed=1 failed=0",
		"(0).[21945894] [0x000000100430] 0008:0000000080100430 (unk. ctxt): out dx, al",
	};
	struct bxvm_console_filter f;
	int kept = 0;

	bxvm_console_filter_init(&f);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		bool keep = bxvm_console_keep(&f, lines[i], strlen(lines[i]));
		ck_assert_msg(keep == (i == 6 || i == 7), "line %zu: %s", i, lines[i]);
		kept += keep;
	}
	ck_assert_int_eq(kept, 2);

	struct bxvm_console_line parsed;
	ck_assert_int_eq(bxvm_parse_console_line(lines[7], strlen(lines[7]), &parsed),
			 BXVM_LINE_SUMMARY);
	ck_assert_uint_eq(parsed.summary_passed, 1);
	struct bxvm_facts facts = { .have_summary = true, .summary_passed = 1,
				    .shutdown_requested = true, .result_lines = 1 };
	ck_assert_int_eq(bxvm_classify(&facts), BXVM_PASSED);
	facts.shutdown_requested = false;
	ck_assert_int_eq(bxvm_classify(&facts), BXVM_NO_SUMMARY);
}
END_TEST

/* What the launcher prints before anything is open is what the endpoint
 * says once it is. */
START_TEST(an_endpoint_is_described_before_it_is_opened)
{
	struct kdep_options o;
	char error[300], address[KDEP_ADDRESS_MAX], hint[KDEP_HINT_MAX];
	char *dir = socket_dir(), spec[400];

	ck_assert_ptr_nonnull(dir);
	snprintf(spec, sizeof(spec), "unix:%s/kd.sock", dir);
	ck_assert(kdep_parse(spec, &o, error, sizeof(error)));
	kdep_describe(&o, address, sizeof(address), hint, sizeof(hint));
	struct kdep *ep = kdep_open(&o, NULL, error, sizeof(error));
	ck_assert_msg(ep != NULL, "%s", error);
	ck_assert_str_eq(address, kdep_address(ep));
	ck_assert_str_eq(hint, kdep_attach_hint(ep));
	/* radare2 with the settings its breakpoints and steps need; WinDbg
	 * through a relay on the loopback, reconnecting when it is lost. */
	ck_assert_ptr_nonnull(strstr(hint, "radare2 -a x86 -b 32 -e dbg.bpinmaps=false "
					   "-e dbg.swstep=false -D winkd winkd:///"));
	ck_assert_ptr_nonnull(strstr(hint, "socat TCP-LISTEN:5555,bind=127.0.0.1,reuseaddr,fork "
					   "UNIX-CONNECT:/"));
	ck_assert_ptr_nonnull(strstr(hint, "windbg -k com:ipport=5555,port=127.0.0.1,reconnect\n"));
	kdep_close(ep);

	/* A loopback TCP listener: how WinDbg gets there from elsewhere. */
	ck_assert(kdep_parse("tcp:127.0.0.1:5123", &o, error, sizeof(error)));
	kdep_describe(&o, address, sizeof(address), hint, sizeof(hint));
	ck_assert_str_eq(address, "127.0.0.1:5123");
	ck_assert_ptr_nonnull(strstr(hint, "windbg -k com:ipport=5123,port=127.0.0.1,reconnect\n"));
	ck_assert_ptr_nonnull(
		strstr(hint, "socat TCP-LISTEN:5555,reuseaddr,fork TCP:127.0.0.1:5123"));
	ck_assert_ptr_nonnull(strstr(hint, "-e dbg.bpinmaps=false -e dbg.swstep=false -D winkd "));
	/* Listening everywhere: WinDbg on this host still goes to the loopback. */
	ck_assert(kdep_parse("tcp:0.0.0.0:5124", &o, error, sizeof(error)));
	kdep_describe(&o, address, sizeof(address), hint, sizeof(hint));
	ck_assert_ptr_nonnull(strstr(hint, "windbg -k com:ipport=5124,port=127.0.0.1,reconnect\n"));

	/* A pty is named by its link before it exists; bxkd-dbg opens a
	 * terminal with tty:, not as a socket path. */
	snprintf(spec, sizeof(spec), "pty:%s/kd-pty", dir);
	ck_assert(kdep_parse(spec, &o, error, sizeof(error)));
	kdep_describe(&o, address, sizeof(address), hint, sizeof(hint));
	ck_assert_ptr_nonnull(strstr(address, "/kd-pty"));
	ck_assert_ptr_nonnull(strstr(hint, "bxkd-dbg --target tty:"));
	ep = kdep_open(&o, NULL, error, sizeof(error));
	ck_assert_msg(ep != NULL, "%s", error);
	ck_assert_ptr_nonnull(strstr(kdep_address(ep), "/dev/pts/"));
	ck_assert_ptr_nonnull(strstr(kdep_attach_hint(ep), "also reachable as "));
	kdep_close(ep);
	remove_socket_dir(dir);
}
END_TEST

/* ---- bxkd run -------------------------------------------------------------------------- */

START_TEST(run_boots_the_kernel_and_leaves_its_bochsrc_and_log)
{
	char *dir = work_dir("launcher_run");
	char bochsrc[600], log[600];
	char *argv[] = { BXKD_LAUNCHER, "run", "--rounds", "20", "--os", "3790", "--workdir", dir,
			 "--timeout", BOOT_TIMEOUT, "--no-status", NULL };
	struct result r;

	ck_assert(bxvm_make_directories(dir));
	run_to_end(argv, BXKD_TEST_WORK_DIR, "launcher_run", &r);
	/* --os 3790: the latest service pack of that build the list has. */
	EXPECT_IN(&r, "as Windows Server 2003 SP2 (build 3790, CSD 0x0200)");
	/* Where to attach, before the console. */
	expect_run(&r, 0, LINES("radare2 -a x86 -b 32 -e dbg.bpinmaps=false -e dbg.swstep=false "
				"-D winkd winkd://",
				"windbg -k com:ipport=",
				"bxkd: attach now: ",
				"boot options: kernel=workload kd=vmport rounds=20 kd_os=3790",
				"DbgPrint: workload done after 20 rounds",
				"BXKD SUMMARY passed=1 failed=0", "bxkd: passed"));
	ck_assert(strstr(r.out, "winkd://") < strstr(r.out, "bxkd test guest"));
	ck_assert_msg(!strstr(r.out, "bxkd: link "), "--no-status: %s", tail_of(r.out));
	snprintf(bochsrc, sizeof(bochsrc), "%s/bochsrc", dir);
	snprintf(log, sizeof(log), "%s/bochs.log", dir);
	ck_assert(file_has(bochsrc, "vmport: kd_endpoint=unix:"));
	ck_assert(file_has(log, "[VMPORT]"));
	result_free(&r);
	free(dir);
}
END_TEST

/* The live status into a pipe: plain lines (no "\r"), one at the start
 * and then only on a change, at most one a second, and the counts at the
 * end; none on Bochs' own COM1 socket, which nobody counts. */
static void expect_link_status(const struct result *r, bool bochs_socket, bool relay)
{
	const char *end = strstr(r->out, "bxkd: link at the end, ");
	const char *passed = strstr(r->out, "bxkd: passed: ");
	unsigned lines = 0;
	double wall = 0;

	if (bochs_socket) {
		EXPECT_IN(r, "bxkd: no live status on Bochs' own COM1 socket");
		ck_assert_msg(!strstr(r->out, "bxkd: link "), "%s", r->out);
		return;
	}
	ck_assert_msg(end && passed && end < passed, "%s", tail_of(r->out));
	ck_assert_msg(strstr(end, "no debugger; ") && !strstr(end, "; 0 packets to the debugger") &&
			      !strstr(end, " 0 from it") &&
			      strstr(end, relay ? "resends asked" : "retransmitted"),
		      "%.*s", (int)strcspn(end, "\n"), end);
	ck_assert_msg(!strchr(r->out, '\r'), "a \\r in a pipe");
	for (const char *at = strstr(r->out, "bxkd: link /"); at; at = strstr(at + 1, "bxkd: link /"))
		lines++;
	ck_assert(sscanf(strstr(passed, " after ") + 7, "%lf", &wall) == 1);
	ck_assert_msg(lines >= 1 && lines <= 2 + (unsigned)wall, "%u lines in %.2f s", lines, wall);
}

/* The initial breakpoint waits for a debugger; bxkd-dbg attaches at the
 * endpoint bxkd printed, and the kernel goes on to pass. */
static void run_with_debugger(const char *name, const char *transport, bool tcp, bool x64)
{
	char *dir = work_dir(name), *sockets = socket_dir();
	char endpoint[300], target[300], tag[100];
	struct child run;
	struct result r, d;

	ck_assert(bxvm_make_directories(dir));
	ck_assert_ptr_nonnull(sockets);
	if (tcp) {
		unsigned port = free_tcp_port();
		snprintf(endpoint, sizeof(endpoint), "tcp:127.0.0.1:%u", port);
		snprintf(target, sizeof(target), "tcp-connect:127.0.0.1:%u", port);
	} else {
		snprintf(endpoint, sizeof(endpoint), "unix:%s/kd.sock", sockets);
		snprintf(target, sizeof(target), "connect:%s/kd.sock", sockets);
	}
	char *run_argv[] = { BXKD_LAUNCHER, "run", "--transport", (char *)transport, "--break",
			     "--endpoint", endpoint, "--workdir", dir, "--timeout", BOOT_TIMEOUT,
			     x64 ? "--arch" : NULL, "x64", NULL };
	char *dbg_argv[] = { BXKD_DBG, "--timeout", BOOT_TIMEOUT, "--target", target, "connect",
			     "version", "go", NULL };
	snprintf(tag, sizeof(tag), "%s_run", name);
	start(&run, run_argv, BXKD_TEST_WORK_DIR, tag);
	snprintf(tag, sizeof(tag), "%s_dbg", name);
	run_to_end(dbg_argv, BXKD_TEST_WORK_DIR, tag, &d);
	snprintf(tag, sizeof(tag), "%s_run", name);
	finish(&run, BXKD_TEST_WORK_DIR, tag, &r);
	expect_status(&d, 0);
	ck_assert_msg(strstr(d.out, "stopped: breakpoint") &&
			      strstr(d.out, x64 ? "version: build 7601, protocol 6, machine 0x8664"
						: "version: build 2600") &&
			      strstr(d.out, "running"),
		      "%s%s", d.out, d.err);
	char bochsrc[600];
	snprintf(bochsrc, sizeof(bochsrc), "%s/bochsrc", dir);
	ck_assert(file_has(bochsrc, "cpuid: x86_64=1") == x64);
	ck_assert_msg(!x64 || strstr(r.out, "boot options: arch=x64 kernel=workload"), "%s", r.out);
	expect_run(&r, 0, LINES("debugger=yes stops=1 breakpoints=1",
				"bxkd: passed"));
	/* Once the endpoint reaches the kernel, and after Bochs is started;
	 * Bochs' own COM1 socket has nothing to wait for. */
	const char *now = strstr(r.out, "bxkd: attach now: ");
	ck_assert_msg(tcp ? !now : now && now > strstr(r.out, "bxkd: headless"), "%s", r.out);
	expect_link_status(&r, tcp, !strcmp(transport, "serial"));
	result_free(&r);
	result_free(&d);
	remove_socket_dir(sockets);
	free(dir);
}

START_TEST(run_stops_for_a_debugger_over_the_shared_page)
{
	run_with_debugger("launcher_break_vmport", "vmport", false, false);
}
END_TEST

#ifdef BXKD_WINDOWS_DLL
/* --transport dll: the kernel debugs through the Windows KD DLL it loads. */
START_TEST(run_stops_for_a_debugger_through_the_windows_kd_dll)
{
	char log[600];

	run_with_debugger("launcher_break_dll", "dll", false, false);
	snprintf(log, sizeof(log), "%s/launcher_break_dll_run.out", BXKD_TEST_WORK_DIR);
	ck_assert_msg(file_has(log, "kd=dll") && file_has(log, "the KD DLL's shared-page transport"),
		      "%s", log);
}
END_TEST
#endif

/* COM1 relayed to a Unix socket by bxkd-tap, which keeps the trace. */
START_TEST(run_stops_for_a_debugger_over_serial_through_the_relay)
{
	char trace[600];

	run_with_debugger("launcher_break_serial", "serial", false, false);
	snprintf(trace, sizeof(trace), "%s/launcher_break_serial/kd-trace.txt", BXKD_TEST_WORK_DIR);
	ck_assert(file_has(trace, "GetVersion request"));
	ck_assert(file_has(trace, "GetVersion reply"));
}
END_TEST

/* A tcp: endpoint is Bochs' own COM1 socket; the debugger leaving must
 * not take Bochs with it. */
START_TEST(run_stops_for_a_debugger_on_bochs_own_com1_socket)
{
	run_with_debugger("launcher_break_com1", "serial", true, false);
}
END_TEST

/* --arch x64: the x86-64 kernel, an AMD64 target, in a machine whose
 * bochsrc asks for long mode. */
START_TEST(run_stops_for_a_debugger_of_the_x64_kernel)
{
	run_with_debugger("launcher_break_x64", "vmport", false, true);
}
END_TEST

/* The boot option arch=x64 alone picks the x86-64 kernel as --arch x64
 * does: the machine with long mode, the kernel's own test group. */
START_TEST(run_takes_the_kernel_from_the_boot_option_arch)
{
	char *dir = work_dir("launcher_boot_option_arch");
	char *argv[] = { BXKD_LAUNCHER, "run", "--no-status", "--workdir", dir, "--timeout",
			 BOOT_TIMEOUT, "-o", "tests=longmode arch=x64", NULL };
	char bochsrc[600];
	struct result r;

	ck_assert(bxvm_make_directories(dir));
	run_to_end(argv, BXKD_TEST_WORK_DIR, "launcher_boot_option_arch", &r);
	expect_run(&r, 0, LINES("BXKD RESULT hb_transfers_use_the_whole_64_bit_rsi_and_rdi pass",
				"bxkd: passed: BXKD SUMMARY passed=2 failed=0"));
	snprintf(bochsrc, sizeof(bochsrc), "%s/bochsrc", dir);
	ck_assert(file_has(bochsrc, "cpuid: x86_64=1"));
	result_free(&r);
	free(dir);
}
END_TEST

START_TEST(run_refuses_bad_arguments)
{
	static const struct {
		const char *args[4];
		const char *says;
	} cases[] = {
		{ { "/nonexistent/bxkd.img" }, "no image /nonexistent/bxkd.img" },
		{ { "--endpoint", "bogus:here" }, "'bogus:here' is not an endpoint" },
		{ { "--transport", "carrier-pigeon" }, "--transport is vmport, dll or serial" },
		{ { "--rounds", "many" }, "--rounds wants" },
		{ { "--timeout", "0" }, "--timeout wants" },
		{ { "--os", "2600.1" }, "--os wants BUILD[.SP] of a Windows the kernel can claim, "
					"not '2600.1'; one of\n  2600.2, 2600.3 (default), 3790.0" },
		{ { "--os", "xp" }, "not 'xp'" },
		{ { "--arch", "amd64" }, "--arch is x86 or x64, not 'amd64'" },
		{ { "--arch", "x64", "--os", "2600.3" }, "Windows XP SP3 had no x64 edition" },
		{ { "-o", "kernel=workload arch=arm" },
		  "boot option arch=arm: our image's kernels are arch=x86 (the default) and arch=x64" },
		{ { "--arch", "x86", "-o", "arch=x64" },
		  "--arch x86 and the boot option arch=x64 disagree" },
		{ { "-o", "arch=x64 kernel=workload", "--os", "2600.3" },
		  "Windows XP SP3 had no x64 edition" },
		{ { "--transport", "serial", "--record", "s.pcap" },
		  "--record records the shared page's backdoor calls: it needs --transport vmport "
		  "or dll" },
	};
	char *dir = work_dir("launcher_bad_arguments");

	ck_assert(bxvm_make_directories(dir));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[8] = { BXKD_LAUNCHER, "run" };
		int n = 2;
		for (int k = 0; k < 4 && cases[i].args[k]; k++)
			argv[n++] = (char *)cases[i].args[k];
		argv[n] = NULL;
		struct result r;
		run_to_end(argv, dir, "bad", &r);
		ck_assert_msg(r.status == 2 && strstr(r.err, cases[i].says),
			      "case %zu: status %d, said:\n%s", i, r.status, r.err);
		result_free(&r);
	}
	/* Without Bochs: a message that says what to install. */
	setenv("BXKD_BOCHS", "/nonexistent/bochs-bin", 1);
	char *argv[] = { BXKD_LAUNCHER, "run", "--workdir", dir, NULL };
	struct result r;
	run_to_end(argv, dir, "no_bochs", &r);
	unsetenv("BXKD_BOCHS");
	ck_assert_msg(r.status == 1 && strstr(r.err, "cannot run Bochs (/nonexistent/bochs-bin)") &&
			      strstr(r.err, "install Debian's bochs"),
		      "status %d, said:\n%s", r.status, r.err);
	result_free(&r);
	free(dir);
}
END_TEST

/* A --config line's kd_endpoint is where the device listens (Bochs
 * takes the last): the attach lines and "attach now" say that one. */
START_TEST(run_follows_a_config_line_endpoint)
{
	char *dir = work_dir("launcher_config_endpoint"), *sockets = socket_dir();
	char config[300], attach[300], now[300];
	struct result r;

	ck_assert(bxvm_make_directories(dir));
	snprintf(config, sizeof(config), "vmport: kd_resend_ms=100, kd_endpoint=\"unix:%s/other.sock\"",
		 sockets);
	char *argv[] = { BXKD_LAUNCHER, "run", "--rounds", "5", "--workdir", dir, "--config", config,
			 "--timeout", BOOT_TIMEOUT, NULL };
	run_to_end(argv, BXKD_TEST_WORK_DIR, "launcher_config_endpoint", &r);
	snprintf(attach, sizeof(attach), "bxkd: attach a debugger at %s/other.sock:", sockets);
	snprintf(now, sizeof(now), "bxkd: attach now: %s/other.sock reaches the kernel", sockets);
	expect_run(&r, 0, LINES(attach, now, "bxkd: passed"));
	ck_assert_msg(!strstr(r.out, "/kd.sock"), "%s", tail_of(r.out));
	result_free(&r);
	remove_socket_dir(sockets);
	free(dir);
}
END_TEST

/* A path given bare listens; where a debugger (or the VM) already
 * listens, every tool says to write connect: instead. */
START_TEST(a_path_where_someone_listens_suggests_connect)
{
	char *sockets = socket_dir(), path[100], other[120], endpoint[120], advice[300];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int listener = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(path, sizeof(path), "%s/vm.sock", sockets);
	snprintf(other, sizeof(other), "unix:%s/dbg.sock", sockets);
	snprintf(endpoint, sizeof(endpoint), "unix:%s", path);
	snprintf(advice, sizeof(advice), "another program is listening on %s (to connect to it, use "
					 "connect:%s)", path, path);
	ck_assert_uint_lt(strlen(path), sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	ck_assert(listener >= 0 && bind(listener, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		  listen(listener, 1) == 0);
	char *dbg[] = { BXKD_DBG, "--timeout", "5", "--target", path, "connect", NULL };
	char *tap[] = { BXKD_TAP_PROGRAM, "--quiet", path, other, NULL };
	char *run[] = { BXKD_LAUNCHER, "run", "--endpoint", endpoint, "--workdir", sockets, NULL };
	char *const *each[] = { dbg, tap, run };
	/* bxkd-dbg and bxkd-tap fail to open it (1), bxkd run refuses it (2);
	 * the listener never accepts, and its queue fills: nothing may wait. */
	const int statuses[] = { 1, 1, 2 };
	for (size_t i = 0; i < 3; i++) {
		struct result r;
		run_to_end(each[i], sockets, "connect_advice", &r);
		ck_assert_msg(r.status == statuses[i] && strstr(r.err, advice), "%s: status %d, said:\n%s",
			      each[i][0], r.status, r.err);
		result_free(&r);
	}
	close(listener);
	remove_socket_dir(sockets);
}
END_TEST

/* The directory named after `said` in the output, which must exist
 * (present) or not. */
static void expect_directory(const struct result *r, const char *said, bool present)
{
	const char *at = strstr(r->out, said);
	char dir[200];
	struct stat st;

	ck_assert_msg(at, "output lacks \"%s\":\n%s", said, tail_of(r->out));
	at += strlen(said);
	snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(at, " \n"), at);
	ck_assert_msg(!strncmp(dir, "/tmp/bxkd-", 10), "%s", dir);
	ck_assert_msg((stat(dir, &st) == 0) == present, "%s %s", dir,
		      present ? "is gone" : "is still there");
	if (present) {
		char *argv[] = { "/bin/rm", "-rf", dir, NULL }, *rm_said;
		ck_assert_int_eq(run_capture(argv, 10000, &rm_said), 0);
		free(rm_said);
	}
}

/* Without --workdir a run's directory goes at the end, unless --keep,
 * or the run failed (its log says why); the demo's too. */
START_TEST(default_work_directories_are_removed_unless_kept)
{
	char *dir = work_dir("launcher_default_workdir");
	char *passes[] = { BXKD_LAUNCHER, "run", "--rounds", "3", "--timeout", BOOT_TIMEOUT, NULL };
	char *kept[] = { BXKD_LAUNCHER, "run", "--rounds", "3", "--keep", "--timeout", BOOT_TIMEOUT,
			 NULL };
	char *fails[] = { BXKD_LAUNCHER, "run", "--break", "--timeout", "3", NULL };
	char *demo[] = { BXKD_LAUNCHER, "demo", NULL };
	const struct {
		char **argv;
		int status;
		const char *says;
		bool kept;
	} cases[] = {
		{ passes, 0, "bxkd: removed the work directory ", false },
		{ kept, 0, "bxkd: bochsrc and log in ", true },
		{ fails, 1, "bxkd: bochsrc and log in ", true },
		{ demo, 0, "bxkd demo: removed the work directory ", false },
	};

	ck_assert(bxvm_make_directories(dir));
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct result r;
		run_to_end(cases[i].argv, dir, "default_workdir", &r);
		expect_status(&r, cases[i].status);
		expect_directory(&r, cases[i].says, cases[i].kept);
		result_free(&r);
	}
	free(dir);
}
END_TEST

/* Another image boots as it is: no boot options, Bochs' verdict, and a
 * disk image on the IDE controller. */
START_TEST(run_boots_a_foreign_floppy_and_disk)
{
	char *dir = work_dir("launcher_foreign"), floppy[600], disk[600], bochsrc[600];
	size_t size;
	uint8_t *image = (uint8_t *)bxvm_read_file(BXKD_GUEST_IMAGE, &size);

	ck_assert(bxvm_make_directories(dir));
	ck_assert_ptr_nonnull(image);
	/* Without its option blocks (one per kernel) it is any floppy to
	 * bxkd. A block's marker ends in a NUL; the boot sector's copy, its
	 * search key, does not. */
	unsigned blocks = 0;
	for (uint8_t *marker; (marker = memmem(image, size, "BXKD-BOOT-OPTIONS-V1", 21)); blocks++)
		marker[0] = 'b';
	ck_assert_uint_eq(blocks, 2);
	snprintf(floppy, sizeof(floppy), "%s/other.img", dir);
	ck_assert(bxvm_write_file(floppy, image, size));
	uint8_t *padded = calloc(1, 2u << 20);
	memcpy(padded, image, size);
	snprintf(disk, sizeof(disk), "%s/disk.img", dir);
	ck_assert(bxvm_write_file(disk, padded, 2u << 20));
	free(padded);
	free(image);

	char *argv[] = { BXKD_LAUNCHER, "run", floppy, "--endpoint", "none", "--workdir", dir,
			 "--timeout", BOOT_TIMEOUT, NULL };
	struct result r;
	run_to_end(argv, dir, "floppy", &r);
	expect_run(&r, 0, LINES("as a 1.44 MB floppy",
				"boot options: (none)",
				"BXKD SUMMARY passed=33 failed=0",
				"the guest shut the machine down"));
	result_free(&r);

	/* Our boot sector, from a disk, finds no floppy behind it: that it
	 * says so shows the disk booted. */
	argv[2] = disk;
	run_to_end(argv, dir, "disk", &r);
	EXPECT_IN(&r, "as an IDE hard disk");
	EXPECT_IN(&r, "BXKD FATAL boot: floppy read failed");
	snprintf(bochsrc, sizeof(bochsrc), "%s/bochsrc", dir);
	ck_assert(file_has(bochsrc, "mode=flat\nboot: disk\n"));
	result_free(&r);
	free(dir);
}
END_TEST

/* ---- bxkd demo ------------------------------------------------------------------------------ */

/* A long line is cut between words: nothing shown ends in the middle of
 * a number or a name ("address=0xffffffff801..."). */
static void expect_whole_words(const char *out)
{
	unsigned cut = 0;

	for (const char *line = out; *line;) {
		size_t length = strcspn(line, "\n");
		if (length >= 3 && !memcmp(line + length - 3, "...", 3)) {
			cut++;
			ck_assert_msg(length >= 4 && line[length - 4] == ' ', "cut mid-word: %.*s",
				      (int)length, line);
		}
		line += length + (line[length] == '\n');
	}
	ck_assert_uint_gt(cut, 0);
}

static void demo(const char *name, bool serial)
{
	char *dir = work_dir(name);
	char *argv[] = { BXKD_LAUNCHER, "demo", "--workdir", dir, serial ? "--serial" : NULL, NULL };
	struct result r;

	ck_assert(bxvm_make_directories(dir));
	run_to_end(argv, BXKD_TEST_WORK_DIR, name, &r);
	expect_run(&r, 0, LINES("dbg>   connect",
				"kd  -> GetVersion request",
				"kd  <- GetVersion reply status=0x00000000 success",
				"stopped: breakpoint (0x80000003) at ",
				"workload_step_target+0x9",
				"DbgPrint: bxkd kernel up: 100 rounds of work",
				"commands answered in ",
				"s emulated",
				"BXKD RESULT workload pass",
				"scratch=\"written by the debugger\"",
				"bxkd demo: passed"));
	/* Requests and replies, not the ACKs. */
	ck_assert_ptr_null(strstr(r.out, "ACK id="));
	expect_whole_words(r.out);
	result_free(&r);
	free(dir);
}

/* `bxkd demo` with two more arguments says every one of `lines`. */
static void demo_says(const char *name, char *first, char *second, const char *const lines[])
{
	char *dir = work_dir(name);
	char *argv[] = { BXKD_LAUNCHER, "demo", "--workdir", dir, first, second, NULL };
	struct result r;

	ck_assert(bxvm_make_directories(dir));
	run_to_end(argv, BXKD_TEST_WORK_DIR, name, &r);
	expect_run(&r, 0, lines);
	result_free(&r);
	free(dir);
}

START_TEST(the_demo_over_the_shared_page)
{
	demo("launcher_demo_vmport", false);
}
END_TEST

/* --arch x64: the x86-64 kernel from the same image, an AMD64 target, and
 * its own script; the replay at the end matches it too. */
START_TEST(the_demo_of_the_x64_kernel)
{
	demo_says("launcher_demo_x64", "--arch", "x64",
		  LINES("the x86-64 test kernel (arch=x64 kernel=workload kd=vmport kd_break=1)",
				"debug-session-x64.bxkd",
				"machine=0x8664",
				"stopped: single step (0x80000004) at 0xfffff800",
				"workload_step_target+0x9",
				"data=1232",
				"rax=0000000000000010 ",
				"rip=fffff800",
				"BXKD RESULT workload pass rounds=100 checksum=0xbef55dd5",
				"replay matched",
				"bxkd demo: passed"));
}
END_TEST

START_TEST(the_demo_over_serial)
{
	demo("launcher_demo_serial", true);
}
END_TEST

/* --verbose and --bytes: the attach's control packets on screen, and why
 * the first stop shows twice. */
START_TEST(the_demo_shows_every_frame_and_its_bytes)
{
	demo_says("launcher_demo_verbose", "--verbose", "--bytes",
		  LINES("dbg>   connect",
				"kd  -> break-in",
				"        d2t   0000  62",
				"kd  -> RESET",
				"(the debugger starts the link afresh",
				"        d2t   0000  69 69 69 69 06 00 00 00 00 00 00 00 00 00 00 00",
				"kd  <- STATE_CHANGE64 id=0x80800800 SYNC length=244",
				"(sent as the debugger connects; SYNC",
				"        t2d   0000  30 30 30 30 07 00 f4 00 00 08 80 80",
				"kd  <- RESET",
				"(the kernel's side agrees, and sends its last packet again)",
				"kd  <- STATE_CHANGE64 id=0x80800000 length=244",
				"(the same packet again, resent after the RESET",
				"kd  -> ACK id=0x80800000",
				"kd  -> STATE_MANIPULATE id=0x80800000 length=56 checksum ok trailer ok: "
				"GetVersion request",
				"kd  <- DEBUG_IO",
				"bxkd demo: passed"));
}
END_TEST

BXKD_SUITE(launcher,
	testcases_add(s, "pieces", 0, TESTS(
		a_floppy_and_a_disk_get_their_own_bochsrc,
		the_environment_is_headless_unless_a_window_is_wanted,
		a_runtime_for_bochs_alone_becomes_its_preload, the_console_filter_works_line_by_line, an_endpoint_is_described_before_it_is_opened));
	testcases_add(s, "run", 120, TESTS(
		run_boots_the_kernel_and_leaves_its_bochsrc_and_log,
		run_stops_for_a_debugger_over_the_shared_page,
		run_stops_for_a_debugger_over_serial_through_the_relay,
		run_stops_for_a_debugger_on_bochs_own_com1_socket, run_stops_for_a_debugger_of_the_x64_kernel,
		run_takes_the_kernel_from_the_boot_option_arch,
		run_refuses_bad_arguments,
		run_boots_a_foreign_floppy_and_disk, run_follows_a_config_line_endpoint,
		a_path_where_someone_listens_suggests_connect,
		default_work_directories_are_removed_unless_kept));
	testcases_add_needing_dll(s, "launcher", "run_dll", 120, TESTS(run_stops_for_a_debugger_through_the_windows_kd_dll));
	testcases_add(s, "demo", 120, TESTS(the_demo_over_the_shared_page, the_demo_over_serial,
		the_demo_of_the_x64_kernel,
		the_demo_shows_every_frame_and_its_bytes));
)
