// sandboxinterop drives sandboxd with containerd's own Go ttrpc client
// (github.com/containerd/ttrpc) and checks that what comes back is what a
// containerd client expects: field numbers, status codes, namespace handling,
// deferred replies. Run by tests/interop/run.sh; see README there.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/proto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	storeSvc = "containerd.services.sandbox.v1.Store"
	ctrlSvc  = "containerd.services.sandbox.v1.Controller"
	shimSvc  = "containerd.runtime.sandbox.v1.Sandbox"

	// containerd's namespaces.TTRPCHeader and namespaces.GRPCHeader.
	nsHeaderTTRPC = "containerd-namespace-ttrpc"
	nsHeaderGRPC  = "containerd-namespace"

	execRuntime  = "io.sandboxd.exec.v1"
	pauseRuntime = "io.sandboxd.pause.v1"
	ociSpecURL   = "types.containerd.io/opencontainers/runtime-spec/1/Spec"

	defaultCallTimeout = 15 * time.Second
)

var (
	flagSocket = flag.String("socket", "", "sandboxd socket")
	flagTmp    = flag.String("tmpdir", "", "scratch directory (bundle dirs for the shim checks)")
	flagPause  = flag.String("pause-path", "", "the pause binary the daemon was given (optional, for a check of the pause runtime's process)")
	flagOnly   = flag.String("only", "", "comma-separated sections to run (store,controller,shim); default all")
	flagDump   = flag.String("dump-samples", "", "write encoded sample messages into this directory and exit (for selfcheck.sh)")
)

// ---------------------------------------------------------------------------
// Reporting

var (
	nPass, nFail, nWarn int
	failures            []string
	outMu               sync.Mutex
)

type section struct {
	name string
	ns   string
	cl   *ttrpc.Client
}

type abortSection struct{}

func (s *section) printf(tag, f string, a ...interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Printf("%-4s [%s] %s\n", tag, s.name, fmt.Sprintf(f, a...))
}

func (s *section) pass(f string, a ...interface{}) { nPass++; s.printf("PASS", f, a...) }
func (s *section) info(f string, a ...interface{}) { s.printf("INFO", f, a...) }
func (s *section) warn(f string, a ...interface{}) { nWarn++; s.printf("WARN", f, a...) }

// fail records a failed check and carries on.
func (s *section) fail(f string, a ...interface{}) {
	nFail++
	msg := fmt.Sprintf(f, a...)
	failures = append(failures, fmt.Sprintf("[%s] %s", s.name, msg))
	s.printf("FAIL", "%s", msg)
}

// fatal records a failed check that later checks of the section depend on,
// and ends the section.
func (s *section) fatal(f string, a ...interface{}) {
	s.fail(f, a...)
	panic(abortSection{})
}

// check: a non-fatal condition.
func (s *section) check(cond bool, what string, f string, a ...interface{}) bool {
	if cond {
		s.pass("%s", what)
	} else {
		s.fail("%s: %s", what, fmt.Sprintf(f, a...))
	}
	return cond
}

// must: a fatal condition.
func (s *section) must(cond bool, what string, f string, a ...interface{}) {
	if !s.check(cond, what, f, a...) {
		panic(abortSection{})
	}
}

func runSection(name, ns string, fn func(s *section)) {
	if *flagOnly != "" {
		found := false
		for _, o := range strings.Split(*flagOnly, ",") {
			if o == name {
				found = true
			}
		}
		if !found {
			return
		}
	}
	s := &section{name: name, ns: ns}
	fmt.Printf("==== section %s (namespace %q)\n", name, ns)
	cl, err := dial(*flagSocket)
	if err != nil {
		s.fail("connect to %s: %v", *flagSocket, err)
		return
	}
	s.cl = cl
	defer cl.Close()
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(abortSection); ok {
					s.info("section aborted after the failure above")
					return
				}
				panic(r)
			}
		}()
		fn(s)
	}()
	cleanupInstances(s)
}

// ---------------------------------------------------------------------------
// Client

type serverTimeoutKey struct{}

// withServerTimeout makes the request carry timeout_nano = d regardless of
// the context's own deadline, so that the server's DeadlineExceeded can be
// seen before the client gives up on its own.
func withServerTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, serverTimeoutKey{}, d)
}

func interceptor(ctx context.Context, req *ttrpc.Request, resp *ttrpc.Response, _ *ttrpc.UnaryClientInfo, inv ttrpc.Invoker) error {
	if d, ok := ctx.Value(serverTimeoutKey{}).(time.Duration); ok {
		req.TimeoutNano = int64(d)
	}
	return inv(ctx, req, resp)
}

func dial(sock string) (*ttrpc.Client, error) {
	conn, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return ttrpc.NewClient(conn, ttrpc.WithUnaryClientInterceptor(interceptor)), nil
}

// withNamespace sets the namespace the way containerd's
// namespaces.WithNamespace does for ttrpc: a copy of the context's ttrpc
// metadata with "containerd-namespace-ttrpc" set.
func withNamespace(ctx context.Context, ns string) context.Context {
	return withMD(ctx, nsHeaderTTRPC, ns)
}

func withMD(ctx context.Context, key, value string) context.Context {
	md := ttrpc.MD{}
	if old, ok := ttrpc.GetMetadata(ctx); ok {
		for k, v := range old {
			md[k] = append([]string(nil), v...)
		}
	}
	md.Set(key, value)
	return ttrpc.WithMetadata(ctx, md)
}

// ctx: the section's namespace and the default timeout.
func (s *section) ctx() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), defaultCallTimeout)
	return withNamespace(ctx, s.ns), cancel
}

type result struct {
	s       *section
	desc    string
	err     error
	resp    proto.Message
	elapsed time.Duration
}

func describe(ctx context.Context, svc, method string, req proto.Message) string {
	ns := "<none>"
	if md, ok := ttrpc.GetMetadata(ctx); ok {
		var kv []string
		for k, v := range md {
			kv = append(kv, fmt.Sprintf("%s=%q", k, strings.Join(v, ",")))
		}
		ns = strings.Join(kv, " ")
	}
	short := svc[strings.LastIndex(svc, ".")+1:]
	return fmt.Sprintf("%s.%s{%s} (service %s, metadata %s)", short, method, truncate(text(req), 300), svc, ns)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s...(%d bytes)", s[:n], len(s))
}

// call runs one unary call with the section's namespace.
func (s *section) call(svc, method string, req, resp proto.Message) *result {
	ctx, cancel := s.ctx()
	defer cancel()
	return s.callCtx(ctx, svc, method, req, resp)
}

func (s *section) callCtx(ctx context.Context, svc, method string, req, resp proto.Message) *result {
	start := time.Now()
	err := s.cl.Call(ctx, svc, method, req, resp)
	return &result{s: s, desc: describe(ctx, svc, method, req), err: err, resp: resp, elapsed: time.Since(start)}
}

func describeErr(err error) string {
	if err == nil {
		return "OK"
	}
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("status %s (%d) %q", st.Code(), int(st.Code()), st.Message())
	}
	return fmt.Sprintf("client-side error, no server status: %v", err)
}

// ok: the call must have succeeded (fatal otherwise). Also warns about
// field numbers in the response that messages.md does not define.
func (r *result) ok(what string) *result {
	if r.err != nil {
		r.s.fatal("%s: request %s: expected OK, got %s", what, r.desc, describeErr(r.err))
	}
	r.s.pass("%s", what)
	r.checkUnknown(what)
	return r
}

func (r *result) checkUnknown(what string) {
	if u := unknownFields(r.resp); len(u) > 0 {
		r.s.warn("%s: response has field numbers not in messages.md (containerd's client would drop them): %s", what, strings.Join(u, "; "))
	}
}

// code: the call must have failed with this status code (non-fatal).
func (r *result) code(want codes.Code, what string) bool {
	st, isStatus := status.FromError(r.err)
	if r.err != nil && isStatus && st.Code() == want {
		r.s.pass("%s -> %s %q", what, want, st.Message())
		return true
	}
	r.s.fail("%s: request %s: expected status %s (%d), got %s", what, r.desc, want, int(want), describeErr(r.err))
	return false
}

// unknownFields lists the XXX_unrecognized bytes found anywhere in m.
func unknownFields(m interface{}) []string {
	var out []string
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.Ptr, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), path)
			}
		case reflect.Struct:
			t := v.Type()
			for i := 0; i < v.NumField(); i++ {
				f := t.Field(i)
				if f.Name == "XXX_unrecognized" {
					if b := v.Field(i).Bytes(); len(b) > 0 {
						out = append(out, fmt.Sprintf("%s%s: % x", path, t.Name(), truncate(string(b), 32)))
					}
					continue
				}
				walk(v.Field(i), path+t.Name()+".")
			}
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Ptr {
				for i := 0; i < v.Len(); i++ {
					walk(v.Index(i), path)
				}
			}
		case reflect.Map:
			if v.Type().Elem().Kind() == reflect.Ptr {
				for _, k := range v.MapKeys() {
					walk(v.MapIndex(k), path)
				}
			}
		}
	}
	walk(reflect.ValueOf(m), "")
	return out
}

// ---------------------------------------------------------------------------
// Helpers shared by the sections

func nowTS() *Timestamp {
	t := time.Now()
	return &Timestamp{Seconds: t.Unix(), Nanos: int32(t.Nanosecond())}
}

func tsTime(ts *Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return time.Unix(ts.Seconds, int64(ts.Nanos))
}

func tsString(ts *Timestamp) string {
	if ts == nil {
		return "<unset>"
	}
	return tsTime(ts).UTC().Format(time.RFC3339Nano)
}

// recent: set, and within a few minutes of this host's clock (the daemon
// runs on the same host).
func recent(ts *Timestamp) bool {
	if ts == nil || (ts.Seconds == 0 && ts.Nanos == 0) {
		return false
	}
	d := time.Since(tsTime(ts))
	return d > -5*time.Minute && d < 5*time.Minute && ts.Nanos >= 0 && ts.Nanos < 1e9
}

func anyEqual(a, b *Any) bool {
	if a == nil || b == nil {
		return (a == nil || (a.TypeUrl == "" && len(a.Value) == 0)) && (b == nil || (b.TypeUrl == "" && len(b.Value) == 0))
	}
	return a.TypeUrl == b.TypeUrl && string(a.Value) == string(b.Value)
}

func anyString(a *Any) string {
	if a == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{type_url:%q value:%d bytes %q}", a.TypeUrl, len(a.Value), truncate(string(a.Value), 80))
}

// diffSandbox compares the metadata (not the timestamps) of two sandboxes.
func diffSandbox(want, got *Sandbox) string {
	if got == nil {
		return "sandbox missing from the response"
	}
	var d []string
	if want.SandboxId != got.SandboxId {
		d = append(d, fmt.Sprintf("sandbox_id: want %q got %q", want.SandboxId, got.SandboxId))
	}
	wr, gr := want.Runtime, got.Runtime
	if wr == nil {
		wr = &SandboxRuntime{}
	}
	if gr == nil {
		gr = &SandboxRuntime{}
	}
	if wr.Name != gr.Name {
		d = append(d, fmt.Sprintf("runtime.name: want %q got %q", wr.Name, gr.Name))
	}
	if !anyEqual(wr.Options, gr.Options) {
		d = append(d, fmt.Sprintf("runtime.options: want %s got %s", anyString(wr.Options), anyString(gr.Options)))
	}
	if !anyEqual(want.Spec, got.Spec) {
		d = append(d, fmt.Sprintf("spec: want %s got %s", anyString(want.Spec), anyString(got.Spec)))
	}
	if len(want.Labels) != len(got.Labels) {
		d = append(d, fmt.Sprintf("labels: want %v got %v", want.Labels, got.Labels))
	} else {
		for k, v := range want.Labels {
			if gv, ok := got.Labels[k]; !ok || gv != v {
				d = append(d, fmt.Sprintf("labels: want %v got %v", want.Labels, got.Labels))
				break
			}
		}
	}
	if len(want.Extensions) != len(got.Extensions) {
		d = append(d, fmt.Sprintf("extensions: want %d entries got %d", len(want.Extensions), len(got.Extensions)))
	} else {
		for k, v := range want.Extensions {
			if !anyEqual(v, got.Extensions[k]) {
				d = append(d, fmt.Sprintf("extensions[%q]: want %s got %s", k, anyString(v), anyString(got.Extensions[k])))
			}
		}
	}
	if want.Sandboxer != got.Sandboxer {
		d = append(d, fmt.Sprintf("sandboxer: want %q got %q", want.Sandboxer, got.Sandboxer))
	}
	return strings.Join(d, "; ")
}

func ids(list []*Sandbox) []string {
	out := []string{}
	for _, sb := range list {
		out = append(out, sb.SandboxId)
	}
	return out
}

func codeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if st, ok := status.FromError(err); ok {
		return st.Code()
	}
	return codes.Unknown
}

// ---------------------------------------------------------------------------
// Sandbox processes this run started: shut down / killed at the end of a
// section whatever happened, so a failed run leaves nothing behind.

type instance struct {
	ns, id    string
	pid       int
	startTime string // field 22 of /proc/<pid>/stat when first seen
	done      bool
}

var instances []*instance

func (s *section) track(id string, pid uint32) *instance {
	for _, in := range instances {
		if in.ns == s.ns && in.id == id && !in.done {
			in.pid, in.startTime = int(pid), procStartTime(int(pid))
			return in
		}
	}
	in := &instance{ns: s.ns, id: id, pid: int(pid), startTime: procStartTime(int(pid))}
	instances = append(instances, in)
	return in
}

func (s *section) trackCreated(id string) *instance { return s.track(id, 0) }

func cleanupInstances(s *section) {
	for _, in := range instances {
		if in.done || in.ns != s.ns {
			continue
		}
		in.done = true
		ctx, cancel := context.WithTimeout(withNamespace(context.Background(), in.ns), 5*time.Second)
		err := s.cl.Call(ctx, ctrlSvc, "Shutdown", &ControllerShutdownRequest{SandboxId: in.id}, &ControllerShutdownResponse{})
		cancel()
		if err != nil && codeOf(err) != codes.NotFound {
			s.info("cleanup: Controller.Shutdown %s/%s: %s", in.ns, in.id, describeErr(err))
		}
		if in.pid > 0 && in.startTime != "" && procStartTime(in.pid) == in.startTime {
			s.info("cleanup: sandbox %s/%s pid %d still alive after Shutdown, killing it", in.ns, in.id, in.pid)
			killPid(in.pid)
		}
	}
}

// ---------------------------------------------------------------------------

func main() {
	flag.Parse()
	if *flagDump != "" {
		if err := dumpSamples(*flagDump); err != nil {
			fmt.Fprintln(os.Stderr, "dump-samples:", err)
			os.Exit(1)
		}
		return
	}
	if *flagSocket == "" || *flagTmp == "" {
		fmt.Fprintln(os.Stderr, "usage: sandboxinterop -socket PATH -tmpdir DIR [-pause-path PATH] [-only store,controller,shim]")
		os.Exit(2)
	}
	// Killed (by run.sh's timeout, or ^C): leave no sandbox process behind.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-sigs
		fmt.Printf("interrupted (%v): killing the sandbox processes this run started\n", sig)
		for _, in := range instances {
			if !in.done && in.pid > 0 && in.startTime != "" && procStartTime(in.pid) == in.startTime {
				killPid(in.pid)
			}
		}
		os.Exit(1)
	}()
	start := time.Now()
	runSection("store", "interop-store", storeChecks)
	runSection("controller", "interop-ctl", controllerChecks)
	runSection("shim", "interop-shim", shimChecks)

	fmt.Printf("==== %d passed, %d failed, %d warnings (%.1fs)\n", nPass, nFail, nWarn, time.Since(start).Seconds())
	if nFail > 0 {
		fmt.Println("failures:")
		for _, f := range failures {
			fmt.Println("  -", f)
		}
		os.Exit(1)
	}
	if nPass == 0 {
		fmt.Println("no check ran")
		os.Exit(1)
	}
}

var errTimeout = errors.New("timed out")

// stripMD: the context with empty ttrpc metadata (no namespace at all).
func stripMD(ctx context.Context) context.Context { return ttrpc.WithMetadata(ctx, ttrpc.MD{}) }
