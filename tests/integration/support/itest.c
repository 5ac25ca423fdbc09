/*
 * itest.c: the integration-test harness (see itest.h): spawn sandboxd on
 * private paths, wait until it accepts connections, stop, kill, restart,
 * and clean up the daemon, its orphans and its directory; look at the
 * processes and files it makes; and the suite daemon with the checked
 * calls the test files share.
 */
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "itest.h"
#include "procmgr.h"

#define LOG_TAIL_BYTES	4096

/* Milliseconds on the monotonic clock. */
int64_t
itest_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Sleep for ms milliseconds (signals do not cut it short). */
static void
sleep_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Describe a wait status ("exit 1", "signal 9"). */
static const char *
status_text(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "status 0x%x", status);
	return (buf);
}

/* Give the daemon a directory of its own (idempotent). */
void
itest_daemon_init(struct itest_daemon *d)
{
	if (d->dir[0] != '\0')
		return;
	memset(d, 0, sizeof *d);
	snprintf(d->dir, sizeof d->dir, "/tmp/sbd-itest.XXXXXX");
	if (mkdtemp(d->dir) == NULL)
		cr_assert_fail("mkdtemp %s: %s", d->dir, strerror(errno));
	snprintf(d->state_dir, sizeof d->state_dir, "%s/state", d->dir);
	snprintf(d->run_dir, sizeof d->run_dir, "%s/run", d->dir);
	snprintf(d->socket, sizeof d->socket, "%s/run/sandboxd.sock", d->dir);
	snprintf(d->log_path, sizeof d->log_path, "%s/daemon.log", d->dir);
}

/* Add KEY=VALUE to the daemon's environment (from the next start on). */
void
itest_daemon_setenv(struct itest_daemon *d, const char *key,
    const char *value)
{
	char	*kv;

	itest_daemon_init(d);
	cr_assert_lt(d->nenv, ITEST_MAX_ENV, "too many environment entries");
	if (asprintf(&kv, "%s=%s", key, value) == -1)
		cr_assert_fail("asprintf");
	d->env[d->nenv++] = kv;
}

/* Forget the environment added with itest_daemon_setenv. */
void
itest_daemon_clearenv(struct itest_daemon *d)
{
	int	i;

	for (i = 0; i < d->nenv; i++)
		free(d->env[i]);
	d->nenv = 0;
}

/* The last max bytes of the daemon's log (allocated, never NULL). */
char *
itest_log_tail(const struct itest_daemon *d, size_t max)
{
	char	*buf;
	off_t	 size;
	ssize_t	 n;
	int	 fd;

	buf = calloc(1, max + 1);
	cr_assert_not_null(buf);
	if ((fd = open(d->log_path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(buf, max + 1, "(no log: %s)", strerror(errno));
		return (buf);
	}
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)max)
		lseek(fd, size - (off_t)max, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, max);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return (buf);
}

/* Print the daemon's whole log to stderr. */
void
itest_dump_log(const struct itest_daemon *d)
{
	char	buf[8192];
	ssize_t	n;
	int	fd;

	if ((fd = open(d->log_path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	fprintf(stderr, "---- %s ----\n", d->log_path);
	fflush(stderr);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)n);
	fprintf(stderr, "---- end of %s ----\n", d->log_path);
	close(fd);
}

/* Whether the daemon's log contains needle. */
bool
itest_log_contains(const struct itest_daemon *d, const char *needle)
{
	char	*all;
	bool	 found;

	all = itest_log_tail(d, 16u << 20);
	found = strstr(all, needle) != NULL;
	free(all);
	return (found);
}

/* Fail the test, quoting the log. */
static void
fail_with_log(const struct itest_daemon *d, const char *what)
{
	char	*tail = itest_log_tail(d, LOG_TAIL_BYTES);

	cr_assert_fail("sandboxd: %s\n---- tail of %s ----\n%s", what,
	    d->log_path, tail);
}

/* The daemon binary from $SANDBOXD_BIN, or fail the test. */
static const char *
daemon_bin(void)
{
	const char	*bin = getenv("SANDBOXD_BIN");

	if (bin == NULL || *bin == '\0')
		cr_assert_fail("SANDBOXD_BIN is not set: run the integration "
		    "tests through ctest, or set it to the sandboxd binary");
	if (access(bin, X_OK) != 0)
		cr_assert_fail("SANDBOXD_BIN=%s: %s", bin, strerror(errno));
	return (bin);
}

/* The daemon's argument vector (pointers into d and the environment). */
static void
build_argv(const struct itest_daemon *d, const char *bin, const char **argv)
{
	const char	*pause = getenv("SANDBOXD_PAUSE_BIN");
	const char	*keeper = getenv("SANDBOXD_KEEPER_BIN");
	int		 n = 0, i;

	argv[n++] = bin;
	argv[n++] = "--foreground";
	argv[n++] = "--socket";
	argv[n++] = d->socket;
	argv[n++] = "--state-dir";
	argv[n++] = d->state_dir;
	argv[n++] = "--run-dir";
	argv[n++] = d->run_dir;
	argv[n++] = "--log-level";
	argv[n++] = "debug";
	if (pause != NULL && *pause != '\0') {
		argv[n++] = "--pause-path";
		argv[n++] = pause;
	}
	if (keeper != NULL && *keeper != '\0') {
		argv[n++] = "--keeper-path";
		argv[n++] = keeper;
	}
	for (i = 0; i < d->nargs; i++)
		argv[n++] = d->args[i];
	argv[n] = NULL;
}

/* In the child: log to the file, add the environment, exec the daemon. */
static void
exec_daemon(const struct itest_daemon *d, const char **argv)
{
	sigset_t	set;
	int		fd, i;

	if ((fd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, STDIN_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	for (i = 0; i < d->nenv; i++)
		putenv(d->env[i]);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], (char *const *)argv);
	dprintf(STDERR_FILENO, "itest: exec %s: %s\n", argv[0],
	    strerror(errno));
	_exit(127);
}

/* Poll connect() until the daemon answers; fail if it dies or is slow. */
static void
wait_ready(struct itest_daemon *d)
{
	struct sbc	*c;
	int64_t		 deadline = itest_now_ms() + ITEST_START_TIMEOUT_MS;
	char		*cause, what[128], st[32];
	int		 status;

	for (;;) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			d->status = status;
			snprintf(what, sizeof what, "died while starting (%s)",
			    status_text(status, st, sizeof st));
			fail_with_log(d, what);
		}
		cause = NULL;
		if ((c = sbc_connect(d->socket, &cause)) != NULL) {
			sbc_close(c);
			return;
		}
		free(cause);
		if (itest_now_ms() > deadline) {
			itest_daemon_kill9(d);
			fail_with_log(d, "not accepting connections after "
			    "10 s");
		}
		sleep_ms(10);
	}
}

/* Fork and exec the daemon with the kept arguments, wait until ready. */
static void
spawn(struct itest_daemon *d)
{
	const char	*argv[ITEST_MAX_ARGS + 16];
	const char	*bin = daemon_bin();
	pid_t		 pid;

	cr_assert_eq(d->pid, 0, "the daemon is already running");
	build_argv(d, bin, argv);
	/* Orphaned sandbox processes become ours: see itest.h. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		cr_assert_fail("fork: %s", strerror(errno));
	if (pid == 0)
		exec_daemon(d, argv);
	d->pid = pid;
	wait_ready(d);
}

/* Replace the kept extra arguments with copies of args. */
static void
keep_args(struct itest_daemon *d, const char *const *args)
{
	int	i;

	for (i = 0; i < d->nargs; i++)
		free(d->args[i]);
	d->nargs = 0;
	for (i = 0; args != NULL && args[i] != NULL; i++) {
		cr_assert_lt(i, ITEST_MAX_ARGS, "too many daemon arguments");
		d->args[d->nargs++] = strdup(args[i]);
	}
}

/*
 * Start the daemon with extra arguments (a NULL-terminated array, NULL
 * for none); they are kept for itest_daemon_restart.
 */
void
itest_daemon_startv(struct itest_daemon *d, const char *const *args)
{
	itest_daemon_init(d);
	keep_args(d, args);
	spawn(d);
}

/* Start the daemon; extra arguments follow, ending with NULL. */
void
itest_daemon_start(struct itest_daemon *d, ...)
{
	const char	*args[ITEST_MAX_ARGS + 1];
	va_list		 ap;
	int		 n = 0;

	va_start(ap, d);
	while (n < ITEST_MAX_ARGS &&
	    (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	itest_daemon_startv(d, args);
}

/*
 * Wait up to timeout_ms for the daemon to exit by itself; its wait status,
 * or -1 if it is still running (or was not).
 */
int
itest_daemon_wait_exit(struct itest_daemon *d, int timeout_ms)
{
	int64_t	deadline = itest_now_ms() + timeout_ms;
	int	status;
	pid_t	r;

	if (d->pid == 0)
		return (-1);
	for (;;) {
		r = waitpid(d->pid, &status, WNOHANG);
		if (r == d->pid) {
			d->pid = 0;
			d->status = status;
			return (status);
		}
		if (r == -1 && errno != EINTR)
			return (-1);
		if (itest_now_ms() > deadline)
			return (-1);
		sleep_ms(5);
	}
}

/* Whether the daemon is still running (reaps it if it exited). */
bool
itest_daemon_running(struct itest_daemon *d)
{
	int	status;

	if (d->pid == 0)
		return (false);
	if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
		d->pid = 0;
		d->status = status;
		return (false);
	}
	return (true);
}

/* SIGTERM the daemon, wait, and require a clean exit (status 0). */
void
itest_daemon_stop(struct itest_daemon *d)
{
	char	what[128], st[32];
	int	status;

	if (d->pid == 0)
		return;
	kill(d->pid, SIGTERM);
	if ((status = itest_daemon_wait_exit(d, ITEST_STOP_TIMEOUT_MS)) == -1) {
		itest_daemon_kill9(d);
		fail_with_log(d, "still running 10 s after SIGTERM");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(what, sizeof what, "SIGTERM ended it with %s, want "
		    "exit 0", status_text(status, st, sizeof st));
		fail_with_log(d, what);
	}
}

/* SIGKILL the daemon and reap it. */
void
itest_daemon_kill9(struct itest_daemon *d)
{
	int	status;

	if (d->pid == 0)
		return;
	kill(d->pid, SIGKILL);
	while (waitpid(d->pid, &status, 0) == -1 && errno == EINTR)
		;
	d->status = status;
	d->pid = 0;
}

/* Stop the daemon if it runs, then start it again on the same paths. */
void
itest_daemon_restart(struct itest_daemon *d)
{
	itest_daemon_stop(d);
	spawn(d);
}

/* Whether pid runs (a zombie counts as dead). */
bool
itest_pid_alive(pid_t pid)
{
	pid_t	ppid;
	char	state;

	if (proc_read_parent(pid, &ppid, &state) == -1)
		return (false);
	return (state != 'Z' && state != 'X');
}


/* Whether pid is a sandboxd-keeper (the daemon's, or one it left). */
bool
itest_is_keeper(pid_t pid)
{
	char	comm[64];

	return (proc_read_comm(pid, comm, sizeof comm) == 0 &&
	    strcmp(comm, KEEPER_PROGRAM_NAME) == 0);
}

/*
 * The processes whose parent is parent, but skip (0: none), the
 * daemon's helpers and its keeper (part of it, no sandboxes), zombies only
 * if zombies_only: how many, the first max of them in pids (NULL: just
 * count); -1 if /proc cannot be read.
 */
static int
children_of(pid_t parent, pid_t skip, bool zombies_only, pid_t *pids,
    int max)
{
	struct dirent	*de;
	DIR		*dir;
	pid_t		 pid, ppid;
	char		 state;
	int		 n = 0;

	if ((dir = opendir("/proc")) == NULL)
		return (-1);
	while ((pids == NULL || n < max) && (de = readdir(dir)) != NULL) {
		if ((pid = (pid_t)atoi(de->d_name)) <= 0 || pid == skip)
			continue;
		if (proc_read_parent(pid, &ppid, &state) == -1 || ppid != parent)
			continue;
		if ((zombies_only && state != 'Z') || proc_is_daemon_helper(pid))
			continue;
		if (pids != NULL)
			pids[n] = pid;
		n++;
	}
	closedir(dir);
	return (n);
}

/* The test process's children other than the daemon, up to max. */
static int
list_orphans(const struct itest_daemon *d, pid_t *pids, int max,
    bool zombies_only)
{
	int	n;

	n = children_of(getpid(), d->pid, zombies_only, pids, max);
	return (n > 0 ? n : 0);
}

/* How many children parent has (only zombies if zombies_only). */
int
itest_count_children(pid_t parent, bool zombies_only)
{
	int	n;

	n = children_of(parent, 0, zombies_only, NULL, 0);
	cr_assert_neq(n, -1, "opendir /proc: %s", strerror(errno));
	return (n);
}

/* Reap orphaned sandbox processes that have exited. */
void
itest_reap_orphans(struct itest_daemon *d)
{
	pid_t	pids[256];
	int	i, n;

	n = list_orphans(d, pids, 256, true);
	for (i = 0; i < n; i++)
		waitpid(pids[i], NULL, WNOHANG);
}

/* SIGKILL and reap every child of the test but the daemon. */
void
itest_kill_orphans(struct itest_daemon *d)
{
	pid_t	pids[256];
	int	i, n, round;

	for (round = 0; round < 20; round++) {
		if ((n = list_orphans(d, pids, 256, false)) == 0)
			return;
		for (i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		for (i = 0; i < n; i++)
			while (waitpid(pids[i], NULL, 0) == -1 &&
			    errno == EINTR)
				;
	}
}

/* nftw callback of rm -rf: unmount what is mounted (netns files). */
static int
remove_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (remove(path) == 0)
		return (0);
	if (errno == EBUSY && umount2(path, MNT_DETACH) == 0)
		remove(path);
	return (0);
}

/* The pid in <run_dir>/keeper.pid if a keeper runs there, else 0. */
pid_t
itest_keeper_pid(const struct itest_daemon *d)
{
	char	path[PATH_MAX + 16], buf[32];
	ssize_t	n;
	pid_t	pid;
	int	fd;

	snprintf(path, sizeof path, "%s/keeper.pid", d->run_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	pid = (pid_t)atoi(buf);
	return (pid > 0 && itest_is_keeper(pid) ? pid : 0);
}

/*
 * SIGKILL the keeper of d's run dir, if one runs, and reap it if it is
 * the test's (it is once its daemon died: the test is a subreaper).
 */
void
itest_keeper_kill(const struct itest_daemon *d)
{
	pid_t	pid;

	if (d->run_dir[0] == '\0' || (pid = itest_keeper_pid(d)) == 0)
		return;
	kill(pid, SIGKILL);
	if (itest_parent_of(pid) == getpid())
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
	(void)itest_wait_dead(pid, 2000);
}

/*
 * Kill the daemon, its keeper and its orphans, remove the directory,
 * forget the paths.  Safe to call twice, on a daemon never started, or
 * in .fini.
 */
void
itest_daemon_cleanup(struct itest_daemon *d)
{
	const char	*keep = getenv("ITEST_KEEP");
	const char	*dump = getenv("ITEST_DUMP_LOG");
	int		 i;

	if (d->dir[0] == '\0')
		return;
	itest_daemon_kill9(d);
	itest_keeper_kill(d);
	itest_kill_orphans(d);
	if (dump != NULL && *dump != '\0' && *dump != '0')
		itest_dump_log(d);
	if (keep != NULL && *keep != '\0' && *keep != '0')
		fprintf(stderr, "itest: kept %s\n", d->dir);
	else
		nftw(d->dir, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
	for (i = 0; i < d->nargs; i++)
		free(d->args[i]);
	for (i = 0; i < d->nenv; i++)
		free(d->env[i]);
	memset(d, 0, sizeof *d);
}

/* A connection to the daemon, or NULL and *cause. */
struct sbc *
itest_connect_raw(struct itest_daemon *d, char **cause)
{
	return (sbc_connect(d->socket, cause));
}

/*
 * A connection in namespace ns (NULL: "default") with a 30 s call
 * timeout, so a lost reply fails the test instead of hanging it.
 */
struct sbc *
itest_connect(struct itest_daemon *d, const char *ns)
{
	struct sbc	*c;
	char		*cause = NULL, what[512];

	if ((c = sbc_connect(d->socket, &cause)) == NULL) {
		snprintf(what, sizeof what, "cannot connect: %s", cause);
		fail_with_log(d, what);
	}
	sbc_set_namespace(c, ns != NULL ? ns : SBC_DEFAULT_NAMESPACE);
	sbc_set_timeout(c, 30000);
	return (c);
}

/* The parent of pid, or -1 if it is gone. */
pid_t
itest_parent_of(pid_t pid)
{
	pid_t	ppid;
	char	state;

	if (proc_read_parent(pid, &ppid, &state) == -1)
		return (-1);
	return (ppid);
}

/* Poll until pid no longer runs (zombies count as dead), up to ms. */
bool
itest_wait_dead(pid_t pid, int ms)
{
	int64_t	deadline = itest_now_ms() + ms;

	while (itest_pid_alive(pid)) {
		if (itest_now_ms() > deadline)
			return (false);
		sleep_ms(10);
	}
	return (true);
}

/*
 * Wait until a pause process sleeps in sigwaitinfo, having blocked
 * SIGTERM.  Before that, as PID 1 of its PID namespace with SIGTERM at
 * SIG_DFL, it would have a SIGTERM dropped by the kernel.  Seen through
 * /proc/<pid>/wchan; where that says nothing, give it half a second.
 */
void
itest_wait_pause_ready(pid_t pid)
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
			sleep_ms(500);
			return;
		}
		cr_assert_lt(itest_now_ms(), deadline, "pause pid %d never "
		    "reached sigwaitinfo (wchan %s)", (int)pid, wchan);
		sleep_ms(5);
	}
}

/* Whether path exists (not following a final symlink). */
bool
itest_path_exists(const char *path)
{
	struct stat	sb;

	return (lstat(path, &sb) == 0);
}

/* The netns file the daemon makes for id in namespace default. */
void
itest_netns_file(const struct itest_daemon *d, const char *id, char *buf,
    size_t size)
{
	int	n;

	n = snprintf(buf, size, "%s/netns/default-%s", d->run_dir, id);
	cr_assert(n > 0 && (size_t)n < size, "path too long: %s", buf);
}

/* ---- the suite daemon and the calls tests make of it ---------------- */

/* The daemon of a suite with one daemon per test (itest_setup). */
struct itest_daemon	itest_d;

/* Sandbox pids that itest_teardown kills. */
static pid_t		tracked[ITEST_MAX_TRACKED];
static int		ntracked;

/* .init: start the suite daemon with no extra arguments. */
void
itest_setup(void)
{
	itest_daemon_start(&itest_d, NULL);
}

/* .fini: kill what the test started, then the daemon and its orphans. */
void
itest_teardown(void)
{
	int	i;

	for (i = 0; i < ntracked; i++) {
		/* Only still ours: the daemon's child, or our orphan. */
		if (itest_parent_of(tracked[i]) == itest_d.pid ||
		    itest_parent_of(tracked[i]) == getpid())
			kill(tracked[i], SIGKILL);
	}
	ntracked = 0;
	itest_daemon_cleanup(&itest_d);
}

/* Remember a sandbox pid so that teardown kills it even if the test fails. */
void
itest_track(pid_t pid)
{
	if (ntracked < ITEST_MAX_TRACKED)
		tracked[ntracked++] = pid;
}

/*
 * Assert a call's result, naming what was tried; an error must come with
 * a message.  Clears err for the next call.
 */
void
itest_expect(int got, int want, struct sbc_error *err, const char *what)
{
	cr_assert_eq(got, want, "%s: got %d %s (%s), want %d %s", what, got,
	    sbc_error_name(got), err->message != NULL ? err->message : "",
	    want, sbc_error_name(want));
	if (want != 0)
		cr_assert_not_null(err->message, "%s: no error message", what);
	sbc_error_clear(err);
}

/* The spec Any of an OCI spec JSON (NULL: no spec). */
struct sbc_any
itest_spec(const char *json)
{
	struct sbc_any	a = {0};

	if (json != NULL) {
		a.type_url = OCI_SPEC_TYPE_URL;
		a.value = json;
		a.len = strlen(json);
	}
	return (a);
}

/* Metadata of id with runtime rt and spec json (both may be NULL). */
struct sbc_meta
itest_meta(const char *id, const char *rt, const char *json)
{
	struct sbc_meta	m = {0};

	m.id = id;
	m.runtime = rt;
	m.spec = itest_spec(json);
	return (m);
}

/* Store.Create, then Controller.Create from the store record, or fail. */
void
itest_make_sandbox(struct sbc *c, const char *id, const char *rt,
    const char *json)
{
	struct sbc_meta		m = itest_meta(id, rt, json);
	struct sbc_error	err = {0};

	itest_expect(sbc_store_create(c, &m, NULL, &err), 0, &err,
	    "store create");
	itest_expect(sbc_ctrl_create(c, id, NULL, &err), 0, &err,
	    "ctrl create");
}

/* Controller.Start id, or fail; its pid, which teardown will kill. */
pid_t
itest_ctrl_start(struct sbc *c, const char *id)
{
	struct sbc_start_info	si;
	struct sbc_error	err = {0};
	pid_t			pid;

	itest_expect(sbc_ctrl_start(c, id, &si, &err), 0, &err, "ctrl start");
	pid = (pid_t)si.pid;
	sbc_start_info_free(&si);
	cr_assert_gt(pid, 0, "start %s: pid %d", id, (int)pid);
	itest_track(pid);
	return (pid);
}

/* Controller.Wait id, or fail; the exit status (exited_at to *at). */
uint32_t
itest_ctrl_wait(struct sbc *c, const char *id, struct timespec *at)
{
	struct sbc_error	err = {0};
	struct timespec		ts;
	uint32_t		st = 9999;

	itest_expect(sbc_ctrl_wait(c, id, &st, &ts, &err), 0, &err,
	    "ctrl wait");
	cr_assert_neq(ts.tv_sec, 0, "wait %s: no exited_at", id);
	if (at != NULL)
		*at = ts;
	return (st);
}

/* The value of an info key of a verbose Status, NULL if absent. */
const char *
itest_info_get(const struct sbc_status *st, const char *key)
{
	size_t	i;

	for (i = 0; i < st->ninfo; i++) {
		if (strcmp(st->info[i].key, key) == 0)
			return (st->info[i].value);
	}
	return (NULL);
}

/*
 * Send a Controller.Wait for id on c without reading its answer, which
 * comes when the sandbox exits: its stream id for itest_recv_wait.
 */
uint32_t
itest_send_wait(struct sbc *c, const char *id)
{
	cssv_ControllerWaitRequest	req = {0};
	struct sbc_error		err = {0};
	uint32_t			sid;

	snprintf(req.sandbox_id, sizeof req.sandbox_id, "%s", id);
	itest_expect(sbc_send(c, SERVICE_CONTROLLER, "Wait",
	    cssv_ControllerWaitRequest_fields, &req, &sid, &err), 0, &err,
	    "send wait");
	return (sid);
}

/*
 * Receive the Wait sent on stream sid: the call's code; if 0, the exit
 * status in *status and exited_at in *at (zero if absent; at may be NULL).
 */
int
itest_recv_wait(struct sbc *c, uint32_t sid, uint32_t *status,
    struct timespec *at, struct sbc_error *err)
{
	cssv_ControllerWaitResponse	resp = {0};
	struct sbc_reply		reply;
	int				code;

	code = sbc_recv(c, sid, cssv_ControllerWaitResponse_fields, &resp,
	    &reply, err);
	if (code != 0)
		return (code);
	*status = resp.exit_status;
	if (at != NULL) {
		at->tv_sec = resp.has_exited_at ? resp.exited_at.seconds : 0;
		at->tv_nsec = resp.has_exited_at ? resp.exited_at.nanos : 0;
	}
	sbc_reply_free(&reply);
	return (0);
}

/* In a child that joined pid's namespace: a file's text, or the hostname. */
static int
ns_read_child(pid_t pid, const char *type, const char *file, int out)
{
	char	 path[64], buf[4096];
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, type);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    setns(fd, 0) == -1)
		return (1);
	memset(buf, 0, sizeof buf);
	if (file == NULL) {
		if (gethostname(buf, sizeof buf - 1) == -1)
			return (2);
		n = (ssize_t)strlen(buf);
	} else {
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
			return (2);
		if ((n = read(fd, buf, sizeof buf - 1)) < 0)
			return (2);
		while (n > 0 && buf[n - 1] == '\n')
			n--;
	}
	return (write(out, buf, (size_t)n) == n ? 0 : 3);
}

/*
 * Read what a process sees in its own namespace of type ("uts", "net",
 * ...): the file's text without its trailing newline, or with file NULL
 * the hostname.  A child joins the namespace, so the test does not.
 */
void
itest_ns_read(pid_t pid, const char *type, const char *file, char *buf,
    size_t size)
{
	ssize_t	n;
	pid_t	child;
	int	p[2], status;

	cr_assert_eq(pipe(p), 0);
	cr_assert_neq(child = fork(), -1);
	if (child == 0) {
		close(p[0]);
		_exit(ns_read_child(pid, type, file, p[1]));
	}
	close(p[1]);
	n = read(p[0], buf, size - 1);
	close(p[0]);
	buf[n > 0 ? n : 0] = '\0';
	while (waitpid(child, &status, 0) == -1 && errno == EINTR)
		;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "reading %s in pid %d's %s namespace failed (0x%x)",
	    file != NULL ? file : "the hostname", (int)pid, type, status);
}

/*
 * Start d with a config file holding text, in a test directory others may
 * traverse (mkdtemp makes it 0700), so that tests can connect as other
 * uids.
 */
void
itest_daemon_start_config(struct itest_daemon *d, const char *text)
{
	char	 conf[PATH_MAX];
	FILE	*f;

	itest_daemon_init(d);
	cr_assert_eq(chmod(d->dir, 0711), 0);
	snprintf(conf, sizeof conf, "%s/sandboxd.conf", d->dir);
	cr_assert_not_null(f = fopen(conf, "w"));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	itest_daemon_start(d, "--config", conf, NULL);
}
