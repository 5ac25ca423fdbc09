/*
 * task_exec.c: processes Exec adds to a running container.  Exec only
 * records the process (its spec, the OCI process JSON runc exec reads,
 * and its stdio); Start runs it with runc exec; its exit comes like the
 * init's; Delete forgets it.  Exec ids are unique within a container.
 *
 * The spec is in the container's LevelDB record from the Exec's answer
 * until Start succeeds, so an exec acknowledged before a crash or a
 * re-execution can still be started after it.  The record is rewritten
 * whole at every change of the container, so what it may hold in specs
 * is bounded (TASK_EXEC_SPECS_MAX).
 */
#include <stdlib.h>
#include <string.h>

#include "iocopy.h"
#include "log.h"
#include "pbutil.h"
#include "procmgr.h"
#include "protocol.h"
#include "runc.h"
#include "task.h"
#include "validate.h"
#include "xmalloc.h"

/* Bytes of process specs one container may keep for execs not started. */
#define TASK_EXEC_SPECS_MAX	(8u << 20)

/* Unlink an exec from its container and free it. */
void
task_exec_free(struct tproc *tp)
{
	TAILQ_REMOVE(&tp->task->execs, tp, entry);
	tproc_release(tp);
	free(tp);
}

/* A copy of a path, NULL for none. */
static char *
exec_path(const char *s)
{
	return (s != NULL && *s != '\0' ? xstrdup(s) : NULL);
}

/* What t's execs not started yet hold in specs. */
static size_t
exec_specs_held(const struct task *t)
{
	const struct tproc	*tp;
	size_t			 n = 0;

	TAILQ_FOREACH(tp, &t->execs, entry)
		if (tp->spec != NULL)
			n += tp->speclen;
	return (n);
}

/* Check an Exec: container, id, spec. */
static struct task *
exec_check(struct call *call, const ctv_ExecProcessRequest *req)
{
	struct task	*t;
	char		*cause = NULL;
	size_t		 held;

	if ((t = task_find(call_namespace(call), req->id)) == NULL) {
		call_fail(call, STATUS_NOT_FOUND, "container \"%s\" not "
		    "created", req->id);
		return (NULL);
	}
	if (validate_identifier("exec id", req->exec_id, &cause) == -1) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "%s", cause);
		free(cause);
		return (NULL);
	}
	if (task_exec_find(t, req->exec_id) != NULL) {
		call_fail(call, STATUS_ALREADY_EXISTS, "container \"%s\": "
		    "exec id \"%s\" already exists", req->id, req->exec_id);
		return (NULL);
	}
	if (t->init.state != TASK_RUNNING || t->deleting) {
		call_fail(call, STATUS_FAILED_PRECONDITION, "container \"%s\" "
		    "is %s: exec needs it running", req->id,
		    task_state_name(&t->init));
		return (NULL);
	}
	if (req->spec.value.len == 0) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "container \"%s\": "
		    "exec \"%s\" has no process spec", req->id, req->exec_id);
		return (NULL);
	}
	held = exec_specs_held(t);
	if (req->spec.value.len > TASK_EXEC_SPECS_MAX - held) {
		call_fail(call, STATUS_RESOURCE_EXHAUSTED, "container \"%s\": "
		    "exec \"%s\": its spec (%zu bytes) and those of the execs "
		    "not started yet (%zu) exceed %u bytes; start or delete "
		    "some first", req->id, req->exec_id, req->spec.value.len,
		    held, TASK_EXEC_SPECS_MAX);
		return (NULL);
	}
	return (t);
}

/*
 * Exec: record a new process of a container, its spec in the record too
 * (the answer leaves after the commit); Start runs it.
 */
enum handler_result
ctrl_task_exec(struct call *call, const ctv_ExecProcessRequest *req)
{
	struct task	*t;
	struct tproc	*tp;

	if ((t = exec_check(call, req)) == NULL)
		return (HANDLER_ERROR);
	tp = xcalloc(1, sizeof(*tp));
	tp->task = t;
	tp->exec_id = xstrdup(req->exec_id);
	tp->terminal = req->terminal;
	tp->stdin_path = exec_path(req->stdin);
	tp->stdout_path = exec_path(req->stdout);
	tp->stderr_path = exec_path(req->stderr);
	tp->spec = xmemdup(req->spec.value.data, req->spec.value.len);
	tp->speclen = req->spec.value.len;
	tp->state = TASK_CREATED;
	TAILQ_INIT(&tp->waiters);
	TAILQ_INSERT_TAIL(&t->execs, tp, entry);
	task_save(t);
	log_debug("%s: added", task_name(tp));
	task_event_exec_added(tp);
	return (HANDLER_DONE);
}

/* runc exec is done: watch the process, save, answer with its pid. */
static void
exec_start_done_cb(void *arg, const struct runc_result *res)
{
	struct task_op		*op = arg;
	struct tproc		*tp = op->tp;
	struct ctrl_answer	 ans = { .id = tp->task->id };
	char			*cause = NULL;

	if (!task_op_finish(op, res, "exec")) {
		iocopy_free(tp->io);
		tp->io = NULL;
		task_op_done(op);
		return;
	}
	tp->pid = (uint32_t)res->pid;
	iocopy_child_started(tp->io);
	free(tp->spec);
	tp->spec = NULL;
	tp->state = TASK_RUNNING;
	if (task_watch(tp, &cause) == -1) {
		/*
		 * Gone before it could be watched: reaped as an orphan, its
		 * status with it.  Reported as lost, not made up.
		 */
		log_warnx("%s: %s; its exit status is lost", task_name(tp),
		    cause);
		free(cause);
		tp->exit_lost = true;
		tp->state = TASK_STOPPED;
		tp->exit_status = TASK_STATUS_LOST;
		ts_now(&tp->exited_at);
	}
	task_save(tp->task);
	task_event_exec_started(tp);
	ans.pid = tp->pid;
	if (op->call != NULL)
		op->answer(op->call, &ans);
	if (tp->state == TASK_STOPPED)
		task_exit_recorded(tp);
	task_op_done(op);
}

/* Start an exec: open its stdio, runc exec; answered when runc is done. */
enum handler_result
task_exec_start(struct call *call, struct tproc *tp, ctrl_answer_fn answer)
{
	struct task_op	*op;
	char		*cause = NULL;
	int		 stdio[3];

	if (tp->state != TASK_CREATED || tp->spec == NULL)
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "%s: "
		    "cannot start a process that is %s", task_name(tp),
		    tp->spec == NULL && tp->state == TASK_CREATED ?
		    "without a spec (recorded by a sandboxd that did not keep "
		    "it)" : task_state_name(tp)));
	if (tp->task->init.state != TASK_RUNNING)
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "%s: the "
		    "container is %s", task_name(tp),
		    task_state_name(&tp->task->init)));
	if (task_open_io(tp, &cause) == -1)
		goto fail;
	op = task_op_new(tp, call, answer);
	iocopy_child_stdio(tp->io, stdio);
	if (runc_exec(tp->task->id, tp->task->bundle, tp->exec_id, tp->spec,
	    tp->speclen, stdio, iocopy_console_socket(tp->io),
	    exec_start_done_cb, op, &cause) == -1) {
		task_op_drop(op);
		iocopy_free(tp->io);
		tp->io = NULL;
		goto fail;
	}
	return (task_op_defer(op));

fail:
	call_fail(call, STATUS_UNKNOWN, "%s: %s", task_name(tp), cause);
	free(cause);
	return (HANDLER_ERROR);
}

/* Delete an exec that is not running: answer with its exit, forget it. */
enum handler_result
task_exec_delete(struct call *call, struct tproc *tp, struct ctrl_answer *ans)
{
	struct task	*t = tp->task;

	if (tp->state == TASK_RUNNING || tp->state == TASK_PAUSED)
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "%s: "
		    "cannot delete a running process", task_name(tp)));
	ans->pid = tp->pid;
	ans->exit_status = tp->exit_status;
	ans->exited_at = tp->exited_at;
	if (tp->state == TASK_STOPPED)
		task_event_delete(tp);
	task_exec_free(tp);
	task_save(t);
	return (HANDLER_DONE);
}
