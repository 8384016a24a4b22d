package ld

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// listPageSize is the page size asked for when a method reads a whole list.
const listPageSize = 50

// CallerIdentity returns what LaunchDarkly knows about the client's token. A
// 200 proves the token is valid; an invalid or revoked token gives an error
// matching ErrUnauthorized.
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/other/get-caller-identity
func (c *Client) CallerIdentity(ctx context.Context) (CallerIdentity, error) {
	var id CallerIdentity
	if err := c.get(ctx, "api/v2/caller-identity", &id); err != nil {
		return CallerIdentity{}, fmt.Errorf("ld: caller identity: %w", err)
	}
	return id, nil
}

// GetToken returns the metadata, including the base role, of the access token
// with the given id (CallerIdentity's TokenID). Tokens whose custom role does
// not allow reading tokens get an error matching ErrForbidden.
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/access-tokens/get-token
func (c *Client) GetToken(ctx context.Context, id string) (Token, error) {
	var t Token
	if err := c.get(ctx, pathf("api/v2/tokens", id), &t); err != nil {
		return Token{}, fmt.Errorf("ld: get token %q: %w", id, err)
	}
	return t, nil
}

// ListProjects returns every project the token can see, following pages.
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/projects/get-projects
func (c *Client) ListProjects(ctx context.Context) ([]Project, error) {
	q := url.Values{"limit": {strconv.Itoa(listPageSize)}}
	ps, err := getAll[Project](ctx, c, "api/v2/projects", q)
	if err != nil {
		return nil, fmt.Errorf("ld: list projects: %w", err)
	}
	return ps, nil
}

// ListEnvironments returns every environment of project, following pages.
// An unknown project gives an error matching ErrNotFound.
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/environments/get-environments-by-project
func (c *Client) ListEnvironments(ctx context.Context, project string) ([]Environment, error) {
	q := url.Values{"limit": {strconv.Itoa(listPageSize)}}
	envs, err := getAll[Environment](ctx, c, pathf("api/v2/projects", project, "environments"), q)
	if err != nil {
		return nil, fmt.Errorf("ld: list environments of %q: %w", project, err)
	}
	return envs, nil
}
