package commands

import "context"

// Restore restores an archived flag.
type Restore struct {
	Flag string
	WriteOptions
}

// Name implements Command.
func (Restore) Name() string { return "restore" }

func restoreSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "restore",
			Usage:    "restore <flag>" + flagWideUsageTail,
			Summary:  "Asks to restore an archived flag.",
			Examples: []string{"restore old-banner", `restore old-banner --project web --reason "still needed"`},
		},
		options: flagWideOptions(),
		parse: parseFlagWide("restore", func(flag string, w WriteOptions) Command {
			return Restore{Flag: flag, WriteOptions: w}
		}),
	}
}

// Run implements Command: it files the change for approval.
func (c Restore) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	return x.requestChange(ctx, actor, c)
}

// Plan implements ChangeCommand.
func (c Restore) Plan(ctx context.Context, x *Executor, conn Connection, p string) (Change, error) {
	ch, f, err := x.planFlagWide(ctx, conn, p, ChangeRestore, c.Flag)
	if err != nil {
		return Change{}, err
	}
	if !f.Archived {
		return Change{}, inField(Errorf(KindInvalid, "`%s` isn't archived, so there is nothing to restore.", f.Key), FieldAction)
	}
	ch.Patch = &Patch{Instructions: []Instruction{{Kind: InstrRestore}}}
	ch.Diff = []DiffLine{{Field: "archived", Before: "yes", After: "no"}}
	return ch, nil
}

// Args implements ChangeCommand.
func (c Restore) Args(Scope) []string { return []string{c.Flag} }
