package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procStat returns the fields of /proc/<pid>/stat after the command name
// (index 0 = field 3, the state), or nil.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// procStartTime: field 22 of /proc/<pid>/stat ("" when the process is gone).
func procStartTime(pid int) string {
	f := procStat(pid)
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// procState: field 3 ("" when gone).
func procState(pid int) string {
	f := procStat(pid)
	if len(f) < 1 {
		return ""
	}
	return f[0]
}

// procRunning: exists and is not a zombie.
func procRunning(pid int) bool {
	st := procState(pid)
	return st != "" && st != "Z" && st != "X"
}

// poll asks done every 20 ms until it says yes or d has passed, and
// returns its last answer: /proc changes soon after a reply, not with it.
func poll(d time.Duration, done func() bool) bool {
	deadline := time.Now().Add(d)
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// waitGone polls until the process is gone or a zombie.
func waitGone(pid int, d time.Duration) bool {
	return poll(d, func() bool { return !procRunning(pid) })
}

// waitReaped polls until /proc/<pid> is gone altogether (reaped).
func waitReaped(pid int, startTime string, d time.Duration) bool {
	return poll(d, func() bool {
		st := procStartTime(pid)
		return st == "" || st != startTime
	})
}

func procCmdline(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

func procExe(pid int) string {
	s, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return s
}

// procIgnores: whether the process ignores signal sig (SigIgn in status).
func procIgnores(pid int, sig syscall.Signal) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "SigIgn:") {
			v, err := strconv.ParseUint(strings.TrimSpace(line[7:]), 16, 64)
			return err == nil && v&(1<<(uint(sig)-1)) != 0
		}
	}
	return false
}

// nsIno: the namespace link of a process, e.g. "uts:[4026531838]".
func nsLink(pid int, ns string) string {
	p := "/proc/self/ns/" + ns
	if pid > 0 {
		p = filepath.Join("/proc", strconv.Itoa(pid), "ns", ns)
	}
	s, _ := os.Readlink(p)
	return s
}

func killPid(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }

// waitCmdline polls until the process's argv is want (the reply to Start
// may come before exec is visible in /proc); returns the last argv seen.
func waitCmdline(pid int, want []string, d time.Duration) []string {
	var got []string
	poll(d, func() bool { got = procCmdline(pid); return reflect.DeepEqual(got, want) })
	return got
}

// waitExe polls until /proc/<pid>/exe has the given base name.
func waitExe(pid int, base string, d time.Duration) string {
	var got string
	poll(d, func() bool { got = procExe(pid); return filepath.Base(got) == base })
	return got
}
