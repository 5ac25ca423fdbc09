/*
 * test_proc.c: procmgr/proc.c and the pause program, with real processes.
 *
 * Each test runs in its own process (Criterion forks), with its own event
 * base and temporary directory.  Suites: proc (pidfd mode), proc_fallback
 * (proc_force_signalfd), pause (the sandboxd-pause program).  Needs root
 * for namespaces; a missing feature skips the test and says why.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <linux/filter.h>
#include <linux/kcmp.h>
#include <linux/seccomp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/event.h>
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif

#include "procmgr_test.h"

/*
 * One timeout for every test: Criterion 2.4.1's runner leaks (and LSan
 * then fails the run) when tests in one binary carry different timeouts.
 */
#define TEST_TIMEOUT	60

struct exitrec {
	int		calls;
	int		status;
	struct timespec	at;
	bool		free_in_cb;
	int		*total;		/* shared count, or NULL */
	int		ready_seq;	/* events_seen at ready, exit */
	int		exit_seq;
};

static struct event_base	*base;
static int			 base_events;	/* added after proc_init */
static int			 base_fds;	/* open before setup */
static char			 tmpdir[] = "/tmp/test_proc.XXXXXX";
static const char		*test_env[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", NULL
};

/* What ready callbacks said, in order with exits (see exit_cb). */
static int	 ready_calls;
static char	*ready_error;		/* the last failure, until taken */
static int	 events_seen;		/* ready and exit callbacks */

/* Ready callback: count it and keep a failure's message. */
static void
ready_cb(struct proc *p, const char *error, void *arg)
{
	struct exitrec	*r = arg;

	(void)p;
	ready_calls++;
	events_seen++;
	if (r != NULL)
		r->ready_seq = events_seen;
	free(ready_error);
	ready_error = error != NULL ? strdup(error) : NULL;
}

/* Exit callback: record, and free the proc if asked to. */
static void
exit_cb(struct proc *p, int status, const struct timespec *at, void *arg)
{
	struct exitrec	*r = arg;

	r->calls++;
	r->exit_seq = ++events_seen;
	r->status = status;
	r->at = *at;
	if (r->total != NULL)
		(*r->total)++;
	if (r->free_in_cb)
		proc_free(p);
}

static int
rm_cb(const char *path, __attribute__((unused)) const struct stat *sb,
    __attribute__((unused)) int flag, __attribute__((unused)) struct FTW *f)
{
	remove(path);
	return (0);
}

static int
added_events(void)
{
	return (event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED));
}

static int	count_fds(void);

static void
setup_mode(bool fallback)
{
	char	*cause = NULL;

	base_fds = count_fds();
	cr_assert_not_null(mkdtemp(tmpdir));
	cr_assert_not_null(base = event_base_new());
	proc_force_signalfd(fallback);
	cr_assert_eq(proc_init(base, &cause), 0, "proc_init: %s", cause);
	base_events = added_events();
}

static void
setup(void)
{
	setup_mode(false);
}

static void
setup_fallback(void)
{
	setup_mode(true);
}

/*
 * End of a test body: shut procmgr down, then check that the test left no
 * fd open and, under valgrind, no memory leaked.  (Criterion ignores
 * failures in .fini, even crashes, so this runs in the body; see PTest.)
 */
static void
check_clean(void)
{
	proc_shutdown();
	event_base_free(base);
	base = NULL;
	cr_assert_eq(count_fds(), base_fds, "fds leaked: %d open, %d before",
	    count_fds(), base_fds);
#ifdef VALGRIND_COUNT_LEAKS
	if (RUNNING_ON_VALGRIND) {
		unsigned long	leaked = 0, dubious = 0, reachable = 0;
		unsigned long	suppressed = 0;

		VALGRIND_DO_LEAK_CHECK;
		VALGRIND_COUNT_LEAKS(leaked, dubious, reachable, suppressed);
		/* "Possibly lost": Criterion's nanomsg thread, not ours. */
		cr_assert_eq(leaked, 0, "valgrind: %lu bytes lost (%lu "
		    "possibly, %lu reachable, %lu suppressed)", leaked,
		    dubious, reachable, suppressed);
	}
#endif
}

static void
teardown(void)
{
	if (base != NULL) {
		proc_shutdown();
		event_base_free(base);
	}
	nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(ready_error);
	ready_error = NULL;
}

/* A Criterion test whose body is followed by check_clean(). */
#define PTest(suite, name, ...)						\
	static void suite##_##name##_body(void);			\
	Test(suite, name, __VA_ARGS__)					\
	{								\
		suite##_##name##_body();				\
		check_clean();						\
	}								\
	static void suite##_##name##_body(void)

/* Skip unless pidfd mode is on. */
static void
need_pidfd(void)
{
	if (!proc_have_pidfd())
		cr_skip_test("no pidfds here (kernel < 5.4, or valgrind, "
		    "which lacks pidfd_open)");
}

/* A path under the test's directory (a few rotating buffers). */
static const char *
tpath(const char *name)
{
	static char	buf[4][PATH_MAX];
	static int	i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", tmpdir, name);
	return (buf[i]);
}

static double
now_secs(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* Run the loop for ms milliseconds. */
static void
run_ms(int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Run the loop until *n reaches want; fail after secs. */
static void
run_until(const int *n, int want, int secs)
{
	double	end = now_secs() + secs;

	while (*n < want && now_secs() < end)
		run_ms(20);
	cr_assert_geq(*n, want, "timed out: %d of %d exits", *n, want);
}

/* Sleep ms milliseconds without running the loop. */
static void
nap(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * Spawn, and unless held run the loop until the ready callback says
 * whether the exec worked: NULL with its error if not (procmgr freed p).
 */
static struct proc *
spawn_launch(struct proc_launch *l, struct exitrec *r, char **cause)
{
	struct proc	*p;
	int		 before = ready_calls;

	if (l->envp == NULL)
		l->envp = (char **)test_env;
	if ((p = proc_spawn(l, exit_cb, ready_cb, r, cause)) == NULL ||
	    l->hold)
		return (p);
	run_until(&ready_calls, before + 1, 10);
	if (ready_error != NULL) {
		*cause = ready_error;
		ready_error = NULL;
		return (NULL);
	}
	return (p);
}

/* Spawn argv (argv[0] is the path); fail the test if it cannot. */
static struct proc *
spawn_argv(const char **argv, struct exitrec *r, const char *log)
{
	struct proc_launch	 l;
	struct proc		*p;
	char			*cause = NULL;

	memset(&l, 0, sizeof l);
	l.path = (char *)argv[0];
	l.argv = (char **)argv;
	l.log_path = (char *)log;
	p = spawn_launch(&l, r, &cause);
	cr_assert_not_null(p, "spawn %s: %s", argv[0], cause);
	return (p);
}

static struct proc *
spawn_sh(const char *script, struct exitrec *r, const char *log)
{
	const char	*argv[] = { "/bin/sh", "-c", script, NULL };

	return (spawn_argv(argv, r, log));
}

/*
 * Spawn a script and return at once, the loop not run: its ready and exit
 * callbacks come when the test runs the loop (to catch it as a zombie).
 */
static struct proc *
spawn_sh_nowait(const char *script, struct exitrec *r)
{
	const char		*argv[] = { "/bin/sh", "-c", script, NULL };
	struct proc_launch	 l = { 0 };
	struct proc		*p;
	char			*cause = NULL;

	l.path = (char *)argv[0];
	l.argv = (char **)argv;
	l.envp = (char **)test_env;
	p = proc_spawn(&l, exit_cb, ready_cb, r, &cause);
	cr_assert_not_null(p, "spawn: %s", cause);
	return (p);
}

static struct proc *
spawn_sleep(struct exitrec *r)
{
	const char	*argv[] = { "/bin/sleep", "30", NULL };

	return (spawn_argv(argv, r, NULL));
}

/* Contents of a file, NUL-terminated, malloc'd; NULL if missing. */
static char *
slurp(const char *path)
{
	char	*buf;
	ssize_t	 n;
	size_t	 len = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (NULL);
	buf = malloc(65536);
	cr_assert_not_null(buf);
	while ((n = read(fd, buf + len, 65535 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return (buf);
}

/* Wait until the file holds needle. */
static void
wait_file(const char *path, const char *needle, int secs)
{
	double	 end = now_secs() + secs;
	char	*s;
	bool	 found = false;

	while (!found && now_secs() < end) {
		if ((s = slurp(path)) != NULL)
			found = strstr(s, needle) != NULL;
		free(s);
		if (!found)
			nap(10);
	}
	cr_assert(found, "%s never said %s", path, needle);
}

/* The state letter of pid, or 0 if it is gone. */
static char
pstate(pid_t pid)
{
	char	 path[64], *s, *p, c = 0;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((s = slurp(path)) == NULL)
		return (0);
	if ((p = strrchr(s, ')')) != NULL && p[1] == ' ')
		c = p[2];
	free(s);
	return (c);
}

/* Wait until pid is a zombie (exited, unreaped). */
static void
wait_zombie(pid_t pid)
{
	int	i;

	for (i = 0; i < 500 && pstate(pid) != 'Z'; i++)
		nap(10);
	cr_assert_eq(pstate(pid), 'Z', "pid %d is not a zombie", (int)pid);
}

/* Run the loop until pid has disappeared from /proc (reaped). */
static void
run_until_gone(pid_t pid, int secs)
{
	double	end = now_secs() + secs;

	while (pstate(pid) != 0 && now_secs() < end)
		run_ms(20);
	cr_assert_eq(pstate(pid), 0, "pid %d never reaped (state %c)",
	    (int)pid, pstate(pid));
}

/*
 * Run the loop until only the events of an idle procmgr are left (a
 * child's stack freed with it while held is unmapped from the loop).
 */
static void
run_until_idle(int secs)
{
	double	end = now_secs() + secs;

	while (added_events() != base_events && now_secs() < end)
		run_ms(20);
	cr_assert_eq(added_events(), base_events);
}

/* Has this process no children left at all (no zombie either)? */
static bool
no_children(void)
{
	return (waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
}

/* Has this process no zombie child (live ones allowed)? */
static bool
no_zombies(void)
{
	siginfo_t	si;

	memset(&si, 0, sizeof si);
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return (errno == ECHILD);
	return (si.si_pid == 0);
}

static int
count_fds(void)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	cr_assert_not_null(d = opendir("/proc/self/fd"));
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return (n - 1);		/* the directory's own fd */
}

/* A "Name:\tvalue" line of /proc/<pid>/status, malloc'd. */
static char *
status_field(pid_t pid, const char *name)
{
	char	 path[64], *s, *p, *e, *v = NULL;
	size_t	 len = strlen(name);

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((s = slurp(path)) == NULL)
		return (NULL);
	for (p = s; p != NULL && *p != '\0'; p = e != NULL ? e + 1 : NULL) {
		e = strchr(p, '\n');
		if (strncmp(p, name, len) == 0 && p[len] == ':') {
			v = strndup(p + len + 2,
			    e != NULL ? (size_t)(e - p) - len - 2 : strlen(p));
			break;
		}
	}
	free(s);
	return (v);
}

/* Is pid waiting in rt_sigtimedwait?  wchan, else /proc/<pid>/syscall. */
static bool
in_sigwait(pid_t pid)
{
	char	 path[64], *s;
	bool	 yes = false;

	snprintf(path, sizeof path, "/proc/%d/wchan", (int)pid);
	if ((s = slurp(path)) != NULL) {
		yes = strstr(s, "sigtimedwait") != NULL;
		free(s);
	}
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	if (!yes && (s = slurp(path)) != NULL) {
		yes = atol(s) == SYS_rt_sigtimedwait;
		free(s);
	}
	return (yes);
}

/*
 * Wait until the pause program sits in sigwaitinfo, ready for signals.
 * (SigBlk cannot tell: the kernel unblocks the waited-for signals while
 * it waits.)  Before that, SIGTERM to a PID 1 with no handler is dropped.
 */
static void
wait_sigwait(pid_t pid)
{
	int	i;

	for (i = 0; i < 500 && !in_sigwait(pid); i++)
		nap(10);
	if (!in_sigwait(pid)) {
		kill(pid, SIGKILL);
		cr_assert_fail("pid %d never reached sigwaitinfo", (int)pid);
	}
}

/* Path of the pause program; skip the test if it was not built. */
static const char *
pause_bin(void)
{
	static char	 path[PATH_MAX];
	const char	*env;
	char		*s;
	ssize_t		 n;

	if ((env = getenv("SANDBOXD_PAUSE_BIN")) != NULL)
		return (env);
	n = readlink("/proc/self/exe", path, sizeof path - 32);
	cr_assert_gt(n, 0);
	path[n] = '\0';
	/* <build>/tests/unit_test_proc -> <build>/sandboxd-pause */
	for (int i = 0; i < 2 && (s = strrchr(path, '/')) != NULL; i++)
		*s = '\0';
	strcat(path, "/sandboxd-pause");
	if (access(path, X_OK) != 0)
		cr_skip_test("pause program not found at %s (build the "
		    "sandboxd-pause target or set SANDBOXD_PAUSE_BIN)", path);
	return (path);
}

/* Spawn the pause program in new PID, IPC and UTS namespaces. */
static struct proc *
spawn_pause(struct exitrec *r, int flags, const char *hostname)
{
	struct proc_launch	 l;
	struct proc		*p;
	const char		*argv[] = { pause_bin(), NULL };
	char			*cause = NULL;

	memset(&l, 0, sizeof l);
	l.path = (char *)argv[0];
	l.argv = (char **)argv;
	l.clone_flags = flags;
	l.hostname = (char *)hostname;
	p = spawn_launch(&l, r, &cause);
	cr_assert_not_null(p, "spawn pause: %s", cause);
	wait_sigwait(proc_pid(p));
	return (p);
}

/* Is pid PID 1 of its own PID namespace? */
static bool
is_ns_init(pid_t pid)
{
	char	*v, expect[64];
	bool	 ok;

	cr_assert_not_null(v = status_field(pid, "NSpid"));
	snprintf(expect, sizeof expect, "%d\t1", (int)pid);
	ok = strcmp(v, expect) == 0;
	if (!ok)
		cr_log_error("NSpid of %d: %s", (int)pid, v);
	free(v);
	return (ok);
}

/*
 * In a forked child: close every descriptor above stderr but a, b and c,
 * so that it holds no pipe end another test process waits on.
 */
static void
keep_only_fds(int a, int b, int c)
{
	int	fd;

	for (fd = 3; fd < 1024; fd++)
		if (fd != a && fd != b && fd != c)
			close(fd);
}

/*
 * Fork a grandchild b, not our child: its parent a reaps it and exits
 * (then a is an untracked child of ours, for procmgr's sweep to reap; no
 * orphan is left to an init that may not reap).  b exits with status when
 * *wfd is closed.  With holdfd, a reaps b only once *holdfd is closed
 * too: b stays a zombie until then.
 */
static pid_t
grandchild_ex(int *wfd, int *holdfd, pid_t *parent, int status)
{
	int	ctl[2], back[2], hold[2] = { -1, -1 };
	pid_t	a, b = -1;
	char	c;

	cr_assert_eq(pipe2(ctl, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(back, O_CLOEXEC), 0);
	if (holdfd != NULL)
		cr_assert_eq(pipe2(hold, O_CLOEXEC), 0);
	if ((a = fork()) == 0) {
		keep_only_fds(ctl[0], back[1], hold[0]);
		if ((b = fork()) == 0) {
			while (read(ctl[0], &c, 1) == -1 && errno == EINTR)
				;
			_exit(status);
		}
		close(ctl[0]);
		if (write(back[1], &b, sizeof b) != sizeof b)
			_exit(1);
		if (hold[0] != -1) {
			while (read(hold[0], &c, 1) == -1 && errno == EINTR)
				;
		}
		while (waitpid(b, NULL, 0) == -1 && errno == EINTR)
			;
		_exit(0);
	}
	cr_assert_gt(a, 0);
	cr_assert_eq(read(back[0], &b, sizeof b), (ssize_t)sizeof b);
	close(back[0]);
	close(back[1]);
	close(ctl[0]);
	*wfd = ctl[1];
	if (holdfd != NULL) {
		close(hold[0]);
		*holdfd = hold[1];
	}
	*parent = a;
	return (b);
}

/* A grandchild that exits 0 when *wfd is closed (see grandchild_ex). */
static pid_t
grandchild(int *wfd, pid_t *parent)
{
	return (grandchild_ex(wfd, NULL, parent, 0));
}

/*
 * Fork an orphan: its parent exits at once, so it is re-parented to init
 * (or to a subreaper above us).  It exits with status when *wfd is
 * closed.
 */
static pid_t
orphan(int *wfd, int status)
{
	pid_t	pid, a;
	int	hfd;

	pid = grandchild_ex(wfd, &hfd, &a, status);
	/* a dies before it could reap anything. */
	kill(a, SIGKILL);
	while (waitpid(a, NULL, 0) == -1 && errno == EINTR)
		;
	close(hfd);
	return (pid);
}

/* Fork a child that exits with status when *wfd is closed. */
static pid_t
fork_child(int *wfd, int status)
{
	int	ctl[2];
	pid_t	pid;
	char	c;

	cr_assert_eq(pipe2(ctl, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		close(ctl[1]);
		while (read(ctl[0], &c, 1) == -1 && errno == EINTR)
			;
		_exit(status);
	}
	cr_assert_gt(pid, 0);
	close(ctl[0]);
	*wfd = ctl[1];
	return (pid);
}

/*
 * Exit statuses and stopping.
 */

PTest(proc, exit_status, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct timespec	 before, after;
	struct proc	*p;
	uint64_t	 t;

	need_pidfd();
	clock_gettime(CLOCK_REALTIME, &before);
	p = spawn_sh_nowait("exit 3", &r);
	cr_assert(proc_is_child(p));
	cr_assert_eq(proc_read_start_time(proc_pid(p), &t), 0);
	cr_assert_eq(proc_start_time(p), t);
	run_until(&r.calls, 1, 10);
	clock_gettime(CLOCK_REALTIME, &after);
	cr_assert_eq(r.status, 3);
	cr_assert_geq(r.at.tv_sec, before.tv_sec);
	cr_assert_leq(r.at.tv_sec, after.tv_sec);
	run_ms(100);
	cr_assert_eq(r.calls, 1, "callback called %d times", r.calls);
	cr_assert_eq(added_events(), base_events);
	errno = 0;
	cr_assert_eq(proc_kill(p, SIGTERM), -1);
	cr_assert_eq(errno, ESRCH);
	proc_stop(p, 0);		/* a no-op now */
	proc_free(p);
	cr_assert(no_children());
}

PTest(proc, killed_137, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;

	p = spawn_sleep(&r);
	cr_assert_eq(proc_kill(p, SIGKILL), 0);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 137);
	proc_free(p);
	cr_assert(no_children());
}

PTest(proc, stop_zero_137, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	double		 t0;

	p = spawn_sleep(&r);
	t0 = now_secs();
	proc_stop(p, 0);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 137);
	cr_assert_lt(now_secs() - t0, 2.0);
	cr_assert_eq(added_events(), base_events);
	proc_free(p);
}

PTest(proc, sigterm_143, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	double		 t0;

	p = spawn_sleep(&r);
	t0 = now_secs();
	proc_stop(p, 10);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 143);
	cr_assert_lt(now_secs() - t0, 5.0);
	/* The 10 s SIGKILL timer went with the exit. */
	cr_assert_eq(added_events(), base_events);
	proc_free(p);
}

/*
 * Spawn a shell that ignores SIGTERM, and wait until it does.  It execs
 * its sleep (which keeps the ignored SIGTERM) so that SIGKILL leaves no
 * orphan behind.
 */
static struct proc *
spawn_stubborn(struct exitrec *r)
{
	const char	*log = tpath("stubborn.log");
	struct proc	*p;

	p = spawn_sh("trap '' TERM; echo ready; exec sleep 30", r, log);
	wait_file(log, "ready", 10);
	return (p);
}

/* SIGKILL the children of pid. */
static void
kill_children(pid_t pid)
{
	char	 path[64], *s, *p, *end;
	long	 c;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if ((s = slurp(path)) == NULL)
		cr_skip_test("no %s (CONFIG_PROC_CHILDREN)", path);
	for (p = s; (c = strtol(p, &end, 10)) > 0; p = end)
		kill((pid_t)c, SIGKILL);
	free(s);
}

PTest(proc, stop_ignored_term, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	double		 t0, dt;

	p = spawn_stubborn(&r);
	t0 = now_secs();
	proc_stop(p, 1);
	run_until(&r.calls, 1, 10);
	dt = now_secs() - t0;
	cr_assert_eq(r.status, 137);
	cr_assert_geq(dt, 0.9, "killed after %.2f s", dt);
	cr_assert_lt(dt, 5.0, "killed after %.2f s", dt);
	cr_assert_eq(added_events(), base_events);
	proc_free(p);
}

PTest(proc, stop_shortened, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	double		 t0, dt;

	p = spawn_stubborn(&r);
	t0 = now_secs();
	proc_stop(p, 60);
	proc_stop(p, 1);		/* sooner: wins */
	proc_stop(p, 30);		/* later: ignored */
	run_until(&r.calls, 1, 10);
	dt = now_secs() - t0;
	cr_assert_eq(r.status, 137);
	cr_assert_geq(dt, 0.9, "killed after %.2f s", dt);
	cr_assert_lt(dt, 5.0, "killed after %.2f s", dt);
	proc_free(p);
}

PTest(proc, stop_zero_while_pending, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;

	p = spawn_stubborn(&r);
	proc_stop(p, 60);
	run_ms(300);
	cr_assert_eq(r.calls, 0, "SIGTERM should have been ignored");
	proc_stop(p, 0);
	run_until(&r.calls, 1, 3);
	cr_assert_eq(r.status, 137);
	cr_assert_eq(added_events(), base_events);
	proc_free(p);
}

PTest(proc, free_with_stop_pending, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	pid_t		 pid;

	need_pidfd();
	p = spawn_stubborn(&r);
	pid = proc_pid(p);
	proc_stop(p, 1);
	proc_free(p);			/* timer and pidfd event go */
	cr_assert_eq(added_events(), base_events);
	run_ms(1500);
	cr_assert_eq(r.calls, 0);
	cr_assert_eq(kill(pid, 0), 0, "proc_free must not kill");
	kill(pid, SIGKILL);
	/* Now an untracked child: SIGCHLD reaps it. */
	run_until_gone(pid, 5);
	cr_assert(no_children());
}

PTest(proc, free_in_callback, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r[5];
	int		 total = 0, i;

	memset(r, 0, sizeof r);
	for (i = 0; i < 5; i++) {
		r[i].free_in_cb = true;
		r[i].total = &total;
		spawn_sh(i % 2 ? "exit 1" : "kill -9 $$", &r[i], NULL);
	}
	run_until(&total, 5, 10);
	run_ms(100);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(r[i].calls, 1);
		cr_assert_eq(r[i].status, i % 2 ? 1 : 137);
	}
	cr_assert_eq(added_events(), base_events);
	cr_assert(no_children());
}

PTest(proc, free_zombie, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	pid_t		 pid;

	p = spawn_sh_nowait("exit 0", &r);
	pid = proc_pid(p);
	wait_zombie(pid);
	proc_free(p);
	cr_assert_eq(pstate(pid), 0, "zombie left behind");
	run_ms(100);
	cr_assert_eq(r.calls, 0);
	cr_assert(no_children());
}

PTest(proc, untracked_children, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 rt = { 0 }, ru = { 0 };
	struct proc	*t, *u;
	pid_t		 upid, fpid;

	need_pidfd();
	t = spawn_sleep(&rt);
	u = spawn_sleep(&ru);
	upid = proc_pid(u);
	proc_free(u);
	/* A child some other code forked and forgot. */
	if ((fpid = fork()) == 0)
		_exit(0);
	cr_assert_gt(fpid, 0);
	/* Both zombies exist before the loop sees anything. */
	kill(upid, SIGKILL);
	cr_assert_eq(proc_kill(t, SIGKILL), 0);
	wait_zombie(upid);
	wait_zombie(proc_pid(t));
	run_until(&rt.calls, 1, 10);
	cr_assert_eq(rt.status, 137, "tracked status stolen: %d", rt.status);
	run_until_gone(upid, 5);
	run_until_gone(fpid, 5);
	cr_assert_eq(ru.calls, 0);
	proc_free(t);
	cr_assert(no_children());
}

/*
 * Spawning.
 */

PTest(proc, exec_missing, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct proc_launch	 l;
	char			*cause = NULL;
	const char		*argv[] = { "/bin/nope", NULL };
	int			 fds = count_fds();

	memset(&l, 0, sizeof l);
	l.path = (char *)argv[0];
	l.argv = (char **)argv;
	cr_assert_null(spawn_launch(&l, NULL, &cause));
	cr_assert_str_eq(cause, "exec /bin/nope: No such file or directory");
	free(cause);
	cr_assert(no_children(), "zombie left by a failed spawn");
	cr_assert_eq(count_fds(), fds, "fd leaked");
	cr_assert_eq(added_events(), base_events);
}

/* Try a launch that must fail; check the cause and that nothing leaks. */
static void
spawn_fails(struct proc_launch *l, const char *want)
{
	char	*cause = NULL;
	int	 fds = count_fds();

	cr_assert_null(spawn_launch(l, NULL, &cause), "spawn should fail");
	cr_assert_str_eq(cause, want);
	free(cause);
	cr_assert(no_zombies(), "zombie left by a failed spawn");
	cr_assert_eq(count_fds(), fds, "fd leaked");
}

PTest(proc, spawn_failures, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct proc_launch	 l;
	const char		*argv[] = { "/bin/true", NULL };
	char			 want[PATH_MAX + 64], *file;
	int			 fd;

	memset(&l, 0, sizeof l);
	l.path = (char *)argv[0];
	l.argv = (char **)argv;

	file = strdup(tpath("notanetns"));
	cr_assert_geq(fd = open(file, O_CREAT | O_WRONLY, 0600), 0);
	close(fd);
	l.netns_path = file;
	snprintf(want, sizeof want, "setns %s: Invalid argument", file);
	spawn_fails(&l, want);
	l.netns_path = (char *)"/nonexistent/netns";
	spawn_fails(&l, "setns /nonexistent/netns: No such file or directory");
	l.netns_path = NULL;

	l.cwd = (char *)"/nonexistent";
	spawn_fails(&l, "chdir /nonexistent: No such file or directory");
	l.cwd = NULL;

	l.log_path = (char *)tpath("no/such/dir/log");
	snprintf(want, sizeof want, "open %s: No such file or directory",
	    l.log_path);
	spawn_fails(&l, want);
	l.log_path = NULL;

	l.clone_flags = CLONE_VM;
	spawn_fails(&l, "unsupported clone flags 0x100");
	free(file);
}

/*
 * Held children and the ready callback.
 */

/* A launch of sh -c script $0, held. */
static struct proc *
spawn_held(const char *script, const char *arg0, struct exitrec *r)
{
	const char		*argv[] = { "/bin/sh", "-c", script, arg0, NULL };
	struct proc_launch	 l = { 0 };
	struct proc		*p;
	char			*cause = NULL;

	l.path = (char *)argv[0];
	l.argv = (char **)argv;
	l.hold = true;
	p = spawn_launch(&l, r, &cause);
	cr_assert_not_null(p, "spawn: %s", cause);
	cr_assert(proc_is_starting(p));
	return (p);
}

PTest(proc, hold_until_release, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	const char	*ran = tpath("ran");
	int		 before = ready_calls;

	p = spawn_held("echo ran > \"$0\"", ran, &r);
	run_ms(300);
	cr_assert_eq(ready_calls, before, "ready before the release");
	cr_assert_eq(access(ran, F_OK), -1, "a held child ran its program");
	cr_assert(pstate(proc_pid(p)) != 0 && pstate(proc_pid(p)) != 'Z');
	proc_release_held();
	run_until(&r.calls, 1, 10);
	cr_assert_null(ready_error);
	cr_assert_eq(r.status, 0);
	cr_assert(r.ready_seq != 0 && r.ready_seq < r.exit_seq,
	    "ready %d, exit %d", r.ready_seq, r.exit_seq);
	cr_assert_eq(access(ran, F_OK), 0, "the released child did not run");
	proc_free(p);
	cr_assert(no_children());
	cr_assert_eq(added_events(), base_events);
}

/* Freed while held, as when the daemon gives up: it never runs. */
PTest(proc, hold_abandoned, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	const char	*ran = tpath("ran");
	pid_t		 pid;
	int		 before = ready_calls;

	p = spawn_held("echo ran > \"$0\"", ran, &r);
	pid = proc_pid(p);
	proc_free(p);
	proc_release_held();		/* nothing is held any more */
	run_until_gone(pid, 5);
	run_until_idle(5);
	cr_assert_eq(access(ran, F_OK), -1, "an abandoned child ran");
	cr_assert_eq(ready_calls, before);
	cr_assert_eq(r.calls, 0);
	cr_assert(no_children());
}

/*
 * A held child must not keep another's pipes: freeing A, held, must end
 * it even while B, spawned after it and also held, still waits.
 */
PTest(proc, held_children_independent, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 ra = { 0 }, rb = { 0 };
	struct proc	*a, *b;
	pid_t		 apid;

	a = spawn_held("exit 0", "a", &ra);
	b = spawn_held("exit 7", "b", &rb);
	apid = proc_pid(a);
	proc_free(a);
	run_until_gone(apid, 5);
	cr_assert(proc_is_starting(b));
	proc_release_held();
	run_until(&rb.calls, 1, 10);
	cr_assert_eq(rb.status, 7);
	cr_assert_eq(ra.calls, 0);
	proc_free(b);
	cr_assert(no_children());
}

/* SIGTERM to a held child does what it would do to the program. */
PTest(proc, term_while_held, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	int		 before = ready_calls;

	p = spawn_held("sleep 30", "x", &r);
	cr_assert_eq(proc_kill(p, SIGTERM), 0);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 128 + SIGTERM);
	cr_assert_eq(ready_calls, before + 1, "no ready before the exit");
	cr_assert(r.ready_seq < r.exit_seq);
	proc_release_held();
	proc_free(p);
	cr_assert(no_children());
	cr_assert_eq(added_events(), base_events);
}

/* A child that exits before the loop looks: ready first, then exit. */
PTest(proc, ready_before_exit, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;

	p = spawn_sh_nowait("exit 5", &r);
	wait_zombie(proc_pid(p));
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 5);
	cr_assert(r.ready_seq != 0 && r.ready_seq < r.exit_seq,
	    "ready %d, exit %d", r.ready_seq, r.exit_seq);
	cr_assert_null(ready_error);
	proc_free(p);
	cr_assert(no_children());
}

PTest(proc, netns_joined, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc_launch l;
	struct proc	*p;
	char		 nspath[64], want[64], got[64], path[64], *cause = NULL;
	const char	*argv[] = { "/bin/sleep", "30", NULL };
	int		 ctl[2];
	pid_t		 helper;
	ssize_t		 n;
	char		 c;

	/* A helper holding a fresh network namespace. */
	cr_assert_eq(pipe2(ctl, O_CLOEXEC), 0);
	if ((helper = fork()) == 0) {
		if (unshare(CLONE_NEWNET) == -1)
			_exit(1);
		n = write(ctl[1], "x", 1);
		pause();
		_exit(n == 1 ? 0 : 1);
	}
	close(ctl[1]);
	if (read(ctl[0], &c, 1) != 1) {
		waitpid(helper, NULL, 0);
		cr_skip_test("cannot unshare a network namespace here");
	}
	close(ctl[0]);
	snprintf(nspath, sizeof nspath, "/proc/%d/ns/net", (int)helper);

	memset(&l, 0, sizeof l);
	l.path = (char *)argv[0];
	l.argv = (char **)argv;
	l.netns_path = nspath;
	p = spawn_launch(&l, &r, &cause);
	cr_assert_not_null(p, "spawn: %s", cause);
	cr_assert_gt(n = readlink(nspath, want, sizeof want - 1), 0);
	want[n] = '\0';
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)proc_pid(p));
	cr_assert_gt(n = readlink(path, got, sizeof got - 1), 0);
	got[n] = '\0';
	cr_assert_str_eq(got, want);
	kill(helper, SIGKILL);
	waitpid(helper, NULL, 0);
	proc_stop(p, 0);
	run_until(&r.calls, 1, 10);
	proc_free(p);
}

PTest(proc, log_path, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 }, r2 = { 0 };
	struct stat	 sb;
	struct proc	*p, *p2;
	const char	*log = tpath("out.log");
	char		*s;
	mode_t		 mask = umask(0);

	umask(mask);
	p = spawn_sh("echo out; echo err >&2", &r, log);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(stat(log, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0640 & ~mask, "mode %o",
	    (unsigned int)(sb.st_mode & 0777));
	p2 = spawn_sh("echo again", &r2, log);
	run_until(&r2.calls, 1, 10);
	proc_free(p);
	proc_free(p2);
	s = slurp(log);
	cr_assert_str_eq(s, "out\nerr\nagain\n");
	free(s);
}

PTest(proc, cwd_env, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc_launch l;
	struct proc	*p;
	const char	*argv[] = { "/bin/sh", "-c",
	    "pwd; echo \"$FOO\"; echo \"${LEAK-unset}\"", NULL };
	const char	*env[] = { "FOO=bar baz", NULL };
	const char	*log = tpath("env.log");
	char		*cause = NULL, *s, want[PATH_MAX + 64], real[PATH_MAX];

	setenv("LEAK", "1", 1);
	memset(&l, 0, sizeof l);
	l.path = (char *)argv[0];
	l.argv = (char **)argv;
	l.envp = (char **)env;
	l.cwd = tmpdir;
	l.log_path = (char *)log;
	cr_assert_not_null(p = spawn_launch(&l, &r, &cause), "%s", cause);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 0);
	cr_assert_not_null(realpath(tmpdir, real));
	snprintf(want, sizeof want, "%s\nbar baz\nunset\n", real);
	s = slurp(log);
	cr_assert_str_eq(s, want);
	free(s);
	proc_free(p);
}

PTest(proc, own_session, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	pid_t		 pid;

	p = spawn_sleep(&r);
	pid = proc_pid(p);
	cr_assert_eq(getsid(pid), pid);
	cr_assert_eq(getpgid(pid), pid);
	cr_assert_neq(getsid(0), pid);
	proc_stop(p, 0);
	run_until(&r.calls, 1, 10);
	proc_free(p);
}

PTest(proc, clean_inheritance, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	struct dirent	*de;
	DIR		*d;
	char		 path[64], buf[64], *v;
	int		 leak, pfd[2], i, nfd = 0, seen;
	ssize_t		 n;

	/* Things the child must not get: fds, ignored and blocked signals. */
	cr_assert_geq(leak = open("/dev/null", O_RDONLY), 0);
	cr_assert_eq(pipe(pfd), 0);
	signal(SIGPIPE, SIG_IGN);
	p = spawn_sleep(&r);
	snprintf(path, sizeof path, "/proc/%d/fd", (int)proc_pid(p));
	for (i = 0; i < 100; i++) {	/* sleep may briefly hold locale fds */
		cr_assert_not_null(d = opendir(path));
		for (nfd = 0, seen = 0; (de = readdir(d)) != NULL; ) {
			if (de->d_name[0] == '.')
				continue;
			nfd++;
			seen |= 1 << atoi(de->d_name);
		}
		closedir(d);
		if (nfd == 3 && seen == 7)
			break;
		nap(10);
	}
	cr_assert(nfd == 3 && seen == 7, "child has %d fds (mask %#x)", nfd,
	    seen);
	snprintf(path, sizeof path, "/proc/%d/fd/0", (int)proc_pid(p));
	cr_assert_gt(n = readlink(path, buf, sizeof buf - 1), 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "/dev/null");
	cr_assert_not_null(v = status_field(proc_pid(p), "SigBlk"));
	cr_assert_eq(strtoull(v, NULL, 16), 0, "blocked: %s", v);
	free(v);
	cr_assert_not_null(v = status_field(proc_pid(p), "SigIgn"));
	cr_assert_eq(strtoull(v, NULL, 16), 0, "ignored: %s", v);
	free(v);
	proc_stop(p, 0);
	run_until(&r.calls, 1, 10);
	proc_free(p);
	close(leak);
	close(pfd[0]);
	close(pfd[1]);
}

/* With the daemon's fds 0-2 closed, the pipe and stdio land there. */
PTest(proc, closed_stdio, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc_launch l;
	struct proc	*p;
	const char	*argv[] = { "/bin/sh", "-c", "echo out; echo err >&2",
	    NULL };
	const char	*nope[] = { "/bin/nope", NULL };
	const char	*log = tpath("stdio.log");
	char		*cause = NULL, *s;
	int		 saved[3], i;

	for (i = 0; i < 3; i++) {
		cr_assert_geq(saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10), 0);
		close(i);
	}
	memset(&l, 0, sizeof l);
	l.path = (char *)argv[0];
	l.argv = (char **)argv;
	l.log_path = (char *)log;
	p = spawn_launch(&l, &r, &cause);
	l.path = (char *)nope[0];
	l.argv = (char **)nope;
	cr_assert_null(spawn_launch(&l, NULL, &cause));
	cr_assert_str_eq(cause, "exec /bin/nope: No such file or directory");
	free(cause);
	cr_assert_not_null(p);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 0);
	/* Only now: p's pidfd may well have been one of them. */
	for (i = 0; i < 3; i++) {
		dup2(saved[i], i);
		close(saved[i]);
	}
	cr_assert_not_null(s = slurp(log));
	cr_assert_str_eq(s, "out\nerr\n");
	free(s);
	proc_free(p);
}

PTest(proc, hostname_needs_uts, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc_launch l;
	struct utsname	 before, after;
	struct proc	*p;
	const char	*argv[] = { "/bin/true", NULL };
	char		*cause = NULL;

	cr_assert_eq(uname(&before), 0);
	memset(&l, 0, sizeof l);
	l.path = (char *)argv[0];
	l.argv = (char **)argv;
	l.hostname = (char *)"must-not-be-set";
	cr_assert_not_null(p = spawn_launch(&l, &r, &cause), "%s", cause);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 0);
	proc_free(p);
	cr_assert_eq(uname(&after), 0);
	cr_assert_str_eq(after.nodename, before.nodename);
}

PTest(proc, many, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	*r;
	struct proc	*p[200];
	char		 script[32];
	int		 total = 0, i, fds = count_fds();

	cr_assert_not_null(r = calloc(200, sizeof *r));
	for (i = 0; i < 200; i++) {
		r[i].total = &total;
		snprintf(script, sizeof script, "exit %d", i % 7);
		p[i] = spawn_sh(script, &r[i], NULL);
	}
	run_until(&total, 200, 60);
	run_ms(100);
	for (i = 0; i < 200; i++) {
		cr_assert_eq(r[i].calls, 1);
		cr_assert_eq(r[i].status, i % 7);
		proc_free(p[i]);
	}
	free(r);
	cr_assert(no_children(), "zombies left");
	cr_assert_eq(count_fds(), fds, "fds leaked");
	cr_assert_eq(added_events(), base_events);
}

/* Make clone3 fail with ENOSYS for this test process, as seccomp does. */
static void
deny_clone3(void)
{
	struct sock_filter	 filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog	 prog = { 4, filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		cr_skip_test("cannot install a seccomp filter: %s",
		    strerror(errno));
	errno = 0;
	cr_assert_eq(syscall(SYS_clone3, NULL, 0), -1);
	cr_assert_eq(errno, ENOSYS);
}

PTest(proc, clone3_missing, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 }, rp = { 0 };
	struct proc	*p;

	need_pidfd();
	deny_clone3();
	p = spawn_sh("exit 5", &r, NULL);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 5);
	proc_free(p);
	/* clone, unlike fork, still takes the namespace flags. */
	p = spawn_pause(&rp, CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS,
	    "sbx");
	cr_assert(is_ns_init(proc_pid(p)));
	cr_assert_eq(proc_kill(p, SIGTERM), 0);
	run_until(&rp.calls, 1, 10);
	cr_assert_eq(rp.status, 0);
	proc_free(p);
	cr_assert(no_children());
}

/*
 * Adoption and /proc.
 */

PTest(proc, adopt_nonchild, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	uint64_t	 t;
	char		*cause = NULL;
	pid_t		 pid, a;
	int		 wfd;

	pid = grandchild(&wfd, &a);
	cr_assert_eq(proc_read_start_time(pid, &t), 0);
	p = proc_adopt(pid, t, exit_cb, &r, &cause);
	cr_assert_not_null(p, "adopt: %s", cause);
	cr_assert_not(proc_is_child(p));
	cr_assert_eq(proc_pid(p), pid);
	cr_assert_eq(proc_start_time(p), t);
	cr_assert_eq(proc_kill(p, 0), 0);
	close(wfd);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 0, "status %d", r.status);
	cr_assert_eq(added_events(), base_events);
	proc_free(p);
	run_until_gone(a, 5);
	cr_assert(no_children());
}

PTest(proc, adopt_child, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	uint64_t	 t;
	char		*cause = NULL;
	pid_t		 pid;
	int		 wfd;

	pid = fork_child(&wfd, 7);
	cr_assert_eq(proc_read_start_time(pid, &t), 0);
	p = proc_adopt(pid, t, exit_cb, &r, &cause);
	cr_assert_not_null(p, "adopt: %s", cause);
	cr_assert(proc_is_child(p));
	cr_assert_null(proc_adopt(pid, t, exit_cb, &r, &cause));
	free(cause);
	close(wfd);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 7, "status %d", r.status);
	proc_free(p);
	cr_assert(no_children());
}

PTest(proc, adopt_refused, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	uint64_t	 t;
	char		*cause = NULL;
	pid_t		 pid, gone, a;
	int		 wfd, fds = count_fds();

	pid = grandchild(&wfd, &a);
	cr_assert_eq(proc_read_start_time(pid, &t), 0);
	cr_assert_null(proc_adopt(pid, t + 1, exit_cb, &r, &cause));
	cr_assert_not_null(strstr(cause, "pid reused"), "cause: %s", cause);
	free(cause);

	if ((gone = fork()) == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	cause = NULL;
	cr_assert_null(proc_adopt(gone, t, exit_cb, &r, &cause));
	cr_assert_not_null(cause);
	free(cause);
	cause = NULL;
	cr_assert_null(proc_adopt(0, t, exit_cb, &r, &cause));
	free(cause);
	cr_assert_eq(count_fds(), fds + 1, "pidfd leaked");	/* + wfd */

	/* The right start time is accepted; kill it through the proc. */
	p = proc_adopt(pid, t, exit_cb, &r, &cause);
	cr_assert_not_null(p, "adopt: %s", cause);
	cr_assert_eq(proc_kill(p, SIGKILL), 0);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 128 + SIGKILL, "status %d", r.status);
	proc_free(p);
	close(wfd);
	run_until_gone(a, 5);
	cr_assert(no_children());
}

/* Skip unless the kernel keeps exit statuses with pidfds (Linux 6.15). */
static void
need_pidfd_exit_info(void)
{
	struct utsname	u;
	int		major = 0, minor = 0;

	need_pidfd();
	cr_assert_eq(uname(&u), 0);
	if (sscanf(u.release, "%d.%d", &major, &minor) != 2 ||
	    major < 6 || (major == 6 && minor < 15))
		cr_skip_test("Linux %s keeps no exit status with a pidfd "
		    "(PIDFD_INFO_EXIT needs 6.15)", u.release);
}

/* Adopt pid (not our child) with its current start time. */
static struct proc *
adopt_nonchild(pid_t pid, struct exitrec *r)
{
	struct proc	*p;
	uint64_t	 t;
	char		*cause = NULL;

	cr_assert_eq(proc_read_start_time(pid, &t), 0);
	p = proc_adopt(pid, t, exit_cb, r, &cause);
	cr_assert_not_null(p, "adopt: %s", cause);
	cr_assert_not(proc_is_child(p));
	return (p);
}

/*
 * An adopted process that is not our child: the status it exits with, or
 * the signal that kills it (SIGKILL, or a Stop's SIGTERM), is reported,
 * as for a child.
 */
PTest(proc, adopt_nonchild_statuses, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r[3];
	struct proc	*p[3];
	pid_t		 pid[3], a[3];
	int		 wfd[3], i;

	need_pidfd();
	memset(r, 0, sizeof r);
	for (i = 0; i < 3; i++) {
		pid[i] = grandchild_ex(&wfd[i], NULL, &a[i], 42);
		p[i] = adopt_nonchild(pid[i], &r[i]);
	}
	close(wfd[0]);
	wfd[0] = -1;
	cr_assert_eq(proc_kill(p[1], SIGKILL), 0);
	proc_stop(p[2], 10);
	for (i = 0; i < 3; i++)
		run_until(&r[i].calls, 1, 10);
	cr_assert_eq(r[0].status, 42, "exit 42 reported as %d", r[0].status);
	cr_assert_eq(r[1].status, 128 + SIGKILL, "SIGKILL reported as %d",
	    r[1].status);
	cr_assert_eq(r[2].status, 128 + SIGTERM, "SIGTERM reported as %d",
	    r[2].status);
	cr_assert_eq(added_events(), base_events);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(r[i].calls, 1);
		proc_free(p[i]);
		if (wfd[i] != -1)
			close(wfd[i]);
		run_until_gone(a[i], 5);
	}
	cr_assert(no_children());
}

/*
 * The pidfd alone (no /proc): while the zombie is not reaped, nothing is
 * reported; once its parent reaps it, PIDFD_GET_INFO gives the status.
 */
PTest(proc, adopt_status_after_reap, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	pid_t		 pid, a;
	int		 wfd, hfd;

	need_pidfd_exit_info();
	pidinfo_test_disable(PIDINFO_TEST_NO_PROC);
	pid = grandchild_ex(&wfd, &hfd, &a, 42);
	p = adopt_nonchild(pid, &r);
	close(wfd);
	wait_zombie(pid);
	run_ms(300);
	cr_assert_eq(r.calls, 0, "reported before the reap (status %d)",
	    r.status);
	close(hfd);			/* a reaps it now */
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 42, "status %d", r.status);
	cr_assert_eq(added_events(), base_events);
	proc_free(p);
	run_until_gone(a, 5);
	cr_assert(no_children());
}

/* /proc alone (as before Linux 6.15): the zombie's status, at once. */
PTest(proc, adopt_status_of_zombie, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 }, rk = { 0 };
	struct proc	*p, *k;
	pid_t		 pid, kpid, a, ka;
	int		 wfd, hfd, kfd, khfd;

	need_pidfd();
	pidinfo_test_disable(PIDINFO_TEST_NO_IOCTL);
	pid = grandchild_ex(&wfd, &hfd, &a, 42);
	kpid = grandchild_ex(&kfd, &khfd, &ka, 0);
	p = adopt_nonchild(pid, &r);
	k = adopt_nonchild(kpid, &rk);
	close(wfd);
	cr_assert_eq(proc_kill(k, SIGKILL), 0);
	run_until(&r.calls, 1, 10);
	run_until(&rk.calls, 1, 10);
	cr_assert_eq(pstate(pid), 'Z', "told before it was reaped");
	cr_assert_eq(r.status, 42, "status %d", r.status);
	cr_assert_eq(rk.status, 128 + SIGKILL, "status %d", rk.status);
	proc_free(p);
	proc_free(k);
	close(hfd);
	close(khfd);
	close(kfd);
	run_until_gone(a, 5);
	run_until_gone(ka, 5);
	cr_assert(no_children());
}

/*
 * Nothing can tell the status: a kernel without PIDFD_GET_INFO and a
 * process reaped before it was looked at; or a parent that never reaps
 * (after proc_set_reap_wait): 255, and nothing left on the loop.
 */
PTest(proc, adopt_status_unknown, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 }, rz = { 0 };
	struct proc	*p, *z;
	pid_t		 pid, zpid, a, za;
	int		 wfd, zfd, hfd, i;
	double		 t0;

	need_pidfd();
	pidinfo_test_disable(PIDINFO_TEST_NO_IOCTL);
	pid = grandchild(&wfd, &a);
	p = adopt_nonchild(pid, &r);
	close(wfd);
	/* Reaped by a before the loop looks: /proc has nothing to say. */
	for (i = 0; i < 500 && pstate(pid) != 0; i++)
		nap(10);
	cr_assert_eq(pstate(pid), 0, "pid %d never reaped", (int)pid);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, PROC_STATUS_UNKNOWN, "status %d", r.status);
	proc_free(p);
	run_until_gone(a, 5);

	/* A zombie nobody reaps, its status hidden from us: given up. */
	pidinfo_test_disable(PIDINFO_TEST_NO_PROC);
	proc_set_reap_wait(300);
	zpid = grandchild_ex(&zfd, &hfd, &za, 42);
	z = adopt_nonchild(zpid, &rz);
	close(zfd);
	wait_zombie(zpid);
	t0 = now_secs();
	run_until(&rz.calls, 1, 10);
	cr_assert_geq(now_secs() - t0, 0.2, "given up after %.3f s",
	    now_secs() - t0);
	cr_assert_eq(rz.status, PROC_STATUS_UNKNOWN, "status %d", rz.status);
	cr_assert_eq(added_events(), base_events);
	proc_free(z);
	close(hfd);
	run_until_gone(za, 5);
	cr_assert(no_children());
}

/*
 * The real case: a process whose parent died, re-parented to init, which
 * reaps it on its own schedule.  Its status is reported, through /proc
 * or (with /proc left out) through the pidfd after init's reap.
 */
PTest(proc, adopt_orphan_of_init, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	pid_t		 pid, ppid;
	char		 state;
	int		 i, wfd;

	need_pidfd_exit_info();
	for (i = 0; i < 2; i++) {
		memset(&r, 0, sizeof r);
		pidinfo_test_disable(i == 0 ? 0 : PIDINFO_TEST_NO_PROC);
		pid = orphan(&wfd, 42);
		cr_assert_eq(proc_read_parent(pid, &ppid, &state), 0);
		if (ppid != 1)
			cr_skip_test("orphans go to pid %d here, not init",
			    (int)ppid);
		p = adopt_nonchild(pid, &r);
		close(wfd);
		run_until(&r.calls, 1, 20);
		cr_assert_eq(r.status, 42, "round %d: status %d", i, r.status);
		proc_free(p);
	}
	cr_assert(no_children());
}

/* A holder that counts what it is given and let go of. */
struct fake_holder {
	int		holds, drops;
	pid_t		pid;		/* of the last call */
	uint64_t	start_time;
	bool		fd_valid;	/* the last hold's pidfd was open */
};

static int
fake_hold(void *arg, int pidfd, pid_t pid, uint64_t start_time)
{
	struct fake_holder	*h = arg;

	h->holds++;
	h->pid = pid;
	h->start_time = start_time;
	h->fd_valid = fcntl(pidfd, F_GETFD) != -1;
	return (0);
}

static void
fake_drop(void *arg, pid_t pid, uint64_t start_time)
{
	struct fake_holder	*h = arg;

	h->drops++;
	h->pid = pid;
	h->start_time = start_time;
}

/*
 * A holder gets every watched process's pidfd, spawned or adopted, and is
 * told when its exit was seen; a proc freed while its process runs is
 * not let go.
 */
PTest(proc, holder_told, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct fake_holder	 h = { 0 };
	struct proc_holder	 ph = { fake_hold, fake_drop, &h };
	struct exitrec		 r = { 0 }, ra = { 0 };
	struct proc		*p, *a;
	pid_t			 pid, parent;
	int			 wfd;

	need_pidfd();
	proc_set_holder(&ph);
	p = spawn_sh_nowait("exit 3", &r);
	cr_assert_eq(h.holds, 1);
	cr_assert(h.fd_valid);
	cr_assert_eq(h.pid, proc_pid(p));
	cr_assert_eq(h.start_time, proc_start_time(p));
	run_until(&r.calls, 1, 10);
	cr_assert_eq(h.drops, 1, "drops %d", h.drops);
	cr_assert_eq(h.pid, proc_pid(p));
	proc_free(p);

	pid = grandchild(&wfd, &parent);
	a = adopt_nonchild(pid, &ra);
	cr_assert_eq(h.holds, 2);
	cr_assert_eq(h.pid, pid);
	proc_free(a);			/* still running: not let go */
	cr_assert_eq(h.drops, 1);
	close(wfd);
	run_until_gone(parent, 5);
	proc_set_holder(NULL);
	cr_assert(no_children());
}

/*
 * A process that exited and was reaped while no daemon watched it, but
 * whose pidfd a holder kept: adopted from the stash, it reports its real
 * status.  Without the stash it could not be adopted at all.  What no
 * adoption claimed is let go and closed by the flush.
 */
PTest(proc, adopt_from_stash, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct fake_holder	 h = { 0 };
	struct proc_holder	 ph = { fake_hold, fake_drop, &h };
	struct exitrec		 r = { 0 }, rl = { 0 };
	struct proc		*p, *l;
	uint64_t		 t, tl;
	char			*cause = NULL;
	pid_t			 pid, live, a, la;
	int			 wfd, lfd, pidfd, fds;

	need_pidfd_exit_info();
	fds = count_fds();
	pid = grandchild_ex(&wfd, NULL, &a, 42);
	live = grandchild(&lfd, &la);
	cr_assert_eq(proc_read_start_time(pid, &t), 0);
	cr_assert_eq(proc_read_start_time(live, &tl), 0);
	cr_assert_neq(pidfd = (int)syscall(SYS_pidfd_open, pid, 0), -1);
	close(wfd);
	run_until_gone(pid, 5);		/* exited and reaped by a */
	run_until_gone(a, 5);
	cr_assert_null(proc_adopt(pid, t, exit_cb, &r, &cause));
	free(cause);
	cause = NULL;

	proc_set_holder(&ph);
	proc_stash(pid, t, pidfd);
	proc_stash(live, tl + 1, (int)syscall(SYS_pidfd_open, live, 0));
	p = proc_adopt(pid, t, exit_cb, &r, &cause);
	cr_assert_not_null(p, "adopt from the stash: %s", cause);
	cr_assert_eq(h.holds, 0, "a stashed pidfd is still held");
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 42, "status %d", r.status);
	proc_free(p);

	/* Another start time: not this process's pidfd. */
	l = proc_adopt(live, tl, exit_cb, &rl, &cause);
	cr_assert_not_null(l, "adopt: %s", cause);
	cr_assert_eq(h.holds, 1, "opened itself, so held");
	cr_assert_eq(proc_stash_flush(), 1);
	cr_assert_eq(h.pid, live);
	cr_assert_eq(h.start_time, tl + 1);
	cr_assert_eq(proc_stash_flush(), 0);
	proc_free(l);
	close(lfd);
	run_until_gone(la, 5);
	proc_set_holder(NULL);
	cr_assert_eq(count_fds(), fds, "fds leaked");
	cr_assert(no_children());
}

/* Field 22 of /proc/<pid>/stat, knowing comm: a second, plain parser. */
static uint64_t
start_time_of(pid_t pid, const char *comm)
{
	char	 path[64], prefix[64], *s, *tok, *save;
	uint64_t v = 0;
	int	 field;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	snprintf(prefix, sizeof prefix, "%d (%s) ", (int)pid, comm);
	cr_assert_not_null(s = slurp(path));
	cr_assert_eq(strncmp(s, prefix, strlen(prefix)), 0, "stat: %s", s);
	tok = strtok_r(s + strlen(prefix), " ", &save);
	for (field = 3; tok != NULL; field++) {
		if (field == 22) {
			v = strtoull(tok, NULL, 10);
			break;
		}
		tok = strtok_r(NULL, " ", &save);
	}
	free(s);
	cr_assert_eq(field, 22);
	return (v);
}

PTest(proc, read_start_time, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	const char	*comm = "a) b (c 9 9";
	uint64_t	 t, mine;
	char		 self[32], c;
	int		 ctl[2];
	pid_t		 pid;

	cr_assert_eq(prctl(PR_GET_NAME, self), 0);
	cr_assert_eq(proc_read_start_time(getpid(), &mine), 0);
	cr_assert_eq(mine, start_time_of(getpid(), self));

	/* comm with spaces and parens, as a process may name itself. */
	cr_assert_eq(pipe2(ctl, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		prctl(PR_SET_NAME, comm);
		_exit(write(ctl[1], "x", 1) == 1 ? (pause(), 0) : 1);
	}
	close(ctl[1]);
	cr_assert_eq(read(ctl[0], &c, 1), 1);
	close(ctl[0]);
	cr_assert_eq(proc_read_start_time(pid, &t), 0);
	cr_assert_eq(t, start_time_of(pid, comm));
	cr_assert_geq(t, mine);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_eq(proc_read_start_time(pid, &t), -1);
}

PTest(proc, read_usage, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc_usage u;
	struct proc	*p;
	const char	*log = tpath("usage.log");
	int		 i;

	p = spawn_sh("i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; "
	    "echo ready; sleep 30 & wait $!", &r, log);
	wait_file(log, "ready", 20);
	for (i = 0; i < 200; i++) {
		cr_assert_eq(proc_read_usage(proc_pid(p), &u), 0);
		if (u.pids >= 2)
			break;
		nap(10);
	}
	cr_assert_geq(u.pids, 2, "pids %u", u.pids);
	cr_assert_gt(u.rss_bytes, 0);
	cr_assert_gt(u.cpu_user_ns + u.cpu_system_ns, 0);
	/* The sleep first: sh, its parent, reaps it and exits 137. */
	kill_children(proc_pid(p));
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 137);
	cr_assert(no_children());
	cr_assert_eq(proc_read_usage(proc_pid(p), &u), -1);
	proc_free(p);
}

/*
 * The SIGCHLD fallback (no pidfds).
 */

PTest(proc_fallback, coalesced, .init = setup_fallback, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r[20];
	struct proc	*p[20];
	char		 script[32];
	int		 total = 0, i;

	cr_assert_not(proc_have_pidfd());
	memset(r, 0, sizeof r);
	for (i = 0; i < 20; i++) {
		r[i].total = &total;
		snprintf(script, sizeof script, "exit %d", 10 + i);
		p[i] = spawn_sh_nowait(script, &r[i]);
	}
	/* All exit while the loop is not looking: one pending SIGCHLD. */
	for (i = 0; i < 20; i++)
		wait_zombie(proc_pid(p[i]));
	run_until(&total, 20, 10);
	run_ms(100);
	for (i = 0; i < 20; i++) {
		cr_assert_eq(r[i].calls, 1);
		cr_assert_eq(r[i].status, 10 + i);
		proc_free(p[i]);
	}
	cr_assert(no_children());
	run_until_idle(5);		/* the stack pool's trim, after 1 s */
}

PTest(proc_fallback, stop, .init = setup_fallback, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r1 = { 0 }, r2 = { 0 };
	struct proc	*p1, *p2;
	double		 t0, dt;

	p1 = spawn_stubborn(&r1);
	p2 = spawn_sleep(&r2);
	t0 = now_secs();
	proc_stop(p1, 1);
	proc_stop(p2, 5);
	run_until(&r2.calls, 1, 10);
	cr_assert_eq(r2.status, 143);
	run_until(&r1.calls, 1, 10);
	dt = now_secs() - t0;
	cr_assert_eq(r1.status, 137);
	cr_assert_geq(dt, 0.9, "killed after %.2f s", dt);
	errno = 0;
	cr_assert_eq(proc_kill(p1, SIGKILL), -1);
	cr_assert_eq(errno, ESRCH);
	cr_assert_eq(added_events(), base_events);
	proc_free(p1);
	proc_free(p2);
}

PTest(proc_fallback, adopt, .init = setup_fallback, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 }, rc = { 0 };
	struct proc	*p, *c;
	uint64_t	 t;
	char		*cause = NULL;
	pid_t		 pid, a;
	int		 wfd, cfd, hfd, i;

	pid = grandchild(&wfd, &a);
	cr_assert_eq(proc_read_start_time(pid, &t), 0);
	cr_assert_null(proc_adopt(pid, t + 1, exit_cb, &r, &cause));
	free(cause);
	p = proc_adopt(pid, t, exit_cb, &r, &cause);
	cr_assert_not_null(p, "adopt: %s", cause);
	cr_assert_not(proc_is_child(p));
	cr_assert_eq(proc_kill(p, 0), 0);
	close(wfd);
	/* Reaped by a before the poll looks: nothing to read. */
	for (i = 0; i < 500 && pstate(pid) != 0; i++)
		nap(10);
	cr_assert_eq(pstate(pid), 0, "pid %d never reaped", (int)pid);
	run_until(&r.calls, 1, 5);	/* polled once a second */
	cr_assert_eq(r.status, PROC_STATUS_UNKNOWN);
	proc_free(p);
	run_until_gone(a, 5);

	/* A zombie the poll finds still tells its status through /proc. */
	memset(&r, 0, sizeof r);
	pid = grandchild_ex(&wfd, &hfd, &a, 42);
	cr_assert_eq(proc_read_start_time(pid, &t), 0);
	p = proc_adopt(pid, t, exit_cb, &r, &cause);
	cr_assert_not_null(p, "adopt: %s", cause);
	close(wfd);
	wait_zombie(pid);
	run_until(&r.calls, 1, 5);
	cr_assert_eq(r.status, 42, "status %d", r.status);
	proc_free(p);
	close(hfd);
	run_until_gone(a, 5);

	pid = fork_child(&cfd, 9);
	cr_assert_eq(proc_read_start_time(pid, &t), 0);
	c = proc_adopt(pid, t, exit_cb, &rc, &cause);
	cr_assert_not_null(c, "adopt: %s", cause);
	cr_assert(proc_is_child(c));
	close(cfd);
	run_until(&rc.calls, 1, 10);
	cr_assert_eq(rc.status, 9, "status %d", rc.status);
	proc_free(c);
	cr_assert_eq(added_events(), base_events);
	cr_assert(no_children());
}

PTest(proc_fallback, free_running, .init = setup_fallback, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	pid_t		 pid;

	p = spawn_sleep(&r);
	pid = proc_pid(p);
	proc_free(p);
	cr_assert_eq(kill(pid, 0), 0, "proc_free must not kill");
	kill(pid, SIGKILL);
	run_until_gone(pid, 5);
	cr_assert_eq(r.calls, 0);
	cr_assert(no_children());
}

PTest(proc_fallback, namespaces, .init = setup_fallback, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;

	p = spawn_pause(&r, CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS, "fb");
	cr_assert(is_ns_init(proc_pid(p)));
	cr_assert_eq(proc_kill(p, SIGTERM), 0);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 0);
	proc_free(p);
}

/*
 * The pause program.
 */

/* Is the hostname in pid's UTS namespace want?  Checked by a child. */
static bool
ns_hostname_is(pid_t pid, const char *want)
{
	struct utsname	u;
	char		path[64];
	pid_t		c;
	int		fd, st;

	snprintf(path, sizeof path, "/proc/%d/ns/uts", (int)pid);
	if ((c = fork()) == 0) {
		if ((fd = open(path, O_RDONLY)) == -1 ||
		    setns(fd, CLONE_NEWUTS) == -1 || uname(&u) == -1)
			_exit(2);
		_exit(strcmp(u.nodename, want) == 0 ? 0 : 1);
	}
	cr_assert_eq(waitpid(c, &st, 0), c);
	return (WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Do two processes share the namespace of this kind? */
static bool
same_ns(pid_t a, pid_t b, const char *kind)
{
	char	pa[64], pb[64], la[64], lb[64];
	ssize_t	na, nb;

	snprintf(pa, sizeof pa, "/proc/%d/ns/%s", (int)a, kind);
	snprintf(pb, sizeof pb, "/proc/%d/ns/%s", (int)b, kind);
	cr_assert_gt(na = readlink(pa, la, sizeof la - 1), 0);
	cr_assert_gt(nb = readlink(pb, lb, sizeof lb - 1), 0);
	la[na] = lb[nb] = '\0';
	return (strcmp(la, lb) == 0);
}

PTest(pause, pid1_hostname_sigterm, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct utsname	 before, after;
	struct proc	*p;
	pid_t		 pid;

	cr_assert_eq(uname(&before), 0);
	p = spawn_pause(&r, CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS,
	    "sbx-test");
	pid = proc_pid(p);
	cr_assert(is_ns_init(pid));
	cr_assert_not(same_ns(pid, getpid(), "ipc"));
	cr_assert_not(same_ns(pid, getpid(), "uts"));
	cr_assert(ns_hostname_is(pid, "sbx-test"));
	cr_assert_eq(uname(&after), 0);
	cr_assert_str_eq(after.nodename, before.nodename);
	/* Idle: signals it does not wait for are dropped for PID 1. */
	run_ms(200);
	cr_assert_eq(r.calls, 0);
	cr_assert_eq(proc_kill(p, SIGTERM), 0);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 0);
	proc_free(p);
}

PTest(pause, sigint_and_sigkill, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct proc	*p1, *p2, *p3;

	p1 = spawn_pause(&r1, CLONE_NEWPID, NULL);
	cr_assert_eq(proc_kill(p1, SIGINT), 0);
	run_until(&r1.calls, 1, 10);
	cr_assert_eq(r1.status, 0);
	p2 = spawn_pause(&r2, CLONE_NEWPID, NULL);
	proc_stop(p2, 0);
	run_until(&r2.calls, 1, 10);
	cr_assert_eq(r2.status, 137);
	p3 = spawn_pause(&r3, 0, NULL);		/* not PID 1 */
	proc_stop(p3, 10);
	run_until(&r3.calls, 1, 10);
	cr_assert_eq(r3.status, 0);
	proc_free(p1);
	proc_free(p2);
	proc_free(p3);
}

/* The first child of pid (pid in our namespace), or 0. */
static pid_t
first_child(pid_t pid)
{
	char	 path[64], *s;
	pid_t	 c = 0;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if ((s = slurp(path)) == NULL)
		cr_skip_test("no %s (CONFIG_PROC_CHILDREN)", path);
	c = (pid_t)atol(s);
	free(s);
	return (c);
}

PTest(pause, reaps_orphans, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	char		 path[64];
	int		 fd, i;
	pid_t		 pid, a, b, c;

	p = spawn_pause(&r, CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS, NULL);
	pid = proc_pid(p);
	/*
	 * a joins the namespace for its children; its child b, inside, forks
	 * c and exits: c is orphaned inside the namespace, so it goes to the
	 * namespace's init (an orphan goes to the reaper of its dying
	 * parent's namespace).
	 */
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
	if ((a = fork()) == 0) {
		if ((fd = open(path, O_RDONLY)) == -1 ||
		    setns(fd, CLONE_NEWPID) == -1)
			_exit(1);
		if ((b = fork()) == 0) {
			if (fork() == 0) {
				nap(1000);
				_exit(0);
			}
			_exit(0);
		}
		_exit(b > 0 && waitpid(b, NULL, 0) == b ? 0 : 1);
	}
	cr_assert_eq(waitpid(a, NULL, 0), a);
	c = first_child(pid);
	cr_assert_gt(c, 0, "pause did not inherit the orphan");
	cr_assert_neq(pstate(c), 'Z');
	for (i = 0; i < 500 && pstate(c) != 0; i++)
		nap(10);
	cr_assert_eq(pstate(c), 0, "orphan not reaped (state %c)", pstate(c));
	cr_assert_eq(proc_kill(p, SIGTERM), 0);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 0);
	proc_free(p);
}

/* Run the pause program with one argument; its status, output in log. */
static int
pause_with(const char *arg, const char *log)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	const char	*argv[] = { pause_bin(), arg, NULL };

	p = spawn_argv(argv, &r, log);
	run_until(&r.calls, 1, 10);
	proc_free(p);
	return (r.status);
}

PTest(pause, options, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT)
{
	char	*s;

	cr_assert_eq(pause_with("--version", tpath("v")), 0);
	cr_assert_not_null(s = slurp(tpath("v")));
	cr_assert_eq(strncmp(s, "sandboxd-pause ", 15), 0, "got: %s", s);
	free(s);
	cr_assert_eq(pause_with("--help", tpath("h")), 0);
	cr_assert_not_null(s = slurp(tpath("h")));
	cr_assert_not_null(strstr(s, "usage: sandboxd-pause"), "got: %s", s);
	free(s);
	cr_assert_eq(pause_with("--bogus", tpath("b")), 2);
	cr_assert_not_null(s = slurp(tpath("b")));
	cr_assert_not_null(strstr(s, "usage:"), "got: %s", s);
	free(s);
}

/*
 * The clone (proc_clone.c): in our memory, on a stack of the child's own;
 * or, as the fallback, a copy of us.  Each way must hold, report and run
 * children alike.
 */

/* 1 if pid shares our memory, 0 if not; skip where kcmp cannot tell. */
static int
shares_our_vm(pid_t pid)
{
	long	rv = syscall(SYS_kcmp, getpid(), pid, KCMP_VM, 0, 0);

	if (rv == -1)
		cr_skip_test("kcmp: %s", strerror(errno));
	return (rv == 0);
}


/* A held child, in our memory or a copy: held, then run once released. */
static void
held_then_run(bool in_our_vm)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	const char	*ran = tpath("ran");
	pid_t		 ppid;
	char		 state;

	p = spawn_held("echo ran > \"$0\"", ran, &r);
	cr_assert_eq(shares_our_vm(proc_pid(p)), in_our_vm);
	cr_assert_eq(proc_read_parent(proc_pid(p), &ppid, &state), 0);
	cr_assert_eq(ppid, getpid(), "the clone is not our child");
	cr_assert(proc_is_child(p));
	run_ms(200);
	cr_assert_eq(access(ran, F_OK), -1, "a held child ran its program");
	proc_release_held();
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 0);
	cr_assert(r.ready_seq < r.exit_seq);
	cr_assert_eq(access(ran, F_OK), 0, "the released child did not run");
	proc_free(p);
	cr_assert(no_children());
	cr_assert_eq(added_events(), base_events);
}

PTest(clone, held_in_our_memory, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	held_then_run(true);
}

PTest(clone, fork_fallback, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct proc_launch	 l = { 0 };
	const char		*argv[] = { "/bin/nope", NULL };
	struct exitrec		 r = { 0 };
	struct proc		*p;

	proc_force_fork_clone(true);
	held_then_run(false);
	l.path = (char *)argv[0];
	l.argv = (char **)argv;
	spawn_fails(&l, "exec /bin/nope: No such file or directory");
	p = spawn_pause(&r, CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS,
	    "forked");
	cr_assert(is_ns_init(proc_pid(p)));
	cr_assert(ns_hostname_is(proc_pid(p), "forked"));
	cr_assert_eq(proc_kill(p, SIGTERM), 0);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 0);
	proc_free(p);
	proc_force_fork_clone(false);
	cr_assert(no_children());
}

/* Namespaces and a hostname, with the child in our memory. */
PTest(clone, namespaces_and_hostname, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;

	p = spawn_pause(&r, CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS,
	    "spawned");
	cr_assert(is_ns_init(proc_pid(p)));
	cr_assert(ns_hostname_is(proc_pid(p), "spawned"));
	cr_assert_eq(proc_kill(p, SIGTERM), 0);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 0);
	proc_free(p);
	cr_assert(no_children());
}

static volatile sig_atomic_t	usr1_seen;

static void
usr1_handler(__attribute__((unused)) int sig)
{
	usr1_seen = 1;
}

/*
 * Our handlers are not the held child's: a signal does to it what it
 * does to a fresh process (SIGUSR1 kills), and never runs our handler
 * in our memory.
 */
PTest(clone, our_handlers_not_run, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct sigaction	 sa, old;
	struct exitrec		 r = { 0 };
	struct proc		*p;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = usr1_handler;
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR1, &sa, &old), 0);
	usr1_seen = 0;
	p = spawn_held("exit 0", "x", &r);
	cr_assert_eq(proc_kill(p, SIGUSR1), 0);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 128 + SIGUSR1);
	cr_assert_eq(usr1_seen, 0, "our handler ran for the child's signal");
	proc_release_held();
	proc_free(p);
	sigaction(SIGUSR1, &old, NULL);
	cr_assert(no_children());
}

/*
 * Freed while held: the child may still run on its stack, so the stack
 * stays mapped until the child is gone, then goes.
 */
PTest(clone, abandoned_stack_unmapped, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r = { 0 };
	struct proc	*p;
	pid_t		 pid;

	cr_assert_eq(proc_stack_count(), 0);
	p = spawn_held("exit 0", "x", &r);
	pid = proc_pid(p);
	cr_assert_eq(proc_stack_count(), 1, "no stack mapped for the child");
	proc_free(p);
	cr_assert_eq(proc_stack_count(), 1, "unmapped under a live child");
	run_until_gone(pid, 5);
	run_until_idle(5);
	cr_assert_eq(proc_stack_count(), 0, "the child's stack is still mapped");
	cr_assert_eq(r.calls, 0);
	cr_assert(no_children());
}

/* The child's copy of a launch: big arguments and environment intact. */
PTest(clone, big_launch_copied, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	const char		*argv[] = { "/bin/sh", "-c",
				    "test \"${#BIG}\" -eq 120000 && "
				    "test \"${#1}\" -eq 100000 && exit 3",
				    "x", NULL, NULL };
	const char		*envp[] = { NULL, NULL };
	struct proc_launch	 l = { 0 };
	struct exitrec		 r = { 0 };
	struct proc		*p;
	char			*big, *arg, *cause = NULL;

	/* Each string below MAX_ARG_STRLEN (128 KiB), both above a page. */
	cr_assert_not_null(big = malloc(120000 + 5));
	memcpy(big, "BIG=", 4);
	memset(big + 4, 'b', 120000);
	big[120004] = '\0';
	cr_assert_not_null(arg = malloc(100000 + 1));
	memset(arg, 'a', 100000);
	arg[100000] = '\0';
	argv[4] = arg;
	envp[0] = big;
	l.path = (char *)argv[0];
	l.argv = (char **)argv;
	l.envp = (char **)envp;
	l.hold = true;
	cr_assert_not_null(p = spawn_launch(&l, &r, &cause), "%s", cause);
	/* Ours to free at once: the child has its own copy. */
	memset(big + 4, 'x', 10);
	free(big);
	free(arg);
	proc_release_held();
	run_until(&r.calls, 1, 10);
	cr_assert_null(ready_error, "%s", ready_error);
	cr_assert_eq(r.status, 3);
	proc_free(p);
	cr_assert(no_children());
}

/* Sysctls are written in the new netns; a malformed one is refused. */
PTest(clone, sysctls, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	const char		*argv[] = { "/bin/sh", "-c",
				    "exit $(cat /proc/sys/net/ipv4/ip_forward)",
				    NULL };
	const char		*good[] = { "net/ipv4/ip_forward=1", NULL };
	const char		*bad[] = { "net/ipv4/ip_forward", NULL };
	struct proc_launch	 l = { 0 };
	struct exitrec		 r = { 0 };
	struct proc		*p;
	char			*cause = NULL;

	if (geteuid() != 0)
		cr_skip_test("network namespaces need root");
	l.path = (char *)argv[0];
	l.argv = (char **)argv;
	l.clone_flags = CLONE_NEWNET;
	l.sysctls = (char **)good;
	cr_assert_not_null(p = spawn_launch(&l, &r, &cause), "%s", cause);
	run_until(&r.calls, 1, 10);
	cr_assert_eq(r.status, 1, "ip_forward was not set in the netns");
	proc_free(p);
	l.sysctls = (char **)bad;
	spawn_fails(&l, "setting the sandbox's sysctls: Invalid argument");
	cr_assert(no_children());
}

/*
 * A burst's stacks are kept for the next spawns, then given back after a
 * quiet second: the trim timer is pending once more than a few are
 * pooled, and gone once it has run.
 */
PTest(clone, pool_trimmed_when_idle, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct exitrec	 r[12];
	struct proc	*p[12];
	int		 total = 0, i;

	memset(r, 0, sizeof r);
	for (i = 0; i < 12; i++) {
		p[i] = spawn_held("exit 0", "x", &r[i]);
		r[i].total = &total;
	}
	cr_assert_eq(proc_stack_count(), 12);
	proc_release_held();
	run_until(&total, 12, 10);
	cr_assert_eq(proc_stack_count(), 0);
	for (i = 0; i < 12; i++)
		proc_free(p[i]);
	cr_assert_eq(added_events(), base_events + 1, "no trim pending");
	run_until_idle(5);
	cr_assert(no_children());
}
