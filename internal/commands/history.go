package commands

import (
	"context"
	"errors"
)

// History lists the workspace's decided changes, newest first, only those
// of Flag when it is set.
type History struct{ Flag string }

// HistoryResult lists decided changes, newest first; Flag is the filter.
type HistoryResult struct {
	Flag    string
	Changes []Change
}

func (HistoryResult) result() {}

// Name implements Command.
func (History) Name() string { return "history" }

func historySpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "history",
			Usage:    "history [flag]",
			Summary:  "Lists the last 50 decided changes in this workspace (applied, rejected, cancelled, expired, ...), or one flag's.",
			Examples: []string{"history", "history new-checkout"},
		},
		parse: func(a *parseArgs) (Command, error) {
			if err := a.atMost(1); err != nil {
				return nil, err
			}
			if len(a.pos) == 0 {
				return History{}, nil
			}
			if err := a.key("flag key", a.pos[0]); err != nil {
				return nil, err
			}
			return History{Flag: a.pos[0]}, nil
		},
	}
}

// Run implements Command.
func (h History) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	if _, err := x.connection(ctx, actor.Workspace); err != nil {
		return nil, err
	}
	if x.changes == nil {
		return nil, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	cs, err := x.changes.History(ctx, actor.Workspace, h.Flag, historyLimit)
	if err != nil {
		return nil, storeError("list decided changes", err)
	}
	return HistoryResult{Flag: h.Flag, Changes: cs}, nil
}
