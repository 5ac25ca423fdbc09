/*
 * compat/queue.h: BSD <sys/queue.h> lists.
 *
 * glibc ships the lists but not the _SAFE iterators that let a loop unlink
 * the element it stands on; they are added here.  libevent's headers pull in
 * the glibc file too, so this wraps it instead of shipping a second copy.
 */
#ifndef SANDBOXD_COMPAT_QUEUE_H
#define SANDBOXD_COMPAT_QUEUE_H

#include <sys/queue.h>

#ifndef LIST_FOREACH_SAFE
#define LIST_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = LIST_FIRST((head));				\
	    (var) && ((tvar) = LIST_NEXT((var), field), 1);		\
	    (var) = (tvar))
#endif

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST((head));				\
	    (var) && ((tvar) = TAILQ_NEXT((var), field), 1);		\
	    (var) = (tvar))
#endif

#ifndef STAILQ_FOREACH_SAFE
#define STAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = STAILQ_FIRST((head));				\
	    (var) && ((tvar) = STAILQ_NEXT((var), field), 1);		\
	    (var) = (tvar))
#endif

#endif /* SANDBOXD_COMPAT_QUEUE_H */
