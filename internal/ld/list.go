package ld

import (
	"context"
	"net/url"
	"strconv"
	"strings"
)

// listPage is the envelope of LaunchDarkly's collection answers.
type listPage[T any] struct {
	Items      []T             `json:"items"`
	TotalCount *int            `json:"totalCount"`
	Links      map[string]Link `json:"_links"`
}

// nextRef turns a _links.next href into a reference under the base URL. Only
// the href's path and query are kept: an absolute href naming another host
// (or this one) is resolved against the configured base URL, so the token is
// never sent anywhere else. It returns "" when there is no usable href.
func nextRef(links map[string]Link) string {
	next, ok := links["next"]
	if !ok || next.Href == "" {
		return ""
	}
	u, err := url.Parse(next.Href)
	if err != nil || u.Path == "" {
		return ""
	}
	ref := strings.TrimLeft((&url.URL{Path: u.Path, RawPath: u.RawPath}).EscapedPath(), "/")
	if u.RawQuery != "" {
		ref += "?" + u.RawQuery
	}
	return ref
}

// getAll reads every page of the list at path, starting with query q (which
// must carry the page size in "limit"). It follows _links.next; when a page
// has none but totalCount (or a full page, without totalCount) says there is
// more, it advances "offset" itself. It stops on an empty page, on a repeated
// link, and after maxPages pages.
func getAll[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, error) {
	limit, _ := strconv.Atoi(q.Get("limit"))
	offset, _ := strconv.Atoi(q.Get("offset"))
	ref := withQuery(path, q)
	seen := make(map[string]bool)
	var all []T
	for page := 0; ; page++ {
		if page == maxPages {
			c.log.WarnContext(ctx, "ld list truncated at page cap", "path", path, "pages", maxPages, "items", len(all))
			return all, nil
		}
		seen[ref] = true
		var p listPage[T]
		if err := c.get(ctx, ref, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if len(p.Items) == 0 {
			return all, nil
		}
		offset += len(p.Items)
		if next := nextRef(p.Links); next != "" {
			ref = next
		} else {
			more := len(p.Items) >= limit && limit > 0
			if p.TotalCount != nil {
				more = offset < *p.TotalCount
			}
			if !more {
				return all, nil
			}
			q.Set("offset", strconv.Itoa(offset))
			ref = withQuery(path, q)
		}
		if seen[ref] {
			c.log.WarnContext(ctx, "ld list repeated a page link", "path", path)
			return all, nil
		}
	}
}
