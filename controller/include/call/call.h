/*
 * call.h: the call API, what an RPC handler sees of the request it serves.
 *
 * The one contract that points up the arrows: the controller and the
 * handlers use it, the server implements it (server/call.c).  It lives
 * with its lowest user, the controller, so that no module includes a
 * server header; a program that links the controller or the handlers
 * links sbd_server too, which supplies these functions.
 *
 * The server decodes a request, finds its method in the table and calls
 * the handler with the decoded request and a zeroed response message.  The
 * handler answers in one of three ways:
 *
 *	HANDLER_DONE	  the response message (or a raw one set with
 *			  call_set_raw_response) is the answer;
 *	HANDLER_ERROR	  call_fail() recorded a status code and message;
 *	HANDLER_DEFERRED  call_defer() was called: the answer comes later,
 *			  through call_finish() or call_finish_error(), e.g.
 *			  when a sandbox exits.
 *
 * No answer leaves the daemon before the iteration's LevelDB batch is
 * synced (see server/loop.c), so a handler may reply as soon as it has
 * queued its writes.
 *
 * Memory: the request and anything it points to live until the handler
 * returns; the handler may modify it in place (e.g. to normalise it).
 * Memory a response needs comes from call_alloc/call_strdup (or is
 * handed over with call_own) and lives until the answer is encoded.
 */
#ifndef SANDBOXD_CALL_H
#define SANDBOXD_CALL_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pb.h>

struct call;

enum handler_result {
	HANDLER_DONE,
	HANDLER_ERROR,
	HANDLER_DEFERRED,
};

typedef enum handler_result (*handler_fn)(struct call *, const void *req,
    void *resp);

/*
 * Called when a deferred call ends without the handler's answer: the client
 * went away (code STATUS_CANCELED) or its deadline passed (code
 * STATUS_DEADLINE_EXCEEDED).  The handler forgets the call; the server
 * answers (if anyone is left to answer) and frees it.
 */
typedef void (*call_cancel_fn)(struct call *, int code, void *arg);

/*
 * Run once the iteration's writes are synced (committed true), or when
 * they could not be (false): for effects that must not come before the
 * record saying so, such as signalling a process Stop saved as stopping.
 */
typedef void (*call_commit_fn)(bool committed, void *arg);

/* server/call.c */
const char	*call_namespace(const struct call *);
enum handler_result call_fail(struct call *, int, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4)));
void		*call_alloc(struct call *, size_t);
char		*call_strdup(struct call *, const char *);
void		 call_own(struct call *, void *);
void		 call_own_fn(struct call *, void (*)(void *), void *);
void		 call_set_raw_response(struct call *, uint8_t *, size_t);
enum handler_result call_defer(struct call *, call_cancel_fn, void *);
void		 call_finish(struct call *, const pb_msgdesc_t *, const void *);
void		 call_after_commit(call_commit_fn, void *);
void		 call_finish_error(struct call *, int, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4)));
uid_t		 call_peer_uid(const struct call *);

#endif /* SANDBOXD_CALL_H */
