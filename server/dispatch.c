/*
 * dispatch.c: the method table and the one dispatcher.
 *
 * A request frame's payload is a ttrpc Request envelope; the dispatcher
 * decodes it, finds {service, method} in the table, takes the namespace
 * from the metadata, decodes the method's request message, calls the
 * handler and turns its result into an answer (or leaves a deferred call
 * to its handler).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "handlers.h"
#include "msgpool.h"
#include "pbutil.h"
#include "protocol.h"
#include "server.h"
#include "storage.h"
#include "validate.h"
#include "xmalloc.h"

#include "ttrpc.pb.h"
#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "containerd/runtime/sandbox/v1/sandbox.pb.h"
#include "containerd/task/v2/shim.pb.h"
#include "sandboxd/v1/admin.pb.h"
#include "sandboxd/v1/handover.pb.h"

struct method {
	const char		*service;
	const char		*name;
	const pb_msgdesc_t	*req_fields;
	size_t			 req_size;
	const pb_msgdesc_t	*resp_fields;
	size_t			 resp_size;
	handler_fn		 handler;
	bool			 carried;	/* deferred: kept across a re-exec */
	bool			 resp_unused;	/* see RESP_UNUSED */
	bool			 kept;		/* see KEPT */
};

#define METHOD(svc, m, req, resp, fn, ...) {			\
	.service = (svc), .name = (m),					\
	.req_fields = req##_fields, .req_size = sizeof(req),		\
	.resp_fields = resp##_fields, .resp_size = sizeof(resp),	\
	.handler = (fn), __VA_ARGS__ }

/* A method whose deferred calls a re-exec carries to the new image. */
#define CARRIED(svc, m, req, resp, fn, ...) {			\
	.service = (svc), .name = (m),					\
	.req_fields = req##_fields, .req_size = sizeof(req),		\
	.resp_fields = resp##_fields, .resp_size = sizeof(resp),	\
	.handler = (fn), .carried = true, __VA_ARGS__ }

/*
 * The handler never writes the response message it is given: it answers
 * with bytes already encoded, an error, an empty message, or later with
 * one of its own.  Its calls all get one shared zeroed response instead
 * of a fresh one each (a StoreGetResponse alone is 14 KiB to clear).
 * Debug builds check that it stays zeroed.
 */
#define RESP_UNUSED	.resp_unused = true

/*
 * A Wait: a call that may stay pending for days, and that a daemon
 * restarted after a crash can simply dispatch again.  Its request is
 * recorded in the connection's keeper slot (keep.c), so that the
 * connection survives the crash with it pending.
 */
#define KEPT		.kept = true

static const struct method methods[] = {
	METHOD(SERVICE_STORE, "Create", cssv_StoreCreateRequest,
	    cssv_StoreCreateResponse, h_store_create, RESP_UNUSED),
	METHOD(SERVICE_STORE, "Update", cssv_StoreUpdateRequest,
	    cssv_StoreUpdateResponse, h_store_update, RESP_UNUSED),
	METHOD(SERVICE_STORE, "Delete", cssv_StoreDeleteRequest,
	    cssv_StoreDeleteResponse, h_store_delete, RESP_UNUSED),
	METHOD(SERVICE_STORE, "List", cssv_StoreListRequest,
	    cssv_StoreListResponse, h_store_list, RESP_UNUSED),
	METHOD(SERVICE_STORE, "Get", cssv_StoreGetRequest,
	    cssv_StoreGetResponse, h_store_get, RESP_UNUSED),

	METHOD(SERVICE_CONTROLLER, "Create", cssv_ControllerCreateRequest,
	    cssv_ControllerCreateResponse, h_ctrl_create),
	METHOD(SERVICE_CONTROLLER, "Start", cssv_ControllerStartRequest,
	    cssv_ControllerStartResponse, h_ctrl_start, RESP_UNUSED),
	METHOD(SERVICE_CONTROLLER, "Platform", cssv_ControllerPlatformRequest,
	    cssv_ControllerPlatformResponse, h_ctrl_platform),
	CARRIED(SERVICE_CONTROLLER, "Stop", cssv_ControllerStopRequest,
	    cssv_ControllerStopResponse, h_ctrl_stop, RESP_UNUSED),
	CARRIED(SERVICE_CONTROLLER, "Wait", cssv_ControllerWaitRequest,
	    cssv_ControllerWaitResponse, h_ctrl_wait, KEPT),
	METHOD(SERVICE_CONTROLLER, "Status", cssv_ControllerStatusRequest,
	    cssv_ControllerStatusResponse, h_ctrl_status),
	METHOD(SERVICE_CONTROLLER, "Shutdown", cssv_ControllerShutdownRequest,
	    cssv_ControllerShutdownResponse, h_ctrl_shutdown, RESP_UNUSED),
	METHOD(SERVICE_CONTROLLER, "Metrics", cssv_ControllerMetricsRequest,
	    cssv_ControllerMetricsResponse, h_ctrl_metrics),
	METHOD(SERVICE_CONTROLLER, "Update", cssv_ControllerUpdateRequest,
	    cssv_ControllerUpdateResponse, h_ctrl_update, RESP_UNUSED),
	METHOD(SERVICE_SHIM, "CreateSandbox", crsv_CreateSandboxRequest,
	    crsv_CreateSandboxResponse, h_shim_create, RESP_UNUSED),
	METHOD(SERVICE_SHIM, "StartSandbox", crsv_StartSandboxRequest,
	    crsv_StartSandboxResponse, h_shim_start, RESP_UNUSED),
	METHOD(SERVICE_SHIM, "Platform", crsv_PlatformRequest,
	    crsv_PlatformResponse, h_shim_platform),
	CARRIED(SERVICE_SHIM, "StopSandbox", crsv_StopSandboxRequest,
	    crsv_StopSandboxResponse, h_shim_stop, RESP_UNUSED),
	CARRIED(SERVICE_SHIM, "WaitSandbox", crsv_WaitSandboxRequest,
	    crsv_WaitSandboxResponse, h_shim_wait, KEPT),
	METHOD(SERVICE_SHIM, "SandboxStatus", crsv_SandboxStatusRequest,
	    crsv_SandboxStatusResponse, h_shim_status),
	METHOD(SERVICE_SHIM, "PingSandbox", crsv_PingRequest,
	    crsv_PingResponse, h_shim_ping, RESP_UNUSED),
	METHOD(SERVICE_SHIM, "ShutdownSandbox", crsv_ShutdownSandboxRequest,
	    crsv_ShutdownSandboxResponse, h_shim_shutdown, RESP_UNUSED),
	METHOD(SERVICE_SHIM, "SandboxMetrics", crsv_SandboxMetricsRequest,
	    crsv_SandboxMetricsResponse, h_shim_metrics),

	/* Checkpoint, missing here, answers Unimplemented by name. */
	METHOD(SERVICE_TASK, "Create", ctv_CreateTaskRequest,
	    ctv_CreateTaskResponse, h_task_create),
	METHOD(SERVICE_TASK, "Start", ctv_StartRequest, ctv_StartResponse,
	    h_task_start),
	METHOD(SERVICE_TASK, "Delete", ctv_DeleteRequest, ctv_DeleteResponse,
	    h_task_delete),
	METHOD(SERVICE_TASK, "Exec", ctv_ExecProcessRequest, ctv_Empty,
	    h_task_exec),
	METHOD(SERVICE_TASK, "State", ctv_StateRequest, ctv_StateResponse,
	    h_task_state),
	CARRIED(SERVICE_TASK, "Wait", ctv_WaitRequest, ctv_WaitResponse,
	    h_task_wait, KEPT),
	METHOD(SERVICE_TASK, "Kill", ctv_KillRequest, ctv_Empty, h_task_kill),
	METHOD(SERVICE_TASK, "ResizePty", ctv_ResizePtyRequest, ctv_Empty,
	    h_task_resize_pty),
	METHOD(SERVICE_TASK, "CloseIO", ctv_CloseIORequest, ctv_Empty,
	    h_task_close_io),
	METHOD(SERVICE_TASK, "Stats", ctv_StatsRequest, ctv_StatsResponse,
	    h_task_stats),
	METHOD(SERVICE_TASK, "Update", ctv_UpdateTaskRequest, ctv_Empty,
	    h_task_update),
	METHOD(SERVICE_TASK, "Pause", ctv_PauseRequest, ctv_Empty,
	    h_task_pause),
	METHOD(SERVICE_TASK, "Resume", ctv_ResumeRequest, ctv_Empty,
	    h_task_resume),
	METHOD(SERVICE_TASK, "Connect", ctv_ConnectRequest, ctv_ConnectResponse,
	    h_task_connect),
	METHOD(SERVICE_TASK, "Pids", ctv_PidsRequest, ctv_PidsResponse,
	    h_task_pids),
	METHOD(SERVICE_TASK, "Shutdown", ctv_ShutdownRequest, ctv_Empty,
	    h_task_shutdown, RESP_UNUSED),

	METHOD(SERVICE_ADMIN, "ListInstances", sv_ListInstancesRequest,
	    sv_ListInstancesResponse, h_admin_list_instances),
	CARRIED(SERVICE_ADMIN, "Reexec", sv_ReexecRequest, sv_ReexecResponse,
	    reexec_handler),
	METHOD(SERVICE_ADMIN, "SetEventsAddress", sv_SetEventsAddressRequest,
	    sv_SetEventsAddressResponse, h_admin_set_events_address),
};

/* Find a method; *service_known tells Unimplemented service from method. */
static const struct method *
dispatch_lookup(const char *service, const char *name, bool *service_known)
{
	size_t	i;

	*service_known = false;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strcmp(methods[i].service, service) != 0)
			continue;
		*service_known = true;
		if (strcmp(methods[i].name, name) == 0)
			return (&methods[i]);
	}
	return (NULL);
}

/*
 * The request's containerd namespace: metadata key
 * containerd-namespace-ttrpc, else containerd-namespace (keys compare
 * case-insensitively).  NULL if absent.
 */
static const char *
dispatch_namespace(const t_Request *req)
{
	const char	*grpc = NULL;
	pb_size_t	 i;

	for (i = 0; i < req->metadata_count; i++) {
		const char *key = req->metadata[i].key;

		if (key == NULL)
			continue;
		if (strcasecmp(key, MD_NAMESPACE_TTRPC) == 0)
			return (req->metadata[i].value != NULL ?
			    req->metadata[i].value : "");
		if (strcasecmp(key, MD_NAMESPACE_GRPC) == 0 && grpc == NULL)
			grpc = req->metadata[i].value != NULL ?
			    req->metadata[i].value : "";
	}
	return (grpc);
}

/*
 * Absolute CLOCK_MONOTONIC deadline of a request, 0 for none.  A timeout
 * that would carry the deadline past INT64_MAX (about 292 years of
 * uptime) is none, not a wrapped one in the past.
 */
static int64_t
dispatch_deadline(int64_t timeout_nano)
{
	struct timespec	now;
	int64_t		nowns;

	if (timeout_nano <= 0)
		return (0);
	clock_gettime(CLOCK_MONOTONIC, &now);
	nowns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	if (timeout_nano > INT64_MAX - nowns)
		return (0);
	return (nowns + timeout_nano);
}

/*
 * Whether a method only reads: the ones a read-only store still serves
 * (store_readonly).  Wait changes nothing itself; Reexec opens the store
 * again, which is how a freed disk is taken back without a restart.
 */
static bool
dispatch_reads_only(const struct method *m)
{
	static const char *const readers[] = { "Get", "List", "Status",
	    "Platform", "Wait", "Metrics", "WaitSandbox", "SandboxStatus",
	    "PingSandbox", "SandboxMetrics", "Pids", "Connect", "State",
	    "Stats",
	    "ListInstances", "Reexec" };
	size_t	i;

	for (i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
		if (strcmp(m->name, readers[i]) == 0)
			return (true);
	return (false);
}

/* Check the envelope; on failure the call is answered and NULL returned. */
static const struct method *
dispatch_route(struct call *call, const t_Request *req)
{
	const struct method	*m;
	const char		*ns;
	bool			 service_known;
	char			*cause = NULL, *msg;

	m = dispatch_lookup(req->service, req->method, &service_known);
	if (m == NULL) {
		xasprintf(&msg, service_known ? "method %s" : "service %s",
		    service_known ? req->method : req->service);
		call_park_error(call, STATUS_UNIMPLEMENTED, msg);
		free(msg);
		return (NULL);
	}
	if ((ns = dispatch_namespace(req)) == NULL) {
		call_park_error(call, STATUS_FAILED_PRECONDITION,
		    "namespace is required");
		return (NULL);
	}
	if (validate_identifier("namespace", ns, &cause) == -1) {
		call_park_error(call, STATUS_INVALID_ARGUMENT, cause);
		free(cause);
		return (NULL);
	}
	if (store_readonly() != NULL && !dispatch_reads_only(m)) {
		xasprintf(&msg, "sandboxd is read-only: %s", store_readonly());
		call_park_error(call, STATUS_UNAVAILABLE, msg);
		free(msg);
		return (NULL);
	}
	call_set_namespace(call, ns);
	call_set_deadline(call, dispatch_deadline(req->timeout_nano));
	return (m);
}

/*
 * Zeroed memory for a message of size bytes, from the pool: what decoding
 * (msg_decode_zeroed) and the handlers' partly filled responses expect.
 */
static void *
dispatch_msg_new(size_t size)
{
	void	*p = msgpool_get(size);

	memset(p, 0, size);
	return (p);
}

/* The one response the RESP_UNUSED methods share: zeroed, never written. */
static void *
dispatch_shared_resp(void)
{
	static void	*resp;
	size_t		 i, size = 0;

	if (resp != NULL)
		return (resp);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].resp_unused && methods[i].resp_size > size)
			size = methods[i].resp_size;
	resp = xcalloc(1, size);
	return (resp);
}

/* The response a call of m may fill. */
static void *
dispatch_resp_new(struct call *call, const struct method *m)
{
	void	*resp;

	if (m->resp_unused)
		return (dispatch_shared_resp());
	/* A deferred handler may answer with resp later: it lives as long
	 * as the call. */
	resp = dispatch_msg_new(m->resp_size);
	call_own_fn(call, msgpool_put, resp);
	return (resp);
}

/* Debug builds: a RESP_UNUSED handler left the shared response alone. */
static void
dispatch_check_shared(const struct method *m)
{
#ifndef NDEBUG
	const uint8_t	*p = dispatch_shared_resp();
	size_t		 i;

	if (!m->resp_unused)
		return;
	for (i = 0; i < m->resp_size; i++)
		if (p[i] != 0)
			fatalx("%s.%s wrote the shared response: it is not "
			    "RESP_UNUSED", m->service, m->name);
#else
	(void)m;
#endif
}

/* Decode the method's request, run the handler, answer or leave deferred. */
static void
dispatch_call(struct call *call, const struct method *m, struct pb_view body)
{
	void			*req, *resp;
	char			*cause = NULL, *msg;
	enum handler_result	 r;

	req = dispatch_msg_new(m->req_size);
	if (!msg_decode_zeroed(m->req_fields, req, body.data, body.len,
	    &cause)) {
		xasprintf(&msg, "cannot decode %s.%s request: %s", m->service,
		    m->name, cause);
		call_park_error(call, STATUS_INVALID_ARGUMENT, msg);
		free(msg);
		free(cause);
		msgpool_put(req);
		return;
	}
	resp = dispatch_resp_new(call, m);
	r = m->handler(call, req, resp);
	msg_release(m->req_fields, req);
	msgpool_put(req);
	dispatch_check_shared(m);
	switch (r) {
	case HANDLER_DONE:
		call_park_response(call, m->resp_fields, resp);
		break;
	case HANDLER_ERROR:
		call_park_error(call, call_error_code(call),
		    call_error_message(call));
		break;
	case HANDLER_DEFERRED:
		/* A Shutdown may have answered at once: the copy is freed
		 * with the call all the same. */
		if (m->carried)
			call_set_carry(call, m->service, m->name, body.data,
			    body.len);
		call_arm_deadline(call, server_base);
		break;
	}
}

/* Serve a request frame's payload as call. */
static void
dispatch_frame(struct conn *c, struct call *call, uint32_t stream_id,
    const uint8_t *payload, size_t len)
{
	t_Request		 req = { 0 };
	const struct method	*m;
	char			*cause = NULL, *msg;

	if (!msg_decode_zeroed(t_Request_fields, &req, payload, len,
	    &cause)) {
		xasprintf(&msg, "cannot decode request: %s", cause);
		call_park_error(call, STATUS_INVALID_ARGUMENT, msg);
		free(msg);
		free(cause);
		return;
	}
	log_debug("conn %llu stream %u: %s.%s", (unsigned long long)c->id,
	    stream_id, req.service, req.method);
	if ((m = dispatch_route(call, &req)) != NULL) {
		if (m->kept)
			call_keep_record(call, payload, len);
		dispatch_call(call, m, req.payload);
	}
	msg_release(t_Request_fields, &req);
}

/* Serve one request frame's payload. */
void
dispatch_request(struct conn *c, uint32_t stream_id, const uint8_t *payload,
    size_t len)
{
	dispatch_frame(c, call_new(c, stream_id), stream_id, payload, len);
}

/*
 * Dispatch again a Wait that the previous daemon recorded in entry of c's
 * keeper slot before it crashed, as if the peer had just sent it; the
 * call is that entry.  Its timeout_nano counts from now.
 */
void
dispatch_recorded(struct conn *c, int entry, uint32_t stream_id,
    const uint8_t *payload, size_t len)
{
	struct call	*call;

	call = call_new(c, stream_id);
	call_keep_bind(call, entry);
	dispatch_frame(c, call, stream_id, payload, len);
}

/*
 * Dispatch again a call carried across a re-exec, as if it had just come
 * on c: same stream id, its original absolute deadline (CLOCK_MONOTONIC is
 * the machine's, so it means the same in the new image).
 */
void
dispatch_carried(struct conn *c, const sv_HandoverCall *hc)
{
	const struct method	*m;
	struct call		*call;
	struct pb_view		 body;
	bool			 service_known;
	char			*cause = NULL;

	call = call_new(c, hc->stream_id);
	/* A Wait the old image recorded is still that entry of the slot. */
	call_keep_bind(call, keep_find(c, hc->stream_id));
	m = dispatch_lookup(hc->service != NULL ? hc->service : "",
	    hc->method != NULL ? hc->method : "", &service_known);
	if (m == NULL || !m->carried) {
		log_warnx("conn %llu stream %u: carried call %s.%s is not one "
		    "this version carries", (unsigned long long)c->id,
		    hc->stream_id, hc->service, hc->method);
		call_park_error(call, STATUS_INTERNAL, "the call was lost in "
		    "a re-execution of sandboxd");
		return;
	}
	if (validate_identifier("namespace", hc->namespace != NULL ?
	    hc->namespace : "", &cause) == -1) {
		call_park_error(call, STATUS_INTERNAL, cause);
		free(cause);
		return;
	}
	call_set_namespace(call, hc->namespace);
	call_set_deadline(call, hc->deadline);
	body.data = hc->payload.data;
	body.len = hc->payload.len;
	dispatch_call(call, m, body);
}
