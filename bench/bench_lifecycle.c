/*
 * bench_lifecycle.c: how many sandboxes per second sandboxd takes through
 * a whole lifecycle: Store.Create, Controller.Create, Start, Stop (timeout
 * 0: SIGKILL), Wait, Shutdown, Store.Delete, seven synced RPCs each.
 * Requests are pipelined over a few connections (see bench_drive in
 * benchutil_drive.c), so the daemon, not client round trips, sets the pace.
 *
 * The baseline, measured in the same run: the rate at which this program
 * itself can fork, exec and wait for /bin/sleep 0, the floor under any
 * process lifecycle; once with one process at a time and once with as
 * many in flight as the daemon gets sandboxes (FLOOR_N processes each);
 * the faster is "the floor".  For pause sandboxes a second floor adds
 * what the pause runtime adds: new PID, IPC and UTS namespaces and a
 * network namespace, made and removed with the daemon's own netns code
 * (sbd_core's netns_create and netns_remove), joined by the child.
 *
 * The baseline for the exec runtime, also in the same run: a
 * loop that keeps WINDOW processes in flight, each posix_spawn'd
 * (/bin/sleep 1000, what the exec sandboxes run), SIGKILLed and reaped
 * through its pidfd: the least a process lifecycle costs, with none of
 * the RPCs.  And the CPU the daemon and its helper processes spent per
 * sandbox (utime + stime of /proc/<pid>/stat, before and after a run;
 * the sandboxes' own CPU is not in it).
 *
 * Rounds (-r, default 2) alternate floors and daemon runs, because a
 * shared machine drifts; each round prints its figures, and the summary
 * takes medians of the per-round ratios.  One daemon serves every round;
 * after each run its open fds (LevelDB's aside) must be back to idle.
 */
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/sched.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "log.h"
#include "procmgr.h"

#define DEFAULT_N	1000
#define DEFAULT_ROUNDS	2
#define FLOOR_N		300	/* processes per floor run, at most */
#define SETTLE_MS	200	/* for the daemon to close our connections */
#define MAX_ROUNDS	5
#define NCONNS		4
#define GROUP		16
#define WINDOW		(NCONNS * GROUP)	/* sandboxes in flight */
#define MAX_HELPERS	8

extern char	**environ;

static const enum bench_step lifecycle[] = {
	STEP_STORE_CREATE, STEP_CTRL_CREATE, STEP_START, STEP_STOP,
	STEP_WAIT, STEP_SHUTDOWN, STEP_STORE_DELETE,
};

/* The columns of a round. */
enum col {
	COL_FLOOR_SEQ,		/* fork+exec+wait, one at a time */
	COL_FLOOR,		/* fork+exec+wait, WINDOW in flight */
	COL_SPAWN,		/* posix_spawn+SIGKILL+pidfd reap, WINDOW */
	COL_EXEC,		/* the daemon, exec runtime */
	COL_FLOOR_PAUSE,	/* namespaces + netns, WINDOW in flight */
	COL_PAUSE,		/* the daemon, pause runtime */
	NCOLS
};

#define FLOOR_BEST	NCOLS		/* the faster of the two floors */

static const char *const col_names[NCOLS] = {
	"floor 1", "floor 64", "spawn 64", "exec", "floor pause", "pause"
};

/* A floor child: its pid and, for the pause-like floor, its netns. */
struct slot {
	pid_t	 pid;
	char	*netns;
};

/* -n SANDBOXES and -r ROUNDS, with their defaults. */
static struct bench_opts opts = {
	.optstring = "n:r:", .n = DEFAULT_N, .rounds = DEFAULT_ROUNDS,
	.max_rounds = MAX_ROUNDS,
};
static int	problems;
static struct bench_latency run_lat[MAX_ROUNDS][2];	/* exec, pause */
static double	run_cpu[MAX_ROUNDS][2];	/* daemon + helpers, ms/sandbox */
static struct bench_latency idle_lat;
static char	floor_dir[] = "/tmp/sbdbench-floor.XXXXXX";
static pid_t	daemon_pid;

/* In a floor child: join the netns, if any, and become sleep 0. */
static void __attribute__((__noreturn__))
floor_child(const char *netns)
{
	int	fd;

	setsid();
	if (netns != NULL) {
		if ((fd = open(netns, O_RDONLY|O_CLOEXEC)) == -1 ||
		    setns(fd, CLONE_NEWNET) == -1)
			_exit(126);
	}
	execl("/bin/sleep", "sleep", "0", (char *)NULL);
	_exit(127);
}

/* fork, or clone3 into new PID, IPC and UTS namespaces when pause. */
static pid_t
floor_clone(bool pause)
{
	struct clone_args	ca;

	if (!pause)
		return (fork());
	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS;
	ca.exit_signal = SIGCHLD;
	return ((pid_t)syscall(SYS_clone3, &ca, sizeof ca));
}

/* Start floor process i in slot s (with a new netns when pause). */
static bool
floor_spawn(struct slot *s, size_t i, bool pause)
{
	char	 name[32], *cause = NULL;

	s->netns = NULL;
	if (pause) {
		snprintf(name, sizeof name, "floor-%05zu", i);
		if (netns_create(floor_dir, name, &s->netns, &cause) == -1) {
			printf("  ERROR netns_create: %s\n", cause);
			free(cause);
			return (false);
		}
	}
	if ((s->pid = floor_clone(pause)) == -1) {
		printf("  ERROR fork: %s\n", strerror(errno));
		return (false);
	}
	if (s->pid == 0)
		floor_child(s->netns);
	return (true);
}

/* Forget a reaped floor process; false if it did not exit 0. */
static bool
floor_reaped(struct slot *s, int status)
{
	char	*cause = NULL;
	bool	 ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	if (s->netns != NULL && netns_remove(s->netns, &cause) == -1) {
		printf("  ERROR netns_remove: %s\n", cause);
		free(cause);
		ok = false;
	}
	free(s->netns);
	s->netns = NULL;
	s->pid = 0;
	return (ok);
}

/* Reap one floor process; false on error. */
static bool
floor_reap(struct slot *slots, size_t window, size_t *inflight)
{
	pid_t	pid;
	size_t	i;
	int	status;

	if ((pid = waitpid(-1, &status, 0)) == -1)
		return (errno == EINTR);
	if (pid == daemon_pid) {
		printf("  PROBLEM: sandboxd died (status 0x%x)\n", status);
		exit(1);
	}
	for (i = 0; i < window; i++) {
		if (slots[i].pid != pid)
			continue;
		(*inflight)--;
		return (floor_reaped(&slots[i], status));
	}
	return (true);		/* an orphan of an earlier daemon */
}

/* n processes, window at a time, through the floor; processes/s. */
static double
floor_rate(size_t n, size_t window, bool pause)
{
	struct slot	*slots = calloc(window, sizeof *slots);
	size_t		 started = 0, inflight = 0, i;
	double		 t0 = bench_now();
	bool		 ok = slots != NULL;

	while (ok && ((started < n && !bench_interrupted) || inflight > 0)) {
		for (i = 0; ok && i < window && started < n &&
		    !bench_interrupted; i++) {
			if (slots[i].pid != 0)
				continue;
			ok = floor_spawn(&slots[i], started++, pause);
			inflight += ok;
		}
		if (ok)
			ok = floor_reap(slots, window, &inflight);
	}
	while (inflight > 0 && floor_reap(slots, window, &inflight))
		;
	t0 = bench_now() - t0;
	free(slots);
	if (!ok)
		problems++;
	return (ok ? bench_per_sec(n, t0) : 0);
}

/*
 * Start /bin/sleep 1000 with posix_spawn, take its pidfd and SIGKILL it:
 * *pfd's fd, or -1 (printed) on failure.
 */
static bool
spawn_killed(struct pollfd *pfd)
{
	char	*argv[] = { (char *)"sleep", (char *)"1000", NULL };
	pid_t	 pid;
	int	 rc;

	if ((rc = posix_spawn(&pid, "/bin/sleep", NULL, NULL, argv,
	    environ)) != 0) {
		printf("  ERROR posix_spawn: %s\n", strerror(rc));
		return (false);
	}
	if ((pfd->fd = pidfd_open(pid, 0)) == -1) {
		printf("  ERROR pidfd_open: %s\n", strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return (false);
	}
	pfd->events = POLLIN;
	return (pidfd_send_signal(pfd->fd, SIGKILL, NULL, 0) == 0);
}

/* Reap the exited processes among the window's; false on error. */
static bool
spawn_reap(struct pollfd *pfds, size_t window, size_t *inflight)
{
	siginfo_t	si;
	size_t		i;
	bool		ok = true;

	if (poll(pfds, window, -1) == -1)
		return (errno == EINTR);
	for (i = 0; i < window; i++) {
		if (pfds[i].fd == -1 || pfds[i].revents == 0)
			continue;
		memset(&si, 0, sizeof si);
		if (waitid(P_PIDFD, (id_t)pfds[i].fd, &si, WEXITED) == -1 ||
		    si.si_code != CLD_KILLED || si.si_status != SIGKILL)
			ok = false;
		close(pfds[i].fd);
		pfds[i].fd = -1;
		(*inflight)--;
	}
	return (ok);
}

/*
 * The exec runtime's baseline: n processes, window at a time, each
 * posix_spawn'd, SIGKILLed and reaped through its pidfd; processes/s.
 */
static double
spawn_rate(size_t n, size_t window)
{
	struct pollfd	*pfds = calloc(window, sizeof *pfds);
	size_t		 started = 0, inflight = 0, i;
	double		 t0 = bench_now();
	bool		 ok = pfds != NULL;

	for (i = 0; ok && i < window; i++)
		pfds[i].fd = -1;
	while (ok && ((started < n && !bench_interrupted) || inflight > 0)) {
		for (i = 0; ok && i < window && started < n &&
		    !bench_interrupted; i++) {
			if (pfds[i].fd != -1)
				continue;
			started++;
			if ((ok = spawn_killed(&pfds[i])))
				inflight++;
		}
		if (ok && inflight > 0)
			ok = spawn_reap(pfds, window, &inflight);
	}
	while (inflight > 0 && spawn_reap(pfds, window, &inflight))
		;
	t0 = bench_now() - t0;
	free(pfds);
	if (!ok) {
		printf("  PROBLEM: the spawn+kill+reap loop failed\n");
		problems++;
	}
	return (ok ? bench_per_sec(n, t0) : 0);
}

/* CPU seconds the daemon and its helper processes have used so far. */
static double
daemon_cpu(const struct bench_daemon *d)
{
	pid_t	helpers[MAX_HELPERS];
	double	cpu = bench_cpu_seconds(d->pid);
	int	i, n = bench_daemon_helpers(d, helpers, MAX_HELPERS);

	for (i = 0; i < n; i++)
		cpu += bench_cpu_seconds(helpers[i]);
	return (cpu);
}

/* Report a daemon's open fds and memory; count a changed fd number. */
static void
daemon_state(const struct bench_daemon *d, const char *when, int fds0)
{
	long	rss, pss;
	int	fds;

	bench_sleep_ms(SETTLE_MS);
	fds = bench_daemon_fds(d);
	bench_mem(d->pid, &rss, &pss);
	printf("    daemon %s: %d fds (LevelDB's not counted), VmRSS %ld KiB, "
	    "Pss %ld KiB\n", when, fds, rss, pss);
	if (fds0 >= 0 && fds != fds0) {
		printf("    PROBLEM: the daemon had %d fds before the run and "
		    "%d after\n", fds0, fds);
		problems++;
	}
}

/*
 * Drive n lifecycles of a runtime through the daemon, probing its loop's
 * latency meanwhile (*lat), and count the CPU the daemon and its helpers
 * spent per sandbox (*cpu, ms); sandboxes/s.
 */
static double
daemon_rate(const struct bench_daemon *d, const char *runtime,
    const char *prefix, struct bench_latency *lat, double *cpu)
{
	struct bench_drive	dr = {
		.prefix = prefix, .n = opts.n, .steps = lifecycle,
		.nsteps = sizeof lifecycle / sizeof lifecycle[0],
		.nconns = NCONNS, .group = GROUP,
	};
	struct bench_probe	probe;
	struct bench_latency	l;
	int			fds0 = bench_daemon_fds(d), probing;
	double			cpu0 = daemon_cpu(d);

	bench_drive_runtime(&dr, runtime);
	probing = bench_probe_start(d, &probe) == 0;
	if (bench_drive(d, &dr) == -1)
		problems++;
	*cpu = dr.done > 0 ? (daemon_cpu(d) - cpu0) * 1e3 / (double)dr.done :
	    0;
	if (probing && bench_probe_stop(&probe, &l) == 0) {
		*lat = l;
		bench_print_latency("meanwhile", &l);
	} else {
		printf("    PROBLEM: the latency probe failed\n");
		problems++;
	}
	printf("    %s: %zu sandboxes done, %zu failed, %zu Wait statuses not "
	    "137, in %.2f s; daemon + helpers CPU %.3f ms per sandbox\n",
	    prefix, dr.done, dr.failed, dr.bad_exits, dr.seconds, *cpu);
	daemon_state(d, "after", fds0);
	if (dr.failed > 0 || dr.bad_exits > 0)
		problems++;
	return (bench_per_sec(dr.done, dr.seconds));
}

/* The latency baseline: the probe alone on the idle daemon, 1 s. */
static void
idle_probe(const struct bench_daemon *d)
{
	struct bench_probe	probe;

	if (bench_probe_start(d, &probe) == -1) {
		printf("    PROBLEM: the latency probe failed\n");
		problems++;
		return;
	}
	bench_sleep_ms(1000);
	if (bench_probe_stop(&probe, &idle_lat) == -1) {
		printf("    PROBLEM: the latency probe failed\n");
		problems++;
		return;
	}
	bench_print_latency("idle", &idle_lat);
}

/* Measure one round; print its line. */
static void
run_round(const struct bench_daemon *d, double *rate, int round)
{
	char	prefix[32];
	int	col;
	size_t	nfloor = opts.n < FLOOR_N ? opts.n : FLOOR_N;

	rate[COL_FLOOR_SEQ] = floor_rate(nfloor, 1, false);
	rate[COL_FLOOR] = floor_rate(nfloor, WINDOW, false);
	rate[COL_SPAWN] = spawn_rate(nfloor, WINDOW);
	snprintf(prefix, sizeof prefix, "exec%d", round + 1);
	rate[COL_EXEC] = daemon_rate(d, BENCH_RUNTIME_EXEC, prefix,
	    &run_lat[round][0], &run_cpu[round][0]);
	rate[COL_FLOOR_PAUSE] = floor_rate(nfloor, WINDOW, true);
	snprintf(prefix, sizeof prefix, "pause%d", round + 1);
	rate[COL_PAUSE] = daemon_rate(d, BENCH_RUNTIME_PAUSE, prefix,
	    &run_lat[round][1], &run_cpu[round][1]);
	printf("  %-6d", round + 1);
	for (col = 0; col < NCOLS; col++)
		printf(" %11.0f", rate[col]);
	printf("\n");
}

/* The median over the rounds of rate[a] / floor (b < 0: rate[a]). */
static double
median_ratio(double rate[][NCOLS], int a, int b)
{
	double	v[MAX_ROUNDS], den;
	int	i, n = opts.rounds;

	for (i = 0; i < n; i++) {
		den = 1;
		if (b == FLOOR_BEST)
			den = rate[i][COL_FLOOR] > rate[i][COL_FLOOR_SEQ] ?
			    rate[i][COL_FLOOR] : rate[i][COL_FLOOR_SEQ];
		else if (b >= 0)
			den = rate[i][b];
		v[i] = den > 0 ? rate[i][a] / den : 0;
	}
	return (bench_median(v, n));
}

/* The ratios of the summary. */
static const struct bench_ratio ratios[] = {
	{ "exec sandboxes/s vs floor 1 (one at a time)", COL_EXEC,
	  COL_FLOOR_SEQ },
	{ "exec sandboxes/s vs floor 64", COL_EXEC, COL_FLOOR },
	{ "exec sandboxes/s vs spawn+kill+reap 64 (target >= 0.75x)",
	  COL_EXEC, COL_SPAWN },
	{ "pause sandboxes/s vs floor 1", COL_PAUSE, COL_FLOOR_SEQ },
	{ "pause sandboxes/s vs floor 64", COL_PAUSE, COL_FLOOR },
	{ "pause sandboxes/s vs floor pause", COL_PAUSE, COL_FLOOR_PAUSE },
};

/* The medians over rounds of the probe's p99 and max, against idle. */
static void
print_latency_summary(void)
{
	double	p99[2][MAX_ROUNDS], max[2][MAX_ROUNDS], rd99[2][MAX_ROUNDS];
	int	i, k;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < opts.rounds; i++) {
			p99[k][i] = run_lat[i][k].p99;
			max[k][i] = run_lat[i][k].max;
			rd99[k][i] = run_lat[i][k].read_p99;
		}
	}
	printf("loop latency (Store.Get probe, median over rounds; idle: "
	    "p99 %.2f ms, max %.2f ms):\n", idle_lat.p99, idle_lat.max);
	for (k = 0; k < 2; k++)
		printf("  during %s runs: p99 %.2f ms (%.1fx idle), max "
		    "%.2f ms\n", k == 0 ? "exec" : "pause",
		    bench_median(p99[k], opts.rounds),
		    idle_lat.p99 > 0 ? bench_median(p99[k], opts.rounds) /
		    idle_lat.p99 : 0, bench_median(max[k], opts.rounds));
	printf("loop stall (the probe's request unread in the socket, median "
	    "over rounds; idle: p99 %.2f ms):\n", idle_lat.read_p99);
	for (k = 0; k < 2; k++)
		printf("  during %s runs: p99 %.2f ms\n", k == 0 ? "exec" :
		    "pause", bench_median(rd99[k], opts.rounds));
}

/* The median over the rounds of the CPU per sandbox of runtime k. */
static double
median_cpu(int k)
{
	double	v[MAX_ROUNDS];
	int	i;

	for (i = 0; i < opts.rounds; i++)
		v[i] = run_cpu[i][k];
	return (bench_median(v, opts.rounds));
}

/* Print the medians and the ratios. */
static void
print_summary(double rate[][NCOLS])
{
	size_t	k;
	int	col;

	printf("  %-6s", "median");
	for (col = 0; col < NCOLS; col++)
		printf(" %11.0f", median_ratio(rate, col, -1));
	printf("\nratios (median over rounds of the ratio within a round):\n");
	for (k = 0; k < sizeof ratios / sizeof ratios[0]; k++)
		bench_print_ratio(ratios[k].label, 3,
		    median_ratio(rate, ratios[k].num, ratios[k].den));
	printf("daemon + helpers CPU per sandbox (median over rounds; target "
	    "<= 0.3 ms): exec %.3f ms, pause %.3f ms\n", median_cpu(0),
	    median_cpu(1));
	print_latency_summary();
	printf("RESULT lifecycle spawn: exec %.3fx the spawn+kill+reap loop, "
	    "daemon + helpers CPU %.3f ms per exec sandbox\n",
	    median_ratio(rate, COL_EXEC, COL_SPAWN), median_cpu(0));
	printf("RESULT lifecycle: exec %.0f sandboxes/s = %.3fx the "
	    "fork+exec+wait floor (the faster of floor 1 and floor 64); "
	    "pause %.0f sandboxes/s = %.3fx that floor, %.3fx the "
	    "namespaces+netns floor\n",
	    median_ratio(rate, COL_EXEC, -1),
	    median_ratio(rate, COL_EXEC, FLOOR_BEST),
	    median_ratio(rate, COL_PAUSE, -1),
	    median_ratio(rate, COL_PAUSE, FLOOR_BEST),
	    median_ratio(rate, COL_PAUSE, COL_FLOOR_PAUSE));
}

/* Print what is measured and the table's head. */
static void
print_head(void)
{
	int	col;

	printf("per sandbox: Store.Create, Controller.Create, Start, Stop(0), "
	    "Wait, Shutdown, Store.Delete; %zu sandboxes per run, %d "
	    "connections x %d sandboxes in flight\n", opts.n, NCONNS,
	    GROUP);
	printf("floor: this program forks, execs /bin/sleep 0 and waits, 1 "
	    "or %d at a time, %zu processes; floor pause (%d at a time) adds "
	    "new PID/IPC/UTS namespaces and a netns made, joined and "
	    "removed\n", WINDOW, opts.n < FLOOR_N ? opts.n : FLOOR_N,
	    WINDOW);
	printf("spawn 64: posix_spawn /bin/sleep 1000, SIGKILL, reap through "
	    "the pidfd, %d at a time\n", WINDOW);
	printf("  %-6s", "round");
	for (col = 0; col < NCOLS; col++)
		printf(" %11s", col_names[col]);
	printf("   (processes/s, sandboxes/s)\n");
}

/* The benchmark: parse the options, run the rounds, print the summary. */
int
main(int argc, char **argv)
{
	struct bench_daemon	d;
	double			rate[MAX_ROUNDS][NCOLS];
	int			i;

	if (bench_parse_args(argc, argv, &opts) == -1)
		return (2);
	bench_init("bench_lifecycle", "sandbox lifecycles per second");
	log_init(NULL, LOG_LEVEL_WARN);
	if (mkdtemp(floor_dir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	bench_daemon_start(&d, "warn");
	daemon_pid = d.pid;
	daemon_state(&d, "idle", -1);
	idle_probe(&d);
	print_head();
	for (i = 0; i < opts.rounds && !bench_interrupted; i++)
		run_round(&d, rate[i], i);
	/* An interrupted round is not summed up. */
	if ((opts.rounds = bench_interrupted ? i - 1 : i) > 0)
		print_summary(rate);
	problems += bench_daemon_stop(&d);
	rmdir(floor_dir);
	return (bench_finish(problems, 0));
}
