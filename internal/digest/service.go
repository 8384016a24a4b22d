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
)

// Store keeps subscriptions, their schedule, run claims and cursors;
// *RedisStore implements it. GetDigest and DigestCursor return errors
// wrapping ErrNotFound for what does not exist, and CompleteDigestRun one
// wrapping ErrLeaseLost when owner's lease is gone; RedisStore's
// methods are documented there.
type Store interface {
	PutDigest(ctx context.Context, k Key, data []byte, next time.Time) error
	GetDigest(ctx context.Context, k Key) (Record, error)
	ListDigests(ctx context.Context, teamID, enterpriseID string) ([]Record, error)
	DeleteDigest(ctx context.Context, k Key) (bool, error)
	DueDigests(ctx context.Context, now time.Time, limit int) ([]Due, error)
	ClaimDigestRun(ctx context.Context, k Key, due time.Time, owner string, lease time.Duration) (bool, error)
	ReleaseDigestRun(ctx context.Context, k Key, owner string) error
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
	// CheckChannel returns the channel's name; the error wraps
	// commands.ErrCannotPost when the bot cannot post there.
	CheckChannel(ctx context.Context, channelID string) (name string, err error)
	// PostDigest renders d and posts it in channelID, waiting out Slack's
	// rate limits; it returns nil only once Slack accepted the message.
	PostDigest(ctx context.Context, channelID string, d Digest) error
}

// Options tune a Service; the zero value is valid.
type Options struct {
	// Now returns the current time (default time.Now).
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
	opts    Options
	log     *slog.Logger
}

var _ commands.Digests = (*Service)(nil)

// New returns a Service that keeps subscriptions in store, reads each
// workspace's LaunchDarkly token from ws, talks to LaunchDarkly through
// clients and posts through sl.
func New(store Store, ws commands.Workspaces, clients commands.ClientFunc, sl Slack, opts Options) *Service {
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
	return &Service{store: store, ws: ws, clients: clients, slack: sl, opts: opts, log: opts.Logger.With("component", "digest")}
}

func key(ws commands.Workspace, id string) Key {
	return Key{TeamID: ws.TeamID, EnterpriseID: ws.EnterpriseID, ID: id}
}

func newID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Subscribe implements commands.Digests.
func (s *Service) Subscribe(ctx context.Context, sub commands.DigestSubscription) (commands.DigestSubscription, error) {
	name, err := s.slack.CheckChannel(ctx, sub.ChannelID)
	if err != nil {
		return commands.DigestSubscription{}, fmt.Errorf("digest: check channel: %w", err)
	}
	if name != "" {
		sub.ChannelName = name
	}
	sub.ID = newID()
	data, err := json.Marshal(sub)
	if err != nil {
		return commands.DigestSubscription{}, fmt.Errorf("digest: encode subscription: %w", err)
	}
	sub.NextRun = Next(sub.Schedule, s.opts.Now())
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
}

// reportedEntry is an audit entry already reported.
type reportedEntry struct {
	ID   string `json:"id"`
	Date int64  `json:"date"`
}

// Tick runs every subscription that is due now, each exactly once across
// replicas. Errors of single runs are logged and retried on the next tick;
// Tick returns an error only when the due list cannot be read.
func (s *Service) Tick(ctx context.Context) error {
	now := s.opts.Now()
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
// for `digest now`, which always posts and keeps the schedule). On success
// the cursor, done mark and next run are written together; on a failure to
// fetch or post the lease is released so the next tick retries.
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
	now := s.opts.Now()
	var next time.Time
	if !manual {
		next = Next(sub.Schedule, now)
	}
	d, cur, err := s.collect(ctx, sub, now)
	if err != nil {
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
	if d.Total > 0 || len(d.Unsigned) > 0 || sub.PostEmpty || manual {
		if err := s.slack.PostDigest(ctx, sub.ChannelID, d); err != nil {
			err = fmt.Errorf("digest: post to %s: %w", sub.ChannelID, err)
			if !manual && errors.Is(err, commands.ErrCannotPost) {
				// The bot was removed from the channel: skip this run and
				// keep the cursor, so a re-invite gets the gap (capped).
				s.log.WarnContext(ctx, "digest skipped: cannot post in channel", "team", k.TeamID, "id", k.ID, "channel", sub.ChannelID, "err", err)
				return commands.DigestRun{}, s.store.CompleteDigestRun(ctx, k, due, s.opts.Owner, nil, next)
			}
			return commands.DigestRun{}, release(err)
		}
	}
	data, err := json.Marshal(cur)
	if err != nil {
		return commands.DigestRun{}, release(fmt.Errorf("digest: encode cursor: %w", err))
	}
	// The post is out: record it even if the caller's context just ended.
	// A lost write here means a second post once the lease expires, so a
	// failure of the store is retried (a lost lease is not: the script
	// wrote nothing, or a retry finds its own earlier success).
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err = s.store.CompleteDigestRun(cctx, k, due, s.opts.Owner, data, next)
		if err == nil {
			break
		}
		if errors.Is(err, ErrLeaseLost) || attempt == completeAttempts || !sleepCtx(cctx, time.Duration(attempt)*100*time.Millisecond) {
			s.log.ErrorContext(ctx, "digest posted but not recorded; it may be posted again", "team", k.TeamID, "id", k.ID, "err", err)
			return commands.DigestRun{}, fmt.Errorf("digest: record run: %w", err)
		}
	}
	s.log.InfoContext(ctx, "digest run", "team", k.TeamID, "id", k.ID, "channel", sub.ChannelID,
		"changes", d.Total, "posted", d.Total > 0 || len(d.Unsigned) > 0 || sub.PostEmpty || manual, "next_run", next)
	return run, nil
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
	d := Build(kept, Window{
		SubscriptionID: sub.ID, Filter: f, From: from, To: end, Location: sub.Schedule.Location(),
		CriticalEnvs: critical, BaseURL: s.opts.BaseURL,
	})
	d.Truncated = truncated
	if !capped.IsZero() {
		d.Capped, d.CappedFrom = true, capped
	}
	return d, next, nil
}
