package ld_test

import (
	"context"
	"errors"
	"testing"

	"github.com/flagbot/flagbot/internal/ld"
)

// TestDotSegmentKeysNeverLeaveTheirEndpoint: users type project, flag,
// environment and segment keys. A key of "." or ".." must not climb out of
// the endpoint (`/flag show members --project ..` would otherwise GET
// api/v2/members, and a delete could hit another resource, with the
// workspace's token). The server fails the test on any request at all.
func TestDotSegmentKeysNeverLeaveTheirEndpoint(t *testing.T) {
	t.Parallel()
	_, srv := rawServer(t)
	c, _, _ := newClient(t, srv.URL, ld.Options{})
	ctx := t.Context()
	calls := map[string]func() error{
		"GetFlag key ..":        func() error { _, err := c.GetFlag(ctx, "web", ".."); return err },
		"GetFlag project ..":    func() error { _, err := c.GetFlag(ctx, "..", "members"); return err },
		"GetFlag key .":         func() error { _, err := c.GetFlag(ctx, "web", "."); return err },
		"ListFlags project ..":  func() error { _, err := c.ListFlags(ctx, "..", ld.FlagListOptions{}); return err },
		"ListEnvironments ..":   func() error { _, err := c.ListEnvironments(ctx, ".."); return err },
		"GetSegment env ..":     func() error { _, err := c.GetSegment(ctx, "..", "..", "x"); return err },
		"ListSegments ..":       func() error { _, err := c.ListSegments(ctx, "web", ".."); return err },
		"GetContexts kind ..":   func() error { _, err := c.GetContexts(ctx, "web", "production", "..", ".."); return err },
		"SearchContexts env ..": func() error { _, err := c.SearchContexts(ctx, "web", "..", ld.ContextSearch{}); return err },
		"DeleteFlag project ..": func() error { return c.DeleteFlag(ctx, "..", "x") },
		"PatchFlag key ..":      func() error { _, err := c.PatchFlag(ctx, "web", "..", ld.SemanticPatch{}); return err },
		"GetToken id ..":        func() error { _, err := c.GetToken(ctx, ".."); return err },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, ld.ErrNotFound) {
			t.Errorf("%s: error = %v, want one matching ErrNotFound", name, err)
		}
		if errors.Is(err, context.Canceled) {
			t.Errorf("%s: error = %v", name, err)
		}
		checkNoToken(t, err)
	}
}
