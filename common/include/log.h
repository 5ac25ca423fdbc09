/*
 * log.h: the daemon's one logging API.
 *
 * Foreground: lines go to stderr with a timestamp.  Otherwise they go to a
 * log file (reopened on SIGHUP) or, with no file, to stderr as well.  Every
 * function preserves errno; log_debug is filtered before formatting.
 */
#ifndef SANDBOXD_LOG_H
#define SANDBOXD_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* log.c */
void	log_init(const char *, enum log_level);
int	log_reopen(void);
int	log_fd(void);
int	log_parse_level(const char *, enum log_level *);
void	log_warn(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2), __noreturn__));
void	fatalx(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2), __noreturn__));

#endif /* SANDBOXD_LOG_H */
