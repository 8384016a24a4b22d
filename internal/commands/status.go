package commands

import "context"

// Status shows whether and how the workspace is connected.
type Status struct{}

// StatusResult reports the workspace's connection; Connected is false when
// there is none.
type StatusResult struct {
	Connected bool
	Info      ConnectionInfo
	BaseURL   string
}

func (StatusResult) result() {}

// Name implements Command.
func (Status) Name() string { return "status" }

func statusSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "status",
			Usage:    "status",
			Summary:  "Shows whether this workspace is connected to LaunchDarkly, with which token and which defaults.",
			Examples: []string{"status"},
		},
		parse: noArgs(Status{}),
	}
}

// Run implements Command.
func (Status) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	conn, err := x.connection(ctx, actor.Workspace)
	switch {
	case KindOf(err) == KindNotConnected:
		return StatusResult{BaseURL: x.opts.BaseURL}, nil
	case err != nil:
		// Unreadable: the answer says so, and that an admin must
		// reconnect.
		return nil, err
	}
	return StatusResult{Connected: true, Info: conn.Info(), BaseURL: x.opts.BaseURL}, nil
}
