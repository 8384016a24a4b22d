package commands

import "context"

// Delete deletes a flag from every environment, for good. Approving it
// takes the flag key typed as confirmation (Executor.Approve).
type Delete struct {
	Flag string
	WriteOptions
}

// Name implements Command.
func (Delete) Name() string { return "delete" }

func deleteSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "delete",
			Usage:    "delete <flag>" + flagWideUsageTail,
			Summary:  "Asks to delete a flag from every environment, for good. The approver types the flag key to confirm; prefer `archive`.",
			Examples: []string{`delete old-banner --reason "removed from the code in v42"`, "delete old-banner --project web"},
		},
		options: flagWideOptions(),
		parse: parseFlagWide("delete", func(flag string, w WriteOptions) Command {
			return Delete{Flag: flag, WriteOptions: w}
		}),
	}
}

// Run implements Command: it files the change for approval.
func (c Delete) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	return x.requestChange(ctx, actor, c)
}

// Plan implements ChangeCommand.
func (c Delete) Plan(ctx context.Context, x *Executor, conn Connection, p string) (Change, error) {
	ch, _, err := x.planFlagWide(ctx, conn, p, ChangeDelete, c.Flag)
	if err != nil {
		return Change{}, err
	}
	ch.Delete = true
	ch.Diff = []DiffLine{{Field: "flag", Before: "exists", After: "deleted from every environment"}}
	return ch, nil
}

// Args implements ChangeCommand.
func (c Delete) Args(Scope) []string { return []string{c.Flag} }
