package slackapp

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
)

// Goldens for what undo, the kill switch, scheduled changes and direct
// messages show.

func killFixture() commands.Change {
	c := changeFixture(commands.StatusApplied)
	c.Kind, c.CommandText = commands.ChangeKill, `kill new-checkout production --project web --reason "checkout errors"`
	c.Patch = &commands.Patch{Env: "production", Instructions: []commands.Instruction{{Kind: commands.InstrTurnOff}}}
	c.Diff = []commands.DiffLine{{Field: "production", Before: "on", After: "off"}}
	c.Reason, c.Approvals, c.RequiredApprovals = "checkout errors", nil, 0
	c.Emergency, c.SignoffDue = true, c.CreatedAt.Add(24*time.Hour)
	c.DecidedAt = c.CreatedAt
	c.Outcome = commands.Notation("Applied: `new-checkout` is now off in `production`.")
	c.Undo = &commands.UndoPlan{Kind: commands.ChangeOn, FlagVersion: 7, EnvVersion: 13}
	return c
}

func scheduledFixture(status commands.ChangeStatus) commands.Change {
	c := changeFixture(status)
	c.ApplyAt = c.CreatedAt.Add(3 * time.Hour)
	c.CommandText += " --at 12:00"
	switch status {
	case commands.StatusScheduled:
		c.Approvals = []commands.Approval{{UserID: "UBO", At: c.CreatedAt.Add(time.Minute)}, {UserID: "UCY", At: c.CreatedAt.Add(2 * time.Minute)}}
	case commands.StatusMissed:
		c.Approvals = []commands.Approval{{UserID: "UBO", At: c.CreatedAt.Add(time.Minute)}, {UserID: "UCY", At: c.CreatedAt.Add(2 * time.Minute)}}
		c.Outcome = commands.Notation("It was due at 2026-11-27 12:00 UTC, and no Flagbot replica was running until 2026-11-27 14:00 UTC, more than 1h later; nothing was changed. Request it again if it is still wanted.")
	}
	return c
}

// saferResultCases are the goldens of the results and states this feature
// set added, named after their subcommand where they have one.
func saferResultCases() []renderCase {
	applied := changeFixture(commands.StatusApplied)
	applied.Undo = &commands.UndoPlan{Kind: commands.ChangeOff, FlagVersion: 7, EnvVersion: 13}
	applied.Outcome = commands.Notation("Applied: `new-checkout` is now on in `production`.")
	undoReq := changeFixture(commands.StatusPending)
	undoReq.ID, undoReq.Kind, undoReq.UndoOf, undoReq.CommandText = "undo7req4hp4mq6ta4xb6e6ysu", commands.ChangeOff, applied.ID, "undo "+applied.ID
	undoReq.Diff = []commands.DiffLine{{Field: "production", Before: "on", After: "off"}}
	undoApplied := undoReq
	undoApplied.Status, undoApplied.DecidedAt = commands.StatusApplied, undoReq.CreatedAt.Add(time.Hour)
	undoRejected := undoReq
	undoRejected.Status = commands.StatusRejected
	signed := killFixture()
	signed.SignedOffBy, signed.SignedOffAt = "UBO", signed.CreatedAt.Add(time.Hour)
	overdue := killFixture()
	overdue.Signoff = commands.SignoffOverdue
	reverting := killFixture()
	revert := undoReq
	revert.Kind, revert.UndoOf = commands.ChangeOn, reverting.ID
	exempt := changeFixture(commands.StatusApplied)
	exempt.Env, exempt.Exempt, exempt.Approvals, exempt.RequiredApprovals = "staging", true, nil, 0
	exempt.Undo = &commands.UndoPlan{Kind: commands.ChangeOff}
	exempt.Outcome = commands.Notation("Applied: `new-checkout` is now on in `staging`.")
	withDMs := changeFixture(commands.StatusPending)
	return []renderCase{
		{"change_applied_undo", commands.ChangeResult{Change: applied}},
		{"change_applied_undo_requested", commands.ChangeResult{Change: applied, UndoLink: &undoReq}},
		{"change_applied_undone", commands.ChangeResult{Change: applied, UndoLink: &undoApplied}},
		{"change_applied_undo_rejected", commands.ChangeResult{Change: applied, UndoLink: &undoRejected}},
		{"change_undo_request", commands.ChangeResult{Change: undoReq, Created: true}},
		{"change_exempt_applied", commands.ChangeResult{Change: exempt, Created: true, Applied: true}},
		{"change_kill", commands.ChangeResult{Change: killFixture(), Created: true, Applied: true}},
		{"change_kill_signed_off", commands.ChangeResult{Change: signed}},
		{"change_kill_not_signed_off", commands.ChangeResult{Change: overdue}},
		{"change_kill_reverting", commands.ChangeResult{Change: reverting, UndoLink: &revert}},
		{"change_scheduled_pending", commands.ChangeResult{Change: scheduledFixture(commands.StatusPending), Created: true}},
		{"change_scheduled", commands.ChangeResult{Change: scheduledFixture(commands.StatusScheduled)}},
		{"change_missed", commands.ChangeResult{Change: scheduledFixture(commands.StatusMissed)}},
		{"change_dm", commands.ChangeResult{Change: withDMs}},
		{"undo", commands.UndoConfirmResult{Original: applied, Seen: "9.15",
			Since: []commands.Text{commands.Textf("`production` version 13 → 15"), commands.Textf("2026-11-27 10:05 UTC, Ana Lima: turned off the flag (“hotfix <now>”)")},
			Now:   commands.Textf("`new-checkout` is now off in `production`")}},
		{"scheduled", commands.ScheduledResult{Changes: []commands.Change{scheduledFixture(commands.StatusScheduled)}}},
		{"scheduled_empty", commands.ScheduledResult{}},
		{"notify_off", commands.NotifyResult{Off: true, Changed: true}},
		{"notify_on", commands.NotifyResult{Changed: true}},
		{"notify_show", commands.NotifyResult{}},
		{"config_breakglass", commands.ConfigResult{Setting: commands.SettingBreakglass, Value: "S0ONCALL", Policy: commands.Policy{ResponderGroup: "S0ONCALL"}}},
		{"config_breakglass_none", commands.ConfigResult{Setting: commands.SettingBreakglass}},
	}
}

func TestRenderSaferGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range saferResultCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := renderResult(tt.in)
			if cr, ok := tt.in.(commands.ChangeResult); ok && tt.name == "change_dm" {
				m = Fit(RenderChangeDM(cr))
			}
			checkMessage(t, m)
			golden(t, tt.name, m)
		})
	}
	overdue := killFixture()
	overdue.Signoff = commands.SignoffOverdue
	for name, m := range map[string]Message{
		"reminder_approval":        renderApprovalReminder(changeFixture(commands.StatusPending)),
		"reminder_signoff":         renderSignoffReminder(killFixture()),
		"reminder_signoff_overdue": renderSignoffReminder(overdue),
	} {
		checkMessage(t, m)
		golden(t, name, m)
	}
}

// TestChangeButtons pins which buttons each state offers, in the channel
// and in a direct message.
func TestChangeButtons(t *testing.T) {
	t.Parallel()
	buttons := func(res commands.ChangeResult, dm bool) string {
		var ids []string
		for _, b := range changeButtons(res, dm) {
			ids = append(ids, b.(*slack.ButtonBlockElement).ActionID)
		}
		return strings.Join(ids, ",")
	}
	applied := changeFixture(commands.StatusApplied)
	undoable := applied
	undoable.Undo = &commands.UndoPlan{Kind: commands.ChangeOff}
	pendingUndo := changeFixture(commands.StatusPending)
	rejectedUndo := changeFixture(commands.StatusRejected)
	appliedUndo := changeFixture(commands.StatusApplied)
	signed := killFixture()
	signed.SignedOffBy = "UBO"
	tests := []struct {
		name string
		res  commands.ChangeResult
		dm   bool
		want string
	}{
		{"pending", commands.ChangeResult{Change: changeFixture(commands.StatusPending)}, false, "change_approve,change_reject,change_cancel"},
		{"pending dm", commands.ChangeResult{Change: changeFixture(commands.StatusPending)}, true, "change_approve,change_reject"},
		{"stale", commands.ChangeResult{Change: changeFixture(commands.StatusStale)}, false, "change_request_again"},
		{"scheduled", commands.ChangeResult{Change: scheduledFixture(commands.StatusScheduled)}, false, "change_cancel_schedule"},
		{"applied without a recorded undo", commands.ChangeResult{Change: applied}, false, ""},
		{"applied", commands.ChangeResult{Change: undoable}, false, "change_undo"},
		{"undo pending", commands.ChangeResult{Change: undoable, UndoLink: &pendingUndo}, false, ""},
		{"undo rejected", commands.ChangeResult{Change: undoable, UndoLink: &rejectedUndo}, false, "change_undo"},
		{"undone", commands.ChangeResult{Change: undoable, UndoLink: &appliedUndo}, false, ""},
		{"kill", commands.ChangeResult{Change: killFixture()}, false, "change_sign_off,change_revert"},
		{"kill dm", commands.ChangeResult{Change: killFixture()}, true, "change_sign_off,change_revert"},
		{"kill signed off", commands.ChangeResult{Change: signed}, false, "change_revert"},
		{"kill reverting", commands.ChangeResult{Change: killFixture(), UndoLink: &pendingUndo}, false, "change_sign_off"},
		{"failed", commands.ChangeResult{Change: changeFixture(commands.StatusFailed)}, false, ""},
	}
	for _, tt := range tests {
		if got := buttons(tt.res, tt.dm); got != tt.want {
			t.Errorf("%s: buttons %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestRenderDigestUnsigned: kills nobody signed off get a heading of their
// own in a digest, with or without changes.
func TestRenderDigestUnsigned(t *testing.T) {
	t.Parallel()
	overdue := killFixture()
	overdue.Signoff = commands.SignoffOverdue
	d := buildDigest(0)
	d.Unsigned = []commands.Change{overdue}
	m := RenderDigest(d)
	checkMessage(t, m)
	golden(t, "digest_unsigned", m)
	d = buildDigest(2)
	d.Unsigned = []commands.Change{overdue}
	if text := messageText(RenderDigest(d)); !strings.Contains(text, "*Not signed off*") || !strings.Contains(text, "checkout errors") {
		t.Errorf("a digest with changes does not list the unsigned kill:\n%s", text)
	}
}
