/*
 * proc_log.c: sandbox output, capped and rotated.
 *
 * A sandbox's stdout and stderr used to be its log file, opened O_APPEND:
 * one writing /dev/zero filled the state file system in seconds, the next
 * commit failed and the daemon died.  A cap needs someone between the
 * program and the file.  RLIMIT_FSIZE would cap every file the sandbox
 * writes, not only its log, so the daemon reads the output itself:
 *
 *	<log>.pipe	a FIFO, made before the clone; the child opens it
 *			O_RDWR as fds 1 and 2 (so a write never meets "no
 *			reader": with the daemon down, output waits in the
 *			pipe, 64 KiB, and then the writer blocks until the
 *			daemon is back and reads again);
 *	<log>		what the daemon read, at most proc_log_max bytes;
 *	<log>.1		the previous <log>, when it reached the cap.
 *
 * The daemon holds the FIFO O_RDWR too (never an EOF to spin on) and
 * reads it on the loop, at most PROC_LOG_BURST bytes per event so that a
 * flood shares the loop with everyone else.  The FIFO outlives the daemon:
 * after a restart, proc_log_attach opens it again for the re-adopted
 * process.  Cost: one descriptor for the FIFO and one for the file per
 * running sandbox that has a log, and a copy of the output through the
 * daemon.  A write that fails (a full log file system) drops the chunk,
 * with a log line per file.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "procint.h"
#include "xmalloc.h"

#define PROC_LOG_CHUNK	(64 * 1024)
#define PROC_LOG_BURST	(4 * PROC_LOG_CHUNK)
#define PROC_LOG_DRAIN_MAX (16 * PROC_LOG_CHUNK)

struct proc_log {
	struct event	*ev;
	int		 rfd;		/* the FIFO, O_RDWR | O_NONBLOCK */
	int		 out;		/* the log file, O_APPEND */
	off_t		 size;
	bool		 failed;	/* a write failed: said once */
	char		*path;
	char		*fifo;
};

/* Off until the daemon sets it (config.c: 1 MiB by default). */
static size_t	proc_log_max;
static char	*proc_log_dirpath;

/* Where sandbox logs go (the controller makes <dir>/<ns>/<id>.log). */
void
proc_log_set_dir(const char *dir)
{
	free(proc_log_dirpath);
	proc_log_dirpath = dir != NULL ? xstrdup(dir) : NULL;
}

const char *
proc_log_dir(void)
{
	return (proc_log_dirpath);
}

/* Cap each log at max bytes (0: no cap: the child writes the file). */
void
proc_log_set_max(size_t max)
{
	proc_log_max = max;
}

size_t
proc_log_get_max(void)
{
	return (proc_log_max);
}

/* Open (create) the log file for appending, and learn its size. */
static int
proc_log_open_out(struct proc_log *pl)
{
	struct stat	sb;

	pl->out = open(pl->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (pl->out == -1)
		return (-1);
	pl->size = fstat(pl->out, &sb) == 0 ? sb.st_size : 0;
	return (0);
}

/* The log reached its cap: it becomes <log>.1 and a new one starts. */
static void
proc_log_rotate(struct proc_log *pl)
{
	char	*old;

	xasprintf(&old, "%s.1", pl->path);
	if (rename(pl->path, old) == -1)
		log_warn("%s: rename %s", __func__, pl->path);
	free(old);
	close(pl->out);
	if (proc_log_open_out(pl) == -1) {
		log_warn("%s: open %s", __func__, pl->path);
		pl->out = -1;
	}
}

/* Append n bytes, rotating at the cap. */
static void
proc_log_write(struct proc_log *pl, const char *buf, size_t n)
{
	size_t	room, w;
	ssize_t	done;

	while (n > 0) {
		if (pl->size >= (off_t)proc_log_max)
			proc_log_rotate(pl);
		if (pl->out == -1)
			return;
		room = proc_log_max - (size_t)pl->size;
		w = n < room ? n : room;
		if ((done = write(pl->out, buf, w)) <= 0) {
			if (!pl->failed)
				log_warn("sandbox log %s: output dropped",
				    pl->path);
			pl->failed = true;
			return;
		}
		pl->size += done;
		buf += done;
		n -= (size_t)done;
	}
}

/* Read what is there, up to max bytes; whether the pipe is empty. */
static bool
proc_log_pump(struct proc_log *pl, size_t max)
{
	static char	buf[PROC_LOG_CHUNK];
	size_t		total = 0;
	ssize_t		n;

	while (total < max) {
		n = read(pl->rfd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (true);
		proc_log_write(pl, buf, (size_t)n);
		total += (size_t)n;
	}
	return (false);
}

/* The FIFO has output: copy a burst of it. */
static void
proc_log_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	proc_log_pump(arg, PROC_LOG_BURST);
}

/* Open the FIFO and the file and watch the FIFO; make the FIFO if make. */
static struct proc_log *
proc_log_new(const char *path, bool make, char **cause)
{
	struct proc_log	*pl = xcalloc(1, sizeof(*pl));

	pl->rfd = pl->out = -1;
	pl->path = xstrdup(path);
	xasprintf(&pl->fifo, "%s.pipe", path);
	if (make) {
		if (unlink(pl->fifo) == -1 && errno != ENOENT)
			goto fail;
		if (mkfifo(pl->fifo, 0600) == -1)
			goto fail;
	}
	if ((pl->rfd = open(pl->fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC)) == -1)
		goto fail;
	if (proc_log_open_out(pl) == -1)
		goto fail;
	pl->ev = event_new(proc_base, pl->rfd, EV_READ | EV_PERSIST,
	    proc_log_cb, pl);
	if (pl->ev == NULL || event_add(pl->ev, NULL) == -1) {
		errno = ENOMEM;
		goto fail;
	}
	return (pl);

fail:
	xasprintf(cause, "sandbox log %s: %s", pl->fifo, strerror(errno));
	proc_log_free(pl, make);
	return (NULL);
}

/* A log for a process about to be spawned; its FIFO is ->fifo. */
struct proc_log *
proc_log_create(const char *path, char **cause)
{
	return (proc_log_new(path, true, cause));
}

const char *
proc_log_fifo(const struct proc_log *pl)
{
	return (pl->fifo);
}

/*
 * After a restart: read the log FIFO of a re-adopted process again, if
 * it has one (one started by a daemon without caps wrote the file).
 */
void
proc_log_attach(struct proc *p, const char *path)
{
	struct stat	 sb;
	char		*fifo, *cause = NULL;

	if (p == NULL || p->log != NULL || path == NULL)
		return;
	xasprintf(&fifo, "%s.pipe", path);
	if (lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode) &&
	    (p->log = proc_log_new(path, false, &cause)) == NULL) {
		log_warnx("pid %d: %s", (int)p->pid, cause);
		free(cause);
	}
	free(fifo);
}

/* Logs attached per pass of the loop: ~25 us each, a few ms a pass. */
#define PROC_LOG_LATER_BATCH	128

/* Re-adopted processes whose log proc_log_later_cb has yet to attach. */
static TAILQ_HEAD(, proc)	 proc_log_pending =
    TAILQ_HEAD_INITIALIZER(proc_log_pending);
static struct event		*proc_log_later_ev;

/*
 * Attach (attach) or forget p's pending log: when it is attached, when
 * the process exits (its output must be drained), when p is freed.
 */
void
proc_log_later_now(struct proc *p, bool attach)
{
	char	*path = p->log_later;

	if (path == NULL)
		return;
	TAILQ_REMOVE(&proc_log_pending, p, log_entry);
	p->log_later = NULL;
	if (attach)
		proc_log_attach(p, path);
	free(path);
}

/* A batch of pending logs per pass; the rest on the next one. */
static void
proc_log_later_cb(int fd, short events, void *arg)
{
	struct timeval	 tv = { 0, 0 };
	struct proc	*p;
	int		 n;

	(void)fd;
	(void)events;
	(void)arg;
	for (n = 0; n < PROC_LOG_LATER_BATCH &&
	    (p = TAILQ_FIRST(&proc_log_pending)) != NULL; n++)
		proc_log_later_now(p, true);
	if (!TAILQ_EMPTY(&proc_log_pending))
		evtimer_add(proc_log_later_ev, &tv);
}

/*
 * proc_log_attach from the loop, after start-up: the FIFO holds what the
 * process writes meanwhile (it blocks only once the pipe is full).
 */
void
proc_log_later(struct proc *p, const char *path)
{
	struct timeval	tv = { 0, 0 };

	if (p == NULL || p->log != NULL || p->log_later != NULL || path == NULL)
		return;
	if (proc_log_later_ev == NULL &&
	    (proc_log_later_ev = evtimer_new(proc_base, proc_log_later_cb,
	    NULL)) == NULL)
		fatalx("%s: evtimer_new failed", __func__);
	p->log_later = xstrdup(path);
	TAILQ_INSERT_TAIL(&proc_log_pending, p, log_entry);
	if (!evtimer_pending(proc_log_later_ev, NULL))
		evtimer_add(proc_log_later_ev, &tv);
}

/*
 * The process is gone: read what it left in the pipe (64 KiB unless the
 * pipe was grown).  Bounded: a child it left behind may still write.
 */
void
proc_log_drain(struct proc_log *pl)
{
	if (pl != NULL && pl->rfd != -1)
		proc_log_pump(pl, PROC_LOG_DRAIN_MAX);
}

/* Close; remove the FIFO only if unlink (the process is gone). */
void
proc_log_free(struct proc_log *pl, bool unlink_fifo)
{
	if (pl == NULL)
		return;
	if (pl->ev != NULL)
		event_free(pl->ev);
	if (pl->rfd != -1)
		close(pl->rfd);
	if (pl->out != -1)
		close(pl->out);
	if (unlink_fifo)
		unlink(pl->fifo);
	free(pl->fifo);
	free(pl->path);
	free(pl);
}

/* Remove a log, its rotated copy and its FIFO (Shutdown). */
void
proc_log_remove(const char *path)
{
	const char	*sfx[] = { "", ".1", ".pipe" };
	char		*f;
	size_t		 i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		xasprintf(&f, "%s%s", path, sfx[i]);
		if (unlink(f) == -1 && errno != ENOENT)
			log_warn("unlink %s", f);
		free(f);
	}
}
