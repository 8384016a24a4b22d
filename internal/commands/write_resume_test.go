package commands

import (
	"context"
	"errors"
	"testing"
	"time"
)

// lostFinish is a change store whose Finish never records anything, as if
// the bot stopped right before recording the outcome.
type lostFinish struct{ *memChanges }

func (lostFinish) Finish(context.Context, Workspace, string, int64, ChangeStatus, Text, *UndoPlan, time.Time) (Change, error) {
	return Change{}, errors.New("redis: connection reset")
}

// landPatches makes the rig's LaunchDarkly keep what a patch did (the
// environment's version moves), as the real one does.
func landPatches(r *writeRig) {
	patch := r.ld.PatchFlagFn
	r.ld.PatchFlagFn = func(ctx context.Context, project, key string, p Patch) (Flag, error) {
		f, err := patch(ctx, project, key, p)
		if err == nil {
			r.mu.Lock()
			r.flags[key] = cloneForTest(f)
			r.mu.Unlock()
		}
		return f, err
	}
}

// deadClaim is the claim of an attempt that stopped a minute before t0:
// its lease ran out before t0.
var deadClaim = Claim{Owner: "dead-replica", For: 30 * time.Second}

// stuckChange requests `on new-checkout` and approves it in the store only,
// as when the bot stopped between the approval and applying it; it returns
// the change as Reclaimable lists it once the lease ran out.
func stuckChange(t *testing.T, r *writeRig) Change {
	t.Helper()
	c := r.mustRequest("on new-checkout")
	if _, now, err := r.changes.Approve(t.Context(), wsA, c.ID, bob.UserID, t0.Add(-time.Minute), deadClaim, false); err != nil || !now {
		t.Fatalf("store Approve = now %v, %v", now, err)
	}
	stuck, err := r.changes.Reclaimable(t.Context(), t0, time.Hour, 10)
	if err != nil || len(stuck) != 1 || stuck[0].ID != c.ID {
		t.Fatalf("Reclaimable = %+v, %v; want %s", stuck, err, c.ID)
	}
	return stuck[0]
}

// TestResumeApprovedAppliesOnce: a change left approved is applied by
// ResumeApproved, once; resuming it again applies nothing and says who
// approved it.
func TestResumeApprovedAppliesOnce(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	landPatches(r)
	c := stuckChange(t, r)
	if len(r.patches) != 0 {
		t.Fatalf("%d patches before resuming", len(r.patches))
	}
	res, err := r.exec.ResumeApproved(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !res.ApprovedNow || res.Change.Status != StatusApplied || res.Change.Outcome.String() != "Applied: `new-checkout` is now on in `production`." ||
		res.FlagURL != "https://app.launchdarkly.com/web/production/features/new-checkout" {
		t.Errorf("result = %+v", res)
	}
	want := "Requested by ualice (UALICE), approved by ubob (UBOB) via Flagbot; request chg1"
	if len(r.patches) != 1 || r.patches[0].Comment != want {
		t.Errorf("patches = %+v, want one with comment %q", r.patches, want)
	}
	if stored, err := r.changes.Get(t.Context(), wsA, c.ID); err != nil || stored.Status != StatusApplied {
		t.Errorf("stored = %q, %v; want applied", stored.Status, err)
	}
	if stuck, err := r.changes.Reclaimable(t.Context(), t0.Add(time.Hour), time.Hour, 10); err != nil || len(stuck) != 0 {
		t.Errorf("Reclaimable after resuming = %+v, %v; want none", stuck, err)
	}

	// The same (now outdated) listing resumed again: nothing is applied.
	res, err = r.exec.ResumeApproved(t.Context(), c)
	if e := wantKind(t, err, KindConflict); e.Msg.String() != "<@UBOB> already approved this; it was applied." || !errors.Is(err, ErrDecided) {
		t.Errorf("second resume: msg %q, err %v", e.Msg.String(), err)
	}
	if res.Change.Status != StatusApplied || res.ApprovedNow {
		t.Errorf("second resume result = %+v", res)
	}
	if len(r.patches) != 1 {
		t.Errorf("%d patches after resuming twice, want 1", len(r.patches))
	}
}

// TestResumeApprovedAfterALandedPatch: the bot applied the change but
// could not record it (the store went away after LaunchDarkly took the
// write). The approver is told the truth, not "nothing was changed"; once
// the lease runs out, resuming finds the write in LaunchDarkly's audit log
// by its request id and records it as applied, without writing again.
func TestResumeApprovedAfterALandedPatch(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	landPatches(r)
	crashed := NewExecutor(r.ws, r.clients, r.dir, lostFinish{r.changes}, r.policies, nil, Options{
		Now: func() time.Time { return t0 }, NewID: func() string { return "chg-lost" }, FinishTimeout: 50 * time.Millisecond,
	})
	cmd, err := Parse("on new-checkout")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crashed.RequestChange(t.Context(), alice, "C1", cmd, "lost"); err != nil {
		t.Fatal(err)
	}
	_, err = crashed.Approve(t.Context(), bob, "chg-lost")
	e := wantKind(t, err, KindStoreUnavailable)
	if got, want := e.Msg.String(), "LaunchDarkly applied the change, but Flagbot couldn't record that yet: the state store did not answer. It records it by itself once the store is back and updates the request."; got != want {
		t.Errorf("approver told %q, want %q", got, want)
	}
	if len(r.patches) != 1 {
		t.Fatalf("%d patches by the first attempt, want 1", len(r.patches))
	}
	if stuck, err := r.changes.Reclaimable(t.Context(), t0, time.Hour, 10); err != nil || len(stuck) != 0 {
		t.Fatalf("Reclaimable while the lease is live = %+v, %v; want none", stuck, err)
	}
	// The first sweep after the lease ran out resumes it.
	r.mu.Lock()
	r.now = t0.Add(time.Minute)
	r.mu.Unlock()
	stuck, err := r.changes.Reclaimable(t.Context(), t0.Add(time.Minute), time.Hour, 10)
	if err != nil || len(stuck) != 1 || stuck[0].ID != "chg-lost" || stuck[0].Lease.Sent != 1 {
		t.Fatalf("Reclaimable = %+v, %v; want chg-lost, sent by fence 1", stuck, err)
	}
	res, err := r.exec.ResumeApproved(t.Context(), stuck[0])
	if err != nil {
		t.Fatal(err)
	}
	if res.Change.Status != StatusApplied || res.Change.Outcome.String() != "Applied: `new-checkout` is now on in `production`." {
		t.Errorf("result = %+v, want applied", res)
	}
	if len(r.patches) != 1 {
		t.Errorf("%d patches after resuming, want 1: the change was applied twice", len(r.patches))
	}
	if stored, err := r.changes.Get(t.Context(), wsA, "chg-lost"); err != nil || stored.Status != StatusApplied {
		t.Errorf("stored = %q, %v; want applied", stored.Status, err)
	}
}

// TestResumeApprovedNothingSent: the store failed before the intent to
// write was recorded. The approver is told nothing changed yet and that
// Flagbot applies it later; resuming applies it once.
func TestResumeApprovedNothingSent(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	landPatches(r)
	c := r.mustRequest("on new-checkout")
	failing := NewExecutor(r.ws, r.clients, r.dir, renewFails{r.changes}, r.policies, nil, Options{Now: func() time.Time { return t0 }})
	_, err := failing.Approve(t.Context(), bob, c.ID)
	e := wantKind(t, err, KindStoreUnavailable)
	if got, want := e.Msg.String(), "The change is approved, but the state store stopped answering before Flagbot sent it, so nothing has changed in LaunchDarkly yet. Flagbot applies it by itself once the store is back and updates the request."; got != want {
		t.Errorf("approver told %q, want %q", got, want)
	}
	if len(r.patches) != 0 {
		t.Fatalf("%d patches although the intent was never recorded", len(r.patches))
	}
	r.mu.Lock()
	r.now = t0.Add(time.Minute)
	r.mu.Unlock()
	stuck, err := r.changes.Reclaimable(t.Context(), t0.Add(time.Minute), time.Hour, 10)
	if err != nil || len(stuck) != 1 || stuck[0].Lease.Sent != 0 {
		t.Fatalf("Reclaimable = %+v, %v; want the change, never sent", stuck, err)
	}
	res, err := r.exec.ResumeApproved(t.Context(), stuck[0])
	if err != nil || res.Change.Status != StatusApplied || len(r.patches) != 1 {
		t.Errorf("resume = %+v, %v, %d patches; want applied once", res, err, len(r.patches))
	}
}

// renewFails is a change store that fails every lease renewal, as when
// Redis went away right after the approval.
type renewFails struct{ *memChanges }

func (renewFails) Renew(context.Context, Workspace, string, int64, Claim, time.Time, bool) (Lease, error) {
	return Lease{}, errors.New("redis: connection refused")
}

// TestResumeApprovedMovedVersion: a flag changed in LaunchDarkly by
// someone else since the request is marked stale, not applied.
func TestResumeApprovedMovedVersion(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	c := stuckChange(t, r)
	r.bumpEnvVersion("new-checkout", "production")
	res, err := r.exec.ResumeApproved(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Change.Status != StatusStale || !res.ApprovedNow || len(r.patches) != 0 {
		t.Errorf("result = %+v, %d patches; want stale and none", res, len(r.patches))
	}
}

func TestResumeApprovedErrors(t *testing.T) {
	t.Parallel()
	r := newWriteRig(t)
	_, err := r.exec.ResumeApproved(t.Context(), Change{ID: "nope", Workspace: wsA})
	wantKind(t, err, KindNotFound)

	c := r.mustRequest("on new-checkout")
	_, err = r.exec.ResumeApproved(t.Context(), c)
	wantKind(t, err, KindConflict)
	if len(r.patches) != 0 {
		t.Errorf("a pending change was applied: %d patches", len(r.patches))
	}

	r.changes.Err = errors.New("redis down")
	_, err = r.exec.ResumeApproved(t.Context(), c)
	wantKind(t, err, KindStoreUnavailable)
}

// TestApplyWithoutAConnection: an approved change whose workspace
// connection is gone, unreadable or unanswered. A change never sent fails
// truthfully (or, when only the store did not answer, stays approved); a
// change an earlier attempt may have sent is never marked failed, because
// only LaunchDarkly knows whether it landed.
func TestApplyWithoutAConnection(t *testing.T) {
	t.Parallel()
	const sentMsg = "An earlier attempt may already have applied this change, and Flagbot can't check LaunchDarkly because it can't use this workspace's LaunchDarkly connection. After an admin runs `/flag connect`, Flagbot checks and records the outcome by itself."
	disconnect := func(r *writeRig) {
		if err := r.ws.Delete(context.Background(), wsA); err != nil {
			r.t.Fatal(err)
		}
	}
	unreadable := func(r *writeRig) { r.ws.markUnreadable(wsA) }
	storeDown := func(r *writeRig) { r.ws.Err = errors.New("redis: i/o timeout") }
	for _, tc := range []struct {
		name       string
		sent       bool
		breakIt    func(*writeRig)
		wantStatus ChangeStatus
		wantKind   Kind // for a change left approved
		wantMsg    string
	}{
		{"never sent, disconnected", false, disconnect, StatusFailed, 0, "This workspace is no longer connected to LaunchDarkly."},
		{"never sent, unreadable", false, unreadable, StatusFailed, 0, "Flagbot couldn't read this workspace's LaunchDarkly connection."},
		{"never sent, store down", false, storeDown, StatusApproved, KindStoreUnavailable, "The change is approved, but the state store stopped answering before Flagbot could apply it. Flagbot checks LaunchDarkly and applies it by itself once the store is back, and updates the request."},
		{"maybe sent, disconnected", true, disconnect, StatusApproved, KindNotConnected, sentMsg},
		{"maybe sent, unreadable", true, unreadable, StatusApproved, KindUnreadable, sentMsg},
		{"maybe sent, store down", true, storeDown, StatusApproved, KindStoreUnavailable, "The change is approved, but the state store stopped answering before Flagbot could apply it. Flagbot checks LaunchDarkly and applies it by itself once the store is back, and updates the request."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newWriteRig(t)
			c := stuckChange(t, r)
			if tc.sent {
				// The dead attempt recorded its intent before it stopped.
				if _, err := r.changes.Renew(t.Context(), wsA, c.ID, c.Lease.Fence, deadClaim, t0.Add(-45*time.Second), true); err != nil {
					t.Fatal(err)
				}
				stuck, err := r.changes.Reclaimable(t.Context(), t0, time.Hour, 10)
				if err != nil || len(stuck) != 1 || stuck[0].Lease.Sent == 0 {
					t.Fatalf("Reclaimable = %+v, %v; want the change, maybe sent", stuck, err)
				}
				c = stuck[0]
			}
			tc.breakIt(r)
			res, err := r.exec.ResumeApproved(t.Context(), c)
			if tc.wantKind == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if res.Change.Status != tc.wantStatus || res.Change.Outcome.String() != tc.wantMsg {
					t.Errorf("result %q %q, want %q %q", res.Change.Status, res.Change.Outcome.String(), tc.wantStatus, tc.wantMsg)
				}
			} else if e := wantKind(t, err, tc.wantKind); e.Msg.String() != tc.wantMsg {
				t.Errorf("told %q, want %q", e.Msg.String(), tc.wantMsg)
			}
			r.ws.Err = nil
			if stored, err := r.changes.Get(t.Context(), wsA, c.ID); err != nil || stored.Status != tc.wantStatus {
				t.Errorf("stored %q, %v; want %q", stored.Status, err, tc.wantStatus)
			}
			if len(r.patches) != 0 {
				t.Errorf("%d patches sent without a connection", len(r.patches))
			}
		})
	}
}
