package ld

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

const (
	defaultAuditLimit = 20
	maxAuditPageSize  = 20
)

// ListAuditLog returns up to opts.Limit audit-log entries, newest first,
// filtered by opts. It asks for pages of at most 20 and follows
// _links.next until it has opts.Limit entries, the log ends, or the page cap
// is reached.
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/audit-log/get-audit-log-entries
func (c *Client) ListAuditLog(ctx context.Context, opts AuditLogOptions) ([]AuditEntry, error) {
	want := opts.Limit
	if want <= 0 {
		want = defaultAuditLimit
	}
	q := url.Values{"limit": {strconv.Itoa(min(want, maxAuditPageSize))}}
	if opts.Spec != "" {
		q.Set("spec", opts.Spec)
	}
	if opts.Q != "" {
		q.Set("q", opts.Q)
	}
	if !opts.After.IsZero() {
		q.Set("after", strconv.FormatInt(opts.After.UnixMilli(), 10))
	}
	if !opts.Before.IsZero() {
		q.Set("before", strconv.FormatInt(opts.Before.UnixMilli(), 10))
	}
	ref := withQuery("api/v2/auditlog", q)
	seen := map[string]bool{}
	var all []AuditEntry
	for page := 0; page < maxPages; page++ {
		seen[ref] = true
		var p listPage[AuditEntry]
		if err := c.get(ctx, ref, &p); err != nil {
			return nil, fmt.Errorf("ld: list audit log: %w", err)
		}
		all = append(all, p.Items...)
		if len(all) >= want {
			return all[:want], nil
		}
		next := nextRef(p.Links)
		if len(p.Items) == 0 || next == "" || seen[next] {
			return all, nil
		}
		ref = withSmallerLimit(next, want-len(all))
	}
	c.log.WarnContext(ctx, "ld audit log truncated at page cap", "pages", maxPages, "items", len(all))
	return all, nil
}

// withSmallerLimit lowers a next link's limit to n when n is smaller, so the
// last page does not fetch more than needed.
func withSmallerLimit(ref string, n int) string {
	path, rawQuery, _ := strings.Cut(ref, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return ref
	}
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l <= n {
		return ref
	}
	q.Set("limit", strconv.Itoa(min(n, maxAuditPageSize)))
	return path + "?" + q.Encode()
}
