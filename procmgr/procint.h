/*
 * procint.h: what the files of procmgr share and nothing else sees: the
 * child's side of a spawn (proc.c), run by the daemon's own clone or by
 * the spawner helper's (spawner.c), and the helpers' start (helper.c).
 */
#ifndef SANDBOXD_PROCINT_H
#define SANDBOXD_PROCINT_H

#include <sys/types.h>

struct proc_launch;

/* spawner_spawn: the helper cannot do it, clone in the daemon. */
#define SPAWNER_UNUSED	((pid_t)-2)

/* proc.c */
void	proc_child(const struct proc_launch *, int, int)
	    __attribute__((__noreturn__));
int	proc_child_close_fds(int, int);

/* helper.c */
int	helper_fork(const char *, void (*)(int), pid_t *, int *, char **);

/* spawner.c */
pid_t	spawner_spawn(const struct proc_launch *, int, int);

#endif /* SANDBOXD_PROCINT_H */
