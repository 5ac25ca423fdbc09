/*
 * handlers.h: the RPC handlers (one function per method) and the
 * controller's daemon-facing calls.
 */
#ifndef SANDBOXD_HANDLERS_H
#define SANDBOXD_HANDLERS_H

#include <stdbool.h>

#include "handler.h"

struct event_base;

/* Settings the handlers take from the daemon's configuration. */
struct handler_config {
	const char	*state_dir;		/* sandbox logs live here */
	const char	*run_dir;		/* netns files and bundles */
	const char	*default_runtime;	/* for an empty runtime name */
	unsigned int	 max_sandboxes_per_namespace;
};
extern struct handler_config handler_cfg;

/* h_store.c: containerd.services.sandbox.v1.Store */
enum handler_result h_store_create(struct call *, const void *, void *);
enum handler_result h_store_update(struct call *, const void *, void *);
enum handler_result h_store_delete(struct call *, const void *, void *);
enum handler_result h_store_list(struct call *, const void *, void *);
enum handler_result h_store_get(struct call *, const void *, void *);

/* h_ctrl.c: containerd.services.sandbox.v1.Controller */
enum handler_result h_ctrl_create(struct call *, const void *, void *);
enum handler_result h_ctrl_start(struct call *, const void *, void *);
enum handler_result h_ctrl_platform(struct call *, const void *, void *);
enum handler_result h_ctrl_stop(struct call *, const void *, void *);
enum handler_result h_ctrl_wait(struct call *, const void *, void *);
enum handler_result h_ctrl_status(struct call *, const void *, void *);
enum handler_result h_ctrl_shutdown(struct call *, const void *, void *);
enum handler_result h_ctrl_metrics(struct call *, const void *, void *);
enum handler_result h_ctrl_update(struct call *, const void *, void *);

/* h_shim.c: containerd.runtime.sandbox.v1.Sandbox */
enum handler_result h_shim_create(struct call *, const void *, void *);
enum handler_result h_shim_start(struct call *, const void *, void *);
enum handler_result h_shim_platform(struct call *, const void *, void *);
enum handler_result h_shim_stop(struct call *, const void *, void *);
enum handler_result h_shim_wait(struct call *, const void *, void *);
enum handler_result h_shim_status(struct call *, const void *, void *);
enum handler_result h_shim_ping(struct call *, const void *, void *);
enum handler_result h_shim_shutdown(struct call *, const void *, void *);
enum handler_result h_shim_metrics(struct call *, const void *, void *);

/* controller.c */
void	ctrl_init(struct event_base *);
void	ctrl_recover(void);
void	ctrl_release_all(void);
bool	ctrl_instance_active(const char *, const char *);

#endif /* SANDBOXD_HANDLERS_H */
