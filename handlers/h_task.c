/*
 * h_task.c: containerd.task.v2.Task.  containerd 1.7 sends every task of
 * a sandbox to the sandbox's own address: here, the containers of the
 * sandboxes sandboxd runs (controller/task*.c).  For a sandbox's own id
 * it asks Connect and Pids (after a restart of its own, to re-attach) and
 * Shutdown; those keep answering for the sandbox's init.  Checkpoint is
 * not implemented (the dispatcher's table names it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "containerd/task/v2/shim.pb.h"
#include "controller.h"
#include "handlers.h"
#include "protocol.h"

/* ---- answers of deferred calls ---------------------------------------- */

/* Create: the init's pid. */
static void
answer_create(struct call *call, const struct ctrl_answer *ans)
{
	ctv_CreateTaskResponse	resp = { .pid = ans->pid };

	call_finish(call, ctv_CreateTaskResponse_fields, &resp);
}

/* Start: the process's pid. */
static void
answer_start(struct call *call, const struct ctrl_answer *ans)
{
	ctv_StartResponse	resp = { .pid = ans->pid };

	call_finish(call, ctv_StartResponse_fields, &resp);
}

/* Wait: the exit. */
static void
answer_wait(struct call *call, const struct ctrl_answer *ans)
{
	ctv_WaitResponse	resp = { .exit_status = ans->exit_status };

	resp.has_exited_at = true;
	resp.exited_at = ans->exited_at;
	call_finish(call, ctv_WaitResponse_fields, &resp);
}

/* Delete: pid and exit of what was deleted. */
static void
answer_delete(struct call *call, const struct ctrl_answer *ans)
{
	ctv_DeleteResponse	resp = { .pid = ans->pid };

	resp.exit_status = ans->exit_status;
	resp.has_exited_at = ans->exited_at.seconds != 0;
	resp.exited_at = ans->exited_at;
	call_finish(call, ctv_DeleteResponse_fields, &resp);
}

/* Kill, Update, Pause, Resume: nothing to say. */
static void
answer_empty(struct call *call, const struct ctrl_answer *ans)
{
	ctv_Empty	resp = { 0 };

	(void)ans;
	call_finish(call, ctv_Empty_fields, &resp);
}

/* ---- the container's life ----------------------------------------------- */

/* Create: rootfs, stdio, runc create; answered with the pid. */
enum handler_result
h_task_create(struct call *call, const void *reqp, void *respp)
{
	(void)respp;
	return (ctrl_task_create(call, reqp, answer_create));
}

/* Start the container's init or an exec. */
enum handler_result
h_task_start(struct call *call, const void *reqp, void *respp)
{
	const ctv_StartRequest	*req = reqp;

	(void)respp;
	return (ctrl_task_start(call, req->id, req->exec_id, answer_start));
}

/* Delete the container or an exec: its exit. */
enum handler_result
h_task_delete(struct call *call, const void *reqp, void *respp)
{
	const ctv_DeleteRequest	*req = reqp;
	ctv_DeleteResponse	*resp = respp;
	struct ctrl_answer	 now = { 0 };
	enum handler_result	 r;

	r = ctrl_task_delete(call, req->id, req->exec_id, answer_delete, &now);
	if (r == HANDLER_DONE) {
		resp->pid = now.pid;
		resp->exit_status = now.exit_status;
		resp->has_exited_at = now.exited_at.seconds != 0;
		resp->exited_at = now.exited_at;
	}
	return (r);
}

/* Exec: record a process to run in the container. */
enum handler_result
h_task_exec(struct call *call, const void *reqp, void *respp)
{
	(void)respp;
	return (ctrl_task_exec(call, reqp));
}

/* State of the init or an exec. */
enum handler_result
h_task_state(struct call *call, const void *reqp, void *respp)
{
	const ctv_StateRequest	*req = reqp;
	ctv_StateResponse	*resp = respp;
	struct ctrl_task_state	 st;

	if (ctrl_task_state(call, req->id, req->exec_id, &st) == HANDLER_ERROR)
		return (HANDLER_ERROR);
	snprintf(resp->id, sizeof(resp->id), "%s", req->id);
	snprintf(resp->exec_id, sizeof(resp->exec_id), "%s", req->exec_id);
	resp->bundle = call_strdup(call, st.bundle);
	resp->pid = st.pid;
	resp->status = (ctv_Status)st.status;
	resp->stdin = st.stdin_path != NULL ? call_strdup(call,
	    st.stdin_path) : NULL;
	resp->stdout = st.stdout_path != NULL ? call_strdup(call,
	    st.stdout_path) : NULL;
	resp->stderr = st.stderr_path != NULL ? call_strdup(call,
	    st.stderr_path) : NULL;
	resp->terminal = st.terminal;
	resp->exit_status = st.exit_status;
	resp->has_exited_at = st.exited;
	resp->exited_at = st.exited_at;
	return (HANDLER_DONE);
}

/* Wait for the exit of the init or an exec. */
enum handler_result
h_task_wait(struct call *call, const void *reqp, void *respp)
{
	const ctv_WaitRequest	*req = reqp;
	ctv_WaitResponse	*resp = respp;
	struct ctrl_answer	 now = { 0 };
	enum handler_result	 r;

	r = ctrl_task_wait(call, req->id, req->exec_id, answer_wait, &now);
	if (r == HANDLER_DONE) {
		resp->exit_status = now.exit_status;
		resp->has_exited_at = true;
		resp->exited_at = now.exited_at;
	}
	return (r);
}

/* Kill one process, or with all every process of the container. */
enum handler_result
h_task_kill(struct call *call, const void *reqp, void *respp)
{
	const ctv_KillRequest	*req = reqp;

	(void)respp;
	return (ctrl_task_kill(call, req->id, req->exec_id, req->signal,
	    req->all, answer_empty));
}

/* Resize a process's terminal. */
enum handler_result
h_task_resize_pty(struct call *call, const void *reqp, void *respp)
{
	const ctv_ResizePtyRequest	*req = reqp;

	(void)respp;
	return (ctrl_task_resize(call, req->id, req->exec_id, req->width,
	    req->height));
}

/* Close a process's stdin. */
enum handler_result
h_task_close_io(struct call *call, const void *reqp, void *respp)
{
	const ctv_CloseIORequest	*req = reqp;

	(void)respp;
	return (ctrl_task_close_io(call, req->id, req->exec_id, req->stdin));
}

/* Stats: the container cgroup's metrics, as the Any containerd decodes. */
enum handler_result
h_task_stats(struct call *call, const void *reqp, void *respp)
{
	const ctv_StatsRequest	*req = reqp;
	ctv_StatsResponse	*resp = respp;
	const char		*type_url;
	uint8_t			*value;
	size_t			 len;

	if (ctrl_task_stats(call, req->id, &type_url, &value, &len) ==
	    HANDLER_ERROR)
		return (HANDLER_ERROR);
	call_own(call, value);
	resp->has_stats = true;
	resp->stats.type_url = (char *)type_url;
	resp->stats.value.data = value;
	resp->stats.value.len = len;
	return (HANDLER_DONE);
}

/* Update the container's resources (runc update); annotations alone: ok. */
enum handler_result
h_task_update(struct call *call, const void *reqp, void *respp)
{
	const ctv_UpdateTaskRequest	*req = reqp;

	(void)respp;
	if (!ctrl_task_exists(call, req->id))
		return (call_fail(call, STATUS_NOT_FOUND, "container \"%s\" "
		    "not created", req->id));
	if (!req->has_resources || req->resources.value.len == 0)
		return (HANDLER_DONE);
	return (ctrl_task_change(call, req->id, 'u',
	    req->resources.value.data, req->resources.value.len,
	    answer_empty));
}

/* Pause the container (runc pause). */
enum handler_result
h_task_pause(struct call *call, const void *reqp, void *respp)
{
	const ctv_PauseRequest	*req = reqp;

	(void)respp;
	return (ctrl_task_change(call, req->id, 'p', NULL, 0, answer_empty));
}

/* Resume a paused container (runc resume). */
enum handler_result
h_task_resume(struct call *call, const void *reqp, void *respp)
{
	const ctv_ResumeRequest	*req = reqp;

	(void)respp;
	return (ctrl_task_change(call, req->id, 'r', NULL, 0, answer_empty));
}

/* ---- containers and sandboxes alike ------------------------------------ */

/*
 * Connect: the "shim" is the daemon; the task is the container's init or
 * the sandbox's (0: an id sandboxd does not know, as the Go shim answers).
 */
enum handler_result
h_task_connect(struct call *call, const void *reqp, void *respp)
{
	const ctv_ConnectRequest	*req = reqp;
	ctv_ConnectResponse		*resp = respp;

	resp->shim_pid = (uint32_t)getpid();
	return (ctrl_task_connect(call, req->id, &resp->task_pid));
}

/* Pids: a container's cgroup; a sandbox's task is its init alone. */
enum handler_result
h_task_pids(struct call *call, const void *reqp, void *respp)
{
	const ctv_PidsRequest	*req = reqp;
	ctv_PidsResponse	*resp = respp;
	uint32_t		 pids[sizeof(resp->processes) /
				    sizeof(resp->processes[0])];
	size_t			 i, n;
	uint32_t		 pid = 0;

	if (ctrl_task_exists(call, req->id)) {
		if (ctrl_task_pids(call, req->id, pids,
		    sizeof(pids) / sizeof(pids[0]), &n) == HANDLER_ERROR)
			return (HANDLER_ERROR);
		for (i = 0; i < n; i++)
			resp->processes[i].pid = pids[i];
		resp->processes_count = (pb_size_t)n;
		return (HANDLER_DONE);
	}
	if (ctrl_task_pid(call, req->id, &pid) == HANDLER_ERROR)
		return (HANDLER_ERROR);
	if (pid != 0) {
		resp->processes[0].pid = pid;
		resp->processes_count = 1;
	}
	return (HANDLER_DONE);
}

/*
 * Shutdown asks a shim process to exit once it serves nothing.  The
 * daemon outlives every sandbox and container and serves all of them:
 * nothing to do.
 */
enum handler_result
h_task_shutdown(struct call *call, const void *reqp, void *respp)
{
	(void)call;
	(void)reqp;
	(void)respp;
	return (HANDLER_DONE);
}
