package commands

import "context"

// Disconnect forgets the workspace's LaunchDarkly token.
type Disconnect struct{}

// DisconnectResult reports that a connection was removed.
type DisconnectResult struct{ Info ConnectionInfo }

func (DisconnectResult) result() {}

// Name implements Command.
func (Disconnect) Name() string { return "disconnect" }

func disconnectSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "disconnect",
			Usage:    "disconnect",
			Summary:  "Disconnects this workspace from LaunchDarkly and forgets its token.",
			Examples: []string{"disconnect"},
			Admin:    true,
		},
		parse: noArgs(Disconnect{}),
	}
}

// Run implements Command.
func (Disconnect) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	if err := x.requireAdmin(ctx, actor, "disconnect this workspace"); err != nil {
		return nil, err
	}
	conn, err := x.connection(ctx, actor.Workspace)
	if err != nil {
		return nil, err
	}
	if err := x.ws.Delete(ctx, actor.Workspace); err != nil {
		return nil, storeError("delete workspace connection", err)
	}
	return DisconnectResult{Info: conn.Info()}, nil
}
