/*
 * test_task.c: containers through containerd.task.v2.Task against the
 * real daemon, with a fake runc (a Python script written to the test's
 * directory, given with --runc) that records every call and runs each
 * container as a shell command of the bundle's file "fake-cmd".  It pins
 * down the state machine and its answers (codes as the Go shim gives
 * them), the records across a daemon restart, and the error paths, where
 * nothing may be left behind.  Real runc and containerd: tests/containerd/.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "containerd/task/v2/shim.pb.h"
#include "itest.h"
#include "pbutil.h"
#include "protocol.h"

#define TASK_SERVICE	"containerd.task.v2.Task"

/*
 * The fake runc.  create forks the "container": it waits for start (a
 * file), then runs <bundle>/fake-cmd with sh; the pid goes to --pid-file.
 * exec runs the process JSON's args at once.  kill, delete, update, pause
 * and resume act on the recorded pid.  <bundle>/fake-fail makes the next
 * create fail with its contents as runc's error.  Every call is appended
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

/* Exec with a process spec running argv (a JSON array). */
static int
task_exec(struct sbc *c, const char *id, const char *exec_id,
    const char *args_json, struct sbc_error *err)
{
	ctv_ExecProcessRequest	req = {0};
	char			spec[512];

	snprintf(req.id, sizeof req.id, "%s", id);
	snprintf(req.exec_id, sizeof req.exec_id, "%s", exec_id);
	snprintf(spec, sizeof spec, "{\"args\":%s,\"cwd\":\"/\"}", args_json);
	req.has_spec = true;
	req.spec.type_url = (char *)"types.containerd.io/opencontainers/"
	    "runtime-spec/1/Process";
	req.spec.value.data = (const pb_byte_t *)spec;
	req.spec.value.len = strlen(spec);
	return (sbc_call(c, TASK_SERVICE, "Exec", ctv_ExecProcessRequest_fields,
	    &req, NULL, NULL, NULL, err));
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
	int64_t			 t0;
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
	cr_assert_eq(kill(dpid, SIGUSR2), 0);
	t0 = itest_now_ms();
	while (!itest_log_contains(&itest_d, "re-executed: kept")) {
		cr_assert_lt(itest_now_ms() - t0, 20000, "no re-exec in 20 s");
		usleep(20000);
	}
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
