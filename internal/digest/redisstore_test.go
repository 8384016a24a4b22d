package digest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// digestStores runs f on an embedded store and, when configured, on a real
// Redis and on a Redis Cluster.
func digestStores(t *testing.T, f func(t *testing.T, s *RedisStore, rs *redisstore.Store)) {
	t.Helper()
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			rs := b.Open(t)
			f(t, NewRedisStore(rs, nil), rs)
		})
	}
}

func TestKeyMemberRoundTrip(t *testing.T) {
	t.Parallel()
	for _, k := range []Key{
		{TeamID: "T1", ID: "abc"},
		{TeamID: "T1", EnterpriseID: "E1", ID: "abc"},
		{TeamID: "T:1", EnterpriseID: "_", ID: "a%b:c*"},
	} {
		got, ok := parseMember(k.member())
		if !ok || got != k {
			t.Errorf("parseMember(%q) = %+v, %v; want %+v", k.member(), got, ok, k)
		}
	}
	for _, bad := range []string{"", "ws:_:T1:digest", "x:_:T1:digest:a", "ws:_:T1:digest:%G1"} {
		if _, ok := parseMember(bad); ok {
			t.Errorf("parseMember(%q) succeeded", bad)
		}
	}
}

func TestDigestCRUD(t *testing.T) {
	t.Parallel()
	digestStores(t, func(t *testing.T, s *RedisStore, _ *redisstore.Store) {
		ctx := t.Context()
		a := Key{TeamID: "T1", ID: "a"}
		b := Key{TeamID: "T1", ID: "b"}
		other := Key{TeamID: "T2", ID: "a"}
		next := time.UnixMilli(1_800_000_000_000)
		for _, k := range []Key{a, b, other} {
			if err := s.PutDigest(ctx, k, []byte(`{"id":"`+k.ID+`"}`), next); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetDigest(ctx, a)
		if err != nil || string(got.Data) != `{"id":"a"}` || !got.NextRun.Equal(next) {
			t.Fatalf("GetDigest = %+v, %v", got, err)
		}
		list, err := s.ListDigests(ctx, "T1", "")
		if err != nil || len(list) != 2 {
			t.Fatalf("ListDigests = %+v, %v; want 2", list, err)
		}
		for _, r := range list {
			if !r.NextRun.Equal(next) {
				t.Errorf("%s next run = %v", r.Key.ID, r.NextRun)
			}
		}
		deleted, err := s.DeleteDigest(ctx, a)
		if err != nil || !deleted {
			t.Fatalf("DeleteDigest = %v, %v", deleted, err)
		}
		if deleted, err = s.DeleteDigest(ctx, a); err != nil || deleted {
			t.Fatalf("second DeleteDigest = %v, %v; want false", deleted, err)
		}
		if _, err := s.GetDigest(ctx, a); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetDigest after delete: %v", err)
		}
		due, err := s.DueDigests(ctx, next, 10)
		if err != nil || len(due) != 2 {
			t.Fatalf("DueDigests = %+v, %v; want b and the other team's a", due, err)
		}
		if due, _ := s.DueDigests(ctx, next.Add(-time.Millisecond), 10); len(due) != 0 {
			t.Errorf("DueDigests before the time = %+v", due)
		}
		if list, _ := s.ListDigests(ctx, "T9", ""); len(list) != 0 {
			t.Errorf("unknown workspace lists %+v", list)
		}
	})
}

func TestDigestRunClaims(t *testing.T) {
	t.Parallel()
	digestStores(t, func(t *testing.T, s *RedisStore, _ *redisstore.Store) {
		ctx := t.Context()
		k := Key{TeamID: "T1", ID: "a"}
		due := time.UnixMilli(1_800_000_000_000)
		next := due.Add(24 * time.Hour)
		if err := s.PutDigest(ctx, k, []byte(`{}`), due); err != nil {
			t.Fatal(err)
		}
		claim := func(owner string, due time.Time) bool {
			t.Helper()
			ok, err := s.ClaimDigestRun(ctx, k, due, owner, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !claim("r1", due) {
			t.Fatal("first claim refused")
		}
		if claim("r2", due) {
			t.Fatal("second replica claimed a held run")
		}
		// A failed post gives the run back.
		if err := s.ReleaseDigestRun(ctx, k, "r2"); err != nil { // not the holder: no effect
			t.Fatal(err)
		}
		if claim("r2", due) {
			t.Fatal("release by a non-holder freed the lease")
		}
		if err := s.ReleaseDigestRun(ctx, k, "r1"); err != nil {
			t.Fatal(err)
		}
		if !claim("r2", due) {
			t.Fatal("claim after release refused")
		}
		if err := s.CompleteDigestRun(ctx, k, due, "r1", []byte("c1"), next); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("complete by a non-holder: %v; want ErrLeaseLost", err)
		}
		if err := s.CompleteDigestRun(ctx, k, due, "r2", []byte("c2"), next); err != nil {
			t.Fatal(err)
		}
		if c, err := s.DigestCursor(ctx, k); err != nil || string(c) != "c2" {
			t.Fatalf("cursor = %q, %v", c, err)
		}
		if claim("r1", due) {
			t.Fatal("a completed run was claimed again")
		}
		rec, _ := s.GetDigest(ctx, k)
		if !rec.NextRun.Equal(next) {
			t.Fatalf("next run = %v, want %v", rec.NextRun, next)
		}
		// An unscheduled run (digest now) takes only the lease and leaves
		// the schedule alone.
		if !claim("r1", time.Time{}) {
			t.Fatal("unscheduled claim refused")
		}
		if claim("r2", next) {
			t.Fatal("scheduled claim while an unscheduled run holds the lease")
		}
		if err := s.CompleteDigestRun(ctx, k, time.Time{}, "r1", []byte("c3"), time.Time{}); err != nil {
			t.Fatal(err)
		}
		if rec, _ := s.GetDigest(ctx, k); !rec.NextRun.Equal(next) {
			t.Fatalf("next run moved to %v by an unscheduled run", rec.NextRun)
		}
		// Completing after the subscription was deleted does not bring the
		// schedule back.
		if !claim("r1", next) {
			t.Fatal("claim refused")
		}
		if _, err := s.DeleteDigest(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteDigestRun(ctx, k, next, "r1", nil, next.Add(time.Hour)); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("complete after delete (lease deleted too): %v", err)
		}
		if due, _ := s.DueDigests(ctx, next.Add(48*time.Hour), 10); len(due) != 0 {
			t.Fatalf("deleted subscription still scheduled: %+v", due)
		}
	})
}

func TestDigestStoreUnavailable(t *testing.T) {
	t.Parallel()
	rs := redistest.NewTestStore(t)
	s := NewRedisStore(rs, nil)
	rs.EmbeddedServer().Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	k := Key{TeamID: "T1", ID: "a"}
	if err := s.PutDigest(ctx, k, []byte("{}"), time.Now()); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Errorf("PutDigest: %v", err)
	}
	if _, err := s.DueDigests(ctx, time.Now(), 1); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Errorf("DueDigests: %v", err)
	}
	if _, err := s.ClaimDigestRun(ctx, k, time.Now(), "o", time.Minute); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Errorf("ClaimDigestRun: %v", err)
	}
}

// TestRedisLayout pins the keys and values RedisStore writes, byte for
// byte, so that a deployed Redis keeps working. The layout changed once,
// for Redis Cluster (hash tags, each workspace's own due set,
// digests:workspaces): testdata/redis-layout-v1.golden is what the same
// steps wrote before, and TestUpgradeFromV1 shows that the migration at
// start turns it into today's. Do not regenerate either: a difference is a
// data migration.
func TestRedisLayout(t *testing.T) {
	t.Parallel()
	digestStores(t, func(t *testing.T, s *RedisStore, rs *redisstore.Store) {
		ctx := t.Context()
		a := Key{TeamID: "T1", ID: "a"}
		b := Key{TeamID: "T1", EnterpriseID: "E:1", ID: "x_y"}
		gone := Key{TeamID: "T2", ID: "gone"}
		due := time.UnixMilli(1_800_000_000_000)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(s.PutDigest(ctx, a, []byte(`{"id":"a"}`), due))
		must(s.PutDigest(ctx, b, []byte(`{"id":"b"}`), due.Add(time.Hour)))
		must(s.PutDigest(ctx, gone, []byte(`{}`), due))
		if _, err := s.DeleteDigest(ctx, gone); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.ClaimDigestRun(ctx, a, due, "owner-a", time.Minute); !ok || err != nil {
			t.Fatalf("ClaimDigestRun(a) = %v, %v", ok, err)
		}
		must(s.CompleteDigestRun(ctx, a, due, "owner-a", []byte(`{"cursor":1}`), due.Add(24*time.Hour)))
		if ok, err := s.ClaimDigestRun(ctx, b, time.Time{}, "owner-b", time.Minute); !ok || err != nil {
			t.Fatalf("ClaimDigestRun(b) = %v, %v", ok, err)
		}
		goldenFile(t, "testdata/redis-layout.golden", redistest.Dump(t, rs))
	})
}

func goldenFile(t *testing.T, path, got string) {
	t.Helper()
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, path, string(want), got)
}

func golden(t *testing.T, path, want, got string) {
	t.Helper()
	if got != want {
		t.Errorf("Redis holds:\n%s\nwant (%s):\n%s", got, path, want)
	}
}

func TestDigestForget(t *testing.T) {
	t.Parallel()
	digestStores(t, func(t *testing.T, s *RedisStore, rs *redisstore.Store) {
		ctx := t.Context()
		next := time.UnixMilli(1_800_000_000_000)
		gone := []Key{{TeamID: "T1", ID: "a"}, {TeamID: "T1", ID: "b"}}
		kept := []Key{{TeamID: "T2", ID: "a"}, {TeamID: "T1", EnterpriseID: "E1", ID: "c"}}
		for _, k := range append(append([]Key{}, gone...), kept...) {
			if err := s.PutDigest(ctx, k, []byte(`{}`), next); err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := s.ClaimDigestRun(ctx, gone[0], next, "r1", time.Minute); err != nil || !ok {
			t.Fatalf("claim: %v, %v", ok, err)
		}
		if err := s.CompleteDigestRun(ctx, gone[0], next, "r1", []byte(`{"c":1}`), next.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.ClaimDigestRun(ctx, gone[1], time.Time{}, "r1", time.Minute); err != nil || !ok {
			t.Fatalf("claim: %v, %v", ok, err)
		}
		n, err := s.Forget(ctx, commands.Workspace{TeamID: "T1"})
		if err != nil || n != 2 {
			t.Fatalf("Forget = %d, %v; want 2", n, err)
		}
		if recs, err := s.ListDigests(ctx, "T1", ""); err != nil || len(recs) != 0 {
			t.Errorf("T1's digests after Forget = %d, %v", len(recs), err)
		}
		due, err := s.DueDigests(ctx, next.Add(2*time.Hour), 10)
		if err != nil || len(due) != 2 {
			t.Errorf("due after Forget = %+v, %v; want the 2 kept", due, err)
		}
		for _, k := range kept {
			if _, err := s.GetDigest(ctx, k); err != nil {
				t.Errorf("%+v after Forget: %v", k, err)
			}
		}
		for _, key := range []string{gone[0].part("cursor"), gone[1].part("lock"), gone[0].index()} {
			if _, err := rs.Get(ctx, key); !errors.Is(err, redisstore.ErrNotFound) {
				t.Errorf("%s after Forget: %v", key, err)
			}
		}
	})
}

// An intent is written only under the lease, survives a release (the post
// may have gone out), and goes with the run's record, a settled earlier
// run, or the subscription.
func TestDigestIntents(t *testing.T) {
	t.Parallel()
	digestStores(t, func(t *testing.T, s *RedisStore, rs *redisstore.Store) {
		ctx := t.Context()
		k := Key{TeamID: "T1", ID: "a"}
		due := time.UnixMilli(1_800_000_000_000)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		intent := func() string {
			t.Helper()
			b, err := s.DigestIntent(ctx, k)
			if errors.Is(err, ErrNotFound) {
				return ""
			}
			must(err)
			return string(b)
		}
		must(s.PutDigest(ctx, k, []byte(`{}`), due))
		if err := s.PutDigestIntent(ctx, k, "r1", []byte("i0")); !errors.Is(err, ErrLeaseLost) || intent() != "" {
			t.Fatalf("intent without the lease: %v, stored %q", err, intent())
		}
		if ok, err := s.ClaimDigestRun(ctx, k, due, "r1", time.Minute); !ok || err != nil {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		must(s.PutDigestIntent(ctx, k, "r1", []byte("i1")))
		if !strings.Contains(redistest.Dump(t, rs), `ws:_:{T1}:digest:a:intent string (ttl): "i1"`) {
			t.Errorf("intent key:\n%s", redistest.Dump(t, rs))
		}
		// The replica dies: the lease expires (here: is released), the
		// intent stays for the next run.
		must(s.ReleaseDigestRun(ctx, k, "r1"))
		if got := intent(); got != "i1" {
			t.Fatalf("intent after release = %q", got)
		}
		if ok, err := s.ClaimDigestRun(ctx, k, due, "r2", time.Minute); !ok || err != nil {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		if err := s.SettleDigestIntent(ctx, k, "r1", []byte("c1")); !errors.Is(err, ErrLeaseLost) || intent() != "i1" {
			t.Fatalf("settle without the lease: %v, intent %q", err, intent())
		}
		must(s.SettleDigestIntent(ctx, k, "r2", []byte("c1")))
		if c, err := s.DigestCursor(ctx, k); err != nil || string(c) != "c1" || intent() != "" {
			t.Fatalf("after settle: cursor %q, %v, intent %q", c, err, intent())
		}
		// Settling keeps the lease: r2 goes on with its own run.
		must(s.PutDigestIntent(ctx, k, "r2", []byte("i2")))
		must(s.CompleteDigestRun(ctx, k, due, "r2", []byte("c2"), due.Add(time.Hour)))
		if got := intent(); got != "" {
			t.Fatalf("intent after complete = %q", got)
		}
		if ok, err := s.ClaimDigestRun(ctx, k, time.Time{}, "r3", time.Minute); !ok || err != nil {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		must(s.PutDigestIntent(ctx, k, "r3", []byte("i3")))
		if _, err := s.DeleteDigest(ctx, k); err != nil {
			t.Fatal(err)
		}
		if got := intent(); got != "" {
			t.Fatalf("intent after unsubscribe = %q", got)
		}
	})
}

func TestDigestStoreTime(t *testing.T) {
	t.Parallel()
	digestStores(t, func(t *testing.T, s *RedisStore, _ *redisstore.Store) {
		before := time.Now().Add(-time.Second)
		got, err := s.Time(t.Context())
		if err != nil || got.Before(before) || got.After(time.Now().Add(time.Second)) {
			t.Fatalf("Time = %v, %v; want Redis's clock, here the machine's", got, err)
		}
	})
}

// TestUpgradeFromV1: a Redis holding what TestRedisLayout's steps wrote in
// the layout before hash tags (redis-layout-v1.golden) holds, after the
// migration at start (redisstore's UpgradeLayout, then UpgradeIndexes),
// what they write today (redis-layout.golden), but for the workspace whose
// only subscription was deleted before: the migration cannot know it ever
// had one, and need not. Running it again changes nothing, and the
// migrated subscriptions are due and runnable.
func TestUpgradeFromV1(t *testing.T) {
	t.Parallel()
	v1, err := os.ReadFile("testdata/redis-layout-v1.golden")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/redis-layout.golden")
	if err != nil {
		t.Fatal(err)
	}
	wantUpgraded := strings.Replace(string(want), ` "ws:_:{T2}"]`, `]`, 1)
	digestStores(t, func(t *testing.T, s *RedisStore, rs *redisstore.Store) {
		ctx := t.Context()
		redistest.Load(t, rs, string(v1))
		upgrade := func() (redisstore.UpgradeReport, int) {
			t.Helper()
			r, err := rs.UpgradeLayout(ctx)
			if err != nil {
				t.Fatalf("UpgradeLayout: %v", err)
			}
			n, err := s.UpgradeIndexes(ctx)
			if err != nil {
				t.Fatalf("UpgradeIndexes: %v", err)
			}
			return r, n
		}
		if r, n := upgrade(); r.Moved != 7 || n != 2 {
			t.Errorf("first upgrade: %+v, %d due entries; want 7 keys moved, 2 due entries", r, n)
		}
		golden(t, "testdata/redis-layout.golden (less T2)", wantUpgraded, redistest.Dump(t, rs))
		if r, n := upgrade(); r != (redisstore.UpgradeReport{}) || n != 0 {
			t.Errorf("second upgrade: %+v, %d; want nothing to do", r, n)
		}
		due, err := s.DueDigests(ctx, time.UnixMilli(1_800_100_000_000), 0)
		if err != nil || len(due) != 2 || due[0].Key.ID != "x_y" || due[1].Key.ID != "a" {
			t.Fatalf("DueDigests after the upgrade = %+v, %v", due, err)
		}
		a := due[1]
		if ok, err := s.ClaimDigestRun(ctx, a.Key, a.Due, "r", time.Minute); !ok || err != nil {
			t.Fatalf("ClaimDigestRun after the upgrade = %v, %v", ok, err)
		}
		if c, err := s.DigestCursor(ctx, a.Key); err != nil || string(c) != `{"cursor":1}` {
			t.Errorf("cursor after the upgrade = %s, %v", c, err)
		}
	})
}

// TestDueDigestsOnEveryMaster: subscriptions of workspaces whose keys live
// on different masters of a cluster are all found due, earliest first.
func TestDueDigestsOnEveryMaster(t *testing.T) {
	t.Parallel()
	digestStores(t, func(t *testing.T, s *RedisStore, rs *redisstore.Store) {
		ctx := t.Context()
		next := time.UnixMilli(1_800_000_000_000)
		nodes := map[string]bool{}
		var keys []Key
		for i := 0; len(keys) < 3 && i < 1000; i++ {
			k := Key{TeamID: fmt.Sprintf("T0DUE%d", i), ID: "d"}
			node := redistest.NodeOf(t, rs, rs.Key(k.due()))
			if rs.Cluster() && nodes[node] {
				continue
			}
			nodes[node] = true
			keys = append(keys, k)
		}
		if rs.Cluster() && len(nodes) != 3 {
			t.Fatalf("subscriptions on %d masters, want 3", len(nodes))
		}
		for i, k := range keys {
			if err := s.PutDigest(ctx, k, []byte(`{}`), next.Add(time.Duration(len(keys)-i)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		due, err := s.DueDigests(ctx, next.Add(time.Hour), 10)
		if err != nil || len(due) != 3 {
			t.Fatalf("DueDigests = %+v, %v; want 3", due, err)
		}
		for i, d := range due {
			if want := keys[len(keys)-1-i]; d.Key != want {
				t.Errorf("due[%d] = %+v, want %+v (earliest first)", i, d.Key, want)
			}
		}
		if due, err := s.DueDigests(ctx, next.Add(time.Hour), 2); err != nil || len(due) != 2 {
			t.Errorf("DueDigests with limit 2 = %d, %v", len(due), err)
		}
	})
}
