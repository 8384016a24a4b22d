package tokenstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/tokenstore"
)

// storedKID returns the key id in ws's stored envelope.
func storedKID(t *testing.T, kv tokenstore.KV, ws commands.Workspace) string {
	t.Helper()
	raw, err := kv.Get(t.Context(), rawKey(ws))
	if err != nil {
		t.Fatalf("raw Get: %v", err)
	}
	var env struct{ KID string }
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("envelope: %v", err)
	}
	return env.KID
}

// TestGetRewrapsOldKey: reading a connection sealed with an old key of the
// keyring seals it again with the current key, so the old key can be
// dropped once every workspace was read.
func TestGetRewrapsOldKey(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		a, b := newKey(t), newKey(t)
		ws := commands.Workspace{TeamID: "T1"}
		if err := tokenstore.New(kv, ring(t, a), notFound, tokenstore.Options{}).Put(ctx, ws, connection()); err != nil {
			t.Fatalf("Put with key A: %v", err)
		}
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		got, err := tokenstore.New(kv, ring(t, b, a), notFound, tokenstore.Options{Logger: log}).Get(ctx, ws)
		if err != nil {
			t.Fatalf("Get with current B and old A: %v", err)
		}
		sameConnection(t, got, connection())
		if kid := storedKID(t, kv, ws); kid != tokenstore.KeyID(b) {
			t.Errorf("kid after Get = %s, want B's %s", kid, tokenstore.KeyID(b))
		}
		want := fmt.Sprintf(`level=INFO msg="re-encrypted a connection with the current key" component=tokenstore team_id=T1 old_key_id=%s key_id=%s`,
			tokenstore.KeyID(a), tokenstore.KeyID(b))
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log = %q, want a line with %q", logs.String(), want)
		}
		got, err = tokenstore.New(kv, ring(t, b), notFound, tokenstore.Options{}).Get(ctx, ws)
		if err != nil {
			t.Fatalf("Get with B alone after the rewrap: %v", err)
		}
		sameConnection(t, got, connection())
	})
}

// TestRewrapNeverOverwritesAReconnect: when an admin reconnects between
// the read and the rewrap, the rewrap gives way.
func TestRewrapNeverOverwritesAReconnect(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		a, b := newKey(t), newKey(t)
		ws := commands.Workspace{TeamID: "T1"}
		if err := tokenstore.New(kv, ring(t, a), notFound, tokenstore.Options{}).Put(ctx, ws, connection()); err != nil {
			t.Fatalf("Put with key A: %v", err)
		}
		rkv := &racingKV{KV: kv}
		s := tokenstore.New(rkv, ring(t, b, a), notFound, tokenstore.Options{})
		reconnected := connection()
		reconnected.Token = secret.Secret("api-reconnected-0000")
		rkv.beforeCAS = func(ctx context.Context, call int) {
			if call == 1 {
				if err := s.Put(ctx, ws, reconnected); err != nil {
					t.Errorf("Put: %v", err)
				}
			}
		}
		got, err := s.Get(ctx, ws)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		sameConnection(t, got, connection()) // what was read
		if n := rkv.casCalls(); n != 1 {
			t.Errorf("rewrap CAS calls = %d, want 1", n)
		}
		rkv.beforeCAS = nil
		got, err = s.Get(ctx, ws)
		if err != nil || got.Token.Reveal() != "api-reconnected-0000" {
			t.Errorf("after the race: Get = %v, reconnect kept = %v", err, got.Token.Reveal() == "api-reconnected-0000")
		}
	})
}

// TestUnreadableIsItsOwnError: a connection no key opens is ErrUnreadable
// for Get and Update (never ErrNotConnected, never a store failure); Put
// and Delete replace or remove it.
func TestUnreadableIsItsOwnError(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		a, b := newKey(t), newKey(t)
		for _, ws := range []commands.Workspace{{TeamID: "T1"}, {TeamID: "T2", EnterpriseID: "E1"}} {
			if err := tokenstore.New(kv, ring(t, a), notFound, tokenstore.Options{}).Put(ctx, ws, connection()); err != nil {
				t.Fatalf("Put with key A: %v", err)
			}
			s := tokenstore.New(kv, ring(t, b), notFound, tokenstore.Options{}) // A is lost
			_, err := s.Get(ctx, ws)
			if !errors.Is(err, commands.ErrUnreadable) || !errors.Is(err, tokenstore.ErrUnknownKey) || errors.Is(err, commands.ErrNotConnected) {
				t.Errorf("%+v: Get error = %v, want ErrUnreadable and ErrUnknownKey", ws, err)
			}
			checkClean(t, err, a)
			err = s.Update(ctx, ws, func(*commands.Connection) error { return nil })
			if !errors.Is(err, commands.ErrUnreadable) {
				t.Errorf("%+v: Update error = %v, want ErrUnreadable", ws, err)
			}
			if err := s.Put(ctx, ws, connection()); err != nil {
				t.Fatalf("%+v: Put over an unreadable connection: %v", ws, err)
			}
			if _, err := s.Get(ctx, ws); err != nil {
				t.Errorf("%+v: Get after the reconnect: %v", ws, err)
			}
			if err := tokenstore.New(kv, ring(t, a), notFound, tokenstore.Options{}).Put(ctx, ws, connection()); err != nil {
				t.Fatalf("Put with key A: %v", err)
			}
			if err := s.Delete(ctx, ws); err != nil {
				t.Fatalf("%+v: Delete of an unreadable connection: %v", ws, err)
			}
			if _, err := s.Get(ctx, ws); !errors.Is(err, commands.ErrNotConnected) {
				t.Errorf("%+v: Get after Delete error = %v, want ErrNotConnected", ws, err)
			}
		}
	})
}
