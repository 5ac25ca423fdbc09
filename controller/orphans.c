/*
 * orphans.c: sandboxes containerd has forgotten.
 *
 * A sandbox made through the shim API belongs to a bundle directory of
 * containerd's.  containerd removes that directory once it is done with
 * the sandbox, normally after the shim launcher's "delete" has shut the
 * sandbox down here.  When sandboxd was down at that moment (a crash, a
 * restart), nobody is left to shut the sandbox down: its process would run
 * on and its netns stay mounted with no one to ever remove them.  So a
 * sandbox whose owner's bundle is gone is shut down here: at start, and
 * every ORPHANS_INTERVAL seconds after.
 *
 * Gone means the bundle is missing from a directory that is there: when
 * the parent is missing too, sandboxd may simply not see containerd's
 * files (another mount namespace, a state dir not mounted yet), and
 * killing every pod for that would be far worse than a leak.
 *
 * Containers (task*.c) are swept the same way, by their own bundle:
 * containerd removes it after the task's Delete.
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "instance.h"
#include "log.h"
#include "procmgr.h"
#include "task.h"
#include "xmalloc.h"

#define ORPHANS_INTERVAL	30	/* seconds between sweeps */

static struct event	*orphans_timer;

/* Whether path is missing from a parent directory that exists. */
static bool
orphans_gone(const char *path)
{
	char	*copy;
	bool	 parent;

	if (access(path, F_OK) == 0 || errno != ENOENT)
		return (false);
	copy = xstrdup(path);
	parent = access(dirname(copy), F_OK) == 0;
	free(copy);
	return (parent);
}

/* Shut inst down if containerd's bundle of it is gone. */
static void
orphans_check_cb(struct instance *inst, void *arg)
{
	(void)arg;
	if (inst->owner_bundle == NULL || inst->shutting_down || inst->creating)
		return;
	if (!orphans_gone(inst->owner_bundle))
		return;
	log_info("sandbox %s/%s: containerd's bundle %s is gone, so containerd "
	    "has forgotten it: shutting it down", inst->ns, inst->id,
	    inst->owner_bundle);
	inst_shutdown(inst);
}

/*
 * A container whose bundle containerd removed is one containerd forgot
 * (its Delete came while sandboxd was down): kill what runs of it, runc
 * delete --force, unmount, forget.
 */
static void
orphans_check_task_cb(struct task *t, void *arg)
{
	struct tproc	*tp;

	(void)arg;
	if (task_busy(t) || t->deleting || !orphans_gone(t->bundle))
		return;
	log_info("container %s/%s: containerd's bundle %s is gone, so "
	    "containerd has forgotten it: removing it", t->ns, t->id,
	    t->bundle);
	TAILQ_FOREACH(tp, &t->execs, entry)
		if (tp->proc != NULL)
			proc_kill(tp->proc, SIGKILL);
	if (t->init.proc != NULL)
		proc_kill(t->init.proc, SIGKILL);
	task_remove_forced(t);
}

/* Remove every sandbox and container whose owner has forgotten it. */
void
orphans_sweep(void)
{
	task_foreach(orphans_check_task_cb, NULL);
	inst_foreach(orphans_check_cb, NULL);
}

/* The periodic sweep. */
static void
orphans_timer_cb(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	orphans_sweep();
}

/* Sweep now and every ORPHANS_INTERVAL seconds on base. */
void
ctrl_watch_orphans(struct event_base *base)
{
	struct timeval	tv = { ORPHANS_INTERVAL, 0 };

	orphans_sweep();
	if (orphans_timer != NULL)
		return;
	orphans_timer = event_new(base, -1, EV_PERSIST, orphans_timer_cb, NULL);
	if (orphans_timer == NULL || event_add(orphans_timer, &tv) == -1)
		fatalx("%s: cannot arm the orphan sweep", __func__);
}

/* Stop the periodic sweep (daemon exit). */
void
ctrl_unwatch_orphans(void)
{
	if (orphans_timer != NULL)
		event_free(orphans_timer);
	orphans_timer = NULL;
}
