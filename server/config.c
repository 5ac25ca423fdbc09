/*
 * config.c: settings: built-in defaults, then the config file, then the
 * command line (main.c applies the last).
 *
 * The file is INI-like: "key = value" lines, '#' or ';' comments, and
 * optional [section] headers that prefix keys ("[limits]" + "max_connections"
 * is "limits.max_connections").  Unknown keys are errors: a typo must not
 * silently leave a limit at its default.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procmgr.h"
#include "protocol.h"
#include "server.h"
#include "xmalloc.h"

struct config	*cfg;

/* Defaults for root, or under $XDG_RUNTIME_DIR for other users. */
void
config_defaults(struct config *c)
{
	const char	*xdg = getenv("XDG_RUNTIME_DIR");
	const char	*home = getenv("HOME");

	memset(c, 0, sizeof(*c));
	if (geteuid() == 0 || xdg == NULL) {
		c->run_dir = xstrdup("/run/sandboxd");
		c->state_dir = xstrdup("/var/lib/sandboxd");
	} else {
		xasprintf(&c->run_dir, "%s/sandboxd", xdg);
		if (home != NULL)
			xasprintf(&c->state_dir, "%s/.local/share/sandboxd", home);
		else
			xasprintf(&c->state_dir, "%s/sandboxd/state", xdg);
	}
	xasprintf(&c->socket_path, "%s/sandboxd.sock", c->run_dir);
	c->default_runtime = xstrdup(RUNTIME_PAUSE);
	c->socket_mode = 0660;
	c->log_level = LOG_LEVEL_INFO;
	c->max_connections = 4096;
	c->max_connections_per_uid = 1024;
	c->max_inflight = 4096;
	c->max_output = 64u << 20;
	c->root_reserved = ROOT_RESERVED_AUTO;
	c->write_timeout = 60;
	c->frame_timeout = 30;
	c->idle_timeout = 0;
	c->max_frame = FRAME_MAX_PAYLOAD;
	c->max_sandboxes_per_namespace = 100000;
	c->sandbox_log_bytes = PROC_LOG_DEFAULT_MAX;
	c->keeper_grace_secs = 60;
}

/* Parse an unsigned number in [min, max]. */
static int
config_number(const char *key, const char *value, unsigned long long min,
    unsigned long long max, unsigned long long *out, char **cause)
{
	char			*end;
	unsigned long long	 n;

	errno = 0;
	n = strtoull(value, &end, 0);
	if (errno != 0 || end == value || *end != '\0' || n < min || n > max) {
		xasprintf(cause, "%s: \"%s\" is not a number from %llu to %llu",
		    key, value, min, max);
		return (-1);
	}
	*out = n;
	return (0);
}

static int
config_bool(const char *key, const char *value, bool *out, char **cause)
{
	if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
	    strcmp(value, "1") == 0)
		*out = true;
	else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
	    strcmp(value, "0") == 0)
		*out = false;
	else {
		xasprintf(cause, "%s: \"%s\" is not true or false", key, value);
		return (-1);
	}
	return (0);
}

static void
config_string(char **slot, const char *value)
{
	free(*slot);
	*slot = xstrdup(value);
}

/* Set one key; -1 with cause for an unknown key or a bad value. */
static int
config_set(struct config *c, const char *key, const char *value, char **cause)
{
	unsigned long long	n;

#define NUMBER(k, field, min, max) do {					\
	if (strcmp(key, k) == 0) {					\
		if (config_number(key, value, min, max, &n, cause) == -1) \
			return (-1);					\
		c->field = n;						\
		return (0);						\
	}								\
} while (0)
#define STRING(k, field) do {						\
	if (strcmp(key, k) == 0) {					\
		config_string(&c->field, value);			\
		return (0);						\
	}								\
} while (0)

	STRING("socket", socket_path);
	STRING("state_dir", state_dir);
	STRING("run_dir", run_dir);
	STRING("log_file", log_file);
	STRING("log_dir", log_dir);
	STRING("pause_path", pause_path);
	STRING("keeper_path", keeper_path);
	STRING("runc", runc_path);
	STRING("runc_root", runc_root);
	STRING("default_runtime", default_runtime);
	STRING("socket.group", socket_group);
	NUMBER("socket.mode", socket_mode, 0, 0777);
	NUMBER("limits.max_connections", max_connections, 1, 1000000);
	NUMBER("limits.max_connections_per_uid", max_connections_per_uid, 1,
	    1000000);
	NUMBER("limits.max_inflight_per_connection", max_inflight, 1, 1000000);
	NUMBER("limits.max_output_bytes", max_output, 4096, 1ULL << 32);
	NUMBER("limits.root_reserved_connections", root_reserved, 0, 1000000);
	NUMBER("limits.write_timeout_secs", write_timeout, 1, 86400);
	NUMBER("limits.frame_timeout_secs", frame_timeout, 1, 86400);
	NUMBER("limits.idle_timeout_secs", idle_timeout, 0, 31536000);
	NUMBER("limits.max_message_bytes", max_frame, 1024, FRAME_MAX_PAYLOAD);
	NUMBER("limits.sandbox_log_bytes", sandbox_log_bytes, 0, 1ULL << 40);
	NUMBER("limits.max_sandboxes_per_namespace",
	    max_sandboxes_per_namespace, 1, 100000000);
	NUMBER("keeper_grace_secs", keeper_grace_secs, 0, 31536000);
#undef NUMBER
#undef STRING
	if (strcmp(key, "socket.restrict_peers") == 0)
		return (config_bool(key, value, &c->restrict_peers, cause));
	if (strcmp(key, "log_level") == 0) {
		if (log_parse_level(value, &c->log_level) == 0)
			return (0);
		xasprintf(cause, "log_level: \"%s\" is not error, warn, info or "
		    "debug", value);
		return (-1);
	}
	xasprintf(cause, "unknown setting \"%s\"", key);
	return (-1);
}

/* Set one key from the command line, as the file would. */
int
config_load_line(struct config *c, const char *key, const char *value,
    char **cause)
{
	return (config_set(c, key, value, cause));
}

/* Strip leading and trailing blanks in place. */
static char *
config_trim(char *s)
{
	char	*end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return (s);
}

/* Parse one line; section holds the current [section] ("" for none). */
static int
config_line(struct config *c, char *line, char *section, size_t seclen,
    char **cause)
{
	char	*eq, *key, *value, full[256];

	line = config_trim(line);
	if (*line == '\0' || *line == '#' || *line == ';')
		return (0);
	if (*line == '[') {
		if (line[strlen(line) - 1] != ']') {
			xasprintf(cause, "bad section header \"%s\"", line);
			return (-1);
		}
		line[strlen(line) - 1] = '\0';
		snprintf(section, seclen, "%s", config_trim(line + 1));
		if (strcmp(section, "daemon") == 0)
			section[0] = '\0';
		return (0);
	}
	if ((eq = strchr(line, '=')) == NULL) {
		xasprintf(cause, "expected key = value, got \"%s\"", line);
		return (-1);
	}
	*eq = '\0';
	key = config_trim(line);
	value = config_trim(eq + 1);
	if (strlen(value) >= 2 && value[0] == '"' &&
	    value[strlen(value) - 1] == '"') {
		value[strlen(value) - 1] = '\0';
		value++;
	}
	if (*section != '\0')
		snprintf(full, sizeof(full), "%s.%s", section, key);
	else
		snprintf(full, sizeof(full), "%s", key);
	return (config_set(c, full, value, cause));
}

/* Read a config file over the current settings. */
int
config_load(struct config *c, const char *path, char **cause)
{
	FILE	*f;
	char	*line = NULL, section[64] = "", *why = NULL;
	size_t	 size = 0;
	int	 lineno = 0, rc = 0;

	if ((f = fopen(path, "re")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	while (getline(&line, &size, f) != -1) {
		lineno++;
		if (config_line(c, line, section, sizeof(section), &why) == -1) {
			xasprintf(cause, "%s:%d: %s", path, lineno, why);
			free(why);
			rc = -1;
			break;
		}
	}
	free(line);
	fclose(f);
	return (rc);
}

/* Check settings that depend on each other. */
int
config_check(struct config *c, char **cause)
{
	if (c->socket_path[0] != '/' || c->state_dir[0] != '/' ||
	    c->run_dir[0] != '/' || (c->log_dir != NULL &&
	    c->log_dir[0] != '/')) {
		xasprintf(cause, "socket, state_dir, run_dir and log_dir must "
		    "be absolute paths");
		return (-1);
	}
	if (c->max_output < 2 * (c->max_frame + FRAME_HEADER_SIZE)) {
		xasprintf(cause, "limits.max_output_bytes must be at least twice "
		    "limits.max_message_bytes");
		return (-1);
	}
	/* The default keeps a quarter of a small cap, up to 16, for root. */
	if (c->root_reserved == ROOT_RESERVED_AUTO)
		c->root_reserved = c->max_connections / 4 < 16 ?
		    c->max_connections / 4 : 16;
	if (c->root_reserved >= c->max_connections) {
		xasprintf(cause, "limits.root_reserved_connections (%u) must be "
		    "below limits.max_connections (%u)", c->root_reserved,
		    c->max_connections);
		return (-1);
	}
	/* Else every Create without a runtime name would fail, one by one. */
	if (!runtime_known(c->default_runtime)) {
		xasprintf(cause, "default_runtime: unknown runtime \"%s\" "
		    "(known: %s)", c->default_runtime, runtime_known_list());
		return (-1);
	}
	return (0);
}

void
config_free(struct config *c)
{
	free(c->socket_path);
	free(c->state_dir);
	free(c->run_dir);
	free(c->log_file);
	free(c->log_dir);
	free(c->pause_path);
	free(c->keeper_path);
	free(c->runc_path);
	free(c->runc_root);
	free(c->default_runtime);
	free(c->socket_group);
	memset(c, 0, sizeof(*c));
}
