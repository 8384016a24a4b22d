package digest

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	_ "time/tzdata" // IANA time zones in a scratch container

	"github.com/flagbot/flagbot/internal/commands"
)

// Defaults for Options' zero values.
const (
	DefaultInterval   = 30 * time.Second
	DefaultMaxGap     = 7 * 24 * time.Hour
	DefaultLease      = 2 * time.Minute
	DefaultMaxEntries = 1000
	DefaultLookback   = 5 * time.Minute
	// dueBatch is how many due subscriptions one tick takes on.
	dueBatch = 100
	// runTimeout bounds one subscription's run within a tick.
	runTimeout = 90 * time.Second
	// completeAttempts is how often recording a posted run is tried.
	completeAttempts = 3
	// MaxSkew is how far this replica's clock may be from Redis's before
	// a tick logs a warning (at most every skewWarnEvery).
	MaxSkew       = time.Minute
	skewWarnEvery = 10 * time.Minute
)

// Store keeps subscriptions, their schedule, run claims, intents and
// cursors; *RedisStore implements it. GetDigest, DigestIntent and
// DigestCursor return errors wrapping ErrNotFound for what does not exist,
// and PutDigestIntent, SettleDigestIntent and CompleteDigestRun one
// wrapping ErrLeaseLost when owner's lease is gone; RedisStore's methods
// are documented there.
type Store interface {
	// Time is the clock every replica shares (Redis's TIME).
	Time(ctx context.Context) (time.Time, error)
	PutDigest(ctx context.Context, k Key, data []byte, next time.Time) error
	GetDigest(ctx context.Context, k Key) (Record, error)
	ListDigests(ctx context.Context, teamID, enterpriseID string) ([]Record, error)
	DeleteDigest(ctx context.Context, k Key) (bool, error)
	DueDigests(ctx context.Context, now time.Time, limit int) ([]Due, error)
	ClaimDigestRun(ctx context.Context, k Key, due time.Time, owner string, lease time.Duration) (bool, error)
	ReleaseDigestRun(ctx context.Context, k Key, owner string) error
	PutDigestIntent(ctx context.Context, k Key, owner string, intent []byte) error
	DigestIntent(ctx context.Context, k Key) ([]byte, error)
	SettleDigestIntent(ctx context.Context, k Key, owner string, cursor []byte) error
	CompleteDigestRun(ctx context.Context, k Key, due time.Time, owner string, cursor []byte, next time.Time) error
	DigestCursor(ctx context.Context, k Key) ([]byte, error)
}

// Key names one digest subscription of a workspace.
type Key struct {
	TeamID       string
	EnterpriseID string
	ID           string
}

// Record is a stored subscription with its next run time (zero when it has
// none).
type Record struct {
	Key     Key
	Data    []byte
	NextRun time.Time
}

// Due is a subscription whose run was due at Due.
type Due struct {
	Key Key
	Due time.Time
}

// Slack is what the scheduler needs from Slack; slackapp.DigestSlack
// implements it.
type Slack interface {
	// Channel returns what Slack says about channelID; the error wraps
	// commands.ErrCannotPost when Slack does not show the bot that channel.
	// ws names whose installation asks.
	Channel(ctx context.Context, ws commands.Workspace, channelID string) (commands.DigestChannel, error)
	// MemberOf reports which of channelIDs userID is a member of, among
	// the channels the bot is in.
	MemberOf(ctx context.Context, ws commands.Workspace, userID string, channelIDs []string) (map[string]bool, error)
	// PostDigest renders d and posts it in channelID, tagged (in the
	// message's metadata) with d.SubscriptionID and d.RunID so FindDigest
	// can find it, waiting out Slack's rate limits. It returns the
	// message's ts only once Slack accepted it; the error wraps
	// commands.ErrCannotPost when the bot cannot post there.
	PostDigest(ctx context.Context, ws commands.Workspace, channelID string, d Digest) (ts string, err error)
	// FindDigest looks in channelID's history, after the message whose ts
	// is after ("" for the newest messages), for the digest of
	// subscription id posted by run; it returns that message's ts. The
	// error wraps commands.ErrCannotPost when the bot cannot read there.
	FindDigest(ctx context.Context, ws commands.Workspace, channelID, id, run, after string) (ts string, found bool, err error)
}

// Changes finds Flagbot's own change requests, so that a digest labels a
// change "via Flagbot" only when Flagbot made it, not when its comment
// says so. *approvals.Changes implements it; Get returns an error wrapping
// commands.ErrChangeNotFound for an id unknown in ws.
type Changes interface {
	Get(ctx context.Context, ws commands.Workspace, id string) (commands.Change, error)
}

// Options tune a Service; the zero value is valid.
type Options struct {
	// Clock returns the time every replica agrees on (default: the
	// store's Time, Redis's clock). Windows end at it, due runs are picked
	// by it and next runs computed from it, so a replica whose own clock is
	// ahead or behind neither skips nor repeats entries. Tests inject one.
	Clock func(ctx context.Context) (time.Time, error)
	// Now is this replica's own clock (default time.Now). Nothing is
	// scheduled by it: a tick compares it with Clock and logs a warning
	// when they are more than MaxSkew apart.
	Now func() time.Time
	// Logger receives the scheduler's logs (default discards).
	Logger *slog.Logger
	// BaseURL is LaunchDarkly's base URL, for links.
	BaseURL string
	// Interval is how often Run ticks (default 30 s).
	Interval time.Duration
	// MaxGap is the longest window one digest covers (default 7 days); it
	// is raised to a schedule's period plus a day, so a weekly digest that
	// runs a little late is not cut.
	MaxGap time.Duration
	// Lease is how long a claimed run stays claimed if its replica dies
	// (default 2 minutes). A run is given at most three quarters of it.
	Lease time.Duration
	// MaxEntries is the most audit entries one digest fetches (default 1000,
	// the LaunchDarkly client's page cap).
	MaxEntries int
	// Owner names this replica in claims (default random).
	Owner string
	// Lookback is how far before the last window's end a digest looks for
	// entries that reached the audit log late, reporting those it has not
	// (default 5 minutes; negative turns it off).
	Lookback time.Duration
	// Unsigned lists a workspace's break-glass kills that nobody signed off
	// by their deadline (at now); every digest lists those of its project
	// under a heading of their own until someone signs them off, and posts
	// even when no change was made. Nil lists none.
	Unsigned func(ctx context.Context, ws commands.Workspace, now time.Time) ([]commands.Change, error)
}

// Service keeps digest subscriptions, runs the scheduler and implements
// commands.Digests. It is safe for concurrent use; run one per replica.
type Service struct {
	store   Store
	ws      commands.Workspaces
	clients commands.ClientFunc
	slack   Slack
	changes Changes
	opts    Options
	log     *slog.Logger

	skewWarned atomic.Int64 // Unix seconds of the last clock-skew warning
}

var _ commands.Digests = (*Service)(nil)

// New returns a Service that keeps subscriptions in store, reads each
// workspace's LaunchDarkly token from ws, talks to LaunchDarkly through
// clients, posts through sl and checks "via Flagbot" comments against
// changes (nil: no change is labelled "via Flagbot").
func New(store Store, ws commands.Workspaces, clients commands.ClientFunc, sl Slack, changes Changes, opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = store.Time
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.MaxGap <= 0 {
		opts.MaxGap = DefaultMaxGap
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Lookback == 0 {
		opts.Lookback = DefaultLookback
	}
	opts.Lookback = max(opts.Lookback, 0)
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.Owner == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b) // never fails (crypto/rand)
		opts.Owner = hex.EncodeToString(b)
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	return &Service{store: store, ws: ws, clients: clients, slack: sl, changes: changes, opts: opts, log: opts.Logger.With("component", "digest")}
}

func key(ws commands.Workspace, id string) Key {
	return Key{TeamID: ws.TeamID, EnterpriseID: ws.EnterpriseID, ID: id}
}

func newID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Channel implements commands.Digests.
func (s *Service) Channel(ctx context.Context, ws commands.Workspace, channelID string) (commands.DigestChannel, error) {
	ch, err := s.slack.Channel(ctx, ws, channelID)
	if err != nil {
		return commands.DigestChannel{}, fmt.Errorf("digest: channel: %w", err)
	}
	return ch, nil
}

// MemberOf implements commands.Digests.
func (s *Service) MemberOf(ctx context.Context, ws commands.Workspace, userID string, channelIDs []string) (map[string]bool, error) {
	m, err := s.slack.MemberOf(ctx, ws, userID, channelIDs)
	if err != nil {
		return nil, fmt.Errorf("digest: channel membership: %w", err)
	}
	return m, nil
}

// Subscribe implements commands.Digests.
func (s *Service) Subscribe(ctx context.Context, sub commands.DigestSubscription) (commands.DigestSubscription, error) {
	ch, err := s.slack.Channel(ctx, sub.Workspace, sub.ChannelID)
	if err != nil {
		return commands.DigestSubscription{}, fmt.Errorf("digest: check channel: %w", err)
	}
	if !ch.Postable {
		return commands.DigestSubscription{}, fmt.Errorf("digest: channel %s: %w", sub.ChannelID, commands.ErrCannotPost)
	}
	if ch.Name != "" {
		sub.ChannelName = ch.Name
	}
	now, err := s.opts.Clock(ctx)
	if err != nil {
		return commands.DigestSubscription{}, fmt.Errorf("digest: subscribe: read clock: %w", err)
	}
	sub.ID = newID()
	data, err := json.Marshal(sub)
	if err != nil {
		return commands.DigestSubscription{}, fmt.Errorf("digest: encode subscription: %w", err)
	}
	sub.NextRun = Next(sub.Schedule, now)
	if err := s.store.PutDigest(ctx, key(sub.Workspace, sub.ID), data, sub.NextRun); err != nil {
		return commands.DigestSubscription{}, fmt.Errorf("digest: subscribe: %w", err)
	}
	s.log.InfoContext(ctx, "digest subscribed", "team", sub.Workspace.TeamID, "id", sub.ID,
		"channel", sub.ChannelID, "schedule", sub.Schedule.String(), "next_run", sub.NextRun)
	return sub, nil
}

func decode(rec Record) (commands.DigestSubscription, error) {
	var sub commands.DigestSubscription
	if err := json.Unmarshal(rec.Data, &sub); err != nil {
		return sub, fmt.Errorf("digest: decode subscription %s: %w", rec.Key.ID, err)
	}
	sub.ID = rec.Key.ID
	sub.NextRun = rec.NextRun
	return sub, nil
}

// Get implements commands.Digests.
func (s *Service) Get(ctx context.Context, ws commands.Workspace, id string) (commands.DigestSubscription, error) {
	rec, err := s.store.GetDigest(ctx, key(ws, id))
	if errors.Is(err, ErrNotFound) {
		return commands.DigestSubscription{}, commands.ErrDigestNotFound
	}
	if err != nil {
		return commands.DigestSubscription{}, fmt.Errorf("digest: get: %w", err)
	}
	return decode(rec)
}

// List implements commands.Digests.
func (s *Service) List(ctx context.Context, ws commands.Workspace) ([]commands.DigestSubscription, error) {
	recs, err := s.store.ListDigests(ctx, ws.TeamID, ws.EnterpriseID)
	if err != nil {
		return nil, fmt.Errorf("digest: list: %w", err)
	}
	out := make([]commands.DigestSubscription, 0, len(recs))
	for _, r := range recs {
		sub, err := decode(r)
		if err != nil {
			s.log.WarnContext(ctx, "skipping unreadable digest subscription", "id", r.Key.ID, "err", err)
			continue
		}
		out = append(out, sub)
	}
	return out, nil
}

// Unsubscribe implements commands.Digests.
func (s *Service) Unsubscribe(ctx context.Context, ws commands.Workspace, id string) (commands.DigestSubscription, error) {
	k := key(ws, id)
	rec, err := s.store.GetDigest(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return commands.DigestSubscription{}, commands.ErrDigestNotFound
	}
	if err != nil {
		return commands.DigestSubscription{}, fmt.Errorf("digest: unsubscribe: %w", err)
	}
	sub, _ := decode(rec) // deleted even when unreadable
	sub.ID = id
	deleted, err := s.store.DeleteDigest(ctx, k)
	if err != nil {
		return commands.DigestSubscription{}, fmt.Errorf("digest: unsubscribe: %w", err)
	}
	if !deleted {
		return commands.DigestSubscription{}, commands.ErrDigestNotFound
	}
	s.log.InfoContext(ctx, "digest unsubscribed", "team", ws.TeamID, "id", id)
	return sub, nil
}

// RunNow implements commands.Digests: it posts the changes since the last
// digest, empty or not, and moves the cursor (so the next scheduled digest
// does not repeat them) but not the schedule.
func (s *Service) RunNow(ctx context.Context, ws commands.Workspace, id string) (commands.DigestRun, error) {
	k := key(ws, id)
	claimed, err := s.store.ClaimDigestRun(ctx, k, time.Time{}, s.opts.Owner, s.opts.Lease)
	if err != nil {
		return commands.DigestRun{}, fmt.Errorf("digest: claim: %w", err)
	}
	if !claimed {
		if _, err := s.store.GetDigest(ctx, k); errors.Is(err, ErrNotFound) {
			return commands.DigestRun{}, commands.ErrDigestNotFound
		}
		return commands.DigestRun{}, commands.ErrDigestBusy
	}
	rctx, cancel := context.WithTimeout(ctx, s.runTimeout())
	defer cancel()
	res, err := s.runClaimed(rctx, k, time.Time{}, true)
	if err != nil {
		return commands.DigestRun{}, err
	}
	return res, nil
}

// runTimeout bounds one claimed run so that it ends well before its lease
// expires: a run still posting after its lease ran out could post the same
// window as the replica that claims it next.
func (s *Service) runTimeout() time.Duration {
	return min(runTimeout, s.opts.Lease*3/4)
}

// cursor is the position after the last reported entry.
type cursor struct {
	// Paused is set while the workspace's token cannot be read and the
	// channel was told so (see pauseUnreadable); a digest posted after that
	// writes a cursor without it.
	Paused bool `json:"paused,omitempty"`
	// WindowEnd is the end of the last window reported (epoch ms); the
	// next window starts there.
	WindowEnd int64 `json:"window_end"`
	// LastDate is the newest entry reported (epoch ms) and LastIDs the IDs
	// of the entries at that millisecond, so a window that overlaps it
	// never repeats them.
	LastDate int64    `json:"last_date,omitempty"`
	LastIDs  []string `json:"last_ids,omitempty"`
	// Recent are all the entries reported from RecentSince (epoch ms, at
	// most Options.Lookback before WindowEnd) on, so looking back for late
	// entries never repeats them.
	RecentSince int64           `json:"recent_since,omitempty"`
	Recent      []reportedEntry `json:"recent,omitempty"`
	// LastTS is the Slack ts of the last digest posted: a retry after a
	// crash looks for its own post after it.
	LastTS string `json:"last_ts,omitempty"`
}

// reportedEntry is an audit entry already reported.
type reportedEntry struct {
	ID   string `json:"id"`
	Date int64  `json:"date"`
}

// intent is written before a digest is posted, while the run's lease is
// held, and removed when the run is recorded. A run that finds one left
// behind (its replica died, or lost Redis, between Slack accepting the post
// and recording it) asks Slack whether that post went out before posting
// anything: if it did, the intent's cursor is what that post reported.
type intent struct {
	// Run tags the post (message metadata); Due is the scheduled run it
	// was for (epoch ms, 0 for `digest now`).
	Run     string `json:"run"`
	Due     int64  `json:"due"`
	Channel string `json:"channel"`
	// After is the ts of the digest posted before it: the post is looked
	// for after that message.
	After string `json:"after,omitempty"`
	// From, To (epoch ms) and Changes describe the post, for `digest now`.
	From    int64 `json:"from"`
	To      int64 `json:"to"`
	Changes int   `json:"changes"`
	// Cursor is the cursor to store once the post is out.
	Cursor cursor `json:"cursor"`
}

func dueMs(due time.Time) int64 {
	if due.IsZero() {
		return 0
	}
	return due.UnixMilli()
}

// Tick runs every subscription that is due now, each exactly once across
// replicas. Errors of single runs are logged and retried on the next tick;
// Tick returns an error only when the clock or the due list cannot be read.
func (s *Service) Tick(ctx context.Context) error {
	now, err := s.opts.Clock(ctx)
	if err != nil {
		return fmt.Errorf("digest: tick: read clock: %w", err)
	}
	s.checkSkew(ctx, now)
	due, err := s.store.DueDigests(ctx, now, dueBatch)
	if err != nil {
		return fmt.Errorf("digest: tick: %w", err)
	}
	for _, d := range due {
		if ctx.Err() != nil {
			return nil
		}
		claimed, err := s.store.ClaimDigestRun(ctx, d.Key, d.Due, s.opts.Owner, s.opts.Lease)
		if err != nil {
			s.log.WarnContext(ctx, "digest claim failed", "team", d.Key.TeamID, "id", d.Key.ID, "err", err)
			continue
		}
		if !claimed {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, s.runTimeout())
		if _, err := s.runClaimed(rctx, d.Key, d.Due, false); err != nil {
			s.log.WarnContext(ctx, "digest run failed; retrying next tick", "team", d.Key.TeamID, "id", d.Key.ID, "err", err)
		}
		cancel()
	}
	return nil
}

// checkSkew logs a warning, at most every skewWarnEvery, when this
// replica's clock is more than MaxSkew from the shared one. Digests do not
// depend on it; other parts of Flagbot (approval expiry) may.
func (s *Service) checkSkew(ctx context.Context, shared time.Time) {
	local := s.opts.Now()
	skew := local.Sub(shared)
	if skew <= MaxSkew && skew >= -MaxSkew {
		return
	}
	last := s.skewWarned.Load()
	if last != 0 && local.Sub(time.Unix(last, 0)) < skewWarnEvery {
		return
	}
	if s.skewWarned.CompareAndSwap(last, local.Unix()) {
		s.log.WarnContext(ctx, "this replica's clock is off Redis's clock; digests follow Redis's", "skew", skew.Round(time.Second).String())
	}
}

// Run ticks every Options.Interval until ctx ends, then returns nil.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil {
			s.log.WarnContext(ctx, "digest tick failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// runClaimed runs a claimed subscription: due is the scheduled time (zero
// for `digest now`, which always posts and keeps the schedule). A post is
// preceded by an intent and followed by writing the cursor, done mark and
// next run together; on a failure to fetch or post the lease is released
// so the next tick retries.
func (s *Service) runClaimed(ctx context.Context, k Key, due time.Time, manual bool) (commands.DigestRun, error) {
	release := func(cause error) error {
		// The lease is given back even when ctx is done.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.store.ReleaseDigestRun(rctx, k, s.opts.Owner); err != nil {
			s.log.WarnContext(ctx, "digest lease release failed", "id", k.ID, "err", err)
		}
		return cause
	}
	rec, err := s.store.GetDigest(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return commands.DigestRun{}, release(commands.ErrDigestNotFound)
	}
	if err != nil {
		return commands.DigestRun{}, release(fmt.Errorf("digest: read subscription: %w", err))
	}
	sub, err := decode(rec)
	if err != nil {
		return commands.DigestRun{}, release(err)
	}
	now, err := s.opts.Clock(ctx)
	if err != nil {
		return commands.DigestRun{}, release(fmt.Errorf("digest: read clock: %w", err))
	}
	var next time.Time
	if !manual {
		next = Next(sub.Schedule, now)
	}
	if run, done, err := s.resolveIntent(ctx, k, sub, due, next); err != nil {
		return commands.DigestRun{}, release(err)
	} else if done {
		return run, nil
	}
	d, cur, err := s.collect(ctx, sub, now)
	if err != nil {
		if !manual && errors.Is(err, commands.ErrUnreadable) {
			return commands.DigestRun{}, s.pauseUnreadable(ctx, k, due, now, sub, cur, next, release)
		}
		if !manual && permanent(err) {
			// Retrying cannot help until someone fixes the connection:
			// skip this run; the next one covers the gap.
			s.log.WarnContext(ctx, "digest skipped: LaunchDarkly refused", "team", k.TeamID, "id", k.ID, "err", err)
			return commands.DigestRun{}, s.store.CompleteDigestRun(ctx, k, due, s.opts.Owner, nil, next)
		}
		return commands.DigestRun{}, release(err)
	}
	d.Unsigned = s.unsigned(ctx, sub, now)
	run := commands.DigestRun{Subscription: sub, From: d.From, To: d.To, Changes: d.Total}
	posted := d.Total > 0 || len(d.Unsigned) > 0 || sub.PostEmpty || manual
	if posted {
		d.RunID = newID()
		in := intent{
			Run: d.RunID, Due: dueMs(due), Channel: sub.ChannelID, After: cur.LastTS,
			From: d.From.UnixMilli(), To: d.To.UnixMilli(), Changes: d.Total, Cursor: cur,
		}
		data, err := json.Marshal(in)
		if err != nil {
			return commands.DigestRun{}, release(fmt.Errorf("digest: encode intent: %w", err))
		}
		// No intent, no post: a post nobody can find again could be
		// repeated.
		if err := s.store.PutDigestIntent(ctx, k, s.opts.Owner, data); err != nil {
			return commands.DigestRun{}, release(fmt.Errorf("digest: record intent: %w", err))
		}
		ts, err := s.slack.PostDigest(ctx, sub.Workspace, sub.ChannelID, d)
		if err != nil {
			err = fmt.Errorf("digest: post to %s: %w", sub.ChannelID, err)
			if !manual && errors.Is(err, commands.ErrCannotPost) {
				// The bot was removed from the channel: skip this run and
				// keep the cursor, so a re-invite gets the gap (capped).
				s.log.WarnContext(ctx, "digest skipped: cannot post in channel", "team", k.TeamID, "id", k.ID, "channel", sub.ChannelID, "err", err)
				return commands.DigestRun{}, s.store.CompleteDigestRun(ctx, k, due, s.opts.Owner, nil, next)
			}
			// The intent stays: the post may have reached Slack after all
			// (a timeout), and the next run looks for it first.
			return commands.DigestRun{}, release(err)
		}
		cur.LastTS = ts
	}
	if err := s.complete(ctx, k, due, cur, next); err != nil {
		return commands.DigestRun{}, err
	}
	s.log.InfoContext(ctx, "digest run", "team", k.TeamID, "id", k.ID, "channel", sub.ChannelID,
		"changes", d.Total, "posted", posted, "next_run", next)
	return run, nil
}

// complete records a run whose post is out (or was not needed), even if
// the caller's context just ended. A lost write here would leave the
// intent for the next run to resolve, so a failure of the store is
// retried (a lost lease is not: the script wrote nothing, or a retry finds
// its own earlier success).
func (s *Service) complete(ctx context.Context, k Key, due time.Time, cur cursor, next time.Time) error {
	data, err := json.Marshal(cur)
	if err != nil {
		return fmt.Errorf("digest: encode cursor: %w", err)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err = s.store.CompleteDigestRun(cctx, k, due, s.opts.Owner, data, next)
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrLeaseLost) || attempt == completeAttempts || !sleepCtx(cctx, time.Duration(attempt)*100*time.Millisecond) {
			s.log.ErrorContext(ctx, "digest posted but not recorded; the next run looks for the post before posting again", "team", k.TeamID, "id", k.ID, "err", err)
			return fmt.Errorf("digest: record run: %w", err)
		}
	}
}

// resolveIntent deals with an intent an earlier run left behind: it asks
// Slack whether that run's post went out. If it did, its cursor is stored;
// when it was this very run (the same scheduled time, or `digest now`
// again), the run is complete and done is true. If it did not, the intent
// is left for this run's own to replace.
func (s *Service) resolveIntent(ctx context.Context, k Key, sub commands.DigestSubscription, due, next time.Time) (run commands.DigestRun, done bool, err error) {
	raw, err := s.store.DigestIntent(ctx, k)
	switch {
	case errors.Is(err, ErrNotFound):
		return commands.DigestRun{}, false, nil
	case err != nil:
		return commands.DigestRun{}, false, fmt.Errorf("digest: read intent: %w", err)
	}
	var in intent
	if err := json.Unmarshal(raw, &in); err != nil || in.Run == "" {
		s.log.WarnContext(ctx, "unreadable digest intent; ignoring it", "id", k.ID, "err", err)
		return commands.DigestRun{}, false, nil
	}
	ts, found, err := s.slack.FindDigest(ctx, sub.Workspace, in.Channel, k.ID, in.Run, in.After)
	switch {
	case errors.Is(err, commands.ErrCannotPost):
		// The bot cannot read the channel, so it cannot post there either:
		// this run finds that out and skips.
		return commands.DigestRun{}, false, nil
	case err != nil:
		return commands.DigestRun{}, false, fmt.Errorf("digest: look for an earlier post: %w", err)
	case !found:
		s.log.InfoContext(ctx, "an earlier digest run did not post; running again", "team", k.TeamID, "id", k.ID, "run", in.Run)
		return commands.DigestRun{}, false, nil
	}
	cur := in.Cursor
	cur.LastTS = ts
	s.log.InfoContext(ctx, "an earlier digest run posted but was not recorded; recording it", "team", k.TeamID, "id", k.ID, "run", in.Run, "ts", ts)
	if in.Due == dueMs(due) {
		if err := s.complete(ctx, k, due, cur, next); err != nil {
			return commands.DigestRun{}, false, err
		}
		return commands.DigestRun{Subscription: sub, From: time.UnixMilli(in.From), To: time.UnixMilli(in.To), Changes: in.Changes}, true, nil
	}
	data, err := json.Marshal(cur)
	if err != nil {
		return commands.DigestRun{}, false, fmt.Errorf("digest: encode cursor: %w", err)
	}
	if err := s.store.SettleDigestIntent(ctx, k, s.opts.Owner, data); err != nil {
		return commands.DigestRun{}, false, fmt.Errorf("digest: record an earlier post: %w", err)
	}
	return commands.DigestRun{}, false, nil
}

// unsigned lists the kills of sub's project (and environments and flag,
// when it names them) nobody signed off by their deadline. A failure is
// logged: the digest goes out without them.
func (s *Service) unsigned(ctx context.Context, sub commands.DigestSubscription, now time.Time) []commands.Change {
	if s.opts.Unsigned == nil {
		return nil
	}
	all, err := s.opts.Unsigned(ctx, sub.Workspace, now)
	if err != nil {
		s.log.WarnContext(ctx, "digest: unsigned kills unavailable", "team", sub.Workspace.TeamID, "id", sub.ID, "err", err)
		return nil
	}
	var out []commands.Change
	for _, c := range all {
		f := sub.Filter
		if c.Project == f.Project && (len(f.Envs) == 0 || slices.Contains(f.Envs, c.Env)) && (f.Flag == "" || f.Flag == c.Flag) {
			out = append(out, c)
		}
	}
	return out
}

// sleepCtx waits d unless ctx ends first; it reports whether it waited.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// permanent reports errors that retrying every tick cannot fix.
func permanent(err error) bool {
	if errors.Is(err, commands.ErrNotConnected) {
		return true
	}
	switch commands.KindOf(err) {
	case commands.KindUnauthorized, commands.KindForbidden, commands.KindNotFound:
		return true
	}
	return false
}

// collect fetches the subscription's window ending at end and builds its
// digest, with the cursor to store once it is posted.
func (s *Service) collect(ctx context.Context, sub commands.DigestSubscription, end time.Time) (Digest, cursor, error) {
	end = end.Truncate(time.Millisecond)
	var cur cursor
	raw, err := s.store.DigestCursor(ctx, key(sub.Workspace, sub.ID))
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return Digest{}, cur, fmt.Errorf("digest: read cursor: %w", err)
	default:
		if err := json.Unmarshal(raw, &cur); err != nil {
			s.log.WarnContext(ctx, "unreadable digest cursor; starting afresh", "id", sub.ID, "err", err)
			cur = cursor{}
		}
	}
	from := end.Add(-Period(sub.Schedule))
	if cur.WindowEnd != 0 {
		from = time.UnixMilli(cur.WindowEnd)
	}
	// A window may run a little over its period (a late tick, an autumn
	// clock change), so the cap is never less than a period and a day: a
	// weekly digest is not cut short by a 7-day MaxGap.
	maxGap := max(s.opts.MaxGap, Period(sub.Schedule)+24*time.Hour)
	var capped time.Time
	if end.Sub(from) > maxGap {
		capped, from = from, end.Add(-maxGap)
	}
	if !from.Before(end) {
		from = end
	}
	conn, err := s.ws.Get(ctx, sub.Workspace)
	if err != nil {
		return Digest{}, cur, fmt.Errorf("digest: workspace connection: %w", err)
	}
	client := s.clients(conn.Token)
	ctx = commands.WithWorkspace(ctx, sub.Workspace) // LaunchDarkly metrics per workspace
	f := sub.Filter
	env := ""
	if len(f.Envs) == 1 {
		env = f.Envs[0]
	}
	spec := commands.AuditSpec(f.Project, env, f.Flag)
	if f.Tag != "" {
		spec += ";" + f.Tag
	}
	// Entries can reach the audit log after a window that covers their
	// date was fetched (LaunchDarkly's ingestion, clocks apart): look back
	// Lookback before the last window's end for entries not yet reported.
	// Only as far back as the cursor lists what it reported (a cursor
	// written without Recent lists nothing).
	fetchFrom := from
	lookback := cur.RecentSince != 0 && capped.IsZero() && s.opts.Lookback > 0
	if lookback {
		lb := max(cur.WindowEnd-s.opts.Lookback.Milliseconds(), cur.RecentSince)
		if t := time.UnixMilli(lb); t.Before(from) {
			fetchFrom = t
		}
	}
	reported := make(map[string]bool, len(cur.Recent))
	for _, r := range cur.Recent {
		reported[r.ID] = true
	}
	var entries []commands.AuditEntry
	if fetchFrom.Before(end) {
		entries, err = client.ListAuditLog(ctx, commands.AuditQuery{
			Spec: spec, After: fetchFrom.Add(-time.Millisecond), Before: end, Limit: s.opts.MaxEntries,
		})
		if err != nil {
			return Digest{}, cur, fmt.Errorf("digest: fetch audit log: %w", err)
		}
	}
	truncated := len(entries) >= s.opts.MaxEntries
	fromMs, endMs := fetchFrom.UnixMilli(), end.UnixMilli()
	kept := entries[:0]
	// The cursor never moves back, even when this replica's clock is behind
	// the one that wrote it: that would report the gap between them again.
	next := cursor{WindowEnd: max(endMs, cur.WindowEnd), LastDate: cur.LastDate, LastIDs: slices.Clone(cur.LastIDs)}
	// next.Recent lists every entry reported from next.RecentSince on:
	// those of cur.Recent from cur.RecentSince, and this window's from
	// fetchFrom.
	keepSince := next.WindowEnd - s.opts.Lookback.Milliseconds()
	if s.opts.Lookback > 0 {
		since := fetchFrom.UnixMilli()
		if lookback {
			since = min(since, cur.RecentSince)
		}
		next.RecentSince = max(keepSince, since)
		for _, r := range cur.Recent {
			if r.Date >= next.RecentSince {
				next.Recent = append(next.Recent, r)
			}
		}
	}
	for _, e := range entries {
		date := e.Date.UnixMilli()
		if date < fromMs || date >= endMs || reported[e.ID] || (date == cur.LastDate && slices.Contains(cur.LastIDs, e.ID)) {
			continue
		}
		kept = append(kept, e)
		if s.opts.Lookback > 0 && date >= next.RecentSince {
			next.Recent = append(next.Recent, reportedEntry{ID: e.ID, Date: date})
		}
		switch {
		case date > next.LastDate:
			next.LastDate, next.LastIDs = date, []string{e.ID}
		case date == next.LastDate:
			next.LastIDs = append(next.LastIDs, e.ID)
		}
	}
	critical := map[string]bool{}
	if envs, err := client.ListEnvironments(ctx, f.Project); err == nil {
		for _, e := range envs {
			if e.Critical {
				critical[e.Key] = true
			}
		}
	} else {
		s.log.DebugContext(ctx, "digest: environments unavailable; guessing critical ones by name", "project", f.Project, "err", err)
	}
	changes, err := s.flagbotChanges(ctx, sub.Workspace, kept)
	if err != nil {
		return Digest{}, cur, err
	}
	d := Build(kept, Window{
		SubscriptionID: sub.ID, Filter: f, From: from, To: end, Location: sub.Schedule.Location(),
		CriticalEnvs: critical, BaseURL: s.opts.BaseURL, Changes: changes,
	})
	d.Truncated = truncated
	if !capped.IsZero() {
		d.Capped, d.CappedFrom = true, capped
	}
	return d, next, nil
}

// flagbotChanges looks up, in ws's change store, the Flagbot requests the
// entries' comments name. One that does not exist is left out (its entry
// is not labelled "via Flagbot"); a store failure fails the run, which is
// retried, rather than post a digest that calls Flagbot's changes manual.
func (s *Service) flagbotChanges(ctx context.Context, ws commands.Workspace, entries []commands.AuditEntry) (map[string]commands.Change, error) {
	ids := RequestIDs(entries)
	if len(ids) == 0 || s.changes == nil {
		return nil, nil
	}
	out := make(map[string]commands.Change, len(ids))
	for _, id := range ids {
		ch, err := s.changes.Get(ctx, ws, id)
		switch {
		case errors.Is(err, commands.ErrChangeNotFound):
			continue
		case err != nil:
			return nil, fmt.Errorf("digest: look up Flagbot request %q: %w", id, err)
		}
		out[id] = ch
	}
	return out, nil
}
