/*
 * waiter.c: calls parked on a list until something happens (see
 * waiter.h).  A waiter whose client leaves, or whose deadline passes, is
 * forgotten by its cancel callback; the server answers for it.
 */
#include <stdlib.h>

#include "waiter.h"
#include "xmalloc.h"

/* A waiter's client left or its deadline passed: forget it. */
static void
waiter_cancel_cb(struct call *call, int code, void *arg)
{
	struct waiter	*w = arg;

	(void)call;
	(void)code;
	TAILQ_REMOVE(w->list, w, entry);
	free(w);
}

/* Park a call on list until event; answer is how it will be answered. */
enum handler_result
waiter_add(struct waiter_list *list, struct call *call,
    enum waiter_event event,
    void (*answer)(struct call *, const struct ctrl_answer *))
{
	struct waiter	*w;

	w = xcalloc(1, sizeof(*w));
	w->list = list;
	w->call = call;
	w->event = event;
	w->answer = answer;
	TAILQ_INSERT_TAIL(list, w, entry);
	return (call_defer(call, waiter_cancel_cb, w));
}

/* Is a call waiting for event on list? */
bool
waiters_have(const struct waiter_list *list, enum waiter_event event)
{
	const struct waiter	*w;

	TAILQ_FOREACH(w, list, entry) {
		if (w->event == event)
			return (true);
	}
	return (false);
}

/*
 * Offer each waiter, in the order they came, to visit; drop those it
 * answered.  One pass keeps the answers in the order of the calls.
 */
void
waiters_visit(struct waiter_list *list, waiter_visit_fn visit, void *arg)
{
	struct waiter	*w, *next;

	TAILQ_FOREACH_SAFE(w, list, entry, next) {
		if (!visit(w, arg))
			continue;
		TAILQ_REMOVE(list, w, entry);
		free(w);
	}
}

/* Daemon exit: drop the waiters, whose calls call_cancel_all answered. */
void
waiters_forget(struct waiter_list *list)
{
	struct waiter	*w;

	while ((w = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, w, entry);
		free(w);
	}
}
