package approvals

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// TestForgetChanges: a workspace's pending changes are cancelled by nobody
// with the uninstall outcome, out of every index and into the history;
// approved and decided ones, and other workspaces' changes, stay as they
// were.
func TestForgetChanges(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, st *redisstore.Store) { testForgetChanges(t, st) })
}

func testForgetChanges(t *testing.T, st *redisstore.Store) {
	ctx := t.Context()
	c := NewChanges(st, ChangesOptions{})
	other := commands.Workspace{TeamID: "T0OTHER"}
	mustCreate(t, c, newChange(wsA(), "p1", 1))
	mustCreate(t, c, newChange(wsA(), "p2", 2))
	mustCreate(t, c, newChange(wsA(), "ap", 1))
	mustCreate(t, c, newChange(wsA(), "rj", 1))
	mustCreate(t, c, newChange(other, "o1", 1))
	if _, _, err := c.Approve(ctx, wsA(), "ap", "bob", at(time.Minute), commands.Claim{}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reject(ctx, wsA(), "rj", "bob", at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	otherBefore := redistest.Dump(t, st)

	n, err := c.Forget(ctx, wsA(), at(2*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("Forget = %d, %v; want 2 cancelled", n, err)
	}
	if p, err := c.Pending(ctx, wsA()); err != nil || len(p) != 0 {
		t.Errorf("pending after Forget = %d, %v", len(p), err)
	}
	for _, id := range []string{"p1", "p2"} {
		ch, err := c.Get(ctx, wsA(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Status != commands.StatusCancelled || ch.DecidedBy != "" || !ch.DecidedAt.Equal(at(2*time.Minute)) || ch.Outcome.String() != UninstalledOutcome().String() {
			t.Errorf("%s after Forget = %s by %q at %v (%q)", id, ch.Status, ch.DecidedBy, ch.DecidedAt, ch.Outcome.String())
		}
	}
	if ch, err := c.Get(ctx, wsA(), "ap"); err != nil || ch.Status != commands.StatusApproved {
		t.Errorf("the approved change after Forget = %s, %v", ch.Status, err)
	}
	if ch, err := c.Get(ctx, wsA(), "rj"); err != nil || ch.Status != commands.StatusRejected {
		t.Errorf("the rejected change after Forget = %s, %v", ch.Status, err)
	}
	h, err := c.History(ctx, wsA(), "", 0)
	if err != nil || len(h) != 3 {
		t.Errorf("history after Forget = %d changes, %v; want 3", len(h), err)
	}
	if expiry := members(t, do(t, st, "ZRANGE", st.Key(c.wsKey(wsA(), idxExpiry)), 0, -1)); len(expiry) != 0 {
		t.Errorf("expiry index after Forget = %q, want none", expiry)
	}
	expiry := members(t, do(t, st, "ZRANGE", st.Key(c.wsKey(other, idxExpiry)), 0, -1))
	if len(expiry) != 1 || !strings.HasSuffix(expiry[0], ":change:o1") {
		t.Errorf("the other workspace's expiry index after Forget = %q, want its change", expiry)
	}
	for _, line := range strings.Split(otherBefore, "\n") {
		if strings.HasPrefix(line, "ws:_:{T0OTHER}:") && !strings.Contains(redistest.Dump(t, st), line) {
			t.Errorf("the other workspace's key changed: %s", line)
		}
	}
	if n, err := c.Forget(ctx, wsA(), at(3*time.Minute)); err != nil || n != 0 {
		t.Errorf("a second Forget = %d, %v; want 0", n, err)
	}
}

func TestForgetPolicy(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, st *redisstore.Store) {
		ctx := t.Context()
		p := NewPolicies(st)
		pol := commands.Policy{RequireReason: true}
		for _, ws := range []commands.Workspace{wsA(), {TeamID: "T0OTHER"}} {
			if err := p.SetPolicy(ctx, ws, pol); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.SetPolicy(ctx, commands.Workspace{TeamID: "T0C", EnterpriseID: "E1"}, pol); err != nil {
			t.Fatal(err)
		}
		for _, ws := range []commands.Workspace{wsA(), {TeamID: "T0C", EnterpriseID: "E1"}} {
			if err := p.Forget(ctx, ws); err != nil {
				t.Fatal(err)
			}
			if got, err := p.Policy(ctx, ws); err != nil || got.RequireReason {
				t.Errorf("policy of %+v after Forget = %+v, %v", ws, got, err)
			}
		}
		if got, err := p.Policy(ctx, commands.Workspace{TeamID: "T0OTHER"}); err != nil || !got.RequireReason {
			t.Errorf("another workspace's policy after Forget = %+v, %v", got, err)
		}
	})
}

// TestForgetScheduledAndUnsigned: an uninstall cancels scheduled changes
// too (nothing would be there to apply them) and takes the workspace's
// unsigned kills out of the sign-off index; nothing of another workspace
// moves, and no index keeps an entry of the forgotten workspace.
func TestForgetScheduledAndUnsigned(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, st *redisstore.Store) {
		ctx := t.Context()
		c := NewChanges(st, ChangesOptions{})
		other := commands.Workspace{TeamID: "T0OTHER"}
		for _, ws := range []commands.Workspace{wsA(), other} {
			sc := newChange(ws, "s-"+ws.TeamID, 1)
			sc.ApplyAt = at(2 * time.Hour)
			mustCreate(t, c, sc)
			if got, _, err := c.Approve(ctx, ws, sc.ID, "bob", at(time.Minute), commands.Claim{}, false); err != nil || got.Status != commands.StatusScheduled {
				t.Fatalf("Approve = %s, %v; want scheduled", got.Status, err)
			}
			k := newChange(ws, "k-"+ws.TeamID, 0)
			k.Kind, k.RequiredApprovals, k.Emergency, k.SignoffDue = commands.ChangeKill, 0, true, at(24*time.Hour)
			if _, _, err := c.CreateApproved(ctx, k, "", commands.Claim{Owner: "me", For: time.Minute}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Finish(ctx, ws, k.ID, 1, commands.StatusApplied, commands.Notation("killed"), nil, at(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		n, err := c.Forget(ctx, wsA(), at(2*time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("Forget = %d, %v; want the scheduled change cancelled", n, err)
		}
		if ch, err := c.Get(ctx, wsA(), "s-T0A"); err != nil || ch.Status != commands.StatusCancelled || ch.Outcome.String() != UninstalledOutcome().String() {
			t.Errorf("scheduled change after Forget = %s (%q), %v", ch.Status, ch.Outcome.String(), err)
		}
		if l, err := c.Scheduled(ctx, wsA()); err != nil || len(l) != 0 {
			t.Errorf("Scheduled after Forget = %v, %v", ids(l), err)
		}
		if due, err := c.DueScheduled(ctx, at(3*time.Hour), 10); err != nil || !slices.Equal(ids(due), []string{"s-T0OTHER"}) {
			t.Errorf("DueScheduled after Forget = %v, %v; want only the other workspace's", ids(due), err)
		}
		if d, err := c.SignoffDue(ctx, at(12*time.Hour), 10); err != nil || !slices.Equal(ids(d), []string{"k-T0OTHER"}) {
			t.Errorf("SignoffDue after Forget = %v, %v; want only the other workspace's kill", ids(d), err)
		}
		dump := redistest.Dump(t, st)
		for line := range strings.SplitSeq(dump, "\n") {
			if strings.HasPrefix(line, "changes:") && strings.Contains(line, "ws:_:T0A:") {
				t.Errorf("an index keeps the forgotten workspace: %s", line)
			}
		}
	})
}
