/*
 * ctl_args.c: the options of sandboxctl's commands.  create, run and
 * update share one table of sandbox options (args_parse_sb), each
 * accepting the subset its mask names; the other commands take an ID and
 * a few flags (args_parse_id).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "xmalloc.h"

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

const struct option args_help_only[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Append a string to a growing array. */
void
args_push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = s;
}

/* Parse a non-negative number of seconds. */
int
args_parse_secs(const char *s, int *out)
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
		args_push(&a->labels, &a->nlabels, arg);
		break;
	case OPT_SPEC:
		a->spec_file = arg;
		break;
	case 'e':
		args_push(&a->exts, &a->nexts, arg);
		break;
	case OPT_NETNS:
		a->netns = arg;
		break;
	case 'f':
		args_push(&a->fields, &a->nfields, arg);
		break;
	case 'E':
		args_push(&a->envs, &a->nenvs, arg);
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
int
args_parse_sb(const struct cmd_entry *ce, int mask, int argc, char **argv,
    const char **id, struct sb_args *a)
{
	int	ch;

	memset(a, 0, sizeof *a);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "r:l:e:f:E:h", sb_options,
	    NULL)) != -1) {
		if (ch == 'h')
			return (ctl_usage_cmd(ce, stdout, SBC_EXIT_OK));
		if (ch == '?' || (sb_option_flag(ch) & mask) == 0)
			return (ctl_usage_cmd(ce, stderr, SBC_EXIT_USAGE));
		sb_option_set(a, ch, optarg);
	}
	if (optind >= argc)
		return (ctl_usage_cmd(ce, stderr, SBC_EXIT_USAGE));
	*id = argv[optind++];
	a->argv = argv + optind;
	a->argc = (size_t)(argc - optind);
	if (a->argc > 0 && ((mask & SBA_EXEC) == 0 || a->spec_file != NULL))
		return (ctl_usage_cmd(ce, stderr, SBC_EXIT_USAGE));
	return (-1);
}

/* Free the argument arrays of sb_args. */
void
args_free(struct sb_args *a)
{
	free(a->labels);
	free(a->exts);
	free(a->envs);
	free(a->fields);
}

/*
 * Parse "ID" plus the given flags for the simple commands: opts lists
 * the long options beyond --help.  Returns -1 to go on, else exit code.
 */
int
args_parse_id(const struct cmd_entry *ce, int argc, char **argv,
    const struct option *opts, const char *optstr, const char **id,
    int (*set)(int, const char *, void *), void *arg, bool optional_id)
{
	int	ch;

	optind = 0;
	*id = NULL;
	while ((ch = getopt_long(argc, argv, optstr, opts, NULL)) != -1) {
		if (ch == 'h')
			return (ctl_usage_cmd(ce, stdout, SBC_EXIT_OK));
		if (ch == '?' || set == NULL || set(ch, optarg, arg) != 0)
			return (ctl_usage_cmd(ce, stderr, SBC_EXIT_USAGE));
	}
	if (optind < argc)
		*id = argv[optind++];
	if (optind != argc || (*id == NULL && !optional_id))
		return (ctl_usage_cmd(ce, stderr, SBC_EXIT_USAGE));
	return (-1);
}

/* Parse a command that takes only an ID. */
int
args_parse_plain(struct ctx *x, int argc, char **argv, const char **id)
{
	return (args_parse_id(ctl_find_cmd(x->cmd), argc, argv, args_help_only,
	    "h", id, NULL, NULL, false));
}

/* Set a boolean flag (status --verbose, shutdown --delete). */
int
args_flag_set(int ch, const char *arg, void *p)
{
	(void)ch;
	(void)arg;
	*(bool *)p = true;
	return (0);
}

/* The field paths an update implies when none are given. */
void
args_update_fields(const struct sb_args *a, char ***fields, size_t *n)
{
	char	*k, *v, *name, *turl, *file, *path;
	size_t	 i;

	for (i = 0; i < a->nlabels; i++) {
		if (sbc_label_parse(a->labels[i], &k, &v, NULL) != 0)
			continue;	/* reported by build_connect */
		xasprintf(&path, "labels.%s", k);
		args_push(fields, n, path);
		free(k);
		free(v);
	}
	for (i = 0; i < a->nexts; i++) {
		if (sbc_extension_parse(a->exts[i], &name, &turl, &file,
		    NULL) != 0)
			continue;
		xasprintf(&path, "extensions.%s", name);
		args_push(fields, n, path);
		free(name);
		free(turl);
		free(file);
	}
	if (a->spec_file != NULL)
		args_push(fields, n, xstrdup("spec"));
	if (a->runtime != NULL)
		args_push(fields, n, xstrdup("runtime"));
}
