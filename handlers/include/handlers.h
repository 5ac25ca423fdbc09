/*
 * handlers.h: the handlers module's public header, all the server sees
 * below it: the RPC handlers (one function per method, translating the
 * services' messages to the controller and back) and the daemon's calls
 * into the controller (settings, recovery at start, release at exit).
 */
#ifndef SANDBOXD_HANDLERS_H
#define SANDBOXD_HANDLERS_H

#include <stdbool.h>

#include "call.h"

struct event_base;

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

/* h_task.c: containerd.task.v2.Task, what a sandbox's address serves */
enum handler_result h_task_connect(struct call *, const void *, void *);
enum handler_result h_task_pids(struct call *, const void *, void *);
enum handler_result h_task_shutdown(struct call *, const void *, void *);

/* h_admin.c: sandboxd.v1.Admin, for operators */
enum handler_result h_admin_list_instances(struct call *, const void *,
		    void *);
enum handler_result h_admin_set_events_address(struct call *, const void *,
		    void *);

/* daemon.c: the daemon's side */
void	handlers_configure(const char *, const char *, const char *,
	    unsigned int);
void	handlers_recover(struct event_base *);
void	handlers_release_all(void);

#endif /* SANDBOXD_HANDLERS_H */
