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
 *
 * A swept sandbox is remembered (its exit) once it is gone, for whoever
 * still asks about it: CRI's StopPodSandbox sends the controller's Stop
 * for any pod it holds as ready or unknown, and takes a NotFound as a
 * failure that ends its teardown before the pod's netns is removed.  So
 * Stop, Wait and Shutdown of a swept id are answered as for a sandbox
 * that exited (lifecycle.c); every other method, and any id never swept,
 * still gets NotFound.  Memory only, the newest ORPHANS_REMEMBERED; a new
 * sandbox of the same id ends the memory of it.  (containerd 1.7 in shim
 * mode drops a pod's shim when its connection closes, and then answers
 * such a Stop NotFound itself, without asking sandboxd: see design.md.)
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "instance.h"
#include "log.h"
#include "procmgr.h"
#include "task.h"
#include "xmalloc.h"

#define ORPHANS_INTERVAL	30	/* seconds between sweeps */
#define ORPHANS_REMEMBERED	1024	/* swept sandboxes remembered */

static struct event	*orphans_timer;

/* A sandbox the sweep shut down, as it ended. */
struct swept {
	RB_ENTRY(swept)		 entry;
	TAILQ_ENTRY(swept)	 age;
	char			*ns;
	char			*id;
	gp_Timestamp		 exited_at;
	uint8_t			 exit_status;
};
RB_HEAD(swept_tree, swept);
TAILQ_HEAD(swept_list, swept);

static struct swept_tree	swept_tree = RB_INITIALIZER(&swept_tree);
static struct swept_list	swept_age = TAILQ_HEAD_INITIALIZER(swept_age);
static size_t			nswept;
static int	swept_cmp(const struct swept *, const struct swept *);
RB_PROTOTYPE(swept_tree, swept, entry, swept_cmp)

/* Order swept sandboxes by namespace, then id. */
static int
swept_cmp(const struct swept *a, const struct swept *b)
{
	int	c;

	if ((c = strcmp(a->ns, b->ns)) != 0)
		return (c);
	return (strcmp(a->id, b->id));
}
RB_GENERATE(swept_tree, swept, entry, swept_cmp)

/* The swept sandbox ns/id, or NULL. */
static struct swept *
swept_find(const char *ns, const char *id)
{
	struct swept	key;

	if (nswept == 0)
		return (NULL);
	key.ns = (char *)ns;
	key.id = (char *)id;
	return (RB_FIND(swept_tree, &swept_tree, &key));
}

/* Drop one remembered sandbox. */
static void
swept_free(struct swept *s)
{
	RB_REMOVE(swept_tree, &swept_tree, s);
	TAILQ_REMOVE(&swept_age, s, age);
	nswept--;
	free(s->ns);
	free(s->id);
	free(s);
}

/* inst is gone: remember its end if the sweep removed it, else forget. */
void
orphans_note_gone(const struct instance *inst)
{
	struct swept	*s;

	if ((s = swept_find(inst->ns, inst->id)) != NULL)
		swept_free(s);
	if (!inst->swept)
		return;
	if (nswept == ORPHANS_REMEMBERED)
		swept_free(TAILQ_FIRST(&swept_age));
	s = xcalloc(1, sizeof(*s));
	s->ns = xstrdup(inst->ns);
	s->id = xstrdup(inst->id);
	s->exit_status = inst->exit_status;
	s->exited_at = inst->exited_at;
	RB_INSERT(swept_tree, &swept_tree, s);
	TAILQ_INSERT_TAIL(&swept_age, s, age);
	nswept++;
}

/*
 * Whether ns/id is a sandbox the sweep removed; its exit status and time
 * through the pointers (each may be NULL).
 */
bool
orphans_swept(const char *ns, const char *id, uint32_t *status,
    gp_Timestamp *exited_at)
{
	struct swept	*s;

	if ((s = swept_find(ns, id)) == NULL)
		return (false);
	if (status != NULL)
		*status = s->exit_status;
	if (exited_at != NULL)
		*exited_at = s->exited_at;
	return (true);
}

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
	inst->swept = true;
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

/* Stop the periodic sweep and forget the swept sandboxes (daemon exit). */
void
ctrl_unwatch_orphans(void)
{
	if (orphans_timer != NULL)
		event_free(orphans_timer);
	orphans_timer = NULL;
	while (!TAILQ_EMPTY(&swept_age))
		swept_free(TAILQ_FIRST(&swept_age));
}
