/*
 * re2_wrap.cc: the only C++ in sandboxd: RE2 behind the C calls of
 * re2_wrap.h, so filter.c stays C.  Nothing here throws past the extern
 * "C" boundary: RE2 reports bad patterns through ok()/error(), and an
 * allocation failure ends the daemon as xmalloc's would.
 */
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <re2/re2.h>

#include "re2_wrap.h"

struct rx {
	re2::RE2	re;

	rx(const char *pattern, const re2::RE2::Options &opt)
	    : re(pattern, opt) {}
};

/* Copy a C++ string into memory the C caller frees with free(). */
static char *
rx_strdup(const std::string &s)
{
	char	*p;

	if ((p = strdup(s.c_str())) == NULL)
		abort();
	return (p);
}

/* Compile a pattern in RE2 (Go) syntax; NULL and *cause if refused. */
extern "C" struct rx *
rx_compile(const char *pattern, char **cause)
{
	re2::RE2::Options	 opt;
	struct rx		*r;

	opt.set_log_errors(false);	/* the caller reports, not stderr */
	opt.set_max_mem(RX_MAX_MEM);
	try {
		r = new rx(pattern, opt);
	} catch (const std::bad_alloc &) {
		abort();
	}
	if (!r->re.ok()) {
		if (cause != NULL)
			*cause = rx_strdup(r->re.error());
		delete r;
		return (NULL);
	}
	return (r);
}

/* Whether the pattern matches anywhere in text. */
extern "C" bool
rx_match(const struct rx *r, const char *text, size_t len)
{
	return (re2::RE2::PartialMatch(re2::StringPiece(text, len), r->re));
}

/* The compiled program's size in instructions: the cost per byte. */
extern "C" size_t
rx_size(const struct rx *r)
{
	return ((size_t)r->re.ProgramSize());
}

/* Free a compiled pattern; NULL is allowed. */
extern "C" void
rx_free(struct rx *r)
{
	delete r;
}
