package tokenstore

import (
	"testing"

	"github.com/flagbot/flagbot/internal/approvals"
	"github.com/flagbot/flagbot/internal/commands"
)

// connectionKey must agree with approvals.WorkspaceKey byte for byte, or a
// later tool that lists a workspace's keys would miss its connection.
func TestConnectionKeyMatchesApprovals(t *testing.T) {
	t.Parallel()
	ids := []string{
		"T0123ABC", "E0999", "_", "__", "T_1", "a:b", "%", "%3A", "{x}", "[*?]", `\`,
		"with space", "tab\there", "nl\n", "\x7f", "é", "\xff\xfe", "::", "ws:_:T1",
	}
	for _, team := range ids {
		for _, ent := range append([]string{""}, ids...) {
			got, err := connectionKey(commands.Workspace{TeamID: team, EnterpriseID: ent})
			if err != nil {
				t.Fatalf("connectionKey(%q, %q): %v", team, ent, err)
			}
			if want := approvals.WorkspaceKey(team, ent, "connection"); got != want {
				t.Errorf("connectionKey(%q, %q) = %q, approvals.WorkspaceKey = %q", team, ent, got, want)
			}
		}
	}
}
