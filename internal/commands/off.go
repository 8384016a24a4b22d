package commands

import "context"

// Off turns a flag off in one environment.
type Off struct {
	Flag string
	Env  string
	WriteOptions
}

// Name implements Command.
func (Off) Name() string { return "off" }

func offSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "off",
			Usage:    "off <flag>" + envScopedUsageTail,
			Summary:  "Asks to turn a flag off in an environment (it then serves its off variation).",
			Examples: []string{`off new-checkout production --reason "checkout errors spiking"`, "off dark-mode staging --project mobile-app"},
		},
		options: envScopedOptions(),
		parse:   parseToggle(false),
	}
}

// Run implements Command: it files the change for approval.
func (c Off) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	return x.requestChange(ctx, actor, c)
}

// Plan implements ChangeCommand.
func (c Off) Plan(ctx context.Context, x *Executor, conn Connection, p string) (Change, error) {
	return planToggle(ctx, x, conn, p, c.Flag, c.Env, false)
}

// Args implements ChangeCommand.
func (c Off) Args(scope Scope) []string { return envArgs(scope, c.Flag, c.Env) }
