package approvals

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
)

// TestGridChangesStayDecidable: changes requested before a workspace
// joined an Enterprise Grid org stay where they are and are decided,
// finished and listed through the workspace's name in the org.
func TestGridChangesStayDecidable(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		ctx := t.Context()
		old := commands.Workspace{TeamID: "T0MOVE"}
		org := commands.Workspace{TeamID: "T0MOVE", EnterpriseID: "E0ORG"}
		other := commands.Workspace{TeamID: "T0ELSE", EnterpriseID: "E0ORG"}
		raw := NewChanges(s, ChangesOptions{})
		g := NewGridChanges(raw)

		for i, id := range []string{"c-approve", "c-reject", "c-cancel", "c-claim"} {
			c := newChange(old, id, 1)
			c.CreatedAt = at(time.Duration(i) * time.Second)
			mustCreate(t, raw, c)
		}
		later := newChange(org, "c-new", 1)
		later.CreatedAt = at(time.Minute)
		mustCreate(t, raw, later)

		got, err := g.Get(ctx, org, "c-approve")
		if err != nil || got.Workspace != org {
			t.Fatalf("Get in the org = workspace %+v, %v; want the change, as one of %+v", got.Workspace, err, org)
		}
		if _, err := g.Get(ctx, other, "c-approve"); !errors.Is(err, commands.ErrChangeNotFound) {
			t.Errorf("Get from another workspace of the org: %v, want ErrChangeNotFound", err)
		}
		pending, err := g.Pending(ctx, org)
		if err != nil || !slices.Equal(ids(pending), []string{"c-approve", "c-reject", "c-cancel", "c-claim", "c-new"}) {
			t.Fatalf("Pending in the org = %v, %v", ids(pending), err)
		}
		for _, c := range pending {
			if c.Workspace != org {
				t.Errorf("pending %s listed as a change of %+v", c.ID, c.Workspace)
			}
		}

		claim := commands.Claim{Owner: "r1", For: time.Minute}
		c, approvedNow, err := g.Approve(ctx, org, "c-approve", "bob", at(time.Minute), claim, false)
		if err != nil || !approvedNow || c.Workspace != org || c.Lease.Fence != 1 {
			t.Fatalf("Approve = now %v, ws %+v, fence %d, %v", approvedNow, c.Workspace, c.Lease.Fence, err)
		}
		if err := g.SetMessage(ctx, org, "c-approve", "C0CHAN", "1700000000.000100"); err != nil {
			t.Fatalf("SetMessage: %v", err)
		}
		if l, err := g.Renew(ctx, org, "c-approve", 1, claim, at(time.Minute+time.Second), true); err != nil || l.Fence != 1 || l.Sent != 1 {
			t.Fatalf("Renew = %+v, %v; want fence 1, sent 1", l, err)
		}
		if c, err := g.Finish(ctx, org, "c-approve", 1, commands.StatusApplied, commands.Notation("applied"), nil, at(2*time.Minute)); err != nil || c.Status != commands.StatusApplied {
			t.Fatalf("Finish = %s, %v", c.Status, err)
		}
		if _, _, err := g.Approve(ctx, org, "c-approve", "carol", at(3*time.Minute), commands.Claim{}, false); !errors.Is(err, commands.ErrDecided) {
			t.Errorf("second approval: %v, want ErrDecided", err)
		}
		if c, err := g.Reject(ctx, org, "c-reject", "bob", at(4*time.Minute)); err != nil || c.Status != commands.StatusRejected {
			t.Errorf("Reject = %s, %v", c.Status, err)
		}
		if c, err := g.Cancel(ctx, org, "c-cancel", "alice", at(5*time.Minute)); err != nil || c.Status != commands.StatusCancelled {
			t.Errorf("Cancel = %s, %v", c.Status, err)
		}
		// Approved without a claim (the approver's replica died), then
		// claimed by the sweeper through the org's name.
		if _, now, err := g.Approve(ctx, org, "c-claim", "bob", at(5*time.Minute+time.Second), commands.Claim{}, false); err != nil || !now {
			t.Fatalf("Approve without a claim: now %v, %v", now, err)
		}
		c, err = g.Claim(ctx, org, "c-claim", claim, at(30*time.Minute), time.Minute)
		if err != nil || c.Workspace != org || c.Lease.Fence != 1 {
			t.Fatalf("Claim = ws %+v, fence %d, %v", c.Workspace, c.Lease.Fence, err)
		}
		if _, err := g.Finish(ctx, org, "c-claim", 1, commands.StatusStale, commands.Notation("moved"), nil, at(31*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if c, _, err := g.Approve(ctx, org, "c-new", "bob", at(32*time.Minute), commands.Claim{}, false); err != nil || c.Status != commands.StatusApproved {
			t.Errorf("Approve of a change made in the org = %s, %v", c.Status, err)
		}
		if _, err := g.Finish(ctx, org, "c-new", 0, commands.StatusFailed, commands.Notation("no"), nil, at(33*time.Minute)); err != nil {
			t.Fatal(err)
		}

		hist, err := g.History(ctx, org, "", 10)
		if err != nil || !slices.Equal(ids(hist), []string{"c-new", "c-claim", "c-cancel", "c-reject", "c-approve"}) {
			t.Errorf("History in the org = %v, %v; want newest decision first", ids(hist), err)
		}
		if hist, err := g.History(ctx, org, "", 2); err != nil || !slices.Equal(ids(hist), []string{"c-new", "c-claim"}) {
			t.Errorf("History limited to 2 = %v, %v", ids(hist), err)
		}
		if p, err := g.Pending(ctx, org); err != nil || len(p) != 0 {
			t.Errorf("Pending after deciding all = %v, %v", ids(p), err)
		}
		// Outside an org nothing changes.
		if hist, err := g.History(ctx, old, "", 10); err != nil || len(hist) != 4 || hist[0].Workspace != old {
			t.Errorf("History under the old name = %v, %v", ids(hist), err)
		}
	})
}
