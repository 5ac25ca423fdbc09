/*
 * task_events.c: the task events containerd learns of containers by (CRI
 * learns of exits from TaskExit).  Each is published through events/
 * only once the commit holding the change it reports is durable
 * (call_after_commit): containerd is never told of a state a crash could
 * take back.  The event's fields are copied when it is made, since the
 * container may be gone by the time the commit completes.
 */
#include <stdlib.h>
#include <string.h>

#include "containerd/events/task.pb.h"
#include "events.h"
#include "log.h"
#include "task.h"
#include "xmalloc.h"

/* One event waiting for its commit. */
struct task_event {
	const char	*topic;
	char		*ns;
	char		*container_id;
	char		*exec_id;	/* Exit, Delete, ExecAdded/Started */
	char		*bundle;	/* Create */
	char		*stdio[3];	/* Create */
	bool		 terminal;
	uint32_t	 pid;
	uint32_t	 exit_status;
	gp_Timestamp	 exited_at;
};

/* A copy of s, "" for NULL (containerd reads empty as none). */
static char *
ev_str(const char *s)
{
	return (xstrdup(s != NULL ? s : ""));
}

/* Free an event. */
static void
ev_free(struct task_event *ev)
{
	free(ev->ns);
	free(ev->container_id);
	free(ev->exec_id);
	free(ev->bundle);
	free(ev->stdio[0]);
	free(ev->stdio[1]);
	free(ev->stdio[2]);
	free(ev);
}

/* Encode and queue the event by its topic. */
static int
ev_publish(const struct task_event *ev)
{
	const char	*t = ev->topic;

	if (strcmp(t, EVENTS_TOPIC_TASK_CREATE) == 0) {
		cev_TaskCreate m = { .container_id = ev->container_id,
		    .bundle = ev->bundle, .pid = ev->pid, .has_io = true };

		m.io.stdin = ev->stdio[0];
		m.io.stdout = ev->stdio[1];
		m.io.stderr = ev->stdio[2];
		m.io.terminal = ev->terminal;
		return (events_publish(ev->ns, t, cev_TaskCreate_fields, &m));
	}
	if (strcmp(t, EVENTS_TOPIC_TASK_START) == 0) {
		cev_TaskStart m = { .container_id = ev->container_id,
		    .pid = ev->pid };

		return (events_publish(ev->ns, t, cev_TaskStart_fields, &m));
	}
	if (strcmp(t, EVENTS_TOPIC_TASK_EXIT) == 0) {
		cev_TaskExit m = { .container_id = ev->container_id,
		    .id = ev->exec_id, .pid = ev->pid,
		    .exit_status = ev->exit_status, .has_exited_at = true,
		    .exited_at = ev->exited_at };

		return (events_publish(ev->ns, t, cev_TaskExit_fields, &m));
	}
	if (strcmp(t, EVENTS_TOPIC_TASK_DELETE) == 0) {
		cev_TaskDelete m = { .container_id = ev->container_id,
		    .id = ev->exec_id, .pid = ev->pid,
		    .exit_status = ev->exit_status,
		    .has_exited_at = ev->exited_at.seconds != 0,
		    .exited_at = ev->exited_at };

		return (events_publish(ev->ns, t, cev_TaskDelete_fields, &m));
	}
	if (strcmp(t, EVENTS_TOPIC_TASK_EXEC_ADDED) == 0) {
		cev_TaskExecAdded m = { .container_id = ev->container_id,
		    .exec_id = ev->exec_id };

		return (events_publish(ev->ns, t, cev_TaskExecAdded_fields,
		    &m));
	}
	if (strcmp(t, EVENTS_TOPIC_TASK_EXEC_STARTED) == 0) {
		cev_TaskExecStarted m = { .container_id = ev->container_id,
		    .exec_id = ev->exec_id, .pid = ev->pid };

		return (events_publish(ev->ns, t, cev_TaskExecStarted_fields,
		    &m));
	}
	{
		cev_TaskOOM m = { .container_id = ev->container_id };

		return (events_publish(ev->ns, t, cev_TaskOOM_fields, &m));
	}
}

/* The commit is durable (or failed: then the daemon exits). */
static void
ev_commit_cb(bool committed, void *arg)
{
	struct task_event	*ev = arg;

	if (committed && ev_publish(ev) == -1)
		log_warnx("container %s/%s: cannot publish %s", ev->ns,
		    ev->container_id, ev->topic);
	ev_free(ev);
}

/* A new event of tp's container (tp NULL: the container itself). */
static struct task_event *
ev_new(const char *topic, const struct task *t, const struct tproc *tp)
{
	struct task_event	*ev;

	ev = xcalloc(1, sizeof(*ev));
	ev->topic = topic;
	ev->ns = xstrdup(t->ns);
	ev->container_id = xstrdup(t->id);
	/* containerd names the init by the container's id in exec_id. */
	ev->exec_id = ev_str(tp != NULL && tp->exec_id != NULL ?
	    tp->exec_id : t->id);
	if (tp != NULL) {
		ev->pid = tp->pid;
		ev->exit_status = tp->exit_status;
		ev->exited_at = tp->exited_at;
	}
	return (ev);
}

/* Queue ev for after the commit. */
static void
ev_queue(struct task_event *ev)
{
	log_debug("container %s/%s: %s after the commit", ev->ns,
	    ev->container_id, ev->topic);
	call_after_commit(ev_commit_cb, ev);
}

/* TaskCreate: the container exists, its init has pid. */
void
task_event_create(struct task *t, uint32_t pid)
{
	struct task_event	*ev = ev_new(EVENTS_TOPIC_TASK_CREATE, t, NULL);

	ev->pid = pid;
	ev->bundle = ev_str(t->bundle);
	ev->stdio[0] = ev_str(t->init.stdin_path);
	ev->stdio[1] = ev_str(t->init.stdout_path);
	ev->stdio[2] = ev_str(t->init.stderr_path);
	ev->terminal = t->init.terminal;
	ev_queue(ev);
}

/* TaskStart: the init runs. */
void
task_event_start(struct tproc *tp)
{
	ev_queue(ev_new(EVENTS_TOPIC_TASK_START, tp->task, tp));
}

/* TaskExit: the init or an exec exited (status lost: 255). */
void
task_event_exit(struct tproc *tp)
{
	ev_queue(ev_new(EVENTS_TOPIC_TASK_EXIT, tp->task, tp));
}

/* TaskDelete: the container or an exec is forgotten. */
void
task_event_delete(struct tproc *tp)
{
	ev_queue(ev_new(EVENTS_TOPIC_TASK_DELETE, tp->task, tp));
}

/* TaskExecAdded: Exec recorded a process. */
void
task_event_exec_added(struct tproc *tp)
{
	ev_queue(ev_new(EVENTS_TOPIC_TASK_EXEC_ADDED, tp->task, tp));
}

/* TaskExecStarted: an exec runs. */
void
task_event_exec_started(struct tproc *tp)
{
	ev_queue(ev_new(EVENTS_TOPIC_TASK_EXEC_STARTED, tp->task, tp));
}

/* TaskOOM: the container's cgroup counted an OOM kill. */
void
task_event_oom(struct task *t)
{
	ev_queue(ev_new(EVENTS_TOPIC_TASK_OOM, t, NULL));
}
