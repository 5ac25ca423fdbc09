/*
 * test_task.c: containers through containerd.task.v2.Task against the
 * real daemon, with a fake runc (a Python script written to the test's
 * directory, given with --runc) that records every call and runs each
 * container as a shell command of the bundle's file "fake-cmd".  It pins
 * down the state machine and its answers (codes as the Go shim gives
 * them), the records across a daemon restart, and the error paths, where
 * nothing may be left behind.  Real runc and containerd: tests/containerd/.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <linux/magic.h>

#include "cgstats.h"
#include "containerd/events/task.pb.h"
#include "containerd/services/events/ttrpc/v1/events.pb.h"
#include "containerd/task/v2/shim.pb.h"
#include "frame.h"
#include "itest.h"
#include "pbutil.h"
#include "protocol.h"
#include "sandboxd/v1/admin.pb.h"
#include "ttrpc.pb.h"

#define TASK_SERVICE	"containerd.task.v2.Task"

/*
 * The fake runc.  create forks the "container": it waits for start (a
 * file), then runs <bundle>/fake-cmd with sh; the pid goes to --pid-file.
 * exec runs the process JSON's args at once.  kill, delete, update, pause
 * and resume act on the recorded pid.  <bundle>/fake-fail makes the next
 * create fail with its contents as runc's error; <bundle>/fake-cgroup
 * names a cgroup directory create moves the container into.  Every call is appended
 * to $dir/runc.log as one line.
 */
static const char fake_runc[] =
"#!/usr/bin/python3\n"
"import json, os, signal, sys, time\n"
"argv = sys.argv[1:]\n"
"here = os.path.dirname(os.path.abspath(sys.argv[0]))\n"
"state = os.path.join(here, 'runc-state')\n"
"os.makedirs(state, exist_ok=True)\n"
"with open(os.path.join(here, 'runc.log'), 'a') as f:\n"
"    f.write(' '.join(argv) + '\\n')\n"
"cmds = ('create', 'start', 'kill', 'delete', 'exec', 'update', 'pause', 'resume', 'state', 'ps')\n"
"i = next(i for i, a in enumerate(argv) if a in cmds)\n"
"cmd, rest = argv[i], argv[i + 1:]\n"
"opts, pos, flags = {}, [], set()\n"
"valued = ('--pid-file', '--bundle', '-b', '--process', '-p', '--console-socket', '--resources', '-r', '--cwd')\n"
"j = 0\n"
"while j < len(rest):\n"
"    a = rest[j]\n"
"    if '=' in a and a.startswith('--'):\n"
"        k, v = a.split('=', 1); opts[k] = v\n"
"    elif a in valued:\n"
"        opts[a] = rest[j + 1]; j += 1\n"
"    elif a.startswith('-'):\n"
"        flags.add(a)\n"
"    else:\n"
"        pos.append(a)\n"
"    j += 1\n"
"glob = argv[:i]\n"
"logf = next((glob[k + 1] for k, a in enumerate(glob[:-1]) if a == '--log'), None)\n"
"logf = logf or next((a.split('=', 1)[1] for a in glob if a.startswith('--log=')), None)\n"
"def fail(msg):\n"
"    sys.stderr.write(msg + '\\n')\n"
"    if logf:\n"
"        with open(logf, 'a') as f:\n"
"            f.write(json.dumps({'level': 'error', 'msg': msg}) + '\\n')\n"
"    sys.exit(1)\n"
"def pidof(cid):\n"
"    try:\n"
"        return int(open(os.path.join(state, cid)).read())\n"
"    except OSError:\n"
"        fail('container \"%s\" does not exist' % cid)\n"
"def spawn(args, wait_file):\n"
"    pid = os.fork()\n"
"    if pid == 0:\n"
"        os.setsid()\n"
"        os.closerange(3, 65536)\n"
"        while wait_file and not os.path.exists(wait_file):\n"
"            time.sleep(0.02)\n"
"        os.execvp(args[0], args)\n"
"    return pid\n"
"cid = pos[0] if pos else ''\n"
"if cmd == 'create':\n"
"    bundle = opts.get('--bundle', opts.get('-b', '.'))\n"
"    ff = os.path.join(bundle, 'fake-fail')\n"
"    if os.path.exists(ff):\n"
"        fail(open(ff).read().strip())\n"
"    try:\n"
"        sh = open(os.path.join(bundle, 'fake-cmd')).read()\n"
"    except OSError:\n"
"        sh = 'exec sleep 1000'\n"
"    pid = spawn(['/bin/sh', '-c', sh], os.path.join(state, cid + '.started'))\n"
"    cg = os.path.join(bundle, 'fake-cgroup')\n"
"    if os.path.exists(cg):\n"
"        open(os.path.join(open(cg).read().strip(), 'cgroup.procs'), 'w').write(str(pid))\n"
"    open(os.path.join(state, cid), 'w').write(str(pid))\n"
"    open(opts['--pid-file'], 'w').write(str(pid))\n"
"elif cmd == 'start':\n"
"    pidof(cid)\n"
"    open(os.path.join(state, cid + '.started'), 'w').close()\n"
"elif cmd == 'exec':\n"
"    pidof(cid)\n"
"    proc = json.load(open(opts.get('--process', opts.get('-p'))))\n"
"    pid = spawn(proc['args'], None)\n"
"    open(opts['--pid-file'], 'w').write(str(pid))\n"
"    open(os.path.join(state, cid + '.execs'), 'a').write('%d\\n' % pid)\n"
"elif cmd == 'kill':\n"
"    pid = pidof(cid)\n"
"    sig = pos[1] if len(pos) > 1 else 'TERM'\n"
"    sig = int(sig) if sig.isdigit() else getattr(signal, 'SIG' + sig.replace('SIG', ''))\n"
"    pids = [pid]\n"
"    if '--all' in flags or '-a' in flags:\n"
"        try: pids += [int(x) for x in open(os.path.join(state, cid + '.execs')).read().split()]\n"
"        except OSError: pass\n"
"    hit = 0\n"
"    for p in pids:\n"
"        try: os.kill(p, sig); hit += 1\n"
"        except ProcessLookupError: pass\n"
"    if not hit:\n"
"        fail('container not running')\n"
"elif cmd == 'delete':\n"
"    pid = pidof(cid)\n"
"    if '--force' in flags or '-f' in flags:\n"
"        try: os.kill(pid, signal.SIGKILL)\n"
"        except ProcessLookupError: pass\n"
"    for f in (cid, cid + '.started'):\n"
"        try: os.unlink(os.path.join(state, f))\n"
"        except OSError: pass\n"
"elif cmd in ('update', 'pause', 'resume'):\n"
"    pidof(cid)\n"
"    if cmd == 'update':\n"
"        r = opts.get('--resources', opts.get('-r'))\n"
"        data = sys.stdin.read() if r in (None, '-') else open(r).read()\n"
"        open(os.path.join(here, 'runc.update'), 'w').write(data)\n"
"    else:\n"
"        os.kill(pidof(cid), signal.SIGSTOP if cmd == 'pause' else signal.SIGCONT)\n"
"sys.exit(0)\n";

static char	runc_path[PATH_MAX];

/* Write the fake runc and start the daemon with it. */
static void
task_setup(void)
{
	FILE	*f;

	itest_daemon_init(&itest_d);
	snprintf(runc_path, sizeof runc_path, "%s/fake-runc", itest_d.dir);
	cr_assert_not_null(f = fopen(runc_path, "w"));
	fputs(fake_runc, f);
	fclose(f);
	chmod(runc_path, 0755);
	itest_daemon_start(&itest_d, "--runc", runc_path, NULL);
}

TestSuite(task, .init = task_setup, .fini = itest_teardown);

/* A sandbox the containers can belong to: a pause sandbox, started. */
static pid_t
task_sandbox(struct sbc *c, const char *id)
{
	itest_make_sandbox(c, id, NULL, NULL);
	return (itest_ctrl_start(c, id));
}

/* A bundle as containerd makes it for a container of sandbox sbid. */
static void
task_bundle(const char *id, const char *sbid, const char *cmd, char *buf,
    size_t size)
{
	char	path[PATH_MAX + 16];
	FILE	*f;

	snprintf(buf, size, "%s/bundle-%s", itest_d.dir, id);
	cr_assert_eq(mkdir(buf, 0700), 0, "mkdir %s: %s", buf,
	    strerror(errno));
	if (sbid != NULL) {
		snprintf(path, sizeof path, "%s/sandbox", buf);
		cr_assert_not_null(f = fopen(path, "w"));
		fputs(sbid, f);
		fclose(f);
	}
	if (cmd != NULL) {
		snprintf(path, sizeof path, "%s/fake-cmd", buf);
		cr_assert_not_null(f = fopen(path, "w"));
		fputs(cmd, f);
		fclose(f);
	}
}

/* Create: the code, and the pid in *pid. */
static int
task_create(struct sbc *c, const char *id, const char *bundle,
    const char *out, uint32_t *pid, struct sbc_error *err)
{
	ctv_CreateTaskRequest	 req = {0};
	ctv_CreateTaskResponse	 resp = {0};
	struct sbc_reply	 reply = {0};
	int			 code;

	snprintf(req.id, sizeof req.id, "%s", id);
	req.bundle = (char *)bundle;
	req.stdout = (char *)out;
	code = sbc_call(c, TASK_SERVICE, "Create", ctv_CreateTaskRequest_fields,
	    &req, ctv_CreateTaskResponse_fields, &resp, &reply, err);
	if (pid != NULL)
		*pid = resp.pid;
	sbc_reply_free(&reply);
	return (code);
}

/* A call whose request is {id, exec_id} (State, Start, Wait, Delete). */
static int
task_idcall(struct sbc *c, const char *method, const char *id,
    const char *exec_id, const pb_msgdesc_t *resp_fields, void *resp,
    struct sbc_reply *reply, struct sbc_error *err)
{
	ctv_StateRequest	req = {0};

	snprintf(req.id, sizeof req.id, "%s", id);
	snprintf(req.exec_id, sizeof req.exec_id, "%s", exec_id != NULL ?
	    exec_id : "");
	return (sbc_call(c, TASK_SERVICE, method, ctv_StateRequest_fields,
	    &req, resp_fields, resp, reply, err));
}

/* State: status and, through the pointers, pid and exit status. */
static ctv_Status
task_state(struct sbc *c, const char *id, const char *exec_id,
    uint32_t *pid, uint32_t *exit_status)
{
	ctv_StateResponse	resp = {0};
	struct sbc_reply	reply = {0};
	struct sbc_error	err = {0};
	ctv_Status		st;

	itest_expect(task_idcall(c, "State", id, exec_id,
	    ctv_StateResponse_fields, &resp, &reply, &err), 0, &err, "State");
	if (pid != NULL)
		*pid = resp.pid;
	if (exit_status != NULL)
		*exit_status = resp.exit_status;
	st = resp.status;
	cr_assert_str_eq(resp.id, id);
	sbc_reply_free(&reply);
	return (st);
}

/* Start: the pid. */
static uint32_t
task_start(struct sbc *c, const char *id, const char *exec_id)
{
	ctv_StartResponse	resp = {0};
	struct sbc_reply	reply = {0};
	struct sbc_error	err = {0};

	itest_expect(task_idcall(c, "Start", id, exec_id,
	    ctv_StartResponse_fields, &resp, &reply, &err), 0, &err, "Start");
	sbc_reply_free(&reply);
	return (resp.pid);
}

/* Wait: the exit status. */
static uint32_t
task_wait(struct sbc *c, const char *id, const char *exec_id)
{
	ctv_WaitResponse	resp = {0};
	struct sbc_reply	reply = {0};
	struct sbc_error	err = {0};

	itest_expect(task_idcall(c, "Wait", id, exec_id,
	    ctv_WaitResponse_fields, &resp, &reply, &err), 0, &err, "Wait");
	cr_assert(resp.has_exited_at && resp.exited_at.seconds > 0);
	sbc_reply_free(&reply);
	return (resp.exit_status);
}

/* Delete: the code; exit status in *status. */
static int
task_delete(struct sbc *c, const char *id, const char *exec_id,
    uint32_t *status, struct sbc_error *err)
{
	ctv_DeleteResponse	resp = {0};
	struct sbc_reply	reply = {0};
	int			code;

	code = task_idcall(c, "Delete", id, exec_id, ctv_DeleteResponse_fields,
	    &resp, &reply, err);
	if (status != NULL)
		*status = resp.exit_status;
	sbc_reply_free(&reply);
	return (code);
}

/* Kill: the code. */
static int
task_kill(struct sbc *c, const char *id, const char *exec_id, uint32_t sig,
    bool all, struct sbc_error *err)
{
	ctv_KillRequest	req = {0};

	snprintf(req.id, sizeof req.id, "%s", id);
	snprintf(req.exec_id, sizeof req.exec_id, "%s", exec_id != NULL ?
	    exec_id : "");
	req.signal = sig;
	req.all = all;
	return (sbc_call(c, TASK_SERVICE, "Kill", ctv_KillRequest_fields, &req,
	    NULL, NULL, NULL, err));
}

/* Exec with the process spec JSON spec, stdout to out (NULL: none). */
static int
task_exec_spec(struct sbc *c, const char *id, const char *exec_id,
    const char *spec, const char *out, struct sbc_error *err)
{
	ctv_ExecProcessRequest	req = {0};

	snprintf(req.id, sizeof req.id, "%s", id);
	snprintf(req.exec_id, sizeof req.exec_id, "%s", exec_id);
	req.stdout = (char *)out;
	req.has_spec = true;
	req.spec.type_url = (char *)"types.containerd.io/opencontainers/"
	    "runtime-spec/1/Process";
	req.spec.value.data = (const pb_byte_t *)spec;
	req.spec.value.len = strlen(spec);
	return (sbc_call(c, TASK_SERVICE, "Exec", ctv_ExecProcessRequest_fields,
	    &req, NULL, NULL, NULL, err));
}

/*
 * Exec running argv (a JSON array), stdout to out, its spec padded with
 * an environment variable of pad bytes (to pass nanopb's 64 KiB arrays).
 */
static int
task_exec_out(struct sbc *c, const char *id, const char *exec_id,
    const char *args_json, const char *out, size_t pad,
    struct sbc_error *err)
{
	char	*spec, *fill;
	int	 code;

	cr_assert_not_null(fill = malloc(pad + 1));
	memset(fill, 'x', pad);
	fill[pad] = '\0';
	cr_assert_gt(asprintf(&spec, "{\"args\":%s,\"cwd\":\"/\","
	    "\"env\":[\"PAD=%s\"]}", args_json, fill), 0);
	code = task_exec_spec(c, id, exec_id, spec, out, err);
	free(spec);
	free(fill);
	return (code);
}

/* Exec with a process spec running argv (a JSON array), no stdio. */
static int
task_exec(struct sbc *c, const char *id, const char *exec_id,
    const char *args_json, struct sbc_error *err)
{
	return (task_exec_out(c, id, exec_id, args_json, NULL, 0, err));
}

/* The contents of a small file ("" if missing), static. */
static const char *
slurp(const char *path)
{
	static char	 buf[8192];
	FILE		*f;
	size_t		 n;

	buf[0] = '\0';
	if ((f = fopen(path, "r")) == NULL)
		return (buf);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

/* Poll until the fake runc's log holds needle (or 5 s passed). */
static bool
runc_logged(const char *needle)
{
	char	path[PATH_MAX];
	int64_t	end = itest_now_ms() + 5000;

	snprintf(path, sizeof path, "%s/runc.log", itest_d.dir);
	while (strstr(slurp(path), needle) == NULL) {
		if (itest_now_ms() > end)
			return (false);
		usleep(20000);
	}
	return (true);
}

Test(task, lifecycle_of_a_container_that_exits, .timeout = 60)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	char			 bundle[PATH_MAX], out[PATH_MAX];
	uint32_t		 pid, spid, st;

	ITEST_NEEDS_ROOT("sandboxes make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	task_sandbox(c, "pod1");
	task_bundle("c1", "pod1", "echo hello from c1; exit 3", bundle,
	    sizeof bundle);
	snprintf(out, sizeof out, "%s/c1.out", itest_d.dir);
	fclose(fopen(out, "w"));	/* containerd makes its FIFOs first */
	itest_expect(task_create(c, "c1", bundle, out, &pid, &err), 0, &err,
	    "Create");
	cr_assert_gt(pid, 0);
	itest_track((pid_t)pid);
	cr_assert(runc_logged("create"), "runc create was not called");
	cr_assert_eq(task_state(c, "c1", NULL, &spid, NULL), ctv_Status_CREATED);
	cr_assert_eq(spid, pid);
	cr_assert_eq(task_start(c, "c1", NULL), pid);
	cr_assert_eq(task_wait(c, "c1", NULL), 3, "the command's exit status");
	cr_assert_eq(task_state(c, "c1", NULL, NULL, &st), ctv_Status_STOPPED);
	cr_assert_eq(st, 3);
	cr_assert_str_eq(slurp(out), "hello from c1\n",
	    "stdout reaches the file containerd gave");
	cr_assert_eq(task_wait(c, "c1", NULL), 3, "Wait after the exit: at once");
	cr_assert_eq(task_kill(c, "c1", NULL, SIGTERM, false, &err),
	    STATUS_NOT_FOUND, "Kill of an exited process: %s", err.message);
	cr_assert(strstr(err.message, "already finished") != NULL, "%s",
	    err.message);
	sbc_error_clear(&err);
	itest_expect(task_delete(c, "c1", NULL, &st, &err), 0, &err, "Delete");
	cr_assert_eq(st, 3, "Delete answers the exit status");
	cr_assert(runc_logged("delete"), "runc delete was not called");
	cr_assert_eq(task_idcall(c, "State", "c1", NULL, NULL, NULL, NULL,
	    &err), STATUS_NOT_FOUND, "State after Delete");
	sbc_error_clear(&err);
	sbc_close(c);
}

Test(task, kill_running_container_and_delete_rules, .timeout = 60)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	char			 bundle[PATH_MAX];
	uint32_t		 pid, st;

	ITEST_NEEDS_ROOT("sandboxes make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	task_sandbox(c, "pod2");
	task_bundle("c2", "pod2", "exec sleep 1000", bundle, sizeof bundle);
	itest_expect(task_create(c, "c2", bundle, NULL, &pid, &err), 0, &err,
	    "Create");
	itest_track((pid_t)pid);
	task_start(c, "c2", NULL);
	cr_assert_eq(task_state(c, "c2", NULL, NULL, NULL), ctv_Status_RUNNING);
	cr_assert_eq(task_delete(c, "c2", NULL, NULL, &err),
	    STATUS_FAILED_PRECONDITION, "Delete of a running container");
	sbc_error_clear(&err);
	itest_expect(task_kill(c, "c2", NULL, SIGKILL, false, &err), 0, &err,
	    "Kill");
	cr_assert_eq(task_wait(c, "c2", NULL), 128 + SIGKILL);
	cr_assert_not(itest_pid_alive((pid_t)pid));
	itest_expect(task_delete(c, "c2", NULL, &st, &err), 0, &err, "Delete");
	cr_assert_eq(st, 128 + SIGKILL);
	sbc_close(c);
}

Test(task, create_errors_leave_nothing, .timeout = 60)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	char			 bundle[PATH_MAX], path[PATH_MAX + 16];
	uint32_t		 pid;
	FILE			*f;

	ITEST_NEEDS_ROOT("sandboxes make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	task_sandbox(c, "pod3");
	task_bundle("nosb", NULL, NULL, bundle, sizeof bundle);
	cr_assert_eq(task_create(c, "nosb", bundle, NULL, NULL, &err),
	    STATUS_FAILED_PRECONDITION, "no sandbox file: %s", err.message);
	sbc_error_clear(&err);
	task_bundle("other", "nosuchpod", NULL, bundle, sizeof bundle);
	cr_assert_eq(task_create(c, "other", bundle, NULL, NULL, &err),
	    STATUS_NOT_FOUND, "unknown sandbox: %s", err.message);
	cr_assert(strstr(err.message, "nosuchpod") != NULL, "%s", err.message);
	sbc_error_clear(&err);
	cr_assert_eq(task_create(c, "bad/id", bundle, NULL, NULL, &err),
	    STATUS_INVALID_ARGUMENT);
	sbc_error_clear(&err);
	task_bundle("failing", "pod3", NULL, bundle, sizeof bundle);
	snprintf(path, sizeof path, "%s/fake-fail", bundle);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("cannot set up the rootfs: bad mount", f);
	fclose(f);
	cr_assert_eq(task_create(c, "failing", bundle, NULL, NULL, &err),
	    STATUS_UNKNOWN, "runc create failed");
	cr_assert(strstr(err.message, "bad mount") != NULL,
	    "runc's error is carried: %s", err.message);
	sbc_error_clear(&err);
	cr_assert_eq(task_idcall(c, "State", "failing", NULL, NULL, NULL, NULL,
	    &err), STATUS_NOT_FOUND, "nothing left of a failed Create");
	sbc_error_clear(&err);
	unlink(path);
	itest_expect(task_create(c, "failing", bundle, NULL, &pid, &err), 0,
	    &err, "Create again once runc works");
	itest_track((pid_t)pid);
	cr_assert_eq(task_create(c, "failing", bundle, NULL, NULL, &err),
	    STATUS_ALREADY_EXISTS);
	sbc_error_clear(&err);
	itest_expect(task_delete(c, "failing", NULL, NULL, &err), 0, &err,
	    "Delete of a created container");
	cr_assert(itest_wait_dead((pid_t)pid, 5000),
	    "runc delete --force ends the created container");
	cr_assert_eq(task_idcall(c, "Start", "nosuch", NULL, NULL, NULL, NULL,
	    &err), STATUS_NOT_FOUND);
	sbc_error_clear(&err);
	cr_assert_eq(task_idcall(c, "Checkpoint", "pod3", NULL, NULL, NULL,
	    NULL, &err), STATUS_UNIMPLEMENTED);
	cr_assert(strstr(err.message, "Checkpoint") != NULL, "%s", err.message);
	sbc_error_clear(&err);
	sbc_close(c);
}

Test(task, exec_processes, .timeout = 60)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	char			 bundle[PATH_MAX];
	uint32_t		 pid, epid, st;

	ITEST_NEEDS_ROOT("sandboxes make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	task_sandbox(c, "pod4");
	task_bundle("c4", "pod4", "exec sleep 1000", bundle, sizeof bundle);
	itest_expect(task_create(c, "c4", bundle, NULL, &pid, &err), 0, &err,
	    "Create");
	itest_track((pid_t)pid);
	cr_assert_eq(task_exec(c, "c4", "e1", "[\"true\"]", &err),
	    STATUS_FAILED_PRECONDITION, "Exec needs the container running");
	sbc_error_clear(&err);
	task_start(c, "c4", NULL);
	itest_expect(task_exec(c, "c4", "e1",
	    "[\"/bin/sh\",\"-c\",\"sleep 0.3; exit 7\"]", &err), 0, &err,
	    "Exec");
	cr_assert_eq(task_exec(c, "c4", "e1", "[\"true\"]", &err),
	    STATUS_ALREADY_EXISTS);
	sbc_error_clear(&err);
	cr_assert_eq(task_state(c, "c4", "e1", &epid, NULL), ctv_Status_CREATED);
	cr_assert_eq(epid, 0, "no pid before Start");
	cr_assert_eq(task_kill(c, "c4", "e1", SIGTERM, false, &err),
	    STATUS_FAILED_PRECONDITION, "Kill of an exec not started");
	sbc_error_clear(&err);
	epid = task_start(c, "c4", "e1");
	cr_assert_gt(epid, 0);
	cr_assert_neq(epid, pid);
	cr_assert(runc_logged("exec"));
	cr_assert_eq(task_state(c, "c4", "e1", NULL, NULL), ctv_Status_RUNNING);
	cr_assert_eq(task_wait(c, "c4", "e1"), 7, "the exec's exit status");
	cr_assert_eq(task_state(c, "c4", NULL, NULL, NULL), ctv_Status_RUNNING,
	    "the init runs on");
	itest_expect(task_delete(c, "c4", "e1", &st, &err), 0, &err,
	    "Delete of the exec");
	cr_assert_eq(st, 7);
	cr_assert_eq(task_idcall(c, "State", "c4", "e1", NULL, NULL, NULL,
	    &err), STATUS_NOT_FOUND, "the exec is forgotten");
	sbc_error_clear(&err);
	itest_expect(task_exec(c, "c4", "e2", "[\"sleep\",\"1000\"]", &err),
	    0, &err, "Exec");
	task_start(c, "c4", "e2");
	itest_expect(task_kill(c, "c4", NULL, SIGKILL, true, &err), 0, &err,
	    "Kill --all");
	cr_assert(runc_logged("kill --all"), "Kill all goes through runc");
	cr_assert_eq(task_wait(c, "c4", NULL), 128 + SIGKILL);
	cr_assert_eq(task_wait(c, "c4", "e2"), 128 + SIGKILL);
	itest_expect(task_delete(c, "c4", "e2", NULL, &err), 0, &err,
	    "Delete e2");

	/* The init alone killed: what still runs of the container follows. */
	task_bundle("c4b", "pod4", "exec sleep 1000", bundle, sizeof bundle);
	itest_expect(task_create(c, "c4b", bundle, NULL, &pid, &err), 0, &err,
	    "Create");
	itest_track((pid_t)pid);
	task_start(c, "c4b", NULL);
	itest_expect(task_exec(c, "c4b", "e3", "[\"sleep\",\"1000\"]", &err),
	    0, &err, "Exec");
	epid = task_start(c, "c4b", "e3");
	itest_expect(task_kill(c, "c4b", NULL, SIGKILL, false, &err), 0, &err,
	    "Kill of the init");
	cr_assert_eq(task_wait(c, "c4b", NULL), 128 + SIGKILL);
	cr_assert_eq(task_wait(c, "c4b", "e3"), 128 + SIGKILL,
	    "the exec is killed when the init exits");
	cr_assert_not(itest_pid_alive((pid_t)epid));
	itest_expect(task_delete(c, "c4b", "e3", NULL, &err), 0, &err,
	    "Delete e3");
	itest_expect(task_delete(c, "c4b", NULL, NULL, &err), 0, &err,
	    "Delete");
	itest_expect(task_delete(c, "c4", NULL, NULL, &err), 0, &err, "Delete");
	sbc_close(c);
}

Test(task, survives_a_daemon_restart, .timeout = 90)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	char			 bundle[PATH_MAX];
	ctv_ConnectResponse	 conn = {0};
	struct sbc_reply	 reply = {0};
	uint32_t		 pid, pid2, epid, spid, st;

	ITEST_NEEDS_ROOT("sandboxes make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	task_sandbox(c, "pod5");
	task_bundle("runs", "pod5", "exec sleep 1000", bundle, sizeof bundle);
	itest_expect(task_create(c, "runs", bundle, NULL, &pid, &err), 0, &err,
	    "Create");
	itest_track((pid_t)pid);
	task_start(c, "runs", NULL);
	itest_expect(task_exec(c, "runs", "e1", "[\"sleep\",\"1000\"]",
	    &err), 0, &err, "Exec");
	epid = task_start(c, "runs", "e1");
	itest_track((pid_t)epid);
	task_bundle("dies", "pod5", "exec sleep 1000", bundle, sizeof bundle);
	itest_expect(task_create(c, "dies", bundle, NULL, &pid2, &err), 0,
	    &err, "Create");
	itest_track((pid_t)pid2);
	task_start(c, "dies", NULL);
	sbc_close(c);

	itest_daemon_kill9(&itest_d);
	kill((pid_t)pid2, SIGKILL);
	cr_assert(itest_wait_dead((pid_t)pid2, 5000));
	itest_reap_orphans(&itest_d);
	itest_daemon_restart(&itest_d);

	c = itest_connect(&itest_d, "k8s.io");
	cr_assert_eq(task_state(c, "runs", NULL, &spid, NULL),
	    ctv_Status_RUNNING, "re-adopted");
	cr_assert_eq(spid, pid);
	itest_expect(sbc_call(c, TASK_SERVICE, "Connect",
	    ctv_ConnectRequest_fields, &(ctv_ConnectRequest){ .id = "runs" },
	    ctv_ConnectResponse_fields, &conn, &reply, &err), 0, &err,
	    "Connect");
	cr_assert_eq(conn.task_pid, pid);
	cr_assert_eq(conn.shim_pid, (uint32_t)itest_d.pid);
	sbc_reply_free(&reply);
	cr_assert_eq(task_state(c, "dies", NULL, NULL, &st), ctv_Status_STOPPED,
	    "an exit while the daemon was down is recorded");
	cr_assert_eq(st, 128 + SIGKILL, "with the status the kernel kept for "
	    "the keeper's pidfd, got %u", st);
	cr_assert(itest_log_contains(&itest_d, "exited while sandboxd was down"));
	/* Not the daemon's children any more: their real statuses still. */
	itest_expect(task_kill(c, "runs", "e1", SIGTERM, false, &err), 0, &err,
	    "Kill of the exec after the restart");
	cr_assert_eq(task_wait(c, "runs", "e1"), 128 + SIGTERM,
	    "a re-adopted exec stopped by SIGTERM");
	itest_expect(task_kill(c, "runs", NULL, SIGKILL, false, &err), 0, &err,
	    "Kill after the restart");
	cr_assert_eq(task_wait(c, "runs", NULL), 128 + SIGKILL,
	    "a re-adopted container init killed by SIGKILL");
	cr_assert(itest_wait_dead((pid_t)pid, 5000));
	itest_expect(task_delete(c, "runs", "e1", NULL, &err), 0, &err,
	    "Delete e1");
	itest_expect(task_delete(c, "runs", NULL, NULL, &err), 0, &err, "Delete");
	itest_expect(task_delete(c, "dies", NULL, NULL, &err), 0, &err, "Delete");
	sbc_close(c);
}

/* SIGUSR2 the daemon and wait until its new image has taken over. */
static void
task_reexec(void)
{
	int64_t	t0;

	cr_assert_eq(kill(itest_d.pid, SIGUSR2), 0);
	t0 = itest_now_ms();
	while (!itest_log_contains(&itest_d, "re-executed: kept")) {
		cr_assert_lt(itest_now_ms() - t0, 20000, "no re-exec in 20 s");
		usleep(20000);
	}
}

/* State of a process: its stdout path must be want, terminal off. */
static void
task_expect_stdout(struct sbc *c, const char *id, const char *exec_id,
    const char *want)
{
	ctv_StateResponse	resp = {0};
	struct sbc_reply	reply = {0};
	struct sbc_error	err = {0};

	itest_expect(task_idcall(c, "State", id, exec_id,
	    ctv_StateResponse_fields, &resp, &reply, &err), 0, &err, "State");
	cr_assert_str_eq(resp.stdout != NULL ? resp.stdout : "", want,
	    "%s: the stdout path is kept", exec_id);
	cr_assert_not(resp.terminal);
	sbc_reply_free(&reply);
}

/* A running container of a new sandbox, for the exec tests; its pid. */
static uint32_t
task_running(struct sbc *c, const char *pod, const char *id)
{
	struct sbc_error	err = {0};
	char			bundle[PATH_MAX];
	uint32_t		pid;

	task_sandbox(c, pod);
	task_bundle(id, pod, "exec sleep 1000", bundle, sizeof bundle);
	itest_expect(task_create(c, id, bundle, NULL, &pid, &err), 0, &err,
	    "Create");
	itest_track((pid_t)pid);
	task_start(c, id, NULL);
	return (pid);
}

/*
 * Execs acknowledged but not started when the daemon is killed: after the
 * restart each can be started (its spec and stdio were recorded), killed,
 * waited for, or deleted unstarted; a deleted one is gone from the record
 * (not back after another restart).
 */
Test(task, exec_not_started_survives_kill9, .timeout = 90)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	char			 out[PATH_MAX];
	uint32_t		 pid, epid, rpid, st;

	ITEST_NEEDS_ROOT("sandboxes make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	pid = task_running(c, "pod8", "c8");
	snprintf(out, sizeof out, "%s/e1.out", itest_d.dir);
	fclose(fopen(out, "w"));
	itest_expect(task_exec_out(c, "c8", "e1", "[\"/bin/sh\",\"-c\","
	    "\"echo from e1; exit 5\"]", out, 200 << 10, &err), 0, &err,
	    "Exec e1, a 200 KiB spec");
	itest_expect(task_exec(c, "c8", "e2", "[\"sleep\",\"1000\"]", &err),
	    0, &err, "Exec e2");
	itest_expect(task_exec(c, "c8", "e3", "[\"true\"]", &err), 0, &err,
	    "Exec e3");
	itest_expect(task_exec(c, "c8", "r1", "[\"sleep\",\"1000\"]", &err),
	    0, &err, "Exec r1");
	rpid = task_start(c, "c8", "r1");	/* running at the crash */
	itest_track((pid_t)rpid);
	sbc_close(c);

	itest_daemon_kill9(&itest_d);	/* the Execs were answered: durable */
	itest_reap_orphans(&itest_d);
	itest_daemon_restart(&itest_d);

	c = itest_connect(&itest_d, "k8s.io");
	cr_assert_eq(task_state(c, "c8", NULL, NULL, NULL), ctv_Status_RUNNING);
	cr_assert_eq(task_state(c, "c8", "e1", &epid, NULL), ctv_Status_CREATED,
	    "the exec is still there, not started");
	cr_assert_eq(epid, 0);
	task_expect_stdout(c, "c8", "e1", out);
	cr_assert_eq(task_state(c, "c8", "r1", &epid, NULL), ctv_Status_RUNNING,
	    "an exec running at the crash is re-adopted");
	cr_assert_eq(epid, rpid);
	cr_assert_eq(task_kill(c, "c8", "e2", SIGTERM, false, &err),
	    STATUS_FAILED_PRECONDITION, "Kill before Start, as before the "
	    "restart: %s", err.message);
	sbc_error_clear(&err);
	epid = task_start(c, "c8", "e1");
	cr_assert_gt(epid, 0, "Start after the restart runs the recorded spec");
	cr_assert_neq(epid, pid);
	cr_assert_eq(task_wait(c, "c8", "e1"), 5, "its real exit status");
	cr_assert_str_eq(slurp(out), "from e1\n",
	    "its output reaches the recorded stdout");
	epid = task_start(c, "c8", "e2");
	itest_track((pid_t)epid);
	itest_expect(task_kill(c, "c8", "e2", SIGKILL, false, &err), 0, &err,
	    "Kill e2");
	cr_assert_eq(task_wait(c, "c8", "e2"), 128 + SIGKILL);
	itest_expect(task_delete(c, "c8", "e1", &st, &err), 0, &err,
	    "Delete e1");
	cr_assert_eq(st, 5);
	itest_expect(task_delete(c, "c8", "e2", NULL, &err), 0, &err,
	    "Delete e2");
	itest_expect(task_delete(c, "c8", "e3", NULL, &err), 0, &err,
	    "Delete e3, never started");
	itest_expect(task_kill(c, "c8", "r1", SIGKILL, false, &err), 0, &err,
	    "Kill r1");
	cr_assert_eq(task_wait(c, "c8", "r1"), 128 + SIGKILL, "re-adopted: no "
	    "child of the new daemon, its real status all the same");
	itest_expect(task_delete(c, "c8", "r1", NULL, &err), 0, &err,
	    "Delete r1");
	sbc_close(c);

	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, "k8s.io");
	cr_assert_eq(task_state(c, "c8", NULL, NULL, NULL), ctv_Status_RUNNING);
	cr_assert_eq(task_idcall(c, "State", "c8", "e1", NULL, NULL, NULL,
	    &err), STATUS_NOT_FOUND, "a deleted exec is not in the record");
	sbc_error_clear(&err);
	cr_assert_eq(task_idcall(c, "State", "c8", "e3", NULL, NULL, NULL,
	    &err), STATUS_NOT_FOUND, "nor one deleted before its Start");
	sbc_error_clear(&err);
	itest_expect(task_kill(c, "c8", NULL, SIGKILL, false, &err), 0, &err,
	    "Kill");
	task_wait(c, "c8", NULL);
	itest_expect(task_delete(c, "c8", NULL, NULL, &err), 0, &err, "Delete");
	sbc_close(c);
}

/*
 * The same across a SIGUSR2 re-execution, with a Wait for the exec parked
 * before it: the new image starts the exec and answers that Wait.
 */
Test(task, exec_not_started_survives_a_reexec, .timeout = 90)
{
	struct sbc		*c, *w;
	struct sbc_error	 err = {0};
	ctv_WaitRequest		 wreq = {0};
	ctv_WaitResponse	 wresp = {0};
	struct sbc_reply	 reply = {0};
	uint32_t		 epid, sid;

	ITEST_NEEDS_ROOT("sandboxes make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	task_running(c, "pod9", "c9");
	itest_expect(task_exec(c, "c9", "e1", "[\"/bin/sh\",\"-c\","
	    "\"exit 6\"]", &err), 0, &err, "Exec e1");
	itest_expect(task_exec(c, "c9", "e2", "[\"true\"]", &err), 0, &err,
	    "Exec e2");
	w = itest_connect(&itest_d, "k8s.io");
	snprintf(wreq.id, sizeof wreq.id, "c9");
	snprintf(wreq.exec_id, sizeof wreq.exec_id, "e1");
	cr_assert_eq(sbc_send(w, TASK_SERVICE, "Wait", ctv_WaitRequest_fields,
	    &wreq, &sid, &err), 0, "Wait sent: %s", err.message);
	usleep(300000);		/* parked before the re-exec */
	task_reexec();

	cr_assert_eq(task_state(c, "c9", "e1", NULL, NULL), ctv_Status_CREATED);
	epid = task_start(c, "c9", "e1");
	cr_assert_gt(epid, 0, "Start after the re-exec runs the recorded spec");
	cr_assert_eq(sbc_recv(w, sid, ctv_WaitResponse_fields, &wresp, &reply,
	    &err), 0, "the Wait parked before the re-exec: %s", err.message);
	cr_assert_eq(wresp.exit_status, 6, "the exec's real exit status");
	sbc_reply_free(&reply);
	itest_expect(task_delete(c, "c9", "e1", NULL, &err), 0, &err,
	    "Delete e1");
	itest_expect(task_delete(c, "c9", "e2", NULL, &err), 0, &err,
	    "Delete e2, never started");
	sbc_close(w);
	sbc_close(c);

	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, "k8s.io");
	cr_assert_eq(task_idcall(c, "State", "c9", "e2", NULL, NULL, NULL,
	    &err), STATUS_NOT_FOUND, "the deleted exec is not in the record");
	sbc_error_clear(&err);
	itest_expect(task_exec(c, "c9", "e3", "[\"true\"]", &err), 0, &err,
	    "Exec e3, left unstarted");
	itest_expect(task_kill(c, "c9", NULL, SIGKILL, false, &err), 0, &err,
	    "Kill");
	task_wait(c, "c9", NULL);
	itest_expect(task_delete(c, "c9", NULL, NULL, &err), 0, &err, "Delete");
	sbc_close(c);

	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, "k8s.io");
	cr_assert_eq(task_idcall(c, "State", "c9", "e3", NULL, NULL, NULL,
	    &err), STATUS_NOT_FOUND, "the container's Delete took its "
	    "unstarted exec out of the store with it");
	sbc_error_clear(&err);
	sbc_close(c);
}

/*
 * What a container holds in specs of execs not started is bounded (they
 * are in its record, rewritten at every change): past the bound an Exec
 * is refused and leaves nothing; a Start frees room.
 */
Test(task, exec_specs_bounded, .timeout = 60)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	const size_t		 big = 3u << 20;

	ITEST_NEEDS_ROOT("sandboxes make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	task_running(c, "pod10", "c10");
	itest_expect(task_exec_out(c, "c10", "b1", "[\"true\"]", NULL, big,
	    &err), 0, &err, "Exec b1, 3 MiB");
	itest_expect(task_exec_out(c, "c10", "b2", "[\"true\"]", NULL, big,
	    &err), 0, &err, "Exec b2, 3 MiB");
	cr_assert_eq(task_exec_out(c, "c10", "b3", "[\"true\"]", NULL, big,
	    &err), STATUS_RESOURCE_EXHAUSTED, "a third: past 8 MiB held");
	cr_assert(strstr(err.message, "not started") != NULL, "%s",
	    err.message);
	sbc_error_clear(&err);
	cr_assert_eq(task_idcall(c, "State", "c10", "b3", NULL, NULL, NULL,
	    &err), STATUS_NOT_FOUND, "the refused Exec left nothing");
	sbc_error_clear(&err);
	task_start(c, "c10", "b1");
	cr_assert_eq(task_wait(c, "c10", "b1"), 0);
	itest_expect(task_exec_out(c, "c10", "b3", "[\"true\"]", NULL, big,
	    &err), 0, &err, "Exec b3 once b1 started");
	itest_expect(task_kill(c, "c10", NULL, SIGKILL, false, &err), 0, &err,
	    "Kill");
	task_wait(c, "c10", NULL);
	sbc_close(c);
}

Test(task, kept_across_a_reexec, .timeout = 90)
{
	struct sbc		*c, *w;
	struct sbc_error	 err = {0};
	char			 bundle[PATH_MAX], out[PATH_MAX + 16];
	ctv_WaitRequest		 wreq = {0};
	ctv_WaitResponse	 wresp = {0};
	struct sbc_reply	 reply = {0};
	uint32_t		 pid, spid, sid;
	pid_t			 dpid;
	size_t			 before;

	ITEST_NEEDS_ROOT("sandboxes make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	task_sandbox(c, "pod6");
	task_bundle("ticks", "pod6",
	    "while :; do echo tick; sleep 0.1; done", bundle, sizeof bundle);
	snprintf(out, sizeof out, "%s/ticks.out", itest_d.dir);
	fclose(fopen(out, "w"));
	itest_expect(task_create(c, "ticks", bundle, out, &pid, &err), 0, &err,
	    "Create");
	itest_track((pid_t)pid);
	task_start(c, "ticks", NULL);
	w = itest_connect(&itest_d, "k8s.io");
	snprintf(wreq.id, sizeof wreq.id, "ticks");
	cr_assert_eq(sbc_send(w, TASK_SERVICE, "Wait", ctv_WaitRequest_fields,
	    &wreq, &sid, &err), 0, "Wait sent: %s", err.message);
	usleep(300000);		/* parked before the re-exec */
	dpid = itest_d.pid;
	task_reexec();
	cr_assert(itest_log_contains(&itest_d, "the stdio of 1 container"),
	    "the container's stdio was handed over");
	cr_assert_eq(task_state(c, "ticks", NULL, &spid, NULL),
	    ctv_Status_RUNNING, "the container runs on, the connection too");
	cr_assert_eq(spid, pid);
	before = strlen(slurp(out));
	usleep(500000);
	cr_assert_gt(strlen(slurp(out)), before, "its output still flows");
	itest_expect(task_kill(c, "ticks", NULL, SIGKILL, false, &err), 0, &err,
	    "Kill after the re-exec");
	cr_assert_eq(sbc_recv(w, sid, ctv_WaitResponse_fields, &wresp, &reply,
	    &err), 0, "the Wait parked before the re-exec: %s", err.message);
	cr_assert_eq(wresp.exit_status, 128 + SIGKILL,
	    "still the daemon's child: the real status");
	sbc_reply_free(&reply);
	itest_expect(task_delete(c, "ticks", NULL, NULL, &err), 0, &err,
	    "Delete");
	cr_assert_eq(itest_d.pid, dpid, "same daemon pid");
	sbc_close(w);
	sbc_close(c);
}

/* Run the shim launcher's "delete" for id, as containerd does; its output. */
static size_t
launcher_delete(const char *id, uint8_t *out, size_t size, int *status)
{
	const char	*bin = getenv("SANDBOXD_SHIM_BIN");
	pid_t		 pid;
	ssize_t		 n;
	size_t		 len = 0;
	int		 p[2], fd, st;

	cr_assert_not_null(bin, "SANDBOXD_SHIM_BIN is not set");
	cr_assert_eq(pipe(p), 0);
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, 0);
		if (setenv("SANDBOXD_SOCKET", itest_d.socket, 1) == -1)
			_exit(99);
		execl(bin, bin, "-namespace", "k8s.io", "-id", id, "-bundle",
		    "/", "delete", (char *)NULL);
		_exit(98);
	}
	close(p[1]);
	while ((n = read(p[0], out + len, size - len)) > 0)
		len += (size_t)n;
	close(p[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return (len);
}

Test(task, launcher_delete_removes_a_container, .timeout = 60)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	ctv_DeleteResponse	 resp = {0};
	char			 bundle[PATH_MAX], *cause = NULL;
	uint8_t			 out[512];
	size_t			 len;
	uint32_t		 pid;
	int			 status;

	ITEST_NEEDS_ROOT("sandboxes make namespaces");
	c = itest_connect(&itest_d, "k8s.io");
	task_sandbox(c, "pod7");
	task_bundle("lc", "pod7", "exec sleep 1000", bundle, sizeof bundle);
	itest_expect(task_create(c, "lc", bundle, NULL, &pid, &err), 0, &err,
	    "Create");
	itest_track((pid_t)pid);
	task_start(c, "lc", NULL);
	len = launcher_delete("lc", out, sizeof out, &status);
	cr_assert_eq(status, 0, "launcher delete: %.*s", (int)len, out);
	cr_assert(msg_decode(ctv_DeleteResponse_fields, &resp, out, len,
	    &cause), "DeleteResponse: %s", cause);
	cr_assert_eq(resp.pid, pid);
	cr_assert_eq(resp.exit_status, 128 + SIGKILL);
	cr_assert(itest_wait_dead((pid_t)pid, 5000));
	cr_assert_eq(task_idcall(c, "State", "lc", NULL, NULL, NULL, NULL,
	    &err), STATUS_NOT_FOUND, "deleted in sandboxd");
	sbc_error_clear(&err);
	len = launcher_delete("lc", out, sizeof out, &status);
	cr_assert_eq(status, 0, "again: nothing to do");
	cr_assert_eq(len, 0, "an empty DeleteResponse");
	sbc_close(c);
}

/* ---- OOM kills while the daemon is down ----------------------------- */

#define OOM_LIMIT	"33554432"		/* 32 MiB */
#define OOM_TOUCH	(256UL * 1024 * 1024)	/* well past it */
#define EVSRV_MAX	128
#define TOPIC_OOM	"/tasks/oom"
#define TOPIC_EXIT	"/tasks/exit"

/*
 * containerd's events service, played by the test: it answers every
 * Forward and notes its topic and container (TaskOOM, TaskExit).
 */
struct evsrv {
	char	 path[100];
	int	 lfd, cfd;
	uint8_t	 in[1 << 16];
	size_t	 inlen;
	struct {
		char	topic[64];
		char	cid[80];
	}	 seen[EVSRV_MAX];
	int	 nseen;
};

/* Listen in the test's directory and give the daemon the address. */
static void
evsrv_start(struct evsrv *s, struct sbc *c)
{
	struct sockaddr_un		 sun = { .sun_family = AF_UNIX };
	sv_SetEventsAddressRequest	 req = {0};
	sv_SetEventsAddressResponse	 resp = {0};
	struct sbc_reply		 reply = {0};
	struct sbc_error		 err = {0};

	memset(s, 0, sizeof(*s));
	s->cfd = -1;
	snprintf(s->path, sizeof s->path, "%s/ev.sock", itest_d.dir);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", s->path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_neq(s->lfd, -1);
	cr_assert_eq(bind(s->lfd, (struct sockaddr *)&sun, sizeof sun), 0,
	    "bind %s: %s", s->path, strerror(errno));
	cr_assert_eq(listen(s->lfd, 4), 0);
	snprintf(req.address, sizeof req.address, "%s", s->path);
	itest_expect(sbc_call(c, "sandboxd.v1.Admin", "SetEventsAddress",
	    sv_SetEventsAddressRequest_fields, &req,
	    sv_SetEventsAddressResponse_fields, &resp, &reply, &err), 0, &err,
	    "SetEventsAddress");
	sbc_reply_free(&reply);
}

/* Note one Forward: its topic, and the container of a TaskOOM/TaskExit. */
static void
evsrv_note(struct evsrv *s, const uint8_t *payload, size_t len)
{
	t_Request		 req = {0};
	csetv_ForwardRequest	 fwd = {0};
	cev_TaskOOM		 oom = {0};
	cev_TaskExit		 ex = {0};
	const char		*url;
	char			*err = NULL;
	int			 n;

	cr_assert_lt(s->nseen, EVSRV_MAX);
	n = s->nseen++;
	cr_assert(msg_decode(t_Request_fields, &req, payload, len, &err),
	    "request: %s", err);
	cr_assert(msg_decode(csetv_ForwardRequest_fields, &fwd,
	    req.payload.data, req.payload.len, &err), "forward: %s", err);
	snprintf(s->seen[n].topic, sizeof s->seen[n].topic, "%s",
	    fwd.envelope.topic);
	url = fwd.envelope.event.type_url;
	if (strcmp(url, "containerd.events.TaskOOM") == 0) {
		cr_assert(msg_decode(cev_TaskOOM_fields, &oom,
		    fwd.envelope.event.value.data,
		    fwd.envelope.event.value.len, &err), "TaskOOM: %s", err);
		snprintf(s->seen[n].cid, sizeof s->seen[n].cid, "%s",
		    oom.container_id);
		msg_release(cev_TaskOOM_fields, &oom);
	} else if (strcmp(url, "containerd.events.TaskExit") == 0) {
		cr_assert(msg_decode(cev_TaskExit_fields, &ex,
		    fwd.envelope.event.value.data,
		    fwd.envelope.event.value.len, &err), "TaskExit: %s", err);
		snprintf(s->seen[n].cid, sizeof s->seen[n].cid, "%s",
		    ex.container_id);
		msg_release(cev_TaskExit_fields, &ex);
	}
	msg_release(csetv_ForwardRequest_fields, &fwd);
	msg_release(t_Request_fields, &req);
}

/* Answer stream sid with an empty OK response. */
static void
evsrv_answer(struct evsrv *s, uint32_t sid)
{
	t_Response		 resp = {0};
	struct frame_header	 fh = {0};
	uint8_t			 hdr[FRAME_HEADER_SIZE], *buf;
	size_t			 len;

	cr_assert(msg_encode(t_Response_fields, &resp, &buf, &len, NULL));
	fh.length = (uint32_t)len;
	fh.stream_id = sid;
	fh.type = FRAME_TYPE_RESPONSE;
	frame_header_build(&fh, hdr);
	cr_assert_eq(write(s->cfd, hdr, sizeof hdr), (ssize_t)sizeof hdr);
	if (len > 0)
		cr_assert_eq(write(s->cfd, buf, len), (ssize_t)len);
	free(buf);
}

/* Every complete request frame read so far: note it, answer it. */
static void
evsrv_frames(struct evsrv *s)
{
	struct frame_header	fh;
	size_t			whole;

	while (s->inlen >= FRAME_HEADER_SIZE) {
		frame_header_parse(s->in, &fh);
		cr_assert_lt(fh.length, sizeof s->in - FRAME_HEADER_SIZE);
		whole = FRAME_HEADER_SIZE + fh.length;
		if (s->inlen < whole)
			return;
		evsrv_note(s, s->in + FRAME_HEADER_SIZE, fh.length);
		evsrv_answer(s, fh.stream_id);
		memmove(s->in, s->in + whole, s->inlen - whole);
		s->inlen -= whole;
	}
}

/* Serve the daemon (and its successors) for ms milliseconds. */
static void
evsrv_pump(struct evsrv *s, int ms)
{
	struct pollfd	p[2];
	int64_t		end = itest_now_ms() + ms, left;
	ssize_t		n;

	while ((left = end - itest_now_ms()) > 0) {
		p[0] = (struct pollfd){ s->lfd, POLLIN, 0 };
		p[1] = (struct pollfd){ s->cfd, POLLIN, 0 };
		if (poll(p, s->cfd != -1 ? 2 : 1, (int)left) <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			if (s->cfd != -1)
				close(s->cfd);
			s->cfd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
			s->inlen = 0;
			continue;
		}
		if (s->cfd == -1 || p[1].revents == 0)
			continue;
		n = read(s->cfd, s->in + s->inlen, sizeof s->in - s->inlen);
		if (n <= 0) {
			close(s->cfd);
			s->cfd = -1;
			s->inlen = 0;
			continue;
		}
		s->inlen += (size_t)n;
		evsrv_frames(s);
	}
}

/* How many events of topic for container cid were seen (cid NULL: any). */
static int
evsrv_count(const struct evsrv *s, const char *topic, const char *cid)
{
	int	i, n = 0;

	for (i = 0; i < s->nseen; i++)
		if (strcmp(s->seen[i].topic, topic) == 0 && (cid == NULL ||
		    strcmp(s->seen[i].cid, cid) == 0))
			n++;
	return (n);
}

/* Where the first event of topic for cid was seen, or -1. */
static int
evsrv_index(const struct evsrv *s, const char *topic, const char *cid)
{
	int	i;

	for (i = 0; i < s->nseen; i++)
		if (strcmp(s->seen[i].topic, topic) == 0 &&
		    strcmp(s->seen[i].cid, cid) == 0)
			return (i);
	return (-1);
}

/* Forget what was seen. */
static void
evsrv_clear(struct evsrv *s)
{
	s->nseen = 0;
}

static void
evsrv_stop(struct evsrv *s)
{
	if (s->cfd != -1)
		close(s->cfd);
	close(s->lfd);
	unlink(s->path);
}

/* Write text to a file of cgroup dir; false if it fails. */
static bool
oom_cg_put(const char *dir, const char *name, const char *text)
{
	char	path[PATH_MAX + 64];
	int	fd;
	bool	ok;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return (false);
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return (ok);
}

/*
 * A memory cgroup of 32 MiB without swap under the test's own, for one
 * container; skip the test where none can be made.
 */
static void
oom_cg_make(const char *name, char *dir, size_t size)
{
	struct statfs	 sfs;
	char		*parent, *err = NULL;

	if ((parent = cgstats_memory_dir(getpid(), &err)) == NULL)
		cr_skip_test("no memory cgroup here: %s", err);
	snprintf(dir, size, "%s/sbd-itest-%s.%d", parent, name, (int)getpid());
	free(parent);
	if (mkdir(dir, 0755) == -1)
		cr_skip_test("mkdir %s: %s", dir, strerror(errno));
	cr_assert_eq(statfs(dir, &sfs), 0);
	if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
		if (!oom_cg_put(dir, "memory.max", OOM_LIMIT)) {
			rmdir(dir);
			cr_skip_test("%s: no memory controller enabled", dir);
		}
		oom_cg_put(dir, "memory.swap.max", "0");
	} else {
		cr_assert(oom_cg_put(dir, "memory.limit_in_bytes", OOM_LIMIT));
		oom_cg_put(dir, "memory.memsw.limit_in_bytes", OOM_LIMIT);
	}
}

/* The cgroups the test made, removed after it even if it fails. */
static char	oom_cga[PATH_MAX], oom_cgb[PATH_MAX];

/* Remove a cgroup (if made) once its processes are gone. */
static void
oom_cg_remove(const char *dir)
{
	int	i;

	if (*dir == '\0')
		return;
	for (i = 0; i < 100 && rmdir(dir) == -1 && errno == EBUSY; i++)
		usleep(20000);
}

/* Kill what is left in a cgroup (a failed test), then remove it. */
static void
oom_cg_clear(const char *dir)
{
	char	 path[PATH_MAX + 16];
	FILE	*f;
	int	 pid;

	if (*dir == '\0')
		return;
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	if ((f = fopen(path, "r")) != NULL) {
		while (fscanf(f, "%d", &pid) == 1)
			kill(pid, SIGKILL);
		fclose(f);
	}
	oom_cg_remove(dir);
}

/* Before the suite's teardown: the test's cgroups, whatever happened. */
static void
oom_teardown(void)
{
	oom_cg_clear(oom_cga);
	oom_cg_clear(oom_cgb);
}

/*
 * A process that joins the cgroup and touches far more than its limit:
 * the kernel OOM-kills it (not the container's small init beside it).
 */
static void
oom_hog(const char *dir)
{
	char	 pid[32], *p;
	size_t	 off;
	int	 status;
	pid_t	 child;

	cr_assert_neq(child = fork(), -1);
	if (child == 0) {
		snprintf(pid, sizeof pid, "%d", (int)getpid());
		if (!oom_cg_put(dir, "cgroup.procs", pid))
			_exit(2);
		p = mmap(NULL, OOM_TOUCH, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(3);
		for (off = 0; off < OOM_TOUCH; off += 4096)
			p[off] = 1;
		_exit(0);
	}
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "the hog was not OOM-killed: status %#x", status);
}

/* A running container whose init is in the cgroup dir; its pid. */
static uint32_t
oom_container(struct sbc *c, const char *pod, const char *id,
    const char *cmd, const char *dir)
{
	struct sbc_error	 err = {0};
	char			 bundle[PATH_MAX], path[PATH_MAX + 16];
	uint32_t		 pid;
	FILE			*f;

	task_bundle(id, pod, cmd, bundle, sizeof bundle);
	snprintf(path, sizeof path, "%s/fake-cgroup", bundle);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(dir, f);
	fclose(f);
	itest_expect(task_create(c, id, bundle, NULL, &pid, &err), 0, &err,
	    "Create");
	itest_track((pid_t)pid);
	task_start(c, id, NULL);
	return (pid);
}

/* kill -9 the daemon, run what, restart; serve events for ms after. */
static void
oom_crash(struct evsrv *s, void (*what)(void *), void *arg, int ms)
{
	itest_daemon_kill9(&itest_d);
	if (what != NULL)
		what(arg);
	itest_reap_orphans(&itest_d);
	evsrv_clear(s);
	itest_daemon_restart(&itest_d);
	evsrv_pump(s, ms);
}

/* While the daemon is down: a kill beside one init, and of the other. */
struct oom_down {
	const char	*cg_runs, *go;
	uint32_t	 dies_pid;
};

static void
oom_while_down(void *arg)
{
	struct oom_down	*d = arg;

	oom_hog(d->cg_runs);
	fclose(fopen(d->go, "w"));
	cr_assert(itest_wait_dead((pid_t)d->dies_pid, 20000),
	    "the init was not OOM-killed");
}

/*
 * OOM kills while the daemon is down are told once it is back, before
 * the TaskExit of a container that died of one, and never twice: not
 * after another restart, nor a kill told live whose count was saved with
 * the container's exit.
 */
Test(task, oom_while_down_told_once_after_restart, .timeout = 180,
    .fini = oom_teardown)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	struct evsrv		 ev;
	struct oom_down		 d;
	char			*cga = oom_cga, *cgb = oom_cgb, go[PATH_MAX];
	char			 cmd[PATH_MAX + 128];
	uint32_t		 st;

	ITEST_NEEDS_ROOT("memory cgroups and namespaces");
	oom_cg_make("runs", cga, sizeof oom_cga);
	oom_cg_make("dies", cgb, sizeof oom_cgb);
	c = itest_connect(&itest_d, "k8s.io");
	evsrv_start(&ev, c);
	task_sandbox(c, "pod11");
	oom_container(c, "pod11", "oomruns", "exec sleep 1000", cga);
	snprintf(go, sizeof go, "%s/oom-go", itest_d.dir);
	snprintf(cmd, sizeof cmd, "while [ ! -e %s ]; do sleep 0.05; done; "
	    "exec /usr/bin/python3 -c \"x = b'x' * (256 << 20)\"", go);
	d.dies_pid = oom_container(c, "pod11", "oomdies", cmd, cgb);
	sbc_close(c);
	evsrv_pump(&ev, 1000);
	cr_assert_eq(evsrv_count(&ev, TOPIC_OOM, NULL), 0,
	    "no kill yet");

	d.cg_runs = cga;
	d.go = go;
	oom_crash(&ev, oom_while_down, &d, 4000);
	cr_assert_eq(evsrv_count(&ev, TOPIC_OOM, "oomruns"), 1,
	    "the kill beside a running init, told after the restart");
	cr_assert_eq(evsrv_count(&ev, TOPIC_OOM, "oomdies"), 1,
	    "the kill of an init that exited meanwhile");
	cr_assert_eq(evsrv_count(&ev, TOPIC_EXIT, "oomdies"), 1);
	cr_assert_eq(evsrv_count(&ev, TOPIC_EXIT, "oomruns"), 0,
	    "no TaskExit for the init that runs on");
	cr_assert_lt(evsrv_index(&ev, TOPIC_OOM, "oomdies"),
	    evsrv_index(&ev, TOPIC_EXIT, "oomdies"),
	    "TaskOOM before the TaskExit");
	cr_assert(itest_log_contains(&itest_d, "container k8s.io/oomruns: 1 "
	    "OOM kill"));
	c = itest_connect(&itest_d, "k8s.io");
	cr_assert_eq(task_state(c, "oomruns", NULL, NULL, NULL),
	    ctv_Status_RUNNING);
	cr_assert_eq(task_state(c, "oomdies", NULL, NULL, NULL),
	    ctv_Status_STOPPED);
	sbc_close(c);

	oom_crash(&ev, NULL, NULL, 3000);
	cr_assert_eq(evsrv_count(&ev, TOPIC_OOM, NULL), 0,
	    "the kills told after the first restart are not told again");
	cr_assert_eq(evsrv_count(&ev, TOPIC_EXIT, NULL), 0);
	/* A re-execution reads the same records: nothing to tell either. */
	task_reexec();
	evsrv_pump(&ev, 2000);
	cr_assert_eq(evsrv_count(&ev, TOPIC_OOM, NULL), 0,
	    "nothing told again after a re-execution");

	/* Told live; its count rides in the record of the exit that follows. */
	oom_hog(cga);
	evsrv_pump(&ev, 2000);
	cr_assert_eq(evsrv_count(&ev, TOPIC_OOM, "oomruns"), 1,
	    "a kill while the daemon runs, told as it happens");
	c = itest_connect(&itest_d, "k8s.io");
	itest_expect(task_kill(c, "oomruns", NULL, SIGKILL, false, &err), 0,
	    &err, "Kill");
	task_wait(c, "oomruns", NULL);
	sbc_close(c);
	oom_crash(&ev, NULL, NULL, 3000);
	cr_assert_eq(evsrv_count(&ev, TOPIC_OOM, NULL), 0,
	    "the live kill is not told again after a restart");

	c = itest_connect(&itest_d, "k8s.io");
	itest_expect(task_delete(c, "oomruns", NULL, NULL, &err), 0, &err,
	    "Delete");
	itest_expect(task_delete(c, "oomdies", NULL, &st, &err), 0, &err,
	    "Delete");
	sbc_close(c);
	evsrv_stop(&ev);
}
