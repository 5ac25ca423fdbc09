#!/usr/bin/python3
"""End-to-end test: containerd 1.7.13 (CRI, sandbox API, shim mode) and
crictl 1.26.1 against a real sandboxd.

    e2e.py <sandboxd-build-dir> <containerd-bin-dir>

Normally started by run.sh, which skips the test when containerd is not
available.  Everything lives under one temp dir, removed at the end (also
on failure or SIGINT/SIGTERM): sandboxd's socket, state and run dirs;
containerd's root, state, sockets and opt dir; a fake CNI plugin and its
conflist; crictl's config; pod configs and logs.

containerd runs inside `unshare --net` (its CRI streaming server insists on
a TCP listener): Unix sockets and netns bind mounts are still shared with
the host.  sandboxd runs in the test's own network namespace.

Every check prints "ok NAME" or "FAIL NAME: why"; the last line is
"N passed, N failed"; the exit status is 1 if any check failed.

Environment: E2E_KEEP=1 keeps the temp dir; E2E_ONLY=1,5 runs only those
cases (1-4 always run together); E2E_REEXEC_PODS (50), E2E_PARALLEL_PODS
(100), E2E_WORKERS (8); E2E_LOG_LINES (40) lines of each log shown after a
failed case.
"""

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
import traceback

CRICTL_TIMEOUT = 20          # seconds, crictl --timeout for every call
K8S_NS = "k8s.io"            # the containerd namespace CRI uses


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


REEXEC_PODS = env_int("E2E_REEXEC_PODS", 50)
PARALLEL_PODS = env_int("E2E_PARALLEL_PODS", 100)
WORKERS = env_int("E2E_WORKERS", 8)
LOG_LINES = env_int("E2E_LOG_LINES", 40)
KEEP = os.environ.get("E2E_KEEP", "0") == "1"


class Interrupted(BaseException):
    pass


def on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


def run(cmd, timeout=30, env=None, input=None):
    """Run cmd; (rc, stdout, stderr).  rc is None on a timeout."""
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL if input is None else None,
                           input=input, capture_output=True, text=True,
                           timeout=timeout, env=env)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        return None, out, err + "\n(timed out after %ss)" % timeout


def one_line(s, limit=400):
    s = " ".join(s.split())
    return s if len(s) <= limit else s[:limit] + "..."


def wait_until(fn, timeout, interval=0.1):
    """Call fn until it returns a true value or timeout; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def tail(path, n, pattern=None):
    try:
        with open(path, errors="replace") as f:
            lines = f.readlines()
    except OSError as e:
        return ["(cannot read %s: %s)" % (path, e)]
    if pattern is not None:
        lines = [l for l in lines if re.search(pattern, l)]
    return lines[-n:]


# ---------------------------------------------------------------- processes

def proc_stat(pid):
    """(comm, state, ppid, starttime) of pid, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    l, r = s.index("("), s.rindex(")")
    rest = s[r + 2:].split()
    return s[l + 1:r], rest[0], int(rest[1]), int(rest[19])


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def ns_id(path):
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


def stack_mapping(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                if line.rstrip().endswith("[stack]"):
                    return line.split()[0]
    except OSError:
        return None
    return None


# ---------------------------------------------------------------- the world

CNI_PLUGIN = r"""#!/bin/sh
# Fake CNI plugin for sandboxd's containerd e2e test: it configures nothing.
# ADD answers one interface and a made-up address that is never configured
# anywhere (no route, no veth): CRI only needs a result to record.
in=$(cat)
ver=$(printf '%s' "$in" | tr -d '\n' | sed -n 's/.*"cniVersion"[ ]*:[ ]*"\([^"]*\)".*/\1/p')
[ -n "$ver" ] || ver=1.0.0
echo "$(date +%s.%N) $CNI_COMMAND $CNI_CONTAINERID $CNI_NETNS" >> "$(dirname "$0")/../calls.log"
if [ "$(basename "$0")" = loopback ]; then	# CRI always adds a loopback network
	ifname=lo ip=127.0.0.1/8
else
	n=$(printf '%s' "$CNI_CONTAINERID" | cksum | cut -d' ' -f1)
	ifname=${CNI_IFNAME:-eth0} ip="10.88.$(( n / 250 % 250 )).$(( n % 250 + 2 ))/16"
fi
case "$CNI_COMMAND" in
VERSION)
	printf '{"cniVersion":"%s","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]}\n' "$ver"
	;;
ADD)
	printf '{"cniVersion":"%s","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"version":"4","address":"%s","interface":0}]}\n' \
		"$ver" "$ifname" "$CNI_NETNS" "$ip"
	;;
DEL|CHECK)
	;;
*)
	printf '{"cniVersion":"%s","code":4,"msg":"unknown CNI_COMMAND %s"}\n' "$ver" "$CNI_COMMAND"
	exit 1
	;;
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

[debug]
  level = "debug"

[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"

[plugins."io.containerd.nri.v1.nri"]
  disable = true

[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{cni_conf}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "sandboxd"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.sandboxd]
      runtime_type = "io.containerd.sandboxd.v2"
      sandbox_mode = "shim"
"""


class SetupError(Exception):
    pass


class World:
    """One sandboxd and one containerd, with all their paths under a
    generation dir of the temp dir; fresh() throws everything away and
    starts again, so that cases do not see each other's leftovers."""

    def __init__(self, build, cbin, top):
        self.build = build
        self.cbin = cbin
        self.top = top
        self.sandboxd_bin = os.path.join(build, "sandboxd")
        self.pause_bin = os.path.realpath(os.path.join(build, "sandboxd-pause"))
        self.keeper_bin = os.path.join(build, "sandboxd-keeper")
        self.sandboxctl_bin = os.path.join(build, "sandboxctl")
        self.containerd_bin = os.path.join(cbin, "containerd")
        self.crictl_bin = os.path.join(cbin, "crictl")
        self.gen = 0
        self.sd = None          # sandboxd Popen
        self.ctrd = None        # containerd Popen
        self.sd_pid = None
        self.sd_logs = []       # every sandboxd log file, newest last
        self.ctrd_logs = []
        self.cni_dir = os.path.join(top, "cni")
        self.cni_bin = os.path.join(self.cni_dir, "bin")
        self.cni_conf = os.path.join(self.cni_dir, "conf")
        self.pod_dir = os.path.join(top, "pods")
        self.log_dir = os.path.join(top, "logs")
        for d in (self.cni_bin, self.cni_conf, self.pod_dir, self.log_dir):
            os.makedirs(d, exist_ok=True)
        plugin = os.path.join(self.cni_bin, "e2e-fake")
        with open(plugin, "w") as f:
            f.write(CNI_PLUGIN)
        os.chmod(plugin, 0o755)
        os.symlink("e2e-fake", os.path.join(self.cni_bin, "loopback"))
        with open(os.path.join(self.cni_conf, "10-e2e.conflist"), "w") as f:
            json.dump({"cniVersion": "1.0.0", "name": "e2e",
                       "plugins": [{"type": "e2e-fake"}]}, f)

    # -- paths of the current generation
    def paths(self):
        g = os.path.join(self.top, "g%d" % self.gen)
        self.g = g
        self.sock = os.path.join(g, "sd", "sandboxd.sock")
        self.sd_state = os.path.join(g, "sd", "state")
        self.sd_run = os.path.join(g, "sd", "run")
        self.sd_log = os.path.join(self.log_dir, "sandboxd.g%d.log" % self.gen)
        self.sd_out = os.path.join(self.log_dir, "sandboxd.g%d.stderr" % self.gen)
        self.ctrd_root = os.path.join(g, "c", "root")
        self.ctrd_state = os.path.join(g, "c", "state")
        self.grpc = os.path.join(g, "c", "grpc.sock")
        self.ttrpc = os.path.join(g, "c", "ttrpc.sock")
        self.opt = os.path.join(g, "c", "opt")
        self.ctrd_conf = os.path.join(g, "c", "config.toml")
        self.ctrd_log = os.path.join(self.log_dir, "containerd.g%d.log" % self.gen)
        self.crictl_conf = os.path.join(g, "crictl.yaml")
        for d in (self.sd_state, self.sd_run, self.ctrd_root, self.ctrd_state, self.opt):
            os.makedirs(d, exist_ok=True)
        with open(self.ctrd_conf, "w") as f:
            f.write(CONTAINERD_CONFIG.format(
                root=self.ctrd_root, state=self.ctrd_state, grpc=self.grpc,
                ttrpc=self.ttrpc, opt=self.opt, cni_bin=self.cni_bin,
                cni_conf=self.cni_conf))
        with open(self.crictl_conf, "w") as f:
            f.write("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\n"
                    "timeout: %d\ndebug: false\npull-image-on-create: false\n"
                    % (self.grpc, self.grpc, CRICTL_TIMEOUT))
        self.sd_logs.append(self.sd_log)
        self.ctrd_logs.append(self.ctrd_log)

    def fresh(self):
        self.teardown()
        self.gen += 1
        self.paths()
        self.start_sandboxd()
        self.start_containerd()

    # -- sandboxd
    def start_sandboxd(self):
        out = open(self.sd_out, "a")
        self.sd = subprocess.Popen(
            [self.sandboxd_bin, "-f", "-s", self.sock, "-d", self.sd_state,
             "-r", self.sd_run, "-p", self.pause_bin, "-L", self.sd_log,
             "-l", "debug", "--keeper-path", self.keeper_bin],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
        out.close()
        self.sd_pid = self.sd.pid
        if not wait_until(self.sd_answers, 10):
            rc = self.sd.poll()
            raise SetupError("sandboxd does not answer on %s after 10 s%s" % (
                self.sock, "" if rc is None else " (exited %d)" % rc))

    def sd_answers(self):
        if self.sd is not None and self.sd.poll() is not None:
            return False
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(1)
            s.connect(self.sock)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def sd_alive(self):
        return self.sd is not None and self.sd.poll() is None

    def kill_sandboxd(self, sig=signal.SIGKILL, wait=10):
        if self.sd is None:
            return None
        if self.sd.poll() is None:
            try:
                os.kill(self.sd.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.sd.wait(wait)
            except subprocess.TimeoutExpired:
                self.sd.kill()
                self.sd.wait(5)
        rc = self.sd.returncode
        self.sd = None
        return rc

    def keeper_pid(self):
        """The pid of the sandboxd-keeper of the current run dir, or None."""
        try:
            with open(os.path.join(self.sd_run, "keeper.pid")) as f:
                pid = int(f.read().strip() or 0)
        except (OSError, ValueError):
            return None
        st = proc_stat(pid) if pid > 0 else None
        return pid if st and st[0] == "sandboxd-keeper" and st[1] != "Z" else None

    def kill_keeper(self, wait=5):
        """SIGKILL the keeper (it then closes every connection it held, as
        a crash of sandboxd without one would); whether one ran."""
        pid = self.keeper_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_until(lambda: self.keeper_pid() is None, wait)
        return True

    def sandboxctl(self, *args, timeout=15):
        return run([self.sandboxctl_bin, "-s", self.sock, "-t", "5"] + list(args),
                   timeout=timeout)

    # -- containerd
    def start_containerd(self):
        env = dict(os.environ)
        env.update({
            "ENABLE_CRI_SANDBOXES": "1",
            "SANDBOXD_SOCKET": self.sock,
            "PATH": "%s:%s:%s" % (self.build, self.cbin,
                                  env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")),
        })
        out = open(self.ctrd_log, "a")
        out.write("==== e2e: starting containerd %s\n" % time.strftime("%H:%M:%S"))
        out.flush()
        self.ctrd = subprocess.Popen(
            ["unshare", "--net", "sh", "-c",
             'ip link set lo up && exec "$0" --config "$1"',
             self.containerd_bin, self.ctrd_conf],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=env, start_new_session=True)
        out.close()
        why = [""]

        def ready():
            if self.ctrd.poll() is not None:
                why[0] = "containerd exited with status %d" % self.ctrd.returncode
                return "dead"
            rc, out, err = self.crictl("info", timeout=5, crictl_timeout=3)
            if rc != 0:
                why[0] = "crictl info: " + one_line(err or out)
                return False
            try:
                conds = json.loads(out)["status"]["conditions"]
            except (ValueError, KeyError, TypeError):
                why[0] = "crictl info: unexpected output " + one_line(out)
                return False
            bad = [c["type"] for c in conds if not c.get("status")]
            why[0] = "conditions not true: %s" % bad
            return not bad
        r = wait_until(ready, 30, 0.2)
        if r != True:
            raise SetupError("containerd not ready after 30 s: " + why[0])

    def stop_containerd(self, sig=signal.SIGTERM, wait=15):
        if self.ctrd is None:
            return None
        if self.ctrd.poll() is None:
            try:
                os.kill(self.ctrd.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.ctrd.wait(wait)
            except subprocess.TimeoutExpired:
                self.ctrd.kill()
                self.ctrd.wait(5)
        rc = self.ctrd.returncode
        self.ctrd = None
        return rc

    # -- crictl
    def crictl(self, *args, timeout=None, crictl_timeout=CRICTL_TIMEOUT):
        cmd = [self.crictl_bin, "--config", self.crictl_conf,
               "--timeout", "%ds" % crictl_timeout] + list(args)
        return run(cmd, timeout=timeout or crictl_timeout + 15)

    def pod_config(self, name, hostnet=False, hostname=None, labels=None):
        cfg = {
            "metadata": {"name": name, "namespace": "e2e",
                         "uid": "uid-%s-g%d" % (name, self.gen), "attempt": 0},
            "labels": dict(labels or {}, e2e="yes"),
            "log_directory": os.path.join(self.log_dir, "pods", name),
            "linux": {"security_context": {"namespace_options": {
                "network": 2 if hostnet else 0}}},
        }
        if hostname is not None:
            cfg["hostname"] = hostname
        path = os.path.join(self.pod_dir, "%s.g%d.json" % (name, self.gen))
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path

    def runp(self, name, **kw):
        """(pod id, None) or (None, error)."""
        rc, out, err = self.crictl("runp", "--runtime", "sandboxd",
                                   self.pod_config(name, **kw))
        if rc == 0 and out.strip():
            return out.strip().splitlines()[-1], None
        return None, "crictl runp %s: rc=%s: %s" % (name, rc, one_line(err or out))

    def pods(self, *args):
        """{id: item} from crictl pods -o json, or raise SetupError."""
        rc, out, err = self.crictl("pods", "-o", "json", *args)
        if rc != 0:
            raise CheckError("crictl pods %s: rc=%s: %s" % (" ".join(args), rc,
                                                            one_line(err or out)))
        return {p["id"]: p for p in json.loads(out).get("items") or []}

    def inspectp(self, pod):
        """(status dict, info dict) or raise CheckError."""
        rc, out, err = self.crictl("inspectp", "-o", "json", pod)
        if rc != 0:
            raise CheckError("crictl inspectp: rc=%s: %s" % (rc, one_line(err or out)))
        doc = json.loads(out)
        status = doc.pop("status", {})
        info = doc.pop("info", None)
        if isinstance(info, dict):
            doc.update(info)
        return status, doc

    def pod_pid(self, pod):
        """The pause pid CRI reports for pod (inspectp's info pid)."""
        status, info = self.inspectp(pod)
        pid = info.get("pid")
        try:
            return int(pid)
        except (TypeError, ValueError):
            raise CheckError("crictl inspectp %s: no pid in its info (state %s, info keys %s)"
                             % (pod[:12], status.get("state"), sorted(info)))

    # -- what sandboxd left
    def pause_pids(self):
        """Every process running our sandboxd-pause binary."""
        found = set()
        for pid in all_pids():
            try:
                if os.readlink("/proc/%d/exe" % pid) == self.pause_bin:
                    found.add(pid)
            except OSError:
                pass
        return found

    def sd_pause_children(self):
        """Children of the current sandboxd named sandboxd-pause (zombies too)."""
        if self.sd is None:
            return set()
        found = set()
        for pid in all_pids():
            st = proc_stat(pid)
            if st and st[2] == self.sd.pid and st[0] == "sandboxd-pause":
                found.add(pid)
        return found

    def sd_netns_files(self):
        d = os.path.join(self.sd_run, "netns")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def cri_netns_dir(self):
        return os.path.join(self.ctrd_state, "io.containerd.grpc.v1.cri", "netns")

    def cri_netns_files(self):
        d = self.cri_netns_dir()
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def ps(self):
        """(instances, None) or (None, error) from sandboxctl ps -o json."""
        rc, out, err = self.sandboxctl("-o", "json", "ps")
        if rc != 0:
            return None, "sandboxctl -o json ps: rc=%s: %s" % (rc, one_line(err or out))
        try:
            v = json.loads(out)
        except ValueError:
            return None, "sandboxctl -o json ps: not JSON: %s" % one_line(out)
        if not isinstance(v, list):
            return None, "sandboxctl -o json ps: not a JSON array: %s" % one_line(out)
        return v, None

    def mounts(self):
        with open("/proc/self/mountinfo") as f:
            return f.read().splitlines()

    def our_mounts(self):
        return [l for l in self.mounts() if self.top in l]

    def fd_count(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.sd.pid))
        except (OSError, AttributeError):
            return None

    def leaks(self, wait=10):
        """What a run that removed every pod left behind (process and netns
        checks, independent of sandboxctl); [] if nothing, after polling for
        up to wait seconds."""
        def find():
            out = []
            p = self.pause_pids()
            if p:
                out.append("pause processes still running: %s" % sorted(p))
            c = self.sd_pause_children()
            if c:
                out.append("sandboxd-pause children of sandboxd: %s" % sorted(c))
            n = self.sd_netns_files()
            if n:
                out.append("netns files in sandboxd's run dir: %s" % n)
            n = self.cri_netns_files()
            if n:
                out.append("netns files in CRI's netns dir: %s" % n)
            return out
        found = [None]

        def clean():
            found[0] = find()
            return not found[0]
        wait_until(clean, wait, 0.25)
        return found[0]

    # -- cleanup
    def force_clean(self):
        """Kill whatever our binaries left and unmount under the temp dir."""
        for pid in self.pause_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        mps = []
        for l in self.mounts():
            f = l.split()
            if len(f) > 4 and f[4].startswith(self.top + "/"):
                mps.append(f[4])
        for mp in sorted(set(mps), key=len, reverse=True):
            run(["umount", "-l", mp], timeout=10)

    def teardown(self):
        self.stop_containerd()
        self.kill_sandboxd(signal.SIGKILL)
        if self.gen:
            self.kill_keeper()
        self.force_clean()
        if self.gen and not KEEP:
            shutil.rmtree(os.path.join(self.top, "g%d" % self.gen), ignore_errors=True)

    def show_logs(self):
        print("---- sandboxd log %s (last %d lines) ----" % (self.sd_log, LOG_LINES))
        for l in tail(self.sd_log, LOG_LINES):
            print("  " + l.rstrip())
        if os.path.getsize(self.sd_out) if os.path.exists(self.sd_out) else 0:
            print("---- sandboxd stderr %s ----" % self.sd_out)
            for l in tail(self.sd_out, 10):
                print("  " + l.rstrip())
        print("---- containerd log %s (last %d warnings/errors) ----" % (self.ctrd_log, LOG_LINES))
        for l in tail(self.ctrd_log, LOG_LINES, r"level=(error|warning|fatal)|panic|==== e2e:"):
            print("  " + l.rstrip())
        print("---- end of logs ----")


# ---------------------------------------------------------------- checks

class CheckError(Exception):
    pass


class Abort(Exception):
    pass


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def report(self, name, ok, why=""):
        if ok:
            self.passed += 1
            print("ok %s" % name, flush=True)
        else:
            self.failed += 1
            print("FAIL %s: %s" % (name, why), flush=True)


class Case:
    def __init__(self, results, names):
        self.results = results
        self.names = list(names)
        self.done = set()
        self.failed = False

    def check(self, name, ok, why=""):
        assert name in self.names, name
        self.done.add(name)
        if not ok:
            self.failed = True
        self.results.report(name, ok, why)
        return ok

    def require(self, name, ok, why=""):
        if not self.check(name, ok, why):
            raise Abort("%s failed" % name)

    def finish(self, reason):
        for n in self.names:
            if n not in self.done:
                self.done.add(n)
                self.failed = True
                self.results.report(n, False, "not reached: %s" % reason)


def guarded(fn, *args):
    """(value, None) or (None, error text) for a CheckError."""
    try:
        return fn(*args), None
    except CheckError as e:
        return None, str(e)


def parallel(fn, items, workers=WORKERS):
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(fn, items))


def summarize_errors(errors, limit=3):
    errors = [e for e in errors if e]
    if not errors:
        return ""
    uniq = []
    for e in errors:
        if e not in uniq:
            uniq.append(e)
    return "%d failed; e.g. %s" % (len(errors), " | ".join(uniq[:limit]))


def pid_gone(pid, pause_bin):
    """True when pid no longer runs the pause binary (zombies count as there)."""
    st = proc_stat(pid)
    if st is None:
        return True
    try:
        return os.readlink("/proc/%d/exe" % pid) != pause_bin and st[1] != "Z"
    except OSError:
        return st[1] != "Z"


def leak_checks(c, w, prefix, wait=10):
    """The two leak checks every case ends with: processes and netns files
    (independent of sandboxctl), and sandboxd's own view (sandboxctl ps)."""
    found = w.leaks(wait)
    c.check(prefix + ".no-leak", not found, "; ".join(found))
    inst, err = w.ps()
    if inst is None:
        c.check(prefix + ".ps-empty", False, err)
    else:
        c.check(prefix + ".ps-empty", not inst,
                "%d instance(s) left: %s" % (len(inst), one_line(json.dumps(inst[:3]))))


def stop_remove(w, pod):
    """crictl stopp then rmp; the first error or None."""
    rc, out, err = w.crictl("stopp", pod)
    if rc != 0:
        return "stopp %s: rc=%s: %s" % (pod[:12], rc, one_line(err or out))
    rc, out, err = w.crictl("rmp", pod)
    if rc != 0:
        return "rmp %s: rc=%s: %s" % (pod[:12], rc, one_line(err or out))
    return None


def pods_state(w, ids):
    """{id: state} for ids according to crictl pods (missing -> None)."""
    p = w.pods()
    return {i: (p[i]["state"] if i in p else None) for i in ids}


# ---------------------------------------------------------------- cases

def cases_1_to_4(w, R):
    """runp (pod network, host network), pods/inspectp, stopp/rmp."""
    w.fresh()
    pods = {}

    # 1. pod network
    c = Case(R, ["c1.runp-podnet", "c1.ready", "c1.in-cri-netns",
                 "c1.no-sandboxd-netns", "c1.hostname"])
    print("# case 1: runp with pod network", flush=True)
    try:
        pod, err = w.runp("podnet", hostname="e2e-podnet", labels={"k": "v1"})
        c.require("c1.runp-podnet", pod is not None, err)
        pods["podnet"] = pod
        status, info = w.inspectp(pod)
        c.check("c1.ready", status.get("state") == "SANDBOX_READY",
                "inspectp state %s" % status.get("state"))
        pid = w.pod_pid(pod)
        mine = ns_id("/proc/%d/ns/net" % pid)
        files = [os.path.join(w.cri_netns_dir(), f) for f in w.cri_netns_files()]
        match = [f for f in files if ns_id(f) == mine]
        nspath = info.get("netns_path") or info.get("netNamespacePath") or ""
        why = ("pause %d netns %s matches none of CRI's netns files %s (info netns_path %r)"
               % (pid, os.readlink("/proc/%d/ns/net" % pid), files, nspath))
        if match and nspath and os.path.realpath(nspath) != os.path.realpath(match[0]):
            match, why = [], "pause is in %s but sandboxd reports netns_path %s" % (match[0], nspath)
        c.check("c1.in-cri-netns", bool(match), why)
        c.check("c1.no-sandboxd-netns", not w.sd_netns_files(),
                "sandboxd made its own netns although CRI gave one: %s" % w.sd_netns_files())
        rc, out, err = run(["nsenter", "-t", str(pid), "-u", "hostname"], timeout=10)
        c.check("c1.hostname", rc == 0 and out.strip() == "e2e-podnet",
                "pause's hostname is %r (rc %s %s), want 'e2e-podnet'" % (
                    out.strip(), rc, one_line(err)))
    except (Abort, CheckError) as e:
        if isinstance(e, CheckError):
            print("# case 1: %s" % e)
        c.finish(str(e))

    # 2. host network
    c2 = Case(R, ["c2.runp-hostnet", "c2.in-host-netns", "c2.no-sandboxd-netns"])
    print("# case 2: runp with host network", flush=True)
    try:
        before = set(w.sd_netns_files())
        pod, err = w.runp("hostnet", hostnet=True, labels={"k": "v2"})
        c2.require("c2.runp-hostnet", pod is not None, err)
        pods["hostnet"] = pod
        pid = w.pod_pid(pod)
        c2.check("c2.in-host-netns",
                 ns_id("/proc/%d/ns/net" % pid) == ns_id("/proc/%d/ns/net" % w.sd.pid),
                 "pause %d is in %s, sandboxd in %s" % (
                     pid, os.readlink("/proc/%d/ns/net" % pid),
                     os.readlink("/proc/%d/ns/net" % w.sd.pid)))
        new = [f for f in w.sd_netns_files() if f not in before]
        c2.check("c2.no-sandboxd-netns", not new,
                 "sandboxd made a netns for a host-network pod: %s" % new)
    except (Abort, CheckError) as e:
        c2.finish(str(e))

    # 3. pods, pods --label, inspectp
    c3 = Case(R, ["c3.pods-lists-both", "c3.pods-label-filter", "c3.inspectp-ready-pid"])
    print("# case 3: crictl pods / pods --label / inspectp", flush=True)
    try:
        listed = w.pods()
        missing = [n for n in ("podnet", "hostnet") if pods.get(n) not in listed]
        c3.check("c3.pods-lists-both", not missing and len(listed) == 2,
                 "crictl pods lists %d pod(s); missing %s" % (len(listed), missing))
        f1 = set(w.pods("--label", "k=v1"))
        f2 = set(w.pods("--label", "k=v2"))
        want1 = {pods["podnet"]} if "podnet" in pods else set()
        want2 = {pods["hostnet"]} if "hostnet" in pods else set()
        c3.check("c3.pods-label-filter", f1 == want1 and f2 == want2 and want1 and want2,
                 "--label k=v1 gives %s (want %s), k=v2 gives %s (want %s)" % (
                     sorted(x[:12] for x in f1), sorted(x[:12] for x in want1),
                     sorted(x[:12] for x in f2), sorted(x[:12] for x in want2)))
        bad = []
        for n in ("podnet", "hostnet"):
            if n not in pods:
                bad.append("%s: not created" % n)
                continue
            status, info = w.inspectp(pods[n])
            pid = info.get("pid")
            if status.get("state") != "SANDBOX_READY" or not isinstance(pid, int) or pid <= 0:
                bad.append("%s: state %s pid %r" % (n, status.get("state"), pid))
        c3.check("c3.inspectp-ready-pid", not bad, "; ".join(bad))
    except CheckError as e:
        c3.finish(str(e))

    # 4. stopp, rmp, nothing left
    c4 = Case(R, ["c4.stopp", "c4.notready", "c4.pause-gone", "c4.rmp", "c4.gone-from-pods",
                  "c4.no-leak", "c4.ps-empty"])
    print("# case 4: stopp / rmp / nothing left", flush=True)
    try:
        if not pods:
            raise Abort("no pod was created")
        pids = {}
        for n, pod in pods.items():
            pids[n], _ = guarded(w.pod_pid, pod)
        errs = []
        for n, pod in pods.items():
            rc, out, err = w.crictl("stopp", pod)
            if rc != 0:
                errs.append("%s: rc=%s %s" % (n, rc, one_line(err or out)))
        c4.check("c4.stopp", not errs, "; ".join(errs))
        bad = []
        for n, pod in pods.items():
            st = wait_until(lambda: pods_state(w, [pod])[pod] == "SANDBOX_NOTREADY" and
                            w.inspectp(pod)[0].get("state") == "SANDBOX_NOTREADY", 5)
            if not st:
                bad.append("%s: crictl pods %s, inspectp %s" % (
                    n, pods_state(w, [pod])[pod], w.inspectp(pod)[0].get("state")))
        c4.check("c4.notready", not bad, "; ".join(bad))
        alive = [p for p in pids.values() if p and not wait_until(
            lambda: pid_gone(p, w.pause_bin), 5)]
        c4.check("c4.pause-gone", not alive and all(pids.values()),
                 "pause still there: %s (pids known: %s)" % (alive, pids))
        errs = []
        for n, pod in pods.items():
            rc, out, err = w.crictl("rmp", pod)
            if rc != 0:
                errs.append("%s: rc=%s %s" % (n, rc, one_line(err or out)))
        c4.check("c4.rmp", not errs, "; ".join(errs))
        left = set(pods.values()) & set(w.pods())
        c4.check("c4.gone-from-pods", not left, "still listed: %s" % sorted(left))
        leak_checks(c4, w, "c4")
    except (Abort, CheckError) as e:
        c4.finish(str(e))
    return c.failed or c2.failed or c3.failed or c4.failed


def case_5(w, R):
    c = Case(R, ["c5.runp", "c5.containerd-restarted", "c5.still-ready-pods",
                 "c5.still-ready-inspectp", "c5.stopp", "c5.notready", "c5.rmp",
                 "c5.no-leak", "c5.ps-empty"])
    print("# case 5: containerd restart with 2 pods running", flush=True)
    try:
        w.fresh()
        ids, errs = [], []
        for n in ("r1", "r2"):
            pod, err = w.runp(n, hostname=n)
            (ids.append(pod) if pod else errs.append(err))
        c.require("c5.runp", not errs, "; ".join(errs))
        rc = w.stop_containerd(signal.SIGTERM)
        try:
            w.start_containerd()
            c.check("c5.containerd-restarted", True)
        except SetupError as e:
            c.require("c5.containerd-restarted", False, "stopped with %s, %s" % (rc, e))
        st = pods_state(w, ids)
        c.check("c5.still-ready-pods", all(v == "SANDBOX_READY" for v in st.values()),
                "crictl pods after the restart: %s" % {k[:12]: v for k, v in st.items()})
        bad = []
        for pod in ids:
            s, err = guarded(w.inspectp, pod)
            if s is None or s[0].get("state") != "SANDBOX_READY":
                bad.append("%s: %s" % (pod[:12], err or "state %s createdAt %s" % (
                    s[0].get("state"), s[0].get("createdAt"))))
        c.check("c5.still-ready-inspectp", not bad, "; ".join(bad))
        errs = []
        for pod in ids:
            rc, out, err = w.crictl("stopp", pod)
            if rc != 0:
                errs.append("%s: rc=%s %s" % (pod[:12], rc, one_line(err or out)))
        c.check("c5.stopp", not errs, "; ".join(errs))
        # After a restart CRI 1.7 starts no new Wait for shim-mode pods, so
        # crictl pods may keep saying READY; the controller's state counts.
        bad = ["stopp failed"] if errs else []
        for pod in ids:
            s, err = guarded(w.inspectp, pod)
            if s is None or s[0].get("state") != "SANDBOX_NOTREADY":
                bad.append("%s: %s" % (pod[:12], err or "state %s" % s[0].get("state")))
        c.check("c5.notready", not bad, "; ".join(bad))
        errs = []
        for pod in ids:
            rc, out, err = w.crictl("rmp", pod)
            if rc != 0:
                errs.append("%s: rc=%s %s" % (pod[:12], rc, one_line(err or out)))
        left = set(ids) & set(w.pods())
        if left:
            errs.append("still listed: %s" % sorted(x[:12] for x in left))
        c.check("c5.rmp", not errs, "; ".join(errs))
        leak_checks(c, w, "c5")
    except (Abort, CheckError, SetupError) as e:
        c.finish(str(e))
    return c.failed


def shim_disconnects(w, ids):
    """containerd's "shim disconnected" log lines about any of ids (the
    sign that it took sandboxd for a dead shim)."""
    found = []
    for path in w.ctrd_logs:
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    if "shim disconnected" in line and any(i in line for i in ids):
                        found.append(line.strip())
        except OSError:
            pass
    return found


def case_6(w, R, name="c6", down=2):
    """sandboxd SIGKILLed under a running pod and started again `down`
    seconds later, its keeper holding containerd's connections meanwhile:
    the pod stays READY through it and after, containerd never notices
    (no "shim disconnected"), and stopp and rmp work as before the crash."""
    checks = ["runp", "keeper-runs", "ready-while-down", "sandboxd-restarted", "resumed",
              "ready-after", "same-pid", "containerd-unaware", "stopp", "rmp",
              "gone-from-pods", "no-leak", "ps-empty"]
    c = Case(R, ["%s.%s" % (name, k) for k in checks])
    print("# case %s: sandboxd SIGKILLed under a running pod, down %ds, keeper on"
          % (name, down), flush=True)
    try:
        w.fresh()
        pod, err = w.runp("k1", hostname="k1")
        c.require(name + ".runp", pod is not None, err)
        pid, _ = guarded(w.pod_pid, pod)
        c.require(name + ".keeper-runs", w.keeper_pid() is not None, "no sandboxd-keeper runs")
        w.kill_sandboxd(signal.SIGKILL)
        time.sleep(down)
        st = pods_state(w, [pod])[pod]
        c.check(name + ".ready-while-down", st == "SANDBOX_READY", "state %s" % st)
        try:
            w.start_sandboxd()
            c.check(name + ".sandboxd-restarted", True)
        except SetupError as e:
            c.require(name + ".sandboxd-restarted", False, str(e))
        resumed = wait_until(lambda: any("keeper: resumed" in l for l in tail(w.sd_log, 400)), 5)
        c.check(name + ".resumed", resumed, "no \"keeper: resumed\" in sandboxd's log")
        time.sleep(3)   # containerd would have reacted by now
        st = pods_state(w, [pod])[pod]
        c.check(name + ".ready-after", st == "SANDBOX_READY", "state %s" % st)
        pid2, _ = guarded(w.pod_pid, pod)
        c.check(name + ".same-pid", pid is not None and pid2 == pid and not pid_gone(pid, w.pause_bin),
                "pause pid %s, then %s" % (pid, pid2))
        lines = shim_disconnects(w, [pod])
        c.check(name + ".containerd-unaware", not lines, one_line("; ".join(lines)))
        rc, out, err = w.crictl("stopp", pod)
        c.check(name + ".stopp", rc == 0, "rc=%s: %s" % (rc, one_line(err or out)))
        rc, out, err = w.crictl("rmp", pod)
        c.check(name + ".rmp", rc == 0, "rc=%s: %s" % (rc, one_line(err or out)))
        left = pod in w.pods()
        c.check(name + ".gone-from-pods", not left, "crictl pods still lists %s" % pod[:12])
        leak_checks(c, w, name)
    except (Abort, CheckError, SetupError) as e:
        c.finish(str(e))
    return c.failed


def case_6_swept(w, R, name="c6b", down=8):
    """sandboxd SIGKILLed under a running pod, its keeper killed too (so
    containerd sees the connections close, as without one), and started
    again `down` seconds later.  Within the launcher's delete budget (4 s)
    the launcher finds it back and shuts the pod down; past it, containerd
    removes the bundle anyway and sandboxd's own sweep of forgotten
    sandboxes must."""
    checks = ["runp", "sandboxd-restarted", "stopp-returns", "rmp-returns",
              "gone-from-pods", "no-leak", "ps-empty"]
    if down > 4:
        checks.insert(2, "orphan-shut-down")
    c = Case(R, ["%s.%s" % (name, k) for k in checks])
    print("# case %s: sandboxd SIGKILLed under a running pod, down %ds" % (name, down),
          flush=True)
    try:
        w.fresh()
        pod, err = w.runp("k1", hostname="k1")
        c.require(name + ".runp", pod is not None, err)
        pid, _ = guarded(w.pod_pid, pod)
        rc = w.kill_sandboxd(signal.SIGKILL)
        w.kill_keeper()
        time.sleep(down)   # containerd sees the connection drop meanwhile
        try:
            w.start_sandboxd()
            c.check(name + ".sandboxd-restarted", True)
        except SetupError as e:
            c.require(name + ".sandboxd-restarted", False, str(e))
        if down > 4:
            gone = pid is not None and wait_until(lambda: pid_gone(pid, w.pause_bin), 10)
            c.check(name + ".orphan-shut-down", gone,
                    "pause pid %s still runs 10 s after sandboxd came back" % pid)
        time.sleep(3)   # let it come back and containerd react
        t0 = time.monotonic()
        rc, out, err = w.crictl("stopp", pod)
        print("# %s: crictl stopp after the crash: rc=%s in %.1fs: %s" % (
            name, rc, time.monotonic() - t0, one_line(err or out)))
        c.check(name + ".stopp-returns", rc is not None, "crictl stopp hung: " + one_line(err))
        t0 = time.monotonic()
        rc, out, err = w.crictl("rmp", pod)
        print("# %s: crictl rmp after the crash: rc=%s in %.1fs: %s" % (
            name, rc, time.monotonic() - t0, one_line(err or out)))
        c.check(name + ".rmp-returns", rc is not None, "crictl rmp hung: " + one_line(err))
        left = pod in w.pods()
        c.check(name + ".gone-from-pods", not left, "crictl pods still lists %s" % pod[:12])
        if pid:
            print("# %s: pause pid %d %s" % (name, pid, "gone" if pid_gone(pid, w.pause_bin)
                                            else "still running"))
        leak_checks(c, w, name)
    except (Abort, CheckError, SetupError) as e:
        c.finish(str(e))
    return c.failed


def case_7(w, R):
    n = REEXEC_PODS
    c = Case(R, ["c7.runp-%d" % n, "c7.all-ready-before", "c7.same-pid", "c7.exec-happened",
                 "c7.containerd-noticed-nothing", "c7.all-ready-after", "c7.stopp-all",
                 "c7.waits-answered", "c7.rmp-all", "c7.no-leak", "c7.ps-empty"])
    print("# case 7: SIGUSR2 re-exec of sandboxd under %d running pods" % n, flush=True)
    try:
        w.fresh()
        res = parallel(lambda i: w.runp("x%d" % i, hostname="x%d" % i), range(n))
        ids = [p for p, _ in res if p]
        c.require("c7.runp-%d" % n, len(ids) == n, summarize_errors([e for _, e in res]))
        st = pods_state(w, ids)
        c.require("c7.all-ready-before", all(v == "SANDBOX_READY" for v in st.values()),
                  "%d not READY" % sum(v != "SANDBOX_READY" for v in st.values()))
        pid = w.sd.pid
        stat0 = proc_stat(pid)
        stack0 = stack_mapping(pid)
        with open(w.ctrd_log) as f:
            f.seek(0, 2)
            log_off = f.tell()
        with open(w.sd_log) as f:
            f.seek(0, 2)
            sd_off = f.tell()
        os.kill(pid, signal.SIGUSR2)
        time.sleep(1)
        alive = wait_until(lambda: w.sd_alive() and w.sd_answers(), 10)
        stat1 = proc_stat(pid)
        c.require("c7.same-pid", alive and stat1 is not None and stat0[3] == stat1[3],
                  "sandboxd %d after SIGUSR2: %s" % (
                      pid, "exited with status %s" % w.sd.returncode
                      if w.sd.poll() is not None else "does not answer on its socket"))
        stack1 = stack_mapping(pid)
        with open(w.sd_log, errors="replace") as f:
            f.seek(sd_off)
            sd_new = f.read()
        aslr = open("/proc/sys/kernel/randomize_va_space").read().strip() != "0"
        if aslr:
            c.check("c7.exec-happened", stack0 != stack1,
                    "same [stack] mapping %s before and after SIGUSR2: no exec" % stack0)
        else:
            c.check("c7.exec-happened", re.search(r"exec", sd_new, re.I) is not None,
                    "ASLR off and no 'exec' in sandboxd's log after SIGUSR2")
        time.sleep(2)   # a dropped connection would reach containerd by now
        with open(w.ctrd_log, errors="replace") as f:
            f.seek(log_off)
            new = f.read().splitlines()
        noticed = [l for l in new if re.search(
            r"shim disconnected|failed to wait for sandbox exit|cleaning up after shim|"
            r"cleaning up dead shim|level=error", l)]
        c.check("c7.containerd-noticed-nothing", not noticed,
                "%d containerd log line(s), e.g. %s" % (len(noticed), one_line(
                    " | ".join(noticed[:2]), 600)))
        st = pods_state(w, ids)
        c.check("c7.all-ready-after", all(v == "SANDBOX_READY" for v in st.values()),
                "%d of %d not READY: %s" % (
                    sum(v != "SANDBOX_READY" for v in st.values()), n,
                    sorted(set(str(v) for v in st.values()))))
        with open(w.ctrd_log) as f:
            f.seek(0, 2)
            log_off = f.tell()

        def stopp(pod):
            rc, out, err = w.crictl("stopp", pod)
            return None if rc == 0 else "rc=%s %s" % (rc, one_line(err or out))
        errs = parallel(stopp, ids)
        c.check("c7.stopp-all", not any(errs), summarize_errors(errs))
        # CRI marks a pod NOTREADY in crictl pods only when the WaitSandbox
        # it sent at runp returns; an error instead of an answer is logged.
        notready = wait_until(lambda: all(
            v == "SANDBOX_NOTREADY" for v in pods_state(w, ids).values()), 10, 0.5)
        with open(w.ctrd_log, errors="replace") as f:
            f.seek(log_off)
            werr = [l for l in f.read().splitlines() if "failed to wait for sandbox exit" in l]
        c.check("c7.waits-answered", notready and not werr,
                "%s; %d 'failed to wait for sandbox exit' in containerd's log%s" % (
                    "all NOTREADY" if notready else "%d pods not NOTREADY" % sum(
                        v != "SANDBOX_NOTREADY" for v in pods_state(w, ids).values()),
                    len(werr), (": " + one_line(werr[0], 300)) if werr else ""))

        def rmp(pod):
            rc, out, err = w.crictl("rmp", pod)
            return None if rc == 0 else "rc=%s %s" % (rc, one_line(err or out))
        errs = parallel(rmp, ids)
        left = set(ids) & set(w.pods())
        if left:
            errs.append("%d still listed by crictl pods" % len(left))
        c.check("c7.rmp-all", not any(errs), summarize_errors(errs))
        leak_checks(c, w, "c7")
    except (Abort, CheckError, SetupError) as e:
        c.finish(str(e))
    return c.failed


def case_8(w, R):
    n = PARALLEL_PODS
    c = Case(R, ["c8.runp-%d" % n, "c8.stopp-rmp-%d" % n, "c8.no-leak", "c8.mounts",
                 "c8.fds", "c8.ps-empty"])
    print("# case 8: %d pods created and removed by %d parallel crictl workers" % (n, WORKERS),
          flush=True)
    try:
        w.fresh()
        mounts0 = w.mounts()
        fds0 = w.fd_count()
        t0 = time.monotonic()
        res = parallel(lambda i: w.runp("p%d" % i, hostname="p%d" % i), range(n))
        ids = [p for p, _ in res if p]
        t1 = time.monotonic()
        c.check("c8.runp-%d" % n, len(ids) == n, summarize_errors([e for _, e in res]))
        print("# c8: %d runp in %.1fs" % (len(ids), t1 - t0))
        if not ids:
            raise Abort("no pod was created")
        errs = parallel(lambda p: stop_remove(w, p), ids)
        left = set(ids) & set(w.pods())
        if left:
            errs.append("%d still listed by crictl pods" % len(left))
        c.check("c8.stopp-rmp-%d" % n, not any(errs), summarize_errors(errs))
        print("# c8: %d stopp+rmp in %.1fs" % (len(ids), time.monotonic() - t1))
        found = w.leaks(15)
        c.check("c8.no-leak", not found, "; ".join(found))
        # Other tests on the machine mount and unmount too: only new mounts
        # under the temp dir or where containerd or sandboxd mount by
        # default count; the total is reported.
        mounts1 = w.mounts()
        new = [l for l in mounts1 if l not in mounts0]
        ours = [l for l in new if len(l.split()) > 4 and (
            l.split()[4].startswith(w.top + "/") or
            re.match(r"/(var/)?run/(netns|containerd|sandboxd)(/|$)", l.split()[4]))]
        print("# c8: mountinfo %d lines before, %d after (%d new, %d of them ours)" % (
            len(mounts0), len(mounts1), len(new), len(ours)))
        c.check("c8.mounts", not ours, "%d new mount(s) left: %s" % (
            len(ours), one_line(" | ".join(ours[:3]), 600)))
        fds = wait_until(lambda: (w.fd_count() or 0) <= fds0 + 3 and w.fd_count(), 5, 0.25)
        c.check("c8.fds", bool(fds), "sandboxd had %s fds before, %s after" % (
            fds0, w.fd_count()))
        inst, err = w.ps()
        c.check("c8.ps-empty", inst == [], err or "%d instance(s) left" % len(inst))
    except (Abort, CheckError, SetupError) as e:
        c.finish(str(e))
    return c.failed


# ---------------------------------------------------------------- main

def main():
    if len(sys.argv) != 3:
        print("usage: e2e.py <sandboxd-build-dir> <containerd-bin-dir>", file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[1])
    cbin = os.path.abspath(sys.argv[2])
    only = set(x.strip() for x in os.environ.get("E2E_ONLY", "").split(",") if x.strip())
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    top = tempfile.mkdtemp(prefix="sbd-e2e.", dir="/tmp")
    R = Results()
    t_start = time.monotonic()
    rc, out, err = run([os.path.join(cbin, "containerd"), "--version"], timeout=10)
    print("# containerd: %s" % one_line(out or err))
    print("# temp dir: %s" % top, flush=True)

    def case_6_long(w, R):
        return case_6_swept(w, R, name="c6b", down=8)
    cases = [("case" + num, fn) for num, fn in (
        ("1", cases_1_to_4), ("5", case_5), ("6", case_6), ("6", case_6_long),
        ("7", case_7), ("8", case_8))
        if not only or num in only or (num == "1" and only & {"2", "3", "4"})]
    return run_cases(R, top, t_start, lambda: World(build, cbin, top), cases)


def run_cases(R, top, t_start, make_world, cases):
    """Run (name, fn) cases in turn in the world make_world() builds, each
    fn(world, R) returning whether it failed; a SetupError fails only its
    case (reported as <name>.setup).  Whatever happens the world is torn
    down and top removed (unless E2E_KEEP=1).  Prints the totals and
    returns the exit status."""
    w = None
    try:
        w = make_world()
        for name, fn in cases:
            t0 = time.monotonic()
            try:
                failed = fn(w, R)
            except SetupError as e:
                print("# setup failed: %s" % e)
                R.report("%s.setup" % name, False, str(e))
                failed = True
            print("# (%.1fs)" % (time.monotonic() - t0), flush=True)
            if failed:
                w.show_logs()
    except Interrupted as e:
        print("# interrupted (%s): cleaning up" % e, flush=True)
        R.report("interrupted", False, str(e))
    except Exception:
        traceback.print_exc()
        R.report("test-error", False, "the test itself raised an exception (above)")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if w is not None:
            try:
                w.teardown()
            except Exception:
                traceback.print_exc()
        mine = [l for l in open("/proc/self/mountinfo").read().splitlines() if top in l]
        if mine:
            print("# warning: mounts left under %s: %s" % (top, mine))
        if KEEP:
            print("# kept %s" % top)
        else:
            shutil.rmtree(top, ignore_errors=True)
    print("# total %.1fs" % (time.monotonic() - t_start))
    print("%d passed, %d failed" % (R.passed, R.failed), flush=True)
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main())
