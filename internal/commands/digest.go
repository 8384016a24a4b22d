package commands

import "context"

// Digests stores digest subscriptions (issue: audit-log digests).
type Digests interface{}

// digestSubcommands returns the help-and-parse rows of `/flag digest`.
func digestSubcommands() []subcommand { return nil }

// executeDigest runs the digest commands; ok is false for any other command.
func (e *Executor) executeDigest(ctx context.Context, actor Actor, conn Connection, client LaunchDarkly, cmd Command) (res Result, ok bool, err error) {
	return nil, false, nil
}
