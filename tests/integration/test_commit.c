/*
 * test_commit.c: commits off the loop, seen from outside.  The daemon's
 * commit thread is slowed by the SANDBOXD_TEST_COMMIT_DELAY_MS hook, so
 * that a commit in flight lasts long enough to look at: a Start's
 * process must not run its program before its pid is written, a read
 * must wait for the batch in flight, a read on a quiet daemon must not,
 * and a kill -9 while the Start's batch is in flight leaves nothing
 * running and the sandbox recorded as created.  A kill -9 while the
 * batch recording an exit is in flight loses nothing either: the keeper
 * still holds the pidfd, so the next daemon reads the real status.  An
 * acknowledged Shutdown survives a kill -9 right after its answer.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "itest.h"
#include "procmgr.h"
#include "protocol.h"
#include "sbc.h"

#define DELAY_MS	1000	/* each commit's sleep on the commit thread */

TestSuite(commit, .fini = itest_teardown);

/* A daemon whose every commit takes DELAY_MS more; grace: its
 * --keeper-grace (NULL: the default). */
static void
start_slow_daemon_grace(const char *grace)
{
	char	v[16];

	snprintf(v, sizeof v, "%d", DELAY_MS);
	itest_daemon_setenv(&itest_d, "SANDBOXD_TEST_COMMIT_DELAY_MS", v);
	if (grace != NULL)
		itest_daemon_start(&itest_d, "--keeper-grace", grace, NULL);
	else
		itest_daemon_start(&itest_d, NULL);
}

/* A daemon whose every commit takes DELAY_MS more. */
static void
start_slow_daemon(void)
{
	start_slow_daemon_grace(NULL);
}

/* Make an exec sandbox whose program leaves marker behind. */
static void
make_marking_sandbox(struct sbc *c, const char *id, char *marker,
    size_t len)
{
	char	json[PATH_MAX + 128];

	snprintf(marker, len, "%s/ran-%s", itest_d.dir, id);
	snprintf(json, sizeof json, "{\"process\":{\"args\":[\"/bin/sh\","
	    "\"-c\",\"echo ran > %s; exec sleep 300\"],\"env\":["
	    "\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\"}}", marker);
	itest_make_sandbox(c, id, RUNTIME_EXEC, json);
}

/* Send a Start from a child process, which exits when it is answered. */
static pid_t
start_in_child(const char *id)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	pid_t			 pid;

	cr_assert_neq(pid = fork(), -1);
	if (pid != 0)
		return (pid);
	c = itest_connect(&itest_d, "default");
	_exit(sbc_ctrl_start(c, id, NULL, &err) == 0 ? 0 : 1);
}

/* A Get of a missing id; how long its answer took, in ms. */
static int64_t
timed_get_missing(struct sbc *c)
{
	struct sbc_meta		 m;
	struct sbc_error	 err = {0};
	int64_t			 t0 = itest_now_ms();

	memset(&m, 0, sizeof m);
	cr_assert_eq(sbc_store_get(c, "missing", &m, &err), STATUS_NOT_FOUND);
	sbc_error_clear(&err);
	return (itest_now_ms() - t0);
}

/* Wait for path to exist, up to ms; whether it does. */
static bool
exists_within(const char *path, int ms)
{
	int64_t	end = itest_now_ms() + ms;

	while (!itest_path_exists(path)) {
		if (itest_now_ms() > end)
			return (false);
		usleep(20000);
	}
	return (true);
}

/* A read on a quiet daemon is answered at once, however slow commits are. */
Test(commit, quiet_read_is_not_delayed, .timeout = 60)
{
	struct sbc	*c;
	int64_t		 ms;

	start_slow_daemon();
	c = itest_connect(&itest_d, "default");
	ms = timed_get_missing(c);
	cr_assert_lt(ms, DELAY_MS / 2, "a read with nothing to commit took "
	    "%lld ms", (long long)ms);
	sbc_close(c);
}

/*
 * While a Start's batch is with the commit thread, its process is held
 * and a read from another client waits; once written, both go on.
 */
Test(commit, start_and_reads_wait_for_the_batch, .timeout = 90)
{
	struct sbc	*c;
	char		 marker[PATH_MAX];
	int64_t		 t0;
	pid_t		 child;
	int		 status;

	ITEST_NEEDS_ROOT("sandbox processes");
	start_slow_daemon();
	c = itest_connect(&itest_d, "default");
	make_marking_sandbox(c, "held", marker, sizeof marker);
	t0 = itest_now_ms();
	child = start_in_child("held");
	usleep(DELAY_MS * 1000 / 4);
	cr_assert_not(itest_path_exists(marker), "the program ran before its "
	    "pid was written");
	timed_get_missing(c);
	cr_assert_geq(itest_now_ms() - t0, DELAY_MS * 9 / 10, "a read was "
	    "answered %lld ms after a Start, before the Start's commit",
	    (long long)(itest_now_ms() - t0));
	cr_assert(exists_within(marker, 10000), "the started program never "
	    "ran");
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the Start failed");
	sbc_close(c);
}

/* kill -9 while a Start's batch is in flight: nothing ever runs. */
Test(commit, kill9_during_the_start_commit, .timeout = 90)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	struct sbc_status	 st;
	char			 marker[PATH_MAX];
	pid_t			 child;
	int			 status, i;

	ITEST_NEEDS_ROOT("sandbox processes");
	/* The client is to see the crash: no keeper to hold its connection
	 * (test_keeper.c has a request in flight with one). */
	start_slow_daemon_grace("0");
	c = itest_connect(&itest_d, "default");
	make_marking_sandbox(c, "lost", marker, sizeof marker);
	sbc_close(c);
	child = start_in_child("lost");
	usleep(DELAY_MS * 1000 / 2);
	itest_daemon_kill9(&itest_d);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0,
	    "a Start was acknowledged by a daemon killed before its commit");
	for (i = 0; i < 50; i++) {
		itest_reap_orphans(&itest_d);
		if (itest_count_children(getpid(), false) == 0)
			break;
		usleep(100000);
	}
	cr_assert_eq(itest_count_children(getpid(), false), 0, "a held "
	    "process outlived the daemon");
	cr_assert_not(itest_path_exists(marker), "the program of a Start "
	    "that was never written ran");

	itest_daemon_clearenv(&itest_d);
	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, "default");
	itest_expect(sbc_ctrl_status(c, "lost", false, &st, &err), 0, &err,
	    "status");
	cr_assert_str_eq(st.state, "SANDBOX_NOTREADY");
	cr_assert_eq(st.pid, 0);
	sbc_status_free(&st);
	itest_expect(sbc_ctrl_shutdown(c, "lost", &err), 0, &err, "shutdown");
	sbc_close(c);
}

/*
 * The sandbox is killed and its exit seen, but the daemon is killed
 * while the batch recording that exit is in flight.  The keeper lets its
 * pidfd go only after that commit, so the restarted daemon takes it back
 * and reports SIGKILL's 137, not an unknown 255.
 */
Test(commit, kill9_during_the_exit_commit_keeps_the_status, .timeout = 90)
{
	struct sbc	*c;
	pid_t		 pid;
	uint32_t	 code;

	ITEST_NEEDS_ROOT("sandbox processes");
	start_slow_daemon();
	c = itest_connect(&itest_d, "default");
	itest_make_sandbox(c, "gone", RUNTIME_EXEC, "{\"process\":{\"args\":"
	    "[\"sleep\",\"300\"],\"env\":[\"PATH=/usr/bin:/bin\"],"
	    "\"cwd\":\"/\"}}");
	pid = itest_ctrl_start(c, "gone");
	sbc_close(c);
	/* Nothing else is being written: the exit's batch leaves at once. */
	cr_assert_eq(kill(pid, SIGKILL), 0);
	usleep(DELAY_MS * 1000 / 2);
	itest_daemon_kill9(&itest_d);
	itest_daemon_clearenv(&itest_d);
	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, "default");
	code = itest_ctrl_wait(c, "gone", NULL);
	cr_assert_eq(code, 128 + SIGKILL, "status of a sandbox whose exit "
	    "was seen but not yet written at the crash: %u", code);
	sbc_close(c);
}

/*
 * A Shutdown of an exited sandbox is answered only once the delete of
 * its record is written, whatever order the controller parks the answer
 * and queues the delete in (the answer is tagged at the end of the loop
 * iteration): a kill -9 the moment the client has it loses nothing.
 */
Test(commit, kill9_right_after_a_shutdown_answer, .timeout = 90)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	struct sbc_status	 st;
	pid_t			 pid;
	int64_t			 t0;

	ITEST_NEEDS_ROOT("sandbox processes");
	start_slow_daemon_grace("0");
	c = itest_connect(&itest_d, "default");
	itest_make_sandbox(c, "done", RUNTIME_EXEC, "{\"process\":{\"args\":"
	    "[\"sleep\",\"300\"],\"env\":[\"PATH=/usr/bin:/bin\"],"
	    "\"cwd\":\"/\"}}");
	pid = itest_ctrl_start(c, "done");
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(itest_ctrl_wait(c, "done", NULL), 128 + SIGKILL);
	t0 = itest_now_ms();
	itest_expect(sbc_ctrl_shutdown(c, "done", &err), 0, &err, "shutdown");
	itest_daemon_kill9(&itest_d);
	sbc_close(c);
	cr_assert_geq(itest_now_ms() - t0, DELAY_MS * 9 / 10, "Shutdown "
	    "answered after %lld ms, before its delete's commit",
	    (long long)(itest_now_ms() - t0));
	itest_daemon_clearenv(&itest_d);
	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, "default");
	itest_expect(sbc_ctrl_status(c, "done", false, &st, &err),
	    STATUS_NOT_FOUND, &err, "status after an acknowledged Shutdown "
	    "and a crash");
	sbc_close(c);
}
