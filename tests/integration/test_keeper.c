/*
 * test_keeper.c: client connections survive a crash of the daemon
 * through sandboxd-keeper (server/keep.c, keeper/).
 *
 * The promise, test by test: an idle connection is the same connection
 * after kill -9 and a restart; a pending Wait is answered after the
 * restart on its own stream (at once, with its real status, for a sandbox
 * that died while the daemon was down: the keeper held its pidfd); a
 * request the daemon died under gets its
 * connection closed, not a hang; without a daemon back within the grace
 * period the keeper closes everything and goes; with --keeper-grace 0
 * kill -9 closes the connections as it always did; a keeper killed under
 * a running daemon costs nothing but the protection; and a SIGUSR2
 * re-exec keeps every connection's slot, so a crash after it is survived
 * too.
 *
 * One daemon per test; teardown kills the keeper by its pid file.
 */
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "itest.h"
#include "protocol.h"
#include "sbc.h"

#define PATH_ENV	"\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\""
#define SH_SPEC(cmd) \
	"{\"process\":{\"args\":[\"/bin/sh\",\"-c\",\"" cmd "\"]," PATH_ENV "}}"
#define SLEEP_SPEC	SH_SPEC("exec sleep 1000")
#define COMMIT_DELAY_MS	2000

TestSuite(keeper, .fini = itest_teardown);

/* A request on c that needs the daemon to answer (Admin/ListInstances). */
static int
list_instances(struct sbc *c, struct sbc_error *err)
{
	struct sbc_instance	*v = NULL;
	size_t			 n = 0;
	int			 rc;

	rc = sbc_admin_list_instances(c, &v, &n, err);
	if (rc == 0)
		sbc_instance_list_free(v, n);
	return (rc);
}

/* c is served: a call on it is answered. */
static void
expect_answers(struct sbc *c, const char *what)
{
	struct sbc_error	err = {0};

	itest_expect(list_instances(c, &err), 0, &err, what);
}

/* c was closed under the client: a call on it fails within ms. */
static void
expect_closed_within(struct sbc *c, int ms, const char *what)
{
	struct sbc_error	err = {0};
	int64_t			t0 = itest_now_ms();
	int			rc;

	rc = list_instances(c, &err);
	cr_assert_eq(rc, SBC_ERR_TRANSPORT, "%s: got %d (%s), want the "
	    "connection closed", what, rc, err.message != NULL ?
	    err.message : "");
	cr_assert_lt(itest_now_ms() - t0, ms, "%s: the close took %lld ms",
	    what, (long long)(itest_now_ms() - t0));
	sbc_error_clear(&err);
}

/* Create and start an exec sandbox; its pid (tracked). */
static pid_t
run_exec(struct sbc *c, const char *id, const char *json)
{
	itest_make_sandbox(c, id, RUNTIME_EXEC, json);
	return (itest_ctrl_start(c, id));
}

/* The Wait sent on stream sid answers status. */
static void
expect_wait(struct sbc *c, uint32_t sid, uint32_t want, const char *id)
{
	struct sbc_error	err = {0};
	uint32_t		st = 9999;

	itest_expect(itest_recv_wait(c, sid, &st, NULL, &err), 0, &err,
	    "recv wait");
	cr_assert_eq(st, want, "wait %s: status %u, want %u", id, st, want);
}

/* Wait up to ms for the daemon's log to hold needle, or fail. */
static void
wait_log(const char *needle, int ms)
{
	int64_t	end = itest_now_ms() + ms;

	while (!itest_log_contains(&itest_d, needle)) {
		if (itest_now_ms() > end)
			cr_assert_fail("no \"%s\" in the log:\n%s", needle,
			    itest_log_tail(&itest_d, 4096));
		usleep(20000);
	}
}

/*
 * kill -9 once the daemon is idle.  A client has its answer as soon as
 * send() put it in the socket, while the daemon has yet to mark its slot
 * clean (the next instruction): a crash in between is one the daemon
 * cannot tell from a crash in the middle of the send, and resets the
 * connection.  The test gives it the moment a real client would.
 */
static void
kill9_when_idle(void)
{
	usleep(100000);
	itest_daemon_kill9(&itest_d);
}

/* kill -9, then a daemon again on the same paths. */
static void
crash_and_restart(void)
{
	kill9_when_idle();
	itest_daemon_restart(&itest_d);
}

/* (a) An idle connection is the same connection after a crash. */
Test(keeper, idle_connection_survives_kill9, .timeout = 60)
{
	struct sbc	*c;

	itest_daemon_start(&itest_d, NULL);
	c = itest_connect(&itest_d, NULL);
	expect_answers(c, "before the crash");
	cr_assert_neq(itest_keeper_pid(&itest_d), 0, "no keeper runs");
	crash_and_restart();
	expect_answers(c, "the old connection after the crash");
	expect_answers(c, "and again");
	cr_assert(itest_log_contains(&itest_d, "keeper: resumed"));
	sbc_close(c);
}

/*
 * (b) Pending Controller/Waits survive the crash and are answered on
 * their streams: one when its sandbox is stopped after the restart, one
 * at once for a sandbox killed while the daemon was down.  Neither is
 * the restarted daemon's child, but both give their real status (137):
 * one read from the pidfd the keeper held through the crash.
 */
Test(keeper, pending_waits_survive_kill9, .timeout = 90)
{
	struct sbc		*c, *w;
	struct sbc_error	 err = {0};
	uint32_t		 s_run, s_gone;
	pid_t			 gone;

	ITEST_NEEDS_ROOT("sandbox processes");
	itest_daemon_start(&itest_d, NULL);
	c = itest_connect(&itest_d, NULL);
	w = itest_connect(&itest_d, NULL);
	run_exec(c, "runs", SLEEP_SPEC);
	gone = run_exec(c, "gone", SLEEP_SPEC);
	s_run = itest_send_wait(w, "runs");
	s_gone = itest_send_wait(w, "gone");
	/* Both dispatched (and so recorded) before the crash. */
	expect_answers(w, "after the waits");

	kill9_when_idle();
	cr_assert_eq(kill(gone, SIGKILL), 0);
	cr_assert(itest_wait_dead(gone, 5000));
	itest_reap_orphans(&itest_d);
	itest_daemon_restart(&itest_d);

	expect_wait(w, s_gone, 128 + SIGKILL, "gone");
	itest_expect(sbc_ctrl_stop(c, "runs", 0, &err), 0, &err,
	    "stop after the restart");
	expect_wait(w, s_run, 128 + SIGKILL, "runs");
	cr_assert(itest_log_contains(&itest_d, "re-dispatched 2 waits"),
	    "%s", itest_log_tail(&itest_d, 4096));
	expect_answers(w, "the waiting connection, after");
	sbc_close(w);
	sbc_close(c);
}

/* In a child: a Store.Create on a connection of its own; exits 0 if the
 * connection was closed under it (not answered, not timed out). */
static pid_t
create_in_child(void)
{
	struct sbc_meta		 m = itest_meta("inflight", NULL, NULL);
	struct sbc_error	 err = {0};
	struct sbc		*c;
	int64_t			 t0;
	pid_t			 pid;
	int			 rc;

	cr_assert_neq(pid = fork(), -1);
	if (pid != 0)
		return (pid);
	c = itest_connect(&itest_d, NULL);
	t0 = itest_now_ms();
	rc = sbc_store_create(c, &m, NULL, &err);
	fprintf(stderr, "create_in_child: %d (%s) after %lld ms\n", rc,
	    err.message != NULL ? err.message : "", (long long)(itest_now_ms() -
	    t0));
	_exit(rc == SBC_ERR_TRANSPORT && itest_now_ms() - t0 < 20000 ? 0 : 1);
}

/*
 * (c) A request in flight at the crash (its commit slowed down): its
 * connection is closed by the restarted daemon, while an idle one beside
 * it is resumed.
 */
Test(keeper, request_in_flight_gets_its_connection_closed, .timeout = 90)
{
	struct sbc	*idle;
	char		 v[16];
	pid_t		 child;
	int		 status;

	snprintf(v, sizeof v, "%d", COMMIT_DELAY_MS);
	itest_daemon_setenv(&itest_d, "SANDBOXD_TEST_COMMIT_DELAY_MS", v);
	itest_daemon_start(&itest_d, NULL);
	idle = itest_connect(&itest_d, NULL);
	expect_answers(idle, "before");
	child = create_in_child();
	usleep(COMMIT_DELAY_MS * 1000 / 2);
	itest_daemon_kill9(&itest_d);
	itest_daemon_clearenv(&itest_d);
	itest_daemon_restart(&itest_d);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the client of the request in flight was not closed promptly "
	    "(status 0x%x)", status);
	cr_assert(itest_log_contains(&itest_d, "requests were unanswered"),
	    "%s", itest_log_tail(&itest_d, 4096));
	expect_answers(idle, "the idle connection beside it");
	sbc_close(idle);
}

/* (d) No daemon back within the grace: EOF for the client, keeper gone. */
Test(keeper, grace_expires_without_a_daemon, .timeout = 60)
{
	struct sbc	*c;
	char		 path[PATH_MAX + 16];
	pid_t		 kpid;
	int64_t		 t0;

	itest_daemon_start(&itest_d, "--keeper-grace", "2", NULL);
	c = itest_connect(&itest_d, NULL);
	expect_answers(c, "before");
	cr_assert_neq(kpid = itest_keeper_pid(&itest_d), 0);
	kill9_when_idle();
	t0 = itest_now_ms();
	expect_closed_within(c, 10000, "after the grace period");
	cr_assert_geq(itest_now_ms() - t0, 1500, "closed after %lld ms, "
	    "before the grace period of 2 s", (long long)(itest_now_ms() -
	    t0));
	cr_assert(itest_wait_dead(kpid, 5000), "the keeper outlived its "
	    "grace period");
	waitpid(kpid, NULL, WNOHANG);
	snprintf(path, sizeof path, "%s/keeper.pid", itest_d.run_dir);
	cr_assert_not(itest_path_exists(path), "%s left behind", path);
	snprintf(path, sizeof path, "%s/keeper.sock", itest_d.run_dir);
	cr_assert_not(itest_path_exists(path), "%s left behind", path);
	sbc_close(c);
}

/* (e) --keeper-grace 0: no keeper; kill -9 closes the connection. */
Test(keeper, grace_zero_is_no_keeper, .timeout = 60)
{
	struct sbc	*c;

	itest_daemon_start(&itest_d, "--keeper-grace", "0", NULL);
	c = itest_connect(&itest_d, NULL);
	expect_answers(c, "before");
	cr_assert_eq(itest_keeper_pid(&itest_d), 0, "a keeper runs");
	itest_daemon_kill9(&itest_d);
	expect_closed_within(c, 2000, "after kill -9");
	sbc_close(c);
}

/*
 * (f) The keeper killed under a running daemon: it says so and serves
 * on, old connections and new; a crash then closes them as without one.
 */
Test(keeper, keeper_killed_daemon_serves_on, .timeout = 60)
{
	struct sbc	*c, *c2;
	pid_t		 kpid;

	itest_daemon_start(&itest_d, NULL);
	c = itest_connect(&itest_d, NULL);
	expect_answers(c, "before");
	cr_assert_neq(kpid = itest_keeper_pid(&itest_d), 0);
	cr_assert_eq(kill(kpid, SIGKILL), 0);
	wait_log("no longer protected", 5000);
	cr_assert(itest_daemon_running(&itest_d));
	expect_answers(c, "the old connection");
	c2 = itest_connect(&itest_d, NULL);
	expect_answers(c2, "a new connection");
	itest_daemon_kill9(&itest_d);
	expect_closed_within(c, 2000, "old connection after kill -9");
	expect_closed_within(c2, 2000, "new connection after kill -9");
	sbc_close(c2);
	sbc_close(c);
}

/*
 * (g) A SIGUSR2 re-exec carries each connection's slot and the keeper's
 * connection: a kill -9 after it keeps the connections and their Waits.
 */
Test(keeper, reexec_then_kill9, .timeout = 90)
{
	struct sbc		*c, *w;
	struct sbc_error	 err = {0};
	uint32_t		 sid;

	ITEST_NEEDS_ROOT("sandbox processes");
	itest_daemon_start(&itest_d, NULL);
	c = itest_connect(&itest_d, NULL);
	w = itest_connect(&itest_d, NULL);
	run_exec(c, "sl", SLEEP_SPEC);
	sid = itest_send_wait(w, "sl");
	expect_answers(w, "after the wait");
	cr_assert_eq(kill(itest_d.pid, SIGUSR2), 0);
	wait_log("re-executed: kept", 20000);
	expect_answers(c, "after the re-exec");
	crash_and_restart();
	expect_answers(c, "after the re-exec and a crash");
	itest_expect(sbc_ctrl_stop(c, "sl", 0, &err), 0, &err, "stop");
	expect_wait(w, sid, 128 + SIGKILL, "sl");
	cr_assert(itest_log_contains(&itest_d, "re-dispatched 1 waits"),
	    "%s", itest_log_tail(&itest_d, 4096));
	sbc_close(w);
	sbc_close(c);
}

/* A SIGTERM leaves the connections and their Waits to the next daemon. */
Test(keeper, sigterm_restart_keeps_connections, .timeout = 90)
{
	struct sbc		*c, *w;
	struct sbc_error	 err = {0};
	uint32_t		 sid;

	ITEST_NEEDS_ROOT("sandbox processes");
	itest_daemon_start(&itest_d, NULL);
	c = itest_connect(&itest_d, NULL);
	w = itest_connect(&itest_d, NULL);
	run_exec(c, "st", SLEEP_SPEC);
	sid = itest_send_wait(w, "st");
	expect_answers(w, "after the wait");
	itest_daemon_restart(&itest_d);		/* SIGTERM, exit 0, start */
	expect_answers(c, "after a clean restart");
	itest_expect(sbc_ctrl_stop(c, "st", 0, &err), 0, &err, "stop");
	expect_wait(w, sid, 128 + SIGKILL, "st");
	sbc_close(w);
	sbc_close(c);
}
