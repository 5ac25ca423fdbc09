/*
 * proc_child.c: the child's side of a spawn, between clone and exec.
 *
 * The child usually runs on a small stack of its own inside the daemon's
 * memory (proc_clone.c): the daemon goes on meanwhile, so the child calls
 * no libc function at all, only the raw system calls of proc_sys.h, and
 * reads nothing but its proc_image, which the daemon leaves alone until
 * the child has exec'd or died.  Every string and length it needs was
 * prepared in the image beforehand, so nothing here copies or measures.
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
#include "proc_sys.h"

/* What the kernel's rt_sigaction takes: all zero is SIG_DFL. */
struct proc_ksigaction {
	unsigned long	handler;
	unsigned long	flags;
	unsigned long	restorer;
	unsigned long	mask;
};

#define PROC_NSIG	64		/* the kernel's _NSIG */
#define PROC_SIGSETSZ	8		/* its sigset_t, in bytes */

/* Report the failed step (err is -errno) to the parent and die. */
static PROC_CHILD_CODE __attribute__((__noreturn__)) void
proc_child_fail(int errfd, enum proc_step step, long err)
{
	struct proc_child_err	ce;

	ce.step = (int)step;
	ce.err = (int)-err;
	PROC_SYS(SYS_write, errfd, &ce, sizeof ce, 0);
	for (;;)
		PROC_SYS(SYS_exit_group, 127, 0, 0, 0);
}

/*
 * Default dispositions and the child's mask, as a fresh process expects.
 * Done first, so that a Stop's SIGTERM during the hold does what it would
 * do to the program: the daemon's handlers, copied by the clone, would
 * run in the daemon's memory.  The daemon blocked every signal around
 * the clone, so none has been handled yet.
 */
static PROC_CHILD_CODE long
proc_child_signals(int clone_flags)
{
	struct proc_ksigaction	sa = { 0, 0, 0, 0 };
	unsigned long		mask = 0;
	long			sig;

	for (sig = 1; sig <= PROC_NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			PROC_SYS(SYS_rt_sigaction, sig, &sa, 0, PROC_SIGSETSZ);
	}
	/*
	 * The init of a new PID namespace drops signals it neither handles
	 * nor blocks.  Until it sets up its own handling after exec, a Stop's
	 * SIGTERM would be lost; blocked, it stays pending instead (the mask
	 * survives exec, and pause waits on exactly these).
	 */
	if (clone_flags & CLONE_NEWPID)
		mask = 1UL << (SIGTERM - 1) | 1UL << (SIGINT - 1) |
		    1UL << (SIGCHLD - 1);
	return (PROC_SYS(SYS_rt_sigprocmask, SIG_SETMASK, &mask, 0,
	    PROC_SIGSETSZ));
}

/* Join the network namespace at path. */
static PROC_CHILD_CODE long
proc_child_netns(const char *path)
{
	long	fd, rv;

	if ((fd = PROC_SYS(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC,
	    0)) < 0)
		return (fd);
	rv = PROC_SYS(SYS_setns, fd, CLONE_NEWNET, 0, 0);
	PROC_SYS(SYS_close, fd, 0, 0, 0);
	return (rv);
}

/*
 * Write a sysctl's value to its file.  Net sysctls are the ones of the
 * network namespace the writer is in when it opens the file, ipc ones of
 * its ipc namespace: so this runs after the netns is joined.
 */
static PROC_CHILD_CODE long
proc_child_sysctl(const char *path, const char *value, size_t len)
{
	long	fd, n;

	if (path == NULL)		/* no "key=" (proc_clone.c) */
		return (-EINVAL);
	if ((fd = PROC_SYS(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC,
	    0)) < 0)
		return (fd);
	n = PROC_SYS(SYS_write, fd, value, len, 0);
	PROC_SYS(SYS_close, fd, 0, 0, 0);
	if (n < 0)
		return (n);
	return (n == (long)len ? 0 : -EIO);
}

/* Open path onto the fds [lo, hi]; the opened fd itself is not kept. */
static PROC_CHILD_CODE long
proc_child_dup(const char *path, int flags, int lo, int hi)
{
	long	fd, rv;
	int	i;

	if ((fd = PROC_SYS(SYS_openat, AT_FDCWD, path, flags | O_NOCTTY,
	    0640)) < 0)
		return (fd);
	for (i = lo; i <= hi; i++) {
		if (fd != i && (rv = PROC_SYS(SYS_dup3, fd, i, 0, 0)) < 0)
			return (rv);
	}
	if (fd > hi)
		PROC_SYS(SYS_close, fd, 0, 0, 0);
	return (0);
}

/* Close fds lo..hi; a loop where close_range is missing (< 5.9). */
static PROC_CHILD_CODE long
proc_child_close_range(unsigned int lo, unsigned int hi)
{
	struct rlimit	rl;
	unsigned int	fd;
	long		rv;

	if (lo > hi || (rv = PROC_SYS(SYS_close_range, lo, hi, 0, 0)) == 0)
		return (0);
	if (rv != -ENOSYS)
		return (rv);
	if ((rv = PROC_SYS(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, &rl)) < 0)
		return (rv);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= hi)
		hi = rl.rlim_cur == 0 ? 0 : (unsigned int)rl.rlim_cur - 1;
	if (hi > INT_MAX)
		hi = INT_MAX;
	for (fd = lo; fd <= hi && fd >= lo; fd++)
		PROC_SYS(SYS_close, fd, 0, 0, 0);
	return (0);
}

/* Close every fd above 2 but keep_a and keep_b; 0 or -errno. */
static PROC_CHILD_CODE long
proc_child_keep_fds(int keep_a, int keep_b)
{
	unsigned int	lo, hi;
	long		rv;

	if (keep_b == -1)
		keep_b = keep_a;
	lo = (unsigned int)(keep_a < keep_b ? keep_a : keep_b);
	hi = (unsigned int)(keep_a < keep_b ? keep_b : keep_a);
	if ((rv = proc_child_close_range(3, lo - 1)) < 0 ||
	    (hi > lo && (rv = proc_child_close_range(lo + 1, hi - 1)) < 0))
		return (rv);
	return (proc_child_close_range(hi + 1, ~0U));
}

/*
 * Close every fd above 2 but keep_a and keep_b (both above 2; keep_b may
 * be -1).  The spawn's child does it before the hold: a held child must
 * not keep other children's pipes open, or their EOFs would wait for it.
 * The helpers (helper.c) do it too, for the same reason.  -1 with errno.
 */
int
proc_child_close_fds(int keep_a, int keep_b)
{
	long	rv;

	if ((rv = proc_child_keep_fds(keep_a, keep_b)) == 0)
		return (0);
	errno = (int)-rv;
	return (-1);
}

/*
 * Wait for the parent's go.  EOF means it died, or gave up on us, before
 * our pid was on disk: leave without a trace (nobody is told).
 */
static PROC_CHILD_CODE void
proc_child_hold(int gatefd)
{
	long	n;
	char	c;

	do
		n = PROC_SYS(SYS_read, gatefd, &c, 1, 0);
	while (n == -EINTR);
	if (n != 1)
		for (;;)
			PROC_SYS(SYS_exit_group, 126, 0, 0, 0);
	PROC_SYS(SYS_close, gatefd, 0, 0, 0);
}

/* The sandbox's settings: sysctls, stdio, cwd; 0 or the failed step. */
static PROC_CHILD_CODE int
proc_child_files(const struct proc_image *im, long *err)
{
	size_t	i;

	for (i = 0; i < im->nsysctls; i++) {
		if ((*err = proc_child_sysctl(im->sysctl_path[i],
		    im->sysctl_value[i], im->sysctl_len[i])) < 0)
			return (PROC_STEP_SYSCTL);
	}
	if ((*err = proc_child_dup("/dev/null", O_RDONLY, 0, 0)) < 0)
		return (PROC_STEP_STDIN);
	/* O_RDWR: on the log FIFO (proc_log.c), a reader always exists. */
	if ((*err = proc_child_dup(im->out, O_RDWR | O_APPEND | O_CREAT, 1,
	    2)) < 0)
		return (PROC_STEP_LOG);
	if ((*err = PROC_SYS(SYS_chdir, im->cwd, 0, 0, 0)) < 0)
		return (PROC_STEP_CHDIR);
	return (0);
}

/* Do everything between the hold and exec; 0, or the step that failed. */
static PROC_CHILD_CODE int
proc_child_setup(const struct proc_image *im, long *err)
{
	if ((*err = PROC_SYS(SYS_setsid, 0, 0, 0, 0)) < 0)
		return (PROC_STEP_SETSID);
	if (im->netns_path != NULL &&
	    (*err = proc_child_netns(im->netns_path)) < 0)
		return (PROC_STEP_NETNS);
	if (im->hostname != NULL && (im->clone_flags & CLONE_NEWUTS) &&
	    (*err = PROC_SYS(SYS_sethostname, im->hostname, im->hostname_len,
	    0, 0)) < 0)
		return (PROC_STEP_HOSTNAME);
	return (proc_child_files(im, err));
}

/* The child: set up, wait if held, exec, or tell the parent why not. */
PROC_CHILD_CODE void
proc_child(const struct proc_image *im)
{
	long	err;
	int	step;

	if ((err = proc_child_signals(im->clone_flags)) < 0)
		proc_child_fail(im->errfd, PROC_STEP_SIGNALS, err);
	if ((err = proc_child_keep_fds(im->errfd, im->gatefd)) < 0)
		proc_child_fail(im->errfd, PROC_STEP_CLOSEFDS, err);
	if (im->gatefd != -1)
		proc_child_hold(im->gatefd);
	if ((step = proc_child_setup(im, &err)) != 0)
		proc_child_fail(im->errfd, step, err);
	err = PROC_SYS(SYS_execve, im->path, im->argv, im->envp, 0);
	proc_child_fail(im->errfd, PROC_STEP_EXEC, err);
}

/* proc_child as the start routine of a clone on its own stack. */
PROC_CHILD_CODE int
proc_child_main(void *arg)
{
	proc_child(arg);
}
