package ld

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

const defaultFlagPageSize = 20

// ListFlags returns one page of project's flags in LaunchDarkly's summary
// form. With opts.Env each flag carries only that environment's on/off
// state, version and _summary; without it, no environments. TotalCount is
// the number of flags matching the filter across all pages. Archived flags
// are listed only, and then exclusively, when opts.Archived is set.
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/feature-flags/get-feature-flags
func (c *Client) ListFlags(ctx context.Context, project string, opts FlagListOptions) (FlagPage, error) {
	q := url.Values{}
	if opts.Env != "" {
		q.Set("env", opts.Env)
	}
	var filter []string
	if opts.Query != "" {
		filter = append(filter, "query:"+opts.Query)
	}
	if opts.Tag != "" {
		filter = append(filter, "tags:"+opts.Tag)
	}
	if opts.Archived {
		filter = append(filter, "state:archived")
	}
	if len(filter) > 0 {
		q.Set("filter", strings.Join(filter, ","))
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = defaultFlagPageSize
	}
	q.Set("limit", strconv.Itoa(limit))
	if opts.Offset > 0 {
		q.Set("offset", strconv.Itoa(opts.Offset))
	}
	var p listPage[Flag]
	if err := c.get(ctx, withQuery(pathf("api/v2/flags", project), q), &p); err != nil {
		return FlagPage{}, fmt.Errorf("ld: list flags of %q: %w", project, err)
	}
	page := FlagPage{Items: p.Items, TotalCount: len(p.Items)}
	if p.TotalCount != nil {
		page.TotalCount = *p.TotalCount
	}
	return page, nil
}

// GetFlag returns the flag key of project in its detailed form, with the
// configuration of the environments named by envs, or of all environments
// when envs is empty. An unknown project or flag gives an error matching
// ErrNotFound.
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/feature-flags/get-feature-flag
func (c *Client) GetFlag(ctx context.Context, project, key string, envs ...string) (Flag, error) {
	q := url.Values{}
	for _, e := range envs {
		q.Add("env", e)
	}
	var f Flag
	if err := c.get(ctx, withQuery(pathf("api/v2/flags", project, key), q), &f); err != nil {
		return Flag{}, fmt.Errorf("ld: get flag %q: %w", key, err)
	}
	return f, nil
}
