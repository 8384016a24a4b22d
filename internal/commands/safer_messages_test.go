package commands_test

import (
	"testing"
	"time"

	. "github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/slackapp"
)

// TestSaferMessagesGolden pins, through the real Slack renderer, what
// people read when undo, the kill switch or a schedule refuses them.
func TestSaferMessagesGolden(t *testing.T) {
	t.Parallel()
	r := newSaferRig(t)
	ctx := t.Context()
	type named struct {
		Name    string           `json:"name"`
		Message slackapp.Message `json:"message"`
	}
	var all []named
	add := func(name string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		all = append(all, named{name, slackapp.RenderError(err, "r1")})
	}
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	decided := func(st ChangeStatus) Change {
		return Change{ID: "c1", Flag: "f", Env: "production", RequesterID: "UANA", Status: st, ApplyAt: at.Add(time.Hour),
			Approvals: []Approval{{UserID: "UBO", At: at}}}
	}
	add("decided_scheduled", ChangeError(decided(StatusScheduled), ErrDecided))
	add("decided_missed", ChangeError(decided(StatusMissed), ErrDecided))

	run := func(actor Actor, text string) error {
		t.Helper()
		_, err := r.run(actor, text)
		return err
	}
	const kill = `kill f production --reason "errors"`
	add("kill_not_set_up", run(TestAlice, kill))
	if err := run(TestAlice, "config breakglass subteam^S0ONCALL"); err != nil {
		t.Fatal(err)
	}
	add("kill_not_a_responder", run(TestBob, kill))
	add("kill_guest", run(Actor{Workspace: TestWorkspaceA, UserID: "UALICE", Guest: true}, kill))
	k := r.change(TestAlice, kill).Change
	add("kill_already_off", run(Actor{Workspace: TestWorkspaceA, UserID: "UDAN"}, kill))
	_, err := r.exec.SignOff(ctx, TestAlice, k.ID)
	add("signoff_self", err)
	if _, err := r.exec.SignOff(ctx, TestBob, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = r.exec.SignOff(ctx, carol, k.ID)
	add("signoff_again", err)
	_, err = Parse("kill f production")
	add("kill_no_reason", err)

	applied := r.applied("on f staging")
	if _, err := r.run(carol, "undo "+applied.ID); err != nil {
		t.Fatal(err)
	}
	add("undo_already_requested", run(TestAlice, "undo "+applied.ID))
	pending := r.change(TestAlice, "offvariation f true staging").Change
	add("undo_not_applied", run(carol, "undo "+pending.ID))
	add("undo_unknown", run(carol, "undo zzzzzzzzzz"))

	sched := r.change(TestAlice, "on f production --in 1h").Change
	if _, err := r.exec.Approve(ctx, TestBob, sched.ID); err != nil {
		t.Fatal(err)
	}
	_, err = r.exec.CancelSchedule(ctx, Actor{Workspace: TestWorkspaceA, UserID: "UDAN"}, sched.ID)
	add("cancel_schedule_forbidden", err)
	add("schedule_passed", run(TestAlice, "on f staging --at 2020-01-01T00:00:00Z"))
	add("schedule_too_far", run(TestAlice, "on f staging --at 2099-01-01T00:00:00Z"))
	golden(t, "safer", all)
}
