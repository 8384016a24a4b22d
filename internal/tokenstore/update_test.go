package tokenstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/tokenstore"
)

// racingKV is a KV that runs beforeCAS (once per call, with the call's
// number from 1) just before each CompareAndSwap, to stand for another
// writer that got in between Update's read and its write.
type racingKV struct {
	tokenstore.KV
	mu        sync.Mutex
	calls     int
	beforeCAS func(ctx context.Context, call int)
	// beforeRun, when set, runs before each script, likewise.
	beforeRun func(ctx context.Context)
}

func (k *racingKV) Run(ctx context.Context, script *redisstore.Script, keys []string, args ...any) (any, error) {
	if k.beforeRun != nil {
		k.beforeRun(ctx)
	}
	return k.KV.Run(ctx, script, keys, args...)
}

func (k *racingKV) CompareAndSwap(ctx context.Context, key string, old, val []byte, ttl time.Duration) (bool, error) {
	k.mu.Lock()
	k.calls++
	call := k.calls
	k.mu.Unlock()
	if k.beforeCAS != nil {
		k.beforeCAS(ctx, call)
	}
	return k.KV.CompareAndSwap(ctx, key, old, val, ttl)
}

func (k *racingKV) casCalls() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		key := newKey(t)
		s := tokenstore.New(kv, ring(t, key), notFound, tokenstore.Options{})
		ws := commands.Workspace{TeamID: "T1", EnterpriseID: "E1"}
		if err := s.Put(ctx, ws, connection()); err != nil {
			t.Fatalf("Put: %v", err)
		}
		before, err := kv.Get(ctx, rawKey(ws))
		if err != nil {
			t.Fatalf("raw Get: %v", err)
		}

		var seen commands.Connection
		err = s.Update(ctx, ws, func(c *commands.Connection) error {
			seen = *c
			c.DefaultProject = "mobile"
			c.DefaultEnv = ""
			return nil
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		sameConnection(t, seen, connection())
		want := connection()
		want.DefaultProject, want.DefaultEnv = "mobile", ""
		got, err := s.Get(ctx, ws)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		sameConnection(t, got, want)
		after, err := kv.Get(ctx, rawKey(ws))
		if err != nil {
			t.Fatalf("raw Get: %v", err)
		}
		if string(after) == string(before) {
			t.Errorf("Update did not re-seal the connection")
		}

		// An error from fn is returned as is and nothing is written.
		errStop := errors.New("stop")
		err = s.Update(ctx, ws, func(c *commands.Connection) error {
			c.DefaultProject = "never"
			return errStop
		})
		if err != errStop {
			t.Errorf("Update with failing fn error = %v, want fn's error", err)
		}
		if got, err := s.Get(ctx, ws); err != nil || got.DefaultProject != "mobile" {
			t.Errorf("after failing fn: DefaultProject = %q, %v; want \"mobile\"", got.DefaultProject, err)
		}

		// fn may not drop the token.
		err = s.Update(ctx, ws, func(c *commands.Connection) error {
			c.Token = ""
			return nil
		})
		if err == nil {
			t.Errorf("Update that empties the token succeeded")
		}
		if got, err := s.Get(ctx, ws); err != nil || got.Token.Reveal() != testToken {
			t.Errorf("after emptying the token: Get = %v; token kept = %v", err, got.Token.Reveal() == testToken)
		}
		checkClean(t, err, key)
	})
}

func TestUpdateNotConnected(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		s := tokenstore.New(kv, ring(t, newKey(t)), notFound, tokenstore.Options{})
		ws := commands.Workspace{TeamID: "T1"}
		called := false
		err := s.Update(ctx, ws, func(*commands.Connection) error { called = true; return nil })
		if !errors.Is(err, commands.ErrNotConnected) {
			t.Errorf("Update of a missing connection error = %v, want ErrNotConnected", err)
		}
		if called {
			t.Errorf("Update called fn without a connection")
		}
		if _, err := kv.Get(ctx, rawKey(ws)); !errors.Is(err, redisstore.ErrNotFound) {
			t.Errorf("Update of a missing connection wrote one: raw Get error = %v", err)
		}
	})
}

func TestUpdateRaces(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		t.Run("delete in between", func(t *testing.T) {
			ctx := t.Context()
			ws := commands.Workspace{TeamID: "TDEL"}
			rkv := &racingKV{KV: kv}
			s := tokenstore.New(rkv, ring(t, newKey(t)), notFound, tokenstore.Options{})
			if err := s.Put(ctx, ws, connection()); err != nil {
				t.Fatalf("Put: %v", err)
			}
			rkv.beforeCAS = func(ctx context.Context, call int) {
				if call == 1 {
					if err := s.Delete(ctx, ws); err != nil {
						t.Errorf("Delete: %v", err)
					}
				}
			}
			calls := 0
			err := s.Update(ctx, ws, func(c *commands.Connection) error {
				calls++
				c.DefaultProject = "mobile"
				return nil
			})
			if !errors.Is(err, commands.ErrNotConnected) {
				t.Errorf("Update after a concurrent Delete error = %v, want ErrNotConnected", err)
			}
			if calls != 1 {
				t.Errorf("fn ran %d times, want 1", calls)
			}
			if _, err := kv.Get(ctx, rawKey(ws)); !errors.Is(err, redisstore.ErrNotFound) {
				t.Errorf("Update resurrected a deleted connection: raw Get error = %v", err)
			}
		})

		t.Run("put in between", func(t *testing.T) {
			ctx := t.Context()
			ws := commands.Workspace{TeamID: "TPUT"}
			rkv := &racingKV{KV: kv}
			s := tokenstore.New(rkv, ring(t, newKey(t)), notFound, tokenstore.Options{})
			if err := s.Put(ctx, ws, connection()); err != nil {
				t.Fatalf("Put: %v", err)
			}
			reconnected := connection()
			reconnected.Token = secret.Secret("api-new-token-0000")
			reconnected.TokenID = "tok-2"
			reconnected.DefaultProject = "api"
			reconnected.ConnectedAt = reconnected.ConnectedAt.Add(time.Minute)
			rkv.beforeCAS = func(ctx context.Context, call int) {
				if call == 1 {
					if err := s.Put(ctx, ws, reconnected); err != nil {
						t.Errorf("Put: %v", err)
					}
				}
			}
			var seen []string
			err := s.Update(ctx, ws, func(c *commands.Connection) error {
				seen = append(seen, c.TokenID)
				c.DefaultEnv = "staging"
				return nil
			})
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if len(seen) != 2 || seen[0] != "tok-1" || seen[1] != "tok-2" {
				t.Errorf("fn saw token ids %q, want [tok-1 tok-2]", seen)
			}
			want := reconnected
			want.DefaultEnv = "staging"
			got, err := s.Get(ctx, ws)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			sameConnection(t, got, want)
		})

		t.Run("always contended", func(t *testing.T) {
			ctx := t.Context()
			ws := commands.Workspace{TeamID: "TBUSY"}
			rkv := &racingKV{KV: kv}
			s := tokenstore.New(rkv, ring(t, newKey(t)), notFound, tokenstore.Options{})
			if err := s.Put(ctx, ws, connection()); err != nil {
				t.Fatalf("Put: %v", err)
			}
			rkv.beforeCAS = func(ctx context.Context, _ int) {
				if err := s.Put(ctx, ws, connection()); err != nil { // a fresh nonce: new bytes
					t.Errorf("Put: %v", err)
				}
			}
			err := s.Update(ctx, ws, func(c *commands.Connection) error {
				c.DefaultEnv = "staging"
				return nil
			})
			if !errors.Is(err, tokenstore.ErrContended) {
				t.Errorf("Update under constant contention error = %v, want ErrContended", err)
			}
			if n := rkv.casCalls(); n < 2 || n > 10 {
				t.Errorf("Update tried %d times, want a few", n)
			}
			rkv.beforeCAS = nil
			if got, err := s.Get(ctx, ws); err != nil || got.DefaultEnv != "production" {
				t.Errorf("after giving up: DefaultEnv = %q, %v; want the other writer's \"production\"", got.DefaultEnv, err)
			}
		})
	})
}
