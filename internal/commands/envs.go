package commands

import "context"

// Envs lists a project's environments.
type Envs struct {
	Project string
	Output
}

// EnvsResult lists a project's environments.
type EnvsResult struct {
	Project    string
	Envs       []Environment
	DefaultEnv string
}

func (EnvsResult) result() {}

// Name implements Command.
func (Envs) Name() string { return "envs" }

func envsSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "envs",
			Usage:    "envs [project]",
			Summary:  "Lists a project's environments (the default project's when none is named). Also `environments`.",
			Examples: []string{"envs", "envs mobile-app", "environments web --share"},
		},
		aliases: []string{"environments"},
		options: readOptions(optProject),
		parse: func(a *parseArgs) (Command, error) {
			if err := a.atMost(1); err != nil {
				return nil, err
			}
			p, err := a.pick(0, optProject, "project")
			if err != nil {
				return nil, err
			}
			return Envs{Project: p, Output: a.output()}, nil
		},
	}
}

// Run implements Command.
func (c Envs) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	conn, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	p, err := project(c.Project, conn)
	if err != nil {
		return nil, err
	}
	envs, err := client.ListEnvironments(ctx, p)
	if err != nil {
		return nil, x.projectError(ctx, client, p, err)
	}
	def := ""
	if p == conn.DefaultProject {
		def = conn.DefaultEnv
	}
	return EnvsResult{Project: p, Envs: envs, DefaultEnv: def}, nil
}
