/*
 * test_reexec.c: sandboxd re-executes itself (SIGUSR2, Admin/Reexec)
 * without its clients noticing: same pid, the socket and every open
 * connection kept, pending Waits answered later with the right status on
 * their original streams, a Stop in progress keeps its SIGKILL deadline,
 * a frame half sent before the exec is answered after it, and 50 Waits on
 * one connection survive.
 *
 * One daemon per test (itest_setup/itest_teardown); every sandbox pid is
 * tracked, so a failed test leaves nothing.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <pb_encode.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "sandboxd/v1/handover.pb.h"
#include "itest.h"
#include "sbc.h"

#define PATH_ENV	"\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\""
#define SH_SPEC(cmd) \
	"{\"process\":{\"args\":[\"/bin/sh\",\"-c\",\"" cmd "\"]," PATH_ENV "}}"
#define SLEEP_SPEC	SH_SPEC("exec sleep 1000")
#define TRAP_TERM_SPEC	SH_SPEC("trap '' TERM; while :; do sleep 1; done")
#define MANY		50
#define DONE_LINE	"re-executed: kept"

TestSuite(reexec, .init = itest_setup, .fini = itest_teardown);
TestSuite(reexec_bad, .fini = itest_teardown);

/* How many times needle is in the daemon's log. */
static int
log_count(const char *needle)
{
	char	*all = itest_log_tail(&itest_d, 16u << 20), *p = all;
	int	 n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	free(all);
	return (n);
}

/* Wait until the daemon logged its nth re-exec, or fail. */
static void
wait_reexec_done(int nth)
{
	int64_t	t0 = itest_now_ms();

	while (log_count(DONE_LINE) < nth) {
		if (itest_now_ms() - t0 > 20000)
			cr_assert_fail("re-exec %d not done within 20 s:\n%s",
			    nth, itest_log_tail(&itest_d, 4096));
		usleep(20000);
	}
}

/* SIGUSR2 and wait for the nth re-exec to be done. */
static void
sigusr2_reexec(int nth)
{
	cr_assert_eq(kill(itest_d.pid, SIGUSR2), 0);
	wait_reexec_done(nth);
}

/* The daemon is the same process, now running the binary afresh. */
static void
expect_same_daemon(pid_t pid)
{
	char	exe[PATH_MAX], want[PATH_MAX];
	char	link[64];
	ssize_t	n;

	cr_assert_eq(itest_d.pid, pid);
	cr_assert(itest_daemon_running(&itest_d), "daemon died:\n%s",
	    itest_log_tail(&itest_d, 4096));
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	cr_assert_not_null(realpath(getenv("SANDBOXD_BIN"), want));
	cr_assert_str_eq(exe, want);
}

/* A request on c that needs the daemon to answer (Admin/ListInstances). */
static void
expect_answers(struct sbc *c, const char *what)
{
	struct sbc_instance	*v = NULL;
	struct sbc_error	 err = {0};
	size_t			 n = 0;

	itest_expect(sbc_admin_list_instances(c, &v, &n, &err), 0, &err,
	    what);
	sbc_instance_list_free(v, n);
}

/* Create and start an exec sandbox; its pid (tracked). */
static pid_t
run_exec(struct sbc *c, const char *id, const char *json)
{
	itest_make_sandbox(c, id, RUNTIME_EXEC, json);
	return (itest_ctrl_start(c, id));
}

/* Send Controller.Stop id with timeout secs; its stream id. */
static uint32_t
send_stop(struct sbc *c, const char *id, uint32_t secs)
{
	cssv_ControllerStopRequest	req = {0};
	struct sbc_error		err = {0};
	uint32_t			sid;

	snprintf(req.sandbox_id, sizeof(req.sandbox_id), "%s", id);
	req.timeout_secs = secs;
	itest_expect(sbc_send(c, SERVICE_CONTROLLER, "Stop",
	    cssv_ControllerStopRequest_fields, &req, &sid, &err), 0, &err,
	    "send stop");
	return (sid);
}

/* Receive the answer to a Stop sent with send_stop, or fail. */
static void
recv_stop(struct sbc *c, uint32_t sid)
{
	cssv_ControllerStopResponse	resp = {0};
	struct sbc_reply		reply;
	struct sbc_error		err = {0};

	itest_expect(sbc_recv(c, sid, cssv_ControllerStopResponse_fields,
	    &resp, &reply, &err), 0, &err, "recv stop");
	sbc_reply_free(&reply);
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

Test(reexec, same_pid_socket_kept, .timeout = 60)
{
	struct sbc	*c = itest_connect(&itest_d, NULL), *c2;
	pid_t		 pid = itest_d.pid;

	expect_answers(c, "before");
	sigusr2_reexec(1);
	expect_same_daemon(pid);
	expect_answers(c, "old connection after the re-exec");
	c2 = itest_connect(&itest_d, NULL);
	expect_answers(c2, "new connection after the re-exec");
	cr_assert(itest_log_contains(&itest_d, "kept across the re-exec"));
	sbc_close(c2);
	sbc_close(c);
}

Test(reexec, waits_answered_after, .timeout = 90)
{
	struct sbc	*c = itest_connect(&itest_d, NULL);
	struct sbc	*w = itest_connect(&itest_d, NULL);
	struct sbc_error err = {0};
	uint32_t	 s_pause, s_sleep, s_exit7;
	pid_t		 pid = itest_d.pid;

	ITEST_NEEDS_ROOT("the pause runtime makes namespaces");
	itest_make_sandbox(c, "pz", RUNTIME_PAUSE, NULL);
	itest_ctrl_start(c, "pz");
	run_exec(c, "sl", SLEEP_SPEC);
	run_exec(c, "x7", SH_SPEC("sleep 2; exit 7"));
	s_pause = itest_send_wait(w, "pz");
	s_sleep = itest_send_wait(w, "sl");
	s_exit7 = itest_send_wait(w, "x7");
	usleep(100000);
	sigusr2_reexec(1);
	expect_same_daemon(pid);
	/* x7 exits on its own, maybe during the exec: its real status. */
	expect_wait(w, s_exit7, 7, "x7");
	itest_expect(sbc_ctrl_stop(c, "pz", 0, &err), 0, &err, "stop pz");
	itest_expect(sbc_ctrl_stop(c, "sl", 0, &err), 0, &err, "stop sl");
	expect_wait(w, s_sleep, 137, "sl");
	expect_wait(w, s_pause, 137, "pz");
	/* An exec sandbox started after: its exit status, on the old conn. */
	run_exec(c, "late", SH_SPEC("exit 7"));
	cr_assert_eq(itest_ctrl_wait(c, "late", NULL), 7);
	sbc_close(w);
	sbc_close(c);
}

Test(reexec, stop_keeps_its_deadline, .timeout = 60)
{
	struct sbc	*c = itest_connect(&itest_d, NULL);
	struct sbc	*w = itest_connect(&itest_d, NULL);
	uint32_t	 s_stop, s_wait;
	int64_t		 t0, ms;
	pid_t		 pid;

	pid = run_exec(c, "trap", TRAP_TERM_SPEC);
	usleep(300000);		/* let the shell install its trap */
	s_wait = itest_send_wait(w, "trap");
	t0 = itest_now_ms();
	s_stop = send_stop(c, "trap", 3);
	usleep(500000);
	sigusr2_reexec(1);
	recv_stop(c, s_stop);
	ms = itest_now_ms() - t0;
	cr_assert(ms >= 2000 && ms < 4800, "Stop (timeout 3 s) across a "
	    "re-exec answered after %lld ms, want ~3000", (long long)ms);
	expect_wait(w, s_wait, 137, "trap");
	cr_assert(itest_wait_dead(pid, 2000));
	sbc_close(w);
	sbc_close(c);
}

/* Copy whatever is readable on from to to within ms; bytes copied. */
static size_t
pump(int from, int to, int ms)
{
	struct pollfd	pfd = { .fd = from, .events = POLLIN };
	char		buf[65536];
	ssize_t		n;
	size_t		total = 0;

	while (poll(&pfd, 1, ms) > 0) {
		if ((n = read(from, buf, sizeof(buf))) <= 0)
			break;
		cr_assert_eq(write(to, buf, (size_t)n), n);
		total += (size_t)n;
		ms = 50;
	}
	return (total);
}

/* A raw connection to the daemon's socket. */
static int
raw_connect(void)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	cr_assert_lt(strlen(itest_d.socket), sizeof(sun.sun_path));
	memcpy(sun.sun_path, itest_d.socket, strlen(itest_d.socket) + 1);
	cr_assert_neq(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return (fd);
}

/*
 * The client library writes into one end of a socketpair; the test
 * forwards its frame to the daemon in two halves, one before the
 * re-exec and one after, and the answer back.
 */
Test(reexec, half_frame_across, .timeout = 60)
{
	struct sbc	*c = itest_connect(&itest_d, NULL);
	struct sbc	*p;
	struct sbc_status st;
	struct sbc_error err = {0};
	uint32_t	 sid;
	char		 frame[4096];
	ssize_t		 n;
	int		 sv[2], fd;
	cssv_ControllerStatusRequest req = {0};
	cssv_ControllerStatusResponse resp = {0};
	struct sbc_reply reply;

	run_exec(c, "hf", SLEEP_SPEC);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_not_null(p = sbc_open_fd(sv[0]));
	fd = raw_connect();
	snprintf(req.sandbox_id, sizeof(req.sandbox_id), "hf");
	itest_expect(sbc_send(p, SERVICE_CONTROLLER, "Status",
	    cssv_ControllerStatusRequest_fields, &req, &sid, &err), 0, &err,
	    "send status");
	n = read(sv[1], frame, sizeof(frame));
	cr_assert_gt(n, 20);
	cr_assert_eq(write(fd, frame, 7), 7);		/* half a header */
	usleep(100000);
	sigusr2_reexec(1);
	cr_assert_eq(write(fd, frame + 7, (size_t)n - 7), n - 7);
	cr_assert_gt(pump(fd, sv[1], 5000), 0);
	itest_expect(sbc_recv(p, sid, cssv_ControllerStatusResponse_fields,
	    &resp, &reply, &err), 0, &err, "recv status");
	cr_assert_str_eq(resp.state, "SANDBOX_READY");
	sbc_reply_free(&reply);
	itest_expect(sbc_ctrl_status(c, "hf", false, &st, &err), 0, &err,
	    "status");
	sbc_status_free(&st);
	close(fd);
	sbc_close(p);
	close(sv[1]);
	sbc_close(c);
}

Test(reexec, admin_reexec_twice_many_waits, .timeout = 180)
{
	struct sbc	*c = itest_connect(&itest_d, NULL);
	struct sbc	*w = itest_connect(&itest_d, NULL);
	struct sbc_error err = {0};
	uint32_t	 sid[MANY], rpid = 0;
	char		 id[32];
	int		 i;

	for (i = 0; i < MANY; i++) {
		snprintf(id, sizeof(id), "m%d", i);
		run_exec(c, id, SLEEP_SPEC);
		sid[i] = itest_send_wait(w, id);
	}
	itest_expect(sbc_reexec(c, &rpid, &err), 0, &err, "reexec");
	cr_assert_eq((pid_t)rpid, itest_d.pid);
	itest_expect(sbc_reexec(c, &rpid, &err), 0, &err, "reexec again");
	cr_assert_eq((pid_t)rpid, itest_d.pid);
	expect_same_daemon(itest_d.pid);
	cr_assert(itest_log_contains(&itest_d, "kept 2 connections, 51 "
	    "carried calls"), "%s", itest_log_tail(&itest_d, 4096));
	for (i = 0; i < MANY; i++) {
		snprintf(id, sizeof(id), "m%d", i);
		itest_expect(sbc_ctrl_stop(c, id, 0, &err), 0, &err, "stop");
	}
	for (i = 0; i < MANY; i++)
		expect_wait(w, sid[i], 137, "m*");
	sbc_close(w);
	sbc_close(c);
}

/* Start the suite daemon as if re-executed with a hand-over of bytes. */
static void
start_with_handover(const void *bytes, size_t len)
{
	char	num[16];
	int	fd;

	itest_daemon_init(&itest_d);
	cr_assert_neq(fd = memfd_create("bad-handover", 0), -1);
	cr_assert_eq(write(fd, bytes, len), (ssize_t)len);
	snprintf(num, sizeof(num), "%d", fd);
	itest_daemon_setenv(&itest_d, "SANDBOXD_HANDOVER_FD", num);
	itest_daemon_start(&itest_d, NULL);
	close(fd);
}

Test(reexec_bad, undecodable_handover_serves, .timeout = 60)
{
	static const uint8_t	 junk[] = { 0xff, 0xff, 0xff, 0x07, 0x01 };
	struct sbc		*c;

	start_with_handover(junk, sizeof(junk));
	c = itest_connect(&itest_d, NULL);
	expect_answers(c, "after a bad hand-over");
	cr_assert(itest_log_contains(&itest_d, "cannot decode the hand-over"),
	    "%s", itest_log_tail(&itest_d, 4096));
	sbc_close(c);
}

Test(reexec_bad, other_version_serves, .timeout = 60)
{
	sv_Handover	 h = { 0 };
	uint8_t		 buf[64];
	pb_ostream_t	 os = pb_ostream_from_buffer(buf, sizeof(buf));
	struct sbc	*c;

	h.version = 99;
	h.listener_fd = 1;		/* stdout: must not be taken */
	cr_assert(pb_encode(&os, sv_Handover_fields, &h));
	start_with_handover(buf, os.bytes_written);
	c = itest_connect(&itest_d, NULL);
	expect_answers(c, "after a hand-over of another version");
	cr_assert(itest_log_contains(&itest_d, "hand-over version 99"),
	    "%s", itest_log_tail(&itest_d, 4096));
	sbc_close(c);
}
