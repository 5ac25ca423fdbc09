/*
 * oomwatch.h: OOM kills in a memory cgroup, noticed on the loop as they
 * happen (what a task's TaskOOM event reports).  cgroup v2: inotify on
 * memory.events, one inotify descriptor for every watch; cgroup v1: an
 * eventfd registered in cgroup.event_control against memory.oom_control,
 * one descriptor per watch.  Either way the kernel's oom_kill counter
 * says how many kills there were, so each is told once.
 */
#ifndef SANDBOXD_OOMWATCH_H
#define SANDBOXD_OOMWATCH_H

#include <sys/types.h>

#include <stdint.h>

struct event_base;
struct oomwatch;

/*
 * kills (at least 1) more OOM kills were counted in the cgroup since the
 * watch last told.  It must not add or remove watches: the loop may be
 * walking them.
 */
typedef void (*oomwatch_fn)(void *arg, uint64_t kills);

/* oomwatch.c */
/*
 * Watch the memory cgroup directory dir (v1 or v2, as it is mounted);
 * kills counted before this call are not told.  NULL with *err
 * (malloc'd) if dir is no memory cgroup or cannot be watched.
 */
struct oomwatch	*oomwatch_add(struct event_base *, const char *dir,
		    oomwatch_fn, void *arg, char **err);
/* The same for pid's memory cgroup (cgstats_memory_dir). */
struct oomwatch	*oomwatch_add_pid(struct event_base *, pid_t, oomwatch_fn,
		    void *arg, char **err);
/*
 * Read the counter now and tell kills not told yet (a process's exit
 * may come before the notice of the kill that caused it).
 */
void		 oomwatch_check(struct oomwatch *);
/* Stop watching and free (NULL: nothing); a kill not told yet is not told. */
void		 oomwatch_remove(struct oomwatch *);
/* The watched directory, and 1 or 2 for its cgroup version. */
const char	*oomwatch_dir(const struct oomwatch *);
int		 oomwatch_version(const struct oomwatch *);

#endif /* SANDBOXD_OOMWATCH_H */
