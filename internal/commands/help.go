package commands

import "context"

// Help asks for the command list, or for one subcommand's help when Topic is set.
type Help struct{ Topic string }

// HelpResult lists subcommands; with Topic set it holds that one entry.
type HelpResult struct {
	Topic   string
	Entries []HelpEntry
}

func (HelpResult) result() {}

// Name implements Command.
func (Help) Name() string { return "help" }

func helpSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "help",
			Usage:    "help [subcommand]",
			Summary:  "Lists what Flagbot can do, or explains one subcommand. Every read command also takes `--share` to post its answer in the channel.",
			Examples: []string{"help", "help show"},
		},
		parse: parseHelp,
	}
}

func parseHelp(a *parseArgs) (Command, error) {
	if err := a.atMost(1); err != nil {
		return nil, err
	}
	if len(a.pos) == 0 {
		return Help{}, nil
	}
	s, ok := findSubcommand(a.subs, a.pos[0])
	if !ok {
		return nil, &UsageError{Msg: unknownSubcommand(a.subs, a.pos[0], false), Help: a.entry}
	}
	return Help{Topic: s.entry.Name}, nil
}

// Run implements Command.
func (c Help) Run(context.Context, *Executor, Actor) (Result, error) {
	if c.Topic == "" {
		return HelpResult{Entries: HelpTable()}, nil
	}
	h, ok := LookupHelp(c.Topic)
	if !ok {
		return nil, &UsageError{Msg: Textf("There is no `%s` subcommand.", c.Topic)}
	}
	return HelpResult{Topic: h.Name, Entries: []HelpEntry{h}}, nil
}
