package commands

import "strings"

// subcommand is one row of the declarative table that both help and Parse
// are driven from: what the user reads about a subcommand and how its text
// is turned into a Command come from the same place.
type subcommand struct {
	entry   HelpEntry
	aliases []string // other names Parse and LookupHelp accept, lower case
	options []string // the --options it accepts (canonical names, no dashes), in help order
	parse   func(a *parseArgs) (Command, error)
}

// subcommands returns the table, built per call so that no caller can
// change what the next one sees.
func subcommands() []subcommand {
	readOpts := func(opts ...string) []string { return append(opts, optShare) }
	reads := []subcommand{
		{
			entry: HelpEntry{
				Name:     "help",
				Usage:    "help [subcommand]",
				Summary:  "Lists what Flagbot can do, or explains one subcommand. Every read command also takes `--share` to post its answer in the channel.",
				Examples: []string{"help", "help show"},
			},
			parse: parseHelpCmd,
		},
		{
			entry: HelpEntry{
				Name:     "connect",
				Usage:    "connect",
				Summary:  "Connects this workspace to LaunchDarkly: opens a form in which you paste an access token.",
				Examples: []string{"connect"},
				Admin:    true,
			},
			parse: parseConnectCmd,
		},
		{
			entry: HelpEntry{
				Name:     "status",
				Usage:    "status",
				Summary:  "Shows whether this workspace is connected to LaunchDarkly, with which token and which defaults.",
				Examples: []string{"status"},
			},
			parse: parseStatusCmd,
		},
		{
			entry: HelpEntry{
				Name:     "disconnect",
				Usage:    "disconnect",
				Summary:  "Disconnects this workspace from LaunchDarkly and forgets its token.",
				Examples: []string{"disconnect"},
				Admin:    true,
			},
			parse: parseDisconnectCmd,
		},
		{
			entry: HelpEntry{
				Name:     "config",
				Usage:    "config <project|env> <key> | require-reason on|off | approvers @group|none | approvals <env> <1-5> | approval-envs <env,...|all>",
				Summary:  "Sets the workspace's default project or environment, and its approval policy: whether changes need a reason, who may approve (a user group), how many approvals an environment needs, and which environments need approval at all.",
				Examples: []string{"config project web", "config env production", "config require-reason on", "config approvals production 2", "config approval-envs production,staging", "config approval-envs all", "config approvers none"},
				Admin:    true,
			},
			parse: parseConfigCmd,
		},
		{
			entry: HelpEntry{
				Name:     "projects",
				Usage:    "projects",
				Summary:  "Lists the LaunchDarkly projects the connected token can see.",
				Examples: []string{"projects", "projects --share"},
			},
			options: readOpts(),
			parse:   parseProjectsCmd,
		},
		{
			entry: HelpEntry{
				Name:     "envs",
				Usage:    "envs [project]",
				Summary:  "Lists a project's environments (the default project's when none is named). Also `environments`.",
				Examples: []string{"envs", "envs mobile-app", "environments web --share"},
			},
			aliases: []string{"environments"},
			options: readOpts(optProject),
			parse:   parseEnvsCmd,
		},
		{
			entry: HelpEntry{
				Name:     "list",
				Usage:    "list [words] [--tag t] [--env e] [--project p] [--archived]",
				Summary:  "Lists flags whose key or name contains the words (all of them are search words), with their state in one environment. Also `ls`.",
				Examples: []string{"list checkout", `list "new checkout" --tag beta --env staging`, "ls --project mobile-app --archived", "list --tag=billing --share"},
			},
			aliases: []string{"ls"},
			options: readOpts(optTag, optEnv, optProject, optArchived),
			parse:   parseListCmd,
		},
		{
			entry: HelpEntry{
				Name:     "show",
				Usage:    "show <flag> [env] [--project p]",
				Summary:  "Shows one flag: whether it is on, who it targets and what it serves, in one environment. Also `get`.",
				Examples: []string{"show new-checkout", "show new-checkout production", "get dark-mode staging --project mobile-app --share"},
			},
			aliases: []string{"get"},
			options: readOpts(optProject, optEnv),
			parse:   parseShowCmd,
		},
		{
			entry: HelpEntry{
				Name:     "segments",
				Usage:    "segments [env] [--project p]",
				Summary:  "Lists the segments defined in an environment.",
				Examples: []string{"segments", "segments production --project web"},
			},
			options: readOpts(optProject, optEnv),
			parse:   parseSegmentsCmd,
		},
		{
			entry: HelpEntry{
				Name:     "segment",
				Usage:    "segment <key> [env] [--project p]",
				Summary:  "Shows one segment: who is included, who is excluded and its rules.",
				Examples: []string{"segment beta-testers", "segment beta-testers staging --project mobile-app"},
			},
			options: readOpts(optProject, optEnv),
			parse:   parseSegmentCmd,
		},
		{
			entry: HelpEntry{
				Name:     "contexts",
				Usage:    "contexts [words] [--kind k] [--env e] [--project p]",
				Summary:  "Searches the contexts (users, devices, ...) an environment has seen. All words are search words; name the environment with `--env`.",
				Examples: []string{"contexts alice", `contexts "alice@example.com" --kind user --env production`, "contexts --kind=device --share"},
			},
			options: readOpts(optKind, optEnv, optProject),
			parse:   parseContextsCmd,
		},
		{
			entry: HelpEntry{
				Name:     "context",
				Usage:    "context <kind>:<key> [env] [--project p]",
				Summary:  "Shows one context as LaunchDarkly last saw it. A key without a kind means a `user` context.",
				Examples: []string{"context user:alice@example.com production", "context device:ios-7f3a", "context 4e1c9b0d --project web --share"},
			},
			options: readOpts(optProject, optEnv),
			parse:   parseContextCmd,
		},
		{
			entry: HelpEntry{
				Name:     "audit",
				Usage:    "audit [--flag f] [--env e] [--since 24h] [--limit n] [--project p]",
				Summary:  "Lists recent changes from the LaunchDarkly audit log. `--since` takes minutes, hours or days (`90m`, `36h`, `7d`, at most `30d`); `--limit` 1 to 50.",
				Examples: []string{"audit", "audit --flag new-checkout --since 7d", "audit --env production --since=36h --limit 20 --share"},
			},
			options: readOpts(optFlag, optEnv, optSince, optLimit, optProject),
			parse:   parseAuditCmd,
		},
	}
	return append(append(reads, writeSubcommands()...), digestSubcommands()...)
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
