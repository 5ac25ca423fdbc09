/*
 * sbc.h: the sandboxd client library.
 *
 * A connection (struct sbc) speaks ttrpc to sandboxd's Unix socket with
 * blocking I/O and poll().  Three layers sit on it:
 *
 *	sbc_call	  one request, one reply, with generated nanopb messages;
 *			  sbc_send/sbc_recv split it for pipelining;
 *	sbc_store_*,	  a typed wrapper per RPC of the Store, Controller and
 *	sbc_ctrl_*,	  shim Sandbox services, with C arguments and owned
 *	sbc_shim_*	  results (struct sbc_meta, sbc_status, ...);
 *	sbc_sandbox_*	  containerd's Go client shape: NewSandbox, LoadSandbox,
 *			  Start, Stop, Wait, Shutdown.
 *
 * Errors.  Every call returns 0 on success.  Otherwise it returns, and
 * stores in err->code, either a gRPC status code (> 0, protocol.h) sent by
 * the daemon or found by the client (a client-side timeout is
 * STATUS_DEADLINE_EXCEEDED, an argument the client cannot encode is
 * STATUS_INVALID_ARGUMENT), or one of three negative codes:
 *
 *	SBC_ERR_TRANSPORT  cannot connect, the connection broke, or the peer
 *			   broke the framing (oversized reply); the connection
 *			   is unusable from then on (sbc_broken);
 *	SBC_ERR_PROTOCOL   a reply arrived but did not decode; the connection
 *			   stays usable;
 *	SBC_ERR_NOMEM	   the library ran out of memory.  It never exits
 *			   for that (the program decides); a connection that
 *			   was reading a reply then is broken, else it stays
 *			   usable.
 *
 * err->message is allocated; sbc_error_clear frees it.  err may be NULL.
 * When memory runs out the message may be NULL, the code is always set.
 *
 * Pipelining.  sbc_send puts a request on the wire and returns its stream
 * id; sbc_recv(stream) waits for that reply, keeping replies to other
 * streams sent on the connection for their own sbc_recv (the daemon may
 * answer in any order).  Every sbc_send needs its sbc_recv, or the reply
 * stays in memory until sbc_close.  sbc_call is the two in one, and the
 * typed wrappers use it.  Replies to streams nobody waits for (timed out)
 * and frames of other types are read and dropped.
 *
 * Memory.  Structures passed in are borrowed for the call.  Structures the
 * library fills (sbc_meta, sbc_status, ...) own their memory, even where
 * their pointers are declared const so that the same type serves as input;
 * free them with their _free function.  A generated response decoded by
 * sbc_call may hold views into the reply buffer: both live in struct
 * sbc_reply until sbc_reply_free.
 */
#ifndef SANDBOXD_SBC_H
#define SANDBOXD_SBC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <pb.h>

#include "protocol.h"

#define SBC_ERR_TRANSPORT	(-1)
#define SBC_ERR_PROTOCOL	(-2)
#define SBC_ERR_NOMEM		(-3)

#define SBC_DEFAULT_NAMESPACE	"default"

/* Exit codes of sandboxctl (sbc_exit_code). */
#define SBC_EXIT_OK		0
#define SBC_EXIT_ERROR		1
#define SBC_EXIT_USAGE		2
#define SBC_EXIT_NOT_FOUND	3
#define SBC_EXIT_INVALID	4
#define SBC_EXIT_EXISTS		5
#define SBC_EXIT_PRECONDITION	6
#define SBC_EXIT_UNAVAILABLE	7
#define SBC_EXIT_TIMEOUT	8

struct sbc;

/* What went wrong: a code (see above) and an allocated message. */
struct sbc_error {
	int		 code;
	char		*message;
};

/* A decoded reply: the response message and the buffer its views use. */
struct sbc_reply {
	uint8_t			*buf;
	const pb_msgdesc_t	*fields;
	void			*msg;
};

/* A google.protobuf.Any; type_url NULL means absent. */
struct sbc_any {
	const char	*type_url;
	const void	*value;
	size_t		 len;
};

/* A label, annotation or info entry. */
struct sbc_label {
	const char	*key;
	const char	*value;
};

/* A sandbox extension: name and Any. */
struct sbc_extension {
	const char	*name;
	struct sbc_any	 value;
};

/* A sandbox's metadata (containerd.types.Sandbox). */
struct sbc_meta {
	const char			*id;
	const char			*runtime;	/* NULL/"": default */
	struct sbc_any			 runtime_options;
	struct sbc_any			 spec;
	const struct sbc_label		*labels;
	size_t				 nlabels;
	const struct sbc_extension	*extensions;
	size_t				 nextensions;
	const char			*sandboxer;
	struct timespec			 created_at;	/* set by the daemon */
	struct timespec			 updated_at;
};

/* Arguments of Controller.Create beyond the id. */
struct sbc_create_opts {
	const struct sbc_meta	*sandbox;	/* NULL: the daemon reads its store */
	struct sbc_any		 options;
	const char		*netns_path;	/* NULL: the daemon decides */
	const struct sbc_label	*annotations;
	size_t			 nannotations;
	const char		*sandboxer;
};

/* Arguments of the shim's CreateSandbox beyond the id. */
struct sbc_shim_create_opts {
	const char		*bundle_path;
	struct sbc_any		 options;
	const char		*netns_path;
	const struct sbc_label	*annotations;
	size_t			 nannotations;
};

/* What Start answers. */
struct sbc_start_info {
	uint32_t		 pid;
	struct timespec		 created_at;
	const char		*address;
	uint32_t		 version;
	struct sbc_label	*labels;
	size_t			 nlabels;
	struct sbc_any		 spec;
};

/* What Status answers. */
struct sbc_status {
	const char		*id;
	uint32_t		 pid;
	const char		*state;
	struct sbc_label	*info;
	size_t			 ninfo;
	struct timespec		 created_at;
	struct timespec		 exited_at;
	const char		*address;
	uint32_t		 version;
	struct sbc_any		 extra;
};

/* What Metrics answers; the stats when data is sandboxd's own message. */
struct sbc_metrics {
	struct timespec		 timestamp;
	const char		*id;
	struct sbc_any		 data;
	bool			 has_stats;
	uint64_t		 cpu_usage_ns;
	uint64_t		 cpu_user_ns;
	uint64_t		 cpu_system_ns;
	uint64_t		 rss_bytes;
	uint32_t		 pids;
};

/* What Platform answers. */
struct sbc_platform {
	char			 os[64];
	char			 architecture[64];
	char			 variant[64];
	char			 os_version[64];
};

/* Options of sbc_sandbox_new, as containerd's NewSandboxOpts. */
struct sbc_sandbox_opts {
	const char			*runtime;
	struct sbc_any			 runtime_options;
	struct sbc_any			 spec;
	const struct sbc_label		*labels;
	size_t				 nlabels;
	const struct sbc_extension	*extensions;
	size_t				 nextensions;
	const char			*netns_path;
	const char			*sandboxer;
};

/* A sandbox instance the daemon runs (sandboxd.v1.Admin/ListInstances). */
struct sbc_instance {
	char			*ns;
	char			*id;
	char			*state;		/* created, running, stopping, ... */
	char			*runtime;
	char			*netns_path;	/* "": none */
	char			*owner_bundle;	/* "": not made by containerd */
	uint32_t		 pid;
	uint32_t		 exit_status;
	bool			 exited;
	bool			 store_record;	/* the Store has its metadata */
	struct timespec		 created_at;
	struct timespec		 started_at;
	struct timespec		 exited_at;
};

struct sbc_sandbox;

/* sbc.c */
struct sbc	*sbc_connect(const char *, char **);
struct sbc	*sbc_open_fd(int);
void		 sbc_close(struct sbc *);
int		 sbc_set_namespace(struct sbc *, const char *);
void		 sbc_set_namespace_grpc(struct sbc *, bool);
const char	*sbc_namespace(const struct sbc *);
void		 sbc_set_timeout(struct sbc *, int);
int		 sbc_timeout(const struct sbc *);
bool		 sbc_broken(const struct sbc *);
int		 sbc_fd(const struct sbc *);
int		 sbc_send(struct sbc *, const char *, const char *,
		    const pb_msgdesc_t *, const void *, uint32_t *,
		    struct sbc_error *);
int		 sbc_recv(struct sbc *, uint32_t, const pb_msgdesc_t *, void *,
		    struct sbc_reply *, struct sbc_error *);
int		 sbc_call(struct sbc *, const char *, const char *,
		    const pb_msgdesc_t *, const void *, const pb_msgdesc_t *,
		    void *, struct sbc_reply *, struct sbc_error *);
int		 sbc_call_raw(struct sbc *, const char *, const char *,
		    const void *, size_t, uint8_t **, const uint8_t **,
		    size_t *, struct sbc_error *);
void		 sbc_reply_free(struct sbc_reply *);

/* sbc_error.c */
int		 sbc_error_set(struct sbc_error *, int, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4)));
void		 sbc_error_clear(struct sbc_error *);
const char	*sbc_error_name(int);
int		 sbc_exit_code(int);
const char	*sbc_default_socket(char *, size_t);
const char	*sbc_version(void);

/* sbc_meta.c */
int		 sbc_meta_copy(struct sbc_meta *, const struct sbc_meta *);
void		 sbc_meta_free(struct sbc_meta *);
void		 sbc_meta_list_free(struct sbc_meta *, size_t);
const char	*sbc_meta_label(const struct sbc_meta *, const char *);
void		 sbc_start_info_free(struct sbc_start_info *);
void		 sbc_status_free(struct sbc_status *);
void		 sbc_metrics_free(struct sbc_metrics *);
int		 sbc_label_parse(const char *, char **, char **, char **);
int		 sbc_extension_parse(const char *, char **, char **, char **,
		    char **);
void		 sbc_ts_format(const struct timespec *, char *, size_t);

/* sbc_store.c */
int		 sbc_store_create(struct sbc *, const struct sbc_meta *,
		    struct sbc_meta *, struct sbc_error *);
int		 sbc_store_get(struct sbc *, const char *, struct sbc_meta *,
		    struct sbc_error *);
int		 sbc_store_list(struct sbc *, const char *const *, size_t,
		    struct sbc_meta **, size_t *, struct sbc_error *);
int		 sbc_store_update(struct sbc *, const struct sbc_meta *,
		    const char *const *, size_t, struct sbc_meta *,
		    struct sbc_error *);
int		 sbc_store_delete(struct sbc *, const char *,
		    struct sbc_error *);

/* sbc_ctrl.c */
int		 sbc_ctrl_create(struct sbc *, const char *,
		    const struct sbc_create_opts *, struct sbc_error *);
int		 sbc_ctrl_start(struct sbc *, const char *,
		    struct sbc_start_info *, struct sbc_error *);
int		 sbc_ctrl_platform(struct sbc *, const char *,
		    struct sbc_platform *, struct sbc_error *);
int		 sbc_ctrl_stop(struct sbc *, const char *, uint32_t,
		    struct sbc_error *);
int		 sbc_ctrl_wait(struct sbc *, const char *, uint32_t *,
		    struct timespec *, struct sbc_error *);
int		 sbc_ctrl_status(struct sbc *, const char *, bool,
		    struct sbc_status *, struct sbc_error *);
int		 sbc_ctrl_shutdown(struct sbc *, const char *,
		    struct sbc_error *);
int		 sbc_ctrl_metrics(struct sbc *, const char *,
		    struct sbc_metrics *, struct sbc_error *);
int		 sbc_ctrl_update(struct sbc *, const struct sbc_meta *,
		    const char *const *, size_t, struct sbc_error *);

/* sbc_shim.c */
int		 sbc_shim_create(struct sbc *, const char *,
		    const struct sbc_shim_create_opts *, struct sbc_error *);
int		 sbc_shim_start(struct sbc *, const char *,
		    struct sbc_start_info *, struct sbc_error *);
int		 sbc_shim_platform(struct sbc *, const char *,
		    struct sbc_platform *, struct sbc_error *);
int		 sbc_shim_stop(struct sbc *, const char *, uint32_t,
		    struct sbc_error *);
int		 sbc_shim_wait(struct sbc *, const char *, uint32_t *,
		    struct timespec *, struct sbc_error *);
int		 sbc_shim_status(struct sbc *, const char *, bool,
		    struct sbc_status *, struct sbc_error *);
int		 sbc_shim_ping(struct sbc *, const char *, struct sbc_error *);
int		 sbc_shim_shutdown(struct sbc *, const char *,
		    struct sbc_error *);
int		 sbc_shim_metrics(struct sbc *, const char *,
		    struct sbc_metrics *, struct sbc_error *);

/* sbc_admin.c */
int		 sbc_admin_list_instances(struct sbc *, struct sbc_instance **,
		    size_t *, struct sbc_error *);
void		 sbc_instance_list_free(struct sbc_instance *, size_t);
int		 sbc_reexec(struct sbc *, uint32_t *, struct sbc_error *);

/* sbc_sandbox.c */
int		 sbc_sandbox_new(struct sbc *, const char *,
		    const struct sbc_sandbox_opts *, struct sbc_sandbox **,
		    struct sbc_error *);
int		 sbc_sandbox_load(struct sbc *, const char *,
		    struct sbc_sandbox **, struct sbc_error *);
const char	*sbc_sandbox_id(const struct sbc_sandbox *);
const struct sbc_meta *sbc_sandbox_metadata(const struct sbc_sandbox *);
const struct sbc_label *sbc_sandbox_labels(const struct sbc_sandbox *,
		    size_t *);
int		 sbc_sandbox_start(struct sbc_sandbox *, uint32_t *,
		    struct sbc_error *);
int		 sbc_sandbox_stop(struct sbc_sandbox *, uint32_t,
		    struct sbc_error *);
int		 sbc_sandbox_wait(struct sbc_sandbox *, uint32_t *,
		    struct timespec *, struct sbc_error *);
int		 sbc_sandbox_status(struct sbc_sandbox *, bool,
		    struct sbc_status *, struct sbc_error *);
int		 sbc_sandbox_shutdown(struct sbc_sandbox *, struct sbc_error *);
void		 sbc_sandbox_free(struct sbc_sandbox *);

#endif /* SANDBOXD_SBC_H */
