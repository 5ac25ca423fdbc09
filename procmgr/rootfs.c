/*
 * rootfs.c: a task's root filesystem from containerd's mounts.
 *
 * containerd's CreateTask carries the snapshot as mounts: one overlay
 * (lowerdir=...,upperdir=...,workdir=...) or a bind of a directory.  The
 * option strings become mount(2) flags and data by the same table as
 * containerd's mount package on Linux, so a mount behaves as it would
 * under containerd's own shim: a known flag word sets or clears its flag,
 * anything else goes into the data string.  A read-only bind needs a
 * second, remounting call, as the kernel ignores MS_RDONLY on a bind.
 *
 * mount(2) takes at most a page of data.  An overlay of many layers has a
 * longer lowerdir; like containerd, the layers' common parent directory
 * becomes the working directory for the call and the layers are given
 * relative to it.  The daemon has other threads (storage commits), so the
 * calling thread first stops sharing its working directory with them
 * (unshare(CLONE_FS)), and returns to its old one afterwards.
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "runc.h"
#include "xmalloc.h"

#define ROOTFS_UMOUNT_MAX	64	/* stacked mounts unmounted at most */

/* containerd's flag words: set (or, with clear, remove) flag. */
static const struct rootfs_flag {
	const char	*name;
	bool		 clear;
	unsigned long	 flag;
} rootfs_flags[] = {
	{ "async",		true,	MS_SYNCHRONOUS },
	{ "atime",		true,	MS_NOATIME },
	{ "bind",		false,	MS_BIND },
	{ "dev",		true,	MS_NODEV },
	{ "diratime",		true,	MS_NODIRATIME },
	{ "dirsync",		false,	MS_DIRSYNC },
	{ "exec",		true,	MS_NOEXEC },
	{ "mand",		false,	MS_MANDLOCK },
	{ "noatime",		false,	MS_NOATIME },
	{ "nodev",		false,	MS_NODEV },
	{ "nodiratime",		false,	MS_NODIRATIME },
	{ "noexec",		false,	MS_NOEXEC },
	{ "nomand",		true,	MS_MANDLOCK },
	{ "norelatime",		true,	MS_RELATIME },
	{ "nostrictatime",	true,	MS_STRICTATIME },
	{ "nosuid",		false,	MS_NOSUID },
	{ "rbind",		false,	MS_BIND | MS_REC },
	{ "relatime",		false,	MS_RELATIME },
	{ "remount",		false,	MS_REMOUNT },
	{ "ro",			false,	MS_RDONLY },
	{ "rw",			true,	MS_RDONLY },
	{ "strictatime",	false,	MS_STRICTATIME },
	{ "suid",		true,	MS_NOSUID },
	{ "sync",		false,	MS_SYNCHRONOUS },
};

/* The file system types a task's rootfs may be made of. */
static const char *const rootfs_types[] = { "overlay", "bind", "tmpfs" };

/* One mount turned into mount(2)'s arguments. */
struct rootfs_call {
	unsigned long	 flags;
	char		*data;		/* comma-joined; "" for none */
	char		*chdir;		/* lowerdir relative to this, or NULL */
};

/* Is type one we mount? */
static bool
rootfs_type_known(const char *type)
{
	size_t	i;

	for (i = 0; i < sizeof rootfs_types / sizeof rootfs_types[0]; i++)
		if (strcmp(type, rootfs_types[i]) == 0)
			return (true);
	return (false);
}

/* Apply one option word to flags; false if it is data. */
static bool
rootfs_flag_apply(const char *opt, unsigned long *flags)
{
	size_t	i;

	for (i = 0; i < sizeof rootfs_flags / sizeof rootfs_flags[0]; i++) {
		if (strcmp(opt, rootfs_flags[i].name) != 0)
			continue;
		if (rootfs_flags[i].clear)
			*flags &= ~rootfs_flags[i].flag;
		else
			*flags |= rootfs_flags[i].flag;
		return (true);
	}
	return (false);
}

/* Append ",s" (or "s") to *data. */
static void
rootfs_data_add(char **data, const char *s)
{
	char	*old = *data;

	if (*old == '\0')
		*data = xstrdup(s);
	else
		xasprintf(data, "%s,%s", old, s);
	free(old);
}

/* Length of the common prefix of the colon-separated dirs in list. */
static size_t
rootfs_common_prefix(const char *list)
{
	const char	*first = list, *p, *q;
	size_t		 len = strcspn(list, ":");

	for (p = list; (p = strchr(p, ':')) != NULL; ) {
		p++;
		for (q = first; (size_t)(q - first) < len && *p != '\0' &&
		    *p != ':' && *p == *q; p++, q++)
			;
		len = (size_t)(q - first);
	}
	return (len);
}

/*
 * An overlay lowerdir too long for a page: rewrite it relative to the
 * layers' common parent (returned, with a trailing '/'), or NULL if they
 * share none below "/".
 */
static char *
rootfs_compact_lowerdir(const char *lower, char **relative)
{
	char	*common, *slash, *out, *prev, *dir, *list, *save = NULL;
	size_t	 len;

	if (strchr(lower, ':') == NULL)
		return (NULL);
	len = rootfs_common_prefix(lower);
	common = xstrndup(lower, len);
	if ((slash = strrchr(common, '/')) == NULL || slash == common) {
		free(common);
		return (NULL);
	}
	slash[1] = '\0';
	len = strlen(common);
	list = xstrdup(lower);
	out = xstrdup("lowerdir=");
	for (dir = strtok_r(list, ":", &save); dir != NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		prev = out;
		xasprintf(&out, "%s%s%s", prev, prev[9] != '\0' ? ":" : "",
		    dir + len);
		free(prev);
	}
	free(list);
	*relative = out;
	return (common);
}

/* Options to flags and data, as containerd's parseMountOptions. */
static int
rootfs_parse(const struct rootfs_mount *m, struct rootfs_call *call,
    char **err)
{
	const char	*opt, *lower = NULL;
	char		*relative = NULL;
	size_t		 i, size = 0;

	memset(call, 0, sizeof *call);
	call->data = xstrdup("");
	for (i = 0; i < m->noptions; i++)
		size += strlen(m->options[i]);
	for (i = 0; i < m->noptions; i++) {
		opt = m->options[i];
		if (strcmp(opt, "loop") == 0) {
			xasprintf(err, "mount option \"loop\" is not supported");
			return (-1);
		}
		if (rootfs_flag_apply(opt, &call->flags))
			continue;
		/* As containerd: only a page - 512 of options triggers it. */
		if (strcmp(m->type, "overlay") == 0 && lower == NULL &&
		    strncmp(opt, "lowerdir=", 9) == 0 &&
		    size >= (size_t)getpagesize() - 512 &&
		    (call->chdir = rootfs_compact_lowerdir(opt + 9,
		    &relative)) != NULL) {
			lower = relative;
			continue;
		}
		rootfs_data_add(&call->data, opt);
	}
	/* containerd puts the shortened lowerdir last. */
	if (lower != NULL) {
		rootfs_data_add(&call->data, lower);
		free(relative);
	}
	if (strlen(call->data) > (size_t)getpagesize()) {
		xasprintf(err, "mount options of %s are too long (%zu bytes)",
		    m->type, strlen(call->data));
		return (-1);
	}
	return (0);
}

/*
 * mount(2) from call->chdir: this thread alone moves there (see the top),
 * and comes back.
 */
static int
rootfs_mount_at(const struct rootfs_call *call, const char *source,
    const char *target, const char *type)
{
	int	cwd, rv, saved;

	if (call->chdir == NULL)
		return (mount(source, target, type, call->flags, call->data));
	if (unshare(CLONE_FS) == -1 ||
	    (cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	if (chdir(call->chdir) == -1) {
		saved = errno;
		close(cwd);
		errno = saved;
		return (-1);
	}
	rv = mount(source, target, type, call->flags, call->data);
	saved = errno;
	if (fchdir(cwd) == -1)
		fatal("%s: fchdir back", __func__);
	close(cwd);
	errno = saved;
	return (rv);
}

/* Where m goes: rootfs_dir, or a relative target below it. */
static char *
rootfs_target(const char *rootfs_dir, const struct rootfs_mount *m,
    char **err)
{
	const char	*t = m->target;
	char		*path;

	if (t == NULL || *t == '\0' || strcmp(t, "/") == 0)
		return (xstrdup(rootfs_dir));
	while (*t == '/')
		t++;
	if (strcmp(t, "..") == 0 || strncmp(t, "../", 3) == 0 ||
	    strstr(t, "/../") != NULL ||
	    (strlen(t) >= 3 && strcmp(t + strlen(t) - 3, "/..") == 0)) {
		xasprintf(err, "mount target \"%s\" leaves the rootfs",
		    m->target);
		return (NULL);
	}
	xasprintf(&path, "%s/%s", rootfs_dir, t);
	return (path);
}

/* Mount one of containerd's mounts. */
static int
rootfs_mount_one(const char *rootfs_dir, const struct rootfs_mount *m,
    char **err)
{
	struct rootfs_call	 call;
	const unsigned long	 ro_bind = MS_BIND | MS_RDONLY;
	char			*target = NULL;
	int			 rv = -1;

	if (m->type == NULL || !rootfs_type_known(m->type)) {
		xasprintf(err, "unsupported mount type \"%s\" (supported: "
		    "overlay, bind, tmpfs)", m->type != NULL ? m->type : "");
		return (-1);
	}
	if (rootfs_parse(m, &call, err) == -1 ||
	    (target = rootfs_target(rootfs_dir, m, err)) == NULL)
		goto out;
	if ((!(call.flags & MS_REMOUNT) || *call.data != '\0') &&
	    rootfs_mount_at(&call, m->source, target, m->type) == -1) {
		xasprintf(err, "mount %s %s on %s: %s", m->type,
		    m->source != NULL ? m->source : "", target,
		    strerror(errno));
		goto out;
	}
	if ((call.flags & ro_bind) == ro_bind &&
	    mount("", target, "", call.flags | MS_REMOUNT, NULL) == -1) {
		xasprintf(err, "remount %s read-only: %s", target,
		    strerror(errno));
		umount2(target, MNT_DETACH);
		goto out;
	}
	rv = 0;
out:
	free(call.data);
	free(call.chdir);
	free(target);
	return (rv);
}

/* Mount m[0..n-1] on rootfs_dir; on failure, nothing stays mounted. */
int
rootfs_mount(const char *rootfs_dir, const struct rootfs_mount *m, size_t n,
    char **err)
{
	char	*cause = NULL;
	size_t	 i;

	if (fs_mkdir_p(rootfs_dir, 0711, 0711, err) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		if (rootfs_mount_one(rootfs_dir, &m[i], err) == 0)
			continue;
		if (i > 0 && rootfs_unmount(rootfs_dir, &cause) == -1) {
			log_warnx("%s: %s", __func__, cause);
			free(cause);
		}
		return (-1);
	}
	return (0);
}

/* Detach whatever is mounted on rootfs_dir, stacked mounts included. */
int
rootfs_unmount(const char *rootfs_dir, char **err)
{
	int	i;

	for (i = 0; i < ROOTFS_UMOUNT_MAX; i++) {
		if (umount2(rootfs_dir, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			continue;
		/* EINVAL: not a mount point; ENOENT: no such directory. */
		if (errno == EINVAL || errno == ENOENT)
			return (0);
		xasprintf(err, "unmount %s: %s", rootfs_dir, strerror(errno));
		return (-1);
	}
	xasprintf(err, "unmount %s: still mounted after %d unmounts",
	    rootfs_dir, ROOTFS_UMOUNT_MAX);
	return (-1);
}
