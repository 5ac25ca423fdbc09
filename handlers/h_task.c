/*
 * h_task.c: containerd.task.v2.Task, as much of it as containerd asks of a
 * sandbox's own address.  containerd reconnects to every shim it knows
 * after a restart of its own and asks Connect for the sandbox's pid (and
 * Pids, to decide whether the shim leaked); it may ask Shutdown of a shim
 * it is done with.  sandboxd has no task of its own to run yet, so the
 * other methods answer Unimplemented (the dispatcher names them).
 */
#include <stdio.h>
#include <unistd.h>

#include "containerd/task/v2/shim.pb.h"
#include "controller.h"
#include "handlers.h"

/* Connect: the "shim" is the daemon; the task is the sandbox's init. */
enum handler_result
h_task_connect(struct call *call, const void *reqp, void *respp)
{
	const ctv_ConnectRequest	*req = reqp;
	ctv_ConnectResponse		*resp = respp;

	resp->shim_pid = (uint32_t)getpid();
	return (ctrl_task_pid(call, req->id, &resp->task_pid));
}

/* Pids: a sandbox's task is its init process alone (none: empty). */
enum handler_result
h_task_pids(struct call *call, const void *reqp, void *respp)
{
	const ctv_PidsRequest	*req = reqp;
	ctv_PidsResponse	*resp = respp;
	uint32_t		 pid = 0;

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
 * daemon outlives every sandbox and serves all of them: nothing to do.
 */
enum handler_result
h_task_shutdown(struct call *call, const void *reqp, void *respp)
{
	(void)call;
	(void)reqp;
	(void)respp;
	return (HANDLER_DONE);
}
