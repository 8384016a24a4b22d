package approvals

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
)

// GridChanges keeps the changes of a workspace that joined an Enterprise
// Grid org decidable. Slack sends an enterprise ID for the workspace from
// then on, so its keys change (redisstore.WorkspaceKey); changes requested
// before stay under the team's keys without enterprise, where the sweeper
// still expires them (its indexes hold full keys). GridChanges looks there
// when a change is not found under the keys in the org, and returns such a
// change as one of the workspace in the org, so the core, which refuses
// changes of another workspace, decides, finishes and lists it like any
// other. New changes go under the keys in the org.
//
// A team ID names one Slack workspace, in or out of an org, so looking up
// the same team without enterprise reaches no other workspace's data.
//
// It implements commands.Changes around another one (normally *Changes).
// Every method is spelled out, so a method added to commands.Changes does
// not compile here until someone decides how it falls back.
type GridChanges struct {
	inner commands.Changes
}

var _ commands.Changes = GridChanges{}

// NewGridChanges returns c with the fallback described on GridChanges.
func NewGridChanges(c commands.Changes) GridChanges { return GridChanges{inner: c} }

// Create implements commands.Changes: new changes go under c.Workspace as
// given.
func (g GridChanges) Create(ctx context.Context, c commands.Change, dedupeKey string) (commands.Change, bool, error) {
	return g.inner.Create(ctx, c, dedupeKey)
}

// before returns ws's team as it was named before joining its org; ok is
// false when ws is not in an org.
func before(ws commands.Workspace) (commands.Workspace, bool) {
	if ws.EnterpriseID == "" {
		return ws, false
	}
	return commands.Workspace{TeamID: ws.TeamID}, true
}

// relabel presents c, read under old, as a change of ws.
func relabel(c commands.Change, old, ws commands.Workspace) commands.Change {
	if c.Workspace == old {
		c.Workspace = ws
	}
	return c
}

// fallback runs op for ws and, when ws is in an org and op found no such
// change, for its team as named before; it relabels what comes back.
func fallback(ws commands.Workspace, op func(commands.Workspace) (commands.Change, error)) (commands.Change, error) {
	c, err := op(ws)
	old, ok := before(ws)
	if !ok || !errors.Is(err, commands.ErrChangeNotFound) {
		return c, err
	}
	c, err = op(old)
	return relabel(c, old, ws), err
}

// Get implements commands.Changes.
func (g GridChanges) Get(ctx context.Context, ws commands.Workspace, id string) (commands.Change, error) {
	return fallback(ws, func(w commands.Workspace) (commands.Change, error) { return g.inner.Get(ctx, w, id) })
}

// Approve implements commands.Changes.
func (g GridChanges) Approve(ctx context.Context, ws commands.Workspace, id, approver string, now time.Time, claim commands.Claim, deleteConfirmed bool) (commands.Change, bool, error) {
	var approvedNow bool
	c, err := fallback(ws, func(w commands.Workspace) (commands.Change, error) {
		c, done, err := g.inner.Approve(ctx, w, id, approver, now, claim, deleteConfirmed)
		approvedNow = done
		return c, err
	})
	return c, approvedNow, err
}

// Claim implements commands.Changes.
func (g GridChanges) Claim(ctx context.Context, ws commands.Workspace, id string, claim commands.Claim, now time.Time, unclaimedAfter time.Duration) (commands.Change, error) {
	return fallback(ws, func(w commands.Workspace) (commands.Change, error) {
		return g.inner.Claim(ctx, w, id, claim, now, unclaimedAfter)
	})
}

// Renew implements commands.Changes.
func (g GridChanges) Renew(ctx context.Context, ws commands.Workspace, id string, fence int64, claim commands.Claim, now time.Time, sent bool) (commands.Lease, error) {
	l, err := g.inner.Renew(ctx, ws, id, fence, claim, now, sent)
	if old, ok := before(ws); ok && errors.Is(err, commands.ErrChangeNotFound) {
		return g.inner.Renew(ctx, old, id, fence, claim, now, sent)
	}
	return l, err
}

// Reject implements commands.Changes.
func (g GridChanges) Reject(ctx context.Context, ws commands.Workspace, id, by string, now time.Time) (commands.Change, error) {
	return fallback(ws, func(w commands.Workspace) (commands.Change, error) { return g.inner.Reject(ctx, w, id, by, now) })
}

// Cancel implements commands.Changes.
func (g GridChanges) Cancel(ctx context.Context, ws commands.Workspace, id, by string, now time.Time) (commands.Change, error) {
	return fallback(ws, func(w commands.Workspace) (commands.Change, error) { return g.inner.Cancel(ctx, w, id, by, now) })
}

// Finish implements commands.Changes.
func (g GridChanges) Finish(ctx context.Context, ws commands.Workspace, id string, fence int64, status commands.ChangeStatus, outcome commands.Text, undo *commands.UndoPlan, now time.Time) (commands.Change, error) {
	return fallback(ws, func(w commands.Workspace) (commands.Change, error) {
		return g.inner.Finish(ctx, w, id, fence, status, outcome, undo, now)
	})
}

// CreateApproved implements commands.Changes: new changes go under
// c.Workspace as given.
func (g GridChanges) CreateApproved(ctx context.Context, c commands.Change, dedupeKey string, claim commands.Claim) (commands.Change, bool, error) {
	return g.inner.CreateApproved(ctx, c, dedupeKey, claim)
}

// ClaimScheduled implements commands.Changes.
func (g GridChanges) ClaimScheduled(ctx context.Context, ws commands.Workspace, id string, claim commands.Claim, now time.Time) (commands.Change, error) {
	return fallback(ws, func(w commands.Workspace) (commands.Change, error) {
		return g.inner.ClaimScheduled(ctx, w, id, claim, now)
	})
}

// Unschedule implements commands.Changes.
func (g GridChanges) Unschedule(ctx context.Context, ws commands.Workspace, id, by string, now time.Time) (commands.Change, error) {
	return fallback(ws, func(w commands.Workspace) (commands.Change, error) { return g.inner.Unschedule(ctx, w, id, by, now) })
}

// LinkUndo implements commands.Changes.
func (g GridChanges) LinkUndo(ctx context.Context, ws commands.Workspace, id, expect, undoID string) (commands.Change, error) {
	return fallback(ws, func(w commands.Workspace) (commands.Change, error) {
		return g.inner.LinkUndo(ctx, w, id, expect, undoID)
	})
}

// SignOff implements commands.Changes.
func (g GridChanges) SignOff(ctx context.Context, ws commands.Workspace, id, by string, now time.Time) (commands.Change, error) {
	return fallback(ws, func(w commands.Workspace) (commands.Change, error) { return g.inner.SignOff(ctx, w, id, by, now) })
}

// SetDMs implements commands.Changes.
func (g GridChanges) SetDMs(ctx context.Context, ws commands.Workspace, id string, dms []commands.PostRef) error {
	_, err := fallback(ws, func(w commands.Workspace) (commands.Change, error) {
		return commands.Change{}, g.inner.SetDMs(ctx, w, id, dms)
	})
	return err
}

// Scheduled implements commands.Changes: the workspace's scheduled changes
// from before and after it joined its org, soonest first.
func (g GridChanges) Scheduled(ctx context.Context, ws commands.Workspace) ([]commands.Change, error) {
	cs, err := g.inner.Scheduled(ctx, ws)
	old, ok := before(ws)
	if err != nil || !ok {
		return cs, err
	}
	earlier, err := g.inner.Scheduled(ctx, old)
	if err != nil || len(earlier) == 0 {
		return cs, err
	}
	for i := range earlier {
		earlier[i] = relabel(earlier[i], old, ws)
	}
	all := append(earlier, cs...)
	slices.SortStableFunc(all, func(a, b commands.Change) int { return a.ApplyAt.Compare(b.ApplyAt) })
	return all, nil
}

// SetMessage implements commands.Changes.
func (g GridChanges) SetMessage(ctx context.Context, ws commands.Workspace, id, channelID, ts string) error {
	_, err := fallback(ws, func(w commands.Workspace) (commands.Change, error) {
		return commands.Change{}, g.inner.SetMessage(ctx, w, id, channelID, ts)
	})
	return err
}

// Pending implements commands.Changes: the workspace's pending changes from
// before and after it joined its org, oldest first.
func (g GridChanges) Pending(ctx context.Context, ws commands.Workspace) ([]commands.Change, error) {
	cs, err := g.inner.Pending(ctx, ws)
	old, ok := before(ws)
	if err != nil || !ok {
		return cs, err
	}
	earlier, err := g.inner.Pending(ctx, old)
	if err != nil || len(earlier) == 0 {
		return cs, err
	}
	for i := range earlier {
		earlier[i] = relabel(earlier[i], old, ws)
	}
	all := append(earlier, cs...)
	slices.SortStableFunc(all, func(a, b commands.Change) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return all, nil
}

// History implements commands.Changes: the most recent final changes from
// before and after the workspace joined its org, newest decision first.
func (g GridChanges) History(ctx context.Context, ws commands.Workspace, flag string, limit int) ([]commands.Change, error) {
	cs, err := g.inner.History(ctx, ws, flag, limit)
	old, ok := before(ws)
	if err != nil || !ok {
		return cs, err
	}
	earlier, err := g.inner.History(ctx, old, flag, limit)
	if err != nil || len(earlier) == 0 {
		return cs, err
	}
	for i := range earlier {
		earlier[i] = relabel(earlier[i], old, ws)
	}
	all := append(cs, earlier...)
	slices.SortStableFunc(all, func(a, b commands.Change) int {
		return cmp.Or(b.DecidedAt.Compare(a.DecidedAt), b.CreatedAt.Compare(a.CreatedAt))
	})
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}
