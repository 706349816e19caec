/*
 * check_bochs_debugger.c -- `bxkd run --bochs-debugger`, scripted: Bochs'
 * own debugger with the kernel's names, driven by a command file
 * (--debugger-commands) with standard input at /dev/null, as CI runs it;
 * and the guest's VGA text screen, which Bochs' window shows, read back
 * with the debugger's writemem.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bxvm.h"
#include "proc.h"
#include "suites.h"
#include "testcases.h"

#define RUN_TIMEOUT "60"
#define WAIT_MS 90000u
#define SCREEN_FILE "screen.bin"
#define SCREEN_COLUMNS 80
#define SCREEN_ROWS 25

struct debugged {
	char *dir;
	int status;
	char *out, *err;
};

static void debugged_free(struct debugged *d)
{
	free(d->dir);
	free(d->out);
	free(d->err);
}

static char *in_dir(const char *dir, const char *name)
{
	char *path;

	ck_assert(asprintf(&path, "%s/%s", dir, name) > 0);
	return path;
}

/* Starts `bxkd run --debugger-commands` with `commands` and the options
 * in `more` (NULL-terminated) in a work directory of its own, `name`. */
static void debug_start(struct debugged *d, struct child *c, const char *name,
			const char *commands, const char *const more[])
{
	char *argv[24] = { BXKD_LAUNCHER, "run" };
	int n = 2;

	memset(d, 0, sizeof(*d));
	ck_assert(asprintf(&d->dir, "%s/%s", BXKD_TEST_WORK_DIR, name) > 0);
	ck_assert(bxvm_make_directories(d->dir));
	char *script = in_dir(d->dir, "commands.rc");
	ck_assert(bxvm_write_file(script, commands, strlen(commands)));
	char *out = in_dir(d->dir, "bxkd.out"), *err = in_dir(d->dir, "bxkd.err");
	const char *fixed[] = { "--debugger-commands", script, "--workdir", d->dir,
				"--timeout", RUN_TIMEOUT };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		argv[n++] = (char *)fixed[i];
	for (size_t i = 0; more[i] && n < 23; i++)
		argv[n++] = (char *)more[i];
	argv[n] = NULL;
	ck_assert(child_start(c, argv, out, err));
	free(script);
	free(out);
	free(err);
}

static void debug_finish(struct debugged *d, struct child *c)
{
	char *out = in_dir(d->dir, "bxkd.out"), *err = in_dir(d->dir, "bxkd.err");

	d->status = child_wait(c, WAIT_MS);
	d->out = read_text_file(out);
	d->err = read_text_file(err);
	ck_assert_ptr_nonnull(d->out);
	ck_assert_ptr_nonnull(d->err);
	free(out);
	free(err);
}

static void debug(struct debugged *d, const char *name, const char *commands,
		  const char *const more[])
{
	struct child c;

	debug_start(d, &c, name, commands, more);
	debug_finish(d, &c);
}

/* Check refuses a message over 4 KiB: the end of the output says most. */
#define ending(text) ((text) + (strlen(text) > 1500 ? strlen(text) - 1500 : 0))

#define SAYS(d, text) \
	ck_assert_msg(strstr((d)->out, (text)), "output lacks \"%s\":\n...%s\n%s", (text), \
		      ending((d)->out), ending((d)->err))

#define OPTIONS(...) ((const char *const[]){ __VA_ARGS__ NULL })

/* The VGA text buffer writemem left: each row's characters (the low byte
 * of each cell) as a line; `colours` gets row 0's first cell's high byte. */
static char *screen_text(const char *dir, unsigned *colours)
{
	char *path = in_dir(dir, SCREEN_FILE);
	size_t size = 0;
	uint8_t *cells = (uint8_t *)bxvm_read_file(path, &size);
	char *text = calloc(SCREEN_ROWS * (SCREEN_COLUMNS + 1) + 1, 1);

	ck_assert_msg(cells && size == SCREEN_ROWS * SCREEN_COLUMNS * 2,
		      "%s: %zu bytes, not the 4000 of the screen", path, size);
	ck_assert_ptr_nonnull(text);
	for (size_t row = 0, at = 0; row < SCREEN_ROWS; row++) {
		for (size_t x = 0; x < SCREEN_COLUMNS; x++)
			text[at++] = (char)cells[(row * SCREEN_COLUMNS + x) * 2];
		text[at++] = '\n';
	}
	*colours = cells[1];
	free(cells);
	free(path);
	return text;
}

/* ---- by name ---------------------------------------------------------------------- */

/* The initial breakpoint is reported through the transport whether or
 * not a debugger is there: the send runs, and the stop, the disassembly
 * and the step all name it. The status row is there before it. */
START_TEST(the_transports_send_is_reached_by_name_with_an_initial_break)
{
	struct debugged d;
	unsigned colours = 0;

	debug(&d, "bochs_debugger_vmport",
	      "lb \"kdvm_send_packet\"\nc\nu /2\ns\n"
	      "writemem \"" SCREEN_FILE "\" 0x800b8000 4000\nq\n",
	      OPTIONS("--break", ));
	SAYS(&d, "lb \"kdvm_send_packet\" (the transport's send");
	SAYS(&d, "Breakpoint 1, ");
	SAYS(&d, "(kdvm_send_packet+0): ");
	SAYS(&d, ": (  kdvm_send_packet+0): ");
	char *symbols = in_dir(d.dir, "bochs-symbols.txt");
	char *names = read_text_file(symbols);
	char line[100];
	uint64_t send = 0;
	FILE *nm = fopen(BXKD_GUEST_SYMBOLS, "r");
	ck_assert_ptr_nonnull(nm);
	while (!send && fgets(line, sizeof(line), nm))
		if (strstr(line, " T kdvm_send_packet\n"))
			send = strtoull(line, NULL, 16);
	fclose(nm);
	snprintf(line, sizeof(line), "\n%08" PRIx64 " kdvm_send_packet\n", send);
	ck_assert_msg(send && names && strstr(names, line), "%s lacks%s", symbols, line);
	/* One step on: the stop line names the function and the offset. */
	ck_assert_msg(strstr(d.out, "(kdvm_send_packet+3): ") || strstr(d.out, "(kdvm_send_packet+1): "),
		      "no step inside kdvm_send_packet:\n%s", ending(d.out));
	char *screen = screen_text(d.dir, &colours);
	ck_assert_msg(!strncmp(screen, " bxkd  kd=vmport  debugger not attached  packets sent 0 "
				       "received 0  resets 0",
			       69),
		      "%s", screen);
	ck_assert_msg(colours == 0x1f, "status colours 0x%02x", colours);
	ck_assert_msg(strstr(screen, "\nkd: kernel debugger on the shared-page transport, as "),
		      "%s", screen);
	free(screen);
	free(names);
	free(symbols);
	debugged_free(&d);
}
END_TEST

/* Nothing sends without a debugger or a stop: kd64 (and the stub) do not
 * even try a print or a symbol load when the transport says nobody is
 * there, so the breakpoint is never hit and the kernel passes. */
START_TEST(without_a_debugger_or_a_break_the_send_is_never_reached)
{
	struct debugged d;

	debug(&d, "bochs_debugger_unreached", "lb \"kdvm_send_packet\"\nc\n",
	      OPTIONS("--rounds", "20", ));
	ck_assert_msg(d.status == 0 && !strstr(d.out, "Breakpoint 1"), "status %d:\n%s", d.status,
		      ending(d.out));
	SAYS(&d, "BXKD SUMMARY passed=1 failed=0");
	debugged_free(&d);
}
END_TEST

#ifdef BXKD_WINDOWS_DLL
/* kd=dll: the DLL's exports, where the kernel's loader maps it. */
START_TEST(the_kd_dlls_send_is_reached_by_its_export_name)
{
	struct debugged d;

	debug(&d, "bochs_debugger_dll", "lb \"KdSendPacket\"\nc\ns\nq\n",
	      OPTIONS("--transport", "dll", "--break", ));
	SAYS(&d, "and the KD DLL's exports");
	SAYS(&d, "Breakpoint 1, 0x00000000a000");
	SAYS(&d, "(KdSendPacket+0): ");
	SAYS(&d, "(KdSendPacket+");
	debugged_free(&d);
}
END_TEST

/* The x86-64 kernel with its KD DLL: the exports at that kernel's window
 * in the higher half, and its VGA screen (the status row, the console)
 * at KERNEL_OFFSET + 0xB8000 there. */
START_TEST(the_x64_kernels_dll_send_and_screen_are_there_too)
{
	struct debugged d;
	unsigned colours = 0;

	debug(&d, "bochs_debugger_x64",
	      "lb \"KdSendPacket\"\nc\ns\nwritemem \"" SCREEN_FILE "\" 0xfffff800000b8000 4000\nq\n",
	      OPTIONS("--arch", "x64", "--transport", "dll", "--break", ));
	SAYS(&d, "and the KD DLL's exports");
	SAYS(&d, "Breakpoint 1, 0xfffff800a000");
	SAYS(&d, "(KdSendPacket+0): ");
	SAYS(&d, "(KdSendPacket+");
	char *screen = screen_text(d.dir, &colours);
	ck_assert_msg(!strncmp(screen, " bxkd  kd=dll  debugger not attached", 36), "%s", screen);
	ck_assert_msg(colours == 0x1f, "status colours 0x%02x", colours);
	ck_assert_msg(strstr(screen, "\nkd: kernel debugger on "), "%s", screen);
	free(screen);
	debugged_free(&d);
}
END_TEST
#endif

/* ---- the screen --------------------------------------------------------------------- */

/* bxkd-dbg attaches, asks and goes on; at the kernel's shutdown the screen
 * has the console's last lines and the packets counted on the status row. */
START_TEST(the_screen_shows_the_console_and_the_debuggers_packets)
{
	char *sockets = socket_dir(), endpoint[300], target[300], path[600];
	struct debugged d, dbg = { 0 };
	struct child run, client;
	unsigned colours = 0;

	ck_assert_ptr_nonnull(sockets);
	snprintf(endpoint, sizeof(endpoint), "unix:%s/kd.sock", sockets);
	snprintf(target, sizeof(target), "connect:%s/kd.sock", sockets);
	debug_start(&d, &run, "bochs_debugger_screen",
		    "lb \"machine_shutdown\"\nc\nwritemem \"" SCREEN_FILE "\" 0x800b8000 4000\nq\n",
		    OPTIONS("--break", "--rounds", "20", "--endpoint", endpoint, ));
	/* A 64 KiB dump is 17 requests: the row's counts carry within their
	 * digits (19 to 20) and into new ones (9 to 10). */
	char dump[700];
	snprintf(path, sizeof(path), "%s/kernel.bin", d.dir);
	snprintf(dump, sizeof(dump), "dump %s 0x80100000 65536", path);
	char *dbg_argv[] = { BXKD_DBG, "--timeout", RUN_TIMEOUT, "--target", target, "connect",
			     "version", dump, "go", "wait-exit", NULL };
	snprintf(path, sizeof(path), "%s/bxkd-dbg.out", d.dir);
	ck_assert(child_start(&client, dbg_argv, path, NULL));
	dbg.status = child_wait(&client, WAIT_MS);
	debug_finish(&d, &run);
	ck_assert_msg(dbg.status == 0, "bxkd-dbg: status %d", dbg.status);
	SAYS(&d, "BXKD RESULT workload pass rounds=20");
	char *screen = screen_text(d.dir, &colours);
	/* Attach: the stop and the symbol load went out, the requests and the
	 * Continue came in, then the kernel's prints went out to the debugger
	 * that stayed (a debugger that leaves makes the row be drawn whole). */
	ck_assert_msg(strstr(screen, " bxkd  kd=vmport  debugger ") &&
			      strstr(screen, "packets sent ") && !strstr(screen, "packets sent 0 ") &&
			      !strstr(screen, "received 0 "),
		      "%s", screen);
	/* The row counted digit by digit (past a carry into a second digit)
	 * says what the kernel's own formatted line says. */
	unsigned row[3], line[3];
	const char *counts = strstr(screen, "packets sent ");
	const char *report = strstr(screen, "\nkd: packets sent ");
	ck_assert_msg(counts && sscanf(counts, "packets sent %u received %u  resets %u", &row[0],
				       &row[1], &row[2]) == 3,
		      "%s", screen);
	ck_assert_msg(report && sscanf(report, "\nkd: packets sent %u received %u resets %u",
				       &line[0], &line[1], &line[2]) == 3,
		      "%s", screen);
	ck_assert_msg(row[0] == line[0] && row[1] == line[1] && row[2] == line[2] && row[0] >= 10,
		      "row %u/%u/%u, line %u/%u/%u:\n%s", row[0], row[1], row[2], line[0], line[1],
		      line[2], screen);
	ck_assert_msg(strstr(screen, "\nBXKD SUMMARY passed=1 failed=0") &&
			      strstr(screen, "\nBXKD RESULT workload pass rounds=20"),
		      "%s", screen);
	free(screen);
	remove_socket_dir(sockets);
	debugged_free(&d);
}
END_TEST

/* ---- the machine -------------------------------------------------------------------- */

/* A window is redrawn on emulated time (Bochs' host-time default hardly
 * runs under sync=none); a headless machine keeps Bochs' default. */
START_TEST(a_window_is_redrawn_on_emulated_time)
{
	struct bxvm_machine m;

	bxvm_machine_init(&m);
	m.image = "guest.img";
	char *headless = bxvm_bochsrc(&m);
	m.window = true;
	char *window = bxvm_bochsrc(&m);
	ck_assert_msg(!strstr(headless, "\nvga:"), "%s", headless);
	ck_assert_msg(strstr(window, "\nvga: extension=vbe, update_freq=5, realtime=0\n"), "%s",
		      window);
	free(headless);
	free(window);
}
END_TEST

/* ---- refused before Bochs starts ------------------------------------------------------- */

/* Without a display, SDL2 cannot open the window and Bochs panics: bxkd
 * says so itself, with a usage error, and makes nothing. */
START_TEST(a_window_without_a_display_is_refused_before_bochs_starts)
{
	char *dir = in_dir(BXKD_TEST_WORK_DIR, "bochs_debugger_no_display");
	char *argv[] = { BXKD_LAUNCHER, "run", "--gui", "--workdir", dir, "--timeout", RUN_TIMEOUT,
			 NULL };
	char *display = getenv("DISPLAY") ? strdup(getenv("DISPLAY")) : NULL;
	char *wayland = getenv("WAYLAND_DISPLAY") ? strdup(getenv("WAYLAND_DISPLAY")) : NULL;
	char *bochsrc = in_dir(dir, "bochsrc");
	char *out_path = in_dir(BXKD_TEST_WORK_DIR, "bochs_debugger_no_display.out");
	char *err_path = in_dir(BXKD_TEST_WORK_DIR, "bochs_debugger_no_display.err");
	struct stat st;
	struct child c;

	ck_assert(bxvm_make_directories(dir));
	unlink(bochsrc);
	unsetenv("DISPLAY");
	unsetenv("WAYLAND_DISPLAY");
	ck_assert(child_start(&c, argv, out_path, err_path));
	int status = child_wait(&c, WAIT_MS);
	if (display)
		setenv("DISPLAY", display, 1);
	if (wayland)
		setenv("WAYLAND_DISPLAY", wayland, 1);
	char *said = read_text_file(err_path);
	ck_assert_msg(status == 2 && said && strstr(said, "--gui needs a display (DISPLAY is not set)"),
		      "status %d: %s", status, said);
	ck_assert_msg(stat(bochsrc, &st) != 0, "%s was written", bochsrc);
	free(said);
	free(err_path);
	free(out_path);
	free(bochsrc);
	free(display);
	free(wayland);
	free(dir);
}
END_TEST

START_TEST(a_command_file_that_cannot_be_read_is_refused)
{
	char *argv[] = { BXKD_LAUNCHER, "run", "--debugger-commands", "/nonexistent/commands.rc",
			 NULL };
	char *out_path = in_dir(BXKD_TEST_WORK_DIR, "bochs_debugger_no_commands.out");
	char *err_path = in_dir(BXKD_TEST_WORK_DIR, "bochs_debugger_no_commands.err");
	struct child c;

	ck_assert(child_start(&c, argv, out_path, err_path));
	int status = child_wait(&c, WAIT_MS);
	char *said = read_text_file(err_path);
	ck_assert_msg(status == 2 && said &&
			      strstr(said, "cannot read --debugger-commands /nonexistent/commands.rc"),
		      "status %d: %s", status, said);
	free(said);
	free(out_path);
	free(err_path);
}
END_TEST

BXKD_SUITE(bochs_debugger,
	testcases_add(s, "refused", 0, TESTS(a_window_is_redrawn_on_emulated_time,
		a_window_without_a_display_is_refused_before_bochs_starts,
		a_command_file_that_cannot_be_read_is_refused));
	testcases_add(s, "by_name", 120, TESTS(
		the_transports_send_is_reached_by_name_with_an_initial_break,
		without_a_debugger_or_a_break_the_send_is_never_reached));
	testcases_add_needing_dll(s, "bochs_debugger", "by_export", 120,
		TESTS(the_kd_dlls_send_is_reached_by_its_export_name,
		      the_x64_kernels_dll_send_and_screen_are_there_too));
	testcases_add(s, "screen", 120, TESTS(the_screen_shows_the_console_and_the_debuggers_packets));
)
