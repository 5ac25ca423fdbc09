/*
 * proc_clone.c: cloning a sandbox process the cheap way.
 *
 * A fork-like clone copies the daemon's page tables, and every page the
 * daemon writes afterwards is copied again, with a TLB shootdown, for as
 * long as the child has not exec'd; a held child (proc_spawn.c) waits
 * for a whole commit first.  So the child is cloned with CLONE_VM: it
 * shares the daemon's memory, nothing is copied, and it runs on a small
 * stack of its own, mapped here, while the daemon goes on at once.  Not
 * CLONE_VFORK: the daemon cannot stop while a held child waits for its
 * commit.  Sharing memory with a running daemon is what the child's code
 * (proc_child.c) is written for: raw system calls only, no libc, no
 * errno, and every signal blocked around the clone so that no handler of
 * the daemon's runs in the child before it resets them.
 *
 * The same mapping holds the child's copy of the launch (a proc_image),
 * so the caller may free its launch at once.  The mapping must outlive
 * the child's use of the daemon's memory, which ends when it execs or
 * exits; both happen before its close-on-exec error pipe reads EOF.  So
 * it is given back only when the start is known to be over (EOF, or the
 * child reaped); a start given up before that is buried: its pipe is
 * watched until EOF, then the mapping goes back.  Mappings of the usual
 * size are kept for the next spawns (up to PROC_STACK_POOL, a burst of
 * Starts): a fresh one costs page faults on the daemon's side (the
 * image, the clone's first words) and, once unmapped, a TLB flush on
 * every CPU where a child sharing the memory runs.  After a second
 * without spawns the pool shrinks back to PROC_STACK_KEEP, so that an
 * idle daemon does not keep a burst's pages.
 *
 * Where CLONE_VM cannot be had (no raw system calls written for the
 * architecture, or a clone refused, as under valgrind), the child is a
 * fork-like clone as before, running the same code on its copy.
 */
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/sched.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "log.h"
#include "procint.h"
#include "procmgr_test.h"
#include "proc_sys.h"
#include "queue.h"
#include "xmalloc.h"

/* The child's stack: its frames are small, and it calls no library. */
#define PROC_STACK_SIZE		(32 * 1024)
#define PROC_STACK_MAP		(64 * 1024)	/* usual mapping, image < 28K */
#define PROC_STACK_POOL		64		/* usual mappings kept */
#define PROC_STACK_KEEP		8		/* ... and kept when idle */
#define PROC_STACK_TRIM_SECS	1		/* idle after this */
#define PROC_SYSCTL_DIR		"/proc/sys/"

/* The mapping a child runs on: guard page, stack, image. */
struct proc_stack {
	LIST_ENTRY(proc_stack)	 entry;		/* proc_buried or proc_pool */
	struct event		 ev;		/* fd readable, once buried */
	void			*base;
	size_t			 len;
	char			*top;		/* stack top, image start */
	int			 fd;		/* error pipe, once buried */
};
LIST_HEAD(proc_stack_list, proc_stack);

/* Where an image is laid out; base NULL only measures. */
struct proc_arena {
	char	*base;
	size_t	 off;
};

static struct proc_stack_list proc_buried = LIST_HEAD_INITIALIZER(proc_buried);
static struct proc_stack_list proc_pool = LIST_HEAD_INITIALIZER(proc_pool);
static int		 proc_pooled;		/* in proc_pool */
static struct event	 proc_trim_ev;		/* shrinks the pool */
static bool		 proc_trim_set;		/* proc_trim_ev assigned */
static int		 proc_stacks;		/* given to children */
static bool		 proc_no_clone3;	/* clone3 said ENOSYS */
static bool		 proc_no_clone_vm;	/* fork-like clones only */

/* Force fork-like clones (true) or allow CLONE_VM again (tests). */
void
proc_force_fork_clone(bool on)
{
	proc_no_clone_vm = on;
}

/* How many stacks children may still be running on (tests). */
int
proc_stack_count(void)
{
	return (proc_stacks);
}

/* Room for size bytes aligned to align; NULL when only measuring. */
static void *
arena_take(struct proc_arena *a, size_t size, size_t align)
{
	void	*p;

	a->off = (a->off + align - 1) & ~(align - 1);
	p = a->base != NULL ? a->base + a->off : NULL;
	a->off += size;
	return (p);
}

/* A copy of the len bytes at s and a NUL, or NULL for NULL. */
static char *
arena_strn(struct proc_arena *a, const char *s, size_t len)
{
	char	*p;

	if (s == NULL || (p = arena_take(a, len + 1, 1)) == NULL)
		return (NULL);
	memcpy(p, s, len);
	p[len] = '\0';
	return (p);
}

/* A copy of s, or NULL for NULL. */
static char *
arena_str(struct proc_arena *a, const char *s)
{
	return (s != NULL ? arena_strn(a, s, strlen(s)) : NULL);
}

/* A copy of the NULL-terminated vector v, strings and all. */
static char **
arena_vec(struct proc_arena *a, char *const *v)
{
	char	**p, *s;
	size_t	  n, i;

	for (n = 0; v[n] != NULL; n++)
		;
	p = arena_take(a, (n + 1) * sizeof *p, sizeof *p);
	for (i = 0; i < n; i++) {
		s = arena_str(a, v[i]);
		if (p != NULL)
			p[i] = s;
	}
	if (p != NULL)
		p[n] = NULL;
	return (p);
}

/*
 * The sysctls, "key=value", as the child writes them: the file
 * /proc/sys/key, the value, its length.  A malformed one gets no path,
 * and the child reports EINVAL at that step.
 */
static void
arena_sysctls(struct proc_arena *a, struct proc_image *im, char **sysctls)
{
	const char	**path, **value, *eq;
	size_t		 *len, n, i, klen, dlen = sizeof PROC_SYSCTL_DIR - 1;
	char		 *p, *v;

	for (n = 0; sysctls != NULL && sysctls[n] != NULL; n++)
		;
	path = arena_take(a, n * sizeof *path, sizeof *path);
	value = arena_take(a, n * sizeof *value, sizeof *value);
	len = arena_take(a, n * sizeof *len, sizeof *len);
	for (i = 0; i < n; i++) {
		eq = strchr(sysctls[i], '=');
		klen = eq != NULL ? (size_t)(eq - sysctls[i]) : 0;
		p = NULL;
		if (klen > 0 && dlen + klen < PATH_MAX &&
		    (p = arena_take(a, dlen + klen + 1, 1)) != NULL) {
			memcpy(p, PROC_SYSCTL_DIR, dlen);
			memcpy(p + dlen, sysctls[i], klen);
			p[dlen + klen] = '\0';
		}
		v = eq != NULL ? arena_str(a, eq + 1) : NULL;
		if (path == NULL)
			continue;
		path[i] = p;
		value[i] = v;
		len[i] = v != NULL ? strlen(v) : 0;
	}
	im->sysctl_path = path;
	im->sysctl_value = value;
	im->sysctl_len = len;
	im->nsysctls = n;
}

/* Fill im, the child's image of l, with copies laid out in a. */
static void
arena_fill(struct proc_arena *a, struct proc_image *im,
    const struct proc_launch *l, int errfd, int gatefd)
{
	char	*argv0[] = { l->path, NULL }, *noenv[] = { NULL };

	memset(im, 0, sizeof *im);
	im->clone_flags = l->clone_flags;
	im->errfd = errfd;
	im->gatefd = gatefd;
	im->path = arena_str(a, l->path);
	im->argv = arena_vec(a, l->argv != NULL ? l->argv : argv0);
	im->envp = arena_vec(a, l->envp != NULL ? l->envp : noenv);
	im->cwd = arena_str(a, l->cwd != NULL ? l->cwd : "/");
	im->out = arena_str(a, l->log_path != NULL ? l->log_path :
	    "/dev/null");
	im->hostname = arena_str(a, l->hostname);
	im->hostname_len = l->hostname != NULL ? strlen(l->hostname) : 0;
	im->netns_path = arena_str(a, l->netns_path);
	arena_sysctls(a, im, l->sysctls);
}

/*
 * Lay out the child's image of l in a; when a only measures (a->base
 * NULL), NULL.
 */
static struct proc_image *
arena_image(struct proc_arena *a, const struct proc_launch *l, int errfd,
    int gatefd)
{
	struct proc_image	 scratch, *im;

	im = arena_take(a, sizeof *im, sizeof(void *));
	arena_fill(a, im != NULL ? im : &scratch, l, errfd, gatefd);
	return (im);
}

/* Unmap a stack that no child runs on. */
static void
proc_stack_unmap(struct proc_stack *st)
{
	if (munmap(st->base, st->len) == -1)
		log_warn("%s: munmap", __func__);
	free(st);
}

/* No spawn for a while: shrink the pool to what an idle daemon keeps. */
static void
proc_stack_trim_cb(__attribute__((unused)) int fd,
    __attribute__((unused)) short events, __attribute__((unused)) void *arg)
{
	struct proc_stack	*st;

	while (proc_pooled > PROC_STACK_KEEP &&
	    (st = LIST_FIRST(&proc_pool)) != NULL) {
		LIST_REMOVE(st, entry);
		proc_pooled--;
		proc_stack_unmap(st);
	}
}

/* (Re)start the countdown to a trim of the pool; each spawn puts it off. */
static void
proc_stack_trim_later(void)
{
	struct timeval	tv = { PROC_STACK_TRIM_SECS, 0 };

	if (!proc_trim_set) {
		evtimer_assign(&proc_trim_ev, proc_base, proc_stack_trim_cb,
		    NULL);
		proc_trim_set = true;
	}
	evtimer_add(&proc_trim_ev, &tv);
}

/* Give st back: kept for the next spawn if usual and room, else unmapped. */
static void
proc_stack_put(struct proc_stack *st)
{
	if (st == NULL)
		return;
	proc_stacks--;
	if (st->len == PROC_STACK_MAP && proc_pooled < PROC_STACK_POOL) {
		LIST_INSERT_HEAD(&proc_pool, st, entry);
		if (++proc_pooled > PROC_STACK_KEEP)
			proc_stack_trim_later();
		return;
	}
	proc_stack_unmap(st);
}

/* A stack of len bytes (a guard page below): from the pool, or mapped. */
static struct proc_stack *
proc_stack_get(size_t len)
{
	struct proc_stack	*st;
	size_t			 page = (size_t)sysconf(_SC_PAGESIZE);
	void			*base;

	if (len == PROC_STACK_MAP && (st = LIST_FIRST(&proc_pool)) != NULL) {
		LIST_REMOVE(st, entry);
		proc_pooled--;
		proc_stacks++;
		return (st);
	}
	if ((base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0)) == MAP_FAILED)
		return (NULL);
	if (mprotect(base, page, PROT_NONE) == -1) {
		munmap(base, len);
		return (NULL);
	}
	st = xcalloc(1, sizeof *st);
	st->base = base;
	st->len = len;
	st->fd = -1;
	proc_stacks++;
	return (st);
}

/*
 * A stack with the image of l at its top, for a child whose error pipe
 * is errfd and gate gatefd: the image ends the mapping and the stack
 * grows down from where it begins, so a small image and the first frames
 * share a page.  NULL with errno.
 */
static struct proc_stack *
proc_stack_new(const struct proc_launch *l, int errfd, int gatefd,
    struct proc_image **im)
{
	struct proc_stack	*st;
	struct proc_arena	 a = { NULL, 0 };
	size_t			 page = (size_t)sysconf(_SC_PAGESIZE), size;

	arena_image(&a, l, errfd, gatefd);
	size = (a.off + 63) & ~(size_t)63;
	a.off = (page + PROC_STACK_SIZE + size + page - 1) & ~(page - 1);
	if ((st = proc_stack_get(a.off < PROC_STACK_MAP ? PROC_STACK_MAP :
	    a.off)) == NULL)
		return (NULL);
	st->top = (char *)st->base + st->len - size;
	a.base = st->top;
	a.off = 0;
	*im = arena_image(&a, l, errfd, gatefd);
	return (st);
}

/*
 * A pidfd for pid, the new child (none: 0 or -1, or no pidfds here).  Our
 * child cannot be reaped by anyone else, so its pid is still its own.
 * If no pidfd can be had, the child is killed and reaped: -1.
 */
static pid_t
proc_open_pidfd(pid_t pid, int *pidfd)
{
	int	saved;

	*pidfd = -1;
	if (pid <= 0 || !proc_pidfd)
		return (pid);
	if ((*pidfd = pidfd_open(pid, 0)) == -1) {
		saved = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		errno = saved;
		return (-1);
	}
	return (pid);
}

/*
 * A fork-like clone: clone3 with CLONE_PIDFD; where clone3 is missing
 * (old kernel, seccomp), clone (which, unlike fork, takes the namespace
 * flags) and pidfd_open.  0 in the child.
 */
static pid_t
proc_clone_fork(int flags, int *pidfd)
{
	struct clone_args	ca;
	pid_t			pid;

	*pidfd = -1;
	if (proc_pidfd && !proc_no_clone3) {
		memset(&ca, 0, sizeof ca);
		ca.flags = CLONE_PIDFD | (uint64_t)(unsigned int)flags;
		ca.pidfd = (uint64_t)(uintptr_t)pidfd;
		ca.exit_signal = SIGCHLD;
		pid = (pid_t)syscall(SYS_clone3, &ca, CLONE_ARGS_SIZE_VER0);
		if (pid != -1 || errno != ENOSYS)
			return (pid);
		proc_no_clone3 = true;
		log_debug("%s: no clone3, using clone", __func__);
	}
	/* No stack and no CLONE_VM: this is fork, with namespaces. */
	pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL,
	    NULL, NULL, NULL);
	return (proc_open_pidfd(pid, pidfd));
}

/*
 * Clone the child of image im on st's stack, in the daemon's memory, and
 * return at once.  Every signal stays blocked across the clone: the child
 * inherits that mask and unblocks only after resetting the handlers.
 */
static pid_t
proc_clone_vm(struct proc_stack *st, struct proc_image *im, int *pidfd)
{
	sigset_t	all, old;
	pid_t		pid;
	int		flags = CLONE_VM | im->clone_flags | SIGCHLD, saved;

	*pidfd = -1;
	if (proc_pidfd)
		flags |= CLONE_PIDFD;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone(proc_child_main, st->top, flags, im, pidfd,
	    NULL, NULL);
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return (pid);
}

/*
 * Clone the child of launch l, its error pipe's write end errfd and its
 * gate's read end gatefd (-1: not held); never returns in the child.  The
 * pid, and the stack the child runs on (*stp, NULL if it has its own
 * copy of everything), to give to proc_stack_free; or -1 with errno.
 */
pid_t
proc_clone_launch(const struct proc_launch *l, int errfd, int gatefd,
    int *pidfd, struct proc_stack **stp)
{
	struct proc_stack	*st;
	struct proc_image	*im;
	pid_t			 pid = -1;
	int			 saved;

	*stp = NULL;
	if ((st = proc_stack_new(l, errfd, gatefd, &im)) == NULL)
		return (-1);
	if (PROC_SYS_RAW && !proc_no_clone_vm) {
		if ((pid = proc_clone_vm(st, im, pidfd)) != -1) {
			*stp = st;
			return (pid);
		}
		if (errno != EINVAL && errno != ENOSYS)
			goto done;
		log_debug("%s: clone with CLONE_VM: %s, trying a fork-like "
		    "clone", __func__, strerror(errno));
	}
	if ((pid = proc_clone_fork(l->clone_flags, pidfd)) == 0)
		proc_child(im);
	if (pid != -1 && PROC_SYS_RAW && !proc_no_clone_vm) {
		log_info("sandbox processes are cloned fork-like from now on: "
		    "this system refuses CLONE_VM");
		proc_no_clone_vm = true;
	}
done:
	saved = errno;
	proc_stack_put(st);
	errno = saved;
	return (pid);
}

/* Forget a buried stack: its child no longer uses it. */
static void
proc_stack_forget(struct proc_stack *st)
{
	LIST_REMOVE(st, entry);
	event_del(&st->ev);
	close(st->fd);
	st->fd = -1;
	proc_stack_put(st);
}

/* A buried stack's error pipe is readable: done at EOF. */
static void
proc_stack_buried_cb(int fd, __attribute__((unused)) short events,
    void *arg)
{
	struct proc_child_err	ce;
	ssize_t			n;

	while ((n = read(fd, &ce, sizeof ce)) > 0)
		;
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	proc_stack_forget(arg);
}

/*
 * The start that cloned onto st is over: close its error pipe errfd (the
 * read end, non-blocking) and unmap st.  Unless released (the child has
 * exec'd or is gone), the child may still run on st: then watch errfd
 * until EOF and unmap only then.
 */
void
proc_stack_free(struct proc_stack *st, int errfd, bool released)
{
	if (st == NULL || released) {
		close(errfd);
		proc_stack_put(st);
		return;
	}
	st->fd = errfd;
	event_assign(&st->ev, proc_base, errfd, EV_READ | EV_PERSIST,
	    proc_stack_buried_cb, st);
	event_add(&st->ev, NULL);
	LIST_INSERT_HEAD(&proc_buried, st, entry);
}

/*
 * Unmap the pool and stop watching buried stacks.  Those stay mapped: a
 * child may still run on one, and the daemon is on its way out.
 */
void
proc_stack_shutdown(void)
{
	struct proc_stack	*st;

	if (proc_trim_set) {
		evtimer_del(&proc_trim_ev);
		proc_trim_set = false;
	}
	while ((st = LIST_FIRST(&proc_pool)) != NULL) {
		LIST_REMOVE(st, entry);
		proc_stack_unmap(st);
	}
	proc_pooled = 0;
	while ((st = LIST_FIRST(&proc_buried)) != NULL) {
		LIST_REMOVE(st, entry);
		event_del(&st->ev);
		close(st->fd);
		free(st);
		proc_stacks--;
	}
}
