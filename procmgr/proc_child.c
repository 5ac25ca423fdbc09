/*
 * proc_child.c: the child's side of a spawn, between clone and exec.  Run
 * in a clone of the daemon or of the spawner helper (spawner.c).  The
 * cloning process is single-threaded, so any libc call would be safe,
 * but none here allocates: only syscalls and async-signal-safe functions.
 * A failed step is written to the error pipe as a proc_child_err.
 */
#include <sys/resource.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "procint.h"
#include "procmgr.h"

/* Report the failed step to the parent and die. */
static void __attribute__((__noreturn__))
proc_child_fail(int errfd, enum proc_step step, int err)
{
	struct proc_child_err	ce = { (int)step, err };
	ssize_t			n;

	n = write(errfd, &ce, sizeof ce);
	(void)n;
	_exit(127);
}

/*
 * Default dispositions and an empty mask, as a fresh process expects.
 * Done first, so that a Stop's SIGTERM during the hold does what it would
 * do to the program (the daemon's own handlers are copied by the clone).
 */
static int
proc_child_signals(int clone_flags)
{
	struct sigaction	sa;
	sigset_t		set;
	int			sig;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);	/* EINVAL: libc's own */
	}
	sigemptyset(&set);
	/*
	 * The init of a new PID namespace drops signals it neither handles
	 * nor blocks.  Until it sets up its own handling after exec, a Stop's
	 * SIGTERM would be lost; blocked, it stays pending instead (the mask
	 * survives exec, and pause waits on exactly these).
	 */
	if (clone_flags & CLONE_NEWPID) {
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGCHLD);
	}
	return (sigprocmask(SIG_SETMASK, &set, NULL));
}

/* Join the network namespace at path. */
static int
proc_child_netns(const char *path)
{
	int	fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	rv = setns(fd, CLONE_NEWNET);
	close(fd);
	return (rv);
}

/*
 * Write "path=value" to /proc/sys/path.  Net sysctls are the ones of the
 * network namespace the writer is in when it opens the file, ipc ones of
 * its ipc namespace: so this runs after the netns is joined.  No malloc.
 */
static int
proc_child_sysctl(const char *assignment)
{
	char		 path[PATH_MAX];
	const char	*eq = strchr(assignment, '=');
	size_t		 plen = sizeof "/proc/sys/" - 1, klen, vlen;
	ssize_t		 n;
	int		 fd;

	if (eq == NULL || (klen = (size_t)(eq - assignment)) == 0 ||
	    plen + klen >= sizeof path) {
		errno = EINVAL;
		return (-1);
	}
	memcpy(path, "/proc/sys/", plen);
	memcpy(path + plen, assignment, klen);
	path[plen + klen] = '\0';
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return (-1);
	vlen = strlen(eq + 1);
	n = write(fd, eq + 1, vlen);
	close(fd);
	if (n == (ssize_t)vlen)
		return (0);
	if (n >= 0)
		errno = EIO;
	return (-1);
}

/* Open path onto the fds [lo, hi]; the opened fd itself is not kept. */
static int
proc_child_dup(const char *path, int flags, int lo, int hi)
{
	int	fd, i;

	if ((fd = open(path, flags | O_NOCTTY, 0640)) == -1)
		return (-1);
	for (i = lo; i <= hi; i++) {
		if (fd != i && dup2(fd, i) == -1)
			return (-1);
	}
	if (fd > hi)
		close(fd);
	return (0);
}

/* Close fds lo..hi; a loop where close_range is missing (< 5.9). */
static int
proc_child_close_range(unsigned int lo, unsigned int hi)
{
	struct rlimit	rl;
	unsigned int	fd;

	if (lo > hi || syscall(SYS_close_range, lo, hi, 0) == 0)
		return (0);
	if (errno != ENOSYS || getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return (-1);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= hi)
		hi = rl.rlim_cur == 0 ? 0 : (unsigned int)rl.rlim_cur - 1;
	if (hi > INT_MAX)
		hi = INT_MAX;
	for (fd = lo; fd <= hi && fd >= lo; fd++)
		close((int)fd);
	return (0);
}

/*
 * Close every fd above 2 but keep_a and keep_b (both above 2; keep_b may
 * be -1).  Done before the hold: a held child must not keep other
 * children's pipes open, or their EOFs would wait for it.  The helpers
 * (helper.c) do it too, for the same reason.
 */
int
proc_child_close_fds(int keep_a, int keep_b)
{
	unsigned int	lo, hi;

	if (keep_b == -1)
		keep_b = keep_a;
	lo = (unsigned int)(keep_a < keep_b ? keep_a : keep_b);
	hi = (unsigned int)(keep_a < keep_b ? keep_b : keep_a);
	if (proc_child_close_range(3, lo - 1) == -1 ||
	    (hi > lo && proc_child_close_range(lo + 1, hi - 1) == -1) ||
	    proc_child_close_range(hi + 1, ~0U) == -1)
		return (-1);
	return (0);
}

/*
 * Wait for the parent's go.  EOF means it died, or gave up on us, before
 * our pid was on disk: leave without a trace (nobody is told).
 */
static void
proc_child_hold(int gatefd)
{
	ssize_t	n;
	char	c;

	do
		n = read(gatefd, &c, 1);
	while (n == -1 && errno == EINTR);
	if (n != 1)
		_exit(126);
	close(gatefd);
}

/* Do everything between the hold and exec; 0, or the step that failed. */
static int
proc_child_setup(const struct proc_launch *l)
{
	const char	*out = l->log_path != NULL ? l->log_path : "/dev/null";
	size_t		 i;

	if (setsid() == -1)
		return (PROC_STEP_SETSID);
	if (l->netns_path != NULL && proc_child_netns(l->netns_path) == -1)
		return (PROC_STEP_NETNS);
	if (l->hostname != NULL && (l->clone_flags & CLONE_NEWUTS) &&
	    sethostname(l->hostname, strlen(l->hostname)) == -1)
		return (PROC_STEP_HOSTNAME);
	for (i = 0; l->sysctls != NULL && l->sysctls[i] != NULL; i++) {
		if (proc_child_sysctl(l->sysctls[i]) == -1)
			return (PROC_STEP_SYSCTL);
	}
	if (proc_child_dup("/dev/null", O_RDONLY, 0, 0) == -1)
		return (PROC_STEP_STDIN);
	/* O_RDWR: on the log FIFO (proc_log.c), a reader always exists. */
	if (proc_child_dup(out, O_RDWR | O_APPEND | O_CREAT, 1, 2) == -1)
		return (PROC_STEP_LOG);
	if (chdir(l->cwd != NULL ? l->cwd : "/") == -1)
		return (PROC_STEP_CHDIR);
	return (0);
}

/*
 * The child: set up, wait if held, exec, or tell the parent why not.
 * Also run in children of the spawner helper (spawner.c).
 */
void
proc_child(const struct proc_launch *l, int errfd, int gatefd)
{
	char	*noenv[] = { NULL };
	char	*argv0[] = { l->path, NULL };
	int	 step;

	if (proc_child_signals(l->clone_flags) == -1)
		proc_child_fail(errfd, PROC_STEP_SIGNALS, errno);
	if (proc_child_close_fds(errfd, gatefd) == -1)
		proc_child_fail(errfd, PROC_STEP_CLOSEFDS, errno);
	if (gatefd != -1)
		proc_child_hold(gatefd);
	if ((step = proc_child_setup(l)) != 0)
		proc_child_fail(errfd, step, errno);
	execve(l->path, l->argv != NULL ? l->argv : argv0,
	    l->envp != NULL ? l->envp : noenv);
	proc_child_fail(errfd, PROC_STEP_EXEC, errno);
}
