/*
 * keeper_prog.h: the program sandboxd-keeper, private to it
 * (keeper_main.c: options and the socket; keeper_loop.c: the poll loop).
 */
#ifndef SANDBOXD_KEEPER_PROG_H
#define SANDBOXD_KEEPER_PROG_H

/* Exit statuses, documented in sandboxd-keeper(8). */
#define KEEPER_EXIT_OK		0	/* SIGTERM, grace expired, or nothing left to hold */
#define KEEPER_EXIT_FAIL	1	/* could not set up (socket, memfd, pid file) */
#define KEEPER_EXIT_USAGE	2	/* bad options */
#define KEEPER_EXIT_RUNNING	3	/* another keeper already serves this socket */

struct keeper_conf {
	char		*sock_path;
	char		*pid_path;
	const char	*log_file;
	unsigned int	 nslots;
	unsigned int	 grace_secs;
	int		 ready_fd;	/* written once listening, or -1 */
};

/* keeper_loop.c */
int	keeper_setup(const struct keeper_conf *, int, int);
int	keeper_serve(void);

/* keeper_pids.c: the pidfds of the daemon's processes (keeper_wire.h) */
struct keeper_pid_key;
unsigned int keeper_pids_count(void);
void	keeper_pids_raise_nofile(void);
void	keeper_pids_hold(const struct keeper_pid_key *, int);
void	keeper_pids_drop(const struct keeper_pid_key *);
int	keeper_pids_take(int, const struct keeper_pid_key *);
void	keeper_pids_release(void);

#endif /* SANDBOXD_KEEPER_PROG_H */
