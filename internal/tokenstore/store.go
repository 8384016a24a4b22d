package tokenstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
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
	// Run runs a Lua script atomically, as redisstore.Store.Run does: the
	// Store needs it to change several keys in one step when a workspace
	// joins an Enterprise Grid org.
	Run(ctx context.Context, script *redisstore.Script, keys []string, args ...any) (any, error)
}

// luaMove moves a connection stored before its workspace joined an
// Enterprise Grid org to the workspace's key inside the org, in one step:
// KEYS are the old key, the new key and the team's enterprise pointer;
// ARGV the value read at the old key, the value to store at the new key
// (sealed for it) and the enterprise ID. It returns 1 when it moved the
// connection, 0 when the new key exists already (a reconnect got there
// first: nothing is overwritten) and -1 when the old key no longer holds
// what was read.
const luaMove = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[3], ARGV[3])
return 1
`

// luaPutGrid stores ARGV[1] under KEYS[1] (a connection key inside an
// Enterprise Grid org), removes KEYS[2] (the team's key from before it
// joined, which must not come back) and records ARGV[2] as the team's
// enterprise in KEYS[3].
const luaPutGrid = `
redis.call('SET', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[3], ARGV[2])
return 1
`

// luaDelBoth removes a connection under both of the team's keys at once.
const luaDelBoth = `
return redis.call('DEL', KEYS[1], KEYS[2])
`

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

// Options tune a Store; the zero value is valid.
type Options struct {
	// Logger receives a line for each connection sealed again with the
	// current key (so operators can tell when an old key is no longer
	// used) and for each such rewrite that failed (default: discard).
	Logger *slog.Logger
}

// Store keeps workspace connections encrypted in a KV. It implements
// commands.Workspaces and is safe for concurrent use.
type Store struct {
	kv         KV
	ring       *Keyring
	isNotFound func(error) bool
	log        *slog.Logger

	move, putGrid, delBoth, forget *redisstore.Script
}

// New returns a Store that keeps connections in kv, encrypted with ring.
// isNotFound reports whether an error from kv.Get means the key does not
// exist; with a *redisstore.Store it is
//
//	func(err error) bool { return errors.Is(err, redisstore.ErrNotFound) }
//
// The first three arguments are required: New panics if one is nil, since
// that is a wiring mistake no caller can recover from.
func New(kv KV, ring *Keyring, isNotFound func(error) bool, opts Options) *Store {
	if kv == nil || ring == nil || isNotFound == nil {
		panic("tokenstore: New needs a KV, a Keyring and an isNotFound func")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Store{
		kv: kv, ring: ring, isNotFound: isNotFound, log: opts.Logger.With("component", "tokenstore"),
		move:    redisstore.NewScript(luaMove),
		putGrid: redisstore.NewScript(luaPutGrid),
		delBoth: redisstore.NewScript(luaDelBoth),
		forget:  redisstore.NewScript(luaForget),
	}
}

// Get returns ws's connection. It returns an error wrapping
// commands.ErrNotConnected when ws has none, one wrapping
// commands.ErrUnreadable (and ErrUnknownKey or ErrCorrupt) when the stored
// value cannot be decrypted with any key of the Keyring, and otherwise the
// KV's error, wrapped.
//
// A connection encrypted with an older key of the Keyring is encrypted
// again with the current key, atomically: only if it is still the value
// that was read, so a concurrent reconnect is never overwritten. That
// rewrite is best effort; when it fails, the next Get tries again.
//
// A workspace of an Enterprise Grid org whose connection was stored before
// it joined the org (under the key without enterprise) gets it moved under
// its own key first; see the package documentation.
func (s *Store) Get(ctx context.Context, ws commands.Workspace) (commands.Connection, error) {
	if ws.TeamID == "" {
		return commands.Connection{}, fmt.Errorf("tokenstore: %w", ErrInvalidWorkspace)
	}
	key, raw, err := s.locate(ctx, ws)
	if err != nil {
		return commands.Connection{}, fmt.Errorf("tokenstore: get connection of team %s: %w", ws.TeamID, err)
	}
	c, kid, err := s.open(key, raw)
	if err != nil {
		return commands.Connection{}, fmt.Errorf("tokenstore: read connection of team %s: %w", ws.TeamID, err)
	}
	if kid != s.ring.current {
		s.rewrap(ctx, ws, key, raw, kid, c)
	}
	return c, nil
}

// rewrap seals c, read from raw under key with the older key kid, again
// with the current key, unless the stored value changed meanwhile. Best
// effort: the connection was read either way, so a failure is logged and
// the next Get tries again.
func (s *Store) rewrap(ctx context.Context, ws commands.Workspace, key string, raw []byte, kid string, c commands.Connection) {
	val, err := s.seal(key, c)
	if err == nil {
		var ok bool
		if ok, err = s.kv.CompareAndSwap(ctx, key, raw, val, 0); err == nil && !ok {
			return // rewritten meanwhile (a reconnect): that writer used the current key
		}
	}
	if err != nil {
		s.log.WarnContext(ctx, "could not re-encrypt a connection with the current key; the next read tries again",
			"team_id", ws.TeamID, "old_key_id", kid, "err", err)
		return
	}
	s.log.InfoContext(ctx, "re-encrypted a connection with the current key",
		"team_id", ws.TeamID, "old_key_id", kid, "key_id", s.ring.current)
}

// Put encrypts c with the Keyring's current key and stores it as ws's
// connection, replacing any earlier one (readable or not). It returns the
// KV's error, wrapped.
func (s *Store) Put(ctx context.Context, ws commands.Workspace, c commands.Connection) error {
	if ws.TeamID == "" {
		return fmt.Errorf("tokenstore: %w", ErrInvalidWorkspace)
	}
	if c.Token.Empty() {
		return fmt.Errorf("tokenstore: put connection of team %s: connection has no token", ws.TeamID)
	}
	ws, err := s.resolve(ctx, ws)
	if err != nil {
		return fmt.Errorf("tokenstore: put connection of team %s: %w", ws.TeamID, err)
	}
	key := connectionKey(ws)
	val, err := s.seal(key, c)
	if err != nil {
		return fmt.Errorf("tokenstore: put connection of team %s: %w", ws.TeamID, err)
	}
	if ws.EnterpriseID == "" {
		err = s.kv.Set(ctx, key, val, 0)
	} else {
		_, err = s.kv.Run(ctx, s.putGrid, []string{key, legacyKey(ws), enterpriseKey(ws)}, val, ws.EnterpriseID)
	}
	if err != nil {
		return fmt.Errorf("tokenstore: put connection of team %s: %w", ws.TeamID, err)
	}
	return nil
}

// Delete removes ws's connection (readable or not). Deleting a missing
// connection is not an error. It returns the KV's error, wrapped.
func (s *Store) Delete(ctx context.Context, ws commands.Workspace) error {
	if ws.TeamID == "" {
		return fmt.Errorf("tokenstore: %w", ErrInvalidWorkspace)
	}
	ws, err := s.resolve(ctx, ws)
	if err != nil {
		return fmt.Errorf("tokenstore: delete connection of team %s: %w", ws.TeamID, err)
	}
	if ws.EnterpriseID == "" {
		err = s.kv.Del(ctx, connectionKey(ws))
	} else {
		// The key from before the org must go too, or the next Get
		// would bring it back.
		_, err = s.kv.Run(ctx, s.delBoth, []string{connectionKey(ws), legacyKey(ws)})
	}
	if err != nil {
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
	if ws.TeamID == "" {
		return fmt.Errorf("tokenstore: %w", ErrInvalidWorkspace)
	}
	for range updateAttempts {
		key, raw, err := s.locate(ctx, ws)
		if err != nil {
			return fmt.Errorf("tokenstore: update connection of team %s: %w", ws.TeamID, err)
		}
		c, _, err := s.open(key, raw)
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

// locate finds ws's stored connection and returns the key it is stored
// under with its bytes, or an error wrapping commands.ErrNotConnected.
//
// A workspace inside an Enterprise Grid org whose connection is still under
// the team's key from before it joined gets it moved (re-sealed for the new
// key) in one atomic step that also records the team's enterprise; a
// connection there that does not decrypt is returned where it is, for the
// caller to report as unreadable. A workspace without enterprise whose
// connection moved that way (a change or digest recorded before the move)
// finds it through the recorded enterprise.
func (s *Store) locate(ctx context.Context, ws commands.Workspace) (string, []byte, error) {
	key := connectionKey(ws)
	for range updateAttempts {
		raw, err := s.get(ctx, key)
		if err != nil || raw != nil {
			return key, raw, err
		}
		if ws.EnterpriseID == "" {
			grid, err := s.resolve(ctx, ws)
			if err != nil {
				return "", nil, err
			}
			if grid.EnterpriseID == "" {
				return "", nil, commands.ErrNotConnected
			}
			gkey := connectionKey(grid)
			raw, err := s.get(ctx, gkey)
			if err == nil && raw == nil {
				err = commands.ErrNotConnected
			}
			return gkey, raw, err
		}
		lkey := legacyKey(ws)
		old, err := s.get(ctx, lkey)
		if err != nil {
			return "", nil, err
		}
		if old == nil {
			// Another replica may have moved it in between.
			raw, err := s.get(ctx, key)
			if err == nil && raw == nil {
				err = commands.ErrNotConnected
			}
			return key, raw, err
		}
		c, _, err := s.open(lkey, old)
		if err != nil {
			return lkey, old, nil // unreadable: stays where it is until a reconnect
		}
		val, err := s.seal(key, c)
		if err != nil {
			return "", nil, err
		}
		moved, err := s.kv.Run(ctx, s.move, []string{lkey, key, enterpriseKey(ws)}, old, val, ws.EnterpriseID)
		if err != nil {
			return "", nil, fmt.Errorf("move connection into enterprise %s: %w", ws.EnterpriseID, err)
		}
		if moved == int64(1) {
			return key, val, nil
		}
		// A reconnect wrote the new key, or the old one changed: look again.
	}
	return "", nil, ErrContended
}

// resolve returns the workspace whose key holds ws's connection: ws itself,
// or, for a workspace without enterprise whose team has since joined an
// Enterprise Grid org, the team inside that org.
func (s *Store) resolve(ctx context.Context, ws commands.Workspace) (commands.Workspace, error) {
	if ws.EnterpriseID != "" {
		return ws, nil
	}
	ent, err := s.get(ctx, enterpriseKey(ws))
	if err != nil || len(ent) == 0 {
		return ws, err
	}
	return commands.Workspace{TeamID: ws.TeamID, EnterpriseID: string(ent)}, nil
}

// get returns the value under key, nil when there is none.
func (s *Store) get(ctx context.Context, key string) ([]byte, error) {
	raw, err := s.kv.Get(ctx, key)
	switch {
	case err != nil && s.isNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	case raw == nil:
		return []byte{}, nil // stored but empty: present, and unreadable
	}
	return raw, nil
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
	return s.sealBytes(key, pt)
}

// sealBytes encrypts pt with the current key, bound to key (the AAD), into
// a stored envelope. Connections and installations share it.
func (s *Store) sealBytes(key string, pt []byte) ([]byte, error) {
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
		CT:    aead.Seal(nil, nonce, pt, aad(key)),
	}
	return json.Marshal(env)
}

// open decrypts a stored envelope and returns it with the id of the key that
// sealed it. Its errors match commands.ErrUnreadable and carry no plaintext
// and no key material: only the envelope version and key id.
func (s *Store) open(key string, raw []byte) (commands.Connection, string, error) {
	c, kid, err := s.decrypt(key, raw)
	if err != nil {
		return commands.Connection{}, "", fmt.Errorf("%w (%w)", err, commands.ErrUnreadable)
	}
	return c, kid, nil
}

func (s *Store) decrypt(key string, raw []byte) (commands.Connection, string, error) {
	pt, kid, err := s.openBytes(key, raw)
	if err != nil {
		return commands.Connection{}, "", err
	}
	defer clear(pt)
	var sc sealedConnection
	if err := json.Unmarshal(pt, &sc); err != nil {
		// json's messages can quote the input, which is plaintext here.
		return commands.Connection{}, "", fmt.Errorf("%w: decrypted connection is not valid json", ErrCorrupt)
	}
	if sc.Token == "" {
		return commands.Connection{}, "", fmt.Errorf("%w: decrypted connection has no token", ErrCorrupt)
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
	}, kid, nil
}

// openBytes decrypts a stored envelope bound to key and returns the
// plaintext (which the caller clears) and the id of the key that sealed
// it. Its errors wrap ErrCorrupt or ErrUnknownKey and carry no plaintext
// and no key material.
func (s *Store) openBytes(key string, raw []byte) ([]byte, string, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, "", fmt.Errorf("%w: envelope is not valid json", ErrCorrupt)
	}
	if env.V != envelopeVersion {
		return nil, "", fmt.Errorf("%w: unsupported envelope version %d", ErrCorrupt, env.V)
	}
	aead, ok := s.ring.aeads[env.KID]
	if !ok {
		return nil, "", fmt.Errorf("%w %q", ErrUnknownKey, env.KID)
	}
	if len(env.Nonce) != aead.NonceSize() {
		return nil, "", fmt.Errorf("%w: nonce is %d bytes", ErrCorrupt, len(env.Nonce))
	}
	pt, err := aead.Open(nil, env.Nonce, env.CT, aad(key))
	if err != nil {
		return nil, "", fmt.Errorf("%w: authentication failed (key %q)", ErrCorrupt, env.KID)
	}
	return pt, env.KID, nil
}

// aad is the additional authenticated data that binds a sealed value to
// key (without the KV's prefix): its name without the hash tag's braces
// (redisstore.Untagged), which is its name in the layout before Redis
// Cluster hash tags, so that values sealed before the start-up migration
// renamed their keys still open.
func aad(key string) []byte { return []byte(redisstore.Untagged(key)) }

// connectionKey returns ws's connection key (without the KV's prefix):
// redisstore.WorkspaceKey(team, enterprise, "connection"). ws.TeamID must
// not be empty.
func connectionKey(ws commands.Workspace) string {
	return redisstore.WorkspaceKey(ws.TeamID, ws.EnterpriseID, "connection")
}

// legacyKey returns the connection key of ws's team outside any Enterprise
// Grid org: where its connection was stored before the team joined one.
func legacyKey(ws commands.Workspace) string {
	return redisstore.WorkspaceKey(ws.TeamID, "", "connection")
}

// enterpriseKey returns the key that records which Enterprise Grid org ws's
// team joined (its connection moved there).
func enterpriseKey(ws commands.Workspace) string {
	return redisstore.WorkspaceKey(ws.TeamID, "", "enterprise")
}
