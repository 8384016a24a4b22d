package tokenstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
	"github.com/flagbot/flagbot/internal/tokenstore"
)

var _ commands.Workspaces = (*tokenstore.Cache)(nil)

// countingKV counts Gets of s and runs afterGet (when set) after each.
type countingKV struct {
	*redisstore.Store
	gets     atomic.Int32
	mu       sync.Mutex
	afterGet func()
}

func (k *countingKV) Get(ctx context.Context, key string) ([]byte, error) {
	k.gets.Add(1)
	b, err := k.Store.Get(ctx, key)
	k.mu.Lock()
	f := k.afterGet
	k.afterGet = nil
	k.mu.Unlock()
	if f != nil {
		f()
	}
	return b, err
}

type cacheRig struct {
	kv    *countingKV
	cache *tokenstore.Cache
}

// newCache returns a Cache on kv (through a countingKV) with maxAge, and
// runs it until the test ends; it waits until it is live.
func newCache(t *testing.T, kv *redisstore.Store, r *tokenstore.Keyring, maxAge time.Duration, now func() time.Time) cacheRig {
	t.Helper()
	ck := &countingKV{Store: kv}
	c := tokenstore.NewCache(tokenstore.New(ck, r, notFound, tokenstore.Options{}), kv, tokenstore.CacheOptions{MaxAge: maxAge, Now: now})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for maxAge > 0 && !c.Live() {
		if time.Now().After(deadline) {
			t.Fatal("the cache did not come up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cacheRig{kv: ck, cache: c}
}

// getsFor runs Get n times and returns how many reached Redis.
func (r cacheRig) getsFor(t *testing.T, ws commands.Workspace, n int) int {
	t.Helper()
	before := r.kv.gets.Load()
	for range n {
		if _, err := r.cache.Get(t.Context(), ws); err != nil {
			t.Fatal(err)
		}
	}
	return int(r.kv.gets.Load() - before)
}

// TestCacheAcrossReplicas: a connection is read from Redis once and then
// from memory; a reconnect, an update and a disconnect on another replica
// reach this one within a second although its entries could live a minute.
func TestCacheAcrossReplicas(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		key := newKey(t)
		ws := commands.Workspace{TeamID: "T0CACHE"}
		there := newCache(t, redistest.Replica(t, kv, redisstore.Options{}), ring(t, key), time.Minute, nil)
		if err := there.cache.Put(t.Context(), ws, connection()); err != nil {
			t.Fatal(err)
		}
		// Up after the Put, so that its announcement cannot arrive late.
		here := newCache(t, kv, ring(t, key), time.Minute, nil)
		if n := here.getsFor(t, ws, 5); n != 1 {
			t.Errorf("5 Gets read Redis %d times, want 1", n)
		}
		seen := func(what string, ok func(commands.Connection, error) bool) {
			t.Helper()
			start := time.Now()
			for {
				c, err := here.cache.Get(t.Context(), ws)
				if ok(c, err) {
					return
				}
				if time.Since(start) > time.Second {
					t.Fatalf("%s on another replica not seen here within 1s (got %+v, %v)", what, c, err)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		reconnected := connection()
		reconnected.DefaultEnv = "staging"
		if err := there.cache.Put(t.Context(), ws, reconnected); err != nil {
			t.Fatal(err)
		}
		seen("a reconnect", func(c commands.Connection, err error) bool { return err == nil && c.DefaultEnv == "staging" })
		if err := there.cache.Update(t.Context(), ws, func(c *commands.Connection) error { c.DefaultProject = "mobile"; return nil }); err != nil {
			t.Fatal(err)
		}
		seen("an update", func(c commands.Connection, err error) bool { return err == nil && c.DefaultProject == "mobile" })
		if err := there.cache.Delete(t.Context(), ws); err != nil {
			t.Fatal(err)
		}
		seen("a disconnect", func(_ commands.Connection, err error) bool { return errors.Is(err, commands.ErrNotConnected) })
	})
}

// TestCacheNeverKeepsWhatRacedAWrite: a Get whose read from Redis raced a
// change returns what it read but does not keep it; the next Get reads the
// change.
func TestCacheNeverKeepsWhatRacedAWrite(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	ws := commands.Workspace{TeamID: "T0RACE"}
	r := newCache(t, redistest.NewTestStore(t), ring(t, key), time.Minute, nil)
	if err := r.cache.Put(t.Context(), ws, connection()); err != nil {
		t.Fatal(err)
	}
	changed := connection()
	changed.DefaultEnv = "staging"
	r.kv.mu.Lock()
	r.kv.afterGet = func() {
		if err := r.cache.Put(context.Background(), ws, changed); err != nil {
			t.Error(err)
		}
	}
	r.kv.mu.Unlock()
	if c, err := r.cache.Get(t.Context(), ws); err != nil || c.DefaultEnv != "production" {
		t.Fatalf("racing Get = %+v, %v; want what it read", c, err)
	}
	if c, err := r.cache.Get(t.Context(), ws); err != nil || c.DefaultEnv != "staging" {
		t.Errorf("Get after the race = %q, %v; want the change", c.DefaultEnv, err)
	}
}

// TestCacheAgeAndOff: entries live MaxAge; MaxAge 0 and a Cache whose
// subscription is not up serve nothing from memory.
func TestCacheAgeAndOff(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	ws := commands.Workspace{TeamID: "T0AGE"}
	kv := redistest.NewTestStore(t)
	if err := tokenstore.New(kv, ring(t, key), notFound, tokenstore.Options{}).Put(t.Context(), ws, connection()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	aged := newCache(t, kv, ring(t, key), time.Second, clock)
	if n := aged.getsFor(t, ws, 3); n != 1 {
		t.Errorf("3 Gets read Redis %d times, want 1", n)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if n := aged.getsFor(t, ws, 3); n != 1 {
		t.Errorf("after MaxAge, 3 Gets read Redis %d times, want 1 (one refresh)", n)
	}

	off := newCache(t, kv, ring(t, key), 0, nil)
	if n := off.getsFor(t, ws, 3); n != 3 {
		t.Errorf("MaxAge 0: 3 Gets read Redis %d times, want 3", n)
	}
	ck := &countingKV{Store: kv}
	notRunning := tokenstore.NewCache(tokenstore.New(ck, ring(t, key), notFound, tokenstore.Options{}), kv, tokenstore.CacheOptions{MaxAge: time.Minute})
	for range 3 {
		if _, err := notRunning.Get(t.Context(), ws); err != nil {
			t.Fatal(err)
		}
	}
	if n := ck.gets.Load(); n != 3 {
		t.Errorf("without Run, 3 Gets read Redis %d times, want 3", n)
	}
}

// TestCacheDropsEverythingWhenRedisGoesAway: an outage may swallow
// invalidations, so the cache empties and serves nothing from memory until
// its subscription is back.
func TestCacheDropsEverythingWhenRedisGoesAway(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	ws := commands.Workspace{TeamID: "T0GONE"}
	kv := redistest.NewTestStore(t)
	r := newCache(t, kv, ring(t, key), time.Minute, nil)
	if err := r.cache.Put(t.Context(), ws, connection()); err != nil {
		t.Fatal(err)
	}
	if n := r.getsFor(t, ws, 2); n != 1 {
		t.Fatalf("2 Gets read Redis %d times, want 1", n)
	}
	srv := kv.EmbeddedServer()
	srv.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for r.cache.Live() {
		if time.Now().After(deadline) {
			t.Fatal("the cache stayed live with Redis gone")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := r.cache.Get(t.Context(), ws); err == nil {
		t.Error("Get answered from memory while Redis was gone")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	for !r.cache.Live() {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("the cache did not come back")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// installsFor runs Installation n times for ws and returns how many reads
// reached Redis.
func (r cacheRig) installsFor(t *testing.T, ws commands.Workspace, n int) int {
	t.Helper()
	before := r.kv.gets.Load()
	for range n {
		if _, err := r.cache.Installation(t.Context(), ws); err != nil {
			t.Fatal(err)
		}
	}
	return int(r.kv.gets.Load() - before)
}

// TestCacheInstallationsAcrossReplicas: installations are cached like
// connections, and a reinstall or an uninstall on another replica, of a
// workspace or of an org-wide installation, reaches this one within a
// second although its entries could live a minute. A workspace named
// without its org, served by the org's installation, follows the org.
func TestCacheInstallationsAcrossReplicas(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		key := newKey(t)
		ctx := t.Context()
		there := newCache(t, redistest.Replica(t, kv, redisstore.Options{}), ring(t, key), time.Minute, nil)
		for _, inst := range []commands.Installation{teamInstall("T0INST", ""), orgInstall("E0INST")} {
			if err := there.cache.PutInstallation(ctx, inst); err != nil {
				t.Fatal(err)
			}
		}
		// T0MEMBER's connection moved into E0INST: named without its org,
		// it is served by the org's installation.
		member := commands.Workspace{TeamID: "T0MEMBER"}
		if err := there.cache.Put(ctx, commands.Workspace{TeamID: "T0MEMBER", EnterpriseID: "E0INST"}, connection()); err != nil {
			t.Fatal(err)
		}
		here := newCache(t, kv, ring(t, key), time.Minute, nil)
		team, inOrg := commands.Workspace{TeamID: "T0INST"}, commands.Workspace{TeamID: "T0OTHER", EnterpriseID: "E0INST"}
		for _, ws := range []commands.Workspace{team, inOrg, member} {
			if n := here.installsFor(t, ws, 5); n == 0 || n > 3 {
				t.Errorf("5 lookups of %+v read Redis %d times, want the first one only (1 to 3 keys)", ws, n)
			}
			if n := here.installsFor(t, ws, 5); n != 0 {
				t.Errorf("5 more lookups of %+v read Redis %d times, want 0", ws, n)
			}
		}
		seen := func(what string, ws commands.Workspace, ok func(commands.Installation, error) bool) {
			t.Helper()
			start := time.Now()
			for {
				inst, err := here.cache.Installation(ctx, ws)
				if ok(inst, err) {
					return
				}
				if time.Since(start) > time.Second {
					t.Fatalf("%s on another replica not seen here within 1s (got %s, %v)", what, inst, err)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		token := func(want string) func(commands.Installation, error) bool {
			return func(inst commands.Installation, err error) bool { return err == nil && inst.BotToken.Reveal() == want }
		}
		gone := func(_ commands.Installation, err error) bool { return errors.Is(err, commands.ErrNotInstalled) }

		again := withToken(teamInstall("T0INST", ""), "xoxb-reinstalled-T0INST")
		if err := there.cache.PutInstallation(ctx, again); err != nil {
			t.Fatal(err)
		}
		seen("a workspace's reinstall", team, token("xoxb-reinstalled-T0INST"))

		orgAgain := withToken(orgInstall("E0INST"), "xoxb-reinstalled-E0INST")
		if err := there.cache.PutInstallation(ctx, orgAgain); err != nil {
			t.Fatal(err)
		}
		seen("an org's reinstall", inOrg, token("xoxb-reinstalled-E0INST"))
		seen("an org's reinstall (workspace named without its org)", member, token("xoxb-reinstalled-E0INST"))

		if err := there.cache.DeleteInstallation(ctx, again); err != nil {
			t.Fatal(err)
		}
		seen("a workspace's uninstall", team, gone)
		if err := there.cache.DeleteInstallation(ctx, orgAgain); err != nil {
			t.Fatal(err)
		}
		seen("an org's uninstall", inOrg, gone)
		seen("an org's uninstall (workspace named without its org)", member, gone)
	})
}

// TestCacheInstallationWritesDropHere: the replica that writes an
// installation serves the new one at once, without waiting for its own
// announcement.
func TestCacheInstallationWritesDropHere(t *testing.T) {
	t.Parallel()
	r := newCache(t, redistest.NewTestStore(t), ring(t, newKey(t)), time.Minute, nil)
	ctx := t.Context()
	ws := commands.Workspace{TeamID: "T0HERE"}
	if err := r.cache.PutInstallation(ctx, teamInstall("T0HERE", "")); err != nil {
		t.Fatal(err)
	}
	if n := r.installsFor(t, ws, 3); n != 1 {
		t.Errorf("3 lookups read Redis %d times, want 1", n)
	}
	if err := r.cache.PutInstallation(ctx, withToken(teamInstall("T0HERE", ""), "xoxb-new")); err != nil {
		t.Fatal(err)
	}
	if inst, err := r.cache.Installation(ctx, ws); err != nil || inst.BotToken.Reveal() != "xoxb-new" {
		t.Errorf("right after a reinstall here, Installation = %s, %v; want the new token", inst, err)
	}
	if err := r.cache.DeleteInstallation(ctx, teamInstall("T0HERE", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.cache.Installation(ctx, ws); !errors.Is(err, commands.ErrNotInstalled) {
		t.Errorf("right after an uninstall here, Installation error = %v; want ErrNotInstalled", err)
	}
}
