/*
 * bench_readopt.c: how long sandboxd takes to take its sandboxes back
 * after a crash.  N exec sandboxes (/bin/sleep 1000) are started through
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
 */
#include <sys/epoll.h>
#include <sys/resource.h>
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

/*
 * The baseline: pidfd_open, /proc/<pid>/stat, epoll_ctl over every pid;
 * seconds, or -1 if a pid could not be watched.
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
	for (i = 0; i < l->n; i++) {
		if (fds[i] != -1)
			close(fds[i]);
	}
	close(ep);
	free(fds);
	if (ok != l->n)
		printf("  PROBLEM: raw loop watched %zu of %zu pids\n", ok, l->n);
	return (ok == l->n ? el : -1);
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
 * Room for N sandboxes: the daemon holds 3 fds per sandbox (pidfd, log
 * FIFO, log file) and takes its hard limit as its soft one; the raw loop
 * here holds one per sandbox.  Raised as root; a failure is only said.
 */
static void
raise_fd_limit(size_t n)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)(n * 4 + 8192);

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_max >= want)
		goto soft;
	rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		printf("  cannot raise the fd limit to %llu: %s\n",
		    (unsigned long long)want, strerror(errno));
		return;
	}
soft:
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

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
	if (bench_drive(d, &dr) == -1)
		return (opts.n);
	return (dr.failed);
}

int
main(int argc, char **argv)
{
	struct bench_daemon	d;
	struct pid_list		l = { 0 };
	double			ready[MAX_ROUNDS], raw[MAX_ROUNDS];
	double			ratio[MAX_ROUNDS], mr, mready, mraw;
	size_t			errors = 0;
	int			problems = 0, r, fds;

	if (bench_parse_args(argc, argv, &opts) == -1)
		return (2);
	bench_init("bench_readopt", "re-adoption after kill -9");
	raise_fd_limit(opts.n);
	bench_daemon_start(&d, "info");
	printf("starting %zu exec sandboxes (/bin/sleep 1000)...\n", opts.n);
	errors += drive(&d, up, sizeof(up) / sizeof(up[0]));
	bench_for_children(d.pid, add_sandbox_cb, &l);
	printf("  %zu sandbox processes running, %zu failed to start\n", l.n,
	    errors);
	printf("round   restart to ready   raw loop      ratio   daemon fds\n");
	for (r = 0; r < opts.rounds && !bench_interrupted; r++) {
		ready[r] = bench_daemon_restart(&d, "info");
		raw[r] = raw_loop(&l);
		ratio[r] = raw[r] > 0 ? ready[r] / raw[r] : 0;
		fds = bench_daemon_fds(&d);
		printf("  %d       %9.1f ms   %8.1f ms   %7.2fx   %d\n", r + 1,
		    ready[r] * 1e3, raw[r] * 1e3, ratio[r], fds);
		if ((size_t)fds < l.n) {
			printf("  PROBLEM: %d fds, fewer than the %zu sandboxes "
			    "(not all re-adopted?)\n", fds, l.n);
			problems++;
		}
		reap_sandboxes(&l);
	}
	if (r > 0) {
		mr = bench_median(ratio, r);
		mready = bench_median(ready, r);
		mraw = bench_median(raw, r);
		printf("RESULT readopt: %zu sandboxes re-adopted in %.1f ms "
		    "(kill -9 to ready, median of %d) = %.2fx the raw "
		    "pidfd_open + /proc/<pid>/stat + epoll_ctl loop (%.1f ms)\n",
		    l.n, mready * 1e3, r, mr, mraw * 1e3);
	}
	errors += drive(&d, down, sizeof(down) / sizeof(down[0]));
	bench_sleep_ms(100);
	reap_sandboxes(&l);
	problems += bench_daemon_stop(&d);
	free(l.pids);
	return (bench_finish(problems, errors));
}
