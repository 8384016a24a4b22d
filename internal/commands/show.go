package commands

import (
	"context"
	"sort"
	"strings"
)

// Show shows one flag in detail.
type Show struct {
	Project string
	Env     string
	Flag    string
	Output
}

// FlagResult shows one flag. Env is the environment in focus; the flag's
// Environments map holds every environment that was fetched.
type FlagResult struct {
	Project string
	Env     string
	Flag    Flag
	BaseURL string
}

func (FlagResult) result() {}

// Name implements Command.
func (Show) Name() string { return "show" }

func showSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "show",
			Usage:    "show <flag> [env] [--project p]",
			Summary:  "Shows one flag: whether it is on, who it targets and what it serves, in one environment. Also `get`.",
			Examples: []string{"show new-checkout", "show new-checkout production", "get dark-mode staging --project mobile-app --share"},
		},
		aliases: []string{"get"},
		options: readOptions(optProject, optEnv),
		parse:   parseShow,
	}
}

func parseShow(a *parseArgs) (Command, error) {
	if len(a.pos) == 0 {
		return nil, a.usagef("`show` needs a flag key, e.g. `/flag show new-checkout production`. To find one, try `/flag list checkout`.")
	}
	if err := a.atMost(2); err != nil {
		return nil, err
	}
	c := Show{Flag: a.pos[0], Output: a.output()}
	if ue := a.keyError("flag key", c.Flag); ue != nil {
		if words := plain(strings.Join(strings.Fields(c.Flag), " ")); words != "" {
			ue.Msg = ue.Msg.Append(Plain(" To search flags by name, try "), Code("/flag list "+words), Plain("."))
		}
		return nil, ue
	}
	var err error
	if c.Env, err = a.pick(1, optEnv, "environment"); err != nil {
		return nil, err
	}
	if c.Project, err = a.optionKey(optProject, "project key"); err != nil {
		return nil, err
	}
	return c, nil
}

// Run implements Command.
func (c Show) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	conn, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	p, err := project(c.Project, conn)
	if err != nil {
		return nil, err
	}
	envKey, _ := env(c.Env, conn, false)
	flag, err := x.findFlag(ctx, client, p, c.Flag)
	if err != nil {
		return nil, err
	}
	if envKey != "" {
		key, ok := matchFlagEnv(flag, envKey)
		if !ok {
			keys := make([]string, 0, len(flag.Environments))
			for k := range flag.Environments {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return nil, noEnvError(p, envKey, keys)
		}
		envKey = key
	}
	return FlagResult{Project: p, Env: envKey, Flag: flag, BaseURL: x.opts.BaseURL}, nil
}
