/*
 * test_config.c: the configuration file and the checks on the settings
 * (server/config.c): defaults, syntax, every kind of value, the errors
 * that name file and line, and the checks between settings.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "procmgr.h"
#include "protocol.h"
#include "server.h"

static char	dir[] = "/tmp/test_config.XXXXXX";
static char	path[sizeof dir + 16];
static struct config	c;

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/conf", dir);
	config_defaults(&c);
}

static void
teardown(void)
{
	config_free(&c);
	unlink(path);
	rmdir(dir);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Write text as the config file. */
static void
write_conf(const char *text)
{
	FILE	*f;

	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert_eq(fputs(text, f) >= 0, true);
	cr_assert_eq(fclose(f), 0);
}

/* Load text; the cause (to free) on failure, NULL on success. */
static char *
load(const char *text)
{
	char	*cause = NULL;

	write_conf(text);
	if (config_load(&c, path, &cause) == 0) {
		cr_assert_null(cause);
		return (NULL);
	}
	cr_assert_not_null(cause, "failed without a cause");
	return (cause);
}

/* Loading text must fail with a cause "<path>:<line>: <want>...". */
static void
load_fails(const char *text, int line, const char *want)
{
	char	*cause = load(text), prefix[sizeof path + 32];

	cr_assert_not_null(cause, "\"%s\" was accepted", text);
	snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
	cr_assert(strncmp(cause, prefix, strlen(prefix)) == 0,
	    "cause \"%s\" does not start with \"%s\"", cause, prefix);
	cr_assert_not_null(strstr(cause, want), "cause \"%s\" lacks \"%s\"",
	    cause, want);
	free(cause);
}

Test(config, defaults_for_root)
{
	if (geteuid() != 0)
		cr_skip_test("the root defaults need euid 0");
	cr_assert_str_eq(c.run_dir, "/run/sandboxd");
	cr_assert_str_eq(c.state_dir, "/var/lib/sandboxd");
	cr_assert_str_eq(c.socket_path, "/run/sandboxd/sandboxd.sock");
	cr_assert_str_eq(c.default_runtime, RUNTIME_PAUSE);
	cr_assert_eq(c.socket_mode, 0660);
	cr_assert_null(c.socket_group);
	cr_assert_not(c.restrict_peers);
	cr_assert_eq(c.max_frame, FRAME_MAX_PAYLOAD);
	cr_assert_eq(c.max_sandboxes_per_namespace, 100000);
}

/* Another user gets paths under $XDG_RUNTIME_DIR and $HOME. */
Test(config, defaults_for_a_user)
{
	struct config	u;

	if (geteuid() != 0)
		cr_skip_test("switching euid needs root");
	setenv("XDG_RUNTIME_DIR", "/run/user/65534", 1);
	setenv("HOME", "/home/nobody", 1);
	cr_assert_eq(seteuid(65534), 0);
	config_defaults(&u);
	cr_assert_str_eq(u.run_dir, "/run/user/65534/sandboxd");
	cr_assert_str_eq(u.socket_path, "/run/user/65534/sandboxd/sandboxd.sock");
	cr_assert_str_eq(u.state_dir, "/home/nobody/.local/share/sandboxd");
	config_free(&u);
	unsetenv("HOME");
	config_defaults(&u);
	cr_assert_str_eq(u.state_dir, "/run/user/65534/sandboxd/state");
	config_free(&u);
	cr_assert_eq(seteuid(0), 0);
}

/* Every kind of line and value, in one file. */
Test(config, full_file)
{
	cr_assert_null(load(
	    "# a comment\n"
	    "; another\n"
	    "\n"
	    "socket = /srv/s.sock\n"
	    "  state_dir =   /srv/state  \n"
	    "[daemon]\n"
	    "run_dir = \"/srv/run dir\"\n"
	    "log_level = debug\n"
	    "default_runtime = io.sandboxd.exec.v1\n"
	    "[socket]\n"
	    "mode = 0640\n"
	    "group = adm\n"
	    "restrict_peers = yes\n"
	    "[ limits ]\n"
	    "max_connections = 0x10\n"
	    "max_connections_per_uid = 8\n"
	    "max_inflight_per_connection = 100\n"
	    "max_output_bytes = 1048576\n"
	    "max_message_bytes = 65536\n"
	    "max_sandboxes_per_namespace = 7\n"
	    "root_reserved_connections = 3\n"
	    "write_timeout_secs = 5\n"
	    "frame_timeout_secs = 6\n"
	    "idle_timeout_secs = 0\n"));
	cr_assert_str_eq(c.socket_path, "/srv/s.sock");
	cr_assert_str_eq(c.state_dir, "/srv/state");
	cr_assert_str_eq(c.run_dir, "/srv/run dir");
	cr_assert_eq(c.log_level, LOG_LEVEL_DEBUG);
	cr_assert_str_eq(c.default_runtime, RUNTIME_EXEC);
	cr_assert_eq(c.socket_mode, 0640);
	cr_assert_str_eq(c.socket_group, "adm");
	cr_assert(c.restrict_peers);
	cr_assert_eq(c.max_connections, 16);
	cr_assert_eq(c.max_connections_per_uid, 8);
	cr_assert_eq(c.max_inflight, 100);
	cr_assert_eq(c.max_output, 1048576);
	cr_assert_eq(c.max_frame, 65536);
	cr_assert_eq(c.max_sandboxes_per_namespace, 7);
	cr_assert_eq(c.root_reserved, 3);
	cr_assert_eq(c.write_timeout, 5);
	cr_assert_eq(c.frame_timeout, 6);
	cr_assert_eq(c.idle_timeout, 0);
}

/* Windows line ends and a value that is one quote character. */
Test(config, crlf_and_lone_quote)
{
	cr_assert_null(load("[socket]\r\nmode = 0600\r\ngroup = \"\r\n"));
	cr_assert_eq(c.socket_mode, 0600);
	cr_assert_str_eq(c.socket_group, "\"");
}

/* A later line wins; a text after a value is part of it. */
Test(config, last_wins_no_trailing_comments)
{
	cr_assert_null(load("log_level = warn\nlog_level = error\n"
	    "pause_path = /x # not a comment\n"));
	cr_assert_eq(c.log_level, LOG_LEVEL_ERROR);
	cr_assert_str_eq(c.pause_path, "/x # not a comment");
}

Test(config, errors_name_file_and_line)
{
	load_fails("\n\nnope = 1\n", 3, "unknown setting \"nope\"");
	load_fails("[socket]\nmode = 0999\n", 2, "socket.mode");
	load_fails("[socket]\nmode = 01000\n", 2, "from 0 to 511");
	load_fails("[socket]\nrestrict_peers = maybe\n", 2,
	    "not true or false");
	load_fails("log_level = loud\n", 1, "not error, warn, info or debug");
	load_fails("[limits\n", 1, "bad section header");
	load_fails("just words\n", 1, "expected key = value");
	load_fails("[limits]\nmax_connections = 0\n", 2, "from 1 to");
	load_fails("[limits]\nmax_connections = -1\n", 2, "not a number");
	load_fails("[limits]\nmax_message_bytes = 1023\n", 2, "from 1024");
	load_fails("[limits]\nmax_message_bytes = 4194305\n", 2, "to 4194304");
	load_fails("[limits]\nmax_output_bytes = 12abc\n", 2, "not a number");
	load_fails("mode = 0600\n", 1, "unknown setting \"mode\"");
	load_fails("[nosuch]\nmode = 0600\n", 2, "\"nosuch.mode\"");
	load_fails("= 1\n", 1, "unknown setting \"\"");
}

/* A long line is one setting, unknown, not a prefix of a real one. */
Test(config, long_lines)
{
	char	*text, *cause;
	size_t	 n = 20000;

	cr_assert_not_null(text = malloc(n + 32));
	memcpy(text, "[limits]\nmax_connections", 24);
	memset(text + 24, 'x', n);
	memcpy(text + 24 + n, " = 5\n", 6);
	cause = load(text);
	cr_assert_not_null(cause, "a 20000-character key was accepted");
	cr_assert_not_null(strstr(cause, "unknown setting"), "%s", cause);
	cr_assert_eq(c.max_connections, 4096, "a long key set a setting");
	free(cause);
	free(text);
}

Test(config, missing_file)
{
	char	*cause = NULL;

	cr_assert_eq(config_load(&c, "/nonexistent/sandboxd.conf", &cause),
	    -1);
	cr_assert_str_eq(cause, "/nonexistent/sandboxd.conf: No such file or "
	    "directory");
	free(cause);
}

/* config_check: what no single setting can say. */
Test(config, check_relations)
{
	char	*cause = NULL;

	cr_assert_eq(config_check(&c, &cause), 0, "%s", cause);

	cr_assert_null(load("state_dir = var/lib/sandboxd\n"));
	cr_assert_eq(config_check(&c, &cause), -1);
	cr_assert_not_null(strstr(cause, "absolute"), "%s", cause);
	free(cause);
	cause = NULL;

	config_free(&c);
	config_defaults(&c);
	cr_assert_null(load("[limits]\nmax_output_bytes = 65536\n"
	    "max_message_bytes = 65536\n"));
	cr_assert_eq(config_check(&c, &cause), -1);
	cr_assert_not_null(strstr(cause, "max_output_bytes"), "%s", cause);
	free(cause);
	cause = NULL;

	config_free(&c);
	config_defaults(&c);
	cr_assert_null(load("[limits]\nmax_connections = 8\n"
	    "root_reserved_connections = 8\n"));
	cr_assert_eq(config_check(&c, &cause), -1);
	cr_assert_not_null(strstr(cause, "root_reserved_connections"), "%s",
	    cause);
	free(cause);
	cause = NULL;

	/* Unset, the reserve is a quarter of a small cap, at most 16. */
	config_free(&c);
	config_defaults(&c);
	cr_assert_null(load("[limits]\nmax_connections = 8\n"));
	cr_assert_eq(config_check(&c, &cause), 0, "%s", cause);
	cr_assert_eq(c.root_reserved, 2);
	config_free(&c);
	config_defaults(&c);
	cr_assert_eq(config_check(&c, &cause), 0, "%s", cause);
	cr_assert_eq(c.root_reserved, 16);

	config_free(&c);
	config_defaults(&c);
	cr_assert_null(load("default_runtime = io.example.nope.v1\n"));
	cr_assert_eq(config_check(&c, &cause), -1);
	cr_assert_not_null(strstr(cause, "io.example.nope.v1"), "%s", cause);
	cr_assert_not_null(strstr(cause, RUNTIME_PAUSE), "%s", cause);
	free(cause);
}

/* Sandbox logs: log_dir (absolute) and the cap, 1 MiB by default. */
Test(config, sandbox_logs)
{
	char	*cause = NULL;

	cr_assert_eq(c.sandbox_log_bytes, 1024 * 1024);
	cr_assert_null(c.log_dir);
	cr_assert_null(load("log_dir = /var/log/sandboxd\n"
	    "[limits]\nsandbox_log_bytes = 0\n"));
	cr_assert_str_eq(c.log_dir, "/var/log/sandboxd");
	cr_assert_eq(c.sandbox_log_bytes, 0);
	cr_assert_eq(config_check(&c, &cause), 0, "%s", cause);
	load_fails("[limits]\nsandbox_log_bytes = -1\n", 2,
	    "limits.sandbox_log_bytes");
	cr_assert_null(load("log_dir = logs\n"));
	cr_assert_eq(config_check(&c, &cause), -1);
	cr_assert_not_null(strstr(cause, "log_dir"), "%s", cause);
	free(cause);
}
