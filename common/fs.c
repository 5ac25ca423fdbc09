/*
 * fs.c: small file-system helpers the modules share.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "xmalloc.h"

/*
 * mkdir -p: make path and its missing parents, the parents with mode
 * parents and path itself with mode; existing ones are left as they are.
 * 0, or -1 with *cause ("mkdir <the component that failed>: <why>").
 */
int
fs_mkdir_p(const char *path, mode_t parents, mode_t mode, char **cause)
{
	char	*copy = xstrdup(path), *p;

	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, parents) == -1 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(copy, mode) == -1 && errno != EEXIST)
		goto fail;
	free(copy);
	return (0);
fail:
	xasprintf(cause, "mkdir %s: %s", copy, strerror(errno));
	free(copy);
	return (-1);
}
