package tokenstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/tokenstore"
)

// Team T1 was connected before it joined Enterprise Grid org E1: Slack
// sent no enterprise_id then, and sends E1 now.
var (
	before = commands.Workspace{TeamID: "T1"}
	inGrid = commands.Workspace{TeamID: "T1", EnterpriseID: "E1"}
)

func rawExists(t *testing.T, kv *redisstore.Store, key string) bool {
	t.Helper()
	_, err := kv.Get(t.Context(), key)
	switch {
	case errors.Is(err, redisstore.ErrNotFound):
		return false
	case err != nil:
		t.Fatalf("raw Get %s: %v", key, err)
	}
	return true
}

// TestGridKeepsTheConnection: the first read with the enterprise moves the
// connection under the workspace's key in the org (re-sealed for that key,
// with the current key), records the org for the team, and leaves nothing
// under the old key. Records that still name the workspace without its
// org (a change or a digest from before) read the same connection.
func TestGridKeepsTheConnection(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		a, b := newKey(t), newKey(t)
		if err := tokenstore.New(kv, ring(t, a), notFound, tokenstore.Options{}).Put(ctx, before, connection()); err != nil {
			t.Fatalf("Put before the grid: %v", err)
		}
		s := tokenstore.New(kv, ring(t, b, a), notFound, tokenstore.Options{}) // and the key was rotated meanwhile
		got, err := s.Get(ctx, inGrid)
		if err != nil {
			t.Fatalf("Get in the grid: %v", err)
		}
		sameConnection(t, got, connection())
		if rawExists(t, kv, rawKey(before)) {
			t.Errorf("the connection is still under %s", rawKey(before))
		}
		if kid := storedKID(t, kv, inGrid); kid != tokenstore.KeyID(b) {
			t.Errorf("moved connection sealed with %s, want the current key %s", kid, tokenstore.KeyID(b))
		}
		ent, err := kv.Get(ctx, redisstore.WorkspaceKey("T1", "", "enterprise"))
		if err != nil || string(ent) != "E1" {
			t.Errorf("enterprise of T1 = %q, %v; want E1", ent, err)
		}
		for _, ws := range []commands.Workspace{inGrid, before} {
			got, err := tokenstore.New(kv, ring(t, b), notFound, tokenstore.Options{}).Get(ctx, ws)
			if err != nil {
				t.Fatalf("Get(%+v) after the move: %v", ws, err)
			}
			sameConnection(t, got, connection())
		}

		// Updates and a reconnect through either name reach the one record.
		if err := s.Update(ctx, before, func(c *commands.Connection) error { c.DefaultEnv = "staging"; return nil }); err != nil {
			t.Fatalf("Update(before): %v", err)
		}
		if got, err := s.Get(ctx, inGrid); err != nil || got.DefaultEnv != "staging" {
			t.Errorf("Get(inGrid) after Update(before) = %q, %v; want staging", got.DefaultEnv, err)
		}
		if rawExists(t, kv, rawKey(before)) {
			t.Errorf("Update(before) wrote under %s again", rawKey(before))
		}

		// Disconnecting forgets it under both names.
		if err := s.Delete(ctx, inGrid); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		for _, ws := range []commands.Workspace{inGrid, before} {
			if _, err := s.Get(ctx, ws); !errors.Is(err, commands.ErrNotConnected) {
				t.Errorf("Get(%+v) after Delete error = %v, want ErrNotConnected", ws, err)
			}
		}
	})
}

// TestGridDeleteBeforeMove: a disconnect in the org before anything read
// the old connection must not let the next read bring it back.
func TestGridDeleteBeforeMove(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		s := tokenstore.New(kv, ring(t, newKey(t)), notFound, tokenstore.Options{})
		if err := s.Put(ctx, before, connection()); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, inGrid); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		for _, ws := range []commands.Workspace{inGrid, before} {
			if _, err := s.Get(ctx, ws); !errors.Is(err, commands.ErrNotConnected) {
				t.Errorf("Get(%+v) after Delete error = %v, want ErrNotConnected", ws, err)
			}
		}
	})
}

// TestGridReconnectWins: an admin who reconnects in the org while another
// replica moves the old connection keeps the new token.
func TestGridReconnectWins(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		rkv := &racingKV{KV: kv}
		r := ring(t, newKey(t))
		s := tokenstore.New(rkv, r, notFound, tokenstore.Options{})
		if err := s.Put(ctx, before, connection()); err != nil {
			t.Fatal(err)
		}
		reconnected := connection()
		reconnected.Token = secret.Secret("api-reconnected-0000")
		var once sync.Once
		rkv.beforeRun = func(ctx context.Context) {
			once.Do(func() {
				if err := tokenstore.New(kv, r, notFound, tokenstore.Options{}).Put(ctx, inGrid, reconnected); err != nil {
					t.Errorf("Put: %v", err)
				}
			})
		}
		got, err := s.Get(ctx, inGrid)
		if err != nil || got.Token.Reveal() != "api-reconnected-0000" {
			t.Errorf("Get after a racing reconnect = %v, reconnect kept = %v", err, got.Token.Reveal() == "api-reconnected-0000")
		}
		if rawExists(t, kv, rawKey(before)) {
			t.Errorf("the reconnect left the old connection under %s", rawKey(before))
		}
	})
}

// TestGridUnreadableStaysUntilReconnect: an old connection that no key
// opens is not moved; Get in the org reports it unreadable, and connecting
// in the org replaces it for both names.
func TestGridUnreadableStaysUntilReconnect(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		if err := tokenstore.New(kv, ring(t, newKey(t)), notFound, tokenstore.Options{}).Put(ctx, before, connection()); err != nil {
			t.Fatal(err)
		}
		s := tokenstore.New(kv, ring(t, newKey(t)), notFound, tokenstore.Options{})
		if _, err := s.Get(ctx, inGrid); !errors.Is(err, commands.ErrUnreadable) {
			t.Fatalf("Get error = %v, want ErrUnreadable", err)
		}
		if !rawExists(t, kv, rawKey(before)) {
			t.Fatalf("an unreadable connection was moved or lost")
		}
		fresh := connection()
		fresh.Token = secret.Secret("api-fresh-token-0000")
		if err := s.Put(ctx, inGrid, fresh); err != nil {
			t.Fatalf("Put: %v", err)
		}
		for _, ws := range []commands.Workspace{inGrid, before} {
			got, err := s.Get(ctx, ws)
			if err != nil || got.Token.Reveal() != "api-fresh-token-0000" {
				t.Errorf("Get(%+v) after the reconnect = %v, fresh = %v", ws, err, got.Token.Reveal() == "api-fresh-token-0000")
			}
		}
		if rawExists(t, kv, rawKey(before)) {
			t.Errorf("the unreadable connection is still under %s", rawKey(before))
		}
	})
}

// TestGridConcurrentMoves: many replicas reading at once move the
// connection once and all read it.
func TestGridConcurrentMoves(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		a, b := newKey(t), newKey(t)
		if err := tokenstore.New(kv, ring(t, a), notFound, tokenstore.Options{}).Put(ctx, before, connection()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				got, err := tokenstore.New(kv, ring(t, b, a), notFound, tokenstore.Options{}).Get(ctx, inGrid)
				if err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				sameConnection(t, got, connection())
			})
		}
		wg.Wait()
		if rawExists(t, kv, rawKey(before)) {
			t.Errorf("the connection is still under %s", rawKey(before))
		}
		if _, err := tokenstore.New(kv, ring(t, b), notFound, tokenstore.Options{}).Get(ctx, inGrid); err != nil {
			t.Errorf("Get with the current key alone: %v", err)
		}
	})
}
