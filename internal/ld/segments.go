package ld

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// ListSegments returns every segment of project in env, following pages
// (by _links.next, or by offset when LaunchDarkly sends no next link). An
// unknown project or environment gives an error matching ErrNotFound.
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/segments/get-segments
func (c *Client) ListSegments(ctx context.Context, project, env string) ([]Segment, error) {
	q := url.Values{"limit": {strconv.Itoa(listPageSize)}}
	segs, err := getAll[Segment](ctx, c, pathf("api/v2/segments", project, env), q)
	if err != nil {
		return nil, fmt.Errorf("ld: list segments of %q in %q: %w", project, env, err)
	}
	return segs, nil
}

// GetSegment returns one segment, including the flags that use it. An
// unknown project, environment or segment gives an error matching
// ErrNotFound.
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/segments/get-segment
func (c *Client) GetSegment(ctx context.Context, project, env, key string) (Segment, error) {
	var s Segment
	if err := c.get(ctx, pathf("api/v2/segments", project, env, key), &s); err != nil {
		return Segment{}, fmt.Errorf("ld: get segment %q: %w", key, err)
	}
	return s, nil
}
