/*
 * test_cri.c: sandboxes as containerd's CRI plugin makes them through the
 * shim API: a bundle with no config.json and CRI's PodSandboxConfig in the
 * options; the task service containerd asks after a restart of its own;
 * the operator's list of instances; sandboxes containerd forgot; and the
 * shim launcher containerd runs, containerd-shim-sandboxd-v2.
 *
 * The end-to-end test under real containerd is tests/containerd/; this
 * one pins the daemon's side of each step down without containerd.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "containerd/task/v2/shim.pb.h"
#include "itest.h"
#include "k8s/cri/v1/api.pb.h"
#include "pbutil.h"

TestSuite(cri, .init = itest_setup, .fini = itest_teardown);

/* What a test's pod asks for. */
struct pod {
	const char		*hostname;
	rv_NamespaceMode	 network;
	const char		*sysctl;	/* "key=value" or NULL */
};

/* Encode a PodSandboxConfig the way CRI fills one for a pod. */
static uint8_t *
pod_encode(const struct pod *p, size_t *len)
{
	rv_PodSandboxConfig	 m = {0};
	uint8_t			*buf;
	char			*cause = NULL;
	const char		*eq;

	m.has_metadata = true;
	strcpy(m.metadata.name, "web");
	strcpy(m.metadata.namespace, "team-a");
	strcpy(m.metadata.uid, "0f6c");
	if (p->hostname != NULL)
		strcpy(m.hostname, p->hostname);
	m.labels[0].key = (char *)"app";
	m.labels[0].value = (char *)"web";
	m.labels_count = 1;
	m.has_linux = true;
	m.linux.has_security_context = true;
	m.linux.security_context.has_namespace_options = true;
	m.linux.security_context.namespace_options.network = p->network;
	m.linux.security_context.namespace_options.pid =
	    rv_NamespaceMode_CONTAINER;		/* kubelet's default */
	if (p->sysctl != NULL) {
		eq = strchr(p->sysctl, '=');
		memcpy(m.linux.sysctls[0].key, p->sysctl,
		    (size_t)(eq - p->sysctl));
		strcpy(m.linux.sysctls[0].value, eq + 1);
		m.linux.sysctls_count = 1;
	}
	cr_assert(msg_encode(rv_PodSandboxConfig_fields, &m, &buf, len,
	    &cause), "%s", cause);
	return (buf);
}

/* A bundle directory as containerd makes one for a CRI pod: empty. */
static void
make_bundle(const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "%s/bundle-%s", itest_d.dir, id);
	cr_assert_eq(mkdir(buf, 0700), 0, "mkdir %s: %s", buf,
	    strerror(errno));
}

/* CreateSandbox as CRI sends it; the daemon's status code. */
static int
cri_create(struct sbc *c, const char *id, const char *bundle,
    const struct pod *p, const char *type_url, struct sbc_error *err)
{
	struct sbc_shim_create_opts	 o = {0};
	uint8_t				*buf;
	size_t				 len;
	int				 code;

	buf = pod_encode(p, &len);
	o.bundle_path = bundle;
	o.options.type_url = type_url != NULL ? type_url :
	    "runtime.v1.PodSandboxConfig";
	o.options.value = buf;
	o.options.len = len;
	code = sbc_shim_create(c, id, &o, err);
	free(buf);
	return (code);
}

/* Create and start a CRI pod in an existing bundle; its pause pid. */
static pid_t
cri_run_in(struct sbc *c, const char *id, const struct pod *p,
    const char *bundle)
{
	struct sbc_start_info	si;
	struct sbc_error	err = {0};
	pid_t			pid;

	itest_expect(cri_create(c, id, bundle, p, NULL, &err), 0, &err,
	    "CreateSandbox with a PodSandboxConfig and no config.json");
	itest_expect(sbc_shim_start(c, id, &si, &err), 0, &err,
	    "StartSandbox");
	pid = (pid_t)si.pid;
	sbc_start_info_free(&si);
	itest_track(pid);
	itest_wait_pause_ready(pid);
	return (pid);
}

/* Create and start a CRI pod in a bundle of its own; its pause pid. */
static pid_t
cri_run(struct sbc *c, const char *id, const struct pod *p)
{
	char	bundle[PATH_MAX];

	make_bundle(id, bundle, sizeof bundle);
	return (cri_run_in(c, id, p, bundle));
}

/* The netns file sandboxd makes for a k8s.io sandbox. */
static void
netns_file(const char *id, char *buf, size_t size)
{
	int	n;

	n = snprintf(buf, size, "%s/netns/k8s.io-%s", itest_d.run_dir, id);
	cr_assert(n > 0 && (size_t)n < size);
}

/* The inode of a namespace file. */
static ino_t
ns_inode(const char *path)
{
	struct stat	st;

	cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
	return (st.st_ino);
}

/* The instance id in namespace ns, from the operator's list (NULL: none). */
static const struct sbc_instance *
find_instance(const struct sbc_instance *v, size_t n, const char *ns,
    const char *id)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcmp(v[i].ns, ns) == 0 && strcmp(v[i].id, id) == 0)
			return (&v[i]);
	}
	return (NULL);
}

Test(cri, pod_network_pod, .timeout = 60)
{
	struct pod		 p = { .hostname = "web-0",
	    .network = rv_NamespaceMode_POD,
	    .sysctl = "net.ipv4.ip_forward=1" };
	struct sbc		*c;
	struct sbc_status	 st;
	struct sbc_error	 err = {0};
	char			 buf[256], netns[PATH_MAX], nspath[64];
	const char		*v;
	pid_t			 pid;

	ITEST_NEEDS_ROOT("pods make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	pid = cri_run(c, "pod1", &p);
	itest_ns_read(pid, "uts", NULL, buf, sizeof buf);
	cr_assert_str_eq(buf, "web-0", "the pod's hostname is not set");
	/* No netns_path given: sandboxd made one, and the sysctl is in it. */
	netns_file("pod1", netns, sizeof netns);
	snprintf(nspath, sizeof nspath, "/proc/%d/ns/net", (int)pid);
	cr_assert_eq(ns_inode(nspath), ns_inode(netns));
	itest_ns_read(pid, "net", "/proc/sys/net/ipv4/ip_forward", buf,
	    sizeof buf);
	cr_assert_str_eq(buf, "1", "the pod's net sysctl was not applied");
	itest_expect(sbc_shim_status(c, "pod1", true, &st, &err), 0, &err,
	    "SandboxStatus verbose");
	cr_assert_str_eq(st.state, "SANDBOX_READY");
	cr_assert_not_null(v = itest_info_get(&st, "pod_labels"));
	cr_assert_str_eq(v, "{\"app\":\"web\"}");
	cr_assert_not_null(v = itest_info_get(&st, "pod"));
	cr_assert(strstr(v, "team-a/web") != NULL, "pod info: %s", v);
	cr_assert_not_null(itest_info_get(&st, "containerd_bundle"));
	sbc_status_free(&st);
	itest_expect(sbc_shim_stop(c, "pod1", 0, &err), 0, &err, "StopSandbox");
	itest_expect(sbc_shim_shutdown(c, "pod1", &err), 0, &err,
	    "ShutdownSandbox");
	cr_assert_not(itest_path_exists(netns), "netns left: %s", netns);
	sbc_close(c);
}

Test(cri, host_network_pod, .timeout = 60)
{
	struct pod	 p = { .hostname = "ignored-on-host-network",
	    .network = rv_NamespaceMode_NODE };
	struct sbc	*c;
	struct sbc_error err = {0};
	char		 mine[256], theirs[256], self[64], nspath[64];
	char		 netns[PATH_MAX];
	pid_t		 pid;

	ITEST_NEEDS_ROOT("pods make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	pid = cri_run(c, "hostpod", &p);
	snprintf(self, sizeof self, "/proc/%d/ns/net", (int)itest_d.pid);
	snprintf(nspath, sizeof nspath, "/proc/%d/ns/net", (int)pid);
	cr_assert_eq(ns_inode(nspath), ns_inode(self),
	    "a host-network pod must stay in the host's netns");
	netns_file("hostpod", netns, sizeof netns);
	cr_assert_not(itest_path_exists(netns), "sandboxd made a netns");
	/* The host's UTS namespace too, as Kubernetes has it. */
	cr_assert_eq(gethostname(mine, sizeof mine), 0);
	itest_ns_read(pid, "uts", NULL, theirs, sizeof theirs);
	cr_assert_str_eq(theirs, mine);
	itest_expect(sbc_shim_shutdown(c, "hostpod", &err), 0, &err,
	    "ShutdownSandbox");
	sbc_close(c);
}

Test(cri, refused_pods_leave_nothing, .timeout = 60)
{
	struct pod		 bad_mode = { .network = rv_NamespaceMode_CONTAINER };
	struct pod		 host_sysctl = { .network = rv_NamespaceMode_NODE,
	    .sysctl = "net.core.somaxconn=1024" };
	struct pod		 ok = { .network = rv_NamespaceMode_POD };
	struct sbc		*c;
	struct sbc_instance	*v;
	struct sbc_error	 err = {0};
	char			 bundle[PATH_MAX];
	size_t			 n;

	ITEST_NEEDS_ROOT("pods make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	make_bundle("bad", bundle, sizeof bundle);
	itest_expect(cri_create(c, "bad", bundle, &bad_mode, NULL, &err),
	    STATUS_INVALID_ARGUMENT, &err, "network CONTAINER");
	cr_assert_eq(cri_create(c, "bad", bundle, &host_sysctl, NULL, &err),
	    STATUS_INVALID_ARGUMENT);
	cr_assert(strstr(err.message, "linux.sysctls[net.core.somaxconn]") !=
	    NULL, "%s", err.message);
	sbc_error_clear(&err);
	itest_expect(cri_create(c, "bad", bundle, &ok,
	    "example.com/some.OtherOptions", &err), STATUS_INVALID_ARGUMENT,
	    &err, "options of an unknown type");
	itest_expect(sbc_admin_list_instances(c, &v, &n, &err), 0, &err,
	    "ListInstances");
	cr_assert_eq(n, 0, "a refused Create left an instance");
	sbc_instance_list_free(v, n);
	sbc_close(c);
}

Test(cri, list_instances_shows_shim_sandboxes, .timeout = 60)
{
	struct pod			 p = { .network = rv_NamespaceMode_POD };
	struct sbc			*c, *other;
	struct sbc_instance		*v;
	const struct sbc_instance	*in;
	struct sbc_error		 err = {0};
	size_t				 n;
	pid_t				 pid;

	ITEST_NEEDS_ROOT("pods make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	pid = cri_run(c, "listed", &p);
	other = itest_connect(&itest_d, NULL);
	itest_make_sandbox(other, "stored", NULL, NULL);
	itest_expect(sbc_admin_list_instances(c, &v, &n, &err), 0, &err,
	    "ListInstances");
	cr_assert_not_null(in = find_instance(v, n, "k8s.io", "listed"));
	cr_assert_str_eq(in->state, "running");
	cr_assert_eq(in->pid, (uint32_t)pid);
	cr_assert_str_eq(in->runtime, "io.sandboxd.pause.v1");
	cr_assert_not(in->store_record, "a shim sandbox has no Store record");
	cr_assert(strstr(in->owner_bundle, "bundle-listed") != NULL);
	cr_assert_not_null(in = find_instance(v, n, "default", "stored"),
	    "instances of every namespace are listed");
	cr_assert(in->store_record);
	sbc_instance_list_free(v, n);
	sbc_close(other);
	sbc_close(c);
}

/* Call a task service method with an id-only request. */
static int
task_call(struct sbc *c, const char *method, const char *id,
    const pb_msgdesc_t *resp_fields, void *resp, struct sbc_reply *reply,
    struct sbc_error *err)
{
	ctv_ConnectRequest	req = {0};

	snprintf(req.id, sizeof req.id, "%s", id);
	return (sbc_call(c, "containerd.task.v2.Task", method,
	    ctv_ConnectRequest_fields, &req, resp_fields, resp, reply, err));
}

Test(cri, task_service_for_containerd_restarts, .timeout = 60)
{
	struct pod		 p = { .network = rv_NamespaceMode_POD };
	struct sbc		*c;
	ctv_ConnectResponse	 conn = {0};
	ctv_PidsResponse	 pids = {0};
	struct sbc_reply	 reply;
	struct sbc_error	 err = {0};
	pid_t			 pid;

	ITEST_NEEDS_ROOT("pods make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	pid = cri_run(c, "task1", &p);
	itest_expect(task_call(c, "Connect", "task1", ctv_ConnectResponse_fields,
	    &conn, &reply, &err), 0, &err, "Task.Connect");
	cr_assert_eq(conn.shim_pid, (uint32_t)itest_d.pid);
	cr_assert_eq(conn.task_pid, (uint32_t)pid);
	sbc_reply_free(&reply);
	itest_expect(task_call(c, "Pids", "task1", ctv_PidsResponse_fields,
	    &pids, &reply, &err), 0, &err, "Task.Pids");
	cr_assert_eq(pids.processes_count, 1);
	cr_assert_eq(pids.processes[0].pid, (uint32_t)pid);
	sbc_reply_free(&reply);
	itest_expect(task_call(c, "Connect", "nosuch", ctv_ConnectResponse_fields,
	    &conn, &reply, &err), 0, &err,
	    "Task.Connect of an unknown id: no task, as the Go shim answers");
	cr_assert_eq(conn.task_pid, 0);
	sbc_reply_free(&reply);
	itest_expect(task_call(c, "Shutdown", "task1", NULL, NULL, NULL, &err),
	    0, &err, "Task.Shutdown: the daemon stays");
	cr_assert_eq(task_call(c, "Checkpoint", "task1", NULL, NULL, NULL,
	    &err), STATUS_UNIMPLEMENTED);
	cr_assert(strstr(err.message, "Checkpoint") != NULL, "%s",
	    err.message);
	sbc_error_clear(&err);
	cr_assert(itest_pid_alive(pid), "Task.Shutdown must not touch the pod");
	sbc_close(c);
}

Test(cri, forgotten_sandbox_is_shut_down_at_start, .timeout = 60)
{
	struct pod		 p = { .network = rv_NamespaceMode_POD };
	struct sbc		*c;
	struct sbc_instance	*v;
	struct sbc_error	 err = {0};
	char			 bundle[PATH_MAX], netns[PATH_MAX];
	char			 unseen_dir[PATH_MAX], unseen_bundle[PATH_MAX + 32];
	size_t			 n;
	int64_t			 deadline;
	pid_t			 kept, lost, unseen;

	ITEST_NEEDS_ROOT("pods make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	kept = cri_run(c, "kept", &p);
	lost = cri_run(c, "lost", &p);
	/* A bundle in a directory of its own, which then goes away whole. */
	snprintf(unseen_dir, sizeof unseen_dir, "%s/elsewhere", itest_d.dir);
	cr_assert_eq(mkdir(unseen_dir, 0700), 0);
	snprintf(unseen_bundle, sizeof unseen_bundle, "%s/bundle-unseen",
	    unseen_dir);
	cr_assert_eq(mkdir(unseen_bundle, 0700), 0);
	unseen = cri_run_in(c, "unseen", &p, unseen_bundle);
	sbc_close(c);
	/*
	 * containerd removed one bundle while sandboxd was down; another's
	 * directory is out of sight altogether (its parent is missing too:
	 * not a reason to kill it).
	 */
	itest_daemon_kill9(&itest_d);
	snprintf(bundle, sizeof bundle, "%s/bundle-lost", itest_d.dir);
	cr_assert_eq(rmdir(bundle), 0);
	snprintf(bundle, sizeof bundle, "%s/unseen", itest_d.dir);
	cr_assert_eq(rename(unseen_dir, bundle), 0);
	itest_daemon_restart(&itest_d);
	cr_assert(itest_wait_dead(lost, 10000), "the forgotten pod still runs");
	cr_assert(itest_pid_alive(kept), "a pod containerd still has was killed");
	cr_assert(itest_pid_alive(unseen), "a pod whose bundle sandboxd cannot "
	    "see (its parent is missing too) was killed");
	netns_file("lost", netns, sizeof netns);
	c = itest_connect(&itest_d, "k8s.io");
	/* Reaped, then its netns removed off the loop: then it is forgotten. */
	deadline = itest_now_ms() + 10000;
	for (;;) {
		itest_expect(sbc_admin_list_instances(c, &v, &n, &err), 0, &err,
		    "ListInstances");
		if (n == 2 || itest_now_ms() > deadline)
			break;
		sbc_instance_list_free(v, n);
		usleep(50 * 1000);
	}
	cr_assert_eq(n, 2, "%zu instances 10 s after the restart", n);
	cr_assert_str_eq(v[0].id, "kept");
	cr_assert_str_eq(v[1].id, "unseen");
	sbc_instance_list_free(v, n);
	cr_assert_not(itest_path_exists(netns), "netns left: %s", netns);
	cr_assert(itest_log_contains(&itest_d, "containerd has forgotten it"));
	sbc_close(c);
}

/* Poll the operator's list until it holds n instances (10 s at most). */
static size_t
wait_instances(struct sbc *c, size_t want)
{
	struct sbc_instance	*v;
	struct sbc_error	 err = {0};
	size_t			 n;
	int64_t			 deadline = itest_now_ms() + 10000;

	for (;;) {
		itest_expect(sbc_admin_list_instances(c, &v, &n, &err), 0, &err,
		    "ListInstances");
		sbc_instance_list_free(v, n);
		if (n == want || itest_now_ms() > deadline)
			return (n);
		usleep(50 * 1000);
	}
}

/*
 * A pod the sweep removed (containerd forgot it while sandboxd was down)
 * is one that exited for Stop, Wait and Shutdown: CRI's StopPodSandbox
 * after a crash sends StopSandbox for it and gives up its teardown,
 * leaving its netns, on a NotFound.  Ids never seen stay NotFound, and so
 * does everything else asked of the swept one; a new pod of the same id
 * ends the memory of the old.
 */
Test(cri, swept_sandbox_answers_as_exited, .timeout = 60)
{
	struct pod		 p = { .network = rv_NamespaceMode_POD };
	struct sbc		*c;
	struct sbc_error	 err = {0};
	struct sbc_status	 st;
	struct timespec		 at = {0};
	char			 bundle[PATH_MAX];
	uint32_t		 status = 0;
	pid_t			 pid;

	ITEST_NEEDS_ROOT("pods make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	pid = cri_run(c, "swept", &p);
	sbc_close(c);
	itest_daemon_kill9(&itest_d);
	snprintf(bundle, sizeof bundle, "%s/bundle-swept", itest_d.dir);
	cr_assert_eq(rmdir(bundle), 0);
	itest_daemon_restart(&itest_d);
	cr_assert(itest_wait_dead(pid, 10000), "the forgotten pod still runs");
	c = itest_connect(&itest_d, "k8s.io");
	cr_assert_eq(wait_instances(c, 0), 0, "the swept pod is still listed");

	itest_expect(sbc_shim_stop(c, "swept", 0, &err), 0, &err,
	    "StopSandbox of the swept pod (CRI's StopPodSandbox)");
	itest_expect(sbc_ctrl_stop(c, "swept", 0, &err), 0, &err,
	    "Controller.Stop of the swept pod");
	itest_expect(sbc_shim_wait(c, "swept", &status, &at, &err), 0, &err,
	    "WaitSandbox of the swept pod");
	cr_assert_eq(status, 128 + SIGKILL, "re-adopted, then killed by the "
	    "sweep: its real status, though it is no child of the daemon, "
	    "got %u", status);
	cr_assert_gt(at.tv_sec, 0, "with the time it ended");
	itest_expect(sbc_shim_shutdown(c, "swept", &err), 0, &err,
	    "ShutdownSandbox of the swept pod");
	cr_assert_eq(sbc_shim_status(c, "swept", false, &st, &err),
	    STATUS_NOT_FOUND, "Status: no such instance");
	sbc_error_clear(&err);
	cr_assert_eq(sbc_shim_ping(c, "swept", &err), STATUS_NOT_FOUND);
	sbc_error_clear(&err);
	cr_assert_eq(sbc_shim_stop(c, "never", 0, &err), STATUS_NOT_FOUND,
	    "an id never seen is still NotFound");
	sbc_error_clear(&err);
	cr_assert_eq(sbc_shim_wait(c, "never", &status, &at, &err),
	    STATUS_NOT_FOUND);
	sbc_error_clear(&err);
	cr_assert_eq(sbc_shim_shutdown(c, "never", &err), STATUS_NOT_FOUND);
	sbc_error_clear(&err);
	cr_assert_eq(sbc_shim_stop(c, "swept", 0, &err), 0,
	    "asked twice: the same answer");

	/* The id again, for a pod shut down the ordinary way. */
	pid = cri_run(c, "swept", &p);
	itest_expect(sbc_shim_shutdown(c, "swept", &err), 0, &err,
	    "ShutdownSandbox of the new pod");
	cr_assert(itest_wait_dead(pid, 10000));
	cr_assert_eq(sbc_shim_stop(c, "swept", 0, &err), STATUS_NOT_FOUND,
	    "after a client's Shutdown, Stop is NotFound as the spec says");
	sbc_error_clear(&err);
	sbc_close(c);
}

/* ---- the launcher ---------------------------------------------------- */

/* What a launcher run printed and how it ended. */
struct launched {
	uint8_t	out[4096];
	size_t	len;
	int	status;		/* exit code, or -1 */
};

/* Run the launcher in dir with args, the daemon's socket in its env. */
static void
launch(const char *dir, const char *socket, const char *const *args,
    struct launched *r)
{
	const char	*bin = getenv("SANDBOXD_SHIM_BIN");
	char		*argv[16];
	pid_t		 pid;
	ssize_t		 n;
	int		 p[2], i, status;

	cr_assert_not_null(bin, "SANDBOXD_SHIM_BIN is not set");
	argv[0] = (char *)bin;
	for (i = 0; args[i] != NULL && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	cr_assert_eq(pipe(p), 0);
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		/* containerd hands the runtime options over and closes stdin. */
		if ((i = open("/dev/null", O_RDONLY)) != -1)
			dup2(i, 0);
		if (chdir(dir) == -1 || setenv("SANDBOXD_SOCKET", socket, 1) == -1)
			_exit(99);
		execv(bin, argv);
		_exit(98);
	}
	close(p[1]);
	r->len = 0;
	while ((n = read(p[0], r->out + r->len, sizeof r->out - r->len)) > 0)
		r->len += (size_t)n;
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(cri, launcher_start_and_delete, .timeout = 60)
{
	static const char *const start[] = { "-namespace", "k8s.io", "-id",
	    "lpod", "-address", "/run/containerd/containerd.sock", "start",
	    NULL };
	static const char *const del[] = { "-namespace", "k8s.io", "-id",
	    "lpod", "delete", NULL };
	static const char *const del_run[] = { "-namespace", "k8s.io", "-id",
	    "lpod-run", "-bundle", "/", "delete", NULL };
	struct pod		 p = { .network = rv_NamespaceMode_POD };
	struct sbc		*c;
	struct launched		 r;
	ctv_DeleteResponse	 resp = {0};
	char			 bundle[PATH_MAX], want[PATH_MAX + 8];
	char			 addr[PATH_MAX + 8], *cause = NULL;
	int			 fd;
	ssize_t			 n;
	pid_t			 pid;

	ITEST_NEEDS_ROOT("pods make namespaces");
	make_bundle("lpod", bundle, sizeof bundle);
	launch(bundle, itest_d.socket, start, &r);
	cr_assert_eq(r.status, 0, "start failed: %.*s", (int)r.len, r.out);
	snprintf(want, sizeof want, "unix://%s", itest_d.socket);
	cr_assert_eq(r.len, strlen(want), "start printed more than the address");
	cr_assert(memcmp(r.out, want, r.len) == 0);
	snprintf(addr, sizeof addr, "%s/address", bundle);
	cr_assert_neq(fd = open(addr, O_RDONLY), -1);
	n = read(fd, addr, sizeof addr - 1);
	close(fd);
	cr_assert(n > 0);
	addr[n] = '\0';
	cr_assert_str_eq(addr, want, "the bundle's address file");

	/* A running pod: delete kills it and reports how it ended. */
	c = itest_connect(&itest_d, "k8s.io");
	pid = cri_run(c, "lpod-run", &p);
	sbc_close(c);
	launch(bundle, itest_d.socket, del_run, &r);
	cr_assert_eq(r.status, 0);
	cr_assert(msg_decode(ctv_DeleteResponse_fields, &resp, r.out, r.len,
	    &cause), "DeleteResponse: %s", cause);
	cr_assert_eq(resp.pid, (uint32_t)pid);
	cr_assert_eq(resp.exit_status, 137, "SIGKILL: 128 + 9");
	cr_assert(resp.has_exited_at && resp.exited_at.seconds > 0);
	cr_assert(itest_wait_dead(pid, 5000));

	/* Nothing left to do: an empty response, exit 0. */
	launch(bundle, itest_d.socket, del, &r);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.len, 0, "delete of an unknown sandbox printed %zu bytes",
	    r.len);
}

Test(cri, launcher_without_daemon, .timeout = 60)
{
	static const char *const start[] = { "-id", "x", "start", NULL };
	static const char *const del[] = { "-id", "x", "delete", NULL };
	static const char *const bad[] = { "-nosuchflag", "start", NULL };
	struct launched		 r;
	char			 gone[PATH_MAX];
	int64_t			 t0;

	snprintf(gone, sizeof gone, "%s/no-daemon.sock", itest_d.dir);
	launch(itest_d.dir, gone, start, &r);
	cr_assert_eq(r.status, 1, "start must fail without a daemon");
	cr_assert_eq(r.len, 0, "nothing on stdout when start fails");
	t0 = itest_now_ms();
	launch(itest_d.dir, gone, del, &r);
	cr_assert_eq(r.status, 0, "delete with the daemon down still ends");
	cr_assert_eq(r.len, 0);
	cr_assert_lt(itest_now_ms() - t0, 5000,
	    "delete must end before containerd's 5 s");
	launch(itest_d.dir, itest_d.socket, bad, &r);
	cr_assert_eq(r.status, 2, "an unknown flag is a usage error");
}
