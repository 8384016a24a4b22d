package commands

import "context"

// Disconnect forgets the workspace's LaunchDarkly token.
type Disconnect struct{}

// DisconnectResult reports that a connection was removed. Unreadable is
// set when the stored token could not be decrypted (Info is then empty).
type DisconnectResult struct {
	Info       ConnectionInfo
	Unreadable bool
}

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
	unreadable := KindOf(err) == KindUnreadable
	if err != nil && !unreadable {
		return nil, err
	}
	// An unreadable token is deleted all the same: forgetting it is what
	// an admin who lost the key wants.
	if err := x.ws.Delete(ctx, actor.Workspace); err != nil {
		return nil, storeError("delete workspace connection", err)
	}
	if unreadable {
		return DisconnectResult{Unreadable: true}, nil
	}
	return DisconnectResult{Info: conn.Info()}, nil
}
