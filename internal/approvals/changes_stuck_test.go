package approvals

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// approveAt creates change id in ws needing one approval and approves it as
// bob at when.
func approveAt(t *testing.T, c *Changes, ws commands.Workspace, id string, when time.Time) {
	t.Helper()
	mustCreate(t, c, newChange(ws, id, 1))
	if _, now, err := c.Approve(t.Context(), ws, id, "bob", when, commands.Claim{}, false); err != nil || !now {
		t.Fatalf("Approve(%s) = now %v, %v; want approved now", id, now, err)
	}
}

// applyingMembers returns the members of the applying indexes of wsA and
// wsB.
func applyingMembers(t *testing.T, c *Changes) []string {
	t.Helper()
	var out []string
	for _, ws := range []commands.Workspace{wsA(), wsB()} {
		out = append(out, members(t, do(t, c.store, "ZRANGE", c.store.Key(c.wsKey(ws, idxApplying)), 0, -1))...)
	}
	return out
}

// TestChangeReclaimable: an approved change that was never finished is
// listed once its approval is older than the cutoff (to the nanosecond),
// oldest first, across workspaces, until Finish records its outcome.
func TestChangeReclaimable(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		first := at(time.Minute + 250*time.Microsecond) // mid-millisecond
		approveAt(t, c, wsA(), "s1", first)
		// Two approvals: stuck from the second, which completed the count.
		mustCreate(t, c, newChange(wsB(), "s2", 2))
		if _, now, err := c.Approve(ctx, wsB(), "s2", "bob", at(time.Second), commands.Claim{}, false); err != nil || now {
			t.Fatalf("first of two approvals: now %v, %v", now, err)
		}
		if _, now, err := c.Approve(ctx, wsB(), "s2", "carol", at(3*time.Minute), commands.Claim{}, false); err != nil || !now {
			t.Fatalf("completing approval: now %v, %v", now, err)
		}
		mustCreate(t, c, newChange(wsA(), "pending", 2))
		if _, _, err := c.Approve(ctx, wsA(), "pending", "bob", at(time.Second), commands.Claim{}, false); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, c, newChange(wsA(), "rejected", 1))
		if _, err := c.Reject(ctx, wsA(), "rejected", "bob", at(time.Second)); err != nil {
			t.Fatal(err)
		}

		stuck := func(before time.Time, limit int) []string {
			t.Helper()
			got, err := c.Reclaimable(ctx, before, 0, limit)
			if err != nil {
				t.Fatalf("Reclaimable(%v, %d): %v", before, limit, err)
			}
			for _, ch := range got {
				if ch.Status != commands.StatusApproved || ch.Flag != "checkout" || ch.Patch == nil {
					t.Errorf("stuck change %s came back as status %q flag %q", ch.ID, ch.Status, ch.Flag)
				}
			}
			return ids(got)
		}
		for _, tc := range []struct {
			name   string
			before time.Time
			limit  int
			want   []string
		}{
			{"before any approval", at(time.Second), 10, nil},
			{"at the approval instant", first, 10, nil},
			{"a nanosecond later", first.Add(time.Nanosecond), 10, []string{"s1"}},
			{"at the second approval", at(3 * time.Minute), 10, []string{"s1"}},
			{"after both", at(time.Hour), 10, []string{"s1", "s2"}},
			{"limit 1", at(time.Hour), 1, []string{"s1"}},
			{"limit 0 means the default", at(time.Hour), 0, []string{"s1", "s2"}},
		} {
			if got := stuck(tc.before, tc.limit); !slices.Equal(got, tc.want) {
				t.Errorf("%s: Reclaimable = %q, want %q", tc.name, got, tc.want)
			}
		}
		got, err := c.Reclaimable(ctx, at(time.Hour), 0, 10)
		if err != nil || len(got) != 2 || got[1].Workspace != wsB() || len(got[1].Approvals) != 2 || !got[0].Approvals[0].At.Equal(first) {
			t.Errorf("Reclaimable = %+v, %v; want s1 (approved at %v) and s2 of workspace B with two approvals", got, err, first)
		}
		// Listing changes nothing: the same changes come back.
		if again := stuck(at(time.Hour), 10); !slices.Equal(again, []string{"s1", "s2"}) {
			t.Errorf("second Reclaimable = %q, want [s1 s2]", again)
		}

		if _, err := c.Finish(ctx, wsA(), "s1", 0, commands.StatusApplied, commands.Notation("applied"), nil, at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Finish itself takes it out of the index, not the next listing.
		if m := applyingMembers(t, c); !slices.Equal(m, []string{s.Key(c.changeKey(wsB(), "s2"))}) {
			t.Errorf("applying index after Finish(s1) = %q, want only s2", m)
		}
		if got := stuck(at(time.Hour), 10); !slices.Equal(got, []string{"s2"}) {
			t.Errorf("after Finish(s1): Reclaimable = %q, want [s2]", got)
		}

		// A change whose key is gone (its retention ran out) is dropped
		// from the index.
		if err := s.Del(ctx, c.changeKey(wsB(), "s2")); err != nil {
			t.Fatal(err)
		}
		if got := stuck(at(time.Hour), 10); len(got) != 0 {
			t.Errorf("Reclaimable after s2's key went = %q, want none", got)
		}
		if m := applyingMembers(t, c); len(m) != 0 {
			t.Errorf("applying index = %q, want empty", m)
		}
	})
}

// TestReclaimableAfterLostReplies: an approval or finish whose reply was
// lost and that go-redis sent again still leaves the index right: listed
// once after the approval, gone after the finish.
func TestReclaimableAfterLostReplies(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c, p := lossyChanges(t, s)
		ctx := t.Context()
		mustCreate(t, c, newChange(wsA(), "lost", 1))
		p.dropNextReply()
		if _, now, err := c.Approve(ctx, wsA(), "lost", "bob", at(time.Minute), commands.Claim{}, false); err != nil || !now {
			t.Fatalf("Approve after a lost reply = now %v, %v", now, err)
		}
		if n := p.cut.Swap(0); n != 1 {
			t.Fatalf("the proxy cut %d replies, want 1", n)
		}
		if got, err := c.Reclaimable(ctx, at(time.Hour), 0, 10); err != nil || !slices.Equal(ids(got), []string{"lost"}) {
			t.Errorf("Reclaimable = %q, %v; want [lost] once", ids(got), err)
		}
		p.dropNextReply()
		if _, err := c.Finish(ctx, wsA(), "lost", 0, commands.StatusApplied, commands.Notation("applied"), nil, at(time.Hour)); err != nil {
			t.Fatalf("Finish after a lost reply: %v", err)
		}
		if n := p.cut.Swap(0); n != 1 {
			t.Fatalf("the proxy cut %d replies, want 1", n)
		}
		if m := applyingMembers(t, c); len(m) != 0 {
			t.Errorf("applying index after Finish = %q, want empty", m)
		}
		if got, err := c.Reclaimable(ctx, at(time.Hour), 0, 10); err != nil || len(got) != 0 {
			t.Errorf("Reclaimable after Finish = %q, %v; want none", ids(got), err)
		}
	})
}

// stuckLog records each OnStuck call.
type stuckLog struct {
	mu    sync.Mutex
	calls [][]string
}

func (l *stuckLog) onStuck(_ context.Context, cs []commands.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, ids(cs))
}

func (l *stuckLog) take() [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.calls
	l.calls = nil
	return out
}

// TestSweeperHandsStuckChanges: each sweep, under the lock, hands the
// changes approved more than StuckAfter ago and never finished to OnStuck,
// once, until they are finished.
func TestSweeperHandsStuckChanges(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		ctx := t.Context()
		c := NewChanges(s, ChangesOptions{})
		approved := at(time.Minute)
		approveAt(t, c, wsA(), "st1", approved)
		approveAt(t, c, wsB(), "st2", approved.Add(time.Second))
		due := createDue(t, c, wsA(), "x", 2) // expire at testTTL, during the sweeps below
		var (
			mu  sync.Mutex
			now time.Time
		)
		setNow := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		stuck := &stuckLog{}
		expired := newExpiredLog()
		sw := NewSweeper(s, c, redistest.Logger(t), SweeperOptions{Now: clock, OnStuck: stuck.onStuck, OnExpired: expired.onExpired})
		sweep := func(desc string) {
			t.Helper()
			if _, err := sw.Sweep(ctx); err != nil {
				t.Fatalf("%s: Sweep: %v", desc, err)
			}
		}

		setNow(approved.Add(DefaultStuckAfter))
		sweep("at StuckAfter")
		if calls := stuck.take(); len(calls) != 0 {
			t.Errorf("OnStuck at exactly StuckAfter: %q, want no call", calls)
		}
		setNow(approved.Add(DefaultStuckAfter + time.Millisecond))
		sweep("just past StuckAfter for st1")
		if calls := stuck.take(); !slices.EqualFunc(calls, [][]string{{"st1"}}, slices.Equal) {
			t.Errorf("OnStuck calls = %q, want one with [st1]", calls)
		}
		setNow(at(testTTL + time.Second))
		for i := range 2 {
			sweep("later")
			if calls := stuck.take(); !slices.EqualFunc(calls, [][]string{{"st1", "st2"}}, slices.Equal) {
				t.Errorf("sweep %d: OnStuck calls = %q, want one with [st1 st2]", i, calls)
			}
		}
		if got := expired.counts(); len(got) != len(due) {
			t.Errorf("OnExpired saw %v, want %q: expiring still works", got, due)
		}

		// Under another replica's lock nothing is handed.
		if err := s.Set(ctx, sw.lockKey, []byte("someone-else"), time.Minute); err != nil {
			t.Fatal(err)
		}
		sweep("under another's lock")
		if calls := stuck.take(); len(calls) != 0 {
			t.Errorf("OnStuck under another's lock: %q", calls)
		}
		if err := s.Del(ctx, sw.lockKey); err != nil {
			t.Fatal(err)
		}

		for _, f := range []struct {
			ws commands.Workspace
			id string
		}{{wsA(), "st1"}, {wsB(), "st2"}} {
			if _, err := c.Finish(ctx, f.ws, f.id, 0, commands.StatusStale, commands.Notation("moved"), nil, at(testTTL)); err != nil {
				t.Fatal(err)
			}
		}
		sweep("after Finish")
		if calls := stuck.take(); len(calls) != 0 {
			t.Errorf("OnStuck after both finished: %q, want no call", calls)
		}
	})
}

// TestSweeperStuckAfterOption: a shorter StuckAfter hands changes sooner;
// Batch bounds each call.
func TestSweeperStuckAfterOption(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		for i, id := range []string{"o1", "o2", "o3"} {
			approveAt(t, c, wsA(), id, at(time.Minute+time.Duration(i)*time.Second))
		}
		stuck := &stuckLog{}
		sw := NewSweeper(s, c, redistest.Logger(t), SweeperOptions{
			Now: func() time.Time { return at(3 * time.Minute) }, StuckAfter: time.Minute, Batch: 2, OnStuck: stuck.onStuck,
		})
		if _, err := sw.Sweep(t.Context()); err != nil {
			t.Fatal(err)
		}
		if calls := stuck.take(); !slices.EqualFunc(calls, [][]string{{"o1", "o2"}}, slices.Equal) {
			t.Errorf("OnStuck calls = %q, want one with the oldest two [o1 o2]", calls)
		}
	})
}
