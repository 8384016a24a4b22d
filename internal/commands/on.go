package commands

import "context"

// On turns a flag on in one environment.
type On struct {
	Flag string
	Env  string // empty means the workspace's default environment
	WriteOptions
}

// Name implements Command.
func (On) Name() string { return "on" }

func onSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "on",
			Usage:    "on <flag>" + envScopedUsageTail,
			Summary:  "Asks to turn a flag on in an environment. " + writeOptionsHelp,
			Examples: []string{"on new-checkout production", `on new-checkout --env staging --reason "QA signed off"`, `on new-checkout production --at tomorrow 09:00 Europe/Berlin --reason "launch"`},
		},
		options: envScopedOptions(),
		parse:   parseToggle(true),
	}
}

// Run implements Command: it files the change for approval.
func (c On) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	return x.requestChange(ctx, actor, c)
}

// Plan implements ChangeCommand.
func (c On) Plan(ctx context.Context, x *Executor, conn Connection, p string) (Change, error) {
	return planToggle(ctx, x, conn, p, c.Flag, c.Env, true)
}

// Args implements ChangeCommand.
func (c On) Args(scope Scope) []string { return envArgs(scope, c.Flag, c.Env) }

// parseToggle parses `on` and `off`.
func parseToggle(on bool) func(a *parseArgs) (Command, error) {
	return func(a *parseArgs) (Command, error) {
		flag, err := a.flagArg(a.entry.Name + " new-checkout production")
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
		if on {
			return On{Flag: flag, Env: env, WriteOptions: w}, nil
		}
		return Off{Flag: flag, Env: env, WriteOptions: w}, nil
	}
}

// planToggle plans turning a flag on or off.
func planToggle(ctx context.Context, x *Executor, conn Connection, p, flag, typedEnv string, on bool) (Change, error) {
	kind, instr := ChangeOff, InstrTurnOff
	if on {
		kind, instr = ChangeOn, InstrTurnOn
	}
	c, f, fe, err := x.planInEnv(ctx, conn, p, kind, flag, typedEnv)
	if err != nil {
		return Change{}, err
	}
	if fe.On == on {
		return Change{}, inField(Errorf(KindInvalid, "`%s` is already %s in `%s`.", f.Key, onOff(on), c.Env), FieldAction)
	}
	c.Patch = &Patch{Env: c.Env, Instructions: []Instruction{{Kind: instr}}}
	c.Diff = []DiffLine{{Field: c.Env, Before: onOff(fe.On), After: onOff(on)}}
	return c, nil
}
