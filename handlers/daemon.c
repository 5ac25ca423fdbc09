/*
 * daemon.c: what the daemon asks of the sandboxes below the handlers:
 * its settings, recovery at start, release at exit.  The server reaches
 * the controller only through here and the method handlers.
 */
#include "controller.h"
#include "handlers.h"

/* Apply the daemon's settings (the strings must outlive the daemon). */
void
handlers_configure(const char *state_dir, const char *run_dir,
    const char *default_runtime, unsigned int max_sandboxes_per_namespace)
{
	struct ctrl_config	c = {
		.state_dir = state_dir,
		.run_dir = run_dir,
		.default_runtime = default_runtime,
		.max_sandboxes_per_namespace = max_sandboxes_per_namespace,
	};

	ctrl_configure(&c);
}

/*
 * Start-up: take back the sandboxes and containers recorded before a
 * restart, then remove those containerd forgot meanwhile, and keep
 * watching for those.
 */
void
handlers_recover(struct event_base *base)
{
	ctrl_recover();
	ctrl_task_init(base);
	ctrl_task_recover();
	ctrl_watch_orphans(base);
}

/* Exit: forget every sandbox in memory; they keep running. */
void
handlers_release_all(void)
{
	ctrl_unwatch_orphans();
	ctrl_task_release_all();
	ctrl_release_all();
}

/* Re-execution: describe every container's stdio for the next image. */
void
handlers_export_io(void (*fn)(const char *, const char *, const char *,
    const uint8_t *, size_t, void *), void *arg)
{
	ctrl_task_export_io(fn, arg);
}

/* The re-execution was given up after handlers_export_io. */
void
handlers_cancel_export_io(void)
{
	ctrl_task_cancel_export_io();
}

/* The new image: one process's stdio from the hand-over, before recovery. */
void
handlers_give_io(const char *ns, const char *id, const char *exec_id,
    const uint8_t *state, size_t len)
{
	ctrl_task_give_io(ns, id, exec_id, state, len);
}
