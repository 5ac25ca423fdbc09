/*
 * sbc_ctrl.c: typed calls of containerd.services.sandbox.v1.Controller,
 * and the conversions of results the shim service shares with it.
 */
#include <stdlib.h>
#include <string.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "pbutil.h"
#include "sandboxd/v1/sandboxd.pb.h"
#include "sbc_int.h"
#include "xmalloc.h"

/* Copy a decoded Platform. */
void
sbc_platform_from_pb(struct sbc_platform *p, bool has, const ct_Platform *pb)
{
	memset(p, 0, sizeof *p);
	if (!has)
		return;
	memcpy(p->os, pb->os, sizeof p->os);
	memcpy(p->architecture, pb->architecture, sizeof p->architecture);
	memcpy(p->variant, pb->variant, sizeof p->variant);
	memcpy(p->os_version, pb->os_version, sizeof p->os_version);
}

/* Whether an Any's type URL names sandboxd's Metrics message. */
static bool
is_metrics_type(const char *type_url)
{
	const char	*slash;

	if (type_url == NULL)
		return (false);
	slash = strrchr(type_url, '/');
	return (strcmp(slash != NULL ? slash + 1 : type_url,
	    METRICS_TYPE_URL) == 0);
}

/* Copy a decoded Metric, with sandboxd's stats when data holds them. */
void
sbc_metrics_from_pb(struct sbc_metrics *mt, bool has, const ct_Metric *pb)
{
	sv_Metrics	stats = {0};

	memset(mt, 0, sizeof *mt);
	if (!has) {
		mt->id = xstrdup("");
		return;
	}
	sbc_ts_from_pb(&mt->timestamp, pb->has_timestamp, &pb->timestamp);
	mt->id = xstrdup(pb->id);
	sbc_any_from_pb(&mt->data, pb->has_data, &pb->data);
	if (!pb->has_data || !is_metrics_type(pb->data.type_url))
		return;
	if (!msg_decode(sv_Metrics_fields, &stats, pb->data.value.data,
	    pb->data.value.len, NULL))
		return;
	mt->has_stats = true;
	mt->cpu_usage_ns = stats.cpu_usage_ns;
	mt->cpu_user_ns = stats.cpu_user_ns;
	mt->cpu_system_ns = stats.cpu_system_ns;
	mt->rss_bytes = stats.rss_bytes;
	mt->pids = stats.pids;
}

/* Point the annotations of a create request at the caller's labels. */
static int
annotations_to_pb(const struct sbc_create_opts *o,
    cssv_ControllerCreateRequest *req, struct sbc_error *err)
{
	size_t	i, max = sizeof req->annotations / sizeof req->annotations[0];

	if (o->nannotations > max)
		return (sbc_error_set(err, STATUS_INVALID_ARGUMENT,
		    "too many annotations (%zu)", o->nannotations));
	for (i = 0; i < o->nannotations; i++) {
		req->annotations[i].key = (char *)o->annotations[i].key;
		req->annotations[i].value = (char *)o->annotations[i].value;
	}
	req->annotations_count = (pb_size_t)o->nannotations;
	return (0);
}

/* Fill a Controller.Create request. */
static int
ctrl_create_to_pb(const char *id, const struct sbc_create_opts *o,
    cssv_ControllerCreateRequest *req, struct sbc_error *err)
{
	int	code;

	if ((code = sbc_copy_str(req->sandbox_id, sizeof req->sandbox_id, id,
	    "sandbox id", err)) != 0)
		return (code);
	if (o == NULL)
		return (0);
	if ((code = sbc_copy_str(req->sandboxer, sizeof req->sandboxer,
	    o->sandboxer, "sandboxer", err)) != 0 ||
	    (code = annotations_to_pb(o, req, err)) != 0)
		return (code);
	sbc_any_to_pb(&o->options, &req->has_options, &req->options);
	if (o->netns_path != NULL)
		req->netns_path = (char *)o->netns_path;
	if (o->sandbox != NULL) {
		if ((code = sbc_meta_to_pb(o->sandbox, &req->sandbox, err)) != 0)
			return (code);
		req->has_sandbox = true;
	}
	return (0);
}

/* Controller.Create: prepare the instance of a sandbox (opts may be NULL). */
int
sbc_ctrl_create(struct sbc *c, const char *id,
    const struct sbc_create_opts *o, struct sbc_error *err)
{
	cssv_ControllerCreateRequest	*req;
	int				 code;

	req = xcalloc(1, sizeof *req);
	if ((code = ctrl_create_to_pb(id, o, req, err)) == 0)
		code = sbc_call(c, SERVICE_CONTROLLER, "Create",
		    cssv_ControllerCreateRequest_fields, req, NULL, NULL, NULL,
		    err);
	free(req);
	return (code);
}

/* Copy a decoded Controller.Start response. */
static void
ctrl_start_from_pb(struct sbc_start_info *si, const cssv_ControllerStartResponse *r)
{
	struct sbc_label	*labels;
	size_t			 i;

	memset(si, 0, sizeof *si);
	si->pid = r->pid;
	sbc_ts_from_pb(&si->created_at, r->has_created_at, &r->created_at);
	si->address = xstrdup(r->address != NULL ? r->address : "");
	si->version = r->version;
	labels = sbc_labels_new(r->labels_count);
	for (i = 0; i < r->labels_count; i++)
		sbc_label_set(&labels[i], r->labels[i].key, r->labels[i].value);
	si->labels = labels;
	si->nlabels = r->labels_count;
	sbc_any_from_pb(&si->spec, r->has_spec, &r->spec);
}

/* Controller.Start: start the sandbox's init; si (may be NULL) gets the pid. */
int
sbc_ctrl_start(struct sbc *c, const char *id, struct sbc_start_info *si,
    struct sbc_error *err)
{
	cssv_ControllerStartRequest	 req = {0};
	cssv_ControllerStartResponse	*resp;
	struct sbc_reply		 reply;
	int				 code;

	if ((code = sbc_copy_str(req.sandbox_id, sizeof req.sandbox_id, id,
	    "sandbox id", err)) != 0)
		return (code);
	resp = xcalloc(1, sizeof *resp);
	code = sbc_call(c, SERVICE_CONTROLLER, "Start",
	    cssv_ControllerStartRequest_fields, &req,
	    cssv_ControllerStartResponse_fields, resp, &reply, err);
	if (code == 0 && si != NULL)
		ctrl_start_from_pb(si, resp);
	sbc_reply_free(&reply);
	free(resp);
	return (code);
}

/* Controller.Platform: the host's platform (id may be NULL or ""). */
int
sbc_ctrl_platform(struct sbc *c, const char *id, struct sbc_platform *p,
    struct sbc_error *err)
{
	cssv_ControllerPlatformRequest	req = {0};
	cssv_ControllerPlatformResponse	resp = {0};
	struct sbc_reply		reply;
	int				code;

	if ((code = sbc_copy_str(req.sandbox_id, sizeof req.sandbox_id, id,
	    "sandbox id", err)) != 0)
		return (code);
	code = sbc_call(c, SERVICE_CONTROLLER, "Platform",
	    cssv_ControllerPlatformRequest_fields, &req,
	    cssv_ControllerPlatformResponse_fields, &resp, &reply, err);
	if (code == 0)
		sbc_platform_from_pb(p, resp.has_platform, &resp.platform);
	sbc_reply_free(&reply);
	return (code);
}

/* Controller.Stop: SIGTERM, SIGKILL after timeout_secs (0: at once). */
int
sbc_ctrl_stop(struct sbc *c, const char *id, uint32_t timeout_secs,
    struct sbc_error *err)
{
	cssv_ControllerStopRequest	req = {0};
	int				code;

	if ((code = sbc_copy_str(req.sandbox_id, sizeof req.sandbox_id, id,
	    "sandbox id", err)) != 0)
		return (code);
	req.timeout_secs = timeout_secs;
	return (sbc_call(c, SERVICE_CONTROLLER, "Stop",
	    cssv_ControllerStopRequest_fields, &req, NULL, NULL, NULL, err));
}

/* Controller.Wait: block until the sandbox's init exits. */
int
sbc_ctrl_wait(struct sbc *c, const char *id, uint32_t *exit_status,
    struct timespec *exited_at, struct sbc_error *err)
{
	cssv_ControllerWaitRequest	req = {0};
	cssv_ControllerWaitResponse	resp = {0};
	struct sbc_reply		reply;
	int				code;

	if ((code = sbc_copy_str(req.sandbox_id, sizeof req.sandbox_id, id,
	    "sandbox id", err)) != 0)
		return (code);
	code = sbc_call(c, SERVICE_CONTROLLER, "Wait",
	    cssv_ControllerWaitRequest_fields, &req,
	    cssv_ControllerWaitResponse_fields, &resp, &reply, err);
	if (code == 0 && exit_status != NULL)
		*exit_status = resp.exit_status;
	if (code == 0 && exited_at != NULL)
		sbc_ts_from_pb(exited_at, resp.has_exited_at, &resp.exited_at);
	sbc_reply_free(&reply);
	return (code);
}

/* Copy a decoded Controller.Status response. */
static void
ctrl_status_from_pb(struct sbc_status *st, const cssv_ControllerStatusResponse *r)
{
	struct sbc_label	*info;
	size_t			 i;

	memset(st, 0, sizeof *st);
	st->id = xstrdup(r->sandbox_id);
	st->pid = r->pid;
	st->state = xstrdup(r->state);
	info = sbc_labels_new(r->info_count);
	for (i = 0; i < r->info_count; i++)
		sbc_label_set(&info[i], r->info[i].key, r->info[i].value);
	st->info = info;
	st->ninfo = r->info_count;
	sbc_ts_from_pb(&st->created_at, r->has_created_at, &r->created_at);
	sbc_ts_from_pb(&st->exited_at, r->has_exited_at, &r->exited_at);
	st->address = xstrdup(r->address != NULL ? r->address : "");
	st->version = r->version;
	sbc_any_from_pb(&st->extra, r->has_extra, &r->extra);
}

/* Controller.Status: state, pid and times (and info when verbose). */
int
sbc_ctrl_status(struct sbc *c, const char *id, bool verbose,
    struct sbc_status *st, struct sbc_error *err)
{
	cssv_ControllerStatusRequest	 req = {0};
	cssv_ControllerStatusResponse	*resp;
	struct sbc_reply		 reply;
	int				 code;

	if ((code = sbc_copy_str(req.sandbox_id, sizeof req.sandbox_id, id,
	    "sandbox id", err)) != 0)
		return (code);
	req.verbose = verbose;
	resp = xcalloc(1, sizeof *resp);
	code = sbc_call(c, SERVICE_CONTROLLER, "Status",
	    cssv_ControllerStatusRequest_fields, &req,
	    cssv_ControllerStatusResponse_fields, resp, &reply, err);
	if (code == 0)
		ctrl_status_from_pb(st, resp);
	sbc_reply_free(&reply);
	free(resp);
	return (code);
}

/* Controller.Shutdown: kill, reap and forget the instance. */
int
sbc_ctrl_shutdown(struct sbc *c, const char *id, struct sbc_error *err)
{
	cssv_ControllerShutdownRequest	req = {0};
	int				code;

	if ((code = sbc_copy_str(req.sandbox_id, sizeof req.sandbox_id, id,
	    "sandbox id", err)) != 0)
		return (code);
	return (sbc_call(c, SERVICE_CONTROLLER, "Shutdown",
	    cssv_ControllerShutdownRequest_fields, &req, NULL, NULL, NULL,
	    err));
}

/* Controller.Metrics: CPU, memory and process count of the sandbox. */
int
sbc_ctrl_metrics(struct sbc *c, const char *id, struct sbc_metrics *mt,
    struct sbc_error *err)
{
	cssv_ControllerMetricsRequest	req = {0};
	cssv_ControllerMetricsResponse	resp = {0};
	struct sbc_reply		reply;
	int				code;

	if ((code = sbc_copy_str(req.sandbox_id, sizeof req.sandbox_id, id,
	    "sandbox id", err)) != 0)
		return (code);
	code = sbc_call(c, SERVICE_CONTROLLER, "Metrics",
	    cssv_ControllerMetricsRequest_fields, &req,
	    cssv_ControllerMetricsResponse_fields, &resp, &reply, err);
	if (code == 0)
		sbc_metrics_from_pb(mt, resp.has_metrics, &resp.metrics);
	sbc_reply_free(&reply);
	return (code);
}

/* Controller.Update: update the controller's copy of the metadata. */
int
sbc_ctrl_update(struct sbc *c, const struct sbc_meta *in,
    const char *const *fields, size_t nfields, struct sbc_error *err)
{
	cssv_ControllerUpdateRequest	*req;
	int				 code;

	req = xcalloc(1, sizeof *req);
	code = sbc_copy_str(req->sandbox_id, sizeof req->sandbox_id, in->id,
	    "sandbox id", err);
	if (code == 0)
		code = sbc_meta_to_pb(in, &req->sandbox, err);
	if (code == 0)
		code = sbc_copy_strs(req->fields[0], sizeof req->fields[0],
		    sizeof req->fields / sizeof req->fields[0],
		    &req->fields_count, fields, nfields, "field paths", err);
	if (code == 0) {
		req->has_sandbox = true;
		code = sbc_call(c, SERVICE_CONTROLLER, "Update",
		    cssv_ControllerUpdateRequest_fields, req, NULL, NULL, NULL,
		    err);
	}
	free(req);
	return (code);
}
