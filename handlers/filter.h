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
 * The grammar, as containerd's scanner and parser accept it:
 *
 *	filter    := selector (',' selector)*
 *	selector  := fieldpath [op value]
 *	fieldpath := field ('.' field)*
 *	field     := [A-Za-z0-9_-]+ | "quoted"
 *	op        := '==' | '!=' | '~='
 *	value     := "quoted" | /quoted/ | |quoted| | unquoted
 *	unquoted  := printable ASCII or valid UTF-8, no space or ',', not
 *		     starting with '.', '=', '!', '~', '"', '/' or '|'
 *
 * /.../ and |...| are for ~= only.  Quoted text takes Go's escapes: \a \b
 * \f \n \r \t \v \\, the quote character itself, \ooo, \xhh, \uhhhh and
 * \Uhhhhhhhh; none of them may produce a NUL byte, and no other escape is
 * allowed (so a regex needing \. is written unquoted: ~=^a\.b$).  ASCII
 * whitespace may come before a field, an operator or a value, but not
 * before a '.', a ',' or the end of the string.  Beyond containerd, a
 * field quoted as "" is refused (no field has an empty name), as are
 * \u escapes of surrogates and raw bytes that are not valid UTF-8 (a \x
 * escape may still give any byte but NUL).
 *
 * Matching, per selector: == needs the field present and equal; != holds
 * when it is absent or different; ~= runs the regular expression
 * (unanchored) on the value, or on "" when the field is absent; a bare
 * field path holds when the field is present.  (containerd's != compares
 * "" for an absent field, so x!="" fails there; here, as the spec says,
 * an absent field always satisfies !=.)
 *
 * Regular expressions are containerd's, Go's regexp syntax, which is
 * RE2's: no back-references (\1), no lookaround ((?=...)), repetition
 * counts up to 1000; (?i), classes, \pL, anchors and alternation are
 * there.  RE2 (re2_wrap.h) matches in time linear in the value, so no
 * pattern can hold the loop however long the label.  A pattern is at most
 * FILTER_REGEX_MAX bytes and compiles to at most FILTER_REGEX_PROG
 * instructions (and RX_MAX_MEM bytes of RE2's memory); a request has at
 * most FILTER_REGEX_COUNT of them.  Linear is not cheap: a pattern such
 * as a{1,1000}b runs RE2's NFA at about its program size in steps per
 * byte (~70 ms for a 4 KiB label), so a filter also has a work budget,
 * FILTER_REGEX_WORK steps counted as (value length + 1) x program size
 * per match, over its whole life.  A match that would pass it is not run:
 * filter_match says no from then on and filter_exhausted says why, and
 * the caller must fail the request rather than answer an incomplete list.
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

/* Limits on ~= patterns; see above. */
#define FILTER_REGEX_MAX	512	/* bytes in one pattern */
#define FILTER_REGEX_COUNT	32	/* patterns in one filter_parse */
#define FILTER_REGEX_PROG	2048	/* RE2 instructions in one */
#define FILTER_REGEX_WORK	((size_t)1 << 26) /* steps in one filter */

struct filter;

/*
 * Look up the field at path[0] .. path[depth - 1]; depth is at least 1.
 * The components are exactly as parsed, one per '.'-separated field with
 * quotes removed and escapes decoded; nothing is joined.  So:
 *
 *	labels.env		{"labels", "env"}
 *	labels.a.b		{"labels", "a", "b"}
 *	labels."a.b/c"		{"labels", "a.b/c"}
 *	runtime.name		{"runtime", "name"}
 *
 * A caller that treats labels.a.b as the key "a.b" (as containerd does)
 * joins path[1] .. path[depth - 1] with '.' itself.  Return true if the
 * field is present and set *value to its text; *value may be left NULL
 * for a field with no text form (it then compares as "").  Return false
 * if it is absent.  The strings are only read during the call.
 */
typedef bool (*filter_lookup_fn)(const char *const *path, size_t depth,
    const char **value, void *arg);

/*
 * filter_parse(strings, n, cause) compiles n filter strings.  n == 0 gives
 * a filter matching everything, and so does any "" in the list (as in
 * containerd).  On failure it returns NULL and sets *cause (if cause is not
 * NULL) to a message the caller frees, naming the filter (1-based), its
 * text and the 1-based byte column of the problem:
 *
 *	filter 2 "labels.=x": column 8: expected field name
 *
 * A regular expression that does not compile is an error too: the message
 * includes RE2's text, and the column is the value's, or that of the
 * back-reference or lookaround found in it (filter 1 "id~=(a)\1": column
 * 8: invalid regular expression: back-references ...).
 *
 * filter_match(f, lookup, arg) says whether a record matches; f must come
 * from filter_parse, and its work budget is spent (see above).
 * filter_exhausted(f) says whether the budget ran out: every
 * filter_match since then said no without looking.  filter_free(f) releases
 * everything, compiled expressions included; NULL is allowed.
 */

/* filter.c */
struct filter	*filter_parse(const char *const *, size_t, char **);
bool		 filter_match(struct filter *, filter_lookup_fn, void *);
bool		 filter_exhausted(const struct filter *);
void		 filter_free(struct filter *);

#endif /* SANDBOXD_FILTER_H */
