/*
 * fs.h: small file-system helpers the modules share.
 */
#ifndef SANDBOXD_FS_H
#define SANDBOXD_FS_H

#include <sys/types.h>

/* fs.c */
int	fs_mkdir_p(const char *, mode_t, mode_t, char **);

#endif /* SANDBOXD_FS_H */
