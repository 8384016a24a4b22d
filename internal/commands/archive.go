package commands

import "context"

// Archive archives a flag in every environment.
type Archive struct {
	Flag string
	WriteOptions
}

// Name implements Command.
func (Archive) Name() string { return "archive" }

func archiveSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "archive",
			Usage:    "archive <flag>" + flagWideUsageTail,
			Summary:  "Asks to archive a flag in every environment (it keeps serving its values; `restore` undoes it).",
			Examples: []string{`archive old-banner --reason "launched in March"`, "archive old-banner --project web", "archive old-banner --in 2h"},
		},
		options: flagWideOptions(),
		parse: parseFlagWide("archive", func(flag string, w WriteOptions) Command {
			return Archive{Flag: flag, WriteOptions: w}
		}),
	}
}

// Run implements Command: it files the change for approval.
func (c Archive) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	return x.requestChange(ctx, actor, c)
}

// Plan implements ChangeCommand.
func (c Archive) Plan(ctx context.Context, x *Executor, conn Connection, p string) (Change, error) {
	ch, f, err := x.planFlagWide(ctx, conn, p, ChangeArchive, c.Flag)
	if err != nil {
		return Change{}, err
	}
	if f.Archived {
		return Change{}, inField(Errorf(KindInvalid, "`%s` is already archived.", f.Key), FieldAction)
	}
	ch.Patch = &Patch{Instructions: []Instruction{{Kind: InstrArchive}}}
	ch.Diff = []DiffLine{{Field: "archived", Before: "no", After: "yes"}}
	return ch, nil
}

// Args implements ChangeCommand.
func (c Archive) Args(Scope) []string { return []string{c.Flag} }

// planFlagWide fetches the flag a whole-flag change is about and returns
// the change's skeleton.
func (e *Executor) planFlagWide(ctx context.Context, conn Connection, p string, kind ChangeKind, key string) (Change, Flag, error) {
	f, err := e.findFlag(ctx, e.clients(conn.Token), p, key)
	if err != nil {
		return Change{}, Flag{}, err
	}
	return Change{Kind: kind, Project: p, Flag: f.Key, FlagVersion: f.Version}, f, nil
}
