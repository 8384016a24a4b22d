package commands

import "context"

// writeSubcommands returns the help-and-parse rows of the write commands
// (issue: writes behind the two-person rule).
func writeSubcommands() []subcommand { return nil }

// executeWrite runs the write commands; ok is false for any other command.
func (e *Executor) executeWrite(ctx context.Context, actor Actor, conn Connection, client LaunchDarkly, cmd Command) (res Result, ok bool, err error) {
	return nil, false, nil
}
