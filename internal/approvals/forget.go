package approvals

import (
	"context"
	"fmt"
	"math"
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

// luaForgetChanges cancels the given pending and scheduled changes of a
// workspace, as the requester's Cancel does but by nobody, with outcome
// ARGV[4]: each is final, out of the indexes, kept for the retention period
// and pushed onto the history. Index entries whose change is gone are
// dropped, and the given unsigned emergency changes leave the sign-off
// index (nobody is left to remind); the workspace's scheduled and unsigned
// indexes go. The caller read the members of the three indexes; ARGV[5]
// and ARGV[6] say how many of the changes are pending and scheduled, the
// rest are unsigned. It returns how many it cancelled.
//
// KEYS: pending index, expiry index, history, reminder index, scheduled
// index, unsigned index, sign-off index, changes...
// ARGV: now (padded ns), history cap, retention (ms), outcome, number of
// pending changes, number of scheduled changes.
const luaForgetChanges = luaFinal + `
local n = 0
local function cancel(ck)
  redis.call('HSET', ck, 'status', 'cancelled', 'by', '', 'dat', ARGV[1], 'out', ARGV[4])
  final(ck, KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[3], KEYS[4])
  n = n + 1
end
local np, ns = tonumber(ARGV[5]), tonumber(ARGV[6])
for i = 8, #KEYS do
  local ck = KEYS[i]
  local st = redis.call('HGET', ck, 'status')
  if i < 8 + np then
    if st == 'pending' then cancel(ck) else redis.call('ZREM', KEYS[1], ck) end
  elseif i < 8 + np + ns then
    if st == 'scheduled' then cancel(ck) end
  else
    redis.call('ZREM', KEYS[7], ck)
  end
end
redis.call('DEL', KEYS[5], KEYS[6])
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
// history until their retention ends. It reads the workspace's indexes,
// then cancels what they named in one script (which must declare every
// change it touches): a change requested in between is left pending. The
// workspace stays in changes:workspaces, so that its approved changes are
// still resumed. Errors wrap redisstore.ErrUnavailable.
func (c *Changes) Forget(ctx context.Context, ws commands.Workspace, now time.Time) (int, error) {
	if err := checkNow(now); err != nil {
		return 0, fmt.Errorf("approvals: forget changes of %s: %w", ws.TeamID, err)
	}
	out, err := encodeOutcome(UninstalledOutcome())
	if err != nil {
		return 0, fmt.Errorf("approvals: forget changes of %s: %w", ws.TeamID, err)
	}
	keys := []string{c.wsKey(ws, idxPending), c.wsKey(ws, idxExpiry), c.wsKey(ws, idxHistory), c.wsKey(ws, idxRemind),
		c.wsKey(ws, idxScheduled), c.wsKey(ws, idxUnsigned), c.wsKey(ws, idxSignoff)}
	var counts [3]int
	for i, idx := range []string{idxPending, idxScheduled, idxUnsigned} {
		ms, err := c.indexMembers(ctx, c.wsKey(ws, idx), math.Inf(1), 0)
		if err != nil {
			return 0, storeError("forget changes", "", err)
		}
		counts[i] = len(ms)
		keys = append(keys, ms...)
	}
	v, err := c.store.Run(ctx, c.forget, keys,
		nanos(now), c.opts.HistoryLimit, millis(c.opts.Retention), out, counts[0], counts[1])
	if err != nil {
		return 0, storeError("forget changes", "", err)
	}
	n, _ := v.(int64)
	return int(n), nil
}
