package approvals

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// backend is a way to get a Store, with a way to let time pass for TTLs
// (miniredis only moves its clock with FastForward).
type backend struct {
	name    string
	open    func(testing.TB) *Store
	advance func(t *testing.T, s *Store, d time.Duration)
}

func backends() []backend {
	return []backend{
		{
			name: "miniredis",
			open: NewTestStore,
			advance: func(t *testing.T, s *Store, d time.Duration) {
				t.Helper()
				s.mini.FastForward(d)
			},
		},
		{
			name: "redis",
			open: NewRealTestStore,
			advance: func(t *testing.T, _ *Store, d time.Duration) {
				t.Helper()
				time.Sleep(d)
			},
		},
	}
}

// forEachBackend runs f against every backend as a parallel subtest.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend, s *Store)) {
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
	forEachBackend(t, func(t *testing.T, _ backend, s *Store) {
		ctx := t.Context()

		_, err := s.Get(ctx, "missing")
		if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
			t.Fatalf("Get(missing) error = %v, want ErrNotFound only", err)
		}

		tests := []struct {
			name string
			key  string
			val  []byte
		}{
			{name: "text", key: "a", val: []byte("hello")},
			{name: "binary", key: "b", val: []byte{0, 1, 2, 0xff, 0}},
			{name: "empty", key: "c", val: []byte{}},
			{name: "key with colons", key: WorkspaceKey("T1", "", "x", "y"), val: []byte("ws")},
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
		if _, err := s.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after Del error = %v, want ErrNotFound", err)
		}
		if err := s.Del(ctx, "never-set"); err != nil {
			t.Errorf("Del(missing) = %v, want nil", err)
		}

		err = s.Set(ctx, "neg", []byte("x"), -time.Second)
		if err == nil || errors.Is(err, ErrUnavailable) {
			t.Errorf("Set with negative ttl error = %v, want a non-Redis error", err)
		}
		if _, err := s.Get(ctx, "neg"); !errors.Is(err, ErrNotFound) {
			t.Errorf("negative ttl stored a value: Get error = %v", err)
		}
	})
}

func TestTTL(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend, s *Store) {
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
		if _, err := s.Get(ctx, "short"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after expiry error = %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, "forever"); err != nil {
			t.Errorf("Get of key without ttl after the wait: %v", err)
		}
	})
}

func TestPrefix(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, _ backend, s *Store) {
		ctx := t.Context()
		if err := s.Set(ctx, "k", []byte("v"), 0); err != nil {
			t.Fatalf("Set: %v", err)
		}
		raw := s.prefix + "k"
		if s.prefix == DefaultPrefix+":" || s.prefix[len(s.prefix)-1] != ':' {
			t.Fatalf("test store prefix = %q, want a unique prefix ending in ':'", s.prefix)
		}
		got, err := s.client.Get(ctx, raw).Result()
		if err != nil || got != "v" {
			t.Errorf("raw GET %q = %q, %v; want \"v\"", raw, got, err)
		}
		if n, err := s.client.Exists(ctx, "k").Result(); err != nil || n != 0 {
			t.Errorf("unprefixed key exists = %d, %v; want 0", n, err)
		}

		// A second Store with another prefix on the same server sees
		// nothing of the first.
		other := &Store{client: s.client, prefix: "other:", opTimeout: s.opTimeout, log: s.log}
		if _, err := other.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
			t.Errorf("other prefix Get error = %v, want ErrNotFound", err)
		}
	})
}

func TestDefaultOptions(t *testing.T) {
	t.Parallel()
	s, err := OpenEmbedded(t.Context(), nil, Options{})
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if s.prefix != "flagbot:" || s.opTimeout != 2*time.Second {
		t.Errorf("defaults = prefix %q, timeout %v; want \"flagbot:\", 2s", s.prefix, s.opTimeout)
	}
	if !s.Embedded() {
		t.Error("Embedded() = false for OpenEmbedded")
	}
	if err := s.Set(t.Context(), "k", []byte("v"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if !s.mini.Exists("flagbot:k") {
		t.Errorf("keys = %v, want flagbot:k", s.mini.Keys())
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping after Close error = %v, want ErrUnavailable", err)
	}
}

func TestWorkspaceKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		team, ent string
		parts     []string
		want      string
	}{
		{name: "plain", team: "T0123ABC", want: "ws:_:T0123ABC"},
		{name: "enterprise", team: "T0123ABC", ent: "E0999", parts: []string{"connection"}, want: "ws:E0999:T0123ABC:connection"},
		{name: "parts", team: "T1", parts: []string{"approval", "a1b2"}, want: "ws:_:T1:approval:a1b2"},
		{name: "colon in team", team: "T1:x", want: "ws:_:T1%3Ax"},
		{name: "underscore enterprise", team: "T1", ent: "_", want: "ws:%5F:T1"},
		{name: "glob and braces", team: "T*?[]{}\\", want: "ws:_:T%2A%3F%5B%5D%7B%7D%5C"},
		{name: "percent", team: "T%3A", want: "ws:_:T%253A"},
		{name: "space and control", team: "T 1\n", want: "ws:_:T%201%0A"},
		{name: "colon in part", team: "T1", parts: []string{"a:b"}, want: "ws:_:T1:a%3Ab"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WorkspaceKey(tt.team, tt.ent, tt.parts...)
			if got != tt.want {
				t.Errorf("WorkspaceKey(%q, %q, %q) = %q, want %q", tt.team, tt.ent, tt.parts, got, tt.want)
			}
		})
		if prev, dup := seen[tt.want]; dup {
			t.Errorf("cases %q and %q share key %q", prev, tt.name, tt.want)
		}
		seen[tt.want] = tt.name
	}

	// IDs that would collide without escaping stay apart.
	if a, b := WorkspaceKey("T1:x", ""), WorkspaceKey("x", "T1"); a == b {
		t.Errorf("colliding keys %q", a)
	}
	if a, b := WorkspaceKey("T1", "_"), WorkspaceKey("T1", ""); a == b {
		t.Errorf("enterprise \"_\" collides with none: %q", a)
	}
}
