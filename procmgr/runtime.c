/*
 * runtime.c: the built-in runtimes (spec section 6).
 *
 * A runtime turns a sandbox's OCI runtime spec (JSON, empty when the
 * sandbox has none) into a struct proc_launch.  The spec comes from a
 * client: every field used is checked for its type and size, and anything
 * unexpected is an error, never a crash.  Fields not used are not looked at.
 *
 * Namespaces (linux.namespaces):
 * - pause always gets new PID, IPC and UTS namespaces and a network
 *   namespace of its own; other entries are checked for form but otherwise
 *   ignored (a CRI pod spec also lists mount and others).
 * - exec gets a new pid, ipc or uts namespace for each entry of that type
 *   without a path.  Joining one of those by path, and mount, user, cgroup
 *   and time namespaces are refused: sandboxd could not honour them (no
 *   rootfs, no id mappings), and silently running less isolated than asked
 *   would be worse than an error.
 * - network is never a clone flag: the process joins launch->netns_path,
 *   which the controller chooses (see procmgr.h).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "procmgr.h"
#include "protocol.h"
#include "xmalloc.h"

#ifndef SANDBOXD_LIBEXECDIR
#define SANDBOXD_LIBEXECDIR	"/usr/local/libexec/sandboxd"
#endif
#ifndef nitems
#define nitems(a)		(sizeof (a) / sizeof (a)[0])
#endif

#define RUNTIME_PAUSE_DEFAULT	SANDBOXD_LIBEXECDIR "/sandboxd-pause"

#define RUNTIME_MAX_ARGS	1024
#define RUNTIME_MAX_ENV		1024
#define RUNTIME_MAX_NAMESPACES	64
#define RUNTIME_MAX_HOSTNAME	64	/* HOST_NAME_MAX */

/* PATH searched for exec's args[0] when process.env has none. */
#define RUNTIME_DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* The pause process's whole environment. */
#define RUNTIME_PAUSE_ENV	"PATH=/usr/sbin:/usr/bin:/sbin:/bin"

#define RUNTIME_PAUSE_FLAGS	(CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS)
#define RUNTIME_EXEC_FLAGS	(CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS)

/* What linux.namespaces asks for. */
struct spec_ns {
	int		 fresh;		/* types without a path (CLONE_NEW*) */
	int		 joined;	/* types with a path (CLONE_NEW*) */
	const char	*net_path;	/* network entry's path, or NULL */
};

/* A built-in runtime: what it needs, how it starts. */
struct runtime {
	const char	*name;
	int		(*needs_netns)(json_t *, bool *, char **);
	int		(*prepare)(json_t *, struct proc_launch *, char **);
};

static int	pause_needs_netns(json_t *, bool *, char **);
static int	pause_prepare(json_t *, struct proc_launch *, char **);
static int	exec_needs_netns(json_t *, bool *, char **);
static int	exec_prepare(json_t *, struct proc_launch *, char **);

/* runtime_known_list() names them in this order. */
static const struct runtime runtimes[] = {
	{ RUNTIME_PAUSE, pause_needs_netns, pause_prepare },
	{ RUNTIME_EXEC, exec_needs_netns, exec_prepare },
};

/* OCI namespace types and their clone flags. */
static const struct {
	const char	*type;
	int		 flag;
} ns_types[] = {
	{ "pid", CLONE_NEWPID },
	{ "network", CLONE_NEWNET },
	{ "mount", CLONE_NEWNS },
	{ "ipc", CLONE_NEWIPC },
	{ "uts", CLONE_NEWUTS },
	{ "user", CLONE_NEWUSER },
	{ "cgroup", CLONE_NEWCGROUP },
	{ "time", CLONE_NEWTIME },
};

static char	*pause_path;

static void	rt_error(char **, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));

/* Set *cause, if wanted. */
static void
rt_error(char **cause, const char *fmt, ...)
{
	va_list	ap;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(cause, fmt, ap);
	va_end(ap);
}

/* Free a NULL-terminated string vector. */
static void
strv_free(char **v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Check path names an executable regular file; errno says why not. */
static int
is_executable(const char *path)
{
	struct stat	sb;

	if (stat(path, &sb) == -1)
		return (-1);
	if (!S_ISREG(sb.st_mode)) {
		errno = S_ISDIR(sb.st_mode) ? EISDIR : EACCES;
		return (-1);
	}
	return (access(path, X_OK));
}

/* Find a runtime by name. */
static const struct runtime *
runtime_find(const char *name, char **cause)
{
	size_t	i;

	for (i = 0; name != NULL && i < nitems(runtimes); i++) {
		if (strcmp(runtimes[i].name, name) == 0)
			return (&runtimes[i]);
	}
	rt_error(cause, "unknown runtime \"%s\" (known: %s)",
	    name == NULL ? "" : name, runtime_known_list());
	return (NULL);
}

/* Parse the spec as a JSON object; an absent (empty) spec is {}. */
static json_t *
spec_load(const void *spec, size_t len, char **cause)
{
	json_error_t	 err;
	json_t		*root;

	if (len == 0) {
		if ((root = json_object()) == NULL)
			fatalx("%s: out of memory", __func__);
		return (root);
	}
	if ((root = json_loadb(spec, len, JSON_REJECT_DUPLICATES, &err)) ==
	    NULL) {
		rt_error(cause, "spec: invalid JSON at line %d, column %d: %s",
		    err.line, err.column, err.text);
		return (NULL);
	}
	if (!json_is_object(root)) {
		rt_error(cause, "spec: not a JSON object");
		json_decref(root);
		return (NULL);
	}
	return (root);
}

/* Name a JSON type for messages. */
static const char *
spec_type_name(json_type type)
{
	switch (type) {
	case JSON_OBJECT:
		return ("an object");
	case JSON_ARRAY:
		return ("an array");
	case JSON_STRING:
		return ("a string");
	default:
		return ("of the expected type");
	}
}

/*
 * Get member key of object parent (NULL: absent), which must be of the
 * given type; *out is NULL when it is absent or null.  what names it.
 */
static int
spec_member(json_t *parent, const char *key, const char *what,
    json_type type, json_t **out, char **cause)
{
	json_t	*v;

	*out = NULL;
	if (parent == NULL)
		return (0);
	v = json_object_get(parent, key);
	if (v == NULL || json_is_null(v))
		return (0);
	if (json_typeof(v) != type) {
		rt_error(cause, "spec: %s is not %s", what,
		    spec_type_name(type));
		return (-1);
	}
	*out = v;
	return (0);
}

/* Copy an array of at most max strings into a NULL-terminated vector. */
static int
spec_strings(json_t *array, const char *what, size_t max, char ***out,
    char **cause)
{
	json_t	 *v;
	char	**vec;
	size_t	  n, i;

	*out = NULL;
	if ((n = json_array_size(array)) > max) {
		rt_error(cause, "spec: %s has more than %zu entries", what,
		    max);
		return (-1);
	}
	json_array_foreach(array, i, v) {
		if (!json_is_string(v)) {
			rt_error(cause, "spec: %s[%zu] is not a string", what,
			    i);
			return (-1);
		}
	}
	vec = xcalloc(n + 1, sizeof *vec);
	json_array_foreach(array, i, v)
		vec[i] = xstrdup(json_string_value(v));
	*out = vec;
	return (0);
}

/* Get spec.hostname, NULL when absent or empty. */
static int
spec_hostname(json_t *root, char **hostname, char **cause)
{
	json_t	*v;

	*hostname = NULL;
	if (spec_member(root, "hostname", "hostname", JSON_STRING, &v,
	    cause) != 0)
		return (-1);
	if (v == NULL || json_string_length(v) == 0)
		return (0);
	if (json_string_length(v) > RUNTIME_MAX_HOSTNAME) {
		rt_error(cause, "spec: hostname is longer than %d bytes",
		    RUNTIME_MAX_HOSTNAME);
		return (-1);
	}
	*hostname = xstrdup(json_string_value(v));
	return (0);
}

/* Clone flag of an OCI namespace type, 0 if unknown. */
static int
ns_flag(const char *type)
{
	size_t	i;

	for (i = 0; i < nitems(ns_types); i++) {
		if (strcmp(ns_types[i].type, type) == 0)
			return (ns_types[i].flag);
	}
	return (0);
}

/* OCI type name of the first namespace in flags. */
static const char *
ns_name(int flags)
{
	size_t	i;

	for (i = 0; i < nitems(ns_types); i++) {
		if (flags & ns_types[i].flag)
			return (ns_types[i].type);
	}
	return ("unknown");
}

/* Read entry i of linux.namespaces into *ns. */
static int
spec_ns_entry(json_t *entry, size_t i, struct spec_ns *ns, char **cause)
{
	json_t		*type, *path;
	const char	*s;
	int		 flag;

	if (!json_is_object(entry)) {
		rt_error(cause, "spec: linux.namespaces[%zu] is not an object",
		    i);
		return (-1);
	}
	type = json_object_get(entry, "type");
	if (!json_is_string(type)) {
		rt_error(cause, "spec: linux.namespaces[%zu].type is not a "
		    "string", i);
		return (-1);
	}
	if ((flag = ns_flag(json_string_value(type))) == 0) {
		rt_error(cause, "spec: linux.namespaces[%zu]: unknown "
		    "namespace type \"%s\"", i, json_string_value(type));
		return (-1);
	}
	path = json_object_get(entry, "path");
	if (path == NULL || json_is_null(path) ||
	    (json_is_string(path) && json_string_length(path) == 0)) {
		ns->fresh |= flag;
		return (0);
	}
	if (!json_is_string(path) || *(s = json_string_value(path)) != '/') {
		rt_error(cause, "spec: linux.namespaces[%zu].path is not an "
		    "absolute path", i);
		return (-1);
	}
	ns->joined |= flag;
	if (flag == CLONE_NEWNET)
		ns->net_path = s;
	return (0);
}

/* Read linux.namespaces into *ns; strings stay owned by root. */
static int
spec_namespaces(json_t *root, struct spec_ns *ns, char **cause)
{
	json_t	*lx, *list, *entry;
	size_t	 i;

	memset(ns, 0, sizeof *ns);
	if (spec_member(root, "linux", "linux", JSON_OBJECT, &lx, cause) != 0)
		return (-1);
	if (spec_member(lx, "namespaces", "linux.namespaces", JSON_ARRAY,
	    &list, cause) != 0)
		return (-1);
	if (json_array_size(list) > RUNTIME_MAX_NAMESPACES) {
		rt_error(cause, "spec: linux.namespaces has more than %d "
		    "entries", RUNTIME_MAX_NAMESPACES);
		return (-1);
	}
	json_array_foreach(list, i, entry) {
		if (spec_ns_entry(entry, i, ns, cause) != 0)
			return (-1);
	}
	return (0);
}

/* Pause is a pod: it always has a network namespace of its own. */
static int
pause_needs_netns(json_t *root, bool *needs, char **cause)
{
	struct spec_ns	ns;

	if (spec_namespaces(root, &ns, cause) != 0)
		return (-1);
	*needs = true;
	return (0);
}

/* Launch the pause program in new PID, IPC and UTS namespaces. */
static int
pause_prepare(json_t *root, struct proc_launch *launch, char **cause)
{
	struct spec_ns	 ns;
	const char	*path = runtime_pause_path();

	if (spec_namespaces(root, &ns, cause) != 0)
		return (-1);
	if (spec_hostname(root, &launch->hostname, cause) != 0)
		return (-1);
	if (is_executable(path) != 0) {
		rt_error(cause, "pause runtime: %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	launch->path = xstrdup(path);
	launch->argv = xcalloc(2, sizeof *launch->argv);
	launch->argv[0] = xstrdup(path);
	launch->envp = xcalloc(2, sizeof *launch->envp);
	launch->envp[0] = xstrdup(RUNTIME_PAUSE_ENV);
	launch->cwd = xstrdup("/");
	launch->clone_flags = RUNTIME_PAUSE_FLAGS;
	launch->log_direct = true;
	return (0);
}

/* Check exec can honour the namespaces asked for; set its clone flags. */
static int
exec_namespaces(json_t *root, struct spec_ns *ns, int *flags, char **cause)
{
	int	bad;

	if (spec_namespaces(root, ns, cause) != 0)
		return (-1);
	bad = (ns->fresh | ns->joined) & ~(RUNTIME_EXEC_FLAGS|CLONE_NEWNET);
	if (bad != 0) {
		rt_error(cause, "exec runtime: %s namespaces are not supported "
		    "(supported: pid, ipc, uts, network)", ns_name(bad));
		return (-1);
	}
	if ((bad = ns->joined & ~CLONE_NEWNET) != 0) {
		rt_error(cause, "exec runtime: joining a %s namespace by path "
		    "is not supported", ns_name(bad));
		return (-1);
	}
	*flags = ns->fresh & RUNTIME_EXEC_FLAGS;
	return (0);
}

/* Copy process.args: at least one, args[0] not empty. */
static int
exec_args(json_t *proc, char ***argv, char **cause)
{
	json_t	*args;

	if (spec_member(proc, "args", "process.args", JSON_ARRAY, &args,
	    cause) != 0)
		return (-1);
	if (json_array_size(args) == 0) {
		rt_error(cause, "spec has no process.args");
		return (-1);
	}
	if (spec_strings(args, "process.args", RUNTIME_MAX_ARGS, argv,
	    cause) != 0)
		return (-1);
	if ((*argv)[0][0] == '\0') {
		rt_error(cause, "spec: process.args[0] is empty");
		return (-1);
	}
	return (0);
}

/* Copy process.env (absent: empty); each entry must be KEY=value. */
static int
exec_env(json_t *proc, char ***envp, char **cause)
{
	json_t	*env;
	size_t	 i;
	char	*eq;

	if (spec_member(proc, "env", "process.env", JSON_ARRAY, &env,
	    cause) != 0)
		return (-1);
	if (spec_strings(env, "process.env", RUNTIME_MAX_ENV, envp,
	    cause) != 0)
		return (-1);
	for (i = 0; (*envp)[i] != NULL; i++) {
		eq = strchr((*envp)[i], '=');
		if (eq == NULL || eq == (*envp)[i]) {
			rt_error(cause, "spec: process.env[%zu] is not "
			    "KEY=value", i);
			return (-1);
		}
	}
	return (0);
}

/* Copy process.cwd, an absolute path; "/" when absent. */
static int
exec_cwd(json_t *proc, char **cwd, char **cause)
{
	json_t	*v;

	if (spec_member(proc, "cwd", "process.cwd", JSON_STRING, &v,
	    cause) != 0)
		return (-1);
	if (v == NULL) {
		*cwd = xstrdup("/");
		return (0);
	}
	if (*json_string_value(v) != '/') {
		rt_error(cause, "spec: process.cwd is not an absolute path");
		return (-1);
	}
	*cwd = xstrdup(json_string_value(v));
	return (0);
}

/* Fill launch from the spec, all but the executable's path. */
static int
exec_fill(json_t *root, struct spec_ns *ns, struct proc_launch *launch,
    char **cause)
{
	json_t	*proc;

	if (exec_namespaces(root, ns, &launch->clone_flags, cause) != 0)
		return (-1);
	if (spec_member(root, "process", "process", JSON_OBJECT, &proc,
	    cause) != 0)
		return (-1);
	if (exec_args(proc, &launch->argv, cause) != 0)
		return (-1);
	if (exec_env(proc, &launch->envp, cause) != 0)
		return (-1);
	if (exec_cwd(proc, &launch->cwd, cause) != 0)
		return (-1);
	if (~launch->clone_flags & CLONE_NEWUTS)
		return (0);	/* never rename the host */
	return (spec_hostname(root, &launch->hostname, cause));
}

/* The PATH in envp, or the default one. */
static const char *
exec_search_path(char **envp)
{
	size_t	i;

	for (i = 0; envp[i] != NULL; i++) {
		if (strncmp(envp[i], "PATH=", 5) == 0)
			return (envp[i] + 5);
	}
	return (RUNTIME_DEFAULT_PATH);
}

/*
 * Look name up in the absolute directories of search, like execvp(3);
 * empty and relative entries are skipped rather than taken relative to
 * the daemon's directory.
 */
static int
exec_search(const char *name, const char *search, char **path, char **cause)
{
	const char	*p, *end;
	char		*candidate;

	for (p = search;; p = end + 1) {
		end = strchrnul(p, ':');
		if (end > p && *p == '/') {
			xasprintf(&candidate, "%.*s/%s", (int)(end - p), p,
			    name);
			if (is_executable(candidate) == 0) {
				*path = candidate;
				return (0);
			}
			free(candidate);
		}
		if (*end == '\0')
			break;
	}
	rt_error(cause, "exec runtime: \"%s\" not found in PATH (%s)", name,
	    search);
	return (-1);
}

/* Resolve argv[0] to launch->path: searched if it has no '/'. */
static int
exec_resolve(struct proc_launch *launch, char **cause)
{
	const char	*arg0 = launch->argv[0], *cwd = launch->cwd;
	char		*path;

	if (strchr(arg0, '/') == NULL) {
		return (exec_search(arg0, exec_search_path(launch->envp),
		    &launch->path, cause));
	}
	if (*arg0 == '/')
		path = xstrdup(arg0);
	else if (cwd[strlen(cwd) - 1] == '/')
		xasprintf(&path, "%s%s", cwd, arg0);
	else
		xasprintf(&path, "%s/%s", cwd, arg0);
	if (is_executable(path) != 0) {
		rt_error(cause, "exec runtime: %s: %s", path, strerror(errno));
		free(path);
		return (-1);
	}
	launch->path = path;
	return (0);
}

/* Exec needs a network namespace when linux.namespaces has one. */
static int
exec_needs_netns(json_t *root, bool *needs, char **cause)
{
	struct proc_launch	scratch;
	struct spec_ns		ns;
	int			rc;

	memset(&scratch, 0, sizeof scratch);
	rc = exec_fill(root, &ns, &scratch, cause);
	proc_launch_free(&scratch);
	if (rc != 0)
		return (-1);
	*needs = ((ns.fresh | ns.joined) & CLONE_NEWNET) != 0;
	return (0);
}

/* Launch the spec's process.args with its env and cwd. */
static int
exec_prepare(json_t *root, struct proc_launch *launch, char **cause)
{
	struct spec_ns	ns;

	if (exec_fill(root, &ns, launch, cause) != 0)
		return (-1);
	return (exec_resolve(launch, cause));
}

/* Set where the pause program is. */
void
runtime_set_pause_path(const char *path)
{
	char	*old = pause_path;

	pause_path = path == NULL ? NULL : xstrdup(path);
	free(old);
}

/* Where the pause program is: as set, or the installed one. */
const char *
runtime_pause_path(void)
{
	return (pause_path != NULL ? pause_path : RUNTIME_PAUSE_DEFAULT);
}

/* Tell whether name is a built-in runtime. */
bool
runtime_known(const char *name)
{
	return (runtime_find(name, NULL) != NULL);
}

/* The built-in runtimes' names, for messages. */
const char *
runtime_known_list(void)
{
	static char	list[128];	/* every name, with room to spare */
	size_t		i, off = 0;

	if (list[0] != '\0')
		return (list);
	for (i = 0; i < nitems(runtimes); i++) {
		off += (size_t)snprintf(list + off, sizeof list - off, "%s%s",
		    i == 0 ? "" : ", ", runtimes[i].name);
		if (off >= sizeof list)
			fatalx("%s: names too long", __func__);
	}
	return (list);
}

/*
 * Tell whether a sandbox of runtime name with this spec runs in a network
 * namespace of its own (see procmgr.h).  Checks the spec as
 * runtime_prepare would, short of looking at the file system.
 */
int
runtime_needs_netns(const char *name, const void *spec, size_t len,
    bool *needs, char **cause)
{
	const struct runtime	*rt;
	json_t			*root;
	int			 rc;

	*needs = false;
	if ((rt = runtime_find(name, cause)) == NULL)
		return (-1);
	if ((root = spec_load(spec, len, cause)) == NULL)
		return (-1);
	rc = rt->needs_netns(root, needs, cause);
	json_decref(root);
	if (rc != 0)
		*needs = false;
	return (rc);
}

/*
 * Get the path of the network namespace the spec asks to join
 * (linux.namespaces entry "network" with a path): *path is malloc'd, or
 * NULL when there is none.
 */
int
runtime_spec_netns_path(const void *spec, size_t len, char **path,
    char **cause)
{
	struct spec_ns	 ns;
	json_t		*root;
	int		 rc;

	*path = NULL;
	if ((root = spec_load(spec, len, cause)) == NULL)
		return (-1);
	if ((rc = spec_namespaces(root, &ns, cause)) == 0 &&
	    ns.net_path != NULL)
		*path = xstrdup(ns.net_path);
	json_decref(root);
	return (rc);
}

/*
 * Fill *launch (zeroed first) to start a sandbox of runtime name with
 * this spec.  On failure *launch is left zeroed.
 */
int
runtime_prepare(const char *name, const void *spec, size_t len,
    struct proc_launch *launch, char **cause)
{
	const struct runtime	*rt;
	json_t			*root;
	int			 rc;

	memset(launch, 0, sizeof *launch);
	if ((rt = runtime_find(name, cause)) == NULL)
		return (-1);
	if ((root = spec_load(spec, len, cause)) == NULL)
		return (-1);
	rc = rt->prepare(root, launch, cause);
	json_decref(root);
	if (rc != 0)
		proc_launch_free(launch);
	return (rc);
}

/* Free what a launch holds (NULL-safe) and zero it. */
void
proc_launch_free(struct proc_launch *launch)
{
	if (launch == NULL)
		return;
	free(launch->path);
	strv_free(launch->argv);
	strv_free(launch->envp);
	free(launch->cwd);
	free(launch->hostname);
	free(launch->netns_path);
	free(launch->log_path);
	strv_free(launch->sysctls);
	memset(launch, 0, sizeof *launch);
}
