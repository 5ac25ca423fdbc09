/*
 * oomwatch.c: OOM kills in a memory cgroup, told as they happen.
 *
 * The kernel counts a memory cgroup's OOM kills (oom_kill in v2's
 * memory.events, in v1's memory.oom_control since Linux 4.13); a watch
 * remembers the count it last told and tells only growth, so a notice
 * that comes twice, or a check at exit after the notice, never tells a
 * kill twice.  What wakes the loop:
 *
 * - cgroup v2: memory.events changes (the kernel notifies pollers and
 *   inotify of it).  One inotify descriptor serves every v2 watch, opened
 *   with the first and closed with the last; the watches hang in a tree
 *   by watch descriptor (two watches of one directory share one).
 * - cgroup v1: an eventfd the kernel signals on each OOM of the cgroup,
 *   registered by writing "<eventfd> <fd of memory.oom_control>" to
 *   cgroup.event_control; one descriptor per watch, closed at removal
 *   (closing it unregisters).  The kernel signals before it picks and
 *   kills a victim, so the count read at once may not have grown yet: it
 *   is read again after 10 ms, doubling, for about 2.5 s.  Without the
 *   counter (old kernels) each signal is one kill.  The eventfd is also
 *   signalled when the cgroup is removed: a directory gone ends the watch
 *   quietly.
 */
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/vfs.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <linux/magic.h>

#include "cgstats.h"
#include "cgstats_int.h"
#include "log.h"
#include "oomwatch.h"
#include "tree.h"
#include "xmalloc.h"

#define OOM_RECHECK_MS		10	/* first re-read after a v1 signal */
#define OOM_RECHECKS		8	/* 10 ms doubling: 2.55 s in all */
#define OOM_COUNT_UNKNOWN	UINT64_MAX	/* the file has no oom_kill */

struct oomwatch {
	RB_ENTRY(oomwatch)	 entry;		/* v2: the tree by wd */
	uint64_t		 serial;	/* v2: the order among one wd's */
	char			*dir;
	oomwatch_fn		 fn;
	void			*arg;
	uint64_t		 told;		/* oom_kill when last told */
	int			 version;	/* 1 or 2 */
	int			 wd;		/* v2: -1 once the kernel drops it */
	int			 efd;		/* v1: -1 once the cgroup is gone */
	bool			 counted;	/* v1: the kernel has oom_kill */
	struct event		*ev;		/* v1: efd readable */
	struct event		*recheck;	/* v1: count not grown yet */
	int			 rechecks;	/* v1: re-reads left */
};

RB_HEAD(oomwatch_tree, oomwatch);
static int	oomwatch_cmp(const struct oomwatch *, const struct oomwatch *);
RB_PROTOTYPE(oomwatch_tree, oomwatch, entry, oomwatch_cmp)

/* The one inotify descriptor of the v2 watches. */
static struct {
	int			 fd;
	struct event		*ev;
	size_t			 nwatches;	/* v2 watches, live or not */
	uint64_t		 serial;	/* the last one given */
	struct oomwatch_tree	 tree;		/* those with a wd */
} in2 = { -1, NULL, 0, 0, RB_INITIALIZER(&in2.tree) };

/*
 * By watch descriptor, then serial (several may share a wd; a search key
 * of serial 0 comes before all of them).
 */
static int
oomwatch_cmp(const struct oomwatch *a, const struct oomwatch *b)
{
	if (a->wd != b->wd)
		return (a->wd < b->wd ? -1 : 1);
	if (a->serial != b->serial)
		return (a->serial < b->serial ? -1 : 1);
	return (0);
}
RB_GENERATE(oomwatch_tree, oomwatch, entry, oomwatch_cmp)

/* ---- the counter ---------------------------------------------------- */

/* The file that holds oom_kill for a cgroup version. */
static const char *
oom_file(int version)
{
	return (version == 2 ? "memory.events" : "memory.oom_control");
}

/*
 * The cgroup's oom_kill now: false if the file cannot be read (the
 * cgroup is gone); OOM_COUNT_UNKNOWN if the kernel does not count.
 */
static bool
oom_read_count(const char *dir, int version, uint64_t *count)
{
	static const struct cg_key key[] = { { "oom_kill", 0 } };
	bool	ok;
	int	dirfd;

	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (false);
	*count = OOM_COUNT_UNKNOWN;
	ok = cg_read_keyed(dirfd, oom_file(version), key, CG_NKEYS(key),
	    count);
	close(dirfd);
	return (ok);
}

/* Tell the kills counted beyond what was told; whether there were any. */
static bool
oom_tell(struct oomwatch *w, uint64_t count)
{
	uint64_t	kills;

	if (count == OOM_COUNT_UNKNOWN || count <= w->told)
		return (false);
	kills = count - w->told;
	w->told = count;
	w->fn(w->arg, kills);
	return (true);
}

/* ---- cgroup v2 ------------------------------------------------------ */

/* memory.events of w changed: tell new kills. */
static void
v2_notice(struct oomwatch *w)
{
	uint64_t	count;

	if (oom_read_count(w->dir, 2, &count))
		oom_tell(w, count);
}

/* The kernel dropped wd (its directory is gone): the watches lose it. */
static void
v2_forget_wd(int wd)
{
	struct oomwatch	key, *w;

	key.wd = wd;
	key.serial = 0;
	while ((w = RB_NFIND(oomwatch_tree, &in2.tree, &key)) != NULL &&
	    w->wd == wd) {
		RB_REMOVE(oomwatch_tree, &in2.tree, w);
		w->wd = -1;
	}
}

/* One inotify event: tell every watch of its wd. */
static void
v2_event(const struct inotify_event *ie)
{
	struct oomwatch	key, *w, *next;

	if (ie->mask & IN_IGNORED) {
		v2_forget_wd(ie->wd);
		return;
	}
	key.wd = ie->wd;
	key.serial = 0;
	for (w = RB_NFIND(oomwatch_tree, &in2.tree, &key);
	    w != NULL && w->wd == ie->wd; w = next) {
		next = RB_NEXT(oomwatch_tree, &in2.tree, w);
		v2_notice(w);
	}
}

/* The inotify descriptor is readable: every event queued. */
static void
v2_read_cb(int fd, short what, void *arg)
{
	char				 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event	*ie;
	ssize_t				 n;
	size_t				 off;

	(void)what;
	(void)arg;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off + sizeof(*ie) <= (size_t)n;
		    off += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)(buf + off);
			v2_event(ie);
		}
	}
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		log_warn("%s: read inotify", __func__);
}

/* The inotify descriptor, made on the first v2 watch. */
static int
v2_open(struct event_base *base, char **err)
{
	if (in2.fd != -1)
		return (0);
	if ((in2.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		xasprintf(err, "inotify_init1: %s", strerror(errno));
		return (-1);
	}
	in2.ev = event_new(base, in2.fd, EV_READ | EV_PERSIST, v2_read_cb,
	    NULL);
	if (in2.ev == NULL || event_add(in2.ev, NULL) == -1)
		fatalx("%s: cannot watch the inotify descriptor", __func__);
	return (0);
}

/* The last v2 watch is gone: so is the inotify descriptor. */
static void
v2_close_if_idle(void)
{
	if (in2.nwatches > 0 || in2.fd == -1)
		return;
	event_free(in2.ev);
	in2.ev = NULL;
	close(in2.fd);
	in2.fd = -1;
}

/* Start watching w's memory.events. */
static int
v2_add(struct oomwatch *w, struct event_base *base, char **err)
{
	char	path[PATH_MAX];

	if (v2_open(base, err) == -1)
		return (-1);
	snprintf(path, sizeof(path), "%s/memory.events", w->dir);
	w->wd = inotify_add_watch(in2.fd, path, IN_MODIFY);
	if (w->wd == -1) {
		xasprintf(err, "inotify on %s: %s", path, strerror(errno));
		v2_close_if_idle();
		return (-1);
	}
	w->serial = ++in2.serial;
	RB_INSERT(oomwatch_tree, &in2.tree, w);
	in2.nwatches++;
	return (0);
}

/* Stop watching w; the wd goes when no other watch shares it. */
static void
v2_remove(struct oomwatch *w)
{
	struct oomwatch	key, *other;

	if (w->wd != -1) {
		RB_REMOVE(oomwatch_tree, &in2.tree, w);
		key.wd = w->wd;
		key.serial = 0;
		other = RB_NFIND(oomwatch_tree, &in2.tree, &key);
		if ((other == NULL || other->wd != w->wd) &&
		    inotify_rm_watch(in2.fd, w->wd) == -1)
			log_debug("%s: inotify_rm_watch %s: %s", __func__,
			    w->dir, strerror(errno));
	}
	in2.nwatches--;
	v2_close_if_idle();
}

/* ---- cgroup v1 ------------------------------------------------------ */

/* The cgroup is gone (runc removed it): no more notices. */
static void
v1_stop(struct oomwatch *w)
{
	event_del(w->ev);
	evtimer_del(w->recheck);
	close(w->efd);
	w->efd = -1;
}

/* Re-read a count that had not grown at the signal, till it does. */
static void
v1_recheck_cb(int fd, short what, void *arg)
{
	struct oomwatch	*w = arg;
	struct timeval	 tv;
	uint64_t	 count;
	int		 ms;

	(void)fd;
	(void)what;
	if (!oom_read_count(w->dir, 1, &count) || oom_tell(w, count) ||
	    --w->rechecks <= 0)
		return;
	ms = OOM_RECHECK_MS << (OOM_RECHECKS - w->rechecks);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(w->recheck, &tv);
}

/* The eventfd was signalled: an OOM in the cgroup, or its removal. */
static void
v1_read_cb(int fd, short what, void *arg)
{
	struct oomwatch	*w = arg;
	struct timeval	 tv = { 0, OOM_RECHECK_MS * 1000 };
	uint64_t	 signals, count;

	(void)what;
	if (read(fd, &signals, sizeof(signals)) == -1 && errno != EAGAIN)
		log_warn("%s: read eventfd of %s", __func__, w->dir);
	if (!oom_read_count(w->dir, 1, &count)) {
		v1_stop(w);
		return;
	}
	if (!w->counted) {
		w->fn(w->arg, 1);
		return;
	}
	if (oom_tell(w, count) || evtimer_pending(w->recheck, NULL))
		return;
	w->rechecks = OOM_RECHECKS;
	evtimer_add(w->recheck, &tv);
}

/* Register an eventfd for w's OOMs in its cgroup.event_control. */
static int
v1_register(struct oomwatch *w, char **err)
{
	char	path[PATH_MAX], line[64];
	int	ofd = -1, cfd = -1, rc = -1;

	snprintf(path, sizeof(path), "%s/memory.oom_control", w->dir);
	if ((ofd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/cgroup.event_control", w->dir);
	if ((cfd = open(path, O_WRONLY | O_CLOEXEC)) == -1) {
		xasprintf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(line, sizeof(line), "%d %d", w->efd, ofd);
	if (write(cfd, line, strlen(line)) == -1) {
		xasprintf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (ofd != -1)
		close(ofd);
	if (cfd != -1)
		close(cfd);
	return (rc);
}

/* Start watching w's OOMs through an eventfd. */
static int
v1_add(struct oomwatch *w, struct event_base *base, char **err)
{
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		xasprintf(err, "eventfd: %s", strerror(errno));
		return (-1);
	}
	if (v1_register(w, err) == -1) {
		close(w->efd);
		w->efd = -1;
		return (-1);
	}
	w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST, v1_read_cb, w);
	w->recheck = evtimer_new(base, v1_recheck_cb, w);
	if (w->ev == NULL || w->recheck == NULL || event_add(w->ev, NULL) == -1)
		fatalx("%s: cannot watch an eventfd", __func__);
	return (0);
}

/* Stop watching w's OOMs. */
static void
v1_remove(struct oomwatch *w)
{
	if (w->efd != -1)
		v1_stop(w);
	event_free(w->ev);
	event_free(w->recheck);
}

/* ---- the API -------------------------------------------------------- */

/* 1 or 2 for a cgroup directory of that version; 0 if it is none. */
static int
oom_version(const char *dir)
{
	struct statfs	sfs;

	if (statfs(dir, &sfs) == -1)
		return (0);
	if (sfs.f_type == CGROUP2_SUPER_MAGIC)
		return (2);
	if (sfs.f_type == CGROUP_SUPER_MAGIC)
		return (1);
	return (0);
}

/* Check dir, read the count so far: where a new watch starts. */
static int
oom_start(struct oomwatch *w, char **err)
{
	uint64_t	count;

	if ((w->version = oom_version(w->dir)) == 0) {
		xasprintf(err, "%s: %s", w->dir, errno != 0 ? strerror(errno) :
		    "not a cgroup directory");
		return (-1);
	}
	if (!oom_read_count(w->dir, w->version, &count)) {
		xasprintf(err, "%s/%s: %s (no memory controller there)",
		    w->dir, oom_file(w->version), strerror(errno));
		return (-1);
	}
	w->counted = count != OOM_COUNT_UNKNOWN;
	w->told = w->counted ? count : 0;
	return (0);
}

/* Watch the memory cgroup dir from its count now on. */
struct oomwatch *
oomwatch_add(struct event_base *base, const char *dir, oomwatch_fn fn,
    void *arg, char **err)
{
	struct oomwatch	*w;
	int		 rc;

	w = xcalloc(1, sizeof(*w));
	w->dir = xstrdup(dir);
	w->fn = fn;
	w->arg = arg;
	w->wd = w->efd = -1;
	errno = 0;
	if ((rc = oom_start(w, err)) == 0)
		rc = w->version == 2 ? v2_add(w, base, err) :
		    v1_add(w, base, err);
	if (rc == -1) {
		free(w->dir);
		free(w);
		return (NULL);
	}
	log_debug("%s: watching OOM kills (cgroup v%d, %ju so far)", dir,
	    w->version, w->told);
	return (w);
}

/* Watch pid's memory cgroup. */
struct oomwatch *
oomwatch_add_pid(struct event_base *base, pid_t pid, oomwatch_fn fn,
    void *arg, char **err)
{
	struct oomwatch	*w;
	char		*dir;

	if ((dir = cgstats_memory_dir(pid, err)) == NULL)
		return (NULL);
	w = oomwatch_add(base, dir, fn, arg, err);
	free(dir);
	return (w);
}

/* Tell kills counted but not told yet, now. */
void
oomwatch_check(struct oomwatch *w)
{
	uint64_t	count, signals;

	if (w->version == 1 && !w->counted) {
		/* Without a counter, a signal not read yet is the news. */
		if (w->efd != -1 && read(w->efd, &signals,
		    sizeof(signals)) == sizeof(signals))
			w->fn(w->arg, 1);
		return;
	}
	if (oom_read_count(w->dir, w->version, &count))
		oom_tell(w, count);
}

/* Take told, if below the count now, as the count last told. */
void
oomwatch_since(struct oomwatch *w, uint64_t told)
{
	if (w->counted && told < w->told)
		w->told = told;
}

/* The count when last told. */
uint64_t
oomwatch_told(const struct oomwatch *w)
{
	return (w->told);
}

/* Read dir's count once, with no watch. */
int
oomwatch_count(const char *dir, uint64_t *count, char **err)
{
	int	version;

	errno = 0;
	if ((version = oom_version(dir)) == 0) {
		xasprintf(err, "%s: %s", dir, errno != 0 ? strerror(errno) :
		    "not a cgroup directory");
		return (-1);
	}
	if (!oom_read_count(dir, version, count)) {
		xasprintf(err, "%s/%s: %s", dir, oom_file(version),
		    strerror(errno));
		return (-1);
	}
	if (*count == OOM_COUNT_UNKNOWN) {
		xasprintf(err, "%s/%s: the kernel does not count OOM kills",
		    dir, oom_file(version));
		return (-1);
	}
	return (0);
}

/* Stop watching (NULL: nothing to do). */
void
oomwatch_remove(struct oomwatch *w)
{
	if (w == NULL)
		return;
	if (w->version == 2)
		v2_remove(w);
	else
		v1_remove(w);
	free(w->dir);
	free(w);
}

/* The directory watched. */
const char *
oomwatch_dir(const struct oomwatch *w)
{
	return (w->dir);
}

/* Its cgroup version, 1 or 2. */
int
oomwatch_version(const struct oomwatch *w)
{
	return (w->version);
}
