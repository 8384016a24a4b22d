package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Scheduled lists the workspace's approved changes waiting for their time.
type Scheduled struct{}

// ScheduledResult lists scheduled changes, soonest first.
type ScheduledResult struct{ Changes []Change }

func (ScheduledResult) result() {}

// Name implements Command.
func (Scheduled) Name() string { return "scheduled" }

func scheduledSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "scheduled",
			Usage:    "scheduled",
			Summary:  "Lists the approved changes in this workspace waiting for their time (`--at` or `--in`), soonest first. Each request's *Cancel schedule* button stops one.",
			Examples: []string{"scheduled"},
		},
		parse: noArgs(Scheduled{}),
	}
}

// Run implements Command.
func (Scheduled) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	if _, err := x.connection(ctx, actor.Workspace); err != nil {
		return nil, err
	}
	if x.changes == nil {
		return nil, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	cs, err := x.changes.Scheduled(ctx, actor.Workspace)
	if err != nil {
		return nil, storeError("list scheduled changes", err)
	}
	return ScheduledResult{Changes: cs}, nil
}

// CancelSchedule cancels scheduled change id: its requester, anyone who
// approved it and admins may.
//
// Errors (*Error): KindForbidden for anyone else, KindConflict when it is
// no longer scheduled (the message says what happened), and those of
// Approve.
func (e *Executor) CancelSchedule(ctx context.Context, actor Actor, id string) (ChangeResult, error) {
	c, err := e.changeFor(ctx, actor, id)
	if err != nil {
		return ChangeResult{}, err
	}
	if c.Status != StatusScheduled {
		return ChangeResult{Change: c}, &Error{Kind: KindConflict, Msg: scheduleGone(c), Err: ErrDecided}
	}
	allowed := actor.UserID == c.RequesterID || slices.ContainsFunc(c.Approvals, func(a Approval) bool { return a.UserID == actor.UserID })
	if !allowed {
		admin, err := e.dir.IsAdmin(ctx, actor)
		if err != nil {
			if ctx.Err() != nil {
				return ChangeResult{Change: c}, &Error{Kind: KindTimeout, Err: err}
			}
			return ChangeResult{Change: c}, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: check admin: %w", err)}
		}
		allowed = admin
	}
	if !allowed {
		return ChangeResult{Change: c}, Errorf(KindForbidden, "Only %s, who asked for this change, the people who approved it and admins can cancel its schedule.", User(c.RequesterID))
	}
	c, err = e.changes.Unschedule(ctx, actor.Workspace, id, actor.UserID, e.now())
	if errors.Is(err, ErrDecided) {
		return ChangeResult{Change: c}, &Error{Kind: KindConflict, Msg: scheduleGone(c), Err: err}
	}
	if err != nil {
		return ChangeResult{Change: c}, changeError(c, err)
	}
	return ChangeResult{Change: c, FlagURL: e.flagURL(c)}, nil
}

// scheduleGone says why a change's schedule can't be cancelled any more.
func scheduleGone(c Change) Text {
	switch c.Status {
	case StatusApproved:
		return Notation("Its time has come: it is being applied right now.")
	case StatusCancelled:
		return Textf("%s already cancelled it.", User(c.DecidedBy))
	case StatusPending:
		return Notation("It isn't approved yet; its requester can cancel the request.")
	}
	return DecidedMessage(c)
}

// ApplyScheduled applies scheduled change c, whose time has come
// (approvals' DueScheduled lists them): it claims the change (one caller
// wins; the others get KindConflict) and runs the apply path Approve runs,
// with the usual stale check against the versions that were approved. A
// change more than Options.ScheduleGrace past its time is marked missed
// and not applied; one applied more than two minutes late says so. The
// result is as Approve's with ApprovedNow set.
func (e *Executor) ApplyScheduled(ctx context.Context, c Change) (ChangeResult, error) {
	if e.changes == nil {
		return ChangeResult{}, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	claim := e.newClaim()
	cur, err := e.changes.ClaimScheduled(ctx, c.Workspace, c.ID, claim, e.now())
	switch {
	case errors.Is(err, ErrDecided), errors.Is(err, ErrNotDue):
		return ChangeResult{Change: cur}, &Error{Kind: KindConflict, Msg: Notation("This change is not due, or another replica took it."), Err: err}
	case err != nil:
		return ChangeResult{Change: cur}, changeError(cur, err)
	}
	return e.applyApproved(ctx, cur, claim)
}
