package approvals

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// TestApproveRaceReplicas is issue 3's race test: 50 goroutines over two
// separate Redis clients (two replicas) approve the same request; exactly
// one of them completes the approval, in every repetition. The finish that
// follows (the LaunchDarkly apply) is raced the same way and happens once.
// Repetitions need 1, 2 or 3 approvals in turn.
func TestApproveRaceReplicas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		open func(testing.TB) *redisstore.Store
		reps int
	}{
		{name: "redis", open: redistest.NewRealTestStore, reps: 200},
		{name: "cluster", open: redistest.NewClusterTestStore, reps: 200},
		{name: "miniredis", open: redistest.NewTestStore, reps: 30},
	}
	const clickers = 50
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.open(t)
			replicas := [2]*Changes{NewChanges(s, ChangesOptions{}), NewChanges(replica(t, s), ChangesOptions{})}
			ctx := t.Context()
			type result struct {
				c   commands.Change
				now bool
				err error
			}
			for rep := range tt.reps {
				required := 1 + rep%3
				id := fmt.Sprintf("race%03d", rep)
				mustCreate(t, replicas[rep%2], newChange(wsA(), id, required))

				results := make([]result, clickers)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for g := range clickers {
					wg.Go(func() {
						<-start
						var r result
						r.c, r.now, r.err = replicas[g%2].Approve(ctx, wsA(), id, fmt.Sprintf("U%02d", g), at(time.Minute), commands.Claim{}, false)
						results[g] = r
					})
				}
				close(start)
				wg.Wait()

				winners, partial, decided := 0, 0, 0
				var winner result
				for g, r := range results {
					switch {
					case r.err == nil && r.now:
						winners++
						winner = r
					case r.err == nil:
						partial++
					case errors.Is(r.err, commands.ErrDecided) && r.c.Status == commands.StatusApproved:
						decided++
					default:
						t.Fatalf("rep %d: clicker %d: %+v, %v", rep, g, r.c.Status, r.err)
					}
				}
				if winners != 1 || partial != required-1 || decided != clickers-required {
					t.Fatalf("rep %d (%d required): %d completed the approval, %d added one, %d were told it was decided; want 1, %d, %d",
						rep, required, winners, partial, decided, required-1, clickers-required)
				}
				if winner.c.Status != commands.StatusApproved || len(winner.c.Approvals) != required {
					t.Fatalf("rep %d: winner saw %q with %d approvals", rep, winner.c.Status, len(winner.c.Approvals))
				}

				// Every clicker's handler now tries to apply; one may.
				finished := make([]error, clickers)
				start = make(chan struct{})
				for g := range clickers {
					wg.Go(func() {
						<-start
						_, finished[g] = replicas[g%2].Finish(ctx, wsA(), id, 0, commands.StatusApplied, commands.Notation(fmt.Sprintf("by %d", g)), nil, at(2*time.Minute))
					})
				}
				close(start)
				wg.Wait()
				applied := 0
				for g, err := range finished {
					switch {
					case err == nil:
						applied++
					case !errors.Is(err, commands.ErrDecided):
						t.Fatalf("rep %d: finish %d: %v", rep, g, err)
					}
				}
				if applied != 1 {
					t.Fatalf("rep %d: %d finishes succeeded, want exactly 1", rep, applied)
				}
				got, err := replicas[0].Get(ctx, wsA(), id)
				if err != nil || got.Status != commands.StatusApplied || len(got.Approvals) != required {
					t.Fatalf("rep %d: Get = %q with %d approvals, %v", rep, got.Status, len(got.Approvals), err)
				}
			}
		})
	}
}

// TestExpireDueRace races ExpireDue on two replicas without the sweeper's
// lock: each due change is still returned by exactly one call.
func TestExpireDueRace(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		replicas := [2]*Changes{NewChanges(s, ChangesOptions{}), NewChanges(replica(t, s), ChangesOptions{})}
		const n = 60
		for i := range n {
			mustCreate(t, replicas[i%2], newChange(wsA(), fmt.Sprintf("x%02d", i), 1))
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			seen = map[string]int{}
		)
		start := make(chan struct{})
		for g := range 10 {
			wg.Go(func() {
				<-start
				for {
					got, err := replicas[g%2].ExpireDue(t.Context(), at(2*testTTL), 7)
					if err != nil {
						t.Errorf("ExpireDue: %v", err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, c := range got {
						seen[c.ID]++
					}
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if len(seen) != n {
			t.Errorf("%d changes expired, want %d", len(seen), n)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("%s returned %d times", id, k)
			}
		}
	})
}
