/*
 * task_create.c: a container's life as a whole: Create (find its
 * sandbox, mount its rootfs, open its stdio, runc create), Start of its
 * init (runc start) and Delete (runc delete, unmount, forget).  Each step
 * that runs runc answers from runc's completion callback.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instance.h"
#include "iocopy.h"
#include "log.h"
#include "pbutil.h"
#include "procmgr.h"
#include "protocol.h"
#include "runc.h"
#include "task.h"
#include "validate.h"
#include "xmalloc.h"

/* Longest sandbox id the bundle's "sandbox" file may hold. */
#define SANDBOX_FILE_MAX	256

/* ---- Create --------------------------------------------------------- */

/*
 * The sandbox id containerd wrote to <bundle>/sandbox for a task it
 * sends to a sandbox's address (runtime/v2 manager: Start with a
 * SandboxID), malloc'd, or NULL with *cause.
 */
static char *
create_sandbox_of(const char *bundle, char **cause)
{
	char	 path[4200], buf[SANDBOX_FILE_MAX + 1];
	FILE	*f;
	size_t	 n;

	snprintf(path, sizeof(path), "%s/sandbox", bundle);
	if ((f = fopen(path, "re")) == NULL) {
		xasprintf(cause, "%s: %s (containerd writes it for a "
		    "container of a sandbox)", path, strerror(errno));
		return (NULL);
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (validate_identifier("sandbox id", buf, cause) == -1)
		return (NULL);
	return (xstrdup(buf));
}

/* Check what Create asks before anything is made. */
static bool
create_check(struct call *call, const ctv_CreateTaskRequest *req)
{
	char	*cause = NULL;

	if (validate_identifier("container id", req->id, &cause) == -1) {
		call_fail(call, STATUS_INVALID_ARGUMENT, "%s", cause);
		free(cause);
		return (false);
	}
	if (task_find(call_namespace(call), req->id) != NULL) {
		call_fail(call, STATUS_ALREADY_EXISTS, "container \"%s\": "
		    "already exists", req->id);
		return (false);
	}
	if ((req->checkpoint != NULL && *req->checkpoint != '\0') ||
	    (req->parent_checkpoint != NULL &&
	    *req->parent_checkpoint != '\0')) {
		call_fail(call, STATUS_UNIMPLEMENTED, "Create from a "
		    "checkpoint is not implemented by sandboxd");
		return (false);
	}
	if (req->bundle == NULL || req->bundle[0] != '/') {
		call_fail(call, STATUS_INVALID_ARGUMENT, "container \"%s\": "
		    "the bundle must be an absolute path", req->id);
		return (false);
	}
	return (true);
}

/* The sandbox the container belongs to must be one sandboxd runs. */
static char *
create_find_sandbox(struct call *call, const ctv_CreateTaskRequest *req)
{
	struct instance	*inst;
	char		*sbid, *cause = NULL;

	if ((sbid = create_sandbox_of(req->bundle, &cause)) == NULL) {
		call_fail(call, STATUS_FAILED_PRECONDITION, "container \"%s\": "
		    "no sandbox: %s", req->id, cause);
		free(cause);
		return (NULL);
	}
	inst = inst_find(call_namespace(call), sbid);
	if (inst == NULL || inst->shutting_down) {
		call_fail(call, STATUS_NOT_FOUND, "container \"%s\": sandbox "
		    "\"%s\" is not one sandboxd runs", req->id, sbid);
		free(sbid);
		return (NULL);
	}
	return (sbid);
}

/* Mount containerd's rootfs mounts on <bundle>/rootfs. */
static int
create_rootfs(struct task *t, const ctv_CreateTaskRequest *req, char **cause)
{
	struct rootfs_mount	m[16];
	char			dir[4200];
	pb_size_t		i;

	if (req->rootfs_count == 0)
		return (0);
	for (i = 0; i < req->rootfs_count; i++) {
		m[i].type = req->rootfs[i].type;
		m[i].source = req->rootfs[i].source;
		m[i].target = req->rootfs[i].target;
		m[i].options = (const char *const *)req->rootfs[i].options;
		m[i].noptions = req->rootfs[i].options_count;
	}
	snprintf(dir, sizeof(dir), "%s/rootfs", t->bundle);
	if (rootfs_mount(dir, m, req->rootfs_count, cause) == -1)
		return (-1);
	t->rootfs_mounted = true;
	return (0);
}

/* What iocopy needs to know of a process's stdio. */
void
task_io_cfg(const struct tproc *tp, struct iocopy_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->stdin_path = tp->stdin_path;
	cfg->stdout_path = tp->stdout_path;
	cfg->stderr_path = tp->stderr_path;
	cfg->terminal = tp->terminal;
	/* A bundle path may not fit a socket address: the run dir. */
	cfg->console_dir = ctrl_cfg.run_dir;
}

/* Open a process's stdio (containerd's FIFOs) on the loop. */
int
task_open_io(struct tproc *tp, char **cause)
{
	struct iocopy_cfg	cfg;

	task_io_cfg(tp, &cfg);
	return (iocopy_open(task_base, &cfg, &tp->io, cause));
}

/* A background runc delete --force is done: only a failure is news. */
static void
forced_delete_done_cb(void *arg, const struct runc_result *res)
{
	char	*id = arg;

	if (res->status != 0)
		log_warnx("container %s: runc delete: %s", id,
		    res->error != NULL ? res->error : "failed");
	free(id);
}

/*
 * Undo what a container holds in sandboxd and on the host, but runc's
 * state (the caller's business): the exit watch, stdio, the rootfs mount,
 * the record; then free it.
 */
void
task_cleanup(struct task *t)
{
	char	dir[4200], *cause = NULL;

	if (t->rootfs_mounted) {
		snprintf(dir, sizeof(dir), "%s/rootfs", t->bundle);
		if (rootfs_unmount(dir, &cause) == -1) {
			log_warnx("container %s/%s: %s", t->ns, t->id, cause);
			free(cause);
		}
	}
	task_forget_record(t);
	task_free(t);
}

/*
 * Remove whatever runc may hold of t (runc delete --force, in the
 * background: nobody waits for it), then task_cleanup.
 */
void
task_remove_forced(struct task *t)
{
	char	*id = xstrdup(t->id), *cause = NULL;

	if (runc_delete(id, true, forced_delete_done_cb, id, &cause) == -1) {
		log_warnx("container %s/%s: %s", t->ns, t->id, cause);
		free(cause);
		free(id);
	}
	task_cleanup(t);
}

/* runc create is done: watch the init, save, answer with its pid. */
static void
create_done_cb(void *arg, const struct runc_result *res)
{
	struct task_op		*op = arg;
	struct tproc		*tp = op->tp;
	struct task		*t = tp->task;
	struct ctrl_answer	 ans = { .id = t->id };
	char			*cause = NULL;

	if (!task_op_finish(op, res, "create")) {
		task_remove_forced(t);
		free(op);
		return;
	}
	tp->pid = (uint32_t)res->pid;
	iocopy_child_started(tp->io);
	if (task_watch(tp, &cause) == -1) {
		if (op->call != NULL)
			call_finish_error(op->call, STATUS_UNKNOWN, "container "
			    "\"%s\": runc created it but %s", t->id, cause);
		free(cause);
		task_remove_forced(t);
		free(op);
		return;
	}
	t->cgroup = task_cgroup_dir((pid_t)tp->pid);
	tp->state = TASK_CREATED;
	task_save(t);
	log_info("container %s/%s: created, pid %u", t->ns, t->id, tp->pid);
	task_event_create(t, tp->pid);
	ans.pid = tp->pid;
	if (op->call != NULL)
		op->answer(op->call, &ans);
	task_op_done(op);
}

/* Fill a new task from the request: paths, stdio, times. */
static void
create_fill(struct task *t, const ctv_CreateTaskRequest *req, char *sbid)
{
	t->sandbox_id = sbid;
	t->bundle = xstrdup(req->bundle);
	ts_now(&t->created_at);
	t->init.terminal = req->terminal;
	if (req->stdin != NULL && *req->stdin != '\0')
		t->init.stdin_path = xstrdup(req->stdin);
	if (req->stdout != NULL && *req->stdout != '\0')
		t->init.stdout_path = xstrdup(req->stdout);
	if (req->stderr != NULL && *req->stderr != '\0')
		t->init.stderr_path = xstrdup(req->stderr);
}

/*
 * Create: the container's rootfs and stdio first, its record (state
 * creating: a restart in between knows to clean up), then runc create;
 * the answer comes when runc is done.
 */
enum handler_result
ctrl_task_create(struct call *call, const ctv_CreateTaskRequest *req,
    ctrl_answer_fn answer)
{
	struct task	*t;
	struct task_op	*op;
	char		*sbid, *cause = NULL;
	int		 stdio[3];

	if (!create_check(call, req))
		return (HANDLER_ERROR);
	if ((sbid = create_find_sandbox(call, req)) == NULL)
		return (HANDLER_ERROR);
	t = task_new(call_namespace(call), req->id);
	create_fill(t, req, sbid);
	if (create_rootfs(t, req, &cause) == -1 ||
	    task_open_io(&t->init, &cause) == -1)
		goto fail;
	task_save(t);
	op = task_op_new(&t->init, call, answer);
	iocopy_child_stdio(t->init.io, stdio);
	if (runc_create(t->id, t->bundle, stdio,
	    iocopy_console_socket(t->init.io), create_done_cb, op,
	    &cause) == -1) {
		free(op);
		goto fail;
	}
	return (task_op_defer(op));

fail:
	call_fail(call, STATUS_UNKNOWN, "container \"%s\": %s", req->id,
	    cause);
	free(cause);
	task_cleanup(t);
	return (HANDLER_ERROR);
}

/* ---- Start ---------------------------------------------------------- */

/* runc start is done: running (unless it exited already), answer. */
static void
start_done_cb(void *arg, const struct runc_result *res)
{
	struct task_op		*op = arg;
	struct tproc		*tp = op->tp;
	struct ctrl_answer	 ans = { .id = tp->task->id, .pid = tp->pid };

	if (!task_op_finish(op, res, "start")) {
		task_op_done(op);
		return;
	}
	if (tp->state == TASK_CREATED) {
		tp->state = TASK_RUNNING;
		task_save(tp->task);
	}
	log_info("%s: started, pid %u", task_name(tp), tp->pid);
	task_event_start(tp);
	if (op->call != NULL)
		op->answer(op->call, &ans);
	task_op_done(op);
}

/* Start the init (runc start) or an exec. */
enum handler_result
ctrl_task_start(struct call *call, const char *id, const char *exec_id,
    ctrl_answer_fn answer)
{
	struct tproc	*tp;
	struct task_op	*op;
	char		*cause = NULL;

	if ((tp = task_tproc_get(call, id, exec_id, NULL)) == NULL)
		return (HANDLER_ERROR);
	if (task_refuse_busy(call, tp))
		return (HANDLER_ERROR);
	if (tp->exec_id != NULL)
		return (task_exec_start(call, tp, answer));
	if (tp->state != TASK_CREATED)
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "%s: "
		    "cannot start a process that is %s", task_name(tp),
		    task_state_name(tp)));
	op = task_op_new(tp, call, answer);
	if (runc_start(tp->task->id, start_done_cb, op, &cause) == -1)
		return (task_op_fail_start(op, cause));
	return (task_op_defer(op));
}

/* ---- Delete --------------------------------------------------------- */

/* Whether runc's delete error says the container is gone anyway. */
static bool
delete_gone(const struct runc_result *res)
{
	return (res->error != NULL && (strstr(res->error, "not exist") !=
	    NULL || strstr(res->error, "not found") != NULL));
}

/* runc delete is done: answer with the exit, then forget everything. */
static void
delete_done_cb(void *arg, const struct runc_result *res)
{
	struct task_op		*op = arg;
	struct tproc		*tp = op->tp;
	struct task		*t = tp->task;
	struct ctrl_answer	 ans = { .id = t->id, .pid = tp->pid };
	struct runc_result	 ok = { 0 };

	if (delete_gone(res))
		res = &ok;
	t->deleting = false;
	if (!task_op_finish(op, res, "delete")) {
		task_op_done(op);
		return;
	}
	if (tp->exit_pending) {
		tp->exit_pending = false;
		task_answer_exit(tp);
	}
	ans.exit_status = tp->exit_status;
	ans.exited_at = tp->exited_at;
	log_info("container %s/%s: deleted", t->ns, t->id);
	task_event_delete(tp);
	if (op->call != NULL)
		op->answer(op->call, &ans);
	free(op);
	task_cleanup(t);
}

/*
 * Delete the container (runc delete --force: a created one has a runc
 * init waiting) or forget an exec.  A running process is refused.
 */
enum handler_result
ctrl_task_delete(struct call *call, const char *id, const char *exec_id,
    ctrl_answer_fn answer, struct ctrl_answer *now)
{
	struct tproc	*tp;
	struct task_op	*op;
	char		*cause = NULL;

	if ((tp = task_tproc_get(call, id, exec_id, NULL)) == NULL)
		return (HANDLER_ERROR);
	if (task_refuse_busy(call, tp))
		return (HANDLER_ERROR);
	if (tp->exec_id != NULL)
		return (task_exec_delete(call, tp, now));
	if (tp->state == TASK_RUNNING || tp->state == TASK_PAUSED)
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "%s: "
		    "cannot delete a running process", task_name(tp)));
	if (task_busy(tp->task))
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "%s: an "
		    "exec is being started; try again", task_name(tp)));
	op = task_op_new(tp, call, answer);
	tp->task->deleting = true;
	if (runc_delete(tp->task->id, true, delete_done_cb, op,
	    &cause) == -1) {
		tp->task->deleting = false;
		return (task_op_fail_start(op, cause));
	}
	return (task_op_defer(op));
}
