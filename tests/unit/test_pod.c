/*
 * test_pod.c: CRI's PodSandboxConfig as the controller reads it: what is
 * refused (naming the field), and how an accepted pod shapes a launch.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "k8s/cri/v1/api.pb.h"
#include "pbutil.h"
#include "pod.h"
#include "procmgr.h"

/* The clone flags the pause runtime starts from. */
#define PAUSE_FLAGS	(CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS)

/* A pod to encode: the few fields a test sets. */
struct pod_spec {
	const char		*hostname;
	rv_NamespaceMode	 network, pid, ipc;
	const char		*target_id;
	bool			 userns;
	rv_NamespaceMode	 userns_mode;
	const char		*sysctl_key, *sysctl_value;
	const char		*label_key, *label_value;
	const char		*cgroup_parent;
};

/* Encode spec as a PodSandboxConfig; *len set, buffer malloc'd. */
static uint8_t *
pod_encode(const struct pod_spec *spec, size_t *len)
{
	rv_PodSandboxConfig	 m = {0};
	rv_NamespaceOption	*ns;
	uint8_t			*buf;
	char			*cause = NULL;

	m.has_metadata = true;
	strcpy(m.metadata.name, "web");
	strcpy(m.metadata.namespace, "default");
	strcpy(m.metadata.uid, "u-1");
	if (spec->hostname != NULL)
		strcpy(m.hostname, spec->hostname);
	m.has_linux = true;
	m.linux.has_security_context = true;
	m.linux.security_context.has_namespace_options = true;
	ns = &m.linux.security_context.namespace_options;
	ns->network = spec->network;
	ns->pid = spec->pid;
	ns->ipc = spec->ipc;
	if (spec->target_id != NULL)
		strcpy(ns->target_id, spec->target_id);
	ns->has_userns_options = spec->userns;
	ns->userns_options.mode = spec->userns_mode;
	if (spec->sysctl_key != NULL) {
		strcpy(m.linux.sysctls[0].key, spec->sysctl_key);
		strcpy(m.linux.sysctls[0].value, spec->sysctl_value);
		m.linux.sysctls_count = 1;
	}
	if (spec->cgroup_parent != NULL)
		strcpy(m.linux.cgroup_parent, spec->cgroup_parent);
	if (spec->label_key != NULL) {
		m.labels[0].key = (char *)spec->label_key;
		m.labels[0].value = (char *)spec->label_value;
		m.labels_count = 1;
	}
	cr_assert(msg_encode(rv_PodSandboxConfig_fields, &m, &buf, len,
	    &cause), "encode: %s", cause);
	return (buf);
}

/* Parse spec; NULL with *cause when refused. */
static struct pod_config *
pod_parse(const struct pod_spec *spec, char **cause)
{
	struct pod_config	*pc;
	uint8_t			*buf;
	size_t			 len;

	buf = pod_encode(spec, &len);
	*cause = NULL;
	pc = pod_config_parse(buf, len, cause);
	free(buf);
	return (pc);
}

/* spec must be refused with a cause containing want. */
static void
pod_refused(const struct pod_spec *spec, const char *want)
{
	struct pod_config	*pc;
	char			*cause;

	pc = pod_parse(spec, &cause);
	cr_assert_null(pc, "accepted a pod that should be refused (%s)", want);
	cr_assert_not_null(cause);
	cr_assert(strstr(cause, want) != NULL, "cause \"%s\" lacks \"%s\"",
	    cause, want);
	free(cause);
}

/* Apply an accepted spec to a pause-like launch. */
static void
pod_launch(const struct pod_spec *spec, struct proc_launch *l)
{
	struct pod_config	*pc;
	char			*cause;

	memset(l, 0, sizeof *l);
	l->clone_flags = PAUSE_FLAGS;
	pc = pod_parse(spec, &cause);
	cr_assert_not_null(pc, "refused: %s", cause);
	pod_config_apply(pc, l);
	pod_config_free(pc);
}

/* Free what pod_launch filled (the runtime would, with its own fields). */
static void
launch_clear(struct proc_launch *l)
{
	size_t	i;

	free(l->hostname);
	for (i = 0; l->sysctls != NULL && l->sysctls[i] != NULL; i++)
		free(l->sysctls[i]);
	free(l->sysctls);
}

Test(pod, type_url_both_forms)
{
	cr_assert(pod_config_type("runtime.v1.PodSandboxConfig"));
	cr_assert(pod_config_type(
	    "type.googleapis.com/runtime.v1.PodSandboxConfig"));
	cr_assert_not(pod_config_type("runtime.v1.PodSandboxConfigX"));
	cr_assert_not(pod_config_type("runtime.v1.ContainerConfig"));
	cr_assert_not(pod_config_type(""));
}

Test(pod, pod_network_hostname_and_sysctl)
{
	struct pod_spec		spec = { .hostname = "web-1",
	    .sysctl_key = "net.ipv4.ip_forward", .sysctl_value = "1" };
	struct proc_launch	l;

	pod_launch(&spec, &l);
	cr_assert_eq(l.clone_flags, PAUSE_FLAGS);
	cr_assert_str_eq(l.hostname, "web-1");
	cr_assert_not_null(l.sysctls);
	cr_assert_str_eq(l.sysctls[0], "net/ipv4/ip_forward=1");
	cr_assert_null(l.sysctls[1]);
	launch_clear(&l);
}

Test(pod, slashed_sysctl_name_keeps_its_dots)
{
	struct pod_spec		spec = {
	    .sysctl_key = "net/ipv4/conf/eth0.100/forwarding",
	    .sysctl_value = "0" };
	struct proc_launch	l;

	pod_launch(&spec, &l);
	cr_assert_str_eq(l.sysctls[0], "net/ipv4/conf/eth0.100/forwarding=0");
	launch_clear(&l);
}

Test(pod, host_network_keeps_host_uts_and_makes_no_netns)
{
	struct pod_spec		 spec = { .hostname = "node-1",
	    .network = rv_NamespaceMode_NODE };
	struct proc_launch	 l;
	struct pod_config	*pc;
	char			*cause;

	pc = pod_parse(&spec, &cause);
	cr_assert_not_null(pc, "%s", cause);
	cr_assert(pod_config_host_network(pc));
	pod_config_free(pc);
	pod_launch(&spec, &l);
	cr_assert_eq(l.clone_flags, CLONE_NEWPID | CLONE_NEWIPC);
	cr_assert_null(l.hostname);
	launch_clear(&l);
}

Test(pod, host_pid_and_ipc)
{
	struct pod_spec		spec = { .pid = rv_NamespaceMode_NODE,
	    .ipc = rv_NamespaceMode_NODE };
	struct proc_launch	l;

	pod_launch(&spec, &l);
	cr_assert_eq(l.clone_flags, CLONE_NEWUTS);
	launch_clear(&l);
}

Test(pod, container_mode_is_private_for_pid_and_ipc)
{
	struct pod_spec		spec = { .pid = rv_NamespaceMode_CONTAINER,
	    .ipc = rv_NamespaceMode_CONTAINER };
	struct proc_launch	l;

	pod_launch(&spec, &l);
	cr_assert_eq(l.clone_flags, PAUSE_FLAGS);
	launch_clear(&l);
}

Test(pod, ipc_sysctl_needs_private_ipc)
{
	struct pod_spec		spec = { .sysctl_key = "kernel.shm_rmid_forced",
	    .sysctl_value = "1" };
	struct proc_launch	l;

	pod_launch(&spec, &l);
	cr_assert_str_eq(l.sysctls[0], "kernel/shm_rmid_forced=1");
	launch_clear(&l);
	spec.ipc = rv_NamespaceMode_NODE;
	pod_refused(&spec, "linux.sysctls[kernel.shm_rmid_forced]");
}

Test(pod, refusals_name_the_field)
{
	struct pod_spec	s;

	memset(&s, 0, sizeof s);
	s.network = rv_NamespaceMode_CONTAINER;
	pod_refused(&s, "namespace_options: network CONTAINER");
	memset(&s, 0, sizeof s);
	s.pid = rv_NamespaceMode_TARGET;
	pod_refused(&s, "pid TARGET");
	memset(&s, 0, sizeof s);
	s.target_id = "c1";
	pod_refused(&s, "namespace_options.target_id");
	memset(&s, 0, sizeof s);
	s.userns = true;
	s.userns_mode = rv_NamespaceMode_POD;
	pod_refused(&s, "userns_options");
	memset(&s, 0, sizeof s);
	s.hostname = "bad_name";
	pod_refused(&s, "hostname");
	memset(&s, 0, sizeof s);
	s.hostname = "a-very-long-host-name-that-goes-on-and-on-past-sixty-four-bytes-x";
	pod_refused(&s, "hostname: longer than 64");
	memset(&s, 0, sizeof s);
	s.sysctl_key = "kernel.panic";
	s.sysctl_value = "1";
	pod_refused(&s, "linux.sysctls[kernel.panic]: not a namespaced sysctl");
	memset(&s, 0, sizeof s);
	s.network = rv_NamespaceMode_NODE;
	s.sysctl_key = "net.core.somaxconn";
	s.sysctl_value = "1024";
	pod_refused(&s, "linux.sysctls[net.core.somaxconn]: the pod shares the "
	    "host's network");
}

Test(pod, sysctl_names_and_values_cannot_escape)
{
	struct pod_spec	s = { .sysctl_value = "1" };

	s.sysctl_key = "net..ipv4";
	pod_refused(&s, "is not a sysctl name");
	s.sysctl_key = "net/../../etc/x";
	pod_refused(&s, "is not a sysctl name");
	s.sysctl_key = "net.ipv4.ip_forward";
	s.sysctl_value = "1\n0";
	pod_refused(&s, "line break");
}

Test(pod, garbage_is_refused)
{
	static const uint8_t	 junk[] = { 0x12, 0xff, 0xff, 0xff, 0x0f };
	struct pod_config	*pc;
	char			*cause = NULL;

	pc = pod_config_parse(junk, sizeof junk, &cause);
	cr_assert_null(pc);
	cr_assert(strstr(cause, "not a runtime.v1.PodSandboxConfig") != NULL,
	    "%s", cause);
	free(cause);
}

/* Collect info entries for the test below. */
struct info_seen {
	char	*labels;
	char	*pod;
	char	*cgroup;
	int	 n;
};

/* Keep the entries the test looks at. */
static void
info_cb(const char *key, char *value, void *arg)
{
	struct info_seen	*seen = arg;

	seen->n++;
	if (strcmp(key, "pod_labels") == 0)
		seen->labels = value;
	else if (strcmp(key, "pod") == 0)
		seen->pod = value;
	else if (strcmp(key, "cgroup_parent_ignored") == 0)
		seen->cgroup = value;
	else
		free(value);
}

Test(pod, info_shows_pod_labels_and_what_is_not_applied)
{
	struct pod_spec		 spec = { .label_key = "app",
	    .label_value = "web", .cgroup_parent = "kubepods.slice" };
	struct info_seen	 seen = {0};
	struct pod_config	*pc;
	char			*cause;

	pc = pod_parse(&spec, &cause);
	cr_assert_not_null(pc, "%s", cause);
	pod_config_info(pc, info_cb, &seen);
	pod_config_free(pc);
	cr_assert_str_eq(seen.labels, "{\"app\":\"web\"}");
	cr_assert(strstr(seen.pod, "default/web") != NULL, "%s", seen.pod);
	cr_assert_str_eq(seen.cgroup, "kubepods.slice");
	free(seen.labels);
	free(seen.pod);
	free(seen.cgroup);
}
