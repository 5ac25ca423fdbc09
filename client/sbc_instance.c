/*
 * sbc_instance.c: the calls on a sandbox's instance that the Controller
 * service and the shim Sandbox service both have (Platform, Stop, Wait,
 * Status, Shutdown, Metrics), with the conversions of their results.
 *
 * For these calls the shim's messages are the Controller's with fields
 * left out, never different ones: the same numbers and types, without the
 * sandboxer (10) this client never sends, and a status without address (8)
 * and version (9), which a shim's reply then leaves absent.  So one
 * function per call, on the Controller's generated messages, serves both
 * services, the way Store's Create, Update and Get share one response
 * (sbc_store.c); sbc_ctrl.c and sbc_shim.c name the service and method.
 */
#include <stdlib.h>
#include <string.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "sandboxd/v1/sandboxd.pb.h"
#include "sbc_int.h"

/*
 * Call a method whose request is only the sandbox id; resp (NULL: the
 * reply is empty) lives in reply, which is always set for sbc_reply_free.
 * StoreGetRequest stands for every such request: { string sandbox_id = 1; }
 * is all of them this client sends (an empty sandboxer is not encoded).
 */
int
sbc_call_id(struct sbc *c, const char *service, const char *method,
    const char *id, const pb_msgdesc_t *resp_fields, void *resp,
    struct sbc_reply *reply, struct sbc_error *err)
{
	cssv_StoreGetRequest	req = {0};
	int			code;

	if (reply != NULL)
		memset(reply, 0, sizeof *reply);
	if ((code = sbc_copy_str(req.sandbox_id, sizeof req.sandbox_id, id,
	    "sandbox id", err)) != 0)
		return (code);
	return (sbc_call(c, service, method, cssv_StoreGetRequest_fields, &req,
	    resp_fields, resp, reply, err));
}

/* Copy a decoded Platform. */
static void
copy_platform(struct sbc_platform *p, bool has, const ct_Platform *pb)
{
	memset(p, 0, sizeof *p);
	if (!has)
		return;
	memcpy(p->os, pb->os, sizeof p->os);
	memcpy(p->architecture, pb->architecture, sizeof p->architecture);
	memcpy(p->variant, pb->variant, sizeof p->variant);
	memcpy(p->os_version, pb->os_version, sizeof p->os_version);
}

/* Platform: the host's platform. */
int
sbc_inst_platform(struct sbc *c, const char *service, const char *method,
    const char *id, struct sbc_platform *p, struct sbc_error *err)
{
	cssv_ControllerPlatformResponse	resp = {0};
	struct sbc_reply		reply;
	int				code;

	code = sbc_call_id(c, service, method, id,
	    cssv_ControllerPlatformResponse_fields, &resp, &reply, err);
	if (code == 0)
		copy_platform(p, resp.has_platform, &resp.platform);
	sbc_reply_free(&reply);
	return (code);
}

/* Stop: SIGTERM, SIGKILL after timeout_secs (0: at once). */
int
sbc_inst_stop(struct sbc *c, const char *service, const char *method,
    const char *id, uint32_t timeout_secs, struct sbc_error *err)
{
	cssv_ControllerStopRequest	req = {0};
	int				code;

	if ((code = sbc_copy_str(req.sandbox_id, sizeof req.sandbox_id, id,
	    "sandbox id", err)) != 0)
		return (code);
	req.timeout_secs = timeout_secs;
	return (sbc_call(c, service, method, cssv_ControllerStopRequest_fields,
	    &req, NULL, NULL, NULL, err));
}

/* Wait: block until the init exits; either result may be NULL. */
int
sbc_inst_wait(struct sbc *c, const char *service, const char *method,
    const char *id, uint32_t *exit_status, struct timespec *exited_at,
    struct sbc_error *err)
{
	cssv_ControllerWaitResponse	resp = {0};
	struct sbc_reply		reply;
	int				code;

	code = sbc_call_id(c, service, method, id,
	    cssv_ControllerWaitResponse_fields, &resp, &reply, err);
	if (code == 0 && exit_status != NULL)
		*exit_status = resp.exit_status;
	if (code == 0 && exited_at != NULL)
		sbc_ts_from_pb(exited_at, resp.has_exited_at, &resp.exited_at);
	sbc_reply_free(&reply);
	return (code);
}

/*
 * Copy a decoded status; a shim's has no address, which reads as "".
 * 0 or SBC_ERR_NOMEM (st then left empty).
 */
static int
copy_status(struct sbc_status *st, const cssv_ControllerStatusResponse *r)
{
	struct sbc_label	*info;
	size_t			 i;
	int			 code;

	memset(st, 0, sizeof *st);
	st->pid = r->pid;
	st->version = r->version;
	sbc_ts_from_pb(&st->created_at, r->has_created_at, &r->created_at);
	sbc_ts_from_pb(&st->exited_at, r->has_exited_at, &r->exited_at);
	st->id = sbc_strdup(r->sandbox_id);
	st->state = sbc_strdup(r->state);
	st->address = sbc_strdup(r->address != NULL ? r->address : "");
	st->info = info = sbc_labels_new(r->info_count);
	st->ninfo = r->info_count;
	code = st->id != NULL && st->state != NULL && st->address != NULL &&
	    info != NULL ? 0 : SBC_ERR_NOMEM;
	for (i = 0; code == 0 && i < r->info_count; i++)
		code = sbc_label_set(&info[i], r->info[i].key,
		    r->info[i].value);
	if (code == 0)
		code = sbc_any_from_pb(&st->extra, r->has_extra, &r->extra);
	if (code != 0)
		sbc_status_free(st);
	return (code);
}

/* Status: state, pid and times (and info when verbose). */
int
sbc_inst_status(struct sbc *c, const char *service, const char *method,
    const char *id, bool verbose, struct sbc_status *st,
    struct sbc_error *err)
{
	cssv_ControllerStatusRequest	 req = {0};
	cssv_ControllerStatusResponse	*resp;
	struct sbc_reply		 reply;
	int				 code;

	if ((code = sbc_copy_str(req.sandbox_id, sizeof req.sandbox_id, id,
	    "sandbox id", err)) != 0)
		return (code);
	req.verbose = verbose;
	if ((resp = sbc_calloc(1, sizeof *resp)) == NULL)
		return (sbc_error_nomem(err));
	code = sbc_call(c, service, method, cssv_ControllerStatusRequest_fields,
	    &req, cssv_ControllerStatusResponse_fields, resp, &reply, err);
	if (code == 0 && copy_status(st, resp) != 0)
		code = sbc_error_nomem(err);
	sbc_reply_free(&reply);
	free(resp);
	return (code);
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

/*
 * Copy a decoded Metric, with sandboxd's stats when data holds them: 0,
 * or SBC_ERR_NOMEM (mt then left empty).
 */
static int
copy_metrics(struct sbc_metrics *mt, bool has, const ct_Metric *pb)
{
	sv_Metrics	stats = {0};

	memset(mt, 0, sizeof *mt);
	if (has)
		sbc_ts_from_pb(&mt->timestamp, pb->has_timestamp,
		    &pb->timestamp);
	if ((mt->id = sbc_strdup(has ? pb->id : "")) == NULL ||
	    (has && sbc_any_from_pb(&mt->data, pb->has_data, &pb->data) != 0)) {
		sbc_metrics_free(mt);
		return (SBC_ERR_NOMEM);
	}
	if (!has || !pb->has_data || !is_metrics_type(pb->data.type_url))
		return (0);
	if (!sbc_msg_decode(sv_Metrics_fields, &stats, pb->data.value.data,
	    pb->data.value.len, NULL))
		return (0);
	mt->has_stats = true;
	mt->cpu_usage_ns = stats.cpu_usage_ns;
	mt->cpu_user_ns = stats.cpu_user_ns;
	mt->cpu_system_ns = stats.cpu_system_ns;
	mt->rss_bytes = stats.rss_bytes;
	mt->pids = stats.pids;
	return (0);
}

/* Metrics: CPU, memory and process count of the sandbox. */
int
sbc_inst_metrics(struct sbc *c, const char *service, const char *method,
    const char *id, struct sbc_metrics *mt, struct sbc_error *err)
{
	cssv_ControllerMetricsResponse	resp = {0};
	struct sbc_reply		reply;
	int				code;

	code = sbc_call_id(c, service, method, id,
	    cssv_ControllerMetricsResponse_fields, &resp, &reply, err);
	if (code == 0 && copy_metrics(mt, resp.has_metrics,
	    &resp.metrics) != 0)
		code = sbc_error_nomem(err);
	sbc_reply_free(&reply);
	return (code);
}
