package commands

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestRequestFormIsTheTypedCommand drives the form and the parser from one
// table: what the form builds is what the typed text parses to.
func TestRequestFormIsTheTypedCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		form  RequestForm
		typed string
	}{
		{"on", RequestForm{Action: RequestOn, Flag: "new-checkout", Env: "production", Reason: "launch day"}, `on new-checkout production --reason "launch day"`},
		{"off in a project", RequestForm{Action: RequestOff, Flag: "new-checkout", Env: "staging", Project: "web"}, "off new-checkout staging --project web"},
		{"serve", RequestForm{Action: RequestServe, Flag: "checkout-layout", Env: "production", Variation: "Two column"}, `serve checkout-layout "Two column" production`},
		{"off variation", RequestForm{Action: RequestOffVariation, Flag: "new-checkout", Env: "production", Variation: "false"}, "offvariation new-checkout false production"},
		{"rollout", RequestForm{Action: RequestRollout, Flag: "new-checkout", Env: "production",
			Rollout: []RolloutShare{{"true", "25"}, {"false", " 75 "}, {"2", ""}}}, "rollout new-checkout true=25 false=75 production"},
		{"rollout by name", RequestForm{Action: RequestRollout, Flag: "checkout-layout", Env: "production",
			Rollout: []RolloutShare{{"control", "33.333"}, {"Two column", "33.333"}, {"compact", "33.334"}}}, `rollout checkout-layout control=33.333 "Two column=33.333" compact=33.334 production`},
		{"target add", RequestForm{Action: RequestTargetAdd, Flag: "new-checkout", Env: "production", Variation: "true", Contexts: "ana, org:acme\nbo"}, "target new-checkout add true ana,org:acme,bo production"},
		{"target remove", RequestForm{Action: RequestTargetRemove, Flag: "new-checkout", Env: "staging", Variation: "1", Contexts: "carol@example.com"}, "target new-checkout remove 1 carol@example.com staging"},
		{"create", RequestForm{Action: RequestCreate, NewKey: "dark-mode", NewName: " Dark   mode ", NewTags: "ui,web", Temporary: true}, "create dark-mode Dark mode --tags ui,web --temporary"},
		{"create string", RequestForm{Action: RequestCreate, NewKey: "layout", NewKind: "string", NewVariations: "a,b", Reason: "test"}, `create layout --kind string --variations a,b --reason test`},
		{"archive", RequestForm{Action: RequestArchive, Flag: "old-banner", Env: "production"}, "archive old-banner"},
		{"restore", RequestForm{Action: RequestRestore, Flag: "old-banner"}, "restore old-banner"},
		{"delete", RequestForm{Action: RequestDelete, Flag: "old-banner", Reason: "gone"}, "delete old-banner --reason gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.form.Command()
			if err != nil {
				t.Fatalf("Command() error = %v", err)
			}
			want, err := Parse(tt.typed)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.typed, err)
			}
			if !reflect.DeepEqual(Command(got), want) {
				t.Errorf("form %+v\n gives %#v\n typed %q gives %#v", tt.form, got, tt.typed, want)
			}
		})
	}
}

func TestRequestFormFieldErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		form    RequestForm
		field   string
		wantMsg string
	}{
		{"no action", RequestForm{Flag: "x", Env: "production"}, FieldAction, "Choose what to do."},
		{"no flag", RequestForm{Action: RequestOn, Env: "production"}, FieldFlag, "Choose a flag: type part of its key, name or a tag."},
		{"no env", RequestForm{Action: RequestOff, Flag: "x"}, FieldEnv, "Choose an environment."},
		{"no variation", RequestForm{Action: RequestServe, Flag: "x", Env: "production"}, FieldVariation, "Choose a variation."},
		{"no percentages", RequestForm{Action: RequestRollout, Flag: "x", Env: "production", Rollout: []RolloutShare{{"true", " "}}}, FieldRollout, "Give each variation its percentage; they add up to 100."},
		{"not a percentage", RequestForm{Action: RequestRollout, Flag: "x", Env: "production", Rollout: []RolloutShare{{"true", "half"}}}, FieldRollout, "half isn't a percentage from 0 to 100 with at most three decimals, e.g. 25 or 33.333."},
		{"not 100", RequestForm{Action: RequestRollout, Flag: "x", Env: "production", Rollout: []RolloutShare{{"true", "25"}, {"false", "65"}}}, FieldRollout, "The percentages add up to 90%; they must add up to 100."},
		{"no contexts", RequestForm{Action: RequestTargetAdd, Flag: "x", Env: "production", Variation: "true", Contexts: " , "}, FieldContexts, "Name at least one context, e.g. user:alice@example.com or org:acme."},
		{"bad context kind", RequestForm{Action: RequestTargetAdd, Flag: "x", Env: "production", Variation: "true", Contexts: "us/er:ana"}, FieldContexts, "us/er isn't a valid context kind: keys use only letters, digits, ., _ and -."},
		{"no new key", RequestForm{Action: RequestCreate, NewName: "Dark"}, FieldNewKey, "Type the new flag's key."},
		{"bad new key", RequestForm{Action: RequestCreate, NewKey: "dark mode"}, FieldNewKey, "dark mode isn't a valid flag key: keys use only letters, digits, ., _ and -."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.form.Command()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Command() error = %v, want a FieldError on %s", err, tt.field)
			}
			if got := fe.Msg.PlainString(); got != tt.wantMsg {
				t.Errorf("message:\n got %q\nwant %q", got, tt.wantMsg)
			}
		})
	}
}

func TestRequestOpensTheForm(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	r.setPolicy(Policy{RequireReason: true})
	res, err := r.exec.Execute(t.Context(), alice, Request{Flag: "NEW-CHECKOUT"})
	if err != nil {
		t.Fatal(err)
	}
	m := res.(RequestModal)
	if m.Project != "web" || m.Env != "production" || len(m.Envs) != 2 || !m.RequireReason {
		t.Errorf("form = %+v, want project web, env production, 2 envs, reason required", m)
	}
	if m.Flag == nil || m.Flag.Key != "new-checkout" || m.Action != RequestOn {
		t.Errorf("flag %v, action %q; want new-checkout (off in production) and the action to turn it on", m.Flag, m.Action)
	}
	want := []VariationChoice{{Ref: "true", Label: "true"}, {Ref: "false", Label: "false"}}
	if !reflect.DeepEqual(m.Variations, want) {
		t.Errorf("variations = %+v, want %+v", m.Variations, want)
	}

	res, err = r.exec.Execute(t.Context(), alice, Request{Flag: "checkout-layout", Env: "Production"})
	if err != nil {
		t.Fatal(err)
	}
	m = res.(RequestModal)
	if m.Action != RequestOff {
		t.Errorf("action for a flag that is on = %q, want off", m.Action)
	}
	want = []VariationChoice{{Ref: "control", Label: "control"}, {Ref: "Two column", Label: "Two column"}, {Ref: "compact", Label: "compact"}}
	if !reflect.DeepEqual(m.Variations, want) {
		t.Errorf("variations = %+v, want %+v", m.Variations, want)
	}
	if res, _ := r.exec.Execute(t.Context(), alice, Request{Flag: "old-banner"}); res.(RequestModal).Action != RequestRestore {
		t.Errorf("an archived flag proposes %q, want restore", res.(RequestModal).Action)
	}

	_, err = r.exec.Execute(t.Context(), alice, Request{Flag: "new-chekout"})
	if e := wantKind(t, err, KindNotFound); e.Field != FieldFlag {
		t.Errorf("unknown flag: field %q", e.Field)
	}
	_, err = r.exec.Execute(t.Context(), alice, Request{Env: "qa"})
	if e := wantKind(t, err, KindNotFound); e.Field != FieldEnv {
		t.Errorf("unknown env: field %q", e.Field)
	}
}

func TestRequestRefusedBeforeTheFormOpens(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	guest := alice
	guest.Guest = true
	_, err := r.exec.Execute(t.Context(), guest, Request{})
	wantKind(t, err, KindForbidden)
	outsider := alice
	outsider.Outsider = true
	_, err = r.exec.Execute(t.Context(), outsider, Request{})
	wantKind(t, err, KindOutsider)
	conn, _ := r.ws.Get(t.Context(), wsA)
	conn.Role = RoleReader
	_ = r.ws.Put(t.Context(), wsA, conn)
	_, err = r.exec.Execute(t.Context(), alice, Request{})
	wantKind(t, err, KindForbidden)
}

// TestRequestFormPlanErrorsNameAField checks that what LaunchDarkly makes
// of a submitted form comes back on the field to fix.
func TestRequestFormPlanErrorsNameAField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		form  RequestForm
		field string
	}{
		{"already in that state", RequestForm{Action: RequestOn, Flag: "checkout-layout", Env: "production"}, FieldAction},
		{"unknown flag", RequestForm{Action: RequestOn, Flag: "nope", Env: "production"}, FieldFlag},
		{"unknown env", RequestForm{Action: RequestOn, Flag: "new-checkout", Env: "qa"}, FieldEnv},
		{"unknown variation", RequestForm{Action: RequestServe, Flag: "new-checkout", Env: "production", Variation: "maybe"}, FieldVariation},
		{"rollout variation", RequestForm{Action: RequestRollout, Flag: "new-checkout", Env: "production", Rollout: []RolloutShare{{"maybe", "100"}}}, FieldRollout},
		{"already targeted", RequestForm{Action: RequestTargetAdd, Flag: "new-checkout", Env: "production", Variation: "false", Contexts: "carol@example.com"}, FieldContexts},
		{"already archived", RequestForm{Action: RequestArchive, Flag: "old-banner"}, FieldAction},
		{"reason required", RequestForm{Action: RequestOff, Flag: "checkout-layout", Env: "production"}, FieldReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newWriteRig(t)
			if tt.field == FieldReason {
				r.setPolicy(Policy{RequireReason: true})
			}
			cmd, err := tt.form.Command()
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.exec.RequestChange(t.Context(), alice, "C1", cmd, "modal")
			var e *Error
			if !errors.As(err, &e) || e.Field != tt.field {
				t.Fatalf("RequestChange error = %v (field %q), want field %q", err, fieldOf(err), tt.field)
			}
		})
	}
}

func fieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

func TestVariationRef(t *testing.T) {
	t.Parallel()
	f := Flag{Key: "f", Variations: []Variation{
		{ID: "a", Value: []byte(`"x"`), Name: "Same"},
		{ID: "b", Value: []byte(`"Same"`)},
		{ID: "c", Value: []byte(`{"big": true}`)},
		{ID: "d", Value: []byte(`" padded "`)},
		{ID: "e", Value: []byte(`"x"`)},
	}}
	want := []string{"Same", "1", `{"big": true}`, "3", "4"}
	for i, w := range want {
		got := variationRef(f, i)
		if got != w {
			t.Errorf("variationRef(%d) = %q, want %q", i, got, w)
		}
		if j, err := resolveVariation(f, got); err != nil || j != i {
			t.Errorf("resolveVariation(%q) = %d, %v; want %d", got, j, err, i)
		}
	}
}

func TestSuggestFlagsFromTheCatalog(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	release := make(chan struct{})
	lists := make(chan FlagQuery, 10)
	r.ld.ListFlagsFn = func(ctx context.Context, project string, q FlagQuery) (FlagPage, error) {
		lists <- q
		if q.Query == "" {
			<-release // the background refresh waits until the test lets it go
		}
		all := []Flag{
			{Key: "new-checkout", Name: "New checkout", Tags: []string{"payments"}, Environments: map[string]FlagEnvironment{"production": {On: true}}},
			{Key: "checkout-layout", Name: "Layout"},
			{Key: "dark-mode", Name: "Dark mode", Tags: []string{"ui"}},
		}
		var p FlagPage
		for _, f := range all {
			// LaunchDarkly's search looks at keys and names, not tags.
			if q.Query == "" || strings.Contains(f.Key, q.Query) || strings.Contains(strings.ToLower(f.Name), q.Query) {
				p.Items = append(p.Items, f)
			}
		}
		p.TotalCount = len(p.Items)
		return p, nil
	}
	// Cold: LaunchDarkly's search answers while the catalog fills.
	s, err := r.exec.SuggestFlags(t.Context(), alice, "", "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(s.Flags); !reflect.DeepEqual(got, []string{"checkout-layout", "new-checkout"}) || s.Env != "production" || !s.Flags[1].On {
		t.Errorf("cold suggestions = %v (env %q, %+v)", got, s.Env, s.Flags)
	}
	close(release)
	waitFor(t, func() bool {
		s, _ := r.exec.SuggestFlags(t.Context(), alice, "", "ui")
		return len(s.Flags) == 1
	})
	// Warm: tags match too, and LaunchDarkly is not asked again.
	for len(lists) > 0 {
		<-lists
	}
	s, _ = r.exec.SuggestFlags(t.Context(), alice, "", "pay")
	if got := keysOf(s.Flags); !reflect.DeepEqual(got, []string{"new-checkout"}) || s.Stale || s.Partial {
		t.Errorf("warm suggestions = %v, stale %v, partial %v", got, s.Stale, s.Partial)
	}
	if len(lists) != 0 {
		t.Errorf("a warm catalog asked LaunchDarkly %d times: %+v", len(lists), <-lists)
	}
	// Stale: answers at once from the catalog and refreshes behind it.
	r.mu.Lock()
	r.now = r.now.Add(2 * defaultCatalogFreshFor)
	r.mu.Unlock()
	s, _ = r.exec.SuggestFlags(t.Context(), alice, "", "")
	if len(s.Flags) != 3 || !s.Stale {
		t.Errorf("stale suggestions = %v, stale %v", keysOf(s.Flags), s.Stale)
	}
	waitFor(t, func() bool { return len(lists) > 0 })
}

func TestSuggestFlagsWhenLaunchDarklyIsSlow(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	r.ld.ListFlagsFn = func(ctx context.Context, _ string, _ FlagQuery) (FlagPage, error) {
		<-ctx.Done()
		return FlagPage{}, ctx.Err()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	s, err := r.exec.SuggestFlags(ctx, alice, "", "x")
	if err != nil || !s.Partial || len(s.Flags) != 0 {
		t.Errorf("SuggestFlags = %+v, %v; want a partial, empty answer", s, err)
	}
	outsider := alice
	outsider.Outsider = true
	_, err = r.exec.SuggestFlags(t.Context(), outsider, "", "x")
	wantKind(t, err, KindOutsider)
}

func TestCatalogIsBounded(t *testing.T) {
	t.Parallel()
	c := newFlagCatalog(CatalogOptions{MaxEntries: 2})
	for i, p := range []string{"a", "b", "c"} {
		c.mu.Lock()
		c.ensureLocked(catalogKey{ws: wsA, project: p}, "tok", "", t0.Add(timeSeconds(i)))
		c.mu.Unlock()
	}
	if _, ok := c.m[catalogKey{ws: wsA, project: "a"}]; ok || len(c.m) != 2 {
		t.Errorf("entries %v: want the least recently used one (a) dropped", c.m)
	}
	flags, complete, err := readCatalog(t.Context(), &fakeLD{ListFlagsFn: func(_ context.Context, _ string, q FlagQuery) (FlagPage, error) {
		items := make([]Flag, catalogPage)
		for i := range items {
			items[i].Key = "f"
		}
		return FlagPage{Items: items, TotalCount: 1000}, nil
	}}, "p", "", 250)
	if err != nil || len(flags) != 250 || complete {
		t.Errorf("readCatalog kept %d flags (complete %v, %v), want 250 of 1000", len(flags), complete, err)
	}
}

func TestMatchFlags(t *testing.T) {
	t.Parallel()
	flags := []FlagChoice{{Key: "checkout-v2"}, {Key: "new-checkout", Name: "New checkout"}, {Key: "checkout"}, {Key: "banner", Name: "Checkout banner"}, {Key: "x", Tags: []string{"Checkout-team"}}}
	got := keysOf(matchFlags(flags, "Checkout", 10))
	want := []string{"checkout", "checkout-v2", "new-checkout", "banner", "x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("matchFlags = %v, want %v", got, want)
	}
	if got := keysOf(matchFlags(flags, "new checkout", 10)); !reflect.DeepEqual(got, []string{"new-checkout"}) {
		t.Errorf("every word must match: %v", got)
	}
	if got := matchFlags(flags, "", 2); len(got) != 2 {
		t.Errorf("limit: %d flags", len(got))
	}
}

func keysOf(fs []FlagChoice) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Key
	}
	return out
}

func timeSeconds(n int) time.Duration { return time.Duration(n) * time.Second }

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
