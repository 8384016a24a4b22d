package slackapp

import (
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
)

func changeFixture(status commands.ChangeStatus) commands.Change {
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	c := commands.Change{
		ID: "bgcha4hp4mq6ta4xb6e6ysuif4", Workspace: commands.Workspace{TeamID: "T1"},
		ChannelID: "C1", MessageTS: "1.2", RequesterID: "UANA",
		CommandText: `on new-checkout production --project web --reason "launch <day> & more"`,
		Kind:        "on", Project: "web", Env: "production", Flag: "new-checkout",
		Patch:  &commands.Patch{Env: "production", Instructions: []commands.Instruction{{Kind: commands.InstrTurnOn}}},
		Diff:   []commands.DiffLine{{Field: "production", Before: "off", After: "on"}},
		Reason: "launch <day> & more", CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour),
		Status: status, RequiredApprovals: 2,
	}
	switch status {
	case commands.StatusApplied, commands.StatusStale, commands.StatusFailed, commands.StatusLDApproval:
		c.Approvals = []commands.Approval{{UserID: "UBO", At: at.Add(time.Minute)}, {UserID: "UCY", At: at.Add(2 * time.Minute)}}
		c.DecidedAt = at.Add(2 * time.Minute)
	case commands.StatusRejected, commands.StatusCancelled:
		c.DecidedBy, c.DecidedAt = "UBO", at.Add(time.Minute)
	case commands.StatusPending:
		c.Approvals = []commands.Approval{{UserID: "UBO", At: at.Add(time.Minute)}}
	}
	switch status {
	case commands.StatusStale:
		c.Outcome = commands.Notation("production version 12 → 13")
	case commands.StatusFailed:
		c.Outcome = commands.Notation("LaunchDarkly did not answer in time; check the flag before requesting again")
	}
	return c
}

// TestRenderChangeGolden pins the request message in each state, checks
// Block Kit limits, and that request text cannot form mentions or links.
func TestRenderChangeGolden(t *testing.T) {
	for _, st := range []commands.ChangeStatus{commands.StatusPending, commands.StatusApplied, commands.StatusRejected,
		commands.StatusCancelled, commands.StatusExpired, commands.StatusStale, commands.StatusFailed, commands.StatusLDApproval} {
		t.Run(string(st), func(t *testing.T) {
			res := commands.ChangeResult{Change: changeFixture(st), FlagURL: "https://app.launchdarkly.com/web/production/features/new-checkout"}
			if st == commands.StatusLDApproval {
				res.LDApprovalURL = "https://app.launchdarkly.com/web/production/features/new-checkout/approvals/1"
			}
			m := renderResult(res)
			if err := CheckLimits(m.Blocks); err != nil {
				t.Fatal(err)
			}
			js := string(marshal(t, m))
			if strings.Contains(js, "<day>") {
				t.Errorf("the reason was not escaped")
			}
			hasButtons := strings.Contains(js, string(ActionApprove))
			if hasButtons != (st == commands.StatusPending) {
				t.Errorf("Approve button shown = %v in state %s", hasButtons, st)
			}
			golden(t, "change_"+string(st), m)
		})
	}
}

// changeKindCases are a pending request of every kind of change, named
// after its subcommand.
func changeKindCases() []renderCase {
	var out []renderCase
	for _, k := range commands.ChangeKinds() {
		c := changeFixture(commands.StatusPending)
		c.Kind, c.CommandText = k, string(k)+" new-checkout"
		switch k {
		case commands.ChangeServe:
			c.Diff = []commands.DiffLine{{Field: "default", Before: "false", After: "true"}}
		case commands.ChangeRollout:
			c.Diff = []commands.DiffLine{{Field: "default", Before: "false", After: "rollout 25% true / 75% false"}}
		case commands.ChangeOffVariation:
			c.Diff = []commands.DiffLine{{Field: "off variation", Before: "false", After: "true"}}
		case commands.ChangeTarget:
			c.Diff = []commands.DiffLine{{Field: "targets for true", Before: "1 context", After: "3 contexts (+ user:ana, org:<acme>)"}}
		case commands.ChangeCreate, commands.ChangeArchive, commands.ChangeRestore, commands.ChangeDelete:
			c.Env, c.Patch = "", nil
			c.Diff = []commands.DiffLine{{Field: "flag", Before: "exists", After: string(k)}}
			c.Delete = k == commands.ChangeDelete
		}
		out = append(out, renderCase{string(k), commands.ChangeResult{Change: c, Created: true}})
	}
	return out
}

func TestRenderChangeKindsGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range changeKindCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := renderResult(tt.in)
			checkMessage(t, m)
			golden(t, tt.name, m)
		})
	}
}

func TestRenderPendingAndHistory(t *testing.T) {
	golden(t, "pending", renderResult(commands.PendingResult{Changes: []commands.Change{changeFixture(commands.StatusPending)}}))
	golden(t, "history_empty", renderResult(commands.HistoryResult{Flag: "new-checkout"}))
}

// TestRenderChangeCancelledByUninstall: a request Flagbot's uninstall
// cancelled (by no one) says why, and names nobody.
func TestRenderChangeCancelledByUninstall(t *testing.T) {
	c := changeFixture(commands.StatusCancelled)
	c.DecidedBy = ""
	c.Outcome = commands.Textf("Flagbot was removed from this workspace")
	m := renderResult(commands.ChangeResult{Change: c})
	checkMessage(t, m)
	golden(t, "change_cancelled_uninstalled", m)
}
