/*
 * pidinfo.c: the exit status of a process that is not the daemon's child
 * (one re-adopted after a restart), which waitid cannot give.
 *
 * Two places keep it, and a pidfd opened before the exit reaches both:
 *
 * - while the process is a zombie (exited, its new parent has not reaped
 *   it yet): field 52 of /proc/<pid>/stat, exit_code, a wait status.  The
 *   pidfd is what makes reading by pid safe: a zombie's pid cannot be
 *   reused, and the start time is checked in case it was reaped
 *   meanwhile.  The kernel shows 0 there to a reader that may not ptrace
 *   the process, so a 0 counts only for a daemon with CAP_SYS_PTRACE;
 * - once it is reaped, by whoever: the pidfd itself answers
 *   ioctl(PIDFD_GET_INFO) with PIDFD_INFO_EXIT (Linux >= 6.15) if some
 *   pidfd of it was open at the reap.
 *
 * On older kernels the ioctl fails (ENOTTY, EINVAL), or (6.13, 6.14)
 * answers without an exit status and then ESRCH; that is said once in the
 * log and a process reaped before it was looked at stays at 255.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "procint.h"
#include "procmgr_test.h"

/*
 * The first version of the kernel's struct pidfd_info (uapi linux/pidfd.h,
 * PIDFD_INFO_SIZE_VER0, 64 bytes): Debian 12's headers predate it.  The
 * ioctl is extensible: a later kernel fills what this size holds.
 */
struct pidinfo_v0 {
	uint64_t	mask;
	uint64_t	cgroupid;
	uint32_t	pid, tgid, ppid;
	uint32_t	ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t		exit_code;	/* wait status, with PIDINFO_EXIT */
};

#define PIDINFO_IOCTL_MAGIC	0xFF
#define PIDINFO_GET		_IOWR(PIDINFO_IOCTL_MAGIC, 11, \
				    struct pidinfo_v0)
#define PIDINFO_EXIT		(1ULL << 3)	/* PIDFD_INFO_EXIT */

#define CAP_PTRACE_BIT		19		/* CAP_SYS_PTRACE */

_Static_assert(sizeof(struct pidinfo_v0) == 64, "pidfd_info version 0");

enum pidinfo_ioctl {
	PIDINFO_IOCTL_EXITED,	/* *wstatus set */
	PIDINFO_IOCTL_RUNS,	/* not reaped yet (or no exit info kept) */
	PIDINFO_IOCTL_GONE,	/* reaped, and the kernel kept no status */
	PIDINFO_IOCTL_NONE,	/* no such ioctl here */
};

static unsigned int	pidinfo_off;		/* PIDINFO_TEST_NO_* */
static bool		pidinfo_told_ioctl;	/* logged: no exit info */
static int		pidinfo_ptrace = -1;	/* CAP_SYS_PTRACE, once read */

/* Tests: leave out the sources named by flags (PIDINFO_TEST_NO_*). */
void
pidinfo_test_disable(unsigned int flags)
{
	pidinfo_off = flags;
}

/* Say once that this kernel keeps no exit status with a pidfd. */
static void
pidinfo_tell_missing(const char *why)
{
	if (pidinfo_told_ioctl)
		return;
	pidinfo_told_ioctl = true;
	log_info("procmgr: %s (it needs Linux 6.15): a re-adopted process "
	    "reaped before sandboxd reads its status is reported with status "
	    "255", why);
}

/* Ask the pidfd for the exit status its process left. */
static enum pidinfo_ioctl
pidinfo_ioctl(int pidfd, int *wstatus)
{
	struct pidinfo_v0	info;

	if (pidinfo_off & PIDINFO_TEST_NO_IOCTL)
		return (PIDINFO_IOCTL_NONE);
	memset(&info, 0, sizeof info);
	info.mask = PIDINFO_EXIT;
	if (ioctl(pidfd, PIDINFO_GET, &info) == -1) {
		if (errno == ESRCH) {
			pidinfo_tell_missing("this kernel keeps no exit "
			    "status with a pidfd");
			return (PIDINFO_IOCTL_GONE);
		}
		if (errno == ENOTTY || errno == EINVAL) {
			pidinfo_tell_missing("this kernel has no "
			    "PIDFD_GET_INFO");
			return (PIDINFO_IOCTL_NONE);
		}
		log_warn("%s: PIDFD_GET_INFO", __func__);
		return (PIDINFO_IOCTL_NONE);
	}
	if (!(info.mask & PIDINFO_EXIT))
		return (PIDINFO_IOCTL_RUNS);
	*wstatus = info.exit_code;
	return (PIDINFO_IOCTL_EXITED);
}

/* May this daemon ptrace any process (so /proc shows it exit codes)? */
static bool
pidinfo_may_ptrace(void)
{
	char		 line[256];
	uint64_t	 caps;
	FILE		*f;

	if (pidinfo_ptrace != -1)
		return (pidinfo_ptrace);
	pidinfo_ptrace = 0;
	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return (false);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "CapEff: %" SCNx64, &caps) == 1) {
			pidinfo_ptrace = (caps >> CAP_PTRACE_BIT) & 1;
			break;
		}
	fclose(f);
	return (pidinfo_ptrace);
}

/*
 * The zombie's own word, if it still is one: 0 with *wstatus set, 1 if
 * it is a zombie whose status /proc does not show this daemon, -1 if it
 * is gone (or is another process now).
 */
static int
pidinfo_zombie(pid_t pid, uint64_t start_time, int *wstatus)
{
	uint64_t	start;
	char		state;
	int		code;

	if (pidinfo_off & PIDINFO_TEST_NO_PROC)
		return (1);
	if (proc_read_exit_code(pid, &start, &state, &code) == -1 ||
	    start != start_time || state != 'Z')
		return (-1);
	if (code == 0 && !pidinfo_may_ptrace())
		return (1);
	*wstatus = code;
	return (0);
}

/*
 * The exit status of a process that is not our child and whose pidfd
 * became readable (it exited).  PIDINFO_EXITED: *wstatus is its wait
 * status.  PIDINFO_WAIT: not known yet, it should be once its parent
 * reaps it; ask again.  PIDINFO_UNKNOWN: it will never be known.
 */
enum pidinfo_result
pidinfo_exit(int pidfd, pid_t pid, uint64_t start_time, int *wstatus)
{
	enum pidinfo_ioctl	io;

	io = pidinfo_ioctl(pidfd, wstatus);
	if (io == PIDINFO_IOCTL_EXITED)
		return (PIDINFO_EXITED);
	if (io == PIDINFO_IOCTL_GONE)
		return (PIDINFO_UNKNOWN);
	switch (pidinfo_zombie(pid, start_time, wstatus)) {
	case 0:
		return (PIDINFO_EXITED);
	case 1:
		/* Only the ioctl can tell it, once the zombie is reaped. */
		return (io == PIDINFO_IOCTL_RUNS ? PIDINFO_WAIT :
		    PIDINFO_UNKNOWN);
	}
	/* Reaped between the two looks: the pidfd has it now, if ever. */
	if (io == PIDINFO_IOCTL_RUNS &&
	    pidinfo_ioctl(pidfd, wstatus) == PIDINFO_IOCTL_EXITED)
		return (PIDINFO_EXITED);
	return (PIDINFO_UNKNOWN);
}

/* A zombie's wait status from /proc alone (no pidfd); -1 if none. */
int
pidinfo_zombie_status(pid_t pid, uint64_t start_time, int *wstatus)
{
	return (pidinfo_zombie(pid, start_time, wstatus) == 0 ? 0 : -1);
}
