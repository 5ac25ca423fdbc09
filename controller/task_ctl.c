/*
 * task_ctl.c: what is asked of a container or exec once it exists:
 * State, Wait, Kill, ResizePty, CloseIO, Pids, Stats, Update, Pause,
 * Resume, Connect.  Answers follow the Go shim's where containerd reads
 * them (NotFound "process already finished" for a signal to an exited
 * process, FailedPrecondition for one not started yet).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgstats.h"
#include "instance.h"
#include "iocopy.h"
#include "log.h"
#include "procmgr.h"
#include "protocol.h"
#include "runc.h"
#include "task.h"
#include "xmalloc.h"

/* Whether id names a container of the call's namespace. */
bool
ctrl_task_exists(struct call *call, const char *id)
{
	return (task_find(call_namespace(call), id) != NULL);
}

/* State of the init or an exec. */
enum handler_result
ctrl_task_state(struct call *call, const char *id, const char *exec_id,
    struct ctrl_task_state *st)
{
	struct task	*t;
	struct tproc	*tp;

	if ((tp = task_tproc_get(call, id, exec_id, &t)) == NULL)
		return (HANDLER_ERROR);
	memset(st, 0, sizeof(*st));
	st->bundle = t->bundle;
	st->pid = tp->pid;
	/* Being created is not a state containerd knows: created. */
	st->status = tp->state == TASK_CREATING ? TASK_CREATED : tp->state;
	st->stdin_path = tp->stdin_path;
	st->stdout_path = tp->stdout_path;
	st->stderr_path = tp->stderr_path;
	st->terminal = tp->terminal;
	st->exited = tp->state == TASK_STOPPED;
	st->exit_status = tp->exit_status;
	st->exited_at = tp->exited_at;
	return (HANDLER_DONE);
}

/*
 * Wait for the process's exit: at once (DONE, *now filled) if it has
 * been told already, else deferred until it is.
 */
enum handler_result
ctrl_task_wait(struct call *call, const char *id, const char *exec_id,
    ctrl_answer_fn answer, struct ctrl_answer *now)
{
	struct tproc	*tp;

	if ((tp = task_tproc_get(call, id, exec_id, NULL)) == NULL)
		return (HANDLER_ERROR);
	if (tp->state == TASK_STOPPED && tp->reported) {
		now->pid = tp->pid;
		now->exit_status = tp->exit_status;
		now->exited_at = tp->exited_at;
		return (HANDLER_DONE);
	}
	return (waiter_add(&tp->waiters, call, WAITER_EXIT, answer));
}

/* runc kill --all is done. */
static void
kill_done_cb(void *arg, const struct runc_result *res)
{
	struct task_op	*op = arg;

	if (task_op_finish(op, res, "kill") && op->call != NULL)
		op->answer(op->call, &(struct ctrl_answer){ .pid = 0 });
	task_op_done(op);
}

/* Signal every process of the container (runc kill --all). */
static enum handler_result
kill_all(struct call *call, struct tproc *tp, int sig, ctrl_answer_fn answer)
{
	struct task_op	*op;
	char		*cause = NULL;

	if (task_refuse_busy(call, tp))
		return (HANDLER_ERROR);
	op = task_op_new(tp, call, answer);
	if (runc_kill(tp->task->id, sig, true, kill_done_cb, op,
	    &cause) == -1)
		return (task_op_fail_start(op, cause));
	return (task_op_defer(op));
}

/*
 * Kill: one process through its pidfd (no pid reuse possible), or with
 * all every process of the container through runc.
 */
enum handler_result
ctrl_task_kill(struct call *call, const char *id, const char *exec_id,
    uint32_t sig, bool all, ctrl_answer_fn answer)
{
	struct tproc	*tp;

	if ((tp = task_tproc_get(call, id, exec_id, NULL)) == NULL)
		return (HANDLER_ERROR);
	if (sig == 0 || sig >= (uint32_t)NSIG)
		return (call_fail(call, STATUS_INVALID_ARGUMENT, "%s: signal "
		    "%u is not one", task_name(tp), sig));
	if (tp->state == TASK_STOPPED)
		return (call_fail(call, STATUS_NOT_FOUND, "%s: process "
		    "already finished", task_name(tp)));
	if (tp->proc == NULL)
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "%s: "
		    "process not created", task_name(tp)));
	if (all && tp->exec_id == NULL)
		return (kill_all(call, tp, (int)sig, answer));
	if (proc_kill(tp->proc, (int)sig) == -1) {
		if (errno == ESRCH)
			return (call_fail(call, STATUS_NOT_FOUND, "%s: process "
			    "already finished", task_name(tp)));
		return (call_fail(call, STATUS_UNKNOWN, "%s: kill: %s",
		    task_name(tp), strerror(errno)));
	}
	return (HANDLER_DONE);
}

/* ResizePty of the init's or an exec's terminal. */
enum handler_result
ctrl_task_resize(struct call *call, const char *id, const char *exec_id,
    uint32_t width, uint32_t height)
{
	struct tproc	*tp;
	char		*cause = NULL;

	if ((tp = task_tproc_get(call, id, exec_id, NULL)) == NULL)
		return (HANDLER_ERROR);
	if (!tp->terminal || tp->io == NULL)
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "%s: no "
		    "terminal to resize", task_name(tp)));
	if (iocopy_resize(tp->io, width, height, &cause) == -1) {
		call_fail(call, STATUS_UNKNOWN, "%s: %s", task_name(tp), cause);
		free(cause);
		return (HANDLER_ERROR);
	}
	return (HANDLER_DONE);
}

/* CloseIO: the process reads EOF once its buffered input is written. */
enum handler_result
ctrl_task_close_io(struct call *call, const char *id, const char *exec_id,
    bool close_stdin)
{
	struct tproc	*tp;

	if ((tp = task_tproc_get(call, id, exec_id, NULL)) == NULL)
		return (HANDLER_ERROR);
	if (close_stdin && tp->io != NULL)
		iocopy_close_stdin(tp->io);
	return (HANDLER_DONE);
}

/*
 * Connect: the pid of a container's init, or of a sandbox's; 0 for an id
 * sandboxd does not know.  Like the Go shim's, it never fails: containerd
 * connects to a new container's "shim" (here, the sandbox's address)
 * before the container exists.
 */
enum handler_result
ctrl_task_connect(struct call *call, const char *id, uint32_t *pid)
{
	struct task	*t;
	struct instance	*inst;

	*pid = 0;
	if ((t = task_find(call_namespace(call), id)) != NULL)
		*pid = t->init.pid;
	else if ((inst = inst_find(call_namespace(call), id)) != NULL)
		*pid = inst->pid;
	return (HANDLER_DONE);
}

/*
 * Pids: every process of the container's cgroup (cgroup.procs), or its
 * init alone when the cgroup cannot be read; none once it exited.
 */
enum handler_result
ctrl_task_pids(struct call *call, const char *id, uint32_t *pids, size_t max,
    size_t *n)
{
	struct task	*t;
	char		 path[1100];
	FILE		*f;
	unsigned long	 pid;

	*n = 0;
	if (task_tproc_get(call, id, NULL, &t) == NULL)
		return (HANDLER_ERROR);
	if (t->init.state == TASK_STOPPED || t->init.pid == 0)
		return (HANDLER_DONE);
	snprintf(path, sizeof(path), "%s/cgroup.procs", t->cgroup != NULL ?
	    t->cgroup : "/nonexistent");
	if ((f = fopen(path, "re")) == NULL) {
		pids[(*n)++] = t->init.pid;
		return (HANDLER_DONE);
	}
	while (fscanf(f, "%lu", &pid) == 1) {
		if (*n == max) {
			log_warnx("container %s/%s: more than %zu processes; "
			    "Pids lists the first", t->ns, t->id, max);
			break;
		}
		pids[(*n)++] = (uint32_t)pid;
	}
	fclose(f);
	return (HANDLER_DONE);
}

/*
 * Stats: containerd's io.containerd.cgroups.v2.Metrics of the
 * container's cgroup; value is malloc'd, the caller owns it.
 */
enum handler_result
ctrl_task_stats(struct call *call, const char *id, const char **type_url,
    uint8_t **value, size_t *len)
{
	struct task	*t;
	char		*cause = NULL;
	int		 rc;

	if (task_tproc_get(call, id, NULL, &t) == NULL)
		return (HANDLER_ERROR);
	if (t->init.proc != NULL)
		rc = cgstats_for_pid((pid_t)t->init.pid, type_url, value, len,
		    &cause);
	else if (t->cgroup != NULL)
		rc = cgstats_for_dir(t->cgroup, type_url, value, len, &cause);
	else
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "container "
		    "\"%s\" has no cgroup: it is not running", id));
	if (rc == -1) {
		call_fail(call, STATUS_UNKNOWN, "container \"%s\": %s", id,
		    cause);
		free(cause);
		return (HANDLER_ERROR);
	}
	return (HANDLER_DONE);
}

/* A runc update, pause or resume is done: set the state, answer. */
static void
change_done_cb(void *arg, const struct runc_result *res)
{
	struct task_op	*op = arg;
	struct tproc	*tp = op->tp;

	if (!task_op_finish(op, res, op->sig == 'p' ? "pause" :
	    op->sig == 'r' ? "resume" : "update")) {
		task_op_done(op);
		return;
	}
	if (op->sig == 'p' && tp->state == TASK_RUNNING)
		tp->state = TASK_PAUSED;
	else if (op->sig == 'r' && tp->state == TASK_PAUSED)
		tp->state = TASK_RUNNING;
	if (op->sig != 'u')
		task_save(tp->task);
	if (op->call != NULL)
		op->answer(op->call, &(struct ctrl_answer){ .pid = tp->pid });
	task_op_done(op);
}

/* Check a container can take a change ('u'pdate, 'p'ause, 'r'esume). */
static struct tproc *
change_target(struct call *call, const char *id, int what)
{
	struct tproc	*tp;
	uint8_t		 need = what == 'r' ? TASK_PAUSED : TASK_RUNNING;

	if ((tp = task_tproc_get(call, id, NULL, NULL)) == NULL)
		return (NULL);
	if (task_refuse_busy(call, tp))
		return (NULL);
	if (tp->state != need && !(what == 'u' && (tp->state == TASK_CREATED ||
	    tp->state == TASK_PAUSED))) {
		call_fail(call, STATUS_FAILED_PRECONDITION, "%s is %s",
		    task_name(tp), task_state_name(tp));
		return (NULL);
	}
	return (tp);
}

/* Update (resources JSON), Pause or Resume through runc. */
enum handler_result
ctrl_task_change(struct call *call, const char *id, int what,
    const uint8_t *json, size_t len, ctrl_answer_fn answer)
{
	struct tproc	*tp;
	struct task_op	*op;
	char		*cause = NULL;
	int		 rc;

	if ((tp = change_target(call, id, what)) == NULL)
		return (HANDLER_ERROR);
	op = task_op_new(tp, call, answer);
	op->sig = what;
	if (what == 'p')
		rc = runc_pause(id, change_done_cb, op, &cause);
	else if (what == 'r')
		rc = runc_resume(id, change_done_cb, op, &cause);
	else
		rc = runc_update(id, json, len, change_done_cb, op, &cause);
	if (rc == -1)
		return (task_op_fail_start(op, cause));
	return (task_op_defer(op));
}
