package commands

import (
	"context"
	"strings"
)

// Context shows one context by kind and key.
type Context struct {
	Project string
	Env     string
	Kind    string
	Key     string
	Output
}

// ContextResult shows one context (one record per application that saw it).
type ContextResult struct {
	Project string
	Env     string
	Kind    string
	Key     string
	Records []ContextRecord
}

func (ContextResult) result() {}

// Name implements Command.
func (Context) Name() string { return "context" }

func contextSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "context",
			Usage:    "context <kind>:<key> [env] [--project p]",
			Summary:  "Shows one context as LaunchDarkly last saw it. A key without a kind means a `user` context.",
			Examples: []string{"context user:alice@example.com production", "context device:ios-7f3a", "context 4e1c9b0d --project web --share"},
		},
		options: readOptions(optProject, optEnv),
		parse:   parseContext,
	}
}

func parseContext(a *parseArgs) (Command, error) {
	if len(a.pos) == 0 {
		return nil, a.usagef("`context` needs a context, e.g. `/flag context user:alice@example.com production`. To search, try `/flag contexts alice`.")
	}
	if err := a.atMost(2); err != nil {
		return nil, err
	}
	c := Context{Kind: "user", Key: a.pos[0], Output: a.output()}
	if kind, key, ok := strings.Cut(c.Key, ":"); ok {
		c.Kind, c.Key = kind, key
		if kind == "" {
			example := plain(key)
			if example == "" {
				example = "alice"
			}
			return nil, a.usagef("Put the context kind before the colon, e.g. `user:%s`.", example)
		}
		if err := a.key("context kind", kind); err != nil {
			return nil, err
		}
	}
	if strings.TrimSpace(c.Key) == "" {
		return nil, a.usagef("`context` needs a key after the kind, e.g. `/flag context %s:alice`.", plain(c.Kind))
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
func (c Context) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	conn, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	p, en, err := projectEnv(c.Project, c.Env, conn)
	if err != nil {
		return nil, err
	}
	kind := c.Kind
	if kind == "" {
		kind = "user"
	}
	recs, err := client.GetContexts(ctx, p, en, kind, c.Key)
	if err != nil && KindOf(err) != KindNotFound {
		return nil, serviceError(ctx, err)
	}
	if len(recs) == 0 {
		return nil, &Error{Kind: KindNotFound, Msg: Textf("LaunchDarkly has not seen context `%s:%s` in `%s/%s`. Try `/flag contexts %s`.", kind, c.Key, p, en, c.Key), Err: err}
	}
	return ContextResult{Project: p, Env: en, Kind: kind, Key: c.Key, Records: recs}, nil
}
