package approvals

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/secret"
)

// The state behind undo, the kill switch, scheduled changes and reminders,
// against the embedded and the real Redis.

// TestScheduledLifecycle: a change with ApplyAt is approved into the
// scheduled state (no lease), listed by the workspace and, once due, by
// DueScheduled; exactly one ClaimScheduled wins and the change is then
// approved under a lease like any other; Unschedule cancels only a
// scheduled change.
func TestScheduledLifecycle(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		for _, id := range []string{"s1", "s2"} {
			ch := newChange(wsA(), id, 1)
			ch.ApplyAt = at(2 * time.Hour)
			mustCreate(t, c, ch)
		}
		got, now, err := c.Approve(ctx, wsA(), "s1", "bob", at(time.Minute), commands.Claim{Owner: "a", For: time.Minute}, false)
		if err != nil || !now || got.Status != commands.StatusScheduled || got.Lease.Owner != "" {
			t.Fatalf("Approve = %s lease %+v, %v, %v; want scheduled without a lease", got.Status, got.Lease, now, err)
		}
		if !got.ApplyAt.Equal(at(2 * time.Hour)) {
			t.Errorf("ApplyAt = %v", got.ApplyAt)
		}
		if _, _, err := c.Approve(ctx, wsA(), "s2", "bob", at(time.Minute), commands.Claim{}, false); err != nil {
			t.Fatal(err)
		}
		if p, err := c.Pending(ctx, wsA()); err != nil || len(p) != 0 {
			t.Errorf("Pending = %v, %v; want none", ids(p), err)
		}
		if l, err := c.Scheduled(ctx, wsA()); err != nil || !reflect.DeepEqual(ids(l), []string{"s1", "s2"}) {
			t.Errorf("Scheduled = %v, %v", ids(l), err)
		}
		if due, err := c.DueScheduled(ctx, at(time.Hour), 10); err != nil || len(due) != 0 {
			t.Errorf("DueScheduled before the time = %v, %v", ids(due), err)
		}
		claim := commands.Claim{Owner: "x", For: time.Minute}
		if _, err := c.ClaimScheduled(ctx, wsA(), "s1", claim, at(time.Hour)); !errors.Is(err, commands.ErrNotDue) {
			t.Errorf("early ClaimScheduled = %v, want ErrNotDue", err)
		}
		if r, err := c.Reclaimable(ctx, at(3*time.Hour), 0, 10); err != nil || len(r) != 0 {
			t.Errorf("Reclaimable = %v, %v; scheduled changes are not stuck", ids(r), err)
		}
		due, err := c.DueScheduled(ctx, at(2*time.Hour), 10)
		if err != nil || !reflect.DeepEqual(ids(due), []string{"s1", "s2"}) {
			t.Fatalf("DueScheduled = %v, %v", ids(due), err)
		}
		got, err = c.ClaimScheduled(ctx, wsA(), "s1", claim, at(2*time.Hour))
		if err != nil || got.Status != commands.StatusApproved || got.Lease.Owner != "x" || got.Lease.Fence != 1 {
			t.Fatalf("ClaimScheduled = %s %+v, %v; want approved under fence 1", got.Status, got.Lease, err)
		}
		if _, err := replicaChanges(t, s).ClaimScheduled(ctx, wsA(), "s1", commands.Claim{Owner: "y", For: time.Minute}, at(2*time.Hour)); !errors.Is(err, commands.ErrDecided) {
			t.Errorf("second ClaimScheduled = %v, want ErrDecided", err)
		}
		if _, err := c.Unschedule(ctx, wsA(), "s1", "carol", at(2*time.Hour)); !errors.Is(err, commands.ErrDecided) {
			t.Errorf("Unschedule of a claimed change = %v, want ErrDecided", err)
		}
		fin, err := c.Finish(ctx, wsA(), "s1", 1, commands.StatusMissed, commands.Notation("too late"), nil, at(2*time.Hour))
		if err != nil || fin.Status != commands.StatusMissed {
			t.Fatalf("Finish(missed) = %s, %v", fin.Status, err)
		}
		un, err := c.Unschedule(ctx, wsA(), "s2", "carol", at(90*time.Minute))
		if err != nil || un.Status != commands.StatusCancelled || un.DecidedBy != "carol" {
			t.Fatalf("Unschedule = %s by %q, %v", un.Status, un.DecidedBy, err)
		}
		if l, err := c.Scheduled(ctx, wsA()); err != nil || len(l) != 0 {
			t.Errorf("Scheduled afterwards = %v, %v; want none", ids(l), err)
		}
		if due, err := c.DueScheduled(ctx, at(3*time.Hour), 10); err != nil || len(due) != 0 {
			t.Errorf("DueScheduled afterwards = %v, %v; want none", ids(due), err)
		}
		if h, err := c.History(ctx, wsA(), "", 0); err != nil || !reflect.DeepEqual(ids(h), []string{"s2", "s1"}) {
			t.Errorf("History = %v, %v", ids(h), err)
		}
	})
}

func replicaChanges(t *testing.T, s *redisstore.Store) *Changes {
	t.Helper()
	return NewChanges(replica(t, s), ChangesOptions{})
}

// TestCreateApproved: a change that needs no approval is stored approved
// with the caller's lease (resumed like any other if the caller dies), or
// scheduled when it has a time; a redelivery returns the first.
func TestCreateApproved(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		ch := newChange(wsA(), "e1", 0)
		ch.RequiredApprovals, ch.Exempt = 0, true
		got, created, err := c.CreateApproved(ctx, ch, "env-e1", commands.Claim{Owner: "me", For: time.Minute})
		if err != nil || !created || got.Status != commands.StatusApproved || got.Lease.Fence != 1 || got.Lease.Owner != "me" || got.DecidedBy != "alice" || !got.Exempt {
			t.Fatalf("CreateApproved = %+v, %v, %v", got, created, err)
		}
		if again, created, err := c.CreateApproved(ctx, ch, "env-e1", commands.Claim{Owner: "other", For: time.Minute}); err != nil || created || again.Lease.Owner != "me" {
			t.Errorf("redelivered CreateApproved = %+v, %v, %v; want the first", again.Lease, created, err)
		}
		if r, err := c.Reclaimable(ctx, at(2*time.Minute), time.Hour, 10); err != nil || !reflect.DeepEqual(ids(r), []string{"e1"}) {
			t.Errorf("Reclaimable once the lease ran out = %v, %v", ids(r), err)
		}
		sc := newChange(wsA(), "e2", 0)
		sc.RequiredApprovals, sc.ApplyAt = 0, at(time.Hour)
		got, _, err = c.CreateApproved(ctx, sc, "", commands.Claim{})
		if err != nil || got.Status != commands.StatusScheduled || got.Lease.Owner != "" {
			t.Fatalf("scheduled CreateApproved = %s %+v, %v", got.Status, got.Lease, err)
		}
		if _, _, err := c.CreateApproved(ctx, newChange(wsA(), "e3", 0), "", commands.Claim{}); !errors.Is(err, ErrInvalidChange) {
			t.Errorf("CreateApproved without a claim = %v, want ErrInvalidChange", err)
		}
		far := newChange(wsA(), "e4", 0)
		far.ApplyAt = at(MaxScheduleAhead + time.Hour)
		if _, _, err := c.CreateApproved(ctx, far, "", commands.Claim{}); !errors.Is(err, ErrInvalidChange) {
			t.Errorf("CreateApproved beyond the horizon = %v, want ErrInvalidChange", err)
		}
	})
}

// TestUndoPlanAndLink: Finish records the undo plan; LinkUndo is a compare
// and set, so two undo requests filed at once cannot both be linked.
func TestUndoPlanAndLink(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		mustCreate(t, c, newChange(wsA(), "u1", 1))
		if _, _, err := c.Approve(ctx, wsA(), "u1", "bob", at(time.Minute), commands.Claim{}, false); err != nil {
			t.Fatal(err)
		}
		plan := &commands.UndoPlan{Kind: commands.ChangeRollout, Weights: map[string]int{"v-a": 100000}, RolloutContextKind: "org",
			Contexts: []commands.ContextRef{{Kind: "user", Key: "ana"}}, FlagVersion: 42, EnvVersion: 8}
		got, err := c.Finish(ctx, wsA(), "u1", 0, commands.StatusApplied, commands.Notation("done"), plan, at(2*time.Minute))
		if err != nil || !reflect.DeepEqual(got.Undo, plan) {
			t.Fatalf("Finish = undo %+v, %v; want %+v", got.Undo, err, plan)
		}
		if got, _ := c.Get(ctx, wsA(), "u1"); !reflect.DeepEqual(got.Undo, plan) || got.UndoneBy != "" {
			t.Errorf("Get = undo %+v, link %q", got.Undo, got.UndoneBy)
		}
		if got, err := c.LinkUndo(ctx, wsA(), "u1", "", "undo-1"); err != nil || got.UndoneBy != "undo-1" {
			t.Fatalf("LinkUndo = %q, %v", got.UndoneBy, err)
		}
		if _, err := c.LinkUndo(ctx, wsA(), "u1", "", "undo-1"); err != nil {
			t.Errorf("resent LinkUndo = %v, want success", err)
		}
		if got, err := c.LinkUndo(ctx, wsA(), "u1", "", "undo-2"); !errors.Is(err, commands.ErrUndoLinked) || got.UndoneBy != "undo-1" {
			t.Errorf("stale LinkUndo = %q, %v; want ErrUndoLinked and undo-1", got.UndoneBy, err)
		}
		if got, err := c.LinkUndo(ctx, wsA(), "u1", "undo-1", "undo-2"); err != nil || got.UndoneBy != "undo-2" {
			t.Errorf("LinkUndo replacing undo-1 = %q, %v", got.UndoneBy, err)
		}
		if _, err := c.LinkUndo(ctx, wsA(), "nope", "", "undo-1"); !errors.Is(err, commands.ErrChangeNotFound) {
			t.Errorf("LinkUndo of an unknown change = %v", err)
		}
		// Concurrent undo requests: exactly one link wins.
		var wg sync.WaitGroup
		wins := make(chan string, 10)
		for i := range 10 {
			store := c
			if i%2 == 1 {
				store = replicaChanges(t, s)
			}
			wg.Go(func() {
				if _, err := store.LinkUndo(context.Background(), wsA(), "u1", "undo-2", fmt.Sprintf("race-%d", i)); err == nil {
					wins <- fmt.Sprint(i)
				}
			})
		}
		wg.Wait()
		close(wins)
		if n := len(wins); n != 1 {
			t.Errorf("%d concurrent links won, want 1", n)
		}
	})
}

// TestSignoffStages: an applied emergency change waits for a sign-off: the
// sign-off index hands out its reminder at half time and its deadline once,
// each exactly once; Overdue lists it until someone other than the person
// who made it signs it off.
func TestSignoffStages(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		k := newChange(wsA(), "k1", 0)
		k.Kind, k.RequiredApprovals, k.Emergency, k.SignoffDue = commands.ChangeKill, 0, true, at(24*time.Hour)
		if _, _, err := c.CreateApproved(ctx, k, "", commands.Claim{Owner: "me", For: time.Minute}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SignOff(ctx, wsA(), "k1", "bob", at(time.Minute)); !errors.Is(err, commands.ErrNoSignoff) {
			t.Errorf("SignOff before it applied = %v, want ErrNoSignoff", err)
		}
		got, err := c.Finish(ctx, wsA(), "k1", 1, commands.StatusApplied, commands.Notation("killed"), nil, at(time.Minute))
		if err != nil || !got.NeedsSignoff() || got.Signoff != commands.SignoffWaiting {
			t.Fatalf("Finish = %+v, %v; want waiting for a sign-off", got, err)
		}
		if d, err := c.SignoffDue(ctx, at(11*time.Hour), 10); err != nil || len(d) != 0 {
			t.Errorf("SignoffDue before half time = %v, %v", ids(d), err)
		}
		d, err := replicaChanges(t, s).SignoffDue(ctx, at(12*time.Hour), 10)
		if err != nil || len(d) != 1 || d[0].Signoff != commands.SignoffReminded {
			t.Fatalf("SignoffDue at half time = %+v, %v; want k1 reminded", d, err)
		}
		if d, _ := c.SignoffDue(ctx, at(13*time.Hour), 10); len(d) != 0 {
			t.Errorf("the reminder was handed out twice: %v", ids(d))
		}
		if o, err := c.Overdue(ctx, wsA(), at(23*time.Hour)); err != nil || len(o) != 0 {
			t.Errorf("Overdue before the deadline = %v, %v", ids(o), err)
		}
		d, err = c.SignoffDue(ctx, at(24*time.Hour), 10)
		if err != nil || len(d) != 1 || d[0].Signoff != commands.SignoffOverdue {
			t.Fatalf("SignoffDue at the deadline = %+v, %v; want k1 overdue", d, err)
		}
		if d, _ := c.SignoffDue(ctx, at(48*time.Hour), 10); len(d) != 0 {
			t.Errorf("the deadline was handed out twice: %v", ids(d))
		}
		if o, err := c.Overdue(ctx, wsA(), at(25*time.Hour)); err != nil || !reflect.DeepEqual(ids(o), []string{"k1"}) {
			t.Errorf("Overdue = %v, %v", ids(o), err)
		}
		if _, err := c.SignOff(ctx, wsA(), "k1", "alice", at(25*time.Hour)); !errors.Is(err, commands.ErrSelfApproval) {
			t.Errorf("self sign-off = %v, want ErrSelfApproval", err)
		}
		got, err = c.SignOff(ctx, wsA(), "k1", "bob", at(25*time.Hour))
		if err != nil || got.SignedOffBy != "bob" || !got.SignedOffAt.Equal(at(25*time.Hour)) || got.NeedsSignoff() {
			t.Fatalf("SignOff = %+v, %v", got, err)
		}
		if got, err := c.SignOff(ctx, wsA(), "k1", "carol", at(26*time.Hour)); !errors.Is(err, commands.ErrNoSignoff) || got.SignedOffBy != "bob" {
			t.Errorf("second SignOff = %q, %v; want ErrNoSignoff naming bob", got.SignedOffBy, err)
		}
		if o, err := c.Overdue(ctx, wsA(), at(27*time.Hour)); err != nil || len(o) != 0 {
			t.Errorf("Overdue after the sign-off = %v, %v", ids(o), err)
		}
		// A kill that found the flag moved (stale) needs no sign-off.
		k2 := k
		k2.ID = "k2"
		if _, _, err := c.CreateApproved(ctx, k2, "", commands.Claim{Owner: "me", For: time.Minute}); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Finish(ctx, wsA(), "k2", 1, commands.StatusStale, commands.Notation("moved"), nil, at(time.Minute)); err != nil || got.NeedsSignoff() {
			t.Errorf("stale kill = %+v, %v; want no sign-off", got, err)
		}
		if d, _ := c.SignoffDue(ctx, at(100*time.Hour), 10); len(d) != 0 {
			t.Errorf("SignoffDue lists a stale kill: %v", ids(d))
		}
	})
}

// TestRemindDue: a pending change is handed to the reminder once, halfway
// to its expiry, unless it was decided before.
func TestRemindDue(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		for _, id := range []string{"r1", "r2", "r3"} {
			mustCreate(t, c, newChange(wsA(), id, 1))
		}
		if _, err := c.Reject(ctx, wsA(), "r2", "bob", at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Approve(ctx, wsA(), "r3", "bob", at(time.Minute), commands.Claim{}, false); err != nil {
			t.Fatal(err)
		}
		if d, err := c.RemindDue(ctx, at(testTTL/2-time.Second), 10); err != nil || len(d) != 0 {
			t.Errorf("RemindDue early = %v, %v", ids(d), err)
		}
		d, err := replicaChanges(t, s).RemindDue(ctx, at(testTTL/2), 10)
		if err != nil || !reflect.DeepEqual(ids(d), []string{"r1"}) {
			t.Fatalf("RemindDue = %v, %v; want r1 only", ids(d), err)
		}
		if d, _ := c.RemindDue(ctx, at(testTTL), 10); len(d) != 0 {
			t.Errorf("reminded twice: %v", ids(d))
		}
		if n := do(t, s, "ZCARD", s.Key(c.wsKey(wsA(), idxRemind))); n != int64(0) {
			t.Errorf("the reminder index holds %v entries, want 0", n)
		}
	})
}

// TestSetDMs: the approvers' direct messages are kept with the change and
// come back with every state the change returns.
func TestSetDMs(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		mustCreate(t, c, newChange(wsA(), "d1", 1))
		dms := []commands.PostRef{{Channel: "D1", TS: "1.1"}, {Channel: "D2", TS: "1.2"}}
		if err := c.SetDMs(ctx, wsA(), "d1", dms); err != nil {
			t.Fatal(err)
		}
		got, _, err := c.Approve(ctx, wsA(), "d1", "bob", at(time.Minute), commands.Claim{}, false)
		if err != nil || !reflect.DeepEqual(got.DMs, dms) {
			t.Errorf("Approve = DMs %+v, %v", got.DMs, err)
		}
		if err := c.SetDMs(ctx, wsA(), "nope", dms); !errors.Is(err, commands.ErrChangeNotFound) {
			t.Errorf("SetDMs of an unknown change = %v", err)
		}
	})
}

// TestScheduledExactlyOnceTwoReplicas: 40 scheduled changes come due
// while two replicas sweep with a sweep lock far shorter than the work and
// a slow LaunchDarkly: each is patched exactly once. It does not run in
// parallel with the other tests: two tight sweep loops per backend under
// -race on two cores starve the embedded Redis of the other heavy test,
// TestExactlyOnceTwoSweepers.
func TestScheduledExactlyOnceTwoReplicas(t *testing.T) {
	const n = 40
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		ld := &slowLD{delay: 5 * time.Millisecond, envVersion: map[string]int{}, patches: map[string]int{}}
		start := time.Now()
		first := NewChanges(s, ChangesOptions{})
		for i := range n {
			ch := newChange(wsA(), fmt.Sprintf("t%03d", i), 1)
			ch.Flag, ch.FlagVersion, ch.EnvVersion = fmt.Sprintf("flag-%03d", i), 1, 1
			ch.CreatedAt, ch.ExpiresAt, ch.ApplyAt = start.Add(-time.Hour), start.Add(-time.Second), start.Add(-time.Second)
			mustCreate(t, first, ch)
			if got, now, err := first.Approve(t.Context(), wsA(), ch.ID, "bob", start.Add(-time.Minute), commands.Claim{Owner: "x", For: time.Second}, false); err != nil || !now || got.Status != commands.StatusScheduled {
				t.Fatalf("Approve = %s, %v", got.Status, err)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for r := range 2 {
			store := s
			if r == 1 {
				store = replica(t, s)
			}
			changes := NewChanges(store, ChangesOptions{})
			exec := commands.NewExecutor(oneWorkspace{}, func(secret.Secret) commands.LaunchDarkly { return ld }, nobody{}, changes, NewPolicies(store), nil,
				commands.Options{ApplyLease: 300 * time.Millisecond})
			sw := NewSweeper(store, changes, nil, SweeperOptions{Interval: 5 * time.Millisecond, LockTTL: 50 * time.Millisecond, Batch: 20,
				OnStuck: func(ctx context.Context, stuck []commands.Change) {
					for _, ch := range stuck {
						_, _ = exec.ResumeApproved(ctx, ch)
					}
				},
				OnScheduled: func(ctx context.Context, due []commands.Change) {
					for _, ch := range due {
						if _, err := exec.ApplyScheduled(ctx, ch); err != nil && commands.KindOf(err) != commands.KindConflict && ctx.Err() == nil {
							t.Errorf("ApplyScheduled(%s): %v", ch.ID, err)
						}
					}
				}})
			wg.Go(func() {
				for ctx.Err() == nil {
					if _, err := sw.Sweep(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
						if !stalled(err) {
							t.Errorf("Sweep: %v", err)
						}
						t.Logf("Sweep (retried by the next one): %v", err)
					}
					// Done when both lists are empty; a failed read (a
					// stalled test machine) proves nothing. All due entries
					// are read: with a limit of 1, a first entry that a
					// sweeper claimed or finished in between is dropped and
					// nothing listed, though others still wait.
					due, err1 := first.DueScheduled(ctx, time.Now(), n)
					stuck, err2 := first.Reclaimable(ctx, time.Now().Add(time.Hour), 0, n)
					if err1 == nil && err2 == nil && len(due) == 0 && len(stuck) == 0 {
						cancel()
					}
					time.Sleep(2 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		ld.mu.Lock()
		defer ld.mu.Unlock()
		for i := range n {
			if got := ld.patches[fmt.Sprintf("flag-%03d", i)]; got != 1 {
				t.Errorf("flag-%03d patched %d times, want exactly 1", i, got)
			}
		}
		for i := range n {
			got, err := first.Get(t.Context(), wsA(), fmt.Sprintf("t%03d", i))
			if err != nil || got.Status != commands.StatusApplied {
				t.Errorf("t%03d = %s, %v; want applied", i, got.Status, err)
			}
		}
	})
}
