package commands_test

import (
	"strings"
	"testing"
	"time"

	. "github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
	"github.com/flagbot/flagbot/internal/secret"
)

// TestWritesAgainstFakeLaunchDarkly runs requests and approvals through the
// real LaunchDarkly client against ldtest: an applied change, and one
// LaunchDarkly refuses with 405 because its environment needs LaunchDarkly's
// own approval.
func TestWritesAgainstFakeLaunchDarkly(t *testing.T) {
	t.Parallel()
	const token = "api-writer-1234"
	s := ldtest.NewServer(t)
	s.AddToken(token, ldtest.TokenInfo{Name: "flagbot", Role: "writer"})
	s.AddProject(ld.Project{Key: "web"}, ldtest.EnvSpec{Key: "production", RequireApproval: true}, ldtest.EnvSpec{Key: "staging"})
	s.AddFlag("web", ld.Flag{Key: "new-checkout"})
	ws := NewMemWorkspaces()
	if err := ws.Put(t.Context(), TestWorkspaceA, Connection{Token: secret.Secret(token), Role: RoleWriter, DefaultProject: "web"}); err != nil {
		t.Fatal(err)
	}
	changes, policies := NewMemChanges(), NewMemPolicies()
	exec := NewExecutor(ws, func(tok secret.Secret) LaunchDarkly { return ld.NewService(s.Client(tok.Reveal())) }, AdminSet{}, changes, policies, nil,
		Options{BaseURL: s.URL(), Now: func() time.Time { return TestTime }})

	request := func(text string) Change {
		t.Helper()
		cmd, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		cc, ok := cmd.(ChangeCommand)
		if !ok {
			t.Fatalf("%q is not a change", text)
		}
		res, err := exec.RequestChange(t.Context(), TestAlice, "C1", cc, text)
		if err != nil {
			t.Fatalf("RequestChange(%q): %v", text, err)
		}
		if len(res.Change.ID) != 26 || strings.ToLower(res.Change.ID) != res.Change.ID {
			t.Errorf("id %q is not 26 lower-case base32 characters", res.Change.ID)
		}
		return res.Change
	}

	c := request(`rollout new-checkout true=12.5 false=87.5 staging --reason "canary"`)
	res, err := exec.Approve(t.Context(), TestBob, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Change.Status != StatusApplied {
		t.Fatalf("status %s: %s", res.Change.Status, res.Change.Outcome.String())
	}
	f, _ := s.Flag("web", "new-checkout")
	ro := f.Environments["staging"].Fallthrough.Rollout
	if ro == nil || len(ro.Variations) != 2 || ro.Variations[0].Weight+ro.Variations[1].Weight != 100000 {
		t.Errorf("staging fallthrough = %+v", f.Environments["staging"].Fallthrough)
	}

	c = request("on new-checkout production")
	res, err = exec.Approve(t.Context(), TestBob, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	ars := s.ApprovalRequests()
	if res.Change.Status != StatusLDApproval || len(ars) != 1 || !strings.HasSuffix(res.LDApprovalURL, "/approvals/"+ars[0].ID) {
		t.Fatalf("result %+v, approval requests %+v", res, ars)
	}
	if ars[0].Env != "production" || !strings.Contains(ars[0].Comment, "approved by ubob (UBOB) via Flagbot") {
		t.Errorf("approval request = %+v", ars[0])
	}
	if f, _ := s.Flag("web", "new-checkout"); f.Environments["production"].On {
		t.Error("production was turned on despite LaunchDarkly's approval requirement")
	}
}
