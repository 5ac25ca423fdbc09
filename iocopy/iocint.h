/*
 * iocint.h: what the files of iocopy/ share: the copy engine (pump.c),
 * the console socket (console.c), and the struct iocopy they serve.
 */
#ifndef SANDBOXD_IOCINT_H
#define SANDBOXD_IOCINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "iocopy.h"

#define IOC_STDIN	0
#define IOC_STDOUT	1
#define IOC_STDERR	2

/* Bytes a pump holds when it cannot splice, and moves per loop pass. */
#define PUMP_BUF	(64 * 1024)
#define PUMP_BURST	(4 * PUMP_BUF)

struct pump;
typedef void (*pump_done_fn)(struct pump *, void *);

/*
 * One direction of a copy: src -> dst, both non-blocking.  The pump owns
 * neither descriptor.  It waits for one thing at a time: src readable
 * while it has nothing to write, dst writable while it has.
 */
struct pump {
	struct event_base	*base;
	int			 src;
	int			 dst;
	bool			 src_tty;	/* EIO: the slave hung up */
	bool			 dst_poll;	/* not a file: can wait */
	bool			 splice;	/* still worth trying */
	bool			 et;		/* edge-triggered events */
	bool			 done;
	struct event		*rev;
	struct event		*wev;
	char			*buf;		/* PUMP_BUF while in use */
	size_t			 off;
	size_t			 len;
	uint64_t		 written;	/* bytes put into dst */
	pump_done_fn		 done_cb;	/* src over, all written */
	pump_done_fn		 moved_cb;	/* a pass wrote bytes */
	void			*arg;
};

/* A keep-alive on an output FIFO, closed once the FIFO is empty. */
struct sink {
	struct iocopy	*io;
	int		 fd;		/* -1: none, or closed */
	bool		 fifo;		/* else a file: nothing to linger for */
	bool		 releasing;	/* close once the FIFO is empty */
	struct event	*linger;
	int		 delay_ms;
};

/* The console socket runc connects to, and the master it sends. */
struct console {
	int		 lfd;		/* listening, or -1 once done */
	int		 cfd;		/* runc's connection, or -1 */
	char		*path;
	struct event	*lev;
	struct event	*cev;
	int		 master;	/* -1 until it arrives */
	bool		 lost;		/* after a crash: gone for good */
	bool		 size_set;	/* a size waits for the master */
	uint16_t	 rows;
	uint16_t	 cols;
};

struct iocopy {
	struct event_base	*base;
	bool			 terminal;
	bool			 copy;
	char			*path[3];
	bool			 create[3];	/* file://: make it */
	int			 child[3];	/* until runc has them */
	int			 in_src;	/* copied stdin: FIFO */
	int			 in_dst;	/* copied stdin: pipe */
	int			 out_src[3];	/* copied output: pipe */
	int			 stdin_keep;	/* until CloseIO */
	struct sink		 sink[3];	/* output keep-alives */
	struct pump		*pump[3];	/* the copies, by stream */
	bool			 over[3];	/* that copy finished */
	uint64_t		 goal[3];	/* drained at written */
	struct console		*con;
	bool			 stdin_closed;
	bool			 exited;	/* when_drained called */
	void			(*drained_cb)(void *);
	void			*drained_arg;
	struct event		*drained_ev;
};

/* pump.c */
struct pump	*pump_new(struct event_base *, int, int, pump_done_fn,
		    pump_done_fn, void *);
void		 pump_start(struct pump *);
void		 pump_set_pending(struct pump *, const void *, size_t);
void		 pump_free(struct pump *);
uint64_t	 pump_backlog(struct pump *);
int		 fd_set_nonblock(int, bool);
bool		 fd_is_fifo(int);

/* console.c */
struct console	*console_new(const char *, char **);
void		 console_start(struct iocopy *);
void		 console_take(struct iocopy *);
int		 console_resize(struct console *, uint16_t, uint16_t, char **);
void		 console_free(struct console *);

/* iocopy.c */
struct iocopy	*ioc_alloc(struct event_base *, const struct iocopy_cfg *);
int		 ioc_check_paths(struct iocopy *, char **);
int		 ioc_open_sink(struct iocopy *, int, char **);
void		 ioc_make_pumps(struct iocopy *);
void		 ioc_run_pumps(struct iocopy *);
void		 ioc_master_arrived(struct iocopy *, int);
void		 ioc_sink_release(struct iocopy *, int);
void		 ioc_check_drained(struct iocopy *);
void		 ioc_close(int *);

#endif /* SANDBOXD_IOCINT_H */
