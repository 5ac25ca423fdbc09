/*
 * ctl_build.c: sandbox metadata from sandboxctl's options: the spec (a
 * JSON file, or one built for the exec runtime from -- COMMAND), labels
 * and extensions read from their files.  Everything it allocates hangs
 * off struct sb_build, freed by build_free.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "xmalloc.h"

#define DEFAULT_PATH	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:" \
			"/usr/bin:/sbin:/bin"
#define MAX_FILE_SIZE	(4u << 20)

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
		args_push(&b->strs, &b->nstrs, k);
		args_push(&b->strs, &b->nstrs, v);
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
		args_push(&b->strs, &b->nstrs, name);
		args_push(&b->strs, &b->nstrs, turl);
		args_push(&b->strs, &b->nstrs, file);
		if (read_file(file, &buf, &len, cause) != 0)
			return (SBC_EXIT_ERROR);
		args_push(&b->strs, &b->nstrs, buf);
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
void
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

/*
 * Build the metadata (a bad argument is reported here), then connect: 0
 * or the exit code.  b needs build_free either way.
 */
int
build_connect(struct ctx *x, const char *id, const struct sb_args *a,
    bool update, struct sb_build *b)
{
	char	*cause = NULL;
	int	 r;

	if ((r = build_meta(id, a, update, b, &cause)) != 0) {
		out_fail_local(x, r, "%s", cause != NULL ? cause :
		    "out of memory");
		free(cause);
		return (r);
	}
	return (ctl_connect(x));
}
