/*
 * sandboxctl.c: the command-line client of sandboxd.
 *
 * One command per Store and Controller call, plus run (create + start,
 * undone on failure).  Output is a human table, or JSON with --output json.
 * Errors name the command, the sandbox and the daemon's reason; the exit
 * code tells scripts what kind of failure it was (see usage() and
 * sandboxctl(1)).
 */
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "sbc.h"
#include "xmalloc.h"

#define DEFAULT_PATH	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:" \
			"/usr/bin:/sbin:/bin"
#define MAX_FILE_SIZE	(4u << 20)
#define STOP_TIMEOUT	10

/* Global options and the connection. */
struct ctx {
	const char	*cmd;
	char		 socket[1024];
	const char	*ns;
	int		 timeout_secs;
	bool		 json;
	struct sbc	*c;
};

/* A command. */
struct cmd_entry {
	const char	*name;
	const char	*args;
	const char	*help;
	const char	*options;
	int		 (*exec)(struct ctx *, int, char **);
};

/* Options of the commands that build sandbox metadata. */
struct sb_args {
	const char	*runtime;
	const char	*spec_file;
	const char	*netns;
	const char	*sandboxer;
	const char	*cwd;
	char		**labels;
	size_t		 nlabels;
	char		**exts;
	size_t		 nexts;
	char		**envs;
	size_t		 nenvs;
	char		**fields;
	size_t		 nfields;
	char		**argv;		/* the exec runtime's command */
	size_t		 argc;
};

/* Metadata built from sb_args, and what it owns. */
struct sb_build {
	struct sbc_meta		 meta;
	struct sbc_label	*labels;
	struct sbc_extension	*exts;
	size_t			 nexts;
	char			*spec;
	size_t			 speclen;
	char			**ext_bufs;
	char			**strs;		/* strings to free */
	size_t			 nstrs;
};

/* Which sb_args options a command accepts. */
#define SBA_RUNTIME	0x01
#define SBA_LABEL	0x02
#define SBA_SPEC	0x04
#define SBA_EXT		0x08
#define SBA_NETNS	0x10
#define SBA_FIELD	0x20
#define SBA_EXEC	0x40	/* --env, --cwd, -- COMMAND */
#define SBA_SANDBOXER	0x80

static const struct cmd_entry *find_cmd(const char *);
static int	usage_cmd(const struct cmd_entry *, FILE *, int);

/* --- small helpers -------------------------------------------------------- */

/*
 * Print an error for the current command and return its exit code; the
 * error is cleared, as every caller is done with it then.
 */
static int
fail(const struct ctx *x, const char *id, struct sbc_error *err)
{
	const char	*msg = err->message != NULL ? err->message : "";
	int		 r = sbc_exit_code(err->code);

	if (id != NULL)
		fprintf(stderr, "sandboxctl: %s %s: %s: %s\n", x->cmd, id,
		    sbc_error_name(err->code), msg);
	else
		fprintf(stderr, "sandboxctl: %s: %s: %s\n", x->cmd,
		    sbc_error_name(err->code), msg);
	sbc_error_clear(err);
	return (r);
}

/* Print a local error (bad file, bad argument) and return exit code. */
static int
fail_local(const struct ctx *x, int code, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));
static int
fail_local(const struct ctx *x, int code, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "sandboxctl: %s: ", x->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return (code);
}

/* Append a string to a growing array. */
static void
push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = s;
}

/* Read a whole file ("-": stdin) into an allocated buffer. */
static int
read_file(const char *path, char **buf, size_t *len, char **cause)
{
	FILE	*f;
	size_t	 n, cap = 4096;

	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (f == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	*buf = xmalloc(cap);
	*len = 0;
	while ((n = fread(*buf + *len, 1, cap - *len, f)) > 0) {
		*len += n;
		if (*len > MAX_FILE_SIZE)
			break;
		if (*len == cap)
			*buf = xrealloc(*buf, cap *= 2);
	}
	if (ferror(f) || *len > MAX_FILE_SIZE) {
		xasprintf(cause, "%s: %s", path, ferror(f) ? strerror(errno) :
		    "file too large");
		if (f != stdin)
			fclose(f);
		free(*buf);
		return (-1);
	}
	if (f != stdin)
		fclose(f);
	return (0);
}

/* Parse a non-negative number of seconds. */
static int
parse_secs(const char *s, int *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 86400 * 365)
		return (-1);
	*out = (int)v;
	return (0);
}

/* Connect with the global options. */
static int
ctx_connect(struct ctx *x)
{
	char	*cause = NULL;

	if ((x->c = sbc_connect(x->socket, &cause)) == NULL) {
		fprintf(stderr, "sandboxctl: cannot connect to sandboxd: %s\n",
		    cause);
		free(cause);
		return (SBC_EXIT_UNAVAILABLE);
	}
	sbc_set_namespace(x->c, x->ns);
	sbc_set_timeout(x->c, x->timeout_secs * 1000);
	return (0);
}

/*
 * Connect once the arguments are parsed: r is the parser's answer.  -1 to
 * go on, else the exit code (help, usage error, cannot connect).
 */
static int
ctx_ready(struct ctx *x, int r)
{
	if (r >= 0)
		return (r);
	if ((r = ctx_connect(x)) != 0)
		return (r);
	return (-1);
}

/* --- JSON output -------------------------------------------------------- */

/* Base64 (standard alphabet, padded) of len bytes. */
static char *
base64(const uint8_t *p, size_t len)
{
	static const char	 tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char			*out, *o;
	size_t			 i;
	uint32_t		 v;

	out = o = xmalloc(4 * ((len + 2) / 3) + 1);
	for (i = 0; i < len; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = tab[(v >> 18) & 63];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? tab[v & 63] : '=';
	}
	*o = '\0';
	return (out);
}

/* A timestamp as a JSON string, null when zero. */
static json_t *
json_ts(const struct timespec *ts)
{
	char	buf[64];

	if (ts->tv_sec == 0 && ts->tv_nsec == 0)
		return (json_null());
	sbc_ts_format(ts, buf, sizeof buf);
	return (json_string(buf));
}

/* An Any: its value inline when it is a JSON document, else base64. */
static json_t *
json_any(const struct sbc_any *a)
{
	json_t	*o, *v;
	char	*b64;

	if (a->type_url == NULL)
		return (json_null());
	o = json_pack("{s:s}", "type_url", a->type_url);
	v = a->len > 0 ? json_loadb(a->value, a->len, 0, NULL) : NULL;
	if (v != NULL)
		json_object_set_new(o, "json", v);
	else {
		b64 = base64(a->value, a->len);
		json_object_set_new(o, "base64", json_string(b64));
		free(b64);
	}
	return (o);
}

/* Labels as a JSON object. */
static json_t *
json_labels(const struct sbc_label *l, size_t n)
{
	json_t	*o = json_object();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_object_set_new(o, l[i].key, json_string(l[i].value));
	return (o);
}

/* A sandbox's metadata as JSON. */
static json_t *
json_meta(const struct sbc_meta *m)
{
	json_t	*o, *exts;
	size_t	 i;

	exts = json_object();
	for (i = 0; i < m->nextensions; i++)
		json_object_set_new(exts, m->extensions[i].name,
		    json_any(&m->extensions[i].value));
	o = json_pack("{s:s, s:{s:s, s:o}, s:o, s:o, s:o, s:o, s:o, s:s}",
	    "id", m->id,
	    "runtime", "name", m->runtime, "options",
	    json_any(&m->runtime_options),
	    "spec", json_any(&m->spec),
	    "labels", json_labels(m->labels, m->nlabels),
	    "created_at", json_ts(&m->created_at),
	    "updated_at", json_ts(&m->updated_at),
	    "extensions", exts,
	    "sandboxer", m->sandboxer);
	return (o);
}

/* Print a JSON value and free it. */
static int
json_print(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(v);
	return (0);
}

/* --- table output ------------------------------------------------------- */

/* Labels as "k=v,k=v" in an allocated string. */
static char *
labels_text(const struct sbc_label *l, size_t n)
{
	char	*s = xstrdup(""), *t;
	size_t	 i;

	for (i = 0; i < n; i++) {
		xasprintf(&t, "%s%s%s=%s", s, i > 0 ? "," : "", l[i].key,
		    l[i].value);
		free(s);
		s = t;
	}
	return (s);
}

/* Print a name/value line of a record. */
static void
row(const char *name, const char *value)
{
	printf("%-12s %s\n", name, value);
}

/* Print a time row ("-" when zero). */
static void
row_ts(const char *name, const struct timespec *ts)
{
	char	buf[64];

	sbc_ts_format(ts, buf, sizeof buf);
	row(name, buf[0] != '\0' ? buf : "-");
}

/* Print an Any row: type URL and size. */
static void
row_any(const char *name, const struct sbc_any *a)
{
	char	buf[1024];

	if (a->type_url == NULL) {
		row(name, "-");
		return;
	}
	snprintf(buf, sizeof buf, "%s (%zu bytes)", a->type_url, a->len);
	row(name, buf);
}

/* Print a sandbox's metadata as a record. */
static void
print_meta(const struct sbc_meta *m)
{
	char	*labels, buf[1024];
	size_t	 i;

	row("ID", m->id);
	row("RUNTIME", m->runtime[0] != '\0' ? m->runtime : "-");
	row_any("OPTIONS", &m->runtime_options);
	row("SANDBOXER", m->sandboxer[0] != '\0' ? m->sandboxer : "-");
	row_ts("CREATED", &m->created_at);
	row_ts("UPDATED", &m->updated_at);
	labels = labels_text(m->labels, m->nlabels);
	row("LABELS", labels[0] != '\0' ? labels : "-");
	free(labels);
	row_any("SPEC", &m->spec);
	for (i = 0; i < m->nextensions; i++) {
		snprintf(buf, sizeof buf, "EXT %s", m->extensions[i].name);
		row_any(buf, &m->extensions[i].value);
	}
}

/* Print metadata the daemon returned, as JSON or a record, and free it. */
static void
show_meta(const struct ctx *x, struct sbc_meta *m)
{
	if (x->json)
		json_print(json_meta(m));
	else
		print_meta(m);
	sbc_meta_free(m);
}

/* --- building metadata -------------------------------------------------- */

/* The exec runtime's OCI spec for argv, env and cwd, as JSON text. */
static char *
exec_spec(const struct sb_args *a)
{
	json_t	*args, *env, *root;
	char	*s;
	size_t	 i;

	args = json_array();
	for (i = 0; i < a->argc; i++)
		json_array_append_new(args, json_string(a->argv[i]));
	env = json_array();
	json_array_append_new(env, json_string(DEFAULT_PATH));
	for (i = 0; i < a->nenvs; i++)
		json_array_append_new(env, json_string(a->envs[i]));
	root = json_pack("{s:{s:o, s:o, s:s}}", "process", "args", args,
	    "env", env, "cwd", a->cwd != NULL ? a->cwd : "/");
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return (s);
}

/*
 * Load the spec: a file (checked to be JSON) or the exec command.  0 or
 * an exit code with *cause.
 */
static int
build_spec(const struct sb_args *a, struct sb_build *b, char **cause)
{
	json_error_t	jerr;
	json_t		*v;

	if (a->argc > 0) {
		b->spec = exec_spec(a);
		b->speclen = strlen(b->spec);
	} else if (a->spec_file != NULL) {
		if (read_file(a->spec_file, &b->spec, &b->speclen, cause) != 0)
			return (SBC_EXIT_ERROR);
		if ((v = json_loadb(b->spec, b->speclen, 0, &jerr)) == NULL) {
			xasprintf(cause, "%s: not JSON: %s (line %d)",
			    a->spec_file, jerr.text, jerr.line);
			return (SBC_EXIT_INVALID);
		}
		json_decref(v);
	} else
		return (0);
	b->meta.spec.type_url = OCI_SPEC_TYPE_URL;
	b->meta.spec.value = b->spec;
	b->meta.spec.len = b->speclen;
	return (0);
}

/* Parse the --label arguments into the metadata; 0 or an exit code. */
static int
build_labels(const struct sb_args *a, struct sb_build *b, bool drop_empty,
    char **cause)
{
	char	*k, *v;
	size_t	 i, n = 0;

	b->labels = xcalloc(a->nlabels + 1, sizeof *b->labels);
	for (i = 0; i < a->nlabels; i++) {
		if (sbc_label_parse(a->labels[i], &k, &v, cause) != 0)
			return (SBC_EXIT_USAGE);
		push(&b->strs, &b->nstrs, k);
		push(&b->strs, &b->nstrs, v);
		if (drop_empty && *v == '\0')
			continue;	/* update: absent means delete */
		b->labels[n].key = k;
		b->labels[n++].value = v;
	}
	b->meta.labels = b->labels;
	b->meta.nlabels = n;
	return (0);
}

/* Parse the --extension arguments, reading their files; 0 or exit code. */
static int
build_exts(const struct sb_args *a, struct sb_build *b, char **cause)
{
	char	*name, *turl, *file, *buf;
	size_t	 i, len;

	b->exts = xcalloc(a->nexts + 1, sizeof *b->exts);
	for (i = 0; i < a->nexts; i++) {
		if (sbc_extension_parse(a->exts[i], &name, &turl, &file,
		    cause) != 0)
			return (SBC_EXIT_USAGE);
		push(&b->strs, &b->nstrs, name);
		push(&b->strs, &b->nstrs, turl);
		push(&b->strs, &b->nstrs, file);
		if (read_file(file, &buf, &len, cause) != 0)
			return (SBC_EXIT_ERROR);
		push(&b->strs, &b->nstrs, buf);
		b->exts[i].name = name;
		b->exts[i].value.type_url = turl;
		b->exts[i].value.value = buf;
		b->exts[i].value.len = len;
		b->nexts++;
	}
	b->meta.extensions = b->exts;
	b->meta.nextensions = b->nexts;
	return (0);
}

/*
 * Build metadata for id from the arguments: 0, or the exit code (usage
 * error, unreadable file, spec not JSON) with *cause.
 */
static int
build_meta(const char *id, const struct sb_args *a, bool update,
    struct sb_build *b, char **cause)
{
	int	r;

	memset(b, 0, sizeof *b);
	b->meta.id = id;
	b->meta.runtime = a->runtime;
	if (b->meta.runtime == NULL && a->argc > 0 && !update)
		b->meta.runtime = RUNTIME_EXEC;
	b->meta.sandboxer = a->sandboxer;
	if ((r = build_labels(a, b, update, cause)) != 0 ||
	    (r = build_exts(a, b, cause)) != 0 ||
	    (r = build_spec(a, b, cause)) != 0)
		return (r);
	return (0);
}

/* Free what build_meta allocated. */
static void
build_free(struct sb_build *b)
{
	size_t	i;

	for (i = 0; i < b->nstrs; i++)
		free(b->strs[i]);
	free(b->strs);
	free(b->labels);
	free(b->exts);
	free(b->spec);
}

/* Free the argument arrays of sb_args. */
static void
args_free(struct sb_args *a)
{
	free(a->labels);
	free(a->exts);
	free(a->envs);
	free(a->fields);
}

/*
 * Build the metadata (a bad argument is reported here), then connect: 0
 * or the exit code.  b needs build_free either way.
 */
static int
build_connect(struct ctx *x, const char *id, const struct sb_args *a,
    bool update, struct sb_build *b)
{
	char	*cause = NULL;
	int	 r;

	if ((r = build_meta(id, a, update, b, &cause)) != 0) {
		fail_local(x, r, "%s", cause);
		free(cause);
		return (r);
	}
	return (ctx_connect(x));
}

/* --- option parsing ----------------------------------------------------- */

enum {
	OPT_SPEC = 256,
	OPT_NETNS,
	OPT_SANDBOXER,
	OPT_CWD,
};

static const struct option sb_options[] = {
	{ "runtime",	required_argument, NULL, 'r' },
	{ "label",	required_argument, NULL, 'l' },
	{ "spec",	required_argument, NULL, OPT_SPEC },
	{ "extension",	required_argument, NULL, 'e' },
	{ "netns",	required_argument, NULL, OPT_NETNS },
	{ "field",	required_argument, NULL, 'f' },
	{ "env",	required_argument, NULL, 'E' },
	{ "cwd",	required_argument, NULL, OPT_CWD },
	{ "sandboxer",	required_argument, NULL, OPT_SANDBOXER },
	{ "help",	no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* The SBA_ flag an option needs (0: none). */
static int
sb_option_flag(int ch)
{
	switch (ch) {
	case 'r':
		return (SBA_RUNTIME);
	case 'l':
		return (SBA_LABEL);
	case OPT_SPEC:
		return (SBA_SPEC);
	case 'e':
		return (SBA_EXT);
	case OPT_NETNS:
		return (SBA_NETNS);
	case 'f':
		return (SBA_FIELD);
	case 'E':
	case OPT_CWD:
		return (SBA_EXEC);
	case OPT_SANDBOXER:
		return (SBA_SANDBOXER);
	default:
		return (0);
	}
}

/* Store one parsed sandbox option. */
static void
sb_option_set(struct sb_args *a, int ch, char *arg)
{
	switch (ch) {
	case 'r':
		a->runtime = arg;
		break;
	case 'l':
		push(&a->labels, &a->nlabels, arg);
		break;
	case OPT_SPEC:
		a->spec_file = arg;
		break;
	case 'e':
		push(&a->exts, &a->nexts, arg);
		break;
	case OPT_NETNS:
		a->netns = arg;
		break;
	case 'f':
		push(&a->fields, &a->nfields, arg);
		break;
	case 'E':
		push(&a->envs, &a->nenvs, arg);
		break;
	case OPT_CWD:
		a->cwd = arg;
		break;
	case OPT_SANDBOXER:
		a->sandboxer = arg;
		break;
	}
}

/*
 * Parse "ID [options] [-- COMMAND ...]" for create, run and update.
 * Returns -1 to go on, else the exit code (help or usage error).
 */
static int
parse_sb_args(const struct cmd_entry *ce, int mask, int argc, char **argv,
    const char **id, struct sb_args *a)
{
	int	ch;

	memset(a, 0, sizeof *a);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "r:l:e:f:E:h", sb_options,
	    NULL)) != -1) {
		if (ch == 'h')
			return (usage_cmd(ce, stdout, SBC_EXIT_OK));
		if (ch == '?' || (sb_option_flag(ch) & mask) == 0)
			return (usage_cmd(ce, stderr, SBC_EXIT_USAGE));
		sb_option_set(a, ch, optarg);
	}
	if (optind >= argc)
		return (usage_cmd(ce, stderr, SBC_EXIT_USAGE));
	*id = argv[optind++];
	a->argv = argv + optind;
	a->argc = (size_t)(argc - optind);
	if (a->argc > 0 && ((mask & SBA_EXEC) == 0 || a->spec_file != NULL))
		return (usage_cmd(ce, stderr, SBC_EXIT_USAGE));
	return (-1);
}

/*
 * Parse "ID" plus the given flags for the simple commands: opts lists
 * the long options beyond --help.  Returns -1 to go on, else exit code.
 */
static int
parse_id(const struct cmd_entry *ce, int argc, char **argv,
    const struct option *opts, const char *optstr, const char **id,
    int (*set)(int, const char *, void *), void *arg, bool optional_id)
{
	int	ch;

	optind = 0;
	*id = NULL;
	while ((ch = getopt_long(argc, argv, optstr, opts, NULL)) != -1) {
		if (ch == 'h')
			return (usage_cmd(ce, stdout, SBC_EXIT_OK));
		if (ch == '?' || set == NULL || set(ch, optarg, arg) != 0)
			return (usage_cmd(ce, stderr, SBC_EXIT_USAGE));
	}
	if (optind < argc)
		*id = argv[optind++];
	if (optind != argc || (*id == NULL && !optional_id))
		return (usage_cmd(ce, stderr, SBC_EXIT_USAGE));
	return (-1);
}

static const struct option help_only[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Parse a command that takes only an ID. */
static int
parse_plain(struct ctx *x, int argc, char **argv, const char **id)
{
	return (parse_id(find_cmd(x->cmd), argc, argv, help_only, "h", id,
	    NULL, NULL, false));
}

/* --- commands ----------------------------------------------------------- */

/* create ID ...: Store.Create. */
static int
cmd_create(struct ctx *x, int argc, char **argv)
{
	struct sb_args		 a;
	struct sb_build		 b;
	struct sbc_error	 err = {0};
	const char		*id;
	int			 r;

	r = parse_sb_args(find_cmd(x->cmd), SBA_RUNTIME | SBA_LABEL |
	    SBA_SPEC | SBA_EXT | SBA_EXEC | SBA_SANDBOXER, argc, argv, &id, &a);
	if (r >= 0)
		return (r);
	if ((r = build_connect(x, id, &a, false, &b)) == 0) {
		if (sbc_store_create(x->c, &b.meta, NULL, &err) != 0)
			r = fail(x, id, &err);
		else
			printf("%s\n", id);
	}
	build_free(&b);
	args_free(&a);
	return (r);
}

/* get ID: Store.Get. */
static int
cmd_get(struct ctx *x, int argc, char **argv)
{
	struct sbc_meta		m;
	struct sbc_error	err = {0};
	const char		*id;
	int			r;

	if ((r = ctx_ready(x, parse_plain(x, argc, argv, &id))) >= 0)
		return (r);
	if (sbc_store_get(x->c, id, &m, &err) != 0)
		return (fail(x, id, &err));
	show_meta(x, &m);
	return (0);
}

/* Print a list as a table (or only ids when quiet). */
static void
print_list(const struct sbc_meta *list, size_t n, bool quiet)
{
	char	created[64], *labels;
	int	w = 2;
	size_t	i;

	for (i = 0; i < n; i++) {
		if ((int)strlen(list[i].id) > w)
			w = (int)strlen(list[i].id);
	}
	if (!quiet)
		printf("%-*s  %-24s  %-30s  %s\n", w, "ID", "RUNTIME",
		    "CREATED", "LABELS");
	for (i = 0; i < n; i++) {
		if (quiet) {
			printf("%s\n", list[i].id);
			continue;
		}
		sbc_ts_format(&list[i].created_at, created, sizeof created);
		labels = labels_text(list[i].labels, list[i].nlabels);
		printf("%-*s  %-24s  %-30s  %s\n", w, list[i].id,
		    list[i].runtime[0] != '\0' ? list[i].runtime : "-",
		    created, labels);
		free(labels);
	}
}

/* Options of list. */
struct list_opts {
	char	**filters;
	size_t	  n;
	bool	  quiet;
};

/* Store one option of list. */
static int
list_set(int ch, const char *arg, void *p)
{
	struct list_opts	*o = p;

	if (ch == 'q')
		o->quiet = true;
	else
		push(&o->filters, &o->n, (char *)arg);
	return (0);
}

/* list [--filter F]... [--quiet]: Store.List. */
static int
cmd_list(struct ctx *x, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "filter", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct list_opts		 o = {0};
	struct sbc_meta			*list = NULL;
	struct sbc_error		 err = {0};
	json_t				*arr;
	const char			*id;
	size_t				 n = 0, i;
	int				 r;

	r = parse_id(find_cmd(x->cmd), argc, argv, opts, "f:qh", &id,
	    list_set, &o, true);
	if (r < 0 && id != NULL)
		r = usage_cmd(find_cmd(x->cmd), stderr, SBC_EXIT_USAGE);
	if (r >= 0) {
		free(o.filters);
		return (r);
	}
	if ((r = ctx_connect(x)) == 0 && sbc_store_list(x->c,
	    (const char *const *)o.filters, o.n, &list, &n, &err) != 0)
		r = fail(x, NULL, &err);
	if (r == 0 && x->json) {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, json_meta(&list[i]));
		json_print(arr);
	} else if (r == 0)
		print_list(list, n, o.quiet);
	sbc_meta_list_free(list, n);
	free(o.filters);
	return (r);
}

/* The field paths an update implies when none are given. */
static void
update_fields(const struct sb_args *a, char ***fields, size_t *n)
{
	char	*k, *v, *name, *turl, *file, *path;
	size_t	 i;

	for (i = 0; i < a->nlabels; i++) {
		if (sbc_label_parse(a->labels[i], &k, &v, NULL) != 0)
			continue;	/* reported by build_meta */
		xasprintf(&path, "labels.%s", k);
		push(fields, n, path);
		free(k);
		free(v);
	}
	for (i = 0; i < a->nexts; i++) {
		if (sbc_extension_parse(a->exts[i], &name, &turl, &file,
		    NULL) != 0)
			continue;
		xasprintf(&path, "extensions.%s", name);
		push(fields, n, path);
		free(name);
		free(turl);
		free(file);
	}
	if (a->spec_file != NULL)
		push(fields, n, xstrdup("spec"));
	if (a->runtime != NULL)
		push(fields, n, xstrdup("runtime"));
}

/* Send the update and print the result. */
static int
update_send(struct ctx *x, const char *id, struct sb_build *b,
    char **fields, size_t n)
{
	struct sbc_meta		out;
	struct sbc_error	err = {0};

	if (sbc_store_update(x->c, &b->meta, (const char *const *)fields, n,
	    &out, &err) != 0)
		return (fail(x, id, &err));
	show_meta(x, &out);
	return (0);
}

/*
 * update ID [--label K=V]... [--extension ...]... [--spec F] [--runtime N]
 * [--field PATH]...: Store.Update.  Without --field the paths follow from
 * the options (labels.K for each label, ...); "K=" or "K" deletes label K.
 */
static int
cmd_update(struct ctx *x, int argc, char **argv)
{
	struct sb_args	 a;
	struct sb_build	 b;
	const char	*id;
	char		**fields = NULL;
	size_t		 n = 0, i;
	int		 r;

	r = parse_sb_args(find_cmd(x->cmd), SBA_RUNTIME | SBA_LABEL |
	    SBA_SPEC | SBA_EXT | SBA_FIELD | SBA_SANDBOXER, argc, argv, &id,
	    &a);
	if (r >= 0)
		return (r);
	for (i = 0; i < a.nfields; i++)
		push(&fields, &n, xstrdup(a.fields[i]));
	if (n == 0)
		update_fields(&a, &fields, &n);
	memset(&b, 0, sizeof b);
	if (n == 0)
		r = usage_cmd(find_cmd(x->cmd), stderr, SBC_EXIT_USAGE);
	else if ((r = build_connect(x, id, &a, true, &b)) == 0)
		r = update_send(x, id, &b, fields, n);
	build_free(&b);
	for (i = 0; i < n; i++)
		free(fields[i]);
	free(fields);
	args_free(&a);
	return (r);
}

/* delete ID: Store.Delete. */
static int
cmd_delete(struct ctx *x, int argc, char **argv)
{
	struct sbc_error	err = {0};
	const char		*id;
	int			r;

	if ((r = ctx_ready(x, parse_plain(x, argc, argv, &id))) >= 0)
		return (r);
	if (sbc_store_delete(x->c, id, &err) != 0)
		return (fail(x, id, &err));
	return (0);
}

/* start ID: Controller.Start; prints the pid. */
static int
cmd_start(struct ctx *x, int argc, char **argv)
{
	struct sbc_start_info	si;
	struct sbc_error	err = {0};
	const char		*id;
	int			r;

	if ((r = ctx_ready(x, parse_plain(x, argc, argv, &id))) >= 0)
		return (r);
	if (sbc_ctrl_start(x->c, id, &si, &err) != 0)
		return (fail(x, id, &err));
	if (x->json)
		json_print(json_pack("{s:s, s:I, s:o}", "id", id, "pid",
		    (json_int_t)si.pid, "created_at", json_ts(&si.created_at)));
	else
		printf("%u\n", si.pid);
	sbc_start_info_free(&si);
	return (0);
}

/* Parse stop's --timeout. */
static int
stop_set(int ch, const char *arg, void *p)
{
	(void)ch;
	return (parse_secs(arg, p));
}

/* stop ID [--timeout S]: Controller.Stop. */
static int
cmd_stop(struct ctx *x, int argc, char **argv)
{
	static const struct option	opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sbc_error		err = {0};
	const char			*id;
	int				r, secs = STOP_TIMEOUT;

	r = parse_id(find_cmd(x->cmd), argc, argv, opts, "t:h", &id, stop_set,
	    &secs, false);
	if ((r = ctx_ready(x, r)) >= 0)
		return (r);
	if (sbc_ctrl_stop(x->c, id, (uint32_t)secs, &err) != 0)
		return (fail(x, id, &err));
	return (0);
}

/* wait ID: Controller.Wait; prints the exit status. */
static int
cmd_wait(struct ctx *x, int argc, char **argv)
{
	struct sbc_error	err = {0};
	struct timespec		at;
	const char		*id;
	uint32_t		status;
	int			r;

	if ((r = ctx_ready(x, parse_plain(x, argc, argv, &id))) >= 0)
		return (r);
	if (sbc_ctrl_wait(x->c, id, &status, &at, &err) != 0)
		return (fail(x, id, &err));
	if (x->json)
		json_print(json_pack("{s:s, s:I, s:o}", "id", id, "exit_status",
		    (json_int_t)status, "exited_at", json_ts(&at)));
	else
		printf("%u\n", status);
	return (0);
}

/* Print a status as a record or JSON. */
static void
print_status(const struct ctx *x, const struct sbc_status *st)
{
	char	pid[16];
	size_t	i;

	if (x->json) {
		json_print(json_pack("{s:s, s:I, s:s, s:o, s:o, s:o, s:s, s:I}",
		    "id", st->id, "pid", (json_int_t)st->pid, "state",
		    st->state, "created_at", json_ts(&st->created_at),
		    "exited_at", json_ts(&st->exited_at), "info",
		    json_labels(st->info, st->ninfo), "address", st->address,
		    "version", (json_int_t)st->version));
		return;
	}
	snprintf(pid, sizeof pid, "%u", st->pid);
	row("ID", st->id);
	row("STATE", st->state);
	row("PID", pid);
	row_ts("CREATED", &st->created_at);
	row_ts("EXITED", &st->exited_at);
	for (i = 0; i < st->ninfo; i++)
		printf("  %-20s %s\n", st->info[i].key, st->info[i].value);
}

/* Set a boolean flag (status --verbose, shutdown --delete). */
static int
flag_set(int ch, const char *arg, void *p)
{
	(void)ch;
	(void)arg;
	*(bool *)p = true;
	return (0);
}

/* status ID [--verbose]: Controller.Status. */
static int
cmd_status(struct ctx *x, int argc, char **argv)
{
	static const struct option	opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sbc_status		st;
	struct sbc_error		err = {0};
	const char			*id;
	bool				verbose = false;
	int				r;

	r = parse_id(find_cmd(x->cmd), argc, argv, opts, "vh", &id,
	    flag_set, &verbose, false);
	if ((r = ctx_ready(x, r)) >= 0)
		return (r);
	if (sbc_ctrl_status(x->c, id, verbose, &st, &err) != 0)
		return (fail(x, id, &err));
	print_status(x, &st);
	sbc_status_free(&st);
	return (0);
}

/* shutdown ID [--delete]: Controller.Shutdown (then Store.Delete). */
static int
cmd_shutdown(struct ctx *x, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "delete", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sbc_error		 err = {0};
	const char			*id;
	bool				 del = false;
	int				 r;

	r = parse_id(find_cmd(x->cmd), argc, argv, opts, "dh", &id,
	    flag_set, &del, false);
	if ((r = ctx_ready(x, r)) >= 0)
		return (r);
	r = sbc_ctrl_shutdown(x->c, id, &err);
	/* As sbc_sandbox_shutdown: no instance is fine when deleting. */
	if (del && (r == 0 || r == STATUS_NOT_FOUND)) {
		sbc_error_clear(&err);
		r = sbc_store_delete(x->c, id, &err);
	}
	if (r != 0)
		return (fail(x, id, &err));
	return (0);
}

/* Print metrics as a record or JSON. */
static void
print_metrics(const struct ctx *x, const struct sbc_metrics *m)
{
	json_t	*o;
	char	 buf[64];

	if (x->json) {
		o = json_pack("{s:s, s:o, s:o}", "id", m->id, "timestamp",
		    json_ts(&m->timestamp), "data", json_any(&m->data));
		if (m->has_stats)
			json_object_update_new(o, json_pack("{s:I, s:I, s:I, "
			    "s:I, s:I}", "cpu_usage_ns",
			    (json_int_t)m->cpu_usage_ns, "cpu_user_ns",
			    (json_int_t)m->cpu_user_ns, "cpu_system_ns",
			    (json_int_t)m->cpu_system_ns, "rss_bytes",
			    (json_int_t)m->rss_bytes, "pids",
			    (json_int_t)m->pids));
		json_print(o);
		return;
	}
	row("ID", m->id);
	row_ts("TIMESTAMP", &m->timestamp);
	if (!m->has_stats) {
		row_any("DATA", &m->data);
		return;
	}
	snprintf(buf, sizeof buf, "%.3f s (user %.3f s, system %.3f s)",
	    m->cpu_usage_ns / 1e9, m->cpu_user_ns / 1e9,
	    m->cpu_system_ns / 1e9);
	row("CPU", buf);
	snprintf(buf, sizeof buf, "%llu bytes", (unsigned long long)
	    m->rss_bytes);
	row("RSS", buf);
	snprintf(buf, sizeof buf, "%u", m->pids);
	row("PIDS", buf);
}

/* metrics ID: Controller.Metrics. */
static int
cmd_metrics(struct ctx *x, int argc, char **argv)
{
	struct sbc_metrics	m;
	struct sbc_error	err = {0};
	const char		*id;
	int			r;

	if ((r = ctx_ready(x, parse_plain(x, argc, argv, &id))) >= 0)
		return (r);
	if (sbc_ctrl_metrics(x->c, id, &m, &err) != 0)
		return (fail(x, id, &err));
	print_metrics(x, &m);
	sbc_metrics_free(&m);
	return (0);
}

/* platform ID: Controller.Platform (the daemon wants a known sandbox). */
static int
cmd_platform(struct ctx *x, int argc, char **argv)
{
	struct sbc_platform	p;
	struct sbc_error	err = {0};
	const char		*id;
	int			r;

	if ((r = ctx_ready(x, parse_plain(x, argc, argv, &id))) >= 0)
		return (r);
	if (sbc_ctrl_platform(x->c, id, &p, &err) != 0)
		return (fail(x, id, &err));
	if (x->json)
		json_print(json_pack("{s:s, s:s, s:s, s:s}", "os", p.os,
		    "architecture", p.architecture, "variant", p.variant,
		    "os_version", p.os_version));
	else {
		printf("%-8s %-14s %s\n", "OS", "ARCHITECTURE", "VARIANT");
		printf("%-8s %-14s %s\n", p.os, p.architecture, p.variant);
	}
	return (0);
}

/*
 * Undo run after Start failed: shut the instance down and delete the
 * metadata.  Failures are reported, the start error stays the result.
 */
static void
run_undo(struct ctx *x, struct sbc_sandbox *sb)
{
	struct sbc_error	err = {0};

	if (sbc_sandbox_shutdown(sb, &err) != 0) {
		fprintf(stderr, "sandboxctl: %s %s: cleaning up: %s: %s\n",
		    x->cmd, sbc_sandbox_id(sb), sbc_error_name(err.code),
		    err.message);
		sbc_error_clear(&err);
	}
}

/* Create and start the sandbox built in b. */
static int
run_sandbox(struct ctx *x, const char *id, const struct sb_args *a,
    struct sb_build *b)
{
	struct sbc_sandbox_opts	 o = {0};
	struct sbc_sandbox	*sb;
	struct sbc_error	 err = {0};
	uint32_t		 pid;
	int			 r;

	o.runtime = b->meta.runtime;
	o.spec = b->meta.spec;
	o.labels = b->meta.labels;
	o.nlabels = b->meta.nlabels;
	o.extensions = b->meta.extensions;
	o.nextensions = b->meta.nextensions;
	o.netns_path = a->netns;
	o.sandboxer = a->sandboxer;
	if (sbc_sandbox_new(x->c, id, &o, &sb, &err) != 0)
		return (fail(x, id, &err));
	r = 0;
	if (sbc_sandbox_start(sb, &pid, &err) != 0) {
		r = fail(x, id, &err);
		run_undo(x, sb);
	} else if (x->json)
		json_print(json_pack("{s:s, s:I}", "id", id, "pid",
		    (json_int_t)pid));
	else
		printf("%s %u\n", id, pid);
	sbc_sandbox_free(sb);
	return (r);
}

/* run ID [options] [-- COMMAND ...]: Store.Create + Create + Start. */
static int
cmd_run(struct ctx *x, int argc, char **argv)
{
	struct sb_args	 a;
	struct sb_build	 b;
	const char	*id;
	int		 r;

	r = parse_sb_args(find_cmd(x->cmd), SBA_RUNTIME | SBA_LABEL |
	    SBA_SPEC | SBA_EXT | SBA_NETNS | SBA_EXEC | SBA_SANDBOXER, argc,
	    argv, &id, &a);
	if (r >= 0)
		return (r);
	if ((r = build_connect(x, id, &a, false, &b)) == 0)
		r = run_sandbox(x, id, &a, &b);
	build_free(&b);
	args_free(&a);
	return (r);
}

/* version: the client's version. */
static int
cmd_version(struct ctx *x, int argc, char **argv)
{
	const char	*id;
	int		 r;

	r = parse_id(find_cmd(x->cmd), argc, argv, help_only, "h", &id, NULL,
	    NULL, true);
	if (r >= 0)
		return (r);
	if (id != NULL)
		return (usage_cmd(find_cmd(x->cmd), stderr, SBC_EXIT_USAGE));
	if (x->json)
		return (json_print(json_pack("{s:s}", "version",
		    sbc_version())));
	printf("sandboxctl %s\n", sbc_version());
	return (0);
}

static int	cmd_help(struct ctx *, int, char **);

#define O_RUNTIME "  -r, --runtime NAME      runtime (io.sandboxd.pause.v1, " \
		  "io.sandboxd.exec.v1)\n"
#define O_LABEL   "  -l, --label K=V         a label (repeatable)\n"
#define O_SPEC    "      --spec FILE         OCI runtime spec JSON (- for " \
		  "stdin)\n"
#define O_EXT     "  -e, --extension NAME=TYPEURL:FILE\n" \
		  "                          an extension from a file " \
		  "(repeatable)\n"
#define O_EXEC    "  -E, --env K=V           environment of COMMAND " \
		  "(repeatable)\n" \
		  "      --cwd DIR           working directory of COMMAND " \
		  "(default /)\n" \
		  "  -- COMMAND [ARG...]     build a spec that runs COMMAND; " \
		  "the runtime\n" \
		  "                          then defaults to " RUNTIME_EXEC "\n"
#define O_SBOXER  "      --sandboxer NAME    the sandboxer to record\n"

static const struct cmd_entry cmd_table[] = {
	{ "create", "ID [options] [-- COMMAND [ARG...]]",
	    "store a new sandbox's metadata (Store.Create)",
	    O_RUNTIME O_LABEL O_SPEC O_EXT O_SBOXER O_EXEC, cmd_create },
	{ "get", "ID", "show a sandbox's metadata (Store.Get)", "", cmd_get },
	{ "list", "[--filter F]... [--quiet]",
	    "list sandboxes, sorted by id (Store.List)",
	    "  -f, --filter F          a filter: terms joined by ',' must all "
	    "match;\n"
	    "                          several filters are OR-ed. Terms: "
	    "id==x,\n"
	    "                          labels.k!=v, labels.\"a.b\"~=regex, "
	    "runtime.name,\n"
	    "                          sandboxer, extensions.NAME "
	    "(present)\n"
	    "  -q, --quiet             print only the ids\n", cmd_list },
	{ "update", "ID [options]", "update metadata (Store.Update)",
	    O_RUNTIME
	    "  -l, --label K=V         set label K (K= or K alone deletes "
	    "it)\n"
	    O_SPEC O_EXT
	    "  -f, --field PATH        a field path to update (repeatable); "
	    "default:\n"
	    "                          the paths the other options imply\n",
	    cmd_update },
	{ "delete", "ID", "delete a sandbox's metadata (Store.Delete)", "",
	    cmd_delete },
	{ "start", "ID", "start a created sandbox; print its pid "
	    "(Controller.Start)", "", cmd_start },
	{ "stop", "ID [--timeout SECS]", "stop a sandbox (Controller.Stop)",
	    "  -t, --timeout SECS      SIGTERM, then SIGKILL after SECS "
	    "(default 10;\n"
	    "                          0 kills at once)\n", cmd_stop },
	{ "wait", "ID", "wait for a sandbox to exit; print its exit status "
	    "(Controller.Wait)", "", cmd_wait },
	{ "status", "ID [--verbose]", "show state, pid and times "
	    "(Controller.Status)",
	    "  -v, --verbose           also show the daemon's info map\n",
	    cmd_status },
	{ "shutdown", "ID [--delete]", "kill and forget a sandbox's instance "
	    "(Controller.Shutdown)",
	    "  -d, --delete            then delete its metadata too "
	    "(Store.Delete)\n", cmd_shutdown },
	{ "metrics", "ID", "show CPU, memory and process count "
	    "(Controller.Metrics)", "", cmd_metrics },
	{ "platform", "ID", "show the platform a sandbox runs on "
	    "(Controller.Platform)",
	    "", cmd_platform },
	{ "run", "ID [options] [-- COMMAND [ARG...]]",
	    "create and start a sandbox; print its id and pid",
	    O_RUNTIME O_LABEL O_SPEC O_EXT
	    "      --netns PATH        join this network namespace\n"
	    O_SBOXER O_EXEC, cmd_run },
	{ "version", "", "print the version", "", cmd_version },
	{ "help", "[COMMAND]", "show help", "", cmd_help },
};

/* The command named name, NULL if none. */
static const struct cmd_entry *
find_cmd(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++) {
		if (strcmp(cmd_table[i].name, name) == 0)
			return (&cmd_table[i]);
	}
	return (NULL);
}

/* Print a command's usage (in full when asked for); return code. */
static int
usage_cmd(const struct cmd_entry *ce, FILE *f, int code)
{
	fprintf(f, "usage: sandboxctl [global options] %s %s\n", ce->name,
	    ce->args);
	if (code != SBC_EXIT_OK) {
		fprintf(f, "Try 'sandboxctl %s --help'.\n", ce->name);
		return (code);
	}
	fprintf(f, "\n%s.\n", ce->help);
	if (*ce->options != '\0')
		fprintf(f, "\noptions:\n%s", ce->options);
	return (code);
}

/* Print the tool's usage (in full when asked for); return code. */
static int
usage(FILE *f, int code)
{
	size_t	i;

	fprintf(f, "usage: sandboxctl [--socket PATH] [--namespace NS] "
	    "[--timeout SECS]\n                  [--output table|json] "
	    "COMMAND [ARGS...]\n");
	if (code != SBC_EXIT_OK) {
		fprintf(f, "Try 'sandboxctl --help'.\n");
		return (code);
	}
	fprintf(f, "\nglobal options:\n"
	    "  -s, --socket PATH     the daemon's socket (default: "
	    "$SANDBOXD_SOCKET,\n"
	    "                        else /run/sandboxd/sandboxd.sock, or\n"
	    "                        $XDG_RUNTIME_DIR/sandboxd/sandboxd.sock "
	    "for non-root)\n"
	    "  -n, --namespace NS    containerd namespace (default: "
	    "$SANDBOXD_NAMESPACE\n"
	    "                        or \"default\")\n"
	    "  -t, --timeout SECS    give up on each call after SECS (default "
	    "0: never)\n"
	    "  -o, --output FORMAT   table (default) or json\n"
	    "\ncommands:\n");
	for (i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++)
		fprintf(f, "  %-9s %s\n", cmd_table[i].name, cmd_table[i].help);
	fprintf(f, "\n'sandboxctl COMMAND --help' shows a command's "
	    "options.\n\nexit status: 0 ok, 1 other error, 2 usage error, "
	    "3 not found,\n  4 invalid argument, 5 already exists, 6 failed "
	    "precondition,\n  7 unavailable or cannot connect, 8 deadline "
	    "exceeded\n");
	return (code);
}

/* help [COMMAND]. */
static int
cmd_help(struct ctx *x, int argc, char **argv)
{
	const struct cmd_entry	*ce;

	(void)x;
	if (argc < 2)
		return (usage(stdout, SBC_EXIT_OK));
	if ((ce = find_cmd(argv[1])) == NULL) {
		fprintf(stderr, "sandboxctl: unknown command: %s\n", argv[1]);
		return (SBC_EXIT_USAGE);
	}
	return (usage_cmd(ce, stdout, SBC_EXIT_OK));
}

/* Parse the global options; -1 to go on, else the exit code. */
static int
parse_global(struct ctx *x, int argc, char **argv)
{
	static const struct option	opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int				ch;

	while ((ch = getopt_long(argc, argv, "+s:n:t:o:hV", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			snprintf(x->socket, sizeof x->socket, "%s", optarg);
			break;
		case 'n':
			x->ns = optarg;
			break;
		case 't':
			if (parse_secs(optarg, &x->timeout_secs) != 0) {
				fprintf(stderr, "sandboxctl: --timeout: not a "
				    "number of seconds: %s\n", optarg);
				return (SBC_EXIT_USAGE);
			}
			break;
		case 'o':
			if (strcmp(optarg, "json") != 0 &&
			    strcmp(optarg, "table") != 0) {
				fprintf(stderr, "sandboxctl: --output: want "
				    "table or json, not %s\n", optarg);
				return (SBC_EXIT_USAGE);
			}
			x->json = strcmp(optarg, "json") == 0;
			break;
		case 'h':
			return (usage(stdout, SBC_EXIT_OK));
		case 'V':
			printf("sandboxctl %s\n", sbc_version());
			return (SBC_EXIT_OK);
		default:
			return (usage(stderr, SBC_EXIT_USAGE));
		}
	}
	return (-1);
}

/* Parse the global options, then run the command. */
int
main(int argc, char **argv)
{
	struct ctx		 x;
	const struct cmd_entry	*ce;
	const char		*env;
	int			 r;

	memset(&x, 0, sizeof x);
	sbc_default_socket(x.socket, sizeof x.socket);
	env = getenv("SANDBOXD_NAMESPACE");
	x.ns = env != NULL && *env != '\0' ? env : SBC_DEFAULT_NAMESPACE;
	if ((r = parse_global(&x, argc, argv)) >= 0)
		return (r);
	if (optind >= argc)
		return (usage(stderr, SBC_EXIT_USAGE));
	if ((ce = find_cmd(argv[optind])) == NULL) {
		fprintf(stderr, "sandboxctl: unknown command: %s\n",
		    argv[optind]);
		return (usage(stderr, SBC_EXIT_USAGE));
	}
	x.cmd = ce->name;
	r = ce->exec(&x, argc - optind, argv + optind);
	sbc_close(x.c);
	fflush(stdout);
	return (r);
}
