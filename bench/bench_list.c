/*
 * bench_list.c: what one Store.List costs the daemon's loop when its
 * filter is hostile (issue 10, item 2) or its answer too big (item 8).
 *
 * N records (-n, default 100) carry a label k of 4095 'a's, the longest a
 * label may be.  Each List below runs -r times (default 5) and its median
 * time is printed with its ratio to the baseline, a List whose filter is
 * k==x (a string compare per record), measured in the same run:
 *
 *	(a*)*b, ^(a|aa)*$	exponential for a backtracking matcher,
 *				linear in RE2
 *	(?i)a{100}$		a counted repetition (~100 instructions)
 *	/a{1,1000}b/		RE2's NFA: ~2000 steps a byte, stopped by the
 *				filter's work budget (ResourceExhausted)
 *
 * Then 24 records of 1 MiB are added and a List of everything (which must
 * stop at one message, ResourceExhausted) is timed, with the daemon's
 * VmHWM before and after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"

#define DEFAULT_N	100
#define DEFAULT_ROUNDS	5
#define MAX_ROUNDS	50
#define BIG_RECORDS	24
#define BIG_SPEC	(1u << 20)

static struct bench_opts opts = {
	.optstring = "n:r:", .n = DEFAULT_N, .rounds = DEFAULT_ROUNDS,
	.max_rounds = MAX_ROUNDS,
};
static int	problems;

/* One kind of List: its filter (NULL: none) and the answer expected. */
struct list_case {
	const char	*filter;
	int		 status;
};

static const struct list_case cases[] = {
	{ "labels.k==x", 0 },			/* the baseline */
	{ "labels.k~=(a*)*b", 0 },
	{ "labels.k~=^(a|aa)*$", 0 },
	{ "labels.k~=(?i)a{100}$", 0 },
	{ "labels.k~=/a{1,1000}b/", 8 },	/* ResourceExhausted */
};

/* Create n records lab-<i> (from first) with label k, or count problems. */
static void
make_records(struct sbc *c, size_t first, size_t n, const char *k,
    const void *spec, size_t spec_len)
{
	struct sbc_meta		 m = {0};
	struct sbc_label	 label = { "k", k };
	struct sbc_error	 err = {0};
	char			 id[32];
	size_t			 i;

	m.labels = &label;
	m.nlabels = 1;
	m.spec.type_url = spec != NULL ? BENCH_SPEC_TYPE_URL : NULL;
	m.spec.value = spec;
	m.spec.len = spec_len;
	for (i = first; i < first + n && !bench_interrupted; i++) {
		snprintf(id, sizeof id, "lab-%05zu", i);
		m.id = id;
		if (sbc_store_create(c, &m, NULL, &err) != 0) {
			printf("create %s: %s\n", id, err.message);
			sbc_error_clear(&err);
			problems++;
		}
	}
}

/* Time one List (seconds); count a problem if it answers otherwise. */
static double
time_list(struct sbc *c, const char *filter, int want)
{
	const char	*f[1] = { filter };
	struct sbc_meta	*l = NULL;
	struct sbc_error err = {0};
	size_t		 n = 0;
	double		 t0;
	int		 code;

	t0 = bench_now();
	code = sbc_store_list(c, f, filter != NULL ? 1 : 0, &l, &n, &err);
	t0 = bench_now() - t0;
	if (code != want) {
		printf("list %s: %d, want %d (%s)\n", filter != NULL ? filter :
		    "(all)", code, want, err.message != NULL ? err.message : "");
		problems++;
	}
	sbc_error_clear(&err);
	if (code == 0)
		sbc_meta_list_free(l, n);
	return (t0);
}

/* The median time of opts.rounds Lists with filter. */
static double
median_list(struct sbc *c, const char *filter, int want)
{
	double	t[MAX_ROUNDS];
	int	r;

	for (r = 0; r < opts.rounds && !bench_interrupted; r++)
		t[r] = time_list(c, filter, want);
	return (bench_median(t, r));
}

/* The daemon's VmHWM in KiB, or -1. */
static long
hwm_kib(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kib = -1;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return (kib);
}

/* Time the List of everything once BIG_RECORDS 1 MiB records are in. */
static void
run_too_big(struct bench_daemon *d, struct sbc *c)
{
	char	*spec;
	long	 before, after;
	double	 t;

	if ((spec = malloc(BIG_SPEC)) == NULL)
		return;
	memset(spec, 'x', BIG_SPEC);
	make_records(c, opts.n, BIG_RECORDS, "b", spec, BIG_SPEC);
	free(spec);
	time_list(c, "labels.k==none", 0);	/* every record read once */
	before = hwm_kib(d->pid);
	t = median_list(c, NULL, 8);
	after = hwm_kib(d->pid);
	printf("List of all (%zu x 4 KiB + %d x 1 MiB, refused at one "
	    "message): %.1f ms; VmHWM %ld -> %ld KiB (%+ld)\n", opts.n,
	    BIG_RECORDS, t * 1e3, before, after, after - before);
}

int
main(int argc, char **argv)
{
	struct bench_daemon	 d;
	struct sbc		*c;
	char			*k;
	double			 base, t, worst = 0;
	size_t			 i, iworst = 0;

	if (bench_parse_args(argc, argv, &opts) == -1)
		return (2);
	bench_init("bench_list", "Store.List with hostile filters and too "
	    "big answers");
	bench_daemon_start(&d, "info");
	if ((c = bench_connect(&d)) == NULL || (k = malloc(4096)) == NULL) {
		bench_daemon_stop(&d);
		return (1);
	}
	memset(k, 'a', 4095);
	k[4095] = '\0';
	make_records(c, 0, opts.n, k, NULL, 0);
	free(k);
	base = median_list(c, cases[0].filter, cases[0].status);
	printf("baseline: List %s over %zu records of a 4 KiB label: "
	    "%.2f ms\n", cases[0].filter, opts.n, base * 1e3);
	for (i = 1; i < sizeof cases / sizeof cases[0]; i++) {
		t = median_list(c, cases[i].filter, cases[i].status);
		printf("  %-34s %9.2f ms %9.1fx\n", cases[i].filter, t * 1e3,
		    base > 0 ? t / base : 0);
		if (t > worst) {
			worst = t;
			iworst = i;
		}
	}
	printf("RESULT list: the longest List, %s over %zu records, held the "
	    "loop %.2f ms = %.1fx the %s baseline (%.2f ms)\n",
	    cases[iworst].filter, opts.n, worst * 1e3, base > 0 ? worst / base :
	    0, cases[0].filter, base * 1e3);
	run_too_big(&d, c);
	sbc_close(c);
	problems += bench_daemon_stop(&d);
	return (bench_finish(problems, 0));
}
