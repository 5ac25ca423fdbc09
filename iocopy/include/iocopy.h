/*
 * iocopy.h: a container process's stdio, between containerd's FIFOs and
 * the process, on the daemon's event loop.  No helper process, no thread.
 *
 * Without a terminal the process is handed the FIFOs themselves (direct
 * hand-over): its stdout and stderr are write ends of containerd's FIFOs,
 * its stdin the read end of the stdin FIFO.  The daemon only holds a
 * keep-alive descriptor on each: O_RDWR on stdout/stderr, so that a
 * containerd restart (no reader for a while) never raises SIGPIPE in the
 * container, and a writer on stdin, so that the process sees no EOF
 * before CloseIO.  Nothing is copied and the output does not depend on
 * the daemon being alive.
 *
 * The copy engine serves the terminal (runc sends the pty master over the
 * console socket; the daemon copies master -> stdout FIFO and stdin FIFO
 * -> master) and, when cfg->copy asks for it, plain pipes.  It copies with
 * splice(2) where the kernel can, else through a bounded buffer; a full
 * destination stops the reading of its source until it drains, so a slow
 * reader slows the writer and no byte is ever dropped.
 *
 * Every call runs on the loop given to iocopy_open.  Paths are absolute:
 * FIFOs, or regular files, which take appended output (stdin must be a
 * FIFO when copied); "fifo://<path>" and "file://<path>" (a file made if
 * missing) are accepted as containerd writes them, other URIs
 * ("binary://") are refused.  Opening never blocks: FIFOs are opened
 * O_NONBLOCK, and the keep-alive descriptors make "no reader yet" (ENXIO)
 * impossible.
 */
#ifndef SANDBOXD_IOCOPY_H
#define SANDBOXD_IOCOPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct iocopy;

struct iocopy_cfg {
	const char	*stdin_path;	/* containerd's FIFOs (or files); */
	const char	*stdout_path;	/* NULL or "" = none (/dev/null) */
	const char	*stderr_path;
	bool		 terminal;	/* the process has a pty: runc sends its
					   master over the console socket */
	const char	*console_dir;	/* where the console socket is made */
	bool		 copy;		/* no terminal: copy through pipes
					   rather than hand the FIFOs over
					   (tests, bench_iocopy) */
};

/*
 * iocopy.c
 *
 * iocopy_open: open the FIFOs (and, for a terminal, make the console
 * socket); -1 with *err (malloc'd) if a path cannot be opened, and
 * nothing is left behind.
 * iocopy_child_stdio: the descriptors runc is to give the process as 0, 1
 * and 2 (-1: /dev/null); they belong to io, the caller must not close them.
 * iocopy_console_socket: the path for runc --console-socket, or NULL.
 * iocopy_child_started: runc has passed the descriptors on (create or
 * exec returned): the daemon's copies of the child's ends are closed, so
 * that the process's exit gives EOF; a terminal's master, which runc
 * create has sent by then, is taken from the console socket at once, so
 * that a size set before is on the pty before runc start.
 * iocopy_resize: TIOCSWINSZ on the pty master; before the master has
 * arrived the size is kept and set on arrival.  -1 with *err without a
 * terminal, or when the master was lost (a daemon crash).
 * iocopy_close_stdin: CloseIO.  The process sees EOF once containerd has
 * closed its end too and every byte written before has reached the
 * process (on a terminal: the VEOF character, ^D, is written).
 * iocopy_when_drained: call once the process has exited.  cb(arg) runs
 * once, from the loop (never inside this call), when every byte the
 * process wrote is in containerd's FIFOs: at the next pass for handed
 * FIFOs or when nothing is copied; for copies, once what waited in the
 * process's pipe or pty (and the pump's buffer) at this call is written,
 * or the copy reached EOF.  A descendant that keeps the pipe or pty open
 * does not hold it up; its later output goes on being copied.  Then each
 * keep-alive no copy writes to any more is closed as soon as its FIFO is
 * empty (a copy's own, when its source reaches EOF), so containerd sees
 * EOF after the last byte, and no byte is lost when containerd is away.
 * Calling it again replaces the callback.
 * iocopy_free: close everything at once (Delete), remove the console
 * socket; a pending callback never runs.
 */
int		 iocopy_open(struct event_base *, const struct iocopy_cfg *,
		    struct iocopy **, char **);
void		 iocopy_child_stdio(struct iocopy *, int[3]);
const char	*iocopy_console_socket(struct iocopy *);
void		 iocopy_child_started(struct iocopy *);
int		 iocopy_resize(struct iocopy *, uint32_t, uint32_t, char **);
void		 iocopy_close_stdin(struct iocopy *);
void		 iocopy_when_drained(struct iocopy *, void (*)(void *), void *);
void		 iocopy_free(struct iocopy *);

/*
 * handover.c
 *
 * iocopy_export: describe io for a live re-execution (sandboxd.v1.Iocopy,
 * versioned): its descriptors, made to survive execve, and the bytes
 * read but not yet written.  Call it just before the execve, with no loop
 * pass in between; io itself is untouched.  *buf is malloc'd.  A pending
 * iocopy_when_drained callback is not carried: ask again after the
 * import.
 * iocopy_export_cancel: the exec is not going to happen (the hand-over
 * was given up): close-on-exec again, so that no later child (runc, a
 * sandbox) inherits the descriptors; io goes on as before.
 * iocopy_import: rebuild it in the new image on base; -1 with *err for
 * an unknown version, a malformed description or a descriptor that is
 * not open, closing none.
 * iocopy_reattach: after a crash, from the recorded cfg.  Handed FIFOs
 * need nothing (the process holds them); the stdout/stderr keep-alives
 * are opened again when the FIFO still exists; the stdin keep-alive is
 * not (CloseIO may have come before the crash).  Copied streams are lost:
 * the pty master (the terminal hangs up when the daemon dies) and the
 * pipes of cfg->copy; resize then fails, and iocopy_when_drained
 * answers at once.
 */
int		 iocopy_export(struct iocopy *, uint8_t **, size_t *);
void		 iocopy_export_cancel(struct iocopy *);
int		 iocopy_import(struct event_base *, const uint8_t *, size_t,
		    struct iocopy **, char **);
int		 iocopy_reattach(struct event_base *,
		    const struct iocopy_cfg *, struct iocopy **, char **);

#endif /* SANDBOXD_IOCOPY_H */
