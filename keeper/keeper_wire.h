/*
 * keeper_wire.h: the messages between the daemon (keeper_client.c) and
 * sandboxd-keeper (keeper_main.c, keeper_loop.c), private to this module.
 *
 * Both ends are built from one tree, so a message is a plain struct sent
 * as one SOCK_SEQPACKET packet (never split, never merged), beginning
 * with a header {type, version}.  The receiver checks the length of every
 * message against its type before believing anything in it, and refuses
 * a message that carries descriptors it should not, or whose descriptors
 * were cut short (MSG_CTRUNC): those that did arrive are closed.
 *
 *	daemon				keeper
 *	HELLO {take}		->
 *				<-	WELCOME {nslots, slot_size} + memfd
 *					(or REFUSED {reason}, and the close)
 *	TAKE {from}		->	(only after HELLO with take)
 *				<-	FDS {n, slots[n]} + n fds (n <= 64,
 *					slots >= from, ascending), or END
 *	HOLD {slot} + 1 fd	->	(no answer)
 *	DROP {slot}		->	(no answer)
 *	MAP			->	(a re-executed daemon: the memfd again)
 *				<-	WELCOME + memfd
 *
 * TAKE is pulled one batch at a time so that no more than 64 descriptors
 * are ever in flight and the keeper never waits for the daemon to read.
 *
 * The same for the pidfds of the processes the daemon watches (kept so
 * that their exit statuses outlive a crash; keeper_pids.c):
 *
 *	HOLD_PID {pid, start} + fd ->	(no answer; replaces an earlier one)
 *	DROP_PID {pid, start}	->	(no answer)
 *	TAKE_PIDS {pid, start}	->	(the last key received; 0, 0 first)
 *				<-	PIDS {n, keys[n]} + n fds (n <= 64,
 *					keys after it, ascending), or END
 */
#ifndef SANDBOXD_KEEPER_WIRE_H
#define SANDBOXD_KEEPER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define KEEPER_WIRE_VERSION	1
#define KEEPER_FDS_MAX		64	/* descriptors in one FDS message */
#define KEEPER_REASON_MAX	128
#define KEEPER_SOCK_NAME	"keeper.sock"
#define KEEPER_PID_NAME		"keeper.pid"

enum keeper_msg_type {
	KEEPER_MSG_HELLO = 1,
	KEEPER_MSG_WELCOME,
	KEEPER_MSG_REFUSED,
	KEEPER_MSG_TAKE,
	KEEPER_MSG_FDS,
	KEEPER_MSG_END,
	KEEPER_MSG_HOLD,
	KEEPER_MSG_DROP,
	KEEPER_MSG_MAP,
	KEEPER_MSG_HOLD_PID,
	KEEPER_MSG_DROP_PID,
	KEEPER_MSG_TAKE_PIDS,
	KEEPER_MSG_PIDS,
};

struct keeper_hdr {
	uint32_t	type;		/* KEEPER_MSG_* */
	uint32_t	version;	/* KEEPER_WIRE_VERSION */
};

struct keeper_msg_hello {
	struct keeper_hdr hdr;
	uint32_t	take;		/* 0 or 1 */
	uint32_t	pid;		/* the daemon's, for the keeper's log */
};

struct keeper_msg_welcome {
	struct keeper_hdr hdr;
	uint32_t	nslots;
	uint32_t	slot_size;	/* sizeof(struct keeper_slot) */
	uint32_t	nheld;		/* descriptors held, for the daemon's log */
	uint32_t	pad;
};

struct keeper_msg_refused {
	struct keeper_hdr hdr;
	char		reason[KEEPER_REASON_MAX];	/* NUL-terminated */
};

/* TAKE, HOLD, DROP: a slot number. */
struct keeper_msg_slot {
	struct keeper_hdr hdr;
	uint32_t	slot;
	uint32_t	pad;
};

struct keeper_msg_fds {
	struct keeper_hdr hdr;
	uint32_t	n;		/* 1..KEEPER_FDS_MAX, as many fds attached */
	uint32_t	pad;
	uint32_t	slots[KEEPER_FDS_MAX];	/* only n sent */
};

/* A process by pid and start time (HOLD_PID, DROP_PID, TAKE_PIDS). */
struct keeper_pid_key {
	uint32_t	pid;
	uint32_t	pad;
	uint64_t	start_time;	/* /proc/<pid>/stat field 22 */
};

struct keeper_msg_pid {
	struct keeper_hdr hdr;
	struct keeper_pid_key key;
};

struct keeper_msg_pids {
	struct keeper_hdr hdr;
	uint32_t	n;		/* 1..KEEPER_FDS_MAX, as many fds attached */
	uint32_t	pad;
	struct keeper_pid_key keys[KEEPER_FDS_MAX];	/* only n sent */
};

/* Any message, as received. */
union keeper_msg {
	struct keeper_hdr		hdr;
	struct keeper_msg_hello		hello;
	struct keeper_msg_welcome	welcome;
	struct keeper_msg_refused	refused;
	struct keeper_msg_slot		slot;
	struct keeper_msg_fds		fds;
	struct keeper_msg_pid		pid;
	struct keeper_msg_pids		pids;
};

/* One received packet: the message, its length, what came with it. */
struct keeper_packet {
	union keeper_msg m;
	size_t		len;
	int		fds[KEEPER_FDS_MAX];
	int		nfds;
};

/* keeper_wire.c */
void	keeper_msg_init(struct keeper_hdr *, uint32_t);
size_t	keeper_fds_len(uint32_t);
size_t	keeper_pids_len(uint32_t);
int	keeper_msg_send(int, const void *, size_t, const int *, int);
int	keeper_msg_recv(int, struct keeper_packet *);
int	keeper_msg_check(const struct keeper_packet *, const char **);
void	keeper_packet_close(struct keeper_packet *);

#endif /* SANDBOXD_KEEPER_WIRE_H */
