/*
 * re2_wrap.h: a C face on RE2, the regular-expression engine behind
 * List's ~= (handlers/re2_wrap.cc).
 *
 * containerd's filters are Go regular expressions, whose syntax is RE2's:
 * no back-references, no lookaround, repetition counts up to 1000.  RE2
 * matches in time linear in the text (a DFA, or an NFA when the DFA's
 * memory runs out), so no pattern can hold the loop.  rx_compile takes
 * the pattern (NUL-terminated, UTF-8) and returns NULL with *cause (a
 * message the caller frees) if RE2 refuses it or its compiled program
 * would exceed RX_MAX_MEM bytes.  rx_match says whether the pattern
 * matches anywhere in text[0 .. len - 1] (unanchored, as Go's MatchString).
 * rx_size is the compiled program's size in instructions: matching costs
 * at most about that much per byte of text (when RE2 must fall back from
 * its DFA to its NFA), so the caller can bound the work of a request.
 */
#ifndef SANDBOXD_RE2_WRAP_H
#define SANDBOXD_RE2_WRAP_H

#include <stdbool.h>
#include <stddef.h>

/* RE2's memory budget per pattern: program plus DFA cache. */
#define RX_MAX_MEM	(1 << 20)

#ifdef __cplusplus
extern "C" {
#endif

struct rx;

/* re2_wrap.cc */
struct rx	*rx_compile(const char *, char **);
bool		 rx_match(const struct rx *, const char *, size_t);
size_t		 rx_size(const struct rx *);
void		 rx_free(struct rx *);

#ifdef __cplusplus
}
#endif

#endif /* SANDBOXD_RE2_WRAP_H */
