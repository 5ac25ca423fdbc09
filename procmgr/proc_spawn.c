/*
 * proc_spawn.c: starting sandbox processes, and the hold gate.
 *
 * proc_spawn clones (proc_clone.c: in the daemon's memory, on a stack of
 * the child's own) and returns at once.  The child reports on its error pipe, close-on-exec:
 * EOF means the exec worked, a proc_child_err names the step that failed.
 * The loop reads that pipe, so a slow exec never stalls it.  A held child
 * first waits on its gate pipe for the byte proc_release_held writes once
 * the batch recording its pid is on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "log.h"
#include "procint.h"
#include "procmgr_test.h"
#include "queue.h"
#include "xmalloc.h"

/* Namespace flags a launch may ask for; anything else is refused. */
#define PROC_CLONE_ALLOWED \
	(CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | \
	 CLONE_NEWNS | CLONE_NEWCGROUP)

/*
 * A child between clone and exec.  Its error pipe (close-on-exec) reads
 * EOF once the exec worked; a failed step writes a proc_child_err.  A held
 * child also waits on its gate pipe for one byte before anything else.
 * The launch's strings but argv and envp are copied for the error
 * message, which is made after the caller has freed the launch.  The
 * child may run on a stack of ours (proc_clone.c) until it has exec'd or
 * died: released says that is known.
 */
struct proc_start {
	TAILQ_ENTRY(proc_start)	 entry;		/* proc_held, while held */
	struct event		 ev;		/* errfd readable */
	proc_ready_cb		 cb;
	struct proc_launch	 l;		/* no argv, no envp */
	struct proc_stack	*stack;		/* or NULL */
	int			 errfd;		/* read end, non-blocking */
	int			 gatefd;	/* write end; -1 unless held */
	uint64_t		 hold_mark;	/* proc_held_mark once held */
	bool			 released;	/* the child is off stack */
};
TAILQ_HEAD(proc_start_list, proc_start);

static struct proc_start_list proc_held = TAILQ_HEAD_INITIALIZER(proc_held);
static uint64_t		 proc_hold_count;	/* children ever held */

static void	proc_start_cb(int, short, void *);

/* The cause for a failed child step, from the strings the start kept. */
static void
proc_spawn_cause(const struct proc_start *s, const struct proc_child_err *ce,
    char **cause)
{
	const char	*e = strerror(ce->err);

	switch (ce->step) {
	case PROC_STEP_NETNS:
		xasprintf(cause, "setns %s: %s", s->l.netns_path, e);
		break;
	case PROC_STEP_HOSTNAME:
		xasprintf(cause, "sethostname %s: %s", s->l.hostname, e);
		break;
	case PROC_STEP_SYSCTL:
		xasprintf(cause, "setting the sandbox's sysctls: %s", e);
		break;
	case PROC_STEP_STDIN:
		xasprintf(cause, "open /dev/null: %s", e);
		break;
	case PROC_STEP_LOG:
		xasprintf(cause, "open %s: %s", s->l.log_path != NULL ?
		    s->l.log_path : "/dev/null", e);
		break;
	case PROC_STEP_CHDIR:
		xasprintf(cause, "chdir %s: %s",
		    s->l.cwd != NULL ? s->l.cwd : "/", e);
		break;
	case PROC_STEP_EXEC:
		xasprintf(cause, "exec %s: %s", s->l.path, e);
		break;
	default:
		xasprintf(cause, "spawn %s: step %d: %s", s->l.path, ce->step,
		    e);
		break;
	}
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

/* A copy of s, or NULL for NULL. */
static char *
proc_strdup_or_null(const char *s)
{
	return (s != NULL ? xstrdup(s) : NULL);
}

/*
 * Begin watching p's way to exec: its error pipe, and its gate if held;
 * the stack it runs on is freed once it is done.
 */
static void
proc_start_watch(struct proc *p, const struct proc_launch *l,
    proc_ready_cb cb, int errfd, int gatefd, struct proc_stack *stack)
{
	struct proc_start	*s;

	s = xcalloc(1, sizeof *s);
	s->cb = cb;
	s->stack = stack;
	s->l.path = xstrdup(l->path);
	s->l.cwd = proc_strdup_or_null(l->cwd);
	s->l.log_path = proc_strdup_or_null(l->log_path);
	s->l.hostname = proc_strdup_or_null(l->hostname);
	s->l.netns_path = proc_strdup_or_null(l->netns_path);
	s->errfd = errfd;
	s->gatefd = gatefd;
	if (fcntl(errfd, F_SETFL, O_NONBLOCK) == -1)
		log_warn("%s: O_NONBLOCK", __func__);
	event_assign(&s->ev, proc_base, errfd, EV_READ | EV_PERSIST,
	    proc_start_cb, p);
	event_add(&s->ev, NULL);
	if (gatefd != -1) {
		s->hold_mark = ++proc_hold_count;
		TAILQ_INSERT_TAIL(&proc_held, s, entry);
	}
	p->start = s;
}

/*
 * Forget p's start: the pipes (a held child then exits), the strings, the
 * stack (at once if released, else once the child is off it).
 */
void
proc_start_free(struct proc *p)
{
	struct proc_start	*s = p->start;

	if (s == NULL)
		return;
	event_del(&s->ev);
	proc_stack_free(s->stack, s->errfd, s->released);
	if (s->gatefd != -1) {
		TAILQ_REMOVE(&proc_held, s, entry);
		close(s->gatefd);
	}
	proc_launch_free(&s->l);
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
 * Report how p's start ended, if it has: 1 not yet, 0 exec'd, -1 failed.
 * After a failure p is freed once the ready callback returns.
 */
int
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
	/* Exec'd, or dead, or reaped just now: off the stack either way. */
	p->start->released = true;
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

/* A mark naming every child held so far, for proc_release_held_upto. */
uint64_t
proc_held_mark(void)
{
	return (proc_hold_count);
}

/*
 * Let the children held up to mark go on to exec, the later ones wait:
 * with commits off the loop, the batch recording their pids may not be
 * the one that was just written.
 */
void
proc_release_held_upto(uint64_t mark)
{
	struct proc_start	*s;
	char			 go = 1;

	while ((s = TAILQ_FIRST(&proc_held)) != NULL && s->hold_mark <= mark) {
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
	struct proc		*p;
	struct proc_launch	 cl = *l;	/* the child's: stdout the FIFO */
	struct proc_log		*pl = NULL;
	struct proc_stack	*stack;
	pid_t			 pid;
	int			 errp[2] = { -1, -1 }, gatep[2] = { -1, -1 };
	int			 pidfd, saved;

	if (proc_base == NULL)
		fatalx("%s: procmgr not initialized", __func__);
	if (proc_check_launch(l, cause) == -1)
		return (NULL);
	if (l->log_path != NULL && !l->log_direct && proc_log_get_max() > 0) {
		if ((pl = proc_log_create(l->log_path, cause)) == NULL)
			return (NULL);
		cl.log_path = (char *)proc_log_fifo(pl);
		l = &cl;
	}
	if (proc_pipe(errp) == -1 || (l->hold && proc_pipe(gatep) == -1)) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		proc_close_pipes(errp, gatep);
		proc_log_free(pl, true);
		return (NULL);
	}
	pid = proc_clone_launch(l, errp[1], gatep[0], &pidfd, &stack);
	saved = errno;
	close(errp[1]);
	errp[1] = -1;
	if (gatep[0] != -1) {
		close(gatep[0]);
		gatep[0] = -1;
	}
	if (pid == -1) {
		proc_close_pipes(errp, gatep);
		proc_log_free(pl, true);
		xasprintf(cause, "clone %s: %s", l->path, strerror(saved));
		return (NULL);
	}
	p = proc_new(pid, pidfd, true, cb, arg);
	p->log = pl;
	if (proc_read_start_time(pid, &p->start_time) == -1)
		log_warn("%s: start time of pid %d", __func__, (int)pid);
	proc_hold(p);
	proc_start_watch(p, l, ready, errp[0], gatep[1], stack);
	log_debug("%s: %s pid %d%s", __func__, l->path, (int)pid,
	    l->hold ? " (held)" : "");
	return (p);
}
