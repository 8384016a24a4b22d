package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/secret"
)

var (
	dave   = Actor{Workspace: wsA, UserID: "UDAVE"}
	err500 = remoteErr(500, "something broke")
	err405 = remoteErr(405, "Flag configuration updates require approval")
)

// writeRig is a workspace connected with a Writer token to project web
// (default environment production) in which LaunchDarkly holds the flags
// in flags; patches, creations and deletes are recorded, not applied.
type writeRig struct {
	t        *testing.T
	ld       *fakeLD
	ws       *memWorkspaces
	changes  *memChanges
	policies *memPolicies
	dir      adminSet
	exec     *Executor
	now      time.Time

	mu       sync.Mutex
	flags    map[string]Flag
	patches  []Patch
	creates  []NewFlag
	deletes  []string
	approval []ApprovalRequestInput
	patchErr error
	used     []string
	audit    []AuditEntry // what LaunchDarkly's audit log holds, newest last
}

func boolFlag() Flag {
	return Flag{
		Key: "new-checkout", Name: "New checkout", Kind: "boolean", Version: 7,
		Variations: []Variation{{ID: "v-true", Value: json.RawMessage("true")}, {ID: "v-false", Value: json.RawMessage("false")}},
		Environments: map[string]FlagEnvironment{
			"production": {On: false, Version: 12, OffVariation: intPtr(1), Fallthrough: &VariationOrRollout{Variation: intPtr(0)},
				Targets:        []TargetList{{Values: []string{"carol@example.com"}, Variation: 1}},
				ContextTargets: []TargetList{{ContextKind: "device", Values: []string{"ios-1"}, Variation: 0}}},
			"staging": {On: true, Version: 3, OffVariation: intPtr(1), Fallthrough: &VariationOrRollout{Variation: intPtr(0)}},
		},
	}
}

func layoutFlag() Flag {
	return Flag{
		Key: "checkout-layout", Kind: "multivariate", Version: 2,
		Variations: []Variation{
			{ID: "v-control", Value: json.RawMessage(`"control"`)},
			{ID: "v-two", Value: json.RawMessage(`"two-column"`), Name: "Two column"},
			{ID: "v-compact", Value: json.RawMessage(`"compact"`)},
		},
		Environments: map[string]FlagEnvironment{
			"production": {On: true, Version: 40, OffVariation: intPtr(0), Fallthrough: &VariationOrRollout{Rollout: &PercentRollout{Variations: []WeightedVariation{{Variation: 0, Weight: 50000}, {Variation: 1, Weight: 50000}}}}},
		},
	}
}

func intPtr(i int) *int { return &i }

func newWriteRig(t *testing.T) *writeRig {
	t.Helper()
	r := &writeRig{
		t: t, ld: &fakeLD{}, ws: newMemWorkspaces(), changes: newMemChanges(), policies: newMemPolicies(),
		dir:   adminSet{"UALICE": true, "S-REL/UBOB": true},
		now:   t0,
		flags: map[string]Flag{"new-checkout": boolFlag(), "checkout-layout": layoutFlag(), "old-banner": {Key: "old-banner", Version: 4, Archived: true}},
	}
	ids := 0
	r.exec = NewExecutor(r.ws, r.clients, r.dir, r.changes, r.policies, nil, Options{
		BaseURL: "https://app.launchdarkly.com/",
		Now:     func() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.now },
		NewID:   func() string { ids++; return fmt.Sprintf("chg%d", ids) },
	})
	r.ld.GetFlagFn = func(_ context.Context, project, key string, envs ...string) (Flag, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		f, ok := r.flags[key]
		if project != "web" || !ok {
			return Flag{}, errNF
		}
		f = cloneForTest(f)
		if len(envs) > 0 {
			keep := map[string]FlagEnvironment{}
			for _, e := range envs {
				if fe, ok := f.Environments[e]; ok {
					keep[e] = fe
				}
			}
			f.Environments = keep
		}
		return f, nil
	}
	r.ld.ListFlagsFn = func(_ context.Context, project string, _ FlagQuery) (FlagPage, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		var p FlagPage
		for _, f := range r.flags {
			p.Items = append(p.Items, Flag{Key: f.Key})
		}
		p.TotalCount = len(p.Items)
		return p, nil
	}
	r.ld.ListEnvironmentsFn = func(_ context.Context, project string) ([]Environment, error) {
		if project != "web" {
			return nil, errNF
		}
		return []Environment{{Key: "production"}, {Key: "staging"}}, nil
	}
	r.ld.ListProjectsFn = func(context.Context) ([]Project, error) { return []Project{{Key: "web"}}, nil }
	r.ld.PatchFlagFn = func(_ context.Context, project, key string, p Patch) (Flag, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.patches = append(r.patches, p)
		if r.patchErr != nil {
			return Flag{}, r.patchErr
		}
		r.audit = append(r.audit, AuditEntry{ID: fmt.Sprintf("a%d", len(r.audit)+1), Date: r.now, Comment: p.Comment,
			Accesses: []Access{{Action: "updateFlag", Resource: AuditSpec(project, p.Env, key)}}})
		f := cloneForTest(r.flags[key])
		if p.Env != "" {
			fe := f.Environments[p.Env]
			for _, in := range p.Instructions {
				switch in.Kind {
				case InstrTurnOn:
					fe.On = true
				case InstrTurnOff:
					fe.On = false
				}
			}
			fe.Version++
			f.Environments[p.Env] = fe
		}
		return f, nil
	}
	r.ld.ListAuditLogFn = func(_ context.Context, q AuditQuery) ([]AuditEntry, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		var out []AuditEntry
		for i := len(r.audit) - 1; i >= 0; i-- {
			if e := r.audit[i]; e.Accesses[0].Resource == q.Spec && !e.Date.Before(q.After) {
				out = append(out, e)
			}
		}
		return out, nil
	}
	r.ld.CreateFlagFn = func(_ context.Context, project string, nf NewFlag) (Flag, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.creates = append(r.creates, nf)
		return Flag{Key: nf.Key, Name: nf.Name, Version: 1}, nil
	}
	r.ld.DeleteFlagFn = func(_ context.Context, project, key string) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.deletes = append(r.deletes, key)
		return nil
	}
	r.ld.CreateApprovalFn = func(_ context.Context, project, key, env string, in ApprovalRequestInput) (ApprovalRequest, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.approval = append(r.approval, in)
		return ApprovalRequest{ID: "ar-1"}, nil
	}
	if err := r.ws.Put(t.Context(), wsA, Connection{Token: secret.Secret("api-a"), Role: RoleWriter, DefaultProject: "web", DefaultEnv: "production"}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *writeRig) clients(token secret.Secret) LaunchDarkly {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.used = append(r.used, token.Reveal())
	return r.ld
}

func cloneForTest(f Flag) Flag {
	b, _ := json.Marshal(f)
	var out Flag
	_ = json.Unmarshal(b, &out)
	return out
}

// request parses text and requests it as alice in channel C1.
func (r *writeRig) request(text string) (ChangeResult, error) {
	r.t.Helper()
	cmd, err := Parse(text)
	if err != nil {
		r.t.Fatalf("Parse(%q): %v", text, err)
	}
	return r.exec.RequestChange(r.t.Context(), alice, "C1", cmd, "env-"+text)
}

func (r *writeRig) mustRequest(text string) Change {
	r.t.Helper()
	res, err := r.request(text)
	if err != nil {
		r.t.Fatalf("RequestChange(%q): %v", text, err)
	}
	if !res.Created || res.Change.Status != StatusPending {
		r.t.Fatalf("RequestChange(%q) = %+v, want a new pending change", text, res)
	}
	return res.Change
}

func (r *writeRig) setPolicy(p Policy) {
	r.t.Helper()
	if err := r.policies.SetPolicy(r.t.Context(), wsA, p); err != nil {
		r.t.Fatal(err)
	}
}

func (r *writeRig) bumpEnvVersion(flag, env string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.flags[flag]
	fe := f.Environments[env]
	fe.Version++
	fe.On = !fe.On
	f.Environments[env] = fe
	r.flags[flag] = f
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRequestBuildsTheWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text      string
		wantPatch string // exact JSON of the stored semantic patch
		wantNew   string // exact JSON of the stored new flag
		wantDel   bool
		wantEnv   string
		wantFlagV int
		wantEnvV  int
		wantDiff  []DiffLine
		wantText  string
	}{
		{
			text:      "on new-checkout",
			wantPatch: `{"environmentKey":"production","instructions":[{"kind":"turnFlagOn"}]}`,
			wantEnv:   "production", wantFlagV: 7, wantEnvV: 12,
			wantDiff: []DiffLine{{Field: "production", Before: "off", After: "on"}},
			wantText: "on new-checkout production --project web",
		},
		{
			text:      `off new-checkout STAGING --reason "errors spiking"`,
			wantPatch: `{"environmentKey":"staging","instructions":[{"kind":"turnFlagOff"}]}`,
			wantEnv:   "staging", wantFlagV: 7, wantEnvV: 3,
			wantDiff: []DiffLine{{Field: "staging", Before: "on", After: "off"}},
			wantText: `off new-checkout staging --project web --reason "errors spiking"`,
		},
		{
			text:      "serve new-checkout false",
			wantPatch: `{"environmentKey":"production","instructions":[{"kind":"updateFallthroughVariationOrRollout","variationId":"v-false"}]}`,
			wantEnv:   "production", wantFlagV: 7, wantEnvV: 12,
			wantDiff: []DiffLine{{Field: "default", Before: "true", After: "false"}},
		},
		{
			text:      `serve checkout-layout "two column"`,
			wantPatch: `{"environmentKey":"production","instructions":[{"kind":"updateFallthroughVariationOrRollout","variationId":"v-two"}]}`,
			wantEnv:   "production", wantFlagV: 2, wantEnvV: 40,
			wantDiff: []DiffLine{{Field: "default", Before: "rollout 50% control / 50% Two column", After: "Two column"}},
		},
		{
			text:      "serve checkout-layout 2",
			wantPatch: `{"environmentKey":"production","instructions":[{"kind":"updateFallthroughVariationOrRollout","variationId":"v-compact"}]}`,
			wantEnv:   "production", wantFlagV: 2, wantEnvV: 40,
			wantDiff: []DiffLine{{Field: "default", Before: "rollout 50% control / 50% Two column", After: "compact"}},
		},
		{
			text:      "rollout new-checkout true=25 false=75",
			wantPatch: `{"environmentKey":"production","instructions":[{"kind":"updateFallthroughVariationOrRollout","rolloutWeights":{"v-false":75000,"v-true":25000},"rolloutContextKind":"user"}]}`,
			wantEnv:   "production", wantFlagV: 7, wantEnvV: 12,
			wantDiff: []DiffLine{{Field: "default", Before: "true", After: "rollout 25% true / 75% false"}},
		},
		{
			text:      "rollout checkout-layout control=33.333 two-column=33.333 2=33.334",
			wantPatch: `{"environmentKey":"production","instructions":[{"kind":"updateFallthroughVariationOrRollout","rolloutWeights":{"v-compact":33334,"v-control":33333,"v-two":33333},"rolloutContextKind":"user"}]}`,
			wantEnv:   "production", wantFlagV: 2, wantEnvV: 40,
			wantDiff: []DiffLine{{Field: "default", Before: "rollout 50% control / 50% Two column", After: "rollout 33.333% control / 33.333% Two column / 33.334% compact"}},
		},
		{
			text:      "offvariation new-checkout true",
			wantPatch: `{"environmentKey":"production","instructions":[{"kind":"updateOffVariation","variationId":"v-true"}]}`,
			wantEnv:   "production", wantFlagV: 7, wantEnvV: 12,
			wantDiff: []DiffLine{{Field: "off variation", Before: "false", After: "true"}},
		},
		{
			text:      "target new-checkout add true alice@example.com,device:ios-2,bob@example.com,org:acme",
			wantPatch: `{"environmentKey":"production","instructions":[{"kind":"addTargets","variationId":"v-true","contextKind":"user","values":["alice@example.com","bob@example.com"]},{"kind":"addTargets","variationId":"v-true","contextKind":"device","values":["ios-2"]},{"kind":"addTargets","variationId":"v-true","contextKind":"org","values":["acme"]}]}`,
			wantEnv:   "production", wantFlagV: 7, wantEnvV: 12,
			wantDiff: []DiffLine{{Field: "targets for true", Before: "1 context", After: "5 contexts (+ user:alice@example.com, device:ios-2, user:bob@example.com, org:acme)"}},
		},
		{
			text:      "target new-checkout remove false carol@example.com",
			wantPatch: `{"environmentKey":"production","instructions":[{"kind":"removeTargets","variationId":"v-false","contextKind":"user","values":["carol@example.com"]}]}`,
			wantEnv:   "production", wantFlagV: 7, wantEnvV: 12,
			wantDiff: []DiffLine{{Field: "targets for false", Before: "1 context", After: "0 contexts (− user:carol@example.com)"}},
		},
		{
			text:      "archive new-checkout",
			wantPatch: `{"instructions":[{"kind":"archiveFlag"}]}`,
			wantFlagV: 7,
			wantDiff:  []DiffLine{{Field: "archived", Before: "no", After: "yes"}},
			wantText:  "archive new-checkout --project web",
		},
		{
			text:      "restore old-banner",
			wantPatch: `{"instructions":[{"kind":"restoreFlag"}]}`,
			wantFlagV: 4,
			wantDiff:  []DiffLine{{Field: "archived", Before: "yes", After: "no"}},
		},
		{
			text:      "delete new-checkout",
			wantDel:   true,
			wantFlagV: 7,
			wantDiff:  []DiffLine{{Field: "flag", Before: "exists", After: "deleted from every environment"}},
		},
		{
			text:     "create dark-mode Dark mode --temporary --tags ui,web",
			wantNew:  `{"key":"dark-mode","name":"Dark mode","tags":["ui","web"],"temporary":true,"variations":[{"value":true},{"value":false}],"defaults":{"onVariation":0,"offVariation":1}}`,
			wantDiff: []DiffLine{{Field: "flag", Before: "none", After: `boolean flag "Dark mode" (true / false), off everywhere, temporary, tags ui, web`}},
			wantText: `create dark-mode "Dark mode" --tags ui,web --temporary --project web`,
		},
		{
			text:     `create layout --kind string --variations "a b,c"`,
			wantNew:  `{"key":"layout","name":"layout","temporary":false,"variations":[{"value":"a b"},{"value":"c"}],"defaults":{"onVariation":0,"offVariation":1}}`,
			wantDiff: []DiffLine{{Field: "flag", Before: "none", After: `string flag "layout" (a b / c), off everywhere`}},
		},
		{
			text:    `create cfg --kind json --variations '{"a":[1,2]},null'`,
			wantNew: `{"key":"cfg","name":"cfg","temporary":false,"variations":[{"value":{"a":[1,2]}},{"value":null}],"defaults":{"onVariation":0,"offVariation":1}}`,
		},
		{
			text:    "create limit --kind number --variations 10,2.5",
			wantNew: `{"key":"limit","name":"limit","temporary":false,"variations":[{"value":10},{"value":2.5}],"defaults":{"onVariation":0,"offVariation":1}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			t.Parallel()
			r := newWriteRig(t)
			c := r.mustRequest(tt.text)
			switch {
			case tt.wantPatch != "":
				if c.Patch == nil || c.NewFlag != nil || c.Delete {
					t.Fatalf("change = %+v, want only a patch", c)
				}
				if got := jsonOf(t, c.Patch); got != tt.wantPatch {
					t.Errorf("patch = %s\nwant    %s", got, tt.wantPatch)
				}
			case tt.wantNew != "":
				if c.NewFlag == nil || c.Patch != nil || c.Delete {
					t.Fatalf("change = %+v, want only a new flag", c)
				}
				if got := jsonOf(t, c.NewFlag); got != tt.wantNew {
					t.Errorf("new flag = %s\nwant       %s", got, tt.wantNew)
				}
			case tt.wantDel:
				if !c.Delete || c.Patch != nil || c.NewFlag != nil {
					t.Fatalf("change = %+v, want only a delete", c)
				}
			}
			if c.Env != tt.wantEnv || c.FlagVersion != tt.wantFlagV || c.EnvVersion != tt.wantEnvV {
				t.Errorf("env, versions = %q, %d, %d, want %q, %d, %d", c.Env, c.FlagVersion, c.EnvVersion, tt.wantEnv, tt.wantFlagV, tt.wantEnvV)
			}
			if tt.wantDiff != nil && !reflect.DeepEqual(c.Diff, tt.wantDiff) {
				t.Errorf("diff = %#v\nwant   %#v", c.Diff, tt.wantDiff)
			}
			if tt.wantText != "" && c.CommandText != tt.wantText {
				t.Errorf("command text = %q, want %q", c.CommandText, tt.wantText)
			}
			if c.ID != "chg1" || c.Workspace != wsA || c.ChannelID != "C1" || c.RequesterID != "UALICE" || c.Project != "web" ||
				!c.CreatedAt.Equal(t0) || !c.ExpiresAt.Equal(t0.Add(24*time.Hour)) || c.RequiredApprovals != 1 || string(c.Kind) != strings.Fields(tt.text)[0] {
				t.Errorf("change = %+v", c)
			}
			if len(r.patches)+len(r.creates)+len(r.deletes) != 0 {
				t.Errorf("a request wrote to LaunchDarkly")
			}
			// The recorded text requests the same change again.
			again, err := Parse(c.CommandText)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.CommandText, err)
			}
			res, err := r.exec.RequestChange(t.Context(), alice, "C1", again, "again")
			if err != nil || !reflect.DeepEqual(res.Change.Patch, c.Patch) || !reflect.DeepEqual(res.Change.NewFlag, c.NewFlag) || res.Change.Delete != c.Delete {
				t.Errorf("requesting %q again = %+v, %v", c.CommandText, res.Change, err)
			}
		})
	}
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text    string
		kind    Kind
		wantMsg string
	}{
		{"on new-checkout staging", KindInvalid, "already on in `staging`"},
		{"off new-checkout", KindInvalid, "already off in `production`"},
		{"serve new-checkout true", KindInvalid, "already serves true by default"},
		{"serve new-checkout maybe", KindInvalid, "has no variation `maybe`. Its variations are `true` (0), `false` (1)"},
		{"serve new-checkout 2", KindInvalid, "has no variation `2`"},
		{"offvariation new-checkout 1", KindInvalid, "already serves false while off"},
		{"rollout checkout-layout control=50 0=50", KindInvalid, "same variation, control"},
		{"rollout checkout-layout control=50 nope=50", KindInvalid, "has no variation `nope`"},
		{"target new-checkout add true carol@example.com", KindInvalid, "`user:carol@example.com` is targeted to get false in `production`; remove it from there first"},
		{"target new-checkout add true device:ios-1", KindInvalid, "already targeted to get true"},
		{"target new-checkout remove true carol@example.com", KindInvalid, "isn't targeted to get true"},
		{"on new-checkout prod", KindNotFound, "no environment `prod`"},
		{"on new-checkot", KindNotFound, "can't find flag `new-checkot`"},
		{"on new-checkout --project mobile", KindNotFound, "project `mobile`"},
		{"archive old-banner", KindInvalid, "already archived"},
		{"restore new-checkout", KindInvalid, "isn't archived"},
		{"create new-checkout", KindInvalid, "already has a flag `new-checkout`"},
		{"create x --project mobile", KindNotFound, "project `mobile`"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			t.Parallel()
			r := newWriteRig(t)
			_, err := r.request(tt.text)
			e := wantKind(t, err, tt.kind)
			if !strings.Contains(e.Msg.String(), tt.wantMsg) {
				t.Errorf("msg = %q, want it to contain %q", e.Msg.String(), tt.wantMsg)
			}
			if n := len(r.changes.all()); n != 0 {
				t.Errorf("%d changes stored after a refused request", n)
			}
		})
	}
	t.Run("suggestions", func(t *testing.T) {
		t.Parallel()
		r := newWriteRig(t)
		_, err := r.request("on new-checkout prodution")
		if e := wantKind(t, err, KindNotFound); !reflect.DeepEqual(e.Suggestions, []string{"production"}) {
			t.Errorf("suggestions = %q", e.Suggestions)
		}
	})
	t.Run("case-insensitive flag", func(t *testing.T) {
		t.Parallel()
		r := newWriteRig(t)
		if c := r.mustRequest("on NEW-CHECKOUT"); c.Flag != "new-checkout" {
			t.Errorf("flag = %q", c.Flag)
		}
	})
}

func TestReaderTokenStoresNothing(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	if err := r.ws.Put(t.Context(), wsA, Connection{Token: secret.Secret("api-a"), Role: RoleReader, DefaultProject: "web", DefaultEnv: "production"}); err != nil {
		t.Fatal(err)
	}
	_, err := r.request("on new-checkout")
	e := wantKind(t, err, KindForbidden)
	if e.Msg.String() != "This workspace's LaunchDarkly token is read-only; an admin can reconnect a Writer token." {
		t.Errorf("msg = %q", e.Msg.String())
	}
	if len(r.changes.all()) != 0 || len(r.used) != 0 {
		t.Errorf("stored %d changes, made %d clients", len(r.changes.all()), len(r.used))
	}
}

func TestRequireReason(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	r.setPolicy(Policy{RequireReason: true})
	_, err := r.request("on new-checkout")
	if e := wantKind(t, err, KindInvalid); !strings.Contains(e.Msg.String(), `--reason "..."`) {
		t.Errorf("msg = %q", e.Msg.String())
	}
	if len(r.changes.all()) != 0 {
		t.Error("stored a change without a reason")
	}
	if c := r.mustRequest(`on new-checkout --reason "launch day"`); c.Reason != "launch day" {
		t.Errorf("reason = %q", c.Reason)
	}
}

func TestDuplicateEnvelopeMakesOneChange(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	cmd, _ := Parse("on new-checkout")
	first, err := r.exec.RequestChange(t.Context(), alice, "C1", cmd, "envelope-1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.exec.RequestChange(t.Context(), alice, "C1", cmd, "envelope-1")
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || second.Created || second.Change.ID != first.Change.ID || len(r.changes.all()) != 1 {
		t.Errorf("first %+v, second %+v, %d stored", first, second, len(r.changes.all()))
	}
}

// TestExemptEnvs: approval fails closed. Only environments an admin
// exempted (per project) apply at once; an exempt environment that is
// critical, unknown to LaunchDarkly or unreadable still needs approval, and
// so do flag-wide changes, other projects' environments and environments of
// the old approval-envs setting.
func TestExemptEnvs(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	r.setPolicy(Policy{ExemptEnvs: map[string][]string{"web": {"Staging"}}})
	res, err := r.request(`off new-checkout staging --reason "QA done"`)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Applied || !res.Created || res.Change.Status != StatusApplied || res.Change.DecidedBy != "UALICE" || res.FlagURL != "https://app.launchdarkly.com/web/staging/features/new-checkout" {
		t.Errorf("result = %+v", res)
	}
	// It is stored, applied, with how to undo it.
	if all := r.changes.all(); len(all) != 1 || all[0].Status != StatusApplied || !all[0].Exempt || all[0].Undo == nil || all[0].Undo.Kind != ChangeOn {
		t.Errorf("stored = %+v, want one applied exempt change with an undo", all)
	}
	want := "Applied by ualice (UALICE) via Flagbot without approval (an admin exempted this environment); reason: QA done; request chg1"
	if len(r.patches) != 1 || r.patches[0].Comment != want || r.patches[0].Env != "staging" {
		t.Errorf("patches = %+v, want one with comment %q", r.patches, want)
	}
	// production is still behind approval, and so are flag-wide changes.
	for _, text := range []string{"on new-checkout production", "archive new-checkout"} {
		if c := r.mustRequest(text); c.Status != StatusPending {
			t.Errorf("%q: status %s", text, c.Status)
		}
	}
	pendingAfter := func(name string, pol Policy, envs func(context.Context, string) ([]Environment, error)) {
		t.Helper()
		r := newWriteRig(t)
		r.setPolicy(pol)
		if envs != nil {
			r.ld.ListEnvironmentsFn = envs
		}
		if c := r.mustRequest("off new-checkout staging"); c.Status != StatusPending || len(r.patches) != 0 {
			t.Errorf("%s: status %s, %d patches; want pending and none", name, c.Status, len(r.patches))
		}
	}
	exemptStaging := Policy{ExemptEnvs: map[string][]string{"web": {"staging"}}}
	pendingAfter("critical", exemptStaging, func(context.Context, string) ([]Environment, error) {
		return []Environment{{Key: "production", Critical: true}, {Key: "staging", Critical: true}}, nil
	})
	pendingAfter("environments unreadable", exemptStaging, func(context.Context, string) ([]Environment, error) {
		return nil, remoteErr(503, "")
	})
	pendingAfter("another project's exemption", Policy{ExemptEnvs: map[string][]string{"mobile": {"staging"}}}, nil)
	pendingAfter("the old approval-envs setting grants nothing", Policy{LegacyApprovalEnvs: []string{"production"}}, nil)
	pendingAfter("no policy", Policy{}, nil)
}

func TestApproveApplies(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	c := r.mustRequest(`on new-checkout --reason "launch day"`)
	res, err := r.exec.Approve(t.Context(), bob, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !res.ApprovedNow || res.Change.Status != StatusApplied || res.Change.Outcome.String() != "Applied: `new-checkout` is now on in `production`." ||
		!res.Flag.Environments["production"].On || res.FlagURL != "https://app.launchdarkly.com/web/production/features/new-checkout" {
		t.Errorf("result = %+v", res)
	}
	want := "Requested by ualice (UALICE), approved by ubob (UBOB) via Flagbot; reason: launch day; request chg1"
	if len(r.patches) != 1 || r.patches[0].Comment != want || jsonOf(t, r.patches[0].Instructions) != `[{"kind":"turnFlagOn"}]` {
		t.Errorf("patches = %+v, want comment %q", r.patches, want)
	}
	// A second click is told who approved, and nothing is applied again.
	_, err = r.exec.Approve(t.Context(), dave, c.ID)
	if e := wantKind(t, err, KindConflict); e.Msg.String() != "<@UBOB> already approved this; it was applied." {
		t.Errorf("msg = %q", e.Msg.String())
	}
	if len(r.patches) != 1 {
		t.Errorf("%d patches", len(r.patches))
	}
}

// TestApproveReadsNoChangeFirst: a click on Approve is one call to the
// store, which checks the change in the step that records the approval;
// the change is never read before it (a round trip per click).
func TestApproveReadsNoChangeFirst(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	c := r.mustRequest("on new-checkout")
	r.changes.mu.Lock()
	r.changes.gets = 0
	r.changes.mu.Unlock()
	res, err := r.exec.Approve(t.Context(), bob, c.ID)
	if err != nil || res.Change.Status != StatusApplied {
		t.Fatalf("Approve = %q, %v; want applied", res.Change.Status, err)
	}
	r.changes.mu.Lock()
	defer r.changes.mu.Unlock()
	if r.changes.gets != 0 {
		t.Errorf("Approve read the change %d times before or after approving it, want 0", r.changes.gets)
	}
}

func TestApproveCreateAndDelete(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	c := r.mustRequest("create dark-mode Dark mode")
	if _, err := r.exec.Approve(t.Context(), bob, c.ID); err != nil {
		t.Fatal(err)
	}
	if len(r.creates) != 1 || r.creates[0].Description != "Requested by ualice (UALICE), approved by ubob (UBOB) via Flagbot; request chg1" {
		t.Errorf("creates = %+v", r.creates)
	}
	d := r.mustRequest("delete old-banner")
	// A deletion is approved only with its key typed: the core enforces it,
	// whatever the transport does.
	refused, err := r.exec.Approve(t.Context(), bob, d.ID)
	wantKind(t, err, KindConfirm)
	if got, want := err.(*Error).Msg.String(), "Deleting `old-banner` cannot be undone: type its key to confirm."; got != want {
		t.Errorf("Approve(delete) message = %q, want %q", got, want)
	}
	// The transport opens the confirmation from the change it is given.
	if refused.Change.ID != d.ID || refused.Change.Flag != "old-banner" {
		t.Errorf("Approve(delete) returned change %q of %q, want %q of old-banner", refused.Change.ID, refused.Change.Flag, d.ID)
	}
	if got, err := r.exec.Change(t.Context(), bob, d.ID); err != nil || got.Status != StatusPending || len(got.Approvals) != 0 {
		t.Errorf("after Approve(delete): status %q, approvals %v, %v; want pending with none recorded", got.Status, got.Approvals, err)
	}
	for _, typed := range []string{"", "old-banne", "OLD-BANNER", "new-checkout"} {
		_, err = r.exec.ApproveWithKey(t.Context(), bob, d.ID, typed)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != FieldConfirmKey || fe.Msg.String() != "Type old-banner exactly to delete it." {
			t.Errorf("ApproveWithKey(%q) = %v, want a field error for the key", typed, err)
		}
		if err := r.exec.CheckConfirmation(t.Context(), bob, d.ID, typed); !errors.As(err, &fe) {
			t.Errorf("CheckConfirmation(%q) = %v, want a field error", typed, err)
		}
	}
	if len(r.deletes) != 0 {
		t.Fatalf("deleted without a confirmation: %q", r.deletes)
	}
	if err := r.exec.CheckConfirmation(t.Context(), bob, d.ID, " old-banner "); err != nil {
		t.Errorf("CheckConfirmation(right key) = %v", err)
	}
	res, err := r.exec.ApproveWithKey(t.Context(), bob, d.ID, "old-banner")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.deletes) != 1 || r.deletes[0] != "old-banner" || res.Change.Status != StatusApplied || res.FlagURL != "" {
		t.Errorf("deletes = %q, result %+v", r.deletes, res)
	}
}

func TestApproveStale(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	c := r.mustRequest("on new-checkout")
	r.bumpEnvVersion("new-checkout", "production")
	res, err := r.exec.Approve(t.Context(), bob, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := "Changed in LaunchDarkly since the request (production version 12 → 13); `new-checkout` is now on in `production`. Not applied: request it again if it is still wanted."
	if res.Change.Status != StatusStale || res.Change.Outcome.String() != want || !res.ApprovedNow {
		t.Errorf("result = %+v\nwant outcome %q", res, want)
	}
	if len(r.patches) != 0 {
		t.Error("a stale change was applied")
	}
}

func TestApproveStaleCreate(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	c := r.mustRequest("create dark-mode")
	r.mu.Lock()
	r.flags["dark-mode"] = Flag{Key: "dark-mode"}
	r.mu.Unlock()
	res, err := r.exec.Approve(t.Context(), bob, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Change.Status != StatusStale || len(r.creates) != 0 {
		t.Errorf("result = %+v, creates %d", res, len(r.creates))
	}
}

func TestApproveHandsToLaunchDarklyApprovals(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	r.patchErr = fmt.Errorf("ld: patch flag: %w", err405)
	c := r.mustRequest(`rollout new-checkout true=10 false=90 --reason "canary"`)
	res, err := r.exec.Approve(t.Context(), bob, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantURL := "https://app.launchdarkly.com/web/production/features/new-checkout/approvals/ar-1"
	if res.Change.Status != StatusLDApproval || res.LDApprovalURL != wantURL || !strings.Contains(res.Change.Outcome.String(), wantURL) {
		t.Errorf("result = %+v", res)
	}
	if len(r.approval) != 1 {
		t.Fatalf("%d approval requests", len(r.approval))
	}
	a := r.approval[0]
	if jsonOf(t, a.Instructions) != jsonOf(t, c.Patch.Instructions) || a.Comment != r.patches[0].Comment ||
		a.Description != "Flagbot: rollout new-checkout in production (default: true → rollout 10% true / 90% false) (approved in Slack by ubob (UBOB))" {
		t.Errorf("approval request = %+v", a)
	}
}

func TestApproveLaunchDarklyFails(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	r.patchErr = fmt.Errorf("ld: patch flag: %w", err500)
	c := r.mustRequest("on new-checkout")
	res, err := r.exec.Approve(t.Context(), bob, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Change.Status != StatusFailed || res.Change.Outcome.String() != "LaunchDarkly refused the change (HTTP 500): something broke" {
		t.Errorf("result = %+v", res)
	}
	stored, _ := r.changes.Get(t.Context(), wsA, c.ID)
	if stored.Status != StatusFailed {
		t.Errorf("stored status = %s", stored.Status)
	}
}

func TestApproveRules(t *testing.T) {
	t.Parallel()
	t.Run("self approval", func(t *testing.T) {
		t.Parallel()
		r := newWriteRig(t)
		c := r.mustRequest("on new-checkout")
		_, err := r.exec.Approve(t.Context(), alice, c.ID)
		if e := wantKind(t, err, KindForbidden); !strings.Contains(e.Msg.String(), "someone else") {
			t.Errorf("msg = %q", e.Msg.String())
		}
		if len(r.patches) != 0 {
			t.Error("self-approved change applied")
		}
	})
	t.Run("approver group", func(t *testing.T) {
		t.Parallel()
		r := newWriteRig(t)
		r.setPolicy(Policy{ApproverGroup: "S-REL"})
		c := r.mustRequest("on new-checkout")
		_, err := r.exec.Approve(t.Context(), dave, c.ID)
		if e := wantKind(t, err, KindForbidden); e.Msg.String() != "Only members of <!subteam^S-REL> can approve or reject changes in this workspace." {
			t.Errorf("msg = %q", e.Msg.String())
		}
		if _, err := r.exec.Reject(t.Context(), dave, c.ID); KindOf(err) != KindForbidden {
			t.Errorf("reject by non-member: %v", err)
		}
		if res, err := r.exec.Approve(t.Context(), bob, c.ID); err != nil || res.Change.Status != StatusApplied {
			t.Errorf("approve by member = %+v, %v", res, err)
		}
	})
	t.Run("two of n", func(t *testing.T) {
		t.Parallel()
		r := newWriteRig(t)
		r.setPolicy(Policy{Approvals: map[string]int{"production": 2, "staging": 3}})
		c := r.mustRequest("on new-checkout")
		if c.RequiredApprovals != 2 {
			t.Fatalf("required = %d", c.RequiredApprovals)
		}
		res, err := r.exec.Approve(t.Context(), bob, c.ID)
		if err != nil || res.ApprovedNow || res.Change.Status != StatusPending || len(res.Change.Approvals) != 1 || len(r.patches) != 0 {
			t.Fatalf("first approval = %+v, %v (patches %d)", res, err, len(r.patches))
		}
		_, err = r.exec.Approve(t.Context(), bob, c.ID)
		if e := wantKind(t, err, KindConflict); e.Msg.String() != "You already approved this. It needs 1 more approval from someone else." {
			t.Errorf("msg = %q", e.Msg.String())
		}
		res, err = r.exec.Approve(t.Context(), dave, c.ID)
		if err != nil || !res.ApprovedNow || res.Change.Status != StatusApplied {
			t.Fatalf("second approval = %+v, %v", res, err)
		}
		want := "Requested by ualice (UALICE), approved by ubob (UBOB), udave (UDAVE) via Flagbot; request chg1"
		if len(r.patches) != 1 || r.patches[0].Comment != want {
			t.Errorf("patches = %+v", r.patches)
		}
		// Flag-wide changes need the strictest count.
		if a := r.mustRequest("archive new-checkout"); a.RequiredApprovals != 3 {
			t.Errorf("archive required = %d", a.RequiredApprovals)
		}
	})
	t.Run("other workspace", func(t *testing.T) {
		t.Parallel()
		r := newWriteRig(t)
		c := r.mustRequest("on new-checkout")
		_, err := r.exec.Approve(t.Context(), carol, c.ID)
		wantKind(t, err, KindNotFound)
		_, err = r.exec.Reject(t.Context(), carol, c.ID)
		wantKind(t, err, KindNotFound)
	})
	t.Run("expired", func(t *testing.T) {
		t.Parallel()
		r := newWriteRig(t)
		c := r.mustRequest("on new-checkout")
		r.mu.Lock()
		r.now = t0.Add(25 * time.Hour)
		r.mu.Unlock()
		_, err := r.exec.Approve(t.Context(), bob, c.ID)
		if e := wantKind(t, err, KindConflict); e.Msg.String() != "This request expired at 2026-11-28 09:00 UTC; ask again if it is still wanted." {
			t.Errorf("msg = %q", e.Msg.String())
		}
		if len(r.patches) != 0 {
			t.Error("expired change applied")
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		t.Parallel()
		r := newWriteRig(t)
		_, err := r.exec.Approve(t.Context(), bob, "nope")
		wantKind(t, err, KindNotFound)
	})
	t.Run("store down", func(t *testing.T) {
		t.Parallel()
		r := newWriteRig(t)
		r.changes.Err = errors.New("redis: connection refused")
		_, err := r.request("on new-checkout")
		wantKind(t, err, KindStoreUnavailable)
		_, err = r.exec.Approve(t.Context(), bob, "chg1")
		wantKind(t, err, KindStoreUnavailable)
	})
}

func TestRejectAndCancel(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	c := r.mustRequest("on new-checkout")
	_, err := r.exec.Cancel(t.Context(), bob, c.ID)
	if e := wantKind(t, err, KindForbidden); e.Msg.String() != "Only <@UALICE>, who asked for this change, can cancel it." {
		t.Errorf("msg = %q", e.Msg.String())
	}
	res, err := r.exec.Reject(t.Context(), bob, c.ID)
	if err != nil || res.Change.Status != StatusRejected || res.Change.DecidedBy != "UBOB" {
		t.Fatalf("reject = %+v, %v", res, err)
	}
	_, err = r.exec.Approve(t.Context(), dave, c.ID)
	if e := wantKind(t, err, KindConflict); e.Msg.String() != "<@UBOB> already rejected this." {
		t.Errorf("msg = %q", e.Msg.String())
	}
	d := r.mustRequest("off new-checkout staging")
	res, err = r.exec.Cancel(t.Context(), alice, d.ID)
	if err != nil || res.Change.Status != StatusCancelled {
		t.Fatalf("cancel = %+v, %v", res, err)
	}
	_, err = r.exec.Approve(t.Context(), bob, d.ID)
	if e := wantKind(t, err, KindConflict); e.Msg.String() != "<@UALICE> cancelled this request." {
		t.Errorf("msg = %q", e.Msg.String())
	}
	if len(r.patches) != 0 {
		t.Error("a rejected or cancelled change was applied")
	}
}

func TestExecuteWrites(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	// Execute files a change command like any other.
	other := newWriteRig(t)
	res, err := other.exec.Execute(t.Context(), alice, On{Flag: "new-checkout"})
	if cr, ok := res.(ChangeResult); err != nil || !ok || cr.Change.Status != StatusPending {
		t.Fatalf("Execute(on) = %+v, %v; want a pending change", res, err)
	}
	if !IsWrite(On{}) || !IsWrite(Create{}) || IsWrite(Pending{}) || IsWrite(History{}) || IsWrite(Show{}) {
		t.Error("IsWrite misclassifies")
	}
	a := r.mustRequest("on new-checkout")
	b := r.mustRequest("off new-checkout staging")
	if _, err := r.exec.Reject(t.Context(), bob, b.ID); err != nil {
		t.Fatal(err)
	}
	res, err = r.exec.Execute(t.Context(), alice, Pending{})
	if err != nil {
		t.Fatal(err)
	}
	if p := res.(PendingResult); len(p.Changes) != 1 || p.Changes[0].ID != a.ID {
		t.Errorf("pending = %+v", p)
	}
	res, err = r.exec.Execute(t.Context(), alice, History{Flag: "new-checkout"})
	if err != nil {
		t.Fatal(err)
	}
	if h := res.(HistoryResult); len(h.Changes) != 1 || h.Changes[0].ID != b.ID || h.Flag != "new-checkout" {
		t.Errorf("history = %+v", h)
	}
}

func TestConfigPolicy(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	run := func(text string) (ConfigResult, error) {
		t.Helper()
		cmd, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		res, err := r.exec.Execute(t.Context(), alice, cmd)
		if err != nil {
			return ConfigResult{}, err
		}
		return res.(ConfigResult), nil
	}
	if _, err := r.exec.Execute(t.Context(), bob, Config{Setting: SettingRequireReason, Value: "on"}); KindOf(err) != KindNotAdmin {
		t.Errorf("non-admin config: %v", err)
	}
	steps := []struct {
		text string
		want Policy
	}{
		{"config require-reason on", Policy{RequireReason: true}},
		{"config approvers <!subteam^S-REL|@release>", Policy{RequireReason: true, ApproverGroup: "S-REL"}},
		{"config approvals PRODUCTION 3", Policy{RequireReason: true, ApproverGroup: "S-REL", Approvals: map[string]int{"production": 3}}},
		{"config exempt-envs STAGING", Policy{RequireReason: true, ApproverGroup: "S-REL", Approvals: map[string]int{"production": 3}, ExemptEnvs: map[string][]string{"web": {"staging"}}}},
		{"config approvals production 1", Policy{RequireReason: true, ApproverGroup: "S-REL", ExemptEnvs: map[string][]string{"web": {"staging"}}}},
		{"config guests on", Policy{RequireReason: true, ApproverGroup: "S-REL", ExemptEnvs: map[string][]string{"web": {"staging"}}, GuestsMayRequest: true}},
		{"config exempt-envs none", Policy{RequireReason: true, ApproverGroup: "S-REL", GuestsMayRequest: true}},
		{"config guests off", Policy{RequireReason: true, ApproverGroup: "S-REL"}},
		{"config approvers none", Policy{RequireReason: true}},
		{"config require-reason off", Policy{}},
	}
	for _, s := range steps {
		res, err := run(s.text)
		if err != nil {
			t.Fatalf("%q: %v", s.text, err)
		}
		if !reflect.DeepEqual(res.Policy, s.want) {
			t.Errorf("%q: policy = %+v, want %+v", s.text, res.Policy, s.want)
		}
		if got, _ := r.policies.Policy(t.Context(), wsA); !reflect.DeepEqual(got, s.want) {
			t.Errorf("%q: stored policy = %+v", s.text, got)
		}
	}
	_, err := run("config approvals prod 2")
	if e := wantKind(t, err, KindNotFound); !reflect.DeepEqual(e.Suggestions, []string{"production"}) {
		t.Errorf("suggestions = %q", e.Suggestions)
	}
	fail := errors.New("usergroups.users.list: no_such_subteam")
	exec := NewExecutor(r.ws, r.clients, failingGroups{r.dir, fail}, r.changes, r.policies, nil, Options{})
	_, err = exec.Execute(t.Context(), alice, Config{Setting: SettingApprovers, Value: "S-NOPE"})
	wantKind(t, err, KindInvalid)
}

// failingGroups is a Directory whose group lookups fail.
type failingGroups struct {
	adminSet
	err error
}

func (f failingGroups) GroupMembers(context.Context, Workspace, string) ([]string, error) {
	return nil, f.err
}

// TestConcurrentApprovalsApplyOnce clicks Approve from many goroutines; the
// store lets exactly one complete it and LaunchDarkly sees one patch.
func TestConcurrentApprovalsApplyOnce(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	c := r.mustRequest("on new-checkout")
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.exec.Approve(context.Background(), Actor{Workspace: wsA, UserID: fmt.Sprintf("U%02d", i)}, c.ID)
			if err == nil && res.ApprovedNow {
				mu.Lock()
				applied++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if applied != 1 || len(r.patches) != 1 {
		t.Errorf("applied %d times, %d patches", applied, len(r.patches))
	}
}

// flakyFinish is a change store whose first failures Finish calls fail as
// a Redis outage would; recorded, when set, means the failed calls still
// reached the store (the reply was lost, not the request).
type flakyFinish struct {
	*memChanges
	mu       sync.Mutex
	failures int
	recorded bool
	calls    int
}

func (f *flakyFinish) Finish(ctx context.Context, ws Workspace, id string, fence int64, status ChangeStatus, outcome Text, undo *UndoPlan, now time.Time) (Change, error) {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.failures
	f.mu.Unlock()
	if !fail {
		return f.memChanges.Finish(ctx, ws, id, fence, status, outcome, undo, now)
	}
	if f.recorded {
		_, _ = f.memChanges.Finish(ctx, ws, id, fence, status, outcome, undo, now)
	}
	return Change{}, errors.New("approvals: finish change: redis: connection reset by peer")
}

// TestApproveFinishSurvivesStoreBlips: once LaunchDarkly applied the change,
// recording its outcome must not give up on the first store error (the
// change would stay "approved" for good, out of pending and history, its
// message saying "applying it now"), and a retry that finds its own outcome
// already recorded is a success.
func TestApproveFinishSurvivesStoreBlips(t *testing.T) {
	t.Parallel()
	for _, recorded := range []bool{false, true} {
		t.Run(fmt.Sprintf("recorded=%v", recorded), func(t *testing.T) {
			t.Parallel()
			r := newWriteRig(t)
			store := &flakyFinish{memChanges: r.changes, failures: 2, recorded: recorded}
			exec := NewExecutor(r.ws, r.clients, r.dir, store, r.policies, nil, Options{
				Now: func() time.Time { return t0 }, NewID: func() string { return "chg-flaky" },
			})
			cmd, err := Parse("on new-checkout")
			if err != nil {
				t.Fatal(err)
			}
			req, err := exec.RequestChange(t.Context(), alice, "C1", cmd, "flaky")
			if err != nil {
				t.Fatal(err)
			}
			res, err := exec.Approve(t.Context(), bob, req.Change.ID)
			if err != nil || !res.ApprovedNow || res.Change.Status != StatusApplied {
				t.Fatalf("Approve = %+v, %v; want applied", res, err)
			}
			if stored, _ := r.changes.Get(t.Context(), wsA, req.Change.ID); stored.Status != StatusApplied {
				t.Errorf("stored status = %s, want applied", stored.Status)
			}
			if len(r.patches) != 1 {
				t.Errorf("%d patches, want 1", len(r.patches))
			}
		})
	}
}

// TestExemptEnvUnderLaunchDarklyApprovals: a write in an exempt
// environment that LaunchDarkly gates with its own approvals is handed to
// a LaunchDarkly approval request whose audit comment must not claim the
// change was applied.
func TestExemptEnvUnderLaunchDarklyApprovals(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	r.setPolicy(Policy{ExemptEnvs: map[string][]string{"web": {"staging"}}})
	r.patchErr = fmt.Errorf("ld: patch flag: %w", err405)
	res, err := r.request(`off new-checkout staging --reason "QA done"`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Change.Status != StatusLDApproval || len(r.approval) != 1 {
		t.Fatalf("result = %+v, %d approval requests", res, len(r.approval))
	}
	want := "Requested by ualice (UALICE) via Flagbot without approval in Slack (an admin exempted this environment); reason: QA done; request chg1"
	if got := r.approval[0].Comment; got != want {
		t.Errorf("approval request comment = %q, want %q", got, want)
	}
}

// TestLateClickOnFailedChange: a click on a change LaunchDarkly refused
// says so once, in LaunchDarkly's words.
func TestLateClickOnFailedChange(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	r.patchErr = fmt.Errorf("ld: patch flag: %w", err500)
	c := r.mustRequest("on new-checkout")
	if _, err := r.exec.Approve(t.Context(), bob, c.ID); err != nil {
		t.Fatal(err)
	}
	_, err := r.exec.Approve(t.Context(), dave, c.ID)
	want := "<@UBOB> already approved this, but it was not applied: LaunchDarkly refused the change (HTTP 500): something broke"
	if e := wantKind(t, err, KindConflict); e.Msg.String() != want {
		t.Errorf("msg = %q, want %q", e.Msg.String(), want)
	}
}

// TestGuests: single- and multi-channel guests never approve or reject;
// they request changes only when the workspace allows it.
func TestGuests(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	guest := Actor{Workspace: wsA, UserID: "UGUEST", ChannelID: "C1", Guest: true}
	cmd, err := Parse("on new-checkout")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.exec.RequestChange(t.Context(), guest, "C1", cmd, "g1")
	if e := wantKind(t, err, KindForbidden); e.Msg.String() != "Guests can't request changes in this workspace. An admin can allow it with `/flag config guests on`." {
		t.Errorf("guest request: %q", e.Msg.String())
	}
	c := r.mustRequest("on new-checkout")
	for name, decide := range map[string]func(context.Context, Actor, string) (ChangeResult, error){"approve": r.exec.Approve, "reject": r.exec.Reject} {
		_, err := decide(t.Context(), guest, c.ID)
		if e := wantKind(t, err, KindForbidden); e.Msg.String() != "Guests can't approve or reject changes." {
			t.Errorf("guest %s: %q", name, e.Msg.String())
		}
	}
	if stored, _ := r.changes.Get(t.Context(), wsA, c.ID); stored.Status != StatusPending || len(stored.Approvals) != 0 {
		t.Errorf("a guest's decision was recorded: %+v", stored)
	}
	r.setPolicy(Policy{GuestsMayRequest: true})
	res, err := r.exec.RequestChange(t.Context(), guest, "C1", cmd, "g2")
	if err != nil || res.Change.Status != StatusPending || res.Change.RequesterID != "UGUEST" {
		t.Fatalf("guest request once allowed = %+v, %v", res, err)
	}
	if _, err := r.exec.Approve(t.Context(), bob, res.Change.ID); err != nil {
		t.Errorf("a member approving a guest's request: %v", err)
	}
}
