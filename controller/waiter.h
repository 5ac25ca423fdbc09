/*
 * waiter.h: a list of calls parked until an event (private to the
 * controller).  The list knows the events a call can wait for, not what
 * they mean: whoever parks a call gives the function that answers it,
 * and whoever releases the list decides, waiter by waiter, whether the
 * event it brings ends the wait.
 */
#ifndef SANDBOXD_WAITER_H
#define SANDBOXD_WAITER_H

#include <stdbool.h>

#include "call.h"
#include "queue.h"

struct ctrl_answer;

/* What a parked call waits for. */
enum waiter_event {
	WAITER_CREATE,		/* Create: its network namespace is made */
	WAITER_START,		/* Start: the init process exec'd */
	WAITER_EXIT,		/* Wait: the init process exited */
	WAITER_STOP,		/* Stop, Shutdown: nothing runs any more */
};

/* A parked call: its event and the function that answers it. */
struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	struct waiter_list	*list;
	struct call		*call;
	enum waiter_event	 event;
	void			(*answer)(struct call *,
				    const struct ctrl_answer *);
};
TAILQ_HEAD(waiter_list, waiter);

/* Answer w (and return true), or leave it parked (false). */
typedef bool (*waiter_visit_fn)(struct waiter *w, void *arg);

/* waiter.c */
enum handler_result waiter_add(struct waiter_list *, struct call *,
		    enum waiter_event,
		    void (*)(struct call *, const struct ctrl_answer *));
bool		 waiters_have(const struct waiter_list *, enum waiter_event);
void		 waiters_visit(struct waiter_list *, waiter_visit_fn, void *);
void		 waiters_forget(struct waiter_list *);

#endif /* SANDBOXD_WAITER_H */
