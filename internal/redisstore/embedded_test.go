package redisstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// expireWithin is how long the embedded server may take to expire a key
// whose TTL ran out: one tick of its clock, plus slack for a loaded test
// machine.
const expireWithin = 2 * time.Second

// eventually polls cond every 20 ms until it holds, and fails the test if
// it does not within d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEmbeddedKeysExpireInRealTime is issue 8 item 10: the embedded Redis
// expires keys as time passes, without anyone calling FastForward, so an
// expired key's memory is freed and a lock whose holder vanished is
// released.
func TestEmbeddedKeysExpireInRealTime(t *testing.T) {
	t.Parallel()
	s := redistest.NewTestStore(t)
	ctx := t.Context()
	const ttl = 300 * time.Millisecond

	start := time.Now()
	if err := s.Set(ctx, "short", []byte("v"), ttl); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := s.Set(ctx, "forever", []byte("v"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if ok, err := s.TryLock(ctx, "lock", "gone-holder", ttl); !ok || err != nil {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}

	// Gone from the server itself (not just hidden from GET): its memory
	// is freed.
	eventually(t, ttl+expireWithin, "the short key expires", func() bool {
		return redistest.Do(t, s, "EXISTS", s.Key("short")) == int64(0)
	})
	// The embedded clock charges every key whole 100 ms ticks, so a key
	// may go up to one tick early; never earlier.
	if took := time.Since(start); took < ttl-100*time.Millisecond {
		t.Errorf("the key expired after %v, more than a clock tick before its TTL of %v", took, ttl)
	}
	eventually(t, expireWithin, "the lock is released by its expiry", func() bool {
		ok, err := s.TryLock(ctx, "lock", "next-holder", time.Minute)
		if err != nil {
			t.Fatalf("TryLock: %v", err)
		}
		return ok
	})
	if _, err := s.Get(ctx, "forever"); err != nil {
		t.Errorf("a key without TTL: %v", err)
	}
	if n := redistest.Do(t, s, "DBSIZE"); n != int64(2) {
		t.Errorf("DBSIZE = %v, want 2 (forever and the new lock)", n)
	}
}

func TestEmbeddedServerStopRestart(t *testing.T) {
	t.Parallel()
	s, err := redisstore.OpenEmbedded(t.Context(), nil, redisstore.Options{OpTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	srv := s.EmbeddedServer()
	if srv == nil || srv.Addr() != s.Addr() {
		t.Fatalf("EmbeddedServer = %v, want the server at %s", srv, s.Addr())
	}
	if err := s.Set(t.Context(), "k", []byte("v"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}
	srv.Stop()
	if _, err := s.Get(t.Context(), "k"); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Errorf("Get while stopped: %v, want ErrUnavailable", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	eventually(t, 10*time.Second, "the store is back with its data", func() bool {
		got, err := s.Get(t.Context(), "k")
		return err == nil && string(got) == "v"
	})
}
