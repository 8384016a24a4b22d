package commands

import (
	"context"
	"fmt"
	"strings"
)

// Contexts searches contexts seen in an environment.
type Contexts struct {
	Project string
	Env     string
	Words   string
	Kind    string
	Output
}

// ContextsResult lists contexts found by a search.
type ContextsResult struct {
	Project  string
	Env      string
	Query    Contexts
	Contexts []ContextRecord
}

func (ContextsResult) result() {}

// Name implements Command.
func (Contexts) Name() string { return "contexts" }

func contextsSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "contexts",
			Usage:    "contexts [words] [--kind k] [--env e] [--project p]",
			Summary:  "Searches the contexts (users, devices, ...) an environment has seen. All words are search words; name the environment with `--env`.",
			Examples: []string{"contexts alice", `contexts "alice@example.com" --kind user --env production`, "contexts --kind=device --share"},
		},
		options: readOptions(optKind, optEnv, optProject),
		parse: func(a *parseArgs) (Command, error) {
			c := Contexts{Words: a.words(), Output: a.output()}
			var err error
			if c.Kind, err = a.optionKey(optKind, "context kind"); err != nil {
				return nil, err
			}
			if c.Env, err = a.optionKey(optEnv, "environment key"); err != nil {
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
func (c Contexts) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	conn, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	if c.Project, c.Env, err = projectEnv(c.Project, c.Env, conn); err != nil {
		return nil, err
	}
	recs, err := client.SearchContexts(ctx, c.Project, c.Env, ContextQuery{Filter: contextFilter(c.Words, c.Kind), Limit: x.opts.PageSize})
	if err != nil {
		if KindOf(err) == KindNotFound {
			return nil, x.scopeError(ctx, client, c.Project, c.Env, err)
		}
		return nil, serviceError(ctx, err)
	}
	return ContextsResult{Project: c.Project, Env: c.Env, Query: c, Contexts: recs}, nil
}

// contextFilter builds a context search filter; quotes in the user's words
// are dropped so they cannot end the quoted value early.
func contextFilter(words, kind string) string {
	clean := func(s string) string { return strings.NewReplacer(`"`, "", `\`, "").Replace(s) }
	var parts []string
	if w := clean(strings.TrimSpace(words)); w != "" {
		parts = append(parts, fmt.Sprintf("q equals %q", w))
	}
	if k := clean(strings.TrimSpace(kind)); k != "" {
		parts = append(parts, fmt.Sprintf("kind equals %q", k))
	}
	return strings.Join(parts, ",")
}
