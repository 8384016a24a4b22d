package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// optPostEmpty is `digest subscribe`'s switch to post even when nothing
// changed.
const optPostEmpty = "post-empty"

// maxDigestsPerWorkspace bounds how many subscriptions one workspace keeps.
const maxDigestsPerWorkspace = 50

// DigestFrequency is how often a digest is posted.
type DigestFrequency string

// The digest frequencies.
const (
	DigestHourly DigestFrequency = "hourly"
	DigestDaily  DigestFrequency = "daily"
	DigestWeekly DigestFrequency = "weekly"
)

// DigestSchedule says when a digest is posted: hourly on the hour, daily at
// Hour:Minute, or weekly on Weekday at Hour:Minute, in the IANA time zone TZ
// (which also formats the times in the message).
type DigestSchedule struct {
	Frequency DigestFrequency `json:"frequency"`
	Weekday   time.Weekday    `json:"weekday,omitempty"`
	Hour      int             `json:"hour"`
	Minute    int             `json:"minute"`
	TZ        string          `json:"tz"`
}

// String describes the schedule, e.g. "weekly on Monday at 09:00 (Europe/Berlin)".
func (s DigestSchedule) String() string {
	tz := s.TZ
	if tz == "" {
		tz = "UTC"
	}
	switch s.Frequency {
	case DigestHourly:
		return "hourly"
	case DigestWeekly:
		return fmt.Sprintf("weekly on %s at %02d:%02d (%s)", s.Weekday, s.Hour, s.Minute, tz)
	}
	return fmt.Sprintf("daily at %02d:%02d (%s)", s.Hour, s.Minute, tz)
}

// Location returns the schedule's time zone (UTC when unset or unknown).
func (s DigestSchedule) Location() *time.Location {
	if s.TZ == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(s.TZ)
	if err != nil {
		return time.UTC
	}
	return loc
}

// DigestFilter narrows what a digest reports. Empty fields mean everything.
type DigestFilter struct {
	Project string   `json:"project"`
	Envs    []string `json:"envs,omitempty"`
	Flag    string   `json:"flag,omitempty"`
	Tag     string   `json:"tag,omitempty"`
}

// DigestSubscription is a channel's subscription to audit-log digests.
type DigestSubscription struct {
	ID          string         `json:"id"`
	Workspace   Workspace      `json:"workspace"`
	ChannelID   string         `json:"channel_id"`
	ChannelName string         `json:"channel_name,omitempty"`
	Schedule    DigestSchedule `json:"schedule"`
	Filter      DigestFilter   `json:"filter"`
	PostEmpty   bool           `json:"post_empty,omitempty"`
	CreatedBy   string         `json:"created_by"`
	CreatedAt   time.Time      `json:"created_at"`
	// NextRun is when the next digest is due; filled in by Digests, not
	// stored with the subscription.
	NextRun time.Time `json:"-"`
}

// DigestRun reports a digest posted by `/flag digest now`.
type DigestRun struct {
	Subscription DigestSubscription
	From, To     time.Time
	Changes      int
}

// DigestChannel is what Slack says about a channel digests are posted in.
type DigestChannel struct {
	ID   string
	Name string
	// Private is set for private channels, group DMs and DMs: only their
	// members see them, so only members may subscribe one to digests or
	// see its subscriptions listed.
	Private bool
	// Postable is set when the bot is a member and the channel is not
	// archived.
	Postable bool
}

// Errors returned by Digests, matched with errors.Is.
var (
	ErrDigestNotFound = errors.New("digest subscription not found")
	// ErrDigestBusy: the subscription's digest is being posted right now.
	ErrDigestBusy = errors.New("digest is being posted")
	// ErrCannotPost: the bot is not a member of the channel (or the channel
	// does not exist), so it cannot post digests there.
	ErrCannotPost = errors.New("bot cannot post in channel")
)

// Digests keeps digest subscriptions and posts them. Failures of the store
// or of Slack other than the errors above are returned wrapped.
type Digests interface {
	// Channel returns what Slack says about channelID; the error wraps
	// ErrCannotPost when Slack does not show the bot that channel (none
	// such, or a private channel the bot is not in).
	Channel(ctx context.Context, ws Workspace, channelID string) (DigestChannel, error)
	// MemberOf reports which of channelIDs userID is a member of. Slack
	// answers only for channels the bot is in; the others are reported as
	// not.
	MemberOf(ctx context.Context, ws Workspace, userID string, channelIDs []string) (map[string]bool, error)
	// Subscribe checks that the bot can post in sub.ChannelID
	// (ErrCannotPost), stores sub under a new ID and returns it with its
	// channel name and next run filled in.
	Subscribe(ctx context.Context, sub DigestSubscription) (DigestSubscription, error)
	// Get returns one of the workspace's subscriptions with its next run;
	// ErrDigestNotFound when it has none with that ID.
	Get(ctx context.Context, ws Workspace, id string) (DigestSubscription, error)
	// List returns the workspace's subscriptions with their next runs.
	List(ctx context.Context, ws Workspace) ([]DigestSubscription, error)
	// Unsubscribe deletes a subscription and returns it; ErrDigestNotFound
	// when the workspace has none with that ID.
	Unsubscribe(ctx context.Context, ws Workspace, id string) (DigestSubscription, error)
	// RunNow posts the changes since the subscription's last digest (even
	// when there are none) without moving its schedule. ErrDigestNotFound,
	// ErrDigestBusy.
	RunNow(ctx context.Context, ws Workspace, id string) (DigestRun, error)
}

// DigestSubscribe subscribes a channel to digests.
type DigestSubscribe struct {
	ChannelID   string // empty: the channel the command was run in
	ChannelName string
	Schedule    DigestSchedule
	Filter      DigestFilter
	PostEmpty   bool
}

// DigestList lists the workspace's digest subscriptions.
type DigestList struct{}

// DigestUnsubscribe deletes a subscription.
type DigestUnsubscribe struct{ ID string }

// DigestNow posts a subscription's digest at once; ID may be empty when the
// channel has exactly one subscription.
type DigestNow struct{ ID string }

// Name implements Command.
func (DigestSubscribe) Name() string   { return "digest" }
func (DigestList) Name() string        { return "digest" }
func (DigestUnsubscribe) Name() string { return "digest" }
func (DigestNow) Name() string         { return "digest" }

// DigestSubscribedResult reports a new subscription.
type DigestSubscribedResult struct{ Subscription DigestSubscription }

// DigestListResult lists the subscriptions the caller may see, soonest
// next run first.
type DigestListResult struct {
	Subscriptions []DigestSubscription
	ChannelID     string // where the command was run
	// Hidden counts the subscriptions left out: they post in private
	// channels the caller is not in (or that Slack no longer shows the
	// bot). HiddenIDs are their IDs, for an admin, who may remove them;
	// empty for anyone else.
	Hidden    int
	HiddenIDs []string
}

// DigestUnsubscribedResult reports a deleted subscription.
type DigestUnsubscribedResult struct{ Subscription DigestSubscription }

// DigestNowResult reports a digest posted on request.
type DigestNowResult struct{ Run DigestRun }

func (DigestSubscribedResult) result()   {}
func (DigestListResult) result()         {}
func (DigestUnsubscribedResult) result() {}
func (DigestNowResult) result()          {}

// digestSpec returns the help-and-parse row of `/flag digest`, whose verbs
// are four commands.
func digestSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:  "digest",
			Usage: "digest <subscribe [#channel] [hourly | daily [HH:MM] [TZ] | weekly [mon..sun] [HH:MM] [TZ]] [--project p] [--env e1,e2] [--flag f] [--tag t] [--post-empty] | list | unsubscribe <id> | now [id]>",
			Summary: "Posts a scheduled summary of LaunchDarkly changes in a channel. `subscribe` defaults to this channel (name another with `#channel`), daily at 09:00 UTC, " +
				"the default project and all environments; time zones are IANA names such as `Europe/Berlin`. Nothing is posted for a quiet window unless `--post-empty`. " +
				"`now` posts the changes since the last digest at once.",
			Examples: []string{
				"digest subscribe",
				"digest subscribe weekly mon 08:30 Europe/Berlin --env production",
				"digest subscribe hourly --flag new-checkout --post-empty",
				"digest list", "digest unsubscribe 3kq9x2", "digest now",
			},
		},
		aliases: []string{"digests"},
		options: []string{optProject, optEnv, optFlag, optTag, optPostEmpty},
		parse:   parseDigestCmd,
	}
}

func parseDigestCmd(a *parseArgs) (Command, error) {
	if len(a.pos) == 0 {
		return nil, a.usagef("`digest` needs a verb: `subscribe`, `list`, `unsubscribe <id>` or `now`. E.g. `/flag digest subscribe daily 09:00 Europe/Berlin`.")
	}
	verb := strings.ToLower(a.pos[0])
	rest := a.pos[1:]
	if verb != "subscribe" && verb != "sub" && len(a.opts) > 0 {
		names := make([]string, 0, len(a.opts))
		for name := range a.opts {
			names = append(names, name)
		}
		slices.Sort(names)
		return nil, a.usagef("`--%s` goes with `digest subscribe` only.", names[0])
	}
	switch verb {
	case "subscribe", "sub":
		return parseDigestSubscribe(a, rest)
	case "list", "ls":
		if len(rest) > 0 {
			return nil, a.usagef("`digest list` takes no arguments, so I don't know what to do with %s.", echo(strings.Join(rest, " ")))
		}
		return DigestList{}, nil
	case "unsubscribe", "unsub", "remove", "rm":
		if len(rest) != 1 {
			return nil, a.usagef("`digest unsubscribe` needs one subscription id; `/flag digest list` shows them.")
		}
		if !validKey(rest[0]) {
			return nil, a.usagef("%s isn't a subscription id; `/flag digest list` shows them.", echo(rest[0]))
		}
		return DigestUnsubscribe{ID: rest[0]}, nil
	case "now":
		switch {
		case len(rest) > 1:
			return nil, a.usagef("`digest now` takes at most one subscription id.")
		case len(rest) == 1 && !validKey(rest[0]):
			return nil, a.usagef("%s isn't a subscription id; `/flag digest list` shows them.", echo(rest[0]))
		case len(rest) == 1:
			return DigestNow{ID: rest[0]}, nil
		}
		return DigestNow{}, nil
	}
	return nil, a.usagef("I don't know `digest %s`. Use `subscribe`, `list`, `unsubscribe <id>` or `now`.", plain(a.pos[0]))
}

// weekday reads a day of the week, short or long.
func weekday(s string) (time.Weekday, bool) {
	switch s {
	case "sun", "sunday":
		return time.Sunday, true
	case "mon", "monday":
		return time.Monday, true
	case "tue", "tues", "tuesday":
		return time.Tuesday, true
	case "wed", "wednesday":
		return time.Wednesday, true
	case "thu", "thur", "thurs", "thursday":
		return time.Thursday, true
	case "fri", "friday":
		return time.Friday, true
	case "sat", "saturday":
		return time.Saturday, true
	}
	return 0, false
}

func parseDigestSubscribe(a *parseArgs, words []string) (Command, error) {
	c := DigestSubscribe{
		Schedule:  DigestSchedule{Frequency: DigestDaily, Hour: 9, TZ: "UTC"},
		PostEmpty: a.opts[optPostEmpty] == "true",
	}
	if len(words) > 0 && (strings.HasPrefix(words[0], "<#") || strings.HasPrefix(words[0], "#")) {
		id, name, ok := channelRef(words[0])
		if !ok {
			return nil, a.usagef("I need the channel as Slack links it: type `#` and pick %s from the list.", echo(words[0]))
		}
		c.ChannelID, c.ChannelName = id, name
		words = words[1:]
	}
	if len(words) > 0 {
		switch f := DigestFrequency(strings.ToLower(words[0])); f {
		case DigestHourly, DigestDaily, DigestWeekly:
			c.Schedule.Frequency = f
			words = words[1:]
		}
	}
	if c.Schedule.Frequency == DigestWeekly {
		c.Schedule.Weekday = time.Monday
	}
	var sawDay, sawTime, sawTZ bool
	for _, w := range words {
		lw := strings.ToLower(w)
		if d, ok := weekday(lw); ok {
			if c.Schedule.Frequency != DigestWeekly {
				return nil, a.usagef("A day only goes with `weekly`, e.g. `weekly %s 09:00`.", lw)
			}
			if sawDay {
				return nil, a.usagef("Give the day once.")
			}
			c.Schedule.Weekday, sawDay = d, true
			continue
		}
		if h, m, ok := clockTime(w); ok {
			if c.Schedule.Frequency == DigestHourly {
				return nil, a.usagef("An `hourly` digest is posted on the hour; it takes no time.")
			}
			if sawTime {
				return nil, a.usagef("Give the time once.")
			}
			c.Schedule.Hour, c.Schedule.Minute, sawTime = h, m, true
			continue
		}
		if strings.Contains(w, "/") || strings.EqualFold(w, "UTC") {
			if sawTZ {
				return nil, a.usagef("Give the time zone once.")
			}
			if strings.EqualFold(w, "UTC") {
				w = "UTC"
			}
			loc, err := time.LoadLocation(w)
			if err != nil || w == "Local" {
				return nil, a.usagef("I don't know the time zone %s. Use an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`.", echo(w))
			}
			c.Schedule.TZ, sawTZ = loc.String(), true
			continue
		}
		if hint := digestWordHint(w); !hint.IsZero() {
			return nil, &UsageError{Msg: hint, Help: a.entry}
		}
		return nil, a.usagef("I don't understand %s. Usage: `%s`.", echo(w), a.entry.Usage)
	}
	var err error
	if c.Filter.Project, err = a.optionKey(optProject, "project key"); err != nil {
		return nil, err
	}
	if c.Filter.Flag, err = a.optionKey(optFlag, "flag key"); err != nil {
		return nil, err
	}
	if c.Filter.Tag, err = a.optionKey(optTag, "tag"); err != nil {
		return nil, err
	}
	if v, ok := a.opts[optEnv]; ok {
		for _, e := range strings.Split(v, ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if err := a.key("environment key", e); err != nil {
				return nil, err
			}
			if !slices.Contains(c.Filter.Envs, e) {
				c.Filter.Envs = append(c.Filter.Envs, e)
			}
		}
	}
	return c, nil
}

// digestWordHint says what to type instead of a word of `digest subscribe`
// that looks like a misspelt channel, time, frequency or time zone; "" when
// it looks like none of them.
func digestWordHint(w string) Text {
	lw := strings.ToLower(w)
	letters := strings.TrimLeft(lw, "0123456789")
	switch {
	case strings.HasPrefix(w, "<#") || strings.HasPrefix(w, "#"):
		return Textf("I don't understand %s: give one channel, right after `subscribe`, e.g. `/flag digest subscribe #releases daily 09:00`.", echo(w))
	case strings.Contains(w, ":") || (letters != lw && (letters == "" || letters == "am" || letters == "pm" || letters == "h")):
		return Textf("I don't understand %s as a time: give a 24-hour `HH:MM`, e.g. `09:00` or `17:30`.", echo(w))
	case strings.HasSuffix(lw, "ly"):
		return Textf("I don't understand %s: digests are `hourly`, `daily` or `weekly`, e.g. `/flag digest subscribe weekly mon 09:00`.", echo(w))
	case lw == "local" || (len(w) >= 2 && len(w) <= 5 && strings.ToUpper(w) == w && strings.Trim(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""):
		return Textf("I don't understand %s: give the time zone as an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`.", echo(w))
	}
	return nil
}

// channelRef reads a channel as Slack escapes it, <#C123|name> or <#C123>.
func channelRef(s string) (id, name string, ok bool) {
	if !strings.HasPrefix(s, "<#") || !strings.HasSuffix(s, ">") {
		return "", "", false
	}
	id, name, _ = strings.Cut(s[2:len(s)-1], "|")
	if id == "" || !validKey(id) {
		return "", "", false
	}
	return id, name, true
}

// clockTime reads "9:00", "09:30" or "17:05".
func clockTime(s string) (hour, minute int, ok bool) {
	hs, ms, found := strings.Cut(s, ":")
	if !found || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 {
		return 0, 0, false
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, 0, false
	}
	return h, m, true
}

// digestService returns the workspace's digest service, or an error when
// digests are off.
func (e *Executor) digestService() (Digests, error) {
	if e.digests == nil {
		return nil, Errorf(KindInvalid, "Digests are not enabled on this Flagbot.")
	}
	return e.digests, nil
}

// Run implements Command.
func (c DigestSubscribe) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	conn, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	if _, err := x.digestService(); err != nil {
		return nil, err
	}
	return x.digestSubscribe(ctx, actor, conn, client, c)
}

// Run implements Command.
func (c DigestList) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	if _, err := x.connection(ctx, actor.Workspace); err != nil {
		return nil, err
	}
	if _, err := x.digestService(); err != nil {
		return nil, err
	}
	return x.digestList(ctx, actor)
}

// Run implements Command.
func (c DigestUnsubscribe) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	if _, err := x.connection(ctx, actor.Workspace); err != nil {
		return nil, err
	}
	if _, err := x.digestService(); err != nil {
		return nil, err
	}
	return x.digestUnsubscribe(ctx, actor, c)
}

// Run implements Command.
func (c DigestNow) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	if _, err := x.connection(ctx, actor.Workspace); err != nil {
		return nil, err
	}
	if _, err := x.digestService(); err != nil {
		return nil, err
	}
	return x.digestNow(ctx, actor, c)
}

func (e *Executor) digestSubscribe(ctx context.Context, actor Actor, conn Connection, client LaunchDarkly, c DigestSubscribe) (Result, error) {
	p, err := project(c.Filter.Project, conn)
	if err != nil {
		return nil, err
	}
	c.Filter.Project = p
	if c.ChannelID == "" {
		c.ChannelID = actor.ChannelID
	}
	if c.ChannelID == "" {
		return nil, Errorf(KindInvalid, "Which channel? Name it, e.g. `/flag digest subscribe #releases`.")
	}
	if len(c.Filter.Envs) > 0 {
		envs, err := client.ListEnvironments(ctx, p)
		if err != nil {
			return nil, e.projectError(ctx, client, p, err)
		}
		for i, want := range c.Filter.Envs {
			key, ok := matchEnv(envs, want)
			if !ok {
				return nil, noEnvError(p, want, envKeys(envs))
			}
			c.Filter.Envs[i] = key
		}
	}
	existing, err := e.digests.List(ctx, actor.Workspace)
	if err != nil {
		return nil, storeError("list digests", err)
	}
	if len(existing) >= maxDigestsPerWorkspace {
		return nil, Errorf(KindInvalid, "This workspace already has %d digest subscriptions, the most I keep. Remove one with `/flag digest unsubscribe <id>`.", len(existing))
	}
	where := "that channel"
	if c.ChannelName != "" {
		where = "#" + c.ChannelName
	}
	cannotPost := func(err error) error {
		return &Error{Kind: KindInvalid, Msg: Textf("I can't post in %s. Invite @flagbot to %s (`/invite @flagbot`) and subscribe again.", where, where), Err: err}
	}
	unavailable := func(err error) error {
		// Slack (checking the channel) or the store: say neither for sure.
		return &Error{Kind: KindUnavailable, Msg: Notation("I couldn't set up the digest just now: Slack or my state store did not answer. Nothing was saved; try `/flag digest subscribe` again in a minute."), Err: err}
	}
	// A digest shows a private channel's flag changes to its members:
	// only a member may ask for one there.
	ch, err := e.digests.Channel(ctx, actor.Workspace, c.ChannelID)
	switch {
	case errors.Is(err, ErrCannotPost):
		return nil, cannotPost(err)
	case err != nil:
		return nil, unavailable(err)
	case ch.Private:
		in, err := e.digests.MemberOf(ctx, actor.Workspace, actor.UserID, []string{c.ChannelID})
		if err != nil {
			return nil, unavailable(err)
		}
		if !in[c.ChannelID] {
			return nil, Errorf(KindForbidden, "%s is a private channel you are not in, so you can't subscribe it to digests. Ask one of its members to run `/flag digest subscribe` there.", Channel(c.ChannelID))
		}
	}
	sub, err := e.digests.Subscribe(ctx, DigestSubscription{
		Workspace: actor.Workspace, ChannelID: c.ChannelID, ChannelName: c.ChannelName,
		Schedule: c.Schedule, Filter: c.Filter, PostEmpty: c.PostEmpty,
		CreatedBy: actor.UserID, CreatedAt: e.opts.Now(),
	})
	if errors.Is(err, ErrCannotPost) {
		return nil, cannotPost(err)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return DigestSubscribedResult{Subscription: sub}, nil
}

func (e *Executor) digestList(ctx context.Context, actor Actor) (Result, error) {
	subs, err := e.digests.List(ctx, actor.Workspace)
	if err != nil {
		return nil, storeError("list digests", err)
	}
	visible, err := e.visibleChannels(ctx, actor, subs)
	if err != nil {
		return nil, &Error{Kind: KindUnavailable, Msg: Notation("I couldn't check with Slack which of the digests' channels you can see. Try `/flag digest list` again in a minute."), Err: err}
	}
	res := DigestListResult{ChannelID: actor.ChannelID}
	var hidden []string
	for _, s := range subs {
		if visible[s.ChannelID] {
			res.Subscriptions = append(res.Subscriptions, s)
		} else {
			hidden = append(hidden, s.ID)
		}
	}
	slices.SortFunc(res.Subscriptions, func(a, b DigestSubscription) int {
		if c := a.NextRun.Compare(b.NextRun); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	res.Hidden = len(hidden)
	if len(hidden) > 0 {
		if admin, err := e.dir.IsAdmin(ctx, actor); err == nil && admin {
			slices.Sort(hidden)
			res.HiddenIDs = hidden
		}
	}
	return res, nil
}

// visibleChannels reports which of the subscriptions' channels actor may
// see: public ones, and private ones actor is in. A channel Slack no
// longer shows the bot counts as private: its name may be secret.
func (e *Executor) visibleChannels(ctx context.Context, actor Actor, subs []DigestSubscription) (map[string]bool, error) {
	visible := make(map[string]bool)
	var private []string
	for _, s := range subs {
		if _, seen := visible[s.ChannelID]; seen || slices.Contains(private, s.ChannelID) {
			continue
		}
		if s.ChannelID == actor.ChannelID {
			visible[s.ChannelID] = true // the caller is in it
			continue
		}
		ch, err := e.digests.Channel(ctx, actor.Workspace, s.ChannelID)
		switch {
		case errors.Is(err, ErrCannotPost):
			visible[s.ChannelID] = false
		case err != nil:
			return nil, err
		case ch.Private:
			private = append(private, s.ChannelID)
		default:
			visible[s.ChannelID] = true
		}
	}
	if len(private) > 0 {
		in, err := e.digests.MemberOf(ctx, actor.Workspace, actor.UserID, private)
		if err != nil {
			return nil, err
		}
		for _, id := range private {
			visible[id] = in[id]
		}
	}
	return visible, nil
}

// mayManageDigest allows sub's subscriber and workspace admins to remove
// it or post it on demand (what: "remove", "post"); anyone else is told
// who can.
func (e *Executor) mayManageDigest(ctx context.Context, actor Actor, sub DigestSubscription, what string) error {
	if sub.CreatedBy != "" && sub.CreatedBy == actor.UserID {
		return nil
	}
	admin, err := e.dir.IsAdmin(ctx, actor)
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Kind: KindTimeout, Err: err}
		}
		return &Error{Kind: KindInternal, Err: fmt.Errorf("commands: check admin: %w", err)}
	}
	if admin {
		return nil
	}
	if sub.CreatedBy == "" {
		return Errorf(KindForbidden, "Only a workspace admin can %s digest `%s`.", what, sub.ID)
	}
	return Errorf(KindForbidden, "Only %s, who subscribed it, or a workspace admin can %s digest `%s`.", User(sub.CreatedBy), what, sub.ID)
}

// getDigest returns subscription id of actor's workspace.
func (e *Executor) getDigest(ctx context.Context, actor Actor, id string) (DigestSubscription, error) {
	sub, err := e.digests.Get(ctx, actor.Workspace, id)
	if errors.Is(err, ErrDigestNotFound) {
		return DigestSubscription{}, &Error{Kind: KindNotFound, Msg: Textf("There is no digest subscription `%s`. `/flag digest list` shows them.", id), Err: err}
	}
	if err != nil {
		return DigestSubscription{}, storeError("get digest", err)
	}
	return sub, nil
}

func (e *Executor) digestUnsubscribe(ctx context.Context, actor Actor, c DigestUnsubscribe) (Result, error) {
	sub, err := e.getDigest(ctx, actor, c.ID)
	if err != nil {
		return nil, err
	}
	if err := e.mayManageDigest(ctx, actor, sub, "remove"); err != nil {
		return nil, err
	}
	sub, err = e.digests.Unsubscribe(ctx, actor.Workspace, c.ID)
	if errors.Is(err, ErrDigestNotFound) {
		return nil, &Error{Kind: KindNotFound, Msg: Textf("There is no digest subscription `%s`. `/flag digest list` shows them.", c.ID), Err: err}
	}
	if err != nil {
		return nil, storeError("unsubscribe", err)
	}
	return DigestUnsubscribedResult{Subscription: sub}, nil
}

func (e *Executor) digestNow(ctx context.Context, actor Actor, c DigestNow) (Result, error) {
	id := c.ID
	var sub DigestSubscription
	if id == "" {
		subs, err := e.digests.List(ctx, actor.Workspace)
		if err != nil {
			return nil, storeError("list digests", err)
		}
		var here []DigestSubscription
		for _, s := range subs {
			if s.ChannelID == actor.ChannelID {
				here = append(here, s)
			}
		}
		slices.SortFunc(here, func(a, b DigestSubscription) int { return strings.Compare(a.ID, b.ID) })
		switch len(here) {
		case 0:
			return nil, Errorf(KindNotFound, "This channel has no digest subscription. Create one with `/flag digest subscribe`, or name one: `/flag digest now <id>`.")
		case 1:
			sub, id = here[0], here[0].ID
		default:
			ids := make([]Text, len(here))
			for i, s := range here {
				ids[i] = Text{Code(s.ID)}
			}
			return nil, Errorf(KindInvalid, "This channel has %d digest subscriptions (%s); name one: `/flag digest now <id>`.", len(here), Join(ids, ", "))
		}
	} else {
		var err error
		if sub, err = e.getDigest(ctx, actor, id); err != nil {
			return nil, err
		}
	}
	if err := e.mayManageDigest(ctx, actor, sub, "post"); err != nil {
		return nil, err
	}
	run, err := e.digests.RunNow(ctx, actor.Workspace, id)
	switch {
	case errors.Is(err, ErrDigestNotFound):
		return nil, &Error{Kind: KindNotFound, Msg: Textf("There is no digest subscription `%s`. `/flag digest list` shows them.", id), Err: err}
	case errors.Is(err, ErrDigestBusy):
		return nil, &Error{Kind: KindConflict, Msg: Notation("That digest is being posted right now; it will be in the channel in a moment."), Err: err}
	case errors.Is(err, ErrCannotPost):
		return nil, &Error{Kind: KindInvalid, Msg: Textf("I can't post digest `%s` in its channel any more. Invite @flagbot there (`/invite @flagbot`) and run `/flag digest now %s` again.", id, id), Err: err}
	case err != nil:
		return nil, digestRunError(ctx, err)
	}
	return DigestNowResult{Run: run}, nil
}

// digestRunError classifies a failed `digest now`: LaunchDarkly's errors
// keep their kind, anything else is the store or Slack being unavailable.
func digestRunError(ctx context.Context, err error) error {
	if e := serviceError(ctx, err); KindOf(e) != KindInternal {
		return e
	}
	return &Error{Kind: KindUnavailable, Msg: Notation("I couldn't post the digest just now. Try again in a minute."), Err: err}
}
