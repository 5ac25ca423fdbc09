/*
 * test_crash.c: the promises that hold when the daemon dies mid-change,
 * and the off-loop work behind them (spec section 8, "kill -9 of the
 * daemon at any moment ... leaves no sandbox process unaccounted for").
 *
 * A failed commit (the SANDBOXD_TEST_FAIL_COMMIT_AFTER hook) stands for
 * a kill -9 between the iteration's work and its fsync: either way the
 * change never reaches LevelDB and the daemon goes away.
 */
#include <sys/mount.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "itest.h"
#include "procmgr.h"
#include "protocol.h"
#include "sbc.h"

TestSuite(crash, .fini = itest_teardown);

/* Does /proc/self/mountinfo mention path? */
static bool
is_mounted(const char *path)
{
	char	 line[4096];
	FILE	*f;
	bool	 found = false;

	cr_assert_not_null(f = fopen("/proc/self/mountinfo", "re"));
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = strstr(line, path) != NULL;
	fclose(f);
	return (found);
}

/* Wait up to ms for the test to have no live child but the daemon. */
static bool
no_orphans_within(int ms)
{
	int64_t	end = itest_now_ms() + ms;

	for (;;) {
		itest_reap_orphans(&itest_d);
		if (itest_count_children(getpid(), false) == 0)
			return (true);
		if (itest_now_ms() > end)
			return (false);
		usleep(20000);
	}
}

/*
 * The commit that would record a Start's pid fails: the Start is not
 * acknowledged, and its process must never run the sandbox's program.
 * (Before processes were held until the commit, the program ran on,
 * untracked, while the record said "created".)
 */
Test(crash, start_not_committed_runs_nothing, .timeout = 60)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	struct sbc_status	 st;
	char			 marker[PATH_MAX], json[PATH_MAX + 128];
	int			 status;

	ITEST_NEEDS_ROOT("sandbox processes");
	itest_daemon_init(&itest_d);
	snprintf(marker, sizeof marker, "%s/ran", itest_d.dir);
	snprintf(json, sizeof json, "{\"process\":{\"args\":[\"/bin/sh\","
	    "\"-c\",\"echo ran > %s; exec sleep 300\"],\"env\":["
	    "\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\"}}", marker);
	/* Commits: Store.Create, Controller.Create; Start's fails. */
	itest_daemon_setenv(&itest_d, "SANDBOXD_TEST_FAIL_COMMIT_AFTER", "2");
	itest_daemon_start(&itest_d, NULL);
	c = itest_connect(&itest_d, "default");
	itest_make_sandbox(c, "held", RUNTIME_EXEC, json);
	itest_expect(sbc_ctrl_start(c, "held", NULL, &err), STATUS_INTERNAL,
	    &err, "start whose commit fails");
	sbc_close(c);
	status = itest_daemon_wait_exit(&itest_d, 10000);
	cr_assert_neq(status, -1, "the daemon runs on after a failed commit");

	/* Its held child saw the daemon go and left: nothing runs. */
	cr_assert(no_orphans_within(5000), "a process outlived the lost "
	    "Start");
	cr_assert_eq(access(marker, F_OK), -1, "the program of a Start that "
	    "was never recorded ran");

	/* Restarted: still created, and it starts for real now. */
	itest_daemon_clearenv(&itest_d);
	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, "default");
	itest_expect(sbc_ctrl_status(c, "held", false, &st, &err), 0, &err,
	    "status");
	cr_assert_str_eq(st.state, "SANDBOX_NOTREADY");
	cr_assert_eq(st.pid, 0);
	sbc_status_free(&st);
	itest_ctrl_start(c, "held");
	for (status = 0; status < 250 && access(marker, F_OK) == -1; status++)
		usleep(20000);
	cr_assert_eq(access(marker, F_OK), 0, "the started program never ran");
	itest_expect(sbc_ctrl_stop(c, "held", 0, &err), 0, &err, "stop");
	cr_assert_eq(itest_ctrl_wait(c, "held", NULL), 137);
	itest_expect(sbc_ctrl_shutdown(c, "held", &err), 0, &err, "shutdown");
	sbc_close(c);
}

/*
 * A netns file no sandbox owns (a Create killed between making it and
 * its commit) is removed at start; an owned one is kept.
 */
Test(crash, stray_netns_swept_at_start, .timeout = 60)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	struct sbc_status	 st;
	char			 stray[PATH_MAX], owned[PATH_MAX];
	char			 cmd[PATH_MAX + 64];
	int			 fd;

	ITEST_NEEDS_ROOT("network namespaces");
	itest_setup();
	c = itest_connect(&itest_d, "default");
	itest_make_sandbox(c, "kept", RUNTIME_PAUSE, NULL);
	itest_ctrl_start(c, "kept");
	sbc_close(c);
	itest_netns_file(&itest_d, "kept", owned, sizeof owned);
	itest_netns_file(&itest_d, "lost", stray, sizeof stray);
	cr_assert_neq(fd = open(stray, O_CREAT | O_EXCL | O_WRONLY, 0444), -1,
	    "%s: %s", stray, strerror(errno));
	close(fd);
	snprintf(cmd, sizeof cmd, "unshare --net=%s true", stray);
	if (system(cmd) != 0)
		cr_skip_test("cannot make a persistent netns with unshare(1)");
	cr_assert(is_mounted(stray));

	itest_daemon_kill9(&itest_d);
	itest_daemon_restart(&itest_d);
	cr_assert(!itest_path_exists(stray), "the stray netns file is left");
	cr_assert(!is_mounted(stray), "the stray netns is still mounted");
	cr_assert(itest_path_exists(owned), "a sandbox's netns was swept");
	cr_assert(is_mounted(owned));
	cr_assert(itest_log_contains(&itest_d, "which no sandbox owns"));

	c = itest_connect(&itest_d, "default");
	itest_expect(sbc_ctrl_status(c, "kept", false, &st, &err), 0, &err,
	    "status");
	cr_assert_str_eq(st.state, "SANDBOX_READY");
	sbc_status_free(&st);
	itest_expect(sbc_ctrl_shutdown(c, "kept", &err), 0, &err, "shutdown");
	cr_assert(!itest_path_exists(owned));
	sbc_close(c);
}

/*
 * Create a pause sandbox id, (start it,) shut it down: its netns must be
 * mounted when Create answers and gone when Shutdown answers.
 */
static void
pause_round_trip(struct sbc *c, const char *id, bool start)
{
	struct sbc_error	err = {0};
	char			path[PATH_MAX];

	itest_make_sandbox(c, id, RUNTIME_PAUSE, NULL);
	itest_netns_file(&itest_d, id, path, sizeof path);
	cr_assert(is_mounted(path), "Create answered before %s was mounted",
	    path);
	if (start)
		itest_wait_pause_ready(itest_ctrl_start(c, id));
	itest_expect(sbc_ctrl_shutdown(c, id, &err), 0, &err, "shutdown");
	cr_assert(!itest_path_exists(path) && !is_mounted(path),
	    "Shutdown answered before %s was removed", path);
}

/*
 * The netns is made off the loop, but Create answers only once it exists
 * and Shutdown only once it is gone.
 */
Test(crash, netns_exists_when_create_answers, .timeout = 60)
{
	struct sbc	*c;
	char		 id[16];
	int		 i;

	ITEST_NEEDS_ROOT("network namespaces");
	itest_setup();
	c = itest_connect(&itest_d, "default");
	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof id, "ns%d", i);
		pause_round_trip(c, id, false);
	}
	sbc_close(c);
}

/*
 * Create and Start pipelined on one connection: the Start waits for the
 * netns the Create is making, then runs; a second Start is refused.
 */
Test(crash, start_pipelined_behind_create, .timeout = 60)
{
	cssv_ControllerCreateRequest	*creq;
	cssv_ControllerStartRequest	 sreq = {0};
	cssv_ControllerStartResponse	*sresp;
	struct sbc_meta			 m = itest_meta("piped", RUNTIME_PAUSE,
					     NULL);
	struct sbc_reply		 reply;
	struct sbc_error		 err = {0};
	struct sbc			*c;
	uint32_t			 s_create, s_start, s_again;

	ITEST_NEEDS_ROOT("network namespaces");
	itest_setup();
	c = itest_connect(&itest_d, "default");
	itest_expect(sbc_store_create(c, &m, NULL, &err), 0, &err,
	    "store create");
	creq = calloc(1, sizeof(*creq));
	sresp = calloc(1, sizeof(*sresp));
	cr_assert(creq != NULL && sresp != NULL);
	snprintf(creq->sandbox_id, sizeof creq->sandbox_id, "piped");
	snprintf(sreq.sandbox_id, sizeof sreq.sandbox_id, "piped");
	itest_expect(sbc_send(c, SERVICE_CONTROLLER, "Create",
	    cssv_ControllerCreateRequest_fields, creq, &s_create, &err), 0,
	    &err, "send create");
	itest_expect(sbc_send(c, SERVICE_CONTROLLER, "Start",
	    cssv_ControllerStartRequest_fields, &sreq, &s_start, &err), 0,
	    &err, "send start");
	itest_expect(sbc_send(c, SERVICE_CONTROLLER, "Start",
	    cssv_ControllerStartRequest_fields, &sreq, &s_again, &err), 0,
	    &err, "send start again");

	itest_expect(sbc_recv(c, s_create, NULL, NULL, &reply, &err), 0, &err,
	    "create");
	sbc_reply_free(&reply);
	itest_expect(sbc_recv(c, s_start, cssv_ControllerStartResponse_fields,
	    sresp, &reply, &err), 0, &err, "start behind create");
	cr_assert_gt(sresp->pid, 0);
	itest_track((pid_t)sresp->pid);
	sbc_reply_free(&reply);
	itest_expect(sbc_recv(c, s_again, NULL, NULL, &reply, &err),
	    STATUS_FAILED_PRECONDITION, &err, "second start");
	sbc_reply_free(&reply);
	itest_wait_pause_ready((pid_t)sresp->pid);
	itest_expect(sbc_ctrl_shutdown(c, "piped", &err), 0, &err,
	    "shutdown");
	cr_assert(itest_wait_dead((pid_t)sresp->pid, 5000));
	free(creq);
	free(sresp);
	sbc_close(c);
}

/* The pids of the daemon's helper processes (max at most). */
static int
daemon_helpers(pid_t *pids, int max)
{
	char	path[64];
	int	n = 0;
	pid_t	pid;
	FILE	*f;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children",
	    (int)itest_d.pid, (int)itest_d.pid);
	cr_assert_not_null(f = fopen(path, "re"), "%s", path);
	while (n < max && fscanf(f, "%d", &pid) == 1) {
		/* The keeper is a helper too, but not the one meant here. */
		if (proc_is_daemon_helper(pid) && !itest_is_keeper(pid))
			pids[n++] = pid;
	}
	fclose(f);
	return (n);
}

/*
 * The helper killed: the daemon says so and does its work itself,
 * sandboxes with their own netns included, and still exits cleanly.
 * (Sandbox processes are cloned by the daemon: the netns helper is its
 * only one.)
 */
Test(crash, helpers_killed, .timeout = 60)
{
	struct sbc	*c;
	pid_t		 helpers[2];
	char		 id[16];
	int		 i;

	ITEST_NEEDS_ROOT("network namespaces");
	itest_setup();
	cr_assert_eq(daemon_helpers(helpers, 2), 1,
	    "the daemon has not exactly one helper");
	cr_assert_eq(kill(helpers[0], SIGKILL), 0);
	/*
	 * A request sent while the helper is dying fails with it (that is
	 * the helper's contract); wait until the daemon has seen it go.
	 */
	for (i = 0; i < 250 && !itest_log_contains(&itest_d,
	    "made by the daemon itself"); i++)
		usleep(20000);
	c = itest_connect(&itest_d, "default");
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof id, "alone%d", i);
		pause_round_trip(c, id, true);
	}
	sbc_close(c);
	cr_assert(itest_log_contains(&itest_d, "made by the daemon itself"));
}
