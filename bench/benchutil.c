/*
 * benchutil.c: the benchmarks' command line, start and end, and the
 * figures of their summaries (see benchutil.h).  The other parts are
 * benchutil_daemon.c (a private sandboxd), benchutil_proc.c (what /proc
 * says about a process), benchutil_drive.c (the pipelined driver) and
 * benchutil_probe.c (the latency probe).
 */
#include <sys/types.h>
#include <sys/utsname.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

volatile sig_atomic_t	bench_interrupted;

/* Note the signal; the loops look at bench_interrupted. */
static void
interrupt_cb(int sig)
{
	(void)sig;
	bench_interrupted = 1;
}

/* Catch SIGINT, SIGTERM and SIGHUP, without SA_RESTART: poll returns. */
static void
catch_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = interrupt_cb;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* Seconds on the monotonic clock. */
double
bench_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* Sleep for ms milliseconds, signals or not. */
void
bench_sleep_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Print what runs where: name, date, CPUs, load, kernel. */
static void
print_header(const char *name, const char *what)
{
	struct utsname	 u;
	char		 when[64], load[64] = "?";
	time_t		 t = time(NULL);
	FILE		*f;

	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	if ((f = fopen("/proc/loadavg", "re")) != NULL) {
		if (fgets(load, sizeof load, f) != NULL)
			load[strcspn(load, "\n")] = '\0';
		fclose(f);
	}
	uname(&u);
	printf("%s: %s\n", name, what);
	printf("  %s, %ld CPUs, Linux %s, loadavg %s\n", when,
	    sysconf(_SC_NPROCESSORS_ONLN), u.release, load);
	fflush(stdout);
}

/* Print the usage of the options in o->optstring, with o's defaults. */
static void
print_usage(const char *prog, const struct bench_opts *o)
{
	fprintf(stderr, "usage: %s", prog);
	if (strchr(o->optstring, 'n') != NULL)
		fprintf(stderr, " [-n sandboxes (1-10000, default %zu)]",
		    o->n);
	if (strchr(o->optstring, 'r') != NULL)
		fprintf(stderr, " [-r rounds (1-%d, default %d)]",
		    o->max_rounds, o->rounds);
	if (strchr(o->optstring, 't') != NULL)
		fprintf(stderr, " [-t seconds per phase (0-5, default %.1f)]",
		    o->seconds);
	fprintf(stderr, "\n");
}

/*
 * Parse the options o->optstring names into o (see benchutil.h); 0, or
 * -1 after printing the usage.
 */
int
bench_parse_args(int argc, char **argv, struct bench_opts *o)
{
	const struct bench_opts	 defaults = *o;
	double			 t;
	long			 n;
	int			 ch, r;

	while ((ch = getopt(argc, argv, o->optstring)) != -1) {
		if (ch == 'n' && (n = atol(optarg)) > 0 && n <= 10000)
			o->n = (size_t)n;
		else if (ch == 'r' && (r = atoi(optarg)) > 0 &&
		    r <= o->max_rounds)
			o->rounds = r;
		else if (ch == 't' && (t = atof(optarg)) > 0 && t <= 5)
			o->seconds = t;
		else {
			print_usage(argv[0], &defaults);
			return (-1);
		}
	}
	return (0);
}

/* Start a benchmark: line-buffered output, ^C caught, the header. */
void
bench_init(const char *name, const char *what)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	catch_signals();
	print_header(name, what);
}

/*
 * End a benchmark: say whether there were problems (errors: failed
 * requests, counted apart) and whether it was cut short; the exit status.
 */
int
bench_finish(int problems, size_t errors)
{
	if (errors > 0)
		printf("PROBLEMS: %d in daemon runs and cleanup, %zu request "
		    "errors\n", problems, errors);
	else if (problems > 0)
		printf("PROBLEMS: %d (see above)\n", problems);
	if (bench_interrupted)
		printf("INTERRUPTED: the figures above are partial\n");
	return (problems > 0 || errors > 0);
}

/* n per second, guarding against a zero interval. */
double
bench_per_sec(size_t n, double secs)
{
	return (secs > 0 ? (double)n / secs : 0);
}

/* qsort's comparison of doubles. */
static int
cmp_double_cb(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

/* Sort v[0..n-1] in place, ascending. */
void
bench_sort(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double_cb);
}

/* The median of v[0..n-1] (v is sorted in place). */
double
bench_median(double *v, int n)
{
	bench_sort(v, (size_t)n);
	return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

/* One line of a summary's ratios, label and value in columns. */
void
bench_print_ratio(const char *label, int decimals, double ratio)
{
	printf("  %-46s%6.*fx\n", label, decimals, ratio);
}
