package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/approvals"
	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/digest"
	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/slackapp"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// The scheduler end to end through the same constructors run uses, with an
// injected clock: digest.New + slackapp.NewDigestSlack against the fake
// Slack, the fake LaunchDarkly and Redis. TestDigestThroughRun below drives
// the commands through run itself.

// digestClock is a settable clock far from the real now, so the entries
// newLD dates "now" stay out of the scheduled windows.
type digestClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *digestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep moves the clock on by d at once: the poster's pacing and
// Retry-After waits take no wall-clock time.
func (c *digestClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return ctx.Err()
}

// Clock is the shared clock (digest.Options.Clock), standing in for
// Redis's TIME.
func (c *digestClock) Clock(context.Context) (time.Time, error) { return c.Now(), nil }

func (c *digestClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// digestWorkspaces connects teamID with writerToken.
type digestWorkspaces struct{}

func (digestWorkspaces) Get(_ context.Context, ws commands.Workspace) (commands.Connection, error) {
	if ws.TeamID != teamID {
		return commands.Connection{}, commands.ErrNotConnected
	}
	return commands.Connection{Token: writerToken, DefaultProject: "web"}, nil
}
func (digestWorkspaces) Put(context.Context, commands.Workspace, commands.Connection) error {
	return errors.New("read only")
}
func (digestWorkspaces) Delete(context.Context, commands.Workspace) error {
	return errors.New("read only")
}
func (digestWorkspaces) Update(context.Context, commands.Workspace, func(*commands.Connection) error) error {
	return errors.New("read only")
}

type digestRig struct {
	slack   *slackfake.Server
	ld      *ldtest.Server
	store   *redisstore.Store
	changes *approvals.Changes
	clock   *digestClock
	ldURL   string // where the schedulers reach LaunchDarkly (default ld.URL())
}

func newDigestRig(t *testing.T, store *redisstore.Store) *digestRig {
	t.Helper()
	return &digestRig{
		slack: newSlack(t), ld: newLD(t), store: store, changes: approvals.NewChanges(store, approvals.ChangesOptions{}),
		clock: &digestClock{now: time.Date(2030, 1, 15, 6, 0, 0, 0, time.UTC)},
	}
}

// scheduler builds a replica the way run does, on the rig's clock.
func (r *digestRig) scheduler(t *testing.T, owner string) *digest.Service {
	t.Helper()
	return r.schedulerWith(t, owner, func(s digest.Store) digest.Store { return s }, digest.Options{Clock: r.clock.Clock, Now: r.clock.Now})
}

// schedulerWith builds a replica the way run does, on the store wrap
// returns, with opts (Logger, BaseURL and Owner set here).
func (r *digestRig) schedulerWith(t *testing.T, owner string, wrap func(digest.Store) digest.Store, opts digest.Options) *digest.Service {
	t.Helper()
	base := r.ldURL
	if base == "" {
		base = r.ld.URL()
	}
	client, err := ld.NewClient(base, ld.Options{Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	clients := func(tok secret.Secret) commands.LaunchDarkly { return ld.NewService(client.WithToken(tok)) }
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	sl := slackapp.NewDigestSlack(slackapp.NewClients(slackapp.SingleWorkspace(slackfake.DefaultBotToken), slackapp.Options{APIURL: r.slack.APIURL()}), slackapp.Options{APIURL: r.slack.APIURL(), Now: r.clock.Now, Sleep: r.clock.Sleep})
	opts.Logger, opts.BaseURL, opts.Owner = log, r.ld.URL(), owner
	return digest.New(wrap(digest.NewRedisStore(r.store, log)), digestWorkspaces{}, clients, sl, r.changes, opts)
}

// flagbotChange stores Flagbot's record of request id as approvals keeps
// it: requested by requester, approved by approver at at, applied a second
// later, to flag in env of project web.
func (r *digestRig) flagbotChange(t *testing.T, ws commands.Workspace, id, requester, approver string, at time.Time, env, flag, reason string) {
	t.Helper()
	ctx := t.Context()
	c := commands.Change{
		ID: id, Workspace: ws, ChannelID: channelID, RequesterID: requester, Kind: commands.ChangeKind("on"),
		Project: "web", Env: env, Flag: flag, Patch: &commands.Patch{}, Reason: reason,
		CreatedAt: at.Add(-10 * time.Minute), ExpiresAt: at.Add(time.Hour), RequiredApprovals: 1,
	}
	if _, _, err := r.changes.Create(ctx, c, ""); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := r.changes.Approve(ctx, ws, id, approver, at, commands.Claim{}, false); err != nil || !ok {
		t.Fatalf("approve %s: %v, %v", id, ok, err)
	}
	if _, err := r.changes.Finish(ctx, ws, id, 0, commands.StatusApplied, commands.Notation("applied"), nil, at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
}

func (r *digestRig) entry(id string, at time.Time, env, flag, comment string) {
	r.ld.AddAuditEntry(ld.AuditEntry{
		ID: id, Date: at.UnixMilli(), Kind: "flag", Name: flag, TitleVerb: "turned on the flag", Comment: comment,
		Member:   &ld.Member{FirstName: "Ana", LastName: "Lima"},
		Accesses: []ld.Access{{Action: "updateOn", Resource: "proj/web:env/" + env + ":flag/" + flag}},
	})
}

// unescapeJSON undoes encoding/json's HTML escaping of <, > and &, so
// Slack markup in blocks can be matched as written.
func unescapeJSON(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(s)
}

// digestPosts returns the accepted chat.postMessage calls that are digests,
// by channel.
func (r *digestRig) digestPosts() []slackfake.Call {
	var out []slackfake.Call
	for _, c := range r.slack.Calls("chat.postMessage") {
		if c.Error == "" && strings.HasPrefix(c.Params["text"], "LaunchDarkly digest") {
			out = append(out, c)
		}
	}
	return out
}

func subscribeDigest(t *testing.T, s *digest.Service, channel string, sched commands.DigestSchedule, postEmpty bool) commands.DigestSubscription {
	t.Helper()
	sub, err := s.Subscribe(t.Context(), commands.DigestSubscription{
		Workspace: commands.Workspace{TeamID: teamID}, ChannelID: channel, Schedule: sched,
		Filter: commands.DigestFilter{Project: "web"}, PostEmpty: postEmpty, CreatedBy: adminID,
	})
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func tickDigests(t *testing.T, ss ...*digest.Service) {
	t.Helper()
	for _, s := range ss {
		if err := s.Tick(t.Context()); err != nil {
			t.Fatalf("Tick: %v", err)
		}
	}
}

var berlinNine = commands.DigestSchedule{Frequency: commands.DigestDaily, Hour: 9, TZ: "Europe/Berlin"}

func TestDigestScheduledEndToEnd(t *testing.T) {
	t.Parallel()
	for name, store := range map[string]func(testing.TB) *redisstore.Store{"miniredis": redistest.NewTestStore, "redis": redistest.NewRealTestStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newDigestRig(t, store(t))
			s := r.scheduler(t, "r1")
			sub := subscribeDigest(t, s, channelID, berlinNine, false)
			if want := time.Date(2030, 1, 15, 8, 0, 0, 0, time.UTC); !sub.NextRun.Equal(want) || sub.ChannelName != "channel-c0flags" {
				t.Fatalf("subscription = %+v; want next run %v (09:00 Berlin)", sub, want)
			}
			r.entry("d1", time.Date(2030, 1, 14, 12, 0, 0, 0, time.UTC), "production", "new-checkout", "")
			r.entry("d2", time.Date(2030, 1, 15, 7, 30, 0, 0, time.UTC), "staging", "dark-mode",
				"Requested by Bo User (UUSER), approved by Ana Admin (UADMIN) via Flagbot; reason: fix the banner; request 7qk2")
			r.flagbotChange(t, commands.Workspace{TeamID: teamID}, "7qk2", userID, adminID, time.Date(2030, 1, 15, 7, 29, 59, 0, time.UTC), "staging", "dark-mode", "fix the banner")
			r.entry("d0", time.Date(2030, 1, 13, 12, 0, 0, 0, time.UTC), "production", "new-checkout", "") // before the window

			r.clock.Set(time.Date(2030, 1, 15, 7, 59, 0, 0, time.UTC))
			tickDigests(t, s)
			if n := len(r.digestPosts()); n != 0 {
				t.Fatalf("%d digests before 09:00 Berlin", n)
			}
			r.clock.Set(time.Date(2030, 1, 15, 8, 0, 20, 0, time.UTC))
			tickDigests(t, s, s)
			posts := r.digestPosts()
			if len(posts) != 1 {
				t.Fatalf("%d digests posted, want 1", len(posts))
			}
			p := posts[0]
			if p.Params["channel"] != channelID {
				t.Errorf("posted in %q", p.Params["channel"])
			}
			blocks := unescapeJSON(p.Params["blocks"])
			wantContains(t, "the digest", blocks,
				"LaunchDarkly digest: web", "Mon 14 Jan 09:00 – Tue 15 Jan 09:00 (Europe/Berlin)", "2 changes · 2 flags · 1 person",
				"`new-checkout`", "`dark-mode`", "13:00 *Ana Lima* turned on the flag · _no comment_",
				"via Flagbot: requested by Bo User, approved by Ana Admin — _fix the banner_",
				"1 change in production or critical environments", "1 change without a comment", "1 change made outside Flagbot")
			if strings.Contains(blocks, "d0") || strings.Contains(blocks, "Mon 13 Jan") {
				t.Errorf("the digest reaches before its window:\n%s", blocks)
			}
		})
	}
}

func TestDigestTwoReplicasPostOnce(t *testing.T) {
	t.Parallel()
	r := newDigestRig(t, redistest.NewTestStore(t))
	a, b := r.scheduler(t, "replica-a"), r.scheduler(t, "replica-b")
	channels := []string{"C0A", "C0B", "C0C"}
	for _, ch := range channels {
		subscribeDigest(t, a, ch, berlinNine, true)
	}
	r.clock.Set(time.Date(2030, 1, 15, 8, 0, 1, 0, time.UTC))
	var wg sync.WaitGroup
	for _, s := range []*digest.Service{a, b, b, a} {
		wg.Go(func() {
			if err := s.Tick(t.Context()); err != nil {
				t.Errorf("Tick: %v", err)
			}
		})
	}
	wg.Wait()
	per := map[string]int{}
	for _, p := range r.digestPosts() {
		per[p.Params["channel"]]++
	}
	for _, ch := range channels {
		if per[ch] != 1 {
			t.Errorf("digests per channel = %v; want exactly one in each of %v", per, channels)
			break
		}
	}
}

func TestDigestFailedPostRetriedNextTick(t *testing.T) {
	t.Parallel()
	r := newDigestRig(t, redistest.NewTestStore(t))
	s := r.scheduler(t, "r1")
	subscribeDigest(t, s, channelID, berlinNine, false)
	r.entry("d1", time.Date(2030, 1, 15, 7, 0, 0, 0, time.UTC), "production", "new-checkout", "")
	r.clock.Set(time.Date(2030, 1, 15, 8, 0, 1, 0, time.UTC))
	// Slack answers 429 to every attempt of the first tick (the poster
	// waits out Retry-After twice), then a 500-ish error.
	r.slack.FailNext("chat.postMessage", 3, "ratelimited")
	tickDigests(t, s)
	if n := len(r.digestPosts()); n != 0 {
		t.Fatalf("%d digests accepted while Slack refused", n)
	}
	r.slack.FailNext("chat.postMessage", 1, "internal_error")
	r.clock.Set(time.Date(2030, 1, 15, 8, 0, 31, 0, time.UTC))
	tickDigests(t, s)
	r.clock.Set(time.Date(2030, 1, 15, 8, 1, 1, 0, time.UTC))
	tickDigests(t, s)
	tickDigests(t, s)
	posts := r.digestPosts()
	if len(posts) != 1 {
		t.Fatalf("%d digests after Slack recovered, want 1", len(posts))
	}
	wantContains(t, "the retried digest", unescapeJSON(posts[0].Params["blocks"]), "`new-checkout`", "1 change ·")
	if got := len(r.slack.Calls("chat.postMessage")); got != 5 {
		t.Errorf("%d chat.postMessage calls, want 5 (3 rate-limited, 1 failed, 1 accepted)", got)
	}
}

func TestDigestManyEntriesAcrossPages(t *testing.T) {
	t.Parallel()
	r := newDigestRig(t, redistest.NewTestStore(t))
	s := r.scheduler(t, "r1")
	subscribeDigest(t, s, channelID, berlinNine, false)
	t0 := time.Date(2030, 1, 14, 9, 0, 0, 0, time.UTC)
	for i := range 250 {
		r.entry(fmt.Sprintf("m%03d", i), t0.Add(time.Duration(i)*time.Minute), []string{"production", "staging"}[i%2], fmt.Sprintf("bulk-flag-%02d", i%25), "")
	}
	r.ld.RateLimitNext(1, time.Second) // LaunchDarkly's rate limit on the first page
	r.clock.Set(time.Date(2030, 1, 15, 8, 0, 1, 0, time.UTC))
	tickDigests(t, s)
	posts := r.digestPosts()
	if len(posts) != 1 {
		t.Fatalf("%d digests", len(posts))
	}
	var m struct {
		Text string `json:"text"`
	}
	m.Text = posts[0].Params["text"]
	if m.Text != "LaunchDarkly digest: 250 changes to 25 flags" {
		t.Errorf("text = %q", m.Text)
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(unescapeJSON(posts[0].Params["blocks"])), &blocks); err != nil || len(blocks) > slackapp.MaxBlocks {
		t.Fatalf("%d blocks, %v", len(blocks), err)
	}
	wantContains(t, "the digest", unescapeJSON(posts[0].Params["blocks"]), "…and 150 more changes in <"+r.ld.URL()+"/settings/history|LaunchDarkly's audit log>")
}

func TestDigestLaunchDarkly429MidFetch(t *testing.T) {
	t.Parallel()
	r := newDigestRig(t, redistest.NewTestStore(t))
	target, err := url.Parse(r.ld.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var auditCalls atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/api/v2/auditlog" && auditCalls.Add(1) == 4 { // the fourth page
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"code":"rate_limited","message":"slow down"}`))
			return
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(front.Close)
	r.ldURL = front.URL
	s := r.scheduler(t, "r1")
	subscribeDigest(t, s, channelID, berlinNine, false)
	t0 := time.Date(2030, 1, 14, 9, 0, 0, 0, time.UTC)
	for i := range 250 {
		r.entry(fmt.Sprintf("m%03d", i), t0.Add(time.Duration(i)*time.Minute), "production", fmt.Sprintf("bulk-flag-%02d", i%25), "")
	}
	r.clock.Set(time.Date(2030, 1, 15, 8, 0, 1, 0, time.UTC))
	tickDigests(t, s, s)
	posts := r.digestPosts()
	if len(posts) != 1 {
		t.Fatalf("%d digests, want 1", len(posts))
	}
	if got := posts[0].Params["text"]; got != "LaunchDarkly digest: 250 changes to 25 flags" {
		t.Errorf("text = %q; want every entry once despite the 429", got)
	}
	if got := auditCalls.Load(); got != 14 {
		t.Errorf("%d audit-log requests, want 14 (13 pages and one retry)", got)
	}
}

// TestDigestThroughRun drives the digest commands through run, the fake
// Slack and the fake LaunchDarkly.
func TestDigestThroughRun(t *testing.T) { forEachMode(t, testDigestThroughRun) }

func testDigestThroughRun(t *testing.T, m mode) {
	t.Parallel()
	sl, lds := newSlack(t), newLD(t)
	b := m.start(t, sl, lds)
	b.connect(t, teamID, adminID, writerToken, "web", "production")

	r := b.command(t, teamID, userID, "digest subscribe daily 09:00 Europe/Berlin --env production,staging")
	wantContains(t, "subscribe", unescapeJSON(r.Text+string(r.Blocks)), "Subscribed <#"+channelID+">", "daily at 09:00 (Europe/Berlin)", "environments `production`, `staging`")

	sl.FailNext("conversations.info", 1, "channel_not_found")
	r = b.command(t, teamID, userID, "digest subscribe <#C0SECRET|secret> hourly")
	wantContains(t, "subscribe to a channel without the bot", unescapeJSON(r.Text+string(r.Blocks)), "Invite @flagbot to #secret")

	r = b.command(t, teamID, userID, "digest list")
	body := unescapeJSON(r.Text + string(r.Blocks))
	wantContains(t, "digest list", body, "<#"+channelID+">", "daily at 09:00 (Europe/Berlin)")
	if strings.Contains(body, "C0SECRET") {
		t.Errorf("the refused subscription was stored:\n%s", body)
	}

	sent := time.Now()
	r = b.command(t, teamID, userID, "digest now")
	wantContains(t, "digest now", unescapeJSON(r.Text+string(r.Blocks)), "Posted digest", "2 changes")
	call, err := sl.WaitCall(waitCtx(t), "chat.postMessage", func(c slackfake.Call) bool {
		return c.At.After(sent) && strings.HasPrefix(c.Params["text"], "LaunchDarkly digest")
	})
	if err != nil {
		t.Fatalf("no digest posted: %v", err)
	}
	if call.Error != "" || call.Params["channel"] != channelID {
		t.Fatalf("digest post: %s in %q", call.Error, call.Params["channel"])
	}
	wantContains(t, "the posted digest", unescapeJSON(call.Params["blocks"]), "`new-checkout`", "`dark-mode`", "*Ana Lima* turned on the flag — _launch day_", "*Bo* changed the fallthrough")

	var id string
	if i := strings.Index(body, "` · <#"+channelID); i >= 8 {
		id = body[i-8 : i]
	}
	if id == "" || strings.ContainsAny(id, "`\" ") {
		t.Fatalf("no subscription id in the list:\n%s", body)
	}
	r = b.command(t, teamID, userID, "digest unsubscribe "+id)
	wantContains(t, "unsubscribe", unescapeJSON(r.Text+string(r.Blocks)), "no longer gets digest `"+id+"`")
	r = b.command(t, teamID, userID, "digest list")
	wantContains(t, "empty list", unescapeJSON(r.Text+string(r.Blocks)), "no digest subscriptions")
	b.assertNoSecrets(t)
}
