/*
 * pod.c: what a Kubernetes pod asks of its sandbox.
 *
 * containerd's CRI plugin creates a pod's sandbox with CRI's
 * PodSandboxConfig in CreateSandboxRequest.options and no OCI spec.  The
 * parts that shape the sandbox's init process are the hostname, which
 * namespaces the pod shares with the host (namespace_options: NODE) and
 * the namespaced sysctls.  They are checked when the sandbox is created, so
 * that a pod sandboxd cannot run as asked is refused then, naming the
 * field, and applied to the launch when it starts.  The raw message is kept
 * in the instance record, so a Start after a restart sees the same pod.
 *
 * Kubernetes semantics followed (as containerd's own pod sandboxes do): a
 * pod on the host network also keeps the host's UTS namespace, so its
 * hostname is the node's; CONTAINER means "private" for pid and ipc.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "k8s/cri/v1/api.pb.h"
#include "pbutil.h"
#include "pod.h"
#include "procmgr.h"
#include "xmalloc.h"

#define POD_MAX_HOSTNAME	64	/* HOST_NAME_MAX */

struct pod_config {
	rv_PodSandboxConfig	msg;
	bool			host_network;
	bool			host_pid;
	bool			host_ipc;
};

/* Sysctl prefixes a namespace scopes, and the namespace each needs. */
static const struct {
	const char	*prefix;
	bool		 network;	/* else ipc */
} namespaced_sysctls[] = {
	{ "net.", true },
	{ "kernel.shm", false },
	{ "kernel.msg", false },
	{ "kernel.sem", false },
	{ "fs.mqueue.", false },
};

/* A namespace mode as CRI names it, for messages. */
static const char *
mode_name(rv_NamespaceMode mode)
{
	switch (mode) {
	case rv_NamespaceMode_POD:
		return ("POD");
	case rv_NamespaceMode_CONTAINER:
		return ("CONTAINER");
	case rv_NamespaceMode_NODE:
		return ("NODE");
	case rv_NamespaceMode_TARGET:
		return ("TARGET");
	}
	return ("unknown");
}

/*
 * Whether a pid or ipc mode means the host's namespace (NODE) or the
 * pod's (POD, CONTAINER); -1 for a mode a pod cannot have.
 */
static int
mode_is_host(rv_NamespaceMode mode, bool container_ok)
{
	if (mode == rv_NamespaceMode_NODE)
		return (1);
	if (mode == rv_NamespaceMode_POD ||
	    (container_ok && mode == rv_NamespaceMode_CONTAINER))
		return (0);
	return (-1);
}

/* Read namespace_options into pc; -1 with *cause for what a pod cannot do. */
static int
pod_check_namespaces(struct pod_config *pc, char **cause)
{
	const rv_NamespaceOption	*ns;
	int				 net, pid, ipc;

	if (!pc->msg.has_linux || !pc->msg.linux.has_security_context ||
	    !pc->msg.linux.security_context.has_namespace_options)
		return (0);	/* all POD */
	ns = &pc->msg.linux.security_context.namespace_options;
	if ((net = mode_is_host(ns->network, false)) == -1 ||
	    (pid = mode_is_host(ns->pid, true)) == -1 ||
	    (ipc = mode_is_host(ns->ipc, true)) == -1) {
		xasprintf(cause, "linux.security_context.namespace_options: "
		    "network %s, pid %s, ipc %s: a pod's namespaces are POD "
		    "or NODE (CONTAINER also for pid and ipc)",
		    mode_name(ns->network), mode_name(ns->pid),
		    mode_name(ns->ipc));
		return (-1);
	}
	if (ns->target_id[0] != '\0') {
		xasprintf(cause, "linux.security_context.namespace_options."
		    "target_id: only a container can target another's "
		    "namespaces");
		return (-1);
	}
	if (ns->has_userns_options &&
	    ns->userns_options.mode != rv_NamespaceMode_NODE) {
		xasprintf(cause, "linux.security_context.namespace_options."
		    "userns_options: mode %s: user namespaces are not "
		    "supported", mode_name(ns->userns_options.mode));
		return (-1);
	}
	pc->host_network = net == 1;
	pc->host_pid = pid == 1;
	pc->host_ipc = ipc == 1;
	return (0);
}

/* A hostname the kernel and DNS both accept: letters, digits, '-', '.'. */
static int
pod_check_hostname(const char *name, char **cause)
{
	const char	*p;

	if (strlen(name) > POD_MAX_HOSTNAME) {
		xasprintf(cause, "hostname: longer than %d bytes",
		    POD_MAX_HOSTNAME);
		return (-1);
	}
	for (p = name; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.')
			continue;
		xasprintf(cause, "hostname: \"%s\" has a character other than "
		    "letters, digits, '-' and '.'", name);
		return (-1);
	}
	return (0);
}

/* A sysctl name: dot- or slash-separated words of [a-z0-9_-]. */
static bool
sysctl_name_ok(const char *key)
{
	const char	*p;
	bool		 word = false;

	for (p = key; *p != '\0'; p++) {
		if (*p == '.' || *p == '/') {
			if (!word)
				return (false);
			word = false;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_' || *p == '-' || (*p >= 'A' && *p <= 'Z')) {
			word = true;
		} else
			return (false);
	}
	return (word);
}

/*
 * Whether a sysctl name starts with prefix (written with dots), in either
 * form: "net.ipv4.x", or with slashes as separators ("net/ipv4/x").
 */
static bool
sysctl_has_prefix(const char *key, const char *prefix)
{
	char	sep = strchr(key, '/') != NULL ? '/' : '.';

	for (; *prefix != '\0'; prefix++, key++) {
		if (*key != (*prefix == '.' ? sep : *prefix))
			return (false);
	}
	return (true);
}

/* Check one sysctl against the namespaces the pod has of its own. */
static int
pod_check_sysctl(const struct pod_config *pc, const char *key,
    const char *value, char **cause)
{
	size_t	i;

	if (!sysctl_name_ok(key)) {
		xasprintf(cause, "linux.sysctls: \"%s\" is not a sysctl name",
		    key);
		return (-1);
	}
	if (*value == '\0' || strpbrk(value, "\n\r") != NULL) {
		xasprintf(cause, "linux.sysctls[%s]: the value is empty or "
		    "has a line break", key);
		return (-1);
	}
	for (i = 0; i < sizeof namespaced_sysctls / sizeof namespaced_sysctls[0];
	    i++) {
		if (!sysctl_has_prefix(key, namespaced_sysctls[i].prefix))
			continue;
		if (namespaced_sysctls[i].network ? !pc->host_network :
		    !pc->host_ipc)
			return (0);
		xasprintf(cause, "linux.sysctls[%s]: the pod shares the host's "
		    "%s namespace, and a pod may not change the host", key,
		    namespaced_sysctls[i].network ? "network" : "ipc");
		return (-1);
	}
	xasprintf(cause, "linux.sysctls[%s]: not a namespaced sysctl (net.*, "
	    "kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)", key);
	return (-1);
}

/* Whether an Any's type URL names a PodSandboxConfig. */
bool
pod_config_type(const char *type_url)
{
	const char	*name = strrchr(type_url, '/');

	return (strcmp(name != NULL ? name + 1 : type_url, POD_CONFIG_TYPE) ==
	    0);
}

/* Decode and check a PodSandboxConfig; NULL with *cause if refused. */
struct pod_config *
pod_config_parse(const void *data, size_t len, char **cause)
{
	struct pod_config	*pc = xcalloc(1, sizeof *pc);
	char			*why = NULL;
	pb_size_t		 i;

	if (!msg_decode(rv_PodSandboxConfig_fields, &pc->msg, data, len,
	    &why)) {
		xasprintf(cause, "options: not a runtime.v1.PodSandboxConfig: "
		    "%s", why);
		free(why);
		free(pc);
		return (NULL);
	}
	if (pod_check_namespaces(pc, cause) == -1 ||
	    pod_check_hostname(pc->msg.hostname, cause) == -1)
		goto fail;
	for (i = 0; pc->msg.has_linux && i < pc->msg.linux.sysctls_count; i++) {
		if (pod_check_sysctl(pc, pc->msg.linux.sysctls[i].key,
		    pc->msg.linux.sysctls[i].value, cause) == -1)
			goto fail;
	}
	return (pc);
fail:
	pod_config_free(pc);
	return (NULL);
}

/* Free what pod_config_parse returned; NULL is fine. */
void
pod_config_free(struct pod_config *pc)
{
	if (pc == NULL)
		return;
	msg_release(rv_PodSandboxConfig_fields, &pc->msg);
	free(pc);
}

/* Whether the pod uses the host's network (no netns of its own). */
bool
pod_config_host_network(const struct pod_config *pc)
{
	return (pc->host_network);
}

/* The /proc/sys path of a sysctl name and its value: "net/ipv4/x=1". */
static char *
sysctl_assignment(const char *key, const char *value)
{
	char	*s, *p;
	bool	 slashed = strchr(key, '/') != NULL;

	/* sysctl(8): with a '/' in the name, '/' separates and '.' is a letter. */
	xasprintf(&s, "%s=%s", key, value);
	for (p = s; *p != '='; p++) {
		if (!slashed && *p == '.')
			*p = '/';
	}
	return (s);
}

/* Shape a launch as the pod asks: namespaces, hostname, sysctls. */
void
pod_config_apply(const struct pod_config *pc, struct proc_launch *launch)
{
	pb_size_t	i, n;

	if (pc->host_pid)
		launch->clone_flags &= ~CLONE_NEWPID;
	if (pc->host_ipc)
		launch->clone_flags &= ~CLONE_NEWIPC;
	if (pc->host_network || pc->msg.hostname[0] != '\0') {
		free(launch->hostname);
		launch->hostname = NULL;
	}
	if (pc->host_network)
		launch->clone_flags &= ~CLONE_NEWUTS;
	else if (pc->msg.hostname[0] != '\0') {
		launch->clone_flags |= CLONE_NEWUTS;
		launch->hostname = xstrdup(pc->msg.hostname);
	}
	n = pc->msg.has_linux ? pc->msg.linux.sysctls_count : 0;
	if (n == 0)
		return;
	launch->sysctls = xcalloc(n + 1, sizeof *launch->sysctls);
	for (i = 0; i < n; i++)
		launch->sysctls[i] = sysctl_assignment(
		    pc->msg.linux.sysctls[i].key,
		    pc->msg.linux.sysctls[i].value);
}

/* Add one CRI map entry to a JSON object (nanopb leaves absent strings NULL). */
static void
json_add(json_t *obj, const char *key, const char *value)
{
	json_object_set_new(obj, key != NULL ? key : "",
	    json_string(value != NULL ? value : ""));
}

/* A JSON object as a malloc'd string; obj is consumed. */
static char *
json_take(json_t *obj)
{
	char	*s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(obj);
	return (s != NULL ? s : xstrdup("{}"));
}

/*
 * Report the pod in verbose Status info through add(key, value, arg); the
 * value is malloc'd and handed over.
 */
void
pod_config_info(const struct pod_config *pc,
    void (*add)(const char *, char *, void *), void *arg)
{
	const rv_PodSandboxMetadata	*md = &pc->msg.metadata;
	json_t				*labels, *annotations;
	char				*s;
	pb_size_t			 i;

	if (pc->msg.has_metadata) {
		xasprintf(&s, "%s/%s (uid %s, attempt %u)", md->namespace,
		    md->name, md->uid, md->attempt);
		add("pod", s, arg);
	}
	xasprintf(&s, "network %s, pid %s, ipc %s",
	    pc->host_network ? "host" : "pod", pc->host_pid ? "host" : "pod",
	    pc->host_ipc ? "host" : "pod");
	add("pod_namespaces", s, arg);
	if (!pc->host_network && pc->msg.hostname[0] != '\0')
		add("hostname", xstrdup(pc->msg.hostname), arg);
	labels = json_object();
	for (i = 0; i < pc->msg.labels_count; i++)
		json_add(labels, pc->msg.labels[i].key, pc->msg.labels[i].value);
	add("pod_labels", json_take(labels), arg);
	annotations = json_object();
	for (i = 0; i < pc->msg.annotations_count; i++)
		json_add(annotations, pc->msg.annotations[i].key,
		    pc->msg.annotations[i].value);
	add("pod_annotations", json_take(annotations), arg);
	if (pc->msg.has_linux && pc->msg.linux.cgroup_parent[0] != '\0')
		add("cgroup_parent_ignored", xstrdup(
		    pc->msg.linux.cgroup_parent), arg);
}
