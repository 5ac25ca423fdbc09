/*
 * proc.c: spawning, watching and stopping sandbox processes.
 *
 * Two ways to learn that a process exited:
 *
 * - pidfd mode (Linux >= 5.4): every process has a pidfd on the loop.  A
 *   child is reaped with waitid(P_PIDFD) when it becomes readable; for an
 *   adopted process that is not our child the pidfd only says "gone" and
 *   the status is PROC_STATUS_UNKNOWN.
 * - signalfd mode (no pidfds, or proc_force_signalfd): SIGCHLD drives a
 *   waitpid(-1, WNOHANG) loop that routes each status by pid through
 *   proc_tree.  An adopted non-child is polled once a second.
 *
 * The SIGCHLD signalfd exists in both modes.  In pidfd mode it only reaps
 * children nobody tracks (a proc freed while its process ran, or a helper
 * some other code forgot): it peeks with WNOWAIT and stops at the first
 * tracked zombie, whose own pidfd event reaps it and sweeps again.  So a
 * tracked child's status always reaches its owner.  Code elsewhere in the
 * daemon that forks must wait for its child before returning to the loop.
 *
 * A proc is finished (events removed, pidfd closed) before its exit
 * callback runs, and the callback is the last use of it here, so the
 * callback may proc_free it, or free or spawn others.
 */
#include <sys/resource.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/sched.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "log.h"
#include "procint.h"
#include "procmgr_test.h"
#include "queue.h"
#include "tree.h"
#include "xmalloc.h"

/* Namespace flags a launch may ask for; anything else is refused. */
#define PROC_CLONE_ALLOWED \
	(CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | \
	 CLONE_NEWNS | CLONE_NEWCGROUP)

#define PROC_POLL_SECS	1	/* adopted non-child without pidfds */
#define PROC_USAGE_MAX	4096	/* processes walked by proc_read_usage */

/*
 * One watched process: 344 bytes on x86_64 (two embedded struct event of
 * 128 bytes each, the tree links and a few words), one allocation.
 */
struct proc {
	RB_ENTRY(proc)	 entry;		/* proc_tree, while an unreaped child */
	struct event	 watch;		/* pidfd readable, or the poll timer */
	struct event	 stop_ev;	/* proc_stop's SIGKILL deadline */
	proc_exit_cb	 cb;
	void		*arg;
	uint64_t	 start_time;	/* /proc/<pid>/stat field 22 */
	uint64_t	 kill_at;	/* CLOCK_MONOTONIC ms of stop_ev */
	pid_t		 pid;
	int		 pidfd;		/* -1 without pidfds or once exited */
	unsigned int	 flags;
#define PROC_CHILD	0x01		/* ours to reap */
#define PROC_INTREE	0x02		/* in proc_tree */
#define PROC_WATCH	0x04		/* watch is added */
#define PROC_EXITED	0x08		/* finished, callback called */
#define PROC_KILLED	0x10		/* SIGKILL sent */
	struct proc_start *start;	/* until the child exec'd or failed */
};

/*
 * A child between clone and exec.  Its error pipe (close-on-exec) reads
 * EOF once the exec worked; a failed step writes a proc_child_err.  A held
 * child also waits on its gate pipe for one byte before anything else.
 * The launch's strings are copied for the error message, which is made
 * after the caller has freed the launch.
 */
struct proc_start {
	TAILQ_ENTRY(proc_start)	 entry;		/* proc_held, while held */
	struct event		 ev;		/* errfd readable */
	proc_ready_cb		 cb;
	char			*path;
	char			*cwd;
	char			*log_path;
	char			*hostname;
	char			*netns_path;
	int			 errfd;		/* read end, non-blocking */
	int			 gatefd;	/* write end; -1 unless held */
};
TAILQ_HEAD(proc_start_list, proc_start);

/* What the child reports through the pipe when a step fails. */
enum proc_step {
	PROC_STEP_SIGNALS,
	PROC_STEP_SETSID,
	PROC_STEP_NETNS,
	PROC_STEP_HOSTNAME,
	PROC_STEP_STDIN,
	PROC_STEP_LOG,
	PROC_STEP_STDIO,
	PROC_STEP_CLOSEFDS,
	PROC_STEP_CHDIR,
	PROC_STEP_EXEC,
	PROC_STEP_PIPE,		/* parent side: the pipe itself failed */
};

struct proc_child_err {
	int	step;
	int	err;
};

/* The fields of /proc/<pid>/stat this file uses. */
struct proc_stat {
	char		state;
	pid_t		ppid;
	uint64_t	utime;		/* clock ticks */
	uint64_t	stime;
	uint64_t	cutime;
	uint64_t	cstime;
	uint64_t	start_time;
	uint64_t	rss;		/* pages */
};

RB_HEAD(proc_tree, proc);
static int	proc_cmp(struct proc *, struct proc *);
RB_PROTOTYPE(proc_tree, proc, entry, proc_cmp);
RB_GENERATE(proc_tree, proc, entry, proc_cmp);

static struct proc_tree	 proc_tree = RB_INITIALIZER(&proc_tree);
static struct proc_start_list proc_held = TAILQ_HEAD_INITIALIZER(proc_held);
static struct event_base *proc_base;
static struct event	 proc_sigev;
static int		 proc_sigfd = -1;
static sigset_t		 proc_oldmask;
static bool		 proc_pidfd;		/* pidfd mode */
static bool		 proc_no_pidfd;		/* proc_force_signalfd */
static bool		 proc_no_clone3;	/* clone3 said ENOSYS */
static int		 proc_children_file = -1; /* task/<tid>/children */

static void	proc_pidfd_cb(int, short, void *);
static void	proc_poll_cb(int, short, void *);
static void	proc_stop_cb(int, short, void *);
static void	proc_sigchld_cb(int, short, void *);
static void	proc_start_cb(int, short, void *);
static int	proc_start_finish(struct proc *, bool);
static void	proc_start_free(struct proc *);

/* Order procs by pid. */
static int
proc_cmp(struct proc *a, struct proc *b)
{
	return (a->pid < b->pid ? -1 : a->pid > b->pid);
}

/* Find the tracked, unreaped child with this pid. */
static struct proc *
proc_find_child(pid_t pid)
{
	struct proc	key;

	key.pid = pid;
	return (RB_FIND(proc_tree, &proc_tree, &key));
}

/* Milliseconds of CLOCK_MONOTONIC. */
static uint64_t
proc_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Shell-convention status of a waitpid status. */
static int
proc_wstatus(int st)
{
	if (WIFEXITED(st))
		return (WEXITSTATUS(st));
	if (WIFSIGNALED(st))
		return (128 + WTERMSIG(st));
	return (PROC_STATUS_UNKNOWN);
}

/* Shell-convention status of a waitid siginfo. */
static int
proc_sistatus(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED:
		return (si->si_status & 0xff);
	case CLD_KILLED:
	case CLD_DUMPED:
		return (128 + si->si_status);
	}
	return (PROC_STATUS_UNKNOWN);
}

/* Does this kernel have pidfd_open and waitid(P_PIDFD)? */
static bool
proc_probe_pidfd(void)
{
	siginfo_t	si;
	int		fd, ok;

	if ((fd = pidfd_open(getpid(), 0)) == -1)
		return (false);
	/* We are not our own child: ECHILD if P_PIDFD is known, else EINVAL. */
	ok = waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) == -1 &&
	    errno == ECHILD;
	close(fd);
	return (ok);
}

/* Use the SIGCHLD fallback even if pidfds work; call before proc_init. */
void
proc_force_signalfd(bool force)
{
	proc_no_pidfd = force;
}

/* Start watching children on base: SIGCHLD signalfd, pidfd detection. */
int
proc_init(struct event_base *base, char **cause)
{
	struct sigaction	sa;
	sigset_t		set;

	if (proc_base != NULL) {
		*cause = xstrdup("procmgr already initialized");
		return (-1);
	}
	proc_pidfd = !proc_no_pidfd && proc_probe_pidfd();

	/* An inherited SIG_IGN or SA_NOCLDWAIT would reap behind our back. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, &proc_oldmask) == -1) {
		xasprintf(cause, "sigprocmask: %s", strerror(errno));
		return (-1);
	}
	proc_sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (proc_sigfd == -1) {
		xasprintf(cause, "signalfd: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &proc_oldmask, NULL);
		return (-1);
	}
	event_assign(&proc_sigev, base, proc_sigfd, EV_READ | EV_PERSIST,
	    proc_sigchld_cb, NULL);
	event_add(&proc_sigev, NULL);
	proc_base = base;
	log_debug("procmgr: exits through %s",
	    proc_pidfd ? "pidfds" : "SIGCHLD");
	return (0);
}

/* Stop watching SIGCHLD; free every proc first (not from a callback). */
void
proc_shutdown(void)
{
	sigset_t	set;

	if (proc_base == NULL)
		return;
	event_del(&proc_sigev);
	close(proc_sigfd);
	proc_sigfd = -1;
	if (!sigismember(&proc_oldmask, SIGCHLD)) {
		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
	proc_base = NULL;
}

/* Are exits observed through pidfds (rather than SIGCHLD alone)? */
bool
proc_have_pidfd(void)
{
	return (proc_pidfd);
}

/* The process id (still valid after the exit, until proc_free). */
pid_t
proc_pid(const struct proc *p)
{
	return (p->pid);
}

/* Start time, clock ticks since boot, as proc_read_start_time says. */
uint64_t
proc_start_time(const struct proc *p)
{
	return (p->start_time);
}

/* Is the process our child, so that its real exit status is known? */
bool
proc_is_child(const struct proc *p)
{
	return ((p->flags & PROC_CHILD) != 0);
}

/* Parse the fields after the ')' closing comm in /proc/<pid>/stat. */
static int
proc_parse_stat(const char *s, struct proc_stat *st)
{
	int64_t	cutime, cstime, rss;

	/* Fields 3-24; %*s skips a token without any overflow question. */
	if (sscanf(s, " %c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s"
	    " %" SCNu64 " %" SCNu64 " %" SCNd64 " %" SCNd64
	    " %*s %*s %*s %*s %" SCNu64 " %*s %" SCNd64,
	    &st->state, &st->ppid, &st->utime, &st->stime, &cutime, &cstime,
	    &st->start_time, &rss) != 8)
		return (-1);
	st->cutime = cutime > 0 ? (uint64_t)cutime : 0;
	st->cstime = cstime > 0 ? (uint64_t)cstime : 0;
	st->rss = rss > 0 ? (uint64_t)rss : 0;
	return (0);
}

/* Read a small /proc file into buf, NUL-terminated; -1 if it is gone. */
static int
proc_read_file(const char *path, char *buf, size_t size)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return (-1);
	buf[n] = '\0';
	return (0);
}

/* Read /proc/<pid>/stat; comm may hold spaces and parens. */
static int
proc_read_stat(pid_t pid, struct proc_stat *st)
{
	char	path[64], buf[2048], *s;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (proc_read_file(path, buf, sizeof buf) == -1)
		return (-1);
	if ((s = strrchr(buf, ')')) == NULL || proc_parse_stat(s + 1, st) != 0) {
		errno = EINVAL;
		return (-1);
	}
	return (0);
}

/* Start time of pid in clock ticks since boot (stat field 22). */
int
proc_read_start_time(pid_t pid, uint64_t *t)
{
	struct proc_stat	st;

	if (proc_read_stat(pid, &st) == -1)
		return (-1);
	*t = st.start_time;
	return (0);
}

/* The parent and state letter of pid (/proc/<pid>/stat); -1 if gone. */
int
proc_read_parent(pid_t pid, pid_t *ppid, char *state)
{
	struct proc_stat	st;

	if (proc_read_stat(pid, &st) == -1)
		return (-1);
	*ppid = st.ppid;
	*state = st.state;
	return (0);
}

/* Is pid one of the daemon's own helpers (netns, spawner), no sandbox? */
bool
proc_is_daemon_helper(pid_t pid)
{
	char	comm[64];

	return (proc_read_comm(pid, comm, sizeof comm) == 0 &&
	    (strcmp(comm, NETNS_WORKER_NAME) == 0 ||
	    strcmp(comm, SPAWNER_NAME) == 0));
}

/* The command name of pid (/proc/<pid>/comm, no newline); -1 if gone. */
int
proc_read_comm(pid_t pid, char *buf, size_t size)
{
	char	path[64];

	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	if (proc_read_file(path, buf, size) == -1)
		return (-1);
	buf[strcspn(buf, "\n")] = '\0';
	return (0);
}

/* Does an adopted non-child still run (same start time, not a zombie)? */
static bool
proc_alive(const struct proc *p)
{
	struct proc_stat	st;

	if (proc_read_stat(p->pid, &st) == -1)
		return (false);
	return (st.start_time == p->start_time && st.state != 'Z' &&
	    st.state != 'X');
}

/* Remove p from proc_tree if it is there. */
static void
proc_untree(struct proc *p)
{
	if (p->flags & PROC_INTREE) {
		RB_REMOVE(proc_tree, &proc_tree, p);
		p->flags &= ~PROC_INTREE;
	}
}

/* Stop every watch on p: events, pidfd, tree.  Idempotent. */
static void
proc_unwatch(struct proc *p)
{
	if (p->flags & PROC_WATCH) {
		event_del(&p->watch);
		p->flags &= ~PROC_WATCH;
	}
	event_del(&p->stop_ev);
	if (p->pidfd != -1) {
		close(p->pidfd);
		p->pidfd = -1;
	}
	proc_untree(p);
}

/* Watch p: its pidfd, else SIGCHLD (children) or a poll timer. */
static void
proc_watch(struct proc *p)
{
	struct timeval	tv = { PROC_POLL_SECS, 0 };

	if (p->pidfd != -1) {
		event_assign(&p->watch, proc_base, p->pidfd, EV_READ,
		    proc_pidfd_cb, p);
		event_add(&p->watch, NULL);
	} else if (!(p->flags & PROC_CHILD)) {
		event_assign(&p->watch, proc_base, -1, EV_PERSIST,
		    proc_poll_cb, p);
		event_add(&p->watch, &tv);
	} else
		return;
	p->flags |= PROC_WATCH;
}

/* Make and watch a proc for a live pid. */
static struct proc *
proc_new(pid_t pid, int pidfd, bool child, proc_exit_cb cb, void *arg)
{
	struct proc	*p;

	p = xcalloc(1, sizeof *p);
	p->pid = pid;
	p->pidfd = pidfd;
	p->cb = cb;
	p->arg = arg;
	evtimer_assign(&p->stop_ev, proc_base, proc_stop_cb, p);
	if (child) {
		p->flags |= PROC_CHILD | PROC_INTREE;
		if (RB_INSERT(proc_tree, &proc_tree, p) != NULL)
			fatalx("%s: pid %d tracked twice", __func__, (int)pid);
	}
	proc_watch(p);
	return (p);
}

/*
 * The process is gone: finish p, then report.  The callback is the last
 * use of p here, so it may free it.
 */
static void
proc_exited(struct proc *p, int status)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	proc_unwatch(p);
	p->flags |= PROC_EXITED;
	/* The ready callback comes first; after a failed exec, nothing else. */
	if (p->start != NULL && proc_start_finish(p, true) == -1)
		return;
	log_debug("%s: pid %d status %d", __func__, (int)p->pid, status);
	p->cb(p, status, &ts, p->arg);
}

/*
 * pidfd mode: reap zombie children nobody tracks.  Peek first (WNOWAIT);
 * a tracked zombie ends the sweep, its pidfd event reaps it and sweeps on.
 */
static void
proc_reap_untracked(void)
{
	siginfo_t	si;
	pid_t		pid;

	while (proc_base != NULL) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 ||
		    si.si_pid == 0)
			return;
		pid = si.si_pid;
		if (proc_find_child(pid) != NULL)
			return;
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG) == -1)
			return;
		log_debug("%s: reaped untracked pid %d", __func__, (int)pid);
	}
}

/* signalfd mode: reap every exited child, routing statuses by pid. */
static void
proc_reap_all(void)
{
	struct proc	*p;
	pid_t		 pid;
	int		 st;

	while (proc_base != NULL && (pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if ((p = proc_find_child(pid)) == NULL) {
			log_debug("%s: reaped untracked pid %d", __func__,
			    (int)pid);
			continue;
		}
		proc_untree(p);
		proc_exited(p, proc_wstatus(st));
	}
}

/* Empty the signalfd: SIGCHLD coalesces, so the count means nothing. */
static void
proc_drain_sigfd(int fd)
{
	struct signalfd_siginfo	ssi[8];

	while (read(fd, ssi, sizeof ssi) > 0)
		;
}

/* SIGCHLD arrived. */
static void
proc_sigchld_cb(int fd, __attribute__((unused)) short events,
    __attribute__((unused)) void *arg)
{
	proc_drain_sigfd(fd);
	if (proc_pidfd)
		proc_reap_untracked();
	else
		proc_reap_all();
}

/* p's pidfd is readable: the process has exited; reap it if ours. */
static void
proc_reap_pidfd(struct proc *p)
{
	siginfo_t	si;
	int		status = PROC_STATUS_UNKNOWN;

	if (p->flags & PROC_CHILD) {
		memset(&si, 0, sizeof si);
		if (waitid(P_PIDFD, (id_t)p->pidfd, &si,
		    WEXITED | WNOHANG) == -1)
			log_warn("%s: waitid pid %d", __func__, (int)p->pid);
		else if (si.si_pid == 0) {
			/* Readable but not yet waitable: look again. */
			event_add(&p->watch, NULL);
			return;
		} else
			status = proc_sistatus(&si);
		proc_untree(p);
		proc_reap_untracked();
	}
	proc_exited(p, status);
}

static void
proc_pidfd_cb(__attribute__((unused)) int fd,
    __attribute__((unused)) short events, void *arg)
{
	proc_reap_pidfd(arg);
}

/* Poll tick for an adopted non-child without a pidfd. */
static void
proc_poll_cb(__attribute__((unused)) int fd,
    __attribute__((unused)) short events, void *arg)
{
	struct proc	*p = arg;

	if (!proc_alive(p))
		proc_exited(p, PROC_STATUS_UNKNOWN);
}

/*
 * Send sig to p's process.  A pidfd cannot hit a reused pid; an unreaped
 * child cannot be reused either; an adopted non-child without a pidfd is
 * checked by start time first (this narrows, not closes, the race).
 */
int
proc_kill(struct proc *p, int sig)
{
	if (p->flags & PROC_EXITED) {
		errno = ESRCH;
		return (-1);
	}
	if (p->pidfd != -1)
		return (pidfd_send_signal(p->pidfd, sig, NULL, 0));
	if (!(p->flags & PROC_CHILD) && !proc_alive(p)) {
		errno = ESRCH;
		return (-1);
	}
	return (kill(p->pid, sig));
}

/* SIGKILL now, and forget any stop deadline. */
static void
proc_kill_now(struct proc *p)
{
	event_del(&p->stop_ev);
	if (proc_kill(p, SIGKILL) == -1 && errno != ESRCH)
		log_warn("%s: kill pid %d", __func__, (int)p->pid);
	p->flags |= PROC_KILLED;
}

/* The stop deadline passed and the process still runs. */
static void
proc_stop_cb(__attribute__((unused)) int fd,
    __attribute__((unused)) short events, void *arg)
{
	struct proc	*p = arg;

	log_debug("%s: pid %d ignored SIGTERM, killing", __func__, (int)p->pid);
	proc_kill_now(p);
}

/*
 * SIGTERM, then SIGKILL after timeout seconds (0: SIGKILL now).  Again
 * while a stop is pending: SIGTERM again, and a sooner deadline wins.
 */
void
proc_stop(struct proc *p, unsigned int timeout)
{
	struct timeval	tv;
	uint64_t	at;

	if (p->flags & (PROC_EXITED | PROC_KILLED))
		return;
	if (timeout == 0) {
		proc_kill_now(p);
		return;
	}
	if (proc_kill(p, SIGTERM) == -1) {
		if (errno != ESRCH)
			log_warn("%s: kill pid %d", __func__, (int)p->pid);
		return;
	}
	at = proc_now_ms() + (uint64_t)timeout * 1000;
	if (evtimer_pending(&p->stop_ev, NULL) && at >= p->kill_at)
		return;
	p->kill_at = at;
	tv.tv_sec = timeout;
	tv.tv_usec = 0;
	evtimer_add(&p->stop_ev, &tv);
}

/*
 * Stop watching and free; the process, if it still runs, is left alone
 * (a held child, its gate closed, exits without running the program).
 * Safe from p's own exit callback.
 */
void
proc_free(struct proc *p)
{
	bool	child;
	int	st;

	if (p == NULL)
		return;
	child = (p->flags & PROC_INTREE) != 0;
	proc_start_free(p);
	proc_unwatch(p);
	/* A zombie no event will reap any more: reap it now. */
	if (child && waitpid(p->pid, &st, WNOHANG) > 0 && proc_pidfd)
		proc_reap_untracked();
	free(p);
}

/* Watch an existing process, e.g. after a daemon restart. */
struct proc *
proc_adopt(pid_t pid, uint64_t start_time, proc_exit_cb cb, void *arg,
    char **cause)
{
	struct proc_stat	 st;
	struct proc		*p;
	int			 pidfd = -1;
	bool			 child;

	if (proc_base == NULL)
		fatalx("%s: procmgr not initialized", __func__);
	if (pid <= 0) {
		xasprintf(cause, "invalid pid %d", (int)pid);
		return (NULL);
	}
	/* pidfd first: if the start time then matches, it is the same one. */
	if (proc_pidfd && (pidfd = pidfd_open(pid, 0)) == -1) {
		xasprintf(cause, "pid %d: %s", (int)pid, strerror(errno));
		return (NULL);
	}
	if (proc_read_stat(pid, &st) == -1) {
		xasprintf(cause, "pid %d: process is gone", (int)pid);
		goto fail;
	}
	if (st.start_time != start_time) {
		xasprintf(cause, "pid %d: start time %" PRIu64 ", expected %"
		    PRIu64 " (pid reused)", (int)pid, st.start_time, start_time);
		goto fail;
	}
	child = st.ppid == getpid();
	if (child && proc_find_child(pid) != NULL) {
		xasprintf(cause, "pid %d: already watched", (int)pid);
		goto fail;
	}
	p = proc_new(pid, pidfd, child, cb, arg);
	p->start_time = start_time;
	return (p);

fail:
	if (pidfd != -1)
		close(pidfd);
	return (NULL);
}

/*
 * Child side, between clone and exec.  Single-threaded parent, so any
 * libc call is safe here, but none allocates: only syscalls and
 * async-signal-safe functions.
 */

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
 * (netns_worker.c, spawner.c) do it too, for the same reason.
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

	if (setsid() == -1)
		return (PROC_STEP_SETSID);
	if (l->netns_path != NULL && proc_child_netns(l->netns_path) == -1)
		return (PROC_STEP_NETNS);
	if (l->hostname != NULL && (l->clone_flags & CLONE_NEWUTS) &&
	    sethostname(l->hostname, strlen(l->hostname)) == -1)
		return (PROC_STEP_HOSTNAME);
	if (proc_child_dup("/dev/null", O_RDONLY, 0, 0) == -1)
		return (PROC_STEP_STDIN);
	if (proc_child_dup(out, O_WRONLY | O_APPEND | O_CREAT, 1, 2) == -1)
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

/*
 * Parent side.
 */

/* The cause for a failed child step, from the strings the start kept. */
static void
proc_spawn_cause(const struct proc_start *s, const struct proc_child_err *ce,
    char **cause)
{
	const char	*e = strerror(ce->err);

	switch (ce->step) {
	case PROC_STEP_NETNS:
		xasprintf(cause, "setns %s: %s", s->netns_path, e);
		break;
	case PROC_STEP_HOSTNAME:
		xasprintf(cause, "sethostname %s: %s", s->hostname, e);
		break;
	case PROC_STEP_STDIN:
		xasprintf(cause, "open /dev/null: %s", e);
		break;
	case PROC_STEP_LOG:
		xasprintf(cause, "open %s: %s", s->log_path != NULL ?
		    s->log_path : "/dev/null", e);
		break;
	case PROC_STEP_CHDIR:
		xasprintf(cause, "chdir %s: %s", s->cwd != NULL ? s->cwd : "/",
		    e);
		break;
	case PROC_STEP_EXEC:
		xasprintf(cause, "exec %s: %s", s->path, e);
		break;
	default:
		xasprintf(cause, "spawn %s: step %d: %s", s->path, ce->step, e);
		break;
	}
}

/*
 * A pidfd for pid, the new child (none: 0 or -1, or no pidfds here).  Our
 * child cannot be reaped by anyone else, so its pid is still its own.
 * If no pidfd can be had, the child is killed and reaped: -1.
 */
static pid_t
proc_open_pidfd(pid_t pid, int *pidfd)
{
	int	saved;

	*pidfd = -1;
	if (pid <= 0 || !proc_pidfd)
		return (pid);
	if ((*pidfd = pidfd_open(pid, 0)) == -1) {
		saved = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		errno = saved;
		return (-1);
	}
	return (pid);
}

/*
 * clone3 with CLONE_PIDFD; where clone3 is missing (old kernel, seccomp),
 * clone (which, unlike fork, takes the namespace flags) and pidfd_open.
 */
static pid_t
proc_clone(int flags, int *pidfd)
{
	struct clone_args	ca;
	pid_t			pid;

	*pidfd = -1;
	if (proc_pidfd && !proc_no_clone3) {
		memset(&ca, 0, sizeof ca);
		ca.flags = CLONE_PIDFD | (uint64_t)(unsigned int)flags;
		ca.pidfd = (uint64_t)(uintptr_t)pidfd;
		ca.exit_signal = SIGCHLD;
		pid = (pid_t)syscall(SYS_clone3, &ca, CLONE_ARGS_SIZE_VER0);
		if (pid != -1 || errno != ENOSYS)
			return (pid);
		proc_no_clone3 = true;
		log_debug("%s: no clone3, using clone", __func__);
	}
	/* No stack and no CLONE_VM: this is fork, with namespaces. */
	pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL,
	    NULL, NULL, NULL);
	return (proc_open_pidfd(pid, pidfd));
}

/*
 * Clone the child of launch l: by the spawner helper when there is one
 * (0 is then never returned here), else by the daemon itself.
 */
static pid_t
proc_clone_child(const struct proc_launch *l, int errfd, int gatefd,
    int *pidfd)
{
	pid_t	pid;

	*pidfd = -1;
	if ((pid = spawner_spawn(l, errfd, gatefd)) == SPAWNER_UNUSED)
		return (proc_clone(l->clone_flags, pidfd));
	return (proc_open_pidfd(pid, pidfd));
}

/* Move fd above 2 (close-on-exec): the child replaces 0-2 before exec. */
static int
proc_fd_above_stdio(int *fd)
{
	int	nfd;

	if (*fd > 2)
		return (0);
	if ((nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3)) == -1)
		return (-1);
	close(*fd);
	*fd = nfd;
	return (0);
}

/* A close-on-exec pipe with both ends above fd 2. */
static int
proc_pipe(int pfd[2])
{
	int	saved;

	if (pipe2(pfd, O_CLOEXEC) == -1)
		return (-1);
	if (proc_fd_above_stdio(&pfd[0]) == 0 &&
	    proc_fd_above_stdio(&pfd[1]) == 0)
		return (0);
	saved = errno;
	close(pfd[0]);
	close(pfd[1]);
	errno = saved;
	return (-1);
}

/* Close both ends of each pipe that is open. */
static void
proc_close_pipes(int errp[2], int gatep[2])
{
	int	i;

	for (i = 0; i < 2; i++) {
		if (errp[i] != -1)
			close(errp[i]);
		if (gatep[i] != -1)
			close(gatep[i]);
	}
}

/* Refuse launches that cannot work before forking. */
static int
proc_check_launch(const struct proc_launch *l, char **cause)
{
	if (l->path == NULL || *l->path == '\0') {
		*cause = xstrdup("no executable");
		return (-1);
	}
	if (l->clone_flags & ~PROC_CLONE_ALLOWED) {
		xasprintf(cause, "unsupported clone flags %#x",
		    (unsigned int)(l->clone_flags & ~PROC_CLONE_ALLOWED));
		return (-1);
	}
	return (0);
}

static char *
proc_strdup_or_null(const char *s)
{
	return (s != NULL ? xstrdup(s) : NULL);
}

/* Begin watching p's way to exec: its error pipe, and its gate if held. */
static void
proc_start_watch(struct proc *p, const struct proc_launch *l,
    proc_ready_cb cb, int errfd, int gatefd)
{
	struct proc_start	*s;

	s = xcalloc(1, sizeof *s);
	s->cb = cb;
	s->path = xstrdup(l->path);
	s->cwd = proc_strdup_or_null(l->cwd);
	s->log_path = proc_strdup_or_null(l->log_path);
	s->hostname = proc_strdup_or_null(l->hostname);
	s->netns_path = proc_strdup_or_null(l->netns_path);
	s->errfd = errfd;
	s->gatefd = gatefd;
	if (fcntl(errfd, F_SETFL, O_NONBLOCK) == -1)
		log_warn("%s: O_NONBLOCK", __func__);
	event_assign(&s->ev, proc_base, errfd, EV_READ | EV_PERSIST,
	    proc_start_cb, p);
	event_add(&s->ev, NULL);
	if (gatefd != -1)
		TAILQ_INSERT_TAIL(&proc_held, s, entry);
	p->start = s;
}

/* Forget p's start: the pipes (a held child then exits) and the strings. */
static void
proc_start_free(struct proc *p)
{
	struct proc_start	*s = p->start;

	if (s == NULL)
		return;
	event_del(&s->ev);
	close(s->errfd);
	if (s->gatefd != -1) {
		TAILQ_REMOVE(&proc_held, s, entry);
		close(s->gatefd);
	}
	free(s->path);
	free(s->cwd);
	free(s->log_path);
	free(s->hostname);
	free(s->netns_path);
	free(s);
	p->start = NULL;
}

/*
 * Read the error pipe.  1: nothing yet, look again later.  0: the exec
 * worked (EOF).  -1: a step failed, *ce says which.  When the child is
 * known to be dead, no data means it got as far as it could: a signal
 * killed it before or after exec, and its exit reports that.
 */
static int
proc_start_read(struct proc_start *s, bool dead, struct proc_child_err *ce)
{
	ssize_t	n;

	do
		n = read(s->errfd, ce, sizeof *ce);
	while (n == -1 && errno == EINTR);
	if (n == 0 || (n == -1 && errno == EAGAIN && dead))
		return (0);
	if (n == -1 && errno == EAGAIN)
		return (1);
	if (n != (ssize_t)sizeof *ce) {
		ce->step = PROC_STEP_PIPE;
		ce->err = n == -1 ? errno : EPIPE;
	}
	return (-1);
}

/*
 * A child that reported a failed step is in _exit: reap it at once, so
 * that no zombie outlives the report (this wait is bounded by that).
 */
static void
proc_reap_failed(struct proc *p)
{
	if (!(p->flags & PROC_INTREE))
		return;
	while (waitpid(p->pid, NULL, 0) == -1 && errno == EINTR)
		;
	proc_untree(p);
}

/*
 * Report how p's start ended, if it has: 1 not yet, 0 exec'd, -1 failed.
 * After a failure p is freed once the ready callback returns.
 */
static int
proc_start_finish(struct proc *p, bool dead)
{
	struct proc_child_err	 ce;
	proc_ready_cb		 cb = p->start->cb;
	char			*cause = NULL;
	int			 rc;

	if ((rc = proc_start_read(p->start, dead, &ce)) == 1)
		return (1);
	if (rc == -1) {
		proc_spawn_cause(p->start, &ce, &cause);
		if (!dead)
			proc_reap_failed(p);
	}
	proc_start_free(p);
	log_debug("%s: pid %d %s%s", __func__, (int)p->pid,
	    rc == 0 ? "exec'd" : "failed: ", rc == 0 ? "" : cause);
	cb(p, cause, p->arg);
	if (rc == -1) {
		free(cause);
		proc_free(p);
	}
	return (rc);
}

/* The error pipe of a starting child is readable. */
static void
proc_start_cb(__attribute__((unused)) int fd,
    __attribute__((unused)) short events, void *arg)
{
	proc_start_finish(arg, false);
}

/*
 * Let every held child go on to exec: the batch recording their pids is
 * on disk.  A child that died meanwhile makes the write fail with EPIPE
 * (SIGPIPE is ignored); its exit is reported as usual.
 */
void
proc_release_held(void)
{
	struct proc_start	*s;
	char			 go = 1;

	while ((s = TAILQ_FIRST(&proc_held)) != NULL) {
		TAILQ_REMOVE(&proc_held, s, entry);
		if (write(s->gatefd, &go, 1) != 1 && errno != EPIPE)
			log_warn("%s: write", __func__);
		close(s->gatefd);
		s->gatefd = -1;
	}
}

/* Has p not yet exec'd (or failed to)? */
bool
proc_is_starting(const struct proc *p)
{
	return (p->start != NULL);
}

/*
 * Start a process as launch says, and watch it.  Returns once cloned; the
 * ready callback says later whether the exec worked.
 */
struct proc *
proc_spawn(const struct proc_launch *l, proc_exit_cb cb, proc_ready_cb ready,
    void *arg, char **cause)
{
	struct proc	*p;
	pid_t		 pid;
	int		 errp[2] = { -1, -1 }, gatep[2] = { -1, -1 };
	int		 pidfd, saved;

	if (proc_base == NULL)
		fatalx("%s: procmgr not initialized", __func__);
	if (proc_check_launch(l, cause) == -1)
		return (NULL);
	if (proc_pipe(errp) == -1 || (l->hold && proc_pipe(gatep) == -1)) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		proc_close_pipes(errp, gatep);
		return (NULL);
	}
	if ((pid = proc_clone_child(l, errp[1], gatep[0], &pidfd)) == 0)
		proc_child(l, errp[1], gatep[0]);
	saved = errno;
	close(errp[1]);
	errp[1] = -1;
	if (gatep[0] != -1) {
		close(gatep[0]);
		gatep[0] = -1;
	}
	if (pid == -1) {
		proc_close_pipes(errp, gatep);
		xasprintf(cause, "clone %s: %s", l->path, strerror(saved));
		return (NULL);
	}
	p = proc_new(pid, pidfd, true, cb, arg);
	if (proc_read_start_time(pid, &p->start_time) == -1)
		log_warn("%s: start time of pid %d", __func__, (int)pid);
	proc_start_watch(p, l, ready, errp[0], gatep[1]);
	log_debug("%s: %s pid %d%s", __func__, l->path, (int)pid,
	    l->hold ? " (held)" : "");
	return (p);
}

/* Add the children of pid to the list; the task/<tid>/children files. */
static int
proc_children_tasks(pid_t pid, pid_t **list, size_t *len, size_t *cap)
{
	char		 path[320], buf[4096], *s, *end;	/* d_name: 256 */
	struct dirent	*de;
	DIR		*d;
	long		 c;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL && *len < PROC_USAGE_MAX) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/children",
		    (int)pid, de->d_name);
		if (proc_read_file(path, buf, sizeof buf) == -1)
			continue;
		for (s = buf; *len < PROC_USAGE_MAX; s = end) {
			c = strtol(s, &end, 10);
			if (end == s || c <= 0)
				break;
			if (*len == *cap)
				*list = xreallocarray(*list, *cap *= 2,
				    sizeof **list);
			(*list)[(*len)++] = (pid_t)c;
		}
	}
	closedir(d);
	return (0);
}

/* Add the children of pid to the list; a scan of /proc for its ppid. */
static int
proc_children_scan(pid_t pid, pid_t **list, size_t *len, size_t *cap)
{
	struct proc_stat	 st;
	struct dirent		*de;
	DIR			*d;
	long			 c;
	char			*end;

	if ((d = opendir("/proc")) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL && *len < PROC_USAGE_MAX) {
		c = strtol(de->d_name, &end, 10);
		if (*end != '\0' || c <= 0 ||
		    proc_read_stat((pid_t)c, &st) == -1 || st.ppid != pid)
			continue;
		if (*len == *cap)
			*list = xreallocarray(*list, *cap *= 2, sizeof **list);
		(*list)[(*len)++] = (pid_t)c;
	}
	closedir(d);
	return (0);
}

/* Add the children of pid to the list, whichever way the kernel allows. */
static void
proc_children(pid_t pid, pid_t **list, size_t *len, size_t *cap)
{
	char	path[64];

	if (proc_children_file == -1) {
		snprintf(path, sizeof path, "/proc/%d/task/%d/children",
		    (int)getpid(), (int)getpid());
		proc_children_file = access(path, R_OK) == 0;
	}
	if (proc_children_file)
		proc_children_tasks(pid, list, len, cap);
	else
		proc_children_scan(pid, list, len, cap);
}

/*
 * CPU time, RSS and process count of pid and its descendants (at most
 * PROC_USAGE_MAX processes).  CPU time includes the reaped children of
 * each (cutime/cstime), so it does not fall when a process exits.  RSS
 * is the plain sum, shared pages counted in each process.
 */
int
proc_read_usage(pid_t pid, struct proc_usage *u)
{
	struct proc_stat	 st;
	pid_t			*list;
	size_t			 i, len = 1, cap = 16;
	uint64_t		 user = 0, sys = 0, hz, page;

	memset(u, 0, sizeof *u);
	if (proc_read_stat(pid, &st) == -1)
		return (-1);
	hz = sysconf(_SC_CLK_TCK) > 0 ? (uint64_t)sysconf(_SC_CLK_TCK) : 100;
	page = (uint64_t)getpagesize();
	list = xreallocarray(NULL, cap, sizeof *list);
	list[0] = pid;
	for (i = 0; i < len; i++) {
		if (proc_read_stat(list[i], &st) == -1)
			continue;	/* exited meanwhile */
		user += st.utime + st.cutime;
		sys += st.stime + st.cstime;
		u->rss_bytes += st.rss * page;
		u->pids++;
		proc_children(list[i], &list, &len, &cap);
	}
	free(list);
	u->cpu_user_ns = user * (1000000000ULL / hz);
	u->cpu_system_ns = sys * (1000000000ULL / hz);
	return (0);
}
