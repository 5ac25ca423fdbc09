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

enum handler_result
h_shim_create(struct call *call, const void *reqp, void *respp)
{
	const crsv_CreateSandboxRequest	*req = reqp;

	(void)respp;
	return (ctrl_create_from_bundle(call, req->sandbox_id, req->bundle_path,
	    req->netns_path));
}

enum handler_result
h_shim_start(struct call *call, const void *reqp, void *respp)
{
	const crsv_StartSandboxRequest	*req = reqp;

	(void)respp;
	return (ctrl_start(call, req->sandbox_id, WAITER_SHIM_START));
}

enum handler_result
h_shim_platform(struct call *call, const void *reqp, void *respp)
{
	const crsv_PlatformRequest	*req = reqp;
	crsv_PlatformResponse		*resp = respp;

	resp->has_platform = true;
	return (ctrl_platform(call, req->sandbox_id, &resp->platform));
}

enum handler_result
h_shim_stop(struct call *call, const void *reqp, void *respp)
{
	const crsv_StopSandboxRequest	*req = reqp;

	(void)respp;
	return (ctrl_stop(call, req->sandbox_id, req->timeout_secs));
}

enum handler_result
h_shim_wait(struct call *call, const void *reqp, void *respp)
{
	const crsv_WaitSandboxRequest	*req = reqp;
	crsv_WaitSandboxResponse	*resp = respp;

	resp->has_exited_at = true;
	return (ctrl_wait(call, req->sandbox_id, WAITER_SHIM_WAIT,
	    &resp->exit_status, &resp->exited_at));
}

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

enum handler_result
h_shim_ping(struct call *call, const void *reqp, void *respp)
{
	const crsv_PingRequest	*req = reqp;

	(void)respp;
	return (ctrl_ping(call, req->sandbox_id));
}

enum handler_result
h_shim_shutdown(struct call *call, const void *reqp, void *respp)
{
	const crsv_ShutdownSandboxRequest	*req = reqp;

	(void)respp;
	return (ctrl_shutdown(call, req->sandbox_id));
}

enum handler_result
h_shim_metrics(struct call *call, const void *reqp, void *respp)
{
	const crsv_SandboxMetricsRequest	*req = reqp;
	crsv_SandboxMetricsResponse		*resp = respp;

	resp->has_metrics = true;
	return (ctrl_metrics(call, req->sandbox_id, &resp->metrics));
}
