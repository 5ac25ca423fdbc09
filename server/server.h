/*
 * server.h: the daemon's front end: configuration, the listening socket,
 * client connections with ttrpc framing, calls and their dispatch, and the
 * loop that has the writes committed before releasing the replies.
 */
#ifndef SANDBOXD_SERVER_H
#define SANDBOXD_SERVER_H

#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handlers.h"
#include "iobuf.h"
#include "log.h"
#include "queue.h"

struct event;
struct event_base;
struct keeper_slot;		/* keeper.h */
struct evconnlistener;
struct _sv_HandoverCall;	/* sandboxd/v1/handover.pb.h */
struct _sv_HandoverConn;

#define ROOT_RESERVED_AUTO	UINT_MAX	/* config_check picks it */

/* Everything the command line and the config file can set. */
struct config {
	char		*socket_path;
	char		*state_dir;
	char		*run_dir;
	char		*log_file;
	char		*log_dir;		/* sandbox logs; NULL: <run_dir>/logs */
	size_t		 sandbox_log_bytes;	/* cap per log file; 0: none */
	char		*pause_path;
	char		*runc_path;		/* containers' OCI runtime; NULL: runc */
	char		*runc_root;		/* runc --root; NULL: <run_dir>/runc */
	char		*default_runtime;
	char		*socket_group;		/* NULL: the daemon's own group */
	mode_t		 socket_mode;
	bool		 restrict_peers;	/* only uid 0 and socket_group */
	enum log_level	 log_level;
	bool		 foreground;
	unsigned int	 max_connections;
	unsigned int	 max_connections_per_uid;
	unsigned int	 max_inflight;		/* requests per connection */
	size_t		 max_output;		/* queued reply bytes per connection */
	unsigned int	 root_reserved;		/* connections only uid 0 may take */
	unsigned int	 write_timeout;		/* s without write progress: close */
	unsigned int	 frame_timeout;		/* s to finish a started frame */
	unsigned int	 idle_timeout;		/* s with nothing pending, 0: off */
	size_t		 max_frame;		/* payload bytes, <= FRAME_MAX_PAYLOAD */
	unsigned int	 max_sandboxes_per_namespace;
	unsigned int	 keeper_grace_secs;	/* 0: no keeper */
	char		*keeper_path;		/* sandboxd-keeper; NULL: found */
};

/* A client connection. */
struct conn {
	TAILQ_ENTRY(conn)	 entry;
	TAILQ_ENTRY(conn)	 write_entry;	/* on the list to write */
	int			 fd;
	struct event		*rev;		/* readable */
	struct event		*wev;		/* writable: only while blocked */
	struct iobuf		 in;		/* read, frames cut in place */
	struct iobuf		 out;		/* answers not yet written */
	bool			 reading;	/* rev is on the loop */
	bool			 blocked;	/* wev is on the loop */
	bool			 held;		/* answers pile up: not read */
	bool			 to_write;	/* on the list to write */
	uint64_t		 id;		/* for logs */
	pid_t			 pid;		/* SO_PEERCRED at accept */
	uid_t			 uid;
	gid_t			 gid;
	bool			 denied;	/* peer not allowed: refuse calls */
	bool			 dead;		/* closed; freed after the iteration */
	size_t			 discard;	/* payload bytes of a refused frame to drop */
	unsigned int		 ncalls;	/* calls not yet answered and freed */
	unsigned int		 ninflight;	/* of those, requests dispatched */
	struct event		*timer;		/* partial frame and idle limits */
	int64_t			 frame_start;	/* a frame began (monotonic ns), 0 */
	int64_t			 last_active;	/* last byte or pending call */
	TAILQ_HEAD(, call)	 calls;
	int			 kslot;		/* keeper slot, -1: none */
	struct keeper_slot	*ks;		/* its shared memory (keep.c) */
	unsigned int		 kbound;	/* slot entries calls hold */
	bool			 kshut;		/* no slot, but a keeper may hold
						 * a copy: shut down at close */
};
TAILQ_HEAD(conn_list, conn);

/* config.c */
void		 config_defaults(struct config *);
int		 config_load(struct config *, const char *, char **);
int		 config_load_line(struct config *, const char *, const char *,
		    char **);
int		 config_check(struct config *, char **);
void		 config_free(struct config *);
extern struct config *cfg;

/* listener.c */
int		 listener_open(struct event_base *, char **);
int		 listener_adopt(struct event_base *, int, char **);
int		 listener_fd(void);
void		 listener_enable(void);
void		 listener_disable(void);
void		 listener_close(void);

/* conn.c */
void		 conn_accept(struct event_base *, int);
void		 conn_close(struct conn *, const char *);
void		 conn_send(struct conn *, const uint8_t *, size_t);
void		 conn_write_queued(void);
void		 conn_free_dead(void);
void		 conn_close_all(void);
unsigned int	 conn_count(void);
unsigned int	 conn_count_uid(uid_t);
void		 conn_flush_all(void);
void		 conn_pause_all(void);
void		 conn_resume_all(void);
void		 conn_read_input(struct conn *);
int		 conn_set_inherit(int, bool);
size_t		 conn_export(struct _sv_HandoverConn **, uint64_t *);
struct conn	*conn_import(struct event_base *,
		    const struct _sv_HandoverConn *);
struct conn	*conn_adopt(struct event_base *, int, unsigned int);
void		 conn_leave_to_keeper(void);
void		 conn_set_next_id(uint64_t);

/* call.c */
struct call	*call_new(struct conn *, uint32_t);
void		 call_set_namespace(struct call *, const char *);
void		 call_set_deadline(struct call *, int64_t);
void		 call_park_error(struct call *, int, const char *);
void		 call_park_response(struct call *, const pb_msgdesc_t *,
		    const void *);
void		 call_arm_deadline(struct call *, struct event_base *);
void		 call_detach_conn(struct call *);
void		 call_cancel_all(int, const char *);
void		 call_tag_parked(uint64_t, uint64_t);
void		 call_flush_parked(uint64_t);
void		 call_run_commit_hooks(uint64_t, bool);
void		 call_fail_parked(int, const char *);
void		 call_reply_now(struct conn *, uint32_t, int, const char *);
void		 call_keep_record(struct call *, const uint8_t *, size_t);
void		 call_keep_bind(struct call *, int);
int		 call_error_code(const struct call *);
const char	*call_error_message(const struct call *);
void		 call_set_carry(struct call *, const char *, const char *,
		    const uint8_t *, size_t);
unsigned int	 call_count_uncarried(void);
size_t		 call_export(struct conn *, struct _sv_HandoverCall **);
struct conn	*call_conn(const struct call *);

/* dispatch.c */
void		 dispatch_request(struct conn *, uint32_t, const uint8_t *,
		    size_t);
void		 dispatch_carried(struct conn *, const struct _sv_HandoverCall *);
void		 dispatch_recorded(struct conn *, int, uint32_t, const uint8_t *,
		    size_t);

/* keep.c */
bool		 keep_enabled(void);
void		 keep_conn_attach(struct conn *, unsigned int);
void		 keep_conn_hold(struct conn *);
void		 keep_conn_end(struct conn *);
void		 keep_conn_leave(struct conn *);
void		 keep_plain_add(struct conn *);
void		 keep_call_done(struct conn *, int);
int		 keep_record(struct conn *, uint32_t, const uint8_t *, size_t);
void		 keep_bind(struct conn *, int);
int		 keep_find(struct conn *, uint32_t);
void		 keep_conn_carried(struct conn *, unsigned int);
void		 keep_carried_done(struct conn *);
void		 keep_resume(struct event_base *);
void		 keep_import(struct event_base *, int);
bool		 keep_connect(bool);

/* keep_pids.c */
void		 keep_pids_take(void);
void		 keep_pids_done(void);
void		 keep_pids_attach(void);

/* reexec.c */
#define HANDOVER_ENV	"SANDBOXD_HANDOVER_FD"
void		 reexec_init(char **);
bool		 reexec_pending(void);
void		 reexec_set_restoring(bool);
void		 reexec_request(const char *);
void		 reexec_poll(void);
enum handler_result reexec_handler(struct call *, const void *, void *);

/* handover.c */
int		 handover_write(char **);
void		 handover_load(void);
void		 handover_log_notes(void);
bool		 handover_loaded(void);
int		 handover_listen(struct event_base *, char **);
void		 handover_restore(struct event_base *);
void		 handover_give_io(void);

/* loop.c */
extern struct event_base *server_base;
void		 loop_after_iteration(void);
int		 loop_run(struct event_base *);
void		 loop_quit(int);
bool		 loop_quitting(void);

#endif /* SANDBOXD_SERVER_H */
