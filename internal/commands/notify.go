package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// People who get told: the members of the approver group get a direct
// message with each request that needs approval (Approve and Reject right
// there), the responders group with each emergency change still unsigned
// halfway to its deadline. `/flag notify off` opts a person out of both.

// MaxNoDMs bounds Policy.NoDMs: how many people of one workspace may turn
// direct messages off.
const MaxNoDMs = 1000

// maxDMRecipients bounds the direct messages about one change.
const maxDMRecipients = 50

// Notify turns Flagbot's direct messages to the caller on or off, or
// (Show) says whether they are on.
type Notify struct {
	Off  bool
	Show bool
}

// NotifyResult says whether the caller gets direct messages; Changed is
// false when nothing had to change (or for Show).
type NotifyResult struct {
	Off     bool
	Changed bool
}

func (NotifyResult) result() {}

// Name implements Command.
func (Notify) Name() string { return "notify" }

func notifySpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "notify",
			Usage:    "notify [off|on]",
			Summary:  "Turns off (or back on) the direct messages Flagbot sends you: requests you may approve, and emergency changes that still need a sign-off. Without an argument, says whether they are on.",
			Examples: []string{"notify off", "notify on", "notify"},
		},
		parse: func(a *parseArgs) (Command, error) {
			if err := a.atMost(1); err != nil {
				return nil, err
			}
			if len(a.pos) == 0 {
				return Notify{Show: true}, nil
			}
			on, ok := parseSwitch(a.pos[0])
			if !ok {
				return nil, a.usagef("`notify` is `on` or `off`, not %s.", echo(a.pos[0]))
			}
			return Notify{Off: !on}, nil
		},
	}
}

// Run implements Command.
func (n Notify) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	if x.policies == nil {
		return nil, &Error{Kind: KindInternal, Err: errors.New("commands: no policy store configured")}
	}
	if n.Show {
		pol, err := x.policies.Policy(ctx, actor.Workspace)
		if err != nil {
			return nil, storeError("read approval policy", err)
		}
		return NotifyResult{Off: slices.Contains(pol.NoDMs, actor.UserID)}, nil
	}
	changed := false
	_, err := x.policies.Update(ctx, actor.Workspace, func(p *Policy) error {
		has := slices.Contains(p.NoDMs, actor.UserID)
		changed = has != n.Off
		switch {
		case n.Off && !has:
			if len(p.NoDMs) >= MaxNoDMs {
				return Errorf(KindInvalid, "%d people turned direct messages off in this workspace, the most Flagbot keeps; ask an admin to remove the approver group instead.", MaxNoDMs)
			}
			p.NoDMs = append(p.NoDMs, actor.UserID)
		case !n.Off && has:
			p.NoDMs = slices.DeleteFunc(slices.Clone(p.NoDMs), func(u string) bool { return u == actor.UserID })
		}
		return nil
	})
	var cerr *Error
	switch {
	case errors.As(err, &cerr):
		return nil, err
	case err != nil:
		return nil, storeError("store direct message setting", err)
	}
	return NotifyResult{Off: n.Off, Changed: changed}, nil
}

// ApproverDMs returns whom to tell about pending change c in a direct
// message: the members of the workspace's approver group, without the
// requester and those who turned direct messages off (at most 50). None
// when the workspace has no approver group.
func (e *Executor) ApproverDMs(ctx context.Context, c Change) ([]string, error) {
	if e.policies == nil {
		return nil, nil
	}
	pol, err := e.policies.Policy(ctx, c.Workspace)
	if err != nil {
		return nil, storeError("read approval policy", err)
	}
	return e.groupDMs(ctx, c.Workspace, pol, pol.ApproverGroup, c.RequesterID)
}

// groupDMs lists group's members but except and those who opted out.
func (e *Executor) groupDMs(ctx context.Context, ws Workspace, pol Policy, group, except string) ([]string, error) {
	if group == "" {
		return nil, nil
	}
	members, err := e.dir.GroupMembers(ctx, ws, group)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: read user group %s: %w", group, err)}
	}
	var out []string
	for _, m := range members {
		if m == except || slices.Contains(pol.NoDMs, m) || slices.Contains(out, m) {
			continue
		}
		out = append(out, m)
		if len(out) == maxDMRecipients {
			break
		}
	}
	return out, nil
}

// RecordDMs remembers the direct messages that told people about change
// id, so that later decisions update them too.
func (e *Executor) RecordDMs(ctx context.Context, ws Workspace, id string, dms []PostRef) error {
	if e.changes == nil || len(dms) == 0 {
		return nil
	}
	if err := e.changes.SetDMs(ctx, ws, id, dms); err != nil {
		if errors.Is(err, ErrChangeNotFound) {
			return changeError(Change{}, err)
		}
		return storeError("record direct messages", err)
	}
	return nil
}

// Refresh reads change id of ws as it stands, with its undo link, for a
// transport to show it again (after an undo of it was filed or decided, or
// when the sweeper found it due).
func (e *Executor) Refresh(ctx context.Context, ws Workspace, id string) (ChangeResult, error) {
	if e.changes == nil {
		return ChangeResult{}, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	c, err := e.changes.Get(ctx, ws, id)
	if err != nil {
		return ChangeResult{}, changeError(c, err)
	}
	return e.withLinks(ctx, ChangeResult{Change: c, FlagURL: e.flagURL(c)}), nil
}

// withLinks reads res.Change's undo request into res.UndoLink, when it has
// one that can be read.
func (e *Executor) withLinks(ctx context.Context, res ChangeResult) ChangeResult {
	if id := res.Change.UndoneBy; id != "" && e.changes != nil {
		if u, err := e.changes.Get(ctx, res.Change.Workspace, id); err == nil {
			res.UndoLink = &u
		}
	}
	return res
}
