/*
 * compat/tree.h: BSD red-black trees.
 *
 * glibc has no <sys/tree.h>; Debian's libbsd ships the BSD one.  Use
 * RB_PROTOTYPE + RB_GENERATE (not the _STATIC forms: libbsd leaves their
 * __unused attribute undefined, see its cdefs.h).
 */
#ifndef SANDBOXD_COMPAT_TREE_H
#define SANDBOXD_COMPAT_TREE_H

#include <bsd/sys/tree.h>

#endif /* SANDBOXD_COMPAT_TREE_H */
