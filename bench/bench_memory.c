/*
 * bench_memory.c: sandboxd's own memory per sandbox.  One daemon runs
 * every sandbox, so what a sandbox costs it is (RSS with N running - RSS
 * idle) / N; the sandbox's init process is a separate cost, reported too.
 * sandboxd-keeper holds a pidfd of every sandbox process and a copy of
 * every connection for the daemon, so it is pod-management cost: the
 * figures are the daemon's and the keeper's together, and the keeper's
 * alone on rows of its own.  Its slot table is a memfd the daemon maps
 * and the keeper only holds; its pages are counted once, at the memfd's
 * allocated size, in place of what the daemon's mapping shows of them.
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

/* The name of the keeper's slot table (keeper/keeper_loop.c). */
#define KEEPER_MEMFD	"sandboxd-keeper-slots"

/* Memory (KiB) and open fds of some processes. */
struct usage {
	long	rss;
	long	pss;
	int	fds;
};

/* A reading of the daemon and its keeper. */
struct reading {
	struct usage	all;		/* daemon + keeper, memfd once */
	struct usage	keeper;		/* the keeper alone */
	long		kpriv;		/* the keeper's private KiB */
	long		memfd;		/* KiB allocated to the slot table */
	long		memfd_size;	/* its size, KiB */
	double		kid_pss;	/* KiB per sandbox process, N up */
};

/* What one runtime's daemon measured. */
struct runtime_result {
	long	rss_per;	/* bytes per sandbox, round 1, with keeper */
	long	pss_per;
	long	krss_per;	/* the keeper's share of those */
	long	kpss_per;
	long	kpriv_per;
	double	fds_per;	/* daemon + keeper */
	double	kid_pss;	/* KiB per sandbox process, round 1 */
	bool	keeper;		/* whether a keeper was found */
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

/*
 * After settling: the daemon's memory and fds (LevelDB's aside) plus its
 * keeper's, with the slot memfd's pages counted once.
 */
static struct reading
daemon_reading(const struct bench_daemon *d)
{
	struct reading	r;
	unsigned long	ino;
	long		mrss, mpss;
	pid_t		k;

	memset(&r, 0, sizeof r);
	bench_sleep_ms(SETTLE_MS);
	bench_mem(d->pid, &r.all.rss, &r.all.pss);
	r.all.fds = bench_daemon_fds(d);
	if ((k = bench_keeper_pid(d)) == 0)
		return (r);
	bench_mem(k, &r.keeper.rss, &r.keeper.pss);
	r.kpriv = bench_private(k);
	r.keeper.fds = bench_fd_count(k, NULL);
	r.all.rss += r.keeper.rss;
	r.all.pss += r.keeper.pss;
	r.all.fds += r.keeper.fds;
	if (bench_memfd(k, KEEPER_MEMFD, &ino, &r.memfd,
	    &r.memfd_size) == 0) {
		/* Both may map it; each counts what it touched. */
		bench_mapped(d->pid, ino, &mrss, &mpss);
		r.all.rss += r.memfd - mrss;
		r.all.pss += r.memfd - mpss;
		bench_mapped(k, ino, &mrss, &mpss);
		r.all.rss -= mrss;
		r.all.pss -= mpss;
	}
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
		if (strcmp(comm, KEEPER_PROGRAM_NAME) == 0)
			continue;	/* on rows of its own */
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

/* Print one reading as two table rows: daemon + keeper, the keeper. */
static void
print_reading(const char *label, const struct reading *r)
{
	printf("    %-30s %9ld %9ld %5d\n", label, r->all.rss, r->all.pss,
	    r->all.fds);
	printf("    %-30s %9ld %9ld %5d   private %ld KiB, slot memfd %ld "
	    "of %ld KiB\n", "  of which sandboxd-keeper", r->keeper.rss,
	    r->keeper.pss, r->keeper.fds, r->kpriv, r->memfd, r->memfd_size);
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
	if (after.all.fds != idle->all.fds) {
		printf("    PROBLEM: %d fds idle, %d after teardown (daemon + "
		    "keeper)\n", idle->all.fds, after.all.fds);
		problems++;
	}
	return (peak);
}

/*
 * The keeper's slot table after connections come and go: the daemon
 * gives each new connection the lowest free slot, so the resident part
 * of the memfd should follow the most connections open at once, not
 * every connection ever accepted.  Opens and closes CHURN connections,
 * one at a time, each making one request (so that the daemon has taken
 * it before it ends), and prints what the memfd holds before and after.
 */
#define CHURN	500
static void
slot_churn(const struct bench_daemon *d)
{
	struct reading		 before, after;
	struct sbc		*c;
	struct sbc_meta		 meta;
	struct sbc_error	 err = {0};
	int			 i;

	before = daemon_reading(d);
	for (i = 0; i < CHURN && !bench_interrupted; i++) {
		if ((c = bench_connect(d)) == NULL)
			break;
		/* A missing id: NotFound is the answer wanted. */
		if (sbc_store_get(c, "churn-missing", &meta, &err) == 0)
			sbc_meta_free(&meta);
		sbc_error_clear(&err);
		sbc_close(c);
	}
	after = daemon_reading(d);
	printf("    %d connections opened and closed, one at a time: slot "
	    "memfd %ld -> %ld KiB (%.2f KiB per connection; the whole table "
	    "%ld KiB); daemon + keeper VmRSS %+ld KiB\n", i, before.memfd,
	    after.memfd, i > 0 ? (double)(after.memfd - before.memfd) / i : 0,
	    after.memfd_size, after.all.rss - before.all.rss);
}

/* Measure one runtime in a fresh daemon; per-sandbox figures of round 1. */
static struct runtime_result
run_runtime(const char *runtime)
{
	struct bench_daemon	d;
	struct runtime_result	res;
	struct reading		idle, peak[MAX_ROUNDS];
	int			i;

	printf("  runtime %s:%s\n", runtime, strcmp(runtime,
	    BENCH_RUNTIME_EXEC) == 0 ? " /bin/sleep 1000" : "");
	printf("    %-30s %9s %9s %5s\n", "daemon + keeper", "VmRSS KiB",
	    "Pss KiB", "fds");
	memset(&res, 0, sizeof res);
	bench_daemon_start(&d, "warn");
	drive(&d, runtime, 0, 1, whole, 7);
	idle = daemon_reading(&d);
	if (!(res.keeper = bench_keeper_pid(&d) != 0))
		printf("    (no sandboxd-keeper: the daemon alone)\n");
	print_reading("idle, after one lifecycle", &idle);
	print_helpers(&d);
	for (i = 0; i < opts.rounds; i++)
		peak[i] = bench_interrupted ? idle :
		    run_round(&d, runtime, i, &idle);
	if (res.keeper && strcmp(runtime, BENCH_RUNTIME_EXEC) == 0)
		slot_churn(&d);
	problems += bench_daemon_stop(&d);
	res.rss_per = (peak[0].all.rss - idle.all.rss) * 1024 / (long)opts.n;
	res.pss_per = (peak[0].all.pss - idle.all.pss) * 1024 / (long)opts.n;
	res.krss_per = (peak[0].keeper.rss - idle.keeper.rss) * 1024 /
	    (long)opts.n;
	res.kpss_per = (peak[0].keeper.pss - idle.keeper.pss) * 1024 /
	    (long)opts.n;
	res.kpriv_per = (peak[0].kpriv - idle.kpriv) * 1024 / (long)opts.n;
	res.fds_per = (double)(peak[0].all.fds - idle.all.fds) /
	    (double)opts.n;
	res.kid_pss = peak[0].kid_pss;
	printf("    per sandbox (round 1), daemon + keeper: VmRSS %.2f KiB, "
	    "Pss %.2f KiB, %.2f fds; the keeper alone: VmRSS %.2f KiB, Pss "
	    "%.2f KiB, private %.2f KiB, %.2f fds; peak VmRSS change from "
	    "round 1:", res.rss_per / 1024.0, res.pss_per / 1024.0,
	    res.fds_per, res.krss_per / 1024.0, res.kpss_per / 1024.0,
	    res.kpriv_per / 1024.0,
	    (double)(peak[0].keeper.fds - idle.keeper.fds) / (double)opts.n);
	for (i = 1; i < opts.rounds; i++)
		printf("%s round %d %+ld KiB", i > 1 ? "," : "", i + 1,
		    peak[i].all.rss - peak[0].all.rss);
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
	printf("RESULT memory keeper: %s; of those figures sandboxd-keeper "
	    "grows %.2f KiB VmRSS (%.2f KiB Pss, %.2f KiB private) per exec "
	    "sandbox and %.2f KiB (%.2f KiB Pss, %.2f KiB private) per pause "
	    "sandbox; daemon + keeper hold %.2f and %.2f more fds per "
	    "sandbox\n", ex.keeper && pa.keeper ?
	    "counted (daemon + keeper, slot memfd once)" :
	    "no keeper found, the daemon alone", ex.krss_per / 1024.0,
	    ex.kpss_per / 1024.0, ex.kpriv_per / 1024.0,
	    pa.krss_per / 1024.0, pa.kpss_per / 1024.0,
	    pa.kpriv_per / 1024.0, ex.fds_per, pa.fds_per);
	printf("  (%.1f s spent driving sandboxes through the daemon)\n",
	    elapsed);
	return (bench_finish(problems, 0));
}
