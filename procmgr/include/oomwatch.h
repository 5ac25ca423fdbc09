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
/*
 * A restarted daemon's watch: kills counted after the count told (from
 * its record) are still news, told at the next check.  A count above the
 * kernel's is another cgroup's (the counter restarted): ignored.
 */
void		 oomwatch_since(struct oomwatch *, uint64_t told);
/* The kernel's count when the watch last told (0 if it does not count). */
uint64_t	 oomwatch_told(const struct oomwatch *);
/*
 * The kernel's OOM kill count of the memory cgroup dir now, unwatched;
 * -1 with *err (malloc'd) if dir is gone or no memory cgroup, or if the
 * kernel does not count kills there.
 */
int		 oomwatch_count(const char *dir, uint64_t *count, char **err);
/* Stop watching and free (NULL: nothing); a kill not told yet is not told. */
void		 oomwatch_remove(struct oomwatch *);
/* The watched directory, and 1 or 2 for its cgroup version. */
const char	*oomwatch_dir(const struct oomwatch *);
int		 oomwatch_version(const struct oomwatch *);

#endif /* SANDBOXD_OOMWATCH_H */
