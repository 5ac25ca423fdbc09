/*
 * h_shim.c: containerd.runtime.sandbox.v1.Sandbox, the shim-level API,
 * served by the same controller as the Controller service so that both
 * see the same sandboxes.
 */
#include <stdio.h>
#include <string.h>

#include "containerd/runtime/sandbox/v1/sandbox.pb.h"
#include "controller.h"
#include "handlers.h"

_Static_assert(CTRL_INFO_MAX <=
    sizeof(((crsv_SandboxStatusResponse *)0)->info) /
    sizeof(((crsv_SandboxStatusResponse *)0)->info[0]),
    "SandboxStatusResponse.info holds fewer than CTRL_INFO_MAX");

/*
 * A deferred CreateSandbox's, StopSandbox's or ShutdownSandbox's answer:
 * an empty message.  The three responses have no fields, so they encode
 * alike (to nothing).
 */
static void
answer_empty_cb(struct call *call, const struct ctrl_answer *ans)
{
	crsv_CreateSandboxResponse	resp = { 0 };

	(void)ans;
	call_finish(call, crsv_CreateSandboxResponse_fields, &resp);
}

/* StartSandbox's answer: pid, creation time and spec. */
static void
answer_start_cb(struct call *call, const struct ctrl_answer *ans)
{
	crsv_StartSandboxResponse	resp = { 0 };

	resp.pid = ans->pid;
	resp.has_created_at = true;
	resp.created_at = ans->created_at;
	resp.has_spec = ans->sandbox->has_spec;
	resp.spec = ans->sandbox->spec;
	call_finish(call, crsv_StartSandboxResponse_fields, &resp);
}

/* A deferred WaitSandbox's answer: the exit status and time. */
static void
answer_wait_cb(struct call *call, const struct ctrl_answer *ans)
{
	crsv_WaitSandboxResponse	resp = { 0 };

	resp.exit_status = ans->exit_status;
	resp.has_exited_at = true;
	resp.exited_at = ans->exited_at;
	call_finish(call, crsv_WaitSandboxResponse_fields, &resp);
}

/* CreateSandbox: from the store's record, else from the bundle. */
enum handler_result
h_shim_create(struct call *call, const void *reqp, void *respp)
{
	const crsv_CreateSandboxRequest	*req = reqp;
	struct ctrl_create_req		 create = {
		.netns_path = req->netns_path,
		.options = req->has_options ? &req->options : NULL,
		.bundle = req->bundle_path,
	};

	(void)respp;
	return (ctrl_create_from_bundle(call, req->sandbox_id, &create,
	    answer_empty_cb));
}

/* StartSandbox: answered once the init process has exec'd. */
enum handler_result
h_shim_start(struct call *call, const void *reqp, void *respp)
{
	const crsv_StartSandboxRequest	*req = reqp;

	(void)respp;
	return (ctrl_start(call, req->sandbox_id, answer_start_cb));
}

/* Platform: the host's OS and architecture. */
enum handler_result
h_shim_platform(struct call *call, const void *reqp, void *respp)
{
	const crsv_PlatformRequest	*req = reqp;
	crsv_PlatformResponse		*resp = respp;

	resp->has_platform = true;
	return (ctrl_platform(call, req->sandbox_id, &resp->platform));
}

/* StopSandbox: answered at the exit (or at once if nothing runs). */
enum handler_result
h_shim_stop(struct call *call, const void *reqp, void *respp)
{
	const crsv_StopSandboxRequest	*req = reqp;

	(void)respp;
	return (ctrl_stop(call, req->sandbox_id, req->timeout_secs,
	    answer_empty_cb));
}

/* WaitSandbox: the exit now, or once it comes. */
enum handler_result
h_shim_wait(struct call *call, const void *reqp, void *respp)
{
	const crsv_WaitSandboxRequest	*req = reqp;
	crsv_WaitSandboxResponse	*resp = respp;

	resp->has_exited_at = true;
	return (ctrl_wait(call, req->sandbox_id, answer_wait_cb,
	    &resp->exit_status, &resp->exited_at));
}

/* SandboxStatus: state, pid, times, and with verbose an info map. */
enum handler_result
h_shim_status(struct call *call, const void *reqp, void *respp)
{
	const crsv_SandboxStatusRequest	*req = reqp;
	crsv_SandboxStatusResponse	*resp = respp;
	struct ctrl_status		 st;

	if (ctrl_status(call, req->sandbox_id, req->verbose, &st) !=
	    HANDLER_DONE)
		return (HANDLER_ERROR);
	CTRL_STATUS_FILL(resp, req->sandbox_id, &st);
	return (HANDLER_DONE);
}

/* PingSandbox: OK if the controller knows the sandbox. */
enum handler_result
h_shim_ping(struct call *call, const void *reqp, void *respp)
{
	const crsv_PingRequest	*req = reqp;

	(void)respp;
	return (ctrl_ping(call, req->sandbox_id));
}

/* ShutdownSandbox: answered once the sandbox is gone. */
enum handler_result
h_shim_shutdown(struct call *call, const void *reqp, void *respp)
{
	const crsv_ShutdownSandboxRequest	*req = reqp;

	(void)respp;
	return (ctrl_shutdown(call, req->sandbox_id, answer_empty_cb));
}

/* SandboxMetrics: the sandbox's usage as a sandboxd.v1.Metrics. */
enum handler_result
h_shim_metrics(struct call *call, const void *reqp, void *respp)
{
	const crsv_SandboxMetricsRequest	*req = reqp;
	crsv_SandboxMetricsResponse		*resp = respp;

	resp->has_metrics = true;
	return (ctrl_metrics(call, req->sandbox_id, &resp->metrics));
}
