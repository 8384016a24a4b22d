package tokenstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/secret"
)

// Installations are the second kind of record a Store keeps: the Slack bot
// token of each OAuth installation, sealed exactly like a connection (same
// envelope, same Keyring, same re-sealing with the current key on read), so
// a key rotation covers both and nothing but this package ever holds a
// plaintext token together with the key.
//
// Keys, without the KV's prefix:
//
//	ws:<enterprise or _>:{<team>}:installation   a workspace installation
//	org:{<enterprise>}:installation              an org-wide installation
//
// (redisstore.WorkspaceKey and redisstore.EnterpriseKey).

// sealedInstallation is the plaintext of a stored installation. BotToken is
// a plain string on purpose: secret.Secret marshals as "[REDACTED]".
type sealedInstallation struct {
	BotToken          string    `json:"bot_token"`
	BotUserID         string    `json:"bot_user_id,omitempty"`
	AppID             string    `json:"app_id,omitempty"`
	TeamID            string    `json:"team_id,omitempty"`
	TeamName          string    `json:"team_name,omitempty"`
	EnterpriseID      string    `json:"enterprise_id,omitempty"`
	EnterpriseName    string    `json:"enterprise_name,omitempty"`
	EnterpriseInstall bool      `json:"is_enterprise_install,omitempty"`
	Scopes            string    `json:"scope,omitempty"`
	InstalledBy       string    `json:"installed_by,omitempty"`
	InstalledAt       time.Time `json:"installed_at"`
}

// installationKey returns where inst is stored.
func installationKey(inst commands.Installation) string {
	if inst.EnterpriseInstall {
		return redisstore.EnterpriseKey(inst.EnterpriseID, "installation")
	}
	return redisstore.WorkspaceKey(inst.TeamID, inst.EnterpriseID, "installation")
}

func checkInstallation(inst commands.Installation) error {
	switch {
	case inst.EnterpriseInstall && inst.EnterpriseID == "":
		return fmt.Errorf("%w: an org-wide installation needs an enterprise id", ErrInvalidInstallation)
	case !inst.EnterpriseInstall && inst.TeamID == "":
		return fmt.Errorf("%w: a workspace installation needs a team id", ErrInvalidInstallation)
	}
	return nil
}

// PutInstallation seals inst with the Keyring's current key and stores it,
// replacing an earlier installation of the same workspace or org (a
// reinstall brings a new token). It returns an error wrapping
// ErrInvalidInstallation for an installation without a token, a team
// (workspace installation) or an enterprise (org-wide), and otherwise the
// KV's error, wrapped.
func (s *Store) PutInstallation(ctx context.Context, inst commands.Installation) error {
	if err := checkInstallation(inst); err != nil {
		return fmt.Errorf("tokenstore: put installation: %w", err)
	}
	if inst.BotToken.Empty() {
		return fmt.Errorf("tokenstore: put installation of %s: %w: no bot token", inst, ErrInvalidInstallation)
	}
	key := installationKey(inst)
	val, err := s.sealInstallation(key, inst)
	if err != nil {
		return fmt.Errorf("tokenstore: put installation of %s: %w", inst, err)
	}
	if err := s.kv.Set(ctx, key, val, 0); err != nil {
		return fmt.Errorf("tokenstore: put installation of %s: %w", inst, err)
	}
	return nil
}

// Installation returns the installation that serves ws: the workspace's
// own (stored with its enterprise, or without one when it was installed
// before it joined an Enterprise Grid org), else the org-wide installation
// of its org. A workspace named without its enterprise (a change or digest
// recorded before it joined an org) finds its org through the record a
// connection's move into the org left. The error wraps
// commands.ErrNotInstalled when nothing serves ws, matches
// commands.ErrUnreadable (and ErrUnknownKey or ErrCorrupt) when the stored
// installation cannot be decrypted with any key of the Keyring, and is
// otherwise the KV's, wrapped.
//
// An installation sealed with an older key of the Keyring is sealed again
// with the current one, as Get does for connections.
func (s *Store) Installation(ctx context.Context, ws commands.Workspace) (commands.Installation, error) {
	if ws.TeamID == "" && ws.EnterpriseID == "" {
		return commands.Installation{}, fmt.Errorf("tokenstore: %w", ErrInvalidWorkspace)
	}
	var keys []string
	if ws.TeamID != "" {
		keys = append(keys, redisstore.WorkspaceKey(ws.TeamID, ws.EnterpriseID, "installation"))
		if ws.EnterpriseID != "" {
			keys = append(keys, redisstore.WorkspaceKey(ws.TeamID, "", "installation"))
		}
	}
	for _, key := range keys {
		if inst, ok, err := s.readInstallation(ctx, ws, key); ok || err != nil {
			return inst, err
		}
	}
	ent := ws.EnterpriseID
	if ent == "" {
		raw, err := s.get(ctx, enterpriseKey(ws))
		if err != nil {
			return commands.Installation{}, fmt.Errorf("tokenstore: installation for team %s: %w", ws.TeamID, err)
		}
		ent = string(raw)
	}
	if ent != "" {
		if inst, ok, err := s.readInstallation(ctx, ws, redisstore.EnterpriseKey(ent, "installation")); ok || err != nil {
			return inst, err
		}
	}
	return commands.Installation{}, fmt.Errorf("tokenstore: installation for team %s: %w", ws.TeamID, commands.ErrNotInstalled)
}

// readInstallation reads and opens the installation under key; ok is false
// when there is none.
func (s *Store) readInstallation(ctx context.Context, ws commands.Workspace, key string) (commands.Installation, bool, error) {
	raw, err := s.get(ctx, key)
	if err != nil {
		return commands.Installation{}, false, fmt.Errorf("tokenstore: installation for team %s: %w", ws.TeamID, err)
	}
	if raw == nil {
		return commands.Installation{}, false, nil
	}
	pt, kid, err := s.openBytes(key, raw)
	if err != nil {
		return commands.Installation{}, true, fmt.Errorf("tokenstore: read installation for team %s: %w (%w)", ws.TeamID, err, commands.ErrUnreadable)
	}
	defer clear(pt)
	var si sealedInstallation
	if err := json.Unmarshal(pt, &si); err != nil || si.BotToken == "" {
		return commands.Installation{}, true, fmt.Errorf("tokenstore: read installation for team %s: %w: not an installation (%w)", ws.TeamID, ErrCorrupt, commands.ErrUnreadable)
	}
	inst := commands.Installation{
		TeamID: si.TeamID, TeamName: si.TeamName,
		EnterpriseID: si.EnterpriseID, EnterpriseName: si.EnterpriseName, EnterpriseInstall: si.EnterpriseInstall,
		BotToken: secret.Secret(si.BotToken), BotUserID: si.BotUserID, AppID: si.AppID,
		Scopes: si.Scopes, InstalledBy: si.InstalledBy, InstalledAt: si.InstalledAt,
	}
	if kid != s.ring.current {
		s.rewrapInstallation(ctx, key, raw, kid, inst)
	}
	return inst, true, nil
}

// rewrapInstallation seals inst, read from raw under key with the older
// key kid, again with the current key unless it changed meanwhile. Best
// effort, like rewrap.
func (s *Store) rewrapInstallation(ctx context.Context, key string, raw []byte, kid string, inst commands.Installation) {
	val, err := s.sealInstallation(key, inst)
	if err == nil {
		var ok bool
		if ok, err = s.kv.CompareAndSwap(ctx, key, raw, val, 0); err == nil && !ok {
			return // replaced meanwhile (a reinstall): that writer used the current key
		}
	}
	if err != nil {
		s.log.WarnContext(ctx, "could not re-encrypt an installation with the current key; the next read tries again",
			"installation", inst.String(), "old_key_id", kid, "err", err)
		return
	}
	s.log.InfoContext(ctx, "re-encrypted an installation with the current key",
		"installation", inst.String(), "old_key_id", kid, "key_id", s.ring.current)
}

func (s *Store) sealInstallation(key string, inst commands.Installation) ([]byte, error) {
	pt, err := json.Marshal(sealedInstallation{
		BotToken: inst.BotToken.Reveal(), BotUserID: inst.BotUserID, AppID: inst.AppID,
		TeamID: inst.TeamID, TeamName: inst.TeamName,
		EnterpriseID: inst.EnterpriseID, EnterpriseName: inst.EnterpriseName, EnterpriseInstall: inst.EnterpriseInstall,
		Scopes: inst.Scopes, InstalledBy: inst.InstalledBy, InstalledAt: inst.InstalledAt,
	})
	if err != nil {
		return nil, fmt.Errorf("encode installation: %w", err)
	}
	defer clear(pt)
	return s.sealBytes(key, pt)
}

// DeleteInstallation removes inst's stored installation (readable or not),
// and for a workspace installation inside an Enterprise Grid org also the
// one stored before the workspace joined the org. Deleting a missing
// installation is not an error. It returns an error wrapping
// ErrInvalidInstallation when inst names no team or enterprise, and
// otherwise the KV's error, wrapped.
func (s *Store) DeleteInstallation(ctx context.Context, inst commands.Installation) error {
	if err := checkInstallation(inst); err != nil {
		return fmt.Errorf("tokenstore: delete installation: %w", err)
	}
	var err error
	if inst.EnterpriseInstall || inst.EnterpriseID == "" {
		err = s.kv.Del(ctx, installationKey(inst))
	} else {
		_, err = s.kv.Run(ctx, s.delBoth, []string{installationKey(inst), redisstore.WorkspaceKey(inst.TeamID, "", "installation")})
	}
	if err != nil {
		return fmt.Errorf("tokenstore: delete installation of %s: %w", inst, err)
	}
	return nil
}

// luaForget removes a workspace's connection under both of its keys and
// the record of the org its team joined.
const luaForget = `
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
`

// Forget removes everything the Store keeps for workspace ws but its
// installation: the LaunchDarkly connection, under ws's key and the key
// from before its team joined an Enterprise Grid org, and the record of
// that org. It is for an uninstall; forgetting a workspace with nothing
// stored is not an error. It returns the KV's error, wrapped.
func (s *Store) Forget(ctx context.Context, ws commands.Workspace) error {
	if ws.TeamID == "" {
		return fmt.Errorf("tokenstore: %w", ErrInvalidWorkspace)
	}
	if _, err := s.kv.Run(ctx, s.forget, []string{connectionKey(ws), legacyKey(ws), enterpriseKey(ws)}); err != nil {
		return fmt.Errorf("tokenstore: forget team %s: %w", ws.TeamID, err)
	}
	return nil
}
