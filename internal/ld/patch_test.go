package ld_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
)

func TestPatchFlag(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	s.AddToken("api-writer", ldtest.TokenInfo{ID: "tok-w", Name: "writer", Role: "writer"})
	seedWeb(t, s)
	c, _, _ := newClient(t, s.URL(), ld.Options{})
	w := c.WithToken("api-writer")
	ctx := t.Context()

	before, err := w.GetFlag(ctx, "web", "dark-mode", "production")
	if err != nil {
		t.Fatal(err)
	}
	patch := ld.SemanticPatch{
		EnvironmentKey: "production",
		Comment:        "Flagbot: requested by @ana, approved by @bo",
		Instructions:   []ld.Instruction{{Kind: ld.KindTurnFlagOn}},
	}
	after, err := w.PatchFlag(ctx, "web", "dark-mode", patch)
	if err != nil {
		t.Fatal(err)
	}
	if !after.Environments["production"].On || after.Environments["production"].Version != before.Environments["production"].Version+1 {
		t.Errorf("after = %+v, want on with the env version bumped", after.Environments["production"])
	}
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	if last.Method != http.MethodPatch || last.Path != "/api/v2/flags/web/dark-mode" {
		t.Errorf("request = %s %s", last.Method, last.Path)
	}
	var body map[string]any
	if err := json.Unmarshal(last.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["environmentKey"] != "production" || body["comment"] != patch.Comment ||
		!strings.Contains(string(last.Body), `"instructions":[{"kind":"turnFlagOn"}]`) {
		t.Errorf("body = %s", last.Body)
	}

	entries, err := w.ListAuditLog(ctx, ld.AuditLogOptions{Spec: "proj/web:env/production:flag/dark-mode", Limit: 1})
	if err != nil || len(entries) != 1 || entries[0].Comment != patch.Comment || entries[0].Token.Name != "writer" {
		t.Errorf("audit = %+v, %v; want the change with its comment", entries, err)
	}

	// A dry run previews without saving.
	patch.Instructions = []ld.Instruction{{Kind: ld.KindTurnFlagOff}}
	patch.DryRun = true
	preview, err := w.PatchFlag(ctx, "web", "dark-mode", patch)
	if err != nil || preview.Environments["production"].On {
		t.Fatalf("dry run = %+v, %v", preview.Environments["production"], err)
	}
	if got, _ := w.GetFlag(ctx, "web", "dark-mode"); !got.Environments["production"].On {
		t.Errorf("dry run saved the change")
	}
	if q := s.Requests()[len(s.Requests())-2].Query; q.Get("dryRun") != "true" {
		t.Errorf("dry run query = %v", q)
	}
}

func TestPatchFlagErrors(t *testing.T) {
	t.Parallel()
	s := fakeLD(t) // testToken is a reader
	s.AddToken("api-writer", ldtest.TokenInfo{ID: "tok-w", Name: "writer", Role: "writer"})
	s.AddProject(ld.Project{Key: "web"},
		ldtest.EnvSpec{Key: "production", RequireApproval: true},
		ldtest.EnvSpec{Key: "staging"})
	s.AddFlag("web", ld.Flag{Key: "f"})
	c, sl, _ := newClient(t, s.URL(), ld.Options{})
	ctx := t.Context()
	on := func(env string) ld.SemanticPatch {
		return ld.SemanticPatch{EnvironmentKey: env, Comment: "c", Instructions: []ld.Instruction{{Kind: ld.KindTurnFlagOn}}}
	}

	if _, err := c.PatchFlag(ctx, "web", "f", on("staging")); !errors.Is(err, ld.ErrForbidden) {
		t.Errorf("reader patch error = %v, want ErrForbidden", err)
	}
	w := c.WithToken("api-writer")
	_, err := w.PatchFlag(ctx, "web", "f", on("production"))
	var apiErr *ld.APIError
	if !errors.Is(err, ld.ErrMethodNotAllowed) || !errors.As(err, &apiErr) || !strings.Contains(apiErr.Message, "require approval") {
		t.Errorf("approval-gated patch error = %v, want ErrMethodNotAllowed", err)
	}
	if _, err := w.PatchFlag(ctx, "web", "f", ld.SemanticPatch{Instructions: []ld.Instruction{{Kind: ld.KindTurnFlagOn}}}); !errors.Is(err, ld.ErrBadRequest) {
		t.Errorf("patch without environmentKey error = %v, want ErrBadRequest", err)
	}

	// Writes are not retried after a 5xx, only after a 429.
	n := len(s.Requests())
	s.FailNext(1, http.StatusServiceUnavailable, "service_unavailable", "Requested service unavailable")
	if _, err := w.PatchFlag(ctx, "web", "f", on("staging")); !errors.Is(err, ld.ErrUnavailable) {
		t.Errorf("patch during 503 error = %v, want ErrUnavailable", err)
	}
	if got := len(s.Requests()) - n; got != 1 || len(sl.Waits()) != 0 {
		t.Errorf("a 503 on PATCH was retried: %d requests, waits %v", got, sl.Waits())
	}
	s.RateLimitNext(1, time.Second)
	f, err := w.PatchFlag(ctx, "web", "f", on("staging"))
	if err != nil || !f.Environments["staging"].On {
		t.Errorf("patch after a 429 = %v, want applied", err)
	}
	reqs := s.Requests()
	if a, b := reqs[len(reqs)-2], reqs[len(reqs)-1]; string(a.Body) != string(b.Body) {
		t.Errorf("retried PATCH body %q, first %q", b.Body, a.Body)
	}
}

func TestCreateAndDeleteFlag(t *testing.T) {
	t.Parallel()
	s := ldtest.NewServer(t)
	s.AddToken(testToken, ldtest.TokenInfo{ID: "tok-1", Role: "admin"})
	s.AddProject(ld.Project{Key: "web"}, ldtest.EnvSpec{Key: "production"})
	c, _, _ := newClient(t, s.URL(), ld.Options{})
	ctx := t.Context()

	nf := ld.NewFlag{Key: "new-checkout", Name: "New checkout", Tags: []string{"flagbot"},
		Variations: []ld.Variation{{Value: json.RawMessage("true"), Name: "on"}, {Value: json.RawMessage("false"), Name: "off"}},
		Defaults:   &ld.Defaults{OnVariation: 0, OffVariation: 1}}
	f, err := c.CreateFlag(ctx, "web", nf)
	if err != nil {
		t.Fatal(err)
	}
	if f.Key != "new-checkout" || f.Kind != "boolean" || f.Variations[0].ID == "" || f.Environments["production"].On {
		t.Errorf("CreateFlag() = %+v", f)
	}
	body := string(s.Requests()[0].Body)
	if !strings.Contains(body, `"temporary":false`) || strings.Contains(body, "environments") {
		t.Errorf("create body = %s", body)
	}
	if _, err := c.CreateFlag(ctx, "web", nf); !errors.Is(err, ld.ErrConflict) {
		t.Errorf("duplicate create error = %v, want ErrConflict", err)
	}
	if err := c.DeleteFlag(ctx, "web", "new-checkout"); err != nil {
		t.Fatalf("DeleteFlag() = %v", err)
	}
	if _, err := c.GetFlag(ctx, "web", "new-checkout"); !errors.Is(err, ld.ErrNotFound) {
		t.Errorf("GetFlag() after delete = %v, want ErrNotFound", err)
	}
	if err := c.DeleteFlag(ctx, "web", "new-checkout"); !errors.Is(err, ld.ErrNotFound) {
		t.Errorf("second DeleteFlag() = %v, want ErrNotFound", err)
	}
}
