package slackapp

import (
	"testing"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/digest"
)

// TestRenderDigestNoticeGolden: the exact text a channel reads when its
// digest pauses because the stored token cannot be read.
func TestRenderDigestNoticeGolden(t *testing.T) {
	t.Parallel()
	m := RenderDigestNotice(digest.PausedNotice(commands.DigestSubscription{ID: "dg7k2"}))
	checkMessage(t, m)
	golden(t, "digest_paused", m)
}
