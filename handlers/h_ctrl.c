/*
 * h_ctrl.c: containerd.services.sandbox.v1.Controller: translates its
 * messages to the controller (controller/) and back, deferred answers
 * included: the answer_*_cb functions build them when the event comes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "controller.h"
#include "handlers.h"
#include "protocol.h"
#include "xmalloc.h"

/* The C sizes this file relies on, tied to the .options that set them. */
_Static_assert(sizeof(record_path) ==
    sizeof(((cssv_ControllerUpdateRequest *)0)->fields[0]),
    "record_path differs from ControllerUpdateRequest.fields max_size");
_Static_assert(sizeof(((cssv_ControllerStartResponse *)0)->labels) /
    sizeof(((cssv_ControllerStartResponse *)0)->labels[0]) >=
    sizeof(((ct_Sandbox *)0)->labels) / sizeof(((ct_Sandbox *)0)->labels[0]),
    "ControllerStartResponse.labels holds fewer than Sandbox.labels");
_Static_assert(CTRL_INFO_MAX <=
    sizeof(((cssv_ControllerStatusResponse *)0)->info) /
    sizeof(((cssv_ControllerStatusResponse *)0)->info[0]),
    "ControllerStatusResponse.info holds fewer than CTRL_INFO_MAX");

/* A deferred Create's answer: the sandbox's id. */
static void
answer_create_cb(struct call *call, const struct ctrl_answer *ans)
{
	cssv_ControllerCreateResponse	resp = { 0 };

	snprintf(resp.sandbox_id, sizeof(resp.sandbox_id), "%s", ans->id);
	call_finish(call, cssv_ControllerCreateResponse_fields, &resp);
}

/* Start's answer: pid, creation time, labels and spec. */
static void
answer_start_cb(struct call *call, const struct ctrl_answer *ans)
{
	cssv_ControllerStartResponse	*resp;
	const ct_Sandbox		*sb = ans->sandbox;
	pb_size_t			 i;

	resp = xcalloc(1, sizeof(*resp));	/* 8 KiB of label slots */
	snprintf(resp->sandbox_id, sizeof(resp->sandbox_id), "%s", ans->id);
	resp->pid = ans->pid;
	resp->has_created_at = true;
	resp->created_at = ans->created_at;
	for (i = 0; i < sb->labels_count; i++) {
		resp->labels[i].key = sb->labels[i].key;
		resp->labels[i].value = sb->labels[i].value;
	}
	resp->labels_count = sb->labels_count;
	resp->has_spec = sb->has_spec;
	resp->spec = sb->spec;
	call_finish(call, cssv_ControllerStartResponse_fields, resp);
	free(resp);
}

/* A deferred Wait's answer: the exit status and time. */
static void
answer_wait_cb(struct call *call, const struct ctrl_answer *ans)
{
	cssv_ControllerWaitResponse	resp = { 0 };

	resp.exit_status = ans->exit_status;
	resp.has_exited_at = true;
	resp.exited_at = ans->exited_at;
	call_finish(call, cssv_ControllerWaitResponse_fields, &resp);
}

/*
 * A deferred Stop's or Shutdown's answer: an empty message.  Both
 * responses have no fields, so they encode alike (to nothing).
 */
static void
answer_empty_cb(struct call *call, const struct ctrl_answer *ans)
{
	cssv_ControllerStopResponse	resp = { 0 };

	(void)ans;
	call_finish(call, cssv_ControllerStopResponse_fields, &resp);
}

/* Create: answered now, or once its network namespace is made. */
enum handler_result
h_ctrl_create(struct call *call, const void *reqp, void *respp)
{
	cssv_ControllerCreateRequest	*req = (void *)reqp;
	cssv_ControllerCreateResponse	*resp = respp;
	struct ctrl_create_req		 create = {
		.sandbox = req->has_sandbox ? &req->sandbox : NULL,
		.netns_path = req->netns_path,
		.options = req->has_options ? &req->options : NULL,
	};
	enum handler_result		 r;

	r = ctrl_create(call, req->sandbox_id, &create, answer_create_cb);
	if (r == HANDLER_DONE)
		memcpy(resp->sandbox_id, req->sandbox_id, sizeof(resp->sandbox_id));
	return (r);
}

/* Start answers once the init process has exec'd. */
enum handler_result
h_ctrl_start(struct call *call, const void *reqp, void *respp)
{
	const cssv_ControllerStartRequest	*req = reqp;

	(void)respp;
	return (ctrl_start(call, req->sandbox_id, answer_start_cb));
}

/* Platform: the host's OS and architecture. */
enum handler_result
h_ctrl_platform(struct call *call, const void *reqp, void *respp)
{
	const cssv_ControllerPlatformRequest	*req = reqp;
	cssv_ControllerPlatformResponse		*resp = respp;

	resp->has_platform = true;
	return (ctrl_platform(call, req->sandbox_id, &resp->platform));
}

/* Stop: answered at the exit (or at once if nothing runs). */
enum handler_result
h_ctrl_stop(struct call *call, const void *reqp, void *respp)
{
	const cssv_ControllerStopRequest	*req = reqp;

	(void)respp;
	return (ctrl_stop(call, req->sandbox_id, req->timeout_secs,
	    answer_empty_cb));
}

/* Wait: the exit now, or once it comes. */
enum handler_result
h_ctrl_wait(struct call *call, const void *reqp, void *respp)
{
	const cssv_ControllerWaitRequest	*req = reqp;
	cssv_ControllerWaitResponse		*resp = respp;

	resp->has_exited_at = true;
	return (ctrl_wait(call, req->sandbox_id, answer_wait_cb,
	    &resp->exit_status, &resp->exited_at));
}

/* Status: state, pid, times, and with verbose an info map. */
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

/* Shutdown: answered once the sandbox is gone. */
enum handler_result
h_ctrl_shutdown(struct call *call, const void *reqp, void *respp)
{
	const cssv_ControllerShutdownRequest	*req = reqp;

	(void)respp;
	return (ctrl_shutdown(call, req->sandbox_id, answer_empty_cb));
}

/* Metrics: the sandbox's usage as a sandboxd.v1.Metrics. */
enum handler_result
h_ctrl_metrics(struct call *call, const void *reqp, void *respp)
{
	const cssv_ControllerMetricsRequest	*req = reqp;
	cssv_ControllerMetricsResponse		*resp = respp;

	resp->has_metrics = true;
	return (ctrl_metrics(call, req->sandbox_id, &resp->metrics));
}

/* Update: field paths applied to the controller's copy. */
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
