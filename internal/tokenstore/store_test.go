package tokenstore_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/tokenstore"
)

var _ commands.Workspaces = (*tokenstore.Store)(nil)

const testToken = "api-1234abcd-5678-ef90-aaaa-bbbbccccdddd"

func notFound(err error) bool { return errors.Is(err, redisstore.ErrNotFound) }

// backends are the KVs every Store test runs on: miniredis always, a real
// Redis when FLAGBOT_TEST_REDIS_URL is set, a Redis Cluster when
// FLAGBOT_TEST_REDIS_CLUSTER_URL is.
func backends() []struct {
	name string
	open func(testing.TB) *redisstore.Store
} {
	return []struct {
		name string
		open func(testing.TB) *redisstore.Store
	}{
		{"miniredis", redistest.NewTestStore},
		{"redis", redistest.NewRealTestStore},
		{"cluster", redistest.NewClusterTestStore},
	}
}

// forEachBackend runs f once per backend, as parallel subtests.
func forEachBackend(t *testing.T, f func(t *testing.T, kv *redisstore.Store)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b.open(t))
		})
	}
}

func newKey(t *testing.T) secret.Secret {
	t.Helper()
	k, err := tokenstore.GenerateKey()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	return k
}

func ring(t *testing.T, current secret.Secret, old ...secret.Secret) *tokenstore.Keyring {
	t.Helper()
	keys := map[string]secret.Secret{tokenstore.KeyID(current): current}
	for _, k := range old {
		keys[tokenstore.KeyID(k)] = k
	}
	r, err := tokenstore.NewKeyring(tokenstore.KeyID(current), keys)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return r
}

func connection() commands.Connection {
	return commands.Connection{
		Token:          testToken,
		TokenID:        "tok-1",
		TokenName:      "flagbot reader",
		Role:           "reader",
		DefaultProject: "web",
		DefaultEnv:     "production",
		ConnectedBy:    "U0ADMIN",
		ConnectedAt:    time.Date(2026, 11, 27, 5, 30, 0, 123456789, time.UTC),
	}
}

func rawKey(ws commands.Workspace) string {
	return redisstore.WorkspaceKey(ws.TeamID, ws.EnterpriseID, "connection")
}

// checkClean fails if err's text holds the token or key material.
func checkClean(t *testing.T, err error, key secret.Secret) {
	t.Helper()
	msg := fmt.Sprintf("%v | %+v", err, err)
	if strings.Contains(msg, testToken) || strings.Contains(msg, key.Reveal()) ||
		strings.Contains(msg, base64.StdEncoding.EncodeToString([]byte(key.Reveal()))) {
		t.Errorf("error reveals a secret: %s", msg)
	}
}

func sameConnection(t *testing.T, got, want commands.Connection) {
	t.Helper()
	if got.Token.Reveal() != want.Token.Reveal() {
		t.Errorf("token differs after round trip")
	}
	if !got.ConnectedAt.Equal(want.ConnectedAt) {
		t.Errorf("ConnectedAt = %v, want %v", got.ConnectedAt, want.ConnectedAt)
	}
	got.ConnectedAt, want.ConnectedAt = time.Time{}, time.Time{}
	got.Token, want.Token = "", ""
	if got != want {
		t.Errorf("connection = %+v, want %+v", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		s := tokenstore.New(kv, ring(t, newKey(t)), notFound, tokenstore.Options{})
		workspaces := []commands.Workspace{
			{TeamID: "T0123ABC"},
			{TeamID: "T0456DEF", EnterpriseID: "E0999"}, // inside a grid (a team ID is one workspace: see TestGrid)
			{TeamID: "T9:x", EnterpriseID: "_"},         // escaped like redisstore.WorkspaceKey
		}
		for i, ws := range workspaces {
			c := connection()
			c.DefaultEnv = fmt.Sprintf("env-%d", i)
			if err := s.Put(ctx, ws, c); err != nil {
				t.Fatalf("Put(%+v): %v", ws, err)
			}
		}
		for i, ws := range workspaces {
			want := connection()
			want.DefaultEnv = fmt.Sprintf("env-%d", i)
			got, err := s.Get(ctx, ws)
			if err != nil {
				t.Fatalf("Get(%+v): %v", ws, err)
			}
			sameConnection(t, got, want)
			if _, err := kv.Get(ctx, rawKey(ws)); err != nil {
				t.Errorf("nothing stored at redisstore.WorkspaceKey for %+v: %v", ws, err)
			}
		}

		// Replacing keeps one connection.
		c := connection()
		c.Role = "writer"
		if err := s.Put(ctx, workspaces[0], c); err != nil {
			t.Fatalf("Put again: %v", err)
		}
		if got, err := s.Get(ctx, workspaces[0]); err != nil || got.Role != "writer" {
			t.Errorf("Get after replace = role %q, %v; want writer", got.Role, err)
		}

		if err := s.Delete(ctx, workspaces[0]); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := s.Get(ctx, workspaces[0]); !errors.Is(err, commands.ErrNotConnected) {
			t.Errorf("Get after Delete error = %v, want ErrNotConnected", err)
		}
		if _, err := s.Get(ctx, workspaces[1]); err != nil {
			t.Errorf("Delete removed another workspace's connection: %v", err)
		}
		if err := s.Delete(ctx, workspaces[0]); err != nil {
			t.Errorf("Delete of a missing connection = %v, want nil", err)
		}
	})
}

func TestGetMissing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		s := tokenstore.New(kv, ring(t, newKey(t)), notFound, tokenstore.Options{})
		_, err := s.Get(t.Context(), commands.Workspace{TeamID: "T404"})
		if !errors.Is(err, commands.ErrNotConnected) {
			t.Errorf("Get of a missing workspace error = %v, want ErrNotConnected", err)
		}
	})
}

func TestStoredBytes(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		key := newKey(t)
		s := tokenstore.New(kv, ring(t, key), notFound, tokenstore.Options{})
		ws := commands.Workspace{TeamID: "T1"}
		if err := s.Put(ctx, ws, connection()); err != nil {
			t.Fatalf("Put: %v", err)
		}
		first, err := kv.Get(ctx, rawKey(ws))
		if err != nil {
			t.Fatalf("raw Get: %v", err)
		}
		for _, needle := range []string{
			testToken,
			base64.StdEncoding.EncodeToString([]byte(testToken)),
			testToken[len(testToken)-12:],
			"[REDACTED]",
			"flagbot reader", // the metadata is encrypted too
			key.Reveal(),
			base64.StdEncoding.EncodeToString([]byte(key.Reveal())),
		} {
			if bytes.Contains(first, []byte(needle)) {
				t.Errorf("stored value contains %q", needle)
			}
		}

		var env map[string]any
		if err := json.Unmarshal(first, &env); err != nil {
			t.Fatalf("stored value is not JSON: %v", err)
		}
		if len(env) != 4 || env["v"] != float64(1) || env["kid"] != tokenstore.KeyID(key) {
			t.Errorf("envelope = %v, want v=1, kid=%s, nonce, ct", env, tokenstore.KeyID(key))
		}
		for _, f := range []string{"nonce", "ct"} {
			str, _ := env[f].(string)
			if _, err := base64.StdEncoding.DecodeString(str); err != nil || str == "" {
				t.Errorf("envelope %s = %q, want base64", f, str)
			}
		}

		// A second Put of the same connection uses a fresh nonce.
		if err := s.Put(ctx, ws, connection()); err != nil {
			t.Fatalf("Put again: %v", err)
		}
		second, err := kv.Get(ctx, rawKey(ws))
		if err != nil {
			t.Fatalf("raw Get: %v", err)
		}
		if bytes.Equal(first, second) {
			t.Error("two Puts stored identical bytes: nonce reused")
		}
	})
}

func TestUnreadable(t *testing.T) {
	t.Parallel()
	ws := commands.Workspace{TeamID: "T1"}
	other := commands.Workspace{TeamID: "T2"}
	tests := []struct {
		name    string
		mangle  func(t *testing.T, env map[string]any) // edits the envelope of ws
		raw     []byte                                 // or stores these bytes instead
		moveTo  *commands.Workspace                    // or copies the value there and reads it back
		wantErr error
	}{
		{name: "copied to another workspace", moveTo: &other, wantErr: tokenstore.ErrCorrupt},
		{name: "ciphertext flipped", mangle: flipBase64("ct"), wantErr: tokenstore.ErrCorrupt},
		{name: "nonce flipped", mangle: flipBase64("nonce"), wantErr: tokenstore.ErrCorrupt},
		{name: "nonce short", mangle: func(_ *testing.T, env map[string]any) { env["nonce"] = "AAAA" }, wantErr: tokenstore.ErrCorrupt},
		{name: "ciphertext truncated", mangle: func(_ *testing.T, env map[string]any) { env["ct"] = "AAAA" }, wantErr: tokenstore.ErrCorrupt},
		{name: "version 2", mangle: func(_ *testing.T, env map[string]any) { env["v"] = 2 }, wantErr: tokenstore.ErrCorrupt},
		{name: "unknown kid", mangle: func(_ *testing.T, env map[string]any) { env["kid"] = "deadbeef" }, wantErr: tokenstore.ErrUnknownKey},
		{name: "not json", raw: []byte("\x00not json " + testToken), wantErr: tokenstore.ErrCorrupt},
		{name: "empty", raw: []byte{}, wantErr: tokenstore.ErrCorrupt},
	}
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				key := newKey(t)
				s := tokenstore.New(kv, ring(t, key), notFound, tokenstore.Options{})
				if err := s.Put(ctx, ws, connection()); err != nil {
					t.Fatalf("Put: %v", err)
				}
				stored, err := kv.Get(ctx, rawKey(ws))
				if err != nil {
					t.Fatalf("raw Get: %v", err)
				}
				target := ws
				switch {
				case tt.moveTo != nil:
					target = *tt.moveTo
				case tt.raw != nil:
					stored = tt.raw
				default:
					var env map[string]any
					if err := json.Unmarshal(stored, &env); err != nil {
						t.Fatalf("envelope: %v", err)
					}
					tt.mangle(t, env)
					if stored, err = json.Marshal(env); err != nil {
						t.Fatalf("envelope: %v", err)
					}
				}
				if err := kv.Set(ctx, rawKey(target), stored, 0); err != nil {
					t.Fatalf("raw Set: %v", err)
				}

				_, err = s.Get(ctx, target)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Get error = %v, want %v", err, tt.wantErr)
				}
				if errors.Is(err, commands.ErrNotConnected) {
					t.Errorf("unreadable connection reported as not connected: %v", err)
				}
				if !errors.Is(err, commands.ErrUnreadable) {
					t.Errorf("Get error = %v, want it to match commands.ErrUnreadable", err)
				}
				checkClean(t, err, key)
			})
		}
	})
}

// flipBase64 returns a mangler that flips one bit of a base64 field.
func flipBase64(field string) func(t *testing.T, env map[string]any) {
	return func(t *testing.T, env map[string]any) {
		t.Helper()
		str, _ := env[field].(string)
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil || len(b) == 0 {
			t.Fatalf("envelope %s = %q: %v", field, str, err)
		}
		b[len(b)/2] ^= 0x01
		env[field] = base64.StdEncoding.EncodeToString(b)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		a, b := newKey(t), newKey(t)
		ws := commands.Workspace{TeamID: "T1", EnterpriseID: "E1"}
		if err := tokenstore.New(kv, ring(t, a), notFound, tokenstore.Options{}).Put(ctx, ws, connection()); err != nil {
			t.Fatalf("Put with key A: %v", err)
		}

		rotated := tokenstore.New(kv, ring(t, b, a), notFound, tokenstore.Options{})
		got, err := rotated.Get(ctx, ws)
		if err != nil {
			t.Fatalf("Get with current B and old A: %v", err)
		}
		sameConnection(t, got, connection())

		// Writing again moves the connection to key B.
		if err := rotated.Put(ctx, ws, got); err != nil {
			t.Fatalf("Put with key B: %v", err)
		}
		raw, err := kv.Get(ctx, rawKey(ws))
		if err != nil {
			t.Fatalf("raw Get: %v", err)
		}
		var env struct{ KID string }
		if err := json.Unmarshal(raw, &env); err != nil || env.KID != tokenstore.KeyID(b) {
			t.Errorf("kid after re-Put = %q, %v; want %s", env.KID, err, tokenstore.KeyID(b))
		}
		if _, err := tokenstore.New(kv, ring(t, b), notFound, tokenstore.Options{}).Get(ctx, ws); err != nil {
			t.Errorf("Get with only B after re-Put: %v", err)
		}

		// Key A alone cannot read what B wrote: a clear error, no panic.
		_, err = tokenstore.New(kv, ring(t, a), notFound, tokenstore.Options{}).Get(ctx, ws)
		if !errors.Is(err, tokenstore.ErrUnknownKey) || !strings.Contains(err.Error(), tokenstore.KeyID(b)) {
			t.Errorf("Get with only A error = %v, want ErrUnknownKey naming %s", err, tokenstore.KeyID(b))
		}
		checkClean(t, err, a)
		checkClean(t, err, b)
	})
}

func TestKVDown(t *testing.T) {
	t.Parallel()
	kv, err := redisstore.OpenEmbedded(t.Context(), nil, redisstore.Options{OpTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	key := newKey(t)
	s := tokenstore.New(kv, ring(t, key), notFound, tokenstore.Options{})
	ws := commands.Workspace{TeamID: "T1"}
	if err := s.Put(t.Context(), ws, connection()); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := kv.Close(); err != nil { // stops the embedded server
		t.Fatalf("Close: %v", err)
	}

	_, err = s.Get(t.Context(), ws)
	if err == nil || errors.Is(err, commands.ErrNotConnected) || !errors.Is(err, redisstore.ErrUnavailable) {
		t.Errorf("Get with Redis down error = %v, want ErrUnavailable and not ErrNotConnected", err)
	}
	checkClean(t, err, key)
	if err := s.Put(t.Context(), ws, connection()); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Errorf("Put with Redis down error = %v, want ErrUnavailable", err)
	}
	if err := s.Delete(t.Context(), ws); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Errorf("Delete with Redis down error = %v, want ErrUnavailable", err)
	}
	err = s.Update(t.Context(), ws, func(*commands.Connection) error { return nil })
	if errors.Is(err, commands.ErrNotConnected) || !errors.Is(err, redisstore.ErrUnavailable) {
		t.Errorf("Update with Redis down error = %v, want ErrUnavailable and not ErrNotConnected", err)
	}
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	kv := redistest.NewTestStore(t)
	s := tokenstore.New(kv, ring(t, newKey(t)), notFound, tokenstore.Options{})
	ctx := t.Context()
	noTeam := commands.Workspace{EnterpriseID: "E1"}

	if _, err := s.Get(ctx, noTeam); !errors.Is(err, tokenstore.ErrInvalidWorkspace) {
		t.Errorf("Get without team error = %v, want ErrInvalidWorkspace", err)
	}
	if err := s.Put(ctx, noTeam, connection()); !errors.Is(err, tokenstore.ErrInvalidWorkspace) {
		t.Errorf("Put without team error = %v, want ErrInvalidWorkspace", err)
	}
	if err := s.Delete(ctx, noTeam); !errors.Is(err, tokenstore.ErrInvalidWorkspace) {
		t.Errorf("Delete without team error = %v, want ErrInvalidWorkspace", err)
	}

	c := connection()
	c.Token = ""
	if err := s.Put(ctx, commands.Workspace{TeamID: "T1"}, c); err == nil {
		t.Error("Put of a connection without a token succeeded")
	}
	if _, err := s.Get(ctx, commands.Workspace{TeamID: "T1"}); !errors.Is(err, commands.ErrNotConnected) {
		t.Errorf("a rejected Put stored something: Get error = %v", err)
	}
}

func TestNewPanicsOnMissingDependency(t *testing.T) {
	t.Parallel()
	kv := redistest.NewTestStore(t)
	r := ring(t, newKey(t))
	tests := []struct {
		name string
		new  func()
	}{
		{"nil kv", func() { tokenstore.New(nil, r, notFound, tokenstore.Options{}) }},
		{"nil keyring", func() { tokenstore.New(kv, nil, notFound, tokenstore.Options{}) }},
		{"nil isNotFound", func() { tokenstore.New(kv, r, nil, tokenstore.Options{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("New with %s did not panic", tt.name)
				}
			}()
			tt.new()
		})
	}
}
