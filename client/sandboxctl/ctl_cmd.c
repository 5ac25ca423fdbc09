/*
 * ctl_cmd.c: sandboxctl's commands, one function each: parse the
 * command's arguments, connect, make the call, print the result.  The
 * exit code is 0, a usage error, or what out_fail derives from the
 * daemon's answer.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "xmalloc.h"

/* What create and run do once the metadata is built and connected. */
typedef int	(*sb_send_fn)(struct ctx *, const char *,
		    const struct sb_args *, struct sb_build *);

/* create and run: parse the sandbox options, build, connect, send. */
static int
sb_command(struct ctx *x, int mask, int argc, char **argv, sb_send_fn send)
{
	struct sb_args	 a;
	struct sb_build	 b;
	const char	*id;
	int		 r;

	r = args_parse_sb(ctl_find_cmd(x->cmd), mask, argc, argv, &id, &a);
	if (r >= 0)
		return (r);
	if ((r = build_connect(x, id, &a, false, &b)) == 0)
		r = send(x, id, &a, &b);
	build_free(&b);
	args_free(&a);
	return (r);
}

/* Store the metadata built in b. */
static int
create_send(struct ctx *x, const char *id, const struct sb_args *a,
    struct sb_build *b)
{
	struct sbc_error	err = {0};

	(void)a;
	if (sbc_store_create(x->c, &b->meta, NULL, &err) != 0)
		return (out_fail(x, id, &err));
	printf("%s\n", id);
	return (0);
}

/* create ID ...: Store.Create. */
int
cmd_create(struct ctx *x, int argc, char **argv)
{
	return (sb_command(x, SBA_RUNTIME | SBA_LABEL | SBA_SPEC | SBA_EXT |
	    SBA_EXEC | SBA_SANDBOXER, argc, argv, create_send));
}

/* get ID: Store.Get. */
int
cmd_get(struct ctx *x, int argc, char **argv)
{
	struct sbc_meta		m;
	struct sbc_error	err = {0};
	const char		*id;
	int			r;

	if ((r = ctl_ready(x, args_parse_plain(x, argc, argv, &id))) >= 0)
		return (r);
	if (sbc_store_get(x->c, id, &m, &err) != 0)
		return (out_fail(x, id, &err));
	out_meta(x, &m);
	return (0);
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
		args_push(&o->filters, &o->n, (char *)arg);
	return (0);
}

/* list [--filter F]... [--quiet]: Store.List. */
int
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
	const char			*id;
	size_t				 n = 0;
	int				 r;

	r = args_parse_id(ctl_find_cmd(x->cmd), argc, argv, opts, "f:qh", &id,
	    list_set, &o, true);
	if (r < 0 && id != NULL)
		r = ctl_usage_cmd(ctl_find_cmd(x->cmd), stderr, SBC_EXIT_USAGE);
	if (r >= 0) {
		free(o.filters);
		return (r);
	}
	if ((r = ctl_connect(x)) == 0 && sbc_store_list(x->c,
	    (const char *const *)o.filters, o.n, &list, &n, &err) != 0)
		r = out_fail(x, NULL, &err);
	if (r == 0)
		out_list(x, list, n, o.quiet);
	sbc_meta_list_free(list, n);
	free(o.filters);
	return (r);
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
		return (out_fail(x, id, &err));
	out_meta(x, &out);
	return (0);
}

/*
 * update ID [--label K=V]... [--extension ...]... [--spec F] [--runtime N]
 * [--field PATH]...: Store.Update.  Without --field the paths follow from
 * the options (labels.K for each label, ...); "K=" or "K" deletes label K.
 * Not sb_command: a missing field path is a usage error found before the
 * metadata is built or the daemon is reached.
 */
int
cmd_update(struct ctx *x, int argc, char **argv)
{
	struct sb_args	 a;
	struct sb_build	 b;
	const char	*id;
	char		**fields = NULL;
	size_t		 n = 0, i;
	int		 r;

	r = args_parse_sb(ctl_find_cmd(x->cmd), SBA_RUNTIME | SBA_LABEL |
	    SBA_SPEC | SBA_EXT | SBA_FIELD | SBA_SANDBOXER, argc, argv, &id,
	    &a);
	if (r >= 0)
		return (r);
	for (i = 0; i < a.nfields; i++)
		args_push(&fields, &n, xstrdup(a.fields[i]));
	if (n == 0)
		args_update_fields(&a, &fields, &n);
	memset(&b, 0, sizeof b);
	if (n == 0)
		r = ctl_usage_cmd(ctl_find_cmd(x->cmd), stderr, SBC_EXIT_USAGE);
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
int
cmd_delete(struct ctx *x, int argc, char **argv)
{
	struct sbc_error	err = {0};
	const char		*id;
	int			r;

	if ((r = ctl_ready(x, args_parse_plain(x, argc, argv, &id))) >= 0)
		return (r);
	if (sbc_store_delete(x->c, id, &err) != 0)
		return (out_fail(x, id, &err));
	return (0);
}

/* start ID: Controller.Start; prints the pid. */
int
cmd_start(struct ctx *x, int argc, char **argv)
{
	struct sbc_start_info	si;
	struct sbc_error	err = {0};
	const char		*id;
	int			r;

	if ((r = ctl_ready(x, args_parse_plain(x, argc, argv, &id))) >= 0)
		return (r);
	if (sbc_ctrl_start(x->c, id, &si, &err) != 0)
		return (out_fail(x, id, &err));
	out_start(x, id, &si);
	sbc_start_info_free(&si);
	return (0);
}

/* Parse stop's --timeout. */
static int
stop_set(int ch, const char *arg, void *p)
{
	(void)ch;
	return (args_parse_secs(arg, p));
}

/* stop ID [--timeout S]: Controller.Stop. */
int
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

	r = args_parse_id(ctl_find_cmd(x->cmd), argc, argv, opts, "t:h", &id,
	    stop_set, &secs, false);
	if ((r = ctl_ready(x, r)) >= 0)
		return (r);
	if (sbc_ctrl_stop(x->c, id, (uint32_t)secs, &err) != 0)
		return (out_fail(x, id, &err));
	return (0);
}

/* wait ID: Controller.Wait; prints the exit status. */
int
cmd_wait(struct ctx *x, int argc, char **argv)
{
	struct sbc_error	err = {0};
	struct timespec		at;
	const char		*id;
	uint32_t		status;
	int			r;

	if ((r = ctl_ready(x, args_parse_plain(x, argc, argv, &id))) >= 0)
		return (r);
	if (sbc_ctrl_wait(x->c, id, &status, &at, &err) != 0)
		return (out_fail(x, id, &err));
	out_wait(x, id, status, &at);
	return (0);
}

/* status ID [--verbose]: Controller.Status. */
int
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

	r = args_parse_id(ctl_find_cmd(x->cmd), argc, argv, opts, "vh", &id,
	    args_flag_set, &verbose, false);
	if ((r = ctl_ready(x, r)) >= 0)
		return (r);
	if (sbc_ctrl_status(x->c, id, verbose, &st, &err) != 0)
		return (out_fail(x, id, &err));
	out_status(x, &st);
	sbc_status_free(&st);
	return (0);
}

/* shutdown ID [--delete]: Controller.Shutdown (then Store.Delete). */
int
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

	r = args_parse_id(ctl_find_cmd(x->cmd), argc, argv, opts, "dh", &id,
	    args_flag_set, &del, false);
	if ((r = ctl_ready(x, r)) >= 0)
		return (r);
	r = sbc_ctrl_shutdown(x->c, id, &err);
	/* As sbc_sandbox_shutdown: no instance is fine when deleting. */
	if (del && (r == 0 || r == STATUS_NOT_FOUND)) {
		sbc_error_clear(&err);
		r = sbc_store_delete(x->c, id, &err);
	}
	if (r != 0)
		return (out_fail(x, id, &err));
	return (0);
}

/* metrics ID: Controller.Metrics. */
int
cmd_metrics(struct ctx *x, int argc, char **argv)
{
	struct sbc_metrics	m;
	struct sbc_error	err = {0};
	const char		*id;
	int			r;

	if ((r = ctl_ready(x, args_parse_plain(x, argc, argv, &id))) >= 0)
		return (r);
	if (sbc_ctrl_metrics(x->c, id, &m, &err) != 0)
		return (out_fail(x, id, &err));
	out_metrics(x, &m);
	sbc_metrics_free(&m);
	return (0);
}

/* platform ID: Controller.Platform (the daemon wants a known sandbox). */
int
cmd_platform(struct ctx *x, int argc, char **argv)
{
	struct sbc_platform	p;
	struct sbc_error	err = {0};
	const char		*id;
	int			r;

	if ((r = ctl_ready(x, args_parse_plain(x, argc, argv, &id))) >= 0)
		return (r);
	if (sbc_ctrl_platform(x->c, id, &p, &err) != 0)
		return (out_fail(x, id, &err));
	out_platform(x, &p);
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
		    err.message != NULL ? err.message : "");
		sbc_error_clear(&err);
	}
}

/* Create and start the sandbox built in b. */
static int
run_send(struct ctx *x, const char *id, const struct sb_args *a,
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
		return (out_fail(x, id, &err));
	r = 0;
	if (sbc_sandbox_start(sb, &pid, &err) != 0) {
		r = out_fail(x, id, &err);
		run_undo(x, sb);
	} else
		out_run(x, id, pid);
	sbc_sandbox_free(sb);
	return (r);
}

/* run ID [options] [-- COMMAND ...]: Store.Create + Create + Start. */
int
cmd_run(struct ctx *x, int argc, char **argv)
{
	return (sb_command(x, SBA_RUNTIME | SBA_LABEL | SBA_SPEC | SBA_EXT |
	    SBA_NETNS | SBA_EXEC | SBA_SANDBOXER, argc, argv, run_send));
}

/* version: the client's version. */
int
cmd_version(struct ctx *x, int argc, char **argv)
{
	const char	*id;
	int		 r;

	r = args_parse_id(ctl_find_cmd(x->cmd), argc, argv, args_help_only,
	    "h", &id, NULL, NULL, true);
	if (r >= 0)
		return (r);
	if (id != NULL)
		return (ctl_usage_cmd(ctl_find_cmd(x->cmd), stderr,
		    SBC_EXIT_USAGE));
	if (x->json)
		return (out_json_print(json_pack("{s:s}", "version",
		    sbc_version())));
	printf("sandboxctl %s\n", sbc_version());
	return (0);
}

/* ps: every instance the daemon runs (sandboxd.v1.Admin/ListInstances). */
int
cmd_ps(struct ctx *x, int argc, char **argv)
{
	struct sbc_instance	*v = NULL;
	struct sbc_error	 err = {0};
	const char		*id;
	size_t			 n = 0;
	int			 r;

	r = args_parse_id(ctl_find_cmd(x->cmd), argc, argv, args_help_only,
	    "h", &id, NULL, NULL, true);
	if (r < 0 && id != NULL)
		return (ctl_usage_cmd(ctl_find_cmd(x->cmd), stderr,
		    SBC_EXIT_USAGE));
	if ((r = ctl_ready(x, r)) >= 0)
		return (r);
	if (sbc_admin_list_instances(x->c, &v, &n, &err) != 0)
		return (out_fail(x, NULL, &err));
	out_instances(x, v, n);
	sbc_instance_list_free(v, n);
	return (0);
}

/* reexec: the daemon executes itself again (sandboxd.v1.Admin/Reexec). */
int
cmd_reexec(struct ctx *x, int argc, char **argv)
{
	struct sbc_error	 err = {0};
	const char		*id;
	uint32_t		 pid = 0;
	int			 r;

	r = args_parse_id(ctl_find_cmd(x->cmd), argc, argv, args_help_only,
	    "h", &id, NULL, NULL, true);
	if (r < 0 && id != NULL)
		return (ctl_usage_cmd(ctl_find_cmd(x->cmd), stderr,
		    SBC_EXIT_USAGE));
	if ((r = ctl_ready(x, r)) >= 0)
		return (r);
	if (sbc_reexec(x->c, &pid, &err) != 0)
		return (out_fail(x, NULL, &err));
	if (x->json)
		return (out_json_print(json_pack("{s:I}", "pid",
		    (json_int_t)pid)));
	printf("%u\n", pid);
	return (0);
}
