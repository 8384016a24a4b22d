package commands

import (
	"context"
	"testing"
	"time"
)

func TestHomeForRequesterAndApprover(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	r.ld.ListAuditLogFn = func(_ context.Context, q AuditQuery) ([]AuditEntry, error) {
		if q.Spec != "proj/web:env/*:flag/*" || q.Limit != maxHomeAudit {
			t.Errorf("audit query %+v", q)
		}
		return []AuditEntry{{ID: "a1", Title: "Ana turned on the flag"}}, nil
	}
	first := r.mustRequest("on new-checkout production")
	r.mu.Lock()
	r.now = r.now.Add(time.Minute)
	r.mu.Unlock()
	second := r.mustRequest("off checkout-layout production")

	home := r.exec.Home(t.Context(), alice)
	if !home.Connected || home.Info.DefaultProject != "web" || len(home.Recent) != 1 || home.RecentProject != "web" {
		t.Errorf("alice's home: %+v", home)
	}
	if len(home.Waiting) != 0 || len(home.Yours) != 2 || home.Yours[0].ID != first.ID {
		t.Errorf("alice waits for %d and has %d of her own; want 0 and 2, oldest first", len(home.Waiting), len(home.Yours))
	}
	home = r.exec.Home(t.Context(), bob)
	if !home.MayApprove || len(home.Waiting) != 2 || len(home.Yours) != 0 {
		t.Errorf("bob may approve %v and waits for %d; want true and 2", home.MayApprove, len(home.Waiting))
	}

	// After bob approves one, it no longer waits for him; it is decided
	// for alice.
	if _, err := r.exec.Approve(t.Context(), bob, first.ID); err != nil {
		t.Fatal(err)
	}
	homes := r.exec.Homes(t.Context(), wsA, []Actor{alice, bob, {Workspace: wsA, UserID: "UGUEST", Guest: true}, {Workspace: wsA, UserID: "UX", Outsider: true}})
	if a := homes[0]; len(a.Yours) != 1 || a.Yours[0].ID != second.ID || len(a.Decided) != 1 || a.Decided[0].Status != StatusApplied {
		t.Errorf("alice after the decision: yours %v, decided %v", a.Yours, a.Decided)
	}
	if b := homes[1]; len(b.Waiting) != 1 || b.Waiting[0].ID != second.ID {
		t.Errorf("bob after the decision waits for %v", b.Waiting)
	}
	if g := homes[2]; g.MayApprove || len(g.Waiting) != 0 || !g.Guest {
		t.Errorf("a guest's home: %+v", g)
	}
	if o := homes[3]; !o.Outsider || o.Connected {
		t.Errorf("an outsider's home: %+v", o)
	}

	// An approver group narrows who sees requests waiting.
	r.setPolicy(Policy{ApproverGroup: "S-REL"})
	homes = r.exec.Homes(t.Context(), wsA, []Actor{bob, {Workspace: wsA, UserID: "UCAROL"}})
	if len(homes[0].Waiting) != 1 || homes[1].MayApprove || len(homes[1].Waiting) != 0 || homes[1].ApproverGroup != "S-REL" {
		t.Errorf("with an approver group: bob waits for %d, carol may approve %v", len(homes[0].Waiting), homes[1].MayApprove)
	}

	// Expired requests wait for nobody.
	r.mu.Lock()
	r.now = r.now.Add(48 * time.Hour)
	r.mu.Unlock()
	if h := r.exec.Home(t.Context(), bob); len(h.Waiting) != 0 {
		t.Errorf("an expired request still waits: %v", h.Waiting)
	}
}

func TestHomeNotConnectedOrBroken(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	if h := r.exec.Home(t.Context(), alice); h.Connected || len(h.Problems) != 0 {
		t.Errorf("home of an unconnected workspace: %+v", h)
	}
	r.ws.Err = context.DeadlineExceeded
	if h := r.exec.Home(t.Context(), alice); h.Connected || len(h.Problems) != 1 {
		t.Errorf("home with the store down: %+v", h)
	}
	r.ws.Err = nil
	r.connect(t, wsA, "api-a", "web", "production")
	r.ld.ListAuditLogFn = func(context.Context, AuditQuery) ([]AuditEntry, error) { return nil, remoteErr(503, "") }
	if h := r.exec.Home(t.Context(), alice); !h.Connected || len(h.Problems) != 1 {
		t.Errorf("home with LaunchDarkly down: %+v", h)
	}
}

// TestMayApproveIsCheckApprover drives the Home's rule and the one that
// decides from one table.
func TestMayApproveIsCheckApprover(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		actor Actor
		pol   Policy
	}{
		{"member, no group", bob, Policy{}},
		{"guest", Actor{Workspace: wsA, UserID: "UBOB", Guest: true}, Policy{}},
		{"in the group", bob, Policy{ApproverGroup: "S-REL"}},
		{"outside the group", Actor{Workspace: wsA, UserID: "UCAROL"}, Policy{ApproverGroup: "S-REL"}},
		{"guest in the group", Actor{Workspace: wsA, UserID: "UBOB", Guest: true}, Policy{ApproverGroup: "S-REL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newWriteRig(t)
			r.setPolicy(tt.pol)
			members, _ := r.dir.GroupMembers(t.Context(), tt.actor.Workspace, tt.pol.ApproverGroup)
			home := mayApprove(tt.actor, tt.pol, members)
			decide := r.exec.checkApprover(t.Context(), tt.actor) == nil
			if home != decide {
				t.Errorf("Home says %v, deciding says %v", home, decide)
			}
		})
	}
}
