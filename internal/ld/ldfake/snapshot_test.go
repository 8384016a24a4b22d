package ldfake_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldfake"
)

// TestSnapshotsAndChanges checks what a live page relies on: seeding
// errors instead of panics, snapshots that share nothing with the store,
// and Changed firing on API writes.
func TestSnapshotsAndChanges(t *testing.T) {
	t.Parallel()
	s := ldfake.New()
	if err := s.AddFlag("nope", ld.Flag{Key: "x"}); err == nil {
		t.Error("AddFlag to an unknown project succeeded")
	}
	if err := s.AddProject(ld.Project{Key: "web"}, ldfake.EnvSpec{Key: "production", Critical: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddProject(ld.Project{Key: "web"}); err == nil {
		t.Error("a second project web was accepted")
	}
	if err := s.AddSegment("web", "staging", ld.Segment{Key: "s"}); err == nil {
		t.Error("AddSegment to an unknown environment succeeded")
	}
	if err := s.AddFlag("web", ld.Flag{Key: "dark-mode"}); err != nil {
		t.Fatal(err)
	}
	s.AddToken("api-w", ldfake.TokenInfo{Name: "w", Role: "writer"})

	flags := s.Flags("web")
	if len(flags) != 1 || flags[0].Environments["production"].On {
		t.Fatalf("Flags = %+v", flags)
	}
	flags[0].Name = "changed by the caller"
	if s.Flags("web")[0].Name == "changed by the caller" {
		t.Error("Flags shares memory with the store")
	}

	changed := s.Changed()
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, hs.URL+"/api/v2/flags/web/dark-mode",
		strings.NewReader(`{"environmentKey":"production","comment":"go","instructions":[{"kind":"turnFlagOn"}]}`))
	req.Header.Set("Authorization", "api-w")
	req.Header.Set("Content-Type", ld.SemanticPatchContentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case <-changed:
	case <-time.After(time.Second):
		t.Fatal("Changed did not fire on a PATCH")
	}
	if !s.Flags("web")[0].Environments["production"].On {
		t.Error("the PATCH did not turn the flag on")
	}
	if audit := s.AuditLog(1); len(audit) != 1 || audit[0].Comment != "go" {
		t.Errorf("AuditLog(1) = %+v", audit)
	}
	s.LimitRequests(1)
	if n := len(s.Requests()); n != 1 {
		t.Errorf("Requests after LimitRequests(1) = %d", n)
	}
}
