package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Kill is the break-glass switch: it turns a flag off at once, with no
// approval, for a member of the workspace's responders group (`/flag config
// breakglass`). The reason is mandatory. It is stored as an emergency
// change that someone else signs off afterwards (SignOff); unsigned, it is
// reminded halfway to Options.SignoffTTL and listed as overdue after it.
// Revert files its inverse as a normal request (RequestUndo).
type Kill struct {
	Flag string
	Env  string
	WriteOptions
}

// Name implements Command.
func (Kill) Name() string { return "kill" }

func killSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "kill",
			Usage:    "kill <flag> [env] --reason r [--project p]",
			Summary:  "Turns a flag off at once, with no approval: the break-glass switch for members of the responders group (`/flag config breakglass`). The reason is mandatory; someone else signs the change off afterwards, or reverts it.",
			Examples: []string{`kill new-checkout production --reason "checkout errors spiking"`, `kill dark-mode --env production --project mobile-app --reason "crash on launch"`},
		},
		options: []string{optEnv, optReason, optProject},
		parse: func(a *parseArgs) (Command, error) {
			flag, err := a.flagArg(`kill new-checkout production --reason "errors spiking"`)
			if err != nil {
				return nil, err
			}
			if err := a.atMost(2); err != nil {
				return nil, err
			}
			env, err := a.pick(1, optEnv, "environment")
			if err != nil {
				return nil, err
			}
			w, err := a.writeOpts()
			if err != nil {
				return nil, err
			}
			if w.Reason == "" {
				return nil, a.usagef("A kill needs a reason, for the people who sign it off: `/flag %s --reason \"...\"`.", strings.Join(append([]string{"kill"}, envArgs(Scope{}, flag, env)...), " "))
			}
			return Kill{Flag: flag, Env: env, WriteOptions: w}, nil
		},
	}
}

// Run implements Command: for a responder it applies the kill at once and
// returns the stored emergency change.
//
// Errors (*Error): KindForbidden when the workspace has no responders group,
// for a guest and for someone outside the group; KindInvalid when the flag
// is already off (nothing is changed); and those of requestChange.
func (c Kill) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	if x.policies == nil {
		return nil, &Error{Kind: KindInternal, Err: errors.New("commands: no policy store configured")}
	}
	pol, err := x.policies.Policy(ctx, actor.Workspace)
	if err != nil {
		return nil, storeError("read approval policy", err)
	}
	if pol.ResponderGroup == "" {
		return nil, Errorf(KindForbidden, "The kill switch isn't set up in this workspace: an admin names the responders who may use it with `/flag config breakglass @group`. Until then, ask for the change with `/flag off %s`.", c.Flag)
	}
	if actor.Guest {
		return nil, Errorf(KindForbidden, "Guests can't use the kill switch. Ask for the change with `/flag off %s`.", c.Flag)
	}
	members, err := x.dir.GroupMembers(ctx, actor.Workspace, pol.ResponderGroup)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &Error{Kind: KindTimeout, Err: err}
		}
		return nil, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: read responders group: %w", err)}
	}
	if !slices.Contains(members, actor.UserID) {
		return nil, Errorf(KindForbidden, "Only members of %s can use the kill switch. Ask for the change with `/flag off %s` instead.", Group(pol.ResponderGroup), c.Flag)
	}
	res, err := x.file(ctx, actor, filing{cmd: c, emergency: true})
	if err != nil && res.Change.ID == "" {
		return nil, err
	}
	return res, err
}

// Plan implements ChangeCommand: turning the flag off, as an emergency.
func (c Kill) Plan(ctx context.Context, x *Executor, conn Connection, p string) (Change, error) {
	ch, f, fe, err := x.planInEnv(ctx, conn, p, ChangeKill, c.Flag, c.Env)
	if err != nil {
		return Change{}, err
	}
	if !fe.On {
		return Change{}, Errorf(KindInvalid, "`%s` is already off in `%s`; nothing was changed.", f.Key, ch.Env)
	}
	ch.Patch = &Patch{Env: ch.Env, Instructions: []Instruction{{Kind: InstrTurnOff}}}
	ch.Diff = []DiffLine{{Field: ch.Env, Before: "on", After: "off"}}
	return ch, nil
}

// Args implements ChangeCommand.
func (c Kill) Args(scope Scope) []string { return envArgs(scope, c.Flag, c.Env) }

// SignOff records actor's sign-off of emergency change id: someone other
// than the person who made it, neither a guest nor an outsider.
//
// Errors (*Error): KindForbidden for the person who made the change and
// for a guest, KindConflict when it needs no sign-off or was signed off
// already (the message says by whom), and those of Approve.
func (e *Executor) SignOff(ctx context.Context, actor Actor, id string) (ChangeResult, error) {
	c, err := e.changeFor(ctx, actor, id)
	if err != nil {
		return ChangeResult{}, err
	}
	if actor.Guest {
		return ChangeResult{Change: c}, Errorf(KindForbidden, "Guests can't sign off emergency changes.")
	}
	c, err = e.changes.SignOff(ctx, actor.Workspace, id, actor.UserID, e.now())
	switch {
	case errors.Is(err, ErrSelfApproval):
		return ChangeResult{Change: c}, &Error{Kind: KindForbidden, Msg: Notation("You made this emergency change, so someone else has to sign it off."), Err: err}
	case errors.Is(err, ErrNoSignoff) && c.SignedOffBy != "":
		return ChangeResult{Change: c}, &Error{Kind: KindConflict, Msg: Textf("%s already signed this off.", User(c.SignedOffBy)), Err: err}
	case errors.Is(err, ErrNoSignoff):
		return ChangeResult{Change: c}, &Error{Kind: KindConflict, Msg: Notation("This change needs no sign-off."), Err: err}
	case err != nil:
		return ChangeResult{Change: c}, changeError(c, err)
	}
	return e.withLinks(ctx, ChangeResult{Change: c, FlagURL: e.flagURL(c)}), nil
}

// SignoffDMs returns whom to tell in a direct message that emergency change
// c still needs a sign-off: the responders group's members, without the
// person who made it and those who turned direct messages off.
func (e *Executor) SignoffDMs(ctx context.Context, c Change) ([]string, error) {
	pol, err := e.policies.Policy(ctx, c.Workspace)
	if err != nil {
		return nil, storeError("read approval policy", err)
	}
	return e.groupDMs(ctx, c.Workspace, pol, pol.ResponderGroup, c.RequesterID)
}
