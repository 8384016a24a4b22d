package slackapp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/digest"
)

// Posting pace and retries for digests.
const (
	// digestChannelInterval is the least time between two digests in one
	// channel: Slack allows about one message per second per channel.
	digestChannelInterval = time.Second
	// digestPostAttempts is how many times one digest is sent when Slack
	// answers 429; after that the scheduler retries on its next tick.
	digestPostAttempts = 3
	// maxRetryAfter caps one wait on Slack's Retry-After.
	maxRetryAfter = 30 * time.Second
)

// DigestSlack posts digests and checks channels, each with the bot token of
// the workspace's installation. It implements digest.Slack and is safe for
// concurrent use.
type DigestSlack struct {
	clients *Clients
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	next map[string]time.Time // per channel: the earliest time of the next post
}

var _ digest.Slack = (*DigestSlack)(nil)

// NewDigestSlack returns a DigestSlack that calls the Web API through
// clients; opts.Now and opts.Sleep pace it.
func NewDigestSlack(clients *Clients, opts Options) *DigestSlack {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	return &DigestSlack{clients: clients, now: opts.Now, sleep: opts.Sleep, next: make(map[string]time.Time)}
}

// noClient marks a workspace without an installation as one the bot cannot
// post in: the scheduler then skips the run instead of retrying every tick.
func noClient(err error) error {
	if errors.Is(err, commands.ErrNotInstalled) {
		return fmt.Errorf("%w: %w", commands.ErrCannotPost, err)
	}
	return err
}

// cannotPost lists the Slack errors that mean the bot cannot post in a
// channel until someone invites it (or unarchives the channel).
func cannotPost(err error) bool {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		return false
	}
	switch se.Err {
	case "channel_not_found", "not_in_channel", "is_archived", "restricted_action":
		return true
	}
	return false
}

// CheckChannel implements digest.Slack with conversations.info: the bot
// must be a member of the channel (scopes channels:read and groups:read).
func (s *DigestSlack) CheckChannel(ctx context.Context, ws commands.Workspace, channelID string) (string, error) {
	api, err := s.clients.For(ctx, ws)
	if err != nil {
		return "", noClient(err)
	}
	ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channelID})
	if err != nil {
		if cannotPost(err) {
			return "", fmt.Errorf("slackapp: conversations.info %s: %w: %w", channelID, commands.ErrCannotPost, err)
		}
		return "", fmt.Errorf("slackapp: conversations.info %s: %w", channelID, err)
	}
	if ch.IsArchived || (!ch.IsMember && !ch.IsIM) {
		return ch.Name, fmt.Errorf("slackapp: channel %s: %w", channelID, commands.ErrCannotPost)
	}
	return ch.Name, nil
}

// PostDigest implements digest.Slack: it renders d, waits until the channel
// may take another message, and posts with chat.postMessage, waiting out a
// 429's Retry-After up to digestPostAttempts times.
func (s *DigestSlack) PostDigest(ctx context.Context, ws commands.Workspace, channelID string, d digest.Digest) error {
	api, err := s.clients.For(ctx, ws)
	if err != nil {
		return fmt.Errorf("slackapp: post digest: %w", noClient(err))
	}
	m := RenderDigest(d)
	for attempt := 1; ; attempt++ {
		if err := s.pace(ctx, channelID); err != nil {
			return err
		}
		_, _, err := api.PostMessageContext(ctx, channelID,
			slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...),
			slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl())
		if err == nil {
			return nil
		}
		var rl *slack.RateLimitedError
		switch {
		case errors.As(err, &rl) && attempt < digestPostAttempts:
			wait := min(max(rl.RetryAfter, time.Second), maxRetryAfter)
			s.delay(channelID, wait)
			continue
		case cannotPost(err):
			return fmt.Errorf("slackapp: chat.postMessage %s: %w: %w", channelID, commands.ErrCannotPost, err)
		}
		return fmt.Errorf("slackapp: chat.postMessage %s: %w", channelID, err)
	}
}

// pace waits until channelID may take another message and books the slot
// after it.
func (s *DigestSlack) pace(ctx context.Context, channelID string) error {
	s.mu.Lock()
	now := s.now()
	at := now
	if n := s.next[channelID]; n.After(now) {
		at = n
	}
	s.next[channelID] = at.Add(digestChannelInterval)
	s.mu.Unlock()
	if wait := at.Sub(now); wait > 0 {
		return s.sleep(ctx, wait)
	}
	return nil
}

// delay pushes the channel's next slot to at least d from now.
func (s *DigestSlack) delay(channelID string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at := s.now().Add(d); at.After(s.next[channelID]) {
		s.next[channelID] = at
	}
}
