package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
)

func shimChecks(s *section) {
	bundles := filepath.Join(*flagTmp, "bundles")

	// ---- with a store record (runtime io.sandboxd.exec.v1)
	id := "shim-1"
	s.storeCreate(id, execRuntime, sleepSpec)
	bundle := filepath.Join(bundles, id)
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		s.fatal("mkdir %s: %v", bundle, err)
	}
	s.trackCreated(id)
	s.call(shimSvc, "CreateSandbox", &CreateSandboxRequest{SandboxId: id, BundlePath: bundle,
		Annotations: map[string]string{"io.kubernetes.cri.sandbox-name": "interop"}}, &CreateSandboxResponse{}).
		ok("Sandbox.CreateSandbox " + id + " (store record present)")
	var st StartSandboxResponse
	s.call(shimSvc, "StartSandbox", &StartSandboxRequest{SandboxId: id}, &st).ok("Sandbox.StartSandbox " + id)
	s.must(st.Pid > 0, fmt.Sprintf("  ... pid %d > 0", st.Pid), "pid %d", st.Pid)
	pid := st.Pid
	inst := s.track(id, pid)
	s.check(recent(st.CreatedAt), "  ... created_at set", "created_at %s", tsString(st.CreatedAt))
	s.check(anyEqual(st.Spec, specAny(sleepSpec)), "  ... spec echoes the stored spec", "got %s", anyString(st.Spec))
	s.check(reflect.DeepEqual(waitCmdline(int(pid), []string{"/bin/sleep", "30"}, 2*time.Second), []string{"/bin/sleep", "30"}), fmt.Sprintf("  ... pid %d runs /bin/sleep 30", pid),
		"cmdline %q", procCmdline(int(pid)))
	s.call(shimSvc, "StartSandbox", &StartSandboxRequest{SandboxId: id}, &StartSandboxResponse{}).
		code(codes.FailedPrecondition, "Sandbox.StartSandbox of a running sandbox")

	s.call(shimSvc, "PingSandbox", &PingRequest{SandboxId: id}, &PingResponse{}).ok("Sandbox.PingSandbox " + id)
	var ss SandboxStatusResponse
	s.call(shimSvc, "SandboxStatus", &SandboxStatusRequest{SandboxId: id, Verbose: true}, &ss).ok("Sandbox.SandboxStatus " + id)
	s.check(ss.State == "SANDBOX_READY" && ss.Pid == pid && ss.SandboxId == id, "  ... SANDBOX_READY, same pid", "got %s (pid %d)", ss.String(), pid)
	s.check(recent(ss.CreatedAt), "  ... created_at set", "created_at %s", tsString(ss.CreatedAt))
	s.check(len(ss.Info) > 0, fmt.Sprintf("  ... verbose info has %d entries", len(ss.Info)), "info empty")
	var cs ControllerStatusResponse
	s.call(ctrlSvc, "Status", &ControllerStatusRequest{SandboxId: id}, &cs).ok("Controller.Status of the shim-created " + id)
	s.check(cs.State == ss.State && cs.Pid == ss.Pid && tsTime(cs.CreatedAt).Equal(tsTime(ss.CreatedAt)),
		"  ... the same as SandboxStatus", "Controller: %s; shim: %s", cs.String(), ss.String())

	s.checkPlatform(shimSvc, "Platform", &PlatformRequest{SandboxId: id}, "Sandbox.Platform")
	s.checkMetrics(shimSvc, "SandboxMetrics", &SandboxMetricsRequest{SandboxId: id}, id, "Sandbox.SandboxMetrics")

	wctx, wcancel := context.WithTimeout(withNamespace(context.Background(), s.ns), 20*time.Second)
	defer wcancel()
	var wr WaitSandboxResponse
	wa := s.asyncCall(wctx, shimSvc, "WaitSandbox", &WaitSandboxRequest{SandboxId: id}, &wr)
	time.Sleep(200 * time.Millisecond)
	s.must(pending(wa), "Sandbox.WaitSandbox on a running sandbox stays pending", "it returned before StopSandbox")
	s.call(shimSvc, "PingSandbox", &PingRequest{SandboxId: id}, &PingResponse{}).ok("Sandbox.PingSandbox while WaitSandbox is pending")
	r := s.call(shimSvc, "StopSandbox", &StopSandboxRequest{SandboxId: id, TimeoutSecs: 5}, &StopSandboxResponse{})
	r.ok("Sandbox.StopSandbox timeout_secs 5")
	s.check(r.elapsed < 4500*time.Millisecond, fmt.Sprintf("  ... replied in %v", r.elapsed.Round(time.Millisecond)), "took %v", r.elapsed)
	s.checkTermExit(wa, &wr, "Sandbox.WaitSandbox", "StopSandbox")
	ss = SandboxStatusResponse{}
	s.call(shimSvc, "SandboxStatus", &SandboxStatusRequest{SandboxId: id}, &ss).ok("Sandbox.SandboxStatus after StopSandbox")
	s.check(ss.State == "SANDBOX_NOTREADY" && recent(ss.ExitedAt), "  ... SANDBOX_NOTREADY, exited_at set", "got %s", ss.String())

	s.call(shimSvc, "ShutdownSandbox", &ShutdownSandboxRequest{SandboxId: id}, &ShutdownSandboxResponse{}).ok("Sandbox.ShutdownSandbox " + id)
	inst.done = true
	s.check(waitReaped(int(pid), inst.startTime, 2*time.Second), "  ... the process is reaped", "pid %d state %q", pid, procState(int(pid)))
	s.call(shimSvc, "PingSandbox", &PingRequest{SandboxId: id}, &PingResponse{}).code(codes.NotFound, "Sandbox.PingSandbox after ShutdownSandbox")
	s.call(shimSvc, "SandboxStatus", &SandboxStatusRequest{SandboxId: id}, &SandboxStatusResponse{}).code(codes.NotFound, "Sandbox.SandboxStatus after ShutdownSandbox")
	s.call(shimSvc, "ShutdownSandbox", &ShutdownSandboxRequest{SandboxId: id}, &ShutdownSandboxResponse{}).ok("Sandbox.ShutdownSandbox again (store record still there)")
	s.call(storeSvc, "Delete", &StoreDeleteRequest{SandboxId: id}, &StoreDeleteResponse{}).ok("Store.Delete " + id)

	// ---- without a store record: <bundle>/config.json, default runtime
	id = "shim-2"
	hostname := "interop-pause"
	bundle = filepath.Join(bundles, id)
	config := `{"ociVersion":"1.1.0","hostname":"` + hostname + `"}`
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		s.fatal("mkdir %s: %v", bundle, err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(config), 0o644); err != nil {
		s.fatal("write config.json: %v", err)
	}
	s.trackCreated(id)
	s.call(shimSvc, "CreateSandbox", &CreateSandboxRequest{SandboxId: id, BundlePath: bundle}, &CreateSandboxResponse{}).
		ok("Sandbox.CreateSandbox " + id + " without a store record (bundle config.json " + config + ")")
	st = StartSandboxResponse{}
	s.call(shimSvc, "StartSandbox", &StartSandboxRequest{SandboxId: id}, &st).ok("Sandbox.StartSandbox " + id)
	s.must(st.Pid > 0, fmt.Sprintf("  ... pid %d > 0", st.Pid), "pid %d", st.Pid)
	pid = st.Pid
	inst = s.track(id, pid)
	s.info("StartSandbox spec: %s", anyString(st.Spec))
	if *flagPause != "" {
		exe := waitExe(int(pid), filepath.Base(*flagPause), 2*time.Second)
		s.check(filepath.Base(exe) == filepath.Base(*flagPause), fmt.Sprintf("  ... pid %d runs the pause binary (default runtime)", pid),
			"/proc/%d/exe -> %q, cmdline %q", pid, exe, procCmdline(int(pid)))
	}
	s.check(nsLink(int(pid), "uts") != "" && nsLink(int(pid), "uts") != nsLink(0, "uts"), "  ... in its own UTS namespace",
		"uts %q vs ours %q", nsLink(int(pid), "uts"), nsLink(0, "uts"))
	s.check(nsLink(int(pid), "pid") != "" && nsLink(int(pid), "pid") != nsLink(0, "pid"), "  ... in its own PID namespace",
		"pid ns %q vs ours %q", nsLink(int(pid), "pid"), nsLink(0, "pid"))
	if nsenter, err := exec.LookPath("nsenter"); err == nil && os.Geteuid() == 0 {
		out, err := exec.Command(nsenter, "-t", strconv.Itoa(int(pid)), "-u", "hostname").CombinedOutput()
		s.check(err == nil && strings.TrimSpace(string(out)) == hostname, "  ... hostname "+hostname+" (from config.json)",
			"nsenter -u hostname: %q %v", strings.TrimSpace(string(out)), err)
	}
	s.call(shimSvc, "PingSandbox", &PingRequest{SandboxId: id}, &PingResponse{}).ok("Sandbox.PingSandbox " + id)
	ss = SandboxStatusResponse{}
	s.call(shimSvc, "SandboxStatus", &SandboxStatusRequest{SandboxId: id}, &ss).ok("Sandbox.SandboxStatus " + id)
	s.check(ss.State == "SANDBOX_READY" && ss.Pid == pid, "  ... SANDBOX_READY, same pid", "got %s", ss.String())
	wr = WaitSandboxResponse{}
	wa = s.asyncCall(wctx, shimSvc, "WaitSandbox", &WaitSandboxRequest{SandboxId: id}, &wr)
	time.Sleep(150 * time.Millisecond)
	r = s.call(shimSvc, "StopSandbox", &StopSandboxRequest{SandboxId: id, TimeoutSecs: 5}, &StopSandboxResponse{})
	r.ok("Sandbox.StopSandbox " + id + " timeout_secs 5")
	s.check(r.elapsed < 4500*time.Millisecond, fmt.Sprintf("  ... replied in %v (pause exits on SIGTERM)", r.elapsed.Round(time.Millisecond)), "took %v", r.elapsed)
	s.await(wa, 10*time.Second, "Sandbox.WaitSandbox").ok("Sandbox.WaitSandbox returns")
	s.check(wr.ExitStatus != 137 && recent(wr.ExitedAt), fmt.Sprintf("  ... exit_status %d (not SIGKILLed), exited_at set", wr.ExitStatus),
		"exit_status %d exited_at %s", wr.ExitStatus, tsString(wr.ExitedAt))
	s.call(shimSvc, "ShutdownSandbox", &ShutdownSandboxRequest{SandboxId: id}, &ShutdownSandboxResponse{}).ok("Sandbox.ShutdownSandbox " + id)
	inst.done = true
	s.check(waitReaped(int(pid), inst.startTime, 2*time.Second), "  ... the process is reaped", "pid %d state %q", pid, procState(int(pid)))
	s.call(shimSvc, "PingSandbox", &PingRequest{SandboxId: id}, &PingResponse{}).code(codes.NotFound, "Sandbox.PingSandbox after ShutdownSandbox")
	s.call(shimSvc, "ShutdownSandbox", &ShutdownSandboxRequest{SandboxId: id}, &ShutdownSandboxResponse{}).
		code(codes.NotFound, "Sandbox.ShutdownSandbox again (no store record)")

	// Neither a store record nor a config.json (what containerd's CRI
	// plugin sends): an empty spec, run by the default runtime.
	empty := filepath.Join(bundles, "shim-3")
	_ = os.MkdirAll(empty, 0o755)
	s.trackCreated("shim-3")
	s.call(shimSvc, "CreateSandbox", &CreateSandboxRequest{SandboxId: "shim-3", BundlePath: empty}, &CreateSandboxResponse{}).
		ok("Sandbox.CreateSandbox with neither store record nor config.json: an empty spec")
	s.call(shimSvc, "ShutdownSandbox", &ShutdownSandboxRequest{SandboxId: "shim-3"}, &ShutdownSandboxResponse{}).ok("Sandbox.ShutdownSandbox shim-3")

	// A config.json that is no regular file: an error, and nothing made.
	fifo := filepath.Join(bundles, "shim-4")
	_ = os.MkdirAll(fifo, 0o755)
	if err := syscall.Mkfifo(filepath.Join(fifo, "config.json"), 0o644); err != nil {
		s.fatal("mkfifo: %v", err)
	}
	s.trackCreated("shim-4")
	r = s.call(shimSvc, "CreateSandbox", &CreateSandboxRequest{SandboxId: "shim-4", BundlePath: fifo}, &CreateSandboxResponse{})
	s.check(r.err != nil, "Sandbox.CreateSandbox with a FIFO as config.json fails: "+describeErr(r.err), "it succeeded")
	s.call(shimSvc, "PingSandbox", &PingRequest{SandboxId: "shim-4"}, &PingResponse{}).code(codes.NotFound, "  ... and leaves no instance (PingSandbox)")
	s.call(shimSvc, "Nope", &PingRequest{SandboxId: "shim-3"}, &PingResponse{}).code(codes.Unimplemented, "method Nope on the shim Sandbox service")
}
