package commands

import (
	"context"
	"errors"
)

// Pending lists the workspace's changes waiting for approval.
type Pending struct{}

// PendingResult lists the workspace's pending changes, oldest first.
type PendingResult struct{ Changes []Change }

func (PendingResult) result() {}

// Name implements Command.
func (Pending) Name() string { return "pending" }

func pendingSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "pending",
			Usage:    "pending",
			Summary:  "Lists the changes in this workspace waiting for approval.",
			Examples: []string{"pending"},
		},
		parse: noArgs(Pending{}),
	}
}

// Run implements Command.
func (Pending) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	if _, err := x.connection(ctx, actor.Workspace); err != nil {
		return nil, err
	}
	if x.changes == nil {
		return nil, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	cs, err := x.changes.Pending(ctx, actor.Workspace)
	if err != nil {
		return nil, storeError("list pending changes", err)
	}
	return PendingResult{Changes: cs}, nil
}
