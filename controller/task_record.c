/*
 * task_record.c: a container's LevelDB record (sandboxd.v1.Task under
 * "ta/<namespace>/<id>": the container, its init and its execs) and what
 * a restarted daemon does with the records it finds.
 *
 * At start every recorded process that ran is re-adopted if its pid still
 * names the same process (same start time) and its stdio re-attached to
 * containerd's FIFOs.  One that is gone exited while the daemon was down:
 * it is stopped with status TASK_STATUS_LOST and exit_lost set (logged,
 * and State and TaskExit say so), never a status made up.  A container
 * whose runc create never finished is removed: containerd never heard of
 * its pid.  OOM kills its cgroup counted meanwhile are told too (the
 * record keeps the count last told).  An exec created but not started
 * keeps its process spec in the record until its Start, so it can be
 * started after a restart or a re-execution (the new image reads these
 * records too).
 */
#include <stdlib.h>
#include <string.h>

#include "iocopy.h"
#include "log.h"
#include "pbutil.h"
#include "procmgr.h"
#include "storage.h"
#include "task.h"
#include "xmalloc.h"
#include "sandboxd/v1/task.pb.h"

/* Describe one process for the record (borrowing its strings). */
static void
record_proc(sv_TaskProcess *r, const struct tproc *tp)
{
	r->exec_id = tp->exec_id;
	r->state = tp->state;
	r->pid = tp->pid;
	r->start_time = tp->start_time;
	r->exit_status = tp->exit_status;
	r->has_exited_at = tp->state == TASK_STOPPED;
	r->exited_at = tp->exited_at;
	r->stdin = tp->stdin_path;
	r->stdout = tp->stdout_path;
	r->stderr = tp->stderr_path;
	r->terminal = tp->terminal;
	r->exit_lost = tp->exit_lost;
	/* An exec not started yet: what Start needs, should we restart first. */
	if (tp->spec != NULL) {
		r->spec.data = tp->spec;
		r->spec.len = tp->speclen;
	}
}

/* Queue t's record into the iteration's batch. */
void
task_save(struct task *t)
{
	sv_Task		 rec = { 0 };
	struct tproc	*tp;
	uint8_t		*buf;
	size_t		 len, n = 0;
	char		*cause = NULL;

	TAILQ_FOREACH(tp, &t->execs, entry)
		n++;
	rec.sandbox_id = t->sandbox_id;
	rec.bundle = t->bundle;
	rec.rootfs_mounted = t->rootfs_mounted;
	rec.has_created_at = true;
	rec.created_at = t->created_at;
	rec.has_init = true;
	record_proc(&rec.init, &t->init);
	rec.execs = n > 0 ? xcalloc(n, sizeof(*rec.execs)) : NULL;
	n = 0;
	TAILQ_FOREACH(tp, &t->execs, entry)
		record_proc(&rec.execs[n++], tp);
	rec.execs_count = (pb_size_t)n;
	rec.oom_cgroup = t->oom_dir;
	rec.oom_told = t->oom_told;
	if (!msg_encode(sv_Task_fields, &rec, &buf, &len, &cause)) {
		/* Only an oversized record gets here: keep the old one. */
		log_warnx("container %s/%s: cannot save: %s", t->ns, t->id,
		    cause);
		free(cause);
	} else {
		store_put(STORE_TASK, t->ns, t->id, buf, len);
		free(buf);
	}
	free(rec.execs);
}

/* Remove t's record (with the iteration's batch). */
void
task_forget_record(struct task *t)
{
	store_del(STORE_TASK, t->ns, t->id);
}

/* The loop sandboxd's containers run on. */
void
ctrl_task_init(struct event_base *base)
{
	task_base = base;
}

/* ---- recovery ------------------------------------------------------- */

/* Every record, read in one pass before anything is changed. */
struct task_recs {
	struct {
		char	*ns, *id;
		void	*buf;
		size_t	 len;
	}		*r;
	size_t		 n, cap;
};

/* store_walk callback: note one record's key (no writes in a walk). */
static int
collect_cb(const char *ns, const char *id, void *arg)
{
	struct task_recs	*l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap != 0 ? l->cap * 2 : 16;
		l->r = xreallocarray(l->r, l->cap, sizeof(*l->r));
	}
	l->r[l->n].ns = xstrdup(ns);
	l->r[l->n].id = xstrdup(id);
	l->r[l->n].buf = NULL;
	l->r[l->n].len = 0;
	l->n++;
	return (0);
}

/* A copy of a recorded string, NULL for none. */
static char *
rec_str(const char *s)
{
	return (s != NULL && *s != '\0' ? xstrdup(s) : NULL);
}

/* Copy a recorded process into tp. */
static void
restore_proc(struct tproc *tp, const sv_TaskProcess *r)
{
	tp->exec_id = rec_str(r->exec_id);
	tp->state = (uint8_t)r->state;
	tp->pid = r->pid;
	tp->start_time = r->start_time;
	tp->exit_status = r->exit_status;
	tp->exited_at = r->exited_at;
	tp->stdin_path = rec_str(r->stdin);
	tp->stdout_path = rec_str(r->stdout);
	tp->stderr_path = rec_str(r->stderr);
	tp->terminal = r->terminal;
	tp->exit_lost = r->exit_lost;
	/* Copied: the view points into the stored value, freed after. */
	if (r->spec.len > 0) {
		tp->spec = xmemdup(r->spec.data, r->spec.len);
		tp->speclen = r->spec.len;
	}
	/* An exit recorded before the restart was told then, or is now. */
	tp->reported = tp->state == TASK_STOPPED;
}

/* ---- stdio across a re-execution ------------------------------------ */

/* What the previous image handed over, until recovery takes it. */
struct given_io {
	char		*ns, *id, *exec_id;	/* exec_id NULL: the init */
	uint8_t		*state;			/* NULL: taken */
	size_t		 len;
};
static struct given_io	*given;
static size_t		 ngiven;

/* Describe one process's stdio to fn (if it has any). */
static void
export_one(struct tproc *tp, ctrl_io_fn fn, void *arg)
{
	uint8_t	*state;
	size_t	 len;

	if (tp->io == NULL)
		return;
	if (iocopy_export(tp->io, &state, &len) == -1) {
		log_warnx("%s: stdio cannot be handed over; re-opened after "
		    "the re-execution", task_name(tp));
		return;
	}
	fn(tp->task->ns, tp->task->id, tp->exec_id, state, len, arg);
	free(state);
}

/* Re-execution: every process's stdio, for the hand-over. */
void
ctrl_task_export_io(ctrl_io_fn fn, void *arg)
{
	struct task	*t;
	struct tproc	*tp;

	for (t = task_first(); t != NULL; t = task_next(t)) {
		export_one(&t->init, fn, arg);
		TAILQ_FOREACH(tp, &t->execs, entry)
			export_one(tp, fn, arg);
	}
}

/* The re-execution was given up after the export: close-on-exec again. */
void
ctrl_task_cancel_export_io(void)
{
	struct task	*t;
	struct tproc	*tp;

	for (t = task_first(); t != NULL; t = task_next(t)) {
		if (t->init.io != NULL)
			iocopy_export_cancel(t->init.io);
		TAILQ_FOREACH(tp, &t->execs, entry)
			if (tp->io != NULL)
				iocopy_export_cancel(tp->io);
	}
}

/* Free the handed-over stdio nobody took. */
static void
given_free(void)
{
	size_t	i;

	for (i = 0; i < ngiven; i++) {
		free(given[i].ns);
		free(given[i].id);
		free(given[i].exec_id);
		free(given[i].state);
	}
	free(given);
	given = NULL;
	ngiven = 0;
}

/* The new image: keep one handed-over stdio until recovery. */
void
ctrl_task_give_io(const char *ns, const char *id, const char *exec_id,
    const uint8_t *state, size_t len)
{
	struct given_io	*e;

	given = xreallocarray(given, ngiven + 1, sizeof(*given));
	e = &given[ngiven++];
	e->ns = xstrdup(ns);
	e->id = xstrdup(id);
	e->exec_id = exec_id != NULL && *exec_id != '\0' ? xstrdup(exec_id) :
	    NULL;
	e->state = xmemdup(state, len);
	e->len = len;
}

/* Take up tp's handed-over stdio, if any: true if it was there. */
static bool
recover_given_io(struct tproc *tp)
{
	struct given_io	*e;
	size_t		 i;
	char		*cause = NULL;

	for (i = 0; i < ngiven; i++) {
		e = &given[i];
		if (e->state == NULL || strcmp(e->ns, tp->task->ns) != 0 ||
		    strcmp(e->id, tp->task->id) != 0 ||
		    (e->exec_id == NULL) != (tp->exec_id == NULL) ||
		    (e->exec_id != NULL && strcmp(e->exec_id, tp->exec_id) != 0))
			continue;
		if (iocopy_import(task_base, e->state, e->len, &tp->io,
		    &cause) == -1) {
			log_warnx("%s: handed-over stdio unusable: %s",
			    task_name(tp), cause);
			free(cause);
			return (false);
		}
		free(e->state);
		e->state = NULL;
		return (true);
	}
	return (false);
}

/* Reopen a process's stdio where containerd still reads it. */
static void
recover_io(struct tproc *tp)
{
	struct iocopy_cfg	cfg;
	char			*cause = NULL;

	if (recover_given_io(tp))
		return;
	task_io_cfg(tp, &cfg);
	if (iocopy_reattach(task_base, &cfg, &tp->io, &cause) == -1) {
		log_warnx("%s: stdio not re-attached: %s", task_name(tp),
		    cause);
		free(cause);
	}
}

/*
 * Take back one recorded process that ran: re-adopt it, or record that it
 * exited while sandboxd was down.  Returns whether the record changed.
 */
static bool
recover_proc(struct tproc *tp)
{
	char	*cause = NULL;
	int	 status;

	if (tp->state == TASK_STOPPED || tp->pid == 0)
		return (false);
	/* The keeper held its pidfd: a status the kernel kept. */
	if (tp->start_time != 0 && proc_stash_exited((pid_t)tp->pid,
	    tp->start_time, &status) == 0) {
		log_info("%s: pid %u exited while sandboxd was down, with "
		    "status %d", task_name(tp), tp->pid, status);
		tp->state = TASK_STOPPED;
		tp->exit_status = (uint32_t)status;
		ts_now(&tp->exited_at);
		tp->reported = false;
		return (true);
	}
	if (tp->start_time != 0 && task_watch(tp, &cause) == 0) {
		if (tp->exec_id == NULL)
			tp->task->cgroup = task_cgroup_dir((pid_t)tp->pid);
		recover_io(tp);
		return (false);
	}
	log_warnx("%s: pid %u exited while sandboxd was down (%s); its exit "
	    "status is lost: reported as %d", task_name(tp), tp->pid,
	    cause != NULL ? cause : "no start time", TASK_STATUS_LOST);
	free(cause);
	tp->state = TASK_STOPPED;
	tp->exit_status = TASK_STATUS_LOST;
	tp->exit_lost = true;
	ts_now(&tp->exited_at);
	tp->reported = false;
	return (true);
}

/* A container whose Create never answered: remove what it left. */
static void
recover_unfinished(struct task *t)
{
	log_warnx("container %s/%s: sandboxd stopped during its Create; "
	    "removing it", t->ns, t->id);
	task_remove_forced(t);
}

/* Build a container from its record (rec is released by the caller). */
static struct task *
recover_task(const char *ns, const char *id, const sv_Task *rec)
{
	struct task	*t;
	struct tproc	*tp;
	pb_size_t	 i;

	t = task_new(ns, id);
	t->sandbox_id = rec_str(rec->sandbox_id);
	if ((t->bundle = rec_str(rec->bundle)) == NULL)
		t->bundle = xstrdup("/nonexistent");
	t->rootfs_mounted = rec->rootfs_mounted;
	t->created_at = rec->created_at;
	t->oom_dir = rec_str(rec->oom_cgroup);
	t->oom_told = rec->oom_told;
	restore_proc(&t->init, &rec->init);
	free(t->init.exec_id);
	t->init.exec_id = NULL;
	for (i = 0; i < rec->execs_count; i++) {
		tp = xcalloc(1, sizeof(*tp));
		tp->task = t;
		TAILQ_INIT(&tp->waiters);
		restore_proc(tp, &rec->execs[i]);
		if (tp->exec_id == NULL)
			tp->exec_id = xstrdup("?");
		TAILQ_INSERT_TAIL(&t->execs, tp, entry);
	}
	return (t);
}

/*
 * Tell an exit not told yet; a re-adopted process, which runs on, has
 * none (the record may be saved for another process, or for OOM kills).
 */
static void
recover_tell_exit(struct tproc *tp)
{
	if (tp->state == TASK_STOPPED && !tp->reported)
		task_answer_exit(tp);
}

/* Re-adopt what runs of one container; tell exits missed meanwhile. */
static void
recover_one(const char *ns, const char *id, void *buf, size_t len)
{
	sv_Task		 rec = { 0 };
	struct task	*t;
	struct tproc	*tp;
	bool		 changed, ran;
	char		*cause = NULL;

	if (!msg_decode(sv_Task_fields, &rec, buf, len, &cause)) {
		log_warnx("container %s/%s: record unreadable, left as it is: "
		    "%s", ns, id, cause);
		free(cause);
		return;
	}
	t = recover_task(ns, id, &rec);
	msg_release(sv_Task_fields, &rec);
	if (t->init.state == TASK_CREATING) {
		recover_unfinished(t);
		return;
	}
	ran = t->init.state != TASK_STOPPED && t->init.pid != 0;
	changed = recover_proc(&t->init);
	/* OOM kills while sandboxd was away: told before any TaskExit. */
	if (ran)
		changed |= task_oom_recover(t);
	TAILQ_FOREACH(tp, &t->execs, entry)
		changed |= recover_proc(tp);
	if (!changed)
		return;
	task_save(t);
	recover_tell_exit(&t->init);
	TAILQ_FOREACH(tp, &t->execs, entry)
		recover_tell_exit(tp);
}

/* Start-up: take back every recorded container. */
void
ctrl_task_recover(void)
{
	struct task_recs	 l = { 0 };
	size_t			 i;
	char			*cause = NULL;

	/*
	 * A walk, not store_scan: the sandboxes' recovery before this one
	 * may have left writes pending.
	 */
	store_walk(STORE_TASK, NULL, collect_cb, &l);
	for (i = 0; i < l.n; i++) {
		if (store_get(STORE_TASK, l.r[i].ns, l.r[i].id, &l.r[i].buf,
		    &l.r[i].len, &cause) == 1)
			recover_one(l.r[i].ns, l.r[i].id, l.r[i].buf,
			    l.r[i].len);
		else {
			log_warnx("container %s/%s: cannot read its record: %s",
			    l.r[i].ns, l.r[i].id, cause != NULL ? cause :
			    "gone");
			free(cause);
			cause = NULL;
		}
		free(l.r[i].ns);
		free(l.r[i].id);
		free(l.r[i].buf);
	}
	if (l.n > 0)
		log_info("containers: %zu recorded", l.n);
	free(l.r);
	for (i = 0; i < ngiven; i++)
		if (given[i].state != NULL)
			log_warnx("container %s/%s: handed-over stdio of a "
			    "process no record names; dropped", given[i].ns,
			    given[i].id);
	given_free();
}
