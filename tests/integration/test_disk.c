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
