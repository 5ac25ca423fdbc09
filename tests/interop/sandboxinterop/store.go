package main

import (
	"fmt"
	"reflect"
	"strings"

	"google.golang.org/grpc/codes"
)

func specAny(json string) *Any { return &Any{TypeUrl: ociSpecURL, Value: []byte(json)} }

// bigSpec: an OCI runtime spec of about n bytes, with content that varies
// all along (so truncation, reordering or a lost chunk shows).
func bigSpec(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"ociVersion":"1.1.0","process":{"args":["/bin/true"],"cwd":"/","env":[`)
	for i := 0; b.Len() < n-200; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"VAR_%06d=%08x%08x\u00e9"`, i, uint32(i)*2654435761, uint32(i*i)^0x5bd1e995)
	}
	b.WriteString(`]},"hostname":"big","annotations":{"end":"marker"}}`)
	return []byte(b.String())
}

func storeChecks(s *section) {
	// ---- Create / Get
	web1 := &Sandbox{
		SandboxId: "web-1",
		Runtime: &SandboxRuntime{Name: execRuntime,
			Options: &Any{TypeUrl: "sandboxd.test/RuntimeOptions", Value: []byte{0x08, 0x01, 0x12, 0x00}}},
		Spec:       specAny(`{"ociVersion":"1.1.0","hostname":"web-1"}`),
		Labels:     map[string]string{"app": "web", "tier": "front"},
		Extensions: map[string]*Any{"note": {TypeUrl: "sandboxd.test/Note", Value: []byte("hello\x00world")}},
		Sandboxer:  "interop",
		// A client-supplied time must be replaced by the server's.
		CreatedAt: &Timestamp{Seconds: 978307200},
		UpdatedAt: &Timestamp{Seconds: 978307200},
	}
	var cr StoreCreateResponse
	s.call(storeSvc, "Create", &StoreCreateRequest{Sandbox: web1}, &cr).ok("Store.Create web-1")
	d := diffSandbox(web1, cr.Sandbox)
	s.must(d == "", "Store.Create returns the sandbox as sent", "%s", d)
	s.must(recent(cr.Sandbox.CreatedAt) && recent(cr.Sandbox.UpdatedAt),
		"Store.Create sets created_at/updated_at to the server's now",
		"created_at %s updated_at %s (now %s)", tsString(cr.Sandbox.CreatedAt), tsString(cr.Sandbox.UpdatedAt), tsString(nowTS()))
	s.check(tsTime(cr.Sandbox.CreatedAt).Equal(tsTime(cr.Sandbox.UpdatedAt)), "Store.Create: created_at == updated_at",
		"created_at %s updated_at %s", tsString(cr.Sandbox.CreatedAt), tsString(cr.Sandbox.UpdatedAt))
	created := cr.Sandbox.CreatedAt

	var gr StoreGetResponse
	s.call(storeSvc, "Get", &StoreGetRequest{SandboxId: "web-1"}, &gr).ok("Store.Get web-1")
	d = diffSandbox(web1, gr.Sandbox)
	s.must(d == "", "Store.Get returns what Create stored", "%s", d)
	s.check(tsTime(gr.Sandbox.CreatedAt).Equal(tsTime(created)) && tsTime(gr.Sandbox.UpdatedAt).Equal(tsTime(cr.Sandbox.UpdatedAt)),
		"Store.Get returns the stored timestamps", "created_at %s updated_at %s, Create said %s / %s",
		tsString(gr.Sandbox.CreatedAt), tsString(gr.Sandbox.UpdatedAt), tsString(created), tsString(cr.Sandbox.UpdatedAt))

	// ---- error codes
	s.call(storeSvc, "Get", &StoreGetRequest{SandboxId: "missing-1"}, &StoreGetResponse{}).code(codes.NotFound, "Store.Get of a missing id")
	s.call(storeSvc, "Create", &StoreCreateRequest{Sandbox: &Sandbox{SandboxId: "web-1"}}, &StoreCreateResponse{}).
		code(codes.AlreadyExists, "Store.Create of an existing id")
	s.call(storeSvc, "Create", &StoreCreateRequest{Sandbox: &Sandbox{SandboxId: "bad id!"}}, &StoreCreateResponse{}).
		code(codes.InvalidArgument, `Store.Create with id "bad id!"`)
	s.call(storeSvc, "Create", &StoreCreateRequest{Sandbox: &Sandbox{SandboxId: strings.Repeat("a", 77)}}, &StoreCreateResponse{}).
		code(codes.InvalidArgument, "Store.Create with a 77-character id")
	s.call(storeSvc, "Create", &StoreCreateRequest{Sandbox: &Sandbox{SandboxId: ""}}, &StoreCreateResponse{}).
		code(codes.InvalidArgument, "Store.Create with an empty id")
	s.call(storeSvc, "Create", &StoreCreateRequest{Sandbox: &Sandbox{SandboxId: "lbl-big",
		Labels: map[string]string{"k": strings.Repeat("v", 4096)}}}, &StoreCreateResponse{}).
		code(codes.InvalidArgument, "Store.Create with a label of 4097 bytes (key+value)")
	s.call(storeSvc, "Create", &StoreCreateRequest{Sandbox: &Sandbox{SandboxId: "lbl-empty",
		Labels: map[string]string{"": "v"}}}, &StoreCreateResponse{}).
		code(codes.InvalidArgument, "Store.Create with an empty label key")
	r := s.call(storeSvc, "Get", &StoreGetRequest{SandboxId: "bad id!"}, &StoreGetResponse{})
	if c := codeOf(r.err); c == codes.InvalidArgument || c == codes.NotFound {
		s.pass(`Store.Get with id "bad id!" -> %s (spec: InvalidArgument; containerd's store: NotFound)`, c)
	} else {
		s.fail(`Store.Get with id "bad id!": request %s: expected InvalidArgument or NotFound, got %s`, r.desc, describeErr(r.err))
	}

	// No namespace in the metadata at all.
	{
		ctx, cancel := s.ctx()
		defer cancel()
		r := s.callCtx(stripMD(ctx), storeSvc, "Get", &StoreGetRequest{SandboxId: "web-1"}, &StoreGetResponse{})
		r.code(codes.FailedPrecondition, "Store.Get without namespace metadata")
		r = s.callCtx(stripMD(ctx), storeSvc, "List", &StoreListRequest{}, &StoreListResponse{})
		r.code(codes.FailedPrecondition, "Store.List without namespace metadata")
		r = s.callCtx(withNamespace(stripMD(ctx), "bad ns!"), storeSvc, "Get", &StoreGetRequest{SandboxId: "web-1"}, &StoreGetResponse{})
		r.code(codes.InvalidArgument, `Store.Get in namespace "bad ns!"`)
		// gRPC's header name is accepted too.
		var g StoreGetResponse
		s.callCtx(withMD(stripMD(ctx), nsHeaderGRPC, s.ns), storeSvc, "Get", &StoreGetRequest{SandboxId: "web-1"}, &g).
			ok("Store.Get with the namespace under \"containerd-namespace\"")
		s.check(g.Sandbox != nil && g.Sandbox.SandboxId == "web-1", "  ... finds web-1", "got %v", g.Sandbox)
	}

	// Unknown method / service.
	s.call(storeSvc, "Nope", &StoreGetRequest{SandboxId: "web-1"}, &StoreGetResponse{}).code(codes.Unimplemented, "method Nope on the Store service")
	s.call("containerd.services.sandbox.v1.Nope", "Get", &StoreGetRequest{SandboxId: "web-1"}, &StoreGetResponse{}).
		code(codes.Unimplemented, "unknown service containerd.services.sandbox.v1.Nope")

	// ---- List, filters, sort order
	more := []*Sandbox{
		{SandboxId: "web-2", Runtime: &SandboxRuntime{Name: pauseRuntime}, Labels: map[string]string{"app": "web"}},
		{SandboxId: "db-1", Runtime: &SandboxRuntime{Name: pauseRuntime}, Labels: map[string]string{"app": "db", "a.b/c": "quoted"}},
		{SandboxId: "a-nolabel"},
	}
	for _, sb := range more {
		var cr StoreCreateResponse
		s.call(storeSvc, "Create", &StoreCreateRequest{Sandbox: sb}, &cr).ok("Store.Create " + sb.SandboxId)
	}
	list := func(what string, filters []string, want []string) []*Sandbox {
		var lr StoreListResponse
		r := s.call(storeSvc, "List", &StoreListRequest{Filters: filters}, &lr)
		if r.err != nil {
			s.fail("%s: request %s: expected OK, got %s", what, r.desc, describeErr(r.err))
			return nil
		}
		r.checkUnknown(what)
		got := ids(lr.List)
		s.check(reflect.DeepEqual(got, want), fmt.Sprintf("%s %q -> %v", what, filters, want), "request %s: got %v", r.desc, got)
		return lr.List
	}
	all := list("Store.List", nil, []string{"a-nolabel", "db-1", "web-1", "web-2"})
	for _, sb := range all {
		if sb.SandboxId == "web-1" {
			d := diffSandbox(web1, sb)
			s.check(d == "" && tsTime(sb.CreatedAt).Equal(tsTime(created)), "Store.List returns web-1 in full", "%s created_at %s", d, tsString(sb.CreatedAt))
		}
	}
	list("Store.List", []string{"labels.app==web"}, []string{"web-1", "web-2"})
	list("Store.List", []string{"labels.app==db", "id==a-nolabel"}, []string{"a-nolabel", "db-1"})
	list("Store.List", []string{"labels.app==web,labels.tier==front"}, []string{"web-1"})
	list("Store.List", []string{"labels.app!=web"}, []string{"a-nolabel", "db-1"})
	list("Store.List", []string{`labels.app~="^w"`}, []string{"web-1", "web-2"})
	list("Store.List", []string{"labels.tier"}, []string{"web-1"})
	list("Store.List", []string{`labels."a.b/c"==quoted`}, []string{"db-1"})
	list("Store.List", []string{`runtime.name=="io.sandboxd.pause.v1"`}, []string{"db-1", "web-2"})
	s.call(storeSvc, "List", &StoreListRequest{Filters: []string{"==web"}}, &StoreListResponse{}).
		code(codes.InvalidArgument, `Store.List with filter "==web" (does not parse)`)
	s.call(storeSvc, "List", &StoreListRequest{Filters: []string{`labels.app~="("`}}, &StoreListResponse{}).
		code(codes.InvalidArgument, `Store.List with filter labels.app~="(" (bad regex)`)

	// ---- namespaces: same id elsewhere, List sees only its own
	{
		other := "interop-other"
		ctx, cancel := s.ctx()
		defer cancel()
		octx := withNamespace(ctx, other)
		o := &Sandbox{SandboxId: "web-1", Labels: map[string]string{"app": "other"}}
		s.callCtx(octx, storeSvc, "Create", &StoreCreateRequest{Sandbox: o}, &StoreCreateResponse{}).ok("Store.Create web-1 in namespace " + other)
		var lr StoreListResponse
		s.callCtx(octx, storeSvc, "List", &StoreListRequest{}, &lr).ok("Store.List in namespace " + other)
		s.check(reflect.DeepEqual(ids(lr.List), []string{"web-1"}) && lr.List[0].Labels["app"] == "other",
			"  ... sees only its own web-1", "got %v", lr.List)
		var g StoreGetResponse
		s.call(storeSvc, "Get", &StoreGetRequest{SandboxId: "web-1"}, &g).ok("Store.Get web-1 in " + s.ns + " again")
		s.check(g.Sandbox != nil && g.Sandbox.Labels["app"] == "web", "  ... unaffected by the other namespace", "got %v", g.Sandbox)
		s.callCtx(octx, storeSvc, "Delete", &StoreDeleteRequest{SandboxId: "web-1"}, &StoreDeleteResponse{}).ok("Store.Delete web-1 in namespace " + other)
	}

	// ---- Update
	var ur StoreUpdateResponse
	s.call(storeSvc, "Update", &StoreUpdateRequest{
		Sandbox: &Sandbox{SandboxId: "web-1", Labels: map[string]string{"new": "x", "app": "ignored"}},
		Fields:  []string{"labels.new"}}, &ur).ok(`Store.Update web-1 fields ["labels.new"]`)
	want := cloneSandbox(web1)
	want.Labels["new"] = "x"
	d = diffSandbox(want, ur.Sandbox)
	s.must(d == "", "  ... adds label new=x and changes nothing else", "%s", d)
	s.check(tsTime(ur.Sandbox.CreatedAt).Equal(tsTime(created)), "  ... keeps created_at", "created_at %s, was %s", tsString(ur.Sandbox.CreatedAt), tsString(created))
	s.check(recent(ur.Sandbox.UpdatedAt) && !tsTime(ur.Sandbox.UpdatedAt).Before(tsTime(cr.Sandbox.UpdatedAt)), "  ... advances updated_at",
		"updated_at %s, was %s", tsString(ur.Sandbox.UpdatedAt), tsString(cr.Sandbox.UpdatedAt))

	ur = StoreUpdateResponse{}
	s.call(storeSvc, "Update", &StoreUpdateRequest{
		Sandbox: &Sandbox{SandboxId: "web-1", Labels: map[string]string{"app": "ignored"}},
		Fields:  []string{"labels.tier"}}, &ur).ok(`Store.Update web-1 fields ["labels.tier"] without that label`)
	delete(want.Labels, "tier")
	d = diffSandbox(want, ur.Sandbox)
	s.check(d == "", "  ... deletes label tier", "%s", d)

	// Empty fields: labels, extensions, spec and runtime together; runtime
	// name is immutable.
	changedRuntime := cloneSandbox(want)
	changedRuntime.Runtime = &SandboxRuntime{Name: pauseRuntime}
	s.call(storeSvc, "Update", &StoreUpdateRequest{Sandbox: changedRuntime}, &StoreUpdateResponse{}).
		code(codes.InvalidArgument, "Store.Update web-1 with empty fields and a different runtime.name")
	full := cloneSandbox(want)
	full.Labels = map[string]string{"app": "web", "v": "2"}
	full.Spec = specAny(`{"ociVersion":"1.1.0","hostname":"web-1-v2"}`)
	full.Extensions = map[string]*Any{"note2": {TypeUrl: "sandboxd.test/Note", Value: []byte("second")}}
	ur = StoreUpdateResponse{}
	s.call(storeSvc, "Update", &StoreUpdateRequest{Sandbox: full}, &ur).ok("Store.Update web-1 with empty fields, same runtime")
	d = diffSandbox(full, ur.Sandbox)
	s.check(d == "", "  ... replaces labels, extensions and spec", "%s", d)
	s.call(storeSvc, "Update", &StoreUpdateRequest{Sandbox: &Sandbox{SandboxId: "web-1"}, Fields: []string{"id"}}, &StoreUpdateResponse{}).
		code(codes.InvalidArgument, `Store.Update with field path "id"`)
	s.call(storeSvc, "Update", &StoreUpdateRequest{Sandbox: &Sandbox{SandboxId: "web-1"}, Fields: []string{"bogus"}}, &StoreUpdateResponse{}).
		code(codes.InvalidArgument, `Store.Update with field path "bogus"`)
	s.call(storeSvc, "Update", &StoreUpdateRequest{Sandbox: &Sandbox{SandboxId: "missing-1", Labels: map[string]string{"a": "b"}}, Fields: []string{"labels.a"}}, &StoreUpdateResponse{}).
		code(codes.NotFound, "Store.Update of a missing id")
	gr = StoreGetResponse{}
	s.call(storeSvc, "Get", &StoreGetRequest{SandboxId: "web-1"}, &gr).ok("Store.Get web-1 after the updates")
	d = diffSandbox(full, gr.Sandbox)
	s.check(d == "" && tsTime(gr.Sandbox.UpdatedAt).Equal(tsTime(ur.Sandbox.UpdatedAt)), "  ... returns the last update", "%s updated_at %s (Update said %s)",
		d, tsString(gr.Sandbox.UpdatedAt), tsString(ur.Sandbox.UpdatedAt))

	// ---- Delete
	s.call(storeSvc, "Delete", &StoreDeleteRequest{SandboxId: "web-2"}, &StoreDeleteResponse{}).ok("Store.Delete web-2")
	s.call(storeSvc, "Get", &StoreGetRequest{SandboxId: "web-2"}, &StoreGetResponse{}).code(codes.NotFound, "Store.Get web-2 after Delete")
	s.call(storeSvc, "Delete", &StoreDeleteRequest{SandboxId: "web-2"}, &StoreDeleteResponse{}).code(codes.NotFound, "Store.Delete web-2 again")
	list("Store.List", []string{"labels.app==web"}, []string{"web-1"})

	// ---- a spec far larger than 64 KiB, byte-exact
	big := &Sandbox{SandboxId: "big-spec", Runtime: &SandboxRuntime{Name: execRuntime}, Spec: &Any{TypeUrl: ociSpecURL, Value: bigSpec(200 << 10)}}
	cr = StoreCreateResponse{}
	s.call(storeSvc, "Create", &StoreCreateRequest{Sandbox: big}, &cr).ok(fmt.Sprintf("Store.Create big-spec with a %d-byte spec", len(big.Spec.Value)))
	s.check(cr.Sandbox != nil && anyEqual(big.Spec, cr.Sandbox.Spec), "  ... Create returns the spec byte-exact", "got %s", anyString(cr.Sandbox.Spec))
	gr = StoreGetResponse{}
	s.call(storeSvc, "Get", &StoreGetRequest{SandboxId: "big-spec"}, &gr).ok("Store.Get big-spec")
	s.check(gr.Sandbox != nil && anyEqual(big.Spec, gr.Sandbox.Spec), "  ... Get returns the spec byte-exact", "got %s", specDiff(big.Spec, gr.Sandbox))
	bl := list("Store.List", []string{"id==big-spec"}, []string{"big-spec"})
	if len(bl) == 1 {
		s.check(anyEqual(big.Spec, bl[0].Spec), "  ... List returns the spec byte-exact", "got %s", specDiff(big.Spec, bl[0]))
	}
	s.call(storeSvc, "Delete", &StoreDeleteRequest{SandboxId: "big-spec"}, &StoreDeleteResponse{}).ok("Store.Delete big-spec")
	for _, id := range []string{"web-1", "db-1", "a-nolabel"} {
		s.call(storeSvc, "Delete", &StoreDeleteRequest{SandboxId: id}, &StoreDeleteResponse{}).ok("Store.Delete " + id)
	}
	list("Store.List", nil, []string{})
}

func specDiff(want *Any, got *Sandbox) string {
	if got == nil || got.Spec == nil {
		return "no spec"
	}
	a, b := want.Value, got.Spec.Value
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf("type_url %q, %d bytes (want %d), first difference at byte %d", got.Spec.TypeUrl, len(b), len(a), i)
}

func cloneSandbox(sb *Sandbox) *Sandbox {
	c := *sb
	c.Labels = map[string]string{}
	for k, v := range sb.Labels {
		c.Labels[k] = v
	}
	c.Extensions = map[string]*Any{}
	for k, v := range sb.Extensions {
		c.Extensions[k] = v
	}
	return &c
}
