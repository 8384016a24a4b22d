// Package redistest gives tests a redisstore.Store of their own: on an
// embedded Redis (NewTestStore), on the real Redis named by
// FLAGBOT_TEST_REDIS_URL (NewRealTestStore) or on the real Redis Cluster
// named by FLAGBOT_TEST_REDIS_CLUSTER_URL (NewClusterTestStore; Backends
// lists all three), each under a random key prefix
// so that parallel tests and parallel runs never see each other's keys. It
// also opens more Stores on the same server (Replica, ReplicaVia: other bot
// replicas), sends raw commands (Do), counts what a Store sends (Counter)
// and dumps a Store's keys for golden files (Dump).
//
// It is imported by tests only, so the testing package never links into the
// bot (cmd/bot has a test that checks). It imports no Redis client: it uses
// redisstore's API, and speaks the Redis protocol itself where a test needs
// to look past that API.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/redisstore"
)

// TestRedisURLEnv names the environment variable that points tests at a real
// Redis, e.g. redis://127.0.0.1:6379/0.
const TestRedisURLEnv = "FLAGBOT_TEST_REDIS_URL"

// cleanupTimeout bounds deleting a real test store's keys.
const cleanupTimeout = 10 * time.Second

// NewTestStore returns a Store on a fresh embedded Redis (miniredis) with a
// unique key prefix, closed when the test ends.
func NewTestStore(t testing.TB) *redisstore.Store {
	t.Helper()
	s, err := redisstore.OpenEmbedded(t.Context(), Logger(t), redisstore.Options{Prefix: randomPrefix(t)})
	if err != nil {
		t.Fatalf("redistest: open embedded test store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("redistest: close test store: %v", err)
		}
	})
	return s
}

// NewRealTestStore returns a Store on the real Redis named by the
// FLAGBOT_TEST_REDIS_URL environment variable, with a random key prefix of
// its own. When the test ends it deletes every key under that prefix and
// closes the Store. The test is skipped when the variable is unset and fails
// when it is set but Redis cannot be reached.
func NewRealTestStore(t testing.TB) *redisstore.Store {
	t.Helper()
	redisURL := RealURL(t)
	s, err := redisstore.Open(t.Context(), redisURL, Logger(t), redisstore.Options{Prefix: randomPrefix(t)})
	if err != nil {
		t.Fatalf("%s is set but Redis is unusable: %v", TestRedisURLEnv, err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := deletePrefixed(ctx, redisURL, s.Key("")); err != nil {
			t.Errorf("redistest: delete test keys: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("redistest: close test store: %v", err)
		}
	})
	return s
}

// RealURL returns FLAGBOT_TEST_REDIS_URL, skipping the test when it is
// unset. Tests opt in to real infrastructure through the environment; this
// is the one read of it.
func RealURL(t testing.TB) string {
	t.Helper()
	redisURL := os.Getenv(TestRedisURLEnv)
	if redisURL == "" {
		t.Skipf("%s is not set: set it (e.g. redis://127.0.0.1:6379/0) to run this test against a real Redis", TestRedisURLEnv)
	}
	return redisURL
}

// URL returns a URL of the server s talks to, for redisstore.Open: the
// embedded server's address, FLAGBOT_TEST_REDIS_URL for a Store from
// NewRealTestStore, or FLAGBOT_TEST_REDIS_CLUSTER_URL for one from
// NewClusterTestStore. s must come from this package.
func URL(t testing.TB, s *redisstore.Store) string {
	t.Helper()
	switch {
	case s.Embedded():
		return "redis://" + s.Addr() + "/0"
	case s.Cluster():
		return ClusterURL(t)
	}
	return RealURL(t)
}

// Prefix returns the prefix of s, as redisstore.Options.Prefix takes it.
func Prefix(s *redisstore.Store) string { return strings.TrimSuffix(s.Key(""), ":") }

// Replica opens a second Store, with a connection pool of its own, on the
// server of s (which must come from this package): another bot replica.
// opts.Prefix empty means s's prefix. It is closed when the test ends.
func Replica(t testing.TB, s *redisstore.Store, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	return open(t, URL(t, s), s, opts)
}

// ReplicaVia is Replica through addr, a proxy in front of s's server: the
// Store connects to addr with s's credentials and database.
func ReplicaVia(t testing.TB, s *redisstore.Store, addr string, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	if s.Cluster() {
		t.Fatalf("redistest: ReplicaVia: a cluster client reaches every node itself, past any one proxy")
	}
	u := parseURL(t, URL(t, s))
	u.Host = addr
	return open(t, u.String(), s, opts)
}

func open(t testing.TB, redisURL string, s *redisstore.Store, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = Prefix(s)
	}
	r, err := redisstore.Open(context.Background(), redisURL, Logger(t), opts)
	if err != nil {
		t.Fatalf("redistest: open replica store: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// Logger returns a logger that writes errors to the test's output.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
}

func randomPrefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("redistest: random test prefix: %v", err)
	}
	return "flagbot-test-" + hex.EncodeToString(b)
}

// parseURL parses a test Redis URL, failing the test (without quoting the
// URL, which may hold a password) when it does not parse.
func parseURL(t testing.TB, redisURL string) *url.URL {
	t.Helper()
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatalf("redistest: the test Redis URL does not parse")
	}
	return u
}

// Backend is one way for a test to get a Store of its own.
type Backend struct {
	// Name names the backend in subtest names: miniredis, redis or
	// cluster.
	Name string
	// Open returns a Store, closed and emptied when the test ends.
	Open func(testing.TB) *redisstore.Store
	// Advance lets d pass for the Store's TTLs: at once on the embedded
	// server (FastForward), by sleeping on a real one.
	Advance func(t testing.TB, s *redisstore.Store, d time.Duration)
}

// Backends returns the three backends: miniredis, always there; redis and
// cluster, which skip a test unless their environment variable is set.
func Backends() []Backend {
	sleep := func(t testing.TB, _ *redisstore.Store, d time.Duration) { time.Sleep(d) }
	return []Backend{
		{Name: "miniredis", Open: NewTestStore, Advance: func(t testing.TB, s *redisstore.Store, d time.Duration) {
			t.Helper()
			s.EmbeddedServer().FastForward(d)
		}},
		{Name: "redis", Open: NewRealTestStore, Advance: sleep},
		{Name: "cluster", Open: NewClusterTestStore, Advance: sleep},
	}
}
