/*
 * ctrl_info.c: the controller's read-only answers: Status, Metrics,
 * Platform.
 */
#include <sys/utsname.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "instance.h"
#include "pbutil.h"
#include "pod.h"
#include "procmgr.h"
#include "protocol.h"
#include "storage.h"
#include "xmalloc.h"

static const char *const state_words[] = {
	[SB_STATE_CREATED] = "created",
	[SB_STATE_RUNNING] = "running",
	[SB_STATE_STOPPING] = "stopping",
	[SB_STATE_STOPPED] = "stopped",
	[SB_STATE_UNKNOWN] = "unknown",
};

/* Add one info entry (key and value copied into call memory). */
static void
info_add(struct call *call, struct ctrl_status *st, const char *key,
    const char *fmt, ...) __attribute__((__format__(__printf__, 4, 5)));

static void
info_add(struct call *call, struct ctrl_status *st, const char *key,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*value;

	if (st->ninfo == CTRL_INFO_MAX)
		return;
	va_start(ap, fmt);
	xvasprintf(&value, fmt, ap);
	va_end(ap);
	call_own(call, value);
	st->info[st->ninfo].key = key;
	st->info[st->ninfo].value = value;
	st->ninfo++;
}

/* Add a time entry in RFC 3339 form, UTC. */
static void
info_add_time(struct call *call, struct ctrl_status *st, const char *key,
    const gp_Timestamp *ts)
{
	struct tm	tm;
	time_t		t = (time_t)ts->seconds;
	char		buf[40];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	info_add(call, st, key, "%s.%09dZ", buf, ts->nanos);
}

/* What pod_config_info reports goes here: the call and the status. */
struct info_sink {
	struct call		*call;
	struct ctrl_status	*st;
};

/* Take one entry of the pod's info (value malloc'd, handed over). */
static void
info_add_pod_cb(const char *key, char *value, void *arg)
{
	struct info_sink	*sink = arg;

	info_add(sink->call, sink->st, key, "%s", value);
	free(value);
}

/* The pod a CRI Create described, from the record. */
static void
status_pod_info(struct call *call, const sv_Instance *rec,
    struct ctrl_status *st)
{
	struct info_sink	 sink = { call, st };
	struct pod_config	*pod;
	char			*cause = NULL;

	if (rec->pod_config.len == 0)
		return;
	if ((pod = pod_config_parse(rec->pod_config.data, rec->pod_config.len,
	    &cause)) == NULL) {
		info_add(call, st, "pod", "unreadable: %s", cause);
		free(cause);
		return;
	}
	pod_config_info(pod, info_add_pod_cb, &sink);
	pod_config_free(pod);
}

/* The verbose part of Status: what helps someone debugging a sandbox. */
static void
status_info(struct call *call, const struct instance *inst,
    struct ctrl_status *st)
{
	struct inst_record	*rec = NULL;
	char			*cause = NULL, *dir;

	info_add(call, st, "state", "%s", state_words[inst->state]);
	info_add(call, st, "namespace", "%s", inst->ns);
	if (inst_load(inst->ns, inst->id, &rec, &cause) == 1) {
		info_add(call, st, "runtime", "%s", rec->inst->sandbox.runtime.name);
		status_pod_info(call, rec->inst, st);
		inst_record_free(rec);
	}
	if (inst->owner_bundle != NULL)
		info_add(call, st, "containerd_bundle", "%s", inst->owner_bundle);
	free(cause);
	info_add(call, st, "netns_path", "%s",
	    inst->netns_path != NULL ? inst->netns_path : "");
	info_add(call, st, "netns_owned", "%s",
	    inst->netns_owned ? "true" : "false");
	if (inst->pid != 0) {
		info_add(call, st, "pid", "%u", inst->pid);
		info_add(call, st, "start_time", "%llu",
		    (unsigned long long)inst->start_time);
		info_add_time(call, st, "started_at", &inst->started_at);
	}
	if (inst->state == SB_STATE_STOPPED)
		info_add(call, st, "exit_status", "%u", inst->exit_status);
	if (inst->adopted)
		info_add(call, st, "adopted", "true: re-adopted after a daemon "
		    "restart; not its child, so its exit status comes from "
		    "the kernel's record of it (255 where none is kept)");
	dir = inst_bundle_dir(inst);
	info_add(call, st, "bundle", "%s", dir);
	free(dir);
	dir = inst_log_path(inst);
	info_add(call, st, "log_path", "%s", dir);
	free(dir);
}

/* Status: state, pid, times; with verbose, an info map. */
enum handler_result
ctrl_status(struct call *call, const char *id, bool verbose,
    struct ctrl_status *st)
{
	struct instance	*inst;

	if ((inst = inst_get_or_fail(call, id)) == NULL)
		return (HANDLER_ERROR);
	memset(st, 0, sizeof(*st));
	st->state = inst_state_name(inst);
	st->pid = inst->pid;
	st->created_at = inst->created_at;
	st->exited = inst->state == SB_STATE_STOPPED;
	st->exited_at = inst->exited_at;
	if (verbose)
		status_info(call, inst, st);
	return (HANDLER_DONE);
}

/* Metrics: CPU, memory and process count of the sandbox, from /proc. */
enum handler_result
ctrl_metrics(struct call *call, const char *id, ct_Metric *m)
{
	struct instance		*inst;
	struct proc_usage	 u;
	sv_Metrics		 sm = { 0 };
	uint8_t			*buf;
	size_t			 len;

	if ((inst = inst_get_or_fail(call, id)) == NULL)
		return (HANDLER_ERROR);
	if (inst->proc == NULL || proc_read_usage((pid_t)inst->pid, &u) == -1)
		return (call_fail(call, STATUS_FAILED_PRECONDITION, "sandbox "
		    "\"%s\" is not running", id));
	sm.cpu_user_ns = u.cpu_user_ns;
	sm.cpu_system_ns = u.cpu_system_ns;
	sm.cpu_usage_ns = u.cpu_user_ns + u.cpu_system_ns;
	sm.rss_bytes = u.rss_bytes;
	sm.pids = u.pids;
	if (!msg_encode(sv_Metrics_fields, &sm, &buf, &len, NULL))
		return (call_fail(call, STATUS_INTERNAL, "cannot encode metrics"));
	call_own(call, buf);
	ts_now(&m->timestamp);
	m->has_timestamp = true;
	snprintf(m->id, sizeof(m->id), "%s", id);
	m->has_data = true;
	m->data.type_url = call_strdup(call, METRICS_TYPE_URL);
	m->data.value.data = buf;
	m->data.value.len = len;
	return (HANDLER_DONE);
}

/* uname's machine name as Go's GOARCH (and GOARM variant). */
static void
platform_arch(const char *machine, ct_Platform *p)
{
	static const struct {
		const char	*machine, *arch, *variant;
	} table[] = {
		{ "x86_64", "amd64", "" },
		{ "aarch64", "arm64", "v8" },
		{ "armv7l", "arm", "v7" },
		{ "armv6l", "arm", "v6" },
		{ "i686", "386", "" },
		{ "i386", "386", "" },
		{ "ppc64le", "ppc64le", "" },
		{ "s390x", "s390x", "" },
		{ "riscv64", "riscv64", "" },
		{ "loongarch64", "loong64", "" },
		{ "mips64", "mips64", "" },
	};
	size_t	i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(machine, table[i].machine) == 0) {
			snprintf(p->architecture, sizeof(p->architecture), "%s",
			    table[i].arch);
			snprintf(p->variant, sizeof(p->variant), "%s",
			    table[i].variant);
			return;
		}
	}
	/* Unknown to the table: uname's own name, cut to the field. */
	memcpy(p->architecture, machine, strnlen(machine,
	    sizeof(p->architecture) - 1));
}

/* Platform: the host's OS and architecture, for a known sandbox. */
enum handler_result
ctrl_platform(struct call *call, const char *id, ct_Platform *p)
{
	struct utsname	 u;

	if (inst_get_or_fail(call, id) == NULL)
		return (HANDLER_ERROR);
	snprintf(p->os, sizeof(p->os), "linux");
	if (uname(&u) == 0)
		platform_arch(u.machine, p);
	return (HANDLER_DONE);
}

/* What ctrl_list_instances walks with: the caller's callback. */
struct list_walk {
	ctrl_instance_fn	 fn;
	void			*arg;
};

/* Describe one instance to the caller's callback. */
static void
list_one_cb(struct instance *inst, void *arg)
{
	struct list_walk		*walk = arg;
	struct ctrl_instance_info	 info = { 0 };
	struct inst_record		*rec = NULL;
	char				*cause = NULL;

	info.ns = inst->ns;
	info.id = inst->id;
	info.state = state_words[inst->state];
	info.pid = inst->pid;
	info.created_at = inst->created_at;
	info.started_at = inst->started_at;
	info.exited = inst->state == SB_STATE_STOPPED;
	info.exited_at = inst->exited_at;
	info.exit_status = inst->exit_status;
	info.netns_path = inst->netns_path;
	info.owner_bundle = inst->owner_bundle;
	info.store_record = store_exists(STORE_SANDBOX, inst->ns, inst->id);
	if (inst_load(inst->ns, inst->id, &rec, &cause) == 1)
		info.runtime = rec->inst->sandbox.runtime.name;
	free(cause);
	walk->fn(&info, walk->arg);
	inst_record_free(rec);
}

/* Every instance, in every namespace, in (namespace, id) order. */
void
ctrl_list_instances(ctrl_instance_fn fn, void *arg)
{
	struct list_walk	walk = { fn, arg };

	inst_foreach(list_one_cb, &walk);
}

/* The pid of a sandbox's init process (0: none), for the task service. */
enum handler_result
ctrl_task_pid(struct call *call, const char *id, uint32_t *pid)
{
	struct instance	*inst;

	if ((inst = inst_get_or_fail(call, id)) == NULL)
		return (HANDLER_ERROR);
	*pid = inst->pid;
	return (HANDLER_DONE);
}
