/*
 * test_restart.c: sandboxes across daemon restarts (spec section 8):
 * kill -9 of the daemon while sandboxes run, then re-adoption of the same
 * processes, whose real exit statuses are still reported; a sandbox that
 * died while the daemon was down (its status kept through the keeper's
 * pidfd; without a keeper, 255; still a zombie: its status); store
 * records and created instances kept; a clean SIGTERM
 * stop that leaves sandboxes running.
 *
 * The harness makes the test a child subreaper, so sandbox processes
 * orphaned by a killed daemon become the test's children: the restarted
 * daemon is not their parent, which is exactly the situation of spec
 * section 8.  The test reaps them only when it says so (as a slow init
 * would), or not at all.  Every sandbox process is passed to itest_track
 * (through itest_ctrl_start) and SIGKILLed in .fini.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "itest.h"
#include "sbc.h"

#include "containerd/services/sandbox/v1/sandbox.pb.h"

#define SLEEP_SPEC \
	"{\"process\":{\"args\":[\"sleep\",\"1000\"]," \
	"\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\"}}"

TestSuite(restart, .init = itest_setup, .fini = itest_teardown);

/* Store.Create id with a label, then Controller.Create it. */
static void
create(struct sbc *c, const char *id, const char *rt, const char *json)
{
	struct sbc_meta		m = itest_meta(id, rt, json);
	struct sbc_label	l = { "owner", id };
	struct sbc_error	err = {0};

	m.labels = &l;
	m.nlabels = 1;
	itest_expect(sbc_store_create(c, &m, NULL, &err), 0, &err,
	    "store create");
	itest_expect(sbc_ctrl_create(c, id, NULL, &err), 0, &err,
	    "ctrl create");
}

/* Create and start id; its pid, which .fini will kill. */
static pid_t
run(struct sbc *c, const char *id, const char *rt, const char *json)
{
	create(c, id, rt, json);
	return (itest_ctrl_start(c, id));
}

/* Assert id's state and pid (-1: any); adopted: info says re-adopted. */
static void
expect_status(struct sbc *c, const char *id, const char *state, long pid,
    bool adopted)
{
	struct sbc_status	 st;
	struct sbc_error	 err = {0};
	const char		*v;

	itest_expect(sbc_ctrl_status(c, id, true, &st, &err), 0, &err,
	    "status");
	cr_assert_str_eq(st.state, state, "%s: state %s, want %s", id,
	    st.state, state);
	if (pid != -1)
		cr_assert_eq((long)st.pid, pid, "%s: pid %u, want %ld", id,
		    st.pid, pid);
	v = itest_info_get(&st, "adopted");
	if (adopted)
		cr_assert(v != NULL && strncmp(v, "true", 4) == 0, "%s: Status "
		    "info does not say it was re-adopted (adopted=%s)", id,
		    v != NULL ? v : "(absent)");
	sbc_status_free(&st);
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

	ITEST_NEEDS_ROOT("a pause sandbox makes namespaces");
	c = itest_connect(&itest_d, NULL);
	pid[0] = run(c, ids[0], RUNTIME_EXEC, SLEEP_SPEC);
	pid[1] = run(c, ids[1], RUNTIME_EXEC, SLEEP_SPEC);
	pid[2] = run(c, ids[2], RUNTIME_PAUSE, "{\"hostname\":\"ra\"}");
	itest_wait_pause_ready(pid[2]);
	itest_netns_file(&itest_d, ids[2], netns, sizeof netns);
	sbc_close(c);

	itest_daemon_kill9(&itest_d);
	for (i = 0; i < 3; i++)
		cr_assert(itest_pid_alive(pid[i]), "%s (pid %d) died with the "
		    "daemon", ids[i], (int)pid[i]);
	cr_assert(itest_path_exists(netns), "the netns went with the daemon");

	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, NULL);
	for (i = 0; i < 3; i++)
		expect_status(c, ids[i], "SANDBOX_READY", pid[i], true);
	itest_expect(sbc_ctrl_status(c, ids[2], true, &st, &err), 0, &err,
	    "status");
	cr_assert_not_null(itest_info_get(&st, "netns_path"));
	cr_assert_str_eq(itest_info_get(&st, "netns_path"), netns);
	sbc_status_free(&st);

	/*
	 * The exit of a re-adopted process is seen, and its status too
	 * although the daemon is not its parent: the test, its parent now,
	 * has not reaped it yet.
	 */
	w = itest_connect(&itest_d, NULL);
	sid = itest_send_wait(w, ids[0]);
	expect_status(w, ids[0], "SANDBOX_READY", pid[0], true); /* parked */
	cr_assert_eq(kill(pid[0], SIGKILL), 0);
	itest_expect(itest_recv_wait(w, sid, &code, NULL, &err), 0, &err,
	    "the pending Wait");
	cr_assert_eq(code, 128 + SIGKILL, "a re-adopted process killed by "
	    "SIGKILL: status %u, want %d", code, 128 + SIGKILL);
	itest_reap_orphans(&itest_d);
	expect_status(c, ids[0], "SANDBOX_NOTREADY", -1, false);
	cr_assert_eq(itest_ctrl_wait(c, ids[0], NULL), 128 + SIGKILL);

	/* Stop works on re-adopted processes, pause included. */
	t0 = itest_now_ms();
	itest_expect(sbc_ctrl_stop(c, ids[1], 10, &err), 0, &err, "stop ra-1");
	itest_expect(sbc_ctrl_stop(c, ids[2], 5, &err), 0, &err, "stop ra-2");
	cr_assert_lt(itest_now_ms() - t0, 4000, "Stop of re-adopted "
	    "processes that exit on SIGTERM took %lld ms",
	    (long long)(itest_now_ms() - t0));
	cr_assert_eq(itest_ctrl_wait(c, ids[1], NULL), 128 + SIGTERM,
	    "sleep stopped by SIGTERM");
	cr_assert_eq(itest_ctrl_wait(c, ids[2], NULL), 0,
	    "the pause process exits 0 on SIGTERM");

	for (i = 0; i < 3; i++) {
		itest_expect(sbc_ctrl_shutdown(c, ids[i], &err), 0, &err,
		    "shutdown");
		cr_assert(itest_wait_dead(pid[i], 5000), "pid %d still runs",
		    (int)pid[i]);
	}
	cr_assert(!itest_path_exists(netns), "Shutdown after restart left %s",
	    netns);
	sbc_close(w);
	sbc_close(c);
}

/*
 * A sandbox killed and reaped while the daemon was down: stopped at the
 * restart, with want as its status (Status and Wait, at once).
 */
static void
killed_while_down(uint32_t want)
{
	struct sbc		*c;
	struct sbc_status	 st;
	struct sbc_start_info	 si;
	struct sbc_error	 err = {0};
	struct timespec		 killed, at;
	char			 want_s[16];
	uint32_t		 code;
	int64_t			 t0;
	pid_t			 dead, alive;
	int			 wst;

	c = itest_connect(&itest_d, NULL);
	dead = run(c, "kd", RUNTIME_EXEC, SLEEP_SPEC);
	alive = run(c, "kd-alive", RUNTIME_EXEC, SLEEP_SPEC);
	sbc_close(c);

	itest_daemon_kill9(&itest_d);
	clock_gettime(CLOCK_REALTIME, &killed);
	cr_assert_eq(kill(dead, SIGKILL), 0);
	/* The orphan is the test's child now: reap it, the pid is gone. */
	if (waitpid(dead, &wst, 0) == -1)
		cr_assert(itest_wait_dead(dead, 5000));

	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, NULL);
	itest_expect(sbc_ctrl_status(c, "kd", true, &st, &err), 0, &err,
	    "status");
	cr_assert_str_eq(st.state, "SANDBOX_NOTREADY");
	cr_assert_geq(st.exited_at.tv_sec, killed.tv_sec, "exited_at is "
	    "before the process was killed");
	cr_assert_not_null(itest_info_get(&st, "exit_status"));
	snprintf(want_s, sizeof want_s, "%u", want);
	cr_assert_str_eq(itest_info_get(&st, "exit_status"), want_s);
	sbc_status_free(&st);
	t0 = itest_now_ms();
	code = itest_ctrl_wait(c, "kd", &at);
	cr_assert_lt(itest_now_ms() - t0, 1000, "Wait on a sandbox that "
	    "exited while the daemon was down did not answer at once");
	cr_assert_eq(code, want, "status of a process gone while the daemon "
	    "was down: %u, want %u", code, want);
	cr_assert_geq(at.tv_sec, killed.tv_sec);
	itest_expect(sbc_ctrl_start(c, "kd", &si, &err),
	    STATUS_FAILED_PRECONDITION, &err, "start of an exited sandbox");
	expect_status(c, "kd-alive", "SANDBOX_READY", alive, true);
	itest_expect(sbc_ctrl_shutdown(c, "kd", &err), 0, &err, "shutdown");
	itest_expect(sbc_ctrl_status(c, "kd", false, &st, &err),
	    STATUS_NOT_FOUND, &err, "status after shutdown");
	sbc_close(c);
}

/*
 * The keeper held the sandbox's pidfd through the crash, so the kernel
 * kept its status when the test (its parent now) reaped it: 137.
 */
Test(restart, sandbox_killed_while_daemon_down, .timeout = 60)
{
	killed_while_down(128 + SIGKILL);
	cr_assert(itest_log_contains(&itest_d, "pidfds of watched processes "
	    "taken back"), "%s", itest_log_tail(&itest_d, 4096));
}

/*
 * A SIGUSR2 re-execution keeps the keeper's pidfds (the new image holds
 * what it starts from then on): a sandbox killed after a re-exec and a
 * crash still reports its status.
 */
Test(restart, reexec_then_killed_while_down, .timeout = 90)
{
	struct sbc	*c;
	pid_t		 pid;
	uint32_t	 code;
	int64_t		 end;
	int		 wst;

	c = itest_connect(&itest_d, NULL);
	pid = run(c, "rx", RUNTIME_EXEC, SLEEP_SPEC);
	sbc_close(c);
	cr_assert_eq(kill(itest_d.pid, SIGUSR2), 0);
	end = itest_now_ms() + 20000;
	while (!itest_log_contains(&itest_d, "re-executed: kept")) {
		cr_assert_lt(itest_now_ms(), end, "no re-exec:\n%s",
		    itest_log_tail(&itest_d, 4096));
		usleep(20000);
	}
	c = itest_connect(&itest_d, NULL);
	expect_status(c, "rx", "SANDBOX_READY", pid, false);
	sbc_close(c);

	itest_daemon_kill9(&itest_d);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(waitpid(pid, &wst, 0), pid);
	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, NULL);
	code = itest_ctrl_wait(c, "rx", NULL);
	cr_assert_eq(code, 128 + SIGTERM, "status after a re-exec, a crash "
	    "and a SIGTERM while down: %u", code);
	sbc_close(c);
}

/* Without a keeper nothing held a pidfd at the reap: 255, unknown. */
Test(restart, sandbox_killed_while_down_no_keeper, .timeout = 60)
{
	itest_daemon_stop(&itest_d);
	itest_daemon_start(&itest_d, "--keeper-grace", "0", NULL);
	killed_while_down(255);
}

/* An exec sandbox that exits with 7 once <dir>/<name> exists. */
static void
exit7_spec(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "{\"process\":{\"args\":[\"sh\",\"-c\","
	    "\"while [ ! -e %s/%s ]; do sleep 0.05; done; exit 7\"],"
	    "\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\"}}", itest_d.dir,
	    name);
}

/* Create <dir>/<name>. */
static void
touch(const char *name)
{
	char	path[PATH_MAX];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", itest_d.dir, name);
	cr_assert_not_null(f = fopen(path, "w"), "%s: %s", path,
	    strerror(errno));
	fclose(f);
}

/*
 * Re-adopted processes that end on their own: the status they exit with
 * is reported (Wait, Status), whether the daemon reads it before their
 * new parent reaps them or after (the pidfd it has held since the
 * restart keeps it).
 */
Test(restart, readopted_exit_status_is_real, .timeout = 60)
{
	struct sbc		*c;
	struct sbc_status	 st;
	struct sbc_error	 err = {0};
	char			 spec[PATH_MAX + 256];
	pid_t			 early, late;
	uint32_t		 code;
	int			 wst;

	c = itest_connect(&itest_d, NULL);
	exit7_spec(spec, sizeof spec, "go-early");
	early = run(c, "x-early", RUNTIME_EXEC, spec);
	exit7_spec(spec, sizeof spec, "go-late");
	late = run(c, "x-late", RUNTIME_EXEC, spec);
	sbc_close(c);

	itest_daemon_kill9(&itest_d);
	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, NULL);
	expect_status(c, "x-early", "SANDBOX_READY", early, true);
	expect_status(c, "x-late", "SANDBOX_READY", late, true);

	/* Left unreaped: read while a zombie. */
	touch("go-early");
	code = itest_ctrl_wait(c, "x-early", NULL);
	cr_assert_eq(code, 7, "re-adopted sandbox that exits 7: Wait says %u",
	    code);
	/* Reaped by the test as soon as it exits: read from the pidfd. */
	touch("go-late");
	cr_assert_eq(waitpid(late, &wst, 0), late);
	cr_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 7);
	code = itest_ctrl_wait(c, "x-late", NULL);
	cr_assert_eq(code, 7, "re-adopted sandbox that exited 7 and was "
	    "reaped by its new parent: Wait says %u", code);

	itest_expect(sbc_ctrl_status(c, "x-late", true, &st, &err), 0, &err,
	    "status");
	cr_assert_str_eq(st.state, "SANDBOX_NOTREADY");
	cr_assert_not_null(itest_info_get(&st, "exit_status"));
	cr_assert_str_eq(itest_info_get(&st, "exit_status"), "7");
	sbc_status_free(&st);
	itest_reap_orphans(&itest_d);
	itest_expect(sbc_ctrl_shutdown(c, "x-early", &err), 0, &err,
	    "shutdown");
	itest_expect(sbc_ctrl_shutdown(c, "x-late", &err), 0, &err,
	    "shutdown");
	sbc_close(c);
}

/*
 * A sandbox that died while the daemon was down but is not reaped yet
 * (a zombie at the restart): its status is still there to read.
 */
Test(restart, killed_while_down_not_yet_reaped, .timeout = 60)
{
	struct sbc		*c;
	struct sbc_status	 st;
	struct sbc_error	 err = {0};
	pid_t			 pid;
	uint32_t		 code;

	c = itest_connect(&itest_d, NULL);
	pid = run(c, "zd", RUNTIME_EXEC, SLEEP_SPEC);
	sbc_close(c);

	itest_daemon_kill9(&itest_d);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert(itest_wait_dead(pid, 5000));	/* a zombie of the test's */
	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, NULL);
	code = itest_ctrl_wait(c, "zd", NULL);
	cr_assert_eq(code, 128 + SIGTERM, "status of a sandbox killed by "
	    "SIGTERM while the daemon was down, unreaped: %u", code);
	itest_expect(sbc_ctrl_status(c, "zd", true, &st, &err), 0, &err,
	    "status");
	cr_assert_str_eq(st.state, "SANDBOX_NOTREADY");
	cr_assert_str_eq(itest_info_get(&st, "exit_status"), "143");
	sbc_status_free(&st);
	itest_reap_orphans(&itest_d);
	itest_expect(sbc_ctrl_shutdown(c, "zd", &err), 0, &err, "shutdown");
	sbc_close(c);
}

Test(restart, store_and_instances_survive_restarts, .timeout = 60)
{
	static const char *const ids[] = { "keep-0", "keep-1", "keep-2" };
	struct sbc		*c;
	struct sbc_meta		 m, got;
	struct sbc_label	 l = { "tier", "gold" };
	struct sbc_error	 err = {0};
	pid_t			 pid;
	int			 i, round;

	c = itest_connect(&itest_d, NULL);
	for (i = 0; i < 3; i++) {
		m = itest_meta(ids[i], RUNTIME_EXEC, NULL);
		m.labels = &l;
		m.nlabels = 1;
		itest_expect(sbc_store_create(c, &m, NULL, &err), 0, &err,
		    "store create");
	}
	create(c, "created", RUNTIME_EXEC, SLEEP_SPEC);
	sbc_close(c);

	/* kill -9: acknowledged records and the created instance stay. */
	itest_daemon_kill9(&itest_d);
	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, NULL);
	expect_status(c, "created", "SANDBOX_NOTREADY", 0, false);
	pid = itest_ctrl_start(c, "created");
	expect_status(c, "created", "SANDBOX_READY", pid, false);
	sbc_close(c);

	/* SIGTERM: exit 0 (the harness checks), the sandbox keeps running. */
	itest_daemon_stop(&itest_d);
	cr_assert_eq(kill(pid, 0), 0, "the sandbox died with a SIGTERM'd "
	    "daemon: %s", strerror(errno));
	cr_assert(itest_pid_alive(pid));
	itest_daemon_restart(&itest_d);

	for (round = 0; round < 2; round++) {
		c = itest_connect(&itest_d, NULL);
		for (i = 0; i < 3; i++) {
			itest_expect(sbc_store_get(c, ids[i], &got, &err), 0,
			    &err, "store get after restart");
			cr_assert_str_eq(got.id, ids[i]);
			cr_assert_str_eq(got.runtime, RUNTIME_EXEC);
			cr_assert_not_null(sbc_meta_label(&got, "tier"),
			    "%s lost its label", ids[i]);
			cr_assert_str_eq(sbc_meta_label(&got, "tier"), "gold");
			sbc_meta_free(&got);
		}
		itest_expect(sbc_store_get(c, "created", &got, &err), 0, &err,
		    "store get");
		cr_assert_not_null(sbc_meta_label(&got, "owner"));
		cr_assert_str_eq(sbc_meta_label(&got, "owner"), "created");
		sbc_meta_free(&got);
		expect_status(c, "created", "SANDBOX_READY", pid, true);
		sbc_close(c);
		if (round == 0) {
			itest_daemon_kill9(&itest_d);
			itest_daemon_restart(&itest_d);
		}
	}
	c = itest_connect(&itest_d, NULL);
	itest_expect(sbc_ctrl_shutdown(c, "created", &err), 0, &err,
	    "shutdown");
	cr_assert(itest_wait_dead(pid, 5000));
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

	ITEST_NEEDS_ROOT("a pause sandbox makes namespaces");
	/* Without a keeper: with one, a Wait pending at SIGTERM stays
	 * pending for the next daemon (test_keeper.c). */
	itest_daemon_stop(&itest_d);
	itest_daemon_start(&itest_d, "--keeper-grace", "0", NULL);
	c = itest_connect(&itest_d, NULL);
	pe = run(c, "t-exec", RUNTIME_EXEC, SLEEP_SPEC);
	pp = run(c, "t-pause", RUNTIME_PAUSE, NULL);
	itest_netns_file(&itest_d, "t-pause", netns, sizeof netns);
	w = itest_connect(&itest_d, NULL);
	sid = itest_send_wait(w, "t-exec");
	expect_status(w, "t-exec", "SANDBOX_READY", pe, false);	/* parked */
	sbc_close(c);

	/* SIGTERM; the harness fails the test unless the daemon exits 0. */
	itest_daemon_stop(&itest_d);
	rc = itest_recv_wait(w, sid, &code, NULL, &err);
	cr_assert_eq(rc, STATUS_UNAVAILABLE, "a Wait pending at SIGTERM: got "
	    "%d %s (%s), want Unavailable (wire.md: daemon shutting down)", rc,
	    sbc_error_name(rc), err.message != NULL ? err.message : "");
	sbc_error_clear(&err);
	sbc_close(w);
	cr_assert_eq(kill(pe, 0), 0, "exec sandbox gone after SIGTERM");
	cr_assert_eq(kill(pp, 0), 0, "pause sandbox gone after SIGTERM");
	cr_assert(itest_pid_alive(pe) && itest_pid_alive(pp));
	cr_assert(itest_path_exists(netns), "SIGTERM removed the netns of a "
	    "running sandbox");

	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, NULL);
	expect_status(c, "t-exec", "SANDBOX_READY", pe, true);
	expect_status(c, "t-pause", "SANDBOX_READY", pp, true);
	itest_expect(sbc_ctrl_shutdown(c, "t-exec", &err), 0, &err, "shutdown");
	itest_expect(sbc_ctrl_shutdown(c, "t-pause", &err), 0, &err,
	    "shutdown");
	cr_assert(itest_wait_dead(pe, 5000) && itest_wait_dead(pp, 5000));
	cr_assert(!itest_path_exists(netns), "Shutdown left %s", netns);
	sbc_close(c);
}

#define STUBBORN_SPEC \
	"{\"process\":{\"args\":[\"sh\",\"-c\",\"trap '' TERM; " \
	"echo armed; while :; do sleep 1; done\"]," \
	"\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\"}}"

/*
 * A Stop under way when the daemon is killed keeps its deadline: the
 * restarted daemon SIGKILLs the sandbox (which ignores SIGTERM) without
 * another Stop (recover.c, sandboxd(8) RESTART).
 */
Test(restart, stop_deadline_survives_kill9, .timeout = 120)
{
	cssv_ControllerStopRequest	 req = {0};
	struct sbc			*c = itest_connect(&itest_d, "default");
	struct sbc_status		 st = {0};
	struct sbc_error		 err = {0};
	uint32_t			 sid;
	pid_t				 pid;
	char				 log[PATH_MAX + 64], line[64];
	int64_t				 deadline;
	FILE				*f;
	bool				 armed = false;

	pid = run(c, "stubborn", "io.sandboxd.exec.v1", STUBBORN_SPEC);
	/* SIGTERM only once the trap is set: it says so in its log. */
	snprintf(log, sizeof log, "%s/logs/default/stubborn.log",
	    itest_d.run_dir);
	deadline = itest_now_ms() + 30000;
	while (itest_now_ms() < deadline) {
		if ((f = fopen(log, "r")) != NULL) {
			line[0] = '\0';
			armed = fgets(line, sizeof line, f) != NULL &&
			    strncmp(line, "armed", 5) == 0;
			fclose(f);
			if (armed)
				break;
		}
		usleep(20000);
	}
	cr_assert(armed, "the sandbox never said it ignores SIGTERM");
	snprintf(req.sandbox_id, sizeof req.sandbox_id, "stubborn");
	req.timeout_secs = 3;
	itest_expect(sbc_send(c, "containerd.services.sandbox.v1.Controller",
	    "Stop", cssv_ControllerStopRequest_fields, &req, &sid, &err), 0,
	    &err, "send stop");
	/* Answered after the Stop was handled and its state (with the
	 * deadline) committed: replies leave after the commit. */
	itest_expect(sbc_ctrl_status(c, "stubborn", false, &st, &err), 0,
	    &err, "status");
	cr_assert_str_eq(st.state, "SANDBOX_NOTREADY");
	sbc_status_free(&st);
	sbc_close(c);
	itest_daemon_kill9(&itest_d);
	cr_assert(itest_pid_alive(pid), "SIGTERM alone should not stop it");
	itest_daemon_restart(&itest_d);
	cr_assert(itest_wait_dead(pid, 60000), "pid %d outlived its stop "
	    "deadline across a restart", (int)pid);
}
