/*
 * task.c: the containers sandboxd runs for containerd (see task.h): the
 * table by namespace and id, finding a process from a request's id and
 * exec id, the asynchronous runc calls' bookkeeping, and what happens when
 * a process exits: the exit is saved, then, once the output it wrote has
 * reached containerd's FIFOs, its Wait calls are answered and TaskExit is
 * published (both after the commit that holds the exit).  While a
 * container's init runs, its memory cgroup's OOM kills are watched and
 * each is published as TaskOOM; the last look at the init's exit comes
 * before its TaskExit is queued, so CRI has the reason first.  The count
 * told is kept in the container's record, so that a restarted daemon
 * tells the kills it did not see.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iocopy.h"
#include "log.h"
#include "oomwatch.h"
#include "pbutil.h"
#include "procmgr.h"
#include "protocol.h"
#include "runc.h"
#include "task.h"
#include "xmalloc.h"

/*
 * TaskOOM events for one notice at most: a container whose processes
 * keep being OOM-killed must not crowd others' events out of the queue.
 */
#define TASK_OOM_EVENTS_MAX	4

struct event_base	*task_base;

RB_HEAD(task_tree, task);
static struct task_tree	task_tree = RB_INITIALIZER(&task_tree);
static int	task_cmp(const struct task *, const struct task *);
RB_PROTOTYPE(task_tree, task, entry, task_cmp)

/* Order tasks by namespace, then id. */
static int
task_cmp(const struct task *a, const struct task *b)
{
	int	c;

	if ((c = strcmp(a->ns, b->ns)) != 0)
		return (c);
	return (strcmp(a->id, b->id));
}
RB_GENERATE(task_tree, task, entry, task_cmp)

/* The container ns/id, or NULL. */
struct task *
task_find(const char *ns, const char *id)
{
	struct task	key;

	key.ns = (char *)ns;
	key.id = (char *)id;
	return (RB_FIND(task_tree, &task_tree, &key));
}

/* A new container in the table, its init process in TASK_CREATING. */
struct task *
task_new(const char *ns, const char *id)
{
	struct task	*t;

	t = xcalloc(1, sizeof(*t));
	t->ns = xstrdup(ns);
	t->id = xstrdup(id);
	TAILQ_INIT(&t->execs);
	t->init.task = t;
	t->init.state = TASK_CREATING;
	TAILQ_INIT(&t->init.waiters);
	RB_INSERT(task_tree, &task_tree, t);
	return (t);
}

/* Free what a process holds, not tp itself (its waiters have been answered). */
void
tproc_release(struct tproc *tp)
{
	if (tp->proc != NULL)
		proc_free(tp->proc);
	if (tp->io != NULL)
		iocopy_free(tp->io);
	waiters_forget(&tp->waiters);
	free(tp->exec_id);
	free(tp->stdin_path);
	free(tp->stdout_path);
	free(tp->stderr_path);
	free(tp->spec);
}

/* Remove a container from the table and free it with its execs. */
void
task_free(struct task *t)
{
	struct tproc	*tp;

	while ((tp = TAILQ_FIRST(&t->execs)) != NULL)
		task_exec_free(tp);
	RB_REMOVE(task_tree, &task_tree, t);
	oomwatch_remove(t->oom);
	tproc_release(&t->init);
	free(t->ns);
	free(t->id);
	free(t->sandbox_id);
	free(t->bundle);
	free(t->cgroup);
	free(t->oom_dir);
	free(t);
}

/* Call fn for every container (fn may free the one it is given). */
void
task_foreach(void (*fn)(struct task *, void *), void *arg)
{
	struct task	*t, *next;

	RB_FOREACH_SAFE(t, task_tree, &task_tree, next)
		fn(t, arg);
}

/* The first container in (namespace, id) order, or NULL. */
struct task *
task_first(void)
{
	return (RB_MIN(task_tree, &task_tree));
}

/* The container after t, or NULL. */
struct task *
task_next(struct task *t)
{
	return (RB_NEXT(task_tree, &task_tree, t));
}

/* Forget every container in memory (daemon exit): they keep running. */
void
ctrl_task_release_all(void)
{
	struct task	*t;

	while ((t = RB_MIN(task_tree, &task_tree)) != NULL)
		task_free(t);
}

/* An exec of t by id, or NULL. */
struct tproc *
task_exec_find(struct task *t, const char *exec_id)
{
	struct tproc	*tp;

	TAILQ_FOREACH(tp, &t->execs, entry) {
		if (strcmp(tp->exec_id, exec_id) == 0)
			return (tp);
	}
	return (NULL);
}

/*
 * The process a request names: container id, and exec id (empty: the
 * init).  Fails the call NotFound as the Go shim does when either is
 * unknown.
 */
struct tproc *
task_tproc_get(struct call *call, const char *id, const char *exec_id,
    struct task **tout)
{
	struct task	*t;
	struct tproc	*tp;

	if ((t = task_find(call_namespace(call), id)) == NULL) {
		call_fail(call, STATUS_NOT_FOUND, "container \"%s\" not "
		    "created", id);
		return (NULL);
	}
	if (tout != NULL)
		*tout = t;
	if (exec_id == NULL || *exec_id == '\0')
		return (&t->init);
	if ((tp = task_exec_find(t, exec_id)) == NULL)
		call_fail(call, STATUS_NOT_FOUND, "container \"%s\": process "
		    "\"%s\" does not exist", id, exec_id);
	return (tp);
}

/* "container c" or "container c exec e", for messages. */
const char *
task_name(const struct tproc *tp)
{
	static char	buf[600];

	if (tp->exec_id == NULL)
		snprintf(buf, sizeof(buf), "container %s/%s", tp->task->ns,
		    tp->task->id);
	else
		snprintf(buf, sizeof(buf), "container %s/%s exec %s",
		    tp->task->ns, tp->task->id, tp->exec_id);
	return (buf);
}

/* Whether a runc call runs for any process of t (it must not be freed). */
bool
task_busy(const struct task *t)
{
	const struct tproc	*tp;

	if (t->init.busy)
		return (true);
	TAILQ_FOREACH(tp, &t->execs, entry)
		if (tp->busy)
			return (true);
	return (false);
}

/* Refuse a request while a runc call runs for the same process. */
bool
task_refuse_busy(struct call *call, const struct tproc *tp)
{
	if (!tp->busy && !tp->task->deleting)
		return (false);
	call_fail(call, STATUS_FAILED_PRECONDITION, "%s is busy with another "
	    "request; try again", task_name(tp));
	return (true);
}

/* ---- asynchronous runc calls ---------------------------------------- */

/* The client of a deferred call left: the runc call goes on without it. */
static void
task_op_cancel_cb(struct call *call, int code, void *arg)
{
	struct task_op	*op = arg;

	(void)call;
	(void)code;
	op->call = NULL;
}

/* A runc call for tp, on behalf of call (may be NULL). */
struct task_op *
task_op_new(struct tproc *tp, struct call *call, ctrl_answer_fn answer)
{
	struct task_op	*op;

	op = xcalloc(1, sizeof(*op));
	op->tp = tp;
	op->call = call;
	op->answer = answer;
	tp->busy = true;
	return (op);
}

/* runc could not be started for op: undo task_op_new. */
void
task_op_drop(struct task_op *op)
{
	op->tp->busy = false;
	free(op);
}

/*
 * runc could not be started: undo task_op_new and fail the call with
 * cause (freed).
 */
enum handler_result
task_op_fail_start(struct task_op *op, char *cause)
{
	call_fail(op->call, STATUS_UNKNOWN, "%s: %s", task_name(op->tp),
	    cause);
	free(cause);
	task_op_drop(op);
	return (HANDLER_ERROR);
}

/* Defer op's call until runc is done. */
enum handler_result
task_op_defer(struct task_op *op)
{
	return (call_defer(op->call, task_op_cancel_cb, op));
}

/*
 * runc is done: the process is free for the next call.  If runc failed,
 * answer the call with what runc said (what: the step) and return false.
 */
bool
task_op_finish(struct task_op *op, const struct runc_result *res,
    const char *what)
{
	op->tp->busy = false;
	if (res->status == 0)
		return (true);
	log_warnx("%s: runc %s failed: %s", task_name(op->tp), what,
	    res->error != NULL ? res->error : "no message");
	if (op->call != NULL)
		call_finish_error(op->call, STATUS_UNKNOWN, "%s: runc %s: %s",
		    task_name(op->tp), what, res->error != NULL ? res->error :
		    "failed without a message");
	op->call = NULL;
	return (false);
}

/*
 * The runc call is over and answered: free op; an exit that came
 * meanwhile is told now, so that its event follows the Start's.
 */
void
task_op_done(struct task_op *op)
{
	struct tproc	*tp = op->tp;

	free(op);
	if (tp->exit_pending && !tp->busy) {
		tp->exit_pending = false;
		task_answer_exit(tp);
	}
}

/* A process's state as a word, for messages. */
const char *
task_state_name(const struct tproc *tp)
{
	static const char *const names[] = { "being created", "created",
	    "running", "stopped", "paused" };

	if (tp->state >= sizeof(names) / sizeof(names[0]))
		return ("in an unknown state");
	return (names[tp->state]);
}

/* ---- exits ---------------------------------------------------------- */

/*
 * Field 22 of /proc/<pid>/stat, the start time in clock ticks, which
 * with the pid names one process for good.  After the last ')': comm may
 * hold anything.
 */
int
task_pid_start_time(pid_t pid, uint64_t *start_time)
{
	char	 path[64], buf[1024], *p;
	ssize_t	 n;
	int	 fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1);
	/* p is after field 2; field 3 is the state. */
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return (-1);
	*start_time = strtoull(p + 1, NULL, 10);
	return (0);
}

/* Publish kills more OOM kills of the container (TaskOOM each, capped). */
static void
task_oom_tell(struct task *t, uint64_t kills)
{
	uint64_t	i;

	log_info("container %s/%s: %ju OOM kill%s in its cgroup", t->ns,
	    t->id, (uintmax_t)kills, kills == 1 ? "" : "s");
	for (i = 0; i < kills && i < TASK_OOM_EVENTS_MAX; i++)
		task_event_oom(t);
}

/*
 * The watch counted kills more OOM kills.  The count told is only
 * noted: it reaches the record with the next change saved (the exit an
 * OOM kill usually causes), not with a write of its own.
 */
static void
task_oom_cb(void *arg, uint64_t kills)
{
	struct task	*t = arg;

	t->oom_told = oomwatch_told(t->oom);
	task_oom_tell(t, kills);
}

/*
 * Watch the OOM kills of the cgroup the init pid is in, from its Create
 * or its re-adoption on.  At Create, kills counted before are taken as
 * told; at a re-adoption, those counted since the record's count are
 * news, told by task_oom_recover.  A host without a memory cgroup for it
 * only loses the events.
 */
static void
task_oom_watch(struct task *t, pid_t pid)
{
	char	*cause = NULL;

	if (t->oom != NULL)
		return;
	t->oom = oomwatch_add_pid(task_base, pid, task_oom_cb, t, &cause);
	if (t->oom == NULL) {
		log_warnx("container %s/%s: OOM kills not watched: %s", t->ns,
		    t->id, cause);
		free(cause);
		return;
	}
	if (t->oom_dir != NULL && strcmp(t->oom_dir, oomwatch_dir(t->oom)) == 0)
		oomwatch_since(t->oom, t->oom_told);
	else {
		free(t->oom_dir);
		t->oom_dir = xstrdup(oomwatch_dir(t->oom));
	}
	t->oom_told = oomwatch_told(t->oom);
}

/* The init exited (its last kills told already): stop watching. */
static void
task_oom_unwatch(struct task *t)
{
	oomwatch_remove(t->oom);
	t->oom = NULL;
}

/*
 * Recovery of a container whose init ran when its record was written:
 * the kills its cgroup counted since the record's count (while sandboxd
 * was down, or between the two images of a re-execution) are told now,
 * before any TaskExit of the container.  The cgroup outlives the init
 * until runc delete, so an init that exited meanwhile is read too.
 * Returns whether there were any: the record must then be saved, or the
 * next restart would tell them again.
 */
bool
task_oom_recover(struct task *t)
{
	uint64_t	 told = t->oom_told, count;
	char		*cause = NULL;

	if (t->oom_dir == NULL)
		return (false);
	if (t->oom != NULL)
		oomwatch_check(t->oom);
	else if (oomwatch_count(t->oom_dir, &count, &cause) == -1) {
		log_debug("container %s/%s: OOM kills while sandboxd was down "
		    "unknown: %s", t->ns, t->id, cause);
		free(cause);
	} else if (count > t->oom_told) {
		t->oom_told = count;
		task_oom_tell(t, count - told);
	}
	return (t->oom_told != told);
}

/*
 * Watch tp's pid for its exit; its start time is recorded first.  For
 * an init, its OOM kills too.
 */
int
task_watch(struct tproc *tp, char **cause)
{
	uint64_t	st = tp->start_time;

	if (st == 0 && task_pid_start_time((pid_t)tp->pid, &st) == -1) {
		xasprintf(cause, "pid %u: process is gone", tp->pid);
		return (-1);
	}
	tp->proc = proc_adopt((pid_t)tp->pid, st, task_proc_exit_cb, tp,
	    cause);
	if (tp->proc == NULL)
		return (-1);
	tp->start_time = st;
	if (tp->exec_id == NULL)
		task_oom_watch(tp->task, (pid_t)tp->pid);
	return (0);
}

/* Answer one Wait with tp's exit. */
static bool
answer_wait_cb(struct waiter *w, void *arg)
{
	const struct tproc	*tp = arg;
	struct ctrl_answer	 ans = { .pid = tp->pid };

	ans.exit_status = tp->exit_status;
	ans.exited_at = tp->exited_at;
	w->answer(w->call, &ans);
	return (true);
}

/* tp's exit is saved and its output drained: tell the waiters, publish. */
void
task_answer_exit(struct tproc *tp)
{
	if (tp->busy) {
		tp->exit_pending = true;
		return;
	}
	tp->reported = true;
	waiters_visit(&tp->waiters, answer_wait_cb, tp);
	task_event_exit(tp);
}

/* Every byte tp wrote has reached containerd: the exit can be told. */
static void
task_drained_cb(void *arg)
{
	task_answer_exit(arg);
}

/*
 * The cgroup v2 directory of pid (from the "0::" line of
 * /proc/<pid>/cgroup, under /sys/fs/cgroup or, on a hybrid host,
 * /sys/fs/cgroup/unified), malloc'd, or NULL.
 */
char *
task_cgroup_dir(pid_t pid)
{
	char	 path[64], line[1024], *dir = NULL;
	FILE	*f;
	size_t	 n;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return (NULL);
	while (dir == NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		n = strcspn(line + 3, "\n");
		line[3 + n] = '\0';
		/* cgroup2 alone, or beside v1 (a hybrid host). */
		xasprintf(&dir, "%s%s", access("/sys/fs/cgroup/cgroup.controllers",
		    F_OK) == 0 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified",
		    line + 3);
	}
	fclose(f);
	return (dir);
}

/* runc kill --all after an init's exit is done: nothing to tell. */
static void
killall_done_cb(void *arg, const struct runc_result *res)
{
	char	*id = arg;

	if (res->status != 0)
		log_debug("container %s: runc kill --all after the init's "
		    "exit: %s", id, res->error != NULL ? res->error : "failed");
	free(id);
}

/*
 * The init exited while execs still run: in a pod whose PID namespace
 * the container shares, nothing else ends them, so SIGKILL the rest of
 * the container, as containerd's own shim does.
 */
static void
task_kill_rest(struct task *t)
{
	struct tproc	*tp;
	char		*id, *cause = NULL;

	TAILQ_FOREACH(tp, &t->execs, entry)
		if (tp->proc != NULL)
			break;
	if (tp == NULL)
		return;
	id = xstrdup(t->id);
	if (runc_kill(id, SIGKILL, true, killall_done_cb, id, &cause) == -1) {
		log_warnx("container %s/%s: %s", t->ns, t->id, cause);
		free(cause);
		free(id);
	}
}

/* A process of a container exited: record it, then tell once drained. */
void
task_proc_exit_cb(struct proc *p, int status, const struct timespec *at,
    void *arg)
{
	struct tproc	*tp = arg;

	proc_free(p);
	tp->proc = NULL;
	tp->state = TASK_STOPPED;
	tp->exit_status = (uint32_t)status;
	ts_from_timespec(&tp->exited_at, at);
	log_info("%s: pid %u exited with status %d", task_name(tp), tp->pid,
	    status);
	/*
	 * Kills the watch has not told yet (the exit may come before the
	 * kernel's notice): TaskOOM is queued before this TaskExit, and the
	 * count rides in the exit's record.
	 */
	if (tp->task->oom != NULL)
		oomwatch_check(tp->task->oom);
	task_save(tp->task);
	if (tp->exec_id == NULL) {
		task_oom_unwatch(tp->task);
		task_kill_rest(tp->task);
	}
	task_exit_recorded(tp);
}

/* tp's exit is saved: tell it once its output has reached containerd. */
void
task_exit_recorded(struct tproc *tp)
{
	if (tp->io != NULL)
		iocopy_when_drained(tp->io, task_drained_cb, tp);
	else
		task_answer_exit(tp);
}
