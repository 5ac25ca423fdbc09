#!/usr/bin/python3
"""bench_pods: what it costs to manage pods, containerd's Go shim against
sandboxd (issue 12's benchmark).

    bench_pods.py [-n PODS] [-c CONTAINERS] [-w WORKERS] [--only go|sandboxd]
                  [--build DIR] [--containerd-bin DIR] [--json FILE]

The same N pods (default 100) of C sleeping busybox containers each
(default 2) are started and removed through crictl twice on one
containerd 1.7.13:

  go        runtime handler "runc": io.containerd.runc.v2, one
            containerd-shim-runc-v2 process per pod (Debian's runc)
  sandboxd  runtime handler "sandboxd": io.containerd.sandboxd.v2 with
            sandbox_mode = "shim" (as in tests/containerd/e2e.py), every
            pod and container managed by the one sandboxd

Per half: the memory attributable to pod management (go: the sum of the
shims' VmRSS and Pss; sandboxd: the growth of the VmRSS and Pss of
sandboxd, its helpers and sandboxd-keeper from before the pods to all of
them running), management processes per pod (the shims; sandboxd, its
helpers and the keeper), all processes per pod (those and everything
below them: pause, the containers), open descriptors per pod (the shims';
the growth of sandboxd's, its helpers' and the keeper's, which holds a
copy of every connection and a pidfd of every process), the wall time to
start every pod and its containers, the wall time to stop and remove
them.  The keeper's slot table is a memfd that the daemon maps and the
keeper only holds: its pages are counted once, at their allocated size
(st_blocks), in place of whatever share of them the mappers' VmRSS and
Pss show.  Then the ratios: sandboxd's memory per pod against the
Go shim's (target <= 1/100) and its start time (target: no slower).
After each half, a PROBLEM line for anything left: a container's sleep,
a process below sandboxd but its helpers, a mount below the temp dir
(rootfs, netns) that was not there before; and for every line sandboxd
logged (it runs at -l warn).

Everything lives under one temp dir: containerd's root, state, sockets
and config (containerd in `unshare --net` with lo up, restricted oom
score, NRI off), runc's root for the Go shims, a fake CNI plugin,
sandboxd's socket, state and run dirs (runc's root for sandboxd's
containers is in the run dir), and the two images, made by
scripts/mkimage.sh (busybox-static; the build's sandboxd-pause as the
pause image of both halves) and imported with ctr.  Go shims put their
sockets in /run/containerd/s (hard-coded by containerd 1.7).

Prints the tables, one "RESULT pods:" line and one "JSON {...}" line for
bench/run.  Exit status: 0 when every half ran, 77 when the fixtures are
missing (skipped, a message says what), 3 when a half failed (crictl's
error is printed), 1 on a setup error.  Needs root.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

FIXTURE_BIN = "/var/cache/sandboxd-fixtures/containerd-1.7.13/bin"
K8S_NS = "k8s.io"
BUSYBOX_REF = "localhost/sandboxd/busybox:bench"
PAUSE_REF = "localhost/sandboxd/pause:bench"
CRICTL_TIMEOUT = 60
SLEEP_SECS = "1000000"
KEEPER_COMM = "sandboxd-keeper"
KEEPER_MEMFD = "sandboxd-keeper-slots"


class Skip(Exception):
    pass


class SetupError(Exception):
    pass


class HalfFailed(Exception):
    """A crictl step failed: stage is runp, create, start, stopp or rmp."""

    def __init__(self, stage, msg, said_by_crictl=True):
        super().__init__("crictl %s: %s" % (stage, msg) if said_by_crictl
                         else msg)
        self.stage = stage


def run(cmd, timeout=60, env=None):
    """(rc, stdout, stderr); rc None on a timeout."""
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout, env=env)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return None, "", "timed out after %ss" % timeout


def one_line(s, limit=300):
    s = " ".join(s.split())
    return s if len(s) <= limit else s[:limit] + "..."


def crictl_error(out):
    """What the runtime said, from crictl's error output: the last
    "desc = ..." of the gRPC status, else the whole text, on one line."""
    s = " ".join(out.split())
    m = re.search(r'desc = ((?:[^"\\]|\\.)*)', s)
    if m:
        s = m.group(1).replace('\\"', '"')
    return one_line(s)


def wait_until(fn, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# ------------------------------------------------------------ /proc readings

def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def ppid_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    return int(s[s.rindex(")") + 2:].split()[1])


def exe_of(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return None


def cmdline_of(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def mem_kib(pid):
    """(VmRSS, Pss) in KiB, or (0, 0) once the process is gone."""
    rss = pss = 0
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        return 0, 0
    return rss, pss


def fd_count(pid):
    """The number of open descriptors of pid, 0 once it is gone."""
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def memfd_of(pid, name):
    """(device, inode, KiB allocated) of the memfd called name that pid
    holds open, or None.  The allocated size (st_blocks) is every page
    the memfd holds, mapped by anyone or not."""
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return None
    for fd in fds:
        path = "/proc/%d/fd/%s" % (pid, fd)
        try:
            if not os.readlink(path).startswith("/memfd:%s " % name):
                continue
            st = os.stat(path)
        except OSError:
            continue
        return st.st_dev, st.st_ino, st.st_blocks * 512 // 1024
    return None


def mapped_kib(pid, ino):
    """(Rss, Pss) in KiB of pid's mappings of inode ino (/proc/<pid>/smaps)."""
    rss = pss = 0
    inside = False
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                head = line.split()
                if not head:
                    continue
                if not head[0].endswith(":"):
                    # A mapping's first line: range perms offset dev inode
                    inside = len(head) >= 5 and head[4] == str(ino)
                elif inside and head[0] == "Rss:":
                    rss += int(head[1])
                elif inside and head[0] == "Pss:":
                    pss += int(head[1])
    except OSError:
        pass
    return rss, pss


def descendants(roots):
    """Every live pid below the roots (not the roots)."""
    children = {}
    for pid in all_pids():
        pp = ppid_of(pid)
        if pp is not None:
            children.setdefault(pp, []).append(pid)
    out, todo = set(), list(roots)
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def mounts_under(top):
    """The mount points below top, each as often as it is mounted."""
    with open("/proc/self/mounts") as f:
        return sorted(l.split()[1] for l in f
                      if l.split()[1].startswith(top + "/"))


def find_leaks(w, half, mounts0):
    """What the half left once every pod was removed, as sentences:
    containers' sleep processes, sandboxd's children other than its
    helpers (pause processes, runc), mounts below the temp dir that were
    not there before the half (rootfs overlays, netns bind mounts).
    Waits up to 5 s for them to go."""
    found = []

    def clean():
        found.clear()
        sleeps = [p for p in all_pids()
                  if cmdline_of(p)[:2] == [b"sleep", SLEEP_SECS.encode()]]
        if sleeps:
            found.append("%d container processes (sleep %s) still running"
                         % (len(sleeps), SLEEP_SECS))
        if half == "sandboxd":
            mine = set(w.sd_pids())
            kids = descendants(list(mine)) - mine
            if kids:
                found.append("%d processes still below sandboxd (%s)" % (
                    len(kids), ", ".join(sorted({os.path.basename(
                        exe_of(k) or "?") for k in kids}))))
        extra = list(mounts_under(w.top))
        for mp in mounts0:
            if mp in extra:
                extra.remove(mp)
        if extra:
            found.append("%d mounts left below %s, e.g. %s" % (
                len(extra), w.top, extra[0]))
        return not found
    wait_until(clean, 5, 0.2)
    return list(found)


# ------------------------------------------------------------ images

def make_images(top, build):
    """The two image archives, [(path, ref)], made by scripts/mkimage.sh:
    busybox (sh, sleep, ...) and pause (the build's sandboxd-pause as
    /pause), the sandbox image of both halves."""
    mk = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                      "scripts", "mkimage.sh")
    env = dict(os.environ,
               SANDBOXD_PAUSE_BIN=os.path.join(build, "sandboxd-pause"))
    out = []
    for kind, ref in (("busybox", BUSYBOX_REF), ("pause", PAUSE_REF)):
        path = os.path.join(top, kind + ".tar")
        rc, o, e = run([mk, kind, path, ref], timeout=120, env=env)
        if rc != 0:
            raise SetupError("mkimage.sh %s: %s" % (kind, one_line(e or o)))
        out.append((path, ref))
    return out


# ------------------------------------------------------------ the world

CNI_PLUGIN = r"""#!/bin/sh
# Fake CNI plugin: configures nothing, answers a made-up address.
in=$(cat)
ver=$(printf '%s' "$in" | tr -d '\n' | sed -n 's/.*"cniVersion"[ ]*:[ ]*"\([^"]*\)".*/\1/p')
[ -n "$ver" ] || ver=1.0.0
if [ "$(basename "$0")" = loopback ]; then
	ifname=lo ip=127.0.0.1/8
else
	n=$(printf '%s' "$CNI_CONTAINERID" | cksum | cut -d' ' -f1)
	ifname=${CNI_IFNAME:-eth0} ip="10.88.$(( n / 250 % 250 )).$(( n % 250 + 2 ))/16"
fi
case "$CNI_COMMAND" in
VERSION) printf '{"cniVersion":"%s","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]}\n' "$ver" ;;
ADD) printf '{"cniVersion":"%s","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"version":"4","address":"%s","interface":0}]}\n' "$ver" "$ifname" "$CNI_NETNS" "$ip" ;;
DEL|CHECK) ;;
*) exit 1 ;;
esac
exit 0
"""

CONTAINERD_CONFIG = """version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{grpc}"

[ttrpc]
  address = "{ttrpc}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"

[plugins."io.containerd.nri.v1.nri"]
  disable = true

[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  sandbox_image = "{pause_ref}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{cni_conf}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{runc}"
        Root = "{runc_root}"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.sandboxd]
      runtime_type = "io.containerd.sandboxd.v2"
      sandbox_mode = "shim"
"""


class World:
    """containerd (both runtime handlers), sandboxd (when its half runs)
    and every path under top."""

    def __init__(self, top, cbin, build, runc):
        self.top, self.cbin, self.build, self.runc = top, cbin, build, runc
        p = lambda *a: os.path.join(top, *a)  # noqa: E731
        self.grpc, self.ttrpc = p("c", "grpc.sock"), p("c", "ttrpc.sock")
        self.conf, self.crictl_conf = p("c", "config.toml"), p("crictl.yaml")
        self.ctrd_log, self.sd_log = p("containerd.log"), p("sandboxd.log")
        self.sd_sock, self.runc_root = p("sd", "s"), p("runc")
        self.pods = p("pods")
        for d in (p("c", "root"), p("c", "state"), p("c", "opt"),
                  p("cni", "bin"), p("cni", "conf"), p("sd", "state"),
                  p("sd", "run"), self.runc_root, self.pods):
            os.makedirs(d, exist_ok=True)
        for d in (p("sd", "state"), p("sd", "run")):
            os.chmod(d, 0o700)      # sandboxd warns about (and fixes) more
        plugin = p("cni", "bin", "bench-fake")
        with open(plugin, "w") as f:
            f.write(CNI_PLUGIN)
        os.chmod(plugin, 0o755)
        os.symlink("bench-fake", p("cni", "bin", "loopback"))
        with open(p("cni", "conf", "10-bench.conflist"), "w") as f:
            json.dump({"cniVersion": "1.0.0", "name": "bench",
                       "plugins": [{"type": "bench-fake"}]}, f)
        with open(self.conf, "w") as f:
            f.write(CONTAINERD_CONFIG.format(
                root=p("c", "root"), state=p("c", "state"), grpc=self.grpc,
                ttrpc=self.ttrpc, opt=p("c", "opt"), cni_bin=p("cni", "bin"),
                cni_conf=p("cni", "conf"), runc=runc, runc_root=self.runc_root,
                pause_ref=PAUSE_REF))
        with open(self.crictl_conf, "w") as f:
            f.write("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\n"
                    "timeout: %d\ndebug: false\npull-image-on-create: false\n"
                    % (self.grpc, self.grpc, CRICTL_TIMEOUT))
        self.ctrd = self.sd = None

    # -- sandboxd
    def start_sandboxd(self):
        p = os.path.join
        self.sd = subprocess.Popen(
            [p(self.build, "sandboxd"), "-f", "-s", self.sd_sock,
             "-d", p(self.top, "sd", "state"), "-r", p(self.top, "sd", "run"),
             "-p", os.path.realpath(p(self.build, "sandboxd-pause")),
             "-L", self.sd_log, "-l", "warn"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)

        def answers():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.sd_sock)
                return True
            except OSError:
                return self.sd.poll() is not None and "dead"
            finally:
                s.close()
        if wait_until(answers, 10) is not True:
            raise SetupError("sandboxd does not answer on %s" % self.sd_sock)

    def sd_log_problems(self):
        """The lines sandboxd logged so far (it logs warnings and errors
        only, -l warn)."""
        try:
            with open(self.sd_log) as f:
                return [l.rstrip("\n") for l in f if l.strip()]
        except OSError:
            return []

    def sd_pids(self):
        """sandboxd, its helpers (its children that are sandboxd too) and
        its keeper."""
        if self.sd is None or self.sd.poll() is not None:
            return []
        exe = exe_of(self.sd.pid)
        pids = [self.sd.pid] + [c for c in all_pids() if ppid_of(c) ==
                                self.sd.pid and exe_of(c) == exe]
        k = self.keeper_pid()
        return pids + [k] if k is not None and k not in pids else pids

    def keeper_pid(self):
        """The pid of sandboxd-keeper serving this sandboxd's run dir (from
        its pid file), or None."""
        try:
            with open(os.path.join(self.top, "sd", "run", "keeper.pid")) as f:
                pid = int(f.read().split()[0])
            with open("/proc/%d/comm" % pid) as f:
                comm = f.read().strip()
        except (OSError, ValueError, IndexError):
            return None
        return pid if comm == KEEPER_COMM else None

    # -- containerd
    def start_containerd(self):
        env = dict(os.environ)
        env.update({
            "ENABLE_CRI_SANDBOXES": "1",
            "SANDBOXD_SOCKET": self.sd_sock,
            "PATH": "%s:%s:%s" % (self.build or "", self.cbin,
                                  env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")),
        })
        out = open(self.ctrd_log, "a")
        self.ctrd = subprocess.Popen(
            ["unshare", "--net", "sh", "-c",
             'ip link set lo up && exec "$0" --config "$1"',
             os.path.join(self.cbin, "containerd"), self.conf],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=env, start_new_session=True)
        out.close()

        def ready():
            if self.ctrd.poll() is not None:
                return "dead"
            rc, out, _ = self.crictl("info", timeout=5)
            if rc != 0:
                return False
            try:
                conds = json.loads(out)["status"]["conditions"]
            except (ValueError, KeyError, TypeError):
                return False
            return all(c.get("status") for c in conds)
        if wait_until(ready, 30, 0.2) is not True:
            raise SetupError("containerd not ready after 30 s (log: %s)"
                             % self.ctrd_log)

    def crictl(self, *args, timeout=CRICTL_TIMEOUT + 15):
        return run([os.path.join(self.cbin, "crictl"), "--config",
                    self.crictl_conf, "--timeout", "%ds" % CRICTL_TIMEOUT]
                   + list(args), timeout=timeout)

    def ctr(self, *args, timeout=120):
        return run([os.path.join(self.cbin, "ctr"), "--address", self.grpc,
                    "-n", K8S_NS] + list(args), timeout=timeout)

    def import_images(self, archives):
        for path, ref in archives:
            rc, out, err = self.ctr("images", "import", "--snapshotter",
                                    "overlayfs", path)
            if rc != 0:
                raise SetupError("ctr images import %s: %s" % (
                    path, one_line(err or out)))
        rc, out, err = self.crictl("images", "-q")
        if rc != 0 or len(out.split()) < len(archives):
            raise SetupError("CRI does not list the imported images: %s"
                             % one_line(err or out))

    def shim_pids(self, name):
        """Processes of the shim binary name serving this containerd."""
        want = os.path.join(self.cbin, name)
        out = []
        for pid in all_pids():
            exe = exe_of(pid)
            if exe is None or os.path.basename(exe) != name:
                continue
            if exe == want or self.grpc.encode() in cmdline_of(pid):
                out.append(pid)
        return out

    def teardown(self):
        if self.ctrd is not None and self.ctrd.poll() is None:
            # Pods left by a failed half: remove them while containerd runs.
            rc, out, _ = self.crictl("pods", "-q", timeout=30)
            for pod in (out.split() if rc == 0 else []):
                self.crictl("stopp", pod, timeout=30)
                self.crictl("rmp", "-f", pod, timeout=30)
            self.ctrd.terminate()
            try:
                self.ctrd.wait(15)
            except subprocess.TimeoutExpired:
                self.ctrd.kill()
                self.ctrd.wait(5)
        shims = self.shim_pids("containerd-shim-runc-v2")
        for pid in shims + sorted(descendants(shims)):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.sd is not None:
            kids = descendants([self.sd.pid])
            self.sd.kill()
            self.sd.wait(10)
            for pid in kids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.3)
        for mp in sorted(set(mounts_under(self.top)), key=len, reverse=True):
            run(["umount", "-l", mp], timeout=10)


# ------------------------------------------------------------ one half

def pod_files(w, half, i, ncont):
    name = "%s-%03d" % (half, i)
    pod = {"metadata": {"name": name, "namespace": "bench",
                        "uid": "uid-" + name, "attempt": 0},
           "log_directory": os.path.join(w.pods, name),
           "linux": {"security_context": {"namespace_options": {"network": 0}}}}
    ppath = os.path.join(w.pods, name + ".json")
    with open(ppath, "w") as f:
        json.dump(pod, f)
    cpaths = []
    for j in range(ncont):
        c = {"metadata": {"name": "sleep%d" % j},
             "image": {"image": BUSYBOX_REF},
             "command": ["sleep", SLEEP_SECS],
             "log_path": "sleep%d.log" % j, "linux": {}}
        cp = os.path.join(w.pods, "%s-c%d.json" % (name, j))
        with open(cp, "w") as f:
            json.dump(c, f)
        cpaths.append(cp)
    return ppath, cpaths


def start_pod(w, runtime, ppath, cpaths):
    """Pod id, or raise HalfFailed with what crictl said."""
    rc, out, err = w.crictl("runp", "--runtime", runtime, ppath)
    if rc != 0 or not out.strip():
        raise HalfFailed("runp", crictl_error(err or out))
    pod = out.strip().splitlines()[-1]
    try:
        for cp in cpaths:
            rc, out, err = w.crictl("create", pod, cp, ppath)
            if rc != 0 or not out.strip():
                raise HalfFailed("create", crictl_error(err or out))
            cid = out.strip().splitlines()[-1]
            rc, out, err = w.crictl("start", cid)
            if rc != 0:
                raise HalfFailed("start", crictl_error(err or out))
    except HalfFailed:
        remove_pod(w, pod, quiet=True)
        raise
    return pod


def remove_pod(w, pod, quiet=False):
    for args in (("stopp", pod), ("rmp", pod)):
        rc, out, err = w.crictl(*args)
        if rc != 0 and not quiet:
            raise HalfFailed(args[0], crictl_error(err or out))


def parallel(fn, items, workers):
    """Run fn over items; (results, first error or None)."""
    res, first = [], None
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        for fut in [ex.submit(fn, *it) for it in items]:
            try:
                res.append(fut.result())
            except HalfFailed as e:
                first = first or e
    return res, first


def unimplemented(msg):
    m = msg.lower()
    return "unimplemented" in m or "not implemented" in m


def management_pids(w, half):
    if half == "go":
        return w.shim_pids("containerd-shim-runc-v2")
    return w.sd_pids() + w.shim_pids("containerd-shim-sandboxd-v2")


def mgmt_reading(w, half, pids):
    """The management processes' memory and descriptors, a dict: rss and
    pss (KiB), fds, and the keeper's slot memfd (memfd_kib, its pages).
    The memfd's pages are counted once: whoever maps them (the daemon
    does, the keeper only holds the descriptor) has them in its VmRSS
    and a share in its Pss; those are taken out and the memfd's
    allocated size put in once, mapped or not."""
    r = {"rss": 0, "pss": 0, "fds": 0, "memfd_kib": 0, "memfd_rss": 0,
         "memfd_pss": 0}
    for pid in pids:
        rss, pss = mem_kib(pid)
        r["rss"] += rss
        r["pss"] += pss
        r["fds"] += fd_count(pid)
    k = w.keeper_pid() if half == "sandboxd" else None
    mf = memfd_of(k, KEEPER_MEMFD) if k is not None else None
    if mf is not None:
        for pid in pids:
            rss, pss = mapped_kib(pid, mf[1])
            r["memfd_rss"] += rss
            r["memfd_pss"] += pss
        r["memfd_kib"] = mf[2]
        r["rss"] += mf[2] - r["memfd_rss"]
        r["pss"] += mf[2] - r["memfd_pss"]
    return r


def run_half(w, half, args):
    """Start N pods of C containers on one runtime, measure, remove them;
    a dict of figures."""
    runtime = "runc" if half == "go" else "sandboxd"
    n, ncont = args.pods, args.containers
    files = [pod_files(w, half, i, ncont) for i in range(n)]
    before = mgmt_reading(w, half, management_pids(w, half))
    mounts0 = mounts_under(w.top)
    t0 = time.monotonic()
    pods, err = parallel(lambda pp, cps: start_pod(w, runtime, pp, cps),
                         files, args.workers)
    t_start = time.monotonic() - t0
    if err is not None:
        why = str(err)
        if half == "sandboxd" and unimplemented(why):
            why = ("sandboxd answered Unimplemented (%s): a build without "
                   "its task service (containerd.task.v2.Task)?" % why)
        for pod in pods:
            remove_pod(w, pod, quiet=True)
        raise HalfFailed(err.stage, "%d of %d pods started; %s"
                         % (len(pods), n, why), False)
    time.sleep(1)  # let the shims' memory settle after their start
    mgr = management_pids(w, half)
    after = mgmt_reading(w, half, mgr)
    procs = len(set(mgr) | descendants(mgr))
    keeper = w.keeper_pid() if half == "sandboxd" else None
    if half == "go":
        rss, pss, fds = after["rss"], after["pss"], after["fds"]
        note = ("%d shims: sum of their VmRSS, Pss and open fds"
                % len(mgr))
    else:
        rss = after["rss"] - before["rss"]
        pss = after["pss"] - before["pss"]
        fds = after["fds"] - before["fds"]
        note = ("growth of sandboxd, its helpers (%d) and %s: VmRSS, Pss "
                "and open fds; the keeper's slot memfd counted once: %d "
                "KiB allocated, mapped %d KiB VmRSS / %d KiB Pss in all "
                "(%d KiB before)" % (
                    len(mgr) - 1 - (keeper is not None),
                    "sandboxd-keeper" if keeper is not None else
                    "no keeper (none found)", after["memfd_kib"],
                    after["memfd_rss"], after["memfd_pss"],
                    before["memfd_kib"]))
    keeper_fig = None
    if keeper is not None:
        krss, kpss = mem_kib(keeper)
        keeper_fig = {"pid": keeper, "rss_kib": krss, "pss_kib": kpss,
                      "fds": fd_count(keeper),
                      "memfd_kib": after["memfd_kib"]}
    t0 = time.monotonic()
    _, err = parallel(lambda pod: remove_pod(w, pod), [(p,) for p in pods],
                      args.workers)
    t_remove = time.monotonic() - t0
    if err is not None:
        raise HalfFailed(err.stage, "removing pods: %s" % err, False)
    left = management_pids(w, half) if half == "go" else []
    leaks = find_leaks(w, half, mounts0)
    return {"pods": n, "containers_per_pod": ncont, "rss_kib": rss,
            "pss_kib": pss, "rss_kib_per_pod": rss / n,
            "pss_kib_per_pod": pss / n, "processes": procs,
            "processes_per_pod": procs / n,
            "management_processes": len(mgr),
            "management_processes_per_pod": len(mgr) / n,
            "fds": fds, "fds_per_pod": fds / n, "keeper": keeper_fig,
            "start_s": t_start, "remove_s": t_remove, "memory_note": note,
            "shims_left": len(left), "leaks": leaks}


def print_half(half, r):
    print("  %-9s %5d %9.0f %9.0f %9.1f %9.1f %8.2f %9.2f %7.2f %8.2f %8.2f"
          % (half, r["pods"], r["rss_kib"], r["pss_kib"],
             r["rss_kib_per_pod"], r["pss_kib_per_pod"],
             r["management_processes_per_pod"], r["processes_per_pod"],
             r["fds_per_pod"], r["start_s"], r["remove_s"]))
    k = r.get("keeper")
    if k:
        print("    (of which sandboxd-keeper, pid %d, with every pod up: "
              "VmRSS %d KiB, Pss %d KiB, %d fds; its slot memfd %d KiB)"
              % (k["pid"], k["rss_kib"], k["pss_kib"], k["fds"],
                 k["memfd_kib"]))


def find_bins(args):
    cbin = args.containerd_bin or os.environ.get("SANDBOXD_CONTAINERD_BIN") \
        or FIXTURE_BIN
    for b in ("containerd", "crictl", "ctr", "containerd-shim-runc-v2"):
        if not os.access(os.path.join(cbin, b), os.X_OK):
            raise Skip("%s not found (containerd fixtures: "
                       "../shared/fixtures/build-containerd.sh)"
                       % os.path.join(cbin, b))
    runc = shutil.which("runc") or ("/usr/sbin/runc" if os.access(
        "/usr/sbin/runc", os.X_OK) else None)
    if runc is None:
        raise Skip("runc not found (Debian package runc)")
    if os.geteuid() != 0:
        raise Skip("needs root")
    for t in ("unshare", "ip"):
        if shutil.which(t) is None:
            raise Skip("'%s' not found" % t)
    return cbin, runc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--pods", type=int, default=100)
    ap.add_argument("-c", "--containers", type=int, default=2)
    ap.add_argument("-w", "--workers", type=int, default=8)
    ap.add_argument("--only", choices=("go", "sandboxd"))
    ap.add_argument("--build", help="sandboxd build dir (default: the "
                    "Release build beside this script, build-bench)")
    ap.add_argument("--containerd-bin")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()
    if not 1 <= args.pods <= 1000 or not 1 <= args.containers <= 10:
        ap.error("-n 1..1000, -c 1..10")
    halves = [args.only] if args.only else ["go", "sandboxd"]
    build = args.build or os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "..", "build-bench")
    print("bench_pods: pod management, containerd's Go shim against sandboxd")
    with open("/proc/loadavg") as f:
        print("  %s UTC, %d CPUs, %s, loadavg %s" % (
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            os.cpu_count(), os.uname().release, f.read().strip()))
    out = {"bench": "pods", "halves": {}, "failed": {}}
    try:
        cbin, runc = find_bins(args)
        # sandboxd-pause is in the pause image of both halves.
        for b in ("sandboxd", "sandboxd-pause", "sandboxd-keeper",
                  "containerd-shim-sandboxd-v2"):
            if b == "sandboxd-pause" or "sandboxd" in halves:
                if not os.access(os.path.join(build, b), os.X_OK):
                    raise Skip("%s/%s not found (--build DIR)" % (build, b))
    except Skip as e:
        print("SKIPPED pods: %s" % e)
        print("JSON " + json.dumps(dict(out, skipped=str(e))))
        return 77
    top = tempfile.mkdtemp(prefix="sbdbench-pods.")
    w = World(top, cbin, os.path.abspath(build), runc)
    rc = 0
    interrupted = []
    signal.signal(signal.SIGTERM, lambda s, f: interrupted.append(s) or
                  (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if "sandboxd" in halves:
            w.start_sandboxd()
        w.start_containerd()
        w.import_images(make_images(top, w.build))
        print("%d pods x %d sleeping busybox containers, %d crictl workers, "
              "runc %s" % (args.pods, args.containers, args.workers, runc))
        print("  half       pods   RSS KiB   Pss KiB   RSS/pod   Pss/pod "
              "mgmt/pod procs/pod fds/pod  start s remove s")
        for half in halves:
            try:
                r = run_half(w, half, args)
            except HalfFailed as e:
                print("  FAILED %s: %s" % (half, e))
                out["failed"][half] = str(e)
                rc = 3
                continue
            out["halves"][half] = r
            print_half(half, r)
            if r["shims_left"]:
                print("  PROBLEM: %d shims still running after every pod "
                      "was removed" % r["shims_left"])
            for leak in r["leaks"]:
                print("  PROBLEM: %s: %s" % (half, leak))
        if "sandboxd" in halves:
            logged = w.sd_log_problems()
            out["sandboxd_log_lines"] = len(logged)
            for line in logged[:5]:
                print("  PROBLEM: sandboxd logged: %s" % one_line(line))
            if len(logged) > 5:
                print("  PROBLEM: ... and %d more lines in its log"
                      % (len(logged) - 5))
        for half, r in out["halves"].items():
            print("  (%s memory: %s)" % (half, r["memory_note"]))
        g, s = out["halves"].get("go"), out["halves"].get("sandboxd")
        if g and s:
            out["mem_ratio"] = s["pss_kib_per_pod"] / g["pss_kib_per_pod"]
            out["rss_ratio"] = s["rss_kib_per_pod"] / g["rss_kib_per_pod"]
            out["start_ratio"] = s["start_s"] / g["start_s"]
            out["remove_ratio"] = s["remove_s"] / g["remove_s"]
            print("RESULT pods: %d pods x %d: sandboxd %.1f KiB Pss per pod "
                  "= %.4fx the Go shim's %.1f KiB (target <= 0.01x); start "
                  "%.2f s = %.2fx the Go shim's %.2f s (target <= 1x); "
                  "remove %.2fx; fds per pod %.2f against %.2f; %s" % (
                      args.pods, args.containers, s["pss_kib_per_pod"],
                      out["mem_ratio"], g["pss_kib_per_pod"], s["start_s"],
                      out["start_ratio"], g["start_s"], out["remove_ratio"],
                      s["fds_per_pod"], g["fds_per_pod"],
                      "sandboxd-keeper counted" if s.get("keeper") else
                      "no sandboxd-keeper running"))
        elif g:
            print("RESULT pods: %d pods x %d: Go shim %.1f KiB Pss (%.1f KiB "
                  "VmRSS) per pod, start %.2f s, remove %.2f s; sandboxd: %s"
                  % (args.pods, args.containers, g["pss_kib_per_pod"],
                     g["rss_kib_per_pod"], g["start_s"], g["remove_s"],
                     out["failed"].get("sandboxd", "not run")))
    except (SetupError, OSError, subprocess.SubprocessError) as e:
        print("ERROR pods: %s (logs under %s)" % (e, top))
        rc = 1
    except KeyboardInterrupt:
        print("INTERRUPTED")
        rc = 130
    finally:
        w.teardown()
        if rc in (0, 3) and os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(top, ignore_errors=True)
        else:
            print("  (kept %s)" % top)
    print("JSON " + json.dumps(out))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return rc


if __name__ == "__main__":
    sys.exit(main())
