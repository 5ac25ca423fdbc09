/*
 * test_rootfs.c: procmgr/rootfs.c with real mounts (needs root).
 *
 * Each test runs in its own process (Criterion forks) and, first, in its
 * own private mount namespace, so that nothing it mounts is seen by the
 * host or outlives it.
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "runc.h"

#define TEST_TIMEOUT	60

static char	tmpdir[] = "/tmp/test_rootfs.XXXXXX";
static char	rootfs[256];

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return (0);
}

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(rootfs, sizeof rootfs, "%s/bundle/rootfs", tmpdir);
	if (unshare(CLONE_NEWNS) == -1)
		cr_skip_test("unshare(CLONE_NEWNS): %s (needs root)",
		    strerror(errno));
	cr_assert_eq(mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
}

static void
teardown(void)
{
	char	*cause = NULL;

	rootfs_unmount(rootfs, &cause);
	free(cause);
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

TestSuite(rootfs, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT);

/* tmpdir/name, made as a directory. */
static char *
dir(const char *name)
{
	char	*path;

	cr_assert_neq(asprintf(&path, "%s/%s", tmpdir, name), -1);
	cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "%s: %s", path,
	    strerror(errno));
	return (path);
}

/* Write text into dir/name. */
static void
put(const char *d, const char *name, const char *text)
{
	char	 path[4096];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", d, name);
	cr_assert_not_null(f = fopen(path, "w"), "%s: %s", path,
	    strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* What rootfs/name holds ("" if missing). */
static const char *
get(const char *name)
{
	static char	 buf[256];
	char		 path[4096];
	FILE		*f;
	size_t		 n;

	buf[0] = '\0';
	snprintf(path, sizeof path, "%s/%s", rootfs, name);
	if ((f = fopen(path, "r")) == NULL)
		return (buf);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

/* Is path a mount point in this namespace? */
static bool
mounted(const char *path)
{
	char	*line = NULL, mnt[4096];
	size_t	 cap = 0;
	FILE	*f;
	bool	 found = false;

	cr_assert_not_null(f = fopen("/proc/self/mountinfo", "r"));
	while (getline(&line, &cap, f) != -1)
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 &&
		    strcmp(mnt, path) == 0)
			found = true;
	free(line);
	fclose(f);
	return (found);
}

Test(rootfs, bind_and_idempotent_unmount)
{
	const char		*opts[] = { "rbind", "rw" };
	struct rootfs_mount	 m = { "bind", NULL, NULL, opts, 2 };
	char			*src = dir("src"), *cause = NULL;

	put(src, "hello", "bound");
	m.source = src;
	cr_assert_eq(rootfs_mount(rootfs, &m, 1, &cause), 0, "%s", cause);
	cr_assert(mounted(rootfs));
	cr_assert_str_eq(get("hello"), "bound");
	put(rootfs, "written", "through");

	cr_assert_eq(rootfs_unmount(rootfs, &cause), 0, "%s", cause);
	cr_assert(!mounted(rootfs));
	cr_assert_str_eq(get("hello"), "");
	cr_assert_eq(rootfs_unmount(rootfs, &cause), 0, "%s", cause);
	/* A directory that does not exist is not mounted either. */
	cr_assert_eq(rootfs_unmount("/nonexistent/rootfs", &cause), 0);
	free(src);
}

Test(rootfs, read_only_bind)
{
	const char		*opts[] = { "rbind", "ro" };
	struct rootfs_mount	 m = { "bind", NULL, NULL, opts, 2 };
	char			 path[4096], *src = dir("src"), *cause = NULL;

	put(src, "hello", "bound");
	m.source = src;
	cr_assert_eq(rootfs_mount(rootfs, &m, 1, &cause), 0, "%s", cause);
	cr_assert_str_eq(get("hello"), "bound");
	snprintf(path, sizeof path, "%s/new", rootfs);
	cr_assert_eq(open(path, O_WRONLY | O_CREAT, 0644), -1);
	cr_assert_eq(errno, EROFS, "%s", strerror(errno));
	free(src);
}

Test(rootfs, stacked_mounts_all_unmounted)
{
	const char		*opts[] = { "bind" };
	struct rootfs_mount	 m = { "bind", NULL, NULL, opts, 1 };
	char			*a = dir("a"), *b = dir("b"), *cause = NULL;

	put(a, "f", "a");
	put(b, "f", "b");
	m.source = a;
	cr_assert_eq(rootfs_mount(rootfs, &m, 1, &cause), 0, "%s", cause);
	m.source = b;
	cr_assert_eq(rootfs_mount(rootfs, &m, 1, &cause), 0, "%s", cause);
	cr_assert_str_eq(get("f"), "b");
	cr_assert_eq(rootfs_unmount(rootfs, &cause), 0, "%s", cause);
	cr_assert(!mounted(rootfs));
	free(a);
	free(b);
}

Test(rootfs, overlay)
{
	char			*lower1 = dir("l1"), *lower2 = dir("l2");
	char			*upper = dir("upper"), *work = dir("work");
	char			*lowerdir, *upperdir, *workdir, *cause = NULL;
	char			 path[4096];
	const char		*opts[4];
	struct rootfs_mount	 m = { "overlay", "overlay", NULL, opts, 4 };
	struct stat		 st;

	put(lower1, "top", "l1");
	put(lower2, "top", "l2");
	put(lower2, "bottom", "l2");
	asprintf(&lowerdir, "lowerdir=%s:%s", lower1, lower2);
	asprintf(&upperdir, "upperdir=%s", upper);
	asprintf(&workdir, "workdir=%s", work);
	opts[0] = "index=off";
	opts[1] = lowerdir;
	opts[2] = upperdir;
	opts[3] = workdir;
	cr_assert_eq(rootfs_mount(rootfs, &m, 1, &cause), 0, "%s", cause);
	cr_assert_str_eq(get("top"), "l1");
	cr_assert_str_eq(get("bottom"), "l2");
	put(rootfs, "new", "container");
	snprintf(path, sizeof path, "%s/new", upper);
	cr_assert_eq(stat(path, &st), 0, "write did not reach upperdir");
	cr_assert_eq(rootfs_unmount(rootfs, &cause), 0, "%s", cause);
	cr_assert(!mounted(rootfs));
	free(lowerdir);
	free(upperdir);
	free(workdir);
	free(lower1);
	free(lower2);
	free(upper);
	free(work);
}

/* Over a page of lowerdir: mounted through the common-parent trick. */
Test(rootfs, overlay_lowerdir_beyond_a_page)
{
	enum { LAYERS = 120 };
	char			*snaps = dir("snapshots-with-a-long-name");
	char			*lower, *p, layer[4096], name[32];
	char			*upperdir, *workdir, *cause = NULL;
	const char		*opts[3];
	struct rootfs_mount	 m = { "overlay", "overlay", NULL, opts, 3 };
	int			 i;

	lower = strdup("lowerdir=");
	for (i = 0; i < LAYERS; i++) {
		snprintf(layer, sizeof layer, "%s/%d", snaps, 1000 + i);
		mkdir(layer, 0755);
		strcat(layer, "/fs");
		mkdir(layer, 0755);
		snprintf(name, sizeof name, "f%d", i);
		put(layer, name, name);
		p = lower;
		asprintf(&lower, "%s%s%s", p, i > 0 ? ":" : "", layer);
		free(p);
	}
	cr_assert_gt(strlen(lower), 4096, "lowerdir only %zu bytes",
	    strlen(lower));
	p = dir("up");
	asprintf(&upperdir, "upperdir=%s", p);
	free(p);
	p = dir("wk");
	asprintf(&workdir, "workdir=%s", p);
	free(p);
	opts[0] = lower;
	opts[1] = upperdir;
	opts[2] = workdir;
	cr_assert_eq(rootfs_mount(rootfs, &m, 1, &cause), 0, "%s", cause);
	cr_assert_str_eq(get("f0"), "f0");
	cr_assert_str_eq(get("f119"), "f119");
	/* The working directory is back where it was. */
	cr_assert_not_null(getcwd(layer, sizeof layer));
	cr_assert_null(strstr(layer, "snapshots"), "cwd left at %s", layer);
	free(lower);
	free(upperdir);
	free(workdir);
	free(snaps);
}

Test(rootfs, bad_input_refused_and_nothing_left)
{
	const char		*loop[] = { "loop" };
	const char		*bind[] = { "rbind" };
	const char		*bad[] = { "lowerdir=/nonexistent/a",
	    "upperdir=/nonexistent/u", "workdir=/nonexistent/w" };
	struct rootfs_mount	 m[2];
	char			*src = dir("src"), *cause = NULL;

	memset(m, 0, sizeof m);
	m[0].type = "ext9";
	m[0].source = "/dev/sda";
	cr_assert_eq(rootfs_mount(rootfs, m, 1, &cause), -1);
	cr_assert_str_eq(cause, "unsupported mount type \"ext9\" "
	    "(supported: overlay, bind, tmpfs)");
	free(cause);

	m[0].type = "bind";
	m[0].source = src;
	m[0].options = loop;
	m[0].noptions = 1;
	cr_assert_eq(rootfs_mount(rootfs, m, 1, &cause), -1);
	cr_assert_str_eq(cause, "mount option \"loop\" is not supported");
	free(cause);

	m[0].options = bind;
	m[0].target = "../escape";
	cr_assert_eq(rootfs_mount(rootfs, m, 1, &cause), -1);
	cr_assert_str_eq(cause, "mount target \"../escape\" leaves the rootfs");
	free(cause);
	cr_assert(!mounted(rootfs));

	/* The second mount fails: the first is undone. */
	m[0].target = NULL;
	m[1].type = "overlay";
	m[1].source = "overlay";
	m[1].options = bad;
	m[1].noptions = 3;
	cr_assert_eq(rootfs_mount(rootfs, m, 2, &cause), -1);
	cr_assert_not_null(strstr(cause, "mount overlay overlay on "), "%s",
	    cause);
	free(cause);
	cr_assert(!mounted(rootfs), "first mount left behind");
	free(src);
}

Test(rootfs, target_below_rootfs)
{
	const char		*opts[] = { "rbind" };
	struct rootfs_mount	 m[2] = {
		{ "tmpfs", "tmpfs", NULL, NULL, 0 },
		{ "bind", NULL, "/data", opts, 1 },
	};
	char			*src = dir("src"), path[4096], *cause = NULL;

	put(src, "hello", "sub");
	m[1].source = src;
	/* The tmpfs needs a data dir to mount on: make it after mount 0. */
	cr_assert_eq(rootfs_mount(rootfs, m, 1, &cause), 0, "%s", cause);
	snprintf(path, sizeof path, "%s/data", rootfs);
	cr_assert_eq(mkdir(path, 0755), 0);
	cr_assert_eq(rootfs_mount(rootfs, &m[1], 1, &cause), 0, "%s", cause);
	cr_assert_str_eq(get("data/hello"), "sub");
	cr_assert_eq(rootfs_unmount(rootfs, &cause), 0, "%s", cause);
	cr_assert(!mounted(rootfs));
	cr_assert(!mounted(path));
	free(src);
}
