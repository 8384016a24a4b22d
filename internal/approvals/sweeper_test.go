package approvals

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// expiredLog collects what OnExpired receives.
type expiredLog struct {
	mu   sync.Mutex
	seen map[string]int
	got  chan struct{}
}

func newExpiredLog() *expiredLog {
	return &expiredLog{seen: map[string]int{}, got: make(chan struct{}, 1000)}
}

func (l *expiredLog) onExpired(_ context.Context, cs []commands.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		l.seen[c.ID]++
		l.got <- struct{}{}
	}
}

func (l *expiredLog) counts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.seen)
}

// createDue creates n changes in ws (ids prefix0..) that are due at
// at(testTTL+time.Second), plus one that is not.
func createDue(t *testing.T, c *Changes, ws commands.Workspace, prefix string, n int) []string {
	t.Helper()
	var due []string
	for i := range n {
		id := fmt.Sprintf("%s%02d", prefix, i)
		mustCreate(t, c, newChange(ws, id, 1))
		due = append(due, id)
	}
	later := newChange(ws, prefix+"later", 1)
	later.ExpiresAt = at(2 * testTTL)
	mustCreate(t, c, later)
	return due
}

// TestSweepersHandEachChangeOnce runs two sweepers on two replicas at the
// same moment, several times: each expired change reaches OnExpired exactly
// once.
func TestSweepersHandEachChangeOnce(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		rc := NewChanges(replica(t, s), ChangesOptions{})
		due := createDue(t, c, wsA(), "a", 12)
		due = append(due, createDue(t, c, wsB(), "b", 5)...)
		log := newExpiredLog()
		now := func() time.Time { return at(testTTL + time.Second) }
		sweepers := []*Sweeper{
			NewSweeper(s, c, redistest.Logger(t), SweeperOptions{Now: now, Batch: 5, OnExpired: log.onExpired}),
			NewSweeper(rc.store, rc, redistest.Logger(t), SweeperOptions{Now: now, Batch: 5, OnExpired: log.onExpired}),
		}
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			total int
		)
		for round := range 3 {
			for _, sw := range sweepers {
				wg.Go(func() {
					n, err := sw.Sweep(t.Context())
					if err != nil {
						t.Errorf("round %d: Sweep: %v", round, err)
					}
					mu.Lock()
					total += n
					mu.Unlock()
				})
			}
			wg.Wait()
		}
		got := log.counts()
		if total != len(due) || len(got) != len(due) {
			t.Errorf("sweeps marked %d, OnExpired saw %d changes; want %d", total, len(got), len(due))
		}
		for _, id := range due {
			if got[id] != 1 {
				t.Errorf("OnExpired saw %s %d times, want once", id, got[id])
			}
		}
		for _, ws := range []commands.Workspace{wsA(), wsB()} {
			p, err := c.Pending(t.Context(), ws)
			if err != nil || len(p) != 1 || !strings.HasSuffix(p[0].ID, "later") {
				t.Errorf("Pending(%v) after sweeps = %q, %v; want only the later one", ws, ids(p), err)
			}
		}
		if _, err := s.Get(t.Context(), sweepers[0].lockKey); !errors.Is(err, redisstore.ErrNotFound) {
			t.Errorf("sweep lock left behind: %v", err)
		}
	})
}

func TestSweeperLock(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		ctx := t.Context()
		c := NewChanges(s, ChangesOptions{})
		due := createDue(t, c, wsA(), "k", 3)
		log := newExpiredLog()
		sw := NewSweeper(s, c, redistest.Logger(t), SweeperOptions{
			Now: func() time.Time { return at(testTTL + time.Second) }, OnExpired: log.onExpired,
		})

		// Another replica holds the lock: this one skips the sweep and
		// leaves that replica's lock alone.
		if err := s.Set(ctx, sw.lockKey, []byte("someone-else"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if n, err := sw.Sweep(ctx); err != nil || n != 0 {
			t.Errorf("Sweep under another's lock = %d, %v; want 0, nil", n, err)
		}
		if v, err := s.Get(ctx, sw.lockKey); err != nil || string(v) != "someone-else" {
			t.Errorf("the other replica's lock is now %q, %v", v, err)
		}
		if len(log.counts()) != 0 {
			t.Errorf("OnExpired called under another's lock: %v", log.counts())
		}

		if err := s.Del(ctx, sw.lockKey); err != nil {
			t.Fatal(err)
		}
		if n, err := sw.Sweep(ctx); err != nil || n != len(due) {
			t.Errorf("Sweep = %d, %v; want %d", n, err, len(due))
		}
		if _, err := s.Get(ctx, sw.lockKey); !errors.Is(err, redisstore.ErrNotFound) {
			t.Errorf("lock not released: %v", err)
		}
	})
}

// TestSweeperRun runs the loop with a short interval and a clock that moves
// past the expiry while it runs.
func TestSweeperRun(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		c := NewChanges(s, ChangesOptions{})
		due := createDue(t, c, wsA(), "r", 3)
		log := newExpiredLog()
		var (
			mu  sync.Mutex
			now = at(time.Minute)
		)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		var buf syncBuffer
		logger := slog.New(slog.NewTextHandler(&buf, nil))
		// A sweep may take longer than the interval on a loaded machine (a
		// cluster shared with other tests): LockTTL, which bounds one sweep,
		// would otherwise default to the 20 ms interval and fail every sweep.
		sw := NewSweeper(s, c, logger, SweeperOptions{Interval: 20 * time.Millisecond, LockTTL: 5 * time.Second, Now: clock, OnExpired: log.onExpired})

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- sw.Run(ctx) }()

		time.Sleep(100 * time.Millisecond) // a few sweeps with nothing due
		if got := log.counts(); len(got) != 0 {
			t.Errorf("expired before their time: %v", got)
		}
		mu.Lock()
		now = at(testTTL + time.Second)
		mu.Unlock()
		for range due {
			select {
			case <-log.got:
			case <-time.After(5 * time.Second):
				t.Fatalf("OnExpired saw only %v; the sweeper logged:\n%s", log.counts(), buf.String())
			}
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil after cancel", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		got := log.counts()
		want := map[string]int{}
		for _, id := range due {
			want[id] = 1
		}
		if !maps.Equal(got, want) {
			t.Errorf("OnExpired saw %v, want %v", got, want)
		}
		out := buf.String()
		for _, id := range due {
			if !strings.Contains(out, "approval_id="+id) {
				t.Errorf("no log line for %s in:\n%s", id, out)
			}
		}
		if !strings.Contains(out, "component=sweeper") {
			t.Errorf("log lacks component=sweeper:\n%s", out)
		}
	})
}

// TestSweeperRedisDown checks that Run survives an outage: it logs, keeps
// going, and sweeps once Redis is back.
func TestSweeperRedisDown(t *testing.T) {
	t.Parallel()
	s, err := redisstore.OpenEmbedded(t.Context(), redistest.Logger(t), redisstore.Options{OpTimeout: 200 * time.Millisecond, Prefix: "sweepdown"})
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := NewChanges(s, ChangesOptions{})
	due := createDue(t, c, wsA(), "d", 2)
	log := newExpiredLog()
	var buf syncBuffer
	sw := NewSweeper(s, c, slog.New(slog.NewTextHandler(&buf, nil)), SweeperOptions{
		Interval: 20 * time.Millisecond, LockTTL: 5 * time.Second, // as in TestSweeperRun
		Now: func() time.Time { return at(testTTL + time.Second) }, OnExpired: log.onExpired,
	})
	s.EmbeddedServer().Stop()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sw.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "sweep failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning while Redis is down; log:\n%s", buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.EmbeddedServer().Restart(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	for range due {
		select {
		case <-log.got:
		case <-time.After(recoverWithin):
			t.Fatalf("no sweep after Redis came back; OnExpired saw %v", log.counts())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if got := log.counts(); len(got) != len(due) {
		t.Errorf("OnExpired saw %v, want %q once each", got, due)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSweepReports: OnSweep hears every sweep of Run: the replica that
// held the lock says it swept and what, the other that it did not.
func TestSweepReports(t *testing.T) {
	t.Parallel()
	s := redistest.NewTestStore(t)
	c := NewChanges(s, ChangesOptions{})
	createDue(t, c, wsA(), "r", 2)
	now := func() time.Time { return at(testTTL + time.Second) }
	var (
		mu      sync.Mutex
		reports []SweepReport
	)
	record := func(r SweepReport) { mu.Lock(); reports = append(reports, r); mu.Unlock() }
	holder := "someone-else"
	if ok, err := s.TryLock(t.Context(), "changes:sweeper-lock", holder, time.Minute); err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	// LockTTL bounds a sweep's work, which now includes scheduled changes,
	// reminders and sign-offs: more than one 10 ms interval under load.
	sw := NewSweeper(s, c, nil, SweeperOptions{Interval: 10 * time.Millisecond, LockTTL: time.Second, Now: now, OnSweep: record})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sw.Run(ctx) }()
	waitReports := func(n int) []SweepReport {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			got := append([]SweepReport(nil), reports...)
			mu.Unlock()
			if len(got) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d sweep reports, want %d", len(got), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if r := waitReports(1)[0]; r.Swept || r.Expired != 0 || r.Err != nil {
		t.Errorf("report while another replica holds the lock = %+v, want not swept", r)
	}
	if ok, err := s.Unlock(t.Context(), "changes:sweeper-lock", holder); err != nil || !ok {
		t.Fatalf("Unlock = %v, %v", ok, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := waitReports(1)
		last := got[len(got)-1]
		if last.Swept {
			first := slices.IndexFunc(got, func(r SweepReport) bool { return r.Swept })
			if r := got[first]; r.Expired != 2 || r.Err != nil || r.At.IsZero() || r.Took <= 0 {
				t.Errorf("first sweep with the lock = %+v, want 2 expired", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no sweep after the lock was free")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
