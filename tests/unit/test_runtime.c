/*
 * test_runtime.c: the built-in runtimes (procmgr/runtime.c).
 *
 * Specs are JSON literals; the PATH tests use executables made in a
 * mkdtemp dir per test.  Tables of bad specs are parameterized tests whose
 * strings live in fixed arrays inside the parameters.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procmgr.h"
#include "protocol.h"
#include "xmalloc.h"

#define ALL_FLAGS	(CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS)

static char	tmpdir[] = "/tmp/test_runtime.XXXXXX";
static char	bindir[512];	/* hello (0755), tool (0755) */
static char	firstdir[512];	/* hello (0644): not executable */
static char	pausebin[600];	/* a stand-in pause program (0755) */

/* Remove one file or (emptied) directory for nftw. */
static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return (remove(path));
}

/* Remove the temporary directory, if it is still there. */
static void
rm_tmpdir(void)
{
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH|FTW_PHYS);
}

/* Make a file with the given mode. */
static void
make_file(const char *dir, const char *name, mode_t mode, char *out,
    size_t outlen)
{
	char	path[600];
	int	fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	cr_assert_geq(fd = open(path, O_CREAT|O_WRONLY|O_TRUNC, mode), 0);
	cr_assert_eq(write(fd, "#!/bin/sh\nexit 0\n", 17), 17);
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
	if (out != NULL)
		snprintf(out, outlen, "%s", path);
}

/* Make the test's directory and executables. */
static void
setup(void)
{
	cr_assert_not_null(mkdtemp(tmpdir));
	atexit(rm_tmpdir);
	snprintf(bindir, sizeof bindir, "%s/bin", tmpdir);
	snprintf(firstdir, sizeof firstdir, "%s/first", tmpdir);
	cr_assert_eq(mkdir(bindir, 0755), 0);
	cr_assert_eq(mkdir(firstdir, 0755), 0);
	make_file(bindir, "hello", 0755, NULL, 0);
	make_file(bindir, "tool", 0755, NULL, 0);
	make_file(firstdir, "hello", 0644, NULL, 0);
	make_file(tmpdir, "pause", 0755, pausebin, sizeof pausebin);
	runtime_set_pause_path(pausebin);
}

/* Remove the test's directory. */
static void
teardown(void)
{
	runtime_set_pause_path(NULL);
	rm_tmpdir();
}

TestSuite(runtime, .init = setup, .fini = teardown, .timeout = 30);

/* runtime_prepare with a NUL-terminated spec ("" for none). */
static int
prep(const char *name, const char *spec, struct proc_launch *l,
    char **cause)
{
	*cause = NULL;
	return (runtime_prepare(name, spec, strlen(spec), l, cause));
}

/* runtime_prepare that must succeed. */
static void
prep_ok(const char *name, const char *spec, struct proc_launch *l)
{
	char	*cause;

	cr_assert_eq(prep(name, spec, l, &cause), 0, "%s: %s", spec,
	    cause ? cause : "?");
	cr_assert_null(cause);
}

/* runtime_prepare that must fail with a message containing want. */
static void
prep_fails(const char *name, const char *spec, const char *want)
{
	struct proc_launch	 l, zero;
	char			*cause;

	memset(&zero, 0, sizeof zero);
	cr_assert_eq(prep(name, spec, &l, &cause), -1, "accepted %s", spec);
	cr_assert_not_null(cause, "no cause for %s", spec);
	cr_assert_not_null(strstr(cause, want), "%s: cause \"%s\" lacks "
	    "\"%s\"", spec, cause, want);
	cr_assert_eq(memcmp(&l, &zero, sizeof l), 0, "launch not zeroed");
	free(cause);
}

/* Assert a NULL-terminated vector equals the expected one. */
static void
assert_strv(char **got, const char *const *want)
{
	size_t	i;

	cr_assert_not_null(got);
	for (i = 0; want[i] != NULL; i++) {
		cr_assert_not_null(got[i], "entry %zu missing", i);
		cr_assert_str_eq(got[i], want[i]);
	}
	cr_assert_null(got[i], "extra entry %zu: %s", i, got[i]);
}

/* runtime_needs_netns on a NUL-terminated spec. */
static int
needs(const char *name, const char *spec, bool *need, char **cause)
{
	*cause = NULL;
	*need = true;
	return (runtime_needs_netns(name, spec, strlen(spec), need, cause));
}

Test(runtime, known)
{
	cr_assert(runtime_known(RUNTIME_PAUSE));
	cr_assert(runtime_known(RUNTIME_EXEC));
	cr_assert_not(runtime_known("io.containerd.runc.v2"));
	cr_assert_not(runtime_known(""));
	cr_assert_not(runtime_known(NULL));
	cr_assert_not(runtime_known("io.sandboxd.pause.v1 "));
	cr_assert_str_eq(runtime_known_list(),
	    "io.sandboxd.pause.v1, io.sandboxd.exec.v1");
}

Test(runtime, unknown_runtime_lists_known)
{
	struct proc_launch	 l;
	char			*cause;
	bool			 need;

	cr_assert_eq(prep("io.x", "", &l, &cause), -1);
	cr_assert_str_eq(cause, "unknown runtime \"io.x\" (known: "
	    "io.sandboxd.pause.v1, io.sandboxd.exec.v1)");
	free(cause);
	cr_assert_eq(needs("", "", &need, &cause), -1);
	cr_assert_not_null(strstr(cause, "unknown runtime \"\""));
	cr_assert_not(need);
	free(cause);
	cr_assert_eq(runtime_prepare(NULL, NULL, 0, &l, NULL), -1);
}

Test(runtime, pause_path)
{
	const char	*def;

	cr_assert_str_eq(runtime_pause_path(), pausebin);
	runtime_set_pause_path(NULL);
	def = runtime_pause_path();
	cr_assert_eq(def[0], '/');
	cr_assert_not_null(strstr(def, "/sandboxd-pause"), "%s", def);
	runtime_set_pause_path("/x/pause");
	runtime_set_pause_path(runtime_pause_path());	/* itself */
	cr_assert_str_eq(runtime_pause_path(), "/x/pause");
}

Test(runtime, pause_without_spec)
{
	struct proc_launch	 l;
	const char		*argv[] = { pausebin, NULL };
	const char		*envp[] = {
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL
	};

	prep_ok(RUNTIME_PAUSE, "", &l);
	cr_assert_str_eq(l.path, pausebin);
	assert_strv(l.argv, argv);
	assert_strv(l.envp, envp);
	cr_assert_str_eq(l.cwd, "/");
	cr_assert_null(l.hostname);
	cr_assert_eq(l.clone_flags, ALL_FLAGS);
	cr_assert_null(l.netns_path);
	cr_assert_null(l.log_path);
	proc_launch_free(&l);
	cr_assert_null(l.path);
	cr_assert_null(l.argv);
}

Test(runtime, pause_with_spec)
{
	struct proc_launch	l;

	/* The shape of a CRI pod spec: extra namespaces are ignored. */
	prep_ok(RUNTIME_PAUSE, "{\"ociVersion\":\"1.1.0\","
	    "\"hostname\":\"pod-1\",\"process\":{\"args\":[\"/pause\"]},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},"
	    "{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"network\"}]}}",
	    &l);
	cr_assert_str_eq(l.path, pausebin);
	cr_assert_str_eq(l.hostname, "pod-1");
	cr_assert_eq(l.clone_flags, ALL_FLAGS);
	proc_launch_free(&l);

	prep_ok(RUNTIME_PAUSE, "{\"hostname\":\"\"}", &l);
	cr_assert_null(l.hostname);
	proc_launch_free(&l);
	prep_ok(RUNTIME_PAUSE, "{\"hostname\":null}", &l);
	cr_assert_null(l.hostname);
	proc_launch_free(&l);
	prep_ok(RUNTIME_PAUSE, "{}", &l);
	proc_launch_free(&l);
}

Test(runtime, pause_bad_specs)
{
	char	spec[128];

	prep_fails(RUNTIME_PAUSE, "{\"hostname\":7}",
	    "spec: hostname is not a string");
	snprintf(spec, sizeof spec, "{\"hostname\":\"%065d\"}", 0);
	prep_fails(RUNTIME_PAUSE, spec, "hostname is longer than 64 bytes");
	prep_fails(RUNTIME_PAUSE, "{\"linux\":{\"namespaces\":[{}]}}",
	    "linux.namespaces[0].type is not a string");
	prep_fails(RUNTIME_PAUSE, "{\"hostname\":", "invalid JSON");
}

Test(runtime, pause_program_missing)
{
	char	missing[600];

	snprintf(missing, sizeof missing, "%s/no-pause", tmpdir);
	runtime_set_pause_path(missing);
	prep_fails(RUNTIME_PAUSE, "", missing);
	prep_fails(RUNTIME_PAUSE, "", "No such file or directory");
	runtime_set_pause_path(bindir);
	prep_fails(RUNTIME_PAUSE, "", "Is a directory");
}

Test(runtime, exec_args_env_cwd)
{
	struct proc_launch	 l;
	const char		*argv[] = {
		"/bin/sh", "-c", "exit 3", "", NULL
	};
	const char		*envp[] = { "A=1", "EMPTY=", "PATH=/x", NULL };

	prep_ok(RUNTIME_EXEC, "{\"hostname\":\"ignored\",\"process\":{"
	    "\"args\":[\"/bin/sh\",\"-c\",\"exit 3\",\"\"],"
	    "\"env\":[\"A=1\",\"EMPTY=\",\"PATH=/x\"],\"cwd\":\"/tmp\","
	    "\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0}}}", &l);
	cr_assert_str_eq(l.path, "/bin/sh");
	assert_strv(l.argv, argv);
	assert_strv(l.envp, envp);
	cr_assert_str_eq(l.cwd, "/tmp");
	cr_assert_null(l.hostname, "hostname set without a uts namespace");
	cr_assert_eq(l.clone_flags, 0);
	cr_assert_null(l.netns_path);
	cr_assert_null(l.log_path);
	proc_launch_free(&l);
}

Test(runtime, exec_defaults)
{
	struct proc_launch	 l;
	const char		*none[] = { NULL };

	prep_ok(RUNTIME_EXEC, "{\"process\":{\"args\":[\"sh\"]}}", &l);
	cr_assert_eq(l.path[0], '/');
	cr_assert_eq(strcmp(l.path + strlen(l.path) - 3, "/sh"), 0, "%s",
	    l.path);
	cr_assert_eq(access(l.path, X_OK), 0);
	cr_assert_str_eq(l.argv[0], "sh");
	assert_strv(l.envp, none);
	cr_assert_str_eq(l.cwd, "/");
	proc_launch_free(&l);

	prep_ok(RUNTIME_EXEC, "{\"process\":{\"args\":[\"/bin/true\"],"
	    "\"env\":null,\"cwd\":null}}", &l);
	assert_strv(l.envp, none);
	cr_assert_str_eq(l.cwd, "/");
	proc_launch_free(&l);
}

Test(runtime, exec_path_search)
{
	struct proc_launch	 l;
	char			 spec[2048], want[600];

	/* first/hello is not executable: skipped for bin/hello. */
	snprintf(spec, sizeof spec, "{\"process\":{\"args\":[\"hello\"],"
	    "\"env\":[\"PATH=%s/none::relative:%s:%s\"]}}", tmpdir, firstdir,
	    bindir);
	prep_ok(RUNTIME_EXEC, spec, &l);
	snprintf(want, sizeof want, "%s/hello", bindir);
	cr_assert_str_eq(l.path, want);
	cr_assert_str_eq(l.argv[0], "hello");
	proc_launch_free(&l);

	/* The first PATH= entry counts, as for execvp. */
	snprintf(spec, sizeof spec, "{\"process\":{\"args\":[\"tool\"],"
	    "\"env\":[\"PATH=%s\",\"PATH=/nowhere\"]}}", bindir);
	prep_ok(RUNTIME_EXEC, spec, &l);
	snprintf(want, sizeof want, "%s/tool", bindir);
	cr_assert_str_eq(l.path, want);
	proc_launch_free(&l);
}

Test(runtime, exec_path_not_found)
{
	char	spec[2048];

	prep_fails(RUNTIME_EXEC, "{\"process\":{\"args\":[\"nope-sbd\"]}}",
	    "exec runtime: \"nope-sbd\" not found in PATH");
	snprintf(spec, sizeof spec, "{\"process\":{\"args\":[\"hello\"],"
	    "\"env\":[\"PATH=%s\"]}}", firstdir);
	prep_fails(RUNTIME_EXEC, spec, "\"hello\" not found in PATH");
	prep_fails(RUNTIME_EXEC, "{\"process\":{\"args\":[\"sh\"],"
	    "\"env\":[\"PATH=\"]}}", "\"sh\" not found in PATH");

	/* Relative PATH entries are not searched from the daemon's cwd. */
	cr_assert_eq(chdir(tmpdir), 0);
	prep_fails(RUNTIME_EXEC, "{\"process\":{\"args\":[\"hello\"],"
	    "\"env\":[\"PATH=bin:.\"]}}", "not found in PATH");
}

Test(runtime, exec_paths_with_slash)
{
	struct proc_launch	 l;
	char			 spec[2048], want[600];

	snprintf(spec, sizeof spec, "{\"process\":{\"args\":[\"bin/hello\"],"
	    "\"cwd\":\"%s\"}}", tmpdir);
	prep_ok(RUNTIME_EXEC, spec, &l);
	snprintf(want, sizeof want, "%s/bin/hello", tmpdir);
	cr_assert_str_eq(l.path, want);
	cr_assert_str_eq(l.argv[0], "bin/hello");
	proc_launch_free(&l);

	snprintf(spec, sizeof spec, "{\"process\":{\"args\":[\"./hello\"],"
	    "\"cwd\":\"%s/\"}}", bindir);
	prep_ok(RUNTIME_EXEC, spec, &l);
	snprintf(want, sizeof want, "%s/./hello", bindir);
	cr_assert_str_eq(l.path, want);
	proc_launch_free(&l);

	prep_fails(RUNTIME_EXEC,
	    "{\"process\":{\"args\":[\"/nonexistent/x\"]}}",
	    "exec runtime: /nonexistent/x: No such file or directory");
	snprintf(spec, sizeof spec, "{\"process\":{\"args\":[\"%s/hello\"]}}",
	    firstdir);
	prep_fails(RUNTIME_EXEC, spec, "Permission denied");
	prep_fails(RUNTIME_EXEC, "{\"process\":{\"args\":[\"/tmp\"]}}",
	    "/tmp: Is a directory");
}

Test(runtime, exec_namespaces_to_flags)
{
	struct proc_launch	l;

	prep_ok(RUNTIME_EXEC, "{\"process\":{\"args\":[\"/bin/true\"]},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]}}", &l);
	cr_assert_eq(l.clone_flags, CLONE_NEWPID);
	proc_launch_free(&l);

	prep_ok(RUNTIME_EXEC, "{\"process\":{\"args\":[\"/bin/true\"]},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"ipc\",\"path\":\"\"}]}}",
	    &l);
	cr_assert_eq(l.clone_flags, CLONE_NEWIPC);
	proc_launch_free(&l);

	prep_ok(RUNTIME_EXEC, "{\"hostname\":\"box\","
	    "\"process\":{\"args\":[\"/bin/true\"]},\"linux\":{\"namespaces\":["
	    "{\"type\":\"uts\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
	    "{\"type\":\"pid\"}]}}", &l);
	cr_assert_eq(l.clone_flags, ALL_FLAGS);
	cr_assert_str_eq(l.hostname, "box");
	cr_assert_null(l.netns_path);
	proc_launch_free(&l);

	prep_ok(RUNTIME_EXEC, "{\"process\":{\"args\":[\"/bin/true\"]},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"network\","
	    "\"path\":\"/run/netns/x\"}]}}", &l);
	cr_assert_eq(l.clone_flags, 0);
	cr_assert_null(l.netns_path, "netns_path is the controller's");
	proc_launch_free(&l);

	prep_ok(RUNTIME_EXEC, "{\"process\":{\"args\":[\"/bin/true\"]},"
	    "\"linux\":{\"namespaces\":[]}}", &l);
	cr_assert_eq(l.clone_flags, 0);
	proc_launch_free(&l);
}

Test(runtime, exec_unsupported_namespaces)
{
	prep_fails(RUNTIME_EXEC, "{\"process\":{\"args\":[\"/bin/true\"]},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},"
	    "{\"type\":\"mount\"}]}}",
	    "exec runtime: mount namespaces are not supported");
	prep_fails(RUNTIME_EXEC, "{\"process\":{\"args\":[\"/bin/true\"]},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}",
	    "user namespaces are not supported");
	prep_fails(RUNTIME_EXEC, "{\"process\":{\"args\":[\"/bin/true\"]},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"cgroup\"}]}}",
	    "cgroup namespaces are not supported");
	prep_fails(RUNTIME_EXEC, "{\"process\":{\"args\":[\"/bin/true\"]},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"pid\","
	    "\"path\":\"/proc/1/ns/pid\"}]}}",
	    "joining a pid namespace by path is not supported");
}

Test(runtime, exec_missing_args)
{
	prep_fails(RUNTIME_EXEC, "", "spec has no process.args");
	prep_fails(RUNTIME_EXEC, "{}", "spec has no process.args");
	prep_fails(RUNTIME_EXEC, "{\"process\":{}}",
	    "spec has no process.args");
	prep_fails(RUNTIME_EXEC, "{\"process\":{\"args\":[]}}",
	    "spec has no process.args");
	prep_fails(RUNTIME_EXEC, "{\"process\":{\"args\":null}}",
	    "spec has no process.args");
	prep_fails(RUNTIME_EXEC, "{\"process\":{\"args\":[\"\"]}}",
	    "spec: process.args[0] is empty");
}

Test(runtime, malformed_json)
{
	static const char	nul[] = "{\"process\":\0{}}";
	struct proc_launch	l;
	char			*cause = NULL;

	prep_fails(RUNTIME_EXEC, "{\"process\":",
	    "spec: invalid JSON at line 1, column");
	prep_fails(RUNTIME_EXEC, "{\n\"a\": 1,\n\"b\" 2}",
	    "spec: invalid JSON at line 3, column");
	prep_fails(RUNTIME_PAUSE, "[1]", "spec: not a JSON object");
	prep_fails(RUNTIME_PAUSE, "\"x\"", "invalid JSON");
	prep_fails(RUNTIME_PAUSE, "{\"a\":1,\"a\":2}", "invalid JSON");
	prep_fails(RUNTIME_PAUSE, "{\"hostname\":\"a\\u0000b\"}",
	    "invalid JSON");
	prep_fails(RUNTIME_PAUSE, "{} {}", "invalid JSON");
	prep_fails(RUNTIME_PAUSE, "{\"hostname\":\"\xff\"}", "invalid JSON");

	/* An embedded NUL byte, and trailing garbage past len. */
	cr_assert_eq(runtime_prepare(RUNTIME_PAUSE, nul, sizeof nul - 1, &l,
	    &cause), -1);
	free(cause);
	prep_ok(RUNTIME_PAUSE, "{}", &l);
	proc_launch_free(&l);
	cr_assert_eq(runtime_prepare(RUNTIME_PAUSE, "{}garbage", 2, &l, NULL),
	    0);
	proc_launch_free(&l);
}

Test(runtime, hostile_nesting)
{
	char	*spec;
	size_t	 n = 100000;

	spec = xmalloc(n + 1);
	memset(spec, '[', n);
	spec[n] = '\0';
	prep_fails(RUNTIME_EXEC, spec, "invalid JSON");
	free(spec);
}

Test(runtime, limits)
{
	struct proc_launch	 l;
	char			*spec, *p;
	size_t			 i, size = 32 * 1100 + 128;

	spec = xmalloc(size);
	for (int n = 1024; n <= 1025; n++) {
		p = spec + sprintf(spec,
		    "{\"process\":{\"args\":[\"/bin/true\"");
		for (i = 1; i < (size_t)n; i++)
			p += sprintf(p, ",\"a%zu\"", i);
		strcpy(p, "]}}");
		if (n == 1024) {
			prep_ok(RUNTIME_EXEC, spec, &l);
			cr_assert_str_eq(l.argv[1023], "a1023");
			cr_assert_null(l.argv[1024]);
			proc_launch_free(&l);
		} else
			prep_fails(RUNTIME_EXEC, spec,
			    "process.args has more than 1024 entries");
	}
	p = spec + sprintf(spec, "{\"process\":{\"args\":[\"/bin/true\"],"
	    "\"env\":[\"A=0\"");
	for (i = 1; i < 1025; i++)
		p += sprintf(p, ",\"A=%zu\"", i);
	strcpy(p, "]}}");
	prep_fails(RUNTIME_EXEC, spec,
	    "process.env has more than 1024 entries");
	free(spec);
}

/* A spec that must be refused, and what the message must say. */
struct bad_spec {
	char	spec[160];
	char	want[80];
};

ParameterizedTestParameters(runtime, bad_types)
{
	static struct bad_spec	bad[] = {
		{ "{\"process\":[]}", "spec: process is not an object" },
		{ "{\"process\":{\"args\":\"sh\"}}",
		    "spec: process.args is not an array" },
		{ "{\"process\":{\"args\":{\"0\":\"sh\"}}}",
		    "spec: process.args is not an array" },
		{ "{\"process\":{\"args\":[\"sh\",1]}}",
		    "spec: process.args[1] is not a string" },
		{ "{\"process\":{\"args\":[\"sh\",null]}}",
		    "spec: process.args[1] is not a string" },
		{ "{\"process\":{\"args\":[[\"sh\"]]}}",
		    "spec: process.args[0] is not a string" },
		{ "{\"process\":{\"args\":[\"/bin/true\"],\"env\":\"A=1\"}}",
		    "spec: process.env is not an array" },
		{ "{\"process\":{\"args\":[\"/bin/true\"],\"env\":[true]}}",
		    "spec: process.env[0] is not a string" },
		{ "{\"process\":{\"args\":[\"/bin/true\"],\"env\":[\"A\"]}}",
		    "spec: process.env[0] is not KEY=value" },
		{ "{\"process\":{\"args\":[\"/bin/true\"],\"env\":[\"A=1\","
		    "\"=x\"]}}", "spec: process.env[1] is not KEY=value" },
		{ "{\"process\":{\"args\":[\"/bin/true\"],\"cwd\":1}}",
		    "spec: process.cwd is not a string" },
		{ "{\"process\":{\"args\":[\"/bin/true\"],\"cwd\":\"tmp\"}}",
		    "spec: process.cwd is not an absolute path" },
		{ "{\"process\":{\"args\":[\"/bin/true\"],\"cwd\":\"\"}}",
		    "spec: process.cwd is not an absolute path" },
		{ "{\"process\":{\"args\":[\"/bin/true\"]},\"linux\":[]}",
		    "spec: linux is not an object" },
		{ "{\"process\":{\"args\":[\"/bin/true\"]},\"linux\":"
		    "{\"namespaces\":{}}}",
		    "spec: linux.namespaces is not an array" },
		{ "{\"process\":{\"args\":[\"/bin/true\"]},\"linux\":"
		    "{\"namespaces\":[\"pid\"]}}",
		    "spec: linux.namespaces[0] is not an object" },
		{ "{\"process\":{\"args\":[\"/bin/true\"]},\"linux\":"
		    "{\"namespaces\":[{\"type\":\"pid\"},{\"type\":3}]}}",
		    "spec: linux.namespaces[1].type is not a string" },
		{ "{\"process\":{\"args\":[\"/bin/true\"]},\"linux\":"
		    "{\"namespaces\":[{\"type\":\"PID\"}]}}",
		    "unknown namespace type \"PID\"" },
		{ "{\"process\":{\"args\":[\"/bin/true\"]},\"linux\":"
		    "{\"namespaces\":[{\"type\":\"network\",\"path\":5}]}}",
		    "linux.namespaces[0].path is not an absolute path" },
		{ "{\"process\":{\"args\":[\"/bin/true\"]},\"linux\":"
		    "{\"namespaces\":[{\"type\":\"network\",\"path\":\"x\"}]}}",
		    "linux.namespaces[0].path is not an absolute path" },
		{ "{\"hostname\":[],\"process\":{\"args\":[\"/bin/true\"]},"
		    "\"linux\":{\"namespaces\":[{\"type\":\"uts\"}]}}",
		    "spec: hostname is not a string" },
	};

	return (cr_make_param_array(struct bad_spec, bad,
	    sizeof bad / sizeof bad[0]));
}

ParameterizedTest(struct bad_spec *b, runtime, bad_types)
{
	bool	 need;
	char	*cause;

	prep_fails(RUNTIME_EXEC, b->spec, b->want);
	/* needs_netns checks the same things, before any netns is made. */
	cr_assert_eq(needs(RUNTIME_EXEC, b->spec, &need, &cause), -1, "%s",
	    b->spec);
	cr_assert_not_null(strstr(cause, b->want), "%s", cause);
	cr_assert_not(need);
	free(cause);
}

Test(runtime, needs_netns_rules)
{
	bool	 need;
	char	*cause;

	/* pause is a pod: always. */
	cr_assert_eq(needs(RUNTIME_PAUSE, "", &need, &cause), 0);
	cr_assert(need);
	cr_assert_eq(needs(RUNTIME_PAUSE, "{\"linux\":{\"namespaces\":"
	    "[{\"type\":\"pid\"}]}}", &need, &cause), 0);
	cr_assert(need);

	/* exec: only with a network entry. */
	cr_assert_eq(needs(RUNTIME_EXEC, "{\"process\":{\"args\":[\"x\"]}}",
	    &need, &cause), 0, "%s", cause);
	cr_assert_not(need);
	cr_assert_eq(needs(RUNTIME_EXEC, "{\"process\":{\"args\":[\"x\"]},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]}}", &need, &cause),
	    0);
	cr_assert_not(need);
	cr_assert_eq(needs(RUNTIME_EXEC, "{\"process\":{\"args\":[\"x\"]},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"network\"}]}}", &need,
	    &cause), 0);
	cr_assert(need);
	cr_assert_eq(needs(RUNTIME_EXEC, "{\"process\":{\"args\":[\"x\"]},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":"
	    "\"/run/netns/x\"}]}}", &need, &cause), 0);
	cr_assert(need);

	/* The spec is checked, not the file system. */
	cr_assert_eq(needs(RUNTIME_EXEC, "{\"process\":{\"args\":[\"nope\"]}}",
	    &need, &cause), 0);
	cr_assert_eq(needs(RUNTIME_EXEC, "", &need, &cause), -1);
	cr_assert_str_eq(cause, "spec has no process.args");
	cr_assert_not(need);
	free(cause);
	cr_assert_eq(needs(RUNTIME_PAUSE, "{", &need, &cause), -1);
	cr_assert_not_null(strstr(cause, "invalid JSON"));
	cr_assert_not(need);
	free(cause);
	cr_assert_eq(needs(RUNTIME_EXEC, "{\"process\":{\"args\":[\"x\"]},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}", &need,
	    &cause), -1);
	free(cause);
}

Test(runtime, spec_netns_path)
{
	const char	*spec;
	char		*path, *cause = NULL;

	cr_assert_eq(runtime_spec_netns_path("", 0, &path, &cause), 0);
	cr_assert_null(path);
	spec = "{\"linux\":{\"namespaces\":[{\"type\":\"network\"}]}}";
	cr_assert_eq(runtime_spec_netns_path(spec, strlen(spec), &path,
	    &cause), 0);
	cr_assert_null(path);
	spec = "{\"linux\":{\"namespaces\":[{\"type\":\"network\","
	    "\"path\":\"\"}]}}";
	cr_assert_eq(runtime_spec_netns_path(spec, strlen(spec), &path,
	    &cause), 0);
	cr_assert_null(path);
	spec = "{\"linux\":{\"namespaces\":[{\"type\":\"pid\"},"
	    "{\"type\":\"network\",\"path\":\"/var/run/netns/cni-1\"}]}}";
	cr_assert_eq(runtime_spec_netns_path(spec, strlen(spec), &path,
	    &cause), 0);
	cr_assert_str_eq(path, "/var/run/netns/cni-1");
	free(path);
	spec = "{\"linux\":{\"namespaces\":[{\"type\":\"network\","
	    "\"path\":\"netns/x\"}]}}";
	cr_assert_eq(runtime_spec_netns_path(spec, strlen(spec), &path,
	    &cause), -1);
	cr_assert_null(path);
	cr_assert_not_null(strstr(cause, "not an absolute path"));
	free(cause);
	cr_assert_eq(runtime_spec_netns_path("[", 1, &path, NULL), -1);
}

Test(runtime, launch_free)
{
	struct proc_launch	l, zero;

	memset(&l, 0, sizeof l);
	memset(&zero, 0, sizeof zero);
	proc_launch_free(&l);
	proc_launch_free(NULL);
	cr_assert_eq(memcmp(&l, &zero, sizeof l), 0);

	prep_ok(RUNTIME_PAUSE, "{\"hostname\":\"h\"}", &l);
	l.netns_path = xstrdup("/run/netns/x");
	l.log_path = xstrdup("/var/log/x");
	proc_launch_free(&l);
	cr_assert_eq(memcmp(&l, &zero, sizeof l), 0);
	proc_launch_free(&l);
}
