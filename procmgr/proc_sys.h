/*
 * proc_sys.h: system calls for the child of a spawn, made without libc.
 *
 * The child runs in the daemon's memory (CLONE_VM, see proc_clone.c)
 * while the daemon goes on: it shares the daemon's thread pointer, so
 * errno, and every other thread-local or global libc keeps, is the
 * daemon's.  These wrappers return the kernel's answer as it is: the
 * result, or -errno, and touch nothing but registers and what they are
 * given.  Where no wrapper is written for the architecture, libc's
 * syscall(2) stands in and PROC_SYS_RAW is 0: the child is then cloned
 * without CLONE_VM, as a copy that owns its errno.
 */
#ifndef SANDBOXD_PROC_SYS_H
#define SANDBOXD_PROC_SYS_H

#include <sys/syscall.h>

#include <errno.h>
#include <unistd.h>

/*
 * Code that runs in the child: no sanitizer instrumentation, whose
 * runtime keeps state of its own (shadow memory, reports through libc)
 * that the child must not write.
 */
#define PROC_CHILD_CODE \
	__attribute__((__no_sanitize__("address", "undefined")))

#if defined(__x86_64__)
#define PROC_SYS_RAW	1
static inline PROC_CHILD_CODE __attribute__((__always_inline__)) long
proc_sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long	r10 __asm__("r10") = d;
	register long	r8 __asm__("r8") = e;
	register long	r9 __asm__("r9") = f;
	long		ret;

	__asm__ volatile ("syscall"
	    : "=a" (ret)
	    : "a" (n), "D" (a), "S" (b), "d" (c), "r" (r10), "r" (r8),
	      "r" (r9)
	    : "rcx", "r11", "memory");
	return (ret);
}
#elif defined(__aarch64__)
#define PROC_SYS_RAW	1
static inline PROC_CHILD_CODE __attribute__((__always_inline__)) long
proc_sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long	x8 __asm__("x8") = n;
	register long	x0 __asm__("x0") = a;
	register long	x1 __asm__("x1") = b;
	register long	x2 __asm__("x2") = c;
	register long	x3 __asm__("x3") = d;
	register long	x4 __asm__("x4") = e;
	register long	x5 __asm__("x5") = f;

	__asm__ volatile ("svc 0"
	    : "+r" (x0)
	    : "r" (x8), "r" (x1), "r" (x2), "r" (x3), "r" (x4), "r" (x5)
	    : "memory", "cc");
	return (x0);
}
#else
#define PROC_SYS_RAW	0
static inline long
proc_sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long	ret = syscall(n, a, b, c, d, e, f);

	return (ret == -1 ? -errno : ret);
}
#endif

#define PROC_SYS(n, a, b, c, d) \
	proc_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

#endif /* SANDBOXD_PROC_SYS_H */
