/*
 * test_oomwatch.c: procmgr/oomwatch.c against real OOM kills.  Each test
 * makes a memory cgroup of its own under the test process's (v1 or v2,
 * as this host mounts it) with a 32 MiB limit and no swap, puts a forked
 * child in it that touches 256 MiB, and runs a loop with the watch: the
 * kernel kills the child, the callback hears of it once.  Removal, the
 * check at exit, kills before the watch and bad directories too.  Needs
 * root and a memory cgroup it may write; skipped otherwise.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <linux/magic.h>

#include "cgstats.h"
#include "oomwatch.h"

#define TEST_TIMEOUT	60
#define LIMIT		"33554432"		/* 32 MiB */
#define TOUCH		(256UL * 1024 * 1024)	/* well past it */

static char			 cg[512];	/* this test's cgroup */
static int			 cgver;
static struct event_base	*base;

/* What a watch heard. */
struct heard {
	uint64_t	kills;
	int		calls;
};

/* Write text to a file of the test's cgroup; false if it fails. */
static bool
cg_put(const char *name, const char *text)
{
	char	path[600];
	int	fd;
	bool	ok;

	snprintf(path, sizeof(path), "%s/%s", cg, name);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return (false);
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return (ok);
}

/* A cgroup under ours with a 32 MiB limit and no swap, or skip. */
static void
setup(void)
{
	struct statfs	 sfs;
	char		*parent, *err = NULL;

	if (geteuid() != 0)
		cr_skip_test("needs root to make a memory cgroup");
	if ((parent = cgstats_memory_dir(getpid(), &err)) == NULL)
		cr_skip_test("no memory cgroup here: %s", err);
	cr_assert_eq(statfs(parent, &sfs), 0);
	cgver = sfs.f_type == CGROUP2_SUPER_MAGIC ? 2 : 1;
	snprintf(cg, sizeof(cg), "%s/oomwatch-test.%d", parent, (int)getpid());
	free(parent);
	if (mkdir(cg, 0755) == -1)
		cr_skip_test("mkdir %s: %s", cg, strerror(errno));
	if (cgver == 1) {
		cr_assert(cg_put("memory.limit_in_bytes", LIMIT));
		cg_put("memory.memsw.limit_in_bytes", LIMIT);	/* if swap */
	} else {
		if (!cg_put("memory.max", LIMIT)) {
			rmdir(cg);
			cr_skip_test("%s: no memory controller enabled", cg);
		}
		cg_put("memory.swap.max", "0");
	}
	cr_assert_not_null(base = event_base_new());
}

/* Remove the cgroup once its killed children are reaped. */
static void
teardown(void)
{
	int	i;

	if (base != NULL)
		event_base_free(base);
	for (i = 0; i < 100 && rmdir(cg) == -1 && errno == EBUSY; i++)
		usleep(20000);
}

TestSuite(oomwatch, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT);

/* Count what a watch is told; the first news ends the loop. */
static void
heard_cb(void *arg, uint64_t kills)
{
	struct heard	*h = arg;

	h->kills += kills;
	h->calls++;
	event_base_loopbreak(base);
}

/*
 * A child in the cgroup, waiting for a byte on the pipe before it
 * touches far more memory than the limit; *go is the pipe's write end.
 */
static pid_t
hog_start(int *go)
{
	char	 pid[32], *p;
	size_t	 off;
	int	 gofds[2], ready[2];
	pid_t	 child;

	cr_assert_eq(pipe(gofds), 0);
	cr_assert_eq(pipe(ready), 0);
	cr_assert_neq(child = fork(), -1);
	if (child == 0) {
		close(gofds[1]);
		close(ready[0]);
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		if (!cg_put("cgroup.procs", pid) || write(ready[1], "r", 1) != 1 ||
		    read(gofds[0], pid, 1) != 1)
			_exit(2);
		p = mmap(NULL, TOUCH, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(3);
		for (off = 0; off < TOUCH; off += 4096)
			p[off] = 1;
		_exit(0);
	}
	close(gofds[0]);
	close(ready[1]);
	cr_assert_eq(read(ready[0], pid, 1), 1, "the child did not join %s",
	    cg);
	close(ready[0]);
	*go = gofds[1];
	return (child);
}

/* Let the hog go. */
static void
hog_go(int go)
{
	cr_assert_eq(write(go, "x", 1), 1);
	close(go);
}

/* The hog must die of SIGKILL: the OOM killer's. */
static void
hog_reap(pid_t child)
{
	int	status;

	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "the child was not OOM-killed: status %#x", status);
}

/* One hog, started and killed, the loop not running. */
static void
oom_once(void)
{
	int	go;
	pid_t	child = hog_start(&go);

	hog_go(go);
	hog_reap(child);
}

/* Run the loop until a callback breaks it or secs pass. */
static void
loop_for(int secs)
{
	struct timeval	tv = { secs, 0 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

Test(oomwatch, kill_is_told_once)
{
	struct heard	 h = { 0, 0 };
	struct oomwatch	*w;
	char		*err = NULL;
	int		 go;
	pid_t		 child;

	child = hog_start(&go);
	w = oomwatch_add_pid(base, child, heard_cb, &h, &err);
	cr_assert_not_null(w, "oomwatch_add_pid: %s", err);
	cr_assert_str_eq(oomwatch_dir(w), cg);
	cr_assert_eq(oomwatch_version(w), cgver);
	hog_go(go);
	loop_for(20);
	hog_reap(child);
	cr_assert_eq(h.calls, 1, "told %d times", h.calls);
	cr_assert_eq(h.kills, 1);
	/* Nothing more comes, and the check after the fact adds nothing. */
	loop_for(1);
	oomwatch_check(w);
	cr_assert_eq(h.kills, 1, "told %ju kills", h.kills);
	oomwatch_remove(w);
}

Test(oomwatch, removed_watch_is_not_told)
{
	struct heard	 a = { 0, 0 }, b = { 0, 0 };
	struct oomwatch	*wa, *wb;
	char		*err = NULL;

	wa = oomwatch_add(base, cg, heard_cb, &a, &err);
	cr_assert_not_null(wa, "oomwatch_add: %s", err);
	wb = oomwatch_add(base, cg, heard_cb, &b, &err);
	cr_assert_not_null(wb, "oomwatch_add: %s", err);
	oomwatch_remove(wa);
	oom_once();
	loop_for(20);
	cr_assert_eq(b.kills, 1, "the kept watch heard %ju kills", b.kills);
	cr_assert_eq(a.calls, 0, "the removed watch was told");
	oomwatch_remove(wb);
	/* The directory can be watched again after its last watch went. */
	wa = oomwatch_add(base, cg, heard_cb, &a, &err);
	cr_assert_not_null(wa, "oomwatch_add again: %s", err);
	oom_once();
	loop_for(20);
	cr_assert_eq(a.kills, 1, "the new watch heard %ju kills", a.kills);
	oomwatch_remove(wa);
}

Test(oomwatch, check_tells_a_kill_the_loop_has_not_seen)
{
	struct heard	 h = { 0, 0 };
	struct oomwatch	*w;
	char		*err = NULL;

	w = oomwatch_add(base, cg, heard_cb, &h, &err);
	cr_assert_not_null(w, "oomwatch_add: %s", err);
	oom_once();
	oomwatch_check(w);
	cr_assert_eq(h.kills, 1, "check told %ju kills", h.kills);
	oomwatch_check(w);
	/* The notice still pending in the loop finds nothing new. */
	loop_for(3);
	cr_assert_eq(h.calls, 1, "told %d times", h.calls);
	oomwatch_remove(w);
}

Test(oomwatch, kills_before_the_watch_are_not_told)
{
	struct heard	 h = { 0, 0 };
	struct oomwatch	*w;
	char		*err = NULL;

	oom_once();
	w = oomwatch_add(base, cg, heard_cb, &h, &err);
	cr_assert_not_null(w, "oomwatch_add: %s", err);
	oomwatch_check(w);
	cr_assert_eq(h.calls, 0, "an earlier kill was told");
	oom_once();
	loop_for(20);
	cr_assert_eq(h.kills, 1, "told %ju kills", h.kills);
	oomwatch_remove(w);
}

Test(oomwatch, bad_directories_are_refused)
{
	struct heard	 h = { 0, 0 };
	char		*err = NULL, other[600];
	int		 status;
	pid_t		 child;

	cr_assert_null(oomwatch_add(base, "/nonexistent/cg", heard_cb, &h,
	    &err));
	cr_assert(strstr(err, "/nonexistent/cg") != NULL, "%s", err);
	free(err);
	err = NULL;
	cr_assert_null(oomwatch_add(base, "/tmp", heard_cb, &h, &err));
	cr_assert(strstr(err, "not a cgroup") != NULL, "%s", err);
	free(err);
	err = NULL;
	/* A cgroup directory, but not of the memory controller. */
	snprintf(other, sizeof(other), "%s", cgver == 1 ?
	    "/sys/fs/cgroup/pids" : "/sys/fs/cgroup/unified");
	if (access(other, F_OK) == 0 && strcmp(other, cg) != 0) {
		cr_assert_null(oomwatch_add(base, other, heard_cb, &h, &err),
		    "%s watched", other);
		cr_assert(strstr(err, "no memory controller") != NULL, "%s",
		    err);
		free(err);
		err = NULL;
	}
	/* A pid that is no more. */
	cr_assert_neq(child = fork(), -1);
	if (child == 0)
		_exit(0);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert_null(oomwatch_add_pid(base, child, heard_cb, &h, &err));
	cr_assert(strstr(err, "/cgroup") != NULL, "%s", err);
	free(err);
	cr_assert_eq(h.calls, 0);
}

Test(oomwatch, count_is_read_without_a_watch)
{
	uint64_t	 before, after;
	char		*err = NULL;

	cr_assert_eq(oomwatch_count(cg, &before, &err), 0, "%s", err);
	oom_once();
	cr_assert_eq(oomwatch_count(cg, &after, &err), 0, "%s", err);
	cr_assert_eq(after, before + 1, "count %ju then %ju", before, after);
	cr_assert_eq(oomwatch_count("/nonexistent/cg", &after, &err), -1);
	cr_assert(strstr(err, "/nonexistent/cg") != NULL, "%s", err);
	free(err);
	err = NULL;
	cr_assert_eq(oomwatch_count("/tmp", &after, &err), -1);
	cr_assert(strstr(err, "not a cgroup") != NULL, "%s", err);
	free(err);
}

/*
 * A restarted daemon's watch: a kill counted after the recorded count
 * (before this watch began) is told at the check, once; a recorded count
 * above the kernel's is another cgroup's and changes nothing.
 */
Test(oomwatch, since_tells_kills_after_a_recorded_count)
{
	struct heard	 h = { 0, 0 };
	struct oomwatch	*w;
	uint64_t	 recorded;
	char		*err = NULL;

	cr_assert_eq(oomwatch_count(cg, &recorded, &err), 0, "%s", err);
	oom_once();
	w = oomwatch_add(base, cg, heard_cb, &h, &err);
	cr_assert_not_null(w, "oomwatch_add: %s", err);
	cr_assert_eq(oomwatch_told(w), recorded + 1);
	oomwatch_since(w, recorded);
	cr_assert_eq(oomwatch_told(w), recorded);
	oomwatch_check(w);
	cr_assert_eq(h.kills, 1, "the kill before the watch: %ju told",
	    h.kills);
	cr_assert_eq(oomwatch_told(w), recorded + 1);
	oomwatch_check(w);
	cr_assert_eq(h.calls, 1, "told %d times", h.calls);
	oomwatch_since(w, recorded + 100);
	cr_assert_eq(oomwatch_told(w), recorded + 1, "a count from elsewhere");
	oom_once();
	loop_for(20);
	cr_assert_eq(h.kills, 2, "the next kill: %ju told in all", h.kills);
	oomwatch_remove(w);
}
