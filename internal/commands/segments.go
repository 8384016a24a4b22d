package commands

import "context"

// Segments lists segments in an environment.
type Segments struct {
	Project string
	Env     string
	Output
}

// SegmentsResult lists segments.
type SegmentsResult struct {
	Project  string
	Env      string
	Segments []SegmentRecord
}

func (SegmentsResult) result() {}

// Name implements Command.
func (Segments) Name() string { return "segments" }

func segmentsSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "segments",
			Usage:    "segments [env] [--project p]",
			Summary:  "Lists the segments defined in an environment.",
			Examples: []string{"segments", "segments production --project web"},
		},
		options: readOptions(optProject, optEnv),
		parse: func(a *parseArgs) (Command, error) {
			if err := a.atMost(1); err != nil {
				return nil, err
			}
			c := Segments{Output: a.output()}
			var err error
			if c.Env, err = a.pick(0, optEnv, "environment"); err != nil {
				return nil, err
			}
			if c.Project, err = a.optionKey(optProject, "project key"); err != nil {
				return nil, err
			}
			return c, nil
		},
	}
}

// Run implements Command.
func (c Segments) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	conn, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	p, en, err := projectEnv(c.Project, c.Env, conn)
	if err != nil {
		return nil, err
	}
	segs, err := client.ListSegments(ctx, p, en)
	if err != nil {
		if KindOf(err) == KindNotFound {
			return nil, x.scopeError(ctx, client, p, en, err)
		}
		return nil, serviceError(ctx, err)
	}
	return SegmentsResult{Project: p, Env: en, Segments: segs}, nil
}

// projectEnv resolves the project and the (required) environment of a
// command scoped to one environment.
func projectEnv(givenProject, givenEnv string, conn Connection) (string, string, error) {
	p, err := project(givenProject, conn)
	if err != nil {
		return "", "", err
	}
	en, err := env(givenEnv, conn, true)
	if err != nil {
		return "", "", err
	}
	return p, en, nil
}
