/*
 * filter.h: containerd's filter language for List.
 *
 * A request carries a list of filter strings; a record matches when any of
 * them matches (OR).  Each string is selectors joined by ',' that must all
 * match (AND).  A selector is a field path, optionally followed by an
 * operator (==, !=, ~=) and a value:
 *
 *	id==abc,labels."app.kubernetes.io/name"~=^web
 *	labels.env!=prod
 *	extensions.foo			(present)
 *
 * Parsing is separate from matching: filter_parse compiles everything once
 * (regular expressions included), and filter_match asks the caller for the
 * value at each field path through a lookup function, so the module knows
 * nothing of sandboxes.
 */
#ifndef SANDBOXD_FILTER_H
#define SANDBOXD_FILTER_H

#include <stdbool.h>
#include <stddef.h>

struct filter;

/*
 * Look up the field at path (path[0] .. path[depth - 1], e.g. {"labels",
 * "a.b/c"}).  Return true and set *value if it is present, false if not.
 */
typedef bool (*filter_lookup_fn)(const char *const *path, size_t depth,
    const char **value, void *arg);

/* filter.c */
struct filter	*filter_parse(const char *const *, size_t, char **);
bool		 filter_match(const struct filter *, filter_lookup_fn, void *);
void		 filter_free(struct filter *);

#endif /* SANDBOXD_FILTER_H */
