/*
 * proc.c: watching, reaping, killing and stopping sandbox processes, and
 * adopting those a previous daemon left running.
 *
 * Two ways to learn that a process exited:
 *
 * - pidfd mode (Linux >= 5.4): every process has a pidfd on the loop.  A
 *   child is reaped with waitid(P_PIDFD) when it becomes readable.  An
 *   adopted process that is not our child (its parent died with the last
 *   daemon) is reaped by its new parent; pidinfo.c reads its status from
 *   /proc while it is a zombie, or from the pidfd once it is reaped.  If
 *   neither can tell yet, it is asked again, on a timer, until the reap
 *   (PROC_REAP_WAIT_MS at most: a parent that never reaps must not keep
 *   an exit from being told); PROC_STATUS_UNKNOWN where it cannot be told.
 * - signalfd mode (no pidfds, or proc_force_signalfd): SIGCHLD drives a
 *   waitpid(-1, WNOHANG) loop that routes each status by pid through
 *   proc_tree.  An adopted non-child is polled once a second; its status
 *   is known only if the poll finds it a zombie.
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
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "log.h"
#include "procint.h"
#include "procmgr_test.h"
#include "reapint.h"
#include "tree.h"
#include "xmalloc.h"

#define PROC_POLL_SECS	1	/* adopted non-child without pidfds */
#define PROC_REAP_WAIT_MS 30000	/* an adopted zombie's reap, at most */
#define PROC_REAP_STEP_MS 2	/* the first look again, then doubling */
#define PROC_REAP_STEP_MAX 500

RB_HEAD(proc_tree, proc);
static int	proc_cmp(struct proc *, struct proc *);
RB_PROTOTYPE(proc_tree, proc, entry, proc_cmp);
RB_GENERATE(proc_tree, proc, entry, proc_cmp);

struct event_base	*proc_base;
bool			 proc_pidfd;		/* pidfd mode */
static struct proc_tree	 proc_tree = RB_INITIALIZER(&proc_tree);
static struct event	 proc_sigev;
static int		 proc_sigfd = -1;
static sigset_t		 proc_oldmask;
static bool		 proc_no_pidfd;		/* proc_force_signalfd */
static unsigned int	 proc_reap_wait = PROC_REAP_WAIT_MS;

static void	proc_pidfd_cb(int, short, void *);
static void	proc_poll_cb(int, short, void *);
static void	proc_reap_wait_cb(int, short, void *);
static void	proc_stop_cb(int, short, void *);
static void	proc_sigchld_cb(int, short, void *);

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
int
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

/* Tests: how long an adopted zombie may wait for its reap. */
void
proc_set_reap_wait(unsigned int ms)
{
	proc_reap_wait = ms;
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
	proc_stack_shutdown();
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
void
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
struct proc *
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
	proc_unhold(p);
	p->flags |= PROC_EXITED;
	proc_log_later_now(p, true);
	proc_log_drain(p->log);
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
void
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
		if (proc_find_child(pid) != NULL || subreaper_spared(pid))
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
			if (subreaper_reaped(pid, st))
				continue;
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

/*
 * An adopted process that is not ours has exited: report its status if
 * it can be known now; else look again a little later (a zombie its new
 * parent has not reaped yet), for PROC_REAP_WAIT_MS at most.
 */
static void
proc_reap_adopted(struct proc *p)
{
	struct timeval	tv;
	uint32_t	step;
	int		wst;

	switch (pidinfo_exit(p->pidfd, p->pid, p->start_time, &wst)) {
	case PIDINFO_EXITED:
		proc_exited(p, proc_wstatus(wst));
		return;
	case PIDINFO_UNKNOWN:
		proc_exited(p, PROC_STATUS_UNKNOWN);
		return;
	case PIDINFO_WAIT:
		break;
	}
	if (p->reap_waited >= proc_reap_wait) {
		log_warnx("pid %d: exited, but its parent has not reaped it "
		    "in %u ms: status unknown (%d)", (int)p->pid,
		    p->reap_waited, PROC_STATUS_UNKNOWN);
		proc_exited(p, PROC_STATUS_UNKNOWN);
		return;
	}
	step = p->reap_waited == 0 ? PROC_REAP_STEP_MS : p->reap_waited;
	if (step > PROC_REAP_STEP_MAX)
		step = PROC_REAP_STEP_MAX;
	p->reap_waited += step;
	tv.tv_sec = step / 1000;
	tv.tv_usec = (step % 1000) * 1000;
	evtimer_assign(&p->watch, proc_base, proc_reap_wait_cb, p);
	evtimer_add(&p->watch, &tv);
}

/* Time to look again at an adopted zombie. */
static void
proc_reap_wait_cb(__attribute__((unused)) int fd,
    __attribute__((unused)) short events, void *arg)
{
	proc_reap_adopted(arg);
}

/* p's pidfd is readable: the process has exited; reap it if ours. */
static void
proc_reap_pidfd(struct proc *p)
{
	siginfo_t	si;
	int		status = PROC_STATUS_UNKNOWN;

	if (!(p->flags & PROC_CHILD)) {
		proc_reap_adopted(p);
		return;
	}
	memset(&si, 0, sizeof si);
	if (waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) == -1)
		log_warn("%s: waitid pid %d", __func__, (int)p->pid);
	else if (si.si_pid == 0) {
		/* Readable but not yet waitable: look again. */
		event_add(&p->watch, NULL);
		return;
	} else
		status = proc_sistatus(&si);
	proc_untree(p);
	proc_reap_untracked();
	proc_exited(p, status);
}

/* p's pidfd is readable. */
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
	int		 wst;

	if (proc_alive(p))
		return;
	if (pidinfo_zombie_status(p->pid, p->start_time, &wst) == 0)
		proc_exited(p, proc_wstatus(wst));
	else
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
	proc_log_later_now(p, false);
	/* A process still running keeps its FIFO for the next daemon. */
	proc_log_free(p->log, (p->flags & PROC_EXITED) != 0);
	/* A zombie no event will reap any more: reap it now. */
	if (child && waitpid(p->pid, &st, WNOHANG) > 0 && proc_pidfd)
		proc_reap_untracked();
	free(p);
}

/* Is pid our child with this start time (unreaped, so not reused)? */
static bool
proc_is_ours(const struct proc_stat *st)
{
	static pid_t	self;

	/* Cached: one syscall less per sandbox when thousands are adopted. */
	if (self == 0)
		self = getpid();
	return (st->ppid == self);
}

/*
 * Adopt with a pidfd a holder kept through a crash: it is the recorded
 * process whatever /proc says now.  Gone, or its pid reused, it exited:
 * the pidfd is readable and its status is reported from the loop.
 */
static struct proc *
proc_adopt_held(pid_t pid, uint64_t start_time, int pidfd, proc_exit_cb cb,
    void *arg, char **cause)
{
	struct proc_stat	 st;
	struct proc		*p;
	bool			 child;

	child = proc_read_stat(pid, &st) == 0 && st.start_time == start_time &&
	    proc_is_ours(&st);
	if (child && proc_find_child(pid) != NULL) {
		xasprintf(cause, "pid %d: already watched", (int)pid);
		close(pidfd);
		return (NULL);
	}
	p = proc_new(pid, pidfd, child, cb, arg);
	p->start_time = start_time;
	return (p);
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
	if (proc_pidfd && (pidfd = proc_stash_take(pid, start_time)) != -1)
		return (proc_adopt_held(pid, start_time, pidfd, cb, arg,
		    cause));
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
	child = proc_is_ours(&st);
	if (child && proc_find_child(pid) != NULL) {
		xasprintf(cause, "pid %d: already watched", (int)pid);
		goto fail;
	}
	p = proc_new(pid, pidfd, child, cb, arg);
	p->start_time = start_time;
	proc_hold(p);
	return (p);

fail:
	if (pidfd != -1)
		close(pidfd);
	return (NULL);
}


/*
 * A child that reported a failed step is in _exit: reap it at once, so
 * that no zombie outlives the report (this wait is bounded by that).
 */
void
proc_reap_failed(struct proc *p)
{
	if (!(p->flags & PROC_INTREE))
		return;
	while (waitpid(p->pid, NULL, 0) == -1 && errno == EINTR)
		;
	proc_untree(p);
}

