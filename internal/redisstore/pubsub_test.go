package redisstore_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// subscriber records what Subscribe reported.
type subscriber struct {
	mu     sync.Mutex
	states []bool
	msgs   []string
}

func (s *subscriber) state(up bool) { s.mu.Lock(); s.states = append(s.states, up); s.mu.Unlock() }
func (s *subscriber) msg(m string)  { s.mu.Lock(); s.msgs = append(s.msgs, m); s.mu.Unlock() }

func (s *subscriber) snapshot() ([]bool, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bool(nil), s.states...), append([]string(nil), s.msgs...)
}

// subscribe runs Subscribe on s until the test ends and waits until it is
// up.
func subscribe(t *testing.T, s *redisstore.Store, channel string) *subscriber {
	t.Helper()
	sub := &subscriber{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Subscribe(ctx, channel, sub.state, sub.msg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Subscribe returned %v after its context ended, want nil", err)
		}
	})
	eventually(t, 5*time.Second, "the subscription comes up", func() bool {
		st, _ := sub.snapshot()
		return len(st) > 0 && st[len(st)-1]
	})
	return sub
}

func TestPublishSubscribe(t *testing.T) {
	t.Parallel()
	for _, b := range []struct {
		name string
		open func(testing.TB) *redisstore.Store
	}{{"miniredis", redistest.NewTestStore}, {"redis", redistest.NewRealTestStore}, {"cluster", redistest.NewClusterTestStore}} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.open(t)
			other := redistest.Replica(t, s, redisstore.Options{})
			sub := subscribe(t, s, "news")
			for _, m := range []string{"T1", "T2"} {
				if err := other.Publish(t.Context(), "news", m); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, 5*time.Second, "both messages arrive", func() bool {
				_, msgs := sub.snapshot()
				return len(msgs) == 2
			})
			_, msgs := sub.snapshot()
			if b.name == "cluster" {
				// A cluster forwards a message published on another node
				// over its bus, so two messages published one after the
				// other may arrive in either order. Flagbot's subscribers
				// (cache invalidations) do not depend on the order.
				slices.Sort(msgs)
			}
			if msgs[0] != "T1" || msgs[1] != "T2" {
				t.Errorf("messages %q, want T1 then T2", msgs)
			}
			// Another prefix's channel is another channel.
			stranger := redistest.NewTestStore(t)
			_ = stranger.Publish(t.Context(), "news", "not for you")
			time.Sleep(50 * time.Millisecond)
			if _, msgs := sub.snapshot(); len(msgs) != 2 {
				t.Errorf("messages %q, want only the two sent on this store's channel", msgs)
			}
		})
	}
}

// TestSubscribeSurvivesAnOutage: when the server goes away the subscriber
// hears it is down (messages may be lost), and up again once it is back;
// messages flow again afterwards.
func TestSubscribeSurvivesAnOutage(t *testing.T) {
	t.Parallel()
	s := redistest.NewTestStore(t)
	sub := subscribe(t, s, "news")
	srv := s.EmbeddedServer()
	srv.Stop()
	eventually(t, 5*time.Second, "the subscriber hears it is down", func() bool {
		st, _ := sub.snapshot()
		return len(st) >= 2 && !st[len(st)-1]
	})
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the subscription comes back", func() bool {
		st, _ := sub.snapshot()
		return st[len(st)-1]
	})
	eventually(t, 5*time.Second, "messages flow again", func() bool {
		_ = s.Publish(t.Context(), "news", "back")
		_, msgs := sub.snapshot()
		return len(msgs) > 0
	})
}
