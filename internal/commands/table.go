package commands

import "strings"

// subcommand is one row of the declarative table that help and Parse are
// both driven from: what people read about a subcommand and how its text
// becomes a Command come from the same place, the subcommand's own file.
type subcommand struct {
	entry   HelpEntry
	aliases []string // other names Parse and LookupHelp accept, lower case
	options []string // the --options it accepts (canonical names, no dashes), in help order
	parse   func(a *parseArgs) (Command, error)
}

// HelpEntry describes one subcommand; the help table is a list of these.
// Summary uses the core's notation: backticks mark code (see Notation).
type HelpEntry struct {
	Name     string
	Usage    string   // e.g. "show <flag> [env]"
	Summary  string   // one or two sentences
	Examples []string // full texts after "/flag ", e.g. "show new-checkout production"
	Admin    bool     // only admins may run it
}

// SummaryText returns the summary as Text.
func (h HelpEntry) SummaryText() Text { return Notation(h.Summary) }

// subcommands returns the table, in help order, built per call so that no
// caller can change what the next one sees. Adding a subcommand means
// adding its file and one line here.
func subcommands() []subcommand {
	return []subcommand{
		helpSpec(),
		connectSpec(),
		statusSpec(),
		disconnectSpec(),
		configSpec(),
		projectsSpec(),
		envsSpec(),
		listSpec(),
		showSpec(),
		segmentsSpec(),
		segmentSpec(),
		contextsSpec(),
		contextSpec(),
		auditSpec(),
		onSpec(),
		offSpec(),
		serveSpec(),
		rolloutSpec(),
		offVariationSpec(),
		targetSpec(),
		requestSpec(),
		createSpec(),
		archiveSpec(),
		restoreSpec(),
		deleteSpec(),
		killSpec(),
		undoSpec(),
		pendingSpec(),
		scheduledSpec(),
		historySpec(),
		notifySpec(),
		digestSpec(),
	}
}

// HelpTable returns the declarative table every help text is generated
// from: one HelpEntry per subcommand, in display order. It is built per call,
// so callers may modify what they get.
func HelpTable() []HelpEntry {
	subs := subcommands()
	out := make([]HelpEntry, len(subs))
	for i, s := range subs {
		out[i] = s.entry
	}
	return out
}

// LookupHelp returns the entry of the subcommand called name, which may be
// an alias (e.g. "ls" for "list") and is matched case-insensitively.
func LookupHelp(name string) (HelpEntry, bool) {
	s, ok := findSubcommand(subcommands(), name)
	return s.entry, ok
}

// findSubcommand returns the row of subs whose name or alias is name,
// ignoring case and surrounding space.
func findSubcommand(subs []subcommand, name string) (subcommand, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, s := range subs {
		if s.entry.Name == name {
			return s, true
		}
		for _, a := range s.aliases {
			if a == name {
				return s, true
			}
		}
	}
	return subcommand{}, false
}

// readOptions returns a read command's options: opts and --share.
func readOptions(opts ...string) []string { return append(opts, optShare) }

// noArgs parses a subcommand that takes no arguments into cmd.
func noArgs(cmd Command) func(a *parseArgs) (Command, error) {
	return func(a *parseArgs) (Command, error) {
		if err := a.atMost(0); err != nil {
			return nil, err
		}
		return cmd, nil
	}
}
