package ldtest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
)

const writer = "api-writer-0000"

func writeServer(t *testing.T) (*ldtest.Server, *ld.Client, ld.Flag) {
	t.Helper()
	s := newServer(t)
	s.AddToken(writer, ldtest.TokenInfo{ID: "tok-w", Name: "bot-writer", Role: "writer"})
	s.AddFlag("web", ld.Flag{Key: "plan", Name: "Plan", Variations: []ld.Variation{
		{Value: json.RawMessage(`"free"`)}, {Value: json.RawMessage(`"pro"`)}, {Value: json.RawMessage(`"max"`)},
	}, Environments: map[string]ld.FlagEnvironment{"staging": {Prerequisites: []ld.Prerequisite{{Key: "checkout-banner", Variation: 0}}}}})
	c := s.Client(writer)
	f, err := c.GetFlag(t.Context(), "web", "plan")
	if err != nil {
		t.Fatal(err)
	}
	return s, c, f
}

// rawPatch sends body to the flag with the given Content-Type.
func rawPatch(t *testing.T, s *ldtest.Server, key, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, s.URL()+"/api/v2/flags/web/"+key, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", writer)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPatchContentTypeDispatch(t *testing.T) {
	t.Parallel()
	s, _, _ := writeServer(t)
	body := `{"environmentKey":"production","instructions":[{"kind":"turnFlagOn"}]}`
	tests := []struct {
		contentType string
		want        int
	}{
		{"application/json; domain-model=launchdarkly.semanticpatch", 200},
		{"application/json;domain-model=LaunchDarkly.SemanticPatch", 200},
		{"Application/JSON;  Domain-Model=launchdarkly.semanticpatch", 200},
		{"application/json", 400},
		{"application/merge-patch+json", 400},
		{"", 400},
	}
	for _, tt := range tests {
		if got, b := rawPatch(t, s, "plan", tt.contentType, body); got != tt.want {
			t.Errorf("Content-Type %q: status %d (%s), want %d", tt.contentType, got, b, tt.want)
		}
	}
}

func TestPatchIsAllOrNothing(t *testing.T) {
	t.Parallel()
	_, c, f := writeServer(t)
	ctx := t.Context()
	tests := []struct {
		name  string
		patch ld.SemanticPatch
	}{
		{"unknown kind", ld.SemanticPatch{EnvironmentKey: "production", Instructions: []ld.Instruction{{Kind: ld.KindTurnFlagOn}, {Kind: "explode"}}}},
		{"unknown variation", ld.SemanticPatch{EnvironmentKey: "production", Instructions: []ld.Instruction{{Kind: ld.KindTurnFlagOn}, {Kind: ld.KindUpdateOffVariation, VariationID: "nope"}}}},
		{"missing environment", ld.SemanticPatch{Instructions: []ld.Instruction{{Kind: ld.KindAddTags, Values: []string{"x"}}, {Kind: ld.KindTurnFlagOn}}}},
		{"unknown environment", ld.SemanticPatch{EnvironmentKey: "nope", Instructions: []ld.Instruction{{Kind: ld.KindTurnFlagOn}}}},
		{"bad rollout sum", ld.SemanticPatch{EnvironmentKey: "production", Instructions: []ld.Instruction{{Kind: ld.KindTurnFlagOn},
			{Kind: ld.KindUpdateFallthrough, RolloutWeights: map[string]int{f.Variations[0].ID: 50000, f.Variations[1].ID: 40000}}}}},
		{"key in two variations", ld.SemanticPatch{EnvironmentKey: "production", Instructions: []ld.Instruction{
			{Kind: ld.KindAddTargets, VariationID: f.Variations[0].ID, Values: []string{"ana"}},
			{Kind: ld.KindAddTargets, VariationID: f.Variations[1].ID, Values: []string{"ana"}}}}},
		{"no instructions", ld.SemanticPatch{EnvironmentKey: "production"}},
	}
	for _, tt := range tests {
		if _, err := c.PatchFlag(ctx, "web", "plan", tt.patch); !errors.Is(err, ld.ErrBadRequest) {
			t.Errorf("%s: error = %v, want ErrBadRequest", tt.name, err)
		}
	}
	after, err := c.GetFlag(ctx, "web", "plan")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(after)
	b, _ := json.Marshal(f)
	if string(a) != string(b) {
		t.Errorf("a failed patch changed the flag:\n%s\nwas\n%s", a, b)
	}
	entries, err := c.ListAuditLog(ctx, ld.AuditLogOptions{})
	if err != nil || len(entries) != 0 {
		t.Errorf("audit log = %v, %v; want no entries", entries, err)
	}
}

func TestPatchTargetsRolloutsAndVersions(t *testing.T) {
	t.Parallel()
	_, c, f := writeServer(t)
	ctx := t.Context()
	v0, v1, v2 := f.Variations[0].ID, f.Variations[1].ID, f.Variations[2].ID
	patch := func(env string, ins ...ld.Instruction) ld.Flag {
		t.Helper()
		got, err := c.PatchFlag(ctx, "web", "plan", ld.SemanticPatch{EnvironmentKey: env, Comment: "test", Instructions: ins})
		if err != nil {
			t.Fatalf("PatchFlag(%+v) = %v", ins, err)
		}
		return got
	}

	got := patch("production",
		ld.Instruction{Kind: ld.KindAddTargets, VariationID: v1, Values: []string{"ana", "bo"}},
		ld.Instruction{Kind: ld.KindAddTargets, ContextKind: "org", VariationID: v2, Values: []string{"acme"}},
		ld.Instruction{Kind: ld.KindUpdateFallthrough, RolloutContextKind: "user", RolloutWeights: map[string]int{v0: 25000, v2: 75000}},
	)
	prod := got.Environments["production"]
	if len(prod.Targets) != 1 || prod.Targets[0].Variation != 1 || strings.Join(prod.Targets[0].Values, ",") != "ana,bo" {
		t.Errorf("targets = %+v", prod.Targets)
	}
	if len(prod.ContextTargets) != 1 || prod.ContextTargets[0].ContextKind != "org" || prod.ContextTargets[0].Variation != 2 {
		t.Errorf("contextTargets = %+v", prod.ContextTargets)
	}
	ro := prod.Fallthrough.Rollout
	if ro == nil || len(ro.Variations) != 2 || ro.Variations[0] != (ld.WeightedVariation{Variation: 0, Weight: 25000}) ||
		ro.Variations[1] != (ld.WeightedVariation{Variation: 2, Weight: 75000}) || ro.ContextKind != "user" {
		t.Errorf("rollout = %+v", ro)
	}
	if prod.Version != f.Environments["production"].Version+1 || got.Version != f.Version {
		t.Errorf("versions: env %d (was %d), flag %d (was %d); want only env bumped",
			prod.Version, f.Environments["production"].Version, got.Version, f.Version)
	}

	// A no-op succeeds and bumps nothing.
	noop := patch("production", ld.Instruction{Kind: ld.KindRemoveTargets, VariationID: v0, Values: []string{"zed"}})
	if noop.Environments["production"].Version != prod.Version {
		t.Errorf("no-op bumped the env version to %d", noop.Environments["production"].Version)
	}
	got = patch("production", ld.Instruction{Kind: ld.KindRemoveTargets, VariationID: v1, Values: []string{"ana", "bo"}})
	if len(got.Environments["production"].Targets) != 0 {
		t.Errorf("targets after removal = %+v", got.Environments["production"].Targets)
	}

	// Flag-wide changes bump _version, not environment versions.
	got = patch("", ld.Instruction{Kind: ld.KindAddTags, Values: []string{"flagbot"}}, ld.Instruction{Kind: ld.KindArchiveFlag})
	if got.Version != f.Version+1 || !got.Archived || !strings.Contains(strings.Join(got.Tags, ","), "flagbot") {
		t.Errorf("flag-wide patch = version %d archived %v tags %v", got.Version, got.Archived, got.Tags)
	}
	if got.Environments["staging"].Version != f.Environments["staging"].Version {
		t.Errorf("flag-wide patch bumped staging's version")
	}

	entries, err := c.ListAuditLog(ctx, ld.AuditLogOptions{Spec: "proj/web:env/production:flag/plan"})
	if err != nil || len(entries) != 2 {
		t.Fatalf("audit = %d entries, %v; want 2 (the no-op logs nothing)", len(entries), err)
	}
	if acc := entries[1].Accesses; len(acc) != 2 || acc[0].Action != ld.KindAddTargets || acc[1].Action != ld.KindUpdateFallthrough {
		t.Errorf("accesses of the first patch = %+v, want addTargets and updateFallthroughVariationOrRollout", acc)
	}
	if e := entries[0]; e.Comment != "test" || e.Token == nil || e.Token.ID != "tok-w" || e.Token.Ending != "0000" ||
		len(e.Target.Resources) != 1 || len(e.Accesses) != 1 || e.Accesses[0].Action != ld.KindRemoveTargets {
		t.Errorf("newest audit entry = %+v", e)
	}
}

func TestDeletePrerequisiteConflicts(t *testing.T) {
	t.Parallel()
	s, c, _ := writeServer(t)
	ctx := t.Context()
	if err := c.DeleteFlag(ctx, "web", "checkout-banner"); !errors.Is(err, ld.ErrConflict) {
		t.Errorf("deleting a prerequisite: %v, want ErrConflict", err)
	}
	if err := c.DeleteFlag(ctx, "web", "plan"); err != nil {
		t.Fatalf("DeleteFlag(plan) = %v", err)
	}
	if _, ok := s.Flag("web", "plan"); ok {
		t.Errorf("Flag(plan) still stored after delete")
	}
	if f, ok := s.Flag("web", "checkout-banner"); !ok || len(f.Environments) != 2 {
		t.Errorf("Flag(checkout-banner) = %+v, %v", f, ok)
	}
	if err := c.DeleteFlag(ctx, "web", "checkout-banner"); err != nil {
		t.Errorf("deleting a former prerequisite: %v", err)
	}
}
