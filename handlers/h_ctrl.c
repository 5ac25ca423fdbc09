/*
 * h_ctrl.c: containerd.services.sandbox.v1.Controller: translates its
 * messages to the controller (controller.c) and back.
 */
#include <stdio.h>
#include <string.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "controller.h"
#include "handlers.h"
#include "protocol.h"

enum handler_result
h_ctrl_create(struct call *call, const void *reqp, void *respp)
{
	cssv_ControllerCreateRequest	*req = (void *)reqp;
	cssv_ControllerCreateResponse	*resp = respp;
	enum handler_result		 r;

	r = ctrl_create(call, req->sandbox_id,
	    req->has_sandbox ? &req->sandbox : NULL, req->netns_path,
	    WAITER_CREATE);
	if (r == HANDLER_DONE)
		memcpy(resp->sandbox_id, req->sandbox_id, sizeof(resp->sandbox_id));
	return (r);
}

/* Start answers once the init process has exec'd (see waiter.c). */
enum handler_result
h_ctrl_start(struct call *call, const void *reqp, void *respp)
{
	const cssv_ControllerStartRequest	*req = reqp;

	(void)respp;
	return (ctrl_start(call, req->sandbox_id, WAITER_START));
}

enum handler_result
h_ctrl_platform(struct call *call, const void *reqp, void *respp)
{
	const cssv_ControllerPlatformRequest	*req = reqp;
	cssv_ControllerPlatformResponse		*resp = respp;

	resp->has_platform = true;
	return (ctrl_platform(call, req->sandbox_id, &resp->platform));
}

enum handler_result
h_ctrl_stop(struct call *call, const void *reqp, void *respp)
{
	const cssv_ControllerStopRequest	*req = reqp;

	(void)respp;
	return (ctrl_stop(call, req->sandbox_id, req->timeout_secs));
}

enum handler_result
h_ctrl_wait(struct call *call, const void *reqp, void *respp)
{
	const cssv_ControllerWaitRequest	*req = reqp;
	cssv_ControllerWaitResponse		*resp = respp;

	resp->has_exited_at = true;
	return (ctrl_wait(call, req->sandbox_id, WAITER_WAIT,
	    &resp->exit_status, &resp->exited_at));
}

enum handler_result
h_ctrl_status(struct call *call, const void *reqp, void *respp)
{
	const cssv_ControllerStatusRequest	*req = reqp;
	cssv_ControllerStatusResponse		*resp = respp;
	struct ctrl_status			 st;

	if (ctrl_status(call, req->sandbox_id, req->verbose, &st) !=
	    HANDLER_DONE)
		return (HANDLER_ERROR);
	CTRL_STATUS_FILL(resp, req->sandbox_id, &st);
	return (HANDLER_DONE);
}

enum handler_result
h_ctrl_shutdown(struct call *call, const void *reqp, void *respp)
{
	const cssv_ControllerShutdownRequest	*req = reqp;

	(void)respp;
	return (ctrl_shutdown(call, req->sandbox_id));
}

enum handler_result
h_ctrl_metrics(struct call *call, const void *reqp, void *respp)
{
	const cssv_ControllerMetricsRequest	*req = reqp;
	cssv_ControllerMetricsResponse		*resp = respp;

	resp->has_metrics = true;
	return (ctrl_metrics(call, req->sandbox_id, &resp->metrics));
}

enum handler_result
h_ctrl_update(struct call *call, const void *reqp, void *respp)
{
	cssv_ControllerUpdateRequest	*req = (void *)reqp;

	(void)respp;
	if (!req->has_sandbox)
		return (call_fail(call, STATUS_INVALID_ARGUMENT,
		    "sandbox is required"));
	return (ctrl_update(call, req->sandbox_id, &req->sandbox,
	    (const record_path *)req->fields, req->fields_count));
}
