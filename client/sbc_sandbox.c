/*
 * sbc_sandbox.c: a sandbox handle in the shape of containerd's Go client
 * (client.NewSandbox, LoadSandbox, Sandbox.Start/Stop/Wait/Shutdown).
 *
 * A handle keeps the client it was made with and its own copy of the
 * sandbox's metadata as the store returned it.
 */
#include <stdlib.h>
#include <string.h>

#include "sbc_int.h"

struct sbc_sandbox {
	struct sbc	*client;
	struct sbc_meta	 meta;
};

/*
 * A handle for c, its metadata to come.  Made before any call, so that
 * running out of memory cannot follow a sandbox made on the daemon.
 */
static struct sbc_sandbox *
sandbox_alloc(struct sbc *c)
{
	struct sbc_sandbox	*sb;

	if ((sb = sbc_calloc(1, sizeof *sb)) != NULL)
		sb->client = c;
	return (sb);
}

/*
 * Undo a Store.Create after the controller refused the sandbox, keeping
 * the controller's error in err and adding the undo's failure to it.
 */
static void
undo_store_create(struct sbc *c, const char *id, struct sbc_error *err)
{
	struct sbc_error	 derr = {0};
	char			*msg;

	if (sbc_store_delete(c, id, &derr) == 0)
		return;
	if (err != NULL && sbc_asprintf(&msg, "%s (and removing its metadata "
	    "failed: %s)", err->message != NULL ? err->message : "",
	    derr.message != NULL ? derr.message : sbc_error_name(derr.code))
	    != -1) {
		free(err->message);
		err->message = msg;
	}
	sbc_error_clear(&derr);
}

/*
 * NewSandbox: Store.Create with the options, then Controller.Create.  If
 * the controller refuses, the store record is deleted again, so nothing
 * is left half-made.  On success *sbp is a new handle (sbc_sandbox_free).
 */
int
sbc_sandbox_new(struct sbc *c, const char *id,
    const struct sbc_sandbox_opts *o, struct sbc_sandbox **sbp,
    struct sbc_error *err)
{
	struct sbc_meta		 in = {0};
	struct sbc_create_opts	 co = {0};
	struct sbc_sandbox	*sb;
	int			 code;

	*sbp = NULL;
	if ((sb = sandbox_alloc(c)) == NULL)
		return (sbc_error_nomem(err));
	in.id = id;
	if (o != NULL) {
		in.runtime = o->runtime;
		in.runtime_options = o->runtime_options;
		in.spec = o->spec;
		in.labels = o->labels;
		in.nlabels = o->nlabels;
		in.extensions = o->extensions;
		in.nextensions = o->nextensions;
		in.sandboxer = o->sandboxer;
		co.netns_path = o->netns_path;
		co.sandboxer = o->sandboxer;
	}
	if ((code = sbc_store_create(c, &in, &sb->meta, err)) == 0) {
		co.sandbox = &sb->meta;
		if ((code = sbc_ctrl_create(c, id, &co, err)) != 0)
			undo_store_create(c, id, err);
	}
	if (code == 0)
		*sbp = sb;
	else
		sbc_sandbox_free(sb);
	return (code);
}

/* LoadSandbox: a handle on an existing sandbox (Store.Get). */
int
sbc_sandbox_load(struct sbc *c, const char *id, struct sbc_sandbox **sbp,
    struct sbc_error *err)
{
	struct sbc_sandbox	*sb;
	int			 code;

	*sbp = NULL;
	if ((sb = sandbox_alloc(c)) == NULL)
		return (sbc_error_nomem(err));
	if ((code = sbc_store_get(c, id, &sb->meta, err)) == 0)
		*sbp = sb;
	else
		sbc_sandbox_free(sb);
	return (code);
}

/* The sandbox's id. */
const char *
sbc_sandbox_id(const struct sbc_sandbox *sb)
{
	return (sb->meta.id);
}

/* The metadata the store returned when the handle was made. */
const struct sbc_meta *
sbc_sandbox_metadata(const struct sbc_sandbox *sb)
{
	return (&sb->meta);
}

/* The labels of the metadata; their count in *n. */
const struct sbc_label *
sbc_sandbox_labels(const struct sbc_sandbox *sb, size_t *n)
{
	*n = sb->meta.nlabels;
	return (sb->meta.labels);
}

/* Start the sandbox's init (Controller.Start); its pid in *pid (may be NULL). */
int
sbc_sandbox_start(struct sbc_sandbox *sb, uint32_t *pid,
    struct sbc_error *err)
{
	struct sbc_start_info	si;
	int			code;

	if ((code = sbc_ctrl_start(sb->client, sb->meta.id, &si, err)) != 0)
		return (code);
	if (pid != NULL)
		*pid = si.pid;
	sbc_start_info_free(&si);
	return (0);
}

/* Stop the sandbox (Controller.Stop): SIGTERM, SIGKILL after timeout_secs. */
int
sbc_sandbox_stop(struct sbc_sandbox *sb, uint32_t timeout_secs,
    struct sbc_error *err)
{
	return (sbc_ctrl_stop(sb->client, sb->meta.id, timeout_secs, err));
}

/* Wait for the sandbox's init to exit (Controller.Wait). */
int
sbc_sandbox_wait(struct sbc_sandbox *sb, uint32_t *exit_status,
    struct timespec *exited_at, struct sbc_error *err)
{
	return (sbc_ctrl_wait(sb->client, sb->meta.id, exit_status, exited_at,
	    err));
}

/* The sandbox's status (Controller.Status). */
int
sbc_sandbox_status(struct sbc_sandbox *sb, bool verbose,
    struct sbc_status *st, struct sbc_error *err)
{
	return (sbc_ctrl_status(sb->client, sb->meta.id, verbose, st, err));
}

/*
 * Shutdown: Controller.Shutdown, then Store.Delete.  A controller that
 * does not know the sandbox (NotFound: never started, or already shut
 * down) is not an error: the metadata is deleted all the same.  (Go's
 * client tests errdefs.IsNotFound the wrong way round here.)
 */
int
sbc_sandbox_shutdown(struct sbc_sandbox *sb, struct sbc_error *err)
{
	int	code;

	code = sbc_ctrl_shutdown(sb->client, sb->meta.id, err);
	if (code != 0 && code != STATUS_NOT_FOUND)
		return (code);
	sbc_error_clear(err);
	return (sbc_store_delete(sb->client, sb->meta.id, err));
}

/* Free a handle (the sandbox itself is left as it is). */
void
sbc_sandbox_free(struct sbc_sandbox *sb)
{
	if (sb == NULL)
		return;
	sbc_meta_free(&sb->meta);
	free(sb);
}
