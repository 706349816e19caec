/*
 * bench_report.c -- `bxkd bench`'s results: the table on the terminal,
 * bench.csv and bench.json (json-c) beside it, and the plot (bench.dat,
 * bench.gp, and gnuplot's bench.png and bench.svg): throughput against
 * read size, one line per variant and kind, log scales, the host's
 * KDCOM-shaped ceiling drawn across.
 */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bxkd.h"

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *values, size_t n)
{
	if (!n)
		return 0;
	qsort(values, n, sizeof(*values), compare_doubles);
	return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double bench_min_wall(const struct bench_figure *f)
{
	double best = 0;

	for (unsigned i = 0; i < f->reps; i++)
		if (i == 0 || f->wall[i] < best)
			best = f->wall[i];
	return best;
}

double bench_median_wall(const struct bench_figure *f)
{
	double copy[BENCH_MAX_REPS];

	memcpy(copy, f->wall, f->reps * sizeof(*copy));
	return bench_median(copy, f->reps);
}

uint64_t bench_median_ticks(const struct bench_figure *f)
{
	double copy[BENCH_MAX_REPS];

	for (unsigned i = 0; i < f->reps; i++)
		copy[i] = (double)f->ticks[i];
	return (uint64_t)bench_median(copy, f->reps);
}

/* ---- the numbers of one figure --------------------------------------------------------- */

struct figure_numbers {
	double min_wall, median_wall;
	double mb_s;		  /* bytes per median wall second, in 10^6 */
	double kb_per_emulated_s; /* KiB per emulated second; 0 when no guest time passed */
	double instructions_per_request;
	double calls_per_packet; /* the variant's whole run; < 0 when unknown */
};

static struct figure_numbers numbers_of(const struct bench_results *r, const struct bench_figure *f)
{
	struct figure_numbers n = { 0 };
	uint64_t ticks = bench_median_ticks(f);
	double bytes = (double)f->size * (f->kind == BENCH_SMALL ? f->requests : 1);
	const struct bench_device_counts *d = &r->device[f->variant];

	n.min_wall = bench_min_wall(f);
	n.median_wall = bench_median_wall(f);
	n.mb_s = n.median_wall > 0 ? bytes / n.median_wall / 1e6 : 0;
	n.kb_per_emulated_s = ticks ? bytes / 1024 / ((double)ticks / r->ips) : 0;
	n.instructions_per_request = f->requests ? (double)ticks / f->requests : 0;
	uint64_t packets = d->packets_sent + d->packets_received;
	n.calls_per_packet = d->known && packets ? (double)(d->kd_calls - d->kd_polls) / packets : -1;
	return n;
}

static const struct bench_figure *find(const struct bench_results *r, enum bench_variant v,
				       enum bench_kind k, uint64_t size)
{
	for (size_t i = 0; i < r->figure_count; i++) {
		const struct bench_figure *f = &r->figures[i];
		if (f->variant == v && f->kind == k && f->size == size && f->reps)
			return f;
	}
	return NULL;
}

/* a / b of two figures' throughput, wall or emulated; 0 when either is missing. */
static double ratio(const struct bench_results *r, const struct bench_figure *a,
		    const struct bench_figure *b, bool emulated)
{
	if (!a || !b)
		return 0;
	struct figure_numbers x = numbers_of(r, a), y = numbers_of(r, b);
	if (emulated)
		return y.kb_per_emulated_s > 0 ? x.kb_per_emulated_s / y.kb_per_emulated_s : 0;
	return y.mb_s > 0 ? x.mb_s / y.mb_s : 0;
}

static void size_text(uint64_t size, char *text, size_t length)
{
	if (size >= (1u << 20) && size % (1u << 20) == 0)
		snprintf(text, length, "%llu MiB", (unsigned long long)(size >> 20));
	else if (size >= 1024 && size % 1024 == 0)
		snprintf(text, length, "%llu KiB", (unsigned long long)(size >> 10));
	else
		snprintf(text, length, "%llu B", (unsigned long long)size);
}

/* ---- the terminal's table ---------------------------------------------------------------- */

static void print_figures(const struct bench_results *r, FILE *out)
{
	fprintf(out, "%-8s %-8s %8s %6s %4s %10s %10s %9s %9s %12s %10s %9s\n", "variant", "kind",
		"size", "reqs", "reps", "min wall", "med wall", "us/req", "MB/s", "KiB/emu s",
		"instr/req", "calls/pkt");
	for (size_t i = 0; i < r->figure_count; i++) {
		const struct bench_figure *f = &r->figures[i];
		if (!f->reps)
			continue;
		struct figure_numbers n = numbers_of(r, f);
		char size[24], calls[16], emulated[24];
		size_text(f->size, size, sizeof(size));
		if (n.calls_per_packet < 0)
			snprintf(calls, sizeof(calls), "-");
		else
			snprintf(calls, sizeof(calls), "%.3f", n.calls_per_packet);
		if (n.kb_per_emulated_s > 0)
			snprintf(emulated, sizeof(emulated), "%.1f", n.kb_per_emulated_s);
		else
			snprintf(emulated, sizeof(emulated), "-");
		fprintf(out, "%-8s %-8s %8s %6u %4u %9.4fs %9.4fs %9.1f %9.2f %12s %10.0f %9s\n",
			bench_variant_name(f->variant), bench_kind_name(f->kind), size, f->requests,
			f->reps, n.min_wall, n.median_wall, n.median_wall / f->requests * 1e6, n.mb_s,
			emulated, n.instructions_per_request, calls);
	}
}

/* A ratio, or "-" where a figure it needs was not measured. */
static void ratio_text(double value, const char *unit, char text[24])
{
	if (value > 0)
		snprintf(text, 24, value >= 100 ? "%.0f%s" : "%.2f%s", value, unit);
	else
		snprintf(text, 24, "-");
}

static void print_ratios(const struct bench_results *r, FILE *out)
{
	fprintf(out, "\n%-8s %8s %14s %14s %16s %16s\n", "kind", "size", "vmport/serial",
		"(emulated)", "fastpath/vmport", "fastpath/ceiling");
	for (size_t i = 0; i < r->figure_count; i++) {
		const struct bench_figure *f = &r->figures[i];
		if (f->variant != BENCH_VMPORT || !f->reps)
			continue;
		const struct bench_figure *serial = find(r, BENCH_SERIAL, f->kind, f->size);
		const struct bench_figure *fast = find(r, BENCH_FASTPATH, f->kind, f->size);
		char size[24];
		size_text(f->size, size, sizeof(size));
		double ceiling = fast && f->kind != BENCH_SMALL && r->ceilings.kdcom_mb_s > 0
					 ? numbers_of(r, fast).mb_s / r->ceilings.kdcom_mb_s
					 : 0;
		char cells[4][24];
		ratio_text(ratio(r, f, serial, false), "x", cells[0]);
		ratio_text(ratio(r, f, serial, true), "x", cells[1]);
		ratio_text(ratio(r, fast, f, false), "x", cells[2]);
		ratio_text(ceiling * 100, "%", cells[3]);
		fprintf(out, "%-8s %8s %14s %14s %16s %16s\n", bench_kind_name(f->kind), size,
			cells[0], cells[1], cells[2], cells[3]);
	}
}

static void print_table(const struct bench_results *r, FILE *out)
{
	const struct bench_ceilings *c = &r->ceilings;

	print_figures(r, out);
	print_ratios(r, out);
	fprintf(out,
		"\nceilings: memcpy %.0f MB/s; Unix-socket ping-pong of 4000 bytes %.1f us; "
		"KDCOM-shaped exchange %.1f us = %.1f MB/s of 3944-byte reads\n",
		c->memcpy_mb_s, c->socket_round_trip_s * 1e6, c->kdcom_round_trip_s * 1e6,
		c->kdcom_mb_s);
	fprintf(out,
		"small reads: 4 bytes each, wall per request = med wall / reqs; guest clock %u "
		"instructions per emulated second; calls/pkt: the device's KD calls (break-in "
		"polls aside) per packet over the VM's whole run\n",
		r->ips);
	fprintf(out, "host: %u CPUs, load average %.2f at the start%s\n", r->cpus, r->load_average,
		r->loaded ? " (loaded: wall times are noisy)" : "");
}

/* ---- files ------------------------------------------------------------------------------- */

static FILE *open_output(const char *directory, const char *name, char **path)
{
	*path = bxkd_asprintf("%s/%s", directory, name);
	FILE *f = fopen(*path, "w");
	if (!f)
		bxkd_warn("cannot write %s", *path);
	return f;
}

static bool close_output(FILE *f, char *path)
{
	bool ok = !ferror(f);

	if (fclose(f) != 0)
		ok = false;
	if (!ok)
		bxkd_warn("writing %s failed", path);
	free(path);
	return ok;
}

static bool write_csv(const struct bench_results *r, const char *directory)
{
	char *path;
	FILE *f = open_output(directory, "bench.csv", &path);

	if (!f)
		return false;
	fprintf(f, "variant,kind,size_bytes,requests,reps,min_wall_s,median_wall_s,mb_per_s,"
		   "kib_per_emulated_s,instructions_per_request,calls_per_packet\n");
	for (size_t i = 0; i < r->figure_count; i++) {
		const struct bench_figure *fig = &r->figures[i];
		if (!fig->reps)
			continue;
		struct figure_numbers n = numbers_of(r, fig);
		fprintf(f, "%s,%s,%llu,%u,%u,%.6f,%.6f,%.3f,%.1f,%.0f,%.3f\n",
			bench_variant_name(fig->variant), bench_kind_name(fig->kind),
			(unsigned long long)fig->size, fig->requests, fig->reps, n.min_wall,
			n.median_wall, n.mb_s, n.kb_per_emulated_s, n.instructions_per_request,
			n.calls_per_packet);
	}
	return close_output(f, path);
}

static json_object *figure_json(const struct bench_results *r, const struct bench_figure *fig)
{
	struct figure_numbers n = numbers_of(r, fig);
	json_object *o = json_object_new_object();
	json_object *walls = json_object_new_array(), *ticks = json_object_new_array();

	json_object_object_add(o, "variant", json_object_new_string(bench_variant_name(fig->variant)));
	json_object_object_add(o, "kind", json_object_new_string(bench_kind_name(fig->kind)));
	json_object_object_add(o, "size_bytes", json_object_new_uint64(fig->size));
	json_object_object_add(o, "requests", json_object_new_uint64(fig->requests));
	for (unsigned i = 0; i < fig->reps; i++) {
		json_object_array_add(walls, json_object_new_double(fig->wall[i]));
		json_object_array_add(ticks, json_object_new_uint64(fig->ticks[i]));
	}
	json_object_object_add(o, "wall_s", walls);
	json_object_object_add(o, "guest_instructions", ticks);
	json_object_object_add(o, "min_wall_s", json_object_new_double(n.min_wall));
	json_object_object_add(o, "median_wall_s", json_object_new_double(n.median_wall));
	json_object_object_add(o, "mb_per_s", json_object_new_double(n.mb_s));
	json_object_object_add(o, "kib_per_emulated_s", json_object_new_double(n.kb_per_emulated_s));
	json_object_object_add(o, "instructions_per_request",
			       json_object_new_double(n.instructions_per_request));
	if (n.calls_per_packet >= 0)
		json_object_object_add(o, "calls_per_packet",
				       json_object_new_double(n.calls_per_packet));
	return o;
}

static bool write_json(const struct bench_results *r, const char *directory)
{
	json_object *root = json_object_new_object(), *ceilings = json_object_new_object();
	json_object *figures = json_object_new_array();

	json_object_object_add(root, "guest_instructions_per_second", json_object_new_uint64(r->ips));
	json_object_object_add(root, "cpus", json_object_new_uint64(r->cpus));
	json_object_object_add(root, "load_average", json_object_new_double(r->load_average));
	json_object_object_add(root, "loaded", json_object_new_boolean(r->loaded));
	json_object_object_add(ceilings, "memcpy_mb_per_s",
			       json_object_new_double(r->ceilings.memcpy_mb_s));
	json_object_object_add(ceilings, "socket_round_trip_s",
			       json_object_new_double(r->ceilings.socket_round_trip_s));
	json_object_object_add(ceilings, "kdcom_round_trip_s",
			       json_object_new_double(r->ceilings.kdcom_round_trip_s));
	json_object_object_add(ceilings, "kdcom_mb_per_s", json_object_new_double(r->ceilings.kdcom_mb_s));
	json_object_object_add(root, "ceilings", ceilings);
	for (size_t i = 0; i < r->figure_count; i++)
		if (r->figures[i].reps)
			json_object_array_add(figures, figure_json(r, &r->figures[i]));
	json_object_object_add(root, "figures", figures);

	char *path = bxkd_asprintf("%s/bench.json", directory);
	bool ok = json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY) == 0;
	if (!ok)
		bxkd_warn("cannot write %s", path);
	free(path);
	json_object_put(root);
	return ok;
}

/* ---- the plot -------------------------------------------------------------------------- */

/* bench.dat: one block per variant and kind (gnuplot's index), size in
 * KiB against MB/s. */
static bool write_plot_data(const struct bench_results *r, const char *directory,
			    char titles[][48], unsigned styles[], size_t *blocks, double range[2])
{
	char *path;
	FILE *f = open_output(directory, "bench.dat", &path);

	if (!f)
		return false;
	*blocks = 0;
	range[0] = range[1] = 0;
	for (size_t v = 0; v < BENCH_VARIANTS; v++)
		for (size_t k = 0; k < BENCH_SMALL; k++) {
			bool any = false;
			for (size_t i = 0; i < r->figure_count; i++) {
				const struct bench_figure *fig = &r->figures[i];
				if (fig->variant != v || fig->kind != k || !fig->reps)
					continue;
				if (!any)
					fprintf(f, "# %s %s: KiB MB/s\n", bench_variant_name(fig->variant),
						bench_kind_name(fig->kind));
				any = true;
				double kib = fig->size / 1024.0;
				if (range[0] == 0 || kib < range[0])
					range[0] = kib;
				if (kib > range[1])
					range[1] = kib;
				fprintf(f, "%.3f %.4f\n", kib, numbers_of(r, fig).mb_s);
			}
			if (any) {
				snprintf(titles[*blocks], 48, "%s, %s", bench_variant_name(v),
					 bench_kind_name(k));
				styles[*blocks] = (unsigned)(v * 2 + k + 1);
				(*blocks)++;
				fprintf(f, "\n\n");
			}
		}
	return close_output(f, path);
}

/* A colour per variant, solid for virtual and dashed for physical reads;
 * the ceilings in black and grey across the whole range. */
static bool write_plot_script(const struct bench_results *r, const char *directory,
			      char titles[][48], const unsigned styles[], size_t blocks,
			      const double range[2])
{
	static const char *const colours[BENCH_VARIANTS] = { "#b03030", "#2060c0", "#20a040" };
	char *path;
	FILE *f = open_output(directory, "bench.gp", &path);

	if (!f)
		return false;
	fprintf(f, "# bxkd bench's plot: gnuplot bench.gp (in this directory)\n"
		   "set logscale xy\nset grid\nset key outside right top\n"
		   "set xlabel 'read size (KiB)'\nset ylabel 'MB/s, wall clock'\n"
		   "set title 'bxkd bench: memory reads through the debugger'\n"
		   "set format x '%%g'\nset format y '%%g'\nset xrange [%g:%g]\n",
		range[0] / 2, range[1] * 2);
	for (size_t v = 0; v < BENCH_VARIANTS; v++)
		for (size_t k = 0; k < 2; k++)
			fprintf(f, "set style line %zu lc rgb '%s' lw 2 dt %d pt %zu\n", v * 2 + k + 1,
				colours[v], k ? 2 : 1, 5 + k * 2);
	fprintf(f, "kdcom = %.4f\nsocket = %.4f\n", r->ceilings.kdcom_mb_s,
		r->ceilings.socket_round_trip_s > 0 ? 3944 / r->ceilings.socket_round_trip_s / 1e6 : 0);
	fprintf(f, "plots = \"");
	for (size_t b = 0; b < blocks; b++)
		fprintf(f, "'bench.dat' index %zu using 1:2 with linespoints ls %u title '%s', ", b,
			styles[b], titles[b]);
	fprintf(f, "kdcom with lines dt 2 lw 2 lc rgb 'black' title 'ceiling: KDCOM-shaped "
		   "exchange', socket with lines dt 3 lw 2 lc rgb 'gray50' title 'Unix-socket "
		   "ping-pong, 4000 B'\"\n");
	fprintf(f, "set terminal pngcairo size 1100,650 font ',10'\nset output 'bench.png'\n"
		   "plot @plots\n"
		   "set terminal svg size 1100,650 dynamic\nset output 'bench.svg'\nplot @plots\n");
	return close_output(f, path);
}

static bool draw(const char *directory)
{
	if (!GNUPLOT_BIN[0]) {
		bxkd_warn("gnuplot was not found when bxkd was configured: %s/bench.gp is the plot's "
			  "script (apt-get install gnuplot-nox)",
			  directory);
		return true;
	}
	struct bxkd_process p;
	char *argv[] = { GNUPLOT_BIN, "bench.gp", NULL };
	struct bxkd_spawn how = { BXKD_FD_NULL, BXKD_FD_INHERIT, BXKD_FD_INHERIT, NULL, directory,
				  0 };
	if (!bxkd_process_start(&p, argv, &how) || !bxkd_process_wait(&p, 60000) || p.status) {
		bxkd_warn("gnuplot failed on %s/bench.gp", directory);
		return false;
	}
	return true;
}

bool bench_report(const struct bench_results *r, const char *directory, bool plot)
{
	char titles[BENCH_VARIANTS * BENCH_KINDS][48];
	unsigned styles[BENCH_VARIANTS * BENCH_KINDS];
	double range[2];
	size_t blocks;
	char *made = bxkd_make_workdir(directory, NULL);

	if (!made)
		return false;
	print_table(r, stdout);
	bool ok = write_csv(r, made) && write_json(r, made) &&
		  write_plot_data(r, made, titles, styles, &blocks, range) &&
		  write_plot_script(r, made, titles, styles, blocks, range);
	if (ok && plot)
		ok = draw(made);
	if (ok)
		printf("\nbench: %s/bench.csv, bench.json%s\n", made,
		       plot && GNUPLOT_BIN[0] ? ", bench.png, bench.svg" : ", bench.gp");
	free(made);
	return ok;
}
