package ld

import (
	"context"
	"fmt"
	"net/http"
)

const (
	defaultContextLimit = 20
	maxContextLimit     = 50
)

// SearchContexts returns one page (at most opts.Limit, at most 50) of the
// contexts in project's env that match opts.Filter, most recently seen
// first. It is a POST but changes nothing; like every non-GET it is retried
// only after a 429.
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/contexts/search-contexts
func (c *Client) SearchContexts(ctx context.Context, project, env string, opts ContextSearch) ([]ContextRecord, error) {
	limit := opts.Limit
	if limit <= 0 {
		limit = defaultContextLimit
	}
	limit = min(limit, maxContextLimit)
	body := struct {
		Filter string `json:"filter,omitempty"`
		Sort   string `json:"sort"`
		Limit  int    `json:"limit"`
	}{Filter: opts.Filter, Sort: "-ts", Limit: limit}
	req, err := c.newRequest(ctx, http.MethodPost, pathf("api/v2/projects", project, "environments", env, "contexts", "search"), body, "")
	if err != nil {
		return nil, fmt.Errorf("ld: search contexts: %w", err)
	}
	var p listPage[ContextRecord]
	if err := c.do(req, &p); err != nil {
		return nil, fmt.Errorf("ld: search contexts: %w", err)
	}
	return p.Items, nil
}

// GetContexts returns the recorded instances of the context of the given
// kind and key in project's env, most recently seen first.
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/contexts/get-contexts
func (c *Client) GetContexts(ctx context.Context, project, env, kind, key string) ([]ContextRecord, error) {
	var p listPage[ContextRecord]
	ref := pathf("api/v2/projects", project, "environments", env, "contexts", kind, key)
	if err := c.get(ctx, ref, &p); err != nil {
		return nil, fmt.Errorf("ld: get context %s:%s: %w", kind, key, err)
	}
	return p.Items, nil
}
