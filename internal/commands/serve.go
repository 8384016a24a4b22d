package commands

import "context"

// Serve sets the variation a flag serves by default (its fallthrough) in
// one environment. Variation is named by its name, its value or its index.
type Serve struct {
	Flag      string
	Variation string
	Env       string
	WriteOptions
}

// Name implements Command.
func (Serve) Name() string { return "serve" }

func serveSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "serve",
			Usage:    "serve <flag> <variation>" + envScopedUsageTail,
			Summary:  "Asks to change the variation a flag serves by default (when no target or rule matches). Name the variation by its name, its value or its index.",
			Examples: []string{"serve new-checkout true production", `serve checkout-layout "two column" staging --reason "design review"`, "serve banner-color 2 --env production"},
		},
		options: envScopedOptions(),
		parse:   parseVariationChange("serve"),
	}
}

// Run implements Command: it files the change for approval.
func (c Serve) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	return x.requestChange(ctx, actor, c)
}

// Plan implements ChangeCommand.
func (c Serve) Plan(ctx context.Context, x *Executor, conn Connection, p string) (Change, error) {
	ch, f, fe, err := x.planInEnv(ctx, conn, p, ChangeServe, c.Flag, c.Env)
	if err != nil {
		return Change{}, err
	}
	i, err := resolveVariation(f, c.Variation)
	if err != nil {
		return Change{}, err
	}
	if fe.Fallthrough != nil && fe.Fallthrough.Rollout == nil && fe.Fallthrough.Variation != nil && *fe.Fallthrough.Variation == i {
		return Change{}, inField(Errorf(KindInvalid, "`%s` already serves %s by default in `%s`.", f.Key, variationLabel(f, i), ch.Env), FieldVariation)
	}
	ch.Patch = &Patch{Env: ch.Env, Instructions: []Instruction{{Kind: InstrUpdateFallthrough, VariationID: f.Variations[i].ID}}}
	ch.Diff = []DiffLine{{Field: "default", Before: describeServe(f, fe.Fallthrough), After: variationLabel(f, i)}}
	return ch, nil
}

// Args implements ChangeCommand.
func (c Serve) Args(scope Scope) []string {
	return envArgs(scope, c.Flag, c.Env, quoteArg(c.Variation))
}

// parseVariationChange parses `serve` and `offvariation`.
func parseVariationChange(name string) func(a *parseArgs) (Command, error) {
	return func(a *parseArgs) (Command, error) {
		example := name + " new-checkout true production"
		flag, err := a.flagArg(example)
		if err != nil {
			return nil, err
		}
		v, err := a.variationArg(1, example)
		if err != nil {
			return nil, err
		}
		if err := a.atMost(3); err != nil {
			return nil, err
		}
		env, err := a.pick(2, optEnv, "environment")
		if err != nil {
			return nil, err
		}
		w, err := a.writeOpts()
		if err != nil {
			return nil, err
		}
		if name == "serve" {
			return Serve{Flag: flag, Variation: v, Env: env, WriteOptions: w}, nil
		}
		return OffVariation{Flag: flag, Variation: v, Env: env, WriteOptions: w}, nil
	}
}
