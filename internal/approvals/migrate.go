package approvals

import (
	"context"
	"math"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
)

// The indexes across workspaces of the layout before hash tags, which
// UpgradeIndexes dissolves into each workspace's own.
const (
	legacyExpiryKey    = "changes:expiry"
	legacyApplyingKey  = "changes:applying"
	legacyRemindKey    = "changes:remind"
	legacyScheduledKey = "changes:scheduled"
	legacySignoffKey   = "changes:signoff"
)

// UpgradeIndexes is this package's part of the one-time migration to the
// key layout with hash tags, run at start after
// redisstore.Store.UpgradeLayout moved the workspace keys: it moves every
// entry of the indexes across workspaces of the layout before
// (changes:expiry, changes:applying, changes:remind, changes:scheduled,
// changes:signoff, which a script on a Redis Cluster cannot touch together
// with a workspace's keys) into the index of the entry's workspace, with
// its score, adds the workspace to changes:workspaces, and deletes the old
// index. Entries of either layout are understood. It is idempotent: with
// nothing left of the old layout it reads five missing keys and writes
// nothing. It returns how many entries it moved; errors wrap
// redisstore.ErrUnavailable.
func (c *Changes) UpgradeIndexes(ctx context.Context) (int, error) {
	moved := 0
	for _, m := range []struct{ old, idx string }{
		{legacyExpiryKey, idxExpiry},
		{legacyApplyingKey, idxApplying},
		{legacyRemindKey, idxRemind},
		{legacyScheduledKey, idxScheduled},
		{legacySignoffKey, idxSignoff},
	} {
		entries, err := c.store.ZRangeUpTo(ctx, m.old, math.Inf(1), 0)
		if err != nil {
			return moved, storeError("upgrade indexes", "", err)
		}
		for _, e := range entries {
			k, ok := c.store.StripPrefix(e.Member)
			if !ok {
				continue
			}
			k, _ = redisstore.UpgradeKey(k)
			team, ent, parts, ok := redisstore.ParseWorkspaceKey(k)
			if !ok || len(parts) != 2 || parts[0] != "change" {
				continue
			}
			ws := commands.Workspace{TeamID: team, EnterpriseID: ent}
			if err := c.store.SAdd(ctx, workspacesKey, c.wsKey(ws)); err != nil {
				return moved, storeError("upgrade indexes", "", err)
			}
			if err := c.store.ZAdd(ctx, c.wsKey(ws, m.idx), e.Score, c.store.Key(k)); err != nil {
				return moved, storeError("upgrade indexes", "", err)
			}
			moved++
		}
		if len(entries) > 0 {
			if err := c.store.Del(ctx, m.old); err != nil {
				return moved, storeError("upgrade indexes", "", err)
			}
		}
	}
	return moved, nil
}
