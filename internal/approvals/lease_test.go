package approvals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/secret"
)

// TestLeaseClaimRenewFinish walks a change through the lease: the approval
// that completes the count takes fence 1; nobody else may claim it while
// the lease is live; the holder records the send; once the lease ran out
// another attempt takes fence 2 and the first may neither renew nor finish.
func TestLeaseClaimRenewFinish(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		ctx := t.Context()
		a := commands.Claim{Owner: "attempt-a", For: time.Minute}
		b := commands.Claim{Owner: "attempt-b", For: time.Minute}
		mustCreate(t, c, newChange(wsA(), "l1", 1))
		got, now, err := c.Approve(ctx, wsA(), "l1", "bob", at(time.Minute), a, false)
		if err != nil || !now || got.Lease != (commands.Lease{Owner: "attempt-a", Fence: 1, Until: at(2 * time.Minute)}) {
			t.Fatalf("Approve = %+v, %v, %v; want approved with fence 1 until +2m", got.Lease, now, err)
		}
		if _, err := c.Claim(ctx, wsA(), "l1", b, at(90*time.Second), 0); !errors.Is(err, commands.ErrClaimed) {
			t.Errorf("Claim during a live lease = %v, want ErrClaimed", err)
		}
		if got, err := c.Renew(ctx, wsA(), "l1", 1, a, at(90*time.Second), true); err != nil || got != (commands.Lease{Owner: "attempt-a", Fence: 1, Until: at(150 * time.Second), Sent: 1}) {
			t.Fatalf("Renew(sent) = %+v, %v; want fence 1, sent 1, until +2m30s", got, err)
		}
		if got, err := c.Get(ctx, wsA(), "l1"); err != nil || got.Lease != (commands.Lease{Owner: "attempt-a", Fence: 1, Until: at(150 * time.Second), Sent: 1}) {
			t.Fatalf("after Renew(sent), the stored lease = %+v, %v; want what Renew answered", got.Lease, err)
		}
		if r, err := c.Reclaimable(ctx, at(2*time.Minute), time.Hour, 10); err != nil || len(r) != 0 {
			t.Errorf("Reclaimable during the lease = %v, %v; want none", ids(r), err)
		}
		r, err := c.Reclaimable(ctx, at(150*time.Second), time.Hour, 10)
		if err != nil || len(r) != 1 || r[0].Lease.Sent != 1 {
			t.Fatalf("Reclaimable once it ran out = %+v, %v; want l1, sent by fence 1", r, err)
		}
		got, err = c.Claim(ctx, wsA(), "l1", b, at(150*time.Second), 0)
		if err != nil || got.Lease != (commands.Lease{Owner: "attempt-b", Fence: 2, Until: at(210 * time.Second), Sent: 1}) {
			t.Fatalf("Claim after the lease = %+v, %v; want fence 2, sent 1", got.Lease, err)
		}
		if _, err := c.Renew(ctx, wsA(), "l1", 1, a, at(151*time.Second), false); !errors.Is(err, commands.ErrLeaseLost) {
			t.Errorf("old holder's Renew = %v, want ErrLeaseLost", err)
		}
		if _, err := c.Finish(ctx, wsA(), "l1", 1, commands.StatusApplied, commands.Notation("a"), nil, at(151*time.Second)); !errors.Is(err, commands.ErrLeaseLost) {
			t.Errorf("old holder's Finish = %v, want ErrLeaseLost", err)
		}
		if got, err := c.Finish(ctx, wsA(), "l1", 2, commands.StatusApplied, commands.Notation("b"), nil, at(152*time.Second)); err != nil || got.Outcome.String() != "b" {
			t.Fatalf("new holder's Finish = %+v, %v", got, err)
		}
		if _, err := c.Claim(ctx, wsA(), "l1", a, at(time.Hour), 0); !errors.Is(err, commands.ErrDecided) {
			t.Errorf("Claim of a finished change = %v, want ErrDecided", err)
		}
		if _, err := c.Renew(ctx, wsA(), "l1", 2, b, at(time.Hour), false); !errors.Is(err, commands.ErrLeaseLost) {
			t.Errorf("Renew of a finished change = %v, want ErrLeaseLost", err)
		}
	})
}

// TestExactlyOnceTwoSweepers: 200 (50 on miniredis) approved changes whose applying replica
// died, two replicas sweeping with a sweep lock far shorter than the work
// (100 ms, a batch of 20 patches of 10 ms each takes twice that) and a slow
// LaunchDarkly: every change is patched exactly once. Without
// per-change claims the second sweeper, taking the lapsed sweep lock,
// resumed the same changes and patched them again.
func TestExactlyOnceTwoSweepers(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend, s *redisstore.Store) {
		// miniredis runs the Lua in Go, far slower under -race on a busy
		// machine: fewer changes there, the full 200 on a real Redis.
		n := 200
		if b.name == "miniredis" {
			n = 50
		}
		ld := &slowLD{delay: 10 * time.Millisecond, envVersion: map[string]int{}, patches: map[string]int{}}
		start := time.Now()
		first := NewChanges(s, ChangesOptions{})
		for i := range n {
			ch := newChange(wsA(), fmt.Sprintf("x%03d", i), 1)
			ch.Flag, ch.FlagVersion, ch.EnvVersion = fmt.Sprintf("flag-%03d", i), 1, 1
			ch.CreatedAt, ch.ExpiresAt = start.Add(-time.Hour), start.Add(time.Hour)
			mustCreate(t, first, ch)
			// Approved by a replica that died at once: its lease has run out.
			if _, now, err := first.Approve(t.Context(), wsA(), ch.ID, "bob", start.Add(-time.Minute), commands.Claim{Owner: "dead", For: time.Second}, false); err != nil || !now {
				t.Fatalf("Approve: %v", err)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
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
			sw := NewSweeper(store, changes, nil, SweeperOptions{Interval: 5 * time.Millisecond, LockTTL: 100 * time.Millisecond, Batch: 20,
				OnStuck: func(ctx context.Context, stuck []commands.Change) {
					for _, ch := range stuck {
						if _, err := exec.ResumeApproved(ctx, ch); err != nil && commands.KindOf(err) != commands.KindConflict && ctx.Err() == nil {
							t.Errorf("ResumeApproved(%s): %v", ch.ID, err)
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
					// A failed read (a stalled test machine) proves nothing. All
					// due entries are read: with a limit of 1, a first entry
					// that was just finished is dropped from the index and
					// nothing listed, though others still wait.
					if pending, err := first.Reclaimable(ctx, time.Now().Add(time.Hour), 0, n); err == nil && len(pending) == 0 {
						cancel()
					}
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
			got, err := first.Get(t.Context(), wsA(), fmt.Sprintf("x%03d", i))
			if err != nil || got.Status != commands.StatusApplied {
				t.Errorf("x%03d = %s, %v; want applied", i, got.Status, err)
			}
		}
	})
}

// slowLD is a LaunchDarkly whose patches take delay, counted per flag.
// Every flag starts at version 1 in production; a patch moves the
// environment's version and leaves an audit-log entry with its comment.
type slowLD struct {
	commands.LaunchDarkly // nil: any other call panics
	delay                 time.Duration

	mu         sync.Mutex
	envVersion map[string]int
	patches    map[string]int
	audit      []commands.AuditEntry
}

func (l *slowLD) GetFlag(_ context.Context, project, key string, _ ...string) (commands.Flag, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := max(l.envVersion[key], 1)
	return commands.Flag{Key: key, Version: 1, Environments: map[string]commands.FlagEnvironment{"production": {On: l.patches[key] > 0, Version: v}}}, nil
}

func (l *slowLD) PatchFlag(ctx context.Context, project, key string, p commands.Patch) (commands.Flag, error) {
	select {
	case <-time.After(l.delay):
	case <-ctx.Done():
		return commands.Flag{}, ctx.Err()
	}
	l.mu.Lock()
	l.patches[key]++
	l.envVersion[key] = max(l.envVersion[key], 1) + 1
	l.audit = append(l.audit, commands.AuditEntry{Comment: p.Comment, TargetResources: []string{key}})
	l.mu.Unlock()
	return l.GetFlag(ctx, project, key)
}

func (l *slowLD) ListAuditLog(_ context.Context, q commands.AuditQuery) ([]commands.AuditEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []commands.AuditEntry
	for _, e := range l.audit {
		if strings.HasSuffix(q.Spec, ":flag/"+e.TargetResources[0]) {
			out = append(out, e)
		}
	}
	return out, nil
}

// oneWorkspace connects every workspace with a writer token.
type oneWorkspace struct{}

func (oneWorkspace) Get(context.Context, commands.Workspace) (commands.Connection, error) {
	return commands.Connection{Token: "api-test", Role: commands.RoleWriter}, nil
}
func (oneWorkspace) Put(context.Context, commands.Workspace, commands.Connection) error { return nil }
func (oneWorkspace) Delete(context.Context, commands.Workspace) error                   { return nil }
func (oneWorkspace) Update(context.Context, commands.Workspace, func(*commands.Connection) error) error {
	return nil
}

// nobody is a Slack directory that knows no one.
type nobody struct{}

func (nobody) IsAdmin(context.Context, commands.Actor) (bool, error) { return false, nil }
func (nobody) DisplayName(_ context.Context, _ commands.Workspace, id string) (string, error) {
	return id, nil
}
func (nobody) GroupMembers(context.Context, commands.Workspace, string) ([]string, error) {
	return nil, nil
}
