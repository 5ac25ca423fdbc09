/*
 * test_restart.c: sandboxes across daemon restarts (spec section 8):
 * kill -9 of the daemon while sandboxes run, then re-adoption of the same
 * processes (whose exit status is then unknown: 255); a sandbox that died
 * while the daemon was down; store records and created instances kept;
 * a clean SIGTERM stop that leaves sandboxes running.
 *
 * The harness makes the test a child subreaper, so sandbox processes
 * orphaned by a killed daemon become the test's children: the restarted
 * daemon is not their parent, which is exactly the situation of spec
 * section 8.  Every sandbox process is remembered and SIGKILLed in .fini.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "itest.h"
#include "sbc.h"

#define SLEEP_SPEC \
	"{\"process\":{\"args\":[\"sleep\",\"1000\"]," \
	"\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\"}}"

#define MAX_TRACKED	16

static struct itest_daemon d;
static pid_t	tracked[MAX_TRACKED];
static int	ntracked;

static void
setup(void)
{
	itest_daemon_start(&d, NULL);
}

/* Kill what the test started, then the daemon and its orphans. */
static void
teardown(void)
{
	int	i;

	for (i = 0; i < ntracked; i++) {
		/* Only still ours: the daemon's child, or our orphan. */
		if (itest_parent_of(tracked[i]) == d.pid ||
		    itest_parent_of(tracked[i]) == getpid())
			kill(tracked[i], SIGKILL);
	}
	ntracked = 0;
	itest_daemon_cleanup(&d);
}

TestSuite(restart, .init = setup, .fini = teardown);

#define NEEDS_ROOT(why) do {						\
	if (geteuid() != 0)						\
		cr_skip_test("needs root: " why);			\
} while (0)

/* Assert a call's result, naming what was tried; clears err. */
static void
expect(int got, int want, struct sbc_error *err, const char *what)
{
	cr_assert_eq(got, want, "%s: got %d %s (%s), want %d %s", what, got,
	    sbc_error_name(got), err->message != NULL ? err->message : "",
	    want, sbc_error_name(want));
	sbc_error_clear(err);
}

/* Store.Create id with a label, then Controller.Create it. */
static void
create(struct sbc *c, const char *id, const char *rt, const char *json)
{
	struct sbc_meta		m = {0};
	struct sbc_label	l = { "owner", id };
	struct sbc_error	err = {0};

	m.id = id;
	m.runtime = rt;
	if (json != NULL) {
		m.spec.type_url = OCI_SPEC_TYPE_URL;
		m.spec.value = json;
		m.spec.len = strlen(json);
	}
	m.labels = &l;
	m.nlabels = 1;
	expect(sbc_store_create(c, &m, NULL, &err), 0, &err, "store create");
	expect(sbc_ctrl_create(c, id, NULL, &err), 0, &err, "ctrl create");
}

/* Start id; its pid, remembered for .fini. */
static pid_t
start(struct sbc *c, const char *id)
{
	struct sbc_start_info	si;
	struct sbc_error	err = {0};
	pid_t			pid;

	expect(sbc_ctrl_start(c, id, &si, &err), 0, &err, "start");
	pid = (pid_t)si.pid;
	sbc_start_info_free(&si);
	cr_assert_gt(pid, 0);
	if (ntracked < MAX_TRACKED)
		tracked[ntracked++] = pid;
	return (pid);
}

/* Create and start id. */
static pid_t
run(struct sbc *c, const char *id, const char *rt, const char *json)
{
	create(c, id, rt, json);
	return (start(c, id));
}

/* The value of an info key of a verbose Status, NULL if absent. */
static const char *
info_get(const struct sbc_status *st, const char *key)
{
	size_t	i;

	for (i = 0; i < st->ninfo; i++) {
		if (strcmp(st->info[i].key, key) == 0)
			return (st->info[i].value);
	}
	return (NULL);
}

/* Assert id's state and pid (-1: any); adopted: info says re-adopted. */
static void
expect_status(struct sbc *c, const char *id, const char *state, long pid,
    bool adopted)
{
	struct sbc_status	 st;
	struct sbc_error	 err = {0};
	const char		*v;

	expect(sbc_ctrl_status(c, id, true, &st, &err), 0, &err, "status");
	cr_assert_str_eq(st.state, state, "%s: state %s, want %s", id,
	    st.state, state);
	if (pid != -1)
		cr_assert_eq((long)st.pid, pid, "%s: pid %u, want %ld", id,
		    st.pid, pid);
	v = info_get(&st, "adopted");
	if (adopted)
		cr_assert(v != NULL && strncmp(v, "true", 4) == 0, "%s: Status "
		    "info does not say it was re-adopted (adopted=%s)", id,
		    v != NULL ? v : "(absent)");
	sbc_status_free(&st);
}

/* Wait id; its exit status. */
static uint32_t
wait_status(struct sbc *c, const char *id, struct timespec *at)
{
	struct sbc_error	err = {0};
	struct timespec		ts;
	uint32_t		st = 9999;

	expect(sbc_ctrl_wait(c, id, &st, &ts, &err), 0, &err, "wait");
	if (at != NULL)
		*at = ts;
	return (st);
}

/* Whether path exists. */
static bool
path_exists(const char *path)
{
	struct stat	sb;

	return (lstat(path, &sb) == 0);
}

/* The netns file the daemon makes for id in namespace default. */
static void
netns_file(const char *id, char *buf, size_t size)
{
	int	n;

	n = snprintf(buf, size, "%s/netns/default-%s", d.run_dir, id);
	cr_assert(n > 0 && (size_t)n < size);
}

/* Poll until pid no longer runs (zombies count as dead), up to ms. */
static bool
wait_dead(pid_t pid, int ms)
{
	int64_t	deadline = itest_now_ms() + ms;

	while (itest_pid_alive(pid)) {
		if (itest_now_ms() > deadline)
			return (false);
		usleep(10000);
	}
	return (true);
}

/*
 * Wait until a pause process sleeps in sigwaitinfo, having blocked
 * SIGTERM.  Before that, as PID 1 of its PID namespace with SIGTERM at
 * SIG_DFL, it would have a SIGTERM dropped by the kernel.  Seen through
 * /proc/<pid>/wchan; where that says nothing, give it half a second.
 */
static void
wait_pause_ready(pid_t pid)
{
	int64_t	 deadline = itest_now_ms() + 5000;
	char	 path[64], wchan[128];
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof path, "/proc/%d/wchan", (int)pid);
	for (;;) {
		n = -1;
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
			n = read(fd, wchan, sizeof wchan - 1);
			close(fd);
		}
		wchan[n > 0 ? n : 0] = '\0';
		if (strstr(wchan, "sigtimedwait") != NULL)
			return;
		if (n <= 0 || strcmp(wchan, "0") == 0) {
			usleep(500000);
			return;
		}
		cr_assert_lt(itest_now_ms(), deadline, "pause pid %d never "
		    "reached sigwaitinfo (wchan %s)", (int)pid, wchan);
		usleep(5000);
	}
}

/* Send a Wait for id on w (answered later): its stream id. */
static uint32_t
send_wait(struct sbc *w, const char *id)
{
	cssv_ControllerWaitRequest	req = {0};
	struct sbc_error		err = {0};
	uint32_t			sid;

	snprintf(req.sandbox_id, sizeof req.sandbox_id, "%s", id);
	expect(sbc_send(w, SERVICE_CONTROLLER, "Wait",
	    cssv_ControllerWaitRequest_fields, &req, &sid, &err), 0, &err,
	    "send wait");
	return (sid);
}

/* Receive the Wait sent on stream sid: the call's code, *status. */
static int
recv_wait(struct sbc *w, uint32_t sid, uint32_t *status,
    struct sbc_error *err)
{
	cssv_ControllerWaitResponse	resp = {0};
	struct sbc_reply		reply;
	int				code;

	code = sbc_recv(w, sid, cssv_ControllerWaitResponse_fields, &resp,
	    &reply, err);
	if (code == 0) {
		*status = resp.exit_status;
		sbc_reply_free(&reply);
	}
	return (code);
}

Test(restart, kill9_readopts_running_sandboxes, .timeout = 90)
{
	static const char *const ids[] = { "ra-0", "ra-1", "ra-2" };
	struct sbc		*c, *w;
	struct sbc_status	 st;
	struct sbc_error	 err = {0};
	char			 netns[PATH_MAX];
	pid_t			 pid[3];
	uint32_t		 sid, code = 9999;
	int64_t			 t0;
	int			 i;

	NEEDS_ROOT("a pause sandbox makes namespaces");
	c = itest_connect(&d, NULL);
	pid[0] = run(c, ids[0], RUNTIME_EXEC, SLEEP_SPEC);
	pid[1] = run(c, ids[1], RUNTIME_EXEC, SLEEP_SPEC);
	pid[2] = run(c, ids[2], RUNTIME_PAUSE, "{\"hostname\":\"ra\"}");
	wait_pause_ready(pid[2]);
	netns_file(ids[2], netns, sizeof netns);
	sbc_close(c);

	itest_daemon_kill9(&d);
	for (i = 0; i < 3; i++)
		cr_assert(itest_pid_alive(pid[i]), "%s (pid %d) died with the "
		    "daemon", ids[i], (int)pid[i]);
	cr_assert(path_exists(netns), "the netns went with the daemon");

	itest_daemon_restart(&d);
	c = itest_connect(&d, NULL);
	for (i = 0; i < 3; i++)
		expect_status(c, ids[i], "SANDBOX_READY", pid[i], true);
	expect(sbc_ctrl_status(c, ids[2], true, &st, &err), 0, &err,
	    "status");
	cr_assert_not_null(info_get(&st, "netns_path"));
	cr_assert_str_eq(info_get(&st, "netns_path"), netns);
	sbc_status_free(&st);

	/* The exit of a re-adopted process is seen; its status is not. */
	w = itest_connect(&d, NULL);
	sid = send_wait(w, ids[0]);
	expect_status(w, ids[0], "SANDBOX_READY", pid[0], true); /* parked */
	cr_assert_eq(kill(pid[0], SIGKILL), 0);
	expect(recv_wait(w, sid, &code, &err), 0, &err, "the pending Wait");
	cr_assert_eq(code, 255, "a re-adopted process is not the daemon's "
	    "child: its status is unknown (255), got %u", code);
	itest_reap_orphans(&d);
	expect_status(c, ids[0], "SANDBOX_NOTREADY", -1, false);
	cr_assert_eq(wait_status(c, ids[0], NULL), 255);

	/* Stop works on re-adopted processes, pause included. */
	t0 = itest_now_ms();
	expect(sbc_ctrl_stop(c, ids[1], 10, &err), 0, &err, "stop ra-1");
	expect(sbc_ctrl_stop(c, ids[2], 5, &err), 0, &err, "stop ra-2");
	cr_assert_lt(itest_now_ms() - t0, 4000, "Stop of re-adopted "
	    "processes that exit on SIGTERM took %lld ms",
	    (long long)(itest_now_ms() - t0));
	cr_assert_eq(wait_status(c, ids[1], NULL), 255);
	cr_assert_eq(wait_status(c, ids[2], NULL), 255);

	for (i = 0; i < 3; i++) {
		expect(sbc_ctrl_shutdown(c, ids[i], &err), 0, &err,
		    "shutdown");
		cr_assert(wait_dead(pid[i], 5000), "pid %d still runs",
		    (int)pid[i]);
	}
	cr_assert(!path_exists(netns), "Shutdown after restart left %s",
	    netns);
	sbc_close(w);
	sbc_close(c);
}

Test(restart, sandbox_killed_while_daemon_down, .timeout = 60)
{
	struct sbc		*c;
	struct sbc_status	 st;
	struct sbc_start_info	 si;
	struct sbc_error	 err = {0};
	struct timespec		 killed, at;
	uint32_t		 code;
	int64_t			 t0;
	pid_t			 dead, alive;
	int			 wst;

	c = itest_connect(&d, NULL);
	dead = run(c, "kd", RUNTIME_EXEC, SLEEP_SPEC);
	alive = run(c, "kd-alive", RUNTIME_EXEC, SLEEP_SPEC);
	sbc_close(c);

	itest_daemon_kill9(&d);
	clock_gettime(CLOCK_REALTIME, &killed);
	cr_assert_eq(kill(dead, SIGKILL), 0);
	/* The orphan is the test's child now: reap it, the pid is gone. */
	if (waitpid(dead, &wst, 0) == -1)
		cr_assert(wait_dead(dead, 5000));

	itest_daemon_restart(&d);
	c = itest_connect(&d, NULL);
	expect(sbc_ctrl_status(c, "kd", true, &st, &err), 0, &err, "status");
	cr_assert_str_eq(st.state, "SANDBOX_NOTREADY");
	cr_assert_geq(st.exited_at.tv_sec, killed.tv_sec, "exited_at is "
	    "before the process was killed");
	cr_assert_not_null(info_get(&st, "exit_status"));
	cr_assert_str_eq(info_get(&st, "exit_status"), "255");
	sbc_status_free(&st);
	t0 = itest_now_ms();
	code = wait_status(c, "kd", &at);
	cr_assert_lt(itest_now_ms() - t0, 1000, "Wait on a sandbox that "
	    "exited while the daemon was down did not answer at once");
	cr_assert_eq(code, 255, "status of a process gone while the daemon "
	    "was down: %u, want 255 (unknown)", code);
	cr_assert_geq(at.tv_sec, killed.tv_sec);
	expect(sbc_ctrl_start(c, "kd", &si, &err), STATUS_FAILED_PRECONDITION,
	    &err, "start of an exited sandbox");
	expect_status(c, "kd-alive", "SANDBOX_READY", alive, true);
	expect(sbc_ctrl_shutdown(c, "kd", &err), 0, &err, "shutdown");
	expect(sbc_ctrl_status(c, "kd", false, &st, &err), STATUS_NOT_FOUND,
	    &err, "status after shutdown");
	sbc_close(c);
}

Test(restart, store_and_instances_survive_restarts, .timeout = 60)
{
	static const char *const ids[] = { "keep-0", "keep-1", "keep-2" };
	struct sbc		*c;
	struct sbc_meta		 m = {0}, got;
	struct sbc_label	 l = { "tier", "gold" };
	struct sbc_error	 err = {0};
	pid_t			 pid;
	int			 i, round;

	c = itest_connect(&d, NULL);
	for (i = 0; i < 3; i++) {
		m.id = ids[i];
		m.runtime = RUNTIME_EXEC;
		m.labels = &l;
		m.nlabels = 1;
		expect(sbc_store_create(c, &m, NULL, &err), 0, &err,
		    "store create");
	}
	create(c, "created", RUNTIME_EXEC, SLEEP_SPEC);
	sbc_close(c);

	/* kill -9: acknowledged records and the created instance stay. */
	itest_daemon_kill9(&d);
	itest_daemon_restart(&d);
	c = itest_connect(&d, NULL);
	expect_status(c, "created", "SANDBOX_NOTREADY", 0, false);
	pid = start(c, "created");
	expect_status(c, "created", "SANDBOX_READY", pid, false);
	sbc_close(c);

	/* SIGTERM: exit 0 (the harness checks), the sandbox keeps running. */
	itest_daemon_stop(&d);
	cr_assert_eq(kill(pid, 0), 0, "the sandbox died with a SIGTERM'd "
	    "daemon: %s", strerror(errno));
	cr_assert(itest_pid_alive(pid));
	itest_daemon_restart(&d);

	for (round = 0; round < 2; round++) {
		c = itest_connect(&d, NULL);
		for (i = 0; i < 3; i++) {
			expect(sbc_store_get(c, ids[i], &got, &err), 0, &err,
			    "store get after restart");
			cr_assert_str_eq(got.id, ids[i]);
			cr_assert_str_eq(got.runtime, RUNTIME_EXEC);
			cr_assert_not_null(sbc_meta_label(&got, "tier"),
			    "%s lost its label", ids[i]);
			cr_assert_str_eq(sbc_meta_label(&got, "tier"), "gold");
			sbc_meta_free(&got);
		}
		expect(sbc_store_get(c, "created", &got, &err), 0, &err,
		    "store get");
		cr_assert_not_null(sbc_meta_label(&got, "owner"));
		cr_assert_str_eq(sbc_meta_label(&got, "owner"), "created");
		sbc_meta_free(&got);
		expect_status(c, "created", "SANDBOX_READY", pid, true);
		sbc_close(c);
		if (round == 0) {
			itest_daemon_kill9(&d);
			itest_daemon_restart(&d);
		}
	}
	c = itest_connect(&d, NULL);
	expect(sbc_ctrl_shutdown(c, "created", &err), 0, &err, "shutdown");
	cr_assert(wait_dead(pid, 5000));
	sbc_close(c);
}

Test(restart, sigterm_leaves_sandboxes_running, .timeout = 60)
{
	struct sbc		*c, *w;
	struct sbc_error	 err = {0};
	char			 netns[PATH_MAX];
	uint32_t		 sid, code;
	pid_t			 pe, pp;
	int			 rc;

	NEEDS_ROOT("a pause sandbox makes namespaces");
	c = itest_connect(&d, NULL);
	pe = run(c, "t-exec", RUNTIME_EXEC, SLEEP_SPEC);
	pp = run(c, "t-pause", RUNTIME_PAUSE, NULL);
	netns_file("t-pause", netns, sizeof netns);
	w = itest_connect(&d, NULL);
	sid = send_wait(w, "t-exec");
	expect_status(w, "t-exec", "SANDBOX_READY", pe, false);	/* parked */
	sbc_close(c);

	itest_daemon_stop(&d);	/* SIGTERM; fails the test unless exit 0 */
	rc = recv_wait(w, sid, &code, &err);
	cr_assert_eq(rc, STATUS_UNAVAILABLE, "a Wait pending at SIGTERM: got "
	    "%d %s (%s), want Unavailable (wire.md: daemon shutting down)", rc,
	    sbc_error_name(rc), err.message != NULL ? err.message : "");
	sbc_error_clear(&err);
	sbc_close(w);
	cr_assert_eq(kill(pe, 0), 0, "exec sandbox gone after SIGTERM");
	cr_assert_eq(kill(pp, 0), 0, "pause sandbox gone after SIGTERM");
	cr_assert(itest_pid_alive(pe) && itest_pid_alive(pp));
	cr_assert(path_exists(netns), "SIGTERM removed the netns of a "
	    "running sandbox");

	itest_daemon_restart(&d);
	c = itest_connect(&d, NULL);
	expect_status(c, "t-exec", "SANDBOX_READY", pe, true);
	expect_status(c, "t-pause", "SANDBOX_READY", pp, true);
	expect(sbc_ctrl_shutdown(c, "t-exec", &err), 0, &err, "shutdown");
	expect(sbc_ctrl_shutdown(c, "t-pause", &err), 0, &err, "shutdown");
	cr_assert(wait_dead(pe, 5000) && wait_dead(pp, 5000));
	cr_assert(!path_exists(netns), "Shutdown left %s", netns);
	sbc_close(c);
}
