package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
	"github.com/flagbot/flagbot/internal/secret"
)

const (
	testTeam  = "T0TEST"
	testToken = "api-digest-test-token-1234"
	testChan  = "C0DIGEST"
)

var testWS = commands.Workspace{TeamID: testTeam}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Clock is the shared clock (Options.Clock).
func (c *clock) Clock(context.Context) (time.Time, error) { return c.Now(), nil }

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// fakeSlack records accepted digests; failPosts makes the next posts fail.
// Channels are public and the bot is in them unless channelOK is false;
// private lists private channels, members their members.
type fakeSlack struct {
	mu        sync.Mutex
	posts     []posted
	failPosts int
	postErr   error
	attempts  int
	channelOK bool
	private   map[string]bool
	members   map[string][]string
	finds     int
}

type posted struct {
	Channel string
	Digest  Digest
	TS      string
}

func (f *fakeSlack) Channel(_ context.Context, _ commands.Workspace, id string) (commands.DigestChannel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.channelOK {
		return commands.DigestChannel{}, fmt.Errorf("fake: %w", commands.ErrCannotPost)
	}
	return commands.DigestChannel{ID: id, Name: "chan-" + strings.ToLower(id), Private: f.private[id], Postable: true}, nil
}

func (f *fakeSlack) MemberOf(_ context.Context, _ commands.Workspace, user string, ids []string) (map[string]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = slices.Contains(f.members[id], user)
	}
	return out, nil
}

func (f *fakeSlack) PostDigest(_ context.Context, _ commands.Workspace, ch string, d Digest) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	if f.failPosts > 0 {
		f.failPosts--
		if f.postErr != nil {
			return "", f.postErr
		}
		return "", errors.New("fake: slack said ratelimited")
	}
	ts := fmt.Sprintf("1700000000.%06d", len(f.posts)+1)
	f.posts = append(f.posts, posted{Channel: ch, Digest: d, TS: ts})
	return ts, nil
}

func (f *fakeSlack) FindDigest(_ context.Context, _ commands.Workspace, ch, id, run, after string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finds++
	for _, p := range f.posts {
		if p.Channel == ch && p.TS > after && p.Digest.SubscriptionID == id && p.Digest.RunID == run {
			return p.TS, true, nil
		}
	}
	return "", false, nil
}

func (f *fakeSlack) Posts() []posted {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.posts)
}

// fakeChanges is a change store holding a few Flagbot requests.
type fakeChanges map[string]commands.Change

func (f fakeChanges) Get(_ context.Context, ws commands.Workspace, id string) (commands.Change, error) {
	c, ok := f[id]
	if !ok || c.Workspace != ws {
		return commands.Change{}, fmt.Errorf("fake: %w", commands.ErrChangeNotFound)
	}
	return c, nil
}

// fakeWorkspaces holds one connection per team.
type fakeWorkspaces struct {
	conns map[string]commands.Connection
}

func (w fakeWorkspaces) Get(_ context.Context, ws commands.Workspace) (commands.Connection, error) {
	c, ok := w.conns[ws.TeamID]
	if !ok {
		return commands.Connection{}, commands.ErrNotConnected
	}
	return c, nil
}
func (fakeWorkspaces) Put(context.Context, commands.Workspace, commands.Connection) error {
	return errors.New("not used")
}
func (fakeWorkspaces) Delete(context.Context, commands.Workspace) error {
	return errors.New("not used")
}
func (fakeWorkspaces) Update(context.Context, commands.Workspace, func(*commands.Connection) error) error {
	return errors.New("not used")
}

type harness struct {
	t       *testing.T
	store   *RedisStore
	ld      *ldtest.Server
	slack   *fakeSlack
	clock   *clock
	ws      fakeWorkspaces
	changes fakeChanges
	base    string // LaunchDarkly URL the clients use
	sleep   *sleeps
}

// sleeps records the ld client's retry waits instead of sleeping.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeps) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func newHarness(t *testing.T, store *redisstore.Store) *harness {
	t.Helper()
	lds := ldtest.NewServer(t)
	lds.AddToken(testToken, ldtest.TokenInfo{ID: "tok", Name: "digest-reader", Role: "reader"})
	lds.AddProject(ld.Project{Key: "web", Name: "Web"},
		ldtest.EnvSpec{Key: "production", Critical: true}, ldtest.EnvSpec{Key: "staging"}, ldtest.EnvSpec{Key: "live"})
	lds.AddProject(ld.Project{Key: "mobile", Name: "Mobile"}, ldtest.EnvSpec{Key: "production"})
	return &harness{
		t: t, store: NewRedisStore(store, nil), ld: lds, slack: &fakeSlack{channelOK: true},
		clock:   &clock{now: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)},
		ws:      fakeWorkspaces{conns: map[string]commands.Connection{testTeam: {Token: testToken, DefaultProject: "web"}}},
		changes: fakeChanges{},
		base:    lds.URL(), sleep: &sleeps{},
	}
}

func (h *harness) service(owner string) *Service {
	h.t.Helper()
	c, err := ld.NewClient(h.base, ld.Options{Sleep: h.sleep.Sleep})
	if err != nil {
		h.t.Fatal(err)
	}
	clients := func(tok secret.Secret) commands.LaunchDarkly { return ld.NewService(c.WithToken(tok)) }
	log := slog.New(slog.NewTextHandler(h.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return New(h.store, h.ws, clients, h.slack, h.changes, Options{Clock: h.clock.Clock, Now: h.clock.Now, Logger: log, BaseURL: "https://app.launchdarkly.com", Owner: owner})
}

func (h *harness) entry(id string, at time.Time, project, env, flag, comment string) {
	h.ld.AddAuditEntry(ld.AuditEntry{
		ID: id, Date: at.UnixMilli(), Kind: "flag", Name: flag, TitleVerb: "turned on the flag", Comment: comment,
		Member:   &ld.Member{FirstName: "Ana", LastName: "Lima", Email: "ana@example.com"},
		Accesses: []ld.Access{{Action: "updateOn", Resource: "proj/" + project + ":env/" + env + ":flag/" + flag}},
	})
}

func (h *harness) subscribe(s *Service, sub commands.DigestSubscription) commands.DigestSubscription {
	h.t.Helper()
	if sub.Workspace == (commands.Workspace{}) {
		sub.Workspace = testWS
	}
	if sub.ChannelID == "" {
		sub.ChannelID = testChan
	}
	if sub.Schedule.Frequency == "" {
		sub.Schedule = commands.DigestSchedule{Frequency: commands.DigestDaily, Hour: 9, TZ: "UTC"}
	}
	if sub.Filter.Project == "" {
		sub.Filter.Project = "web"
	}
	got, err := s.Subscribe(h.t.Context(), sub)
	if err != nil {
		h.t.Fatalf("Subscribe: %v", err)
	}
	return got
}

func (h *harness) tick(s *Service) {
	h.t.Helper()
	if err := s.Tick(h.t.Context()); err != nil {
		h.t.Fatalf("Tick: %v", err)
	}
}

func ids(d Digest) []string {
	var out []string
	for _, f := range d.Flags {
		for _, e := range f.Envs {
			for _, c := range e.Changes {
				out = append(out, c.ID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// stores runs f on each backend of redistest.Backends: miniredis, and a
// real Redis and a Redis Cluster when configured.
func stores(t *testing.T, f func(t *testing.T, store *redisstore.Store)) {
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f(t, b.Open(t))
		})
	}
}

func TestScheduledDigest(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store *redisstore.Store) {
		h := newHarness(t, store)
		s := h.service("r1")
		sub := h.subscribe(s, commands.DigestSubscription{})
		if want := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC); !sub.NextRun.Equal(want) {
			t.Fatalf("NextRun = %v, want %v", sub.NextRun, want)
		}
		h.entry("old", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
		h.entry("e1", time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC), "web", "production", "checkout", "launch")
		h.entry("e2", time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), "web", "staging", "dark-mode", "")
		h.entry("other-project", time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), "mobile", "production", "checkout", "")

		h.clock.Set(time.Date(2026, 11, 27, 8, 59, 59, 0, time.UTC))
		h.tick(s)
		if n := len(h.slack.Posts()); n != 0 {
			t.Fatalf("%d posts before the digest was due", n)
		}
		h.clock.Set(time.Date(2026, 11, 27, 9, 0, 10, 0, time.UTC))
		h.tick(s)
		h.tick(s) // a second tick must not post again
		posts := h.slack.Posts()
		if len(posts) != 1 {
			t.Fatalf("%d posts, want 1", len(posts))
		}
		d := posts[0].Digest
		if got := ids(d); !slices.Equal(got, []string{"e1", "e2"}) || posts[0].Channel != testChan {
			t.Fatalf("digest in %s has %v, want e1 and e2 (window %v – %v)", posts[0].Channel, got, d.From, d.To)
		}
		if d.Critical != 1 || d.NoComment != 1 || d.OutsideFlagbot != 2 || len(d.People) != 1 {
			t.Errorf("highlights = %+v, people %v", d.Highlights, d.People)
		}
		// The next day's digest holds only what is new.
		h.entry("e3", time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC), "web", "production", "checkout", "again")
		h.clock.Set(time.Date(2026, 11, 28, 9, 0, 5, 0, time.UTC))
		h.tick(s)
		posts = h.slack.Posts()
		if len(posts) != 2 || !slices.Equal(ids(posts[1].Digest), []string{"e3"}) {
			t.Fatalf("second digest: %d posts, last %v", len(posts), ids(posts[len(posts)-1].Digest))
		}
		// A quiet day posts nothing (no --post-empty), and the schedule moves on.
		h.clock.Set(time.Date(2026, 11, 29, 9, 0, 5, 0, time.UTC))
		h.tick(s)
		if n := len(h.slack.Posts()); n != 2 {
			t.Fatalf("quiet day posted: %d posts", n)
		}
		list, err := s.List(t.Context(), testWS)
		if err != nil || len(list) != 1 || !list[0].NextRun.Equal(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)) {
			t.Fatalf("List = %+v, %v", list, err)
		}
	})
}

func TestTwoReplicasPostOnce(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store *redisstore.Store) {
		h := newHarness(t, store)
		a, b := h.service("replica-a"), h.service("replica-b")
		for i := range 5 {
			h.subscribe(a, commands.DigestSubscription{ChannelID: fmt.Sprintf("C%d", i), PostEmpty: true})
		}
		h.entry("e1", time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
		h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
		var wg sync.WaitGroup
		for _, s := range []*Service{a, b, a, b} {
			wg.Go(func() {
				if err := s.Tick(t.Context()); err != nil {
					t.Errorf("Tick: %v", err)
				}
			})
		}
		wg.Wait()
		posts := h.slack.Posts()
		per := map[string]int{}
		for _, p := range posts {
			per[p.Channel]++
		}
		if len(posts) != 5 || len(per) != 5 {
			t.Fatalf("posts per channel = %v, want one in each of 5", per)
		}
	})
}

func TestFailedPostRetriedWithoutDuplicates(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	s := h.service("r1")
	h.subscribe(s, commands.DigestSubscription{})
	h.entry("e1", time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
	h.slack.failPosts = 2
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
	h.tick(s)
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 31, 0, time.UTC))
	h.entry("e2", time.Date(2026, 11, 27, 9, 0, 20, 0, time.UTC), "web", "production", "checkout", "")
	h.tick(s)
	if n := len(h.slack.Posts()); n != 0 {
		t.Fatalf("%d posts while Slack failed", n)
	}
	h.clock.Set(time.Date(2026, 11, 27, 9, 1, 1, 0, time.UTC))
	h.tick(s)
	h.tick(s)
	posts := h.slack.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d posts after Slack recovered, want 1", len(posts))
	}
	if got := ids(posts[0].Digest); !slices.Equal(got, []string{"e1", "e2"}) {
		t.Errorf("retried digest has %v, want e1 and e2 (nothing lost)", got)
	}
	// The next digest does not repeat them.
	h.entry("e3", time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
	h.clock.Set(time.Date(2026, 11, 28, 9, 0, 1, 0, time.UTC))
	h.tick(s)
	posts = h.slack.Posts()
	if len(posts) != 2 || !slices.Equal(ids(posts[1].Digest), []string{"e3"}) {
		t.Fatalf("next digest: %d posts, last %v", len(posts), ids(posts[len(posts)-1].Digest))
	}
	if h.slack.attempts != 4 {
		t.Errorf("%d post attempts, want 4 (2 failed, 2 accepted)", h.slack.attempts)
	}
}

func TestManyEntriesAcrossPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	s := h.service("r1")
	h.subscribe(s, commands.DigestSubscription{Filter: commands.DigestFilter{Envs: []string{"production"}}})
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for i := range 250 {
		// Pairs of entries share a millisecond.
		h.entry(fmt.Sprintf("e%03d", i), base.Add(time.Duration(i/2)*time.Minute), "web", "production", fmt.Sprintf("flag-%02d", i%40), "")
	}
	h.entry("staging", base, "web", "staging", "flag-00", "")
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
	h.tick(s)
	posts := h.slack.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d posts", len(posts))
	}
	d := posts[0].Digest
	if d.Total != 250 || len(d.Flags) != 40 || d.Truncated {
		t.Fatalf("digest has %d changes in %d flags (truncated %v), want 250 in 40", d.Total, len(d.Flags), d.Truncated)
	}
	pages := 0
	for _, r := range h.ld.Requests() {
		if r.Path == "/api/v2/auditlog" {
			pages++
			if r.Query.Get("spec") != "proj/web:env/production:flag/*" {
				t.Errorf("spec = %q", r.Query.Get("spec"))
			}
		}
	}
	if pages != 13 {
		t.Errorf("%d audit-log pages fetched, want 13 (20 a page)", pages)
	}
}

func TestLaunchDarkly429MidFetch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	target, _ := url.Parse(h.ld.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var auditCalls atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/auditlog" && auditCalls.Add(1) == 3 {
			w.Header().Set("Retry-After", "2")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"code":"rate_limited","message":"slow down"}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	h.base = front.URL
	s := h.service("r1")
	h.subscribe(s, commands.DigestSubscription{})
	for i := range 60 {
		h.entry(fmt.Sprintf("e%02d", i), time.Date(2026, 11, 27, 1, i, 0, 0, time.UTC), "web", "production", "checkout", "")
	}
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
	h.tick(s)
	posts := h.slack.Posts()
	if len(posts) != 1 || posts[0].Digest.Total != 60 {
		t.Fatalf("posts = %d (want 1 with all 60 changes)", len(posts))
	}
	if got := auditCalls.Load(); got != 4 {
		t.Errorf("%d audit-log requests, want 4 (3 pages and one retry)", got)
	}
	h.sleep.mu.Lock()
	defer h.sleep.mu.Unlock()
	if len(h.sleep.waits) != 1 || h.sleep.waits[0] < 2*time.Second {
		t.Errorf("retry waits %v do not honour Retry-After: 2", h.sleep.waits)
	}
}

func TestDowntimeCappedToOneDigest(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	s := h.service("r1")
	h.subscribe(s, commands.DigestSubscription{})
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
	h.entry("e0", time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
	h.tick(s)
	// Ten days pass without the bot.
	h.entry("too-old", time.Date(2026, 11, 29, 7, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
	h.entry("recent", time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
	h.clock.Set(time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC))
	h.tick(s)
	h.tick(s)
	posts := h.slack.Posts()
	if len(posts) != 2 {
		t.Fatalf("%d posts, want 2 (one before, one covering the gap)", len(posts))
	}
	d := posts[1].Digest
	if !d.Capped || d.To.Sub(d.From) != DefaultMaxGap || !slices.Equal(ids(d), []string{"recent"}) {
		t.Errorf("gap digest: capped %v, window %v, ids %v", d.Capped, d.To.Sub(d.From), ids(d))
	}
	if want := time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC); !d.CappedFrom.Equal(want) {
		t.Errorf("CappedFrom = %v, want %v", d.CappedFrom, want)
	}
	list, _ := s.List(t.Context(), testWS)
	if want := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC); len(list) != 1 || !list[0].NextRun.Equal(want) {
		t.Errorf("next run after the gap = %+v, want %v", list, want)
	}
}

func TestRunNowAndUnsubscribe(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	s := h.service("r1")
	sub := h.subscribe(s, commands.DigestSubscription{})
	h.clock.Set(time.Date(2026, 11, 27, 8, 30, 0, 0, time.UTC))
	run, err := s.RunNow(t.Context(), testWS, sub.ID)
	if err != nil || run.Changes != 0 {
		t.Fatalf("RunNow = %+v, %v", run, err)
	}
	if n := len(h.slack.Posts()); n != 1 {
		t.Fatalf("digest now posted %d messages, want 1 even when empty", n)
	}
	h.entry("e1", time.Date(2026, 11, 27, 8, 45, 0, 0, time.UTC), "web", "production", "checkout", "")
	h.clock.Set(time.Date(2026, 11, 27, 8, 50, 0, 0, time.UTC))
	if run, err = s.RunNow(t.Context(), testWS, sub.ID); err != nil || run.Changes != 1 {
		t.Fatalf("RunNow = %+v, %v", run, err)
	}
	// The schedule is unchanged and the scheduled digest repeats nothing.
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
	h.tick(s)
	if n := len(h.slack.Posts()); n != 2 {
		t.Fatalf("%d posts; the 09:00 digest had nothing new and no --post-empty", n)
	}
	if _, err := s.RunNow(t.Context(), testWS, "nope"); !errors.Is(err, commands.ErrDigestNotFound) {
		t.Errorf("RunNow(unknown) = %v", err)
	}
	if _, err := s.Unsubscribe(t.Context(), testWS, sub.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unsubscribe(t.Context(), testWS, sub.ID); !errors.Is(err, commands.ErrDigestNotFound) {
		t.Errorf("second Unsubscribe = %v", err)
	}
	h.clock.Set(time.Date(2026, 11, 28, 9, 0, 1, 0, time.UTC))
	h.tick(s)
	if n := len(h.slack.Posts()); n != 2 {
		t.Errorf("an unsubscribed digest was posted")
	}
}

func TestSubscribeChecksChannel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	h.slack.channelOK = false
	s := h.service("r1")
	_, err := s.Subscribe(t.Context(), commands.DigestSubscription{Workspace: testWS, ChannelID: "C1", Filter: commands.DigestFilter{Project: "web"}})
	if !errors.Is(err, commands.ErrCannotPost) {
		t.Fatalf("Subscribe = %v, want ErrCannotPost", err)
	}
	if list, _ := s.List(t.Context(), testWS); len(list) != 0 {
		t.Errorf("a subscription was stored: %+v", list)
	}
}

func TestUnreachableChannelSkipsRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	s := h.service("r1")
	h.subscribe(s, commands.DigestSubscription{PostEmpty: true})
	h.slack.failPosts, h.slack.postErr = 100, fmt.Errorf("fake: %w", commands.ErrCannotPost)
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
	h.tick(s)
	h.tick(s)
	if h.slack.attempts != 1 {
		t.Errorf("%d attempts; a channel the bot left is not retried every tick", h.slack.attempts)
	}
}

func TestDisconnectedWorkspaceSkipsRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	s := h.service("r1")
	h.subscribe(s, commands.DigestSubscription{Workspace: commands.Workspace{TeamID: "T0GONE"}, PostEmpty: true})
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
	h.tick(s)
	list, _ := s.List(t.Context(), commands.Workspace{TeamID: "T0GONE"})
	if len(list) != 1 || !list[0].NextRun.Equal(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)) || h.slack.attempts != 0 {
		t.Errorf("after a run without a connection: %+v, %d posts", list, h.slack.attempts)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	s := h.service("r1")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestWeeklyDigestRunningLateIsNotCapped(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	s := h.service("r1")
	h.subscribe(s, commands.DigestSubscription{Schedule: commands.DigestSchedule{
		Frequency: commands.DigestWeekly, Weekday: time.Monday, Hour: 9, TZ: "Europe/Berlin"}})
	// Monday 30 Nov 2026, 09:00 Berlin is 08:00 UTC; the tick comes 1 s late.
	h.clock.Set(time.Date(2026, 11, 30, 8, 0, 1, 0, time.UTC))
	h.tick(s)
	// The next week's tick comes 25 s late: the window is 7 days and 24 s.
	h.entry("early", time.Date(2026, 11, 30, 8, 0, 10, 0, time.UTC), "web", "production", "checkout", "")
	h.entry("later", time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
	h.clock.Set(time.Date(2026, 12, 7, 8, 0, 25, 0, time.UTC))
	h.tick(s)
	posts := h.slack.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	d := posts[0].Digest
	if d.Capped || !slices.Equal(ids(d), []string{"early", "later"}) {
		t.Errorf("late weekly digest: capped %v, window %v – %v, ids %v; want the whole week", d.Capped, d.From, d.To, ids(d))
	}
}

// slowSlack accepts its first post only after delay, unless the run's
// context ends first (then Slack never saw it).
type slowSlack struct {
	*fakeSlack
	delay time.Duration
	slow  atomic.Bool
}

func (s *slowSlack) PostDigest(ctx context.Context, ws commands.Workspace, ch string, d Digest) (string, error) {
	if s.slow.CompareAndSwap(true, false) {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(s.delay):
		}
	}
	return s.fakeSlack.PostDigest(ctx, ws, ch, d)
}

func TestRunEndsBeforeItsLease(t *testing.T) {
	t.Parallel()
	// The lease expires while a's post is in flight (on the embedded
	// Redis too, whose clock runs), and replica b claims the run.
	stores(t, func(t *testing.T, store *redisstore.Store) {
		h := newHarness(t, store)
		slow := &slowSlack{fakeSlack: h.slack, delay: 2 * time.Second}
		slow.slow.Store(true)
		svc := func(owner string) *Service {
			c, err := ld.NewClient(h.base, ld.Options{Sleep: h.sleep.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			clients := func(tok secret.Secret) commands.LaunchDarkly { return ld.NewService(c.WithToken(tok)) }
			return New(h.store, h.ws, clients, slow, h.changes, Options{Clock: h.clock.Clock, Owner: owner, Lease: 400 * time.Millisecond})
		}
		a, b := svc("replica-a"), svc("replica-b")
		h.subscribe(a, commands.DigestSubscription{})
		h.entry("e1", time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
		h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
		done := make(chan time.Duration)
		go func() {
			start := time.Now()
			if err := a.Tick(t.Context()); err != nil {
				t.Errorf("Tick a: %v", err)
			}
			done <- time.Since(start)
		}()
		// b ticks after a's lease ran out.
		time.Sleep(600 * time.Millisecond)
		h.tick(b)
		if took := <-done; took > 1500*time.Millisecond {
			t.Errorf("a's run took %v, beyond its 400ms lease", took)
		}
		if posts := h.slack.Posts(); len(posts) > 1 {
			t.Fatalf("%d posts of one digest: a run outlived its lease", len(posts))
		}
	})
}

func TestCursorNeverMovesBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	ahead, behind := h.service("ahead"), h.service("behind")
	sub := h.subscribe(ahead, commands.DigestSubscription{})
	h.entry("e1", time.Date(2026, 11, 27, 9, 0, 6, 0, time.UTC), "web", "production", "checkout", "")
	h.entry("e2", time.Date(2026, 11, 27, 9, 0, 7, 0, time.UTC), "web", "production", "checkout", "")
	// `digest now` on a replica whose clock reads 09:00:10 reports both.
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 10, 0, time.UTC))
	if run, err := ahead.RunNow(t.Context(), testWS, sub.ID); err != nil || run.Changes != 2 {
		t.Fatalf("RunNow = %+v, %v", run, err)
	}
	// The 09:00 run goes to a replica whose clock is 5 s behind.
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 5, 0, time.UTC))
	h.tick(behind)
	h.entry("e3", time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
	h.clock.Set(time.Date(2026, 11, 28, 9, 0, 1, 0, time.UTC))
	h.tick(ahead)
	posts := h.slack.Posts()
	if len(posts) != 2 || !slices.Equal(ids(posts[1].Digest), []string{"e3"}) {
		t.Fatalf("%d posts, last %v; want the next day's digest with e3 only", len(posts), ids(posts[len(posts)-1].Digest))
	}
}

// flakyStore fails the first failComplete CompleteDigestRun calls as Redis
// would when a connection drops.
type flakyStore struct {
	Store
	mu           sync.Mutex
	failComplete int
}

func (f *flakyStore) CompleteDigestRun(ctx context.Context, k Key, due time.Time, owner string, cursor []byte, next time.Time) error {
	f.mu.Lock()
	fail := f.failComplete > 0
	if fail {
		f.failComplete--
	}
	f.mu.Unlock()
	if fail {
		return fmt.Errorf("flaky: %w", redisstore.ErrUnavailable)
	}
	return f.Store.CompleteDigestRun(ctx, k, due, owner, cursor, next)
}

func TestPostedRunRecordedDespiteStoreBlip(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	flaky := &flakyStore{Store: h.store, failComplete: 1}
	c, err := ld.NewClient(h.base, ld.Options{Sleep: h.sleep.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	clients := func(tok secret.Secret) commands.LaunchDarkly { return ld.NewService(c.WithToken(tok)) }
	s := New(flaky, h.ws, clients, h.slack, h.changes, Options{Clock: h.clock.Clock, Owner: "r1"})
	h.subscribe(s, commands.DigestSubscription{})
	h.entry("e1", time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
	h.tick(s)
	list, err := s.List(t.Context(), testWS)
	if err != nil || len(list) != 1 || !list[0].NextRun.Equal(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("after a posted run: %+v, %v; want it recorded and the next run tomorrow", list, err)
	}
	if n := len(h.slack.Posts()); n != 1 {
		t.Errorf("%d posts, want 1", n)
	}
}

func TestLateEntryReportedOnce(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store *redisstore.Store) {
		h := newHarness(t, store)
		s := h.service("r1")
		h.subscribe(s, commands.DigestSubscription{})
		h.entry("e1", time.Date(2026, 11, 27, 8, 59, 58, 0, time.UTC), "web", "production", "checkout", "")
		h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
		h.tick(s)
		// Dated before the 09:00:01 run's end but only now in the audit log.
		h.entry("late", time.Date(2026, 11, 27, 8, 59, 59, 0, time.UTC), "web", "production", "checkout", "")
		h.entry("e2", time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
		h.clock.Set(time.Date(2026, 11, 28, 9, 0, 1, 0, time.UTC))
		h.tick(s)
		h.entry("e3", time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
		h.clock.Set(time.Date(2026, 11, 29, 9, 0, 1, 0, time.UTC))
		h.tick(s)
		posts := h.slack.Posts()
		var got [][]string
		for _, p := range posts {
			got = append(got, ids(p.Digest))
		}
		want := [][]string{{"e1"}, {"e2", "late"}, {"e3"}}
		if len(got) != len(want) {
			t.Fatalf("digests = %v, want %v", got, want)
		}
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("digests = %v, want %v (the late entry once, nothing repeated)", got, want)
			}
		}
	})
}

// A cursor written without the entries it reported (Lookback off, or by an
// older Flagbot) is not looked behind, so nothing is reported twice.
func TestLookbackNeedsReportedEntries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	c, err := ld.NewClient(h.base, ld.Options{Sleep: h.sleep.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	clients := func(tok secret.Secret) commands.LaunchDarkly { return ld.NewService(c.WithToken(tok)) }
	old := New(h.store, h.ws, clients, h.slack, h.changes, Options{Clock: h.clock.Clock, Owner: "old", Lookback: -1})
	s := h.service("new")
	h.subscribe(s, commands.DigestSubscription{})
	h.entry("e0", time.Date(2026, 11, 27, 8, 59, 57, 0, time.UTC), "web", "production", "checkout", "")
	h.entry("e1", time.Date(2026, 11, 27, 8, 59, 58, 0, time.UTC), "web", "production", "checkout", "")
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
	h.tick(old)
	h.entry("e2", time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
	h.clock.Set(time.Date(2026, 11, 28, 9, 0, 1, 0, time.UTC))
	h.tick(s)
	posts := h.slack.Posts()
	if len(posts) != 2 || !slices.Equal(ids(posts[0].Digest), []string{"e0", "e1"}) || !slices.Equal(ids(posts[1].Digest), []string{"e2"}) {
		var got [][]string
		for _, p := range posts {
			got = append(got, ids(p.Digest))
		}
		t.Fatalf("digests = %v, want [[e0 e1] [e2]]", got)
	}
}

// dyingStore never records a run: as if the replica died (or lost Redis)
// right after Slack accepted its post, so its lease is never released
// either.
type dyingStore struct{ Store }

func (dyingStore) CompleteDigestRun(context.Context, Key, time.Time, string, []byte, time.Time) error {
	return fmt.Errorf("dying: %w", redisstore.ErrUnavailable)
}

func (h *harness) serviceOn(store Store, owner string, lease time.Duration) *Service {
	h.t.Helper()
	c, err := ld.NewClient(h.base, ld.Options{Sleep: h.sleep.Sleep})
	if err != nil {
		h.t.Fatal(err)
	}
	clients := func(tok secret.Secret) commands.LaunchDarkly { return ld.NewService(c.WithToken(tok)) }
	log := slog.New(slog.NewTextHandler(h.t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	return New(store, h.ws, clients, h.slack, h.changes, Options{Clock: h.clock.Clock, Logger: log, Owner: owner, Lease: lease})
}

// A post Slack accepted is not posted again when the run that made it
// could not record it: the next run finds it in the channel first.
func TestCrashAfterPostPostsOnce(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store *redisstore.Store) {
		h := newHarness(t, store)
		const lease = 300 * time.Millisecond
		dying := h.serviceOn(dyingStore{h.store}, "dying", lease)
		next := h.serviceOn(h.store, "next", lease)
		h.subscribe(next, commands.DigestSubscription{})
		h.entry("e1", time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
		h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
		h.tick(dying)
		if n := len(h.slack.Posts()); n != 1 {
			t.Fatalf("%d posts by the dying replica, want 1", n)
		}
		time.Sleep(2 * lease) // its lease runs out
		h.clock.Set(time.Date(2026, 11, 27, 9, 0, 31, 0, time.UTC))
		h.tick(next)
		h.tick(next)
		if n := len(h.slack.Posts()); n != 1 {
			t.Fatalf("%d posts of one digest after the crash, want 1", n)
		}
		list, err := next.List(t.Context(), testWS)
		if err != nil || len(list) != 1 || !list[0].NextRun.Equal(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)) {
			t.Fatalf("after recovery: %+v, %v; want the run recorded and the next one tomorrow", list, err)
		}
		// The found post's cursor was stored: tomorrow repeats nothing.
		h.entry("e2", time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
		h.clock.Set(time.Date(2026, 11, 28, 9, 0, 1, 0, time.UTC))
		h.tick(next)
		posts := h.slack.Posts()
		if len(posts) != 2 || !slices.Equal(ids(posts[1].Digest), []string{"e2"}) {
			t.Fatalf("next digest: %d posts, last %v; want e2 alone", len(posts), ids(posts[len(posts)-1].Digest))
		}
	})
}

// `digest now` run again after a crash answers with the earlier post.
func TestRunNowAgainAfterCrash(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store *redisstore.Store) {
		h := newHarness(t, store)
		const lease = 300 * time.Millisecond
		dying := h.serviceOn(dyingStore{h.store}, "dying", lease)
		next := h.serviceOn(h.store, "next", lease)
		sub := h.subscribe(next, commands.DigestSubscription{})
		h.entry("e1", time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
		h.clock.Set(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
		if _, err := dying.RunNow(t.Context(), testWS, sub.ID); err == nil {
			t.Fatal("RunNow succeeded on a store that records nothing")
		}
		time.Sleep(2 * lease)
		run, err := next.RunNow(t.Context(), testWS, sub.ID)
		if err != nil || run.Changes != 1 || !run.To.Equal(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)) {
			t.Fatalf("RunNow again = %+v, %v; want the earlier post's run", run, err)
		}
		if n := len(h.slack.Posts()); n != 1 {
			t.Fatalf("%d posts, want 1", n)
		}
	})
}

// An intent whose post never reached Slack is posted once.
func TestIntentWithoutPostPostsOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	s := h.service("r1")
	h.subscribe(s, commands.DigestSubscription{})
	h.entry("e1", time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), "web", "production", "checkout", "")
	h.slack.failPosts = 1
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC))
	h.tick(s)
	h.tick(s)
	if posts := h.slack.Posts(); len(posts) != 1 || h.slack.finds != 1 {
		t.Fatalf("%d posts after %d lookups, want 1 post after 1 lookup", len(posts), h.slack.finds)
	}
}

// A replica whose own clock runs ahead does not end windows in the future,
// where the changes made meanwhile would be skipped: windows end at
// Redis's clock.
func TestWindowEndsAtRedisClock(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store *redisstore.Store) {
		h := newHarness(t, store)
		c, err := ld.NewClient(h.base, ld.Options{Sleep: h.sleep.Sleep})
		if err != nil {
			t.Fatal(err)
		}
		clients := func(tok secret.Secret) commands.LaunchDarkly { return ld.NewService(c.WithToken(tok)) }
		replica := func(owner string, skew time.Duration) *Service {
			// No Clock: the store's, as in production.
			return New(h.store, h.ws, clients, h.slack, h.changes, Options{Owner: owner, Now: func() time.Time { return time.Now().Add(skew) }})
		}
		ahead, right := replica("ahead", 10*time.Minute), replica("right", 0)
		sub := h.subscribe(right, commands.DigestSubscription{})
		if _, err := ahead.RunNow(t.Context(), testWS, sub.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		h.entry("meanwhile", time.Now(), "web", "production", "checkout", "")
		time.Sleep(5 * time.Millisecond)
		if _, err := right.RunNow(t.Context(), testWS, sub.ID); err != nil {
			t.Fatal(err)
		}
		posts := h.slack.Posts()
		if len(posts) != 2 || !slices.Equal(ids(posts[1].Digest), []string{"meanwhile"}) {
			t.Fatalf("%d posts, last %v; want the change made after the first digest in the second", len(posts), ids(posts[len(posts)-1].Digest))
		}
		if end := posts[0].Digest.To; end.After(time.Now()) {
			t.Errorf("the ahead replica's window ended at %v, in the future", end)
		}
	})
}

// A replica whose clock is off Redis's says so, once in a while.
func TestClockSkewWarning(t *testing.T) {
	t.Parallel()
	h := newHarness(t, redistest.NewTestStore(t))
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	local := h.clock.Now().Add(90 * time.Second)
	s := New(h.store, h.ws, nil, h.slack, h.changes, Options{Clock: h.clock.Clock, Now: func() time.Time { return local }, Logger: log})
	h.tick(s)
	h.tick(s)
	if n := strings.Count(logs.String(), "this replica's clock is off Redis's clock"); n != 1 || !strings.Contains(logs.String(), "skew=1m30s") {
		t.Errorf("%d warnings in:\n%s\nwant one, with the skew", n, logs.String())
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
