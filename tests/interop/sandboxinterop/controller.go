package main

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/gogo/protobuf/proto"
	"google.golang.org/grpc/codes"
)

const sleepSpec = `{"process":{"args":["/bin/sleep","30"],"env":["PATH=/usr/bin:/bin"],"cwd":"/"}}`
const ignoreTermSpec = `{"process":{"args":["/bin/sh","-c","trap '' TERM; while :; do sleep 1; done"],"env":["PATH=/usr/bin:/bin"],"cwd":"/"}}`

// async: a call running in a goroutine.
type async struct {
	done chan struct{}
	res  *result
}

func (s *section) asyncCall(ctx context.Context, svc, method string, req, resp proto.Message) *async {
	a := &async{done: make(chan struct{})}
	go func() { a.res = s.callCtx(ctx, svc, method, req, resp); close(a.done) }()
	return a
}

func pending(a *async) bool {
	select {
	case <-a.done:
		return false
	default:
		return true
	}
}

// await takes the result of an async call, failing (fatal) after d.
func (s *section) await(a *async, d time.Duration, what string) *result {
	select {
	case <-a.done:
		return a.res
	case <-time.After(d):
		s.fatal("%s: no reply within %s", what, d)
	}
	return nil
}

func (s *section) storeCreate(id, runtimeName, spec string) {
	sb := &Sandbox{SandboxId: id, Runtime: &SandboxRuntime{Name: runtimeName}, Spec: specAny(spec),
		Labels: map[string]string{"suite": "interop"}}
	s.call(storeSvc, "Create", &StoreCreateRequest{Sandbox: sb}, &StoreCreateResponse{}).ok("Store.Create " + id + " (" + runtimeName + ")")
}

// ctlStart: Controller.Create + Start of a stored sandbox; returns the pid.
func (s *section) ctlCreateStart(id string) (uint32, *instance) {
	var cr ControllerCreateResponse
	s.trackCreated(id)
	s.call(ctrlSvc, "Create", &ControllerCreateRequest{SandboxId: id}, &cr).ok("Controller.Create " + id)
	var st ControllerStartResponse
	s.call(ctrlSvc, "Start", &ControllerStartRequest{SandboxId: id}, &st).ok("Controller.Start " + id)
	s.must(st.Pid > 0, fmt.Sprintf("  ... pid %d > 0", st.Pid), "pid %d", st.Pid)
	return st.Pid, s.track(id, st.Pid)
}

// checkPlatform calls a Platform method (what names it); the Controller and
// the shim answer with the same message.
func (s *section) checkPlatform(svc, method string, req proto.Message, what string) {
	var pr platformMsg
	s.call(svc, method, req, &pr).ok(what)
	p := pr.Platform
	s.check(p != nil && p.Os == "linux" && p.Architecture == runtime.GOARCH,
		fmt.Sprintf("%s -> os linux, architecture %s", what, runtime.GOARCH), "got %v", p)
}

// checkMetrics calls a Metrics method (what names it) for sandbox id and
// checks its Metric; the Controller and the shim answer with the same
// message.
func (s *section) checkMetrics(svc, method string, req proto.Message, id, what string) {
	var mr metricsMsg
	s.call(svc, method, req, &mr).ok(what)
	s.checkMetric(mr.Metrics, id, what, func() *Metric {
		var again metricsMsg
		s.call(svc, method, req, &again)
		return again.Metrics
	})
}

// checkMetric checks one Metric; refetch asks the daemon again (used when
// rss_bytes reads 0: the kernel's RSS counters of a process that exec'd a
// few milliseconds ago may not have been folded yet, so give it a second).
func (s *section) checkMetric(m *Metric, id, what string, refetch func() *Metric) {
	if !s.check(m != nil && m.Id == id, what+": metrics.id is the sandbox id", "got %v", m) {
		return
	}
	s.check(recent(m.Timestamp), what+": metrics.timestamp is now", "timestamp %s", tsString(m.Timestamp))
	if !s.check(m.Data != nil && strings.HasPrefix(m.Data.TypeUrl, "sandboxd.v1."),
		what+": metrics.data type URL starts with \"sandboxd.v1.\"", "data %s", anyString(m.Data)) {
		return
	}
	var sm SandboxdMetrics
	if err := proto.Unmarshal(m.Data.Value, &sm); err != nil {
		s.fail("%s: metrics.data (%s) does not decode as sandboxd.v1.Metrics: %v", what, m.Data.TypeUrl, err)
		return
	}
	s.check(sm.Pids >= 1, fmt.Sprintf("%s: data decodes as sandboxd.v1.Metrics {%s}, pids >= 1", what, sm.String()), "expected pids >= 1")
	tries := 0
	for sm.RssBytes == 0 && tries < 10 {
		time.Sleep(100 * time.Millisecond)
		tries++
		m2 := refetch()
		if m2 == nil || m2.Data == nil {
			break
		}
		sm = SandboxdMetrics{}
		if proto.Unmarshal(m2.Data.Value, &sm) != nil {
			break
		}
	}
	s.check(sm.RssBytes > 0, fmt.Sprintf("%s: rss_bytes %d > 0 (%d re-reads)", what, sm.RssBytes, tries),
		"rss_bytes still 0 after %d re-reads over 1 s: {%s}", tries, sm.String())
}

// checkTermExit takes the answer of a pending Wait (its method named by
// wait) that a Stop (named by stop) ended with SIGTERM: the same checks
// for the Controller and the shim, which answer with the same message.
func (s *section) checkTermExit(a *async, wr *waitMsg, wait, stop string) {
	s.await(a, 10*time.Second, wait).ok(wait + " returns after " + stop)
	s.check(wr.ExitStatus == 143, "  ... exit_status 143 (128+SIGTERM)", "got %d", wr.ExitStatus)
	s.check(recent(wr.ExitedAt), "  ... exited_at set", "exited_at %s", tsString(wr.ExitedAt))
}

func controllerChecks(s *section) {
	// ---- §5 lifecycle of one sandbox running /bin/sleep 30
	id := "ctl-1"
	s.storeCreate(id, execRuntime, sleepSpec)
	s.call(ctrlSvc, "Status", &ControllerStatusRequest{SandboxId: id}, &ControllerStatusResponse{}).
		code(codes.NotFound, "Controller.Status of a stored sandbox before Controller.Create")
	var cr ControllerCreateResponse
	s.trackCreated(id)
	s.call(ctrlSvc, "Create", &ControllerCreateRequest{SandboxId: id}, &cr).ok("Controller.Create " + id)
	s.check(cr.SandboxId == id, "  ... returns sandbox_id "+id, "got %q", cr.SandboxId)
	s.call(ctrlSvc, "Create", &ControllerCreateRequest{SandboxId: id}, &ControllerCreateResponse{}).
		code(codes.AlreadyExists, "Controller.Create "+id+" again")
	var sr ControllerStatusResponse
	s.call(ctrlSvc, "Status", &ControllerStatusRequest{SandboxId: id}, &sr).ok("Controller.Status after Create")
	s.check(sr.State == "SANDBOX_NOTREADY" && sr.SandboxId == id, "  ... SANDBOX_NOTREADY before Start", "got %v", sr.String())

	var st ControllerStartResponse
	s.call(ctrlSvc, "Start", &ControllerStartRequest{SandboxId: id}, &st).ok("Controller.Start " + id)
	s.must(st.Pid > 0, fmt.Sprintf("  ... pid %d > 0", st.Pid), "pid %d", st.Pid)
	inst := s.track(id, st.Pid)
	pid := st.Pid
	s.check(recent(st.CreatedAt), "  ... created_at set", "created_at %s", tsString(st.CreatedAt))
	s.check(st.SandboxId == "" || st.SandboxId == id, "  ... sandbox_id empty or "+id, "got %q", st.SandboxId)
	s.check(anyEqual(st.Spec, specAny(sleepSpec)), "  ... spec echoes the stored spec", "got %s", anyString(st.Spec))
	s.check(reflect.DeepEqual(waitCmdline(int(pid), []string{"/bin/sleep", "30"}, 2*time.Second), []string{"/bin/sleep", "30"}), fmt.Sprintf("  ... pid %d runs /bin/sleep 30", pid),
		"cmdline %q", procCmdline(int(pid)))

	sr = ControllerStatusResponse{}
	s.call(ctrlSvc, "Status", &ControllerStatusRequest{SandboxId: id}, &sr).ok("Controller.Status " + id)
	s.check(sr.State == "SANDBOX_READY" && sr.Pid == pid && sr.SandboxId == id, "  ... SANDBOX_READY, same pid",
		"got %s (Start said pid %d)", sr.String(), pid)
	s.check(recent(sr.CreatedAt), "  ... created_at set", "created_at %s", tsString(sr.CreatedAt))
	sr = ControllerStatusResponse{}
	s.call(ctrlSvc, "Status", &ControllerStatusRequest{SandboxId: id, Verbose: true}, &sr).ok("Controller.Status verbose")
	s.check(len(sr.Info) > 0, fmt.Sprintf("  ... info has %d entries", len(sr.Info)), "info empty")
	s.info("verbose info: %v", sr.Info)

	s.checkPlatform(ctrlSvc, "Platform", &ControllerPlatformRequest{SandboxId: id}, "Controller.Platform")

	s.call(ctrlSvc, "Start", &ControllerStartRequest{SandboxId: id}, &ControllerStartResponse{}).
		code(codes.FailedPrecondition, "Controller.Start of a running sandbox")

	s.checkMetrics(ctrlSvc, "Metrics", &ControllerMetricsRequest{SandboxId: id}, id, "Controller.Metrics")

	s.call(ctrlSvc, "Update", &ControllerUpdateRequest{SandboxId: id,
		Sandbox: &Sandbox{SandboxId: id, Labels: map[string]string{"upd": "1"}}, Fields: []string{"labels.upd"}},
		&ControllerUpdateResponse{}).ok(`Controller.Update fields ["labels.upd"]`)

	s.call(storeSvc, "Delete", &StoreDeleteRequest{SandboxId: id}, &StoreDeleteResponse{}).
		code(codes.FailedPrecondition, "Store.Delete of a sandbox whose instance is running")

	// Wait (deferred) + Stop: the Wait must stay pending, and not hold up
	// other calls on the connection.
	wctx, wcancel := context.WithTimeout(withNamespace(context.Background(), s.ns), 20*time.Second)
	defer wcancel()
	var wr ControllerWaitResponse
	wch := s.asyncCall(wctx, ctrlSvc, "Wait", &ControllerWaitRequest{SandboxId: id}, &wr)
	time.Sleep(200 * time.Millisecond)
	s.must(pending(wch), "Controller.Wait on a running sandbox stays pending", "it returned before Stop")
	var gr StoreGetResponse
	s.call(storeSvc, "Get", &StoreGetRequest{SandboxId: id}, &gr).ok("Store.Get " + id + " on the same connection while Wait is pending")
	s.check(pending(wch), "  ... Wait still pending", "Wait returned")
	r := s.call(ctrlSvc, "Stop", &ControllerStopRequest{SandboxId: id, TimeoutSecs: 5}, &ControllerStopResponse{})
	r.ok("Controller.Stop timeout_secs 5")
	s.check(r.elapsed < 4500*time.Millisecond, fmt.Sprintf("  ... replied in %v (SIGTERM sufficed)", r.elapsed.Round(time.Millisecond)), "took %v", r.elapsed)
	s.check(!procRunning(int(pid)), "  ... the process has exited when Stop replies", "pid %d state %q", pid, procState(int(pid)))
	s.checkTermExit(wch, &wr, "Controller.Wait", "Stop")

	sr = ControllerStatusResponse{}
	s.call(ctrlSvc, "Status", &ControllerStatusRequest{SandboxId: id}, &sr).ok("Controller.Status after Stop")
	s.check(sr.State == "SANDBOX_NOTREADY", "  ... SANDBOX_NOTREADY", "got %s", sr.String())
	s.check(recent(sr.ExitedAt), "  ... exited_at set", "exited_at %s", tsString(sr.ExitedAt))
	wr2 := ControllerWaitResponse{}
	r = s.call(ctrlSvc, "Wait", &ControllerWaitRequest{SandboxId: id}, &wr2)
	r.ok("Controller.Wait after exit")
	s.check(wr2.ExitStatus == 143 && r.elapsed < 2*time.Second, "  ... at once, exit_status 143", "exit_status %d after %v", wr2.ExitStatus, r.elapsed)
	s.call(ctrlSvc, "Stop", &ControllerStopRequest{SandboxId: id, TimeoutSecs: 5}, &ControllerStopResponse{}).ok("Controller.Stop of a stopped sandbox")

	s.call(ctrlSvc, "Shutdown", &ControllerShutdownRequest{SandboxId: id}, &ControllerShutdownResponse{}).ok("Controller.Shutdown " + id)
	inst.done = true
	s.check(waitReaped(int(pid), inst.startTime, 2*time.Second), "  ... the process is reaped", "pid %d state %q", pid, procState(int(pid)))
	s.call(ctrlSvc, "Status", &ControllerStatusRequest{SandboxId: id}, &ControllerStatusResponse{}).code(codes.NotFound, "Controller.Status after Shutdown")
	s.call(ctrlSvc, "Shutdown", &ControllerShutdownRequest{SandboxId: id}, &ControllerShutdownResponse{}).ok("Controller.Shutdown again (store record still there)")
	gr = StoreGetResponse{}
	s.call(storeSvc, "Get", &StoreGetRequest{SandboxId: id}, &gr).ok("Store.Get " + id + " after Shutdown (metadata stays)")
	s.call(storeSvc, "Delete", &StoreDeleteRequest{SandboxId: id}, &StoreDeleteResponse{}).ok("Store.Delete " + id)
	s.call(ctrlSvc, "Shutdown", &ControllerShutdownRequest{SandboxId: id}, &ControllerShutdownResponse{}).
		code(codes.NotFound, "Controller.Shutdown of an id unknown to controller and store")

	// ---- unknown ids
	u := "ctl-unknown"
	s.call(ctrlSvc, "Start", &ControllerStartRequest{SandboxId: u}, &ControllerStartResponse{}).code(codes.NotFound, "Controller.Start unknown id")
	s.call(ctrlSvc, "Stop", &ControllerStopRequest{SandboxId: u}, &ControllerStopResponse{}).code(codes.NotFound, "Controller.Stop unknown id")
	s.call(ctrlSvc, "Wait", &ControllerWaitRequest{SandboxId: u}, &ControllerWaitResponse{}).code(codes.NotFound, "Controller.Wait unknown id")
	s.call(ctrlSvc, "Metrics", &ControllerMetricsRequest{SandboxId: u}, &ControllerMetricsResponse{}).code(codes.NotFound, "Controller.Metrics unknown id")
	s.call(ctrlSvc, "Create", &ControllerCreateRequest{SandboxId: u}, &ControllerCreateResponse{}).
		code(codes.NotFound, "Controller.Create of an id in neither the request nor the store")

	// ---- SIGTERM ignored: Stop's timer escalates to SIGKILL
	id = "ctl-term"
	s.storeCreate(id, execRuntime, ignoreTermSpec)
	pid, inst = s.ctlCreateStart(id)
	ignores := poll(5*time.Second, func() bool { return procIgnores(int(pid), syscall.SIGTERM) })
	s.must(ignores, fmt.Sprintf("  ... pid %d ignores SIGTERM (trap set)", pid), "SigIgn has no SIGTERM after 5s; cmdline %q", procCmdline(int(pid)))
	wr = ControllerWaitResponse{}
	wch = s.asyncCall(wctx, ctrlSvc, "Wait", &ControllerWaitRequest{SandboxId: id}, &wr)
	time.Sleep(100 * time.Millisecond)
	r = s.call(ctrlSvc, "Stop", &ControllerStopRequest{SandboxId: id, TimeoutSecs: 1}, &ControllerStopResponse{})
	r.ok("Controller.Stop timeout_secs 1 of a process ignoring SIGTERM")
	s.check(r.elapsed >= 800*time.Millisecond && r.elapsed < 4*time.Second, fmt.Sprintf("  ... replied after %v (~1 s timer)", r.elapsed.Round(time.Millisecond)), "took %v", r.elapsed)
	s.await(wch, 10*time.Second, "Controller.Wait").ok("Controller.Wait returns")
	s.check(wr.ExitStatus == 137, "  ... exit_status 137 (128+SIGKILL)", "got %d", wr.ExitStatus)
	s.call(ctrlSvc, "Shutdown", &ControllerShutdownRequest{SandboxId: id}, &ControllerShutdownResponse{}).ok("Controller.Shutdown " + id)
	inst.done = true
	s.call(storeSvc, "Delete", &StoreDeleteRequest{SandboxId: id}, &StoreDeleteResponse{}).ok("Store.Delete " + id)

	// ---- request deadlines: a Wait that outlives its timeout_nano
	id = "ctl-deadline"
	s.storeCreate(id, execRuntime, sleepSpec)
	pid, inst = s.ctlCreateStart(id)
	{
		// The server's own answer: timeout_nano 500ms, client deadline 10s.
		ctx, cancel := context.WithTimeout(withNamespace(context.Background(), s.ns), 10*time.Second)
		wch := s.asyncCall(withServerTimeout(ctx, 500*time.Millisecond), ctrlSvc, "Wait", &ControllerWaitRequest{SandboxId: id}, &ControllerWaitResponse{})
		time.Sleep(150 * time.Millisecond)
		s.check(pending(wch), "Controller.Wait with timeout_nano 500ms is pending at 150ms", "it returned early")
		var gr StoreGetResponse
		s.call(storeSvc, "Get", &StoreGetRequest{SandboxId: id}, &gr).ok("Store.Get on the same connection while that Wait is pending")
		s.check(pending(wch), "  ... Wait still pending", "Wait returned")
		w := s.await(wch, 10*time.Second, "Controller.Wait with timeout_nano 500ms")
		if w.code(codes.DeadlineExceeded, "Controller.Wait with timeout_nano 500ms (client deadline 10s): the server answers") {
			s.check(w.elapsed >= 400*time.Millisecond && w.elapsed < 5*time.Second, fmt.Sprintf("  ... after %v", w.elapsed.Round(time.Millisecond)), "after %v", w.elapsed)
		}
		cancel()
	}
	{
		// containerd's way: a context deadline, which ttrpc sends as
		// timeout_nano; whichever side notices first, the caller sees
		// DeadlineExceeded.
		ctx, cancel := context.WithTimeout(withNamespace(context.Background(), s.ns), 500*time.Millisecond)
		r := s.callCtx(ctx, ctrlSvc, "Wait", &ControllerWaitRequest{SandboxId: id}, &ControllerWaitResponse{})
		cancel()
		switch {
		case r.err == context.DeadlineExceeded:
			s.pass("Controller.Wait with a 500ms context deadline -> DeadlineExceeded (the client's own deadline fired first, after %v)", r.elapsed.Round(time.Millisecond))
		case codeOf(r.err) == codes.DeadlineExceeded:
			s.pass("Controller.Wait with a 500ms context deadline -> DeadlineExceeded from the server, after %v", r.elapsed.Round(time.Millisecond))
		default:
			s.fail("Controller.Wait with a 500ms context deadline: request %s: expected DeadlineExceeded, got %s after %v", r.desc, describeErr(r.err), r.elapsed)
		}
	}
	time.Sleep(200 * time.Millisecond) // let the late server answer (if any) arrive
	sr = ControllerStatusResponse{}
	s.call(ctrlSvc, "Status", &ControllerStatusRequest{SandboxId: id}, &sr).ok("Controller.Status on the same connection afterwards")
	s.check(sr.State == "SANDBOX_READY" && sr.Pid == pid, "  ... still SANDBOX_READY (the timed-out waiters did nothing to it)", "got %s", sr.String())
	{
		// Shutdown completes the waiters of the sandbox.
		ctx, cancel := context.WithTimeout(withNamespace(context.Background(), s.ns), 10*time.Second)
		var wr ControllerWaitResponse
		wch := s.asyncCall(ctx, ctrlSvc, "Wait", &ControllerWaitRequest{SandboxId: id}, &wr)
		time.Sleep(150 * time.Millisecond)
		s.call(ctrlSvc, "Shutdown", &ControllerShutdownRequest{SandboxId: id}, &ControllerShutdownResponse{}).ok("Controller.Shutdown of a running sandbox with a pending Wait")
		inst.done = true
		w := s.await(wch, 5*time.Second, "Controller.Wait pending over Shutdown")
		if c := codeOf(w.err); c == codes.OK || c == codes.Canceled {
			s.pass("  ... the pending Wait completes: %s exit_status %d", describeErr(w.err), wr.ExitStatus)
		} else {
			s.fail("pending Wait over Shutdown: request %s: expected OK (exit status) or Canceled, got %s", w.desc, describeErr(w.err))
		}
		cancel()
		s.check(waitReaped(int(pid), inst.startTime, 2*time.Second), "  ... Shutdown killed and reaped the process", "pid %d state %q", pid, procState(int(pid)))
	}
	s.call(storeSvc, "Delete", &StoreDeleteRequest{SandboxId: id}, &StoreDeleteResponse{}).ok("Store.Delete " + id)

	// ---- Controller.Create with the sandbox in the request, no store record
	id = "ctl-inline"
	inline := &Sandbox{SandboxId: id, Runtime: &SandboxRuntime{Name: execRuntime}, Spec: specAny(sleepSpec)}
	s.trackCreated(id)
	s.call(ctrlSvc, "Create", &ControllerCreateRequest{SandboxId: id, Sandbox: inline}, &ControllerCreateResponse{}).
		ok("Controller.Create " + id + " with the sandbox in the request (no store record)")
	st = ControllerStartResponse{}
	s.call(ctrlSvc, "Start", &ControllerStartRequest{SandboxId: id}, &st).ok("Controller.Start " + id)
	inst = s.track(id, st.Pid)
	s.check(st.Pid > 0 && reflect.DeepEqual(waitCmdline(int(st.Pid), []string{"/bin/sleep", "30"}, 2*time.Second), []string{"/bin/sleep", "30"}), "  ... runs /bin/sleep 30",
		"pid %d cmdline %q", st.Pid, procCmdline(int(st.Pid)))
	s.call(ctrlSvc, "Shutdown", &ControllerShutdownRequest{SandboxId: id}, &ControllerShutdownResponse{}).ok("Controller.Shutdown " + id)
	inst.done = true
	s.check(st.Pid == 0 || waitReaped(int(st.Pid), inst.startTime, 2*time.Second), "  ... the process is gone", "pid %d state %q", st.Pid, procState(int(st.Pid)))
	s.call(ctrlSvc, "Status", &ControllerStatusRequest{SandboxId: id}, &ControllerStatusResponse{}).code(codes.NotFound, "Controller.Status after Shutdown")
}
