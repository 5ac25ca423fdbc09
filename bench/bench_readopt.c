/*
 * bench_readopt.c: how long sandboxd takes to take its sandboxes back
 * after a crash.  N exec sandboxes (/bin/sleep 86400) are started through
 * a daemon at log level info (how it runs by default), the daemon is
 * killed with SIGKILL, started again on the same state, and timed from
 * its fork until it accepts a connection: it listens only once every
 * recorded sandbox is re-adopted and the recovered state is committed.
 *
 * The baseline, in the same run, right after each restart: the least any
 * re-adoption must do, done by the benchmark itself over the same pids:
 * pidfd_open, one read of /proc/<pid>/stat (for the start time) and an
 * epoll_ctl to watch the pidfd.  Rounds (-r) repeat the kill and restart
 * on the same sandboxes: the first re-adoption marks every record
 * adopted, later ones find them so already.
 *
 * With sandboxd-keeper (the default) the restarted daemon takes a pidfd
 * of every process back from the keeper instead of opening one: the
 * figure is still kill -9 to ready, and the raw loop still the least a
 * re-adoption without a keeper does.  Each round says how many pidfds
 * came from the keeper (the daemon's own log line), and the CPU column
 * adds the keeper's CPU over the restart to the daemon's: the keeper's
 * work is part of the restart.  BENCH_NO_KEEPER=1 runs the daemons with
 * keeper_grace_secs = 0 (no keeper), for a comparison.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "procmgr.h"

#define DEFAULT_N	2000
#define DEFAULT_ROUNDS	2
#define MAX_ROUNDS	5
#define NCONNS		4
#define GROUP		16

static const enum bench_step up[] = {
	STEP_STORE_CREATE, STEP_CTRL_CREATE, STEP_START,
};
/* No Wait: Stop answers after the exit. */
static const enum bench_step down[] = {
	STEP_STOP, STEP_SHUTDOWN, STEP_STORE_DELETE,
};

/* -n SANDBOXES and -r ROUNDS, with their defaults. */
static struct bench_opts opts = {
	.optstring = "n:r:", .n = DEFAULT_N, .rounds = DEFAULT_ROUNDS,
	.max_rounds = MAX_ROUNDS,
};

/* The sandbox processes, found as the daemon's children. */
struct pid_list {
	pid_t	*pids;
	size_t	 n, cap;
};

/* Collect pid unless it is one of the daemon's helpers. */
static void
add_sandbox_cb(pid_t pid, char state, void *arg)
{
	struct pid_list	*l = arg;

	(void)state;
	if (proc_is_daemon_helper(pid))
		return;
	if (l->n == l->cap) {
		l->cap = l->cap != 0 ? l->cap * 2 : 1024;
		l->pids = realloc(l->pids, l->cap * sizeof(*l->pids));
		if (l->pids == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	l->pids[l->n++] = pid;
}

/* The start time (stat field 22) from one read of /proc/<pid>/stat. */
static int
raw_start_time(pid_t pid, unsigned long long *t)
{
	char	 path[64], buf[1024], *s;
	ssize_t	 n;
	int	 fd, field;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	if ((s = strrchr(buf, ')')) == NULL)
		return (-1);
	/* Field 2 ends at the ')'; skip fields 3-21. */
	for (field = 2; field < 21 && s != NULL; field++)
		s = strchr(s + 1, ' ');
	if (s == NULL)
		return (-1);
	*t = strtoull(s + 1, NULL, 10);
	return (0);
}

/* Seconds pid has run on a CPU (its main thread, /proc/<pid>/schedstat). */
static double
cpu_time(pid_t pid)
{
	char			 path[64];
	unsigned long long	 run;
	FILE			*f;
	int			 n;

	snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return (-1);
	n = fscanf(f, "%llu", &run);
	fclose(f);
	return (n == 1 ? (double)run / 1e9 : -1);
}

/* Our own CPU time, in seconds. */
static double
self_cpu(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* The raw loop's CPU time, in seconds (set by raw_loop). */
static double	raw_cpu;

/* Sandboxes the raw loop found gone (they exited by themselves). */
static size_t	raw_gone;

/*
 * The baseline: pidfd_open, /proc/<pid>/stat, epoll_ctl over every pid;
 * seconds.  A pid that is gone costs its failed pidfd_open and is counted
 * in raw_gone (the daemon finds it gone too).
 */
static double
raw_loop(const struct pid_list *l)
{
	struct epoll_event	 ev;
	unsigned long long	 t;
	double			 t0, el;
	size_t			 i, ok = 0;
	int			 ep, *fds;

	if ((fds = calloc(l->n, sizeof(*fds))) == NULL ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("raw loop");
		exit(1);
	}
	t0 = bench_now();
	raw_cpu = self_cpu();
	for (i = 0; i < l->n; i++) {
		fds[i] = (int)syscall(SYS_pidfd_open, l->pids[i], 0);
		if (fds[i] == -1 || raw_start_time(l->pids[i], &t) == -1)
			continue;
		ev.events = EPOLLIN;
		ev.data.u64 = t;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) == 0)
			ok++;
	}
	el = bench_now() - t0;
	raw_cpu = self_cpu() - raw_cpu;
	for (i = 0; i < l->n; i++) {
		if (fds[i] != -1)
			close(fds[i]);
	}
	close(ep);
	free(fds);
	raw_gone = l->n - ok;
	return (el);
}

/* Reap the sandbox processes that became ours when the daemon died. */
static void
reap_sandboxes(const struct pid_list *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		waitpid(l->pids[i], NULL, WNOHANG);
}

/*
 * What the daemon holds besides its sandboxes: LevelDB (STORE_FDS), the
 * fixed ones and the connections its default cap allows (4096), as
 * main.c's fit_fd_limit counts them, and the 128 it leaves for sandboxes.
 */
#define DAEMON_FDS_DEFAULT	(128 + 64 + 4096 + 128)
/* The same with the connection cap of the config below (64). */
#define DAEMON_FDS_SMALL	(128 + 64 + 64 + 128)

static char	config_path[64];
static bool	small_limits;	/* the fd limit could not be raised */
static bool	no_keeper;	/* BENCH_NO_KEEPER=1 */

/* A config file for the daemons, if they need one; exits on error. */
static void
write_config(void)
{
	FILE	*f;
	int	 fd;

	if (!small_limits && !no_keeper)
		return;
	snprintf(config_path, sizeof config_path, "/tmp/sbdbench-conf.XXXXXX");
	if ((fd = mkstemp(config_path)) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		perror("config");
		exit(1);
	}
	if (no_keeper)
		fprintf(f, "keeper_grace_secs = 0\n");
	if (small_limits)
		fprintf(f, "[limits]\nmax_connections = 64\n"
		    "max_connections_per_uid = 64\nsandbox_log_bytes = 0\n");
	fclose(f);
	bench_daemon_config = config_path;
}

/*
 * Room for N sandboxes.  With capped logs (the default) the daemon holds
 * 3 fds per exec sandbox (pidfd, log FIFO, log file) and takes its hard
 * limit as its soft one; the raw loop here holds one per sandbox.  The
 * hard limit is raised if we may (CAP_SYS_RESOURCE); if 3N still does not
 * fit, the daemons get a config with uncapped logs (an exec sandbox then
 * appends to its log itself: 1 fd, its pidfd) and 64 connections.
 * Re-adoption does the same work either way: logs are attached after the
 * daemon is ready (proc_log_later).
 */
static void
fit_fd_limit(size_t n)
{
	struct rlimit	 rl;
	rlim_t		 want = (rlim_t)(3 * n + DAEMON_FDS_DEFAULT);

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_max < want) {
		rl.rlim_max = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max >= want)
		return;
	small_limits = true;
	printf("fd limit %llu (cannot raise it): %zu sandboxes with capped "
	    "logs need %llu; daemons run with limits.sandbox_log_bytes = 0 "
	    "(1 fd a sandbox) and limits.max_connections = 64\n",
	    (unsigned long long)rl.rlim_max, n, (unsigned long long)want);
	if ((rlim_t)(n + DAEMON_FDS_SMALL) > rl.rlim_max)
		printf("  even so only about %llu sandboxes fit\n",
		    (unsigned long long)(rl.rlim_max - DAEMON_FDS_SMALL));
}

/*
 * The daemon's own account of its recovery, from its log: the ms of the
 * last "recovery: N sandbox instance(s) restored in X ms" line, or -1.
 */
static double
recovery_ms(const struct bench_daemon *d)
{
	FILE	*f;
	char	 line[1024], *s;
	double	 ms = -1;

	if ((f = fopen(d->log_path, "re")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if ((s = strstr(line, "recovery: ")) != NULL &&
		    (s = strstr(s, " restored in ")) != NULL)
			ms = strtod(s + strlen(" restored in "), NULL);
	}
	fclose(f);
	return (ms);
}

/*
 * How many pidfds the daemon took back from its keeper, from its log: the
 * last "keeper: N pidfds of watched processes taken back" line after
 * byte offset from (the log is appended to by every start), or 0.
 */
static long
keeper_pidfds(const struct bench_daemon *d, long from)
{
	FILE	*f;
	char	 line[1024], *s;
	long	 n = 0;

	if ((f = fopen(d->log_path, "re")) == NULL)
		return (0);
	if (fseek(f, from, SEEK_SET) == 0) {
		while (fgets(line, sizeof line, f) != NULL) {
			if ((s = strstr(line, "keeper: ")) != NULL &&
			    strstr(s, " pidfds of watched processes taken "
			    "back") != NULL)
				n = strtol(s + strlen("keeper: "), NULL, 10);
		}
	}
	fclose(f);
	return (n);
}

/* The size of the daemon's log so far, where a restart's lines start. */
static long
log_size(const struct bench_daemon *d)
{
	struct stat	st;

	return (stat(d->log_path, &st) == 0 ? (long)st.st_size : 0);
}

/*
 * The sandboxes sleep a day, not bench_exec_spec's 1000 s: on a loaded
 * machine starting 10000 of them took longer than that, and the first
 * ones exited before the first restart.
 */
static const char long_sleep_spec[] =
    "{\"process\":{\"args\":[\"/bin/sleep\",\"86400\"],"
    "\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\"}}";

/* Run one drive of steps; the number of sandboxes that failed. */
static size_t
drive(const struct bench_daemon *d, const enum bench_step *steps,
    size_t nsteps)
{
	struct bench_drive	dr = {
		.prefix = "ra", .n = opts.n, .steps = steps, .nsteps = nsteps,
		.nconns = NCONNS, .group = GROUP,
	};

	bench_drive_runtime(&dr, BENCH_RUNTIME_EXEC);
	dr.spec = long_sleep_spec;
	dr.spec_len = strlen(long_sleep_spec);
	if (bench_drive(d, &dr) == -1)
		return (opts.n);
	return (dr.failed);
}

/*
 * An A/B run: with $BENCH_READOPT_BEFORE naming another sandboxd, odd
 * rounds restart that one ("before") and even rounds the one under test
 * ("after"), on the same sandboxes, so both pay the same machine load.
 */
static const char	*before_bin, *after_bin;

/* Which daemon round r restarts; set for bench_daemon_restart's exec. */
static const char *
pick_daemon(int r)
{
	if (before_bin == NULL)
		return ("");
	if (r % 2 == 0) {
		setenv("SANDBOXD_BIN", before_bin, 1);
		return ("before");
	}
	if (after_bin != NULL)
		setenv("SANDBOXD_BIN", after_bin, 1);
	else
		unsetenv("SANDBOXD_BIN");
	return ("after");
}

/* The medians of one side of an A/B run (first round first, every 2nd). */
static void
print_ab(const char *label, int first, int r, const double *ready,
    const double *raw, const double *ratio, const double *rec,
    const double *cpu)
{
	double	a[MAX_ROUNDS], b[MAX_ROUNDS], c[MAX_ROUNDS], d[MAX_ROUNDS];
	double	e[MAX_ROUNDS];
	int	i, n = 0;

	for (i = first; i < r; i += 2, n++) {
		a[n] = ready[i];
		b[n] = raw[i];
		c[n] = ratio[i];
		d[n] = rec[i];
		e[n] = cpu[i];
	}
	if (n > 0)
		printf("RESULT readopt %s: restart to ready %.1f ms = %.2fx the "
		    "raw loop (%.1f ms); recovery itself %.1f ms; daemon (+ "
		    "keeper) CPU %.2fx the raw loop's (medians of %d)\n", label,
		    bench_median(a, n) * 1e3, bench_median(c, n),
		    bench_median(b, n) * 1e3, bench_median(d, n) * 1e3,
		    bench_median(e, n), n);
}

int
main(int argc, char **argv)
{
	struct bench_daemon	d, empty;
	struct pid_list		l = { 0 };
	/* Zeroed: gcc cannot tell that print_ab reads only rounds run. */
	double			ready[MAX_ROUNDS] = { 0 };
	double			raw[MAX_ROUNDS] = { 0 };
	double			rec[MAX_ROUNDS] = { 0 };
	double			fixed[MAX_ROUNDS];
	double			ratio[MAX_ROUNDS], rec_ratio[MAX_ROUNDS];
	double			cpu_ratio[MAX_ROUNDS], dcpu, ecpu, kcpu;
	double			m[4][MAX_ROUNDS];
	const char		*which;
	size_t			errors = 0;
	long			from, kfds[MAX_ROUNDS];
	pid_t			keeper;
	int			problems = 0, r, i, fds, with_keeper = 0;

	if (bench_parse_args(argc, argv, &opts) == -1)
		return (2);
	bench_init("bench_readopt", "re-adoption after kill -9");
	if ((before_bin = getenv("BENCH_READOPT_BEFORE")) != NULL &&
	    *before_bin == '\0')
		before_bin = NULL;
	after_bin = getenv("SANDBOXD_BIN");
	if (before_bin != NULL)
		printf("A/B: odd rounds restart %s (before), even rounds %s "
		    "(after)\n", before_bin, after_bin != NULL ? after_bin :
		    "the daemon built here");
	no_keeper = getenv("BENCH_NO_KEEPER") != NULL &&
	    strcmp(getenv("BENCH_NO_KEEPER"), "1") == 0;
	fit_fd_limit(opts.n);
	write_config();
	bench_daemon_start(&d, "info");
	bench_daemon_start(&empty, "info");
	printf("starting %zu exec sandboxes (/bin/sleep 86400)...\n", opts.n);
	errors += drive(&d, up, sizeof(up) / sizeof(up[0]));
	bench_for_children(d.pid, add_sandbox_cb, &l);
	printf("  %zu sandbox processes running, %zu failed to start\n", l.n,
	    errors);
	if ((keeper = bench_keeper_pid(&d)) != 0)
		printf("  sandboxd-keeper pid %d holds %d fds (a pidfd of "
		    "every sandbox process, a copy of every open "
		    "connection)\n",
		    (int)keeper, bench_fd_count(keeper, NULL));
	else
		printf("  no sandboxd-keeper%s: restarts open their pidfds "
		    "themselves\n", no_keeper ? " (BENCH_NO_KEEPER=1: "
		    "keeper_grace_secs = 0)" : " found");
	printf("fixed: kill -9 and restart of an empty daemon (no records)\n"
	    "recovery: the daemon's own \"restored in\" time\n"
	    "cpu: the daemon's CPU time from exec to ready, plus its keeper's "
	    "over the restart / the raw loop's / the empty daemon's, ms\n"
	    "kept: pidfds the restarted daemon took back from its keeper\n");
	printf("round   restart to ready   raw loop      ratio      fixed   "
	    "recovery  rec/raw   cpu d/raw/empty   daemon fds   kept\n");
	for (r = 0; r < opts.rounds && !bench_interrupted; r++) {
		which = pick_daemon(r);
		fixed[r] = bench_daemon_restart(&empty, "info");
		ecpu = cpu_time(empty.pid);
		from = log_size(&d);
		kcpu = keeper != 0 ? cpu_time(keeper) : 0;
		ready[r] = bench_daemon_restart(&d, "info");
		/* Now: after ready the loop attaches logs (proc_log_later). */
		dcpu = cpu_time(d.pid);
		if (keeper != 0 && bench_keeper_pid(&d) == keeper)
			dcpu += cpu_time(keeper) - kcpu;
		kfds[r] = keeper_pidfds(&d, from);
		with_keeper += kfds[r] > 0;
		raw[r] = raw_loop(&l);
		rec[r] = recovery_ms(&d) / 1e3;
		cpu_ratio[r] = raw_cpu > 0 && dcpu >= 0 ? dcpu / raw_cpu : 0;
		ratio[r] = raw[r] > 0 ? ready[r] / raw[r] : 0;
		rec_ratio[r] = raw[r] > 0 && rec[r] >= 0 ? rec[r] / raw[r] : 0;
		fds = bench_daemon_fds(&d);
		printf("  %d       %9.1f ms   %8.1f ms   %7.2fx   %5.1f ms   "
		    "%5.1f ms   %5.2fx   %4.0f/%.0f/%-4.0f  %10d %6ld %s\n",
		    r + 1, ready[r] * 1e3, raw[r] * 1e3, ratio[r],
		    fixed[r] * 1e3, rec[r] * 1e3, rec_ratio[r], dcpu * 1e3,
		    raw_cpu * 1e3, ecpu * 1e3, fds, kfds[r], which);
		if (raw_gone > 0)
			printf("  (%zu sandbox processes gone by themselves)\n",
			    raw_gone);
		if ((size_t)fds < l.n - raw_gone) {
			printf("  PROBLEM: %d fds, fewer than the %zu running "
			    "sandboxes (not all re-adopted?)\n", fds,
			    l.n - raw_gone);
			problems++;
		}
		reap_sandboxes(&l);
	}
	if (before_bin != NULL) {
		print_ab("before", 0, r, ready, raw, ratio, rec, cpu_ratio);
		print_ab("after", 1, r, ready, raw, ratio, rec, cpu_ratio);
	} else if (r > 0) {
		for (i = 0; i < r; i++) {
			m[0][i] = ready[i];
			m[1][i] = raw[i];
			m[2][i] = fixed[i];
			m[3][i] = rec[i];
		}
		printf("RESULT readopt: %zu sandboxes re-adopted in %.1f ms "
		    "(kill -9 to ready, median of %d) = %.2fx the raw "
		    "pidfd_open + /proc/<pid>/stat + epoll_ctl loop (%.1f ms); "
		    "fixed startup %.1f ms; recovery itself %.1f ms = %.2fx; "
		    "daemon (+ keeper) CPU to ready %.2fx the raw loop's\n",
		    l.n, bench_median(m[0], r) * 1e3, r,
		    bench_median(ratio, r), bench_median(m[1], r) * 1e3,
		    bench_median(m[2], r) * 1e3, bench_median(m[3], r) * 1e3,
		    bench_median(rec_ratio, r), bench_median(cpu_ratio, r));
	}
	if (r > 0)
		printf("RESULT readopt keeper: %s (pidfds taken back from "
		    "sandboxd-keeper in %d of %d restarts)\n",
		    with_keeper == r ? "with a keeper" : with_keeper == 0 ?
		    "without a keeper" : "with a keeper in some restarts only",
		    with_keeper, r);
	errors += drive(&d, down, sizeof(down) / sizeof(down[0]));
	bench_sleep_ms(100);
	reap_sandboxes(&l);
	problems += bench_daemon_stop(&d);
	problems += bench_daemon_stop(&empty);
	if (config_path[0] != '\0')
		unlink(config_path);
	free(l.pids);
	return (bench_finish(problems, errors));
}
