package tokenstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/secret"
)

// KV is the storage a Store needs; *redisstore.Store implements it. Keys are
// plain strings without any prefix the KV may add. Get must return an error
// for which the Store's isNotFound reports true when key does not exist.
type KV interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Del(ctx context.Context, key string) error
	// CompareAndSwap stores val under key only if key holds old (with a
	// nil old: only if key does not exist), atomically, and reports
	// whether it did. ttl is as for Set.
	CompareAndSwap(ctx context.Context, key string, old, val []byte, ttl time.Duration) (bool, error)
}

// updateAttempts bounds how often Update runs fn when the connection keeps
// changing under it.
const updateAttempts = 5

// envelopeVersion is the "v" of the envelopes Put writes.
const envelopeVersion = 1

// envelope is what is stored under a workspace's connection key. []byte
// fields encode as standard base64.
type envelope struct {
	V     int    `json:"v"`
	KID   string `json:"kid"`
	Nonce []byte `json:"nonce"`
	CT    []byte `json:"ct"`
}

// sealedConnection is the plaintext that gets encrypted. Token is a plain
// string on purpose: secret.Secret marshals as "[REDACTED]".
type sealedConnection struct {
	Token          string    `json:"token"`
	TokenID        string    `json:"token_id,omitempty"`
	TokenName      string    `json:"token_name,omitempty"`
	Role           string    `json:"role,omitempty"`
	DefaultProject string    `json:"default_project,omitempty"`
	DefaultEnv     string    `json:"default_env,omitempty"`
	ConnectedBy    string    `json:"connected_by,omitempty"`
	ConnectedAt    time.Time `json:"connected_at"`
}

// Store keeps workspace connections encrypted in a KV. It implements
// commands.Workspaces and is safe for concurrent use.
type Store struct {
	kv         KV
	ring       *Keyring
	isNotFound func(error) bool
}

// New returns a Store that keeps connections in kv, encrypted with ring.
// isNotFound reports whether an error from kv.Get means the key does not
// exist; with a *redisstore.Store it is
//
//	func(err error) bool { return errors.Is(err, redisstore.ErrNotFound) }
//
// All three arguments are required: New panics if one is nil, since that is
// a wiring mistake no caller can recover from.
func New(kv KV, ring *Keyring, isNotFound func(error) bool) *Store {
	if kv == nil || ring == nil || isNotFound == nil {
		panic("tokenstore: New needs a KV, a Keyring and an isNotFound func")
	}
	return &Store{kv: kv, ring: ring, isNotFound: isNotFound}
}

// Get returns ws's connection. It returns an error wrapping
// commands.ErrNotConnected when ws has none, one wrapping ErrUnknownKey or
// ErrCorrupt when the stored value cannot be decrypted, and otherwise the
// KV's error, wrapped.
func (s *Store) Get(ctx context.Context, ws commands.Workspace) (commands.Connection, error) {
	key, err := connectionKey(ws)
	if err != nil {
		return commands.Connection{}, err
	}
	raw, err := s.kv.Get(ctx, key)
	switch {
	case err != nil && s.isNotFound(err):
		return commands.Connection{}, fmt.Errorf("tokenstore: team %s: %w", ws.TeamID, commands.ErrNotConnected)
	case err != nil:
		return commands.Connection{}, fmt.Errorf("tokenstore: get connection of team %s: %w", ws.TeamID, err)
	}
	c, err := s.open(key, raw)
	if err != nil {
		return commands.Connection{}, fmt.Errorf("tokenstore: read connection of team %s: %w", ws.TeamID, err)
	}
	return c, nil
}

// Put encrypts c with the Keyring's current key and stores it as ws's
// connection, replacing any earlier one. It returns the KV's error, wrapped.
func (s *Store) Put(ctx context.Context, ws commands.Workspace, c commands.Connection) error {
	key, err := connectionKey(ws)
	if err != nil {
		return err
	}
	if c.Token.Empty() {
		return fmt.Errorf("tokenstore: put connection of team %s: connection has no token", ws.TeamID)
	}
	val, err := s.seal(key, c)
	if err != nil {
		return fmt.Errorf("tokenstore: put connection of team %s: %w", ws.TeamID, err)
	}
	if err := s.kv.Set(ctx, key, val, 0); err != nil {
		return fmt.Errorf("tokenstore: put connection of team %s: %w", ws.TeamID, err)
	}
	return nil
}

// Delete removes ws's connection. Deleting a missing connection is not an
// error. It returns the KV's error, wrapped.
func (s *Store) Delete(ctx context.Context, ws commands.Workspace) error {
	key, err := connectionKey(ws)
	if err != nil {
		return err
	}
	if err := s.kv.Del(ctx, key); err != nil {
		return fmt.Errorf("tokenstore: delete connection of team %s: %w", ws.TeamID, err)
	}
	return nil
}

// Update changes ws's connection atomically: it decrypts the stored
// connection, lets fn change it, and stores the re-encrypted result only if
// the stored envelope is still the one it read. When another writer got in
// between, it starts over on the fresh value, up to updateAttempts times.
// It returns an error wrapping commands.ErrNotConnected when ws has no
// connection (also when it was deleted in between), fn's error as is, and
// otherwise errors like Get's and Put's.
func (s *Store) Update(ctx context.Context, ws commands.Workspace, fn func(c *commands.Connection) error) error {
	key, err := connectionKey(ws)
	if err != nil {
		return err
	}
	for range updateAttempts {
		raw, err := s.kv.Get(ctx, key)
		switch {
		case err != nil && s.isNotFound(err):
			return fmt.Errorf("tokenstore: update team %s: %w", ws.TeamID, commands.ErrNotConnected)
		case err != nil:
			return fmt.Errorf("tokenstore: update connection of team %s: %w", ws.TeamID, err)
		}
		c, err := s.open(key, raw)
		if err != nil {
			return fmt.Errorf("tokenstore: update connection of team %s: %w", ws.TeamID, err)
		}
		if err := fn(&c); err != nil {
			return err
		}
		if c.Token.Empty() {
			return fmt.Errorf("tokenstore: update connection of team %s: connection has no token", ws.TeamID)
		}
		val, err := s.seal(key, c)
		if err != nil {
			return fmt.Errorf("tokenstore: update connection of team %s: %w", ws.TeamID, err)
		}
		ok, err := s.kv.CompareAndSwap(ctx, key, raw, val, 0)
		if err != nil {
			return fmt.Errorf("tokenstore: update connection of team %s: %w", ws.TeamID, err)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("tokenstore: update connection of team %s: %w after %d attempts", ws.TeamID, ErrContended, updateAttempts)
}

// seal encrypts c with the current key, bound to key (the AAD).
func (s *Store) seal(key string, c commands.Connection) ([]byte, error) {
	pt, err := json.Marshal(sealedConnection{
		Token:          c.Token.Reveal(),
		TokenID:        c.TokenID,
		TokenName:      c.TokenName,
		Role:           c.Role,
		DefaultProject: c.DefaultProject,
		DefaultEnv:     c.DefaultEnv,
		ConnectedBy:    c.ConnectedBy,
		ConnectedAt:    c.ConnectedAt,
	})
	if err != nil {
		return nil, fmt.Errorf("encode connection: %w", err)
	}
	defer clear(pt)
	kid := s.ring.current
	aead := s.ring.aeads[kid]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	env := envelope{
		V:     envelopeVersion,
		KID:   kid,
		Nonce: nonce,
		CT:    aead.Seal(nil, nonce, pt, []byte(key)),
	}
	return json.Marshal(env)
}

// open decrypts a stored envelope. Its errors carry no plaintext and no key
// material: only the envelope version and key id.
func (s *Store) open(key string, raw []byte) (commands.Connection, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return commands.Connection{}, fmt.Errorf("%w: envelope is not valid json", ErrCorrupt)
	}
	if env.V != envelopeVersion {
		return commands.Connection{}, fmt.Errorf("%w: unsupported envelope version %d", ErrCorrupt, env.V)
	}
	aead, ok := s.ring.aeads[env.KID]
	if !ok {
		return commands.Connection{}, fmt.Errorf("%w %q", ErrUnknownKey, env.KID)
	}
	if len(env.Nonce) != aead.NonceSize() {
		return commands.Connection{}, fmt.Errorf("%w: nonce is %d bytes", ErrCorrupt, len(env.Nonce))
	}
	pt, err := aead.Open(nil, env.Nonce, env.CT, []byte(key))
	if err != nil {
		return commands.Connection{}, fmt.Errorf("%w: authentication failed (key %q)", ErrCorrupt, env.KID)
	}
	defer clear(pt)
	var sc sealedConnection
	if err := json.Unmarshal(pt, &sc); err != nil {
		// json's messages can quote the input, which is plaintext here.
		return commands.Connection{}, fmt.Errorf("%w: decrypted connection is not valid json", ErrCorrupt)
	}
	if sc.Token == "" {
		return commands.Connection{}, fmt.Errorf("%w: decrypted connection has no token", ErrCorrupt)
	}
	return commands.Connection{
		Token:          secret.Secret(sc.Token),
		TokenID:        sc.TokenID,
		TokenName:      sc.TokenName,
		Role:           sc.Role,
		DefaultProject: sc.DefaultProject,
		DefaultEnv:     sc.DefaultEnv,
		ConnectedBy:    sc.ConnectedBy,
		ConnectedAt:    sc.ConnectedAt,
	}, nil
}

// connectionKey returns ws's connection key (without the KV's prefix):
// redisstore.WorkspaceKey(team, enterprise, "connection").
func connectionKey(ws commands.Workspace) (string, error) {
	if ws.TeamID == "" {
		return "", fmt.Errorf("tokenstore: %w", ErrInvalidWorkspace)
	}
	return redisstore.WorkspaceKey(ws.TeamID, ws.EnterpriseID, "connection"), nil
}
