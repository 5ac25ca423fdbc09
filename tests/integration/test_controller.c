/*
 * test_controller.c: the Controller and shim Sandbox services against the
 * real daemon (spec sections 5, 6 and 7): every method and state
 * transition with its error codes, exit statuses (exit code, 128 +
 * signal, Stop's SIGKILL escalation), many waiters, deadlines, pipelined
 * requests, 1000 sandboxes through their whole lifecycle without a leak,
 * the pause runtime's namespaces (and a Stop right after its Start),
 * failed Creates and Starts that leave nothing, the shim API including
 * CreateSandbox from a bundle's config.json, and the containerd-shaped
 * client calls.
 *
 * One daemon per test (the harness's itest_setup and itest_teardown).
 * Every sandbox process a test starts is passed to itest_track, so that
 * .fini SIGKILLs it before the harness kills the daemon and its orphans:
 * a failed test leaves nothing.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "itest.h"
#include "sbc.h"

#define PATH_ENV	"\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\""
/* An exec spec running /bin/sh -c CMD (CMD is JSON-escaped already). */
#define SH_SPEC(cmd) \
	"{\"process\":{\"args\":[\"/bin/sh\",\"-c\",\"" cmd "\"]," PATH_ENV "}}"
#define SLEEP_SPEC(secs) \
	"{\"process\":{\"args\":[\"sleep\",\"" secs "\"]," PATH_ENV "}}"
#define TRAP_TERM_SPEC \
	SH_SPEC("trap '' TERM; while :; do sleep 1; done")

#define BULK_N		1000	/* sandboxes of the lifecycle test */
#define BULK_WINDOW	128	/* requests in flight on its connection */
#define BULK_PAUSE_EVERY 20	/* every 20th of them is a pause sandbox */

TestSuite(controller, .init = itest_setup, .fini = itest_teardown);

/* Store.Create id, or fail. */
static void
store_mk(struct sbc *c, const char *id, const char *rt, const char *json)
{
	struct sbc_meta		m = itest_meta(id, rt, json);
	struct sbc_error	err = {0};

	itest_expect(sbc_store_create(c, &m, NULL, &err), 0, &err,
	    "store create");
}


/* Create and start an exec sandbox id running json. */
static pid_t
run_exec(struct sbc *c, const char *id, const char *json)
{
	itest_make_sandbox(c, id, RUNTIME_EXEC, json);
	return (itest_ctrl_start(c, id));
}

/* Controller.Status id into *st (free with sbc_status_free). */
static void
status_ok(struct sbc *c, const char *id, bool verbose, struct sbc_status *st)
{
	struct sbc_error	err = {0};

	itest_expect(sbc_ctrl_status(c, id, verbose, st, &err), 0, &err,
	    "ctrl status");
}

/* Assert a verbose Status's info key has the value want. */
static void
expect_info(const struct sbc_status *st, const char *key, const char *want)
{
	const char	*v = itest_info_get(st, key);

	cr_assert_not_null(v, "no \"%s\" in Status info", key);
	cr_assert_str_eq(v, want, "info %s is \"%s\", want \"%s\"", key, v,
	    want);
}

/* Assert id's Status state (and pid, unless want_pid is -1). */
static void
expect_state(struct sbc *c, const char *id, const char *state, long want_pid)
{
	struct sbc_status	st;

	status_ok(c, id, false, &st);
	cr_assert_str_eq(st.state, state, "status %s: state %s, want %s", id,
	    st.state, state);
	if (want_pid != -1)
		cr_assert_eq((long)st.pid, want_pid, "status %s: pid %u, want "
		    "%ld", id, st.pid, want_pid);
	sbc_status_free(&st);
}

/* Assert the controller does not know id. */
static void
expect_no_instance(struct sbc *c, const char *id)
{
	struct sbc_status	st;
	struct sbc_error	err = {0};

	itest_expect(sbc_ctrl_status(c, id, false, &st, &err), STATUS_NOT_FOUND,
	    &err, "status of a sandbox the controller does not know");
}

static void	pathf(char *, size_t, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4)));

/* snprintf a path, failing the test if it does not fit. */
static void
pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < size, "path too long: %s", buf);
}

/* <state-dir>/sandboxes/default/<id>. */
static void
bundle_dir(const char *id, char *buf, size_t size)
{
	pathf(buf, size, "%s/sandboxes/default/%s", itest_d.state_dir, id);
}

/* Entries of a directory but . and .. (0 if it does not exist). */
static int
dir_entries(const char *path)
{
	struct dirent	*de;
	DIR		*dir;
	int		 n = 0;

	if ((dir = opendir(path)) == NULL)
		return (0);
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(dir);
	return (n);
}

/* Mounts in /proc/self/mountinfo under <run-dir>/netns/. */
static int
netns_mounts(void)
{
	char	 prefix[PATH_MAX + 16], line[4096];
	FILE	*f;
	int	 n = 0;

	pathf(prefix, sizeof prefix, " %s/netns/", itest_d.run_dir);
	cr_assert_not_null(f = fopen("/proc/self/mountinfo", "r"));
	while (fgets(line, sizeof line, f) != NULL) {
		if (strstr(line, prefix) != NULL)
			n++;
	}
	fclose(f);
	return (n);
}

/* The NSpid line of /proc/<pid>/status: its last field and field count. */
static void
nspid(pid_t pid, long *last, int *count)
{
	char	 path[64], line[256], *tok, *save;
	FILE	*f;

	*last = -1;
	*count = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	cr_assert_not_null(f = fopen(path, "r"), "%s: %s", path,
	    strerror(errno));
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		for (tok = strtok_r(line + 6, " \t\n", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t\n", &save)) {
			*last = atol(tok);
			(*count)++;
		}
	}
	fclose(f);
}

/* Inode of a file (following links), or 0. */
static ino_t
inode_of(const char *path)
{
	struct stat	sb;

	return (stat(path, &sb) == 0 ? sb.st_ino : 0);
}

/* ---- Create --------------------------------------------------------- */

Test(controller, create_from_store_record, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_status	 st;

	itest_make_sandbox(c, "from-store", RUNTIME_EXEC, SLEEP_SPEC("1000"));
	status_ok(c, "from-store", true, &st);
	cr_assert_str_eq(st.state, "SANDBOX_NOTREADY");
	cr_assert_eq(st.pid, 0, "a created sandbox has no pid yet");
	cr_assert_neq(st.created_at.tv_sec, 0, "no created_at");
	/* The store record's runtime is used. */
	expect_info(&st, "runtime", RUNTIME_EXEC);
	sbc_status_free(&st);
	sbc_close(c);
}

Test(controller, create_from_request_sandbox, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_meta		 m = itest_meta("from-req", RUNTIME_EXEC,
				    SLEEP_SPEC("1000"));
	struct sbc_create_opts	 o = {0};
	struct sbc_meta		 got;
	struct sbc_error	 err = {0};
	pid_t			 pid;

	o.sandbox = &m;
	itest_expect(sbc_ctrl_create(c, "from-req", &o, &err), 0, &err,
	    "create with the sandbox in the request");
	itest_expect(sbc_store_get(c, "from-req", &got, &err), STATUS_NOT_FOUND,
	    &err, "the store is not written by Controller.Create");
	pid = itest_ctrl_start(c, "from-req");
	expect_state(c, "from-req", "SANDBOX_READY", pid);
	itest_expect(sbc_ctrl_shutdown(c, "from-req", &err), 0, &err,
	    "shutdown");
	cr_assert(itest_wait_dead(pid, 5000), "pid %d survived Shutdown",
	    (int)pid);
	expect_no_instance(c, "from-req");
	/* Unknown to the controller and to the store now. */
	itest_expect(sbc_ctrl_shutdown(c, "from-req", &err), STATUS_NOT_FOUND,
	    &err, "second shutdown of an id unknown to the store");
	sbc_close(c);
}

Test(controller, create_twice_already_exists, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_meta		 m = itest_meta("twice", RUNTIME_EXEC,
				    SLEEP_SPEC("1000"));
	struct sbc_create_opts	 o = {0};
	struct sbc_error	 err = {0};

	itest_make_sandbox(c, "twice", RUNTIME_EXEC, SLEEP_SPEC("1000"));
	itest_expect(sbc_ctrl_create(c, "twice", NULL, &err),
	    STATUS_ALREADY_EXISTS, &err, "second create from the store");
	o.sandbox = &m;
	itest_expect(sbc_ctrl_create(c, "twice", &o, &err),
	    STATUS_ALREADY_EXISTS, &err, "second create from the request");
	expect_state(c, "twice", "SANDBOX_NOTREADY", 0);
	sbc_close(c);
}

Test(controller, create_unknown_id_not_found, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_error	 err = {0};

	itest_expect(sbc_ctrl_create(c, "nowhere", NULL, &err),
	    STATUS_NOT_FOUND, &err, "create of an id in neither the request "
	    "nor the store");
	expect_no_instance(c, "nowhere");
	sbc_close(c);
}

Test(controller, create_unknown_runtime_invalid, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_meta		 m = itest_meta("badrt",
				    "io.example.nope.v1", NULL);
	struct sbc_create_opts	 o = {0};
	struct sbc_error	 err = {0};
	int			 code;

	o.sandbox = &m;
	code = sbc_ctrl_create(c, "badrt", &o, &err);
	cr_assert_eq(code, STATUS_INVALID_ARGUMENT, "got %d (%s)", code,
	    err.message);
	cr_assert(strstr(err.message, RUNTIME_PAUSE) != NULL &&
	    strstr(err.message, RUNTIME_EXEC) != NULL,
	    "the message does not list the known runtimes: %s", err.message);
	sbc_error_clear(&err);
	expect_no_instance(c, "badrt");

	/* The same from a store record. */
	store_mk(c, "badrt2", "io.example.nope.v1", NULL);
	code = sbc_ctrl_create(c, "badrt2", NULL, &err);
	cr_assert_eq(code, STATUS_INVALID_ARGUMENT, "got %d (%s)", code,
	    err.message);
	cr_assert(strstr(err.message, RUNTIME_EXEC) != NULL, "%s",
	    err.message);
	sbc_error_clear(&err);
	expect_no_instance(c, "badrt2");
	sbc_close(c);
}

/* ---- Start, Stop, Wait, Shutdown ------------------------------------ */

Test(controller, start_ready_then_start_again_fails, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_start_info	 si;
	struct sbc_error	 err = {0};
	pid_t			 pid;

	itest_make_sandbox(c, "st", RUNTIME_EXEC, SLEEP_SPEC("1000"));
	pid = itest_ctrl_start(c, "st");
	cr_assert(itest_pid_alive(pid));
	expect_state(c, "st", "SANDBOX_READY", pid);
	itest_expect(sbc_ctrl_start(c, "st", &si, &err),
	    STATUS_FAILED_PRECONDITION, &err, "start of a running sandbox");
	expect_state(c, "st", "SANDBOX_READY", pid);
	sbc_close(c);
}

Test(controller, stop_created_ok_at_once, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_error	 err = {0};
	int64_t			 t0;

	itest_make_sandbox(c, "stopc", RUNTIME_EXEC, SLEEP_SPEC("1000"));
	t0 = itest_now_ms();
	itest_expect(sbc_ctrl_stop(c, "stopc", 10, &err), 0, &err,
	    "stop of a created sandbox");
	cr_assert_lt(itest_now_ms() - t0, 1000, "Stop of a created sandbox "
	    "took %lld ms", (long long)(itest_now_ms() - t0));
	expect_state(c, "stopc", "SANDBOX_NOTREADY", 0);
	sbc_close(c);
}

Test(controller, exit_code_and_wait_after_exit, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_status	 st;
	struct sbc_error	 err = {0};
	struct sbc_start_info	 si;
	struct timespec		 at1, at2;
	int64_t			 t0;

	run_exec(c, "ex3", SH_SPEC("exit 3"));
	cr_assert_eq(itest_ctrl_wait(c, "ex3", &at1), 3);
	/* Exited: Wait answers at once with the same status and time. */
	t0 = itest_now_ms();
	cr_assert_eq(itest_ctrl_wait(c, "ex3", &at2), 3);
	cr_assert_lt(itest_now_ms() - t0, 1000, "Wait after exit was slow");
	cr_assert(at1.tv_sec == at2.tv_sec && at1.tv_nsec == at2.tv_nsec,
	    "exited_at changed between Waits");
	status_ok(c, "ex3", true, &st);
	cr_assert_str_eq(st.state, "SANDBOX_NOTREADY");
	cr_assert(st.exited_at.tv_sec == at1.tv_sec &&
	    st.exited_at.tv_nsec == at1.tv_nsec, "Status exited_at differs "
	    "from Wait's");
	sbc_status_free(&st);
	/* Stopped: Stop succeeds at once, Start is refused. */
	itest_expect(sbc_ctrl_stop(c, "ex3", 10, &err), 0, &err,
	    "stop of an exited sandbox");
	itest_expect(sbc_ctrl_start(c, "ex3", &si, &err),
	    STATUS_FAILED_PRECONDITION, &err, "start of an exited sandbox");
	sbc_close(c);
}

Test(controller, sigkill_from_outside_137, .timeout = 30)
{
	struct sbc	*c = itest_connect(&itest_d, NULL);
	pid_t		 pid;

	pid = run_exec(c, "k9", SLEEP_SPEC("1000"));
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(itest_ctrl_wait(c, "k9", NULL), 137);
	expect_state(c, "k9", "SANDBOX_NOTREADY", -1);
	sbc_close(c);
}

Test(controller, stop_escalates_to_sigkill, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_error	 err = {0};
	int64_t			 t0, ms;
	pid_t			 pid;

	pid = run_exec(c, "trap", TRAP_TERM_SPEC);
	usleep(200000);		/* let the shell install its trap */
	t0 = itest_now_ms();
	itest_expect(sbc_ctrl_stop(c, "trap", 1, &err), 0, &err,
	    "stop, timeout 1");
	ms = itest_now_ms() - t0;
	cr_assert(ms >= 900 && ms < 4000, "Stop with timeout 1 against a "
	    "process ignoring SIGTERM took %lld ms, want ~1000", (long long)ms);
	cr_assert_eq(itest_ctrl_wait(c, "trap", NULL), 137);
	cr_assert(itest_wait_dead(pid, 2000));
	sbc_close(c);
}

Test(controller, stop_timeout_zero_kills_at_once, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_error	 err = {0};
	int64_t			 t0;

	run_exec(c, "t0", TRAP_TERM_SPEC);
	t0 = itest_now_ms();
	itest_expect(sbc_ctrl_stop(c, "t0", 0, &err), 0, &err,
	    "stop, timeout 0");
	cr_assert_lt(itest_now_ms() - t0, 900, "Stop with timeout 0 waited");
	cr_assert_eq(itest_ctrl_wait(c, "t0", NULL), 137);
	sbc_close(c);
}

Test(controller, stop_sigterm_143, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_error	 err = {0};
	int64_t			 t0;

	run_exec(c, "term", SLEEP_SPEC("100"));
	t0 = itest_now_ms();
	itest_expect(sbc_ctrl_stop(c, "term", 10, &err), 0, &err,
	    "stop, timeout 10");
	cr_assert_lt(itest_now_ms() - t0, 3000, "Stop of a process that "
	    "exits on SIGTERM took %lld ms", (long long)(itest_now_ms() - t0));
	cr_assert_eq(itest_ctrl_wait(c, "term", NULL), 143);
	sbc_close(c);
}

Test(controller, shutdown_twice_and_unknown, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_error	 err = {0};
	struct sbc_meta		 got;
	pid_t			 pid;

	pid = run_exec(c, "sd", SLEEP_SPEC("1000"));
	itest_expect(sbc_ctrl_shutdown(c, "sd", &err), 0, &err, "shutdown");
	cr_assert(itest_wait_dead(pid, 5000), "pid %d survived Shutdown",
	    (int)pid);
	expect_no_instance(c, "sd");
	itest_expect(sbc_ctrl_shutdown(c, "sd", &err), 0, &err,
	    "second shutdown (store record still there)");
	itest_expect(sbc_store_get(c, "sd", &got, &err), 0, &err,
	    "the store record survives Shutdown");
	cr_assert_str_eq(got.id, "sd");
	sbc_meta_free(&got);
	itest_expect(sbc_ctrl_shutdown(c, "nosuch", &err), STATUS_NOT_FOUND,
	    &err, "shutdown of an id unknown to both");
	/* A created sandbox whose store record is gone is still known. */
	itest_make_sandbox(c, "sd2", RUNTIME_EXEC, SLEEP_SPEC("1000"));
	itest_expect(sbc_store_delete(c, "sd2", &err), 0, &err,
	    "delete the metadata of a created (not running) sandbox");
	itest_expect(sbc_ctrl_shutdown(c, "sd2", &err), 0, &err,
	    "shutdown of an instance without store record");
	itest_expect(sbc_ctrl_shutdown(c, "sd2", &err), STATUS_NOT_FOUND, &err,
	    "then it is unknown to both");
	sbc_close(c);
}

Test(controller, shutdown_cancels_waiter_of_created, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc		*w = itest_connect(&itest_d, NULL);
	struct sbc_error	 err = {0};
	uint32_t		 sid, st;

	itest_make_sandbox(c, "cw", RUNTIME_EXEC, SLEEP_SPEC("1000"));
	sid = itest_send_wait(w, "cw");
	expect_state(w, "cw", "SANDBOX_NOTREADY", 0);	/* Wait is parked */
	itest_expect(sbc_ctrl_shutdown(c, "cw", &err), 0, &err, "shutdown");
	itest_expect(itest_recv_wait(w, sid, &st, NULL, &err),
	    STATUS_CANCELED, &err,
	    "Wait on a sandbox shut down before it ran (wire.md: Canceled)");
	sbc_close(w);
	sbc_close(c);
}

Test(controller, unknown_ids_not_found, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_start_info	 si;
	struct sbc_status	 st;
	struct sbc_metrics	 mt;
	struct sbc_platform	 pl;
	struct sbc_meta		 m = itest_meta("ghost", NULL, NULL);
	struct sbc_label	 l = { "a", "b" };
	const char		*fields[] = { "labels" };
	struct sbc_error	 err = {0};
	uint32_t		 code;
	struct timespec		 at;

	/* In the store but never created in the controller: still unknown. */
	store_mk(c, "ghost", RUNTIME_EXEC, SLEEP_SPEC("1000"));
	itest_expect(sbc_ctrl_start(c, "ghost", &si, &err), STATUS_NOT_FOUND,
	    &err, "start");
	itest_expect(sbc_ctrl_stop(c, "ghost", 1, &err), STATUS_NOT_FOUND, &err,
	    "stop");
	itest_expect(sbc_ctrl_wait(c, "ghost", &code, &at, &err),
	    STATUS_NOT_FOUND, &err, "wait");
	itest_expect(sbc_ctrl_status(c, "ghost", true, &st, &err),
	    STATUS_NOT_FOUND, &err, "status");
	itest_expect(sbc_ctrl_metrics(c, "ghost", &mt, &err), STATUS_NOT_FOUND,
	    &err, "metrics");
	itest_expect(sbc_ctrl_platform(c, "ghost", &pl, &err), STATUS_NOT_FOUND,
	    &err, "platform");
	m.labels = &l;
	m.nlabels = 1;
	itest_expect(sbc_ctrl_update(c, &m, fields, 1, &err), STATUS_NOT_FOUND,
	    &err, "update");
	/* And an id nobody knows, through the shim API too. */
	itest_expect(sbc_ctrl_status(c, "nobody", false, &st, &err),
	    STATUS_NOT_FOUND, &err, "status of nobody");
	itest_expect(sbc_shim_start(c, "nobody", &si, &err), STATUS_NOT_FOUND,
	    &err, "shim start");
	itest_expect(sbc_shim_stop(c, "nobody", 1, &err), STATUS_NOT_FOUND,
	    &err, "shim stop");
	itest_expect(sbc_shim_wait(c, "nobody", &code, &at, &err),
	    STATUS_NOT_FOUND, &err, "shim wait");
	itest_expect(sbc_shim_status(c, "nobody", false, &st, &err),
	    STATUS_NOT_FOUND, &err, "shim status");
	itest_expect(sbc_shim_ping(c, "nobody", &err), STATUS_NOT_FOUND, &err,
	    "shim ping");
	itest_expect(sbc_shim_metrics(c, "nobody", &mt, &err), STATUS_NOT_FOUND,
	    &err, "shim metrics");
	itest_expect(sbc_shim_platform(c, "nobody", &pl, &err),
	    STATUS_NOT_FOUND, &err, "shim platform");
	itest_expect(sbc_shim_shutdown(c, "nobody", &err), STATUS_NOT_FOUND,
	    &err, "shim shutdown");
	sbc_close(c);
}

/* ---- Status, Platform, Metrics, Update ------------------------------ */

Test(controller, status_verbose_info, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_status	 st;
	char			 path[PATH_MAX];
	pid_t			 pid;

	pid = run_exec(c, "verb", SLEEP_SPEC("1000"));
	status_ok(c, "verb", true, &st);
	cr_assert_str_eq(st.state, "SANDBOX_READY");
	cr_assert_eq(st.pid, (uint32_t)pid);
	expect_info(&st, "runtime", RUNTIME_EXEC);
	/* An exec sandbox without a network entry has no netns. */
	expect_info(&st, "netns_path", "");
	sbc_status_free(&st);
	status_ok(c, "verb", false, &st);
	cr_assert_eq(st.ninfo, 0, "info without verbose");
	sbc_status_free(&st);

	if (geteuid() != 0)
		return;		/* the pause part needs namespaces */
	itest_make_sandbox(c, "verbp", RUNTIME_PAUSE, NULL);
	status_ok(c, "verbp", true, &st);
	itest_netns_file(&itest_d, "verbp", path, sizeof path);
	expect_info(&st, "runtime", RUNTIME_PAUSE);
	expect_info(&st, "netns_path", path);
	sbc_status_free(&st);
	sbc_close(c);
}

Test(controller, platform_linux, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_platform	 pl;
	struct sbc_error	 err = {0};
	struct utsname		 u;

	itest_make_sandbox(c, "plat", RUNTIME_EXEC, SLEEP_SPEC("1000"));
	itest_expect(sbc_ctrl_platform(c, "plat", &pl, &err), 0, &err,
	    "platform");
	cr_assert_str_eq(pl.os, "linux");
	cr_assert_eq(uname(&u), 0);
	if (strcmp(u.machine, "x86_64") == 0)
		cr_assert_str_eq(pl.architecture, "amd64");
	else if (strcmp(u.machine, "aarch64") == 0)
		cr_assert_str_eq(pl.architecture, "arm64");
	else
		cr_assert_neq(pl.architecture[0], '\0');
	sbc_close(c);
}

Test(controller, metrics, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_metrics	 mt;
	struct sbc_error	 err = {0};
	int64_t			 deadline;
	uint32_t		 pids = 0;

	run_exec(c, "met", SLEEP_SPEC("1000"));
	itest_expect(sbc_ctrl_metrics(c, "met", &mt, &err), 0, &err, "metrics");
	cr_assert_str_eq(mt.id, "met");
	cr_assert_neq(mt.timestamp.tv_sec, 0, "no timestamp");
	cr_assert_not_null(mt.data.type_url, "no data");
	cr_assert_str_eq(mt.data.type_url, METRICS_TYPE_URL);
	cr_assert(mt.has_stats, "data does not decode as sandboxd.v1.Metrics");
	cr_assert_geq(mt.pids, 1);
	cr_assert_gt(mt.rss_bytes, 0, "no RSS");
	sbc_metrics_free(&mt);

	/* The sandbox's processes are counted, not just its init. */
	run_exec(c, "met3", SH_SPEC("sleep 1000 & sleep 1000 & wait"));
	deadline = itest_now_ms() + 3000;
	while (pids < 3 && itest_now_ms() < deadline) {
		itest_expect(sbc_ctrl_metrics(c, "met3", &mt, &err), 0, &err,
		    "metrics");
		pids = mt.pids;
		sbc_metrics_free(&mt);
		if (pids < 3)
			usleep(50000);
	}
	cr_assert_geq(pids, 3, "a shell with two children counts %u "
	    "processes", pids);
	sbc_close(c);
}

Test(controller, update_controller_copy_labels, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_meta		 m = itest_meta("upd", NULL, NULL), got;
	struct sbc_label	 l = { "team", "blue" };
	const char		*fields[] = { "labels" };
	const char		*bad[] = { "id" };
	struct sbc_start_info	 si;
	struct sbc_error	 err = {0};
	size_t			 i;
	bool			 found = false;

	itest_make_sandbox(c, "upd", RUNTIME_EXEC, SLEEP_SPEC("1000"));
	m.labels = &l;
	m.nlabels = 1;
	itest_expect(sbc_ctrl_update(c, &m, fields, 1, &err), 0, &err,
	    "update labels");
	itest_expect(sbc_ctrl_update(c, &m, bad, 1, &err),
	    STATUS_INVALID_ARGUMENT, &err, "update of field path id");
	/* Start answers with the controller's copy of the labels. */
	itest_expect(sbc_ctrl_start(c, "upd", &si, &err), 0, &err, "start");
	itest_track((pid_t)si.pid);
	for (i = 0; i < si.nlabels; i++) {
		if (strcmp(si.labels[i].key, "team") == 0 &&
		    strcmp(si.labels[i].value, "blue") == 0)
			found = true;
	}
	sbc_start_info_free(&si);
	cr_assert(found, "Start does not report the label set by Update");
	/* The store's record is the client's business: unchanged. */
	itest_expect(sbc_store_get(c, "upd", &got, &err), 0, &err, "store get");
	cr_assert_null(sbc_meta_label(&got, "team"),
	    "Controller.Update changed the store record");
	sbc_meta_free(&got);
	sbc_close(c);
}

Test(controller, containerd_style_client, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_sandbox_opts	 o = {0};
	struct sbc_sandbox	*sb, *loaded;
	struct sbc_status	 st;
	struct sbc_meta		 got;
	struct sbc_error	 err = {0};
	struct timespec		 at;
	uint32_t		 pid, code = 9999;

	o.runtime = RUNTIME_EXEC;
	o.spec = itest_spec(SH_SPEC("sleep 0.2; exit 7"));
	itest_expect(sbc_sandbox_new(c, "ctrd", &o, &sb, &err), 0, &err,
	    "NewSandbox");
	itest_expect(sbc_sandbox_start(sb, &pid, &err), 0, &err, "Start");
	cr_assert_gt(pid, 0);
	itest_track((pid_t)pid);
	itest_expect(sbc_sandbox_load(c, "ctrd", &loaded, &err), 0, &err,
	    "LoadSandbox");
	itest_expect(sbc_sandbox_status(loaded, false, &st, &err), 0, &err,
	    "Status");
	cr_assert_eq(st.pid, pid);
	sbc_status_free(&st);
	itest_expect(sbc_sandbox_wait(loaded, &code, &at, &err), 0, &err,
	    "Wait");
	cr_assert_eq(code, 7);
	itest_expect(sbc_sandbox_shutdown(sb, &err), 0, &err,
	    "Shutdown (controller and store)");
	expect_no_instance(c, "ctrd");
	itest_expect(sbc_store_get(c, "ctrd", &got, &err), STATUS_NOT_FOUND,
	    &err, "the store record after the client's Shutdown");
	sbc_sandbox_free(loaded);
	sbc_sandbox_free(sb);
	sbc_close(c);
}

/* ---- many waiters, deadlines, pipelining ---------------------------- */

#define NWAITERS	10

Test(controller, ten_waiters_one_leaves, .timeout = 60)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc		*w[NWAITERS];
	struct sbc_error	 err = {0};
	struct timespec		 at;
	uint32_t		 sid[NWAITERS], st;
	pid_t			 pid;
	int			 i;

	pid = run_exec(c, "many", SLEEP_SPEC("1000"));
	for (i = 0; i < NWAITERS; i++) {
		w[i] = itest_connect(&itest_d, NULL);
		sid[i] = itest_send_wait(w[i], "many");
		/* Answered after the Wait was read: the Wait is parked. */
		expect_state(w[i], "many", "SANDBOX_READY", pid);
	}
	sbc_close(w[3]);
	w[3] = NULL;
	usleep(100000);		/* let the daemon see the close */
	cr_assert_eq(kill(pid, SIGKILL), 0);
	for (i = 0; i < NWAITERS; i++) {
		if (w[i] == NULL)
			continue;
		st = 9999;
		itest_expect(itest_recv_wait(w[i], sid[i], &st, &at, &err), 0,
		    &err, "waiter's reply");
		cr_assert_eq(st, 137, "waiter %d: status %u", i, st);
		cr_assert_neq(at.tv_sec, 0, "waiter %d: no exited_at", i);
		sbc_close(w[i]);
	}
	/* The daemon keeps working. */
	cr_assert(itest_daemon_running(&itest_d), "the daemon died");
	cr_assert_eq(itest_ctrl_wait(c, "many", NULL), 137);
	run_exec(c, "after", SH_SPEC("exit 0"));
	cr_assert_eq(itest_ctrl_wait(c, "after", NULL), 0);
	sbc_close(c);
}

Test(controller, wait_deadline_exceeded, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc		*w = itest_connect(&itest_d, NULL);
	struct sbc_error	 err = {0};
	uint32_t		 sid, st;
	struct timespec		 at;
	int64_t			 t0, ms;
	pid_t			 pid;

	pid = run_exec(c, "dl", SLEEP_SPEC("1000"));

	/* Client and daemon deadline together (sbc_ctrl_wait). */
	sbc_set_timeout(w, 300);
	itest_expect(sbc_ctrl_wait(w, "dl", &st, &at, &err),
	    STATUS_DEADLINE_EXCEEDED, &err, "wait with a 300 ms timeout");

	/*
	 * The daemon's own answer: timeout_nano 500 ms on the request, and
	 * a client that waits far longer for the reply.
	 */
	sbc_set_timeout(w, 500);
	t0 = itest_now_ms();
	sid = itest_send_wait(w, "dl");
	sbc_set_timeout(w, 10000);
	itest_expect(itest_recv_wait(w, sid, &st, NULL, &err),
	    STATUS_DEADLINE_EXCEEDED, &err,
	    "the daemon's answer to a Wait past its timeout_nano");
	ms = itest_now_ms() - t0;
	cr_assert(ms >= 400 && ms < 5000, "DeadlineExceeded after %lld ms, "
	    "want ~500", (long long)ms);
	/* The connection and the sandbox are fine; the waiter was dropped. */
	cr_assert(!sbc_broken(w));
	expect_state(w, "dl", "SANDBOX_READY", pid);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(itest_ctrl_wait(w, "dl", NULL), 137);
	cr_assert(itest_daemon_running(&itest_d));
	sbc_close(w);
	sbc_close(c);
}

Test(controller, get_answered_while_wait_pending, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	cssv_StoreGetRequest	 greq = {0};
	cssv_StoreGetResponse	*gresp;
	struct sbc_reply	 reply;
	struct sbc_error	 err = {0};
	uint32_t		 wsid, gsid, st = 9999;
	pid_t			 pid;

	pid = run_exec(c, "pipe", SLEEP_SPEC("1000"));
	snprintf(greq.sandbox_id, sizeof greq.sandbox_id, "pipe");
	wsid = itest_send_wait(c, "pipe");
	itest_expect(sbc_send(c, SERVICE_STORE, "Get",
	    cssv_StoreGetRequest_fields, &greq, &gsid, &err), 0, &err,
	    "send get");
	cr_assert_lt(wsid, gsid);
	cr_assert_not_null(gresp = calloc(1, sizeof *gresp));
	sbc_set_timeout(c, 5000);
	itest_expect(sbc_recv(c, gsid, cssv_StoreGetResponse_fields, gresp,
	    &reply, &err), 0, &err, "the Get behind a pending Wait");
	cr_assert(gresp->has_sandbox);
	cr_assert_str_eq(gresp->sandbox.sandbox_id, "pipe");
	sbc_reply_free(&reply);
	free(gresp);
	/* The Wait is still pending: the process runs. */
	cr_assert(itest_pid_alive(pid));
	cr_assert_eq(kill(pid, SIGKILL), 0);
	itest_expect(itest_recv_wait(c, wsid, &st, NULL, &err), 0, &err,
	    "the Wait, after the kill");
	cr_assert_eq(st, 137);
	sbc_close(c);
}

/* ---- 1000 sandboxes ------------------------------------------------- */

/* One pipelined phase: a method sent BULK_N times, BULK_WINDOW at once. */
struct phase {
	const char		*method;
	void			(*fill)(void *, size_t);	/* or NULL */
	void			(*check)(const void *, size_t);	/* or NULL */
	const pb_msgdesc_t	*req_fields;
	size_t			 req_size;
	size_t			 id_off;	/* the request's sandbox_id */
	size_t			 id_size;
	const pb_msgdesc_t	*resp_fields;
	size_t			 resp_size;
};

/*
 * The phase of Controller method m, whose messages are
 * cssv_Controller<m>Request and cssv_Controller<m>Response: run_phase
 * writes the sandbox's id into the request's sandbox_id, fill (if any)
 * the rest, and check (if any) looks at each response.
 */
#define PHASE(m, fill, check) {						\
	#m, fill, check,						\
	cssv_Controller##m##Request_fields,				\
	sizeof(cssv_Controller##m##Request),				\
	offsetof(cssv_Controller##m##Request, sandbox_id),		\
	sizeof(((cssv_Controller##m##Request *)NULL)->sandbox_id),	\
	cssv_Controller##m##Response_fields,				\
	sizeof(cssv_Controller##m##Response)				\
}

static char	bulk_ids[BULK_N][16];
static pid_t	bulk_pids[BULK_N];
/* The exec sandboxes of the bulk test sleep in a netns of their own. */
static const char bulk_exec_spec[] = "{\"process\":{\"args\":[\"sleep\","
    "\"1000\"]," PATH_ENV "},\"linux\":{\"namespaces\":[{\"type\":"
    "\"network\"}]}}";

/* Whether bulk sandbox i is a pause one (else exec). */
static bool
bulk_is_pause(size_t i)
{
	return (i % BULK_PAUSE_EVERY == 0);
}

/* Create: the sandbox in the request (exec, or every 20th pause). */
static void
fill_create(void *p, size_t i)
{
	cssv_ControllerCreateRequest	*r = p;

	r->has_sandbox = true;
	snprintf(r->sandbox.sandbox_id, sizeof r->sandbox.sandbox_id, "%s",
	    bulk_ids[i]);
	r->sandbox.has_runtime = true;
	snprintf(r->sandbox.runtime.name, sizeof r->sandbox.runtime.name,
	    "%s", bulk_is_pause(i) ? RUNTIME_PAUSE : RUNTIME_EXEC);
	if (bulk_is_pause(i))
		return;		/* no spec: no hostname */
	r->sandbox.has_spec = true;
	r->sandbox.spec.type_url = (char *)OCI_SPEC_TYPE_URL;
	r->sandbox.spec.value.data = (const pb_byte_t *)bulk_exec_spec;
	r->sandbox.spec.value.len = strlen(bulk_exec_spec);
}

/* Start: a pid, kept to check that it is gone at the end. */
static void
check_start(const void *p, size_t i)
{
	const cssv_ControllerStartResponse	*r = p;

	cr_assert_gt(r->pid, 0, "start %s: no pid", bulk_ids[i]);
	bulk_pids[i] = (pid_t)r->pid;
}

/* Stop: SIGTERM, SIGKILL after 10 s. */
static void
fill_stop(void *p, size_t i)
{
	cssv_ControllerStopRequest	*r = p;

	(void)i;
	r->timeout_secs = 10;
}

/* Wait: the status SIGTERM gives each runtime. */
static void
check_wait(const void *p, size_t i)
{
	const cssv_ControllerWaitResponse	*r = p;
	uint32_t				 want;

	/* pause exits 0 on SIGTERM, sleep dies of it. */
	want = bulk_is_pause(i) ? 0 : 128 + SIGTERM;
	cr_assert_eq(r->exit_status, want, "%s: exited %u after Stop, want "
	    "%u", bulk_ids[i], r->exit_status, want);
}

/* Run one phase on c; its duration in ms. */
static int64_t
run_phase(struct sbc *c, const struct phase *ph)
{
	struct sbc_reply	 reply;
	struct sbc_error	 err = {0};
	uint32_t		*sid;
	void			*req, *resp;
	size_t			 sent = 0, got = 0;
	int64_t			 t0 = itest_now_ms();
	int			 code;

	cr_assert_not_null(sid = calloc(BULK_N, sizeof *sid));
	cr_assert_not_null(req = malloc(ph->req_size));
	cr_assert_not_null(resp = malloc(ph->resp_size));
	while (got < BULK_N) {
		while (sent < BULK_N && sent - got < BULK_WINDOW) {
			memset(req, 0, ph->req_size);
			snprintf((char *)req + ph->id_off, ph->id_size, "%s",
			    bulk_ids[sent]);
			if (ph->fill != NULL)
				ph->fill(req, sent);
			code = sbc_send(c, SERVICE_CONTROLLER, ph->method,
			    ph->req_fields, req, &sid[sent], &err);
			cr_assert_eq(code, 0, "send %s %s: %s", ph->method,
			    bulk_ids[sent], err.message);
			sent++;
		}
		memset(resp, 0, ph->resp_size);
		code = sbc_recv(c, sid[got], ph->resp_fields, resp, &reply,
		    &err);
		cr_assert_eq(code, 0, "%s %s: %d %s", ph->method, bulk_ids[got],
		    code, err.message);
		if (ph->check != NULL)
			ph->check(resp, got);
		sbc_reply_free(&reply);
		got++;
	}
	free(resp);
	free(req);
	free(sid);
	return (itest_now_ms() - t0);
}

Test(controller, thousand_sandboxes_leave_nothing, .timeout = 180)
{
	static const struct phase phases[] = {
		PHASE(Create, fill_create, NULL),
		PHASE(Start, NULL, check_start),
		PHASE(Stop, fill_stop, NULL),
		PHASE(Wait, NULL, check_wait),
		PHASE(Shutdown, NULL, NULL),
	};
	struct sbc	*c;
	char		 dir[PATH_MAX], ms_text[256];
	int64_t		 ms[sizeof phases / sizeof phases[0]], total = 0;
	size_t		 i, j, off = 0;
	int		 alive = 0, running_during;

	ITEST_NEEDS_ROOT("network, PID, UTS and IPC namespaces");
	c = itest_connect(&itest_d, NULL);
	for (i = 0; i < BULK_N; i++)
		snprintf(bulk_ids[i], sizeof bulk_ids[i], "bulk-%04zu", i);
	for (i = 0; i < sizeof phases / sizeof phases[0]; i++) {
		ms[i] = run_phase(c, &phases[i]);
		total += ms[i];
		off += (size_t)snprintf(ms_text + off, sizeof ms_text - off,
		    "%s%s %lld ms", i > 0 ? ", " : "", phases[i].method,
		    (long long)ms[i]);
		if (i == 1) {
			/* All run at once, each in a netns file of its own. */
			running_during = itest_count_children(itest_d.pid,
			    false);
			pathf(dir, sizeof dir, "%s/netns", itest_d.run_dir);
			cr_assert_geq(running_during, BULK_N, "only %d "
			    "children of the daemon run", running_during);
			cr_assert_eq(dir_entries(dir), BULK_N);
			cr_assert_eq(netns_mounts(), BULK_N);
			for (j = 0; j < BULK_N; j += BULK_PAUSE_EVERY)
				itest_wait_pause_ready(bulk_pids[j]);
		}
	}
	/* Information, not a verdict: the machine may be busy. */
	cr_log_info("lifecycle of %d sandboxes (%d exec in a netns, %d pause; "
	    "create, start, stop, wait, shutdown, pipelined %d deep) in %.2f "
	    "s: %.0f sandboxes/s (%s)", BULK_N, BULK_N - BULK_N /
	    BULK_PAUSE_EVERY, BULK_N / BULK_PAUSE_EVERY, BULK_WINDOW,
	    (double)total / 1000, BULK_N * 1000.0 / (double)(total > 0 ?
	    total : 1), ms_text);
	/* Said as info: Criterion exits 1 after any warning. */
	if (total > 60000)
		cr_log_info("the lifecycle took over 60 s");

	cr_assert_eq(itest_count_children(itest_d.pid, true), 0,
	    "zombies of the daemon are left");
	cr_assert_eq(itest_count_children(itest_d.pid, false), 0,
	    "children of the daemon are left");
	for (i = 0; i < BULK_N; i++) {
		if (itest_pid_alive(bulk_pids[i]))
			alive++;
	}
	cr_assert_eq(alive, 0, "%d sandbox processes still run", alive);
	pathf(dir, sizeof dir, "%s/netns", itest_d.run_dir);
	cr_assert_eq(dir_entries(dir), 0, "files are left in %s", dir);
	cr_assert_eq(netns_mounts(), 0, "netns mounts of the run dir are left");
	pathf(dir, sizeof dir, "%s/sandboxes/default", itest_d.state_dir);
	cr_assert_eq(dir_entries(dir), 0, "bundle directories are left in %s",
	    dir);
	cr_assert(itest_daemon_running(&itest_d));
	sbc_close(c);
}

/* ---- the pause runtime ---------------------------------------------- */

Test(controller, pause_runtime_namespaces, .timeout = 30)
{
	struct sbc		*c;
	struct sbc_status	 st;
	struct sbc_error	 err = {0};
	char			 path[PATH_MAX], nspath[64], host[256];
	long			 inner;
	int			 count;
	int64_t			 t0;
	pid_t			 pid;

	ITEST_NEEDS_ROOT("the pause runtime makes namespaces");
	c = itest_connect(&itest_d, NULL);
	itest_make_sandbox(c, "pod", RUNTIME_PAUSE,
	    "{\"hostname\":\"podhost\"}");
	itest_netns_file(&itest_d, "pod", path, sizeof path);
	cr_assert(itest_path_exists(path), "Create made no netns file %s",
	    path);
	pid = itest_ctrl_start(c, "pod");
	expect_state(c, "pod", "SANDBOX_READY", pid);

	nspid(pid, &inner, &count);
	cr_assert_eq(count, 2, "NSpid of %d has %d fields: not in a child PID "
	    "namespace", (int)pid, count);
	cr_assert_eq(inner, 1, "pause is pid %ld in its namespace, want 1",
	    inner);
	itest_ns_read(pid, "uts", NULL, host, sizeof host);
	cr_assert_str_eq(host, "podhost");
	snprintf(nspath, sizeof nspath, "/proc/%d/ns/net", (int)pid);
	cr_assert_neq(inode_of(path), 0);
	cr_assert_eq(inode_of(nspath), inode_of(path), "pause is not in the "
	    "netns bound at %s", path);
	cr_assert_neq(inode_of(nspath), inode_of("/proc/self/ns/net"),
	    "pause shares the test's netns");
	snprintf(nspath, sizeof nspath, "/proc/%d/ns/ipc", (int)pid);
	cr_assert_neq(inode_of(nspath), inode_of("/proc/self/ns/ipc"),
	    "pause shares the test's IPC namespace");
	status_ok(c, "pod", true, &st);
	expect_info(&st, "netns_path", path);
	sbc_status_free(&st);

	itest_wait_pause_ready(pid);
	t0 = itest_now_ms();
	itest_expect(sbc_ctrl_stop(c, "pod", 5, &err), 0, &err,
	    "stop, timeout 5");
	cr_assert_lt(itest_now_ms() - t0, 3000, "pause did not exit on "
	    "SIGTERM");
	cr_assert_eq(itest_ctrl_wait(c, "pod", NULL), 0,
	    "pause exits 0 on SIGTERM");
	cr_assert(itest_path_exists(path),
	    "the netns goes with Shutdown, not Stop");
	itest_expect(sbc_ctrl_shutdown(c, "pod", &err), 0, &err, "shutdown");
	cr_assert(!itest_path_exists(path), "Shutdown left %s", path);
	cr_assert_eq(netns_mounts(), 0, "Shutdown left the netns mounted");
	sbc_close(c);
}

Test(controller, pause_given_netns_is_joined_not_removed, .timeout = 30)
{
	struct sbc		*c;
	struct sbc_create_opts	 o = {0};
	struct sbc_status	 st;
	struct sbc_error	 err = {0};
	char			 given[PATH_MAX], mine[PATH_MAX], nspath[64];
	pid_t			 pid;

	ITEST_NEEDS_ROOT("the pause runtime makes namespaces");
	c = itest_connect(&itest_d, NULL);
	/* A netns the daemon made for another sandbox serves as "given". */
	itest_make_sandbox(c, "owner", RUNTIME_PAUSE, NULL);
	itest_netns_file(&itest_d, "owner", given, sizeof given);
	store_mk(c, "guest", RUNTIME_PAUSE, NULL);
	o.netns_path = given;
	itest_expect(sbc_ctrl_create(c, "guest", &o, &err), 0, &err,
	    "create with netns_path");
	itest_netns_file(&itest_d, "guest", mine, sizeof mine);
	cr_assert(!itest_path_exists(mine),
	    "a netns was made despite netns_path");
	pid = itest_ctrl_start(c, "guest");
	snprintf(nspath, sizeof nspath, "/proc/%d/ns/net", (int)pid);
	cr_assert_eq(inode_of(nspath), inode_of(given));
	status_ok(c, "guest", true, &st);
	expect_info(&st, "netns_path", given);
	sbc_status_free(&st);
	itest_expect(sbc_ctrl_shutdown(c, "guest", &err), 0, &err, "shutdown");
	cr_assert(itest_path_exists(given),
	    "Shutdown removed a netns it was given");
	itest_expect(sbc_ctrl_shutdown(c, "owner", &err), 0, &err,
	    "shutdown owner");
	cr_assert(!itest_path_exists(given));
	sbc_close(c);
}

#define RACE_ROUNDS	5

/*
 * Stop sent as soon as Start has answered.  Start answers once pause is
 * exec'd, but pause blocks SIGTERM only a moment later; until then, as
 * PID 1 of its PID namespace with SIGTERM at SIG_DFL, the kernel drops a
 * SIGTERM from the daemon, Stop escalates to SIGKILL at its timeout and
 * the status is 137.  Spec: pause exits 0 on SIGTERM, Stop sends SIGTERM.
 */
Test(controller, pause_stop_right_after_start, .timeout = 60)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	char			 id[32];
	uint32_t		 st[RACE_ROUNDS];
	int			 i, lost = 0;

	ITEST_NEEDS_ROOT("the pause runtime makes namespaces");
	c = itest_connect(&itest_d, NULL);
	for (i = 0; i < RACE_ROUNDS; i++) {
		snprintf(id, sizeof id, "race-%d", i);
		itest_make_sandbox(c, id, RUNTIME_PAUSE, NULL);
		itest_ctrl_start(c, id);
		itest_expect(sbc_ctrl_stop(c, id, 2, &err), 0, &err,
		    "stop, timeout 2");
		st[i] = itest_ctrl_wait(c, id, NULL);
		if (st[i] != 0)
			lost++;
		itest_expect(sbc_ctrl_shutdown(c, id, &err), 0, &err,
		    "shutdown");
	}
	cr_assert_eq(lost, 0, "%d of %d pause sandboxes stopped right after "
	    "Start exited %u/%u/%u/%u/%u, want 0: the SIGTERM was lost and Stop "
	    "escalated to SIGKILL", lost, RACE_ROUNDS, st[0], st[1], st[2],
	    st[3], st[4]);
	sbc_close(c);
}

/* ---- failures leave nothing ----------------------------------------- */

#define NET_SPEC(args, cwd) \
	"{\"process\":{\"args\":[" args "],\"env\":[\"PATH=/usr/bin:/bin\"]," \
	"\"cwd\":\"" cwd "\"},\"linux\":{\"namespaces\":[{\"type\":\"network\"}," \
	"{\"type\":\"pid\"}]}}"

Test(controller, failed_create_leaves_nothing, .timeout = 30)
{
	struct sbc		*c, *c2, *c3;
	struct sbc_meta		 m = itest_meta("c", RUNTIME_PAUSE, NULL);
	struct sbc_create_opts	 o = {0};
	struct sbc_status	 st;
	struct sbc_error	 err = {0};
	char			 path[PATH_MAX], dir[PATH_MAX];
	ino_t			 ino;
	int			 code;

	ITEST_NEEDS_ROOT("network namespaces");
	c = itest_connect(&itest_d, NULL);

	/* A missing binary: refused before anything is made. */
	store_mk(c, "nobin", RUNTIME_EXEC,
	    NET_SPEC("\"/nonexistent/sandboxd-test-binary\"", "/"));
	code = sbc_ctrl_create(c, "nobin", NULL, &err);
	cr_assert_neq(code, 0, "create with a missing binary succeeded");
	cr_assert_not_null(err.message);
	cr_assert(strstr(err.message, "/nonexistent/sandboxd-test-binary") !=
	    NULL, "the message does not say why: %s", err.message);
	sbc_error_clear(&err);
	expect_no_instance(c, "nobin");
	itest_netns_file(&itest_d, "nobin", path, sizeof path);
	cr_assert(!itest_path_exists(path), "a failed Create left %s", path);
	bundle_dir("nobin", dir, sizeof dir);
	cr_assert(!itest_path_exists(dir), "a failed Create left %s", dir);

	/*
	 * The netns cannot be made part-way through Create: namespace "a-b"
	 * id "c" and namespace "a" id "b-c" both want netns/a-b-c.
	 */
	c2 = itest_connect(&itest_d, "a-b");
	o.sandbox = &m;
	itest_expect(sbc_ctrl_create(c2, "c", &o, &err), 0, &err,
	    "create a-b/c");
	pathf(path, sizeof path, "%s/netns/a-b-c", itest_d.run_dir);
	cr_assert(itest_path_exists(path));
	ino = inode_of(path);
	c3 = itest_connect(&itest_d, "a");
	m.id = "b-c";
	code = sbc_ctrl_create(c3, "b-c", &o, &err);
	cr_assert_neq(code, 0, "a/b-c was given the netns of a-b/c");
	sbc_error_clear(&err);
	itest_expect(sbc_ctrl_status(c3, "b-c", false, &st, &err),
	    STATUS_NOT_FOUND, &err, "status of a/b-c after its failed Create");
	pathf(dir, sizeof dir, "%s/sandboxes/a/b-c", itest_d.state_dir);
	cr_assert(!itest_path_exists(dir), "a failed Create left %s", dir);
	cr_assert_eq(inode_of(path), ino, "a failed Create touched the netns "
	    "of another sandbox");
	cr_assert_eq(netns_mounts(), 1);
	itest_expect(sbc_ctrl_shutdown(c2, "c", &err), 0, &err,
	    "shutdown a-b/c");
	cr_assert(!itest_path_exists(path));
	cr_assert_eq(netns_mounts(), 0);
	cr_assert_eq(itest_count_children(itest_d.pid, false), 0);
	sbc_close(c3);
	sbc_close(c2);
	sbc_close(c);
}

Test(controller, failed_start_leaves_no_process, .timeout = 30)
{
	struct sbc		*c;
	struct sbc_start_info	 si;
	struct sbc_error	 err = {0};
	char			 path[PATH_MAX], dir[PATH_MAX];
	int			 code;

	ITEST_NEEDS_ROOT("network namespaces");
	c = itest_connect(&itest_d, NULL);
	/* The cwd is only found missing in the child, before exec. */
	itest_make_sandbox(c, "nocwd", RUNTIME_EXEC,
	    NET_SPEC("\"sleep\",\"1000\"", "/nonexistent-sandboxd-cwd"));
	code = sbc_ctrl_start(c, "nocwd", &si, &err);
	cr_assert_neq(code, 0, "start in a missing cwd succeeded");
	cr_assert(strstr(err.message, "nonexistent-sandboxd-cwd") != NULL,
	    "the message does not say why: %s", err.message);
	sbc_error_clear(&err);
	expect_state(c, "nocwd", "SANDBOX_NOTREADY", 0);
	cr_assert_eq(itest_count_children(itest_d.pid, false), 0,
	    "a failed Start left a process");
	itest_netns_file(&itest_d, "nocwd", path, sizeof path);
	cr_assert(itest_path_exists(path));
	itest_expect(sbc_ctrl_shutdown(c, "nocwd", &err), 0, &err, "shutdown");
	cr_assert(!itest_path_exists(path), "Shutdown left %s", path);
	bundle_dir("nocwd", dir, sizeof dir);
	cr_assert(!itest_path_exists(dir), "Shutdown left %s", dir);
	cr_assert_eq(netns_mounts(), 0);
	sbc_close(c);
}

/* ---- the shim API --------------------------------------------------- */

Test(controller, shim_lifecycle, .timeout = 30)
{
	struct sbc		*c = itest_connect(&itest_d, NULL);
	struct sbc_start_info	 si;
	struct sbc_status	 st;
	struct sbc_metrics	 mt;
	struct sbc_platform	 pl;
	struct sbc_error	 err = {0};
	struct timespec		 at;
	uint32_t		 code = 9999;
	pid_t			 pid;

	store_mk(c, "shim", RUNTIME_EXEC, SLEEP_SPEC("100"));
	itest_expect(sbc_shim_create(c, "shim", NULL, &err), 0, &err,
	    "CreateSandbox from the store record");
	itest_expect(sbc_shim_create(c, "shim", NULL, &err),
	    STATUS_ALREADY_EXISTS, &err, "CreateSandbox twice");
	itest_expect(sbc_shim_ping(c, "shim", &err), 0, &err, "ping");
	itest_expect(sbc_shim_start(c, "shim", &si, &err), 0, &err,
	    "StartSandbox");
	pid = (pid_t)si.pid;
	sbc_start_info_free(&si);
	cr_assert_gt(pid, 0);
	itest_track(pid);
	itest_expect(sbc_shim_start(c, "shim", &si, &err),
	    STATUS_FAILED_PRECONDITION, &err, "StartSandbox twice");
	itest_expect(sbc_shim_status(c, "shim", true, &st, &err), 0, &err,
	    "SandboxStatus");
	cr_assert_str_eq(st.state, "SANDBOX_READY");
	cr_assert_eq(st.pid, (uint32_t)pid);
	expect_info(&st, "runtime", RUNTIME_EXEC);
	sbc_status_free(&st);
	/* The Controller service sees the same sandbox. */
	expect_state(c, "shim", "SANDBOX_READY", pid);
	itest_expect(sbc_shim_platform(c, "shim", &pl, &err), 0, &err,
	    "Platform");
	cr_assert_str_eq(pl.os, "linux");
	itest_expect(sbc_shim_metrics(c, "shim", &mt, &err), 0, &err,
	    "SandboxMetrics");
	cr_assert(mt.has_stats);
	cr_assert_geq(mt.pids, 1);
	sbc_metrics_free(&mt);
	itest_expect(sbc_shim_stop(c, "shim", 10, &err), 0, &err,
	    "StopSandbox");
	itest_expect(sbc_shim_wait(c, "shim", &code, &at, &err), 0, &err,
	    "WaitSandbox");
	cr_assert_eq(code, 143);
	cr_assert_neq(at.tv_sec, 0);
	itest_expect(sbc_shim_shutdown(c, "shim", &err), 0, &err,
	    "ShutdownSandbox");
	itest_expect(sbc_shim_ping(c, "shim", &err), STATUS_NOT_FOUND, &err,
	    "ping after shutdown");
	itest_expect(sbc_shim_status(c, "shim", false, &st, &err),
	    STATUS_NOT_FOUND, &err, "status after shutdown");
	itest_expect(sbc_shim_shutdown(c, "shim", &err), 0, &err,
	    "second ShutdownSandbox (store record still there)");
	sbc_close(c);
}

Test(controller, shim_create_from_bundle, .timeout = 30)
{
	struct sbc			*c;
	struct sbc_shim_create_opts	 o = {0};
	struct sbc_start_info		 si;
	struct sbc_status		 st;
	struct sbc_error		 err = {0};
	char				 bundle[PATH_MAX], cfg[PATH_MAX + 16];
	char				 host[256], path[PATH_MAX];
	FILE				*f;
	pid_t				 pid;

	ITEST_NEEDS_ROOT("the default runtime (pause) makes namespaces");
	c = itest_connect(&itest_d, NULL);
	pathf(bundle, sizeof bundle, "%s/bundle", itest_d.dir);
	cr_assert_eq(mkdir(bundle, 0755), 0);
	snprintf(cfg, sizeof cfg, "%s/config.json", bundle);
	cr_assert_not_null(f = fopen(cfg, "w"));
	fputs("{\"ociVersion\":\"1.1.0\",\"hostname\":\"shimhost\"}\n", f);
	fclose(f);

	o.bundle_path = bundle;
	itest_expect(sbc_shim_create(c, "fromcfg", &o, &err), 0, &err,
	    "CreateSandbox from <bundle>/config.json");
	itest_expect(sbc_shim_start(c, "fromcfg", &si, &err), 0, &err,
	    "StartSandbox");
	pid = (pid_t)si.pid;
	sbc_start_info_free(&si);
	itest_track(pid);
	itest_ns_read(pid, "uts", NULL, host, sizeof host);
	cr_assert_str_eq(host, "shimhost", "config.json's hostname not used");
	itest_expect(sbc_shim_status(c, "fromcfg", true, &st, &err), 0, &err,
	    "status");
	/* The daemon's default runtime. */
	expect_info(&st, "runtime", RUNTIME_PAUSE);
	sbc_status_free(&st);
	itest_netns_file(&itest_d, "fromcfg", path, sizeof path);
	cr_assert(itest_path_exists(path));
	itest_expect(sbc_shim_shutdown(c, "fromcfg", &err), 0, &err,
	    "shutdown");
	cr_assert(itest_wait_dead(pid, 5000));
	cr_assert(!itest_path_exists(path), "Shutdown left %s", path);
	itest_expect(sbc_shim_shutdown(c, "fromcfg", &err), STATUS_NOT_FOUND,
	    &err, "second shutdown: unknown to the store too");

	/*
	 * No config.json, as containerd's CRI plugin sends its pods: an empty
	 * spec, run by the default runtime.
	 */
	pathf(bundle, sizeof bundle, "%s/empty-bundle", itest_d.dir);
	cr_assert_eq(mkdir(bundle, 0755), 0);
	o.bundle_path = bundle;
	itest_expect(sbc_shim_create(c, "nocfg", &o, &err), 0, &err,
	    "CreateSandbox without config.json: an empty spec");
	itest_expect(sbc_shim_status(c, "nocfg", true, &st, &err), 0, &err,
	    "status");
	expect_info(&st, "runtime", RUNTIME_PAUSE);
	sbc_status_free(&st);
	itest_expect(sbc_shim_shutdown(c, "nocfg", &err), 0, &err, "shutdown");

	/* A config.json that is no regular file (a FIFO): refused at once. */
	pathf(bundle, sizeof bundle, "%s/fifo-bundle", itest_d.dir);
	cr_assert_eq(mkdir(bundle, 0755), 0);
	snprintf(cfg, sizeof cfg, "%s/config.json", bundle);
	cr_assert_eq(mkfifo(cfg, 0644), 0);
	o.bundle_path = bundle;
	itest_expect(sbc_shim_create(c, "fifocfg", &o, &err),
	    STATUS_INVALID_ARGUMENT, &err, "CreateSandbox with a FIFO config.json");
	itest_expect(sbc_shim_ping(c, "fifocfg", &err), STATUS_NOT_FOUND, &err,
	    "ping after a failed CreateSandbox");
	itest_netns_file(&itest_d, "fifocfg", path, sizeof path);
	cr_assert(!itest_path_exists(path));
	sbc_close(c);
}

/* Suites whose tests start the daemon themselves, with other arguments. */
TestSuite(controller_args, .fini = itest_teardown);

/*
 * A relative --pause-path is the starting directory's: the daemon must
 * not exec it relative to a sandbox's cwd ("/").
 */
Test(controller_args, relative_pause_path, .timeout = 60)
{
	const char		*bin = getenv("SANDBOXD_PAUSE_BIN");
	struct sbc_error	 err = {0};
	struct sbc		*c;
	char			 dir[PATH_MAX], here[PATH_MAX], *slash;
	pid_t			 pid;

	ITEST_NEEDS_ROOT("pause sandboxes need namespaces");
	if (bin == NULL || (slash = strrchr(bin, '/')) == NULL)
		cr_skip_test("SANDBOXD_PAUSE_BIN is not an absolute path");
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - bin), bin);
	cr_assert_not_null(getcwd(here, sizeof here));
	cr_assert_eq(chdir(dir), 0, "chdir %s: %s", dir, strerror(errno));
	itest_daemon_start(&itest_d, "--pause-path", slash + 1, NULL);
	cr_assert_eq(chdir(here), 0);
	c = itest_connect(&itest_d, "default");
	itest_make_sandbox(c, "relpause", RUNTIME_PAUSE, NULL);
	pid = itest_ctrl_start(c, "relpause");
	itest_wait_pause_ready(pid);
	itest_expect(sbc_ctrl_shutdown(c, "relpause", &err), 0, &err,
	    "shutdown");
	sbc_close(c);
}
