package slackapp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/digest"
	"github.com/flagbot/flagbot/internal/secret"
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

// DigestSlack posts digests with the bot token and checks channels. It
// implements digest.Slack and is safe for concurrent use.
type DigestSlack struct {
	api   *slack.Client
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	next map[string]time.Time // per channel: the earliest time of the next post
}

var _ digest.Slack = (*DigestSlack)(nil)

// NewDigestSlack returns a DigestSlack that calls the Web API at
// opts.APIURL (Slack's by default) with botToken.
func NewDigestSlack(botToken secret.Secret, opts Options) *DigestSlack {
	if opts.HTTPClient == nil {
		opts.HTTPClient = newHTTPClient()
	}
	slackOpts := []slack.Option{slack.OptionHTTPClient(opts.HTTPClient)}
	if opts.APIURL != "" {
		if !strings.HasSuffix(opts.APIURL, "/") {
			opts.APIURL += "/"
		}
		slackOpts = append(slackOpts, slack.OptionAPIURL(opts.APIURL))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	return &DigestSlack{api: slack.New(botToken.Reveal(), slackOpts...), now: opts.Now, sleep: opts.Sleep, next: make(map[string]time.Time)}
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
func (s *DigestSlack) CheckChannel(ctx context.Context, channelID string) (string, error) {
	ch, err := s.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channelID})
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
func (s *DigestSlack) PostDigest(ctx context.Context, channelID string, d digest.Digest) error {
	m := RenderDigest(d)
	for attempt := 1; ; attempt++ {
		if err := s.pace(ctx, channelID); err != nil {
			return err
		}
		_, _, err := s.api.PostMessageContext(ctx, channelID,
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
