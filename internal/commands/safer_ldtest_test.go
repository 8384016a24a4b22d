package commands_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
	"github.com/flagbot/flagbot/internal/secret"
)

// Undo, the kill switch and scheduled changes through the real LaunchDarkly
// client against ldtest, which applies semantic patches as LaunchDarkly
// does (versions move, the audit log keeps the comments).

const saferToken = "api-writer-5afe"

var carol = Actor{Workspace: TestWorkspaceA, UserID: "UCAROL"}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type saferRig struct {
	t        *testing.T
	s        *ldtest.Server
	exec     *Executor
	changes  Changes
	policies Policies
	clock    *clock
}

func two(i int) *int { return &i }

// newSaferRig: project web with production (critical) and staging; flag f
// (on in production with a 25/75 rollout bucketed by org, targets ana and
// bo; off in staging serving true), archived flag g. Admin UALICE; group
// S0ONCALL holds UALICE and UDAN, group S0REL holds UBOB and UCAROL.
func newSaferRig(t *testing.T) *saferRig {
	t.Helper()
	s := ldtest.NewServer(t)
	s.AddToken(saferToken, ldtest.TokenInfo{Name: "flagbot", Role: "writer"})
	s.AddProject(ld.Project{Key: "web"}, ldtest.EnvSpec{Key: "production", Critical: true}, ldtest.EnvSpec{Key: "staging"})
	vars := []ld.Variation{{ID: "v-true", Value: json.RawMessage("true")}, {ID: "v-false", Value: json.RawMessage("false")}}
	s.AddFlag("web", ld.Flag{Key: "f", Kind: "boolean", Variations: vars, Environments: map[string]ld.FlagEnvironment{
		"production": {On: true, OffVariation: two(1),
			Fallthrough: &ld.VariationOrRollout{Rollout: &ld.Rollout{ContextKind: "org", Variations: []ld.WeightedVariation{{Variation: 0, Weight: 25000}, {Variation: 1, Weight: 75000}}}},
			Targets:     []ld.Target{{Values: []string{"ana", "bo"}, Variation: 0}}},
		"staging": {On: false, OffVariation: two(1), Fallthrough: &ld.VariationOrRollout{Variation: two(0)}},
	}})
	s.AddFlag("web", ld.Flag{Key: "g", Kind: "boolean", Archived: true, Variations: vars})
	ws := NewMemWorkspaces()
	if err := ws.Put(t.Context(), TestWorkspaceA, Connection{Token: secret.Secret(saferToken), Role: RoleWriter, DefaultProject: "web", DefaultEnv: "production"}); err != nil {
		t.Fatal(err)
	}
	r := &saferRig{t: t, s: s, changes: NewMemChanges(), policies: NewMemPolicies(), clock: &clock{now: time.Now().UTC().Truncate(time.Minute)}}
	dir := AdminSet{"UALICE": true, "S0ONCALL/UALICE": true, "S0ONCALL/UDAN": true, "S0REL/UBOB": true, "S0REL/UCAROL": true}
	var ids atomic.Int32
	r.exec = NewExecutor(ws, func(tok secret.Secret) LaunchDarkly { return ld.NewService(s.Client(tok.Reveal())) }, dir, r.changes, r.policies, nil,
		Options{BaseURL: s.URL(), Now: r.clock.Now, NewID: func() string { return fmt.Sprintf("c%02drequest", ids.Add(1)) }})
	return r
}

func (r *saferRig) run(actor Actor, text string) (Result, error) {
	r.t.Helper()
	cmd, err := Parse(text)
	if err != nil {
		r.t.Fatalf("Parse(%q): %v", text, err)
	}
	actor.ChannelID, actor.RequestKey = "C1", ""
	return r.exec.Execute(r.t.Context(), actor, cmd)
}

func (r *saferRig) change(actor Actor, text string) ChangeResult {
	r.t.Helper()
	res, err := r.run(actor, text)
	if err != nil {
		r.t.Fatalf("%q: %v", text, err)
	}
	cr, ok := res.(ChangeResult)
	if !ok {
		r.t.Fatalf("%q gave %T %+v, want a change", text, res, res)
	}
	return cr
}

func (r *saferRig) approve(id string) ChangeResult {
	r.t.Helper()
	res, err := r.exec.Approve(r.t.Context(), TestBob, id)
	if err != nil {
		r.t.Fatalf("Approve(%s): %v", id, err)
	}
	return res
}

// applied requests text as alice and has bob approve it.
func (r *saferRig) applied(text string) Change {
	r.t.Helper()
	c := r.change(TestAlice, text).Change
	res := r.approve(c.ID)
	if res.Change.Status != StatusApplied {
		r.t.Fatalf("%q: %s: %s", text, res.Change.Status, res.Change.Outcome)
	}
	return res.Change
}

func (r *saferRig) flag(key string) ld.Flag {
	r.t.Helper()
	f, ok := r.s.Flag("web", key)
	if !ok {
		r.t.Fatalf("flag %s is gone", key)
	}
	return f
}

// lastComment is the comment of the last write LaunchDarkly received.
func (r *saferRig) lastComment() string {
	r.t.Helper()
	var comment string
	for _, q := range r.s.Requests() {
		if q.Method != http.MethodPatch {
			continue
		}
		var body struct{ Comment string }
		_ = json.Unmarshal(q.Body, &body)
		comment = body.Comment
	}
	return comment
}

// state is the part of a flag environment undo restores, comparable.
func state(f ld.Flag, env string) string {
	fe := f.Environments[env]
	for _, t := range fe.Targets {
		slices.Sort(t.Values)
	}
	fe.Version, fe.LastModified, fe.Site, fe.Summary, fe.EnvironmentName = 0, 0, ld.Link{}, nil, ""
	b, _ := json.Marshal(struct {
		Archived bool
		Env      ld.FlagEnvironment
	}{f.Archived, fe})
	return string(b)
}

// TestUndoEveryKind: every kind of applied change is undone by a new
// request, approved as usual, that puts back exactly what it replaced,
// names the original in LaunchDarkly's comment and is linked both ways.
func TestUndoEveryKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, flag, env string
		wantKind              ChangeKind
	}{
		{"off", "off f production", "f", "production", ChangeOn},
		{"on", "on f staging", "f", "staging", ChangeOff},
		{"serve over a rollout", "serve f false production", "f", "production", ChangeRollout},
		{"serve", "serve f false staging", "f", "staging", ChangeServe},
		{"rollout", "rollout f true=50 false=50 staging", "f", "staging", ChangeServe},
		{"rollout over a rollout", "rollout f true=10 false=90 production", "f", "production", ChangeRollout},
		{"offvariation", "offvariation f true staging", "f", "staging", ChangeOffVariation},
		{"target add", "target f add false cy,org:acme production", "f", "production", ChangeTarget},
		{"target remove", "target f remove true ana production", "f", "production", ChangeTarget},
		{"archive", "archive f", "f", "production", ChangeRestore},
		{"restore", "restore g", "g", "", ChangeArchive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newSaferRig(t)
			before := state(r.flag(tt.flag), tt.env)
			orig := r.applied(tt.text)
			if orig.Undo == nil || orig.Undo.Kind != tt.wantKind {
				t.Fatalf("recorded undo = %+v, want kind %s", orig.Undo, tt.wantKind)
			}
			if state(r.flag(tt.flag), tt.env) == before {
				t.Fatal("the change changed nothing")
			}
			// Anyone may ask; the undo is a request like any other.
			u := r.change(carol, "undo "+orig.ID)
			if !u.Created || u.Change.Status != StatusPending || u.Change.UndoOf != orig.ID || u.Change.Kind != tt.wantKind || u.Change.CommandText != "undo "+orig.ID {
				t.Fatalf("undo request = %+v", u.Change)
			}
			if got, _ := r.exec.Refresh(t.Context(), TestWorkspaceA, orig.ID); got.Change.UndoneBy != u.Change.ID || got.UndoLink == nil || got.UndoLink.Status != StatusPending {
				t.Errorf("original after the undo was filed: link %q %+v", got.Change.UndoneBy, got.UndoLink)
			}
			if _, err := r.run(TestAlice, "undo "+orig.ID); KindOf(err) != KindConflict || !strings.Contains(Message(err), "already requested") {
				t.Errorf("second undo = %v, want already requested", err)
			}
			res := r.approve(u.Change.ID)
			if res.Change.Status != StatusApplied {
				t.Fatalf("undo: %s: %s", res.Change.Status, res.Change.Outcome)
			}
			if got := state(r.flag(tt.flag), tt.env); got != before {
				t.Errorf("after the undo:\n got %s\nwant %s", got, before)
			}
			if c := r.lastComment(); !strings.Contains(c, "undo of request "+orig.ID) || !strings.Contains(c, "request "+u.Change.ID) {
				t.Errorf("LaunchDarkly comment %q does not name the original and the undo", c)
			}
			if got, _ := r.exec.Refresh(t.Context(), TestWorkspaceA, orig.ID); got.UndoLink == nil || got.UndoLink.Status != StatusApplied {
				t.Errorf("original after the undo applied: %+v", got.UndoLink)
			}
			if _, err := r.run(TestAlice, "undo "+orig.ID); KindOf(err) != KindConflict || !strings.Contains(Message(err), "already undone") {
				t.Errorf("undo of an undone change = %v", err)
			}
			// The undo itself can be undone: the change again.
			if res.Change.Undo == nil {
				t.Errorf("the undo recorded no undo of its own")
			}
		})
	}
}

// TestUndoCreateDeleteAndOld: a created flag is undone by archiving it; a
// deletion and a change recorded before undo existed can't be undone, and
// say why; only applied changes can be.
func TestUndoCreateDeleteAndOld(t *testing.T) {
	t.Parallel()
	r := newSaferRig(t)
	created := r.applied("create newf New flag")
	u := r.change(carol, "undo "+created.ID)
	if u.Change.Kind != ChangeArchive {
		t.Fatalf("undo of a creation = %s, want archive", u.Change.Kind)
	}
	r.approve(u.Change.ID)
	if !r.flag("newf").Archived {
		t.Error("the created flag was not archived")
	}

	del := r.change(TestAlice, "delete newf").Change
	deleted, err := r.exec.ApproveWithKey(t.Context(), TestBob, del.ID, "newf")
	if err != nil || deleted.Change.Status != StatusApplied {
		t.Fatalf("delete = %+v, %v", deleted.Change, err)
	}
	_, err = r.run(carol, "undo "+del.ID)
	if want := "A deleted flag can't be brought back from Flagbot: `newf` is gone from LaunchDarkly. Create it again with `/flag create newf`."; Message(err) != want {
		t.Errorf("undo of a deletion = %q, want %q", Message(err), want)
	}

	pending := r.change(TestAlice, "on f staging").Change
	if _, err := r.run(carol, "undo "+pending.ID); Message(err) != "Only an applied change can be undone; request `"+pending.ID+"` is still waiting for approval." {
		t.Errorf("undo of a pending change = %q", Message(err))
	}

	// A change applied by a version that did not record its undo, found by
	// the first characters of its id.
	old := r.applied("off f production")
	stored, _ := r.changes.Get(t.Context(), TestWorkspaceA, old.ID)
	stored.Undo = nil
	forget(t, r.changes, stored)
	_, err = r.run(carol, "undo "+old.ID[:len(old.ID)-1])
	if want := "Undo is unavailable for request `" + old.ID + "`: it was applied by an earlier version of Flagbot, which did not record what the change replaced. Make the change back by hand (`/flag help` lists the commands)."; Message(err) != want {
		t.Errorf("undo of an old record = %q, want %q", Message(err), want)
	}
}

// forget overwrites a stored change (the in-memory store's test hook).
func forget(t *testing.T, changes Changes, c Change) {
	t.Helper()
	type overwriter interface{ Overwrite(Change) }
	o, ok := changes.(overwriter)
	if !ok {
		t.Fatal("the change store cannot be overwritten")
	}
	o.Overwrite(c)
}

// TestUndoChangedSince: when the flag changed in LaunchDarkly after the
// change was applied, undo says exactly what changed and files nothing until
// confirmed; the confirmation holds only for what was shown.
func TestUndoChangedSince(t *testing.T) {
	t.Parallel()
	r := newSaferRig(t)
	orig := r.applied("off f production")
	if _, err := r.s.Client(saferToken).PatchFlag(t.Context(), "web", "f", ld.SemanticPatch{
		EnvironmentKey: "production", Comment: "hotfix from the UI",
		Instructions: []ld.Instruction{{Kind: ld.KindAddTargets, VariationID: "v-false", ContextKind: "user", Values: []string{"zed"}}},
	}); err != nil {
		t.Fatal(err)
	}
	res, err := r.run(carol, "undo "+orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	conf, ok := res.(UndoConfirmResult)
	if !ok {
		t.Fatalf("undo of a moved flag = %T, want a confirmation", res)
	}
	var lines []string
	for _, l := range conf.Since {
		lines = append(lines, l.String())
	}
	got := strings.Join(lines, "\n")
	if !strings.Contains(got, "`production` version") || !strings.Contains(got, "token flagbot: addTargets (“hotfix from the UI”)") || strings.Contains(got, orig.ID) {
		t.Errorf("what changed since:\n%s", got)
	}
	if conf.Now.String() != "`f` is now off in `production`" {
		t.Errorf("now = %q", conf.Now.String())
	}
	if p, _ := r.changes.Pending(t.Context(), TestWorkspaceA); len(p) != 0 {
		t.Fatalf("an unconfirmed undo was filed: %d pending", len(p))
	}
	// The flag moves again after it was shown: asked again.
	if _, err := r.s.Client(saferToken).PatchFlag(t.Context(), "web", "f", ld.SemanticPatch{
		EnvironmentKey: "production", Instructions: []ld.Instruction{{Kind: ld.KindAddTargets, VariationID: "v-false", ContextKind: "user", Values: []string{"yan"}}},
	}); err != nil {
		t.Fatal(err)
	}
	res, err = r.exec.RequestUndo(t.Context(), carol, orig.ID, conf.Seen)
	again, ok := res.(UndoConfirmResult)
	if err != nil || !ok || again.Seen == conf.Seen {
		t.Fatalf("confirmation of an outdated view = %T, %v", res, err)
	}
	res, err = r.exec.RequestUndo(t.Context(), carol, orig.ID, again.Seen)
	cr, ok := res.(ChangeResult)
	if err != nil || !ok || cr.Change.Status != StatusPending || cr.Change.UndoOf != orig.ID {
		t.Fatalf("confirmed undo = %+v, %v", res, err)
	}
	if r.approve(cr.Change.ID).Change.Status != StatusApplied || !r.flag("f").Environments["production"].On {
		t.Error("the confirmed undo did not turn the flag back on")
	}
}

// TestKillSwitch: only members of the responders group may kill, at once;
// the comment says so; someone else signs it off; Revert files the
// inverse as a normal request.
func TestKillSwitch(t *testing.T) {
	t.Parallel()
	r := newSaferRig(t)
	const kill = `kill f production --reason "checkout errors"`
	if _, err := r.run(TestAlice, kill); KindOf(err) != KindForbidden || !strings.Contains(Message(err), "/flag config breakglass @group") {
		t.Fatalf("kill without responders = %v", err)
	}
	if _, err := r.run(TestAlice, "config breakglass subteam^S0ONCALL"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.run(TestBob, kill); Message(err) != "Only members of <!subteam^S0ONCALL> can use the kill switch. Ask for the change with `/flag off f` instead." {
		t.Fatalf("kill by a non-responder = %q", Message(err))
	}
	guest := Actor{Workspace: TestWorkspaceA, UserID: "UDAN", Guest: true}
	if _, err := r.run(guest, kill); KindOf(err) != KindForbidden {
		t.Fatalf("kill by a guest = %v", err)
	}
	if !r.flag("f").Environments["production"].On {
		t.Fatal("a refused kill turned the flag off")
	}
	res := r.change(TestAlice, kill)
	c := res.Change
	if !res.Applied || !res.Created || c.Status != StatusApplied || !c.Emergency || !c.NeedsSignoff() || !c.SignoffDue.Equal(r.clock.Now().Add(24*time.Hour)) {
		t.Fatalf("kill = %+v", res)
	}
	if r.flag("f").Environments["production"].On {
		t.Fatal("the kill did not turn the flag off")
	}
	if want := "Emergency change by ualice (UALICE) via Flagbot, sign-off pending; reason: checkout errors; request " + c.ID; r.lastComment() != want {
		t.Errorf("comment = %q, want %q", r.lastComment(), want)
	}
	if _, err := r.run(Actor{Workspace: TestWorkspaceA, UserID: "UDAN"}, kill); Message(err) != "`f` is already off in `production`; nothing was changed." {
		t.Errorf("kill of a flag that is off = %q", Message(err))
	}
	if _, err := r.exec.SignOff(t.Context(), TestAlice, c.ID); Message(err) != "You made this emergency change, so someone else has to sign it off." {
		t.Errorf("self sign-off = %q", Message(err))
	}
	if _, err := r.exec.SignOff(t.Context(), Actor{Workspace: TestWorkspaceA, UserID: "UBOB", Guest: true}, c.ID); KindOf(err) != KindForbidden {
		t.Errorf("guest sign-off = %v", err)
	}
	// Revert: the inverse, as a normal request.
	rv, err := r.exec.RequestUndo(t.Context(), carol, c.ID, "")
	rc, ok := rv.(ChangeResult)
	if err != nil || !ok || rc.Change.Status != StatusPending || rc.Change.Kind != ChangeOn || rc.Change.UndoOf != c.ID {
		t.Fatalf("revert = %+v, %v", rv, err)
	}
	signed, err := r.exec.SignOff(t.Context(), TestBob, c.ID)
	if err != nil || signed.Change.SignedOffBy != "UBOB" || signed.Change.NeedsSignoff() || signed.UndoLink == nil {
		t.Fatalf("sign-off = %+v, %v", signed, err)
	}
	if _, err := r.exec.SignOff(t.Context(), carol, c.ID); Message(err) != "<@UBOB> already signed this off." {
		t.Errorf("second sign-off = %q", Message(err))
	}
}

// TestScheduledChanges: a scheduled change is approved first, waits, and
// at its time is applied once after the stale check; late within the grace
// it says so, after it it is missed; it can be cancelled by its requester,
// approvers and admins.
func TestScheduledChanges(t *testing.T) {
	t.Parallel()
	r := newSaferRig(t)
	ctx := t.Context()
	start := r.clock.Now()
	req := r.change(TestAlice, "on f staging --in 1h").Change
	if !req.ApplyAt.Equal(start.Add(time.Hour)) || !req.ExpiresAt.Equal(req.ApplyAt) || req.Status != StatusPending {
		t.Fatalf("request = %+v", req)
	}
	res := r.approve(req.ID)
	if !res.ApprovedNow || res.Change.Status != StatusScheduled || r.flag("f").Environments["staging"].On {
		t.Fatalf("approved = %s (now %v); flag on %v", res.Change.Status, res.ApprovedNow, r.flag("f").Environments["staging"].On)
	}
	if l, _ := r.run(carol, "scheduled"); len(l.(ScheduledResult).Changes) != 1 {
		t.Errorf("scheduled = %+v", l)
	}
	if _, err := r.exec.ApplyScheduled(ctx, res.Change); KindOf(err) != KindConflict {
		t.Errorf("ApplyScheduled before the time = %v", err)
	}
	r.clock.Add(time.Hour)
	done, err := r.exec.ApplyScheduled(ctx, res.Change)
	if err != nil || done.Change.Status != StatusApplied || !r.flag("f").Environments["staging"].On || strings.Contains(done.Change.Outcome.String(), "late") {
		t.Fatalf("ApplyScheduled = %s %q, %v", done.Change.Status, done.Change.Outcome, err)
	}
	if _, err := r.exec.ApplyScheduled(ctx, res.Change); KindOf(err) != KindConflict {
		t.Errorf("second ApplyScheduled = %v", err)
	}
	if c := r.lastComment(); !strings.Contains(c, "scheduled for "+req.ApplyAt.Format("2006-01-02 15:04")+" UTC") {
		t.Errorf("comment %q does not say when it was scheduled for", c)
	}

	schedule := func(text string) Change {
		t.Helper()
		c := r.change(TestAlice, text).Change
		s := r.approve(c.ID).Change
		if s.Status != StatusScheduled {
			t.Fatalf("%q approved into %s", text, s.Status)
		}
		return s
	}
	late := schedule("off f staging --in 10m")
	r.clock.Add(40 * time.Minute)
	done, err = r.exec.ApplyScheduled(ctx, late)
	if err != nil || done.Change.Status != StatusApplied || !strings.HasPrefix(done.Change.Outcome.String(), "Applied late, at ") {
		t.Fatalf("late = %s %q, %v", done.Change.Status, done.Change.Outcome, err)
	}

	missed := schedule("on f staging --in 10m")
	r.clock.Add(71 * time.Minute)
	patches := len(r.s.Requests())
	done, err = r.exec.ApplyScheduled(ctx, missed)
	if err != nil || done.Change.Status != StatusMissed || r.flag("f").Environments["staging"].On || len(r.s.Requests()) > patches+2 {
		t.Fatalf("missed = %s %q, %v", done.Change.Status, done.Change.Outcome, err)
	}

	stale := schedule("on f staging --in 10m")
	if _, err := r.s.Client(saferToken).PatchFlag(ctx, "web", "f", ld.SemanticPatch{EnvironmentKey: "staging",
		Instructions: []ld.Instruction{{Kind: ld.KindUpdateOffVariation, VariationID: "v-true"}}}); err != nil {
		t.Fatal(err)
	}
	r.clock.Add(10 * time.Minute)
	done, err = r.exec.ApplyScheduled(ctx, stale)
	if err != nil || done.Change.Status != StatusStale || r.flag("f").Environments["staging"].On {
		t.Fatalf("stale = %s %q, %v", done.Change.Status, done.Change.Outcome, err)
	}

	cancel := schedule("on f staging --in 1h")
	if _, err := r.exec.CancelSchedule(ctx, Actor{Workspace: TestWorkspaceA, UserID: "UDAN"}, cancel.ID); KindOf(err) != KindForbidden {
		t.Errorf("cancel by a bystander = %v", err)
	}
	got, err := r.exec.CancelSchedule(ctx, TestBob, cancel.ID)
	if err != nil || got.Change.Status != StatusCancelled || got.Change.DecidedBy != "UBOB" {
		t.Fatalf("cancel by the approver = %+v, %v", got.Change, err)
	}
	if _, err := r.exec.CancelSchedule(ctx, TestAlice, cancel.ID); Message(err) != "<@UBOB> already cancelled it." {
		t.Errorf("second cancel = %q", Message(err))
	}
	byAdmin := schedule("on f staging --in 1h")
	if got, err := r.exec.CancelSchedule(ctx, TestAlice, byAdmin.ID); err != nil || got.Change.Status != StatusCancelled {
		t.Errorf("cancel by the requester = %+v, %v", got.Change, err)
	}
	if l, _ := r.run(carol, "scheduled"); len(l.(ScheduledResult).Changes) != 0 {
		t.Errorf("scheduled afterwards = %+v", l)
	}

	// In an exempt environment it needs no approval: scheduled at once.
	if _, err := r.run(TestAlice, "config exempt-envs staging"); err != nil {
		t.Fatal(err)
	}
	ex := r.change(TestBob, "on f staging --in 90s")
	if ex.Change.Status != StatusScheduled || !ex.Change.Exempt || ex.Applied {
		t.Fatalf("exempt scheduled = %+v", ex)
	}
}

// TestScheduleResolve: --at resolves against the clock in its time zone.
func TestScheduleResolve(t *testing.T) {
	t.Parallel()
	r := newSaferRig(t)
	at := func(v string, now time.Time) (time.Time, error) {
		t.Helper()
		r.clock.mu.Lock()
		r.clock.now = now
		r.clock.mu.Unlock()
		res, err := r.run(TestAlice, `on f staging --at "`+v+`"`)
		if err != nil {
			return time.Time{}, err
		}
		c := res.(ChangeResult).Change
		if _, err := r.exec.Cancel(t.Context(), TestAlice, c.ID); err != nil {
			t.Fatal(err)
		}
		return c.ApplyAt, nil
	}
	wed := time.Date(2030, 1, 16, 9, 0, 0, 0, time.UTC) // a Wednesday
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"10:30", time.Date(2030, 1, 16, 10, 30, 0, 0, time.UTC), ""},
		{"08:00", time.Time{}, "has passed today. Say `tomorrow 08:00`"},
		{"tomorrow 08:00", time.Date(2030, 1, 17, 8, 0, 0, 0, time.UTC), ""},
		{"tomorrow 08:00 Europe/Berlin", time.Date(2030, 1, 17, 8, 0, 0, 0, berlin), ""},
		{"10:30 Europe/Berlin", time.Date(2030, 1, 16, 10, 30, 0, 0, berlin), ""},
		{"mon 07:00", time.Date(2030, 1, 21, 7, 0, 0, 0, time.UTC), ""},
		{"wed 10:00", time.Date(2030, 1, 16, 10, 0, 0, 0, time.UTC), ""},
		{"wed 08:00", time.Date(2030, 1, 23, 8, 0, 0, 0, time.UTC), ""},
		{"2030-01-20T12:00:00+01:00", time.Date(2030, 1, 20, 11, 0, 0, 0, time.UTC), ""},
		{"2030-01-16T08:59:00Z", time.Time{}, "has passed"},
		{"2030-03-16T08:59:00Z", time.Time{}, "more than 30 days ahead"},
	}
	for _, tt := range tests {
		got, err := at(tt.in, wed)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(Message(err), tt.wantErr)):
			t.Errorf("--at %s = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || !got.Equal(tt.want)):
			t.Errorf("--at %s = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestApproverDMs: the approver group's members are told, but not the
// requester and not who turned direct messages off.
func TestApproverDMs(t *testing.T) {
	t.Parallel()
	r := newSaferRig(t)
	c := r.change(TestBob, "on f staging").Change
	if got, err := r.exec.ApproverDMs(t.Context(), c); err != nil || len(got) != 0 {
		t.Errorf("without an approver group = %v, %v", got, err)
	}
	if _, err := r.run(TestAlice, "config approvers subteam^S0REL"); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.exec.ApproverDMs(t.Context(), c); len(got) != 1 || got[0] != "UCAROL" {
		t.Errorf("approver DMs = %v, want UCAROL", got)
	}
	res, err := r.run(carol, "notify off")
	if err != nil || res != (NotifyResult{Off: true, Changed: true}) {
		t.Fatalf("notify off = %+v, %v", res, err)
	}
	if res, _ := r.run(carol, "notify off"); res != (NotifyResult{Off: true}) {
		t.Errorf("notify off again = %+v", res)
	}
	if got, _ := r.exec.ApproverDMs(t.Context(), c); len(got) != 0 {
		t.Errorf("approver DMs after notify off = %v", got)
	}
	if res, _ := r.run(carol, "notify"); res != (NotifyResult{Off: true}) {
		t.Errorf("notify = %+v", res)
	}
	if res, _ := r.run(carol, "notify on"); res != (NotifyResult{Changed: true}) {
		t.Errorf("notify on = %+v", res)
	}
	if got, _ := r.exec.ApproverDMs(t.Context(), c); len(got) != 1 {
		t.Errorf("approver DMs after notify on = %v", got)
	}
}

// TestScheduledUnderLaunchDarklyApprovals: in an environment where
// LaunchDarkly requires its own approval, the scheduled apply creates a
// LaunchDarkly approval request at its time, as an approved change does.
func TestScheduledUnderLaunchDarklyApprovals(t *testing.T) {
	t.Parallel()
	r := newSaferRig(t)
	r.s.AddProject(ld.Project{Key: "gated"}, ldtest.EnvSpec{Key: "production", RequireApproval: true})
	r.s.AddFlag("gated", ld.Flag{Key: "f", Kind: "boolean", Variations: []ld.Variation{{ID: "v-true", Value: json.RawMessage("true")}, {ID: "v-false", Value: json.RawMessage("false")}},
		Environments: map[string]ld.FlagEnvironment{"production": {On: false}}})
	c := r.change(TestAlice, "on f production --project gated --in 1h").Change
	if s := r.approve(c.ID).Change; s.Status != StatusScheduled {
		t.Fatalf("approved into %s", s.Status)
	}
	if n := len(r.s.ApprovalRequests()); n != 0 {
		t.Fatalf("%d LaunchDarkly approval requests before the time", n)
	}
	r.clock.Add(time.Hour)
	res, err := r.exec.ApplyScheduled(t.Context(), Change{Workspace: TestWorkspaceA, ID: c.ID})
	if err != nil || res.Change.Status != StatusLDApproval || len(r.s.ApprovalRequests()) != 1 {
		t.Fatalf("at its time = %s %q, %v; %d approval requests", res.Change.Status, res.Change.Outcome, err, len(r.s.ApprovalRequests()))
	}
	if ar := r.s.ApprovalRequests()[0]; !strings.Contains(ar.Comment, "scheduled for") || !strings.Contains(ar.Comment, "request "+c.ID) {
		t.Errorf("approval request comment %q", ar.Comment)
	}
}
