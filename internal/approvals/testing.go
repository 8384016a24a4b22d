package approvals

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"
	"time"
)

// TestRedisURLEnv names the environment variable that points tests at a real
// Redis, e.g. redis://127.0.0.1:6379/0.
const TestRedisURLEnv = "FLAGBOT_TEST_REDIS_URL"

// NewTestStore returns a Store on a fresh embedded Redis (miniredis) with a
// unique key prefix, closed when the test ends. It is meant for tests of
// packages that store data through approvals.
func NewTestStore(t testing.TB) *Store {
	t.Helper()
	s, err := OpenEmbedded(t.Context(), testLogger(t), Options{Prefix: testPrefix(t)})
	if err != nil {
		t.Fatalf("approvals: open embedded test store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("approvals: close test store: %v", err)
		}
	})
	return s
}

// NewRealTestStore returns a Store on the real Redis named by the
// FLAGBOT_TEST_REDIS_URL environment variable, with a random key prefix of
// its own. When the test ends it deletes every key under that prefix and
// closes the Store. The test is skipped when the variable is unset and fails
// when it is set but Redis cannot be reached.
func NewRealTestStore(t testing.TB) *Store {
	t.Helper()
	// Tests opt in to real infrastructure through the environment; this is
	// the one read of it in approvals.
	redisURL := os.Getenv(TestRedisURLEnv)
	if redisURL == "" {
		t.Skipf("%s is not set: set it (e.g. redis://127.0.0.1:6379/0) to run this test against a real Redis", TestRedisURLEnv)
	}
	s, err := Open(t.Context(), redisURL, testLogger(t), Options{Prefix: testPrefix(t)})
	if err != nil {
		t.Fatalf("%s is set but Redis is unusable: %v", TestRedisURLEnv, err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.deletePrefixed(ctx); err != nil {
			t.Errorf("approvals: delete test keys: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("approvals: close test store: %v", err)
		}
	})
	return s
}

// deletePrefixed deletes every key under s's prefix. The prefix of a test
// store is hex, so it holds no glob characters.
func (s *Store) deletePrefixed(ctx context.Context) error {
	iter := s.client.Scan(ctx, 0, s.prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		if err := s.client.Del(ctx, iter.Val()).Err(); err != nil {
			return unavailable("del", iter.Val(), err)
		}
	}
	if err := iter.Err(); err != nil {
		return unavailable("scan", s.prefix+"*", err)
	}
	return nil
}

func testPrefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("approvals: random test prefix: %v", err)
	}
	return "flagbot-test-" + hex.EncodeToString(b)
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
}
