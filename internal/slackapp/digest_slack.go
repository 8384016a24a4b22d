package slackapp

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// digestEventType tags a digest's message metadata, so that a retry
	// after a crash finds the post it may already have made.
	digestEventType = "flagbot_digest"
	// historyPage and maxHistoryPages bound the search for such a post:
	// it is made a few minutes before the retry, so it is among the
	// newest messages of the channel.
	historyPage     = 200
	maxHistoryPages = 5
	// membersPage and maxMembersPages bound a membership check: channels
	// of up to 20,000 members are answered.
	membersPage     = 1000
	maxMembersPages = 20
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

// Channel implements digest.Slack with conversations.info (scopes
// channels:read and groups:read). Slack does not show the bot a private
// channel it is not in: that answers ErrCannotPost.
func (s *DigestSlack) Channel(ctx context.Context, ws commands.Workspace, channelID string) (commands.DigestChannel, error) {
	api, err := s.clients.For(ctx, ws)
	if err != nil {
		return commands.DigestChannel{}, fmt.Errorf("slackapp: conversations.info: %w", noClient(err))
	}
	ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channelID})
	if err != nil {
		if cannotPost(err) {
			return commands.DigestChannel{}, fmt.Errorf("slackapp: conversations.info %s: %w: %w", channelID, commands.ErrCannotPost, err)
		}
		return commands.DigestChannel{}, fmt.Errorf("slackapp: conversations.info %s: %w", channelID, err)
	}
	return commands.DigestChannel{
		ID: channelID, Name: ch.Name,
		Private:  ch.IsPrivate || ch.IsGroup || ch.IsMpIM || ch.IsIM,
		Postable: !ch.IsArchived && (ch.IsMember || ch.IsIM),
	}, nil
}

// MemberOf implements digest.Slack with conversations.members (scopes
// channels:read and groups:read), a page of up to 1,000 members at a time,
// stopping at userID. Slack lists the members of a private channel only to
// a bot in it; a channel it does not show the bot is reported as one
// userID is not in.
func (s *DigestSlack) MemberOf(ctx context.Context, ws commands.Workspace, userID string, channelIDs []string) (map[string]bool, error) {
	api, err := s.clients.For(ctx, ws)
	if err != nil {
		return nil, fmt.Errorf("slackapp: conversations.members: %w", noClient(err))
	}
	out := make(map[string]bool, len(channelIDs))
	for _, id := range channelIDs {
		if _, done := out[id]; done {
			continue
		}
		in, err := member(ctx, api, userID, id)
		if err != nil {
			return nil, err
		}
		out[id] = in
	}
	return out, nil
}

func member(ctx context.Context, api *slack.Client, userID, channelID string) (bool, error) {
	cursor := ""
	for range maxMembersPages {
		members, next, err := api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{
			ChannelID: channelID, Cursor: cursor, Limit: membersPage,
		})
		if err != nil {
			if cannotPost(err) {
				return false, nil
			}
			return false, fmt.Errorf("slackapp: conversations.members %s: %w", channelID, err)
		}
		if slices.Contains(members, userID) {
			return true, nil
		}
		if next == "" {
			return false, nil
		}
		cursor = next
	}
	return false, fmt.Errorf("slackapp: conversations.members %s: more than %d members, not all checked", channelID, maxMembersPages*membersPage)
}

// PostDigest implements digest.Slack: it renders d, waits until the channel
// may take another message, and posts with chat.postMessage, tagged with
// message metadata (event type flagbot_digest: the subscription, the run
// and its window), waiting out a 429's Retry-After up to
// digestPostAttempts times.
func (s *DigestSlack) PostDigest(ctx context.Context, ws commands.Workspace, channelID string, d digest.Digest) (string, error) {
	api, err := s.clients.For(ctx, ws)
	if err != nil {
		return "", fmt.Errorf("slackapp: post digest: %w", noClient(err))
	}
	m := RenderDigest(d)
	meta := slack.SlackMetadata{EventType: digestEventType, EventPayload: map[string]any{
		"subscription": d.SubscriptionID, "run": d.RunID, "from": d.From.UnixMilli(), "to": d.To.UnixMilli(),
	}}
	for attempt := 1; ; attempt++ {
		if err := s.pace(ctx, channelID); err != nil {
			return "", err
		}
		_, ts, err := api.PostMessageContext(ctx, channelID,
			slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...), slack.MsgOptionMetadata(meta),
			slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl())
		if err == nil {
			return ts, nil
		}
		var rl *slack.RateLimitedError
		switch {
		case errors.As(err, &rl) && attempt < digestPostAttempts:
			wait := min(max(rl.RetryAfter, time.Second), maxRetryAfter)
			s.delay(channelID, wait)
			continue
		case cannotPost(err):
			return "", fmt.Errorf("slackapp: chat.postMessage %s: %w: %w", channelID, commands.ErrCannotPost, err)
		}
		return "", fmt.Errorf("slackapp: chat.postMessage %s: %w", channelID, err)
	}
}

// FindDigest implements digest.Slack with conversations.history and its
// message metadata (scopes channels:history and groups:history): it looks
// through the messages after the one whose ts is after, newest first, for
// the post tagged with subscription id and run, up to 1,000 messages.
func (s *DigestSlack) FindDigest(ctx context.Context, ws commands.Workspace, channelID, id, run, after string) (string, bool, error) {
	api, err := s.clients.For(ctx, ws)
	if err != nil {
		return "", false, fmt.Errorf("slackapp: conversations.history: %w", noClient(err))
	}
	cursor := ""
	for range maxHistoryPages {
		h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: channelID, Oldest: after, Limit: historyPage, Cursor: cursor, IncludeAllMetadata: true,
		})
		if err != nil {
			if cannotPost(err) {
				return "", false, fmt.Errorf("slackapp: conversations.history %s: %w: %w", channelID, commands.ErrCannotPost, err)
			}
			return "", false, fmt.Errorf("slackapp: conversations.history %s: %w", channelID, err)
		}
		for _, m := range h.Messages {
			md := m.Metadata
			if md.EventType == digestEventType && md.EventPayload["subscription"] == id && md.EventPayload["run"] == run {
				return m.Timestamp, true, nil
			}
		}
		if !h.HasMore || h.ResponseMetaData.NextCursor == "" {
			return "", false, nil
		}
		cursor = h.ResponseMetaData.NextCursor
	}
	return "", false, nil
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
