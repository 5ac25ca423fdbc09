/*
 * xmalloc.h: allocation that never returns NULL.
 *
 * Running out of memory is the one failure sandboxd does not try to survive:
 * these call fatalx() instead of returning NULL, so callers need no checks.
 */
#ifndef SANDBOXD_XMALLOC_H
#define SANDBOXD_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* xmalloc.c */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
void	*xmemdup(const void *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
int	 xvasprintf(char **, const char *, va_list)
	    __attribute__((__format__(__printf__, 2, 0)));

#endif /* SANDBOXD_XMALLOC_H */
