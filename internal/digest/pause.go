package digest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
)

// Notifier is an optional ability of a Slack: posting a short notice in a
// digest's channel. slackapp.DigestSlack has it. Without it a paused
// digest is only logged.
type Notifier interface {
	// PostNotice posts msg in channelID; the error wraps
	// commands.ErrCannotPost when the bot cannot post there.
	PostNotice(ctx context.Context, channelID string, msg commands.Text) error
}

// PausedNotice is what a channel reads once when its digest pauses because
// the workspace's stored token cannot be read.
func PausedNotice(sub commands.DigestSubscription) commands.Text {
	return commands.Textf("The digest `%s` is paused: this workspace's stored LaunchDarkly token can't be read with the current encryption key. "+
		"An admin must run `/flag connect`; the digest resumes at its next run after that and covers the gap.", sub.ID)
}

// pauseUnreadable ends a scheduled run of sub whose workspace has a stored
// token no configured key opens. Retrying every tick cannot help until an
// admin reconnects, so the run is skipped like one LaunchDarkly refused: the
// cursor stays (the first digest after the reconnect covers the gap, capped)
// and the next run is scheduled; now is the run's time. The first such run tells the channel once
// and marks the cursor paused; later ones stay quiet. When the notice cannot
// be posted for now, the lease is released (with release) and the next tick
// tries again.
func (s *Service) pauseUnreadable(ctx context.Context, k Key, due, now time.Time, sub commands.DigestSubscription, cur cursor, next time.Time, release func(error) error) error {
	if cur.Paused {
		s.log.DebugContext(ctx, "digest still paused: stored token unreadable", "team", k.TeamID, "id", k.ID)
		return s.store.CompleteDigestRun(ctx, k, due, s.opts.Owner, nil, next)
	}
	if n, ok := s.slack.(Notifier); ok {
		err := n.PostNotice(ctx, sub.ChannelID, PausedNotice(sub))
		if err != nil && !errors.Is(err, commands.ErrCannotPost) {
			return release(fmt.Errorf("digest: post pause notice to %s: %w", sub.ChannelID, err))
		}
	}
	cur.Paused = true
	if cur.WindowEnd == 0 {
		// Never posted: keep the start this run's window would have had,
		// so the first digest after the reconnect covers the pause too.
		cur.WindowEnd = now.Truncate(time.Millisecond).Add(-Period(sub.Schedule)).UnixMilli()
	}
	data, err := json.Marshal(cur)
	if err != nil {
		return release(fmt.Errorf("digest: encode cursor: %w", err))
	}
	s.log.WarnContext(ctx, "digest paused: the workspace's stored LaunchDarkly token cannot be read with the current encryption key; it resumes after /flag connect",
		"team", k.TeamID, "id", k.ID, "channel", sub.ChannelID)
	return s.store.CompleteDigestRun(ctx, k, due, s.opts.Owner, data, next)
}
