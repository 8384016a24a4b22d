package commands

import "context"

// Projects lists the account's projects.
type Projects struct{ Output }

// ProjectsResult lists projects.
type ProjectsResult struct {
	Projects       []Project
	DefaultProject string
	BaseURL        string
}

func (ProjectsResult) result() {}

// Name implements Command.
func (Projects) Name() string { return "projects" }

func projectsSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "projects",
			Usage:    "projects",
			Summary:  "Lists the LaunchDarkly projects the connected token can see.",
			Examples: []string{"projects", "projects --share"},
		},
		options: readOptions(),
		parse: func(a *parseArgs) (Command, error) {
			if err := a.atMost(0); err != nil {
				return nil, err
			}
			return Projects{Output: a.output()}, nil
		},
	}
}

// Run implements Command.
func (c Projects) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	conn, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	ps, err := client.ListProjects(ctx)
	if err != nil {
		return nil, serviceError(ctx, err)
	}
	return ProjectsResult{Projects: ps, DefaultProject: conn.DefaultProject, BaseURL: x.opts.BaseURL}, nil
}
