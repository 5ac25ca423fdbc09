/*
 * runc.h: containers through runc, their root filesystems, and the
 * daemon as the child subreaper that inherits their processes.  Part of
 * procmgr: it knows nothing of RPCs or of tasks as containerd sees them.
 *
 * Every runc_* call is asynchronous: it starts runc as the daemon's child
 * (posix_spawn), watches it by pidfd on the loop procmgr was initialized
 * with (proc_init), and calls done(arg, &result) from the loop when runc
 * has exited, never from the call itself.  It returns 0, or -1 with *err
 * (malloc'd, the caller frees it) when runc could not be started; done is
 * then never called.  An invocation still running after the timeout
 * (RUNC_TIMEOUT_MS unless runc_set_timeout says otherwise) is SIGKILLed
 * and reported as failed.  runc's own exit status is never taken by the
 * daemon's reaping of orphans, nor is any other child's taken by runc.c.
 */
#ifndef SANDBOXD_RUNC_H
#define SANDBOXD_RUNC_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUNC_TIMEOUT_MS		30000

/*
 * What done receives; valid during the call only.  status is runc's exit
 * status (0: success), -1 when runc died of a signal (the timeout's
 * SIGKILL included).  error is the last error runc logged (its --log
 * json), else what it wrote on stderr, else a sentence saying how it
 * ended; NULL on success.  A non-NULL error is a failure even with
 * status 0 (a create or exec that left no pid in its pid file).  pid, for
 * create and exec that succeeded, is the pid runc wrote to its --pid-file
 * (the container's init or the exec'd process, now the daemon's child:
 * see subreaper below), else 0.
 */
struct runc_result {
	int	 status;
	char	*error;
	pid_t	 pid;
};
typedef void (*runc_done_fn)(void *arg, const struct runc_result *res);

/*
 * runc.c.  runc_configure: the runc binary (a name is looked up in PATH;
 * NULL: "runc") and its --root state directory (NULL: no --root, runc's
 * own default); the daemon passes <run_dir>/runc.  Strings are copied.
 *
 * runc_create: `runc create --bundle <bundle> --pid-file <bundle>/init.pid
 * [--console-socket S] <id>`, with stdio[0..2] as runc's (and so the
 * container's) standard streams; -1 is /dev/null.  The descriptors are
 * only duplicated into runc: the caller still owns and closes them.
 * runc_exec: writes process_json to <bundle>/<exec_id>.json and runs
 * `runc exec --process it --detach --pid-file <bundle>/<exec_id>.pid
 * [--console-socket S --tty] <id>`; the .json is removed once runc exits.
 * runc_kill: `runc kill [--all] <id> <sig>`.  runc_delete: `runc delete
 * [--force] <id>`.  runc_update: `runc update --resources - <id>`, the
 * resources JSON (an OCI LinuxResources) on runc's stdin.  Ids must be
 * one path component.  runc runs with the daemon's environment, an empty
 * signal mask and descriptors 0-2 and its log alone.  Needs pidfds.
 *
 * done runs once per invocation that started.  In done for a create or
 * exec, the new process is spared by the orphan reaping: the caller must
 * start watching res->pid there (proc_adopt, or subreaper_track) to be
 * sure of its exit status, as it is reaped like any orphan afterwards.
 * done may start other invocations.
 */
void	 runc_configure(const char *binary, const char *root);
void	 runc_set_timeout(unsigned int ms);
int	 runc_create(const char *id, const char *bundle, const int stdio[3],
	    const char *console_socket, runc_done_fn done, void *arg,
	    char **err);
int	 runc_start(const char *id, runc_done_fn done, void *arg, char **err);
int	 runc_kill(const char *id, int sig, bool all, runc_done_fn done,
	    void *arg, char **err);
int	 runc_delete(const char *id, bool force, runc_done_fn done, void *arg,
	    char **err);
int	 runc_exec(const char *id, const char *bundle, const char *exec_id,
	    const uint8_t *process_json, size_t len, const int stdio[3],
	    const char *console_socket, runc_done_fn done, void *arg,
	    char **err);
int	 runc_update(const char *id, const uint8_t *resources_json, size_t len,
	    runc_done_fn done, void *arg, char **err);
int	 runc_pause(const char *id, runc_done_fn done, void *arg, char **err);
int	 runc_resume(const char *id, runc_done_fn done, void *arg, char **err);
/* Invocations started whose done has not returned yet (leak checks). */
unsigned int runc_inflight(void);

/*
 * rootfs.c: containerd's rootfs mounts for a task.  rootfs_mount mounts
 * m[0..n-1] in order on rootfs_dir (made if missing; m[i].target, if set,
 * is a relative path under it), turning options into mount(2) flags and
 * data as containerd's mount package does on Linux (ro, rw, bind, rbind,
 * nosuid, ...; anything else is data such as lowerdir=...).  Types:
 * overlay, bind (with the bind or rbind option), tmpfs; others, and the
 * loop option, are refused.  On failure whatever
 * it mounted is unmounted again and *err says which mount failed and why.
 * rootfs_unmount detaches everything mounted on rootfs_dir (MNT_DETACH
 * until nothing is); nothing mounted, or no such directory, is success.
 */
struct rootfs_mount {
	const char		*type;
	const char		*source;
	const char		*target;	/* NULL or "": rootfs_dir itself */
	const char *const	*options;
	size_t			 noptions;
};
int	 rootfs_mount(const char *rootfs_dir, const struct rootfs_mount *m,
	    size_t n, char **err);
int	 rootfs_unmount(const char *rootfs_dir, char **err);

/*
 * subreaper.c.  subreaper_enable: prctl(PR_SET_CHILD_SUBREAPER), so that
 * the processes runc leaves behind (container inits, exec'd processes)
 * become the daemon's children when runc exits; -1 with errno if the
 * kernel refuses.  Such children nobody watches are reaped by procmgr's
 * SIGCHLD sweep.  A child watched through procmgr (proc_adopt, proc_spawn)
 * or by runc.c is never reaped by the sweep.  subreaper_track(pid) says
 * "I will reap this child myself": the sweep leaves it (its zombie too)
 * until subreaper_untrack(pid), which sweeps again.
 */
int	 subreaper_enable(void);
void	 subreaper_track(pid_t pid);
void	 subreaper_untrack(pid_t pid);
bool	 subreaper_tracked(pid_t pid);

#endif /* SANDBOXD_RUNC_H */
