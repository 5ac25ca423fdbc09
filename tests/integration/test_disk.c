/*
 * test_disk.c: the state directory and its file system (issue 10): file
 * modes whatever the directory was before, a full file system at start
 * (read-only service), sandbox logs kept off the store and capped, and a
 * descriptor limit the configured caps do not fit under.
 *
 * The full-disk tests mount a small tmpfs on the state directory: they
 * need root, and unmount it in .fini whatever happened.
 */
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "itest.h"
#include "protocol.h"
#include "sbc.h"

static bool	mounted;

/* Unmount the test's tmpfs (if any), then the usual clean-up. */
static void
disk_teardown(void)
{
	if (mounted && umount2(itest_d.state_dir, MNT_DETACH) == -1)
		cr_log_warn("umount %s: %s", itest_d.state_dir, strerror(errno));
	mounted = false;
	itest_teardown();
}

TestSuite(disk, .fini = disk_teardown);

/* Store.Create a record id in the default namespace; the call's code. */
static int
mk(struct sbc *c, const char *id, struct sbc_error *err)
{
	struct sbc_meta	m = itest_meta(id, RUNTIME_PAUSE, NULL);

	return (sbc_store_create(c, &m, NULL, err));
}

/* ---- file modes ------------------------------------------------------ */

static int	 loose_count;
static char	 loose_first[PATH_MAX];

/* nftw: count what group or others may use. */
static int
loose_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_SL || (sb->st_mode & 077) == 0)
		return (0);
	if (loose_count++ == 0)
		snprintf(loose_first, sizeof loose_first, "%s (%04o)", path,
		    (unsigned int)(sb->st_mode & 07777));
	return (0);
}

/* Fail if anything under dir is open to group or others. */
static void
assert_private(const char *dir)
{
	loose_count = 0;
	loose_first[0] = '\0';
	cr_assert_eq(nftw(dir, loose_cb, 16, FTW_PHYS), 0, "nftw %s", dir);
	cr_assert_eq(loose_count, 0, "%d paths open to others under %s, "
	    "first %s", loose_count, dir, loose_first);
}

/* A state dir made 0755 by someone else, with a 0644 file: tightened. */
Test(disk, loose_state_dir_is_tightened, .timeout = 60)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	char			 path[PATH_MAX + 32];
	mode_t			 old = umask(022);
	int			 fd;

	itest_daemon_init(&itest_d);
	cr_assert_eq(mkdir(itest_d.state_dir, 0755), 0);
	snprintf(path, sizeof path, "%s/notes", itest_d.state_dir);
	cr_assert_neq(fd = open(path, O_WRONLY | O_CREAT, 0644), -1);
	close(fd);
	umask(old);
	chmod(itest_d.state_dir, 0755);
	chmod(path, 0644);

	itest_daemon_start(&itest_d, NULL);
	c = itest_connect(&itest_d, "default");
	itest_expect(mk(c, "a", &err), 0, &err, "create");
	itest_make_sandbox(c, "b", RUNTIME_PAUSE, NULL);
	itest_ctrl_start(c, "b");
	sbc_close(c);
	assert_private(itest_d.state_dir);
	cr_assert(itest_log_contains(&itest_d, "open to other users"),
	    "the log should say the state directory was tightened");
	itest_daemon_stop(&itest_d);
	assert_private(itest_d.state_dir);
}

/* A state dir owned by another user is refused, saying so. */
Test(disk, foreign_state_dir_is_refused, .timeout = 60)
{
	const char	*bin = getenv("SANDBOXD_BIN");
	char		 cmd[5 * PATH_MAX];
	int		 rc;

	ITEST_NEEDS_ROOT("chown");
	itest_daemon_init(&itest_d);
	cr_assert_eq(mkdir(itest_d.state_dir, 0700), 0);
	cr_assert_eq(chown(itest_d.state_dir, 65534, 65534), 0);
	snprintf(cmd, sizeof cmd, "%s --foreground --state-dir %s --run-dir %s "
	    ">%s 2>&1", bin, itest_d.state_dir, itest_d.run_dir,
	    itest_d.log_path);
	rc = system(cmd);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 1, "status 0x%x", rc);
	cr_assert(itest_log_contains(&itest_d, "refusing it"),
	    "the log should say why the state directory was refused");
}

/* ---- a full file system at start ------------------------------------ */

/* Mount a tmpfs of size bytes on the (new) state directory. */
static void
mount_state(const char *size)
{
	char	opts[64];

	ITEST_NEEDS_ROOT("mount a tmpfs");
	itest_daemon_init(&itest_d);
	cr_assert_eq(mkdir(itest_d.state_dir, 0700), 0);
	snprintf(opts, sizeof opts, "size=%s,mode=0700", size);
	if (mount("tmpfs", itest_d.state_dir, "tmpfs", 0, opts) == -1)
		cr_skip_test("mount tmpfs: %s", strerror(errno));
	mounted = true;
}

/* Write a file in dir until the file system is full. */
static void
fill(const char *dir)
{
	static char	 buf[64 * 1024];
	char		 path[PATH_MAX + 16];
	ssize_t		 n;
	int		 fd;

	snprintf(path, sizeof path, "%s/filler", dir);
	cr_assert_neq(fd = open(path, O_WRONLY | O_CREAT, 0600), -1);
	memset(buf, 'x', sizeof buf);
	while ((n = write(fd, buf, sizeof buf)) > 0)
		;
	cr_assert_eq(errno, ENOSPC, "fill: %s", strerror(errno));
	/* The last partial blocks too. */
	while (write(fd, buf, 1) == 1)
		;
	close(fd);
}

/* Full at start: Get, List and Status answered; writes Unavailable. */
Test(disk, full_at_start_serves_read_only, .timeout = 90)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	struct sbc_meta		 got = {0}, *list = NULL;
	struct sbc_status	 st = {0};
	size_t			 n = 0;

	mount_state("24m");
	itest_daemon_start(&itest_d, NULL);
	c = itest_connect(&itest_d, "default");
	itest_expect(mk(c, "kept", &err), 0, &err, "create");
	itest_make_sandbox(c, "inst", RUNTIME_PAUSE, NULL);
	sbc_close(c);
	itest_daemon_stop(&itest_d);

	fill(itest_d.state_dir);
	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, "default");
	itest_expect(sbc_store_get(c, "kept", &got, &err), 0, &err, "get");
	cr_assert_str_eq(got.id, "kept");
	sbc_meta_free(&got);
	itest_expect(sbc_store_list(c, NULL, 0, &list, &n, &err), 0, &err,
	    "list");
	cr_assert_eq(n, 2, "list: %zu records", n);
	sbc_meta_list_free(list, n);
	itest_expect(sbc_ctrl_status(c, "inst", false, &st, &err), 0, &err,
	    "status");
	sbc_status_free(&st);

	cr_assert_eq(mk(c, "new", &err), STATUS_UNAVAILABLE, "create: %d %s",
	    err.code, err.message);
	cr_assert_not_null(strstr(err.message, "full"),
	    "the error should say why: %s", err.message);
	sbc_error_clear(&err);
	cr_assert_eq(sbc_store_delete(c, "kept", &err), STATUS_UNAVAILABLE);
	sbc_error_clear(&err);
	cr_assert_eq(sbc_ctrl_start(c, "inst", NULL, &err), STATUS_UNAVAILABLE);
	sbc_error_clear(&err);
	/* Nothing was changed by the refused writes. */
	itest_expect(sbc_store_get(c, "kept", &got, &err), 0, &err, "get");
	sbc_meta_free(&got);
	sbc_close(c);
	cr_assert(itest_log_contains(&itest_d, "read-only"));
	itest_daemon_stop(&itest_d);
}

/* ---- a descriptor limit the caps do not fit under ------------------- */

/*
 * Start the suite daemon under a hard and soft descriptor limit of n (it
 * stays on the test's process, which Criterion runs for this test only).
 */
static void
start_with_nofile(rlim_t n)
{
	struct rlimit	low = { n, n };

	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	itest_daemon_start(&itest_d, NULL);
}

/*
 * With 400 descriptors the default connection cap (4096) does not fit:
 * it is lowered, saying so; sandboxes then take what is left until Start
 * answers ResourceExhausted, and commits (Store.Create, on connections
 * opened after that) still work.
 */
Test(disk, fd_limit_lowers_caps_and_refuses_starts, .timeout = 300)
{
	struct sbc		*c, *more[8];
	struct sbc_error	 err = {0};
	struct sbc_start_info	 si;
	char			 id[32];
	int			 i, rc = 0, started = 0;

	start_with_nofile(400);
	cr_assert(itest_log_contains(&itest_d, "limits.max_connections "
	    "lowered"), "the log should say which cap came down");
	c = itest_connect(&itest_d, "default");
	for (i = 0; i < 400; i++) {
		snprintf(id, sizeof id, "s%d", i);
		itest_make_sandbox(c, id, RUNTIME_PAUSE, NULL);
		memset(&si, 0, sizeof si);
		if ((rc = sbc_ctrl_start(c, id, &si, &err)) != 0)
			break;
		itest_track(si.pid);
		sbc_start_info_free(&si);
		started++;
	}
	cr_assert_eq(rc, STATUS_RESOURCE_EXHAUSTED, "start %d: %d %s", i, rc,
	    err.message);
	cr_assert_not_null(strstr(err.message, "descriptors"), "%s",
	    err.message);
	sbc_error_clear(&err);
	cr_assert_gt(started, 10, "only %d sandboxes started", started);
	/* Commits keep working, on new connections too. */
	for (i = 0; i < 8; i++) {
		more[i] = itest_connect(&itest_d, "default");
		snprintf(id, sizeof id, "r%d", i);
		itest_expect(mk(more[i], id, &err), 0, &err, "store create");
	}
	for (i = 0; i < 50; i++) {
		snprintf(id, sizeof id, "m%d", i);
		itest_expect(mk(c, id, &err), 0, &err, "store create");
	}
	for (i = 0; i < 8; i++)
		sbc_close(more[i]);
	sbc_close(c);
	itest_daemon_stop(&itest_d);
}

/* ---- sandbox logs: off the store, capped, rotated --------------------- */

#define FLOOD_SPEC \
	"{\"process\":{\"args\":[\"yes\",\"a line of output\"]," \
	"\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\"}}"
#define HELLO_SPEC \
	"{\"process\":{\"args\":[\"sh\",\"-c\",\"echo hello; " \
	"while :; do echo tick; sleep 0.1; done\"]," \
	"\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\"}}"
#define LOG_CAP		65536

/* Write a config file capping sandbox logs at LOG_CAP; its path. */
static const char *
log_config(void)
{
	static char	path[PATH_MAX];
	FILE		*f;

	itest_daemon_init(&itest_d);
	snprintf(path, sizeof path, "%s/sandboxd.conf", itest_d.dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "[limits]\nsandbox_log_bytes = %d\n", LOG_CAP);
	fclose(f);
	return (path);
}

/* The size of path, or -1 if it does not exist. */
static long long
file_size(const char *path)
{
	struct stat	sb;

	return (stat(path, &sb) == 0 ? (long long)sb.st_size : -1);
}

/* Whether path holds s (in its first 1 MiB). */
static bool
file_contains(const char *path, const char *s)
{
	static char	buf[1 << 20];
	ssize_t		n;
	int		fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return (false);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (false);
	buf[n] = '\0';
	return (strstr(buf, s) != NULL);
}

/*
 * A sandbox writing as fast as it can: its log and the one rotated copy
 * stay under the cap, outside the state directory, and the daemon keeps
 * answering; Shutdown removes them.
 */
Test(disk, flooding_sandbox_log_is_capped, .timeout = 120)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	char			 log[PATH_MAX + 64], old[PATH_MAX + 80];
	char			 id[32];
	int64_t			 deadline;
	int			 i;

	itest_daemon_start(&itest_d, "--config", log_config(), NULL);
	c = itest_connect(&itest_d, "default");
	itest_make_sandbox(c, "flood", RUNTIME_EXEC, FLOOD_SPEC);
	itest_ctrl_start(c, "flood");
	snprintf(log, sizeof log, "%s/logs/default/flood.log", itest_d.run_dir);
	snprintf(old, sizeof old, "%s.1", log);
	/* Rotated at least three times, while the daemon answers. */
	deadline = itest_now_ms() + 60000;
	for (i = 0; itest_now_ms() < deadline; i++) {
		snprintf(id, sizeof id, "r%d", i);
		itest_expect(mk(c, id, &err), 0, &err, "store create");
		cr_assert_leq(file_size(log), LOG_CAP);
		cr_assert_leq(file_size(old), LOG_CAP);
		if (i >= 20 && file_size(old) == LOG_CAP)
			break;
	}
	cr_assert_eq(file_size(old), LOG_CAP, "no rotation in 60 s");
	cr_assert(file_contains(old, "a line of output"));
	itest_expect(sbc_ctrl_shutdown(c, "flood", &err), 0, &err, "shutdown");
	cr_assert_eq(file_size(log), -1, "the log should be gone");
	cr_assert_eq(file_size(old), -1, "the old log should be gone");
	sbc_close(c);
	itest_daemon_stop(&itest_d);
}

/* The log is still read after a kill -9 and restart of the daemon. */
Test(disk, sandbox_log_survives_daemon_restart, .timeout = 120)
{
	struct sbc		*c;
	char			 log[PATH_MAX + 64];
	int64_t			 deadline;
	long long		 size;

	itest_daemon_start(&itest_d, "--config", log_config(), NULL);
	c = itest_connect(&itest_d, "default");
	itest_make_sandbox(c, "hello", RUNTIME_EXEC, HELLO_SPEC);
	itest_ctrl_start(c, "hello");
	sbc_close(c);
	snprintf(log, sizeof log, "%s/logs/default/hello.log", itest_d.run_dir);
	deadline = itest_now_ms() + 30000;
	while (!file_contains(log, "hello") && itest_now_ms() < deadline)
		usleep(20000);
	cr_assert(file_contains(log, "hello"), "no output in the log");
	itest_daemon_kill9(&itest_d);
	itest_daemon_restart(&itest_d);
	size = file_size(log);
	deadline = itest_now_ms() + 30000;
	while (file_size(log) <= size + 50 && itest_now_ms() < deadline)
		usleep(20000);
	cr_assert_gt(file_size(log), size + 50, "the log stopped growing "
	    "after the restart");
	itest_daemon_stop(&itest_d);
}
