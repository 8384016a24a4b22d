package approvals

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// spreadWorkspaces returns n workspaces whose keys live on n different
// nodes of a cluster (each master of a three-master cluster, for n = 3),
// or n workspaces of the one server; the test fails when the cluster has
// fewer masters. Every key of one workspace, in or out of an Enterprise
// Grid org, is on its workspace's node.
func spreadWorkspaces(t *testing.T, s *redisstore.Store, n int) []commands.Workspace {
	t.Helper()
	var out []commands.Workspace
	seen := map[string]bool{}
	for i := 0; len(out) < n && i < 1000; i++ {
		ws := commands.Workspace{TeamID: fmt.Sprintf("T0SPREAD%d", i)}
		node := redistest.NodeOf(t, s, s.Key(redisstore.WorkspaceKey(ws.TeamID, "", "pending")))
		if s.Cluster() && seen[node] {
			continue
		}
		seen[node] = true
		for _, k := range []string{
			redisstore.WorkspaceKey(ws.TeamID, "", "change", "x"),
			redisstore.WorkspaceKey(ws.TeamID, "E0SPREAD", "applying"),
			redisstore.WorkspaceKey(ws.TeamID, "E0SPREAD", "change", "y"),
		} {
			if got := redistest.NodeOf(t, s, s.Key(k)); got != node {
				t.Fatalf("%s is on %s, its workspace on %s", k, got, node)
			}
		}
		out = append(out, ws)
	}
	if len(out) < n {
		t.Fatalf("found workspaces on %d nodes, want %d: is this a three-master cluster?", len(out), n)
	}
	t.Logf("workspaces on nodes %v", slices.Sorted(func(yield func(string) bool) {
		for k := range seen {
			if !yield(k) {
				return
			}
		}
	}))
	return out
}

// TestSweepsAcrossMasters: on a three-master cluster, with workspaces on
// every master, two replicas' sweepers find every kind of due work of
// every workspace (expired, stuck, scheduled, reminders, sign-offs), each
// change of the kinds handed out once exactly once; on one server the
// same holds trivially.
func TestSweepsAcrossMasters(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		ctx := t.Context()
		wss := spreadWorkspaces(t, s, 3)
		c := NewChanges(s, ChangesOptions{})
		want := map[string][]string{}
		for i, ws := range wss {
			id := func(kind string) string { return fmt.Sprintf("%s%d", kind, i) }
			// Expired by the sweep.
			mustCreate(t, c, newChange(ws, id("exp"), 1))
			want["expired"] = append(want["expired"], id("exp"))
			// Halfway to its expiry: reminded.
			rem := newChange(ws, id("rem"), 1)
			rem.ExpiresAt = at(3 * testTTL)
			mustCreate(t, c, rem)
			want["remind"] = append(want["remind"], id("rem"))
			// Approved by a replica that died: stuck.
			mustCreate(t, c, newChange(ws, id("stk"), 1))
			if _, now, err := c.Approve(ctx, ws, id("stk"), "bob", at(time.Minute), commands.Claim{Owner: "dead", For: time.Second}, false); err != nil || !now {
				t.Fatalf("Approve: %v", err)
			}
			want["stuck"] = append(want["stuck"], id("stk"))
			// Scheduled, due.
			sch := newChange(ws, id("sch"), 1)
			sch.ApplyAt = at(30 * time.Minute)
			mustCreate(t, c, sch)
			if _, _, err := c.Approve(ctx, ws, id("sch"), "bob", at(time.Minute), commands.Claim{}, false); err != nil {
				t.Fatal(err)
			}
			want["scheduled"] = append(want["scheduled"], id("sch"))
			// An emergency change applied and never signed off.
			em := newChange(ws, id("kil"), 0)
			em.Emergency, em.SignoffDue = true, at(20*time.Minute)
			if _, _, err := c.CreateApproved(ctx, em, "", commands.Claim{Owner: "me", For: time.Minute}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Finish(ctx, ws, id("kil"), 1, commands.StatusApplied, commands.Notation("killed"), nil, at(time.Minute)); err != nil {
				t.Fatal(err)
			}
			want["signoff"] = append(want["signoff"], id("kil"))
		}
		var mu sync.Mutex
		got := map[string][]string{}
		record := func(kind string) func(context.Context, []commands.Change) {
			return func(_ context.Context, chs []commands.Change) {
				mu.Lock()
				defer mu.Unlock()
				for _, ch := range chs {
					got[kind] = append(got[kind], ch.ID)
				}
			}
		}
		var wg sync.WaitGroup
		for r := range 2 {
			store := s
			if r == 1 {
				store = replica(t, s)
			}
			sw := NewSweeper(store, NewChanges(store, ChangesOptions{}), nil, SweeperOptions{
				Now:         func() time.Time { return at(2 * testTTL) },
				OnExpired:   record("expired"),
				OnStuck:     record("stuck"),
				OnScheduled: record("scheduled"),
				OnRemind:    record("remind"),
				OnSignoff:   record("signoff"),
			})
			wg.Go(func() {
				for range 3 {
					if _, err := sw.Sweep(ctx); err != nil {
						t.Errorf("Sweep: %v", err)
					}
				}
			})
		}
		wg.Wait()
		for _, kind := range []string{"expired", "remind", "signoff"} {
			g := slices.Sorted(slices.Values(got[kind]))
			if !slices.Equal(g, want[kind]) {
				t.Errorf("%s: handed out %q, want each of %q once", kind, g, want[kind])
			}
		}
		// Stuck and scheduled changes are listed by every sweep until
		// claimed: every one of them at least once.
		for _, kind := range []string{"stuck", "scheduled"} {
			g := slices.Compact(slices.Sorted(slices.Values(got[kind])))
			if !slices.Equal(g, want[kind]) {
				t.Errorf("%s: listed %q, want %q", kind, g, want[kind])
			}
		}
	})
}
