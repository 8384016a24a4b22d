package commands

import "context"

// OffVariation sets the variation a flag serves while it is off.
type OffVariation struct {
	Flag      string
	Variation string
	Env       string
	WriteOptions
}

// Name implements Command.
func (OffVariation) Name() string { return "offvariation" }

func offVariationSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "offvariation",
			Usage:    "offvariation <flag> <variation>" + envScopedUsageTail,
			Summary:  "Asks to change the variation a flag serves while it is off.",
			Examples: []string{"offvariation new-checkout false production", "offvariation banner-color grey --env staging"},
		},
		options: envScopedOptions(),
		parse:   parseVariationChange("offvariation"),
	}
}

// Run implements Command: it files the change for approval.
func (c OffVariation) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	return x.requestChange(ctx, actor, c)
}

// Plan implements ChangeCommand.
func (c OffVariation) Plan(ctx context.Context, x *Executor, conn Connection, p string) (Change, error) {
	ch, f, fe, err := x.planInEnv(ctx, conn, p, ChangeOffVariation, c.Flag, c.Env)
	if err != nil {
		return Change{}, err
	}
	i, err := resolveVariation(f, c.Variation)
	if err != nil {
		return Change{}, err
	}
	if fe.OffVariation != nil && *fe.OffVariation == i {
		return Change{}, inField(Errorf(KindInvalid, "`%s` already serves %s while off in `%s`.", f.Key, variationLabel(f, i), ch.Env), FieldVariation)
	}
	ch.Patch = &Patch{Env: ch.Env, Instructions: []Instruction{{Kind: InstrUpdateOffVariation, VariationID: f.Variations[i].ID}}}
	before := "none"
	if fe.OffVariation != nil {
		before = variationLabel(f, *fe.OffVariation)
	}
	ch.Diff = []DiffLine{{Field: "off variation", Before: before, After: variationLabel(f, i)}}
	return ch, nil
}

// Args implements ChangeCommand.
func (c OffVariation) Args(scope Scope) []string {
	return envArgs(scope, c.Flag, c.Env, quoteArg(c.Variation))
}
