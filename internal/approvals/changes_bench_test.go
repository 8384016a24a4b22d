package approvals

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// BenchmarkApproveThroughput measures approvals per second on the real
// Redis named by FLAGBOT_TEST_REDIS_URL, across two clients (two replicas)
// with parallel goroutines. b.N fresh one-approval requests are created
// before the timer starts; each iteration approves one of them (the
// approving Lua script: read, checks, write, index updates) and checks it
// completed the approval.
//
//	FLAGBOT_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench ApproveThroughput -benchtime 20000x ./internal/approvals/
func BenchmarkApproveThroughput(b *testing.B) {
	s := redistest.NewRealTestStore(b)
	replicas := [2]*Changes{NewChanges(s, ChangesOptions{}), NewChanges(replica(b, s), ChangesOptions{})}
	ctx := b.Context()
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench%07d", i)
		if _, _, err := replicas[i%2].Create(ctx, newChange(wsA(), ids[i], 1), ""); err != nil {
			b.Fatalf("Create: %v", err)
		}
	}
	var next, client atomic.Int64
	b.SetParallelism(8) // goroutines per CPU: approvals wait on the network, not the CPU
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := replicas[client.Add(1)%2]
		now := at(time.Minute)
		for pb.Next() {
			i := next.Add(1) - 1
			_, approved, err := c.Approve(ctx, wsA(), ids[i], "bob", now, commands.Claim{}, false)
			if err != nil || !approved {
				b.Errorf("Approve(%s) = %v, %v", ids[i], approved, err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "approvals/s")
	if got, err := replicas[0].Get(ctx, wsA(), ids[b.N-1]); err != nil || got.Status != commands.StatusApproved {
		b.Errorf("last change = %q, %v", got.Status, err)
	}
}

// BenchmarkSweepIdleWorkspaces measures one sweep (expiry, stuck,
// scheduled, reminders, sign-offs) with 1000 workspaces registered and
// nothing due: the fixed cost of visiting every workspace, five pipelines
// of one command per workspace. On the real Redis of
// FLAGBOT_TEST_REDIS_URL and on the cluster of
// FLAGBOT_TEST_REDIS_CLUSTER_URL:
//
//	go test -run '^$' -bench SweepIdleWorkspaces ./internal/approvals/
func BenchmarkSweepIdleWorkspaces(b *testing.B) {
	for _, bk := range []struct {
		name string
		open func(testing.TB) *redisstore.Store
	}{{"redis", redistest.NewRealTestStore}, {"cluster", redistest.NewClusterTestStore}} {
		b.Run(bk.name, func(b *testing.B) {
			s := bk.open(b)
			ctx := b.Context()
			c := NewChanges(s, ChangesOptions{})
			members := make([]string, 1000)
			for i := range members {
				members[i] = c.wsKey(commands.Workspace{TeamID: fmt.Sprintf("T%04d", i)})
			}
			if err := s.SAdd(ctx, workspacesKey, members...); err != nil {
				b.Fatal(err)
			}
			sw := NewSweeper(s, c, nil, SweeperOptions{})
			b.ResetTimer()
			for b.Loop() {
				if _, err := sw.Sweep(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
