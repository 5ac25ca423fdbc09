/*
 * bench_memory.c: sandboxd's own memory per sandbox.  One daemon runs
 * every sandbox, so what a sandbox costs it is (RSS with N running - RSS
 * idle) / N; the sandbox's init process is a separate cost, reported too.
 *
 * For each runtime (exec running /bin/sleep 1000, and pause), a fresh
 * daemon takes one sandbox through a whole lifecycle (so lazily made state
 * exists), then is measured idle; then N sandboxes are created and started
 * and the daemon measured again; then all are stopped, shut down and
 * deleted through the daemon, and it is measured once more.  That is done
 * in rounds (-r, default 2): rounds that keep growing the daemon would
 * show a leak (LevelDB's memtable grows with every write up to 2 MiB, then
 * is flushed, and malloc keeps what it was given, so some growth from
 * round to round is expected).
 * Memory is VmRSS from /proc/<pid>/status and Pss from smaps_rollup.
 *
 * The baseline, measured in the same run: the VmRSS and Pss of one
 * /bin/sleep process, the smallest process a sandbox could be.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "procmgr.h"

#define DEFAULT_N	1000
#define DEFAULT_ROUNDS	2
#define MAX_ROUNDS	5
#define NCONNS		4
#define GROUP		16
#define SETTLE_MS	300

static const enum bench_step up[] = {
	STEP_STORE_CREATE, STEP_CTRL_CREATE, STEP_START,
};
/* No Wait: Stop answers after the exit, and a sandbox whose Start failed
 * would make a Wait block until its Shutdown. */
static const enum bench_step down[] = {
	STEP_STOP, STEP_SHUTDOWN, STEP_STORE_DELETE,
};
static const enum bench_step whole[] = {
	STEP_STORE_CREATE, STEP_CTRL_CREATE, STEP_START, STEP_STOP,
	STEP_WAIT, STEP_SHUTDOWN, STEP_STORE_DELETE,
};

/* A memory reading of the daemon. */
struct reading {
	long	rss;
	long	pss;
	int	fds;
	double	kid_pss;	/* KiB per sandbox process, with N up */
};

/* What one runtime's daemon measured. */
struct runtime_result {
	long	rss_per;	/* bytes per sandbox, round 1 */
	long	pss_per;
	double	kid_pss;	/* KiB per sandbox process, round 1 */
};

/* -n SANDBOXES and -r ROUNDS, with their defaults. */
static struct bench_opts opts = {
	.optstring = "n:r:", .n = DEFAULT_N, .rounds = DEFAULT_ROUNDS,
	.max_rounds = MAX_ROUNDS,
};
static int	problems;
static double	elapsed;	/* in bench_drive, all told */

/* Whether pid has exec'd /bin/sleep yet (its comm is "sleep"). */
static bool
is_sleep(pid_t pid)
{
	char	comm[32];

	return (proc_read_comm(pid, comm, sizeof comm) == 0 &&
	    strcmp(comm, "sleep") == 0);
}

/* The baseline: VmRSS and Pss (KiB) of one /bin/sleep 1000. */
static int
sleep_baseline(long *rss, long *pss)
{
	pid_t	pid;
	int	i, rc;

	if ((pid = fork()) == -1)
		return (-1);
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "1000", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200 && !is_sleep(pid); i++)
		bench_sleep_ms(5);
	bench_sleep_ms(SETTLE_MS);
	rc = bench_mem(pid, rss, pss);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return (rc);
}

/* The daemon's memory and its fds but LevelDB's, after settling. */
static struct reading
daemon_reading(const struct bench_daemon *d)
{
	struct reading	r;

	bench_sleep_ms(SETTLE_MS);
	bench_mem(d->pid, &r.rss, &r.pss);
	r.fds = bench_daemon_fds(d);
	return (r);
}

/*
 * The helpers' memory: fixed costs of the daemon, not per sandbox (they
 * hold nothing per sandbox), so shown beside the readings.
 */
static void
print_helpers(const struct bench_daemon *d)
{
	pid_t	pids[4];
	long	rss, pss;
	char	comm[32];
	int	i, n = bench_daemon_helpers(d, pids, 4);

	for (i = 0; i < n; i++) {
		if (proc_read_comm(pids[i], comm, sizeof comm) == -1 ||
		    bench_mem(pids[i], &rss, &pss) == -1)
			continue;
		printf("    (its helper %s, pid %d: VmRSS %ld KiB, Pss %ld KiB, "
		    "fixed)\n", comm, (int)pids[i], rss, pss);
	}
	if (n == 0)
		printf("    (no helper processes)\n");
}

/* What children_pss sums. */
struct pss_sum {
	long	kib;
	size_t	n;
};

/* Add pid's Pss to the sum unless it is one of the daemon's helpers. */
static void
add_pss_cb(pid_t pid, char state, void *arg)
{
	struct pss_sum	*sum = arg;
	long		 rss, pss;

	(void)state;
	if (proc_is_daemon_helper(pid) || bench_mem(pid, &rss, &pss) == -1)
		return;
	sum->kib += pss;
	sum->n++;
}

/* The sum of Pss (KiB) over the daemon's sandboxes, and their number. */
static long
children_pss(pid_t ppid, size_t *n)
{
	struct pss_sum	sum = { 0, 0 };

	bench_for_children(ppid, add_pss_cb, &sum);
	*n = sum.n;
	return (sum.kib);
}

/* Run steps for sandboxes [first, first + n) of a runtime; false on error. */
static bool
drive(const struct bench_daemon *d, const char *runtime, size_t first,
    size_t n, const enum bench_step *steps, size_t nsteps)
{
	struct bench_drive	dr = {
		.prefix = "mem", .first = first, .n = n, .steps = steps,
		.nsteps = nsteps, .nconns = NCONNS, .group = GROUP,
	};

	bench_drive_runtime(&dr, runtime);
	if (bench_drive(d, &dr) == -1 || dr.failed > 0 || dr.bad_exits > 0) {
		printf("    ERROR: %zu of %zu sandboxes failed, %zu bad exit "
		    "statuses\n", dr.failed, n, dr.bad_exits);
		problems++;
		return (false);
	}
	elapsed += dr.seconds;
	return (true);
}

/* Print one reading as a table row. */
static void
print_reading(const char *label, const struct reading *r)
{
	printf("    %-30s %9ld %9ld %5d\n", label, r->rss, r->pss, r->fds);
}

/* One round: N up, measure, N down, measure; the reading with N up. */
static struct reading
run_round(const struct bench_daemon *d, const char *runtime, int round,
    const struct reading *idle)
{
	struct reading	peak, after;
	size_t		first = 1 + (size_t)round * opts.n, nkids;
	long		kids;
	char		label[64];

	memset(&peak, 0, sizeof peak);
	if (drive(d, runtime, first, opts.n, up, 3)) {
		peak = daemon_reading(d);
		kids = children_pss(d->pid, &nkids);
		peak.kid_pss = nkids > 0 ? (double)kids / (double)nkids : 0;
		snprintf(label, sizeof label, "%zu running, round %d",
		    opts.n, round + 1);
		print_reading(label, &peak);
		printf("      (the %zu sandbox processes themselves: Pss %ld "
		    "KiB in all, %.0f KiB each)\n", nkids, kids, peak.kid_pss);
	}
	/* Even after a failure: sandboxes go down through the daemon. */
	if (bench_interrupted)
		return (peak);
	drive(d, runtime, first, opts.n, down, 3);
	after = daemon_reading(d);
	snprintf(label, sizeof label, "after teardown, round %d", round + 1);
	print_reading(label, &after);
	if (after.fds != idle->fds) {
		printf("    PROBLEM: %d fds idle, %d after teardown\n",
		    idle->fds, after.fds);
		problems++;
	}
	return (peak);
}

/* Measure one runtime in a fresh daemon; per-sandbox figures of round 1. */
static struct runtime_result
run_runtime(const char *runtime)
{
	struct bench_daemon	d;
	struct runtime_result	res = { 0, 0, 0 };
	struct reading		idle, peak[MAX_ROUNDS];
	int			i;

	printf("  runtime %s:%s\n", runtime, strcmp(runtime,
	    BENCH_RUNTIME_EXEC) == 0 ? " /bin/sleep 1000" : "");
	printf("    %-30s %9s %9s %5s\n", "", "VmRSS KiB", "Pss KiB", "fds");
	bench_daemon_start(&d, "warn");
	drive(&d, runtime, 0, 1, whole, 7);
	idle = daemon_reading(&d);
	print_reading("idle, after one lifecycle", &idle);
	print_helpers(&d);
	for (i = 0; i < opts.rounds; i++)
		peak[i] = bench_interrupted ? idle :
		    run_round(&d, runtime, i, &idle);
	problems += bench_daemon_stop(&d);
	res.rss_per = (peak[0].rss - idle.rss) * 1024 / (long)opts.n;
	res.pss_per = (peak[0].pss - idle.pss) * 1024 / (long)opts.n;
	res.kid_pss = peak[0].kid_pss;
	printf("    per sandbox (round 1): VmRSS %.2f KiB, Pss %.2f KiB; "
	    "peak VmRSS change from round 1:", res.rss_per / 1024.0,
	    res.pss_per / 1024.0);
	for (i = 1; i < opts.rounds; i++)
		printf("%s round %d %+ld KiB", i > 1 ? "," : "", i + 1,
		    peak[i].rss - peak[0].rss);
	printf("\n");
	return (res);
}

/* The benchmark: parse the options, measure, print the summary. */
int
main(int argc, char **argv)
{
	struct runtime_result	ex, pa;
	long			rss, pss;

	if (bench_parse_args(argc, argv, &opts) == -1)
		return (2);
	bench_init("bench_memory", "sandboxd's memory per sandbox");
	if (sleep_baseline(&rss, &pss) == -1) {
		printf("cannot measure a sleep process\n");
		return (1);
	}
	printf("baseline: one /bin/sleep process: VmRSS %ld KiB, Pss %ld "
	    "KiB\n", rss, pss);
	printf("sandboxd with %zu sandboxes, %d rounds per runtime:\n",
	    opts.n, opts.rounds);
	ex = run_runtime(BENCH_RUNTIME_EXEC);
	pa = run_runtime(BENCH_RUNTIME_PAUSE);
	printf("RESULT memory: sandboxd grows %.2f KiB VmRSS (%.2f KiB Pss) "
	    "per running exec sandbox and %.2f KiB (%.2f KiB Pss) per pause "
	    "sandbox = %.4fx and %.4fx the VmRSS of one sleep process (%ld "
	    "KiB); Pss per sandbox = %.3fx and %.3fx the Pss of each "
	    "sandbox's own process\n", ex.rss_per / 1024.0,
	    ex.pss_per / 1024.0, pa.rss_per / 1024.0, pa.pss_per / 1024.0,
	    ex.rss_per / 1024.0 / (double)rss,
	    pa.rss_per / 1024.0 / (double)rss, rss,
	    ex.kid_pss > 0 ? ex.pss_per / 1024.0 / ex.kid_pss : 0,
	    pa.kid_pss > 0 ? pa.pss_per / 1024.0 / pa.kid_pss : 0);
	printf("  (%.1f s spent driving sandboxes through the daemon)\n",
	    elapsed);
	return (bench_finish(problems, 0));
}
