package redisstore_test

import (
	"errors"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

func TestHGetAllAndSMembers(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, _ backend, s *redisstore.Store) {
		ctx := t.Context()
		redistest.Do(t, s, "HSET", s.Key("h"), "a", "1", "b", "")
		redistest.Do(t, s, "SADD", s.Key("set"), "x", "y")

		if got, err := s.HGetAll(ctx, "h"); err != nil || !maps.Equal(got, map[string]string{"a": "1", "b": ""}) {
			t.Errorf("HGetAll = %v, %v", got, err)
		}
		if got, err := s.HGetAll(ctx, "missing"); err != nil || len(got) != 0 {
			t.Errorf("HGetAll(missing) = %v, %v; want empty", got, err)
		}
		got, err := s.SMembers(ctx, "set")
		slices.Sort(got)
		if err != nil || !slices.Equal(got, []string{"x", "y"}) {
			t.Errorf("SMembers = %q, %v", got, err)
		}
		if got, err := s.SMembers(ctx, "missing"); err != nil || len(got) != 0 {
			t.Errorf("SMembers(missing) = %q, %v; want none", got, err)
		}
		if _, err := s.HGetAll(ctx, "set"); !errors.Is(err, redisstore.ErrReply) {
			t.Errorf("HGetAll of a set error = %v, want ErrReply", err)
		}
	})
}

func TestZRangeUpTo(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, _ backend, s *redisstore.Store) {
		ctx := t.Context()
		redistest.Do(t, s, "ZADD", s.Key("z"), 1800000000000, "c", 5, "b", 1.5, "a", -2, "neg")
		tests := []struct {
			name  string
			max   float64
			limit int
			want  []redisstore.ScoredMember
		}{
			{name: "all", max: math.Inf(1), want: []redisstore.ScoredMember{
				{Member: "neg", Score: -2}, {Member: "a", Score: 1.5}, {Member: "b", Score: 5}, {Member: "c", Score: 1800000000000},
			}},
			{name: "up to and including", max: 5, want: []redisstore.ScoredMember{
				{Member: "neg", Score: -2}, {Member: "a", Score: 1.5}, {Member: "b", Score: 5},
			}},
			{name: "limit", max: 1800000000000, limit: 2, want: []redisstore.ScoredMember{
				{Member: "neg", Score: -2}, {Member: "a", Score: 1.5},
			}},
			{name: "none", max: -3, want: []redisstore.ScoredMember{}},
		}
		for _, tt := range tests {
			got, err := s.ZRangeUpTo(ctx, "z", tt.max, tt.limit)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s: ZRangeUpTo(%v, %d) = %v, %v; want %v", tt.name, tt.max, tt.limit, got, err, tt.want)
			}
		}
		if got, err := s.ZRangeUpTo(ctx, "missing", 10, 0); err != nil || len(got) != 0 {
			t.Errorf("ZRangeUpTo(missing) = %v, %v; want none", got, err)
		}
	})
}

func TestLock(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend, s *redisstore.Store) {
		ctx := t.Context()
		lock := func(token string, ttl time.Duration) bool {
			t.Helper()
			ok, err := s.TryLock(ctx, "lock", token, ttl)
			if err != nil {
				t.Fatalf("TryLock(%s): %v", token, err)
			}
			return ok
		}
		unlock := func(token string) bool {
			t.Helper()
			ok, err := s.Unlock(ctx, "lock", token)
			if err != nil {
				t.Fatalf("Unlock(%s): %v", token, err)
			}
			return ok
		}
		if !lock("a", time.Minute) {
			t.Fatal("first TryLock refused")
		}
		if lock("b", time.Minute) {
			t.Fatal("TryLock granted a held lock")
		}
		if got, err := s.Get(ctx, "lock"); err != nil || string(got) != "a" {
			t.Errorf("lock holds %q, %v; want the holder's token", got, err)
		}
		if unlock("b") {
			t.Error("Unlock by a non-holder released the lock")
		}
		if !unlock("a") {
			t.Error("Unlock by the holder did not release the lock")
		}
		if unlock("a") {
			t.Error("second Unlock reported a release")
		}
		if !lock("b", 300*time.Millisecond) {
			t.Fatal("TryLock after Unlock refused")
		}
		if pttl := redistest.Do(t, s, "PTTL", s.Key("lock")).(int64); pttl <= 0 || pttl > 300 {
			t.Errorf("lock PTTL = %d ms, want 1..300", pttl)
		}
		b.advance(t, s, 500*time.Millisecond)
		if !lock("c", time.Minute) {
			t.Error("TryLock after the holder's lock expired refused")
		}
		for _, ttl := range []time.Duration{0, -time.Second} {
			if ok, err := s.TryLock(ctx, "other", "x", ttl); ok || err == nil || errors.Is(err, redisstore.ErrUnavailable) {
				t.Errorf("TryLock with ttl %v = %v, %v; want a non-Redis error", ttl, ok, err)
			}
		}
	})
}

func TestOpsUnavailable(t *testing.T) {
	t.Parallel()
	s, err := redisstore.OpenEmbedded(t.Context(), nil, redisstore.Options{OpTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	s.EmbeddedServer().Stop()
	ctx := t.Context()
	ops := map[string]func() error{
		"hgetall":  func() error { _, err := s.HGetAll(ctx, "k"); return err },
		"smembers": func() error { _, err := s.SMembers(ctx, "k"); return err },
		"zrange":   func() error { _, err := s.ZRangeUpTo(ctx, "k", 1, 1); return err },
		"lock":     func() error { _, err := s.TryLock(ctx, "k", "t", time.Second); return err },
		"unlock":   func() error { _, err := s.Unlock(ctx, "k", "t"); return err },
		"scan":     func() error { _, err := s.EnterpriseTeams(ctx, "E1"); return err },
		"setnx":    func() error { _, err := s.SetIfAbsent(ctx, "k", nil, time.Second); return err },
		"take":     func() error { _, err := s.Take(ctx, "k"); return err },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, redisstore.ErrUnavailable) {
			t.Errorf("%s with Redis down error = %v, want ErrUnavailable", name, err)
		}
	}
}

func TestEnterpriseTeams(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, _ backend, s *redisstore.Store) {
		ctx := t.Context()
		for _, k := range []string{
			redisstore.WorkspaceKey("T1", "E1", "connection"),
			redisstore.WorkspaceKey("T1", "E1", "policy"),
			redisstore.WorkspaceKey("T2", "E1", "change", "c1"),
			redisstore.WorkspaceKey("T:3", "E1", "digests"),
			redisstore.WorkspaceKey("T9", "E2", "connection"),  // another org
			redisstore.WorkspaceKey("T8", "", "connection"),    // no org
			redisstore.WorkspaceKey("T7", "E1x", "connection"), // an org whose ID starts the same
			redisstore.EnterpriseKey("E1", "installation"),
		} {
			if err := s.Set(ctx, k, []byte("v"), 0); err != nil {
				t.Fatal(err)
			}
		}
		// Many more keys than one SCAN page.
		for i := range 1200 {
			if err := s.Set(ctx, redisstore.WorkspaceKey("TBULK", "E2", "k", strconv.Itoa(i)), []byte("v"), 0); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.EnterpriseTeams(ctx, "E1")
		if err != nil || !slices.Equal(got, []string{"T1", "T2", "T:3"}) {
			t.Errorf("EnterpriseTeams(E1) = %q, %v; want T1, T2, T:3", got, err)
		}
		got, err = s.EnterpriseTeams(ctx, "E2")
		if err != nil || !slices.Equal(got, []string{"T9", "TBULK"}) {
			t.Errorf("EnterpriseTeams(E2) = %q, %v", got, err)
		}
		if got, err := s.EnterpriseTeams(ctx, "E*"); err != nil || len(got) != 0 {
			t.Errorf("EnterpriseTeams(E*) = %q, %v; a glob must match nothing", got, err)
		}
		if _, err := s.EnterpriseTeams(ctx, ""); err == nil {
			t.Error("EnterpriseTeams(\"\") did not fail")
		}
	})
}

func TestSetIfAbsentAndTake(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend, s *redisstore.Store) {
		ctx := t.Context()
		if ok, err := s.SetIfAbsent(ctx, "once", []byte("1"), 300*time.Millisecond); err != nil || !ok {
			t.Fatalf("first SetIfAbsent = %v, %v", ok, err)
		}
		if ok, err := s.SetIfAbsent(ctx, "once", []byte("2"), time.Minute); err != nil || ok {
			t.Fatalf("second SetIfAbsent = %v, %v; want false", ok, err)
		}
		if ok, err := s.Take(ctx, "once"); err != nil || !ok {
			t.Fatalf("first Take = %v, %v", ok, err)
		}
		if ok, err := s.Take(ctx, "once"); err != nil || ok {
			t.Fatalf("second Take = %v, %v; want false", ok, err)
		}
		if ok, err := s.SetIfAbsent(ctx, "short", []byte("1"), 300*time.Millisecond); err != nil || !ok {
			t.Fatalf("SetIfAbsent = %v, %v", ok, err)
		}
		b.advance(t, s, 500*time.Millisecond)
		if ok, err := s.Take(ctx, "short"); err != nil || ok {
			t.Errorf("Take after the TTL = %v, %v; want false", ok, err)
		}
		if _, err := s.SetIfAbsent(ctx, "x", nil, 0); err == nil || errors.Is(err, redisstore.ErrUnavailable) {
			t.Errorf("SetIfAbsent with no ttl error = %v, want a non-Redis error", err)
		}
	})
}

func TestTime(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, _ backend, s *redisstore.Store) {
		before := time.Now().Add(-time.Second) // TIME has microseconds; Redis may round
		got, err := s.Time(t.Context())
		after := time.Now().Add(time.Second)
		if err != nil || got.Before(before) || got.After(after) {
			t.Fatalf("Time = %v, %v; want the server's clock, here between %v and %v", got, err, before, after)
		}
		if got.Nanosecond()%1000 != 0 {
			t.Errorf("Time = %v has a finer resolution than TIME's microseconds", got)
		}
	})
}
