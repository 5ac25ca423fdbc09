/*
 * log.c: levelled logging to stderr or a log file (see log.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level	 log_level = LOG_LEVEL_INFO;
static char		*log_path;
static FILE		*log_file;

static const char *const log_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/* Log to path (NULL: stderr) at the given verbosity. */
void
log_init(const char *path, enum log_level level)
{
	log_level = level;
	free(log_path);
	log_path = path != NULL ? strdup(path) : NULL;
	if (log_reopen() == -1)
		log_warn("log: cannot open %s, logging to stderr", path);
	tzset();
}

/* Reopen the log file, for rotation on SIGHUP; -1 if it cannot be opened. */
int
log_reopen(void)
{
	FILE	*f;
	int	 saved = errno;

	if (log_path == NULL)
		return (0);
	if ((f = fopen(log_path, "ae")) == NULL) {
		errno = saved;
		return (-1);
	}
	setvbuf(f, NULL, _IOLBF, 0);
	if (log_file != NULL)
		fclose(log_file);
	log_file = f;
	errno = saved;
	return (0);
}

/* The log file's descriptor, or -1 (stderr): helpers keep it open. */
int
log_fd(void)
{
	return (log_file != NULL ? fileno(log_file) : -1);
}

/* Parse a level name (error, warn, info, debug); -1 if unknown. */
int
log_parse_level(const char *name, enum log_level *level)
{
	size_t	i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcasecmp(name, log_names[i]) == 0) {
			*level = (enum log_level)i;
			return (0);
		}
	}
	return (-1);
}

/* Write one line: time, level, message, and strerror(err) when err != 0. */
static void
log_vwrite(enum log_level level, int err, const char *fmt, va_list ap)
{
	FILE		*f = log_file != NULL ? log_file : stderr;
	struct timespec	 ts;
	struct tm	 tm;
	char		 when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	flockfile(f);
	fprintf(f, "%s.%03ldZ %-5s ", when, ts.tv_nsec / 1000000,
	    log_names[level]);
	vfprintf(f, fmt, ap);
	if (err != 0)
		fprintf(f, ": %s", strerror(err));
	fputc('\n', f);
	funlockfile(f);
}

#define LOG_BODY(level, err) do {					\
	va_list	ap;							\
	int	saved = errno;						\
	if ((level) > log_level)					\
		return;							\
	va_start(ap, fmt);						\
	log_vwrite((level), (err), fmt, ap);				\
	va_end(ap);							\
	errno = saved;							\
} while (0)

/* A warning with errno's text appended. */
void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, errno);
}

/* A warning without errno. */
void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, 0);
}

/* Log with errno's text and exit: the daemon cannot go on. */
void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	err = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, err, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Log and exit, without errno. */
void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
