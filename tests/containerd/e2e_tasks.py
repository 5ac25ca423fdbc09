#!/usr/bin/python3
"""End-to-end test of containers in sandboxd pods: containerd 1.7.13 (CRI,
sandbox API, shim mode), crictl 1.26.1 and Debian's runc against a real
sandboxd, which serves containerd.task.v2.Task for every container.

    e2e_tasks.py <sandboxd-build-dir> <containerd-bin-dir>

Started by run.sh after e2e.py (E2E_TASKS=0 skips it, E2E_TASKS=only runs
it alone).  It shares e2e.py's World (one sandboxd, one containerd, all
under a temp dir) and adds the images: scripts/mkimage.sh builds busybox
and pause image-layout tars, imported with ctr into k8s.io.

Cases (E2E_ONLY=t1,t3 runs some):
  t1  runp, create, start a busybox container; ps, inspect (RUNNING, pid),
      logs, hostname and netns of the pod; exec with and without -t and -i,
      exit codes; stats; stop (SIGTERM ignored: SIGKILL at the timeout);
      rm; a container exiting by itself is EXITED with its code.
  t2  containerd restarted while a container runs: still RUNNING, same
      pid; sandboxd killed with SIGKILL and restarted while containerd is
      down: the same, and stoppable; sandboxd and its keeper killed under
      a running containerd (which then drops the pod, as for a dead Go
      shim): nothing left once sandboxd is back.
  t3  E2E_TASK_PODS (20) pods x 3 containers started and removed in
      parallel; no process, mount, cgroup, FIFO or descriptor left.
  t4  sandboxd SIGKILLed and restarted while containerd keeps running,
      its keeper holding containerd's connections: the container stays
      RUNNING with its pid, exec works, stop ends it through containerd's
      original Wait (dispatched again by the new daemon: the real status,
      143 or 137, though the process is no child of it), rm, stopp, rmp;
      containerd never logs "shim disconnected" for the pod or the
      container.
  oom containers past a 32 MiB memory limit: an OOM-killed child gives
      the reason OOMKilled while the container runs; an OOM-killed init
      exits 137, reason OOMKilled, TaskOOM queued before TaskExit.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
from e2e import (Abort, Case, CheckError, Results, SetupError, one_line,  # noqa: E402
                 parallel, run, summarize_errors, wait_until)

BUSYBOX = "localhost/sandboxd/busybox:latest"
PAUSE = "localhost/sandboxd/pause:latest"
TASK_PODS = e2e.env_int("E2E_TASK_PODS", 20)


class TaskWorld(e2e.World):
    """e2e's World plus images, containers and their leak checks."""

    def __init__(self, build, cbin, top, images):
        super().__init__(build, cbin, top)
        self.images = images
        self.ctr_bin = os.path.join(cbin, "ctr")
        self.created = set()    # every container id made, for the cgroup check

    def start_containerd(self):
        super().start_containerd()
        for tar in self.images:
            rc, out, err = run([self.ctr_bin, "--address", self.grpc, "-n", e2e.K8S_NS,
                                "images", "import", "--snapshotter", "overlayfs", tar],
                               timeout=60)
            if rc != 0:
                raise SetupError("ctr images import %s: %s" % (tar, one_line(err or out)))

    def crictl_ns(self, *args, timeout=None, input=None):
        """crictl from inside containerd's network namespace, where its
        streaming server (exec, attach) listens on 127.0.0.1."""
        cmd = ["nsenter", "--net=/proc/%d/ns/net" % self.ctrd.pid, self.crictl_bin,
               "--config", self.crictl_conf, "--timeout", "%ds" % e2e.CRICTL_TIMEOUT] + list(args)
        return run(cmd, timeout=timeout or e2e.CRICTL_TIMEOUT + 15, input=input)

    def crictl_tty(self, *args, input=b"", timeout=40):
        """crictl_ns with a pseudo-terminal as its stdin and stdout (exec
        -t insists on one): (exit status, everything it wrote)."""
        import pty
        import select
        master, slave = pty.openpty()
        cmd = ["nsenter", "--net=/proc/%d/ns/net" % self.ctrd.pid, self.crictl_bin,
               "--config", self.crictl_conf, "--timeout", "%ds" % e2e.CRICTL_TIMEOUT] + list(args)
        p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True)
        os.close(slave)
        buf, sent, end = b"", False, time.monotonic() + timeout
        while time.monotonic() < end:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
                if not sent and b"is-a-tty" in buf:
                    os.write(master, input)
                    sent = True
            elif p.poll() is not None:
                break
        try:
            rc = p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        os.close(master)
        return rc, buf.decode(errors="replace")

    def ctr_config(self, pod, name, command, tty=False, stdin=False):
        cfg = {
            "metadata": {"name": name},
            "image": {"image": BUSYBOX},
            "command": command,
            "log_path": "%s.log" % name,
            "tty": tty,
            "stdin": stdin,
            "linux": {},
        }
        path = os.path.join(self.pod_dir, "%s-%s.g%d.json" % (pod[:12], name, self.gen))
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path

    def teardown(self):
        """Containers a failed case left are removed through runc first."""
        for cid in self.runc_containers() if self.gen else []:
            run(["runc", "--root", self.runc_root(), "delete", "--force", cid], timeout=20)
        super().teardown()

    def pod_cfg_path(self, name):
        return os.path.join(self.pod_dir, "%s.g%d.json" % (name, self.gen))

    def run_ctr(self, pod, podname, name, command, start=True, **kw):
        """(container id, None) or (None, error)."""
        rc, out, err = self.crictl("create", pod, self.ctr_config(pod, name, command, **kw),
                                   self.pod_cfg_path(podname))
        if rc != 0 or not out.strip():
            return None, "crictl create %s: rc=%s: %s" % (name, rc, one_line(err or out))
        cid = out.strip().splitlines()[-1]
        self.created.add(cid)
        if start:
            rc, out, err = self.crictl("start", cid)
            if rc != 0:
                return None, "crictl start %s: rc=%s: %s" % (name, rc, one_line(err or out))
        return cid, None

    def inspect(self, cid):
        """(status dict, info dict) of a container, or raise CheckError."""
        rc, out, err = self.crictl("inspect", "-o", "json", cid)
        if rc != 0:
            raise CheckError("crictl inspect %s: rc=%s: %s" % (cid[:12], rc, one_line(err or out)))
        doc = json.loads(out)
        return doc.get("status", {}), doc.get("info", {}) or {}

    def state(self, cid):
        return self.inspect(cid)[0].get("state")

    def ctr_pid(self, cid):
        return int(self.inspect(cid)[1].get("pid") or 0)

    def runc_root(self):
        return os.path.join(self.sd_run, "runc")

    def runc_containers(self):
        try:
            return sorted(os.listdir(self.runc_root()))
        except OSError:
            return []

    def task_leaks(self):
        """What containers left: runc state, sandboxd's children other than
        its helpers, rootfs mounts, CRI's FIFOs, the containers' cgroups
        (runc makes them under k8s.io/ of each hierarchy)."""
        out = []
        r = self.runc_containers()
        if r:
            out.append("runc containers: %s" % r)
        kids = []
        for pid in e2e.all_pids():
            st = e2e.proc_stat(pid)
            if st and self.sd is not None and st[2] == self.sd.pid and \
                    not st[0].startswith("sandboxd-"):
                kids.append("%d(%s,%s)" % (pid, st[0], st[1]))
        if kids:
            out.append("children of sandboxd: %s" % kids)
        m = [l.split()[4] for l in self.mounts() if "/rootfs" in l and self.top in l]
        if m:
            out.append("rootfs mounts: %s" % m[:5])
        cgs = []
        for top in ("/sys/fs/cgroup", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory",
                    "/sys/fs/cgroup/unified"):
            d = os.path.join(top, e2e.K8S_NS)
            try:
                cgs += [os.path.join(d, x) for x in os.listdir(d) if x in self.created]
            except OSError:
                pass
        if cgs:
            out.append("cgroups: %s" % cgs[:5])
        fifos = []
        for d, _, files in os.walk(os.path.join(self.ctrd_state)):
            fifos += [f for f in files if f.endswith(("-stdout", "-stderr", "-stdin"))]
        if fifos:
            out.append("FIFOs in containerd's state: %d" % len(fifos))
        return out


def parse_cmd_output(rc, out, err):
    return "rc=%s out=%r err=%r" % (rc, one_line(out, 120), one_line(err, 200))


def case_t1(w, R):
    """One pod, its containers through their whole life."""
    w.fresh()
    c = Case(R, ["t1.runp", "t1.create-start", "t1.ps", "t1.inspect-running", "t1.logs",
                 "t1.hostname", "t1.netns", "t1.exec", "t1.exec-exit-code", "t1.exec-i",
                 "t1.exec-t", "t1.stats", "t1.stop-sigkill", "t1.rm", "t1.exits-by-itself",
                 "t1.no-leak"])
    print("# case t1: one container's life", flush=True)
    try:
        pod, err = w.runp("t1pod", hostname="t1-host")
        c.require("t1.runp", pod is not None, err)
        # It ignores SIGTERM: stop must end it with SIGKILL at the timeout.
        cid, err = w.run_ctr(pod, "t1pod", "web",
                             ["sh", "-c", "trap '' TERM; echo hello from web; "
                              "while :; do sleep 1; done"])
        c.require("t1.create-start", cid is not None, err)
        rc, out, err = w.crictl("ps", "-o", "json")
        ids = [x["id"] for x in json.loads(out).get("containers", [])] if rc == 0 else []
        c.check("t1.ps", cid in ids, "crictl ps: %s" % parse_cmd_output(rc, out, err))
        status, info = w.inspect(cid)
        pid = int(info.get("pid") or 0)
        c.check("t1.inspect-running", status.get("state") == "CONTAINER_RUNNING" and pid > 0 and
                os.path.exists("/proc/%d" % pid),
                "state %s pid %s" % (status.get("state"), pid))
        got = [None]

        def logged():
            rc, out, err = w.crictl("logs", cid)
            got[0] = (rc, out, err)
            return rc == 0 and "hello from web" in out
        c.check("t1.logs", wait_until(logged, 10), parse_cmd_output(*got[0]))
        rc, out, err = w.crictl_ns("exec", cid, "hostname")
        c.check("t1.hostname", rc == 0 and out.strip() == "t1-host", parse_cmd_output(rc, out, err))
        pause = w.pod_pid(pod)
        c.check("t1.netns", pid > 0 and e2e.ns_id("/proc/%d/ns/net" % pid) ==
                e2e.ns_id("/proc/%d/ns/net" % pause),
                "container net %s, pause net %s" % (e2e.ns_id("/proc/%d/ns/net" % pid),
                                                    e2e.ns_id("/proc/%d/ns/net" % pause)))
        rc, out, err = w.crictl_ns("exec", cid, "echo", "exec-ok")
        c.check("t1.exec", rc == 0 and out.strip() == "exec-ok", parse_cmd_output(rc, out, err))
        # crictl exits 1 and names the process's exit code.
        rc, out, err = w.crictl_ns("exec", cid, "sh", "-c", "exit 7")
        rc2, out2, err2 = w.crictl_ns("exec", "--sync", cid, "sh", "-c", "exit 5")
        c.check("t1.exec-exit-code", rc != 0 and "exit code 7" in err and
                rc2 != 0 and "exited with 5" in err2,
                "exit 7: %s; --sync exit 5: %s" % (parse_cmd_output(rc, out, err),
                                                    parse_cmd_output(rc2, out2, err2)))
        rc, out, err = w.crictl_ns("exec", "-i", cid, "sh", "-c", "read x; echo got-$x",
                                   input="stdin-line\n")
        c.check("t1.exec-i", rc == 0 and "got-stdin-line" in out, parse_cmd_output(rc, out, err))
        rc, out = w.crictl_tty("exec", "-i", "-t", cid, "sh", "-c",
                               "test -t 0 && echo is-a-tty; read x; echo got-$x; exit 3",
                               input=b"typed\r")
        c.check("t1.exec-t", rc != 0 and "is-a-tty" in out and "got-typed" in out and
                "exit code 3" in out, "rc=%s out=%r" % (rc, one_line(out, 300)))
        rc, out, err = w.crictl("stats", "-o", "json", "--id", cid)
        stats = json.loads(out).get("stats", []) if rc == 0 else []
        c.check("t1.stats", len(stats) == 1 and "cpu" in stats[0],
                parse_cmd_output(rc, out, err))
        t0 = time.monotonic()
        rc, out, err = w.crictl("stop", "--timeout", "2", cid)
        took = time.monotonic() - t0
        st, _ = w.inspect(cid)
        c.check("t1.stop-sigkill", rc == 0 and st.get("state") == "CONTAINER_EXITED" and
                st.get("exitCode") == 137 and 1.5 <= took < 15,
                "%s state %s exit %s after %.1fs" % (parse_cmd_output(rc, out, err),
                                                      st.get("state"), st.get("exitCode"), took))
        rc, out, err = w.crictl("rm", cid)
        rc2, out2, _ = w.crictl("ps", "-a", "-q")
        c.check("t1.rm", rc == 0 and cid not in out2, parse_cmd_output(rc, out, err))
        cid2, err = w.run_ctr(pod, "t1pod", "quits", ["sh", "-c", "echo bye; exit 42"])
        ok = cid2 is not None and wait_until(lambda: w.state(cid2) == "CONTAINER_EXITED", 10)
        st = w.inspect(cid2)[0] if cid2 else {}
        c.check("t1.exits-by-itself", ok and st.get("exitCode") == 42,
                err or "state %s exit %s" % (st.get("state"), st.get("exitCode")))
        if cid2:
            w.crictl("rm", cid2)
        err = e2e.stop_remove(w, pod)
        found = w.task_leaks() + (w.leaks() or [])
        c.check("t1.no-leak", err is None and not found, err or "; ".join(found))
    except (Abort, CheckError) as e:
        c.finish(str(e))
    c.finish("case ended early")
    return c.failed


def pid_dead(pid):
    st = e2e.proc_stat(pid)
    return st is None or st[1] == "Z"


def case_t2(w, R):
    """A running container through restarts.  containerd restarted: it
    reconnects and finds it running.  sandboxd SIGKILLed and restarted
    while containerd is down: the same once containerd is back (sandboxd
    re-adopted it).  sandboxd SIGKILLed under a running containerd:
    containerd drops the pod as it does when a Go shim dies, and sandboxd,
    once back, removes the container it forgot: nothing is left."""
    w.fresh()
    c = Case(R, ["t2.run", "t2.ctrd-restart-running", "t2.ctrd-restart-same-pid",
                 "t2.sd-restart-running", "t2.sd-restart-same-pid", "t2.stop-after-restarts",
                 "t2.no-leak", "t2.crash-cleaned"])
    print("# case t2: containerd restart, sandboxd SIGKILL", flush=True)
    try:
        pod, err = w.runp("t2pod")
        c.require("t2.run", pod is not None, err)
        cid, err = w.run_ctr(pod, "t2pod", "app", ["sleep", "1000"])
        c.require("t2.run", cid is not None, err)
        pid = w.ctr_pid(cid)
        w.stop_containerd()
        w.start_containerd()
        c.check("t2.ctrd-restart-running", w.state(cid) == "CONTAINER_RUNNING",
                "state %s" % w.state(cid))
        c.check("t2.ctrd-restart-same-pid", w.ctr_pid(cid) == pid, "pid %s then %s"
                % (pid, w.ctr_pid(cid)))
        w.stop_containerd()
        w.kill_sandboxd(signal.SIGKILL)
        w.start_sandboxd()
        w.start_containerd()
        c.check("t2.sd-restart-running", w.state(cid) == "CONTAINER_RUNNING",
                "state %s" % w.state(cid))
        c.check("t2.sd-restart-same-pid", w.ctr_pid(cid) == pid and not pid_dead(pid),
                "pid %s then %s" % (pid, w.ctr_pid(cid)))
        rc, out, err = w.crictl("stop", "--timeout", "5", cid)
        gone = wait_until(lambda: pid_dead(pid), 10)
        c.check("t2.stop-after-restarts", rc == 0 and gone and
                w.state(cid) == "CONTAINER_EXITED",
                "%s; pid %d gone: %s" % (parse_cmd_output(rc, out, err), pid, gone))
        w.crictl("rm", cid)
        err = e2e.stop_remove(w, pod)
        found = w.task_leaks() + (w.leaks() or [])
        c.check("t2.no-leak", err is None and not found, err or "; ".join(found))
        # A crash under a running containerd, in a pod of its own.
        pod, err = w.runp("t2crash")
        c.require("t2.crash-cleaned", pod is not None, err)
        cid, err = w.run_ctr(pod, "t2crash", "app", ["sleep", "1000"])
        c.require("t2.crash-cleaned", cid is not None, err)
        pid = w.ctr_pid(cid)
        w.kill_sandboxd(signal.SIGKILL)
        w.kill_keeper()     # else containerd would not notice (case t4)
        time.sleep(2)
        w.start_sandboxd()
        time.sleep(3)
        w.crictl("stop", "--timeout", "2", cid)
        w.crictl("rm", cid)
        err = e2e.stop_remove(w, pod)
        gone = wait_until(lambda: pid_dead(pid), 15)
        left = w.task_leaks()
        c.check("t2.crash-cleaned", gone and not left,
                "container pid %d %s; %s" % (pid, "gone" if gone else "still runs",
                                             "; ".join(left)))
        # The pod itself after such a crash is case 6 of e2e.py's business;
        # containerd's StopPodSandbox may fail here, leaving CRI's netns.
        if err or w.leaks(wait=1):
            print("# t2: pod after the crash (not a container matter): %s; %s"
                  % (err, "; ".join(w.leaks(wait=1))), flush=True)
    except (Abort, CheckError) as e:
        c.finish(str(e))
    c.finish("case ended early")
    return c.failed


def case_t3(w, R):
    """Many pods with three containers each, in parallel, then removed."""
    w.fresh()
    n = TASK_PODS
    c = Case(R, ["t3.start", "t3.running", "t3.remove", "t3.no-leak", "t3.fds"])
    print("# case t3: %d pods x 3 containers in parallel" % n, flush=True)
    try:
        fds0 = w.fd_count()

        def up(i):
            name = "t3p%d" % i
            pod, err = w.runp(name)
            if pod is None:
                return None, err
            cids = []
            for j in range(3):
                cid, err = w.run_ctr(pod, name, "c%d" % j, ["sleep", "1000"])
                if cid is None:
                    return (pod, cids), err
                cids.append(cid)
            return (pod, cids), None
        t0 = time.monotonic()
        res = parallel(up, range(n))
        took = time.monotonic() - t0
        errs = [e for _, e in res if e]
        c.check("t3.start", not errs, summarize_errors(errs))
        print("# %d pods x 3 containers up in %.1fs" % (n, took), flush=True)
        all_c = [cid for r, _ in res if r for cid in r[1]]
        rc, out, err = w.crictl("ps", "-o", "json")
        running = {x["id"] for x in json.loads(out).get("containers", [])
                   if x.get("state") == "CONTAINER_RUNNING"} if rc == 0 else set()
        c.check("t3.running", set(all_c) <= running and len(all_c) == 3 * n,
                "%d of %d running" % (len(set(all_c) & running), 3 * n))

        def down(r):
            pod, cids = r
            for cid in cids:
                rc, out, err = w.crictl("stop", "--timeout", "2", cid)
                if rc != 0:
                    return "stop %s: %s" % (cid[:12], one_line(err or out))
                rc, out, err = w.crictl("rm", cid)
                if rc != 0:
                    return "rm %s: %s" % (cid[:12], one_line(err or out))
            return e2e.stop_remove(w, pod)
        errs = parallel(down, [r for r, _ in res if r])
        c.check("t3.remove", not any(errs), summarize_errors(errs))
        found = w.task_leaks() + (w.leaks() or [])
        c.check("t3.no-leak", not found, "; ".join(found))
        fds = [None]

        def settled():
            fds[0] = w.fd_count()
            return fds[0] is not None and fds0 is not None and fds[0] <= fds0 + 2
        c.check("t3.fds", wait_until(settled, 10), "sandboxd fds %s before, %s after"
                % (fds0, fds[0]))
    except (Abort, CheckError) as e:
        c.finish(str(e))
    c.finish("case ended early")
    return c.failed


def case_t4(w, R):
    """sandboxd SIGKILLed and restarted under a running containerd, with
    its keeper: containerd keeps its connections and notices nothing."""
    w.fresh()
    c = Case(R, ["t4.run", "t4.keeper-runs", "t4.running-after", "t4.same-pid", "t4.resumed",
                 "t4.exec", "t4.stop-exit-code", "t4.rm", "t4.containerd-unaware",
                 "t4.stopp-rmp", "t4.no-leak"])
    print("# case t4: sandboxd SIGKILL under a running containerd, keeper on", flush=True)
    try:
        pod, err = w.runp("t4pod")
        c.require("t4.run", pod is not None, err)
        cid, err = w.run_ctr(pod, "t4pod", "app", ["sleep", "1000"])
        c.require("t4.run", cid is not None, err)
        pid = w.ctr_pid(cid)
        c.require("t4.keeper-runs", w.keeper_pid() is not None, "no sandboxd-keeper runs")
        w.kill_sandboxd(signal.SIGKILL)
        time.sleep(1)
        w.start_sandboxd()
        c.check("t4.resumed", wait_until(
            lambda: any("keeper: resumed" in l for l in e2e.tail(w.sd_log, 400)), 5),
            "no \"keeper: resumed\" in sandboxd's log")
        time.sleep(2)       # containerd would have dropped the task by now
        c.check("t4.running-after", w.state(cid) == "CONTAINER_RUNNING",
                "state %s" % w.state(cid))
        c.check("t4.same-pid", w.ctr_pid(cid) == pid and not pid_dead(pid),
                "pid %s then %s" % (pid, w.ctr_pid(cid)))
        rc, out, err = w.crictl_ns("exec", cid, "sh", "-c", "echo t4-exec; exit 3")
        # crictl exits 1 and names the command's exit code.
        c.check("t4.exec", rc != 0 and "t4-exec" in out and "exit code 3" in err,
                parse_cmd_output(rc, out, err))
        rc, out, err = w.crictl("stop", "--timeout", "5", cid)
        gone = wait_until(lambda: pid_dead(pid), 10)
        st, _ = w.inspect(cid)
        # The restarted daemon re-adopted the container's init, which is
        # no child of it, and still reads its real status (sandboxd(8)):
        # SIGTERM's 143 (seen here), or SIGKILL's 137 at the timeout; not
        # the 255 of an unknown status.
        c.check("t4.stop-exit-code", rc == 0 and gone and
                st.get("state") == "CONTAINER_EXITED" and
                st.get("exitCode") in (128 + 15, 128 + 9),
                "%s; pid %d gone: %s; state %s exit code %s" % (
                    parse_cmd_output(rc, out, err), pid, gone, st.get("state"),
                    st.get("exitCode")))
        rc, out, err = w.crictl("rm", cid)
        c.check("t4.rm", rc == 0, parse_cmd_output(rc, out, err))
        # Before rmp, which closes the pod's connection (and containerd
        # then logs "shim disconnected" as always).
        lines = e2e.shim_disconnects(w, [pod, cid])
        c.check("t4.containerd-unaware", not lines, one_line("; ".join(lines)))
        err = e2e.stop_remove(w, pod)
        c.check("t4.stopp-rmp", err is None, err)
        found = w.task_leaks() + (w.leaks() or [])
        c.check("t4.no-leak", not found, "; ".join(found))
    except (Abort, CheckError) as e:
        c.finish(str(e))
    c.finish("case ended early")
    return c.failed


def build_images(top):
    here = os.path.dirname(os.path.abspath(__file__))
    mk = os.path.join(here, "..", "..", "scripts", "mkimage.sh")
    out = []
    for kind in ("busybox", "pause"):
        tar = os.path.join(top, "%s.tar" % kind)
        rc, o, e = run([mk, kind, tar], timeout=60)
        if rc != 0:
            raise SetupError("mkimage.sh %s: %s" % (kind, one_line(e or o)))
        out.append(tar)
    return out


def case_oom(w, R):
    """Containers past their memory limit (32 MiB).  One whose child is
    OOM-killed keeps running, and CRI gives the reason OOMKilled already
    (the live watch, not the look at the exit).  One whose init is
    OOM-killed exits 137 with reason OOMKilled, and sandboxd queued its
    TaskOOM before its TaskExit (sandboxd's debug log).  One started
    before a SIGUSR2 re-exec of sandboxd is still watched after it: an
    exec OOM-killed in it gives the reason OOMKilled."""
    w.fresh()
    c = Case(R, ["oom.run", "oom.limit", "oom.live-reason", "oom.init-exited",
                 "oom.init-reason", "oom.before-exit", "oom.readopted-reason",
                 "oom.no-leak"])
    print("# case oom: containers past their memory limit", flush=True)
    limit = 32 << 20

    def start(pod, name, command):
        path = w.ctr_config(pod, name, command)
        with open(path) as f:
            cfg = json.load(f)
        cfg["linux"]["resources"] = {"memory_limit_in_bytes": limit}
        with open(path, "w") as f:
            json.dump(cfg, f)
        rc, out, err = w.crictl("create", pod, path, w.pod_cfg_path("oompod"))
        if rc != 0 or not out.strip():
            return None, "crictl create %s: %s" % (name, parse_cmd_output(rc, out, err))
        cid = out.strip().splitlines()[-1]
        w.created.add(cid)
        rc, out, err = w.crictl("start", cid)
        if rc != 0:
            return None, "crictl start %s: %s" % (name, parse_cmd_output(rc, out, err))
        return cid, None

    def memory_limit(pid):
        """The limit of pid's memory cgroup, as runc set it (v1 or v2)."""
        with open("/proc/%d/cgroup" % pid) as f:
            lines = [l.strip().split(":", 2) for l in f]
        for _, ctl, path in lines:
            if "memory" in ctl.split(","):
                with open("/sys/fs/cgroup/memory%s/memory.limit_in_bytes" % path) as f:
                    return int(f.read())
        for _, ctl, path in lines:
            if ctl == "":
                with open("/sys/fs/cgroup%s/memory.max" % path) as f:
                    return int(f.read())
        return None

    def topics(cid):
        """The task topics sandboxd queued for cid, in order."""
        out = []
        with open(w.sd_log, errors="replace") as f:
            for line in f:
                if "/%s: /tasks/" % cid in line and "after the commit" in line:
                    out.append(line.split(": /tasks/")[1].split()[0])
        return out

    try:
        pod, err = w.runp("oompod")
        c.require("oom.run", pod is not None, err)
        live, err = start(pod, "child-hog", ["sh", "-c", "sleep 2; tail /dev/zero; sleep 1000"])
        c.require("oom.run", live is not None, err)
        pid = w.ctr_pid(live)
        got, why = None, ""
        try:
            got = memory_limit(pid)
        except (OSError, ValueError) as e:
            why = str(e)
        c.check("oom.limit", got == limit, "pid %d: memory limit %s %s" % (pid, got, why))
        st = [{}]

        def reason_oom(cid):
            st[0] = w.inspect(cid)[0]
            return st[0].get("reason") == "OOMKilled"
        ok = wait_until(lambda: reason_oom(live), 30, interval=0.5)
        c.check("oom.live-reason", ok and st[0].get("state") == "CONTAINER_RUNNING",
                "state %s reason %r" % (st[0].get("state"), st[0].get("reason")))
        init, err = start(pod, "init-hog", ["tail", "/dev/zero"])
        c.require("oom.init-exited", init is not None, err)
        ok = wait_until(lambda: w.state(init) == "CONTAINER_EXITED", 30, interval=0.5)
        st[0] = w.inspect(init)[0]
        c.check("oom.init-exited", ok and st[0].get("exitCode") == 137,
                "state %s exit %s" % (st[0].get("state"), st[0].get("exitCode")))
        c.check("oom.init-reason", st[0].get("reason") == "OOMKilled",
                "reason %r" % st[0].get("reason"))
        seen = topics(init)
        c.check("oom.before-exit", "oom" in seen and "exit" in seen and
                seen.index("oom") < seen.index("exit"), "topics queued: %s" % seen)
        kept, err = start(pod, "kept", ["sleep", "1000"])
        c.require("oom.readopted-reason", kept is not None, err)
        os.kill(w.sd.pid, signal.SIGUSR2)
        time.sleep(1)
        c.require("oom.readopted-reason", wait_until(lambda: w.sd_alive() and w.sd_answers(), 10),
                  "sandboxd does not answer after SIGUSR2")
        rc, out, err = w.crictl_ns("exec", kept, "tail", "/dev/zero")
        ok = wait_until(lambda: reason_oom(kept), 30, interval=0.5)
        c.check("oom.readopted-reason", ok and st[0].get("state") == "CONTAINER_RUNNING",
                "exec: %s; state %s reason %r" % (parse_cmd_output(rc, out, err),
                                                  st[0].get("state"), st[0].get("reason")))
        for cid in (live, init, kept):
            w.crictl("stop", "--timeout", "2", cid)
            w.crictl("rm", cid)
        err = e2e.stop_remove(w, pod)
        found = w.task_leaks() + (w.leaks() or [])
        c.check("oom.no-leak", err is None and not found, err or "; ".join(found))
    except (Abort, CheckError) as e:
        c.finish(str(e))
    c.finish("case ended early")
    return c.failed


def main():
    if len(sys.argv) != 3:
        print("usage: e2e_tasks.py <sandboxd-build-dir> <containerd-bin-dir>", file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[1])
    cbin = os.path.abspath(sys.argv[2])
    os.environ.setdefault("SANDBOXD_PAUSE_BIN", os.path.join(build, "sandboxd-pause"))
    only = set(x.strip() for x in os.environ.get("E2E_ONLY", "").split(",") if x.strip())
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, e2e.on_signal)
    top = tempfile.mkdtemp(prefix="sbd-e2e-tasks.", dir="/tmp")
    R = Results()
    t_start = time.monotonic()
    print("# temp dir: %s" % top, flush=True)
    cases = [(name, fn) for name, fn in (
        ("t1", case_t1), ("t2", case_t2), ("t3", case_t3), ("t4", case_t4),
        ("oom", case_oom)) if not only or name in only]
    return e2e.run_cases(R, top, t_start,
                         lambda: TaskWorld(build, cbin, top, build_images(top)), cases)


if __name__ == "__main__":
    sys.exit(main())
