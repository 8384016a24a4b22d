package redisstore_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// TestScanKeysEveryMaster: ScanKeys finds every key, whichever master
// holds it; on a cluster the keys really are spread over three masters.
func TestScanKeysEveryMaster(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend, s *redisstore.Store) {
		ctx := t.Context()
		var want []string
		nodes := map[string]bool{}
		for i := range 60 {
			k := redisstore.WorkspaceKey(fmt.Sprintf("T%d", i), "", "connection")
			if err := s.Set(ctx, k, []byte("v"), 0); err != nil {
				t.Fatal(err)
			}
			want = append(want, k)
			nodes[redistest.NodeOf(t, s, s.Key(k))] = true
		}
		if err := s.Set(ctx, "changes:workspaces", []byte("not a workspace key"), 0); err != nil {
			t.Fatal(err)
		}
		if b.name == "cluster" && len(nodes) != 3 {
			t.Fatalf("60 workspaces landed on %d masters, want 3", len(nodes))
		}
		var got []string
		if err := s.ScanKeys(ctx, "ws:*", func(keys []string) error {
			got = append(got, keys...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		slices.Sort(want)
		if got = slices.Compact(got); !slices.Equal(got, want) {
			t.Errorf("ScanKeys found %d keys, want %d", len(got), len(want))
		}
		stop := errors.New("stop")
		if err := s.ScanKeys(ctx, "ws:*", func([]string) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("ScanKeys with a failing callback = %v, want its error", err)
		}
	})
}

// TestManyKeysInOneRoundTrip: ZRangeUpToEach and ZCountEach read sorted
// sets of many slots at once, each answer in its key's place.
func TestManyKeysInOneRoundTrip(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, _ backend, s *redisstore.Store) {
		ctx := t.Context()
		var keys []string
		for i := range 20 {
			k := redisstore.WorkspaceKey(fmt.Sprintf("T%d", i), "", "expiry")
			keys = append(keys, k)
			for j := range i % 4 {
				if err := s.ZAdd(ctx, k, float64(10*j), fmt.Sprintf("m%d", j)); err != nil {
					t.Fatal(err)
				}
			}
		}
		each, err := s.ZRangeUpToEach(ctx, keys, 15, 0)
		if err != nil {
			t.Fatal(err)
		}
		counts, err := s.ZCountEach(ctx, keys, math.Inf(-1), math.Inf(1))
		if err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			if want := min(i%4, 2); len(each[i]) != want {
				t.Errorf("ZRangeUpToEach[%d] = %v, want %d members", i, each[i], want)
			}
			if counts[i] != int64(i%4) {
				t.Errorf("ZCountEach[%d] = %d, want %d", i, counts[i], i%4)
			}
		}
		if got, err := s.ZRangeUpToEach(ctx, keys[3:4], math.Inf(1), 1); err != nil || len(got[0]) != 1 || got[0][0].Member != "m0" {
			t.Errorf("ZRangeUpToEach with limit 1 = %v, %v", got, err)
		}
	})
}

// TestPrefixWithBraceRefused: a prefix with a brace would give every key
// one hash tag; Open and OpenEmbedded refuse it.
func TestPrefixWithBraceRefused(t *testing.T) {
	t.Parallel()
	if _, err := redisstore.OpenEmbedded(t.Context(), nil, redisstore.Options{Prefix: "fb{x}"}); !errors.Is(err, redisstore.ErrInvalidPrefix) {
		t.Errorf("OpenEmbedded with a brace in the prefix = %v, want ErrInvalidPrefix", err)
	}
	if _, err := redisstore.Open(t.Context(), "redis://127.0.0.1:1/0", nil, redisstore.Options{Prefix: "fb}"}); !errors.Is(err, redisstore.ErrInvalidPrefix) {
		t.Errorf("Open with a brace in the prefix = %v, want ErrInvalidPrefix", err)
	}
}

// TestUpgradeLayout: keys of the layout before hash tags get their tagged
// names, keeping value and expiry; values naming old keys are rewritten;
// a key whose new name exists already (written by this version) yields to
// it; keys that are no workspace data stay; a second run does nothing.
func TestUpgradeLayout(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, _ backend, s *redisstore.Store) {
		ctx := t.Context()
		p := s.Key("")
		for _, cmd := range [][]any{
			{"SET", p + "ws:_:T1:connection", "sealed-1", "PX", 3600000},
			{"SET", p + "ws:_:T2:enterprise", "E1"},
			{"SET", p + "ws:E1:T2:connection", "old"},
			{"SET", p + "ws:E1:{T2}:connection", "new"},
			{"SET", p + "org:E1:installation", "sealed-org"},
			{"ZADD", p + "ws:_:T1:pending", 5, p + "ws:_:T1:change:a", 6, p + "ws:_:{T1}:change:b"},
			{"RPUSH", p + "ws:_:T1:history", p + "ws:_:T1:change:c", "not-a-key"},
			{"HSET", p + "ws:_:T1:change:a", "wsk", p + "ws:_:T1", "body", `{"x":"ws:_:T1"}`},
			{"SET", p + "ws:_:T1:dedupe:d", p + "ws:_:T1:change:a"},
			{"SET", p + "changes:sweeper-lock", "x"},
		} {
			redistest.Do(t, s, cmd...)
		}
		r, err := s.UpgradeLayout(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (redisstore.UpgradeReport{Moved: 7, Kept: 1, Values: 4}); r != want {
			t.Errorf("UpgradeLayout = %+v, want %+v", r, want)
		}
		want := `changes:sweeper-lock string: "x"
org:{E1}:installation string: "sealed-org"
ws:E1:{T2}:connection string: "new"
ws:_:{T1}:change:a hash: body="{\"x\":\"ws:_:T1\"}" wsk="<prefix>ws:_:{T1}"
ws:_:{T1}:connection string (ttl): "sealed-1"
ws:_:{T1}:dedupe:d string: "<prefix>ws:_:{T1}:change:a"
ws:_:{T1}:history list: ["<prefix>ws:_:{T1}:change:c" "not-a-key"]
ws:_:{T1}:pending zset: "<prefix>ws:_:{T1}:change:a"=5 "<prefix>ws:_:{T1}:change:b"=6
ws:_:{T2}:enterprise string: "E1"
`
		if got := redistest.Dump(t, s); got != want {
			t.Errorf("after UpgradeLayout Redis holds:\n%s\nwant:\n%s", got, want)
		}
		if r, err := s.UpgradeLayout(ctx); err != nil || r != (redisstore.UpgradeReport{}) {
			t.Errorf("second UpgradeLayout = %+v, %v; want nothing to do", r, err)
		}
	})
}
