package redisstore_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// backend is a way to get a redisstore.Store, with a way to let time pass for TTLs
// (without waiting, on the embedded server).
type backend struct {
	name    string
	open    func(testing.TB) *redisstore.Store
	advance func(t *testing.T, s *redisstore.Store, d time.Duration)
}

// backends are miniredis, and the real Redis and Redis Cluster of
// redistest.Backends when configured.
func backends() []backend {
	var out []backend
	for _, b := range redistest.Backends() {
		out = append(out, backend{name: b.Name, open: b.Open, advance: func(t *testing.T, s *redisstore.Store, d time.Duration) {
			t.Helper()
			b.Advance(t, s, d)
		}})
	}
	return out
}

// forEachBackend runs f against every backend as a parallel subtest.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend, s *redisstore.Store)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b, b.open(t))
		})
	}
}

func TestGetSetDel(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, _ backend, s *redisstore.Store) {
		ctx := t.Context()

		_, err := s.Get(ctx, "missing")
		if !errors.Is(err, redisstore.ErrNotFound) || errors.Is(err, redisstore.ErrUnavailable) {
			t.Fatalf("Get(missing) error = %v, want redisstore.ErrNotFound only", err)
		}

		tests := []struct {
			name string
			key  string
			val  []byte
		}{
			{name: "text", key: "a", val: []byte("hello")},
			{name: "binary", key: "b", val: []byte{0, 1, 2, 0xff, 0}},
			{name: "empty", key: "c", val: []byte{}},
			{name: "key with colons", key: redisstore.WorkspaceKey("T1", "", "x", "y"), val: []byte("ws")},
		}
		for _, tt := range tests {
			if err := s.Set(ctx, tt.key, tt.val, 0); err != nil {
				t.Fatalf("%s: Set: %v", tt.name, err)
			}
			got, err := s.Get(ctx, tt.key)
			if err != nil {
				t.Fatalf("%s: Get: %v", tt.name, err)
			}
			if !bytes.Equal(got, tt.val) {
				t.Errorf("%s: Get(%q) = %q, want %q", tt.name, tt.key, got, tt.val)
			}
		}

		if err := s.Set(ctx, "a", []byte("second"), 0); err != nil {
			t.Fatalf("overwrite: %v", err)
		}
		if got, err := s.Get(ctx, "a"); err != nil || string(got) != "second" {
			t.Errorf("Get after overwrite = %q, %v; want \"second\", nil", got, err)
		}

		if err := s.Del(ctx, "a"); err != nil {
			t.Fatalf("Del: %v", err)
		}
		if _, err := s.Get(ctx, "a"); !errors.Is(err, redisstore.ErrNotFound) {
			t.Errorf("Get after Del error = %v, want redisstore.ErrNotFound", err)
		}
		if err := s.Del(ctx, "never-set"); err != nil {
			t.Errorf("Del(missing) = %v, want nil", err)
		}

		err = s.Set(ctx, "neg", []byte("x"), -time.Second)
		if err == nil || errors.Is(err, redisstore.ErrUnavailable) {
			t.Errorf("Set with negative ttl error = %v, want a non-Redis error", err)
		}
		if _, err := s.Get(ctx, "neg"); !errors.Is(err, redisstore.ErrNotFound) {
			t.Errorf("negative ttl stored a value: Get error = %v", err)
		}
	})
}

func TestTTL(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend, s *redisstore.Store) {
		ctx := t.Context()
		const ttl = 300 * time.Millisecond
		if err := s.Set(ctx, "short", []byte("v"), ttl); err != nil {
			t.Fatalf("Set short: %v", err)
		}
		if err := s.Set(ctx, "forever", []byte("v"), 0); err != nil {
			t.Fatalf("Set forever: %v", err)
		}
		if _, err := s.Get(ctx, "short"); err != nil {
			t.Fatalf("Get before expiry: %v", err)
		}
		b.advance(t, s, ttl+200*time.Millisecond)
		if _, err := s.Get(ctx, "short"); !errors.Is(err, redisstore.ErrNotFound) {
			t.Errorf("Get after expiry error = %v, want redisstore.ErrNotFound", err)
		}
		if _, err := s.Get(ctx, "forever"); err != nil {
			t.Errorf("Get of key without ttl after the wait: %v", err)
		}
	})
}

func TestPrefix(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, _ backend, s *redisstore.Store) {
		ctx := t.Context()
		if err := s.Set(ctx, "k", []byte("v"), 0); err != nil {
			t.Fatalf("Set: %v", err)
		}
		raw := s.Key("k")
		prefix := strings.TrimSuffix(raw, "k")
		if prefix == redisstore.DefaultPrefix+":" || prefix[len(prefix)-1] != ':' {
			t.Fatalf("test store prefix = %q, want a unique prefix ending in ':'", prefix)
		}
		if got := redistest.Do(t, s, "GET", raw); got != "v" {
			t.Errorf("raw GET %q = %q; want \"v\"", raw, got)
		}
		if n := redistest.Do(t, s, "EXISTS", "k"); n != int64(0) {
			t.Errorf("unprefixed key exists = %d; want 0", n)
		}

		// A second redisstore.Store with another prefix on the same server sees
		// nothing of the first.
		other := redistest.Replica(t, s, redisstore.Options{Prefix: "other"})
		if _, err := other.Get(ctx, "k"); !errors.Is(err, redisstore.ErrNotFound) {
			t.Errorf("other prefix Get error = %v, want redisstore.ErrNotFound", err)
		}
	})
}
