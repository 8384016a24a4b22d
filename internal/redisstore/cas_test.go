package redisstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/redisstore"
)

func TestCompareAndSwap(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend, s *redisstore.Store) {
		ctx := t.Context()
		tests := []struct {
			name    string
			initial []byte // nil: the key does not exist
			old     []byte
			val     []byte
			wantOK  bool
			want    []byte // nil: the key must not exist afterwards
		}{
			{name: "matching value", initial: []byte("v1"), old: []byte("v1"), val: []byte("v2"), wantOK: true, want: []byte("v2")},
			{name: "other value", initial: []byte("v1"), old: []byte("v0"), val: []byte("v2"), want: []byte("v1")},
			{name: "missing key, old given", old: []byte("v1"), val: []byte("v2")},
			{name: "missing key, nil old", val: []byte("v2"), wantOK: true, want: []byte("v2")},
			{name: "existing key, nil old", initial: []byte("v1"), val: []byte("v2"), want: []byte("v1")},
			{name: "empty value matches empty old", initial: []byte{}, old: []byte{}, val: []byte("v2"), wantOK: true, want: []byte("v2")},
			{name: "empty value is not missing", initial: []byte{}, val: []byte("v2"), want: []byte{}},
			{name: "binary", initial: []byte{0, 0xff, 1}, old: []byte{0, 0xff, 1}, val: []byte{2, 0}, wantOK: true, want: []byte{2, 0}},
			{name: "binary prefix does not match", initial: []byte{0, 0xff, 1}, old: []byte{0, 0xff}, val: []byte{2}, want: []byte{0, 0xff, 1}},
		}
		for i, tt := range tests {
			key := redisstore.WorkspaceKey("T1", "", "cas", string(rune('a'+i)))
			if tt.initial != nil {
				if err := s.Set(ctx, key, tt.initial, 0); err != nil {
					t.Fatalf("%s: Set: %v", tt.name, err)
				}
			}
			ok, err := s.CompareAndSwap(ctx, key, tt.old, tt.val, 0)
			if err != nil {
				t.Fatalf("%s: CompareAndSwap: %v", tt.name, err)
			}
			if ok != tt.wantOK {
				t.Errorf("%s: CompareAndSwap = %v, want %v", tt.name, ok, tt.wantOK)
			}
			got, err := s.Get(ctx, key)
			switch {
			case tt.want == nil && !errors.Is(err, redisstore.ErrNotFound):
				t.Errorf("%s: Get = %q, %v; want redisstore.ErrNotFound", tt.name, got, err)
			case tt.want != nil && (err != nil || string(got) != string(tt.want)):
				t.Errorf("%s: Get = %q, %v; want %q", tt.name, got, err, tt.want)
			}
		}

		// A ttl applies to the new value.
		const ttl = 300 * time.Millisecond
		if ok, err := s.CompareAndSwap(ctx, "cas-ttl", nil, []byte("v"), ttl); !ok || err != nil {
			t.Fatalf("CompareAndSwap with ttl = %v, %v; want true, nil", ok, err)
		}
		b.advance(t, s, ttl+200*time.Millisecond)
		if _, err := s.Get(ctx, "cas-ttl"); !errors.Is(err, redisstore.ErrNotFound) {
			t.Errorf("Get after ttl error = %v, want redisstore.ErrNotFound", err)
		}

		if ok, err := s.CompareAndSwap(ctx, "cas-neg", nil, []byte("v"), -time.Second); ok || err == nil || errors.Is(err, redisstore.ErrUnavailable) {
			t.Errorf("CompareAndSwap with negative ttl = %v, %v; want false and a non-Redis error", ok, err)
		}
		if _, err := s.Get(ctx, "cas-neg"); !errors.Is(err, redisstore.ErrNotFound) {
			t.Errorf("negative ttl stored a value: Get error = %v", err)
		}
	})
}

func TestCompareAndSwapUnavailable(t *testing.T) {
	t.Parallel()
	s, err := redisstore.OpenEmbedded(t.Context(), nil, redisstore.Options{OpTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("redisstore.OpenEmbedded: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if ok, err := s.CompareAndSwap(t.Context(), "k", nil, []byte("v"), 0); ok || !errors.Is(err, redisstore.ErrUnavailable) {
		t.Errorf("CompareAndSwap with Redis down = %v, %v; want false, redisstore.ErrUnavailable", ok, err)
	}
}
