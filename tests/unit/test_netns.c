/*
 * test_netns.c: persistent network namespaces (procmgr/netns.c).
 *
 * Needs root (CAP_SYS_ADMIN): a test that cannot make a network namespace
 * here is skipped, saying why.  Each test works in its own mkdtemp dir;
 * the teardown unmounts whatever is left in it, so a failing test leaks no
 * mounts.  Failures half-way through netns_create are injected with a
 * seccomp filter in the test's own process (Criterion runs each test in a
 * process of its own).
 */
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/event.h>

#include "procmgr_test.h"

static char	tmpdir[] = "/tmp/test_netns.XXXXXX";
static char	nsdir[512];

/* Unmount and remove one entry for nftw. */
static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	int	i;

	(void)sb;
	(void)flag;
	(void)ftw;
	for (i = 0; i < 8; i++) {
		if (umount2(path, MNT_DETACH|UMOUNT_NOFOLLOW) == -1)
			break;
	}
	return (remove(path));
}

/* Remove the temporary directory, unmounting what is left in it. */
static void
rm_tmpdir(void)
{
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH|FTW_PHYS);
}

/* Make the test's directory; netns_create makes nsdir below it. */
static void
setup(void)
{
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(nsdir, sizeof nsdir, "%s/netns", tmpdir);
	atexit(rm_tmpdir);
}

/* Remove the test's directory. */
static void
teardown(void)
{
	rm_tmpdir();
}

TestSuite(netns, .init = setup, .fini = teardown, .timeout = 60);

/* Skip the test unless this process may make network namespaces. */
static void
require_netns(void)
{
	pid_t	pid;
	int	status;

	if (geteuid() != 0)
		cr_skip_test("network namespaces need root");
	if ((pid = fork()) == 0)
		_exit(unshare(CLONE_NEWNET) == 0 ? 0 : 1);
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		cr_skip_test("unshare(CLONE_NEWNET) is not permitted here");
}

/* Inode of a file; 0 if it cannot be stat'ed. */
static ino_t
inode_of(const char *path)
{
	struct stat	sb;

	if (stat(path, &sb) == -1)
		return (0);
	return (sb.st_ino);
}

/* Lines of /proc/self/mountinfo that mention s. */
static int
mounts_mentioning(const char *s)
{
	FILE	*f;
	char	 line[4096];
	int	 n = 0;

	cr_assert_not_null(f = fopen("/proc/self/mountinfo", "r"));
	while (fgets(line, sizeof line, f) != NULL) {
		if (strstr(line, s) != NULL)
			n++;
	}
	fclose(f);
	return (n);
}

/* Entries (other than . and ..) in a directory; -1 if it is missing. */
static int
entries_in(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return (n);
}

/* Create nsdir/name, asserting success; returns the path. */
static char *
create_ok(const char *name)
{
	char	*path = NULL, *cause = NULL;
	int	 rc;

	rc = netns_create(nsdir, name, &path, &cause);
	cr_assert_eq(rc, 0, "netns_create: %s", cause ? cause : "?");
	cr_assert_null(cause);
	cr_assert_not_null(path);
	return (path);
}

/* Make syscall nr (with arg1 == arg when match_arg) fail with err. */
static void
fail_syscall(long nr, int match_arg, unsigned int arg, int err)
{
	struct sock_filter	 any[] = {
		BPF_STMT(BPF_LD|BPF_W|BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP|BPF_JEQ|BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_ERRNO|err),
		BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter	 with_arg[] = {
		BPF_STMT(BPF_LD|BPF_W|BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP|BPF_JEQ|BPF_K, nr, 0, 3),
		/* Low half of args[1]: little-endian machines only. */
		BPF_STMT(BPF_LD|BPF_W|BPF_ABS,
		    offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP|BPF_JEQ|BPF_K, arg, 0, 1),
		BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_ERRNO|err),
		BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog	 prog;

	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__ && match_arg)
		cr_skip_test("argument filter written for little-endian");
	if (match_arg) {
		prog.len = sizeof with_arg / sizeof with_arg[0];
		prog.filter = with_arg;
	} else {
		prog.len = sizeof any / sizeof any[0];
		prog.filter = any;
	}
	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		cr_skip_test("seccomp filters unavailable: %s",
		    strerror(errno));
}

/* Tell whether lo is up in the network namespace at path. */
static int
lo_is_up(const char *path)
{
	struct ifreq	ifr;
	int		home, fd, s, up;

	cr_assert_geq(home = open("/proc/thread-self/ns/net", O_RDONLY), 0);
	cr_assert_geq(fd = open(path, O_RDONLY), 0);
	cr_assert_eq(setns(fd, CLONE_NEWNET), 0, "setns: %s", strerror(errno));
	cr_assert_geq(s = socket(AF_INET, SOCK_DGRAM, 0), 0);
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	up = (ifr.ifr_flags & IFF_UP) != 0;
	close(s);
	cr_assert_eq(setns(home, CLONE_NEWNET), 0);
	close(fd);
	close(home);
	return (up);
}

Test(netns, create_check_remove)
{
	struct stat	 sb;
	char		*path, *cause = NULL, want[600];
	ino_t		 self, thread;

	require_netns();
	self = inode_of("/proc/self/ns/net");
	thread = inode_of("/proc/thread-self/ns/net");
	path = create_ok("default-sb1");
	snprintf(want, sizeof want, "%s/default-sb1", nsdir);
	cr_assert_str_eq(path, want);

	cr_assert_eq(stat(nsdir, &sb), 0);
	cr_assert(S_ISDIR(sb.st_mode));
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(netns_check(path, &cause), 0, "%s", cause);
	cr_assert_neq(sb.st_ino, self, "the file is the test's own netns");
	cr_assert_eq(inode_of("/proc/self/ns/net"), self);
	cr_assert_eq(inode_of("/proc/thread-self/ns/net"), thread);
	cr_assert_eq(mounts_mentioning(path), 1);

	cr_assert_eq(netns_remove(path, &cause), 0, "%s", cause);
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(mounts_mentioning(tmpdir), 0);
	cr_assert_eq(netns_check(path, NULL), -1);
	free(path);
}

Test(netns, loopback_is_up)
{
	char	*path, *cause = NULL;

	require_netns();
	path = create_ok("lo");
	cr_assert(lo_is_up(path), "lo is down in the new namespace");
	cr_assert_eq(netns_remove(path, &cause), 0, "%s", cause);
	free(path);
}

Test(netns, two_namespaces_differ)
{
	char	*a, *b;

	require_netns();
	a = create_ok("a");
	b = create_ok("b");
	cr_assert_neq(inode_of(a), inode_of(b));
	cr_assert_eq(netns_remove(a, NULL), 0);
	cr_assert_eq(netns_remove(b, NULL), 0);
	cr_assert_eq(entries_in(nsdir), 0);
	free(a);
	free(b);
}

Test(netns, create_twice_fails_first_intact)
{
	char	*path, *again = NULL, *cause = NULL;
	ino_t	 ino;

	require_netns();
	path = create_ok("dup");
	ino = inode_of(path);
	cr_assert_eq(netns_create(nsdir, "dup", &again, &cause), -1);
	cr_assert_null(again);
	cr_assert_not_null(cause);
	cr_assert_not_null(strstr(cause, path), "%s", cause);
	cr_assert_not_null(strstr(cause, "exists"), "%s", cause);
	free(cause);
	cause = NULL;

	cr_assert_eq(inode_of(path), ino);
	cr_assert_eq(netns_check(path, &cause), 0, "%s", cause);
	cr_assert_eq(mounts_mentioning(path), 1);
	cr_assert_eq(netns_remove(path, NULL), 0);
	free(path);
}

Test(netns, remove_is_idempotent)
{
	char	*path, *cause = NULL, never[600];

	require_netns();
	path = create_ok("twice");
	cr_assert_eq(netns_remove(path, &cause), 0, "%s", cause);
	cr_assert_eq(netns_remove(path, &cause), 0, "%s", cause);
	free(path);

	snprintf(never, sizeof never, "%s/never-created", tmpdir);
	cr_assert_eq(netns_remove(never, &cause), 0, "%s", cause);
	snprintf(never, sizeof never, "%s/no-such-dir/x", tmpdir);
	cr_assert_eq(netns_remove(never, &cause), 0, "%s", cause);
}

Test(netns, remove_plain_file)
{
	char	 path[600], *cause = NULL;
	int	 fd;

	snprintf(path, sizeof path, "%s/plain", tmpdir);
	cr_assert_geq(fd = open(path, O_CREAT|O_WRONLY, 0644), 0);
	close(fd);
	cr_assert_eq(netns_remove(path, &cause), 0, "%s", cause);
	cr_assert_eq(access(path, F_OK), -1);
}

Test(netns, remove_directory_fails)
{
	char	 path[600], *cause = NULL;

	snprintf(path, sizeof path, "%s/dir", tmpdir);
	cr_assert_eq(mkdir(path, 0755), 0);
	cr_assert_eq(netns_remove(path, &cause), -1);
	cr_assert_not_null(cause);
	cr_assert_not_null(strstr(cause, path), "%s", cause);
	free(cause);
}

Test(netns, check_rejects_other_files)
{
	char	 path[600], *cause = NULL;
	int	 fd;

	snprintf(path, sizeof path, "%s/regular", tmpdir);
	cr_assert_geq(fd = open(path, O_CREAT|O_WRONLY, 0644), 0);
	close(fd);
	cr_assert_eq(netns_check(path, &cause), -1);
	cr_assert_not_null(cause);
	cr_assert_str_eq(cause + strlen(path), ": not a network namespace");
	cr_assert_eq(strncmp(cause, path, strlen(path)), 0, "%s", cause);
	free(cause);

	snprintf(path, sizeof path, "%s/missing", tmpdir);
	cause = NULL;
	cr_assert_eq(netns_check(path, &cause), -1);
	cr_assert_not_null(cause);
	cr_assert_str_eq(cause + strlen(path), ": No such file or directory");
	free(cause);

	/* A FIFO must neither block nor pass. */
	snprintf(path, sizeof path, "%s/fifo", tmpdir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_eq(netns_check(path, NULL), -1);
	cr_assert_eq(netns_check("/dev/null", NULL), -1);
	cr_assert_eq(netns_check(tmpdir, NULL), -1);

	/* A namespace, but not a network one. */
	cause = NULL;
	cr_assert_eq(netns_check("/proc/self/ns/uts", &cause), -1);
	cr_assert_str_eq(cause, "/proc/self/ns/uts: not a network namespace");
	free(cause);
}

Test(netns, check_accepts_proc_link)
{
	char	*cause = NULL;

	cr_assert_eq(netns_check("/proc/self/ns/net", &cause), 0, "%s",
	    cause);
}

Test(netns, many_leave_nothing)
{
	char	*path, name[32];
	int	 i;

	require_netns();
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "ns-%d", i);
		path = create_ok(name);
		cr_assert_eq(netns_remove(path, NULL), 0);
		free(path);
	}
	cr_assert_eq(entries_in(nsdir), 0);
	cr_assert_eq(mounts_mentioning(tmpdir), 0);
}

Test(netns, bad_names_leave_nothing)
{
	const char	*bad[] = { "", ".", "..", "a/b", "../x", "/abs" };
	char		*path, *cause;
	size_t		 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		path = (char *)"untouched";
		cause = NULL;
		cr_assert_eq(netns_create(nsdir, bad[i], &path, &cause), -1,
		    "name \"%s\" accepted", bad[i]);
		cr_assert_null(path);
		cr_assert_not_null(cause);
		cr_assert_not_null(strstr(cause, "invalid"), "%s", cause);
		free(cause);
	}
	cr_assert_eq(entries_in(tmpdir), 0);
}

Test(netns, bad_dirs_leave_nothing)
{
	char	 dir[600], *path = NULL, *cause = NULL;
	char	 longname[300];
	int	 fd;

	/* The directory is a file. */
	snprintf(dir, sizeof dir, "%s/file", tmpdir);
	cr_assert_geq(fd = open(dir, O_CREAT|O_WRONLY, 0644), 0);
	close(fd);
	cr_assert_eq(netns_create(dir, "x", &path, &cause), -1);
	cr_assert_null(path);
	cr_assert_not_null(strstr(cause, dir), "%s", cause);
	free(cause);
	cr_assert_eq(unlink(dir), 0);

	/* Its parent is missing. */
	snprintf(dir, sizeof dir, "%s/missing/netns", tmpdir);
	cause = NULL;
	cr_assert_eq(netns_create(dir, "x", &path, &cause), -1);
	cr_assert_not_null(strstr(cause, "No such file"), "%s", cause);
	free(cause);

	/* A name too long for the file system. */
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	cause = NULL;
	cr_assert_eq(netns_create(nsdir, longname, &path, &cause), -1);
	cr_assert_not_null(cause);
	free(cause);
	cr_assert_eq(entries_in(nsdir), 0);
	cr_assert_eq(rmdir(nsdir), 0);
	cr_assert_eq(entries_in(tmpdir), 0);
}

/* Create with a failure injected; assert nothing is left behind. */
static void
create_fails_cleanly(const char *what)
{
	char	*path = NULL, *cause = NULL, file[600];
	ino_t	 self = inode_of("/proc/thread-self/ns/net");

	cr_assert_eq(netns_create(nsdir, "victim", &path, &cause), -1,
	    "create succeeded despite failing %s", what);
	cr_assert_null(path);
	cr_assert_not_null(cause);
	cr_assert_not_null(strstr(cause, "Operation not permitted"), "%s",
	    cause);
	free(cause);
	snprintf(file, sizeof file, "%s/victim", nsdir);
	cr_assert_eq(access(file, F_OK), -1, "%s left behind", file);
	cr_assert_eq(entries_in(nsdir), 0);
	cr_assert_eq(mounts_mentioning(tmpdir), 0);
	cr_assert_eq(inode_of("/proc/thread-self/ns/net"), self,
	    "left in the new network namespace");
}

Test(netns, unshare_failure_leaves_nothing)
{
	require_netns();
	fail_syscall(SYS_unshare, 0, 0, EPERM);
	create_fails_cleanly("unshare");
}

Test(netns, mount_failure_leaves_nothing)
{
	require_netns();
	fail_syscall(SYS_mount, 0, 0, EPERM);
	create_fails_cleanly("mount");
}

Test(netns, lo_failure_leaves_nothing)
{
	require_netns();
	fail_syscall(SYS_ioctl, 1, SIOCSIFFLAGS, EPERM);
	create_fails_cleanly("SIOCSIFFLAGS");
}

/*
 * The helper process (netns_worker.c): the same operations, answered
 * through the loop.
 */

/* What one request's callback saw. */
struct answer {
	int	 calls;
	int	 order;		/* answers_seen when it came */
	char	*path;
	char	*error;
};

static int	answers_seen;

static void
answer_cb(const char *path, const char *error, void *arg)
{
	struct answer	*a = arg;

	a->calls++;
	a->order = ++answers_seen;
	a->path = path != NULL ? strdup(path) : NULL;
	a->error = error != NULL ? strdup(error) : NULL;
}

static void
answer_free(struct answer *a)
{
	free(a->path);
	free(a->error);
}

/* Run base until *calls reaches want, at most 10 s. */
static void
run_until_answered(struct event_base *base, const int *calls, int want)
{
	struct timeval	tv = { 0, 20000 };
	int		i;

	for (i = 0; i < 500 && *calls < want; i++) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	cr_assert_geq(*calls, want, "no answer in 10 s");
}

/* Start the helper (or not) and the worker's side on a new base. */
static struct event_base *
worker_setup(bool helper)
{
	struct event_base	*base;
	char			*cause = NULL;

	require_netns();
	answers_seen = 0;
	if (helper)
		cr_assert_eq(netns_worker_start(&cause), 0, "%s", cause);
	cr_assert_not_null(base = event_base_new());
	netns_worker_init(base);
	return (base);
}

/* Stop the worker; its helper, if any, must be gone afterwards. */
static void
worker_teardown(struct event_base *base)
{
	pid_t	pid = netns_worker_pid();

	netns_worker_stop();
	if (pid != -1)
		cr_assert(kill(pid, 0) == -1 && errno == ESRCH,
		    "helper pid %d still there", (int)pid);
	event_base_free(base);
}

/* Create, check, remove through one worker; answers never come early. */
static void
worker_round_trip(struct event_base *base)
{
	struct answer	 made = { 0 }, gone = { 0 };
	char		*cause = NULL;

	netns_create_async(nsdir, "w1", answer_cb, &made);
	cr_assert_eq(made.calls, 0, "answered from inside the call");
	run_until_answered(base, &made.calls, 1);
	cr_assert_null(made.error, "%s", made.error);
	cr_assert_not_null(made.path);
	cr_assert_eq(netns_check(made.path, &cause), 0, "%s", cause);
	cr_assert(lo_is_up(made.path));

	netns_remove_async(made.path, answer_cb, &gone);
	cr_assert_eq(gone.calls, 0, "answered from inside the call");
	run_until_answered(base, &gone.calls, 1);
	cr_assert_null(gone.error, "%s", gone.error);
	cr_assert_eq(access(made.path, F_OK), -1);
	cr_assert_eq(mounts_mentioning(tmpdir), 0);
	answer_free(&made);
	answer_free(&gone);
}

Test(netns, worker_helper_round_trip)
{
	struct event_base	*base = worker_setup(true);
	char			 comm[64] = "";
	char			 path[64];
	FILE			*f;

	cr_assert_neq(netns_worker_pid(), -1);
	worker_round_trip(base);
	/* Named by then: it has answered. */
	snprintf(path, sizeof path, "/proc/%d/comm", (int)netns_worker_pid());
	cr_assert_not_null(f = fopen(path, "r"));
	cr_assert_not_null(fgets(comm, sizeof comm, f));
	fclose(f);
	cr_assert_str_eq(comm, NETNS_WORKER_NAME "\n");
	worker_teardown(base);
}

Test(netns, worker_in_process_round_trip)
{
	struct event_base	*base = worker_setup(false);

	cr_assert_eq(netns_worker_pid(), -1);
	worker_round_trip(base);
	worker_teardown(base);
}

/* Many requests in flight: answered in order, failures reported. */
Test(netns, worker_order_and_errors)
{
	struct event_base	*base = worker_setup(true);
	struct answer		 a[40] = { 0 }, dup = { 0 }, bad = { 0 };
	char			 name[16];
	int			 i;

	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "n%d", i);
		netns_create_async(nsdir, name, answer_cb, &a[i]);
	}
	netns_create_async(nsdir, "n0", answer_cb, &dup);
	netns_create_async(nsdir, "../escape", answer_cb, &bad);
	run_until_answered(base, &bad.calls, 1);
	for (i = 0; i < 20; i++) {
		cr_assert_null(a[i].error, "%s", a[i].error);
		cr_assert_eq(a[i].order, i + 1, "answer %d came %d", i,
		    a[i].order);
	}
	cr_assert_not_null(dup.error);
	cr_assert_not_null(strstr(dup.error, "exists"), "%s", dup.error);
	cr_assert_not_null(bad.error);
	for (i = 0; i < 20; i++)
		netns_remove_async(a[i].path, answer_cb, &a[20 + i]);
	run_until_answered(base, &a[39].calls, 1);
	for (i = 20; i < 40; i++)
		cr_assert_null(a[i].error, "%s", a[i].error);
	cr_assert_eq(mounts_mentioning(tmpdir), 0);
	for (i = 0; i < 40; i++)
		answer_free(&a[i]);
	answer_free(&dup);
	answer_free(&bad);
	worker_teardown(base);
}

/* A cancelled create is not answered, and what it made is removed. */
Test(netns, worker_cancel_removes)
{
	struct event_base	*base = worker_setup(true);
	struct answer		 a = { 0 }, after = { 0 };
	struct netns_req	*r;
	char			 path[600];

	r = netns_create_async(nsdir, "cancelled", answer_cb, &a);
	cr_assert_eq(netns_req_cancel(r), &a);
	/* Queued behind the clean-up, so answered after it. */
	netns_remove_async("/nonexistent/x", answer_cb, &after);
	run_until_answered(base, &after.calls, 1);
	cr_assert_eq(a.calls, 0, "a cancelled request was answered");
	snprintf(path, sizeof path, "%s/cancelled", nsdir);
	cr_assert_eq(access(path, F_OK), -1, "the cancelled netns is left");
	cr_assert_eq(mounts_mentioning(tmpdir), 0);
	answer_free(&after);
	worker_teardown(base);
}

/* The helper dies: from then on the daemon does the work itself. */
Test(netns, worker_helper_death_falls_back)
{
	struct event_base	*base = worker_setup(true);
	struct answer		 a = { 0 }, b = { 0 };
	pid_t			 pid = netns_worker_pid();

	cr_assert_eq(kill(pid, SIGKILL), 0);
	netns_create_async(nsdir, "after-death", answer_cb, &a);
	run_until_answered(base, &a.calls, 1);
	/* Either lost with the helper or made here; never silence. */
	if (a.error != NULL)
		cr_assert_not_null(strstr(a.error, "helper"), "%s", a.error);
	cr_assert_eq(netns_worker_pid(), -1, "the dead helper is still used");
	netns_create_async(nsdir, "here", answer_cb, &b);
	run_until_answered(base, &b.calls, 1);
	cr_assert_null(b.error, "%s", b.error);
	cr_assert_eq(netns_check(b.path, NULL), 0);
	cr_assert_eq(netns_remove(b.path, NULL), 0);
	if (a.path != NULL)
		cr_assert_eq(netns_remove(a.path, NULL), 0);
	waitpid(pid, NULL, 0);
	answer_free(&a);
	answer_free(&b);
	worker_teardown(base);
}
