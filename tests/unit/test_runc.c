/*
 * test_runc.c: procmgr's runc driver (runc.c) and subreaper (subreaper.c),
 * with real processes.
 *
 * Suites: runc (against a fake runc, a shell script that records its
 * argv and behaves as FAKE_RUNC_MODE says), runc_fallback (the same in
 * signalfd mode), subreaper (orphans below the test process), runc_real
 * (Debian's runc with a busybox-static bundle; skipped, saying why, when
 * runc or busybox is missing).  The rootfs mounts are in test_rootfs.c.
 * Each test runs in its own process (Criterion forks), with its own event
 * base and temporary directory.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/event.h>

#include "procmgr_test.h"
#include "reapint.h"
#include "runc.h"

/* One timeout for every test (see test_proc.c: Criterion's runner). */
#define TEST_TIMEOUT	60

static struct event_base	*base;
static char			 tmpdir[] = "/tmp/test_runc.XXXXXX";
static char			*fake;		/* the fake runc script */
static char			*bundle;
static char			 cid[32];	/* real runc: unique per test */

/* What a done callback saw. */
struct donerec {
	int	 calls;
	int	 status;
	char	*error;
	pid_t	 pid;
	int	 child_status;	/* quickinit: the init's status, in done */
	bool	 reap_in_done;	/* run the sweep from done first */
	bool	 adopt;		/* proc_adopt the pid in done */
	struct proc *proc;	/* what adopt made */
	int	 exits;		/* its exit callbacks */
	int	 exit_status;
};

static const char fake_script[] =
    "#!/bin/sh\n"
    "dir=$(dirname \"$0\")\n"
    "printf '%s\\n' \"$@\" > \"$dir/argv\"\n"
    "prev=; log=; pidfile=; process=\n"
    "for a in \"$@\"; do\n"
    "  case \"$prev\" in\n"
    "  --log) log=$a;; --pid-file) pidfile=$a;; --process) process=$a;;\n"
    "  esac\n"
    "  prev=$a\n"
    "done\n"
    "[ -n \"$process\" ] && cp \"$process\" \"$dir/process.copy\"\n"
    "case \"$FAKE_RUNC_MODE\" in\n"
    "ok) [ -n \"$pidfile\" ] && { sleep 100 </dev/null >/dev/null 2>&1 &\n"
    "    echo $! > \"$pidfile\"; }; exit 0;;\n"
    "fail) echo '{\"level\":\"info\",\"msg\":\"starting\"}' >> \"$log\"\n"
    "    echo '{\"level\":\"error\",\"msg\":\"first\"}' >> \"$log\"\n"
    "    echo 'not json' >> \"$log\"\n"
    "    echo '{\"level\":\"error\",\"msg\":\"container not found\"}' >> \"$log\"\n"
    "    exit 3;;\n"
    "stderr) echo 'plain failure' >&2; exit 2;;\n"
    "sleep) exec sleep 100;;\n"
    "stdin) cat > \"$dir/stdin\"; exit 0;;\n"
    "nopid) exit 0;;\n"
    "stdio) echo out; echo err >&2; exit 0;;\n"
    "quickinit) sh -c 'exit 5' & echo $! > \"$pidfile\"; exec sleep 0.2;;\n"
    "esac\n"
    "exit 99\n";

/* Remove one entry of the tree (nftw callback). */
static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return (0);
}

/* Write text to path, mode 0755. */
static void
write_file(const char *path, const char *text)
{
	FILE	*f;

	cr_assert_not_null(f = fopen(path, "w"), "%s: %s", path,
	    strerror(errno));
	fputs(text, f);
	fclose(f);
	chmod(path, 0755);
}

/* The whole of a file, or NULL. */
static char *
read_file(const char *name)
{
	char	 path[4096], *buf;
	FILE	*f;
	size_t	 n;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	if ((f = fopen(path, "r")) == NULL)
		return (NULL);
	buf = calloc(1, 65536);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

static void
setup_common(bool signalfd_mode)
{
	char	*cause = NULL;

	cr_assert_not_null(mkdtemp(tmpdir));
	cr_assert_not_null(base = event_base_new());
	proc_force_signalfd(signalfd_mode);
	cr_assert_eq(proc_init(base, &cause), 0, "%s", cause);
	cr_assert_eq(asprintf(&fake, "%s/runc", tmpdir) > 0, true);
	cr_assert_eq(asprintf(&bundle, "%s/bundle", tmpdir) > 0, true);
	cr_assert_eq(mkdir(bundle, 0700), 0);
	/* Tests run in parallel; runc names cgroups after the id. */
	snprintf(cid, sizeof cid, "sbd-test-%d", (int)getpid());
	write_file(fake, fake_script);
	runc_configure(fake, "/run/test-root");
	runc_set_timeout(RUNC_TIMEOUT_MS);
}

static void
setup(void)
{
	setup_common(false);
}

static void
setup_fallback(void)
{
	setup_common(true);
}

static void
teardown(void)
{
	proc_shutdown();
	event_base_free(base);
	runc_configure(NULL, NULL);
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fake);
	free(bundle);
}

/* The adopted process exited. */
static void
exit_cb(struct proc *p, int status, const struct timespec *at, void *arg)
{
	struct donerec	*r = arg;

	(void)at;
	r->exits++;
	r->exit_status = status;
	proc_free(p);
	r->proc = NULL;
}

/* Watch the process a create named, as the controller will. */
static void
adopt(struct donerec *r, pid_t pid)
{
	uint64_t	 start;
	char		*cause = NULL;

	cr_assert_eq(proc_read_start_time(pid, &start), 0);
	r->proc = proc_adopt(pid, start, exit_cb, r, &cause);
	cr_assert_not_null(r->proc, "%s", cause);
	cr_assert(proc_is_child(r->proc));
}

/* done: keep what runc_result said. */
static void
done_cb(void *arg, const struct runc_result *res)
{
	struct donerec	*r = arg;
	siginfo_t	 si;

	r->calls++;
	r->status = res->status;
	r->pid = res->pid;
	free(r->error);
	r->error = res->error != NULL ? strdup(res->error) : NULL;
	if (r->adopt && res->pid > 0)
		adopt(r, res->pid);
	if (!r->reap_in_done || res->pid <= 0)
		return;
	/* The sweep, now, must leave the zombie the create named. */
	proc_reap_untracked();
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)res->pid, &si, WEXITED | WNOHANG) == 0 &&
	    si.si_pid == res->pid)
		r->child_status = si.si_status;
}

/* Run the loop until r's done has been called. */
static void
run_until_done(struct donerec *r)
{
	while (r->calls == 0)
		cr_assert_neq(event_base_loop(base, EVLOOP_ONCE), -1);
	cr_assert_eq(r->calls, 1);
	cr_assert_eq(runc_inflight(), 0);
}

/* Run the loop for ms milliseconds. */
static void
run_for(int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Does the file list of argv equal want (NULL-terminated)? */
static void
assert_argv(const char *const *want)
{
	char	*got, *line, *save = NULL;
	size_t	 i = 0;

	cr_assert_not_null(got = read_file("argv"), "runc recorded no argv");
	for (line = strtok_r(got, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), i++) {
		cr_assert_not_null(want[i], "extra argument \"%s\"", line);
		cr_assert_str_eq(line, want[i], "argument %zu", i);
	}
	cr_assert_null(want[i], "missing argument \"%s\"", want[i]);
	free(got);
}

/* Kill and reap a sleeper the fake runc left behind. */
static void
kill_leftover(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TestSuite(runc, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT);
TestSuite(runc_fallback, .init = setup_fallback, .fini = teardown,
    .timeout = TEST_TIMEOUT);
TestSuite(subreaper, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT);
TestSuite(runc_real, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT);

Test(runc, create_argv_pid_and_reparenting)
{
	struct donerec	 r = { 0 };
	const int	 io[3] = { -1, -1, -1 };
	char		*pid_file, *cause = NULL, stat_path[64], *line = NULL;
	const char	*want[16];
	size_t		 cap = 0;
	FILE		*f;
	int		 ppid = 0;

	cr_assert_eq(subreaper_enable(), 0);
	setenv("FAKE_RUNC_MODE", "ok", 1);
	cr_assert_eq(runc_create("c1", bundle, io, NULL, done_cb, &r,
	    &cause), 0, "%s", cause);
	cr_assert_eq(runc_inflight(), 1);
	cr_assert_eq(r.calls, 0, "done called from runc_create itself");
	run_until_done(&r);
	cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.error);
	cr_assert_null(r.error);
	cr_assert_gt(r.pid, 0);

	/* runc is gone: the init it left is ours now (subreaper). */
	snprintf(stat_path, sizeof stat_path, "/proc/%d/status", (int)r.pid);
	cr_assert_not_null(f = fopen(stat_path, "r"));
	while (getline(&line, &cap, f) != -1)
		sscanf(line, "PPid: %d", &ppid);
	fclose(f);
	free(line);
	cr_assert_eq(ppid, getpid(), "init's parent is %d", ppid);

	asprintf(&pid_file, "%s/init.pid", bundle);
	want[0] = "--root"; want[1] = "/run/test-root";
	want[2] = "--log"; want[3] = "/proc/self/fd/3";
	want[4] = "--log-format"; want[5] = "json";
	want[6] = "create"; want[7] = "--bundle"; want[8] = bundle;
	want[9] = "--pid-file"; want[10] = pid_file; want[11] = "c1";
	want[12] = NULL;
	assert_argv(want);
	free(pid_file);
	kill_leftover(r.pid);
}

Test(runc, exec_argv_console_and_process_file)
{
	struct donerec	 r = { 0 };
	const int	 io[3] = { -1, -1, -1 };
	const char	*json = "{\"args\":[\"/bin/true\"],\"cwd\":\"/\"}";
	char		*pid_file, *process, *copy, *cause = NULL;
	const char	*want[20];

	setenv("FAKE_RUNC_MODE", "ok", 1);
	cr_assert_eq(runc_exec("c1", bundle, "e1", (const uint8_t *)json,
	    strlen(json), io, "/tmp/console.sock", done_cb, &r, &cause), 0,
	    "%s", cause);
	run_until_done(&r);
	cr_assert_eq(r.status, 0, "%s", r.error);
	cr_assert_gt(r.pid, 0);

	asprintf(&pid_file, "%s/e1.pid", bundle);
	asprintf(&process, "%s/e1.json", bundle);
	want[0] = "--root"; want[1] = "/run/test-root";
	want[2] = "--log"; want[3] = "/proc/self/fd/3";
	want[4] = "--log-format"; want[5] = "json";
	want[6] = "exec"; want[7] = "--process"; want[8] = process;
	want[9] = "--detach"; want[10] = "--pid-file"; want[11] = pid_file;
	want[12] = "--console-socket"; want[13] = "/tmp/console.sock";
	want[14] = "--tty"; want[15] = "c1"; want[16] = NULL;
	assert_argv(want);
	cr_assert_not_null(copy = read_file("process.copy"));
	cr_assert_str_eq(copy, json);
	cr_assert_eq(access(process, F_OK), -1, "process json left behind");
	free(copy);
	free(pid_file);
	free(process);
	kill_leftover(r.pid);
}

Test(runc, kill_delete_pause_resume_argv)
{
	struct donerec	 r = { 0 };
	char		*cause = NULL;
	const char	*kill_all[] = { "--root", "/run/test-root", "--log",
	    "/proc/self/fd/3", "--log-format", "json", "kill", "--all", "c1",
	    "9", NULL };
	const char	*del[] = { "--root", "/run/test-root", "--log",
	    "/proc/self/fd/3", "--log-format", "json", "delete", "--force",
	    "c1", NULL };
	const char	*pause[] = { "--log", "/proc/self/fd/3", "--log-format",
	    "json", "pause", "c1", NULL };

	setenv("FAKE_RUNC_MODE", "ok", 1);
	cr_assert_eq(runc_kill("c1", SIGKILL, true, done_cb, &r, &cause), 0);
	run_until_done(&r);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.pid, 0);
	assert_argv(kill_all);

	r.calls = 0;
	cr_assert_eq(runc_delete("c1", true, done_cb, &r, &cause), 0);
	run_until_done(&r);
	assert_argv(del);

	/* No --root unless configured. */
	runc_configure(fake, NULL);
	r.calls = 0;
	cr_assert_eq(runc_pause("c1", done_cb, &r, &cause), 0);
	run_until_done(&r);
	assert_argv(pause);
	cr_assert_eq(runc_kill("c1", 0, false, done_cb, &r, &cause), -1);
	cr_assert_str_eq(cause, "invalid signal 0");
	free(cause);
}

Test(runc, json_log_error)
{
	struct donerec	 r = { 0 };
	const int	 io[3] = { -1, -1, -1 };
	char		*cause = NULL;

	setenv("FAKE_RUNC_MODE", "fail", 1);
	cr_assert_eq(runc_create("c1", bundle, io, NULL, done_cb, &r,
	    &cause), 0);
	run_until_done(&r);
	cr_assert_eq(r.status, 3);
	cr_assert_eq(r.pid, 0);
	cr_assert_str_eq(r.error, "container not found");
	free(r.error);
}

Test(runc, stderr_error)
{
	struct donerec	 r = { 0 };
	char		*cause = NULL;

	setenv("FAKE_RUNC_MODE", "stderr", 1);
	cr_assert_eq(runc_start("c1", done_cb, &r, &cause), 0);
	run_until_done(&r);
	cr_assert_eq(r.status, 2);
	cr_assert_str_eq(r.error, "plain failure");
	free(r.error);
}

Test(runc, no_message_and_no_pid)
{
	struct donerec	 r = { 0 };
	const int	 io[3] = { -1, -1, -1 };
	char		*cause = NULL;

	setenv("FAKE_RUNC_MODE", "bogus-mode", 1);
	cr_assert_eq(runc_resume("c1", done_cb, &r, &cause), 0);
	run_until_done(&r);
	cr_assert_eq(r.status, 99);
	cr_assert_str_eq(r.error, "runc resume failed with status 99");
	free(r.error);
	r.error = NULL;

	/* Success without a pid file is a failure of create. */
	setenv("FAKE_RUNC_MODE", "nopid", 1);
	r.calls = 0;
	cr_assert_eq(runc_create("c1", bundle, io, NULL, done_cb, &r,
	    &cause), 0);
	run_until_done(&r);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.pid, 0);
	cr_assert_not_null(r.error);
	cr_assert_not_null(strstr(r.error, "left no pid"), "%s", r.error);
	free(r.error);
}

Test(runc, timeout_kills_runc)
{
	struct donerec	 r = { 0 };
	char		*cause = NULL;
	struct timespec	 t0, t1;
	long		 ms;

	setenv("FAKE_RUNC_MODE", "sleep", 1);
	runc_set_timeout(300);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(runc_start("c1", done_cb, &r, &cause), 0);
	run_until_done(&r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) /
	    1000000;
	cr_assert_eq(r.status, -1);
	cr_assert_not_null(strstr(r.error, "did not finish within 300 ms"),
	    "%s", r.error);
	cr_assert(ms >= 250 && ms < 5000, "took %ld ms", ms);
	free(r.error);
}

Test(runc, update_resources_on_stdin)
{
	struct donerec	 r = { 0 };
	const char	*json = "{\"memory\":{\"limit\":1048576}}";
	const char	*want[] = { "--root", "/run/test-root", "--log",
	    "/proc/self/fd/3", "--log-format", "json", "update", "--resources",
	    "-", "c1", NULL };
	char		*got, *cause = NULL;

	setenv("FAKE_RUNC_MODE", "stdin", 1);
	cr_assert_eq(runc_update("c1", (const uint8_t *)json, strlen(json),
	    done_cb, &r, &cause), 0, "%s", cause);
	run_until_done(&r);
	cr_assert_eq(r.status, 0, "%s", r.error);
	assert_argv(want);
	cr_assert_not_null(got = read_file("stdin"));
	cr_assert_str_eq(got, json);
	free(got);
}

Test(runc, cannot_start)
{
	struct donerec	 r = { 0 };
	const int	 io[3] = { -1, -1, -1 };
	char		*cause = NULL;

	runc_configure("/nonexistent/runc", NULL);
	cr_assert_eq(runc_start("c1", done_cb, &r, &cause), -1);
	cr_assert_not_null(strstr(cause, "/nonexistent/runc"), "%s", cause);
	free(cause);
	cause = NULL;
	cr_assert_eq(runc_inflight(), 0);

	runc_configure(fake, NULL);
	cr_assert_eq(runc_create("../c1", bundle, io, NULL, done_cb, &r,
	    &cause), -1);
	cr_assert_str_eq(cause, "invalid container id \"../c1\"");
	free(cause);
	cause = NULL;
	cr_assert_eq(runc_exec("c1", bundle, "a/b", (const uint8_t *)"{}", 2,
	    io, NULL, done_cb, &r, &cause), -1);
	cr_assert_str_eq(cause, "invalid exec id \"a/b\"");
	free(cause);
	run_for(50);
	cr_assert_eq(r.calls, 0);
}

Test(runc, stdio_reaches_runc)
{
	struct donerec	 r = { 0 };
	int		 out[2], io[3];
	char		 buf[64] = "", *cause = NULL;
	ssize_t		 n;

	/* The fake prints nothing in "stderr" mode on stdout; use stderr. */
	cr_assert_eq(pipe(out), 0);
	io[0] = -1;
	io[1] = -1;
	io[2] = out[1];
	setenv("FAKE_RUNC_MODE", "stderr", 1);
	cr_assert_eq(runc_create("c1", bundle, io, NULL, done_cb, &r,
	    &cause), 0);
	close(out[1]);
	run_until_done(&r);
	n = read(out[0], buf, sizeof buf - 1);
	close(out[0]);
	cr_assert_gt(n, 0);
	cr_assert_str_eq(buf, "plain failure\n");
	/* Given stdio, runc's stderr is the container's: the status speaks. */
	cr_assert_str_eq(r.error, "runc create failed with status 2");
	free(r.error);
}

/* Read what a pipe holds, NUL-terminated. */
static void
drain(int fd, char *buf, size_t size)
{
	ssize_t	n;

	n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
}

Test(runc, low_stdio_descriptors_swapped)
{
	struct donerec	 r = { 0 };
	int		 a[2], b[2], save1, save2;
	const int	 io[3] = { -1, 2, 1 };
	char		 buf[64], *cause = NULL;

	/* Our 1 and 2 become pipes a and b; runc gets them crossed. */
	cr_assert_eq(pipe(a), 0);
	cr_assert_eq(pipe(b), 0);
	fflush(NULL);
	save1 = dup(1);
	save2 = dup(2);
	dup2(a[1], 1);
	dup2(b[1], 2);
	setenv("FAKE_RUNC_MODE", "stdio", 1);
	cr_assert_eq(runc_create("c1", bundle, io, NULL, done_cb, &r,
	    &cause), 0);
	dup2(save1, 1);
	dup2(save2, 2);
	close(save1);
	close(save2);
	close(a[1]);
	close(b[1]);
	run_until_done(&r);
	drain(a[0], buf, sizeof buf);
	cr_assert_str_eq(buf, "err\n");
	drain(b[0], buf, sizeof buf);
	cr_assert_str_eq(buf, "out\n");
	close(a[0]);
	close(b[0]);
	free(r.error);
}

Test(runc, init_exiting_at_once_is_not_stolen)
{
	struct donerec	 r = { .reap_in_done = true, .child_status = -1 };
	const int	 io[3] = { -1, -1, -1 };
	char		*cause = NULL;

	cr_assert_eq(subreaper_enable(), 0);
	setenv("FAKE_RUNC_MODE", "quickinit", 1);
	cr_assert_eq(runc_create("c1", bundle, io, NULL, done_cb, &r,
	    &cause), 0);
	run_until_done(&r);
	cr_assert_eq(r.status, 0, "%s", r.error);
	cr_assert_gt(r.pid, 0);
	cr_assert_eq(r.child_status, 5, "the init's status was %d",
	    r.child_status);
}

Test(runc, init_exiting_at_once_adopted_in_done)
{
	struct donerec	 r = { .adopt = true };
	const int	 io[3] = { -1, -1, -1 };
	char		*cause = NULL;
	int		 i;

	cr_assert_eq(subreaper_enable(), 0);
	setenv("FAKE_RUNC_MODE", "quickinit", 1);
	cr_assert_eq(runc_create("c1", bundle, io, NULL, done_cb, &r,
	    &cause), 0);
	run_until_done(&r);
	cr_assert_eq(r.status, 0, "%s", r.error);
	/* Adopted as a zombie: the real status, through the pidfd. */
	for (i = 0; i < 100 && r.exits == 0; i++)
		run_for(20);
	cr_assert_eq(r.exits, 1);
	cr_assert_eq(r.exit_status, 5);
}

Test(runc, unclaimed_init_is_reaped_after_done)
{
	struct donerec	 r = { 0 };
	const int	 io[3] = { -1, -1, -1 };
	char		*cause = NULL;
	int		 i;

	cr_assert_eq(subreaper_enable(), 0);
	setenv("FAKE_RUNC_MODE", "quickinit", 1);
	cr_assert_eq(runc_create("c1", bundle, io, NULL, done_cb, &r,
	    &cause), 0);
	run_until_done(&r);
	cr_assert_gt(r.pid, 0);
	/* Nobody watches it: the sweep after done reaps the zombie. */
	for (i = 0; i < 100 && kill(r.pid, 0) == 0; i++)
		run_for(20);
	cr_assert_eq(kill(r.pid, 0), -1, "pid %d not reaped", (int)r.pid);
	cr_assert_eq(errno, ESRCH);
}

Test(runc, many_at_once)
{
	struct donerec	 r[8];
	char		*cause = NULL;
	int		 i, calls;

	memset(r, 0, sizeof r);
	setenv("FAKE_RUNC_MODE", "fail", 1);
	for (i = 0; i < 8; i++)
		cr_assert_eq(runc_start("c1", done_cb, &r[i], &cause), 0);
	cr_assert_eq(runc_inflight(), 8);
	do {
		event_base_loop(base, EVLOOP_ONCE);
		for (calls = 0, i = 0; i < 8; i++)
			calls += r[i].calls;
	} while (calls < 8);
	cr_assert_eq(runc_inflight(), 0);
	for (i = 0; i < 8; i++) {
		cr_assert_eq(r[i].calls, 1);
		cr_assert_eq(r[i].status, 3);
		free(r[i].error);
	}
}

Test(runc_fallback, status_survives_waitpid_sweep)
{
	struct donerec	 r = { 0 };
	char		*cause = NULL;
	int		 i;

	cr_assert_eq(proc_have_pidfd(), false);
	setenv("FAKE_RUNC_MODE", "fail", 1);
	for (i = 0; i < 3; i++) {
		r.calls = 0;
		cr_assert_eq(runc_kill("c1", SIGTERM, false, done_cb, &r,
		    &cause), 0);
		run_until_done(&r);
		cr_assert_eq(r.status, 3);
		cr_assert_str_eq(r.error, "container not found");
		free(r.error);
		r.error = NULL;
	}
}

/* Fork an orphan: a grandchild that exits with code after delay ms. */
static pid_t
make_orphan(int code, int delay_ms, bool track)
{
	pid_t	 child, orphan;
	int	 p[2], st;

	cr_assert_eq(pipe(p), 0);
	if ((child = fork()) == 0) {
		if ((orphan = fork()) == 0) {
			usleep((useconds_t)delay_ms * 1000);
			_exit(code);
		}
		write(p[1], &orphan, sizeof orphan);
		_exit(0);
	}
	cr_assert_eq(read(p[0], &orphan, sizeof orphan),
	    (ssize_t)sizeof orphan);
	close(p[0]);
	close(p[1]);
	if (track)
		subreaper_track(orphan);
	cr_assert_eq(waitpid(child, &st, 0), child);
	return (orphan);
}

Test(subreaper, orphan_is_reaped)
{
	pid_t	orphan;
	int	i;

	cr_assert_eq(subreaper_enable(), 0);
	orphan = make_orphan(0, 100, false);
	for (i = 0; i < 200 && kill(orphan, 0) == 0; i++)
		run_for(20);
	cr_assert_eq(kill(orphan, 0), -1, "orphan %d not reaped",
	    (int)orphan);
}

Test(subreaper, tracked_status_is_not_stolen)
{
	siginfo_t	si;
	pid_t		tracked, other;
	int		i;

	cr_assert_eq(subreaper_enable(), 0);
	tracked = make_orphan(7, 50, true);
	cr_assert(subreaper_tracked(tracked));
	/* Another orphan exiting later makes the sweep run again. */
	other = make_orphan(0, 200, false);
	for (i = 0; i < 200 && kill(other, 0) == 0; i++)
		run_for(20);
	run_for(100);
	memset(&si, 0, sizeof si);
	cr_assert_eq(waitid(P_PID, (id_t)tracked, &si, WEXITED | WNOHANG), 0,
	    "tracked orphan was reaped by someone else: %s", strerror(errno));
	cr_assert_eq(si.si_pid, tracked);
	cr_assert_eq(si.si_status, 7);
	subreaper_untrack(tracked);
	cr_assert(!subreaper_tracked(tracked));
}

Test(subreaper, untrack_releases_the_sweep)
{
	pid_t	tracked, other;
	int	i;

	cr_assert_eq(subreaper_enable(), 0);
	tracked = make_orphan(0, 20, true);
	run_for(100);
	other = make_orphan(0, 20, false);
	run_for(200);
	/* The untracked zombie may wait behind the tracked one; untrack. */
	subreaper_untrack(tracked);
	for (i = 0; i < 100 && (kill(tracked, 0) == 0 ||
	    kill(other, 0) == 0); i++)
		run_for(20);
	cr_assert_eq(kill(tracked, 0), -1);
	cr_assert_eq(kill(other, 0), -1);
}

/* Run a shell command; its exit status. */
static int
sh(const char *fmt, ...)
{
	char	*cmd;
	va_list	 ap;
	int	 rv;

	va_start(ap, fmt);
	cr_assert_neq(vasprintf(&cmd, fmt, ap), -1);
	va_end(ap);
	rv = system(cmd);
	free(cmd);
	return (rv);
}

/* Start runc and wait for done; the status. */
static int
real_step(int (*fn)(struct donerec *), struct donerec *r)
{
	r->calls = 0;
	free(r->error);
	r->error = NULL;
	cr_assert_eq(fn(r), 0);
	run_until_done(r);
	return (r->status);
}

static int
step_create(struct donerec *r)
{
	const int	 io[3] = { -1, -1, -1 };
	char		*cause = NULL;

	return (runc_create(cid, bundle, io, NULL, done_cb, r,
	    &cause));
}

static int
step_start(struct donerec *r)
{
	char	*cause = NULL;

	return (runc_start(cid, done_cb, r, &cause));
}

static int
step_kill(struct donerec *r)
{
	char	*cause = NULL;

	return (runc_kill(cid, SIGKILL, true, done_cb, r, &cause));
}

static int
step_delete(struct donerec *r)
{
	char	*cause = NULL;

	return (runc_delete(cid, false, done_cb, r, &cause));
}

Test(runc_real, busybox_create_start_kill_delete)
{
	struct donerec	 r = { .adopt = true };
	char		*root;
	pid_t		 init;
	int		 i;

	if (access("/usr/sbin/runc", X_OK) != 0 ||
	    access("/usr/bin/busybox", X_OK) != 0)
		cr_skip_test("needs /usr/sbin/runc and /usr/bin/busybox "
		    "(Debian runc, busybox-static)");
	cr_assert_eq(subreaper_enable(), 0);
	cr_assert_eq(sh("set -e; cd %s; mkdir -p rootfs/bin; "
	    "cp /usr/bin/busybox rootfs/bin/; ln -s busybox rootfs/bin/sh; "
	    "ln -s busybox rootfs/bin/sleep; runc spec; "
	    "sed -i 's/\"terminal\": true/\"terminal\": false/; "
	    "s/\"sh\"/\"sleep\", \"60\"/' config.json", bundle), 0);
	cr_assert_neq(asprintf(&root, "%s/runc-root", tmpdir), -1);
	runc_configure("runc", root);

	cr_assert_eq(real_step(step_create, &r), 0, "create: %s", r.error);
	init = r.pid;
	cr_assert_gt(init, 0);
	cr_assert_not_null(r.proc, "init not adopted");
	r.adopt = false;
	cr_assert_eq(real_step(step_start, &r), 0, "start: %s", r.error);
	run_for(100);
	cr_assert_eq(r.exits, 0, "the container exited: %d", r.exit_status);
	cr_assert_eq(real_step(step_kill, &r), 0, "kill: %s", r.error);
	/* The init is our child: its SIGKILL status reaches its watcher. */
	for (i = 0; i < 250 && r.exits == 0; i++)
		run_for(20);
	cr_assert_eq(r.exits, 1, "init %d did not exit", (int)init);
	cr_assert_eq(r.exit_status, 128 + SIGKILL);
	cr_assert_eq(real_step(step_delete, &r), 0, "delete: %s", r.error);
	/* Gone: runc says so, in its own words. */
	cr_assert_eq(real_step(step_delete, &r), 1);
	cr_assert_not_null(strstr(r.error, "does not exist"), "%s", r.error);
	free(r.error);
	free(root);
}

/* done for an exec: adopt the process at once, as the controller will. */
static int
step_exec(struct donerec *r)
{
	const char	*json = "{\"args\":[\"/bin/sh\",\"-c\",\"exit 3\"],"
	    "\"cwd\":\"/\",\"env\":[\"PATH=/bin\"],"
	    "\"user\":{\"uid\":0,\"gid\":0}}";
	const int	 io[3] = { -1, -1, -1 };
	char		*cause = NULL;

	return (runc_exec(cid, bundle, "exec1",
	    (const uint8_t *)json, strlen(json), io, NULL, done_cb, r,
	    &cause));
}

/* Run the loop until r's adopted process has exited. */
static void
wait_exit(struct donerec *r)
{
	int	i;

	for (i = 0; i < 250 && r->exits == 0; i++)
		run_for(20);
	cr_assert_eq(r->exits, 1, "the process did not exit");
}

Test(runc_real, mounted_rootfs_stdout_and_exec)
{
	struct donerec		 r = { .adopt = true }, e = { .adopt = true };
	const char		*opts[] = { "rbind", "ro" };
	struct rootfs_mount	 m = { "bind", NULL, NULL, opts, 2 };
	char			*root, *image, *rootfs, *cause = NULL;
	char			 buf[64] = "";
	struct pollfd		 pfd;
	int			 out[2];

	if (access("/usr/sbin/runc", X_OK) != 0 ||
	    access("/usr/bin/busybox", X_OK) != 0)
		cr_skip_test("needs /usr/sbin/runc and /usr/bin/busybox "
		    "(Debian runc, busybox-static)");
	cr_assert_eq(unshare(CLONE_NEWNS), 0);
	cr_assert_eq(mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	cr_assert_eq(subreaper_enable(), 0);
	cr_assert_neq(asprintf(&image, "%s/image", tmpdir), -1);
	cr_assert_neq(asprintf(&rootfs, "%s/rootfs", bundle), -1);
	cr_assert_eq(sh("set -e; mkdir %s; cd %s; mkdir -p bin proc dev sys; cp /usr/bin/busybox bin/; "
	    "ln -s busybox bin/sh; ln -s busybox bin/sleep; cd %s; "
	    "runc spec; sed -i 's/\"terminal\": true/\"terminal\": false/; "
	    "s/\"sh\"/\"sh\", \"-c\", \"echo hello; exec sleep 60\"/' "
	    "config.json", image, image, bundle), 0);
	m.source = image;
	cr_assert_eq(rootfs_mount(rootfs, &m, 1, &cause), 0, "%s", cause);
	cr_assert_neq(asprintf(&root, "%s/runc-root", tmpdir), -1);
	runc_configure("runc", root);

	/* create with stdout on a pipe; start; the container prints. */
	cr_assert_eq(pipe(out), 0);
	{
		const int io[3] = { -1, out[1], -1 };

		cr_assert_eq(runc_create(cid, bundle, io, NULL,
		    done_cb, &r, &cause), 0, "%s", cause);
	}
	close(out[1]);
	run_until_done(&r);
	cr_assert_eq(r.status, 0, "create: %s", r.error);
	cr_assert_not_null(r.proc);
	r.adopt = false;
	cr_assert_eq(r.exits, 0, "init exited, status %d", r.exit_status);
	cr_assert_eq(real_step(step_start, &r), 0, "start: %s", r.error);
	pfd.fd = out[0];
	pfd.events = POLLIN;
	cr_assert_eq(poll(&pfd, 1, 10000), 1, "no output");
	cr_assert_gt(read(out[0], buf, sizeof buf - 1), 0);
	cr_assert_str_eq(buf, "hello\n");
	close(out[0]);

	/* exec: its exit status reaches the watcher adopted in done. */
	cr_assert_eq(real_step(step_exec, &e), 0, "exec: %s", e.error);
	cr_assert_gt(e.pid, 0);
	wait_exit(&e);
	cr_assert_eq(e.exit_status, 3);

	cr_assert_eq(real_step(step_kill, &r), 0, "kill: %s", r.error);
	wait_exit(&r);
	cr_assert_eq(r.exit_status, 128 + SIGKILL);
	cr_assert_eq(real_step(step_delete, &r), 0, "delete: %s", r.error);
	cr_assert_eq(rootfs_unmount(rootfs, &cause), 0, "%s", cause);
	free(root);
	free(image);
	free(rootfs);
}
