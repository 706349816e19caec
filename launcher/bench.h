/*
 * bench.h -- `bxkd bench`: what its three parts share. bench.c runs the
 * VMs and times the reads, bench_ceiling.c measures what the host itself
 * can do, bench_report.c turns the samples into the table, CSV, JSON and
 * the plot.
 */
#ifndef BXKD_LAUNCHER_BENCH_H
#define BXKD_LAUNCHER_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The ways a request reaches the kernel's memory, in the order they are
 * measured and shown. */
enum bench_variant { BENCH_SERIAL, BENCH_VMPORT, BENCH_FASTPATH, BENCH_VARIANTS };
enum bench_kind { BENCH_VIRTUAL, BENCH_PHYSICAL, BENCH_SMALL, BENCH_KINDS };

#define BENCH_MAX_SIZES 8
#define BENCH_MAX_REPS 50

/* One figure: a variant reading one size of one kind, `reps` times. */
struct bench_figure {
	enum bench_variant variant;
	enum bench_kind kind;
	uint64_t size;	   /* bytes per repetition (BENCH_SMALL: bytes per request) */
	uint32_t requests; /* per repetition */
	unsigned reps;
	double wall[BENCH_MAX_REPS];	 /* seconds */
	uint64_t ticks[BENCH_MAX_REPS]; /* guest instructions (its TSC) */
	bool failed;
	char why[160];
};

/* What the host can do without an emulator, measured in the same run. */
struct bench_ceilings {
	double memcpy_mb_s;
	double socket_round_trip_s; /* a 4000-byte message there and back */
	double kdcom_round_trip_s;  /* request, ACK and reply, ACK with the next request */
	double kdcom_mb_s;	    /* 3944-byte reads at that round trip */
};

/* The device's own counts at the end of a VM's run (bochs.log). */
struct bench_device_counts {
	bool known;
	uint64_t kd_calls, kd_polls;
	uint64_t packets_sent, packets_received;
};

struct bench_results {
	unsigned ips; /* guest instructions per emulated second */
	bool full;
	unsigned reps;
	size_t figure_count;
	struct bench_figure *figures;
	struct bench_ceilings ceilings;
	struct bench_device_counts device[BENCH_VARIANTS];
	bool variant_ran[BENCH_VARIANTS];
	bool loaded; /* the host had more runnable work than CPUs */
	double load_average;
	unsigned cpus;
};

const char *bench_variant_name(enum bench_variant v);
const char *bench_kind_name(enum bench_kind k);

/* Measures the three ceilings; false with `error` if the host refused. */
bool bench_measure_ceilings(struct bench_ceilings *c, char *error, size_t error_size);

/* The median of n values (sorted in place); 0 for none. */
double bench_median(double *values, size_t n);

/* The figure's numbers, from its repetitions. */
double bench_min_wall(const struct bench_figure *f);
double bench_median_wall(const struct bench_figure *f);
uint64_t bench_median_ticks(const struct bench_figure *f);

/* Table on `out`; bench.csv, bench.json, bench.dat, bench.gp and, with
 * gnuplot, bench.png and bench.svg in `directory`. False, said, if a file
 * could not be written or gnuplot failed. */
bool bench_report(const struct bench_results *r, const char *directory, bool plot);

#endif /* BXKD_LAUNCHER_BENCH_H */
