package commands

import "context"

// List lists flags, optionally filtered.
type List struct {
	Project  string
	Env      string
	Words    string // free text matched against key and name
	Tag      string
	Archived bool
	Offset   int // paging offset, set by the "Next page" button
	Output
}

// FlagListResult is one page of flags.
type FlagListResult struct {
	Query      List // the command with project and env resolved
	Flags      []Flag
	Total      int
	NextOffset int // 0 when this is the last page
	BaseURL    string
}

func (FlagListResult) result() {}

// Name implements Command.
func (List) Name() string { return "list" }

func listSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "list",
			Usage:    "list [words] [--tag t] [--env e] [--project p] [--archived]",
			Summary:  "Lists flags whose key or name contains the words (all of them are search words), with their state in one environment. Also `ls`.",
			Examples: []string{"list checkout", `list "new checkout" --tag beta --env staging`, "ls --project mobile-app --archived", "list --tag=billing --share"},
		},
		aliases: []string{"ls"},
		options: readOptions(optTag, optEnv, optProject, optArchived),
		parse:   parseList,
	}
}

func parseList(a *parseArgs) (Command, error) {
	c := List{Words: a.words(), Archived: a.opts[optArchived] == "true", Output: a.output()}
	var err error
	if c.Tag, err = a.optionKey(optTag, "tag"); err != nil {
		return nil, err
	}
	if c.Env, err = a.optionKey(optEnv, "environment key"); err != nil {
		return nil, err
	}
	if c.Project, err = a.optionKey(optProject, "project key"); err != nil {
		return nil, err
	}
	return c, nil
}

// Run implements Command.
func (c List) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	conn, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	if c.Project, err = project(c.Project, conn); err != nil {
		return nil, err
	}
	if c.Env, err = env(c.Env, conn, false); err != nil {
		return nil, err
	}
	c.Offset = max(c.Offset, 0)
	page, err := client.ListFlags(ctx, c.Project, FlagQuery{
		Env: c.Env, Query: c.Words, Tag: c.Tag, Archived: c.Archived,
		Limit: x.opts.PageSize, Offset: c.Offset,
	})
	if err != nil {
		if k := KindOf(err); k == KindNotFound || k == KindInvalid {
			return nil, x.scopeError(ctx, client, c.Project, c.Env, err)
		}
		return nil, serviceError(ctx, err)
	}
	res := FlagListResult{Query: c, Flags: page.Items, Total: page.TotalCount, BaseURL: x.opts.BaseURL}
	if next := c.Offset + len(page.Items); len(page.Items) > 0 && next < page.TotalCount {
		res.NextOffset = next
	}
	return res, nil
}
