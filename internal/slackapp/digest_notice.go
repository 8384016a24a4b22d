package slackapp

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/digest"
)

var _ digest.Notifier = (*DigestSlack)(nil)

// RenderDigestNotice renders a notice about a digest (such as "paused")
// as a channel message: one section.
func RenderDigestNotice(msg commands.Text) Message {
	return Fit(textMessage(":warning: " + md(msg)))
}

// PostNotice implements digest.Notifier: it posts msg in channelID, paced
// like digests, once (the scheduler retries on its next tick).
func (s *DigestSlack) PostNotice(ctx context.Context, channelID string, msg commands.Text) error {
	m := RenderDigestNotice(msg)
	if err := s.pace(ctx, channelID); err != nil {
		return err
	}
	_, _, err := s.api.PostMessageContext(ctx, channelID,
		slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...),
		slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl())
	switch {
	case err == nil:
		return nil
	case cannotPost(err):
		return fmt.Errorf("slackapp: chat.postMessage %s: %w: %w", channelID, commands.ErrCannotPost, err)
	}
	return fmt.Errorf("slackapp: chat.postMessage %s: %w", channelID, err)
}
