package tokenstore_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/tokenstore"
)

// sealedBefore seals plaintext JSON as the version before Redis Cluster
// hash tags did, with nothing of this package's code: AES-256-GCM under
// key, bound to the key's name in that layout (oldName).
func sealedBefore(t *testing.T, key secret.Secret, oldName string, plaintext any) []byte {
	t.Helper()
	pt, err := json.Marshal(plaintext)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher([]byte(key.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	env, err := json.Marshal(map[string]any{"v": 1, "kid": tokenstore.KeyID(key), "nonce": nonce, "ct": aead.Seal(nil, nonce, pt, []byte(oldName))})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestTokensSurviveTheLayoutUpgrade: a connection, a workspace
// installation and an org-wide installation sealed and stored by the
// version before hash tags (ws:_:T1:connection, ...) open after the
// migration at start moved them to ws:_:{T1}:connection and so on: tokens
// are bound to the name without the tag's braces. On every backend, the
// cluster included (where the keys move by DUMP and RESTORE).
func TestTokensSurviveTheLayoutUpgrade(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, kv *redisstore.Store) {
		ctx := t.Context()
		key := newKey(t)
		old := map[string]any{
			"ws:_:T1:connection":          map[string]any{"token": testToken, "token_name": "flagbot reader", "role": "reader", "connected_at": "2026-01-02T03:04:05Z"},
			"ws:E1:T2:installation":       map[string]any{"bot_token": "xoxb-t2", "team_id": "T2", "enterprise_id": "E1", "installed_at": "2026-01-02T03:04:05Z"},
			"org:E9:installation":         map[string]any{"bot_token": "xoxb-e9", "enterprise_id": "E9", "is_enterprise_install": true, "installed_at": "2026-01-02T03:04:05Z"},
			"ws:_:T3:connection":          map[string]any{"token": "api-other", "connected_at": "2026-01-02T03:04:05Z"},
			"ws:_:T3:unrelated-plaintext": "x",
		}
		for name, pt := range old {
			if err := kv.Set(ctx, name, sealedBefore(t, key, name, pt), 0); err != nil {
				t.Fatal(err)
			}
		}
		if r, err := kv.UpgradeLayout(ctx); err != nil || r.Moved != len(old) {
			t.Fatalf("UpgradeLayout = %+v, %v; want %d keys moved", r, err, len(old))
		}
		s := tokenstore.New(kv, ring(t, key), notFound, tokenstore.Options{})
		c, err := s.Get(ctx, commands.Workspace{TeamID: "T1"})
		if err != nil || c.Token.Reveal() != testToken || c.TokenName != "flagbot reader" {
			t.Errorf("connection after the upgrade = %+v, %v", c, err)
		}
		inst, err := s.Installation(ctx, commands.Workspace{TeamID: "T2", EnterpriseID: "E1"})
		if err != nil || inst.BotToken.Reveal() != "xoxb-t2" {
			t.Errorf("workspace installation after the upgrade = %v, %v", inst, err)
		}
		inst, err = s.Installation(ctx, commands.Workspace{TeamID: "T5", EnterpriseID: "E9"})
		if err != nil || inst.BotToken.Reveal() != "xoxb-e9" || !inst.EnterpriseInstall {
			t.Errorf("org-wide installation after the upgrade = %v, %v", inst, err)
		}
		// Bound to its own name still: T3's sealed value copied to T1's key
		// does not open there.
		raw, err := kv.Get(ctx, redisstore.WorkspaceKey("T3", "", "connection"))
		if err != nil {
			t.Fatal(err)
		}
		if err := kv.Set(ctx, redisstore.WorkspaceKey("T1", "", "connection"), raw, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, commands.Workspace{TeamID: "T1"}); err == nil {
			t.Error("a token copied under another workspace's key opened")
		}
	})
}
