package approvals

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
)

// The listings and sweeps: each reads an index first and then hands its
// members to a script as KEYS (see changes_lua.go). Those across
// workspaces visit every workspace of changes:workspaces (see Changes for
// the cost).

// Pending lists ws's pending changes, oldest first. A change past its
// expiry stays listed until the sweeper marks it (at most one sweep
// interval).
func (c *Changes) Pending(ctx context.Context, ws commands.Workspace) ([]commands.Change, error) {
	const op = "list pending changes"
	idx := c.wsKey(ws, idxPending)
	members, err := c.indexMembers(ctx, idx, math.Inf(1), 0)
	if err != nil {
		return nil, storeError(op, "", err)
	}
	return c.over(ctx, c.read, op, []string{idx}, members, "1")
}

// History lists ws's most recent final changes, newest first: at most limit
// (limit <= 0 or above the history cap means the cap), only those for flag
// when flag is not empty. See Changes for how long they are kept.
func (c *Changes) History(ctx context.Context, ws commands.Workspace, flag string, limit int) ([]commands.Change, error) {
	const op = "list change history"
	if limit <= 0 || limit > c.opts.HistoryLimit {
		limit = c.opts.HistoryLimit
	}
	idx := c.wsKey(ws, idxHistory)
	full, err := c.store.LRange(ctx, idx, 0, int64(c.opts.HistoryLimit)-1)
	if err != nil {
		return nil, storeError(op, "", err)
	}
	all, err := c.over(ctx, c.read, op, []string{idx}, c.stripAll(full), "0")
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, ch := range all {
		if (flag == "" || ch.Flag == flag) && len(out) < limit {
			out = append(out, ch)
		}
	}
	return slices.Clip(out), nil
}

// Scheduled lists ws's scheduled changes, soonest first.
func (c *Changes) Scheduled(ctx context.Context, ws commands.Workspace) ([]commands.Change, error) {
	const op = "list scheduled changes"
	idx := c.wsKey(ws, idxScheduled)
	members, err := c.indexMembers(ctx, idx, math.Inf(1), 0)
	if err != nil {
		return nil, storeError(op, "", err)
	}
	return c.over(ctx, c.scheduled, op, []string{idx}, members)
}

// maxOverdue bounds how many overdue emergency changes one call lists.
const maxOverdue = 50

// Overdue lists ws's applied emergency changes that nobody signed off by
// their deadline (at or before now), oldest first, at most 50: what a
// digest lists under its own heading until someone signs them off. A
// change is kept Retention after it was applied, and leaves the list then.
// A workspace in an Enterprise Grid org also lists those made before it
// joined the org (see GridChanges).
func (c *Changes) Overdue(ctx context.Context, ws commands.Workspace, now time.Time) ([]commands.Change, error) {
	out, err := c.overdueOf(ctx, ws, now)
	old, ok := before(ws)
	if err != nil || !ok {
		return out, err
	}
	earlier, err := c.overdueOf(ctx, old, now)
	if err != nil {
		return nil, err
	}
	for _, e := range earlier {
		out = append(out, relabel(e, old, ws))
	}
	slices.SortStableFunc(out, func(a, b commands.Change) int { return a.SignoffDue.Compare(b.SignoffDue) })
	return out, nil
}

func (c *Changes) overdueOf(ctx context.Context, ws commands.Workspace, now time.Time) ([]commands.Change, error) {
	const op = "list overdue emergency changes"
	idx := c.wsKey(ws, idxUnsigned)
	members, err := c.indexMembers(ctx, idx, float64(now.UnixMilli()), maxOverdue)
	if err != nil {
		return nil, storeError(op, "", err)
	}
	return c.over(ctx, c.overdue, op, []string{idx}, members)
}

// PendingByAge counts the pending changes of all workspaces by age, for
// operators: counts[i] is how many are younger than bounds[i] (and at least
// bounds[i-1] old), and the last element counts those at least the last
// bound old. bounds must be increasing. Ages come from the expiry indexes,
// so they assume every change was given ttl to live (Options.ApprovalTTL):
// true for changes requested through Flagbot today. It costs one pipeline
// of len(bounds)+1 commands per workspace.
func (c *Changes) PendingByAge(ctx context.Context, now time.Time, ttl time.Duration, bounds []time.Duration) ([]int64, error) {
	const op = "count pending changes"
	wss, err := c.registered(ctx)
	if err != nil {
		return nil, storeError(op, "", err)
	}
	keys := make([]string, len(wss))
	for i, ws := range wss {
		keys[i] = c.wsKey(ws, idxExpiry)
	}
	// A change a old expires at now + ttl - a: younger means later.
	counts := make([]int64, len(bounds)+1)
	hi := math.Inf(1)
	for i := range counts {
		lo := math.Inf(-1)
		if i < len(bounds) {
			lo = float64(now.Add(ttl - bounds[i]).UnixMilli())
		}
		ns, err := c.store.ZCountEach(ctx, keys, lo, hi)
		if err != nil {
			return nil, storeError(op, "", err)
		}
		for _, n := range ns {
			counts[i] += n
		}
		hi = lo - 1 // scores are whole milliseconds
	}
	return counts, nil
}

// ExpireDue marks at most limit pending changes whose ExpiresAt is before
// now as expired, across all workspaces, and returns them. Each change is
// returned by exactly one call, whichever replica makes it. limit <= 0
// means 100.
func (c *Changes) ExpireDue(ctx context.Context, now time.Time, limit int) ([]commands.Change, error) {
	const op = "expire changes"
	if err := checkNow(now); err != nil {
		return nil, fmt.Errorf("approvals: expire changes: %w", err)
	}
	limit = defaultLimit(limit)
	return c.sweep(ctx, op, idxExpiry, now, limit, func(ws commands.Workspace, idx string, due []string) ([]commands.Change, error) {
		fixed := []string{idx, c.wsKey(ws, idxRemind), c.wsKey(ws, idxPending), c.wsKey(ws, idxHistory)}
		return c.over(ctx, c.expireDue, op, fixed, due, nanos(now), c.opts.HistoryLimit, millis(c.opts.Retention))
	})
}

// Reclaimable lists at most limit approved changes, across all workspaces,
// that nobody is applying any more: their lease ended at or before now (the
// attempt died or lost Redis), or they were approved without a claim more
// than unclaimedAfter ago (changes approved before leases existed), oldest
// first. It is a read: a change is listed by every call, on every replica,
// until one attempt claims it (Claim: only one succeeds) or finishes it.
// Index entries of changes that are gone or no longer approved are dropped
// on the way. limit <= 0 means 100.
func (c *Changes) Reclaimable(ctx context.Context, now time.Time, unclaimedAfter time.Duration, limit int) ([]commands.Change, error) {
	const op = "list reclaimable changes"
	if err := checkNow(now); err != nil {
		return nil, fmt.Errorf("approvals: list reclaimable changes: %w", err)
	}
	limit = defaultLimit(limit)
	out, err := c.sweepEach(ctx, op, idxApplying, now, limit, func(_ commands.Workspace, idx string, due []string) ([]commands.Change, error) {
		return c.over(ctx, c.reclaimable, op, []string{idx}, due, nanos(now.Add(-unclaimedAfter)))
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b commands.Change) int { return approvedAt(a).Compare(approvedAt(b)) })
	return out[:min(len(out), limit)], nil
}

// RemindDue hands out, across workspaces, at most limit pending changes
// that are halfway to their expiry, each exactly once whichever replica
// calls. limit <= 0 means 100.
func (c *Changes) RemindDue(ctx context.Context, now time.Time, limit int) ([]commands.Change, error) {
	const op = "list changes to remind"
	return c.sweep(ctx, op, idxRemind, now, defaultLimit(limit), func(_ commands.Workspace, idx string, due []string) ([]commands.Change, error) {
		return c.over(ctx, c.remindDue, op, []string{idx}, due)
	})
}

// SignoffDue hands out, across workspaces, at most limit applied emergency
// changes nobody signed off whose reminder (stage SignoffReminded) or
// deadline (stage SignoffOverdue) came, each stage of each change exactly
// once whichever replica calls. limit <= 0 means 100.
func (c *Changes) SignoffDue(ctx context.Context, now time.Time, limit int) ([]commands.Change, error) {
	const op = "list unsigned emergency changes"
	return c.sweep(ctx, op, idxSignoff, now, defaultLimit(limit), func(_ commands.Workspace, idx string, due []string) ([]commands.Change, error) {
		return c.over(ctx, c.signoffDue, op, []string{idx}, due, now.UnixMilli())
	})
}

// DueScheduled lists, across workspaces, at most limit scheduled changes
// whose time is at or before now, soonest first. It is a read: a change is
// listed by every call until it is claimed (ClaimScheduled: only one call
// succeeds) or cancelled. limit <= 0 means 100.
func (c *Changes) DueScheduled(ctx context.Context, now time.Time, limit int) ([]commands.Change, error) {
	const op = "list due scheduled changes"
	limit = defaultLimit(limit)
	out, err := c.sweepEach(ctx, op, idxScheduled, now, limit, func(_ commands.Workspace, idx string, due []string) ([]commands.Change, error) {
		return c.over(ctx, c.scheduled, op, []string{idx}, due)
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b commands.Change) int { return a.ApplyAt.Compare(b.ApplyAt) })
	return out[:min(len(out), limit)], nil
}

func defaultLimit(limit int) int {
	if limit <= 0 {
		return 100
	}
	return limit
}

// sweep reads index idx of every registered workspace up to now (at most
// limit members each, lowest score first), in one pipeline, and calls run
// for each workspace with due members, until the results reach limit. It
// returns what the runs returned, at most limit: for the sweeps that hand
// each change out once, so that what is not handed out now stays for the
// next call.
func (c *Changes) sweep(ctx context.Context, op, idx string, now time.Time, limit int,
	run func(ws commands.Workspace, idx string, due []string) ([]commands.Change, error)) ([]commands.Change, error) {
	return c.visit(ctx, op, idx, now, limit, true, run)
}

// sweepEach is sweep for the listings that change nothing (Reclaimable,
// DueScheduled): every workspace's lowest-scored limit due members are
// run, and the caller picks the limit it wants of all of them.
func (c *Changes) sweepEach(ctx context.Context, op, idx string, now time.Time, limit int,
	run func(ws commands.Workspace, idx string, due []string) ([]commands.Change, error)) ([]commands.Change, error) {
	return c.visit(ctx, op, idx, now, limit, false, run)
}

func (c *Changes) visit(ctx context.Context, op, idx string, now time.Time, limit int, stopAtLimit bool,
	run func(ws commands.Workspace, idx string, due []string) ([]commands.Change, error)) ([]commands.Change, error) {
	wss, err := c.registered(ctx)
	if err != nil {
		return nil, storeError(op, "", err)
	}
	keys := make([]string, len(wss))
	for i, ws := range wss {
		keys[i] = c.wsKey(ws, idx)
	}
	due, err := c.store.ZRangeUpToEach(ctx, keys, float64(now.UnixMilli()), limit)
	if err != nil {
		return nil, storeError(op, "", err)
	}
	var out []commands.Change
	for i, ms := range due {
		if len(ms) == 0 {
			continue
		}
		if stopAtLimit && len(ms) > limit-len(out) {
			ms = ms[:limit-len(out)]
		}
		got, err := run(wss[i], keys[i], c.stripMembers(ms))
		if err != nil {
			return out, err
		}
		out = append(out, got...)
		if stopAtLimit && len(out) >= limit {
			break
		}
	}
	return out, nil
}

// registered returns the workspaces of changes:workspaces, sorted.
func (c *Changes) registered(ctx context.Context) ([]commands.Workspace, error) {
	ms, err := c.store.SMembers(ctx, workspacesKey)
	if err != nil {
		return nil, err
	}
	slices.Sort(ms)
	out := make([]commands.Workspace, 0, len(ms))
	for _, m := range ms {
		team, ent, parts, ok := redisstore.ParseWorkspaceKey(m)
		if ok && len(parts) == 0 {
			out = append(out, commands.Workspace{TeamID: team, EnterpriseID: ent})
		}
	}
	return out, nil
}

// indexMembers returns up to limit (0: all) members of the sorted set idx
// with a score at most max, lowest first, as keys without the prefix.
func (c *Changes) indexMembers(ctx context.Context, idx string, max float64, limit int) ([]string, error) {
	ms, err := c.store.ZRangeUpTo(ctx, idx, max, limit)
	if err != nil {
		return nil, err
	}
	return c.stripMembers(ms), nil
}

func (c *Changes) stripMembers(ms []redisstore.ScoredMember) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		if k, ok := c.store.StripPrefix(m.Member); ok {
			out = append(out, k)
		}
	}
	return out
}

func (c *Changes) stripAll(full []string) []string {
	out := make([]string, 0, len(full))
	for _, f := range full {
		if k, ok := c.store.StripPrefix(f); ok {
			out = append(out, k)
		}
	}
	return out
}

// over runs a listing script with KEYS fixed and then changes; with no
// changes, it runs nothing and returns none.
func (c *Changes) over(ctx context.Context, script *redisstore.Script, op string, fixed, changes []string, args ...any) ([]commands.Change, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	return c.list(ctx, script, op, append(fixed, changes...), args...)
}
