package approvals

import (
	"context"
	"fmt"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
)

// What a workspace's removal (an uninstall) does to the data of this
// package; package uninstall calls it.

// luaForgetPolicy removes a workspace's policy under both of its keys.
const luaForgetPolicy = `
return redis.call('DEL', KEYS[1], KEYS[2])
`

// Forget removes ws's policy, under ws's key and the key from before its
// team joined an Enterprise Grid org. Errors wrap redisstore.ErrUnavailable.
func (p *Policies) Forget(ctx context.Context, ws commands.Workspace) error {
	if _, err := p.store.Run(ctx, p.forget, []string{policyKey(ws), legacyPolicyKey(ws)}); err != nil {
		return fmt.Errorf("approvals: forget policy of %s: %w", ws.TeamID, err)
	}
	return nil
}

// luaForgetChanges cancels every pending and every scheduled change of a
// workspace, as the requester's Cancel does but by nobody, with outcome
// ARGV[4]: each is final, out of the indexes, kept for the retention period
// and pushed onto the history. Index entries whose change is gone are
// dropped, and the workspace's unsigned emergency changes leave the
// sign-off index (nobody is left to remind). It returns how many it
// cancelled.
//
// KEYS: pending index, expiry index, history, reminder index, workspace's
// scheduled index, scheduled index, workspace's unsigned index, sign-off
// index.
// ARGV: now (padded ns), history cap, retention (ms), outcome.
const luaForgetChanges = luaFinal + `
local n = 0
local function cancel(ck)
  redis.call('HSET', ck, 'status', 'cancelled', 'by', '', 'dat', ARGV[1], 'out', ARGV[4])
  final(ck, KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[3], KEYS[4])
  n = n + 1
end
for _, ck in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('HGET', ck, 'status') == 'pending' then
    cancel(ck)
  else
    redis.call('ZREM', KEYS[1], ck)
  end
end
for _, ck in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
  redis.call('ZREM', KEYS[6], ck)
  if redis.call('HGET', ck, 'status') == 'scheduled' then
    cancel(ck)
  end
end
redis.call('DEL', KEYS[5])
for _, ck in ipairs(redis.call('ZRANGE', KEYS[7], 0, -1)) do
  redis.call('ZREM', KEYS[8], ck)
end
redis.call('DEL', KEYS[7])
return n
`

// UninstalledOutcome is the outcome Forget records on the pending changes
// it cancels.
func UninstalledOutcome() commands.Text {
	return commands.Textf("Flagbot was removed from this workspace")
}

// Forget cancels every pending and scheduled change of ws (the workspace's key only: the
// caller forgets the key from before an Enterprise Grid move as a
// workspace of its own) at now, recording UninstalledOutcome, and returns
// how many it cancelled. Nothing is posted or edited in Slack: after an
// uninstall that is impossible. Approved changes are left to finish: the
// sweeper resumes one whose apply stopped, and without a connection it is
// marked failed, unless it may have been sent. Decided changes stay in the
// history until their retention ends. Errors wrap
// redisstore.ErrUnavailable.
func (c *Changes) Forget(ctx context.Context, ws commands.Workspace, now time.Time) (int, error) {
	if err := checkNow(now); err != nil {
		return 0, fmt.Errorf("approvals: forget changes of %s: %w", ws.TeamID, err)
	}
	out, err := encodeOutcome(UninstalledOutcome())
	if err != nil {
		return 0, fmt.Errorf("approvals: forget changes of %s: %w", ws.TeamID, err)
	}
	keys := []string{c.wsKey(ws, "pending"), expiryKey, c.wsKey(ws, "history"), remindKey,
		c.wsKey(ws, "scheduled"), scheduledKey, c.wsKey(ws, "unsigned"), signoffKey}
	v, err := c.store.Run(ctx, c.forget, keys,
		nanos(now), c.opts.HistoryLimit, millis(c.opts.Retention), out)
	if err != nil {
		return 0, storeError("forget changes", "", err)
	}
	n, _ := v.(int64)
	return int(n), nil
}
